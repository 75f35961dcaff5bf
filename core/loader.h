/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader (docs/design.md §3).
 *
 * A plugin NAME of kind K lives in the file `K-NAME.so` (sandbox-none.so,
 * executor-toolset.so), searched in each --plugin-dir, then each directory
 * of $ER_PLUGIN_PATH (colon-separated), then the installed ER_PLUGIN_DIR
 * (unless ER_NO_SYSTEM_PLUGINS=1, as in the test suite); a value
 * containing '/' is an explicit path.  Before dlopen the file must be
 * a regular file and, when the runner runs as root, owned by root (or the
 * runner's user) and not group- or world-writable.  The descriptor
 * `er_plugin_v1` is then checked: magic, ABI major, min_host_minor,
 * struct_size, kind, and name against the file name.  The kind's vtable is
 * copied into a zeroed struct of the runner's size, so members a plugin
 * built against an older minor does not know read as NULL.
 *
 * The loader does not log: every function fills `err` with one line that
 * names the file and the fault, and the caller logs it once and exits with
 * loader_exit_code(r).
 */
#ifndef ER_LOADER_H
#define ER_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include <environment-runner/plugin.h>

#include "settings.h"

#define LOADER_ERR_MAX 512

struct plugin {
	/* The file loaded. */
	char *path;
	/* ER_KIND_*. */
	uint32_t kind;
	/* The descriptor, host-sized, zero-filled past the plugin's
	 * struct_size (desc_size). */
	struct er_plugin desc;
	uint32_t desc_size;
	/* The kind's ops, host-sized, zero-filled past the plugin's
	 * struct_size (ops_size): a NULL member means "use the default". */
	union {
		struct er_sandbox_ops sandbox;
		struct er_executor_ops executor;
	} ops;
	uint32_t ops_size;
	/* From create(); NULL and 0 before. */
	void *state;
	int created;
	/* The dlopen() handle. */
	void *dl;
};

/* "sandbox", "executor" or "unknown". */
const char *loader_kind_to_string(uint32_t kind);

/*
 * Find the plugin `name` (or the path, if `name` contains '/') of `kind` in
 * the search path of `s` and open it: checks, dlopen, descriptor checks.
 * Does not call create.  On success *ret_plugin is closed with
 * plugin_close().  Returns 0 or -errno: -ENOENT not found (err lists where
 * it looked), -EINVAL bad name, -EPERM unsafe file, -ENOEXEC not a plugin or
 * a bad descriptor, -EPROTO another ABI, -ENOMEM.
 */
int loader_find_and_open(const struct settings *s, uint32_t kind, const char *name,
			 struct plugin **ret_plugin, char *err, size_t errlen);

/* Open the file at `path` as a plugin of `kind`; the expected name is the
 * file name without "K-" and ".so". */
int loader_open_path(const char *path, uint32_t kind, struct plugin **ret_plugin, char *err,
		     size_t errlen);

/*
 * Call the plugin's create() with the host table.  On failure err reads
 * "plugin 'PATH': create failed: <plugin's message>" and the plugin is left
 * un-created (plugin_close() still needed).  Returns 0 or the plugin's
 * negative code.  `host` and `host_ctx` must outlive plugin_close().
 */
int plugin_create(struct plugin *p, const struct er_host *host, void *host_ctx, char *err,
		  size_t errlen);

/* For a created sandbox plugin: run probe() if it has one.  0 or its code. */
int plugin_probe(struct plugin *p, char *err, size_t errlen);

/* destroy() if created; NULL-safe, idempotent.  Call it while the host
 * services the plugin was created with still work: its state may hold fd
 * watches and timers on the event loop. */
void plugin_destroy(struct plugin *p);

/* plugin_destroy(), dlclose() (unless ER_NO_DLCLOSE=1), free.  NULL-safe. */
void plugin_close(struct plugin *p);

/* The sysexits code for a loader, create or probe error: EX_CONFIG for a
 * file refused on inspection or a configuration the plugin rejects (-EINVAL,
 * -EPERM, -ENOEXEC, -EPROTO), EX_OSERR for -ENOMEM, EX_NOUSER for -ESRCH (a
 * user or group the configuration names does not exist), EX_UNAVAILABLE for
 * the rest (-ENOENT not found or binary missing, -ENOTSUP, ...). */
int loader_exit_code(int r);

/*
 * Every plugin option of `s` ("NAME.KEY") must be one that one of the
 * `sandboxes` (the candidates of the default: any of them may serve) or
 * `executor` declares in its options table, or a shared "sandbox.*" key of a
 * --sandbox-* setting.  Otherwise -EINVAL, and err names the key and lists
 * the valid ones (the caller exits with EX_USAGE).
 */
int
loader_check_options(const struct settings *s, const struct plugin *const *sandboxes,
		     size_t n_sandboxes, const struct plugin *executor, char *err, size_t errlen);

/* Calls cb for each entry of a plugin's options table, stopping at the
 * terminator or after a sane maximum. */
typedef void (*loader_option_cb)(void *userdata, const struct er_option *opt);
void loader_for_each_option(const struct plugin *p, loader_option_cb cb, void *userdata);

/*
 * The search path of `s`: each --plugin-dir, each $ER_PLUGIN_PATH entry,
 * ER_PLUGIN_DIR (unless $ER_NO_SYSTEM_PLUGINS is 1).  Calls cb for every directory in order; stops when cb
 * returns non-zero and returns that value.
 */
int loader_for_each_dir(const struct settings *s, int (*cb)(void *userdata, const char *dir),
			void *userdata);

/*
 * For `plugins`: every file named sandbox-*.so or executor-*.so in the
 * search path, in search order.  cb gets the path, the plugin when it loads
 * (borrowed for the call; create is never called), else NULL and the
 * reason; `shadowed_by` is non-NULL when an earlier directory holds a file
 * of the same name (that one wins).  Returns 0 or -ENOMEM.
 */
typedef void (*loader_scan_cb)(void *userdata, const char *path, const struct plugin *p,
			       const char *why, const char *shadowed_by);
int loader_scan(const struct settings *s, loader_scan_cb cb, void *userdata);

#endif
