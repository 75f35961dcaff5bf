/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs-errors.h"
#include "toolset.h"

int
ts_ctx_init(struct ts_ctx *ctx, const char *workdir)
{
	int r;

	ctx->workdir = NULL;
	ctx->max_file_bytes = 0;
	ctx->allowed_roots = NULL;
	ctx->read_only_roots = NULL;
	ctx->other.path = NULL;
	ctx->other.len = 0;
	ctx->other.fd = -1;
	ctx->saved = NULL;
	r = confine_root_init(&ctx->root, workdir);
	if (r < 0)
		return r;
	r = path_resolve("/", workdir, &ctx->workdir);
	if (r < 0) {
		confine_root_release(&ctx->root);
		return r;
	}
	return 0;
}

int
ts_ctx_busy(struct ts_ctx *ctx)
{
	return confine_root_open(&ctx->root);
}

void
ts_ctx_idle(struct ts_ctx *ctx)
{
	confine_root_close(&ctx->root);
	confine_root_release(&ctx->other);
}

static void
roots_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void
ts_ctx_release(struct ts_ctx *ctx)
{
	confine_root_release(&ctx->root);
	confine_root_release(&ctx->other);
	free(ctx->workdir);
	ctx->workdir = NULL;
	roots_free(ctx->allowed_roots);
	ctx->allowed_roots = NULL;
	roots_free(ctx->read_only_roots);
	ctx->read_only_roots = NULL;
}

static int
roots_copy(const char *const *in, char ***ret)
{
	size_t n = 0;
	char **v;

	*ret = NULL;
	if (!in || !in[0])
		return 0;
	while (in[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(in[i]);
		if (!v[i]) {
			roots_free(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

int
ts_ctx_set_roots(struct ts_ctx *ctx, const char *const *allowed, const char *const *read_only)
{
	roots_free(ctx->allowed_roots);
	roots_free(ctx->read_only_roots);
	ctx->read_only_roots = NULL;
	if (roots_copy(allowed, &ctx->allowed_roots) < 0 ||
	    roots_copy(read_only, &ctx->read_only_roots) < 0)
		return -ENOMEM;
	return 0;
}

uint64_t
ts_max_bytes(const struct ts_ctx *ctx, const char *tool)
{
	if (ctx->max_file_bytes)
		return ctx->max_file_bytes;
	return strcmp(tool, "read") == 0 ? TS_MAX_READ_BYTES : TS_MAX_EDIT_BYTES;
}

int
ts_confine(struct ts_ctx *ctx, const char *tool, const char *p, char **ret_real,
	   const struct confine_root **ret_root, struct buf *msg)
{
	size_t start = msg->len;
	int index = -1;
	int r;

	/* The SDK's refusedBy(): a refusal names the tool. */
	r = buf_printf(msg, "%s: ", tool);
	if (r < 0)
		return r;
	r = confine_path_ex(&ctx->root, (const char *const *)ctx->allowed_roots, p, ret_real,
			    &index, msg);
	if (r != 0)
		return r;
	buf_truncate(msg, start);
	if (ret_root)
		*ret_root = &ctx->root;
	if (index < 0)
		return 0;
	/* Opened at check time: a store's folder may have been re-created. */
	confine_root_release(&ctx->other);
	r = confine_root_init(&ctx->other, ctx->allowed_roots[index]);
	if (r < 0 || !confine_is_within(ctx->other.path, *ret_real)) {
		struct buf what = BUF_INIT(65536);
		int w = buf_printf(msg, "%s: ", tool) ?: buf_puts(&what, "path ");

		if (w == 0)
			w = js_quote_append(&what, p);
		if (w == 0)
			w = fs_error_append(msg, r < 0 ? -r : ENOENT, what.data);
		buf_release(&what);
		free(*ret_real);
		*ret_real = NULL;
		return w == -ENOMEM ? w : 1;
	}
	if (ret_root)
		*ret_root = &ctx->other;
	return 0;
}

int
ts_confine_readable(struct ts_ctx *ctx, const char *tool, const char *p, char **ret_real,
		    const struct confine_root **ret_root, struct buf *msg)
{
	char *abs = NULL;
	char *real = NULL;

	if (ctx->saved && path_resolve(ctx->workdir, p, &abs) == 0 &&
	    confine_canonicalize(abs, &real) == 0) {
		for (struct ts_saved_dir *d = ctx->saved; d; d = d->next) {
			if (confine_is_within(d->root.path, real)) {
				free(abs);
				*ret_real = real;
				if (ret_root)
					*ret_root = &d->root;
				return 0;
			}
		}
	}
	free(abs);
	free(real);
	return ts_confine(ctx, tool, p, ret_real, ret_root, msg);
}

int
ts_is_saved_root(const struct ts_ctx *ctx, const struct confine_root *root)
{
	for (const struct ts_saved_dir *d = ctx->saved; d; d = d->next) {
		if (&d->root == root)
			return 1;
	}
	return 0;
}

int
ts_saved_dir_add(struct ts_ctx *ctx, const char *path, struct ts_saved_dir **ret)
{
	struct ts_saved_dir *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	r = confine_root_init(&d->root, path);
	if (r < 0) {
		free(d);
		return r;
	}
	d->next = ctx->saved;
	d->listed = 1;
	ctx->saved = d;
	*ret = d;
	return 0;
}

void
ts_saved_dir_hide(struct ts_ctx *ctx, struct ts_saved_dir *d)
{
	struct ts_saved_dir **p;

	if (!d->listed)
		return;
	for (p = &ctx->saved; *p; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			break;
		}
	}
	d->next = NULL;
	d->listed = 0;
}

void
ts_saved_dir_remove(struct ts_ctx *ctx, struct ts_saved_dir *d)
{
	int fd;
	DIR *dir;

	ts_saved_dir_hide(ctx, d);
	/* Beneath the descriptor: the name may lead elsewhere by now. */
	fd = fcntl(d->root.fd, F_DUPFD_CLOEXEC, 0);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (dir) {
		struct dirent *e;

		while ((e = readdir(dir)) != NULL) {
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlinkat(d->root.fd, e->d_name, 0);
		}
		closedir(dir);
	} else if (fd >= 0) {
		close(fd);
	}
	rmdir(d->root.path);
	confine_root_release(&d->root);
	free(d);
}

const char *
ts_read_only_root(const struct ts_ctx *ctx, const char *real)
{
	int i;

	for (const struct ts_saved_dir *d = ctx->saved; d; d = d->next) {
		if (confine_is_within(d->root.path, real))
			return d->root.path;
	}
	i = confine_containing_root((const char *const *)ctx->read_only_roots, real);

	return i < 0 ? NULL : ctx->read_only_roots[i];
}

int
ts_member(const struct json_doc *doc, int obj, const char *key)
{
	if (obj < 0 || json_kind(doc, obj) != JSON_OBJECT)
		return -1;
	return json_get(doc, obj, key);
}

int
ts_truthy(const struct json_doc *doc, int tok)
{
	const char *s;
	double d;

	switch (json_kind(doc, tok)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
	case JSON_TRUE:
		return 1;
	case JSON_STRING:
		s = json_str(doc, tok);
		return s && s[0] != '\0';
	case JSON_NUMBER:
		return json_double(doc, tok, &d) == 0 && d != 0 && !isnan(d);
	default:
		return 0;
	}
}

int
ts_js_string(const struct json_doc *doc, int tok, struct buf *out)
{
	const char *raw;
	size_t len;
	int64_t v;

	switch (json_kind(doc, tok)) {
	case JSON_STRING:
		return buf_puts(out, json_str(doc, tok));
	case JSON_TRUE:
		return buf_puts(out, "true");
	case JSON_FALSE:
		return buf_puts(out, "false");
	case JSON_NULL:
		return buf_puts(out, "null");
	case JSON_INVALID:
		return buf_puts(out, "undefined");
	case JSON_NUMBER:
		if (json_int64(doc, tok, &v) == 0)
			return buf_printf(out, "%lld", (long long)v);
		raw = json_raw(doc, tok, &len);
		return buf_append(out, raw, len);
	case JSON_OBJECT:
		return buf_puts(out, "[object Object]");
	default:
		/* Arrays: String([..]) joins elements; good enough as raw. */
		raw = json_raw(doc, tok, &len);
		return buf_append(out, raw, len);
	}
}

static const char replacement[] = "\xef\xbf\xbd";

int
ts_utf8_append(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	size_t run = 0; /* start of the pending run of valid bytes */
	int r;

	while (i < n) {
		unsigned char c = p[i];
		unsigned need;
		unsigned char lo = 0x80;
		unsigned char hi = 0xbf;
		size_t j;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			need = 0;
		}
		for (j = 1; need && j <= need; j++) {
			if (i + j >= n || p[i + j] < lo || p[i + j] > hi)
				break;
			lo = 0x80;
			hi = 0xbf;
		}
		if (need && j > need) {
			i += j;
			continue;
		}
		/* Invalid: flush the valid run, replace the maximal subpart
		 * (the lead byte and the continuation bytes accepted so far). */
		r = buf_append(out, s + run, i - run);
		if (r == 0)
			r = buf_append(out, replacement, 3);
		if (r < 0)
			return r;
		i += need ? j : 1;
		run = i;
	}
	return buf_append(out, s + run, i - run);
}

/* Bytes of an incomplete but so far valid sequence at the end of s[0..n). */
static size_t
incomplete_tail(const unsigned char *s, size_t n)
{
	size_t k;

	for (k = 1; k <= 3 && k <= n; k++) {
		unsigned char c = s[n - k];
		size_t need;

		if (c < 0x80)
			return 0;
		if (c >= 0xc0) {
			need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			return need > k ? k : 0;
		}
	}
	return 0;
}

int
utf8_stream_feed(struct utf8_stream *u, struct buf *out, const char *p, size_t n, int eof)
{
	const char *s = p;
	char *joined = NULL;
	size_t keep;
	int r;

	/* Decoding pending + chunk from the start of a sequence gives what
	 * decoding the whole stream at once would. */
	if (u->npend > 0) {
		joined = malloc(u->npend + n + 1);
		if (!joined)
			return -ENOMEM;
		memcpy(joined, u->pend, u->npend);
		if (n)
			memcpy(joined + u->npend, p, n);
		s = joined;
		n += u->npend;
		u->npend = 0;
	}
	keep = eof ? 0 : incomplete_tail((const unsigned char *)s, n);
	r = ts_utf8_append(out, s, n - keep);
	if (r == 0) {
		memcpy(u->pend, s + n - keep, keep);
		u->npend = keep;
	}
	free(joined);
	return r;
}

size_t
utf16_length(const char *s, size_t n)
{
	size_t units = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c & 0xc0) != 0x80)
			units += c >= 0xf0 ? 2 : 1;
	}
	return units;
}

size_t
utf16_prefix(const char *s, size_t n, size_t units)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t w;

		if ((c & 0xc0) == 0x80)
			continue;
		w = c >= 0xf0 ? 2 : 1;
		if (w > units)
			return i;
		units -= w;
	}
	return n;
}
