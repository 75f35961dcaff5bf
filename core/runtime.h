/* SPDX-License-Identifier: MIT */
/*
 * What every part of a running runner shares: the loop, the API client, the
 * process supervisor, the plugins and the credentials.  Owned by runner.c.
 */
#ifndef ER_RUNTIME_H
#define ER_RUNTIME_H

#include <environment-runner/plugin.h>

#include "api.h"
#include "fsid.h"
#include "loader.h"
#include "loop.h"
#include "settings.h"
#include "process.h"

struct session;

/* A plugin's host_ctx: who is calling. */
struct host_plugin {
	struct runtime *rt;
	const char *name;
};

struct runtime {
	const struct settings *settings;
	struct loop *loop;
	struct api *api;
	struct spawner *spawner;
	struct plugin *sandbox;
	struct plugin *executor;
	struct host_plugin sandbox_host;
	struct host_plugin executor_host;
	char *environment_key; /* never logged */
	char *worker_id;
	/* Where each item's record is kept (journal.h); NULL: nowhere. */
	const char *items_dir;
	/* A session has ended and released its item (called from the loop). */
	void (*session_finished)(struct runtime *rt, struct session *s);
	/* The sandbox's ids when they differ from the runner's (ABI 1.1
	 * set_sandbox_identity): session directories belong to them and tool
	 * calls run with them as file-system identity. */
	struct fsid sandbox_fs;
};

#endif
