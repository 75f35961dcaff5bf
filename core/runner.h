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

/* Run until told to stop.  The runner calls plugin_create() on both plugins
 * with its host table (and plugin_probe() on the sandbox), and
 * plugin_destroy() before its event loop goes; main() closes them afterwards
 * with plugin_close().  Returns a sysexits code. */
int runner_run(struct settings *s, struct plugin *sandbox, struct plugin *executor);

/* An item another runner claimed (run-item, protocol.md 8).  Borrowed. */
struct runner_item {
	const char *work_id;
	const char *environment_id;
	const char *session_id;
	const char *secret;           /* the work secret, or NULL */
	const char *environment_key;  /* or NULL when the secret has a sessions token */
};

/* Serve that one item: heartbeat, session, tools, force stop; no poll, no
 * ack.  Returns 0 when the session ended, 1 when it failed, EX_TEMPFAIL
 * when the lease was lost or a signal stopped it, or a sysexits code. */
int runner_run_item(struct settings *s, struct plugin *sandbox, struct plugin *executor,
		    const struct runner_item *item);

#endif
