/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void
buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Make room for `extra` more bytes plus the terminator. */
static int
buf_grow(struct buf *b, size_t extra)
{
	size_t need;
	size_t alloc;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return -ENOSPC;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	alloc = b->alloc ? b->alloc : 64;
	while (alloc < need)
		alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
	if (alloc > b->max + 1)
		alloc = b->max + 1;
	p = realloc(b->data, alloc);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->alloc = alloc;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	int r;

	r = buf_grow(b, n);
	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

/* Printed straight into the room the buffer has, and again after growing
 * it only when that was too short: one formatting pass for most calls.
 * The room never passes `max` (buf_grow() allocates at most max + 1). */
int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	size_t room;
	int n;
	int r;

	r = buf_grow(b, 0);
	if (r < 0)
		return r;
	room = b->alloc - b->len;
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, room, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (size_t)n >= room) {
		b->data[b->len] = '\0';
		if (n < 0)
			return -EINVAL;
		r = buf_grow(b, (size_t)n);
		if (r < 0)
			return r;
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_truncate(struct buf *b, size_t n)
{
	if (n < b->len) {
		b->len = n;
		b->data[n] = '\0';
	}
}

char *
buf_steal(struct buf *b)
{
	char *p = b->data;

	if (!p)
		p = strdup("");
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}
