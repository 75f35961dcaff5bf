/* SPDX-License-Identifier: MIT */
/*
 * TEMPORARY PLACEHOLDER: the session runtime replaces this file.  It exists
 * so that main(), the loader and the CLI build and can be tested before the
 * runtime lands.
 */
#include "config.h"

#include "runner.h"

int
runner_run(struct settings *s, struct plugin *sandbox, struct plugin *executor)
{
	log_error("runner", "session runtime not implemented in this build");
	return EX_SOFTWARE;
}
