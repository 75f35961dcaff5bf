/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "hooks.h"
#include "metrics.h"
#include "nbio.h"
#include "strv.h"

#define HOOK_LINE_MAX 1024

struct hook_run {
	struct runtime *rt;
	enum hook_kind kind;
	struct proc_group *group;
	struct proc *proc;
	int err_fd;
	struct loop_watch *watch;
	struct loop_timer *timer;
	hook_done_cb done;
	void *userdata;
	char *work_id;
	char *session_id;
	struct log_ctx ctx;
	struct nbio_lines stderr_lines;
	char last[HOOK_LINE_MAX];
	int timeout_sec;
	int status;
};

static const char *const passed_vars[] = {
	"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", NULL,
};

const char *
hook_name(enum hook_kind kind)
{
	return kind == HOOK_PRE_SESSION ? "pre-session" : "post-session";
}

static void
hook_free(struct hook_run *h)
{
	loop_unwatch(h->watch);
	loop_cancel_timer(h->timer);
	if (h->err_fd >= 0)
		close(h->err_fd);
	if (h->proc)
		proc_release(h->proc);
	/* Whatever the hook left behind goes with it. */
	proc_group_free(h->group);
	nbio_lines_release(&h->stderr_lines);
	free(h->work_id);
	free(h->session_id);
	free(h);
}

void
hook_cancel(struct hook_run *h)
{
	if (h)
		hook_free(h);
}

static int
stderr_line(void *userdata, const char *line, size_t len, int partial)
{
	struct hook_run *h = userdata;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	log_emit(LOG_LEVEL_INFO, "hook", &h->ctx, "%s: %.*s", hook_name(h->kind), (int)len, line);
	snprintf(h->last, sizeof(h->last), "%.*s", (int)len, line);
	return 0;
}

/* Read what stderr has; 1 at EOF or on an error. */
static int
read_stderr(struct hook_run *h)
{
	return nbio_drain(h->err_fd, nbio_lines_feed, &h->stderr_lines) != 0;
}

static void
stderr_ready(void *userdata, int fd, uint32_t revents)
{
	struct hook_run *h = userdata;

	if (read_stderr(h)) {
		loop_unwatch(h->watch);
		h->watch = NULL;
	}
}

static void
finish(struct hook_run *h, int ok, enum metrics_hook_outcome outcome, const char *why)
{
	hook_done_cb done = h->done;
	void *userdata = h->userdata;
	char msg[HOOK_LINE_MAX + 64];

	metrics.hooks[h->kind][outcome]++;
	snprintf(msg, sizeof(msg), "%s", why);
	hook_free(h);
	done(userdata, ok, msg);
}

/* From the loop: the group may not be freed inside its exit callback. */
static void
hook_exited_later(void *userdata)
{
	struct hook_run *h = userdata;
	char why[HOOK_LINE_MAX + 64];
	int status = h->status;

	h->timer = NULL;
	if (h->err_fd >= 0)
		read_stderr(h);
	nbio_lines_end(&h->stderr_lines);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_emit(LOG_LEVEL_DEBUG, "hook", &h->ctx, "%s succeeded", hook_name(h->kind));
		finish(h, 1, METRICS_HOOK_OK, "");
		return;
	}
	if (h->last[0])
		snprintf(why, sizeof(why), "%s", h->last);
	else if (WIFEXITED(status))
		snprintf(why, sizeof(why), "%s exited with status %d", hook_name(h->kind),
			 WEXITSTATUS(status));
	else
		snprintf(why, sizeof(why), "%s was killed by signal %d", hook_name(h->kind),
			 WTERMSIG(status));
	log_emit(LOG_LEVEL_WARNING, "hook", &h->ctx, "%s failed (%s %d): %s", hook_name(h->kind),
		 WIFEXITED(status) ? "status" : "signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), why);
	finish(h, 0, METRICS_HOOK_FAILED, why);
}

static void
hook_exited(void *userdata, struct proc *proc, int status)
{
	struct hook_run *h = userdata;

	struct loop_timer *t;

	h->proc = NULL;
	h->status = status;
	/* Out of memory: the time limit ends it instead. */
	if (loop_add_timer(h->rt->loop, 0, hook_exited_later, h, &t) == 0) {
		loop_cancel_timer(h->timer);
		h->timer = t;
	}
}

static void
hook_timeout(void *userdata)
{
	struct hook_run *h = userdata;
	char why[128];

	h->timer = NULL;
	snprintf(why, sizeof(why), "%s did not finish within %d s", hook_name(h->kind),
		 h->timeout_sec);
	log_emit(LOG_LEVEL_WARNING, "hook", &h->ctx, "%s, killing it", why);
	finish(h, 0, METRICS_HOOK_TIMEOUT, why);
}

static int
build_env(struct strv *env, const struct runtime *rt, enum hook_kind kind,
	  const struct hook_vars *v, const char *tracking_id)
{
	int r = 0;

	for (int i = 0; passed_vars[i]; i++) {
		const char *val = settings_getenv(passed_vars[i]);

		if (val && (r = strv_setenv(env, passed_vars[i], val)) < 0)
			return r;
	}
	if (!settings_getenv("PATH") &&
	    (r = strv_setenv(env, "PATH", "/usr/local/bin:/usr/bin:/bin")) < 0)
		return r;
#define SET(name, val)                                                                             \
	do {                                                                                       \
		if ((val) && (r = strv_setenv(env, "ENVIRONMENT_RUNNER_" name, (val))) < 0)        \
			return r;                                                                  \
	} while (0)
	SET("HOOK", hook_name(kind));
	SET("WORK_ID", v->work_id);
	SET("SESSION_ID", v->session_id);
	SET("ENVIRONMENT_ID", v->environment_id);
	SET("WORKER_ID", rt->worker_id);
	SET("WORKDIR", v->workdir);
	if (kind == HOOK_POST_SESSION) {
		SET("OUTCOME", v->outcome);
		SET("END_REASON", v->end_reason);
	}
#undef SET
	return strv_setenv(env, SPAWN_TRACKING_VAR, tracking_id);
}

int
hook_start(struct runtime *rt, enum hook_kind kind, const struct hook_vars *v, hook_done_cb done,
	   void *userdata, struct hook_run **ret, char *err, size_t errlen)
{
	const struct settings *set = rt->settings;
	struct buf path = BUF_INIT(4096);
	struct strv env = STRV_INIT;
	struct spawn_spec spec;
	struct hook_run *h = NULL;
	struct stat st;
	char *argv[2];
	int fds[3];
	int r;

	if (!set->hooks_dir)
		return 1;
	if (buf_printf(&path, "%s/%s", set->hooks_dir, hook_name(kind)) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (stat(path.data, &st) < 0) {
		r = -errno;
		buf_release(&path);
		if (r == -ENOENT)
			return 1;
		snprintf(err, errlen, "cannot run %s hook: %s", hook_name(kind), strerror(-r));
		return r;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		goto oom;
	h->rt = rt;
	h->kind = kind;
	h->err_fd = -1;
	nbio_lines_init(&h->stderr_lines, HOOK_LINE_MAX - 1, stderr_line, h);
	h->done = done;
	h->userdata = userdata;
	h->timeout_sec = kind == HOOK_PRE_SESSION ? set->pre_session_hook_timeout_sec
						  : set->post_session_hook_timeout_sec;
	h->work_id = v->work_id ? strdup(v->work_id) : NULL;
	h->session_id = v->session_id ? strdup(v->session_id) : NULL;
	h->ctx.work_id = h->work_id;
	h->ctx.session_id = h->session_id;
	h->group = proc_group_new(rt->spawner);
	if (!h->group)
		goto oom;
	r = build_env(&env, rt, kind, v, proc_group_tracking_id(h->group));
	if (r < 0)
		goto oom;
	argv[0] = path.data;
	argv[1] = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.envp = strv_array(&env);
	spec.cwd = v->workdir && *v->workdir ? v->workdir : "/";
	spec.pipe_stderr = 1;
	r = proc_spawn(h->group, &spec, hook_exited, h, fds, &h->proc, err, errlen);
	strv_release(&env);
	if (r < 0) {
		metrics.hooks[kind][METRICS_HOOK_FAILED]++;
		log_emit(LOG_LEVEL_WARNING, "hook", v->ctx, "%s", err);
		goto fail;
	}
	h->err_fd = fds[2];
	if (loop_watch_fd(rt->loop, h->err_fd, LOOP_READ, stderr_ready, h, &h->watch) < 0 ||
	    loop_add_timer(rt->loop, (uint64_t)h->timeout_sec * 1000u, hook_timeout, h, &h->timer) <
		    0) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	log_emit(LOG_LEVEL_INFO, "hook", v->ctx, "running %s", path.data);
	buf_release(&path);
	*ret = h;
	return 0;
oom:
	strv_release(&env);
	snprintf(err, errlen, "out of memory");
	r = -ENOMEM;
fail:
	buf_release(&path);
	if (h)
		hook_free(h);
	return r;
}
