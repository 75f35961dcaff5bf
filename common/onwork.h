/* SPDX-License-Identifier: MIT */
/*
 * The contract of `ant beta:worker poll --on-work`: what a program handed
 * a claimed item gets.  Shared by the runner's --on-work and the command
 * executor (plugins/executor-command/command.c), which say how they use it.
 *
 *   ANTHROPIC_WORK_ID, ANTHROPIC_ENVIRONMENT_ID, ANTHROPIC_SESSION_ID,
 *   ANTHROPIC_BASE_URL,
 *   the item's secret (base64url JSON holding the sessions token) as
 *   ANTHROPIC_WORK_SECRET, or in a file without a name on a descriptor
 *   the program inherits, named by ANTHROPIC_WORK_SECRET_FILE (/dev/fd/N),
 *   ANTHROPIC_ENVIRONMENT_KEY when the operator allows it,
 * and the claimed work item as JSON, secret included, on its standard input.
 */
#ifndef ER_ONWORK_H
#define ER_ONWORK_H

#include <stddef.h>

#include "buf.h"

struct onwork_item {
	const char *work_id;
	const char *environment_id;
	const char *session_id;	     /* NULL: not set */
	const char *base_url;	     /* NULL: not set */
	const char *work_secret;     /* in ANTHROPIC_WORK_SECRET; NULL: not set */
	int work_secret_fd;	     /* ANTHROPIC_WORK_SECRET_FILE; -1: not set */
	const char *environment_key; /* NULL: not set */
};

/* The most variables onwork_env sets. */
#define ONWORK_ENV_MAX 7
/* The largest work item written on the program's input. */
#define ONWORK_INPUT_MAX (8u << 20)

/* Fill `env` with the contract's variables for `item`, as malloc'd
 * NAME=value strings followed by NULL: 0, or -ENOMEM with nothing left
 * allocated. */
int onwork_env(const struct onwork_item *item, char *env[ONWORK_ENV_MAX + 1]);
/* Wipe (they hold credentials) and free what onwork_env filled. */
void onwork_env_free(char **env);

/* The work item as the program reads it: `work_json` (an object), with
 * `secret` added as "secret" unless NULL, and a newline.  `b` is
 * initialized here; wipe it before releasing it.  0, -EINVAL (not an
 * object) or -ENOMEM. */
int onwork_input(struct buf *b, const char *work_json, size_t len, const char *secret);

/* The secret in a file without a name for ANTHROPIC_WORK_SECRET_FILE: a
 * memfd, or where there is none, a file made in `private_dir` (a private
 * directory no sandbox shows) and unlinked at once.  Reading /dev/fd/N
 * reopens it through the process's own descriptor table, which only the
 * program's processes hold.  It belongs to the owner of `workdir`, the
 * user the sandbox runs the program as, mode 0400.  Its descriptor
 * (close-on-exec, at offset 0), or -errno. */
int onwork_secret_file(const char *private_dir, const char *workdir, const char *secret);

#endif
