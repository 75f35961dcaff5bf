/* SPDX-License-Identifier: MIT */
/*
 * sandbox-landlock: every command of a session runs confined by Landlock
 * (Linux 5.19 and later), which needs no privilege, no namespace and no
 * setuid helper: it works where bubblewrap cannot, in a container or pod
 * whose seccomp profile refuses user namespaces, under AppArmor's
 * user-namespace restriction or systemd's RestrictNamespaces=.
 *
 * The runner applies the ids, rlimits and memory cgroup (sandbox-common,
 * as for bubblewrap), then execs er-sandbox-landlock (sandbox-landlock/
 * confine.c), which confines itself and execs the command:
 *  - no_new_privs;
 *  - a Landlock ruleset: read and execute /usr, /etc and the /bin, /lib...
 *    links, /proc and --sandbox-read-only paths; read and write the null,
 *    zero, full, random and terminal devices; every right in the session's
 *    directory, in its temporary directory beside it ("<dir>.tmp", where
 *    TMPDIR and HOME point; removed with the session's directory; inside a
 *    fixed --workdir whose directory the runner may not write) and in
 *    --sandbox-read-write paths; nothing else: no /home, /root, /tmp, /run,
 *    /var, no other session.  /etc/shadow, /etc/gshadow, /etc/sudoers,
 *    /etc/ssh, /etc/environment-runner, the runner's key file and
 *    --sandbox-deny paths stay out even inside a granted tree (the
 *    directories holding them can no longer be listed, their other
 *    entries still read);
 *  - signals and abstract unix sockets scoped to the command (ABI 6), so
 *    it can signal neither the runner nor another session;
 *  - the seccomp program bubblewrap loads (sandbox-bubblewrap/seccomp.c:
 *    unix sockets, TIOCSTI, ptrace, namespaces...), and one of its own:
 *    setsid and setpgid refused, so every process stays in the group the
 *    runner kills; with --sandbox-network=none, every socket but a unix
 *    one (itself refused) fails and Landlock refuses TCP (ABI 4).
 *
 * What it does not do, where bubblewrap does: hide other processes
 * (without a pid namespace, /proc lists the host's processes and their
 * command lines; their memory, environment and files stay out of reach,
 * as Landlock refuses ptrace-like access outside the sandbox), give a
 * private /tmp (the session's TMPDIR instead), or an allow-list network
 * (refused at start: it needs bubblewrap's network namespace).
 *
 * wrap() is cheap: the fixed options are built once in probe(); each wrap
 * copies them, opens one pipe for the seccomp program and adds the
 * session's directory.  The helper does the file-system work in the child.
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

#include "sandbox-bubblewrap/seccomp.h"
#include "sandbox-common/policy.h"
#include "sandbox-landlock/landlock.h"

#ifndef ER_LIBEXEC_DIR
#define ER_LIBEXEC_DIR "/usr/local/libexec/environment-runner"
#endif

#define LL_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define LL_MAX_ARGS 160
/* A session's TMPDIR sits beside its directory, outside what the agent's
 * tools list: core/sessiondir.h's SESSIONDIR_TMP_SUFFIX. */
#define LL_TMP_SUFFIX ".tmp"
#define LL_TMP_INSIDE ".tmp"

struct ll_state {
	const struct er_host *host;
	void *host_ctx;
	struct sb_policy pol;
	char helper[PATH_MAX];
	int abi;
	int max_abi; /* landlock.abi, 0 for the kernel's */
	int probed;
	struct sock_filter prog[BW_SECCOMP_MAX];
	size_t prog_len;
	/* The helper and its fixed options, built once. */
	char *args[LL_MAX_ARGS];
	size_t n_args;
};

static const struct er_option ll_options[] = {
	{ "landlock.helper", "PATH",
	  "the program that confines each command (default: the installed er-sandbox-landlock)" },
	{ "landlock.abi", "N",
	  "use Landlock ABI N at most, as an older kernel would (default: the kernel's best)" },
	{ NULL, NULL, NULL },
};

static int
add(struct ll_state *st, const char *opt, const char *v)
{
	const char *const both[] = { opt, v };

	for (size_t i = 0; i < 2 && both[i]; i++) {
		if (st->n_args + 1 >= LL_MAX_ARGS)
			return -E2BIG;
		st->args[st->n_args] = strdup(both[i]);
		if (!st->args[st->n_args])
			return -ENOMEM;
		st->n_args++;
	}
	return 0;
}

/* The fixed part of every command line (bubblewrap's file-system policy). */
static int
build_args(struct ll_state *st)
{
	static const char *const system[] = { "/usr",	"/etc",	  "/bin",    "/sbin", "/lib",
					      "/lib32", "/lib64", "/libx32", "/proc", NULL };
	static const char *const devices[] = { "/dev/null",   "/dev/zero",    "/dev/full",
					       "/dev/random", "/dev/urandom", "/dev/tty",
					       "/dev/ptmx",   "/dev/pts",     NULL };
	static const char *const hidden[] = { "/etc/shadow",
					      "/etc/gshadow",
					      "/etc/sudoers",
					      "/etc/ssh",
					      "/etc/environment-runner",
					      NULL };
	const struct sb_policy *p = &st->pol;
	int r = add(st, st->helper, NULL);

	for (size_t i = 0; system[i] && r == 0; i++)
		if (access(system[i], F_OK) == 0)
			r = add(st, "--ro", system[i]);
	if (r == 0 && p->network == SB_NET_HOST) {
		/* Name resolution: resolv.conf may point into /run. */
		char real[PATH_MAX];

		if (realpath("/etc/resolv.conf", real) && !sb_path_under(real, "/etc") &&
		    !sb_path_under(real, "/usr"))
			r = add(st, "--ro", real);
	}
	for (size_t i = 0; p->ro[i] && r == 0; i++)
		r = add(st, "--ro", p->ro[i]);
	for (size_t i = 0; p->rw[i] && r == 0; i++)
		r = add(st, "--rw", p->rw[i]);
	for (size_t i = 0; devices[i] && r == 0; i++)
		r = add(st, "--dev", devices[i]);
	for (size_t i = 0; hidden[i] && r == 0; i++)
		r = add(st, "--deny", hidden[i]);
	if (r == 0 && p->key_file)
		r = add(st, "--deny", p->key_file);
	for (size_t i = 0; p->deny[i] && r == 0; i++)
		r = add(st, "--deny", p->deny[i]);
	if (r == 0 && st->max_abi) {
		char n[16];

		snprintf(n, sizeof(n), "%d", st->abi);
		r = add(st, "--abi", n);
	}
	return r ?: add(st, "--net", p->network == SB_NET_HOST ? "host" : "none");
}

static int
ll_create(const struct er_host *host, void *host_ctx, void **ret_state, struct er_error *err)
{
	struct ll_state *st;
	const char *v;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return host->err_set(err, -ENOMEM, "out of memory");
	st->host = host;
	st->host_ctx = host_ctx;
	r = sb_policy_load(&st->pol, host, host_ctx, "landlock", err);
	if (r < 0)
		goto fail;
	if (st->pol.network == SB_NET_ALLOWLIST) {
		r = host->err_set(
			err, -ENOTSUP,
			"--sandbox-network=allowlist needs a network namespace, which "
			"landlock does not make; fix: use --sandbox-backend=bubblewrap for "
			"an allow-list, or --sandbox-network=none or host");
		goto fail;
	}
	v = host->config_get(host_ctx, "landlock.abi");
	if (v) {
		char *end;
		long n = strtol(v, &end, 10);

		if (end == v || *end || n < LL_MIN_ABI || n > 64) {
			r = host->err_set(err, -EINVAL,
					  "invalid landlock.abi '%s'; fix: give a number from %d",
					  v, LL_MIN_ABI);
			goto fail;
		}
		st->max_abi = (int)n;
	}
	v = host->config_get(host_ctx, "landlock.helper");
	snprintf(st->helper, sizeof(st->helper), "%s",
		 v ? v : ER_LIBEXEC_DIR "/er-sandbox-landlock");
	r = bw_seccomp_build(st->prog, BW_SECCOMP_MAX, &st->prog_len);
	if (r < 0) {
		r = host->err_set(err, r, "no seccomp program for this architecture");
		goto fail;
	}
	*ret_state = st;
	return 0;
fail:
	sb_policy_release(&st->pol);
	free(st);
	return r;
}

/* The session's temporary directory, made for the sandbox's user on its
 * first command: 0 or -errno.  The runner removes the one beside a
 * session's directory with it (core/sessiondir.h). */
static int
make_tmp_dir(const struct ll_state *st, const char *path)
{
	int made = mkdir(path, 0700) == 0;
	struct stat sb;
	int fd;
	int r = 0;

	if (!made && errno != EEXIST)
		return -errno;
	/* Never through a link planted in its place. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0)
		r = -errno;
	else if (made && st->pol.drop_ids && fchown(fd, st->pol.uid, st->pol.gid) < 0)
		r = -errno;
	else if (!made && sb.st_uid != st->pol.uid)
		r = -EPERM;
	if (fd >= 0)
		close(fd);
	if (r < 0 && made)
		rmdir(path);
	return r;
}

/*
 * TMPDIR: "<workdir>.tmp" beside it, out of the agent's listings; where the
 * runner may not write there (a fixed --workdir in a directory that is not
 * its own), "<workdir>/.tmp", inside the tree the command may write anyway.
 */
static int
session_tmp_dir(struct ll_state *st, const char *workdir, char *out, size_t len,
		struct er_error *err)
{
	int r;

	if ((size_t)snprintf(out, len, "%s" LL_TMP_SUFFIX, workdir) >= len)
		return st->host->err_set(err, -ENAMETOOLONG, "the working directory is too long");
	r = make_tmp_dir(st, out);
	if (r == -EACCES || r == -EPERM || r == -EROFS) {
		if ((size_t)snprintf(out, len, "%s/" LL_TMP_INSIDE, workdir) >= len)
			return st->host->err_set(err, -ENAMETOOLONG,
						 "the working directory is too long");
		r = make_tmp_dir(st, out);
	}
	if (r < 0)
		return st->host->err_set(err, r, "cannot make the temporary directory '%s': %s",
					 out, strerror(-r));
	return 0;
}

static void
ll_destroy(void *state)
{
	struct ll_state *st = state;

	if (!st)
		return;
	for (size_t i = 0; i < st->n_args; i++)
		free(st->args[i]);
	sb_policy_release(&st->pol);
	free(st);
}

/* A pipe holding the seccomp program, read end returned (close-on-exec). */
static int
seccomp_fd(const struct ll_state *st)
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

/* The protections this ABI adds to the file-system rules, for the log. */
static const char *
abi_features(int abi)
{
	if (abi >= 6)
		return "file system, TCP, signals and abstract unix sockets scoped";
	if (abi >= 4)
		return "file system and TCP; signals not scoped (ABI 6, Linux 6.12)";
	return "file system only; signals not scoped (ABI 6, Linux 6.12), TCP by seccomp only";
}

/*
 * Usable here?  Landlock enabled with ABI 2 or later, the helper present,
 * and one real command confined with the full fixed options and the
 * seccomp program.
 */
static int
ll_probe(void *state, struct er_error *err)
{
	struct ll_state *st = state;
	const struct er_host *host = st->host;
	const char *argv[LL_MAX_ARGS + 8];
	char fdnum[16];
	char out[1024];
	size_t n = 0;
	int fd;
	int r;

	st->abi = ll_abi();
	if (st->abi == -ENOSYS)
		return host->err_set(err, -ENOTSUP,
				     "this kernel has no Landlock; fix: Linux 5.19 or later with "
				     "CONFIG_SECURITY_LANDLOCK");
	if (st->abi == -EOPNOTSUPP)
		return host->err_set(err, -ENOTSUP,
				     "Landlock is built into this kernel but not enabled; fix: add "
				     "landlock to the lsm= boot parameter");
	if (st->abi < 0)
		return host->err_set(err, st->abi, "cannot query Landlock: %s", strerror(-st->abi));
	if (st->max_abi && st->abi > st->max_abi)
		st->abi = st->max_abi;
	if (st->abi < LL_MIN_ABI)
		return host->err_set(err, -ENOTSUP,
				     "Landlock ABI %d is too old (renames across directories are "
				     "refused); fix: Linux 5.19 or later",
				     st->abi);
	if (access(st->helper, X_OK) < 0)
		return host->err_set(err, -ENOENT,
				     "the helper '%s' is missing; fix: reinstall, or pass "
				     "--plugin-option landlock.helper=PATH",
				     st->helper);
	r = build_args(st);
	if (r < 0)
		return host->err_set(err, r, "cannot build the command line");

	fd = seccomp_fd(st);
	if (fd < 0)
		return host->err_set(err, fd, "cannot pass the seccomp program");
	snprintf(fdnum, sizeof(fdnum), "%d", fd);
	for (size_t i = 0; i < st->n_args; i++)
		argv[n++] = st->args[i];
	argv[n++] = "--seccomp";
	argv[n++] = fdnum;
	argv[n++] = "--";
	argv[n++] = "/usr/bin/true";
	argv[n] = NULL;
	r = sb_run_capture(&st->pol, argv, fd, out, sizeof(out));
	close(fd);
	if (r < 0 || !WIFEXITED(r) || WEXITSTATUS(r) != 0) {
		out[strcspn(out, "\n")] = '\0';
		return host->err_set(err, -ENOTSUP, "a test command failed: %s",
				     out[0] ? out : "the helper exited with an error");
	}
	st->probed = 1;
	host->log(st->host_ctx, ER_LOG_INFO,
		  "landlock: ABI %d (%s), no_new_privs, seccomp %zu instructions, commands run as "
		  "%s, network %s, memory cap %s",
		  st->abi, abi_features(st->abi), st->prog_len, st->pol.user,
		  st->pol.network == SB_NET_HOST ? "host" : "none (no sockets but unix pairs)",
		  st->pol.cg_ok ? "by cgroup" : "none");
	if (st->abi < 6 && !st->pol.drop_ids)
		host->log(st->host_ctx, ER_LOG_WARNING,
			  "landlock: this kernel's Landlock cannot scope signals: a command can "
			  "signal the runner, which shares its user; fix: Linux 6.12 or later, or "
			  "run the runner as root with a --sandbox-user");
	return 0;
}

static int
set_env(struct ll_state *st, struct er_cmd_builder *out, const char *name, const char *value,
	struct er_error *err)
{
	int r = st->host->cmd_set_env(out, name, value);

	return r < 0 ? st->host->err_set(err, r, "cannot set %s", name) : 0;
}

static int
ll_wrap(void *state, const struct er_command *in, struct er_cmd_builder *out, struct er_error *err)
{
	struct ll_state *st = state;
	const struct er_host *host = st->host;
	const char *workdir = in->workdir ? in->workdir : in->cwd;
	char tmpdir[PATH_MAX];
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
	r = r ?: session_tmp_dir(st, workdir, tmpdir, sizeof(tmpdir), err);
	if (r < 0)
		return r;

	for (size_t i = 0; i < st->n_args && r == 0; i++)
		r = host->cmd_push_arg(out, st->args[i]);
	r = r ?: host->cmd_push_arg(out, "--rw");
	r = r ?: host->cmd_push_arg(out, workdir);
	if (!sb_path_under(tmpdir, workdir)) {
		r = r ?: host->cmd_push_arg(out, "--rw");
		r = r ?: host->cmd_push_arg(out, tmpdir);
	}
	if (r < 0)
		return host->err_set(err, r, "cannot build the command");

	/* Exactly what is set here reaches the command: nothing of the
	 * runner's own environment. */
	r = set_env(st, out, "PATH", LL_PATH, err);
	r = r ?: set_env(st, out, "HOME", tmpdir, err);
	r = r ?: set_env(st, out, "TMPDIR", tmpdir, err);
	if (r == 0 && st->pol.drop_ids) {
		r = set_env(st, out, "USER", st->pol.user, err);
		r = r ?: set_env(st, out, "LOGNAME", st->pol.user, err);
	}
	for (size_t i = 0; st->pol.inherited_env[i] && r == 0; i++) {
		const char *v = host->getenv(st->host_ctx, st->pol.inherited_env[i]);

		if (v)
			r = set_env(st, out, st->pol.inherited_env[i], v, err);
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
	r = r ?: host->cmd_push_arg(out, "--");
	for (size_t i = 0; in->argv[i] && r == 0; i++)
		r = host->cmd_push_arg(out, in->argv[i]);
	r = r ?: host->cmd_set_cwd(out, in->cwd ? in->cwd : workdir);
	return r < 0 ? host->err_set(err, r, "cannot build the command") : 0;
}

/* The policy's per-session state: the session's memory cgroup. */
static int
ll_session_start(void *state, const struct er_sandbox_session *session, void **ret_sess,
		 struct er_error *err)
{
	struct ll_state *st = state;

	return sb_policy_session_start(&st->pol, session, ret_sess, err);
}

static void
ll_session_end(void *state, void *sess)
{
	struct ll_state *st = state;

	sb_policy_session_end(&st->pol, sess);
}

static const struct er_sandbox_ops ll_ops = {
	.struct_size = sizeof(struct er_sandbox_ops),
	.probe = ll_probe,
	.wrap = ll_wrap,
	.session_start = ll_session_start,
	.session_end = ll_session_end,
};

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "1.0"
#endif
/* Needs the sandbox settings of ABI 1.2. */
ER_PLUGIN_DEFINE_FULL(
	ER_KIND_SANDBOX, "landlock", PACKAGE_VERSION,
	"Landlock and seccomp, no namespace or privilege needed (containers, pods); network "
	"none or host",
	ll_options, 2, 0, ll_create, ll_destroy, &ll_ops);
