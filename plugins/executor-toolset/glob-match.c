/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "glob-match.h"

/* ---- brace expansion ---------------------------------------------------- */

struct expand_state {
	int (*fn)(void *ud, const char *s);
	void *ud;
	unsigned count; /* patterns produced */
	unsigned steps; /* expand() calls, leaves or not */
};

/* The work to reach the expansions is bounded too, not only their number:
 * nested literal braces can make many calls per pattern produced, and the
 * glob tool runs in the runner's event loop. */
#define GLOB_MAX_EXPAND_STEPS (4 * GLOB_MAX_EXPANSIONS)

static int expand(struct expand_state *st, const char *prefix, size_t plen, const char *rest);

/* The matching '}' of the '{' at `open`, or NULL. */
static const char *
closing_brace(const char *open)
{
	int depth = 0;
	const char *p;

	for (p = open; *p; p++) {
		if (*p == '{') {
			depth++;
		} else if (*p == '}') {
			if (--depth == 0)
				return p;
		}
	}
	return NULL;
}

static int
emit_joined(struct expand_state *st, const char *prefix, size_t plen, const char *mid, size_t mlen,
	    const char *rest)
{
	struct buf b = BUF_INIT(1u << 16);
	int r;

	r = buf_append(&b, prefix, plen);
	if (r == 0)
		r = buf_append(&b, mid, mlen);
	if (r < 0) {
		buf_release(&b);
		return r == -ENOSPC ? -E2BIG : r;
	}
	r = expand(st, b.data, b.len, rest);
	buf_release(&b);
	return r;
}

static bool
parse_long(const char *s, size_t n, long *ret, int *ret_width)
{
	char tmp[32];
	char *end;
	long v;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!(isdigit((unsigned char)tmp[0]) || (tmp[0] == '-' && isdigit((unsigned char)tmp[1]))))
		return false;
	errno = 0;
	v = strtol(tmp, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	/* Zero padding: "01" or "-01" pads to the written width. */
	*ret_width =
		(tmp[0] == '0' && n > 1) || (tmp[0] == '-' && tmp[1] == '0' && n > 2) ? (int)n : 0;
	return true;
}

/* `{x..y[..step]}`: emits each element; returns 1 when `body` is no
 * sequence. */
static int
expand_sequence(struct expand_state *st, const char *prefix, size_t plen, const char *body,
		size_t blen, const char *rest)
{
	const char *d1 = NULL;
	const char *d2 = NULL;
	const char *p;
	long a, b, step = 1;
	int wa = 0, wb = 0, ws = 0;
	int alpha = 0;
	int width;
	int r;

	for (p = body; p + 1 < body + blen; p++) {
		if (p[0] == '.' && p[1] == '.') {
			if (!d1)
				d1 = p;
			else if (!d2 && p >= d1 + 2)
				d2 = p;
			p++;
		}
	}
	if (!d1)
		return 1;
	{
		size_t la = (size_t)(d1 - body);
		const char *sb = d1 + 2;
		size_t lb = (size_t)((d2 ? d2 : body + blen) - sb);

		if (la == 1 && lb == 1 && isalpha((unsigned char)body[0]) &&
		    isalpha((unsigned char)sb[0])) {
			alpha = 1;
			a = (unsigned char)body[0];
			b = (unsigned char)sb[0];
		} else if (!parse_long(body, la, &a, &wa) || !parse_long(sb, lb, &b, &wb)) {
			return 1;
		}
		if (d2 && !parse_long(d2 + 2, (size_t)(body + blen - d2 - 2), &step, &ws))
			return 1;
	}
	(void)ws;
	if (step < 0)
		step = -step;
	if (step == 0)
		step = 1;
	width = wa > wb ? wa : wb;
	for (long v = a;; v += (a <= b ? step : -step)) {
		char item[48];
		int n;

		if ((a <= b && v > b) || (a > b && v < b))
			break;
		if (alpha) {
			if (v == '\\')
				continue;
			item[0] = (char)v;
			n = 1;
		} else if (width) {
			n = snprintf(item, sizeof(item), v < 0 ? "-%0*ld" : "%0*ld",
				     v < 0 ? width - 1 : width, v < 0 ? -v : v);
		} else {
			n = snprintf(item, sizeof(item), "%ld", v);
		}
		r = emit_joined(st, prefix, plen, item, (size_t)n, rest);
		if (r)
			return r;
	}
	return 0;
}

/* Expand `prefix` + `rest`: `prefix` has no braces left to expand. */
static int
expand(struct expand_state *st, const char *prefix, size_t plen, const char *rest)
{
	const char *open = rest;
	const char *close = NULL;
	int r;

	if (++st->steps > GLOB_MAX_EXPAND_STEPS)
		return -E2BIG;
	/* The first '{' that has a matching '}' and a comma or a sequence. */
	for (;;) {
		open = strchr(open, '{');
		if (!open)
			break;
		close = closing_brace(open);
		if (close)
			break;
		open++;
	}
	if (!open) {
		struct buf b = BUF_INIT(1u << 16);

		if (++st->count > GLOB_MAX_EXPANSIONS)
			return -E2BIG;
		r = buf_append(&b, prefix, plen);
		if (r == 0)
			r = buf_puts(&b, rest);
		if (r == 0)
			r = st->fn(st->ud, b.data);
		buf_release(&b);
		return r == -ENOSPC ? -E2BIG : r;
	}
	{
		const char *body = open + 1;
		size_t blen = (size_t)(close - body);
		const char *p;
		const char *item;
		int depth = 0;
		int has_comma = 0;
		struct buf pre = BUF_INIT(1u << 16);

		for (p = body; p < close; p++) {
			if (*p == '{')
				depth++;
			else if (*p == '}')
				depth--;
			else if (*p == ',' && depth == 0)
				has_comma = 1;
		}
		r = buf_append(&pre, prefix, plen);
		if (r == 0)
			r = buf_append(&pre, rest, (size_t)(open - rest));
		if (r < 0) {
			buf_release(&pre);
			return r == -ENOSPC ? -E2BIG : r;
		}
		if (!has_comma) {
			r = expand_sequence(st, pre.data, pre.len, body, blen, close + 1);
			if (r == 1) {
				/* Literal "{...}": keep it, expand what it holds
				 * and what follows. */
				struct buf lit = BUF_INIT(1u << 16);

				r = buf_append(&lit, pre.data, pre.len);
				if (r == 0)
					r = buf_putc(&lit, '{');
				if (r == 0) {
					struct buf inner = BUF_INIT(1u << 16);

					r = buf_append(&inner, body, blen);
					if (r == 0)
						r = buf_puts(&inner, "}");
					if (r == 0)
						r = buf_puts(&inner, close + 1);
					if (r == 0)
						r = expand(st, lit.data, lit.len, inner.data);
					buf_release(&inner);
				}
				buf_release(&lit);
			}
			buf_release(&pre);
			return r == -ENOSPC ? -E2BIG : r;
		}
		depth = 0;
		item = body;
		for (p = body; p <= close && r == 0; p++) {
			if (p < close && *p == '{') {
				depth++;
			} else if (p < close && *p == '}') {
				depth--;
			} else if (p == close || (*p == ',' && depth == 0)) {
				/* Each alternative may hold braces of its own. */
				struct buf alt = BUF_INIT(1u << 16);

				r = buf_append(&alt, item, (size_t)(p - item));
				if (r == 0)
					r = buf_puts(&alt, close + 1);
				if (r == 0)
					r = expand(st, pre.data, pre.len, alt.data);
				buf_release(&alt);
				item = p + 1;
			}
		}
		buf_release(&pre);
		return r == -ENOSPC ? -E2BIG : r;
	}
}

int
glob_brace_expand(const char *pattern, int (*fn)(void *ud, const char *s), void *ud)
{
	struct expand_state st = { fn, ud, 0, 0 };

	return expand(&st, "", 0, pattern);
}

/* ---- segment matching --------------------------------------------------- */

/* Decode one UTF-8 code point (invalid bytes read as themselves). */
static size_t
utf8_next(const char *s, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
		*cp = ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
		return 2;
	}
	if ((p[0] & 0xf0) == 0xe0 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
		*cp = ((uint32_t)(p[0] & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) |
		      (p[2] & 0x3f);
		return 3;
	}
	if ((p[0] & 0xf8) == 0xf0 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
	    (p[3] & 0xc0) == 0x80) {
		*cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
		      ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
		return 4;
	}
	*cp = p[0];
	return 1;
}

static bool
posix_class(const char *name, size_t n, uint32_t c)
{
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
	if (c > 0x7f)
		return IS("alpha") || IS("alnum") || IS("print") || IS("graph") || IS("word");
	if (IS("alnum"))
		return isalnum((int)c);
	if (IS("alpha"))
		return isalpha((int)c);
	if (IS("ascii"))
		return c < 0x80;
	if (IS("blank"))
		return c == ' ' || c == '\t';
	if (IS("cntrl"))
		return iscntrl((int)c);
	if (IS("digit"))
		return isdigit((int)c);
	if (IS("graph"))
		return isgraph((int)c);
	if (IS("lower"))
		return islower((int)c);
	if (IS("print"))
		return isprint((int)c);
	if (IS("punct"))
		return ispunct((int)c);
	if (IS("space"))
		return isspace((int)c);
	if (IS("upper"))
		return isupper((int)c);
	if (IS("word"))
		return isalnum((int)c) || c == '_';
	if (IS("xdigit"))
		return isxdigit((int)c);
	return false;
#undef IS
}

/* Parse the class at `p` (pointing at '['): returns the length of the
 * whole class, 0 when it does not close (then '[' is literal).  With `c`
 * given, *ret_match tells whether the class matches it. */
static size_t
class_parse(const char *p, uint32_t c, bool *ret_match)
{
	const char *s = p + 1;
	bool neg = false;
	bool match = false;
	bool first = true;

	if (*s == '!' || *s == '^') {
		neg = true;
		s++;
	}
	while (*s) {
		uint32_t lo;
		uint32_t hi;
		size_t n;

		if (*s == ']' && !first) {
			if (ret_match)
				*ret_match = match != neg;
			return (size_t)(s - p) + 1;
		}
		first = false;
		if (s[0] == '[' && s[1] == ':') {
			const char *e = strstr(s + 2, ":]");

			if (e) {
				if (posix_class(s + 2, (size_t)(e - s - 2), c))
					match = true;
				s = e + 2;
				continue;
			}
		}
		n = utf8_next(s, &lo);
		s += n;
		hi = lo;
		if (s[0] == '-' && s[1] && s[1] != ']') {
			n = utf8_next(s + 1, &hi);
			s += 1 + n;
		}
		if (c >= lo && c <= hi)
			match = true;
	}
	return 0;
}

bool
glob_seg_is_magic(const char *seg)
{
	const char *p;

	for (p = seg; *p; p++) {
		if (*p == '*' || *p == '?')
			return true;
		if (*p == '[' && class_parse(p, 0, NULL) > 0)
			return true;
	}
	return false;
}

bool
glob_seg_match(const char *seg, const char *name)
{
	const char *p = seg;
	const char *n = name;
	const char *star_p = NULL;
	const char *star_n = NULL;

	while (*n) {
		uint32_t c;
		size_t cl = utf8_next(n, &c);

		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_n = n;
			continue;
		}
		if (*p == '?') {
			p++;
			n += cl;
			continue;
		}
		if (*p == '[') {
			bool m = false;
			size_t len = class_parse(p, c, &m);

			if (len > 0) {
				if (m) {
					p += len;
					n += cl;
					continue;
				}
				goto backtrack;
			}
		}
		if (*p && *p == *n) {
			p++;
			n++;
			continue;
		}
backtrack:
		if (!star_p)
			return false;
		{
			uint32_t c2;

			star_n += utf8_next(star_n, &c2);
		}
		p = star_p;
		n = star_n;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}
