// SPDX-License-Identifier: MIT
//
// An out-of-tree executor in C++, built against the installed header alone
// and with hidden visibility, as C++ libraries usually are:
//
//   c++ $(pkg-config --cflags environment-runner-plugin) -fvisibility=hidden
//       -shared -fPIC -o executor-example.so executor-example.cc
//
// It serves one tool, "echo", by running /bin/echo through host->spawn()
// (so inside the selected sandbox) and answering with what it printed.  A
// call of any other tool cannot start: tool_call_err() says why in the
// plugin's own words.  Its log lines go through session_log(), so that they
// carry the session's work_id and session_id.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <environment-runner/plugin.h>

namespace {

struct Plugin {
	const er_host *host;
	void *ctx;
};

struct Session;

// One running "echo" call: the process and its output so far.
struct Call {
	Session *session;
	std::string id;
	er_process *proc = nullptr;
	er_watch *watch = nullptr;
	int out_fd = -1;
	std::string out;
	bool exited = false;
	int status = 0;
};

struct Session {
	Plugin *plugin;
	er_session *handle;
	std::string workdir;
	Call *call = nullptr; // one at a time
};

const er_host *host_of(const Call *c)
{
	return c->session->plugin->host;
}

// Answer once the process is gone and its output is read.
void finish_if_done(Call *c)
{
	if (!c->exited || c->out_fd >= 0)
		return;
	while (!c->out.empty() && c->out.back() == '\n')
		c->out.pop_back();
	int failed = !(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0);
	host_of(c)->tool_result(c->session->handle, c->id.c_str(), failed, c->out.data(),
				c->out.size());
	c->session->call = nullptr;
	delete c;
}

void close_output(Call *c)
{
	if (c->watch)
		host_of(c)->unwatch_fd(c->watch);
	c->watch = nullptr;
	if (c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
}

void on_output(void *userdata, int fd, uint32_t)
{
	Call *c = static_cast<Call *>(userdata);
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		c->out.append(buf, static_cast<size_t>(n));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	close_output(c);
	finish_if_done(c);
}

void process_exited(void *userdata, er_process *, int status)
{
	Call *c = static_cast<Call *>(userdata);

	c->proc = nullptr; // the handle dies with this callback
	c->exited = true;
	c->status = status;
	finish_if_done(c);
}

// Abandon the running call: no result; the process is killed.
void drop_call(Session *s)
{
	Call *c = s->call;

	if (!c)
		return;
	close_output(c);
	if (c->proc)
		s->plugin->host->process_release(c->proc);
	s->call = nullptr;
	delete c;
}

int example_create(const er_host *host, void *ctx, void **ret_state, er_error *err)
{
	if (!ER_HOST_HAS(host, session_log))
		return host->err_set(err, -ENOTSUP, "this runner is older than plugin ABI 1.2");
	*ret_state = new Plugin{ host, ctx };
	return 0;
}

void example_destroy(void *state)
{
	delete static_cast<Plugin *>(state);
}

int example_session_start(void *state, er_session *session, const er_session_info *info,
			  void **ret_sess, er_error *)
{
	Plugin *p = static_cast<Plugin *>(state);

	*ret_sess = new Session{ p, session, info->workdir };
	p->host->session_log(session, ER_LOG_INFO, "example: serving the session in %s",
			     info->workdir);
	return 0;
}

int example_tool_call(void *, void *sess, const er_tool_call *call, er_error *err)
{
	Session *s = static_cast<Session *>(sess);
	const er_host *host = s->plugin->host;

	if (std::strcmp(call->name, "echo") != 0)
		return host->err_set(err, -ENOSYS, "example: the backend of '%s' is down",
				     call->name);
	if (s->call)
		return host->err_set(err, -EBUSY, "example: another call is running");

	std::string input(call->input_json, call->input_len);
	const char *argv[] = { "/bin/echo", "echo:", input.c_str(), nullptr };
	const char *envp[] = { nullptr };
	er_spawn_request req{};
	req.struct_size = sizeof(req);
	req.cmd.struct_size = sizeof(req.cmd);
	req.cmd.argv = argv;
	req.cmd.envp = envp;
	req.cmd.cwd = s->workdir.c_str();
	req.cmd.workdir = s->workdir.c_str();
	req.pipe_stdout = 1;

	Call *c = new Call;
	c->session = s;
	c->id = call->id;
	int r = host->spawn(s->handle, &req, process_exited, c, &c->proc, err);
	if (r < 0) {
		delete c;
		return r;
	}
	c->out_fd = req.stdout_fd;
	s->call = c;
	r = host->watch_fd(s->plugin->ctx, c->out_fd, ER_FD_READ, on_output, c, &c->watch);
	if (r < 0) {
		drop_call(s);
		return host->err_set(err, r, "example: cannot watch the output");
	}
	return 0;
}

void example_tool_cancel(void *, void *sess, const char *)
{
	drop_call(static_cast<Session *>(sess));
}

void example_session_stop(void *, void *sess, uint32_t)
{
	Session *s = static_cast<Session *>(sess);

	drop_call(s);
	s->plugin->host->session_done(s->handle, 0);
}

void example_session_free(void *, void *sess)
{
	Session *s = static_cast<Session *>(sess);

	if (s)
		drop_call(s);
	delete s;
}

// Positional: C++ before C++20 has no designated initializers.
const er_executor_ops example_ops = {
	sizeof(er_executor_ops),
	ER_EXECUTOR_TOOL_CALLS,
	example_session_start,
	nullptr, // tool_call: tool_call_err below serves the calls
	example_tool_cancel,
	nullptr, // session_event
	example_session_stop,
	example_session_free,
	nullptr, // session_history
	nullptr, // thread_stop
	nullptr, // get_flags: `flags` above
	example_tool_call,
};

} // namespace

ER_PLUGIN_DEFINE_FULL(ER_KIND_EXECUTOR, "example", "0.1",
		      "out-of-tree example in C++: an echo tool run in the sandbox", nullptr,
		      ER_ABI_MINOR, 0, example_create, example_destroy, &example_ops);
