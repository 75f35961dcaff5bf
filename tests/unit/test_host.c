/* SPDX-License-Identifier: MIT */
/* Host services of plugin ABI 1.2 that need no session: run_command(),
 * sandbox_settings(), env_allowlist(). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "host.h"
#include "runtime.h"
#include "sandbox-settings.h"

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
	assert_int_equal(host_services.run_command(NULL, prints, NULL, 0, 5000, &status, out,
						   sizeof(out), &err),
			 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	assert_string_equal(out, "out\nerr\n");
	/* The output is cut to the buffer, NUL-terminated. */
	assert_int_equal(
		host_services.run_command(NULL, prints, NULL, 0, 5000, &status, out, 3, &err), 0);
	assert_string_equal(out, "ou");
	/* The environment is the one getenv() shows plugins: no credential. */
	setenv("ANTHROPIC_API_KEY", "sk-must-not-reach", 1);
	assert_int_equal(host_services.run_command(NULL, secret, NULL, 0, 5000, &status, out,
						   sizeof(out), &err),
			 0);
	assert_string_equal(out, "[]\n");
	unsetenv("ANTHROPIC_API_KEY");
	assert_int_equal(
		host_services.run_command(NULL, missing, NULL, 0, 5000, &status, NULL, 0, &err),
		-ENOENT);
	assert_non_null(strstr(err.msg, "cannot run 'no-such-program-here'"));
	assert_int_equal(
		host_services.run_command(NULL, slow, NULL, 0, 100, &status, NULL, 0, &err),
		-ETIMEDOUT);
	assert_true(WIFSIGNALED(status));
	/* A passed fd stays open in the command at its number; 0-2 cannot be. */
	{
		int fds[2];
		int32_t pass[1];
		char script[64];
		const char *const writes[] = { "/bin/sh", "-c", script, NULL };
		char got[16] = "";

		assert_int_equal(pipe(fds), 0);
		assert_true(fds[1] > 2);
		assert_int_equal(fcntl(fds[1], F_SETFD, FD_CLOEXEC), 0);
		pass[0] = fds[1];
		snprintf(script, sizeof(script), "echo passed >&%d", fds[1]);
		assert_int_equal(host_services.run_command(NULL, writes, pass, 1, 5000, &status,
							   NULL, 0, &err),
				 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(fds[1]);
		assert_int_equal(read(fds[0], got, sizeof(got) - 1), 7);
		assert_string_equal(got, "passed\n");
		close(fds[0]);
		pass[0] = 1;
		assert_int_equal(host_services.run_command(NULL, writes, pass, 1, 5000, &status,
							   NULL, 0, &err),
				 -EBADF);
	}
	assert_int_equal(
		host_services.run_command(NULL, NULL, NULL, 0, 100, &status, NULL, 0, &err),
		-EINVAL);
}

/* The settings of `s` through the host table, as a backend asks for them. */
static int
settings_of(struct settings *s, struct er_sandbox_settings *out, struct er_error *err)
{
	struct runtime rt;
	struct host_plugin hp = { &rt, "test" };

	memset(&rt, 0, sizeof(rt));
	rt.settings = s;
	sandbox_settings_forget();
	memset(out, 0, sizeof(*out));
	out->struct_size = sizeof(*out);
	memset(err, 0, sizeof(*err));
	return host_services.sandbox_settings(&hp, out, err);
}

static void
test_sandbox_settings(void **state)
{
	struct er_sandbox_settings v;
	struct er_error err;
	struct settings s;

	/* Defaults, typed. */
	settings_init(&s);
	assert_int_equal(settings_of(&s, &v, &err), 0);
	assert_int_equal(v.struct_size, sizeof(v));
	assert_int_equal(v.network, ER_NETWORK_NONE);
	assert_non_null(v.allowed_domains);
	assert_null(v.allowed_domains[0]);
	assert_null(v.read_only[0]);
	assert_int_equal(v.max_procs, 1024);
	assert_int_equal(v.max_open_files, 1024);
	assert_true(v.max_file_size == UINT64_C(16384) << 20);
	assert_true(v.memory == UINT64_C(4096) << 20);
	if (geteuid() == 0) {
		/* A root runner's commands run as another, unprivileged user. */
		assert_int_equal(v.switch_user, 1);
		assert_true(v.uid != 0 && v.gid != 0);
	} else {
		assert_int_equal(v.switch_user, 0);
		assert_int_equal(v.uid, geteuid());
	}
	settings_release(&s);

	/* What the flags set, parsed. */
	settings_init(&s);
	assert_int_equal(settings_set_option(&s, "sandbox.network", "allowlist"), 0);
	assert_int_equal(settings_set_option(&s, "sandbox.allowed_domains", "a.test,,*.b.test"), 0);
	assert_int_equal(settings_set_option(&s, "sandbox.read_only", "/opt/x:/srv"), 0);
	assert_int_equal(settings_set_option(&s, "sandbox.max_file_size_mb", "0"), 0);
	assert_int_equal(settings_set_option(&s, "sandbox.memory_mb", "0"), 0);
	assert_int_equal(settings_set_option(&s, "sandbox.user", "65534:65534"), 0);
	assert_int_equal(settings_of(&s, &v, &err), 0);
	assert_int_equal(v.network, ER_NETWORK_ALLOWLIST);
	assert_string_equal(v.allowed_domains[0], "a.test");
	assert_string_equal(v.allowed_domains[1], "*.b.test");
	assert_null(v.allowed_domains[2]);
	assert_string_equal(v.read_only[1], "/srv");
	assert_true(v.max_file_size == ER_RLIM_INFINITY);
	assert_true(v.memory == 0);
	if (geteuid() == 0)
		assert_true(v.switch_user && v.uid == 65534 && v.gid == 65534);
	settings_release(&s);

	/* A caller built against a smaller struct gets what fits. */
	settings_init(&s);
	sandbox_settings_forget();
	memset(&v, 0xff, sizeof(v));
	v.struct_size = offsetof(struct er_sandbox_settings, read_only);
	{
		struct runtime rt = { .settings = &s };
		struct host_plugin hp = { &rt, "test" };

		assert_int_equal(host_services.sandbox_settings(&hp, &v, &err), 0);
	}
	assert_int_equal(v.struct_size, offsetof(struct er_sandbox_settings, read_only));
	assert_int_equal(v.network, ER_NETWORK_NONE);
	assert_true(v.max_procs == UINT64_MAX); /* untouched */
	settings_release(&s);

	/* Refused values. */
	settings_init(&s);
	assert_int_equal(settings_set_option(&s, "sandbox.network", "some"), 0);
	assert_int_equal(settings_of(&s, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid sandbox.network 'some'"));
	settings_release(&s);
	settings_init(&s);
	assert_int_equal(settings_set_option(&s, "sandbox.deny", "/ok:relative"), 0);
	assert_int_equal(settings_of(&s, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'relative' is not an absolute path"));
	settings_release(&s);
	if (geteuid() == 0) {
		settings_init(&s);
		assert_int_equal(settings_set_option(&s, "sandbox.user", "no-such-user-here"), 0);
		assert_int_equal(settings_of(&s, &v, &err), -ESRCH);
		settings_release(&s);
		settings_init(&s);
		assert_int_equal(settings_set_option(&s, "sandbox.user", "root"), 0);
		assert_int_equal(settings_of(&s, &v, &err), -EPERM);
		settings_release(&s);
	}
	sandbox_settings_forget();
}

static void
test_env_allowlist(void **state)
{
	const char *const *names = host_services.env_allowlist(NULL);
	int lang = 0;

	for (size_t i = 0; names[i]; i++) {
		lang |= strcmp(names[i], "LANG") == 0;
		/* Nothing that names a place to run programs from or a secret. */
		assert_string_not_equal(names[i], "PATH");
		assert_string_not_equal(names[i], "LD_PRELOAD");
		assert_null(strstr(names[i], "KEY"));
	}
	assert_true(lang);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_command),
		cmocka_unit_test(test_sandbox_settings),
		cmocka_unit_test(test_env_allowlist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
