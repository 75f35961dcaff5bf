/* SPDX-License-Identifier: MIT */
/* NULL-terminated, owned string vectors (argv, envp). */
#ifndef ER_STRV_H
#define ER_STRV_H

#include <stddef.h>

struct strv {
	char **v; /* NULL-terminated once anything was pushed */
	size_t n;
	size_t alloc;
};

#define STRV_INIT                                                                                  \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

int strv_push(struct strv *s, const char *str);
int strv_push_take(struct strv *s, char *str);
/* Set NAME=value, replacing an earlier NAME. */
int strv_setenv(struct strv *s, const char *name, const char *value);
/* The value of NAME in an envp-style vector, or NULL. */
const char *strv_getenv(const struct strv *s, const char *name);
void strv_release(struct strv *s);
/* An empty vector still yields a valid NULL-terminated array. */
char *const *strv_array(struct strv *s);

#endif
