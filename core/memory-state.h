/* SPDX-License-Identifier: MIT */
/*
 * What the two halves of the memory stores share, and nothing else includes:
 * core/memory.c (the instance: mounting, the operations and their order,
 * the teardown) and core/memory-sync.c (one store's pass against the
 * memory-store API: scan, list, decide each path, upload, delete, pull).
 */
#ifndef ER_MEMORY_STATE_H
#define ER_MEMORY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "loop.h"
#include "memory-files.h"
#include "memory-map.h"
#include "memory.h"
#include "strv.h"

struct store {
	char *id;
	char *root;	  /* resolved */
	char *configured; /* as the resource gave it, for messages */
	int read_only;
	int created; /* the download created the root: remove it at the end */
	struct memory_map baseline;
	struct memory_map refused;
	struct memory_map pending; /* pending deletes */
	struct memory_map sent;
	struct memory_map
		restore; /* missing after a stopped call (since t): pulled again, never deleted */
	struct memory_map hashes; /* the last scan's hashes, with the stamps they hold for */
};

enum op {
	OP_NONE,
	OP_DOWNLOAD,
	OP_SYNC,
	OP_FLUSH,
};

/* What one store's pass is doing. */
enum pass {
	PASS_DOWNLOAD, /* mounting it: a failure fails the item */
	PASS_RECOVER,  /* downloading a wiped folder again during a sync */
	PASS_SYNC,
	PASS_FLUSH,
};

/* Where a pass is; memory_step() resumes there. */
enum stage {
	ST_NONE,
	ST_LISTING,
	ST_PATHS,
	ST_PULLS,
	ST_RESOURCES,	  /* download: mount the next resource */
	ST_SCANNING,	  /* walking the folder, a slice at a time */
	ST_AWAIT_RESTORE, /* waiting for the listing memory_restore_missing began */
};

struct memory {
	struct loop *loop;
	struct api *api;
	char *workdir;
	char *token;
	const struct log_ctx *ctx;
	long interval_ms;
	uint64_t last_sync;

	struct store *stores;
	size_t n_stores;
	struct strv roots;
	struct strv ro_roots;

	/* The operation running now. */
	enum op op;
	enum pass pass;
	enum stage stage;
	int final; /* the session's last sync: deletes skip the wait */
	size_t si; /* the store being worked on */
	struct api_call *call;
	struct loop_timer *timer; /* deferred steps */
	memory_done_cb done;
	void *userdata;
	int failed;
	char *session_json; /* download: the resources */
	int resource;	    /* download: the next resource index; -1 once mounted */
	int mounting;	    /* download: the store being mounted, or -1 */

	/* One store's pass. */
	struct memory_walk walk;
	struct memory_map scanned; /* the next hash cache */
	int64_t scan_started;	   /* wall clock, seconds */
	uint64_t scan_began;	   /* loop clock, ms */
	int scan_error;
	struct memory_map local;
	int marker_ok;
	const char *distrust;
	struct memory_map remote;
	char *page;
	const char *list_view;
	struct strv paths;
	size_t pi;
	struct memory_map next_base;
	struct memory_map pulls; /* rel -> id */
	size_t pull_i;
	int del_attempted;
	int del_capped;
	int del_cap;
	/* The upload in flight. */
	char *up_rel;
	char up_local[65];
	int up_has_local;
	char *up_existing_id;
	char up_existing_sha[65];
	int up_result_set;	 /* sync: where its outcome goes */
	const char *up_fallback; /* sync: the sha kept when it fails */
	char up_fallback_buf[65];
	char *del_rel;
	char del_base[65];

	/* What a stopped call left missing: the folders listed by name, a
	 * slice at a time, before the next pass begins. */
	bool restoring;
	uint64_t restore_at; /* loop clock, ms: when the call was stopped */
	size_t restore_si;
	struct memory_walk restore_walk;
	struct memory_map restore_here;
	struct loop_timer *restore_timer;

	/* Teardown. */
	int finishing;
	int clean;
	int phase; /* 0: finish sync, 1: flush, 2: dispose */
	struct loop_timer *bound;
	memory_done_cb finish_done;
	void *finish_userdata;
};

/* core/memory-sync.c */
void
memory_log(struct memory *m, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Run the pass's next step from the loop (a timer of 0 ms). */
void memory_defer(struct memory *m);
void memory_step(void *userdata);
void memory_pass_reset(struct memory *m);
/* Sync or flush the store m->si, as m->op says; memory_store_done follows. */
void memory_store_begin(struct memory *m);
/* Stamp the store's marker, then write its full listing into the folder. */
int memory_stamp_and_list(struct memory *m, struct store *st);
const char *memory_folder_distrust(const struct store *st, bool *has_files);

/* core/memory.c */
/* A store's pass ended: the next store's, or the operation's end. */
void memory_store_done(struct memory *m);
/* A store could not be mounted: the download fails. */
void memory_mount_failed(struct memory *m);
/* Mount the session's next memory_store resource. */
void memory_download_next(struct memory *m);

#endif
