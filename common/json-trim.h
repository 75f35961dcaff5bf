/* SPDX-License-Identifier: MIT */
/*
 * A page of a list as the API sends it, {"data":[{...},...],"next_page":...},
 * read as it arrives with every element larger than a bound replaced by a
 * stub, {"type":T,"id":I,"tool_use_id":U,"oversized":true} (each field when
 * the element had it as a plain string; custom_tool_use_id too), so that one
 * huge event cannot make the whole page unreadable.  Only objects inside an array member of the top-level object
 * are elements; everything else is copied as is, and the copy stays
 * capped.  The input is not validated: the copy is parsed afterwards.
 */
#ifndef ER_JSON_TRIM_H
#define ER_JSON_TRIM_H

#include <stddef.h>

#include "buf.h"

struct json_trim {
	struct buf out; /* the copy, capped */
	size_t max_element;
	int depth;
	int in_string;
	int escaped;
	size_t element_start; /* where the current element starts in out */
	int eliding;	      /* the current element passed max_element */
	/* The element's own members: a key, then its value if a string. */
	int want_key;
	int in_key;
	int in_value;
	char key[24];
	size_t key_len;
	char value[128];
	size_t value_len;
	int value_bad; /* too long, or a character a stub cannot hold */
	char id[128];
	char type[128];
	char tool_use_id[128];
	int custom_tool_use; /* tool_use_id came as custom_tool_use_id */
};

void json_trim_init(struct json_trim *t, size_t max_output, size_t max_element);
/* Forget what was read (a retry starts the body over). */
void json_trim_reset(struct json_trim *t);
void json_trim_release(struct json_trim *t);
/* Read the next bytes.  0, or -ENOSPC when the copy passes its cap anyway,
 * -ENOMEM. */
int json_trim_feed(struct json_trim *t, const char *data, size_t n);

#endif
