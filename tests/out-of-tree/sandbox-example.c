/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree sandbox backend, built against the installed header alone:
 *
 *   cc $(pkg-config --cflags environment-runner-plugin) -shared -fPIC \
 *      -o sandbox-example.so sandbox-example.c
 *
 * It runs every command at a lower CPU priority ("nice -n N CMD...", N from
 * its option example.niceness, 10 by default), and passes the environment
 * every backend gives a command: PATH and the command's own variables.
 * Its probe() runs nice once, through the runner, to see that it works.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <environment-runner/plugin.h>

struct example {
	const struct er_host *host;
	void *ctx;
	char niceness[8];
};

static int
example_create(const struct er_host *host, void *ctx, void **ret_state, struct er_error *err)
{
	struct example *ex = calloc(1, sizeof(*ex));
	const char *n;

	if (!ex)
		return host->err_set(err, -ENOMEM, "out of memory");
	ex->host = host;
	ex->ctx = ctx;
	n = host->config_get(ctx, "example.niceness");
	if (!n)
		n = "10";
	if (strlen(n) >= sizeof(ex->niceness) || strspn(n, "0123456789") != strlen(n) || !*n) {
		free(ex);
		/* A configuration refused: the runner exits 78. */
		return host->err_set(err, -EINVAL, "example.niceness '%s' is not 0-19", n);
	}
	memcpy(ex->niceness, n, strlen(n) + 1);
	*ret_state = ex;
	return 0;
}

static int
example_probe(void *state, struct er_error *err)
{
	struct example *ex = state;
	const char *const argv[] = { "nice", "-n", ex->niceness, "true", NULL };
	int32_t status = 0;
	char out[256];
	int r;

	/* Blocking is allowed here, at start-up; run_command() is ABI 1.2. */
	r = ex->host->run_command(ex->ctx, argv, NULL, 0, 5000, &status, out, sizeof(out), err);
	if (r < 0)
		return r; /* -ENOENT: nice is missing; the runner exits 69 */
	if (status != 0)
		return ex->host->err_set(err, -ENOTSUP, "nice does not work here: %s", out);
	return 0;
}

static void
example_destroy(void *state)
{
	free(state);
}

static int
example_wrap(void *state, const struct er_command *in, struct er_cmd_builder *out,
	     struct er_error *err)
{
	struct example *ex = state;
	const struct er_host *h = ex->host;
	const char *path = h->getenv(ex->ctx, "PATH");
	const char *const prefix[] = { "nice", "-n", ex->niceness, NULL };
	int r = 0;

	for (size_t i = 0; prefix[i] && r == 0; i++)
		r = h->cmd_push_arg(out, prefix[i]);
	for (size_t i = 0; in->argv[i] && r == 0; i++)
		r = h->cmd_push_arg(out, in->argv[i]);
	if (r == 0 && path)
		r = h->cmd_set_env(out, "PATH", path);
	for (size_t i = 0; in->envp && in->envp[i] && r == 0; i++) {
		const char *eq = strchr(in->envp[i], '=');
		char name[128];

		if (!eq || (size_t)(eq - in->envp[i]) >= sizeof(name))
			return h->err_set(err, -EINVAL, "bad environment entry");
		memcpy(name, in->envp[i], (size_t)(eq - in->envp[i]));
		name[eq - in->envp[i]] = '\0';
		r = h->cmd_set_env(out, name, eq + 1);
	}
	if (r == 0 && in->cwd)
		r = h->cmd_set_cwd(out, in->cwd);
	return r < 0 ? h->err_set(err, r, "cannot build the command") : 0;
}

static const struct er_sandbox_ops example_ops = {
	.struct_size = sizeof(struct er_sandbox_ops),
	.probe = example_probe,
	.wrap = example_wrap,
};

static const struct er_option example_options[] = {
	{ "example.niceness", "N", "the priority commands run at, 0-19 (default 10)" },
	{ NULL, NULL, NULL },
};

ER_PLUGIN_DEFINE_FULL(ER_KIND_SANDBOX, "example", "0.1", "out-of-tree example: runs commands niced",
		      example_options, ER_ABI_MINOR, 0, example_create, example_destroy,
		      &example_ops);
