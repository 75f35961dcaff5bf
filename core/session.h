/* SPDX-License-Identifier: MIT */
/*
 * One claimed work item and the session it carries, from the ack to the
 * final stop, as the SDK's worker handles an item (docs/protocol.md §5): the
 * first heartbeat claims the item (a health check is then stopped); the
 * session is read (a terminated one is not run); a working directory is
 * made; the memory stores, then the skills, are prepared; the executor
 * starts; the event stream runs the session's tool calls; then the teardown
 * kills every process the session started, removes its directory and
 * force-stops the item, unless the lease was lost, in which case the item
 * belongs to someone else and is left alone.
 */
#ifndef ER_SESSION_H
#define ER_SESSION_H

#include <stddef.h>

#include "journal.h"
#include "json.h"
#include "log.h"
#include "runtime.h"

enum session_end {
	SESSION_END_IDLE,	     /* the turn ended and the idle window passed */
	SESSION_END_TERMINATED,	     /* session terminated or deleted */
	SESSION_END_STOP,	     /* the control plane stopped the item */
	SESSION_END_LEASE_LOST,	     /* another worker holds it now */
	SESSION_END_EXECUTOR,	     /* the executor finished */
	SESSION_END_FAILED,	     /* could not be served */
	SESSION_END_SHUTDOWN,	     /* the runner is draining */
	SESSION_END_SHUTDOWN_NOW,    /* the runner must stop at once */
	SESSION_END_STARTUP_TIMEOUT, /* not started within --startup-timeout-sec: failed */
	SESSION_END_MAX_RUNTIME,     /* ran past --kill-session-after-min: failed */
	SESSION_END_DISK_FULL,	     /* its directory passed --sandbox-max-disk-mb: failed */
	SESSION_END_UPGRADE,	     /* the runner re-executes: the item waits in its record */
};

/* How a finished session went (for metrics, hooks and run-item's exit). */
enum session_outcome {
	SESSION_OUTCOME_COMPLETED,
	SESSION_OUTCOME_FAILED,
	SESSION_OUTCOME_LEASE_LOST, /* the item is someone else's now */
	SESSION_OUTCOME_SHUTDOWN,   /* the runner stopped it; the item is stopped */
};

struct session;

/* Take a claimed (acked) work item: `work` is the poll response.  The
 * session runs on its own from here and calls rt->session_finished() when
 * it has released the item. */
struct session *session_start(struct runtime *rt, const struct json_doc *work);
/* Take back an item this worker served before it restarted, from its
 * record (journal.h), which is the session's from here (freed on failure,
 * its file kept). */
struct session *session_resume(struct runtime *rt, struct journal_item *ji);
void session_end(struct session *s, enum session_end why);
/* Free a finished session (after session_finished). */
void session_free(struct session *s);

const char *session_id(const struct session *s);
const struct log_ctx *session_log_ctx(const struct session *s);
/* The sandbox's state for the session (its session_start's, ABI 1.2). */
void *session_sandbox_state(const struct session *s);
struct runtime *session_runtime(struct session *s);
struct proc_group *session_procs(struct session *s);

/* Executor services (host.c). */
int session_tool_result(struct session *s, const char *call_id, int is_error, const char *text,
			size_t len);
int session_send_event(struct session *s, const char *json, size_t len);
void session_executor_done(struct session *s, int failed);

enum session_outcome session_outcome(const struct session *s);
const char *session_outcome_to_string(enum session_outcome o);

/* Is a tool running or a result unsent? (Draining waits for these.) */
int session_busy(const struct session *s);
/* Start no call (an upgrade waits for the running ones), or again. */
void session_hold(struct session *s, int hold);

#endif
