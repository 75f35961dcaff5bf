/* SPDX-License-Identifier: MIT */
/*
 * Which addresses the allow-list proxy may connect to (address.c): public
 * unicast only, never one of the runner host's own, in whichever form an
 * IPv6 address carries an IPv4 one.
 */
#ifndef ER_BW_ADDRESS_H
#define ER_BW_ADDRESS_H

#include <stddef.h>

#include <netinet/in.h>
#include <sys/socket.h>

#define PX_LOCAL_MAX 64

/* The host's own addresses (its interfaces'), as raw bytes. */
struct px_local {
	struct in_addr v4[PX_LOCAL_MAX];
	size_t n_v4;
	struct in6_addr v6[PX_LOCAL_MAX];
	size_t n_v6;
};

/* Fill `local` from getifaddrs(3) (blocks briefly: not on the loop);
 * 0 or -errno. */
int px_local_read(struct px_local *local);

/* May the proxy connect to `sa`?  1 for a public unicast address that is
 * not one of `local` (NULL: none known) and carries no refused IPv4
 * address (IPv4-mapped, -compatible, -translated, NAT64 64:ff9b::/96,
 * 6to4 2002::/16); 0 otherwise, also for Teredo, local-use NAT64,
 * documentation, discard, unique-local, link-local, multicast. */
int px_address_allowed(const struct sockaddr *sa, const struct px_local *local);

/* Is `sa` a loopback address (127.0.0.0/8, ::1)? */
int px_address_loopback(const struct sockaddr *sa);

#endif
