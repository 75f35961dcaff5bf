/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event, logfmt (default) or JSON lines, with time,
 * level, component and, where they apply, work and session ids.
 *
 *   time=2026-11-26T08:00:00.123Z level=info component=poller work_id=work_1 msg="claimed"
 *
 * Secrets are kept out twice: callers never pass them, and every string
 * registered with log_add_secret() is masked as
 * "[redacted]" if it ever appears in a line.  Reusable modules (json, sse,
 * http, loader) do not log; their callers do, once.
 */
#ifndef ER_LOG_H
#define ER_LOG_H

#include <stdarg.h>

/* Levels are syslog's, as in the plugin ABI (ER_LOG_*). */
#define LOG_LEVEL_ERR 3
#define LOG_LEVEL_WARNING 4
#define LOG_LEVEL_NOTICE 5
#define LOG_LEVEL_INFO 6
#define LOG_LEVEL_DEBUG 7

enum log_format {
	LOG_FORMAT_LOGFMT = 0,
	LOG_FORMAT_JSON,
};

/* The ids a line is about; any member may be NULL. */
struct log_ctx {
	const char *work_id;
	const char *session_id;
};

/* Where and how to log; stderr until log_open() says otherwise.
 * `path` NULL means stderr.  0 or -errno. */
int log_open(const char *path, enum log_format format, int max_level);
/* Reopen the file after rotation (SIGHUP). */
int log_reopen(void);
void log_close(void);
int log_max_level(void);

/* Parse "error|warning|notice|info|debug" (also "warn", "err"): level or -EINVAL. */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

/* Mask this value wherever it would appear in a line.  The string is copied;
 * values shorter than 8 bytes are ignored (they would mask ordinary words). */
int log_add_secret(const char *secret);
void log_remove_secret(const char *secret);

void log_emit(int level, const char *component, const struct log_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void log_emitv(int level, const char *component, const struct log_ctx *ctx, const char *fmt,
	       va_list ap) __attribute__((format(printf, 4, 0)));

#define log_error(comp, ...) log_emit(LOG_LEVEL_ERR, (comp), NULL, __VA_ARGS__)
#define log_warning(comp, ...) log_emit(LOG_LEVEL_WARNING, (comp), NULL, __VA_ARGS__)
#define log_notice(comp, ...) log_emit(LOG_LEVEL_NOTICE, (comp), NULL, __VA_ARGS__)
#define log_info(comp, ...) log_emit(LOG_LEVEL_INFO, (comp), NULL, __VA_ARGS__)
#define log_debug(comp, ...) log_emit(LOG_LEVEL_DEBUG, (comp), NULL, __VA_ARGS__)

#endif
