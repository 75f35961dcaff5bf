/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_SYS_EPOLL_H
#include <sys/epoll.h>
#endif

#include "loop.h"

struct loop_watch {
	struct loop *loop;
	/* In the live list; once unwatched, in the graveyard (next only). */
	struct loop_watch *prev;
	struct loop_watch *next;
	int fd;
	uint32_t events;
	uint32_t id;	/* tells it from an earlier watch of the same fd */
	int registered; /* epoll: in the interest set */
	/* A curl socket between transfers, left in the interest set for the
	 * next one (curl_socket_cb). */
	int parked;
	loop_fd_cb cb;
	void *userdata;
	int dead;
};

struct loop_timer {
	struct loop *loop;
	uint64_t due;
	uint64_t seq; /* ties broken in insertion order */
	size_t index; /* position in the heap */
	loop_timer_cb cb;
	void *userdata;
};

struct loop_signal {
	int signo;
	loop_signal_cb cb;
	void *userdata;
};

#define LOOP_MAX_SIGNALS 8
/* Events taken from the kernel per wait (epoll); more wait for the next. */
#define LOOP_MAX_EVENTS 256
/* Idle connections kept for the short requests (a descriptor each). */
#define LOOP_REQUEST_CONNECTIONS 32
/* Easy handles kept between short requests.  Only theirs: libcurl 7.88
 * frees a transfer's receive and upload buffers as it ends only when no
 * other transfer shares its connection, which over HTTP/2 is seldom, and
 * curl_easy_reset() keeps them while it restores the default sizes.  A
 * stream's 4 kB receive buffer handed on to a request would take 16 kB
 * reads (a heap overflow), and a request's 16 kB and 64 kB buffers handed
 * to a stream would stay for its session's life. */
#define LOOP_SPARE_EASY 32

/* One multi handle with its own connection cache.  libcurl 7.88 walks the
 * whole cache when it looks for a connection to reuse and again when a
 * transfer is removed, so the event streams, one long-lived connection
 * each, are kept apart from the short requests: a request then walks the
 * few connections requests use, not one per session. */
struct transfers {
	struct loop *loop;
	CURLM *multi;
	struct loop_timer *timer; /* curl's own timeout */
};

struct loop {
	struct transfers transfers[LOOP_TRANSFER_KINDS];
	loop_curl_done_cb curl_done;
	/* Easy handles given back, for the next transfers: a new one costs its
	 * allocations, buffers included, and their release. */
	CURL *spare_easy[LOOP_SPARE_EASY];
	int n_spare_easy;

	struct loop_watch *watches;   /* live */
	struct loop_watch *graveyard; /* unwatched, freed after the dispatch pass */
	struct loop_watch **by_fd;    /* the live watch of each fd */
	size_t by_fd_alloc;
	size_t n_watches;
	uint32_t watch_seq;

	struct loop_timer **heap;
	size_t n_timers;
	size_t heap_alloc;
	uint64_t timer_seq;

#ifdef HAVE_SYS_EPOLL_H
	int epfd;
	struct epoll_event events[LOOP_MAX_EVENTS];
#else
	struct pollfd *pollfds;
	struct loop_watch **polled; /* the watch behind each pollfd */
	size_t pollfds_alloc;
#endif

	struct loop_signal signals[LOOP_MAX_SIGNALS];
	int n_signals;

	int quit;
	int quit_code;
};

/* The self-pipe: written by signal handlers, read by the loop.  One per
 * process, since signal dispositions are too. */
static int signal_pipe[2] = { -1, -1 };

static int curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *clientp, void *socketp);
static int curl_close_socket(void *clientp, curl_socket_t s);
static void curl_socket_ready(void *userdata, int fd, uint32_t revents);
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *clientp);

uint64_t
loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int
set_cloexec_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	flags = fcntl(fd, F_GETFD);
	if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static void
signal_handler(int signo)
{
	int saved = errno;
	unsigned char c = (unsigned char)signo;

	/* A full pipe already wakes the loop; losing this byte is harmless
	 * only for repeated signals, so the loop re-checks children anyway. */
	(void)!write(signal_pipe[1], &c, 1);
	errno = saved;
}

static void
drain_signal_pipe(struct loop *loop)
{
	unsigned char c[64];
	ssize_t n;

	while ((n = read(signal_pipe[0], c, sizeof(c))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			for (int k = 0; k < loop->n_signals; k++) {
				if (loop->signals[k].signo == c[i])
					loop->signals[k].cb(loop->signals[k].userdata, c[i]);
			}
		}
	}
}

/* ---- the kernel's side: epoll on Linux, poll(2) elsewhere -------------- */

#ifdef HAVE_SYS_EPOLL_H

/* The event's key: the watch's id and fd, so that an event still queued
 * for a watch that went (and whose fd number a new watch took) is dropped. */
#define SIGNAL_PIPE_KEY UINT64_MAX

static uint64_t
watch_key(const struct loop_watch *w)
{
	return (uint64_t)w->id << 32 | (uint32_t)w->fd;
}

static int
backend_init(struct loop *loop)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SIGNAL_PIPE_KEY };

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, signal_pipe[0], &ev) < 0) {
		int r = -errno;

		close(loop->epfd);
		return r;
	}
	return 0;
}

static void
backend_free(struct loop *loop)
{
	close(loop->epfd);
}

/* Bring the kernel's interest in w->fd to w->events. */
static int
backend_update(struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = {
		.events = (events & LOOP_READ ? EPOLLIN : 0) | (events & LOOP_WRITE ? EPOLLOUT : 0),
		.data.u64 = watch_key(w),
	};
	int op;

	/* No events: out of the set, or epoll would still report hang-ups. */
	if (!events)
		op = w->registered ? EPOLL_CTL_DEL : -1;
	else
		op = w->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (op >= 0 && epoll_ctl(w->loop->epfd, op, w->fd, &ev) < 0) {
		/* Closed before it was unwatched: the kernel dropped it already. */
		if (op == EPOLL_CTL_DEL && errno == EBADF)
			errno = 0;
		else
			return -errno;
	}
	w->registered = events != 0;
	return 0;
}

static void dispatch(struct loop_watch *w, uint32_t revents);
static void drain_signal_pipe(struct loop *loop);

static int
backend_wait(struct loop *loop, int timeout)
{
	int n = epoll_wait(loop->epfd, loop->events, LOOP_MAX_EVENTS, timeout);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n && !loop->quit; i++) {
		const struct epoll_event *ev = &loop->events[i];
		uint64_t key = ev->data.u64;
		uint32_t fd = (uint32_t)key;
		struct loop_watch *w;
		uint32_t re = 0;

		if (key == SIGNAL_PIPE_KEY) {
			drain_signal_pipe(loop);
			continue;
		}
		w = fd < loop->by_fd_alloc ? loop->by_fd[fd] : NULL;
		if (!w || watch_key(w) != key)
			continue;
		if (ev->events & EPOLLIN)
			re |= LOOP_READ;
		if (ev->events & EPOLLOUT)
			re |= LOOP_WRITE;
		if (ev->events & EPOLLHUP)
			re |= LOOP_HUP;
		if (ev->events & EPOLLERR)
			re |= LOOP_ERROR;
		dispatch(w, re);
	}
	return 0;
}

#else /* poll(2): the portable path, the array built anew for each wait */

static int
backend_init(struct loop *loop)
{
	(void)loop;
	return 0;
}

static void
backend_free(struct loop *loop)
{
	free(loop->pollfds);
	free(loop->polled);
}

static int
backend_update(struct loop_watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	return 0;
}

static void dispatch(struct loop_watch *w, uint32_t revents);
static void drain_signal_pipe(struct loop *loop);

static int
build_pollfds(struct loop *loop)
{
	size_t n = loop->n_watches + 1;
	size_t i = 1;

	if (n > loop->pollfds_alloc) {
		struct pollfd *p = realloc(loop->pollfds, n * sizeof(*p));
		struct loop_watch **q;

		if (!p)
			return -ENOMEM;
		loop->pollfds = p;
		q = realloc(loop->polled, n * sizeof(*q));
		if (!q)
			return -ENOMEM;
		loop->polled = q;
		loop->pollfds_alloc = n;
	}
	loop->pollfds[0].fd = signal_pipe[0];
	loop->pollfds[0].events = POLLIN;
	loop->pollfds[0].revents = 0;
	for (struct loop_watch *w = loop->watches; w; w = w->next) {
		if (!w->events)
			continue;
		loop->pollfds[i].fd = w->fd;
		loop->pollfds[i].events = (short)((w->events & LOOP_READ ? POLLIN : 0) |
						  (w->events & LOOP_WRITE ? POLLOUT : 0));
		loop->pollfds[i].revents = 0;
		loop->polled[i] = w;
		i++;
	}
	return (int)i;
}

static int
backend_wait(struct loop *loop, int timeout)
{
	int n_polled = build_pollfds(loop);
	int n;

	if (n_polled < 0)
		return n_polled;
	n = poll(loop->pollfds, (nfds_t)n_polled, timeout);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 0;
	if (loop->pollfds[0].revents)
		drain_signal_pipe(loop);
	/* Watches added by callbacks are not in this array: they wait a round. */
	for (int i = 1; i < n_polled && !loop->quit; i++) {
		short re = loop->pollfds[i].revents;
		uint32_t ev = 0;

		if (!re)
			continue;
		if (re & POLLIN)
			ev |= LOOP_READ;
		if (re & POLLOUT)
			ev |= LOOP_WRITE;
		if (re & POLLHUP)
			ev |= LOOP_HUP;
		if (re & (POLLERR | POLLNVAL))
			ev |= LOOP_ERROR;
		dispatch(loop->polled[i], ev);
	}
	return 0;
}

#endif

/* ---- the loop ------------------------------------------------------------ */

struct loop *
loop_new(loop_curl_done_cb curl_done)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	if (signal_pipe[0] < 0) {
		if (pipe(signal_pipe) < 0 || set_cloexec_nonblock(signal_pipe[0]) < 0 ||
		    set_cloexec_nonblock(signal_pipe[1]) < 0) {
			free(loop);
			return NULL;
		}
	}
	if (backend_init(loop) < 0) {
		free(loop);
		return NULL;
	}
	for (int k = 0; k < LOOP_TRANSFER_KINDS; k++) {
		struct transfers *t = &loop->transfers[k];

		t->loop = loop;
		if (!(t->multi = curl_multi_init())) {
			while (k-- > 0)
				curl_multi_cleanup(loop->transfers[k].multi);
			backend_free(loop);
			free(loop);
			return NULL;
		}
		/* libcurl's default cache holds 4 connections per transfer in
		 * progress: between bursts of requests it closes the ones it
		 * opened for the burst, and the next burst connects again.  A
		 * floor keeps them. */
		if (k == LOOP_TRANSFER_REQUESTS)
			curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS,
					  (long)LOOP_REQUEST_CONNECTIONS);
		curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
		curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
		curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
		curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
	}
	loop->curl_done = curl_done;
	return loop;
}

static void
free_graveyard(struct loop *loop)
{
	while (loop->graveyard) {
		struct loop_watch *w = loop->graveyard;

		loop->graveyard = w->next;
		free(w);
	}
}

void
loop_free(struct loop *loop)
{
	if (!loop)
		return;
	/* First: the cleanup may still call the socket and timer callbacks. */
	for (int k = 0; k < LOOP_TRANSFER_KINDS; k++)
		curl_multi_cleanup(loop->transfers[k].multi);
	while (loop->n_spare_easy > 0)
		curl_easy_cleanup(loop->spare_easy[--loop->n_spare_easy]);
	while (loop->watches)
		loop_unwatch(loop->watches);
	free_graveyard(loop);
	for (size_t i = 0; i < loop->n_timers; i++)
		free(loop->heap[i]);
	for (int k = 0; k < loop->n_signals; k++)
		signal(loop->signals[k].signo, SIG_DFL);
	backend_free(loop);
	free(loop->by_fd);
	free(loop->heap);
	free(loop);
}

CURLM *
loop_multi(struct loop *loop, enum loop_transfer_kind kind)
{
	return loop->transfers[kind].multi;
}

CURL *
loop_easy_take(struct loop *loop, enum loop_transfer_kind kind)
{
	CURL *e = kind == LOOP_TRANSFER_REQUESTS && loop->n_spare_easy > 0
			  ? loop->spare_easy[--loop->n_spare_easy]
			  : curl_easy_init();

	if (e) {
		curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, curl_close_socket);
		curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, loop);
	}
	return e;
}

void
loop_easy_give(struct loop *loop, enum loop_transfer_kind kind, CURL *easy)
{
	if (!easy)
		return;
	if (kind != LOOP_TRANSFER_REQUESTS || loop->n_spare_easy == LOOP_SPARE_EASY) {
		curl_easy_cleanup(easy);
		return;
	}
	curl_easy_reset(easy);
	loop->spare_easy[loop->n_spare_easy++] = easy;
}

static int
reserve_fd_slot(struct loop *loop, int fd)
{
	size_t alloc = loop->by_fd_alloc ? loop->by_fd_alloc : 64;
	struct loop_watch **p;

	if ((size_t)fd < loop->by_fd_alloc)
		return 0;
	while (alloc <= (size_t)fd)
		alloc *= 2;
	p = realloc(loop->by_fd, alloc * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + loop->by_fd_alloc, 0, (alloc - loop->by_fd_alloc) * sizeof(*p));
	loop->by_fd = p;
	loop->by_fd_alloc = alloc;
	return 0;
}

int
loop_watch_fd(struct loop *loop, int fd, uint32_t events, loop_fd_cb cb, void *userdata,
	      struct loop_watch **ret_watch)
{
	struct loop_watch *w;
	int r;

	if (fd < 0 || !cb)
		return -EINVAL;
	r = reserve_fd_slot(loop, fd);
	if (r < 0)
		return r;
	/* A parked socket closed without word from curl: its number is free. */
	if (loop->by_fd[fd] && loop->by_fd[fd]->parked)
		loop_unwatch(loop->by_fd[fd]);
	if (loop->by_fd[fd])
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->loop = loop;
	w->fd = fd;
	w->cb = cb;
	w->userdata = userdata;
	w->id = ++loop->watch_seq;
	r = backend_update(w, events);
	if (r < 0) {
		free(w);
		return r;
	}
	w->events = events;
	w->next = loop->watches;
	if (w->next)
		w->next->prev = w;
	loop->watches = w;
	loop->by_fd[fd] = w;
	loop->n_watches++;
	if (ret_watch)
		*ret_watch = w;
	return 0;
}

int
loop_watch_set_events(struct loop_watch *watch, uint32_t events)
{
	int r;

	if (watch->dead || watch->events == events)
		return 0;
	r = backend_update(watch, events);
	if (r < 0)
		return r;
	watch->events = events;
	return 0;
}

void
loop_unwatch(struct loop_watch *watch)
{
	struct loop *loop;

	if (!watch || watch->dead)
		return;
	loop = watch->loop;
	(void)backend_update(watch, 0);
	watch->dead = 1;
	loop->by_fd[watch->fd] = NULL;
	if (watch->prev)
		watch->prev->next = watch->next;
	else
		loop->watches = watch->next;
	if (watch->next)
		watch->next->prev = watch->prev;
	loop->n_watches--;
	/* Freed after the current dispatch pass, which may still hold it. */
	watch->prev = NULL;
	watch->next = loop->graveyard;
	loop->graveyard = watch;
}

static void
dispatch(struct loop_watch *w, uint32_t revents)
{
	/* Unwatched by an earlier callback of the same pass. */
	if (w->dead)
		return;
	w->cb(w->userdata, w->fd, revents);
}

/* Timer heap, ordered by (due, seq). */
static int
timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->index = i;
}

static void
heap_up(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(t, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void
heap_down(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= loop->n_timers)
			break;
		if (child + 1 < loop->n_timers &&
		    timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!timer_before(loop->heap[child], t))
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, t);
}

static void
heap_remove(struct loop *loop, struct loop_timer *t)
{
	size_t i = t->index;
	struct loop_timer *last = loop->heap[--loop->n_timers];

	if (last == t)
		return;
	heap_set(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->index);
}

int
loop_add_timer(struct loop *loop, uint64_t delay_ms, loop_timer_cb cb, void *userdata,
	       struct loop_timer **ret_timer)
{
	struct loop_timer *t;

	if (!cb)
		return -EINVAL;
	if (loop->n_timers == loop->heap_alloc) {
		size_t alloc = loop->heap_alloc ? loop->heap_alloc * 2 : 16;
		struct loop_timer **p = realloc(loop->heap, alloc * sizeof(*p));

		if (!p)
			return -ENOMEM;
		loop->heap = p;
		loop->heap_alloc = alloc;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->loop = loop;
	t->due = loop_now_ms() + delay_ms;
	t->seq = loop->timer_seq++;
	t->cb = cb;
	t->userdata = userdata;
	loop->heap[loop->n_timers] = t;
	t->index = loop->n_timers++;
	heap_up(loop, t->index);
	if (ret_timer)
		*ret_timer = t;
	return 0;
}

void
loop_cancel_timer(struct loop_timer *timer)
{
	if (!timer)
		return;
	heap_remove(timer->loop, timer);
	free(timer);
}

static void
run_due_timers(struct loop *loop)
{
	uint64_t now = loop_now_ms();

	/* Only timers already due when the pass began: a callback that re-arms
	 * with delay 0 runs on the next iteration, not in a busy loop here. */
	while (loop->n_timers > 0 && loop->heap[0]->due <= now && !loop->quit) {
		struct loop_timer *t = loop->heap[0];
		loop_timer_cb cb = t->cb;
		void *userdata = t->userdata;

		heap_remove(loop, t);
		free(t);
		cb(userdata);
	}
}

int
loop_on_signal(struct loop *loop, int signo, loop_signal_cb cb, void *userdata)
{
	struct sigaction sa;

	if (loop->n_signals == LOOP_MAX_SIGNALS || signo <= 0 || signo > 255)
		return -EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = signal_handler;
	sa.sa_flags = SA_RESTART | (signo == SIGCHLD ? SA_NOCLDSTOP : 0);
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) < 0)
		return -errno;
	loop->signals[loop->n_signals].signo = signo;
	loop->signals[loop->n_signals].cb = cb;
	loop->signals[loop->n_signals].userdata = userdata;
	loop->n_signals++;
	return 0;
}

void
loop_quit(struct loop *loop, int code)
{
	loop->quit = 1;
	loop->quit_code = code;
}

static void
drain_curl_messages(struct transfers *t)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(t->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* The message dies with the handle's removal: copy first. */
		CURL *easy = msg->easy_handle;
		CURLcode result = msg->data.result;

		curl_multi_remove_handle(t->multi, easy);
		t->loop->curl_done(easy, result);
	}
}

static void
curl_socket_ready(void *userdata, int fd, uint32_t revents)
{
	struct transfers *t = userdata;
	struct loop_watch *w = t->loop->by_fd[fd];
	int mask = 0;
	int running;

	/* An idle connection that the server closed, say: out of the interest
	 * set until curl takes it up again, or the level-triggered wait would
	 * report it at every turn.  curl finds out when it next tries it. */
	if (w->parked) {
		(void)loop_watch_set_events(w, 0);
		return;
	}
	if (revents & (LOOP_READ | LOOP_HUP))
		mask |= CURL_CSELECT_IN;
	if (revents & LOOP_WRITE)
		mask |= CURL_CSELECT_OUT;
	if (revents & LOOP_ERROR)
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(t->multi, fd, mask, &running);
	drain_curl_messages(t);
}

/* The watch of curl socket `s` that curl let go of, if it is one of t's. */
static struct loop_watch *
parked_watch(struct transfers *t, curl_socket_t s)
{
	struct loop_watch *w = (size_t)s < t->loop->by_fd_alloc ? t->loop->by_fd[s] : NULL;

	return w && w->parked && w->cb == curl_socket_ready && w->userdata == t ? w : NULL;
}

/* CURLMOPT_SOCKETFUNCTION: curl says which sockets it waits on.
 *
 * When a transfer ends, curl lets go of its connection's socket and takes
 * it up again for the next transfer on that connection.  Taking it out of
 * the kernel's interest set and putting it back cost two system calls a
 * request, a tenth of a tool call's, so the watch is parked instead: it
 * stays in the set until it turns ready while parked (curl_socket_ready)
 * or curl closes the socket (curl_close_socket). */
static int
curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *clientp, void *socketp)
{
	struct transfers *t = clientp;
	struct loop_watch *w = socketp;
	uint32_t events = (what == CURL_POLL_IN || what == CURL_POLL_INOUT ? LOOP_READ : 0) |
			  (what == CURL_POLL_OUT || what == CURL_POLL_INOUT ? LOOP_WRITE : 0);

	if (what == CURL_POLL_REMOVE) {
		if (w)
			w->parked = 1;
		curl_multi_assign(t->multi, s, NULL);
		return 0;
	}
	if (!w && (w = parked_watch(t, s))) {
		w->parked = 0;
		curl_multi_assign(t->multi, s, w);
	}
	if (w)
		return loop_watch_set_events(w, events) < 0 ? -1 : 0;
	if (loop_watch_fd(t->loop, (int)s, events, curl_socket_ready, t, &w) < 0)
		return -1;
	curl_multi_assign(t->multi, s, w);
	return 0;
}

/* CURLOPT_CLOSESOCKETFUNCTION: a socket's watch ends before its number
 * can be reused (curl has let go of the socket by then). */
static int
curl_close_socket(void *clientp, curl_socket_t s)
{
	struct loop *loop = clientp;
	struct loop_watch *w = (size_t)s < loop->by_fd_alloc ? loop->by_fd[s] : NULL;

	if (w && w->parked)
		loop_unwatch(w);
	return close(s);
}

static void
curl_timer_fired(void *userdata)
{
	struct transfers *t = userdata;
	int running;

	t->timer = NULL;
	curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain_curl_messages(t);
}

/* CURLMOPT_TIMERFUNCTION: curl wants to be called back after timeout_ms. */
static int
curl_timer_cb(CURLM *multi, long timeout_ms, void *clientp)
{
	struct transfers *t = clientp;

	loop_cancel_timer(t->timer);
	t->timer = NULL;
	if (timeout_ms < 0)
		return 0;
	return loop_add_timer(t->loop, (uint64_t)timeout_ms, curl_timer_fired, t, &t->timer) < 0
		       ? -1
		       : 0;
}

int
loop_run(struct loop *loop)
{
	loop->quit = 0;
	while (!loop->quit) {
		int timeout = 60000;
		int r;

		if (loop->n_timers > 0) {
			uint64_t now = loop_now_ms();
			uint64_t due = loop->heap[0]->due;

			timeout = due <= now ? 0 : due - now > 60000 ? 60000 : (int)(due - now);
		}
		r = backend_wait(loop, timeout);
		free_graveyard(loop);
		if (r < 0)
			return r;
		run_due_timers(loop);
	}
	return loop->quit_code;
}
