/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "sse.h"

static const char bom[3] = { '\xEF', '\xBB', '\xBF' };

/* The state of a parser that has read nothing. */
static void
reset_state(struct sse_parser *p)
{
	p->has_data = 0;
	p->has_event = 0;
	p->saw_cr = 0;
	p->at_start = 1;
	p->oversized = 0;
	p->skip_line = 0;
}

void
sse_parser_init(struct sse_parser *p, size_t max_message, sse_message_cb cb, void *userdata)
{
	buf_init(&p->line, max_message);
	buf_init(&p->event, max_message);
	buf_init(&p->data, max_message);
	reset_state(p);
	p->on_oversized = NULL;
	p->cb = cb;
	p->userdata = userdata;
}

void
sse_parser_skip_oversized(struct sse_parser *p, sse_oversized_cb cb)
{
	p->on_oversized = cb;
}

void
sse_parser_release(struct sse_parser *p)
{
	buf_release(&p->line);
	buf_release(&p->event);
	buf_release(&p->data);
	reset_state(p);
}

static void
clear_message(struct sse_parser *p)
{
	buf_reset(&p->event);
	buf_reset(&p->data);
	p->has_data = 0;
	p->has_event = 0;
	p->oversized = 0;
}

void
sse_parser_reset(struct sse_parser *p)
{
	buf_reset(&p->line);
	buf_reset(&p->event);
	buf_reset(&p->data);
	reset_state(p);
}

/* The message passed the cap: -EMSGSIZE, or it is dropped and reported
 * when it ends. */
static int
message_too_large(struct sse_parser *p)
{
	if (!p->on_oversized)
		return -EMSGSIZE;
	/* Its bytes are not kept, nor the memory they took. */
	buf_release(&p->data);
	p->oversized = 1;
	return 0;
}

/* The line pending in p->line followed by `rest` passed the cap;
 * `unterminated`: its end is still to come.  A comment concerns no message;
 * an event line names one, whose name is then unknown. */
static int
line_too_long(struct sse_parser *p, const char *rest, size_t rest_len, int unterminated)
{
	char head[6];
	size_t n = 0;
	int r;

	for (size_t i = 0; i < p->line.len && n < sizeof(head); i++)
		head[n++] = p->line.data[i];
	for (size_t i = 0; i < rest_len && n < sizeof(head); i++)
		head[n++] = rest[i];
	r = n && head[0] == ':' && p->on_oversized ? 0 : message_too_large(p);
	if (r == 0 && n == sizeof(head) && memcmp(head, "event:", 6) == 0) {
		buf_reset(&p->event);
		p->has_event = 1;
	}
	buf_release(&p->line);
	p->skip_line = unterminated && r == 0;
	return r;
}

/* A blank line.  Like the SDK: nothing happens without an event name or
 * data; a message without an `event:` line is dropped. */
static int
dispatch(struct sse_parser *p)
{
	int r = 0;

	if (p->oversized) {
		if (p->has_event)
			r = p->on_oversized(p->userdata, p->event.data ? p->event.data : "");
	} else if (p->has_event && (p->event.len > 0 || p->has_data))
		r = p->cb(p->userdata, p->event.data ? p->event.data : "",
			  p->data.data ? p->data.data : "", p->data.len);
	clear_message(p);
	return r;
}

/* One complete line, without its terminator. */
static int
process_line(struct sse_parser *p, const char *l, size_t n)
{
	const char *colon;
	const char *value;
	size_t flen;
	size_t vlen;
	int r;

	if (p->at_start) {
		p->at_start = 0;
		if (n >= sizeof(bom) && memcmp(l, bom, sizeof(bom)) == 0) {
			l += sizeof(bom);
			n -= sizeof(bom);
		}
	}
	if (n == 0)
		return dispatch(p);
	if (l[0] == ':')
		return 0; /* a comment or keep-alive */

	colon = memchr(l, ':', n);
	if (colon) {
		flen = (size_t)(colon - l);
		value = colon + 1;
		vlen = n - flen - 1;
		if (vlen > 0 && value[0] == ' ') {
			value++;
			vlen--;
		}
	} else {
		flen = n;
		value = "";
		vlen = 0;
	}

	if (flen == 5 && memcmp(l, "event", 5) == 0) {
		buf_reset(&p->event);
		r = buf_append(&p->event, value, vlen);
		p->has_event = 1;
		if (r == -ENOSPC)
			return message_too_large(p);
		if (r < 0)
			return r;
	} else if (flen == 4 && memcmp(l, "data", 4) == 0) {
		if (p->oversized)
			return 0;
		if (p->has_data) {
			r = buf_putc(&p->data, '\n');
			if (r == 0)
				r = buf_append(&p->data, value, vlen);
		} else {
			r = buf_append(&p->data, value, vlen);
		}
		p->has_data = 1;
		if (r == -ENOSPC)
			return message_too_large(p);
		if (r < 0)
			return r;
	}
	/* id, retry and unknown fields are ignored, as by the SDK */
	return 0;
}

int
sse_parser_feed(struct sse_parser *p, const char *chunk, size_t n)
{
	size_t i = 0;
	int r;

	while (i < n) {
		const char *line;
		size_t len = 0;
		size_t j;

		if (p->saw_cr) {
			/* the CR ending the last chunk was half of a CRLF */
			p->saw_cr = 0;
			if (chunk[i] == '\n') {
				i++;
				continue;
			}
		}
		for (j = i; j < n && chunk[j] != '\n' && chunk[j] != '\r'; j++)
			;
		if (p->skip_line) {
			/* The rest of a line past the cap: dropped. */
			if (j == n)
				return 0;
			p->skip_line = 0;
			line = NULL;
		} else if (j == n) {
			r = buf_append(&p->line, chunk + i, n - i);
			if (r == -ENOSPC)
				return line_too_long(p, chunk + i, n - i, 1);
			return r < 0 ? r : 0;
		} else if (p->line.len > 0) {
			r = buf_append(&p->line, chunk + i, j - i);
			if (r == -ENOSPC)
				r = line_too_long(p, chunk + i, j - i, 0);
			if (r < 0)
				return r;
			line = p->line.len ? p->line.data : NULL;
			len = p->line.len;
		} else if (j - i > p->line.max) {
			r = line_too_long(p, chunk + i, j - i, 0);
			if (r < 0)
				return r;
			line = NULL;
		} else {
			line = chunk + i;
			len = j - i;
		}

		if (chunk[j] == '\r') {
			if (j + 1 == n)
				p->saw_cr = 1;
			else if (chunk[j + 1] == '\n')
				j++;
		}
		i = j + 1;

		/* A line past the cap was dropped: nothing to process. */
		r = line ? process_line(p, line, len) : 0;
		buf_reset(&p->line);
		if (r < 0)
			return r;
	}
	return 0;
}
