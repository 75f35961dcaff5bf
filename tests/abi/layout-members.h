/* SPDX-License-Identifier: MIT */
/*
 * Every public member of the ABI 1.0 structs, as an X-macro list:
 * LAYOUT_MEMBER(struct, member).  Members appended in later minors go to the
 * end of LAYOUT_MEMBERS_LATER, never here.  Laid out by hand, a struct a
 * line or two, which clang-format would scramble.
 */
/* clang-format off */
#define LAYOUT_MEMBERS_V1_0(X) \
	X(er_error, code) X(er_error, msg) \
	X(er_option, name) X(er_option, arg) X(er_option, help) \
	X(er_command, struct_size) X(er_command, argv) X(er_command, envp) X(er_command, cwd) \
	X(er_command, workdir) X(er_command, session_id) \
	X(er_spawn_request, struct_size) X(er_spawn_request, cmd) \
	X(er_spawn_request, pipe_stdin) X(er_spawn_request, pipe_stdout) \
	X(er_spawn_request, pipe_stderr) X(er_spawn_request, pass_fds) \
	X(er_spawn_request, n_pass_fds) X(er_spawn_request, stdin_fd) \
	X(er_spawn_request, stdout_fd) X(er_spawn_request, stderr_fd) X(er_spawn_request, pid) \
	X(er_tool_call, struct_size) X(er_tool_call, id) X(er_tool_call, name) \
	X(er_tool_call, input_json) X(er_tool_call, input_len) \
	X(er_session_info, struct_size) X(er_session_info, session_id) \
	X(er_session_info, work_id) X(er_session_info, environment_id) \
	X(er_session_info, workdir) X(er_session_info, session_json) \
	X(er_session_info, session_json_len) X(er_session_info, work_json) \
	X(er_session_info, work_json_len) \
	X(er_host, struct_size) X(er_host, abi_major) X(er_host, abi_minor) X(er_host, log) \
	X(er_host, vlog) X(er_host, err_set) X(er_host, config_get) X(er_host, getenv) \
	X(er_host, now_ms) X(er_host, cmd_push_arg) X(er_host, cmd_set_env) \
	X(er_host, cmd_set_cwd) X(er_host, watch_fd) X(er_host, unwatch_fd) \
	X(er_host, add_timer) X(er_host, cancel_timer) X(er_host, spawn) \
	X(er_host, process_kill) X(er_host, process_release) X(er_host, tool_result) \
	X(er_host, send_event) X(er_host, session_done) \
	X(er_sandbox_ops, struct_size) X(er_sandbox_ops, probe) X(er_sandbox_ops, wrap) \
	X(er_executor_ops, struct_size) X(er_executor_ops, flags) \
	X(er_executor_ops, session_start) X(er_executor_ops, tool_call) \
	X(er_executor_ops, tool_cancel) X(er_executor_ops, session_event) \
	X(er_executor_ops, session_stop) X(er_executor_ops, session_free) \
	X(er_plugin, magic) X(er_plugin, abi_major) X(er_plugin, abi_minor) \
	X(er_plugin, struct_size) X(er_plugin, kind) X(er_plugin, name) X(er_plugin, version) \
	X(er_plugin, description) X(er_plugin, min_host_minor) X(er_plugin, flags) \
	X(er_plugin, options) X(er_plugin, create) X(er_plugin, destroy) X(er_plugin, ops)

/* The members ABI 1.1 appended. */
#define LAYOUT_MEMBERS_V1_1(X) \
	X(er_session_info, work_secret) X(er_session_info, environment_key) \
	X(er_session_info, allowed_roots) X(er_session_info, read_only_roots) \
	X(er_host, cmd_set_credentials) X(er_host, cmd_set_rlimit) X(er_host, cmd_pass_fd) \
	X(er_host, cmd_set_cgroup) X(er_host, set_sandbox_identity) \
	X(er_executor_ops, session_history)

#define LAYOUT_STRUCTS_V1_0(X) \
	X(er_error) X(er_option) X(er_command) X(er_spawn_request) X(er_tool_call) \
	X(er_session_info) X(er_host) X(er_sandbox_ops) X(er_executor_ops) X(er_plugin)
/* clang-format on */
