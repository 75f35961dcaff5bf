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
#include "json.h"
#include "jsonw.h"
#include "utf8.h"

static void
test_document(void **state)
{
	struct buf b = BUF_INIT(4096);
	struct json_doc *doc = NULL;
	struct jsonw w;
	int64_t v = 0;
	int arr;
	int e;

	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "user.tool_result");
	jw_key(&w, "n");
	jw_int(&w, -42);
	jw_key(&w, "max");
	jw_int(&w, INT64_MAX);
	jw_key(&w, "min");
	jw_int(&w, INT64_MIN);
	jw_key(&w, "ok");
	jw_bool(&w, 7);
	jw_key(&w, "bad");
	jw_bool(&w, 0);
	jw_key(&w, "nothing");
	jw_null(&w);
	jw_key(&w, "null_string");
	jw_string(&w, NULL);
	jw_key(&w, "list");
	jw_array_begin(&w);
	jw_int(&w, 1);
	jw_string(&w, "two");
	jw_array_begin(&w);
	jw_array_end(&w);
	jw_object_begin(&w);
	jw_object_end(&w);
	jw_raw(&w, "{\"pre\":[true]}", 14);
	jw_array_end(&w);
	jw_key(&w, "part");
	jw_stringn(&w, "abcdef", 3);
	jw_key(&w, "");
	jw_stringn(&w, NULL, 0);
	jw_object_end(&w);
	assert_int_equal(jw_finish(&w), 0);
	assert_string_equal(
		b.data, "{\"type\":\"user.tool_result\",\"n\":-42,\"max\":9223372036854775807,"
			"\"min\":-9223372036854775808,\"ok\":true,\"bad\":false,\"nothing\":null,"
			"\"null_string\":null,\"list\":[1,\"two\",[],{},{\"pre\":[true]}],"
			"\"part\":\"abc\",\"\":\"\"}");

	/* and back */
	assert_int_equal(json_parse(b.data, b.len, &doc, NULL, 0), 0);
	assert_string_equal(json_get_str(doc, 0, "type"), "user.tool_result");
	assert_int_equal(json_int64(doc, json_get(doc, 0, "min"), &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(json_bool(doc, json_get(doc, 0, "ok")), 1);
	assert_int_equal(json_kind(doc, json_get(doc, 0, "null_string")), JSON_NULL);
	arr = json_get(doc, 0, "list");
	assert_int_equal(json_size(doc, arr), 5);
	e = json_next(doc, json_next(doc, json_next(doc, json_next(doc, json_first(doc, arr)))));
	assert_int_equal(json_kind(doc, json_get(doc, e, "pre")), JSON_ARRAY);
	assert_string_equal(json_get_str(doc, 0, "part"), "abc");
	assert_string_equal(json_get_str(doc, 0, ""), "");
	json_free(doc);
	buf_release(&b);
}

static void
test_scalar_roots(void **state)
{
	struct buf b = BUF_INIT(64);
	struct jsonw w;

	jw_init(&w, &b);
	jw_string(&w, "x");
	assert_int_equal(jw_finish(&w), 0);
	assert_string_equal(b.data, "\"x\"");
	buf_reset(&b);
	jw_init(&w, &b);
	jw_int(&w, 0);
	assert_int_equal(jw_finish(&w), 0);
	assert_string_equal(b.data, "0");
	buf_release(&b);
}

static const char *
escaped(struct buf *b, const char *s, size_t n)
{
	buf_reset(b);
	assert_int_equal(json_escape_append(b, s, n), 0);
	return b->data ? b->data : "";
}

#define ESC(b, lit) escaped((b), (lit), sizeof(lit) - 1)

static void
test_escaping(void **state)
{
	struct buf b = BUF_INIT(4096);

	assert_string_equal(ESC(&b, ""), "");
	assert_string_equal(ESC(&b, "plain text"), "plain text");
	assert_string_equal(ESC(&b, "a\"b\\c"), "a\\\"b\\\\c");
	assert_string_equal(ESC(&b, "/path/to/x</script>"), "/path/to/x</script>");
	assert_string_equal(ESC(&b, "\b\f\n\r\t"), "\\b\\f\\n\\r\\t");
	assert_string_equal(ESC(&b, "\x01\x02\x1f"), "\\u0001\\u0002\\u001f");
	assert_string_equal(ESC(&b, "\x0b\x1b[0m"), "\\u000b\\u001b[0m");
	assert_string_equal(ESC(&b, "a\0b"), "a\\u0000b");
	assert_string_equal(ESC(&b, "\x7f"), "\x7f");
	assert_string_equal(ESC(&b, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
			    "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
	assert_string_equal(ESC(&b, "\xe2\x80\xa8\xe2\x80\xa9"), "\xe2\x80\xa8\xe2\x80\xa9");
	assert_int_equal(json_escape_append(&b, NULL, 1), -EINVAL);
	assert_int_equal(json_escape_append(NULL, "x", 1), -EINVAL);
	buf_reset(&b);
	assert_int_equal(json_escape_append(&b, NULL, 0), 0);
	buf_release(&b);
}

#define FFFD "\xef\xbf\xbd"

static void
test_invalid_utf8(void **state)
{
	struct buf b = BUF_INIT(4096);

	assert_string_equal(ESC(&b, "\xff"), FFFD);
	assert_string_equal(ESC(&b, "a\xff"
				    "b"),
			    "a" FFFD "b");
	assert_string_equal(ESC(&b, "\x80\xbf"), FFFD FFFD);
	assert_string_equal(ESC(&b, "a\xc3"), "a" FFFD);
	assert_string_equal(ESC(&b, "\xc3\"x"), FFFD "\\\"x");
	assert_string_equal(ESC(&b, "\xc0\x80"), FFFD FFFD);	      /* overlong */
	assert_string_equal(ESC(&b, "\xe0\x80\x80"), FFFD FFFD FFFD); /* overlong */
	assert_string_equal(ESC(&b, "\xed\xa0\x80"), FFFD FFFD FFFD); /* surrogate */
	assert_string_equal(ESC(&b, "\xf4\x90\x80\x80"), FFFD FFFD FFFD FFFD);
	assert_string_equal(ESC(&b, "\xe2\x82"), FFFD); /* truncated */
	assert_string_equal(ESC(&b, "\xe2\x82\n"), FFFD "\\n");
	assert_string_equal(ESC(&b, "\xf0\x9f\x98"), FFFD);
	assert_string_equal(ESC(&b, "\xf0\x9f\x98\x80\xf0\x9f"), "\xf0\x9f\x98\x80" FFFD);
	assert_string_equal(ESC(&b, "\xfe\xff"), FFFD FFFD);
	buf_release(&b);
}

static void
roundtrip(const char *s, size_t n, const char *want)
{
	struct buf b = BUF_INIT(1 << 20);
	struct json_doc *doc = NULL;
	struct jsonw w;
	char err[128];

	jw_init(&w, &b);
	jw_array_begin(&w);
	jw_stringn(&w, s, n);
	jw_array_end(&w);
	assert_int_equal(jw_finish(&w), 0);
	if (json_parse(b.data, b.len, &doc, err, sizeof(err)) != 0)
		fail_msg("written JSON refused: %s: %s", err, b.data);
	assert_string_equal(json_str(doc, 1), want);
	json_free(doc);
	buf_release(&b);
}

static void
test_roundtrip_bytes(void **state)
{
	char all[256];
	char utf8[4 * 600];
	uint32_t seed = 99;
	size_t n;
	int i;
	int round;

	/* every ASCII byte but NUL */
	for (i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = '\0';
	roundtrip(all, 127, all);

	/* random valid UTF-8 survives exactly */
	for (round = 0; round < 200; round++) {
		n = 0;
		for (i = 0; i < 500; i++) {
			uint32_t cp;

			do {
				seed = seed * 1103515245u + 12345u;
				cp = (seed >> 8) % (round % 2 ? 0x110000 : 0x800);
			} while (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF));
			n += utf8_encode(cp, utf8 + n);
		}
		utf8[n] = '\0';
		roundtrip(utf8, n, utf8);
	}
}

/* Random bytes always give JSON that parses, as valid UTF-8. */
static void
test_roundtrip_garbage(void **state)
{
	struct buf b = BUF_INIT(1 << 20);
	char bytes[300];
	uint32_t seed = 5;
	int round;
	int i;

	for (round = 0; round < 2000; round++) {
		struct json_doc *doc = NULL;
		struct jsonw w;
		int n = round % 300;

		for (i = 0; i < n; i++) {
			do {
				seed = seed * 1103515245u + 12345u;
				bytes[i] = (char)(seed >> 16);
			} while (bytes[i] == '\0');
		}
		buf_reset(&b);
		jw_init(&w, &b);
		jw_object_begin(&w);
		jw_key(&w, "k");
		jw_stringn(&w, bytes, (size_t)n);
		jw_object_end(&w);
		assert_int_equal(jw_finish(&w), 0);
		if (json_parse(b.data, b.len, &doc, NULL, 0) != 0)
			fail_msg("round %d: written JSON refused", round);
		assert_non_null(json_get_str(doc, 0, "k"));
		json_free(doc);
	}
	buf_release(&b);
}

static int
misuse(void (*fn)(struct jsonw *))
{
	struct buf b = BUF_INIT(4096);
	struct jsonw w;
	int r;

	jw_init(&w, &b);
	fn(&w);
	r = jw_finish(&w);
	buf_release(&b);
	return r;
}

static void
m_nothing(struct jsonw *w)
{
}

static void
m_value_without_key(struct jsonw *w)
{
	jw_object_begin(w);
	jw_int(w, 1);
	jw_object_end(w);
}

static void
m_key_in_array(struct jsonw *w)
{
	jw_array_begin(w);
	jw_key(w, "k");
	jw_array_end(w);
}

static void
m_key_at_top(struct jsonw *w)
{
	jw_key(w, "k");
}

static void
m_two_keys(struct jsonw *w)
{
	jw_object_begin(w);
	jw_key(w, "a");
	jw_key(w, "b");
	jw_int(w, 1);
	jw_object_end(w);
}

static void
m_key_then_end(struct jsonw *w)
{
	jw_object_begin(w);
	jw_key(w, "a");
	jw_object_end(w);
}

static void
m_mismatch(struct jsonw *w)
{
	jw_array_begin(w);
	jw_object_end(w);
}

static void
m_mismatch2(struct jsonw *w)
{
	jw_object_begin(w);
	jw_array_end(w);
}

static void
m_unclosed(struct jsonw *w)
{
	jw_array_begin(w);
	jw_int(w, 1);
}

static void
m_extra_end(struct jsonw *w)
{
	jw_array_begin(w);
	jw_array_end(w);
	jw_array_end(w);
}

static void
m_two_roots(struct jsonw *w)
{
	jw_int(w, 1);
	jw_int(w, 2);
}

static void
m_null_key(struct jsonw *w)
{
	jw_object_begin(w);
	jw_key(w, NULL);
	jw_int(w, 1);
	jw_object_end(w);
}

static void
m_empty_raw(struct jsonw *w)
{
	jw_raw(w, "", 0);
}

static void
m_null_stringn(struct jsonw *w)
{
	jw_stringn(w, NULL, 3);
}

static void
m_too_deep(struct jsonw *w)
{
	int i;

	for (i = 0; i <= JW_MAX_DEPTH; i++)
		jw_array_begin(w);
	for (i = 0; i <= JW_MAX_DEPTH; i++)
		jw_array_end(w);
}

static void
test_misuse(void **state)
{
	assert_int_equal(misuse(m_nothing), -EINVAL);
	assert_int_equal(misuse(m_value_without_key), -EINVAL);
	assert_int_equal(misuse(m_key_in_array), -EINVAL);
	assert_int_equal(misuse(m_key_at_top), -EINVAL);
	assert_int_equal(misuse(m_two_keys), -EINVAL);
	assert_int_equal(misuse(m_key_then_end), -EINVAL);
	assert_int_equal(misuse(m_mismatch), -EINVAL);
	assert_int_equal(misuse(m_mismatch2), -EINVAL);
	assert_int_equal(misuse(m_unclosed), -EINVAL);
	assert_int_equal(misuse(m_extra_end), -EINVAL);
	assert_int_equal(misuse(m_two_roots), -EINVAL);
	assert_int_equal(misuse(m_null_key), -EINVAL);
	assert_int_equal(misuse(m_empty_raw), -EINVAL);
	assert_int_equal(misuse(m_null_stringn), -EINVAL);
	assert_int_equal(misuse(m_too_deep), -EINVAL);
}

static void
test_depth_limit(void **state)
{
	struct buf b = BUF_INIT(4096);
	struct json_doc *doc = NULL;
	struct jsonw w;
	int i;

	/* JW_MAX_DEPTH containers fit, and json_parse takes them back */
	jw_init(&w, &b);
	for (i = 0; i < JW_MAX_DEPTH; i++) {
		if (i % 2) {
			jw_object_begin(&w);
			jw_key(&w, "k");
		} else {
			jw_array_begin(&w);
		}
	}
	jw_int(&w, 1);
	for (i = JW_MAX_DEPTH - 1; i >= 0; i--) {
		if (i % 2)
			jw_object_end(&w);
		else
			jw_array_end(&w);
	}
	assert_int_equal(jw_finish(&w), 0);
	assert_int_equal(json_parse(b.data, b.len, &doc, NULL, 0), 0);
	json_free(doc);
	buf_release(&b);
}

/* Errors are sticky: nothing is written after the first one. */
static void
test_sticky(void **state)
{
	struct buf b = BUF_INIT(4096);
	struct jsonw w;
	size_t len;

	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_int(&w, 1); /* no key */
	len = b.len;
	jw_key(&w, "k");
	jw_string(&w, "v");
	jw_object_end(&w);
	assert_int_equal(b.len, len);
	assert_int_equal(jw_finish(&w), -EINVAL);
	assert_int_equal(jw_finish(&w), -EINVAL);
	buf_release(&b);

	jw_init(&w, NULL);
	jw_int(&w, 1);
	assert_int_equal(jw_finish(&w), -EINVAL);
}

static void
test_buffer_cap(void **state)
{
	struct buf b = BUF_INIT(16);
	struct jsonw w;

	jw_init(&w, &b);
	jw_array_begin(&w);
	jw_string(&w, "0123456789");
	jw_string(&w, "0123456789");
	jw_array_end(&w);
	assert_int_equal(jw_finish(&w), -ENOSPC);
	buf_release(&b);

	/* exactly at the cap */
	buf_init(&b, 14);
	jw_init(&w, &b);
	jw_array_begin(&w);
	jw_string(&w, "0123456789");
	jw_array_end(&w);
	assert_int_equal(jw_finish(&w), 0);
	assert_string_equal(b.data, "[\"0123456789\"]");
	buf_release(&b);

	/* an escape that does not fit */
	buf_init(&b, 5);
	assert_int_equal(json_escape_append(&b, "ab\x01", 3), -ENOSPC);
	buf_release(&b);
}

/* The writer appends: a caller may prefix its own text. */
static void
test_appends(void **state)
{
	struct buf b = BUF_INIT(64);
	struct jsonw w;

	assert_int_equal(buf_puts(&b, "data: "), 0);
	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "a\"b");
	jw_int(&w, 1);
	jw_object_end(&w);
	assert_int_equal(jw_finish(&w), 0);
	assert_string_equal(b.data, "data: {\"a\\\"b\":1}");
	buf_release(&b);
}

/* The session.error event, its message escaped and cut at the length. */
static void
test_session_error(void **state)
{
	struct buf b = BUF_INIT(4096);
	struct buf small = BUF_INIT(16);

	assert_int_equal(jw_session_error(&b, "unknown_error", "a \"quoted\" cause and more", 16,
					  "terminal"),
			 0);
	assert_string_equal(b.data, "{\"type\":\"session.error\",\"error\":{\"type\":"
				    "\"unknown_error\",\"message\":\"a \\\"quoted\\\" cause\","
				    "\"retry_status\":{\"type\":\"terminal\"}}}");
	/* A buffer too small for it: an error, as jw_finish() reports. */
	assert_int_not_equal(jw_session_error(&small, "unknown_error", "message", 7, "terminal"),
			     0);
	buf_release(&b);
	buf_release(&small);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document),	cmocka_unit_test(test_scalar_roots),
		cmocka_unit_test(test_escaping),	cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_roundtrip_bytes), cmocka_unit_test(test_roundtrip_garbage),
		cmocka_unit_test(test_misuse),		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_sticky),		cmocka_unit_test(test_buffer_cap),
		cmocka_unit_test(test_appends),		cmocka_unit_test(test_session_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
