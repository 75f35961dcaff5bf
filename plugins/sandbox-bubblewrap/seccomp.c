/* SPDX-License-Identifier: MIT */
/*
 * The seccomp program bubblewrap loads (--seccomp FD), written by hand as
 * classic BPF with the kernel's headers.  libseccomp would save a little
 * arithmetic but adds a run-time dependency for about sixty instructions
 * that never change; the program is built once, in create().
 *
 * Policy, on top of what bwrap's namespaces already do:
 *  - the wrong architecture (and x32 on x86-64) is killed;
 *  - socket(AF_UNIX, ...) fails with EPERM: no new unix-socket
 *    connections, to anything (socketpair() stays allowed);
 *  - ioctl TIOCSTI and TIOCLINUX fail with EPERM (terminal injection),
 *    comparing only the low 32 bits the kernel itself uses;
 *  - clone/unshare with CLONE_NEWUSER fail with EPERM, clone3 with ENOSYS
 *    (its flags live in memory BPF cannot read; libc falls back to clone);
 *  - ptrace, process_vm_*, and kernel attack surface a tool never needs
 *    (keyrings, bpf, perf, userfaultfd, io_uring, the mount API, modules,
 *    kexec, setns, ...) fail with EPERM.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "seccomp.h"

#ifndef CLONE_NEWUSER
#define CLONE_NEWUSER 0x10000000
#endif
#define BW_TIOCSTI 0x5412
#define BW_TIOCLINUX 0x541C
#define BW_AF_UNIX 1

#if defined(__x86_64__)
#define BW_AUDIT_ARCH AUDIT_ARCH_X86_64
#define BW_X32_BIT 0x40000000
#elif defined(__aarch64__)
#define BW_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#else
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i) + 4))
#endif

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((e)&SECCOMP_RET_DATA))

struct prog {
	struct sock_filter *f;
	size_t max;
	size_t n;
	int overflow;
};

static void
emit(struct prog *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (p->n == p->max) {
		p->overflow = 1;
		return;
	}
	p->f[p->n].code = code;
	p->f[p->n].jt = jt;
	p->f[p->n].jf = jf;
	p->f[p->n].k = k;
	p->n++;
}

static void
load_nr(struct prog *p)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, nr));
}

/* if (nr == n) return errno e; (A keeps nr) */
static void
deny(struct prog *p, long nr, int e)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)nr);
	emit(p, BPF_RET | BPF_K, 0, 0, RET_ERRNO(e));
}

/* if (nr == n && (arg0 & flag)) return EPERM; reloads nr after. */
static void
deny_flag(struct prog *p, long nr, uint32_t flag)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (uint32_t)nr);
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(0));
	emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 1, flag);
	emit(p, BPF_RET | BPF_K, 0, 0, RET_ERRNO(EPERM));
	emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
}

int
bw_seccomp_supported(void)
{
#ifdef BW_AUDIT_ARCH
	return 1;
#else
	return 0;
#endif
}

int
bw_seccomp_build(struct sock_filter *out, size_t max, size_t *ret_len)
{
#ifdef BW_AUDIT_ARCH
	struct prog p = { out, max, 0, 0 };
	static const long denied[] = {
		__NR_ptrace,
		__NR_process_vm_readv,
		__NR_process_vm_writev,
		__NR_keyctl,
		__NR_add_key,
		__NR_request_key,
		__NR_bpf,
		__NR_perf_event_open,
		__NR_userfaultfd,
		__NR_kexec_load,
#ifdef __NR_kexec_file_load
		__NR_kexec_file_load,
#endif
		__NR_init_module,
		__NR_finit_module,
		__NR_delete_module,
		__NR_open_by_handle_at,
		__NR_mount,
		__NR_umount2,
		__NR_pivot_root,
		__NR_setns,
		__NR_acct,
		__NR_swapon,
		__NR_swapoff,
		__NR_reboot,
		__NR_syslog,
		__NR_quotactl,
#ifdef __NR_move_mount
		__NR_move_mount,
		__NR_fsopen,
		__NR_fsmount,
		__NR_fsconfig,
		__NR_fspick,
		__NR_open_tree,
#endif
#ifdef __NR_mount_setattr
		__NR_mount_setattr,
#endif
#ifdef __NR_io_uring_setup
		__NR_io_uring_setup,
		__NR_io_uring_enter,
		__NR_io_uring_register,
#endif
	};

	emit(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, arch));
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, BW_AUDIT_ARCH);
	emit(&p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
	load_nr(&p);
#ifdef BW_X32_BIT
	emit(&p, BPF_JMP | BPF_JSET | BPF_K, 0, 1, BW_X32_BIT);
	emit(&p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
#endif
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		deny(&p, denied[i], EPERM);
#ifdef __NR_clone3
	deny(&p, __NR_clone3, ENOSYS);
#endif
	/* socket(AF_UNIX, ...) */
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (uint32_t)__NR_socket);
	emit(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(0));
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, BW_AF_UNIX);
	emit(&p, BPF_RET | BPF_K, 0, 0, RET_ERRNO(EPERM));
	emit(&p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	/* ioctl(fd, TIOCSTI or TIOCLINUX): the kernel reads cmd as 32 bits. */
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 5, (uint32_t)__NR_ioctl);
	emit(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(1));
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 2, 0, BW_TIOCSTI);
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, BW_TIOCLINUX);
	emit(&p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	emit(&p, BPF_RET | BPF_K, 0, 0, RET_ERRNO(EPERM));
	/* New user namespaces (bwrap's --disable-userns also stops them). */
	deny_flag(&p, __NR_clone, CLONE_NEWUSER);
	load_nr(&p);
	deny_flag(&p, __NR_unshare, CLONE_NEWUSER);
	emit(&p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	if (p.overflow)
		return -E2BIG;
	*ret_len = p.n;
	return 0;
#else
	return -ENOTSUP;
#endif
}
