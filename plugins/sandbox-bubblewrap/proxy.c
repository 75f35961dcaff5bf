/* SPDX-License-Identifier: MIT */
/*
 * The allow-list proxy (proxy.h).  One listening unix socket; each
 * accepted connection is a small state machine on the runner's loop:
 *
 *   HEAD      read the request head (at most PX_HEAD_MAX bytes)
 *   RESOLVE   the name, on a short-lived thread (getaddrinfo blocks); the
 *             answer comes back through a pipe the loop watches
 *   CONNECT   a non-blocking connect to the first acceptable address
 *   RELAY     bytes both ways, PX_BUF bytes buffered per direction
 *
 * CONNECT host:port is answered "200 Connection established"; an absolute
 * http:// request is forwarded in origin form.  A name not on the list,
 * an IP literal, or an address that is loopback, private, link-local,
 * multicast or unspecified (unless pinned with `pins`) gets a 403 with
 * X-Proxy-Error: blocked-by-allowlist.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "proxy.h"

#define PX_HEAD_MAX 8192
#define PX_BUF      16384
#define PX_MAX_CONN 256

enum px_phase { PX_HEAD, PX_RESOLVE, PX_CONNECT, PX_RELAY };

struct px_pin {
	char *name;
	char *addr;
};

struct px_conn;

struct bw_proxy {
	const struct er_host *host;
	void *host_ctx;
	char **domains; /* owned copies */
	struct px_pin *pins;
	size_t n_pins;
	char dir[64];
	char path[128];
	int listen_fd;
	struct er_watch *listen_watch;
	struct px_conn *conns;
	int n_conns;
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

/* A lookup on its own thread.  Whichever of the thread (done) and the
 * connection (gone) sets `claimed` second frees it. */
struct px_lookup {
	char host[256];
	char port[8];
	struct addrinfo *res;
	int err;
	int pipe[2];
	int claimed;
};

static void
lookup_free(struct px_lookup *l)
{
	if (l->res)
		freeaddrinfo(l->res);
	free(l);
}

struct px_conn {
	struct bw_proxy *px;
	struct px_conn *next;
	enum px_phase phase;
	struct px_side client;
	struct px_side upstream;
	char head[PX_HEAD_MAX + 1];
	size_t head_len;
	int is_connect;
	char host[256];
	char port[8];
	char *forward;      /* the rewritten head of a plain http:// request */
	size_t forward_len;
	struct px_lookup *lookup;
	struct er_watch *lookup_watch;
	struct addrinfo *addrs;
	struct addrinfo *next_addr;
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
		if (colon && strcmp(colon + 1, port) != 0)
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

static int
addr_public(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);

		return !((a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
			 (a >> 16) == 0xa9fe || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
			 (a >> 22) == (0x64400000u >> 22) || (a >> 28) == 0xe || (a >> 28) == 0xf);
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			struct sockaddr_in v4;

			memset(&v4, 0, sizeof(v4));
			v4.sin_family = AF_INET;
			memcpy(&v4.sin_addr, a->s6_addr + 12, 4);
			return addr_public((const struct sockaddr *)&v4);
		}
		return !(IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
			 IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_SITELOCAL(a) ||
			 IN6_IS_ADDR_MULTICAST(a) || (a->s6_addr[0] & 0xfe) == 0xfc);
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
	side_release(px, &c->client);
	side_release(px, &c->upstream);
	if (c->lookup_watch)
		px->host->unwatch_fd(c->lookup_watch);
	if (c->lookup) {
		close(c->lookup->pipe[0]);
		/* Free it if the thread is done; else the thread will. */
		if (__atomic_exchange_n(&c->lookup->claimed, 1, __ATOMIC_ACQ_REL))
			lookup_free(c->lookup);
	}
	if (c->addrs)
		freeaddrinfo(c->addrs);
	free(c->forward);
	free(c);
}

/* A short answer to the client, then close. */
static void
refuse(struct px_conn *c, int status, const char *reason)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 %d %s\r\nX-Proxy-Error: blocked-by-allowlist\r\nContent-Length: "
			 "0\r\nConnection: close\r\n\r\n",
			 status, reason);

	(void)!write(c->client.fd, msg, (size_t)n);
	c->px->host->log(c->px->host_ctx, ER_LOG_INFO, "proxy: %d for %s:%s", status,
			 c->host[0] ? c->host : "?", c->port[0] ? c->port : "?");
	conn_close(c);
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
	side_watch(c, a, (!a->eof && a->len < PX_BUF ? ER_FD_READ : 0) | (b->len ? ER_FD_WRITE : 0));
	side_watch(c, b, (!b->eof && b->len < PX_BUF ? ER_FD_READ : 0) | (a->len ? ER_FD_WRITE : 0));
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
	if (pump(&c->client, &c->upstream) < 0 || pump(&c->upstream, &c->client) < 0) {
		conn_close(c);
		return;
	}
	relay_update(c);
}

static void
try_connect(struct px_conn *c)
{
	while (c->next_addr) {
		struct addrinfo *ai = c->next_addr;
		int fd;

		c->next_addr = ai->ai_next;
		if (!c->pinned && !addr_public(ai->ai_addr))
			continue;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		c->upstream.fd = fd;
		c->phase = PX_CONNECT;
		side_watch(c, &c->upstream, ER_FD_WRITE);
		side_watch(c, &c->client, 0);
		return;
	}
	refuse(c, c->pinned ? 502 : 403, c->pinned ? "Bad Gateway" : "Forbidden");
}

/* ---- resolve --------------------------------------------------------------- */

static void *
lookup_thread(void *arg)
{
	struct px_lookup *l = arg;
	struct addrinfo hints;
	int wfd = l->pipe[1];

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;

	l->err = getaddrinfo(l->host, l->port, &hints, &l->res);
	if (__atomic_exchange_n(&l->claimed, 1, __ATOMIC_ACQ_REL)) {
		/* The connection went away: nobody will read the answer. */
		lookup_free(l);
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
	c->addrs = l->err ? NULL : l->res;
	l->res = NULL;
	lookup_free(l);
	if (!c->addrs) {
		refuse(c, 502, "Bad Gateway");
		return;
	}
	c->next_addr = c->addrs;
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
		c->forward_len = (size_t)snprintf(c->forward, n + 1, "%.*s %.*s%.*s",
						  (int)(sp1 - c->head), c->head,
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

static void
accept_cb(void *userdata, int fd, uint32_t revents)
{
	struct bw_proxy *px = userdata;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct px_conn *c;

		if (cfd < 0)
			return;
		if (px->n_conns >= PX_MAX_CONN || !(c = calloc(1, sizeof(*c)))) {
			close(cfd);
			continue;
		}
		c->px = px;
		c->client.fd = cfd;
		c->upstream.fd = -1;
		c->next = px->conns;
		px->conns = c;
		px->n_conns++;
		c->client.events = ER_FD_READ;
		if (px->host->watch_fd(px->host_ctx, cfd, ER_FD_READ, head_cb, c, &c->client.watch) <
		    0)
			conn_close(c);
	}
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
	     uint32_t owner, struct bw_proxy **ret, struct er_error *err)
{
	struct bw_proxy *px = calloc(1, sizeof(*px));
	struct sockaddr_un sa;
	size_t n = 0;
	int r;

	if (!px)
		return host->err_set(err, -ENOMEM, "out of memory");
	px->host = host;
	px->host_ctx = host_ctx;
	px->listen_fd = -1;
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
		return host->err_set(err, r, "invalid bubblewrap.proxy_hosts; fix: give NAME=ADDR,...");
	}
	/* A private directory the sandbox user may pass through, holding a
	 * socket only that user (and root) may connect to. */
	snprintf(px->dir, sizeof(px->dir), "/tmp/environment-runner-proxy-XXXXXX");
	if (!mkdtemp(px->dir) || chmod(px->dir, 0711) < 0) {
		r = -errno;
		px->dir[0] = '\0';
		bw_proxy_free(px);
		return host->err_set(err, r, "cannot make a directory for the proxy socket");
	}
	snprintf(px->path, sizeof(px->path), "%s/proxy.sock", px->dir);
	px->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(px->path) >= sizeof(sa.sun_path)) {
		bw_proxy_free(px);
		return host->err_set(err, -ENAMETOOLONG, "proxy socket path too long");
	}
	memcpy(sa.sun_path, px->path, strlen(px->path) + 1);
	if (px->listen_fd < 0 || bind(px->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(px->listen_fd, 64) < 0 ||
	    (owner != (uint32_t)-1 && chown(px->path, (uid_t)owner, (gid_t)-1) < 0) ||
	    chmod(px->path, 0600) < 0) {
		r = -errno;
		bw_proxy_free(px);
		return host->err_set(err, r, "cannot listen on the proxy socket");
	}
	r = host->watch_fd(host_ctx, px->listen_fd, ER_FD_READ, accept_cb, px, &px->listen_watch);
	if (r < 0) {
		bw_proxy_free(px);
		return host->err_set(err, r, "cannot watch the proxy socket");
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
	while (px->conns)
		conn_close(px->conns);
	if (px->listen_watch)
		px->host->unwatch_fd(px->listen_watch);
	if (px->listen_fd >= 0)
		close(px->listen_fd);
	if (px->path[0])
		unlink(px->path);
	if (px->dir[0])
		rmdir(px->dir);
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

const char *
bw_proxy_socket_path(const struct bw_proxy *px)
{
	return px->path;
}
