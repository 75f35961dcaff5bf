/* SPDX-License-Identifier: MIT */
/* The allow-list proxy's address policy (plugins/sandbox-bubblewrap/address.c). */
#include "config.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sandbox-bubblewrap/address.h"

static int
allowed(const char *text, const struct px_local *local)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
	} else {
		assert_int_equal(
			inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
		ss.ss_family = AF_INET6;
	}
	return px_address_allowed((struct sockaddr *)&ss, local);
}

static void
public_unicast_allowed(void **state)
{
	(void)state;
	assert_true(allowed("8.8.8.8", NULL));
	assert_true(allowed("1.1.1.1", NULL));
	assert_true(allowed("2606:4700:4700::1111", NULL));
	/* An IPv4 address carried in IPv6 is judged as that address. */
	assert_true(allowed("::ffff:8.8.8.8", NULL));
	assert_true(allowed("64:ff9b::808:808", NULL));
	assert_true(allowed("2002:808:808::1", NULL));
}

static void
special_ipv4_refused(void **state)
{
	static const char *const refused[] = {
		"0.0.0.0",     "10.1.2.3",    "100.64.0.1", "127.0.0.1",       "127.255.0.9",
		"169.254.1.1", "172.16.0.1",  "172.31.9.9", "192.0.0.8",       "192.0.2.1",
		"192.88.99.1", "192.168.1.1", "198.18.0.1", "198.51.100.1",    "203.0.113.1",
		"224.0.0.1",   "239.1.1.1",   "240.0.0.1",  "255.255.255.255",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (allowed(refused[i], NULL))
			fail_msg("%s allowed", refused[i]);
	}
	assert_true(allowed("172.32.0.1", NULL));
	assert_true(allowed("100.128.0.1", NULL));
}

static void
special_ipv6_refused(void **state)
{
	static const char *const refused[] = {
		"::",
		"::1",
		"fe80::1",
		"fec0::1",
		"fc00::1",
		"fd12:3456::1",
		"ff02::1",
		"2001:db8::1",
		"2001:0:4136:e378::1",
		/* Teredo */ "100::1",
		"64:ff9b:1::1",
		/* IPv4 forms of refused IPv4 addresses */
		"::ffff:127.0.0.1",
		"::127.0.0.1",
		"::ffff:0:127.0.0.1",
		"64:ff9b::7f00:1",
		"64:ff9b::a00:1",
		"2002:7f00:1::1",
		"2002:c0a8:101::1",
		"::ffff:10.0.0.1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (allowed(refused[i], NULL))
			fail_msg("%s allowed", refused[i]);
	}
}

static void
own_addresses_refused(void **state)
{
	struct px_local local;

	(void)state;
	memset(&local, 0, sizeof(local));
	inet_pton(AF_INET, "8.8.4.4", &local.v4[local.n_v4++]);
	inet_pton(AF_INET6, "2606:4700::6810:1", &local.v6[local.n_v6++]);
	assert_false(allowed("8.8.4.4", &local));
	assert_false(allowed("::ffff:8.8.4.4", &local));
	assert_false(allowed("64:ff9b::808:404", &local));
	assert_false(allowed("2002:808:404::1", &local));
	assert_false(allowed("::8.8.4.4", &local));
	assert_false(allowed("2606:4700::6810:1", &local));
	assert_true(allowed("8.8.8.8", &local));
	assert_true(allowed("2606:4700::6810:2", &local));
}

static void
this_host_read(void **state)
{
	struct px_local local;
	struct sockaddr_in lo;

	(void)state;
	assert_int_equal(px_local_read(&local), 0);
	/* Loopback is an address of every host, refused on two counts. */
	memset(&lo, 0, sizeof(lo));
	lo.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &lo.sin_addr);
	assert_true(px_address_loopback((struct sockaddr *)&lo));
	assert_false(px_address_allowed((struct sockaddr *)&lo, &local));
	for (size_t i = 0; i < local.n_v4; i++) {
		struct sockaddr_in sa;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr = local.v4[i];
		assert_false(px_address_allowed((struct sockaddr *)&sa, &local));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(public_unicast_allowed), cmocka_unit_test(special_ipv4_refused),
		cmocka_unit_test(special_ipv6_refused),	  cmocka_unit_test(own_addresses_refused),
		cmocka_unit_test(this_host_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
