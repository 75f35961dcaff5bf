/* SPDX-License-Identifier: MIT */
/*
 * The claude-code executor: one Claude Code CLI process per claimed
 * session, driven non-interactively over stream-json, whose output is
 * published to the session as agent events.
 *
 * The CLI runs through the sandbox in the session's working directory, with
 * HOME, CLAUDE_CONFIG_DIR and TMPDIR in a private state directory of its
 * own (<workdir>/.claude-code-XXXXXX, owned like the workdir, which is what
 * a sandbox makes writable; removed with the session),
 * nonessential traffic off, the Messages API at --inference-url and its key
 * on a pipe (CLAUDE_CODE_API_KEY_FILE_DESCRIPTOR): never in its environment
 * or argv, so the agent's commands cannot read it.  The model and the
 * system prompt come from the session's agent.
 *
 * Session events in:  user.message -> one stdin line; user.interrupt -> an
 * interrupt control request; user.tool_confirmation -> the answer to a
 * permission prompt (claude-code.permission-prompt-tool=stdio).
 * CLI output out:  text -> agent.message; each tool call and its result ->
 * agent.tool_use and agent.tool_result (built-in tool names in the agent
 * toolset's spelling: Bash -> bash, ...); a turn -> session.status_running,
 * then session.status_idle at its `result` line (end_turn, or
 * retries_exhausted / budget_reached with a session.error when is_error).
 *
 * The events are sent with the item's sessions token; the local control
 * plane accepts such agent-side events from that token's holder
 * (tests/controlplane/README.md, "Ingress contract").  The server assigns
 * event ids, so the ids of the agent.tool_use events this executor posted
 * are learned from the stream, in the order they were posted; results and
 * permission prompts wait for them.
 *
 * On start the executor reads the session's history (ER_EXECUTOR_HISTORY):
 * user messages no turn has answered yet are sent to the CLI, the first of
 * them preceded by a transcript of the earlier turns, since a new CLI process
 * has none of the conversation a previous work item had.
 *
 * The session ends by closing the CLI's stdin (it finishes the running turn
 * and exits), SIGTERM after claude-code.stop-grace-ms, then the runner's
 * kill.  A CLI that exits on its own is a crash: the session gets a
 * session.error, the log the CLI's last words, and the item a force stop.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <environment-runner/plugin.h>

#include "buf.h"
#include "json.h"
#include "jsonw.h"
#include "nbio.h"

#define LINE_MAX_BYTES (8u << 20) /* one stdout line of the CLI */
#define STDERR_TAIL 4096
#define INPUT_MAX (16u << 20)
#define EVENT_MAX (8u << 20)
#define ID_BUCKETS 256
#define DEFAULT_STOP_GRACE_MS 5000

struct cc_plugin {
	const struct er_host *host;
	void *host_ctx;
	const char *exec_path;
	const char *inference_url;
	const char *inference_key; /* borrowed from the host; never logged */
	const char *permission_mode;
	const char *prompt_tool; /* "stdio" or NULL */
	const char *allowed_tools;
	const char *extra_args;
	int replace_system_prompt;
	long stop_grace_ms;
};

/* A set of event ids already handled. */
struct id_node {
	struct id_node *next;
	char id[];
};

/* A tool call of the CLI, from its tool_use block to its result. */
struct tool {
	struct tool *next;
	char *toolu;	   /* the CLI's id (toolu_...) */
	char *name;	   /* as published (bash, read, ...) */
	char *input;	   /* raw JSON */
	char *event_id;	   /* the server's id of our agent.tool_use, once learned */
	char *ask_request; /* the CLI's can_use_tool request id, while asked */
	char *result;	   /* an agent.tool_result waiting for event_id */
	int posted;	   /* the agent.tool_use is out */
	int ask;	   /* posted with evaluated_permission "ask" */
	int denied;	   /* the CLI refused it without asking */
	int awaiting_id;   /* in the queue of posted uses without a server id */
};

struct cc_session {
	struct cc_plugin *pl;
	struct er_session *handle;
	char *session_id;
	char *state_dir;
	long owner_uid; /* -1: the runner's own */
	long owner_gid;
	struct er_process *proc;
	int in_fd;
	int out_fd;
	int err_fd;
	struct er_watch *in_watch;
	struct er_watch *out_watch;
	struct er_watch *err_watch;
	struct buf inq; /* bytes for the CLI's stdin */
	struct nbio_lines stdout_lines;
	int dropping_line;  /* the stdout line now read is too long */
	struct buf errtail; /* the last bytes of stderr */
	struct er_timer *term_timer;

	struct id_node *seen[ID_BUCKETS];
	int history_done;
	struct buf transcript; /* earlier turns, from the history */
	char **pending;	       /* unanswered user.message contents (raw JSON) */
	size_t n_pending;
	size_t cap_pending;

	struct tool *tools;
	int turns;   /* user lines sent and not yet answered by a result */
	int running; /* session.status_running published for this turn */
	int interrupted;
	int next_request;
	int stopping;
	int done;
};

static void send_status_idle(struct cc_session *s, const char *reason, const char *event_id);

/* ---- small helpers ------------------------------------------------------ */

static void
logf_(struct cc_session *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
logf_(struct cc_session *s, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	s->pl->host->vlog(s->pl->host_ctx, level, fmt, ap);
	va_end(ap);
}

static unsigned
hash_id(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % ID_BUCKETS;
}

/* Record `id`; 1 if it was new, 0 if seen before (or out of memory). */
static int
see_id(struct cc_session *s, const char *id)
{
	unsigned h = hash_id(id);
	struct id_node *n;
	size_t len;

	for (n = s->seen[h]; n; n = n->next) {
		if (strcmp(n->id, id) == 0)
			return 0;
	}
	len = strlen(id) + 1;
	n = malloc(sizeof(*n) + len);
	if (!n)
		return 0;
	memcpy(n->id, id, len);
	n->next = s->seen[h];
	s->seen[h] = n;
	return 1;
}

/* The agent toolset's spelling of the CLI's built-in tools. */
static const char *
tool_name(const char *cli)
{
	static const char *const map[][2] = {
		{ "Bash", "bash" },	     { "Read", "read" },
		{ "Write", "write" },	     { "Edit", "edit" },
		{ "Glob", "glob" },	     { "Grep", "grep" },
		{ "WebFetch", "web_fetch" }, { "WebSearch", "web_search" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(cli, map[i][0]) == 0)
			return map[i][1];
	}
	return cli;
}

static void
send_json(struct cc_session *s, struct buf *b)
{
	int r;

	if (!b->data)
		return;
	r = s->pl->host->send_event(s->handle, b->data, b->len);
	if (r < 0)
		logf_(s, ER_LOG_WARNING, "cannot publish an event: %s", strerror(-r));
}

/* ---- writing to the CLI ------------------------------------------------- */

/* Stop watching one of the CLI's pipes and close it. */
static void
pipe_close(struct cc_session *s, int *fd, struct er_watch **watch)
{
	if (*watch)
		s->pl->host->unwatch_fd(*watch);
	*watch = NULL;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
input_close(struct cc_session *s)
{
	pipe_close(s, &s->in_fd, &s->in_watch);
	buf_release(&s->inq);
}

static void flush_input(struct cc_session *s);

static void
input_writable(void *userdata, int fd, uint32_t revents)
{
	flush_input(userdata);
}

static void
flush_input(struct cc_session *s)
{
	if (s->in_fd >= 0 && s->inq.len) {
		size_t off = 0;
		int r = nbio_flush(s->in_fd, s->inq.data, s->inq.len, &off);

		buf_consume(&s->inq, off);
		if (r == 0) {
			if (!s->in_watch &&
			    s->pl->host->watch_fd(s->pl->host_ctx, s->in_fd, ER_FD_WRITE,
						  input_writable, s, &s->in_watch) < 0)
				logf_(s, ER_LOG_ERR, "cannot watch the CLI's stdin");
			return;
		}
		if (r < 0) {
			logf_(s, ER_LOG_WARNING, "cannot write to the CLI: %s", strerror(-r));
			input_close(s);
			return;
		}
	}
	if (s->in_watch) {
		s->pl->host->unwatch_fd(s->in_watch);
		s->in_watch = NULL;
	}
	if (s->stopping && s->in_fd >= 0 && !s->inq.len)
		input_close(s);
}

/* Queue one JSON line for the CLI (takes nothing; copies). */
static int
write_line(struct cc_session *s, struct buf *b)
{
	int r;

	if (s->in_fd < 0 || !b->data)
		return -EPIPE;
	r = buf_append(&s->inq, b->data, b->len);
	if (r == 0)
		r = buf_putc(&s->inq, '\n');
	if (r < 0) {
		logf_(s, ER_LOG_ERR, "the CLI's input is full: %s", strerror(-r));
		return r;
	}
	flush_input(s);
	return 0;
}

/* ---- publishing --------------------------------------------------------- */

static void
send_simple(struct cc_session *s, const char *type)
{
	struct buf b = BUF_INIT(256);
	struct jsonw w;

	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, type);
	jw_object_end(&w);
	if (jw_finish(&w) == 0)
		send_json(s, &b);
	buf_release(&b);
}

static void
send_running(struct cc_session *s)
{
	if (s->running)
		return;
	s->running = 1;
	send_simple(s, "session.status_running");
}

static void
send_status_idle(struct cc_session *s, const char *reason, const char *event_id)
{
	struct buf b = BUF_INIT(1024);
	struct jsonw w;

	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "session.status_idle");
	jw_key(&w, "stop_reason");
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, reason);
	if (event_id) {
		jw_key(&w, "event_ids");
		jw_array_begin(&w);
		jw_string(&w, event_id);
		jw_array_end(&w);
	}
	jw_object_end(&w);
	jw_object_end(&w);
	if (jw_finish(&w) == 0)
		send_json(s, &b);
	buf_release(&b);
}

static void
send_error(struct cc_session *s, const char *type, const char *message, const char *retry)
{
	struct buf b = BUF_INIT(64 * 1024);

	if (jw_session_error(&b, type, message, strnlen(message, 16 * 1024), retry) == 0)
		send_json(s, &b);
	buf_release(&b);
}

static void
send_text(struct cc_session *s, const char *text, size_t len)
{
	struct buf b = BUF_INIT(EVENT_MAX);
	struct jsonw w;

	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "agent.message");
	jw_key(&w, "content");
	jw_array_begin(&w);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "text");
	jw_key(&w, "text");
	jw_stringn(&w, text, len);
	jw_object_end(&w);
	jw_array_end(&w);
	jw_object_end(&w);
	if (jw_finish(&w) == 0)
		send_json(s, &b);
	buf_release(&b);
}

static struct tool *
find_tool(struct cc_session *s, const char *toolu)
{
	for (struct tool *t = s->tools; t; t = t->next) {
		if (strcmp(t->toolu, toolu) == 0)
			return t;
	}
	return NULL;
}

static struct tool *
find_tool_by_event(struct cc_session *s, const char *event_id)
{
	for (struct tool *t = s->tools; t; t = t->next) {
		if (t->event_id && strcmp(t->event_id, event_id) == 0)
			return t;
	}
	return NULL;
}

static void
post_tool_use(struct cc_session *s, struct tool *t, const char *permission)
{
	struct buf b = BUF_INIT(EVENT_MAX);
	struct jsonw w;

	if (t->posted)
		return;
	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "agent.tool_use");
	jw_key(&w, "name");
	jw_string(&w, t->name);
	jw_key(&w, "input");
	jw_raw(&w, t->input, strlen(t->input));
	jw_key(&w, "evaluated_permission");
	jw_string(&w, permission);
	jw_object_end(&w);
	if (jw_finish(&w) == 0) {
		send_json(s, &b);
		t->posted = 1;
		t->ask = strcmp(permission, "ask") == 0;
		t->awaiting_id = 1;
	}
	buf_release(&b);
}

/* The result, once the server's id of the tool use is known. */
static void
flush_result(struct cc_session *s, struct tool *t)
{
	struct buf b = BUF_INIT(EVENT_MAX);
	struct jsonw w;
	char *result = t->result;

	if (!result || !t->event_id)
		return;
	t->result = NULL;
	/* `result` is "<is_error>,<content JSON>". */
	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "agent.tool_result");
	jw_key(&w, "tool_use_id");
	jw_string(&w, t->event_id);
	jw_key(&w, "is_error");
	jw_bool(&w, result[0] == '1');
	jw_key(&w, "content");
	jw_raw(&w, result + 2, strlen(result + 2));
	jw_object_end(&w);
	if (jw_finish(&w) == 0)
		send_json(s, &b);
	buf_release(&b);
	free(result);
}

/* Our own agent.tool_use came back from the server: learn its id, in the
 * order they were posted. */
static void
learn_tool_use_id(struct cc_session *s, const struct json_doc *doc)
{
	const char *id = json_get_str(doc, 0, "id");
	const char *name = json_get_str(doc, 0, "name");
	struct tool *t;

	for (t = s->tools; t; t = t->next) {
		if (t->awaiting_id)
			break;
	}
	if (!t || !id)
		return;
	if (name && strcmp(name, t->name) != 0)
		logf_(s, ER_LOG_WARNING, "tool use '%s' came back as '%s'; matching it anyway",
		      t->name, name);
	t->awaiting_id = 0;
	t->event_id = strdup(id);
	if (!t->event_id)
		return;
	if (t->ask_request)
		send_status_idle(s, "requires_action", t->event_id);
	flush_result(s, t);
}

static struct tool *
add_tool(struct cc_session *s, const char *toolu, const char *name, const char *input, size_t len)
{
	struct tool *t = calloc(1, sizeof(*t));
	struct tool **tail;

	if (!t)
		return NULL;
	t->toolu = strdup(toolu);
	t->name = strdup(tool_name(name));
	t->input = strndup(input, len);
	if (!t->toolu || !t->name || !t->input) {
		free(t->toolu);
		free(t->name);
		free(t->input);
		free(t);
		return NULL;
	}
	for (tail = &s->tools; *tail; tail = &(*tail)->next)
		;
	*tail = t;
	return t;
}

static void
free_tools(struct cc_session *s)
{
	while (s->tools) {
		struct tool *t = s->tools;

		s->tools = t->next;
		free(t->toolu);
		free(t->name);
		free(t->input);
		free(t->event_id);
		free(t->ask_request);
		free(t->result);
		free(t);
	}
}

/* ---- the CLI's output --------------------------------------------------- */

static void
on_assistant(struct cc_session *s, const struct json_doc *doc)
{
	int msg = json_get(doc, 0, "message");
	int content = json_get(doc, msg, "content");

	if (json_kind(doc, content) != JSON_ARRAY)
		return;
	send_running(s);
	for (int b = json_first(doc, content); b >= 0; b = json_next(doc, b)) {
		const char *type = json_get_str(doc, b, "type");

		if (!type)
			continue;
		if (strcmp(type, "text") == 0) {
			const char *text = json_get_str(doc, b, "text");

			if (text && *text)
				send_text(s, text, strlen(text));
		} else if (strcmp(type, "tool_use") == 0) {
			const char *toolu = json_get_str(doc, b, "id");
			const char *name = json_get_str(doc, b, "name");
			int in = json_get(doc, b, "input");
			const char *raw = "{}";
			size_t len = 2;
			struct tool *t;

			if (!toolu || !name || find_tool(s, toolu))
				continue;
			if (in >= 0)
				raw = json_raw(doc, in, &len);
			t = add_tool(s, toolu, name, raw, len);
			/* With prompts forwarded, wait: the tool use is published
			 * as "ask" if the CLI asks, else with its result. */
			if (t && !s->pl->prompt_tool)
				post_tool_use(s, t, "allow");
		}
	}
}

/* A tool_result content (string or blocks) as an event content array. */
static int
result_content(const struct json_doc *doc, int c, struct buf *out)
{
	struct jsonw w;

	jw_init(&w, out);
	if (json_kind(doc, c) == JSON_ARRAY) {
		jw_array_begin(&w);
		for (int e = json_first(doc, c); e >= 0; e = json_next(doc, e)) {
			const char *type = json_get_str(doc, e, "type");
			size_t len;
			const char *raw;

			if (type && strcmp(type, "text") == 0) {
				jw_object_begin(&w);
				jw_key(&w, "type");
				jw_string(&w, "text");
				jw_key(&w, "text");
				jw_string(&w, json_get_str(doc, e, "text")
						      ? json_get_str(doc, e, "text")
						      : "");
				jw_object_end(&w);
			} else {
				raw = json_raw(doc, e, &len);
				jw_raw(&w, raw, len);
			}
		}
		jw_array_end(&w);
	} else {
		const char *text = json_str(doc, c);

		jw_array_begin(&w);
		jw_object_begin(&w);
		jw_key(&w, "type");
		jw_string(&w, "text");
		jw_key(&w, "text");
		jw_string(&w, text ? text : "");
		jw_object_end(&w);
		jw_array_end(&w);
	}
	return jw_finish(&w);
}

static void
on_user(struct cc_session *s, const struct json_doc *doc)
{
	int msg = json_get(doc, 0, "message");
	int content = json_get(doc, msg, "content");

	if (json_kind(doc, content) != JSON_ARRAY)
		return;
	for (int b = json_first(doc, content); b >= 0; b = json_next(doc, b)) {
		const char *type = json_get_str(doc, b, "type");
		const char *toolu = json_get_str(doc, b, "tool_use_id");
		struct buf res = BUF_INIT(EVENT_MAX);
		struct tool *t;

		if (!type || strcmp(type, "tool_result") != 0 || !toolu)
			continue;
		t = find_tool(s, toolu);
		if (!t || t->result)
			continue;
		if (buf_puts(&res, json_bool(doc, json_get(doc, b, "is_error")) ? "1," : "0,") <
			    0 ||
		    result_content(doc, json_get(doc, b, "content"), &res) < 0) {
			buf_release(&res);
			continue;
		}
		t->result = buf_steal(&res);
		post_tool_use(s, t, t->denied ? "deny" : "allow");
		free(t->ask_request);
		t->ask_request = NULL;
		flush_result(s, t);
	}
}

static void
on_result(struct cc_session *s, const struct json_doc *doc)
{
	int is_error = json_bool(doc, json_get(doc, 0, "is_error"));
	const char *subtype = json_get_str(doc, 0, "subtype");
	const char *terminal = json_get_str(doc, 0, "terminal_reason");
	const char *result = json_get_str(doc, 0, "result");
	const char *reason = "end_turn";

	send_running(s);
	if (is_error && !s->interrupted) {
		const char *type = "unknown_error";
		const char *retry = "terminal";

		if (subtype && strcmp(subtype, "error_max_budget_usd") == 0) {
			reason = "budget_reached";
		} else if (terminal && strcmp(terminal, "api_error") == 0) {
			reason = "retries_exhausted";
			type = "model_request_failed_error";
			retry = "exhausted";
		}
		logf_(s, ER_LOG_WARNING, "the turn ended in an error (%s, %s): %.300s",
		      subtype ? subtype : "?", terminal ? terminal : "?", result ? result : "");
		send_error(s, type, result && *result ? result : (subtype ? subtype : "error"),
			   retry);
	}
	send_status_idle(s, reason, NULL);
	s->running = 0;
	s->interrupted = 0;
	if (s->turns > 0)
		s->turns--;
	/* The CLI runs a queued message as its own turn right away. */
	if (s->turns > 0 && !s->stopping)
		send_running(s);
}

static void
answer_control(struct cc_session *s, const char *request_id, const char *error)
{
	struct buf b = BUF_INIT(4096);
	struct jsonw w;

	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "control_response");
	jw_key(&w, "response");
	jw_object_begin(&w);
	jw_key(&w, "subtype");
	jw_string(&w, "error");
	jw_key(&w, "request_id");
	jw_string(&w, request_id);
	jw_key(&w, "error");
	jw_string(&w, error);
	jw_object_end(&w);
	jw_object_end(&w);
	if (jw_finish(&w) == 0)
		write_line(s, &b);
	buf_release(&b);
}

static void
on_control_request(struct cc_session *s, const struct json_doc *doc)
{
	const char *rid = json_get_str(doc, 0, "request_id");
	int req = json_get(doc, 0, "request");
	const char *subtype = json_get_str(doc, req, "subtype");
	const char *toolu = json_get_str(doc, req, "tool_use_id");
	struct tool *t;

	if (!rid)
		return;
	if (!subtype || strcmp(subtype, "can_use_tool") != 0) {
		answer_control(s, rid, "not supported by the runner");
		return;
	}
	t = toolu ? find_tool(s, toolu) : NULL;
	if (!t) {
		const char *name = json_get_str(doc, req, "tool_name");
		int in = json_get(doc, req, "input");
		size_t len = 2;
		const char *raw = in >= 0 ? json_raw(doc, in, &len) : "{}";

		t = add_tool(s, toolu ? toolu : rid, name ? name : "unknown", raw, len);
		if (!t) {
			answer_control(s, rid, "out of memory");
			return;
		}
	}
	free(t->ask_request);
	t->ask_request = strdup(rid);
	if (!t->posted) {
		post_tool_use(s, t, "ask");
	} else if (t->event_id) {
		send_status_idle(s, "requires_action", t->event_id);
	}
}

static void
handle_line(struct cc_session *s, const char *line, size_t len)
{
	struct json_doc *doc = NULL;
	const char *type;

	if (!len)
		return;
	if (json_parse(line, len, &doc, NULL, 0) < 0 || json_kind(doc, 0) != JSON_OBJECT) {
		logf_(s, ER_LOG_WARNING, "the CLI wrote a line that is not a JSON object: %.200s",
		      line);
		json_free(doc);
		return;
	}
	type = json_get_str(doc, 0, "type");
	if (!type) {
		json_free(doc);
		return;
	}
	if (strcmp(type, "assistant") == 0) {
		on_assistant(s, doc);
	} else if (strcmp(type, "user") == 0) {
		on_user(s, doc);
	} else if (strcmp(type, "result") == 0) {
		on_result(s, doc);
	} else if (strcmp(type, "control_request") == 0) {
		on_control_request(s, doc);
	} else if (strcmp(type, "system") == 0) {
		const char *sub = json_get_str(doc, 0, "subtype");

		if (sub && strcmp(sub, "permission_denied") == 0) {
			const char *toolu = json_get_str(doc, 0, "tool_use_id");
			struct tool *t = toolu ? find_tool(s, toolu) : NULL;

			if (t)
				t->denied = 1;
		} else if (sub && strcmp(sub, "api_retry") == 0) {
			logf_(s, ER_LOG_WARNING, "the CLI retries a Messages API request");
		}
	}
	json_free(doc);
}

/* One stdout line; one past LINE_MAX_BYTES is dropped whole. */
static int
stdout_line(void *userdata, const char *line, size_t len, int partial)
{
	struct cc_session *s = userdata;

	if (partial) {
		s->dropping_line = 1;
		return 0;
	}
	if (s->dropping_line) {
		s->dropping_line = 0;
		logf_(s, ER_LOG_WARNING, "a line of the CLI is too long, dropped");
		return 0;
	}
	if (len)
		handle_line(s, line, len);
	return s->out_fd >= 0 ? 0 : -EBADF;
}

static void
stdout_readable(void *userdata, int fd, uint32_t revents)
{
	struct cc_session *s = userdata;

	if (nbio_drain(s->out_fd, nbio_lines_feed, &s->stdout_lines) != 0 && s->out_fd >= 0)
		pipe_close(s, &s->out_fd, &s->out_watch);
}

/* Keeps the last STDERR_TAIL bytes, for the reason of an unexpected exit. */
static int
keep_stderr_tail(void *userdata, const char *data, size_t len)
{
	struct cc_session *s = userdata;

	if (len > STDERR_TAIL) {
		data += len - STDERR_TAIL;
		len = STDERR_TAIL;
	}
	(void)buf_append(&s->errtail, data, len);
	if (s->errtail.len > STDERR_TAIL)
		buf_consume(&s->errtail, s->errtail.len - STDERR_TAIL);
	return 0;
}

static void
stderr_readable(void *userdata, int fd, uint32_t revents)
{
	struct cc_session *s = userdata;

	if (nbio_drain(s->err_fd, keep_stderr_tail, s) != 0)
		pipe_close(s, &s->err_fd, &s->err_watch);
}

/* ---- the session's events ----------------------------------------------- */

/* Text of a user.message's content blocks, for the transcript. */
static void
append_text(struct buf *out, const struct json_doc *doc, int content)
{
	for (int b = json_first(doc, content); b >= 0; b = json_next(doc, b)) {
		const char *type = json_get_str(doc, b, "type");
		const char *text = json_get_str(doc, b, "text");

		if (type && strcmp(type, "text") == 0 && text)
			(void)buf_puts(out, text);
	}
}

/* Send a user.message's content (raw JSON array) as one stdin line;
 * `context`, when given, becomes a first text block. */
static void
send_user(struct cc_session *s, const char *content, const char *context)
{
	struct buf b = BUF_INIT(INPUT_MAX);
	struct jsonw w;

	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "user");
	jw_key(&w, "message");
	jw_object_begin(&w);
	jw_key(&w, "role");
	jw_string(&w, "user");
	jw_key(&w, "content");
	if (context) {
		/* A new array: the context, then the message's blocks. */
		struct json_doc *doc = NULL;

		jw_array_begin(&w);
		jw_object_begin(&w);
		jw_key(&w, "type");
		jw_string(&w, "text");
		jw_key(&w, "text");
		jw_string(&w, context);
		jw_object_end(&w);
		if (json_parse(content, strlen(content), &doc, NULL, 0) == 0) {
			for (int e = json_first(doc, 0); e >= 0; e = json_next(doc, e)) {
				size_t len;
				const char *raw = json_raw(doc, e, &len);

				jw_raw(&w, raw, len);
			}
		}
		json_free(doc);
		jw_array_end(&w);
	} else {
		jw_raw(&w, content, strlen(content));
	}
	jw_object_end(&w);
	jw_object_end(&w);
	if (jw_finish(&w) == 0 && write_line(s, &b) == 0) {
		s->turns++;
		send_running(s);
	}
	buf_release(&b);
}

static void
send_interrupt(struct cc_session *s)
{
	struct buf b = BUF_INIT(256);

	if (!s->turns)
		return;
	s->interrupted = 1;
	if (buf_printf(&b,
		       "{\"type\":\"control_request\",\"request_id\":\"runner-interrupt-%d\","
		       "\"request\":{\"subtype\":\"interrupt\"}}",
		       ++s->next_request) == 0)
		write_line(s, &b);
	buf_release(&b);
}

static void
on_confirmation(struct cc_session *s, const struct json_doc *doc)
{
	const char *id = json_get_str(doc, 0, "tool_use_id");
	const char *result = json_get_str(doc, 0, "result");
	const char *message = json_get_str(doc, 0, "deny_message");
	struct tool *t = id ? find_tool_by_event(s, id) : NULL;
	struct buf b = BUF_INIT(EVENT_MAX);
	struct jsonw w;
	int allow = result && strcmp(result, "allow") == 0;

	if (!t || !t->ask_request)
		return;
	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "control_response");
	jw_key(&w, "response");
	jw_object_begin(&w);
	jw_key(&w, "subtype");
	jw_string(&w, "success");
	jw_key(&w, "request_id");
	jw_string(&w, t->ask_request);
	jw_key(&w, "response");
	jw_object_begin(&w);
	jw_key(&w, "behavior");
	jw_string(&w, allow ? "allow" : "deny");
	if (allow) {
		jw_key(&w, "updatedInput");
		jw_raw(&w, t->input, strlen(t->input));
	} else {
		jw_key(&w, "message");
		jw_string(&w, message && *message ? message : "denied by the user");
	}
	jw_object_end(&w);
	jw_object_end(&w);
	jw_object_end(&w);
	if (jw_finish(&w) == 0 && write_line(s, &b) == 0) {
		free(t->ask_request);
		t->ask_request = NULL;
		s->running = 0;
		send_running(s);
	}
	buf_release(&b);
}

/* A user or agent event, live or found on a later walk of the history. */
static void
handle_event(struct cc_session *s, const char *type, const char *json, size_t len)
{
	struct json_doc *doc = NULL;
	const char *id;

	if (json_parse(json, len, &doc, NULL, 0) < 0)
		return;
	id = json_get_str(doc, 0, "id");
	if (id && !see_id(s, id))
		goto out;
	if (strcmp(type, "user.message") == 0) {
		int content = json_get(doc, 0, "content");

		if (json_kind(doc, content) == JSON_ARRAY) {
			size_t clen;
			const char *raw = json_raw(doc, content, &clen);
			char *copy = strndup(raw, clen);

			if (copy)
				send_user(s, copy, NULL);
			free(copy);
		}
	} else if (strcmp(type, "user.interrupt") == 0) {
		send_interrupt(s);
	} else if (strcmp(type, "user.tool_confirmation") == 0) {
		on_confirmation(s, doc);
	} else if (strcmp(type, "agent.tool_use") == 0) {
		learn_tool_use_id(s, doc);
	}
out:
	json_free(doc);
}

/* The first walk through the history, before the CLI has any work. */
static void
history_first(struct cc_session *s, const char *type, const char *json, size_t len)
{
	struct json_doc *doc = NULL;
	const char *id;

	if (json_parse(json, len, &doc, NULL, 0) < 0)
		return;
	id = json_get_str(doc, 0, "id");
	if (id)
		see_id(s, id);
	if (strcmp(type, "user.message") == 0) {
		int content = json_get(doc, 0, "content");
		size_t clen;
		const char *raw = json_raw(doc, content, &clen);
		char *copy;

		if (json_kind(doc, content) != JSON_ARRAY)
			goto out;
		if (s->n_pending == s->cap_pending) {
			size_t cap = s->cap_pending ? s->cap_pending * 2 : 8;
			char **p = realloc(s->pending, cap * sizeof(*p));

			if (!p)
				goto out;
			s->pending = p;
			s->cap_pending = cap;
		}
		copy = strndup(raw, clen);
		if (copy)
			s->pending[s->n_pending++] = copy;
	} else if (strcmp(type, "session.status_idle") == 0) {
		const char *reason = json_get_str(doc, json_get(doc, 0, "stop_reason"), "type");
		struct json_doc *msg = NULL;

		/* A turn ended: its message was answered. */
		if ((reason && strcmp(reason, "requires_action") == 0) || !s->n_pending)
			goto out;
		if (json_parse(s->pending[0], strlen(s->pending[0]), &msg, NULL, 0) == 0) {
			(void)buf_puts(&s->transcript, "\n\nUser: ");
			append_text(&s->transcript, msg, 0);
		}
		json_free(msg);
		free(s->pending[0]);
		memmove(s->pending, s->pending + 1, (s->n_pending - 1) * sizeof(*s->pending));
		s->n_pending--;
	} else if (strcmp(type, "agent.message") == 0) {
		(void)buf_puts(&s->transcript, "\n\nAssistant: ");
		append_text(&s->transcript, doc, json_get(doc, 0, "content"));
	}
out:
	json_free(doc);
}

static void
history_done(struct cc_session *s)
{
	struct buf ctx = BUF_INIT(INPUT_MAX);

	s->history_done = 1;
	if (s->transcript.len &&
	    buf_printf(&ctx,
		       "[The runner restarted this conversation's agent. The conversation so "
		       "far:]%s\n\n[End of the earlier conversation. The new message follows.]",
		       s->transcript.data) < 0)
		buf_release(&ctx);
	if (s->n_pending)
		logf_(s, ER_LOG_INFO, "%zu message(s) of the history wait for an answer%s",
		      s->n_pending,
		      ctx.len ? ", sent after a transcript of the earlier turns" : "");
	for (size_t i = 0; i < s->n_pending; i++) {
		send_user(s, s->pending[i], i == 0 && ctx.len ? ctx.data : NULL);
		free(s->pending[i]);
	}
	free(s->pending);
	s->pending = NULL;
	s->n_pending = s->cap_pending = 0;
	buf_release(&ctx);
	buf_release(&s->transcript);
}

static void
cc_session_history(void *state, void *sess, const char *type, const char *json, size_t len)
{
	struct cc_session *s = sess;

	if (!s)
		return;
	if (!type) {
		if (!s->history_done)
			history_done(s);
		return;
	}
	if (!s->history_done)
		history_first(s, type, json, len);
	else
		handle_event(s, type, json, len); /* missed while disconnected */
}

static void
cc_session_event(void *state, void *sess, const char *type, const char *json, size_t len)
{
	struct cc_session *s = sess;

	if (!s || !type || s->stopping)
		return;
	handle_event(s, type, json, len);
}

/* ---- the process -------------------------------------------------------- */

static void
close_fds(struct cc_session *s)
{
	input_close(s);
	pipe_close(s, &s->out_fd, &s->out_watch);
	pipe_close(s, &s->err_fd, &s->err_watch);
}

/* The last non-blank line of `tail` (what the CLI last wrote on stderr),
 * truncated to fit `out`; "" when there is none. */
static void
last_line(const struct buf *tail, char *out, size_t outlen)
{
	size_t end = tail->len;
	size_t start;

	while (end > 0 && isspace((unsigned char)tail->data[end - 1]))
		end--;
	start = end;
	while (start > 0 && tail->data[start - 1] != '\n')
		start--;
	snprintf(out, outlen, "%.*s", (int)(end - start), end > start ? tail->data + start : "");
}

static void
cli_exited(void *userdata, struct er_process *proc, int status)
{
	struct cc_session *s = userdata;
	const struct er_host *host = s->pl->host;
	char how[64];

	s->proc = NULL;
	/* What it wrote before dying. */
	stdout_readable(s, s->out_fd, ER_FD_READ);
	stderr_readable(s, s->err_fd, ER_FD_READ);
	close_fds(s);
	if (s->term_timer)
		host->cancel_timer(s->term_timer);
	s->term_timer = NULL;
	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "was killed by signal %d",
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	if (s->stopping) {
		logf_(s, ER_LOG_INFO, "the CLI %s", how);
	} else {
		char cause[256];
		char msg[512];

		/* A crash: the session learns it and its cause, the log more. */
		logf_(s, ER_LOG_ERR,
		      "session.error: the Claude Code CLI %s unexpectedly; its last words: %s", how,
		      s->errtail.len ? s->errtail.data : "(nothing on stderr)");
		last_line(&s->errtail, cause, sizeof(cause));
		snprintf(msg, sizeof(msg), "the agent process (Claude Code CLI) %s%s%s", how,
			 *cause ? ": " : "", cause);
		send_error(s, "unknown_error", msg, "terminal");
		if (s->turns || s->running)
			send_status_idle(s, "end_turn", NULL);
	}
	if (!s->done) {
		s->done = 1;
		host->session_done(s->handle, !s->stopping);
	}
}

static void
term_fired(void *userdata)
{
	struct cc_session *s = userdata;

	s->term_timer = NULL;
	if (s->proc) {
		logf_(s, ER_LOG_INFO,
		      "the CLI is still running %ld ms after its input closed: SIGTERM",
		      s->pl->stop_grace_ms);
		s->pl->host->process_kill(s->proc, SIGTERM);
	}
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Files of the state directory belong to the workdir's owner: a sandbox
 * that runs commands as another user (bubblewrap as root) gets the workdir
 * handed over, and the CLI must write its state as that user. */
static int
give_to_owner(const struct cc_session *s, const char *path)
{
	if (s->owner_uid < 0)
		return 0;
	return chown(path, (uid_t)s->owner_uid, (gid_t)s->owner_gid) < 0 ? -errno : 0;
}

/* <workdir>/.claude-code-XXXXXX with home/, config/, tmp/: inside the
 * workdir, the one directory every sandbox backend makes writable for the
 * session's commands. */
static int
make_state_dir(struct cc_session *s, const char *workdir, struct er_error *err)
{
	const struct er_host *host = s->pl->host;
	static const char *const subdirs[] = { "home", "config", "tmp" };
	struct buf path = BUF_INIT(4096);
	struct stat st;
	int r;

	s->owner_uid = -1;
	if (stat(workdir, &st) == 0 && st.st_uid != geteuid()) {
		s->owner_uid = (long)st.st_uid;
		s->owner_gid = (long)st.st_gid;
	}
	if (buf_printf(&path, "%s/.claude-code-XXXXXX", workdir) < 0)
		return host->err_set(err, -ENOMEM, "out of memory");
	if (!mkdtemp(path.data)) {
		r = -errno;
		buf_release(&path);
		return host->err_set(err, r, "cannot create the CLI's state directory: %s",
				     strerror(-r));
	}
	s->state_dir = buf_steal(&path);
	r = give_to_owner(s, s->state_dir);
	for (size_t i = 0; r == 0 && i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		if (buf_printf(&path, "%s/%s", s->state_dir, subdirs[i]) < 0)
			return host->err_set(err, -ENOMEM, "out of memory");
		r = mkdir(path.data, 0700) < 0 ? -errno : give_to_owner(s, path.data);
		buf_release(&path);
	}
	if (r < 0)
		return host->err_set(err, r, "cannot prepare the CLI's state directory: %s",
				     strerror(-r));
	return 0;
}

static void
remove_state_dir(struct cc_session *s)
{
	if (!s->state_dir)
		return;
	if (nftw(s->state_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		logf_(s, ER_LOG_WARNING, "cannot remove '%s': %s", s->state_dir, strerror(errno));
	free(s->state_dir);
	s->state_dir = NULL;
}

/* The agent's model id and system prompt, from GET /v1/sessions/{id}. */
static void
agent_settings(const struct er_session_info *info, char **model, char **system)
{
	struct json_doc *doc = NULL;
	int agent;
	int m;
	const char *v;

	*model = *system = NULL;
	if (!info->session_json ||
	    json_parse(info->session_json, info->session_json_len, &doc, NULL, 0) < 0)
		return;
	agent = json_get(doc, 0, "agent");
	m = json_get(doc, agent, "model");
	v = json_kind(doc, m) == JSON_STRING ? json_str(doc, m) : json_get_str(doc, m, "id");
	if (v && *v)
		*model = strdup(v);
	v = json_get_str(doc, agent, "system");
	if (v && *v)
		*system = strdup(v);
	json_free(doc);
}

static int
write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int r;

	if (fd < 0)
		return -errno;
	r = nbio_write_all(fd, text, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* A growable NULL-terminated list of strings we own. */
struct strlist {
	char **v;
	size_t n;
	size_t cap;
	int failed;
};

static void sl_push(struct strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sl_push(struct strlist *l, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (l->failed)
		return;
	if (l->n + 2 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->failed = 1;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		l->failed = 1;
		va_end(ap);
		return;
	}
	va_end(ap);
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

static void
sl_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
spawn_cli(struct cc_session *s, const struct er_session_info *info, struct er_error *err)
{
	struct cc_plugin *pl = s->pl;
	const struct er_host *host = pl->host;
	struct strlist argv = { 0 };
	struct strlist env = { 0 };
	struct er_spawn_request req;
	char *model = NULL;
	char *system = NULL;
	int keyp[2] = { -1, -1 };
	int32_t pass[1];
	size_t keylen = strlen(pl->inference_key);
	int r;

	agent_settings(info, &model, &system);
	sl_push(&argv, "%s", pl->exec_path);
	sl_push(&argv, "-p");
	sl_push(&argv, "--input-format");
	sl_push(&argv, "stream-json");
	sl_push(&argv, "--output-format");
	sl_push(&argv, "stream-json");
	sl_push(&argv, "--verbose");
	if (model) {
		sl_push(&argv, "--model");
		sl_push(&argv, "%s", model);
	}
	if (system) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/system-prompt.txt", s->state_dir);
		r = write_file(path, system);
		if (r == 0)
			r = give_to_owner(s, path);
		if (r < 0) {
			host->err_set(err, r, "cannot write the system prompt: %s", strerror(-r));
			goto out;
		}
		sl_push(&argv, "%s",
			pl->replace_system_prompt ? "--system-prompt-file"
						  : "--append-system-prompt-file");
		sl_push(&argv, "%s", path);
	}
	if (pl->permission_mode) {
		sl_push(&argv, "--permission-mode");
		sl_push(&argv, "%s", pl->permission_mode);
	}
	if (pl->prompt_tool) {
		sl_push(&argv, "--permission-prompt-tool");
		sl_push(&argv, "%s", pl->prompt_tool);
	}
	if (pl->allowed_tools) {
		sl_push(&argv, "--allowedTools");
		sl_push(&argv, "%s", pl->allowed_tools);
	}
	if (pl->extra_args) {
		const char *p = pl->extra_args;

		while (*p) {
			size_t n;

			while (*p == ' ' || *p == '\t')
				p++;
			n = strcspn(p, " \t");
			if (n)
				sl_push(&argv, "%.*s", (int)n, p);
			p += n;
		}
	}

	/* The key on a pipe: the pipe buffer holds it, the CLI reads it. */
	if (pipe2(keyp, O_CLOEXEC) < 0) {
		r = host->err_set(err, -errno, "cannot make the key pipe: %s", strerror(errno));
		goto out;
	}
	if (write(keyp[1], pl->inference_key, keylen) != (ssize_t)keylen) {
		r = host->err_set(err, -EIO, "cannot write the key pipe");
		goto out;
	}
	close(keyp[1]);
	keyp[1] = -1;
	pass[0] = keyp[0];

	sl_push(&env, "HOME=%s/home", s->state_dir);
	sl_push(&env, "CLAUDE_CONFIG_DIR=%s/config", s->state_dir);
	sl_push(&env, "TMPDIR=%s/tmp", s->state_dir);
	sl_push(&env, "ANTHROPIC_BASE_URL=%s", pl->inference_url);
	sl_push(&env, "CLAUDE_CODE_API_KEY_FILE_DESCRIPTOR=%d", keyp[0]);
	sl_push(&env, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1");
	sl_push(&env, "DISABLE_AUTOUPDATER=1");
	sl_push(&env, "DISABLE_TELEMETRY=1");
	sl_push(&env, "DISABLE_ERROR_REPORTING=1");
	if (argv.failed || env.failed) {
		r = host->err_set(err, -ENOMEM, "out of memory");
		goto out;
	}

	memset(&req, 0, sizeof(req));
	req.struct_size = sizeof(req);
	req.cmd.struct_size = sizeof(req.cmd);
	req.cmd.argv = (const char *const *)argv.v;
	req.cmd.envp = (const char *const *)env.v;
	req.cmd.cwd = info->workdir;
	req.cmd.workdir = info->workdir;
	req.cmd.session_id = info->session_id;
	req.pipe_stdin = 1;
	req.pipe_stdout = 1;
	req.pipe_stderr = 1;
	req.pass_fds = pass;
	req.n_pass_fds = 1;
	r = host->spawn(s->handle, &req, cli_exited, s, &s->proc, err);
	if (r < 0)
		goto out;
	s->in_fd = req.stdin_fd;
	s->out_fd = req.stdout_fd;
	s->err_fd = req.stderr_fd;
	logf_(s, ER_LOG_INFO, "started %s (pid %d, model %s) in '%s'", pl->exec_path, (int)req.pid,
	      model ? model : "the CLI's default", info->workdir);
	if (host->watch_fd(pl->host_ctx, s->out_fd, ER_FD_READ, stdout_readable, s, &s->out_watch) <
		    0 ||
	    host->watch_fd(pl->host_ctx, s->err_fd, ER_FD_READ, stderr_readable, s, &s->err_watch) <
		    0) {
		host->process_release(s->proc);
		s->proc = NULL;
		r = host->err_set(err, -ENOMEM, "cannot watch the CLI's output");
		goto out;
	}
	r = 0;
out:
	if (keyp[0] >= 0)
		close(keyp[0]);
	if (keyp[1] >= 0)
		close(keyp[1]);
	sl_free(&argv);
	sl_free(&env);
	free(model);
	free(system);
	return r;
}

static void
session_release(struct cc_session *s)
{
	const struct er_host *host = s->pl->host;

	if (s->proc)
		host->process_release(s->proc);
	s->proc = NULL;
	if (s->term_timer)
		host->cancel_timer(s->term_timer);
	s->term_timer = NULL;
	close_fds(s);
	nbio_lines_release(&s->stdout_lines);
	buf_release(&s->errtail);
	buf_release(&s->transcript);
	for (size_t i = 0; i < s->n_pending; i++)
		free(s->pending[i]);
	free(s->pending);
	free_tools(s);
	for (int i = 0; i < ID_BUCKETS; i++) {
		while (s->seen[i]) {
			struct id_node *n = s->seen[i];

			s->seen[i] = n->next;
			free(n);
		}
	}
	remove_state_dir(s);
	free(s->session_id);
	free(s);
}

static int
cc_session_start(void *state, struct er_session *session, const struct er_session_info *info,
		 void **ret_sess, struct er_error *err)
{
	struct cc_plugin *pl = state;
	struct cc_session *s;
	int r;

	if (!info || !info->workdir || !info->session_id)
		return pl->host->err_set(err, -EINVAL, "no session");
	s = calloc(1, sizeof(*s));
	if (!s)
		return pl->host->err_set(err, -ENOMEM, "out of memory");
	s->pl = pl;
	s->handle = session;
	s->in_fd = s->out_fd = s->err_fd = -1;
	buf_init(&s->inq, INPUT_MAX);
	nbio_lines_init(&s->stdout_lines, LINE_MAX_BYTES, stdout_line, s);
	buf_init(&s->errtail, 2 * STDERR_TAIL + 4096);
	buf_init(&s->transcript, INPUT_MAX / 2);
	s->session_id = strdup(info->session_id);
	if (!s->session_id) {
		r = pl->host->err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	r = make_state_dir(s, info->workdir, err);
	if (r == 0)
		r = spawn_cli(s, info, err);
	if (r < 0)
		goto fail;
	*ret_sess = s;
	return 0;
fail:
	session_release(s);
	return r;
}

static void
cc_session_stop(void *state, void *sess, uint32_t reason)
{
	struct cc_session *s = sess;

	if (!s)
		return;
	s->stopping = 1;
	if (!s->proc) {
		if (!s->done) {
			s->done = 1;
			s->pl->host->session_done(s->handle, 0);
		}
		return;
	}
	if (reason == ER_STOP_LEASE_LOST) {
		s->pl->host->process_kill(s->proc, SIGKILL);
		return;
	}
	/* End of input: the CLI finishes the running turn and exits. */
	buf_reset(&s->inq);
	input_close(s);
	if (s->pl->host->add_timer(s->pl->host_ctx, (uint64_t)s->pl->stop_grace_ms, term_fired, s,
				   &s->term_timer) < 0)
		s->pl->host->process_kill(s->proc, SIGTERM);
}

static void
cc_session_free(void *state, void *sess)
{
	if (sess)
		session_release(sess);
}

/* ---- the plugin --------------------------------------------------------- */

static int
cc_create(const struct er_host *host, void *host_ctx, void **ret_state, struct er_error *err)
{
	struct cc_plugin *pl;
	const char *v;

	if (!ER_HOST_HAS(host, spawn) || !ER_HOST_HAS(host, send_event) ||
	    !ER_HOST_HAS(host, session_done))
		return host->err_set(err, -ENOTSUP, "the runner offers no spawn or send_event");
	if (host->abi_minor < 1)
		return host->err_set(err, -ENOTSUP, "the runner is older than ABI 1.1");
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return host->err_set(err, -ENOMEM, "out of memory");
	pl->host = host;
	pl->host_ctx = host_ctx;
	pl->exec_path = host->config_get(host_ctx, "runner.exec_path");
	if (!pl->exec_path)
		pl->exec_path = "claude";
	pl->inference_url = host->config_get(host_ctx, "runner.inference_url");
	pl->inference_key = host->config_get(host_ctx, "runner.inference_key");
	pl->permission_mode = host->config_get(host_ctx, "claude-code.permission-mode");
	pl->prompt_tool = host->config_get(host_ctx, "claude-code.permission-prompt-tool");
	pl->allowed_tools = host->config_get(host_ctx, "claude-code.allowed-tools");
	pl->extra_args = host->config_get(host_ctx, "claude-code.args");
	v = host->config_get(host_ctx, "claude-code.system-prompt");
	pl->stop_grace_ms = DEFAULT_STOP_GRACE_MS;
	if (v && strcmp(v, "replace") == 0) {
		pl->replace_system_prompt = 1;
	} else if (v && strcmp(v, "append") != 0) {
		free(pl);
		return host->err_set(
			err, -EINVAL,
			"invalid claude-code.system-prompt '%s'; fix: give append or replace", v);
	}
	v = host->config_get(host_ctx, "claude-code.stop-grace-ms");
	if (v) {
		char *end;

		pl->stop_grace_ms = strtol(v, &end, 10);
		if (*end || pl->stop_grace_ms < 0 || pl->stop_grace_ms > 600000) {
			free(pl);
			return host->err_set(
				err, -EINVAL,
				"invalid claude-code.stop-grace-ms '%s'; fix: give 0-600000", v);
		}
	}
	if (pl->prompt_tool && strcmp(pl->prompt_tool, "stdio") != 0) {
		v = pl->prompt_tool;
		free(pl);
		return host->err_set(
			err, -EINVAL,
			"invalid claude-code.permission-prompt-tool '%s'; fix: give stdio", v);
	}
	if (!pl->inference_url) {
		free(pl);
		return host->err_set(err, -EINVAL, "the runner gives no inference URL");
	}
	if (!pl->inference_key || !*pl->inference_key) {
		free(pl);
		return host->err_set(
			err, -ENOKEY,
			"no key for the Messages API; fix: pass --inference-key-file FILE "
			"or give the runner ANTHROPIC_API_KEY");
	}
	*ret_state = pl;
	return 0;
}

static void
cc_destroy(void *state)
{
	free(state);
}

static const struct er_option cc_options[] = {
	{ "claude-code.permission-mode", "MODE",
	  "the CLI's --permission-mode (default, acceptEdits, auto, dontAsk, plan, ...)" },
	{ "claude-code.permission-prompt-tool", "stdio",
	  "forward permission prompts as agent.tool_use with evaluated_permission \"ask\", "
	  "answered by user.tool_confirmation" },
	{ "claude-code.allowed-tools", "LIST", "the CLI's --allowedTools, e.g. \"Bash Edit\"" },
	{ "claude-code.system-prompt", "append|replace",
	  "the agent's system prompt is appended to Claude Code's (default) or replaces it" },
	{ "claude-code.args", "ARGS", "more CLI arguments, split on blanks" },
	{ "claude-code.stop-grace-ms", "MS",
	  "after closing the CLI's input at the session's end, SIGTERM it after MS (default "
	  "5000)" },
	{ NULL, NULL, NULL },
};

static const struct er_executor_ops cc_ops = {
	.struct_size = sizeof(struct er_executor_ops),
	.flags = ER_EXECUTOR_EVENTS | ER_EXECUTOR_HISTORY,
	.session_start = cc_session_start,
	.session_event = cc_session_event,
	.session_stop = cc_session_stop,
	.session_free = cc_session_free,
	.session_history = cc_session_history,
};

ER_PLUGIN_DEFINE_FULL(ER_KIND_EXECUTOR, "claude-code", PACKAGE_VERSION,
		      "one Claude Code CLI per session, over stream-json", cc_options, ER_ABI_MINOR,
		      0, cc_create, cc_destroy, &cc_ops);
