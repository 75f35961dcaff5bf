/* SPDX-License-Identifier: MIT */
/*
 * launch: time fork + exec + wait of one command, N times, without the
 * runner: the floor a sandbox backend is compared against.
 *
 *   launch [--runs N] [--warmup N] [--uid U --gid G] -- PROGRAM ARGS...
 *   launch [--runs N] [--warmup N] --replay FILE
 *
 * --replay FILE reads a command line captured from the runner (bench/run.sh
 * puts a recording wrapper in front of bwrap): NUL-separated fields, the
 * uid, the gid, then bwrap's arguments.  The command after the last "--"
 * is replaced by /bin/bash -c true, "--seccomp FD" is dropped (the fd does
 * not exist here), and the child takes the captured uid and gid before it
 * execs /usr/bin/bwrap, as the runner does.
 *
 * Prints "# argv ..." and then one line per timed run: wall microseconds.
 * Exits non-zero if a run does not exit 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 4096

static char *args[MAX_ARGS];
static int nargs;

static void
die(const char *msg)
{
	fprintf(stderr, "launch: %s\n", msg);
	exit(2);
}

static long
number(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		die("not a number");
	return v;
}

static void
add(char *a)
{
	if (nargs >= MAX_ARGS - 1)
		die("too many arguments");
	args[nargs++] = a;
	args[nargs] = NULL;
}

static void
replay(const char *file, long *uid, long *gid)
{
	static char buf[1 << 20];
	char *fields[MAX_ARGS];
	int nf = 0;
	int last_sep = -1;
	ssize_t len;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("cannot open the replay file");
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		die("empty replay file");
	buf[len] = '\0';
	for (char *p = buf; p < buf + len && nf < MAX_ARGS; p += strlen(p) + 1)
		fields[nf++] = p;
	if (nf < 3)
		die("short replay file");
	*uid = number(fields[0]);
	*gid = number(fields[1]);
	add("/usr/bin/bwrap");
	for (int i = 2; i < nf; i++) {
		if (strcmp(fields[i], "--seccomp") == 0 && i + 1 < nf) {
			i++;
			continue;
		}
		if (strcmp(fields[i], "--") == 0)
			last_sep = nargs;
		add(fields[i]);
	}
	if (last_sep < 0)
		die("no -- in the replayed command line");
	nargs = last_sep + 1;
	add("/bin/bash");
	add("-c");
	add("true");
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	char *envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", NULL };
	long runs = 100, warmup = 10, uid = -1, gid = -1;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = number(argv[++i]);
		else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
			warmup = number(argv[++i]);
		else if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc)
			uid = number(argv[++i]);
		else if (strcmp(argv[i], "--gid") == 0 && i + 1 < argc)
			gid = number(argv[++i]);
		else if (strcmp(argv[i], "--replay") == 0 && i + 1 < argc)
			replay(argv[++i], &uid, &gid);
		else if (strcmp(argv[i], "--") == 0) {
			for (i++; i < argc; i++)
				add(argv[i]);
		} else
			die("usage: launch [--runs N] [--warmup N] [--uid U --gid G] (--replay "
			    "FILE | -- PROGRAM ARGS...)");
	}
	if (nargs == 0 || runs < 1 || runs > 100000 || warmup < 0 || warmup > 10000)
		die("nothing to run, or --runs/--warmup out of range");
	printf("# argv");
	for (i = 0; i < nargs; i++)
		printf(" %s", args[i]);
	printf("\n");
	for (long r = 0; r < warmup + runs; r++) {
		double t0 = now_us();
		int status;
		pid_t pid = fork();

		if (pid < 0)
			die("fork failed");
		if (pid == 0) {
			int devnull = open("/dev/null", O_RDWR);

			if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0)
				_exit(126);
			if (gid >= 0 && (setgroups(0, NULL) < 0 || setgid((gid_t)gid) < 0))
				_exit(126);
			if (uid >= 0 && setuid((uid_t)uid) < 0)
				_exit(126);
			execve(args[0], args, envp);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR)
				die("waitpid failed");
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "launch: run %ld: status 0x%x\n", r, status);
			return 1;
		}
		if (r >= warmup)
			printf("%.1f\n", now_us() - t0);
	}
	return 0;
}
