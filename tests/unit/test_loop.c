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

/* Two pipes ready at once: whichever is served first closes the other and
 * watches a new, empty pipe, which takes the closed one's fd number.  The
 * event still pending for the closed pipe must not reach the new watch. */
struct swap {
	struct loop *loop;
	int p[2][2];
	struct loop_watch *watch[2];
	int fresh[2];
	struct loop_watch *fresh_watch;
	int served;
	int fresh_calls;
};

static void
fresh_ready(void *userdata, int fd, uint32_t revents)
{
	struct swap *sw = userdata;

	sw->fresh_calls++;
}

static void
swap_ready(void *userdata, int fd, uint32_t revents)
{
	struct swap *sw = userdata;
	int other = fd == sw->p[0][0] ? 1 : 0;

	sw->served++;
	loop_unwatch(sw->watch[0]);
	loop_unwatch(sw->watch[1]);
	close(sw->p[other][0]);
	assert_int_equal(pipe(sw->fresh), 0);
	assert_int_equal(sw->fresh[0], sw->p[other][0]);
	assert_int_equal(
		loop_watch_fd(sw->loop, sw->fresh[0], LOOP_READ, fresh_ready, sw, &sw->fresh_watch),
		0);
	sw->p[other][0] = -1;
}

static void
test_stale_event_skips_a_new_watch_of_the_same_fd(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct swap sw = { .loop = loop };

	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe(sw.p[i]), 0);
		assert_int_equal(write(sw.p[i][1], "x", 1), 1);
		assert_int_equal(
			loop_watch_fd(loop, sw.p[i][0], LOOP_READ, swap_ready, &sw, &sw.watch[i]),
			0);
	}
	assert_int_equal(loop_add_timer(loop, 50, quit_cb, loop, NULL), 0);
	assert_int_equal(loop_run(loop), 7);
	assert_int_equal(sw.served, 1);
	assert_int_equal(sw.fresh_calls, 0);
	loop_unwatch(sw.fresh_watch);
	for (int i = 0; i < 2; i++) {
		if (sw.p[i][0] >= 0)
			close(sw.p[i][0]);
		close(sw.p[i][1]);
		close(sw.fresh[i]);
	}
	loop_free(loop);
}

/* Interest changes: a watch with no events hears nothing, not even a
 * hang-up, until it asks again. */
static void
quit_on_ready(void *userdata, int fd, uint32_t revents)
{
	struct record *r = userdata;

	r->calls++;
	r->revents |= revents;
	loop_quit(r->loop, 0);
}

static void
ask_for_reads(void *userdata)
{
	assert_int_equal(loop_watch_set_events(userdata, LOOP_READ), 0);
}

static void
test_interest_changes(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct record r = { .loop = loop };
	struct loop_watch *w;
	int p[2];

	assert_int_equal(pipe(p), 0);
	close(p[1]);
	assert_int_equal(loop_watch_fd(loop, p[0], 0, quit_on_ready, &r, &w), 0);
	assert_int_equal(loop_add_timer(loop, 30, ask_for_reads, w, NULL), 0);
	assert_int_equal(loop_add_timer(loop, 5000, quit_cb, loop, NULL), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(r.calls, 1);
	assert_true(r.revents & LOOP_HUP);
	/* And back to nothing. */
	assert_int_equal(loop_watch_set_events(w, 0), 0);
	assert_int_equal(loop_add_timer(loop, 30, quit_cb, loop, NULL), 0);
	assert_int_equal(loop_run(loop), 7);
	assert_int_equal(r.calls, 1);
	loop_unwatch(w);
	close(p[0]);
	loop_free(loop);
}

/* One watch an fd: a second would split its events between two owners. */
static void
test_second_watch_of_an_fd_is_refused(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct loop_watch *w;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_watch_fd(loop, p[0], LOOP_READ, fd_ready, NULL, &w), 0);
	assert_int_equal(loop_watch_fd(loop, p[0], LOOP_READ, fd_ready, NULL, NULL), -EEXIST);
	/* Free again once unwatched. */
	loop_unwatch(w);
	assert_int_equal(loop_watch_fd(loop, p[0], LOOP_READ, fd_ready, NULL, NULL), 0);
	close(p[0]);
	close(p[1]);
	/* loop_free() removes the watches still there. */
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
		cmocka_unit_test(test_stale_event_skips_a_new_watch_of_the_same_fd),
		cmocka_unit_test(test_interest_changes),
		cmocka_unit_test(test_second_watch_of_an_fd_is_refused),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
