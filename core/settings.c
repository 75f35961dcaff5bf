/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"
#include "settings.h"
#include "wipe.h"

#define KEY_FILE_MAX 65536
#define CA_FILE_SCAN 65536

#define OFF(m) offsetof(struct settings, m)
#define ORCH SETTINGS_VERB_ORCHESTRATOR
/* plugin-check takes what configures the plugins of a session. */
#define BOTH                                                                                       \
	(SETTINGS_VERB_ORCHESTRATOR | SETTINGS_VERB_PLUGINS | SETTINGS_VERB_RUN_ITEM |             \
	 SETTINGS_VERB_PLUGIN_CHECK)
#define SERVE (SETTINGS_VERB_ORCHESTRATOR | SETTINGS_VERB_RUN_ITEM | SETTINGS_VERB_PLUGIN_CHECK)

/*
 * Every setting: flag, environment variable, config key.  The plugin
 * search path has no variable of its own here: the loader reads
 * ER_PLUGIN_PATH after the directories given by flag or file.
 */
const struct settings_def settings_table[] = {
	{ "organization-id", "ER_ORGANIZATION_ID", "organization_id", SETTINGS_STRING,
	  OFF(organization_id), 0, 0, ORCH, "ID", "organization the environment belongs to" },
	{ "environment-id", "ER_ENVIRONMENT_ID", "environment_id", SETTINGS_STRING,
	  OFF(environment_id), 0, 0, ORCH, "ID", "environment to serve (required)" },
	{ "service-key-file", "ER_SERVICE_KEY_FILE", "service_key_file", SETTINGS_PATH,
	  OFF(service_key_file), 0, 0, ORCH, "FILE",
	  "file holding the environment's service key, mode 0600 (default: "
	  "$CREDENTIALS_DIRECTORY/service-key, a systemd credential)" },
	{ "api-url", "ER_API_URL", "api_url", SETTINGS_URL, OFF(api_url), 0, 0, SERVE, "URL",
	  "control plane (default https://api.anthropic.com)" },
	{ "ca-file", "ER_CA_FILE", "ca_file", SETTINGS_PATH, OFF(ca_file), 0, 0, SERVE, "FILE",
	  "trust only the CAs of this PEM file for HTTPS, e.g. a private or a proxy's CA "
	  "(default: $SSL_CERT_FILE, else the system's)" },
	{ "allow-insecure-http", "ER_ALLOW_INSECURE_HTTP", "allow_insecure_http", SETTINGS_BOOL,
	  OFF(allow_insecure_http), 0, 1, SERVE, NULL,
	  "accept an http:// API or inference URL on a host other than the loopback: keys "
	  "cross the network in clear text (default no)" },
	{ "worker-id", "ER_WORKER_ID", "worker_id", SETTINGS_STRING, OFF(worker_id), 0, 0, SERVE,
	  "ID", "this worker's id (default <hostname>-<random uuid>)" },
	{ "sandbox-backend", "ER_SANDBOX_BACKEND", "sandbox_backend", SETTINGS_SANDBOX,
	  OFF(sandbox_backend), 0, 0, SERVE, "NAME",
	  "none|bubblewrap|landlock|firejail (srt, bwrap: bubblewrap), or a plugin path "
	  "(default " SETTINGS_DEFAULT_SANDBOX_TEXT "; none: no isolation)" },
	{ "sandbox-network", "ER_SANDBOX_NETWORK", "sandbox_network", SETTINGS_POLICY, 0, 0, 0,
	  SERVE, "none|host|allowlist",
	  "network of sandboxed commands; allowlist: only --sandbox-allowed-domains, through "
	  "the runner's proxy (default none)" },
	{ "sandbox-allowed-domains", "ER_SANDBOX_ALLOWED_DOMAINS", "sandbox_allowed_domains",
	  SETTINGS_POLICY, 0, 0, 0, SERVE, "LIST",
	  "comma-separated domains for allowlist; *.example.com matches subdomains; port 443 "
	  "unless an entry ends in :PORT" },
	{ "sandbox-user", "ER_SANDBOX_USER", "sandbox_user", SETTINGS_POLICY, 0, 0, 0, SERVE,
	  "USER[:GROUP]",
	  "when root, run sandboxed commands as USER (default environment-runner if it exists, "
	  "else nobody)" },
	{ "sandbox-read-only", "ER_SANDBOX_READ_ONLY", "sandbox_read_only", SETTINGS_POLICY, 0, 0,
	  0, SERVE, "PATHS",
	  "colon-separated host paths the sandbox may read (besides /usr, /etc)" },
	{ "sandbox-read-write", "ER_SANDBOX_READ_WRITE", "sandbox_read_write", SETTINGS_POLICY, 0,
	  0, 0, SERVE, "PATHS",
	  "colon-separated host paths the sandbox may write (besides the session's directory)" },
	{ "sandbox-deny", "ER_SANDBOX_DENY", "sandbox_deny", SETTINGS_POLICY, 0, 0, 0, SERVE,
	  "PATHS", "colon-separated paths hidden from the sandbox, even inside the above" },
	{ "sandbox-max-procs", "ER_SANDBOX_MAX_PROCS", "sandbox_max_procs", SETTINGS_POLICY, 0, 8,
	  1000000, SERVE, "N",
	  "process limit (RLIMIT_NPROC) of sandboxed commands (default 1024)" },
	{ "sandbox-max-open-files", "ER_SANDBOX_MAX_OPEN_FILES", "sandbox_max_open_files",
	  SETTINGS_POLICY, 0, 16, 1048576, SERVE, "N",
	  "open-file limit (RLIMIT_NOFILE) of sandboxed commands (default 1024)" },
	{ "sandbox-max-file-size-mb", "ER_SANDBOX_MAX_FILE_SIZE_MB", "sandbox_max_file_size_mb",
	  SETTINGS_POLICY, 0, 0, 1048576, SERVE, "MB",
	  "largest file a sandboxed command may write, MiB, RLIMIT_FSIZE (default 16384, 0: "
	  "no limit)" },
	{ "sandbox-memory-mb", "ER_SANDBOX_MEMORY_MB", "sandbox_memory_mb", SETTINGS_POLICY, 0, 0,
	  1048576, SERVE, "MB",
	  "memory cap of one session's commands, MiB, where a cgroup is writable (default 4096, "
	  "0: none)" },
	{ "sandbox-max-disk-mb", "ER_SANDBOX_MAX_DISK_MB", "sandbox_max_disk_mb", SETTINGS_INT,
	  OFF(sandbox_max_disk_mb), 0, 1000000000, SERVE, "MB",
	  "disk one session's directory may take, MiB; past it its commands are killed and the "
	  "session ends with a session.error (default 0: no bound)" },
	{ "executor", "ER_EXECUTOR", "executor", SETTINGS_EXECUTOR, OFF(executor), 0, 0, SERVE,
	  "NAME", "toolset|claude-code|command, or a plugin path (default toolset)" },
	{ "exec-path", "ER_EXEC_PATH", "exec_path", SETTINGS_PATH, OFF(exec_path), 0, 0, SERVE,
	  "PATH", "claude-code executor: the Claude Code CLI (default claude on PATH)" },
	{ "inference-url", "ER_INFERENCE_URL", "inference_url", SETTINGS_URL, OFF(inference_url), 0,
	  0, SERVE, "URL", "claude-code executor: Messages API base (default --api-url)" },
	{ "inference-key-file", "ER_INFERENCE_KEY_FILE", "inference_key_file", SETTINGS_PATH,
	  OFF(inference_key_file), 0, 0, SERVE, "FILE",
	  "claude-code executor: file holding the Messages API key, as --service-key-file (default "
	  "$ANTHROPIC_API_KEY)" },
	{ "command", "ER_COMMAND", "command", SETTINGS_PATH, OFF(command), 0, 0, SERVE,
	  "'PROGRAM ARGS'", "command executor: run this with /bin/sh -c for each claimed item" },
	{ "command-lease", "ER_COMMAND_LEASE", "command_lease", SETTINGS_STRING, OFF(command_lease),
	  0, 0, SERVE, "runner|program",
	  "command executor: who heartbeats the item (default runner; program: the command, "
	  "as the SDK's handleItem() does)" },
	{ "command-environment-key", "ER_COMMAND_ENVIRONMENT_KEY", "command_environment_key",
	  SETTINGS_BOOL, OFF(command_environment_key), 0, 1, SERVE, NULL,
	  "command executor: also pass ANTHROPIC_ENVIRONMENT_KEY (default: only the item's "
	  "secret)" },
	{ "plugin-dir", NULL, "plugin_dir", SETTINGS_DIR_LIST, OFF(plugin_dirs), 0, 0, BOTH, "DIR",
	  "search plugins here first (repeatable; then $ER_PLUGIN_PATH, then "
	  "the installed directory)" },
	{ "plugin-option", NULL, NULL, SETTINGS_OPTION, OFF(options), 0, 0, SERVE, "NAME.KEY=VALUE",
	  "an option the selected sandbox or executor declares, e.g. bubblewrap.bwrap=PATH "
	  "(repeatable; in the file: NAME.KEY = VALUE; 'plugins --verbose' lists them)" },
	{ "verbose", NULL, NULL, SETTINGS_BOOL, OFF(plugins_verbose), 0, 1, SETTINGS_VERB_PLUGINS,
	  NULL, "also show each plugin's description and options" },
	{ "config", "ER_CONFIG", NULL, SETTINGS_CONFIG, OFF(config_file), 0, 0, BOTH, "FILE",
	  "read settings from FILE (key = value lines)" },
	{ "capacity", "ER_CAPACITY", "capacity", SETTINGS_INT, OFF(capacity), 1, 10000, ORCH, "N",
	  "concurrent sessions (default 1)" },
	{ "workdir", "ER_WORKDIR", "workdir", SETTINGS_PATH, OFF(workdir), 0, 0, SERVE, "DIR",
	  "run every session's tools in exactly this directory" },
	{ "base-dir", "ER_BASE_DIR", "base_dir", SETTINGS_PATH, OFF(base_dir), 0, 0, SERVE, "DIR",
	  "else one directory per session under DIR (default: see README)" },
	{ "state-dir", "ER_STATE_DIR", "state_dir", SETTINGS_PATH, OFF(state_dir), 0, 0, ORCH,
	  "DIR",
	  "keep the worker id and a record of each item in flight under DIR, so that a runner "
	  "started again resumes them (default: see README)" },
	{ "keep-session-dirs", "ER_KEEP_SESSION_DIRS", "keep_session_dirs", SETTINGS_BOOL,
	  OFF(keep_session_dirs), 0, 1, SERVE, NULL, "keep session directories after the session" },
	{ "max-idle-sec", "ER_MAX_IDLE_SEC", "max_idle_sec", SETTINGS_INT, OFF(max_idle_sec), 0,
	  86400, SERVE, "N",
	  "release a session N seconds after its turn ends (default 60, 0: never)" },
	{ "block-ms", "ER_BLOCK_MS", "block_ms", SETTINGS_INT, OFF(block_ms), 1, 999, ORCH, "MS",
	  "long-poll hold, 1-999 (default 999)" },
	{ "tool-timeout-sec", "ER_TOOL_TIMEOUT_SEC", "tool_timeout_sec", SETTINGS_INT,
	  OFF(tool_timeout_sec), 1, 86400, SERVE, "N",
	  "time limit of one tool call (default 325)" },
	{ "drain-wait-sec", "ER_DRAIN_WAIT_SEC", "drain_wait_sec", SETTINGS_INT,
	  OFF(drain_wait_sec), 0, 3600, SERVE, "N",
	  "on SIGTERM, wait this long for sessions to end (default 30)" },
	{ "memory-sync-sec", "ER_MEMORY_SYNC_SEC", "memory_sync_sec", SETTINGS_INT,
	  OFF(memory_sync_sec), 5, 86400, SERVE, "N",
	  "sync the session's memory stores every N seconds, at least 5 (default 15)" },
	{ "skills-max-mb", "ER_SKILLS_MAX_MB", "skills_max_mb", SETTINGS_INT, OFF(skills_max_mb), 1,
	  1048576, SERVE, "MB",
	  "refuse a skill archive larger than this, or unpacking to more, MiB (default 512)" },
	{ "startup-timeout-sec", "ER_STARTUP_TIMEOUT_SEC", "startup_timeout_sec", SETTINGS_INT,
	  OFF(startup_timeout_sec), 0, 86400, SERVE, "N",
	  "fail a session not started N seconds after its claim (default 600, 0: never)" },
	{ "kill-session-after-min", "ER_KILL_SESSION_AFTER_MIN", "kill_session_after_min",
	  SETTINGS_MINUTES, OFF(kill_session_after_sec), 0, 525600, SERVE, "N",
	  "end a session N minutes after its claim (default 0: never)" },
	{ "exit-if-unused-min", "ER_EXIT_IF_UNUSED_MIN", "exit_if_unused_min", SETTINGS_MINUTES,
	  OFF(exit_if_unused_sec), 0, 525600, ORCH, "N",
	  "exit 0 after N minutes without a session and with an empty queue (default 0: never)" },
	{ "max-sessions", "ER_MAX_SESSIONS", "max_sessions", SETTINGS_INT, OFF(max_sessions), 0,
	  1000000000, ORCH, "N", "claim N items, then drain and exit 0 (default 0: no limit)" },
	{ "min-free-disk-mb", "ER_MIN_FREE_DISK_MB", "min_free_disk_mb", SETTINGS_INT,
	  OFF(min_free_disk_mb), 0, 1000000000, ORCH, "MB",
	  "claim nothing while the base directory has less free space (default 0: no check)" },
	{ "hooks-dir", "ER_HOOKS_DIR", "hooks_dir", SETTINGS_PATH, OFF(hooks_dir), 0, 0, SERVE,
	  "DIR", "run the pre-session and post-session executables found in DIR" },
	{ "pre-session-hook-timeout-sec", "ER_PRE_SESSION_HOOK_TIMEOUT_SEC",
	  "pre_session_hook_timeout_sec", SETTINGS_INT, OFF(pre_session_hook_timeout_sec), 1, 86400,
	  SERVE, "N", "time limit of the pre-session hook (default 600)" },
	{ "post-session-hook-timeout-sec", "ER_POST_SESSION_HOOK_TIMEOUT_SEC",
	  "post_session_hook_timeout_sec", SETTINGS_INT, OFF(post_session_hook_timeout_sec), 1,
	  86400, SERVE, "N", "time limit of the post-session hook (default 60)" },
	{ "on-work", "ER_ON_WORK", "on_work", SETTINGS_COMMAND, OFF(on_work), 0, 0, ORCH, "CMD",
	  "hand each claimed item to CMD (run by /bin/sh -c; work JSON on stdin) instead of "
	  "serving it here" },
	{ "on-work-pass-key", "ER_ON_WORK_PASS_KEY", "on_work_pass_key", SETTINGS_BOOL,
	  OFF(on_work_pass_key), 0, 1, ORCH, NULL,
	  "also give --on-work's command ANTHROPIC_ENVIRONMENT_KEY (default: never)" },
	{ "health-port", "ER_HEALTH_PORT", "health_port", SETTINGS_INT, OFF(health_port), 0, 65535,
	  SERVE, "PORT",
	  "serve /healthz, /readyz, /metrics on PORT (default 8080; run-item: 0; 0: off)" },
	{ "health-addr", "ER_HEALTH_ADDR", "health_addr", SETTINGS_STRING, OFF(health_addr), 0, 0,
	  SERVE, "ADDR", "numeric address of the status listener (default 127.0.0.1)" },
	{ "ready-poll-age-sec", "ER_READY_POLL_AGE_SEC", "ready_poll_age_sec", SETTINGS_INT,
	  OFF(ready_poll_age_sec), 1, 86400, ORCH, "N",
	  "/readyz fails when no poll succeeded for N seconds while polling (default 120)" },
	{ "log-level", "ER_LOG_LEVEL", "log_level", SETTINGS_LOG_LEVEL, OFF(log_level), 0, 0, SERVE,
	  "LEVEL", "error|warning|notice|info|debug (default info)" },
	{ "log-format", "ER_LOG_FORMAT", "log_format", SETTINGS_LOG_FORMAT, OFF(log_format), 0, 0,
	  SERVE, "FORMAT", "logfmt|json (default logfmt)" },
	{ "log-file", "ER_LOG_FILE", "log_file", SETTINGS_PATH, OFF(log_file), 0, 0, SERVE, "FILE",
	  "append log lines to FILE, reopened on SIGHUP (default: stderr)" },
	{ NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL },
};

static const char *const known_sandboxes[] = { "none", "bubblewrap", "landlock", "firejail", NULL };
static const char *const known_executors[] = { "toolset", "claude-code", "command", NULL };

void
settings_init(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	s->capacity = 1;
	s->max_idle_sec = 60;
	s->block_ms = 999;
	s->tool_timeout_sec = 325;
	s->drain_wait_sec = 30;
	s->memory_sync_sec = 15;
	s->skills_max_mb = 512;
	s->startup_timeout_sec = 600;
	s->pre_session_hook_timeout_sec = 600;
	s->post_session_hook_timeout_sec = 60;
	s->health_port = -1;
	s->ready_poll_age_sec = 120;
	s->log_level = LOG_LEVEL_INFO;
	s->log_format = LOG_FORMAT_LOGFMT;
}

void
settings_release(struct settings *s)
{
	free(s->organization_id);
	free(s->environment_id);
	free(s->service_key_file);
	free(s->api_url);
	free(s->ca_file);
	free(s->ca_dir);
	free(s->worker_id);
	free(s->sandbox_backend);
	free(s->executor);
	free(s->exec_path);
	free(s->inference_url);
	free(s->inference_key_file);
	free(s->command);
	free(s->command_lease);
	for (int i = 0; i < s->n_plugin_dirs; i++)
		free(s->plugin_dirs[i]);
	for (size_t i = 0; i < s->n_options; i++) {
		free(s->options[i].key);
		free(s->options[i].value);
	}
	free(s->options);
	free(s->workdir);
	free(s->base_dir);
	free(s->state_dir);
	free(s->log_file);
	free(s->hooks_dir);
	free(s->on_work);
	free(s->health_addr);
	free(s->config_file);
	memset(s, 0, sizeof(*s));
}

/* Compare config keys treating '-' and '_' alike. */
static int
key_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char ca = *a == '-' ? '_' : *a;
		char cb = *b == '-' ? '_' : *b;

		if (ca != cb)
			return 0;
	}
	return *a == *b;
}

const struct settings_def *
settings_def_by_flag(const char *flag)
{
	for (const struct settings_def *d = settings_table; d->flag; d++)
		if (strcmp(d->flag, flag) == 0)
			return d;
	return NULL;
}

const struct settings_def *
settings_def_by_key(const char *key)
{
	for (const struct settings_def *d = settings_table; d->flag; d++)
		if (d->key && key_equal(d->key, key))
			return d;
	return NULL;
}

const char *
settings_getenv(const char *name)
{
	const char *v;

#ifdef HAVE_SECURE_GETENV
	v = secure_getenv(name);
#else
	v = getenv(name);
#endif
	return v && *v ? v : NULL;
}

static int
is_plugin_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(islower(c) || isdigit(c) || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int
settings_is_option_key(const char *key)
{
	const char *dot = strchr(key, '.');
	size_t n;

	if (!dot || dot == key || dot[1] == '\0' || strlen(key) > 128)
		return 0;
	n = (size_t)(dot - key);
	for (size_t i = 0; key[i]; i++) {
		unsigned char c = (unsigned char)key[i];

		if (i == n)
			continue;
		if (!(islower(c) || isdigit(c) || c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

const char *
settings_canonical_sandbox(const char *value)
{
	if (strcmp(value, "srt") == 0 || strcmp(value, "bwrap") == 0)
		return "bubblewrap";
	return value;
}

static int
in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

int
settings_is_known_sandbox(const char *name)
{
	return in_list(known_sandboxes, settings_canonical_sandbox(name));
}

int
settings_is_known_executor(const char *name)
{
	return in_list(known_executors, name);
}

static int
set_string(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

static int
parse_int(const char *value, int min, int max, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < min || v > max)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static int
parse_bool(const char *value, int *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on", NULL };
	static const char *const no[] = { "0", "no", "false", "off", NULL };

	for (int i = 0; yes[i]; i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*ret = 1;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*ret = 0;
			return 0;
		}
	}
	return -EINVAL;
}

/* Is `value` one of the '|'-separated words of `words`? */
static int
is_word_of(const char *value, const char *words)
{
	size_t n = strlen(value);
	const char *w = words;

	for (;;) {
		const char *end = strchr(w, '|');
		size_t len = end ? (size_t)(end - w) : strlen(w);

		if (len == n && strncmp(w, value, n) == 0)
			return 1;
		if (!end)
			return 0;
		w = end + 1;
	}
}

int
settings_set_option(struct settings *s, const char *key, const char *value)
{
	struct settings_option *v;
	char *k;
	char *val;

	for (size_t i = 0; i < s->n_options; i++)
		if (strcmp(s->options[i].key, key) == 0)
			return set_string(&s->options[i].value, value);
	k = strdup(key);
	val = strdup(value);
	v = realloc(s->options, (s->n_options + 1) * sizeof(*v));
	if (!k || !val || !v) {
		free(k);
		free(val);
		if (v)
			s->options = v;
		return -ENOMEM;
	}
	v[s->n_options].key = k;
	v[s->n_options].value = val;
	s->options = v;
	s->n_options++;
	return 0;
}

const char *
settings_get_option(const struct settings *s, const char *key)
{
	for (size_t i = 0; i < s->n_options; i++)
		if (strcmp(s->options[i].key, key) == 0)
			return s->options[i].value;
	return NULL;
}

int
settings_apply(struct settings *s, const struct settings_def *d, const char *value, char *err,
	       size_t errlen)
{
	char *base = (char *)s;
	char **str = (char **)(void *)(base + d->offset);
	int *num = (int *)(void *)(base + d->offset);
	const char *eq;
	int v;

	switch (d->type) {
	case SETTINGS_STRING:
		if (!*value || strlen(value) > 256) {
			snprintf(
				err, errlen,
				"invalid value '%s'; fix: give a non-empty id of at most 256 bytes",
				value);
			return -EINVAL;
		}
		return set_string(str, value);
	case SETTINGS_URL:
		if (strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0) {
			snprintf(err, errlen,
				 "invalid value '%s'; fix: give a URL starting with https:// (or "
				 "http://)",
				 value);
			return -EINVAL;
		}
		return set_string(str, value);
	case SETTINGS_MINUTES: {
		char *end;
		double m;

		errno = 0;
		m = strtod(value, &end);
		if (errno || end == value || *end || !(m >= d->min) || m > d->max) {
			snprintf(err, errlen,
				 "invalid value '%s'; fix: give minutes from %d to %d (decimals "
				 "allowed)",
				 value, d->min, d->max);
			return -EINVAL;
		}
		v = (int)(m * 60.0 + 0.999);
		*num = v;
		return 0;
	}
	case SETTINGS_COMMAND:
		if (!*value || strlen(value) > 4096) {
			snprintf(err, errlen, "invalid value '%s'; fix: give a command line",
				 value);
			return -EINVAL;
		}
		return set_string(str, value);
	case SETTINGS_PATH:
	case SETTINGS_CONFIG:
		if (!*value || strlen(value) >= PATH_MAX) {
			snprintf(err, errlen,
				 "invalid value '%s'; fix: give a file or directory path", value);
			return -EINVAL;
		}
		return set_string(str, value);
	case SETTINGS_INT:
		if (parse_int(value, d->min, d->max, &v) < 0) {
			snprintf(err, errlen,
				 "invalid value '%s'; fix: give an integer from %d to %d", value,
				 d->min, d->max);
			return -EINVAL;
		}
		*num = v;
		return 0;
	case SETTINGS_BOOL:
		if (parse_bool(value, &v) < 0) {
			snprintf(err, errlen, "invalid value '%s'; fix: give yes or no", value);
			return -EINVAL;
		}
		*num = v;
		return 0;
	case SETTINGS_LOG_LEVEL:
		v = log_level_from_string(value);
		if (v < 0) {
			snprintf(err, errlen,
				 "invalid value '%s'; fix: give error, warning, notice, info or "
				 "debug",
				 value);
			return -EINVAL;
		}
		*num = v;
		return 0;
	case SETTINGS_LOG_FORMAT:
		if (strcmp(value, "logfmt") == 0) {
			s->log_format = LOG_FORMAT_LOGFMT;
		} else if (strcmp(value, "json") == 0) {
			s->log_format = LOG_FORMAT_JSON;
		} else {
			snprintf(err, errlen, "invalid value '%s'; fix: give logfmt or json",
				 value);
			return -EINVAL;
		}
		return 0;
	case SETTINGS_SANDBOX:
		if (!strchr(value, '/') && !is_plugin_name(value)) {
			snprintf(err, errlen,
				 "unknown sandbox backend '%s'; fix: use none, bubblewrap (or its "
				 "aliases srt, bwrap), landlock, firejail, or the path of a plugin",
				 value);
			return -EINVAL;
		}
		return set_string(str, settings_canonical_sandbox(value));
	case SETTINGS_EXECUTOR:
		if (!strchr(value, '/') && !is_plugin_name(value)) {
			snprintf(
				err, errlen,
				"unknown executor '%s'; fix: use toolset, claude-code, command, or "
				"the path of a plugin",
				value);
			return -EINVAL;
		}
		return set_string(str, value);
	case SETTINGS_DIR_LIST:
		if (!*value) {
			snprintf(err, errlen, "empty directory; fix: give a directory");
			return -EINVAL;
		}
		if (s->n_plugin_dirs >= SETTINGS_MAX_PLUGIN_DIRS) {
			snprintf(err, errlen, "too many plugin directories; fix: give at most %d",
				 SETTINGS_MAX_PLUGIN_DIRS);
			return -E2BIG;
		}
		s->plugin_dirs[s->n_plugin_dirs] = strdup(value);
		if (!s->plugin_dirs[s->n_plugin_dirs])
			return -ENOMEM;
		s->n_plugin_dirs++;
		return 0;
	case SETTINGS_POLICY: {
		char key[64];

		if (!*value || strlen(value) > 8192) {
			snprintf(err, errlen, "invalid value '%.64s'; fix: give %s", value,
				 d->metavar);
			return -EINVAL;
		}
		if (d->max > d->min && parse_int(value, d->min, d->max, &v) < 0) {
			snprintf(err, errlen,
				 "invalid value '%s'; fix: give an integer from %d to %d", value,
				 d->min, d->max);
			return -EINVAL;
		}
		if (strchr(d->metavar, '|') && !is_word_of(value, d->metavar)) {
			snprintf(err, errlen, "invalid value '%s'; fix: give one of %s", value,
				 d->metavar);
			return -EINVAL;
		}
		/* "sandbox_network" -> plugin option "sandbox.network" */
		snprintf(key, sizeof(key), "sandbox.%s", d->key + strlen("sandbox_"));
		return settings_set_option(s, key, value);
	}
	case SETTINGS_OPTION: {
		char key[160];

		eq = strchr(value, '=');
		if (!eq || (size_t)(eq - value) >= sizeof(key)) {
			snprintf(err, errlen, "invalid value '%s'; fix: give NAME.KEY=VALUE",
				 value);
			return -EINVAL;
		}
		memcpy(key, value, (size_t)(eq - value));
		key[eq - value] = '\0';
		if (!settings_is_option_key(key)) {
			snprintf(err, errlen,
				 "invalid plugin option key '%s'; fix: give NAME.KEY, e.g. "
				 "bubblewrap.bwrap",
				 key);
			return -EINVAL;
		}
		return settings_set_option(s, key, eq + 1);
	}
	}
	snprintf(err, errlen, "internal error: unknown setting type");
	return -EINVAL;
}

static int
fill_worker_id(struct settings *s)
{
	unsigned char rnd[16];
	char host[256];
	char id[256 + 40];
	int fd;
	ssize_t n = -1;

	if (gethostname(host, sizeof(host)) < 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, rnd, sizeof(rnd));
		close(fd);
	}
	if (n != (ssize_t)sizeof(rnd))
		return -EIO;
	rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40); /* UUID version 4 */
	rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
	snprintf(id, sizeof(id),
		 "%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", host,
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9],
		 rnd[10], rnd[11], rnd[12], rnd[13], rnd[14], rnd[15]);
	return set_string(&s->worker_id, id);
}

/* The default of a directory the runner keeps, `name` (sessions, state):
 * root: /var/lib/environment-runner/NAME; others: under $XDG_STATE_HOME
 * when set, else $TMPDIR (or /tmp)/environment-runner-<uid><tmp_suffix>. */
static int
fill_runner_dir(char **field, const char *name, const char *tmp_suffix)
{
	char path[PATH_MAX];
	const char *x;

	if (geteuid() == 0) {
		snprintf(path, sizeof(path), "/var/lib/environment-runner/%s", name);
	} else if ((x = settings_getenv("XDG_STATE_HOME")) && x[0] == '/') {
		snprintf(path, sizeof(path), "%s/environment-runner/%s", x, name);
	} else {
		x = settings_getenv("TMPDIR");
		if (!x || x[0] != '/')
			x = "/tmp";
		snprintf(path, sizeof(path), "%s/environment-runner-%lu%s", x,
			 (unsigned long)geteuid(), tmp_suffix);
	}
	return set_string(field, path);
}

int
settings_check_key_file(const char *path, char *err, size_t errlen)
{
	return keyfile_check_path(path, "service key file", "--service-key-file", err, errlen);
}

/* Is the host of this http:// URL the loopback (127.0.0.0/8, [::1],
 * localhost)?  Then nothing but this machine sees the traffic. */
static int
is_loopback_url(const char *url)
{
	const char *host = url + strlen("http://");
	const char *end = host + strcspn(host, "/?#");
	const char *at = memchr(host, '@', (size_t)(end - host));
	size_t n;

	if (at)
		host = at + 1;
	if (*host == '[')
		return strncmp(host, "[::1]", 5) == 0 && (host[5] == ':' || host + 5 == end);
	n = strcspn(host, ":/?#");
	if (n == strlen("localhost") && strncasecmp(host, "localhost", n) == 0)
		return 1;
	if (n < 4 || strncmp(host, "127.", 4) != 0)
		return 0;
	for (size_t i = 4; i < n; i++)
		if (!isdigit((unsigned char)host[i]) && host[i] != '.')
			return 0;
	return 1;
}

int
settings_check_url(const struct settings *s, const char *url, const char *source, char *err,
		   size_t errlen)
{
	if (strncmp(url, "http://", 7) != 0 || s->allow_insecure_http || is_loopback_url(url))
		return 0;
	snprintf(err, errlen,
		 "%s '%s' would send credentials in clear text to a host other than this "
		 "machine; fix: use https://, or pass --allow-insecure-http if that network "
		 "path is trusted",
		 source, url);
	return EX_USAGE;
}

/* Does this file hold a PEM certificate in its first 64 KiB?  Only a
 * start-up check, so that a wrong file stops the runner with its name:
 * curl reads the file for each connection. */
static int
check_ca_file(const char *path, const char *source, char *err, size_t errlen)
{
	static const char marker[] = "-----BEGIN CERTIFICATE-----";
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd;
	int found;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen,
			 "cannot read CA file '%s' (%s): %s; fix: give a PEM file of the "
			 "certificates to trust",
			 path, source, strerror(errno));
		return EX_NOINPUT;
	}
	buf = malloc(CA_FILE_SCAN);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return EX_OSERR;
	}
	while (len < CA_FILE_SCAN &&
	       ((n = read(fd, buf + len, CA_FILE_SCAN - len)) > 0 || (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	close(fd);
	found = memmem(buf, len, marker, sizeof(marker) - 1) != NULL;
	free(buf);
	if (!found) {
		snprintf(err, errlen,
			 "CA file '%s' (%s) holds no PEM certificate; fix: give a file of "
			 "'-----BEGIN CERTIFICATE-----' blocks (openssl x509 -outform PEM)",
			 path, source);
		return EX_CONFIG;
	}
	return 0;
}

/* The CAs to trust: --ca-file, else $SSL_CERT_FILE; $SSL_CERT_DIR as well,
 * as OpenSSL reads them for its default store. */
static int
fill_trust(struct settings *s, char *err, size_t errlen)
{
	const char *source = "--ca-file";
	const char *v;
	int r;

	if (!s->ca_file && (v = settings_getenv("SSL_CERT_FILE"))) {
		if (set_string(&s->ca_file, v) < 0)
			return EX_OSERR;
		source = "SSL_CERT_FILE";
	}
	if (s->ca_file) {
		r = check_ca_file(s->ca_file, source, err, errlen);
		if (r)
			return r;
	}
	v = settings_getenv("SSL_CERT_DIR");
	if (v && set_string(&s->ca_dir, v) < 0)
		return EX_OSERR;
	return 0;
}

int
settings_finish(struct settings *s, unsigned verb, char *err, size_t errlen)
{
	const char *v;
	int r;

	if (!s->api_url) {
		if (set_string(&s->api_url, "https://api.anthropic.com") < 0)
			goto oom;
		s->api_url_defaulted = 1;
	}
	if (!s->sandbox_backend) {
		/* Secure by default: isolation unless `none` is chosen explicitly. */
		if (set_string(&s->sandbox_backend, ER_DEFAULT_SANDBOX) < 0)
			goto oom;
		s->sandbox_defaulted = 1;
	}
	if (!s->executor && set_string(&s->executor, "toolset") < 0)
		goto oom;
	if (!(verb & (SETTINGS_VERB_ORCHESTRATOR | SETTINGS_VERB_RUN_ITEM)))
		return 0;
	r = fill_trust(s, err, errlen);
	if (r)
		return r;
	r = settings_check_url(s, s->api_url, "--api-url", err, errlen);
	if (!r && s->inference_url)
		r = settings_check_url(s, s->inference_url, "--inference-url", err, errlen);
	if (r)
		return r;
	if (!s->health_addr && set_string(&s->health_addr, "127.0.0.1") < 0)
		goto oom;
	if (s->health_port < 0) {
		s->health_port = verb & SETTINGS_VERB_ORCHESTRATOR ? 8080 : 0;
		s->health_port_implicit = 1;
	}
	if (!s->worker_id) {
		if (fill_worker_id(s) < 0) {
			snprintf(err, errlen,
				 "cannot read /dev/urandom for a worker id; fix: pass --worker-id");
			return EX_OSERR;
		}
		s->worker_id_generated = 1;
	}
	if (!s->base_dir && fill_runner_dir(&s->base_dir, "sessions", "") < 0)
		goto oom;
	if (!s->state_dir && fill_runner_dir(&s->state_dir, "state", ".state") < 0)
		goto oom;
	if (s->workdir && s->workdir[0] != '/') {
		snprintf(err, errlen, "workdir '%s' is not absolute; fix: pass an absolute path",
			 s->workdir);
		return EX_USAGE;
	}
	if (!(verb & SETTINGS_VERB_ORCHESTRATOR))
		return 0;
	if (!s->environment_id) {
		snprintf(err, errlen,
			 "no environment id; fix: pass --environment-id ID "
			 "(or set ER_ENVIRONMENT_ID, or environment_id in the config file)");
		return EX_USAGE;
	}
	if (!s->service_key_file && (v = settings_getenv("CREDENTIALS_DIRECTORY"))) {
		/* systemd's LoadCredential=service-key:FILE puts it here. */
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/service-key", v);
		if (set_string(&s->service_key_file, path) < 0)
			goto oom;
	}
	if (!s->service_key_file) {
		snprintf(err, errlen,
			 "no service key file; fix: pass --service-key-file FILE (or set "
			 "ER_SERVICE_KEY_FILE, or service_key_file in the config file, or give "
			 "systemd's LoadCredential=service-key:FILE)");
		return EX_USAGE;
	}
	return settings_check_key_file(s->service_key_file, err, errlen);
oom:
	snprintf(err, errlen, "out of memory");
	return EX_OSERR;
}

int
settings_read_key_file(const char *path, const char *what, const char *flag, char **ret_key,
		       char *err, size_t errlen)
{
	char *data = NULL;
	char *key;
	size_t len = 0;
	size_t start;
	int fd;
	int r;

	if (!path) {
		snprintf(err, errlen, "no %s; fix: pass --%s FILE", what, flag);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s '%s': %s; fix: check the path given to --%s",
			 what, path, strerror(-r), flag);
		/* Not readable: say which form of key file the runner reads. */
		if (r == -EACCES)
			keyfile_check_path(path, what, flag, err, errlen);
		return r;
	}
	switch (keyfile_check_fd(fd, what, path, err, errlen)) {
	case 0:
		break;
	case EX_NOINPUT:
		r = -EACCES;
		goto out;
	default:
		r = -EPERM;
		goto out;
	}
	data = calloc(1, KEY_FILE_MAX + 1);
	if (!data) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, data + len, KEY_FILE_MAX - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot read %s '%s': %s", what, path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == KEY_FILE_MAX) {
			r = -EINVAL;
			snprintf(err, errlen,
				 "%s '%s' is larger than %d bytes; fix: "
				 "the file must hold only the key",
				 what, path, KEY_FILE_MAX);
			goto out;
		}
	}
	while (len > 0 && isspace((unsigned char)data[len - 1]))
		data[--len] = '\0';
	for (start = 0; start < len && isspace((unsigned char)data[start]); start++)
		;
	if (start == len) {
		r = -EINVAL;
		snprintf(err, errlen, "%s '%s' is empty; fix: write the key into it", what, path);
		goto out;
	}
	for (size_t i = start; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c < 0x21 || c == 0x7f) {
			r = -EINVAL;
			snprintf(err, errlen,
				 "%s '%s' holds more than one line or "
				 "word; fix: the file must hold only the key",
				 what, path);
			goto out;
		}
	}
	key = strndup(data + start, len - start);
	if (!key) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	r = log_add_secret(key);
	if (r < 0) {
		secret_free(key);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*ret_key = key;
	r = 0;
out:
	if (data) {
		secret_wipe(data, KEY_FILE_MAX);
		free(data);
	}
	close(fd);
	return r;
}

int
settings_read_service_key(const struct settings *s, char **ret_key, char *err, size_t errlen)
{
	return settings_read_key_file(s->service_key_file, "service key file", "service-key-file",
				      ret_key, err, errlen);
}
