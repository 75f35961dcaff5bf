/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <environment-runner/plugin.h>

#include "event-stream.h"
#include "http.h"
#include "jsonw.h"
#include "metrics.h"
#include "rand.h"
#include "secret.h"
#include "json-trim.h"
#include "session-view.h"
#include "sse.h"

#define STREAM_BACKOFF_MIN_MS 500L
#define STREAM_BACKOFF_MAX_MS 10000L
#define STREAM_SILENCE_MS 120000L /* no byte, not even a keep-alive */
#define STREAM_MAX_MESSAGE (8u << 20)
/* An event of the history past this is read as a stub (its type and ids),
 * so that the rest of its page still fits HTTP_MAX_BODY. */
#define HISTORY_MAX_EVENT (4u << 20)
/* Each read of a connection (the stream's headers, the session, a page of
 * the history) gets this long, doubling with every connection that did
 * not read the whole history. */
#define READ_TIMEOUT_MS 15000L
#define READ_TIMEOUT_MAX_MS 240000L
/* Live, each message (keep-alives included) is due within this, doubling
 * with every reconnect it causes, for a server whose keep-alives are rarer:
 * a stream that drips bytes but never a whole message is reconnected. */
#define LIVE_TIMEOUT_MS 15000L
#define LIVE_TIMEOUT_MAX_MS 240000L
#define SEND_TIMEOUT_MS 15000L
#define SEND_TIMEOUT_MAX_MS 240000L
#define SEND_BACKOFF_MIN_MS 1000L
#define SEND_BACKOFF_MAX_MS 30000L
#define HISTORY_PAGE_LIMIT 1000

/* A session thread whose calls were run: the executor may keep something
 * for it (the toolset's shell) until the thread is over. */
struct worked_thread {
	struct worked_thread *next;
	char *thread_id; /* NULL: the primary thread */
};

/* A queued POST of one event. */
struct outgoing {
	struct outgoing *next;
	char *body;
	size_t len;
	struct call *call; /* the call whose result it is, or NULL */
	uint64_t first_attempt;
	int attempts;
	int replacement; /* the error result that replaces a refused one */
};

/* A live event that arrived while the connection read the history. */
struct pending_event {
	struct pending_event *next;
	char *json;
	size_t len;
};

enum connect_phase {
	PHASE_IDLE,    /* waiting to reconnect */
	PHASE_OPENING, /* the stream's headers and GET /v1/sessions/{id}, at once */
	PHASE_HISTORY, /* the event list */
	PHASE_LIVE,
};

struct stream {
	struct loop *loop;
	struct api *api;
	char *session_id;
	char *token;
	struct log_ctx ctx;
	long max_idle_ms;
	long tool_timeout_ms;
	long send_window_ms;
	int event_tool_use;
	struct journal_item *journal;
	struct stream_callbacks cb;
	void *userdata;

	/* The connection. */
	enum connect_phase phase;
	struct http_request *sse;
	struct sse_parser parser;
	struct api_call *read_call;    /* the session, then each page of its history */
	int stream_open;	       /* this connection's stream answered its headers */
	int status_read;	       /* ... and its session's status was read */
	struct loop_timer *read_timer; /* due at read_timer_due, at or before read_due */
	uint64_t read_timer_due;
	uint64_t read_due; /* the current read's deadline (loop_now_ms()) */
	uint64_t byte_at;  /* when the stream's connection last gave a byte */
	long read_timeout_ms;
	int read_attempts;
	long live_timeout_ms;	  /* the next message's, once live */
	struct json_trim history; /* the history page being read */
	int oversized_uses;	  /* tool uses skipped for their size, not yet named */
	int oversized_custom;	  /* ... of which custom tool uses */
	long backoff_ms;
	struct loop_timer *reconnect_timer;
	uint64_t reads_began;
	int idle_when_read;
	struct pending_event *pending_head;
	struct pending_event **pending_tail;

	/* The view, and its calls. */
	struct session_view view;
	struct worked_thread *worked; /* kept across views */
	int tool_running;
	uint64_t running_since;
	struct loop_timer *tool_timer;
	struct loop_timer *start_timer;
	int holding;

	/* Sends. */
	struct outgoing *out_head;
	struct outgoing **out_tail;
	struct api_call *send_call;
	struct loop_timer *send_timer;
	int abandoned; /* the lease is lost: nothing more is posted */

	/* The idle countdown. */
	uint64_t active_at;
	uint64_t idle_ends_at; /* 0: not counting */
	struct loop_timer *idle_timer;

	/* Ending. */
	int ending;
	enum stream_end end_why;
	struct loop_timer *end_timer;
};

static void connect_stream(struct stream *st);
static void reconnect_later(struct stream *st);
static void act(struct stream *st);
static void start_fired(void *userdata);

static void
note_worked_thread(struct stream *st, const char *thread_id)
{
	struct worked_thread *w;

	for (w = st->worked; w; w = w->next) {
		if (session_view_same_thread(w->thread_id, thread_id))
			return;
	}
	w = calloc(1, sizeof(*w));
	if (!w || (thread_id && !(w->thread_id = strdup(thread_id)))) {
		free(w);
		return;
	}
	w->next = st->worked;
	st->worked = w;
}

/* As the SDK's tool runner aborts a thread's signal: a thread that has
 * terminated and runs no call any more is over for the executor. */
static void
release_terminated_threads(struct stream *st)
{
	struct worked_thread **p = &st->worked;

	while (*p) {
		struct worked_thread *w = *p;

		if (!session_view_thread_terminated(&st->view, w->thread_id) ||
		    (st->view.running &&
		     session_view_same_thread(st->view.running->thread_id, w->thread_id))) {
			p = &w->next;
			continue;
		}
		*p = w->next;
		if (st->cb.thread_stop)
			st->cb.thread_stop(st->userdata, w->thread_id);
		free(w->thread_id);
		free(w);
	}
}

static void
free_worked_threads(struct stream *st)
{
	while (st->worked) {
		struct worked_thread *w = st->worked;

		st->worked = w->next;
		free(w->thread_id);
		free(w);
	}
}

/* ---- ending, the idle countdown ----------------------------------------- */

static void
end_fired(void *userdata)
{
	struct stream *st = userdata;

	st->end_timer = NULL;
	st->cb.ended(st->userdata, st->end_why);
}

/* Ending is reported from the loop, never from inside a curl callback or a
 * tool call, so the owner may free the stream in its callback. */
static void
end_soon(struct stream *st, enum stream_end why)
{
	if (st->ending)
		return;
	st->ending = 1;
	st->end_why = why;
	loop_cancel_timer(st->idle_timer);
	st->idle_timer = NULL;
	loop_add_timer(st->loop, 0, end_fired, st, &st->end_timer);
}

static void drop_connection(struct stream *st);

/* At the end of the countdown the connection is read again: only a read
 * that began after it ended may confirm that the session is still idle. */
static void
idle_fired(void *userdata)
{
	struct stream *st = userdata;

	st->idle_timer = NULL;
	if (st->phase != PHASE_LIVE)
		return;
	log_emit(LOG_LEVEL_DEBUG, "stream", &st->ctx,
		 "idle countdown ended, reading the session again");
	drop_connection(st);
	reconnect_later(st);
}

/* The countdown ends max_idle_ms after the later of the idle that ended
 * the turn and the last call's end; `counting` 0 stops it. */
static void
count_idle(struct stream *st, int counting)
{
	uint64_t from;

	loop_cancel_timer(st->idle_timer);
	st->idle_timer = NULL;
	st->idle_ends_at = 0;
	if (!counting || !st->view.idle_since_set || st->max_idle_ms <= 0)
		return;
	from = st->view.idle_since > st->active_at ? st->view.idle_since : st->active_at;
	st->idle_ends_at = from + (uint64_t)st->max_idle_ms;
	if (st->phase == PHASE_LIVE && !st->ending) {
		uint64_t now = loop_now_ms();

		loop_add_timer(st->loop, st->idle_ends_at > now ? st->idle_ends_at - now : 0,
			       idle_fired, st, &st->idle_timer);
	}
}

/* ---- sending ------------------------------------------------------------ */

static void send_next(struct stream *st);
static void call_finished(struct stream *st, struct call *c);
static void settle(struct stream *st);

static void
outgoing_free(struct outgoing *o)
{
	free(o->body);
	free(o);
}

static void
send_retry_fired(void *userdata)
{
	struct stream *st = userdata;

	st->send_timer = NULL;
	send_next(st);
}

static long
backoff_ms(int attempt, long base, long cap)
{
	long d = base;

	for (int i = 0; i < attempt && d < cap; i++)
		d *= 2;
	return d < cap ? d : cap;
}

/* Uniform in [d/2, d). */
static long
jitter_half(long d)
{
	return d / 2 + (long)((double)(d - d / 2) * rand_unit());
}

static int
encode_result(struct buf *b, const struct call *c, int is_error, const char *text, size_t len);

/* A refused result leaves the call open, so an error result takes its place. */
static int
queue_replacement(struct stream *st, struct outgoing *o, const struct api_result *res)
{
	struct buf text = BUF_INIT(8192);
	struct buf b = BUF_INIT(HTTP_MAX_BODY);
	struct outgoing *r;
	const char *sep = " (";

	if (buf_printf(&text, "The API refused the result of tool '%s': %ld %s", o->call->name,
		       res->status,
		       res->error_message ? res->error_message : "status code (no body)") < 0)
		goto fail;
	if (res->error_code && buf_printf(&text, "%serror_code: %s", sep, res->error_code) == 0)
		sep = ", ";
	if (res->error_type && buf_printf(&text, "%stype: %s", sep, res->error_type) == 0)
		sep = ", ";
	if (*sep == ',' && buf_putc(&text, ')') < 0)
		goto fail;
	if (encode_result(&b, o->call, 1, text.data, text.len) < 0)
		goto fail;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto fail;
	r->len = b.len;
	r->body = buf_steal(&b);
	r->call = o->call;
	r->replacement = 1;
	/* It shares the refused one's retry window. */
	r->first_attempt = o->first_attempt;
	r->attempts = o->attempts;
	r->next = o->next;
	o->next = r;
	if (st->out_tail == &o->next)
		st->out_tail = &r->next;
	buf_release(&text);
	return 0;
fail:
	buf_release(&text);
	buf_release(&b);
	return -ENOMEM;
}

/* Whether a failed send may be tried again, and after how long. */
static int
send_retry_delay(struct stream *st, const struct outgoing *o, long *delay)
{
	uint64_t now = loop_now_ms();
	uint64_t window_end;

	*delay = jitter_half(backoff_ms(o->attempts - 1, SEND_BACKOFF_MIN_MS, SEND_BACKOFF_MAX_MS));
	if (!st->holding && !st->ending)
		return 1;
	/* Only a stopping stream gives up, after a last attempt at the end
	 * of the window (the lease's TTL). */
	window_end = o->first_attempt + (uint64_t)st->send_window_ms;
	if (now >= window_end)
		return 0;
	if (now + (uint64_t)*delay > window_end)
		*delay = (long)(window_end - now);
	return 1;
}

static void
send_done(void *userdata, const struct api_result *res)
{
	struct stream *st = userdata;
	struct outgoing *o = st->out_head;
	struct call *call = o->call;
	long delay;

	st->send_call = NULL;
	if (res->status >= 200 && res->status < 300) {
		metrics.events_sent++;
		goto next;
	}
	log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx, "sending %s failed: %s",
		 call ? "a tool result" : "an event",
		 res->status ? (res->error_message ? res->error_message : "HTTP error")
			     : res->transport_error);
	if (res->fatal) {
		metrics.event_send_failures++;
		if (call && !o->replacement && (res->status == 400 || res->status == 413) &&
		    queue_replacement(st, o, res) == 0)
			call = NULL;
		else if (call)
			log_emit(LOG_LEVEL_ERR, "stream", &st->ctx,
				 "failed to send the result of '%s'", call->id);
		/* Not this event but our right to answer the session was refused
		 * (401, 403, 404...): no call can be answered any more, so the
		 * item is given up rather than its capacity slot held. */
		if (res->status != 400 && res->status != 413) {
			log_emit(LOG_LEVEL_ERR, "stream", &st->ctx,
				 "the session refused our events with HTTP %ld, giving the item up",
				 res->status);
			end_soon(st, STREAM_END_FATAL);
		}
		goto next;
	}
	if (st->abandoned || !send_retry_delay(st, o, &delay)) {
		metrics.event_send_failures++;
		log_emit(LOG_LEVEL_ERR, "stream", &st->ctx, "could not send %s within %ld ms",
			 call ? "a tool result" : "an event", st->send_window_ms);
		goto next;
	}
	metrics.event_send_retries++;
	loop_add_timer(st->loop, (uint64_t)delay, send_retry_fired, st, &st->send_timer);
	return;
next:
	st->out_head = o->next;
	if (!st->out_head)
		st->out_tail = &st->out_head;
	outgoing_free(o);
	send_next(st);
	if (call)
		call_finished(st, call);
	settle(st);
}

static void
send_next(struct stream *st)
{
	struct outgoing *o = st->out_head;
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	if (!o || st->send_call || st->send_timer || st->abandoned)
		return;
	if (!o->first_attempt)
		o->first_attempt = loop_now_ms();
	if (api_path(&path, "/v1/sessions/%s/events", st->session_id) < 0)
		goto fail;
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = path.data;
	r.token = st->token;
	r.beta = API_BETA_MANAGED_AGENTS;
	r.helper = "environments-worker, session-tool-runner";
	r.body = o->body;
	r.body_len = o->len;
	/* Each attempt gets twice as long as the one before, so that a large
	 * body can pass a slow link. */
	r.timeout_ms = backoff_ms(o->attempts, SEND_TIMEOUT_MS, SEND_TIMEOUT_MAX_MS);
	r.max_retries = -1;
	/* The answer echoes the events sent: its status is all that counts. */
	r.success_body_unread = 1;
	o->attempts++;
	if (api_call(st->api, &r, send_done, st, &st->send_call) < 0)
		goto fail;
	buf_release(&path);
	return;
fail:
	buf_release(&path);
	loop_add_timer(st->loop, SEND_BACKOFF_MIN_MS, send_retry_fired, st, &st->send_timer);
}

/* Queue `{"events":[event]}` for posting; takes the body. */
static int
enqueue_send(struct stream *st, char *body, size_t len, struct call *call)
{
	struct outgoing *o = calloc(1, sizeof(*o));

	if (!o) {
		free(body);
		return -ENOMEM;
	}
	o->body = body;
	o->len = len;
	o->call = call;
	*st->out_tail = o;
	st->out_tail = &o->next;
	send_next(st);
	return 0;
}

int
stream_send_event(struct stream *st, const char *json, size_t len)
{
	struct buf b = BUF_INIT(HTTP_MAX_BODY);

	if (buf_puts(&b, "{\"events\":[") < 0 || buf_append(&b, json, len) < 0 ||
	    buf_puts(&b, "]}") < 0) {
		buf_release(&b);
		return -ENOSPC;
	}
	len = b.len;
	return enqueue_send(st, buf_steal(&b), len, NULL);
}

/* The result event of `c`, as the SDK shapes it (docs/protocol.md §4). */
static int
encode_result(struct buf *b, const struct call *c, int is_error, const char *text, size_t len)
{
	struct jsonw w;

	jw_init(&w, b);
	jw_object_begin(&w);
	jw_key(&w, "events");
	jw_array_begin(&w);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, c->custom ? "user.custom_tool_result" : "user.tool_result");
	jw_key(&w, c->custom ? "custom_tool_use_id" : "tool_use_id");
	jw_string(&w, c->id);
	jw_key(&w, "is_error");
	jw_bool(&w, is_error);
	jw_key(&w, "content");
	jw_array_begin(&w);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "text");
	jw_key(&w, "text");
	if (len)
		jw_stringn(&w, text, len);
	else
		jw_string(&w, "(no output)");
	jw_object_end(&w);
	jw_array_end(&w);
	jw_object_end(&w);
	jw_array_end(&w);
	jw_object_end(&w);
	return jw_finish(&w);
}

/* Post the result of the running call `c`; the call ends once it is sent
 * or given up on. */
static void
post_result(struct stream *st, struct call *c, int is_error, const char *text, size_t len)
{
	struct buf b = BUF_INIT(HTTP_MAX_BODY);

	/* A terminated thread takes no result. */
	if (session_view_thread_terminated(&st->view, c->thread_id)) {
		log_emit(LOG_LEVEL_INFO, "stream", &st->ctx,
			 "thread terminated; not posting the result of '%s'", c->id);
		call_finished(st, c);
		return;
	}
	if (encode_result(&b, c, is_error, text, len) < 0) {
		log_emit(LOG_LEVEL_ERR, "stream", &st->ctx, "cannot encode the result of '%s'",
			 c->id);
		buf_release(&b);
		call_finished(st, c);
		return;
	}
	/* Kept before it is sent: were the runner to die before the API
	 * accepted it, its restart sends it. */
	(void)journal_item_result(st->journal, c->id, is_error, text, len);
	len = b.len;
	if (enqueue_send(st, buf_steal(&b), len, c) < 0)
		call_finished(st, c);
}

/* ---- running calls ------------------------------------------------------ */

/* Tell the owner when nothing runs or is sent any more. */
static void
settle(struct stream *st)
{
	if (!stream_busy(st) && st->cb.settled)
		st->cb.settled(st->userdata);
}

/* The call's tool and post are over: the next call may start. */
static void
call_finished(struct stream *st, struct call *c)
{
	if (st->view.running != c)
		return;
	st->view.running = NULL;
	st->tool_running = 0;
	call_drop_input(c);
	journal_item_call_over(st->journal, c->id);
	/* A call left to others did not run. */
	if (!c->declined)
		st->active_at = loop_now_ms();
	if (st->cb.call_done)
		st->cb.call_done(st->userdata, c->id);
	session_view_call_over(&st->view, c);
	/* From the loop: the owner's callbacks may be on the stack. */
	if (!st->start_timer && !st->ending)
		loop_add_timer(st->loop, 0, start_fired, st, &st->start_timer);
	settle(st);
}

/* End the running tool without its result: stopped or timed out. */
static void
stop_tool(struct stream *st, const char *why, enum metrics_tool_outcome outcome, int post)
{
	struct call *c = st->view.running;
	char msg[512];

	if (!c || !st->tool_running)
		return;
	loop_cancel_timer(st->tool_timer);
	st->tool_timer = NULL;
	st->tool_running = 0;
	metrics_tool_call(c->name, outcome, loop_now_ms() - st->running_since);
	st->cb.tool_cancel(st->userdata, c->id);
	if (st->cb.call_stopped)
		st->cb.call_stopped(st->userdata, c->id);
	if (!post) {
		call_finished(st, c);
		return;
	}
	if (outcome == METRICS_TOOL_TIMEOUT)
		snprintf(msg, sizeof(msg), "tool '%s' timed out", c->name);
	else
		snprintf(msg, sizeof(msg),
			 "tool '%s' was stopped, and may have already done some or all of its work",
			 c->name);
	log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "tool call '%s' (%s) %s", c->id, c->name, why);
	post_result(st, c, 1, msg, strlen(msg));
}

static void
tool_timeout_fired(void *userdata)
{
	struct stream *st = userdata;

	st->tool_timer = NULL;
	stop_tool(st, "timed out", METRICS_TOOL_TIMEOUT, 1);
}

void
stream_tool_result(struct stream *st, const char *id, int is_error, const char *text, size_t len)
{
	struct call *c = st->view.running;

	if (!c || !st->tool_running || strcmp(c->id, id) != 0) {
		log_emit(LOG_LEVEL_DEBUG, "stream", &st->ctx, "late result for '%s' dropped", id);
		return;
	}
	loop_cancel_timer(st->tool_timer);
	st->tool_timer = NULL;
	st->tool_running = 0;
	metrics_tool_call(c->name, is_error ? METRICS_TOOL_ERROR : METRICS_TOOL_OK,
			  loop_now_ms() - st->running_since);
	post_result(st, c, is_error, text, len);
}

/* A call this item's record knows from before the runner restarted is
 * never run again: its kept result is sent, or, when it was running, an
 * error saying so.  1 when answered. */
static int
answer_from_record(struct stream *st, struct call *c)
{
	const char *text = NULL;
	size_t len = 0;
	int is_error = 0;
	char msg[512];

	switch (journal_item_call(st->journal, c->id, &is_error, &text, &len)) {
	case JOURNAL_CALL_UNKNOWN:
		return 0;
	case JOURNAL_CALL_RESULT:
		metrics.results_replayed++;
		log_emit(LOG_LEVEL_INFO, "stream", &st->ctx,
			 "tool call '%s' (%s) finished before the runner restarted: sending its "
			 "kept result",
			 c->id, c->name);
		post_result(st, c, is_error, text, len);
		return 1;
	case JOURNAL_CALL_STARTED:
		break;
	}
	metrics.calls_interrupted++;
	metrics_tool_call(c->name, METRICS_TOOL_ERROR, 0);
	log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx,
		 "tool call '%s' (%s) was running when the runner restarted: answering it with "
		 "an error, not running it again",
		 c->id, c->name);
	snprintf(msg, sizeof(msg),
		 "tool '%s' was interrupted: the runner restarted while it ran, and it may have "
		 "already done some or all of its work; it was not run again",
		 c->name);
	post_result(st, c, 1, msg, strlen(msg));
	return 1;
}

static void
start_call(struct stream *st, struct call *c)
{
	int r;

	c->handled = 1;
	st->view.running = c;
	st->running_since = loop_now_ms();
	if (c->oversized) {
		static const char msg[] = "Error: the event of this tool call is too large for the "
					  "runner to read; the call was not run";

		st->tool_running = 0;
		metrics_tool_call(c->name, METRICS_TOOL_ERROR, 0);
		post_result(st, c, 1, msg, sizeof(msg) - 1);
		return;
	}
	if (answer_from_record(st, c))
		return;
	journal_item_call_started(st->journal, c->id);
	st->tool_running = 1;
	log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "running tool call '%s' (%s)", c->id, c->name);
	note_worked_thread(st, c->thread_id);
	r = st->cb.tool_call(st->userdata, c->id, c->name, c->input, c->input_len, c->thread_id);
	if (st->view.running != c || !st->tool_running)
		return;
	if (r == ER_DECLINED) {
		/* Not ours: left for another client, as the SDK does. */
		log_emit(LOG_LEVEL_INFO, "stream", &st->ctx,
			 "no tool named '%s' here, leaving call '%s' to other clients", c->name,
			 c->id);
		c->declined = 1;
		st->tool_running = 0;
		call_finished(st, c);
	} else if (r < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "Error: %s could not start: %s", c->name, strerror(-r));
		st->tool_running = 0;
		metrics_tool_call(c->name, METRICS_TOOL_ERROR, 0);
		post_result(st, c, 1, msg, strlen(msg));
	} else if (st->tool_timeout_ms > 0) {
		loop_add_timer(st->loop, (uint64_t)st->tool_timeout_ms, tool_timeout_fired, st,
			       &st->tool_timer);
	}
}

/* What the view asks for: skip denied calls, hold unconfirmed ones, stop a
 * call the session no longer takes, schedule the next start, and count
 * down to the release. */
/* A tool use skipped for its size is never read, but the session still
 * lists its id as one it waits on: such a call, without an event, gets an
 * error result instead of waiting for good. */
static void
name_oversized_calls(struct stream *st)
{
	for (struct call *c = st->view.head; c && st->oversized_uses > 0; c = c->next) {
		if (!c->in_view || c->has_event || c->handled || !call_is_waited_on(c))
			continue;
		call_set_oversized(c, st->oversized_custom > 0);
		st->oversized_custom -= c->custom;
		st->oversized_uses--;
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx,
			 "tool call '%s' is the one too large to read: answering it with an error",
			 c->id);
	}
}

static void
act(struct stream *st)
{
	if (st->ending || st->phase != PHASE_LIVE)
		return;
	name_oversized_calls(st);
	for (struct call *c = st->view.head; c; c = c->next) {
		if (!c->in_view || !c->has_event || c->handled ||
		    session_view_thread_terminated(&st->view, c->thread_id))
			continue;
		if (call_is_denied(c)) {
			log_emit(LOG_LEVEL_INFO, "stream", &st->ctx,
				 "tool call '%s' denied, not run", c->id);
			c->handled = 1;
			if (st->cb.call_done)
				st->cb.call_done(st->userdata, c->id);
		} else if (call_is_waited_on(c) && call_is_unconfirmed(c) && !c->held_logged) {
			c->held_logged = 1;
			log_emit(LOG_LEVEL_INFO, "stream", &st->ctx,
				 "tool call '%s' awaits confirmation; holding", c->id);
		}
	}
	if (st->view.running && st->tool_running && call_is_resolved(st->view.running))
		stop_tool(st, "was answered elsewhere or its thread stopped",
			  METRICS_TOOL_CANCELLED, 1);
	release_terminated_threads(st);
	count_idle(st, !st->view.running);
	/* Started from the loop, so that the events read together with the
	 * call can still answer or deny it. */
	if (!st->view.running && !st->holding && !st->start_timer && session_view_due(&st->view))
		loop_add_timer(st->loop, 0, start_fired, st, &st->start_timer);
}

static void
start_fired(void *userdata)
{
	struct stream *st = userdata;
	struct call *c;

	st->start_timer = NULL;
	if (st->ending || st->phase != PHASE_LIVE || st->view.running || st->holding)
		return;
	if ((c = session_view_due(&st->view)))
		start_call(st, c);
	act(st);
}

/* ---- events ------------------------------------------------------------- */

static void
report_idle(struct stream *st)
{
	if (!st->view.running && st->cb.idle)
		st->cb.idle(st->userdata);
}

/* The session ended: stop the running tool, post what it left, end. */
static void
session_over(struct stream *st, enum stream_end why)
{
	log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "session %s",
		 why == STREAM_END_DELETED ? "deleted" : "terminated");
	st->holding = 1;
	stop_tool(st, "stopped: the session ended", METRICS_TOOL_CANCELLED, 1);
	end_soon(st, why);
}

static void
handle_live(struct stream *st, const char *json, size_t len)
{
	struct json_doc *doc = NULL;
	const char *type;
	char err[128];

	if (json_parse(json, len, &doc, err, sizeof(err)) < 0 || json_kind(doc, 0) != JSON_OBJECT) {
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx, "ignoring a malformed event: %s",
			 err);
		json_free(doc);
		return;
	}
	type = json_get_str(doc, 0, "type");
	if (!type)
		goto out;
	if (st->cb.event && (st->event_tool_use || (strcmp(type, "agent.tool_use") != 0 &&
						    strcmp(type, "agent.custom_tool_use") != 0)))
		st->cb.event(st->userdata, type, json, len);
	session_view_apply(&st->view, doc, type, json_get_str(doc, 0, "id"), loop_now_ms());
	if (st->view.ended) {
		session_over(st, strcmp(type, "session.deleted") == 0 ? STREAM_END_DELETED
								      : STREAM_END_TERMINATED);
		goto out;
	}
	act(st);
	if (strcmp(type, "session.status_idle") == 0)
		report_idle(st);
out:
	json_free(doc);
}

/* ---- the connection: stream, session, history --------------------------- */

static void
free_pending(struct stream *st)
{
	struct pending_event *p;

	while ((p = st->pending_head)) {
		st->pending_head = p->next;
		free(p->json);
		free(p);
	}
	st->pending_tail = &st->pending_head;
}

static void
drop_connection(struct stream *st)
{
	http_request_cancel(st->sse);
	st->sse = NULL;
	api_call_cancel(st->read_call);
	st->read_call = NULL;
	loop_cancel_timer(st->read_timer);
	st->read_timer = NULL;
	loop_cancel_timer(st->idle_timer);
	st->idle_timer = NULL;
	free_pending(st);
	st->phase = PHASE_IDLE;
}

/* A session that is ending starts no call: unless one still runs (its
 * answer may yet come from elsewhere), there is nothing left to read, and a
 * read would race the item's stop. */
static int
ending_reads(struct stream *st)
{
	if (!st->holding || st->view.running)
		return 0;
	drop_connection(st);
	return 1;
}

static void
reconnect_fired(void *userdata)
{
	struct stream *st = userdata;

	st->reconnect_timer = NULL;
	if (ending_reads(st))
		return;
	connect_stream(st);
}

static void
reconnect_later(struct stream *st)
{
	if (st->ending || st->reconnect_timer)
		return;
	drop_connection(st);
	metrics.sse_reconnects++;
	loop_add_timer(st->loop, (uint64_t)jitter_half(st->backoff_ms), reconnect_fired, st,
		       &st->reconnect_timer);
	st->backoff_ms = st->backoff_ms * 2 > STREAM_BACKOFF_MAX_MS ? STREAM_BACKOFF_MAX_MS
								    : st->backoff_ms * 2;
}

static void read_timeout_fired(void *userdata);

/* The same timer keeps the silence limit: a connection that gave no byte
 * in STREAM_SILENCE_MS died without closing.  (curl's own low-speed check
 * would wake every stream's transfer once a second to tell.) */
static void
arm_read_timer(struct stream *st, uint64_t now)
{
	uint64_t due = st->read_due;

	if (st->byte_at + STREAM_SILENCE_MS < due)
		due = st->byte_at + STREAM_SILENCE_MS;
	st->read_timer_due = due;
	loop_add_timer(st->loop, due > now ? due - now : 0, read_timeout_fired, st,
		       &st->read_timer);
}

static void
read_timeout_fired(void *userdata)
{
	struct stream *st = userdata;
	uint64_t now = loop_now_ms();

	st->read_timer = NULL;
	if (now < st->read_due && now < st->byte_at + STREAM_SILENCE_MS) {
		arm_read_timer(st, now);
		return;
	}
	if (now < st->read_due) {
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx,
			 "no byte in %ld ms, not even a keep-alive, reconnecting",
			 STREAM_SILENCE_MS);
	} else if (st->phase == PHASE_LIVE) {
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx,
			 "no whole message in %ld ms, not even a keep-alive, reconnecting",
			 st->live_timeout_ms);
		st->live_timeout_ms = st->live_timeout_ms * 2 > LIVE_TIMEOUT_MAX_MS
					      ? LIVE_TIMEOUT_MAX_MS
					      : st->live_timeout_ms * 2;
	} else {
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx,
			 "reading the session took over %ld ms, reconnecting", st->read_timeout_ms);
	}
	reconnect_later(st);
}

/* Each read of a connection gets its own deadline, and so does each
 * message once the connection is live.  A timer set for an earlier
 * deadline stays, and looks again when it fires: moving it at each message
 * would cost the loop's timer heap two operations an event. */
static void
read_deadline(struct stream *st)
{
	long ms = st->phase == PHASE_LIVE ? st->live_timeout_ms : st->read_timeout_ms;
	uint64_t now = loop_now_ms();

	st->read_due = now + (uint64_t)ms;
	if (st->read_timer && st->read_timer_due <= st->read_due)
		return;
	loop_cancel_timer(st->read_timer);
	st->read_timer = NULL;
	arm_read_timer(st, now);
}

/* A read failed: a refusal (4xx but 408, 409, 429) ends the stream, the
 * rest reconnects. */
static void
read_failed(struct stream *st, const char *what, const struct api_result *res)
{
	if (res->fatal) {
		log_emit(LOG_LEVEL_ERR, "stream", &st->ctx,
			 "reading the %s failed permanently: HTTP %ld %s", what, res->status,
			 res->error_message ? res->error_message : "");
		drop_connection(st);
		end_soon(st, STREAM_END_FATAL);
		return;
	}
	log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx, "reading the %s failed (%s), reconnecting",
		 what,
		 res->status ? (res->error_message ? res->error_message : "bad answer")
			     : res->transport_error);
	reconnect_later(st);
}

static void fetch_history(struct stream *st, const char *page);

static void
go_live(struct stream *st)
{
	struct pending_event *p;

	st->read_attempts = 0;
	if (st->cb.history)
		st->cb.history(st->userdata, NULL, NULL, 0);
	if (st->view.ended) {
		session_over(st, STREAM_END_TERMINATED);
		return;
	}
	st->phase = PHASE_LIVE;
	read_deadline(st);
	act(st);
	/* Only reads that began after the countdown ended can confirm that
	 * the session is still idle. */
	if (st->idle_ends_at && st->idle_ends_at <= st->reads_began) {
		log_emit(LOG_LEVEL_INFO, "stream", &st->ctx,
			 "session idle for %ld ms after its turn ended; stopping", st->max_idle_ms);
		drop_connection(st);
		end_soon(st, STREAM_END_IDLE);
		return;
	}
	if (st->idle_when_read)
		report_idle(st);
	while ((p = st->pending_head) && !st->ending && st->phase == PHASE_LIVE) {
		st->pending_head = p->next;
		if (!st->pending_head)
			st->pending_tail = &st->pending_head;
		handle_live(st, p->json, p->len);
		free(p->json);
		free(p);
	}
}

static void
history_done(void *userdata, const struct api_result *res)
{
	struct stream *st = userdata;
	struct json_doc *doc = NULL;
	const char *next;
	int data;
	int n;
	int e;

	st->read_call = NULL;
	if (res->status == 200)
		(void)json_parse(st->history.out.data ? st->history.out.data : "",
				 st->history.out.len, &doc, NULL, 0);
	/* The document has its own copy: a page's memory is not kept. */
	json_trim_reset(&st->history);
	if (res->status != 200 || !doc || json_kind(doc, json_get(doc, 0, "data")) != JSON_ARRAY) {
		json_free(doc);
		read_failed(st, "session's events", res);
		return;
	}
	data = json_get(doc, 0, "data");
	n = json_size(doc, data);
	e = json_first(doc, data);
	for (int i = 0; i < n; i++, e = json_next(doc, e)) {
		size_t len;
		const char *raw = json_raw(doc, e, &len);
		const char *type = json_get_str(doc, e, "type");

		if (json_kind(doc, e) != JSON_OBJECT || !type)
			continue;
		if (json_kind(doc, json_get(doc, e, "oversized")) == JSON_TRUE) {
			/* A stub: a tool use is answered with an error, and the
			 * rest keeps its place in the view through its ids. */
			log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx,
				 "an event %s of the history is larger than %u bytes", type,
				 (unsigned)HISTORY_MAX_EVENT);
			if (strcmp(type, "agent.tool_use") == 0 ||
			    strcmp(type, "agent.custom_tool_use") == 0) {
				session_view_apply_oversized(
					&st->view, type, json_get_str(doc, e, "id"), loop_now_ms());
				continue;
			}
		} else if (st->cb.history) {
			st->cb.history(st->userdata, type, raw, len);
		}
		if (session_view_type(type)) {
			struct json_doc *ev = NULL;

			if (json_parse(raw, len, &ev, NULL, 0) == 0) {
				session_view_apply(&st->view, ev, type, json_get_str(ev, 0, "id"),
						   loop_now_ms());
				json_free(ev);
			}
		}
	}
	next = json_get_str(doc, 0, "next_page");
	if (next && *next) {
		fetch_history(st, next);
		json_free(doc);
		return;
	}
	json_free(doc);
	go_live(st);
}

/* The body of a history page, trimmed as it arrives; (NULL, 0) before a
 * retry. */
static int
history_body(void *userdata, const char *data, size_t n)
{
	struct stream *st = userdata;

	if (!data) {
		json_trim_reset(&st->history);
		return 0;
	}
	return json_trim_feed(&st->history, data, n) < 0 ? -1 : 0;
}

static void
fetch_history(struct stream *st, const char *page)
{
	struct buf path = BUF_INIT(8192);
	struct api_request r;

	if (api_path(&path, "/v1/sessions/%s/events?limit=%d", st->session_id, HISTORY_PAGE_LIMIT) <
	    0)
		goto fail;
	/* An executor that replays the conversation reads all of it. */
	for (size_t i = 0; !st->cb.history && session_view_types[i]; i++) {
		if (api_path(&path, "&types%5B%5D=%s", session_view_types[i]) < 0)
			goto fail;
	}
	if (page && api_path(&path, "&page=%s", page) < 0)
		goto fail;
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.path = path.data;
	r.token = st->token;
	r.beta = API_BETA_MANAGED_AGENTS;
	r.helper = "environments-worker, session-tool-runner";
	r.timeout_ms = st->read_timeout_ms;
	r.max_retries = -1;
	r.on_body = history_body;
	json_trim_reset(&st->history);
	read_deadline(st);
	if (api_call(st->api, &r, history_done, st, &st->read_call) < 0)
		goto fail;
	buf_release(&path);
	return;
fail:
	buf_release(&path);
	reconnect_later(st);
}

/* The history is read once the stream is open (an event too new for the
 * history arrives on the stream) and the session's status was read (a
 * thread that was running then may have made a call by the time it is
 * idle). */
static void
read_history_when_ready(struct stream *st)
{
	if (!st->stream_open || !st->status_read)
		return;
	if (ending_reads(st))
		return;
	st->phase = PHASE_HISTORY;
	session_view_begin(&st->view);
	fetch_history(st, NULL);
}

static void
session_read(void *userdata, const struct api_result *res)
{
	struct stream *st = userdata;
	const char *status;

	st->read_call = NULL;
	if (res->status != 200 || !res->doc || json_kind(res->doc, 0) != JSON_OBJECT) {
		read_failed(st, "session", res);
		return;
	}
	status = json_get_str(res->doc, 0, "status");
	/* Archiving adds no event to the history: only the status shows it. */
	if (status && strcmp(status, "terminated") == 0) {
		drop_connection(st);
		session_over(st, STREAM_END_TERMINATED);
		return;
	}
	/* The newest status event can be an idle while a subagent still runs. */
	if (!status || strcmp(status, "idle") != 0)
		st->active_at = loop_now_ms();
	st->idle_when_read = status && strcmp(status, "idle") == 0;
	st->status_read = 1;
	read_history_when_ready(st);
}

/* Read while the stream opens: only the history has to wait for both. */
static void
fetch_session(struct stream *st)
{
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	if (api_path(&path, "/v1/sessions/%s", st->session_id) < 0)
		goto fail;
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.path = path.data;
	r.token = st->token;
	r.beta = API_BETA_MANAGED_AGENTS;
	r.helper = "environments-worker, session-tool-runner";
	r.timeout_ms = st->read_timeout_ms;
	r.max_retries = -1;
	if (api_call(st->api, &r, session_read, st, &st->read_call) < 0)
		goto fail;
	buf_release(&path);
	return;
fail:
	buf_release(&path);
	reconnect_later(st);
}

static int
sse_message(void *userdata, const char *event, const char *data, size_t len)
{
	struct stream *st = userdata;
	struct pending_event *p;

	if (st->phase == PHASE_LIVE)
		read_deadline(st);
	if (strcmp(event, "ping") == 0 || !len)
		return 0;
	if (strcmp(event, "error") == 0) {
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx,
			 "the stream reported an error, reconnecting");
		return -EPROTO;
	}
	/* Any event proves the connection healthy. */
	st->backoff_ms = STREAM_BACKOFF_MIN_MS;
	if (st->phase != PHASE_LIVE) {
		p = calloc(1, sizeof(*p));
		if (!p || !(p->json = strndup(data, len))) {
			free(p);
			return -ENOMEM;
		}
		p->len = len;
		*st->pending_tail = p;
		st->pending_tail = &p->next;
		return 0;
	}
	handle_live(st, data, len);
	return st->ending || st->phase != PHASE_LIVE ? -ECANCELED : 0;
}

static int
sse_oversized(void *userdata, const char *event)
{
	struct stream *st = userdata;
	int custom = strcmp(event, "agent.custom_tool_use") == 0;

	if (st->phase == PHASE_LIVE)
		read_deadline(st);
	log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx, "skipped an event%s%s larger than %u bytes",
		 *event ? " " : "", event, (unsigned)STREAM_MAX_MESSAGE);
	if (custom || strcmp(event, "agent.tool_use") == 0) {
		st->oversized_uses++;
		st->oversized_custom += custom;
	}
	return 0;
}

static void
sse_headers(void *userdata, long status)
{
	struct stream *st = userdata;

	log_emit(LOG_LEVEL_DEBUG, "stream", &st->ctx, "event stream open");
	if (ending_reads(st))
		return;
	sse_parser_reset(&st->parser);
	st->stream_open = 1;
	read_history_when_ready(st);
}

static int
sse_chunk(void *userdata, const char *data, size_t n)
{
	struct stream *st = userdata;

	st->byte_at = loop_now_ms();
	return sse_parser_feed(&st->parser, data, n);
}

static void
sse_done(void *userdata, const struct http_response *resp)
{
	struct stream *st = userdata;

	st->sse = NULL;
	if (st->ending)
		return;
	if (resp->status >= 400 && resp->status < 500 && resp->status != 408 &&
	    resp->status != 409 && resp->status != 429) {
		log_emit(LOG_LEVEL_ERR, "stream", &st->ctx,
			 "the event stream was refused with HTTP %ld", resp->status);
		drop_connection(st);
		end_soon(st, STREAM_END_FATAL);
		return;
	}
	if (resp->status == 0 || resp->curl_code != CURLE_OK)
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx, "event stream dropped: %s",
			 resp->error ? resp->error : "connection closed");
	else
		log_emit(LOG_LEVEL_INFO, "stream", &st->ctx,
			 "event stream ended (HTTP %ld), reconnecting", resp->status);
	reconnect_later(st);
}

/* A connection opens the stream and reads the session's status at once;
 * the history waits for both (read_history_when_ready).  Both reads share
 * one deadline: they began together. */
static void
connect_stream(struct stream *st)
{
	struct buf url = BUF_INIT(8192);
	struct buf auth = BUF_INIT(16384);
	struct http_options o;
	const char *headers[8];
	int n = 0;

	st->phase = PHASE_OPENING;
	st->stream_open = 0;
	st->status_read = 0;
	st->reads_began = loop_now_ms();
	st->byte_at = st->reads_began;
	st->read_timeout_ms = backoff_ms(st->read_attempts++, READ_TIMEOUT_MS, READ_TIMEOUT_MAX_MS);
	if (buf_puts(&url, api_base_url(st->api)) < 0 ||
	    api_path(&url, "/v1/sessions/%s/events/stream", st->session_id) < 0 ||
	    buf_printf(&auth, "Authorization: Bearer %s", st->token) < 0)
		goto fail;
	headers[n++] = "Accept: application/json";
	headers[n++] = "User-Agent: environment-runner/" PACKAGE_VERSION;
	headers[n++] = "anthropic-version: " API_VERSION;
	headers[n++] = "anthropic-beta: " API_BETA_MANAGED_AGENTS;
	headers[n++] = "x-stainless-helper: environments-worker, session-tool-runner";
	headers[n++] = auth.data;
	headers[n] = NULL;
	memset(&o, 0, sizeof(o));
	o.method = "GET";
	o.url = url.data;
	o.headers = headers;
	o.on_headers = sse_headers;
	o.on_chunk = sse_chunk;
	o.on_done = sse_done;
	o.userdata = st;
	o.long_lived = 1;
	read_deadline(st);
	if (http_request_start(st->loop, &o, &st->sse) < 0)
		goto fail;
	buf_release(&url);
	secret_wipe(auth.data, auth.len);
	buf_release(&auth);
	fetch_session(st);
	return;
fail:
	buf_release(&url);
	secret_wipe(auth.data, auth.len);
	buf_release(&auth);
	reconnect_later(st);
}

/* ---- lifetime ----------------------------------------------------------- */

struct stream *
stream_start(struct loop *loop, struct api *api, const struct stream_options *o,
	     const struct stream_callbacks *cb, void *userdata)
{
	struct stream *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->loop = loop;
	st->api = api;
	st->session_id = strdup(o->session_id);
	st->token = strdup(o->token);
	if (!st->session_id || !st->token) {
		free(st->session_id);
		secret_free(st->token);
		free(st);
		return NULL;
	}
	st->ctx = *o->ctx;
	st->max_idle_ms = o->max_idle_ms;
	st->tool_timeout_ms = o->tool_timeout_ms;
	st->send_window_ms = o->send_window_ms > 0 ? o->send_window_ms : 300000;
	st->event_tool_use = o->event_tool_use;
	st->journal = o->journal;
	st->cb = *cb;
	st->userdata = userdata;
	st->backoff_ms = STREAM_BACKOFF_MIN_MS;
	st->live_timeout_ms = LIVE_TIMEOUT_MS;
	st->active_at = loop_now_ms();
	st->out_tail = &st->out_head;
	st->pending_tail = &st->pending_head;
	sse_parser_init(&st->parser, STREAM_MAX_MESSAGE, sse_message, st);
	sse_parser_skip_oversized(&st->parser, sse_oversized);
	json_trim_init(&st->history, HTTP_MAX_BODY, HISTORY_MAX_EVENT);
	connect_stream(st);
	return st;
}

void
stream_set_send_window(struct stream *st, long ms)
{
	if (st && ms > 0)
		st->send_window_ms = ms;
}

void
stream_hold(struct stream *st)
{
	if (st)
		st->holding = 1;
}

void
stream_unhold(struct stream *st)
{
	if (st && st->holding) {
		st->holding = 0;
		act(st);
	}
}

int
stream_busy(const struct stream *st)
{
	return st && (st->view.running || st->out_head);
}

int
stream_sending(const struct stream *st)
{
	return st && st->out_head;
}

void
stream_stop_calls(struct stream *st, int lease_lost)
{
	if (!st)
		return;
	st->holding = 1;
	if (lease_lost) {
		/* Whoever holds the item now answers the call. */
		st->abandoned = 1;
		api_call_cancel(st->send_call);
		st->send_call = NULL;
		loop_cancel_timer(st->send_timer);
		st->send_timer = NULL;
	}
	stop_tool(st, "stopped: the runner stops serving the session", METRICS_TOOL_CANCELLED,
		  !lease_lost);
}

void
stream_free(struct stream *st)
{
	if (!st)
		return;
	drop_connection(st);
	api_call_cancel(st->send_call);
	loop_cancel_timer(st->reconnect_timer);
	loop_cancel_timer(st->tool_timer);
	loop_cancel_timer(st->start_timer);
	loop_cancel_timer(st->send_timer);
	loop_cancel_timer(st->end_timer);
	sse_parser_release(&st->parser);
	json_trim_release(&st->history);
	while (st->out_head) {
		struct outgoing *o = st->out_head;

		st->out_head = o->next;
		outgoing_free(o);
	}
	session_view_release(&st->view);
	free_worked_threads(st);
	free(st->session_id);
	secret_free(st->token);
	free(st);
}
