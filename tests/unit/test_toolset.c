/* SPDX-License-Identifier: MIT */
/* The toolset executor's synchronous tools and path confinement: the
 * SDK's exact result and error strings, and the file effects. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "confine.h"
#include "fs-errors.h"
#include "glob-match.h"
#include "json.h"
#include "toolset.h"

static char tmpdir[PATH_MAX];  /* holds the workdir and an outside dir */
static char workdir[PATH_MAX]; /* canonical */
static struct ts_ctx ctx;
static struct buf out = BUF_INIT(TS_OUT_MAX);

static void
put_file(const char *rel, const char *content, mode_t mode)
{
	char path[PATH_MAX * 2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", workdir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *
get_file(const char *rel)
{
	char path[PATH_MAX * 2];
	static char data[1 << 20];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", workdir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	assert_true(n >= 0);
	data[n] = '\0';
	return data;
}

static mode_t
mode_of(const char *rel)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", workdir, rel);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void
in_workdir(const char *cmd_fmt)
{
	char cmd[PATH_MAX * 3];

	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", workdir, cmd_fmt);
	assert_int_equal(system(cmd), 0);
}

/* Run a tool on a JSON input; returns TS_OK or TS_TOOL_ERROR, text in
 * `out`. */
static int
run(int (*tool)(struct ts_ctx *, const struct json_doc *, int, struct buf *), const char *json)
{
	struct json_doc *doc = NULL;
	char err[128];
	int r;

	assert_int_equal(json_parse(json, strlen(json), &doc, err, sizeof(err)), 0);
	buf_reset(&out);
	assert_int_equal(buf_puts(&out, ""), 0);
	r = tool(&ctx, doc, 0, &out);
	json_free(doc);
	assert_true(r == TS_OK || r == TS_TOOL_ERROR);
	return r;
}

#define assert_result(r_, want_rc, want_text)                                                      \
	do {                                                                                       \
		int rc_ = (r_);                                                                    \
		assert_string_equal(out.data, (want_text));                                        \
		assert_int_equal(rc_, (want_rc));                                                  \
	} while (0)

static int
setup(void **state)
{
	char *real;

	snprintf(tmpdir, sizeof(tmpdir), "%s/toolset-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	real = realpath(tmpdir, NULL);
	assert_non_null(real);
	snprintf(workdir, sizeof(workdir), "%s/work", real);
	free(real);
	assert_int_equal(mkdir(workdir, 0755), 0);
	in_workdir("mkdir -p sub/deep ../outside && echo secret > ../outside/secret"
		   " && ln -s ../outside out-link && ln -s ../outside/nope dangling-out"
		   " && ln -s sub in-link && ln -s loop-b loop-a && ln -s loop-a loop-b"
		   " && ln -s \"$PWD/sub\" abs-in-link && ln -s missing-inside dangling-in");
	put_file("a.txt", "one\ntwo\nthree\n", 0644);
	put_file("sub/b.txt", "bee\n", 0644);
	assert_int_equal(ts_ctx_init(&ctx, workdir), 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX * 2];

	ts_ctx_release(&ctx);
	buf_release(&out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* ---- confinement -------------------------------------------------------- */

static void
check_confine(const char *p, int want_rc, const char *want)
{
	struct buf msg = BUF_INIT(4096);
	char *real = NULL;
	int r;

	assert_int_equal(buf_puts(&msg, ""), 0);
	r = confine_path(&ctx.root, p, &real, &msg);
	assert_int_equal(r, want_rc);
	if (r == 0) {
		char full[PATH_MAX * 2];

		snprintf(full, sizeof(full), "%s%s%s", workdir, want[0] ? "/" : "", want);
		assert_string_equal(real, full);
	} else {
		assert_string_equal(msg.data, want);
	}
	free(real);
	buf_release(&msg);
}

static void
test_path_resolve(void **state)
{
	char *p;

	assert_int_equal(path_resolve("/w", "a/../../b//c/./", &p), 0);
	assert_string_equal(p, "/b/c");
	free(p);
	assert_int_equal(path_resolve("/w", "/x/../../..", &p), 0);
	assert_string_equal(p, "/");
	free(p);
	assert_int_equal(path_resolve("/w/", "", &p), 0);
	assert_string_equal(p, "/w");
	free(p);
}

static void
confine_cases(void)
{
	char abs[PATH_MAX * 2];

	check_confine("a.txt", 0, "a.txt");
	check_confine(".", 0, "");
	check_confine("sub/../a.txt", 0, "a.txt");
	check_confine("sub/deep/../../sub/b.txt", 0, "sub/b.txt");
	check_confine("new/dir/file", 0, "new/dir/file");
	check_confine("in-link/b.txt", 0, "sub/b.txt");
	check_confine("abs-in-link/b.txt", 0, "sub/b.txt");
	check_confine("dangling-in", 0, "missing-inside");
	snprintf(abs, sizeof(abs), "%s/sub/b.txt", workdir);
	check_confine(abs, 0, "sub/b.txt");

	check_confine("../../etc/passwd", 1,
		      "path \"../../etc/passwd\" is outside the session's working directory");
	check_confine("/etc/passwd", 1,
		      "path \"/etc/passwd\" is outside the session's working directory");
	check_confine("out-link/secret", 1,
		      "path \"out-link/secret\" is outside the session's working directory");
	check_confine("out-link", 1,
		      "path \"out-link\" is outside the session's working directory");
	check_confine("dangling-out", 1,
		      "path \"dangling-out\" is outside the session's working directory");
	check_confine("dangling-out/deeper/x", 1,
		      "path \"dangling-out/deeper/x\" is outside the session's working directory");
	check_confine("loop-a", 1, "path \"loop-a\": too many levels of symbolic links");
	check_confine("loop-a/x", 1, "path \"loop-a/x\": too many levels of symbolic links");
	check_confine("a\"b\n\\", 0, "a\"b\n\\");
	check_confine("../x\t\"", 1,
		      "path \"../x\\t\\\"\" is outside the session's working directory");
}

static void
test_confine_openat2(void **state)
{
	confine_disable_openat2 = 0;
	confine_cases();
}

static void
test_confine_portable(void **state)
{
	confine_disable_openat2 = 1;
	confine_cases();
	confine_disable_openat2 = 0;
}

/* A directory swapped for a symlink after the check is refused, both with
 * openat2 and with the portable walk. */
static void
swap_race(int disable)
{
	struct buf msg = BUF_INIT(4096);
	const char *base;
	char *real = NULL;
	int fd;

	confine_disable_openat2 = disable;
	in_workdir("mkdir -p race && echo x > race/f");
	assert_int_equal(confine_path(&ctx.root, "race/f", &real, &msg), 0);
	in_workdir("rm -rf race && ln -s ../outside race");
	/* ELOOP or ENOTDIR (O_DIRECTORY met a symlink): refused either way. */
	fd = confine_open_parent(&ctx.root, real, 0, &base);
	assert_true(fd == -ELOOP || fd == -ENOTDIR);
	fd = confine_open(&ctx.root, real, O_RDONLY);
	assert_true(fd == -ELOOP || fd == -ENOTDIR);
	in_workdir("rm -f race");
	free(real);
	buf_release(&msg);
	confine_disable_openat2 = 0;
}

static void
test_confine_race(void **state)
{
	swap_race(0);
	swap_race(1);
}

static void
test_fs_errors(void **state)
{
	struct buf b = BUF_INIT(256);
	static const struct {
		int err;
		const char *want;
	} cases[] = {
		{ ENOENT, "f: no such file or directory" },
		{ EACCES, "f: permission denied" },
		{ EPERM, "f: permission denied" },
		{ ENOTDIR, "f: not a directory" },
		{ EISDIR, "f: is a directory" },
		{ ELOOP, "f: too many levels of symbolic links" },
		{ ENAMETOOLONG, "f: file name too long" },
		{ ENOSPC, "f: no space left on device" },
		{ EMFILE, "f: too many open files" },
		{ ENFILE, "f: too many open files" },
		{ EEXIST, "f: i/o error (EEXIST)" },
		{ EROFS, "f: i/o error (EROFS)" },
		{ 4095, "f: i/o error" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		assert_int_equal(fs_error_append(&b, cases[i].err, "f"), 0);
		assert_string_equal(b.data, cases[i].want);
	}
	buf_release(&b);
}

/* ---- read --------------------------------------------------------------- */

static void
test_read(void **state)
{
	assert_result(run(tool_read, "{\"file_path\":\"a.txt\"}"), TS_OK, "one\ntwo\nthree\n");
	assert_result(run(tool_read, "{\"file_path\":\"a.txt\",\"view_range\":[2,3]}"), TS_OK,
		      "two\nthree");
	assert_result(run(tool_read, "{\"file_path\":\"a.txt\",\"view_range\":[2,0]}"), TS_OK,
		      "two\nthree\n");
	assert_result(run(tool_read, "{\"file_path\":\"a.txt\",\"view_range\":[-5,1]}"), TS_OK,
		      "one");
	assert_result(run(tool_read, "{\"file_path\":\"a.txt\",\"view_range\":[9,12]}"), TS_OK, "");
	assert_result(run(tool_read, "{\"file_path\":\"a.txt\",\"view_range\":[3,2]}"), TS_OK, "");
	assert_result(run(tool_read, "{\"file_path\":\"a.txt\",\"view_range\":[]}"), TS_OK,
		      "one\ntwo\nthree\n");
	assert_result(run(tool_read, "{\"file_path\":\"in-link/b.txt\"}"), TS_OK, "bee\n");
	assert_result(run(tool_read, "{\"file_path\":\"a.txt\",\"view_range\":[1,2,3]}"),
		      TS_TOOL_ERROR, "read: view_range must be [start_line, end_line]");
	assert_result(run(tool_read, "{}"), TS_TOOL_ERROR, "read: file_path is required");
	assert_result(run(tool_read, "{\"file_path\":\"\"}"), TS_TOOL_ERROR,
		      "read: file_path is required");
	assert_result(run(tool_read, "{\"file_path\":\"missing.txt\"}"), TS_TOOL_ERROR,
		      "read: missing.txt: no such file or directory");
	assert_result(run(tool_read, "{\"file_path\":\"a.txt/x\"}"), TS_TOOL_ERROR,
		      "read: a.txt/x: not a directory");
	assert_result(run(tool_read, "{\"file_path\":\"sub\"}"), TS_TOOL_ERROR,
		      "read: sub is not a regular file");
	assert_result(run(tool_read, "{\"file_path\":\".\"}"), TS_TOOL_ERROR,
		      "read: . is not a regular file");
	assert_result(run(tool_read, "{\"file_path\":\"out-link/secret\"}"), TS_TOOL_ERROR,
		      "read: path \"out-link/secret\" is outside the session's working directory");
	/* Confinement is checked before view_range. */
	assert_result(run(tool_read, "{\"file_path\":\"/etc/passwd\",\"view_range\":[1]}"),
		      TS_TOOL_ERROR,
		      "read: path \"/etc/passwd\" is outside the session's working directory");
	in_workdir("mkfifo fifo");
	assert_result(run(tool_read, "{\"file_path\":\"fifo\"}"), TS_TOOL_ERROR,
		      "read: fifo is not a regular file");
}

static void
test_read_utf8(void **state)
{
	put_file("bad.txt",
		 "a\xff"
		 "b\xe2\x82"
		 "c\xf0\x9f\x98\x80",
		 0644);
	assert_result(run(tool_read, "{\"file_path\":\"bad.txt\"}"), TS_OK,
		      "a\xef\xbf\xbd"
		      "b\xef\xbf\xbd"
		      "c\xf0\x9f\x98\x80");
}

static void
test_read_large(void **state)
{
	char *big = malloc(300 * 1024 + 1);
	size_t i;

	assert_non_null(big);
	/* 3000 lines of 99 characters + newline, then one line of 5 bytes. */
	for (i = 0; i < 3000; i++) {
		memset(big + i * 100, 'a' + (char)(i % 26), 99);
		big[i * 100 + 99] = '\n';
	}
	memcpy(big + 300000, "tail!", 6);
	put_file("big.txt", big, 0644);
	assert_result(
		run(tool_read, "{\"file_path\":\"big.txt\"}"), TS_TOOL_ERROR,
		"read: big.txt is 300005 bytes, exceeds 110000-byte limit. Use the view_range "
		"parameter to read specific line ranges, e.g. view_range: [1, 500].");
	run(tool_read, "{\"file_path\":\"big.txt\",\"view_range\":[2,3]}");
	assert_int_equal(out.len, 199);
	assert_true(out.data[0] == 'b' && out.data[99] == '\n' && out.data[100] == 'c');
	assert_result(run(tool_read, "{\"file_path\":\"big.txt\",\"view_range\":[3001,0]}"), TS_OK,
		      "tail!");
	assert_result(run(tool_read, "{\"file_path\":\"big.txt\",\"view_range\":[5,4]}"), TS_OK,
		      "");
	assert_result(run(tool_read, "{\"file_path\":\"big.txt\",\"view_range\":[1,0]}"),
		      TS_TOOL_ERROR,
		      "read: view_range [1, 0] of big.txt exceeds 110000-byte limit. Narrow the "
		      "view_range to read a smaller portion.");
	memset(big, 'x', 300 * 1024);
	big[300 * 1024] = '\0';
	put_file("oneline.txt", big, 0644);
	assert_result(run(tool_read, "{\"file_path\":\"oneline.txt\",\"view_range\":[1,1]}"),
		      TS_TOOL_ERROR,
		      "read: line 1 of oneline.txt alone exceeds 110000-byte limit. The read tool "
		      "cannot return part of a line, so view_range cannot narrow this further.");
	/* The cap of read is 110,000 bytes; edit keeps 256 KiB. */
	memset(big, 'y', 110001);
	big[110001] = '\0';
	put_file("cap.txt", big, 0644);
	assert_result(run(tool_edit, "{\"file_path\":\"cap.txt\",\"old_string\":\"yy\","
				     "\"new_string\":\"z\"}"),
		      TS_TOOL_ERROR,
		      "edit: old_string appears 55000 times in cap.txt (must be unique)");
	assert_result(
		run(tool_read, "{\"file_path\":\"cap.txt\"}"), TS_TOOL_ERROR,
		"read: cap.txt is 110001 bytes, exceeds 110000-byte limit. Use the view_range "
		"parameter to read specific line ranges, e.g. view_range: [1, 500].");
	put_file("cap.txt", big + 1, 0644);
	run(tool_read, "{\"file_path\":\"cap.txt\"}");
	assert_int_equal(out.len, 110000);
	free(big);
}

/* ---- write -------------------------------------------------------------- */

static void
test_write(void **state)
{
	assert_result(run(tool_write, "{\"file_path\":\"new.txt\",\"content\":\"h\\u00e9llo\\n\"}"),
		      TS_OK, "wrote 7 bytes to new.txt");
	assert_string_equal(get_file("new.txt"), "h\xc3\xa9llo\n");
	assert_int_equal(mode_of("new.txt") & 0777, 0600 & ~0 & 0600);

	put_file("exec.sh", "old", 0755);
	assert_result(run(tool_write, "{\"file_path\":\"exec.sh\",\"content\":\"new\"}"), TS_OK,
		      "wrote 3 bytes to exec.sh");
	assert_string_equal(get_file("exec.sh"), "new");
	assert_int_equal(mode_of("exec.sh"), 0755);

	assert_result(run(tool_write, "{\"file_path\":\"n1/n2/n3.txt\",\"content\":\"\"}"), TS_OK,
		      "wrote 0 bytes to n1/n2/n3.txt");
	assert_int_equal(mode_of("n1") & 0777, 0700 & ~(mode_t)umask(umask(0)));
	assert_int_equal(mode_of("n1/n2") & 0777, 0700 & ~(mode_t)umask(umask(0)));
	assert_string_equal(get_file("n1/n2/n3.txt"), "");

	assert_result(run(tool_write, "{\"file_path\":\"nocontent.txt\"}"), TS_OK,
		      "wrote 0 bytes to nocontent.txt");
	assert_result(run(tool_write, "{\"file_path\":\"in-link/via.txt\",\"content\":\"v\"}"),
		      TS_OK, "wrote 1 bytes to in-link/via.txt");
	assert_string_equal(get_file("sub/via.txt"), "v");

	assert_result(run(tool_write, "{\"content\":\"x\"}"), TS_TOOL_ERROR,
		      "write: file_path is required");
	assert_result(run(tool_write, "{\"file_path\":\"../evil.txt\",\"content\":\"x\"}"),
		      TS_TOOL_ERROR,
		      "write: path \"../evil.txt\" is outside the session's working directory");
	assert_result(run(tool_write, "{\"file_path\":\"dangling-out\",\"content\":\"x\"}"),
		      TS_TOOL_ERROR,
		      "write: path \"dangling-out\" is outside the session's working directory");
	assert_null(get_file("../outside/nope"));
	assert_result(run(tool_write, "{\"file_path\":\"a.txt/x\",\"content\":\"x\"}"),
		      TS_TOOL_ERROR, "write: a.txt/x: i/o error (EEXIST)");
	assert_result(run(tool_write, "{\"file_path\":\"a.txt/x/y\",\"content\":\"x\"}"),
		      TS_TOOL_ERROR, "write: a.txt/x/y: not a directory");
	assert_result(run(tool_write, "{\"file_path\":\"sub\",\"content\":\"x\"}"), TS_TOOL_ERROR,
		      "write: sub: is a directory");
	assert_result(run(tool_write, "{\"file_path\":\".\",\"content\":\"x\"}"), TS_TOOL_ERROR,
		      "write: .: is a directory");
	/* The dangling link inside the workdir is written through. */
	assert_result(run(tool_write, "{\"file_path\":\"dangling-in\",\"content\":\"d\"}"), TS_OK,
		      "wrote 1 bytes to dangling-in");
	assert_string_equal(get_file("missing-inside"), "d");
	/* No temporary file is left behind. */
	in_workdir("! ls -a . sub | grep -q '^\\.tmp-'");
}

static void
test_write_portable(void **state)
{
	confine_disable_openat2 = 1;
	test_write(state);
	confine_disable_openat2 = 0;
}

/* ---- edit --------------------------------------------------------------- */

/* A replace_all whose result would pass the cap is refused (SDK 1.17). */
static void
test_edit_replace_all_limit(void **state)
{
	char *text = malloc(130001);

	assert_non_null(text);
	for (int i = 0; i < 130000; i += 2)
		memcpy(text + i, "ab", 2);
	text[130000] = '\0';
	put_file("r.txt", text, 0644);
	assert_result(run(tool_edit, "{\"file_path\":\"r.txt\",\"old_string\":\"ab\","
				     "\"new_string\":\"abcde\",\"replace_all\":true}"),
		      TS_TOOL_ERROR,
		      "edit: 65000 replacements would make r.txt 325000 bytes, exceeds "
		      "262144-byte limit.");
	assert_string_equal(get_file("r.txt"), text);
	assert_result(run(tool_edit, "{\"file_path\":\"r.txt\",\"old_string\":\"ab\","
				     "\"new_string\":\"abcd\",\"replace_all\":true}"),
		      TS_OK, "edited r.txt (65000 replacement(s))");
	free(text);
}

static void
test_edit(void **state)
{
	put_file("e.txt", "alpha beta alpha gamma\n", 0640);
	assert_result(run(tool_edit, "{\"file_path\":\"e.txt\",\"old_string\":\"beta\","
				     "\"new_string\":\"$&B\"}"),
		      TS_OK, "edited e.txt (1 replacement(s))");
	assert_string_equal(get_file("e.txt"), "alpha $&B alpha gamma\n");
	assert_int_equal(mode_of("e.txt"), 0640);
	assert_result(run(tool_edit, "{\"file_path\":\"e.txt\",\"old_string\":\"alpha\","
				     "\"new_string\":\"x\"}"),
		      TS_TOOL_ERROR, "edit: old_string appears 2 times in e.txt (must be unique)");
	assert_result(run(tool_edit, "{\"file_path\":\"e.txt\",\"old_string\":\"alpha\","
				     "\"new_string\":\"A\",\"replace_all\":true}"),
		      TS_OK, "edited e.txt (2 replacement(s))");
	assert_string_equal(get_file("e.txt"), "A $&B A gamma\n");
	assert_result(run(tool_edit, "{\"file_path\":\"e.txt\",\"old_string\":\"zeta\","
				     "\"new_string\":\"x\"}"),
		      TS_TOOL_ERROR, "edit: old_string not found in e.txt");
	assert_result(run(tool_edit, "{\"file_path\":\"e.txt\",\"old_string\":\"\","
				     "\"new_string\":\"x\"}"),
		      TS_TOOL_ERROR, "edit: old_string is required");
	assert_result(run(tool_edit, "{\"old_string\":\"a\",\"new_string\":\"x\"}"), TS_TOOL_ERROR,
		      "edit: file_path is required");
	assert_result(run(tool_edit, "{\"file_path\":\"sub\",\"old_string\":\"a\","
				     "\"new_string\":\"x\"}"),
		      TS_TOOL_ERROR, "edit: sub is not a regular file");
	assert_result(run(tool_edit, "{\"file_path\":\"nope.txt\",\"old_string\":\"a\","
				     "\"new_string\":\"x\"}"),
		      TS_TOOL_ERROR, "edit: nope.txt: no such file or directory");
	assert_result(run(tool_edit, "{\"file_path\":\"/etc/passwd\",\"old_string\":\"a\","
				     "\"new_string\":\"x\"}"),
		      TS_TOOL_ERROR,
		      "edit: path \"/etc/passwd\" is outside the session's working directory");
	/* Overlapping occurrences count as String.split counts them. */
	put_file("o.txt", "aaaa", 0600);
	assert_result(run(tool_edit, "{\"file_path\":\"o.txt\",\"old_string\":\"aa\","
				     "\"new_string\":\"b\",\"replace_all\":true}"),
		      TS_OK, "edited o.txt (2 replacement(s))");
	assert_string_equal(get_file("o.txt"), "bb");
	/* A missing new_string is JavaScript's undefined. */
	assert_result(run(tool_edit, "{\"file_path\":\"o.txt\",\"old_string\":\"bb\"}"), TS_OK,
		      "edited o.txt (1 replacement(s))");
	assert_string_equal(get_file("o.txt"), "undefined");
}

/* ---- glob --------------------------------------------------------------- */

static void
test_glob_match(void **state)
{
	assert_true(glob_seg_match("*.c", "main.c"));
	assert_false(glob_seg_match("*.c", "main.h"));
	assert_true(glob_seg_match("?ain.[ch]", "main.h"));
	assert_true(glob_seg_match("[!a-l]*", "main"));
	assert_false(glob_seg_match("[!a-m]*", "main"));
	assert_true(glob_seg_match("[[:digit:]]x", "7x"));
	assert_true(glob_seg_match("a*b*c", "aXbYbZc"));
	assert_true(glob_seg_match("?", "\xc3\xa9"));
	assert_true(glob_seg_is_magic("a[b]"));
	assert_false(glob_seg_is_magic("a[b"));
	assert_false(glob_seg_is_magic("plain"));
}

static int
collect(void *ud, const char *s)
{
	struct buf *b = ud;

	return buf_printf(b, "%s;", s);
}

static void
test_brace_expand(void **state)
{
	struct buf b = BUF_INIT(4096);

	assert_int_equal(glob_brace_expand("a{b,c{d,e}}f", collect, &b), 0);
	assert_string_equal(b.data, "abf;acdf;acef;");
	buf_reset(&b);
	assert_int_equal(glob_brace_expand("x{1..3}y{a..c..2}", collect, &b), 0);
	assert_string_equal(b.data, "x1ya;x1yc;x2ya;x2yc;x3ya;x3yc;");
	buf_reset(&b);
	assert_int_equal(glob_brace_expand("{x}{,z}{08..10}", collect, &b), 0);
	assert_string_equal(b.data, "{x}08;{x}09;{x}10;{x}z08;{x}z09;{x}z10;");
	buf_reset(&b);
	assert_int_equal(glob_brace_expand("no{brace", collect, &b), 0);
	assert_string_equal(b.data, "no{brace;");
	buf_release(&b);
}

static void
set_mtime(const char *rel, time_t t)
{
	char path[PATH_MAX * 2];
	struct timeval tv[2] = { { t, 0 }, { t, 0 } };

	snprintf(path, sizeof(path), "%s/%s", workdir, rel);
	assert_int_equal(lutimes(path, tv), 0);
}

static void
test_glob(void **state)
{
	char want[PATH_MAX * 8];
	const char *w = workdir;

	in_workdir("mkdir -p g/a/b g/.hid g/node_modules/m g/.git g/sub && touch g/x.txt g/.env "
		   "g/a/y.txt g/a/b/z.txt g/.hid/h.txt g/node_modules/m/n.txt g/.git/c.txt "
		   "g/sub/s.md && ln -s a g/linkdir && ln -s a/y.txt g/linkfile.txt && "
		   "ln -s ../../outside g/escape");
	set_mtime("g/x.txt", 1000);
	set_mtime("g/a/y.txt", 4000);
	set_mtime("g/a/b/z.txt", 3000);
	set_mtime("g/.env", 2000);
	set_mtime("g/.hid/h.txt", 5000);

	snprintf(want, sizeof(want), "%s/g/a/y.txt\n%s/g/a/b/z.txt\n%s/g/x.txt", w, w, w);
	assert_result(run(tool_glob, "{\"pattern\":\"**/*.txt\",\"path\":\"g\"}"), TS_OK, want);
	assert_result(run(tool_glob, "{\"pattern\":\"g/**/*.txt\"}"), TS_OK, want);
	snprintf(want, sizeof(want), "%s/g/a/y.txt\n%s/g/a/b/z.txt", w, w);
	assert_result(run(tool_glob, "{\"pattern\":\"g/a/**\"}"), TS_OK, want);
	snprintf(want, sizeof(want), "%s/g/.env\n%s/g/x.txt", w, w);
	assert_result(run(tool_glob, "{\"pattern\":\"{.env,x.txt}\",\"path\":\"g\"}"), TS_OK, want);
	snprintf(want, sizeof(want), "%s/g/x.txt", w);
	assert_result(run(tool_glob, "{\"pattern\":\"*\",\"path\":\"g\"}"), TS_OK, want);
	snprintf(want, sizeof(want), "%s/g/.hid/h.txt", w);
	assert_result(run(tool_glob, "{\"pattern\":\".*/*.txt\",\"path\":\"g\"}"), TS_OK, want);
	snprintf(want, sizeof(want), "%s/g/.env", w);
	assert_result(run(tool_glob, "{\"pattern\":\"**/.env\",\"path\":\"g\"}"), TS_OK, want);
	/* A symlinked directory named plainly is followed; ** never follows. */
	snprintf(want, sizeof(want), "%s/g/linkdir/y.txt", w);
	assert_result(run(tool_glob, "{\"pattern\":\"linkdir/*.txt\",\"path\":\"g\"}"), TS_OK,
		      want);
	assert_result(run(tool_glob, "{\"pattern\":\"**/linkdir/*.txt\",\"path\":\"g\"}"), TS_OK,
		      "no matches");
	assert_result(run(tool_glob, "{\"pattern\":\"escape/*\",\"path\":\"g\"}"), TS_OK,
		      "no matches");
	assert_result(run(tool_glob, "{\"pattern\":\"node_modules/**\",\"path\":\"g\"}"), TS_OK,
		      "no matches");
	assert_result(run(tool_glob, "{\"pattern\":\"*.nothing\"}"), TS_OK, "no matches");

	assert_result(run(tool_glob, "{}"), TS_TOOL_ERROR, "glob: pattern is required");
	assert_result(run(tool_glob, "{\"pattern\":\"/etc/*\"}"), TS_TOOL_ERROR,
		      "glob: absolute pattern not permitted; pass a relative pattern (and "
		      "optionally path)");
	assert_result(run(tool_glob, "{\"pattern\":\"../*\"}"), TS_TOOL_ERROR,
		      "glob: \"..\" is not permitted in the pattern");
	assert_result(run(tool_glob, "{\"pattern\":\"a/{x,..}/b\"}"), TS_TOOL_ERROR,
		      "glob: \"..\" is not permitted in the pattern");
	assert_result(run(tool_glob, "{\"pattern\":\"*\",\"path\":\"../outside\"}"), TS_TOOL_ERROR,
		      "glob: path \"../outside\" is outside the session's working directory");
}

/* Between calls a session holds no descriptor of its workdir: it is opened
 * again by its canonical path for each file tool's call, and must still be
 * the directory first opened there. */
static void
test_workdir_open_only_while_busy(void **state)
{
	char aside[PATH_MAX + 8];
	struct stat a;
	struct stat b;

	ts_ctx_idle(&ctx);
	assert_int_equal(ctx.root.fd, -1);
	assert_int_equal(ctx.other.fd, -1);
	assert_int_equal(ts_ctx_busy(&ctx), 0);
	assert_true(ctx.root.fd >= 0);
	assert_int_equal(fstat(ctx.root.fd, &a), 0);
	assert_int_equal(stat(workdir, &b), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	assert_result(run(tool_read, "{\"file_path\":\"sub/b.txt\"}"), TS_OK, "bee\n");
	/* Busy again is a no-op: the same descriptor. */
	{
		int fd = ctx.root.fd;

		assert_int_equal(ts_ctx_busy(&ctx), 0);
		assert_int_equal(ctx.root.fd, fd);
	}
	ts_ctx_idle(&ctx);
	assert_int_equal(ctx.root.fd, -1);
	/* A workdir gone by the next call is reported, not reached through an
	 * old descriptor. */
	snprintf(aside, sizeof(aside), "%s/aside", tmpdir);
	assert_int_equal(rename(workdir, aside), 0);
	assert_int_equal(ts_ctx_busy(&ctx), -ENOENT);
	/* Nor through another directory, or a link, put in its place. */
	assert_int_equal(mkdir(workdir, 0700), 0);
	assert_int_equal(ts_ctx_busy(&ctx), -ESTALE);
	assert_int_equal(ctx.root.fd, -1);
	assert_int_equal(rmdir(workdir), 0);
	assert_int_equal(symlink(aside, workdir), 0);
	assert_true(ts_ctx_busy(&ctx) < 0);
	assert_int_equal(ctx.root.fd, -1);
	assert_int_equal(unlink(workdir), 0);
	assert_int_equal(rename(aside, workdir), 0);
	assert_int_equal(ts_ctx_busy(&ctx), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_resolve),
		cmocka_unit_test(test_confine_openat2),
		cmocka_unit_test(test_confine_portable),
		cmocka_unit_test(test_confine_race),
		cmocka_unit_test(test_fs_errors),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_read_utf8),
		cmocka_unit_test(test_read_large),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_write_portable),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_edit_replace_all_limit),
		cmocka_unit_test(test_glob_match),
		cmocka_unit_test(test_brace_expand),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_workdir_open_only_while_busy),
	};

	return cmocka_run_group_tests(tests, setup, teardown) ? 1 : 0;
}
