/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

int
procfs_stat(pid_t pid, struct procfs_stat *st)
{
	char path[64];
	char buf[1024];
	const char *paren;
	ssize_t n;
	int parent;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
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
