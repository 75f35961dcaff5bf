/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "policy.h"

#define MIB (UINT64_C(1) << 20)
#define SB_RUN_TIMEOUT_MS 10000

void
sb_strv_free(char **v)
{
	if (!v)
		return;
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

char **
sb_split(const char *s, char sep)
{
	size_t n = 1;
	char **v;
	size_t k = 0;

	for (const char *c = s; *c; c++)
		n += *c == sep;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	while (*s) {
		const char *end = strchr(s, sep);
		size_t len = end ? (size_t)(end - s) : strlen(s);

		/* Trim blanks around list items. */
		while (len && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (len) {
			v[k] = strndup(s, len);
			if (!v[k]) {
				sb_strv_free(v);
				return NULL;
			}
			k++;
		}
		if (!end)
			break;
		s = end + 1;
	}
	return v;
}

int
sb_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int
sb_set_env_pair(const struct er_host *host, struct er_cmd_builder *out, const char *pair,
		struct er_error *err)
{
	const char *eq = strchr(pair, '=');
	char name[256];
	size_t n;

	if (!eq || eq == pair || (n = (size_t)(eq - pair)) >= sizeof(name))
		return host->err_set(err, -EINVAL, "malformed environment entry '%.40s'", pair);
	memcpy(name, pair, n);
	name[n] = '\0';
	return host->cmd_set_env(out, name, eq + 1);
}

int
sb_find_program(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char *dirs;
	char *save = NULL;
	int r = -ENOENT;

	if (strchr(name, '/')) {
		if (access(name, X_OK) < 0 || name[0] != '/')
			return -ENOENT;
		snprintf(out, len, "%s", name);
		return 0;
	}
	dirs = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!dirs)
		return -ENOMEM;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		if ((size_t)snprintf(out, len, "%s/%s", d, name) < len && access(out, X_OK) == 0) {
			r = 0;
			break;
		}
	}
	free(dirs);
	return r;
}

int
sb_run_capture(const struct sb_policy *p, const char *const *argv, int pass_fd, char *out,
	       size_t len)
{
	const int32_t fds[1] = { pass_fd };
	struct er_error err;
	int32_t status = 0;
	int r;

	/* The runner runs it (plugin ABI 1.2): no fork here. */
	memset(&err, 0, sizeof(err));
	r = p->host->run_command(p->host_ctx, argv, pass_fd >= 0 ? fds : NULL, pass_fd >= 0 ? 1 : 0,
				 SB_RUN_TIMEOUT_MS, &status, out, (uint32_t)len, &err);
	return r < 0 ? r : status;
}

/* A copy of a NULL-terminated list the host lends. */
static char **
dup_list(const char *const *in)
{
	size_t n = 0;
	char **v;

	while (in && in[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++) {
		v[i] = strdup(in[i]);
		if (!v[i]) {
			sb_strv_free(v);
			return NULL;
		}
	}
	return v;
}

/* ---- cgroup ---------------------------------------------------------------- */

/* Remove session cgroups an earlier runner left (empty ones only: rmdir
 * refuses a cgroup with processes). */
static void
sweep_stale(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX + 300];

		if (strncmp(de->d_name, "environment-runner-", 19) != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", base, de->d_name) < sizeof(path))
			(void)rmdir(path);
	}
	closedir(d);
}

/* Our own cgroup: v1 memory hierarchy, else v2 (with memory delegated to
 * children).  Probed by making and removing a child. */
static void
find_cgroup(struct sb_policy *p)
{
	char probe[PATH_MAX + 64];

	if (cgroup_own_dir("memory", p->cg_base, sizeof(p->cg_base)) == 0) {
		p->cg_v2 = 0;
	} else if (cgroup_own_dir(NULL, p->cg_base, sizeof(p->cg_base)) == 0) {
		char ctl[PATH_MAX + 32];
		char buf[512] = "";
		int fd;
		ssize_t n;

		snprintf(ctl, sizeof(ctl), "%s/cgroup.subtree_control", p->cg_base);
		fd = open(ctl, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (!strstr(buf, "memory"))
			return;
		p->cg_v2 = 1;
	} else {
		return;
	}
	snprintf(probe, sizeof(probe), "%s/environment-runner-probe-%ld", p->cg_base,
		 (long)getpid());
	if (mkdir(probe, 0755) < 0)
		return;
	rmdir(probe);
	p->cg_ok = 1;
	sweep_stale(p->cg_base);
}

/* Make the cgroup `dir` with the memory limit, unless it exists. */
static int
make_cgroup(struct sb_policy *p, const char *dir)
{
	char limit[32];
	int r;

	if (mkdir(dir, 0755) < 0)
		return errno == EEXIST ? 0 : -errno;
	snprintf(limit, sizeof(limit), "%llu", (unsigned long long)p->memory);
	r = cgroup_write(dir, p->cg_v2 ? "memory.max" : "memory.limit_in_bytes", limit);
	if (r < 0) {
		rmdir(dir);
		return r;
	}
	if (p->cg_v2)
		(void)cgroup_write(dir, "memory.swap.max", "0");
	return 0;
}

static int
session_cgroup(struct sb_policy *p, const char *session_id, char *out, size_t len)
{
	char name[128];
	size_t i;

	snprintf(name, sizeof(name), "environment-runner-%s", session_id ? session_id : "none");
	for (i = 0; name[i]; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			name[i] = '_';
	}
	if ((size_t)snprintf(out, len, "%s/%s", p->cg_base, name) >= len)
		return -ENAMETOOLONG;
	return make_cgroup(p, out);
}

/* ---- the policy ---------------------------------------------------------- */

int
sb_policy_load(struct sb_policy *p, const struct er_host *host, void *host_ctx, const char *plugin,
	       struct er_error *err)
{
	struct er_sandbox_settings set;
	uint64_t mb;
	int r;

	memset(p, 0, sizeof(*p));
	p->host = host;
	p->host_ctx = host_ctx;
	p->plugin = plugin;
	if (!ER_HOST_HAS(host, cmd_set_credentials) || !ER_HOST_HAS(host, cmd_set_rlimit) ||
	    !ER_HOST_HAS(host, cmd_pass_fd) || !ER_HOST_HAS(host, cmd_set_cgroup))
		return host->err_set(err, -ENOTSUP,
				     "this runner lacks the process attributes of plugin ABI 1.1");
	/* The --sandbox-* settings, checked and with their defaults, and the
	 * environment every backend passes on: the runner resolves them
	 * (plugin ABI 1.2). */
	if (!ER_HOST_HAS(host, sandbox_settings) || !ER_HOST_HAS(host, env_allowlist))
		return host->err_set(err, -ENOTSUP,
				     "this runner lacks the sandbox settings of plugin ABI 1.2");
	memset(&set, 0, sizeof(set));
	set.struct_size = sizeof(set);
	r = host->sandbox_settings(host_ctx, &set, err);
	if (r < 0)
		return r;
	p->inherited_env = host->env_allowlist(host_ctx);
	p->network = set.network == ER_NETWORK_HOST	   ? SB_NET_HOST
		     : set.network == ER_NETWORK_ALLOWLIST ? SB_NET_ALLOWLIST
							   : SB_NET_NONE;
	p->domains = dup_list(set.allowed_domains);
	p->ro = dup_list(set.read_only);
	p->rw = dup_list(set.read_write);
	p->deny = dup_list(set.deny);
	if (!p->domains || !p->ro || !p->rw || !p->deny)
		return host->err_set(err, -ENOMEM, "out of memory");
	if (p->network == SB_NET_ALLOWLIST && !p->domains[0])
		host->log(host_ctx, ER_LOG_WARNING,
			  "--sandbox-network=allowlist with no --sandbox-allowed-domains: every "
			  "connection through the proxy is refused");
	p->root = geteuid() == 0;
	p->drop_ids = set.switch_user != 0;
	p->uid = set.uid;
	p->gid = set.gid;
	snprintf(p->user, sizeof(p->user), "%s", set.user);
	if (!p->root && host->config_get(host_ctx, "sandbox.user"))
		host->log(
			host_ctx, ER_LOG_WARNING,
			"--sandbox-user '%s' ignored: the runner is not root, commands run as its "
			"own user",
			host->config_get(host_ctx, "sandbox.user"));
	p->max_procs = set.max_procs;
	p->max_files = set.max_open_files;
	p->max_fsize = set.max_file_size;
	p->memory = set.memory;
	mb = set.memory / MIB;
	p->key_file = set.service_key_file;
	p->base_dir = set.base_dir;
	if (p->memory) {
		find_cgroup(p);
		if (!p->cg_ok)
			host->log(
				host_ctx, ER_LOG_NOTICE,
				"no writable memory cgroup here: sessions run without the %llu MiB "
				"memory cap (RLIMIT_NPROC, NOFILE and FSIZE still apply)",
				(unsigned long long)mb);
	}
	if (p->drop_ids && ER_HOST_HAS(host, set_sandbox_identity)) {
		r = host->set_sandbox_identity(host_ctx, p->uid, p->gid);
		if (r < 0)
			return host->err_set(err, r,
					     "the runner cannot hand session directories to user "
					     "'%s'",
					     p->user);
	}
	return 0;
}

void
sb_policy_release(struct sb_policy *p)
{
	sb_strv_free(p->domains);
	sb_strv_free(p->ro);
	sb_strv_free(p->rw);
	sb_strv_free(p->deny);
	/* At shutdown the sessions' processes were just killed: give them a
	 * moment to leave their cgroups. */
	cgroup_removals_release(&p->cg_left);
	memset(p, 0, sizeof(*p));
}

int
sb_policy_apply(struct sb_policy *p, struct er_cmd_builder *out, struct er_error *err)
{
	const struct er_host *host = p->host;
	const struct sb_session *ss;
	int r;

	if (p->drop_ids) {
		r = host->cmd_set_credentials(out, p->uid, p->gid);
		if (r < 0)
			return host->err_set(err, r, "cannot run as user '%s'", p->user);
	}
	r = host->cmd_set_rlimit(out, ER_RLIMIT_NPROC, p->max_procs, p->max_procs);
	if (r == 0)
		r = host->cmd_set_rlimit(out, ER_RLIMIT_NOFILE, p->max_files, p->max_files);
	if (r == 0)
		r = host->cmd_set_rlimit(out, ER_RLIMIT_FSIZE, p->max_fsize, p->max_fsize);
	if (r == 0)
		r = host->cmd_set_rlimit(out, ER_RLIMIT_CORE, 0, 0);
	if (r < 0)
		return host->err_set(err, r, "cannot set the resource limits");
	/* The session's cgroup, made by sb_policy_session_start(), and again
	 * if another runner's start-up sweep removed it while it was empty. */
	ss = host->cmd_sandbox_session(out);
	if (ss && ss->cgroup[0]) {
		r = make_cgroup(p, ss->cgroup);
		r = r ?: host->cmd_set_cgroup(out, ss->cgroup);
		if (r < 0)
			return host->err_set(err, r, "cannot place the command in '%s'",
					     ss->cgroup);
	}
	return 0;
}

int
sb_policy_session_start(struct sb_policy *p, const struct er_sandbox_session *session,
			void **ret_sess, struct er_error *err)
{
	struct sb_session *ss = calloc(1, sizeof(*ss));
	int r;

	if (!ss)
		return p->host->err_set(err, -ENOMEM, "out of memory");
	if (p->cg_ok) {
		cgroup_removals_retry(&p->cg_left);
		r = session_cgroup(p, session->session_id, ss->cgroup, sizeof(ss->cgroup));
		if (r < 0) {
			/* Once, then without: a full cgroup tree must not stop work. */
			p->host->log(
				p->host_ctx, ER_LOG_WARNING,
				"cannot make a memory cgroup under '%s' (%s): no memory cap from "
				"now on",
				p->cg_base, strerror(-r));
			p->cg_ok = 0;
			ss->cgroup[0] = '\0';
		}
	}
	*ret_sess = ss;
	return 0;
}

void
sb_policy_session_end(struct sb_policy *p, void *sess)
{
	struct sb_session *ss = sess;

	/* The session's processes were killed: its cgroup goes once they are
	 * reaped, now or at a later sweep. */
	if (ss && ss->cgroup[0])
		cgroup_remove_soon(&p->cg_left, ss->cgroup);
	cgroup_removals_retry(&p->cg_left);
	free(ss);
}

int
sb_check_reachable(const struct sb_policy *p, const char *dir, struct er_error *err)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (!p->drop_ids)
		return 0;
	if (n >= sizeof(path))
		return p->host->err_set(err, -ENAMETOOLONG, "path too long");
	memcpy(path, dir, n + 1);
	for (char *slash = path + n;;) {
		struct stat st;
		mode_t need;

		if (stat(path[0] ? path : "/", &st) < 0)
			return p->host->err_set(err, -errno, "cannot stat '%s'", path);
		need = st.st_uid == p->uid ? S_IXUSR : st.st_gid == p->gid ? S_IXGRP : S_IXOTH;
		if (!(st.st_mode & need))
			return p->host->err_set(
				err, -EACCES,
				"the sandbox user '%s' cannot reach '%s': '%s' is mode %04o; fix: "
				"chmod o+x '%s', or use a --base-dir it can traverse",
				p->user, dir, path[0] ? path : "/", (unsigned)(st.st_mode & 07777),
				path[0] ? path : "/");
		if (slash == path)
			break;
		while (slash > path && *slash != '/')
			slash--;
		*slash = '\0';
	}
	return 0;
}
