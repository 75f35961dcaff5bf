/* SPDX-License-Identifier: MIT */
/*
 * The record of each item this runner serves, kept in its state directory
 * so that the runner started again (after a crash, or re-executed by an
 * upgrade) with the same worker id resumes the item instead of losing it
 * or running one of its calls twice (README.md, "Upgrading and
 * restarting").
 *
 * Per item, in DIR, mode 0600, what resuming needs and nothing more:
 *
 *   <work id>.json     the work item as claimed (its secret included, since
 *                      the sessions token is the item's credential), the API
 *                      and environment it came from, the lease's
 *                      last_heartbeat and the wall-clock time its TTL runs
 *                      out, the session's directory, the calls started and
 *                      the results not yet accepted; replaced whole (a new
 *                      file renamed over it) at the claim and when the log
 *                      below passes 1 MiB
 *   <work id>.calls    what happened since, one JSON line each, appended: a
 *                      heartbeat, a call started, its result, the call over
 *
 * Lines are written, not synced: they survive the runner's death, which
 * its children do not survive either, but not the machine's.  A result is
 * sent as soon as its line is written; one that the API has not accepted
 * within a second is fsync'd (on a thread, in batches: one commit of the
 * file system serves every line written before it).  Syncing first would
 * not keep a call from running twice any better: the call runs again after
 * a machine crash only when neither the API nor the disk holds its result,
 * and the sooner it is sent the sooner the API holds it.
 */
#ifndef ER_JOURNAL_H
#define ER_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "loop.h"

#define JOURNAL_VERSION 1

struct journal_item;

/* What the record says of a call (journal_item_call). */
enum journal_call {
	JOURNAL_CALL_UNKNOWN, /* never started here */
	JOURNAL_CALL_STARTED, /* started, no result kept: its process is gone */
	JOURNAL_CALL_RESULT,  /* its result is kept, maybe not sent */
};

/* Who the item was claimed for; a record of another API, environment or
 * worker is not resumed. */
struct journal_origin {
	const char *api_url;
	const char *environment_id;
	const char *worker_id;
};

/* A new record for the item claimed as `work_json` (secret included),
 * written at once to DIR/<work id>.json.  NULL with `dir` NULL (no state
 * directory: every call below accepts NULL and does nothing), or on
 * failure, which is logged: the item is then served without a record. */
struct journal_item *
journal_item_new(struct loop *loop, const char *dir, const struct journal_origin *origin,
		 const char *work_id, const char *work_json, size_t len);
/* Read the record whose <work id>.json is at `path`, with its calls and
 * results.  -EINVAL (with the reason in `err`) for a record this version
 * cannot read: another version, a damaged file. */
int journal_item_load(struct loop *loop, const char *path, struct journal_item **ret, char *err,
		      size_t errlen);
/* Is the file `name` in `dir` what a removed record or a write cut short
 * left (a calls' log or a result without its <work id>.json, a NAME.new)?
 * Only for the directory of records this runner holds the lock of. */
int journal_is_leftover(const char *dir, const char *name);
/* Forget the record in memory; the files stay (the runner stops, a later
 * start resumes the item).  Accepts NULL. */
void journal_item_free(struct journal_item *ji);
/* The item is released: its files go too.  Accepts NULL. */
void journal_item_remove(struct journal_item *ji);

/* The record's contents, as loaded. */
int journal_item_matches(const struct journal_item *ji, const struct journal_origin *origin);
const char *journal_item_work_id(const struct journal_item *ji);
/* The work item with its secret; parse it as the poll's answer. */
const char *journal_item_work(const struct journal_item *ji, size_t *len);
/* NULL before the first heartbeat succeeded. */
const char *journal_item_last_heartbeat(const struct journal_item *ji);
/* Unix time (ms) at which the lease runs out unless beaten. */
int64_t journal_item_lease_until(const struct journal_item *ji);
const char *journal_item_workdir(const struct journal_item *ji);

/* A heartbeat succeeded: `last` is the value to echo, `ttl_ms` counts
 * from the beat's send, `ago_ms` before now. */
void journal_item_beaten(struct journal_item *ji, const char *last, long ttl_ms, uint64_t ago_ms);
/* The wall clock, Unix ms (what lease_until counts in). */
int64_t journal_now_ms(void);
void journal_item_set_workdir(struct journal_item *ji, const char *dir);

/* A call starts: were the runner to die now, its restart answers the call
 * with an error instead of running it again. */
void journal_item_call_started(struct journal_item *ji, const char *call_id);
/* Keep a call's result until the API accepted it (journal_item_call_over()).
 * Returns 0 when it is kept, 1 when it is not (no record, or writing it
 * failed, which is logged: it is sent all the same, and only a crash before
 * the API accepted it loses it), negative when out of memory. */
int journal_item_result(struct journal_item *ji, const char *call_id, int is_error,
			const char *text, size_t len);
/* The call is over: its result was accepted, or none will be sent. */
void journal_item_call_over(struct journal_item *ji, const char *call_id);
/* What the record says of `call_id`; with a result, *is_error, *text and
 * *len point into the record (valid until the next change). */
enum journal_call journal_item_call(const struct journal_item *ji, const char *call_id,
				    int *is_error, const char **text, size_t *len);

#endif
