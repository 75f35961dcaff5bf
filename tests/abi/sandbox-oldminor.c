/* SPDX-License-Identifier: MIT */
/* Fixture: a plugin built against the frozen ABI 1.0 header.  It must keep
 * loading, and its ops must keep working, in every 1.x runner. */
#include <errno.h>
#include <stdlib.h>

#include "plugin-v1.0.h"

#if ER_ABI_MAJOR != 1 || ER_ABI_MINOR != 0
#error "plugin-v1.0.h must stay the ABI 1.0 header"
#endif

static int
old_create(const struct er_host *host, void *host_ctx, void **ret_state, struct er_error *err)
{
	/* The host table is borrowed until destroy: keeping the pointer is fine. */
	*ret_state = (void *)host;
	return 0;
}

static void
old_destroy(void *state)
{
}

static int
old_wrap(void *state, const struct er_command *in, struct er_cmd_builder *out, struct er_error *err)
{
	const struct er_host *host = state;

	for (size_t i = 0; in->argv[i]; i++) {
		int r = host->cmd_push_arg(out, in->argv[i]);

		if (r < 0)
			return host->err_set(err, r, "cannot push '%s'", in->argv[i]);
	}
	return 0;
}

static const struct er_sandbox_ops ops = { sizeof(struct er_sandbox_ops), NULL, old_wrap };

ER_PLUGIN_DEFINE(ER_KIND_SANDBOX, "oldminor", "1.0", "fixture: built against ABI 1.0", NULL,
		 old_create, old_destroy, &ops);
