/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the JSON reader.  Whatever json_parse() accepts must
 * be readable through every accessor, and writing it back with the JSON
 * writer must give a document json_parse() accepts with the same shape.
 *
 *	./configure CC=clang --enable-fuzzing && make check
 *	tests/fuzz/fuzz_json -max_total_time=60 tests/fuzz/corpus/json
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
write_value(const struct json_doc *doc, int tok, struct jsonw *w)
{
	const char *raw;
	size_t len = 0;
	int k;

	switch (json_kind(doc, tok)) {
	case JSON_OBJECT:
		jw_object_begin(w);
		for (k = json_first(doc, tok); k >= 0; k = json_next(doc, json_next(doc, k))) {
			jw_key(w, json_str(doc, k));
			write_value(doc, json_next(doc, k), w);
		}
		jw_object_end(w);
		break;
	case JSON_ARRAY:
		jw_array_begin(w);
		for (k = json_first(doc, tok); k >= 0; k = json_next(doc, k))
			write_value(doc, k, w);
		jw_array_end(w);
		break;
	case JSON_STRING:
		jw_string(w, json_str(doc, tok));
		break;
	case JSON_NUMBER:
		raw = json_raw(doc, tok, &len);
		jw_raw(w, raw, len);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		jw_bool(w, json_bool(doc, tok));
		break;
	case JSON_NULL:
		jw_null(w);
		break;
	default:
		abort();
	}
}

/* Same kinds, sizes, strings and number text, token by token. */
static void
compare(const struct json_doc *a, const struct json_doc *b)
{
	int i;

	for (i = 0; json_kind(a, i) != JSON_INVALID; i++) {
		const char *ra;
		const char *rb;
		size_t la = 0;
		size_t lb = 0;

		if (json_kind(a, i) != json_kind(b, i) || json_size(a, i) != json_size(b, i) ||
		    json_next(a, i) != json_next(b, i))
			abort();
		if (json_kind(a, i) == JSON_STRING && strcmp(json_str(a, i), json_str(b, i)) != 0)
			abort();
		if (json_kind(a, i) == JSON_NUMBER) {
			ra = json_raw(a, i, &la);
			rb = json_raw(b, i, &lb);
			if (la != lb || memcmp(ra, rb, la) != 0)
				abort();
		}
	}
	if (json_kind(b, i) != JSON_INVALID)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT(64u << 20);
	struct json_doc *doc = NULL;
	struct json_doc *again = NULL;
	struct jsonw w;
	char err[128];
	int i;

	if (json_parse((const char *)data, size, &doc, err, sizeof(err)) < 0) {
		if (doc || err[0] == '\0')
			abort();
		return 0;
	}
	for (i = 0; json_kind(doc, i) != JSON_INVALID; i++) {
		int64_t v;
		double d;
		size_t len = 0;

		if (!json_raw(doc, i, &len) || len == 0)
			abort();
		if (json_kind(doc, i) == JSON_STRING && !json_str(doc, i))
			abort();
		(void)json_int64(doc, i, &v);
		(void)json_double(doc, i, &d);
		(void)json_bool(doc, i);
	}

	jw_init(&w, &out);
	write_value(doc, 0, &w);
	if (jw_finish(&w) < 0)
		abort();
	if (json_parse(out.data, out.len, &again, err, sizeof(err)) < 0) {
		/* only the caps may differ: escapes can make the text longer */
		if (out.len <= JSON_MAX_INPUT)
			abort();
	} else {
		compare(doc, again);
	}
	json_free(again);
	json_free(doc);
	buf_release(&out);
	return 0;
}
