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

#define TS_OK 0
#define TS_TOOL_ERROR 1

/* The SDK's defaults: the size caps of a whole-file read (the API cuts a
 * longer result) and of edit (which loads the whole file). */
#define TS_MAX_READ_BYTES 110000u
#define TS_MAX_EDIT_BYTES (256u * 1024u)
#define TS_OUT_MAX (4u << 20) /* cap of any result text we build */
#define TS_WALK_MAX_ENTRIES 50000
#define TS_WALK_MAX_DEPTH 40
#define TS_GLOB_RESULTS 200
#define TS_GREP_LIMIT (100u * 1024u)

/* What every tool needs to know about its session. */
struct ts_ctx {
	struct confine_root root; /* canonical workdir, open while a file tool runs */
	char *workdir;		  /* the workdir as configured, lexically normalised */
	/* The SDK's maxFileBytes: 0 for its default (the caps above), else
	 * the cap of both read and edit. */
	uint64_t max_file_bytes;
	/* The SDK's allowedRoots and readOnlyRoots: other directories the file
	 * tools may reach (the session's memory stores) and those where write
	 * and edit are refused; NULL-terminated, as the runner gave them, or
	 * NULL. */
	char **allowed_roots;
	char **read_only_roots;
	struct confine_root other; /* the allowed root of the last ts_confine() */
	/* Where bash saved long outputs, which read and grep may also open
	 * (the SDK's savedOutputDirs). */
	struct ts_saved_dir *saved;
};

/* A directory holding a saved output, resolved and opened when made, so
 * that replacing it with a symlink gives no access to its target. */
struct ts_saved_dir {
	struct ts_saved_dir *next;
	struct confine_root root;
	int listed; /* on the context's list */
};

/* 0, or -errno (the workdir cannot be resolved or opened).  The workdir
 * is left open. */
int ts_ctx_init(struct ts_ctx *ctx, const char *workdir);
void ts_ctx_release(struct ts_ctx *ctx);
/* Around each file tool's call: the workdir opened again by its canonical
 * path, and still the directory it was (0 or -errno, -ESTALE when another
 * stands there), then its descriptor and the last allowed root's closed,
 * so that a session between calls holds none. */
int ts_ctx_busy(struct ts_ctx *ctx);
void ts_ctx_idle(struct ts_ctx *ctx);
/* Copy the allowed and read-only roots (either may be NULL).  0 or
 * -ENOMEM. */
int ts_ctx_set_roots(struct ts_ctx *ctx, const char *const *allowed, const char *const *read_only);
/* Confine the path `p` of the tool `tool` to the workdir or an allowed
 * root: 0 with the canonical path in *ret_real (caller frees) and the root
 * to operate beneath in *ret_root (the workdir's, or ctx->other opened for
 * this call, valid until the next call); 1 with the SDK's message in `msg`,
 * which starts with the tool's name; -ENOMEM. */
int ts_confine(struct ts_ctx *ctx, const char *tool, const char *p, char **ret_real,
	       const struct confine_root **ret_root, struct buf *msg);
/* ts_confine() for read and grep, which also reach this session's saved
 * outputs (resolveReadablePath). */
int ts_confine_readable(struct ts_ctx *ctx, const char *tool, const char *p, char **ret_real,
			const struct confine_root **ret_root, struct buf *msg);
/* Whether `root` (from ts_confine_readable) is a saved output's. */
int ts_is_saved_root(const struct ts_ctx *ctx, const struct confine_root *root);
/* Record the new directory `path` (canonical) as a saved output's:
 * 0 or -errno. */
int ts_saved_dir_add(struct ts_ctx *ctx, const char *path, struct ts_saved_dir **ret);
/* Take it off the list read and grep look at. */
void ts_saved_dir_hide(struct ts_ctx *ctx, struct ts_saved_dir *d);
/* Hide it, delete it with its file, and free it. */
void ts_saved_dir_remove(struct ts_ctx *ctx, struct ts_saved_dir *d);
/* The cap of `tool` ("read" or "edit"). */
uint64_t ts_max_bytes(const struct ts_ctx *ctx, const char *tool);
/* The read-only root (as configured) that holds the canonical `real`, or
 * NULL. */
const char *ts_read_only_root(const struct ts_ctx *ctx, const char *real);

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

/* ---- the plugin's per-session state (toolset.c) -------------------------- */

struct er_host;
struct er_session;
struct ts_shell;
struct ts_rg;

struct ts_plugin {
	const struct er_host *host;
	void *host_ctx;
};

struct ts_session {
	struct ts_plugin *pl;
	struct er_session *handle;
	struct ts_ctx ctx;
	struct ts_shell *shells; /* one per session thread, made by its first call */
	struct ts_rg *rg;	 /* the running rg search, if any */
	int rg_by_name;		 /* the sandbox does not hand rg a descriptor */
};

/* Post a result through the host (it turns "" into "(no output)"). */
void
ts_result(struct ts_session *s, const char *call_id, int is_error, const char *text, size_t len);

/* Asynchronous tools: 0 when the call was answered or is running (the
 * result follows from a callback), or -errno when it could not start. */
int tool_bash(struct ts_session *s, const char *call_id, const char *thread,
	      const struct json_doc *doc, int input);
/* Start the primary thread's shell before its first call, so that bash
 * starts while the session's events are read.  A shell that cannot start
 * is left for the first call, which says why. */
void bash_prestart(struct ts_session *s);
/* Abandon the bash call `call_id` (NULL: every one): a waiting call is
 * dropped, a running one kills its shell, which is then gone.  No result. */
void bash_cancel(struct ts_session *s, const char *call_id);
/* The session thread `thread` (NULL: the primary) ended: its shell is
 * killed and gone, its saved output deleted. */
void bash_thread_stop(struct ts_session *s, const char *thread);
/* Kill every shell, delete the saved outputs and free them. */
void bash_free(struct ts_session *s);

int tool_grep(struct ts_session *s, const char *call_id, const struct json_doc *doc, int input);
void grep_cancel(struct ts_session *s, const char *call_id);

/* Output helpers shared by bash and grep: a streaming UTF-8 decoder that
 * carries an incomplete sequence over to the next chunk, as Node's
 * StringDecoder does. */
struct utf8_stream {
	unsigned char pend[4];
	size_t npend;
};
int utf8_stream_feed(struct utf8_stream *u, struct buf *out, const char *p, size_t n, int eof);
/* Length of `s` in UTF-16 code units (JavaScript's string length). */
size_t utf16_length(const char *s, size_t n);
/* Byte offset of the longest prefix of `s` holding at most `units` UTF-16
 * code units. */
size_t utf16_prefix(const char *s, size_t n, size_t units);

/* The synchronous tools. */
int tool_read(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out);
int tool_write(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out);
int tool_edit(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out);
int tool_glob(struct ts_ctx *ctx, const struct json_doc *doc, int input, struct buf *out);
/* The built-in search of `target_fd` (the file or directory named
 * `search_path`; -1 when it could not be opened). */
int tool_grep_walk(struct ts_ctx *ctx, const char *pattern, const char *search_path, int target_fd,
		   struct buf *out);

/* Write `len` bytes to the canonical path `real` atomically (a temporary
 * file in the same directory, fsync, rename): a new file gets mode 0600, an
 * existing one keeps its mode.  `mkdirs` creates missing parents 0700.
 * 0 or -errno. */
int ts_atomic_write(const struct confine_root *root, const char *real, const char *data, size_t len,
		    int mkdirs);

#endif
