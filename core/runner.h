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
 * with its host table (and plugin_probe() on the sandbox); main() closes
 * them afterwards with plugin_close().  Returns a sysexits code. */
int runner_run(struct settings *s, struct plugin *sandbox, struct plugin *executor);

#endif
