/* SPDX-License-Identifier: MIT */
/* Fixture: a sandbox built against the frozen ABI 1.1 header, using a 1.1
 * host service.  It must keep loading and working in every later 1.x
 * runner. */
#include <errno.h>
#include <stdlib.h>

#include "plugin-v1.1.h"

#if ER_ABI_MAJOR != 1 || ER_ABI_MINOR != 1
#error "plugin-v1.1.h must stay the ABI 1.1 header"
#endif

static int
minor1_create(const struct er_host *host, void *host_ctx, void **ret_state, struct er_error *err)
{
	if (!ER_HOST_HAS(host, cmd_set_rlimit))
		return host->err_set(err, -ENOTSUP, "the runner has no cmd_set_rlimit");
	*ret_state = (void *)host;
	return 0;
}

static void
minor1_destroy(void *state)
{
}

static int
minor1_wrap(void *state, const struct er_command *in, struct er_cmd_builder *out,
	    struct er_error *err)
{
	const struct er_host *host = state;
	int r = host->cmd_set_rlimit(out, ER_RLIMIT_CORE, 0, 0);

	for (size_t i = 0; r == 0 && in->argv[i]; i++)
		r = host->cmd_push_arg(out, in->argv[i]);
	return r < 0 ? host->err_set(err, r, "cannot build the command") : 0;
}

static const struct er_sandbox_ops ops = { sizeof(struct er_sandbox_ops), NULL, minor1_wrap };

/* ABI 1.1's ER_PLUGIN_DEFINE: min_host_minor 0. */
ER_PLUGIN_DEFINE(ER_KIND_SANDBOX, "minor1", "1.1", "fixture: built against ABI 1.1", NULL,
		 minor1_create, minor1_destroy, &ops);
