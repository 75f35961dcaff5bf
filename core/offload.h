/* SPDX-License-Identifier: MIT */
/*
 * Blocking work off the event loop: a function runs on a thread of its own
 * (one kept from an earlier job when one waits, else a new one; a thread
 * left without work ends after 30 s) and its completion is delivered on
 * the loop.  For what may take long on a
 * busy disk (walking a session's tree, fsync), which the one loop serving
 * every session must never wait for.
 */
#ifndef ER_OFFLOAD_H
#define ER_OFFLOAD_H

#include "loop.h"

struct offload;

/* Runs on the thread: no loop calls, no shared state but `arg`. */
typedef void (*offload_work_fn)(void *arg);
/* Runs on the loop once `work` returned, unless cancelled first. */
typedef void (*offload_done_fn)(void *userdata, void *arg);

/* Start `work(arg)`; `done(userdata, arg)` follows on the loop.  `free_arg`
 * frees `arg` once both sides are through with it (also after a cancel).
 * 0 or -errno (then nothing runs and `arg` is the caller's). */
int offload_run(struct loop *loop, offload_work_fn work, offload_done_fn done,
		void (*free_arg)(void *arg), void *arg, void *userdata, struct offload **ret);
/* `done` will not be called; the work finishes on its own.  Accepts NULL. */
void offload_cancel(struct offload *o);

#endif
