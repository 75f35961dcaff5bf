/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory-map.h"

/* FNV-1a: paths are short and chosen by the session, not by an attacker
 * of this process; a collision costs only time within one session. */
static uint32_t
hash_rel(const char *rel)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)rel; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

/* The slot holding rel, or the free slot where it would go. */
static size_t
slot_of(const struct memory_map *m, const char *rel, uint32_t h)
{
	size_t mask = m->n_slots - 1;
	size_t s = h & mask;

	while (m->slots[s]) {
		const struct memory_entry *e = &m->v[m->slots[s] - 1];

		if (e->hash == h && strcmp(e->rel, rel) == 0)
			break;
		s = (s + 1) & mask;
	}
	return s;
}

/* Keep the table at most half full. */
static int
grow_slots(struct memory_map *m)
{
	size_t n = m->n_slots ? 2 * m->n_slots : 64;
	size_t *slots;

	if (m->n_slots && (m->n + 1) * 2 <= m->n_slots)
		return 0;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -1;
	free(m->slots);
	m->slots = slots;
	m->n_slots = n;
	for (size_t i = 0; i < m->n; i++)
		m->slots[slot_of(m, m->v[i].rel, m->v[i].hash)] = i + 1;
	return 0;
}

struct memory_entry *
memory_map_find(const struct memory_map *m, const char *rel)
{
	size_t s;

	if (m->n == 0)
		return NULL;
	s = slot_of(m, rel, hash_rel(rel));
	return m->slots[s] ? &m->v[m->slots[s] - 1] : NULL;
}

const char *
memory_map_sha(const struct memory_map *m, const char *rel)
{
	const struct memory_entry *e = memory_map_find(m, rel);

	return e ? e->sha : NULL;
}

struct memory_entry *
memory_map_set(struct memory_map *m, const char *rel, const char *sha)
{
	uint32_t h = hash_rel(rel);
	struct memory_entry *e;
	size_t s;

	if (grow_slots(m) < 0)
		return NULL;
	s = slot_of(m, rel, h);
	if (m->slots[s]) {
		e = &m->v[m->slots[s] - 1];
	} else {
		if (m->n == m->alloc) {
			size_t na = m->alloc ? 2 * m->alloc : 16;
			struct memory_entry *nv = reallocarray(m->v, na, sizeof(*nv));

			if (!nv)
				return NULL;
			m->v = nv;
			m->alloc = na;
		}
		e = &m->v[m->n];
		memset(e, 0, sizeof(*e));
		e->rel = strdup(rel);
		if (!e->rel)
			return NULL;
		e->hash = h;
		m->slots[s] = ++m->n;
	}
	if (sha)
		snprintf(e->sha, sizeof(e->sha), "%s", sha);
	return e;
}

void
memory_map_del(struct memory_map *m, const char *rel)
{
	size_t mask = m->n_slots - 1;
	size_t hole;
	size_t i;
	size_t last;

	if (m->n == 0)
		return;
	hole = slot_of(m, rel, hash_rel(rel));
	if (!m->slots[hole])
		return;
	i = m->slots[hole] - 1;
	free(m->v[i].rel);
	free(m->v[i].id);
	/* Linear probing's deletion: shift back each entry of the run that
	 * the hole would cut off from its home slot. */
	for (size_t s = (hole + 1) & mask; m->slots[s]; s = (s + 1) & mask) {
		size_t home = m->v[m->slots[s] - 1].hash & mask;

		if (((s - home) & mask) >= ((s - hole) & mask)) {
			m->slots[hole] = m->slots[s];
			hole = s;
		}
	}
	m->slots[hole] = 0;
	/* The last entry fills the array's hole. */
	last = --m->n;
	if (i != last) {
		m->slots[slot_of(m, m->v[last].rel, m->v[last].hash)] = i + 1;
		m->v[i] = m->v[last];
	}
}

void
memory_map_clear(struct memory_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].rel);
		free(m->v[i].id);
	}
	free(m->v);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

void
memory_map_take(struct memory_map *dst, struct memory_map *src)
{
	memory_map_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}
