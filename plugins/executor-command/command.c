/* SPDX-License-Identifier: MIT */
/*
 * The command executor: hands each claimed item to a program, with the
 * contract of `ant beta:worker poll --on-work` (docs/protocol.md §13).
 *
 * The program (--command, run with /bin/sh -c in the session's working
 * directory, through the sandbox) gets the contract's variables and input
 * (common/onwork.h): ANTHROPIC_BASE_URL is the runner's --api-url; the
 * item's secret is in ANTHROPIC_WORK_SECRET, or with command.secret=file in
 * the file named by ANTHROPIC_WORK_SECRET_FILE, or with command.secret=stdin
 * only on its standard input; ANTHROPIC_ENVIRONMENT_KEY only with
 * --command-environment-key.  Its output goes to the runner's log, line by
 * line.
 *
 * The runner opens no event stream for the session.  By default it keeps
 * the lease, kills the program's process tree when the lease is lost, and
 * force-stops the item when the program exits.  With --command-lease=program
 * it sends no heartbeat at all, so that a program running the SDK's
 * EnvironmentWorker.handleItem() holds the lease and stops the item itself;
 * the runner then force-stops the item only when the program failed (a
 * non-zero exit or a signal).
 *
 * Stopping a session (stop request, termination, shutdown) sends SIGTERM to
 * the program's process group; the runner kills what is left after its
 * grace period.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <environment-runner/plugin.h>

#include "buf.h"
#include "jsonw.h"
#include "nbio.h"
#include "onwork.h"
#include "wipe.h"

#define LINE_MAX_BYTES 4096

enum secret_mode {
	SECRET_ENV,
	SECRET_FILE,
	SECRET_STDIN,
};

struct cmd_plugin {
	const struct er_host *host;
	void *host_ctx;
	const char *command; /* borrowed from the host */
	const char *api_url;
	const char *base_dir;
	enum secret_mode secret;
	int program_lease;
};

/* One of the program's output streams, logged line by line. */
struct cmd_stream {
	struct cmd_session *s;
	int fd;
	struct er_watch *watch;
	struct nbio_lines lines;
	const char *name; /* "stdout" or "stderr" */
};

struct cmd_session {
	struct cmd_plugin *pl;
	struct er_session *handle;
	struct er_process *proc;
	int in_fd;
	struct er_watch *in_watch;
	struct buf input;
	size_t input_off;
	struct cmd_stream out;
	struct cmd_stream err;
	int32_t secret_fd; /* command.secret=file: an unlinked file, or -1 */
	int stopping;
	int done;
};

static int
command_create(const struct er_host *host, void *host_ctx, void **ret_state, struct er_error *err)
{
	struct cmd_plugin *pl;
	const char *lease;
	const char *secret;

	if (!ER_HOST_HAS(host, spawn) || !ER_HOST_HAS(host, session_done))
		return host->err_set(err, -ENOTSUP, "the runner offers no spawn or session_done");
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return host->err_set(err, -ENOMEM, "out of memory");
	pl->host = host;
	pl->host_ctx = host_ctx;
	pl->command = host->config_get(host_ctx, "runner.command");
	pl->api_url = host->config_get(host_ctx, "runner.api_url");
	pl->base_dir = host->config_get(host_ctx, "runner.base_dir");
	lease = host->config_get(host_ctx, "runner.command_lease");
	secret = host->config_get(host_ctx, "command.secret");
	if (!pl->command || !*pl->command) {
		free(pl);
		return host->err_set(err, -EINVAL,
				     "no command; fix: pass --command='PROGRAM ARGS' (or set "
				     "ER_COMMAND, or command in the config file)");
	}
	if (lease && strcmp(lease, "program") == 0) {
		pl->program_lease = 1;
	} else if (lease && strcmp(lease, "runner") != 0) {
		free(pl);
		return host->err_set(err, -EINVAL,
				     "invalid --command-lease '%s'; fix: give runner or program",
				     lease);
	}
	if (!secret || strcmp(secret, "env") == 0) {
		pl->secret = SECRET_ENV;
	} else if (strcmp(secret, "file") == 0) {
		pl->secret = SECRET_FILE;
	} else if (strcmp(secret, "stdin") == 0) {
		pl->secret = SECRET_STDIN;
	} else {
		free(pl);
		return host->err_set(err, -EINVAL,
				     "invalid command.secret '%s'; fix: give env, file or stdin",
				     secret);
	}
	if (pl->secret == SECRET_FILE && !pl->base_dir) {
		free(pl);
		return host->err_set(err, -EINVAL,
				     "command.secret=file needs the runner's base dir");
	}
	*ret_state = pl;
	return 0;
}

static void
command_destroy(void *state)
{
	free(state);
}

/* ---- output ------------------------------------------------------------- */

static int
log_line(void *userdata, const char *line, size_t len, int partial)
{
	struct cmd_stream *st = userdata;
	struct cmd_plugin *pl = st->s->pl;

	if (len)
		pl->host->log(pl->host_ctx, ER_LOG_INFO, "%s: %s", st->name, line);
	return 0;
}

static void
stream_close(struct cmd_stream *st)
{
	if (st->watch)
		st->s->pl->host->unwatch_fd(st->watch);
	st->watch = NULL;
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

/* Read what is there; at EOF or on an error, log the last line and close. */
static void
stream_drain(struct cmd_stream *st)
{
	if (st->fd < 0 || nbio_drain(st->fd, nbio_lines_feed, &st->lines) == 0)
		return;
	nbio_lines_end(&st->lines);
	stream_close(st);
}

static void
stream_readable(void *userdata, int fd, uint32_t revents)
{
	stream_drain(userdata);
}

static int
stream_open(struct cmd_session *s, struct cmd_stream *st, int fd, const char *name)
{
	st->s = s;
	st->fd = fd;
	st->name = name;
	nbio_lines_init(&st->lines, LINE_MAX_BYTES, log_line, st);
	return s->pl->host->watch_fd(s->pl->host_ctx, fd, ER_FD_READ, stream_readable, st,
				     &st->watch);
}

/* ---- input -------------------------------------------------------------- */

static void
input_close(struct cmd_session *s)
{
	if (s->in_watch)
		s->pl->host->unwatch_fd(s->in_watch);
	s->in_watch = NULL;
	if (s->in_fd >= 0)
		close(s->in_fd);
	s->in_fd = -1;
	/* The item holds the secret. */
	secret_wipe(s->input.data, s->input.len);
	buf_release(&s->input);
}

static void
input_writable(void *userdata, int fd, uint32_t revents)
{
	struct cmd_session *s = userdata;

	/* Written, or the program closed its input: fine either way. */
	if (nbio_flush(s->in_fd, s->input.data, s->input.len, &s->input_off) == 0)
		return;
	input_close(s);
}

/* ---- the process -------------------------------------------------------- */

static void
program_exited(void *userdata, struct er_process *proc, int status)
{
	struct cmd_session *s = userdata;
	const struct er_host *host = s->pl->host;
	int failed;

	s->proc = NULL;
	stream_drain(&s->out);
	stream_drain(&s->err);
	stream_close(&s->out);
	stream_close(&s->err);
	input_close(s);
	if (WIFEXITED(status)) {
		failed = WEXITSTATUS(status) != 0;
		host->log(s->pl->host_ctx, failed ? ER_LOG_WARNING : ER_LOG_INFO,
			  "the command exited with status %d", WEXITSTATUS(status));
	} else {
		failed = 1;
		host->log(s->pl->host_ctx, s->stopping ? ER_LOG_INFO : ER_LOG_WARNING,
			  "the command was killed by signal %d",
			  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	if (s->stopping)
		failed = 0; /* asked to stop: how it ended says nothing */
	if (!s->done) {
		s->done = 1;
		host->session_done(s->handle, failed);
	}
}

static void command_session_free(void *state, void *sess);

static int
command_session_start(void *state, struct er_session *session, const struct er_session_info *info,
		      void **ret_sess, struct er_error *err)
{
	struct cmd_plugin *pl = state;
	const struct er_host *host = pl->host;
	struct cmd_session *s;
	const char *secret = NULL;
	const char *env_key = NULL;
	const char *argv[] = { "/bin/sh", "-c", pl->command, NULL };
	struct onwork_item item;
	char *env[ONWORK_ENV_MAX + 1];
	struct er_spawn_request req;
	int r;

	if (!info || !info->workdir || !info->session_id)
		return host->err_set(err, -EINVAL, "no session");
	if (info->struct_size >=
	    offsetof(struct er_session_info, environment_key) + sizeof(char *)) {
		secret = info->work_secret;
		env_key = info->environment_key;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return host->err_set(err, -ENOMEM, "out of memory");
	s->pl = pl;
	s->handle = session;
	s->in_fd = -1;
	s->secret_fd = -1;
	s->out.fd = -1;
	s->err.fd = -1;
	/* The work item as claimed, secret included: the runner's copy
	 * without the secret, plus the secret. */
	r = onwork_input(&s->input, info->work_json, info->work_json_len, secret);
	if (r < 0) {
		host->err_set(err, r, "cannot build the work item for the command's input");
		goto fail;
	}
	if (pl->secret == SECRET_FILE && secret) {
		r = onwork_secret_file(pl->base_dir, info->workdir, secret);
		if (r < 0) {
			host->err_set(err, r, "cannot write the work secret file: %s",
				      strerror(-r));
			goto fail;
		}
		s->secret_fd = r;
	}
	item.work_id = info->work_id;
	item.environment_id = info->environment_id;
	item.session_id = info->session_id;
	item.base_url = pl->api_url;
	item.work_secret = pl->secret == SECRET_ENV ? secret : NULL;
	item.work_secret_fd = s->secret_fd;
	item.environment_key = env_key;
	r = onwork_env(&item, env);
	if (r < 0) {
		host->err_set(err, r, "out of memory");
		goto fail;
	}
	if (!secret && !env_key)
		host->log(pl->host_ctx, ER_LOG_WARNING,
			  "the item carries no secret and --command-environment-key is off: "
			  "the command gets no credential");

	memset(&req, 0, sizeof(req));
	req.struct_size = sizeof(req);
	req.cmd.struct_size = sizeof(req.cmd);
	req.cmd.argv = argv;
	req.cmd.envp = (const char *const *)env;
	req.cmd.cwd = info->workdir;
	req.cmd.workdir = info->workdir;
	req.cmd.session_id = info->session_id;
	req.pipe_stdin = 1;
	req.pipe_stdout = 1;
	req.pipe_stderr = 1;
	if (s->secret_fd >= 0) {
		req.pass_fds = &s->secret_fd;
		req.n_pass_fds = 1;
	}
	r = host->spawn(session, &req, program_exited, s, &s->proc, err);
	onwork_env_free(env);
	/* The program holds its copy from here. */
	if (s->secret_fd >= 0)
		close(s->secret_fd);
	s->secret_fd = -1;
	if (r < 0)
		goto fail;
	s->in_fd = req.stdin_fd;
	host->log(pl->host_ctx, ER_LOG_INFO, "started the command (pid %d, lease kept by the %s)",
		  (int)req.pid, pl->program_lease ? "command" : "runner");
	if (stream_open(s, &s->out, req.stdout_fd, "stdout") < 0 ||
	    stream_open(s, &s->err, req.stderr_fd, "stderr") < 0 ||
	    host->watch_fd(pl->host_ctx, s->in_fd, ER_FD_WRITE, input_writable, s, &s->in_watch) <
		    0) {
		/* Without its pipes watched the command cannot be served. */
		host->process_release(s->proc);
		s->proc = NULL;
		r = host->err_set(err, -ENOMEM, "cannot watch the command's pipes");
		goto fail;
	}
	*ret_sess = s;
	return 0;
fail:
	/* No process is left to release here: spawn failed or it was released. */
	command_session_free(state, s);
	return r;
}

static void
command_session_stop(void *state, void *sess, uint32_t reason)
{
	struct cmd_session *s = sess;

	if (!s)
		return;
	s->stopping = 1;
	if (!s->proc) {
		if (!s->done) {
			s->done = 1;
			s->pl->host->session_done(s->handle, 0);
		}
		return;
	}
	/* The runner kills the group after its grace; SIGKILL at once when
	 * the item may already run elsewhere. */
	s->pl->host->process_kill(s->proc, reason == ER_STOP_LEASE_LOST ? SIGKILL : SIGTERM);
}

static void
command_session_free(void *state, void *sess)
{
	struct cmd_session *s = sess;

	if (!s)
		return;
	if (s->proc)
		s->pl->host->process_release(s->proc);
	stream_close(&s->out);
	stream_close(&s->err);
	nbio_lines_release(&s->out.lines);
	nbio_lines_release(&s->err.lines);
	input_close(s);
	if (s->secret_fd >= 0)
		close(s->secret_fd);
	free(s);
}

static const struct er_option command_options[] = {
	{ "command.secret", "env|file|stdin",
	  "how the item's secret reaches the command besides its input: ANTHROPIC_WORK_SECRET "
	  "(default), a file only the command can read, named by ANTHROPIC_WORK_SECRET_FILE, or "
	  "only the work JSON on stdin" },
	{ NULL, NULL, NULL },
};

/* Asked by the runner when create() returned. */
static uint32_t
command_get_flags(void *state)
{
	const struct cmd_plugin *pl = state;

	return ER_EXECUTOR_NO_STREAM | (pl->program_lease ? ER_EXECUTOR_OWNS_LEASE : 0);
}

static const struct er_executor_ops command_ops = {
	.struct_size = sizeof(struct er_executor_ops),
	.flags = ER_EXECUTOR_NO_STREAM,
	.session_start = command_session_start,
	.session_stop = command_session_stop,
	.session_free = command_session_free,
	.get_flags = command_get_flags,
};

ER_PLUGIN_DEFINE_FULL(ER_KIND_EXECUTOR, "command", PACKAGE_VERSION,
		      "runs --command for each claimed item, as ant's poll --on-work does",
		      command_options, ER_ABI_MINOR, 0, command_create, command_destroy,
		      &command_ops);
