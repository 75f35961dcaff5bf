/* SPDX-License-Identifier: MIT */
/*
 * er-sandbox-relay: the first program inside a bubblewrap sandbox with the
 * allow-list network.  The sandbox has no network but its own loopback.
 * The relay listens on 127.0.0.1:3128 there (where HTTP_PROXY and
 * HTTPS_PROXY point), hands the listening socket to the runner over
 * CHANNEL_FD (SCM_RIGHTS), closes its own copies and becomes the command:
 *
 *   er-sandbox-relay CHANNEL_FD -- COMMAND [ARGS...]
 *
 * The runner's proxy then accepts the sandbox's connections itself, so
 * nothing inside the sandbox needs a unix socket of its own, and every
 * process there, bwrap's pid 1 and this one included, runs under the
 * seccomp program bwrap loaded.  The channel's other end stays with the
 * runner, which learns from its hang-up that the sandbox is gone.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_PORT 3128

static int
listen_tcp(void)
{
	struct sockaddr_in sa;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(RELAY_PORT);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_fd(int channel, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char byte = 'L';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg;
	struct cmsghdr *c;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(channel, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char *end;
	long channel;
	int lfd;

	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr, "usage: er-sandbox-relay CHANNEL_FD -- COMMAND...\n");
		return 125;
	}
	errno = 0;
	channel = strtol(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || channel < 3 || channel > 65535) {
		fprintf(stderr, "er-sandbox-relay: invalid channel '%s'\n", argv[1]);
		return 125;
	}
	lfd = listen_tcp();
	if (lfd < 0) {
		perror("er-sandbox-relay: cannot listen on 127.0.0.1:3128");
		return 125;
	}
	if (send_fd((int)channel, lfd) < 0) {
		perror("er-sandbox-relay: cannot hand the proxy listener to the runner");
		return 125;
	}
	close(lfd);
	close((int)channel);
	execvp(argv[3], argv + 3);
	fprintf(stderr, "er-sandbox-relay: cannot run '%s': %s\n", argv[3], strerror(errno));
	return 127;
}
