/* SPDX-License-Identifier: MIT */
/* The ABI 1.1 layout, from the frozen header, for test_layout.c. */
#include <stddef.h>

#include "plugin-v1.1.h"

#include "layout-members.h"

struct layout_entry {
	const char *name;
	size_t offset;
	size_t size;
};

extern const struct layout_entry layout_v1_1[];
extern const size_t layout_v1_1_count;

#define ENTRY(s, m) { #s "." #m, offsetof(struct s, m), sizeof(((struct s *)0)->m) },
const struct layout_entry layout_v1_1[] = { LAYOUT_MEMBERS_V1_0(ENTRY) LAYOUT_MEMBERS_V1_1(ENTRY) };
const size_t layout_v1_1_count = sizeof(layout_v1_1) / sizeof(layout_v1_1[0]);
