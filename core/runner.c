/* SPDX-License-Identifier: MIT */
/*
 * The orchestrator: one event loop serving up to --capacity sessions.  It
 * creates the plugins with the host services, polls for work while there
 * is room, starts a session for each claimed item, and drains on the first
 * SIGTERM or SIGINT (no new claims; running calls finish within
 * --drain-wait-sec; every item released) or stops at once on the second.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "http.h"
#include "poller.h"
#include "runner.h"
#include "runtime.h"
#include "session.h"

struct session_slot {
	struct session_slot *next;
	struct session *session;
};

struct runner {
	struct runtime rt;
	struct poller *poller;
	struct session_slot *sessions;
	int n_sessions;
	int draining;
	int exit_code;
	struct loop_timer *reap_timer;
	struct session_slot *finished;  /* freed from the loop */
};

static struct runner *
runner_of(struct runtime *rt)
{
	return (struct runner *)rt;
}

static void
maybe_quit(struct runner *r)
{
	if (r->draining && r->n_sessions == 0) {
		log_info("runner", "all sessions released, exiting");
		loop_quit(r->rt.loop, r->exit_code);
	}
}

static void
reap_finished(void *userdata)
{
	struct runner *r = userdata;

	r->reap_timer = NULL;
	while (r->finished) {
		struct session_slot *slot = r->finished;

		r->finished = slot->next;
		session_free(slot->session);
		free(slot);
	}
	maybe_quit(r);
	poller_kick(r->poller);
}

static void
session_finished(struct runtime *rt, struct session *s)
{
	struct runner *r = runner_of(rt);

	for (struct session_slot **pp = &r->sessions; *pp; pp = &(*pp)->next) {
		if ((*pp)->session == s) {
			struct session_slot *slot = *pp;

			*pp = slot->next;
			slot->next = r->finished;
			r->finished = slot;
			r->n_sessions--;
			break;
		}
	}
	/* The session is still on the stack: free it from the loop. */
	if (!r->reap_timer)
		loop_add_timer(rt->loop, 0, reap_finished, r, &r->reap_timer);
}

static int
has_capacity(void *userdata)
{
	struct runner *r = userdata;

	return !r->draining && r->n_sessions < r->rt.settings->capacity;
}

static void
claimed(void *userdata, const struct json_doc *work)
{
	struct runner *r = userdata;
	struct session_slot *slot;

	if (r->draining) {
		/* Not started, not stopped: its lease lapses and it is queued again. */
		log_warning("runner", "claimed an item while draining; leaving it to be reclaimed");
		return;
	}
	slot = calloc(1, sizeof(*slot));
	if (!slot || !(slot->session = session_start(&r->rt, work))) {
		log_error("runner", "cannot start a session: out of memory");
		free(slot);
		return;
	}
	slot->next = r->sessions;
	r->sessions = slot;
	r->n_sessions++;
}

static void
poll_fatal(void *userdata, long status, const char *message)
{
	struct runner *r = userdata;

	log_error("runner",
		  "cannot poll for work (HTTP %ld%s%s): check --environment-id '%s' and the environment key in '%s'",
		  status, message ? ": " : "", message ? message : "", r->rt.settings->environment_id,
		  r->rt.settings->service_key_file);
	r->exit_code = status == 401 || status == 403 ? EX_NOPERM : EX_UNAVAILABLE;
	r->draining = 1;
	for (struct session_slot *s = r->sessions; s; s = s->next)
		session_end(s->session, SESSION_END_SHUTDOWN);
	maybe_quit(r);
}

static void
on_stop_signal(void *userdata, int signo)
{
	struct runner *r = userdata;

	if (!r->draining) {
		log_info("runner", "received %s: draining (up to %d s for running tool calls)",
			 signo == SIGINT ? "SIGINT" : "SIGTERM", r->rt.settings->drain_wait_sec);
		r->draining = 1;
		poller_stop(r->poller);
		for (struct session_slot *s = r->sessions; s; s = s->next)
			session_end(s->session, SESSION_END_SHUTDOWN);
		maybe_quit(r);
		return;
	}
	log_info("runner", "received a second stop signal: ending sessions now");
	for (struct session_slot *s = r->sessions; s; s = s->next)
		session_end(s->session, SESSION_END_SHUTDOWN_NOW);
	maybe_quit(r);
}

static int
create_plugin(struct runner *r, struct plugin *p, struct host_plugin *hp)
{
	char err[LOADER_ERR_MAX];
	int ret;

	hp->rt = &r->rt;
	hp->name = p->desc.name;
	ret = plugin_create(p, &host_services, hp, err, sizeof(err));
	if (ret == 0 && p->kind == ER_KIND_SANDBOX)
		ret = plugin_probe(p, err, sizeof(err));
	if (ret < 0) {
		log_error("runner", "%s%s", err,
			  p->kind == ER_KIND_SANDBOX && r->rt.settings->sandbox_defaulted
				  ? SETTINGS_DEFAULT_SANDBOX_HINT
				  : "");
		return loader_exit_code(ret);
	}
	return 0;
}

static int
check_executor(const struct plugin *p)
{
	if (p->kind != ER_KIND_EXECUTOR || !p->ops.executor.session_start) {
		log_error("runner", "plugin '%s' has no session_start: not a usable executor", p->path);
		return EX_CONFIG;
	}
	if ((p->ops.executor.flags & ER_EXECUTOR_TOOL_CALLS) && !p->ops.executor.tool_call) {
		log_error("runner", "plugin '%s' asks for tool calls but has no tool_call", p->path);
		return EX_CONFIG;
	}
	return 0;
}

int
runner_run(struct settings *s, struct plugin *sandbox, struct plugin *executor)
{
	struct runner r;
	struct poller_options po;
	static const struct poller_callbacks pcb = { has_capacity, claimed, poll_fatal };
	char err[512];
	int ret;

	memset(&r, 0, sizeof(r));
	r.rt.settings = s;
	r.rt.sandbox = sandbox;
	r.rt.executor = executor;
	r.rt.session_finished = session_finished;
	r.rt.worker_id = s->worker_id;

	if (!sandbox->ops.sandbox.wrap) {
		log_error("runner", "plugin '%s' has no wrap: not a usable sandbox", sandbox->path);
		return EX_CONFIG;
	}
	ret = check_executor(executor);
	if (ret)
		return ret;
	if (settings_read_service_key(s, &r.rt.environment_key, err, sizeof(err)) < 0) {
		log_error("runner", "%s", err);
		return EX_CONFIG;
	}
	/* curl may write to a closed socket; children get SIGPIPE back. */
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		ret = EX_SOFTWARE;
		goto out;
	}
	r.rt.loop = loop_new(http_curl_done);
	r.rt.api = r.rt.loop ? api_new(r.rt.loop, s->api_url) : NULL;
	r.rt.spawner = r.rt.loop ? spawner_new(r.rt.loop) : NULL;
	if (!r.rt.loop || !r.rt.api || !r.rt.spawner) {
		log_error("runner", "cannot set up the event loop: out of memory");
		ret = EX_SOFTWARE;
		goto out;
	}
	ret = create_plugin(&r, sandbox, &r.rt.sandbox_host);
	if (!ret)
		ret = create_plugin(&r, executor, &r.rt.executor_host);
	if (ret)
		goto out;
	loop_on_signal(r.rt.loop, SIGTERM, on_stop_signal, &r);
	loop_on_signal(r.rt.loop, SIGINT, on_stop_signal, &r);

	memset(&po, 0, sizeof(po));
	po.environment_id = s->environment_id;
	po.environment_key = r.rt.environment_key;
	po.worker_id = s->worker_id;
	po.block_ms = s->block_ms;
	r.poller = poller_start(r.rt.loop, r.rt.api, &po, &pcb, &r);
	if (!r.poller) {
		ret = EX_SOFTWARE;
		goto out;
	}
	log_info("runner", "serving environment %s as worker %s: sandbox %s, executor %s, capacity %d, api %s",
		 s->environment_id, s->worker_id, sandbox->desc.name, executor->desc.name, s->capacity,
		 s->api_url);
	log_info("runner", "worst-case shutdown: %d s after SIGTERM (drain) plus up to 30 s per final stop request",
		 s->drain_wait_sec);
	ret = loop_run(r.rt.loop);
	if (ret < 0) {
		log_error("runner", "event loop failed: %s", strerror(-ret));
		ret = EX_SOFTWARE;
	}
out:
	poller_free(r.poller);
	r.poller = NULL;
	loop_cancel_timer(r.reap_timer);
	r.reap_timer = NULL;
	while (r.finished) {
		struct session_slot *slot = r.finished;

		r.finished = slot->next;
		session_free(slot->session);
		free(slot);
	}
	while (r.sessions) {
		struct session_slot *slot = r.sessions;

		r.sessions = slot->next;
		session_free(slot->session);
		free(slot);
	}
	spawner_free(r.rt.spawner);
	api_free(r.rt.api);
	loop_free(r.rt.loop);
	curl_global_cleanup();
	if (r.rt.environment_key) {
		memset(r.rt.environment_key, 0, strlen(r.rt.environment_key));
		free(r.rt.environment_key);
	}
	return ret;
}
