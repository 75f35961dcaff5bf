/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "json-trim.h"
#include "json.h"

/* Parse exactly n bytes from a private heap copy, so reads past the end are
 * caught by ASan and valgrind. */
static int
parse_n(const char *s, size_t n, struct json_doc **ret)
{
	struct json_doc *doc = NULL;
	char *copy = malloc(n ? n : 1);
	int r;

	assert_non_null(copy);
	if (n)
		memcpy(copy, s, n);
	r = json_parse(copy, n, &doc, NULL, 0);
	free(copy);
	if (r == 0) {
		assert_non_null(doc);
		if (ret)
			*ret = doc;
		else
			json_free(doc);
	} else {
		assert_null(doc);
	}
	return r;
}

static int
parse_s(const char *s)
{
	return parse_n(s, strlen(s), NULL);
}

static struct json_doc *
must_parse(const char *s)
{
	struct json_doc *doc = NULL;
	char err[128];
	int r = json_parse(s, strlen(s), &doc, err, sizeof(err));

	if (r != 0)
		fail_msg("parse of '%s' failed: %d %s", s, r, err);
	return doc;
}

static void
assert_rejects(const char *s, size_t n, int want)
{
	int r = parse_n(s, n, NULL);

	if (r != want)
		fail_msg("input '%.*s' (%zu bytes): got %d, want %d", (int)n, s, n, r, want);
}

#define REJECT(lit) assert_rejects((lit), sizeof(lit) - 1, -EINVAL)
#define ACCEPT(lit) assert_int_equal(parse_n((lit), sizeof(lit) - 1, NULL), 0)

/* docs/design.md §4: every input jsmn alone accepts. */
static void
test_jsmn_accepts_these(void **state)
{
	REJECT("{}{}");
	REJECT("{\"a\" \"b\"}");
	REJECT("{\"a\":::\"b\"}");
	REJECT("[1,]");
	REJECT("[thanx]");
	REJECT("[\"a\tb\"]");
	REJECT("[\"\\ud800\"]");
	REJECT(":{}");
	REJECT("{\"a\":1}\0{");
}

static void
test_malformed_structure(void **state)
{
	static const char *const bad[] = {
		"",
		" ",
		"\n\t\r ",
		"{",
		"}",
		"[",
		"]",
		"[1",
		"[[1]",
		"[1]]",
		"{\"a\":1}}",
		"{\"a\"}",
		"{\"a\":}",
		"{\"a\":1,}",
		"{,\"a\":1}",
		"{\"a\":1,,\"b\":2}",
		"[,1]",
		"[1,,2]",
		"[1 2]",
		"[1:2]",
		"[\"a\":1]",
		"[\"a\" 1]",
		"{\"a\":1 \"b\":2}",
		"{\"a\" 1}",
		"{1:2}",
		"{true:1}",
		"{null:1}",
		"{[]:1}",
		"{{}:1}",
		"{\"a\",1}",
		"{\"a\":1:2}",
		"{\"a\":[1]:2}",
		"{\"a\":{}:2}",
		"{\"a\"::1}",
		"{:\"a\":1}",
		"{\"a\":1,:}",
		"[1]x",
		"[1] [2]",
		"[1],",
		",[1]",
		"1 2",
		"\"a\" \"b\"",
		"\"a\"\"b\"",
		"[\"a\"\"b\"]",
		"{\"a\":1}{",
		"{]",
		"[}",
		"[1,2}",
		"{\"a\":1]",
		"\xEF\xBB\xBF{}",
		"[1]\f",
		"[1,\v2]",
		"/**/{}",
		"{\"a\":1}//",
		"['a']",
		"[\"abc]",
		"[\"abc",
		"\"abc",
		"{\"a\":\"b}",
		"[1,[2,[3]]",
		"[1,[2,[3]]]]",
		",",
		":",
		"[,]",
		"{,}",
		"{:}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rejects(bad[i], strlen(bad[i]), -EINVAL);
}

static void
test_literals(void **state)
{
	ACCEPT("[true,false,null]");
	ACCEPT("true");
	ACCEPT("false");
	ACCEPT("null");
	REJECT("[tru]");
	REJECT("[truee]");
	REJECT("[True]");
	REJECT("[TRUE]");
	REJECT("[nul]");
	REJECT("[nulll]");
	REJECT("[NULL]");
	REJECT("[fals]");
	REJECT("[falsetrue]");
	REJECT("[t]");
	REJECT("[n]");
	REJECT("[f]");
	REJECT("[true1]");
	REJECT("[Infinity]");
	REJECT("[NaN]");
	REJECT("[undefined]");
	REJECT("tru");
	REJECT("nulx");
}

static void
test_number_grammar(void **state)
{
	static const char *const good[] = {
		"[0]",	   "[-0]",     "[1]",	     "[-1]",   "[10]",	"[123456789]",
		"[0.5]",   "[-0.5]",   "[1.25]",     "[1e5]",  "[1E5]", "[1e+5]",
		"[1e-5]",  "[1.5e10]", "[-1.5E-10]", "[0e0]",  "[0.0]", "[0E+0]",
		"[1.000]", "0",	       "-1",	     "12.5e1",
	};
	static const char *const bad[] = {
		"[-]",	  "[01]",	 "[-01]",   "[00]",	"[1.]",	  "[.5]",      "[-.5]",
		"[1e]",	  "[1e+]",	 "[1e-]",   "[+1]",	"[0x10]", "[1.5e3.2]", "[1..2]",
		"[1ee5]", "[1e5e5]",	 "[--1]",   "[1-]",	"[1+1]",  "[1.e5]",    "[-e5]",
		"[Inf]",  "[-Infinity]", "[1_000]", "[1,000.]", "-",	  "01",	       "1.",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (parse_s(good[i]) != 0)
			fail_msg("valid number '%s' refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_s(bad[i]) != -EINVAL)
			fail_msg("invalid number '%s' accepted", bad[i]);
}

static void
check_int(const char *text, int want_r, int64_t want)
{
	struct json_doc *doc = must_parse(text);
	int64_t v = 12345;
	int r = json_int64(doc, 0, &v);

	if (r != want_r)
		fail_msg("json_int64('%s') = %d, want %d", text, r, want_r);
	if (r == 0)
		assert_true(v == want);
	else
		assert_true(v == 12345);
	json_free(doc);
}

static void
check_double(const char *text, int want_r, double want)
{
	struct json_doc *doc = must_parse(text);
	double v = 42.0;
	int r = json_double(doc, 0, &v);

	if (r != want_r)
		fail_msg("json_double('%s') = %d, want %d", text, r, want_r);
	if (r == 0)
		assert_true(v == want);
	else
		assert_true(v == 42.0);
	json_free(doc);
}

static void
test_number_values(void **state)
{
	check_int("0", 0, 0);
	check_int("-0", 0, 0);
	check_int("42", 0, 42);
	check_int("-42", 0, -42);
	check_int("9223372036854775807", 0, INT64_MAX);
	check_int("-9223372036854775808", 0, INT64_MIN);
	check_int("9223372036854775808", -ERANGE, 0);
	check_int("-9223372036854775809", -ERANGE, 0);
	check_int("99999999999999999999", -ERANGE, 0);
	check_int("123456789012345678901234567890", -ERANGE, 0);
	check_int("1.5", -EINVAL, 0);
	check_int("1.0", -EINVAL, 0);
	check_int("1e3", -EINVAL, 0);
	check_int("1E3", -EINVAL, 0);

	check_double("0", 0, 0.0);
	check_double("1.5", 0, 1.5);
	check_double("-2.5e-3", 0, -2.5e-3);
	check_double("1E2", 0, 100.0);
	check_double("0.1", 0, 0.1);
	check_double("42", 0, 42.0);
	check_double("1.7976931348623157e308", 0, 1.7976931348623157e308);
	check_double("1e309", -ERANGE, 0);
	check_double("-1e309", -ERANGE, 0);
	check_double("1e-400", 0, 0.0);
	check_double("-1e-400", 0, -0.0);
}

static void
test_number_long_digits(void **state)
{
	struct buf b = BUF_INIT(1 << 20);
	struct json_doc *doc = NULL;
	double d = 0;
	int64_t v = 0;
	int i;

	assert_int_equal(buf_putc(&b, '['), 0);
	for (i = 0; i < 400; i++)
		assert_int_equal(buf_putc(&b, '9'), 0);
	assert_int_equal(buf_puts(&b, ",0."), 0);
	for (i = 0; i < 400; i++)
		assert_int_equal(buf_putc(&b, '0'), 0);
	assert_int_equal(buf_puts(&b, "1]"), 0);
	assert_int_equal(json_parse(b.data, b.len, &doc, NULL, 0), 0);
	assert_int_equal(json_int64(doc, 1, &v), -ERANGE);
	assert_int_equal(json_double(doc, 1, &d), -ERANGE);
	assert_int_equal(json_double(doc, 2, &d), 0);
	assert_true(d == 0.0);
	json_free(doc);
	buf_release(&b);
}

/* A decimal comma in LC_NUMERIC must not change parsing. */
static void
test_number_locale(void **state)
{
	static const char *const locales[] = {
		"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8",
	};
	struct json_doc *doc;
	double d = 0;
	size_t i;
	const char *set = NULL;

	for (i = 0; i < sizeof(locales) / sizeof(locales[0]) && !set; i++)
		set = setlocale(LC_NUMERIC, locales[i]);
	if (!set)
		skip();
	doc = must_parse("[1.5,2e1]");
	assert_int_equal(json_double(doc, 1, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(json_double(doc, 2, &d), 0);
	assert_true(d == 20.0);
	json_free(doc);
	setlocale(LC_NUMERIC, "C");
}

static void
check_string(const char *text, const char *want, size_t want_len)
{
	struct json_doc *doc = NULL;
	char err[128];
	int r = json_parse(text, strlen(text), &doc, err, sizeof(err));
	const char *s;

	if (r != 0)
		fail_msg("string '%s' refused: %s", text, err);
	s = json_str(doc, 0);
	assert_non_null(s);
	assert_int_equal(strlen(s), want_len);
	assert_memory_equal(s, want, want_len);
	json_free(doc);
}

#define CHECK_STRING(text, want) check_string((text), (want), sizeof(want) - 1)

static void
test_escapes(void **state)
{
	CHECK_STRING("\"\"", "");
	CHECK_STRING("\"abc\"", "abc");
	CHECK_STRING("\"\\\"\"", "\"");
	CHECK_STRING("\"\\\\\"", "\\");
	CHECK_STRING("\"\\/\"", "/");
	CHECK_STRING("\"/\"", "/");
	CHECK_STRING("\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t");
	CHECK_STRING("\"\\u0041\\u0062\"", "Ab");
	CHECK_STRING("\"\\u0001\\u001f\\u007f\"", "\x01\x1f\x7f");
	CHECK_STRING("\"\\u00e9\\u00E9\"", "\xc3\xa9\xc3\xa9");
	CHECK_STRING("\"\\u07FF\\u0800\"", "\xdf\xbf\xe0\xa0\x80");
	CHECK_STRING("\"\\u20AC\\u20ac\"", "\xe2\x82\xac\xe2\x82\xac");
	CHECK_STRING("\"\\uFFFF\\uFFFD\"", "\xef\xbf\xbf\xef\xbf\xbd");
	CHECK_STRING("\"a\\nb\\u0020c\"", "a\nb c");
	CHECK_STRING("\"\\\\u0041\"", "\\u0041");
	CHECK_STRING("\"\\\"\\\\\\\"\"", "\"\\\"");
	CHECK_STRING("\"\x7f\"", "\x7f");

	REJECT("[\"\\x41\"]");
	REJECT("[\"\\a\"]");
	REJECT("[\"\\'\"]");
	REJECT("[\"\\U0041\"]");
	REJECT("[\"\\u41\"]");
	REJECT("[\"\\u004\"]");
	REJECT("[\"\\u00G1\"]");
	REJECT("[\"\\u 041\"]");
	REJECT("[\"\\\"]");
	REJECT("[\"\\");
	REJECT("[\"\\0\"]");
	REJECT("[\"\\\n\"]");
}

/* A NUL inside a string is named where it is, however far in. */
static void
assert_nul_at(const char *s, size_t n, size_t off)
{
	struct json_doc *doc = NULL;
	char want[64];
	char err[64];

	assert_int_equal(json_parse(s, n, &doc, err, sizeof(err)), -EINVAL);
	assert_null(doc);
	snprintf(want, sizeof(want), "NUL byte at offset %zu", off);
	assert_string_equal(err, want);
}

static void
test_control_characters(void **state)
{
	char text[8];
	int c;

	for (c = 0x01; c < 0x20; c++) {
		snprintf(text, sizeof(text), "[\"%c\"]", c);
		assert_rejects(text, strlen(text), -EINVAL);
	}
	/* NUL bytes, inside or outside strings */
	assert_rejects("[\"\0\"]", 5, -EINVAL);
	assert_nul_at("[\"abcdefgh\0ij\"]", 15, 10);
	assert_nul_at("[\"a\\\"b\0\"]", 9, 6);
	REJECT("[\"abcdefgh");
	REJECT("[\"abcdefgh\\");
	assert_rejects("[1]\0", 4, -EINVAL);
	assert_rejects("\0[1]", 4, -EINVAL);
	/* \u0000 cannot be a C string */
	REJECT("[\"\\u0000\"]");
	REJECT("[\"a\\u0000b\"]");
	REJECT("{\"\\u0000\":1}");
	/* DEL is not a control character for JSON */
	ACCEPT("[\"\x7f\"]");
}

static void
test_surrogates(void **state)
{
	CHECK_STRING("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
	CHECK_STRING("\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80");
	CHECK_STRING("\"\\ud800\\udc00\"", "\xf0\x90\x80\x80");
	CHECK_STRING("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf");
	CHECK_STRING("\"x\\ud834\\udd1ey\"", "x\xf0\x9d\x84\x9ey");
	CHECK_STRING("\"\\ud7ff\\ue000\"", "\xed\x9f\xbf\xee\x80\x80");

	REJECT("[\"\\ud800\"]");
	REJECT("[\"\\udbff\"]");
	REJECT("[\"\\udc00\"]");
	REJECT("[\"\\udfff\"]");
	REJECT("[\"\\ud800x\"]");
	REJECT("[\"\\ud800\\u0041\"]");
	REJECT("[\"\\ud800\\ud800\"]");
	REJECT("[\"\\udc00\\ud800\"]");
	REJECT("[\"\\ud800\\n\"]");
	REJECT("[\"\\ud800\\\"]");
	REJECT("[\"\\ud800\\ud\"]");
	REJECT("[\"\\ud800\\ue000\"]");
	REJECT("[\"\\ud800\\udc0\"]");
	REJECT("[\"a\\ud83d\"]");
	REJECT("{\"\\ud800\":1}");
	/* a raw, UTF-8-encoded surrogate is invalid UTF-8 */
	REJECT("[\"\xed\xa0\x80\"]");
}

static void
test_utf8(void **state)
{
	static const char *const good[] = {
		"[\"\xc2\x80\"]",	  /* U+0080 */
		"[\"\xdf\xbf\"]",	  /* U+07FF */
		"[\"\xe0\xa0\x80\"]",	  /* U+0800 */
		"[\"\xed\x9f\xbf\"]",	  /* U+D7FF */
		"[\"\xee\x80\x80\"]",	  /* U+E000 */
		"[\"\xef\xbf\xbf\"]",	  /* U+FFFF */
		"[\"\xef\xbb\xbf\"]",	  /* a BOM inside a string is a character */
		"[\"\xf0\x90\x80\x80\"]", /* U+10000 */
		"[\"\xf4\x8f\xbf\xbf\"]", /* U+10FFFF */
		"[\"h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80\"]",
		"{\"\xc3\xa9\":\"\xe2\x82\xac\"}",
	};
	static const char *const bad[] = {
		"[\"\x80\"]", /* lone continuation */
		"[\"\xbf\"]",
		"[\"\xc0\x80\"]", /* overlong NUL */
		"[\"\xc1\xbf\"]", /* overlong */
		"[\"\xc2\"]",	  /* truncated */
		"[\"\xc2\x41\"]",
		"[\"\xe0\x80\x80\"]", /* overlong */
		"[\"\xe0\x9f\xbf\"]", /* overlong */
		"[\"\xe2\x82\"]",     /* truncated */
		"[\"\xe2\x82",
		"[\"\xe2",
		"[\"\xed\xa0\x80\"]",	  /* surrogate D800 */
		"[\"\xed\xbf\xbf\"]",	  /* surrogate DFFF */
		"[\"\xf0\x80\x80\x80\"]", /* overlong */
		"[\"\xf0\x8f\xbf\xbf\"]", /* overlong */
		"[\"\xf4\x90\x80\x80\"]", /* > U+10FFFF */
		"[\"\xf5\x80\x80\x80\"]",
		"[\"\xf8\x88\x80\x80\x80\"]",
		"[\"\xfe\"]",
		"[\"\xff\"]",
		"[\"\xf0\x9f\x98\"]", /* truncated 4-byte */
		"{\"\xff\":1}",
		"[\xc3\xa9]", /* non-ASCII outside a string */
		"\xc3\xa9",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (parse_s(good[i]) != 0)
			fail_msg("valid UTF-8 #%zu refused", i);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_s(bad[i]) != -EINVAL)
			fail_msg("invalid UTF-8 #%zu accepted", i);
}

static void
test_whitespace(void **state)
{
	struct json_doc *doc = must_parse(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ \t\r\n1 \t\r\n, "
					  "\t\r\n2 \t\r\n] \t\r\n, \"b\":{ } ,\"c\":[\n] } \t\r\n");

	assert_int_equal(json_kind(doc, 0), JSON_OBJECT);
	assert_int_equal(json_size(doc, 0), 3);
	assert_int_equal(json_size(doc, json_get(doc, 0, "a")), 2);
	assert_int_equal(json_size(doc, json_get(doc, 0, "b")), 0);
	assert_int_equal(json_kind(doc, json_get(doc, 0, "c")), JSON_ARRAY);
	json_free(doc);
	ACCEPT("{}");
	ACCEPT("[]");
	ACCEPT(" [ ] ");
	ACCEPT("{ }");
	ACCEPT("[[],{},[[]],{\"a\":{}}]");
}

static void
test_root_scalars(void **state)
{
	struct json_doc *doc;
	int64_t v = 0;

	doc = must_parse("42");
	assert_int_equal(json_kind(doc, 0), JSON_NUMBER);
	assert_int_equal(json_int64(doc, 0, &v), 0);
	assert_true(v == 42);
	json_free(doc);

	doc = must_parse("  -1.5e3 \n");
	assert_int_equal(json_kind(doc, 0), JSON_NUMBER);
	json_free(doc);

	doc = must_parse("\"hi\"");
	assert_string_equal(json_str(doc, 0), "hi");
	json_free(doc);

	doc = must_parse("true");
	assert_int_equal(json_bool(doc, 0), 1);
	json_free(doc);

	doc = must_parse("null");
	assert_int_equal(json_kind(doc, 0), JSON_NULL);
	assert_int_equal(json_bool(doc, 0), -EINVAL);
	json_free(doc);
}

static void
test_not_nul_terminated(void **state)
{
	const char *text = "[1,2]garbage";
	struct json_doc *doc = NULL;

	assert_int_equal(json_parse(text, 5, &doc, NULL, 0), 0);
	assert_int_equal(json_size(doc, 0), 2);
	json_free(doc);
	/* root primitives running to the very end of a heap block */
	assert_int_equal(parse_n("123", 3, NULL), 0);
	assert_int_equal(parse_n("true", 4, NULL), 0);
	assert_int_equal(parse_n("1.5e7", 5, NULL), 0);
	assert_int_equal(parse_n("\"x\"", 3, NULL), 0);
	assert_int_equal(parse_n("-", 1, NULL), -EINVAL);
	assert_int_equal(parse_n("12345", 3, NULL), 0);
}

static void
test_accessors(void **state)
{
	struct json_doc *doc = must_parse(
		"{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\",\"f\":[[]]},\"\":\"empty\","
		"\"s\":\"str\"}");
	int a;
	int b;
	int c;
	int k;
	int v;
	int e;
	int n;
	int64_t i64 = 7;
	static const char *const keys[] = { "a", "b", "c", "", "s" };

	assert_int_equal(json_kind(doc, 0), JSON_OBJECT);
	assert_int_equal(json_size(doc, 0), 5);

	/* iterate members in order */
	n = 0;
	for (k = json_first(doc, 0); k >= 0; k = json_next(doc, v)) {
		assert_true(n < 5);
		assert_int_equal(json_kind(doc, k), JSON_STRING);
		assert_string_equal(json_str(doc, k), keys[n]);
		v = json_next(doc, k);
		assert_true(v == k + 1);
		assert_int_equal(json_get(doc, 0, keys[n]), v);
		n++;
	}
	assert_int_equal(n, 5);

	a = json_get(doc, 0, "a");
	assert_int_equal(json_kind(doc, a), JSON_NUMBER);
	assert_int_equal(json_int64(doc, a, &i64), 0);
	assert_true(i64 == 1);
	assert_int_equal(json_size(doc, a), 0);
	assert_int_equal(json_first(doc, a), -1);
	assert_null(json_str(doc, a));

	b = json_get(doc, 0, "b");
	assert_int_equal(json_kind(doc, b), JSON_ARRAY);
	assert_int_equal(json_size(doc, b), 3);
	e = json_first(doc, b);
	assert_int_equal(json_bool(doc, e), 1);
	e = json_next(doc, e);
	assert_int_equal(json_bool(doc, e), 0);
	e = json_next(doc, e);
	assert_int_equal(json_kind(doc, e), JSON_NULL);
	assert_int_equal(json_next(doc, e), -1);
	assert_int_equal(json_get(doc, b, "a"), -1);

	c = json_get(doc, 0, "c");
	assert_int_equal(json_kind(doc, c), JSON_OBJECT);
	assert_string_equal(json_get_str(doc, c, "d"), "e");
	assert_null(json_get_str(doc, c, "f"));
	assert_null(json_get_str(doc, c, "missing"));
	assert_int_equal(json_size(doc, json_get(doc, c, "f")), 1);
	assert_int_equal(json_size(doc, json_first(doc, json_get(doc, c, "f"))), 0);
	/* next of a container value skips its whole subtree */
	assert_int_equal(json_next(doc, c), json_get(doc, 0, "") - 1);

	assert_string_equal(json_get_str(doc, 0, ""), "empty");
	assert_string_equal(json_get_str(doc, 0, "s"), "str");
	assert_int_equal(json_get(doc, 0, "S"), -1);
	assert_int_equal(json_get(doc, 0, "str"), -1); /* values are not keys */
	assert_int_equal(json_get(doc, 0, NULL), -1);
	assert_int_equal(json_next(doc, 0), -1);

	/* absent and out-of-range tokens */
	assert_int_equal(json_kind(doc, -1), JSON_INVALID);
	assert_int_equal(json_kind(doc, 10000), JSON_INVALID);
	assert_int_equal(json_size(doc, -1), 0);
	assert_int_equal(json_next(doc, -1), -1);
	assert_int_equal(json_first(doc, -1), -1);
	assert_int_equal(json_get(doc, -1, "a"), -1);
	assert_null(json_str(doc, -1));
	assert_null(json_get_str(doc, -1, "a"));
	assert_int_equal(json_int64(doc, -1, &i64), -EINVAL);
	assert_int_equal(json_int64(doc, b, &i64), -EINVAL);
	assert_int_equal(json_bool(doc, -1), -EINVAL);
	assert_int_equal(json_bool(doc, a), -EINVAL);
	assert_null(json_raw(doc, -1, NULL));
	assert_int_equal(json_kind(NULL, 0), JSON_INVALID);
	assert_null(json_str(NULL, 0));
	json_free(doc);
	json_free(NULL);
}

static void
check_raw(const struct json_doc *doc, int tok, const char *want)
{
	size_t n = 0;
	const char *raw = json_raw(doc, tok, &n);

	assert_non_null(raw);
	if (n != strlen(want) || memcmp(raw, want, n) != 0)
		fail_msg("raw '%.*s', want '%s'", (int)n, raw, want);
}

static void
test_raw(void **state)
{
	struct json_doc *doc = must_parse(" { \"a\" : [ 1 , {\"x\":null} ] , "
					  "\"b\":\"q\\\"\\u0041\", \"c\" :-1.5e3 ,\"d\":{ }} ");
	int a = json_get(doc, 0, "a");

	check_raw(doc, 0,
		  "{ \"a\" : [ 1 , {\"x\":null} ] , \"b\":\"q\\\"\\u0041\", \"c\" :-1.5e3 ,\"d\":{ "
		  "}}");
	check_raw(doc, json_first(doc, 0), "\"a\"");
	check_raw(doc, a, "[ 1 , {\"x\":null} ]");
	check_raw(doc, json_first(doc, a), "1");
	check_raw(doc, json_next(doc, json_first(doc, a)), "{\"x\":null}");
	check_raw(doc, json_get(doc, 0, "b"), "\"q\\\"\\u0041\"");
	assert_string_equal(json_get_str(doc, 0, "b"), "q\"A");
	check_raw(doc, json_get(doc, 0, "c"), "-1.5e3");
	check_raw(doc, json_get(doc, 0, "d"), "{ }");
	json_free(doc);
}

static void
test_duplicate_keys(void **state)
{
	struct buf b = BUF_INIT(1 << 20);
	int i;

	REJECT("{\"a\":1,\"a\":2}");
	REJECT("{\"a\":1,\"b\":2,\"a\":3}");
	REJECT("{\"a\":1,\"\\u0061\":2}");
	REJECT("{\"\xc3\xa9\":1,\"\\u00e9\":2}");
	REJECT("{\"x\":{\"a\":1,\"a\":1}}");
	REJECT("[{},{\"k\":[],\"k\":{}}]");
	REJECT("{\"\":1,\"\":2}");
	ACCEPT("{\"a\":{\"a\":{\"a\":1}}}");
	ACCEPT("{\"a\":1,\"A\":2,\"a \":3,\" a\":4}");
	ACCEPT("[{\"a\":1},{\"a\":1}]");
	ACCEPT("{\"a\":\"a\",\"b\":\"a\"}");

	/* large objects take the sorting path */
	for (i = 0; i < 50; i++)
		assert_int_equal(buf_printf(&b, "%s\"k%d\":%d", i ? "," : "{", i, i), 0);
	assert_int_equal(buf_putc(&b, '}'), 0);
	assert_int_equal(parse_n(b.data, b.len, NULL), 0);
	buf_truncate(&b, b.len - 1);
	assert_int_equal(buf_puts(&b, ",\"k0\":1}"), 0);
	assert_int_equal(parse_n(b.data, b.len, NULL), -EINVAL);
	buf_reset(&b);
	for (i = 0; i < 50; i++)
		assert_int_equal(buf_printf(&b, "%s\"k%d\":%d", i ? "," : "{", i == 49 ? 25 : i, i),
				 0);
	assert_int_equal(buf_putc(&b, '}'), 0);
	assert_int_equal(parse_n(b.data, b.len, NULL), -EINVAL);
	buf_release(&b);
}

static void
test_error_reporting(void **state)
{
	struct json_doc *sentinel = (struct json_doc *)&sentinel;
	struct json_doc *doc = sentinel;
	char err[64];

	assert_int_equal(json_parse("[1,]", 4, &doc, err, sizeof(err)), -EINVAL);
	assert_ptr_equal(doc, sentinel);
	assert_non_null(strstr(err, "offset 2"));
	assert_int_equal(json_parse("{\"a\":1,\"a\":2}", 13, &doc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "duplicate"));
	assert_non_null(strstr(err, "offset 7"));
	assert_int_equal(json_parse("[\"\\ud800\"]", 10, &doc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "surrogate"));
	assert_int_equal(json_parse("[1]\0", 4, &doc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NUL"));
	assert_non_null(strstr(err, "offset 3"));
	/* a tiny buffer is truncated, NULL is fine */
	assert_int_equal(json_parse("[1,]", 4, &doc, err, 4), -EINVAL);
	assert_int_equal(strlen(err), 3);
	assert_int_equal(json_parse("[1,]", 4, &doc, NULL, 0), -EINVAL);
	assert_ptr_equal(doc, sentinel);
	assert_int_equal(json_parse(NULL, 1, &doc, NULL, 0), -EINVAL);
	assert_int_equal(json_parse("{}", 2, NULL, NULL, 0), -EINVAL);
	/* success clears errbuf */
	assert_int_equal(json_parse("{}", 2, &doc, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	json_free(doc);
}

/* A JSON string of exactly n bytes: "aaa...". */
static char *
string_of_size(size_t n)
{
	char *s = malloc(n);

	assert_non_null(s);
	memset(s, 'a', n);
	s[0] = '"';
	s[n - 1] = '"';
	return s;
}

static void
test_size_cap(void **state)
{
	struct json_doc *doc = NULL;
	char err[64];
	char *s;

	s = string_of_size(JSON_MAX_INPUT - 1);
	assert_int_equal(json_parse(s, JSON_MAX_INPUT - 1, &doc, NULL, 0), 0);
	assert_int_equal(strlen(json_str(doc, 0)), JSON_MAX_INPUT - 3);
	json_free(doc);
	free(s);

	s = string_of_size(JSON_MAX_INPUT);
	assert_int_equal(json_parse(s, JSON_MAX_INPUT, &doc, NULL, 0), 0);
	assert_int_equal(strlen(json_str(doc, 0)), JSON_MAX_INPUT - 2);
	json_free(doc);
	free(s);

	s = string_of_size(JSON_MAX_INPUT + 1);
	doc = NULL;
	assert_int_equal(json_parse(s, JSON_MAX_INPUT + 1, &doc, err, sizeof(err)), -E2BIG);
	assert_null(doc);
	free(s);
}

static char *
array_of_zeros(int n, size_t *ret_len)
{
	struct buf b = BUF_INIT(4u << 20);
	int i;

	assert_int_equal(buf_putc(&b, '['), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_puts(&b, i ? ",0" : "0"), 0);
	assert_int_equal(buf_putc(&b, ']'), 0);
	*ret_len = b.len;
	return buf_steal(&b);
}

static void
test_token_cap(void **state)
{
	struct json_doc *doc = NULL;
	size_t n;
	char *s;

	/* the array itself is a token */
	s = array_of_zeros(JSON_MAX_TOKENS - 1, &n);
	assert_int_equal(json_parse(s, n, &doc, NULL, 0), 0);
	assert_int_equal(json_size(doc, 0), JSON_MAX_TOKENS - 1);
	json_free(doc);
	free(s);

	s = array_of_zeros(JSON_MAX_TOKENS, &n);
	doc = NULL;
	assert_int_equal(json_parse(s, n, &doc, NULL, 0), -E2BIG);
	assert_null(doc);
	free(s);
}

static char *
nested(int depth, const char *open, const char *mid, const char *close, size_t *ret_len)
{
	struct buf b = BUF_INIT(64u << 20);
	int i;

	for (i = 0; i < depth; i++)
		assert_int_equal(buf_puts(&b, open), 0);
	assert_int_equal(buf_puts(&b, mid), 0);
	for (i = 0; i < depth; i++)
		assert_int_equal(buf_puts(&b, close), 0);
	*ret_len = b.len;
	return buf_steal(&b);
}

static void
test_depth(void **state)
{
	struct json_doc *doc = NULL;
	size_t n;
	char *s;
	int t;
	int d;

	s = nested(JSON_MAX_DEPTH, "[", "1", "]", &n);
	assert_int_equal(json_parse(s, n, &doc, NULL, 0), 0);
	for (t = 0, d = 0; json_kind(doc, t) == JSON_ARRAY; t = json_first(doc, t))
		d++;
	assert_int_equal(d, JSON_MAX_DEPTH);
	json_free(doc);
	free(s);

	s = nested(JSON_MAX_DEPTH + 1, "[", "1", "]", &n);
	assert_int_equal(parse_n(s, n, NULL), -E2BIG);
	free(s);

	s = nested(JSON_MAX_DEPTH, "{\"k\":", "{}", "}", &n);
	assert_int_equal(parse_n(s, n, NULL), -E2BIG); /* 65 objects */
	free(s);
	s = nested(JSON_MAX_DEPTH - 1, "{\"k\":", "{}", "}", &n);
	assert_int_equal(parse_n(s, n, NULL), 0);
	free(s);

	s = nested(JSON_MAX_DEPTH / 2 - 1, "[{\"k\":", "[[]]", "}]", &n);
	assert_int_equal(parse_n(s, n, NULL), 0);
	free(s);

	/* brackets inside strings do not count */
	s = nested(1000, "[", "", "]", &n);
	{
		struct buf b = BUF_INIT(1 << 20);

		assert_int_equal(buf_printf(&b, "[\"%s\\\"[\"]", s), 0);
		assert_int_equal(parse_n(b.data, b.len, NULL), 0);
		buf_release(&b);
	}
	free(s);

	/* very deep input fails fast, even hidden behind a bad primitive */
	s = nested(1000000, "[", "", "]", &n);
	assert_int_equal(parse_n(s, n, NULL), -E2BIG);
	free(s);
	s = nested(1000000, "[t\" ,", "", "]", &n);
	assert_int_not_equal(parse_n(s, n, NULL), 0);
	free(s);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parent links and sorted duplicate checks keep this linear: a quadratic
 * parser needs minutes here. */
static void
test_large_flat(void **state)
{
	struct buf b = BUF_INIT(8u << 20);
	struct json_doc *doc = NULL;
	int nkeys = JSON_MAX_TOKENS / 2 - 1;
	double t0;
	double t1;
	int i;

	for (i = 0; i < nkeys; i++)
		assert_int_equal(buf_printf(&b, "%s\"key%d\":%d", i ? "," : "{", i, i), 0);
	assert_int_equal(buf_putc(&b, '}'), 0);
	t0 = now();
	assert_int_equal(json_parse(b.data, b.len, &doc, NULL, 0), 0);
	t1 = now();
	assert_int_equal(json_size(doc, 0), nkeys);
	assert_true(json_get(doc, 0, "key130000") > 0);
	json_free(doc);
	if (t1 - t0 > 10.0)
		fail_msg("a flat object of %d keys took %.1f s", nkeys, t1 - t0);

	/* many small objects, many closing brackets */
	buf_reset(&b);
	assert_int_equal(buf_putc(&b, '['), 0);
	for (i = 0; i < 40000; i++)
		assert_int_equal(buf_printf(&b, "%s{\"a\":[1],\"b\":{}}", i ? "," : ""), 0);
	assert_int_equal(buf_putc(&b, ']'), 0);
	t0 = now();
	assert_int_equal(json_parse(b.data, b.len, &doc, NULL, 0), 0);
	t1 = now();
	assert_int_equal(json_size(doc, 0), 40000);
	json_free(doc);
	if (t1 - t0 > 10.0)
		fail_msg("40000 small objects took %.1f s", t1 - t0);
	buf_release(&b);
}

static void
test_protocol_shapes(void **state)
{
	struct json_doc *doc = must_parse(
		"{\"type\":\"agent.tool_use\",\"id\":\"sevt_1\",\"name\":\"bash\","
		"\"input\":{\"command\":\"ls -la\\n\",\"timeout\":30000},"
		"\"processed_at\":\"2026-01-01T00:00:00Z\",\"evaluated_permission\":\"allow\"}");
	int input = json_get(doc, 0, "input");
	int64_t timeout = 0;

	assert_string_equal(json_get_str(doc, 0, "type"), "agent.tool_use");
	assert_string_equal(json_get_str(doc, input, "command"), "ls -la\n");
	assert_int_equal(json_int64(doc, json_get(doc, input, "timeout"), &timeout), 0);
	assert_true(timeout == 30000);
	json_free(doc);
}

/* Trim `in` with elements capped at `max`, fed in chunks of `chunk`. */
static void
expect_trimmed(const char *in, size_t max, size_t chunk, const char *want)
{
	struct json_trim t;
	size_t n = strlen(in);

	json_trim_init(&t, 4096, max);
	for (size_t i = 0; i < n; i += chunk)
		assert_int_equal(json_trim_feed(&t, in + i, i + chunk < n ? chunk : n - i), 0);
	if (strcmp(t.out.data ? t.out.data : "", want) != 0)
		fail_msg("max %zu, chunk %zu: '%s', want '%s'", max, chunk, t.out.data, want);
	json_trim_release(&t);
}

static void
test_trim(void **state)
{
	static const char page[] =
		"{\"data\":[{\"type\":\"a\",\"id\":\"e1\"},"
		"{\"type\":\"agent.tool_use\",\"input\":{\"pad\":"
		"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"id\":\"inner\"},\"id\":\"e2\"},"
		"{\"type\":\"user.tool_result\",\"tool_use_id\":\"e2\",\"content\":"
		"\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\\\"\"},"
		"{\"id\":\"e\\u0034\",\"type\":\"b\",\"x\":"
		"\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"},"
		"{\"type\":\"c\",\"id\":\"e5\"}],\"next_page\":\"p2\"}";
	static const char want[] =
		"{\"data\":[{\"type\":\"a\",\"id\":\"e1\"},"
		"{\"type\":\"agent.tool_use\",\"id\":\"e2\",\"oversized\":true},"
		"{\"type\":\"user.tool_result\",\"tool_use_id\":\"e2\",\"oversized\":true},"
		"{\"type\":\"b\",\"oversized\":true},"
		"{\"type\":\"c\",\"id\":\"e5\"}],\"next_page\":\"p2\"}";
	struct json_doc *doc = NULL;

	(void)state;
	for (size_t chunk = 1; chunk <= sizeof(page); chunk++)
		expect_trimmed(page, 40, chunk, want);
	/* Nothing over the bound: the copy is the page. */
	expect_trimmed(page, 4096, 7, page);
	assert_int_equal(json_parse(want, strlen(want), &doc, NULL, 0), 0);
	json_free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_jsmn_accepts_these),
		cmocka_unit_test(test_malformed_structure),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_number_grammar),
		cmocka_unit_test(test_number_values),
		cmocka_unit_test(test_number_long_digits),
		cmocka_unit_test(test_number_locale),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_surrogates),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_root_scalars),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_error_reporting),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_token_cap),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_large_flat),
		cmocka_unit_test(test_protocol_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
