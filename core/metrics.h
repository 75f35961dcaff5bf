/* SPDX-License-Identifier: MIT */
/*
 * The runner's counters, gauges and histograms, in one struct that every
 * module bumps with one line (`metrics.polls++`), rendered in the
 * Prometheus text format (version 0.0.4) for GET /metrics.
 *
 * Labels carry only fixed vocabularies (an error kind, a tool name from a
 * known list or "other", an outcome, a watchdog name): never an id, a
 * path, a token or anything a session wrote.
 */
#ifndef ER_METRICS_H
#define ER_METRICS_H

#include <stdint.h>

#include "buf.h"

enum metrics_poll_error {
	METRICS_POLL_TRANSPORT, /* no HTTP answer */
	METRICS_POLL_SERVER,	/* 5xx */
	METRICS_POLL_THROTTLED, /* 429 */
	METRICS_POLL_REJECTED,	/* a fatal 4xx (401, 403, 404...) */
	METRICS_POLL_OTHER,	/* 408, 409, a bad answer */
	METRICS_POLL_ERROR_KINDS,
};

enum metrics_tool_outcome {
	METRICS_TOOL_OK,
	METRICS_TOOL_ERROR,
	METRICS_TOOL_TIMEOUT,
	METRICS_TOOL_CANCELLED,
	METRICS_TOOL_OUTCOMES,
};

enum metrics_watchdog {
	METRICS_WATCHDOG_STARTUP,
	METRICS_WATCHDOG_IDLE,
	METRICS_WATCHDOG_MAX_RUNTIME,
	METRICS_WATCHDOGS,
};

enum metrics_hook {
	METRICS_HOOK_PRE_SESSION,
	METRICS_HOOK_POST_SESSION,
	METRICS_HOOKS,
};

enum metrics_hook_outcome {
	METRICS_HOOK_OK,
	METRICS_HOOK_FAILED,
	METRICS_HOOK_TIMEOUT,
	METRICS_HOOK_OUTCOMES,
};

/* Tool names that get their own label value; anything else is "other". */
#define METRICS_TOOLS 8
#define METRICS_BUCKETS 12

struct metrics {
	/* Poller. */
	uint64_t polls;
	uint64_t poll_errors[METRICS_POLL_ERROR_KINDS];
	uint64_t polls_empty;
	uint64_t claims; /* a poll handed out an item */
	uint64_t acks;
	uint64_t ack_failures;
	uint64_t last_poll_ok_ms; /* loop_now_ms() of the last successful poll, 0: none */
	int64_t last_poll_ok_unix_ms;
	uint64_t last_poll_empty_ms;

	/* Leases. */
	uint64_t heartbeats;
	uint64_t heartbeat_failures;
	uint64_t leases_lost;

	/* Restarts and upgrades (journal.h). */
	uint64_t upgrades;	    /* re-executions into a new binary */
	uint64_t items_resumed;	    /* items taken back after a restart */
	uint64_t results_replayed;  /* results sent from the record */
	uint64_t calls_interrupted; /* calls answered "the runner restarted" */
	uint64_t results_synced;    /* results fsync'd, the API slow to accept them */

	/* Sessions. */
	uint64_t sessions_started;
	uint64_t sessions_completed;
	uint64_t sessions_failed;
	int64_t sessions_active;
	uint64_t watchdog_fired[METRICS_WATCHDOGS];
	uint64_t hooks[METRICS_HOOKS][METRICS_HOOK_OUTCOMES];
	uint64_t on_work_started;
	uint64_t on_work_failed;

	/* Tool calls. */
	uint64_t tool_calls[METRICS_TOOLS + 1][METRICS_TOOL_OUTCOMES];
	uint64_t tool_buckets[METRICS_TOOLS + 1][METRICS_BUCKETS];
	double tool_seconds[METRICS_TOOLS + 1];

	/* Event stream. */
	uint64_t events_sent;
	uint64_t event_send_retries;
	uint64_t event_send_failures;
	uint64_t sse_reconnects;

	/* Short requests' turns (http_cap_requests). */
	uint64_t requests_waited;
	int64_t requests_waiting;

	/* Processes. */
	uint64_t sandbox_launch_failures;
	uint64_t process_tree_kills;

	/* The environment's queue (GET .../work/stats), when readable. */
	int have_queue;
	int64_t queue_depth;
	int64_t queue_pending;
	int64_t queue_oldest_unix_ms;  /* 0: the queue is empty */
	int64_t queue_workers_polling; /* -1: unknown */
	uint64_t queue_updated_ms;
};

extern struct metrics metrics;

/* A poll answered 2xx: empty, or with an item. */
void metrics_poll_ok(int empty);
/* A poll failed with `status` (0: no HTTP answer). */
void metrics_poll_failed(long status);

/* A tool call ended after `ms`. */
void metrics_tool_call(const char *tool, enum metrics_tool_outcome outcome, uint64_t ms);

/* Runner state rendered with the counters. */
struct metrics_state {
	const char *version;
	int capacity;
	int draining;
	int health_ready;
};

/* Append the exposition to `out`; 0 or -ENOMEM/-ENOSPC. */
int metrics_render(struct buf *out, const struct metrics_state *st);

/* Wall clock in milliseconds since the epoch. */
int64_t metrics_unix_ms(void);

/* Parse an RFC 3339 time ("2026-11-26T08:00:00.123Z", "+01:00" offsets) to
 * milliseconds since the epoch; 0 or -EINVAL. */
int metrics_parse_rfc3339(const char *s, int64_t *ret_ms);

#endif
