/* SPDX-License-Identifier: MIT */
/*
 * The memory stores' per-path decisions, one row per case: which side
 * changed since the last sync decides what moves, and what the path's
 * baseline becomes.  Hashes are short stand-ins ("a", "b", "c"); only their
 * equality matters.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "memory-merge.h"

#define NONE NULL

struct row {
	const char *local, *remote, *base, *refused;
	bool read_only, restore;
	enum memory_action action;
	enum memory_conflict conflict;
	const char *baseline;
	bool settled;
};

static const char *
action_name(enum memory_action a)
{
	static const char *const names[] = { "keep", "forget",	      "pull",
					     "push", "delete-remote", "delete-local" };

	return (size_t)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

static void
check_row(const char *what, const struct row *r, struct memory_decision d)
{
	if (d.action != r->action)
		fail_msg("%s: local=%s remote=%s base=%s: %s, want %s", what,
			 r->local ? r->local : "-", r->remote ? r->remote : "-",
			 r->base ? r->base : "-", action_name(d.action), action_name(r->action));
	if (d.conflict != r->conflict)
		fail_msg("%s: local=%s remote=%s base=%s: conflict %d, want %d", what,
			 r->local ? r->local : "-", r->remote ? r->remote : "-",
			 r->base ? r->base : "-", (int)d.conflict, (int)r->conflict);
	if (!r->baseline)
		assert_null(d.baseline);
	else if (!d.baseline || strcmp(d.baseline, r->baseline) != 0)
		fail_msg("%s: local=%s remote=%s base=%s: baseline %s, want %s", what,
			 r->local ? r->local : "-", r->remote ? r->remote : "-",
			 r->base ? r->base : "-", d.baseline ? d.baseline : "none", r->baseline);
	if (d.settled != r->settled)
		fail_msg("%s: local=%s remote=%s base=%s: settled %d, want %d", what,
			 r->local ? r->local : "-", r->remote ? r->remote : "-",
			 r->base ? r->base : "-", d.settled, r->settled);
}

static struct memory_merge
input(const struct row *r)
{
	return (struct memory_merge){ .local = r->local,
				      .remote = r->remote,
				      .base = r->base,
				      .refused = r->refused,
				      .read_only = r->read_only,
				      .restore = r->restore };
}

/* Read-write store: every combination of the three sides. */
static void
test_sync_three_way(void **state)
{
	static const struct row rows[] = {
		/* local  remote base   refused ro  restore  -> action conflict baseline settled */
		/* Unchanged everywhere. */
		{ "a", "a", "a", NONE, false, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, "a", true },
		/* Edited here only: pushed as an update, the remote kept if it fails. */
		{ "b", "a", "a", NONE, false, false, MEMORY_PUSH, MEMORY_NO_CONFLICT, "a", true },
		/* Changed remotely only: pulled, the old baseline kept until it lands. */
		{ "a", "b", "a", NONE, false, false, MEMORY_PULL, MEMORY_NO_CONFLICT, "a", true },
		/* Both changed, differently: the server wins. */
		{ "b", "c", "a", NONE, false, false, MEMORY_PULL, MEMORY_BOTH_CHANGED, "a", true },
		/* Both changed to the same bytes: adopted, nothing moves. */
		{ "b", "b", "a", NONE, false, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, "b", true },
		/* New on both sides, the same / different bytes. */
		{ "a", "a", NONE, NONE, false, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, "a", true },
		{ "a", "b", NONE, NONE, false, false, MEMORY_PULL, MEMORY_BOTH_CHANGED, NONE,
		  true },
		/* New here: created. */
		{ "a", NONE, NONE, NONE, false, false, MEMORY_PUSH, MEMORY_NO_CONFLICT, NONE,
		  true },
		/* New remotely: pulled. */
		{ NONE, "a", NONE, NONE, false, false, MEMORY_PULL, MEMORY_NO_CONFLICT, NONE,
		  false },
		/* Deleted here, unchanged remotely: a remote delete (corroborated). */
		{ NONE, "a", "a", NONE, false, false, MEMORY_DELETE_REMOTE, MEMORY_NO_CONFLICT, "a",
		  false },
		/* Deleted here, changed remotely: pulled back. */
		{ NONE, "b", "a", NONE, false, false, MEMORY_PULL, MEMORY_DELETED_LOCALLY_CHANGED,
		  "a", true },
		/* Deleted remotely, unchanged here: the file is removed. */
		{ "a", NONE, "a", NONE, false, false, MEMORY_DELETE_LOCAL, MEMORY_NO_CONFLICT, "a",
		  true },
		/* Deleted remotely, edited here: created again from the file. */
		{ "b", NONE, "a", NONE, false, false, MEMORY_PUSH, MEMORY_DELETED_REMOTELY_EDITED,
		  NONE, true },
		/* Gone from both sides: forgotten. */
		{ NONE, NONE, "a", NONE, false, false, MEMORY_FORGET, MEMORY_NO_CONFLICT, NONE,
		  true },
		{ NONE, NONE, NONE, NONE, false, false, MEMORY_FORGET, MEMORY_NO_CONFLICT, NONE,
		  true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct memory_merge in = input(&rows[i]);

		check_row("sync", &rows[i], memory_merge_sync(&in));
	}
}

/* A content the server refused is not sent again until it changes. */
static void
test_sync_refused(void **state)
{
	static const struct row rows[] = {
		{ "b", "a", "a", "b", false, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, "a", true },
		{ "c", "a", "a", "b", false, false, MEMORY_PUSH, MEMORY_NO_CONFLICT, "a", true },
		{ "b", NONE, NONE, "b", false, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, NONE, true },
		/* Deleted remotely, edited here, refused: kept quietly. */
		{ "b", NONE, "a", "b", false, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, NONE, true },
		/* A refusal does not stop a remote change from landing. */
		{ "b", "c", "a", "b", false, false, MEMORY_PULL, MEMORY_BOTH_CHANGED, "a", true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct memory_merge in = input(&rows[i]);

		check_row("refused", &rows[i], memory_merge_sync(&in));
	}
}

/* A read-only store never pushes nor deletes remotely; it still pulls. */
static void
test_sync_read_only(void **state)
{
	static const struct row rows[] = {
		{ "b", "a", "a", NONE, true, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, "a", true },
		{ "a", NONE, NONE, NONE, true, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, NONE, true },
		{ NONE, "a", "a", NONE, true, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, "a", false },
		{ "a", "b", "a", NONE, true, false, MEMORY_PULL, MEMORY_NO_CONFLICT, "a", true },
		{ "b", "c", "a", NONE, true, false, MEMORY_PULL, MEMORY_BOTH_CHANGED, "a", true },
		{ "b", NONE, "a", NONE, true, false, MEMORY_KEEP, MEMORY_DELETED_REMOTELY_READ_ONLY,
		  NONE, true },
		/* Deleted remotely, unchanged here: removed, read-only or not. */
		{ "a", NONE, "a", NONE, true, false, MEMORY_DELETE_LOCAL, MEMORY_NO_CONFLICT, "a",
		  true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct memory_merge in = input(&rows[i]);

		check_row("read-only", &rows[i], memory_merge_sync(&in));
	}
}

/* A file a stopped call left missing is pulled again, never deleted. */
static void
test_sync_restore(void **state)
{
	static const struct row rows[] = {
		{ NONE, "a", "a", NONE, false, true, MEMORY_PULL, MEMORY_NO_CONFLICT, "a", true },
		{ NONE, "b", "a", NONE, false, true, MEMORY_PULL, MEMORY_DELETED_LOCALLY_CHANGED,
		  "a", true },
		/* Back on disk: decided as any other file. */
		{ "a", "a", "a", NONE, false, true, MEMORY_KEEP, MEMORY_NO_CONFLICT, "a", true },
		{ "b", "a", "a", NONE, false, true, MEMORY_PUSH, MEMORY_NO_CONFLICT, "a", true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct memory_merge in = input(&rows[i]);

		check_row("restore", &rows[i], memory_merge_sync(&in));
	}
}

/* The flush pushes what changed here and leaves everything else. */
static void
test_flush(void **state)
{
	static const struct row rows[] = {
		{ "a", "a", "a", NONE, false, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, NONE, false },
		{ "b", "a", "a", NONE, false, false, MEMORY_PUSH, MEMORY_NO_CONFLICT, NONE, false },
		{ "a", NONE, NONE, NONE, false, false, MEMORY_PUSH, MEMORY_NO_CONFLICT, NONE,
		  false },
		/* Already on the server (an unanswered upload): adopted. */
		{ "b", "b", "a", NONE, false, false, MEMORY_KEEP, MEMORY_NO_CONFLICT, "b", false },
		/* Changed on both sides: the server's version stays. */
		{ "b", "c", "a", NONE, false, false, MEMORY_KEEP, MEMORY_BOTH_CHANGED, NONE,
		  false },
		{ "b", "c", NONE, NONE, false, false, MEMORY_KEEP, MEMORY_BOTH_CHANGED, NONE,
		  false },
		/* Deleted remotely since the last sync: created again. */
		{ "b", NONE, "a", NONE, false, false, MEMORY_PUSH, MEMORY_NO_CONFLICT, NONE,
		  false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct memory_merge in = input(&rows[i]);

		check_row("flush", &rows[i], memory_merge_flush(&in));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_three_way), cmocka_unit_test(test_sync_refused),
		cmocka_unit_test(test_sync_read_only), cmocka_unit_test(test_sync_restore),
		cmocka_unit_test(test_flush),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
