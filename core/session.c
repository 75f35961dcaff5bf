/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diskuse.h"
#include "event-stream.h"
#include "hooks.h"
#include "journal.h"
#include "lease.h"
#include "jsonw.h"
#include "memory.h"
#include "metrics.h"
#include "rand.h"
#include "secret.h"
#include "session.h"
#include "sessiondir.h"
#include "skills.h"

/* The final stop: each try 10 s, 5 retries, 60 s in all. */
#define SESSION_STOP_ATTEMPT_MS 10000L
#define SESSION_STOP_RETRIES 5
#define SESSION_STOP_TIMEOUT_MS 60000u
/* Reading the session: a try gets 30 s; retries back off 1 s to 8 s. */
#define SESSION_READ_TIMEOUT_MS 30000L
#define SESSION_READ_BACKOFF_MIN_MS 1000L
#define SESSION_READ_BACKOFF_MAX_MS 8000L
/* How long the teardown waits for an executor's processes to end and for
 * its last events to go out (plugin.h, session_stop). */
#define SESSION_STOP_GRACE_MS 10000u
/* How long a session ended for its disk waits for its session.error to go. */
#define DISK_FULL_SEND_MS 5000u

enum session_phase {
	PHASE_FETCHING, /* heartbeating, reading the session */
	PHASE_RUNNING,
	PHASE_DRAINING,	 /* waiting for a running call before the teardown */
	PHASE_STOPPING,	 /* the final stop request is out */
	PHASE_POST_HOOK, /* the post-session hook runs */
	PHASE_FINISHED,
};

struct session {
	struct runtime *rt;
	char *work_id;
	char *session_id;
	char *environment_id;
	char *token;	   /* sessions token, or the environment key */
	char *work_secret; /* the item's secret as claimed, or NULL */
	char *work_json;   /* the item without its secret */
	char *session_json;
	char *workdir;
	int own_workdir;
	struct log_ctx ctx;

	enum session_phase phase;
	enum session_end why;
	int lease_lost;
	int claim_refused;  /* the first heartbeat was refused: failed */
	int read_attempts;  /* of the session */
	int serves_session; /* a session item, not a health check */
	int failed;

	struct lease *lease;
	struct journal_item *journal; /* NULL: none kept */
	int resumed;		      /* taken back after the runner restarted */
	struct api_call *call;
	struct stream *stream;
	struct proc_group *procs;
	void *exec_sess;
	int exec_started;
	void *sandbox_sess; /* the sandbox's per-session state (ABI 1.2) */
	int sandbox_started;
	struct loop_timer *timer;
	loop_timer_cb grace_check; /* the wait `timer` ends: drain or wind */
	uint64_t drain_deadline;
	int exec_done;		/* the executor called session_done */
	int stop_sent;		/* session_stop was called */
	uint64_t wind_deadline; /* end of the teardown's grace */

	/* Watchdogs, hooks. */
	struct loop_timer *startup_timer;
	struct loop_timer *runtime_timer;
	struct diskuse *disk; /* --sandbox-max-disk-mb */
	struct hook_run *hook;
	int tree_killed;

	/* The agent's skills and the memory stores, prepared in the core
	 * before the executor starts (skills.h, memory.h), released before
	 * the item is. */
	struct skills *skills;
	struct memory *memory;
	struct loop_timer *memory_timer;
	int prepared;
	int releasing;
	int held; /* no call starts (session_hold) */
};

static void teardown(struct session *s);
static int release_prepared(struct session *s);

const char *
session_id(const struct session *s)
{
	return s->session_id;
}

const struct log_ctx *
session_log_ctx(const struct session *s)
{
	return &s->ctx;
}

void *
session_sandbox_state(const struct session *s)
{
	return s->sandbox_sess;
}

/* The sandbox's session_start (ABI 1.2), before the executor's. */
static int
sandbox_session_start(struct session *s)
{
	const struct plugin *sb = s->rt->sandbox;
	struct er_sandbox_session info = { sizeof(info), s->session_id, s->work_id, s->workdir };
	struct er_error err = { 0, "" };
	int r;

	if (!sb || !sb->ops.sandbox.session_start)
		return 0;
	r = sb->ops.sandbox.session_start(sb->state, &info, &s->sandbox_sess, &err);
	if (r < 0) {
		err.msg[sizeof(err.msg) - 1] = '\0';
		log_emit(LOG_LEVEL_ERR, "session", &s->ctx,
			 "sandbox '%s' cannot start the session: %s", sb->desc.name,
			 err.msg[0] ? err.msg : strerror(-r));
		return r;
	}
	s->sandbox_started = 1;
	return 0;
}

/* Its session_end, once the session's processes were killed. */
static void
sandbox_session_end(struct session *s)
{
	const struct plugin *sb = s->rt->sandbox;

	if (s->sandbox_started && sb->ops.sandbox.session_end)
		sb->ops.sandbox.session_end(sb->state, s->sandbox_sess);
	s->sandbox_sess = NULL;
	s->sandbox_started = 0;
}

struct runtime *
session_runtime(struct session *s)
{
	return s->rt;
}

struct proc_group *
session_procs(struct session *s)
{
	return s->procs;
}

static const struct er_executor_ops *
exec_ops(const struct session *s)
{
	return &s->rt->executor->ops.executor;
}

/* ---- the end ------------------------------------------------------------ */

static void
remove_workdir(struct session *s)
{
	int r;

	if (!s->own_workdir)
		return;
	s->own_workdir = 0;
	r = sessiondir_release(s->workdir, s->rt->settings->keep_session_dirs);
	if (r < 0)
		log_emit(LOG_LEVEL_WARNING, "session", &s->ctx, "cannot remove '%s': %s",
			 s->workdir, strerror(-r));
}

static void
cancel_watchdogs(struct session *s)
{
	loop_cancel_timer(s->startup_timer);
	s->startup_timer = NULL;
	loop_cancel_timer(s->runtime_timer);
	s->runtime_timer = NULL;
	diskuse_free(s->disk);
	s->disk = NULL;
}

enum session_outcome
session_outcome(const struct session *s)
{
	if (s->lease_lost && !s->claim_refused)
		return SESSION_OUTCOME_LEASE_LOST;
	if (s->failed)
		return SESSION_OUTCOME_FAILED;
	if (s->why == SESSION_END_SHUTDOWN || s->why == SESSION_END_SHUTDOWN_NOW)
		return SESSION_OUTCOME_SHUTDOWN;
	return SESSION_OUTCOME_COMPLETED;
}

const char *
session_outcome_to_string(enum session_outcome o)
{
	static const char *const names[] = {
		[SESSION_OUTCOME_COMPLETED] = "completed",
		[SESSION_OUTCOME_FAILED] = "failed",
		[SESSION_OUTCOME_LEASE_LOST] = "lease_lost",
		[SESSION_OUTCOME_SHUTDOWN] = "shutdown",
	};

	return names[o];
}

static const char *end_reason(enum session_end why);

static void
finish_now(struct session *s)
{
	hook_cancel(s->hook);
	s->hook = NULL;
	cancel_watchdogs(s);
	s->phase = PHASE_FINISHED;
	/* A session kept for an upgrade goes on in the new binary. */
	if (s->why != SESSION_END_UPGRADE) {
		if (session_outcome(s) == SESSION_OUTCOME_FAILED)
			metrics.sessions_failed++;
		else
			metrics.sessions_completed++;
	}
	metrics.sessions_active--;
	if (s->exec_started && exec_ops(s)->session_free)
		exec_ops(s)->session_free(s->rt->executor->state, s->exec_sess);
	s->exec_sess = NULL;
	s->exec_started = 0;
	remove_workdir(s);
	if (s->why != SESSION_END_UPGRADE)
		log_emit(s->failed ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO, "session", &s->ctx,
			 "session %s", s->failed ? "failed" : "finished");
	s->rt->session_finished(s->rt, s);
}

static void
post_hook_done(void *userdata, int ok, const char *why)
{
	struct session *s = userdata;

	s->hook = NULL;
	finish_now(s);
}

/* The post-session hook, for every session that got a directory, then the
 * end. */
static void
finish(struct session *s)
{
	struct hook_vars v;
	char err[256];

	cancel_watchdogs(s);
	/* The item is released: nothing is left to resume. */
	journal_item_remove(s->journal);
	s->journal = NULL;
	if (s->workdir && s->rt->settings->hooks_dir) {
		memset(&v, 0, sizeof(v));
		v.work_id = s->work_id;
		v.session_id = s->session_id;
		v.environment_id = s->environment_id;
		v.workdir = s->workdir;
		v.outcome = session_outcome_to_string(session_outcome(s));
		v.end_reason = end_reason(s->why);
		v.ctx = &s->ctx;
		s->phase = PHASE_POST_HOOK;
		if (hook_start(s->rt, HOOK_POST_SESSION, &v, post_hook_done, s, &s->hook, err,
			       sizeof(err)) == 0)
			return;
	}
	finish_now(s);
}

static void
stop_done(void *userdata, const struct api_result *res)
{
	struct session *s = userdata;

	s->call = NULL;
	loop_cancel_timer(s->timer);
	s->timer = NULL;
	if (res->status >= 200 && res->status < 300)
		log_emit(LOG_LEVEL_INFO, "session", &s->ctx, "work item stopped");
	else if (res->status == 409)
		log_emit(LOG_LEVEL_INFO, "session", &s->ctx, "work item was already stopped");
	else
		log_emit(LOG_LEVEL_ERR, "session", &s->ctx, "stop failed: %s",
			 res->status ? (res->error_message ? res->error_message : "HTTP error")
				     : res->transport_error);
	/* The credential is no longer good for the item: someone else's now. */
	if (res->status == 401)
		s->lease_lost = 1;
	finish(s);
}

static void
stop_timeout_fired(void *userdata)
{
	struct session *s = userdata;

	s->timer = NULL;
	api_call_cancel(s->call);
	s->call = NULL;
	log_emit(LOG_LEVEL_ERR, "session", &s->ctx, "stop failed: no answer within %u ms",
		 SESSION_STOP_TIMEOUT_MS);
	finish(s);
}

/* POST .../stop {"force":true} with the item's credential. */
static void
stop_item(struct session *s)
{
	static const char body[] = "{\"force\":true}";
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	s->phase = PHASE_STOPPING;
	if (api_path(&path, "/v1/environments/%s/work/%s/stop", s->environment_id, s->work_id) < 0)
		goto fail;
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = path.data;
	r.token = s->token;
	r.beta = API_BETA_MANAGED_AGENTS;
	r.helper = "environments-worker";
	r.body = body;
	r.body_len = sizeof(body) - 1;
	r.timeout_ms = SESSION_STOP_ATTEMPT_MS;
	r.max_retries = SESSION_STOP_RETRIES;
	if (api_call(s->rt->api, &r, stop_done, s, &s->call) < 0)
		goto fail;
	loop_cancel_timer(s->timer);
	loop_add_timer(s->rt->loop, SESSION_STOP_TIMEOUT_MS, stop_timeout_fired, s, &s->timer);
	buf_release(&path);
	return;
fail:
	buf_release(&path);
	log_emit(LOG_LEVEL_ERR, "session", &s->ctx, "cannot send the stop request");
	finish(s);
}

static uint32_t
stop_reason(enum session_end why)
{
	switch (why) {
	case SESSION_END_IDLE:
		return ER_STOP_IDLE;
	case SESSION_END_LEASE_LOST:
		return ER_STOP_LEASE_LOST;
	case SESSION_END_SHUTDOWN:
	case SESSION_END_SHUTDOWN_NOW:
		return ER_STOP_SHUTDOWN;
	case SESSION_END_STARTUP_TIMEOUT:
	case SESSION_END_MAX_RUNTIME:
	case SESSION_END_DISK_FULL:
		return ER_STOP_TIMEOUT;
	default:
		return ER_STOP_REQUESTED;
	}
}

/* The executor's program keeps the lease (ER_EXECUTOR_OWNS_LEASE). */
static int
program_owns_lease(const struct session *s)
{
	return (exec_ops(s)->flags & ER_EXECUTOR_OWNS_LEASE) != 0;
}

/* The upgrade's end: the item is not stopped, its directory and record
 * stay for the new binary, which takes it back (resume.h). */
static void
keep_for_upgrade(struct session *s)
{
	journal_item_free(s->journal);
	s->journal = NULL;
	s->own_workdir = 0;
	log_emit(LOG_LEVEL_INFO, "session", &s->ctx,
		 "processes ended; the item, its directory and its record are kept for the new "
		 "binary");
	finish_now(s);
}

static void
release_item(struct session *s)
{
	lease_free(s->lease);
	s->lease = NULL;
	if (s->lease_lost) {
		log_emit(LOG_LEVEL_WARNING, "session", &s->ctx,
			 "lease lost: processes stopped, work item left to its new holder");
		finish(s);
		return;
	}
	if (s->why == SESSION_END_UPGRADE && s->journal) {
		keep_for_upgrade(s);
		return;
	}
	if (s->exec_started && program_owns_lease(s) && !s->failed) {
		log_emit(LOG_LEVEL_INFO, "session", &s->ctx,
			 "the executor's program held the lease: the work item is its to stop");
		finish(s);
		return;
	}
	stop_item(s);
}

/* The teardown's waits (the running call's drain, then the executor's
 * wind-down) end at their deadline or as soon as what they wait for is
 * over: checked again when the stream settles, the session's processes are
 * gone or the session ends again, never polled. */
static void
grace_wait(struct session *s, loop_timer_cb check, uint64_t deadline)
{
	uint64_t now = loop_now_ms();

	loop_cancel_timer(s->timer);
	s->grace_check = check;
	loop_add_timer(s->rt->loop, deadline > now ? deadline - now : 0, check, s, &s->timer);
}

static void
grace_recheck(void *userdata)
{
	struct session *s = userdata;

	if (s->grace_check)
		grace_wait(s, s->grace_check, 0);
}

/* Is the teardown's grace still worth waiting for: the executor's
 * processes winding down, or its last events on their way? */
static int
winding_down(const struct session *s)
{
	if (s->lease_lost || s->why == SESSION_END_SHUTDOWN_NOW ||
	    loop_now_ms() >= s->wind_deadline)
		return 0;
	return (!s->exec_done && s->procs && proc_group_live(s->procs) > 0) ||
	       stream_sending(s->stream);
}

static void
wind_check(void *userdata)
{
	struct session *s = userdata;

	s->timer = NULL;
	s->grace_check = NULL;
	if (winding_down(s)) {
		grace_wait(s, wind_check, s->wind_deadline);
		return;
	}
	teardown(s);
}

static void
teardown(struct session *s)
{
	hook_cancel(s->hook);
	s->hook = NULL;
	cancel_watchdogs(s);
	loop_cancel_timer(s->timer);
	s->timer = NULL;
	s->grace_check = NULL;
	api_call_cancel(s->call);
	s->call = NULL;
	if (!s->stop_sent) {
		s->stop_sent = 1;
		s->wind_deadline = loop_now_ms() + SESSION_STOP_GRACE_MS;
		if (s->exec_started && exec_ops(s)->session_stop)
			exec_ops(s)->session_stop(s->rt->executor->state, s->exec_sess,
						  stop_reason(s->why));
		if (winding_down(s)) {
			grace_wait(s, wind_check, s->wind_deadline);
			return;
		}
	}
	stream_free(s->stream);
	s->stream = NULL;
	/* Nothing the session started survives it. */
	if (s->procs && proc_group_live(s->procs) > 0 && !s->tree_killed++)
		metrics.process_tree_kills++;
	proc_group_free(s->procs);
	s->procs = NULL;
	sandbox_session_end(s);
	/* Skill folders go and the memory stores get their last sync while
	 * the lease still beats, as in the SDK's worker; the rest follows. */
	if (release_prepared(s))
		return;
	release_item(s);
}

static void
drain_check(void *userdata)
{
	struct session *s = userdata;

	s->timer = NULL;
	s->grace_check = NULL;
	if (session_busy(s) && loop_now_ms() < s->drain_deadline) {
		grace_wait(s, drain_check, s->drain_deadline);
		return;
	}
	if (session_busy(s)) {
		log_emit(LOG_LEVEL_WARNING, "session", &s->ctx,
			 "drain time is up, stopping the running tool");
		/* As the SDK stops a call: its "was stopped" result goes out. */
		stream_stop_calls(s->stream, s->lease_lost);
	}
	teardown(s);
}

static const char *
end_to_string(enum session_end why)
{
	static const char *const names[] = {
		[SESSION_END_IDLE] = "idle",
		[SESSION_END_TERMINATED] = "session terminated",
		[SESSION_END_STOP] = "stop requested",
		[SESSION_END_LEASE_LOST] = "lease lost",
		[SESSION_END_EXECUTOR] = "executor finished",
		[SESSION_END_FAILED] = "failed",
		[SESSION_END_SHUTDOWN] = "runner shutting down",
		[SESSION_END_SHUTDOWN_NOW] = "runner stopping now",
		[SESSION_END_STARTUP_TIMEOUT] = "not started within --startup-timeout-sec",
		[SESSION_END_MAX_RUNTIME] = "ran past --kill-session-after-min",
		[SESSION_END_DISK_FULL] = "its directory passed --sandbox-max-disk-mb",
		[SESSION_END_UPGRADE] = "runner upgrading: the item is kept for the new binary",
	};

	return names[why];
}

/* For hooks: one word. */
static const char *
end_reason(enum session_end why)
{
	static const char *const names[] = {
		[SESSION_END_IDLE] = "idle",
		[SESSION_END_TERMINATED] = "terminated",
		[SESSION_END_STOP] = "stopped",
		[SESSION_END_LEASE_LOST] = "lease_lost",
		[SESSION_END_EXECUTOR] = "executor_done",
		[SESSION_END_FAILED] = "failed",
		[SESSION_END_SHUTDOWN] = "shutdown",
		[SESSION_END_SHUTDOWN_NOW] = "shutdown_now",
		[SESSION_END_STARTUP_TIMEOUT] = "startup_timeout",
		[SESSION_END_MAX_RUNTIME] = "max_runtime",
		[SESSION_END_DISK_FULL] = "disk_full",
		[SESSION_END_UPGRADE] = "upgrade",
	};

	return names[why];
}

void
session_end(struct session *s, enum session_end why)
{
	if (s->phase == PHASE_POST_HOOK) {
		/* A second signal does not wait for the post-session hook. */
		if (why == SESSION_END_SHUTDOWN_NOW)
			finish_now(s);
		return;
	}
	if (s->phase == PHASE_DRAINING && why == SESSION_END_SHUTDOWN_NOW) {
		s->why = why;
		stream_stop_calls(s->stream, s->lease_lost);
		teardown(s);
		return;
	}
	if (s->phase >= PHASE_DRAINING) {
		if (why == SESSION_END_LEASE_LOST)
			s->lease_lost = 1;
		grace_recheck(s);
		return;
	}
	s->why = why;
	s->phase = PHASE_DRAINING;
	if (why == SESSION_END_LEASE_LOST)
		s->lease_lost = 1;
	if (why == SESSION_END_FAILED || why == SESSION_END_STARTUP_TIMEOUT ||
	    why == SESSION_END_MAX_RUNTIME || why == SESSION_END_DISK_FULL)
		s->failed = 1;
	cancel_watchdogs(s);
	log_emit(why == SESSION_END_STARTUP_TIMEOUT || why == SESSION_END_MAX_RUNTIME ||
				 why == SESSION_END_DISK_FULL
			 ? LOG_LEVEL_WARNING
			 : LOG_LEVEL_INFO,
		 "session", &s->ctx, "ending session: %s", end_to_string(why));
	stream_hold(s->stream);
	if (why == SESSION_END_SHUTDOWN && session_busy(s)) {
		/* Let the running call finish and its result go out. */
		s->drain_deadline =
			loop_now_ms() + (uint64_t)s->rt->settings->drain_wait_sec * 1000u;
		grace_wait(s, drain_check, s->drain_deadline);
		return;
	}
	/* An upgrade starts once no call runs, and answers none. */
	if (why != SESSION_END_IDLE && why != SESSION_END_EXECUTOR && why != SESSION_END_UPGRADE)
		stream_stop_calls(s->stream, s->lease_lost);
	/* From the loop, not from inside the callback that reported the end. */
	loop_cancel_timer(s->timer);
	s->timer = NULL;
	loop_add_timer(s->rt->loop, 0, drain_check, s, &s->timer);
}

int
session_busy(const struct session *s)
{
	return stream_busy(s->stream);
}

void
session_hold(struct session *s, int hold)
{
	s->held = hold;
	if (hold)
		stream_hold(s->stream);
	else if (s->phase == PHASE_RUNNING)
		stream_unhold(s->stream);
}

/* ---- callbacks ---------------------------------------------------------- */

static void fetch_session(struct session *s);

/* The item is ours: a health check is stopped, a session is read. */
static void
lease_claimed(void *userdata)
{
	struct session *s = userdata;

	if (!s->serves_session) {
		session_end(s, SESSION_END_EXECUTOR);
		return;
	}
	if (s->resumed) {
		metrics.items_resumed++;
		log_emit(LOG_LEVEL_INFO, "session", &s->ctx,
			 "taken back after the runner restarted: its lease holds");
	} else {
		log_emit(LOG_LEVEL_INFO, "session", &s->ctx, "claimed");
	}
	fetch_session(s);
}

static void
lease_ended(void *userdata, enum lease_end why, int first)
{
	struct session *s = userdata;

	if (lease_end_is_lost(why)) {
		metrics.leases_lost++;
		s->lease_lost = 1;
		/* A first beat refused: the item could not be claimed. */
		s->claim_refused = first && why == LEASE_END_REJECTED;
		/* Stop at once: the item may already run elsewhere. */
		if (s->procs)
			proc_group_kill(s->procs);
		session_end(s, s->claim_refused ? SESSION_END_FAILED : SESSION_END_LEASE_LOST);
		return;
	}
	session_end(s, SESSION_END_STOP);
}

static void
lease_beaten(void *userdata, const char *last, long ttl_ms, uint64_t ago_ms)
{
	struct session *s = userdata;

	journal_item_beaten(s->journal, last, ttl_ms, ago_ms);
}

static void
lease_ttl_changed(void *userdata, long ttl_ms)
{
	struct session *s = userdata;

	stream_set_send_window(s->stream, ttl_ms);
}

static int
stream_tool_call(void *userdata, const char *id, const char *name, const char *input, size_t len,
		 const char *thread_id)
{
	struct session *s = userdata;
	struct er_tool_call call = { sizeof(call), id, name, input, len, thread_id };
	const struct er_executor_ops *ops = exec_ops(s);
	struct er_error err;
	int as_sandbox;
	int r;

	if ((!ops->tool_call && !ops->tool_call_err) || !(ops->flags & ER_EXECUTOR_TOOL_CALLS))
		return ER_DECLINED;
	/* With a sandbox running as another user, the file tools act as that
	 * user, so that what they create stays usable inside the sandbox. */
	as_sandbox = fsid_enter(&s->rt->sandbox_fs, s->workdir);
	memset(&err, 0, sizeof(err));
	if (ops->tool_call_err)
		r = ops->tool_call_err(s->rt->executor->state, s->exec_sess, &call, &err);
	else
		r = ops->tool_call(s->rt->executor->state, s->exec_sess, &call);
	if (as_sandbox)
		fsid_leave(&s->rt->sandbox_fs);
	if (r < 0 && err.msg[0]) {
		/* The executor's own words answer the call (ABI 1.2). */
		char text[sizeof(err.msg) + 160];

		err.msg[sizeof(err.msg) - 1] = '\0';
		snprintf(text, sizeof(text), "Error: %s: %s", name, err.msg);
		log_emit(LOG_LEVEL_WARNING, s->rt->executor->desc.name, &s->ctx,
			 "tool call '%s' (%s) could not start: %s", id, name, err.msg);
		session_tool_result(s, id, 1, text, strlen(text));
		return 0;
	}
	return r;
}

static void
stream_tool_cancel(void *userdata, const char *id)
{
	struct session *s = userdata;

	if (exec_ops(s)->tool_cancel)
		exec_ops(s)->tool_cancel(s->rt->executor->state, s->exec_sess, id);
}

static void
stream_thread_stop(void *userdata, const char *thread_id)
{
	struct session *s = userdata;

	if (exec_ops(s)->thread_stop)
		exec_ops(s)->thread_stop(s->rt->executor->state, s->exec_sess, thread_id);
}

static void
stream_event(void *userdata, const char *type, const char *json, size_t len)
{
	struct session *s = userdata;

	exec_ops(s)->session_event(s->rt->executor->state, s->exec_sess, type, json, len);
}

static void
stream_history(void *userdata, const char *type, const char *json, size_t len)
{
	struct session *s = userdata;

	exec_ops(s)->session_history(s->rt->executor->state, s->exec_sess, type, json, len);
}

static void
stream_ended(void *userdata, enum stream_end why)
{
	struct session *s = userdata;

	switch (why) {
	case STREAM_END_IDLE:
		metrics.watchdog_fired[METRICS_WATCHDOG_IDLE]++;
		session_end(s, SESSION_END_IDLE);
		break;
	case STREAM_END_TERMINATED:
	case STREAM_END_DELETED:
		session_end(s, SESSION_END_TERMINATED);
		break;
	case STREAM_END_FATAL:
		session_end(s, SESSION_END_FAILED);
		break;
	}
}

int
session_tool_result(struct session *s, const char *call_id, int is_error, const char *text,
		    size_t len)
{
	if (!s->stream)
		return -ENOTCONN;
	stream_tool_result(s->stream, call_id, is_error, text, len);
	return 0;
}

int
session_send_event(struct session *s, const char *json, size_t len)
{
	if (!s->stream)
		return -ENOTCONN;
	return stream_send_event(s->stream, json, len);
}

void
session_executor_done(struct session *s, int failed)
{
	if (failed)
		s->failed = 1;
	s->exec_done = 1;
	session_end(s, SESSION_END_EXECUTOR);
}

/* ---- the start ---------------------------------------------------------- */

static int
make_workdir(struct session *s)
{
	const struct settings *set = s->rt->settings;
	int r;

	if (set->workdir) {
		s->workdir = strdup(set->workdir);
		return s->workdir ? 0 : -ENOMEM;
	}
	if (s->own_workdir)
		return 0; /* resumed: taken back at the start */
	r = sessiondir_create(set->base_dir, s->session_id, &s->workdir);
	if (r < 0)
		return r;
	s->own_workdir = 1;
	journal_item_set_workdir(s->journal, s->workdir);
	return 0;
}

static void run_executor(struct session *s);

/* ---- skills and memory stores (docs/protocol.md §5 steps 5-8, §12) ------ */

/* They live in the core, not in the executor: both need the API client and
 * the item's sessions token, which no plugin sees.  The executor only
 * learns the memory folders (er_session_info.allowed_roots). */

static int
has_sessions_token(const struct session *s)
{
	return !s->rt->environment_key || strcmp(s->token, s->rt->environment_key) != 0;
}

static void
memory_tick(void *userdata)
{
	struct session *s = userdata;

	s->memory_timer = NULL;
	memory_sync_if_due(s->memory);
	loop_add_timer(s->rt->loop, (uint64_t)s->rt->settings->memory_sync_sec * 1000u, memory_tick,
		       s, &s->memory_timer);
}

static void
skills_ready(void *userdata)
{
	struct session *s = userdata;

	s->prepared = 1;
	if (s->memory && memory_roots(s->memory)[0])
		loop_add_timer(s->rt->loop, (uint64_t)s->rt->settings->memory_sync_sec * 1000u,
			       memory_tick, s, &s->memory_timer);
	run_executor(s);
}

/* The session's directory passed --sandbox-max-disk-mb: its commands stop
 * writing at once, the session hears why, and it ends as failed. */
static void
disk_full(void *userdata, uint64_t used)
{
	struct session *s = userdata;
	struct buf b = BUF_INIT(4096);
	struct buf msg = BUF_INIT(1024);
	const char *text;

	proc_group_kill(s->procs);
	buf_printf(&msg,
		   "the session's directory takes %llu MiB of disk, more than the %d MiB this "
		   "runner allows (--sandbox-max-disk-mb): its commands were stopped and the "
		   "session ends",
		   (unsigned long long)(used >> 20), s->rt->settings->sandbox_max_disk_mb);
	text = msg.data ? msg.data : "disk full";
	log_emit(LOG_LEVEL_WARNING, "session", &s->ctx, "%s", text);
	if (jw_session_error(&b, "unknown_error", text, strlen(text), "terminal") == 0 &&
	    s->stream && stream_send_event(s->stream, b.data, b.len) == 0)
		s->drain_deadline = loop_now_ms() + DISK_FULL_SEND_MS;
	buf_release(&b);
	buf_release(&msg);
	session_end(s, SESSION_END_DISK_FULL);
}

/* Skills come after the memory stores, as in the SDK's worker. */
static void
memory_ready(void *userdata, int failed)
{
	struct session *s = userdata;
	struct skills_options o = {
		.workdir = s->workdir,
		.token = s->token,
		.ctx = &s->ctx,
		.max_bytes = (uint64_t)s->rt->settings->skills_max_mb << 20,
	};

	if (failed) {
		/* A store that cannot be mounted fails the item, as in the SDK. */
		session_end(s, SESSION_END_FAILED);
		return;
	}
	s->skills = skills_start(s->rt->loop, s->rt->api, s->rt->spawner, s->session_json, &o,
				 skills_ready, s);
	if (!s->skills) {
		log_emit(LOG_LEVEL_WARNING, "session", &s->ctx,
			 "skill setup failed: out of memory");
		skills_ready(s);
	}
}

static void
prepare(struct session *s)
{
	struct memory_options o = {
		.workdir = s->workdir,
		.token = s->token,
		.ctx = &s->ctx,
		.sync_interval_ms = (long)s->rt->settings->memory_sync_sec * 1000L,
	};

	if (s->rt->settings->sandbox_max_disk_mb > 0)
		s->disk = diskuse_watch(s->rt->loop, s->workdir,
					(uint64_t)s->rt->settings->sandbox_max_disk_mb << 20,
					disk_full, s);
	if (!memory_session_has_stores(s->session_json)) {
		memory_ready(s, 0);
		return;
	}
	/* The memory endpoints take only a sessions token. */
	if (!has_sessions_token(s)) {
		log_emit(LOG_LEVEL_ERR, "session", &s->ctx,
			 "cannot mount the session's memories: the work item carried no sessions "
			 "token (work_id=%s, session_id=%s); the memory endpoints reject the "
			 "environment key, so the poller must issue a per-item `secret` carrying "
			 "`sessions_token`",
			 s->work_id, s->session_id);
		session_end(s, SESSION_END_FAILED);
		return;
	}
	s->memory = memory_new(s->rt->loop, s->rt->api, &o);
	if (!s->memory || memory_download(s->memory, s->session_json, memory_ready, s) < 0) {
		log_emit(LOG_LEVEL_ERR, "session", &s->ctx, "cannot mount the session's memories");
		session_end(s, SESSION_END_FAILED);
	}
}

static void
stream_call_done(void *userdata, const char *id)
{
	struct session *s = userdata;

	memory_sync_if_due(s->memory);
}

static void
stream_call_stopped(void *userdata, const char *id)
{
	struct session *s = userdata;

	memory_restore_missing(s->memory);
}

static void
stream_idle(void *userdata)
{
	struct session *s = userdata;

	memory_flush(s->memory);
}

static void
memory_released(void *userdata, int failed)
{
	struct session *s = userdata;

	memory_free(s->memory);
	s->memory = NULL;
	release_item(s);
}

/* At the end: remove the skill folders, then the memory stores' last sync
 * (after a clean end) and flush, each bounded, then their folders.  1 when
 * the release goes on asynchronously. */
static int
release_prepared(struct session *s)
{
	int clean = s->why == SESSION_END_IDLE || s->why == SESSION_END_TERMINATED ||
		    s->why == SESSION_END_EXECUTOR;

	loop_cancel_timer(s->memory_timer);
	s->memory_timer = NULL;
	skills_cleanup(s->skills);
	skills_free(s->skills);
	s->skills = NULL;
	if (!s->memory)
		return 0;
	if (s->releasing) {
		/* Told to stop at once while the flush ran: cut it short. */
		memory_free(s->memory);
		s->memory = NULL;
		return 0;
	}
	s->releasing = 1;
	memory_finish(s->memory, clean, memory_released, s);
	return 1;
}

static void
pre_hook_done(void *userdata, int ok, const char *why)
{
	struct session *s = userdata;

	s->hook = NULL;
	if (!ok) {
		log_emit(LOG_LEVEL_ERR, "session", &s->ctx, "pre-session hook failed: %s", why);
		session_end(s, SESSION_END_FAILED);
		return;
	}
	run_executor(s);
}

static void
start_executor(struct session *s)
{
	int r;

	r = make_workdir(s);
	if (r < 0) {
		log_emit(LOG_LEVEL_ERR, "session", &s->ctx,
			 "cannot create a working directory under '%s': %s",
			 s->rt->settings->base_dir, strerror(-r));
		session_end(s, SESSION_END_FAILED);
		return;
	}
	/* A sandbox that runs as another user (set_sandbox_identity) owns the
	 * directory the runner made for the session, and may pass through the
	 * base directory to reach it (search, not list). */
	if (s->own_workdir && s->rt->sandbox_fs.active) {
		const char *base = s->rt->settings->base_dir;
		struct stat st;

		if (stat(base, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 0011) != 0011)
			(void)chmod(base, (st.st_mode & 07777) | 0011);
		if (chown(s->workdir, (uid_t)s->rt->sandbox_fs.uid, (gid_t)s->rt->sandbox_fs.gid) <
		    0)
			log_emit(LOG_LEVEL_WARNING, "session", &s->ctx,
				 "cannot hand '%s' to the sandbox's user: %m", s->workdir);
	}
	if (s->rt->settings->hooks_dir) {
		struct hook_vars v;
		char msg[256];

		memset(&v, 0, sizeof(v));
		v.work_id = s->work_id;
		v.session_id = s->session_id;
		v.environment_id = s->environment_id;
		v.workdir = s->workdir;
		v.ctx = &s->ctx;
		r = hook_start(s->rt, HOOK_PRE_SESSION, &v, pre_hook_done, s, &s->hook, msg,
			       sizeof(msg));
		if (r == 0)
			return;
		if (r < 0) {
			log_emit(LOG_LEVEL_ERR, "session", &s->ctx, "pre-session hook failed: %s",
				 msg);
			session_end(s, SESSION_END_FAILED);
			return;
		}
	}
	run_executor(s);
}

static void
run_executor(struct session *s)
{
	const struct er_executor_ops *ops = exec_ops(s);
	struct er_session_info info;
	struct er_error err = { 0, "" };
	int r;

	if (!s->prepared) {
		/* Memory stores, then skills; comes back here when done. */
		prepare(s);
		return;
	}
	s->procs = proc_group_new(s->rt->spawner);
	if (!s->procs) {
		session_end(s, SESSION_END_FAILED);
		return;
	}
	proc_group_on_empty(s->procs, grace_recheck, s);
	if (sandbox_session_start(s) < 0) {
		session_end(s, SESSION_END_FAILED);
		return;
	}
	memset(&info, 0, sizeof(info));
	info.struct_size = sizeof(info);
	info.session_id = s->session_id;
	info.work_id = s->work_id;
	info.environment_id = s->environment_id;
	info.workdir = s->workdir;
	info.session_json = s->session_json;
	info.session_json_len = strlen(s->session_json);
	info.work_json = s->work_json;
	info.work_json_len = strlen(s->work_json);
	info.work_secret = s->work_secret;
	info.environment_key =
		s->rt->settings->command_environment_key ? s->rt->environment_key : NULL;
	if (s->memory) {
		info.allowed_roots = memory_roots(s->memory);
		info.read_only_roots = memory_read_only_roots(s->memory);
	}
	s->phase = PHASE_RUNNING;
	if (ops->session_start) {
		r = ops->session_start(s->rt->executor->state, (struct er_session *)s, &info,
				       &s->exec_sess, &err);
		if (r < 0) {
			log_emit(LOG_LEVEL_ERR, "session", &s->ctx,
				 "executor '%s' cannot start the session: %s",
				 s->rt->executor->desc.name, err.msg[0] ? err.msg : strerror(-r));
			session_end(s, SESSION_END_FAILED);
			return;
		}
	}
	s->exec_started = 1;
	loop_cancel_timer(s->startup_timer);
	s->startup_timer = NULL;
	log_emit(LOG_LEVEL_INFO, "session", &s->ctx, "session started in '%s'", s->workdir);
	if (!(ops->flags & ER_EXECUTOR_NO_STREAM)) {
		const struct settings *set = s->rt->settings;
		struct stream_callbacks cb = {
			.tool_call = stream_tool_call,
			.tool_cancel = stream_tool_cancel,
			.thread_stop = stream_thread_stop,
			.event = (ops->flags & ER_EXECUTOR_EVENTS) && ops->session_event
					 ? stream_event
					 : NULL,
			.ended = stream_ended,
			.call_done = stream_call_done,
			.call_stopped = stream_call_stopped,
			.idle = stream_idle,
			.settled = grace_recheck,
			.history = (ops->flags & ER_EXECUTOR_HISTORY) && ops->session_history
					   ? stream_history
					   : NULL,
		};
		struct stream_options o = {
			.session_id = s->session_id,
			.token = s->token,
			.max_idle_ms = (long)set->max_idle_sec * 1000L,
			.tool_timeout_ms = (long)set->tool_timeout_sec * 1000L,
			.send_window_ms = s->lease ? lease_ttl_ms(s->lease) : 0,
			.event_tool_use = !(ops->flags & ER_EXECUTOR_TOOL_CALLS),
			.journal = s->journal,
			.ctx = &s->ctx,
		};

		s->stream = stream_start(s->rt->loop, s->rt->api, &o, &cb, s);
		if (!s->stream)
			session_end(s, SESSION_END_FAILED);
		else if (s->held)
			stream_hold(s->stream);
	}
}

static void fetch_session_fired(void *userdata);

static void
session_fetched(void *userdata, const struct api_result *res)
{
	struct session *s = userdata;
	const char *status;
	size_t len;
	const char *raw;

	s->call = NULL;
	if (res->status != 200 || !res->doc || json_kind(res->doc, 0) != JSON_OBJECT) {
		long delay = SESSION_READ_BACKOFF_MIN_MS;

		log_emit(res->fatal ? LOG_LEVEL_ERR : LOG_LEVEL_WARNING, "session", &s->ctx,
			 "cannot read the session: %s",
			 res->status ? (res->error_message ? res->error_message : "bad answer")
				     : res->transport_error);
		if (res->fatal) {
			session_end(s, SESSION_END_FAILED);
			return;
		}
		/* A failed read would stop the item: retry while the lease lasts. */
		for (int i = 0; i < s->read_attempts && delay < SESSION_READ_BACKOFF_MAX_MS; i++)
			delay *= 2;
		if (delay > SESSION_READ_BACKOFF_MAX_MS)
			delay = SESSION_READ_BACKOFF_MAX_MS;
		s->read_attempts++;
		delay = delay / 2 + (long)((double)(delay - delay / 2) * rand_unit());
		loop_add_timer(s->rt->loop, (uint64_t)delay, fetch_session_fired, s, &s->timer);
		return;
	}
	status = json_get_str(res->doc, 0, "status");
	if (status && strcmp(status, "terminated") == 0) {
		log_emit(LOG_LEVEL_INFO, "session", &s->ctx,
			 "session is terminated, not running it");
		session_end(s, SESSION_END_TERMINATED);
		return;
	}
	raw = json_raw(res->doc, 0, &len);
	s->session_json = strndup(raw, len);
	if (!s->session_json) {
		session_end(s, SESSION_END_FAILED);
		return;
	}
	start_executor(s);
}

static void
fetch_session(struct session *s)
{
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	if (api_path(&path, "/v1/sessions/%s", s->session_id) < 0)
		goto fail;
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.path = path.data;
	r.token = s->token;
	r.beta = API_BETA_MANAGED_AGENTS;
	r.helper = "environments-worker";
	r.timeout_ms = SESSION_READ_TIMEOUT_MS;
	r.max_retries = -1;
	if (api_call(s->rt->api, &r, session_fetched, s, &s->call) < 0)
		goto fail;
	buf_release(&path);
	return;
fail:
	buf_release(&path);
	session_end(s, SESSION_END_FAILED);
}

static void
fetch_session_fired(void *userdata)
{
	struct session *s = userdata;

	s->timer = NULL;
	fetch_session(s);
}

static void
startup_timeout_fired(void *userdata)
{
	struct session *s = userdata;

	s->startup_timer = NULL;
	metrics.watchdog_fired[METRICS_WATCHDOG_STARTUP]++;
	session_end(s, SESSION_END_STARTUP_TIMEOUT);
}

static void
runtime_limit_fired(void *userdata)
{
	struct session *s = userdata;

	s->runtime_timer = NULL;
	metrics.watchdog_fired[METRICS_WATCHDOG_MAX_RUNTIME]++;
	session_end(s, SESSION_END_MAX_RUNTIME);
}

/* The item as JSON without its secret, for executors and logs. */
static char *
work_without_secret(const struct json_doc *work)
{
	struct buf b = BUF_INIT(JSON_MAX_INPUT);
	int first = 1;

	if (buf_putc(&b, '{') < 0)
		goto fail;
	int n = json_size(work, 0);
	int k = json_first(work, 0);

	for (int i = 0; i < n; i++, k = json_next(work, k + 1)) {
		size_t klen;
		size_t vlen;
		const char *kraw = json_raw(work, k, &klen);
		const char *vraw = json_raw(work, k + 1, &vlen);

		if (strcmp(json_str(work, k), "secret") == 0)
			continue;
		/* A key's raw text includes its quotes. */
		if ((!first && buf_putc(&b, ',') < 0) || buf_append(&b, kraw, klen) < 0 ||
		    buf_putc(&b, ':') < 0 || buf_append(&b, vraw, vlen) < 0)
			goto fail;
		first = 0;
	}
	if (buf_putc(&b, '}') < 0)
		goto fail;
	return buf_steal(&b);
fail:
	buf_release(&b);
	return NULL;
}

/* The directory the session had before the runner restarted, with what it
 * made there; taken back before the start's sweep could remove it. */
static void
adopt_workdir(struct session *s, const char *dir)
{
	int r = -ENOMEM;

	s->workdir = strdup(dir);
	if (s->workdir && (r = sessiondir_adopt(s->workdir)) == 0) {
		s->own_workdir = 1;
		return;
	}
	log_emit(LOG_LEVEL_WARNING, "session", &s->ctx,
		 "cannot take back the session's directory '%s' (%s): the session goes on in a "
		 "new one",
		 dir, strerror(-r));
	free(s->workdir);
	s->workdir = NULL;
}

/* Keep the item's record (journal.h), or take the one it was resumed
 * from; the lease starts where that record says. */
static int
start_lease(struct session *s, const struct json_doc *work)
{
	static const struct lease_callbacks lease_cb = { lease_claimed, lease_ended,
							 lease_ttl_changed, lease_beaten };
	struct runtime *rt = s->rt;
	struct journal_item *resumed = s->resumed ? s->journal : NULL;
	struct lease_resume resume;
	const struct lease_resume *from = NULL;

	if (resumed) {
		if (journal_item_workdir(resumed) && !rt->settings->workdir)
			adopt_workdir(s, journal_item_workdir(resumed));
		/* No beat had succeeded: the item is claimed as if new. */
		if (journal_item_last_heartbeat(resumed)) {
			resume.last_heartbeat = journal_item_last_heartbeat(resumed);
			resume.remaining_ms =
				(long)(journal_item_lease_until(resumed) - journal_now_ms());
			from = &resume;
		}
	} else if (s->serves_session && rt->items_dir) {
		struct journal_origin origin = { rt->settings->api_url, s->environment_id,
						 rt->worker_id };
		size_t len;
		const char *raw = json_raw(work, 0, &len);

		s->journal =
			journal_item_new(rt->loop, rt->items_dir, &origin, s->work_id, raw, len);
	}
	s->lease = lease_start(rt->loop, rt->api, s->environment_id, s->work_id, s->token, from,
			       &s->ctx, &lease_cb, s);
	return s->lease ? 0 : -ENOMEM;
}

static struct session *
session_begin(struct runtime *rt, const struct json_doc *work, struct journal_item *resumed)
{
	struct session *s = calloc(1, sizeof(*s));
	int data = json_get(work, 0, "data");
	const char *type = json_get_str(work, data, "type");
	const char *sid = json_get_str(work, data, "id");
	const char *secret = json_get_str(work, 0, "secret");
	char *token = NULL;
	int token_ret;

	if (!s) {
		journal_item_free(resumed);
		return NULL;
	}
	s->rt = rt;
	s->journal = resumed;
	s->resumed = resumed != NULL;
	s->work_id = strdup(json_get_str(work, 0, "id"));
	s->environment_id = strdup(rt->settings->environment_id);
	s->session_id = strdup(sid ? sid : "");
	s->work_json = work_without_secret(work);
	if (!s->work_id || !s->environment_id || !s->session_id || !s->work_json)
		goto oom;
	s->ctx.work_id = s->work_id;
	s->ctx.session_id = *s->session_id ? s->session_id : NULL;

	if (secret) {
		s->work_secret = strdup(secret);
		if (!s->work_secret || log_add_secret(s->work_secret) < 0)
			goto oom;
	}
	token_ret = secret ? work_secret_sessions_token(secret, &token) : -EINVAL;
	if (token_ret == 0) {
		s->token = token;
		log_add_secret(token);
	} else {
		if (token_ret == -EBADMSG)
			log_emit(
				LOG_LEVEL_ERR, "session", &s->ctx,
				"the work secret's sessions token holds a control character, which "
				"no header may carry: the item is given up (stopped with the "
				"environment key) and its session is not served");
		else if (secret)
			log_emit(LOG_LEVEL_WARNING, "session", &s->ctx,
				 "the work secret carries no sessions token, using the environment "
				 "key");
		if (!rt->environment_key) {
			log_emit(LOG_LEVEL_ERR, "session", &s->ctx,
				 "no sessions token in the work secret and no environment key");
			goto oom;
		}
		s->token = strdup(rt->environment_key);
		if (!s->token)
			goto oom;
	}
	metrics.sessions_started++;
	metrics.sessions_active++;
	if (rt->settings->startup_timeout_sec > 0)
		loop_add_timer(rt->loop, (uint64_t)rt->settings->startup_timeout_sec * 1000u,
			       startup_timeout_fired, s, &s->startup_timer);
	if (rt->settings->kill_session_after_sec > 0)
		loop_add_timer(rt->loop, (uint64_t)rt->settings->kill_session_after_sec * 1000u,
			       runtime_limit_fired, s, &s->runtime_timer);
	if (token_ret == -EBADMSG) {
		/* A forged secret: nothing of the session is read with it. */
		session_end(s, SESSION_END_FAILED);
		return s;
	}
	s->serves_session = type && strcmp(type, "session") == 0 && *s->session_id;
	if (!s->serves_session)
		log_emit(LOG_LEVEL_INFO, "session", &s->ctx,
			 "work item of type '%s' needs no session: claimed, then stopped",
			 type ? type : "healthcheck");
	/* The first heartbeat claims the item: nothing of the session is read
	 * before it succeeded.  Unless the executor's program keeps the lease
	 * (it must send the first heartbeat). */
	if (!program_owns_lease(s)) {
		if (start_lease(s, work) < 0)
			goto oom;
		return s;
	}
	lease_claimed(s);
	return s;
oom:
	session_free(s);
	return NULL;
}

struct session *
session_start(struct runtime *rt, const struct json_doc *work)
{
	return session_begin(rt, work, NULL);
}

struct session *
session_resume(struct runtime *rt, struct journal_item *ji)
{
	struct json_doc *work = NULL;
	struct session *s = NULL;
	size_t len;
	const char *raw = journal_item_work(ji, &len);
	char err[128];

	if (json_parse(raw, len, &work, err, sizeof(err)) == 0)
		s = session_begin(rt, work, ji);
	else
		journal_item_free(ji);
	json_free(work);
	return s;
}

void
session_free(struct session *s)
{
	if (!s)
		return;
	if (s->phase != PHASE_FINISHED && s->token)
		metrics.sessions_active--;
	hook_cancel(s->hook);
	cancel_watchdogs(s);
	/* Killed mid-session: the lock goes, the directory stays for the next
	 * start's sweep. */
	loop_cancel_timer(s->timer);
	loop_cancel_timer(s->memory_timer);
	skills_free(s->skills);
	memory_free(s->memory);
	api_call_cancel(s->call);
	stream_free(s->stream);
	proc_group_free(s->procs);
	sandbox_session_end(s);
	lease_free(s->lease);
	/* Stopped before its end (the runner exits): the record stays. */
	journal_item_free(s->journal);
	/* The environment key stays registered: the runner still holds it. */
	if (s->token && (!s->rt->environment_key || strcmp(s->token, s->rt->environment_key) != 0))
		log_remove_secret(s->token);
	secret_free(s->token);
	if (s->work_secret)
		log_remove_secret(s->work_secret);
	secret_free(s->work_secret);
	free(s->work_id);
	free(s->session_id);
	free(s->environment_id);
	free(s->work_json);
	free(s->session_json);
	free(s->workdir);
	free(s);
}
