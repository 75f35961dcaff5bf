/* SPDX-License-Identifier: MIT */
/*
 * The allow-list proxy of the bubblewrap backend: an HTTP CONNECT (and
 * plain HTTP forward) proxy on the runner's event loop (host->watch_fd).
 * Each sandbox's relay (relay.c) hands the proxy the socket it listens on
 * inside the sandbox; the proxy accepts from it.  Every connection is
 * non-blocking with bounded buffers and deadlines, and the sandboxes of one
 * session share a bounded number of connections.  A request for a host
 * or port that is not on the list, or whose addresses are not public
 * unicast or are the runner host's own (address.h), gets 403.
 */
#ifndef ER_BW_PROXY_H
#define ER_BW_PROXY_H

#include <stdint.h>

#include <environment-runner/plugin.h>

struct bw_proxy;

/* `domains`: NULL-terminated allow-list ("example.com" matches only
 * itself, "*.example.com" its subdomains; port 443 unless the entry ends
 * in ":PORT").  `pins`: NULL or "name=addr,..." resolved without DNS
 * (tests); a pinned loopback address is allowed.
 * Called from create(). */
int bw_proxy_new(const struct er_host *host, void *host_ctx, char *const *domains, const char *pins,
		 struct bw_proxy **ret, struct er_error *err);
/* Closes every connection. */
void bw_proxy_free(struct bw_proxy *px);
/* A channel for one sandbox of session `session_id` (NULL: none): returns
 * the sandbox's end (close-on-exec), to hand to er-sandbox-relay, or
 * -errno.  The proxy watches its own end: the relay's listener arrives
 * there, and its hang-up ends the sandbox's connections. */
int bw_proxy_channel(struct bw_proxy *px, const char *session_id);

#endif
