/* SPDX-License-Identifier: MIT */
/* Randomness for jitter, ids and sentinels, from the kernel's generator. */
#ifndef ER_RAND_H
#define ER_RAND_H

#include <stddef.h>

/* Uniform in [0, 1). */
double rand_unit(void);
/* Fill with random bytes: 0 or -errno. */
int rand_bytes(void *p, size_t n);
/* A random RFC 4122 version 4 UUID, 36 characters plus NUL. */
int rand_uuid(char out[37]);

#endif
