/* SPDX-License-Identifier: MIT */
/* Readiness (/readyz): the decision, as a table. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "status.h"

static void
test_not_ready_reason(void **state)
{
	/* Polls must have succeeded within 60 s; "now" is 1000 s. */
	const uint64_t age = 60000, now = 1000000;
	static const struct {
		struct status_view v;
		uint64_t last_poll_ok_ms;
		const char *want;
	} table[] = {
		/* draining, retiring, disk_low, poll_expected, capacity_freed_ms */
		{ { 1, 1, 1, 1, 0, 0, NULL }, 0, "draining" },
		{ { 0, 1, 1, 1, 0, 0, NULL }, 0, "retiring" },
		{ { 0, 0, 1, 1, 0, 0, NULL }, 0, "low disk space" },
		/* Busy (or run-item): no poll expected, ready without one. */
		{ { 0, 0, 0, 0, 0, 0, NULL }, 0, NULL },
		{ { 0, 0, 0, 1, 0, 0, NULL }, 0, "no successful poll yet" },
		{ { 0, 0, 0, 1, 0, 0, NULL }, now - age, NULL },
		{ { 0, 0, 0, 1, 0, 0, NULL }, now - age - 1, "no successful poll recently" },
		/* Capacity freed since the last poll: counted from then. */
		{ { 0, 0, 0, 1, now - 10, 0, NULL }, now - 2 * age, NULL },
		{ { 0, 0, 0, 1, now - age - 1, 0, NULL },
		  now - 2 * age,
		  "no successful poll recently" },
		/* An old freeing does not hide a recent poll. */
		{ { 0, 0, 0, 1, 1, 0, NULL }, now - 10, NULL },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const char *got =
			status_not_ready_reason(&table[i].v, table[i].last_poll_ok_ms, age, now);

		if (table[i].want)
			assert_string_equal(got, table[i].want);
		else
			assert_null(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_ready_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
