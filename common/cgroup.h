/* SPDX-License-Identifier: MIT */
/*
 * The cgroup file system as the runner uses it: where this process's own
 * cgroup is, writing a control file, joining a cgroup, and killing every
 * process of a cgroup.  Linux only; elsewhere each call fails (-ENOENT, -ENOSYS).
 */
#ifndef ER_CGROUP_H
#define ER_CGROUP_H

#include <stddef.h>

/* The directory of this process's cgroup in the v1 hierarchy of
 * `controller` ("memory", "pids"), or in the unified v2 hierarchy when
 * `controller` is NULL: /sys/fs/cgroup/CONTROLLER/PATH or
 * /sys/fs/cgroup/PATH, without a trailing slash.  0, -ENOENT when that
 * hierarchy is not mounted there or not listed in /proc/self/cgroup,
 * -ENAMETOOLONG. */
int cgroup_own_dir(const char *controller, char *out, size_t len);

/* Write `text` to the control file `dir`/`file`.  0 or -errno. */
int cgroup_write(const char *dir, const char *file, const char *text);

/* The control file through which a process joins the cgroup `dir` with
 * cgroup_join(): `dir`/tasks on cgroup v1, `dir`/cgroup.procs on v2.
 * Allocated; NULL when out of memory. */
char *cgroup_join_file(const char *dir);

/* Move the calling process into the cgroup whose cgroup_join_file() is
 * `file`.  For a child between fork and exec, which has one thread:
 * async-signal-safe, allocates nothing.  0 or -errno. */
int cgroup_join(const char *file);
/* Whether a cgroup_join() through `file` waits for the kernel's grace
 * period (cgroup.procs: the whole process moves). */
int cgroup_join_is_slow(const char *file);

/* SIGKILL every process of the cgroup `dir` (cgroup.kill where the kernel
 * has it, else each pid of cgroup.procs, read again until it is empty or
 * holds only processes that are exiting).  The number of processes
 * signalled, or -errno when `dir` cannot be read. */
int cgroup_kill_all(const char *dir);

/* Cgroups to remove once their processes, killed, have left them: rmdir
 * refuses a cgroup until then. */
struct cgroup_removals {
	char **dirs;
	size_t n;
};

/* Remove `dir` now, or remember it for a later cgroup_removals_retry(). */
void cgroup_remove_soon(struct cgroup_removals *rm, const char *dir);
/* Remove the remembered cgroups that are empty now. */
void cgroup_removals_retry(struct cgroup_removals *rm);
/* At exit: retry for a moment (about 200 ms at most), then forget the
 * rest. */
void cgroup_removals_release(struct cgroup_removals *rm);

#endif
