/* SPDX-License-Identifier: MIT */
/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash that
 * nobody without the key can steer into collisions, for tables keyed by
 * strings a peer chooses.  About ten times cheaper than SHA-256 on an
 * event id. */
#ifndef ER_SIPHASH_H
#define ER_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const unsigned char key[16], const void *data, size_t n);

#endif
