/* SPDX-License-Identifier: MIT */
/* The --on-work contract: the variables a program gets, the work item on
 * its input, and the secret in a file without a name. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "onwork.h"
#include "wipe.h"

static void
test_env_all(void **state)
{
	struct onwork_item item = { "work_1",	"env_1", "sesn_1",    "http://127.0.0.1:9",
				    "c2VjcmV0", 5,	 "sk-env-key" };
	char *env[ONWORK_ENV_MAX + 1];
	const char *want[] = {
		"ANTHROPIC_WORK_ID=work_1",
		"ANTHROPIC_ENVIRONMENT_ID=env_1",
		"ANTHROPIC_SESSION_ID=sesn_1",
		"ANTHROPIC_BASE_URL=http://127.0.0.1:9",
		"ANTHROPIC_WORK_SECRET=c2VjcmV0",
		"ANTHROPIC_WORK_SECRET_FILE=/dev/fd/5",
		"ANTHROPIC_ENVIRONMENT_KEY=sk-env-key",
	};
	size_t i;

	assert_int_equal(onwork_env(&item, env), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_non_null(env[i]);
		assert_string_equal(env[i], want[i]);
	}
	assert_int_equal(i, ONWORK_ENV_MAX);
	assert_null(env[i]);
	onwork_env_free(env);
	assert_null(env[0]);
}

/* What is not given is not set, not even empty; the ids always are. */
static void
test_env_minimal(void **state)
{
	struct onwork_item item = { NULL, NULL, NULL, NULL, NULL, -1, NULL };
	char *env[ONWORK_ENV_MAX + 1];

	assert_int_equal(onwork_env(&item, env), 0);
	assert_string_equal(env[0], "ANTHROPIC_WORK_ID=");
	assert_string_equal(env[1], "ANTHROPIC_ENVIRONMENT_ID=");
	assert_null(env[2]);
	onwork_env_free(env);
}

static void
test_input(void **state)
{
	const char work[] = "{\"id\":\"work_1\",\"data\":{\"type\":\"session\"}}";
	struct buf b;

	assert_int_equal(onwork_input(&b, work, strlen(work), "a\"b"), 0);
	assert_int_equal(b.len, strlen(work) + strlen(",\"secret\":\"a\\\"b\"") + 1);
	assert_memory_equal(
		b.data,
		"{\"id\":\"work_1\",\"data\":{\"type\":\"session\"},\"secret\":\"a\\\"b\"}\n",
		b.len);
	secret_wipe(b.data, b.len);
	buf_release(&b);

	assert_int_equal(onwork_input(&b, work, strlen(work), NULL), 0);
	assert_int_equal(b.len, strlen(work) + 1);
	assert_memory_equal(b.data, work, strlen(work));
	assert_int_equal(b.data[b.len - 1], '\n');
	buf_release(&b);

	assert_int_equal(onwork_input(&b, "{}", 2, "s"), 0);
	assert_memory_equal(b.data, "{\"secret\":\"s\"}\n", b.len);
	buf_release(&b);
}

static void
test_input_not_an_object(void **state)
{
	struct buf b;

	assert_int_equal(onwork_input(&b, "[1]", 3, NULL), -EINVAL);
	buf_release(&b);
	assert_int_equal(onwork_input(&b, "}", 1, NULL), -EINVAL);
	buf_release(&b);
	assert_int_equal(onwork_input(&b, NULL, 0, NULL), -EINVAL);
	buf_release(&b);
}

static void
test_secret_file(void **state)
{
	char dir[] = "/tmp/test-onwork-XXXXXX";
	char got[64];
	struct stat st;
	ssize_t n;
	int fd;

	assert_non_null(mkdtemp(dir));
	fd = onwork_secret_file(dir, dir, "c2VjcmV0");
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	n = read(fd, got, sizeof(got));
	assert_int_equal(n, 8);
	assert_memory_equal(got, "c2VjcmV0", 8);
	close(fd);
	/* Nothing is left with a name. */
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_all),	    cmocka_unit_test(test_env_minimal),
		cmocka_unit_test(test_input),	    cmocka_unit_test(test_input_not_an_object),
		cmocka_unit_test(test_secret_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
