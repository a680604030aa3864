/*
 * chunk_json: what the hot path's parser (simdjson behind probes/chunk_json.h)
 * does with what a relay may send, where it reads differently from jansson,
 * which the adapter parsed relay answers with before, and that each case
 * reaches the adapter as it needs (tests/test_adapter.c and tests/test_sse.c
 * hold the adapter's ordinary behaviour, unchanged). jansson is the oracle
 * where the two agree by design.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "probes/adapter.h"
#include "probes/chunk_json.h"

static struct chunk_json *
parse_text(const char *s, enum chunk_json_refusal *why)
{
	return chunk_json_parse(s, strlen(s), why);
}

/* s is refused for why, and jansson refuses it too when jansson_too. */
static void
expect_refused(const char *s, size_t len, enum chunk_json_refusal want, int jansson_too)
{
	enum chunk_json_refusal why = CHUNK_JSON_OK;
	struct chunk_json *j = chunk_json_parse(s, len, &why);
	cr_expect_null(j, "'%.60s' parsed", s);
	chunk_json_free(j);
	cr_expect_eq(why, want, "'%.60s': %s, want %s", s, chunk_json_refusal_text(why),
	             chunk_json_refusal_text(want));
	if (jansson_too) {
		json_t *k = json_loadb(s, len, 0, NULL);
		cr_expect_null(k, "jansson took '%.60s'", s);
		json_decref(k);
	}
}

/* One streamed OpenAI answer whose second chunk is event, parsed whole. */
static void
stream_with(const char *event, struct observation *o)
{
	char body[4096];
	snprintf(
	    body, sizeof body,
	    "data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"
	    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
	    "data: %s\n\n"
	    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n"
	    "data: [DONE]\n\n",
	    event);
	struct adapter_parse p;
	observation_init(o);
	adapter_parse_init(&p, API_OPENAI, o, 1, 0, 1 << 20);
	adapter_parse_feed(&p, 200, body, strlen(body), 1000);
	adapter_parse_finish(&p, 200);
	adapter_parse_release(&p);
}

Test(chunk_json, an_ordinary_chunk_reads_as_jansson_reads_it)
{
	const char *s = "{\"id\":\"chatcmpl-9\",\"created\":1733000000,\"choices\":[{\"index\":0,"
	                "\"delta\":{\"content\":\"h\\u00e9\\ud83d\\ude00\\n\"},\"logprobs\":null,"
	                "\"finish_reason\":null}],\"usage\":{\"prompt_tokens\":12}}";
	struct chunk_json *j = parse_text(s, NULL);
	cr_assert_not_null(j);
	json_t *k = json_loads(s, 0, NULL);
	cr_assert_not_null(k);
	const struct chunk_json *c0 = chunk_json_at(chunk_json_get(j, "choices"), 0);
	json_t *k0 = json_array_get(json_object_get(k, "choices"), 0);
	const struct chunk_json *content = chunk_json_get(chunk_json_get(c0, "delta"), "content");
	json_t *kcontent = json_object_get(json_object_get(k0, "delta"), "content");
	cr_expect_str_eq(chunk_json_string(content), json_string_value(kcontent));
	cr_expect_eq(chunk_json_string_length(content), json_string_length(kcontent));
	cr_expect(chunk_json_is_null(chunk_json_get(c0, "logprobs")));
	cr_expect_eq(chunk_json_integer(chunk_json_get(j, "created")), 1733000000);
	cr_expect(
	    chunk_json_is_integer(chunk_json_get(chunk_json_get(j, "usage"), "prompt_tokens")));
	cr_expect_eq(chunk_json_size(chunk_json_get(j, "choices")), 1);
	cr_expect_eq(chunk_json_size(j), json_object_size(k));
	/* keys are case-sensitive */
	cr_expect_null(chunk_json_get(j, "ID"));
	json_decref(k);
	chunk_json_free(j);
}

Test(chunk_json, absent_values_answer_absent_all_the_way_down)
{
	cr_expect_null(chunk_json_get(NULL, "a"));
	cr_expect_null(chunk_json_string(NULL));
	cr_expect_eq(chunk_json_string_length(NULL), 0);
	cr_expect_eq(chunk_json_integer(NULL), 0);
	cr_expect_eq(chunk_json_size(NULL), 0);
	cr_expect_null(chunk_json_at(NULL, 0));
	cr_expect_null(chunk_json_dumps(NULL));
	struct chunk_json *j = parse_text("{\"a\":[1,\"x\"],\"s\":\"t\"}", NULL);
	cr_assert_not_null(j);
	cr_expect_null(chunk_json_get(chunk_json_get(j, "a"), "b"), "get on an array");
	cr_expect_null(chunk_json_at(chunk_json_get(j, "a"), 2));
	cr_expect_null(chunk_json_string(chunk_json_at(chunk_json_get(j, "a"), 0)));
	cr_expect_eq(chunk_json_integer(chunk_json_get(j, "s")), 0);
	cr_expect_eq(chunk_json_size(chunk_json_get(j, "s")), 0);
	chunk_json_free(j);
}

Test(chunk_json, a_duplicate_key_reads_as_its_last_value_as_jansson_and_json_parse)
{
	const char *s = "{\"content\":\"first\",\"n\":1,\"content\":\"last\"}";
	struct chunk_json *j = parse_text(s, NULL);
	cr_assert_not_null(j);
	json_t *k = json_loads(s, 0, NULL);
	cr_expect_str_eq(chunk_json_string(chunk_json_get(j, "content")), "last");
	cr_expect_str_eq(json_string_value(json_object_get(k, "content")), "last");
	/* each occurrence is a member here; jansson keeps one */
	cr_expect_eq(chunk_json_size(j), 3);
	cr_expect_eq(json_object_size(k), 2);
	char *d = chunk_json_dumps(j);
	cr_expect_str_eq(d, "{\"content\":\"first\",\"n\":1,\"content\":\"last\"}",
	                 "written as it came: %s", d);
	free(d);
	json_decref(k);
	chunk_json_free(j);
	/* the adapter takes the last: the text a client's JSON.parse shows */
	struct observation o;
	stream_with("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\",\"content\":\"B\"}}]}",
	            &o);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_expect_str_eq(o.text, "B");
	observation_release(&o);
}

Test(chunk_json, invalid_utf8_is_refused_as_jansson_refused_it)
{
	expect_refused("{\"a\":\"\xff\"}", 8, CHUNK_JSON_BAD_UTF8, 1);
	expect_refused("{\"a\":\"\xc0\xaf\"}", 9, CHUNK_JSON_BAD_UTF8, 1);          /* overlong */
	expect_refused("{\"a\":\"\xed\xa0\x80\"}", 10, CHUNK_JSON_BAD_UTF8, 1);     /* surrogate */
	expect_refused("{\"a\":\"\xf4\x90\x80\x80\"}", 11, CHUNK_JSON_BAD_UTF8, 1); /* > U+10FFFF */
	expect_refused("{\"a\":\"\xe2\x82\"}", 9, CHUNK_JSON_BAD_UTF8, 1);          /* cut short */
	/* escapes that make no character are refused by the parser itself */
	expect_refused("{\"a\":\"\\ud800\"}", 14, CHUNK_JSON_SYNTAX, 1);
	expect_refused("{\"a\":\"\\udc00x\"}", 15, CHUNK_JSON_SYNTAX, 1);
	/* the adapter: the event is malformed, the stream's verdict with it */
	struct observation o;
	stream_with("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xff\"}}]}", &o);
	cr_expect_eq(o.error, ERR_MALFORMED);
	cr_expect_str_eq(o.error_detail, "stream event is not valid JSON");
	observation_release(&o);
}

Test(chunk_json, nul_and_control_bytes_are_refused_but_an_escaped_backslash_is_text)
{
	expect_refused("{\"a\":\"x\0y\"}", 11, CHUNK_JSON_CONTROL, 1);
	expect_refused("{\"a\":\"x\x01y\"}", 11, CHUNK_JSON_CONTROL, 1);
	expect_refused("{\"a\":\"x\\u0000y\"}", 16, CHUNK_JSON_CONTROL, 1);
	expect_refused("{\"a\":\"x\\\\\\u0000y\"}", 18, CHUNK_JSON_CONTROL, 1);
	expect_refused("{\"a\":1}\0", 8, CHUNK_JSON_CONTROL, 1);
	/* a bad hex digit (cJSON read it as 0 and wrote a NUL): refused */
	const char *bad_hex[] = {"{\"a\":\"h\\u0/e9\"}", "{\"a\":\"h\\u12\"}", "{\"a\":\"h\\u"};
	for (size_t i = 0; i < 3; i++)
		expect_refused(bad_hex[i], strlen(bad_hex[i]), CHUNK_JSON_SYNTAX, 1);
	/* "\\u0000" is a backslash then the letters u0000: text, not NUL */
	const char *s = "{\"a\":\"x\\\\u0000y\"}";
	struct chunk_json *j = parse_text(s, NULL);
	cr_assert_not_null(j);
	cr_expect_str_eq(chunk_json_string(chunk_json_get(j, "a")), "x\\u0000y");
	cr_expect_eq(chunk_json_string_length(chunk_json_get(j, "a")), 8);
	chunk_json_free(j);
	/* whitespace between tokens stays whitespace */
	j = parse_text("\t{\r\n\"a\" :\t1 }\n", NULL);
	cr_expect_not_null(j);
	chunk_json_free(j);
	/* a NUL inside a streamed string fails the event, never cuts the text */
	struct observation o;
	stream_with("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ab\\u0000cd\"}}]}", &o);
	cr_expect_eq(o.error, ERR_MALFORMED);
	observation_release(&o);
}

static char *
nested(int depth, char open, char close)
{
	char *s = malloc((size_t)depth * 2 + 1);
	memset(s, open, (size_t)depth);
	memset(s + depth, close, (size_t)depth);
	s[depth * 2] = '\0';
	return s;
}

Test(chunk_json, nesting_is_capped_at_64_and_deep_input_cannot_exhaust_the_stack)
{
	char *ok = nested(CHUNK_JSON_MAX_DEPTH, '[', ']');
	struct chunk_json *j = parse_text(ok, NULL);
	cr_expect_not_null(j, "64 deep is taken");
	chunk_json_free(j);
	free(ok);
	char *deep = nested(CHUNK_JSON_MAX_DEPTH + 1, '[', ']');
	expect_refused(deep, strlen(deep), CHUNK_JSON_TOO_DEEP, 0);
	free(deep);
	/* objects count as arrays do */
	char obj[1024] = "";
	for (int i = 0; i <= CHUNK_JSON_MAX_DEPTH; i++)
		strcat(obj, "{\"a\":");
	strcat(obj, "1");
	for (int i = 0; i <= CHUNK_JSON_MAX_DEPTH; i++)
		strcat(obj, "}");
	expect_refused(obj, strlen(obj), CHUNK_JSON_TOO_DEEP, 0);
	/* 200,000 deep: simdjson stops at the depth limit before the stack
	 * does; refused either way (jansson: over its 2048) */
	char *abyss = nested(200000, '[', ']');
	j = parse_text(abyss, NULL);
	cr_expect_null(j);
	free(abyss);
}

Test(chunk_json, huge_numbers)
{
	/* not finite: refused, as jansson refused it (real number overflow) */
	expect_refused("{\"n\":1e400}", 11, CHUNK_JSON_NUMBER, 1);
	expect_refused("{\"n\":-1e400}", 12, CHUNK_JSON_NUMBER, 1);
	/* 400 digits: past any double */
	char lit[512] = "{\"n\":";
	for (int i = 0; i < 400; i++)
		strcat(lit, "9");
	strcat(lit, "}");
	expect_refused(lit, strlen(lit), CHUNK_JSON_NUMBER, 1);
	/* an integer literal beyond 64 bits: refused, as jansson refused it
	 * (cJSON, the parser before, read it as a real) */
	const char *big = "{\"n\":123456789012345678901234567890}";
	expect_refused(big, strlen(big), CHUNK_JSON_NUMBER, 1);
	struct chunk_json *j = NULL;
	/* the int64 edges: -2^63 is one, 2^63 is not (a number: simdjson
	 * reads integers up to 2^64 - 1) */
	j = parse_text("[-9223372036854775808,9223372036854775808,5.0,5.5,1e3]", NULL);
	cr_assert_not_null(j);
	cr_expect(chunk_json_is_integer(chunk_json_at(j, 0)));
	cr_expect_not(chunk_json_is_integer(chunk_json_at(j, 1)));
	cr_expect(chunk_json_is_number(chunk_json_at(j, 1)));
	cr_expect_eq(chunk_json_integer(chunk_json_at(j, 1)), 0);
	/* integral reals read as integers (jansson: reals) */
	cr_expect(chunk_json_is_integer(chunk_json_at(j, 2)));
	cr_expect_eq(chunk_json_integer(chunk_json_at(j, 2)), 5);
	cr_expect_not(chunk_json_is_integer(chunk_json_at(j, 3)));
	cr_expect_eq(chunk_json_integer(chunk_json_at(j, 4)), 1000);
	chunk_json_free(j);
	/* the adapter: a count beyond int64 is no count, and the stream stands;
	 * one beyond 64 bits is a malformed chunk (as under jansson) */
	struct observation o;
	stream_with("{\"choices\":[],\"usage\":{\"prompt_tokens\":9223372036854775808}}", &o);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_expect_eq(o.prompt_tokens, 5, "the last usage chunk's count stands");
	observation_release(&o);
	stream_with("{\"choices\":[],\"usage\":{\"prompt_tokens\":99999999999999999999999}}", &o);
	cr_expect_eq(o.error, ERR_MALFORMED);
	observation_release(&o);
	stream_with("{\"choices\":[],\"usage\":{\"prompt_tokens\":1e999}}", &o);
	cr_expect_eq(o.error, ERR_MALFORMED);
	observation_release(&o);
}

Test(chunk_json, numbers_follow_json_grammar_as_jansson_did)
{
	/* what cJSON (the parser before) took and JSON does not: refused now,
	 * as jansson refused it; a token that starts as a number (a digit or
	 * '-') is a malformed number, anything else is not JSON at all */
	static const struct {
		const char *text;
		enum chunk_json_refusal why;
	} bad[] = {
	    {"[01]", CHUNK_JSON_NUMBER},       {"[1.]", CHUNK_JSON_NUMBER},
	    {"[-01]", CHUNK_JSON_NUMBER},      {"[-.5]", CHUNK_JSON_NUMBER},
	    {"[1e]", CHUNK_JSON_NUMBER},       {"[0x10]", CHUNK_JSON_NUMBER},
	    {"[-]", CHUNK_JSON_NUMBER},        {"[+1]", CHUNK_JSON_SYNTAX},
	    {"[.5]", CHUNK_JSON_SYNTAX},       {"[NaN]", CHUNK_JSON_SYNTAX},
	    {"[Infinity]", CHUNK_JSON_SYNTAX},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_refused(bad[i].text, strlen(bad[i].text), bad[i].why, 1);
	/* and JSON's own forms read as jansson reads them */
	struct chunk_json *j = parse_text("[0,-0,1.5e3,-2E-2,10]", NULL);
	cr_assert_not_null(j);
	cr_expect_eq(chunk_json_integer(chunk_json_at(j, 2)), 1500);
	cr_expect_not(chunk_json_is_integer(chunk_json_at(j, 3)));
	cr_expect_eq(chunk_json_integer(chunk_json_at(j, 4)), 10);
	chunk_json_free(j);
}

Test(chunk_json, a_chunk_cut_mid_token_is_refused_never_read_past_its_end)
{
	const char *whole = "{\"choices\":[{\"delta\":{\"content\":\"h\\u00e9llo\"}}],\"n\":12345,"
	                    "\"t\":true,\"z\":null}";
	size_t n = strlen(whole);
	/* every cut: refused, and read only within its length (ASan builds
	 * and the fuzz target check the bound; a copy ends where the cut is) */
	for (size_t cut = 0; cut < n; cut++) {
		char *piece = malloc(cut ? cut : 1);
		memcpy(piece, whole, cut);
		enum chunk_json_refusal why = CHUNK_JSON_OK;
		struct chunk_json *j = chunk_json_parse(piece, cut, &why);
		cr_expect_null(j, "cut at %zu parsed", cut);
		cr_expect_neq(why, CHUNK_JSON_OK);
		chunk_json_free(j);
		free(piece);
	}
	struct chunk_json *j = chunk_json_parse(whole, n, NULL);
	cr_expect_not_null(j);
	chunk_json_free(j);
	/* one value, then whitespace only */
	expect_refused("{\"a\":1}x", 8, CHUNK_JSON_SYNTAX, 1);
	expect_refused("{\"a\":1}{\"a\":2}", 14, CHUNK_JSON_SYNTAX, 1);
	expect_refused("", 0, CHUNK_JSON_SYNTAX, 1);
	expect_refused("\xef\xbb\xbf{}", 5, CHUNK_JSON_SYNTAX, 1);
	/* the adapter: an event cut short (the connection ended) is malformed;
	 * an event split across reads is whole once its blank line comes */
	struct observation o;
	struct adapter_parse p;
	const char *cut = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi";
	observation_init(&o);
	adapter_parse_init(&p, API_OPENAI, &o, 1, 0, 1 << 20);
	adapter_parse_feed(&p, 200, cut, strlen(cut), 1000);
	adapter_parse_finish(&p, 200);
	adapter_parse_release(&p);
	cr_expect_eq(o.error, ERR_MALFORMED);
	observation_release(&o);
}

Test(chunk_json, size_and_memory_are_capped)
{
	size_t n = CHUNK_JSON_MAX_BYTES + 1;
	char *s = malloc(n);
	memset(s, ' ', n);
	s[0] = '1';
	expect_refused(s, n, CHUNK_JSON_TOO_LONG, 0);
	/* under the length cap, but millions of empty arrays would take some
	 * 180 MB of nodes: refused once the parse passes its memory cap */
	size_t k = 0;
	s[k++] = '[';
	while (k + 4 < CHUNK_JSON_MAX_BYTES) {
		memcpy(s + k, "[],", 3);
		k += 3;
	}
	memcpy(s + k, "[]]", 3);
	k += 3;
	expect_refused(s, k, CHUNK_JSON_TOO_LARGE, 0);
	free(s);
	/* and the next parse on this thread is whole again */
	struct chunk_json *j = parse_text("{\"a\":\"b\"}", NULL);
	cr_expect_str_eq(chunk_json_string(chunk_json_get(j, "a")), "b");
	chunk_json_free(j);
}

Test(chunk_json, a_chunk_bigger_than_the_arena_spills_and_two_documents_can_live)
{
	size_t n = CHUNK_JSON_ARENA_BYTES * 3;
	char *s = malloc(n + 16);
	strcpy(s, "{\"t\":\"");
	memset(s + 6, 'x', n);
	strcpy(s + 6 + n, "\"}");
	struct chunk_json *big = parse_text(s, NULL);
	cr_assert_not_null(big);
	/* a second document while the first holds the arena: on the heap */
	struct chunk_json *small = parse_text("{\"a\":[1,2,3]}", NULL);
	cr_assert_not_null(small);
	cr_expect_eq(chunk_json_string_length(chunk_json_get(big, "t")), n);
	cr_expect_eq(chunk_json_size(chunk_json_get(small, "a")), 3);
	chunk_json_free(big);
	cr_expect_eq(chunk_json_integer(chunk_json_at(chunk_json_get(small, "a"), 2)), 3);
	chunk_json_free(small);
	free(s);
}

static void *
parse_many_cb(void *arg)
{
	const char *tag = arg;
	char doc[64];
	snprintf(doc, sizeof doc, "{\"tag\":\"%s\",\"v\":[1,2,3]}", tag);
	for (int i = 0; i < 20000; i++) {
		struct chunk_json *j = parse_text(doc, NULL);
		if (j == NULL || strcmp(chunk_json_string(chunk_json_get(j, "tag")), tag) != 0)
			return (void *)1;
		chunk_json_free(j);
	}
	return NULL;
}

Test(chunk_json, threads_parse_in_arenas_of_their_own)
{
	pthread_t a, b;
	void *ra = NULL, *rb = NULL;
	pthread_create(&a, NULL, parse_many_cb, (void *)"alpha");
	pthread_create(&b, NULL, parse_many_cb, (void *)"beta");
	pthread_join(a, &ra);
	pthread_join(b, &rb);
	cr_expect_null(ra);
	cr_expect_null(rb);
}

Test(chunk_json, dumps_writes_compact_json_as_it_came)
{
	const char *s = "{ \"city\" : \"Par\\u00eds\", \"n\": [1, 2.5, -3e2, true, null],"
	                " \"o\": {\"q\": \"\\\"x\\\"\\n\"} }";
	struct chunk_json *j = parse_text(s, NULL);
	cr_assert_not_null(j);
	char *d = chunk_json_dumps(j);
	cr_assert_not_null(d);
	/* -3e2 is a real, written -300.0 (as jansson wrote it; cJSON wrote
	 * -300); the tool arguments a body carries are kept so, and compared
	 * as JSON values, where the two are one number */
	cr_expect_str_eq(d, "{\"city\":\"Par\xc3\xads\",\"n\":[1,2.5,-300.0,true,null],"
	                    "\"o\":{\"q\":\"\\\"x\\\"\\n\"}}");
	json_t *a = json_loads(d, 0, NULL);
	cr_expect_not_null(a, "jansson reads it back: %s", d);
	json_decref(a);
	free(d);
	/* a value inside: written alone */
	d = chunk_json_dumps(chunk_json_get(j, "o"));
	cr_expect_str_eq(d, "{\"q\":\"\\\"x\\\"\\n\"}");
	free(d);
	chunk_json_free(j);
}

Test(chunk_json, two_small_documents_can_live_at_once)
{
	/* the second gets a parser of its own (the first holds the thread's),
	 * whatever its length */
	struct chunk_json *a = parse_text("{\"a\":1}", NULL);
	cr_assert_not_null(a);
	const char *seconds[] = {"1", "{\"b\":\"two\"}", "[\"x\",2,null,{\"k\":\"v\"}]"};
	for (size_t i = 0; i < sizeof seconds / sizeof seconds[0]; i++) {
		enum chunk_json_refusal why = CHUNK_JSON_OK;
		struct chunk_json *b = parse_text(seconds[i], &why);
		cr_expect_not_null(b, "%s: %s", seconds[i], chunk_json_refusal_text(why));
		chunk_json_free(b);
	}
	cr_expect_eq(chunk_json_integer(chunk_json_get(a, "a")), 1);
	chunk_json_free(a);
}
