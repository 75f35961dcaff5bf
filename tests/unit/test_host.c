/* SPDX-License-Identifier: MIT */
/* Host services of plugin ABI 1.2 that need no session: run_command(). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "runtime.h"

static void
test_run_command(void **state)
{
	const char *const prints[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *const secret[] = { "/bin/sh", "-c", "echo \"[$ANTHROPIC_API_KEY]\"", NULL };
	const char *const missing[] = { "no-such-program-here", NULL };
	const char *const slow[] = { "sleep", "5", NULL };
	struct er_error err;
	char out[64];
	int32_t status = -1;

	memset(&err, 0, sizeof(err));
	/* Found on PATH; both streams captured; the status as waitpid() has it. */
	assert_int_equal(
		host_services.run_command(NULL, prints, 5000, &status, out, sizeof(out), &err), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	assert_string_equal(out, "out\nerr\n");
	/* The output is cut to the buffer, NUL-terminated. */
	assert_int_equal(host_services.run_command(NULL, prints, 5000, &status, out, 3, &err), 0);
	assert_string_equal(out, "ou");
	/* The environment is the one getenv() shows plugins: no credential. */
	setenv("ANTHROPIC_API_KEY", "sk-must-not-reach", 1);
	assert_int_equal(
		host_services.run_command(NULL, secret, 5000, &status, out, sizeof(out), &err), 0);
	assert_string_equal(out, "[]\n");
	unsetenv("ANTHROPIC_API_KEY");
	assert_int_equal(host_services.run_command(NULL, missing, 5000, &status, NULL, 0, &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, "cannot run 'no-such-program-here'"));
	assert_int_equal(host_services.run_command(NULL, slow, 100, &status, NULL, 0, &err),
			 -ETIMEDOUT);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(host_services.run_command(NULL, NULL, 100, &status, NULL, 0, &err),
			 -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
