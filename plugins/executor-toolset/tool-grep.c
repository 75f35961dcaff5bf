/* SPDX-License-Identifier: MIT */
/*
 * grep: search file contents (the SDK's betaGrepTool).
 *
 * With an executable `rg` on PATH whose real path lies outside the workdir,
 * the search is `rg --no-config -n --no-heading -e <pattern> -- <path>`,
 * started through the host (and so the sandbox), its output capped at
 * 100 * 1024 characters.  The path is checked, then opened beneath the
 * workdir following no symlink, and rg gets that descriptor as
 * /proc/self/fd/N, which names what was checked whatever the path leads to
 * by then; its output and errors name the path again.  Where the sandbox
 * does not hand the descriptor on (firejail closes it), rg is told the path
 * itself, and the sandbox's view bounds what it reaches.  Without one, a built-in walker searches in
 * process.  The SDK's walker uses JavaScript regular expressions; this one
 * translates the pattern to a POSIX extended expression (regcomp): \d \w \s
 * and their negations, lazy quantifiers (which do not change whether a line
 * matches) and (?:...) groups are translated, lookarounds and
 * backreferences are refused as invalid.  Lines are tested one by one, so
 * the difference is confined to the pattern language.  The walker, too,
 * goes from the descriptor down with openat(O_NOFOLLOW), never by name.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <environment-runner/plugin.h>

#include "nbio.h"
#include "toolset.h"

#define GREP_OUTPUT_LIMIT (100u * 1024u) /* UTF-16 units */
#define GREP_MAX_LINE 2000		 /* UTF-16 units */
#define GREP_TIMEOUT_MS 60000
#define GREP_STDERR_MAX (64u * 1024u)
#define GREP_READ_CHUNK 65536

/* rg can be handed a descriptor as a path where /proc/self/fd names it. */
#ifdef __linux__
#define RG_BY_FD 1
#else
#define RG_BY_FD 0
#endif

/* ---- rg ----------------------------------------------------------------- */

struct ts_rg {
	struct ts_session *s;
	struct er_process *proc;
	char *call_id;
	/* For a second run by name, and to name the path in the output. */
	char *rg;
	char *pattern;
	char *search_path;
	/* What rg is told in place of the search path ("/proc/self/fd/N"),
	 * or "" when it searches by name; `passed` when that is the
	 * descriptor handed to it; the start of a line of output that may
	 * begin with it. */
	char fd_path[32];
	int passed;
	int saved; /* the search is in bash's saved output */
	size_t fd_path_len;
	char head[34];
	size_t head_len;
	int line_start;
	int fds[3];
	struct er_watch *watch[3];
	struct utf8_stream dec;
	struct buf out;
	size_t out_units;
	struct buf err;
	int truncated;
	int exited;
	int status;
};

static void
rg_close_stream(struct ts_rg *g, int i)
{
	if (g->watch[i]) {
		g->s->pl->host->unwatch_fd(g->watch[i]);
		g->watch[i] = NULL;
	}
	if (g->fds[i] >= 0) {
		close(g->fds[i]);
		g->fds[i] = -1;
	}
}

static void
rg_free(struct ts_rg *g)
{
	int i;

	for (i = 0; i < 3; i++)
		rg_close_stream(g, i);
	if (g->proc) {
		g->s->pl->host->process_kill(g->proc, SIGKILL);
		g->s->pl->host->process_release(g->proc);
	}
	buf_release(&g->out);
	buf_release(&g->err);
	free(g->call_id);
	free(g->rg);
	free(g->pattern);
	free(g->search_path);
	free(g);
}

static int rg_start(struct ts_session *s, const char *call_id, const char *rg, const char *pattern,
		    const char *search_path, const char *stand_in, int target_fd);
static void
grep_here(struct ts_session *s, const char *call_id, const char *pattern, const char *search_path);

/* Whether rg's errors say it could not reach the path it was given. */
static int
rg_could_not_reach(const struct ts_rg *g)
{
	char given[4096];

	snprintf(given, sizeof(given), "%s: ", g->fd_path_len ? g->fd_path : g->search_path);
	return g->err.data && strstr(g->err.data, given) != NULL;
}

/* Whether `p` starts with the descriptor's path followed by '/' or ':'. */
static int
names_fd(const struct ts_rg *g, const char *p, size_t n)
{
	return g->fd_path_len > 0 && n > g->fd_path_len &&
	       memcmp(p, g->fd_path, g->fd_path_len) == 0 &&
	       (p[g->fd_path_len] == '/' || p[g->fd_path_len] == ':');
}

/* rg's errors, with the descriptor's path named as the search path. */
static int
append_errors(struct buf *msg, const struct ts_rg *g)
{
	const char *p = g->err.data ? g->err.data : "";
	const char *e = p + g->err.len;
	int r = 0;

	while (r == 0 && p < e) {
		if (names_fd(g, p, (size_t)(e - p))) {
			r = buf_puts(msg, g->search_path);
			p += g->fd_path_len;
		} else {
			r = buf_putc(msg, *p++);
		}
	}
	return r;
}

/* "close": the process was reaped and both outputs reached EOF. */
static void
rg_check_done(struct ts_rg *g)
{
	struct ts_session *s = g->s;
	struct buf msg = BUF_INIT(TS_OUT_MAX);
	int code;

	if (!g->exited || g->fds[1] >= 0 || g->fds[2] >= 0)
		return;
	s->rg = NULL;
	code = WIFEXITED(g->status) ? WEXITSTATUS(g->status) : -1;
	if (code == 2 && g->fd_path_len > 0 && g->err.data) {
		char gone[96];

		snprintf(gone, sizeof(gone), "%s: No such file or directory (os error 2)",
			 g->fd_path);
		if (g->passed && strstr(g->err.data, gone)) {
			/* The sandbox closed the descriptor: search by name,
			 * now and for the rest of the session. */
			s->rg_by_name = 1;
			if (rg_start(s, g->call_id, g->rg, g->pattern, g->search_path, NULL, -1) <
			    0)
				ts_result(s, g->call_id, 1, "grep: rg failed: out of memory", 30);
			else if (s->rg)
				s->rg->saved = g->saved;
			rg_free(g);
			return;
		}
	}
	if (code == 2 && g->saved && rg_could_not_reach(g)) {
		/* The sandbox keeps rg from bash's saved output (it lies
		 * outside what firejail or landlock let a command see):
		 * search it here, as the SDK does where it has no rg. */
		grep_here(s, g->call_id, g->pattern, g->search_path);
		rg_free(g);
		return;
	}
	if (g->truncated) {
		if (buf_append(&msg, g->out.data ? g->out.data : "", g->out.len) == 0 &&
		    buf_printf(&msg, "\n[output truncated at %u bytes]", GREP_OUTPUT_LIMIT) == 0)
			ts_result(s, g->call_id, 0, msg.data, msg.len);
	} else if (code == 0) {
		ts_result(s, g->call_id, 0, g->out.data, g->out.len);
	} else if (code == 1) {
		ts_result(s, g->call_id, 0, "no matches", 10);
	} else {
		int r = buf_puts(&msg, "grep: rg failed: ");

		if (r == 0 && g->err.len > 0)
			r = append_errors(&msg, g);
		else if (r == 0 && code >= 0)
			r = buf_printf(&msg, "exit %d", code);
		else if (r == 0)
			r = buf_puts(&msg, "exit null");
		if (r == 0)
			ts_result(s, g->call_id, 1, msg.data, msg.len);
	}
	buf_release(&msg);
	rg_free(g);
}

/* Keep output text, up to GREP_OUTPUT_LIMIT characters. */
static void
rg_keep(struct ts_rg *g, const char *p, size_t n)
{
	if (g->truncated || n == 0)
		return;
	g->out_units += utf16_length(p, n);
	if (g->out_units > GREP_OUTPUT_LIMIT) {
		size_t have = utf16_length(g->out.data ? g->out.data : "", g->out.len);
		size_t take = utf16_prefix(p, n, GREP_OUTPUT_LIMIT - have);

		(void)buf_append(&g->out, p, take);
		g->truncated = 1;
		if (g->proc)
			g->s->pl->host->process_kill(g->proc, SIGKILL);
		return;
	}
	if (buf_append(&g->out, p, n) < 0) {
		g->truncated = 1;
		if (g->proc)
			g->s->pl->host->process_kill(g->proc, SIGKILL);
	}
}

/* Output text, each line that starts with the descriptor's path starting
 * with the search path instead. */
static void
rg_emit(struct ts_rg *g, const char *p, size_t n)
{
	while (n > 0 && !g->truncated) {
		const char *nl = memchr(p, '\n', n);
		size_t upto = nl ? (size_t)(nl - p) + 1 : n;

		if (g->fd_path_len > 0 && g->line_start) {
			/* Gather enough of the line to tell. */
			size_t want = g->fd_path_len + 1 - g->head_len;
			size_t take = upto < want ? upto : want;

			memcpy(g->head + g->head_len, p, take);
			g->head_len += take;
			p += take;
			n -= take;
			if (g->head_len <= g->fd_path_len && !(nl && take == upto))
				continue;
			if (names_fd(g, g->head, g->head_len)) {
				rg_keep(g, g->search_path, strlen(g->search_path));
				rg_keep(g, g->head + g->fd_path_len, g->head_len - g->fd_path_len);
			} else {
				rg_keep(g, g->head, g->head_len);
			}
			g->line_start = g->head[g->head_len - 1] == '\n';
			g->head_len = 0;
			continue;
		}
		rg_keep(g, p, upto);
		p += upto;
		n -= upto;
		g->line_start = nl != NULL;
	}
}

/* rg's stdout, decoded and kept until the output limit. */
static int
rg_take_stdout(void *userdata, const char *data, size_t len)
{
	struct ts_rg *g = userdata;
	struct buf chunk = BUF_INIT(4 * GREP_READ_CHUNK + 8);

	if (!g->truncated && utf8_stream_feed(&g->dec, &chunk, data, len, 0) == 0)
		rg_emit(g, chunk.data, chunk.len);
	buf_release(&chunk);
	return 0;
}

/* rg's stderr, its first GREP_STDERR_MAX bytes kept. */
static int
rg_take_stderr(void *userdata, const char *data, size_t len)
{
	struct ts_rg *g = userdata;
	size_t room = g->err.len < GREP_STDERR_MAX ? GREP_STDERR_MAX - g->err.len : 0;

	if (room)
		(void)buf_append(&g->err, data, len < room ? len : room);
	return 0;
}

static void
rg_on_output(void *userdata, int fd, uint32_t revents)
{
	struct ts_rg *g = userdata;
	int i = fd == g->fds[1] ? 1 : 2;
	int eof = nbio_drain(fd, i == 1 ? rg_take_stdout : rg_take_stderr, g) != 0;

	if (eof) {
		if (i == 1 && !g->truncated) {
			struct buf rest = BUF_INIT(16);

			if (utf8_stream_feed(&g->dec, &rest, "", 0, 1) == 0 && rest.len)
				rg_emit(g, rest.data, rest.len);
			buf_release(&rest);
			rg_keep(g, g->head, g->head_len);
			g->head_len = 0;
		}
		rg_close_stream(g, i);
		rg_check_done(g);
	}
}

static void
rg_on_exit(void *userdata, struct er_process *proc, int status)
{
	struct ts_rg *g = userdata;

	g->proc = NULL;
	g->exited = 1;
	g->status = status;
	rg_check_done(g);
}

/* The SDK's isWithinFolded(): confine_is_within() with ASCII letter case
 * ignored (the SDK also folds Unicode case and form).  Out of memory reads
 * as inside. */
static int
within_folded(const char *root, const char *p)
{
	char *a = strdup(root);
	char *b = strdup(p);
	int inside = 1;

	if (a && b) {
		for (char *c = a; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		for (char *c = b; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		inside = confine_is_within(a, b);
	}
	free(a);
	free(b);
	return inside;
}

/* Whether the canonical `real` is in the workdir or an allowed root, each
 * resolved now. */
static int
inside_session(const struct ts_session *s, const char *real)
{
	if (within_folded(s->ctx.root.path, real))
		return 1;
	for (size_t i = 0; s->ctx.allowed_roots && s->ctx.allowed_roots[i]; i++) {
		char *abs = NULL;
		char *canon = NULL;
		int inside = 0;

		if (path_resolve("/", s->ctx.allowed_roots[i], &abs) == 0 &&
		    confine_canonicalize(abs, &canon) == 0)
			inside = within_folded(canon, real);
		free(abs);
		free(canon);
		if (inside)
			return 1;
	}
	return 0;
}

/* The SDK's findExecutable('rg', [workdir, ...allowedRoots]): the first
 * executable regular file called rg in an absolute, normalised PATH entry
 * whose real path is neither in the workdir nor in an allowed root
 * (compared without regard to case).  Caller frees. */
static char *
find_rg(const struct ts_session *s)
{
	const char *path = s->pl->host->getenv(s->pl->host_ctx, "PATH");
	const char *p = path;

	if (!path)
		return NULL;
	while (*p) {
		size_t n = strcspn(p, ":");
		char *dir = strndup(p, n);
		char *norm = NULL;

		p += n;
		if (*p == ':')
			p++;
		if (!dir)
			return NULL;
		if (dir[0] == '/' && path_resolve("/", dir, &norm) == 0 && strcmp(norm, dir) == 0) {
			char cand[4096];
			struct stat st;

			snprintf(cand, sizeof(cand), "%s/rg", strcmp(dir, "/") == 0 ? "" : dir);
			if (access(cand, X_OK) == 0 && stat(cand, &st) == 0 &&
			    S_ISREG(st.st_mode)) {
				char *real = realpath(cand, NULL);

				if (real) {
					if (!inside_session(s, real)) {
						free(norm);
						free(dir);
						return real;
					}
					free(real);
				}
			}
		}
		free(norm);
		free(dir);
	}
	return NULL;
}

/* Start rg on `search_path`: by name when `stand_in` is NULL, else told
 * `stand_in`, a path that means the same to it, and given `target_fd` (or
 * -1), which is closed in any case.  Its output names `search_path`. */
static int
rg_start(struct ts_session *s, const char *call_id, const char *rg, const char *pattern,
	 const char *search_path, const char *stand_in, int target_fd)
{
	const struct er_host *host = s->pl->host;
	static const char *const envp[] = { NULL };
	struct er_spawn_request req;
	struct er_error err;
	struct ts_rg *g;
	int r = -ENOMEM;
	int i;

	g = calloc(1, sizeof(*g));
	if (!g)
		goto fail;
	g->s = s;
	for (i = 0; i < 3; i++)
		g->fds[i] = -1;
	g->line_start = 1;
	buf_init(&g->out, 4 * GREP_OUTPUT_LIMIT + 16);
	buf_init(&g->err, GREP_STDERR_MAX + 16);
	g->call_id = strdup(call_id);
	g->rg = strdup(rg);
	g->pattern = strdup(pattern);
	g->search_path = strdup(search_path);
	if (!g->call_id || !g->rg || !g->pattern || !g->search_path)
		goto fail;
	if (stand_in) {
		snprintf(g->fd_path, sizeof(g->fd_path), "%s", stand_in);
		g->fd_path_len = strlen(g->fd_path);
		g->passed = target_fd >= 0;
	}
	{
		const char *argv[] = { rg,   "--no-config",
				       "-n", "--no-heading",
				       "-e", pattern,
				       "--", stand_in ? g->fd_path : search_path,
				       NULL };
		int32_t pass[1] = { target_fd };

		memset(&req, 0, sizeof(req));
		memset(&err, 0, sizeof(err));
		req.struct_size = sizeof(req);
		req.cmd.struct_size = sizeof(req.cmd);
		req.cmd.argv = argv;
		req.cmd.envp = envp;
		req.cmd.cwd = s->ctx.workdir;
		req.cmd.workdir = s->ctx.workdir;
		req.pipe_stdout = 1;
		req.pipe_stderr = 1;
		if (target_fd >= 0) {
			req.pass_fds = pass;
			req.n_pass_fds = 1;
		}
		r = host->spawn(s->handle, &req, rg_on_exit, g, &g->proc, &err);
	}
	if (target_fd >= 0)
		close(target_fd);
	target_fd = -1;
	if (r < 0) {
		struct buf msg = BUF_INIT(1024);

		if (buf_printf(&msg, "grep: rg failed: %s", err.msg[0] ? err.msg : strerror(-r)) ==
		    0)
			ts_result(s, call_id, 1, msg.data, msg.len);
		buf_release(&msg);
		rg_free(g);
		return 0;
	}
	g->fds[1] = req.stdout_fd;
	g->fds[2] = req.stderr_fd;
	for (i = 1; i <= 2; i++) {
		r = host->watch_fd(s->pl->host_ctx, g->fds[i], ER_FD_READ, rg_on_output, g,
				   &g->watch[i]);
		if (r < 0) {
			rg_free(g);
			return r;
		}
	}
	s->rg = g;
	return 0;
fail:
	if (target_fd >= 0)
		close(target_fd);
	if (g)
		rg_free(g);
	return r;
}

/* Open what grep searches, the checked path `real` beneath `root`,
 * following no symlink: a descriptor, or -errno. */
static int
open_search_root(const struct confine_root *root, const char *real)
{
	return confine_open(root, real, O_RDONLY | O_NONBLOCK | O_NOCTTY);
}

static void
grep_here(struct ts_session *s, const char *call_id, const char *pattern, const char *search_path)
{
	struct buf out = BUF_INIT(TS_OUT_MAX);
	const struct confine_root *root = NULL;
	char *real = NULL;
	int fd = -1;
	int r = buf_puts(&out, "");

	/* From rg's end, outside the call's own ts_ctx_busy(). */
	if (r == 0)
		r = ts_ctx_busy(&s->ctx);
	if (r == 0)
		r = ts_confine_readable(&s->ctx, "grep", search_path, &real, &root, &out);
	if (r == 0) {
		fd = open_search_root(root, real);
		r = tool_grep_walk(&s->ctx, pattern, search_path, fd, &out);
	}
	if (r >= 0)
		ts_result(s, call_id, r != TS_OK, out.data, out.len);
	else if (r == -ENOMEM)
		ts_result(s, call_id, 1, "grep: out of memory", 19);
	else
		ts_result(s, call_id, 1, "grep: cannot open the working directory", 39);
	if (fd >= 0)
		close(fd);
	ts_ctx_idle(&s->ctx);
	free(real);
	buf_release(&out);
}

/* Run rg on what `target_fd` holds, or, when it could not be opened
 * (-errno), on a path that fails the same way and cannot lead anywhere, so
 * that rg says it in its own words.  stdin is /dev/null, so
 * /proc/self/fd/0/x is not a directory; fd -1 does not exist. */
static int
rg_run(struct ts_session *s, const char *call_id, const char *rg, const char *pattern,
       const char *search_path, int target_fd)
{
	char stand_in[32];

	if (!RG_BY_FD || s->rg_by_name) {
		if (target_fd >= 0)
			close(target_fd);
		return rg_start(s, call_id, rg, pattern, search_path, NULL, -1);
	}
	if (target_fd >= 0)
		snprintf(stand_in, sizeof(stand_in), "/proc/self/fd/%d", target_fd);
	else
		snprintf(stand_in, sizeof(stand_in), "%s",
			 target_fd == -ENOTDIR ? "/proc/self/fd/0/x" : "/proc/self/fd/-1");
	return rg_start(s, call_id, rg, pattern, search_path, stand_in, target_fd);
}

void
grep_cancel(struct ts_session *s, const char *call_id)
{
	struct ts_rg *g = s->rg;

	if (!g || (call_id && strcmp(call_id, g->call_id) != 0))
		return;
	s->rg = NULL;
	rg_free(g);
}

int
tool_grep(struct ts_session *s, const char *call_id, const struct json_doc *doc, int input)
{
	struct buf out = BUF_INIT(TS_OUT_MAX);
	const struct confine_root *root;
	const char *pattern;
	const char *search_path;
	char *real = NULL;
	char *rg = NULL;
	int target_fd = -1;
	int p_tok;
	int path_tok;
	int r;

	if (s->rg) {
		static const char busy[] = "grep: another search is still running";

		ts_result(s, call_id, 1, busy, sizeof(busy) - 1);
		return 0;
	}
	p_tok = ts_member(doc, input, "pattern");
	r = buf_puts(&out, "");
	if (r < 0)
		return r;
	if (!ts_truthy(doc, p_tok)) {
		r = buf_puts(&out, "grep: pattern is required") ?: TS_TOOL_ERROR;
		goto answer;
	}
	pattern = json_str(doc, p_tok);
	if (!pattern) {
		r = buf_puts(&out, "grep: pattern must be a string") ?: TS_TOOL_ERROR;
		goto answer;
	}
	search_path = s->ctx.workdir;
	root = &s->ctx.root;
	path_tok = ts_member(doc, input, "path");
	if (ts_truthy(doc, path_tok)) {
		const char *p = json_str(doc, path_tok);

		if (!p) {
			r = buf_puts(&out, "grep: path must be a string") ?: TS_TOOL_ERROR;
			goto answer;
		}
		r = ts_confine_readable(&s->ctx, "grep", p, &real, &root, &out);
		if (r != 0) {
			if (r > 0)
				r = TS_TOOL_ERROR;
			goto answer;
		}
		search_path = real;
	}
	rg = find_rg(s);
	target_fd = open_search_root(root, real ? real : root->path);
	if (target_fd == -ENOMEM) {
		r = -ENOMEM;
		goto answer;
	}
	if (rg) {
		r = rg_run(s, call_id, rg, pattern, search_path, target_fd);
		if (r == 0 && s->rg)
			s->rg->saved = ts_is_saved_root(&s->ctx, root);
		free(rg);
		free(real);
		buf_release(&out);
		return r;
	}
	r = tool_grep_walk(&s->ctx, pattern, search_path, target_fd, &out);
answer:
	if (target_fd >= 0)
		close(target_fd);
	if (r >= 0)
		ts_result(s, call_id, r == TS_TOOL_ERROR, out.data, out.len);
	free(rg);
	free(real);
	buf_release(&out);
	return r < 0 ? r : 0;
}

/* ---- the built-in walker ------------------------------------------------ */

/* How far counted repetition may multiply the compiled expression: glibc's
 * regcomp() copies a repeated subexpression once per count, so
 * "(a{1000}){1000}" alone would take gigabytes. */
#define ERE_MAX_EXPANSION 1000
#define ERE_MAX_GROUPS 64

/* A counted quantifier "{n}", "{n,}" or "{n,m}" at p: its length, and its
 * largest count in *ret_max; 0 when p is a literal brace (as in JS). */
static size_t
counted_quantifier(const char *p, unsigned long *ret_max)
{
	const char *q = p + 1;
	unsigned long lo = 0;
	unsigned long hi;
	int has_hi = 0;

	if (*q < '0' || *q > '9')
		return 0;
	/* Past 100000 the digits still go by, uncounted. */
	for (; *q >= '0' && *q <= '9'; q++)
		lo = lo > 100000 ? lo : lo * 10 + (unsigned long)(*q - '0');
	hi = lo;
	if (*q == ',') {
		q++;
		hi = 0;
		for (; *q >= '0' && *q <= '9'; q++) {
			hi = hi > 100000 ? hi : hi * 10 + (unsigned long)(*q - '0');
			has_hi = 1;
		}
		if (!has_hi)
			hi = lo; /* "{n,}": the copies made are n, plus a star */
	}
	if (*q != '}')
		return 0;
	*ret_max = hi > lo ? hi : lo;
	return (size_t)(q + 1 - p);
}

/* Translate a JavaScript pattern to POSIX ERE.  0, or -EINVAL with a
 * reason in `why`.  What JavaScript refuses, a quantifier with nothing to
 * repeat ("a**", "(+"), is refused here too, which also keeps regcomp()'s
 * memory bounded; counted repetition is capped at ERE_MAX_EXPANSION copies
 * overall. */
static int
js_to_ere(const char *js, struct buf *ere, const char **why)
{
	const char *p = js;
	int in_class = 0;
	int r = 0;
	/* Something before p can take a quantifier, and that something is not
	 * itself a quantifier. */
	int repeatable = 0;
	/* The expansion of the last atom, and of each open group so far. */
	unsigned long atom_mult = 1;
	unsigned long group_mult[ERE_MAX_GROUPS + 1] = { 1 };
	int depth = 0;

	while (*p && r == 0) {
		char c = *p;

		if (c == '\\') {
			char e = p[1];

			p += 2;
			switch (e) {
			case '\0':
				*why = "\\ at end of pattern";
				return -EINVAL;
			case 'd':
				r = buf_puts(ere, in_class ? "0-9" : "[0-9]");
				break;
			case 'D':
				r = buf_puts(ere, in_class ? "" : "[^0-9]");
				break;
			case 'w':
				r = buf_puts(ere, in_class ? "A-Za-z0-9_" : "[A-Za-z0-9_]");
				break;
			case 'W':
				r = buf_puts(ere, in_class ? "" : "[^A-Za-z0-9_]");
				break;
			case 's':
				r = buf_puts(ere, in_class ? "[:space:]" : "[[:space:]]");
				break;
			case 'S':
				r = buf_puts(ere, in_class ? "" : "[^[:space:]]");
				break;
			case 'b':
				r = buf_puts(ere, in_class ? "\b" : "\\b");
				break;
			case 'B':
				r = buf_puts(ere, "\\B");
				break;
			case 't':
				r = buf_putc(ere, '\t');
				break;
			case 'f':
				r = buf_putc(ere, '\f');
				break;
			case 'v':
				r = buf_putc(ere, '\v');
				break;
			case 'n':
			case 'r':
			case '0':
				/* A line never holds these (NUL ends the file):
				 * a newline is as unmatchable. */
				r = buf_putc(ere, '\n');
				break;
			default:
				if (e >= '1' && e <= '9') {
					*why = "backreferences are not supported";
					return -EINVAL;
				}
				if (in_class) {
					r = buf_putc(ere, e);
				} else if (strchr(".[]{}()\\*+?^$|", e)) {
					r = buf_putc(ere, '\\');
					if (r == 0)
						r = buf_putc(ere, e);
				} else {
					r = buf_putc(ere, e);
				}
				break;
			}
			if (!in_class) {
				repeatable = e != 'b' && e != 'B';
				atom_mult = 1;
			}
			continue;
		}
		if (in_class) {
			if (c == ']') {
				in_class = 0;
				repeatable = 1;
				atom_mult = 1;
			}
			r = buf_putc(ere, c);
			p++;
			continue;
		}
		if (c == '[') {
			in_class = 1;
			r = buf_putc(ere, c);
			p++;
			if (*p == '^')
				r = buf_putc(ere, *p++);
			if (*p == ']')
				r = buf_putc(ere, *p++);
			continue;
		}
		if (c == '(' && p[1] == '?' && p[2] != ':') {
			*why = "lookaround and named groups are not supported";
			return -EINVAL;
		}
		if (c == '(') {
			if (depth == ERE_MAX_GROUPS) {
				*why = "too many nested groups";
				return -EINVAL;
			}
			group_mult[++depth] = 1;
			r = buf_putc(ere, '(');
			p += p[1] == '?' ? 3 : 1;
			repeatable = 0;
			continue;
		}
		if (c == ')' && depth > 0) {
			atom_mult = group_mult[depth--];
			repeatable = 1;
			r = buf_putc(ere, c);
			p++;
			continue;
		}
		if (c == '|') {
			repeatable = 0;
			r = buf_putc(ere, c);
			p++;
			continue;
		}
		if (c == '*' || c == '+' || c == '?' || c == '{') {
			unsigned long count = 1;
			size_t len = c == '{' ? counted_quantifier(p, &count) : 1;

			if (c == '{' && len == 0) {
				/* A literal brace, as JavaScript reads it. */
				r = buf_puts(ere, "\\{");
				p++;
				repeatable = 1;
				atom_mult = 1;
				continue;
			}
			if (!repeatable) {
				*why = "Nothing to repeat";
				return -EINVAL;
			}
			atom_mult *= count > 0 ? count : 1;
			if (atom_mult > ERE_MAX_EXPANSION) {
				*why = "counted repetition too large";
				return -EINVAL;
			}
			if (atom_mult > group_mult[depth])
				group_mult[depth] = atom_mult;
			r = buf_append(ere, p, len);
			p += len;
			/* Lazy: same lines match. */
			if (*p == '?')
				p++;
			repeatable = 0;
			continue;
		}
		r = buf_putc(ere, c);
		p++;
		repeatable = c != '^' && c != '$';
		atom_mult = 1;
	}
	if (r == 0 && in_class) {
		*why = "Unterminated character class";
		return -EINVAL;
	}
	return r;
}

struct walker {
	regex_t re;
	struct buf *out;
	long budget;
	unsigned remaining;
	int lines; /* hits pushed */
	int full;  /* output budget exhausted */
	int timed_out;
	struct timespec deadline;
	unsigned long steps;
};

static int
walker_expired(struct walker *w)
{
	struct timespec now;

	if (w->timed_out)
		return 1;
	if ((++w->steps & 255) != 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > w->deadline.tv_sec ||
	    (now.tv_sec == w->deadline.tv_sec && now.tv_nsec >= w->deadline.tv_nsec))
		w->timed_out = 1;
	return w->timed_out;
}

/* Push "<file>:<n>:<line>": 0, or 1 when the budget ran out. */
static int
push_hit(struct walker *w, const char *file, unsigned long n, const char *line, size_t len)
{
	char num[32];
	long units;

	snprintf(num, sizeof(num), ":%lu:", n);
	units = (long)(utf16_length(file, strlen(file)) + strlen(num) + utf16_length(line, len) +
		       1);
	w->budget -= units;
	if (w->budget < 0) {
		if (w->lines++)
			(void)buf_putc(w->out, '\n');
		(void)buf_printf(w->out, "[output truncated at %u bytes]", GREP_OUTPUT_LIMIT);
		w->full = 1;
		return 1;
	}
	if (w->lines++)
		(void)buf_putc(w->out, '\n');
	(void)buf_puts(w->out, file);
	(void)buf_puts(w->out, num);
	(void)buf_append(w->out, line, len);
	return 0;
}

static void
test_line(struct walker *w, const char *file, unsigned long n, struct buf *line)
{
	if (w->full)
		return;
	if (utf16_length(line->data ? line->data : "", line->len) > GREP_MAX_LINE)
		return;
	if (regexec(&w->re, line->data ? line->data : "", 0, NULL, 0) == 0)
		push_hit(w, file, n, line->data ? line->data : "", line->len);
}

/* readline's line splitting: \n, \r\n and a lone \r all end a line.
 * `fd` is the open file, named `file` in the output. */
static void
grep_file(struct walker *w, const char *file, int fd)
{
	struct buf line = BUF_INIT(4 * GREP_MAX_LINE + 16);
	struct buf dec = BUF_INIT(4 * GREP_READ_CHUNK + 16);
	struct utf8_stream u = { { 0 }, 0 };
	char *raw = malloc(GREP_READ_CHUNK);
	unsigned long n = 0;
	int too_long = 0;
	int cr = 0;

	if (!raw)
		return;
	(void)buf_puts(&line, "");
	for (;;) {
		ssize_t got = read(fd, raw, GREP_READ_CHUNK);
		size_t i;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || w->full || walker_expired(w))
			break;
		/* A chunk holding NUL ends the file (binary). */
		if (memchr(raw, '\0', (size_t)got))
			break;
		buf_reset(&dec);
		if (utf8_stream_feed(&u, &dec, raw, (size_t)got, 0) < 0)
			break;
		for (i = 0; i < dec.len && !w->full; i++) {
			char c = dec.data[i];

			if (c == '\n' && cr) {
				cr = 0;
				continue;
			}
			cr = 0;
			if (c == '\n' || c == '\r') {
				n++;
				if (!too_long)
					test_line(w, file, n, &line);
				buf_reset(&line);
				too_long = 0;
				cr = c == '\r';
				continue;
			}
			if (!too_long && buf_putc(&line, c) < 0)
				too_long = 1;
		}
	}
	if (!w->full && (line.len > 0 || too_long)) {
		n++;
		if (!too_long)
			test_line(w, file, n, &line);
	}
	free(raw);
	buf_release(&line);
	buf_release(&dec);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Search the regular file `name` in `dfd`, opened without following a
 * symlink. */
static void
grep_entry(struct walker *w, const char *path, int dfd, const char *name)
{
	struct stat st;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		grep_file(w, path, fd);
	close(fd);
}

/* Walk the directory `dfd`, named `dir` in the output: 0 to go on, 1 to stop
 * the whole walk. */
static int
walk_dir(struct walker *w, const char *dir, int dfd, int depth)
{
	char **names = NULL;
	size_t n = 0;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	size_t i;
	int stop = 0;
	int lfd;

	if (depth > TS_WALK_MAX_DEPTH)
		return 0;
	if (walker_expired(w))
		return 1;
	lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (!d) {
		if (lfd >= 0)
			close(lfd);
		return 0;
	}
	/* Node's readdir lists names in strcmp order (libuv sorts them). */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nn = realloc(names, ncap * sizeof(*nn));

			if (!nn)
				break;
			names = nn;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			break;
		n++;
		if (n > TS_WALK_MAX_ENTRIES)
			break;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n && !stop; i++) {
		char path[8192];
		struct stat st;

		if (strcmp(names[i], ".git") == 0 || strcmp(names[i], "node_modules") == 0)
			continue;
		if (w->remaining == 0 || walker_expired(w)) {
			stop = 1;
			break;
		}
		w->remaining--;
		snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, names[i]);
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int cfd = openat(dfd, names[i],
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd >= 0) {
				stop = walk_dir(w, path, cfd, depth + 1);
				close(cfd);
			}
		} else if (S_ISREG(st.st_mode)) {
			grep_entry(w, path, dfd, names[i]);
			stop = w->full;
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return stop;
}

int
tool_grep_walk(struct ts_ctx *ctx, const char *pattern, const char *search_path, int target_fd,
	       struct buf *out)
{
	struct buf ere = BUF_INIT(64 * 1024);
	struct walker w;
	const char *why = NULL;
	struct stat st;
	int r;

	memset(&w, 0, sizeof(w));
	r = js_to_ere(pattern, &ere, &why);
	if (r == 0)
		r = regcomp(&w.re, ere.data ? ere.data : "", REG_EXTENDED | REG_NOSUB) ? -EINVAL
										       : 0;
	if (r == -EINVAL) {
		char msg[256];

		if (!why) {
			regerror(REG_BADPAT, NULL, msg, sizeof(msg));
			why = msg;
		}
		r = buf_printf(out, "grep: invalid regex: Invalid regular expression: /%s/: %s",
			       pattern, why)
			    ?: TS_TOOL_ERROR;
		buf_release(&ere);
		return r;
	}
	buf_release(&ere);
	if (r < 0)
		return r;
	w.out = out;
	w.budget = GREP_OUTPUT_LIMIT;
	w.remaining = TS_WALK_MAX_ENTRIES;
	clock_gettime(CLOCK_MONOTONIC, &w.deadline);
	w.deadline.tv_sec += GREP_TIMEOUT_MS / 1000;
	if (target_fd >= 0 && fstat(target_fd, &st) == 0 && S_ISREG(st.st_mode))
		grep_file(&w, search_path, target_fd);
	else if (target_fd >= 0 && S_ISDIR(st.st_mode))
		walk_dir(&w, search_path, target_fd, 0);
	regfree(&w.re);
	if (w.timed_out && !w.full) {
		if (w.lines == 0) {
			buf_reset(out);
			return buf_printf(out, "grep: timed out after %ds", GREP_TIMEOUT_MS / 1000)
				       ?: TS_TOOL_ERROR;
		}
		(void)buf_printf(out, "\n[the search was cut short after %d ms]", GREP_TIMEOUT_MS);
	}
	if (w.lines == 0)
		return buf_puts(out, "no matches");
	return TS_OK;
}
