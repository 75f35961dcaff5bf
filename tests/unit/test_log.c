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

#include "json.h"
#include "log.h"

static char log_path[] = "/tmp/er-test-log-XXXXXX";

/* The whole log file, as a new string. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *data;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	data = calloc(1, (size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return data;
}

static int
setup(void **state)
{
	int fd = mkstemp(log_path);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	log_close();
	unlink(log_path);
	memcpy(log_path, "/tmp/er-test-log-XXXXXX", sizeof(log_path));
	return 0;
}

static void
test_logfmt_fields(void **state)
{
	struct log_ctx ctx = { "work_1", "sesn_2" };
	char *out;

	assert_int_equal(log_open(log_path, LOG_FORMAT_LOGFMT, LOG_LEVEL_INFO), 0);
	log_emit(LOG_LEVEL_INFO, "poller", &ctx, "claimed %d", 1);
	out = slurp(log_path);
	/* time=YYYY-MM-DDTHH:MM:SS.mmmZ */
	assert_true(strncmp(out, "time=", 5) == 0);
	assert_int_equal(out[5 + 4], '-');
	assert_int_equal(out[5 + 10], 'T');
	assert_int_equal(out[5 + 19], '.');
	assert_int_equal(out[5 + 23], 'Z');
	assert_non_null(strstr(out, " level=info component=poller work_id=work_1 session_id=sesn_2 "
				    "msg=\"claimed 1\"\n"));
	free(out);
}

static void
test_logfmt_quoting(void **state)
{
	char *out;

	assert_int_equal(log_open(log_path, LOG_FORMAT_LOGFMT, LOG_LEVEL_DEBUG), 0);
	log_emit(LOG_LEVEL_DEBUG, "x", NULL, "plain");
	log_emit(LOG_LEVEL_DEBUG, "x", NULL, "%s", "");
	log_emit(LOG_LEVEL_DEBUG, "x", NULL, "a=b");
	log_emit(LOG_LEVEL_DEBUG, "x", NULL, "say \"hi\" \\ there");
	log_emit(LOG_LEVEL_DEBUG, "x", NULL,
		 "two\nlines\tand\x01"
		 "bell");
	log_emit(LOG_LEVEL_DEBUG, "x", NULL, "bad \xff utf8 caf\xc3\xa9");
	log_emit(LOG_LEVEL_DEBUG, "x", NULL, "trailing newline dropped\n");
	out = slurp(log_path);
	assert_non_null(strstr(out, " msg=plain\n"));
	assert_non_null(strstr(out, " msg=\"\"\n"));
	assert_non_null(strstr(out, " msg=\"a=b\"\n"));
	assert_non_null(strstr(out, " msg=\"say \\\"hi\\\" \\\\ there\"\n"));
	assert_non_null(strstr(out, " msg=\"two\\nlines\\tand\\u0001bell\"\n"));
	assert_non_null(strstr(out, " msg=\"bad \xef\xbf\xbd utf8 caf\xc3\xa9\"\n"));
	assert_non_null(strstr(out, " msg=\"trailing newline dropped\"\n"));
	assert_null(strstr(out, "level=debug component=x msg=\"trailing newline dropped\\n"));
	free(out);
}

static void
test_json_lines_are_json(void **state)
{
	struct log_ctx ctx = { "work \"q\"", NULL };
	struct json_doc *doc = NULL;
	char *out;
	char *nl;

	assert_int_equal(log_open(log_path, LOG_FORMAT_JSON, LOG_LEVEL_INFO), 0);
	log_emit(LOG_LEVEL_WARNING, "lease", &ctx, "odd \"text\"\n\x02 \xc0\xaf end");
	out = slurp(log_path);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	assert_int_equal(json_parse(out, (size_t)(nl - out), &doc, NULL, 0), 0);
	assert_string_equal(json_get_str(doc, 0, "level"), "warning");
	assert_string_equal(json_get_str(doc, 0, "component"), "lease");
	assert_string_equal(json_get_str(doc, 0, "work_id"), "work \"q\"");
	assert_int_equal(json_get(doc, 0, "session_id"), -1);
	assert_string_equal(json_get_str(doc, 0, "msg"),
			    "odd \"text\"\n\x02 \xef\xbf\xbd\xef\xbf\xbd end");
	assert_int_equal(strlen(json_get_str(doc, 0, "time")), 24);
	json_free(doc);
	free(out);
}

static void
test_level_filter_and_names(void **state)
{
	char *out;

	assert_int_equal(log_open(log_path, LOG_FORMAT_LOGFMT, LOG_LEVEL_WARNING), 0);
	assert_int_equal(log_max_level(), LOG_LEVEL_WARNING);
	log_info("x", "hidden");
	log_debug("x", "hidden");
	log_error("x", "shown");
	out = slurp(log_path);
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, "level=error component=x msg=shown"));
	free(out);

	assert_int_equal(log_level_from_string("warn"), LOG_LEVEL_WARNING);
	assert_int_equal(log_level_from_string("ERROR"), LOG_LEVEL_ERR);
	assert_int_equal(log_level_from_string("debug"), LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_from_string("loud"), -EINVAL);
	assert_string_equal(log_level_to_string(LOG_LEVEL_NOTICE), "notice");
	assert_int_equal(log_open(NULL, LOG_FORMAT_LOGFMT, 99), -EINVAL);
}

static void
test_secrets_masked(void **state)
{
	struct log_ctx ctx = { "sk-secret-0123456789", NULL };
	char *out;

	assert_int_equal(log_open(log_path, LOG_FORMAT_LOGFMT, LOG_LEVEL_INFO), 0);
	assert_int_equal(log_add_secret("sk-secret-0123456789"), 0);
	assert_int_equal(log_add_secret("short"), 0); /* ignored: would mask words */
	assert_int_equal(log_add_secret("with\"quote\"inside"), 0);
	log_info("x", "key is sk-secret-0123456789, twice sk-secret-0123456789!");
	log_emit(LOG_LEVEL_INFO, "x", &ctx, "in the id");
	log_info("x", "escaped: with\"quote\"inside");
	log_info("x", "short stays");
	out = slurp(log_path);
	assert_null(strstr(out, "sk-secret"));
	assert_null(strstr(out, "quote"));
	assert_non_null(strstr(out, "msg=\"key is [redacted], twice [redacted]!\""));
	assert_non_null(strstr(out, "work_id=[redacted]"));
	assert_non_null(strstr(out, "msg=\"escaped: [redacted]\""));
	assert_non_null(strstr(out, "short stays"));
	free(out);

	log_remove_secret("sk-secret-0123456789");
	log_info("x", "now sk-secret-0123456789");
	out = slurp(log_path);
	assert_non_null(strstr(out, "now sk-secret-0123456789"));
	free(out);
}

static void
test_reopen(void **state)
{
	char rotated[sizeof(log_path) + 8];
	char *out;

	snprintf(rotated, sizeof(rotated), "%s.1", log_path);
	assert_int_equal(log_open(log_path, LOG_FORMAT_LOGFMT, LOG_LEVEL_INFO), 0);
	log_info("x", "before");
	assert_int_equal(rename(log_path, rotated), 0);
	log_info("x", "still old");
	assert_int_equal(log_reopen(), 0);
	log_info("x", "after");
	out = slurp(rotated);
	assert_non_null(strstr(out, "before"));
	assert_non_null(strstr(out, "still old"));
	assert_null(strstr(out, "after"));
	free(out);
	out = slurp(log_path);
	assert_non_null(strstr(out, "after"));
	free(out);
	unlink(rotated);
	assert_true(log_open("/nonexistent-dir/x.log", LOG_FORMAT_LOGFMT, LOG_LEVEL_INFO) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_logfmt_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logfmt_quoting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_lines_are_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_filter_and_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secrets_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
