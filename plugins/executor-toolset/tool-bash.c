/* SPDX-License-Identifier: MIT */
/*
 * bash: one persistent /bin/bash per session (node.ts BashSession and
 * betaBashTool).
 *
 * Each command is written to the shell's stdin as
 *
 *   { <command>
 *   } </dev/null 2>&1; printf '\n<sentinel>%d\n' $?
 *
 * with a per-call random sentinel whose literal never appears in what is
 * written (it is split by '' after 8 characters).  Everything the shell
 * prints on stdout or stderr is collected, keeping the last 100 * 1024
 * UTF-16 code units; the call completes when the sentinel shows up.  The
 * output before it, with ANSI CSI sequences and trailing newlines removed
 * (and "[output truncated]\n" in front when something was dropped), is the
 * result; a non-zero status makes it an error ("exit <code>" when empty).
 *
 * Timeout, cancellation and a shell that died all kill the shell's process
 * group; the next call starts a fresh shell.  A shell that died is logged
 * with its exit status and the last line of its own stderr (where bash, or
 * the sandbox around it, says why it could not run); when there is such a
 * line, the call's result carries both after the SDK's words.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <environment-runner/plugin.h>

#include "toolset.h"

#define BASH_OUTPUT_LIMIT (100u * 1024u) /* UTF-16 units */
#define BASH_DEFAULT_TIMEOUT 120000
#define BASH_MAX_COMMAND (1u << 20)
#define BASH_READ_CHUNK 65536
#define BASH_ERR_TAIL 512

struct ts_bash {
	struct ts_session *s;
	struct er_process *proc;
	int fds[3]; /* stdin, stdout, stderr; -1 once closed */
	struct er_watch *watch[3];
	struct utf8_stream dec[3]; /* for stdout and stderr */
	int exited;		   /* the process was reaped */
	int closed;		   /* exited and both outputs at EOF: "close" */
	struct buf pending;	   /* command text not yet written */
	size_t pending_off;
	/* The running call. */
	char *call_id;
	char sentinel[64];
	int64_t timeout_ms;
	struct er_timer *timer;
	struct buf out;	  /* decoded output, trimmed to the limit */
	size_t out_units; /* its length in UTF-16 units */
	int truncated;
	/* Why the shell died: its status, once exited (as waitpid() reports
	 * it), and the last bytes of its own stderr. */
	int status;
	char err_tail[BASH_ERR_TAIL];
	size_t err_tail_len;
};

static void bash_finish(struct ts_bash *b);
static const char *find_sentinel(const struct ts_bash *b);

static const struct er_host *
host_of(const struct ts_bash *b)
{
	return b->s->pl->host;
}

static void
close_stream(struct ts_bash *b, int i)
{
	if (b->watch[i]) {
		host_of(b)->unwatch_fd(b->watch[i]);
		b->watch[i] = NULL;
	}
	if (b->fds[i] >= 0) {
		close(b->fds[i]);
		b->fds[i] = -1;
	}
}

/* Kill the shell's process group and forget everything about it. */
static void
bash_kill(struct ts_bash *b)
{
	const struct er_host *host = host_of(b);
	int i;

	for (i = 0; i < 3; i++)
		close_stream(b, i);
	if (b->timer) {
		host->cancel_timer(b->timer);
		b->timer = NULL;
	}
	if (b->proc) {
		host->process_kill(b->proc, SIGKILL);
		host->process_release(b->proc);
		b->proc = NULL;
	}
	buf_release(&b->pending);
	buf_release(&b->out);
	free(b->call_id);
	b->call_id = NULL;
	free(b);
}

/* Answer the running call and drop the shell (timeout, died). */
static void
bash_fail(struct ts_bash *b, const char *msg)
{
	struct ts_session *s = b->s;
	char *id = b->call_id;

	b->call_id = NULL;
	s->bash = NULL;
	bash_kill(b);
	if (id) {
		ts_result(s, id, 1, msg, strlen(msg));
		free(id);
	}
}

/* Commands write their stderr to stdout (2>&1 in the wrapper); what
 * arrives on the shell's stderr comes from bash itself or from the
 * sandbox's tool that runs it. */
static void
keep_err_tail(struct ts_bash *b, const char *p, size_t n)
{
	if (n >= sizeof(b->err_tail)) {
		p += n - sizeof(b->err_tail);
		n = sizeof(b->err_tail);
	}
	if (b->err_tail_len + n > sizeof(b->err_tail)) {
		size_t drop = b->err_tail_len + n - sizeof(b->err_tail);

		memmove(b->err_tail, b->err_tail + drop, b->err_tail_len - drop);
		b->err_tail_len -= drop;
	}
	memcpy(b->err_tail + b->err_tail_len, p, n);
	b->err_tail_len += n;
}

/* The text for a shell that died: the SDK's words, then its exit status and
 * the last line it wrote on stderr, if it wrote one (bash's own "exit 3"
 * writes none, and keeps the SDK's text alone).  Logged in every case. */
static void
died_message(struct ts_bash *b, char *out, size_t size)
{
	static const char sdk[] = "bash: bash session terminated";
	char status[64];
	char line[BASH_ERR_TAIL + 1];
	size_t end = b->err_tail_len;
	size_t start;

	while (end > 0 && (b->err_tail[end - 1] == '\n' || b->err_tail[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && b->err_tail[start - 1] != '\n')
		start--;
	memcpy(line, b->err_tail + start, end - start);
	line[end - start] = '\0';
	if (WIFSIGNALED(b->status))
		snprintf(status, sizeof(status), "killed by signal %d", WTERMSIG(b->status));
	else
		snprintf(status, sizeof(status), "exit status %d", WEXITSTATUS(b->status));
	host_of(b)->log(b->s->pl->host_ctx, line[0] ? ER_LOG_WARNING : ER_LOG_INFO,
			"bash: the shell exited (%s)%s%s", status,
			line[0] ? "; its last stderr line: " : ", nothing on stderr", line);
	if (line[0])
		snprintf(out, size, "%s (%s: %s)", sdk, status, line);
	else
		snprintf(out, size, "%s", sdk);
}

static void
check_closed(struct ts_bash *b)
{
	char msg[BASH_ERR_TAIL + 128];

	if (!b->exited || b->fds[1] >= 0 || b->fds[2] >= 0 || b->closed)
		return;
	b->closed = 1;
	/* Woken without the sentinel: the shell is gone. */
	if (b->call_id) {
		died_message(b, msg, sizeof(msg));
		bash_fail(b, msg);
	}
}

/* Keep only the last BASH_OUTPUT_LIMIT units. */
static int
append_output(struct ts_bash *b, struct buf *chunk)
{
	size_t units = utf16_length(chunk->data, chunk->len);
	int r;

	if (chunk->len == 0)
		return 0;
	r = buf_append(&b->out, chunk->data, chunk->len);
	if (r < 0)
		return r;
	b->out_units += units;
	if (b->out_units > BASH_OUTPUT_LIMIT) {
		size_t drop =
			utf16_prefix(b->out.data, b->out.len, b->out_units - BASH_OUTPUT_LIMIT);
		size_t dropped_units = utf16_length(b->out.data, drop);

		/* The SDK's slice() can split a surrogate pair; whole code
		 * points are dropped here, one more if need be. */
		if (b->out_units - dropped_units > BASH_OUTPUT_LIMIT) {
			size_t next = drop + 1;

			while (next < b->out.len &&
			       ((unsigned char)b->out.data[next] & 0xc0) == 0x80)
				next++;
			drop = next;
			dropped_units = utf16_length(b->out.data, drop);
		}
		buf_consume(&b->out, drop);
		b->out_units -= dropped_units;
		b->truncated = 1;
	}
	return 0;
}

static void
on_output(void *userdata, int fd, uint32_t revents)
{
	struct ts_bash *b = userdata;
	struct buf chunk = BUF_INIT(4 * BASH_READ_CHUNK + 8);
	char raw[BASH_READ_CHUNK];
	int i = fd == b->fds[1] ? 1 : 2;
	int eof = 0;

	for (;;) {
		ssize_t n = read(fd, raw, sizeof(raw));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			eof = 1;
			n = 0;
		}
		if (i == 2)
			keep_err_tail(b, raw, (size_t)n);
		buf_reset(&chunk);
		if (utf8_stream_feed(&b->dec[i], &chunk, raw, (size_t)n, eof) < 0 ||
		    append_output(b, &chunk) < 0) {
			buf_release(&chunk);
			bash_fail(b, "bash: out of memory");
			return;
		}
		if (eof)
			break;
		if ((size_t)n < sizeof(raw))
			break;
	}
	buf_release(&chunk);
	if (b->call_id && find_sentinel(b)) {
		bash_finish(b);
		return;
	}
	if (eof) {
		close_stream(b, i);
		check_closed(b);
	}
}

static void
on_exit_cb(void *userdata, struct er_process *proc, int status)
{
	struct ts_bash *b = userdata;

	b->proc = NULL; /* the handle dies with this callback */
	b->exited = 1;
	b->status = status;
	check_closed(b);
}

static void
flush_input(struct ts_bash *b)
{
	while (b->pending_off < b->pending.len) {
		ssize_t n = write(b->fds[0], b->pending.data + b->pending_off,
				  b->pending.len - b->pending_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			/* EPIPE: the shell is gone; its exit reports it. */
			b->pending_off = b->pending.len;
			break;
		}
		b->pending_off += (size_t)n;
	}
	if (b->watch[0]) {
		host_of(b)->unwatch_fd(b->watch[0]);
		b->watch[0] = NULL;
	}
	buf_reset(&b->pending);
	b->pending_off = 0;
}

static void
on_stdin_writable(void *userdata, int fd, uint32_t revents)
{
	flush_input(userdata);
}

static void
on_timeout(void *userdata)
{
	struct ts_bash *b = userdata;
	char msg[96];

	b->timer = NULL;
	snprintf(msg, sizeof(msg), "bash: bash command timed out after %lldms",
		 (long long)b->timeout_ms);
	bash_fail(b, msg);
}

/* Remove ANSI CSI sequences: ESC [ [0-9;?]* [ -/]* [@-~]. */
static void
strip_ansi(struct buf *t)
{
	size_t i = 0;
	size_t o = 0;

	while (i < t->len) {
		if (t->data[i] == 0x1b && i + 1 < t->len && t->data[i + 1] == '[') {
			size_t j = i + 2;

			while (j < t->len && ((t->data[j] >= '0' && t->data[j] <= '9') ||
					      t->data[j] == ';' || t->data[j] == '?'))
				j++;
			while (j < t->len && t->data[j] >= ' ' && t->data[j] <= '/')
				j++;
			if (j < t->len && t->data[j] >= '@' && t->data[j] <= '~') {
				i = j + 1;
				continue;
			}
		}
		t->data[o++] = t->data[i++];
	}
	buf_truncate(t, o);
}

static const char *
find_sentinel(const struct ts_bash *b)
{
	if (!b->out.data)
		return NULL;
	return memmem(b->out.data, b->out.len, b->sentinel, strlen(b->sentinel));
}

static void
bash_finish(struct ts_bash *b)
{
	static const char marker[] = "[output truncated]\n";
	struct ts_session *s = b->s;
	struct buf text = BUF_INIT(TS_OUT_MAX);
	struct buf body = BUF_INIT(TS_OUT_MAX);
	const char *hit = find_sentinel(b);
	const char *tail = hit + strlen(b->sentinel);
	int truncated = b->truncated;
	long long code = -1;
	char *id = b->call_id;
	int r;

	if (b->timer) {
		host_of(b)->cancel_timer(b->timer);
		b->timer = NULL;
	}
	/* tail.match(/^(-?\d+)/) */
	if ((tail[0] == '-' && tail[1] >= '0' && tail[1] <= '9') ||
	    (tail[0] >= '0' && tail[0] <= '9')) {
		char *end;

		errno = 0;
		code = strtoll(tail, &end, 10);
		if (errno)
			code = -1;
	}
	r = buf_append(&body, b->out.data, (size_t)(hit - b->out.data));
	b->call_id = NULL;
	buf_reset(&b->out);
	b->out_units = 0;
	b->truncated = 0;
	if (r == 0) {
		strip_ansi(&body);
		while (body.len > 0 && body.data[body.len - 1] == '\n')
			buf_truncate(&body, body.len - 1);
		r = buf_puts(&text, truncated ? marker : "");
		if (r == 0)
			r = buf_append(&text, body.data ? body.data : "", body.len);
	}
	if (r < 0)
		ts_result(s, id, 1, "bash: out of memory", 19);
	else if (code == 0)
		ts_result(s, id, 0, text.data, text.len);
	else if (text.len > 0)
		ts_result(s, id, 1, text.data, text.len);
	else {
		char msg[48];

		snprintf(msg, sizeof(msg), "exit %lld", code);
		ts_result(s, id, 1, msg, strlen(msg));
	}
	free(id);
	buf_release(&body);
	buf_release(&text);
}

static int
bash_start(struct ts_session *s, struct ts_bash **ret, struct er_error *err)
{
	const struct er_host *host = s->pl->host;
	static const char *const argv[] = { "/bin/bash", "--noprofile", "--norc", NULL };
	static const char *const envp[] = { "PS1=", "PS2=", "TERM=dumb", NULL };
	struct er_spawn_request req;
	struct ts_bash *b;
	int r;
	int i;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->s = s;
	for (i = 0; i < 3; i++)
		b->fds[i] = -1;
	buf_init(&b->pending, BASH_MAX_COMMAND + 4096);
	buf_init(&b->out, 4 * BASH_OUTPUT_LIMIT + 4 * BASH_READ_CHUNK + 16);
	memset(&req, 0, sizeof(req));
	req.struct_size = sizeof(req);
	req.cmd.struct_size = sizeof(req.cmd);
	req.cmd.argv = argv;
	req.cmd.envp = envp;
	req.cmd.cwd = s->ctx.workdir;
	req.cmd.workdir = s->ctx.workdir;
	req.pipe_stdin = 1;
	req.pipe_stdout = 1;
	req.pipe_stderr = 1;
	r = host->spawn(s->handle, &req, on_exit_cb, b, &b->proc, err);
	if (r < 0) {
		free(b);
		return r;
	}
	b->fds[0] = req.stdin_fd;
	b->fds[1] = req.stdout_fd;
	b->fds[2] = req.stderr_fd;
	for (i = 1; i <= 2; i++) {
		r = host->watch_fd(s->pl->host_ctx, b->fds[i], ER_FD_READ, on_output, b,
				   &b->watch[i]);
		if (r < 0) {
			bash_kill(b);
			return r;
		}
	}
	*ret = b;
	return 0;
}

static void
make_sentinel(char *out, size_t size)
{
	unsigned char u[16];
	size_t i;

	if (getentropy(u, sizeof(u)) < 0) {
		uint64_t t = (uint64_t)time(NULL) ^ (uint64_t)getpid() ^ (uintptr_t)out;

		for (i = 0; i < sizeof(u); i++) {
			t = t * 6364136223846793005ULL + 1442695040888963407ULL;
			u[i] = (unsigned char)(t >> 56);
		}
	}
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	snprintf(out, size,
		 "__ANT_CMD_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x_"
		 "DONE__",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static int
answer(struct ts_session *s, const char *id, int is_error, const char *text)
{
	ts_result(s, id, is_error, text, strlen(text));
	return 0;
}

int
tool_bash(struct ts_session *s, const char *call_id, const struct json_doc *doc, int input)
{
	const struct er_host *host = s->pl->host;
	struct buf command = BUF_INIT(BASH_MAX_COMMAND);
	int64_t timeout = BASH_DEFAULT_TIMEOUT;
	struct ts_bash *b;
	int t_tok;
	int c_tok;
	int r;

	if (s->bash && s->bash->call_id)
		return answer(s, call_id, 1, "bash: another bash command is still running");
	if (ts_truthy(doc, ts_member(doc, input, "restart")) && s->bash) {
		bash_kill(s->bash);
		s->bash = NULL;
	}
	c_tok = ts_member(doc, input, "command");
	if (!ts_truthy(doc, c_tok)) {
		if (ts_truthy(doc, ts_member(doc, input, "restart")))
			return answer(s, call_id, 0, "bash session restarted");
		return answer(s, call_id, 1, "bash: command is required");
	}
	/* timeout_ms <= 0 means the default (protocol.md A12). */
	t_tok = ts_member(doc, input, "timeout_ms");
	if (json_kind(doc, t_tok) == JSON_NUMBER) {
		int64_t v;
		double d;

		if (json_int64(doc, t_tok, &v) == 0 && v > 0)
			timeout = v;
		else if (json_double(doc, t_tok, &d) == 0 && d >= 1 && d < 9e15)
			timeout = (int64_t)d;
	}
	r = ts_js_string(doc, c_tok, &command);
	if (r == -ENOSPC)
		return answer(s, call_id, 1, "bash: command is too long");
	if (r < 0)
		return r;

	if (s->bash && s->bash->closed) {
		/* The shell died between calls: this call reports it and the
		 * next one starts afresh, as the SDK does. */
		char msg[BASH_ERR_TAIL + 128];

		died_message(s->bash, msg, sizeof(msg));
		bash_kill(s->bash);
		s->bash = NULL;
		buf_release(&command);
		return answer(s, call_id, 1, msg);
	}
	if (!s->bash) {
		struct er_error err;

		memset(&err, 0, sizeof(err));
		r = bash_start(s, &s->bash, &err);
		if (r < 0) {
			struct buf msg = BUF_INIT(512);

			buf_release(&command);
			err.msg[sizeof(err.msg) - 1] = '\0';
			/* The host's or the sandbox's words, e.g. why wrap() failed. */
			host->log(s->pl->host_ctx, ER_LOG_WARNING,
				  "bash: cannot start the shell: %s",
				  err.msg[0] ? err.msg : strerror(-r));
			if (buf_printf(&msg, "bash: %s", err.msg[0] ? err.msg : strerror(-r)) == 0)
				answer(s, call_id, 1, msg.data);
			buf_release(&msg);
			return 0;
		}
	}
	b = s->bash;
	b->call_id = strdup(call_id);
	if (!b->call_id) {
		buf_release(&command);
		return -ENOMEM;
	}
	make_sentinel(b->sentinel, sizeof(b->sentinel));
	b->timeout_ms = timeout;
	buf_reset(&b->out);
	b->out_units = 0;
	b->truncated = 0;
	r = buf_printf(&b->pending, "{ %s\n} </dev/null 2>&1; printf '\\n%.8s''%s%%d\\n' $?\n",
		       command.data, b->sentinel, b->sentinel + 8);
	buf_release(&command);
	if (r < 0) {
		free(b->call_id);
		b->call_id = NULL;
		return answer(s, call_id, 1, "bash: command is too long");
	}
	r = host->add_timer(s->pl->host_ctx, (uint64_t)timeout, on_timeout, b, &b->timer);
	if (r < 0) {
		bash_fail(b, "bash: cannot arm the timeout");
		return 0;
	}
	flush_input(b);
	if (b->pending.len > 0 && b->fds[0] >= 0 && !b->watch[0]) {
		r = host->watch_fd(s->pl->host_ctx, b->fds[0], ER_FD_WRITE, on_stdin_writable, b,
				   &b->watch[0]);
		if (r < 0)
			bash_fail(b, "bash: cannot write to the shell");
	}
	return 0;
}

void
bash_cancel(struct ts_session *s, const char *call_id)
{
	struct ts_bash *b = s->bash;

	if (!b || !b->call_id || (call_id && strcmp(call_id, b->call_id) != 0))
		return;
	/* No result: the runner answers an abandoned call itself. */
	s->bash = NULL;
	bash_kill(b);
}

void
bash_free(struct ts_session *s)
{
	if (s->bash) {
		bash_kill(s->bash);
		s->bash = NULL;
	}
}
