/* SPDX-License-Identifier: MIT */
/*
 * The runner's single event loop: libcurl's multi handles (through their
 * socket and timer callbacks), the fds of child pipes and other watches, a timer
 * heap and signals, all served from one epoll instance on Linux, whose
 * interest set changes only when a watch does, so an iteration costs what
 * is ready, not what is watched; elsewhere (and with --disable-linux-extras)
 * from one poll(2) over every watch.  Not curl_multi_poll(): it drops
 * POLLHUP on extra fds, so a child's closed pipe would spin the loop.
 * Signals arrive through a self-pipe, which works the same on Linux and
 * macOS.
 *
 * Callbacks may add or remove watches and timers (their own included) at any
 * time; removal takes effect at once: a removed watch or cancelled timer is
 * never called again.  A watch must be removed before its fd is closed.
 */
#ifndef ER_LOOP_H
#define ER_LOOP_H

#include <stdint.h>

#include <curl/curl.h>

struct loop;
struct loop_watch;
struct loop_timer;

#define LOOP_READ 1u
#define LOOP_WRITE 2u
#define LOOP_HUP 4u
#define LOOP_ERROR 8u

typedef void (*loop_fd_cb)(void *userdata, int fd, uint32_t revents);
typedef void (*loop_timer_cb)(void *userdata);
typedef void (*loop_signal_cb)(void *userdata, int signo);
/* A transfer added to the multi handle finished. */
typedef void (*loop_curl_done_cb)(CURL *easy, CURLcode result);

/* Transfers of each kind share a multi handle and its connections. */
enum loop_transfer_kind {
	LOOP_TRANSFER_REQUESTS, /* short requests, which reuse a few connections */
	LOOP_TRANSFER_STREAMS,	/* event streams, which hold a connection each for a
				 * session's life */
	LOOP_TRANSFER_KINDS,
};

struct loop *loop_new(loop_curl_done_cb curl_done);
void loop_free(struct loop *loop);
CURLM *loop_multi(struct loop *loop, enum loop_transfer_kind kind);
/* An easy handle for a transfer of `kind`: for a short request, one that
 * a finished request gave back (reset to libcurl's defaults) when there is
 * one; for a stream, a new one.  NULL when out of memory. */
CURL *loop_easy_take(struct loop *loop, enum loop_transfer_kind kind);
/* Done with `easy` of `kind`, which no multi handle holds any more: a
 * short request's is kept for a later one, a stream's cleaned up. */
void loop_easy_give(struct loop *loop, enum loop_transfer_kind kind, CURL *easy);

/* Monotonic clock in milliseconds. */
uint64_t loop_now_ms(void);

/* One watch an fd (-EEXIST for a second); epoll refuses regular files
 * (-EPERM), which poll(2) would report ready at every wait. */
int loop_watch_fd(struct loop *loop, int fd, uint32_t events, loop_fd_cb cb, void *userdata,
		  struct loop_watch **ret_watch);
int loop_watch_set_events(struct loop_watch *watch, uint32_t events);
/* Accepts NULL. */
void loop_unwatch(struct loop_watch *watch);

int loop_add_timer(struct loop *loop, uint64_t delay_ms, loop_timer_cb cb, void *userdata,
		   struct loop_timer **ret_timer);
/* Accepts NULL. */
void loop_cancel_timer(struct loop_timer *timer);

/* Deliver `signo` to `cb` on the loop (SIGTERM, SIGINT, SIGHUP, SIGCHLD). */
int loop_on_signal(struct loop *loop, int signo, loop_signal_cb cb, void *userdata);

/* Run until loop_quit(); returns its code. */
int loop_run(struct loop *loop);
void loop_quit(struct loop *loop, int code);

#endif
