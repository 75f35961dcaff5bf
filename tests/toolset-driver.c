/* SPDX-License-Identifier: MIT */
/*
 * toolset-driver WORKDIR: feed the toolset plugin tool calls and print what
 * it answers, for the differential test against the SDK's own toolset.
 *
 * Reads one JSON object per line, {"name": ..., "input": {...}, "thread":
 * ...}, sends it to the plugin (through a stand-in host, so bash and rg run
 * as well) and prints one line per call, {"is_error": <bool>, "text":
 * <string>}, where text is what the plugin passed to tool_result (before the
 * runner's "(no output)" substitution).  Calls run one at a time, in order,
 * on the session thread `thread` when given.  The name "thread_stop" ends
 * the thread `thread` instead.  "<SAVED>" in a line stands for the file
 * where the last result that named one saved bash's output.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <environment-runner/plugin.h>

#include "buf.h"
#include "json.h"
#include "jsonw.h"
#include "mock-host.h"

extern const struct er_plugin er_plugin_v1;

#define LINE_MAX_BYTES (8u << 20)

static int
print_result(int is_error, const char *text, size_t len)
{
	struct buf b = BUF_INIT(64u << 20);
	struct jsonw w;
	int r;

	jw_init(&w, &b);
	jw_object_begin(&w);
	jw_key(&w, "is_error");
	jw_bool(&w, is_error);
	jw_key(&w, "text");
	jw_stringn(&w, text, len);
	jw_object_end(&w);
	r = jw_finish(&w);
	if (r == 0) {
		fwrite(b.data, 1, b.len, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	buf_release(&b);
	return r;
}

/* Remember the file a result names as "saved to: <file> \u2014 ...". */
static void
note_saved(char *saved, size_t size, const char *text)
{
	const char *p = strstr(text, "saved to: ");
	const char *e;

	if (!p)
		return;
	p += strlen("saved to: ");
	e = strstr(p, " \xe2\x80\x94 ");
	if (e && (size_t)(e - p) < size)
		snprintf(saved, size, "%.*s", (int)(e - p), p);
}

/* `line` with every "<SAVED>" replaced by `saved`; caller frees. */
static char *
fill_saved(const char *line, const char *saved)
{
	struct buf b = BUF_INIT(2 * LINE_MAX_BYTES);
	const char *p = line;
	const char *hit;
	int r = buf_puts(&b, "");

	while (r == 0 && (hit = strstr(p, "<SAVED>")) != NULL) {
		r = buf_append(&b, p, (size_t)(hit - p));
		if (r == 0)
			r = buf_puts(&b, saved);
		p = hit + strlen("<SAVED>");
	}
	if (r == 0)
		r = buf_puts(&b, p);
	if (r < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_steal(&b);
}

int
main(int argc, char **argv)
{
	const struct er_executor_ops *ops = er_plugin_v1.ops;
	struct er_session_info info;
	struct er_error err;
	void *state = NULL;
	void *sess = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	char saved[4096] = "";
	int seq = 0;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s WORKDIR < calls.jsonl\n", argv[0]);
		return 2;
	}
	/* As the runner: a write to a shell that died fails with EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	memset(&err, 0, sizeof(err));
	if (er_plugin_v1.create(&mock_host, NULL, &state, &err) < 0) {
		fprintf(stderr, "create: %s\n", err.msg);
		return 1;
	}
	memset(&info, 0, sizeof(info));
	info.struct_size = sizeof(info);
	info.session_id = "sesn_driver";
	info.workdir = argv[1];
	if (ops->session_start(state, mock_session(), &info, &sess, &err) < 0) {
		fprintf(stderr, "session_start: %s\n", err.msg);
		return 1;
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		char *filled = fill_saved(line, saved);
		struct json_doc *doc = NULL;
		struct er_tool_call call;
		const char *name;
		const char *thread;
		const char *input = "{}";
		size_t input_len = 2;
		char id[32];
		char errbuf[128];
		int before = mock_nresults;
		int tok;
		int r;

		if ((size_t)n > LINE_MAX_BYTES || !filled ||
		    json_parse(filled, strlen(filled), &doc, errbuf, sizeof(errbuf)) < 0) {
			fprintf(stderr, "bad input line %d\n", seq + 1);
			free(filled);
			rc = 1;
			break;
		}
		name = json_get_str(doc, 0, "name");
		thread = json_get_str(doc, 0, "thread");
		if (name && strcmp(name, "thread_stop") == 0) {
			ops->thread_stop(state, sess, thread);
			print_result(0, "(thread stopped)", 16);
			json_free(doc);
			free(filled);
			continue;
		}
		tok = json_get(doc, 0, "input");
		if (tok >= 0)
			input = json_raw(doc, tok, &input_len);
		snprintf(id, sizeof(id), "toolu_%d", ++seq);
		call.struct_size = sizeof(call);
		call.id = id;
		call.name = name ? name : "";
		call.input_json = input;
		call.input_len = input_len;
		call.session_thread_id = thread;
		r = ops->tool_call(state, sess, &call);
		if (r == ER_DECLINED) {
			print_result(1, "(declined)", 10);
		} else if (r < 0) {
			print_result(1, "(failed to start)", 17);
		} else if (mock_run_until(before + 1, 150000) == before + 1) {
			print_result(mock_results[before].is_error, mock_results[before].text,
				     mock_results[before].len);
			note_saved(saved, sizeof(saved), mock_results[before].text);
		} else {
			print_result(1, "(no result)", 11);
		}
		mock_reset_results();
		json_free(doc);
		free(filled);
	}
	free(line);
	ops->session_stop(state, sess, ER_STOP_SHUTDOWN);
	ops->session_free(state, sess);
	er_plugin_v1.destroy(state);
	mock_run_for(20);
	return rc;
}
