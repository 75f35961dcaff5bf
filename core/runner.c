/* SPDX-License-Identifier: MIT */
/*
 * The orchestrator: one event loop serving up to --capacity sessions.  It
 * creates the plugins with the host services, polls for work while there
 * is room, starts a session for each claimed item (or hands it to
 * --on-work's command), and drains on the first SIGTERM or SIGINT (no new
 * claims; running calls finish within --drain-wait-sec; every item
 * released; post-session hooks run) or stops at once on the second.  The
 * whole shutdown is bounded by the budget it prints at start.
 *
 * It also handles SIGHUP (log file, service key), the lifecycle limits
 * (--max-sessions, --exit-if-unused-min, --min-free-disk-mb), the sweep of
 * stale session directories, and run-item: one already claimed item served
 * without polling.  The status listener's answers are status.c's; the
 * runner fills the view they show.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "descriptors.h"
#include "host-command.h"
#include "host.h"
#include "http-header.h"
#include "http.h"
#include "jsonw.h"
#include "metrics.h"
#include "nbio.h"
#include "onwork.h"
#include "poller.h"
#include "runner.h"
#include "runtime.h"
#include "secret.h"
#include "session.h"
#include "sessiondir.h"
#include "process.h"
#include "resume.h"
#include "statedir.h"
#include "status.h"
#include "strv.h"
#include "upgrade.h"

/* What the printed budget allows after the drain for the executor to wind
 * down (10 s) and for the final stop request (30 s). */
#define RUNNER_STOP_ALLOWANCE_SEC 40
/* After a second signal: how long the final stop requests may take. */
#define RUNNER_NOW_GRACE_MS 10000u
#define TICK_MS 1000u
#define ONWORK_LINE_MAX 4096

extern char **environ;

struct runner;

/* An item handed to --on-work's command. */
struct onwork {
	struct runner *r;
	struct proc_group *group;
	struct proc *proc;
	char *work_id;
	char *token; /* its sessions token, masked in the log meanwhile */
	struct log_ctx ctx;
	int in_fd;
	struct loop_watch *in_watch;
	struct buf input; /* the work item, secret included */
	size_t input_off;
	int out_fd[2];
	struct loop_watch *out_watch[2];
	struct nbio_lines out_lines[2];
};

struct session_slot {
	struct session_slot *next;
	struct session *session;
	struct onwork *onwork;
};

struct runner {
	struct runtime rt;
	struct poller *poller;
	struct session_slot *sessions;
	int n_sessions;
	int draining; /* a stop signal, a fatal poll error */
	int retiring; /* --max-sessions reached or unused: no claims, exit 0 */
	int signals;
	int exit_code;
	struct loop_timer *reap_timer;
	struct session_slot *finished; /* freed from the loop */
	struct loop_timer *deadline_timer;
	struct loop_timer *tick_timer;
	struct loop_timer *repoll_timer;

	/* run-item: the one item's outcome. */
	int run_item;
	int item_exit;

	int claims;
	uint64_t started_ms;
	uint64_t unused_since_ms;
	uint64_t capacity_freed_ms;
	int disk_low;
	long fd_limit; /* open files allowed, 0 for no limit */
	struct descriptors_peak fds_peak;
	int fds_short;		    /* too few free for one more session */
	uint64_t fds_warned_ms;	    /* when that was last said */
	uint64_t reread_poll_ok_ms; /* last_poll_ok_ms when the key was last re-read on 401 */
	int reread_once;

	/* Why the sandbox serving is not the first candidate, or why there
	 * is none (--on-work); empty when it is the one asked for. */
	const char *sandbox_why;

	struct status *status;
	struct statedir state; /* the worker id's item records */

	/* A live upgrade (upgrade.h): checking the new binary, then holding
	 * calls until none runs, then handing every item to its record. */
	enum { UPGRADE_NONE, UPGRADE_CHECKING, UPGRADE_HOLDING, UPGRADE_HANDING_OVER } upgrade;
	struct host_command *upgrade_check;
	struct loop_timer *upgrade_timer;
	uint64_t upgrade_deadline;
	unsigned upgrades; /* this process went through */
};

static struct runner *
runner_of(struct runtime *rt)
{
	return (struct runner *)rt;
}

static void
slot_unlink(struct runner *r, struct session_slot *slot)
{
	for (struct session_slot **pp = &r->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == slot) {
			*pp = slot->next;
			break;
		}
	}
	r->n_sessions--;
}

static void onwork_free(struct onwork *w);

static void
slot_free(struct session_slot *slot)
{
	session_free(slot->session);
	onwork_free(slot->onwork);
	free(slot);
}

static void
maybe_quit(struct runner *r)
{
	/* A stop signal during the hand-over stops the runner instead; the
	 * records stay for its next start. */
	if (r->upgrade == UPGRADE_HANDING_OVER && !r->draining && r->n_sessions == 0) {
		log_info("upgrade", "every item is in its record");
		loop_quit(r->rt.loop, RUNNER_EXEC_UPGRADE);
		return;
	}
	if ((r->draining || r->retiring) && r->n_sessions == 0) {
		if (r->run_item)
			log_info("runner", "the item is done, exiting");
		else
			log_info("runner", "all sessions released, exiting");
		loop_quit(r->rt.loop, r->run_item && !r->exit_code ? r->item_exit : r->exit_code);
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
		slot_free(slot);
	}
	r->capacity_freed_ms = loop_now_ms();
	if (r->n_sessions == 0)
		r->unused_since_ms = loop_now_ms();
	maybe_quit(r);
	poller_kick(r->poller);
}

static void
slot_finished(struct runner *r, struct session_slot *slot)
{
	slot_unlink(r, slot);
	slot->next = r->finished;
	r->finished = slot;
	/* The session is still on the stack: free it from the loop. */
	if (!r->reap_timer)
		loop_add_timer(r->rt.loop, 0, reap_finished, r, &r->reap_timer);
}

static void
session_finished(struct runtime *rt, struct session *s)
{
	struct runner *r = runner_of(rt);

	if (r->run_item) {
		switch (session_outcome(s)) {
		case SESSION_OUTCOME_COMPLETED:
			r->item_exit = 0;
			break;
		case SESSION_OUTCOME_FAILED:
			r->item_exit = 1;
			break;
		default:
			r->item_exit = EX_TEMPFAIL;
			break;
		}
		r->retiring = 1;
	}
	for (struct session_slot *slot = r->sessions; slot; slot = slot->next) {
		if (slot->session == s) {
			slot_finished(r, slot);
			break;
		}
	}
}

/* ---- capacity and lifecycle --------------------------------------------- */

/* Descriptors for one more session?  A shortage is said at most once a
 * minute: at the edge it comes and goes with each session's end. */
static int
descriptors_free(struct runner *r)
{
	uint64_t now = loop_now_ms();
	long busiest = descriptors_peak_note(&r->fds_peak, now, descriptors_open());
	long in_use;
	int room = descriptors_room_for_session(r->fd_limit, r->n_sessions, busiest, &in_use);

	if (!room && !r->fds_short && (!r->fds_warned_ms || now - r->fds_warned_ms >= 60000)) {
		log_warning("runner",
			    "%ld of %ld open files in use %s, with %d sessions: claiming no work "
			    "until more are free; " DESCRIPTORS_FIX,
			    in_use, r->fd_limit,
			    busiest < 0 ? "(estimated: 8 a session, the system does not count them)"
					: "at the busiest of the last 30 s",
			    r->n_sessions);
		r->fds_warned_ms = now;
	} else if (room && r->fds_short) {
		log_debug("runner", "open files free again (%ld of %ld in use): claiming work",
			  in_use, r->fd_limit);
	}
	r->fds_short = !room;
	return room;
}

static int
has_capacity(void *userdata)
{
	struct runner *r = userdata;
	const struct settings *s = r->rt.settings;

	return !r->draining && !r->retiring && !r->disk_low && r->upgrade < UPGRADE_HOLDING &&
	       r->n_sessions < s->capacity &&
	       (s->max_sessions == 0 || r->claims < s->max_sessions) && descriptors_free(r);
}

static void
check_disk(struct runner *r)
{
	const struct settings *s = r->rt.settings;
	struct statvfs st;
	unsigned long long free_mb;
	int low;

	char dir[4096];
	char *slash;

	if (!s->min_free_disk_mb || s->workdir)
		return;
	/* The base directory, or the nearest parent while it does not exist. */
	snprintf(dir, sizeof(dir), "%s", s->base_dir);
	while (statvfs(dir, &st) < 0) {
		slash = strrchr(dir, '/');
		if (errno != ENOENT || !slash || slash == dir)
			return;
		*slash = '\0';
	}
	free_mb = (unsigned long long)st.f_bavail * st.f_frsize / (1024 * 1024);
	low = free_mb < (unsigned long long)s->min_free_disk_mb;
	if (low && !r->disk_low)
		log_warning(
			"runner",
			"only %llu MB free under '%s' (--min-free-disk-mb %d): claiming no work",
			free_mb, s->base_dir, s->min_free_disk_mb);
	else if (!low && r->disk_low)
		log_info("runner", "%llu MB free under '%s' again: claiming work", free_mb,
			 s->base_dir);
	r->disk_low = low;
	if (!low)
		poller_kick(r->poller);
}

static void begin_drain(struct runner *r);

static void
tick(void *userdata)
{
	struct runner *r = userdata;
	const struct settings *s = r->rt.settings;
	uint64_t now = loop_now_ms();

	r->tick_timer = NULL;
	check_disk(r);
	/* Each second's count, bursts included; and descriptors come back
	 * without a session ending too. */
	(void)descriptors_peak_note(&r->fds_peak, now, descriptors_open());
	if (r->fds_short)
		poller_kick(r->poller);
	/* Unused: no session for the whole time, and the server said the
	 * queue is empty since then (only an empty poll shows that no work
	 * is waiting). */
	if (s->exit_if_unused_sec && !r->draining && !r->retiring && r->n_sessions == 0 &&
	    now - r->unused_since_ms >= (uint64_t)s->exit_if_unused_sec * 1000u &&
	    metrics.last_poll_empty_ms > r->unused_since_ms &&
	    metrics.last_poll_empty_ms >= metrics.last_poll_ok_ms) {
		log_info("runner",
			 "no session for %d s and the queue is empty (--exit-if-unused-min): "
			 "exiting",
			 s->exit_if_unused_sec);
		r->retiring = 1;
		poller_stop(r->poller);
		maybe_quit(r);
		return;
	}
	loop_add_timer(r->rt.loop, TICK_MS, tick, r, &r->tick_timer);
}

/* ---- --on-work ---------------------------------------------------------- */

static void
onwork_free(struct onwork *w)
{
	if (!w)
		return;
	loop_unwatch(w->in_watch);
	if (w->in_fd >= 0)
		close(w->in_fd);
	for (int i = 0; i < 2; i++) {
		loop_unwatch(w->out_watch[i]);
		if (w->out_fd[i] >= 0)
			close(w->out_fd[i]);
		nbio_lines_release(&w->out_lines[i]);
	}
	if (w->proc)
		proc_release(w->proc);
	proc_group_free(w->group);
	if (w->token) {
		log_remove_secret(w->token);
		secret_free(w->token);
	}
	secret_wipe(w->input.data, w->input.len);
	buf_release(&w->input);
	free(w->work_id);
	free(w);
}

static int
onwork_line(void *userdata, const char *line, size_t len, int partial)
{
	struct onwork *w = userdata;

	if (len)
		log_emit(LOG_LEVEL_INFO, "on-work", &w->ctx, "%s", line);
	return 0;
}

/* Read what the command's stdout or stderr has; nonzero at EOF or on an
 * error, after the last line is logged. */
static int
onwork_read(struct onwork *w, int i)
{
	if (nbio_drain(w->out_fd[i], nbio_lines_feed, &w->out_lines[i]) == 0)
		return 0;
	nbio_lines_end(&w->out_lines[i]);
	return 1;
}

static void
onwork_out_ready(void *userdata, int fd, uint32_t revents)
{
	struct onwork *w = userdata;
	int i = fd == w->out_fd[0] ? 0 : 1;

	if (onwork_read(w, i)) {
		loop_unwatch(w->out_watch[i]);
		w->out_watch[i] = NULL;
		close(w->out_fd[i]);
		w->out_fd[i] = -1;
	}
}

static void
onwork_in_ready(void *userdata, int fd, uint32_t revents)
{
	struct onwork *w = userdata;

	if (nbio_flush(fd, w->input.data, w->input.len, &w->input_off) == 0)
		return;
	loop_unwatch(w->in_watch);
	w->in_watch = NULL;
	close(w->in_fd);
	w->in_fd = -1;
}

static void
onwork_exited(void *userdata, struct proc *proc, int status)
{
	struct session_slot *slot = userdata;
	struct onwork *w = slot->onwork;

	w->proc = NULL;
	for (int i = 0; i < 2; i++) {
		if (w->out_fd[i] >= 0 && !onwork_read(w, i))
			nbio_lines_end(&w->out_lines[i]); /* a child still holds it */
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_emit(LOG_LEVEL_INFO, "runner", &w->ctx, "--on-work command finished");
	} else {
		metrics.on_work_failed++;
		log_emit(LOG_LEVEL_WARNING, "runner", &w->ctx,
			 "--on-work command %s %d; the item goes back to the queue when its lease "
			 "lapses",
			 WIFEXITED(status) ? "exited with status" : "was killed by signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	slot_finished(w->r, slot);
}

/* Is NAME=... one of the runner's own settings or an ANTHROPIC_ variable? */
static int
is_withheld_var(const char *entry)
{
	size_t n = strcspn(entry, "=");

	if (strncmp(entry, "ANTHROPIC_", 10) == 0)
		return 1;
	for (const struct settings_def *d = settings_table; d->flag; d++)
		if (d->env && strlen(d->env) == n && strncmp(entry, d->env, n) == 0)
			return 1;
	return strncmp(entry, "ER_CONFIG=", 10) == 0;
}

static int
onwork_environ(struct runner *r, struct strv *env, const struct json_doc *work, const char *secret)
{
	struct onwork_item item;
	char *vars[ONWORK_ENV_MAX + 1];
	int ret = 0;

	for (char **e = environ; e && *e; e++)
		if (!is_withheld_var(*e) && (ret = strv_push(env, *e)) < 0)
			return ret;
	memset(&item, 0, sizeof(item));
	item.work_id = json_get_str(work, 0, "id");
	item.environment_id = r->rt.settings->environment_id;
	item.session_id = json_get_str(work, json_get(work, 0, "data"), "id");
	item.base_url = r->rt.settings->api_url;
	item.work_secret = secret;
	item.work_secret_fd = -1;
	if (r->rt.settings->on_work_pass_key)
		item.environment_key = r->rt.environment_key;
	if ((ret = onwork_env(&item, vars)) < 0)
		return ret;
	for (size_t i = 0; vars[i] && ret == 0; i++)
		ret = strv_push(env, vars[i]);
	onwork_env_free(vars);
	return ret;
}

static void
start_onwork(struct runner *r, const struct json_doc *work)
{
	const char *secret = json_get_str(work, 0, "secret");
	struct session_slot *slot = calloc(1, sizeof(*slot));
	struct onwork *w = calloc(1, sizeof(*w));
	struct strv env = STRV_INIT;
	struct spawn_spec spec;
	char *argv[] = { "/bin/sh", "-c", r->rt.settings->on_work, NULL };
	char err[256];
	const char *raw;
	size_t len;
	int fds[3];

	if (!slot || !w)
		goto oom;
	slot->onwork = w;
	w->r = r;
	w->in_fd = w->out_fd[0] = w->out_fd[1] = -1;
	for (int i = 0; i < 2; i++)
		nbio_lines_init(&w->out_lines[i], ONWORK_LINE_MAX - 1, onwork_line, w);
	w->work_id = strdup(json_get_str(work, 0, "id"));
	w->group = proc_group_new(r->rt.spawner);
	if (w->group)
		proc_group_hand_off(w->group);
	raw = json_raw(work, 0, &len);
	/* The claim as it came holds the secret already. */
	if (!w->work_id || !w->group || onwork_input(&w->input, raw, len, NULL) < 0)
		goto oom;
	w->ctx.work_id = w->work_id;
	if (secret && work_secret_sessions_token(secret, &w->token) == 0)
		log_add_secret(w->token);
	if (onwork_environ(r, &env, work, secret) < 0 ||
	    strv_setenv(&env, SPAWN_TRACKING_VAR, proc_group_tracking_id(w->group)) < 0)
		goto oom;
	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.envp = strv_array(&env);
	spec.pipe_stdin = 1;
	spec.pipe_stdout = 1;
	spec.pipe_stderr = 1;
	if (proc_spawn(w->group, &spec, onwork_exited, slot, fds, &w->proc, err, sizeof(err)) < 0) {
		metrics.on_work_failed++;
		log_emit(LOG_LEVEL_ERR, "runner", &w->ctx, "--on-work: %s", err);
		goto fail;
	}
	strv_release(&env);
	w->in_fd = fds[0];
	w->out_fd[0] = fds[1];
	w->out_fd[1] = fds[2];
	loop_watch_fd(r->rt.loop, w->in_fd, LOOP_WRITE, onwork_in_ready, w, &w->in_watch);
	for (int i = 0; i < 2; i++)
		loop_watch_fd(r->rt.loop, w->out_fd[i], LOOP_READ, onwork_out_ready, w,
			      &w->out_watch[i]);
	metrics.on_work_started++;
	log_emit(LOG_LEVEL_INFO, "runner", &w->ctx, "handed to --on-work (pid %d)",
		 (int)proc_pid(w->proc));
	slot->next = r->sessions;
	r->sessions = slot;
	r->n_sessions++;
	return;
oom:
	log_error("runner", "cannot start --on-work's command: out of memory");
fail:
	strv_release(&env);
	onwork_free(w);
	free(slot);
}

/* ---- claims and polling ------------------------------------------------- */

static void
add_slot(struct runner *r, struct session_slot *slot)
{
	slot->next = r->sessions;
	r->sessions = slot;
	r->n_sessions++;
	/* Claimed by a poll that was out when an upgrade began. */
	if (r->upgrade == UPGRADE_HOLDING)
		session_hold(slot->session, 1);
	else if (r->upgrade == UPGRADE_HANDING_OVER)
		session_end(slot->session, SESSION_END_UPGRADE);
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
	r->claims++;
	if (r->rt.settings->max_sessions && r->claims >= r->rt.settings->max_sessions) {
		log_info("runner",
			 "claimed %d item(s) (--max-sessions): no more claims, exiting after them",
			 r->claims);
		r->retiring = 1;
		poller_stop(r->poller);
	}
	if (r->rt.settings->on_work) {
		start_onwork(r, work);
		maybe_quit(r);
		return;
	}
	slot = calloc(1, sizeof(*slot));
	if (!slot || !(slot->session = session_start(&r->rt, work))) {
		log_error("runner", "cannot start a session: out of memory");
		free(slot);
		maybe_quit(r);
		return;
	}
	add_slot(r, slot);
}

/* An item this worker served before it restarted (resume.h). */
static void
resumed(void *userdata, struct journal_item *ji)
{
	struct runner *r = userdata;
	struct session_slot *slot = calloc(1, sizeof(*slot));

	if (!slot)
		journal_item_free(ji);
	if (!slot || !(slot->session = session_resume(&r->rt, ji))) {
		log_error("runner", "cannot take an item back: out of memory");
		free(slot);
		return;
	}
	add_slot(r, slot);
}

static void poll_fatal(void *userdata, long status, const char *message);

static int
start_poller(struct runner *r)
{
	static const struct poller_callbacks pcb = { has_capacity, claimed, poll_fatal };
	const struct settings *s = r->rt.settings;
	struct poller_options po;

	memset(&po, 0, sizeof(po));
	po.environment_id = s->environment_id;
	po.environment_key = r->rt.environment_key;
	po.worker_id = s->worker_id;
	po.block_ms = s->block_ms;
	r->poller = poller_start(r->rt.loop, r->rt.api, &po, &pcb, r);
	return r->poller ? 0 : -ENOMEM;
}

/* Read the service key file again; 1 when the key changed. */
static int
reload_key(struct runner *r, const char *why)
{
	char err[512];
	char *key = NULL;

	if (!r->rt.settings->service_key_file)
		return 0;
	if (settings_read_service_key(r->rt.settings, &key, err, sizeof(err)) < 0) {
		log_error("runner", "%s: %s; keeping the current key", why, err);
		return 0;
	}
	if (r->rt.environment_key && strcmp(key, r->rt.environment_key) == 0) {
		log_info("runner", "%s: the service key is unchanged", why);
		secret_free(key);
		return 0;
	}
	/* The old key stays masked in the log: sessions may still use it. */
	secret_free(r->rt.environment_key);
	r->rt.environment_key = key;
	log_info("runner", "%s: read a new service key; new sessions use it", why);
	return 1;
}

static void
repoll(void *userdata)
{
	struct runner *r = userdata;

	r->repoll_timer = NULL;
	poller_free(r->poller);
	r->poller = NULL;
	if (start_poller(r) < 0) {
		r->exit_code = EX_SOFTWARE;
		begin_drain(r);
	}
}

static void
poll_fatal(void *userdata, long status, const char *message)
{
	struct runner *r = userdata;

	/* A rotated key: read the file once more before giving up. */
	if (status == 401 && (!r->reread_once || metrics.last_poll_ok_ms > r->reread_poll_ok_ms)) {
		r->reread_once = 1;
		r->reread_poll_ok_ms = metrics.last_poll_ok_ms;
		log_warning("runner",
			    "polling refused with HTTP 401: reading the service key file again");
		reload_key(r, "after HTTP 401");
		loop_cancel_timer(r->repoll_timer);
		loop_add_timer(r->rt.loop, 0, repoll, r, &r->repoll_timer);
		return;
	}
	log_error("runner",
		  "cannot poll for work (HTTP %ld%s%s): check --environment-id '%s' and the "
		  "environment key in '%s'",
		  status, message ? ": " : "", message ? message : "",
		  r->rt.settings->environment_id, r->rt.settings->service_key_file);
	r->exit_code = status == 401 || status == 403 ? EX_NOPERM : EX_PROTOCOL;
	begin_drain(r);
}

/* ---- stopping ----------------------------------------------------------- */

static int
budget_sec(const struct settings *s)
{
	return s->drain_wait_sec + RUNNER_STOP_ALLOWANCE_SEC +
	       (s->hooks_dir ? s->post_session_hook_timeout_sec : 0);
}

static void
deadline_fired(void *userdata)
{
	struct runner *r = userdata;

	r->deadline_timer = NULL;
	log_warning("runner", "the shutdown budget is spent with %d session(s) left: exiting now",
		    r->n_sessions);
	loop_quit(r->rt.loop, r->exit_code ? r->exit_code : (r->run_item ? EX_TEMPFAIL : 0));
}

static void
end_all(struct runner *r, enum session_end why)
{
	struct session_slot *next;

	for (struct session_slot *slot = r->sessions; slot; slot = next) {
		next = slot->next;
		if (slot->session)
			session_end(slot->session, why);
		else if (slot->onwork && slot->onwork->proc)
			proc_kill(slot->onwork->proc,
				  why == SESSION_END_SHUTDOWN ? SIGTERM : SIGKILL);
	}
}

static void
begin_drain(struct runner *r)
{
	if (r->draining)
		return;
	r->draining = 1;
	poller_stop(r->poller);
	loop_cancel_timer(r->repoll_timer);
	r->repoll_timer = NULL;
	loop_add_timer(r->rt.loop, (uint64_t)budget_sec(r->rt.settings) * 1000u, deadline_fired, r,
		       &r->deadline_timer);
	end_all(r, SESSION_END_SHUTDOWN);
	maybe_quit(r);
}

static void upgrade_abandon(struct runner *r, const char *why);

static void
on_stop_signal(void *userdata, int signo)
{
	struct runner *r = userdata;
	const char *name = signo == SIGINT ? "SIGINT" : "SIGTERM";

	if (r->upgrade == UPGRADE_CHECKING || r->upgrade == UPGRADE_HOLDING)
		upgrade_abandon(r, "a stop signal came first");
	r->signals++;
	if (r->signals == 1) {
		log_info("runner",
			 "received %s: draining (up to %d s for running tool calls, %d s in all)",
			 name, r->rt.settings->drain_wait_sec, budget_sec(r->rt.settings));
		begin_drain(r);
		return;
	}
	if (r->signals == 2) {
		log_info("runner", "received a second stop signal: ending sessions now");
		loop_cancel_timer(r->deadline_timer);
		loop_add_timer(r->rt.loop, RUNNER_NOW_GRACE_MS, deadline_fired, r,
			       &r->deadline_timer);
		end_all(r, SESSION_END_SHUTDOWN_NOW);
		maybe_quit(r);
		return;
	}
	log_warning("runner", "received a third stop signal: exiting at once");
	loop_quit(r->rt.loop, r->exit_code ? r->exit_code : (r->run_item ? EX_TEMPFAIL : 0));
}

static void
on_hup(void *userdata, int signo)
{
	struct runner *r = userdata;
	int ret = log_reopen();

	if (ret < 0)
		log_error("runner", "SIGHUP: cannot reopen the log file: %s", strerror(-ret));
	else
		log_info("runner", "SIGHUP: log file reopened");
	if (reload_key(r, "SIGHUP") && r->poller)
		poller_set_key(r->poller, r->rt.environment_key);
}

/* ---- status --------------------------------------------------------- */

/* What the status answers show of the runner (status.c). */
/* ---- live upgrade (upgrade.h) ------------------------------------------- */

/* While calls are held, how often the runner looks whether any still runs. */
#define UPGRADE_RECHECK_MS 100u
/* The wait for running calls: the longest a call may run, then its result. */
#define UPGRADE_RESULT_ALLOWANCE_SEC 30

static void
hold_all(struct runner *r, int hold)
{
	for (struct session_slot *slot = r->sessions; slot; slot = slot->next)
		if (slot->session)
			session_hold(slot->session, hold);
}

static int
calls_running(const struct runner *r)
{
	int n = 0;

	for (const struct session_slot *slot = r->sessions; slot; slot = slot->next)
		n += slot->session && session_busy(slot->session);
	return n;
}

static void
upgrade_abandon(struct runner *r, const char *why)
{
	log_error("upgrade", "abandoned: %s; the runner goes on with its binary as it is", why);
	loop_cancel_timer(r->upgrade_timer);
	r->upgrade_timer = NULL;
	host_command_cancel(r->upgrade_check);
	r->upgrade_check = NULL;
	r->upgrade = UPGRADE_NONE;
	hold_all(r, 0);
	poller_kick(r->poller);
}

/* No call runs: each session ends its processes and leaves its item, its
 * directory and its record to the new binary; then main() executes it. */
static void
hand_over(struct runner *r)
{
	r->upgrade = UPGRADE_HANDING_OVER;
	log_info("upgrade", "no tool call runs: handing %d item(s) over to the new binary",
		 r->n_sessions);
	end_all(r, SESSION_END_UPGRADE);
	maybe_quit(r);
}

static void
upgrade_wait(void *userdata)
{
	struct runner *r = userdata;

	r->upgrade_timer = NULL;
	if (calls_running(r) == 0) {
		hand_over(r);
		return;
	}
	if (loop_now_ms() >= r->upgrade_deadline) {
		upgrade_abandon(r, "tool calls still run at the end of the wait");
		return;
	}
	loop_add_timer(r->rt.loop, UPGRADE_RECHECK_MS, upgrade_wait, r, &r->upgrade_timer);
}

static void
upgrade_checked(void *userdata, int ok, const char *why)
{
	struct runner *r = userdata;
	int wait_sec = r->rt.settings->tool_timeout_sec + UPGRADE_RESULT_ALLOWANCE_SEC;

	r->upgrade_check = NULL;
	if (!ok) {
		log_error("upgrade",
			  "refused: '%s' cannot take over (%s); the runner goes on with its binary "
			  "as it is",
			  upgrade_binary(), why);
		r->upgrade = UPGRADE_NONE;
		return;
	}
	r->upgrade = UPGRADE_HOLDING;
	r->upgrade_deadline = loop_now_ms() + (uint64_t)wait_sec * 1000u;
	hold_all(r, 1);
	log_info("upgrade",
		 "'%s' can take over: no new claims nor tool calls; waiting up to %d s for %d "
		 "running call(s) to finish",
		 upgrade_binary(), wait_sec, calls_running(r));
	upgrade_wait(r);
}

static void
on_upgrade_signal(void *userdata, int signo)
{
	struct runner *r = userdata;
	char err[256];

	(void)signo;
	if (r->upgrade != UPGRADE_NONE) {
		log_info("upgrade", "SIGUSR2: an upgrade is under way already");
		return;
	}
	if (r->draining || r->retiring) {
		log_warning("upgrade", "SIGUSR2 ignored: the runner is stopping");
		return;
	}
	if (r->run_item || r->rt.settings->on_work) {
		log_error("upgrade",
			  "SIGUSR2 refused: %s serves no session in this process; fix: "
			  "stop it with SIGTERM and start the new binary",
			  r->run_item ? "run-item" : "an orchestrator with --on-work");
		return;
	}
	if (!(r->rt.executor->ops.executor.flags & ER_EXECUTOR_TOOL_CALLS)) {
		/* Its own process carries the agent's turn: an upgrade would end it. */
		log_error(
			"upgrade",
			"SIGUSR2 refused: the %s executor runs a program of its own for each "
			"session, which re-executing would end; fix: drain it (SIGTERM) and start "
			"the new binary",
			r->rt.executor->desc.name);
		return;
	}
	if (!r->rt.items_dir) {
		log_error("upgrade",
			  "SIGUSR2 refused: no item records are kept (see the warning about the "
			  "state directory at start), so the new binary could not take the items "
			  "over; fix: give the runner a --state-dir it may write");
		return;
	}
	log_info("upgrade", "SIGUSR2: checking that '%s' can take over", upgrade_binary());
	r->upgrade = UPGRADE_CHECKING;
	if (upgrade_check_start(&r->rt, r->rt.items_dir, upgrade_checked, r, &r->upgrade_check, err,
				sizeof(err)) < 0) {
		log_error("upgrade", "refused: cannot run '%s': %s", upgrade_binary(), err);
		r->upgrade = UPGRADE_NONE;
	}
}

static void
status_view(void *userdata, struct status_view *v)
{
	struct runner *r = userdata;

	v->draining = r->draining;
	v->retiring = r->retiring;
	v->disk_low = r->disk_low;
	v->poll_expected = !r->run_item && has_capacity(r);
	v->capacity_freed_ms = r->capacity_freed_ms;
	v->active_sessions = r->n_sessions;
	v->sandbox_why = r->sandbox_why;
}

/* ---- setup -------------------------------------------------------------- */

/* plugin_create(), and plugin_probe() for a sandbox; 0, or a negative code
 * with `err` filled. */
static int
create_plugin(struct runner *r, struct plugin *p, struct host_plugin *hp, char *err, size_t errlen)
{
	int ret;

	hp->rt = &r->rt;
	hp->name = p->desc.name;
	ret = plugin_create(p, &host_services, hp, err, errlen);
	if (ret == 0 && p->kind == ER_KIND_SANDBOX)
		ret = plugin_probe(p, err, errlen);
	return ret;
}

void
runner_sandboxes_note(struct runner_sandboxes *sb, const char *name, const char *text)
{
	size_t n = strlen(sb->why);

	if (n < sizeof(sb->why))
		snprintf(sb->why + n, sizeof(sb->why) - n, "%s%s: %s", n ? "; " : "", name, text);
}

/*
 * The first candidate that creates and probes serves (runner.h).  Those
 * that do not are closed at once: a half-made sandbox must hold nothing.
 */
static int
choose_sandbox(struct runner *r, struct runner_sandboxes *sb)
{
	const struct settings *s = r->rt.settings;
	char err[LOADER_ERR_MAX];
	int ret = EX_UNAVAILABLE;

	r->sandbox_why = sb->why;
	if (s->on_work && !r->run_item) {
		r->sandbox_why = "--on-work runs no command of a session itself";
		log_info("runner", "sandbox: none probed (%s; a run-item chooses its own)",
			 r->sandbox_why);
		return 0;
	}
	for (size_t i = 0; i < sb->n; i++) {
		struct plugin *p = sb->p[i];

		if (!p->ops.sandbox.wrap) {
			snprintf(err, sizeof(err), "plugin '%s' has no wrap: not a usable sandbox",
				 p->path);
			ret = EX_CONFIG;
		} else {
			ret = create_plugin(r, p, &r->rt.sandbox_host, err, sizeof(err));
			if (ret == 0) {
				r->rt.sandbox = p;
				break;
			}
			ret = loader_exit_code(ret);
		}
		if (!s->sandbox_defaulted) {
			log_error("runner", "%s", err);
			return ret;
		}
		runner_sandboxes_note(sb, p->desc.name, err);
		plugin_close(p);
		sb->p[i] = NULL;
	}
	if (!r->rt.sandbox) {
		log_error("runner", "no sandbox backend runs here (%s); %s", r->sandbox_why,
			  SETTINGS_DEFAULT_SANDBOX_FIX);
		return ret;
	}
	if (r->sandbox_why[0])
		log_notice("runner", "sandbox: %s, the strongest that runs here (not %s)",
			   r->rt.sandbox->desc.name, r->sandbox_why);
	else if (s->sandbox_defaulted && sb->n > 1)
		log_info("runner", "sandbox: %s, the strongest that runs here",
			 r->rt.sandbox->desc.name);
	return 0;
}

static int
check_executor(const struct plugin *p)
{
	if (p->kind != ER_KIND_EXECUTOR || !p->ops.executor.session_start) {
		log_error("runner", "plugin '%s' has no session_start: not a usable executor",
			  p->path);
		return EX_CONFIG;
	}
	if ((p->ops.executor.flags & ER_EXECUTOR_TOOL_CALLS) && !p->ops.executor.tool_call &&
	    !p->ops.executor.tool_call_err) {
		log_error("runner", "plugin '%s' asks for tool calls but has no tool_call",
			  p->path);
		return EX_CONFIG;
	}
	return 0;
}

/* What a runner killed before it could end its sessions left behind: its
 * session directories, and the processes its sessions' commands left
 * running (a background job outlives its call; under the `none` sandbox
 * nothing else ends it): those in its sessions' cgroups, then those that
 * carry a tracking id and work in its directories. */
static void
sweep(const struct settings *s, struct spawner *sp)
{
	int removed = 0;
	int killed = 0;
	int in_cgroups = spawner_sweep_stale(sp);
	int ret;

	if (s->workdir) {
		/* One runner serves a --workdir at a time. */
		killed += spawn_kill_left_behind(s->workdir);
	} else {
		ret = sessiondir_sweep(s->base_dir, &removed, &killed);
		if (ret < 0)
			log_warning("runner", "cannot sweep '%s' for stale session directories: %s",
				    s->base_dir, strerror(-ret));
		else if (removed)
			log_info("runner",
				 "removed %d session director%s left by a runner that is gone",
				 removed, removed == 1 ? "y" : "ies");
	}
	killed += in_cgroups;
	if (killed)
		log_info("runner", "killed %d process%s left running by a runner that is gone",
			 killed, killed == 1 ? "" : "es");
}

/* Everything but the poller; `key` is taken (may be NULL for run-item). */
/* A root runner's sandbox runs as a user of its own, and the file tools
 * take that user's identity only in a directory it owns: in a --workdir it
 * does not own, bash and the file tools would act as two users (a file a
 * tool just wrote that bash cannot read, an executor that cannot read its
 * own prompt file).  Refused, with the ways out. */
static int
check_workdir_owner(const struct runner *r)
{
	const struct settings *s = r->rt.settings;
	struct stat st;

	if (!s->workdir || !r->rt.sandbox_fs.active || stat(s->workdir, &st) < 0 ||
	    st.st_uid == (uid_t)r->rt.sandbox_fs.uid)
		return 0;
	log_error("runner",
		  "--workdir '%s' belongs to uid %u but the sandbox runs commands as uid %u, so "
		  "its commands and the file tools would act as two users; fix: chown %u:%u '%s', "
		  "or pass --sandbox-user with the directory's owner, or use --base-dir (a "
		  "directory per session, owned by the sandbox's user) instead of --workdir",
		  s->workdir, (unsigned)st.st_uid, (unsigned)r->rt.sandbox_fs.uid,
		  (unsigned)r->rt.sandbox_fs.uid, (unsigned)r->rt.sandbox_fs.gid, s->workdir);
	return EX_CONFIG;
}

static int
setup(struct runner *r, struct settings *s, struct runner_sandboxes *sandboxes,
      struct plugin *executor)
{
	char err[LOADER_ERR_MAX];
	int ret;

	r->rt.settings = s;
	r->rt.executor = executor;
	r->rt.session_finished = session_finished;
	/* The worker id may be the one the state directory keeps. */
	if (!r->run_item && !s->on_work) {
		statedir_open(s->state_dir, &s->worker_id, s->worker_id_generated, &r->state);
		r->rt.items_dir = r->state.items_dir;
	}
	r->rt.worker_id = s->worker_id;
	if (!s->on_work || r->run_item) {
		ret = check_executor(executor);
		if (ret)
			return ret;
	}
	r->fd_limit = descriptors_raise_limit(s->capacity);
	/* curl may write to a closed socket; children get SIGPIPE back. */
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return EX_SOFTWARE;
	if (http_set_trust(s->ca_file, s->ca_dir) < 0)
		return EX_OSERR;
	if (s->ca_file)
		log_info("runner", "trusting the CAs in '%s'%s%s", s->ca_file,
			 s->ca_dir ? " and in " : "", s->ca_dir ? s->ca_dir : "");
	r->rt.loop = loop_new(http_curl_done);
	r->rt.api = r->rt.loop ? api_new(r->rt.loop, s->api_url) : NULL;
	r->rt.spawner = r->rt.loop ? spawner_new(r->rt.loop) : NULL;
	if (!r->rt.loop || !r->rt.api || !r->rt.spawner) {
		log_error("runner", "cannot set up the event loop: out of memory");
		return EX_SOFTWARE;
	}
	http_cap_requests(descriptors_request_cap(r->fd_limit));
	ret = choose_sandbox(r, sandboxes);
	if (ret)
		return ret;
	ret = check_workdir_owner(r);
	if (ret)
		return ret;
	ret = create_plugin(r, executor, &r->rt.executor_host, err, sizeof(err));
	if (ret < 0) {
		log_error("runner", "%s", err);
		return loader_exit_code(ret);
	}
	loop_on_signal(r->rt.loop, SIGTERM, on_stop_signal, r);
	loop_on_signal(r->rt.loop, SIGINT, on_stop_signal, r);
	loop_on_signal(r->rt.loop, SIGHUP, on_hup, r);
	loop_on_signal(r->rt.loop, SIGUSR2, on_upgrade_signal, r);
	if (spawner_cgroup_dir(r->rt.spawner))
		log_info("runner",
			 "commands that their sandbox places in no cgroup are kept in a cgroup per "
			 "session, under '%s'",
			 spawner_cgroup_dir(r->rt.spawner));
	/* Before the sweep, which would take their directories. */
	if (r->rt.items_dir) {
		struct journal_origin origin = { s->api_url, s->environment_id, s->worker_id };

		resume_items(r->rt.loop, &r->state, &origin, resumed, r);
	}
	sweep(s, r->rt.spawner);
	r->started_ms = loop_now_ms();
	r->unused_since_ms = r->started_ms;
	return 0;
}

static void
release(struct runner *r)
{
	host_command_cancel(r->upgrade_check);
	loop_cancel_timer(r->upgrade_timer);
	status_free(r->status);
	poller_free(r->poller);
	r->poller = NULL;
	loop_cancel_timer(r->reap_timer);
	loop_cancel_timer(r->deadline_timer);
	loop_cancel_timer(r->tick_timer);
	loop_cancel_timer(r->repoll_timer);
	while (r->finished) {
		struct session_slot *slot = r->finished;

		r->finished = slot->next;
		slot_free(slot);
	}
	while (r->sessions) {
		struct session_slot *slot = r->sessions;

		r->sessions = slot->next;
		slot_free(slot);
	}
	/* Plugins go while the loop their watches and timers live on does. */
	plugin_destroy(r->rt.executor);
	plugin_destroy(r->rt.sandbox);
	spawner_free(r->rt.spawner);
	api_free(r->rt.api);
	loop_free(r->rt.loop);
	curl_global_cleanup();
	statedir_close(&r->state);
	secret_free(r->rt.environment_key);
	r->rt.environment_key = NULL;
}

static int
run_loop(struct runner *r)
{
	int ret = loop_run(r->rt.loop);

	if (ret < 0) {
		log_error("runner", "event loop failed: %s", strerror(-ret));
		ret = EX_SOFTWARE;
	}
	return ret;
}

static void
print_budget(const struct settings *s)
{
	log_info("runner",
		 "shutdown budget: %d s after SIGTERM (drain %d s, post-session hook %d s, %d s to "
		 "stop items); give the supervisor a stop timeout of at least that",
		 budget_sec(s), s->drain_wait_sec,
		 s->hooks_dir ? s->post_session_hook_timeout_sec : 0, RUNNER_STOP_ALLOWANCE_SEC);
}

int
runner_run(struct settings *s, struct runner_sandboxes *sandboxes, struct plugin *executor)
{
	struct runner r;
	char err[512];
	int ret;

	memset(&r, 0, sizeof(r));
	r.state.lock_fd = -1;
	if (settings_read_service_key(s, &r.rt.environment_key, err, sizeof(err)) < 0) {
		log_error("runner", "%s", err);
		return EX_CONFIG;
	}
	/* It goes into a header of every poll: a CR or LF would add headers.
	 * (The key file's check already refuses control characters.) */
	if (!http_header_value_valid(s->worker_id)) {
		log_error("runner", "--worker-id holds a control character; fix: remove it");
		secret_free(r.rt.environment_key);
		return EX_CONFIG;
	}
	ret = setup(&r, s, sandboxes, executor);
	if (ret)
		goto out;
	check_disk(&r);
	ret = start_poller(&r);
	if (ret < 0) {
		ret = EX_SOFTWARE;
		goto out;
	}
	ret = status_start(&r.rt, !r.run_item, status_view, &r, &r.status);
	if (ret)
		goto out;
	/* Always: besides the options it serves, it notes the open files each
	 * second and looks again while they run short. */
	loop_add_timer(r.rt.loop, 0, tick, &r, &r.tick_timer);
	log_info(
		"runner",
		"serving environment %s as worker %s: sandbox %s, executor %s, capacity %d, api %s",
		s->environment_id, s->worker_id,
		r.rt.sandbox ? r.rt.sandbox->desc.name : "(--on-work)",
		s->on_work ? "(--on-work)" : executor->desc.name, s->capacity, s->api_url);
	print_budget(s);
	ret = run_loop(&r);
out:
	release(&r);
	return ret;
}

/* The item as the poll would have handed it out. */
static struct json_doc *
item_doc(const struct runner_item *item)
{
	struct buf b = BUF_INIT(65536);
	struct json_doc *doc = NULL;
	struct jsonw w;

	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "id");
	jw_string(&w, item->work_id);
	jw_key(&w, "type");
	jw_string(&w, "work");
	jw_key(&w, "environment_id");
	jw_string(&w, item->environment_id);
	jw_key(&w, "data");
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "session");
	jw_key(&w, "id");
	jw_string(&w, item->session_id);
	jw_object_end(&w);
	jw_key(&w, "state");
	jw_string(&w, "starting");
	jw_key(&w, "secret");
	jw_string(&w, item->secret);
	jw_object_end(&w);
	if (jw_finish(&w) == 0 && json_parse(b.data, b.len, &doc, NULL, 0) < 0)
		doc = NULL;
	secret_wipe(b.data, b.len);
	buf_release(&b);
	return doc;
}

int
runner_run_item(struct settings *s, struct runner_sandboxes *sandboxes, struct plugin *executor,
		const struct runner_item *item)
{
	struct runner r;
	struct session_slot *slot;
	struct json_doc *doc;
	int ret;

	memset(&r, 0, sizeof(r));
	r.state.lock_fd = -1;
	r.run_item = 1;
	r.item_exit = EX_TEMPFAIL;
	if (item->environment_key) {
		r.rt.environment_key = strdup(item->environment_key);
		if (!r.rt.environment_key || log_add_secret(item->environment_key) < 0)
			return EX_OSERR;
	}
	ret = setup(&r, s, sandboxes, executor);
	if (ret)
		goto out;
	ret = status_start(&r.rt, !r.run_item, status_view, &r, &r.status);
	if (ret)
		goto out;
	doc = item_doc(item);
	slot = calloc(1, sizeof(*slot));
	if (!doc || !slot || !(slot->session = session_start(&r.rt, doc))) {
		json_free(doc);
		free(slot);
		log_error("runner", "cannot start the session of work item %s", item->work_id);
		ret = item->environment_key || item->secret ? EX_SOFTWARE : EX_CONFIG;
		goto out;
	}
	json_free(doc);
	slot->next = r.sessions;
	r.sessions = slot;
	r.n_sessions = 1;
	log_info("runner",
		 "serving work item %s of environment %s: sandbox %s, executor %s, api %s",
		 item->work_id, item->environment_id, r.rt.sandbox->desc.name, executor->desc.name,
		 s->api_url);
	print_budget(s);
	ret = run_loop(&r);
out:
	release(&r);
	return ret;
}
