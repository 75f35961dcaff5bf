/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "nbio.h"

static void
nonblocking_pipe(int p[2])
{
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
}

static int
collect(void *userdata, const char *data, size_t len)
{
	return buf_append(userdata, data, len);
}

static void
test_drain_until_would_block_then_eof(void **state)
{
	struct buf got = BUF_INIT(100);
	int p[2];

	nonblocking_pipe(p);
	assert_int_equal(nbio_drain(p[0], collect, &got), 0);
	assert_int_equal(got.len, 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	assert_int_equal(nbio_drain(p[0], collect, &got), 0);
	assert_string_equal(got.data, "hello");
	assert_int_equal(write(p[1], " world", 6), 6);
	close(p[1]);
	/* A short read ends the drain: end of file comes on the next one. */
	assert_int_equal(nbio_drain(p[0], collect, &got), 0);
	assert_string_equal(got.data, "hello world");
	assert_int_equal(nbio_drain(p[0], collect, &got), 1);
	assert_string_equal(got.data, "hello world");
	close(p[0]);
	buf_release(&got);
}

static int
count(void *userdata, const char *data, size_t len)
{
	*(size_t *)userdata += len;
	return 0;
}

/* A regular file never would block: the drain still returns to the loop. */
static void
test_drain_is_bounded(void **state)
{
	static char mib[1u << 20];
	FILE *f = tmpfile();
	size_t got = 0;

	assert_non_null(f);
	assert_int_equal(fwrite(mib, 1, sizeof(mib), f), sizeof(mib));
	assert_int_equal(fwrite(mib, 1, sizeof(mib), f), sizeof(mib));
	assert_int_equal(fflush(f), 0);
	rewind(f);
	assert_int_equal(nbio_drain(fileno(f), count, &got), 0);
	assert_true(got >= sizeof(mib) / 2 && got < 2 * sizeof(mib));
	while (nbio_drain(fileno(f), count, &got) == 0)
		;
	assert_int_equal(got, 2 * sizeof(mib));
	fclose(f);
}

static void
test_read_all(void **state)
{
	struct buf got = BUF_INIT(5);
	FILE *f = tmpfile();
	int p[2];

	assert_non_null(f);
	assert_true(fputs("hello", f) >= 0);
	assert_int_equal(fflush(f), 0);
	rewind(f);
	assert_int_equal(nbio_read_all(fileno(f), nbio_buf_append, &got), 0);
	assert_string_equal(got.data, "hello");
	rewind(f);
	assert_int_equal(nbio_read_all(fileno(f), nbio_buf_append, &got), -ENOSPC);
	fclose(f);

	nonblocking_pipe(p);
	buf_reset(&got);
	assert_int_equal(write(p[1], "ab", 2), 2);
	assert_int_equal(nbio_read_all(p[0], nbio_buf_append, &got), -EAGAIN);
	assert_string_equal(got.data, "ab");
	close(p[1]);
	assert_int_equal(nbio_read_all(p[0], nbio_buf_append, &got), 0);
	close(p[0]);
	buf_release(&got);
}

static int
refuse(void *userdata, const char *data, size_t len)
{
	++*(int *)userdata;
	return -ECANCELED;
}

static void
test_drain_stops_on_callback_error(void **state)
{
	int calls = 0;
	int p[2];

	nonblocking_pipe(p);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(nbio_drain(p[0], refuse, &calls), -ECANCELED);
	assert_int_equal(calls, 1);
	assert_int_equal(nbio_drain(-1, refuse, &calls), -EBADF);
	close(p[0]);
	close(p[1]);
}

static void
test_flush_until_would_block(void **state)
{
	size_t big = 1u << 20; /* more than any pipe buffer */
	char *data = calloc(1, big);
	struct buf got = BUF_INIT(big);
	size_t off = 0;
	int p[2];

	assert_non_null(data);
	nonblocking_pipe(p);
	assert_int_equal(nbio_flush(p[1], data, big, &off), 0);
	assert_true(off > 0 && off < big);
	while (off < big) {
		assert_true(nbio_drain(p[0], collect, &got) == 0);
		assert_true(nbio_flush(p[1], data, big, &off) >= 0);
	}
	assert_int_equal(nbio_flush(p[1], data, big, &off), 1);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN); /* as the runner does */
	assert_int_equal(nbio_flush(p[1], "x", 1, &(size_t){ 0 }), -EPIPE);
	close(p[1]);
	free(data);
	buf_release(&got);
}

static void
test_write_all(void **state)
{
	FILE *f = tmpfile();
	char back[8] = "";
	int p[2];

	assert_non_null(f);
	assert_int_equal(nbio_write_all(fileno(f), "abc", 3), 0);
	assert_int_equal(nbio_write_all(fileno(f), "", 0), 0);
	assert_int_equal(pread(fileno(f), back, sizeof(back), 0), 3);
	assert_string_equal(back, "abc");
	fclose(f);
	assert_int_equal(nbio_write_all(-1, "x", 1), -EBADF);

	nonblocking_pipe(p);
	for (int r = 0; r == 0;)
		r = nbio_write_all(p[1], back, sizeof(back));
	assert_int_equal(nbio_write_all(p[1], back, sizeof(back)), -EAGAIN);
	close(p[0]);
	close(p[1]);
}

static int
record_line(void *userdata, const char *line, size_t len, int partial)
{
	struct buf *log = userdata;

	assert_int_equal(strlen(line), len);
	return buf_printf(log, "[%s%s]", line, partial ? "+" : "");
}

static void
test_lines_split_and_cap(void **state)
{
	struct buf log = BUF_INIT(1000);
	struct nbio_lines l;

	nbio_lines_init(&l, 4, record_line, &log);
	assert_int_equal(nbio_lines_feed(&l, "ab\n\ncd", 6), 0);
	assert_string_equal(log.data, "[ab][]");
	assert_int_equal(nbio_lines_feed(&l, "e\nabcd\nabcdefghij", 17), 0);
	assert_string_equal(log.data, "[ab][][cde][abcd][abcd+][efgh+]");
	assert_int_equal(nbio_lines_end(&l), 0);
	assert_string_equal(log.data, "[ab][][cde][abcd][abcd+][efgh+][ij]");
	assert_int_equal(nbio_lines_end(&l), 0);
	assert_string_equal(log.data, "[ab][][cde][abcd][abcd+][efgh+][ij]");
	nbio_lines_release(&l);
	buf_release(&log);
}

static int
stop_at_first(void *userdata, const char *line, size_t len, int partial)
{
	++*(int *)userdata;
	return -ECANCELED;
}

static void
test_lines_through_drain(void **state)
{
	struct buf log = BUF_INIT(1000);
	struct nbio_lines l;
	int calls = 0;
	int p[2];

	nonblocking_pipe(p);
	nbio_lines_init(&l, 64, record_line, &log);
	assert_int_equal(write(p[1], "one\ntwo\nthr", 11), 11);
	assert_int_equal(nbio_drain(p[0], nbio_lines_feed, &l), 0);
	assert_string_equal(log.data, "[one][two]");
	assert_int_equal(write(p[1], "ee", 2), 2);
	close(p[1]);
	assert_int_equal(nbio_drain(p[0], nbio_lines_feed, &l), 0);
	assert_int_equal(nbio_drain(p[0], nbio_lines_feed, &l), 1);
	assert_int_equal(nbio_lines_end(&l), 0);
	assert_string_equal(log.data, "[one][two][three]");
	nbio_lines_release(&l);
	close(p[0]);

	nonblocking_pipe(p);
	nbio_lines_init(&l, 64, stop_at_first, &calls);
	assert_int_equal(write(p[1], "a\nb\n", 4), 4);
	assert_int_equal(nbio_drain(p[0], nbio_lines_feed, &l), -ECANCELED);
	assert_int_equal(calls, 1);
	nbio_lines_release(&l);
	close(p[0]);
	close(p[1]);
	buf_release(&log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain_until_would_block_then_eof),
		cmocka_unit_test(test_drain_stops_on_callback_error),
		cmocka_unit_test(test_drain_is_bounded),
		cmocka_unit_test(test_read_all),
		cmocka_unit_test(test_flush_until_would_block),
		cmocka_unit_test(test_write_all),
		cmocka_unit_test(test_lines_split_and_cap),
		cmocka_unit_test(test_lines_through_drain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
