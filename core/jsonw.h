/* SPDX-License-Identifier: MIT */
/*
 * A small JSON writer into a struct buf.  Errors are sticky: check once
 * with jw_finish().  Strings are escaped per RFC 8259; invalid UTF-8 is
 * replaced by U+FFFD, as the SDK's UTF-8 decoding does.
 */
#ifndef ER_JSONW_H
#define ER_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JW_MAX_DEPTH 64

struct jsonw {
	struct buf *out;
	int depth;
	int err;                              /* first error, 0 if none */
	unsigned char first[JW_MAX_DEPTH];    /* no element written yet at this depth */
	unsigned char after_key;              /* a key was written, its value is next */
};

void jw_init(struct jsonw *w, struct buf *out);
void jw_object_begin(struct jsonw *w);
void jw_object_end(struct jsonw *w);
void jw_array_begin(struct jsonw *w);
void jw_array_end(struct jsonw *w);
void jw_key(struct jsonw *w, const char *key);
void jw_string(struct jsonw *w, const char *s);         /* NULL writes null */
void jw_stringn(struct jsonw *w, const char *s, size_t n);
void jw_int(struct jsonw *w, int64_t v);
void jw_bool(struct jsonw *w, int v);
void jw_null(struct jsonw *w);
/* Insert already-valid JSON verbatim. */
void jw_raw(struct jsonw *w, const char *json, size_t n);
/* 0, or the first error (-ENOSPC, -ENOMEM, -EINVAL for misuse). */
int jw_finish(struct jsonw *w);

/* Append `s` escaped as a JSON string body (no quotes) to `out`. */
int json_escape_append(struct buf *out, const char *s, size_t n);

#endif
