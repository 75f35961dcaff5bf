/* SPDX-License-Identifier: MIT */
/*
 * The memory stores' maps: relative path -> content sha256 (and, for the
 * remote listing, the memory's id; for the hash cache, the file's stamp).
 * Hashed, so that a sync over a store's up to 100,000 paths stays linear;
 * the entries stay in one array for walking in insertion order (a delete
 * moves the last entry into the hole).
 */
#ifndef ER_MEMORY_MAP_H
#define ER_MEMORY_MAP_H

#include <stddef.h>
#include <stdint.h>

/* What identifies a file's content without reading it: a change of any
 * field means it must be hashed again. */
struct memory_stamp {
	uint64_t dev;
	uint64_t ino;
	int64_t size;
	int64_t mtime_sec;
	long mtime_nsec;
};

struct memory_entry {
	char *rel;
	char *id; /* remote entries only */
	char sha[65];
	uint64_t t;		   /* pending deletes: when first seen missing */
	struct memory_stamp stamp; /* the hash cache only */
	uint32_t hash;
};

struct memory_map {
	struct memory_entry *v;
	size_t n;
	size_t alloc;
	size_t *slots; /* open addressing: entry index + 1, 0 for free */
	size_t n_slots;
};

struct memory_entry *memory_map_find(const struct memory_map *m, const char *rel);
/* The path's sha, or NULL. */
const char *memory_map_sha(const struct memory_map *m, const char *rel);
/* Add or find rel; copy `sha` unless NULL.  NULL when out of memory.  The
 * pointer holds until the next set or delete. */
struct memory_entry *memory_map_set(struct memory_map *m, const char *rel, const char *sha);
void memory_map_del(struct memory_map *m, const char *rel);
void memory_map_clear(struct memory_map *m);
/* Move src into dst (cleared first); src is left empty. */
void memory_map_take(struct memory_map *dst, struct memory_map *src);

#endif
