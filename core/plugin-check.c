/* SPDX-License-Identifier: MIT */
/*
 * `environment-runner plugin-check FILE`: a plugin through the checks of its
 * contract (environment-runner-plugin(7)), as its author runs it before
 * publishing and CI runs it on every shipped plugin.
 *
 * The loader's own checks come first (descriptor, ABI, name, flags), then
 * the options table, create() with the runner's real host table and the
 * configuration of the command line, and for a sandbox probe() and commands
 * wrapped and run as a session's are: one that must work (it runs in the
 * session's directory, gets its own environment, may write there), then
 * the escape probes.  The probes are a report of what the backend blocks,
 * not a verdict: `none` blocks nothing, by design.
 *
 * Output is TAP; the exit status is 0 when every contract check passed, 1
 * otherwise, 64 for a file that names no plugin kind.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"
#include "loader.h"
#include "plugin-check.h"
#include "rand.h"
#include "runtime.h"
#include "process.h"

#define CHECK_TIMEOUT_MS 20000

struct checker {
	int n;
	int failed;
};

static void __attribute__((format(printf, 3, 4)))
check(struct checker *c, int passed, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", passed ? "ok" : "not ok", ++c->n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!passed)
		c->failed = 1;
}

/* ---- descriptor and options ---------------------------------------------- */

struct option_scan {
	const char *name;
	size_t name_len;
	int count;
	int bad;
	char first_bad[160];
	const struct er_option *seen[256];
};

static void
scan_option(void *userdata, const struct er_option *opt)
{
	struct option_scan *o = userdata;
	const char *why = NULL;

	if (strncmp(opt->name, o->name, o->name_len) != 0 || opt->name[o->name_len] != '.' ||
	    !opt->name[o->name_len + 1])
		why = "is not NAME.KEY with the plugin's name";
	else if (!opt->help || !*opt->help)
		why = "has no help line";
	for (int i = 0; !why && i < o->count; i++)
		if (strcmp(o->seen[i]->name, opt->name) == 0)
			why = "is declared twice";
	if (why && !o->bad++)
		snprintf(o->first_bad, sizeof(o->first_bad), "'%.80s' %s", opt->name, why);
	if (o->count < 256)
		o->seen[o->count] = opt;
	o->count++;
}

static void
check_descriptor(struct checker *c, const struct plugin *p)
{
	struct option_scan o;

	check(c, 1, "descriptor: %s '%s' %s, built for plugin ABI %u.%u (needs %u.%u)",
	      loader_kind_to_string(p->kind), p->desc.name, p->desc.version ? p->desc.version : "",
	      (unsigned)p->desc.abi_major, (unsigned)p->desc.abi_minor, (unsigned)p->desc.abi_major,
	      (unsigned)p->desc.min_host_minor);
	check(c, p->desc.version && *p->desc.version, "descriptor: a version");
	check(c, p->desc.description && *p->desc.description, "descriptor: a one-line description");
	memset(&o, 0, sizeof(o));
	o.name = p->desc.name;
	o.name_len = strlen(p->desc.name);
	loader_for_each_option(p, scan_option, &o);
	if (o.bad)
		check(c, 0, "options: %s", o.first_bad);
	else
		check(c, 1, "options: %d, each NAME.KEY with a help line", o.count);
}

static void
check_executor(struct checker *c, const struct plugin *p)
{
	const struct er_executor_ops *x = &p->ops.executor;

	check(c, x->session_start != NULL, "executor: session_start");
	check(c, x->session_free != NULL, "executor: session_free");
	if (x->flags & ER_EXECUTOR_TOOL_CALLS)
		check(c, x->tool_call || x->tool_call_err,
		      "executor: tool calls routed to it are served (tool_call or tool_call_err)");
	if (x->flags & ER_EXECUTOR_EVENTS)
		check(c, x->session_event != NULL, "executor: EVENTS with session_event");
	if (x->flags & ER_EXECUTOR_HISTORY)
		check(c, x->session_history != NULL, "executor: HISTORY with session_history");
	check(c, !(x->flags & ER_EXECUTOR_NO_STREAM) || !(x->flags & ER_EXECUTOR_TOOL_CALLS),
	      "executor: flags 0x%x consistent (no tool calls without a stream)",
	      (unsigned)x->flags);
	printf("# the executor's sessions are not served here: run a session against a "
	       "control plane\n");
}

/* ---- a sandbox's commands ----------------------------------------------- */

struct sandbox_run {
	struct runtime *rt;
	char dir[PATH_MAX - 64];     /* scratch, removed at the end */
	char workdir[PATH_MAX];	     /* the session's directory */
	char outside[PATH_MAX];	     /* a directory of the runner's beside it */
	char private_file[PATH_MAX]; /* mode 0600, holds the nonce */
	char nonce[40];
	int listener;
	int port;
	struct loop_watch *accept_watch;
	void *sess; /* the backend's session state (ABI 1.2 session_start) */
	int sess_started;
};

/* Run `script` with /bin/sh -c in the sandbox; its output in `out`. */
static int
run_in_sandbox(struct sandbox_run *sr, const char *script, int *status, char *out, size_t outlen,
	       struct er_error *err)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	const char *envp[] = { "ER_CHECK_VAR=passed", NULL };
	struct er_command cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.struct_size = sizeof(cmd);
	cmd.argv = argv;
	cmd.envp = envp;
	cmd.cwd = sr->workdir;
	cmd.workdir = sr->workdir;
	cmd.session_id = "sesn_plugin_check";

	memset(err, 0, sizeof(*err));
	return host_run_wrapped(sr->rt, &cmd, sr->sess, CHECK_TIMEOUT_MS, status, out, outlen, err);
}

static int
exited_0(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* 0 when the wrapped commands run at all. */
static int
check_command(struct checker *c, struct sandbox_run *sr)
{
	char out[4096];
	char want[PATH_MAX + 64];
	char path[PATH_MAX + 16];
	struct er_error err;
	struct stat st;
	int status = -1;
	int r;

	r = run_in_sandbox(sr, "echo start; echo \"$ER_CHECK_VAR\"; echo made > made-here; pwd",
			   &status, out, sizeof(out), &err);
	if (r < 0) {
		check(c, 0, "a wrapped command runs: %s", err.msg);
		return -1;
	}
	check(c, exited_0(status) && strncmp(out, "start\n", 6) == 0,
	      "a wrapped command runs and exits 0 (status 0x%x)", (unsigned)status);
	if (!exited_0(status))
		printf("# its output: %.300s\n", out);
	check(c, strstr(out, "\npassed\n") != NULL, "it gets the environment its command asks for");
	snprintf(want, sizeof(want), "\n%s\n", sr->workdir);
	check(c, strstr(out, want) != NULL, "it runs in the session's directory");
	snprintf(path, sizeof(path), "%s/made-here", sr->workdir);
	check(c, stat(path, &st) == 0, "it may write in the session's directory");
	r = run_in_sandbox(sr, "exit 7", &status, out, sizeof(out), &err);
	check(c, r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 7,
	      "its exit status reaches the runner (exit 7)");
	return 0;
}

static void
accept_probe(void *userdata, int fd, uint32_t revents)
{
	struct sandbox_run *sr = userdata;
	int conn = accept(fd, NULL, NULL);

	if (conn >= 0) {
		/* A short banner on a fresh socket: the write cannot block. */
		(void)!write(conn, sr->nonce, strlen(sr->nonce));
		close(conn);
	}
}

static int
listen_loopback(struct sandbox_run *sr)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	sr->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sr->listener < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(sr->listener, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(sr->listener, 4) < 0 ||
	    getsockname(sr->listener, (struct sockaddr *)&a, &len) < 0)
		return -errno;
	sr->port = ntohs(a.sin_port);
	return loop_watch_fd(sr->rt->loop, sr->listener, LOOP_READ, accept_probe, sr,
			     &sr->accept_watch);
}

/* One escape probe: the command tries; `escaped` judges on the host.  The
 * script gets "$1" a file private to the runner's user, "$2" a directory of
 * the runner's outside the session's, "$3" a loopback TCP port that answers
 * with the nonce, "$4" the runner's pid, "$5" the service key file. */
struct probe {
	const char *what;
	const char *script;
	int (*escaped)(struct sandbox_run *sr, int status, const char *out);
};

static int
printed_nonce(struct sandbox_run *sr, int status, const char *out)
{
	return strstr(out, sr->nonce) != NULL;
}

static int
wrote_outside(struct sandbox_run *sr, int status, const char *out)
{
	char path[PATH_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/escaped", sr->outside);
	return stat(path, &st) == 0;
}

static int
succeeded(struct sandbox_run *sr, int status, const char *out)
{
	return exited_0(status);
}

static const struct probe probes[] = {
	{ "read a file private to the runner's user", "cat \"$1\"", printed_nonce },
	{ "read the service key file", "cat \"$5\"", printed_nonce },
	{ "write outside the session's directory", "echo x > \"$2/escaped\"", wrote_outside },
	{ "reach a TCP port of the host's loopback",
	  "exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 && cat <&3' \"$3\"", printed_nonce },
	{ "signal the runner", "kill -0 \"$4\"", succeeded },
	{ "see a credential of the runner's environment", "env", printed_nonce },
};

static void
report_escapes(struct sandbox_run *sr)
{
	size_t n = sizeof(probes) / sizeof(probes[0]);
	size_t blocked = 0;

	printf("# escape probes (a report of what this backend blocks, not a verdict):\n");
	for (size_t i = 0; i < n; i++) {
		char script[PATH_MAX * 4];
		char out[8192];
		struct er_error err;
		int status = -1;
		int escaped;

		snprintf(script, sizeof(script), "set -- '%s' '%s' '%d' '%d' '%s'; %s",
			 sr->private_file, sr->outside, sr->port, (int)getpid(),
			 sr->rt->settings->service_key_file, probes[i].script);
		if (run_in_sandbox(sr, script, &status, out, sizeof(out), &err) < 0) {
			printf("#   blocked      %s (the command did not run: %s)\n",
			       probes[i].what, err.msg);
			blocked++;
			continue;
		}
		escaped = probes[i].escaped(sr, status, out);
		printf("#   %-12s %s\n", escaped ? "NOT blocked" : "blocked", probes[i].what);
		blocked += !escaped;
	}
	printf("# %zu of %zu probes blocked\n", blocked, n);
}

static int
make_scratch(struct sandbox_run *sr, struct settings *s)
{
	const char *tmp = settings_getenv("TMPDIR");
	char path[PATH_MAX + 32];
	unsigned char rnd[16];
	int fd;

	snprintf(sr->dir, sizeof(sr->dir), "%s/er-plugin-check.XXXXXX", tmp ? tmp : "/tmp");
	/* Searchable, as a --base-dir must be for a sandbox's user. */
	if (!mkdtemp(sr->dir) || chmod(sr->dir, 0711) < 0 || rand_bytes(rnd, sizeof(rnd)) < 0)
		return -errno;
	snprintf(sr->nonce, sizeof(sr->nonce), "er-check-");
	for (size_t i = 0; i < 8; i++)
		snprintf(sr->nonce + 9 + 2 * i, 3, "%02x", rnd[i]);
	snprintf(sr->workdir, sizeof(sr->workdir), "%s/session", sr->dir);
	snprintf(sr->outside, sizeof(sr->outside), "%s/outside", sr->dir);
	snprintf(sr->private_file, sizeof(sr->private_file), "%s/private", sr->dir);
	if (mkdir(sr->workdir, 0700) < 0 || mkdir(sr->outside, 0700) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", sr->dir, i ? "service-key" : "private");
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, sr->nonce, strlen(sr->nonce)) < 0) {
			if (fd >= 0)
				close(fd);
			return -errno;
		}
		close(fd);
	}
	/* What a sandbox must hide, as in service. */
	free(s->service_key_file);
	s->service_key_file = strdup(path);
	if (!s->service_key_file)
		return -ENOMEM;
	/* A credential in the runner's environment must not reach a command. */
	setenv("ANTHROPIC_API_KEY", sr->nonce, 1);
	return 0;
}

static void
remove_scratch(const struct sandbox_run *sr)
{
	static const char *const names[] = {
		"session/made-here", "outside/escaped", "private", "service-key",
		"session",	     "outside",		""
	};
	char path[PATH_MAX + 32];

	if (!sr->dir[0])
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", sr->dir, names[i]);
		if (remove(path) < 0 && errno == ENOTEMPTY)
			fprintf(stderr, "# left behind: %s\n", path);
	}
}

/* ---- the whole check ----------------------------------------------------- */

static uint32_t
kind_of_file(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strncmp(base, "sandbox-", 8) == 0)
		return ER_KIND_SANDBOX;
	if (strncmp(base, "executor-", 9) == 0)
		return ER_KIND_EXECUTOR;
	return 0;
}

int
plugin_check(struct settings *s, const char *file)
{
	struct checker c = { 0, 0 };
	struct runtime rt;
	struct host_plugin hp;
	struct sandbox_run sr;
	struct plugin *p = NULL;
	char err[LOADER_ERR_MAX];
	uint32_t kind = kind_of_file(file);
	int r;

	if (!kind) {
		fprintf(stderr,
			"environment-runner: plugin-check: '%s' is not named sandbox-NAME.so or "
			"executor-NAME.so; fix: give the plugin's file\n",
			file);
		return EX_USAGE;
	}
	memset(&rt, 0, sizeof(rt));
	memset(&sr, 0, sizeof(sr));
	sr.listener = -1;
	sr.rt = &rt;
	rt.settings = s;
	r = loader_open_path(file, kind, &p, err, sizeof(err));
	check(&c, r == 0, "the loader accepts it%s%s", r ? ": " : "", r ? err : "");
	if (r < 0)
		goto out;
	check_descriptor(&c, p);
	if (kind == ER_KIND_SANDBOX) {
		r = make_scratch(&sr, s);
		if (r < 0) {
			check(&c, 0, "a scratch directory: %s", strerror(-r));
			goto out;
		}
	}
	rt.loop = loop_new(NULL);
	rt.spawner = rt.loop ? spawner_new(rt.loop) : NULL;
	if (!rt.spawner) {
		check(&c, 0, "the event loop: out of memory");
		goto out;
	}
	hp.rt = &rt;
	hp.name = p->desc.name;
	r = plugin_create(p, &host_services, &hp, err, sizeof(err));
	check(&c, r == 0, "create() with this configuration%s%s (exit status %d)", r ? ": " : "",
	      r ? err : "", loader_exit_code(r));
	if (r < 0)
		goto out;
	if (kind == ER_KIND_EXECUTOR) {
		check_executor(&c, p);
		goto out;
	}
	r = plugin_probe(p, err, sizeof(err));
	check(&c, r == 0, "probe(): usable here%s%s (exit status %d)", r ? ": " : "", r ? err : "",
	      loader_exit_code(r));
	if (r < 0)
		goto out;
	rt.sandbox = p;
	/* As the runner does for a session: the sandbox's user owns it. */
	if (rt.sandbox_fs.active && chown(sr.workdir, rt.sandbox_fs.uid, rt.sandbox_fs.gid) < 0)
		printf("# cannot give the session's directory to the sandbox's user: %s\n",
		       strerror(errno));
	if (p->ops.sandbox.session_start) {
		struct er_sandbox_session info = { sizeof(info), "sesn_plugin_check",
						   "work_plugin_check", sr.workdir };
		struct er_error e;

		memset(&e, 0, sizeof(e));
		r = p->ops.sandbox.session_start(p->state, &info, &sr.sess, &e);
		check(&c, r == 0, "session_start()%s%s", r ? ": " : "", r ? e.msg : "");
		if (r < 0)
			goto out;
		sr.sess_started = 1;
	}
	if (check_command(&c, &sr) < 0)
		goto out;
	if (listen_loopback(&sr) < 0)
		printf("# no loopback listener: the TCP probe reaches nothing\n");
	report_escapes(&sr);
out:
	if (sr.sess_started) {
		if (p->ops.sandbox.session_end)
			p->ops.sandbox.session_end(p->state, sr.sess);
		check(&c, 1, "session_end()%s",
		      p->ops.sandbox.session_end ? "" : ": none, nothing to release");
	}
	if (sr.accept_watch)
		loop_unwatch(sr.accept_watch);
	if (sr.listener >= 0)
		close(sr.listener);
	plugin_close(p);
	if (rt.spawner)
		spawner_free(rt.spawner);
	if (rt.loop)
		loop_free(rt.loop);
	remove_scratch(&sr);
	printf("1..%d\n", c.n);
	return c.failed ? 1 : 0;
}
