/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "health.h"
#include "nbio.h"

#define HEALTH_MAX_REQUEST 4096
#define HEALTH_MAX_BODY (1024 * 1024)
#define HEALTH_MAX_CONNS 32
#define HEALTH_CONN_MS 5000

struct health_conn {
	struct health_conn *next;
	struct health *h;
	int fd;
	struct loop_watch *watch;
	struct loop_timer *timer;
	char req[HEALTH_MAX_REQUEST];
	size_t req_len;
	struct buf out;
	size_t sent;
};

struct health {
	struct loop *loop;
	int fd;
	struct loop_watch *watch;
	health_serve_cb serve;
	void *userdata;
	struct health_conn *conns;
	int n_conns;
};

static void
conn_free(struct health_conn *c)
{
	struct health *h = c->h;

	for (struct health_conn **pp = &h->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	h->n_conns--;
	loop_unwatch(c->watch);
	loop_cancel_timer(c->timer);
	close(c->fd);
	buf_release(&c->out);
	free(c);
}

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

static void conn_ready(void *userdata, int fd, uint32_t revents);

/* Queue the whole answer and switch to writing. */
static void
respond(struct health_conn *c, int status, const char *type, const char *body, size_t len)
{
	buf_reset(&c->out);
	if (buf_printf(&c->out,
		       "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		       "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
		       status, reason(status), type, len,
		       status == 405 ? "Allow: GET\r\n" : "") < 0 ||
	    buf_append(&c->out, body, len) < 0) {
		conn_free(c);
		return;
	}
	c->sent = 0;
	loop_watch_set_events(c->watch, LOOP_WRITE);
}

static void
handle_request(struct health_conn *c)
{
	struct buf body = BUF_INIT(HEALTH_MAX_BODY);
	const char *type = "text/plain; charset=utf-8";
	char *sp1;
	char *sp2;
	char *q;
	int status;

	c->req[c->req_len] = '\0';
	sp1 = strchr(c->req, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp1[1] != '/') {
		respond(c, 400, type, "bad request\n", 12);
		return;
	}
	*sp1 = '\0';
	*sp2 = '\0';
	if (strcmp(c->req, "GET") != 0) {
		respond(c, 405, type, "only GET\n", 9);
		return;
	}
	q = strchr(sp1 + 1, '?');
	if (q)
		*q = '\0';
	status = c->h->serve(c->h->userdata, sp1 + 1, &body, &type);
	respond(c, status, type, body.data ? body.data : "", body.len);
	buf_release(&body);
}

/* Gathers the request head and answers it once complete; the answer may
 * free the connection, so the drain stops there. */
static int
take_request(void *userdata, const char *data, size_t len)
{
	struct health_conn *c = userdata;
	size_t room = sizeof(c->req) - 1 - c->req_len;
	size_t n = len < room ? len : room;

	memcpy(c->req + c->req_len, data, n);
	c->req_len += n;
	c->req[c->req_len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
		handle_request(c);
	else if (c->req_len == sizeof(c->req) - 1)
		respond(c, 431, "text/plain; charset=utf-8", "request too large\n", 18);
	else
		return 0;
	return -ECANCELED;
}

static void
conn_ready(void *userdata, int fd, uint32_t revents)
{
	struct health_conn *c = userdata;
	int r;

	if (c->out.len) {
		/* SIGPIPE is ignored by the runner: a gone client is EPIPE. */
		if (nbio_flush(fd, c->out.data, c->out.len, &c->sent) != 0)
			conn_free(c);
		return;
	}
	r = nbio_drain(fd, take_request, c);
	if (r == 1 || (r < 0 && r != -ECANCELED))
		conn_free(c);
}

static void
conn_timeout(void *userdata)
{
	struct health_conn *c = userdata;

	c->timer = NULL;
	conn_free(c);
}

static int
set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static void
accept_ready(void *userdata, int fd, uint32_t revents)
{
	struct health *h = userdata;

	for (;;) {
		struct health_conn *c;
		int cfd;

#ifdef HAVE_ACCEPT4
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
		cfd = accept(fd, NULL, NULL);
		if (cfd >= 0 && set_nonblock_cloexec(cfd) < 0) {
			close(cfd);
			continue;
		}
#endif
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of fds: try again on the next wakeup */
		}
		if (h->n_conns >= HEALTH_MAX_CONNS) {
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			return;
		}
		c->h = h;
		c->fd = cfd;
		buf_init(&c->out, HEALTH_MAX_BODY + 1024);
		c->next = h->conns;
		h->conns = c;
		h->n_conns++;
		if (loop_watch_fd(h->loop, cfd, LOOP_READ, conn_ready, c, &c->watch) < 0 ||
		    loop_add_timer(h->loop, HEALTH_CONN_MS, conn_timeout, c, &c->timer) < 0) {
			conn_free(c);
			return;
		}
	}
}

int
health_new(struct loop *loop, const char *addr, int port, health_serve_cb serve, void *userdata,
	   struct health **ret, char *err, size_t errlen)
{
	struct addrinfo hints;
	struct addrinfo *ai = NULL;
	struct health *h;
	char service[16];
	int one = 1;
	int fd = -1;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(service, sizeof(service), "%d", port);
	r = getaddrinfo(addr, service, &hints, &ai);
	if (r != 0) {
		snprintf(
			err, errlen,
			"invalid health address '%s': %s; fix: give a numeric IPv4 or IPv6 address "
			"to --health-addr",
			addr, gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0 || set_nonblock_cloexec(fd) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create the health listener socket: %s", strerror(-r));
		goto fail;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		snprintf(err, errlen,
			 "cannot listen on %s%s%s:%d for health checks: %s; fix: pass a free port "
			 "with --health-port (0 disables the listener)",
			 ai->ai_family == AF_INET6 ? "[" : "", addr,
			 ai->ai_family == AF_INET6 ? "]" : "", port, strerror(-r));
		goto fail;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	h->loop = loop;
	h->fd = fd;
	h->serve = serve;
	h->userdata = userdata;
	r = loop_watch_fd(loop, fd, LOOP_READ, accept_ready, h, &h->watch);
	if (r < 0) {
		free(h);
		snprintf(err, errlen, "cannot watch the health listener: %s", strerror(-r));
		goto fail;
	}
	freeaddrinfo(ai);
	*ret = h;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return r;
}

void
health_free(struct health *h)
{
	if (!h)
		return;
	while (h->conns)
		conn_free(h->conns);
	loop_unwatch(h->watch);
	close(h->fd);
	free(h);
}
