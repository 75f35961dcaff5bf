/* SPDX-License-Identifier: MIT */
/* The toolset plugin through its ABI, with a stand-in host: routing, the
 * persistent bash shell and grep (rg and the built-in walker). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <environment-runner/plugin.h>

#include "mock-host.h"

extern const struct er_plugin er_plugin_v1;

static char tmpdir[PATH_MAX];
static char workdir[PATH_MAX];
static const struct er_executor_ops *ops;
static void *state;
static void *sess;
static int call_seq;

static int
setup(void **unused)
{
	struct er_session_info info;
	struct er_error err;
	char cmd[PATH_MAX * 3];
	char *real;

	/* As the runner: a write to a shell that died fails with EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "%s/toolset-async-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	real = realpath(tmpdir, NULL);
	snprintf(workdir, sizeof(workdir), "%s/work", real);
	free(real);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/sub' && cd '%s' && printf 'alpha\\nbeta\\ngamma beta\\n' > a.txt && "
		 "printf 'nothing\\n' > sub/b.txt",
		 workdir, workdir);
	assert_int_equal(system(cmd), 0);

	ops = er_plugin_v1.ops;
	assert_int_equal(er_plugin_v1.kind, ER_KIND_EXECUTOR);
	assert_string_equal(er_plugin_v1.name, "toolset");
	assert_int_equal(ops->flags & ER_EXECUTOR_TOOL_CALLS, ER_EXECUTOR_TOOL_CALLS);
	assert_int_equal(er_plugin_v1.create(&mock_host, NULL, &state, &err), 0);
	memset(&info, 0, sizeof(info));
	info.struct_size = sizeof(info);
	info.session_id = "sesn_test";
	info.workdir = workdir;
	assert_int_equal(ops->session_start(state, mock_session(), &info, &sess, &err), 0);
	setenv("ANTHROPIC_API_KEY", "sk-must-not-leak", 1);
	return 0;
}

static int
teardown(void **unused)
{
	char cmd[PATH_MAX * 2];

	ops->session_stop(state, sess, ER_STOP_SHUTDOWN);
	ops->session_free(state, sess);
	er_plugin_v1.destroy(state);
	mock_run_for(50);
	assert_int_equal(mock_live_processes(), 0);
	mock_reset_results();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Send a call on a session thread (NULL: the primary) and wait for its
 * result. */
static struct mock_result *
call_on(const char *thread, const char *name, const char *input)
{
	struct er_tool_call c;
	char id[32];
	int before = mock_nresults;
	int r;

	snprintf(id, sizeof(id), "toolu_%d", ++call_seq);
	c.struct_size = sizeof(c);
	c.id = id;
	c.name = name;
	c.input_json = input;
	c.input_len = strlen(input);
	c.session_thread_id = thread;
	r = ops->tool_call(state, sess, &c);
	assert_int_equal(r, 0);
	assert_int_equal(mock_run_until(before + 1, 10000), before + 1);
	assert_string_equal(mock_results[before].call_id, id);
	return &mock_results[before];
}

static struct mock_result *
call(const char *name, const char *input)
{
	return call_on(NULL, name, input);
}

#define assert_call(name, input, want_err, want_text)                                              \
	do {                                                                                       \
		struct mock_result *res_ = call((name), (input));                                  \
		assert_string_equal(res_->text, (want_text));                                      \
		assert_int_equal(res_->is_error, (want_err));                                      \
	} while (0)

static void
test_routing(void **unused)
{
	struct er_tool_call c = { sizeof(c), "toolu_x", "web_search", "{}", 2, NULL };

	assert_int_equal(ops->tool_call(state, sess, &c), ER_DECLINED);
	assert_call("read", "{\"file_path\":\"a.txt\",\"view_range\":[2,2]}", 0, "beta");
	assert_call("write", "{\"file_path\":\"w.txt\",\"content\":\"x\"}", 0,
		    "wrote 1 bytes to w.txt");
	assert_call("read", "[1,2]", 1, "read: file_path is required");
}

#define SHELL_GONE                                                                                 \
	"[The shell is gone. Call bash with restart set to true to start a new one. It starts in " \
	"the original working directory, without the old shell's variables, activated "            \
	"environments and background jobs.]"
#define NOT_RUN                                                                                    \
	"[This command did not run, because the shell is gone. Call bash with restart set to "     \
	"true to start a new one. It starts in the original working directory, without the old "   \
	"shell's variables, activated environments and background jobs.]"

static void
test_bash_basics(void **unused)
{
	char want[PATH_MAX * 2];

	assert_call("bash", "{\"command\":\"echo hello\"}", 0, "hello");
	assert_call("bash", "{\"command\":\"cd sub && export FOO=bar\"}", 0, "");
	snprintf(want, sizeof(want), "%s/sub bar", workdir);
	assert_call("bash", "{\"command\":\"echo $PWD $FOO\"}", 0, want);
	/* A failure with no output says so. */
	assert_call("bash", "{\"command\":\"false\"}", 1, "(no output)");
	assert_call("bash", "{\"command\":\"printf '\\\\033[31mred\\\\033[0m\\\\n\\\\n\\\\n'\"}", 0,
		    "red");
	assert_call("bash", "{\"command\":\"cat; echo done\"}", 0, "done");
	assert_call("bash",
		    "{\"command\":\"echo \\\"$TERM|$PS1|$PS2|${HISTFILE-unset}|"
		    "${ANTHROPIC_API_KEY-unset}\\\"\"}",
		    0, "dumb||||unset");
	assert_call("bash", "{}", 1, "bash: command is required");
	assert_call("bash", "{\"command\":\"\"}", 1, "bash: command is required");
	assert_call("bash", "{\"restart\":true}", 0, "bash session restarted");
	snprintf(want, sizeof(want), "%s", workdir);
	assert_call("bash", "{\"command\":\"pwd\",\"restart\":true}", 0, want);
	/* A sentinel-looking string in the output does not end the call. */
	assert_call("bash", "{\"command\":\"echo __ANT_CMD_fake_DONE__0\"}", 0,
		    "__ANT_CMD_fake_DONE__0");
}

/* The shell's read(2) calls so far, by its own count in /proc/$$/io (the
 * sed of the call before included, reaped since): -1 where there is none. */
static long
shell_reads(void)
{
	struct mock_result *res =
		call("bash", "{\"command\":\"sed -n 's/^syscr: //p' /proc/$$/io\"}");
	long n;

	return !res->is_error && sscanf(res->text, "%ld", &n) == 1 ? n : -1;
}

/* Bash reads a script from a pipe a byte at a time: a call of 20 kB takes
 * the shell a few reads, not one a byte. */
static void
test_bash_takes_a_call_in_one_read(void **unused)
{
	static char input[24 << 10];
	long before = shell_reads();
	long after;
	int n;

	if (before < 0)
		skip(); /* no /proc (macOS, whose bash 3.2 reads the script itself) */
	n = snprintf(input, sizeof(input), "{\"command\":\": ");
	memset(input + n, 'x', 20000);
	snprintf(input + n + 20000, sizeof(input) - (size_t)n - 20000, "; echo done\"}");
	assert_call("bash", input, 0, "done");
	after = shell_reads();
	assert_in_range(after - before, 1, 2000);
}

/* A shell whose LC_ALL and IFS are readonly cannot take a call's script
 * in one read: it reads the script itself, and every call still runs, once. */
static void
test_bash_readonly_locale(void **unused)
{
	assert_call("bash", "{\"command\":\"readonly LC_ALL=C IFS=:; echo set\"}", 0, "set");
	assert_call("bash", "{\"command\":\"n=$((n+1)); echo \\\"$n $IFS $LC_ALL\\\"\"}", 0,
		    "1 : C");
	assert_call("bash", "{\"command\":\"n=$((n+1)); echo \\\"$n $IFS $LC_ALL\\\"\"}", 0,
		    "2 : C");
}

/* stdout and stderr are read apart: stdout first after success, stderr
 * first after a failure, a newline between them when stderr has any. */
static void
test_bash_output_split(void **unused)
{
	assert_call("bash", "{\"command\":\"echo err >&2; echo out\"}", 0, "out\n\nerr");
	assert_call("bash", "{\"command\":\"echo out; echo err >&2; false\"}", 1, "err\n\nout");
	assert_call("bash", "{\"command\":\"echo out; false\"}", 1, "out");
	assert_call("bash", "{\"command\":\"echo err >&2\"}", 0, "\nerr");
}

/* After a timeout the shell is gone until a call restarts it. */
static void
test_bash_timeout(void **unused)
{
	char want[PATH_MAX * 2];

	assert_call("bash", "{\"command\":\"cd sub\"}", 0, "");
	assert_call("bash", "{\"command\":\"echo partial; sleep 5\",\"timeout_ms\":200}", 1,
		    "\ncommand timed out after 0.2s\n\npartial\n" SHELL_GONE);
	assert_call("bash", "{\"command\":\"pwd\"}", 1, NOT_RUN);
	assert_call("bash", "{\"command\":\"pwd\"}", 1, NOT_RUN);
	/* A fresh shell: back in the workdir. */
	snprintf(want, sizeof(want), "%s", workdir);
	assert_call("bash", "{\"command\":\"pwd\",\"timeout_ms\":0,\"restart\":true}", 0, want);
	/* A long timeout is capped at 295 s, not taken as given. */
	assert_call("bash", "{\"command\":\"sleep 1 & wait\",\"timeout_ms\":1e300}", 0, "");
}

static void
test_bash_died(void **unused)
{
	assert_call("bash", "{\"command\":\"exit 3\"}", 1, "(no output)\n" SHELL_GONE);
	assert_string_equal(mock_last_log,
			    "bash: the shell exited (exit status 3), nothing on stderr");
	assert_call("bash", "{\"command\":\"echo again\"}", 1, NOT_RUN);
	assert_call("bash", "{}", 1, "bash: command is required");
	assert_call("bash", "{\"restart\":true}", 0, "bash session restarted");
	assert_call("bash", "{\"command\":\"echo bye; exit 0\"}", 0, "bye\n" SHELL_GONE);
	assert_call("bash", "{\"command\":\"echo again\",\"restart\":true}", 0, "again");
}

/* A shell the sandbox cannot start: its status and last stderr line reach
 * the result and the log. */
static void
test_bash_wrapper_fails(void **unused)
{
	static const char *const failing[] = {
		"/bin/sh", "-c",
		"echo 'sandbox: starting' >&2; echo 'sandbox: no user namespaces' >&2; exit 71",
		NULL
	};
	static const char *const missing[] = { "/nonexistent/bwrap", NULL };

	assert_call("bash", "{\"restart\":true}", 0, "bash session restarted");
	mock_wrapper = failing;
	assert_call("bash", "{\"command\":\"echo hi\"}", 1,
		    "(no output)\n" SHELL_GONE " (exit status 71: sandbox: no user namespaces)");
	assert_string_equal(mock_last_log, "bash: the shell exited (exit status 71); its last "
					   "stderr line: sandbox: no user namespaces");
	assert_call("bash", "{\"command\":\"echo hi\"}", 1,
		    NOT_RUN " (exit status 71: sandbox: no user namespaces)");
	/* A spawn that fails: the host's words. */
	mock_wrapper = missing;
	assert_call("bash", "{\"command\":\"echo hi\",\"restart\":true}", 1,
		    "bash: spawn /nonexistent/bwrap: No such file or directory");
	mock_wrapper = NULL;
	assert_call("bash", "{\"command\":\"echo again\"}", 0, "again");
}

/* Past 30,000 characters the head is kept and the whole output saved to a
 * file that read and grep of the session may open. */
static void
test_bash_truncation(void **unused)
{
	struct mock_result *r = call(
		"bash", "{\"command\":\"head -c 40000 /dev/zero | tr '\\\\0' a; echo; echo end\"}");
	const char *trailer = "\n\n... [3 lines truncated] Full output saved to: ";
	char path[PATH_MAX];
	char input[PATH_MAX + 64];
	const char *p;
	const char *e;
	struct stat st;
	size_t i;

	assert_int_equal(r->is_error, 0);
	for (i = 0; i < 30000; i++)
		assert_int_equal(r->text[i], 'a');
	assert_memory_equal(r->text + 30000, trailer, strlen(trailer));
	p = r->text + 30000 + strlen(trailer);
	e = strstr(p, " \xe2\x80\x94 use read with view_range to read specific portions. ...");
	assert_non_null(e);
	assert_string_equal(e + strlen(" \xe2\x80\x94 use read with view_range to read specific "
				       "portions. ..."),
			    "");
	snprintf(path, sizeof(path), "%.*s", (int)(e - p), p);
	assert_non_null(strstr(path, "/bash-output-"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 40000 + 1 + 4);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(input, sizeof(input), "{\"file_path\":\"%s\",\"view_range\":[2,2]}", path);
	assert_call("read", input, 0, "end");
	snprintf(input, sizeof(input), "{\"file_path\":\"%s\",\"content\":\"x\"}", path);
	r = call("write", input);
	assert_int_equal(r->is_error, 1);
	/* A restart deletes it. */
	assert_call("bash", "{\"restart\":true}", 0, "bash session restarted");
	mock_run_for(20);
	assert_int_equal(stat(path, &st), -1);
	snprintf(input, sizeof(input), "{\"file_path\":\"%s\"}", path);
	r = call("read", input);
	assert_int_equal(r->is_error, 1);
	assert_non_null(strstr(r->text, "is outside the session's working directory"));
}

/* Where the sandbox keeps rg from the saved output (firejail, landlock: a
 * stand-in rg here that cannot reach it), grep searches it in the runner. */
static void
test_bash_saved_grep_unreachable(void **unused)
{
	char fakebin[PATH_MAX * 2];
	char cmd[PATH_MAX * 8];
	char path_env[PATH_MAX * 4];
	char saved[PATH_MAX];
	char input[PATH_MAX * 2];
	char want[PATH_MAX * 2];
	const char *path = getenv("PATH");
	char *old_path = path ? strdup(path) : NULL;
	struct mock_result *r;
	const char *p;
	const char *e;
	FILE *f;

	if (system("command -v rg >/dev/null 2>&1") != 0)
		skip();
	r = call("bash", "{\"command\":\"head -c 40000 /dev/zero | tr '\\\\0' a; echo; echo "
			 "end\",\"restart\":true}");
	p = strstr(r->text, "saved to: ");
	assert_non_null(p);
	p += strlen("saved to: ");
	e = strstr(p, " \xe2\x80\x94 ");
	assert_non_null(e);
	snprintf(saved, sizeof(saved), "%.*s", (int)(e - p), p);
	snprintf(fakebin, sizeof(fakebin), "%s/fakebin", tmpdir);
	assert_true(mkdir(fakebin, 0755) == 0 || errno == EEXIST);
	snprintf(cmd, sizeof(cmd), "%s/rg", fakebin);
	f = fopen(cmd, "w");
	assert_non_null(f);
	fprintf(f,
		"#!/bin/sh\n"
		"for a; do last=$a; done\n"
		"case $(readlink -f \"$last\") in */bash-output-*)\n"
		"\techo \"$last: Permission denied (os error 13)\" >&2; exit 2;;\n"
		"esac\n"
		"PATH=%s exec rg \"$@\"\n",
		old_path ? old_path : "/usr/bin:/bin");
	fclose(f);
	assert_int_equal(chmod(cmd, 0755), 0);
	snprintf(path_env, sizeof(path_env), "%s:%s", fakebin,
		 old_path ? old_path : "/usr/bin:/bin");
	setenv("PATH", path_env, 1);
	snprintf(input, sizeof(input), "{\"pattern\":\"^end$\",\"path\":\"%s\"}", saved);
	r = call("grep", input);
	snprintf(want, sizeof(want), "%s:2:end", saved);
	assert_string_equal(r->text, want);
	assert_int_equal(r->is_error, 0);
	/* The workdir itself is still searched by rg. */
	assert_call("grep", "{\"pattern\":\"beta\",\"path\":\"a.txt\"}", 0,
		    "2:beta\n3:gamma beta\n");
	if (old_path)
		setenv("PATH", old_path, 1);
	free(old_path);
}

/* An abort kills the shell's whole process group, answers nothing, and
 * leaves the shell gone. */
static void
test_bash_cancel(void **unused)
{
	static const char slow[] = "{\"command\":\"sleep 30 & sleep 30\"}";
	static const char quick[] = "{\"command\":\"echo hi\"}";
	struct er_tool_call c = { sizeof(c), "toolu_cancel", "bash", slow, sizeof(slow) - 1, NULL };
	struct er_tool_call c2 = { sizeof(c2), "toolu_queued",	  "bash",
				   quick,      sizeof(quick) - 1, NULL };
	int before = mock_nresults;

	assert_int_equal(ops->tool_call(state, sess, &c), 0);
	mock_run_for(100);
	/* A second call of the thread waits for the shell. */
	assert_int_equal(ops->tool_call(state, sess, &c2), 0);
	mock_run_for(50);
	assert_int_equal(mock_nresults, before);
	ops->tool_cancel(state, sess, "toolu_cancel");
	assert_int_equal(mock_run_until(before + 1, 5000), before + 1);
	assert_string_equal(mock_results[before].call_id, "toolu_queued");
	assert_string_equal(mock_results[before].text, NOT_RUN);
	mock_run_for(100);
	assert_int_equal(mock_live_processes(), 0);
	assert_call("bash", "{\"command\":\"echo after\",\"restart\":true}", 0, "after");
}

/* Each session thread has its own shell; a thread that stops loses it. */
static void
test_bash_threads(void **unused)
{
	struct mock_result *r;

	r = call_on("sthr_1", "bash", "{\"command\":\"cd sub && X=one\"}");
	assert_int_equal(r->is_error, 0);
	r = call_on("sthr_1", "bash", "{\"command\":\"echo $X ${PWD##*/}\"}");
	assert_string_equal(r->text, "one sub");
	r = call_on(NULL, "bash", "{\"command\":\"echo [$X] ${PWD##*/}\"}");
	assert_string_equal(r->text, "[] work");
	/* An empty thread id is the primary thread. */
	r = call_on("", "bash", "{\"command\":\"Y=prim\"}");
	r = call_on(NULL, "bash", "{\"command\":\"echo $Y\"}");
	assert_string_equal(r->text, "prim");
	ops->thread_stop(state, sess, "sthr_1");
	r = call_on("sthr_1", "bash", "{\"command\":\"echo $X\"}");
	assert_int_equal(r->is_error, 1);
	assert_string_equal(r->text, NOT_RUN);
	r = call_on("sthr_1", "bash", "{\"command\":\"echo [$X]\",\"restart\":true}");
	assert_string_equal(r->text, "[]");
	r = call_on(NULL, "bash", "{\"command\":\"echo $Y\"}");
	assert_string_equal(r->text, "prim");
}

static void
test_grep_rg(void **unused)
{
	char want[PATH_MAX * 4];

	if (system("command -v rg >/dev/null 2>&1") != 0)
		skip();
	snprintf(want, sizeof(want), "%s/a.txt:2:beta\n%s/a.txt:3:gamma beta\n", workdir, workdir);
	assert_call("grep", "{\"pattern\":\"beta\"}", 0, want);
	assert_call("grep", "{\"pattern\":\"zzz\"}", 0, "no matches");
	assert_call("grep", "{\"pattern\":\"beta\",\"path\":\"a.txt\"}", 0,
		    "2:beta\n3:gamma beta\n");
	assert_call("grep", "{\"pattern\":\"x\",\"path\":\"/etc\"}", 1,
		    "grep: path \"/etc\" is outside the session's working directory");
	assert_call("grep", "{}", 1, "grep: pattern is required");
	{
		struct mock_result *r = call("grep", "{\"pattern\":\"(\"}");

		assert_int_equal(r->is_error, 1);
		assert_non_null(strstr(r->text, "grep: rg failed: "));
	}
}

/* The path grep checked is the one rg searches, even when the session
 * swaps it for a symlink to outside before rg starts (rg gets the
 * descriptor that was checked, not the name). */
static void
test_grep_rg_swap(void **unused)
{
	char cmd[PATH_MAX * 8];
	char want[PATH_MAX * 2];
	struct mock_result *r;

	if (system("command -v rg >/dev/null 2>&1") != 0)
		skip();
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/outside' '%s/d' && echo 'SECRET outside' > '%s/outside/f.txt' && "
		 "echo 'inside' > '%s/d/f.txt'",
		 tmpdir, workdir, tmpdir, workdir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "mv '%s/d' '%s/d.moved' && ln -s '%s/outside' '%s/d'", workdir,
		 workdir, tmpdir, workdir);
	mock_pre_exec = cmd;
	r = call("grep", "{\"pattern\":\"SECRET|inside\",\"path\":\"d\"}");
	mock_pre_exec = NULL;
	snprintf(want, sizeof(want), "%s/d/f.txt:1:inside\n", workdir);
	assert_string_equal(r->text, want);
	assert_int_equal(r->is_error, 0);
	/* A path that is not there, or not a directory: rg's own words. */
	snprintf(want, sizeof(want), "%s/nothere", workdir);
	r = call("grep", "{\"pattern\":\"x\",\"path\":\"nothere\"}");
	assert_int_equal(r->is_error, 1);
	assert_non_null(strstr(r->text, want));
	assert_non_null(strstr(r->text, "No such file or directory (os error 2)"));
	assert_null(strstr(r->text, "/proc/self"));
	r = call("grep", "{\"pattern\":\"x\",\"path\":\"a.txt/x\"}");
	assert_int_equal(r->is_error, 1);
	assert_non_null(strstr(r->text, "a.txt/x: Not a directory (os error 20)"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/d' '%s/d.moved'", workdir, workdir);
	assert_int_equal(system(cmd), 0);
}

/* An rg inside an allowed root (a memory store the session writes) is not
 * run: grep takes the next one on PATH. */
static void
test_grep_rg_in_allowed_root(void **unused)
{
	char store[PATH_MAX * 2];
	char cmd[PATH_MAX * 8];
	char path_env[PATH_MAX * 4];
	const char *roots[] = { store, NULL };
	const char *path = getenv("PATH");
	char *saved = path ? strdup(path) : NULL;
	struct er_session_info info;
	struct er_tool_call c;
	struct er_error err;
	void *other = NULL;
	int before = mock_nresults;

	snprintf(store, sizeof(store), "%s/store", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/bin' && printf '#!/bin/sh\\necho planted\\n' > '%s/bin/rg' && "
		 "chmod 755 '%s/bin/rg'",
		 store, store, store);
	assert_int_equal(system(cmd), 0);
	snprintf(path_env, sizeof(path_env), "%s/bin:%s", store, saved ? saved : "/usr/bin:/bin");
	setenv("PATH", path_env, 1);
	memset(&info, 0, sizeof(info));
	info.struct_size = sizeof(info);
	info.session_id = "sesn_roots";
	info.workdir = workdir;
	info.allowed_roots = roots;
	assert_int_equal(ops->session_start(state, mock_session(), &info, &other, &err), 0);
	memset(&c, 0, sizeof(c));
	c.struct_size = sizeof(c);
	c.id = "toolu_roots";
	c.name = "grep";
	c.input_json = "{\"pattern\":\"zzz\"}";
	c.input_len = strlen(c.input_json);
	assert_int_equal(ops->tool_call(state, other, &c), 0);
	assert_int_equal(mock_run_until(before + 1, 10000), before + 1);
	assert_string_equal(mock_results[before].text, "no matches");
	ops->session_stop(state, other, ER_STOP_SHUTDOWN);
	ops->session_free(state, other);
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
}

static void
test_grep_walker(void **unused)
{
	char want[PATH_MAX * 4];
	const char *path = getenv("PATH");
	char *saved = path ? strdup(path) : NULL;

	setenv("PATH", "/nonexistent", 1);
	snprintf(want, sizeof(want), "%s/a.txt:2:beta\n%s/a.txt:3:gamma beta", workdir, workdir);
	assert_call("grep", "{\"pattern\":\"b[e]ta\"}", 0, want);
	snprintf(want, sizeof(want), "%s/a.txt:3:gamma beta", workdir);
	assert_call("grep", "{\"pattern\":\"\\\\w+\\\\s+be.*?a$\"}", 0, want);
	assert_call("grep", "{\"pattern\":\"zzz\"}", 0, "no matches");
	assert_call(
		"grep", "{\"pattern\":\"(?=x)\"}", 1,
		"grep: invalid regex: Invalid regular expression: /(?=x)/: lookaround and named "
		"groups are not supported");
	/* JavaScript's "Nothing to repeat"; regcomp() would take gigabytes. */
	assert_call("grep", "{\"pattern\":\"\\\\s+++++++++++++++++++++++++++++++\"}", 1,
		    "grep: invalid regex: Invalid regular expression: "
		    "/\\s+++++++++++++++++++++++++++++++/: Nothing to repeat");
	assert_call("grep", "{\"pattern\":\"*a\"}", 1,
		    "grep: invalid regex: Invalid regular expression: /*a/: Nothing to repeat");
	assert_call("grep", "{\"pattern\":\"((a{100}){100}){100}\"}", 1,
		    "grep: invalid regex: Invalid regular expression: /((a{100}){100}){100}/: "
		    "counted repetition too large");
	/* A count too long for any integer (the parser once stopped on it). */
	assert_call("grep", "{\"pattern\":\"a{8888888888888888889,99999999999999999999}\"}", 1,
		    "grep: invalid regex: Invalid regular expression: "
		    "/a{8888888888888888889,99999999999999999999}/: counted repetition too large");
	/* A brace that is no quantifier is a literal, as in JavaScript. */
	assert_call("grep", "{\"pattern\":\"zz{\"}", 0, "no matches");
	snprintf(want, sizeof(want), "%s/a.txt:3:gamma beta", workdir);
	assert_call("grep", "{\"pattern\":\"(ga|x)m{2}a? be+?\"}", 0, want);
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_bash_basics),
		cmocka_unit_test(test_bash_readonly_locale),
		cmocka_unit_test(test_bash_takes_a_call_in_one_read),
		cmocka_unit_test(test_bash_output_split),
		cmocka_unit_test(test_bash_timeout),
		cmocka_unit_test(test_bash_died),
		cmocka_unit_test(test_bash_wrapper_fails),
		cmocka_unit_test(test_bash_truncation),
		cmocka_unit_test(test_bash_saved_grep_unreachable),
		cmocka_unit_test(test_bash_cancel),
		cmocka_unit_test(test_bash_threads),
		cmocka_unit_test(test_grep_rg),
		cmocka_unit_test(test_grep_rg_swap),
		cmocka_unit_test(test_grep_rg_in_allowed_root),
		cmocka_unit_test(test_grep_walker),
	};

	return cmocka_run_group_tests(tests, setup, teardown) ? 1 : 0;
}
