/* SPDX-License-Identifier: MIT */
/*
 * The session runtime: event loop, host services, poller, leases, streams,
 * processes.  main() parses the settings, opens the log and opens (but does
 * not create) the sandbox and executor plugins, then hands over here.
 */
#ifndef ER_RUNNER_H
#define ER_RUNNER_H

#include "loader.h"
#include "settings.h"

/*
 * The sandbox backends to try, strongest first: the one --sandbox-backend
 * names, or, when it names none, the default's candidates (bubblewrap, then
 * landlock where it is built).  The runner creates and probes them in order
 * and serves with the first that runs; it closes the others (and sets
 * their slot to NULL), and says in its log and on /healthz which one it
 * chose and why the stronger ones did not run.  `why` starts with the
 * reasons of candidates main() could not even open ("NAME: reason; ...").
 * An orchestrator with --on-work runs no command itself: it probes none.
 */
#define RUNNER_MAX_SANDBOXES 2
struct runner_sandboxes {
	struct plugin *p[RUNNER_MAX_SANDBOXES];
	size_t n;
	char why[LOADER_ERR_MAX * 3];
};

/* Append "NAME: text" to the reasons in `why`. */
void runner_sandboxes_note(struct runner_sandboxes *sb, const char *name, const char *text);

/* runner_run()'s answer to SIGUSR2: every item is in its record, and the
 * process is to re-execute its binary (upgrade.h).  Not an exit status. */
#define RUNNER_EXEC_UPGRADE 256

/* Run until told to stop.  The runner calls plugin_create() on the
 * executor and the sandbox it chooses with its host table (and
 * plugin_probe() on the sandbox), and plugin_destroy() before its event
 * loop goes; main() closes them afterwards with plugin_close().  Returns a
 * sysexits code, or RUNNER_EXEC_UPGRADE. */
int runner_run(struct settings *s, struct runner_sandboxes *sandboxes, struct plugin *executor);

/* An item another runner claimed (run-item, docs/protocol.md §13).  Borrowed. */
struct runner_item {
	const char *work_id;
	const char *environment_id;
	const char *session_id;
	const char *secret;	     /* the work secret, or NULL */
	const char *environment_key; /* or NULL when the secret has a sessions token */
};

/* Serve that one item: heartbeat, session, tools, force stop; no poll, no
 * ack.  Returns 0 when the session ended, 1 when it failed, EX_TEMPFAIL
 * when the lease was lost or a signal stopped it, or a sysexits code. */
int runner_run_item(struct settings *s, struct runner_sandboxes *sandboxes, struct plugin *executor,
		    const struct runner_item *item);

#endif
