/* SPDX-License-Identifier: MIT */
#ifndef ER_SESSION_VIEW_H
#define ER_SESSION_VIEW_H

/*
 * The session as its events show it: which tool calls it waits on, which
 * of them it no longer takes a result for, and which one is due to run,
 * decided as the SDK's SessionToolRunner decides (docs/protocol.md §7).
 * Pure bookkeeping: no I/O, no clock (the caller tells when each event was
 * read), no loop.
 */

#include <stddef.h>
#include <stdint.h>

#include "json.h"

enum permission {
	PERMISSION_NONE, /* absent */
	PERMISSION_ALLOW,
	PERMISSION_ASK, /* or any unknown value: fail closed */
	PERMISSION_DENY,
};

enum confirmation {
	CONFIRMATION_NONE,
	CONFIRMATION_ALLOW,
	CONFIRMATION_DENY, /* or any result but allow */
};

/*
 * A tool call as the current view of the session sees it.  Calls outlive
 * views: each connection rebuilds the view from the history, resetting the
 * view's part of every call; `handled` and the running state stay.  A call
 * that is handled, out of the view and not running is forgotten: it shrinks
 * to two bits of its event's entry in `seen`, and a replay of its event
 * brings back a record that is handled already.
 */
struct call {
	struct call *prev; /* in the view: the order of their latest events */
	struct call *next;
	struct call *bucket_next;
	char *id;
	/* The agent.tool_use or agent.custom_tool_use, once read. */
	const char *name; /* a toolset tool's points into a shared list */
	char *input;	  /* NULL once it ran (call_drop_input) */
	size_t input_len;
	char *thread_id; /* NULL: the primary thread */
	/* The view's part. */
	unsigned long listed_at; /* events read when an idle last listed it */
	char *thread_stop;	 /* why its thread stopped without listing it, or NULL */

	/* Flags, packed: a session holds many calls at once.
	 * The event's: */
	unsigned has_event : 1;
	unsigned custom : 1;
	unsigned permission : 2; /* enum permission */
	/* The view's: */
	unsigned in_view : 1;
	signed int waits : 2;	   /* -1 not known yet, 0 no, 1 the session waits on it */
	unsigned confirmation : 2; /* enum confirmation */
	/* The runner's: */
	unsigned oversized : 1; /* its event passed the stream's message cap: answered, not run */
	unsigned handled : 1;	/* run, denied or left to others: never again */
	unsigned declined : 1;	/* the executor has no tool of that name */
	unsigned held_logged : 1;
};

/* An event read: its id's keyed hash (never 0: 0 is an empty slot), when
 * it was first read, and the last view that applied it.  A hash and not
 * the id: a session reads thousands of events, and each costs 16 bytes
 * instead of two allocations.  A tool use's entry also keeps what stays of
 * its call once the call is forgotten. */
struct seen {
	uint64_t key;
	uint64_t first_ms : 38; /* after the view's first event, in ms: 8 years */
	uint64_t view : 24;
	uint64_t handled : 1;  /* the call of this id was forgotten, handled */
	uint64_t declined : 1; /* ... and left to others */
};

/* A session thread that reported a status in the current view. */
struct thread_status {
	struct thread_status *next;
	char *thread_id;
	int terminated;
};

struct session_view {
	unsigned number;      /* each connection reads a new view */
	unsigned long events; /* events applied to this view */
	/* Every event read, open addressing; sized with the session (a
	 * thousand sessions of fixed tables cost 10 MB). */
	struct seen *seen;
	size_t seen_size; /* a power of two, or 0 */
	size_t seen_used;
	uint64_t epoch_ms; /* when the first event was read */
	struct thread_status *threads;
	int idle_since_set; /* the session is idle, since idle_since */
	uint64_t idle_since;
	int ended;	   /* the session terminated or was deleted */
	struct call *head; /* the calls in the view, in the order of their latest event */
	struct call *tail;
	struct call **buckets; /* every call, by id: chains, grown with them */
	size_t n_buckets;      /* a power of two, or 0 */
	size_t n_calls;
	struct call *running; /* its tool runs or its result is posted */
};

/* The event types that decide the view, NULL-terminated. */
extern const char *const session_view_types[];
int session_view_type(const char *type);

/* A view without events, as each connection starts one; the calls stay,
 * out of the view until an event brings them back. */
void session_view_begin(struct session_view *v);
/* One event of `type` and `id` into the view, read at `now_ms`. */
void session_view_apply(struct session_view *v, const struct json_doc *doc, const char *type,
			const char *id, uint64_t now_ms);
/* A tool use too large to read, of which only the type and id are known:
 * it gets an error result once waited on. */
void session_view_apply_oversized(struct session_view *v, const char *type, const char *id,
				  uint64_t now_ms);
/* Free every call and what the view holds. */
void session_view_release(struct session_view *v);

struct call *session_view_find(struct session_view *v, const char *id);
/* Whether the call `id` was handled and then forgotten (it has no record
 * until its event is read again). */
int session_view_forgot(struct session_view *v, const char *id);
/* The run of `c` and its result's post are over, and it runs no more: it
 * is forgotten (freed) if the view no longer holds it either. */
void session_view_call_over(struct session_view *v, struct call *c);
/* The first call due to run: waited on, allowed, not behind an earlier call
 * the session may answer first, its thread not terminated. */
struct call *session_view_due(struct session_view *v);
/* Late input can make a terminated thread run again. */
int session_view_thread_terminated(const struct session_view *v, const char *thread_id);
/* NULL names the primary thread. */
int session_view_same_thread(const char *a, const char *b);

int call_is_waited_on(const struct call *c);
int call_is_denied(const struct call *c);
int call_is_unconfirmed(const struct call *c);
/* Whether the session no longer takes a result for `c`. */
int call_is_resolved(const struct call *c);
/* Its event was too large to read: it is named "(too large)" and gets an
 * error result once waited on. */
void call_set_oversized(struct call *c, int custom);
/* Its run is over: the input goes, and does not come back with its event. */
void call_drop_input(struct call *c);

#endif
