/* SPDX-License-Identifier: MIT */
/*
 * ABI layout test.  Compile-time: every public member's offset and size on
 * LP64 targets, so inserting, reordering or retyping a member breaks the
 * build.  Run time (every target): the layout of the current header equals
 * the frozen ABI 1.0 and 1.1 headers' (layout-v1.0.c, layout-v1.1.c) for
 * every member they have.
 *
 * Appending a member in a later minor changes only a SIZE line below (the
 * struct grows); an OFFSET line must never change.  er_error and er_option
 * have no struct_size (caller buffer, array element) and can never grow.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <environment-runner/plugin.h>

#include "layout-members.h"

#define MEMBER_SIZE(s, m) sizeof(((struct s *)0)->m)

#if UINTPTR_MAX == UINT64_MAX && defined(__LP64__)
#define LAYOUT(s, m, off, size)                                                                    \
	_Static_assert(offsetof(struct s, m) == (off), "offset of " #s "." #m " changed");         \
	_Static_assert(MEMBER_SIZE(s, m) == (size), "size of " #s "." #m " changed")
#define SIZE(s, size) _Static_assert(sizeof(struct s) == (size), "size of " #s " changed")

LAYOUT(er_error, code, 0, 4);
LAYOUT(er_error, msg, 4, 256);
LAYOUT(er_option, name, 0, 8);
LAYOUT(er_option, arg, 8, 8);
LAYOUT(er_option, help, 16, 8);
LAYOUT(er_command, struct_size, 0, 4);
LAYOUT(er_command, argv, 8, 8);
LAYOUT(er_command, envp, 16, 8);
LAYOUT(er_command, cwd, 24, 8);
LAYOUT(er_command, workdir, 32, 8);
LAYOUT(er_command, session_id, 40, 8);
LAYOUT(er_spawn_request, struct_size, 0, 4);
LAYOUT(er_spawn_request, cmd, 8, 48);
LAYOUT(er_spawn_request, pipe_stdin, 56, 4);
LAYOUT(er_spawn_request, pipe_stdout, 60, 4);
LAYOUT(er_spawn_request, pipe_stderr, 64, 4);
LAYOUT(er_spawn_request, pass_fds, 72, 8);
LAYOUT(er_spawn_request, n_pass_fds, 80, 4);
LAYOUT(er_spawn_request, stdin_fd, 84, 4);
LAYOUT(er_spawn_request, stdout_fd, 88, 4);
LAYOUT(er_spawn_request, stderr_fd, 92, 4);
LAYOUT(er_spawn_request, pid, 96, 4);
LAYOUT(er_tool_call, struct_size, 0, 4);
LAYOUT(er_tool_call, id, 8, 8);
LAYOUT(er_tool_call, name, 16, 8);
LAYOUT(er_tool_call, input_json, 24, 8);
LAYOUT(er_tool_call, input_len, 32, 8);
/* ABI 1.2, appended. */
LAYOUT(er_tool_call, session_thread_id, 40, 8);
LAYOUT(er_session_info, struct_size, 0, 4);
LAYOUT(er_session_info, session_id, 8, 8);
LAYOUT(er_session_info, work_id, 16, 8);
LAYOUT(er_session_info, environment_id, 24, 8);
LAYOUT(er_session_info, workdir, 32, 8);
LAYOUT(er_session_info, session_json, 40, 8);
LAYOUT(er_session_info, session_json_len, 48, 8);
LAYOUT(er_session_info, work_json, 56, 8);
LAYOUT(er_session_info, work_json_len, 64, 8);
/* ABI 1.1, appended. */
LAYOUT(er_session_info, work_secret, 72, 8);
LAYOUT(er_session_info, environment_key, 80, 8);
LAYOUT(er_session_info, allowed_roots, 88, 8);
LAYOUT(er_session_info, read_only_roots, 96, 8);
LAYOUT(er_host, struct_size, 0, 4);
LAYOUT(er_host, abi_major, 4, 2);
LAYOUT(er_host, abi_minor, 6, 2);
LAYOUT(er_host, log, 8, 8);
LAYOUT(er_host, vlog, 16, 8);
LAYOUT(er_host, err_set, 24, 8);
LAYOUT(er_host, config_get, 32, 8);
LAYOUT(er_host, getenv, 40, 8);
LAYOUT(er_host, now_ms, 48, 8);
LAYOUT(er_host, cmd_push_arg, 56, 8);
LAYOUT(er_host, cmd_set_env, 64, 8);
LAYOUT(er_host, cmd_set_cwd, 72, 8);
LAYOUT(er_host, watch_fd, 80, 8);
LAYOUT(er_host, unwatch_fd, 88, 8);
LAYOUT(er_host, add_timer, 96, 8);
LAYOUT(er_host, cancel_timer, 104, 8);
LAYOUT(er_host, spawn, 112, 8);
LAYOUT(er_host, process_kill, 120, 8);
LAYOUT(er_host, process_release, 128, 8);
LAYOUT(er_host, tool_result, 136, 8);
LAYOUT(er_host, send_event, 144, 8);
LAYOUT(er_host, session_done, 152, 8);
/* ABI 1.1, appended. */
LAYOUT(er_host, cmd_set_credentials, 160, 8);
LAYOUT(er_host, cmd_set_rlimit, 168, 8);
LAYOUT(er_host, cmd_pass_fd, 176, 8);
LAYOUT(er_host, cmd_set_cgroup, 184, 8);
LAYOUT(er_host, set_sandbox_identity, 192, 8);
/* ABI 1.2, appended. */
LAYOUT(er_host, session_log, 200, 8);
LAYOUT(er_host, run_command, 208, 8);
LAYOUT(er_host, sandbox_settings, 216, 8);
LAYOUT(er_host, env_allowlist, 224, 8);
LAYOUT(er_host, cmd_sandbox_session, 232, 8);
LAYOUT(er_sandbox_session, struct_size, 0, 4);
LAYOUT(er_sandbox_session, session_id, 8, 8);
LAYOUT(er_sandbox_session, work_id, 16, 8);
LAYOUT(er_sandbox_session, workdir, 24, 8);
LAYOUT(er_sandbox_settings, struct_size, 0, 4);
LAYOUT(er_sandbox_settings, network, 4, 4);
LAYOUT(er_sandbox_settings, allowed_domains, 8, 8);
LAYOUT(er_sandbox_settings, read_only, 16, 8);
LAYOUT(er_sandbox_settings, read_write, 24, 8);
LAYOUT(er_sandbox_settings, deny, 32, 8);
LAYOUT(er_sandbox_settings, switch_user, 40, 4);
LAYOUT(er_sandbox_settings, uid, 44, 4);
LAYOUT(er_sandbox_settings, gid, 48, 4);
LAYOUT(er_sandbox_settings, reserved, 52, 4);
LAYOUT(er_sandbox_settings, user, 56, 8);
LAYOUT(er_sandbox_settings, max_procs, 64, 8);
LAYOUT(er_sandbox_settings, max_open_files, 72, 8);
LAYOUT(er_sandbox_settings, max_file_size, 80, 8);
LAYOUT(er_sandbox_settings, memory, 88, 8);
LAYOUT(er_sandbox_settings, service_key_file, 96, 8);
LAYOUT(er_sandbox_settings, base_dir, 104, 8);
LAYOUT(er_sandbox_ops, struct_size, 0, 4);
LAYOUT(er_sandbox_ops, probe, 8, 8);
LAYOUT(er_sandbox_ops, wrap, 16, 8);
/* ABI 1.2, appended. */
LAYOUT(er_sandbox_ops, session_start, 24, 8);
LAYOUT(er_sandbox_ops, session_end, 32, 8);
LAYOUT(er_executor_ops, struct_size, 0, 4);
LAYOUT(er_executor_ops, flags, 4, 4);
LAYOUT(er_executor_ops, session_start, 8, 8);
LAYOUT(er_executor_ops, tool_call, 16, 8);
LAYOUT(er_executor_ops, tool_cancel, 24, 8);
LAYOUT(er_executor_ops, session_event, 32, 8);
LAYOUT(er_executor_ops, session_stop, 40, 8);
LAYOUT(er_executor_ops, session_free, 48, 8);
LAYOUT(er_executor_ops, session_history, 56, 8);
/* ABI 1.2, appended. */
LAYOUT(er_executor_ops, thread_stop, 64, 8);
LAYOUT(er_executor_ops, get_flags, 72, 8);
LAYOUT(er_executor_ops, tool_call_err, 80, 8);
LAYOUT(er_plugin, magic, 0, 4);
LAYOUT(er_plugin, abi_major, 4, 2);
LAYOUT(er_plugin, abi_minor, 6, 2);
LAYOUT(er_plugin, struct_size, 8, 4);
LAYOUT(er_plugin, kind, 12, 4);
LAYOUT(er_plugin, name, 16, 8);
LAYOUT(er_plugin, version, 24, 8);
LAYOUT(er_plugin, description, 32, 8);
LAYOUT(er_plugin, min_host_minor, 40, 4);
LAYOUT(er_plugin, flags, 44, 4);
LAYOUT(er_plugin, options, 48, 8);
LAYOUT(er_plugin, create, 56, 8);
LAYOUT(er_plugin, destroy, 64, 8);
LAYOUT(er_plugin, ops, 72, 8);
SIZE(er_error, 260);
SIZE(er_option, 24);
SIZE(er_command, 48);
SIZE(er_spawn_request, 104);
SIZE(er_tool_call, 48);
SIZE(er_session_info, 104);
SIZE(er_host, 240);
SIZE(er_sandbox_session, 32);
SIZE(er_sandbox_settings, 112);
SIZE(er_sandbox_ops, 40);
SIZE(er_executor_ops, 88);
SIZE(er_plugin, 80);
#endif

/* The ABI's constants are part of it too. */
_Static_assert(ER_ABI_MAJOR == 1, "ER_ABI_MAJOR");
_Static_assert(ER_PLUGIN_MAGIC == 0x4c505245, "ER_PLUGIN_MAGIC");
_Static_assert(ER_KIND_SANDBOX == 1 && ER_KIND_EXECUTOR == 2, "ER_KIND_*");
_Static_assert(ER_DECLINED == 1, "ER_DECLINED");
_Static_assert(ER_LOG_ERR == 3 && ER_LOG_WARNING == 4 && ER_LOG_NOTICE == 5 && ER_LOG_INFO == 6 &&
		       ER_LOG_DEBUG == 7,
	       "ER_LOG_*");
_Static_assert(ER_FD_READ == 1 && ER_FD_WRITE == 2 && ER_FD_HUP == 4 && ER_FD_ERROR == 8,
	       "ER_FD_*");
_Static_assert(ER_STOP_IDLE == 1 && ER_STOP_REQUESTED == 2 && ER_STOP_LEASE_LOST == 3 &&
		       ER_STOP_SHUTDOWN == 4 && ER_STOP_TIMEOUT == 5,
	       "ER_STOP_*");
_Static_assert(ER_RLIMIT_CORE == 1 && ER_RLIMIT_CPU == 2 && ER_RLIMIT_DATA == 3 &&
		       ER_RLIMIT_FSIZE == 4 && ER_RLIMIT_NOFILE == 5 && ER_RLIMIT_STACK == 6 &&
		       ER_RLIMIT_AS == 7 && ER_RLIMIT_NPROC == 8 && ER_RLIM_INFINITY == UINT64_MAX,
	       "ER_RLIMIT_*");
_Static_assert(ER_CMD_MAX_RLIMITS == 8 && ER_CMD_MAX_FDS == 8, "ER_CMD_MAX_*");
_Static_assert(ER_EXECUTOR_TOOL_CALLS == 1 && ER_EXECUTOR_EVENTS == 2 &&
		       ER_EXECUTOR_NO_STREAM == 4 && ER_EXECUTOR_OWNS_LEASE == 8 &&
		       ER_EXECUTOR_HISTORY == 16 && ER_EXECUTOR_FLAGS_KNOWN == 31,
	       "ER_EXECUTOR_*");
_Static_assert(ER_PLUGIN_FLAGS_KNOWN == 0, "ER_PLUGIN_FLAGS_KNOWN");
_Static_assert(ER_NETWORK_NONE == 1 && ER_NETWORK_HOST == 2 && ER_NETWORK_ALLOWLIST == 3,
	       "ER_NETWORK_*");

/* From layout-v1.0.c and layout-v1.1.c, built against the frozen headers
 * tests/abi/plugin-v1.0.h and plugin-v1.1.h. */
struct layout_entry {
	const char *name;
	size_t offset;
	size_t size;
};
extern const struct layout_entry layout_v1_0[];
extern const size_t layout_v1_0_count;
extern const struct layout_entry layout_v1_1[];
extern const size_t layout_v1_1_count;

#define ENTRY(s, m) { #s "." #m, offsetof(struct s, m), MEMBER_SIZE(s, m) },
static const struct layout_entry current[] = { LAYOUT_MEMBERS_V1_0(ENTRY)
						       LAYOUT_MEMBERS_V1_1(ENTRY) };

/* The first `count` members of `current` against a frozen minor's. */
static int
compare(const char *minor, const struct layout_entry *frozen, size_t count)
{
	int failed = 0;

	if (count > sizeof(current) / sizeof(current[0])) {
		printf("not ok: ABI %s has %zu members, more than listed now\n", minor, count);
		return 1;
	}
	for (size_t i = 0; i < count; i++) {
		if (strcmp(current[i].name, frozen[i].name) != 0 ||
		    current[i].offset != frozen[i].offset || current[i].size != frozen[i].size) {
			printf("not ok: %s at %zu (%zu bytes), ABI %s had it at %zu (%zu bytes)\n",
			       current[i].name, current[i].offset, current[i].size, minor,
			       frozen[i].offset, frozen[i].size);
			failed = 1;
		}
	}
	if (!failed)
		printf("ok: %zu members keep their ABI %s offsets and sizes\n", count, minor);
	return failed;
}

int
main(void)
{
	int failed = compare("1.0", layout_v1_0, layout_v1_0_count);

	return compare("1.1", layout_v1_1, layout_v1_1_count) || failed;
}
