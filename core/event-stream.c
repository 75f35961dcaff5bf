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
#include "sse.h"

#define STREAM_BACKOFF_MIN_MS    500L
#define STREAM_BACKOFF_MAX_MS    10000L
#define STREAM_SILENCE_SEC       120L     /* no byte, not even a keep-alive */
#define STREAM_MAX_MESSAGE       (8u << 20)
#define SEND_BACKOFF_MIN_MS      1000L
#define SEND_BACKOFF_MAX_MS      30000L
#define HISTORY_PAGE_LIMIT       1000
#define CALL_BUCKETS             256

enum call_state {
	CALL_SEEN,       /* known, not routed yet (history) or declined */
	CALL_HELD,       /* waiting for a user.tool_confirmation */
	CALL_QUEUED,
	CALL_RUNNING,
	CALL_SENDING,    /* its result is being posted */
	CALL_UNSENT,     /* its result could not be posted in time: re-posted,
			  * not re-run, after the next reconnect if still unanswered */
	CALL_DONE,       /* answered, denied, ignored or refused */
};

enum permission {
	PERMISSION_ALLOW,  /* or absent */
	PERMISSION_ASK,    /* or any unknown value: fail closed */
	PERMISSION_DENY,
};

struct call {
	struct call *next;       /* all calls, in order of appearance */
	struct call *bucket_next;
	struct call *queue_next;
	char *id;
	char *name;
	char *input;
	size_t input_len;
	char *thread_id;
	int custom;              /* agent.custom_tool_use */
	enum permission permission;
	enum call_state state;
	char *unsent;            /* the result event kept in CALL_UNSENT */
	size_t unsent_len;
};

struct verdict {
	struct verdict *next;
	char *tool_use_id;
	int allow;
};

struct thread_mark {
	struct thread_mark *next;
	char *thread_id;
};

/* A queued POST of one event. */
struct outgoing {
	struct outgoing *next;
	char *body;
	size_t len;
	struct call *call;       /* the call it answers, or NULL */
	uint64_t first_attempt;
	int attempts;
};

/* A live event that arrived while the history was being read. */
struct pending_event {
	struct pending_event *next;
	char *json;
	size_t len;
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
	struct stream_callbacks cb;
	void *userdata;

	/* The SSE connection. */
	struct http_request *sse;
	struct sse_parser parser;
	long backoff_ms;
	struct loop_timer *reconnect_timer;

	/* History reconcile. */
	int reconciling;
	struct api_call *history_call;
	struct pending_event *pending_head;
	struct pending_event **pending_tail;
	int history_ended_turn;

	/* Calls. */
	struct call *calls;
	struct call **calls_tail;
	struct call *buckets[CALL_BUCKETS];
	struct call *queue_head;
	struct call **queue_tail;
	struct call *running;
	uint64_t running_since;  /* for the tool call duration metric */
	struct loop_timer *tool_timer;
	struct verdict *verdicts;
	struct thread_mark *dead_threads;
	int pumping;
	int holding;

	/* Sends. */
	struct outgoing *out_head;
	struct outgoing **out_tail;
	struct api_call *send_call;
	struct loop_timer *send_timer;

	/* The idle clock. */
	int idle_wanted;
	struct loop_timer *idle_timer;

	/* Ending. */
	int ending;
	enum stream_end end_why;
	struct loop_timer *end_timer;
};

static void connect_stream(struct stream *st);
static void pump(struct stream *st);
static void handle_event(struct stream *st, const char *json, size_t len, int live);

/* ---- lookup tables ------------------------------------------------------ */

static unsigned
hash_id(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % CALL_BUCKETS;
}

static struct call *
find_call(struct stream *st, const char *id)
{
	for (struct call *c = st->buckets[hash_id(id)]; c; c = c->bucket_next) {
		if (strcmp(c->id, id) == 0)
			return c;
	}
	return NULL;
}

static struct call *
add_call(struct stream *st, const struct json_doc *doc, int ev, const char *id, int custom)
{
	struct call *c = calloc(1, sizeof(*c));
	const char *name = json_get_str(doc, ev, "name");
	const char *thread = json_get_str(doc, ev, "session_thread_id");
	const char *perm = json_get_str(doc, ev, "evaluated_permission");
	int input = json_get(doc, ev, "input");
	const char *raw = "{}";
	size_t raw_len = 2;
	unsigned h;

	if (!c)
		return NULL;
	if (input >= 0)
		raw = json_raw(doc, input, &raw_len);
	c->id = strdup(id);
	c->name = strdup(name ? name : "");
	c->input = strndup(raw, raw_len);
	c->input_len = raw_len;
	c->thread_id = thread ? strdup(thread) : NULL;
	if (!c->id || !c->name || !c->input || (thread && !c->thread_id)) {
		free(c->id);
		free(c->name);
		free(c->input);
		free(c->thread_id);
		free(c);
		return NULL;
	}
	c->custom = custom;
	c->permission = !perm || strcmp(perm, "allow") == 0 ? PERMISSION_ALLOW
			: strcmp(perm, "deny") == 0             ? PERMISSION_DENY
								: PERMISSION_ASK;
	c->state = CALL_SEEN;
	h = hash_id(id);
	c->bucket_next = st->buckets[h];
	st->buckets[h] = c;
	*st->calls_tail = c;
	st->calls_tail = &c->next;
	return c;
}

static struct verdict *
find_verdict(struct stream *st, const char *id)
{
	for (struct verdict *v = st->verdicts; v; v = v->next) {
		if (strcmp(v->tool_use_id, id) == 0)
			return v;
	}
	return NULL;
}

static void
record_verdict(struct stream *st, const char *id, int allow)
{
	struct verdict *v = find_verdict(st, id);

	if (v) {
		v->allow = allow;
		return;
	}
	v = calloc(1, sizeof(*v));
	if (!v || !(v->tool_use_id = strdup(id))) {
		free(v);
		return;
	}
	v->allow = allow;
	v->next = st->verdicts;
	st->verdicts = v;
}

static int
thread_is_dead(struct stream *st, const char *thread_id)
{
	if (!thread_id)
		return 0;
	for (struct thread_mark *t = st->dead_threads; t; t = t->next) {
		if (strcmp(t->thread_id, thread_id) == 0)
			return 1;
	}
	return 0;
}

static void
mark_thread_dead(struct stream *st, const char *thread_id)
{
	struct thread_mark *t;

	if (thread_is_dead(st, thread_id))
		return;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->thread_id = strdup(thread_id))) {
		free(t);
		return;
	}
	t->next = st->dead_threads;
	st->dead_threads = t;
}

/* ---- ending, the idle clock --------------------------------------------- */

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

static void
idle_fired(void *userdata)
{
	struct stream *st = userdata;

	st->idle_timer = NULL;
	log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "idle for %ld ms after the turn ended",
		 st->max_idle_ms);
	end_soon(st, STREAM_END_IDLE);
}

static int
has_outstanding_calls(const struct stream *st)
{
	if (st->running || st->queue_head)
		return 1;
	for (const struct call *c = st->calls; c; c = c->next) {
		if (c->state == CALL_HELD)
			return 1;
	}
	return 0;
}

static void
idle_cancel(struct stream *st)
{
	loop_cancel_timer(st->idle_timer);
	st->idle_timer = NULL;
}

/* Start the countdown afresh, unless a call is held or running. */
static void
idle_arm(struct stream *st)
{
	idle_cancel(st);
	if (!st->idle_wanted || st->ending || st->max_idle_ms <= 0 || has_outstanding_calls(st))
		return;
	loop_add_timer(st->loop, (uint64_t)st->max_idle_ms, idle_fired, st, &st->idle_timer);
}

/* session.status_idle with any stop reason but requires_action. */
static int
ends_turn(const struct json_doc *doc, const char *type)
{
	const char *reason;

	if (strcmp(type, "session.status_idle") != 0)
		return 0;
	reason = json_get_str(doc, json_get(doc, 0, "stop_reason"), "type");
	return !reason || strcmp(reason, "requires_action") != 0;
}

static int
is_neutral(const char *type)
{
	return strcmp(type, "user.tool_confirmation") == 0 ||
	       strcmp(type, "session.thread_status_terminated") == 0;
}

/* ---- sending ------------------------------------------------------------ */

static void send_next(struct stream *st);

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

static void
send_done(void *userdata, const struct api_result *res)
{
	struct stream *st = userdata;
	struct outgoing *o = st->out_head;
	struct call *call;
	uint64_t elapsed;
	long delay;

	st->send_call = NULL;
	if (res->status >= 200 && res->status < 300) {
		metrics.events_sent++;
		if (o->call)
			o->call->state = CALL_DONE;
		goto next;
	}
	if (res->fatal) {
		metrics.event_send_failures++;
		log_emit(LOG_LEVEL_ERR, "stream", &st->ctx,
			 "event refused with HTTP %ld (%s), not retrying", res->status,
			 res->error_message ? res->error_message : "no message");
		if (o->call)
			o->call->state = CALL_DONE;
		goto next;
	}
	elapsed = loop_now_ms() - o->first_attempt;
	if (elapsed >= (uint64_t)st->send_window_ms) {
		metrics.event_send_failures++;
		log_emit(LOG_LEVEL_ERR, "stream", &st->ctx,
			 "could not send an event within %ld ms; a result is kept for the next reconnect",
			 st->send_window_ms);
		if (o->call) {
			/* Unlike the SDK, which runs the call again, keep the result. */
			o->call->state = CALL_UNSENT;
			o->call->unsent = o->body;
			o->call->unsent_len = o->len;
			o->body = NULL;
		}
		goto next;
	}
	metrics.event_send_retries++;
	delay = SEND_BACKOFF_MIN_MS << (o->attempts - 1 < 5 ? o->attempts - 1 : 5);
	if (delay > SEND_BACKOFF_MAX_MS)
		delay = SEND_BACKOFF_MAX_MS;
	delay = (long)((double)delay * (1.0 - rand_unit() * 0.25));
	if ((uint64_t)delay > st->send_window_ms - elapsed)
		delay = (long)(st->send_window_ms - elapsed);
	log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx, "sending an event failed (%s), retrying in %ld ms",
		 res->status ? "server error" : res->transport_error, delay);
	loop_add_timer(st->loop, (uint64_t)delay, send_retry_fired, st, &st->send_timer);
	return;
next:
	st->out_head = o->next;
	if (!st->out_head)
		st->out_tail = &st->out_head;
	call = o->call;
	outgoing_free(o);
	send_next(st);
	idle_arm(st);
	if (call && st->cb.call_done)
		st->cb.call_done(st->userdata, call->id);
}

static void
send_next(struct stream *st)
{
	struct outgoing *o = st->out_head;
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	if (!o || st->send_call || st->send_timer)
		return;
	if (!o->attempts)
		o->first_attempt = loop_now_ms();
	o->attempts++;
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
	r.timeout_ms = 60000;
	r.max_retries = -1;
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
	if (call)
		call->state = CALL_SENDING;
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

/* Post the result of `c`, as the SDK shapes it (protocol.md 6.3). */
static void
post_result(struct stream *st, struct call *c, int is_error, const char *text, size_t len)
{
	struct buf b = BUF_INIT(HTTP_MAX_BODY);
	struct jsonw w;

	jw_init(&w, &b);
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
	if (jw_finish(&w) < 0) {
		log_emit(LOG_LEVEL_ERR, "stream", &st->ctx, "cannot encode the result of '%s'", c->id);
		buf_release(&b);
		c->state = CALL_DONE;
		return;
	}
	len = b.len;
	enqueue_send(st, buf_steal(&b), len, c);
}

/* ---- running calls ------------------------------------------------------ */

static void
tool_timeout_fired(void *userdata)
{
	struct stream *st = userdata;
	struct call *c = st->running;
	char msg[256];

	st->tool_timer = NULL;
	if (!c)
		return;
	log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx, "tool call '%s' (%s) ran past %ld ms, cancelled",
		 c->id, c->name, st->tool_timeout_ms);
	st->running = NULL;
	metrics_tool_call(c->name, METRICS_TOOL_TIMEOUT, loop_now_ms() - st->running_since);
	st->cb.tool_cancel(st->userdata, c->id);
	/* The SDK's runner aborts the call: its grep says so tersely, the
	 * others give the default abort reason. */
	if (strcmp(c->name, "grep") == 0)
		snprintf(msg, sizeof(msg), "grep: aborted");
	else
		snprintf(msg, sizeof(msg), "%s: This operation was aborted", c->name);
	post_result(st, c, 1, msg, strlen(msg));
	pump(st);
}

void
stream_tool_result(struct stream *st, const char *id, int is_error, const char *text, size_t len)
{
	struct call *c = st->running;

	if (!c || strcmp(c->id, id) != 0) {
		log_emit(LOG_LEVEL_DEBUG, "stream", &st->ctx, "late result for '%s' dropped", id);
		return;
	}
	loop_cancel_timer(st->tool_timer);
	st->tool_timer = NULL;
	st->running = NULL;
	metrics_tool_call(c->name, is_error ? METRICS_TOOL_ERROR : METRICS_TOOL_OK,
			  loop_now_ms() - st->running_since);
	if (c->state == CALL_RUNNING)
		post_result(st, c, is_error, text, len);
	pump(st);
}

static void
enqueue_call(struct stream *st, struct call *c)
{
	c->state = CALL_QUEUED;
	c->queue_next = NULL;
	*st->queue_tail = c;
	st->queue_tail = &c->queue_next;
}

static struct call *
dequeue_call(struct stream *st)
{
	struct call *c = st->queue_head;

	if (c) {
		st->queue_head = c->queue_next;
		if (!st->queue_head)
			st->queue_tail = &st->queue_head;
	}
	return c;
}

static void
pump(struct stream *st)
{
	if (st->pumping)
		return;
	st->pumping = 1;
	while (!st->running && !st->holding && !st->ending && st->queue_head) {
		struct call *c = dequeue_call(st);
		int r;

		if (c->state != CALL_QUEUED)
			continue;
		c->state = CALL_RUNNING;
		st->running = c;
		st->running_since = loop_now_ms();
		log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "running tool call '%s' (%s)", c->id,
			 c->name);
		r = st->cb.tool_call(st->userdata, c->id, c->name, c->input, c->input_len);
		if (r == ER_DECLINED) {
			/* Not ours: left for another client, as the SDK does. */
			log_emit(LOG_LEVEL_INFO, "stream", &st->ctx,
				 "no tool named '%s' here, leaving call '%s' to other clients", c->name,
				 c->id);
			c->state = CALL_SEEN;
			st->running = NULL;
			if (st->cb.call_done)
				st->cb.call_done(st->userdata, c->id);
		} else if (r < 0) {
			char msg[256];

			snprintf(msg, sizeof(msg), "Error: %s could not start: %s", c->name, strerror(-r));
			if (st->running == c) {
				st->running = NULL;
				metrics_tool_call(c->name, METRICS_TOOL_ERROR, 0);
				post_result(st, c, 1, msg, strlen(msg));
			}
		} else if (st->running == c && st->tool_timeout_ms > 0) {
			loop_add_timer(st->loop, (uint64_t)st->tool_timeout_ms, tool_timeout_fired, st,
				       &st->tool_timer);
		}
	}
	st->pumping = 0;
	idle_arm(st);
}

/* The permission gate (protocol.md 6.3, "Routing"). */
static void
route(struct stream *st, struct call *c)
{
	struct verdict *v;

	if (thread_is_dead(st, c->thread_id) || c->permission == PERMISSION_DENY) {
		if (c->permission == PERMISSION_DENY)
			log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "tool call '%s' denied by policy",
				 c->id);
		c->state = CALL_DONE;
		return;
	}
	v = find_verdict(st, c->id);
	if (v) {
		if (v->allow)
			enqueue_call(st, c);
		else
			c->state = CALL_DONE;
		return;
	}
	if (c->permission == PERMISSION_ALLOW) {
		enqueue_call(st, c);
		return;
	}
	log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "tool call '%s' waits for confirmation", c->id);
	c->state = CALL_HELD;
}

static void
mark_answered(struct stream *st, const char *id)
{
	struct call *c = find_call(st, id);

	/* A running call keeps running: only our own result settles it. */
	if (c && c->state != CALL_RUNNING && c->state != CALL_SENDING) {
		c->state = CALL_DONE;
		free(c->unsent);
		c->unsent = NULL;
	}
}

/* Cancel the running call and drop those waiting.  With `why`, as for a
 * user.interrupt, each is answered as "<tool>: <why>" so that it is not run
 * later; without, as when the runner itself stops (lease lost, stop
 * requested, shutdown), nothing is posted, as the SDK posts nothing once
 * aborted: whoever serves the session next runs those calls. */
static void
interrupt_calls(struct stream *st, const char *why)
{
	struct call *c;
	char msg[256];

	if (st->running) {
		c = st->running;
		loop_cancel_timer(st->tool_timer);
		st->tool_timer = NULL;
		st->running = NULL;
		metrics_tool_call(c->name, METRICS_TOOL_CANCELLED, loop_now_ms() - st->running_since);
		st->cb.tool_cancel(st->userdata, c->id);
		c->state = CALL_SEEN;
		if (why) {
			snprintf(msg, sizeof(msg), "%s: %s", c->name, why);
			post_result(st, c, 1, msg, strlen(msg));
		}
	}
	while ((c = dequeue_call(st))) {
		if (c->state != CALL_QUEUED)
			continue;
		c->state = CALL_SEEN;
		if (why) {
			snprintf(msg, sizeof(msg), "%s: %s", c->name, why);
			post_result(st, c, 1, msg, strlen(msg));
		}
	}
	for (c = st->calls; c; c = c->next) {
		if (c->state == CALL_HELD)
			c->state = CALL_DONE;
	}
}

void
stream_cancel_running(struct stream *st)
{
	if (!st)
		return;
	st->holding = 1;
	interrupt_calls(st, NULL);
}

/* ---- events ------------------------------------------------------------- */

static void
handle_event(struct stream *st, const char *json, size_t len, int live)
{
	struct json_doc *doc = NULL;
	const char *type;
	const char *id;
	char err[128];

	if (json_parse(json, len, &doc, err, sizeof(err)) < 0 || json_kind(doc, 0) != JSON_OBJECT) {
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx, "ignoring a malformed event: %s", err);
		json_free(doc);
		return;
	}
	type = json_get_str(doc, 0, "type");
	id = json_get_str(doc, 0, "id");
	if (!type)
		goto out;
	if (!live && st->cb.history)
		st->cb.history(st->userdata, type, json, len);

	if (strcmp(type, "agent.tool_use") == 0 || strcmp(type, "agent.custom_tool_use") == 0) {
		struct call *c;

		if (!id || find_call(st, id))
			goto clock;
		c = add_call(st, doc, 0, id, type[6] == 'c');
		if (c && live)
			route(st, c);
	} else if (strcmp(type, "user.tool_result") == 0) {
		if ((id = json_get_str(doc, 0, "tool_use_id")))
			mark_answered(st, id);
	} else if (strcmp(type, "user.custom_tool_result") == 0) {
		if ((id = json_get_str(doc, 0, "custom_tool_use_id")))
			mark_answered(st, id);
	} else if (strcmp(type, "user.tool_confirmation") == 0) {
		const char *tid = json_get_str(doc, 0, "tool_use_id");
		const char *result = json_get_str(doc, 0, "result");
		struct call *c = tid ? find_call(st, tid) : NULL;

		if (tid && !(c && c->state == CALL_DONE)) {
			record_verdict(st, tid, result && strcmp(result, "allow") == 0);
			if (c && c->state == CALL_HELD && live)
				route(st, c);
		}
	} else if (strcmp(type, "session.thread_status_terminated") == 0) {
		const char *tid = json_get_str(doc, 0, "session_thread_id");

		if (tid) {
			mark_thread_dead(st, tid);
			for (struct call *c = st->calls; c; c = c->next) {
				if (c->state == CALL_HELD && c->thread_id && strcmp(c->thread_id, tid) == 0)
					c->state = CALL_DONE;
			}
		}
	} else if (live && (strcmp(type, "session.status_terminated") == 0 ||
			    strcmp(type, "session.deleted") == 0)) {
		log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "%s", type);
		interrupt_calls(st, NULL);
		end_soon(st, type[8] == 'd' ? STREAM_END_DELETED : STREAM_END_TERMINATED);
		goto out;
	} else if (live && strcmp(type, "user.interrupt") == 0) {
		if (st->running || st->queue_head) {
			log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "interrupted: cancelling tool calls");
			interrupt_calls(st, "interrupted by the user");
		}
	}
	if (live && st->cb.event && (st->event_tool_use || strncmp(type, "agent.tool_use", 14) != 0))
		st->cb.event(st->userdata, type, json, len);
clock:
	if (!is_neutral(type)) {
		if (!live) {
			st->history_ended_turn = ends_turn(doc, type);
		} else if (ends_turn(doc, type)) {
			st->idle_wanted = 1;
			idle_arm(st);
		} else {
			st->idle_wanted = 0;
			idle_cancel(st);
		}
	}
	if (live)
		pump(st);
out:
	json_free(doc);
}

/* ---- history ------------------------------------------------------------ */

static void fetch_history(struct stream *st, const char *page);
static void reconnect_later(struct stream *st);

static void
reconcile_finish(struct stream *st)
{
	struct pending_event *p;

	st->reconciling = 0;
	for (struct call *c = st->calls; c; c = c->next) {
		if (c->state == CALL_SEEN) {
			route(st, c);
		} else if (c->state == CALL_UNSENT) {
			log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "posting the kept result of '%s'", c->id);
			enqueue_send(st, c->unsent, c->unsent_len, c);
			c->unsent = NULL;
		}
	}
	st->idle_wanted = st->history_ended_turn;
	if (st->cb.history)
		st->cb.history(st->userdata, NULL, NULL, 0);
	pump(st);
	while ((p = st->pending_head) && !st->ending) {
		st->pending_head = p->next;
		handle_event(st, p->json, p->len, 1);
		free(p->json);
		free(p);
	}
	if (!st->pending_head)
		st->pending_tail = &st->pending_head;
}

static void
history_done(void *userdata, const struct api_result *res)
{
	struct stream *st = userdata;
	const struct json_doc *doc = res->doc;
	const char *next;
	int data;
	int n;
	int e;

	st->history_call = NULL;
	if (res->status != 200 || !doc || json_kind(doc, json_get(doc, 0, "data")) != JSON_ARRAY) {
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx,
			 "cannot read the session's history (%s), reconnecting",
			 res->status ? "bad answer" : res->transport_error);
		if (res->fatal) {
			end_soon(st, STREAM_END_FATAL);
			return;
		}
		http_request_cancel(st->sse);
		st->sse = NULL;
		reconnect_later(st);
		return;
	}
	data = json_get(doc, 0, "data");
	n = json_size(doc, data);
	e = json_first(doc, data);
	for (int i = 0; i < n && !st->ending; i++, e = json_next(doc, e)) {
		size_t len;
		const char *raw = json_raw(doc, e, &len);

		handle_event(st, raw, len, 0);
	}
	next = json_get_str(doc, 0, "next_page");
	if (next && *next && !st->ending) {
		fetch_history(st, next);
		return;
	}
	reconcile_finish(st);
}

static void
fetch_history(struct stream *st, const char *page)
{
	struct buf path = BUF_INIT(8192);
	struct api_request r;

	if (api_path(&path, "/v1/sessions/%s/events?limit=%d", st->session_id, HISTORY_PAGE_LIMIT) < 0 ||
	    (page && api_path(&path, "&page=%s", page) < 0))
		goto fail;
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.path = path.data;
	r.token = st->token;
	r.beta = API_BETA_MANAGED_AGENTS;
	r.helper = "environments-worker, session-tool-runner";
	r.timeout_ms = 60000;
	r.max_retries = -1;
	if (api_call(st->api, &r, history_done, st, &st->history_call) < 0)
		goto fail;
	buf_release(&path);
	return;
fail:
	buf_release(&path);
	http_request_cancel(st->sse);
	st->sse = NULL;
	reconnect_later(st);
}

/* ---- the SSE connection ------------------------------------------------- */

static int
sse_message(void *userdata, const char *event, const char *data, size_t len)
{
	struct stream *st = userdata;
	struct pending_event *p;

	/* Any message, keep-alives aside, proves the connection healthy. */
	if (strcmp(event, "ping") == 0 || !len)
		return 0;
	st->backoff_ms = STREAM_BACKOFF_MIN_MS;
	if (strcmp(event, "error") == 0) {
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx, "the stream reported an error, reconnecting");
		return -EPROTO;
	}
	if (st->reconciling) {
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
	handle_event(st, data, len, 1);
	return st->ending ? -ECANCELED : 0;
}

static void
sse_headers(void *userdata, long status)
{
	struct stream *st = userdata;

	log_emit(LOG_LEVEL_DEBUG, "stream", &st->ctx, "event stream open");
	sse_parser_reset(&st->parser);
	st->reconciling = 1;
	fetch_history(st, NULL);
}

static int
sse_chunk(void *userdata, const char *data, size_t n)
{
	struct stream *st = userdata;

	return sse_parser_feed(&st->parser, data, n);
}

static void
reconnect_fired(void *userdata)
{
	struct stream *st = userdata;

	st->reconnect_timer = NULL;
	connect_stream(st);
}

static void
reconnect_later(struct stream *st)
{
	struct pending_event *p;

	if (st->ending || st->reconnect_timer)
		return;
	api_call_cancel(st->history_call);
	st->history_call = NULL;
	st->reconciling = 0;
	while ((p = st->pending_head)) {
		st->pending_head = p->next;
		free(p->json);
		free(p);
	}
	st->pending_tail = &st->pending_head;
	metrics.sse_reconnects++;
	loop_add_timer(st->loop, (uint64_t)st->backoff_ms, reconnect_fired, st, &st->reconnect_timer);
	st->backoff_ms = st->backoff_ms * 2 > STREAM_BACKOFF_MAX_MS ? STREAM_BACKOFF_MAX_MS
								     : st->backoff_ms * 2;
}

static void
sse_done(void *userdata, const struct http_response *resp)
{
	struct stream *st = userdata;

	st->sse = NULL;
	if (st->ending)
		return;
	if (resp->status >= 400 && resp->status < 500 && resp->status != 408 && resp->status != 409 &&
	    resp->status != 429) {
		log_emit(LOG_LEVEL_ERR, "stream", &st->ctx, "the event stream was refused with HTTP %ld",
			 resp->status);
		end_soon(st, STREAM_END_FATAL);
		return;
	}
	if (resp->status == 0 || resp->curl_code != CURLE_OK)
		log_emit(LOG_LEVEL_WARNING, "stream", &st->ctx, "event stream dropped: %s",
			 resp->error ? resp->error : "connection closed");
	else
		log_emit(LOG_LEVEL_INFO, "stream", &st->ctx, "event stream ended (HTTP %ld), reconnecting",
			 resp->status);
	reconnect_later(st);
}

static void
connect_stream(struct stream *st)
{
	struct buf url = BUF_INIT(8192);
	struct buf auth = BUF_INIT(16384);
	struct http_options o;
	const char *headers[8];
	int n = 0;

	if (buf_puts(&url, api_base_url(st->api)) < 0 ||
	    api_path(&url, "/v1/sessions/%s/events/stream", st->session_id) < 0 ||
	    buf_printf(&auth, "Authorization: Bearer %s", st->token) < 0)
		goto fail;
	headers[n++] = "Accept: application/json";
	headers[n++] = "User-Agent: environment-runner/" PACKAGE_VERSION;
	headers[n++] = "anthropic-version: 2023-06-01";
	headers[n++] = "anthropic-beta: " API_BETA_MANAGED_AGENTS;
	headers[n++] = "x-stainless-helper: environments-worker, session-tool-runner";
	headers[n++] = auth.data;
	headers[n] = NULL;
	memset(&o, 0, sizeof(o));
	o.method = "GET";
	o.url = url.data;
	o.headers = headers;
	o.low_speed_time_sec = STREAM_SILENCE_SEC;
	o.on_headers = sse_headers;
	o.on_chunk = sse_chunk;
	o.on_done = sse_done;
	o.userdata = st;
	if (http_request_start(st->loop, &o, &st->sse) < 0)
		goto fail;
	buf_release(&url);
	secret_wipe(auth.data, auth.len);
	buf_release(&auth);
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
	st->cb = *cb;
	st->userdata = userdata;
	st->backoff_ms = STREAM_BACKOFF_MIN_MS;
	st->calls_tail = &st->calls;
	st->queue_tail = &st->queue_head;
	st->out_tail = &st->out_head;
	st->pending_tail = &st->pending_head;
	sse_parser_init(&st->parser, STREAM_MAX_MESSAGE, sse_message, st);
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

int
stream_busy(const struct stream *st)
{
	return st && (st->running || st->out_head);
}

int
stream_sending(const struct stream *st)
{
	return st && st->out_head;
}

void
stream_free(struct stream *st)
{
	struct pending_event *p;

	if (!st)
		return;
	http_request_cancel(st->sse);
	api_call_cancel(st->history_call);
	api_call_cancel(st->send_call);
	loop_cancel_timer(st->reconnect_timer);
	loop_cancel_timer(st->tool_timer);
	loop_cancel_timer(st->send_timer);
	loop_cancel_timer(st->idle_timer);
	loop_cancel_timer(st->end_timer);
	sse_parser_release(&st->parser);
	while ((p = st->pending_head)) {
		st->pending_head = p->next;
		free(p->json);
		free(p);
	}
	while (st->out_head) {
		struct outgoing *o = st->out_head;

		st->out_head = o->next;
		outgoing_free(o);
	}
	while (st->calls) {
		struct call *c = st->calls;

		st->calls = c->next;
		free(c->id);
		free(c->name);
		free(c->input);
		free(c->thread_id);
		free(c->unsent);
		free(c);
	}
	while (st->verdicts) {
		struct verdict *v = st->verdicts;

		st->verdicts = v->next;
		free(v->tool_use_id);
		free(v);
	}
	while (st->dead_threads) {
		struct thread_mark *t = st->dead_threads;

		st->dead_threads = t->next;
		free(t->thread_id);
		free(t);
	}
	free(st->session_id);
	secret_free(st->token);
	free(st);
}
