/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 decoding and encoding helpers shared by the JSON reader, the JSON
 * writer and the work-secret decoder.  Header-only.
 *
 * utf8_decode() follows Unicode's "maximal subpart" practice (the WHATWG
 * decoder's, hence Node's and the SDK's): an ill-formed sequence consumes
 * the longest prefix that could have begun a well-formed one, at least one
 * byte, and decodes to one U+FFFD.  Overlong forms, UTF-16 surrogates
 * (ED A0..BF) and code points above U+10FFFF are ill-formed.
 */
#ifndef ER_UTF8_H
#define ER_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu

/* Decode the sequence at s[0..n) (n >= 1).  Returns the bytes consumed
 * (1..4) and sets *ret_cp to the code point, or to -1 when the sequence is
 * ill-formed. */
static inline size_t
utf8_decode(const unsigned char *s, size_t n, int32_t *ret_cp)
{
	unsigned char b0 = s[0];
	unsigned char lo = 0x80;
	unsigned char hi = 0xBF;
	size_t need;
	size_t i;
	uint32_t cp;

	if (b0 < 0x80) {
		*ret_cp = b0;
		return 1;
	}
	if (b0 >= 0xC2 && b0 <= 0xDF) {
		need = 1;
		cp = b0 & 0x1F;
	} else if (b0 >= 0xE0 && b0 <= 0xEF) {
		need = 2;
		cp = b0 & 0x0F;
		if (b0 == 0xE0)
			lo = 0xA0;
		else if (b0 == 0xED)
			hi = 0x9F;
	} else if (b0 >= 0xF0 && b0 <= 0xF4) {
		need = 3;
		cp = b0 & 0x07;
		if (b0 == 0xF0)
			lo = 0x90;
		else if (b0 == 0xF4)
			hi = 0x8F;
	} else {
		*ret_cp = -1;
		return 1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*ret_cp = -1;
			return i;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*ret_cp = (int32_t)cp;
	return need + 1;
}

/* Encode a scalar value (not a surrogate, <= U+10FFFF) into out[0..4).
 * Returns the length. */
static inline size_t
utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

#endif
