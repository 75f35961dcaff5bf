/* SPDX-License-Identifier: MIT */
/* The bubblewrap backend's seccomp program (seccomp.c). */
#ifndef ER_BW_SECCOMP_H
#define ER_BW_SECCOMP_H

#include <stddef.h>

#include <linux/filter.h>

#define BW_SECCOMP_MAX 256

/* Is there a program for this architecture (x86-64, aarch64)? */
int bw_seccomp_supported(void);
/* Fill `out` (room for `max` instructions); 0 with *ret_len, -ENOTSUP on
 * another architecture, -E2BIG when `max` is too small. */
int bw_seccomp_build(struct sock_filter *out, size_t max, size_t *ret_len);

#endif
