/* SPDX-License-Identifier: MIT */
/* The sandbox's file-system identity: which ids are taken, and where it is
 * not entered.  (Entering switches this process's ids, which a unit test
 * leaves alone; the escape tests run as another user cover it.) */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsid.h"

static void
test_set_refuses_unset_ids(void **state)
{
	struct fsid id = { 0 };

	assert_int_equal(fsid_set(&id, (uint32_t)-1, 0), -EINVAL);
	assert_int_equal(fsid_set(&id, 0, (uint32_t)-1), -EINVAL);
	assert_int_equal(id.active, 0);
}

/* The runner's own ids: nothing to switch, on every platform. */
static void
test_own_ids_inactive(void **state)
{
	struct fsid id = { 0 };

	assert_int_equal(fsid_set(&id, (uint32_t)geteuid(), (uint32_t)getegid()), 0);
	assert_int_equal(id.active, 0);
	assert_int_equal(fsid_enter(&id, "/"), 0);
	fsid_leave(&id);
	assert_int_equal(id.depth, 0);
}

static void
test_other_ids(void **state)
{
	struct fsid id = { 0 };
	uint32_t other = (uint32_t)geteuid() + 1;
	char dir[] = "/tmp/test-fsid-XXXXXX";

#ifdef HAVE_SETFSUID
	assert_int_equal(fsid_set(&id, other, (uint32_t)getegid()), 0);
	assert_int_equal(id.active, 1);
	assert_int_equal(id.uid, other);
#else
	assert_int_equal(fsid_set(&id, other, (uint32_t)getegid()), -ENOTSUP);
	assert_int_equal(id.active, 0);
#endif
	/* Not entered without a directory the sandbox's user owns. */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(fsid_enter(&id, NULL), 0);
	assert_int_equal(fsid_enter(&id, dir), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(fsid_enter(&id, dir), 0);
	assert_int_equal(id.depth, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_refuses_unset_ids),
		cmocka_unit_test(test_own_ids_inactive),
		cmocka_unit_test(test_other_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
