/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's file-system identity (ABI 1.1 set_sandbox_identity).  When
 * a sandbox runs as another user than the runner, session directories
 * belong to that user and an executor's entry points act as it, so that
 * what they create stays usable inside the sandbox.  The one place that
 * knows how the platform switches identity (setfsuid(2) on Linux; nothing
 * elsewhere, where set_sandbox_identity is refused).
 */
#ifndef ER_FSID_H
#define ER_FSID_H

#include <stdint.h>

struct fsid {
	int active; /* the sandbox's ids differ from the runner's */
	uint32_t uid;
	uint32_t gid;
	int depth; /* nesting of fsid_enter */
};

/* Record the sandbox's ids: 0 (ids equal to the runner's leave `id`
 * inactive), -EINVAL for (uint32_t)-1, -ENOTSUP where the platform cannot
 * switch the file-system identity. */
int fsid_set(struct fsid *id, uint32_t uid, uint32_t gid);

/* Act as the sandbox's user on the file system: 1 when entered (call
 * fsid_leave after), 0 when there is nothing to do (inactive, or `workdir`
 * not owned by the sandbox's user).  They nest.  fsid_suspend and
 * fsid_resume bracket work that must act as the runner itself (wrap and
 * spawn). */
int fsid_enter(struct fsid *id, const char *workdir);
void fsid_leave(struct fsid *id);
void fsid_suspend(struct fsid *id);
void fsid_resume(struct fsid *id);

#endif
