/* SPDX-License-Identifier: MIT */
/*
 * The files of a mounted memory store (the SDK's FileStore), reached from
 * the store's root by descriptor: every component below the root is opened
 * with O_NOFOLLOW, so a link the session plants never leads the runner
 * outside the folder.  Relative paths use '/'; `..` is refused.
 */
#ifndef ER_MEMORY_FILES_H
#define ER_MEMORY_FILES_H

#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "buf.h"
#include "memory-map.h"

/* The API takes a memory of at most 100 kB: a larger file is refused with a
 * 413 and stays un-synced until it changes.  A file past this cap is not
 * even read: neither hashed, uploaded, nor deleted remotely. */
#define MEMORY_MAX_FILE_BYTES (4u << 20)
/* Entries (files and folders) one walk visits at most. */
#define MEMORY_MAX_WALK_ENTRIES 100000
/* Folders one walk holds open at once. */
#define MEMORY_MAX_WALK_DEPTH 64

/* Write data atomically to rel (0600), creating missing folders (0700)
 * below the root but never the root itself. */
int memory_files_put(const char *root, const char *rel, const char *data, size_t len);
/* Read rel, a regular file, into out: 0, -ENOENT when absent, other -errno
 * (-ENOSPC past MEMORY_MAX_FILE_BYTES). */
int memory_files_get(const char *root, const char *rel, struct buf *out);
/* sha256 of rel's bytes: 0, -ENOENT when absent or not a regular file. */
int memory_files_hash(const char *root, const char *rel, char hex[65]);
/* Remove the file rel: 0, or -errno (-ENOENT when absent). */
int memory_files_remove(const char *root, const char *rel);

/* sha256 of the regular file `name` in the folder dirfd, with the stamp of
 * what was read. */
int memory_files_hash_at(int dirfd, const char *name, char hex[65], struct memory_stamp *stamp);
void memory_stamp_of(const struct stat *sb, struct memory_stamp *stamp);
/* Whether a hash taken at stamp `cached` still holds for a file now at
 * `now`: every field the same, and `cached` set (not zeroed). */
bool memory_stamp_holds(const struct memory_stamp *cached, const struct memory_stamp *now);
/* Whether a hash read at `stamp` may be cached by a walk begun at
 * `walk_sec` (wall clock): not when the file changed in the last
 * MEMORY_RACY_SEC, when it could change again without its mtime moving. */
bool memory_stamp_settled(const struct memory_stamp *stamp, int64_t walk_sec);
#define MEMORY_RACY_SEC 2

/* A depth-first walk of a store's regular files, resumable between calls,
 * holding at most MEMORY_MAX_WALK_DEPTH folders open. */
struct memory_walk {
	DIR *dirs[MEMORY_MAX_WALK_DEPTH];
	size_t prefix[MEMORY_MAX_WALK_DEPTH]; /* rel's length at each folder */
	int depth;
	int budget;
	struct buf rel;
};

/* The walk's current file, valid until the next step. */
struct memory_walk_file {
	const char *rel;
	const char *name;
	int dirfd;
	struct stat sb;
};

#define MEMORY_WALK_INIT                                                                           \
	{                                                                                          \
		.depth = 0                                                                         \
	}

/* 0, or -errno; a missing root is an empty walk. */
int memory_walk_open(struct memory_walk *w, const char *root);
/* 1 with the next regular file, 0 at the end, or -errno (-E2BIG past
 * MEMORY_MAX_WALK_ENTRIES, -ELOOP past MEMORY_MAX_WALK_DEPTH). */
int memory_walk_next(struct memory_walk *w, struct memory_walk_file *f);
void memory_walk_close(struct memory_walk *w);

#endif
