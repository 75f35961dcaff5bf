/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "diskuse.h"
#include "sessiondir.h"

/* One measurement on its own thread.  Whichever of the thread (done) and
 * the watcher (gone) sets `claimed` second frees it. */
struct measure {
	char *dir;
	uint64_t used;
	int err;
	int pipe[2];
	int claimed;
};

struct diskuse {
	struct loop *loop;
	char *dir;
	uint64_t limit;
	diskuse_over_cb over;
	void *userdata;
	struct loop_timer *timer;
	struct measure *running;
	struct loop_watch *watch;
	int fired;
};

/* nftw() takes no context: each thread counts into its own. */
static _Thread_local uint64_t walk_bytes;

static int
add_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	walk_bytes += (uint64_t)st->st_blocks * 512u;
	return 0;
}

static int
walk(const char *dir)
{
	/* Entries that vanish meanwhile are simply not counted. */
	if (nftw(dir, add_entry, 16, FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int
diskuse_measure(const char *dir, uint64_t *ret)
{
	struct buf tmp = BUF_INIT(8192);
	int r = buf_printf(&tmp, "%s%s", dir, SESSIONDIR_TMP_SUFFIX);

	walk_bytes = 0;
	if (r == 0)
		r = walk(dir);
	if (r == 0)
		r = walk(tmp.data);
	buf_release(&tmp);
	*ret = walk_bytes;
	return r;
}

static void
measure_free(struct measure *m)
{
	free(m->dir);
	free(m);
}

static void *
measure_thread(void *arg)
{
	struct measure *m = arg;
	int wfd = m->pipe[1];

	m->err = diskuse_measure(m->dir, &m->used);
	if (__atomic_exchange_n(&m->claimed, 1, __ATOMIC_ACQ_REL))
		measure_free(m); /* nobody waits for it any more */
	else
		(void)!write(wfd, "x", 1);
	close(wfd);
	return NULL;
}

static void start_measure(void *userdata);

static void
measured(void *userdata, int fd, uint32_t revents)
{
	struct diskuse *d = userdata;
	struct measure *m = d->running;
	uint64_t used = m->used;
	int over = m->err == 0 && used > d->limit;

	(void)fd;
	(void)revents;
	loop_unwatch(d->watch);
	d->watch = NULL;
	d->running = NULL;
	close(m->pipe[0]);
	measure_free(m);
	if (over && !d->fired) {
		d->fired = 1;
		d->over(d->userdata, used);
		return; /* `d` may be gone */
	}
	loop_add_timer(d->loop, DISKUSE_INTERVAL_MS, start_measure, d, &d->timer);
}

static void
start_measure(void *userdata)
{
	struct diskuse *d = userdata;
	struct measure *m = calloc(1, sizeof(*m));
	pthread_attr_t attr;
	pthread_t t;
	int ok;

	d->timer = NULL;
	if (!m || !(m->dir = strdup(d->dir)) || pipe(m->pipe) < 0) {
		if (m)
			free(m->dir);
		free(m);
		loop_add_timer(d->loop, DISKUSE_INTERVAL_MS, start_measure, d, &d->timer);
		return;
	}
	fcntl(m->pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(m->pipe[1], F_SETFD, FD_CLOEXEC);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ok = pthread_create(&t, &attr, measure_thread, m) == 0;
	pthread_attr_destroy(&attr);
	if (!ok) {
		close(m->pipe[0]);
		close(m->pipe[1]);
		measure_free(m);
		loop_add_timer(d->loop, DISKUSE_INTERVAL_MS, start_measure, d, &d->timer);
		return;
	}
	d->running = m;
	if (loop_watch_fd(d->loop, m->pipe[0], LOOP_READ, measured, d, &d->watch) < 0) {
		/* The thread frees it: nobody will read its answer. */
		close(m->pipe[0]);
		d->running = NULL;
		if (__atomic_exchange_n(&m->claimed, 1, __ATOMIC_ACQ_REL))
			measure_free(m);
		loop_add_timer(d->loop, DISKUSE_INTERVAL_MS, start_measure, d, &d->timer);
	}
}

struct diskuse *
diskuse_watch(struct loop *loop, const char *dir, uint64_t limit, diskuse_over_cb over,
	      void *userdata)
{
	struct diskuse *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->loop = loop;
	d->limit = limit;
	d->over = over;
	d->userdata = userdata;
	d->dir = strdup(dir);
	if (!d->dir || loop_add_timer(loop, DISKUSE_INTERVAL_MS, start_measure, d, &d->timer) < 0) {
		free(d->dir);
		free(d);
		return NULL;
	}
	return d;
}

void
diskuse_free(struct diskuse *d)
{
	if (!d)
		return;
	loop_cancel_timer(d->timer);
	if (d->running) {
		loop_unwatch(d->watch);
		close(d->running->pipe[0]);
		if (__atomic_exchange_n(&d->running->claimed, 1, __ATOMIC_ACQ_REL))
			measure_free(d->running);
	}
	free(d->dir);
	free(d);
}
