/* SPDX-License-Identifier: MIT */
/*
 * Switching to the sandbox's file-system identity and back (fsid.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef HAVE_SETFSUID
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#endif

#include "fsid.h"

#ifdef HAVE_SETFSUID

int
fsid_set(struct fsid *id, uint32_t uid, uint32_t gid)
{
	if (uid == (uint32_t)-1 || gid == (uint32_t)-1)
		return -EINVAL;
	id->active = (uid_t)uid != geteuid() || (gid_t)gid != getegid();
	id->uid = uid;
	id->gid = gid;
	return 0;
}

/* Raise or drop CAP_DAC_READ_SEARCH in the effective set. */
static void
set_read_search(int on)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return;
	if (on)
		data[0].effective |= 1u << CAP_DAC_READ_SEARCH;
	else
		data[0].effective &= ~(1u << CAP_DAC_READ_SEARCH);
	(void)syscall(SYS_capset, &hdr, data);
}

static void
become_sandbox(const struct fsid *id)
{
	setfsgid((gid_t)id->gid);
	setfsuid((uid_t)id->uid);
	set_read_search(1);
}

/* Back to the runner's own ids: for fsuid 0 the kernel restores the file
 * capabilities. */
static void
become_runner(void)
{
	setfsuid(geteuid());
	setfsgid(getegid());
}

int
fsid_enter(struct fsid *id, const char *workdir)
{
	struct stat st;

	/* Only where the sandbox's user owns the session's directory (not a
	 * --workdir that belongs to someone else). */
	if (!id->active || !workdir || stat(workdir, &st) < 0 || st.st_uid != (uid_t)id->uid)
		return 0;
	if (id->depth++ > 0)
		return 1;
	/* Files the executor creates belong to the sandbox's user; it may
	 * still traverse and read the runner's own (0700) directories on the
	 * way to the session's, as before. */
	become_sandbox(id);
	return 1;
}

void
fsid_suspend(struct fsid *id)
{
	if (id->active && id->depth > 0)
		become_runner();
}

void
fsid_resume(struct fsid *id)
{
	if (id->active && id->depth > 0)
		become_sandbox(id);
}

void
fsid_leave(struct fsid *id)
{
	if (!id->active || id->depth == 0 || --id->depth > 0)
		return;
	become_runner();
}

#else /* !HAVE_SETFSUID */

int
fsid_set(struct fsid *id, uint32_t uid, uint32_t gid)
{
	if (uid == (uint32_t)-1 || gid == (uint32_t)-1)
		return -EINVAL;
	if ((uid_t)uid != geteuid() || (gid_t)gid != getegid())
		return -ENOTSUP;
	id->active = 0;
	return 0;
}

int
fsid_enter(struct fsid *id, const char *workdir)
{
	return 0;
}

void
fsid_suspend(struct fsid *id)
{
}

void
fsid_resume(struct fsid *id)
{
}

void
fsid_leave(struct fsid *id)
{
}

#endif
