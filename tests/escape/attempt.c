/* SPDX-License-Identifier: MIT */
/*
 * er-escape-attempt: one sandbox escape attempt per call, run by a
 * session's bash tool inside the backend under test (tests/escape/).  It
 * prints one line "RESULT <name> <outcome> <detail>" where the outcome is
 * what happened inside; the test decides on the host whether that was an
 * escape (a read's checksum equal to the host file's, a banner carrying the
 * test's nonce, a file that appeared on the host...).
 *
 *   read NAME PATH            open+read: "ok <bytes> <fnv1a>" or "err <errno>"
 *   write NAME PATH           create the file: "ok" or "err"
 *   unix NAME PATH            connect, read a banner: "ok <banner>" or "err"
 *   tcp NAME PORT             127.0.0.1:PORT, read a banner
 *   proxy NAME HOST PORT      CONNECT HOST:PORT through $HTTPS_PROXY's
 *                             127.0.0.1 port; "ok <status> <banner>"
 *   environ NAME PID          read /proc/PID/environ: "ok <fnv1a of it>"
 *   ptrace NAME PID           PTRACE_ATTACH (then detach): "ok" or "err"
 *   signal NAME PID           kill(PID, 0): may it be signalled? "ok" or "err"
 *   tiocsti NAME              push a byte into a terminal: the runner's, if
 *                             any is reachable (fds 0-2, /dev/tty), else one
 *                             of our own made with openpty + TIOCSCTTY
 *   env NAME                  print the environment, one "ENV <entry>" line each
 *   nproc NAME N              fork N children that wait: "ok <forked>"
 *   daemon NAME MARKER        double fork, setsid, exec `sh -c 'sleep 300'` as
 *                             argv[0] MARKER with an empty environment
 *   list NAME DIR             the names in DIR: "ok <count> <name>,<name>..."
 *   hold NAME N PATH          open N connections to $HTTPS_PROXY's port and
 *                             send nothing; create PATH once they are open,
 *                             then wait (at most 60 s) for the proxy to end
 *                             them: "ok <opened> <ended by the proxy>"
 *   wait NAME PATH            stay until PATH exists (the test looks at this
 *                             process and its ancestors from the host
 *                             meanwhile): "ok", or "err timeout" after 60 s
 *   swap NAME A B SECONDS     exchange A and B (renameat2 RENAME_EXCHANGE)
 *                             over and over for SECONDS: "ok <exchanges>"
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* A small non-negative number from argv, or -1. */
static int
num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || end == s || *end || v < 0 || v > 1000000 ? -1 : (int)v;
}

static uint32_t
fnv1a(const unsigned char *p, size_t n, uint32_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static void result(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
result(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("RESULT %s ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int
do_read(const char *name, const char *path)
{
	unsigned char buf[65536];
	uint32_t h = 2166136261u;
	size_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		result(name, "err %s", strerror(errno));
		return 0;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		h = fnv1a(buf, (size_t)n, h);
		total += (size_t)n;
	}
	close(fd);
	if (n < 0)
		result(name, "err %s", strerror(errno));
	else
		result(name, "ok %zu %08x", total, h);
	return 0;
}

static int
do_write(const char *name, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0) {
		result(name, "err %s", strerror(errno));
		return 0;
	}
	(void)!write(fd, "escaped\n", 8);
	close(fd);
	result(name, "ok");
	return 0;
}

/* Read up to one line from a connected socket, 3 s at most. */
static void
read_banner(int fd, char *out, size_t len)
{
	struct timeval tv = { 3, 0 };
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = read(fd, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
}

static int
do_unix(const char *name, const char *path)
{
	struct sockaddr_un sa;
	char banner[256];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		result(name, "err socket: %s", strerror(errno));
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		result(name, "err connect: %s", strerror(errno));
		close(fd);
		return 0;
	}
	read_banner(fd, banner, sizeof(banner));
	close(fd);
	result(name, "ok %s", banner);
	return 0;
}

static int
tcp_connect(int port)
{
	struct sockaddr_in sa;
	struct timeval tv = { 3, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int
do_tcp(const char *name, const char *port)
{
	char banner[256];
	int fd = tcp_connect(num(port));

	if (fd < 0) {
		result(name, "err %s", strerror(-fd));
		return 0;
	}
	read_banner(fd, banner, sizeof(banner));
	close(fd);
	result(name, "ok %s", banner);
	return 0;
}

static int
do_proxy(const char *name, const char *host, const char *port)
{
	const char *proxy = getenv("HTTPS_PROXY");
	const char *colon;
	char req[512];
	char resp[1024];
	char banner[256];
	int status = 0;
	ssize_t n;
	size_t got = 0;
	int fd;

	if (!proxy || !(colon = strrchr(proxy, ':'))) {
		result(name, "err no HTTPS_PROXY");
		return 0;
	}
	fd = tcp_connect(num(colon + 1));
	if (fd < 0) {
		result(name, "err proxy: %s", strerror(-fd));
		return 0;
	}
	snprintf(req, sizeof(req), "CONNECT %s:%s HTTP/1.1\r\nHost: %s:%s\r\n\r\n", host, port,
		 host, port);
	(void)!write(fd, req, strlen(req));
	/* The status line and headers, up to the blank line. */
	while (got < sizeof(resp) - 1 && (n = read(fd, resp + got, 1)) == 1) {
		got++;
		resp[got] = '\0';
		if (got >= 4 && strcmp(resp + got - 4, "\r\n\r\n") == 0)
			break;
	}
	resp[got] = '\0';
	sscanf(resp, "HTTP/%*s %d", &status);
	banner[0] = '\0';
	if (status == 200)
		read_banner(fd, banner, sizeof(banner));
	close(fd);
	result(name, "ok %d %s", status, banner);
	return 0;
}

static int
do_ptrace(const char *name, const char *pid)
{
	pid_t p = (pid_t)num(pid);

	if (ptrace(PTRACE_ATTACH, p, NULL, NULL) < 0) {
		result(name, "err %s", strerror(errno));
		return 0;
	}
	waitpid(p, NULL, __WALL);
	ptrace(PTRACE_DETACH, p, NULL, NULL);
	result(name, "ok");
	return 0;
}

static int
do_signal(const char *name, const char *pid)
{
	int p = num(pid);

	if (p <= 0 || kill(p, 0) < 0)
		result(name, "err %s", p <= 0 ? "bad pid" : strerror(errno));
	else
		result(name, "ok");
	return 0;
}

static int
do_environ(const char *name, const char *pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%s/environ", pid);
	return do_read(name, path);
}

/* TIOCSTI on `fd`: did the byte go in? */
static int
sti(int fd)
{
	char c = ' ';

	return ioctl(fd, TIOCSTI, &c) == 0 ? 0 : -errno;
}

static int
do_tiocsti(const char *name)
{
	int found = 0;
	int r;
	int fd;
	int master;
	int slave;
	pid_t pid;
	int status;

	/* A terminal of the runner's, if one is reachable. */
	for (fd = 0; fd < 3; fd++) {
		if (isatty(fd)) {
			found = 1;
			if (sti(fd) == 0) {
				result(name, "ok runner terminal on fd %d", fd);
				return 0;
			}
		}
	}
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		found = 1;
		r = sti(fd);
		close(fd);
		if (r == 0) {
			result(name, "ok controlling terminal");
			return 0;
		}
	}
	/* Else the mechanism: a terminal of our own, as controlling terminal. */
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
		result(name, "err %s no pty: %s", found ? "runner tty refused," : "no runner tty,",
		       strerror(errno));
		return 0;
	}
	pid = fork();
	if (pid == 0) {
		setsid();
		slave = open(ptsname(master), O_RDWR);
		if (slave < 0)
			_exit(10);
		ioctl(slave, TIOCSCTTY, 0);
		_exit(sti(slave) == 0 ? 0 : 11);
	}
	waitpid(pid, &status, 0);
	close(master);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		result(name, "ok own pty (TIOCSTI allowed)");
	else
		result(name, "err %s TIOCSTI refused on own pty",
		       found ? "runner tty refused," : "no runner tty,");
	return 0;
}

static int
do_env(const char *name)
{
	for (char **e = environ; *e; e++)
		printf("ENV %s\n", *e);
	result(name, "ok");
	return 0;
}

static int
do_nproc(const char *name, const char *count)
{
	int n = num(count);
	int made = 0;
	int err = 0;
	pid_t *kids = calloc((size_t)(n > 0 ? n : 1), sizeof(*kids));

	if (!kids)
		return 1;
	for (int i = 0; i < n && n <= 4096; i++) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			err = errno;
			break;
		}
		kids[made++] = p;
	}
	for (int i = 0; i < made; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < made; i++)
		waitpid(kids[i], NULL, 0);
	free(kids);
	result(name, "ok %d %s", made, err ? strerror(err) : "-");
	return 0;
}

static int
do_daemon(const char *name, const char *marker)
{
	pid_t p = fork();

	if (p == 0) {
		if (fork() == 0) {
			char *const argv[] = { (char *)marker, "-c", "sleep 300", NULL };
			char *const envp[] = { NULL };
			int devnull = open("/dev/null", O_RDWR);

			setsid();
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
			execve("/bin/sh", argv, envp);
			_exit(127);
		}
		_exit(0);
	}
	waitpid(p, NULL, 0);
	result(name, "ok started");
	return 0;
}

static int
do_hold(const char *name, const char *count, const char *path)
{
	const char *proxy = getenv("HTTPS_PROXY");
	const char *colon = proxy ? strrchr(proxy, ':') : NULL;
	struct pollfd fds[512];
	int want = num(count);
	int opened = 0;
	int ended = 0;
	int fd;

	if (!colon || want < 1 || want > 512) {
		result(name, "err no HTTPS_PROXY or a bad count");
		return 0;
	}
	for (; opened < want && (fd = tcp_connect(num(colon + 1))) >= 0; opened++) {
		fds[opened].fd = fd;
		fds[opened].events = POLLIN;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 600 && ended < opened; i++) {
		if (poll(fds, (nfds_t)opened, 100) <= 0)
			continue;
		for (int k = 0; k < opened; k++) {
			char buf[512];

			if (fds[k].fd < 0 || !fds[k].revents)
				continue;
			if (read(fds[k].fd, buf, sizeof(buf)) > 0)
				continue;
			close(fds[k].fd);
			fds[k].fd = -1;
			ended++;
		}
	}
	result(name, "ok %d %d", opened, ended);
	return 0;
}

static int
do_list(const char *name, const char *path)
{
	char names[2048] = "";
	size_t len = 0;
	int count = 0;
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d) {
		result(name, "err %s", strerror(errno));
		return 0;
	}
	while ((de = readdir(d))) {
		int n;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		count++;
		n = snprintf(names + len, sizeof(names) - len, "%s%s", len ? "," : "", de->d_name);
		if (n > 0 && (size_t)n < sizeof(names) - len)
			len += (size_t)n;
	}
	closedir(d);
	result(name, "ok %d %s", count, names);
	return 0;
}

static int
do_wait(const char *name, const char *path)
{
	for (int i = 0; i < 600; i++) {
		if (access(path, F_OK) == 0) {
			result(name, "ok");
			return 0;
		}
		usleep(100000);
	}
	result(name, "err timeout");
	return 0;
}

/* Races a tool that checks a path and then opens it by name. */
static int
do_swap(const char *name, const char *a, const char *b, const char *seconds)
{
#ifdef SYS_renameat2
	long n = strtol(seconds, NULL, 10);
	time_t end = time(NULL) + (n > 0 && n < 600 ? n : 10);
	unsigned long exchanges = 0;

	while (time(NULL) < end) {
		/* 2: RENAME_EXCHANGE */
		if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2) < 0) {
			result(name, "err %d", errno);
			return 0;
		}
		exchanges++;
	}
	result(name, "ok %lu", exchanges);
#else
	result(name, "err %d", ENOSYS);
#endif
	return 0;
}

int
main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	const char *name = argc > 2 ? argv[2] : "?";

	if (strcmp(op, "read") == 0 && argc == 4)
		return do_read(name, argv[3]);
	if (strcmp(op, "write") == 0 && argc == 4)
		return do_write(name, argv[3]);
	if (strcmp(op, "unix") == 0 && argc == 4)
		return do_unix(name, argv[3]);
	if (strcmp(op, "tcp") == 0 && argc == 4)
		return do_tcp(name, argv[3]);
	if (strcmp(op, "proxy") == 0 && argc == 5)
		return do_proxy(name, argv[3], argv[4]);
	if (strcmp(op, "environ") == 0 && argc == 4)
		return do_environ(name, argv[3]);
	if (strcmp(op, "ptrace") == 0 && argc == 4)
		return do_ptrace(name, argv[3]);
	if (strcmp(op, "signal") == 0 && argc == 4)
		return do_signal(name, argv[3]);
	if (strcmp(op, "tiocsti") == 0 && argc == 3)
		return do_tiocsti(name);
	if (strcmp(op, "env") == 0 && argc == 3)
		return do_env(name);
	if (strcmp(op, "nproc") == 0 && argc == 4)
		return do_nproc(name, argv[3]);
	if (strcmp(op, "daemon") == 0 && argc == 4)
		return do_daemon(name, argv[3]);
	if (strcmp(op, "hold") == 0 && argc == 5)
		return do_hold(name, argv[3], argv[4]);
	if (strcmp(op, "list") == 0 && argc == 4)
		return do_list(name, argv[3]);
	if (strcmp(op, "wait") == 0 && argc == 4)
		return do_wait(name, argv[3]);
	if (strcmp(op, "swap") == 0 && argc == 6)
		return do_swap(name, argv[3], argv[4], argv[5]);
	fprintf(stderr, "usage: er-escape-attempt OP NAME ARGS...\n");
	return 2;
}
