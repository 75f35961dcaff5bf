/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "http.h"
#include "loop.h"

struct record {
	struct loop *loop;
	char order[16];
	int n;
	struct loop_timer *victim;
	uint32_t revents;
	int calls;
};

static void
quit_cb(void *userdata)
{
	loop_quit(userdata, 7);
}

static void
mark_a(void *userdata)
{
	struct record *r = userdata;

	r->order[r->n++] = 'a';
}

static void
mark_b(void *userdata)
{
	struct record *r = userdata;

	r->order[r->n++] = 'b';
}

static void
mark_c_and_cancel(void *userdata)
{
	struct record *r = userdata;

	r->order[r->n++] = 'c';
	loop_cancel_timer(r->victim);
}

static void
test_timers_run_in_order_and_cancel(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct record r = { .loop = loop };

	assert_non_null(loop);
	assert_int_equal(loop_add_timer(loop, 30, mark_b, &r, NULL), 0);
	assert_int_equal(loop_add_timer(loop, 10, mark_c_and_cancel, &r, NULL), 0);
	assert_int_equal(loop_add_timer(loop, 0, mark_a, &r, NULL), 0);
	/* Cancelled by 'c' before it is due. */
	assert_int_equal(loop_add_timer(loop, 20, mark_a, &r, &r.victim), 0);
	assert_int_equal(loop_add_timer(loop, 60, quit_cb, loop, NULL), 0);
	assert_int_equal(loop_run(loop), 7);
	assert_int_equal(r.n, 3);
	assert_memory_equal(r.order, "acb", 3);
	loop_free(loop);
}

static void
fd_ready(void *userdata, int fd, uint32_t revents)
{
	struct record *r = userdata;
	char buf[16];

	r->calls++;
	r->revents |= revents;
	/* EOF: stop watching, or the loop would report it forever. */
	if (read(fd, buf, sizeof(buf)) == 0)
		loop_quit(r->loop, 0);
}

static void
close_writer(void *userdata)
{
	close(*(int *)userdata);
}

static void
test_pipe_eof_is_reported(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct record r = { .loop = loop };
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_watch_fd(loop, p[0], LOOP_READ, fd_ready, &r, NULL), 0);
	assert_int_equal(loop_add_timer(loop, 20, close_writer, &p[1], NULL), 0);
	assert_int_equal(loop_add_timer(loop, 5000, quit_cb, loop, NULL), 0);
	/* Returns 0 from fd_ready at EOF, not 7 from the deadline. */
	assert_int_equal(loop_run(loop), 0);
	assert_true(r.calls >= 2);
	assert_true(r.revents & LOOP_HUP);
	close(p[0]);
	loop_free(loop);
}

static void
on_signal(void *userdata, int signo)
{
	struct record *r = userdata;

	r->calls = signo;
	loop_quit(r->loop, 0);
}

static void
raise_usr1(void *userdata)
{
	raise(SIGUSR1);
}

static void
test_signal_arrives_on_the_loop(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct record r = { .loop = loop };

	assert_int_equal(loop_on_signal(loop, SIGUSR1, on_signal, &r), 0);
	assert_int_equal(loop_add_timer(loop, 10, raise_usr1, NULL, NULL), 0);
	assert_int_equal(loop_add_timer(loop, 5000, quit_cb, loop, NULL), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, SIGUSR1);
	loop_free(loop);
}

static void
test_bad_arguments(void **state)
{
	struct loop *loop = loop_new(http_curl_done);

	assert_int_equal(loop_watch_fd(loop, -1, LOOP_READ, fd_ready, NULL, NULL), -EINVAL);
	assert_int_equal(loop_add_timer(loop, 1, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(loop_on_signal(loop, 0, on_signal, NULL), -EINVAL);
	loop_cancel_timer(NULL);
	loop_unwatch(NULL);
	loop_free(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_run_in_order_and_cancel),
		cmocka_unit_test(test_pipe_eof_is_reported),
		cmocka_unit_test(test_signal_arrives_on_the_loop),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
