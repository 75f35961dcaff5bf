/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "base64.h"

static const char url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c in either alphabet, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int
base64_decode(const char *in, size_t n, char **ret, size_t *ret_len)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t end;
	size_t i;
	size_t o = 0;
	uint32_t acc = 0;
	int nacc = 0;
	char *out;

	if ((!in && n) || !ret)
		return -EINVAL;
	/* Decoding stops at the first '='; only more padding may follow. */
	for (end = 0; end < n && u[end] != '='; end++)
		if (b64_value(u[end]) < 0)
			return -EINVAL;
	for (i = end; i < n; i++)
		if (u[i] != '=')
			return -EINVAL;

	out = malloc(end / 4 * 3 + 3 + 1);
	if (!out)
		return -ENOMEM;
	for (i = 0; i < end; i++) {
		acc = (acc << 6) | (uint32_t)b64_value(u[i]);
		if (++nacc == 4) {
			out[o++] = (char)(acc >> 16);
			out[o++] = (char)(acc >> 8);
			out[o++] = (char)acc;
			acc = 0;
			nacc = 0;
		}
	}
	/* Leftover bits that do not fill a byte are dropped, as by Node:
	 * 2 characters give 1 byte, 3 give 2, a single one gives none. */
	if (nacc == 2) {
		out[o++] = (char)(acc >> 4);
	} else if (nacc == 3) {
		out[o++] = (char)(acc >> 10);
		out[o++] = (char)(acc >> 2);
	}
	out[o] = '\0';
	*ret = out;
	if (ret_len)
		*ret_len = o;
	return 0;
}

int
base64url_encode(const void *in, size_t n, char **ret)
{
	const unsigned char *u = in;
	size_t i;
	size_t o = 0;
	char *out;

	if ((!in && n) || !ret)
		return -EINVAL;
	if (n > (SIZE_MAX - 4) / 4 * 3)
		return -ENOMEM;
	out = malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return -ENOMEM;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)u[i] << 16 | (uint32_t)u[i + 1] << 8 | u[i + 2];

		out[o++] = url_alphabet[(v >> 18) & 63];
		out[o++] = url_alphabet[(v >> 12) & 63];
		out[o++] = url_alphabet[(v >> 6) & 63];
		out[o++] = url_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)u[i] << 16;

		out[o++] = url_alphabet[(v >> 18) & 63];
		out[o++] = url_alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)u[i] << 16 | (uint32_t)u[i + 1] << 8;

		out[o++] = url_alphabet[(v >> 18) & 63];
		out[o++] = url_alphabet[(v >> 12) & 63];
		out[o++] = url_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	*ret = out;
	return 0;
}
