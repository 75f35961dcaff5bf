/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgroup.h"
#include "http.h"
#include "loop.h"
#include "process.h"

struct run {
	struct loop *loop;
	int exited;
	int status;
	char out[256];
	size_t out_len;
	struct loop_watch *watch;
};

static void
deadline(void *userdata)
{
	loop_quit(userdata, -ETIMEDOUT);
}

static void
on_exit_cb(void *userdata, struct proc *proc, int status)
{
	struct run *r = userdata;

	r->exited = 1;
	r->status = status;
}

static void
on_output(void *userdata, int fd, uint32_t revents)
{
	struct run *r = userdata;
	ssize_t n = read(fd, r->out + r->out_len, sizeof(r->out) - 1 - r->out_len);

	if (n > 0) {
		r->out_len += (size_t)n;
	} else {
		loop_unwatch(r->watch);
		r->watch = NULL;
	}
}

/* Run the loop until `done` says so or five seconds pass. */
static int
run_until(struct loop *loop, int (*done)(void *), void *arg)
{
	struct loop_timer *t;

	for (int i = 0; i < 500 && !done(arg); i++) {
		loop_add_timer(loop, 10, deadline, loop, &t);
		loop_run(loop);
	}
	return done(arg);
}

static int
has_exited(void *arg)
{
	return ((struct run *)arg)->exited;
}

static void
test_output_and_exit_status(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct spawner *sp = spawner_new(loop);
	struct proc_group *g = proc_group_new(sp);
	char *argv[] = { "/bin/sh", "-c", "echo hello; exit 3", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct spawn_spec spec = { .argv = argv, .envp = envp, .pipe_stdout = 1 };
	struct run r = { .loop = loop };
	int fds[3];
	char err[256];

	assert_int_equal(proc_spawn(g, &spec, on_exit_cb, &r, fds, NULL, err, sizeof(err)), 0);
	assert_int_equal(fds[0], -1);
	assert_true(fds[1] >= 0);
	assert_int_equal(fds[2], -1);
	assert_int_equal(loop_watch_fd(loop, fds[1], LOOP_READ, on_output, &r, &r.watch), 0);
	assert_true(run_until(loop, has_exited, &r));
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 3);
	r.out[r.out_len] = '\0';
	assert_string_equal(r.out, "hello\n");
	close(fds[1]);
	proc_group_free(g);
	spawner_free(sp);
	loop_free(loop);
}

/* The child sets itself up in the runner's memory (vfork): its environment,
 * identity and signal handling stay its own. */
static void
test_child_set_up_leaves_the_runner_alone(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct spawner *sp = spawner_new(loop);
	struct proc_group *g = proc_group_new(sp);
	char *argv[] = { "sh", "-c", "echo \"$ONLY_CHILD:$(id -u)\"", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", "ONLY_CHILD=yes", NULL };
	struct spawn_spec spec = { .argv = argv, .envp = envp, .pipe_stdout = 1 };
	struct run r = { .loop = loop };
	char **environ_before = environ;
	uid_t uid = geteuid();
	char expect[64];
	int fds[3];
	char err[256];

	(void)state;
	if (uid == 0) {
		spec.set_ids = 1;
		spec.uid = 65534;
		spec.gid = 65534;
	}
	assert_int_equal(proc_spawn(g, &spec, on_exit_cb, &r, fds, NULL, err, sizeof(err)), 0);
	assert_ptr_equal(environ, environ_before);
	assert_null(getenv("ONLY_CHILD"));
	assert_int_equal(geteuid(), uid);
	assert_int_equal(loop_watch_fd(loop, fds[1], LOOP_READ, on_output, &r, &r.watch), 0);
	assert_true(run_until(loop, has_exited, &r));
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	r.out[r.out_len] = '\0';
	snprintf(expect, sizeof(expect), "yes:%u\n", uid == 0 ? 65534u : (unsigned)uid);
	assert_string_equal(r.out, expect);
	assert_int_equal(geteuid(), uid);
	close(fds[1]);
	proc_group_free(g);
	spawner_free(sp);
	loop_free(loop);
}

static void
test_exec_failure_is_reported_at_once(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct spawner *sp = spawner_new(loop);
	struct proc_group *g = proc_group_new(sp);
	char *argv[] = { "/nonexistent/tool", NULL };
	char *envp[] = { NULL };
	struct spawn_spec spec = { .argv = argv, .envp = envp };
	int fds[3];
	char err[256];

	assert_int_equal(proc_spawn(g, &spec, on_exit_cb, NULL, fds, NULL, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/tool"));
	proc_group_free(g);
	spawner_free(sp);
	loop_free(loop);
}

static void
count_empty(void *userdata)
{
	(*(int *)userdata)++;
}

static int
is_positive(void *arg)
{
	return *(int *)arg > 0;
}

/* The group says when its last process is gone, so that a teardown waiting
 * for it needs no polling. */
static void
test_group_reports_when_empty(void **state)
{
	struct loop *loop = loop_new(http_curl_done);
	struct spawner *sp = spawner_new(loop);
	struct proc_group *g = proc_group_new(sp);
	char *quick[] = { "/bin/sh", "-c", "exit 0", NULL };
	char *waiting[] = { "/bin/sh", "-c", "read line", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct spawn_spec a = { .argv = quick, .envp = envp };
	struct spawn_spec b = { .argv = waiting, .envp = envp, .pipe_stdin = 1 };
	struct run r = { .loop = loop };
	int empty = 0;
	int fds[3];
	int none[3];
	char err[256];

	proc_group_on_empty(g, count_empty, &empty);
	assert_int_equal(proc_spawn(g, &b, NULL, NULL, fds, NULL, err, sizeof(err)), 0);
	assert_int_equal(proc_spawn(g, &a, on_exit_cb, &r, none, NULL, err, sizeof(err)), 0);
	/* Not when the first exits: the second still reads its stdin. */
	assert_true(run_until(loop, has_exited, &r));
	assert_int_equal(empty, 0);
	close(fds[0]);
	assert_true(run_until(loop, is_positive, &empty));
	assert_int_equal(empty, 1);
	assert_int_equal(proc_group_live(g), 0);
	proc_group_free(g);
	spawner_free(sp);
	loop_free(loop);
}

static int
has_output(void *arg)
{
	return ((struct run *)arg)->out_len > 0;
}

static int
output_closed(void *arg)
{
	return ((struct run *)arg)->watch == NULL;
}

/* Run `script`, whose escaped process says "up" on stdout once it left the
 * group, free the group, and see every process gone: the end of stdout,
 * which each of them holds, is what proves it, not a census that cannot
 * see a process while it execs. */
static void
escaped_process_is_killed(const char *script)
{
	struct loop *loop = loop_new(http_curl_done);
	struct spawner *sp = spawner_new(loop);
	struct proc_group *g = proc_group_new(sp);
	char env[96];
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", env, NULL };
	struct spawn_spec spec = { .argv = argv, .envp = envp, .pipe_stdout = 1 };
	struct run r = { .loop = loop };
	char id[64];
	int fds[3];
	char err[256];

	if (access("/proc/self/environ", R_OK) != 0)
		skip();
	snprintf(env, sizeof(env), "%s=%s", SPAWN_TRACKING_VAR, proc_group_tracking_id(g));
	/* A copy: the group is freed before the last census. */
	snprintf(id, sizeof(id), "%s", proc_group_tracking_id(g));
	assert_int_equal(proc_spawn(g, &spec, NULL, NULL, fds, NULL, err, sizeof(err)), 0);
	assert_int_equal(loop_watch_fd(loop, fds[1], LOOP_READ, on_output, &r, &r.watch), 0);
	assert_true(run_until(loop, has_output, &r));
	proc_group_free(g);
	assert_true(run_until(loop, output_closed, &r));
	r.out[r.out_len] = '\0';
	assert_string_equal(r.out, "up\n");
	assert_int_equal(spawn_count_tracked(id), 0);
	close(fds[1]);
	spawner_free(sp);
	loop_free(loop);
}

/* A grandchild that leaves the group with setsid() must not outlive the
 * session (issue: "nothing it started survives"); freed as it execs, it is
 * still found. */
static void
test_daemonised_grandchild_is_killed(void **state)
{
	escaped_process_is_killed("setsid sh -c 'echo up; exec sleep 300' </dev/null 2>&1 & "
				  "exec sleep 300");
}

/* A grandchild that leaves the group and whose parent exits is orphaned:
 * the spawner, its subreaper, adopts it, and must still find it. */
static void
test_orphaned_grandchild_is_killed(void **state)
{
	escaped_process_is_killed("(setsid sh -c 'echo up; exec sleep 300' </dev/null 2>&1 &); "
				  "exec sleep 300");
}

/* What a spawner here can do. */
enum spawner_can { FINDS_EVERY_PROCESS, HAS_CGROUPS };

/* Skip the test where a spawner here cannot do `what`. */
static void
skip_unless_spawner(enum spawner_can what)
{
	struct loop *loop = loop_new(http_curl_done);
	struct spawner *sp = spawner_new(loop);
	int can = what == HAS_CGROUPS ? spawner_cgroup_dir(sp) != NULL
				      : spawner_finds_every_process(sp);

	spawner_free(sp);
	loop_free(loop);
	if (!can)
		skip();
}

/* A process that clears its environment and leaves the group keeps no
 * tracking id: as a descendant of the session's processes it is still
 * the session's. */
static void
test_grandchild_without_environment_is_killed(void **state)
{
	skip_unless_spawner(FINDS_EVERY_PROCESS);
	escaped_process_is_killed("setsid env -i sh -c 'echo up; exec sleep 300' </dev/null 2>&1 & "
				  "exec sleep 300");
}

/* An orphan that cleared its environment and left the working directory
 * carries nothing that names its session: its cgroup still does. */
static void
test_orphan_without_environment_is_killed_by_its_cgroup(void **state)
{
	skip_unless_spawner(HAS_CGROUPS);
	escaped_process_is_killed("(cd / && setsid env -i sh -c 'echo up; exec sleep 300' "
				  "</dev/null 2>&1 &); exec sleep 300");
}

/* read(2), or -1 when nothing comes within ten seconds. */
static ssize_t
read_within(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 10000) != 1)
		return -1;
	return read(fd, buf, len);
}

/* A runner killed outright leaves its sessions' processes running; the
 * next one to start kills what its cgroups still hold. */
static void
test_stale_cgroups_are_emptied_by_the_next_spawner(void **state)
{
	struct loop *loop;
	struct spawner *sp;
	int out[2];
	char buf[64];
	ssize_t n;
	size_t got = 0;
	pid_t runner;
	int status;

	skip_unless_spawner(HAS_CGROUPS);
	assert_int_equal(pipe(out), 0);
	runner = fork();
	assert_true(runner >= 0);
	if (runner == 0) {
		/* The runner: one group, whose command leaves an orphan
		 * without environment behind, then pauses until killed. */
		struct loop *l = loop_new(http_curl_done);
		struct spawner *s = spawner_new(l);
		struct proc_group *g = proc_group_new(s);
		char script[160];
		char *argv[] = { "/bin/sh", "-c", script, NULL };
		char *envp[] = { "PATH=/usr/bin:/bin", NULL };
		struct spawn_spec spec = {
			.argv = argv, .envp = envp, .pass_fds = &out[1], .n_pass_fds = 1
		};
		int fds[3];
		char err[256];

		close(out[0]);
		snprintf(script, sizeof(script),
			 "(cd / && setsid env -i sh -c 'echo up >&%d; exec sleep 300' "
			 "</dev/null >/dev/null 2>&1 &)",
			 out[1]);
		if (!s || !g || proc_spawn(g, &spec, NULL, NULL, fds, NULL, err, sizeof(err)) < 0)
			_exit(1);
		close(out[1]);
		for (;;)
			pause();
	}
	close(out[1]);
	while (got < 3 && (n = read_within(out[0], buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	kill(runner, SIGKILL);
	assert_true(got >= 3 && memcmp(buf, "up\n", 3) == 0);
	assert_int_equal(waitpid(runner, &status, 0), runner);

	loop = loop_new(http_curl_done);
	sp = spawner_new(loop);
	assert_true(spawner_sweep_stale(sp) >= 1);
	/* The orphan held the pipe: its end is the proof it is gone. */
	assert_int_equal(read_within(out[0], buf, sizeof(buf)), 0);
	close(out[0]);
	spawner_free(sp);
	loop_free(loop);
}

/* A cgroup v1 directory has a tasks file: a process joins through it, so
 * as to move one thread without the kernel's global lock; elsewhere through
 * cgroup.procs. */
static void
test_cgroup_join_file(void **state)
{
	char dir[] = "/tmp/er-test-cgroup.XXXXXX";
	char path[64];
	char *file;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	file = cgroup_join_file(dir);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	assert_string_equal(file, path);
	free(file);
	snprintf(path, sizeof(path), "%s/tasks", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	file = cgroup_join_file(dir);
	assert_string_equal(file, path);
	free(file);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The exit status of grep looking in its own /proc/self/cgroup for a
 * cgroup named `name`, run in `g` with `join` as its spec's cgroup. */
static int
grep_own_cgroup(struct loop *loop, struct proc_group *g, const char *join, const char *name)
{
	char pattern[128];
	char *argv[] = { "grep", "-q", "-e", pattern, "/proc/self/cgroup", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct spawn_spec spec = { .argv = argv, .envp = envp, .cgroup_join = join };
	struct run r = { .loop = loop };
	int fds[3];
	char err[256];

	snprintf(pattern, sizeof(pattern), "/%s$", name);
	assert_int_equal(proc_spawn(g, &spec, on_exit_cb, &r, fds, NULL, err, sizeof(err)), 0);
	assert_true(run_until(loop, has_exited, &r));
	return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
}

/* A command runs in its group's cgroup, or in the one its spec names. */
static void
test_commands_run_in_their_cgroup(void **state)
{
	struct loop *loop;
	struct spawner *sp;
	struct proc_group *g;
	char dir[4096];
	char *join;

	skip_unless_spawner(HAS_CGROUPS);
	loop = loop_new(http_curl_done);
	sp = spawner_new(loop);
	g = proc_group_new(sp);
	assert_int_equal(grep_own_cgroup(loop, g, NULL, proc_group_tracking_id(g)), 0);
	snprintf(dir, sizeof(dir), "%s/test-join", spawner_cgroup_dir(sp));
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_non_null(join = cgroup_join_file(dir));
	assert_int_equal(grep_own_cgroup(loop, g, join, "test-join"), 0);
	free(join);
	(void)rmdir(dir);
	proc_group_free(g);
	spawner_free(sp);
	loop_free(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_and_exit_status),
		cmocka_unit_test(test_child_set_up_leaves_the_runner_alone),
		cmocka_unit_test(test_exec_failure_is_reported_at_once),
		cmocka_unit_test(test_group_reports_when_empty),
		cmocka_unit_test(test_daemonised_grandchild_is_killed),
		cmocka_unit_test(test_orphaned_grandchild_is_killed),
		cmocka_unit_test(test_grandchild_without_environment_is_killed),
		cmocka_unit_test(test_orphan_without_environment_is_killed_by_its_cgroup),
		cmocka_unit_test(test_stale_cgroups_are_emptied_by_the_next_spawner),
		cmocka_unit_test(test_cgroup_join_file),
		cmocka_unit_test(test_commands_run_in_their_cgroup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
