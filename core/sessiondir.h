/* SPDX-License-Identifier: MIT */
/*
 * Per-session directories under --base-dir, and the sweep of those a killed
 * runner left behind.
 *
 * Each directory BASE/<session id>-<8 hex> has a lock file beside it,
 * BASE/<same name>.er-lock, which the runner serving the session holds
 * with flock(2) for as long as the directory is in use.  The lock goes away
 * with the process, however it dies.  So at start a runner removes exactly
 * the directories whose lock file it can lock: created by a runner (the
 * lock file says so) that is gone (the lock is free), never a directory
 * without a lock file and never one a live runner sharing the base
 * directory holds.  The processes a gone runner left working in such a
 * directory (a session's background jobs) are killed first.  A kept
 * directory (--keep-session-dirs) loses its lock file when the session
 * ends, so no sweep touches it.
 */
#ifndef ER_SESSIONDIR_H
#define ER_SESSIONDIR_H

#define SESSIONDIR_LOCK_SUFFIX ".er-lock"
/* A sandbox that cannot give a command a private /tmp keeps the session's
 * temporary files beside its directory, BASE/<same name>.tmp (the landlock
 * backend does): removed and swept together with the directory. */
#define SESSIONDIR_TMP_SUFFIX ".tmp"

/* Create the directory (mode 0700, and BASE if missing) and its held lock.
 * Characters of the session id other than [A-Za-z0-9_.-] become '_'.
 * On success *ret_path (caller frees) and *ret_lock_fd; 0 or -errno. */
int sessiondir_create(const char *base, const char *session_id, char **ret_path, int *ret_lock_fd);
/* Take back the directory a runner that is gone served a session in (a
 * resumed item, journal.h): lock it again and kill the processes left
 * working in it.  -EBUSY when a live runner holds it, -ENOENT when it is
 * gone; 0 with *ret_lock_fd. */
int sessiondir_adopt(const char *path, int *ret_lock_fd);
/* The session is over: remove the directory and its temporary directory
 * unless `keep`, remove the lock file, close the lock.  0, or -errno of the first failure. */
int sessiondir_release(const char *path, int lock_fd, int keep);
/* Remove stale directories under `base`, and kill the processes left
 * working in them; *ret_removed and *ret_killed count them.  A missing base
 * is not an error. */
int sessiondir_sweep(const char *base, int *ret_removed, int *ret_killed);
/* Remove a directory tree without following symbolic links. */
int sessiondir_remove_tree(const char *path);

#endif
