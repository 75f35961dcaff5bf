/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "jsonw.h"
#include "utf8.h"

/* Bits of first[] (one per open container, innermost at depth - 1). */
#define JW_EMPTY 1u  /* nothing written in it yet */
#define JW_OBJECT 2u /* an object, not an array */
/* Bits of after_key. */
#define JW_KEY_PENDING 1u /* a key was written, its value is next */
#define JW_ROOT_DONE 2u	  /* the top-level value was begun */

static void
set_err(struct jsonw *w, int r)
{
	if (!w->err)
		w->err = r;
}

static void
put(struct jsonw *w, const char *s, size_t n)
{
	int r;

	if (w->err)
		return;
	r = buf_append(w->out, s, n);
	if (r < 0)
		set_err(w, r);
}

static void
puts_lit(struct jsonw *w, const char *s)
{
	put(w, s, strlen(s));
}

/* Everything a value needs before it: a place, and a comma. */
static bool
begin_value(struct jsonw *w)
{
	unsigned char *f;

	if (w->err)
		return false;
	if (w->depth == 0) {
		if (w->after_key & JW_ROOT_DONE) {
			set_err(w, -EINVAL); /* a second top-level value */
			return false;
		}
		w->after_key |= JW_ROOT_DONE;
		return true;
	}
	f = &w->first[w->depth - 1];
	if (*f & JW_OBJECT) {
		if (!(w->after_key & JW_KEY_PENDING)) {
			set_err(w, -EINVAL); /* a value without a key */
			return false;
		}
		w->after_key &= (unsigned char)~JW_KEY_PENDING;
		return true;
	}
	if (!(*f & JW_EMPTY))
		put(w, ",", 1);
	*f &= (unsigned char)~JW_EMPTY;
	return !w->err;
}

void
jw_init(struct jsonw *w, struct buf *out)
{
	w->out = out;
	w->depth = 0;
	w->err = out ? 0 : -EINVAL;
	memset(w->first, 0, sizeof(w->first));
	w->after_key = 0;
}

static void
open_container(struct jsonw *w, bool object)
{
	if (!begin_value(w))
		return;
	if (w->depth >= JW_MAX_DEPTH) {
		set_err(w, -EINVAL);
		return;
	}
	put(w, object ? "{" : "[", 1);
	w->first[w->depth] = (unsigned char)(JW_EMPTY | (object ? JW_OBJECT : 0));
	w->depth++;
}

static void
close_container(struct jsonw *w, bool object)
{
	if (w->err)
		return;
	if (w->depth == 0 || !(w->first[w->depth - 1] & JW_OBJECT) != !object ||
	    (w->after_key & JW_KEY_PENDING)) {
		set_err(w, -EINVAL);
		return;
	}
	put(w, object ? "}" : "]", 1);
	w->depth--;
}

void
jw_object_begin(struct jsonw *w)
{
	open_container(w, true);
}

void
jw_object_end(struct jsonw *w)
{
	close_container(w, true);
}

void
jw_array_begin(struct jsonw *w)
{
	open_container(w, false);
}

void
jw_array_end(struct jsonw *w)
{
	close_container(w, false);
}

static void
put_string(struct jsonw *w, const char *s, size_t n)
{
	int r;

	put(w, "\"", 1);
	if (w->err)
		return;
	r = json_escape_append(w->out, s, n);
	if (r < 0) {
		set_err(w, r);
		return;
	}
	put(w, "\"", 1);
}

void
jw_key(struct jsonw *w, const char *key)
{
	unsigned char *f;

	if (w->err)
		return;
	if (!key || w->depth == 0 || !(w->first[w->depth - 1] & JW_OBJECT) ||
	    (w->after_key & JW_KEY_PENDING)) {
		set_err(w, -EINVAL);
		return;
	}
	f = &w->first[w->depth - 1];
	if (!(*f & JW_EMPTY))
		put(w, ",", 1);
	*f &= (unsigned char)~JW_EMPTY;
	put_string(w, key, strlen(key));
	put(w, ":", 1);
	w->after_key |= JW_KEY_PENDING;
}

void
jw_stringn(struct jsonw *w, const char *s, size_t n)
{
	if (!s && n) {
		set_err(w, -EINVAL);
		return;
	}
	if (!begin_value(w))
		return;
	put_string(w, s ? s : "", n);
}

void
jw_string(struct jsonw *w, const char *s)
{
	if (!s)
		jw_null(w);
	else
		jw_stringn(w, s, strlen(s));
}

void
jw_int(struct jsonw *w, int64_t v)
{
	int r;

	if (!begin_value(w))
		return;
	r = buf_printf(w->out, "%" PRId64, v);
	if (r < 0)
		set_err(w, r);
}

void
jw_bool(struct jsonw *w, int v)
{
	if (begin_value(w))
		puts_lit(w, v ? "true" : "false");
}

void
jw_null(struct jsonw *w)
{
	if (begin_value(w))
		puts_lit(w, "null");
}

void
jw_raw(struct jsonw *w, const char *json, size_t n)
{
	if (!json || !n) {
		set_err(w, -EINVAL);
		return;
	}
	if (begin_value(w))
		put(w, json, n);
}

int
jw_finish(struct jsonw *w)
{
	if (!w->err &&
	    (w->depth != 0 || (w->after_key & JW_KEY_PENDING) || !(w->after_key & JW_ROOT_DONE)))
		w->err = -EINVAL;
	return w->err;
}

int
jw_session_error(struct buf *out, const char *type, const char *message, size_t message_len,
		 const char *retry)
{
	struct jsonw w;

	jw_init(&w, out);
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, "session.error");
	jw_key(&w, "error");
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, type);
	jw_key(&w, "message");
	jw_stringn(&w, message, message_len);
	jw_key(&w, "retry_status");
	jw_object_begin(&w);
	jw_key(&w, "type");
	jw_string(&w, retry);
	jw_object_end(&w);
	jw_object_end(&w);
	jw_object_end(&w);
	return jw_finish(&w);
}

int
json_escape_append(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	static const char repl[] = "\xEF\xBF\xBD";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0; /* start of the pending run of bytes copied as they are */
	size_t i = 0;
	int r;

	if (!out || (!s && n))
		return -EINVAL;
	while (i < n) {
		unsigned char c = u[i];
		char esc[6];
		const char *rep = NULL;
		size_t replen = 2;
		size_t k = 1;

		if (c >= 0x80) {
			int32_t cp;

			k = utf8_decode(u + i, n - i, &cp);
			if (cp >= 0) {
				i += k;
				continue;
			}
			rep = repl;
			replen = 3;
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rep = esc;
		} else if (c < 0x20) {
			rep = esc;
			esc[0] = '\\';
			switch (c) {
			case '\b':
				esc[1] = 'b';
				break;
			case '\f':
				esc[1] = 'f';
				break;
			case '\n':
				esc[1] = 'n';
				break;
			case '\r':
				esc[1] = 'r';
				break;
			case '\t':
				esc[1] = 't';
				break;
			default:
				esc[1] = 'u';
				esc[2] = '0';
				esc[3] = '0';
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				replen = 6;
			}
		} else {
			i++;
			continue;
		}
		r = buf_append(out, s + run, i - run);
		if (r < 0)
			return r;
		r = buf_append(out, rep, replen);
		if (r < 0)
			return r;
		i += k;
		run = i;
	}
	return buf_append(out, s ? s + run : "", i - run);
}
