/* SPDX-License-Identifier: MIT */
/*
 * read: a UTF-8 text file, whole or a range of lines (the SDK's betaReadTool).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-errors.h"
#include "nbio.h"
#include "toolset.h"

/* The SDK's LineRangeCollector: lines [start, end) (0-based), capped. */
struct line_range {
	double start;
	double end;	/* INFINITY: to the end of the file */
	uint64_t limit; /* 0: no cap */
	uint64_t line;
	struct buf bytes;
};

static int
range_is_collected(const struct line_range *lr)
{
	return (double)lr->line >= lr->end;
}

/* nbio_data_fn: 0, -EFBIG when the cap is exceeded, -ECANCELED once the
 * range is collected (nothing more to read), or -ENOMEM. */
static int
range_collect(void *userdata, const char *chunk, size_t n)
{
	struct line_range *lr = userdata;
	size_t pos = 0;
	int r;

	while (pos < n && !range_is_collected(lr)) {
		const char *nl = memchr(chunk + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - chunk) : n;

		if ((double)lr->line >= lr->start) {
			r = buf_append(&lr->bytes, chunk + pos, end - pos);
			if (r == 0 && nl && (double)(lr->line + 1) < lr->end)
				r = buf_putc(&lr->bytes, '\n');
			if (r == -ENOSPC || (lr->limit && lr->bytes.len > lr->limit))
				return -EFBIG;
			if (r < 0)
				return r;
		}
		if (!nl)
			break;
		lr->line++;
		pos = end + 1;
	}
	return range_is_collected(lr) ? -ECANCELED : 0;
}

/* JavaScript's number value of a view_range element (NaN for anything but
 * a number). */
static double
js_number(const struct json_doc *doc, int tok)
{
	double d;

	if (json_kind(doc, tok) == JSON_NUMBER && json_double(doc, tok, &d) == 0)
		return d;
	return NAN;
}

static int
read_error_fs(struct buf *out, int err, const char *file_path)
{
	int r = buf_puts(out, "read: ");

	if (r == 0)
		r = fs_error_append(out, err, file_path);
	return r < 0 ? r : TS_TOOL_ERROR;
}

static int
over_limit_error(struct buf *out, const struct json_doc *doc, int vr, const struct line_range *lr,
		 const char *file_path)
{
	int r;

	if (lr->end - lr->start == 1)
		return buf_printf(out,
				  "read: line %.0f of %s alone exceeds %llu-byte limit. "
				  "The read tool cannot return part of a line, so view_range "
				  "cannot narrow this further.",
				  lr->start + 1, file_path, (unsigned long long)lr->limit);
	r = buf_puts(out, "read: view_range [");
	if (r == 0)
		r = ts_js_string(doc, json_first(doc, vr), out);
	if (r == 0)
		r = buf_puts(out, ", ");
	if (r == 0)
		r = ts_js_string(doc, json_next(doc, json_first(doc, vr)), out);
	if (r == 0)
		r = buf_printf(out,
			       "] of %s exceeds %llu-byte limit. "
			       "Narrow the view_range to read a smaller portion.",
			       file_path, (unsigned long long)lr->limit);
	return r;
}

int
tool_read(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out)
{
	struct line_range lr = { 0, INFINITY, 0, 0, BUF_INIT(TS_OUT_MAX / 2) };
	const struct confine_root *root;
	const char *file_path;
	const char *base = NULL;
	char *real = NULL;
	int has_range = 0;
	int streaming = 0;
	int fp_tok;
	int vr;
	int dfd = -1;
	int fd = -1;
	struct stat st;
	struct stat st2;
	int r;

	fp_tok = ts_member(doc, input, "file_path");
	if (!ts_truthy(doc, fp_tok))
		return buf_puts(out, "read: file_path is required") ?: TS_TOOL_ERROR;
	file_path = json_str(doc, fp_tok);
	if (!file_path)
		return buf_puts(out, "read: file_path must be a string") ?: TS_TOOL_ERROR;
	r = ts_confine_readable(ctx, "read", file_path, &real, &root, out);
	if (r != 0)
		return r < 0 ? r : TS_TOOL_ERROR;

	vr = ts_member(doc, input, "view_range");
	if (json_kind(doc, vr) == JSON_ARRAY && json_size(doc, vr) > 0) {
		double s;
		double e;

		if (json_size(doc, vr) != 2) {
			r = buf_puts(out, "read: view_range must be [start_line, end_line]")
				    ?: TS_TOOL_ERROR;
			goto done;
		}
		has_range = 1;
		s = js_number(doc, json_first(doc, vr));
		e = js_number(doc, json_next(doc, json_first(doc, vr)));
		/* Math.max(0, s - 1) and `e > 0 ? e : Infinity`; slice()
		 * truncates fractions, NaN reads as 0. */
		lr.start = isnan(s) ? 0 : trunc(fmax(0, s - 1));
		lr.end = e > 0 ? trunc(e) : INFINITY;
	} else if (json_kind(doc, vr) == JSON_STRING && json_str(doc, vr)[0] != '\0') {
		r = buf_puts(out, "read: view_range must be [start_line, end_line]")
			    ?: TS_TOOL_ERROR;
		goto done;
	}

	dfd = confine_open_parent(root, real, 0, &base);
	if (dfd < 0) {
		r = dfd == -ENOMEM ? dfd : read_error_fs(out, -dfd, file_path);
		goto done;
	}
	/* stat before open: a FIFO or device is refused without opening it,
	 * and the size cap applies before anything is read. */
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = read_error_fs(out, errno, file_path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		r = buf_printf(out, "read: %s is not a regular file", file_path) ?: TS_TOOL_ERROR;
		goto done;
	}
	if ((uint64_t)st.st_size > ts_max_bytes(ctx, "read")) {
		if (!has_range) {
			r = buf_printf(out,
				       "read: %s is %lld bytes, exceeds %llu-byte limit. "
				       "Use the view_range parameter to read specific line ranges, "
				       "e.g. view_range: [1, 500].",
				       file_path, (long long)st.st_size,
				       (unsigned long long)ts_max_bytes(ctx, "read"))
				    ?: TS_TOOL_ERROR;
			goto done;
		}
		streaming = 1;
		lr.limit = ts_max_bytes(ctx, "read");
		if (lr.end <= lr.start) {
			r = buf_puts(out, "");
			goto done;
		}
	}
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = read_error_fs(out, errno, file_path);
		goto done;
	}
	if (fstat(fd, &st2) < 0 || !S_ISREG(st2.st_mode) || st2.st_ino != st.st_ino ||
	    st2.st_dev != st.st_dev) {
		r = buf_printf(out, "read: %s is not a regular file", file_path) ?: TS_TOOL_ERROR;
		goto done;
	}
	r = buf_puts(&lr.bytes, "");
	if (r == 0)
		r = nbio_read_all(fd, range_collect, &lr);
	if (r == -EFBIG && streaming) {
		r = over_limit_error(out, doc, vr, &lr, file_path) ?: TS_TOOL_ERROR;
		goto done;
	}
	if (r == -EFBIG) {
		/* The file grew past what a result can carry. */
		r = buf_printf(out, "read: %s: i/o error (EFBIG)", file_path) ?: TS_TOOL_ERROR;
		goto done;
	}
	if (r == -ENOMEM)
		goto done;
	if (r < 0 && r != -ECANCELED) {
		r = read_error_fs(out, -r, file_path);
		goto done;
	}
	r = ts_utf8_append(out, lr.bytes.data, lr.bytes.len);
done:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	buf_release(&lr.bytes);
	free(real);
	return r;
}
