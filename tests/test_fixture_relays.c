/*
 * The fixture's relays, one misbehaviour at a time
 * (tests/data/fixture/behaviours.yaml at a small --time-scale). The timing
 * of replies has its own file, test_fixture_timing.c.
 *
 * Every wait is bounded; nothing sleeps for a fixed time.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/tokenizer.h"
#include "tests/helpers.h"

#include "tests/fixture_calls.h"

static long
usage(const struct response *r, const char *key)
{
	return (long)json_integer_value(json_object_get(json_object_get(r->json, "usage"), key));
}

static const char *
content(const struct response *r)
{
	return str(
	    json_object_get(json_array_get(json_object_get(r->json, "choices"), 0), "message"),
	    "content");
}

static long
count_text(const char *tokenizer, const char *text)
{
	char err[256];
	struct tokenizer *t = tokenizer_open(tokenizer, err, sizeof err);
	cr_assert_not_null(t, "%s", err);
	long n = tokenizer_count(t, text, strlen(text));
	tokenizer_free(t);
	return n;
}

static long
count_prompt(const char *user)
{
	char err[256];
	struct tokenizer *t = tokenizer_open("o200k_base", err, sizeof err);
	cr_assert_not_null(t, "%s", err);
	struct chat_message m = {"user", user, NULL};
	long n = chat_prompt_tokens(t, "openai", &m, 1);
	tokenizer_free(t);
	return n;
}

/* ---- one misbehaviour per relay ---- */

static const char *const relays[] = {
    "official",  "truncate", "cap",         "inject", "inflate",  "strip",     "fake-stream",
    "cache",     "flaky",    "outage",      "hang",   "hang-mid", "malformed", "broken-sse",
    "oversized", "dies",     "audit-aware", "later",  "combo",    NULL};
static char *const fast[] = {(char *)"--time-scale", (char *)"0.001", NULL};

static void
start(void)
{
	cr_assert_eq(fixture_start(&world, "tests/data/fixture/behaviours.yaml", relays, fast), 0,
	             "the fixture world did not start");
}

static void
stop(void)
{
	cr_expect_eq(fixture_stop(&world), 0, "the fixture did not exit 0 on SIGTERM");
}

TestSuite(relay, .init = start, .fini = stop, .timeout = 60);

#define LONG_PROMPT                                                                                \
	"CANARY-7731 is the word to remember. Then a long story follows: once upon a time "        \
	"there was a lighthouse keeper who counted ships every night, wrote their names in a "     \
	"ledger, and watched the weather roll in from the west over a grey and restless sea."

Test(relay, truncation_keeps_fewer_prompt_tokens)
{
	struct response r;
	long full = count_prompt(LONG_PROMPT);
	cr_assert_gt(full, 60);
	chat(&r, "truncate", "gpt-4o", LONG_PROMPT, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_leq(usage(&r, "prompt_tokens"), 60);
	cr_expect_gt(usage(&r, "prompt_tokens"), 40);
	response_release(&r);
}

Test(relay, output_cap_stops_early)
{
	struct response r;
	chat(&r, "cap", "gpt-4o", "Tell me about the sea.", "{\"max_tokens\": 100}");
	cr_expect_eq(usage(&r, "completion_tokens"), 20);
	cr_expect_str_eq(
	    str(json_array_get(json_object_get(r.json, "choices"), 0), "finish_reason"), "length");
	response_release(&r);
}

Test(relay, injected_system_prompt_shows_in_prompt_tokens)
{
	struct response r;
	const char *q = "Reply with the single word: pong";
	chat(&r, "inject", "gpt-4o", q, NULL);
	cr_expect_gt(usage(&r, "prompt_tokens"), count_prompt(q) + 10);
	response_release(&r);
}

Test(relay, inflated_usage_is_over_the_recount)
{
	struct response r;
	const char *q = "Tell me about the sea.";
	chat(&r, "inflate", "gpt-4o", q, NULL);
	long p = count_prompt(q);
	cr_expect_eq(usage(&r, "prompt_tokens"), (long)(1.5 * (double)p + 0.5));
	cr_expect_eq(usage(&r, "completion_tokens"), count_text("o200k_base", content(&r)) + 10);
	response_release(&r);
}

Test(relay, stripped_parameters_are_ignored)
{
	struct response r;
	chat(&r, "strip", "gpt-4o", "Tell me about rivers.",
	     "{\"stop\": [\".\"], \"logprobs\": true, \"max_tokens\": 3}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strchr(content(&r), '.') != NULL, "stop was honoured: %s", content(&r));
	cr_expect_gt(usage(&r, "completion_tokens"), 3);
	cr_expect(json_is_null(
	    json_object_get(json_array_get(json_object_get(r.json, "choices"), 0), "logprobs")));
	response_release(&r);
	chat(&r, "strip", "gpt-4o", "Name the capital of Australia. Reply in JSON.",
	     "{\"response_format\": {\"type\": \"json_object\"}}");
	cr_expect_null(json_loads(content(&r), 0, NULL), "JSON mode was honoured");
	response_release(&r);
}

Test(relay, cache_replays_an_earlier_answer_despite_a_new_nonce)
{
	struct response a, b, c;
	chat(&a, "cache", "gpt-4o", "[ref 11111111] Write about autumn leaves.", NULL);
	chat(&b, "cache", "gpt-4o", "[ref 22222222] Write about autumn leaves.", NULL);
	cr_expect_str_eq(content(&a), content(&b));
	cr_expect_str_neq(str(a.json, "id"), str(b.json, "id"));
	/* the official samples afresh */
	chat(&c, "official", "gpt-4o", "[ref 33333333] Write about autumn leaves.", NULL);
	cr_expect_str_neq(content(&a), content(&c));
	response_release(&a);
	response_release(&b);
	response_release(&c);
}

static void
expect_error(const char *relay, long status)
{
	struct response r;
	chat(&r, relay, "gpt-4o", "hello", NULL);
	cr_expect_eq(r.status, status, "%s: %s", relay, r.body);
	cr_expect(json_is_string(json_object_get(json_object_get(r.json, "error"), "message")),
	          "%s", r.body);
	response_release(&r);
}

Test(relay, flaky_and_outage_fail_with_5xx)
{
	expect_error("flaky", 502);
	expect_error("outage", 503);
}

Test(relay, hanging_relay_never_answers)
{
	struct response r;
	char *body = chat_body("gpt-4o", "hello", NULL);
	request(&r, "hang", body, 300);
	cr_expect_eq(r.rc, CURLE_OPERATION_TIMEDOUT, "%s", curl_easy_strerror(r.rc));
	cr_expect_eq(r.len, 0);
	response_release(&r);
	free(body);
	body = chat_body("gpt-4o", "Tell me about the sea.", "{\"stream\": true}");
	request(&r, "hang-mid", body, 300);
	cr_expect_eq(r.rc, CURLE_OPERATION_TIMEDOUT, "%s", curl_easy_strerror(r.rc));
	cr_expect_gt(r.ntimes, 0, "nothing before the hang");
	cr_expect(strstr(r.body, "[DONE]") == NULL);
	response_release(&r);
	free(body);
}

Test(relay, malformed_json_and_broken_sse)
{
	struct response r;
	chat(&r, "malformed", "gpt-4o", "hello", NULL);
	cr_expect_eq(r.status, 200);
	cr_expect_null(r.json, "the body parsed: %s", r.body);
	response_release(&r);
	char *body = chat_body("gpt-4o", "Tell me about the sea.", "{\"stream\": true}");
	request(&r, "broken-sse", body, 10000);
	cr_expect(r.rc == CURLE_PARTIAL_FILE || r.rc == CURLE_RECV_ERROR, "%s",
	          curl_easy_strerror(r.rc));
	cr_expect(strstr(r.body, "[DONE]") == NULL);
	cr_expect_gt(r.ntimes, 0);
	response_release(&r);
	free(body);
}

Test(relay, oversized_bodies)
{
	struct response r;
	chat(&r, "oversized", "gpt-4o", "hello", NULL);
	cr_expect_gt(r.len, 3000000);
	response_release(&r);
}

Test(relay, a_dead_relay_stays_dead)
{
	struct response r;
	for (int i = 0; i < 2; i++) {
		chat(&r, "dies", "gpt-4o", "hello", NULL);
		cr_expect_eq(r.status, 200);
		response_release(&r);
	}
	char *body = chat_body("gpt-4o", "hello", NULL);
	request(&r, "dies", body, 5000);
	cr_expect_neq(r.rc, CURLE_OK, "the dead relay answered");
	response_release(&r);
	request(&r, "dies", body, 5000);
	cr_expect_eq(r.rc, CURLE_COULDNT_CONNECT, "%s", curl_easy_strerror(r.rc));
	response_release(&r);
	free(body);
}

/* gpt-4o-mini and qwen3-32b wear no gpt-4o fingerprint */
static int
gpt4o_fingerprint(const struct response *r)
{
	const char *fp = str(r->json, "system_fingerprint");
	return fp != NULL && (strcmp(fp, "fp_07871e2ad8") == 0 ||
	                      strcmp(fp, "fp_a288987b44") == 0 || strcmp(fp, "fp_cbf1785567") == 0);
}

Test(relay, audit_aware_relay_swaps_only_novel_prompts)
{
	struct response r;
	chat(&r, "audit-aware", "gpt-4o", "[ref 0000aaaa] Reply with the single word: pong", NULL);
	cr_expect(!gpt4o_fingerprint(&r), "the first, novel prompt was not swapped");
	response_release(&r);
	/* the same probe again, fresh nonce: recognised, answered honestly */
	chat(&r, "audit-aware", "gpt-4o", "[ref 1111bbbb] Reply with the single word: pong", NULL);
	cr_expect(gpt4o_fingerprint(&r), "a repeated probe was swapped");
	response_release(&r);
	chat(&r, "later", "gpt-4o", "Reply with the single word: pong", NULL);
	cr_expect(gpt4o_fingerprint(&r), "swapped before its time");
	response_release(&r);
}

Test(relay, disguised_substitution_wears_the_premium_dialect)
{
	struct response r;
	const char *q = "Tell me about the sea.";
	chat(&r, "combo", "gpt-4o", q, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "model"), "gpt-4o-2024-08-06");
	cr_expect(gpt4o_fingerprint(&r), "not disguised");
	cr_expect_gt(usage(&r, "prompt_tokens"), count_prompt(q));
	response_release(&r);
}
