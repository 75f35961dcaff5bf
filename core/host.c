/* SPDX-License-Identifier: MIT */
/*
 * The services table handed to plugins (struct er_host).  Every entry
 * checks its arguments, since a third party calls it; none of them blocks.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cgroup.h"
#include "fsid.h"
#include "host.h"
#include "metrics.h"
#include "nbio.h"
#include "runtime.h"
#include "sandbox-settings.h"
#include "session.h"
#include "strv.h"

struct er_cmd_builder {
	struct strv argv;
	struct strv env;
	char *cwd;
	/* ABI 1.1 */
	int set_ids;
	uint32_t uid;
	uint32_t gid;
	struct spawn_rlimit rlimits[ER_CMD_MAX_RLIMITS];
	int n_rlimits;
	int fds[ER_CMD_MAX_FDS]; /* owned: closed by builder_release */
	int n_fds;
	char *cgroup_join;  /* cgroup_join_file() of the cgroup */
	void *sandbox_sess; /* the sandbox's state for the command's session */
};

#define BUILDER_INIT                                                                               \
	{                                                                                          \
		STRV_INIT, STRV_INIT, NULL, 0, 0, 0, { { 0, 0, 0 } }, 0, { 0 }, 0, NULL, NULL      \
	}

/* A process handle given to an executor. */
struct host_process {
	struct proc *proc;
	er_exit_cb on_exit;
	void *userdata;
	int in_exit; /* a release from inside on_exit is a no-op */
};

static void __attribute__((format(printf, 3, 0)))
host_vlog(void *host_ctx, int level, const char *fmt, va_list ap)
{
	struct host_plugin *hp = host_ctx;

	if (level < LOG_LEVEL_ERR)
		level = LOG_LEVEL_ERR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	log_emitv(level, hp ? hp->name : "plugin", NULL, fmt, ap);
}

static void __attribute__((format(printf, 3, 4)))
host_log(void *host_ctx, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	host_vlog(host_ctx, level, fmt, ap);
	va_end(ap);
}

static int __attribute__((format(printf, 3, 4)))
host_err_set(struct er_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* The executors' key for the Messages API: --inference-key-file, else the
 * runner's $ANTHROPIC_API_KEY.  Read once, on first use; never logged. */
static const char *
inference_key(const struct settings *set)
{
	static char *key;
	static int tried;
	char err[512];
	const char *v;

	if (tried)
		return key;
	tried = 1;
	if (set->inference_key_file) {
		if (settings_read_key_file(set->inference_key_file, "inference key file",
					   "inference-key-file", &key, err, sizeof(err)) < 0) {
			log_emit(LOG_LEVEL_ERR, "runner", NULL, "%s", err);
			key = NULL;
		}
		return key;
	}
	v = settings_getenv("ANTHROPIC_API_KEY");
	if (v && (key = strdup(v)) && log_add_secret(key) < 0) {
		free(key);
		key = NULL;
	}
	return key;
}

/* The runner's settings an executor may read, as "runner.<key>". */
static const char *
executor_setting(const struct settings *set, const char *key)
{
	if (strcmp(key, "api_url") == 0)
		return set->api_url;
	if (strcmp(key, "exec_path") == 0)
		return set->exec_path;
	if (strcmp(key, "inference_url") == 0)
		return set->inference_url ? set->inference_url : set->api_url;
	if (strcmp(key, "inference_key") == 0)
		return inference_key(set);
	if (strcmp(key, "command") == 0)
		return set->command;
	if (strcmp(key, "command_lease") == 0)
		return set->command_lease;
	if (strcmp(key, "base_dir") == 0)
		return set->base_dir;
	return NULL;
}

static const char *
host_config_get(void *host_ctx, const char *key)
{
	struct host_plugin *hp = host_ctx;

	if (!hp || !key)
		return NULL;
	/* What a sandbox must hide (ABI 1.1). */
	if (strcmp(key, "runner.service_key_file") == 0)
		return hp->rt->settings->service_key_file;
	/* What the claude-code and command executors need (ABI 1.1). */
	if (strncmp(key, "runner.", 7) == 0)
		return executor_setting(hp->rt->settings, key + 7);
	return settings_get_option(hp->rt->settings, key);
}

/* Variables that may hold a credential never reach a plugin. */
static int
is_secret_name(const char *name)
{
	static const char *const words[] = { "KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL" };

	if (strncasecmp(name, "ANTHROPIC_", 10) == 0 || strncmp(name, "ER_", 3) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcasestr(name, words[i]))
			return 1;
	}
	return 0;
}

static const char *
host_getenv(void *host_ctx, const char *name)
{
	if (!name || is_secret_name(name))
		return NULL;
	return settings_getenv(name);
}

static uint64_t
host_now_ms(void *host_ctx)
{
	return loop_now_ms();
}

static int
host_cmd_push_arg(struct er_cmd_builder *b, const char *arg)
{
	if (!b || !arg)
		return -EINVAL;
	return strv_push(&b->argv, arg);
}

static int
host_cmd_set_env(struct er_cmd_builder *b, const char *name, const char *value)
{
	if (!b || !name || !*name || strchr(name, '=') || !value)
		return -EINVAL;
	return strv_setenv(&b->env, name, value);
}

static int
host_cmd_set_cwd(struct er_cmd_builder *b, const char *dir)
{
	char *copy;

	if (!b || !dir)
		return -EINVAL;
	copy = strdup(dir);
	if (!copy)
		return -ENOMEM;
	free(b->cwd);
	b->cwd = copy;
	return 0;
}

static int
host_cmd_set_credentials(struct er_cmd_builder *b, uint32_t uid, uint32_t gid)
{
	if (!b || uid == (uint32_t)-1 || gid == (uint32_t)-1)
		return -EINVAL;
	/* The runner's own ids: nothing to change. */
	if ((uid_t)uid == geteuid() && (gid_t)gid == getegid()) {
		b->set_ids = 0;
		return 0;
	}
	b->set_ids = 1;
	b->uid = uid;
	b->gid = gid;
	return 0;
}

/* ER_RLIMIT_* to this platform's RLIMIT_*, or -1. */
static int
platform_rlimit(uint32_t resource)
{
	switch (resource) {
	case ER_RLIMIT_CORE:
		return RLIMIT_CORE;
	case ER_RLIMIT_CPU:
		return RLIMIT_CPU;
	case ER_RLIMIT_DATA:
		return RLIMIT_DATA;
	case ER_RLIMIT_FSIZE:
		return RLIMIT_FSIZE;
	case ER_RLIMIT_NOFILE:
		return RLIMIT_NOFILE;
	case ER_RLIMIT_STACK:
		return RLIMIT_STACK;
#ifdef RLIMIT_AS
	case ER_RLIMIT_AS:
		return RLIMIT_AS;
#endif
#ifdef RLIMIT_NPROC
	case ER_RLIMIT_NPROC:
		return RLIMIT_NPROC;
#endif
	}
	return -1;
}

static rlim_t
to_rlim(uint64_t v)
{
	if (v == ER_RLIM_INFINITY || v >= (uint64_t)RLIM_INFINITY)
		return RLIM_INFINITY;
	return (rlim_t)v;
}

static int
host_cmd_set_rlimit(struct er_cmd_builder *b, uint32_t resource, uint64_t soft, uint64_t hard)
{
	int res = platform_rlimit(resource);
	int i;

	if (!b || soft > hard)
		return -EINVAL;
	if (res < 0)
		return -ENOTSUP;
	for (i = 0; i < b->n_rlimits; i++)
		if (b->rlimits[i].resource == res)
			break;
	if (i == ER_CMD_MAX_RLIMITS)
		return -E2BIG;
	b->rlimits[i].resource = res;
	b->rlimits[i].soft = to_rlim(soft);
	b->rlimits[i].hard = to_rlim(hard);
	if (i == b->n_rlimits)
		b->n_rlimits++;
	return 0;
}

static int
host_cmd_pass_fd(struct er_cmd_builder *b, int32_t fd)
{
	if (fd < 0)
		return -EBADF;
	if (!b || fd <= 2 || b->n_fds == ER_CMD_MAX_FDS) {
		/* The builder owns fd even when it refuses it. */
		if (fd > 2)
			close(fd);
		return !b ? -EINVAL : fd <= 2 ? -EBADF : -E2BIG;
	}
	b->fds[b->n_fds++] = fd;
	return 0;
}

static int
host_cmd_set_cgroup(struct er_cmd_builder *b, const char *dir)
{
	if (!b || !dir || dir[0] != '/')
		return -EINVAL;
	free(b->cgroup_join);
	b->cgroup_join = cgroup_join_file(dir);
	return b->cgroup_join ? 0 : -ENOMEM;
}

static int
host_set_sandbox_identity(void *host_ctx, uint32_t uid, uint32_t gid)
{
	struct host_plugin *hp = host_ctx;

	if (!hp)
		return -EINVAL;
	return fsid_set(&hp->rt->sandbox_fs, uid, gid);
}

static int
host_watch_fd(void *host_ctx, int fd, uint32_t events, er_fd_cb cb, void *userdata,
	      struct er_watch **ret_watch)
{
	struct host_plugin *hp = host_ctx;
	struct loop_watch *w;
	int r;

	if (!hp || !cb)
		return -EINVAL;
	/* ER_FD_* and LOOP_* share their values. */
	r = loop_watch_fd(hp->rt->loop, fd, events & (ER_FD_READ | ER_FD_WRITE), (loop_fd_cb)cb,
			  userdata, &w);
	if (r == 0 && ret_watch)
		*ret_watch = (struct er_watch *)w;
	return r;
}

static void
host_unwatch_fd(struct er_watch *watch)
{
	loop_unwatch((struct loop_watch *)watch);
}

static int
host_add_timer(void *host_ctx, uint64_t delay_ms, er_timer_cb cb, void *userdata,
	       struct er_timer **ret_timer)
{
	struct host_plugin *hp = host_ctx;
	struct loop_timer *t;
	int r;

	if (!hp || !cb)
		return -EINVAL;
	r = loop_add_timer(hp->rt->loop, delay_ms, cb, userdata, &t);
	if (r == 0 && ret_timer)
		*ret_timer = (struct er_timer *)t;
	return r;
}

static void
host_cancel_timer(struct er_timer *timer)
{
	loop_cancel_timer((struct loop_timer *)timer);
}

static void
process_exited(void *userdata, struct proc *proc, int status)
{
	struct host_process *hp = userdata;

	/* The handle dies with the callback. */
	hp->in_exit = 1;
	if (hp->on_exit)
		hp->on_exit(hp->userdata, (struct er_process *)hp, status);
	free(hp);
}

static void
builder_release(struct er_cmd_builder *b)
{
	strv_release(&b->argv);
	strv_release(&b->env);
	free(b->cwd);
	for (int i = 0; i < b->n_fds; i++)
		close(b->fds[i]);
	b->n_fds = 0;
	free(b->cgroup_join);
}

/* The sandbox's wrap() of `cmd` into `b`; 0 or -errno with `err` filled. */
static int
sandbox_wrap(struct runtime *rt, const struct er_command *cmd, struct er_cmd_builder *b,
	     struct er_error *err)
{
	int r = rt->sandbox->ops.sandbox.wrap(rt->sandbox->state, cmd, b, err);

	if (r < 0) {
		metrics.sandbox_launch_failures++;
		if (!err || !err->msg[0])
			host_err_set(err, r, "sandbox '%s' cannot wrap the command",
				     rt->sandbox->desc.name);
		return r;
	}
	if (b->argv.n == 0)
		return host_err_set(err, -EINVAL, "sandbox '%s' produced no command",
				    rt->sandbox->desc.name);
	return 0;
}

/* What the builder asks of the child: its command, environment, directory
 * (`cwd` unless wrap() set one) and process attributes.  `pass` holds
 * `n_pass` fds already; the builder's are appended. */
static void
spec_from_builder(struct spawn_spec *spec, struct er_cmd_builder *b, const char *cwd, int *pass,
		  int n_pass)
{
	for (int i = 0; i < b->n_fds; i++)
		pass[n_pass + i] = b->fds[i];
	memset(spec, 0, sizeof(*spec));
	spec->argv = strv_array(&b->argv);
	spec->envp = strv_array(&b->env);
	spec->cwd = b->cwd ? b->cwd : cwd;
	spec->pass_fds = pass;
	spec->n_pass_fds = n_pass + b->n_fds;
	spec->cgroup_join = b->cgroup_join;
	spec->rlimits = b->rlimits;
	spec->n_rlimits = b->n_rlimits;
	spec->set_ids = b->set_ids;
	spec->uid = (uid_t)b->uid;
	spec->gid = (gid_t)b->gid;
}

static int
host_spawn(struct er_session *session, struct er_spawn_request *req, er_exit_cb on_exit,
	   void *userdata, struct er_process **ret_proc, struct er_error *err)
{
	struct session *s = (struct session *)session;
	struct runtime *rt;
	struct er_cmd_builder b = BUILDER_INIT;
	struct er_command cmd;
	struct spawn_spec spec;
	struct host_process *hp;
	struct proc *proc;
	int pass[64 + ER_CMD_MAX_FDS];
	int fds[3];
	char msg[256];
	int r;

	if (!s || !req || !req->cmd.argv || !req->cmd.argv[0])
		return host_err_set(err, -EINVAL, "spawn: no command");
	rt = session_runtime(s);
	if (!session_procs(s))
		return host_err_set(err, -ESRCH, "spawn: the session is not running");
	if (req->n_pass_fds > 64 || (req->n_pass_fds && !req->pass_fds))
		return host_err_set(err, -EINVAL, "spawn: too many fds to pass");
	/* wrap() and the spawn act as the runner, not as the sandbox's user. */
	fsid_suspend(&rt->sandbox_fs);
	/* The session is known here even when the executor leaves it out
	 * (a backend names per-session resources after it). */
	cmd = req->cmd;
	if (!cmd.session_id)
		cmd.session_id = session_id(s);
	b.sandbox_sess = session_sandbox_state(s);
	r = sandbox_wrap(rt, &cmd, &b, err);
	if (r < 0)
		goto out;
	r = strv_setenv(&b.env, SPAWN_TRACKING_VAR, proc_group_tracking_id(session_procs(s)));
	hp = calloc(1, sizeof(*hp));
	if (r < 0 || !hp) {
		free(hp);
		r = host_err_set(err, -ENOMEM, "spawn: out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < req->n_pass_fds; i++)
		pass[i] = req->pass_fds[i];
	spec_from_builder(&spec, &b, req->cmd.cwd, pass, (int)req->n_pass_fds);
	spec.pipe_stdin = !!req->pipe_stdin;
	spec.pipe_stdout = !!req->pipe_stdout;
	spec.pipe_stderr = !!req->pipe_stderr;
	hp->on_exit = on_exit;
	hp->userdata = userdata;
	r = proc_spawn(session_procs(s), &spec, process_exited, hp, fds, &proc, msg, sizeof(msg));
	if (r < 0) {
		metrics.sandbox_launch_failures++;
		free(hp);
		host_err_set(err, r, "%s", msg);
		goto out;
	}
	hp->proc = proc;
	req->stdin_fd = fds[0];
	req->stdout_fd = fds[1];
	req->stderr_fd = fds[2];
	req->pid = (int32_t)proc_pid(proc);
	if (ret_proc)
		*ret_proc = (struct er_process *)hp;
	r = 0;
out:
	/* Closes the fds wrap() passed: the child has its copies. */
	builder_release(&b);
	fsid_resume(&rt->sandbox_fs);
	return r;
}

static int
host_process_kill(struct er_process *proc, int sig)
{
	struct host_process *hp = (struct host_process *)proc;

	if (!hp)
		return -EINVAL;
	return proc_kill(hp->proc, sig);
}

static void
host_process_release(struct er_process *proc)
{
	struct host_process *hp = (struct host_process *)proc;

	if (!hp || hp->in_exit)
		return;
	proc_release(hp->proc);
	free(hp);
}

static int
host_tool_result(struct er_session *session, const char *call_id, int32_t is_error,
		 const char *text, size_t len)
{
	if (!session || !call_id || (!text && len))
		return -EINVAL;
	return session_tool_result((struct session *)session, call_id, is_error, text ? text : "",
				   len);
}

static int
host_send_event(struct er_session *session, const char *json, size_t len)
{
	if (!session || !json)
		return -EINVAL;
	return session_send_event((struct session *)session, json, len);
}

static void
host_session_done(struct er_session *session, int32_t failed)
{
	if (session)
		session_executor_done((struct session *)session, failed);
}

static void __attribute__((format(printf, 3, 4)))
host_session_log(struct er_session *session, int level, const char *fmt, ...)
{
	struct session *s = (struct session *)session;
	va_list ap;

	if (level < LOG_LEVEL_ERR)
		level = LOG_LEVEL_ERR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	va_start(ap, fmt);
	log_emitv(level, s ? session_runtime(s)->executor->desc.name : "plugin",
		  s ? session_log_ctx(s) : NULL, fmt, ap);
	va_end(ap);
}

/* The runner's environment as getenv() shows it to plugins. */
static int
plugin_environment(struct strv *env)
{
	extern char **environ;

	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char name[256];

		if (!eq || (size_t)(eq - *e) >= sizeof(name))
			continue;
		memcpy(name, *e, (size_t)(eq - *e));
		name[eq - *e] = '\0';
		if (!is_secret_name(name) && strv_push(env, *e) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Read the command's output until EOF or the deadline; 0 or -ETIMEDOUT. */
static int
collect_output(int fd, uint64_t deadline, char *output, uint32_t output_size)
{
	uint32_t got = 0;

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t now = loop_now_ms();
		char buf[4096];
		ssize_t n;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!pfd.revents)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (output_size && got < output_size - 1) {
			uint32_t take = (uint32_t)n < output_size - 1 - got ? (uint32_t)n
									    : output_size - 1 - got;

			memcpy(output + got, buf, take);
			got += take;
			output[got] = '\0';
		}
	}
}

/* argv0 itself when it has a '/', else the first executable of that name on
 * the runner's PATH. */
static int
find_program(const char *argv0, char *out, size_t len)
{
	const char *path = settings_getenv("PATH");

	if (strchr(argv0, '/')) {
		snprintf(out, len, "%s", argv0);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	for (const char *d = path ? path : "/usr/bin:/bin"; *d;) {
		size_t n = strcspn(d, ":");

		if (n > 0 && d[0] == '/' &&
		    (size_t)snprintf(out, len, "%.*s/%s", (int)n, d, argv0) < len &&
		    access(out, X_OK) == 0)
			return 0;
		d += n;
		if (*d == ':')
			d++;
	}
	return -ENOENT;
}

/* ABI 1.2: a short command run to its end, in a process group of its own
 * (killed whole on timeout).  Start-up only: it blocks. */
static int
host_run_command(void *host_ctx, const char *const *argv, const int32_t *pass_fds,
		 uint32_t n_pass_fds, uint32_t timeout_ms, int32_t *ret_status, char *output,
		 uint32_t output_size, struct er_error *err)
{
	struct strv env = STRV_INIT;
	char *const *envp;
	char program[PATH_MAX];
	int pipefd[2];
	int devnull;
	pid_t pid;
	int status = 0;
	int r;

	if (!argv || !argv[0] || !ret_status || (!output && output_size))
		return host_err_set(err, -EINVAL, "run_command: no command");
	if (n_pass_fds > ER_CMD_MAX_FDS || (n_pass_fds && !pass_fds))
		return host_err_set(err, -EINVAL, "run_command: too many fds to pass");
	for (uint32_t i = 0; i < n_pass_fds; i++)
		if (pass_fds[i] <= 2)
			return host_err_set(err, -EBADF, "run_command: fd %d cannot be passed",
					    (int)pass_fds[i]);
	if (output_size)
		output[0] = '\0';
	if (timeout_ms == 0 || timeout_ms > ER_RUN_MAX_TIMEOUT_MS)
		timeout_ms = ER_RUN_MAX_TIMEOUT_MS;
	r = find_program(argv[0], program, sizeof(program));
	if (r < 0)
		return host_err_set(err, r, "cannot run '%s': %s", argv[0], strerror(-r));
	if (plugin_environment(&env) < 0) {
		strv_release(&env);
		return host_err_set(err, -ENOMEM, "run_command: out of memory");
	}
	envp = strv_array(&env);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!envp || devnull < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		r = -errno;
		if (devnull >= 0)
			close(devnull);
		strv_release(&env);
		return host_err_set(err, r, "run_command: %s", strerror(-r));
	}
	pid = fork();
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		if (dup2(devnull, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(127);
		for (uint32_t i = 0; i < n_pass_fds; i++)
			if (fcntl(pass_fds[i], F_SETFD, 0) < 0)
				_exit(127);
		execve(program, (char *const *)argv, envp);
		_exit(127);
	}
	r = pid < 0 ? -errno : 0;
	close(devnull);
	close(pipefd[1]);
	strv_release(&env);
	if (r < 0) {
		close(pipefd[0]);
		return host_err_set(err, r, "run_command: fork: %s", strerror(-r));
	}
	r = collect_output(pipefd[0], loop_now_ms() + timeout_ms, output, output_size);
	close(pipefd[0]);
	if (r < 0)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*ret_status = status;
	if (r == -ETIMEDOUT)
		return host_err_set(err, r, "'%s' did not finish within %u ms", argv[0],
				    (unsigned)timeout_ms);
	if (r < 0)
		return host_err_set(err, r, "reading the output of '%s': %s", argv[0],
				    strerror(-r));
	return 0;
}

static int
host_sandbox_settings(void *host_ctx, struct er_sandbox_settings *out, struct er_error *err)
{
	struct host_plugin *hp = host_ctx;

	if (!hp)
		return host_err_set(err, -EINVAL, "sandbox_settings: no host context");
	return sandbox_settings_get(hp->rt->settings, out, err);
}

static const char *const *
host_env_allowlist(void *host_ctx)
{
	return sandbox_env_allowlist;
}

static void *
host_cmd_sandbox_session(struct er_cmd_builder *b)
{
	return b ? b->sandbox_sess : NULL;
}

/* ---- plugin-check: a wrapped command run to its end --------------------- */

struct wrapped_run {
	struct loop *loop;
	struct loop_watch *watch[2];
	int fds[2];
	struct buf out;
	int exited;
	int status;
};

static void
wrapped_done_if_over(struct wrapped_run *w)
{
	if (w->exited && w->fds[0] < 0 && w->fds[1] < 0)
		loop_quit(w->loop, 0);
}

/* Keeps what fits under the buffer's cap; the rest is cut. */
static int
keep_output(void *userdata, const char *data, size_t len)
{
	struct buf *out = userdata;
	size_t room = out->max - out->len;

	(void)buf_append(out, data, len < room ? len : room);
	return 0;
}

static void
wrapped_output(void *userdata, int fd, uint32_t revents)
{
	struct wrapped_run *w = userdata;
	int i = fd == w->fds[0] ? 0 : 1;

	if (nbio_drain(fd, keep_output, &w->out) == 0)
		return;
	loop_unwatch(w->watch[i]);
	w->watch[i] = NULL;
	close(fd);
	w->fds[i] = -1;
	wrapped_done_if_over(w);
}

static void
wrapped_exited(void *userdata, struct proc *proc, int status)
{
	struct wrapped_run *w = userdata;

	w->exited = 1;
	w->status = status;
	wrapped_done_if_over(w);
}

static void
wrapped_timeout(void *userdata)
{
	struct wrapped_run *w = userdata;

	loop_quit(w->loop, -ETIMEDOUT);
}

int
host_run_wrapped(struct runtime *rt, const struct er_command *cmd, void *sandbox_sess,
		 uint32_t timeout_ms, int *ret_status, char *out, size_t outlen,
		 struct er_error *err)
{
	struct wrapped_run w = { rt->loop, { NULL, NULL }, { -1, -1 }, BUF_INIT(65536), 0, 0 };
	struct er_cmd_builder b = BUILDER_INIT;
	struct proc_group *group = proc_group_new(rt->spawner);
	struct loop_timer *timer = NULL;
	struct spawn_spec spec;
	struct proc *proc;
	int pass[ER_CMD_MAX_FDS];
	int fds[3];
	char msg[256];
	int r;

	if (outlen)
		out[0] = '\0';
	if (!group)
		return host_err_set(err, -ENOMEM, "out of memory");
	b.sandbox_sess = sandbox_sess;
	r = sandbox_wrap(rt, cmd, &b, err);
	if (r < 0)
		goto out;
	r = strv_setenv(&b.env, SPAWN_TRACKING_VAR, proc_group_tracking_id(group));
	if (r < 0) {
		host_err_set(err, r, "out of memory");
		goto out;
	}
	spec_from_builder(&spec, &b, cmd->cwd, pass, 0);
	spec.pipe_stdout = 1;
	spec.pipe_stderr = 1;
	r = proc_spawn(group, &spec, wrapped_exited, &w, fds, &proc, msg, sizeof(msg));
	if (r < 0) {
		host_err_set(err, r, "%s", msg);
		goto out;
	}
	w.fds[0] = fds[1];
	w.fds[1] = fds[2];
	for (int i = 0; i < 2; i++) {
		r = loop_watch_fd(rt->loop, w.fds[i], LOOP_READ, wrapped_output, &w, &w.watch[i]);
		if (r < 0) {
			host_err_set(err, r, "cannot watch the command's output");
			goto out;
		}
	}
	r = loop_add_timer(rt->loop, timeout_ms, wrapped_timeout, &w, &timer);
	if (r == 0)
		r = loop_run(rt->loop);
	if (r == -ETIMEDOUT)
		host_err_set(err, r, "the command did not finish within %u ms",
			     (unsigned)timeout_ms);
	else if (r < 0)
		host_err_set(err, r, "the event loop failed: %s", strerror(-r));
	*ret_status = w.status;
	if (outlen && w.out.len)
		snprintf(out, outlen, "%.*s", (int)w.out.len, w.out.data);
out:
	loop_cancel_timer(timer);
	for (int i = 0; i < 2; i++) {
		loop_unwatch(w.watch[i]);
		if (w.fds[i] >= 0)
			close(w.fds[i]);
	}
	buf_release(&w.out);
	builder_release(&b);
	proc_group_free(group);
	return r;
}

const struct er_host host_services = {
	.struct_size = sizeof(struct er_host),
	.abi_major = ER_ABI_MAJOR,
	.abi_minor = ER_ABI_MINOR,
	.log = host_log,
	.vlog = host_vlog,
	.err_set = host_err_set,
	.config_get = host_config_get,
	.getenv = host_getenv,
	.now_ms = host_now_ms,
	.cmd_push_arg = host_cmd_push_arg,
	.cmd_set_env = host_cmd_set_env,
	.cmd_set_cwd = host_cmd_set_cwd,
	.watch_fd = host_watch_fd,
	.unwatch_fd = host_unwatch_fd,
	.add_timer = host_add_timer,
	.cancel_timer = host_cancel_timer,
	.spawn = host_spawn,
	.process_kill = host_process_kill,
	.process_release = host_process_release,
	.tool_result = host_tool_result,
	.send_event = host_send_event,
	.session_done = host_session_done,
	.cmd_set_credentials = host_cmd_set_credentials,
	.cmd_set_rlimit = host_cmd_set_rlimit,
	.cmd_pass_fd = host_cmd_pass_fd,
	.cmd_set_cgroup = host_cmd_set_cgroup,
	.set_sandbox_identity = host_set_sandbox_identity,
	.session_log = host_session_log,
	.run_command = host_run_command,
	.sandbox_settings = host_sandbox_settings,
	.env_allowlist = host_env_allowlist,
	.cmd_sandbox_session = host_cmd_sandbox_session,
};
