/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader against the fixture plugins (tests/fixtures,
 * tests/abi) and the real sandbox-none: every rejection path with its
 * message and exit code, search order, create/probe/destroy, dlclose, and
 * the none backend's wrap() through a mock host.
 */
#include "config.h"

#include <dlfcn.h>
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
#include <unistd.h>
#include <cmocka.h>

#include "loader.h"
#include "settings.h"

static const char *fixture_dir; /* tests/fixtures/.libs */
static char abi_dir[1024];	/* tests/abi/.libs */
static char tmp[] = "/tmp/er-test-loader-XXXXXX";
static char err[LOADER_ERR_MAX];

/* --- a mock host ---------------------------------------------------------- */

struct er_cmd_builder {
	char argv[16][128];
	int argc;
	char env[32][256];
	int envc;
	char cwd[256];
};

static void
mock_vlog(void *ctx, int level, const char *fmt, va_list ap)
{
}

static void
mock_log(void *ctx, int level, const char *fmt, ...)
{
}

static int mock_err_set(struct er_error *e, int code, const char *fmt, ...) ER_PRINTF(3, 4);

static int
mock_err_set(struct er_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->code = code;
	return code;
}

static const char *
mock_config_get(void *ctx, const char *key)
{
	return NULL;
}

/* The runner's environment as the host would filter it: a secret is
 * withheld by the host, but the plugin must not ask for it either. */
static const char *
mock_getenv(void *ctx, const char *name)
{
	if (strcmp(name, "PATH") == 0)
		return "/usr/bin:/bin";
	if (strcmp(name, "HOME") == 0)
		return "/home/runner";
	if (strcmp(name, "LANG") == 0)
		return "C.UTF-8";
	if (strcmp(name, "ANTHROPIC_API_KEY") == 0)
		return "sk-must-never-pass";
	return NULL;
}

static int
mock_push_arg(struct er_cmd_builder *b, const char *arg)
{
	if (b->argc >= 16)
		return -E2BIG;
	snprintf(b->argv[b->argc++], sizeof(b->argv[0]), "%s", arg);
	return 0;
}

static int
mock_set_env(struct er_cmd_builder *b, const char *name, const char *value)
{
	size_t n = strlen(name);

	for (int i = 0; i < b->envc; i++) {
		if (strncmp(b->env[i], name, n) == 0 && b->env[i][n] == '=') {
			snprintf(b->env[i], sizeof(b->env[0]), "%s=%s", name, value);
			return 0;
		}
	}
	if (b->envc >= 32)
		return -E2BIG;
	snprintf(b->env[b->envc++], sizeof(b->env[0]), "%s=%s", name, value);
	return 0;
}

static int
mock_set_cwd(struct er_cmd_builder *b, const char *dir)
{
	snprintf(b->cwd, sizeof(b->cwd), "%s", dir);
	return 0;
}

static int
mock_set_rlimit(struct er_cmd_builder *b, uint32_t resource, uint64_t soft, uint64_t hard)
{
	return 0;
}

static const char *const *
mock_env_allowlist(void *ctx)
{
	static const char *const names[] = { "LANG", NULL };

	return names;
}

static const struct er_host mock_host = {
	.struct_size = sizeof(struct er_host),
	.abi_major = ER_ABI_MAJOR,
	.abi_minor = ER_ABI_MINOR,
	.log = mock_log,
	.vlog = mock_vlog,
	.err_set = mock_err_set,
	.config_get = mock_config_get,
	.getenv = mock_getenv,
	.cmd_push_arg = mock_push_arg,
	.cmd_set_env = mock_set_env,
	.cmd_set_cwd = mock_set_cwd,
	.cmd_set_rlimit = mock_set_rlimit,
	.env_allowlist = mock_env_allowlist,
};

static const char *
env_of(const struct er_cmd_builder *b, const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; i < b->envc; i++)
		if (strncmp(b->env[i], name, n) == 0 && b->env[i][n] == '=')
			return b->env[i] + n + 1;
	return NULL;
}

/* --- helpers -------------------------------------------------------------- */

static void
fixture_path(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/%s", fixture_dir, file);
}

static void
copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	assert_int_equal(chmod(to, mode), 0);
}

/* Open fixture `file` as a sandbox and expect failure r with `needle`. */
static void
expect_refused(const char *file, uint32_t kind, int r, const char *needle)
{
	char path[1200];
	struct plugin *p = NULL;
	int got;

	fixture_path(path, sizeof(path), file);
	err[0] = '\0';
	got = loader_open_path(path, kind, &p, err, sizeof(err));
	if (got != r || !strstr(err, needle) || !strstr(err, path))
		fail_msg("%s: expected %d with '%s', got %d: '%s'", file, r, needle, got, err);
	assert_null(p);
	assert_int_equal(loader_exit_code(got), r == -ENOENT ? EX_UNAVAILABLE : EX_CONFIG);
	/* Rejected plugins are unloaded again. */
	if (strcmp(file, "sandbox-undef.so") != 0)
		assert_null(dlopen(path, RTLD_NOW | RTLD_NOLOAD));
}

static int
setup(void **state)
{
	fixture_dir = getenv("ER_FIXTURE_DIR");
	if (!fixture_dir) {
		fprintf(stderr, "ER_FIXTURE_DIR is not set: run under 'make check'\n");
		return -1;
	}
	snprintf(abi_dir, sizeof(abi_dir), "%s/../../abi/.libs", fixture_dir);
	if (!mkdtemp(tmp))
		return -1;
	unsetenv("ER_NO_DLCLOSE");
	return 0;
}

static int
teardown(void **state)
{
	static const char *const files[] = { "sandbox-good.so", "sandbox-dir.so", NULL };

	for (const char *const *f = files; *f; f++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", tmp, *f);
		unlink(path);
		rmdir(path);
	}
	rmdir(tmp);
	return 0;
}

/* --- tests ---------------------------------------------------------------- */

static void
test_good_loads_and_creates(void **state)
{
	char path[1200];
	struct plugin *p = NULL;

	fixture_path(path, sizeof(path), "sandbox-good.so");
	assert_int_equal(loader_open_path(path, ER_KIND_SANDBOX, &p, err, sizeof(err)), 0);
	assert_string_equal(p->desc.name, "good");
	assert_string_equal(p->desc.version, "1.2.3");
	assert_int_equal(p->desc.abi_major, ER_ABI_MAJOR);
	assert_int_equal(p->kind, ER_KIND_SANDBOX);
	assert_non_null(p->ops.sandbox.wrap);
	assert_null(p->ops.sandbox.probe); /* NULL: the default */
	assert_int_equal(p->ops_size, sizeof(struct er_sandbox_ops));
	assert_int_equal(plugin_create(p, &mock_host, NULL, err, sizeof(err)), 0);
	assert_non_null(p->state);
	assert_int_equal(plugin_probe(p, err, sizeof(err)), 0);
	assert_int_equal(plugin_create(p, &mock_host, NULL, err, sizeof(err)), -EINVAL);
	plugin_close(p);
	assert_null(dlopen(path, RTLD_NOW | RTLD_NOLOAD));

	fixture_path(path, sizeof(path), "executor-good.so");
	assert_int_equal(loader_open_path(path, ER_KIND_EXECUTOR, &p, err, sizeof(err)), 0);
	assert_int_equal(p->kind, ER_KIND_EXECUTOR);
	assert_null(p->ops.executor.session_start);
	plugin_close(p);
	plugin_close(NULL);
}

static void
test_rejections(void **state)
{
	expect_refused("sandbox-badmagic.so", ER_KIND_SANDBOX, -ENOEXEC, "wrong magic 0xdeadbeef");
	expect_refused("sandbox-badmajor.so", ER_KIND_SANDBOX, -EPROTO,
		       "built for plugin ABI 2, this runner speaks ABI 1");
	expect_refused("sandbox-badmajor1.so", ER_KIND_SANDBOX, -EPROTO,
		       "built for plugin ABI 3, this runner speaks ABI 1");
	expect_refused("sandbox-toonew.so", ER_KIND_SANDBOX, -EPROTO,
		       "built for plugin ABI 1.3, needs a runner with plugin ABI 1.3 or later, "
		       "this runner has 1.2");
	expect_refused(
		"sandbox-newflag.so", ER_KIND_SANDBOX, -EPROTO,
		"descriptor flags 0x80 unknown to this runner (plugin ABI 1.2, built for 1.3)");
	expect_refused("sandbox-wrongkind.so", ER_KIND_SANDBOX, -ENOEXEC, "wrong kind 'executor'");
	expect_refused("executor-good.so", ER_KIND_SANDBOX, -ENOEXEC, "wrong kind 'executor'");
	expect_refused("sandbox-mismatch.so", ER_KIND_SANDBOX, -ENOEXEC,
		       "name 'other' does not match the file name (expected 'mismatch')");
	expect_refused("sandbox-nosym.so", ER_KIND_SANDBOX, -ENOEXEC, "no symbol 'er_plugin_v1'");
	expect_refused("sandbox-undef.so", ER_KIND_SANDBOX, -ENOEXEC,
		       "undefined symbol: er_fixture_undefined_function");
	expect_refused("sandbox-small.so", ER_KIND_SANDBOX, -ENOEXEC,
		       "descriptor struct_size 16 is smaller");
	expect_refused("sandbox-smallops.so", ER_KIND_SANDBOX, -ENOEXEC,
		       "ops struct_size 4 is smaller");
	expect_refused("sandbox-absent.so", ER_KIND_SANDBOX, -ENOENT, "cannot open");
}

static void
test_create_fails(void **state)
{
	char path[1200];
	struct plugin *p = NULL;
	int r;

	fixture_path(path, sizeof(path), "sandbox-createfail.so");
	assert_int_equal(loader_open_path(path, ER_KIND_SANDBOX, &p, err, sizeof(err)), 0);
	r = plugin_create(p, &mock_host, NULL, err, sizeof(err));
	assert_int_equal(r, -EINVAL);
	assert_int_equal(loader_exit_code(r), EX_CONFIG);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "create failed: fixture refuses to start: option "
				    "'createfail.mode' is bad"));
	assert_false(p->created);
	plugin_close(p);
	assert_null(dlopen(path, RTLD_NOW | RTLD_NOLOAD));
}

static void
test_not_regular_file(void **state)
{
	char path[512];
	struct plugin *p = NULL;

	snprintf(path, sizeof(path), "%s/sandbox-dir.so", tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(loader_open_path(path, ER_KIND_SANDBOX, &p, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(loader_exit_code(-EPERM), EX_CONFIG);
	rmdir(path);
}

static void
test_unsafe_file_as_root(void **state)
{
	char from[1200];
	char path[512];
	struct plugin *p = NULL;

	if (geteuid() != 0) {
		skip();
		return;
	}
	fixture_path(from, sizeof(from), "sandbox-good.so");
	snprintf(path, sizeof(path), "%s/sandbox-good.so", tmp);
	copy_file(from, path, 0664);
	assert_int_equal(loader_open_path(path, ER_KIND_SANDBOX, &p, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "unsafe mode 0664"));
	assert_non_null(strstr(err, "chmod go-w"));
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(loader_open_path(path, ER_KIND_SANDBOX, &p, err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(loader_open_path(path, ER_KIND_SANDBOX, &p, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "unsafe owner uid 65534"));
	assert_int_equal(chown(path, 0, 0), 0);
	assert_int_equal(loader_open_path(path, ER_KIND_SANDBOX, &p, err, sizeof(err)), 0);
	plugin_close(p);
	unlink(path);
}

/* Built against the frozen 1.1 header: loads, works, and an executor's
 * flags written into its ops in create() are still read. */
static void
test_minor1_plugins_keep_loading(void **state)
{
	char path[1200];
	struct plugin *p = NULL;
	struct er_cmd_builder b;
	struct er_error e;
	const char *argv[] = { "echo", "hi", NULL };
	struct er_command cmd = { sizeof(cmd), argv, NULL, "/", "/", NULL };

	snprintf(path, sizeof(path), "%s/sandbox-minor1.so", abi_dir);
	assert_int_equal(loader_open_path(path, ER_KIND_SANDBOX, &p, err, sizeof(err)), 0);
	assert_int_equal(p->desc.abi_minor, 1);
	assert_int_equal(plugin_create(p, &mock_host, NULL, err, sizeof(err)), 0);
	memset(&b, 0, sizeof(b));
	memset(&e, 0, sizeof(e));
	assert_int_equal(p->ops.sandbox.wrap(p->state, &cmd, &b, &e), 0);
	assert_int_equal(b.argc, 2);
	plugin_close(p);

	snprintf(path, sizeof(path), "%s/executor-minor1.so", abi_dir);
	assert_int_equal(loader_open_path(path, ER_KIND_EXECUTOR, &p, err, sizeof(err)), 0);
	assert_int_equal(p->ops.executor.flags, 0);
	assert_int_equal(plugin_create(p, &mock_host, NULL, err, sizeof(err)), 0);
	assert_int_equal(p->ops.executor.flags, ER_EXECUTOR_NO_STREAM | ER_EXECUTOR_OWNS_LEASE);
	plugin_close(p);
}

/* Flags returned by get_flags() are checked like the descriptor's. */
static void
test_executor_flags_checked(void **state)
{
	char path[1200];
	struct plugin *p = NULL;
	int r;

	fixture_path(path, sizeof(path), "executor-newflag.so");
	assert_int_equal(loader_open_path(path, ER_KIND_EXECUTOR, &p, err, sizeof(err)), 0);
	r = plugin_create(p, &mock_host, NULL, err, sizeof(err));
	assert_int_equal(r, -EPROTO);
	assert_int_equal(loader_exit_code(r), EX_CONFIG);
	assert_non_null(strstr(err, "executor flags 0x20 unknown to this runner"));
	plugin_close(p);
}

static void
test_old_minor_plugin_keeps_loading(void **state)
{
	char path[1200];
	struct plugin *p = NULL;
	struct er_cmd_builder b;
	struct er_error e;
	const char *argv[] = { "echo", "hi", NULL };
	struct er_command cmd = { sizeof(cmd), argv, NULL, "/", "/", NULL };

	snprintf(path, sizeof(path), "%s/sandbox-oldminor.so", abi_dir);
	assert_int_equal(loader_open_path(path, ER_KIND_SANDBOX, &p, err, sizeof(err)), 0);
	assert_int_equal(p->desc.abi_minor, 0);
	assert_int_equal(plugin_create(p, &mock_host, NULL, err, sizeof(err)), 0);
	memset(&b, 0, sizeof(b));
	memset(&e, 0, sizeof(e));
	assert_int_equal(p->ops.sandbox.wrap(p->state, &cmd, &b, &e), 0);
	assert_int_equal(b.argc, 2);
	assert_string_equal(b.argv[1], "hi");
	plugin_close(p);
}

static void
test_search_order(void **state)
{
	struct settings s;
	struct plugin *p = NULL;
	char from[1200];
	char path[512];
	char *saved = getenv("ER_PLUGIN_PATH") ? strdup(getenv("ER_PLUGIN_PATH")) : NULL;
	char envpath[2048];

	settings_init(&s);
	/* Found through $ER_PLUGIN_PATH (second entry). */
	snprintf(envpath, sizeof(envpath), "/nonexistent:%s", fixture_dir);
	setenv("ER_PLUGIN_PATH", envpath, 1);
	assert_int_equal(loader_find_and_open(&s, ER_KIND_SANDBOX, "good", &p, err, sizeof(err)),
			 0);
	fixture_path(from, sizeof(from), "sandbox-good.so");
	assert_string_equal(p->path, from);
	plugin_close(p);

	/* --plugin-dir comes first. */
	snprintf(path, sizeof(path), "%s/sandbox-good.so", tmp);
	copy_file(from, path, 0644);
	s.plugin_dirs[s.n_plugin_dirs++] = strdup(tmp);
	assert_int_equal(loader_find_and_open(&s, ER_KIND_SANDBOX, "good", &p, err, sizeof(err)),
			 0);
	assert_string_equal(p->path, path);
	plugin_close(p);
	unlink(path);

	/* Not found: the message names the file and every directory. */
	unsetenv("ER_NO_SYSTEM_PLUGINS");
	assert_int_equal(loader_find_and_open(&s, ER_KIND_SANDBOX, "nothere", &p, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "'sandbox-nothere.so'"));
	assert_non_null(strstr(err, tmp));
	assert_non_null(strstr(err, "/nonexistent"));
	assert_non_null(strstr(err, ER_PLUGIN_DIR));
	assert_non_null(strstr(err, "--plugin-dir"));
	/* ER_NO_SYSTEM_PLUGINS=1 leaves the installed directory out. */
	setenv("ER_NO_SYSTEM_PLUGINS", "1", 1);
	assert_int_equal(loader_find_and_open(&s, ER_KIND_SANDBOX, "nothere", &p, err, sizeof(err)),
			 -ENOENT);
	assert_null(strstr(err, ER_PLUGIN_DIR));
	assert_non_null(strstr(err, "/nonexistent"));
	assert_int_equal(loader_exit_code(-ENOENT), EX_UNAVAILABLE);
	assert_int_equal(loader_exit_code(-ESRCH), EX_NOUSER);

	/* Bad names; a name with '/' is a path. */
	assert_int_equal(loader_find_and_open(&s, ER_KIND_SANDBOX, "Bad", &p, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(loader_find_and_open(&s, ER_KIND_SANDBOX, "", &p, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(loader_find_and_open(&s, ER_KIND_SANDBOX, from, &p, err, sizeof(err)), 0);
	plugin_close(p);

	if (saved)
		setenv("ER_PLUGIN_PATH", saved, 1);
	else
		unsetenv("ER_PLUGIN_PATH");
	free(saved);
	settings_release(&s);
}

static void
test_no_dlclose(void **state)
{
	char path[1200];
	struct plugin *p = NULL;
	void *h;

	fixture_path(path, sizeof(path), "sandbox-good.so");
	setenv("ER_NO_DLCLOSE", "1", 1);
	assert_int_equal(loader_open_path(path, ER_KIND_SANDBOX, &p, err, sizeof(err)), 0);
	plugin_close(p);
	h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(h);
	dlclose(h); /* the NOLOAD reference */
	dlclose(h); /* the loader's */
	unsetenv("ER_NO_DLCLOSE");
}

struct scan_result {
	int loaded;
	int refused;
	int saw_badmagic;
};

static void
scan_cb(void *userdata, const char *path, const struct plugin *p, const char *why,
	const char *shadowed_by)
{
	struct scan_result *r = userdata;

	if (p)
		r->loaded++;
	else
		r->refused++;
	if (why && strstr(why, "sandbox-badmagic.so") && strstr(why, "wrong magic"))
		r->saw_badmagic = 1;
}

static void
test_scan(void **state)
{
	struct settings s;
	struct scan_result r = { 0, 0, 0 };

	settings_init(&s);
	s.plugin_dirs[s.n_plugin_dirs++] = strdup(fixture_dir);
	assert_int_equal(loader_scan(&s, scan_cb, &r), 0);
	/* good, executor-good, createfail load; the rest are refused. */
	assert_true(r.loaded >= 3);
	assert_true(r.refused >= 9);
	assert_true(r.saw_badmagic);
	settings_release(&s);
}

static void
test_sandbox_none_wrap(void **state)
{
	struct settings s;
	struct plugin *p = NULL;
	struct er_cmd_builder b;
	struct er_error e;
	const char *argv[] = { "/bin/sh", "-c", "echo $X", NULL };
	const char *envp[] = { "X=1", "LANG=fr_FR.UTF-8", NULL };
	const char *bad_envp[] = { "NOEQUALS", NULL };
	struct er_command cmd = { sizeof(cmd), argv, envp, "/work/dir", "/work", "sesn_1" };

	if (!getenv("ER_PLUGIN_PATH")) {
		skip();
		return;
	}
	settings_init(&s);
	assert_int_equal(loader_find_and_open(&s, ER_KIND_SANDBOX, "none", &p, err, sizeof(err)),
			 0);
	assert_string_equal(p->desc.name, "none");
	assert_non_null(p->desc.description);
	assert_int_equal(plugin_create(p, &mock_host, NULL, err, sizeof(err)), 0);
	assert_int_equal(plugin_probe(p, err, sizeof(err)), 0);
	memset(&b, 0, sizeof(b));
	memset(&e, 0, sizeof(e));
	assert_int_equal(p->ops.sandbox.wrap(p->state, &cmd, &b, &e), 0);
	assert_int_equal(b.argc, 3);
	assert_string_equal(b.argv[0], "/bin/sh");
	assert_string_equal(b.argv[2], "echo $X");
	assert_string_equal(b.cwd, "/work/dir");
	assert_string_equal(env_of(&b, "PATH"), "/usr/bin:/bin");
	assert_string_equal(env_of(&b, "HOME"), "/home/runner");
	assert_string_equal(env_of(&b, "X"), "1");
	assert_string_equal(env_of(&b, "LANG"), "fr_FR.UTF-8"); /* the command's own wins */
	assert_null(env_of(&b, "ANTHROPIC_API_KEY"));
	assert_int_equal(b.envc, 4);

	cmd.envp = bad_envp;
	memset(&b, 0, sizeof(b));
	assert_int_equal(p->ops.sandbox.wrap(p->state, &cmd, &b, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "NOEQUALS"));
	plugin_close(p);
	settings_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_loads_and_creates),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_create_fails),
		cmocka_unit_test(test_not_regular_file),
		cmocka_unit_test(test_unsafe_file_as_root),
		cmocka_unit_test(test_old_minor_plugin_keeps_loading),
		cmocka_unit_test(test_minor1_plugins_keep_loading),
		cmocka_unit_test(test_executor_flags_checked),
		cmocka_unit_test(test_search_order),
		cmocka_unit_test(test_no_dlclose),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_sandbox_none_wrap),
	};

	return cmocka_run_group_tests(tests, setup, teardown) ? 1 : 0;
}
