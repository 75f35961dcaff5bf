/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rand.h"
#include "session-view.h"
#include "siphash.h"

/* The history is read filtered to the events that decide which calls the
 * session waits on (docs/protocol.md §7). */
const char *const session_view_types[] = {
	"agent.tool_use",
	"agent.custom_tool_use",
	"agent.tool_result",
	"user.tool_result",
	"user.custom_tool_result",
	"user.tool_confirmation",
	"session.status_idle",
	"session.status_running",
	"session.status_rescheduled",
	"session.status_terminated",
	"session.thread_status_running",
	"session.thread_status_rescheduled",
	"session.thread_status_idle",
	"session.thread_status_terminated",
	NULL,
};

static size_t
hash_id(const char *s, size_t n)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & (n - 1);
}

/* The key of an event id: SipHash-2-4 of the id under a secret drawn
 * once, so that ids cannot be chosen to collide; two ids of one session
 * share a key with odds of one in 2^64 a pair.  (Were the draw to fail,
 * the secret would stay zero: colliding ids would then take whoever
 * writes them, the API, some 2^32 tries.)  It runs for every event read,
 * several times a call: SHA-256 here was 8 % of the runner's instructions
 * at 30 sessions. */
static uint64_t
seen_key(const char *id)
{
	static unsigned char secret[16];
	static int have_secret;
	uint64_t key;

	if (!have_secret) {
		(void)rand_bytes(secret, sizeof(secret));
		have_secret = 1;
	}
	key = siphash24(secret, id, strlen(id));
	return key ? key : 1;
}

int
session_view_same_thread(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

struct call *
session_view_find(struct session_view *v, const char *id)
{
	if (!v->n_buckets)
		return NULL;
	for (struct call *c = v->buckets[hash_id(id, v->n_buckets)]; c; c = c->bucket_next) {
		if (strcmp(c->id, id) == 0)
			return c;
	}
	return NULL;
}

static struct call *
view_call(struct session_view *v, const char *id)
{
	struct call *c = session_view_find(v, id);

	return c && c->in_view ? c : NULL;
}

/* The view's list holds the calls in the view and no other: the loops over
 * it, at each event, then cost the calls the session still has open, not
 * its whole history. */
static void
unlink_call(struct session_view *v, struct call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		v->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		v->tail = c->prev;
	c->prev = c->next = NULL;
}

/* Into the view, as its newest call, with a fresh view state. */
static void
enter_view(struct session_view *v, struct call *c)
{
	if (c->in_view)
		unlink_call(v, c);
	c->prev = v->tail;
	c->next = NULL;
	if (v->tail)
		v->tail->next = c;
	else
		v->head = c;
	v->tail = c;
	if (!c->in_view) {
		c->in_view = 1;
		c->waits = -1;
		c->listed_at = 0;
		free(c->thread_stop);
		c->thread_stop = NULL;
		c->confirmation = CONFIRMATION_NONE;
	}
}

static void forget_call(struct session_view *v, struct call *c);

/* Out of the view; a call handled and not running is then forgotten. */
static void
leave_view(struct session_view *v, struct call *c)
{
	if (c->in_view)
		unlink_call(v, c);
	c->in_view = 0;
	forget_call(v, c);
}

/* Twice the chains once there are twice as many calls. */
static int
grow_buckets(struct session_view *v)
{
	size_t n = v->n_buckets ? v->n_buckets * 2 : 8;
	struct call **b = calloc(n, sizeof(*b));

	if (!b)
		return -1;
	for (size_t i = 0; i < v->n_buckets; i++) {
		while (v->buckets[i]) {
			struct call *c = v->buckets[i];
			size_t h = hash_id(c->id, n);

			v->buckets[i] = c->bucket_next;
			c->bucket_next = b[h];
			b[h] = c;
		}
	}
	free(v->buckets);
	v->buckets = b;
	v->n_buckets = n;
	return 0;
}

static const struct seen *find_seen(const struct session_view *v, const char *id);

/* A record for `id`; a call forgotten comes back handled. */
static struct call *
new_call(struct session_view *v, const char *id)
{
	const struct seen *s = find_seen(v, id);
	struct call *c;
	size_t h;

	if (v->n_calls >= 2 * v->n_buckets && grow_buckets(v) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->id = strdup(id))) {
		free(c);
		return NULL;
	}
	if (s && s->handled) {
		c->handled = 1;
		c->declined = s->declined;
	}
	h = hash_id(id, v->n_buckets);
	c->bucket_next = v->buckets[h];
	v->buckets[h] = c;
	v->n_calls++;
	return c;
}

/* The names most calls have, shared instead of copied for each. */
#define OVERSIZED_NAME 0
static const char *const shared_names[] = {
	"(too large)", "bash", "read", "write", "edit", "glob", "grep", NULL,
};

static const char *
copy_name(const char *name)
{
	for (size_t i = 0; shared_names[i]; i++) {
		if (strcmp(name, shared_names[i]) == 0)
			return shared_names[i];
	}
	return strdup(name);
}

static void
free_name(const char *name)
{
	for (size_t i = 0; shared_names[i]; i++) {
		if (name == shared_names[i])
			return;
	}
	free((char *)name);
}

void
call_drop_input(struct call *c)
{
	free(c->input);
	c->input = NULL;
	c->input_len = 0;
}

static void
free_call_event(struct call *c)
{
	free_name(c->name);
	free(c->thread_id);
	c->name = NULL;
	c->thread_id = NULL;
	call_drop_input(c);
	c->has_event = 0;
}

static int
set_call_event(struct call *c, const struct json_doc *doc, int custom)
{
	const char *name = json_get_str(doc, 0, "name");
	const char *thread = json_get_str(doc, 0, "session_thread_id");
	const char *perm = json_get_str(doc, 0, "evaluated_permission");
	int input = json_get(doc, 0, "input");
	const char *raw = "{}";
	size_t raw_len = 2;

	if (input >= 0 && json_kind(doc, input) == JSON_OBJECT)
		raw = json_raw(doc, input, &raw_len);
	free_call_event(c);
	c->name = copy_name(name ? name : "");
	/* A call that ran never runs again: its input (a file's whole content,
	 * for a write) is not kept when a reconnection reads its event again. */
	if (!c->handled) {
		c->input = strndup(raw, raw_len);
		c->input_len = raw_len;
	}
	/* An empty thread id names the primary thread, as no id does. */
	c->thread_id = thread && *thread ? strdup(thread) : NULL;
	if (!c->name || (!c->handled && !c->input) || (thread && *thread && !c->thread_id)) {
		free_call_event(c);
		return -ENOMEM;
	}
	c->custom = custom;
	c->permission = !perm || !*perm		     ? PERMISSION_NONE
			: strcmp(perm, "allow") == 0 ? PERMISSION_ALLOW
			: strcmp(perm, "deny") == 0  ? PERMISSION_DENY
						     : PERMISSION_ASK;
	c->has_event = 1;
	return 0;
}

/* ---- what the session waits on ------------------------------------------ */

int
call_is_waited_on(const struct call *c)
{
	return c->waits == 1 && !c->thread_stop;
}

int
call_is_denied(const struct call *c)
{
	return c->has_event &&
	       (c->permission == PERMISSION_DENY || c->confirmation == CONFIRMATION_DENY);
}

int
call_is_unconfirmed(const struct call *c)
{
	return c->confirmation == CONFIRMATION_NONE && c->permission == PERMISSION_ASK;
}

/* A call of `thread` whose answer may come before a later call's: the
 * session can hold a later result back until this one has its own. */
static int
call_is_unanswered(const struct call *c, const char *thread)
{
	if (!c->has_event || !session_view_same_thread(c->thread_id, thread) || c->declined)
		return 0;
	return !call_is_denied(c) &&
	       (c->waits == -1 || (call_is_waited_on(c) && call_is_unconfirmed(c)));
}

static struct thread_status *
find_thread(const struct session_view *v, const char *thread_id)
{
	for (struct thread_status *t = v->threads; t; t = t->next) {
		if (session_view_same_thread(t->thread_id, thread_id))
			return t;
	}
	return NULL;
}

/* Late input can make a terminated thread run again. */
int
session_view_thread_terminated(const struct session_view *v, const char *thread_id)
{
	struct thread_status *t = find_thread(v, thread_id);

	return t && t->terminated;
}

/* Whether the session no longer takes a result for `c`. */
int
call_is_resolved(const struct call *c)
{
	return !c->in_view || (c->thread_stop && strcmp(c->thread_stop, "retries_exhausted") != 0);
}

static int
call_is_behind_unanswered(const struct session_view *v, const struct call *c)
{
	/* A thread that sends no status never shows that an earlier call
	 * stopped waiting. */
	if (c->thread_id && !find_thread(v, c->thread_id))
		return 0;
	for (const struct call *e = v->head; e && e != c; e = e->next) {
		if (e->in_view && call_is_unanswered(e, c->thread_id) &&
		    e->listed_at >= c->listed_at)
			return 1;
	}
	return 0;
}

/* ---- the view ----------------------------------------------------------- */

#define SEEN_VIEW_MASK ((1u << 24) - 1)

/* The slot of `key`: its own, or the empty one where it would go. */
static struct seen *
seen_slot(const struct session_view *v, uint64_t key)
{
	size_t mask = v->seen_size - 1;

	for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
		if (v->seen[i].key == key || v->seen[i].key == 0)
			return &v->seen[i];
	}
}

/* Twice the slots once three quarters are used: a session keeps every
 * event id it read, and linear probing stays short at that load. */
static int
grow_seen(struct session_view *v)
{
	size_t n = v->seen_size ? v->seen_size * 2 : 16;
	struct seen *old = v->seen;
	size_t old_size = v->seen_size;

	v->seen = calloc(n, sizeof(*v->seen));
	if (!v->seen) {
		v->seen = old;
		return -1;
	}
	v->seen_size = n;
	for (size_t i = 0; i < old_size; i++)
		if (old[i].key)
			*seen_slot(v, old[i].key) = old[i];
	free(old);
	return 0;
}

/* When the event was first read, and 0 when this view applied it already. */
static uint64_t
mark_seen(struct session_view *v, const char *id, uint64_t now_ms)
{
	uint64_t key = seen_key(id);
	struct seen *s;

	if (4 * (v->seen_used + 1) > 3 * v->seen_size && grow_seen(v) < 0)
		return now_ms | 1;
	if (!v->seen_used && !v->epoch_ms)
		v->epoch_ms = now_ms;
	s = seen_slot(v, key);
	if (s->key && s->view == (v->number & SEEN_VIEW_MASK))
		return 0;
	if (!s->key) {
		s->key = key;
		s->first_ms = now_ms > v->epoch_ms ? now_ms - v->epoch_ms : 0;
		v->seen_used++;
	}
	s->view = v->number & SEEN_VIEW_MASK;
	v->events++;
	return (v->epoch_ms + s->first_ms) | 1;
}

/* The entry of the event `id`, or NULL if it was not read. */
static const struct seen *
find_seen(const struct session_view *v, const char *id)
{
	const struct seen *s;

	if (!v->seen_size)
		return NULL;
	s = seen_slot(v, seen_key(id));
	return s->key ? s : NULL;
}

static int
seen_in_view(struct session_view *v, const char *id)
{
	const struct seen *s = find_seen(v, id);

	return s && s->view == (v->number & SEEN_VIEW_MASK);
}

static void
free_call(struct call *c)
{
	free(c->id);
	free_call_event(c);
	free(c->thread_stop);
	free(c);
}

/* A call that will not run again and that nothing holds keeps only two
 * bits, in its event's entry: a long session would otherwise keep a record
 * of every call it made.  A call whose event was never read (one too large
 * to read) keeps its record. */
static void
forget_call(struct session_view *v, struct call *c)
{
	struct seen *s;
	struct call **p;

	if (!c->handled || c->in_view || v->running == c || !v->seen_size)
		return;
	s = seen_slot(v, seen_key(c->id));
	if (!s->key)
		return;
	s->handled = 1;
	s->declined = c->declined;
	for (p = &v->buckets[hash_id(c->id, v->n_buckets)]; *p != c; p = &(*p)->bucket_next)
		;
	*p = c->bucket_next;
	v->n_calls--;
	free_call(c);
}

int
session_view_forgot(struct session_view *v, const char *id)
{
	const struct seen *s = find_seen(v, id);

	return s && s->handled && !session_view_find(v, id);
}

void
session_view_call_over(struct session_view *v, struct call *c)
{
	forget_call(v, c);
}

static void
free_threads(struct session_view *v)
{
	while (v->threads) {
		struct thread_status *t = v->threads;

		v->threads = t->next;
		free(t->thread_id);
		free(t);
	}
}

/* A view without events, as each connection starts one. */
void
session_view_begin(struct session_view *v)
{
	v->number++;
	v->events = 0;
	v->idle_since_set = 0;
	v->ended = 0;
	free_threads(v);
	for (struct call *c = v->head, *next; c; c = next) {
		next = c->next;
		c->in_view = 0;
		c->prev = c->next = NULL;
		forget_call(v, c);
	}
	v->head = v->tail = NULL;
}

/* The calls that `ids` name; an id not read yet may be a later call's. */
static void
list_calls(struct session_view *v, const struct json_doc *doc, int ids, int clear_thread_stop)
{
	int n = json_size(doc, ids);
	int e = json_first(doc, ids);

	for (int i = 0; i < n; i++, e = json_next(doc, e)) {
		const char *id = json_str(doc, e);
		struct call *c;

		if (!id)
			continue;
		c = view_call(v, id);
		if (!c && !seen_in_view(v, id)) {
			c = session_view_find(v, id);
			if (!c && !(c = new_call(v, id)))
				continue;
			enter_view(v, c);
		}
		if (!c)
			continue;
		c->waits = 1;
		c->listed_at = v->events;
		if (clear_thread_stop) {
			free(c->thread_stop);
			c->thread_stop = NULL;
		}
	}
}

static void
apply_call(struct session_view *v, const struct json_doc *doc, const char *id, int custom)
{
	struct call *c = session_view_find(v, id);

	if (!c && !(c = new_call(v, id)))
		return;
	/* The newest event goes last, so that calls keep their events' order. */
	enter_view(v, c);
	if (v->running == c) {
		/* Its tool already runs with the event it was started with. */
	} else if (set_call_event(c, doc, custom) < 0) {
		leave_view(v, c);
		return;
	}
	/* A custom call runs only once an idle lists it: the server never
	 * lists one it refused. */
	if (c->thread_id || c->permission != PERMISSION_NONE)
		c->waits = 1;
}

static void
apply_result(struct session_view *v, const char *id)
{
	struct call *c = id ? view_call(v, id) : NULL;

	/* A denied call stays: it is reported even when its result is read
	 * together with the denial. */
	if (c && !call_is_denied(c))
		leave_view(v, c);
}

static void
apply_session_idle(struct session_view *v, const struct json_doc *doc, uint64_t seen_at)
{
	int reason = json_get(doc, 0, "stop_reason");
	const char *type = json_get_str(doc, reason, "type");
	int exhausted = type && strcmp(type, "retries_exhausted") == 0;

	if (type && strcmp(type, "requires_action") == 0) {
		v->idle_since_set = 0;
		list_calls(v, doc, json_get(doc, reason, "event_ids"), 0);
		return;
	}
	v->idle_since_set = 1;
	v->idle_since = seen_at;
	/* After retries_exhausted the session still takes the results of the
	 * calls it waited on. */
	for (struct call *c = v->head; c; c = c->next) {
		if (c->in_view)
			c->waits = exhausted && c->waits == 1;
	}
}

static void
apply_thread_status(struct session_view *v, const char *thread_id, int terminated)
{
	struct thread_status *t = find_thread(v, thread_id);

	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || (thread_id && !(t->thread_id = strdup(thread_id)))) {
			free(t);
			return;
		}
		t->next = v->threads;
		v->threads = t;
	}
	t->terminated = terminated;
}

static void
apply_thread_stop(struct session_view *v, const struct json_doc *doc, const char *type,
		  const char *thread_id, uint64_t seen_at)
{
	int idle = strcmp(type, "session.thread_status_idle") == 0;
	int reason = json_get(doc, 0, "stop_reason");
	const char *why = idle ? json_get_str(doc, reason, "type") : type;

	/* This can make the primary thread run again: the countdown starts over. */
	if (v->idle_since_set && seen_at > v->idle_since)
		v->idle_since = seen_at;
	/* A subagent's results stay on its own thread, so its idle is the
	 * sign, even over a later session idle. */
	for (struct call *c = v->head; c; c = c->next) {
		if (!c->in_view || !c->has_event ||
		    !session_view_same_thread(c->thread_id, thread_id))
			continue;
		free(c->thread_stop);
		c->thread_stop = strdup(why ? why : "");
	}
	if (idle && why && strcmp(why, "requires_action") == 0)
		list_calls(v, doc, json_get(doc, reason, "event_ids"), 1);
}

int
session_view_type(const char *type)
{
	for (size_t i = 0; session_view_types[i]; i++) {
		if (strcmp(type, session_view_types[i]) == 0)
			return 1;
	}
	return 0;
}

/* Whether an event of `type` can change the view: those the history is
 * read for, and the live stream's session.deleted and other statuses.  The
 * rest (messages, thinking, spans, deltas) leave no entry: a long session
 * reads many. */
static int
changes_view(const char *type)
{
	return session_view_type(type) || strcmp(type, "session.deleted") == 0 ||
	       strncmp(type, "session.status_", 15) == 0;
}

/* One event into the view. */
void
session_view_apply(struct session_view *v, const struct json_doc *doc, const char *type,
		   const char *id, uint64_t now_ms)
{
	uint64_t seen_at;
	const char *thread;

	if (!id || !changes_view(type))
		return;
	if (!(seen_at = mark_seen(v, id, now_ms)))
		return;
	thread = json_get_str(doc, 0, "session_thread_id");
	if (thread && !*thread)
		thread = NULL;

	if (strcmp(type, "agent.tool_use") == 0) {
		apply_call(v, doc, id, 0);
	} else if (strcmp(type, "agent.custom_tool_use") == 0) {
		apply_call(v, doc, id, 1);
	} else if (strcmp(type, "user.tool_result") == 0 ||
		   strcmp(type, "agent.tool_result") == 0) {
		apply_result(v, json_get_str(doc, 0, "tool_use_id"));
	} else if (strcmp(type, "user.custom_tool_result") == 0) {
		apply_result(v, json_get_str(doc, 0, "custom_tool_use_id"));
	} else if (strcmp(type, "user.tool_confirmation") == 0) {
		const char *tid = json_get_str(doc, 0, "tool_use_id");
		const char *result = json_get_str(doc, 0, "result");
		struct call *c = tid ? view_call(v, tid) : NULL;

		if (tid && !c && !seen_in_view(v, tid) &&
		    ((c = session_view_find(v, tid)) || (c = new_call(v, tid))))
			enter_view(v, c);
		if (c && c->confirmation == CONFIRMATION_NONE)
			c->confirmation = result && strcmp(result, "allow") == 0
						  ? CONFIRMATION_ALLOW
						  : CONFIRMATION_DENY;
	} else if (strcmp(type, "session.status_terminated") == 0 ||
		   strcmp(type, "session.deleted") == 0) {
		v->ended = 1;
	} else if (strcmp(type, "session.status_idle") == 0) {
		apply_session_idle(v, doc, seen_at);
	} else if (strcmp(type, "session.thread_status_running") == 0 ||
		   strcmp(type, "session.thread_status_rescheduled") == 0) {
		apply_thread_status(v, thread, 0);
	} else if (strcmp(type, "session.thread_status_idle") == 0 ||
		   strcmp(type, "session.thread_status_terminated") == 0) {
		apply_thread_status(v, thread, type[22] == 't');
		apply_thread_stop(v, doc, type, thread, seen_at);
	} else if (strncmp(type, "session.status_", 15) == 0) {
		v->idle_since_set = 0;
	}
}

/* The first call that is due: waited on, allowed, not behind an earlier
 * call the session may answer first. */
struct call *
session_view_due(struct session_view *v)
{
	for (struct call *c = v->head; c; c = c->next) {
		if (!c->in_view || !c->has_event || c->handled)
			continue;
		if (session_view_thread_terminated(v, c->thread_id) || call_is_denied(c) ||
		    !call_is_waited_on(c) || call_is_unconfirmed(c))
			continue;
		if (!call_is_behind_unanswered(v, c))
			return c;
	}
	return NULL;
}

/* A history event too large to read, of which only the type and id are
 * known: a tool use among them gets an error result once waited on. */
void
session_view_apply_oversized(struct session_view *v, const char *type, const char *id,
			     uint64_t now_ms)
{
	int custom = strcmp(type, "agent.custom_tool_use") == 0;
	struct call *c;

	if (!id || !mark_seen(v, id, now_ms))
		return;
	c = session_view_find(v, id);
	if (!c && !(c = new_call(v, id)))
		return;
	enter_view(v, c);
	if (!c->has_event)
		call_set_oversized(c, custom);
}

void
call_set_oversized(struct call *c, int custom)
{
	free_name(c->name);
	c->name = shared_names[OVERSIZED_NAME];
	c->has_event = 1;
	c->oversized = 1;
	c->custom = custom != 0;
}

void
session_view_release(struct session_view *v)
{
	for (size_t i = 0; i < v->n_buckets; i++) {
		while (v->buckets[i]) {
			struct call *c = v->buckets[i];

			v->buckets[i] = c->bucket_next;
			free_call(c);
		}
	}
	free(v->buckets);
	free(v->seen);
	free_threads(v);
	memset(v, 0, sizeof(*v));
}
