/* SPDX-License-Identifier: MIT */
/* The open-file budget: the count of open descriptors, when one more
 * session fits, and the short requests in progress at once. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "descriptors.h"

static void
test_request_cap(void **state)
{
	static const struct {
		long limit;
		long want;
	} table[] = {
		/* No limit, or a large one: the most. */
		{ 0, 512 },
		{ 1048576, 512 },
		{ 8192, 512 },
		/* A sixteenth of the limit in between. */
		{ 8191, 511 },
		{ 512, 32 },
		/* A small limit: still enough to make progress. */
		{ 256, 16 },
		{ 64, 16 },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_int_equal(descriptors_request_cap(table[i].limit), table[i].want);
}

static void
test_room_for_session(void **state)
{
	static const struct {
		long limit;
		int sessions;
		long open;
		int want;
		long in_use;
	} table[] = {
		/* No limit. */
		{ 0, 5000, 100000, 1, 100000 },
		/* None running: always one, whatever the limit. */
		{ 16, 0, 40, 1, 40 },
		/* The new session's 8 and a reserve of 64 must stay free. */
		{ 1024, 10, 952, 1, 952 },
		{ 1024, 10, 953, 0, 953 },
		/* Thousands running: the reserve is half a descriptor each. */
		{ 20000, 5000, 17492, 1, 17492 },
		{ 20000, 5000, 17493, 0, 17493 },
		/* Uncounted: estimated at 8 a session plus 64. */
		{ 1024, 100, -1, 1, 864 },
		{ 1024, 111, -1, 1, 952 },
		{ 1024, 112, -1, 0, 960 },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		long in_use = -2;

		assert_int_equal(descriptors_room_for_session(table[i].limit, table[i].sessions,
							      table[i].open, &in_use),
				 table[i].want);
		assert_int_equal(in_use, table[i].in_use);
	}
}

/* The busiest second of the last 30: a burst counts for 30 s. */
static void
test_peak_of_the_last_minute(void **state)
{
	struct descriptors_peak p = { { 0 }, 0 };
	const uint64_t t0 = 5000000; /* ms */

	(void)state;
	assert_int_equal(descriptors_peak_note(&p, t0, 100), 100);
	assert_int_equal(descriptors_peak_note(&p, t0 + 300, 180), 180);
	assert_int_equal(descriptors_peak_note(&p, t0 + 900, 120), 180);
	/* Later seconds, fewer open: the burst still counts. */
	assert_int_equal(descriptors_peak_note(&p, t0 + 1000, 110), 180);
	assert_int_equal(descriptors_peak_note(&p, t0 + 29999, 105), 180);
	/* 30 s after its second, it is forgotten. */
	assert_int_equal(descriptors_peak_note(&p, t0 + 30000, 105), 110);
	assert_int_equal(descriptors_peak_note(&p, t0 + 31000, 90), 105);
	/* Past a silence longer than the window, only the new count. */
	assert_int_equal(descriptors_peak_note(&p, t0 + 500000, 70), 70);
	/* Uncounted: unknown, whatever was noted. */
	assert_int_equal(descriptors_peak_note(&p, t0 + 500100, -1), -1);
	assert_int_equal(descriptors_peak_note(&p, t0 + 500200, 60), 70);
}

/* Where the system counts them (Linux since 6.2), the count follows opens
 * and closes exactly; elsewhere it says it cannot tell. */
static void
test_open_count(void **state)
{
	long before = descriptors_open();
	int fds[8][2];

	if (before < 0) {
		assert_int_equal(before, -1);
		return;
	}
	assert_true(before >= 3);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pipe(fds[i]), 0);
	assert_int_equal(descriptors_open(), before + 16);
	for (int i = 0; i < 8; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	assert_int_equal(descriptors_open(), before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_room_for_session),
		cmocka_unit_test(test_request_cap),
		cmocka_unit_test(test_peak_of_the_last_minute),
		cmocka_unit_test(test_open_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
