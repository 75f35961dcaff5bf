/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "offload.h"

/* Whichever of the thread (finished) and the loop (done or cancelled) sets
 * `claimed` second frees it. */
struct offload {
	offload_work_fn work;
	offload_done_fn done;
	void (*free_arg)(void *arg);
	void *arg;
	void *userdata;
	int pipe[2];
	struct loop_watch *watch;
	int claimed;
};

static void
offload_free(struct offload *o)
{
	if (o->free_arg)
		o->free_arg(o->arg);
	free(o);
}

static void
release(struct offload *o)
{
	if (__atomic_exchange_n(&o->claimed, 1, __ATOMIC_ACQ_REL))
		offload_free(o);
}

static void *
offload_thread(void *userdata)
{
	struct offload *o = userdata;
	int wfd = o->pipe[1];

	o->work(o->arg);
	/* The write end is closed before the release: once released, the
	 * loop side may free `o`, and the reader sees EOF either way. */
	(void)!write(wfd, "x", 1);
	close(wfd);
	release(o);
	return NULL;
}

static void
finished(void *userdata, int fd, uint32_t revents)
{
	struct offload *o = userdata;

	(void)fd;
	(void)revents;
	loop_unwatch(o->watch);
	close(o->pipe[0]);
	o->done(o->userdata, o->arg);
	release(o);
}

int
offload_run(struct loop *loop, offload_work_fn work, offload_done_fn done,
	    void (*free_arg)(void *arg), void *arg, void *userdata, struct offload **ret)
{
	struct offload *o = calloc(1, sizeof(*o));
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (!o)
		return -ENOMEM;
	o->work = work;
	o->done = done;
	o->arg = arg;
	o->userdata = userdata;
	if (pipe(o->pipe) < 0) {
		r = -errno;
		free(o);
		return r;
	}
	fcntl(o->pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(o->pipe[1], F_SETFD, FD_CLOEXEC);
	r = loop_watch_fd(loop, o->pipe[0], LOOP_READ, finished, o, &o->watch);
	if (r < 0)
		goto fail;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(&t, &attr, offload_thread, o);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		loop_unwatch(o->watch);
		goto fail;
	}
	/* From here on the thread may free `arg` together with `o`. */
	o->free_arg = free_arg;
	*ret = o;
	return 0;
fail:
	close(o->pipe[0]);
	close(o->pipe[1]);
	free(o);
	return r;
}

void
offload_cancel(struct offload *o)
{
	if (!o)
		return;
	loop_unwatch(o->watch);
	close(o->pipe[0]);
	release(o);
}
