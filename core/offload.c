/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "offload.h"

/* Whichever of the thread (finished) and the loop (done or cancelled) sets
 * `claimed` second frees it. */
struct offload {
	struct offload *next; /* in the queue */
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

/* The threads stay for the next job a while: the records' syncing runs a
 * job every few milliseconds at a thousand sessions, and a thread, a stack
 * and their teardown each time cost the loop's process more than the jobs
 * themselves. */
#define IDLE_THREAD_SEC 30

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct offload *queue;
	struct offload **tail;
	unsigned queued;
	unsigned idle; /* threads waiting for a job */
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, &pool.queue, 0, 0 };

/* Tell the loop that `o` is done. */
static void
notify(struct offload *o)
{
	int wfd = o->pipe[1];

	/* The write end is closed before the release: once released, the
	 * loop side may free `o`, and the reader sees EOF either way. */
	(void)!write(wfd, "x", 1);
	close(wfd);
	release(o);
}

/* The next job, or NULL once none came for IDLE_THREAD_SEC.  Locked, the
 * caller counted in `idle`. */
static struct offload *
next_job(void)
{
	struct timespec until;
	struct offload *o;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += IDLE_THREAD_SEC;
	while (!pool.queue) {
		if (pthread_cond_timedwait(&pool.wake, &pool.lock, &until) == ETIMEDOUT &&
		    !pool.queue) {
			pool.idle--;
			return NULL;
		}
	}
	o = pool.queue;
	if (!(pool.queue = o->next))
		pool.tail = &pool.queue;
	pool.queued--;
	pool.idle--;
	return o;
}

static void *
offload_thread(void *userdata)
{
	struct offload *o = userdata;

	while (o) {
		o->work(o->arg);
		/* Idle before the loop hears of it: a job that the completion
		 * starts then comes to this thread. */
		pthread_mutex_lock(&pool.lock);
		pool.idle++;
		pthread_mutex_unlock(&pool.lock);
		notify(o);
		pthread_mutex_lock(&pool.lock);
		o = next_job();
		pthread_mutex_unlock(&pool.lock);
	}
	return NULL;
}

/* To a waiting thread, or to a new one: a job never waits behind another
 * (a long walk of a session's tree must not hold a sync back). */
static int
dispatch_job(struct offload *o)
{
	pthread_attr_t attr;
	pthread_t t;
	int r = 0;

	pthread_mutex_lock(&pool.lock);
	if (pool.idle > pool.queued) {
		*pool.tail = o;
		pool.tail = &o->next;
		pool.queued++;
		pthread_cond_signal(&pool.wake);
	} else {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = -pthread_create(&t, &attr, offload_thread, o);
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_unlock(&pool.lock);
	return r;
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
	/* Set first: from the dispatch on, the thread may free `arg` with `o`. */
	o->free_arg = free_arg;
	r = dispatch_job(o);
	if (r < 0) {
		loop_unwatch(o->watch);
		goto fail;
	}
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
