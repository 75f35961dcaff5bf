/* SPDX-License-Identifier: MIT */
/* Minimal placeholder; the full module replaces it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int max_level = LOG_LEVEL_INFO;

int
log_open(const char *path, enum log_format format, int level)
{
	max_level = level;
	return 0;
}

int
log_max_level(void)
{
	return max_level;
}

void
log_emitv(int level, const char *component, const struct log_ctx *ctx, const char *fmt, va_list ap)
{
	if (level > max_level)
		return;
	fprintf(stderr, "level=%d component=%s msg=\"", level, component);
	vfprintf(stderr, fmt, ap);
	fputs("\"\n", stderr);
}

void
log_emit(int level, const char *component, const struct log_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emitv(level, component, ctx, fmt, ap);
	va_end(ap);
}
