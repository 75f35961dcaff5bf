/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"

#define INCONSISTENT_LISTING "skill archive listing is inconsistent; refusing to extract"

int
archive_is_zip(const unsigned char *head, size_t n)
{
	return n >= 4 && head[0] == 0x50 && head[1] == 0x4b && head[2] == 0x03 && head[3] == 0x04;
}

void
archive_listing_release(struct archive_listing *l)
{
	strv_release(&l->plain);
	strv_release(&l->special);
	l->plain_bytes = 0;
}

int
archive_lines(const char *listing, struct strv *out)
{
	const char *s = listing;

	while (*s) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		char *line = strndup(s, n);

		if (!line || strv_push_take(out, line) < 0)
			return -ENOMEM;
		if (!e)
			break;
		s = e + 1;
	}
	return 0;
}

/* The SDK's PLAIN_TYPE_CHARS: what unzip and tar print first for a regular
 * file or a directory (`?`: a zip entry without Unix type bits, extracted
 * as a file; `C`: a GNU tar contiguous file). */
static int
is_plain_type(enum archive_tool tool, char c)
{
	if (c == '-' || c == 'd')
		return 1;
	return tool == ARCHIVE_UNZIP ? c == '?' : c == 'C';
}

/* The SDK's canExcludeVerbatim(). */
static int
can_exclude_verbatim(enum archive_tool tool, const char *name)
{
	if (!*name)
		return 0;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c > 0x7e || c == '\\' || c == '^' || c == '#')
			return 0;
	}
	return !(tool == ARCHIVE_UNZIP && name[0] == '-');
}

/* The declared size of a typed line: the 4th field of `unzip -Z` (mode,
 * version, system, size) and the 3rd of `tar -tv` (mode, owner, size). */
static int
line_size(enum archive_tool tool, const char *line, uint64_t *ret)
{
	int want = tool == ARCHIVE_UNZIP ? 3 : 2;
	const char *p = line;
	char *end;
	unsigned long long v;

	for (int i = 0; i < want; i++) {
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\0'))
		return -EINVAL;
	*ret = v;
	return 0;
}

static void
json_quote(char *dst, size_t n, const char *s)
{
	size_t o = 0;

	if (n < 3) {
		if (n)
			dst[0] = '\0';
		return;
	}
	dst[o++] = '"';
	for (; *s && o + 8 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else if (c == '\t') {
			dst[o++] = '\\';
			dst[o++] = 't';
		} else if (c < 0x20) {
			o += (size_t)snprintf(dst + o, n - o, "\\u%04x", c);
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o++] = '"';
	dst[o] = '\0';
}

int
archive_classify(enum archive_tool tool, const char *names, const char *typed,
		 struct archive_listing *out, char *err, size_t errlen)
{
	struct strv nl = STRV_INIT;
	struct strv tl = STRV_INIT;
	int r;

	r = archive_lines(names, &nl);
	if (r == 0)
		r = archive_lines(typed, &tl);
	if (r < 0)
		goto out;
	if (nl.n != tl.n) {
		snprintf(err, errlen, "%s", INCONSISTENT_LISTING);
		r = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < nl.n; i++) {
		const char *name = nl.v[i];

		if (is_plain_type(tool, tl.v[i][0])) {
			uint64_t size;

			if (line_size(tool, tl.v[i], &size) < 0) {
				snprintf(err, errlen,
					 "refusing to extract archive: cannot read the size of "
					 "member %s",
					 name);
				r = -EINVAL;
				goto out;
			}
			out->plain_bytes += size;
			if (out->plain_bytes < size)
				out->plain_bytes = UINT64_MAX;
			r = strv_push(&out->plain, name);
		} else if (!can_exclude_verbatim(tool, name)) {
			char q[160];

			json_quote(q, sizeof(q), name);
			snprintf(err, errlen,
				 "refusing to extract archive: cannot safely exclude member %s", q);
			r = -EINVAL;
			goto out;
		} else {
			r = strv_push(&out->special, name);
		}
		if (r < 0)
			goto out;
	}
out:
	strv_release(&nl);
	strv_release(&tl);
	return r;
}

/* JavaScript's String.prototype.trim() for the whitespace archives use. */
static void
trim(const char *s, const char **ret_start, size_t *ret_len)
{
	const char *e = s + strlen(s);

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	while (e > s && (e[-1] == ' ' || (e[-1] >= '\t' && e[-1] <= '\r')))
		e--;
	*ret_start = s;
	*ret_len = (size_t)(e - s);
}

int
archive_check_names(const struct strv *names, char *err, size_t errlen)
{
	for (size_t i = 0; i < names->n; i++) {
		const char *s;
		size_t n;
		int bad;

		trim(names->v[i], &s, &n);
		if (n == 0)
			continue;
		bad = s[0] == '/';
		/* A `..` component, with `/` or `\` as separators. */
		for (size_t j = 0; !bad && j + 1 < n + 1; j++) {
			if ((j == 0 || s[j - 1] == '/' || s[j - 1] == '\\') && j + 2 <= n &&
			    s[j] == '.' && s[j + 1] == '.' &&
			    (j + 2 == n || s[j + 2] == '/' || s[j + 2] == '\\'))
				bad = 1;
		}
		if (bad) {
			snprintf(err, errlen, "refusing to extract unsafe archive member: %.*s",
				 (int)n, s);
			return -EINVAL;
		}
	}
	return 0;
}

char *
archive_top_dir(const struct strv *plain)
{
	char *top = NULL;
	int nested = 0;

	for (size_t i = 0; i < plain->n; i++) {
		const char *s;
		size_t n;
		const char *first = NULL;
		size_t first_len = 0;
		int parts = 0;

		trim(plain->v[i], &s, &n);
		/* Split at '/', dropping empty and "." parts. */
		for (size_t j = 0; j < n;) {
			size_t k = j;

			while (k < n && s[k] != '/')
				k++;
			if (!(k == j || (k - j == 1 && s[j] == '.'))) {
				if (parts++ == 0) {
					first = s + j;
					first_len = k - j;
				}
			}
			j = k + 1;
		}
		if (parts == 0)
			continue;
		if (!top) {
			top = strndup(first, first_len);
			if (!top)
				return NULL;
		} else if (strlen(top) != first_len || strncmp(top, first, first_len) != 0) {
			free(top);
			return strdup("");
		}
		if (parts > 1)
			nested = 1;
	}
	if (top && nested)
		return top;
	free(top);
	return strdup("");
}

char *
archive_exclude_pattern(const char *name)
{
	size_t n = strlen(name);
	char *out = malloc(2 * n + 1);
	char *o = out;

	if (!out)
		return NULL;
	for (; *name; name++) {
		if (*name == '*' || *name == '?' || *name == '[' || *name == '\\')
			*o++ = '\\';
		*o++ = *name;
	}
	*o = '\0';
	return out;
}
