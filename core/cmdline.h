/* SPDX-License-Identifier: MIT */
/*
 * The command line:
 *
 *   environment-runner --help | --version
 *   environment-runner orchestrator [FLAGS]     serve sessions
 *   environment-runner run-item [FLAGS]         serve one claimed item (ANTHROPIC_* variables)
 *   environment-runner plugins [FLAGS]          list the plugins in the search path
 *   environment-runner plugin-check FILE [FLAGS] run a plugin through its contract checks
 *   environment-runner upgrade PID              re-execute a running runner into the new binary
 *   environment-runner upgrade-check DIR [FLAGS] can this binary take over the records in DIR?
 *   environment-runner COMMAND --help
 *
 * cmdline_parse() resolves every setting from flags, environment variables,
 * the config file and defaults (in that order of precedence; see
 * settings_table[] in settings.c) into a struct settings.
 */
#ifndef ER_CMDLINE_H
#define ER_CMDLINE_H

#include <stddef.h>
#include <stdio.h>

#include "settings.h"

enum cmdline_verb {
	CMDLINE_HELP = 0, /* print cmdline_usage(help_for) and exit 0 */
	CMDLINE_VERSION,
	CMDLINE_ORCHESTRATOR,
	CMDLINE_PLUGINS,
	CMDLINE_RUN_ITEM,
	CMDLINE_PLUGIN_CHECK,
	CMDLINE_UPGRADE,
	CMDLINE_UPGRADE_CHECK,
};

struct cmdline {
	enum cmdline_verb verb;
	enum cmdline_verb help_for; /* with CMDLINE_HELP: CMDLINE_HELP for the global text */
	/* Borrowed from argv: plugin-check's plugin file, upgrade's process
	 * id, upgrade-check's directory of item records. */
	const char *file;
};

/*
 * Parse argv into `s` (initialised with settings_init() by the caller) and
 * `ret`.  Returns 0, or a sysexits code (EX_USAGE for a bad flag or value,
 * EX_CONFIG for a bad config file line or variable, EX_NOINPUT for a
 * missing file) with one line in `err` that names the input and the fix.
 * With --help or --version, returns 0 at once and the rest of argv is not
 * checked.
 */
int cmdline_parse(int argc, char **argv, struct settings *s, struct cmdline *ret, char *err,
		  size_t errlen);

/* Print the help text of a verb (CMDLINE_HELP: the global one). */
void cmdline_usage(FILE *f, enum cmdline_verb verb);

#endif
