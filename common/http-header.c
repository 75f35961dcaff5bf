/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "http-header.h"

/* Copy a header value of interest, trimmed, or leave it untouched. */
static void
copy_header(char *dst, size_t dstlen, const char *line, size_t n, const char *name)
{
	size_t namelen = strlen(name);
	size_t i;

	if (n <= namelen || strncasecmp(line, name, namelen) != 0 || line[namelen] != ':')
		return;
	i = namelen + 1;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (n > i && isspace((unsigned char)line[n - 1]))
		n--;
	if (n - i >= dstlen)
		n = i + dstlen - 1;
	memcpy(dst, line + i, n - i);
	dst[n - i] = '\0';
}

enum http_header_line
http_header_parse(struct http_header_values *v, const char *line, size_t n)
{
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a 100 or a redirect): forget the last. */
		memset(v, 0, sizeof(*v));
		return HTTP_HEADER_STATUS;
	}
	copy_header(v->retry_after, sizeof(v->retry_after), line, n, "retry-after");
	copy_header(v->retry_after_ms, sizeof(v->retry_after_ms), line, n, "retry-after-ms");
	copy_header(v->should_retry, sizeof(v->should_retry), line, n, "x-should-retry");
	copy_header(v->content_type, sizeof(v->content_type), line, n, "content-type");
	if ((n == 2 && line[0] == '\r') || (n == 1 && line[0] == '\n'))
		return HTTP_HEADER_END;
	return HTTP_HEADER_FIELD;
}

int
http_header_value_valid(const char *value)
{
	for (const unsigned char *c = (const unsigned char *)value; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return 0;
	return 1;
}
