/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

static void
test_append_and_terminate(void **state)
{
	struct buf b = BUF_INIT(100);

	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(buf_printf(&b, "-%d", 42), 0);
	assert_string_equal(b.data, "abc-42");
	assert_int_equal(b.len, 6);
	buf_consume(&b, 2);
	assert_string_equal(b.data, "c-42");
	buf_truncate(&b, 1);
	assert_string_equal(b.data, "c");
	buf_release(&b);
}

static void
test_cap_is_exact(void **state)
{
	struct buf b = BUF_INIT(4);

	assert_int_equal(buf_puts(&b, "abcd"), 0);
	assert_int_equal(buf_putc(&b, 'e'), -ENOSPC);
	assert_string_equal(b.data, "abcd");
	assert_int_equal(buf_printf(&b, "%s", "x"), -ENOSPC);
	assert_int_equal(b.len, 4);
	buf_release(&b);
}

/* Formatted text that fits the room, that needs the buffer to grow, and
 * that would pass the cap: the last leaves the buffer as it was. */
static void
test_printf_room_and_growth(void **state)
{
	struct buf b = BUF_INIT(200);
	char tail[41];

	assert_int_equal(buf_printf(&b, "%s", "0123456789"), 0);
	assert_int_equal(buf_printf(&b, "%0*d", 150, 7), 0);
	assert_int_equal(b.len, 160);
	assert_memory_equal(b.data, "0123456789000", 13);
	assert_int_equal(b.data[159], '7');
	assert_int_equal(b.data[160], '\0');
	assert_int_equal(buf_printf(&b, "%0*d", 41, 1), -ENOSPC);
	assert_int_equal(b.len, 160);
	assert_int_equal(b.data[160], '\0');
	assert_int_equal(buf_printf(&b, "%0*d", 40, 1), 0);
	assert_int_equal(b.len, 200);
	memset(tail, '0', 39);
	tail[39] = '1';
	tail[40] = '\0';
	assert_string_equal(b.data + 160, tail);
	buf_release(&b);
}

static void
test_steal_empty(void **state)
{
	struct buf b = BUF_INIT(10);
	char *s = buf_steal(&b);

	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_terminate),
		cmocka_unit_test(test_cap_is_exact),
		cmocka_unit_test(test_printf_room_and_growth),
		cmocka_unit_test(test_steal_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
