/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdint.h>
#include <string.h>

#include "address.h"

/* An IPv4 range: network (host order) and prefix length. */
struct v4_range {
	uint32_t net;
	unsigned bits;
};

/* Not public unicast (RFC 6890 and friends). */
static const struct v4_range v4_refused[] = {
	{ 0x00000000, 8 },  /* "this" network */
	{ 0x0a000000, 8 },  /* private */
	{ 0x64400000, 10 }, /* shared address space (CGNAT) */
	{ 0x7f000000, 8 },  /* loopback */
	{ 0xa9fe0000, 16 }, /* link-local */
	{ 0xac100000, 12 }, /* private */
	{ 0xc0000000, 24 }, /* IETF protocol assignments */
	{ 0xc0000200, 24 }, /* documentation */
	{ 0xc0586300, 24 }, /* 6to4 relay anycast */
	{ 0xc0a80000, 16 }, /* private */
	{ 0xc6120000, 15 }, /* benchmarking */
	{ 0xc6336400, 24 }, /* documentation */
	{ 0xcb007100, 24 }, /* documentation */
	{ 0xe0000000, 4 },  /* multicast */
	{ 0xf0000000, 4 },  /* reserved, broadcast */
};

static int
v4_in(uint32_t a, uint32_t net, unsigned bits)
{
	uint32_t mask = bits ? ~UINT32_C(0) << (32 - bits) : 0;

	return (a & mask) == net;
}

static int
v4_allowed(const uint8_t b[4], const struct px_local *local)
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];

	for (size_t i = 0; i < sizeof(v4_refused) / sizeof(v4_refused[0]); i++)
		if (v4_in(a, v4_refused[i].net, v4_refused[i].bits))
			return 0;
	for (size_t i = 0; local && i < local->n_v4; i++)
		if (memcmp(&local->v4[i], b, 4) == 0)
			return 0;
	return 1;
}

/* Does `a` start with the `bits` leading bits of `prefix`? */
static int
v6_in(const uint8_t *a, const uint8_t *prefix, unsigned bits)
{
	unsigned whole = bits / 8;
	unsigned rest = bits % 8;

	if (memcmp(a, prefix, whole) != 0)
		return 0;
	return !rest || ((a[whole] ^ prefix[whole]) & (0xff << (8 - rest))) == 0;
}

static int
v6_allowed(const struct in6_addr *addr, const struct px_local *local)
{
	static const uint8_t zero[16];
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t translated[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };
	static const uint8_t sixto4[2] = { 0x20, 0x02 };
	static const uint8_t teredo[4] = { 0x20, 0x01, 0, 0 };
	static const uint8_t doc[4] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const uint8_t discard[8] = { 0x01, 0 };
	const uint8_t *a = addr->s6_addr;

	/* IPv4 in IPv6: mapped, translated, compatible (:: and ::1 too), NAT64. */
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, translated, 12) == 0 ||
	    memcmp(a, zero, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return v4_allowed(a + 12, local);
	if (v6_in(a, sixto4, 16))
		return v4_allowed(a + 2, local);
	if (v6_in(a, nat64_local, 48) || v6_in(a, teredo, 32) || v6_in(a, doc, 32) ||
	    v6_in(a, discard, 64))
		return 0;
	/* Unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10,
	 * multicast ff00::/8. */
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0x80)) || a[0] == 0xff)
		return 0;
	for (size_t i = 0; local && i < local->n_v6; i++)
		if (memcmp(&local->v6[i], a, 16) == 0)
			return 0;
	return 1;
}

int
px_address_allowed(const struct sockaddr *sa, const struct px_local *local)
{
	if (sa->sa_family == AF_INET)
		return v4_allowed((const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr,
				  local);
	if (sa->sa_family == AF_INET6)
		return v6_allowed(&((const struct sockaddr_in6 *)sa)->sin6_addr, local);
	return 0;
}

int
px_address_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr)[0] == 127;
	return sa->sa_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

int
px_local_read(struct px_local *local)
{
	struct ifaddrs *list;

	memset(local, 0, sizeof(*local));
	if (getifaddrs(&list) < 0)
		return -errno;
	for (struct ifaddrs *i = list; i; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;

		if (!sa)
			continue;
		if (sa->sa_family == AF_INET && local->n_v4 < PX_LOCAL_MAX)
			local->v4[local->n_v4++] = ((const struct sockaddr_in *)sa)->sin_addr;
		else if (sa->sa_family == AF_INET6 && local->n_v6 < PX_LOCAL_MAX)
			local->v6[local->n_v6++] = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	}
	freeifaddrs(list);
	return 0;
}
