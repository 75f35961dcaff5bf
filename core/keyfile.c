/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#ifdef HAVE_LINUX_XATTR_H
#include <sys/xattr.h>
#endif

#include "keyfile.h"

#define PERM_READ 4
#define PERM_WRITE 2

static int
in_groups(const struct keyfile_ids *ids, gid_t gid)
{
	for (size_t i = 0; i < ids->n_groups; i++)
		if (ids->groups[i] == gid)
			return 1;
	return 0;
}

/* The fix for a file the runner may not read or may not trust. */
#define FIX_FORMS                                                                                  \
	"0600 owned by the runner's user, or 0440 root-owned with the runner's group "             \
	"(Kubernetes: fsGroup), or a systemd credential (LoadCredential=)"

/* Access granted by the ACL entries other than the owner's and others':
 * each must be the runner's (its user, its groups) and read-only. */
static int
check_acl(const struct stat *st, const struct keyfile_acl_entry *acl, size_t n_acl,
	  const struct keyfile_ids *ids, const char *what, const char *path, int *runner_reads,
	  char *err, size_t errlen)
{
	unsigned mask = PERM_READ | PERM_WRITE;

	for (size_t i = 0; i < n_acl; i++)
		if (acl[i].tag == KEYFILE_ACL_MASK)
			mask = acl[i].perm;
	for (size_t i = 0; i < n_acl; i++) {
		unsigned perm = acl[i].perm & mask;
		int ours;

		switch (acl[i].tag) {
		case KEYFILE_ACL_USER:
			ours = acl[i].id == ids->uid;
			break;
		case KEYFILE_ACL_GROUP:
			ours = in_groups(ids, acl[i].id);
			break;
		case KEYFILE_ACL_GROUP_OBJ:
			ours = in_groups(ids, st->st_gid);
			break;
		default:
			continue;
		}
		if (perm & PERM_WRITE) {
			snprintf(err, errlen,
				 "%s '%s' is writable by %s %u through its access control list; "
				 "fix: setfacl -b '%s' and make it " FIX_FORMS,
				 what, path, acl[i].tag == KEYFILE_ACL_USER ? "user" : "group",
				 acl[i].tag == KEYFILE_ACL_GROUP_OBJ ? (unsigned)st->st_gid
								     : (unsigned)acl[i].id,
				 path);
			return EX_CONFIG;
		}
		if (!(perm & PERM_READ))
			continue;
		if (acl[i].tag != KEYFILE_ACL_USER && (st->st_uid != 0 || ids->uid == 0)) {
			snprintf(err, errlen,
				 "%s '%s' is readable by group %u through its access control list; "
				 "fix: setfacl -b '%s'; chmod 600 '%s'",
				 what, path,
				 acl[i].tag == KEYFILE_ACL_GROUP_OBJ ? (unsigned)st->st_gid
								     : (unsigned)acl[i].id,
				 path, path);
			return EX_CONFIG;
		}
		if (!ours) {
			snprintf(err, errlen,
				 "%s '%s' is readable by %s %u, not the runner's, through its "
				 "access "
				 "control list; fix: setfacl -b '%s' and make it " FIX_FORMS,
				 what, path, acl[i].tag == KEYFILE_ACL_USER ? "user" : "group",
				 acl[i].tag == KEYFILE_ACL_GROUP_OBJ ? (unsigned)st->st_gid
								     : (unsigned)acl[i].id,
				 path);
			return EX_CONFIG;
		}
		*runner_reads = 1;
	}
	return 0;
}

int
keyfile_policy(const struct stat *st, const struct keyfile_acl_entry *acl, size_t n_acl,
	       const struct keyfile_ids *ids, const char *what, const char *path, char *err,
	       size_t errlen)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	int runner_reads = 0;
	int r;

	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen,
			 "%s '%s' is not a regular file; fix: give the file that holds the key",
			 what, path);
		return EX_CONFIG;
	}
	if (mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen,
			 "%s '%s' is %s by others (mode %04o); fix: chmod o-rw '%s' (keep "
			 "it " FIX_FORMS ")",
			 what, path, mode & S_IROTH ? "readable" : "writable", mode, path);
		return EX_CONFIG;
	}
	if (st->st_uid != ids->uid && st->st_uid != 0) {
		snprintf(err, errlen,
			 "%s '%s' is owned by uid %u, neither the runner's user (uid %u) nor root; "
			 "fix: chown %u '%s'",
			 what, path, (unsigned)st->st_uid, (unsigned)ids->uid, (unsigned)ids->uid,
			 path);
		return EX_CONFIG;
	}
	if (n_acl) {
		/* The group bits are the ACL's mask: the entries tell who reads. */
		r = check_acl(st, acl, n_acl, ids, what, path, &runner_reads, err, errlen);
		if (r)
			return r;
	} else if (mode & S_IWGRP) {
		snprintf(err, errlen,
			 "%s '%s' is writable by its group (mode %04o); fix: chmod g-w '%s'", what,
			 path, mode, path);
		return EX_CONFIG;
	} else if (mode & S_IRGRP) {
		/* A group may read only a root-owned key given to the runner's
		 * group: elsewhere the owner can make it private. */
		if (st->st_uid != 0 || ids->uid == 0) {
			snprintf(
				err, errlen,
				"%s '%s' is readable by its group (mode %04o); fix: chmod 600 '%s'",
				what, path, mode, path);
			return EX_CONFIG;
		}
		if (!in_groups(ids, st->st_gid)) {
			snprintf(
				err, errlen,
				"%s '%s' is readable by group %u, which the runner (uid %u) is not "
				"in; fix: chgrp it to the runner's group (Kubernetes: fsGroup), or "
				"make it " FIX_FORMS,
				what, path, (unsigned)st->st_gid, (unsigned)ids->uid);
			return EX_CONFIG;
		}
		runner_reads = 1;
	}
	if (st->st_uid == ids->uid)
		runner_reads = mode & S_IRUSR;
	if (!runner_reads) {
		snprintf(
			err, errlen,
			"%s '%s' (owner uid %u, mode %04o) is not readable by the runner (uid %u); "
			"fix: make it " FIX_FORMS,
			what, path, (unsigned)st->st_uid, mode, (unsigned)ids->uid);
		return EX_NOINPUT;
	}
	return 0;
}

/* Linux keeps a file's ACL in an extended attribute: a version word, then
 * entries of tag, permissions and id, little-endian. */
static size_t
read_acl(int fd, struct keyfile_acl_entry *acl)
{
#ifdef HAVE_LINUX_XATTR_H
	unsigned char buf[4 + 8 * KEYFILE_ACL_MAX];
	ssize_t n = fgetxattr(fd, "system.posix_acl_access", buf, sizeof(buf));
	size_t count;

	if (n < 12 || (n - 4) % 8 || buf[0] != 2 || buf[1] || buf[2] || buf[3])
		return 0;
	count = (size_t)(n - 4) / 8;
	for (size_t i = 0; i < count; i++) {
		const unsigned char *e = buf + 4 + 8 * i;

		acl[i].tag = (uint16_t)(e[0] | e[1] << 8);
		acl[i].perm = (uint16_t)(e[2] | e[3] << 8);
		acl[i].id = (uint32_t)e[4] | (uint32_t)e[5] << 8 | (uint32_t)e[6] << 16 |
			    (uint32_t)e[7] << 24;
	}
	return count;
#else
	(void)fd;
	(void)acl;
	return 0;
#endif
}

static int
check(int fd, const struct stat *st, const char *what, const char *path, char *err, size_t errlen)
{
	struct keyfile_acl_entry acl[KEYFILE_ACL_MAX];
	gid_t groups[65];
	struct keyfile_ids ids;
	int n;

	groups[0] = getegid();
	n = getgroups(64, groups + 1);
	ids.uid = geteuid();
	ids.groups = groups;
	ids.n_groups = 1 + (size_t)(n > 0 ? n : 0);
	return keyfile_policy(st, acl, fd >= 0 ? read_acl(fd, acl) : 0, &ids, what, path, err,
			      errlen);
}

int
keyfile_check_fd(int fd, const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat %s '%s': %s", what, path, strerror(errno));
		return EX_NOINPUT;
	}
	return check(fd, &st, what, path, err, errlen);
}

int
keyfile_check_path(const char *path, const char *what, const char *source, char *err, size_t errlen)
{
	struct stat st;
	int fd;
	int r;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen,
			 "cannot read %s '%s': %s; fix: give %s the file that holds the key", what,
			 path, strerror(errno), source);
		return EX_NOINPUT;
	}
	/* O_PATH would do for the ACL, but is Linux-only; an unreadable file
	 * is judged on its mode alone. */
	fd = S_ISREG(st.st_mode) ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) : -1;
	r = check(fd, &st, what, path, err, errlen);
	if (fd >= 0)
		close(fd);
	return r;
}
