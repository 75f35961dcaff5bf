/* SPDX-License-Identifier: MIT */
/* `environment-runner plugin-check FILE` (plugin-check.c). */
#ifndef ER_PLUGIN_CHECK_H
#define ER_PLUGIN_CHECK_H

#include "settings.h"

/* Run the plugin at `file` through its contract checks, printing TAP on
 * stdout.  `s` configures it as the runner's settings would; its service
 * key file is replaced by a scratch one.  Returns 0 when every check
 * passed, 1 when one failed, EX_USAGE for a file named after no kind. */
int plugin_check(struct settings *s, const char *file);

#endif
