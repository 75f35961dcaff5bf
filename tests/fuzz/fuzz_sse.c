/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the SSE parser: the stream fed whole and fed in
 * chunks chosen by the input itself must give the same messages and the
 * same result.
 *
 *	./configure CC=clang --enable-fuzzing && make check
 *	tests/fuzz/fuzz_sse -max_total_time=60 tests/fuzz/corpus/sse
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGE 256

static int
record(void *userdata, const char *event, const char *data, size_t data_len)
{
	struct buf *log = userdata;
	size_t elen;

	if (!event || !data || data[data_len] != '\0')
		abort();
	elen = strlen(event);
	if (elen > MAX_MESSAGE || data_len > MAX_MESSAGE)
		abort();
	if (buf_append(log, &elen, sizeof(elen)) < 0 || buf_append(log, event, elen) < 0 ||
	    buf_append(log, &data_len, sizeof(data_len)) < 0 || buf_append(log, data, data_len) < 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole_log = BUF_INIT(16u << 20);
	struct buf split_log = BUF_INIT(16u << 20);
	struct sse_parser p;
	const char *s;
	size_t nsizes;
	size_t off = 0;
	size_t k = 0;
	int r_whole;
	int r_split = 0;

	/* the first byte says how many of the next bytes are chunk sizes */
	if (size < 1)
		return 0;
	nsizes = data[0] % 16;
	if (size < 1 + nsizes)
		return 0;
	s = (const char *)data + 1 + nsizes;
	size -= 1 + nsizes;

	sse_parser_init(&p, MAX_MESSAGE, record, &whole_log);
	r_whole = sse_parser_feed(&p, s, size);
	sse_parser_release(&p);

	sse_parser_init(&p, MAX_MESSAGE, record, &split_log);
	while (off < size && r_split == 0) {
		size_t c = nsizes ? 1 + (size_t)data[1 + k++ % nsizes] : 1;
		char *chunk;

		if (c > size - off)
			c = size - off;
		/* a private copy, so a read past the chunk is caught */
		chunk = malloc(c ? c : 1);
		if (!chunk)
			abort();
		memcpy(chunk, s + off, c);
		r_split = sse_parser_feed(&p, chunk, c);
		free(chunk);
		off += c;
	}
	sse_parser_release(&p);

	if (r_whole != r_split || whole_log.len != split_log.len ||
	    (whole_log.len && memcmp(whole_log.data, split_log.data, whole_log.len) != 0))
		abort();
	buf_release(&whole_log);
	buf_release(&split_log);
	return 0;
}
