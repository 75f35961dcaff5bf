/* SPDX-License-Identifier: MIT */
/*
 * Taking back, at start, the items this worker served before it restarted
 * (README.md, "Upgrading and restarting"): each record in the worker's
 * state directory (statedir.h, journal.h) that names this API, environment
 * and worker, and whose lease has not run out, is handed on to be served
 * again.  A record whose lease ran out is removed: the control plane queues
 * its item again.  An unreadable one is set aside as NAME.unreadable.
 */
#ifndef ER_RESUME_H
#define ER_RESUME_H

#include "journal.h"
#include "loop.h"
#include "statedir.h"

/* `start` takes each record to resume (and owns it).  Returns how many
 * were handed on. */
int resume_items(struct loop *loop, const struct statedir *sd, const struct journal_origin *origin,
		 void (*start)(void *userdata, struct journal_item *ji), void *userdata);
/* Whether every record can be read by this build: 0, or -EINVAL with the
 * first unreadable one and why in `err` (an upgrade's check). */
int resume_check(const struct statedir *sd, char *err, size_t errlen);

#endif
