/* SPDX-License-Identifier: MIT */
/* Session directories and their owners (core/sessiondir.c): a runner holds
 * one owner lock for all its sessions, each session's lock file names it;
 * a sweep removes the sessions of a runner that is gone, and its owner
 * file, never those of a live one; a restarted runner takes a gone one's
 * session back, not a live one's.  "Another runner" is a child process. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sessiondir.h"

static char base[PATH_MAX];

static int
setup(void **state)
{
	char tmpl[] = "/tmp/er-sessiondir.XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	snprintf(base, sizeof(base), "%s/base", tmpl);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(base, '/') - base), base);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int
lock_exists(const char *dir)
{
	char lock[PATH_MAX * 3];

	snprintf(lock, sizeof(lock), "%s%s", dir, SESSIONDIR_LOCK_SUFFIX);
	return exists(lock);
}

/* Owner files in the base directory. */
static int
count_owners(void)
{
	size_t n = strlen(SESSIONDIR_OWNER_PREFIX);
	struct dirent *de;
	int count = 0;
	DIR *d = opendir(base);

	assert_non_null(d);
	while ((de = readdir(d)))
		count += strncmp(de->d_name, SESSIONDIR_OWNER_PREFIX, n) == 0;
	closedir(d);
	return count;
}

/* A child that makes a session directory, hands its path back and waits
 * for the pipe *ret_release to close before it exits.  Forked before this
 * process uses `base`, so that it makes an owner of its own there. */
static pid_t
other_runner(const char *session_id, char *path, size_t size, int *ret_release)
{
	int to_child[2];
	int from_child[2];
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(from_child), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *dir = NULL;
		char c;

		close(to_child[1]);
		close(from_child[0]);
		if (sessiondir_create(base, session_id, &dir) < 0)
			_exit(1);
		(void)!write(from_child[1], dir, strlen(dir));
		close(from_child[1]);
		(void)!read(to_child[0], &c, 1);
		_exit(0);
	}
	close(to_child[0]);
	close(from_child[1]);
	n = read(from_child[0], path, size - 1);
	assert_true(n > 0);
	path[n] = '\0';
	close(from_child[0]);
	*ret_release = to_child[1];
	return pid;
}

static void
end_other(pid_t pid, int release)
{
	int status;

	close(release);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
test_own_sessions_and_sweep(void **state)
{
	char *a = NULL;
	char *b = NULL;
	int removed = -1;
	int killed = -1;

	assert_int_equal(sessiondir_create(base, "sesn_a", &a), 0);
	assert_int_equal(sessiondir_create(base, "sesn_b", &b), 0);
	assert_true(exists(a) && lock_exists(a) && exists(b) && lock_exists(b));
	/* One owner lock for both. */
	assert_int_equal(count_owners(), 1);
	/* This process is alive: its own sweep leaves them. */
	assert_int_equal(sessiondir_sweep(base, &removed, &killed), 0);
	assert_int_equal(removed, 0);
	assert_true(exists(a) && exists(b) && count_owners() == 1);
	assert_int_equal(sessiondir_release(a, 0), 0);
	assert_false(exists(a) || lock_exists(a));
	/* Kept: the directory stays, its lock file goes, no sweep takes it. */
	assert_int_equal(sessiondir_release(b, 1), 0);
	assert_true(exists(b) && !lock_exists(b));
	assert_int_equal(sessiondir_sweep(base, &removed, &killed), 0);
	assert_true(exists(b));
	/* The owner lock went with the last session. */
	assert_int_equal(count_owners(), 0);
	free(a);
	free(b);
}

static void
test_live_runner_kept_gone_runner_swept(void **state)
{
	char dir[PATH_MAX];
	char *mine = NULL;
	int removed = -1;
	int killed = -1;
	int release;
	pid_t pid;

	/* Forked before this process has an owner here: the child's is its own. */
	pid = other_runner("sesn_other", dir, sizeof(dir), &release);
	assert_int_equal(sessiondir_create(base, "sesn_mine", &mine), 0);
	assert_int_equal(count_owners(), 2);
	/* Alive: neither its session nor its owner file goes. */
	assert_int_equal(sessiondir_sweep(base, &removed, &killed), 0);
	assert_int_equal(removed, 0);
	assert_true(exists(dir) && lock_exists(dir) && count_owners() == 2);
	/* Nor can it be taken back. */
	assert_int_equal(sessiondir_adopt(dir), -EBUSY);
	end_other(pid, release);
	/* Gone: its session and then its owner file go; this one's stay. */
	assert_int_equal(sessiondir_sweep(base, &removed, &killed), 0);
	assert_int_equal(removed, 1);
	assert_false(exists(dir) || lock_exists(dir));
	assert_int_equal(count_owners(), 1);
	assert_true(exists(mine) && lock_exists(mine));
	assert_int_equal(sessiondir_release(mine, 0), 0);
	free(mine);
}

static void
test_adopt_a_gone_runners_session(void **state)
{
	char dir[PATH_MAX];
	int removed = -1;
	int killed = -1;
	int release;
	pid_t pid;

	pid = other_runner("sesn_resumed", dir, sizeof(dir), &release);
	end_other(pid, release);
	assert_int_equal(sessiondir_adopt(dir), 0);
	/* Now this process's: a sweep keeps it, the gone owner's file goes. */
	assert_int_equal(sessiondir_sweep(base, &removed, &killed), 0);
	assert_int_equal(removed, 0);
	assert_true(exists(dir) && lock_exists(dir));
	assert_int_equal(count_owners(), 1);
	/* Taking one's own back again changes nothing. */
	assert_int_equal(sessiondir_adopt(dir), 0);
	assert_int_equal(sessiondir_release(dir, 0), 0);
	assert_false(exists(dir) || lock_exists(dir));
}

/* Lock files as runners before the owner lock left them: empty, in use
 * while flock'd. */
static void
test_lock_file_without_owner(void **state)
{
	char held[PATH_MAX * 2];
	char free_[PATH_MAX * 2];
	char path[PATH_MAX * 3];
	int removed = -1;
	int killed = -1;
	int fd;

	mkdir(base, 0700);
	snprintf(held, sizeof(held), "%s/sesn_held-0000aaaa", base);
	snprintf(free_, sizeof(free_), "%s/sesn_free-0000bbbb", base);
	assert_int_equal(mkdir(held, 0700), 0);
	assert_int_equal(mkdir(free_, 0700), 0);
	snprintf(path, sizeof(path), "%s%s", held, SESSIONDIR_LOCK_SUFFIX);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	snprintf(path, sizeof(path), "%s%s", free_, SESSIONDIR_LOCK_SUFFIX);
	close(open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	/* Held by "another process": the flock of another open file. */
	assert_int_equal(sessiondir_sweep(base, &removed, &killed), 0);
	assert_int_equal(removed, 1);
	assert_true(exists(held) && lock_exists(held));
	assert_false(exists(free_) || lock_exists(free_));
	assert_int_equal(sessiondir_adopt(held), -EBUSY);
	close(fd);
	assert_int_equal(sessiondir_adopt(held), 0);
	assert_int_equal(sessiondir_release(held, 0), 0);
	assert_false(exists(held));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_own_sessions_and_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_runner_kept_gone_runner_swept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_adopt_a_gone_runners_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_file_without_owner, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
