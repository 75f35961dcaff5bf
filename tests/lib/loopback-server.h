/* SPDX-License-Identifier: MIT */
/*
 * An HTTP server for unit tests: a loopback port served by a child
 * process, which tells the test what it did through a pipe.
 */
#ifndef ER_TEST_LOOPBACK_SERVER_H
#define ER_TEST_LOOPBACK_SERVER_H

#include <sys/types.h>

struct loopback_server {
	pid_t pid;
	int port;
	int report_fd; /* the read end of the child's reports */
};

/* Runs in the child, never returns: accepts on `lfd`, reports on
 * `report_fd`. */
typedef void (*loopback_serve_fn)(int lfd, int report_fd, const void *arg);

/* Listen on a free loopback port and fork `serve(lfd, report_fd, arg)`;
 * a failure fails the test. */
void loopback_server_start(struct loopback_server *srv, loopback_serve_fn serve, const void *arg);

#endif
