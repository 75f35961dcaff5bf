/* SPDX-License-Identifier: MIT */
/*
 * Small filesystem helpers shared by the skills and memory-store setup and
 * the item records:
 * lexical path resolution as Node's path.resolve does it, recursive removal
 * that never follows a link (by path, or by fd from an open directory),
 * mkdir -p, and a file replaced whole.
 */
#ifndef ER_FSUTIL_H
#define ER_FSUTIL_H

#include <stdbool.h>
#include <sys/types.h>

/* path.resolve(base, p) for POSIX: `p` joined to the absolute `base`
 * unless it is absolute itself, ".", ".." and repeated slashes collapsed,
 * no trailing slash.  A new string, or NULL when out of memory. */
char *fsutil_resolve(const char *base, const char *p);
/* Is `p` `root` itself or below it (names compared exactly)? */
bool fsutil_is_within(const char *root, const char *p);
/* The same with ASCII letter case ignored (the SDK's "folded" check for
 * programs it must stay away from). */
bool fsutil_is_within_folded(const char *root, const char *p);

/* rm -rf without following links; a missing path is fine.  0 or -errno. */
int fsutil_remove_tree(const char *path);
/* The same for the entry `name` of the directory open as `dirfd`, by fd all
 * the way down: a link is removed itself, whatever it points to, and a
 * folder swapped for a link meanwhile is never entered.  0 or -errno. */
int fsutil_remove_tree_at(int dirfd, const char *name);
/* mkdir -p with `mode` for every directory it creates.  0 or -errno. */
int fsutil_mkdir_p(const char *path, mode_t mode);
/* Write `len` bytes to PATH.new (mode 0600) and rename it over `path`, so
 * that a reader finds the whole old content or the whole new one; with
 * `sync`, the file and its directory are on disk before it returns.  0 or
 * -errno. */
int fsutil_replace_file(const char *path, const void *data, size_t len, int sync);

#endif
