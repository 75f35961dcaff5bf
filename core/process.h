/* SPDX-License-Identifier: MIT */
/*
 * Process supervision.  Every process the runner starts for a session runs
 * in a process group of its own and carries the session's tracking id in
 * its environment, so that when the session ends nothing it started
 * survives: the runner kills each group and, on Linux, also every process
 * that still carries the id after leaving its group (a daemonised
 * grandchild), which the runner, a child subreaper, then reaps.
 */
#ifndef ER_PROCESS_H
#define ER_PROCESS_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "loop.h"

#define SPAWN_TRACKING_VAR "ENVIRONMENT_RUNNER_TRACKING_ID"

struct spawner;
struct proc;
struct proc_group; /* the processes of one session */

typedef void (*proc_exit_cb)(void *userdata, struct proc *proc, int status);

/* An rlimit the child sets before exec. */
struct spawn_rlimit {
	int resource; /* RLIMIT_* */
	rlim_t soft;
	rlim_t hard;
};

struct spawn_spec {
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int pipe_stdin;
	int pipe_stdout;
	int pipe_stderr;
	const int *pass_fds;
	int n_pass_fds;
	/* Applied in the child after the fds and the cwd, in this order; any
	 * failure is reported like an exec failure.  All optional. */
	const char *cgroup_join; /* a cgroup_join_file(): the child joins it */
	const struct spawn_rlimit *rlimits;
	int n_rlimits;
	int set_ids; /* setgroups(0, NULL), setgid(gid), setuid(uid) */
	uid_t uid;
	gid_t gid;
};

struct spawner *spawner_new(struct loop *loop);
/* Kills and reaps nothing: call proc_group_kill on every group first. */
void spawner_free(struct spawner *sp);

struct proc_group *proc_group_new(struct spawner *sp);
/* The group's commands hand work off (--on-work): what they start and
 * detach from themselves, without the tracking id, is not the group's, so
 * the group gets no cgroup of its own.  Before its first command. */
void proc_group_hand_off(struct proc_group *g);
const char *proc_group_tracking_id(const struct proc_group *g);
/* SIGKILL every process of the group, including escaped ones (Linux). */
void proc_group_kill(struct proc_group *g);
/* Number of the group's processes not yet reaped. */
int proc_group_live(const struct proc_group *g);
/* Call `cb` whenever the group's last live process has been reaped, from
 * the loop; NULL stops it.  Not called once the group is freed. */
void proc_group_on_empty(struct proc_group *g, void (*cb)(void *userdata), void *userdata);
/* Kill, then forget the group (processes are reaped in the background). */
void proc_group_free(struct proc_group *g);

/* Start a process.  Pipe ends are returned non-blocking and close-on-exec
 * (-1 when not piped); the caller owns and closes them.  An exec failure is
 * reported here, synchronously, with `err` describing it. */
int proc_spawn(struct proc_group *g, const struct spawn_spec *spec, proc_exit_cb on_exit,
	       void *userdata, int ret_fds[3], struct proc **ret_proc, char *err, size_t errlen);
pid_t proc_pid(const struct proc *p);
/* Signal the process's group (and, for SIGKILL, its escaped descendants). */
int proc_kill(struct proc *p, int sig);
/* No exit callback from now on; kills the process if it still runs. */
void proc_release(struct proc *p);

/* Processes on this host still carrying `tracking_id` (Linux; 0 elsewhere). */
int spawn_count_tracked(const char *tracking_id);
/* SIGKILL what the groups' cgroups of runners that are gone still hold
 * (core/proc-cgroup.h), and remove those cgroups: the number killed. */
int spawner_sweep_stale(struct spawner *sp);
/* The directory of the groups' cgroups, or NULL where none can be made. */
const char *spawner_cgroup_dir(const struct spawner *sp);
/* Does a group's end find its processes whatever they did to their
 * environment?  By a search of our descendants (Linux: we are their
 * subreaper) or by the group's cgroup; elsewhere only the processes that
 * kept the tracking id are found. */
int spawner_finds_every_process(const struct spawner *sp);
/* SIGKILL the processes that carry a tracking id, any, and work in `dir` or
 * below: left behind by a runner killed before it could end its sessions
 * (Linux; 0 elsewhere).  Only for a directory no live runner serves.  Their
 * number. */
int spawn_kill_left_behind(const char *dir);

#endif
