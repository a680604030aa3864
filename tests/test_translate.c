/*
 * The request half of the fixture's translating relay (fixtures/translate.h):
 * dialect ccr writes, byte for byte, the upstream body the real
 * claude-code-router 1.0.73 sent for the same Anthropic requests
 * (tests/data/fixture/ccr-requests.json, captured in front of the fixture);
 * the careful dialect maps what ccr drops; the upstream parses the result
 * as its own request; ccr's count_tokens counts as ccr does.
 *
 * Links the fixture's objects (mk/fixture.mk).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/chat.h"
#include "fixtures/translate.h"
#include "scoring/tokenizer.h"

static char *
translated(const json_t *request, enum translate_dialect d)
{
	json_t *body = translate_request_body(request, "qwen3-32b",
	                                      json_is_true(json_object_get(request, "stream")), d);
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	cr_assert_not_null(s);
	return s;
}

Test(translate, ccr_writes_what_the_real_claude_code_router_sent)
{
	json_error_t jerr;
	json_t *doc = json_load_file("tests/data/fixture/ccr-requests.json", 0, &jerr);
	cr_assert_not_null(doc, "ccr-requests.json: %s", jerr.text);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "cases"), i, c)
	{
		char *s = translated(json_object_get(c, "request"), TRANSLATE_CCR);
		cr_expect_str_eq(s, json_string_value(json_object_get(c, "upstream")), "case '%s'",
		                 json_string_value(json_object_get(c, "name")));
		free(s);
	}
	cr_expect_gt(i, 0, "no cases");
	json_decref(doc);
}

static json_t *
load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "bad JSON in the test");
	return j;
}

Test(translate, the_careful_dialect_maps_what_ccr_drops)
{
	json_t *req = load(
	    "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 50, \"top_p\": 0.5, \"stream\": true,"
	    " \"stop_sequences\": [\"a\", \"b\", \"c\", \"d\", \"e\"],"
	    " \"system\": [{\"type\": \"text\", \"text\": \"One.\"}, {\"type\": \"text\","
	    " \"text\": \"Two.\"}], \"tools\": [{\"name\": \"f\", \"input_schema\": {\"type\": "
	    "\"object\"}}], \"tool_choice\": {\"type\":"
	    " \"any\"}, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
	char *ccr = translated(req, TRANSLATE_CCR), *careful = translated(req, TRANSLATE_ANTHROPIC);
	cr_expect(strstr(ccr, "\"tool_choice\":\"any\"") != NULL, "%s", ccr);
	cr_expect(strstr(ccr, "\"stop\"") == NULL && strstr(ccr, "top_p") == NULL, "%s", ccr);
	cr_expect(strstr(careful, "\"tool_choice\":\"required\"") != NULL, "%s", careful);
	cr_expect(strstr(careful, "\"stop\":[\"a\",\"b\",\"c\",\"d\"]") != NULL, "%s", careful);
	cr_expect(strstr(careful, "\"top_p\":0.5") != NULL, "%s", careful);
	cr_expect(strstr(careful, "{\"role\":\"system\",\"content\":\"One.\\nTwo.\"}") != NULL,
	          "%s", careful);
	cr_expect(strstr(careful, "\"stream_options\":{\"include_usage\":true}") != NULL, "%s",
	          careful);
	free(ccr);
	free(careful);
	json_decref(req);
}

Test(translate, the_upstream_parses_the_translation_as_its_own)
{
	const char *body = "{\"model\": \"claude-3-5-haiku\", \"max_tokens\": 30, \"system\": "
	                   "\"You are terse.\", \"tool_choice\": {\"type\": \"any\"}, \"tools\": "
	                   "[{\"name\": \"f\", \"input_schema\": {\"type\": \"object\"}}], "
	                   "\"messages\": [{\"role\": \"user\", \"content\": "
	                   "[{\"type\": \"text\", \"text\": \"hello\"}]}]}";
	struct chat_request req, up;
	struct api_error e;
	cr_assert_eq(chat_parse_anthropic(body, strlen(body), &req, &e), 0, "%s", e.message);
	/* ccr passes "any" on, which an OpenAI server refuses */
	cr_expect_eq(translate_forward(&req, "qwen3-32b", TRANSLATE_CCR, &up, &e), -1);
	cr_expect_eq(e.status, 400);
	cr_expect_str_eq(e.param, "tool_choice");
	chat_request_release(&up);
	cr_assert_eq(translate_forward(&req, "qwen3-32b", TRANSLATE_ANTHROPIC, &up, &e), 0, "%s",
	             e.message);
	cr_expect_eq(up.wire, WIRE_OPENAI);
	cr_expect_str_eq(up.model, "qwen3-32b");
	cr_expect_eq(up.max_tokens, 30);
	cr_assert_eq(up.nmsgs, 2);
	cr_expect_str_eq(up.msgs[0].role, "system");
	cr_expect_str_eq(up.msgs[1].content, "hello");
	cr_expect_str_eq(up.tool_choice, "required");
	chat_request_release(&up);
	chat_request_release(&req);
}

Test(translate, ccr_counts_tokens_with_cl100k_and_no_template)
{
	json_t *req = load("{\"system\": \"You are terse.\", \"messages\": [{\"role\": \"user\","
	                   " \"content\": \"Name the capital of Australia in one word.\"}]}");
	/* what the real one answered for this request */
	cr_expect_eq(translate_ccr_count_tokens(req), 13);
	json_decref(req);
	req = load("{\"tools\": [{\"name\": \"f\", \"description\": \"Find.\", \"input_schema\":"
	           " {\"type\": \"object\"}}], \"messages\": [{\"role\": \"user\", \"content\":"
	           " [{\"type\": \"tool_result\", \"content\": \"18C\"}, {\"type\": \"tool_use\","
	           " \"input\": {\"a\": 1}}]}]}");
	char err[256];
	struct tokenizer *t = tokenizer_open("cl100k_base", err, sizeof err);
	cr_assert_not_null(t, "%s", err);
	long want = tokenizer_count(t, "18C", 3) + tokenizer_count(t, "{\"a\":1}", 7) +
	            tokenizer_count(t, "fFind.", 6) +
	            tokenizer_count(t, "{\"type\":\"object\"}", 17);
	cr_expect_eq(translate_ccr_count_tokens(req), want);
	tokenizer_free(t);
	json_decref(req);
}
