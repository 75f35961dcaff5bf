/* SPDX-License-Identifier: MIT */
/*
 * Who may read and write a file that holds a credential (the service key,
 * the inference key, run-item's work secret).  Accepted:
 *  - a file of the runner's user that no one else may read or write (0600,
 *    0400);
 *  - a root-owned file that the runner reads through its group and that
 *    no one else may read or write (0440 root:<a group of the runner>): a
 *    Kubernetes Secret volume with fsGroup;
 *  - a root-owned file that the runner reads through an access control
 *    list entry for its user alone (0400 + user:<runner>:r): a systemd
 *    credential.
 * Refused, with the fix in the message: a file that others may read or
 * write, that its group may write, that a group other than the runner's
 * may read, that belongs to a third user, or that the runner cannot read.
 */
#ifndef ER_KEYFILE_H
#define ER_KEYFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The identity the runner reads with. */
struct keyfile_ids {
	uid_t uid;
	const gid_t *groups; /* the effective gid and the supplementary ones */
	size_t n_groups;
};

/* One entry of a POSIX access control list, as Linux stores it. */
enum keyfile_acl_tag {
	KEYFILE_ACL_USER_OBJ = 0x01,
	KEYFILE_ACL_USER = 0x02,
	KEYFILE_ACL_GROUP_OBJ = 0x04,
	KEYFILE_ACL_GROUP = 0x08,
	KEYFILE_ACL_MASK = 0x10,
	KEYFILE_ACL_OTHER = 0x20,
};
struct keyfile_acl_entry {
	uint16_t tag;
	uint16_t perm; /* 4 read, 2 write, 1 execute */
	uint32_t id;
};
#define KEYFILE_ACL_MAX 32

/*
 * The policy above for a file with status `st` and access control list
 * `acl` (n_acl 0: none).  `what` names the file in messages ("service key
 * file").  Returns 0, EX_CONFIG (unsafe) or EX_NOINPUT (the runner cannot
 * read it), with one line naming the fix in `err`.
 */
int keyfile_policy(const struct stat *st, const struct keyfile_acl_entry *acl, size_t n_acl,
		   const struct keyfile_ids *ids, const char *what, const char *path, char *err,
		   size_t errlen);

/* The policy for an open file, or for a path (stat() follows links), as
 * the runner's effective identity.  Same returns.  `source` names where
 * the path came from ("--service-key-file") for a file that is missing. */
int keyfile_check_fd(int fd, const char *what, const char *path, char *err, size_t errlen);
int keyfile_check_path(const char *path, const char *what, const char *source, char *err,
		       size_t errlen);

#endif
