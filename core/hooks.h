/* SPDX-License-Identifier: MIT */
/*
 * Lifecycle hooks: the executables `pre-session` and `post-session` in
 * --hooks-dir, run by the runner on the host (not in the sandbox) with the
 * session's directory as working directory, in a process group of their
 * own, with a time limit, and with this environment only:
 *
 *   PATH HOME LANG LC_ALL TZ TMPDIR USER LOGNAME   passed through when set
 *   ENVIRONMENT_RUNNER_HOOK            pre-session | post-session
 *   ENVIRONMENT_RUNNER_WORK_ID         the work item
 *   ENVIRONMENT_RUNNER_SESSION_ID      the session
 *   ENVIRONMENT_RUNNER_ENVIRONMENT_ID  the environment
 *   ENVIRONMENT_RUNNER_WORKER_ID       this runner's worker id
 *   ENVIRONMENT_RUNNER_WORKDIR         the session's directory
 *   ENVIRONMENT_RUNNER_OUTCOME         post-session: completed | failed |
 *                                      lease_lost | shutdown
 *   ENVIRONMENT_RUNNER_END_REASON      post-session: why the session ended
 *   ENVIRONMENT_RUNNER_TRACKING_ID     the hook's process tracking id
 *
 * Never the environment key nor a sessions token.  Each stderr line is
 * logged; the last one is kept as the failure message.  When the hook
 * exits or times out, whatever is left of its process group is killed.
 */
#ifndef ER_HOOKS_H
#define ER_HOOKS_H

#include "log.h"
#include "runtime.h"

enum hook_kind {
	HOOK_PRE_SESSION,
	HOOK_POST_SESSION,
};

struct hook_vars {
	const char *work_id;
	const char *session_id;
	const char *environment_id;
	const char *workdir;
	const char *outcome;	/* post-session only */
	const char *end_reason; /* post-session only */
	const struct log_ctx *ctx;
};

/* The hook ended: `ok` when it exited 0; otherwise `why` says how it
 * failed (its last stderr line, or the time limit).  `why` is borrowed for
 * the call. */
typedef void (*hook_done_cb)(void *userdata, int ok, const char *why);

struct hook_run;

/*
 * Start hook `kind` if --hooks-dir has it.  Returns 1 when there is no such
 * hook (nothing started, no callback), 0 when started (`done` runs later,
 * from the loop), or -errno when it could not start (no callback; `err`
 * says why).
 */
int hook_start(struct runtime *rt, enum hook_kind kind, const struct hook_vars *v,
	       hook_done_cb done, void *userdata, struct hook_run **ret, char *err, size_t errlen);
/* Kill a running hook; no callback.  Accepts NULL. */
void hook_cancel(struct hook_run *h);

const char *hook_name(enum hook_kind kind);

#endif
