/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the toolset executor's files.  The tools reproduce the
 * SDK's agent toolset (agent_toolset_20260401) byte for byte: result texts,
 * error strings and file effects.
 *
 * Synchronous tools (read, write, edit, glob, the built-in grep walker) take
 * the call's parsed input and fill `out` with the result text; they return
 * TS_OK, TS_TOOL_ERROR (the text is an error message for the agent) or a
 * negative errno for an internal failure (out of memory), which the caller
 * reports itself.
 */
#ifndef TOOLSET_TOOLSET_H
#define TOOLSET_TOOLSET_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "confine.h"

#define TS_OK         0
#define TS_TOOL_ERROR 1

/* The SDK's defaults. */
#define TS_MAX_FILE_BYTES   (256u * 1024u)  /* read and edit */
#define TS_OUT_MAX          (4u << 20)      /* cap of any result text we build */
#define TS_WALK_MAX_ENTRIES 50000
#define TS_WALK_MAX_DEPTH   40
#define TS_GLOB_RESULTS     200
#define TS_GREP_LIMIT       (100u * 1024u)

/* What every tool needs to know about its session. */
struct ts_ctx {
	struct confine_root root;  /* canonical workdir, opened */
	char *workdir;             /* the workdir as configured, lexically normalised */
	uint64_t max_file_bytes;   /* 0: no cap */
};

/* 0, or -errno (the workdir cannot be resolved or opened). */
int ts_ctx_init(struct ts_ctx *ctx, const char *workdir);
void ts_ctx_release(struct ts_ctx *ctx);

/* Input helpers.  `obj` may be any token; members of a non-object read as
 * absent (-1). */
int ts_member(const struct json_doc *doc, int obj, const char *key);
/* JavaScript truthiness of a member: absent, null, false, 0, NaN and "" are
 * false. */
int ts_truthy(const struct json_doc *doc, int tok);
/* The value as JavaScript's String() would print it, for the few inputs the
 * SDK coerces (numbers, booleans, null).  Strings are returned as they are. */
int ts_js_string(const struct json_doc *doc, int tok, struct buf *out);

/* Append `n` bytes decoded as UTF-8 the way TextDecoder does it (each
 * maximal invalid subpart becomes U+FFFD). */
int ts_utf8_append(struct buf *out, const char *s, size_t n);

/* The synchronous tools. */
int tool_read(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out);
int tool_write(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out);
int tool_edit(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out);
int tool_glob(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out);
int tool_grep_walk(struct ts_ctx *ctx, const char *pattern, const char *search_path,
		   struct buf *out);

/* Write `len` bytes to the canonical path `real` atomically (a temporary
 * file in the same directory, fsync, rename): a new file gets mode 0600, an
 * existing one keeps its mode.  `mkdirs` creates missing parents 0700.
 * 0 or -errno. */
int ts_atomic_write(const struct confine_root *root, const char *real, const char *data,
		    size_t len, int mkdirs);

#endif
