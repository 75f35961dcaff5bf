/* SPDX-License-Identifier: MIT */
/*
 * A validating JSON reader over jsmn.
 *
 * jsmn alone accepts malformed input (two roots, missing colons, trailing
 * commas, raw control characters, lone surrogates...), so json_parse() checks
 * the structure between tokens, the number grammar and the strings itself;
 * what it accepts is RFC 8259 JSON.  Strings are decoded and UTF-8-checked
 * while parsing, so the accessors below never fail on content.  jsmn types
 * stay inside json.c.
 *
 * Tokens are ints: the root is 0; a negative token means "absent", and
 * every accessor accepts one (returning NULL, -1, 0 or -EINVAL).  An
 * object's members alternate key, value; keys are string tokens.  Walk a
 * container with
 *
 *	for (k = json_first(doc, obj); k >= 0; k = json_next(doc, v)) {
 *		v = json_next(doc, k);   (the value of key k)
 *		...
 *	}
 *	for (e = json_first(doc, arr); e >= 0; e = json_next(doc, e))
 *
 * Any RFC 8259 value may be the root, scalars included.  A doc is immutable,
 * so concurrent readers are fine.
 */
#ifndef ER_JSON_H
#define ER_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_INPUT (8u << 20) /* bytes */
#define JSON_MAX_TOKENS 262144
#define JSON_MAX_DEPTH 64

enum json_kind {
	JSON_INVALID = 0, /* a negative or out-of-range token */
	JSON_OBJECT,
	JSON_ARRAY,
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL,
};

struct json_doc;

/* Parse `len` bytes (need not be NUL-terminated; the doc keeps its own
 * copy, so `text` may be freed afterwards).  On failure returns -EINVAL
 * (malformed, including NUL bytes, duplicate keys, lone surrogates, invalid
 * UTF-8 and \u0000), -E2BIG (more than JSON_MAX_INPUT bytes, JSON_MAX_TOKENS
 * values and keys, or JSON_MAX_DEPTH nested containers) or -ENOMEM, leaves
 * *ret_doc untouched, and writes a short reason with the byte offset into
 * `errbuf` when given.  On success the caller frees *ret_doc with
 * json_free(). */
int
json_parse(const char *text, size_t len, struct json_doc **ret_doc, char *errbuf, size_t errlen);
/* Accepts NULL. */
void json_free(struct json_doc *doc);

enum json_kind json_kind(const struct json_doc *doc, int tok);
/* Members of an object, elements of an array, 0 otherwise. */
int json_size(const struct json_doc *doc, int tok);
/* The next sibling of `tok`, past its whole value, or -1 after the last
 * one.  Inside an object, keys and values alternate: the next of a key is
 * its value, the next of a value is the following key. */
int json_next(const struct json_doc *doc, int tok);
/* First element of an array / first key of an object, or -1 when empty. */
int json_first(const struct json_doc *doc, int tok);

/* The value of `key` (compared after decoding) in object `obj`, or -1. */
int json_get(const struct json_doc *doc, int obj, const char *key);

/* The decoded string at `tok` (NUL-terminated, borrowed from doc), or NULL
 * if it is not a string.  A string holding \u0000 is refused by json_parse,
 * so strlen() is its length. */
const char *json_str(const struct json_doc *doc, int tok);
/* Shorthands: the string value of obj.key, or NULL. */
const char *json_get_str(const struct json_doc *doc, int obj, const char *key);

/* Numbers: 0, -EINVAL (not a number / not an integer), -ERANGE; *ret is
 * untouched on failure.  json_int64 takes only numbers written without a
 * fraction or exponent.  json_double is locale-independent; an underflow
 * gives 0 or a subnormal, an overflow -ERANGE. */
int json_int64(const struct json_doc *doc, int tok, int64_t *ret);
int json_double(const struct json_doc *doc, int tok, double *ret);
/* 1 for true, 0 for false, -EINVAL otherwise. */
int json_bool(const struct json_doc *doc, int tok);

/* The raw source text of the value at `tok` (not NUL-terminated, borrowed
 * from doc; quotes included for strings), or NULL for an absent token. */
const char *json_raw(const struct json_doc *doc, int tok, size_t *ret_len);

#endif
