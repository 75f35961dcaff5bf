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

#include "base64.h"
#include "secret.h"

static void
check_decode(const char *in, const char *want, size_t want_len)
{
	char *out = NULL;
	size_t n = 99;
	int r = base64_decode(in, strlen(in), &out, &n);

	if (r != 0)
		fail_msg("base64_decode('%s') = %d", in, r);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[n], '\0');
	free(out);
}

#define DECODES(in, want) check_decode((in), (want), sizeof(want) - 1)

static void
check_decode_fails(const char *in, size_t n)
{
	char *sentinel = (char *)&sentinel;
	char *out = sentinel;
	size_t len = 99;

	if (base64_decode(in, n, &out, &len) != -EINVAL)
		fail_msg("base64_decode('%.*s') accepted", (int)n, in);
	assert_ptr_equal(out, sentinel);
	assert_int_equal(len, 99);
}

#define REJECTS(in) check_decode_fails((in), sizeof(in) - 1)

static void
test_decode_rfc4648(void **state)
{
	DECODES("", "");
	DECODES("Zg==", "f");
	DECODES("Zm8=", "fo");
	DECODES("Zm9v", "foo");
	DECODES("Zm9vYg==", "foob");
	DECODES("Zm9vYmE=", "fooba");
	DECODES("Zm9vYmFy", "foobar");
}

static void
test_decode_unpadded(void **state)
{
	DECODES("Zg", "f");
	DECODES("Zm8", "fo");
	DECODES("Zm9vYg", "foob");
	DECODES("Zm9vYmE", "fooba");
	/* short or long padding is fine */
	DECODES("Zg=", "f");
	DECODES("Zg===", "f");
	DECODES("Zm9v=", "foo");
	DECODES("=", "");
	DECODES("==", "");
}

static void
test_decode_alphabets(void **state)
{
	DECODES("+/+/", "\xfb\xff\xbf");
	DECODES("-_-_", "\xfb\xff\xbf");
	DECODES("+_-/", "\xfb\xff\xbf");
	DECODES("-_8", "\xfb\xff");
	DECODES("+/8=", "\xfb\xff");
	DECODES("AAAA", "\0\0\0");
	DECODES("AAA=", "\0\0");
	DECODES("AA", "\0");
	DECODES("////", "\xff\xff\xff");
	DECODES("____", "\xff\xff\xff");
}

/* As Node: leftover bits are dropped, a lone trailing character gives
 * nothing. */
static void
test_decode_lenient(void **state)
{
	DECODES("Zh==", "f");
	DECODES("Zm9=", "fo");
	DECODES("Zm9vY", "foo");
	DECODES("Z", "");
	DECODES("Zm9vY===", "foo");
}

static void
test_decode_garbage(void **state)
{
	REJECTS("Zm9v!");
	REJECTS("Zm 9v");
	REJECTS("Zm9v\n");
	REJECTS(" Zm9v");
	REJECTS("Zm9v\t");
	REJECTS("Zg==Zg");
	REJECTS("Z=g");
	REJECTS("=Zg");
	REJECTS("Zg= =");
	REJECTS("\xff\xfe");
	REJECTS("Zm9v.");
	REJECTS("Zm9v*");
	REJECTS("Zm9v~");
	REJECTS("Zm\0v");
	REJECTS("%3D");
	assert_int_equal(base64_decode(NULL, 1, NULL, NULL), -EINVAL);
}

static void
test_decode_no_len(void **state)
{
	char *out = NULL;

	assert_int_equal(base64_decode("Zm9v", 4, &out, NULL), 0);
	assert_string_equal(out, "foo");
	free(out);
	/* only n bytes are read */
	assert_int_equal(base64_decode("Zm9v!!!", 4, &out, NULL), 0);
	assert_string_equal(out, "foo");
	free(out);
}

static void
check_encode(const char *in, size_t n, const char *want)
{
	char *out = NULL;

	assert_int_equal(base64url_encode(in, n, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void
test_encode(void **state)
{
	check_encode("", 0, "");
	check_encode("f", 1, "Zg");
	check_encode("fo", 2, "Zm8");
	check_encode("foo", 3, "Zm9v");
	check_encode("foob", 4, "Zm9vYg");
	check_encode("fooba", 5, "Zm9vYmE");
	check_encode("foobar", 6, "Zm9vYmFy");
	check_encode("\xfb\xff\xbf", 3, "-_-_");
	check_encode("\xfb\xff", 2, "-_8");
	check_encode("\0", 1, "AA");
	check_encode("\xff\xff\xff", 3, "____");
}

static void
test_round_trip(void **state)
{
	unsigned char in[300];
	uint32_t seed = 7;
	size_t n;
	size_t i;

	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	for (n = 0; n <= sizeof(in); n++) {
		char *enc = NULL;
		char *dec = NULL;
		size_t len = 0;

		if (n >= 256) {
			for (i = 0; i < n; i++) {
				seed = seed * 1103515245u + 12345u;
				in[i] = (unsigned char)(seed >> 16);
			}
		}
		assert_int_equal(base64url_encode(in, n, &enc), 0);
		assert_int_equal(strlen(enc), (n * 4 + 2) / 3);
		assert_null(strchr(enc, '='));
		assert_null(strchr(enc, '+'));
		assert_null(strchr(enc, '/'));
		assert_int_equal(base64_decode(enc, strlen(enc), &dec, &len), 0);
		assert_int_equal(len, n);
		if (n)
			assert_memory_equal(dec, in, n);
		free(enc);
		free(dec);
	}
}

/* --- the work secret --------------------------------------------------- */

static char *
make_secret(const char *json, int padded, int standard)
{
	char *enc = NULL;
	char *out;
	size_t n;
	size_t i;

	assert_int_equal(base64url_encode(json, strlen(json), &enc), 0);
	n = strlen(enc);
	out = calloc(n + 4, 1);
	assert_non_null(out);
	memcpy(out, enc, n);
	free(enc);
	if (standard)
		for (i = 0; i < n; i++)
			out[i] = out[i] == '-' ? '+' : out[i] == '_' ? '/' : out[i];
	if (padded)
		while (n % 4)
			out[n++] = '=';
	return out;
}

static int
token_of(const char *secret, char **ret)
{
	return work_secret_sessions_token(secret, ret);
}

static void
expect_token_json(const char *json, const char *want, int want_error)
{
	int padded;
	int standard;

	for (padded = 0; padded < 2; padded++)
		for (standard = 0; standard < 2; standard++) {
			char *secret = make_secret(json, padded, standard);
			char *tok = NULL;
			int r = token_of(secret, &tok);

			if (want) {
				if (r != 0)
					fail_msg("secret of '%s' refused: %d", json, r);
				assert_string_equal(tok, want);
				free(tok);
			} else {
				if (r != want_error)
					fail_msg("secret of '%s' gave %d", json, r);
				assert_null(tok);
			}
			free(secret);
		}
}

static void
test_secret_vectors(void **state)
{
	/* produced independently, as Buffer.from(JSON.stringify(p)).toString('base64url') */
	static const char unpadded[] =
		"eyJzZXNzaW9uc190b2tlbiI6InRva18xMjMiLCJhcGlfYmFzZV91cmwiOiJodHRwczovL2FwaS5leGFt"
		"cGxlIiwic2Vzc2lvbl9pbmdyZXNzX3Rva2VuIjoiaW5nIn0";
	static const char padded_standard[] =
		"eyJzZXNzaW9uc190b2tlbiI6InRva18xMjMiLCJhcGlfYmFzZV91cmwiOiJodHRwczovL2FwaS5leGFt"
		"cGxlIiwic2Vzc2lvbl9pbmdyZXNzX3Rva2VuIjoiaW5nIn0=";
	/* these two need the URL-safe alphabet (- and _) */
	static const char urlsafe[] = "eyJzZXNzaW9uc190b2tlbiI6In4_fj4_Pn5-In0";
	static const char urlsafe_padded[] = "eyJzZXNzaW9uc190b2tlbiI6ImE-P2IifQ==";
	char *tok = NULL;

	assert_int_equal(token_of(unpadded, &tok), 0);
	assert_string_equal(tok, "tok_123");
	free(tok);
	assert_int_equal(token_of(padded_standard, &tok), 0);
	assert_string_equal(tok, "tok_123");
	free(tok);
	assert_int_equal(token_of(urlsafe, &tok), 0);
	assert_string_equal(tok, "~?~>?>~~");
	free(tok);
	assert_int_equal(token_of(urlsafe_padded, &tok), 0);
	assert_string_equal(tok, "a>?b");
	free(tok);
}

static void
test_secret_good(void **state)
{
	expect_token_json("{\"sessions_token\":\"sk-abc\"}", "sk-abc", 0);
	expect_token_json("{\"sessions_token\":\"sk-abc\",\"api_base_url\":\"https://x\","
			  "\"session_ingress_token\":\"y\",\"extra\":{\"n\":[1,2]}}",
			  "sk-abc", 0);
	expect_token_json(" \n{ \"api_base_url\" : null , \"sessions_token\" : \"t\" }\t", "t", 0);
	expect_token_json("{\"sessions\\u005ftoken\":\"escaped-key\"}", "escaped-key", 0);
	expect_token_json("{\"sessions_token\":\"t\\u00e9\\/\"}", "t\xc3\xa9/", 0);
	expect_token_json("{\"sessions_token\":\"~?~>?>~~\"}", "~?~>?>~~", 0);
	expect_token_json("{\"x\":{\"sessions_token\":\"inner\"},\"sessions_token\":\"outer\"}",
			  "outer", 0);
	/* ill-formed UTF-8 becomes U+FFFD, as Node decodes it */
	expect_token_json("{\"sessions_token\":\"a\",\"x\":\"\xff\xfe\"}", "a", 0);
	expect_token_json("{\"sessions_token\":\"a\xc3\"}", "a\xef\xbf\xbd", 0);
	expect_token_json("{\"sessions_token\":\"\xed\xa0\x80\"}",
			  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0);
}

static void
test_secret_bad(void **state)
{
	char *sentinel = (char *)&sentinel;
	char *tok = sentinel;
	static const char *const bad_json[] = {
		"{}",
		"{\"api_base_url\":\"https://x\"}",
		"{\"sessions_token\":\"\"}",
		"{\"sessions_token\":null}",
		"{\"sessions_token\":42}",
		"{\"sessions_token\":true}",
		"{\"sessions_token\":{}}",
		"{\"sessions_token\":[\"t\"]}",
		"{\"Sessions_Token\":\"t\"}",
		"{\"x\":{\"sessions_token\":\"inner\"}}",
		"[\"sessions_token\"]",
		"[{\"sessions_token\":\"t\"}]",
		"\"sessions_token\"",
		"42",
		"null",
		"",
		"hello",
		"{\"sessions_token\":\"t\"",
		"{\"sessions_token\":\"t\"}x",
		"\xef\xbb\xbf{\"sessions_token\":\"t\"}",
		"{sessions_token:\"t\"}",
		"{'sessions_token':'t'}",
	};
	/* a header value: no control character may inject another header */
	static const char *const forged_json[] = {
		"{\"sessions_token\":\"sk-ant-req-x\\r\\nX-Injected: yes\"}",
		"{\"sessions_token\":\"sk\\n\"}",
		"{\"sessions_token\":\"sk\\t\"}",
		"{\"sessions_token\":\"sk\\u007f\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++)
		expect_token_json(bad_json[i], NULL, -EINVAL);
	for (i = 0; i < sizeof(forged_json) / sizeof(forged_json[0]); i++)
		expect_token_json(forged_json[i], NULL, -EBADMSG);

	/* not base64 */
	assert_int_equal(token_of("!!!!", &tok), -EINVAL);
	assert_int_equal(token_of("eyJzZXNz aW9u", &tok), -EINVAL);
	assert_int_equal(token_of("eyJ\n", &tok), -EINVAL);
	assert_int_equal(token_of("", &tok), -EINVAL);
	assert_int_equal(token_of("====", &tok), -EINVAL);
	/* base64 of a JSON string holding a NUL */
	assert_int_equal(token_of("eyJzZXNzaW9uc190b2tlbiI6InQAIn0=", &tok), -EINVAL);
	assert_ptr_equal(tok, sentinel);
	assert_int_equal(work_secret_sessions_token(NULL, &tok), -EINVAL);
	assert_int_equal(work_secret_sessions_token("eyJ9", NULL), -EINVAL);
	assert_ptr_equal(tok, sentinel);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_rfc4648),	 cmocka_unit_test(test_decode_unpadded),
		cmocka_unit_test(test_decode_alphabets), cmocka_unit_test(test_decode_lenient),
		cmocka_unit_test(test_decode_garbage),	 cmocka_unit_test(test_decode_no_len),
		cmocka_unit_test(test_encode),		 cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_secret_vectors),	 cmocka_unit_test(test_secret_good),
		cmocka_unit_test(test_secret_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
