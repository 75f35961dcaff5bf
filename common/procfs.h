/* SPDX-License-Identifier: MIT */
/*
 * What /proc says of a process: its state and its parent.  Linux only;
 * elsewhere a process reads as gone.
 */
#ifndef ER_PROCFS_H
#define ER_PROCFS_H

#include <sys/types.h>

/* Read /proc/PID/FILE ("environ", "cmdline"...) into `buf`, at most
 * len - 1 bytes, NUL-terminated: the number read, or -1 when it cannot be
 * opened or read. */
ssize_t procfs_read(pid_t pid, const char *file, char *buf, size_t len);

/* Call `each` for every pid the file `path` lists, separated by white
 * space (/proc/PID/task/TID/children, a cgroup's cgroup.procs), read in
 * pieces: a list may hold thousands.  0, -errno when the file cannot be
 * opened, or what `each` returned when it returned other than 0 (then it
 * is not called again). */
int procfs_each_pid(const char *path, int (*each)(pid_t pid, void *arg), void *arg);

struct procfs_stat {
	char state;		       /* R, S, D, T, Z, X... */
	pid_t ppid;		       /* its parent */
	unsigned long long start_time; /* since boot, in clock ticks: with the
					* pid, names one process for good */
};

/* What /proc/PID/stat says of `pid`: 0, or -1 when it is gone (or /proc is
 * not there). */
int procfs_stat(pid_t pid, struct procfs_stat *st);

/* Is `pid` gone, a zombie or dying?  Such a process still shows in /proc
 * and in its cgroup for a moment, with an empty environment. */
int procfs_is_dead(pid_t pid);

#endif
