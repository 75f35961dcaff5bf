/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "diskuse.h"
#include "offload.h"
#include "sessiondir.h"

/* One measurement, made on a thread (offload.h). */
struct measure {
	char *dir;
	uint64_t used;
	int err;
};

struct diskuse {
	struct loop *loop;
	char *dir;
	uint64_t limit;
	diskuse_over_cb over;
	void *userdata;
	struct loop_timer *timer;
	struct offload *running;
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
measure_free(void *arg)
{
	struct measure *m = arg;

	free(m->dir);
	free(m);
}

static void
measure(void *arg)
{
	struct measure *m = arg;

	m->err = diskuse_measure(m->dir, &m->used);
}

static void start_measure(void *userdata);

static void
measured(void *userdata, void *arg)
{
	struct diskuse *d = userdata;
	struct measure *m = arg;
	uint64_t used = m->used;

	d->running = NULL;
	if (m->err == 0 && used > d->limit && !d->fired) {
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

	d->timer = NULL;
	if (!m || !(m->dir = strdup(d->dir)) ||
	    offload_run(d->loop, measure, measured, measure_free, m, d, &d->running) < 0) {
		if (m)
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
	offload_cancel(d->running);
	free(d->dir);
	free(d);
}
