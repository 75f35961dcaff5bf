/* SPDX-License-Identifier: MIT */
/*
 * The status listener's answers: /healthz and /readyz (JSON), /metrics
 * (Prometheus text, with the work queue's figures read on scrape at most
 * every 5 s).  health.c serves them; the runner tells what they show
 * through a view it fills on each request.
 */
#ifndef ER_STATUS_H
#define ER_STATUS_H

#include <stdint.h>

#include "runtime.h"

/* The runner's state as the answers show it. */
struct status_view {
	int draining;
	int retiring;		    /* --max-sessions reached or unused: no more claims */
	int disk_low;		    /* under --min-free-disk-mb */
	int poll_expected;	    /* room for a claim: readiness needs a recent poll */
	uint64_t capacity_freed_ms; /* when a session last ended */
	int active_sessions;
	const char *sandbox_why; /* why the sandbox is not the one asked for, or empty */
};

/* Why the runner is not ready (/readyz), or NULL: ready when not
 * draining or retiring, disk above the floor, and either no poll is
 * expected or one succeeded within `poll_age_ms` of `now_ms`, counted from
 * the later of that poll (`last_poll_ok_ms`, 0 for none) and the last
 * freed capacity. */
const char *status_not_ready_reason(const struct status_view *v, uint64_t last_poll_ok_ms,
				    uint64_t poll_age_ms, uint64_t now_ms);

typedef void (*status_view_cb)(void *userdata, struct status_view *view);

struct status;

/* Start the listener that --health-port asks for (none for port 0, or
 * when the default port is taken): 0 with *ret set (NULL without a
 * listener), or a sysexits code after logging why.  `queue_figures`: read
 * the work queue's figures for /metrics. */
int status_start(struct runtime *rt, int queue_figures, status_view_cb view, void *userdata,
		 struct status **ret);
/* Close the listener and cancel a pending read of the figures.  Accepts
 * NULL. */
void status_free(struct status *st);

#endif
