/* SPDX-License-Identifier: MIT */
/*
 * The lease on a claimed work item, kept as the SDK's worker keeps it
 * (docs/protocol.md §6): the first heartbeat, with
 * expected_last_heartbeat=NO_HEARTBEAT, claims the item, and nothing of the
 * session is read before it succeeded; then a beat is due min(ttl/2, 30 s)
 * after the last good one was sent, echoing the server's last_heartbeat.
 * A failed beat is retried with backoff until the retry would pass the
 * last good beat's send time plus the TTL.  The lease ends when a beat
 * answers lease_extended: false (the stop signal), and is lost on a 412,
 * on any other refusal (a 4xx but 408, 409, 429), or when no beat
 * succeeded in time.
 */
#ifndef ER_LEASE_H
#define ER_LEASE_H

#include "api.h"
#include "log.h"
#include "loop.h"

enum lease_end {
	LEASE_END_NOT_EXTENDED, /* lease_extended: false: stop the item */
	LEASE_END_LOST,		/* 412: another worker or the queue has it */
	LEASE_END_ASSUMED_LOST, /* no beat succeeded in time */
	LEASE_END_REJECTED,	/* another 4xx: the item is not ours to stop */
};

struct lease_callbacks {
	/* The first beat succeeded: the item is ours to serve. */
	void (*claimed)(void *userdata);
	/* Once; `first` when no beat had succeeded yet. */
	void (*ended)(void *userdata, enum lease_end why, int first);
	/* The server's TTL changed (the send-retry window follows it). */
	void (*ttl_changed)(void *userdata, long ttl_ms);
	/* A beat succeeded: `last` is what the next one echoes; the TTL runs
	 * from the beat's send, `ago_ms` before now (may be NULL). */
	void (*beaten)(void *userdata, const char *last, long ttl_ms, uint64_t ago_ms);
};

/* A lease this worker held before it restarted (journal.h). */
struct lease_resume {
	const char *last_heartbeat; /* what the last good beat answered */
	long remaining_ms;	    /* until its TTL runs out */
};

struct lease;

/* Send the first beat at once: the claim, or with `resume` the beat that
 * takes the lease back after a restart.  Strings are copied; `token` is
 * the item's credential and is never logged. */
struct lease *
lease_start(struct loop *loop, struct api *api, const char *environment_id, const char *work_id,
	    const char *token, const struct lease_resume *resume, const struct log_ctx *ctx,
	    const struct lease_callbacks *cb, void *userdata);
/* Stop beating.  Accepts NULL. */
void lease_free(struct lease *lease);
/* Whether the lease ended in a way that means the item is not ours. */
int lease_end_is_lost(enum lease_end why);
const char *lease_end_to_string(enum lease_end why);
long lease_ttl_ms(const struct lease *lease);

#endif
