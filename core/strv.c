/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

static int
strv_reserve(struct strv *s)
{
	if (s->n + 2 > s->alloc) {
		size_t alloc = s->alloc ? s->alloc * 2 : 8;
		char **p = realloc(s->v, alloc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->v = p;
		s->alloc = alloc;
	}
	return 0;
}

int
strv_push_take(struct strv *s, char *str)
{
	if (!str || strv_reserve(s) < 0) {
		free(str);
		return -ENOMEM;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

int
strv_push(struct strv *s, const char *str)
{
	return strv_push_take(s, strdup(str));
}

static ssize_t
strv_find_env(const struct strv *s, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < s->n; i++) {
		if (strncmp(s->v[i], name, len) == 0 && s->v[i][len] == '=')
			return (ssize_t)i;
	}
	return -1;
}

int
strv_setenv(struct strv *s, const char *name, const char *value)
{
	size_t nl = strlen(name);
	size_t vl = strlen(value);
	char *e = malloc(nl + vl + 2);
	ssize_t i;

	if (!e)
		return -ENOMEM;
	memcpy(e, name, nl);
	e[nl] = '=';
	memcpy(e + nl + 1, value, vl + 1);
	i = strv_find_env(s, name);
	if (i >= 0) {
		free(s->v[i]);
		s->v[i] = e;
		return 0;
	}
	return strv_push_take(s, e);
}

const char *
strv_getenv(const struct strv *s, const char *name)
{
	ssize_t i = strv_find_env(s, name);

	return i < 0 ? NULL : s->v[i] + strlen(name) + 1;
}

void
strv_release(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->alloc = 0;
}

char *const *
strv_array(struct strv *s)
{
	static char *empty[] = { NULL };

	return s->v ? s->v : empty;
}
