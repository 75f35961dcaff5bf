/* SPDX-License-Identifier: MIT */
/*
 * edit: literal search and replace in one file (the SDK's betaEditTool).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-errors.h"
#include "nbio.h"
#include "toolset.h"

static int
edit_error_fs(struct buf *out, const char *what, int err, const char *file_path)
{
	int r = buf_puts(out, what);

	if (r == 0)
		r = fs_error_append(out, err, file_path);
	return r < 0 ? r : TS_TOOL_ERROR;
}

/* Read the regular file `base` in `dfd` whole, decoded as the SDK's
 * readFile(..., 'utf8') decodes it.  0, TS_TOOL_ERROR with `out` set, or
 * -errno. */
static int
load_file(struct ts_ctx *ctx, int dfd, const char *base, const char *file_path, struct buf *text,
	  struct buf *out)
{
	struct buf raw = BUF_INIT(TS_OUT_MAX / 4);
	struct stat st;
	int fd;
	int r;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return edit_error_fs(out, "edit: ", errno, file_path);
	if (!S_ISREG(st.st_mode))
		return buf_printf(out, "edit: %s is not a regular file", file_path)
			       ?: TS_TOOL_ERROR;
	if ((uint64_t)st.st_size > ts_max_bytes(ctx, "edit"))
		return buf_printf(out,
				  "edit: %s is %lld bytes, exceeds %llu-byte limit. "
				  "The edit tool loads the whole file and cannot modify a file "
				  "this large.",
				  file_path, (long long)st.st_size,
				  (unsigned long long)ts_max_bytes(ctx, "edit"))
			       ?: TS_TOOL_ERROR;
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return edit_error_fs(out, "edit: ", errno, file_path);
	r = buf_puts(&raw, "");
	if (r == 0)
		r = nbio_read_all(fd, nbio_buf_append, &raw);
	if (r == -ENOSPC)
		r = edit_error_fs(out, "edit: ", EFBIG, file_path);
	else if (r < 0 && r != -ENOMEM)
		r = edit_error_fs(out, "edit: ", -r, file_path);
	close(fd);
	if (r == 0)
		r = ts_utf8_append(text, raw.data, raw.len);
	buf_release(&raw);
	return r;
}

/* Non-overlapping occurrences, left to right, as String.split counts them. */
static size_t
count_occurrences(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	size_t count = 0;
	size_t pos = 0;

	while (pos + nlen <= hlen) {
		const char *m = memmem(hay + pos, hlen - pos, needle, nlen);

		if (!m)
			break;
		count++;
		pos = (size_t)(m - hay) + nlen;
	}
	return count;
}

static int
replace(struct buf *dst, const char *hay, size_t hlen, const char *needle, size_t nlen,
	const char *with, size_t wlen, int all)
{
	size_t pos = 0;
	int r = buf_puts(dst, "");

	while (r == 0 && pos + nlen <= hlen) {
		const char *m = memmem(hay + pos, hlen - pos, needle, nlen);

		if (!m)
			break;
		r = buf_append(dst, hay + pos, (size_t)(m - hay) - pos);
		if (r == 0)
			r = buf_append(dst, with, wlen);
		pos = (size_t)(m - hay) + nlen;
		if (!all)
			break;
	}
	if (r == 0)
		r = buf_append(dst, hay + pos, hlen - pos);
	return r;
}

int
tool_edit(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out)
{
	struct buf old = BUF_INIT(TS_OUT_MAX);
	struct buf new = BUF_INIT(TS_OUT_MAX);
	struct buf text = BUF_INIT(TS_OUT_MAX);
	struct buf updated = BUF_INIT(TS_OUT_MAX);
	const struct confine_root *root;
	const char *file_path;
	const char *base;
	const char *ro;
	char *real = NULL;
	int replace_all;
	size_t count;
	int new_tok;
	int fp_tok;
	int old_tok;
	int dfd = -1;
	int r;

	fp_tok = ts_member(doc, input, "file_path");
	if (!ts_truthy(doc, fp_tok))
		return buf_puts(out, "edit: file_path is required") ?: TS_TOOL_ERROR;
	old_tok = ts_member(doc, input, "old_string");
	if (!ts_truthy(doc, old_tok))
		return buf_puts(out, "edit: old_string is required") ?: TS_TOOL_ERROR;
	file_path = json_str(doc, fp_tok);
	if (!file_path)
		return buf_puts(out, "edit: file_path must be a string") ?: TS_TOOL_ERROR;
	r = ts_confine(ctx, "edit", file_path, &real, &root, out);
	if (r != 0)
		return r < 0 ? r : TS_TOOL_ERROR;
	if ((ro = ts_read_only_root(ctx, real)) != NULL) {
		r = buf_printf(out, "edit: %s is inside read-only directory %s", file_path, ro)
			    ?: TS_TOOL_ERROR;
		goto done;
	}

	replace_all = ts_truthy(doc, ts_member(doc, input, "replace_all"));
	/* What JavaScript makes of non-string values: split(String(old)),
	 * join(new) (undefined joins with ","), replace(() => new) (undefined
	 * inserts "undefined"). */
	r = ts_js_string(doc, old_tok, &old);
	new_tok = ts_member(doc, input, "new_string");
	if (r == 0 && new_tok < 0 && replace_all)
		r = buf_puts(&new, ",");
	else if (r == 0)
		r = ts_js_string(doc, new_tok, &new);
	if (r < 0)
		goto done;

	dfd = confine_open_parent(root, real, 0, &base);
	if (dfd < 0) {
		r = dfd == -ENOMEM ? dfd : edit_error_fs(out, "edit: ", -dfd, file_path);
		goto done;
	}
	r = load_file(ctx, dfd, base, file_path, &text, out);
	if (r != 0)
		goto done;
	count = count_occurrences(text.data, text.len, old.data, old.len);
	if (count == 0) {
		r = buf_printf(out, "edit: old_string not found in %s", file_path) ?: TS_TOOL_ERROR;
		goto done;
	}
	if (replace_all && count > 1) {
		/* The result's size, refused over the cap before it is built. */
		uint64_t limit = ts_max_bytes(ctx, "edit");
		int64_t size =
			(int64_t)text.len + (int64_t)count * ((int64_t) new.len - (int64_t)old.len);

		if (size > (int64_t)limit) {
			r = buf_printf(out,
				       "edit: %zu replacements would make %s %lld bytes, exceeds "
				       "%llu-byte limit.",
				       count, file_path, (long long)size, (unsigned long long)limit)
				    ?: TS_TOOL_ERROR;
			goto done;
		}
	}
	if (!replace_all && count > 1) {
		r = buf_printf(out, "edit: old_string appears %zu times in %s (must be unique)",
			       count, file_path)
			    ?: TS_TOOL_ERROR;
		goto done;
	}
	r = replace(&updated, text.data, text.len, old.data, old.len, new.data, new.len,
		    replace_all);
	if (r == -ENOSPC) {
		r = edit_error_fs(out, "edit: write: ", EFBIG, file_path);
		goto done;
	}
	if (r < 0)
		goto done;
	r = ts_atomic_write(root, real, updated.data, updated.len, 0);
	if (r == -ENOMEM)
		goto done;
	if (r < 0) {
		r = edit_error_fs(out, "edit: write: ", -r, file_path);
		goto done;
	}
	r = buf_printf(out, "edited %s (%zu replacement(s))", file_path, replace_all ? count : 1);
done:
	if (dfd >= 0)
		close(dfd);
	buf_release(&old);
	buf_release(&new);
	buf_release(&text);
	buf_release(&updated);
	free(real);
	return r;
}
