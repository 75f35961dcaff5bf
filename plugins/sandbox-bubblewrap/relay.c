/* SPDX-License-Identifier: MIT */
/*
 * er-sandbox-relay: the first program inside a bubblewrap sandbox with the
 * allow-list network.  The sandbox has no network but its own loopback;
 * the runner's proxy is a unix socket bound into it.  The relay listens on
 * 127.0.0.1:3128 (where HTTP_PROXY and HTTPS_PROXY point), starts the
 * command, and copies each TCP connection to a new connection on the
 * socket.
 *
 *   er-sandbox-relay SECCOMP_FD PROXY_SOCKET -- COMMAND [ARGS...]
 *
 * The command runs under the seccomp program read from SECCOMP_FD (the
 * one bwrap would have loaded, which refuses unix sockets: the relay needs
 * them, so it loads it into the command only).  The relay makes itself
 * non-dumpable so the command cannot write its memory, and exits with the
 * command's status (128 + signal for a signal).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#define RELAY_PORT 3128
#define MAX_PAIRS  64
#define BUF        16384
#define MAX_PROG   1024

struct half {
	int fd;
	char buf[BUF];
	size_t len;
	int eof;
};

struct pair {
	struct half a; /* the TCP client */
	struct half b; /* the proxy socket */
};

static struct pair *pairs[MAX_PAIRS];

static int
load_program(int fd, struct sock_fprog *prog)
{
	static struct sock_filter f[MAX_PROG];
	size_t got = 0;
	ssize_t n;

	while ((n = read(fd, (char *)f + got, sizeof(f) - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (n < 0 || got == 0 || got % sizeof(f[0]))
		return -1;
	prog->len = (unsigned short)(got / sizeof(f[0]));
	prog->filter = f;
	return 0;
}

static int
listen_tcp(void)
{
	struct sockaddr_in sa;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(RELAY_PORT);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 32) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
connect_proxy(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void
pair_free(int i)
{
	close(pairs[i]->a.fd);
	close(pairs[i]->b.fd);
	free(pairs[i]);
	pairs[i] = NULL;
}

/* Move bytes from `from` into its buffer and on to `to`; -1 on error. */
static int
pump(struct half *from, struct half *to, short rev_from)
{
	ssize_t n;

	if ((rev_from & (POLLIN | POLLHUP | POLLERR)) && !from->eof && from->len < BUF) {
		n = read(from->fd, from->buf + from->len, BUF - from->len);
		if (n > 0)
			from->len += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			from->eof = 1;
	}
	if (from->len) {
		n = write(to->fd, from->buf, from->len);
		if (n > 0) {
			memmove(from->buf, from->buf + n, from->len - (size_t)n);
			from->len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	if (from->eof && from->len == 0)
		shutdown(to->fd, SHUT_WR);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sock_fprog prog;
	struct pollfd pfd[1 + 2 * MAX_PAIRS];
	char *end;
	long fd;
	int lfd;
	pid_t child;
	int status;

	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: er-sandbox-relay SECCOMP_FD PROXY_SOCKET -- COMMAND...\n");
		return 125;
	}
	errno = 0;
	fd = strtol(argv[1], &end, 10);
	if (errno || *end || fd < 3 || fd > 1024 || load_program((int)fd, &prog) < 0) {
		fprintf(stderr, "er-sandbox-relay: cannot read the seccomp program\n");
		return 125;
	}
	lfd = listen_tcp();
	if (lfd < 0) {
		perror("er-sandbox-relay: cannot listen on 127.0.0.1:3128");
		return 125;
	}
	child = fork();
	if (child < 0) {
		perror("er-sandbox-relay: fork");
		return 125;
	}
	if (child == 0) {
		close(lfd);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
			perror("er-sandbox-relay: cannot load the seccomp program");
			_exit(125);
		}
		execvp(argv[4], argv + 4);
		fprintf(stderr, "er-sandbox-relay: cannot run '%s': %s\n", argv[4], strerror(errno));
		_exit(127);
	}
	/* The command may not read or write our memory. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		nfds_t n = 0;
		int idx[1 + 2 * MAX_PAIRS];
		pid_t w = waitpid(child, &status, WNOHANG);

		if (w == child)
			break;
		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		idx[n++] = -1;
		for (int i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = pairs[i];

			if (!p)
				continue;
			pfd[n].fd = p->a.fd;
			pfd[n].events = (short)((!p->a.eof && p->a.len < BUF ? POLLIN : 0) |
						(p->b.len ? POLLOUT : 0));
			idx[n++] = i;
			pfd[n].fd = p->b.fd;
			pfd[n].events = (short)((!p->b.eof && p->b.len < BUF ? POLLIN : 0) |
						(p->a.len ? POLLOUT : 0));
			idx[n++] = i;
		}
		/* Wake up now and then to notice the command's exit. */
		if (poll(pfd, n, 200) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			int slot = -1;

			for (int i = 0; i < MAX_PAIRS && c >= 0; i++)
				if (!pairs[i]) {
					slot = i;
					break;
				}
			if (c >= 0 && slot >= 0 && (pairs[slot] = calloc(1, sizeof(struct pair)))) {
				pairs[slot]->a.fd = c;
				pairs[slot]->b.fd = connect_proxy(argv[2]);
				if (pairs[slot]->b.fd < 0) {
					static const char bad[] =
						"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";

					(void)!write(c, bad, sizeof(bad) - 1);
					close(c);
					free(pairs[slot]);
					pairs[slot] = NULL;
				}
			} else if (c >= 0) {
				close(c);
			}
		}
		for (nfds_t k = 1; k + 1 < n; k += 2) {
			int i = idx[k];
			struct pair *p = pairs[i];

			if (!p || !(pfd[k].revents | pfd[k + 1].revents))
				continue;
			if (pump(&p->a, &p->b, pfd[k].revents) < 0 ||
			    pump(&p->b, &p->a, pfd[k + 1].revents) < 0 ||
			    (p->a.eof && p->b.eof && !p->a.len && !p->b.len))
				pair_free(i);
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}
