/* SPDX-License-Identifier: MIT */
/*
 * Per-session directories under --base-dir, and the sweep of those a killed
 * runner left behind.
 *
 * Each directory BASE/<session id>-<8 hex> has a lock file beside it,
 * BASE/<same name>.er-lock, that names the runner serving the session: the
 * id of its owner lock, BASE/.er-owner-<id>, which that runner holds with
 * flock(2) for as long as it lives (one descriptor for all its sessions,
 * not one each).  The lock goes away with the process, however it dies.
 * So at start a runner removes exactly the directories whose owner is gone
 * (its lock is free, or its file is): never a directory without a lock
 * file and never one a live runner sharing the base directory serves.  The
 * processes a gone runner left working in such a directory (a session's
 * background jobs) are killed first, and the owner files left by gone
 * runners go after their sessions.  A lock file is flock'd only while it
 * is made, taken back or swept; an empty one, as runners before the owner
 * lock left them, is in use while flock'd.  A kept directory
 * (--keep-session-dirs) loses its lock file when the session ends, so no
 * sweep touches it.
 */
#ifndef ER_SESSIONDIR_H
#define ER_SESSIONDIR_H

#define SESSIONDIR_LOCK_SUFFIX ".er-lock"
#define SESSIONDIR_OWNER_PREFIX ".er-owner-"
/* A sandbox that cannot give a command a private /tmp keeps the session's
 * temporary files beside its directory, BASE/<same name>.tmp (the landlock
 * backend does): removed and swept together with the directory. */
#define SESSIONDIR_TMP_SUFFIX ".tmp"

/* Create the directory (mode 0700, and BASE if missing) and its lock file
 * naming this process's owner lock in BASE (taken at its first use).
 * Characters of the session id other than [A-Za-z0-9_.-] become '_'.
 * On success *ret_path (caller frees); 0 or -errno. */
int sessiondir_create(const char *base, const char *session_id, char **ret_path);
/* Take back the directory a runner that is gone served a session in (a
 * resumed item, journal.h): name this process in its lock file and kill
 * the processes left working in it.  -EBUSY when a live runner serves it,
 * -ENOENT when it is gone; 0. */
int sessiondir_adopt(const char *path);
/* The session is over: remove the directory and its temporary directory
 * unless `keep`, and the lock file if it names this process.  0, or -errno
 * of the first failure. */
int sessiondir_release(const char *path, int keep);
/* Remove stale directories under `base`, and kill the processes left
 * working in them; *ret_removed and *ret_killed count them.  A missing base
 * is not an error. */
int sessiondir_sweep(const char *base, int *ret_removed, int *ret_killed);
/* Remove a directory tree without following symbolic links. */
int sessiondir_remove_tree(const char *path);

#endif
