/* SPDX-License-Identifier: MIT */
/*
 * Path confinement of the toolset's file tools (docs/protocol.md §14, the SDK's
 * confineToRoot).
 *
 * A path is resolved against the canonical workdir (absolute paths are
 * allowed), `..` is collapsed lexically, then every symlink is resolved,
 * including a dangling leaf, at most 40 hops.  The result must be the
 * workdir or inside it; the tool then operates on that canonical path.
 *
 * The canonical path is computed with realpath(3), lstat(2) and readlink(2)
 * exactly as the SDK does, so both runners accept and refuse the same paths.
 * Unlike the SDK, the file operations that follow never re-resolve the path
 * from the top: confine_open_parent() opens the parent directory beneath the
 * workdir's descriptor refusing any symlink (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS where the kernel has it, else a component-by-component
 * openat(O_NOFOLLOW) walk), and the leaf is then used relative to that
 * descriptor with O_NOFOLLOW.  A component swapped for a symlink after the
 * check makes the operation fail with ELOOP instead of escaping.
 */
#ifndef TOOLSET_CONFINE_H
#define TOOLSET_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

#define CONFINE_MAX_HOPS 40

struct confine_root {
	char *path; /* canonical, no trailing slash except for "/" */
	size_t len;
	int fd;	   /* the directory, O_CLOEXEC; -1 when not open */
	dev_t dev; /* the directory opened first: opened again, */
	ino_t ino; /* it must still be that one */
};

/* Canonicalize `workdir` and open it.  0 or -errno. */
int confine_root_init(struct confine_root *root, const char *workdir);
/* Accepts a zeroed or released root. */
void confine_root_release(struct confine_root *root);
/* Close the directory's descriptor, keeping its path (a session between
 * calls holds no descriptor of it); confine_root_open() opens it again by
 * that canonical path, following no link at its end, and refuses with
 * -ESTALE a directory that is not the one first opened there: 0 or
 * -errno. */
void confine_root_close(struct confine_root *root);
int confine_root_open(struct confine_root *root);

/* Node's path.resolve(base, p) for POSIX: join unless `p` is absolute, then
 * collapse ".", ".." and repeated slashes lexically, no trailing slash.
 * `base` must be absolute.  Caller frees *ret.  0 or -ENOMEM. */
int path_resolve(const char *base, const char *p, char **ret);

/* The SDK's canonicalize(): a symlink-free absolute path for the absolute,
 * normalised `abs`, whose tail may not exist yet.  Caller frees *ret.
 * 0 or -errno (-ELOOP after 40 hops). */
int confine_canonicalize(const char *abs, char **ret);

/* Is `p` the root itself or below it (names compared exactly)? */
bool confine_is_within(const char *root, const char *p);

/* Resolve the tool argument `p`.  Returns 0 and the canonical path in
 * *ret_real (caller frees); 1 with the SDK's error message appended to
 * `msg` (`path "<p>" is outside the session's working directory` or
 * `path "<p>": <fs reason>`); or -ENOMEM. */
int confine_path(const struct confine_root *root, const char *p, char **ret_real, struct buf *msg);

/* confine_path() that also accepts a path inside one of `extra` (a
 * NULL-terminated list of absolute directories, each canonicalised now, as
 * the SDK's allowedRoots; NULL for none).  *ret_index (may be NULL) is -1
 * for the root, else the index of the extra directory.  With extras the
 * refusal reads "... is outside the session's working directory and its
 * other permitted directories". */
int confine_path_ex(const struct confine_root *root, const char *const *extra, const char *p,
		    char **ret_real, int *ret_index, struct buf *msg);
/* The index of the first of `extra` (NULL-terminated, as configured) whose
 * canonical form holds the canonical `real`, or -1. */
int confine_containing_root(const char *const *extra, const char *real);

/* Where `real` (a result of confine_path) lies relative to the root: "."
 * for the root itself.  Borrowed from `real`. */
const char *confine_rel(const struct confine_root *root, const char *real);

#define CONFINE_MKDIR 1u /* create missing parent directories, mode 0700 */

/* Open the directory holding `real` beneath the root without following any
 * symlink, and point *ret_base at the leaf name inside `real` ("." when
 * `real` is the root itself, with the root's descriptor duplicated).
 * Returns a directory fd (O_CLOEXEC, caller closes) or -errno. */
int confine_open_parent(const struct confine_root *root, const char *real, unsigned flags,
			const char **ret_base);

/* Open a directory or file beneath the root without following symlinks.
 * Returns an fd (O_CLOEXEC added) or -errno. */
int confine_open(const struct confine_root *root, const char *real, int oflags);

/* Tests: non-zero forces the portable walk even where openat2 works. */
extern int confine_disable_openat2;
/* Non-zero when the last open went through openat2 (for tests). */
extern int confine_used_openat2;

/* Append JSON.stringify(s) (the SDK quotes paths in its messages). */
int js_quote_append(struct buf *out, const char *s);

#endif
