/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4), for content hashes the memory-store API compares
 * and the name of a worker's state directory. */
#ifndef ER_SHA256_H
#define ER_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	unsigned char block[64];
	size_t fill;
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t n);
/* The 32 bytes of the digest. */
void sha256_final(struct sha256 *c, unsigned char out[32]);
/* 64 lowercase hex digits and a NUL. */
void sha256_final_hex(struct sha256 *c, char hex[65]);
/* One call: the hex digest of `n` bytes. */
void sha256_hex(const void *data, size_t n, char hex[65]);

#endif
