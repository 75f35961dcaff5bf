/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "wipe.h"

void
secret_wipe(void *p, size_t n)
{
	if (!p)
		return;
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	/* Volatile stores, so that they are not optimised out. */
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
#endif
}

void
secret_free(char *s)
{
	if (!s)
		return;
	secret_wipe(s, strlen(s));
	free(s);
}
