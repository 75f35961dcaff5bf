/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the toolset's tool inputs: the first byte picks a
 * tool (read, write, edit, glob, grep's built-in walker), the rest is the
 * call's input as JSON.  The tools run for real in a scratch workdir under
 * $TMPDIR holding a few files, a directory, and links that lead outside;
 * every call must answer (a result or a tool error) without crashing, and
 * no file may appear outside the workdir.  The workdir is rebuilt after
 * every call that may have changed it.  bash is left out: its input only
 * selects a command to run, which the hostile-input checks cover end to end.
 *
 *	tests/fuzz/fuzz_toolset -max_total_time=60 tests/fuzz/corpus/toolset
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "confine.h"
#include "json.h"
#include "toolset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The asynchronous tools (bash, rg) answer through the plugin; they are not
 * called here. */
void
ts_result(struct ts_session *s, const char *call_id, int is_error, const char *text, size_t len)
{
	(void)s;
	(void)call_id;
	(void)is_error;
	(void)text;
	(void)len;
	abort();
}

static char top[PATH_MAX]; /* holds workdir/ and outside/ */
static char workdir[PATH_MAX];
static char outside[PATH_MAX];
static struct ts_ctx ctx;
static int ready;

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static void
put(const char *rel, const char *content)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", workdir, rel);
	f = fopen(path, "we");
	if (!f)
		abort();
	fputs(content, f);
	fclose(f);
}

/* The workdir's fixed content. */
static void
populate(void)
{
	char path[PATH_MAX * 2];

	nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	put("a.txt", "alpha\nbeta\ngamma\n");
	put("b.md", "# title\n\nsome *text*\n");
	snprintf(path, sizeof(path), "%s/dir", workdir);
	mkdir(path, 0700);
	put("dir/c.txt", "alpha beta\n\xff\xfe invalid utf-8\n");
	put(".hidden", "hidden\n");
	snprintf(path, sizeof(path), "%s/out-link", workdir);
	symlink(outside, path);
	snprintf(path, sizeof(path), "%s/loop", workdir);
	symlink("loop", path);
	snprintf(path, sizeof(path), "%s/in-link", workdir);
	symlink("a.txt", path);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX * 2];

	snprintf(top, sizeof(top), "%s/fuzz-toolset.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(top))
		abort();
	snprintf(workdir, sizeof(workdir), "%s/workdir", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	if (mkdir(workdir, 0700) < 0 || mkdir(outside, 0700) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/secret.txt", outside);
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	populate();
	if (ts_ctx_init(&ctx, workdir) < 0)
		abort();
	ready = 1;
}

/* Nothing may be created or changed outside the workdir. */
static int
outside_clean(void)
{
	char path[PATH_MAX * 2];
	struct dirent *de;
	struct stat st;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/secret.txt", outside);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != 0)
		return 0;
	d = opendir(outside);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n == 1;
}

static int
grep(const struct json_doc *doc, struct buf *out)
{
	int p_tok = ts_member(doc, 0, "pattern");
	int path_tok = ts_member(doc, 0, "path");
	const char *pattern = json_str(doc, p_tok);
	char *real = NULL;
	int fd;
	int r;

	if (!pattern)
		return buf_puts(out, "grep: pattern is required") ?: TS_TOOL_ERROR;
	if (ts_truthy(doc, path_tok)) {
		const char *p = json_str(doc, path_tok);

		if (!p)
			return buf_puts(out, "grep: path must be a string") ?: TS_TOOL_ERROR;
		r = confine_path(&ctx.root, p, &real, out);
		if (r != 0)
			return r > 0 ? TS_TOOL_ERROR : r;
	}
	fd = confine_open(&ctx.root, real ? real : ctx.root.path, O_RDONLY | O_NONBLOCK);
	r = tool_grep_walk(&ctx, pattern, real ? real : ctx.workdir, fd, out);
	if (fd >= 0)
		close(fd);
	free(real);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT(TS_OUT_MAX);
	struct json_doc *doc = NULL;
	int tool;
	int r;

	if (!ready)
		setup();
	if (size < 1)
		return 0;
	tool = data[0] % 5;
	if (json_parse((const char *)data + 1, size - 1, &doc, NULL, 0) < 0)
		return 0;
	switch (tool) {
	case 0:
		r = tool_read(&ctx, doc, 0, &out);
		break;
	case 1:
		r = tool_write(&ctx, doc, 0, &out);
		break;
	case 2:
		r = tool_edit(&ctx, doc, 0, &out);
		break;
	case 3:
		r = tool_glob(&ctx, doc, 0, &out);
		break;
	default:
		r = grep(doc, &out);
		break;
	}
	/* An answer for the agent, or out of memory; nothing else. */
	if (r != TS_OK && r != TS_TOOL_ERROR && r != -ENOMEM)
		abort();
	if (r == TS_TOOL_ERROR && out.len == 0)
		abort();
	if (!outside_clean())
		abort();
	if (tool == 1 || tool == 2)
		populate();
	json_free(doc);
	buf_release(&out);
	return 0;
}
