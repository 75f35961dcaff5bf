/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "sse.h"

/* Messages are recorded as "event=<event>|data=<data>\n", data escaped so
 * that newlines, CRs and NULs stay visible. */
struct recorder {
	struct buf log;
	int count;
	int fail_at; /* return -ECANCELED on this message (1-based), 0: never */
};

static int
record(void *userdata, const char *event, const char *data, size_t data_len)
{
	struct recorder *rec = userdata;
	size_t i;

	assert_non_null(event);
	assert_non_null(data);
	assert_int_equal(data[data_len], '\0');
	rec->count++;
	assert_int_equal(buf_printf(&rec->log, "event=%s|data=", event), 0);
	for (i = 0; i < data_len; i++) {
		switch (data[i]) {
		case '\n':
			assert_int_equal(buf_puts(&rec->log, "\\n"), 0);
			break;
		case '\r':
			assert_int_equal(buf_puts(&rec->log, "\\r"), 0);
			break;
		case '\0':
			assert_int_equal(buf_puts(&rec->log, "\\0"), 0);
			break;
		default:
			assert_int_equal(buf_putc(&rec->log, data[i]), 0);
		}
	}
	assert_int_equal(buf_putc(&rec->log, '\n'), 0);
	if (rec->fail_at && rec->count == rec->fail_at)
		return -ECANCELED;
	return 0;
}

static void
rec_init(struct recorder *rec)
{
	buf_init(&rec->log, 1 << 20);
	rec->count = 0;
	rec->fail_at = 0;
}

static const char *
rec_log(struct recorder *rec)
{
	return rec->log.data ? rec->log.data : "";
}

/* Feed `s` in the given chunk sizes (cycled), return the final code. */
static int
feed_chunks(struct sse_parser *p, const char *s, size_t n, const size_t *sizes, size_t nsizes)
{
	size_t off = 0;
	size_t k = 0;
	int r = 0;

	while (off < n) {
		size_t c = sizes[k++ % nsizes];
		/* each chunk in its own heap block, so overreads are caught */
		char *chunk;

		if (c > n - off)
			c = n - off;
		chunk = malloc(c);
		assert_non_null(chunk);
		memcpy(chunk, s + off, c);
		r = sse_parser_feed(p, chunk, c);
		free(chunk);
		if (r < 0)
			return r;
		off += c;
	}
	return r;
}

static void
expect_stream(const char *s, size_t n, const char *want)
{
	struct sse_parser p;
	struct recorder rec;

	rec_init(&rec);
	sse_parser_init(&p, 4096, record, &rec);
	assert_int_equal(sse_parser_feed(&p, s, n), 0);
	if (strcmp(rec_log(&rec), want) != 0)
		fail_msg("stream gave:\n%s\nwant:\n%s", rec_log(&rec), want);
	sse_parser_release(&p);
	buf_release(&rec.log);
}

#define EXPECT(lit, want) expect_stream((lit), sizeof(lit) - 1, (want))

/* Everything at once: BOM, comments, every line ending, ignored fields,
 * multi-line data, event-less messages, UTF-8 to be split mid-sequence. */
static const char reference[] =
	"\xEF\xBB\xBF"
	"event: start\n"
	"data: 0\n"
	"\n"
	": comment\n"
	"\n"
	"event: agent.tool_use\n"
	"data: {\"type\":\"agent.tool_use\",\"id\":\"sevt_1\",\"input\":{\"command\":\"ls\"}}\n"
	"\n"
	": keep-alive\r\n"
	"\r\n"
	"event: ping\r\n"
	"data: {}\r\n"
	"\r\n"
	"id: 7\r"
	"retry: 1000\r"
	"event:multi\r"
	"data:line one\r"
	"data:  line two\r"
	"data\r"
	"data: h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\r"
	"\r"
	"data: dropped, no event\n"
	"\n"
	"event: first\n"
	"event: second\n"
	"Data: ignored field\n"
	"unknown: x\n"
	"\n"
	"event: empty-data\n"
	"data:\n"
	"\n"
	"event: no-data\n"
	"\n"
	"event:\n"
	"\n"
	"event:\n"
	"data: x\n"
	"\n"
	"event: colon\n"
	"data: a:b: c\n"
	"data: \n"
	"\n\n\n"
	"event: mixed\r\n"
	"data: 1\r"
	"data: 2\n"
	"data: 3\r\n"
	"\r"
	"event: unterminated\n"
	"data: never dispatched\n";

static const char reference_want[] =
	"event=start|data=0\n"
	"event=agent.tool_use|data={\"type\":\"agent.tool_use\",\"id\":\"sevt_1\","
	"\"input\":{\"command\":\"ls\"}}\n"
	"event=ping|data={}\n"
	"event=multi|data=line one\\n line two\\n\\nh\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\n"
	"event=second|data=\n"
	"event=empty-data|data=\n"
	"event=no-data|data=\n"
	"event=|data=x\n"
	"event=colon|data=a:b: c\\n\n"
	"event=mixed|data=1\\n2\\n3\n";

static void
run_reference(const size_t *sizes, size_t nsizes)
{
	struct sse_parser p;
	struct recorder rec;

	rec_init(&rec);
	sse_parser_init(&p, 4096, record, &rec);
	assert_int_equal(feed_chunks(&p, reference, sizeof(reference) - 1, sizes, nsizes), 0);
	if (strcmp(rec_log(&rec), reference_want) != 0)
		fail_msg("chunks of %zu,%zu...: got\n%s", sizes[0], nsizes > 1 ? sizes[1] : 0,
			 rec_log(&rec));
	sse_parser_release(&p);
	buf_release(&rec.log);
}

static void
test_reference_whole(void **state)
{
	size_t all = sizeof(reference) - 1;

	run_reference(&all, 1);
}

static void
test_reference_split_everywhere(void **state)
{
	size_t n = sizeof(reference) - 1;
	size_t i;
	size_t j;

	/* one cut at every position */
	for (i = 1; i < n; i++) {
		size_t sizes[2] = { i, n - i };

		run_reference(sizes, 2);
	}
	/* two cuts at every pair of positions */
	for (i = 1; i < n; i++)
		for (j = i + 1; j < n; j += 7) {
			size_t sizes[3] = { i, j - i, n - j };

			run_reference(sizes, 3);
		}
}

static void
test_reference_fixed_chunks(void **state)
{
	size_t c;

	for (c = 1; c <= 64; c++)
		run_reference(&c, 1);
}

static void
test_reference_random_chunks(void **state)
{
	uint32_t seed = 12345;
	size_t sizes[64];
	int round;
	size_t k;

	for (round = 0; round < 500; round++) {
		for (k = 0; k < 64; k++) {
			seed = seed * 1103515245u + 12345u;
			sizes[k] = 1 + (seed >> 16) % 40;
		}
		run_reference(sizes, 64);
	}
}

static void
test_line_endings(void **state)
{
	EXPECT("event: a\ndata: 1\n\n", "event=a|data=1\n");
	EXPECT("event: a\rdata: 1\r\r", "event=a|data=1\n");
	EXPECT("event: a\r\ndata: 1\r\n\r\n", "event=a|data=1\n");
	EXPECT("event: a\r\ndata: 1\n\r", "event=a|data=1\n");
	/* CRLF is one line end, LFCR is two */
	EXPECT("event: a\r\n\r\n", "event=a|data=\n");
	EXPECT("event: a\n\rdata: 1\n\n", "event=a|data=\n");
	/* a lone CR never ends up in data */
	EXPECT("event: a\rdata: x\ry\r\r", "event=a|data=x\n");
}

/* A CR at the end of one chunk and an LF at the start of the next is one
 * line end; a CR followed by anything else in the next chunk is a line end
 * too. */
static void
test_cr_across_chunks(void **state)
{
	struct sse_parser p;
	struct recorder rec;

	rec_init(&rec);
	sse_parser_init(&p, 4096, record, &rec);
	assert_int_equal(sse_parser_feed(&p, "event: a\r", 9), 0);
	assert_int_equal(sse_parser_feed(&p, "\ndata: 1\r", 9), 0);
	assert_int_equal(sse_parser_feed(&p, "\n", 1), 0);
	assert_int_equal(rec.count, 0);
	/* a CR ends the blank line at once; the LF after it is swallowed */
	assert_int_equal(sse_parser_feed(&p, "\r", 1), 0);
	assert_int_equal(rec.count, 1);
	assert_int_equal(sse_parser_feed(&p, "\n", 1), 0);
	assert_string_equal(rec_log(&rec), "event=a|data=1\n");
	/* CR, then CR in the next chunk: a blank line */
	assert_int_equal(sse_parser_feed(&p, "event: b\ndata: 2\r", 17), 0);
	assert_int_equal(sse_parser_feed(&p, "\r", 1), 0);
	assert_string_equal(rec_log(&rec), "event=a|data=1\nevent=b|data=2\n");
	/* CR, then a new field in the next chunk */
	assert_int_equal(sse_parser_feed(&p, "event: c\r", 9), 0);
	assert_int_equal(sse_parser_feed(&p, "data: 3\r\r", 9), 0);
	assert_string_equal(rec_log(&rec), "event=a|data=1\nevent=b|data=2\nevent=c|data=3\n");
	/* an empty chunk keeps a pending CR pending */
	assert_int_equal(sse_parser_feed(&p, "event: d\ndata: 4\r", 17), 0);
	assert_int_equal(sse_parser_feed(&p, "", 0), 0);
	assert_int_equal(sse_parser_feed(&p, "\n\n", 2), 0);
	assert_int_equal(rec.count, 4);
	sse_parser_release(&p);
	buf_release(&rec.log);
}

static void
test_bom(void **state)
{
	struct sse_parser p;
	struct recorder rec;

	EXPECT("\xEF\xBB\xBF"
	       "event: a\ndata: 1\n\n",
	       "event=a|data=1\n");
	EXPECT("\xEF\xBB\xBF\nevent: a\ndata: 1\n\n", "event=a|data=1\n");
	/* only at the stream start: later, the BOM is part of the field name */
	EXPECT("event: a\n\xEF\xBB\xBF"
	       "data: 1\n\n",
	       "event=a|data=\n");
	EXPECT("\xEF\xBB\xBF\xEF\xBB\xBF"
	       "event: a\n\n",
	       "");
	/* a partial BOM is not one */
	EXPECT("\xEF\xBB"
	       "event: a\n\n",
	       "");

	/* a BOM split over three chunks; reset makes the next byte a start */
	rec_init(&rec);
	sse_parser_init(&p, 4096, record, &rec);
	assert_int_equal(sse_parser_feed(&p, "\xEF", 1), 0);
	assert_int_equal(sse_parser_feed(&p, "\xBB", 1), 0);
	assert_int_equal(sse_parser_feed(&p,
					 "\xBF"
					 "event: a\ndata: 1\n\n",
					 19),
			 0);
	assert_string_equal(rec_log(&rec), "event=a|data=1\n");
	sse_parser_reset(&p);
	assert_int_equal(sse_parser_feed(&p,
					 "\xEF\xBB\xBF"
					 "event: b\ndata: 2\n\n",
					 21),
			 0);
	assert_string_equal(rec_log(&rec), "event=a|data=1\nevent=b|data=2\n");
	sse_parser_release(&p);
	buf_release(&rec.log);
}

static void
test_comments_and_keepalives(void **state)
{
	EXPECT(":\n\n: ping\n\n:keep-alive\r\n\r\n", "");
	EXPECT("\n\n\n\r\n\r\r", "");
	EXPECT("event: a\n: comment in the middle\ndata: 1\n\n", "event=a|data=1\n");
	EXPECT("event: ping\n\n", "event=ping|data=\n");
	EXPECT("event: ping\ndata: {}\n\n", "event=ping|data={}\n");
}

static void
test_fields(void **state)
{
	/* one space stripped, not more, not tabs */
	EXPECT("event:a\ndata:1\n\n", "event=a|data=1\n");
	EXPECT("event:  a\ndata:  1\n\n", "event= a|data= 1\n");
	EXPECT("event: a\ndata:\t1\n\n", "event=a|data=\t1\n");
	EXPECT("event: a \ndata: 1 \n\n", "event=a |data=1 \n");
	/* no colon: the whole line is the field name */
	EXPECT("event\ndata\n\n", "event=|data=\n");
	EXPECT("event: a\ndata\ndata\n\n", "event=a|data=\\n\n");
	/* only event and data count, case-sensitively */
	EXPECT("Event: a\ndata: 1\n\n", "");
	EXPECT("EVENT: a\nDATA: 1\n\n", "");
	EXPECT("events: a\ndata: 1\n\n", "");
	EXPECT("event: a\ndatas: 1\nid: 3\nretry: 5\n\n", "event=a|data=\n");
	EXPECT(" event: a\n\n", "");
	/* the event name resets after each message */
	EXPECT("event: a\ndata: 1\n\ndata: 2\n\n", "event=a|data=1\n");
	/* last event line wins; data accumulates */
	EXPECT("event: a\ndata: 1\nevent: b\ndata: 2\n\n", "event=b|data=1\\n2\n");
	/* empty event with data is passed; empty event alone is not */
	EXPECT("event:\n\n", "");
	EXPECT("event:\ndata:\n\n", "event=|data=\n");
	/* NUL bytes travel in data */
	EXPECT("event: a\ndata: x\0y\n\n", "event=a|data=x\\0y\n");
	/* no blank line, no message */
	EXPECT("event: a\ndata: 1\n", "");
	EXPECT("event: a\ndata: 1", "");
}

static void
test_callback_error_and_reset(void **state)
{
	struct sse_parser p;
	struct recorder rec;
	const char *s = "event: a\ndata: 1\n\nevent: b\ndata: 2\n\nevent: c\ndata: 3\n\n";

	rec_init(&rec);
	rec.fail_at = 2;
	sse_parser_init(&p, 4096, record, &rec);
	assert_int_equal(sse_parser_feed(&p, s, strlen(s)), -ECANCELED);
	assert_int_equal(rec.count, 2);
	sse_parser_reset(&p);
	rec.fail_at = 0;

	/* reset drops a partial message and a partial line */
	assert_int_equal(sse_parser_feed(&p, "event: x\ndata: partial\nda", 25), 0);
	sse_parser_reset(&p);
	assert_int_equal(sse_parser_feed(&p, "ta: y\n\nevent: d\ndata: 4\n\n", 25), 0);
	assert_string_equal(rec_log(&rec), "event=a|data=1\nevent=b|data=2\nevent=d|data=4\n");
	/* a pending CR is forgotten too */
	assert_int_equal(sse_parser_feed(&p, "event: e\ndata: 5\r", 17), 0);
	sse_parser_reset(&p);
	assert_int_equal(sse_parser_feed(&p, "\nevent: f\ndata: 6\n\n", 19), 0);
	assert_int_equal(rec.count, 4);
	assert_non_null(strstr(rec_log(&rec), "event=f|data=6\n"));
	sse_parser_release(&p);
	sse_parser_release(&p); /* twice is harmless */
	buf_release(&rec.log);
}

static int
feed_split(size_t max, const char *s, size_t split)
{
	struct sse_parser p;
	struct recorder rec;
	size_t n = strlen(s);
	size_t sizes[2] = { split, n - split };
	int r;

	rec_init(&rec);
	sse_parser_init(&p, max, record, &rec);
	r = split ? feed_chunks(&p, s, n, sizes, 2) : sse_parser_feed(&p, s, n);
	sse_parser_release(&p);
	buf_release(&rec.log);
	return r;
}

/* The same verdict whatever the chunking. */
static void
expect_cap(size_t max, const char *s, int want)
{
	size_t n = strlen(s);
	size_t i;

	for (i = 0; i < n; i++) {
		int r = feed_split(max, s, i);

		if (r != want)
			fail_msg("cap %zu, split at %zu of '%s': %d, want %d", max, i, s, r, want);
	}
}

static void
test_caps(void **state)
{
	struct sse_parser p;
	struct recorder rec;
	char big[64];
	size_t i;

	/* a line of exactly the cap passes; one more byte does not */
	expect_cap(16, "event: 123456789\ndata: x\n\n", 0);	     /* 16 */
	expect_cap(16, "event: 1234567890\ndata: x\n\n", -EMSGSIZE); /* 17 */
	expect_cap(16, "data: 1234567890\n\n", 0);
	expect_cap(16, "data: 12345678901\n\n", -EMSGSIZE);
	expect_cap(16, ": comment 1234567\n\n", -EMSGSIZE);
	expect_cap(16, "xxxxxxxxxxxxxxxxx", -EMSGSIZE); /* unterminated */
	expect_cap(16, "xxxxxxxxxxxxxxxx", 0);
	/* joined data: 16 bytes fit, 17 do not */
	expect_cap(16, "event: a\ndata: 12345\ndata: 12345\ndata: 1234\n\n", 0);
	expect_cap(16, "event: a\ndata: 12345\ndata: 12345\ndata: 12345\n\n", -EMSGSIZE);
	/* a BOM counts toward the first line */
	expect_cap(16,
		   "\xEF\xBB\xBF"
		   "data: 1234567\n\n",
		   0);
	expect_cap(16,
		   "\xEF\xBB\xBF"
		   "data: 12345678\n\n",
		   -EMSGSIZE);

	/* byte by byte */
	memset(big, 'x', sizeof(big));
	rec_init(&rec);
	sse_parser_init(&p, 32, record, &rec);
	for (i = 0; i < 32; i++)
		assert_int_equal(sse_parser_feed(&p, big, 1), 0);
	assert_int_equal(sse_parser_feed(&p, big, 1), -EMSGSIZE);
	sse_parser_release(&p);
	buf_release(&rec.log);
}

static int
record_oversized(void *userdata, const char *event)
{
	struct recorder *rec = userdata;

	assert_non_null(event);
	assert_int_equal(buf_printf(&rec->log, "oversized=%s\n", event), 0);
	return 0;
}

/* With skipping asked for, whatever the chunking: each message past the cap
 * is reported once where it ends, and the stream reads on. */
static void
expect_skipped(size_t max, const char *s, const char *want)
{
	size_t n = strlen(s);

	for (size_t split = 0; split < n; split++) {
		struct sse_parser p;
		struct recorder rec;
		size_t sizes[2] = { split, n - split };
		int r;

		rec_init(&rec);
		sse_parser_init(&p, max, record, &rec);
		sse_parser_skip_oversized(&p, record_oversized);
		r = split ? feed_chunks(&p, s, n, sizes, 2) : sse_parser_feed(&p, s, n);
		if (r != 0 || strcmp(rec_log(&rec), want) != 0)
			fail_msg("cap %zu, split at %zu of '%s': %d, '%s', want '%s'", max, split,
				 s, r, rec_log(&rec), want);
		sse_parser_release(&p);
		buf_release(&rec.log);
	}
}

static void
test_skip_oversized(void **state)
{
	struct sse_parser p;
	struct recorder rec;
	char big[64];

	/* a data line past the cap, alone or among others */
	expect_skipped(16, "event: a\ndata: 12345678901\n\nevent: b\ndata: ok\n\n",
		       "oversized=a\nevent=b|data=ok\n");
	expect_skipped(16,
		       "event: a\ndata: 12345\ndata: 12345678901234567890\ndata: x\n\nevent: "
		       "b\ndata: ok\n\n",
		       "oversized=a\nevent=b|data=ok\n");
	/* joined data past the cap */
	expect_skipped(16,
		       "event: a\ndata: 12345\ndata: 12345\ndata: 12345\n\nevent: b\ndata: ok\n\n",
		       "oversized=a\nevent=b|data=ok\n");
	/* an event line past the cap: its name is not known */
	expect_skipped(16, "event: 12345678901234567890\ndata: x\n\nevent: b\ndata: ok\n\n",
		       "oversized=\nevent=b|data=ok\n");
	/* the event line after the data, CRLF and CR endings */
	expect_skipped(16, "data: 12345678901\r\nevent: a\r\n\r\nevent: b\rdata: ok\r\r",
		       "oversized=a\nevent=b|data=ok\n");
	/* a comment past the cap is only a comment; no event, no report */
	expect_skipped(16, ": 123456789012345678\nevent: b\ndata: ok\n\n", "event=b|data=ok\n");
	expect_skipped(16, "data: 12345678901\n\nevent: b\ndata: ok\n\n", "event=b|data=ok\n");

	/* byte by byte, far past the cap */
	memset(big, 'x', sizeof(big));
	rec_init(&rec);
	sse_parser_init(&p, 16, record, &rec);
	sse_parser_skip_oversized(&p, record_oversized);
	assert_int_equal(sse_parser_feed(&p, "event: big\ndata: ", 17), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sse_parser_feed(&p, big, 1 + (size_t)i % sizeof(big)), 0);
	assert_int_equal(sse_parser_feed(&p, "\n\nevent: b\ndata: ok\n\n", 21), 0);
	assert_string_equal(rec_log(&rec), "oversized=big\nevent=b|data=ok\n");
	sse_parser_release(&p);
	buf_release(&rec.log);
}

static void
test_many_messages(void **state)
{
	struct sse_parser p;
	struct recorder rec;
	struct buf s = BUF_INIT(1 << 20);
	size_t sizes[] = { 1, 2, 3, 5, 8, 13, 16384 };
	int i;

	for (i = 0; i < 2000; i++)
		assert_int_equal(
			buf_printf(&s, "event: e%d\r\ndata: {\"n\":%d}\r\n\r\n: hb\n\n", i, i), 0);
	rec_init(&rec);
	sse_parser_init(&p, 64, record, &rec);
	assert_int_equal(feed_chunks(&p, s.data, s.len, sizes, 7), 0);
	assert_int_equal(rec.count, 2000);
	assert_non_null(strstr(rec_log(&rec), "event=e1999|data={\"n\":1999}\n"));
	sse_parser_release(&p);
	buf_release(&rec.log);
	buf_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_whole),
		cmocka_unit_test(test_skip_oversized),
		cmocka_unit_test(test_reference_split_everywhere),
		cmocka_unit_test(test_reference_fixed_chunks),
		cmocka_unit_test(test_reference_random_chunks),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_cr_across_chunks),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_comments_and_keepalives),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_callback_error_and_reset),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_many_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
