/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "metrics.h"
#include "rand.h"
#include "secret.h"

#define LEASE_INTERVAL_MS 30000L
#define LEASE_BACKOFF_MIN_MS 1000L
#define LEASE_CLAIM_TTL_MS 300000L /* the API's default, assumed until it says */
#define LEASE_BEAT_TIMEOUT_MS 30000L
#define LEASE_NO_HEARTBEAT "NO_HEARTBEAT"

struct lease {
	struct loop *loop;
	struct api *api;
	char *environment_id;
	char *work_id;
	char *token;
	char *last; /* the last_heartbeat to echo */
	struct log_ctx ctx;
	long ttl_ms;
	uint64_t sent_at;    /* of the beat in flight */
	uint64_t expires_at; /* the last good beat's send time + TTL */
	int attempt;	     /* failed tries of the current beat */
	int claimed;
	struct api_call *call;
	struct loop_timer *timer;
	struct lease_callbacks cb;
	void *userdata;
	int ended;
};

static void beat(void *userdata);

int
lease_end_is_lost(enum lease_end why)
{
	return why != LEASE_END_NOT_EXTENDED;
}

const char *
lease_end_to_string(enum lease_end why)
{
	switch (why) {
	case LEASE_END_NOT_EXTENDED:
		return "lease not extended";
	case LEASE_END_LOST:
		return "lease lost";
	case LEASE_END_ASSUMED_LOST:
		return "lease assumed lost";
	case LEASE_END_REJECTED:
		return "heartbeat rejected";
	}
	return "unknown";
}

long
lease_ttl_ms(const struct lease *lease)
{
	return lease->ttl_ms;
}

static void
end(struct lease *lease, enum lease_end why)
{
	if (lease->ended)
		return;
	lease->ended = 1;
	loop_cancel_timer(lease->timer);
	lease->timer = NULL;
	api_call_cancel(lease->call);
	lease->call = NULL;
	lease->cb.ended(lease->userdata, why, !lease->claimed);
}

static void
schedule(struct lease *lease, uint64_t at)
{
	uint64_t now = loop_now_ms();

	if (!lease->ended)
		loop_add_timer(lease->loop, at > now ? at - now : 0, beat, lease, &lease->timer);
}

static int
beat_ok(struct lease *lease, const struct json_doc *doc)
{
	const char *last;
	int64_t ttl_s;
	long ttl;

	metrics.heartbeats++;
	if (json_bool(doc, json_get(doc, 0, "lease_extended")) != 1) {
		log_emit(LOG_LEVEL_INFO, "lease", &lease->ctx,
			 "heartbeat signals shutdown (state %s)",
			 json_get_str(doc, 0, "state") ? json_get_str(doc, 0, "state") : "unknown");
		end(lease, LEASE_END_NOT_EXTENDED);
		return 0;
	}
	if (json_int64(doc, json_get(doc, 0, "ttl_seconds"), &ttl_s) == 0 && ttl_s > 0) {
		ttl = (long)(ttl_s > 86400 ? 86400 : ttl_s) * 1000L;
		if (ttl != lease->ttl_ms) {
			lease->ttl_ms = ttl;
			if (lease->cb.ttl_changed)
				lease->cb.ttl_changed(lease->userdata, ttl);
		}
	}
	last = json_get_str(doc, 0, "last_heartbeat");
	if (last) {
		char *copy = strdup(last);

		if (copy) {
			free(lease->last);
			lease->last = copy;
		}
	}
	lease->expires_at = lease->sent_at + (uint64_t)lease->ttl_ms;
	lease->attempt = 0;
	if (lease->cb.beaten)
		lease->cb.beaten(lease->userdata, lease->last, lease->ttl_ms,
				 loop_now_ms() - lease->sent_at);
	log_emit(LOG_LEVEL_DEBUG, "lease", &lease->ctx, "heartbeat ok, ttl %ld ms", lease->ttl_ms);
	schedule(lease, lease->sent_at + (uint64_t)(lease->ttl_ms / 2 < LEASE_INTERVAL_MS
							    ? lease->ttl_ms / 2
							    : LEASE_INTERVAL_MS));
	return 1;
}

static void
beat_done(void *userdata, const struct api_result *res)
{
	struct lease *lease = userdata;
	uint64_t retry_at;
	long delay;

	lease->call = NULL;
	if (res->status == 200 && res->doc && json_kind(res->doc, 0) == JSON_OBJECT) {
		int first = !lease->claimed;

		if (beat_ok(lease, res->doc) && first) {
			lease->claimed = 1;
			lease->cb.claimed(lease->userdata);
		}
		return;
	}
	metrics.heartbeat_failures++;
	if (res->status == 412) {
		/* Also what a beat whose answer was lost causes. */
		log_emit(LOG_LEVEL_ERR, "lease", &lease->ctx,
			 "lease lost: heartbeat precondition failed (%s)",
			 res->error_message ? res->error_message : "412");
		end(lease, LEASE_END_LOST);
		return;
	}
	if (res->fatal) {
		log_emit(LOG_LEVEL_ERR, "lease", &lease->ctx,
			 "permanent heartbeat failure: HTTP %ld %s", res->status,
			 res->error_message ? res->error_message : "");
		end(lease, LEASE_END_REJECTED);
		return;
	}
	log_emit(LOG_LEVEL_WARNING, "lease", &lease->ctx, "transient heartbeat failure: %s",
		 res->status ? (res->error_message ? res->error_message : "HTTP error")
			     : res->transport_error);
	delay = LEASE_BACKOFF_MIN_MS;
	for (int i = 0; i < lease->attempt && delay < LEASE_INTERVAL_MS; i++)
		delay *= 2;
	if (delay > LEASE_INTERVAL_MS)
		delay = LEASE_INTERVAL_MS;
	lease->attempt++;
	/* Uniform in [delay/2, delay). */
	retry_at = loop_now_ms() + (uint64_t)(delay / 2) +
		   (uint64_t)((double)(delay - delay / 2) * rand_unit());
	if (retry_at >= lease->expires_at) {
		/* Wait out the lease, then give it up. */
		lease->attempt = -1;
		schedule(lease, lease->expires_at);
		return;
	}
	schedule(lease, retry_at);
}

static void
beat(void *userdata)
{
	struct lease *lease = userdata;
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	lease->timer = NULL;
	if (lease->attempt < 0) {
		log_emit(LOG_LEVEL_ERR, "lease", &lease->ctx,
			 "lease assumed lost: no heartbeat succeeded in time");
		end(lease, LEASE_END_ASSUMED_LOST);
		return;
	}
	if (api_path(&path, "/v1/environments/%s/work/%s/heartbeat?expected_last_heartbeat=%s",
		     lease->environment_id, lease->work_id, lease->last) < 0)
		goto fail;
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = path.data;
	r.token = lease->token;
	r.beta = API_BETA_MANAGED_AGENTS;
	r.helper = "environments-worker";
	r.timeout_ms = LEASE_BEAT_TIMEOUT_MS;
	r.urgent = 1;
	/* The lease retries itself, within its TTL. */
	r.max_retries = 0;
	lease->sent_at = loop_now_ms();
	if (api_call(lease->api, &r, beat_done, lease, &lease->call) < 0)
		goto fail;
	buf_release(&path);
	return;
fail:
	buf_release(&path);
	schedule(lease, loop_now_ms() + LEASE_BACKOFF_MIN_MS);
}

struct lease *
lease_start(struct loop *loop, struct api *api, const char *environment_id, const char *work_id,
	    const char *token, const struct lease_resume *resume, const struct log_ctx *ctx,
	    const struct lease_callbacks *cb, void *userdata)
{
	struct lease *lease = calloc(1, sizeof(*lease));

	if (!lease)
		return NULL;
	lease->loop = loop;
	lease->api = api;
	lease->environment_id = strdup(environment_id);
	lease->work_id = strdup(work_id);
	lease->token = strdup(token);
	lease->last = strdup(resume ? resume->last_heartbeat : LEASE_NO_HEARTBEAT);
	if (!lease->environment_id || !lease->work_id || !lease->token || !lease->last) {
		lease_free(lease);
		return NULL;
	}
	lease->ctx.work_id = lease->work_id;
	lease->ctx.session_id = ctx ? ctx->session_id : NULL;
	lease->ttl_ms = LEASE_CLAIM_TTL_MS;
	lease->expires_at = loop_now_ms() + (resume ? (uint64_t)resume->remaining_ms
						    : (uint64_t)LEASE_CLAIM_TTL_MS);
	lease->cb = *cb;
	lease->userdata = userdata;
	beat(lease);
	return lease;
}

void
lease_free(struct lease *lease)
{
	if (!lease)
		return;
	api_call_cancel(lease->call);
	loop_cancel_timer(lease->timer);
	free(lease->environment_id);
	free(lease->work_id);
	secret_free(lease->token);
	free(lease->last);
	free(lease);
}
