/* SPDX-License-Identifier: MIT */
/*
 * sandbox-firejail: every command of a session runs under firejail(1),
 * with the same policy as the bubblewrap backend where firejail can
 * express it.  Prefer bubblewrap: firejail is a setuid-root program with a
 * long CVE history, its file-system model is a blacklist, and a launch
 * costs about 40 ms against bwrap's 5 (../README, "Production").
 *
 * The command line (--noprofile: no desktop profile; policy only from
 * here):
 *   --noprofile --quiet --deterministic-exit-code --deterministic-shutdown
 *   --caps.drop=all --nonewprivs --nogroups --noroot
 *   --seccomp --seccomp.block-secondary --restrict-namespaces
 *   --protocol=inet,inet6 (no unix sockets) --ipc-namespace --hostname=sandbox
 *   --keep-fd=all (the runner already closed all but the executor's fds)
 *   --private (empty temporary home) --private-dev --private-tmp,
 *   --whitelist=<session dir> (a tmpfs over its top directory that shows
 *   only it there: neither the base directory nor the other sessions'
 *   directories, wherever --base-dir is), --read-only=/ with
 *   --read-write=<session dir> (and --sandbox-read-write paths),
 *   --blacklist= every entry of /run but firejail's own (as it is at
 *   start-up), /etc/shadow, /etc/gshadow, the runner's key file and
 *   --sandbox-deny paths, --net=none unless the network is "host",
 *   --rlimit-nproc/-nofile/-fsize.
 *
 * As root, firejail ignores --noroot, so the runner first becomes the
 * sandbox user (--sandbox-user; groups dropped, then gid and uid), exactly
 * as for bubblewrap, and execs the setuid firejail from there.
 *
 * firejail refuses system users (uid below UID_MIN, e.g. nobody) and runs
 * the command through the user's login shell, so the sandbox user must be a
 * regular user with a shell (probe() says so).
 *
 * What it cannot do: --sandbox-network=allowlist (no way to hand the
 * runner's proxy a listener from a sandbox whose network is otherwise
 * closed): create() refuses it.  TIOCSTI is refused by firejail's default seccomp list only
 * on kernels where firejail knows it; commands never have a controlling
 * terminal (the runner starts them with setsid and pipes) in any case.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <environment-runner/plugin.h>

#include "sandbox-common/policy.h"

#define FJ_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define FJ_MAX_ARGS 96

struct fj_state {
	const struct er_host *host;
	void *host_ctx;
	struct sb_policy pol;
	char firejail[PATH_MAX];
	int probed;
	int has_restrict_ns;
	int has_block_secondary;
	int has_keep_fd;
	/* The fixed options, built once. */
	char *args[FJ_MAX_ARGS];
	size_t n_args;
};

static const struct er_option fj_options[] = {
	{ "firejail.firejail", "PATH", "the firejail program (default: firejail on PATH)" },
	{ NULL, NULL, NULL },
};

/* One option: `opt` followed by `v` (NULL: nothing), e.g. "--blacklist=" "/run". */
static int
add(struct fj_state *st, const char *opt, const char *v)
{
	char buf[PATH_MAX + 64];

	if (st->n_args + 1 >= FJ_MAX_ARGS)
		return -E2BIG;
	if ((size_t)snprintf(buf, sizeof(buf), "%s%s", opt, v ? v : "") >= sizeof(buf))
		return -ENAMETOOLONG;
	st->args[st->n_args] = strdup(buf);
	if (!st->args[st->n_args])
		return -ENOMEM;
	st->n_args++;
	return 0;
}

static int
fj_create(const struct er_host *host, void *host_ctx, void **ret_state, struct er_error *err)
{
	struct fj_state *st;
	const char *v;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return host->err_set(err, -ENOMEM, "out of memory");
	st->host = host;
	st->host_ctx = host_ctx;
	r = sb_policy_load(&st->pol, host, host_ctx, "firejail", err);
	if (r < 0)
		goto fail;
	if (st->pol.network == SB_NET_ALLOWLIST) {
		r = host->err_set(
			err, -ENOTSUP,
			"firejail cannot give a sandbox only the runner's proxy; fix: use "
			"--sandbox-backend=bubblewrap for --sandbox-network=allowlist, or "
			"choose none or host");
		goto fail;
	}
	v = host->config_get(host_ctx, "firejail.firejail");
	if (sb_find_program(v ? v : "firejail", st->firejail, sizeof(st->firejail)) < 0) {
		r = host->err_set(err, -ENOENT,
				  "firejail not found; fix: apt-get install firejail, or pass "
				  "--plugin-option firejail.firejail=PATH");
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
fj_destroy(void *state)
{
	struct fj_state *st = state;

	if (!st)
		return;
	for (size_t i = 0; i < st->n_args; i++)
		free(st->args[i]);
	sb_policy_release(&st->pol);
	free(st);
}

static int
has_opt(const char *help, const char *opt)
{
	return strstr(help, opt) != NULL;
}

static int
build_args(struct fj_state *st)
{
	static const char *const fixed[] = { "--noprofile",
					     "--quiet",
					     "--deterministic-exit-code",
					     "--deterministic-shutdown",
					     "--caps.drop=all",
					     "--nonewprivs",
					     "--nogroups",
					     "--noroot",
					     "--seccomp",
					     "--protocol=inet,inet6",
					     "--ipc-namespace",
					     "--hostname=sandbox",
					     "--private",
					     "--private-dev",
					     "--read-only=/",
					     "--blacklist=/etc/shadow",
					     "--blacklist=/etc/gshadow",
					     "--blacklist=/etc/sudoers",
					     "--blacklist=/etc/ssh",
					     NULL };
	char num[32];
	struct dirent *de;
	DIR *d;
	int r = add(st, "", st->firejail);

	for (size_t i = 0; fixed[i] && r == 0; i++)
		r = add(st, "", fixed[i]);
	if (r == 0 && st->has_block_secondary)
		r = add(st, "", "--seccomp.block-secondary");
	if (r == 0 && st->has_restrict_ns)
		r = add(st, "", "--restrict-namespaces");
	/* The runner closes every fd but those an executor passes on purpose
	 * (a secret or a key on a descriptor); firejail would close those too. */
	if (r == 0 && st->has_keep_fd)
		r = add(st, "", "--keep-fd=all");
	if (r == 0 && st->pol.network != SB_NET_HOST)
		r = add(st, "", "--net=none");
	/* firejail needs /run/firejail: hide every other entry of /run (where
	 * the host's service sockets live) that exists now. */
	d = opendir("/run");
	while (r == 0 && d && (de = readdir(d))) {
		char path[300];

		if (de->d_name[0] == '.' || strcmp(de->d_name, "firejail") == 0)
			continue;
		snprintf(path, sizeof(path), "/run/%s", de->d_name);
		r = add(st, "--blacklist=", path);
	}
	if (d)
		closedir(d);
	if (r == 0 && access("/etc/environment-runner", F_OK) == 0)
		r = add(st, "--blacklist=", "/etc/environment-runner");
	if (r == 0 && st->pol.key_file)
		r = add(st, "--blacklist=", st->pol.key_file);
	for (size_t i = 0; st->pol.deny[i] && r == 0; i++)
		r = add(st, "--blacklist=", st->pol.deny[i]);
	for (size_t i = 0; st->pol.rw[i] && r == 0; i++)
		r = add(st, "--read-write=", st->pol.rw[i]);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)st->pol.max_procs);
	r = r ?: add(st, "--rlimit-nproc=", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)st->pol.max_files);
	r = r ?: add(st, "--rlimit-nofile=", num);
	if (st->pol.max_fsize != ER_RLIM_INFINITY) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)st->pol.max_fsize);
		r = r ?: add(st, "--rlimit-fsize=", num);
	}
	return r;
}

/* A number from /etc/login.defs, or `def`. */
static long
login_def(const char *name, long def)
{
	char line[256];
	size_t n = strlen(name);
	FILE *f = fopen("/etc/login.defs", "re");
	long v = def;

	if (!f)
		return def;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, n) == 0 && (line[n] == ' ' || line[n] == '\t')) {
			char *end;
			long x = strtol(line + n, &end, 10);

			if (end != line + n)
				v = x;
		}
	}
	fclose(f);
	return v;
}

/*
 * firejail refuses system users (uid below UID_MIN, such as nobody) and
 * starts the command through the user's login shell: the sandbox user must
 * be a regular user with a real shell.
 */
static int
check_user(struct fj_state *st, struct er_error *err)
{
	const struct er_host *host = st->host;
	struct passwd *pw = getpwuid((uid_t)st->pol.uid);
	long min = login_def("UID_MIN", 1000);
	long max = login_def("UID_MAX", 60000);

	if (!pw)
		return host->err_set(err, -ENOENT, "no passwd entry for uid %u",
				     (unsigned)st->pol.uid);
	if ((long)st->pol.uid < min || (long)st->pol.uid > max)
		return host->err_set(err, -EPERM,
				     "firejail refuses system users such as '%s' (uid %u, not in "
				     "%ld-%ld); fix: useradd -M -s /bin/bash er-sandbox and pass "
				     "--sandbox-user=er-sandbox",
				     pw->pw_name, (unsigned)st->pol.uid, min, max);
	if (!pw->pw_shell || !pw->pw_shell[0] || strstr(pw->pw_shell, "nologin") ||
	    strstr(pw->pw_shell, "/false"))
		return host->err_set(err, -EPERM,
				     "firejail runs commands through the login shell of '%s' (%s); "
				     "fix: usermod -s /bin/bash %s",
				     pw->pw_name, pw->pw_shell ? pw->pw_shell : "none",
				     pw->pw_name);
	return 0;
}

static int
fj_probe(void *state, struct er_error *err)
{
	static const char *const needed[] = { "--noprofile",
					      "--quiet",
					      "--caps.drop=all",
					      "--nonewprivs",
					      "--nogroups",
					      "--noroot",
					      "--seccomp",
					      "--protocol=",
					      "--ipc-namespace",
					      "--hostname=",
					      "--private-dev",
					      "--read-only=",
					      "--read-write=",
					      "--blacklist=",
					      "--whitelist=",
					      "--net=none",
					      "--rlimit-nproc=",
					      "--rlimit-nofile=",
					      "--rlimit-fsize=",
					      "--deterministic-exit-code",
					      "--deterministic-shutdown",
					      "--private-tmp",
					      NULL };
	struct fj_state *st = state;
	const struct er_host *host = st->host;
	const char *help_argv[] = { st->firejail, "--help", NULL };
	static char help[65536];
	struct stat s;
	int r;

	r = sb_run_capture(&st->pol, help_argv, -1, help, sizeof(help));
	if (r < 0 || !strstr(help, "--noprofile"))
		return host->err_set(err, r < 0 ? r : -ENOEXEC, "cannot run '%s --help'",
				     st->firejail);
	for (size_t i = 0; needed[i]; i++)
		if (!has_opt(help, needed[i]))
			return host->err_set(err, -ENOTSUP, "'%s' has no %s option", st->firejail,
					     needed[i]);
	st->has_restrict_ns = has_opt(help, "--restrict-namespaces");
	st->has_block_secondary = has_opt(help, "--seccomp.block-secondary");
	st->has_keep_fd = has_opt(help, "--keep-fd");
	if (stat(st->firejail, &s) < 0 || !(s.st_mode & S_ISUID) || s.st_uid != 0)
		return host->err_set(err, -ENOTSUP,
				     "'%s' is not setuid root: firejail cannot build its sandbox "
				     "for an unprivileged user",
				     st->firejail);
	r = check_user(st, err);
	if (r < 0)
		return r;
	r = build_args(st);
	if (r < 0)
		return host->err_set(err, r, "cannot build the firejail command line");
	if (!st->has_restrict_ns)
		host->log(
			st->host_ctx, ER_LOG_WARNING,
			"firejail has no --restrict-namespaces: nested namespaces are not refused");
	host->log(st->host_ctx, ER_LOG_NOTICE,
		  "firejail: weaker than bubblewrap: a setuid-root launcher, a read-only view of "
		  "the whole host file system minus a blacklist (/run, shadow files, the key), "
		  "no domain allow-list; commands run as %s, memory cap %s",
		  st->pol.user, st->pol.cg_ok ? "by cgroup" : "none");
	st->probed = 1;
	return 0;
}

/* --whitelist=`path` when it lies below the top directory of `workdir`
 * (firejail mounts a tmpfs there that shows only what is whitelisted).  A
 * workdir that is itself a top directory is shown as it is. */
static int
push_whitelist(struct fj_state *st, struct er_cmd_builder *out, const char *workdir,
	       const char *path)
{
	const char *slash = strchr(workdir + 1, '/');
	char top[PATH_MAX];
	char opt[PATH_MAX + 32];

	if (!slash || (size_t)(slash - workdir) >= sizeof(top))
		return 0;
	memcpy(top, workdir, (size_t)(slash - workdir));
	top[slash - workdir] = '\0';
	if (!sb_path_under(path, top) || strcmp(path, top) == 0)
		return 0;
	if ((size_t)snprintf(opt, sizeof(opt), "--whitelist=%s", path) >= sizeof(opt))
		return -ENAMETOOLONG;
	return st->host->cmd_push_arg(out, opt);
}

static int
fj_wrap(void *state, const struct er_command *in, struct er_cmd_builder *out, struct er_error *err)
{
	struct fj_state *st = state;
	const struct er_host *host = st->host;
	const char *workdir = in->workdir ? in->workdir : in->cwd;
	char opt[PATH_MAX + 32];
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
	for (size_t i = 0; i < st->n_args && r == 0; i++)
		r = host->cmd_push_arg(out, st->args[i]);
	/* The session's directory, alone in its top directory (so that other
	 * sessions' directories beside it stay hidden; the sandbox user would
	 * otherwise read them: they all belong to it), and writable.  The
	 * --sandbox-read-* paths in the same top directory stay visible. */
	r = r ?: push_whitelist(st, out, workdir, workdir);
	for (size_t i = 0; st->pol.ro[i] && r == 0; i++)
		r = push_whitelist(st, out, workdir, st->pol.ro[i]);
	for (size_t i = 0; st->pol.rw[i] && r == 0; i++)
		r = push_whitelist(st, out, workdir, st->pol.rw[i]);
	if (r == 0 && !sb_path_under(workdir, "/tmp"))
		r = host->cmd_push_arg(out, "--private-tmp");
	if (r == 0) {
		snprintf(opt, sizeof(opt), "--read-write=%s", workdir);
		r = host->cmd_push_arg(out, opt);
	}
	r = r ?: host->cmd_push_arg(out, "--");
	for (size_t i = 0; in->argv[i] && r == 0; i++)
		r = host->cmd_push_arg(out, in->argv[i]);
	if (r < 0)
		return host->err_set(err, r, "cannot build the command");

	r = host->cmd_set_env(out, "PATH", FJ_PATH);
	if (r == 0 && st->pol.drop_ids) {
		r = host->cmd_set_env(out, "USER", st->pol.user);
		r = r ?: host->cmd_set_env(out, "LOGNAME", st->pol.user);
	}
	for (size_t i = 0; st->pol.inherited_env[i] && r == 0; i++) {
		const char *v = host->getenv(st->host_ctx, st->pol.inherited_env[i]);

		if (v)
			r = host->cmd_set_env(out, st->pol.inherited_env[i], v);
	}
	if (r < 0)
		return host->err_set(err, r, "cannot set the environment");
	for (size_t i = 0; in->envp && in->envp[i]; i++) {
		r = sb_set_env_pair(host, out, in->envp[i], err);
		if (r < 0)
			return r;
	}
	r = sb_policy_apply(&st->pol, out, err);
	if (r < 0)
		return r;
	return host->cmd_set_cwd(out, in->cwd ? in->cwd : workdir);
}

/* The policy's per-session state: the session's memory cgroup. */
static int
fj_session_start(void *state, const struct er_sandbox_session *session, void **ret_sess,
		 struct er_error *err)
{
	struct fj_state *st = state;

	return sb_policy_session_start(&st->pol, session, ret_sess, err);
}

static void
fj_session_end(void *state, void *sess)
{
	struct fj_state *st = state;

	sb_policy_session_end(&st->pol, sess);
}

static const struct er_sandbox_ops fj_ops = {
	.struct_size = sizeof(struct er_sandbox_ops),
	.probe = fj_probe,
	.wrap = fj_wrap,
	.session_start = fj_session_start,
	.session_end = fj_session_end,
};

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "1.0"
#endif
ER_PLUGIN_DEFINE_FULL(
	ER_KIND_SANDBOX, "firejail", PACKAGE_VERSION,
	"firejail with the bubblewrap backend's policy where it can express it (prefer "
	"bubblewrap)",
	fj_options, 2, 0, fj_create, fj_destroy, &fj_ops);
