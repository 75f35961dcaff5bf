/* SPDX-License-Identifier: MIT */
/*
 * write: create or replace a file atomically (the SDK's betaWriteTool
 * and atomicWriteFile).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-errors.h"
#include "nbio.h"
#include "rand.h"
#include "toolset.h"

/* ".tmp-<pid>-<uuid v4>", as the SDK names its temporary files. */
static int
temp_name(char *name, size_t size)
{
	char uuid[37];
	int r = rand_uuid(uuid);

	if (r == 0)
		snprintf(name, size, ".tmp-%ld-%s", (long)getpid(), uuid);
	return r;
}

int
ts_atomic_write(const struct confine_root *root, const char *real, const char *data, size_t len,
		int mkdirs)
{
	const char *base;
	char tmp[96];
	struct stat st;
	int have_mode;
	int dfd;
	int fd;
	int r;

	dfd = confine_open_parent(root, real, mkdirs ? CONFINE_MKDIR : 0, &base);
	if (dfd < 0)
		return dfd;
	if (strcmp(base, ".") == 0) {
		/* The workdir itself. */
		close(dfd);
		return -EISDIR;
	}
	have_mode = fstatat(dfd, base, &st, 0) == 0;
	r = temp_name(tmp, sizeof(tmp));
	if (r < 0) {
		close(dfd);
		return r;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		close(dfd);
		return r;
	}
	r = 0;
	if (have_mode && fchmod(fd, st.st_mode & 0777) < 0)
		r = -errno;
	if (r == 0)
		r = nbio_write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0 && errno != EINTR)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dfd, tmp, 0);
	close(dfd);
	return r;
}

int
tool_write(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out)
{
	struct buf content = BUF_INIT(TS_OUT_MAX);
	const struct confine_root *root;
	const char *file_path;
	const char *ro;
	char *real = NULL;
	int fp_tok;
	int c_tok;
	int r;

	fp_tok = ts_member(doc, input, "file_path");
	if (!ts_truthy(doc, fp_tok))
		return buf_puts(out, "write: file_path is required") ?: TS_TOOL_ERROR;
	file_path = json_str(doc, fp_tok);
	if (!file_path)
		return buf_puts(out, "write: file_path must be a string") ?: TS_TOOL_ERROR;
	r = ts_confine(ctx, "write", file_path, &real, &root, out);
	if (r != 0)
		return r < 0 ? r : TS_TOOL_ERROR;
	if ((ro = ts_read_only_root(ctx, real)) != NULL) {
		r = buf_printf(out, "write: %s is inside read-only directory %s", file_path, ro)
			    ?: TS_TOOL_ERROR;
		goto done;
	}

	/* `content ?? ''`: absent or null writes an empty file. */
	c_tok = ts_member(doc, input, "content");
	r = buf_puts(&content, "");
	if (r == 0 && c_tok >= 0 && json_kind(doc, c_tok) != JSON_NULL) {
		if (json_kind(doc, c_tok) != JSON_STRING) {
			r = buf_puts(out, "write: content must be a string") ?: TS_TOOL_ERROR;
			goto done;
		}
		r = buf_puts(&content, json_str(doc, c_tok));
	}
	if (r < 0)
		goto done;
	r = ts_atomic_write(root, real, content.data, content.len, 1);
	if (r == -ENOMEM)
		goto done;
	if (r < 0) {
		int e = -r;

		r = buf_puts(out, "write: ");
		if (r == 0)
			r = fs_error_append(out, e, file_path);
		if (r == 0)
			r = TS_TOOL_ERROR;
		goto done;
	}
	r = buf_printf(out, "wrote %zu bytes to %s", content.len, file_path);
done:
	buf_release(&content);
	free(real);
	return r;
}
