/* SPDX-License-Identifier: MIT */
/*
 * Landlock, as the landlock backend and its helper use it: the system
 * calls (libc has no wrappers), the access rights of every ABI (older
 * kernel headers lack the newer ones; the values are the kernel's stable
 * ABI), and which of them a given ABI version handles.
 */
#ifndef ER_LL_LANDLOCK_H
#define ER_LL_LANDLOCK_H

#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* struct landlock_ruleset_attr as of ABI 6; older kernels take a prefix
 * of it (the size passed says which members exist). */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};

#define LL_SIZE_ABI1 (sizeof(uint64_t))
#define LL_SIZE_ABI4 (2 * sizeof(uint64_t))
#define LL_SIZE_ABI6 (3 * sizeof(uint64_t))

/* Reading a tree: list it, read its files, run its programs. */
#define LL_FS_READ                                                                                 \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

/* Oldest ABI this backend runs on: ABI 1 refuses every rename or link
 * across directories, which breaks ordinary tools (mv, git). */
#define LL_MIN_ABI 2

/* File system rights handled (refused unless a rule grants them) by ABI `abi`. */
static inline uint64_t
ll_handled_fs(int abi)
{
	uint64_t fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0 to 12 */

	if (abi >= 2)
		fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return fs;
}

/* The kernel's Landlock ABI version, or -errno (-ENOSYS: no Landlock in
 * this kernel; -EOPNOTSUPP: built in but not enabled at boot). */
static inline int
ll_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? -errno : (int)v;
}

#endif
