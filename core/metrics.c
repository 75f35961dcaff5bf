/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <environment-runner/plugin.h>

#include "loop.h"
#include "metrics.h"

struct metrics metrics;

/* The toolset's tools and the usual custom ones; the rest is "other". */
static const char *const tool_names[METRICS_TOOLS] = {
	"bash", "read", "write", "edit", "glob", "grep", "web_fetch", "web_search",
};

/* Upper bounds in seconds of the tool call duration histogram. */
static const double bucket_le[METRICS_BUCKETS] = {
	0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
};

static const char *const poll_error_kinds[METRICS_POLL_ERROR_KINDS] = {
	[METRICS_POLL_TRANSPORT] = "transport", [METRICS_POLL_SERVER] = "server",
	[METRICS_POLL_THROTTLED] = "throttled", [METRICS_POLL_REJECTED] = "rejected",
	[METRICS_POLL_OTHER] = "other",
};

static const char *const tool_outcomes[METRICS_TOOL_OUTCOMES] = {
	[METRICS_TOOL_OK] = "ok",
	[METRICS_TOOL_ERROR] = "error",
	[METRICS_TOOL_TIMEOUT] = "timeout",
	[METRICS_TOOL_CANCELLED] = "cancelled",
};

static const char *const watchdogs[METRICS_WATCHDOGS] = {
	[METRICS_WATCHDOG_STARTUP] = "startup",
	[METRICS_WATCHDOG_IDLE] = "idle",
	[METRICS_WATCHDOG_MAX_RUNTIME] = "max_runtime",
};

static const char *const hooks[METRICS_HOOKS] = {
	[METRICS_HOOK_PRE_SESSION] = "pre-session",
	[METRICS_HOOK_POST_SESSION] = "post-session",
};

static const char *const hook_outcomes[METRICS_HOOK_OUTCOMES] = {
	[METRICS_HOOK_OK] = "ok",
	[METRICS_HOOK_FAILED] = "failed",
	[METRICS_HOOK_TIMEOUT] = "timeout",
};

static int
tool_index(const char *tool)
{
	for (int i = 0; i < METRICS_TOOLS; i++)
		if (tool && strcmp(tool, tool_names[i]) == 0)
			return i;
	return METRICS_TOOLS;
}

static const char *
tool_label(int i)
{
	return i < METRICS_TOOLS ? tool_names[i] : "other";
}

void
metrics_poll_ok(int empty)
{
	metrics.polls++;
	metrics.last_poll_ok_ms = loop_now_ms();
	metrics.last_poll_ok_unix_ms = metrics_unix_ms();
	if (empty) {
		metrics.polls_empty++;
		metrics.last_poll_empty_ms = metrics.last_poll_ok_ms;
	} else {
		metrics.claims++;
	}
}

void
metrics_poll_failed(long status)
{
	enum metrics_poll_error kind = METRICS_POLL_OTHER;

	if (status == 0)
		kind = METRICS_POLL_TRANSPORT;
	else if (status >= 500)
		kind = METRICS_POLL_SERVER;
	else if (status == 429)
		kind = METRICS_POLL_THROTTLED;
	else if (status >= 400 && status != 408 && status != 409)
		kind = METRICS_POLL_REJECTED;
	metrics.polls++;
	metrics.poll_errors[kind]++;
}

void
metrics_tool_call(const char *tool, enum metrics_tool_outcome outcome, uint64_t ms)
{
	int i = tool_index(tool);
	double sec = (double)ms / 1000.0;

	metrics.tool_calls[i][outcome]++;
	metrics.tool_seconds[i] += sec;
	for (int b = 0; b < METRICS_BUCKETS; b++)
		if (sec <= bucket_le[b])
			metrics.tool_buckets[i][b]++;
}

int64_t
metrics_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
digits(const char **p, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t era;
	int yoe;
	int doy;
	int doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
metrics_parse_rfc3339(const char *s, int64_t *ret_ms)
{
	const char *p = s;
	int y, mo, d, h, mi, sec;
	int ms = 0;
	int off = 0;
	int64_t t;

	if (!s || digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
	    digits(&p, 2, &sec) < 0)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (*p == '.') {
		int scale = 100;

		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			ms += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int oh, om;

		p++;
		if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0)
			return -EINVAL;
		off = sign * (oh * 60 + om);
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off * 60;
	*ret_ms = t * 1000 + ms;
	return 0;
}

static int
head(struct buf *b, const char *name, const char *type, const char *help)
{
	return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int
counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
	if (head(b, name, "counter", help) < 0)
		return -ENOSPC;
	return buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static int
gauge(struct buf *b, const char *name, const char *help, double v)
{
	if (head(b, name, "gauge", help) < 0)
		return -ENOSPC;
	if (v == (double)(int64_t)v)
		return buf_printf(b, "%s %lld\n", name, (long long)v);
	return buf_printf(b, "%s %.3f\n", name, v);
}

int
metrics_render(struct buf *b, const struct metrics_state *st)
{
	const struct metrics *m = &metrics;
	uint64_t now = loop_now_ms();
	int r = 0;

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if ((x) < 0)                                                                       \
			return -ENOSPC;                                                            \
	} while (0)

	CHECK(head(b, "er_build_info", "gauge", "the runner's version (value 1)"));
	CHECK(buf_printf(b, "er_build_info{version=\"%s\",abi=\"%d.%d\"} 1\n", st->version,
			 ER_ABI_MAJOR, ER_ABI_MINOR));
	CHECK(gauge(b, "er_capacity", "sessions this runner serves at once", st->capacity));
	CHECK(gauge(b, "er_draining", "1 while the runner drains", st->draining));
	CHECK(gauge(b, "er_ready", "1 when /readyz answers 200", st->health_ready));

	CHECK(counter(b, "er_polls_total", "work polls answered", m->polls));
	CHECK(counter(b, "er_polls_empty_total", "work polls that found no item", m->polls_empty));
	CHECK(head(b, "er_poll_errors_total", "counter", "failed work polls, by kind"));
	for (int i = 0; i < METRICS_POLL_ERROR_KINDS; i++)
		CHECK(buf_printf(b, "er_poll_errors_total{kind=\"%s\"} %llu\n", poll_error_kinds[i],
				 (unsigned long long)m->poll_errors[i]));
	CHECK(gauge(b, "er_last_poll_success_timestamp_seconds",
		    "wall time of the last successful poll (0: none yet)",
		    (double)m->last_poll_ok_unix_ms / 1000.0));
	CHECK(gauge(b, "er_last_poll_success_age_seconds",
		    "seconds since the last successful poll (-1: none yet)",
		    m->last_poll_ok_ms ? (double)(now - m->last_poll_ok_ms) / 1000.0 : -1.0));
	CHECK(counter(b, "er_claims_total", "work items handed out by a poll", m->claims));
	CHECK(counter(b, "er_acks_total", "work items acknowledged", m->acks));
	CHECK(counter(b, "er_ack_failures_total", "acknowledgements that failed", m->ack_failures));

	CHECK(counter(b, "er_heartbeats_total", "successful lease heartbeats", m->heartbeats));
	CHECK(counter(b, "er_heartbeat_failures_total", "failed lease heartbeats",
		      m->heartbeat_failures));
	CHECK(counter(b, "er_leases_lost_total", "leases lost to another holder or the TTL",
		      m->leases_lost));
	CHECK(counter(b, "er_upgrades_total", "re-executions into a newly installed binary",
		      m->upgrades));
	CHECK(counter(b, "er_items_resumed_total",
		      "work items taken back after the runner restarted", m->items_resumed));
	CHECK(counter(b, "er_results_replayed_total",
		      "tool results sent from the record kept across a restart",
		      m->results_replayed));
	CHECK(counter(b, "er_calls_interrupted_total",
		      "tool calls answered with an error because the runner restarted while they "
		      "ran",
		      m->calls_interrupted));
	CHECK(counter(b, "er_results_synced_total",
		      "tool results fsync'd to the item's record because the API had not "
		      "accepted them within a second",
		      m->results_synced));

	CHECK(counter(b, "er_sessions_started_total", "work items this runner started serving",
		      m->sessions_started));
	CHECK(counter(b, "er_sessions_completed_total", "sessions that ended without failure",
		      m->sessions_completed));
	CHECK(counter(b, "er_sessions_failed_total", "sessions that failed", m->sessions_failed));
	CHECK(gauge(b, "er_sessions_active", "sessions being served", (double)m->sessions_active));
	CHECK(head(b, "er_watchdog_fired_total", "counter", "sessions ended by a watchdog"));
	for (int i = 0; i < METRICS_WATCHDOGS; i++)
		CHECK(buf_printf(b, "er_watchdog_fired_total{watchdog=\"%s\"} %llu\n", watchdogs[i],
				 (unsigned long long)m->watchdog_fired[i]));
	CHECK(head(b, "er_hook_runs_total", "counter", "lifecycle hook runs, by hook and outcome"));
	for (int i = 0; i < METRICS_HOOKS; i++)
		for (int o = 0; o < METRICS_HOOK_OUTCOMES; o++)
			CHECK(buf_printf(b, "er_hook_runs_total{hook=\"%s\",outcome=\"%s\"} %llu\n",
					 hooks[i], hook_outcomes[o],
					 (unsigned long long)m->hooks[i][o]));
	CHECK(counter(b, "er_on_work_started_total", "items handed to the --on-work command",
		      m->on_work_started));
	CHECK(counter(b, "er_on_work_failed_total",
		      "--on-work commands that could not start or exited non-zero",
		      m->on_work_failed));

	CHECK(head(b, "er_tool_calls_total", "counter", "tool calls, by tool and outcome"));
	for (int i = 0; i <= METRICS_TOOLS; i++)
		for (int o = 0; o < METRICS_TOOL_OUTCOMES; o++)
			if (m->tool_calls[i][o])
				CHECK(buf_printf(
					b, "er_tool_calls_total{tool=\"%s\",outcome=\"%s\"} %llu\n",
					tool_label(i), tool_outcomes[o],
					(unsigned long long)m->tool_calls[i][o]));
	CHECK(head(b, "er_tool_call_duration_seconds", "histogram",
		   "tool call durations, by tool"));
	for (int i = 0; i <= METRICS_TOOLS; i++) {
		uint64_t count = 0;

		for (int o = 0; o < METRICS_TOOL_OUTCOMES; o++)
			count += m->tool_calls[i][o];
		if (!count)
			continue;
		for (int k = 0; k < METRICS_BUCKETS; k++)
			CHECK(buf_printf(b,
					 "er_tool_call_duration_seconds_bucket{tool=\"%s\",le=\"%"
					 "g\"} %llu\n",
					 tool_label(i), bucket_le[k],
					 (unsigned long long)m->tool_buckets[i][k]));
		CHECK(buf_printf(
			b, "er_tool_call_duration_seconds_bucket{tool=\"%s\",le=\"+Inf\"} %llu\n",
			tool_label(i), (unsigned long long)count));
		CHECK(buf_printf(b, "er_tool_call_duration_seconds_sum{tool=\"%s\"} %.6f\n",
				 tool_label(i), m->tool_seconds[i]));
		CHECK(buf_printf(b, "er_tool_call_duration_seconds_count{tool=\"%s\"} %llu\n",
				 tool_label(i), (unsigned long long)count));
	}

	CHECK(counter(b, "er_events_sent_total", "session events posted", m->events_sent));
	CHECK(counter(b, "er_event_send_retries_total", "event posts retried",
		      m->event_send_retries));
	CHECK(counter(b, "er_event_send_failures_total", "events given up on",
		      m->event_send_failures));
	CHECK(counter(b, "er_sse_reconnects_total", "event stream reconnects", m->sse_reconnects));
	CHECK(counter(b, "er_requests_waited_total", "API requests that waited for their turn",
		      m->requests_waited));
	CHECK(gauge(b, "er_requests_waiting", "API requests waiting for their turn",
		    (double)m->requests_waiting));
	CHECK(counter(b, "er_sandbox_launch_failures_total",
		      "processes the sandbox could not wrap or start", m->sandbox_launch_failures));
	CHECK(counter(b, "er_process_tree_kills_total",
		      "session process trees killed at the end of a session",
		      m->process_tree_kills));

	if (m->have_queue) {
		CHECK(gauge(b, "er_work_queue_depth", "items queued in the environment",
			    (double)m->queue_depth));
		CHECK(gauge(b, "er_work_queue_pending", "items handed out but not acknowledged",
			    (double)m->queue_pending));
		CHECK(gauge(b, "er_work_queue_oldest_age_seconds",
			    "age of the oldest queued item (0: none)",
			    m->queue_oldest_unix_ms && metrics_unix_ms() > m->queue_oldest_unix_ms
				    ? (double)(metrics_unix_ms() - m->queue_oldest_unix_ms) / 1000.0
				    : 0.0));
		if (m->queue_workers_polling >= 0)
			CHECK(gauge(b, "er_work_queue_workers_polling",
				    "workers that polled the environment in the last 30 s",
				    (double)m->queue_workers_polling));
		CHECK(gauge(b, "er_work_queue_stats_age_seconds",
			    "seconds since the queue figures were read",
			    (double)(now - m->queue_updated_ms) / 1000.0));
	}
#undef CHECK
	return r;
}
