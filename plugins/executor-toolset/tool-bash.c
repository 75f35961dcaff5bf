/* SPDX-License-Identifier: MIT */
/*
 * bash: one persistent /bin/bash per session thread (the SDK's betaBashTool,
 * Shell, BashProcess, RunningCommand, CommandStream and SavedOutput).
 *
 * The shell starts with BASH_SETUP on its stdin: it keeps copies of its
 * stdout and stderr pipes on fds 30 and 31 for the commands, sends its own
 * output to /dev/null and ends what it printed at start with a NUL on
 * stderr.  Each command is then sent as the script of command_script(),
 * which bash takes in one read (command_input()):
 * it runs under `eval` with stdin from /dev/null, stdout on 30 and stderr on
 * 31, and ends with a per-call random sentinel and the status on stderr,
 * the sentinel and 0 on stdout.  The two outputs are kept apart; once both
 * sentinels are in, the result is the two joined, stdout first when the
 * status is 0, else stderr first, with a newline between them when stderr
 * has anything.  Up to 30,000 UTF-16 code units the result is that text
 * without ANSI CSI sequences and trailing newlines; past it, the first
 * 30,000 units are kept and the whole output (at most 32 MiB) is saved to
 * <tmp>/bash-output-XXXXXX/<uuid>.txt, a file that this session's read and
 * grep may open, named in the result's trailer.
 *
 * A timeout (295 s at most) or an abort kills the shell's process group, and
 * so does a shell that ends (`exit`): the shell is then gone, and every later
 * call of that thread is refused until one passes `restart`.
 *
 * A shell that ends by itself is logged with its exit status and the last
 * line of its own stderr, what it wrote before its set-up ended (where bash,
 * or the sandbox around it, says why it could not run); when there is such
 * a line, the results that say the shell is gone carry both after the SDK's
 * words.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <environment-runner/plugin.h>

#include "nbio.h"
#include "rand.h"
#include "toolset.h"

#define BASH_OUTPUT_LIMIT 30000u	      /* UTF-16 units */
#define BASH_SAVED_OUTPUT_BYTES (32ull << 20) /* bytes */
#define BASH_TIMEOUT_MS 295000.0	      /* default and cap */
#define BASH_EXIT_DRAIN_MS 200		      /* for output after an exit or a kill */
#define BASH_MAX_COMMAND (1u << 20)
/* command_script(): a quote becomes four bytes.  command_input(): an empty
 * line for each line of the script. */
#define BASH_MAX_SCRIPT (4 * BASH_MAX_COMMAND + 4096)
#define BASH_MAX_INPUT (BASH_MAX_SCRIPT + BASH_MAX_COMMAND + 8192)
#define BASH_MAX_QUEUED 64
#define BASH_READ_CHUNK 65536
#define BASH_ERR_TAIL 512
/* "\n<sentinel>255": the end of a stream that may be the start of one. */
#define SENTINEL_LEN 53
#define SENTINEL_HOLD (1 + SENTINEL_LEN + 3)

#define BASH_HOW_TO_RESTART                                                                        \
	"Call bash with restart set to true to start a new one. It starts in the original "        \
	"working directory, without the old shell's variables, activated environments and "        \
	"background jobs."
#define BASH_SHELL_GONE "[The shell is gone. " BASH_HOW_TO_RESTART "]"
#define BASH_COMMAND_NOT_RUN                                                                       \
	"[This command did not run, because the shell is gone. " BASH_HOW_TO_RESTART "]"

/* Fds 30 and 31 are copies of 10 and 11, where the shell saves 1 and 2
 * inside the braces, so the programs it runs do not get them. */
static const char bash_setup[] = "exec 10>&- 11>&-; { exec 30>&10 31>&11; } >/dev/null 2>&1; "
				 "exec >/dev/null 2>&1; command printf '\\0' >&31\n";

enum { OUT = 0, ERR = 1 };

/* One output of a command (CommandStream). */
struct cmd_stream {
	struct utf8_stream dec;
	struct buf held;  /* the end so far, which can be the start of the sentinel */
	struct buf start; /* all of the text, or more than BASH_OUTPUT_LIMIT units of it */
	size_t start_units;
	int rest_fd; /* the rest, in a nameless file; -1 */
	uint64_t rest_bytes;
	int rest_failed;
	uint64_t line_breaks;
	int has_status;
	long status;
};

/* A queued or running call. */
struct bash_call {
	struct bash_call *next;
	char *id;
	char *command; /* NULL: none given */
	int restart;
	double timeout_ms;
};

/* The per-thread shell (Shell and BashProcess). */
struct ts_shell {
	struct ts_shell *next;
	struct ts_session *s;
	char *thread; /* NULL: the primary thread */
	/* The process: none yet (or restarted), live, or gone. */
	enum { SHELL_NONE, SHELL_LIVE, SHELL_GONE } state;
	struct er_process *proc;
	int exited;
	int exit_status;
	int fds[3]; /* stdin, stdout, stderr; -1 once closed */
	struct er_watch *watch[3];
	struct utf8_stream dec[2];
	int set_up; /* the NUL that ends the shell's own start-up output was read */
	/* The end of that output, and why the shell ended: " (<status>:
	 * <its last line>)" or "". */
	char own_err[BASH_ERR_TAIL];
	size_t own_err_len;
	char why[BASH_ERR_TAIL + 128];
	struct buf pending; /* script not yet written */
	size_t pending_off;
	/* The running call. */
	struct bash_call *running;
	char sentinel[SENTINEL_LEN + 1];
	struct cmd_stream streams[2];
	struct er_timer *timer; /* its timeout, then the drain after a kill or exit */
	int interrupted;	/* timed out */
	int draining;
	/* Calls waiting for the shell. */
	struct bash_call *queue;
	struct er_timer *next_timer;
	/* The saved output, and the one to remove once out of a tool call. */
	struct ts_saved_dir *saved;
	struct ts_saved_dir *stale;
	struct er_timer *stale_timer;
};

static void shell_next(struct ts_shell *sh);
static void command_finish(struct ts_shell *sh);

static const struct er_host *
host_of(const struct ts_shell *sh)
{
	return sh->s->pl->host;
}

static void *
host_ctx_of(const struct ts_shell *sh)
{
	return sh->s->pl->host_ctx;
}

static void
call_free(struct bash_call *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->command);
	free(c);
}

static void
answer(struct ts_session *s, const char *id, int is_error, const char *text)
{
	ts_result(s, id, is_error, text, strlen(text));
}

/* ---- saved output ------------------------------------------------------- */

/* Where the SDK's os.tmpdir() points, resolved. */
static char *
tmp_dir(const struct ts_shell *sh)
{
	const char *t = host_of(sh)->getenv(host_ctx_of(sh), "TMPDIR");

	return realpath(t && *t ? t : "/tmp", NULL);
}

static void
saved_remove(struct ts_shell *sh, struct ts_saved_dir *d)
{
	if (!d)
		return;
	ts_saved_dir_remove(&sh->s->ctx, d);
}

static void
stale_remove(void *userdata)
{
	struct ts_shell *sh = userdata;

	sh->stale_timer = NULL;
	saved_remove(sh, sh->stale);
	sh->stale = NULL;
}

/* Forget the saved output.  Inside a tool call the runner may act as the
 * sandbox's user, which cannot remove the runner's files: the removal
 * waits for the loop. */
static void
saved_discard(struct ts_shell *sh, int deferred)
{
	struct ts_saved_dir *d = sh->saved;

	sh->saved = NULL;
	if (!d)
		return;
	ts_saved_dir_hide(&sh->s->ctx, d);
	if (!deferred || sh->stale) {
		saved_remove(sh, d);
		return;
	}
	sh->stale = d;
	if (host_of(sh)->add_timer(host_ctx_of(sh), 0, stale_remove, sh, &sh->stale_timer) < 0)
		stale_remove(sh);
}

/* Append up to *left bytes of `p`, cut at a character boundary; *over is
 * set once something did not fit. */
static int
write_capped(int fd, const char *p, size_t n, uint64_t *left, int *over)
{
	size_t take = n;

	if (*over)
		return 0;
	if ((uint64_t)take > *left) {
		take = (size_t)*left;
		while (take > 0 && ((unsigned char)p[take] & 0xc0) == 0x80)
			take--;
		*over = 1;
	}
	*left -= take;
	return nbio_write_all(fd, p, take);
}

static int
write_stream(int fd, const struct cmd_stream *st, uint64_t *left, int *over)
{
	char chunk[BASH_READ_CHUNK];
	off_t at = 0;
	int r;

	r = write_capped(fd, st->start.data ? st->start.data : "", st->start.len, left, over);
	if (r < 0 || st->rest_fd < 0)
		return r;
	if (st->rest_failed)
		return -EIO;
	while (!*over) {
		ssize_t n = pread(st->rest_fd, chunk, sizeof(chunk), at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		r = write_capped(fd, chunk, (size_t)n, left, over);
		if (r < 0)
			return r;
		at += n;
	}
	return 0;
}

/* SavedOutput.replace(): a new directory for the whole output, in place of
 * the shell's last one.  Appends the sentence naming the file to `out`, or
 * nothing when it could not be written. */
static int
saved_write(struct ts_shell *sh, const struct cmd_stream *first, const char *separator,
	    const struct cmd_stream *second, struct buf *out)
{
	uint64_t left = BASH_SAVED_OUTPUT_BYTES;
	struct ts_saved_dir *d = NULL;
	char uuid[37];
	char name[48];
	char *tmp;
	char *dir;
	int over = 0;
	int fd = -1;
	int r;

	saved_discard(sh, 0);
	tmp = tmp_dir(sh);
	if (!tmp)
		return 0;
	r = asprintf(&dir, "%s/bash-output-XXXXXX", strcmp(tmp, "/") == 0 ? "" : tmp);
	free(tmp);
	if (r < 0)
		return -ENOMEM;
	if (!mkdtemp(dir)) {
		free(dir);
		return 0;
	}
	r = ts_saved_dir_add(&sh->s->ctx, dir, &d);
	if (r < 0) {
		rmdir(dir);
		free(dir);
		return r;
	}
	free(dir);
	sh->saved = d;
	r = rand_uuid(uuid);
	if (r == 0) {
		snprintf(name, sizeof(name), "%s.txt", uuid);
		fd = openat(d->root.fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		r = fd < 0 ? -errno : 0;
	}
	if (r == 0)
		r = write_stream(fd, first, &left, &over);
	if (r == 0)
		r = write_capped(fd, separator, strlen(separator), &left, &over);
	if (r == 0)
		r = write_stream(fd, second, &left, &over);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		saved_discard(sh, 0);
		return r == -ENOMEM ? r : 0;
	}
	if (over)
		r = buf_printf(out, "First %llu MiB of output",
			       (unsigned long long)(BASH_SAVED_OUTPUT_BYTES >> 20));
	else
		r = buf_puts(out, "Full output");
	return r
		       ?: buf_printf(
				  out,
				  " saved to: %s/%s \xe2\x80\x94 use read with view_range to read "
				  "specific portions. ",
				  d->root.path, name);
}

/* ---- a command's output ------------------------------------------------- */

static void
stream_init(struct cmd_stream *st)
{
	memset(st, 0, sizeof(*st));
	buf_init(&st->held, 2 * BASH_READ_CHUNK + 4 * SENTINEL_HOLD);
	buf_init(&st->start, 4 * BASH_OUTPUT_LIMIT + 4 * BASH_READ_CHUNK + 256);
	st->rest_fd = -1;
}

static void
stream_release(struct cmd_stream *st)
{
	buf_release(&st->held);
	buf_release(&st->start);
	if (st->rest_fd >= 0)
		close(st->rest_fd);
	st->rest_fd = -1;
}

/* A nameless file for the rest of a long output (openNamelessFile). */
static int
open_nameless(struct ts_shell *sh)
{
	char *tmp = tmp_dir(sh);
	char uuid[37];
	char *name;
	int fd;

	if (!tmp || rand_uuid(uuid) < 0 ||
	    asprintf(&name, "%s/bash-output-%s", strcmp(tmp, "/") == 0 ? "" : tmp, uuid) < 0) {
		free(tmp);
		return -ENOMEM;
	}
	free(tmp);
	fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = -errno;
	else
		unlink(name);
	free(name);
	return fd;
}

static size_t
count_line_breaks(const char *p, size_t n)
{
	size_t count = 0;
	const char *e = p + n;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		count++;
		p++;
	}
	return count;
}

/* CommandStream#keep(). */
static int
stream_keep(struct ts_shell *sh, struct cmd_stream *st, const char *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	st->line_breaks += count_line_breaks(p, n);
	if (st->start_units <= BASH_OUTPUT_LIMIT) {
		r = buf_append(&st->start, p, n);
		st->start_units += utf16_length(p, n);
		return r;
	}
	if (st->rest_failed || st->rest_bytes >= BASH_SAVED_OUTPUT_BYTES)
		return 0;
	if (st->rest_fd < 0) {
		st->rest_fd = open_nameless(sh);
		if (st->rest_fd == -ENOMEM)
			return -ENOMEM;
		if (st->rest_fd < 0) {
			st->rest_failed = 1;
			return 0;
		}
	}
	st->rest_bytes += n;
	if (nbio_write_all(st->rest_fd, p, n) < 0)
		st->rest_failed = 1;
	return 0;
}

/* The status after the sentinel at `at` in `t`: 1 with *ret_status and
 * *ret_end (past the newline), 0 when it has not all arrived. */
static int
parse_status(const char *t, size_t len, size_t at, long *ret_status, size_t *ret_end)
{
	size_t i = at + SENTINEL_LEN;
	long v = 0;

	if (i >= len || t[i] < '0' || t[i] > '9')
		return 0;
	while (i < len && t[i] >= '0' && t[i] <= '9') {
		if (v < 1000000)
			v = v * 10 + (t[i] - '0');
		i++;
	}
	if (i >= len || t[i] != '\n')
		return 0;
	*ret_status = v;
	*ret_end = i + 1;
	return 1;
}

/* CommandStream.append(): decoded text of one output. */
static int
stream_append(struct ts_shell *sh, struct cmd_stream *st, const char *p, size_t n)
{
	const char *t;
	const char *hit;
	size_t len;
	size_t keep;
	size_t end;
	long status;
	int r;

	if (st->has_status)
		return 0;
	r = buf_append(&st->held, p, n);
	if (r < 0)
		return r;
	t = st->held.data ? st->held.data : "";
	len = st->held.len;
	hit = memmem(t, len, sh->sentinel, SENTINEL_LEN);
	if (hit && parse_status(t, len, (size_t)(hit - t), &status, &end)) {
		/* The newline before the sentinel is the report's, not output. */
		keep = (size_t)(hit - t);
		if (keep > 0 && t[keep - 1] == '\n')
			keep--;
		r = stream_keep(sh, st, t, keep);
		buf_reset(&st->held);
		st->has_status = 1;
		st->status = status;
		return r;
	}
	/* Hold back what may be the start of the sentinel, at a character
	 * boundary. */
	keep = hit ? (size_t)(hit - t) : len > SENTINEL_HOLD ? len - SENTINEL_HOLD : 0;
	if (hit && keep > 0 && t[keep - 1] == '\n')
		keep--;
	while (keep > 0 && keep < len && ((unsigned char)t[keep] & 0xc0) == 0x80)
		keep--;
	r = stream_keep(sh, st, t, keep);
	buf_consume(&st->held, keep);
	return r;
}

/* CommandStream.end(). */
static int
stream_end(struct ts_shell *sh, struct cmd_stream *st, const char *last)
{
	int r = 0;

	if (!st->has_status && st->held.len > 0)
		r = stream_keep(sh, st, st->held.data, st->held.len);
	buf_reset(&st->held);
	return r ?: stream_keep(sh, st, last, strlen(last));
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

/* RunningCommand.output(). */
static int
command_output(struct ts_shell *sh, long exit_code, const char *stderr_end, struct buf *out)
{
	struct cmd_stream *first = &sh->streams[exit_code == 0 ? OUT : ERR];
	struct cmd_stream *second = &sh->streams[exit_code == 0 ? ERR : OUT];
	struct buf start = BUF_INIT(TS_OUT_MAX);
	const char *separator;
	size_t kept;
	int r;

	r = stream_end(sh, &sh->streams[OUT], "");
	if (r == 0)
		r = stream_end(sh, &sh->streams[ERR], stderr_end);
	if (r < 0)
		return r;
	separator = sh->streams[ERR].start.len > 0 ? "\n" : "";
	r = buf_puts(&start, "");
	if (r == 0)
		r = buf_append(&start, first->start.data, first->start.len);
	if (r == 0)
		r = buf_puts(&start, separator);
	if (r == 0)
		r = buf_append(&start, second->start.data, second->start.len);
	if (r < 0)
		goto done;
	if (utf16_length(start.data, start.len) <= BASH_OUTPUT_LIMIT) {
		strip_ansi(&start);
		while (start.len > 0 && start.data[start.len - 1] == '\n')
			buf_truncate(&start, start.len - 1);
		r = buf_append(out, start.data, start.len);
		goto done;
	}
	kept = utf16_prefix(start.data, start.len, BASH_OUTPUT_LIMIT);
	{
		uint64_t cut = 1 + first->line_breaks + strlen(separator) + second->line_breaks -
			       count_line_breaks(start.data, kept);

		buf_truncate(&start, kept);
		strip_ansi(&start);
		r = buf_append(out, start.data, start.len);
		if (r == 0)
			r = buf_printf(out, "\n\n... [%llu lines truncated] ",
				       (unsigned long long)cut);
	}
	if (r == 0)
		r = saved_write(sh, first, separator, second, out);
	if (r == 0)
		r = buf_puts(out, "...");
done:
	buf_release(&start);
	return r;
}

/* ---- the process -------------------------------------------------------- */

static void
close_stream(struct ts_shell *sh, int i)
{
	if (sh->watch[i]) {
		host_of(sh)->unwatch_fd(sh->watch[i]);
		sh->watch[i] = NULL;
	}
	if (sh->fds[i] >= 0) {
		close(sh->fds[i]);
		sh->fds[i] = -1;
	}
}

/* Kill the shell's process group and let go of it (BashProcess.close and
 * #killGroup). */
static void
process_close(struct ts_shell *sh)
{
	int i;

	for (i = 0; i < 3; i++)
		close_stream(sh, i);
	if (sh->proc) {
		host_of(sh)->process_kill(sh->proc, SIGKILL);
		host_of(sh)->process_release(sh->proc);
		sh->proc = NULL;
	}
	buf_release(&sh->pending);
	sh->pending_off = 0;
}

static void
command_clear(struct ts_shell *sh)
{
	if (sh->timer) {
		host_of(sh)->cancel_timer(sh->timer);
		sh->timer = NULL;
	}
	stream_release(&sh->streams[OUT]);
	stream_release(&sh->streams[ERR]);
	call_free(sh->running);
	sh->running = NULL;
	sh->interrupted = 0;
	sh->draining = 0;
}

/* Both outputs at their end and the shell reaped. */
static int
process_drained(const struct ts_shell *sh)
{
	return sh->exited && sh->fds[1] < 0 && sh->fds[2] < 0;
}

static void
on_drained(void *userdata)
{
	struct ts_shell *sh = userdata;

	sh->timer = NULL;
	command_finish(sh);
}

/* Wait up to BASH_EXIT_DRAIN_MS for the last output, then finish. */
static void
command_drain(struct ts_shell *sh)
{
	if (sh->draining)
		return;
	sh->draining = 1;
	if (sh->timer) {
		host_of(sh)->cancel_timer(sh->timer);
		sh->timer = NULL;
	}
	if (process_drained(sh) || host_of(sh)->add_timer(host_ctx_of(sh), BASH_EXIT_DRAIN_MS,
							  on_drained, sh, &sh->timer) < 0)
		command_finish(sh);
}

static void
check_drained(struct ts_shell *sh)
{
	if (sh->draining && sh->running && process_drained(sh))
		command_finish(sh);
}

static void
keep_own_err(struct ts_shell *sh, const char *p, size_t n)
{
	if (n >= sizeof(sh->own_err)) {
		p += n - sizeof(sh->own_err);
		n = sizeof(sh->own_err);
	}
	if (sh->own_err_len + n > sizeof(sh->own_err)) {
		size_t drop = sh->own_err_len + n - sizeof(sh->own_err);

		memmove(sh->own_err, sh->own_err + drop, sh->own_err_len - drop);
		sh->own_err_len -= drop;
	}
	memcpy(sh->own_err + sh->own_err_len, p, n);
	sh->own_err_len += n;
}

/* Log why the shell ended, and keep it for the results that say so. */
static void
note_exit(struct ts_shell *sh)
{
	char status[64];
	char line[BASH_ERR_TAIL + 1];
	size_t end = sh->own_err_len;
	size_t start;

	while (end > 0 && (sh->own_err[end - 1] == '\n' || sh->own_err[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && sh->own_err[start - 1] != '\n')
		start--;
	memcpy(line, sh->own_err + start, end - start);
	line[end - start] = '\0';
	if (WIFSIGNALED(sh->exit_status))
		snprintf(status, sizeof(status), "killed by signal %d", WTERMSIG(sh->exit_status));
	else
		snprintf(status, sizeof(status), "exit status %d", WEXITSTATUS(sh->exit_status));
	host_of(sh)->session_log(sh->s->handle, line[0] ? ER_LOG_WARNING : ER_LOG_INFO,
				 "bash: the shell exited (%s)%s%s", status,
				 line[0] ? "; its last stderr line: " : ", nothing on stderr",
				 line);
	if (line[0])
		snprintf(sh->why, sizeof(sh->why), " (%s: %s)", status, line);
}

/* A read of the shell's stdout (1) or stderr (2). */
struct shell_read {
	struct ts_shell *sh;
	int i;
	int failed; /* out of memory */
};

/* Decode one chunk and append it to the running command's stream; with eof,
 * what the decoder still holds.  < 0 out of memory. */
static int
take_output(struct ts_shell *sh, int i, const char *p, size_t n, int eof)
{
	struct buf chunk = BUF_INIT(4 * BASH_READ_CHUNK + 8);
	int r;

	if (i == 2 && !sh->set_up) {
		/* What the shell printed before its set-up ended. */
		const char *nul = n ? memchr(p, '\0', n) : NULL;

		keep_own_err(sh, p, nul ? (size_t)(nul - p) : n);
		if (!nul)
			return 0;
		sh->set_up = 1;
		n -= (size_t)(nul + 1 - p);
		p = nul + 1;
	}
	r = utf8_stream_feed(&sh->dec[i - 1], &chunk, p, n, eof);
	if (r == 0 && sh->running)
		r = stream_append(sh, &sh->streams[i == 1 ? OUT : ERR], chunk.data, chunk.len);
	buf_release(&chunk);
	return r;
}

static int
take_chunk(void *userdata, const char *data, size_t len)
{
	struct shell_read *rd = userdata;
	int r = take_output(rd->sh, rd->i, data, len, 0);

	rd->failed = r < 0;
	return r;
}

static void
on_output(void *userdata, int fd, uint32_t revents)
{
	struct ts_shell *sh = userdata;
	struct shell_read rd = { sh, fd == sh->fds[1] ? 1 : 2, 0 };
	int i = rd.i;
	int eof = nbio_drain(fd, take_chunk, &rd) != 0 && !rd.failed;
	int r = rd.failed ? -ENOMEM : 0;

	if (eof)
		r = take_output(sh, i, "", 0, 1);
	if (r < 0) {
		/* Out of memory: the call fails and the shell with it. */
		sh->interrupted = 0;
		process_close(sh);
		sh->state = SHELL_GONE;
		if (sh->running) {
			answer(sh->s, sh->running->id, 1, "bash: out of memory");
			command_clear(sh);
			shell_next(sh);
		}
		return;
	}
	if (eof)
		close_stream(sh, i);
	if (sh->running && !sh->draining && sh->streams[OUT].has_status &&
	    sh->streams[ERR].has_status) {
		command_finish(sh);
		return;
	}
	check_drained(sh);
}

static void
on_exit_cb(void *userdata, struct er_process *proc, int status)
{
	struct ts_shell *sh = userdata;

	sh->proc = NULL; /* the handle dies with this callback */
	sh->exited = 1;
	sh->exit_status = status;
	if (sh->state == SHELL_LIVE) {
		sh->state = SHELL_GONE;
		if (!sh->interrupted)
			note_exit(sh);
	}
	if (sh->running)
		command_drain(sh);
}

static void
flush_input(struct ts_shell *sh)
{
	/* An error is EPIPE: the shell is gone; its exit reports it. */
	if (nbio_flush(sh->fds[0], sh->pending.data, sh->pending.len, &sh->pending_off) == 0)
		return;
	if (sh->watch[0]) {
		host_of(sh)->unwatch_fd(sh->watch[0]);
		sh->watch[0] = NULL;
	}
	buf_reset(&sh->pending);
	sh->pending_off = 0;
}

static void
on_stdin_writable(void *userdata, int fd, uint32_t revents)
{
	flush_input(userdata);
}

/* Write what is pending to the shell, the rest once it can take it. */
static int
write_pending(struct ts_shell *sh)
{
	flush_input(sh);
	if (sh->pending.len > 0 && sh->fds[0] >= 0 && !sh->watch[0])
		return host_of(sh)->watch_fd(host_ctx_of(sh), sh->fds[0], ER_FD_WRITE,
					     on_stdin_writable, sh, &sh->watch[0]);
	return 0;
}

static int
send_input(struct ts_shell *sh, const char *text, size_t len)
{
	int r = buf_append(&sh->pending, text, len);

	return r < 0 ? r : write_pending(sh);
}

static int
process_start(struct ts_shell *sh, struct er_error *err)
{
	static const char *const argv[] = { "/bin/bash", "--noprofile", "--norc", NULL };
	/* Shell-control settings the framing needs; HISTFILE keeps a nested
	 * shell off the user's history. */
	static const char *const envp[] = { "PS1=", "PS2=", "TERM=dumb", "HISTFILE=", NULL };
	const struct er_host *host = host_of(sh);
	struct er_spawn_request req;
	int r;
	int i;

	memset(&req, 0, sizeof(req));
	req.struct_size = sizeof(req);
	req.cmd.struct_size = sizeof(req.cmd);
	req.cmd.argv = argv;
	req.cmd.envp = envp;
	req.cmd.cwd = sh->s->ctx.workdir;
	req.cmd.workdir = sh->s->ctx.workdir;
	req.pipe_stdin = 1;
	req.pipe_stdout = 1;
	req.pipe_stderr = 1;
	r = host->spawn(sh->s->handle, &req, on_exit_cb, sh, &sh->proc, err);
	if (r < 0)
		return r;
	sh->state = SHELL_LIVE;
	sh->exited = 0;
	sh->set_up = 0;
	sh->own_err_len = 0;
	sh->why[0] = '\0';
	memset(sh->dec, 0, sizeof(sh->dec));
	sh->fds[0] = req.stdin_fd;
	sh->fds[1] = req.stdout_fd;
	sh->fds[2] = req.stderr_fd;
	buf_init(&sh->pending, BASH_MAX_INPUT);
	for (i = 1; i <= 2 && r == 0; i++)
		r = host->watch_fd(host_ctx_of(sh), sh->fds[i], ER_FD_READ, on_output, sh,
				   &sh->watch[i]);
	if (r == 0)
		r = send_input(sh, bash_setup, sizeof(bash_setup) - 1);
	if (r < 0) {
		process_close(sh);
		sh->state = SHELL_NONE;
	}
	return r;
}

/* ---- calls -------------------------------------------------------------- */

/* RunningCommand.script(). */
static int
command_script(struct buf *out, const char *command, const char *sentinel)
{
	int r = buf_puts(out, "\\builtin unset __ant_status; { \\builtin eval '{ :\n");

	for (const char *c = command; r == 0 && *c; c++)
		r = *c == '\'' ? buf_puts(out, "'\\''") : buf_putc(out, *c);
	if (r == 0)
		r = buf_printf(
			out,
			"\n\n}\n__ant_status=$?'; } </dev/null >&30 2>&31; "
			"! \\builtin : \"${__ant_status=$?}\"\n"
			"__ant_status=${__ant_status-$?} && "
			"\\builtin printf '\\n%%s%%s%%d\\n' %.8s %s \"$__ant_status\" >&31 && "
			"\\builtin printf '\\n%%s%%s%%d\\n' %.8s %s 0 >&30 || \\builtin exit\n",
			sentinel, sentinel + 8, sentinel, sentinel + 8);
	return r;
}

/* What the shell is sent for a call, appended to `out`: a line that has
 * bash take the whole script of command_script() with one `read -N` and
 * eval it, the script, then as many empty lines as the script has line
 * breaks less one.
 *
 * Bash reads its commands from a pipe a byte at a time, one system call a
 * byte, so that a command it runs can read what follows: 0.3 ms more for a
 * short call's 400 bytes on a VM where a system call costs 2 us, 40 ms for
 * a 28 kB heredoc.  `read -N` takes a known count in reads of 4 kB and no
 * more, and counts bytes where LC_ALL is C.  The empty lines bring bash's
 * line count (LINENO, the line a syntax error names) to where reading the
 * script itself leaves it, as in the SDK's shell.  Where the read cannot
 * run (a readonly LC_ALL or IFS), bash goes on to read the script itself.
 * What a command can tell: under `set -x` its trace is one eval deeper
 * ("+++" where the SDK's shell prints "++").  macOS's /bin/bash is 3.2,
 * older than `read -N` (bash 4.1): there the script goes as the SDK sends
 * it. */
static int
command_input(struct buf *out, const char *command, const char *sentinel)
{
#ifdef __APPLE__
	return command_script(out, command, sentinel);
#else
	struct buf script = BUF_INIT(BASH_MAX_SCRIPT);
	size_t lines = 0;
	int r;

	r = buf_puts(&script, "\\builtin unset __ant_script; ");
	if (r == 0)
		r = command_script(&script, command, sentinel);
	for (size_t i = 0; r == 0 && i < script.len; i++)
		lines += script.data[i] == '\n';
	if (r == 0)
		r = buf_printf(out,
			       "LC_ALL=C IFS= \\builtin read -r -N %zu __ant_script && "
			       "\\builtin eval \"$__ant_script\"\n",
			       script.len);
	if (r == 0)
		r = buf_append(out, script.data, script.len);
	for (size_t i = 1; r == 0 && i < lines; i++)
		r = buf_putc(out, '\n');
	buf_release(&script);
	return r;
#endif
}

static void
on_timeout(void *userdata)
{
	struct ts_shell *sh = userdata;

	sh->timer = NULL;
	sh->interrupted = 1;
	/* The whole group, then what is left of the output. */
	if (sh->proc)
		host_of(sh)->process_kill(sh->proc, SIGKILL);
	command_drain(sh);
}

/* Append `v` (positive, finite) as JavaScript's Number#toString() prints
 * it. */
static int
js_number(struct buf *out, double v)
{
	char mant[40];
	char digits[20];
	const char *c;
	int k = 0;
	int n;
	int p;
	int r = 0;

	if (v == 0)
		return buf_putc(out, '0');
	/* The fewest digits that read back as `v`. */
	for (p = 1; p <= 17; p++) {
		snprintf(mant, sizeof(mant), "%.*e", p - 1, v);
		if (strtod(mant, NULL) == v)
			break;
	}
	for (c = mant; *c && *c != 'e'; c++) {
		if (*c >= '0' && *c <= '9' && k < (int)sizeof(digits) - 1)
			digits[k++] = *c;
	}
	/* v = 0.d1...dk * 10^n */
	n = (int)strtol(c + 1, NULL, 10) + 1;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	if (k <= n && n <= 21) {
		r = buf_puts(out, digits);
		for (int i = k; r == 0 && i < n; i++)
			r = buf_putc(out, '0');
	} else if (0 < n && n <= 21) {
		r = buf_printf(out, "%.*s.%s", n, digits, digits + n);
	} else if (-6 < n && n <= 0) {
		r = buf_puts(out, "0.");
		for (int i = n; r == 0 && i < 0; i++)
			r = buf_putc(out, '0');
		if (r == 0)
			r = buf_puts(out, digits);
	} else {
		r = buf_printf(out, "%c%s%se%c%d", digits[0], k > 1 ? "." : "", digits + 1,
			       n - 1 < 0 ? '-' : '+', abs(n - 1));
	}
	return r;
}

/* Shell.run()'s answer once the command ended, timed out or lost its
 * shell. */
static void
command_finish(struct ts_shell *sh)
{
	struct ts_session *s = sh->s;
	struct buf text = BUF_INIT(TS_OUT_MAX);
	struct buf output = BUF_INIT(TS_OUT_MAX);
	struct buf stderr_end = BUF_INIT(128);
	struct bash_call *call = sh->running;
	long exit_code;
	int r = 0;

	if (!call)
		return;
	if (sh->timer) {
		host_of(sh)->cancel_timer(sh->timer);
		sh->timer = NULL;
	}
	if (sh->interrupted) {
		exit_code = -1;
		r = buf_puts(&stderr_end, "\ncommand timed out after ");
		if (r == 0)
			r = js_number(&stderr_end, call->timeout_ms / 1000);
		if (r == 0)
			r = buf_puts(&stderr_end, "s\n");
		/* A timeout ends the shell. */
		process_close(sh);
		sh->state = SHELL_GONE;
	} else if (sh->streams[OUT].has_status && sh->streams[ERR].has_status) {
		exit_code = sh->streams[ERR].status;
	} else if (sh->exited && WIFEXITED(sh->exit_status)) {
		exit_code = WEXITSTATUS(sh->exit_status);
	} else {
		exit_code = -1;
	}
	if (sh->state == SHELL_GONE) {
		/* Nothing of the shell may outlive it. */
		process_close(sh);
	}
	if (r == 0)
		r = buf_puts(&output, "");
	if (r == 0)
		r = command_output(sh, exit_code, stderr_end.data ? stderr_end.data : "", &output);
	if (r == 0 && sh->state == SHELL_GONE)
		r = buf_printf(&text, "%s\n" BASH_SHELL_GONE "%s",
			       output.len > 0 ? output.data : "(no output)", sh->why);
	else if (r == 0)
		r = buf_append(&text, output.data, output.len);
	if (r < 0)
		answer(s, call->id, 1, "bash: out of memory");
	else if (exit_code != 0)
		answer(s, call->id, 1, text.len > 0 ? text.data : "(no output)");
	else
		ts_result(s, call->id, 0, text.data, text.len);
	buf_release(&text);
	buf_release(&output);
	buf_release(&stderr_end);
	command_clear(sh);
	shell_next(sh);
}

/* Start `call` on the shell: restart, checks, then the command. */
static void
call_run(struct ts_shell *sh, struct bash_call *call)
{
	struct ts_session *s = sh->s;
	int r;

	if (call->restart) {
		process_close(sh);
		saved_discard(sh, 1);
		sh->state = SHELL_NONE;
	}
	if (!call->command) {
		answer(s, call->id, call->restart ? 0 : 1,
		       call->restart ? "bash session restarted" : "bash: command is required");
		call_free(call);
		return;
	}
	if (sh->state == SHELL_NONE) {
		struct er_error err;

		memset(&err, 0, sizeof(err));
		r = process_start(sh, &err);
		if (r < 0) {
			struct buf msg = BUF_INIT(8192);

			/* The host's or the sandbox's words, e.g. why wrap() failed. */
			err.msg[sizeof(err.msg) - 1] = '\0';
			host_of(sh)->session_log(sh->s->handle, ER_LOG_WARNING,
						 "bash: cannot start the shell: %s",
						 err.msg[0] ? err.msg : strerror(-r));
			if (buf_printf(&msg, "bash: %s", err.msg[0] ? err.msg : strerror(-r)) == 0)
				answer(s, call->id, 1, msg.data);
			buf_release(&msg);
			call_free(call);
			return;
		}
	}
	if (sh->state == SHELL_GONE) {
		struct buf msg = BUF_INIT(BASH_ERR_TAIL + 1024);

		if (buf_printf(&msg, "%s%s", BASH_COMMAND_NOT_RUN, sh->why) == 0)
			answer(s, call->id, 1, msg.data);
		buf_release(&msg);
		call_free(call);
		return;
	}
	sh->running = call;
	stream_init(&sh->streams[OUT]);
	stream_init(&sh->streams[ERR]);
	{
		char uuid[37];

		r = rand_uuid(uuid);
		if (r == 0) {
			snprintf(sh->sentinel, sizeof(sh->sentinel), "__ANT_CMD_%s_DONE__", uuid);
			r = command_input(&sh->pending, call->command, sh->sentinel);
		}
		if (r == 0)
			r = write_pending(sh);
	}
	if (r == 0)
		r = host_of(sh)->add_timer(host_ctx_of(sh), (uint64_t)call->timeout_ms, on_timeout,
					   sh, &sh->timer);
	if (r < 0) {
		struct buf msg = BUF_INIT(512);

		if (buf_printf(&msg, "bash: %s", strerror(-r)) == 0)
			answer(s, call->id, 1, msg.data);
		buf_release(&msg);
		process_close(sh);
		sh->state = SHELL_GONE;
		command_clear(sh);
	}
}

static void
on_next(void *userdata)
{
	struct ts_shell *sh = userdata;

	sh->next_timer = NULL;
	while (!sh->running && sh->queue) {
		struct bash_call *call = sh->queue;

		sh->queue = call->next;
		call->next = NULL;
		call_run(sh, call);
	}
}

/* Run the next queued call, from the loop: a result is never posted from
 * inside the result of another. */
static void
shell_next(struct ts_shell *sh)
{
	if (!sh->queue || sh->running || sh->next_timer)
		return;
	if (host_of(sh)->add_timer(host_ctx_of(sh), 0, on_next, sh, &sh->next_timer) < 0)
		on_next(sh);
}

static int
same_thread(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static struct ts_shell *
shell_of(struct ts_session *s, const char *thread, int create)
{
	struct ts_shell *sh;

	for (sh = s->shells; sh; sh = sh->next) {
		if (same_thread(sh->thread, thread))
			return sh;
	}
	if (!create)
		return NULL;
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return NULL;
	if (thread && !(sh->thread = strdup(thread))) {
		free(sh);
		return NULL;
	}
	sh->s = s;
	sh->fds[0] = sh->fds[1] = sh->fds[2] = -1;
	sh->streams[OUT].rest_fd = sh->streams[ERR].rest_fd = -1;
	sh->next = s->shells;
	s->shells = sh;
	return sh;
}

void
bash_prestart(struct ts_session *s)
{
	struct ts_shell *sh = shell_of(s, NULL, 1);
	struct er_error err;

	memset(&err, 0, sizeof(err));
	if (sh && sh->state == SHELL_NONE)
		(void)process_start(sh, &err);
}

/* The call's timeout: `timeout_ms && timeout_ms > 0 ? min(timeout_ms,
 * 295000) : 295000`. */
static double
call_timeout(const struct json_doc *doc, int tok)
{
	double d;

	if (json_kind(doc, tok) == JSON_NUMBER && json_double(doc, tok, &d) == 0 && d > 0)
		return d < BASH_TIMEOUT_MS ? d : BASH_TIMEOUT_MS;
	return BASH_TIMEOUT_MS;
}

int
tool_bash(struct ts_session *s, const char *call_id, const char *thread, const struct json_doc *doc,
	  int input)
{
	struct ts_shell *sh;
	struct bash_call *call;
	struct bash_call **tail;
	int queued = 0;
	int c_tok;

	/* The primary thread's events name no thread. */
	if (thread && !*thread)
		thread = NULL;
	sh = shell_of(s, thread, 1);
	if (!sh)
		return -ENOMEM;
	for (call = sh->queue; call; call = call->next)
		queued++;
	if (queued >= BASH_MAX_QUEUED) {
		answer(s, call_id, 1, "bash: too many bash commands are waiting");
		return 0;
	}
	call = calloc(1, sizeof(*call));
	if (!call || !(call->id = strdup(call_id))) {
		call_free(call);
		return -ENOMEM;
	}
	call->restart = ts_truthy(doc, ts_member(doc, input, "restart"));
	call->timeout_ms = call_timeout(doc, ts_member(doc, input, "timeout_ms"));
	c_tok = ts_member(doc, input, "command");
	if (ts_truthy(doc, c_tok)) {
		const char *command = json_str(doc, c_tok);

		if (!command) {
			/* What String.prototype.replace on a number says. */
			answer(s, call_id, 1, "bash: command.replace is not a function");
			call_free(call);
			return 0;
		}
		if (strlen(command) > BASH_MAX_COMMAND) {
			answer(s, call_id, 1, "bash: command is too long");
			call_free(call);
			return 0;
		}
		call->command = strdup(command);
		if (!call->command) {
			call_free(call);
			return -ENOMEM;
		}
	}
	for (tail = &sh->queue; *tail; tail = &(*tail)->next)
		;
	*tail = call;
	if (!sh->running && sh->queue == call) {
		sh->queue = NULL;
		call_run(sh, call);
	}
	return 0;
}

/* Forget the shell's process and pending work without answering. */
static void
shell_free(struct ts_shell *sh)
{
	const struct er_host *host = host_of(sh);

	process_close(sh);
	command_clear(sh);
	while (sh->queue) {
		struct bash_call *c = sh->queue;

		sh->queue = c->next;
		call_free(c);
	}
	if (sh->next_timer)
		host->cancel_timer(sh->next_timer);
	if (sh->stale_timer)
		host->cancel_timer(sh->stale_timer);
	saved_remove(sh, sh->stale);
	saved_discard(sh, 0);
	free(sh->thread);
	free(sh);
}

void
bash_cancel(struct ts_session *s, const char *call_id)
{
	for (struct ts_shell *sh = s->shells; sh; sh = sh->next) {
		struct bash_call **q;

		for (q = &sh->queue; *q; q = &(*q)->next) {
			if (!call_id || strcmp((*q)->id, call_id) == 0) {
				struct bash_call *c = *q;

				*q = c->next;
				call_free(c);
				if (call_id)
					return;
				if (!*q)
					break;
			}
		}
		if (sh->running && (!call_id || strcmp(sh->running->id, call_id) == 0)) {
			/* An abort ends the shell, as a timeout does; the runner
			 * answers the call. */
			process_close(sh);
			sh->state = SHELL_GONE;
			command_clear(sh);
			shell_next(sh);
			if (call_id)
				return;
		}
	}
}

void
bash_thread_stop(struct ts_session *s, const char *thread)
{
	struct ts_shell *sh;

	if (thread && !*thread)
		thread = NULL;
	sh = shell_of(s, thread, 0);
	if (!sh)
		return;
	/* Shell.kill(): the shell and its saved output go; a later call of
	 * the thread finds the shell gone. */
	process_close(sh);
	if (sh->state == SHELL_LIVE)
		sh->state = SHELL_GONE;
	saved_discard(sh, 0);
	if (sh->running) {
		answer(s, sh->running->id, 1, "bash: bash session terminated");
		command_clear(sh);
		shell_next(sh);
	}
}

void
bash_free(struct ts_session *s)
{
	while (s->shells) {
		struct ts_shell *sh = s->shells;

		s->shells = sh->next;
		shell_free(sh);
	}
}
