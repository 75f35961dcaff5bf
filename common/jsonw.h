/* SPDX-License-Identifier: MIT */
/*
 * A small JSON writer into a struct buf.  Errors are sticky: check once
 * with jw_finish(); after an error nothing more is written, and the buffer
 * holds a truncated text the caller discards.  Strings are escaped as
 * JSON.stringify does (\" \\ \b \f \n \r \t, other control characters as
 * \u00xx, '/' and non-ASCII left alone); invalid UTF-8 is replaced by
 * U+FFFD, as the SDK's UTF-8 decoding does.  Exactly one top-level value.
 *
 *	struct jsonw w;
 *	jw_init(&w, &body);
 *	jw_object_begin(&w);
 *	jw_key(&w, "type");
 *	jw_string(&w, "user.tool_result");
 *	jw_object_end(&w);
 *	r = jw_finish(&w);
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
	int err; /* first error, 0 if none */
	/* Private state.  first[d] describes the open container at depth d + 1:
	 * bit 0 "no element written yet", bit 1 "an object".  after_key: bit 0
	 * "a key was written, its value is next", bit 1 "the top-level value
	 * was begun". */
	unsigned char first[JW_MAX_DEPTH];
	unsigned char after_key;
};

void jw_init(struct jsonw *w, struct buf *out);
void jw_object_begin(struct jsonw *w);
void jw_object_end(struct jsonw *w);
void jw_array_begin(struct jsonw *w);
void jw_array_end(struct jsonw *w);
void jw_key(struct jsonw *w, const char *key);
void jw_string(struct jsonw *w, const char *s); /* NULL writes null */
void jw_stringn(struct jsonw *w, const char *s, size_t n);
void jw_int(struct jsonw *w, int64_t v);
void jw_bool(struct jsonw *w, int v);
void jw_null(struct jsonw *w);
/* Insert one already-valid JSON value verbatim (not checked). */
void jw_raw(struct jsonw *w, const char *json, size_t n);
/* 0, or the first error (-ENOSPC, -ENOMEM, -EINVAL for misuse: a value
 * without a key or a key outside an object, a mismatched or missing end,
 * more than JW_MAX_DEPTH nested containers, no or two top-level values). */
int jw_finish(struct jsonw *w);

/* A whole `session.error` event into `out`: {"type":"session.error",
 * "error":{"type":TYPE,"message":MESSAGE,"retry_status":{"type":RETRY}}},
 * the message cut at `message_len` bytes.  0, or jw_finish()'s error. */
int jw_session_error(struct buf *out, const char *type, const char *message, size_t message_len,
		     const char *retry);

/* Append `s` escaped as a JSON string body (no quotes) to `out`; NUL bytes
 * become \u0000.  0, -ENOSPC, -ENOMEM (out may then hold part of the
 * text) or -EINVAL. */
int json_escape_append(struct buf *out, const char *s, size_t n);

#endif
