/* SPDX-License-Identifier: MIT */
/*
 * An incremental Server-Sent Events parser with no I/O, so tests can feed a
 * stream split at every byte.  It follows the SDK's reading (docs/protocol.md
 * §4): lines end in CRLF, LF or CR; a leading BOM is dropped; `:` lines are
 * comments; only `event` and `data` fields count (`id` and `retry` are
 * ignored); one space after the colon is stripped; data lines are joined with
 * "\n"; a blank line dispatches.  Messages without an `event:` line are
 * dropped, as the SDK drops them (and so is an empty `event:` without
 * data).  `event: ping` and empty data are passed on: what they mean is the
 * caller's business.  A line without a colon is a field name with an empty
 * value.  Field names are case-sensitive.  A UTF-8 BOM is dropped at the
 * start of the stream only.  Pending bytes are capped: a message past the
 * cap is an error, or, when asked, skipped and reported.  No I/O, no
 * logging, no global state.
 */
#ifndef ER_SSE_H
#define ER_SSE_H

#include <stddef.h>

#include "buf.h"

/* Called for each complete message.  `event` and `data` are NUL-terminated
 * and borrowed for the call (`data` may be "", and may hold NUL bytes, hence
 * data_len).  Return 0 to go on, negative to stop feeding (sse_parser_feed
 * returns it). */
typedef int (*sse_message_cb)(void *userdata, const char *event, const char *data, size_t data_len);
/* A message whose data passed the cap ended; its data was dropped.  `event`
 * as for sse_message_cb ("" when the event line itself passed the cap). */
typedef int (*sse_oversized_cb)(void *userdata, const char *event);

struct sse_parser {
	struct buf line;  /* the current, incomplete line */
	struct buf event; /* the `event` field of the message being built */
	struct buf data;  /* joined `data` lines */
	int has_data;
	int has_event;
	int saw_cr;    /* the previous chunk ended in CR: skip one LF */
	int at_start;  /* BOM check pending */
	int oversized; /* the message passed the cap: its data is dropped */
	int skip_line; /* the current line passed the cap: dropped to its end */
	sse_oversized_cb on_oversized;
	sse_message_cb cb;
	void *userdata;
};

/* `max_message` caps a line and a message's joined data (bytes; exactly
 * max_message is allowed), however the stream is split into chunks. */
void sse_parser_init(struct sse_parser *p, size_t max_message, sse_message_cb cb, void *userdata);
void sse_parser_release(struct sse_parser *p);
/* From now on a message past the cap is skipped, the stream read on, and
 * `cb` called where the message ends, instead of -EMSGSIZE.  A comment
 * line past the cap is dropped alone. */
void sse_parser_skip_oversized(struct sse_parser *p, sse_oversized_cb cb);
/* Forget any partial line and message (after a reconnect); the next byte
 * is a stream start again (BOM check). */
void sse_parser_reset(struct sse_parser *p);
/* Parse the next `n` bytes of the stream (not NUL-terminated); chunks may
 * split lines, CRLF pairs and UTF-8 sequences anywhere.  0, -EMSGSIZE when
 * a line or message passes the cap, -ENOMEM, or the callback's negative
 * return.  After a negative return the rest of the chunk is unparsed: call
 * sse_parser_reset() before feeding more. */
int sse_parser_feed(struct sse_parser *p, const char *chunk, size_t n);

#endif
