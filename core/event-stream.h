/* SPDX-License-Identifier: MIT */
/*
 * A session's event stream, as the SDK's SessionToolRunner reads it
 * (docs/protocol.md §7-§11): each connection opens the SSE stream, reads
 * the session, then the history filtered to the events that matter, and
 * builds a view of the calls the session waits on; only those run, one at
 * a time.  The stream is read
 * while a tool runs: a call answered elsewhere, a call whose thread
 * stopped, and every call when the session ends or the runner stops, is
 * stopped and answered with the SDK's "was stopped" result.  A result the
 * API refuses with 400 or 413 is replaced by an error result quoting the
 * refusal.  The session is released when it stayed idle max_idle_ms after
 * its turn ended, as a fresh read confirms.
 */
#ifndef ER_EVENT_STREAM_H
#define ER_EVENT_STREAM_H

#include <stddef.h>

#include "api.h"
#include "journal.h"
#include "log.h"
#include "loop.h"

enum stream_end {
	STREAM_END_TERMINATED, /* session.status_terminated */
	STREAM_END_DELETED,    /* session.deleted */
	STREAM_END_IDLE,       /* the turn ended and the idle window passed */
	STREAM_END_FATAL,      /* the stream was refused (4xx) */
};

struct stream_callbacks {
	/* Run a call of session thread `thread_id` (NULL: the primary thread);
	 * answer with stream_tool_result().  Return 0 when started, 1
	 * (ER_DECLINED) for a tool that is not ours, negative on failure. */
	int (*tool_call)(void *userdata, const char *id, const char *name, const char *input,
			 size_t input_len, const char *thread_id);
	/* Abandon the running call (no result expected any more). */
	void (*tool_cancel)(void *userdata, const char *id);
	/* A session thread that ran calls has terminated and runs none any
	 * more: what was kept for it (a shell) can go (may be NULL). */
	void (*thread_stop)(void *userdata, const char *thread_id);
	/* Every event that is not a routed call, when wanted (may be NULL). */
	void (*event)(void *userdata, const char *type, const char *json, size_t len);
	void (*ended)(void *userdata, enum stream_end why);
	/* A call that ran is over: its result was sent (or given up on), or
	 * it was left to other clients; where the SDK's runner yields a
	 * dispatched call (may be NULL). */
	void (*call_done)(void *userdata, const char *id);
	/* A running call was stopped (may be NULL): its tool may have moved
	 * files away and not put them back. */
	void (*call_stopped)(void *userdata, const char *id);
	/* The session went idle with no call running (may be NULL). */
	void (*idle)(void *userdata);
	/* Nothing runs or is being sent any more: stream_busy() turned false
	 * (may be NULL).  The stream must not be freed from inside it. */
	void (*settled)(void *userdata);
	/* Every event of the history, each time it is read (may be NULL); then
	 * once with `type` NULL when the walk is complete, before the live
	 * events that arrived meanwhile. */
	void (*history)(void *userdata, const char *type, const char *json, size_t len);
};

struct stream_options {
	const char *session_id;
	const char *token;    /* the item's credential; never logged */
	long max_idle_ms;     /* <= 0 disables the idle release */
	long tool_timeout_ms; /* per call; the SDK's is 325 s */
	long send_window_ms;  /* how long to retry a result; follows the lease TTL */
	int event_tool_use;   /* also pass new agent.tool_use events to cb.event */
	/* The item's record (may be NULL): calls started and results unsent,
	 * so that a restart neither runs a call again nor loses its result. */
	struct journal_item *journal;
	const struct log_ctx *ctx;
};

struct stream;

struct stream *stream_start(struct loop *loop, struct api *api, const struct stream_options *o,
			    const struct stream_callbacks *cb, void *userdata);
/* Stop reading and sending.  Accepts NULL. */
void stream_free(struct stream *st);

/* The answer to the running call. */
void
stream_tool_result(struct stream *st, const char *id, int is_error, const char *text, size_t len);
/* Post any event object (for executors that publish agent events). */
int stream_send_event(struct stream *st, const char *json, size_t len);
void stream_set_send_window(struct stream *st, long ms);
/* Stop starting calls (draining); a running call may finish. */
void stream_hold(struct stream *st);
/* Start calls again. */
void stream_unhold(struct stream *st);
/* A call is running, or a result or event is still being sent. */
int stream_busy(const struct stream *st);
/* An event or result is still being sent. */
int stream_sending(const struct stream *st);
/* Stop the running call and start no other: its "was stopped" result is
 * posted, unless the lease was lost (then nothing more is posted). */
void stream_stop_calls(struct stream *st, int lease_lost);

#endif
