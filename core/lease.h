/* SPDX-License-Identifier: MIT */
/*
 * The lease on a claimed work item, kept alive by heartbeats exactly as the
 * SDK's worker does (protocol.md 6.2): the first beat at once with
 * expected_last_heartbeat=NO_HEARTBEAT, then every min(ttl/2, 30 s) (at
 * least 1 s) echoing the server's last_heartbeat.  The lease ends when the
 * server says stopping/stopped or does not extend it, when a 412 says
 * someone else holds it, when a beat is refused with another 4xx, or when
 * no beat succeeded for a whole TTL.
 */
#ifndef ER_LEASE_H
#define ER_LEASE_H

#include "api.h"
#include "log.h"
#include "loop.h"

enum lease_end {
	LEASE_END_STOPPING,       /* the server asked the item to stop */
	LEASE_END_NOT_EXTENDED,   /* lease_extended: false */
	LEASE_END_LOST,           /* 412: another worker or the queue has it */
	LEASE_END_ASSUMED_LOST,   /* no successful beat within the TTL */
	LEASE_END_REJECTED,       /* another 4xx */
};

struct lease_callbacks {
	void (*ended)(void *userdata, enum lease_end why);
	/* The server's TTL changed (the send-retry window follows it). */
	void (*ttl_changed)(void *userdata, long ttl_ms);
};

struct lease;

/* Start beating at once.  Strings are copied; `token` is the item's
 * credential and is never logged. */
struct lease *lease_start(struct loop *loop, struct api *api, const char *environment_id,
			  const char *work_id, const char *token, const struct log_ctx *ctx,
			  const struct lease_callbacks *cb, void *userdata);
/* Stop beating.  Accepts NULL. */
void lease_free(struct lease *lease);
/* Whether the lease ended in a way that means the item is not ours. */
int lease_end_is_lost(enum lease_end why);
const char *lease_end_to_string(enum lease_end why);
long lease_ttl_ms(const struct lease *lease);
long lease_interval_ms(const struct lease *lease);

#endif
