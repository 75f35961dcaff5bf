/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "poller.h"
#include "rand.h"
#include "secret.h"

#define POLL_BACKOFF_MAX_MS 60000L
#define POLL_SLACK_MS 30000L
#define POLL_MIN_CYCLE_MS 1000L /* at most one poll a second */

struct poller {
	struct loop *loop;
	struct api *api;
	char *environment_id;
	char *environment_key;
	char *worker_id;
	int block_ms;
	struct poller_callbacks cb;
	void *userdata;
	struct api_call *call;
	struct loop_timer *timer;
	struct json_doc *acking; /* the item being acked */
	int failures;		 /* polls and acks failed in a row */
	int stopped;
	int waiting_capacity;
	uint64_t poll_sent_ms; /* loop_now_ms() when the poll in flight went out */
};

static void poll_now(struct poller *p);

static void
timer_fired(void *userdata)
{
	struct poller *p = userdata;

	p->timer = NULL;
	poll_now(p);
}

static void
poll_later(struct poller *p, long ms)
{
	loop_cancel_timer(p->timer);
	p->timer = NULL;
	if (!p->stopped)
		loop_add_timer(p->loop, (uint64_t)(ms > 0 ? ms : 0), timer_fired, p, &p->timer);
}

/* After a failed poll or ack: 2 s, 4 s ... 60 s, plus up to a second. */
static long
failure_delay(struct poller *p)
{
	long delay = 1000L << (p->failures < 6 ? p->failures + 1 : 6);

	if (p->failures < 6)
		p->failures++;
	if (delay > POLL_BACKOFF_MAX_MS)
		delay = POLL_BACKOFF_MAX_MS;
	return delay + (long)(rand_unit() * 1000.0);
}

static void
ack_done(void *userdata, const struct api_result *res)
{
	struct poller *p = userdata;
	struct json_doc *work = p->acking;
	const char *id = json_get_str(work, 0, "id");
	struct log_ctx ctx = { id, NULL };

	p->call = NULL;
	p->acking = NULL;
	if (res->status >= 200 && res->status < 300) {
		metrics.acks++;
		log_emit(LOG_LEVEL_DEBUG, "poller", &ctx, "acked");
		p->failures = 0;
		p->cb.claimed(p->userdata, work);
		json_free(work);
		poll_later(p, 0);
		return;
	}
	/* As the SDK: not handed over, not stopped; back to polling after a
	 * failure's delay. */
	metrics.ack_failures++;
	log_emit(LOG_LEVEL_WARNING, "poller", &ctx, "ack failed: %s",
		 res->status ? (res->error_message ? res->error_message : "HTTP error")
			     : res->transport_error);
	json_free(work);
	poll_later(p, failure_delay(p));
}

static void
ack(struct poller *p, struct json_doc *work)
{
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	p->acking = work;
	if (api_path(&path, "/v1/environments/%s/work/%s/ack", p->environment_id,
		     json_get_str(work, 0, "id")) < 0) {
		log_warning("poller", "ignoring a work item whose id is not a path segment");
		goto fail;
	}
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = path.data;
	r.token = p->environment_key;
	r.beta = API_BETA_MANAGED_AGENTS;
	r.helper = "environments-work-poller";
	r.timeout_ms = 30000;
	r.max_retries = -1;
	if (api_call(p->api, &r, ack_done, p, &p->call) < 0)
		goto fail;
	buf_release(&path);
	return;
fail:
	buf_release(&path);
	json_free(work);
	p->acking = NULL;
	poll_later(p, 1000);
}

static int
is_work(const struct json_doc *doc)
{
	return doc && json_kind(doc, 0) == JSON_OBJECT && json_get_str(doc, 0, "id") &&
	       json_kind(doc, json_get(doc, 0, "data")) == JSON_OBJECT;
}

static void
poll_done(void *userdata, const struct api_result *res)
{
	struct poller *p = userdata;
	struct json_doc *work = NULL;
	long delay;

	p->call = NULL;
	if (p->stopped)
		return;
	if (res->status >= 200 && res->status < 300) {
		/* No work: 204, an empty body, or JSON null. */
		if (res->status == 204 || res->body_len == 0 ||
		    (res->doc && json_kind(res->doc, 0) == JSON_NULL)) {
			long took = (long)(loop_now_ms() - p->poll_sent_ms);

			p->failures = 0;

			/* Keep one long poll in flight: poll again at once (the server
			 * holds each poll for block_ms), but not sooner than a second
			 * after the last one went out (poll_later clamps at 0). */
			metrics_poll_ok(1);
			poll_later(p, POLL_MIN_CYCLE_MS - took);
			return;
		}
		metrics_poll_ok(!is_work(res->doc));
		if (!is_work(res->doc)) {
			log_warning("poller", "ignoring a poll answer that is not a work item");
			poll_later(p, 1000);
			return;
		}
		/* Re-parse to own the document past this callback. */
		if (json_parse(res->body, res->body_len, &work, NULL, 0) < 0) {
			poll_later(p, 1000);
			return;
		}
		ack(p, work);
		return;
	}
	metrics_poll_failed(res->status);
	if (res->fatal) {
		log_error("poller", "polling refused with HTTP %ld: %s", res->status,
			  res->error_message ? res->error_message : "no message");
		p->stopped = 1;
		p->cb.fatal(p->userdata, res->status, res->error_message);
		return;
	}
	delay = failure_delay(p);
	/* The server's Retry-After holds between polls too, not only between
	 * the client's own retries of one poll. */
	if (res->retry_after_ms > delay)
		delay = res->retry_after_ms < POLL_BACKOFF_MAX_MS ? res->retry_after_ms
								  : POLL_BACKOFF_MAX_MS;
	if (res->status)
		log_warning("poller", "poll failed with HTTP %ld, retrying in %ld ms", res->status,
			    delay);
	else
		log_warning("poller", "poll failed: %s, retrying in %ld ms", res->transport_error,
			    delay);
	poll_later(p, delay);
}

static void
poll_now(struct poller *p)
{
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	if (p->stopped || p->call)
		return;
	if (!p->cb.has_capacity(p->userdata)) {
		p->waiting_capacity = 1;
		return;
	}
	p->waiting_capacity = 0;
	if (api_path(&path, "/v1/environments/%s/work/poll?block_ms=%d", p->environment_id,
		     p->block_ms) < 0) {
		buf_release(&path);
		poll_later(p, 1000);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.path = path.data;
	r.token = p->environment_key;
	r.beta = API_BETA_MANAGED_AGENTS;
	r.worker_id = p->worker_id;
	r.helper = "environments-work-poller";
	r.timeout_ms = p->block_ms + POLL_SLACK_MS;
	r.max_retries = -1;
	p->poll_sent_ms = loop_now_ms();
	if (api_call(p->api, &r, poll_done, p, &p->call) < 0)
		poll_later(p, 1000);
	buf_release(&path);
}

struct poller *
poller_start(struct loop *loop, struct api *api, const struct poller_options *o,
	     const struct poller_callbacks *cb, void *userdata)
{
	struct poller *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->loop = loop;
	p->api = api;
	p->environment_id = strdup(o->environment_id);
	p->environment_key = strdup(o->environment_key);
	p->worker_id = strdup(o->worker_id);
	if (!p->environment_id || !p->environment_key || !p->worker_id) {
		poller_free(p);
		return NULL;
	}
	p->block_ms = o->block_ms;
	p->cb = *cb;
	p->userdata = userdata;
	poll_later(p, 0);
	return p;
}

void
poller_kick(struct poller *p)
{
	if (p && p->waiting_capacity && !p->timer)
		poll_later(p, 0);
}

int
poller_set_key(struct poller *p, const char *environment_key)
{
	char *copy = strdup(environment_key);

	if (!copy)
		return -ENOMEM;
	secret_free(p->environment_key);
	p->environment_key = copy;
	return 0;
}

void
poller_stop(struct poller *p)
{
	if (!p)
		return;
	p->stopped = 1;
	loop_cancel_timer(p->timer);
	p->timer = NULL;
	/* An ack in flight completes: that item is ours and gets served. */
	if (!p->acking) {
		api_call_cancel(p->call);
		p->call = NULL;
	}
}

void
poller_free(struct poller *p)
{
	if (!p)
		return;
	api_call_cancel(p->call);
	loop_cancel_timer(p->timer);
	json_free(p->acking);
	free(p->environment_id);
	secret_free(p->environment_key);
	free(p->worker_id);
	free(p);
}
