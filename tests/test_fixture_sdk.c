/*
 * The fixture's wire format as the official SDKs see it: starts the fixture
 * (tests/data/fixture/sdk.yaml), counts the expected usage of every case in
 * tests/sdk/cases.json with the real tokenizers (the Claude cases with the
 * fixture's simulated one, fixtures/simtok.h, as its Claude models count),
 * then runs
 * tests/sdk/sdk.test.mjs (openai and @anthropic-ai/sdk from npm, pinned by
 * tests/sdk/package-lock.json and installed with `npm ci`) and
 * tests/sdk/google.test.mjs (@google/genai against the Gemini API,
 * @anthropic-ai/vertex-sdk against Vertex AI; the Gemini cases counted with
 * the fixture's gemini-sim), and tests/sdk/gemini_openai.test.mjs (openai
 * against Gemini's OpenAI-compatible endpoint).
 *
 * Skipped when node or npm is not installed; fails when `npm ci` or any SDK
 * check fails. Every wait is bounded.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "fixtures/simtok.h"
#include "scoring/tokenizer.h"
#include "tests/helpers.h"

static const char *const need[] = {"official",        "honest",          "azure-official",
                                   "gemini-official", "vertex-official", NULL};

/* A case's tokenizer: a real one, or the simulated claude-sim. */
struct counter {
	struct tokenizer *t;
	struct simtok *sim;
};

static void
counter_open(struct counter *k, const json_t *c)
{
	char err[256];
	const char *name = json_string_value(json_object_get(c, "tokenizer"));
	cr_assert_not_null(name, "a case without a tokenizer");
	k->t = NULL;
	k->sim = NULL;
	if (simtok_known(name))
		k->sim = simtok_open(name, err, sizeof err);
	else
		k->t = tokenizer_open(name, err, sizeof err);
	cr_assert(k->t != NULL || k->sim != NULL, "%s", err);
}

static void
counter_close(struct counter *k)
{
	tokenizer_free(k->t);
	simtok_free(k->sim);
}

static long
count_prompt(const json_t *c)
{
	struct counter k;
	counter_open(&k, c);
	const json_t *msgs = json_object_get(c, "messages");
	size_t n = json_array_size(msgs);
	struct chat_message *m = xcalloc(n + 1, sizeof *m);
	for (size_t i = 0; i < n; i++) {
		m[i].role = json_string_value(json_object_get(json_array_get(msgs, i), "role"));
		m[i].content =
		    json_string_value(json_object_get(json_array_get(msgs, i), "content"));
	}
	long r =
	    k.sim != NULL
	        ? simtok_prompt_tokens(k.sim, m, n)
	        : chat_prompt_tokens(k.t, json_string_value(json_object_get(c, "family")), m, n);
	free(m);
	counter_close(&k);
	return r;
}

static long
count_text(const json_t *c)
{
	struct counter k;
	counter_open(&k, c);
	const char *s = json_string_value(json_object_get(c, "text"));
	long r =
	    k.sim != NULL ? simtok_count(k.sim, s, strlen(s)) : tokenizer_count(k.t, s, strlen(s));
	counter_close(&k);
	return r;
}

/* {id: count} for every case, as JSON text (caller frees). */
static char *
expectations(void)
{
	json_error_t jerr;
	json_t *cases = json_load_file("tests/sdk/cases.json", 0, &jerr);
	cr_assert_not_null(cases, "tests/sdk/cases.json: %s", jerr.text);
	json_t *out = json_object();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(cases, "prompts"), i, c)
	{
		long k = count_prompt(c);
		cr_assert_gt(k, 0);
		json_object_set_new(out, json_string_value(json_object_get(c, "id")),
		                    json_integer(k));
	}
	json_array_foreach(json_object_get(cases, "texts"), i, c)
	{
		long k = count_text(c);
		cr_assert_gt(k, 0);
		json_object_set_new(out, json_string_value(json_object_get(c, "id")),
		                    json_integer(k));
	}
	char *s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	json_decref(cases);
	return s;
}

Test(sdk, official_sdks_parse_every_response, .timeout = 600)
{
	char *node = test_node("tests/sdk", "for the SDK test");

	struct fixture world;
	fixture_start_scaled(&world, "tests/data/fixture/sdk.yaml", need, "0.01");
	char *expect = expectations();
	setenv("ASSAY_OFFICIAL", fixture_url(&world, "official"), 1);
	setenv("ASSAY_RELAY", fixture_url(&world, "honest"), 1);
	setenv("ASSAY_AZURE", fixture_url(&world, "azure-official"), 1);
	setenv("ASSAY_GEMINI", fixture_url(&world, "gemini-official"), 1);
	setenv("ASSAY_VERTEX", fixture_url(&world, "vertex-official"), 1);
	setenv("ASSAY_KEY", "sk-sdk-test", 1);
	setenv("ASSAY_EXPECT", expect, 1);
	char *run[] = {node,
	               (char *)"--test",
	               (char *)"--test-reporter=spec",
	               (char *)"tests/sdk/sdk.test.mjs",
	               (char *)"tests/sdk/google.test.mjs",
	               (char *)"tests/sdk/gemini_openai.test.mjs",
	               NULL};
	char *out = NULL, *err = NULL;
	int rc = run_capture(run, 300000, &out, &err);
	cr_expect_eq(rc, 0, "SDK checks failed (exit %d):\n%s\n%s", rc, out ? out : "",
	             err ? err : "");
	free(out);
	free(err);
	free(expect);
	cr_expect_eq(fixture_stop(&world), 0, "the fixture did not exit 0 on SIGTERM");
	free(node);
}
