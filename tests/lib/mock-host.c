/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mock-host.h"

#define MOCK_MAX 64

struct er_watch {
	int fd;
	uint32_t events;
	er_fd_cb cb;
	void *ud;
	int active;
};

struct er_timer {
	uint64_t deadline;
	er_timer_cb cb;
	void *ud;
	int active;
};

struct er_process {
	pid_t pid;
	er_exit_cb on_exit;
	void *ud;
	int used;
	int released;
};

static struct er_watch watches[MOCK_MAX];
static struct er_timer timers[MOCK_MAX];
static struct er_process procs[MOCK_MAX];
static int session_token;

struct mock_result mock_results[MOCK_MAX_RESULTS];
int mock_nresults;

extern char **environ;

struct er_session *
mock_session(void)
{
	return (struct er_session *)&session_token;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void m_vlog(void *ctx, int level, const char *fmt, va_list ap) ER_PRINTF(3, 0);
static void m_log(void *ctx, int level, const char *fmt, ...) ER_PRINTF(3, 4);
static int m_err_set(struct er_error *err, int code, const char *fmt, ...) ER_PRINTF(3, 4);
static void
m_session_log(struct er_session *session, int level, const char *fmt, ...) ER_PRINTF(3, 4);

char mock_last_log[1024];
const char *const *mock_wrapper;
const char *mock_pre_exec;

static void
m_vlog(void *ctx, int level, const char *fmt, va_list ap)
{
	vsnprintf(mock_last_log, sizeof(mock_last_log), fmt, ap);
}

static void
m_log(void *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	m_vlog(ctx, level, fmt, ap);
	va_end(ap);
}

static void
m_session_log(struct er_session *session, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	m_vlog(NULL, level, fmt, ap);
	va_end(ap);
}

static int
m_err_set(struct er_error *err, int code, const char *fmt, ...)
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

static const char *
m_getenv(void *ctx, const char *name)
{
	if (strncasecmp(name, "ANTHROPIC_", 10) == 0)
		return NULL;
	return getenv(name);
}

static uint64_t
m_now_ms(void *ctx)
{
	return now_ms();
}

static int
m_watch_fd(void *ctx, int fd, uint32_t events, er_fd_cb cb, void *ud, struct er_watch **ret)
{
	int i;

	for (i = 0; i < MOCK_MAX; i++) {
		if (!watches[i].active) {
			watches[i] = (struct er_watch){ fd, events, cb, ud, 1 };
			*ret = &watches[i];
			return 0;
		}
	}
	return -ENOSPC;
}

static void
m_unwatch_fd(struct er_watch *w)
{
	if (w)
		w->active = 0;
}

static int
m_add_timer(void *ctx, uint64_t delay, er_timer_cb cb, void *ud, struct er_timer **ret)
{
	int i;

	for (i = 0; i < MOCK_MAX; i++) {
		if (!timers[i].active) {
			timers[i] = (struct er_timer){ now_ms() + delay, cb, ud, 1 };
			if (ret)
				*ret = &timers[i];
			return 0;
		}
	}
	return -ENOSPC;
}

static void
m_cancel_timer(struct er_timer *t)
{
	if (t)
		t->active = 0;
}

/* The environment sandbox-none gives a command: a few inherited variables
 * plus what the command asks for. */
static char **
build_env(const char *const *req)
{
	static const char *const inherit[] = { "PATH", "HOME",	 "LANG", "LC_ALL",
					       "USER", "TMPDIR", NULL };
	char **env = calloc(64, sizeof(*env));
	int n = 0;
	int i;

	if (!env)
		return NULL;
	for (i = 0; inherit[i]; i++) {
		const char *v = getenv(inherit[i]);

		if (v && n < 60 && asprintf(&env[n], "%s=%s", inherit[i], v) >= 0)
			n++;
	}
	for (i = 0; req && req[i] && n < 62; i++)
		env[n++] = strdup(req[i]);
	return env;
}

static int
m_spawn(struct er_session *session, struct er_spawn_request *req, er_exit_cb on_exit, void *ud,
	struct er_process **ret, struct er_error *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct er_process *p = NULL;
	const char *const *argv = mock_wrapper ? mock_wrapper : req->cmd.argv;
	char **env;
	pid_t pid;
	int i;

	for (i = 0; i < MOCK_MAX; i++) {
		if (!procs[i].used) {
			p = &procs[i];
			break;
		}
	}
	if (!p)
		return m_err_set(err, -EAGAIN, "too many processes");
	if (access(argv[0], X_OK) < 0)
		return m_err_set(err, -errno, "spawn %s: %s", argv[0], strerror(errno));
	if ((req->pipe_stdin && pipe2(in, O_CLOEXEC) < 0) ||
	    (req->pipe_stdout && pipe2(out, O_CLOEXEC) < 0) ||
	    (req->pipe_stderr && pipe2(errp, O_CLOEXEC) < 0))
		return m_err_set(err, -errno, "pipe: %s", strerror(errno));
	env = build_env(req->cmd.envp);
	pid = fork();
	if (pid < 0)
		return m_err_set(err, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		dup2(in[0] >= 0 ? in[0] : devnull, 0);
		dup2(out[1] >= 0 ? out[1] : devnull, 1);
		dup2(errp[1] >= 0 ? errp[1] : devnull, 2);
		/* Passed fds keep their numbers, as the runner passes them. */
		for (uint32_t k = 0; k < req->n_pass_fds; k++)
			fcntl(req->pass_fds[k], F_SETFD, 0);
		if (req->cmd.cwd && chdir(req->cmd.cwd) < 0)
			_exit(127);
		if (mock_pre_exec && system(mock_pre_exec) != 0)
			_exit(126);
		execve(argv[0], (char *const *)argv, env);
		_exit(127);
	}
	setpgid(pid, pid);
	for (i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	req->stdin_fd = in[1];
	req->stdout_fd = out[0];
	req->stderr_fd = errp[0];
	for (i = 0; i < 3; i++) {
		int fd = i == 0 ? in[1] : i == 1 ? out[0] : errp[0];

		if (fd >= 0)
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	req->pid = pid;
	*p = (struct er_process){ pid, on_exit, ud, 1, 0 };
	*ret = p;
	return 0;
}

static int
m_process_kill(struct er_process *p, int sig)
{
	return kill(-p->pid, sig) < 0 ? -errno : 0;
}

static void
m_process_release(struct er_process *p)
{
	kill(-p->pid, SIGKILL);
	p->released = 1;
}

static int
m_tool_result(struct er_session *s, const char *call_id, int32_t is_error, const char *text,
	      size_t len)
{
	struct mock_result *r;

	if (mock_nresults == MOCK_MAX_RESULTS)
		return -ENOSPC;
	r = &mock_results[mock_nresults++];
	r->call_id = strdup(call_id);
	r->is_error = is_error;
	r->text = malloc(len + 1);
	memcpy(r->text, text, len);
	r->text[len] = '\0';
	r->len = len;
	return 0;
}

static void
m_session_done(struct er_session *s, int32_t failed)
{
}

const struct er_host mock_host = {
	.struct_size = sizeof(struct er_host),
	.abi_major = ER_ABI_MAJOR,
	.abi_minor = ER_ABI_MINOR,
	.log = m_log,
	.vlog = m_vlog,
	.err_set = m_err_set,
	.getenv = m_getenv,
	.now_ms = m_now_ms,
	.watch_fd = m_watch_fd,
	.unwatch_fd = m_unwatch_fd,
	.add_timer = m_add_timer,
	.cancel_timer = m_cancel_timer,
	.spawn = m_spawn,
	.session_log = m_session_log,
	.process_kill = m_process_kill,
	.process_release = m_process_release,
	.tool_result = m_tool_result,
	.session_done = m_session_done,
};

static void
reap(void)
{
	int i;

	for (i = 0; i < MOCK_MAX; i++) {
		struct er_process *p = &procs[i];
		int status;

		if (!p->used)
			continue;
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			int released = p->released;

			p->used = 0;
			if (!released && p->on_exit)
				p->on_exit(p->ud, p, status);
		}
	}
}

static void
step(int max_wait)
{
	struct pollfd pfd[MOCK_MAX];
	int idx[MOCK_MAX];
	uint64_t now = now_ms();
	int n = 0;
	int i;
	int wait = max_wait;

	for (i = 0; i < MOCK_MAX; i++) {
		if (timers[i].active) {
			int64_t d = (int64_t)(timers[i].deadline - now);

			if (d < wait)
				wait = d < 0 ? 0 : (int)d;
		}
		if (watches[i].active) {
			pfd[n].fd = watches[i].fd;
			pfd[n].events = (short)(((watches[i].events & ER_FD_READ) ? POLLIN : 0) |
						((watches[i].events & ER_FD_WRITE) ? POLLOUT : 0));
			pfd[n].revents = 0;
			idx[n++] = i;
		}
	}
	if (wait > 10)
		wait = 10; /* child exits are polled */
	if (poll(pfd, (nfds_t)n, wait) > 0) {
		for (i = 0; i < n; i++) {
			struct er_watch *w = &watches[idx[i]];
			uint32_t ev = 0;

			if (!pfd[i].revents || !w->active || w->fd != pfd[i].fd)
				continue;
			if (pfd[i].revents & POLLIN)
				ev |= ER_FD_READ;
			if (pfd[i].revents & POLLOUT)
				ev |= ER_FD_WRITE;
			if (pfd[i].revents & POLLHUP)
				ev |= ER_FD_HUP | (w->events & ER_FD_READ);
			if (pfd[i].revents & (POLLERR | POLLNVAL))
				ev |= ER_FD_ERROR;
			w->cb(w->ud, w->fd, ev);
		}
	}
	now = now_ms();
	for (i = 0; i < MOCK_MAX; i++) {
		if (timers[i].active && timers[i].deadline <= now) {
			timers[i].active = 0;
			timers[i].cb(timers[i].ud);
		}
	}
	reap();
}

int
mock_run_until(int want, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (mock_nresults < want && now_ms() < end)
		step(10);
	return mock_nresults;
}

void
mock_run_for(int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (now_ms() < end)
		step(10);
}

int
mock_live_processes(void)
{
	int i;
	int n = 0;

	reap();
	for (i = 0; i < MOCK_MAX; i++)
		n += procs[i].used;
	return n;
}

void
mock_reset_results(void)
{
	int i;

	for (i = 0; i < mock_nresults; i++) {
		free(mock_results[i].call_id);
		free(mock_results[i].text);
	}
	mock_nresults = 0;
}
