/* SPDX-License-Identifier: MIT */
/*
 * Logging.  Each call builds one complete line in memory and hands it to the
 * kernel with a single write(2) on an O_APPEND descriptor, so lines from
 * several processes sharing a file never interleave.
 *
 * logfmt values are quoted when they are empty or contain a space, '=', '"'
 * or a control character; inside quotes '"' and '\' are backslash-escaped and
 * control characters appear as \n, \r, \t or \u00XX (the escapes JSON uses,
 * so one unescaper reads both formats).  Invalid UTF-8 becomes U+FFFD in both
 * formats, so a JSON line is always valid JSON.
 *
 * Secrets: the message and the ids are masked before escaping, and the
 * finished line once more, so a registered secret never reaches the sink,
 * whatever the formatting did to it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "nbio.h"
#include "wipe.h"

#define LOG_LINE_MAX (64u * 1024)
#define LOG_SECRET_MIN 8
#define LOG_REDACTED "[redacted]"

static struct {
	int fd; /* -1: stderr */
	char *path;
	enum log_format format;
	int max_level;
	char **secrets;
	size_t n_secrets;
} log_state = { -1, NULL, LOG_FORMAT_LOGFMT, LOG_LEVEL_INFO, NULL, 0 };

static const char *const level_names[] = {
	[LOG_LEVEL_ERR] = "error", [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info", [LOG_LEVEL_DEBUG] = "debug",
};

static int
open_log_file(const char *path, int *ret_fd)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int
log_open(const char *path, enum log_format format, int max_level)
{
	char *copy = NULL;
	int fd = -1;
	int r;

	if (format != LOG_FORMAT_LOGFMT && format != LOG_FORMAT_JSON)
		return -EINVAL;
	if (max_level < LOG_LEVEL_ERR || max_level > LOG_LEVEL_DEBUG)
		return -EINVAL;
	if (path) {
		copy = strdup(path);
		if (!copy)
			return -ENOMEM;
		r = open_log_file(path, &fd);
		if (r < 0) {
			free(copy);
			return r;
		}
	}
	if (log_state.fd >= 0)
		close(log_state.fd);
	free(log_state.path);
	log_state.fd = fd;
	log_state.path = copy;
	log_state.format = format;
	log_state.max_level = max_level;
	return 0;
}

int
log_reopen(void)
{
	int fd = -1;
	int r;

	if (!log_state.path)
		return 0;
	r = open_log_file(log_state.path, &fd);
	if (r < 0)
		return r; /* keep writing to the old file */
	if (log_state.fd >= 0)
		close(log_state.fd);
	log_state.fd = fd;
	return 0;
}

void
log_close(void)
{
	if (log_state.fd >= 0)
		close(log_state.fd);
	log_state.fd = -1;
	free(log_state.path);
	log_state.path = NULL;
	for (size_t i = 0; i < log_state.n_secrets; i++) {
		secret_free(log_state.secrets[i]);
	}
	free(log_state.secrets);
	log_state.secrets = NULL;
	log_state.n_secrets = 0;
}

int
log_max_level(void)
{
	return log_state.max_level;
}

int
log_level_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	if (strcasecmp(s, "error") == 0 || strcasecmp(s, "err") == 0)
		return LOG_LEVEL_ERR;
	if (strcasecmp(s, "warning") == 0 || strcasecmp(s, "warn") == 0)
		return LOG_LEVEL_WARNING;
	if (strcasecmp(s, "notice") == 0)
		return LOG_LEVEL_NOTICE;
	if (strcasecmp(s, "info") == 0)
		return LOG_LEVEL_INFO;
	if (strcasecmp(s, "debug") == 0)
		return LOG_LEVEL_DEBUG;
	return -EINVAL;
}

const char *
log_level_to_string(int level)
{
	if (level < LOG_LEVEL_ERR)
		level = LOG_LEVEL_ERR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	return level_names[level];
}

int
log_add_secret(const char *secret)
{
	char **v;
	char *copy;

	if (!secret)
		return -EINVAL;
	if (strlen(secret) < LOG_SECRET_MIN)
		return 0;
	for (size_t i = 0; i < log_state.n_secrets; i++)
		if (strcmp(log_state.secrets[i], secret) == 0)
			return 0;
	copy = strdup(secret);
	if (!copy)
		return -ENOMEM;
	v = realloc(log_state.secrets, (log_state.n_secrets + 1) * sizeof(*v));
	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	v[log_state.n_secrets++] = copy;
	log_state.secrets = v;
	return 0;
}

void
log_remove_secret(const char *secret)
{
	if (!secret)
		return;
	for (size_t i = 0; i < log_state.n_secrets; i++) {
		if (strcmp(log_state.secrets[i], secret) != 0)
			continue;
		secret_free(log_state.secrets[i]);
		log_state.secrets[i] = log_state.secrets[--log_state.n_secrets];
		return;
	}
}

/* Replace every registered secret in b, in place. */
static void
mask_secrets(struct buf *b)
{
	for (size_t i = 0; i < log_state.n_secrets; i++) {
		const char *sec = log_state.secrets[i];
		size_t n = strlen(sec);
		size_t repl = sizeof(LOG_REDACTED) - 1;
		char *p;

		/* repl <= LOG_SECRET_MIN <= n, so the line never grows. */
		while (b->data && (p = memmem(b->data, b->len, sec, n))) {
			memcpy(p, LOG_REDACTED, repl);
			memmove(p + repl, p + n, b->len - (size_t)(p - b->data) - n + 1);
			b->len -= n - repl;
		}
	}
}

/* Length of the valid UTF-8 sequence at s (at most `left` bytes), 0 if invalid. */
static size_t
utf8_seq_len(const unsigned char *s, size_t left)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
logfmt_needs_quotes(const char *s, size_t len)
{
	if (len == 0)
		return 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7f || c >= 0x80)
			return 1;
	}
	return 0;
}

/* Append s escaped as the inside of a JSON string (also used for quoted
 * logfmt values).  Errors (-ENOSPC) are left to the caller's final check. */
static void
put_escaped(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n;

		switch (c) {
		case '"':
			buf_puts(b, "\\\"");
			i++;
			continue;
		case '\\':
			buf_puts(b, "\\\\");
			i++;
			continue;
		case '\n':
			buf_puts(b, "\\n");
			i++;
			continue;
		case '\r':
			buf_puts(b, "\\r");
			i++;
			continue;
		case '\t':
			buf_puts(b, "\\t");
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\u%04x", c);
			i++;
			continue;
		}
		n = utf8_seq_len((const unsigned char *)s + i, len - i);
		if (n == 0) {
			buf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
			continue;
		}
		buf_append(b, s + i, n);
		i += n;
	}
}

/* Append ` key=value` (logfmt) or `,"key":"value"` (JSON). */
static void
put_field(struct buf *b, enum log_format format, const char *key, const char *value, size_t len)
{
	if (format == LOG_FORMAT_JSON) {
		buf_printf(b, "%s\"%s\":\"", b->len > 1 ? "," : "", key);
		put_escaped(b, value, len);
		buf_putc(b, '"');
		return;
	}
	buf_printf(b, "%s%s=", b->len ? " " : "", key);
	if (logfmt_needs_quotes(value, len)) {
		buf_putc(b, '"');
		put_escaped(b, value, len);
		buf_putc(b, '"');
	} else {
		buf_append(b, value, len);
	}
}

static void
put_masked_field(struct buf *b, enum log_format format, const char *key, const char *value)
{
	struct buf tmp = BUF_INIT(LOG_LINE_MAX);

	if (buf_puts(&tmp, value) == 0) {
		mask_secrets(&tmp);
		put_field(b, format, key, tmp.data, tmp.len);
	} else {
		put_field(b, format, key, "(unloggable)", 12);
	}
	buf_release(&tmp);
}

static void
format_time(char *out, size_t outlen)
{
	struct timespec ts;
	struct tm tm;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !gmtime_r(&ts.tv_sec, &tm)) {
		snprintf(out, outlen, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(ts.tv_nsec / 1000000));
}

void
log_emitv(int level, const char *component, const struct log_ctx *ctx, const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT(LOG_LINE_MAX);
	struct buf line = BUF_INIT(8 * LOG_LINE_MAX);
	enum log_format format = log_state.format;
	char when[64];
	int saved_errno = errno;
	int r;

	if (level > log_state.max_level)
		return;
	errno = saved_errno; /* for %m */
	r = buf_vprintf(&msg, fmt, ap);
	if (r == -ENOSPC) {
		buf_reset(&msg);
		r = buf_puts(&msg, "(message too long, dropped)");
	}
	if (r < 0 || !msg.data)
		goto out;
	/* A trailing newline would become a literal "\n" at the end. */
	while (msg.len > 0 && msg.data[msg.len - 1] == '\n')
		buf_truncate(&msg, msg.len - 1);
	mask_secrets(&msg);

	format_time(when, sizeof(when));
	if (format == LOG_FORMAT_JSON)
		buf_putc(&line, '{');
	put_field(&line, format, "time", when, strlen(when));
	put_field(&line, format, "level", log_level_to_string(level),
		  strlen(log_level_to_string(level)));
	put_masked_field(&line, format, "component", component ? component : "main");
	if (ctx && ctx->work_id)
		put_masked_field(&line, format, "work_id", ctx->work_id);
	if (ctx && ctx->session_id)
		put_masked_field(&line, format, "session_id", ctx->session_id);
	put_field(&line, format, "msg", msg.data, msg.len);
	if (format == LOG_FORMAT_JSON)
		buf_putc(&line, '}');
	if (buf_putc(&line, '\n') < 0)
		goto out; /* partial lines are never written */
	mask_secrets(&line);
	/* A failure has nowhere left to be reported. */
	(void)nbio_write_all(log_state.fd >= 0 ? log_state.fd : STDERR_FILENO, line.data, line.len);
out:
	buf_release(&msg);
	buf_release(&line);
	errno = saved_errno;
}

void
log_emit(int level, const char *component, const struct log_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emitv(level, component, ctx, fmt, ap);
	va_end(ap);
}
