/*
 * Gemini's OpenAI-compatible endpoint (https://generativelanguage.googleapis.com
 * /v1beta/openai/, the OpenAI wire with Gemini models and a Gemini key as the
 * bearer): the fixture's (fixtures/gemini_openai.h) as strict as Google's, in
 * Google's words inside a JSON array; the request rules for a Gemini model on
 * Chat Completions (reasoning_effort "none", since the endpoint refuses
 * "minimal"); and `assay audit` over it: genuine, with no finding, where the
 * endpoint's own usage (the thinking in total_tokens alone) once read as
 * usage inflation and every request was refused for its effort. The openai
 * SDK reads the same endpoint in tests/sdk/gemini_openai.test.mjs.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/adapter.h"
#include "scoring/baseline.h"
#include "tests/helpers.h"

static const char *const need[] = {"gemini-official", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "gemini-openai", "tests/data/fixture/google.yaml", need, "0.05");
}

static void
teardown(void)
{
	cr_expect_eq(test_world_stop(&env), 0, "the fixture did not stop cleanly on SIGTERM");
}

#define CHAT "/v1beta/openai/chat/completions"
static const char *const bearer[] = {"Authorization: Bearer gemini-key",
                                     "Content-Type: application/json", NULL};

/* POST body to the endpoint's chat/completions with headers; the body
 * parsed (any JSON) and the status. */
static json_t *
post(const char *body, const char *const *headers, long *status)
{
	struct http_response r;
	fixture_send(&r, &env.world, "gemini-official", CHAT, body, headers, 20000);
	cr_assert_eq(r.rc, CURLE_OK);
	*status = r.status;
	json_t *j = json_loads(r.body ? r.body : "", JSON_DECODE_ANY, NULL);
	cr_assert_not_null(j, "not JSON: %s", r.body);
	http_response_release(&r);
	return j;
}

/* The error object of a refusal: Google's, the one element of an array. */
static json_t *
google_error(json_t *j)
{
	cr_assert(json_is_array(j) && json_array_size(j) == 1, "not an array of one: %s",
	          json_dumps(j, 0));
	json_t *e = json_object_get(json_array_get(j, 0), "error");
	cr_assert(json_is_object(e));
	return e;
}

static const char *
message_of(json_t *j)
{
	return json_string_value(json_object_get(google_error(j), "message"));
}

#define PONG "\"messages\":[{\"role\":\"user\",\"content\":\"Say pong\"}]"

Test(gemini_openai, refusals_in_google_words_inside_an_array, .init = setup, .fini = teardown,
     .timeout = 60)
{
	long status;
	json_t *j =
	    post("{\"model\":\"gemini-3-flash-preview\"," PONG ",\"google\":{}}", bearer, &status);
	cr_expect_eq(status, 400);
	json_t *e = google_error(j);
	cr_expect_str_eq(json_string_value(json_object_get(e, "status")), "INVALID_ARGUMENT");
	cr_expect_str_eq(message_of(j), "Invalid JSON payload received. Unknown name \"google\": "
	                                "Cannot find field.");
	json_t *v = json_array_get(
	    json_object_get(json_array_get(json_object_get(e, "details"), 0), "fieldViolations"),
	    0);
	cr_expect_str_eq(json_string_value(json_object_get(v, "description")), message_of(j));
	cr_expect_null(json_object_get(v, "field"), "a top-level name has no field");
	json_decref(j);

	j = post("{\"model\":\"gemini-3-flash-preview\"," PONG ",\"reasoning_effort\":\"minimal\"}",
	         bearer, &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(message_of(j), "Invalid reasoning_effort: minimal. Valid values are: "
	                                "high, low, medium, none");
	json_decref(j);

	j = post("{\"model\":\"gemini-3-flash-preview\"," PONG ",\"temperature\":\"hot\"}", bearer,
	         &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(message_of(j), "Invalid value at 'temperature' (TYPE_FLOAT), \"hot\"");
	json_decref(j);

	j = post("{\"model\":\"gemini-9\"," PONG "}", bearer, &status);
	cr_expect_eq(status, 404);
	cr_expect_str_eq(json_string_value(json_object_get(google_error(j), "status")),
	                 "NOT_FOUND");
	cr_expect(strncmp(message_of(j),
	                  "models/gemini-9 is not found for API version v1main, or is not "
	                  "supported for generateContent.",
	                  90) == 0,
	          "%s", message_of(j));
	json_decref(j);

	static const char *const wrong[] = {"Authorization: Bearer nope", NULL};
	j = post("{\"model\":\"gemini-3-flash-preview\"," PONG "}", wrong, &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(message_of(j), "API key not valid. Please pass a valid API key.");
	json_decref(j);

	/* the current models refuse logprobs here as on generateContent */
	j = post("{\"model\":\"gemini-3-flash-preview\"," PONG ",\"logprobs\":true}", bearer,
	         &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(message_of(j),
	                 "Logprobs is not enabled for models/gemini-3-flash-preview");
	json_decref(j);
}

/* An answer as Google's endpoint writes it: its id, the model as asked (with
 * or without models/), no OpenAI-only fields, the thinking in total_tokens
 * alone. */
Test(gemini_openai, answers_carry_googles_ids_and_usage, .init = setup, .fini = teardown,
     .timeout = 60)
{
	long status;
	json_t *j = post("{\"model\":\"models/gemini-3-flash-preview\"," PONG
	                 ",\"max_tokens\":4000,\"reasoning_effort\":\"high\"}",
	                 bearer, &status);
	cr_assert_eq(status, 200, "%s", json_dumps(j, 0));
	const char *id = json_string_value(json_object_get(j, "id"));
	cr_expect(id != NULL && strlen(id) == 23 &&
	              strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
	                         "nopqrstuvwxyz0123456789-_") == 23,
	          "id %s", id);
	cr_expect_str_eq(json_string_value(json_object_get(j, "model")), "gemini-3-flash-preview");
	cr_expect_str_eq(json_string_value(json_object_get(j, "object")), "chat.completion");
	cr_expect_null(json_object_get(j, "system_fingerprint"));
	json_t *u = json_object_get(j, "usage");
	json_int_t p = json_integer_value(json_object_get(u, "prompt_tokens"));
	json_int_t c = json_integer_value(json_object_get(u, "completion_tokens"));
	json_int_t t = json_integer_value(json_object_get(u, "total_tokens"));
	cr_expect_gt(t, p + c, "high effort thinks, counted in total_tokens alone: %s",
	             json_dumps(u, 0));
	cr_expect_null(json_object_get(u, "completion_tokens_details"));
	json_decref(j);
}

/* Chat Completions' rules for Gemini 3 Flash: the least effort the
 * endpoint takes ("none"), where its own API is asked for MINIMAL; the room
 * kept for thinking stays minimal's. */
Test(gemini_openai, a_gemini_model_is_asked_for_effort_none_on_chat_completions)
{
	char err[512];
	struct baseline_pack *pack = baseline_load_default(err, sizeof err);
	cr_assert_not_null(pack, "%s", err);
	const struct baseline_model *m = baseline_find(pack, "gemini-3-flash-preview");
	cr_assert_not_null(m);
	struct request_rules r;
	baseline_request_rules(m, &r);
	cr_expect_str_eq(r.effort, "minimal");
	cr_expect_str_eq(r.effort_chat, "none");
	cr_expect_gt(r.reserve, 0, "none is Flash's minimal level: it still thinks");
	cr_expect(m->reasoning.chat_total_only);
	static const struct probe_message msgs[] = {{"user", "Say pong"}};
	struct probe_call call = {.model = "gemini-3-flash-preview",
	                          .messages = msgs,
	                          .n_messages = 1,
	                          .max_tokens = 16,
	                          .temperature = -1,
	                          .seed = -1,
	                          .rules = &r};
	char *s = adapter_body(API_OPENAI, &call, NULL);
	json_t *j = json_loads(s, 0, NULL);
	cr_expect_str_eq(json_string_value(json_object_get(j, "reasoning_effort")), "none");
	json_decref(j);
	free(s);
	s = adapter_body(API_GEMINI, &call, NULL);
	cr_expect(strstr(s, "\"MINIMAL\"") != NULL, "Gemini's own API keeps its level: %s", s);
	free(s);
	/* a model whose efforts are OpenAI's words gets no second word */
	baseline_request_rules(baseline_find(pack, "gpt-5.5"), &r);
	cr_expect_str_eq(r.effort_chat, "");
	/* and the pack keeps both facts through its JSON */
	json_t *pj = baseline_pack_to_json(pack);
	char *text = json_dumps(pj, JSON_COMPACT);
	struct baseline_pack *back =
	    baseline_load_string(text, strlen(text), "pack", err, sizeof err);
	cr_assert_not_null(back, "%s", err);
	const struct baseline_model *b = baseline_find(back, "gemini-3-flash-preview");
	cr_expect_eq(b->reasoning.n_chat_efforts, 4);
	cr_expect(b->reasoning.chat_total_only);
	baseline_free(back);
	free(text);
	json_decref(pj);
	baseline_free(pack);
}

/* `assay audit --json` of the endpoint's base URL as Google's guide gives
 * it; the exit status, the report in *j. */
static int
audit(json_t **j, const char *key)
{
	char *base = xasprintf("%s/v1beta/openai/", fixture_url(&env.world, "gemini-official"));
	const char *const fixed[] = {"--model", "gemini-3-flash-preview", "--time-scale", "0.05",
	                             NULL};
	int rc = test_audit_json(j, 90000, key, fixed, "--base-url", base, NULL);
	free(base);
	return rc;
}

Test(gemini_openai, audit_of_the_official_endpoint_is_genuine, .init = setup, .fini = teardown,
     .timeout = 120)
{
	json_t *j;
	int rc = audit(&j, "gemini-key");
	cr_expect_eq(rc, 0);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "genuine", "%s",
	                 json_string_value(json_object_get(j, "reason")));
	cr_expect_eq(json_array_size(json_object_get(j, "findings")), 0, "findings: %s",
	             json_dumps(json_object_get(j, "findings"), 0));
	cr_expect_str_eq(json_string_value(json_object_get(j, "api")), "openai");
	const char *ep = json_string_value(json_object_get(j, "endpoint"));
	cr_expect(ep != NULL && strstr(ep, "/v1beta/openai/chat/completions") != NULL,
	          "endpoint %s", ep);
	cr_expect_eq(json_integer_value(json_object_get(j, "ok_requests")),
	             json_integer_value(json_object_get(j, "requests")),
	             "every request answered (none refused for its effort)");
	/* its model list, "models/gemini-…", names the model */
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(j, "model_list"), "status")),
	    "listed");
	json_decref(j);
}

Test(gemini_openai, a_wrong_key_is_an_auth_failure, .init = setup, .fini = teardown, .timeout = 120)
{
	json_t *j;
	int rc = audit(&j, "not-the-key");
	cr_expect_eq(rc, 3);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "unreachable");
	json_t *f = json_array_get(json_object_get(j, "findings"), 0);
	const char *observed =
	    json_string_value(json_object_get(json_object_get(f, "evidence"), "observed"));
	cr_expect(observed != NULL && strstr(observed, "auth ") != NULL, "observed: %s", observed);
	json_decref(j);
}
