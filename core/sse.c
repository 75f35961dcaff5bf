/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "sse.h"

static const char bom[3] = { '\xEF', '\xBB', '\xBF' };

void
sse_parser_init(struct sse_parser *p, size_t max_message, sse_message_cb cb, void *userdata)
{
	buf_init(&p->line, max_message);
	buf_init(&p->event, max_message);
	buf_init(&p->data, max_message);
	p->has_data = 0;
	p->has_event = 0;
	p->saw_cr = 0;
	p->at_start = 1;
	p->cb = cb;
	p->userdata = userdata;
}

void
sse_parser_release(struct sse_parser *p)
{
	buf_release(&p->line);
	buf_release(&p->event);
	buf_release(&p->data);
	p->has_data = 0;
	p->has_event = 0;
	p->saw_cr = 0;
	p->at_start = 1;
}

static void
clear_message(struct sse_parser *p)
{
	buf_reset(&p->event);
	buf_reset(&p->data);
	p->has_data = 0;
	p->has_event = 0;
}

void
sse_parser_reset(struct sse_parser *p)
{
	buf_reset(&p->line);
	clear_message(p);
	p->saw_cr = 0;
	p->at_start = 1;
}

static int
cap_error(int r)
{
	return r == -ENOSPC ? -EMSGSIZE : r;
}

/* A blank line.  Like the SDK: nothing happens without an event name or
 * data; a message without an `event:` line is dropped. */
static int
dispatch(struct sse_parser *p)
{
	int r = 0;

	if (p->has_event && (p->event.len > 0 || p->has_data))
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
		return 0;  /* a comment or keep-alive */

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
		if (r < 0)
			return cap_error(r);
		p->has_event = 1;
	} else if (flen == 4 && memcmp(l, "data", 4) == 0) {
		if (p->has_data) {
			r = buf_putc(&p->data, '\n');
			if (r < 0)
				return cap_error(r);
		}
		r = buf_append(&p->data, value, vlen);
		if (r < 0)
			return cap_error(r);
		p->has_data = 1;
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
		size_t len;
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
		if (j == n) {
			r = buf_append(&p->line, chunk + i, n - i);
			return r < 0 ? cap_error(r) : 0;
		}

		if (p->line.len > 0) {
			r = buf_append(&p->line, chunk + i, j - i);
			if (r < 0)
				return cap_error(r);
			line = p->line.data;
			len = p->line.len;
		} else {
			if (j - i > p->line.max)
				return -EMSGSIZE;
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

		r = process_line(p, line, len);
		buf_reset(&p->line);
		if (r < 0)
			return r;
	}
	return 0;
}
