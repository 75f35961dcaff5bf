/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "procfs.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

#ifdef HAVE_CGROUPS
/* Is `name` one of the comma-separated `list`? */
static int
list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	return 0;
}
#endif

int
cgroup_own_dir(const char *controller, char *out, size_t len)
{
#ifdef HAVE_CGROUPS
	char line[4096];
	char mount[300];
	char path[4096];
	struct stat st;
	int found = 0;
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f)
		return -ENOENT;
	/* "ID:CONTROLLERS:PATH"; v2 is "0::PATH". */
	while (!found && fgets(line, sizeof(line), f)) {
		char *a = strchr(line, ':');
		char *b = a ? strchr(a + 1, ':') : NULL;

		if (!b)
			continue;
		*b++ = '\0';
		b[strcspn(b, "\n")] = '\0';
		if (controller ? list_has(a + 1, controller) : a[1] == '\0') {
			snprintf(path, sizeof(path), "%s", strcmp(b, "/") == 0 ? "" : b);
			found = 1;
		}
	}
	fclose(f);
	if (!found)
		return -ENOENT;
	/* Mounted where we look: v1 has a tasks file, v2 cgroup.controllers. */
	snprintf(mount, sizeof(mount), "%s%s%s", CGROUP_ROOT, controller ? "/" : "",
		 controller ? controller : "");
	if ((size_t)snprintf(out, len, "%s/%s", mount,
			     controller ? "tasks" : "cgroup.controllers") >= len ||
	    stat(out, &st) < 0)
		return -ENOENT;
	if ((size_t)snprintf(out, len, "%s%s", mount, path) >= len)
		return -ENAMETOOLONG;
	return 0;
#else
	(void)controller;
	(void)out;
	(void)len;
	return -ENOSYS;
#endif
}

int
cgroup_write(const char *dir, const char *file, const char *text)
{
	char path[4096];
	size_t len = strlen(text);
	ssize_t n;
	int fd;
	int r = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	close(fd);
	return r;
}

/*
 * A write to cgroup.procs moves a whole process: the kernel takes its
 * global threadgroup lock for writing, which waits for an RCU grace period
 * unless another move came just before (7-20 ms on cgroup v1).  A thread
 * moving only itself ("0" to v1's tasks) skips that lock, and a child
 * between fork and exec has one thread: that moves the process.  v2 moves
 * a thread to another domain cgroup only with its process: cgroup.procs.
 */
char *
cgroup_join_file(const char *dir)
{
	size_t n = strlen(dir);
	char *path = malloc(n + sizeof("/cgroup.procs"));

	if (!path)
		return NULL;
	memcpy(path, dir, n);
	memcpy(path + n, "/tasks", sizeof("/tasks"));
	if (access(path, F_OK) < 0)
		memcpy(path + n, "/cgroup.procs", sizeof("/cgroup.procs"));
	return path;
}

int
cgroup_join(const char *file)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int r;

	if (fd < 0)
		return -errno;
	n = write(fd, "0", 1);
	r = n == 1 ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	return r;
}

int
cgroup_join_is_slow(const char *file)
{
	size_t n = strlen(file);

	return n >= sizeof("cgroup.procs") - 1 &&
	       strcmp(file + n - (sizeof("cgroup.procs") - 1), "cgroup.procs") == 0;
}

struct signal_listed {
	int sig;
	int live;
};

static int
signal_one(pid_t pid, void *arg)
{
	struct signal_listed *sl = arg;

	sl->live += !procfs_is_dead(pid) && kill(pid, sl->sig) == 0;
	return 0;
}

/* Send `sig` to each live process cgroup.procs lists (0: count them).
 * The number of live ones, or -errno. */
static int
signal_listed(const char *dir, int sig)
{
	struct signal_listed sl = { sig, 0 };
	char path[4096];
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	r = procfs_each_pid(path, signal_one, &sl);
	return r < 0 ? r : sl.live;
}

void
cgroup_remove_soon(struct cgroup_removals *rm, const char *dir)
{
	char **v;

	if (rmdir(dir) == 0 || errno == ENOENT)
		return;
	v = realloc(rm->dirs, (rm->n + 1) * sizeof(*v));
	if (!v)
		return;
	rm->dirs = v;
	v[rm->n] = strdup(dir);
	if (v[rm->n])
		rm->n++;
}

void
cgroup_removals_retry(struct cgroup_removals *rm)
{
	size_t keep = 0;

	for (size_t i = 0; i < rm->n; i++) {
		if (rmdir(rm->dirs[i]) == 0 || errno == ENOENT)
			free(rm->dirs[i]);
		else
			rm->dirs[keep++] = rm->dirs[i];
	}
	rm->n = keep;
}

void
cgroup_removals_release(struct cgroup_removals *rm)
{
	for (int i = 0; i < 10 && rm->n; i++) {
		cgroup_removals_retry(rm);
		if (rm->n)
			usleep(20000);
	}
	for (size_t i = 0; i < rm->n; i++)
		free(rm->dirs[i]);
	free(rm->dirs);
	rm->dirs = NULL;
	rm->n = 0;
}

/* Bound on the passes over a cgroup whose processes fork as they die. */
#define KILL_PASSES 64

int
cgroup_kill_all(const char *dir)
{
	int total;
	int n;

	total = signal_listed(dir, 0);
	if (total <= 0)
		return total;
	if (cgroup_write(dir, "cgroup.kill", "1") == 0)
		return total;
	total = 0;
	for (int pass = 0; pass < KILL_PASSES; pass++) {
		n = signal_listed(dir, SIGKILL);
		if (n <= 0)
			break;
		total += n;
	}
	return total;
}
