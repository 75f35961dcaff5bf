/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "proc-cgroup.h"
#include "procfs.h"

#define RUNNER_PREFIX "environment-runner-"

struct proc_cgroups {
	char own[PATH_MAX];	     /* the runner's own cgroup */
	char dir[PATH_MAX];	     /* own/environment-runner-PIDNS-PID-STARTTIME */
	struct cgroup_removals left; /* group cgroups still being left */
};

/* Our pid namespace: a pid names a process only within one. */
static unsigned long long
pid_namespace(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* The name of this runner's directory: pid namespace, pid, start time. */
static int
runner_dir_name(char *out, size_t len)
{
	struct procfs_stat st;

	if (procfs_stat(getpid(), &st) < 0)
		return -ENOENT;
	if ((size_t)snprintf(out, len, RUNNER_PREFIX "%llu-%ld-%llu", pid_namespace(),
			     (long)getpid(), st.start_time) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int
proc_cgroups_open(struct proc_cgroups **ret)
{
	struct proc_cgroups *pc = calloc(1, sizeof(*pc));
	char name[96];
	int r;

	if (!pc)
		return -ENOMEM;
	r = cgroup_own_dir("pids", pc->own, sizeof(pc->own));
	if (r < 0)
		r = cgroup_own_dir(NULL, pc->own, sizeof(pc->own));
	if (r == 0)
		r = runner_dir_name(name, sizeof(name));
	if (r == 0 &&
	    (size_t)snprintf(pc->dir, sizeof(pc->dir), "%s/%s", pc->own, name) >= sizeof(pc->dir))
		r = -ENAMETOOLONG;
	if (r == 0 && mkdir(pc->dir, 0755) < 0 && errno != EEXIST)
		r = -errno;
	if (r < 0) {
		free(pc);
		return r;
	}
	*ret = pc;
	return 0;
}

const char *
proc_cgroups_dir(const struct proc_cgroups *pc)
{
	return pc->dir;
}

/* Kill what each cgroup under `dir` holds, and remove them and `dir`.
 * The number of processes killed. */
static int
empty_and_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int killed = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[PATH_MAX + 300];
		int n;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		n = cgroup_kill_all(path);
		killed += n > 0 ? n : 0;
		/* The killed leave as they exit: a moment, at start or at exit. */
		for (int i = 0; i < 10 && rmdir(path) < 0 && errno == EBUSY; i++)
			usleep(20000);
	}
	closedir(d);
	(void)rmdir(dir);
	return killed;
}

/* Is the runner that `name` (environment-runner-PIDNS-PID-STARTTIME)
 * names still running?  One of another pid namespace, which we cannot
 * see, is left alone. */
static int
runner_alive(const char *name)
{
	struct procfs_stat st;
	unsigned long long ns;
	unsigned long long start;
	long pid;
	char end;

	if (sscanf(name, RUNNER_PREFIX "%llu-%ld-%llu%c", &ns, &pid, &start, &end) != 3 ||
	    pid <= 0 || ns != pid_namespace())
		return 1;
	return procfs_stat((pid_t)pid, &st) == 0 && st.start_time == start;
}

int
proc_cgroups_sweep_stale(struct proc_cgroups *pc)
{
	DIR *d = opendir(pc->own);
	struct dirent *de;
	int killed = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[PATH_MAX + 300];

		if (strncmp(de->d_name, RUNNER_PREFIX, strlen(RUNNER_PREFIX)) != 0 ||
		    runner_alive(de->d_name))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", pc->own, de->d_name) <
		    sizeof(path))
			killed += empty_and_remove(path);
	}
	closedir(d);
	return killed;
}

int
proc_cgroup_make(struct proc_cgroups *pc, const char *name, char *dir, size_t len)
{
	cgroup_removals_retry(&pc->left);
	if ((size_t)snprintf(dir, len, "%s/%s", pc->dir, name) >= len)
		return -ENAMETOOLONG;
	/* Another runner's start-up sweep may have taken ours meanwhile. */
	if (mkdir(pc->dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

void
proc_cgroup_remove(struct proc_cgroups *pc, const char *dir)
{
	cgroup_remove_soon(&pc->left, dir);
}

void
proc_cgroups_close(struct proc_cgroups *pc)
{
	if (!pc)
		return;
	/* Killed processes leave their cgroup as they exit: a moment at most,
	 * once, at shutdown. */
	cgroup_removals_release(&pc->left);
	empty_and_remove(pc->dir);
	free(pc);
}
