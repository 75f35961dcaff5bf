/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "hooks.h"
#include "host-command.h"
#include "metrics.h"
#include "strv.h"

struct hook_run {
	enum hook_kind kind;
	struct host_command *cmd;
	hook_done_cb done;
	void *userdata;
};

static const char *const passed_vars[] = {
	"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", NULL,
};

const char *
hook_name(enum hook_kind kind)
{
	return kind == HOOK_PRE_SESSION ? "pre-session" : "post-session";
}

void
hook_cancel(struct hook_run *h)
{
	if (!h)
		return;
	host_command_cancel(h->cmd);
	free(h);
}

static void
hook_done(void *userdata, enum host_command_end end, const char *why)
{
	static const enum metrics_hook_outcome outcomes[] = {
		[HOST_COMMAND_OK] = METRICS_HOOK_OK,
		[HOST_COMMAND_FAILED] = METRICS_HOOK_FAILED,
		[HOST_COMMAND_TIMEOUT] = METRICS_HOOK_TIMEOUT,
	};
	struct hook_run *h = userdata;
	hook_done_cb done = h->done;
	void *done_userdata = h->userdata;

	metrics.hooks[h->kind][outcomes[end]]++;
	free(h);
	done(done_userdata, end == HOST_COMMAND_OK, why);
}

static int
build_env(struct strv *env, const struct runtime *rt, enum hook_kind kind,
	  const struct hook_vars *v)
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
	return 0;
}

int
hook_start(struct runtime *rt, enum hook_kind kind, const struct hook_vars *v, hook_done_cb done,
	   void *userdata, struct hook_run **ret, char *err, size_t errlen)
{
	const struct settings *set = rt->settings;
	struct buf path = BUF_INIT(4096);
	struct strv env = STRV_INIT;
	struct host_command_spec spec;
	struct hook_run *h = NULL;
	struct stat st;
	char *argv[2];
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
	if (!h || build_env(&env, rt, kind, v) < 0) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	h->kind = kind;
	h->done = done;
	h->userdata = userdata;
	argv[0] = path.data;
	argv[1] = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.env = &env;
	spec.cwd = v->workdir && *v->workdir ? v->workdir : "/";
	spec.timeout_sec = kind == HOOK_PRE_SESSION ? set->pre_session_hook_timeout_sec
						    : set->post_session_hook_timeout_sec;
	spec.name = hook_name(kind);
	spec.component = "hook";
	spec.ctx = v->ctx;
	r = host_command_start(rt, &spec, hook_done, h, &h->cmd, err, errlen);
	if (r < 0) {
		metrics.hooks[kind][METRICS_HOOK_FAILED]++;
		log_emit(LOG_LEVEL_WARNING, "hook", v->ctx, "%s", err);
		goto out;
	}
	log_emit(LOG_LEVEL_INFO, "hook", v->ctx, "running %s", path.data);
	*ret = h;
	h = NULL;
out:
	free(h);
	strv_release(&env);
	buf_release(&path);
	return r;
}
