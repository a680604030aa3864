/*
 * libFuzzer target for the hot path's JSON module (probes/chunk_json.h),
 * with jansson as the oracle: any bytes, as a relay could send them.
 *
 * Checked: no sanitizer report or leak; a refusal says why; where both
 * parsers take the input, every value reached by key or index is the same
 * in both (strings byte for byte, numbers equal, the same types but where
 * the header says they differ: integral reals read as integers); the
 * module takes nothing jansson refuses but for the differences its header
 * lists (an integer literal from 2^63 to 2^64 - 1, a scalar document), and
 * refuses nothing jansson takes but past its depth cap; chunk_json_dumps()
 * writes what the module reads back.
 */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/chunk_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok)
{
	if (!ok)
		abort();
}

/* The same value in both, to depth. */
static void
same(const struct chunk_json *c, json_t *j, int depth)
{
	if (depth > CHUNK_JSON_MAX_DEPTH + 1)
		abort();
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		check(chunk_json_is_object(c));
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v)
		{
			same(chunk_json_get(c, key), v, depth + 1);
		}
		check(chunk_json_size(c) >= json_object_size(j));
		break;
	}
	case JSON_ARRAY:
		check(chunk_json_is_array(c));
		check(chunk_json_size(c) == json_array_size(j));
		for (size_t i = 0; i < json_array_size(j); i++)
			same(chunk_json_at(c, i), json_array_get(j, i), depth + 1);
		break;
	case JSON_STRING:
		check(chunk_json_string_length(c) == json_string_length(j));
		check(memcmp(chunk_json_string(c), json_string_value(j), json_string_length(j)) ==
		      0);
		break;
	case JSON_INTEGER:
		check(chunk_json_is_number(c));
		/* a double holds an integer exactly up to 2^53 */
		if (llabs(json_integer_value(j)) < (1ll << 53))
			check(chunk_json_is_integer(c) &&
			      chunk_json_integer(c) == json_integer_value(j));
		break;
	case JSON_REAL:
		check(chunk_json_is_number(c));
		if (json_real_value(j) == floor(json_real_value(j)) &&
		    fabs(json_real_value(j)) < 9e15)
			check(chunk_json_is_integer(c));
		break;
	case JSON_TRUE:
		check(chunk_json_is_true(c));
		break;
	case JSON_FALSE:
		check(!chunk_json_is_true(c) && !chunk_json_is_null(c) && c != NULL);
		break;
	case JSON_NULL:
		check(chunk_json_is_null(c));
		break;
	}
}

/* Does s hold what jansson refuses and the module takes, as its header
 * says: an integer literal past int64 (simdjson reads up to 2^64 - 1)? A
 * run of 19 digits is a rough look, enough: it only excuses a
 * disagreement. */
static int
has_big_integer(const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		run = s[i] >= '0' && s[i] <= '9' ? run + 1 : 0;
		if (run >= 19)
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	enum chunk_json_refusal why = CHUNK_JSON_OK;
	struct chunk_json *c = chunk_json_parse(s, size, &why);
	check((c == NULL) == (why != CHUNK_JSON_OK));
	check(chunk_json_refusal_text(why) != NULL);
	json_t *j = json_loadb(s, size, 0, NULL);
	if (c != NULL && j != NULL)
		same(c, j, 1);
	/* jansson (flags 0) takes only an object or array as the document */
	if (c != NULL && j == NULL)
		check(has_big_integer(s, size) ||
		      (!chunk_json_is_object(c) && !chunk_json_is_array(c)));
	/* jansson takes a raw NUL after a literal ("null\0,"); the module
	 * refuses any raw control byte */
	if (c == NULL && j != NULL)
		check(why == CHUNK_JSON_TOO_DEEP || why == CHUNK_JSON_TOO_LARGE ||
		      (why == CHUNK_JSON_CONTROL && memchr(s, 0, size) != NULL));
	if (c != NULL) {
		char *d = chunk_json_dumps(c);
		check(d != NULL);
		/* the module reads its own writing back (a second document while
		 * the first lives: the heap path) */
		struct chunk_json *back = chunk_json_parse(d, strlen(d), NULL);
		check(back != NULL || has_big_integer(d, strlen(d)));
		chunk_json_free(back);
		free(d);
	}
	chunk_json_free(c);
	json_decref(j);
	return 0;
}
