/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif
#include <sys/wait.h>
#include <unistd.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif
#ifdef HAVE_SETFSUID
#include <sys/fsuid.h>
#endif

#include "cgroup.h"
#include "proc-cgroup.h"
#include "procfs.h"
#include "process.h"
#include "rand.h"

extern char **environ;

struct proc {
	struct proc_group *group;
	struct proc *next; /* in the group */
	pid_t pid;
	int reaped;
	int released;
	proc_exit_cb on_exit;
	void *userdata;
};

struct proc_group {
	struct spawner *sp;
	struct proc_group *next;
	struct proc *procs;
	char tracking_id[40];
	char *cgroup;	      /* its own cgroup, made at its first command */
	char *cgroup_join;    /* its cgroup_join_file(), for the child */
	int hands_off;	      /* no cgroup: see proc_group_hand_off() */
	int freed;	      /* kept until its processes are reaped */
	int in_exit_callback; /* one of its exit callbacks is running */
	void (*on_empty)(void *userdata);
	void *on_empty_data;
};

struct spawner {
	struct loop *loop;
	struct proc_group *groups;
	/* Orphans of our sessions become our children, and the kernel lists a
	 * process's children (/proc/PID/task/TID/children): escaped processes
	 * are searched among our descendants only. */
	int tree_search;
	/* The groups' own cgroups, or NULL where none can be made. */
	struct proc_cgroups *cgroups;
};

/* ASan does not follow a vfork()ed child. */
#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_VFORK 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPAWN_VFORK 0
#endif
#endif
#ifndef SPAWN_VFORK
#define SPAWN_VFORK 1
#endif

static void reap_children(void *userdata, int signo);

struct spawner *
spawner_new(struct loop *loop)
{
	struct spawner *sp = calloc(1, sizeof(*sp));

	if (!sp)
		return NULL;
	sp->loop = loop;
#if defined(HAVE_SYS_PRCTL_H) && HAVE_DECL_PR_SET_CHILD_SUBREAPER
	/* Orphans of our sessions become our children, so we can reap them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)getpid(),
			 (int)getpid());
		sp->tree_search = access(path, R_OK) == 0;
	}
#endif
	if (loop_on_signal(loop, SIGCHLD, reap_children, sp) < 0) {
		free(sp);
		return NULL;
	}
	if (proc_cgroups_open(&sp->cgroups) < 0)
		sp->cgroups = NULL;
	return sp;
}

static void
group_destroy(struct proc_group *g)
{
	struct proc_group **pp;

	for (pp = &g->sp->groups; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	while (g->procs) {
		struct proc *p = g->procs;

		g->procs = p->next;
		free(p);
	}
	if (g->cgroup)
		proc_cgroup_remove(g->sp->cgroups, g->cgroup);
	free(g->cgroup);
	free(g->cgroup_join);
	free(g);
}

void
spawner_free(struct spawner *sp)
{
	if (!sp)
		return;
	while (sp->groups)
		group_destroy(sp->groups);
	proc_cgroups_close(sp->cgroups);
	free(sp);
}

struct proc_group *
proc_group_new(struct spawner *sp)
{
	struct proc_group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->sp = sp;
	if (rand_uuid(g->tracking_id) < 0) {
		free(g);
		return NULL;
	}
	g->next = sp->groups;
	sp->groups = g;
	return g;
}

void
proc_group_hand_off(struct proc_group *g)
{
	g->hands_off = 1;
}

const char *
proc_group_tracking_id(const struct proc_group *g)
{
	return g->tracking_id;
}

int
proc_group_live(const struct proc_group *g)
{
	int n = 0;

	for (const struct proc *p = g->procs; p; p = p->next)
		n += !p->reaped;
	return n;
}

void
proc_group_on_empty(struct proc_group *g, void (*cb)(void *userdata), void *userdata)
{
	g->on_empty = cb;
	g->on_empty_data = userdata;
}

/* The tracking id /proc/PID/environ holds, copied into `id` (truncated to
 * its size): 1, 0 when it holds none, -1 when it reads empty or is not
 * ours to read.  Linux only. */
static int
tracking_id_of(pid_t pid, char *id, size_t idlen)
{
	static const char var[] = SPAWN_TRACKING_VAR "=";
	char buf[65536];
	ssize_t n = procfs_read(pid, "environ", buf, sizeof(buf));

	if (n <= 0)
		return -1;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
		if (strncmp(buf + i, var, sizeof(var) - 1) == 0) {
			snprintf(id, idlen, "%s", buf + i + sizeof(var) - 1);
			return 1;
		}
	}
	return 0;
}

/* The pid of each process of /proc, but init and this one. */
static pid_t
next_pid(DIR *d)
{
	struct dirent *de;

	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (!*end && pid > 1 && pid != (long)getpid())
			return (pid_t)pid;
	}
	return 0;
}

/* Signal (or just count, sig 0) every process carrying the tracking id. */
static int
signal_tracked(const char *tracking_id, int sig)
{
	char id[64];
	DIR *d;
	pid_t pid;
	int n = 0;

	d = opendir("/proc");
	if (!d)
		return 0;
	while ((pid = next_pid(d))) {
		if (tracking_id_of(pid, id, sizeof(id)) > 0 && strcmp(id, tracking_id) == 0) {
			n++;
			if (sig)
				kill(pid, sig);
		}
	}
	closedir(d);
	return n;
}

/* A growing list of pids. */
struct pids {
	pid_t *v;
	size_t n;
	size_t alloc;
};

/* Bound on a search: pids reused while it runs cannot make it loop. */
#define PIDS_MAX 1000000

static int
pids_add(struct pids *l, pid_t pid)
{
	if (l->n == l->alloc) {
		size_t alloc = l->alloc ? l->alloc * 2 : 64;
		pid_t *v;

		if (alloc > PIDS_MAX)
			return -E2BIG;
		v = realloc(l->v, alloc * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->alloc = alloc;
	}
	l->v[l->n++] = pid;
	return 0;
}

static int
add_pid(pid_t pid, void *list)
{
	return pids_add(list, pid);
}

/* Append the children of every thread of `pid`; a process gone meanwhile
 * has none. */
static int
pids_add_children(struct pids *l, pid_t pid)
{
	char path[96];
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/children", (int)pid, de->d_name);
		r = procfs_each_pid(path, add_pid, l);
		if (r < 0 && r != -ENOMEM && r != -E2BIG)
			r = 0; /* the thread is gone */
	}
	closedir(d);
	return r;
}

/* Append the descendants of l->v[from...], breadth first. */
static int
pids_add_descendants(struct pids *l, size_t from)
{
	int r = 0;

	for (size_t i = from; i < l->n && r == 0; i++)
		r = pids_add_children(l, l->v[i]);
	return r;
}

static int
pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a;
	pid_t y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* The parent of `pid`, or 0. */
static pid_t
parent_of(pid_t pid)
{
	struct procfs_stat st;

	return procfs_stat(pid, &st) == 0 ? st.ppid : 0;
}

/* Bound on the re-reads of an environment that a process replaces. */
#define EXEC_WINDOW_TRIES 1000

/* Is `pid` in the middle of execve()?  Its arguments, as its environment,
 * read empty until the new image has set them up. */
static int
is_exec_window(pid_t pid)
{
	char c[2];

	return procfs_read(pid, "cmdline", c, sizeof(c)) == 0 && !procfs_is_dead(pid);
}

/* Does orphan `pid` carry `tracking_id`?  A process caught in the middle
 * of execve() is read again until its new image shows its environment, so
 * that a process that is exec'ing as the session ends is not missed. */
static int
orphan_is_tracked(pid_t pid, const char *tracking_id)
{
	char id[64];
	int r;

	for (int i = 0; i < EXEC_WINDOW_TRIES; i++) {
		r = tracking_id_of(pid, id, sizeof(id));
		if (r >= 0)
			return r > 0 && strcmp(id, tracking_id) == 0;
		if (!is_exec_window(pid))
			return 0;
		sched_yield();
	}
	return 0;
}

/* Collect the group's processes and every process that left its process
 * groups (setsid, setpgid).  Each descends from us, their subreaper: from
 * a process of the group, and then it is the session's whatever its
 * environment says, or, orphaned, from us directly, and then its tracking
 * id tells whose it is.  So only those subtrees are searched, not every
 * process of the host: at thousands of sessions that was thousands of
 * environments read for each session that ended, on the event loop. */
static int
collect_session_tree(struct proc_group *g, struct pids *found)
{
	struct pids known = { 0 };
	size_t first_orphan;
	size_t keep;
	int r = 0;

	/* The group's subtrees before our children: a process orphaned
	 * between the two reads is found in the second. */
	for (struct proc *p = g->procs; p && r == 0; p = p->next) {
		if (!p->reaped)
			r = pids_add(found, p->pid);
	}
	if (r == 0)
		r = pids_add_descendants(found, 0);
	first_orphan = found->n;
	if (r == 0)
		r = pids_add_children(found, getpid());
	/* Our children that are some group's processes are that group's. */
	for (struct proc_group *o = g->sp->groups; o && r == 0; o = o->next) {
		for (struct proc *p = o->procs; p && r == 0; p = p->next) {
			if (!p->reaped)
				r = pids_add(&known, p->pid);
		}
	}
	if (r == 0) {
		qsort(known.v, known.n, sizeof(*known.v), pid_cmp);
		keep = first_orphan;
		for (size_t i = first_orphan; i < found->n; i++) {
			if ((!known.n ||
			     !bsearch(&found->v[i], known.v, known.n, sizeof(*known.v), pid_cmp)) &&
			    orphan_is_tracked(found->v[i], g->tracking_id))
				found->v[keep++] = found->v[i];
		}
		found->n = keep;
		r = pids_add_descendants(found, first_orphan);
	}
	free(known.v);
	return r;
}

/* Bound on the passes that stop what the last one found. */
#define FREEZE_PASSES 16

/* SIGKILL every process of the group, those that left its process groups
 * included.  Each is stopped first and the tree searched again until no
 * new process shows: a process killed while its children are being listed
 * would orphan them, and one that cleared its environment would then be
 * no one's. */
static void
kill_session_tree(struct proc_group *g)
{
	struct pids stopped = { 0 };
	int r = 0;

	for (int pass = 0; pass < FREEZE_PASSES && r == 0; pass++) {
		struct pids found = { 0 };
		size_t before = stopped.n;

		r = collect_session_tree(g, &found);
		qsort(stopped.v, stopped.n, sizeof(*stopped.v), pid_cmp);
		for (size_t i = 0; i < found.n && r == 0; i++) {
			if (before &&
			    bsearch(&found.v[i], stopped.v, before, sizeof(*stopped.v), pid_cmp))
				continue;
			kill(found.v[i], SIGSTOP);
			r = pids_add(&stopped, found.v[i]);
		}
		free(found.v);
		if (stopped.n == before)
			break;
	}
	for (size_t i = 0; i < stopped.n; i++)
		kill(stopped.v[i], SIGKILL);
	if (r < 0)
		signal_tracked(g->tracking_id, SIGKILL);
	free(stopped.v);
}

static int
is_ancestor(pid_t pid)
{
	for (pid_t p = parent_of(getpid()); p > 1; p = parent_of(p))
		if (p == pid)
			return 1;
	return 0;
}

/* Is the working directory of `pid` `dir` or below it? */
static int
works_within(pid_t pid, const char *dir)
{
	char path[64];
	char cwd[PATH_MAX];
	size_t len = strlen(dir);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
	n = readlink(path, cwd, sizeof(cwd) - 1);
	if (n < 0)
		return 0;
	cwd[n] = '\0';
	return strncmp(cwd, dir, len) == 0 && (cwd[len] == '\0' || cwd[len] == '/');
}

int
spawn_kill_left_behind(const char *dir)
{
	char real[PATH_MAX];
	char id[64];
	DIR *d;
	pid_t pid;
	int n = 0;

	if (!realpath(dir, real))
		return 0;
	d = opendir("/proc");
	if (!d)
		return 0;
	while ((pid = next_pid(d))) {
		if (tracking_id_of(pid, id, sizeof(id)) > 0 && works_within(pid, real) &&
		    !is_ancestor(pid) && kill(pid, SIGKILL) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int
spawner_sweep_stale(struct spawner *sp)
{
	return sp->cgroups ? proc_cgroups_sweep_stale(sp->cgroups) : 0;
}

const char *
spawner_cgroup_dir(const struct spawner *sp)
{
	return sp->cgroups ? proc_cgroups_dir(sp->cgroups) : NULL;
}

int
spawner_finds_every_process(const struct spawner *sp)
{
	return sp->tree_search || sp->cgroups;
}

int
spawn_count_tracked(const char *tracking_id)
{
	return signal_tracked(tracking_id, 0);
}

int
proc_kill(struct proc *p, int sig)
{
	if (p->reaped)
		return -ESRCH;
	/* The group first (its leader is p), then p itself in case it left it. */
	if (kill(-p->pid, sig) < 0 && kill(p->pid, sig) < 0)
		return -errno;
	return 0;
}

void
proc_group_kill(struct proc_group *g)
{
	/* Stopped, the groups fork no more while their tree is searched. */
	for (struct proc *p = g->procs; p; p = p->next) {
		if (!p->reaped)
			kill(-p->pid, g->sp->tree_search ? SIGSTOP : SIGKILL);
	}
	/* Processes that called setsid() or setpgid() escaped the groups. */
	if (g->sp->tree_search)
		kill_session_tree(g);
	else
		signal_tracked(g->tracking_id, SIGKILL);
	for (struct proc *p = g->procs; p; p = p->next) {
		if (!p->reaped)
			kill(-p->pid, SIGKILL);
	}
	/* And whatever is left in its cgroup, which no process can leave. */
	if (g->cgroup)
		cgroup_kill_all(g->cgroup);
}

void
proc_group_free(struct proc_group *g)
{
	if (!g)
		return;
	proc_group_kill(g);
	for (struct proc *p = g->procs; p; p = p->next)
		p->released = 1;
	/* Inside one of its exit callbacks, reap_children() destroys it. */
	if (proc_group_live(g) == 0 && !g->in_exit_callback)
		group_destroy(g);
	else
		g->freed = 1;
}

void
proc_release(struct proc *p)
{
	if (!p)
		return;
	if (!p->reaped)
		kill(-p->pid, SIGKILL);
	p->released = 1;
}

pid_t
proc_pid(const struct proc *p)
{
	return p->pid;
}

static struct proc *
find_proc(struct spawner *sp, pid_t pid)
{
	for (struct proc_group *g = sp->groups; g; g = g->next) {
		for (struct proc *p = g->procs; p; p = p->next) {
			if (p->pid == pid && !p->reaped)
				return p;
		}
	}
	return NULL;
}

static void
reap_children(void *userdata, int signo)
{
	struct spawner *sp = userdata;
	int status;
	pid_t pid;

	/* Also reaps re-parented orphans, which nobody waits for. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct proc *p = find_proc(sp, pid);
		struct proc_group *g;

		if (!p)
			continue;
		p->reaped = 1;
		g = p->group;
		g->in_exit_callback = 1;
		if (!p->released && p->on_exit)
			p->on_exit(p->userdata, p, status);
		if (!g->freed && g->on_empty && proc_group_live(g) == 0)
			g->on_empty(g->on_empty_data);
		g->in_exit_callback = 0;
		if (g->freed && proc_group_live(g) == 0)
			group_destroy(g);
	}
}

static int
make_pipe(int fds[2], int parent_end)
{
#ifdef HAVE_PIPE2
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
#else
	if (pipe(fds) < 0)
		return -errno;
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
	fcntl(fds[parent_end], F_SETFL, fcntl(fds[parent_end], F_GETFL) | O_NONBLOCK);
	return 0;
}

static int
is_passed(const struct spawn_spec *spec, int fd)
{
	for (int i = 0; i < spec->n_pass_fds; i++) {
		if (spec->pass_fds[i] == fd)
			return 1;
	}
	return 0;
}

/* Close every fd from 3 up except the passed ones and the error pipe.  With
 * close_range(2) that is a few calls instead of one per possible fd. */
static void
close_inherited(const struct spawn_spec *spec, int errpipe, int maxfd)
{
	int lo = 3;

	for (int fd = 3; fd < maxfd; fd++) {
		if (fd != errpipe && !is_passed(spec, fd))
			continue;
#ifdef HAVE_CLOSE_RANGE
		if (fd > lo)
			close_range((unsigned)lo, (unsigned)fd - 1, 0);
#else
		for (int c = lo; c < fd; c++)
			close(c);
#endif
		lo = fd + 1;
	}
#ifdef HAVE_CLOSE_RANGE
	if (close_range((unsigned)lo, ~0u, 0) == 0)
		return;
#endif
	for (int c = lo; c < maxfd; c++)
		close(c);
}

/* The program execvp() would run for `name` (PATH from `envp`, else
 * /bin:/usr/bin) into `out`: 0, or an errno. */
static int
find_program(const char *name, char *const *envp, char *out, size_t len)
{
	const char *path = "/bin:/usr/bin";
	int err = ENOENT;

	if (strchr(name, '/')) {
		if (strlen(name) >= len)
			return ENAMETOOLONG;
		memcpy(out, name, strlen(name) + 1);
		return access(out, X_OK) == 0 ? 0 : errno;
	}
	for (char *const *e = envp; *e; e++) {
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	}
	for (;;) {
		size_t dlen = strcspn(path, ":");

		/* An empty entry is the working directory. */
		if (dlen + 1 + strlen(name) < len) {
			memcpy(out, dlen ? path : ".", dlen ? dlen : 1);
			out[dlen ? dlen : 1] = '/';
			memcpy(out + (dlen ? dlen : 1) + 1, name, strlen(name) + 1);
			if (access(out, X_OK) == 0)
				return 0;
			if (errno == EACCES)
				err = EACCES;
		}
		if (!path[dlen])
			break;
		path += dlen + 1;
	}
	return err;
}

/* Join the group's cgroup and exec.  On cgroup v2 the move can wait for a
 * grace period of the kernel's (about 10 ms, see cgroup_join_file()), so
 * the runner does not wait for it: it hears from here that the command
 * starts, once the program is found, and an exec that fails after that
 * ends the child with status 127.  Not being in the cgroup costs only that
 * the group's end does not find the command there, so it stops nothing. */
static void __attribute__((noreturn))
exec_in_group_cgroup(const struct spawn_spec *spec, const char *group_cgroup_join, int errpipe)
{
	char prog[PATH_MAX];
	int err = find_program(spec->argv[0], (char *const *)spec->envp, prog, sizeof(prog));

	(void)!write(errpipe, &err, sizeof(err));
	if (err)
		_exit(127);
	close(errpipe);
	(void)cgroup_join(group_cgroup_join);
	execve(prog, spec->argv, (char *const *)spec->envp);
	_exit(127);
}

/* Credentials of the child alone: glibc's set*id() in a process it knows
 * to be threaded changes every thread's, which in a vfork()ed child are
 * the runner's. */
static int
child_set_ids(gid_t gid, uid_t uid)
{
#ifdef __linux__
/* 32-bit ids where the plain calls take 16 bits (i386, arm). */
#ifdef SYS_setresuid32
	if (syscall(SYS_setgroups32, 0, NULL) < 0 || syscall(SYS_setresgid32, gid, gid, gid) < 0 ||
	    syscall(SYS_setresuid32, uid, uid, uid) < 0)
		return -1;
#else
	if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, gid, gid, gid) < 0 ||
	    syscall(SYS_setresuid, uid, uid, uid) < 0)
		return -1;
#endif
	return 0;
#else
	/* Groups first, while we may still change them. */
	return setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0 ? -1 : 0;
#endif
}

/* In the child, after fork or vfork: only async-signal-safe calls from
 * here on, and none that writes the runner's memory (after vfork the child
 * shares it): no environ, no malloc, no glibc set*id(). */
static void __attribute__((noreturn))
child_exec(const struct spawn_spec *spec, const char *group_cgroup_join, int group_join_early,
	   int pipes[3][2], int errpipe, pid_t runner_pid)
{
	char prog[PATH_MAX];
	sigset_t none;
	int devnull;
	int err;
	long maxfd;

	setsid();
#if defined(HAVE_SYS_PRCTL_H) && defined(PR_SET_PDEATHSIG)
	/* A runner killed outright takes its direct children along; the
	 * session's own processes are otherwise swept by the tracking id. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != runner_pid)
		_exit(127);
#else
	(void)runner_pid;
#endif
	/* Every signal is blocked (the parent's doing): the runner's handlers
	 * go before any can run. */
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	devnull = open("/dev/null", O_RDWR);
	for (int i = 0; i < 3; i++) {
		int fd = pipes[i][0] >= 0 ? pipes[i][i == 0 ? 0 : 1] : devnull;

		if (fd < 0 || dup2(fd, i) < 0)
			goto fail;
	}
	for (int i = 0; i < spec->n_pass_fds; i++) {
		int fl = fcntl(spec->pass_fds[i], F_GETFD);

		if (fl < 0 || fcntl(spec->pass_fds[i], F_SETFD, fl & ~FD_CLOEXEC) < 0)
			goto fail;
	}
	/* libcurl's sockets are not all close-on-exec: close what is not ours. */
	maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	close_inherited(spec, errpipe, (int)maxfd);
	if (spec->cwd && chdir(spec->cwd) < 0)
		goto fail;
#ifdef HAVE_SETFSUID
	/* The parent may have been acting with the sandbox's file identity. */
	setfsuid(geteuid());
	setfsgid(getegid());
#endif
	if (spec->cgroup_join && (err = cgroup_join(spec->cgroup_join)) < 0) {
		errno = -err;
		goto fail;
	}
	for (int i = 0; i < spec->n_rlimits; i++) {
		struct rlimit rl = { spec->rlimits[i].soft, spec->rlimits[i].hard };

		if (setrlimit(spec->rlimits[i].resource, &rl) < 0)
			goto fail;
	}
	if (spec->set_ids) {
		if (child_set_ids(spec->gid, spec->uid) < 0)
			goto fail;
		if (getuid() != spec->uid || geteuid() != spec->uid || getgid() != spec->gid) {
			errno = EPERM;
			goto fail;
		}
#if defined(HAVE_SYS_PRCTL_H) && defined(PR_SET_PDEATHSIG)
		/* Changing credentials cleared the parent-death signal: again. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != runner_pid)
			_exit(127);
#endif
	}
	if (group_cgroup_join && group_join_early)
		exec_in_group_cgroup(spec, group_cgroup_join, errpipe);
	if (group_cgroup_join)
		(void)cgroup_join(group_cgroup_join);
	err = find_program(spec->argv[0], (char *const *)spec->envp, prog, sizeof(prog));
	if (err) {
		errno = err;
		goto fail;
	}
	execve(prog, spec->argv, (char *const *)spec->envp);
fail:
	err = errno;
	(void)!write(errpipe, &err, sizeof(err));
	_exit(127);
}

/* vfork() copies no page tables, which fork() does for the whole runner
 * and exec then tears down, and the runner waits for the exec anyway.  A
 * child that moves into a cgroup slowly tells the runner first that it
 * starts, which needs a runner that runs on: fork().  (A function of its
 * own, so that no local of the caller lives across vfork().) */
static pid_t __attribute__((noinline))
start_child(const struct spawn_spec *spec, const char *group_join, int join_early, int pipes[3][2],
	    int errpipe, pid_t runner_pid)
{
	pid_t pid;

#if SPAWN_VFORK
	pid = join_early ? fork() : vfork();
#else
	pid = fork();
#endif
	if (pid == 0)
		child_exec(spec, group_join, join_early, pipes, errpipe, runner_pid);
	return pid;
}

/* The group's own cgroup, made for its first command that the backend
 * places in none.  Where it cannot be made, the group goes without. */
static void
group_cgroup_prepare(struct proc_group *g)
{
	char dir[PATH_MAX];

	if (g->cgroup || g->hands_off || !g->sp->cgroups ||
	    proc_cgroup_make(g->sp->cgroups, g->tracking_id, dir, sizeof(dir)) < 0)
		return;
	g->cgroup = strdup(dir);
	g->cgroup_join = cgroup_join_file(dir);
	if (!g->cgroup || !g->cgroup_join) {
		free(g->cgroup);
		free(g->cgroup_join);
		g->cgroup = g->cgroup_join = NULL;
		rmdir(dir);
	}
}

int
proc_spawn(struct proc_group *g, const struct spawn_spec *spec, proc_exit_cb on_exit,
	   void *userdata, int ret_fds[3], struct proc **ret_proc, char *errbuf, size_t errlen)
{
	int pipes[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	const int want[3] = { spec->pipe_stdin, spec->pipe_stdout, spec->pipe_stderr };
	int errpipe[2] = { -1, -1 };
	struct proc *p;
	const char *group_join;
	sigset_t all, saved;
	int join_early;
	pid_t runner_pid;
	pid_t pid;
	int child_errno = 0;
	ssize_t n;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (int i = 0; i < 3; i++) {
		if (want[i] && (r = make_pipe(pipes[i], i == 0 ? 1 : 0)) < 0)
			goto fail;
	}
	if ((r = make_pipe(errpipe, 0)) < 0)
		goto fail;
	fcntl(errpipe[0], F_SETFL, fcntl(errpipe[0], F_GETFL) & ~O_NONBLOCK);

	if (!spec->cgroup_join)
		group_cgroup_prepare(g);
	group_join = spec->cgroup_join ? NULL : g->cgroup_join;
	join_early = group_join && cgroup_join_is_slow(group_join);
	runner_pid = getpid();
	/* The child resets the runner's handlers before it takes a signal. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	pid = start_child(spec, group_join, join_early, pipes, errpipe[1], runner_pid);
	r = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (r < 0)
		goto fail;

	close(errpipe[1]);
	errpipe[1] = -1;
	/* EOF at exec (close-on-exec), the child's errno, or 0 from a child that
	 * execs once in its group's cgroup (exec_in_group_cgroup()). */
	do
		n = read(errpipe[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	errpipe[0] = -1;

	p->group = g;
	p->pid = pid;
	p->on_exit = on_exit;
	p->userdata = userdata;
	p->next = g->procs;
	g->procs = p;
	for (int i = 0; i < 3; i++) {
		int parent = i == 0 ? 1 : 0;

		if (pipes[i][0] >= 0)
			close(pipes[i][1 - parent]);
		ret_fds[i] = pipes[i][0] >= 0 ? pipes[i][parent] : -1;
	}
	if (n == (ssize_t)sizeof(child_errno) && child_errno) {
		/* Reaped later by SIGCHLD; the caller gets no exit callback. */
		p->released = 1;
		for (int i = 0; i < 3; i++) {
			if (ret_fds[i] >= 0)
				close(ret_fds[i]);
			ret_fds[i] = -1;
		}
		snprintf(errbuf, errlen, "cannot run '%s': %s", spec->argv[0],
			 strerror(child_errno));
		return -child_errno;
	}
	if (ret_proc)
		*ret_proc = p;
	return 0;
fail:
	for (int i = 0; i < 3; i++) {
		if (pipes[i][0] >= 0) {
			close(pipes[i][0]);
			close(pipes[i][1]);
		}
	}
	if (errpipe[0] >= 0) {
		close(errpipe[0]);
		close(errpipe[1]);
	}
	free(p);
	snprintf(errbuf, errlen, "cannot start '%s': %s", spec->argv[0], strerror(-r));
	return r;
}
