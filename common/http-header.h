/* SPDX-License-Identifier: MIT */
/*
 * The response header lines the HTTP client reads, parsed without curl so
 * that the parser can be fuzzed on its own.  Only the values the API client
 * needs are kept, each truncated to its field's size.  And the rule for a
 * request header's value.
 */
#ifndef ER_HTTP_HEADER_H
#define ER_HTTP_HEADER_H

#include <stddef.h>

struct http_header_values {
	char retry_after[32];
	char retry_after_ms[32];
	char should_retry[8]; /* x-should-retry */
	char content_type[64];
};

enum http_header_line {
	HTTP_HEADER_STATUS, /* "HTTP/..." starts a response: the values were reset */
	HTTP_HEADER_FIELD,  /* a field line, or anything else */
	HTTP_HEADER_END,    /* the blank line that ends the headers */
};

/* Read one header line as curl hands it over: `n` bytes, not
 * NUL-terminated, normally ending in CRLF.  A wanted field's value is
 * copied with surrounding whitespace trimmed; every value stays
 * NUL-terminated. */
enum http_header_line http_header_parse(struct http_header_values *v, const char *line, size_t n);

/* 1 if `value` may go into a request header as is: no control character
 * (CR and LF would end the line and start another header). */
int http_header_value_valid(const char *value);

#endif
