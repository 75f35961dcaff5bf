/* SPDX-License-Identifier: MIT */
/* Secret hygiene: wiping, the process switch that keeps credentials out of
 * core dumps, and the service key file's owner check. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif
#include <cmocka.h>

#include "secret.h"
#include "settings.h"

static void
test_wipe(void **state)
{
	char buf[] = "sk-ant-oat01-secret";

	secret_wipe(buf, sizeof(buf) - 1);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	secret_wipe(NULL, 10);
	secret_free(NULL);
	secret_free(strdup("sk-ant-req-token"));
}

static void
test_protect_process(void **state)
{
	int r = secret_protect_process();

#if defined(HAVE_SYS_PRCTL_H) && HAVE_DECL_PR_SET_DUMPABLE
	assert_int_equal(r, 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
#else
	assert_int_equal(r, -ENOSYS);
#endif
}

static void
test_key_file_checks(void **state)
{
	char dir[] = "/tmp/er-test-secret.XXXXXX";
	char path[sizeof(dir) + 16];
	char err[512];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "sk-ant-oat01-x\n", 15), 15);
	close(fd);
	assert_int_equal(settings_check_key_file(path, err, sizeof(err)), 0);

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(settings_check_key_file(path, err, sizeof(err)), EX_CONFIG);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(settings_check_key_file(path, err, sizeof(err)), 0);

	/* Another user's file, however private, is refused (root can test it). */
	if (geteuid() == 0 && chown(path, 65534, 65534) == 0) {
		assert_int_equal(settings_check_key_file(path, err, sizeof(err)), EX_CONFIG);
		assert_non_null(strstr(err, "owned by uid 65534"));
		assert_non_null(strstr(err, "chown 0"));
	}
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_protect_process),
		cmocka_unit_test(test_key_file_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
