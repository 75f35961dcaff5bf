/* SPDX-License-Identifier: MIT */
/*
 * The toolset executor: serves the agent toolset `agent_toolset_20260401`
 * (bash, read, write, edit, glob, grep) natively, with the results the
 * SDK's own worker would post.  Other tool names are declined and left for
 * other clients.
 *
 * The file tools run in-process, synchronously and bounded; bash keeps one
 * persistent shell per session and grep runs rg, both through the host's
 * spawn() and event loop.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <environment-runner/plugin.h>

#include "toolset.h"

void
ts_result(struct ts_session *s, const char *call_id, int is_error, const char *text, size_t len)
{
	const struct er_host *host = s->pl->host;

	host->tool_result(s->handle, call_id, is_error, text ? text : "", text ? len : 0);
}

static int
toolset_create(const struct er_host *host, void *host_ctx, void **ret_state, struct er_error *err)
{
	struct ts_plugin *pl;

	if (!ER_HOST_HAS(host, tool_result) || !ER_HOST_HAS(host, spawn))
		return host->err_set(err, -ENOTSUP, "the runner offers no tool results or spawn");
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return host->err_set(err, -ENOMEM, "out of memory");
	pl->host = host;
	pl->host_ctx = host_ctx;
	*ret_state = pl;
	return 0;
}

static void
toolset_destroy(void *state)
{
	free(state);
}

static int
toolset_session_start(void *state, struct er_session *session, const struct er_session_info *info,
		      void **ret_sess, struct er_error *err)
{
	struct ts_plugin *pl = state;
	struct ts_session *s;
	int r;

	if (!info || !info->workdir)
		return pl->host->err_set(err, -EINVAL, "no working directory");
	s = calloc(1, sizeof(*s));
	if (!s)
		return pl->host->err_set(err, -ENOMEM, "out of memory");
	s->pl = pl;
	s->handle = session;
	r = ts_ctx_init(&s->ctx, info->workdir);
	if (r < 0) {
		free(s);
		return pl->host->err_set(err, r, "cannot open the working directory '%s': %s",
					 info->workdir, strerror(-r));
	}
	/* ABI 1.1: the memory stores' folders (allowed, some read-only). */
	if (info->struct_size >= offsetof(struct er_session_info, read_only_roots) +
					 sizeof(info->read_only_roots) &&
	    ts_ctx_set_roots(&s->ctx, info->allowed_roots, info->read_only_roots) < 0) {
		ts_ctx_release(&s->ctx);
		free(s);
		return pl->host->err_set(err, -ENOMEM, "out of memory");
	}
	ts_ctx_idle(&s->ctx);
	bash_prestart(s);
	*ret_sess = s;
	return 0;
}

typedef int (*sync_tool_fn)(struct ts_ctx *, const struct json_doc *, int, struct buf *);

static sync_tool_fn
sync_tool(const char *name)
{
	if (strcmp(name, "read") == 0)
		return tool_read;
	if (strcmp(name, "write") == 0)
		return tool_write;
	if (strcmp(name, "edit") == 0)
		return tool_edit;
	if (strcmp(name, "glob") == 0)
		return tool_glob;
	return NULL;
}

static int
toolset_tool_call(void *state, void *sess, const struct er_tool_call *call)
{
	struct ts_session *s = sess;
	struct json_doc *doc = NULL;
	sync_tool_fn fn;
	int is_bash;
	int is_grep;
	int r;

	if (!s || !call || !call->id || !call->name)
		return -EINVAL;
	fn = sync_tool(call->name);
	is_bash = strcmp(call->name, "bash") == 0;
	is_grep = strcmp(call->name, "grep") == 0;
	if (!fn && !is_bash && !is_grep)
		return ER_DECLINED;
	/* The runner passes the input as it came (the SDK does no schema
	 * validation); anything but an object reads as an empty one. */
	if (call->input_json && call->input_len > 0)
		r = json_parse(call->input_json, call->input_len, &doc, NULL, 0);
	else
		r = json_parse("{}", 2, &doc, NULL, 0);
	if (r < 0) {
		static const char msg[] = "Error: the tool input is not valid JSON";

		ts_result(s, call->id, 1, msg, sizeof(msg) - 1);
		return 0;
	}
	if (!is_bash && (r = ts_ctx_busy(&s->ctx)) < 0) {
		struct buf msg = BUF_INIT(4096);

		if (buf_printf(&msg, "%s: cannot open the working directory '%s': %s", call->name,
			       s->ctx.root.path,
			       r == -ESTALE ? "another directory stands in its place"
					    : strerror(-r)) == 0)
			ts_result(s, call->id, 1, msg.data, msg.len);
		buf_release(&msg);
		json_free(doc);
		return 0;
	}
	if (is_bash) {
		/* ABI 1.2: the call's session thread. */
		const char *thread =
			call->struct_size >= offsetof(struct er_tool_call, session_thread_id) +
						     sizeof(call->session_thread_id)
				? call->session_thread_id
				: NULL;

		r = tool_bash(s, call->id, thread, doc, 0);
	} else if (is_grep) {
		r = tool_grep(s, call->id, doc, 0);
	} else {
		struct buf out = BUF_INIT(TS_OUT_MAX);

		r = buf_puts(&out, "");
		if (r == 0)
			r = fn(&s->ctx, doc, 0, &out);
		if (r >= 0) {
			ts_result(s, call->id, r == TS_TOOL_ERROR, out.data, out.len);
			r = 0;
		}
		buf_release(&out);
	}
	json_free(doc);
	if (!is_bash)
		ts_ctx_idle(&s->ctx);
	if (r < 0) {
		/* What the SDK's runner posts for an exception that is not a
		 * ToolError. */
		struct buf msg = BUF_INIT(512);

		if (buf_printf(&msg, "Error: %s", strerror(-r)) == 0)
			ts_result(s, call->id, 1, msg.data, msg.len);
		buf_release(&msg);
		r = 0;
	}
	return r;
}

static void
toolset_tool_cancel(void *state, void *sess, const char *call_id)
{
	struct ts_session *s = sess;

	if (!s)
		return;
	bash_cancel(s, call_id);
	grep_cancel(s, call_id);
}

static void
toolset_thread_stop(void *state, void *sess, const char *thread_id)
{
	struct ts_session *s = sess;

	if (s)
		bash_thread_stop(s, thread_id);
}

static void
toolset_session_stop(void *state, void *sess, uint32_t reason)
{
	struct ts_session *s = sess;

	if (!s)
		return;
	/* As the SDK's runner closes its tools: the shells are killed. */
	bash_cancel(s, NULL);
	grep_cancel(s, NULL);
	bash_free(s);
	if (ER_HOST_HAS(s->pl->host, session_done))
		s->pl->host->session_done(s->handle, 0);
}

static void
toolset_session_free(void *state, void *sess)
{
	struct ts_session *s = sess;

	if (!s)
		return;
	bash_cancel(s, NULL);
	grep_cancel(s, NULL);
	bash_free(s);
	ts_ctx_release(&s->ctx);
	free(s);
}

static const struct er_executor_ops toolset_ops = {
	.struct_size = sizeof(struct er_executor_ops),
	.flags = ER_EXECUTOR_TOOL_CALLS,
	.session_start = toolset_session_start,
	.tool_call = toolset_tool_call,
	.tool_cancel = toolset_tool_cancel,
	.session_event = NULL,
	.session_stop = toolset_session_stop,
	.session_free = toolset_session_free,
	.thread_stop = toolset_thread_stop,
};

ER_PLUGIN_DEFINE_FULL(ER_KIND_EXECUTOR, "toolset", PACKAGE_VERSION,
		      "the agent toolset (bash, read, write, edit, glob, grep), as the SDK runs it",
		      NULL, ER_ABI_MINOR, 0, toolset_create, toolset_destroy, &toolset_ops);
