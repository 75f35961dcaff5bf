/* SPDX-License-Identifier: MIT */
/*
 * The session's memory stores, mounted as folders and kept in sync with the
 * memory-store API (docs/protocol.md §12; the SDK's
 * SessionMemoryStores, which this follows rule by rule).
 *
 * Done in the core, not in an executor: the memory endpoints take only the
 * item's sessions token, which plugins never see.  The executor learns the
 * folders through er_session_info's allowed_roots / read_only_roots (ABI
 * 1.1), so its file tools can reach a store mounted outside the workdir and
 * refuse writes into a read-only one.
 *
 *  - download: for each `memory_store` resource, the folder is its
 *    `mount_path` (a clean absolute path) or <workdir>/memory/<name|id>;
 *    nothing may exist there yet.  It is created (0700), stamped with the
 *    marker file `.anthropic-memory-store` ("version 1\n<store id>") and
 *    filled from a full listing; each memory's content_sha256 becomes the
 *    sync baseline.  A store that cannot be mounted fails the item.
 *  - sync (after each dispatched tool call when the interval has passed,
 *    and from a timer every interval): per path, a memory changed only
 *    remotely is written to disk, a file changed only locally is uploaded
 *    (an update with a content_sha256 precondition, or a create), a change
 *    on both sides keeps the server's version, a local deletion is sent
 *    (with expected_content_sha256) only after it stayed missing for 30 s,
 *    or at the last sync, at most a capped number per sync; refused files
 *    are retried only once they change; read-only stores never push.  A
 *    folder whose marker is gone or wiped is downloaded again rather than
 *    read as a mass deletion; one whose marker names another store is left
 *    alone.
 *  - finish: the last full sync (only after a clean end), then a push-only
 *    flush, each bounded in time, then the folders this instance created
 *    are removed.
 *
 * Every request goes through the API client on the loop.  File work is done
 * on the loop too, in bounded slices between its turns: a sync walks and
 * hashes the folder a few hundred entries at a time from a timer, reading
 * only the files whose device, inode, size or mtime changed since its last
 * walk (core/memory-files.c reaches them by descriptor, never through a
 * link).  One operation runs at a time per session.
 *
 * The parts: core/memory.c mounts the stores and runs one operation at a
 * time over them; core/memory-sync.c is one store's pass against the API;
 * core/memory-merge.c decides each path, core/memory-map.c holds the path
 * maps, core/memory-files.c reaches the folder.
 */
#ifndef ER_MEMORY_H
#define ER_MEMORY_H

#include "api.h"
#include "log.h"
#include "loop.h"

#define MEMORY_BETA "agent-memory-2026-07-22"
#define MEMORY_FLUSH_TIMEOUT_MS 30000L
#define MEMORY_DELETE_CORROBORATION_MS 30000L
#define MEMORY_MARKER ".anthropic-memory-store"

struct memory;

struct memory_options {
	const char *workdir;	   /* absolute */
	const char *token;	   /* the item's sessions token; never logged */
	const struct log_ctx *ctx; /* borrowed for the instance's life */
	long sync_interval_ms;	   /* at least 5000 */
};

/* `failed` is non-zero when a download could not mount a store. */
typedef void (*memory_done_cb)(void *userdata, int failed);

/* Does the session object (raw JSON) carry a memory_store resource? */
int memory_session_has_stores(const char *session_json);

struct memory *memory_new(struct loop *loop, struct api *api, const struct memory_options *o);
/* Accepts NULL.  Cancels what runs; removes nothing. */
void memory_free(struct memory *m);

/* Mount every store of the session; `done` runs once from the loop. */
int
memory_download(struct memory *m, const char *session_json, memory_done_cb done, void *userdata);
/* NULL-terminated lists of the mounted folders (borrowed). */
const char *const *memory_roots(struct memory *m);
const char *const *memory_read_only_roots(struct memory *m);

/* Sync if the interval has passed since the last one and nothing runs. */
void memory_sync_if_due(struct memory *m);
/* Upload the changed files now, unless something runs (the session went
 * idle). */
void memory_flush(struct memory *m);
/* A call was stopped: the files it may have moved away and not put back
 * are pulled again at the next sync instead of being deleted remotely. */
void memory_restore_missing(struct memory *m);

/* Teardown: stop what runs; after a clean end the last full sync, then
 * the flush, each within MEMORY_FLUSH_TIMEOUT_MS; then remove the folders.
 * `done` runs once from the loop. */
int memory_finish(struct memory *m, int clean, memory_done_cb done, void *userdata);

#endif
