/* SPDX-License-Identifier: MIT */
/*
 * The runner's settings.  Every one can come from a flag, an environment
 * variable or the config file, in that order of precedence, over the
 * default.  settings_table[] (settings.c) is the one place that ties each
 * setting to its flag, its variable and its config key; cmdline.c parses
 * argv against it, config.c reads the file, and `--help` is printed from it.
 *
 * Ownership: every string member is owned by the struct and freed by
 * settings_release().
 */
#ifndef ER_SETTINGS_H
#define ER_SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>

#include "log.h"

#define SETTINGS_MAX_PLUGIN_DIRS 16

/* Exit codes are sysexits(3), one meaning each (the README's table and the
 * manual page list them): EX_USAGE a bad flag or value on the command line,
 * EX_NOINPUT a missing input file, EX_NOUSER a sandbox user or group that
 * does not exist, EX_UNAVAILABLE a plugin that is missing or cannot run
 * here (and nothing else), EX_SOFTWARE an internal error, EX_OSERR out of
 * memory or another system failure, EX_CANTCREAT the log file or the status
 * listener cannot be created, EX_PROTOCOL polling refused by the control
 * plane, EX_NOPERM the environment key refused, EX_CONFIG bad configuration
 * (file, variable, key file, plugin option). */

/* A plugin option: "name.key" = value, e.g. "bubblewrap.bwrap" = "/usr/bin/bwrap". */
struct settings_option {
	char *key;
	char *value;
};

struct settings {
	/* Identity and credentials. */
	char *organization_id;
	char *environment_id;
	char *service_key_file;	 /* holds the environment key; never logged */
	char *api_url;		 /* default https://api.anthropic.com */
	char *worker_id;	 /* default <hostname>-<random uuid>, kept in state_dir */
	int worker_id_generated; /* not given: state_dir's, or this new one */
	char *ca_file;		 /* trusted CAs (PEM); default $SSL_CERT_FILE, else curl's */
	char *ca_dir;		 /* $SSL_CERT_DIR: hashed CA directories, colon-separated */
	int allow_insecure_http; /* http:// to a host other than the loopback */

	/* Plugins. */
	char *sandbox_backend; /* none|bubblewrap|firejail (srt, bwrap: bubblewrap), a
				     * third-party name, or a path; default none */
	int sandbox_defaulted; /* not chosen: bubblewrap, else landlock (runner.h) */
	char *executor;	       /* toolset|claude-code|command, a name or a path;
				     * default toolset */
	char *plugin_dirs[SETTINGS_MAX_PLUGIN_DIRS];
	int n_plugin_dirs;
	struct settings_option *options; /* plugin options, in order of first setting */
	size_t n_options;
	int plugins_verbose; /* plugins: also descriptions and options */

	/* Executors (read by plugins as "runner.<key>" through config_get). */
	char *exec_path;	     /* claude-code: the CLI, default "claude" on PATH */
	char *inference_url;	     /* claude-code: Messages API base, default api_url */
	char *inference_key_file;    /* claude-code: its key, default $ANTHROPIC_API_KEY */
	char *command;		     /* command: the program, run with /bin/sh -c */
	char *command_lease;	     /* command: runner|program, default runner */
	int command_environment_key; /* command: hand it the environment key */

	/* Sessions. */
	int capacity;	 /* concurrent sessions, default 1 */
	char *workdir;	 /* every session's tools work in exactly this dir */
	char *base_dir;	 /* else one dir per session under here */
	char *state_dir; /* the worker id and the items in flight (journal.h) */
	int keep_session_dirs;
	int max_idle_sec;     /* release after the turn ends; default 60, 0 disables */
	int block_ms;	      /* poll hold, 1-999, default 999 */
	int tool_timeout_sec; /* per tool call, default 325 */
	int drain_wait_sec;   /* on SIGTERM, default 30 */
	int memory_sync_sec;  /* memory stores sync period, default 15 */
	int skills_max_mb;    /* largest skill archive, default 512 */

	/* Watchdogs and lifecycle. */
	int startup_timeout_sec;    /* claim to executor start, default 600, 0: none */
	int kill_session_after_sec; /* whole session (flag in minutes), default 0: none */
	int exit_if_unused_sec;	    /* exit after this long unused (flag in minutes), 0: never */
	int max_sessions;	    /* exit after serving this many, 0: no limit */
	int min_free_disk_mb;	    /* claim nothing while the base dir has less free */
	int sandbox_max_disk_mb;    /* a session's directory, 0: no bound */
	char *hooks_dir;	    /* pre-session, post-session executables */
	int pre_session_hook_timeout_sec;  /* default 600 */
	int post_session_hook_timeout_sec; /* default 60 */
	char *on_work;			   /* hand each item to this command instead */
	int on_work_pass_key;		   /* give it ANTHROPIC_ENVIRONMENT_KEY */

	/* Status listener. */
	int health_port;	  /* -1 until settings_finish: 8080 (run-item: 0), 0: off */
	int health_port_implicit; /* health_port was defaulted, not chosen */
	char *health_addr;	  /* default 127.0.0.1 */
	int ready_poll_age_sec;	  /* /readyz fails after this long without a poll */
	int api_url_defaulted;	  /* run-item: ANTHROPIC_BASE_URL may replace it */

	/* Logging. */
	int log_level; /* LOG_LEVEL_* */
	enum log_format log_format;
	char *log_file; /* NULL: stderr */

	char *config_file; /* where the file settings came from, if any */
};

/* Which subcommands a setting applies to (settings_def.verbs). */
enum settings_verb {
	SETTINGS_VERB_ORCHESTRATOR = 1 << 0,
	SETTINGS_VERB_PLUGINS = 1 << 1,
	SETTINGS_VERB_RUN_ITEM = 1 << 2,
	SETTINGS_VERB_PLUGIN_CHECK = 1 << 3,
	SETTINGS_VERB_UPGRADE = 1 << 4, /* no setting: a process id only */
};

enum settings_type {
	SETTINGS_STRING,
	SETTINGS_URL, /* http:// or https:// */
	SETTINGS_PATH,
	SETTINGS_INT,
	SETTINGS_BOOL, /* a bare flag means yes */
	SETTINGS_LOG_LEVEL,
	SETTINGS_LOG_FORMAT,
	SETTINGS_SANDBOX, /* a plugin name or path, with aliases */
	SETTINGS_EXECUTOR,
	SETTINGS_DIR_LIST, /* repeatable; each use appends */
	SETTINGS_OPTION,   /* repeatable "name.key=value" */
	SETTINGS_CONFIG,   /* the config file itself: flag and variable only */
	SETTINGS_POLICY,   /* sandbox policy, kept as plugin option "sandbox.<key after
			    * sandbox_>": an integer in [min, max] when max > min, else
			    * one of the words of a metavar "a|b|c", else any text */
	SETTINGS_COMMAND,  /* a command line for /bin/sh -c */
	SETTINGS_MINUTES,  /* minutes, decimals allowed, stored as seconds */
};

/* One row of the table. */
struct settings_def {
	const char *flag; /* without "--" */
	const char *env;  /* NULL: no variable */
	const char *key;  /* config key; NULL: not in the file */
	enum settings_type type;
	size_t offset; /* of the member in struct settings */
	int min;       /* SETTINGS_INT */
	int max;
	unsigned verbs;	     /* enum settings_verb */
	const char *metavar; /* for --help, NULL for a bare flag */
	const char *help;    /* one line, names the default */
};

/* Terminated by a row whose `flag` is NULL. */
extern const struct settings_def settings_table[];

void settings_init(struct settings *s);
void settings_release(struct settings *s);

/* Find a row by flag name (no dashes), by variable or by config key
 * ('-' and '_' are equivalent in keys).  NULL when unknown. */
const struct settings_def *settings_def_by_flag(const char *flag);
const struct settings_def *settings_def_by_key(const char *key);

/*
 * Validate `value` for `def` and store it.  On failure fills `err` with
 * "invalid value 'V': expected ..." (the caller prefixes where the value came
 * from) and returns -EINVAL (or -ENOMEM, -E2BIG for too many dirs).
 */
int settings_apply(struct settings *s, const struct settings_def *def, const char *value, char *err,
		   size_t errlen);

/* Plugin options ("name.key", any key with a dot).  set replaces an earlier
 * value; get returns a borrowed string or NULL. */
int settings_set_option(struct settings *s, const char *key, const char *value);
const char *settings_get_option(const struct settings *s, const char *key);
/* Is `key` a syntactically valid plugin option key ("name.key")? */
int settings_is_option_key(const char *key);

/* Canonical plugin name for a sandbox or executor value: aliases resolved
 * ("srt", "bwrap" -> "bubblewrap"), paths and other names returned as is. */
const char *settings_canonical_sandbox(const char *value);
/* Is this one of the names the runner ships?  (For error messages: an
 * unknown name is a usage error, a known one that is missing is not.) */
int settings_is_known_sandbox(const char *name);
int settings_is_known_executor(const char *name);

/*
 * Fill in computed defaults (worker id, base dir) and check what the verb
 * needs (orchestrator: environment id and a safe service key file).
 * Returns 0 or a sysexits code with one line in `err`.
 */
int settings_finish(struct settings *s, unsigned verb, char *err, size_t errlen);

/*
 * Refuse an http:// URL whose host is not the loopback unless
 * --allow-insecure-http: credentials would cross the network in clear text.
 * `source` names where the URL came from ("--api-url").  Returns 0 or
 * EX_USAGE with `err` filled.
 */
int settings_check_url(const struct settings *s, const char *url, const char *source, char *err,
		       size_t errlen);

/*
 * Check the service key file against the key-file policy (keyfile.h).
 * Returns 0, EX_NOINPUT (missing, unreadable) or EX_CONFIG (unsafe mode or
 * owner, not a file).
 */
int settings_check_key_file(const char *path, char *err, size_t errlen);

/*
 * Read the service key: the file's content with surrounding whitespace
 * trimmed, after checking the open file as above.  The key is registered with
 * log_add_secret().  On success *ret_key is a new string the caller frees
 * (wipe it first); returns 0, or -ENOENT/-EACCES (unreadable: EX_NOINPUT),
 * -EPERM (unsafe mode: EX_CONFIG), -EINVAL (empty or not one line:
 * EX_CONFIG), -ENOMEM; `err` names the file and the fix.
 */
int settings_read_service_key(const struct settings *s, char **ret_key, char *err, size_t errlen);
/* The same for any key file: `what` names it in messages ("service key
 * file"), `flag` is the setting that gives it ("service-key-file"). */
int settings_read_key_file(const char *path, const char *what, const char *flag, char **ret_key,
			   char *err, size_t errlen);

/* getenv() that ignores the environment of setuid programs where libc can
 * tell (secure_getenv); empty values read as unset. */
const char *settings_getenv(const char *name);

/* The default sandbox backend, as --help states it (runner.h). */
#ifdef ER_DEFAULT_SANDBOX_FALLBACK
#define SETTINGS_DEFAULT_SANDBOX_TEXT                                                              \
	ER_DEFAULT_SANDBOX " where it runs, else " ER_DEFAULT_SANDBOX_FALLBACK
#else
#define SETTINGS_DEFAULT_SANDBOX_TEXT ER_DEFAULT_SANDBOX
#endif

/* When no candidate of the default sandbox backend runs: the runner never
 * falls back to no isolation on its own. */
#define SETTINGS_DEFAULT_SANDBOX_FIX                                                               \
	"fix: install bubblewrap and allow unprivileged user namespaces, or run a "                \
	"kernel with Landlock (Linux 5.19 or later), or choose --sandbox-backend=none "            \
	"to run tools with no isolation"
#endif
