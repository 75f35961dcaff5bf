/* SPDX-License-Identifier: MIT */
/* Work off the loop: every job's completion arrives once, on the loop; a
 * cancelled one's never, its argument freed all the same; jobs run side by
 * side; and a job started after another finished runs on the same thread. */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "http.h"
#include "loop.h"
#include "offload.h"

struct job {
	int nth_on_its_thread; /* 1 on a new thread */
	int gate[2];	       /* the work waits for a byte on gate[0], when set */
	int *freed;
};

struct run {
	struct loop *loop;
	int done;
	int want;
	int most_on_a_thread;
	struct offload *current;
	int chain; /* jobs still to start one after another */
};

static void
work(void *arg)
{
	static _Thread_local int jobs_here;
	struct job *j = arg;
	char c;

	j->nth_on_its_thread = ++jobs_here;
	if (j->gate[0] >= 0)
		assert_int_equal(read(j->gate[0], &c, 1), 1);
}

static void
job_free(void *arg)
{
	struct job *j = arg;

	(*j->freed)++;
	for (int i = 0; i < 2; i++)
		if (j->gate[i] >= 0)
			close(j->gate[i]);
	free(j);
}

static struct job *
job_new(int *freed)
{
	struct job *j = calloc(1, sizeof(*j));

	assert_non_null(j);
	j->gate[0] = j->gate[1] = -1;
	j->freed = freed;
	return j;
}

static void start_chained(struct run *run, int *freed);

static void
done(void *userdata, void *arg)
{
	struct run *run = userdata;
	struct job *j = arg;

	if (j->nth_on_its_thread > run->most_on_a_thread)
		run->most_on_a_thread = j->nth_on_its_thread;
	if (++run->done == run->want)
		loop_quit(run->loop, 0);
	else if (run->chain-- > 0)
		start_chained(run, j->freed);
}

static void
start_chained(struct run *run, int *freed)
{
	assert_int_equal(
		offload_run(run->loop, work, done, job_free, job_new(freed), run, &run->current),
		0);
}

static void
test_jobs_in_a_row_share_a_thread(void **state)
{
	struct run run = { 0 };
	int freed = 0;

	(void)state;
	run.loop = loop_new(http_curl_done);
	run.want = 20;
	run.chain = 19;
	start_chained(&run, &freed);
	assert_int_equal(loop_run(run.loop), 0);
	assert_int_equal(run.done, 20);
	assert_int_equal(run.most_on_a_thread, 20);
	loop_free(run.loop);
	/* The thread frees after its completion is read: give it the time. */
	for (int i = 0; i < 200 && freed < 20; i++)
		usleep(5000);
	assert_int_equal(freed, 20);
}

/* Two jobs at once run on two threads: one never waits behind the other. */
static void
test_jobs_at_once_run_side_by_side(void **state)
{
	struct run run = { 0 };
	struct offload *a, *b, *c;
	struct job *ja, *jb, *jc;
	int freed = 0;

	(void)state;
	run.loop = loop_new(http_curl_done);
	run.want = 1;
	ja = job_new(&freed);
	assert_int_equal(pipe(ja->gate), 0);
	jb = job_new(&freed);
	jc = job_new(&freed);
	assert_int_equal(pipe(jc->gate), 0);
	assert_int_equal(offload_run(run.loop, work, done, job_free, ja, &run, &a), 0);
	/* The first is held until the second finished: no deadlock means
	 * the second had a thread of its own. */
	assert_int_equal(offload_run(run.loop, work, done, job_free, jb, &run, &b), 0);
	assert_int_equal(offload_run(run.loop, work, done, job_free, jc, &run, &c), 0);
	/* The third is cancelled: no completion, its argument freed. */
	offload_cancel(c);
	assert_int_equal(write(jc->gate[1], "x", 1), 1);
	assert_int_equal(loop_run(run.loop), 0);
	assert_int_equal(run.done, 1); /* the second's: the first is still held */
	run.want = 2;
	assert_int_equal(write(ja->gate[1], "x", 1), 1);
	assert_int_equal(loop_run(run.loop), 0);
	assert_int_equal(run.done, 2);
	loop_free(run.loop);
	for (int i = 0; i < 200 && freed < 3; i++)
		usleep(5000);
	assert_int_equal(freed, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_in_a_row_share_a_thread),
		cmocka_unit_test(test_jobs_at_once_run_side_by_side),
	};

	/* As in the runner: a cancelled job's write finds its pipe closed. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
