/* SPDX-License-Identifier: MIT */
/* Fixture: an executor built against the frozen ABI 1.1 header that
 * chooses its flags in create() by writing them into its ops, as 1.1
 * allowed.  A later runner must still read them. */
#include <stdlib.h>

#include "plugin-v1.1.h"

#if ER_ABI_MAJOR != 1 || ER_ABI_MINOR != 1
#error "plugin-v1.1.h must stay the ABI 1.1 header"
#endif

static struct er_executor_ops ops;

static int
minor1_create(const struct er_host *host, void *host_ctx, void **ret_state, struct er_error *err)
{
	ops.flags = ER_EXECUTOR_NO_STREAM | ER_EXECUTOR_OWNS_LEASE;
	*ret_state = NULL;
	return 0;
}

static void
minor1_destroy(void *state)
{
}

static struct er_executor_ops ops = {
	.struct_size = sizeof(struct er_executor_ops),
	.flags = 0,
};

ER_PLUGIN_DEFINE(ER_KIND_EXECUTOR, "minor1", "1.1", "fixture: built against ABI 1.1", NULL,
		 minor1_create, minor1_destroy, &ops);
