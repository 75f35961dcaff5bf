/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "resume.h"

struct resume_walk {
	struct loop *loop;
	const struct journal_origin *origin;
	void (*start)(void *userdata, struct journal_item *ji);
	void *userdata;
	int started;
	/* resume_check */
	char *err;
	size_t errlen;
	int bad;
};

static void
set_aside(const char *path, const char *why)
{
	struct buf aside = BUF_INIT(8192);

	if (buf_printf(&aside, "%s.unreadable", path) == 0 && rename(path, aside.data) == 0)
		log_error("resume", "cannot read the item record '%s' (%s): set aside as '%s'",
			  path, why, aside.data);
	else
		log_error("resume", "cannot read the item record '%s' (%s)", path, why);
	buf_release(&aside);
}

static void
resume_one(void *userdata, const char *path)
{
	struct resume_walk *w = userdata;
	struct journal_item *ji;
	char err[256];
	int64_t left;

	if (journal_item_load(w->loop, path, &ji, err, sizeof(err)) < 0) {
		set_aside(path, err);
		return;
	}
	if (!journal_item_matches(ji, w->origin)) {
		log_warning("resume",
			    "item %s was claimed from another API or environment than this "
			    "runner serves: its record '%s' is removed",
			    journal_item_work_id(ji), path);
		journal_item_remove(ji);
		return;
	}
	left = journal_item_lease_until(ji) - journal_now_ms();
	if (journal_item_last_heartbeat(ji) && left <= 0) {
		log_warning("resume",
			    "item %s: its lease ran out %lld s ago, while no runner served it; not "
			    "taken back (the control plane queues it again)",
			    journal_item_work_id(ji), (long long)(-left / 1000));
		journal_item_remove(ji);
		return;
	}
	log_info("resume", "taking back item %s (%lld s left on its lease)",
		 journal_item_work_id(ji), (long long)(left > 0 ? left / 1000 : 0));
	w->started++;
	w->start(w->userdata, ji);
}

int
resume_items(struct loop *loop, const struct statedir *sd, const struct journal_origin *origin,
	     void (*start)(void *userdata, struct journal_item *ji), void *userdata)
{
	struct resume_walk w = { loop, origin, start, userdata, 0, NULL, 0, 0 };
	int r = statedir_each_record(sd, 1, resume_one, &w);

	if (r < 0)
		log_error("resume", "cannot read the item records in '%s': %s", sd->items_dir,
			  strerror(-r));
	return w.started;
}

static void
check_one(void *userdata, const char *path)
{
	struct resume_walk *w = userdata;
	struct journal_item *ji;
	char err[256];

	if (w->bad)
		return;
	if (journal_item_load(NULL, path, &ji, err, sizeof(err)) < 0) {
		snprintf(w->err, w->errlen, "'%s': %s", path, err);
		w->bad = 1;
		return;
	}
	journal_item_free(ji);
}

int
resume_check(const struct statedir *sd, char *err, size_t errlen)
{
	struct resume_walk w = { NULL, NULL, NULL, NULL, 0, err, errlen, 0 };
	int r = statedir_each_record(sd, 0, check_one, &w);

	if (r < 0) {
		snprintf(err, errlen, "cannot read '%s': %s", sd->items_dir, strerror(-r));
		return r;
	}
	return w.bad ? -EINVAL : 0;
}
