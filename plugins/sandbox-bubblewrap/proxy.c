/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>

#include "proxy.h"

int
bw_proxy_new(const struct er_host *host, void *host_ctx, char *const *domains, const char *pins,
	     uint32_t owner, struct bw_proxy **ret, struct er_error *err)
{
	return host->err_set(err, -ENOTSUP, "allowlist: not built yet");
}

void
bw_proxy_free(struct bw_proxy *px)
{
}

const char *
bw_proxy_socket_path(const struct bw_proxy *px)
{
	return "";
}
