/* SPDX-License-Identifier: MIT */
/*
 * er-sandbox-landlock: the first program of every command the landlock
 * backend runs.  The runner has already applied the command's ids,
 * rlimits and cgroup; this confines the process itself, then executes the
 * command in its place (same pid, same process group):
 *
 *   er-sandbox-landlock [--ro PATH]... [--rw PATH]... [--dev PATH]...
 *       [--deny PATH]... [--net none|host] [--abi N] [--seccomp FD]
 *       -- COMMAND [ARGS...]
 *
 *  1. A Landlock ruleset with every right the kernel's ABI (or ABI N, if
 *     older) knows handled:
 *     --ro trees may be listed, read and executed, --rw trees get every
 *     right, --dev files reading, writing and ioctls; nothing else of the
 *     file system is reachable.  A --deny path stays unreachable even
 *     inside a --ro or --rw tree: Landlock only grants, so the tree holding
 *     it is granted entry by entry instead, down to the denied path (and
 *     links that lead to a denied path are left out).  With --net none,
 *     TCP bind and connect are handled with no port allowed (ABI 4), and
 *     signals and abstract unix sockets are scoped to the sandbox (ABI 6).
 *  2. no_new_privs, then the ruleset is enforced.
 *  3. Two seccomp programs: the shared one read from --seccomp FD
 *     (sandbox-bubblewrap/seccomp.c), and this backend's own: setsid and
 *     setpgid fail (a process cannot leave the process group the runner
 *     kills, since there is no pid namespace to do it), and with --net
 *     none so does socket() for every family but AF_UNIX (which the shared
 *     program already refuses): no network at all.
 *  4. The command is executed, found on the PATH of the environment the
 *     runner set.
 *
 * A failure before the exec prints one line and exits 125; nothing runs
 * unconfined.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "sandbox-common/policy.h"
#include "sandbox-landlock/landlock.h"

#define EXIT_SETUP 125
#define MAX_PATHS 256
#define MAX_PROG 1024

#if defined(__x86_64__)
#define LL_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define LL_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG0_LO ((uint32_t)offsetof(struct seccomp_data, args))
#else
#define ARG0_LO ((uint32_t)offsetof(struct seccomp_data, args) + 4)
#endif

/* What a rule may grant on something that is not a directory. */
#define FILE_RIGHTS                                                                                \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                              \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define DEV_RIGHTS                                                                                 \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |                            \
	 LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

struct paths {
	const char *v[MAX_PATHS];
	size_t n;
};

struct confine {
	struct paths ro;
	struct paths rw;
	struct paths dev;
	struct paths deny; /* resolved where they exist */
	int net_none;
	int seccomp_fd;
	int max_abi;
	int abi;
	uint64_t handled_fs;
	int ruleset;
};

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fputs("er-sandbox-landlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_SETUP);
}

static void
push(struct paths *p, const char *path)
{
	if (path[0] != '/')
		fail("'%s' is not an absolute path", path);
	if (p->n == MAX_PATHS)
		fail("more than %d paths", MAX_PATHS);
	p->v[p->n++] = path;
}

/* Is `path` a denied path or inside one? */
static int
is_denied(const struct confine *c, const char *path)
{
	for (size_t i = 0; i < c->deny.n; i++)
		if (sb_path_under(path, c->deny.v[i]))
			return 1;
	return 0;
}

/* Is a denied path strictly inside the tree `dir`? */
static int
holds_denied(const struct confine *c, const char *dir)
{
	for (size_t i = 0; i < c->deny.n; i++)
		if (strcmp(c->deny.v[i], dir) != 0 && sb_path_under(c->deny.v[i], dir))
			return 1;
	return 0;
}

static void
add_rule(struct confine *c, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr rule;
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return; /* gone meanwhile: nothing to grant */
	if (fstat(fd, &st) < 0)
		fail("cannot stat '%s': %s", path, strerror(errno));
	access &= c->handled_fs;
	if (!S_ISDIR(st.st_mode))
		access &= FILE_RIGHTS;
	rule.allowed_access = access;
	rule.parent_fd = fd;
	if (access &&
	    syscall(SYS_landlock_add_rule, c->ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
		fail("cannot grant '%s': %s", path, strerror(errno));
	close(fd);
}

/*
 * Grant `access` on the tree at `path`, except the denied paths in it: a
 * tree that holds one is granted entry by entry.  Links are followed, and
 * one that leads to, or around, a denied path is left out.  A directory
 * that cannot be listed is left out whole.
 */
static void
allow(struct confine *c, const char *path, uint64_t access)
{
	char real[PATH_MAX];
	DIR *d;
	struct dirent *de;

	if (!realpath(path, real) || is_denied(c, real))
		return;
	if (!holds_denied(c, real)) {
		add_rule(c, real, access);
		return;
	}
	d = opendir(real);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char child[PATH_MAX];
		char target[PATH_MAX];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", strcmp(real, "/") ? real : "",
				     de->d_name) >= sizeof(child) ||
		    lstat(child, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			if (realpath(child, target) && !is_denied(c, target) &&
			    !holds_denied(c, target))
				add_rule(c, target, access);
		} else if (S_ISDIR(st.st_mode)) {
			allow(c, child, access);
		} else if (!is_denied(c, child)) {
			add_rule(c, child, access);
		}
	}
	closedir(d);
}

static void
build_ruleset(struct confine *c)
{
	struct ll_ruleset_attr attr = { 0 };
	size_t size = LL_SIZE_ABI1;

	c->handled_fs = ll_handled_fs(c->abi);
	attr.handled_access_fs = c->handled_fs;
	if (c->abi >= 4) {
		size = LL_SIZE_ABI4;
		if (c->net_none)
			attr.handled_access_net =
				LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
	}
	if (c->abi >= 6) {
		size = LL_SIZE_ABI6;
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
	}
	c->ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (c->ruleset < 0)
		fail("cannot create a Landlock ruleset: %s", strerror(errno));
	for (size_t i = 0; i < c->ro.n; i++)
		allow(c, c->ro.v[i], LL_FS_READ);
	for (size_t i = 0; i < c->rw.n; i++)
		allow(c, c->rw.v[i], c->handled_fs);
	for (size_t i = 0; i < c->dev.n; i++)
		allow(c, c->dev.v[i], DEV_RIGHTS);
}

static void
load_filter(struct sock_filter *f, size_t n)
{
	struct sock_fprog prog = { (unsigned short)n, f };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		fail("cannot load a seccomp program: %s", strerror(errno));
}

/* The shared program, as bubblewrap's --seccomp reads it. */
static void
load_shared_filter(int fd)
{
	static struct sock_filter f[MAX_PROG];
	size_t got = 0;
	ssize_t n;

	while ((n = read(fd, (char *)f + got, sizeof(f) - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (n < 0 || got == 0 || got % sizeof(f[0]))
		fail("cannot read the seccomp program");
	load_filter(f, got / sizeof(f[0]));
}

#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e)&SECCOMP_RET_DATA))

/* This backend's own program: see step 3 above. */
static void
load_own_filter(int net_none)
{
#ifdef LL_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LL_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setsid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setpgid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM)),
		/* With no network: socket(family != AF_UNIX) fails. */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, ERRNO(EPERM)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	size_t n = sizeof(f) / sizeof(f[0]);

	if (!net_none) {
		/* Drop the socket rule: end after setpgid's. */
		f[8] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		n = 9;
	}
	load_filter(f, n);
#else
	fail("no seccomp program for this architecture");
#endif
}

static int
number_arg(const char *opt, const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > INT_MAX)
		fail("%s takes a number from %ld, not '%s'", opt, min, s);
	return (int)v;
}

static int
parse(struct confine *c, int argc, char **argv)
{
	static char resolved[MAX_PATHS][PATH_MAX];
	int i;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "--") == 0)
			return i + 1;
		if (!val)
			fail("%s needs a value", opt);
		i++;
		if (strcmp(opt, "--ro") == 0) {
			push(&c->ro, val);
		} else if (strcmp(opt, "--rw") == 0) {
			push(&c->rw, val);
		} else if (strcmp(opt, "--dev") == 0) {
			push(&c->dev, val);
		} else if (strcmp(opt, "--deny") == 0) {
			/* Compared with resolved paths: resolve it too. */
			push(&c->deny,
			     realpath(val, resolved[c->deny.n]) ? resolved[c->deny.n] : val);
		} else if (strcmp(opt, "--net") == 0) {
			if (strcmp(val, "none") != 0 && strcmp(val, "host") != 0)
				fail("--net takes none or host, not '%s'", val);
			c->net_none = strcmp(val, "none") == 0;
		} else if (strcmp(opt, "--abi") == 0) {
			c->max_abi = number_arg(opt, val, LL_MIN_ABI);
		} else if (strcmp(opt, "--seccomp") == 0) {
			c->seccomp_fd = number_arg(opt, val, 3);
		} else {
			fail("unknown option '%s'", opt);
		}
	}
	fail("no command after --");
}

int
main(int argc, char **argv)
{
	struct confine c;
	int cmd;

	memset(&c, 0, sizeof(c));
	c.seccomp_fd = -1;
	cmd = parse(&c, argc, argv);
	if (cmd >= argc)
		fail("no command after --");
	c.abi = ll_abi();
	if (c.max_abi && c.abi > c.max_abi)
		c.abi = c.max_abi;
	if (c.abi < LL_MIN_ABI)
		fail("Landlock ABI %d or later is needed: %s", LL_MIN_ABI,
		     c.abi < 0 ? strerror(-c.abi) : "this kernel has an older one");
	build_ruleset(&c);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("cannot set no_new_privs: %s", strerror(errno));
	if (syscall(SYS_landlock_restrict_self, c.ruleset, 0) < 0)
		fail("cannot enforce the Landlock ruleset: %s", strerror(errno));
	close(c.ruleset);
	if (c.seccomp_fd >= 0)
		load_shared_filter(c.seccomp_fd);
	load_own_filter(c.net_none);
	/* Like bwrap's --die-with-parent. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	execvp(argv[cmd], argv + cmd);
	fprintf(stderr, "er-sandbox-landlock: cannot run '%s': %s\n", argv[cmd], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
