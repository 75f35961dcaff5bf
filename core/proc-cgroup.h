/* SPDX-License-Identifier: MIT */
/*
 * A cgroup for each process group the spawner runs, where one can be
 * made: every process a session starts stays in it whatever it does to its
 * environment, its process group or its working directory, so that the
 * group's end, and the next runner's start after a runner was killed
 * outright, find them all.  Under the runner's own cgroup, in the v1
 * `pids` hierarchy or else the unified v2 one:
 *
 *   OWN/environment-runner-PIDNS-PID-STARTTIME/GROUP
 *
 * The pid namespace, pid and start time name the runner for good: a
 * directory whose runner is gone is emptied and removed by the next runner
 * of that namespace.  Used for the commands
 * a sandbox backend does not place in a cgroup of its own (`none`), so
 * that no command pays for two cgroup moves.
 */
#ifndef ER_PROC_CGROUP_H
#define ER_PROC_CGROUP_H

#include <stddef.h>

struct proc_cgroups;

/* This runner's directory of group cgroups: 0, or -errno where none can
 * be made (not Linux, no cgroup file system, not ours to write). */
int proc_cgroups_open(struct proc_cgroups **ret);

/* The runner's directory of group cgroups. */
const char *proc_cgroups_dir(const struct proc_cgroups *pc);

/* Remove the directory and what is left in it (the groups' processes were
 * killed; those still exiting get a moment). */
void proc_cgroups_close(struct proc_cgroups *pc);

/* Empty and remove the directories of runners that are gone: the number
 * of processes killed. */
int proc_cgroups_sweep_stale(struct proc_cgroups *pc);

/* Make the cgroup of the group `name`, unless it exists, and put its
 * directory in `dir`.  0 or -errno. */
int proc_cgroup_make(struct proc_cgroups *pc, const char *name, char *dir, size_t len);

/* Remove the cgroup `dir` of a group whose processes were killed: now,
 * or, while they leave it, at a later make or close. */
void proc_cgroup_remove(struct proc_cgroups *pc, const char *dir);

#endif
