/* SPDX-License-Identifier: MIT */
/* The session's call-state machine (docs/protocol.md §7), as a table: each
 * row feeds events to a view and names the calls that are due to run, waited
 * on and resolved after them. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "session-view.h"

/* clang-format off */

/* Events, written short. Besides: "BEGIN" starts a new view, as a
 * reconnection does; "RAN id" marks a call run, as the stream does when it
 * starts it; "OVERSIZED id" is a tool use too large to read. */
#define USE(id, more)         "{\"type\":\"agent.tool_use\",\"id\":\"" id "\",\"name\":\"bash\",\"input\":{}" more "}"
#define CUSTOM_USE(id)        "{\"type\":\"agent.custom_tool_use\",\"id\":\"" id "\",\"name\":\"lookup\",\"input\":{}}"
#define RESULT(id, use)       "{\"type\":\"user.tool_result\",\"id\":\"" id "\",\"tool_use_id\":\"" use "\"}"
#define CUSTOM_RESULT(id, use) "{\"type\":\"user.custom_tool_result\",\"id\":\"" id "\",\"custom_tool_use_id\":\"" use "\"}"
#define CONFIRM(id, use, result) "{\"type\":\"user.tool_confirmation\",\"id\":\"" id "\",\"tool_use_id\":\"" use "\",\"result\":\"" result "\"}"
#define IDLE(id, why)         "{\"type\":\"session.status_idle\",\"id\":\"" id "\",\"stop_reason\":{\"type\":\"" why "\"}}"
#define ACTION(id, ids)       "{\"type\":\"session.status_idle\",\"id\":\"" id "\",\"stop_reason\":{\"type\":\"requires_action\",\"event_ids\":[" ids "]}}"
#define RUNNING(id)           "{\"type\":\"session.status_running\",\"id\":\"" id "\"}"
#define THREAD(id, status, t) "{\"type\":\"session.thread_status_" status "\",\"id\":\"" id "\",\"session_thread_id\":\"" t "\"}"
#define THREAD_IDLE(id, t, why) "{\"type\":\"session.thread_status_idle\",\"id\":\"" id "\",\"session_thread_id\":\"" t "\",\"stop_reason\":{\"type\":\"" why "\"}}"
#define THREAD_ACTION(id, t, ids) "{\"type\":\"session.thread_status_idle\",\"id\":\"" id "\",\"session_thread_id\":\"" t "\",\"stop_reason\":{\"type\":\"requires_action\",\"event_ids\":[" ids "]}}"
#define ON_THREAD(t)          ",\"session_thread_id\":\"" t "\""
#define PERMISSION(p)         ",\"evaluated_permission\":\"" p "\""

struct row {
	const char *what;
	const char *events[8];
	const char *due;      /* the call due to run, "" for none */
	const char *waited;   /* the calls the session waits on, in order */
	const char *resolved; /* the calls it no longer takes a result for */
	int idle;             /* the session is idle (the countdown may run) */
	int ended;
};

static const struct row rows[] = {
	/* The primary thread: a call runs once an idle lists it. */
	{ "a tool use alone", { USE("u1", "") }, "", "", "", 0, 0 },
	{ "listed by requires_action", { USE("u1", ""), ACTION("i1", "\"u1\"") }, "u1", "u1", "", 0, 0 },
	{ "listed before it is read", { ACTION("i1", "\"u1\""), USE("u1", "") }, "u1", "u1", "", 0, 0 },
	{ "answered", { USE("u1", ""), ACTION("i1", "\"u1\""), RESULT("r1", "u1") }, "", "", "u1", 0, 0 },
	{ "answered by the agent", { USE("u1", ""), ACTION("i1", "\"u1\""), "{\"type\":\"agent.tool_result\",\"id\":\"r1\",\"tool_use_id\":\"u1\"}" }, "", "", "u1", 0, 0 },
	{ "the first of two", { USE("u1", ""), USE("u2", ""), ACTION("i1", "\"u1\",\"u2\"") }, "u1", "u1 u2", "", 0, 0 },
	{ "the second once the first is answered", { USE("u1", ""), USE("u2", ""), ACTION("i1", "\"u1\",\"u2\""), RESULT("r1", "u1") }, "u2", "u2", "u1", 0, 0 },
	{ "one listed of two", { USE("u1", ""), USE("u2", ""), ACTION("i1", "\"u2\"") }, "u2", "u2", "", 0, 0 },
	/* An idle that asks for nothing ends the waiting, but retries_exhausted. */
	{ "end_turn", { USE("u1", ""), ACTION("i1", "\"u1\""), IDLE("i2", "end_turn") }, "", "", "", 1, 0 },
	{ "retries_exhausted", { USE("u1", ""), ACTION("i1", "\"u1\""), IDLE("i2", "retries_exhausted") }, "u1", "u1", "", 1, 0 },
	{ "running again", { USE("u1", ""), IDLE("i1", "end_turn"), RUNNING("s1") }, "", "", "", 0, 0 },
	{ "listed again after end_turn", { USE("u1", ""), ACTION("i1", "\"u1\""), IDLE("i2", "end_turn"), ACTION("i3", "\"u1\"") }, "u1", "u1", "", 0, 0 },
	/* Permissions and confirmations. */
	{ "evaluated allow", { USE("u1", PERMISSION("allow")) }, "u1", "u1", "", 0, 0 },
	{ "evaluated deny", { USE("u1", PERMISSION("deny")), ACTION("i1", "\"u1\"") }, "", "u1", "", 0, 0 },
	{ "denied, then its result", { USE("u1", PERMISSION("deny")), RESULT("r1", "u1") }, "", "u1", "", 0, 0 },
	{ "ask holds", { USE("u1", PERMISSION("ask")), ACTION("i1", "\"u1\"") }, "", "u1", "", 0, 0 },
	{ "an unknown permission holds", { USE("u1", PERMISSION("maybe")), ACTION("i1", "\"u1\"") }, "", "u1", "", 0, 0 },
	{ "ask confirmed", { USE("u1", PERMISSION("ask")), ACTION("i1", "\"u1\""), CONFIRM("c1", "u1", "allow") }, "u1", "u1", "", 0, 0 },
	{ "ask refused", { USE("u1", PERMISSION("ask")), ACTION("i1", "\"u1\""), CONFIRM("c1", "u1", "deny") }, "", "u1", "", 0, 0 },
	{ "the first confirmation counts", { USE("u1", PERMISSION("ask")), ACTION("i1", "\"u1\""), CONFIRM("c1", "u1", "deny"), CONFIRM("c2", "u1", "allow") }, "", "u1", "", 0, 0 },
	{ "behind an unanswered call", { USE("u1", PERMISSION("ask")), USE("u2", PERMISSION("allow")), ACTION("i1", "\"u1\",\"u2\"") }, "", "u1 u2", "", 0, 0 },
	{ "no longer behind it", { USE("u1", PERMISSION("ask")), USE("u2", PERMISSION("allow")), ACTION("i1", "\"u1\",\"u2\""), CONFIRM("c1", "u1", "deny") }, "u2", "u1 u2", "", 0, 0 },
	/* Custom tools run once listed; the server never lists one it refused. */
	{ "custom, not listed", { CUSTOM_USE("t1") }, "", "", "", 0, 0 },
	{ "custom, listed", { CUSTOM_USE("t1"), ACTION("i1", "\"t1\"") }, "t1", "t1", "", 0, 0 },
	{ "custom, answered", { CUSTOM_USE("t1"), ACTION("i1", "\"t1\""), CUSTOM_RESULT("r1", "t1") }, "", "", "t1", 0, 0 },
	/* A subagent's thread: its calls are waited on at once; its own idle
	 * and status decide them. */
	{ "on a thread", { USE("u1", ON_THREAD("th")) }, "u1", "u1", "", 0, 0 },
	{ "its thread ended its turn", { USE("u1", ON_THREAD("th")), THREAD_IDLE("ti", "th", "end_turn") }, "", "", "u1", 0, 0 },
	{ "its thread ran out of retries", { USE("u1", ON_THREAD("th")), THREAD_IDLE("ti", "th", "retries_exhausted") }, "", "", "", 0, 0 },
	{ "its thread lists it", { USE("u1", ON_THREAD("th")), THREAD_IDLE("ti", "th", "end_turn"), THREAD_ACTION("ta", "th", "\"u1\"") }, "u1", "u1", "", 0, 0 },
	{ "its thread terminated", { USE("u1", ON_THREAD("th")), THREAD("tt", "terminated", "th") }, "", "", "u1", 0, 0 },
	{ "its thread runs again", { USE("u1", ON_THREAD("th")), THREAD("tt", "terminated", "th"), THREAD("tr", "running", "th") }, "", "", "u1", 0, 0 },
	{ "another thread's idle", { USE("u1", ON_THREAD("th")), THREAD_IDLE("ti", "other", "end_turn") }, "u1", "u1", "", 0, 0 },
	{ "a session idle over a thread's call", { USE("u1", ON_THREAD("th")), IDLE("i1", "end_turn") }, "", "", "", 1, 0 },
	{ "a thread's call behind an unanswered one", { THREAD("tr", "running", "th"), USE("u1", ON_THREAD("th") PERMISSION("ask")), USE("u2", ON_THREAD("th")) }, "", "u1 u2", "", 0, 0 },
	{ "a silent thread holds nothing back", { USE("u1", ON_THREAD("th") PERMISSION("ask")), USE("u2", ON_THREAD("th")) }, "u2", "u1 u2", "", 0, 0 },
	/* Calls run once, in order; one too large to read is still answered. */
	{ "already run", { USE("u1", ""), ACTION("i1", "\"u1\""), "RAN u1" }, "", "u1", "", 0, 0 },
	{ "the next once one ran", { USE("u1", ""), USE("u2", ""), ACTION("i1", "\"u1\",\"u2\""), "RAN u1" }, "u2", "u1 u2", "", 0, 0 },
	{ "run, then answered", { USE("u1", ""), ACTION("i1", "\"u1\""), "RAN u1", RESULT("r1", "u1") }, "", "", "u1", 0, 0 },
	{ "too large, not listed", { "OVERSIZED u1" }, "", "", "", 0, 0 },
	{ "too large, listed", { "OVERSIZED u1", ACTION("i1", "\"u1\"") }, "u1", "u1", "", 0, 0 },
	/* Replays and reconnections. */
	{ "an event applied once", { USE("u1", ""), ACTION("i1", "\"u1\""), RESULT("r1", "u1"), USE("u1", "") }, "", "", "u1", 0, 0 },
	{ "a new view forgets the old", { USE("u1", ""), ACTION("i1", "\"u1\""), "BEGIN" }, "", "", "u1", 0, 0 },
	{ "a new view replays the history", { USE("u1", ""), ACTION("i1", "\"u1\""), "BEGIN", USE("u1", ""), ACTION("i1", "\"u1\"") }, "u1", "u1", "", 0, 0 },
	{ "an event without id", { "{\"type\":\"agent.tool_use\",\"name\":\"bash\"}" }, "", "", "", 0, 0 },
	/* The end. */
	{ "terminated", { USE("u1", ""), ACTION("i1", "\"u1\""), "{\"type\":\"session.status_terminated\",\"id\":\"e1\"}" }, "u1", "u1", "", 0, 1 },
	{ "deleted", { "{\"type\":\"session.deleted\",\"id\":\"e1\"}" }, "", "", "", 0, 1 },
};

/* clang-format on */

static void
feed(struct session_view *v, const char *const *events)
{
	uint64_t now = 1000;

	for (; *events; events++, now++) {
		struct json_doc *doc = NULL;

		if (strcmp(*events, "BEGIN") == 0) {
			session_view_begin(v);
			continue;
		}
		if (strncmp(*events, "RAN ", 4) == 0) {
			struct call *c = session_view_find(v, *events + 4);

			assert_non_null(c);
			c->handled = 1;
			continue;
		}
		if (strncmp(*events, "OVERSIZED ", 10) == 0) {
			session_view_apply_oversized(v, "agent.tool_use", *events + 10, now);
			continue;
		}
		assert_int_equal(json_parse(*events, strlen(*events), &doc, NULL, 0), 0);
		session_view_apply(v, doc, json_get_str(doc, 0, "type"), json_get_str(doc, 0, "id"),
				   now);
		json_free(doc);
	}
}

/* The ids of the calls `pick` chooses, in the view's order. */
static const char *
ids(const struct session_view *v, int (*pick)(const struct call *), char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (const struct call *c = v->head; c; c = c->next) {
		if (pick(c))
			n += (size_t)snprintf(out + n, size - n, "%s%s", n ? " " : "", c->id);
		assert_true(n < size);
	}
	return out;
}

/* The ids of the calls out of the view as well, which its list leaves out,
 * and of those forgotten once handled: every id the rows use. */
static const char *
resolved_ids(struct session_view *v, char *out, size_t size)
{
	static const char *const known[] = { "u1", "u2", "t1" };
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const struct call *c = session_view_find(v, known[i]);

		if ((c && call_is_resolved(c)) || session_view_forgot(v, known[i]))
			n += (size_t)snprintf(out + n, size - n, "%s%s", n ? " " : "", known[i]);
		assert_true(n < size);
	}
	return out;
}

static int
waited(const struct call *c)
{
	return c->in_view && call_is_waited_on(c);
}

static void
test_call_states(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct session_view v;
		struct call *due;
		char w[128], res[128];

		memset(&v, 0, sizeof(v));
		session_view_begin(&v);
		feed(&v, r->events);
		due = session_view_due(&v);
		ids(&v, waited, w, sizeof(w));
		resolved_ids(&v, res, sizeof(res));
		if (strcmp(due ? due->id : "", r->due) != 0 || strcmp(w, r->waited) != 0 ||
		    strcmp(res, r->resolved) != 0 || v.idle_since_set != r->idle ||
		    v.ended != r->ended)
			fail_msg("%s: due '%s' waited '%s' resolved '%s' idle %d ended %d; want "
				 "'%s' '%s' '%s' %d %d",
				 r->what, due ? due->id : "", w, res, v.idle_since_set, v.ended,
				 r->due, r->waited, r->resolved, r->idle, r->ended);
		session_view_release(&v);
	}
}

static void
apply_at(struct session_view *v, const char *json, uint64_t now)
{
	struct json_doc *doc = NULL;

	assert_int_equal(json_parse(json, strlen(json), &doc, NULL, 0), 0);
	session_view_apply(v, doc, json_get_str(doc, 0, "type"), json_get_str(doc, 0, "id"), now);
	json_free(doc);
}

static void
apply_text(struct session_view *v, const char *json)
{
	apply_at(v, json, 1);
}

/* The view's list, walked at every event, holds the open calls only: a
 * long session's answered calls stay findable but out of it. */
static void
test_answered_calls_leave_the_list(void **state)
{
	struct session_view v;
	char json[256];

	(void)state;
	memset(&v, 0, sizeof(v));
	session_view_begin(&v);
	for (int i = 0; i < 1000; i++) {
		snprintf(json, sizeof(json), USE("u%d", ""), i);
		apply_text(&v, json);
		snprintf(json, sizeof(json), ACTION("i%d", "\"u%d\""), i, i);
		apply_text(&v, json);
		snprintf(json, sizeof(json), RESULT("r%d", "u%d"), i, i);
		apply_text(&v, json);
	}
	apply_text(&v, USE("open", ""));
	assert_non_null(v.head);
	assert_string_equal(v.head->id, "open");
	assert_null(v.head->next);
	assert_ptr_equal(v.tail, v.head);
	assert_true(call_is_resolved(session_view_find(&v, "u0")));
	assert_true(call_is_resolved(session_view_find(&v, "u999")));
	/* A new view (a reconnection) empties the list; the history's replay
	 * brings a call back to it. */
	session_view_begin(&v);
	assert_null(v.head);
	apply_text(&v, USE("u7", ""));
	assert_string_equal(v.head->id, "u7");
	assert_null(v.head->next);
	session_view_release(&v);
}

/* Each event applies once a view, however many the session has read (its
 * table grows with them), and keeps when it was first read: an idle read
 * again on a reconnection counts from its first reading. */
static void
test_events_apply_once_a_view(void **state)
{
	struct session_view v;
	char json[256];

	(void)state;
	memset(&v, 0, sizeof(v));
	session_view_begin(&v);
	for (int i = 0; i < 3000; i++) {
		snprintf(json, sizeof(json), IDLE("e%d", "end_turn"), i);
		apply_at(&v, json, 1000 + (uint64_t)i);
	}
	assert_int_equal(v.events, 3000);
	assert_int_equal(v.idle_since, 1000 + 2999);
	apply_at(&v, IDLE("e5", "end_turn"), 90000);
	apply_at(&v, IDLE("e2999", "end_turn"), 90000);
	assert_int_equal(v.events, 3000);
	assert_int_equal(v.idle_since, 1000 + 2999);
	session_view_begin(&v);
	apply_at(&v, IDLE("e5", "end_turn"), 90000);
	assert_int_equal(v.events, 1);
	assert_true(v.idle_since_set);
	assert_int_equal(v.idle_since, 1000 + 5);
	apply_at(&v, IDLE("e5", "end_turn"), 90001);
	assert_int_equal(v.events, 1);
	apply_at(&v, IDLE("new", "end_turn"), 90003);
	assert_int_equal(v.events, 2);
	assert_int_equal(v.idle_since, 90003);
	session_view_release(&v);
}

/* A call keeps its input until its run is over; a reconnection that reads
 * its event again brings back its name and thread, not its input (a whole
 * file's content, for a write).  A call that has not run keeps it. */
static void
test_a_call_that_ran_keeps_no_input(void **state)
{
	static const char big[] =
		"{\"type\":\"agent.tool_use\",\"id\":\"w1\",\"name\":\"write\","
		"\"input\":{\"file_path\":\"a\",\"content\":\"0123456789\"}" ON_THREAD("th") "}";
	struct session_view v;
	struct call *c;

	(void)state;
	memset(&v, 0, sizeof(v));
	session_view_begin(&v);
	apply_text(&v, big);
	apply_text(&v, USE("u1", ON_THREAD("th")));
	c = session_view_find(&v, "w1");
	assert_non_null(c);
	assert_non_null(c->input);
	assert_int_equal(c->input_len, strlen("{\"file_path\":\"a\",\"content\":\"0123456789\"}"));
	assert_memory_equal(c->input, "{\"file_path\":\"a\",\"content\":\"0123456789\"}",
			    c->input_len);
	/* As the stream runs it, then finishes it. */
	c->handled = 1;
	call_drop_input(c);
	assert_null(c->input);
	assert_int_equal(c->input_len, 0);
	session_view_begin(&v);
	apply_text(&v, big);
	apply_text(&v, USE("u1", ON_THREAD("th")));
	c = session_view_find(&v, "w1");
	assert_non_null(c);
	assert_true(c->handled);
	assert_true(c->has_event);
	assert_string_equal(c->name, "write");
	assert_string_equal(c->thread_id, "th");
	assert_null(c->input);
	/* u1 has not run: its input came back with its event. */
	c = session_view_find(&v, "u1");
	assert_non_null(c->input);
	assert_int_equal(c->input_len, 2);
	assert_memory_equal(c->input, "{}", 2);
	session_view_release(&v);
}

/* A call that ran and whose result the session has is forgotten, so that a
 * long session keeps an event entry a call and not a record.  A replay of
 * its event on a reconnection brings it back handled, never due again; a
 * call left to others comes back left to others. */
static void
test_calls_that_ran_are_forgotten(void **state)
{
	struct session_view v;
	struct call *c;
	char json[256];
	char id[16];

	(void)state;
	memset(&v, 0, sizeof(v));
	session_view_begin(&v);
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		snprintf(json, sizeof(json), USE("%s", ""), id);
		apply_text(&v, json);
		snprintf(json, sizeof(json), ACTION("i%d", "\"%s\""), i, id);
		apply_text(&v, json);
		c = session_view_due(&v);
		assert_non_null(c);
		assert_string_equal(c->id, id);
		/* As the stream starts it; its result is read back before its
		 * post is answered: a running call stays. */
		c->handled = 1;
		v.running = c;
		snprintf(json, sizeof(json), RESULT("r%d", "%s"), i, id);
		apply_text(&v, json);
		assert_ptr_equal(session_view_find(&v, id), c);
		assert_false(session_view_forgot(&v, id));
		v.running = NULL;
		session_view_call_over(&v, c);
		assert_null(session_view_find(&v, id));
		assert_true(session_view_forgot(&v, id));
	}
	assert_int_equal(v.n_calls, 0);
	assert_null(v.head);

	/* The post answered first: the call waits for its result. */
	apply_text(&v, USE("x1", ""));
	apply_text(&v, ACTION("ix", "\"x1\""));
	c = session_view_due(&v);
	assert_non_null(c);
	c->handled = 1;
	session_view_call_over(&v, c);
	assert_ptr_equal(session_view_find(&v, "x1"), c);
	apply_text(&v, RESULT("rx", "x1"));
	assert_true(session_view_forgot(&v, "x1"));

	/* Left to others: no result comes, the view holds it until the next. */
	apply_text(&v, USE("d1", ON_THREAD("th")));
	c = session_view_due(&v);
	assert_non_null(c);
	assert_string_equal(c->id, "d1");
	c->handled = 1;
	c->declined = 1;
	session_view_call_over(&v, c);
	assert_ptr_equal(session_view_find(&v, "d1"), c);
	session_view_begin(&v);
	assert_true(session_view_forgot(&v, "d1"));
	assert_int_equal(v.n_calls, 0);

	/* The history read again on a reconnection. */
	apply_text(&v, USE("u5", ""));
	apply_text(&v, ACTION("i5", "\"u5\""));
	assert_null(session_view_due(&v));
	c = session_view_find(&v, "u5");
	assert_non_null(c);
	assert_true(c->handled);
	assert_false(c->declined);
	assert_null(c->input);
	apply_text(&v, USE("d1", ON_THREAD("th")));
	assert_null(session_view_due(&v));
	c = session_view_find(&v, "d1");
	assert_non_null(c);
	assert_true(c->handled);
	assert_true(c->declined);
	/* A call never read is not among the forgotten. */
	assert_false(session_view_forgot(&v, "u1000"));
	session_view_release(&v);
}

/* Events that cannot change the view (messages, thinking, spans) leave no
 * entry in it: a long session reads many. */
static void
test_other_events_leave_no_entry(void **state)
{
	struct session_view v;
	char json[256];

	(void)state;
	memset(&v, 0, sizeof(v));
	session_view_begin(&v);
	for (int i = 0; i < 1000; i++) {
		snprintf(json, sizeof(json),
			 "{\"type\":\"agent.message\",\"id\":\"m%d\",\"content\":[]}", i);
		apply_text(&v, json);
		snprintf(json, sizeof(json), "{\"type\":\"span.model_request_end\",\"id\":\"s%d\"}",
			 i);
		apply_text(&v, json);
	}
	assert_int_equal(v.seen_used, 0);
	assert_int_equal(v.events, 0);
	apply_text(&v, USE("u1", ""));
	apply_text(&v, ACTION("i1", "\"u1\""));
	assert_int_equal(v.seen_used, 2);
	assert_non_null(session_view_due(&v));
	/* A session status the view does not know still ends an idle. */
	apply_text(&v, IDLE("i2", "end_turn"));
	assert_true(v.idle_since_set);
	apply_text(&v, "{\"type\":\"session.status_paused\",\"id\":\"p1\"}");
	assert_false(v.idle_since_set);
	assert_int_equal(v.seen_used, 4);
	session_view_release(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_states),
		cmocka_unit_test(test_answered_calls_leave_the_list),
		cmocka_unit_test(test_events_apply_once_a_view),
		cmocka_unit_test(test_a_call_that_ran_keeps_no_input),
		cmocka_unit_test(test_calls_that_ran_are_forgotten),
		cmocka_unit_test(test_other_events_leave_no_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
