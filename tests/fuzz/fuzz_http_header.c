/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the HTTP response header lines the client reads
 * (common/http-header.c).  The input is split into lines as curl hands them
 * over (each ending in "\n"; the last one possibly without); after every
 * line each kept value must be NUL-terminated inside its field and trimmed.
 *
 *	tests/fuzz/fuzz_http_header -max_total_time=60 tests/fuzz/corpus/http_header
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http-header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A value may hold a NUL from the wire, which ends it early: then only
 * termination is checked. */
static void
check_value(const char *v, size_t size, int saw_nul)
{
	size_t n = strnlen(v, size);

	if (n == size)
		abort(); /* not terminated inside the field */
	if (!saw_nul && n > 0 && (v[0] == ' ' || v[0] == '\t'))
		abort();
	/* Trimmed unless cut to the field's size. */
	if (!saw_nul && n > 0 && n < size - 1 &&
	    (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_header_values v;
	const char *p = (const char *)data;
	const char *end = p + size;
	int saw_nul = memchr(data, '\0', size) != NULL;

	memset(&v, 0, sizeof(v));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* A copy of exactly n bytes, so that ASan sees any overread. */
		char *line = malloc(n ? n : 1);
		enum http_header_line kind;

		if (!line)
			return 0;
		memcpy(line, p, n);
		kind = http_header_parse(&v, line, n);
		if (kind == HTTP_HEADER_STATUS && (v.retry_after[0] || v.retry_after_ms[0] ||
						   v.should_retry[0] || v.content_type[0]))
			abort();
		free(line);
		check_value(v.retry_after, sizeof(v.retry_after), saw_nul);
		check_value(v.retry_after_ms, sizeof(v.retry_after_ms), saw_nul);
		check_value(v.should_retry, sizeof(v.should_retry), saw_nul);
		check_value(v.content_type, sizeof(v.content_type), saw_nul);
		p += n;
	}
	return 0;
}
