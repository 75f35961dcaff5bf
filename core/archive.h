/* SPDX-License-Identifier: MIT */
/*
 * The checks a skill archive passes before anything is extracted
 * (docs/protocol.md §12, the SDK's skill setup): pure functions over the listings
 * that `unzip -Z1` / `tar -tf` (names) and `unzip -Z --h --t` / `tar -tvf`
 * (typed, ls-style) print, so that they can be unit-tested apart from the
 * processes that produce them.
 *
 *  - Members are split into plain ones (regular files and directories) and
 *    special ones (links, devices, fifos...), which are excluded from the
 *    extraction; an archive whose listings disagree, or whose special
 *    member cannot be passed back to the tool verbatim, is refused.
 *  - A member with an absolute name or a `..` component is refused.
 *  - The declared sizes of the plain members are summed so that an archive
 *    that would unpack past a bound (a zip bomb) is refused before it is
 *    extracted.  (The SDK has no such bound.)
 *  - A single top-level folder shared by every member is found, to be
 *    stripped.
 *
 * Error messages are the SDK's where it has one.
 */
#ifndef ER_ARCHIVE_H
#define ER_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "strv.h"

enum archive_tool {
	ARCHIVE_UNZIP,
	ARCHIVE_TAR,
};

struct archive_listing {
	struct strv plain;    /* names of regular files and directories */
	struct strv special;  /* names of every other member */
	uint64_t plain_bytes; /* the declared sizes of the plain members, summed */
};

/* "PK\3\4" at the start: a zip, else a tar of any compression. */
int archive_is_zip(const unsigned char *head, size_t n);

/*
 * Pair the two listings and classify the members into `out` (released by
 * archive_listing_release, also after a failure).  0; -EINVAL with the
 * reason in `err` (inconsistent listings, a special member that cannot be
 * excluded verbatim, a plain member whose size cannot be read); -ENOMEM.
 */
int archive_classify(enum archive_tool tool, const char *names, const char *typed,
		     struct archive_listing *out, char *err, size_t errlen);
void archive_listing_release(struct archive_listing *l);

/* Refuse absolute members and members with a `..` component: 0, or
 * -EINVAL with "refusing to extract unsafe archive member: <name>". */
int archive_check_names(const struct strv *names, char *err, size_t errlen);

/* The single top-level directory of the plain members, or "" (flat or
 * several roots).  A new string the caller frees; NULL when out of memory. */
char *archive_top_dir(const struct strv *plain);

/* The exclusion pattern for a special member: `*`, `?`, `[` and `\`
 * escaped with a backslash.  A new string, NULL when out of memory. */
char *archive_exclude_pattern(const char *name);

/* The member lines of a listing: split at '\n', without a trailing empty
 * line.  Fills `out` (borrowed copies).  0 or -ENOMEM. */
int archive_lines(const char *listing, struct strv *out);

#endif
