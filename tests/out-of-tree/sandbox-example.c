/* SPDX-License-Identifier: MIT */
/*
 * An out-of-tree sandbox backend, built against the installed header alone:
 *
 *   cc $(pkg-config --cflags environment-runner-plugin) -shared -fPIC \
 *      -o sandbox-example.so sandbox-example.c
 *
 * It runs every command at a lower CPU priority ("nice -n 10 CMD...") and
 * passes only the command's own environment plus PATH.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <environment-runner/plugin.h>

struct example {
	const struct er_host *host;
	void *ctx;
};

static int
example_create(const struct er_host *host, void *ctx, void **ret_state, struct er_error *err)
{
	struct example *ex = calloc(1, sizeof(*ex));

	if (!ex)
		return host->err_set(err, -ENOMEM, "out of memory");
	ex->host = host;
	ex->ctx = ctx;
	*ret_state = ex;
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
	static const char *const prefix[] = { "nice", "-n", "10", NULL };
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
	.wrap = example_wrap,
};

ER_PLUGIN_DEFINE(ER_KIND_SANDBOX, "example", "0.1", "out-of-tree example: runs commands niced",
		 NULL, example_create, example_destroy, &example_ops);
