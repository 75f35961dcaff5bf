/* SPDX-License-Identifier: MIT */
/*
 * The status listener's answers (status.h): readiness, the JSON of
 * /healthz and /readyz, and /metrics with the queue figures.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "health.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "status.h"

/* The queue figures are read at most this often (on scrape). */
#define STATS_MIN_INTERVAL_MS 5000u

struct status {
	struct runtime *rt;
	status_view_cb view;
	void *userdata;
	int queue_figures;
	struct health *health;
	struct api_call *stats_call;
	uint64_t stats_asked_ms;
	int stats_unavailable;
};

static void
stats_done(void *userdata, const struct api_result *res)
{
	struct status *st = userdata;
	const struct json_doc *d = res->doc;
	const char *oldest;
	int64_t v;

	st->stats_call = NULL;
	if (res->status == 401 || res->status == 403 || res->status == 404) {
		st->stats_unavailable = 1;
		log_info("runner",
			 "queue figures unavailable to this credential (HTTP %ld): not exporting "
			 "them",
			 res->status);
		return;
	}
	if (res->status != 200 || !d || json_kind(d, 0) != JSON_OBJECT) {
		log_debug("runner", "reading the queue figures failed (HTTP %ld)", res->status);
		return;
	}
	metrics.have_queue = 1;
	metrics.queue_updated_ms = loop_now_ms();
	metrics.queue_depth = json_int64(d, json_get(d, 0, "depth"), &v) == 0 ? v : 0;
	metrics.queue_pending = json_int64(d, json_get(d, 0, "pending"), &v) == 0 ? v : 0;
	metrics.queue_workers_polling =
		json_int64(d, json_get(d, 0, "workers_polling"), &v) == 0 ? v : -1;
	oldest = json_get_str(d, 0, "oldest_queued_at");
	if (!oldest || metrics_parse_rfc3339(oldest, &metrics.queue_oldest_unix_ms) < 0)
		metrics.queue_oldest_unix_ms = 0;
}

static void
refresh_stats(struct status *st)
{
	struct runtime *rt = st->rt;
	struct buf path = BUF_INIT(4096);
	struct api_request q;
	uint64_t now = loop_now_ms();

	if (st->stats_unavailable || st->stats_call || !rt->environment_key || !st->queue_figures ||
	    (st->stats_asked_ms && now - st->stats_asked_ms < STATS_MIN_INTERVAL_MS))
		return;
	st->stats_asked_ms = now;
	if (api_path(&path, "/v1/environments/%s/work/stats", rt->settings->environment_id) < 0) {
		buf_release(&path);
		return;
	}
	memset(&q, 0, sizeof(q));
	q.method = "GET";
	q.path = path.data;
	q.token = rt->environment_key;
	q.beta = API_BETA_MANAGED_AGENTS;
	q.worker_id = rt->settings->worker_id;
	q.timeout_ms = 10000;
	q.max_retries = 0;
	api_call(rt->api, &q, stats_done, st, &st->stats_call);
	buf_release(&path);
}

const char *
status_not_ready_reason(const struct status_view *v, uint64_t last_poll_ok_ms, uint64_t poll_age_ms,
			uint64_t now_ms)
{
	uint64_t ref;

	if (v->draining)
		return "draining";
	if (v->retiring)
		return "retiring";
	if (v->disk_low)
		return "low disk space";
	if (!v->poll_expected)
		return NULL;
	if (!last_poll_ok_ms)
		return "no successful poll yet";
	ref = last_poll_ok_ms;
	if (v->capacity_freed_ms > ref)
		ref = v->capacity_freed_ms;
	if (now_ms - ref > poll_age_ms)
		return "no successful poll recently";
	return NULL;
}

static void
write_time(struct jsonw *w, int64_t unix_ms)
{
	char out[96];
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(unix_ms % 1000));
	jw_string(w, out);
}

static int
serve(void *userdata, const char *path, struct buf *body, const char **ret_type)
{
	struct status *st = userdata;
	struct runtime *rt = st->rt;
	struct status_view v;
	const char *why;
	struct jsonw w;

	memset(&v, 0, sizeof(v));
	st->view(st->userdata, &v);
	why = status_not_ready_reason(&v, metrics.last_poll_ok_ms,
				      (uint64_t)rt->settings->ready_poll_age_sec * 1000u,
				      loop_now_ms());
	if (strcmp(path, "/metrics") == 0) {
		struct metrics_state ms = { PACKAGE_VERSION, rt->settings->capacity, v.draining,
					    why == NULL };

		refresh_stats(st);
		*ret_type = "text/plain; version=0.0.4; charset=utf-8";
		return metrics_render(body, &ms) < 0 ? 500 : 200;
	}
	if (strcmp(path, "/healthz") != 0 && strcmp(path, "/readyz") != 0) {
		buf_puts(body, "not found: try /healthz, /readyz or /metrics\n");
		return 404;
	}
	*ret_type = "application/json";
	jw_init(&w, body);
	jw_object_begin(&w);
	if (strcmp(path, "/readyz") == 0) {
		jw_key(&w, "ready");
		jw_bool(&w, why == NULL);
		jw_key(&w, "reason");
		jw_string(&w, why);
	} else {
		jw_key(&w, "status");
		jw_string(&w, v.draining ? "draining" : "ok");
	}
	jw_key(&w, "worker_id");
	jw_string(&w, rt->worker_id);
	jw_key(&w, "sandbox");
	jw_string(&w, rt->sandbox ? rt->sandbox->desc.name : NULL);
	jw_key(&w, "sandbox_reason");
	jw_string(&w, v.sandbox_why && v.sandbox_why[0] ? v.sandbox_why : NULL);
	jw_key(&w, "active_sessions");
	jw_int(&w, v.active_sessions);
	jw_key(&w, "capacity");
	jw_int(&w, rt->settings->capacity);
	jw_key(&w, "sessions_started");
	jw_int(&w, (int64_t)metrics.sessions_started);
	jw_key(&w, "last_poll_at");
	if (metrics.last_poll_ok_unix_ms)
		write_time(&w, metrics.last_poll_ok_unix_ms);
	else
		jw_null(&w);
	jw_key(&w, "last_poll_age_ms");
	if (metrics.last_poll_ok_ms)
		jw_int(&w, (int64_t)(loop_now_ms() - metrics.last_poll_ok_ms));
	else
		jw_null(&w);
	jw_key(&w, "draining");
	jw_bool(&w, v.draining);
	jw_object_end(&w);
	buf_putc(body, '\n');
	if (jw_finish(&w) < 0)
		return 500;
	return strcmp(path, "/readyz") == 0 && why ? 503 : 200;
}

int
status_start(struct runtime *rt, int queue_figures, status_view_cb view, void *userdata,
	     struct status **ret)
{
	const struct settings *s = rt->settings;
	struct status *st;
	char err[512];
	int r;

	*ret = NULL;
	if (!s->health_port)
		return 0;
	st = calloc(1, sizeof(*st));
	if (!st) {
		log_error("runner", "cannot start the status listener: out of memory");
		return EX_OSERR;
	}
	st->rt = rt;
	st->view = view;
	st->userdata = userdata;
	st->queue_figures = queue_figures;
	r = health_new(rt->loop, s->health_addr, s->health_port, serve, st, &st->health, err,
		       sizeof(err));
	if (r == 0) {
		log_info("runner", "status listener on %s:%d (/healthz, /readyz, /metrics)",
			 s->health_addr, s->health_port);
		*ret = st;
		return 0;
	}
	free(st);
	/* The default port taken (a developer's machine) only costs the
	 * listener; a port asked for must work. */
	if (s->health_port_implicit && r == -EADDRINUSE) {
		log_warning("runner", "%s; running without it", err);
		return 0;
	}
	log_error("runner", "%s", err);
	return r == -EINVAL ? EX_USAGE : r == -ENOMEM ? EX_OSERR : EX_CANTCREAT;
}

void
status_free(struct status *st)
{
	if (!st)
		return;
	health_free(st->health);
	api_call_cancel(st->stats_call);
	free(st);
}
