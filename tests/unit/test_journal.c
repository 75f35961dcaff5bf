/* SPDX-License-Identifier: MIT */
/* An item's record (journal.h) and the state directory that keeps the
 * records and the worker id (statedir.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsutil.h"
#include "http.h"
#include "journal.h"
#include "log.h"
#include "metrics.h"
#include "nbio.h"
#include "statedir.h"

static const char work[] =
	"{\"id\":\"work_1\",\"secret\":\"c2VjcmV0\",\"data\":{\"type\":\"session\","
	"\"id\":\"sesn_1\"}}";
static const struct journal_origin origin = { "http://127.0.0.1:1", "env_1", "worker-1" };

static char *
tmpdir(void)
{
	char tmpl[] = "/tmp/test-journal-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return strdup(tmpl);
}

static void
quit(void *userdata)
{
	loop_quit(userdata, 7);
}

/* Runs the loop for `ms`. */
static void
run_for(struct loop *loop, uint64_t ms)
{
	struct loop_timer *t;

	assert_int_equal(loop_add_timer(loop, ms, quit, loop, &t), 0);
	assert_int_equal(loop_run(loop), 7);
}

static void
test_record_round_trip(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	char *dir = tmpdir();
	char path[512];
	struct journal_item *ji;
	struct stat st;
	const char *text;
	size_t len;
	int is_error;
	char err[256];

	(void)state;
	ji = journal_item_new(loop, dir, &origin, "work_1", work, strlen(work));
	assert_non_null(ji);
	snprintf(path, sizeof(path), "%s/work_1.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	journal_item_beaten(ji, "2026-12-06T00:00:00.000Z", 8000, 100);
	journal_item_set_workdir(ji, "/base/sesn_1-abcd");
	journal_item_call_started(ji, "call_a");
	/* Kept once written, with nothing to wait for: a runner killed now
	 * finds it. */
	assert_int_equal(journal_item_result(ji, "call_b", 1, "out\nput", 7), 0);
	journal_item_free(ji);

	assert_int_equal(journal_item_load(loop, path, &ji, err, sizeof(err)), 0);
	assert_true(journal_item_matches(ji, &origin));
	assert_string_equal(journal_item_work_id(ji), "work_1");
	assert_memory_equal(journal_item_work(ji, &len), work, sizeof(work) - 1);
	assert_int_equal(len, sizeof(work) - 1);
	assert_string_equal(journal_item_last_heartbeat(ji), "2026-12-06T00:00:00.000Z");
	assert_true(journal_item_lease_until(ji) > journal_now_ms() + 7000);
	assert_true(journal_item_lease_until(ji) <= journal_now_ms() + 8000);
	assert_string_equal(journal_item_workdir(ji), "/base/sesn_1-abcd");
	assert_int_equal(journal_item_call(ji, "call_a", &is_error, &text, &len),
			 JOURNAL_CALL_STARTED);
	assert_int_equal(journal_item_call(ji, "call_b", &is_error, &text, &len),
			 JOURNAL_CALL_RESULT);
	assert_int_equal(is_error, 1);
	assert_int_equal(len, 7);
	assert_memory_equal(text, "out\nput", 7);
	assert_int_equal(journal_item_call(ji, "call_c", &is_error, &text, &len),
			 JOURNAL_CALL_UNKNOWN);

	/* An accepted result leaves the record, on disk too. */
	journal_item_call_over(ji, "call_b");
	journal_item_free(ji);
	assert_int_equal(journal_item_load(loop, path, &ji, err, sizeof(err)), 0);
	assert_int_equal(journal_item_call(ji, "call_b", &is_error, &text, &len),
			 JOURNAL_CALL_UNKNOWN);
	assert_int_equal(journal_item_call(ji, "call_a", &is_error, &text, &len),
			 JOURNAL_CALL_STARTED);
	journal_item_remove(ji);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/work_1.calls", dir);
	assert_int_equal(access(path, F_OK), -1);

	/* Another API, environment or worker does not match. */
	ji = journal_item_new(loop, dir, &origin, "work_1", work, strlen(work));
	{
		struct journal_origin other = origin;

		other.worker_id = "worker-2";
		assert_false(journal_item_matches(ji, &other));
		other = origin;
		other.api_url = "http://127.0.0.1:2";
		assert_false(journal_item_matches(ji, &other));
	}
	journal_item_remove(ji);
	/* No state directory: nothing is kept, every call is a no-op. */
	assert_null(journal_item_new(loop, NULL, &origin, "work_1", work, strlen(work)));
	assert_int_equal(journal_item_result(NULL, "call_b", 0, "x", 1), 1);
	journal_item_call_started(NULL, "call_a");
	assert_int_equal(journal_item_call(NULL, "call_a", &is_error, &text, &len),
			 JOURNAL_CALL_UNKNOWN);
	assert_int_equal(fsutil_remove_tree(dir), 0);
	free(dir);
	loop_free(loop);
}

/* The calls' log after the snapshot: replayed in order; a last line cut
 * short by a crash does not count.  What a removed record left is told
 * apart from a record's files. */
static void
test_calls_log_replay_and_leftovers(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	char *dir = tmpdir();
	char path[512];
	char err[256];
	struct journal_item *ji;
	const char *text;
	size_t len;
	int is_error;
	struct stat before, after;
	FILE *f;

	(void)state;
	ji = journal_item_new(loop, dir, &origin, "work_1", work, strlen(work));
	assert_non_null(ji);
	journal_item_call_started(ji, "call_a");
	journal_item_call_started(ji, "call_b");
	journal_item_call_over(ji, "call_a");
	journal_item_free(ji);
	snprintf(path, sizeof(path), "%s/work_1.calls", dir);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("{\"started\":\"call_c\"", f); /* no newline: cut short */
	fclose(f);
	snprintf(path, sizeof(path), "%s/work_1.json", dir);
	assert_int_equal(journal_item_load(loop, path, &ji, err, sizeof(err)), 0);
	assert_int_equal(journal_item_call(ji, "call_a", &is_error, &text, &len),
			 JOURNAL_CALL_UNKNOWN);
	assert_int_equal(journal_item_call(ji, "call_b", &is_error, &text, &len),
			 JOURNAL_CALL_STARTED);
	assert_int_equal(journal_item_call(ji, "call_c", &is_error, &text, &len),
			 JOURNAL_CALL_UNKNOWN);
	/* A heartbeat is a line after the one cut short, not a new snapshot. */
	assert_int_equal(stat(path, &before), 0);
	journal_item_beaten(ji, "2026-12-06T00:00:01.000Z", 8000, 0);
	journal_item_call_started(ji, "call_d");
	journal_item_free(ji);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(journal_item_load(loop, path, &ji, err, sizeof(err)), 0);
	assert_int_equal(journal_item_call(ji, "call_b", &is_error, &text, &len),
			 JOURNAL_CALL_STARTED);
	assert_int_equal(journal_item_call(ji, "call_c", &is_error, &text, &len),
			 JOURNAL_CALL_UNKNOWN);
	assert_int_equal(journal_item_call(ji, "call_d", &is_error, &text, &len),
			 JOURNAL_CALL_STARTED);
	assert_string_equal(journal_item_last_heartbeat(ji), "2026-12-06T00:00:01.000Z");
	assert_true(journal_item_lease_until(ji) > journal_now_ms() + 7000);

	assert_false(journal_is_leftover(dir, "work_1.calls"));
	assert_false(journal_is_leftover(dir, "work_1.json"));
	assert_true(journal_is_leftover(dir, "work_2.calls"));
	assert_true(journal_is_leftover(dir, "work_1.json.new"));
	journal_item_remove(ji);
	assert_true(journal_is_leftover(dir, "work_1.calls"));
	assert_int_equal(fsutil_remove_tree(dir), 0);
	free(dir);
	loop_free(loop);
}

static void
load_fails(const char *dir, const char *name, const char *content, const char *why)
{
	char path[512];
	char err[256];
	struct journal_item *ji = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	assert_int_equal(journal_item_load(NULL, path, &ji, err, sizeof(err)), -EINVAL);
	assert_null(ji);
	if (!strstr(err, why))
		fail_msg("'%s' does not say '%s'", err, why);
	unlink(path);
}

static void
test_damaged_records_are_refused_with_the_reason(void **state)
{
	char *dir = tmpdir();

	(void)state;
	load_fails(dir, "work_1.json", "{\"version\": 1, \"work_id\": ", "not a JSON record");
	load_fails(dir, "work_1.json",
		   "{\"version\":2,\"work_id\":\"work_1\",\"work\":{},\"calls\":[]}",
		   "record version 2; this runner reads version 1");
	load_fails(dir, "work_1.json", "{\"version\":1,\"work_id\":\"work_1\",\"calls\":[]}",
		   "damaged record");
	load_fails(
		dir, "work_1.json",
		"{\"version\":1,\"work_id\":\"work_1\",\"work\":{},\"calls\":[{\"text\":\"x\"}]}",
		"a call without an id");
	load_fails(dir, "work_2.json",
		   "{\"version\":1,\"work_id\":\"work_1\",\"work\":{},\"calls\":[]}",
		   "does not match its work id 'work_1'");
	assert_int_equal(fsutil_remove_tree(dir), 0);
	free(dir);
}

static void
test_state_dir_keeps_the_worker_id_and_locks_it(void **state)
{
	char *dir = tmpdir();
	char *first = strdup("host-generated-1");
	char *second = strdup("host-generated-2");
	char *third = strdup("host-generated-3");
	char *given = strdup("host-generated-1");
	struct statedir a, b, c, d;

	(void)state;
	/* The first runner keeps its generated id. */
	statedir_open(dir, &first, 1, &a);
	assert_non_null(a.items_dir);
	assert_string_equal(first, "host-generated-1");
	/* A second one finds it in use: it serves under its own. */
	statedir_open(dir, &second, 1, &b);
	assert_string_equal(second, "host-generated-2");
	assert_non_null(b.items_dir);
	assert_string_not_equal(a.items_dir, b.items_dir);
	/* One given the id in use keeps no records. */
	statedir_open(dir, &given, 0, &d);
	assert_null(d.items_dir);
	statedir_close(&d);
	/* Once the first is gone, the next start is that worker again. */
	statedir_close(&a);
	statedir_open(dir, &third, 1, &c);
	assert_string_equal(third, "host-generated-1");
	assert_non_null(c.items_dir);
	statedir_close(&b);
	statedir_close(&c);
	assert_int_equal(fsutil_remove_tree(dir), 0);
	free(dir);
	free(first);
	free(second);
	free(third);
	free(given);
}

/* Descriptors open in this process. */
static int
open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* The calls' log is open while a call is, and closed between calls: a
 * session waiting for its next call holds no descriptor for its record. */
static void
test_log_is_closed_between_calls(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	char *dir = tmpdir();
	struct journal_item *ji;
	int base;

	(void)state;
	base = open_fds();
	ji = journal_item_new(loop, dir, &origin, "work_1", work, strlen(work));
	assert_non_null(ji);
	assert_int_equal(open_fds(), base);
	journal_item_beaten(ji, "2026-12-06T00:00:00.000Z", 8000, 0);
	assert_int_equal(open_fds(), base);
	journal_item_call_started(ji, "call_a");
	assert_int_equal(open_fds(), base + 1);
	assert_int_equal(journal_item_result(ji, "call_a", 0, "ok", 2), 0);
	journal_item_beaten(ji, "2026-12-06T00:00:01.000Z", 8000, 0);
	assert_int_equal(open_fds(), base + 1);
	journal_item_call_over(ji, "call_a");
	assert_int_equal(open_fds(), base);
	journal_item_remove(ji);
	assert_int_equal(fsutil_remove_tree(dir), 0);
	free(dir);
	loop_free(loop);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* A call over costs no write of its own: its line goes with the next one.
 * A runner that dies before still finds the call with its result, which
 * the session's history, read first at the restart, shows answered. */
static void
test_a_call_over_is_written_with_the_next_line(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	char *dir = tmpdir();
	char json[512], calls[512];
	struct journal_item *ji, *seen;
	const char *text;
	size_t len;
	int is_error;
	char err[256];
	struct buf log = BUF_INIT(1 << 20);
	off_t before;
	int fd;

	(void)state;
	snprintf(json, sizeof(json), "%s/work_1.json", dir);
	snprintf(calls, sizeof(calls), "%s/work_1.calls", dir);
	ji = journal_item_new(loop, dir, &origin, "work_1", work, strlen(work));
	assert_non_null(ji);
	journal_item_call_started(ji, "call_a");
	assert_int_equal(journal_item_result(ji, "call_a", 0, "ok", 2), 0);
	before = file_size(calls);
	assert_true(before > 0);
	journal_item_call_over(ji, "call_a");
	assert_int_equal(file_size(calls), before);
	assert_int_equal(journal_item_load(loop, json, &seen, err, sizeof(err)), 0);
	assert_int_equal(journal_item_call(seen, "call_a", &is_error, &text, &len),
			 JOURNAL_CALL_RESULT);
	journal_item_free(seen);

	journal_item_call_started(ji, "call_b");
	fd = open(calls, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(nbio_read_all(fd, nbio_buf_append, &log), 0);
	close(fd);
	assert_non_null(memmem(log.data, log.len,
			       "{\"over\":\"call_a\"}\n{\"started\":\"call_b\"}\n",
			       strlen("{\"over\":\"call_a\"}\n{\"started\":\"call_b\"}\n")));
	buf_release(&log);
	assert_int_equal(journal_item_load(loop, json, &seen, err, sizeof(err)), 0);
	assert_int_equal(journal_item_call(seen, "call_a", &is_error, &text, &len),
			 JOURNAL_CALL_UNKNOWN);
	assert_int_equal(journal_item_call(seen, "call_b", &is_error, &text, &len),
			 JOURNAL_CALL_STARTED);
	journal_item_free(seen);

	/* Kept for a restart, the record says what is over. */
	assert_int_equal(journal_item_result(ji, "call_b", 0, "ok", 2), 0);
	journal_item_call_over(ji, "call_b");
	journal_item_free(ji);
	assert_int_equal(journal_item_load(loop, json, &ji, err, sizeof(err)), 0);
	assert_int_equal(journal_item_call(ji, "call_b", &is_error, &text, &len),
			 JOURNAL_CALL_UNKNOWN);
	journal_item_remove(ji);
	assert_int_equal(fsutil_remove_tree(dir), 0);
	free(dir);
	loop_free(loop);
}

/* A result the API accepts within a second costs no sync; one it has not
 * accepted by then is synced, once. */
static void
test_only_a_result_slow_to_be_accepted_is_synced(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	char *dir = tmpdir();
	struct journal_item *ji;
	uint64_t synced = metrics.results_synced;

	(void)state;
	ji = journal_item_new(loop, dir, &origin, "work_1", work, strlen(work));
	assert_non_null(ji);
	journal_item_call_started(ji, "call_a");
	assert_int_equal(journal_item_result(ji, "call_a", 0, "ok", 2), 0);
	run_for(loop, 200);
	journal_item_call_over(ji, "call_a");
	run_for(loop, 1200);
	assert_int_equal(metrics.results_synced, synced);

	journal_item_call_started(ji, "call_b");
	assert_int_equal(journal_item_result(ji, "call_b", 0, "ok", 2), 0);
	/* A second result for the same call while the first is kept. */
	assert_int_equal(journal_item_result(ji, "call_b", 0, "ok", 2), -EBUSY);
	run_for(loop, 800);
	assert_int_equal(metrics.results_synced, synced);
	for (int i = 0; i < 50 && metrics.results_synced == synced; i++)
		run_for(loop, 100);
	assert_int_equal(metrics.results_synced, synced + 1);
	run_for(loop, 1200);
	assert_int_equal(metrics.results_synced, synced + 1);
	journal_item_call_over(ji, "call_b");
	journal_item_remove(ji);
	assert_int_equal(fsutil_remove_tree(dir), 0);
	free(dir);
	loop_free(loop);
}

/* A record that cannot be written says why, and what to do about that
 * cause: short of descriptors, raise the limit (not: free disk space). */
static void
test_a_write_failure_names_its_fix(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	char *dir = tmpdir();
	char log_path[512];
	char text[4096];
	struct journal_item *ji;
	struct rlimit saved, low;
	FILE *f;
	size_t n;
	int next_fd;

	(void)state;
	snprintf(log_path, sizeof(log_path), "%s/runner.log", dir);
	assert_int_equal(log_open(log_path, LOG_FORMAT_LOGFMT, LOG_LEVEL_WARNING), 0);
	ji = journal_item_new(loop, dir, &origin, "work_1", work, strlen(work));
	assert_non_null(ji);
	/* The lowest free descriptor made the limit: the log cannot open. */
	next_fd = open("/dev/null", O_RDONLY);
	assert_true(next_fd >= 0);
	close(next_fd);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)next_fd;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	journal_item_call_started(ji, "call_a");
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	log_open(NULL, LOG_FORMAT_LOGFMT, LOG_LEVEL_ERR);

	f = fopen(log_path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_non_null(strstr(text, "cannot write"));
	assert_non_null(strstr(text, strerror(EMFILE)));
	assert_non_null(strstr(text, "fix: raise the limit (LimitNOFILE="));
	assert_null(strstr(text, "free space"));
	journal_item_remove(ji);
	assert_int_equal(fsutil_remove_tree(dir), 0);
	free(dir);
	loop_free(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_calls_log_replay_and_leftovers),
		cmocka_unit_test(test_log_is_closed_between_calls),
		cmocka_unit_test(test_only_a_result_slow_to_be_accepted_is_synced),
		cmocka_unit_test(test_a_call_over_is_written_with_the_next_line),
		cmocka_unit_test(test_damaged_records_are_refused_with_the_reason),
		cmocka_unit_test(test_a_write_failure_names_its_fix),
		cmocka_unit_test(test_state_dir_keeps_the_worker_id_and_locks_it),
	};

	log_open(NULL, LOG_FORMAT_LOGFMT, LOG_LEVEL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
