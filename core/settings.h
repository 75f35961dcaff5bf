/* SPDX-License-Identifier: MIT */
/*
 * The runner's settings.  Every one can come from a flag, an environment
 * variable or the config file, in that order of precedence, over the
 * default (see cmdline.c for the table that ties the four together).
 */
#ifndef ER_SETTINGS_H
#define ER_SETTINGS_H

#include <stdint.h>

#include "log.h"

#define SETTINGS_MAX_PLUGIN_DIRS 16

struct settings {
	/* Identity and credentials. */
	char *organization_id;
	char *environment_id;
	char *service_key_file;     /* holds the environment key; never logged */
	char *api_url;              /* default https://api.anthropic.com */
	char *worker_id;            /* default $HOSTNAME-<uuid> */

	/* Plugins. */
	char *sandbox_backend;      /* none|bubblewrap|srt|bwrap|firejail or a path */
	char *executor;             /* toolset|claude-code|command or a path */
	char *plugin_dirs[SETTINGS_MAX_PLUGIN_DIRS];
	int n_plugin_dirs;

	/* Sessions. */
	int capacity;               /* concurrent sessions, default 1 */
	char *workdir;              /* every session's tools work in exactly this dir */
	char *base_dir;             /* else one dir per session under here */
	int keep_session_dirs;
	int max_idle_sec;           /* release after the turn ends; default 60, 0 disables */
	int block_ms;               /* poll hold, 1-999, default 999 */
	int tool_timeout_sec;       /* per tool call, default 120 */
	int drain_wait_sec;         /* on SIGTERM, default 30 */

	/* Logging. */
	int log_level;              /* LOG_LEVEL_* */
	enum log_format log_format;
	char *log_file;             /* NULL: stderr */

	char *config_file;          /* where the file settings came from, if any */
};

void settings_init(struct settings *s);
void settings_release(struct settings *s);

#endif
