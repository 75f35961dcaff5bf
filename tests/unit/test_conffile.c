/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conffile.h"

struct pairs {
	char text[2048];
	size_t len;
	const char *refuse; /* key the callback refuses */
};

static int
collect(void *userdata, const char *key, const char *value, const char *where, char *err,
	size_t errlen)
{
	struct pairs *p = userdata;

	if (p->refuse && strcmp(key, p->refuse) == 0) {
		snprintf(err, errlen, "refused '%s'", key);
		return -EINVAL;
	}
	p->len += (size_t)snprintf(p->text + p->len, sizeof(p->text) - p->len, "[%s|%s|%s]", key,
				   value, where);
	return 0;
}

static int
parse(const char *text, struct pairs *p, char *err, size_t errlen)
{
	return conffile_parse_buffer(text, strlen(text), "runner.conf", collect, p, err, errlen);
}

static void
test_pairs_comments_quotes(void **state)
{
	struct pairs p = { .len = 0 };
	char err[256] = "";

	assert_int_equal(parse("# comment\n"
			       "\n"
			       "   \t\n"
			       "a = 1\n"
			       "  b=two words  \n"
			       "c = x # trailing comment\n"
			       "d = x#not-a-comment\n"
			       "e = \"quoted # kept \" # comment\n"
			       "bubblewrap.network = none\r\n"
			       "f =\n"
			       "last = no newline",
			       &p, err, sizeof(err)),
			 0);
	assert_string_equal(p.text, "[a|1|runner.conf:4]"
				    "[b|two words|runner.conf:5]"
				    "[c|x|runner.conf:6]"
				    "[d|x#not-a-comment|runner.conf:7]"
				    "[e|quoted # kept |runner.conf:8]"
				    "[bubblewrap.network|none|runner.conf:9]"
				    "[f||runner.conf:10]"
				    "[last|no newline|runner.conf:11]");
}

static void
test_malformed_lines(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "a = 1\njust words\n", "runner.conf:2: expected 'key = value'" },
		{ "= value\n", "runner.conf:1: missing key" },
		{ "bad key = 1\n", "runner.conf:1: invalid key 'bad key'" },
		{ "k = \"open\n", "runner.conf:1: unterminated quote" },
		{ "k = \"a\" b\n", "runner.conf:1: text after the quoted value" },
		{ "k = a\x01b\n", "runner.conf:1: control character" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pairs p = { .len = 0 };
		char err[256] = "";

		assert_int_equal(parse(cases[i].text, &p, err, sizeof(err)), -EINVAL);
		if (strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: got '%s'", i, err);
		assert_non_null(strstr(err, "fix:"));
	}
}

static void
test_callback_error_gets_location(void **state)
{
	struct pairs p = { .len = 0, .refuse = "b" };
	char err[256] = "";

	assert_int_equal(parse("a = 1\nb = 2\n", &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "runner.conf:2: refused 'b'");
}

static void
test_file_errors(void **state)
{
	struct pairs p = { .len = 0 };
	char err[256] = "";
	char line[CONFFILE_MAX_LINE + 10];

	assert_int_equal(
		conffile_parse_file("/nonexistent/runner.conf", collect, &p, err, sizeof(err)),
		-ENOENT);
	assert_non_null(strstr(err, "'/nonexistent/runner.conf'"));
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(parse(line, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(conffile_parse_buffer("a = 1\0b", 7, "f", collect, &p, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "NUL"));
}

static void
test_file_too_large_or_unreadable(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct pairs p = { .len = 0 };
	char path[4096];
	char err[256] = "";
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/test_conffile.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (size_t n = 0; n <= CONFFILE_MAX_FILE; n += 10)
		assert_true(fputs("# comment\n", f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(conffile_parse_file(path, collect, &p, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "is larger than"));
	unlink(path);

	assert_int_equal(conffile_parse_file("/", collect, &p, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "cannot read config file '/'"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs_comments_quotes),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_callback_error_gets_location),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_too_large_or_unreadable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
