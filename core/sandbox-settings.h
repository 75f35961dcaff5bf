/* SPDX-License-Identifier: MIT */
/* The --sandbox-* settings for sandbox backends (sandbox-settings.c). */
#ifndef ER_SANDBOX_SETTINGS_H
#define ER_SANDBOX_SETTINGS_H

#include <environment-runner/plugin.h>

#include "settings.h"

/* The runner's variables every sandboxed command inherits (plugin ABI 1.2,
 * host->env_allowlist()), NULL-terminated. */
extern const char *const sandbox_env_allowlist[];

/*
 * Fill `out` (its struct_size set by the caller) with the sandbox settings
 * of `s`, checked and with defaults: host->sandbox_settings().  Resolved on
 * the first call and kept (strings and lists stay valid until
 * sandbox_settings_forget()).  0, or -EINVAL, -ESRCH, -EPERM, -ENOMEM with
 * `err` filled, the same on every call.
 */
int sandbox_settings_get(const struct settings *s, struct er_sandbox_settings *out,
			 struct er_error *err);
/* Drop what was resolved (for a process that checks several settings). */
void sandbox_settings_forget(void);

#endif
