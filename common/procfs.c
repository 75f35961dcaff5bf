/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

ssize_t
procfs_read(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[96];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int
procfs_each_pid(const char *path, int (*each)(pid_t pid, void *arg), void *arg)
{
	char buf[4096];
	long cur = -1;
	ssize_t n;
	int r = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (r == 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && r == 0; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
			} else if (cur >= 0) {
				r = each((pid_t)cur, arg);
				cur = -1;
			}
		}
	}
	if (r == 0 && cur >= 0)
		r = each((pid_t)cur, arg);
	close(fd);
	return r;
}

int
procfs_stat(pid_t pid, struct procfs_stat *st)
{
	char buf[1024];
	const char *paren;
	int parent;

	if (procfs_read(pid, "stat", buf, sizeof(buf)) <= 0)
		return -1;
	/* "pid (comm) state ppid pgrp ... starttime (the 22nd) ...": comm
	 * may hold anything, ')' too. */
	paren = strrchr(buf, ')');
	if (!paren || sscanf(paren + 1,
			     " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d"
			     " %*d %*d %llu",
			     &st->state, &parent, &st->start_time) != 3)
		return -1;
	st->ppid = (pid_t)parent;
	return 0;
}

int
procfs_is_dead(pid_t pid)
{
	struct procfs_stat st;

	return procfs_stat(pid, &st) < 0 || st.state == 'Z' || st.state == 'X' || st.state == 'x';
}
