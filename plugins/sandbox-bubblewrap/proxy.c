/* SPDX-License-Identifier: MIT */
/*
 * The allow-list proxy (proxy.h).  Each sandbox hands the runner, over a
 * channel made in wrap(), the socket its relay listens on inside it; the
 * proxy accepts the sandbox's connections from that socket on the runner's
 * loop.  Each connection is a small state machine:
 *
 *   HEAD      read the request head (at most PX_HEAD_MAX bytes)
 *   RESOLVE   the name, on a short-lived thread (getaddrinfo blocks); the
 *             answer comes back through a pipe the loop watches
 *   CONNECT   a non-blocking connect to the first acceptable address
 *   RELAY     bytes both ways, PX_BUF bytes buffered per direction
 *
 * CONNECT host:port is answered "200 Connection established"; an absolute
 * http:// request is forwarded in origin form.  A name not on the list, a
 * port other than 443 unless the entry names it, an IP literal, or a name
 * whose addresses are all refused by address.c (not public unicast, or the
 * runner host's own; a pin in `pins` may name a loopback address, for
 * tests) gets a 403 with X-Proxy-Error: blocked-by-allowlist.
 *
 * Fairness: the sandboxes of one session share PX_SESSION_CONNS
 * connections, so that one session cannot take the proxy from the others;
 * a connection past that gets a 429.  A head must arrive within
 * PX_HEAD_MS, a name resolve and connect within PX_CONNECT_MS, and a
 * relayed connection idle for PX_IDLE_MS is closed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address.h"
#include "proxy.h"

#define PX_HEAD_MAX 8192
#define PX_BUF 16384
#define PX_MAX_CONNS 4096 /* in all: two fds each */
#define PX_SESSION_CONNS 64
#define PX_HEAD_MS 10000
#define PX_CONNECT_MS 30000
#define PX_IDLE_MS 300000
#define PX_SWEEP_MS 1000
#define PX_ADDRS_MAX 16

enum px_phase { PX_HEAD, PX_RESOLVE, PX_CONNECT, PX_RELAY };

struct px_pin {
	char *name;
	char *addr;
};

struct px_conn;

/* The connections of one session, over all its sandboxes. */
struct px_share {
	struct px_share *next;
	char *session_id;
	int refs; /* sandboxes */
	int n_conns;
	int warned;
};

/* One sandbox: the runner's end of its channel, then its listener. */
struct px_sandbox {
	struct bw_proxy *px;
	struct px_sandbox *next;
	struct px_share *share;
	int channel_fd;
	struct er_watch *channel_watch;
	int listen_fd;
	struct er_watch *listen_watch;
};

struct bw_proxy {
	const struct er_host *host;
	void *host_ctx;
	char **domains; /* owned copies */
	struct px_pin *pins;
	size_t n_pins;
	struct px_share *shares;
	struct px_sandbox *sandboxes;
	struct px_conn *conns;
	int n_conns;
	struct er_timer *sweep;
};

/* One side of a relay: bytes read from `fd` wait in `buf` for the other. */
struct px_side {
	int fd;
	struct er_watch *watch;
	uint32_t events;
	char buf[PX_BUF];
	size_t len;
	int eof; /* no more to read from fd */
};

/* A lookup on its own thread, which also keeps only the addresses the
 * proxy may connect to.  Whichever of the thread (done) and the connection
 * (gone) sets `claimed` second frees it. */
struct px_lookup {
	char host[256];
	char port[8];
	int pinned;
	int err;
	struct sockaddr_storage addrs[PX_ADDRS_MAX];
	socklen_t lens[PX_ADDRS_MAX];
	size_t n_addrs;
	size_t refused;
	int pipe[2];
	int claimed;
};

struct px_conn {
	struct bw_proxy *px;
	struct px_sandbox *sb;
	struct px_conn *next;
	enum px_phase phase;
	uint64_t deadline_ms;
	struct px_side client;
	struct px_side upstream;
	char head[PX_HEAD_MAX + 1];
	size_t head_len;
	int is_connect;
	char host[256];
	char port[8];
	char *forward; /* the rewritten head of a plain http:// request */
	size_t forward_len;
	struct px_lookup *lookup; /* in flight */
	struct er_watch *lookup_watch;
	struct px_lookup *resolved; /* its answer */
	size_t next_addr;
	int pinned;
};

static void conn_close(struct px_conn *c);
static void side_cb(void *userdata, int fd, uint32_t revents);

/* ---- the allow-list ------------------------------------------------------ */

static int
host_allowed(const struct bw_proxy *px, const char *host, const char *port)
{
	for (char **d = px->domains; *d; d++) {
		const char *pat = *d;
		const char *colon = strrchr(pat, ':');
		char name[256];
		size_t n = colon ? (size_t)(colon - pat) : strlen(pat);

		if (n >= sizeof(name))
			continue;
		memcpy(name, pat, n);
		name[n] = '\0';
		if (strcmp(colon ? colon + 1 : "443", port) != 0)
			continue;
		if (strncmp(name, "*.", 2) == 0) {
			size_t hl = strlen(host);
			size_t sl = strlen(name + 1); /* ".example.com" */

			if (hl > sl && strcasecmp(host + hl - sl, name + 1) == 0)
				return 1;
		} else if (strcasecmp(host, name) == 0) {
			return 1;
		}
	}
	return 0;
}

/* ---- watches ------------------------------------------------------------- */

static void
side_watch(struct px_conn *c, struct px_side *s, uint32_t events)
{
	const struct er_host *host = c->px->host;

	if (s->fd < 0 || events == s->events)
		return;
	if (s->watch)
		host->unwatch_fd(s->watch);
	s->watch = NULL;
	s->events = events;
	if (events && host->watch_fd(c->px->host_ctx, s->fd, events, side_cb, c, &s->watch) < 0)
		s->events = 0;
}

static void
side_release(struct bw_proxy *px, struct px_side *s)
{
	if (s->watch)
		px->host->unwatch_fd(s->watch);
	s->watch = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void
conn_close(struct px_conn *c)
{
	struct bw_proxy *px = c->px;

	for (struct px_conn **pp = &px->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	px->n_conns--;
	c->sb->share->n_conns--;
	side_release(px, &c->client);
	side_release(px, &c->upstream);
	if (c->lookup_watch)
		px->host->unwatch_fd(c->lookup_watch);
	if (c->lookup) {
		close(c->lookup->pipe[0]);
		/* Free it if the thread is done; else the thread will. */
		if (__atomic_exchange_n(&c->lookup->claimed, 1, __ATOMIC_ACQ_REL))
			free(c->lookup);
	}
	free(c->resolved);
	free(c->forward);
	free(c);
}

/* A short answer on a client socket (non-blocking, nearly empty). */
static void
answer(int fd, int status, const char *reason)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 %d %s\r\nX-Proxy-Error: %s\r\nContent-Length: "
			 "0\r\nConnection: close\r\n\r\n",
			 status, reason,
			 status == 403			  ? "blocked-by-allowlist"
			 : status == 429		  ? "too-many-connections"
			 : status == 408 || status == 504 ? "timeout"
							  : "proxy-error");

	(void)!write(fd, msg, (size_t)n);
}

/* A short answer to the client, then close. */
static void
refuse(struct px_conn *c, int status, const char *reason)
{
	answer(c->client.fd, status, reason);
	c->px->host->log(c->px->host_ctx, ER_LOG_INFO, "proxy: %d for %s:%s", status,
			 c->host[0] ? c->host : "?", c->port[0] ? c->port : "?");
	conn_close(c);
}

/* ---- deadlines ------------------------------------------------------------------ */

static void
sweep_cb(void *userdata)
{
	struct bw_proxy *px = userdata;
	uint64_t now = px->host->now_ms(px->host_ctx);
	struct px_conn *next;

	px->sweep = NULL;
	for (struct px_conn *c = px->conns; c; c = next) {
		next = c->next;
		if (now < c->deadline_ms)
			continue;
		/* Debug: a session can make many of these. */
		px->host->log(px->host_ctx, ER_LOG_DEBUG, "proxy: %s for %s:%s timed out",
			      c->phase == PX_HEAD    ? "request head"
			      : c->phase == PX_RELAY ? "idle connection"
						     : "connect",
			      c->host[0] ? c->host : "?", c->port[0] ? c->port : "?");
		if (c->phase == PX_HEAD)
			refuse(c, 408, "Request Timeout");
		else if (c->phase == PX_RELAY)
			conn_close(c);
		else
			refuse(c, 504, "Gateway Timeout");
	}
	/* Armed only while there are connections: an idle runner stays idle. */
	if (px->conns)
		px->host->add_timer(px->host_ctx, PX_SWEEP_MS, sweep_cb, px, &px->sweep);
}

static void
set_deadline(struct px_conn *c, uint64_t ms)
{
	struct bw_proxy *px = c->px;

	c->deadline_ms = px->host->now_ms(px->host_ctx) + ms;
	if (!px->sweep)
		px->host->add_timer(px->host_ctx, PX_SWEEP_MS, sweep_cb, px, &px->sweep);
}

/* ---- relay ---------------------------------------------------------------- */

/* Recompute both sides' interest: read while there is room, write while
 * the other side has bytes. */
static void
relay_update(struct px_conn *c)
{
	struct px_side *a = &c->client;
	struct px_side *b = &c->upstream;

	if (a->eof && a->len == 0 && b->fd >= 0)
		shutdown(b->fd, SHUT_WR);
	if (b->eof && b->len == 0 && a->fd >= 0)
		shutdown(a->fd, SHUT_WR);
	if (a->eof && b->eof && a->len == 0 && b->len == 0) {
		conn_close(c);
		return;
	}
	side_watch(c, a,
		   (!a->eof && a->len < PX_BUF ? ER_FD_READ : 0) | (b->len ? ER_FD_WRITE : 0));
	side_watch(c, b,
		   (!b->eof && b->len < PX_BUF ? ER_FD_READ : 0) | (a->len ? ER_FD_WRITE : 0));
}

static int
pump(struct px_side *from, struct px_side *to)
{
	ssize_t n;

	if (!from->eof && from->len < PX_BUF) {
		n = read(from->fd, from->buf + from->len, PX_BUF - from->len);
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
	return 0;
}

/* ---- connect --------------------------------------------------------------- */

static void try_connect(struct px_conn *c);

static void
connected(struct px_conn *c)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

	c->phase = PX_RELAY;
	set_deadline(c, PX_IDLE_MS);
	if (c->is_connect) {
		/* To the client; what it sent early waits in client.buf. */
		memcpy(c->upstream.buf, ok, sizeof(ok) - 1);
		c->upstream.len = sizeof(ok) - 1;
	} else {
		size_t n = c->forward_len < PX_BUF ? c->forward_len : PX_BUF;

		memcpy(c->client.buf, c->forward, n);
		c->client.len = n;
	}
	c->px->host->log(c->px->host_ctx, ER_LOG_DEBUG, "proxy: %s %s:%s",
			 c->is_connect ? "CONNECT" : "GET", c->host, c->port);
	relay_update(c);
}

static void
side_cb(void *userdata, int fd, uint32_t revents)
{
	struct px_conn *c = userdata;

	if (c->phase == PX_CONNECT && fd == c->upstream.fd) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			side_release(c->px, &c->upstream);
			c->upstream.events = 0;
			try_connect(c);
			return;
		}
		connected(c);
		return;
	}
	if (c->phase != PX_RELAY)
		return;
	set_deadline(c, PX_IDLE_MS);
	if (pump(&c->client, &c->upstream) < 0 || pump(&c->upstream, &c->client) < 0) {
		conn_close(c);
		return;
	}
	relay_update(c);
}

static void
try_connect(struct px_conn *c)
{
	struct px_lookup *l = c->resolved;

	while (c->next_addr < l->n_addrs) {
		const struct sockaddr *sa = (const struct sockaddr *)&l->addrs[c->next_addr];
		socklen_t len = l->lens[c->next_addr];
		int fd;

		c->next_addr++;
		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		c->upstream.fd = fd;
		c->phase = PX_CONNECT;
		side_watch(c, &c->upstream, ER_FD_WRITE);
		side_watch(c, &c->client, 0);
		return;
	}
	if (l->n_addrs == 0 && l->refused)
		refuse(c, 403, "Forbidden");
	else
		refuse(c, 502, "Bad Gateway");
}

/* ---- resolve --------------------------------------------------------------- */

/* Keep the addresses the proxy may connect to; with the host's own
 * addresses unknown, none. */
static void
lookup_filter(struct px_lookup *l, const struct addrinfo *res)
{
	struct px_local local;
	int known = px_local_read(&local) == 0;

	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(l->addrs[0]) || l->n_addrs == PX_ADDRS_MAX)
			continue;
		if (!(l->pinned && px_address_loopback(ai->ai_addr)) &&
		    !(known && px_address_allowed(ai->ai_addr, &local))) {
			l->refused++;
			continue;
		}
		memcpy(&l->addrs[l->n_addrs], ai->ai_addr, ai->ai_addrlen);
		l->lens[l->n_addrs++] = ai->ai_addrlen;
	}
}

static void *
lookup_thread(void *arg)
{
	struct px_lookup *l = arg;
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	int wfd = l->pipe[1];

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;

	l->err = getaddrinfo(l->host, l->port, &hints, &res);
	if (!l->err) {
		lookup_filter(l, res);
		freeaddrinfo(res);
	}
	if (__atomic_exchange_n(&l->claimed, 1, __ATOMIC_ACQ_REL)) {
		/* The connection went away: nobody will read the answer. */
		free(l);
	} else {
		/* `l` belongs to the loop from here on. */
		(void)!write(wfd, "x", 1);
	}
	close(wfd);
	return NULL;
}

static void
lookup_done(void *userdata, int fd, uint32_t revents)
{
	struct px_conn *c = userdata;
	struct px_lookup *l = c->lookup;

	c->px->host->unwatch_fd(c->lookup_watch);
	c->lookup_watch = NULL;
	c->lookup = NULL;
	close(l->pipe[0]);
	c->resolved = l;
	if (l->err) {
		refuse(c, 502, "Bad Gateway");
		return;
	}
	try_connect(c);
}

static void
start_lookup(struct px_conn *c, const char *name)
{
	struct px_lookup *l = calloc(1, sizeof(*l));
	pthread_attr_t attr;
	pthread_t t;

	if (!l || pipe2(l->pipe, O_CLOEXEC) < 0) {
		free(l);
		refuse(c, 502, "Bad Gateway");
		return;
	}
	snprintf(l->host, sizeof(l->host), "%s", name);
	snprintf(l->port, sizeof(l->port), "%s", c->port);
	l->pinned = c->pinned;
	/* The thread writes once; SIGPIPE is ignored by the runner. */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, lookup_thread, l) != 0) {
		pthread_attr_destroy(&attr);
		close(l->pipe[0]);
		close(l->pipe[1]);
		free(l);
		refuse(c, 502, "Bad Gateway");
		return;
	}
	pthread_attr_destroy(&attr);
	c->lookup = l;
	c->phase = PX_RESOLVE;
	set_deadline(c, PX_CONNECT_MS);
	side_watch(c, &c->client, 0);
	if (c->px->host->watch_fd(c->px->host_ctx, l->pipe[0], ER_FD_READ, lookup_done, c,
				  &c->lookup_watch) < 0)
		conn_close(c);
}

/* ---- the request head --------------------------------------------------------- */

/* "host:port" or "[v6]:port" into c->host, c->port; default port `def`. */
static int
split_authority(struct px_conn *c, const char *auth, size_t n, const char *def)
{
	const char *colon;
	size_t hn;

	if (n == 0 || n >= sizeof(c->host))
		return -1;
	if (auth[0] == '[') {
		const char *end = memchr(auth, ']', n);

		if (!end)
			return -1;
		hn = (size_t)(end - auth - 1);
		memcpy(c->host, auth + 1, hn);
		colon = end + 1 < auth + n && end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = memchr(auth, ':', n);
		hn = colon ? (size_t)(colon - auth) : n;
		memcpy(c->host, auth, hn);
	}
	c->host[hn] = '\0';
	if (colon) {
		size_t pn = (size_t)(auth + n - colon - 1);

		if (pn == 0 || pn >= sizeof(c->port))
			return -1;
		memcpy(c->port, colon + 1, pn);
		c->port[pn] = '\0';
	} else {
		snprintf(c->port, sizeof(c->port), "%s", def);
	}
	for (const char *p = c->port; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	return hn ? 0 : -1;
}

static void
handle_head(struct px_conn *c)
{
	char *line_end = strstr(c->head, "\r\n");
	char *sp1 = memchr(c->head, ' ', (size_t)(line_end - c->head));
	char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
	struct in6_addr a6;
	struct in_addr a4;
	const char *pinned = NULL;

	if (!sp1 || !sp2) {
		refuse(c, 400, "Bad Request");
		return;
	}
	if ((size_t)(sp1 - c->head) == 7 && strncmp(c->head, "CONNECT", 7) == 0) {
		c->is_connect = 1;
		if (split_authority(c, sp1 + 1, (size_t)(sp2 - sp1 - 1), "443") < 0) {
			refuse(c, 400, "Bad Request");
			return;
		}
	} else if (strncmp(sp1 + 1, "http://", 7) == 0) {
		const char *auth = sp1 + 8;
		const char *slash = memchr(auth, '/', (size_t)(sp2 - auth));
		const char *path = slash ? slash : sp2;
		size_t n;

		if (split_authority(c, auth, (size_t)(path - auth), "80") < 0) {
			refuse(c, 400, "Bad Request");
			return;
		}
		/* METHOD /path VERSION... and the rest of what was read. */
		n = (size_t)(sp1 - c->head) + 1 + (slash ? (size_t)(sp2 - slash) : 1) +
		    (c->head_len - (size_t)(sp2 - c->head));
		c->forward = malloc(n + 1);
		if (!c->forward) {
			refuse(c, 502, "Bad Gateway");
			return;
		}
		c->forward_len = (size_t)snprintf(
			c->forward, n + 1, "%.*s %.*s%.*s", (int)(sp1 - c->head), c->head,
			slash ? (int)(sp2 - slash) : 1, slash ? slash : "/",
			(int)(c->head_len - (size_t)(sp2 - c->head)), sp2);
	} else {
		refuse(c, 400, "Bad Request");
		return;
	}
	/* Names only: an address literal is never on the list. */
	if (inet_pton(AF_INET, c->host, &a4) == 1 || inet_pton(AF_INET6, c->host, &a6) == 1 ||
	    !host_allowed(c->px, c->host, c->port)) {
		refuse(c, 403, "Forbidden");
		return;
	}
	for (size_t i = 0; i < c->px->n_pins; i++)
		if (strcasecmp(c->px->pins[i].name, c->host) == 0)
			pinned = c->px->pins[i].addr;
	c->pinned = pinned != NULL;
	/* A CONNECT tunnel starts clean: bytes after the head go upstream. */
	if (c->is_connect) {
		char *body = strstr(c->head, "\r\n\r\n") + 4;
		size_t extra = c->head_len - (size_t)(body - c->head);

		memcpy(c->client.buf, body, extra);
		c->client.len = extra;
	}
	start_lookup(c, pinned ? pinned : c->host);
}

static void
head_cb(void *userdata, int fd, uint32_t revents)
{
	struct px_conn *c = userdata;
	ssize_t n;

	if (c->phase != PX_HEAD) {
		side_cb(userdata, fd, revents);
		return;
	}
	n = read(fd, c->head + c->head_len, PX_HEAD_MAX - c->head_len);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	c->head_len += (size_t)n;
	c->head[c->head_len] = '\0';
	if (strstr(c->head, "\r\n\r\n")) {
		handle_head(c);
		return;
	}
	if (c->head_len == PX_HEAD_MAX)
		refuse(c, 431, "Request Header Fields Too Large");
}

/* ---- sandboxes ------------------------------------------------------------------ */

static void
accept_cb(void *userdata, int fd, uint32_t revents)
{
	struct px_sandbox *sb = userdata;
	struct bw_proxy *px = sb->px;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct px_conn *c;

		if (cfd < 0)
			return;
		if (sb->share->n_conns >= PX_SESSION_CONNS || px->n_conns >= PX_MAX_CONNS) {
			if (!sb->share->warned)
				px->host->log(px->host_ctx, ER_LOG_WARNING,
					      "proxy: session %s has %d connections open: refusing "
					      "more",
					      sb->share->session_id, sb->share->n_conns);
			sb->share->warned = 1;
			answer(cfd, 429, "Too Many Requests");
			close(cfd);
			continue;
		}
		if (sb->share->n_conns < PX_SESSION_CONNS / 2)
			sb->share->warned = 0;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->px = px;
		c->sb = sb;
		c->client.fd = cfd;
		c->upstream.fd = -1;
		c->next = px->conns;
		px->conns = c;
		px->n_conns++;
		sb->share->n_conns++;
		set_deadline(c, PX_HEAD_MS);
		c->client.events = ER_FD_READ;
		if (px->host->watch_fd(px->host_ctx, cfd, ER_FD_READ, head_cb, c,
				       &c->client.watch) < 0)
			conn_close(c);
	}
}

static void
share_put(struct bw_proxy *px, struct px_share *share)
{
	if (--share->refs > 0)
		return;
	for (struct px_share **pp = &px->shares; *pp; pp = &(*pp)->next) {
		if (*pp == share) {
			*pp = share->next;
			break;
		}
	}
	free(share->session_id);
	free(share);
}

static struct px_share *
share_get(struct bw_proxy *px, const char *session_id)
{
	struct px_share *share;

	for (share = px->shares; share; share = share->next) {
		if (strcmp(share->session_id, session_id) == 0) {
			share->refs++;
			return share;
		}
	}
	share = calloc(1, sizeof(*share));
	if (!share || !(share->session_id = strdup(session_id))) {
		free(share);
		return NULL;
	}
	share->refs = 1;
	share->next = px->shares;
	px->shares = share;
	return share;
}

/* The sandbox is gone (or never started): its connections go with it. */
static void
sandbox_free(struct px_sandbox *sb)
{
	struct bw_proxy *px = sb->px;
	struct px_conn *next;

	for (struct px_conn *c = px->conns; c; c = next) {
		next = c->next;
		if (c->sb == sb)
			conn_close(c);
	}
	for (struct px_sandbox **pp = &px->sandboxes; *pp; pp = &(*pp)->next) {
		if (*pp == sb) {
			*pp = sb->next;
			break;
		}
	}
	if (sb->listen_watch)
		px->host->unwatch_fd(sb->listen_watch);
	if (sb->listen_fd >= 0)
		close(sb->listen_fd);
	if (sb->channel_watch)
		px->host->unwatch_fd(sb->channel_watch);
	close(sb->channel_fd);
	share_put(px, sb->share);
	free(sb);
}

/* A TCP socket listening, as the relay makes it? */
static int
is_listener(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || !v)
		return 0;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 || v != AF_INET)
		return 0;
	len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_STREAM;
}

/* The relay's message (its listener), or the channel's end. */
static void
channel_cb(void *userdata, int fd, uint32_t revents)
{
	struct px_sandbox *sb = userdata;
	struct bw_proxy *px = sb->px;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	char data[64];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr msg;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
		size_t count;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (sb->listen_fd < 0 && is_listener(got) &&
			    fcntl(got, F_SETFL, fcntl(got, F_GETFL) | O_NONBLOCK) == 0 &&
			    px->host->watch_fd(px->host_ctx, got, ER_FD_READ, accept_cb, sb,
					       &sb->listen_watch) == 0) {
				sb->listen_fd = got;
				continue;
			}
			close(got);
		}
	}
	if (n <= 0)
		sandbox_free(sb);
}

int
bw_proxy_channel(struct bw_proxy *px, const char *session_id)
{
	struct px_sandbox *sb = calloc(1, sizeof(*sb));
	int pair[2];
	int r;

	if (!sb)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		r = -errno;
		free(sb);
		return r;
	}
	sb->px = px;
	sb->channel_fd = pair[0];
	sb->listen_fd = -1;
	sb->share = share_get(px, session_id ? session_id : "");
	r = sb->share ? 0 : -ENOMEM;
	if (r == 0)
		r = px->host->watch_fd(px->host_ctx, pair[0], ER_FD_READ, channel_cb, sb,
				       &sb->channel_watch);
	if (r < 0) {
		if (sb->share)
			share_put(px, sb->share);
		close(pair[0]);
		close(pair[1]);
		free(sb);
		return r;
	}
	sb->next = px->sandboxes;
	px->sandboxes = sb;
	return pair[1];
}

/* ---- lifetime ----------------------------------------------------------------- */

static int
parse_pins(struct bw_proxy *px, const char *pins)
{
	char *copy;
	char *save = NULL;

	if (!pins)
		return 0;
	copy = strdup(pins);
	if (!copy)
		return -ENOMEM;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		struct px_pin *v;

		if (!eq || eq == item || !eq[1]) {
			free(copy);
			return -EINVAL;
		}
		*eq = '\0';
		v = realloc(px->pins, (px->n_pins + 1) * sizeof(*v));
		if (!v) {
			free(copy);
			return -ENOMEM;
		}
		px->pins = v;
		v[px->n_pins].name = strdup(item);
		v[px->n_pins].addr = strdup(eq + 1);
		px->n_pins++;
		if (!v[px->n_pins - 1].name || !v[px->n_pins - 1].addr) {
			free(copy);
			return -ENOMEM;
		}
	}
	free(copy);
	return 0;
}

int
bw_proxy_new(const struct er_host *host, void *host_ctx, char *const *domains, const char *pins,
	     struct bw_proxy **ret, struct er_error *err)
{
	struct bw_proxy *px = calloc(1, sizeof(*px));
	size_t n = 0;
	int r;

	if (!px)
		return host->err_set(err, -ENOMEM, "out of memory");
	px->host = host;
	px->host_ctx = host_ctx;
	while (domains[n])
		n++;
	px->domains = calloc(n + 1, sizeof(*px->domains));
	if (!px->domains)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (!(px->domains[i] = strdup(domains[i])))
			goto oom;
	r = parse_pins(px, pins);
	if (r < 0) {
		bw_proxy_free(px);
		return host->err_set(err, r,
				     "invalid bubblewrap.proxy_hosts; fix: give NAME=ADDR,...");
	}
	*ret = px;
	return 0;
oom:
	bw_proxy_free(px);
	return host->err_set(err, -ENOMEM, "out of memory");
}

void
bw_proxy_free(struct bw_proxy *px)
{
	if (!px)
		return;
	while (px->sandboxes)
		sandbox_free(px->sandboxes);
	if (px->sweep)
		px->host->cancel_timer(px->sweep);
	for (size_t i = 0; px->domains && px->domains[i]; i++)
		free(px->domains[i]);
	free(px->domains);
	for (size_t i = 0; i < px->n_pins; i++) {
		free(px->pins[i].name);
		free(px->pins[i].addr);
	}
	free(px->pins);
	free(px);
}
