/* SPDX-License-Identifier: MIT */
/*
 * The validating JSON reader.  jsmn builds the token tree; everything jsmn
 * lets through (docs/design.md §4) is checked here:
 *
 *  1. a pre-scan, mirroring jsmn's lexer, rejects NUL bytes and bounds the
 *     nesting depth and the token count before jsmn runs (jsmn's closing
 *     bracket walks the parent chain of the last token, so unbounded depth
 *     would make it quadratic);
 *  2. jsmn runs on a private copy of the text with a space appended (so a
 *     root number or literal is terminated, as strict mode wants), growing
 *     the token array on JSMN_ERROR_NOMEM and resuming;
 *  3. one linear pass converts the tokens, checks the bytes between them
 *     (one colon, one comma, whitespace only elsewhere, one root), checks
 *     literals and the number grammar, and decodes every string;
 *  4. duplicate keys are found per object, by sorting when it is large.
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __APPLE__
#include <xlocale.h>
#endif

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "json.h"
#include "utf8.h"
#include "wipe.h"

struct json_tok {
	int kind;  /* enum json_kind */
	int start; /* raw span in doc->text, quotes included */
	int end;
	int size; /* members or elements */
	int sib;  /* next sibling (key -> value -> key...), or -1 */
	int str;  /* offset of the decoded string in doc->strs, or -1 */
};

struct json_doc {
	char *text; /* a copy of the input, NUL-terminated */
	size_t len;
	struct json_tok *toks;
	int ntoks;
	char *strs; /* decoded strings, each NUL-terminated */
};

/* An open container or object key during the structure pass. */
struct frame {
	int tok;
	int last;     /* last child value so far, or -1 */
	int last_end; /* raw end of that child */
};

#define MAX_FRAMES (2 * JSON_MAX_DEPTH + 2)
#define SMALL_OBJECT 8

static int
fail(char *errbuf, size_t errlen, int r, size_t off, const char *why)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s at offset %zu", why, off);
	return r;
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Pass 1.  Mirrors jsmn's lexer (strings end at an unescaped quote; a
 * primitive runs to whitespace, ',', ']' or '}'), so the brackets counted
 * here are the ones jsmn sees.  Returns the exact token count of a valid
 * document (an upper bound otherwise).
 */
static int
prescan(const char *s, size_t len, size_t *ret_ntok, size_t *ret_off, const char **ret_why)
{
	enum { OUT, STR, ESC, PRIM } state = OUT;
	size_t depth = 0;
	size_t ntok = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		/* Most of a document is the inside of its strings: run through it
		 * in a loop of its own. */
		if (state == STR) {
			while (c != '"' && c != '\\' && c != '\0' && i + 1 < len)
				c = s[++i];
		}
		if (c == '\0') {
			*ret_off = i;
			*ret_why = "NUL byte";
			return -EINVAL;
		}
		switch (state) {
		case STR:
			if (c == '\\')
				state = ESC;
			else if (c == '"')
				state = OUT;
			continue;
		case ESC:
			state = STR;
			continue;
		case PRIM:
			if (!is_ws(c) && c != ',' && c != ']' && c != '}')
				continue;
			state = OUT;
			break;
		case OUT:
			break;
		}
		switch (c) {
		case '{':
		case '[':
			if (++depth > JSON_MAX_DEPTH) {
				*ret_off = i;
				*ret_why = "nesting too deep";
				return -E2BIG;
			}
			ntok++;
			break;
		case '}':
		case ']':
			if (depth)
				depth--;
			break;
		case '"':
			state = STR;
			ntok++;
			break;
		case ' ':
		case '\t':
		case '\n':
		case '\r':
		case ':':
		case ',':
			break;
		default:
			state = PRIM;
			ntok++;
			break;
		}
		if (ntok > JSON_MAX_TOKENS) {
			*ret_off = i;
			*ret_why = "too many values";
			return -E2BIG;
		}
	}
	*ret_ntok = ntok;
	return 0;
}

/* text[from, to) is whitespace, or whitespace around exactly one `sep`
 * when sep is not 0.  On failure *ret_bad is the offending offset. */
static bool
gap_ok(const char *s, int from, int to, char sep, int *ret_bad)
{
	int i = from;

	while (i < to && is_ws(s[i]))
		i++;
	if (sep) {
		if (i >= to || s[i] != sep) {
			*ret_bad = i;
			return false;
		}
		i++;
		while (i < to && is_ws(s[i]))
			i++;
	}
	if (i < to) {
		*ret_bad = i;
		return false;
	}
	return true;
}

/* RFC 8259: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool
is_number(const char *s, int n)
{
	int i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		return false;
	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
		while (i < n && is_digit(s[i]))
			i++;
	else
		return false;
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i]))
			return false;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !is_digit(s[i]))
			return false;
		while (i < n && is_digit(s[i]))
			i++;
	}
	return i == n;
}

static bool
hex4(const char *s, int i, int to, uint32_t *ret)
{
	uint32_t v = 0;
	int k;

	if (to - i < 4)
		return false;
	for (k = 0; k < 4; k++) {
		char c = s[i + k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return false;
	}
	*ret = v;
	return true;
}

/* Decode the string body s[from, to) into out (room for to - from + 1
 * bytes; decoding never grows).  Returns the decoded length, or -1 with the
 * offending offset and reason. */
static int
decode_string(const char *s, int from, int to, char *out, int *ret_bad, const char **ret_why)
{
	const unsigned char *u = (const unsigned char *)s;
	int o = 0;
	int i = from;

	while (i < to) {
		unsigned char c = u[i];
		uint32_t cp;
		uint32_t lo;

		if (c < 0x20) {
			*ret_why = "control character in string";
			goto bad;
		}
		if (c >= 0x80) {
			int32_t dcp;
			size_t k = utf8_decode(u + i, (size_t)(to - i), &dcp);

			if (dcp < 0) {
				*ret_why = "invalid UTF-8 in string";
				goto bad;
			}
			memcpy(out + o, s + i, k);
			o += (int)k;
			i += (int)k;
			continue;
		}
		if (c != '\\') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		*ret_why = "invalid escape in string";
		if (i + 1 >= to)
			goto bad;
		switch (s[i + 1]) {
		case '"':
		case '\\':
		case '/':
			out[o++] = s[i + 1];
			break;
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u':
			if (!hex4(s, i + 2, to, &cp))
				goto bad;
			if (cp >= 0xDC00 && cp <= 0xDFFF) {
				*ret_why = "lone surrogate in string";
				goto bad;
			}
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (to - (i + 6) < 6 || s[i + 6] != '\\' || s[i + 7] != 'u' ||
				    !hex4(s, i + 8, to, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
					*ret_why = "lone surrogate in string";
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 6;
			}
			if (cp == 0) {
				*ret_why = "\\u0000 in string";
				goto bad;
			}
			o += (int)utf8_encode(cp, out + o);
			i += 6;
			continue;
		default:
			goto bad;
		}
		i += 2;
	}
	out[o] = '\0';
	return o;
bad:
	*ret_bad = i;
	return -1;
}

/* Check and classify the primitive s[0, n). */
static int
primitive_kind(const char *s, int n)
{
	switch (s[0]) {
	case 't':
		return n == 4 && memcmp(s, "true", 4) == 0 ? JSON_TRUE : JSON_INVALID;
	case 'f':
		return n == 5 && memcmp(s, "false", 5) == 0 ? JSON_FALSE : JSON_INVALID;
	case 'n':
		return n == 4 && memcmp(s, "null", 4) == 0 ? JSON_NULL : JSON_INVALID;
	default:
		return is_number(s, n) ? JSON_NUMBER : JSON_INVALID;
	}
}

/* Closing a container: only whitespace between its last child (or its
 * opening bracket) and its closing bracket. */
static bool
close_frame(const struct json_doc *doc, const struct frame *f, int *ret_bad)
{
	const struct json_tok *t = &doc->toks[f->tok];

	if (t->kind != JSON_OBJECT && t->kind != JSON_ARRAY)
		return true; /* a key: jsmn's size == 1 vouched for its value */
	return gap_ok(doc->text, f->last >= 0 ? f->last_end : t->start + 1, t->end - 1, 0, ret_bad);
}

/* Pass 3: convert jsmn's tokens, check structure, primitives, strings. */
static int
convert(struct json_doc *doc, const jsmntok_t *jt, int n, char *errbuf, size_t errlen)
{
	struct frame stack[MAX_FRAMES];
	int sp = 0;
	int stroff = 0;
	int bad = 0;
	const char *why = "unexpected character";
	int i;

	for (i = 0; i < n; i++) {
		struct json_tok *t = &doc->toks[i];
		int p = jt[i].parent;
		int pkind;

		t->sib = -1;
		t->str = -1;
		t->size = 0;
		switch (jt[i].type) {
		case JSMN_OBJECT:
			t->kind = JSON_OBJECT;
			t->start = jt[i].start;
			t->end = jt[i].end;
			t->size = jt[i].size;
			break;
		case JSMN_ARRAY:
			t->kind = JSON_ARRAY;
			t->start = jt[i].start;
			t->end = jt[i].end;
			t->size = jt[i].size;
			break;
		case JSMN_STRING:
			t->kind = JSON_STRING;
			t->start = jt[i].start - 1;
			t->end = jt[i].end + 1;
			break;
		case JSMN_PRIMITIVE:
			t->start = jt[i].start;
			t->end = jt[i].end;
			t->kind = primitive_kind(doc->text + t->start, t->end - t->start);
			if (t->kind == JSON_INVALID) {
				bad = t->start;
				why = "invalid literal or number";
				goto bad;
			}
			break;
		default:
			bad = jt[i].start;
			goto bad;
		}
		if (t->start < 0 || t->end < t->start || (size_t)t->end > doc->len) {
			bad = 0;
			goto bad;
		}

		/* Close the frames this token is not inside. */
		while (sp > 0 && stack[sp - 1].tok != p) {
			if (!close_frame(doc, &stack[sp - 1], &bad))
				goto bad;
			sp--;
		}

		if (p < 0) {
			if (i != 0) {
				bad = t->start;
				why = "more than one root value";
				goto bad;
			}
			if (!gap_ok(doc->text, 0, t->start, 0, &bad))
				goto bad;
		} else {
			struct frame *f;

			if (sp == 0) {
				bad = t->start;
				goto bad;
			}
			f = &stack[sp - 1];
			pkind = doc->toks[p].kind;
			if (pkind == JSON_OBJECT) {
				/* t is a key */
				if (t->kind != JSON_STRING || jt[i].size != 1) {
					bad = t->start;
					why = t->kind != JSON_STRING
						      ? "object key is not a string"
						      : "object member without a value";
					goto bad;
				}
				if (f->last < 0) {
					if (!gap_ok(doc->text, doc->toks[p].start + 1, t->start, 0,
						    &bad))
						goto bad;
				} else {
					if (!gap_ok(doc->text, f->last_end, t->start, ',', &bad))
						goto bad;
					doc->toks[f->last].sib = i;
				}
			} else if (pkind == JSON_ARRAY) {
				if (f->last < 0) {
					if (!gap_ok(doc->text, doc->toks[p].start + 1, t->start, 0,
						    &bad))
						goto bad;
				} else {
					if (!gap_ok(doc->text, f->last_end, t->start, ',', &bad))
						goto bad;
					doc->toks[f->last].sib = i;
				}
				f->last = i;
				f->last_end = t->end;
			} else if (pkind == JSON_STRING && f->last < 0 && sp >= 2) {
				/* t is the value of key p, inside object stack[sp - 2] */
				if (!gap_ok(doc->text, doc->toks[p].end, t->start, ':', &bad))
					goto bad;
				doc->toks[p].sib = i;
				f->last = i;
				stack[sp - 2].last = i;
				stack[sp - 2].last_end = t->end;
			} else {
				bad = t->start;
				goto bad;
			}
		}

		if (t->kind == JSON_STRING) {
			int r;

			/* Only a key may have a child. */
			if (jt[i].size != 0 && (p < 0 || doc->toks[p].kind != JSON_OBJECT)) {
				bad = t->end;
				goto bad;
			}
			r = decode_string(doc->text, t->start + 1, t->end - 1, doc->strs + stroff,
					  &bad, &why);
			if (r < 0)
				goto bad;
			t->str = stroff;
			stroff += r + 1;
		}

		if (t->kind == JSON_OBJECT || t->kind == JSON_ARRAY ||
		    (t->kind == JSON_STRING && jt[i].size != 0)) {
			if (sp >= MAX_FRAMES) {
				bad = t->start;
				why = "nesting too deep";
				goto bad;
			}
			stack[sp].tok = i;
			stack[sp].last = -1;
			stack[sp].last_end = -1;
			sp++;
		}
	}
	while (sp > 0) {
		if (!close_frame(doc, &stack[sp - 1], &bad))
			goto bad;
		sp--;
	}
	if (!gap_ok(doc->text, doc->toks[0].end, (int)doc->len, 0, &bad)) {
		why = "trailing data";
		goto bad;
	}
	return 0;
bad:
	return fail(errbuf, errlen, -EINVAL, (size_t)bad, why);
}

struct keyref {
	const char *s;
	int tok;
};

static int
keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a;
	const struct keyref *y = b;
	int r = strcmp(x->s, y->s);

	if (r)
		return r;
	return (x->tok > y->tok) - (x->tok < y->tok);
}

/* Pass 4: no object has the same (decoded) key twice. */
static int
check_duplicates(const struct json_doc *doc, char *errbuf, size_t errlen)
{
	struct keyref *refs = NULL;
	int i;
	int bad = -1;

	for (i = 0; i < doc->ntoks && bad < 0; i++) {
		const struct json_tok *t = &doc->toks[i];
		int n = t->size;
		int a;
		int b;
		int k;

		if (t->kind != JSON_OBJECT || n < 2)
			continue;
		if (n <= SMALL_OBJECT) {
			for (a = i + 1; a >= 0 && bad < 0; a = doc->toks[doc->toks[a].sib].sib)
				for (b = doc->toks[doc->toks[a].sib].sib; b >= 0;
				     b = doc->toks[doc->toks[b].sib].sib)
					if (strcmp(doc->strs + doc->toks[a].str,
						   doc->strs + doc->toks[b].str) == 0) {
						bad = b;
						break;
					}
			continue;
		}
		if (!refs) {
			refs = calloc((size_t)doc->ntoks / 2 + 1, sizeof(*refs));
			if (!refs)
				return -ENOMEM;
		}
		for (a = i + 1, k = 0; a >= 0; a = doc->toks[doc->toks[a].sib].sib, k++) {
			refs[k].s = doc->strs + doc->toks[a].str;
			refs[k].tok = a;
		}
		qsort(refs, (size_t)k, sizeof(*refs), keyref_cmp);
		for (a = 1; a < k; a++)
			if (strcmp(refs[a - 1].s, refs[a].s) == 0) {
				bad = refs[a].tok;
				break;
			}
	}
	free(refs);
	if (bad >= 0)
		return fail(errbuf, errlen, -EINVAL, (size_t)doc->toks[bad].start, "duplicate key");
	return 0;
}

void
json_free(struct json_doc *doc)
{
	if (!doc)
		return;
	/* A poll answer holds a work secret: nothing parsed outlives the doc. */
	if (doc->text)
		secret_wipe(doc->text, doc->len);
	if (doc->strs)
		secret_wipe(doc->strs, doc->len + 1);
	free(doc->text);
	free(doc->toks);
	free(doc->strs);
	free(doc);
}

int
json_parse(const char *text, size_t len, struct json_doc **ret_doc, char *errbuf, size_t errlen)
{
	struct json_doc *doc = NULL;
	jsmntok_t *jt = NULL;
	jsmn_parser parser;
	const char *why = NULL;
	size_t ntok = 0;
	size_t off = 0;
	unsigned int cap;
	int r;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!ret_doc || (!text && len))
		return -EINVAL;
	if (len > JSON_MAX_INPUT)
		return fail(errbuf, errlen, -E2BIG, JSON_MAX_INPUT, "input too large");
	r = prescan(text, len, &ntok, &off, &why);
	if (r < 0)
		return fail(errbuf, errlen, r, off, why);
	if (ntok == 0)
		return fail(errbuf, errlen, -EINVAL, len, "no value");

	doc = calloc(1, sizeof(*doc));
	if (!doc)
		return -ENOMEM;
	doc->len = len;
	doc->text = malloc(len + 2);
	/* Decoded strings never outgrow their source, plus one NUL each. */
	doc->strs = malloc(len + 1);
	if (!doc->text || !doc->strs)
		goto oom;
	if (len)
		memcpy(doc->text, text, len);
	doc->text[len] = ' ';
	doc->text[len + 1] = '\0';

	cap = (unsigned int)ntok;
	jt = calloc(cap, sizeof(*jt));
	if (!jt)
		goto oom;
	jsmn_init(&parser);
	for (;;) {
		jsmntok_t *grown;
		unsigned int ncap;

		r = jsmn_parse(&parser, doc->text, len + 1, jt, cap);
		if (r != JSMN_ERROR_NOMEM)
			break;
		/* The pre-scan's count is exact for valid input, so this is
		 * only a safety net; jsmn resumes where it stopped. */
		if (cap >= JSON_MAX_TOKENS) {
			r = fail(errbuf, errlen, -E2BIG, parser.pos, "too many values");
			goto out;
		}
		ncap = cap > JSON_MAX_TOKENS / 2 ? JSON_MAX_TOKENS : cap * 2;
		grown = realloc(jt, ncap * sizeof(*jt));
		if (!grown)
			goto oom;
		jt = grown;
		cap = ncap;
	}
	if (r == JSMN_ERROR_INVAL) {
		r = fail(errbuf, errlen, -EINVAL, parser.pos, "unexpected character");
		goto out;
	}
	if (r == JSMN_ERROR_PART || r < 0) {
		r = fail(errbuf, errlen, -EINVAL, len, "unexpected end of input");
		goto out;
	}
	if (parser.toknext == 0) {
		r = fail(errbuf, errlen, -EINVAL, len, "no value");
		goto out;
	}

	doc->ntoks = (int)parser.toknext;
	doc->toks = calloc((size_t)doc->ntoks, sizeof(*doc->toks));
	if (!doc->toks)
		goto oom;
	r = convert(doc, jt, doc->ntoks, errbuf, errlen);
	if (r < 0)
		goto out;
	r = check_duplicates(doc, errbuf, errlen);
	if (r < 0)
		goto out;

	free(jt);
	*ret_doc = doc;
	return 0;
oom:
	r = -ENOMEM;
out:
	free(jt);
	json_free(doc);
	return r;
}

static const struct json_tok *
tok_at(const struct json_doc *doc, int tok)
{
	if (!doc || tok < 0 || tok >= doc->ntoks)
		return NULL;
	return &doc->toks[tok];
}

enum json_kind
json_kind(const struct json_doc *doc, int tok)
{
	const struct json_tok *t = tok_at(doc, tok);

	return t ? (enum json_kind)t->kind : JSON_INVALID;
}

int
json_size(const struct json_doc *doc, int tok)
{
	const struct json_tok *t = tok_at(doc, tok);

	return t ? t->size : 0;
}

int
json_next(const struct json_doc *doc, int tok)
{
	const struct json_tok *t = tok_at(doc, tok);

	return t ? t->sib : -1;
}

int
json_first(const struct json_doc *doc, int tok)
{
	const struct json_tok *t = tok_at(doc, tok);

	if (!t || (t->kind != JSON_OBJECT && t->kind != JSON_ARRAY) || t->size == 0)
		return -1;
	return tok + 1;
}

int
json_get(const struct json_doc *doc, int obj, const char *key)
{
	const struct json_tok *t = tok_at(doc, obj);
	int k;

	if (!t || t->kind != JSON_OBJECT || !key)
		return -1;
	for (k = json_first(doc, obj); k >= 0; k = doc->toks[doc->toks[k].sib].sib)
		if (strcmp(doc->strs + doc->toks[k].str, key) == 0)
			return doc->toks[k].sib;
	return -1;
}

const char *
json_str(const struct json_doc *doc, int tok)
{
	const struct json_tok *t = tok_at(doc, tok);

	if (!t || t->kind != JSON_STRING)
		return NULL;
	return doc->strs + t->str;
}

const char *
json_get_str(const struct json_doc *doc, int obj, const char *key)
{
	return json_str(doc, json_get(doc, obj, key));
}

int
json_int64(const struct json_doc *doc, int tok, int64_t *ret)
{
	const struct json_tok *t = tok_at(doc, tok);
	const char *s;
	char *end;
	long long v;
	int n;
	int digits;

	if (!t || t->kind != JSON_NUMBER || !ret)
		return -EINVAL;
	s = doc->text + t->start;
	n = t->end - t->start;
	if (memchr(s, '.', (size_t)n) || memchr(s, 'e', (size_t)n) || memchr(s, 'E', (size_t)n))
		return -EINVAL;
	digits = s[0] == '-' ? n - 1 : n;
	if (digits > 19)
		return -ERANGE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end != s + n)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*ret = (int64_t)v;
	return 0;
}

int
json_double(const struct json_doc *doc, int tok, double *ret)
{
	const struct json_tok *t = tok_at(doc, tok);
	const char *s;
	char *end;
	locale_t c_locale;
	double v;
	int saved;

	if (!t || t->kind != JSON_NUMBER || !ret)
		return -EINVAL;
	s = doc->text + t->start;
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c_locale == (locale_t)0)
		return -ENOMEM;
	errno = 0;
	v = strtod_l(s, &end, c_locale);
	saved = errno;
	freelocale(c_locale);
	if (end != doc->text + t->end)
		return -EINVAL;
	/* Overflow is an error; underflow gives the nearest value (0 or a
	 * subnormal), as JavaScript does. */
	if (saved == ERANGE && isinf(v))
		return -ERANGE;
	*ret = v;
	return 0;
}

int
json_bool(const struct json_doc *doc, int tok)
{
	switch (json_kind(doc, tok)) {
	case JSON_TRUE:
		return 1;
	case JSON_FALSE:
		return 0;
	default:
		return -EINVAL;
	}
}

const char *
json_raw(const struct json_doc *doc, int tok, size_t *ret_len)
{
	const struct json_tok *t = tok_at(doc, tok);

	if (!t)
		return NULL;
	if (ret_len)
		*ret_len = (size_t)(t->end - t->start);
	return doc->text + t->start;
}
