/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "memory-merge.h"

static bool
same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static struct memory_decision
decide(enum memory_action action, const char *baseline)
{
	return (struct memory_decision){ .action = action, .baseline = baseline };
}

/* Only the file has the path. */
static struct memory_decision
local_only(const struct memory_merge *in)
{
	struct memory_decision d;

	if (in->base && same(in->local, in->base))
		return decide(MEMORY_DELETE_LOCAL, in->base);
	d = decide(in->read_only || same(in->refused, in->local) ? MEMORY_KEEP : MEMORY_PUSH, NULL);
	if (in->base)
		d.conflict = in->read_only	       ? MEMORY_DELETED_REMOTELY_READ_ONLY
			     : d.action == MEMORY_PUSH ? MEMORY_DELETED_REMOTELY_EDITED
						       : MEMORY_NO_CONFLICT;
	return d;
}

struct memory_decision
memory_merge_sync(const struct memory_merge *in)
{
	struct memory_decision d;
	bool remote_changed;
	bool locally_edited;

	if (!in->local && in->base && same(in->remote, in->base) && !in->read_only && !in->restore)
		return decide(MEMORY_DELETE_REMOTE, in->base);
	if (!in->remote) {
		if (!in->local) {
			d = decide(MEMORY_FORGET, NULL);
			d.settled = true;
			return d;
		}
		d = local_only(in);
		d.settled = true;
		return d;
	}
	remote_changed = !same(in->remote, in->base);
	locally_edited = in->local && !same(in->local, in->base) && !same(in->local, in->remote);
	if (!in->local && in->base) {
		if (!remote_changed && !in->restore)
			return decide(MEMORY_KEEP, in->base);
		d = decide(MEMORY_PULL, in->base);
		d.settled = true;
		if (remote_changed)
			d.conflict = MEMORY_DELETED_LOCALLY_CHANGED;
		return d;
	}
	if (remote_changed) {
		if (same(in->local, in->remote))
			d = decide(MEMORY_KEEP, in->remote);
		else
			d = decide(MEMORY_PULL, in->base);
		if (locally_edited)
			d.conflict = MEMORY_BOTH_CHANGED;
	} else if (!in->read_only && locally_edited && !same(in->refused, in->local)) {
		d = decide(MEMORY_PUSH, in->remote);
	} else {
		d = decide(MEMORY_KEEP, in->remote);
	}
	d.settled = in->local != NULL;
	return d;
}

struct memory_decision
memory_merge_flush(const struct memory_merge *in)
{
	struct memory_decision d;

	if (same(in->local, in->base))
		return decide(MEMORY_KEEP, NULL);
	if (same(in->remote, in->local))
		return decide(MEMORY_KEEP, in->remote);
	if (in->remote && !same(in->remote, in->base)) {
		d = decide(MEMORY_KEEP, NULL);
		d.conflict = MEMORY_BOTH_CHANGED;
		return d;
	}
	return decide(MEMORY_PUSH, NULL);
}
