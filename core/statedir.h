/* SPDX-License-Identifier: MIT */
/*
 * The runner's state directory (--state-dir): the worker id it keeps when
 * none is given, so that a runner started again is the same worker, and
 * per worker id a directory of item records (journal.h), locked by the
 * runner serving as that worker:
 *
 *   STATE/worker-id
 *   STATE/workers/<sha256 of the worker id>/lock
 *   STATE/workers/<sha256 of the worker id>/items/<work id>.json
 *
 * The lock is an flock(2): it goes with the runner however it dies.  Two
 * runners never share a worker id's records: a second runner that finds
 * the kept worker id locked serves under a new id of its own; one given
 * a --worker-id another runner holds keeps no records.
 */
#ifndef ER_STATEDIR_H
#define ER_STATEDIR_H

struct statedir {
	char *items_dir; /* NULL: no records are kept */
	int lock_fd;
};

/* Choose the worker id (when `generated`, *worker_id is replaced by the
 * kept one, or kept as the new one) and lock its records.  Nothing here
 * stops the runner: a problem is logged and leaves items_dir NULL. */
void statedir_open(const char *dir, char **worker_id, int generated, struct statedir *ret);
void statedir_close(struct statedir *sd);
/* Call `fn` with the path of each record (its <work id>.json); with
 * `tidy` (only while holding the worker's lock), remove what removed
 * records left (journal_is_leftover).  0 or -errno. */
int statedir_each_record(const struct statedir *sd, int tidy,
			 void (*fn)(void *userdata, const char *path), void *userdata);

#endif
