/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "http.h"
#include "loop.h"
#include "loopback-server.h"

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

/* ---- spare easy handles ---------------------------------------------- */

/* A finished request's handle serves the next request, never a stream, and
 * a stream's is never kept: libcurl keeps a handle's buffers at their old
 * sizes across curl_easy_reset(). */
static void
test_spare_handles_serve_requests_only(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	CURL *request, *stream, *again;

	(void)state;
	assert_non_null(loop);
	request = loop_easy_take(loop, LOOP_TRANSFER_REQUESTS);
	assert_non_null(request);
	loop_easy_give(loop, LOOP_TRANSFER_REQUESTS, request);
	/* The spare request handle is still kept, so a new one cannot share
	 * its address. */
	stream = loop_easy_take(loop, LOOP_TRANSFER_STREAMS);
	assert_non_null(stream);
	assert_ptr_not_equal(stream, request);
	loop_easy_give(loop, LOOP_TRANSFER_STREAMS, stream);
	/* The stream's handle was not kept: the spare is still the request's. */
	again = loop_easy_take(loop, LOOP_TRANSFER_REQUESTS);
	assert_ptr_equal(again, request);
	loop_easy_give(loop, LOOP_TRANSFER_REQUESTS, again);
	loop_free(loop);
}

/* ---- curl's connections between requests ------------------------------- */

/* A keep-alive server in a child process: two answers a connection, then,
 * once the client has let the connection rest, it closes it.  One byte to
 * report_fd per connection accepted ('a') and per answer ('r'). */
static void
serve_two_then_close(int lfd, int report_fd, const void *arg)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c < 0 || write(report_fd, "a", 1) != 1)
			_exit(1);
		for (int answered = 0; answered < 2;) {
			char buf[4096];
			ssize_t n = read(c, buf, sizeof(buf) - 1);

			if (n <= 0)
				break;
			buf[n] = '\0';
			if (!strstr(buf, "\r\n\r\n"))
				continue; /* the test's requests fit one read */
			if (write(report_fd, "r", 1) != 1 ||
			    write(c, answer, sizeof(answer) - 1) != (ssize_t)sizeof(answer) - 1)
				_exit(1);
			answered++;
		}
		usleep(50 * 1000);
		close(c);
	}
}

struct fetch {
	struct loop *loop;
	long status;
};

static void
fetched(void *userdata, const struct http_response *resp)
{
	struct fetch *f = userdata;

	f->status = resp->status;
	loop_quit(f->loop, 0);
}

static long
fetch(struct loop *loop, const char *url)
{
	struct fetch f = { loop, 0 };
	struct http_options o = {
		.method = "GET", .url = url, .timeout_ms = 5000, .on_done = fetched, .userdata = &f
	};

	assert_int_equal(http_request_start(loop, &o, NULL), 0);
	assert_int_equal(loop_run(loop), 0);
	return f.status;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* Between requests a connection's socket stays watched for the next one
 * (loop.c, curl_socket_cb).  The server closing it meanwhile neither keeps
 * the loop busy (the closed socket would be reported at every turn) nor
 * stands in the way of the next request, which connects again. */
static void
test_a_connection_closed_between_requests(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	char url[64], seen[16];
	struct loopback_server srv;
	double cpu;
	ssize_t n;

	assert_non_null(loop);
	loopback_server_start(&srv, serve_two_then_close, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv.port);

	assert_int_equal(fetch(loop, url), 200);
	assert_int_equal(fetch(loop, url), 200); /* the same connection */
	/* The server closes it while it rests. */
	cpu = cpu_seconds();
	assert_int_equal(loop_add_timer(loop, 300, quit_cb, loop, NULL), 0);
	assert_int_equal(loop_run(loop), 7);
	assert_true(cpu_seconds() - cpu < 0.15);
	assert_int_equal(fetch(loop, url), 200);

	kill(srv.pid, SIGKILL);
	waitpid(srv.pid, NULL, 0);
	n = read(srv.report_fd, seen, sizeof(seen) - 1);
	assert_true(n > 0);
	seen[n] = '\0';
	assert_string_equal(seen, "arrar");
	close(srv.report_fd);
	loop_free(loop);
}

/* ---- short requests take turns ------------------------------------------ */

/* A server that answers each connection in a child of its own after 200 ms
 * and closes it; one byte to report_fd as each opens ('o') and closes
 * ('c'). */
static void
serve_slowly(int lfd, int report_fd, const void *arg)
{
	static const char answer[] =
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		char buf[4096];

		if (c < 0)
			_exit(1);
		if (fork() != 0) {
			close(c);
			continue;
		}
		if (write(report_fd, "o", 1) != 1 || read(c, buf, sizeof(buf)) <= 0)
			_exit(1);
		usleep(200 * 1000);
		if (write(report_fd, "c", 1) != 1 ||
		    write(c, answer, sizeof(answer) - 1) != (ssize_t)sizeof(answer) - 1)
			_exit(1);
		_exit(0);
	}
}

struct turn {
	struct loop *loop;
	int *done_order;
	int *n_done;
	int id;
	long status;
};

static void
turn_done(void *userdata, const struct http_response *resp)
{
	struct turn *t = userdata;

	t->status = resp->status;
	t->done_order[(*t->n_done)++] = t->id;
	if (*t->n_done == 4)
		loop_quit(t->loop, 0);
}

/* With a cap of 2, five requests: two start, two wait, of which one is
 * cancelled without a trace, and an urgent one starts at once.  Each
 * waits 200 ms for its answer within a 300 ms timeout, which the wait for
 * its turn does not count against. */
static void
test_requests_take_turns(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct http_request *req[5];
	struct turn t[5];
	struct loopback_server srv;
	int order[5], n_done = 0, open = 0, most = 0;
	char url[64], seen[32];
	ssize_t n;

	assert_non_null(loop);
	loopback_server_start(&srv, serve_slowly, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", srv.port);

	http_cap_requests(2);
	for (int i = 0; i < 5; i++) {
		struct http_options o = { .method = "GET",
					  .url = url,
					  .timeout_ms = 300,
					  .on_done = turn_done,
					  .urgent = i == 4,
					  .userdata = &t[i] };

		t[i] = (struct turn){ loop, order, &n_done, i, 0 };
		assert_int_equal(http_request_start(loop, &o, &req[i]), 0);
	}
	http_request_cancel(req[3]);
	assert_int_equal(loop_run(loop), 0);
	http_cap_requests(0);

	/* The one that waited ended last. */
	assert_int_equal(n_done, 4);
	assert_int_equal(order[3], 2);
	for (int i = 0; i < 5; i++)
		assert_int_equal(t[i].status, i == 3 ? 0 : 200);
	kill(srv.pid, SIGKILL);
	waitpid(srv.pid, NULL, 0);
	n = read(srv.report_fd, seen, sizeof(seen) - 1);
	assert_true(n > 0);
	seen[n] = '\0';
	for (ssize_t i = 0; i < n; i++) {
		open += seen[i] == 'o' ? 1 : -1;
		most = open > most ? open : most;
	}
	/* Two short ones and the urgent one at once, never a third short. */
	assert_int_equal(most, 3);
	assert_int_equal(n, 8);
	close(srv.report_fd);
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
		cmocka_unit_test(test_spare_handles_serve_requests_only),
		cmocka_unit_test(test_a_connection_closed_between_requests),
		cmocka_unit_test(test_requests_take_turns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
