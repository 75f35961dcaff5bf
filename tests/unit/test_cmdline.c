/* SPDX-License-Identifier: MIT */
/* Command line, environment, config file and defaults, and their precedence. */
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

#include "cmdline.h"
#include "settings.h"

static char dir[] = "/tmp/er-test-cmdline-XXXXXX";
static char key_path[256];
static char conf_path[256];
static struct settings s;
static struct cmdline cmd;
static char err[1024];

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void
clear_env(void)
{
	for (const struct settings_def *d = settings_table; d->flag; d++)
		if (d->env)
			unsetenv(d->env);
}

static int
setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(key_path, sizeof(key_path), "%s/key", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/runner.conf", dir);
	write_file(key_path, "  sk-test-key-0123456789\n", 0600);
	clear_env();
	return 0;
}

static int
teardown(void **state)
{
	unlink(key_path);
	unlink(conf_path);
	rmdir(dir);
	return 0;
}

static int
each_setup(void **state)
{
	clear_env();
	unlink(conf_path);
	settings_init(&s);
	memset(&cmd, 0, sizeof(cmd));
	err[0] = '\0';
	return 0;
}

static int
each_teardown(void **state)
{
	settings_release(&s);
	clear_env();
	return 0;
}

/* Parse "orchestrator --environment-id env_1 --service-key-file KEY" plus
 * the given arguments (NULL-terminated). */
static int
parse_orch(const char *first, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"environment-runner";
	argv[argc++] = (char *)"orchestrator";
	argv[argc++] = (char *)"--environment-id=env_1";
	argv[argc++] = (char *)"--service-key-file";
	argv[argc++] = key_path;
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return cmdline_parse(argc, argv, &s, &cmd, err, sizeof(err));
}

static int
parse_argv(int argc, const char **argv)
{
	return cmdline_parse(argc, (char **)argv, &s, &cmd, err, sizeof(err));
}

static void
assert_error(int r, int code, const char *needle)
{
	if (r != code || !strstr(err, needle) || !strstr(err, "fix:"))
		fail_msg("expected exit %d with '%s' and a fix, got %d: '%s'", code, needle, r,
			 err);
}

static void
test_defaults(void **state)
{
	char host[256] = "";

	assert_int_equal(parse_orch(NULL), 0);
	assert_int_equal(cmd.verb, CMDLINE_ORCHESTRATOR);
	assert_string_equal(s.environment_id, "env_1");
	assert_string_equal(s.api_url, "https://api.anthropic.com");
	/* Isolation unless none is chosen: bubblewrap on Linux builds. */
	assert_string_equal(s.sandbox_backend, ER_DEFAULT_SANDBOX);
	assert_int_equal(s.sandbox_defaulted, 1);
	assert_string_equal(s.executor, "toolset");
	assert_int_equal(s.capacity, 1);
	assert_int_equal(s.block_ms, 999);
	assert_int_equal(s.max_idle_sec, 60);
	assert_int_equal(s.tool_timeout_sec, 325);
	assert_int_equal(s.drain_wait_sec, 30);
	assert_int_equal(s.keep_session_dirs, 0);
	assert_int_equal(s.log_level, LOG_LEVEL_INFO);
	assert_int_equal(s.log_format, LOG_FORMAT_LOGFMT);
	assert_null(s.log_file);
	assert_null(s.organization_id);
	assert_non_null(s.base_dir);
	assert_true(s.base_dir[0] == '/');
	gethostname(host, sizeof(host) - 1);
	assert_non_null(s.worker_id);
	assert_true(strncmp(s.worker_id, host, strlen(host)) == 0);
	assert_int_equal(strlen(s.worker_id), strlen(host) + 1 + 36);
}

static void
test_every_flag_both_forms(void **state)
{
	assert_int_equal(parse_orch("--organization-id", "org_1", "--api-url=http://127.0.0.1:9",
				    "--worker-id", "w1", "--sandbox-backend=srt", "--executor",
				    "claude-code", "--plugin-dir", "/a", "--plugin-dir=/b",
				    "--capacity=4", "--workdir", "/w", "--base-dir=/bd",
				    "--keep-session-dirs", "--max-idle-sec", "0", "--block-ms=1",
				    "--tool-timeout-sec", "5", "--drain-wait-sec=7", "--log-level",
				    "debug", "--log-format=json", "--log-file", "/tmp/x.log",
				    "--plugin-option", "bubblewrap.network=host", NULL),
			 0);
	assert_string_equal(s.organization_id, "org_1");
	assert_string_equal(s.api_url, "http://127.0.0.1:9");
	assert_string_equal(s.worker_id, "w1");
	assert_string_equal(s.sandbox_backend, "bubblewrap");
	assert_string_equal(s.executor, "claude-code");
	assert_int_equal(s.n_plugin_dirs, 2);
	assert_string_equal(s.plugin_dirs[0], "/a");
	assert_string_equal(s.plugin_dirs[1], "/b");
	assert_int_equal(s.capacity, 4);
	assert_string_equal(s.workdir, "/w");
	assert_string_equal(s.base_dir, "/bd");
	assert_int_equal(s.keep_session_dirs, 1);
	assert_int_equal(s.max_idle_sec, 0);
	assert_int_equal(s.block_ms, 1);
	assert_int_equal(s.tool_timeout_sec, 5);
	assert_int_equal(s.drain_wait_sec, 7);
	assert_int_equal(s.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(s.log_format, LOG_FORMAT_JSON);
	assert_string_equal(s.log_file, "/tmp/x.log");
	assert_string_equal(settings_get_option(&s, "bubblewrap.network"), "host");
	assert_null(settings_get_option(&s, "bubblewrap.other"));
}

static void
test_aliases(void **state)
{
	assert_int_equal(parse_orch("--sandbox-backend", "bwrap", NULL), 0);
	assert_string_equal(s.sandbox_backend, "bubblewrap");
	settings_release(&s);
	settings_init(&s);
	assert_int_equal(
		parse_orch("--sandbox-backend", "firejail", "--keep-session-dirs=no", NULL), 0);
	assert_string_equal(s.sandbox_backend, "firejail");
	assert_int_equal(s.keep_session_dirs, 0);
	assert_true(settings_is_known_sandbox("srt"));
	assert_false(settings_is_known_sandbox("docker"));
	assert_true(settings_is_known_executor("command"));
}

/* flag > environment > file > default, for an int, a string, a bool. */
static void
test_precedence(void **state)
{
	write_file(conf_path,
		   "capacity = 2\nsandbox_backend = firejail\nkeep-session-dirs = yes\n"
		   "log_level = warning\n",
		   0644);
	setenv("ER_CONFIG", conf_path, 1);

	assert_int_equal(parse_orch(NULL), 0);
	assert_string_equal(s.config_file, conf_path);
	assert_int_equal(s.capacity, 2);
	assert_string_equal(s.sandbox_backend, "firejail");
	assert_int_equal(s.keep_session_dirs, 1);
	assert_int_equal(s.log_level, LOG_LEVEL_WARNING);
	settings_release(&s);
	settings_init(&s);

	setenv("ER_CAPACITY", "3", 1);
	setenv("ER_SANDBOX_BACKEND", "none", 1);
	setenv("ER_KEEP_SESSION_DIRS", "0", 1);
	assert_int_equal(parse_orch(NULL), 0);
	assert_int_equal(s.capacity, 3);
	assert_string_equal(s.sandbox_backend, "none");
	assert_int_equal(s.sandbox_defaulted, 0);
	assert_int_equal(s.keep_session_dirs, 0);
	assert_int_equal(s.log_level, LOG_LEVEL_WARNING);
	settings_release(&s);
	settings_init(&s);

	assert_int_equal(parse_orch("--capacity", "4", "--sandbox-backend", "bwrap",
				    "--keep-session-dirs", "--log-level=error", NULL),
			 0);
	assert_int_equal(s.capacity, 4);
	assert_string_equal(s.sandbox_backend, "bubblewrap");
	assert_int_equal(s.keep_session_dirs, 1);
	assert_int_equal(s.log_level, LOG_LEVEL_ERR);
	settings_release(&s);
	settings_init(&s);

	/* --config beats ER_CONFIG. */
	setenv("ER_CONFIG", "/nonexistent/runner.conf", 1);
	unsetenv("ER_CAPACITY");
	assert_int_equal(parse_orch("--config", conf_path, NULL), 0);
	assert_int_equal(s.capacity, 2);
}

static void
test_file_keys_options_and_dirs(void **state)
{
	write_file(conf_path,
		   "# every kind of key\n"
		   "environment_id = env_file\n"
		   "plugin_dir = /one\n"
		   "plugin_dir = /two\n"
		   "bubblewrap.network = none\n"
		   "firejail.profile = \"/etc/my profile\"\n",
		   0644);
	setenv("ER_CONFIG", conf_path, 1);
	assert_int_equal(parse_orch(NULL), 0);
	assert_string_equal(s.environment_id, "env_1"); /* the flag wins */
	assert_int_equal(s.n_plugin_dirs, 2);
	assert_string_equal(s.plugin_dirs[1], "/two");
	assert_string_equal(settings_get_option(&s, "bubblewrap.network"), "none");
	assert_string_equal(settings_get_option(&s, "firejail.profile"), "/etc/my profile");
	settings_release(&s);
	settings_init(&s);

	/* --plugin-dir replaces the file's list; --plugin-option overrides a key. */
	assert_int_equal(parse_orch("--plugin-dir", "/three", "--plugin-option",
				    "bubblewrap.network=host", NULL),
			 0);
	assert_int_equal(s.n_plugin_dirs, 1);
	assert_string_equal(s.plugin_dirs[0], "/three");
	assert_string_equal(settings_get_option(&s, "bubblewrap.network"), "host");
	assert_int_equal(s.n_options, 2);
}

static void
test_usage_errors(void **state)
{
	const char *no_cmd[] = { "environment-runner" };
	const char *bad_cmd[] = { "environment-runner", "orchestrate" };
	const char *flag_first[] = { "environment-runner", "--capacity=1", "orchestrator" };
	const char *positional[] = { "environment-runner", "orchestrator", "extra" };
	const char *no_env[] = { "environment-runner", "orchestrator" };

	assert_error(parse_argv(1, no_cmd), EX_USAGE, "missing command");
	assert_error(parse_argv(2, bad_cmd), EX_USAGE, "unknown command 'orchestrate'");
	assert_error(parse_argv(3, flag_first), EX_USAGE, "'--capacity=1' before the command");
	assert_error(parse_argv(3, positional), EX_USAGE, "unexpected argument 'extra'");
	assert_error(parse_argv(2, no_env), EX_USAGE, "no environment id");
	assert_error(parse_orch("--bogus", NULL), EX_USAGE, "unknown flag '--bogus'");
	assert_error(parse_orch("--capacity", NULL), EX_USAGE, "missing value for '--capacity'");
	assert_error(parse_orch("--capacity", "--block-ms=3", NULL), EX_USAGE,
		     "missing value for '--capacity'");
	assert_error(parse_orch("--capacity=abc", NULL), EX_USAGE,
		     "--capacity: invalid value 'abc'");
	assert_error(parse_orch("--capacity=0", NULL), EX_USAGE, "from 1 to 10000");
	assert_error(parse_orch("--capacity=10001", NULL), EX_USAGE, "from 1 to 10000");
	assert_error(parse_orch("--block-ms=1000", NULL), EX_USAGE, "from 1 to 999");
	assert_error(parse_orch("--log-level=loud", NULL), EX_USAGE, "invalid value 'loud'");
	assert_error(parse_orch("--log-format=xml", NULL), EX_USAGE, "give logfmt or json");
	assert_error(parse_orch("--api-url=ftp://x", NULL), EX_USAGE, "https://");
	assert_error(parse_orch("--sandbox-backend=Docker!", NULL), EX_USAGE,
		     "unknown sandbox backend 'Docker!'");
	assert_error(parse_orch("--executor=", NULL), EX_USAGE, "unknown executor ''");
	assert_error(parse_orch("--keep-session-dirs=maybe", NULL), EX_USAGE, "give yes or no");
	assert_error(parse_orch("--plugin-option=nodot=1", NULL), EX_USAGE, "NAME.KEY");
	assert_error(parse_orch("--workdir=relative", NULL), EX_USAGE, "not absolute");
}

/* One process serves thousands of sessions. */
static void
test_capacity_in_the_thousands(void **state)
{
	assert_int_equal(parse_orch("--capacity=5000", NULL), 0);
	assert_int_equal(s.capacity, 5000);
}

static void
test_plugins_verb_flags(void **state)
{
	const char *ok[] = { "environment-runner", "plugins", "--plugin-dir", "/x" };
	const char *orch_only[] = { "environment-runner", "plugins", "--capacity=2" };

	assert_int_equal(parse_argv(4, ok), 0);
	assert_int_equal(cmd.verb, CMDLINE_PLUGINS);
	assert_string_equal(s.plugin_dirs[0], "/x");
	settings_release(&s);
	settings_init(&s);
	assert_error(parse_argv(3, orch_only), EX_USAGE, "unknown flag '--capacity' for 'plugins'");
}

static void
test_help_and_version(void **state)
{
	const char *g[] = { "environment-runner", "--help" };
	const char *v[] = { "environment-runner", "--version" };
	const char *o[] = { "environment-runner", "orchestrator", "--capacity=bad", "--help" };
	const char *p[] = { "environment-runner", "plugins", "-h" };
	const char *h[] = { "environment-runner", "help", "plugins" };

	assert_int_equal(parse_argv(2, g), 0);
	assert_int_equal(cmd.verb, CMDLINE_HELP);
	assert_int_equal(cmd.help_for, CMDLINE_HELP);
	assert_int_equal(parse_argv(2, v), 0);
	assert_int_equal(cmd.verb, CMDLINE_VERSION);
	assert_int_equal(parse_argv(4, o), 0);
	assert_int_equal(cmd.verb, CMDLINE_HELP);
	assert_int_equal(cmd.help_for, CMDLINE_ORCHESTRATOR);
	assert_int_equal(parse_argv(3, p), 0);
	assert_int_equal(cmd.help_for, CMDLINE_PLUGINS);
	assert_int_equal(parse_argv(3, h), 0);
	assert_int_equal(cmd.help_for, CMDLINE_PLUGINS);
}

static void
test_config_and_env_errors(void **state)
{
	char bad_key[300];

	write_file(conf_path, "capacity = 2\nthis line is wrong\n", 0644);
	assert_error(parse_orch("--config", conf_path, NULL), EX_CONFIG, "runner.conf:2:");
	settings_release(&s);
	settings_init(&s);
	write_file(conf_path, "capcity = 2\n", 0644);
	assert_error(parse_orch("--config", conf_path, NULL), EX_CONFIG,
		     "runner.conf:1: unknown key 'capcity'");
	settings_release(&s);
	settings_init(&s);
	write_file(conf_path, "block_ms = 0\n", 0644);
	assert_error(parse_orch("--config", conf_path, NULL), EX_CONFIG,
		     "runner.conf:1: block_ms: invalid value '0'");
	settings_release(&s);
	settings_init(&s);
	assert_error(parse_orch("--config", "/nonexistent/runner.conf", NULL), EX_NOINPUT,
		     "'/nonexistent/runner.conf'");
	settings_release(&s);
	settings_init(&s);
	setenv("ER_CAPACITY", "lots", 1);
	assert_error(parse_orch(NULL), EX_CONFIG, "ER_CAPACITY: invalid value 'lots'");
	unsetenv("ER_CAPACITY");

	/* Key file problems. */
	settings_release(&s);
	settings_init(&s);
	snprintf(bad_key, sizeof(bad_key), "%s/missing-key", dir);
	{
		const char *argv[] = { "environment-runner", "orchestrator", "--environment-id=e",
				       "--service-key-file", bad_key };

		assert_error(parse_argv(5, argv), EX_NOINPUT, bad_key);
	}
	settings_release(&s);
	settings_init(&s);
	snprintf(bad_key, sizeof(bad_key), "%s/open-key", dir);
	write_file(bad_key, "sk-abc\n", 0640);
	{
		const char *argv[] = { "environment-runner", "orchestrator", "--environment-id=e",
				       "--service-key-file", bad_key };

		assert_error(parse_argv(5, argv), EX_CONFIG, "chmod 600");
	}
	unlink(bad_key);
}

static void
test_read_service_key(void **state)
{
	char *key = NULL;
	char path[300];

	assert_int_equal(parse_orch(NULL), 0);
	assert_int_equal(settings_read_service_key(&s, &key, err, sizeof(err)), 0);
	assert_string_equal(key, "sk-test-key-0123456789");
	free(key);

	snprintf(path, sizeof(path), "%s/k2", dir);
	free(s.service_key_file);
	s.service_key_file = strdup(path);
	key = NULL;
	write_file(path, "\n \n", 0600);
	assert_int_equal(settings_read_service_key(&s, &key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));
	write_file(path, "two\nlines\n", 0600);
	assert_int_equal(settings_read_service_key(&s, &key, err, sizeof(err)), -EINVAL);
	write_file(path, "sk-x\n", 0604);
	assert_int_equal(settings_read_service_key(&s, &key, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "readable by others (mode 0604); fix: chmod o-rw"));
	unlink(path);
	assert_int_equal(settings_read_service_key(&s, &key, err, sizeof(err)), -ENOENT);
	assert_null(key);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, each_setup, each_teardown)
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_every_flag_both_forms),
		T(test_aliases),
		T(test_precedence),
		T(test_file_keys_options_and_dirs),
		T(test_usage_errors),
		T(test_capacity_in_the_thousands),
		T(test_plugins_verb_flags),
		T(test_help_and_version),
		T(test_config_and_env_errors),
		T(test_read_service_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown) ? 1 : 0;
}
