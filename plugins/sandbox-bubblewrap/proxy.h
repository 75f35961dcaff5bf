/* SPDX-License-Identifier: MIT */
/*
 * The allow-list proxy of the bubblewrap backend: an HTTP CONNECT (and
 * plain HTTP forward) proxy served on a unix socket, on the runner's event
 * loop through host->watch_fd.  Every connection is non-blocking with
 * bounded buffers; a request for a host that is not on the list, or whose
 * address is loopback, link-local or private (unless pinned by
 * `proxy_hosts`), gets 403.
 */
#ifndef ER_BW_PROXY_H
#define ER_BW_PROXY_H

#include <stdint.h>

#include <environment-runner/plugin.h>

struct bw_proxy;

/* `domains`: NULL-terminated allow-list ("example.com" matches only
 * itself, "*.example.com" its subdomains, an optional ":PORT" limits the
 * port).  `pins`: NULL or "name=addr,..." resolved without DNS (tests).
 * `owner`: the uid that may connect to the socket, or (uint32_t)-1 for
 * the runner's own.  Called from create(). */
int bw_proxy_new(const struct er_host *host, void *host_ctx, char *const *domains,
		 const char *pins, uint32_t owner, struct bw_proxy **ret, struct er_error *err);
void bw_proxy_free(struct bw_proxy *px);
/* The host path of the listening socket. */
const char *bw_proxy_socket_path(const struct bw_proxy *px);

#endif
