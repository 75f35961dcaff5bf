/* SPDX-License-Identifier: MIT */
/* The API client against what a hostile network sends: ids that are dot
 * segments, header values that would inject headers, answers cut off after
 * their status line, Retry-After. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "api.h"
#include "http-header.h"
#include "http.h"
#include "loopback-server.h"

static void
test_path_segments(void **state)
{
	static const char *const bad[] = { "", ".", ".." };
	struct buf b = BUF_INIT(4096);

	(void)state;
	assert_int_equal(api_path(&b, "/v1/sessions/%s/events", "sesn_1 /?#%."), 0);
	assert_string_equal(b.data, "/v1/sessions/sesn_1%20%2F%3F%23%25./events");
	buf_release(&b);
	assert_int_equal(api_path(&b, "/v1/sessions/%s", "..."), 0);
	assert_string_equal(b.data, "/v1/sessions/...");
	buf_release(&b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(api_path(&b, "/v1/environments/env/work/%s/ack", bad[i]), -EINVAL);
		buf_release(&b);
		assert_int_equal(api_path(&b, "/v1/sessions/%s", bad[i]), -EINVAL);
		buf_release(&b);
	}
	/* A query value is no path segment. */
	assert_int_equal(api_path(&b, "/v1/sessions/%s/events?page=%s", "s", ".."), 0);
	assert_string_equal(b.data, "/v1/sessions/s/events?page=..");
	assert_int_equal(api_path(&b, "&next=%s", "."), 0);
	assert_string_equal(b.data, "/v1/sessions/s/events?page=..&next=.");
	buf_release(&b);
}

static void
test_header_values(void **state)
{
	(void)state;
	assert_true(http_header_value_valid("Bearer sk-ant-req-x"));
	assert_true(http_header_value_valid("caf\xc3\xa9 ~!"));
	assert_true(http_header_value_valid(""));
	assert_false(http_header_value_valid("sk-ant-req-x\r\nX-Injected: yes"));
	assert_false(http_header_value_valid("a\nb"));
	assert_false(http_header_value_valid("a\rb"));
	assert_false(http_header_value_valid("a\tb"));
	assert_false(http_header_value_valid("a\x7f"));
	assert_false(http_header_value_valid("\x01"));
}

/* An HTTP date `from_now` seconds away. */
static const char *
http_date(char *out, size_t size, long from_now)
{
	time_t t = time(NULL) + from_now;
	struct tm tm;

	assert_non_null(gmtime_r(&t, &tm));
	assert_true(strftime(out, size, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
	return out;
}

#define NO_DATE LONG_MIN

static void
test_retry_delay(void **state)
{
	static const struct {
		int retries_done;
		const char *retry_after_ms;
		const char *retry_after;
		long date_from_now; /* retry-after as an HTTP date, or NO_DATE */
		long min, max;
	} rows[] = {
		/* No server delay: 0.5 s doubling up to 8 s, less up to 25 %. */
		{ 0, NULL, NULL, NO_DATE, 375, 500 },
		{ 1, NULL, NULL, NO_DATE, 750, 1000 },
		{ 2, NULL, NULL, NO_DATE, 1500, 2000 },
		{ 3, NULL, NULL, NO_DATE, 3000, 4000 },
		{ 4, NULL, NULL, NO_DATE, 6000, 8000 },
		{ 30, NULL, NULL, NO_DATE, 6000, 8000 },
		/* retry-after-ms, whole; it wins over retry-after. */
		{ 0, "250", "3", NO_DATE, 250, 250 },
		{ 3, "30000", NULL, NO_DATE, 30000, 30000 },
		{ 0, "61000", NULL, NO_DATE, 61000, 61000 },
		{ 0, "2147483647", NULL, NO_DATE, 2147483647, 2147483647 },
		{ 0, " 1.5 ", NULL, NO_DATE, 2, 2 },
		{ 0, "0.2", NULL, NO_DATE, 1, 1 },
		/* 0 or not a number: retry-after decides. */
		{ 0, "0", "2", NO_DATE, 2000, 2000 },
		{ 0, "x", "1.5", NO_DATE, 1500, 1500 },
		{ 0, "", "2", NO_DATE, 2000, 2000 },
		{ 0, "12ms", "2", NO_DATE, 2000, 2000 },
		{ 0, "nan", "2", NO_DATE, 2000, 2000 },
		/* A negative number is a number: no retry-after, backoff. */
		{ 0, "-5", "2", NO_DATE, 375, 500 },
		/* Out of what one timer holds, or not positive: backoff. */
		{ 1, "2147483648", NULL, NO_DATE, 750, 1000 },
		{ 1, "1e300", NULL, NO_DATE, 750, 1000 },
		{ 1, "inf", NULL, NO_DATE, 750, 1000 },
		{ 1, "0", NULL, NO_DATE, 750, 1000 },
		/* retry-after in seconds. */
		{ 0, NULL, "3", NO_DATE, 3000, 3000 },
		{ 0, NULL, "600", NO_DATE, 600000, 600000 },
		{ 2, NULL, "0", NO_DATE, 1500, 2000 },
		{ 2, NULL, "-1", NO_DATE, 1500, 2000 },
		{ 2, NULL, "soon", NO_DATE, 1500, 2000 },
		{ 2, NULL, "3000000", NO_DATE, 1500, 2000 },
		/* retry-after as an HTTP date (whole seconds: the clock may tick). */
		{ 0, NULL, NULL, 30, 29000, 30000 },
		{ 0, NULL, NULL, 3600, 3599000, 3600000 },
		{ 2, NULL, NULL, -30, 1500, 2000 },
		{ 2, NULL, NULL, 40L * 24 * 3600, 1500, 2000 },
		{ 2, NULL, "Thu, 01 Jan 1970 00:00:00 GMT", NO_DATE, 1500, 2000 },
		{ 2, NULL, "Thu, 01 Jan 2970 00:00:00 GMT junk", NO_DATE, 1500, 2000 },
		{ 2, NULL, "Thu, 01 Jan 2970", NO_DATE, 1500, 2000 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char date[64];
		const char *retry_after = rows[i].retry_after;
		long got;

		if (rows[i].date_from_now != NO_DATE)
			retry_after = http_date(date, sizeof(date), rows[i].date_from_now);
		got = api_retry_delay_ms(rows[i].retries_done, rows[i].retry_after_ms, retry_after);
		if (got < rows[i].min || got > rows[i].max)
			fail_msg("row %zu (%d, %s, %s): %ld ms, not in [%ld, %ld]", i,
				 rows[i].retries_done,
				 rows[i].retry_after_ms ? rows[i].retry_after_ms : "-",
				 retry_after ? retry_after : "-", got, rows[i].min, rows[i].max);
	}
	/* The delay reported to callers is the server's alone, 0 for none. */
	assert_int_equal(api_server_delay_ms(NULL, NULL), 0);
	assert_int_equal(api_server_delay_ms("-5", "3"), 0);
	assert_int_equal(api_server_delay_ms(NULL, "3"), 3000);
}

/* ---- a server in a child process ------------------------------------------ */

/* Answer every connection with `response` (a string), then close it; a
 * byte to report_fd per request answered. */
static void
serve(int lfd, int report_fd, const void *arg)
{
	const char *response = arg;

	for (;;) {
		int c = accept(lfd, NULL, NULL);
		char buf[8192];
		size_t got = 0;

		if (c < 0)
			_exit(1);
		while (got < sizeof(buf) - 1) {
			ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		if (write(report_fd, "r", 1) != 1 ||
		    write(c, response, strlen(response)) != (ssize_t)strlen(response))
			_exit(1);
		close(c);
	}
}

/* Stop the server; the number of requests it answered. */
static int
server_stop(struct loopback_server *srv)
{
	char buf[64];
	int n = 0;
	ssize_t r;

	kill(srv->pid, SIGKILL);
	waitpid(srv->pid, NULL, 0);
	while ((r = read(srv->report_fd, buf, sizeof(buf))) > 0)
		n += (int)r;
	close(srv->report_fd);
	return n;
}

struct outcome {
	struct loop *loop;
	long status;
	char error[256];
	char message[64]; /* the error envelope's message */
	int had_doc;
	size_t body_len;
	int calls;
};

static void
call_done(void *userdata, const struct api_result *res)
{
	struct outcome *o = userdata;

	o->calls++;
	o->status = res->status;
	snprintf(o->error, sizeof(o->error), "%s",
		 res->transport_error ? res->transport_error : "");
	snprintf(o->message, sizeof(o->message), "%s",
		 res->error_message ? res->error_message : "");
	o->had_doc = res->doc != NULL;
	o->body_len = res->body_len;
	loop_quit(o->loop, 0);
}

static void
run_call(const struct loopback_server *srv, const struct api_request *r, struct outcome *o)
{
	char base[64];
	struct api *api;

	memset(o, 0, sizeof(*o));
	o->loop = loop_new(http_curl_done);
	assert_non_null(o->loop);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", srv->port);
	api = api_new(o->loop, base);
	assert_non_null(api);
	assert_int_equal(api_call(api, r, call_done, o, NULL), 0);
	assert_int_equal(loop_run(o->loop), 0);
	api_free(api);
	loop_free(o->loop);
}

static void
test_cut_after_status_is_retried(void **state)
{
	struct loopback_server srv;
	struct api_request r;
	struct outcome o;

	(void)state;
	loopback_server_start(&srv, serve,
			      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			      "Content-Length: 100\r\nConnection: close\r\n\r\n{\"id\":");
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = "/v1/environments/env/work/w/stop";
	r.token = "sk-ant-req-x";
	r.body = "{}";
	r.body_len = 2;
	r.max_retries = 1;
	run_call(&srv, &r, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.status, 0);
	assert_true(o.error[0] != '\0');
	assert_int_equal(server_stop(&srv), 2);
}

static void
test_whole_answer_is_not_retried(void **state)
{
	struct loopback_server srv;
	struct api_request r;
	struct outcome o;

	(void)state;
	loopback_server_start(&srv, serve,
			      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			      "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
	memset(&r, 0, sizeof(r));
	r.path = "/v1/sessions/s";
	r.max_retries = 1;
	run_call(&srv, &r, &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(server_stop(&srv), 1);
}

static void
test_unread_success_body(void **state)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "Content-Length: 11\r\nConnection: close\r\n\r\n{\"data\":[]}";
	static const char refused[] =
		"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
		"Content-Length: 57\r\nConnection: close\r\n\r\n"
		"{\"type\":\"error\",\"error\":{\"type\":\"x\",\"message\":\"too big\"}}";
	struct loopback_server srv;
	struct api_request r;
	struct outcome o;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.path = "/v1/sessions/s/events";
	r.body = "{}";
	r.body_len = 2;
	loopback_server_start(&srv, serve, ok);
	run_call(&srv, &r, &o);
	assert_int_equal(o.status, 200);
	assert_true(o.had_doc);
	assert_int_equal(o.body_len, 11);
	/* Not read: not parsed. */
	r.success_body_unread = 1;
	run_call(&srv, &r, &o);
	assert_int_equal(o.status, 200);
	assert_false(o.had_doc);
	assert_int_equal(o.body_len, 0);
	assert_int_equal(server_stop(&srv), 2);
	/* A refusal is read all the same. */
	loopback_server_start(&srv, serve, refused);
	run_call(&srv, &r, &o);
	assert_int_equal(o.status, 400);
	assert_true(o.had_doc);
	assert_string_equal(o.message, "too big");
	assert_int_equal(server_stop(&srv), 1);
}

static void
test_injecting_header_refused(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct api *api = api_new(loop, "http://127.0.0.1:9");
	struct api_request r;
	struct outcome o;

	(void)state;
	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	r.path = "/v1/sessions/s";
	r.token = "sk-ant-req-x\r\nX-Injected: yes";
	assert_int_equal(api_call(api, &r, call_done, &o, NULL), -EINVAL);
	r.token = "sk-ant-req-x";
	r.worker_id = "w\n";
	assert_int_equal(api_call(api, &r, call_done, &o, NULL), -EINVAL);
	assert_int_equal(o.calls, 0);
	api_free(api);
	loop_free(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_segments),
		cmocka_unit_test(test_header_values),
		cmocka_unit_test(test_retry_delay),
		cmocka_unit_test(test_cut_after_status_is_retried),
		cmocka_unit_test(test_whole_answer_is_not_retried),
		cmocka_unit_test(test_unread_success_body),
		cmocka_unit_test(test_injecting_header_refused),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
