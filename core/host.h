/* SPDX-License-Identifier: MIT */
/*
 * The host services handed to plugins (struct er_host), core/host.c.
 */
#ifndef ER_HOST_H
#define ER_HOST_H

#include <environment-runner/plugin.h>

#include "runtime.h"

/* For plugin-check: wrap `cmd` with rt->sandbox (`sandbox_sess` its state
 * for the command's session, or NULL) and run it to its end as a session's
 * command runs (its own process group, the builder's process attributes),
 * on rt->loop.  Its stdout and stderr, as they came, land in `out`;
 * *ret_status is as waitpid(2) reports it.  0, -ETIMEDOUT, or another
 * -errno with `err` filled. */
int host_run_wrapped(struct runtime *rt, const struct er_command *cmd, void *sandbox_sess,
		     uint32_t timeout_ms, int *ret_status, char *out, size_t outlen,
		     struct er_error *err);

/* The services table handed to every plugin. */
extern const struct er_host host_services;

#endif
