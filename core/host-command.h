/* SPDX-License-Identifier: MIT */
/*
 * A program the runner runs on the host for itself (a lifecycle hook, the
 * check of a new binary before an upgrade): in a process group of its own
 * that carries a tracking id, with a time limit, each stderr line logged
 * and the last one kept as the failure message.  When it exits or times
 * out, whatever is left of its process group is killed.
 */
#ifndef ER_HOST_COMMAND_H
#define ER_HOST_COMMAND_H

#include "log.h"
#include "runtime.h"
#include "strv.h"

#define HOST_COMMAND_LINE_MAX 1024

enum host_command_end {
	HOST_COMMAND_OK,      /* exited 0 */
	HOST_COMMAND_FAILED,  /* another status, or a signal */
	HOST_COMMAND_TIMEOUT, /* killed at the time limit */
};

struct host_command_spec {
	char *const *argv;
	struct strv *env; /* the tracking id is added to it */
	const char *cwd;
	int timeout_sec;
	const char *name;      /* in log lines, e.g. "pre-session" */
	const char *component; /* the log lines' component, e.g. "hook" */
	const struct log_ctx *ctx;
};

/* `why` says how it failed (its last stderr line, its status, or the time
 * limit); empty when it succeeded.  Borrowed for the call. */
typedef void (*host_command_done_cb)(void *userdata, enum host_command_end end, const char *why);

struct host_command;

/* 0 when started (`done` follows from the loop), or -errno with `err`
 * saying why (no callback). */
int host_command_start(struct runtime *rt, const struct host_command_spec *spec,
		       host_command_done_cb done, void *userdata, struct host_command **ret,
		       char *err, size_t errlen);
/* Kill it; no callback.  Accepts NULL. */
void host_command_cancel(struct host_command *c);

#endif
