/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "json-trim.h"

/* Depths, counted in open brackets: the page's object is 1, its arrays 2,
 * their elements' members 3. */
#define ELEMENT_DEPTH 3

void
json_trim_init(struct json_trim *t, size_t max_output, size_t max_element)
{
	memset(t, 0, sizeof(*t));
	buf_init(&t->out, max_output);
	t->max_element = max_element;
}

void
json_trim_reset(struct json_trim *t)
{
	size_t max_output = t->out.max;
	size_t max_element = t->max_element;

	buf_release(&t->out);
	json_trim_init(t, max_output, max_element);
}

void
json_trim_release(struct json_trim *t)
{
	buf_release(&t->out);
}

static int
in_element(const struct json_trim *t)
{
	return t->depth >= ELEMENT_DEPTH;
}

/* A character a stub may hold without escaping, as ids and types are. */
static int
plain(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == ':';
}

static void
capture(struct json_trim *t, char c)
{
	if (t->in_key) {
		if (t->key_len < sizeof(t->key) - 1)
			t->key[t->key_len] = c;
		t->key_len++;
	} else if (t->in_value) {
		if (!plain(c) || t->value_len >= sizeof(t->value) - 1)
			t->value_bad = 1;
		else
			t->value[t->value_len++] = c;
	}
}

static void
end_string(struct json_trim *t)
{
	if (t->in_key) {
		t->in_key = 0;
		if (t->key_len >= sizeof(t->key))
			t->key_len = 0;
		t->key[t->key_len < sizeof(t->key) ? t->key_len : 0] = '\0';
		return;
	}
	if (!t->in_value)
		return;
	t->in_value = 0;
	t->value[t->value_len] = '\0';
	if (t->value_bad)
		return;
	if (strcmp(t->key, "id") == 0) {
		memcpy(t->id, t->value, t->value_len + 1);
	} else if (strcmp(t->key, "type") == 0) {
		memcpy(t->type, t->value, t->value_len + 1);
	} else if (strcmp(t->key, "tool_use_id") == 0 ||
		   strcmp(t->key, "custom_tool_use_id") == 0) {
		memcpy(t->tool_use_id, t->value, t->value_len + 1);
		t->custom_tool_use = t->key[0] == 'c';
	}
}

static int
write_stub(struct json_trim *t)
{
	int r = buf_putc(&t->out, '{');

	if (r == 0 && *t->type)
		r = buf_printf(&t->out, "\"type\":\"%s\",", t->type);
	if (r == 0 && *t->id)
		r = buf_printf(&t->out, "\"id\":\"%s\",", t->id);
	if (r == 0 && *t->tool_use_id)
		r = buf_printf(&t->out, "\"%stool_use_id\":\"%s\",",
			       t->custom_tool_use ? "custom_" : "", t->tool_use_id);
	return r ? r : buf_puts(&t->out, "\"oversized\":true}");
}

static int
put(struct json_trim *t, char c)
{
	int r;

	if (t->eliding)
		return 0;
	r = buf_putc(&t->out, c);
	if (r == 0 && in_element(t) && t->out.len - t->element_start > t->max_element) {
		/* Too large: dropped, a stub takes its place where it ends. */
		t->eliding = 1;
		buf_truncate(&t->out, t->element_start);
	}
	return r;
}

static int
feed_byte(struct json_trim *t, char c)
{
	int r;

	if (t->in_string) {
		if (t->escaped) {
			t->escaped = 0;
			t->value_bad = 1;
			t->key_len = sizeof(t->key);
		} else if (c == '\\') {
			t->escaped = 1;
		} else if (c == '"') {
			t->in_string = 0;
			end_string(t);
		} else {
			capture(t, c);
		}
		return put(t, c);
	}
	switch (c) {
	case '"':
		t->in_string = 1;
		if (t->depth == ELEMENT_DEPTH) {
			if (t->want_key) {
				t->want_key = 0;
				t->in_key = 1;
				t->key_len = 0;
			} else {
				t->in_value = 1;
				t->value_len = 0;
				t->value_bad = 0;
			}
		}
		return put(t, c);
	case '{':
	case '[':
		if (t->depth == ELEMENT_DEPTH - 1 && c == '{') {
			t->element_start = t->out.len;
			t->eliding = 0;
			t->id[0] = t->type[0] = t->tool_use_id[0] = '\0';
		}
		t->depth++;
		t->want_key = t->depth == ELEMENT_DEPTH && c == '{';
		return put(t, c);
	case '}':
	case ']':
		r = put(t, c);
		if (t->depth > 0)
			t->depth--;
		if (t->depth == ELEMENT_DEPTH - 1 && t->eliding) {
			t->eliding = 0;
			return write_stub(t);
		}
		return r;
	case ',':
		if (t->depth == ELEMENT_DEPTH)
			t->want_key = 1;
		return put(t, c);
	default:
		return put(t, c);
	}
}

int
json_trim_feed(struct json_trim *t, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = feed_byte(t, data[i]);

		if (r < 0)
			return r;
	}
	return 0;
}
