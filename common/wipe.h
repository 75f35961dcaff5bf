/* SPDX-License-Identifier: MIT */
/*
 * Wiping memory that held a credential (an environment key, a sessions
 * token, a work secret), before it is freed or reused.  The one copy of
 * this primitive: every module that holds a secret calls it.
 */
#ifndef ER_WIPE_H
#define ER_WIPE_H

#include <stddef.h>

/* Zero `n` bytes at `p` (which may be NULL) in a way the compiler cannot
 * drop as a dead store: explicit_bzero where libc has it, volatile stores
 * elsewhere. */
void secret_wipe(void *p, size_t n);
/* Wipe a NUL-terminated string, then free() it.  Accepts NULL. */
void secret_free(char *s);

#endif
