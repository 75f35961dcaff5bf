/* SPDX-License-Identifier: MIT */
/*
 * sandbox-bubblewrap: every command of a session runs under bwrap(1), as an
 * unprivileged user, in fresh user, pid, ipc, uts, cgroup (and, unless the
 * network is "host", network) namespaces.  Aliases: srt, bwrap.
 *
 * What a sandboxed command sees and may do:
 *  - /usr, /etc and the /bin, /lib... links read-only; a private /tmp,
 *    /var/tmp, /dev and /proc (of its own pid namespace); the session's
 *    directory read-write at the same path; nothing else of the host: no
 *    /run, /var, /home, /root, no host socket.  --sandbox-read-only and
 *    --sandbox-read-write add paths, --sandbox-deny hides paths (an empty
 *    tmpfs over a directory, /dev/null over a file), and /etc/shadow,
 *    /etc/gshadow, /etc/environment-runner, the runner's key file and the
 *    other sessions' directories are always hidden.
 *  - It runs as the sandbox user (--sandbox-user, default environment-runner
 *    or nobody) when the runner is root: the runner drops supplementary
 *    groups and changes uid and gid before bwrap starts, since bwrap's own
 *    --uid only changes the id inside the namespace.  With no capabilities
 *    (--cap-drop ALL), no_new_privs (bwrap sets it), --new-session (no
 *    controlling terminal), --die-with-parent, and no nested user
 *    namespaces (--disable-userns where bwrap has it, and seccomp).
 *  - A seccomp program (sandbox-bubblewrap/seccomp.c) refuses new unix
 *    sockets, TIOCSTI/TIOCLINUX, ptrace and other kernel surface.
 *  - RLIMIT_NPROC, NOFILE, FSIZE and CORE=0 per command, and a memory cap
 *    per session through a cgroup where one is writable.
 *  - Network: none (only loopback of its own), host, or allowlist: only
 *    the listed domains, through an HTTP CONNECT proxy the runner serves
 *    (sandbox-bubblewrap/proxy.c).  The sandbox's first program, a small
 *    relay (er-sandbox-relay), listens on 127.0.0.1:3128 inside it, hands
 *    that socket to the runner over a socketpair and execs the command;
 *    HTTP_PROXY/HTTPS_PROXY point there.  Nothing in the sandbox needs a
 *    unix socket, so the seccomp program covers it whole, bwrap's pid 1
 *    included, in every network mode.
 *
 * Killing bwrap kills the sandbox's pid namespace, so nothing a session
 * started outlives the runner's kill of its process group.
 *
 * wrap() is cheap: the fixed part of the command line and the seccomp
 * program are built once in create(); each wrap copies them, opens one
 * pipe for the program, and adds the session's directory and environment.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <environment-runner/plugin.h>

#include "sandbox-bubblewrap/proxy.h"
#include "sandbox-bubblewrap/seccomp.h"
#include "sandbox-common/policy.h"

#ifndef ER_LIBEXEC_DIR
#define ER_LIBEXEC_DIR "/usr/local/libexec/environment-runner"
#endif

/* Inside the sandbox. */
#define BW_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define BW_RUN_DIR "/run/environment-runner"
#define BW_RELAY BW_RUN_DIR "/relay"
#define BW_PROXY_URL "http://127.0.0.1:3128"

struct argv_list {
	char **v;
	size_t n;
	size_t cap;
};

struct bw_state {
	const struct er_host *host;
	void *host_ctx;
	struct sb_policy pol;
	char bwrap[PATH_MAX];
	char relay[PATH_MAX];
	int has_disable_userns;
	int has_cgroup_try;
	int probed;
	struct argv_list base; /* bwrap and its fixed options */
	struct sock_filter prog[BW_SECCOMP_MAX];
	size_t prog_len;
	struct bw_proxy *proxy; /* allowlist only */
};

static const struct er_option bw_options[] = {
	{ "bubblewrap.bwrap", "PATH", "the bwrap program (default: bwrap on PATH)" },
	{ "bubblewrap.relay", "PATH",
	  "the in-sandbox proxy relay for --sandbox-network=allowlist (default: installed)" },
	{ "bubblewrap.proxy_hosts", "NAME=ADDR,...",
	  "allowlist proxy: resolve NAME to ADDR instead of DNS, loopback allowed (for tests)" },
	{ NULL, NULL, NULL },
};

static int
argv_push(struct argv_list *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n] = strdup(s);
	if (!a->v[a->n])
		return -ENOMEM;
	a->n++;
	a->v[a->n] = NULL;
	return 0;
}

static int
argv_push3(struct argv_list *a, const char *x, const char *y, const char *z)
{
	int r = argv_push(a, x);

	if (r == 0 && y)
		r = argv_push(a, y);
	if (r == 0 && z)
		r = argv_push(a, z);
	return r;
}

static void
argv_release(struct argv_list *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* Is `path` inside a tree the sandbox sees from the host? */
static int
is_visible(const struct bw_state *st, const char *path)
{
	static const char *const system[] = { "/usr",	"/etc",	  "/bin",    "/sbin", "/lib",
					      "/lib32", "/lib64", "/libx32", NULL };

	for (size_t i = 0; system[i]; i++)
		if (sb_path_under(path, system[i]))
			return 1;
	for (size_t i = 0; st->pol.ro[i]; i++)
		if (sb_path_under(path, st->pol.ro[i]))
			return 1;
	for (size_t i = 0; st->pol.rw[i]; i++)
		if (sb_path_under(path, st->pol.rw[i]))
			return 1;
	return 0;
}

/* Hide `path`: an empty tmpfs over a directory, /dev/null over a file. */
static int
push_deny(struct bw_state *st, const char *path)
{
	struct stat s;

	if (!is_visible(st, path) || lstat(path, &s) < 0)
		return 0; /* not in the sandbox anyway */
	if (S_ISDIR(s.st_mode))
		return argv_push3(&st->base, "--tmpfs", path, NULL);
	return argv_push3(&st->base, "--ro-bind", "/dev/null", path);
}

/* The fixed part of every command line. */
static int
build_base(struct bw_state *st, struct er_error *err)
{
	static const char *const top[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32", NULL };
	struct argv_list *a = &st->base;
	int r;

	r = argv_push(a, st->bwrap);
	r = r ?: argv_push3(a, "--unshare-user", "--unshare-ipc", "--unshare-pid");
	r = r ?: argv_push(a, "--unshare-uts");
	if (st->has_cgroup_try)
		r = r ?: argv_push(a, "--unshare-cgroup-try");
	if (st->pol.network != SB_NET_HOST)
		r = r ?: argv_push(a, "--unshare-net");
	if (st->has_disable_userns)
		r = r ?: argv_push(a, "--disable-userns");
	r = r ?: argv_push3(a, "--die-with-parent", "--new-session", NULL);
	r = r ?: argv_push3(a, "--cap-drop", "ALL", NULL);
	r = r ?: argv_push3(a, "--hostname", "sandbox", NULL);
	r = r ?: argv_push3(a, "--ro-bind", "/usr", "/usr");
	for (size_t i = 0; top[i] && r == 0; i++) {
		char path[64];
		char target[PATH_MAX];
		struct stat s;
		ssize_t n;

		snprintf(path, sizeof(path), "/%s", top[i]);
		if (lstat(path, &s) < 0)
			continue;
		if (S_ISLNK(s.st_mode)) {
			n = readlink(path, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			r = argv_push3(a, "--symlink", target, path);
		} else if (S_ISDIR(s.st_mode)) {
			r = argv_push3(a, "--ro-bind", path, path);
		}
	}
	r = r ?: argv_push3(a, "--ro-bind", "/etc", "/etc");
	if (st->pol.network == SB_NET_HOST) {
		/* Name resolution: resolv.conf may point into /run. */
		char real[PATH_MAX];

		if (realpath("/etc/resolv.conf", real) && !sb_path_under(real, "/etc") &&
		    !sb_path_under(real, "/usr"))
			r = r ?: argv_push3(a, "--ro-bind", real, real);
	}
	r = r ?: argv_push3(a, "--proc", "/proc", NULL);
	r = r ?: argv_push3(a, "--dev", "/dev", NULL);
	r = r ?: argv_push3(a, "--tmpfs", "/tmp", NULL);
	r = r ?: argv_push3(a, "--dir", "/var", NULL);
	r = r ?: argv_push3(a, "--tmpfs", "/var/tmp", NULL);
	for (size_t i = 0; st->pol.ro[i] && r == 0; i++)
		r = argv_push3(a, "--ro-bind-try", st->pol.ro[i], st->pol.ro[i]);
	for (size_t i = 0; st->pol.rw[i] && r == 0; i++)
		r = argv_push3(a, "--bind-try", st->pol.rw[i], st->pol.rw[i]);
	if (st->pol.network == SB_NET_ALLOWLIST) {
		r = r ?: argv_push3(a, "--dir", BW_RUN_DIR, NULL);
		r = r ?: argv_push3(a, "--ro-bind", st->relay, BW_RELAY);
	}
	/* Hidden even where a bind above shows them.  Never under the session's
	 * directory: a mount point there could be a link the session planted. */
	r = r ?: push_deny(st, "/etc/shadow");
	r = r ?: push_deny(st, "/etc/gshadow");
	r = r ?: push_deny(st, "/etc/sudoers");
	r = r ?: push_deny(st, "/etc/ssh");
	/* The runner's own configuration and keys: a runner that is not root
	 * shares its uid with the sandbox, so file modes do not protect them. */
	r = r ?: push_deny(st, "/etc/environment-runner");
	if (st->pol.key_file)
		r = r ?: push_deny(st, st->pol.key_file);
	/* Other sessions' directories, where a --sandbox-read-* path shows
	 * the base directory; wrap() binds the session's own over this. */
	if (st->pol.base_dir)
		r = r ?: push_deny(st, st->pol.base_dir);
	for (size_t i = 0; st->pol.deny[i] && r == 0; i++)
		r = push_deny(st, st->pol.deny[i]);
	if (r < 0)
		return st->host->err_set(err, r, "out of memory");
	return 0;
}

static int
bw_create(const struct er_host *host, void *host_ctx, void **ret_state, struct er_error *err)
{
	struct bw_state *st;
	const char *v;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return host->err_set(err, -ENOMEM, "out of memory");
	st->host = host;
	st->host_ctx = host_ctx;
	r = sb_policy_load(&st->pol, host, host_ctx, "bubblewrap", err);
	if (r < 0)
		goto fail;
	v = host->config_get(host_ctx, "bubblewrap.bwrap");
	if (sb_find_program(v ? v : "bwrap", st->bwrap, sizeof(st->bwrap)) < 0) {
		r = host->err_set(
			err, -ENOENT,
			"bwrap not found%s%s; fix: apt-get install bubblewrap (or dnf "
			"install bubblewrap), or pass --plugin-option bubblewrap.bwrap=PATH",
			v ? " at " : " on PATH", v ? v : "");
		goto fail;
	}
	r = bw_seccomp_build(st->prog, BW_SECCOMP_MAX, &st->prog_len);
	if (r < 0) {
		r = host->err_set(err, r, "no seccomp program for this architecture");
		goto fail;
	}
	if (st->pol.network == SB_NET_ALLOWLIST) {
		v = host->config_get(host_ctx, "bubblewrap.relay");
		snprintf(st->relay, sizeof(st->relay), "%s",
			 v ? v : ER_LIBEXEC_DIR "/er-sandbox-relay");
		if (access(st->relay, X_OK) < 0) {
			r = host->err_set(
				err, -ENOENT,
				"the proxy relay '%s' is missing; fix: reinstall, or pass "
				"--plugin-option bubblewrap.relay=PATH",
				st->relay);
			goto fail;
		}
		r = bw_proxy_new(host, host_ctx, st->pol.domains,
				 host->config_get(host_ctx, "bubblewrap.proxy_hosts"), &st->proxy,
				 err);
		if (r < 0)
			goto fail;
	}
	*ret_state = st;
	return 0;
fail:
	sb_policy_release(&st->pol);
	free(st);
	return r;
}

static void
bw_destroy(void *state)
{
	struct bw_state *st = state;

	if (!st)
		return;
	bw_proxy_free(st->proxy);
	argv_release(&st->base);
	sb_policy_release(&st->pol);
	free(st);
}

static int
has_flag(const char *help, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = strstr(help, flag); p; p = strstr(p + 1, flag)) {
		char c = p[n];

		if ((p == help || p[-1] == ' ' || p[-1] == '\n') &&
		    (c == ' ' || c == '\n' || c == '\0'))
			return 1;
	}
	return 0;
}

static int
read_sysctl(const char *path, long *ret)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*ret = strtol(buf, NULL, 10);
	return 0;
}

/* A pipe holding the seccomp program, read end returned (close-on-exec). */
static int
seccomp_fd(const struct bw_state *st)
{
	int p[2];
	size_t len = st->prog_len * sizeof(st->prog[0]);
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* Under 1 KiB: always fits the pipe's buffer. */
	n = write(p[1], st->prog, len);
	close(p[1]);
	if (n != (ssize_t)len) {
		close(p[0]);
		return -EIO;
	}
	return p[0];
}

/*
 * Usable here?  bwrap present and with every option we use (probed from
 * --help, not from its version), user namespaces allowed, and one real
 * sandbox started with the full fixed command line and the seccomp program.
 */
static int
bw_probe(void *state, struct er_error *err)
{
	static const char *const needed[] = { "--unshare-user", "--unshare-ipc",
					      "--unshare-pid",	"--unshare-uts",
					      "--unshare-net",	"--die-with-parent",
					      "--new-session",	"--cap-drop",
					      "--hostname",	"--ro-bind",
					      "--bind",		"--symlink",
					      "--proc",		"--dev",
					      "--tmpfs",	"--dir",
					      "--chdir",	"--seccomp",
					      "--sync-fd",	NULL };
	struct bw_state *st = state;
	const struct er_host *host = st->host;
	const char *help_argv[] = { st->bwrap, "--help", NULL };
	char help[16384];
	char out[2048];
	char fdnum[16];
	const char **argv;
	long v;
	int fd;
	int r;

	r = sb_run_capture(&st->pol, help_argv, -1, help, sizeof(help));
	if (r < 0 || !strstr(help, "--unshare-user"))
		return host->err_set(err, r < 0 ? r : -ENOEXEC, "cannot run '%s --help'%s%s",
				     st->bwrap, r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
	for (size_t i = 0; needed[i]; i++)
		if (!has_flag(help, needed[i]))
			return host->err_set(
				err, -ENOTSUP,
				"'%s' has no %s option; fix: install bubblewrap 0.4 or "
				"later",
				st->bwrap, needed[i]);
	st->has_disable_userns = has_flag(help, "--disable-userns");
	st->has_cgroup_try = has_flag(help, "--unshare-cgroup-try");
	if (!st->has_disable_userns)
		host->log(st->host_ctx, ER_LOG_NOTICE,
			  "'%s' has no --disable-userns (bubblewrap < 0.8): nested user namespaces "
			  "are refused by seccomp only",
			  st->bwrap);
	if (read_sysctl("/proc/sys/user/max_user_namespaces", &v) == 0 && v == 0)
		return host->err_set(err, -ENOTSUP,
				     "user namespaces are disabled (user.max_user_namespaces = 0); "
				     "fix: sysctl -w user.max_user_namespaces=15000");
	if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", &v) == 0 && v == 0)
		return host->err_set(err, -ENOTSUP,
				     "unprivileged user namespaces are disabled; fix: sysctl -w "
				     "kernel.unprivileged_userns_clone=1");
	if (read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) == 0 && v)
		host->log(st->host_ctx, ER_LOG_WARNING,
			  "AppArmor restricts unprivileged user namespaces: bwrap needs its "
			  "AppArmor profile (Ubuntu ships one with the bubblewrap package)");
	r = build_base(st, err);
	if (r < 0)
		return r;

	/* One real sandbox, as the runner's own user. */
	fd = seccomp_fd(st);
	if (fd < 0)
		return host->err_set(err, fd, "cannot pass the seccomp program");
	snprintf(fdnum, sizeof(fdnum), "%d", fd);
	argv = calloc(st->base.n + 8, sizeof(*argv));
	if (!argv) {
		close(fd);
		return host->err_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < st->base.n; i++)
		argv[i] = st->base.v[i];
	argv[st->base.n] = "--seccomp";
	argv[st->base.n + 1] = fdnum;
	argv[st->base.n + 2] = "--";
	argv[st->base.n + 3] = "/usr/bin/true";
	r = sb_run_capture(&st->pol, argv, fd, out, sizeof(out));
	free(argv);
	close(fd);
	if (r < 0 || !WIFEXITED(r) || WEXITSTATUS(r) != 0) {
		out[strcspn(out, "\n")] = '\0';
		/* bwrap is there but cannot run here: unavailable (69), not a
		 * configuration the runner could fix (78). */
		return host->err_set(err, -ENOTSUP, "a test sandbox failed: %s",
				     out[0] ? out : "bwrap exited with an error");
	}
	st->probed = 1;
	host->log(st->host_ctx, ER_LOG_INFO,
		  "bubblewrap: %s, commands run as %s, network %s, seccomp %zu instructions, "
		  "memory cap %s",
		  st->bwrap, st->pol.user,
		  st->pol.network == SB_NET_NONE   ? "none"
		  : st->pol.network == SB_NET_HOST ? "host"
						   : "allowlist",
		  st->prog_len, st->pol.cg_ok ? "by cgroup" : "none");
	return 0;
}

static int
set_env(struct bw_state *st, struct er_cmd_builder *out, const char *name, const char *value,
	struct er_error *err)
{
	int r = st->host->cmd_set_env(out, name, value);

	return r < 0 ? st->host->err_set(err, r, "cannot set %s", name) : 0;
}

static int
bw_wrap(void *state, const struct er_command *in, struct er_cmd_builder *out, struct er_error *err)
{
	struct bw_state *st = state;
	const struct er_host *host = st->host;
	const char *workdir = in->workdir ? in->workdir : in->cwd;
	char fdnum[16];
	int fd;
	int r = 0;

	if (!in->argv || !in->argv[0])
		return host->err_set(err, -EINVAL, "empty command");
	if (!st->probed)
		return host->err_set(err, -EAGAIN, "the backend was not probed");
	if (!workdir || workdir[0] != '/')
		return host->err_set(err, -EINVAL, "the command has no absolute working directory");
	r = sb_check_reachable(&st->pol, workdir, err);
	if (r < 0)
		return r;

	for (size_t i = 0; i < st->base.n && r == 0; i++)
		r = host->cmd_push_arg(out, st->base.v[i]);
	/* The session's directory, read-write at the same path. */
	r = r ?: host->cmd_push_arg(out, "--bind");
	r = r ?: host->cmd_push_arg(out, workdir);
	r = r ?: host->cmd_push_arg(out, workdir);
	r = r ?: host->cmd_push_arg(out, "--chdir");
	r = r ?: host->cmd_push_arg(out, in->cwd ? in->cwd : workdir);
	if (r < 0)
		return host->err_set(err, r, "cannot build the command");

	/* bwrap passes its environment on: exactly what is set here (and the
	 * runner's tracking id), nothing of the runner's own. */
	r = set_env(st, out, "PATH", BW_PATH, err);
	r = r ?: set_env(st, out, "HOME", "/tmp", err);
	if (r == 0 && st->pol.drop_ids) {
		r = set_env(st, out, "USER", st->pol.user, err);
		r = r ?: set_env(st, out, "LOGNAME", st->pol.user, err);
	}
	for (size_t i = 0; st->pol.inherited_env[i] && r == 0; i++) {
		const char *v = host->getenv(st->host_ctx, st->pol.inherited_env[i]);

		if (v)
			r = set_env(st, out, st->pol.inherited_env[i], v, err);
	}
	if (r == 0 && st->pol.network == SB_NET_ALLOWLIST) {
		static const char *const proxy_vars[] = { "HTTP_PROXY", "HTTPS_PROXY",
							  "http_proxy", "https_proxy",
							  "ALL_PROXY",	"all_proxy",
							  NULL };

		for (size_t i = 0; proxy_vars[i] && r == 0; i++)
			r = set_env(st, out, proxy_vars[i], BW_PROXY_URL, err);
		r = r ?: set_env(st, out, "NO_PROXY", "localhost,127.0.0.1,::1", err);
		r = r ?: set_env(st, out, "no_proxy", "localhost,127.0.0.1,::1", err);
	}
	for (size_t i = 0; in->envp && in->envp[i] && r == 0; i++)
		r = sb_set_env_pair(host, out, in->envp[i], err);
	if (r < 0)
		return r;

	r = sb_policy_apply(&st->pol, out, err);
	if (r < 0)
		return r;

	fd = seccomp_fd(st);
	if (fd < 0)
		return host->err_set(err, fd, "cannot pass the seccomp program");
	snprintf(fdnum, sizeof(fdnum), "%d", fd);
	r = host->cmd_pass_fd(out, fd); /* the builder owns fd from here */
	r = r ?: host->cmd_push_arg(out, "--seccomp");
	r = r ?: host->cmd_push_arg(out, fdnum);
	if (r == 0 && st->pol.network == SB_NET_ALLOWLIST) {
		/* The relay hands its listener to the proxy over the channel,
		 * closes it and execs the command; bwrap's pid 1 keeps a copy
		 * (--sync-fd) for as long as the sandbox lives, so the proxy
		 * sees the channel's end when the sandbox's. */
		char syncnum[16];
		int sync_fd;

		fd = bw_proxy_channel(st->proxy, in->session_id);
		if (fd < 0)
			return host->err_set(err, fd, "cannot open a channel to the proxy");
		sync_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (sync_fd < 0) {
			r = -errno;
			close(fd);
			return host->err_set(err, r, "cannot open a channel to the proxy");
		}
		snprintf(fdnum, sizeof(fdnum), "%d", fd);
		snprintf(syncnum, sizeof(syncnum), "%d", sync_fd);
		r = host->cmd_pass_fd(out, sync_fd);
		r = host->cmd_pass_fd(out, fd) ?: r;
		r = r ?: host->cmd_push_arg(out, "--sync-fd");
		r = r ?: host->cmd_push_arg(out, syncnum);
		r = r ?: host->cmd_push_arg(out, "--");
		r = r ?: host->cmd_push_arg(out, BW_RELAY);
		r = r ?: host->cmd_push_arg(out, fdnum);
	}
	r = r ?: host->cmd_push_arg(out, "--");
	for (size_t i = 0; in->argv[i] && r == 0; i++)
		r = host->cmd_push_arg(out, in->argv[i]);
	if (r < 0)
		return host->err_set(err, r, "cannot build the command");
	return host->cmd_set_cwd(out, workdir);
}

/* The policy's per-session state: the session's memory cgroup. */
static int
bw_session_start(void *state, const struct er_sandbox_session *session, void **ret_sess,
		 struct er_error *err)
{
	struct bw_state *st = state;

	return sb_policy_session_start(&st->pol, session, ret_sess, err);
}

static void
bw_session_end(void *state, void *sess)
{
	struct bw_state *st = state;

	sb_policy_session_end(&st->pol, sess);
}

static const struct er_sandbox_ops bw_ops = {
	.struct_size = sizeof(struct er_sandbox_ops),
	.probe = bw_probe,
	.wrap = bw_wrap,
	.session_start = bw_session_start,
	.session_end = bw_session_end,
};

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "1.0"
#endif
/* Needs the sandbox settings of ABI 1.2. */
ER_PLUGIN_DEFINE_FULL(
	ER_KIND_SANDBOX, "bubblewrap", PACKAGE_VERSION,
	"bwrap namespaces, an unprivileged user, seccomp and rlimits; network none, host or "
	"an allow-list",
	bw_options, 2, 0, bw_create, bw_destroy, &bw_ops);
