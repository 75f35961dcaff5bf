/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "metrics.h"
#include "secret.h"

#define LEASE_DEFAULT_INTERVAL_MS 30000L
#define LEASE_DEFAULT_TTL_MS      90000L  /* assumed until the server says */
#define LEASE_NO_HEARTBEAT        "NO_HEARTBEAT"

struct lease {
	struct loop *loop;
	struct api *api;
	char *environment_id;
	char *work_id;
	char *token;
	char *last;              /* the last_heartbeat to echo */
	struct log_ctx ctx;
	long ttl_ms;
	long interval_ms;
	uint64_t last_success;
	struct api_call *call;
	struct loop_timer *timer;
	struct loop_timer *deadline;  /* last success + TTL: the lease is gone */
	struct lease_callbacks cb;
	void *userdata;
	int ended;
};

static void beat(void *userdata);
static void end(struct lease *lease, enum lease_end why);

/* No beat succeeded for a whole TTL: the server may already have handed the
 * item out again, so stop now rather than after the failing beat's retries
 * (the SDK only notices at the end of a failed beat). */
static void
deadline_fired(void *userdata)
{
	struct lease *lease = userdata;

	lease->deadline = NULL;
	log_emit(LOG_LEVEL_WARNING, "lease", &lease->ctx,
		 "lease assumed lost: no successful heartbeat for %ld ms", lease->ttl_ms);
	end(lease, LEASE_END_ASSUMED_LOST);
}

static void
arm_deadline(struct lease *lease)
{
	loop_cancel_timer(lease->deadline);
	lease->deadline = NULL;
	loop_add_timer(lease->loop, (uint64_t)lease->ttl_ms, deadline_fired, lease, &lease->deadline);
}

int
lease_end_is_lost(enum lease_end why)
{
	return why == LEASE_END_LOST || why == LEASE_END_ASSUMED_LOST;
}

const char *
lease_end_to_string(enum lease_end why)
{
	switch (why) {
	case LEASE_END_STOPPING:
		return "stop requested";
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

long
lease_interval_ms(const struct lease *lease)
{
	return lease->interval_ms;
}

static void
end(struct lease *lease, enum lease_end why)
{
	if (lease->ended)
		return;
	lease->ended = 1;
	loop_cancel_timer(lease->timer);
	lease->timer = NULL;
	loop_cancel_timer(lease->deadline);
	lease->deadline = NULL;
	api_call_cancel(lease->call);
	lease->call = NULL;
	lease->cb.ended(lease->userdata, why);
}

static void
schedule(struct lease *lease)
{
	if (!lease->ended)
		loop_add_timer(lease->loop, (uint64_t)lease->interval_ms, beat, lease, &lease->timer);
}

static void
beat_done(void *userdata, const struct api_result *res)
{
	struct lease *lease = userdata;
	const struct json_doc *doc = res->doc;
	const char *state;
	const char *last;
	int64_t ttl_s;

	lease->call = NULL;
	if (res->status == 200 && doc && json_kind(doc, 0) == JSON_OBJECT) {
		metrics.heartbeats++;
		lease->last_success = loop_now_ms();
		last = json_get_str(doc, 0, "last_heartbeat");
		if (last) {
			char *copy = strdup(last);

			if (copy) {
				free(lease->last);
				lease->last = copy;
			}
		}
		if (json_int64(doc, json_get(doc, 0, "ttl_seconds"), &ttl_s) == 0 && ttl_s > 0) {
			long ttl = (long)(ttl_s > 86400 ? 86400 : ttl_s) * 1000L;
			long interval = ttl / 2 < LEASE_DEFAULT_INTERVAL_MS ? ttl / 2
									   : LEASE_DEFAULT_INTERVAL_MS;

			lease->interval_ms = interval < 1000 ? 1000 : interval;
			if (ttl != lease->ttl_ms) {
				lease->ttl_ms = ttl;
				if (lease->cb.ttl_changed)
					lease->cb.ttl_changed(lease->userdata, ttl);
			}
		}
		arm_deadline(lease);
		state = json_get_str(doc, 0, "state");
		if (state && (strcmp(state, "stopping") == 0 || strcmp(state, "stopped") == 0)) {
			log_emit(LOG_LEVEL_INFO, "lease", &lease->ctx, "work item is %s", state);
			end(lease, LEASE_END_STOPPING);
			return;
		}
		if (json_bool(doc, json_get(doc, 0, "lease_extended")) == 0) {
			end(lease, LEASE_END_NOT_EXTENDED);
			return;
		}
		log_emit(LOG_LEVEL_DEBUG, "lease", &lease->ctx, "heartbeat ok, ttl %ld ms",
			 lease->ttl_ms);
		schedule(lease);
		return;
	}
	metrics.heartbeat_failures++;
	if (res->status == 412) {
		log_emit(LOG_LEVEL_WARNING, "lease", &lease->ctx,
			 "lease lost: heartbeat precondition failed (%s)",
			 res->error_message ? res->error_message : "412");
		end(lease, LEASE_END_LOST);
		return;
	}
	if (res->fatal) {
		log_emit(LOG_LEVEL_ERR, "lease", &lease->ctx, "heartbeat rejected with HTTP %ld: %s",
			 res->status, res->error_message ? res->error_message : "no message");
		end(lease, LEASE_END_REJECTED);
		return;
	}
	if (loop_now_ms() - lease->last_success > (uint64_t)lease->ttl_ms) {
		log_emit(LOG_LEVEL_WARNING, "lease", &lease->ctx,
			 "lease assumed lost: no successful heartbeat for %ld ms", lease->ttl_ms);
		end(lease, LEASE_END_ASSUMED_LOST);
		return;
	}
	if (res->status)
		log_emit(LOG_LEVEL_WARNING, "lease", &lease->ctx, "heartbeat failed with HTTP %ld, retrying",
			 res->status);
	else
		log_emit(LOG_LEVEL_WARNING, "lease", &lease->ctx, "heartbeat failed: %s, retrying",
			 res->transport_error);
	schedule(lease);
}

static void
beat(void *userdata)
{
	struct lease *lease = userdata;
	struct buf path = BUF_INIT(4096);
	struct api_request r;

	lease->timer = NULL;
	if (api_path(&path, "/v1/environments/%s/work/%s/heartbeat?expected_last_heartbeat=%s",
		     lease->environment_id, lease->work_id, lease->last) < 0) {
		buf_release(&path);
		schedule(lease);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = path.data;
	r.token = lease->token;
	r.beta = API_BETA_MANAGED_AGENTS;
	r.helper = "environments-worker";
	/* As the SDK: a beat may not outlast the interval. */
	r.timeout_ms = lease->interval_ms;
	r.max_retries = -1;
	if (api_call(lease->api, &r, beat_done, lease, &lease->call) < 0)
		schedule(lease);
	buf_release(&path);
}

struct lease *
lease_start(struct loop *loop, struct api *api, const char *environment_id, const char *work_id,
	    const char *token, const struct log_ctx *ctx, const struct lease_callbacks *cb,
	    void *userdata)
{
	struct lease *lease = calloc(1, sizeof(*lease));

	if (!lease)
		return NULL;
	lease->loop = loop;
	lease->api = api;
	lease->environment_id = strdup(environment_id);
	lease->work_id = strdup(work_id);
	lease->token = strdup(token);
	lease->last = strdup(LEASE_NO_HEARTBEAT);
	if (!lease->environment_id || !lease->work_id || !lease->token || !lease->last) {
		lease_free(lease);
		return NULL;
	}
	lease->ctx.work_id = lease->work_id;
	lease->ctx.session_id = ctx ? ctx->session_id : NULL;
	lease->ttl_ms = LEASE_DEFAULT_TTL_MS;
	lease->interval_ms = LEASE_DEFAULT_INTERVAL_MS;
	lease->last_success = loop_now_ms();
	arm_deadline(lease);
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
	loop_cancel_timer(lease->deadline);
	free(lease->environment_id);
	free(lease->work_id);
	secret_free(lease->token);
	free(lease->last);
	free(lease);
}
