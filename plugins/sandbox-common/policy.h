/* SPDX-License-Identifier: MIT */
/*
 * What the isolating backends (bubblewrap, firejail) share: the sandbox
 * policy read from the runner's "sandbox.*" settings, the sandbox's user,
 * the per-process attributes the runner applies before exec (ids, rlimits,
 * cgroup), and a start-up helper that runs a probe command.
 *
 * Settings (host->config_get keys; flags --sandbox-*, see the README):
 *   sandbox.network           none|host|allowlist (default none)
 *   sandbox.allowed_domains   comma-separated, for allowlist
 *   sandbox.user              USER[:GROUP] when the runner is root
 *   sandbox.read_only, sandbox.read_write, sandbox.deny   colon-separated paths
 *   sandbox.max_procs, sandbox.max_open_files, sandbox.max_file_size_mb,
 *   sandbox.memory_mb
 */
#ifndef ER_SB_POLICY_H
#define ER_SB_POLICY_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <environment-runner/plugin.h>

#include "cgroup.h"

#define SB_NET_NONE 0
#define SB_NET_HOST 1
#define SB_NET_ALLOWLIST 2

struct sb_policy {
	const struct er_host *host; /* borrowed until destroy */
	void *host_ctx;
	const char *plugin;		  /* for messages */
	const char *const *inherited_env; /* the runner's variables a command
					   * inherits: host->env_allowlist() */
	int network;			  /* SB_NET_* */
	char **domains;			  /* allowlist entries, NULL-terminated */
	int root;			  /* the runner runs as root */
	int drop_ids;			  /* commands run as uid:gid */
	uint32_t uid;
	uint32_t gid;
	char user[64];
	char **ro; /* NULL-terminated, absolute, existing */
	char **rw;
	char **deny;
	const char *key_file; /* the runner's key: hidden (borrowed) */
	const char *base_dir; /* the sessions' directories: hidden but
				     * for the session's own (borrowed) */
	uint64_t max_procs;
	uint64_t max_files;
	uint64_t max_fsize; /* bytes, ER_RLIM_INFINITY for none */
	uint64_t memory;    /* bytes, 0 for none */
	/* Memory cap through a cgroup, when one is writable. */
	int cg_ok;
	int cg_v2;
	char cg_base[PATH_MAX];
	struct cgroup_removals cg_left; /* sessions' cgroups, removed when empty */
};

/* Read the policy; 0 or -errno with `err` filled.  Logs what is weaker
 * than asked (no writable cgroup, ...). */
int sb_policy_load(struct sb_policy *p, const struct er_host *host, void *host_ctx,
		   const char *plugin, struct er_error *err);
void sb_policy_release(struct sb_policy *p);

/* What the policy keeps per session: its memory cgroup. */
struct sb_session {
	char cgroup[PATH_MAX + 160]; /* "" for none */
};

/* A session starts (a backend's session_start, plugin ABI 1.2): its memory
 * cgroup is made here, not in wrap(), and swept in session_end once its
 * processes are gone. */
int sb_policy_session_start(struct sb_policy *p, const struct er_sandbox_session *session,
			    void **ret_sess, struct er_error *err);
void sb_policy_session_end(struct sb_policy *p, void *sess);

/* Ask the runner for the ids, rlimits and, within a session, the cgroup
 * of one command (wrap()). */
int sb_policy_apply(struct sb_policy *p, struct er_cmd_builder *out, struct er_error *err);

/* Can the sandbox's user reach `dir` (search permission on every
 * ancestor)?  0, or -EACCES with a message naming the directory and the
 * fix. */
int sb_check_reachable(const struct sb_policy *p, const char *dir, struct er_error *err);

/* Is `path` equal to or below `dir`? */
int sb_path_under(const char *path, const char *dir);

/* "NAME=value" onto the builder's environment. */
int sb_set_env_pair(const struct er_host *host, struct er_cmd_builder *out, const char *pair,
		    struct er_error *err);

/* Find `name` on PATH (or take it as is when it has a '/'); 0 with an
 * absolute path in `out`, or -ENOENT. */
int sb_find_program(const char *name, char *out, size_t len);

/* Run argv with host->run_command() (start-up only: blocks), with
 * `pass_fd` (or -1) kept open, and capture up to len-1 bytes of its
 * stdout+stderr into `out`.  Returns the wait status, or -errno. */
int sb_run_capture(const struct sb_policy *p, const char *const *argv, int pass_fd, char *out,
		   size_t len);

/* Split `s` at `sep` into a new NULL-terminated array (empty items
 * dropped); NULL on out of memory.  Free with sb_strv_free. */
char **sb_split(const char *s, char sep);
void sb_strv_free(char **v);

#endif
