/* SPDX-License-Identifier: MIT */
/*
 * environment-runner plugin ABI, version 1.
 *
 * This is the only header a third-party sandbox backend or executor needs.
 * A plugin is a shared object that exports exactly one data symbol,
 * `er_plugin_v1`, a `struct er_plugin` filled by ER_PLUGIN_DEFINE_FULL() (or
 * ER_PLUGIN_DEFINE(), its short form).  The
 * runner reads the descriptor without running plugin code (so `plugins` can
 * list a plugin it would refuse), checks it, then calls `create` with a table
 * of host services.  Everything the plugin needs from the runner goes through
 * that table: plugins never link against runner symbols.
 *
 * Version rules (frozen with the first release of this header):
 *  - ER_ABI_MAJOR changes when a layout or a meaning breaks.  The symbol name
 *    carries the major (er_plugin_v1, er_plugin_v2, ...), and a runner refuses
 *    every other major with a message naming both.
 *  - ER_ABI_MINOR grows when members are appended to the END of a struct, or
 *    new kinds, flags or constants appear.  Old plugins keep loading: the
 *    runner copies a plugin's vtable into a zeroed struct of its own size, so
 *    members the plugin did not know read as NULL ("use the default").
 *  - A plugin names the oldest runner minor it works with in
 *    `min_host_minor`.  ER_PLUGIN_DEFINE() sets it to the minor of the header
 *    the plugin is built against, so a runner older than that header refuses
 *    the plugin with a message naming both minors.  A plugin that tests every
 *    newer host service with ER_HOST_HAS() before using it may name an older
 *    minor with ER_PLUGIN_DEFINE_FULL().  Flag bits a runner does not know
 *    (descriptor or executor flags) are refused the same way.
 *  - Nothing is ever reordered, retyped or removed; a retired member is
 *    documented as ignored.  Public structs hold fixed-width integers,
 *    pointers and function pointers: no bool, no enum-typed members, no
 *    bitfields, no #ifdef-dependent layout.  The one exception, kept for
 *    the layout of 1.0, is the lengths typed `size_t` (er_tool_call's
 *    input_len, er_session_info's *_len, and the `len` parameters): the
 *    platform's size_t, as the rest of the platform's ABI has it.
 *
 * Conventions for every entry point:
 *  - All calls happen on the runner's single event-loop thread.  A plugin
 *    must not block (except in `create` and `probe`, at start-up), install
 *    signal handlers, change the signal mask or fork (`create` and `probe`
 *    run a test command with host->run_command()).  Every fd it opens is
 *    O_CLOEXEC.
 *  - Errors: return 0 on success or a negative errno value, and describe the
 *    failure in the caller-allocated `struct er_error` with host->err_set().
 *    The runner prefixes the plugin's name and logs it once.  Plugins never
 *    print, never exit or abort, and never leave errno to be read.  The
 *    code of a failed `create` or `probe` picks the runner's exit status
 *    (sysexits(3)), the same for every plugin:
 *
 *      -EINVAL, -EPERM   a configuration refused (a bad option value)   78
 *      -ESRCH            a user or group the configuration names is
 *                        missing                                         67
 *      -ENOMEM           out of memory                                   71
 *      anything else     the plugin cannot run here: -ENOENT a program
 *                        it needs is missing, -ENOTSUP the kernel or the
 *                        tool lacks a feature, -EACCES not allowed here  69
 *
 *    A failed tool_call_err() answers the call with the plugin's message;
 *    a failed wrap() or spawn() fails that one command.
 *  - Memory: every pointer the runner passes in is borrowed for the duration
 *    of the call, except the host table and `host_ctx`, which live until
 *    `destroy` returns.  Whatever a plugin hands back goes through a host
 *    builder, which copies.  Nothing is ever freed across the boundary.
 *  - After unwatch_fd(), cancel_timer() or destroy() returns, no further
 *    callback arrives for that watch, timer or state.
 *
 * Lifecycle of an executor, per claimed session:
 *
 *   runner                                   executor plugin
 *   ------                                   ---------------
 *   poll, ack, first heartbeat
 *   GET /v1/sessions/{id}
 *   session_start(info) --------------------> prepare; may spawn() processes
 *   event stream opened (unless NO_STREAM)
 *     agent.tool_use, not yet answered ------> tool_call(call)
 *                                  <---------- host->tool_result(call, ...)
 *     call answered elsewhere, aborted ------> tool_cancel(call id)
 *     a session thread terminated -----------> thread_stop(thread id)
 *     any other event (EVENTS flag) ---------> session_event(type, json)
 *                                  <---------- host->send_event(json)
 *   turn idle, lease lost, stop, shutdown --> session_stop(reason)
 *                                  <---------- host->session_done() (optional)
 *   processes of the session killed
 *   session_free() -------------------------> release everything
 *
 * Lifecycle of a sandbox backend: probe() once at start-up; per session,
 * since 1.2, session_start() before the executor starts and session_end()
 * once the session's processes were killed; in between, wrap() for every
 * process the runner starts on the session's behalf.  wrap() is a pure
 * transformation of a command into the command that runs it in the
 * sandbox; the runner owns spawning, waiting and killing.
 */
#ifndef ENVIRONMENT_RUNNER_PLUGIN_H
#define ENVIRONMENT_RUNNER_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ER_ABI_MAJOR 1
#define ER_ABI_MINOR 2

/* "ERPL" read as a little-endian 32-bit integer. */
#define ER_PLUGIN_MAGIC UINT32_C(0x4c505245)

/* Plugin kinds; the file of a plugin named N of kind K is `K-N.so`. */
#define ER_KIND_SANDBOX UINT32_C(1)
#define ER_KIND_EXECUTOR UINT32_C(2)

/* A positive return meaning "not mine": e.g. a tool name the executor does
 * not serve, which the runner then leaves for another client. */
#define ER_DECLINED 1

/* Log levels, as syslog(3). */
#define ER_LOG_ERR 3
#define ER_LOG_WARNING 4
#define ER_LOG_NOTICE 5
#define ER_LOG_INFO 6
#define ER_LOG_DEBUG 7

#if defined(__GNUC__) || defined(__clang__)
#define ER_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ER_EXPORT __attribute__((visibility("default")))
#else
#define ER_PRINTF(fmt, args)
#define ER_EXPORT
#endif

/* Caller-allocated error description, filled with host->err_set().  Its
 * layout is fixed for the whole of ABI 1 (it has no struct_size): a longer
 * message is cut. */
struct er_error {
	int32_t code; /* negative errno, 0 when unset */
	char msg[256];
};

/* One configuration key a plugin understands, for `plugins --verbose`,
 * plugin-check and the runner's check of --plugin-option.  Keys are read
 * with host->config_get(); a table ends with an entry whose `name` is NULL.
 * Array elements cannot grow: this layout is fixed for the whole of ABI 1,
 * and more about an option would come in a new, separate table. */
struct er_option {
	const char *name; /* e.g. "bubblewrap.network" */
	const char *arg;  /* e.g. "none|host|allowlist", or NULL for a flag */
	const char *help; /* one line */
};

/* Opaque handles owned by the runner. */
struct er_cmd_builder; /* the command a sandbox's wrap() produces */
struct er_session;     /* one claimed session: valid from the executor's
			 * session_start() until its session_free() returns */
struct er_process;     /* a process started with host->spawn() */
struct er_watch;       /* an fd watch */
struct er_timer;       /* a one-shot timer */

/* Events for watch_fd. */
#define ER_FD_READ UINT32_C(1)
#define ER_FD_WRITE UINT32_C(2)
/* Reported in addition, never requested. */
#define ER_FD_HUP UINT32_C(4)
#define ER_FD_ERROR UINT32_C(8)

typedef void (*er_fd_cb)(void *userdata, int fd, uint32_t revents);
typedef void (*er_timer_cb)(void *userdata);
/* `status` is as waitpid(2) reports it. */
typedef void (*er_exit_cb)(void *userdata, struct er_process *proc, int status);

/* A command to run on a session's behalf, before and after sandboxing. */
struct er_command {
	uint32_t struct_size;
	const char *const *argv; /* NULL-terminated; argv[0] is a path or a name on PATH */
	const char *const *envp; /* NULL-terminated NAME=value the command needs; no secrets */
	const char *cwd;	 /* absolute */
	const char *workdir;	 /* the session's working directory (read-write in a sandbox) */
	const char *session_id;	 /* for labels and logs; may be NULL */
};

/* What an executor asks host->spawn() for. */
struct er_spawn_request {
	uint32_t struct_size;
	struct er_command cmd;
	/* Set to 1 to get a pipe for the process's stdin, stdout or stderr in the
	 * matching *_fd out-member (non-blocking, close-on-exec, owned by the
	 * plugin, which closes it).  Unpiped streams read /dev/null or are
	 * discarded. */
	uint32_t pipe_stdin;
	uint32_t pipe_stdout;
	uint32_t pipe_stderr;
	/* Extra fds to hand to the child (e.g. a key on a descriptor): the fd
	 * `pass_fds[i]` appears as the same number in the child.  May be NULL. */
	const int32_t *pass_fds;
	uint32_t n_pass_fds;
	/* Out: */
	int32_t stdin_fd;
	int32_t stdout_fd;
	int32_t stderr_fd;
	int32_t pid;
};

/* A tool call the runner routes to an executor with the TOOL_CALLS flag. */
struct er_tool_call {
	uint32_t struct_size;
	const char *id;		/* the agent.tool_use event id */
	const char *name;	/* e.g. "bash" */
	const char *input_json; /* the `input` object, raw JSON */
	size_t input_len;
	/* Since 1.2 (test with struct_size): the event's `session_thread_id`,
	 * or NULL for the primary thread (whose events name none). */
	const char *session_thread_id;
};

/* What an executor learns about a session at its start. */
struct er_session_info {
	uint32_t struct_size;
	const char *session_id;
	const char *work_id;
	const char *environment_id;
	const char *workdir;	  /* exists, is the tools' confinement root */
	const char *session_json; /* GET /v1/sessions/{id}, raw JSON */
	size_t session_json_len;
	const char *work_json; /* the claimed work item, raw JSON, without its secret */
	size_t work_json_len;
	/* Since 1.1 (test with struct_size).  Credentials, for executors whose
	 * own program talks to the API (an on-work command): never log them,
	 * never put them on a command line or in a file others can read. */
	const char *work_secret;     /* the item's `secret` as claimed, or NULL */
	const char *environment_key; /* NULL unless the runner is configured to
				      * hand it to executors */
	/* Since 1.1.  Directories besides the workdir that the session's tools
	 * may reach (the session's memory stores, which the runner downloads
	 * and syncs), and those of them where file tools must refuse writes
	 * (stores attached read-only): NULL-terminated lists of absolute
	 * paths, or NULL for none.  Canonicalise each at check time, as the
	 * workdir: a store folder may be re-created while the session runs. */
	const char *const *allowed_roots;
	const char *const *read_only_roots;
};

/* What a sandbox backend learns of a session (ABI 1.2, session_start). */
struct er_sandbox_session {
	uint32_t struct_size;
	const char *session_id;
	const char *work_id;
	const char *workdir; /* the session's directory, writable by its commands */
};

/* Network modes (er_sandbox_settings.network, ABI 1.2). */
#define ER_NETWORK_NONE UINT32_C(1)	 /* no network at all */
#define ER_NETWORK_HOST UINT32_C(2)	 /* the host's network */
#define ER_NETWORK_ALLOWLIST UINT32_C(3) /* only allowed_domains, through a proxy */

/*
 * The runner's --sandbox-* settings, checked and with their defaults
 * applied, as host->sandbox_settings() hands them to a backend (ABI 1.2).
 * Every backend applies them as far as it can, and logs what it cannot.
 * Strings and lists are borrowed until destroy; lists are NULL-terminated
 * and never NULL (empty when not set).
 */
struct er_sandbox_settings {
	uint32_t struct_size;		    /* set by the caller; the host fills what fits */
	uint32_t network;		    /* ER_NETWORK_*, default NONE */
	const char *const *allowed_domains; /* for ALLOWLIST: "example.com", "*.example.com" */
	const char *const *read_only;	    /* absolute paths to bind read-only */
	const char *const *read_write;	    /* absolute paths to bind read-write */
	const char *const *deny;	    /* absolute paths to hide */
	/* 1 when commands must run as uid:gid, another user than the
	 * runner's: a root runner's --sandbox-user, by default
	 * "environment-runner" if it exists, else "nobody" (never root).
	 * 0 for a runner that is not root: its commands run as itself. */
	uint32_t switch_user;
	uint32_t uid;
	uint32_t gid;
	uint32_t reserved;	      /* 0 */
	const char *user;	      /* for messages: the user's name, or "uid N" */
	uint64_t max_procs;	      /* RLIMIT_NPROC, default 1024 */
	uint64_t max_open_files;      /* RLIMIT_NOFILE, default 1024 */
	uint64_t max_file_size;	      /* bytes, RLIMIT_FSIZE; ER_RLIM_INFINITY for
				 * none; default 16 GiB */
	uint64_t memory;	      /* bytes, a memory cgroup's limit; 0 for none;
				 * default 4 GiB */
	const char *service_key_file; /* the runner's key: hide it */
	const char *base_dir;	      /* the sessions' directories: hide the others' */
};

/* Why the runner asks a session to stop (session_stop's `reason`). */
#define ER_STOP_IDLE UINT32_C(1)       /* the turn ended and the idle window passed */
#define ER_STOP_REQUESTED UINT32_C(2)  /* the control plane asked (stopping, terminated, deleted) */
#define ER_STOP_LEASE_LOST UINT32_C(3) /* another worker owns it now: stop at once */
#define ER_STOP_SHUTDOWN UINT32_C(4)   /* the runner is draining */
#define ER_STOP_TIMEOUT UINT32_C(5)    /* a watchdog fired */

/*
 * Services the runner offers, valid from `create` until `destroy` returns.
 * Members are only ever appended; test members added after 1.0 with
 * ER_HOST_HAS(host, member).
 */
struct er_host {
	uint32_t struct_size;
	uint16_t abi_major;
	uint16_t abi_minor;

	/* Logging: one line per call, no trailing newline needed.  Never pass a
	 * secret. */
	void (*log)(void *host_ctx, int level, const char *fmt, ...) ER_PRINTF(3, 4);
	void (*vlog)(void *host_ctx, int level, const char *fmt, va_list ap) ER_PRINTF(3, 0);
	/* Fills `err` and returns `code` (a negative errno). */
	int (*err_set)(struct er_error *err, int code, const char *fmt, ...) ER_PRINTF(3, 4);

	/* A configuration value ("name.key" for plugin keys), or NULL when
	 * unset.  Borrowed until destroy.  Keys every sandbox backend shares
	 * are "sandbox.*", the runner's --sandbox-* settings as given, without
	 * defaults ("sandbox.network", "sandbox.allowed_domains",
	 * "sandbox.user", "sandbox.read_only", "sandbox.read_write",
	 * "sandbox.deny", "sandbox.max_procs", "sandbox.max_open_files",
	 * "sandbox.max_file_size_mb", "sandbox.memory_mb"); since 1.2 prefer
	 * sandbox_settings(), which checks them and applies the defaults.
	 * Since ABI 1.1 the runner also answers "runner.service_key_file", the
	 * file a sandbox must hide. */
	const char *(*config_get)(void *host_ctx, const char *key);
	/* The runner's own environment, minus every variable that may carry a
	 * secret; NULL when unset or withheld.  Borrowed until destroy. */
	const char *(*getenv)(void *host_ctx, const char *name);
	/* Monotonic milliseconds. */
	uint64_t (*now_ms)(void *host_ctx);

	/* Builders for wrap(): the runner copies every string. */
	int (*cmd_push_arg)(struct er_cmd_builder *b, const char *arg);
	int (*cmd_set_env)(struct er_cmd_builder *b, const char *name, const char *value);
	int (*cmd_set_cwd)(struct er_cmd_builder *b, const char *dir);

	/* Event loop.  Callbacks run on the loop thread. */
	int (*watch_fd)(void *host_ctx, int fd, uint32_t events, er_fd_cb cb, void *userdata,
			struct er_watch **ret_watch);
	void (*unwatch_fd)(struct er_watch *watch);
	int (*add_timer)(void *host_ctx, uint64_t delay_ms, er_timer_cb cb, void *userdata,
			 struct er_timer **ret_timer);
	void (*cancel_timer)(struct er_timer *timer);

	/* Processes, for executors.  The runner passes the command through the
	 * selected sandbox, starts it in a process group of its own, and kills
	 * whatever of it is left when the session ends.  `on_exit` runs once,
	 * after the process is reaped, unless process_release() came first;
	 * the handle is invalid once on_exit returns. */
	int (*spawn)(struct er_session *session, struct er_spawn_request *req, er_exit_cb on_exit,
		     void *userdata, struct er_process **ret_proc, struct er_error *err);
	/* Signal the process's whole group (and, where the platform can tell,
	 * the processes that left it). */
	int (*process_kill)(struct er_process *proc, int sig);
	/* Forget the process: no exit callback; it is killed if still alive. */
	void (*process_release)(struct er_process *proc);

	/* Session services, for executors. */
	/* Answer a tool call routed by tool_call().  `text` is UTF-8; the runner
	 * posts it as a user.tool_result (an empty text becomes "(no output)"). */
	int (*tool_result)(struct er_session *session, const char *call_id, int32_t is_error,
			   const char *text, size_t len);
	/* Post one event object (raw JSON) to the session's events API. */
	int (*send_event)(struct er_session *session, const char *event_json, size_t len);
	/* The executor has nothing more to do: the runner releases the item.
	 * `failed` non-zero marks the session as failed in logs and metrics. */
	void (*session_done)(struct er_session *session, int32_t failed);

	/* ---- ABI 1.1: process attributes for sandbox backends ---------------
	 *
	 * More builders for wrap().  The runner applies what they ask for in
	 * the child, between fork and exec, in this order: cgroup, rlimits,
	 * credentials; any failure there fails the spawn (reported to the
	 * caller of spawn() as for an exec failure).  Test each member with
	 * ER_HOST_HAS(). */

	/* Run the command as `uid`:`gid` with no supplementary groups: the
	 * child calls setgroups(0, NULL), setgid(gid), setuid(uid) before exec.
	 * This is a real privilege drop, unlike bwrap's --uid.  Asking for the
	 * runner's own ids does nothing; other ids need a root runner (the
	 * spawn fails with -EPERM otherwise). */
	int (*cmd_set_credentials)(struct er_cmd_builder *b, uint32_t uid, uint32_t gid);
	/* setrlimit(2) in the child: `resource` is an ER_RLIMIT_* value, `soft`
	 * and `hard` a number or ER_RLIM_INFINITY.  -ENOTSUP for a resource
	 * this platform does not have.  At most ER_CMD_MAX_RLIMITS per command;
	 * setting one again replaces it. */
	int (*cmd_set_rlimit)(struct er_cmd_builder *b, uint32_t resource, uint64_t soft,
			      uint64_t hard);
	/* Hand `fd` to the child at the same number (e.g. bwrap's --seccomp FD
	 * or --bind-fd FD).  The builder takes ownership of `fd`, also when the
	 * call fails: the runner closes its copy after the spawn or when the
	 * spawn is abandoned, so pass a fresh fd (a pipe, a new open()) per
	 * wrap().  At most ER_CMD_MAX_FDS per command; 0, 1 and 2 are refused
	 * (-EBADF). */
	int (*cmd_pass_fd)(struct er_cmd_builder *b, int32_t fd);
	/* Move the child into the cgroup directory `dir` before exec (through
	 * `dir`/tasks on cgroup v1, `dir`/cgroup.procs on v2, as the runner's
	 * user).  The plugin
	 * creates the directory and sets its limits; the runner copies the
	 * string. */
	int (*cmd_set_cgroup)(struct er_cmd_builder *b, const char *dir);
	/* Declare, from create(), the ids sandboxed commands run as when they
	 * differ from the runner's.  The runner then creates each session's
	 * directory owned by `uid`:`gid`, and runs the executor's tool calls
	 * with that file-system identity (Linux: setfsuid/setfsgid, keeping
	 * only the right to traverse and read the runner's own directories), so
	 * that files made by the file tools and by sandboxed commands stay
	 * usable by both.  -ENOTSUP where the platform has no such identity
	 * switch. */
	int (*set_sandbox_identity)(void *host_ctx, uint32_t uid, uint32_t gid);

	/* ---- ABI 1.2 ----------------------------------------------------- */

	/* Log on behalf of a session, as log(): the line also carries the
	 * session's work_id and session_id. */
	void (*session_log)(struct er_session *session, int level, const char *fmt, ...)
		ER_PRINTF(3, 4);
	/* Run a short command to its end: for probe() and create() only, which
	 * may block (e.g. to learn a tool's version or test that namespaces
	 * work).  argv[0] is a path or a name on PATH; no shell; stdin reads
	 * /dev/null; the environment is the runner's as getenv() shows it; the
	 * fds `pass_fds[i]` (at most ER_CMD_MAX_FDS, none below 3) stay open
	 * in it at the same numbers (e.g. a seccomp program to test).
	 * The first `output_size` - 1 bytes of its stdout and stderr, as they
	 * came, land NUL-terminated in `output` (NULL with a size of 0: none).
	 * *ret_status is as waitpid(2) reports it.  0 once the command ran,
	 * whatever its status; -ETIMEDOUT when it was killed after
	 * `timeout_ms` (at most ER_RUN_MAX_TIMEOUT_MS); -ENOENT or another
	 * -errno when it could not start. */
	int (*run_command)(void *host_ctx, const char *const *argv, const int32_t *pass_fds,
			   uint32_t n_pass_fds, uint32_t timeout_ms, int32_t *ret_status,
			   char *output, uint32_t output_size, struct er_error *err);
	/* The --sandbox-* settings, resolved (struct er_sandbox_settings): set
	 * out->struct_size first.  For create(): it may look the user up.
	 * -EINVAL for a value the runner refuses, -ESRCH for a user or group
	 * that does not exist, -EPERM for a root sandbox user. */
	int (*sandbox_settings)(void *host_ctx, struct er_sandbox_settings *out,
				struct er_error *err);
	/* The variables of the runner's environment every sandboxed command
	 * inherits, whatever the backend: terminal and locale (TERM, TZ, LANG,
	 * LANGUAGE, LC_*).  NULL-terminated names; read the values with
	 * getenv().  A backend then sets PATH and HOME as they fit inside it,
	 * and last the command's own envp, which wins.  Static. */
	const char *const *(*env_allowlist)(void *host_ctx);
	/* In wrap(): the state the backend's session_start() returned for the
	 * session the command belongs to; NULL outside a session (e.g. under
	 * `environment-runner plugin-check` before it starts one). */
	void *(*cmd_sandbox_session)(struct er_cmd_builder *b);
};

/* The longest run_command() (ABI 1.2). */
#define ER_RUN_MAX_TIMEOUT_MS UINT32_C(30000)

/* Resources for cmd_set_rlimit (ABI 1.1). */
#define ER_RLIMIT_CORE UINT32_C(1)
#define ER_RLIMIT_CPU UINT32_C(2)
#define ER_RLIMIT_DATA UINT32_C(3)
#define ER_RLIMIT_FSIZE UINT32_C(4)
#define ER_RLIMIT_NOFILE UINT32_C(5)
#define ER_RLIMIT_STACK UINT32_C(6)
#define ER_RLIMIT_AS UINT32_C(7)
#define ER_RLIMIT_NPROC UINT32_C(8)
#define ER_RLIM_INFINITY UINT64_MAX
#define ER_CMD_MAX_RLIMITS 8
#define ER_CMD_MAX_FDS 8

#define ER_HOST_HAS(host, member)                                                                  \
	((host) != NULL &&                                                                         \
	 offsetof(struct er_host, member) + sizeof((host)->member) <= (host)->struct_size &&       \
	 (host)->member != NULL)

/* Sandbox backend operations.  Members the plugin leaves NULL use the
 * default. */
struct er_sandbox_ops {
	uint32_t struct_size;
	/* Is the backend usable here (binary present, namespaces allowed)?
	 * Called once at start-up, may block.  NULL: always usable. */
	int (*probe)(void *state, struct er_error *err);
	/* Turn `in` into the command that runs it in the sandbox, through the
	 * builder.  Required. */
	int (*wrap)(void *state, const struct er_command *in, struct er_cmd_builder *out,
		    struct er_error *err);
	/* Since 1.2.  A session starts, before its executor does: make what
	 * its commands share (a cgroup, a network namespace, an overlay) and
	 * return it as the session's state, which wrap() gets back with
	 * host->cmd_sandbox_session().  Must not block.  A failure fails the
	 * session, in the backend's words.  NULL: nothing per session. */
	int (*session_start)(void *state, const struct er_sandbox_session *session, void **ret_sess,
			     struct er_error *err);
	/* Since 1.2.  The session ended and its processes were killed:
	 * release what session_start made.  Called once for every successful
	 * session_start, also at shutdown. */
	void (*session_end)(void *state, void *sess);
};

/* Executor flags (er_executor_ops.flags). */
/* Route agent.tool_use calls to tool_call(). */
#define ER_EXECUTOR_TOOL_CALLS UINT32_C(1)
/* Deliver every other stream event to session_event(). */
#define ER_EXECUTOR_EVENTS UINT32_C(2)
/* The runner opens no event stream: the executor's own program talks to the
 * session (as an on-work command does); the runner keeps the lease. */
#define ER_EXECUTOR_NO_STREAM UINT32_C(4)
/* Since 1.1.  The runner sends no heartbeat for the item: the executor's
 * program keeps the lease (as the SDK's handleItem() does) and owns the
 * final stop; the runner force-stops the item only when the executor ends
 * it as failed. */
#define ER_EXECUTOR_OWNS_LEASE UINT32_C(8)
/* Since 1.1.  Also deliver the session's history to session_history():
 * every event already in the log, in order, each time the stream
 * (re)connects, before the live events that follow. */
#define ER_EXECUTOR_HISTORY UINT32_C(16)
/* The flags this minor defines; a runner refuses an executor with others. */
#define ER_EXECUTOR_FLAGS_KNOWN UINT32_C(31)
/*
 * Flags are read when create() returns.  Since 1.2 a plugin that chooses
 * them from its configuration returns them from get_flags(); before, it
 * wrote them into its (then not const) ops struct in create(), which the
 * runner still reads when get_flags is NULL.  An executor without
 * ER_EXECUTOR_TOOL_CALLS that asks for EVENTS also receives the
 * agent.tool_use events themselves through session_event().
 */

struct er_executor_ops {
	uint32_t struct_size;
	uint32_t flags;
	/* A session was claimed.  `session` is the runner's handle for host
	 * calls; the executor returns its own per-session state. */
	int (*session_start)(void *state, struct er_session *session,
			     const struct er_session_info *info, void **ret_sess,
			     struct er_error *err);
	/* Run a tool call; answer later with host->tool_result().  Return
	 * ER_DECLINED for a tool this executor does not serve. */
	int (*tool_call)(void *state, void *sess, const struct er_tool_call *call);
	/* Abandon a running call (interrupt, stop): no result is expected. */
	void (*tool_cancel)(void *state, void *sess, const char *call_id);
	/* A stream event other than a routed tool call (ER_EXECUTOR_EVENTS). */
	void (*session_event)(void *state, void *sess, const char *type, const char *event_json,
			      size_t len);
	/* Wind down; call host->session_done() when finished.  The runner
	 * kills the session's processes after a grace period regardless
	 * (since 1.1: it waits up to that grace, 10 s, for session_done or
	 * for the processes to exit; at once when the lease was lost). */
	void (*session_stop)(void *state, void *sess, uint32_t reason);
	/* Release the per-session state.  Accepts NULL. */
	void (*session_free)(void *state, void *sess);
	/* Since 1.1, with ER_EXECUTOR_HISTORY: one event of the history, or,
	 * with `type` and `event_json` NULL, the end of one walk through it. */
	void (*session_history)(void *state, void *sess, const char *type, const char *event_json,
				size_t len);
	/* Since 1.2: the session thread `thread_id` (NULL: the primary) has
	 * terminated and none of its calls runs any more.  The executor drops
	 * what it keeps for that thread (the toolset kills the thread's shell;
	 * a later call there finds it gone).  A thread that runs again starts
	 * from what the executor then does on its next call. */
	void (*thread_stop)(void *state, void *sess, const char *thread_id);
	/* Since 1.2: the executor's flags, asked once after create()
	 * succeeded; they replace `flags`.  NULL: `flags` as it is then. */
	uint32_t (*get_flags)(void *state);
	/* Since 1.2: tool_call() with an error description, called instead of
	 * tool_call when set.  A call it cannot start (negative errno) is
	 * answered as an error with `err`'s message, the plugin's own words
	 * ("Error: NAME: MESSAGE"), or the errno's description when it set
	 * none. */
	int (*tool_call_err)(void *state, void *sess, const struct er_tool_call *call,
			     struct er_error *err);
};

/* The descriptor, exported as `er_plugin_v1`. */
struct er_plugin {
	uint32_t magic;
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t struct_size;
	uint32_t kind;
	const char *name;	 /* equals the file's name after "<kind>-" */
	const char *version;	 /* the plugin's own version */
	const char *description; /* one line */
	uint32_t min_host_minor; /* refuse hosts older than this minor */
	uint32_t flags;		 /* ER_PLUGIN_FLAG_*; none is defined yet: 0 */
	const struct er_option *options;
	/* Build the plugin's state.  May block (start-up only). */
	int (*create)(const struct er_host *host, void *host_ctx, void **ret_state,
		      struct er_error *err);
	/* Accepts NULL. */
	void (*destroy)(void *state);
	/* struct er_sandbox_ops or struct er_executor_ops, by kind. */
	const void *ops;
};

/* Descriptor flags (er_plugin.flags): none is defined in this minor; a
 * runner refuses a plugin with a bit it does not know. */
#define ER_PLUGIN_FLAGS_KNOWN UINT32_C(0)

#define ER_PLUGIN_SYMBOL er_plugin_v1
#define ER_PLUGIN_SYMBOL_NAME "er_plugin_v1"

/* Declared here so that the definition below has external (and, in C++,
 * C) linkage: a namespace-scope const has internal linkage in C++.  The
 * declaration carries ER_EXPORT, which the definition inherits, so that a
 * plugin built with -fvisibility=hidden (the C++ norm) still exports the
 * symbol (g++ ignores the attribute on the definition itself). */
extern ER_EXPORT const struct er_plugin ER_PLUGIN_SYMBOL;

/*
 * Define the exported descriptor:
 *
 *   static const struct er_sandbox_ops ops = {
 *           .struct_size = sizeof(ops), .probe = my_probe, .wrap = my_wrap,
 *   };
 *   ER_PLUGIN_DEFINE_FULL(ER_KIND_SANDBOX, "example", "1.0", "an example backend",
 *                         my_options, ER_ABI_MINOR, 0, my_create, my_destroy, &ops);
 *
 * `min_host_minor_`: the oldest runner minor the plugin works with (see the
 * version rules above); `flags_`: ER_PLUGIN_FLAG_* bits.
 */
#define ER_PLUGIN_DEFINE_FULL(kind_, name_, version_, description_, options_, min_host_minor_,     \
			      flags_, create_, destroy_, ops_)                                     \
	const struct er_plugin ER_PLUGIN_SYMBOL = {                                                \
		ER_PLUGIN_MAGIC,   ER_ABI_MAJOR, ER_ABI_MINOR, sizeof(struct er_plugin),           \
		(kind_),	   (name_),	 (version_),   (description_),                     \
		(min_host_minor_), (flags_),	 (options_),   (create_),                          \
		(destroy_),	   (ops_)                                                          \
	}

/* The short form, kept for the plugins written before ER_PLUGIN_DEFINE_FULL:
 * needs a runner at least as new as this header, no flags. */
#define ER_PLUGIN_DEFINE(kind_, name_, version_, description_, options_, create_, destroy_, ops_)  \
	ER_PLUGIN_DEFINE_FULL(kind_, name_, version_, description_, options_, ER_ABI_MINOR, 0,     \
			      create_, destroy_, ops_)

#ifdef __cplusplus
}
#endif

#endif /* ENVIRONMENT_RUNNER_PLUGIN_H */
