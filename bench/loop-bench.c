/* SPDX-License-Identifier: MIT */
/*
 * The event loop alone: IDLE watched pipes that never become ready (a
 * runner's sessions between two calls: event streams, shells' pipes), and
 * one pair of pipes passing a byte back and forth through the loop ROUNDS
 * times.  Each hop is one loop iteration with one ready fd, so the cost of
 * an iteration is that of the loop, not of the work.  Built against a
 * given core/loop.c by bench/loop-profile.sh.
 *
 *   loop-bench IDLE ROUNDS     prints the CPU time it used, in µs
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "loop.h"

struct pingpong {
	struct loop *loop;
	int to_a[2];
	int to_b[2];
	long rounds;
};

static void
curl_done(CURL *easy, CURLcode result)
{
	(void)easy;
	(void)result;
}

static void
hop(void *userdata, int fd, uint32_t revents)
{
	struct pingpong *pp = userdata;
	char c;

	(void)revents;
	if (read(fd, &c, 1) != 1)
		return;
	if (fd == pp->to_a[0]) {
		if (--pp->rounds <= 0) {
			loop_quit(pp->loop, 0);
			return;
		}
		if (write(pp->to_b[1], &c, 1) != 1)
			loop_quit(pp->loop, 1);
	} else if (write(pp->to_a[1], &c, 1) != 1) {
		loop_quit(pp->loop, 1);
	}
}

static void
never(void *userdata, int fd, uint32_t revents)
{
	(void)userdata;
	(void)fd;
	(void)revents;
	abort();
}

int
main(int argc, char **argv)
{
	struct pingpong pp = { 0 };
	struct rusage ru;
	long idle;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: loop-bench IDLE ROUNDS\n");
		return 64;
	}
	idle = strtol(argv[1], NULL, 10);
	pp.rounds = strtol(argv[2], NULL, 10);
	pp.loop = loop_new(curl_done);
	if (!pp.loop || pipe(pp.to_a) < 0 || pipe(pp.to_b) < 0)
		return 1;
	for (long i = 0; i < idle; i++) {
		int p[2];

		/* The write ends stay open: the read ends never become ready. */
		if (pipe(p) < 0 || loop_watch_fd(pp.loop, p[0], LOOP_READ, never, NULL, NULL) < 0) {
			perror("loop-bench: idle pipes (raise ulimit -n)");
			return 1;
		}
	}
	if (loop_watch_fd(pp.loop, pp.to_a[0], LOOP_READ, hop, &pp, NULL) < 0 ||
	    loop_watch_fd(pp.loop, pp.to_b[0], LOOP_READ, hop, &pp, NULL) < 0 ||
	    write(pp.to_b[1], "x", 1) != 1)
		return 1;
	r = loop_run(pp.loop);
	getrusage(RUSAGE_SELF, &ru);
	printf("%ld\n", (long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L +
				(long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
	return r;
}
