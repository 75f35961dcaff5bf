/* SPDX-License-Identifier: MIT */
/* The ABI 1.0 layout, from the frozen header, for test_layout.c. */
#include <stddef.h>

#include "plugin-v1.0.h"

#include "layout-members.h"

struct layout_entry {
	const char *name;
	size_t offset;
	size_t size;
};

extern const struct layout_entry layout_v1_0[];
extern const size_t layout_v1_0_count;

#define ENTRY(s, m) { #s "." #m, offsetof(struct s, m), sizeof(((struct s *)0)->m) },
const struct layout_entry layout_v1_0[] = { LAYOUT_MEMBERS_V1_0(ENTRY) };
const size_t layout_v1_0_count = sizeof(layout_v1_0) / sizeof(layout_v1_0[0]);
