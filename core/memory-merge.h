/* SPDX-License-Identifier: MIT */
/*
 * The memory stores' per-path decisions, as pure functions of content
 * hashes: the three-way merge of a sync (the file on disk, the memory on
 * the server, and the baseline both had at the last sync) and the flush's
 * push-only rule.  core/memory.c carries out what they decide.
 *
 * A hash is a lowercase sha256 hex string, or NULL where that side has no
 * such path.
 */
#ifndef ER_MEMORY_MERGE_H
#define ER_MEMORY_MERGE_H

#include <stdbool.h>

enum memory_action {
	MEMORY_KEEP,	      /* nothing to move; `baseline` is the path's next one */
	MEMORY_FORGET,	      /* on neither side: the path is dropped */
	MEMORY_PULL,	      /* write the server's version to disk */
	MEMORY_PUSH,	      /* upload the file: an update over `remote`, else a create */
	MEMORY_DELETE_REMOTE, /* gone from disk only: delete remotely once corroborated */
	MEMORY_DELETE_LOCAL,  /* gone from the server only, unchanged here: remove the file */
};

/* What a decision has to say to the log. */
enum memory_conflict {
	MEMORY_NO_CONFLICT,
	MEMORY_BOTH_CHANGED,		   /* the server's version wins */
	MEMORY_DELETED_LOCALLY_CHANGED,	   /* deleted here, changed remotely: pulled back */
	MEMORY_DELETED_REMOTELY_EDITED,	   /* deleted remotely, edited here: created again */
	MEMORY_DELETED_REMOTELY_READ_ONLY, /* the same in a read-only store: kept, not pushed */
};

struct memory_merge {
	const char *local;   /* the file's hash */
	const char *remote;  /* the memory's hash in this sync's listing */
	const char *base;    /* both sides' hash at the last sync */
	const char *refused; /* the hash the server last refused for this path */
	bool read_only;	     /* the store never pushes */
	bool restore;	     /* missing after a stopped call: pulled again, never deleted */
};

struct memory_decision {
	enum memory_action action;
	enum memory_conflict conflict;
	/* The path's next baseline when nothing (or nothing that succeeds)
	 * moves: one of the inputs, or NULL for none. */
	const char *baseline;
	/* The path is no longer a local deletion waiting for corroboration. */
	bool settled;
};

/* #syncPath's decision for one path. */
struct memory_decision memory_merge_sync(const struct memory_merge *in);

/* #flushStore's decision for one changed file: MEMORY_PUSH, or
 * MEMORY_KEEP with the baseline to record (NULL: leave it). */
struct memory_decision memory_merge_flush(const struct memory_merge *in);

#endif
