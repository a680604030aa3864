/*
 * Gemini's own API as a wire (probes/adapter_gemini.c) and as the fixture
 * serves it (fixtures/gemini.h): the request body and URL for each intent,
 * whole and streamed answers and Google's errors into observations, the
 * fixture's strictness (unknown and ill-typed fields, keys, models) as
 * Google words it, and audits of the fixture's gemini-official: genuine
 * with no protocol hint, streamed and not; a wrong key is an auth failure
 * on every request; ListModels in pages, read by the audit. Gemini's
 * OpenAI-compatible endpoint: its base URL and
 * its array-wrapped errors.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "probes/adapter.h"
#include "probes/endpoint.h"
#include "scoring/baseline.h"
#include "tests/helpers.h"

static void
parse(int stream, int status, const char *body, size_t piece, struct observation *o)
{
	struct adapter_parse p;
	observation_init(o);
	adapter_parse_init(&p, API_GEMINI, o, stream, 0, 1 << 20);
	size_t len = strlen(body);
	for (size_t i = 0; i < len; i += piece) {
		size_t n = len - i < piece ? len - i : piece;
		if (adapter_parse_feed(&p, status, body + i, n, (int64_t)(1000 * (i + 1))) != 0)
			break;
	}
	adapter_parse_finish(&p, status);
	adapter_parse_release(&p);
}

static json_t *
body_of(const struct probe_call *c)
{
	const char *why = "unset";
	char *s = adapter_body(API_GEMINI, c, &why);
	cr_assert_not_null(s, "%s", why);
	json_t *j = json_loads(s, 0, NULL);
	cr_assert_not_null(j, "%s", s);
	free(s);
	return j;
}

/* ---- requests ---- */

Test(gemini, request_body_in_gemini_own_fields)
{
	static const struct probe_message msgs[] = {
	    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}, {"user", "Say pong"}};
	static const char *const stop[] = {"END"};
	struct request_rules rules = {.effort = "minimal"};
	struct probe_call c = {.model = "gemini-3-flash-preview",
	                       .messages = msgs,
	                       .n_messages = 4,
	                       .max_tokens = 16,
	                       .temperature = 0,
	                       .seed = 7,
	                       .intent = {.stop = stop, .n_stop = 1, .json_object = 1},
	                       .rules = &rules};
	json_t *j = body_of(&c);
	cr_expect_null(json_object_get(j, "model"), "the URL names the model, not the body");
	cr_expect_str_eq(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(json_object_get(j, "systemInstruction"), "parts"),
	                       0),
	        "text")),
	    "Be brief.");
	json_t *contents = json_object_get(j, "contents");
	cr_assert_eq(json_array_size(contents), 3);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(contents, 1), "role")),
	                 "model");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(contents, 2), "role")),
	                 "user");
	json_t *gc = json_object_get(j, "generationConfig");
	cr_expect_eq(json_integer_value(json_object_get(gc, "maxOutputTokens")), 16);
	cr_expect_eq(json_integer_value(json_object_get(gc, "seed")), 7);
	cr_expect(json_is_number(json_object_get(gc, "temperature")));
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(gc, "stopSequences"), 0)),
	                 "END");
	cr_expect_str_eq(json_string_value(json_object_get(gc, "responseMimeType")),
	                 "application/json");
	cr_expect_null(json_object_get(gc, "responseLogprobs"));
	/* logprobs: Gemini's current models refuse them, the probe is skipped */
	struct request_intent lp = {.top_logprobs = 2};
	cr_expect_not_null(adapter_cannot(API_GEMINI, &lp));
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(gc, "thinkingConfig"),
	                                                   "thinkingLevel")),
	                 "MINIMAL");
	json_decref(j);
}

Test(gemini, a_required_tool_call_is_a_function_declaration_with_mode_any)
{
	static const struct probe_message msgs[] = {{"user", "run it"}};
	struct probe_call c = {
	    .model = "gemini-3-flash-preview",
	    .messages = msgs,
	    .n_messages = 1,
	    .max_tokens = -1,
	    .temperature = -1,
	    .seed = -1,
	    .intent = {.tool_name = "run_shell",
	               .tool_description = "Run a command",
	               .tool_schema = "{\"type\":\"object\",\"properties\":{\"command\":{\"type\":"
	                              "\"string\"}},\"required\":[\"command\"]}",
	               .tool_choice = TOOL_CHOICE_NAMED}};
	json_t *j = body_of(&c);
	json_t *fn = json_array_get(
	    json_object_get(json_array_get(json_object_get(j, "tools"), 0), "functionDeclarations"),
	    0);
	cr_expect_str_eq(json_string_value(json_object_get(fn, "name")), "run_shell");
	cr_expect_not_null(json_object_get(json_object_get(fn, "parameters"), "properties"));
	json_t *fcc = json_object_get(json_object_get(j, "toolConfig"), "functionCallingConfig");
	cr_expect_str_eq(json_string_value(json_object_get(fcc, "mode")), "ANY");
	cr_expect_str_eq(
	    json_string_value(json_array_get(json_object_get(fcc, "allowedFunctionNames"), 0)),
	    "run_shell");
	cr_expect_eq(json_object_size(json_object_get(j, "generationConfig")), 0,
	             "nothing to configure, and an empty generationConfig as the SDK sends");
	json_decref(j);
	cr_expect_null(adapter_cannot(API_GEMINI, &c.intent));
}

Test(gemini, urls_as_the_sdk_builds_them)
{
	static const struct {
		const char *base, *model;
		int stream;
		const char *want;
	} cases[] = {
	    {"https://generativelanguage.googleapis.com", "gemini-3-flash-preview", 0,
	     "https://generativelanguage.googleapis.com/v1beta/models/"
	     "gemini-3-flash-preview:generateContent"},
	    {"https://generativelanguage.googleapis.com/", "models/gemini-3-flash-preview", 1,
	     "https://generativelanguage.googleapis.com/v1beta/models/"
	     "gemini-3-flash-preview:streamGenerateContent?alt=sse"},
	    {"https://relay.example/gemini/v1beta", "gemini-2.5-pro", 0,
	     "https://relay.example/gemini/v1beta/models/gemini-2.5-pro:generateContent"},
	    {"https://relay.example/v1/models/gemini-2.5-pro:generateContent", "gemini-2.5-pro", 1,
	     "https://relay.example/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse"},
	    {"https://relay.example/g?tenant=a", "gemini-2.5-pro", 1,
	     "https://relay.example/g/v1beta/models/"
	     "gemini-2.5-pro:streamGenerateContent?tenant=a&alt=sse"},
	    {"https://relay.example", "a b/c", 0,
	     "https://relay.example/v1beta/models/a%20b%2fc:generateContent"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *u = endpoint_request_url(API_GEMINI, cases[i].base, cases[i].model,
		                               cases[i].stream);
		cr_expect_str_eq(u, cases[i].want, "%s + %s", cases[i].base, cases[i].model);
		free(u);
	}
	/* Gemini's OpenAI-compatible endpoint is the openai wire at its base */
	char *u =
	    endpoint_url(API_OPENAI, "https://generativelanguage.googleapis.com/v1beta/openai/");
	cr_expect_str_eq(
	    u, "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions");
	free(u);
}

Test(gemini, key_rides_in_x_goog_api_key)
{
	cr_expect_eq(auth_resolve(API_GEMINI, AUTH_DEFAULT), AUTH_GOOG_API_KEY);
	cr_expect_str_eq(auth_header(AUTH_GOOG_API_KEY), "x-goog-api-key");
	cr_expect_eq(auth_from_name("x-goog-api-key"), AUTH_GOOG_API_KEY);
	cr_expect_str_eq(api_name(API_GEMINI), "gemini");
	cr_expect_eq(api_from_name("gemini"), API_GEMINI);
	char err[256];
	cr_expect_eq(
	    endpoint_header_allowed("X-Goog-Api-Key", API_GEMINI, AUTH_DEFAULT, 1, err, sizeof err),
	    -1, "the key's own header cannot be given by hand");
}

/* The names Gemini's users write resolve in the pack, and its reasoning
 * facts make the rules: Gemini 3 Flash thinks at the least level it lists,
 * 2.5 Pro (which cannot stop thinking) gets room for its thinking; a
 * Vertex snapshot name resolves to its Claude. */
Test(gemini, names_resolve_in_the_pack_with_their_thinking_rules)
{
	char err[512];
	struct baseline_pack *pack = baseline_load_default(err, sizeof err);
	cr_assert_not_null(pack, "%s", err);
	static const struct {
		const char *name, *model;
	} names[] = {{"gemini-3-flash-preview", "gemini-3-flash-preview"},
	             {"models/gemini-3-flash-preview", "gemini-3-flash-preview"},
	             {"google/gemini-2.5-pro", "gemini-2.5-pro"},
	             {"gemini-2.5-pro", "gemini-2.5-pro"},
	             {"claude-sonnet-4-5@20250929", "claude-sonnet-4-5"}};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct baseline_model *m = baseline_find(pack, names[i].name);
		cr_expect(m != NULL && strcmp(m->name, names[i].model) == 0, "%s: %s",
		          names[i].name, m ? m->name : "not found");
	}
	struct request_rules r;
	baseline_request_rules(baseline_find(pack, "gemini-3-flash-preview"), &r);
	cr_expect_str_eq(r.effort, "minimal");
	cr_expect_gt(r.reserve, 0);
	baseline_request_rules(baseline_find(pack, "gemini-2.5-pro"), &r);
	cr_expect_str_eq(r.effort, "");
	cr_expect_geq(r.reserve, 1024, "2.5 Pro always thinks: room in every limit");
	baseline_free(pack);
}

/* A Gemini key in the base URL's query (?key=) would be stored and shown
 * with the URL: refused, without quoting it. */
Test(gemini, a_key_in_the_url_is_refused)
{
	char err[512];
	cr_expect_eq(
	    config_check_url("https://generativelanguage.googleapis.com/v1beta?key=AIzaSecret0",
	                     err, sizeof err),
	    -1);
	cr_expect(strstr(err, "--key-env") != NULL && strstr(err, "AIzaSecret0") == NULL, "%s",
	          err);
	cr_expect_eq(config_check_url("https://h/x?a=1&API_KEY=s", err, sizeof err), -1);
	cr_expect_eq(
	    config_check_url("https://h/v1?api-version=2024-10-21&monkey=1", err, sizeof err), 0,
	    "%s", err);
}

/* ---- responses ---- */

Test(gemini, whole_response_with_thoughts)
{
	const char *b =
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"thinking...\",\"thought\":true},"
	    "{\"text\":\"po\"},{\"text\":\"ng\"}],\"role\":\"model\"},\"finishReason\":\"STOP\","
	    "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":2,"
	    "\"thoughtsTokenCount\":30,\"totalTokenCount\":41},\"modelVersion\":"
	    "\"gemini-3-flash-preview\",\"responseId\":\"UxQ6aM_sKbjFnvgPocrJaA\"}";
	struct observation o;
	parse(0, 200, b, 7, &o);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_expect_str_eq(o.text, "pong", "a thought is not the answer");
	cr_expect_eq(o.prompt_tokens, 9);
	cr_expect_eq(o.completion_tokens, 32, "thoughts are billed as output");
	cr_expect_eq(o.reasoning_tokens, 30);
	cr_expect_eq(o.total_tokens, 41);
	cr_expect_str_eq(o.finish_reason, "stop");
	cr_expect_str_eq(o.model, "gemini-3-flash-preview");
	cr_expect_str_eq(o.id, "UxQ6aM_sKbjFnvgPocrJaA");
	observation_release(&o);
}

Test(gemini, function_call_and_max_tokens)
{
	const char *b = "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":"
	                "\"run_shell\",\"args\":{\"command\":\"ls\"}}}],\"role\":\"model\"},"
	                "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3}}";
	struct observation o;
	parse(0, 200, b, 1 << 20, &o);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_expect_str_eq(o.finish_reason, "tool_calls");
	cr_expect_str_eq(o.tool_name, "run_shell");
	cr_expect_str_eq(o.tool_args, "{\"command\":\"ls\"}");
	observation_release(&o);
	parse(0, 200,
	      "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},\"finishReason\":"
	      "\"MAX_TOKENS\"}]}",
	      1 << 20, &o);
	cr_expect_str_eq(o.finish_reason, "length");
	observation_release(&o);
	parse(0, 200, "{\"foo\":1}", 1 << 20, &o);
	cr_expect_eq(o.error, ERR_MALFORMED, "no candidates is no Gemini answer");
	observation_release(&o);
}

Test(gemini, sse_stream_ends_with_its_finish_reason)
{
	const char *s =
	    "data: "
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"po\"}],\"role\":\"model\"},"
	    "\"index\":0}],\"modelVersion\":\"gemini-3-flash-preview\",\"responseId\":\"r1\"}"
	    "\r\n\r\n"
	    "data: "
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ng\"}],\"role\":\"model\"},"
	    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":5,"
	    "\"candidatesTokenCount\":2,\"totalTokenCount\":7}}\r\n\r\n";
	struct observation o;
	parse(1, 200, s, 9, &o);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_expect_str_eq(o.text, "pong");
	cr_expect_eq(o.n_chunks, 2);
	cr_expect_eq(o.prompt_tokens, 5);
	cr_expect_eq(o.completion_tokens, 2);
	cr_expect_str_eq(o.finish_reason, "stop");
	cr_expect_str_eq(o.id, "r1");
	observation_release(&o);
	/* a stream cut before its finish reason never ended */
	parse(1, 200,
	      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"po\"}]}}]}\r\n\r\n", 9,
	      &o);
	cr_expect_eq(o.error, ERR_MALFORMED);
	observation_release(&o);
}

Test(gemini, google_errors_are_classified)
{
	static const struct {
		int status;
		const char *body;
		enum error_class want;
	} cases[] = {
	    {400,
	     "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API "
	     "key.\",\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"reason\":\"API_KEY_INVALID\"}]"
	     "}}",
	     ERR_AUTH},
	    {403,
	     "{\"error\":{\"code\":403,\"message\":\"Method doesn't allow unregistered callers\","
	     "\"status\":\"PERMISSION_DENIED\"}}",
	     ERR_AUTH},
	    {404,
	     "{\"error\":{\"code\":404,\"message\":\"models/x is not found for API version v1beta, "
	     "or is not supported for generateContent.\",\"status\":\"NOT_FOUND\"}}",
	     ERR_NO_MODEL},
	    {429,
	     "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check "
	     "quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
	     ERR_RATE_LIMITED},
	    /* Gemini's OpenAI-compatible endpoint wraps the same in an array */
	    {400,
	     "[{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API "
	     "key.\",\"status\":\"INVALID_ARGUMENT\"}}]",
	     ERR_AUTH},
	    {400,
	     "{\"error\":{\"code\":400,\"message\":\"Invalid JSON payload received. Unknown name "
	     "\\\"x\\\": Cannot find field.\",\"status\":\"INVALID_ARGUMENT\"}}",
	     ERR_HTTP},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct observation o;
		parse(0, cases[i].status, cases[i].body, 1 << 20, &o);
		cr_expect_eq(o.error, cases[i].want, "case %zu: %s, want %s (%s)", i,
		             error_class_name(o.error), error_class_name(cases[i].want),
		             o.error_detail);
		observation_release(&o);
	}
	/* the compat endpoint's array-wrapped error keeps its message */
	struct observation o;
	parse(0, 400, cases[4].body, 1 << 20, &o);
	cr_expect(strstr(o.error_detail, "API key not valid") != NULL, "%s", o.error_detail);
	observation_release(&o);
}

/* Gemini's OpenAI-compatible endpoint, on the openai wire: its reason as
 * finishReason (finish_reason null) and its usage in the last choice's
 * chunk are read; a tool call streamed with finish_reason "stop" (its
 * documented quirk, googleapis/python-genai issue 2868) stays a tool call. */
Test(gemini, openai_compatible_stream_quirks)
{
	const char *s =
	    "data: "
	    "{\"id\":\"x1\",\"object\":\"chat.completion.chunk\",\"model\":\"gemini-2.5-pro\","
	    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"po\"},"
	    "\"finish_reason\":null}]}\n\n"
	    "data: {\"id\":\"x1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
	    "\"delta\":{\"content\":\"ng\"},\"finish_reason\":null,\"finishReason\":\"MAX_TOKENS\"}"
	    "],"
	    "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":6}}\n\n"
	    "data: [DONE]\n\n";
	struct adapter_parse p;
	struct observation o;
	observation_init(&o);
	adapter_parse_init(&p, API_OPENAI, &o, 1, 0, 1 << 20);
	cr_assert_eq(adapter_parse_feed(&p, 200, s, strlen(s), 1000), 0);
	adapter_parse_finish(&p, 200);
	adapter_parse_release(&p);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_expect_str_eq(o.text, "pong");
	cr_expect_str_eq(o.finish_reason, "length");
	cr_expect_eq(o.prompt_tokens, 4);
	cr_expect_eq(o.completion_tokens, 2);
	observation_release(&o);
	const char *t =
	    "data: {\"id\":\"x2\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
	    "\"tool_calls\":[{\"id\":\"function-call-1\",\"index\":0,\"type\":\"function\","
	    "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}"
	    "]},"
	    "\"finish_reason\":\"stop\"}]}\n\n"
	    "data: [DONE]\n\n";
	observation_init(&o);
	adapter_parse_init(&p, API_OPENAI, &o, 1, 0, 1 << 20);
	cr_assert_eq(adapter_parse_feed(&p, 200, t, strlen(t), 1000), 0);
	adapter_parse_finish(&p, 200);
	adapter_parse_release(&p);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_expect_str_eq(o.tool_name, "get_weather");
	cr_expect_str_eq(o.tool_args, "{\"city\":\"Oslo\"}");
	observation_release(&o);
}

/* Gemini 3 streams a function call in one chunk and its STOP in a trailing
 * one with an empty text part (envoyproxy/ai-gateway pull 2399): the
 * finish is still a tool call's. */
Test(gemini, function_call_and_stop_in_separate_chunks)
{
	const char *s =
	    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":"
	    "\"get_weather\",\"args\":{\"city\":\"Oslo\"}},\"thoughtSignature\":\"c2ln\"}]}}],"
	    "\"usageMetadata\":{\"trafficType\":\"ON_DEMAND\"}}\r\n\r\n"
	    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}]},\"finishReason\":"
	    "\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":107,\"candidatesTokenCount\":31,"
	    "\"thoughtsTokenCount\":148,\"totalTokenCount\":286}}\r\n\r\n";
	struct observation o;
	parse(1, 200, s, 11, &o);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_expect_str_eq(o.finish_reason, "tool_calls");
	cr_expect_str_eq(o.tool_args, "{\"city\":\"Oslo\"}");
	cr_expect_eq(o.completion_tokens, 31 + 148);
	cr_expect_eq(o.reasoning_tokens, 148);
	observation_release(&o);
}

/* ---- the fixture's Gemini ---- */

static const char *const need[] = {"gemini-official", "gemini-swap", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "gemini", "tests/data/fixture/google.yaml", need, "0.05");
}

static void
teardown(void)
{
	cr_expect_eq(test_world_stop(&env), 0, "the fixture did not stop cleanly on SIGTERM");
}

/* POST body to the fixture's gemini-official at path, with headers. */
static json_t *
post(const char *path, const char *body, const char *const *headers, long *status)
{
	struct http_response r;
	fixture_send(&r, &env.world, "gemini-official", path, body, headers, 20000);
	cr_assert_eq(r.rc, CURLE_OK);
	*status = r.status;
	json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", r.body);
	http_response_release(&r);
	return j;
}

static const char *const key_ok[] = {"x-goog-api-key: gemini-key", "Content-Type: application/json",
                                     NULL};
#define GENERATE "/v1beta/models/gemini-3-flash-preview:generateContent"

static const char *
error_message(json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "error"), "message"));
}

Test(gemini, fixture_refuses_unknown_and_ill_typed_fields_as_google_does, .init = setup,
     .fini = teardown, .timeout = 60)
{
	long status;
	json_t *j = post(GENERATE,
	                 "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":"
	                 "{\"maxOutputTokens\":5,\"max_tokens\":5}}",
	                 key_ok, &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "status")),
	                 "INVALID_ARGUMENT");
	cr_expect_str_eq(error_message(j),
	                 "Invalid JSON payload received. Unknown name "
	                 "\"max_tokens\" at 'generation_config': Cannot find field.");
	json_decref(j);
	j = post(GENERATE, "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"temperature\":0}",
	         key_ok, &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(error_message(j), "Invalid JSON payload received. Unknown name "
	                                   "\"temperature\": Cannot find field.");
	json_decref(j);
	j = post(GENERATE,
	         "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generation_config\":"
	         "{\"temperature\":\"hot\"}}",
	         key_ok, &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(error_message(j),
	                 "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\"");
	json_decref(j);
	j = post(GENERATE,
	         "{\"contents\":[{\"role\":\"assistant\",\"parts\":[{\"text\":\"hi\"}]}]}", key_ok,
	         &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(error_message(j), "Please use a valid role: user, model.");
	json_decref(j);
	/* snake_case names are Google's too, and accepted */
	j = post(GENERATE,
	         "{\"contents\":[{\"parts\":[{\"text\":\"Say pong\"}]}],\"generation_config\":"
	         "{\"max_output_tokens\":400}}",
	         key_ok, &status);
	cr_expect_eq(status, 200, "%s", error_message(j));
	cr_expect_not_null(json_object_get(j, "candidates"));
	json_decref(j);
}

Test(gemini, fixture_keys_and_models_as_google_answers, .init = setup, .fini = teardown,
     .timeout = 60)
{
	static const char body[] = "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}]}";
	static const char *const wrong[] = {"x-goog-api-key: nope", NULL};
	long status;
	json_t *j = post(GENERATE, body, NULL, &status);
	cr_expect_eq(status, 403);
	cr_expect(strstr(error_message(j), "unregistered callers") != NULL);
	json_decref(j);
	j = post(GENERATE, body, wrong, &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(error_message(j), "API key not valid. Please pass a valid API key.");
	json_decref(j);
	/* ?key= is a key too */
	j = post(GENERATE "?key=gemini-key", body, NULL, &status);
	cr_expect_eq(status, 200);
	json_decref(j);
	/* logprobs, as Google's current models answer them */
	j = post(GENERATE,
	         "{\"contents\":[{\"parts\":[{\"text\":\"hi\"}]}],\"generationConfig\":{"
	         "\"responseLogprobs\":true,\"logprobs\":2}}",
	         key_ok, &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(error_message(j),
	                 "Logprobs is not enabled for models/gemini-3-flash-preview");
	json_decref(j);
	j = post("/v1beta/models/gemini-9:generateContent", body, key_ok, &status);
	cr_expect_eq(status, 404);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "status")),
	                 "NOT_FOUND");
	cr_expect(strstr(error_message(j), "models/gemini-9 is not found for API version v1beta") !=
	          NULL);
	json_decref(j);
}

/* `assay audit --json --api gemini` of endpoint with extra arguments
 * (NULL-terminated); its exit status, the report in *j. */
static int
audit(json_t **j, const char *endpoint, const char *key)
{
	const char *const fixed[] = {"--api",        "gemini", "--model", "gemini-3-flash-preview",
	                             "--time-scale", "0.05",   NULL};
	return test_audit_json(j, 90000, key, fixed, "--base-url",
	                       fixture_url(&env.world, endpoint), NULL);
}

Test(gemini, audit_of_the_official_api_is_genuine, .init = setup, .fini = teardown, .timeout = 120)
{
	json_t *j;
	int rc = audit(&j, "gemini-official", "gemini-key");
	cr_expect_eq(rc, 0);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "genuine", "%s",
	                 json_string_value(json_object_get(j, "reason")));
	cr_expect_eq(json_array_size(json_object_get(j, "findings")), 0, "findings: %s",
	             json_dumps(json_object_get(j, "findings"), 0));
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(j, "hints"), i, h)
	{
		const char *sum =
		    json_string_value(json_object_get(json_object_get(h, "evidence"), "summary"));
		cr_expect(sum != NULL && strstr(sum, "not shaped as") == NULL &&
		              strstr(sum, "names the model") == NULL,
		          "a protocol hint on Gemini's official API: %s", sum);
	}
	cr_expect_str_eq(json_string_value(json_object_get(j, "api")), "gemini");
	cr_expect_str_eq(json_string_value(json_object_get(j, "auth")), "x-goog-api-key");
	const char *ep = json_string_value(json_object_get(j, "endpoint"));
	cr_expect(ep != NULL && strstr(ep, "/v1beta/models/gemini-3-flash-preview:generateContent"),
	          "endpoint %s", ep);
	/* streamed and whole requests both answered */
	cr_expect_eq(json_integer_value(json_object_get(j, "ok_requests")),
	             json_integer_value(json_object_get(j, "requests")));
	json_decref(j);
}

Test(gemini, a_wrong_key_is_an_auth_failure, .init = setup, .fini = teardown, .timeout = 120)
{
	json_t *j;
	int rc = audit(&j, "gemini-official", "not-the-key");
	cr_expect_eq(rc, 3);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "unreachable");
	json_t *f = json_array_get(json_object_get(j, "findings"), 0);
	const char *observed =
	    json_string_value(json_object_get(json_object_get(f, "evidence"), "observed"));
	cr_expect(observed != NULL && strstr(observed, "auth ") != NULL, "observed: %s", observed);
	const char *summary =
	    json_string_value(json_object_get(json_object_get(f, "evidence"), "summary"));
	cr_expect(summary != NULL && strstr(summary, "HTTP 400") != NULL &&
	              strstr(summary, "rejected the API key") != NULL,
	          "summary: %s", summary);
	json_decref(j);
}

/* A relay selling Gemini on Gemini's own API, answering with qwen3-32b in
 * Gemini's shapes: its token counts are qwen3's, exactly. */
Test(gemini, a_substitute_behind_the_gemini_wire_is_caught, .init = setup, .fini = teardown,
     .timeout = 120)
{
	json_t *j;
	int rc = audit(&j, "gemini-swap", "gemini-key");
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "misbehaving", "%s",
	                 json_string_value(json_object_get(j, "reason")));
	int named = 0;
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(j, "findings"), i, f)
	{
		const char *sum =
		    json_string_value(json_object_get(json_object_get(f, "evidence"), "summary"));
		named |=
		    strcmp(json_string_value(json_object_get(f, "class")), "substitution") == 0 &&
		    sum != NULL && strstr(sum, "qwen3") != NULL;
	}
	cr_expect(named, "no substitution finding names qwen3: %s",
	          json_dumps(json_object_get(j, "findings"), 0));
	json_decref(j);
}

/* ListModels (GET /v1beta/models): pages of pageSize names "models/…",
 * the next page's token while more follow, the key as generateContent
 * takes it; an audit of Gemini's own API reads the list. */
Test(gemini, fixture_lists_models_in_pages, .init = setup, .fini = teardown, .timeout = 120)
{
	char url[512];
	long status;
	snprintf(url, sizeof url, "%s/v1beta/models?key=gemini-key&pageSize=1",
	         fixture_url(&env.world, "gemini-official"));
	char *body = http_get(url, &status, NULL);
	cr_assert_eq(status, 200, "%s", body);
	json_t *j = json_loads(body, 0, NULL);
	free(body);
	cr_assert_eq(json_array_size(json_object_get(j, "models")), 1);
	cr_expect_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(j, "models"), 0), "name")),
	                 "models/gemini-3-flash-preview");
	const char *next = json_string_value(json_object_get(j, "nextPageToken"));
	cr_assert_not_null(next, "a second name follows");
	snprintf(url, sizeof url, "%s/v1beta/models?key=gemini-key&pageSize=1&pageToken=%s",
	         fixture_url(&env.world, "gemini-official"), next);
	json_decref(j);
	body = http_get(url, &status, NULL);
	cr_assert_eq(status, 200, "%s", body);
	j = json_loads(body, 0, NULL);
	free(body);
	cr_expect_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(j, "models"), 0), "name")),
	                 "models/gemini-flash-latest");
	cr_expect_null(json_object_get(j, "nextPageToken"), "the last page has no token");
	json_decref(j);
	/* no key: Google's 403 */
	snprintf(url, sizeof url, "%s/v1beta/models", fixture_url(&env.world, "gemini-official"));
	body = http_get(url, &status, NULL);
	cr_expect_eq(status, 403, "%s", body);
	free(body);
	/* the audit asks for it */
	int rc = audit(&j, "gemini-official", "gemini-key");
	cr_expect_eq(rc, 0);
	json_t *ml = json_object_get(j, "model_list");
	cr_expect_str_eq(json_string_value(json_object_get(ml, "status")), "listed", "%s",
	                 json_dumps(ml, 0));
	cr_expect_eq(json_integer_value(json_object_get(ml, "models")), 2);
	json_decref(j);
}
