/* SPDX-License-Identifier: MIT */
/*
 * The pattern language of the SDK's glob tool, which hands the pattern to
 * Node 22's fs.glob (minimatch underneath, with backslashes read as slashes
 * and no negation or comments): brace expansion, then one matcher per path
 * segment.
 */
#ifndef TOOLSET_GLOB_MATCH_H
#define TOOLSET_GLOB_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#define GLOB_MAX_EXPANSIONS 4096

/* Expand braces as the brace-expansion package does: `{a,b}` alternatives
 * (nested), `{1..10}`, `{01..10..2}` and `{a..e}` sequences; a brace pair
 * without a comma or a sequence stays literal.  Calls `fn` for each
 * expansion in order; stops early when `fn` returns non-zero and returns
 * that value.  -E2BIG past GLOB_MAX_EXPANSIONS, -ENOMEM. */
int glob_brace_expand(const char *pattern, int (*fn)(void *ud, const char *s), void *ud);

/* Does the segment use wildcards (`*`, `?` or a complete `[...]` class)?
 * A segment that does not is compared as a plain string. */
bool glob_seg_is_magic(const char *seg);

/* minimatch's test of one path segment against one name, without the dot
 * rule (the caller applies it). `?` and classes match one code point. */
bool glob_seg_match(const char *seg, const char *name);

#endif
