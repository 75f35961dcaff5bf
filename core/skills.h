/* SPDX-License-Identifier: MIT */
/*
 * The session agent's skills, unpacked into <workdir>/skills/<name>/ before
 * the executor starts (docs/protocol.md §12, the SDK's setupSkills).
 *
 * Done in the core, not in an executor: the downloads need the API client
 * and the item's sessions token, which plugins never see, and every
 * executor gets the same skills this way.
 *
 * For each `agent.skills[i]` = {skill_id, version}, one after the other:
 * GET /v1/skills/{id}/versions/{version} (`latest` included) for the
 * version's id and name; GET .../versions/{version_id}/content with
 * `Accept: application/binary` and no anthropic-beta, streamed to a file in
 * an owner-only staging folder beside the destination; then `unzip` or `tar`
 * (any compression tar understands) lists the archive twice (names, typed),
 * the listings are checked (archive.h), the archive is extracted into the
 * staging folder without its special members, the staged tree is verified to
 * hold only regular files and directories, modes are normalised (dirs 0700,
 * files 0755 with any x bit, else 0644), a single top-level folder is
 * stripped and the entries are renamed into the destination.  A skill that
 * fails is logged and skipped; the session goes on.
 *
 * Everything slow runs on the loop: the downloads through the API client,
 * the archive tools as child processes (found only on PATH entries outside
 * the workdir, with an environment that carries no credential, bounded in
 * output and time).  Unlike the SDK, an archive larger than `max_bytes`, or
 * one that declares or unpacks to more than that, is refused (zip bombs);
 * extraction is watched and killed once the staging folder grows past it.
 */
#ifndef ER_SKILLS_H
#define ER_SKILLS_H

#include <stdint.h>

#include "api.h"
#include "log.h"
#include "loop.h"
#include "process.h"

struct skills;

struct skills_options {
	const char *workdir;	   /* absolute */
	const char *token;	   /* the item's credential; never logged */
	const struct log_ctx *ctx; /* borrowed for the instance's life */
	uint64_t max_bytes;	   /* archive size and unpacked size bound */
};

typedef void (*skills_done_cb)(void *userdata);

/* Start with the session object (raw JSON of GET /v1/sessions/{id}).
 * `done` runs once, from the loop, after every skill was handled.  NULL
 * when out of memory. */
struct skills *
skills_start(struct loop *loop, struct api *api, struct spawner *sp, const char *session_json,
	     const struct skills_options *o, skills_done_cb done, void *userdata);
/* Stop a download or extraction in progress; `done` is not called. */
void skills_cancel(struct skills *sk);
/* Remove the skill folders this instance created (at the session's end). */
void skills_cleanup(struct skills *sk);
/* Cancels, does not clean up.  Accepts NULL. */
void skills_free(struct skills *sk);

#endif
