/* SPDX-License-Identifier: MIT */
/*
 * The disk a session's directory takes (--sandbox-max-disk-mb): measured
 * every DISKUSE_INTERVAL_MS on a thread of its own, since walking a large
 * tree must not hold up the event loop, and reported once when it passes
 * the bound.  RLIMIT_FSIZE bounds one file; this bounds them all, up to
 * what a session can write between two measurements.
 */
#ifndef ER_DISKUSE_H
#define ER_DISKUSE_H

#include <stdint.h>

#include "loop.h"

#define DISKUSE_INTERVAL_MS 1000u

struct diskuse;

/* `used`: bytes of disk (allocated blocks) under the directory. */
typedef void (*diskuse_over_cb)(void *userdata, uint64_t used);

/* Watch `dir` (copied); `over` runs on the loop at most once.  NULL when
 * out of memory. */
struct diskuse *diskuse_watch(struct loop *loop, const char *dir, uint64_t limit,
			      diskuse_over_cb over, void *userdata);
/* Stop watching; a measurement still running finishes on its own and is
 * dropped.  Accepts NULL. */
void diskuse_free(struct diskuse *d);

/* The walk itself (blocking): bytes of disk under `dir` and under the
 * sandbox's temporary directory beside it, if any (sessiondir.h), not
 * following links nor leaving their file system; 0 or -errno. */
int diskuse_measure(const char *dir, uint64_t *ret);

#endif
