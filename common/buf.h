/* SPDX-License-Identifier: MIT */
/*
 * Capped, growable byte buffers.  Every buffer fed from the network or a
 * child process is one of these, so no peer can make the runner allocate
 * without bound (curl's dynbuf idea).
 *
 * `data` is always NUL-terminated once anything was appended, so text can be
 * used as a C string; `len` excludes the terminator.
 */
#ifndef ER_BUF_H
#define ER_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t alloc;
	size_t max; /* appends that would make len exceed this fail with -ENOSPC */
};

#define BUF_INIT(max_)                                                                             \
	{                                                                                          \
		NULL, 0, 0, (max_)                                                                 \
	}

void buf_init(struct buf *b, size_t max);
/* Free the storage and reset to empty; keeps `max`. */
void buf_release(struct buf *b);
/* Empty the buffer, keeping its storage. */
void buf_reset(struct buf *b);

/* 0, -ENOSPC past `max` (nothing appended), or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Keep only the first n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);

/* Hand the storage to the caller (free() it); the buffer is left empty.
 * Never NULL unless out of memory: an empty buffer gives "". */
char *buf_steal(struct buf *b);

#endif
