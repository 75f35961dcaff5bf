/* SPDX-License-Identifier: MIT */
/*
 * sandbox-none: the reference sandbox backend.  Start here if you write one.
 *
 * "none" runs a command directly, as the runner's user, with no isolation
 * beyond what the runner always does: the runner spawns the result in a
 * process group of its own and kills whatever is left of it when the session
 * ends.  What this backend adds is a clean environment: the command sees an
 * allow-list of the runner's variables plus the variables the command itself
 * asks for, and nothing else, so the runner's secrets never reach it.
 *
 * A backend is a pure transformation.  wrap() receives a command (argv, env,
 * cwd) and describes, through the host's builder, the command that runs it in
 * the sandbox; bubblewrap would push "bwrap", its options and "--" before the
 * original argv.  The backend never forks, waits or kills: the runner does.
 *
 * Build it like any plugin: one file, `-shared -fPIC`, against plugin.h only:
 *
 *   cc $(pkg-config --cflags environment-runner-plugin) -shared -fPIC \
 *      -o sandbox-NAME.so sandbox-NAME.c
 *
 * and install it as `sandbox-NAME.so` in the plugin directory
 * (pkg-config --variable=plugindir environment-runner-plugin).
 */
#ifdef HAVE_CONFIG_H
#include "config.h" /* in-tree only: PACKAGE_VERSION */
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <environment-runner/plugin.h>

/*
 * Besides those every backend passes on (host->env_allowlist(): locale,
 * terminal, time zone), a command run without isolation keeps the runner's
 * own identity: its PATH finds programs, HOME, USER and the rest describe
 * the user it runs as.  Everything else (credentials, proxies with
 * passwords, ER_* settings) stays out; a command that needs more asks for
 * it in its own envp.
 */
static const char *const identity_env[] = {
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", NULL,
};

/* Per-plugin state: what create() received, kept for wrap(). */
struct none_state {
	const struct er_host *host; /* borrowed; valid until destroy */
	void *host_ctx;
};

/* The runner calls create() once at start-up.  Allocate your state here and
 * read your configuration with host->config_get(); report problems through
 * err and a negative errno.  Never print or exit. */
static int
none_create(const struct er_host *host, void *host_ctx, void **ret_state, struct er_error *err)
{
	struct none_state *st;

	st = calloc(1, sizeof(*st));
	if (!st)
		return host->err_set(err, -ENOMEM, "out of memory");
	st->host = host;
	st->host_ctx = host_ctx;
	*ret_state = st;
	return 0;
}

/* destroy() must accept NULL and free everything create() allocated. */
static void
none_destroy(void *state)
{
	free(state);
}

/* probe() answers "is this backend usable on this machine?" once, before the
 * runner serves anything.  bubblewrap checks for the binary and user
 * namespaces here; "none" always works. */
static int
none_probe(void *state, struct er_error *err)
{
	return 0;
}

/* Split "NAME=value" and set it on the builder. */
static int
set_env_pair(const struct er_host *host, struct er_cmd_builder *out, const char *pair,
	     struct er_error *err)
{
	const char *eq = strchr(pair, '=');
	char name[256];
	size_t n;

	if (!eq || eq == pair || (n = (size_t)(eq - pair)) >= sizeof(name))
		return host->err_set(err, -EINVAL, "malformed environment entry '%.40s'", pair);
	memcpy(name, pair, n);
	name[n] = '\0';
	return host->cmd_set_env(out, name, eq + 1);
}

/*
 * wrap(): `in` is borrowed for the call; everything goes out through the
 * builder, which copies.  The builder starts empty: no arguments, no
 * environment, no working directory.
 */
static int
none_wrap(void *state, const struct er_command *in, struct er_cmd_builder *out,
	  struct er_error *err)
{
	struct none_state *st = state;
	const struct er_host *host = st->host;
	int r;

	if (!in->argv || !in->argv[0])
		return host->err_set(err, -EINVAL, "empty command");

	/* 1. The program and its arguments, unchanged. */
	for (size_t i = 0; in->argv[i]; i++) {
		r = host->cmd_push_arg(out, in->argv[i]);
		if (r < 0)
			return host->err_set(err, r, "cannot add an argument");
	}

	/* 2. The allow-listed part of the runner's environment.  host->getenv()
	 * already withholds anything that may carry a secret; the lists narrow
	 * it to what a shell session would expect. */
	for (int l = 0; l < 2; l++) {
		const char *const *names = l ? identity_env : host->env_allowlist(st->host_ctx);

		for (size_t i = 0; names[i]; i++) {
			const char *v = host->getenv(st->host_ctx, names[i]);

			if (!v)
				continue;
			r = host->cmd_set_env(out, names[i], v);
			if (r < 0)
				return host->err_set(err, r, "cannot set %s", names[i]);
		}
	}

	/* 3. The command's own variables, which win over inherited ones. */
	for (size_t i = 0; in->envp && in->envp[i]; i++) {
		r = set_env_pair(host, out, in->envp[i], err);
		if (r < 0)
			return r;
	}

	/* 4. The working directory. */
	if (in->cwd) {
		r = host->cmd_set_cwd(out, in->cwd);
		if (r < 0)
			return host->err_set(err, r, "cannot set the working directory");
	}
	return 0;
}

/* The ops table starts with its own size, so a runner built against a newer
 * minor knows which members this plugin had. */
static const struct er_sandbox_ops none_ops = {
	.struct_size = sizeof(struct er_sandbox_ops),
	.probe = none_probe,
	.wrap = none_wrap,
};

/* The one exported symbol.  The name must match the file: sandbox-none.so. */
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "1.0"
#endif
ER_PLUGIN_DEFINE_FULL(ER_KIND_SANDBOX, "none", PACKAGE_VERSION,
		      "no isolation: runs commands directly, with an allow-listed environment",
		      NULL, ER_ABI_MINOR, 0, none_create, none_destroy, &none_ops);
