/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host-command.h"
#include "nbio.h"

struct host_command {
	struct runtime *rt;
	struct proc_group *group;
	struct proc *proc;
	int err_fd;
	struct loop_watch *watch;
	struct loop_timer *timer;
	host_command_done_cb done;
	void *userdata;
	char *name;
	const char *component;
	struct log_ctx ctx;
	char *work_id;
	char *session_id;
	struct nbio_lines stderr_lines;
	char last[HOST_COMMAND_LINE_MAX];
	int timeout_sec;
	int status;
};

static void
command_free(struct host_command *c)
{
	loop_unwatch(c->watch);
	loop_cancel_timer(c->timer);
	if (c->err_fd >= 0)
		close(c->err_fd);
	if (c->proc)
		proc_release(c->proc);
	/* Whatever it left behind goes with it. */
	proc_group_free(c->group);
	nbio_lines_release(&c->stderr_lines);
	free(c->name);
	free(c->work_id);
	free(c->session_id);
	free(c);
}

void
host_command_cancel(struct host_command *c)
{
	if (c)
		command_free(c);
}

static int
stderr_line(void *userdata, const char *line, size_t len, int partial)
{
	struct host_command *c = userdata;

	(void)partial;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	log_emit(LOG_LEVEL_INFO, c->component, &c->ctx, "%s: %.*s", c->name, (int)len, line);
	snprintf(c->last, sizeof(c->last), "%.*s", (int)len, line);
	return 0;
}

/* Read what stderr has; 1 at EOF or on an error. */
static int
read_stderr(struct host_command *c)
{
	return nbio_drain(c->err_fd, nbio_lines_feed, &c->stderr_lines) != 0;
}

static void
stderr_ready(void *userdata, int fd, uint32_t revents)
{
	struct host_command *c = userdata;

	(void)fd;
	(void)revents;
	if (read_stderr(c)) {
		loop_unwatch(c->watch);
		c->watch = NULL;
	}
}

static void
finish(struct host_command *c, enum host_command_end end, const char *why)
{
	host_command_done_cb done = c->done;
	void *userdata = c->userdata;
	char msg[HOST_COMMAND_LINE_MAX + 64];

	snprintf(msg, sizeof(msg), "%s", why);
	command_free(c);
	done(userdata, end, msg);
}

/* From the loop: the group may not be freed inside its exit callback. */
static void
exited_later(void *userdata)
{
	struct host_command *c = userdata;
	char why[HOST_COMMAND_LINE_MAX + 64];
	int status = c->status;

	c->timer = NULL;
	if (c->err_fd >= 0)
		read_stderr(c);
	nbio_lines_end(&c->stderr_lines);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_emit(LOG_LEVEL_DEBUG, c->component, &c->ctx, "%s succeeded", c->name);
		finish(c, HOST_COMMAND_OK, "");
		return;
	}
	if (c->last[0])
		snprintf(why, sizeof(why), "%s", c->last);
	else if (WIFEXITED(status))
		snprintf(why, sizeof(why), "%s exited with status %d", c->name,
			 WEXITSTATUS(status));
	else
		snprintf(why, sizeof(why), "%s was killed by signal %d", c->name, WTERMSIG(status));
	log_emit(LOG_LEVEL_WARNING, c->component, &c->ctx, "%s failed (%s %d): %s", c->name,
		 WIFEXITED(status) ? "status" : "signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), why);
	finish(c, HOST_COMMAND_FAILED, why);
}

static void
exited(void *userdata, struct proc *proc, int status)
{
	struct host_command *c = userdata;
	struct loop_timer *t;

	(void)proc;
	c->proc = NULL;
	c->status = status;
	/* Out of memory: the time limit ends it instead. */
	if (loop_add_timer(c->rt->loop, 0, exited_later, c, &t) == 0) {
		loop_cancel_timer(c->timer);
		c->timer = t;
	}
}

static void
timed_out(void *userdata)
{
	struct host_command *c = userdata;
	char why[128];

	c->timer = NULL;
	snprintf(why, sizeof(why), "%s did not finish within %d s", c->name, c->timeout_sec);
	log_emit(LOG_LEVEL_WARNING, c->component, &c->ctx, "%s, killing it", why);
	finish(c, HOST_COMMAND_TIMEOUT, why);
}

int
host_command_start(struct runtime *rt, const struct host_command_spec *spec,
		   host_command_done_cb done, void *userdata, struct host_command **ret, char *err,
		   size_t errlen)
{
	struct host_command *c = calloc(1, sizeof(*c));
	struct spawn_spec ss;
	int fds[3];
	int r = -ENOMEM;

	snprintf(err, errlen, "out of memory");
	if (!c)
		return -ENOMEM;
	c->rt = rt;
	c->err_fd = -1;
	c->done = done;
	c->userdata = userdata;
	c->component = spec->component;
	c->timeout_sec = spec->timeout_sec;
	nbio_lines_init(&c->stderr_lines, HOST_COMMAND_LINE_MAX - 1, stderr_line, c);
	c->name = strdup(spec->name);
	if (spec->ctx && spec->ctx->work_id)
		c->work_id = strdup(spec->ctx->work_id);
	if (spec->ctx && spec->ctx->session_id)
		c->session_id = strdup(spec->ctx->session_id);
	c->ctx.work_id = c->work_id;
	c->ctx.session_id = c->session_id;
	c->group = proc_group_new(rt->spawner);
	if (!c->name || !c->group ||
	    strv_setenv(spec->env, SPAWN_TRACKING_VAR, proc_group_tracking_id(c->group)) < 0)
		goto fail;
	memset(&ss, 0, sizeof(ss));
	ss.argv = spec->argv;
	ss.envp = strv_array(spec->env);
	ss.cwd = spec->cwd;
	ss.pipe_stderr = 1;
	r = proc_spawn(c->group, &ss, exited, c, fds, &c->proc, err, errlen);
	if (r < 0)
		goto fail;
	c->err_fd = fds[2];
	if (loop_watch_fd(rt->loop, c->err_fd, LOOP_READ, stderr_ready, c, &c->watch) < 0 ||
	    loop_add_timer(rt->loop, (uint64_t)c->timeout_sec * 1000u, timed_out, c, &c->timer) <
		    0) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	command_free(c);
	return r;
}
