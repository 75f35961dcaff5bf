/* SPDX-License-Identifier: MIT */
/*
 * er-pod: run a program the way a Kubernetes pod with the restricted
 * security settings runs its container, on an ordinary Linux host (run as
 * root; tests/pod/runner.sh puts it in front of the runner):
 *
 *   er-pod --uid U --gid G [--fs-group G] [--rw DIR]... -- PROGRAM [ARGS...]
 *
 *  - a mount namespace of its own whose file systems are all read-only
 *    (readOnlyRootFilesystem), but /proc, /dev and each --rw DIR (an
 *    emptyDir);
 *  - runAsUser U, runAsGroup G, fsGroup as the one supplementary group;
 *  - every capability dropped (the bounding and ambient sets too:
 *    capabilities: drop: [ALL]) and no_new_privs
 *    (allowPrivilegeEscalation: false);
 *  - a seccomp filter that refuses, as the runtimes' default profiles do
 *    without CAP_SYS_ADMIN, every new namespace (unshare, setns, clone with
 *    a CLONE_NEW* flag, clone3 as ENOSYS so that libc falls back to clone)
 *    and the mount calls.
 * It then checks that the program will really run with no capability and
 * execs it.  Any failure before that exits 125.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define MAX_RW 16

#if defined(__x86_64__)
#define POD_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define POD_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG0_LO ((uint32_t)offsetof(struct seccomp_data, args))
#else
#define ARG0_LO ((uint32_t)offsetof(struct seccomp_data, args) + 4)
#endif

/* <linux/mount.h> clashes with <sys/mount.h> in some glibc versions. */
struct pod_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};
#define POD_MOUNT_ATTR_RDONLY 0x00000001
#define POD_AT_RECURSIVE 0x8000

#define NEW_NAMESPACES                                                                             \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
	 CLONE_NEWCGROUP)

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "er-pod: %s: %s\n", what, strerror(errno));
	exit(125);
}

static void
set_readonly(const char *path, int recursive, int readonly)
{
	struct pod_mount_attr attr = { 0 };

	if (readonly)
		attr.attr_set = POD_MOUNT_ATTR_RDONLY;
	else
		attr.attr_clr = POD_MOUNT_ATTR_RDONLY;
	if (syscall(SYS_mount_setattr, -100 /* AT_FDCWD */, path, recursive ? POD_AT_RECURSIVE : 0,
		    &attr, sizeof(attr)) < 0)
		die(path);
}

static void
load_seccomp(void)
{
#ifdef POD_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, POD_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setns, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mount, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_umount2, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 4),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NEW_NAMESPACES, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		die("seccomp");
#else
	errno = ENOTSUP;
	die("seccomp for this architecture");
#endif
}

static unsigned long
number(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v >= 0xffffffffUL) {
		fprintf(stderr, "er-pod: '%s' is not a non-root id\n", s);
		exit(125);
	}
	return v;
}

int
main(int argc, char **argv)
{
	const char *rw[MAX_RW];
	size_t n_rw = 0;
	unsigned long uid = 0, gid = 0, fs_group = 0;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2];
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
		if (i + 1 >= argc)
			break;
		if (strcmp(argv[i], "--uid") == 0)
			uid = number(argv[i + 1]);
		else if (strcmp(argv[i], "--gid") == 0)
			gid = number(argv[i + 1]);
		else if (strcmp(argv[i], "--fs-group") == 0)
			fs_group = number(argv[i + 1]);
		else if (strcmp(argv[i], "--rw") == 0 && n_rw < MAX_RW)
			rw[n_rw++] = argv[i + 1];
		else
			break;
	}
	if (i + 1 >= argc || strcmp(argv[i], "--") != 0 || !uid || !gid) {
		fprintf(stderr, "usage: er-pod --uid U --gid G [--fs-group G] [--rw DIR]... -- "
				"PROGRAM [ARGS...]\n");
		return 125;
	}

	/* readOnlyRootFilesystem, with emptyDirs. */
	if (unshare(CLONE_NEWNS) < 0)
		die("unshare");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("mount --make-rprivate /");
	for (size_t k = 0; k < n_rw; k++)
		if (mount(rw[k], rw[k], NULL, MS_BIND | MS_REC, NULL) < 0)
			die(rw[k]);
	set_readonly("/", 1, 1);
	set_readonly("/proc", 0, 0);
	set_readonly("/dev", 1, 0);
	for (size_t k = 0; k < n_rw; k++)
		set_readonly(rw[k], 1, 0);

	/* runAsUser, runAsGroup, fsGroup; capabilities: drop: [ALL]. */
	if (setgroups(fs_group ? 1 : 0, (gid_t[]){ (gid_t)fs_group }) < 0)
		die("setgroups");
	if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0)
		die("setresgid");
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			die("PR_CAPBSET_DROP");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		die("PR_CAP_AMBIENT_CLEAR_ALL");
	if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
		die("setresuid");
	if (syscall(SYS_capget, &hdr, caps) < 0)
		die("capget");
	if (caps[0].permitted || caps[1].permitted || caps[0].inheritable || caps[1].inheritable) {
		errno = EPERM;
		die("capabilities left after the switch of user");
	}

	/* allowPrivilegeEscalation: false; the runtime's default profile. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("no_new_privs");
	load_seccomp();
	execv(argv[i + 1], argv + i + 1);
	die(argv[i + 1]);
}
