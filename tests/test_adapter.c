/*
 * Adapters: request bodies, and responses (whole and streamed, both APIs,
 * errors, malformed and oversized) into observations.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "probes/adapter.h"
#include "probes/redact.h"
#include "probes/json_arena.h"
#include "probes/json_arena_test.h"
#include "tests/helpers.h"

static void
parse(enum api_kind api, int stream, int status, const char *body, size_t piece, size_t cap,
      struct observation *o)
{
	struct adapter_parse p;
	observation_init(o);
	adapter_parse_init(&p, api, o, stream, 0, cap);
	size_t len = strlen(body);
	for (size_t i = 0; i < len; i += piece) {
		size_t n = len - i < piece ? len - i : piece;
		if (adapter_parse_feed(&p, status, body + i, n, (int64_t)(1000 * (i + 1))) != 0)
			break;
	}
	adapter_parse_finish(&p, status);
	adapter_parse_release(&p);
}

/* body, a 200 answer fed in pieces of piece bytes, parsed into o without
 * an error, its text text; o is the caller's to release. */
static void
parse_ok(enum api_kind api, int stream, const char *body, size_t piece, const char *text,
         struct observation *o)
{
	parse(api, stream, 200, body, piece, 1 << 20, o);
	cr_expect_eq(o->error, ERR_NONE, "%s", o->error_detail);
	cr_expect_str_eq(o->text, text, "text '%s', want '%s'", o->text, text);
}

Test(adapter, openai_request_body)
{
	struct probe_message m[] = {{"system", "be brief"}, {"user", "hi \"there\""}};
	struct probe_call c = test_call("gpt-4o", m, 2, 1);
	c.stream = 1;
	char *s = adapter_body(API_OPENAI, &c, NULL);
	json_t *j = json_loads(s, 0, NULL);
	cr_assert_not_null(j, "%s", s);
	cr_expect_str_eq(json_string_value(json_object_get(j, "model")), "gpt-4o");
	cr_expect_eq(json_array_size(json_object_get(j, "messages")), 2);
	cr_expect_eq(json_integer_value(json_object_get(j, "max_tokens")), 1);
	cr_expect(
	    json_is_true(json_object_get(json_object_get(j, "stream_options"), "include_usage")));
	json_decref(j);
	free(s);
	char *url = adapter_url(API_OPENAI, "https://relay.example/v1/");
	cr_expect_str_eq(url, "https://relay.example/v1/chat/completions");
	free(url);
}

Test(adapter, anthropic_request_body_moves_system)
{
	struct probe_message m[] = {{"system", "be brief"}, {"user", "hi"}};
	struct probe_call c = test_call("claude-sonnet-4", m, 2, -1);
	c.temperature = -1;
	char *s = adapter_body(API_ANTHROPIC, &c, NULL);
	json_t *j = json_loads(s, 0, NULL);
	cr_expect_str_eq(json_string_value(json_object_get(j, "system")), "be brief");
	cr_expect_eq(json_array_size(json_object_get(j, "messages")), 1);
	cr_expect(json_is_integer(json_object_get(j, "max_tokens")), "anthropic needs max_tokens");
	json_decref(j);
	free(s);
}

static json_t *
body_of(enum api_kind api, const struct probe_call *c)
{
	const char *why = "unset";
	char *s = adapter_body(api, c, &why);
	cr_assert_not_null(s, "%s", why);
	cr_expect_null(why);
	json_t *j = json_loads(s, 0, NULL);
	cr_assert_not_null(j, "%s", s);
	free(s);
	return j;
}

static const char *const stop5[] = {"5"};
static const char schema[] =
    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}";

Test(adapter, stop_sequences_in_each_api_own_field)
{
	struct probe_message m[] = {{"user", "count"}};
	struct probe_call c = test_call("x", m, 1, 40);
	c.intent = (struct request_intent){.stop = stop5, .n_stop = 1};
	json_t *o = body_of(API_OPENAI, &c);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(o, "stop"), 0)), "5");
	cr_expect_null(json_object_get(o, "stop_sequences"));
	json_t *a = body_of(API_ANTHROPIC, &c);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(a, "stop_sequences"), 0)),
	                 "5");
	cr_expect_null(json_object_get(a, "stop"), "'stop' is not an Anthropic field");
	json_decref(o);
	json_decref(a);
}

Test(adapter, a_required_tool_call_in_each_api_own_shape)
{
	struct probe_message m[] = {{"user", "time in Oslo?"}};
	struct probe_call c = test_call("x", m, 1, 40);
	c.intent = (struct request_intent){.tool_name = "get_time",
	                                   .tool_description = "local time",
	                                   .tool_schema = schema,
	                                   .tool_choice = TOOL_CHOICE_REQUIRED};
	json_t *o = body_of(API_OPENAI, &c);
	json_t *ot = json_array_get(json_object_get(o, "tools"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(ot, "type")), "function");
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(ot, "function"), "name")),
	    "get_time");
	cr_expect(json_is_object(json_object_get(json_object_get(ot, "function"), "parameters")));
	cr_expect_str_eq(json_string_value(json_object_get(o, "tool_choice")), "required");

	json_t *a = body_of(API_ANTHROPIC, &c);
	json_t *at = json_array_get(json_object_get(a, "tools"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(at, "name")), "get_time");
	cr_expect_str_eq(json_string_value(json_object_get(at, "description")), "local time");
	cr_expect(json_is_object(json_object_get(at, "input_schema")));
	cr_expect_null(json_object_get(at, "type"), "no OpenAI 'type: function' wrapper");
	cr_expect_null(json_object_get(at, "function"));
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(a, "tool_choice"), "type")), "any");

	c.intent.tool_choice = TOOL_CHOICE_NAMED;
	json_t *an = body_of(API_ANTHROPIC, &c);
	json_t *tc = json_object_get(an, "tool_choice");
	cr_expect_str_eq(json_string_value(json_object_get(tc, "type")), "tool");
	cr_expect_str_eq(json_string_value(json_object_get(tc, "name")), "get_time");
	json_t *on = body_of(API_OPENAI, &c);
	cr_expect_str_eq(
	    json_string_value(json_object_get(
	        json_object_get(json_object_get(on, "tool_choice"), "function"), "name")),
	    "get_time");
	json_decref(o);
	json_decref(a);
	json_decref(an);
	json_decref(on);
}

Test(adapter, what_anthropic_cannot_carry_is_refused_with_a_reason)
{
	struct probe_message m[] = {{"user", "hi"}};
	struct probe_call c = test_call("x", m, 1, 3);
	c.intent = (struct request_intent){.top_logprobs = 2};
	const char *why = NULL;
	cr_expect_null(adapter_body(API_ANTHROPIC, &c, &why));
	cr_expect(why != NULL && strstr(why, "logprobs") != NULL);
	json_t *o = body_of(API_OPENAI, &c);
	cr_expect(json_is_true(json_object_get(o, "logprobs")));
	cr_expect_eq(json_integer_value(json_object_get(o, "top_logprobs")), 2);
	json_decref(o);
	c.intent = (struct request_intent){.json_object = 1};
	cr_expect_null(adapter_body(API_ANTHROPIC, &c, &why));
	cr_expect(why != NULL && strstr(why, "JSON mode") != NULL);
	o = body_of(API_OPENAI, &c);
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(o, "response_format"), "type")),
	    "json_object");
	json_decref(o);
}

Test(adapter, model_rules_pick_the_token_limit_field_and_drop_temperature)
{
	struct probe_message m[] = {{"user", "hi"}};
	struct request_rules rules = {.max_completion_tokens = 1, .no_temperature = 1};
	struct probe_call c = test_call("o3", m, 1, 30);
	/* no effort in the rules: none asked for, on either OpenAI API */
	c.rules = &rules;
	json_t *plain = body_of(API_RESPONSES, &c);
	cr_expect_null(json_object_get(plain, "reasoning"));
	json_decref(plain);
	plain = body_of(API_OPENAI, &c);
	cr_expect_null(json_object_get(plain, "reasoning_effort"));
	json_decref(plain);
	/* o3's pack: efforts low, medium, high; room for the thinking kept */
	snprintf(rules.effort, sizeof rules.effort, "low");
	rules.reserve = 256;
	c.rules = &rules;
	json_t *o = body_of(API_OPENAI, &c);
	cr_expect_eq(json_integer_value(json_object_get(o, "max_completion_tokens")), 30 + 256);
	cr_expect_str_eq(json_string_value(json_object_get(o, "reasoning_effort")), "low");
	cr_expect_null(json_object_get(o, "max_tokens"));
	cr_expect_null(json_object_get(o, "temperature"));
	json_decref(o);
	/* Anthropic always takes max_tokens; its temperature runs 0..1 */
	c.rules = NULL;
	c.temperature = 1.5;
	json_t *a = body_of(API_ANTHROPIC, &c);
	cr_expect_eq(json_integer_value(json_object_get(a, "max_tokens")), 30);
	cr_expect(json_real_value(json_object_get(a, "temperature")) <= 1.0);
	cr_expect_null(json_object_get(a, "stream_options"));
	cr_expect_null(json_object_get(a, "seed"));
	json_decref(a);
	/* Responses: the effort as reasoning {effort}, others are not asked */
	c.rules = &rules;
	json_t *r = body_of(API_RESPONSES, &c);
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(r, "reasoning"), "effort")), "low");
	cr_expect_null(json_object_get(r, "temperature"));
	cr_expect_eq(json_integer_value(json_object_get(r, "max_output_tokens")), 30 + 256);
	json_decref(r);
	c.rules = NULL;
	r = body_of(API_RESPONSES, &c);
	cr_expect_null(json_object_get(r, "reasoning"), "gpt-4o is not asked to reason");
	json_decref(r);
}

static const char openai_whole[] =
    "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024-08-06\","
    "\"system_fingerprint\":\"fp_1234567890\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
    "\"assistant\",\"content\":\"pong\",\"refusal\":null},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13,"
    "\"prompt_tokens_details\":{\"cached_tokens\":0}}}";

Test(adapter, openai_whole_response)
{
	struct observation o;
	parse_ok(API_OPENAI, 0, openai_whole, 7, "pong", &o);
	cr_expect_str_eq(o.model, "gpt-4o-2024-08-06");
	cr_expect_str_eq(o.id, "chatcmpl-abc");
	cr_expect_str_eq(o.finish_reason, "stop");
	cr_expect_str_eq(o.system_fingerprint, "fp_1234567890");
	cr_expect_eq(o.prompt_tokens, 12);
	cr_expect_eq(o.completion_tokens, 1);
	cr_expect_eq(o.cached_tokens, 0);
	observation_release(&o);
}

Test(adapter, openai_stream_with_usage)
{
	const char *s =
	    "data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"role\":"
	    "\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
	    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"content\":\"po\"},"
	    "\"finish_reason\":null}]}\n\n"
	    ": keep-alive\n\n"
	    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"content\":\"ng\"},"
	    "\"finish_reason\":\"stop\"}]}\n\n"
	    "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
	    "\"completion_tokens\":2,\"total_tokens\":11}}\n\n"
	    "data: [DONE]\n\n";
	struct observation o;
	parse_ok(API_OPENAI, 1, s, 5, "pong", &o);
	cr_expect_eq(o.n_chunks, 2, "only chunks with content count");
	cr_expect_geq(o.ttft_us, 0);
	cr_expect_eq(o.prompt_tokens, 9);
	cr_expect_str_eq(o.finish_reason, "stop");
	observation_release(&o);
}

Test(adapter, stream_without_done_is_malformed)
{
	struct observation o;
	parse(API_OPENAI, 1, 200, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n", 100,
	      1 << 20, &o);
	cr_expect_eq(o.error, ERR_MALFORMED);
	observation_release(&o);
	parse(API_OPENAI, 1, 200, "data: {not json\n\n", 100, 1 << 20, &o);
	cr_expect_eq(o.error, ERR_MALFORMED);
	observation_release(&o);
}

Test(adapter, anthropic_stream)
{
	const char *s =
	    "event: message_start\ndata: "
	    "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\","
	    "\"model\":\"claude-sonnet-4-20250514\",\"usage\":{\"input_tokens\":20,"
	    "\"output_tokens\":1}}}\n\n"
	    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
	    "\"delta\":{\"type\":\"text_delta\",\"text\":\"hello\"}}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
	    "\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	struct observation o;
	parse_ok(API_ANTHROPIC, 1, s, 11, "hello", &o);
	cr_expect_str_eq(o.id, "msg_01");
	cr_expect_eq(o.prompt_tokens, 20);
	cr_expect_eq(o.completion_tokens, 3);
	cr_expect_str_eq(o.finish_reason, "end_turn");
	observation_release(&o);
}

Test(adapter, error_statuses_are_classified)
{
	struct {
		int status;
		const char *body;
		enum error_class want;
	} cases[] = {
	    {401, "{\"error\":{\"message\":\"bad key\",\"code\":\"invalid_api_key\"}}", ERR_AUTH},
	    {429, "{\"error\":{\"message\":\"quota\",\"code\":\"insufficient_quota\"}}", ERR_QUOTA},
	    {429, "{\"error\":{\"message\":\"slow down\",\"type\":\"requests\"}}",
	     ERR_RATE_LIMITED},
	    {402, "", ERR_QUOTA},
	    {503, "<html>bad gateway</html>", ERR_UPSTREAM},
	    /* a 404 that names the model is the model, any other the URL */
	    {404, "{\"error\":{\"message\":\"no such model\"}}", ERR_NO_MODEL},
	    {404,
	     "{\"error\":{\"message\":\"The model `gpt-9` does not exist or you do not have "
	     "access to it.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":"
	     "\"model_not_found\"}}",
	     ERR_NO_MODEL},
	    {404,
	     "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":"
	     "\"model: claude-x\"}}",
	     ERR_NO_MODEL},
	    {404, "{\"error\":{\"message\":\"Invalid URL (POST /v1/chat/completions)\"}}",
	     ERR_NOT_FOUND},
	    {404, "<html><head><title>404 Not Found</title></head><body>model</body></html>",
	     ERR_NOT_FOUND},
	    {404, "{\"detail\":\"Not Found\"}", ERR_NOT_FOUND},
	    {400, "{\"error\":{\"message\":\"This model's maximum context length is 128000\"}}",
	     ERR_HTTP},
	    /* one-api and new-api: no channel serves the model (a 503) */
	    {503,
	     "{\"error\":{\"message\":\"当前分组 default 下对于模型 gpt-4o 无可用渠道\","
	     "\"type\":\"one_api_error\"}}",
	     ERR_NO_MODEL},
	    {503,
	     "{\"error\":{\"code\":\"model_not_found\",\"message\":\"分组 default 下模型 x "
	     "无可用渠道（distributor）\",\"type\":\"new_api_error\"}}",
	     ERR_NO_MODEL},
	    /* credit that is gone, whatever the status */
	    {401, "{\"error\":{\"message\":\"该令牌额度已用尽\",\"type\":\"one_api_error\"}}",
	     ERR_QUOTA},
	    {403,
	     "{\"error\":{\"message\":\"用户额度不足, 剩余额度: ＄0.000000\",\"type\":"
	     "\"new_api_error\",\"param\":\"\",\"code\":\"insufficient_user_quota\"}}",
	     ERR_QUOTA},
	    {403,
	     "{\"error\":{\"message\":\"token quota is not enough\",\"type\":"
	     "\"new_api_error\",\"code\":\"pre_consume_token_quota_failed\"}}",
	     ERR_QUOTA},
	    {400,
	     "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
	     "\"message\":\"Your credit balance is too low to access the Anthropic API.\"}}",
	     ERR_QUOTA},
	    {429,
	     "{\"error\":{\"message\":\"You exceeded your current quota, please check your plan "
	     "and billing details.\",\"type\":\"insufficient_quota\",\"param\":null,"
	     "\"code\":\"insufficient_quota\"}}",
	     ERR_QUOTA},
	    {429,
	     "{\"error\":{\"message\":\"Rate limit reached for gpt-4o on requests per min "
	     "(RPM): Limit 3, Used 3, Requested 1.\",\"type\":\"requests\",\"code\":"
	     "\"rate_limit_exceeded\"}}",
	     ERR_RATE_LIMITED},
	    {403,
	     "{\"error\":{\"code\":\"unsupported_country_region_territory\",\"message\":"
	     "\"Country, region, or territory not supported\"}}",
	     ERR_AUTH},
	    {502, "<html><head><title>502 Bad Gateway</title></head></html>", ERR_UPSTREAM},
	    /* an error inside a 200 is an upstream failure, unless it says more */
	    {200, "{\"error\":{\"message\":\"upstream timed out\"}}", ERR_UPSTREAM},
	    {200, "{\"error\":{\"message\":\"用户额度不足\"}}", ERR_QUOTA},
	    {200, "not json at all", ERR_MALFORMED},
	    {200, "{\"choices\":[]}", ERR_MALFORMED},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct observation o;
		parse(API_OPENAI, 0, cases[i].status, cases[i].body, 64, 1 << 20, &o);
		cr_expect_eq(o.error, cases[i].want, "case %zu: got %s", i,
		             error_class_name(o.error));
		cr_expect_not_null(o.error_detail);
		observation_release(&o);
	}
}

Test(adapter, stream_error_events_are_classified)
{
	struct {
		enum api_kind api;
		const char *body;
		enum error_class want;
	} cases[] = {
	    {API_OPENAI, "data: {\"error\":{\"message\":\"upstream died\"}}\n\n", ERR_UPSTREAM},
	    {API_OPENAI,
	     "data: {\"error\":{\"message\":\"quota gone\",\"code\":\"insufficient_quota\"}}\n\n",
	     ERR_QUOTA},
	    {API_ANTHROPIC,
	     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
	     "\"message\":\"slow down\"}}\n\n",
	     ERR_RATE_LIMITED},
	    {API_ANTHROPIC,
	     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	     "\"message\":\"Overloaded\"}}\n\n",
	     ERR_UPSTREAM},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct observation o;
		parse(cases[i].api, 1, 200, cases[i].body, 64, 1 << 20, &o);
		cr_expect_eq(o.error, cases[i].want, "case %zu: got %s", i,
		             error_class_name(o.error));
		observation_release(&o);
	}
}

Test(adapter, body_cap_gives_too_large)
{
	char *big = malloc(100000);
	memset(big, 'a', 99999);
	big[99999] = '\0';
	struct observation o;
	parse(API_OPENAI, 0, 200, big, 4096, 10000, &o);
	cr_expect_eq(o.error, ERR_TOO_LARGE);
	observation_release(&o);
	parse(API_OPENAI, 1, 200, big, 4096, 10000, &o);
	cr_expect_eq(o.error, ERR_TOO_LARGE);
	observation_release(&o);
	free(big);
}

Test(adapter, invalid_utf8_text_is_sanitized)
{
	struct observation o;
	parse(
	    API_OPENAI, 0, 200,
	    "{\"choices\":[{\"message\":{\"content\":\"a\\ud800b\"},\"finish_reason\":\"stop\"}]}",
	    64, 1 << 20, &o);
	/* jansson refuses lone surrogates: the body is malformed, and we say so */
	cr_expect(o.error == ERR_MALFORMED || utf8_valid(o.text, strlen(o.text)));
	observation_release(&o);
}

Test(adapter, secret_is_redacted)
{
	char *s =
	    redact_secret("Incorrect API key provided: sk-abcdefghijklmnop. And sk-abcdefghij.",
	                  "sk-abcdefghijklmnop");
	cr_expect_null(strstr(s, "sk-abcdefghij"), "%s", s);
	cr_expect_not_null(strstr(s, "[redacted]"));
	free(s);
}

/* Echoes without the prefix, from the middle, cut off, URL-encoded or in
 * base64 are the key too; a vendor prefix alone and short fragments are
 * words, and stay. */
Test(adapter, every_spelling_of_the_key_is_redacted)
{
	const char *key = "sk-proj-Zq81xWv4+Lm0/Tn7Yb2Kc9Rd";
	static const struct {
		const char *text, *gone;
	} echoes[] = {
	    {"key=sk-proj-Zq81xWv4+Lm0/Tn7Yb2Kc9Rd ok", "Zq81xWv4"},
	    {"no prefix: Zq81xWv4+Lm0/Tn7Yb2Kc9Rd.", "Lm0/Tn7Y"},
	    {"middle only ...xWv4+Lm0/Tn7Y...", "xWv4+Lm0"},
	    {"cut: sk-proj-Zq81xWv4...", "Zq81xWv4"},
	    {"url: sk-proj-Zq81xWv4%2BLm0%2FTn7Yb2Kc9Rd", "Tn7Yb2Kc9Rd"},
	    /* base64("sk-proj-Zq81xWv4+Lm0/Tn7Yb2Kc9Rd") and inside "Basic " of
	     * "user:" + key */
	    {"b64 c2stcHJvai1acTgxeFd2NCtMbTAvVG43WWIyS2M5UmQ=", "eFd2NCtMbTAvVG43"},
	    {"Basic dXNlcjpzay1wcm9qLVpxODF4V3Y0K0xtMC9UbjdZYjJLYzlSZA==", "K0xtMC9UbjdZ"},
	};
	for (size_t i = 0; i < sizeof echoes / sizeof echoes[0]; i++) {
		char *r = redact_secret(echoes[i].text, key);
		cr_expect_null(strstr(r, echoes[i].gone), "%s -> %s", echoes[i].text, r);
		cr_expect_not_null(strstr(r, "[redacted]"), "%s -> %s", echoes[i].text, r);
		free(r);
	}
	static const char *const words[] = {
	    "keys look like sk-proj-... in the docs", /* the vendor prefix alone */
	    "Zq81 and xWv4 are short",                /* runs under 8 */
	    "The capital of Australia is Canberra.",
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		char *r = redact_secret(words[i], key);
		cr_expect_str_eq(r, words[i]);
		free(r);
	}
}

Test(adapter, every_field_a_relay_fills_is_redacted_of_the_key)
{
	/* a hostile relay echoes the key in x-ratelimit-remaining-requests, the
	 * request id and the answer */
	const char *key = "sk-relay-0123456789abcdef";
	struct observation o;
	observation_init(&o);
	observation_set(&o.ratelimit_remaining, key, strlen(key), 64);
	observation_set(&o.request_id, key, strlen(key), 256);
	observation_set(&o.text, key, strlen(key), 1024);
	observation_set(&o.content_type, key, strlen(key), 128);
	redact_observation(&o, key, NULL, 0);
	cr_expect_null(strstr(o.ratelimit_remaining, "0123456789"), "%s", o.ratelimit_remaining);
	cr_expect_null(strstr(o.request_id, "0123456789"), "%s", o.request_id);
	cr_expect_null(strstr(o.text, "0123456789"), "%s", o.text);
	cr_expect_null(strstr(o.content_type, "0123456789"), "%s", o.content_type);
	observation_release(&o);
}

/* ---- the jansson arena used for stream chunks ---- */

static _Alignas(16) unsigned char small_arena[4096];

Test(json_arena, chunk_values_live_in_the_arena_and_vanish_at_end)
{
	struct json_arena a;
	json_arena_init(&a, small_arena, sizeof small_arena);
	json_arena_begin(&a);
	json_t *j = json_loads("{\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"n\":3}", 0, NULL);
	cr_assert_not_null(j);
	cr_expect(json_arena_owns(&a, j), "the root came from the arena");
	json_t *content = json_object_get(
	    json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta"), "content");
	cr_expect(json_arena_owns(&a, json_string_value(content)));
	cr_expect_str_eq(json_string_value(content), "hi");
	cr_expect_gt(a.used, 0);
	cr_expect_eq(a.fallbacks, 0);
	json_decref(j);
	json_arena_end(&a);
	cr_expect_eq(a.used, 0, "end resets the arena");
	/* with no arena active, jansson allocates as before */
	json_t *k = json_loads("{\"a\":1}", 0, NULL);
	cr_expect_not(json_arena_owns(&a, k));
	json_decref(k);
}

Test(json_arena, a_chunk_bigger_than_the_arena_spills_to_malloc)
{
	struct json_arena a;
	json_arena_init(&a, small_arena, sizeof small_arena);
	size_t n = 64 * 1024;
	char *doc = malloc(n + 32);
	strcpy(doc, "{\"text\":\"");
	memset(doc + 9, 'x', n);
	strcpy(doc + 9 + n, "\",\"k\":[1,2,3]}");
	json_arena_begin(&a);
	json_t *j = json_loads(doc, 0, NULL);
	cr_assert_not_null(j);
	json_t *text = json_object_get(j, "text");
	cr_expect_eq(json_string_length(text), n);
	cr_expect_not(json_arena_owns(&a, json_string_value(text)), "too big: from malloc");
	cr_expect_gt(a.fallbacks, 0);
	cr_expect_leq(a.used, sizeof small_arena);
	json_decref(j); /* frees the spilled blocks; the sanitizers check it */
	json_arena_end(&a);
	free(doc);
}

static void *
other_thread_parses(void *arg)
{
	struct json_arena *a = arg;
	int outside = 1;
	for (int i = 0; i < 1000; i++) {
		json_t *j = json_loads("{\"x\":[\"y\",{\"z\":null}]}", 0, NULL);
		outside &= !json_arena_owns(a, j) &&
		           !json_arena_owns(a, json_array_get(json_object_get(j, "x"), 0));
		json_decref(j);
	}
	return (void *)(intptr_t)outside;
}

Test(json_arena, other_threads_never_use_this_threads_arena)
{
	struct json_arena a;
	json_arena_init(&a, small_arena, sizeof small_arena);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, other_thread_parses, &a), 0);
	/* meanwhile this thread parses and frees in its arena, one value per
	 * activation as the adapter does */
	for (int i = 0; i < 1000; i++) {
		json_arena_begin(&a);
		json_t *j = json_loads("[1,\"two\",{\"three\":3}]", 0, NULL);
		cr_assert(json_arena_owns(&a, j));
		json_decref(j);
		json_arena_end(&a);
	}
	void *outside;
	pthread_join(th, &outside);
	cr_expect((intptr_t)outside, "the other thread allocated with malloc");
}

Test(adapter, stream_chunk_bigger_than_the_arena)
{
	/* a 100 KiB content delta: more than the 32 KiB chunk arena */
	size_t n = 100 * 1024;
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "data: {\"choices\":[{\"delta\":{\"content\":\"");
	for (size_t i = 0; i < n; i++)
		buf_puts(&b, i % 2 ? "b" : "a");
	buf_puts(&b, "\"},\"finish_reason\":\"stop\"}]}\n\ndata: {\"choices\":[{\"delta\":"
	             "{\"content\":\"!\"}}]}\n\ndata: [DONE]\n\n");
	char *s = buf_take(&b, NULL);
	struct observation o;
	parse(API_OPENAI, 1, 200, s, 4096, 1 << 20, &o);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_expect_eq(o.n_chunks, 2);
	cr_expect_str_eq(o.finish_reason, "stop");
	cr_expect_eq(o.text_len, OBS_TEXT_CAP, "text kept up to its cap");
	cr_expect(o.text_truncated);
	cr_expect_eq(strncmp(o.text, "abab", 4), 0);
	observation_release(&o);
	free(s);
}

/* ---- the Responses API ---- */

Test(adapter, responses_request_body)
{
	struct probe_message m[] = {{"system", "be brief"},
	                            {"user", "Return JSON: {\"ok\": true}"}};
	struct probe_call c = test_call("gpt-4o", m, 2, 1);
	c.stream = 1;
	c.seed = 7;
	c.intent = (struct request_intent){.json_object = 1,
	                                   .tool_name = "get_time",
	                                   .tool_schema = schema,
	                                   .tool_choice = TOOL_CHOICE_NAMED};
	json_t *j = body_of(API_RESPONSES, &c);
	cr_expect_str_eq(json_string_value(json_object_get(j, "instructions")), "be brief");
	json_t *input = json_object_get(j, "input");
	cr_assert_eq(json_array_size(input), 1, "the system text is not an input message");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(input, 0), "role")),
	                 "user");
	/* the real API refuses less than 16 */
	cr_expect_eq(json_integer_value(json_object_get(j, "max_output_tokens")), 16);
	cr_expect_eq(adapter_max_tokens(API_RESPONSES, 1, NULL), 16);
	cr_expect_eq(adapter_max_tokens(API_RESPONSES, 300, NULL), 300);
	cr_expect_eq(adapter_max_tokens(API_OPENAI, 1, NULL), 1);
	cr_expect_null(json_object_get(j, "max_tokens"));
	cr_expect_null(json_object_get(j, "messages"));
	cr_expect_null(json_object_get(j, "seed"), "Responses has no seed");
	cr_expect_null(json_object_get(j, "stream_options"));
	cr_expect(json_is_true(json_object_get(j, "stream")));
	cr_expect_str_eq(json_string_value(json_object_get(
	                     json_object_get(json_object_get(j, "text"), "format"), "type")),
	                 "json_object");
	json_t *tool = json_array_get(json_object_get(j, "tools"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(tool, "type")), "function");
	cr_expect_str_eq(json_string_value(json_object_get(tool, "name")), "get_time");
	cr_expect_null(json_object_get(tool, "function"), "flat, not Chat Completions' wrapper");
	cr_expect(json_is_object(json_object_get(tool, "parameters")));
	json_t *tc = json_object_get(j, "tool_choice");
	cr_expect_str_eq(json_string_value(json_object_get(tc, "type")), "function");
	cr_expect_str_eq(json_string_value(json_object_get(tc, "name")), "get_time");
	json_decref(j);
	/* stop sequences: the API has none (measured: "Unknown parameter: 'stop'") */
	c.intent = (struct request_intent){.stop = stop5, .n_stop = 1};
	const char *why = NULL;
	cr_expect_null(adapter_body(API_RESPONSES, &c, &why));
	cr_expect_not_null(why);
	char *url = adapter_url(API_RESPONSES, "https://relay.example/v1/");
	cr_expect_str_eq(url, "https://relay.example/v1/responses");
	free(url);
}

static const char responses_whole[] =
    "{\"id\":\"resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b\",\"object\":\"response\","
    "\"created_at\":1741476542,\"status\":\"completed\",\"error\":null,"
    "\"incomplete_details\":null,\"model\":\"gpt-4o-2024-08-06\",\"output\":[{\"type\":"
    "\"reasoning\",\"id\":\"rs_1\",\"summary\":[]},{\"type\":\"message\",\"id\":\"msg_1\","
    "\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
    "\"text\":\"po\",\"annotations\":[]},{\"type\":\"output_text\",\"text\":\"ng\","
    "\"annotations\":[]}]}],\"usage\":{\"input_tokens\":36,\"input_tokens_details\":"
    "{\"cached_tokens\":4},\"output_tokens\":87,\"output_tokens_details\":"
    "{\"reasoning_tokens\":80},\"total_tokens\":123}}";

Test(adapter, responses_whole_response)
{
	struct observation o;
	parse_ok(API_RESPONSES, 0, responses_whole, 9, "pong", &o);
	cr_expect_str_eq(o.id, "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b");
	cr_expect_str_eq(o.model, "gpt-4o-2024-08-06");
	cr_expect_str_eq(o.finish_reason, "stop");
	cr_expect_eq(o.prompt_tokens, 36);
	cr_expect_eq(o.completion_tokens, 87);
	cr_expect_eq(o.total_tokens, 123);
	cr_expect_eq(o.cached_tokens, 4);
	cr_expect_eq(o.reasoning_tokens, 80);
	cr_expect(o.usage_fields & OBS_USAGE_OUTPUT_TOKENS_DETAILS);
	observation_release(&o);

	/* cut by max_output_tokens: Chat Completions' "length" */
	const char *cut = "{\"id\":\"resp_2\",\"status\":\"incomplete\",\"incomplete_details\":"
	                  "{\"reason\":\"max_output_tokens\"},\"output\":[{\"type\":\"message\","
	                  "\"content\":[{\"type\":\"output_text\",\"text\":\"abc\"}]}],"
	                  "\"usage\":{\"input_tokens\":5,\"output_tokens\":16,"
	                  "\"total_tokens\":21}}";
	parse_ok(API_RESPONSES, 0, cut, 100, "abc", &o);
	cr_expect_str_eq(o.finish_reason, "length");
	observation_release(&o);

	/* a failed response is the error it carries */
	const char *failed = "{\"id\":\"resp_3\",\"status\":\"failed\",\"output\":[],\"error\":"
	                     "{\"code\":\"server_error\",\"message\":\"boom\"}}";
	parse(API_RESPONSES, 0, 200, failed, 100, 1 << 20, &o);
	cr_expect_neq(o.error, ERR_NONE);
	observation_release(&o);
}

Test(adapter, chat_completions_reasoning_tokens)
{
	const char *s = "{\"id\":\"chatcmpl-r\",\"model\":\"o3\",\"choices\":[{\"index\":0,"
	                "\"message\":{\"role\":"
	                "\"assistant\",\"content\":\"4\"},\"finish_reason\":\"stop\"}],\"usage\":"
	                "{\"prompt_tokens\":10,\"completion_tokens\":70,\"total_tokens\":80,"
	                "\"completion_tokens_details\":{\"reasoning_tokens\":64}}}";
	struct observation o;
	parse_ok(API_OPENAI, 0, s, 13, "4", &o);
	cr_expect_eq(o.reasoning_tokens, 64);
	observation_release(&o);
	parse_ok(API_OPENAI, 0, openai_whole, 13, "pong", &o);
	cr_expect_eq(o.reasoning_tokens, -1, "no details: not reported");
	observation_release(&o);
}

Test(adapter, responses_stream)
{
	const char *s =
	    "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,"
	    "\"response\":{\"id\":\"resp_9\",\"model\":\"gpt-4o\",\"status\":\"in_progress\","
	    "\"output\":[],\"usage\":null}}\n\n"
	    "event: response.in_progress\ndata: {\"type\":\"response.in_progress\","
	    "\"sequence_number\":1,\"response\":{\"id\":\"resp_9\",\"status\":\"in_progress\"}}\n\n"
	    "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\","
	    "\"sequence_number\":2,\"output_index\":0,\"item\":{\"id\":\"msg_9\",\"type\":"
	    "\"message\",\"content\":[]}}\n\n"
	    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
	    "\"sequence_number\":3,\"item_id\":\"msg_9\",\"delta\":\"po\"}\n\n"
	    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
	    "\"sequence_number\":4,\"item_id\":\"msg_9\",\"delta\":\"ng\"}\n\n"
	    "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\","
	    "\"sequence_number\":5,\"output_index\":1,\"item\":{\"id\":\"fc_9\",\"type\":"
	    "\"function_call\",\"call_id\":\"call_abc\",\"name\":\"f\",\"arguments\":\"\"}}\n\n"
	    "event: response.function_call_arguments.delta\ndata: {\"type\":"
	    "\"response.function_call_arguments.delta\",\"sequence_number\":6,\"delta\":\"{}\"}\n\n"
	    "event: response.completed\ndata: "
	    "{\"type\":\"response.completed\",\"sequence_number\":7,"
	    "\"response\":{\"id\":\"resp_9\",\"model\":\"gpt-4o-2024-08-06\",\"status\":"
	    "\"completed\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_"
	    "text\","
	    "\"text\":\"pong\"}]},{\"type\":\"function_call\",\"call_id\":\"call_abc\",\"name\":"
	    "\"f\",\"arguments\":\"{}\"}],\"usage\":{\"input_tokens\":9,\"output_tokens\":2,"
	    "\"total_tokens\":11,\"output_tokens_details\":{\"reasoning_tokens\":0}}}}\n\n";
	struct observation o;
	parse_ok(API_RESPONSES, 1, s, 17, "pong", &o);
	cr_expect_str_eq(o.id, "resp_9");
	cr_expect_str_eq(o.model, "gpt-4o");
	cr_expect_eq(o.prompt_tokens, 9);
	cr_expect_eq(o.completion_tokens, 2);
	cr_expect_eq(o.reasoning_tokens, 0);
	cr_expect_str_eq(o.finish_reason, "tool_calls");
	cr_expect(o.tool_calls);
	cr_expect_str_eq(o.tool_id, "call_abc");
	cr_expect_str_eq(o.events, "SGIDITZ"); /* runs of one letter are one */
	observation_release(&o);

	/* no end event: the stream was cut */
	const char *cut =
	    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
	    "\"delta\":\"x\"}\n\n";
	parse(API_RESPONSES, 1, 200, cut, 100, 1 << 20, &o);
	cr_expect_eq(o.error, ERR_MALFORMED, "%s", o.error_detail);
	observation_release(&o);
	/* an error event */
	const char *err =
	    "event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\","
	    "\"message\":\"slow down\",\"param\":null,\"sequence_number\":0}\n\n";
	parse(API_RESPONSES, 1, 200, err, 100, 1 << 20, &o);
	cr_expect_eq(o.error, ERR_RATE_LIMITED, "%d %s", o.error, o.error_detail);
	observation_release(&o);
}

/* ---- the first tool call's name and arguments, on every API ---- */

/* The arguments the tool-integrity probes compare: as JSON values. */
static void
expect_tool_call(const struct observation *o, const char *name, const char *args_json)
{
	cr_expect_eq(o->error, ERR_NONE, "%s", o->error_detail);
	cr_assert_not_null(o->tool_name, "no tool name");
	cr_expect_str_eq(o->tool_name, name);
	cr_assert_not_null(o->tool_args, "no tool arguments");
	json_t *got = json_loads(o->tool_args, 0, NULL), *want = json_loads(args_json, 0, NULL);
	cr_assert_not_null(want);
	cr_expect(got != NULL && json_equal(got, want), "arguments %s, want %s", o->tool_args,
	          args_json);
	json_decref(got);
	json_decref(want);
}

Test(adapter, tool_arguments_openai_whole_and_streamed)
{
	const char *whole =
	    "{\"id\":\"chatcmpl-7\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
	    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
	    "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"run_shell\",\"arguments\":\"{\\\"command\\\":\\\"pip install requests==2.32.3\\\"}"
	    "\"}},{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"other\","
	    "\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],"
	    "\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":12,\"total_tokens\":62}}";
	struct observation o;
	parse(API_OPENAI, 0, 200, whole, 1000, 1 << 20, &o);
	expect_tool_call(&o, "run_shell", "{\"command\":\"pip install requests==2.32.3\"}");
	observation_release(&o);
	/* streamed: the first call's fragments by index; a second call's
	 * fragments (index 1) are not mixed in */
	const char *s =
	    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
	    "\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"run_shell\",\"arguments\":\"\"}}]},"
	    "\"finish_reason\":null}]}\n\n"
	    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
	    "\"function\":{\"arguments\":\"{\\\"comm\"}}]},\"finish_reason\":null}]}\n\n"
	    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,"
	    "\"id\":\"call_2\",\"function\":{\"name\":\"other\",\"arguments\":\"{\\\"x\\\":1}\"}}]}"
	    ","
	    "\"finish_reason\":null}]}\n\n"
	    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
	    "\"function\":{\"arguments\":\"and\\\":\\\"ls -la\\\"}\"}}]},\"finish_reason\":null}]}"
	    "\n\n"
	    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
	    "\"tool_calls\"}]}\n\n"
	    "data: [DONE]\n\n";
	parse(API_OPENAI, 1, 200, s, 7, 1 << 20, &o);
	expect_tool_call(&o, "run_shell", "{\"command\":\"ls -la\"}");
	observation_release(&o);
}

Test(adapter, tool_arguments_anthropic_whole_and_streamed)
{
	const char *whole =
	    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
	    "\"claude-sonnet-4-20250514\",\"content\":[{\"type\":\"text\",\"text\":\"Writing it."
	    "\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"write_file\",\"input\":{"
	    "\"path\":\"a/b.env\",\"content\":\"K=\\u00e9\"}}],\"stop_reason\":\"tool_use\","
	    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":40,\"output_tokens\":20}}";
	struct observation o;
	parse(API_ANTHROPIC, 0, 200, whole, 1000, 1 << 20, &o);
	expect_tool_call(&o, "write_file", "{\"path\":\"a/b.env\",\"content\":\"K=\\u00e9\"}");
	observation_release(&o);
	/* streamed: input_json_delta fragments of the tool_use block only */
	const char *s =
	    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\","
	    "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\","
	    "\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":40,"
	    "\"output_tokens\":1}}}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
	    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
	    "\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
	    "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"run_shell\","
	    "\"input\":{}}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
	    "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"command\\\": \\\"np"
	    "\"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
	    "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"m ci\\\"}\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
	    "\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	parse(API_ANTHROPIC, 1, 200, s, 9, 1 << 20, &o);
	expect_tool_call(&o, "run_shell", "{\"command\":\"npm ci\"}");
	cr_expect_str_eq(o.text, "ok");
	observation_release(&o);
}

Test(adapter, tool_arguments_responses_streamed)
{
	const char *s =
	    "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,"
	    "\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-5.5\",\"status\":\"in_progress\","
	    "\"output\":[],\"usage\":null}}\n\n"
	    "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\","
	    "\"sequence_number\":1,\"output_index\":0,\"item\":{\"id\":\"fc_1\",\"type\":"
	    "\"function_call\",\"status\":\"in_progress\",\"call_id\":\"call_9\",\"name\":"
	    "\"run_shell\",\"arguments\":\"\"}}\n\n"
	    "event: response.function_call_arguments.delta\ndata: {\"type\":"
	    "\"response.function_call_arguments.delta\",\"sequence_number\":2,\"item_id\":"
	    "\"fc_1\",\"output_index\":0,\"delta\":\"{\\\"command\\\":\\\"git \"}\n\n"
	    "event: response.function_call_arguments.delta\ndata: {\"type\":"
	    "\"response.function_call_arguments.delta\",\"sequence_number\":3,\"item_id\":"
	    "\"fc_1\",\"output_index\":0,\"delta\":\"status\\\"}\"}\n\n"
	    "event: response.completed\ndata: "
	    "{\"type\":\"response.completed\",\"sequence_number\":4,"
	    "\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-5.5\",\"status\":\"completed\","
	    "\"output\":[{\"id\":\"fc_1\",\"type\":\"function_call\",\"status\":\"completed\","
	    "\"call_id\":\"call_9\",\"name\":\"run_shell\",\"arguments\":\"{\\\"command\\\":"
	    "\\\"git status\\\"}\"}],\"usage\":{\"input_tokens\":30,\"output_tokens\":9,"
	    "\"total_tokens\":39}}}\n\n";
	struct observation o;
	parse(API_RESPONSES, 1, 200, s, 13, 1 << 20, &o);
	expect_tool_call(&o, "run_shell", "{\"command\":\"git status\"}");
	observation_release(&o);
}

Test(adapter, tool_arguments_are_capped_and_redacted)
{
	/* a relay that answers with 100 KB of arguments: 8 KiB kept, said */
	size_t n = 100000;
	char *big = xmalloc(n + 400);
	int k =
	    snprintf(big, 400,
	             "{\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"message\":{"
	             "\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\","
	             "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"");
	memset(big + k, 'a', n);
	strcpy(big + k + n, "\"}}]},\"finish_reason\":\"tool_calls\"}]}");
	struct observation o;
	parse(API_OPENAI, 0, 200, big, 1 << 20, 1 << 20, &o);
	free(big);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_assert_not_null(o.tool_args);
	cr_expect_leq(strlen(o.tool_args), OBS_TOOL_ARGS_CAP);
	cr_expect(o.tool_args_truncated);
	observation_release(&o);
	const char *key = "sk-relay-0123456789abcdef";
	observation_init(&o);
	observation_set(&o.tool_args, "{\"token\":\"sk-relay-0123456789abcdef\"}", 38, 1024);
	observation_set(&o.tool_name, key, strlen(key), 64);
	redact_observation(&o, key, NULL, 0);
	cr_expect_null(strstr(o.tool_args, "0123456789"), "%s", o.tool_args);
	cr_expect_null(strstr(o.tool_name, "0123456789"), "%s", o.tool_name);
	observation_release(&o);
}

/* A wire that would drop an attachment or a JSON Schema does not send the
 * probe: sent, the official API would look as if it stripped them (the
 * merged Converse audit of the fixture came out param_ignored before). */
Test(adapter, wires_that_cannot_carry_attachments_or_schemas_say_so)
{
	struct request_intent image = {.attach = MEDIA_PNG};
	struct request_intent json_schema = {.answer_schema = "{\"type\":\"object\"}",
	                                     .answer_schema_name = "x"};
	static const enum api_kind cannot[] = {API_GEMINI, API_CONVERSE};
	static const enum api_kind can[] = {API_OPENAI, API_RESPONSES, API_ANTHROPIC};
	for (size_t i = 0; i < 2; i++) {
		cr_expect_not_null(adapter_cannot(cannot[i], &image), "%s", api_name(cannot[i]));
		cr_expect_not_null(adapter_cannot(cannot[i], &json_schema), "%s",
		                   api_name(cannot[i]));
	}
	for (size_t i = 0; i < 3; i++) {
		cr_expect_null(adapter_cannot(can[i], &image), "%s", api_name(can[i]));
		cr_expect_null(adapter_cannot(can[i], &json_schema), "%s", api_name(can[i]));
	}
}
