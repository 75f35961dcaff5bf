/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "rand.h"

static void
test_uuids_are_version_4_and_differ(void **state)
{
	char seen[600][37];

	/* More than one pool's worth, so the pool is refilled on the way. */
	for (int i = 0; i < 600; i++) {
		assert_int_equal(rand_uuid(seen[i]), 0);
		assert_int_equal(strlen(seen[i]), 36);
		assert_int_equal(seen[i][14], '4');
		assert_non_null(strchr("89ab", seen[i][19]));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
	}
}

static void
test_a_large_request_is_filled(void **state)
{
	unsigned char a[4096], zero[64] = { 0 };

	memset(a, 0, sizeof(a));
	assert_int_equal(rand_bytes(a, sizeof(a)), 0);
	/* Every 64-byte stretch got random bytes (all zero: 2^-512). */
	for (size_t i = 0; i < sizeof(a); i += sizeof(zero))
		assert_memory_not_equal(a + i, zero, sizeof(zero));
}

/* Bytes taken ahead are not handed out again by a forked child: its next
 * bytes differ from the parent's. */
static void
test_a_forked_child_does_not_repeat_its_parent(void **state)
{
	unsigned char first[16], parent_next[16], child_next[16];
	int p[2], status;
	pid_t pid;

	assert_int_equal(rand_bytes(first, sizeof(first)), 0); /* the pool is full */
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char b[16];

		close(p[0]);
		_exit(rand_bytes(b, sizeof(b)) == 0 &&
				      write(p[1], b, sizeof(b)) == (ssize_t)sizeof(b)
			      ? 0
			      : 1);
	}
	close(p[1]);
	assert_int_equal(read(p[0], child_next, sizeof(child_next)), sizeof(child_next));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(rand_bytes(parent_next, sizeof(parent_next)), 0);
	assert_memory_not_equal(parent_next, child_next, sizeof(child_next));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuids_are_version_4_and_differ),
		cmocka_unit_test(test_a_large_request_is_filled),
		cmocka_unit_test(test_a_forked_child_does_not_repeat_its_parent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
