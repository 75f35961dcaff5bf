/* SPDX-License-Identifier: MIT */
/*
 * Live upgrade (SIGUSR2, or `environment-runner upgrade PID`): the runner
 * re-executes the binary at the path it was started from, the newly
 * installed version, keeping its process id (README.md, "Upgrading and
 * restarting").  This file holds the process's side of it:
 *
 *  - the check: the new binary, run as `upgrade-check DIR` with the
 *    orchestrator's own flags, loads its plugins (a changed ABI major is
 *    refused there) and reads every item record in DIR (journal.h), then
 *    exits; only when it exits 0 does the runner go on (a binary without
 *    that command refuses it: it never serves);
 *  - the exec, once every item was handed over to its record.
 *
 * What comes between (no new claims nor calls, running calls finished and
 * their results sent, each session's processes ended with its directory
 * and record kept) is the runner's (runner.c); the new image takes the
 * items back from their records as any start does (resume.h).
 */
#ifndef ER_UPGRADE_H
#define ER_UPGRADE_H

#include "runtime.h"

#define UPGRADE_COUNT_VAR "ENVIRONMENT_RUNNER_UPGRADES"
#define UPGRADE_CHECK_TIMEOUT_SEC 30

/* At start, before anything changes the working directory: the binary's
 * path and the arguments to exec it with; the upgrades this process went
 * through (returned; the variable that carried them is removed). */
unsigned upgrade_init(int argc, char **argv);
/* The binary an upgrade executes. */
const char *upgrade_binary(void);

struct host_command;
/* Run the check of the new binary; `done(userdata, ok, why)` follows on
 * the loop.  0, or -errno with `err` set. */
int upgrade_check_start(struct runtime *rt, const char *items_dir,
			void (*done)(void *userdata, int ok, const char *why), void *userdata,
			struct host_command **ret, char *err, size_t errlen);

/* Become the new binary.  Returns only on failure (-errno, logged), after
 * trying the running binary again, so that the items are taken back. */
int upgrade_exec(unsigned upgrades);

#endif
