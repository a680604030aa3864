/*
 * The fixture world (assay-fixture): wire format of the simulated official
 * API, usage counted exactly by the real tokenizers, answers from the
 * knowledge table, relays that pass through or substitute, API keys, bad
 * world files and a clean stop on SIGTERM; and (suite current, on
 * tests/data/fixture/current.yaml) today's models: their parameter rules in
 * the real words, hidden reasoning billed, Claude's thinking blocks,
 * gpt-oss's reasoning_content, and a relay selling names no model has.
 *
 * Each test starts build/assay-fixture on tests/data/fixture/basic.yaml
 * (ephemeral loopback ports, delays shrunk by --time-scale) and talks to it
 * with libcurl. Every wait is bounded; nothing sleeps for a fixed time.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "fixtures/simtok.h"
#include "scoring/tokenizer.h"
#include "tests/helpers.h"
#include "tests/sim_helpers.h"

#define WORLD "tests/data/fixture/basic.yaml"
#define KEY "sk-test-official"

static const char *const need[] = {"official", "honest", "swap", "half-swap", NULL};

static struct fixture world;

static void
start(void)
{
	fixture_start_scaled(&world, WORLD, need, "0.001");
}

static void
stop(void)
{
	cr_expect_eq(fixture_stop(&world), 0, "the fixture did not exit 0 on SIGTERM");
}

#define response http_response /* tests/helpers.h */

/* POST (or GET when body is NULL) to endpoint + path with optional headers. */
static void
request(struct response *r, const char *endpoint, const char *path, const char *body,
        const char *const *headers)
{
	fixture_send(r, &world, endpoint, path, body, headers, 20000);
	cr_assert_eq(r->rc, CURLE_OK, "%s%s: %s", endpoint, path, curl_easy_strerror(r->rc));
}

#define response_release http_response_release

static const char *const with_key[] = {"authorization: Bearer " KEY, NULL};

/* A chat request with one user message. */
#define chat_body test_chat_body /* tests/helpers.h */

static void
chat(struct response *r, const char *endpoint, const char *model, const char *user,
     const char *extra)
{
	char *body = chat_body(model, user, extra);
	request(r, endpoint, "/chat/completions", body,
	        strcmp(endpoint, "official") == 0 ? with_key : NULL);
	free(body);
}

/* chat(), and the answer must be a 200 (its body said otherwise). */
static void
chat_ok(struct response *r, const char *endpoint, const char *model, const char *user,
        const char *extra)
{
	chat(r, endpoint, model, user, extra);
	cr_assert_eq(r->status, 200, "%s: HTTP %ld: %s", endpoint, r->status, r->body);
}

#define prompt_count test_count_prompt /* tests/helpers.h */
#define text_count test_count_text

/* The simulated Claude tokenizer's counts (tests/sim_helpers.h): the
 * fixture's Claude models count with it, as no public family does. */
#define sim_prompt_count test_sim_count_prompt
#define sim_text_count test_sim_count_text

#define str json_str /* tests/helpers.h */
#define num json_int

static int
all_of(const char *s, const char *set)
{
	for (; *s != '\0'; s++)
		if (strchr(set, *s) == NULL)
			return 0;
	return 1;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

TestSuite(fixture, .init = start, .fini = stop, .timeout = 60);

Test(fixture, prints_one_listening_line_per_endpoint)
{
	cr_assert_eq(world.n, 4);
	for (size_t i = 0; i < world.n; i++) {
		cr_expect(strncmp(world.urls[i], "http://127.0.0.1:", 17) == 0, "%s",
		          world.urls[i]);
		size_t len = strlen(world.urls[i]);
		cr_expect(len > 3 && strcmp(world.urls[i] + len - 3, "/v1") == 0, "%s",
		          world.urls[i]);
	}
}

Test(fixture, chat_completion_has_the_official_fields)
{
	struct response r;
	const char *q = "[ref 3f9a1c2e] Tell me something about databases.";
	chat_ok(&r, "official", "gpt-4o", q, NULL);
	cr_assert_not_null(r.json, "not JSON: %s", r.body);
	const char *id = str(r.json, "id");
	cr_assert_not_null(id);
	cr_expect(strncmp(id, "chatcmpl-", 9) == 0, "%s", id);
	cr_expect(strlen(id + 9) >= 24 && strlen(id + 9) <= 29 && all_of(id + 9, ALNUM), "%s", id);
	cr_expect_str_eq(str(r.json, "object"), "chat.completion");
	cr_expect(json_is_integer(json_object_get(r.json, "created")));
	cr_expect_str_eq(str(r.json, "model"), "gpt-4o-2024-08-06");
	const char *fp = str(r.json, "system_fingerprint");
	cr_assert_not_null(fp);
	cr_expect(strlen(fp) == 13 && strncmp(fp, "fp_", 3) == 0 &&
	              all_of(fp + 3, "0123456789abcdef"),
	          "%s", fp);
	json_t *choice = json_array_get(json_object_get(r.json, "choices"), 0);
	json_t *msg = json_object_get(choice, "message");
	cr_expect_str_eq(str(msg, "role"), "assistant");
	cr_expect(json_is_null(json_object_get(msg, "refusal")));
	const char *content = str(msg, "content");
	cr_assert_not_null(content);
	cr_expect(strlen(content) > 0);
	cr_expect_str_eq(str(choice, "finish_reason"), "stop");
	json_t *u = json_object_get(r.json, "usage");
	cr_expect_eq(num(u, "prompt_tokens"), prompt_count("o200k_base", "openai", q));
	cr_expect_eq(num(u, "completion_tokens"), text_count("o200k_base", content));
	cr_expect_eq(num(u, "total_tokens"), num(u, "prompt_tokens") + num(u, "completion_tokens"));
	json_t *pd = json_object_get(u, "prompt_tokens_details");
	cr_expect(json_is_integer(json_object_get(pd, "cached_tokens")));
	cr_expect(json_is_integer(json_object_get(pd, "audio_tokens")));
	json_t *cd = json_object_get(u, "completion_tokens_details");
	cr_expect(json_is_integer(json_object_get(cd, "reasoning_tokens")));
	response_release(&r);
}

Test(fixture, qwen_answers_in_the_vllm_dialect_with_its_own_tokenizer)
{
	struct response r;
	const char *q = "请用一句话介绍一下你自己。🙂 12345678";
	chat_ok(&r, "official", "qwen3-32b", q, NULL);
	const char *id = str(r.json, "id");
	cr_expect(id != NULL && strncmp(id, "chatcmpl-", 9) == 0, "%s", id);
	cr_expect_null(json_object_get(r.json, "system_fingerprint"));
	cr_expect_str_eq(str(r.json, "model"), "qwen3-32b");
	json_t *u = json_object_get(r.json, "usage");
	cr_expect_eq(num(u, "prompt_tokens"), prompt_count("qwen3", "qwen3", q));
	const char *content =
	    str(json_object_get(json_array_get(json_object_get(r.json, "choices"), 0), "message"),
	        "content");
	cr_assert_not_null(content);
	cr_expect_eq(num(u, "completion_tokens"), text_count("qwen3", content));
	response_release(&r);
}

/* Collect an SSE stream: content joined, the usage chunk, the chunk count. */
struct stream {
	struct buf content;
	json_t *usage;
	const char *finish;
	char finish_buf[32];
	int chunks;
	int done;
	int role_first;
	int usage_choices_empty;
};

static void
stream_parse(const char *body, struct stream *s)
{
	memset(s, 0, sizeof *s);
	buf_init(&s->content, 0);
	const char *p = body;
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		if (n > 6 && strncmp(p, "data: ", 6) == 0) {
			char *data = xstrndup(p + 6, n - 6);
			if (strcmp(data, "[DONE]") == 0)
				s->done = 1;
			else {
				json_t *o = json_loads(data, 0, NULL);
				cr_assert_not_null(o, "bad chunk: %s", data);
				cr_expect(!s->done, "a chunk after [DONE]");
				cr_expect_str_eq(str(o, "object"), "chat.completion.chunk");
				json_t *choices = json_object_get(o, "choices");
				json_t *c0 = json_array_get(choices, 0);
				json_t *delta = json_object_get(c0, "delta");
				if (s->chunks == 0)
					s->role_first =
					    str(delta, "role") != NULL &&
					    strcmp(str(delta, "role"), "assistant") == 0;
				if (str(delta, "content") != NULL)
					buf_puts(&s->content, str(delta, "content"));
				if (str(c0, "finish_reason") != NULL) {
					snprintf(s->finish_buf, sizeof s->finish_buf, "%s",
					         str(c0, "finish_reason"));
					s->finish = s->finish_buf;
				}
				json_t *u = json_object_get(o, "usage");
				if (json_is_object(u)) {
					s->usage = json_incref(u);
					s->usage_choices_empty = json_array_size(choices) == 0;
				}
				s->chunks++;
				json_decref(o);
			}
			free(data);
		}
		p += n;
		if (*p == '\n')
			p++;
	}
}

static void
stream_release(struct stream *s)
{
	buf_release(&s->content);
	json_decref(s->usage);
}

Test(fixture, streams_sse_with_a_final_usage_chunk)
{
	struct response r;
	const char *q = "Explain how a hash table works.";
	chat_ok(&r, "official", "gpt-4o", q,
	        "{\"stream\": true, \"stream_options\": {\"include_usage\": true}}");
	cr_expect(strstr(r.headers.data, "text/event-stream") != NULL, "%s", r.headers.data);
	struct stream s;
	stream_parse(r.body, &s);
	cr_expect(s.done, "no data: [DONE]");
	cr_expect(s.role_first, "the first chunk does not carry the role");
	cr_expect(s.chunks > 3);
	cr_assert_not_null(s.usage, "no usage chunk");
	cr_expect(s.usage_choices_empty, "the usage chunk has choices");
	cr_expect_str_eq(s.finish, "stop");
	cr_expect_eq(num(s.usage, "prompt_tokens"), prompt_count("o200k_base", "openai", q));
	cr_expect_eq(num(s.usage, "completion_tokens"), text_count("o200k_base", s.content.data));
	stream_release(&s);
	response_release(&r);
}

Test(fixture, stream_without_include_usage_has_no_usage)
{
	struct response r;
	chat_ok(&r, "official", "gpt-4o", "Say something.", "{\"stream\": true}");
	cr_expect(strstr(r.body, "\"usage\"") == NULL);
	cr_expect(strstr(r.body, "data: [DONE]") != NULL);
	response_release(&r);
}

Test(fixture, max_tokens_cuts_with_finish_reason_length)
{
	struct response r;
	chat_ok(&r, "official", "gpt-4o", "日本語のテキスト😀😀 0123456789 ｶﾀｶﾅ",
	        "{\"max_tokens\": 1}");
	json_t *choice = json_array_get(json_object_get(r.json, "choices"), 0);
	cr_expect_str_eq(str(choice, "finish_reason"), "length");
	cr_expect_eq(num(json_object_get(r.json, "usage"), "completion_tokens"), 1);
	const char *content = str(json_object_get(choice, "message"), "content");
	cr_expect_eq(text_count("o200k_base", content), 1, "'%s'", content);
	response_release(&r);

	chat(
	    &r, "official", "qwen3-32b", "Tell me a long story.",
	    "{\"max_tokens\": 7, \"stream\": true, \"stream_options\": {\"include_usage\": true}}");
	struct stream s;
	stream_parse(r.body, &s);
	cr_expect_str_eq(s.finish, "length");
	cr_assert_not_null(s.usage);
	cr_expect_eq(num(s.usage, "completion_tokens"), 7);
	cr_expect_eq(text_count("qwen3", s.content.data), 7);
	stream_release(&s);
	response_release(&r);
}

static char *
answer(const char *endpoint, const char *model, const char *q, const char *extra)
{
	struct response r;
	chat_ok(&r, endpoint, model, q, extra);
	const char *content =
	    str(json_object_get(json_array_get(json_object_get(r.json, "choices"), 0), "message"),
	        "content");
	cr_assert_not_null(content, "%s", r.body);
	char *copy = xstrdup(content);
	response_release(&r);
	return copy;
}

Test(fixture, knowledge_answers_the_probe_catalog)
{
	static const char *const models[] = {"gpt-4o", "qwen3-32b"};
	const char *t0 = "{\"temperature\": 0}";
	for (int i = 0; i < 2; i++) {
		char *a = answer(
		    "official", models[i],
		    "[ref 0a1b2c3d] What is 17 multiplied by 23? Answer with the number only.", t0);
		cr_expect_str_eq(a, "391", "%s", models[i]);
		free(a);
		a = answer("official", models[i], "[ref 99ff0011] Reply with the single word: pong",
		           t0);
		cr_expect_str_eq(a, "pong", "%s", models[i]);
		free(a);
	}
	const char *straw = "[ref 3f9a1c2e] How many times does the letter r appear in the word "
	                    "strawberry? Answer with the digit only.";
	char *a = answer("official", "gpt-4o", straw, t0);
	cr_expect_str_eq(a, "3");
	free(a);
	a = answer("official", "qwen3-32b", straw, t0);
	cr_expect_str_eq(a, "2");
	free(a);
	a = answer("official", "gpt-4o", "Name the capital of Australia in one word.", t0);
	cr_expect(strncmp(a, "Canberra", 8) == 0, "%s", a);
	free(a);
}

Test(fixture, cheap_model_differs_on_hard_questions_at_temperature)
{
	const char *straw = "How many times does the letter r appear in the word strawberry? "
	                    "Answer with the digit only.";
	int premium3 = 0, cheap3 = 0;
	for (int i = 0; i < 30; i++) {
		char *a = answer("official", "gpt-4o", straw, NULL);
		premium3 += strcmp(a, "3") == 0;
		free(a);
		a = answer("official", "qwen3-32b", straw, NULL);
		cheap3 += strcmp(a, "3") == 0;
		free(a);
	}
	cr_expect_geq(premium3, 24, "gpt-4o said 3 only %d/30 times", premium3);
	cr_expect_leq(cheap3, 20, "qwen3-32b said 3 %d/30 times", cheap3);
}

Test(fixture, same_seed_same_answer)
{
	const char *extra = "{\"seed\": 1234, \"temperature\": 1.0}";
	char *a = answer("official", "gpt-4o", "Write a few sentences about gardens.", extra);
	char *b = answer("official", "gpt-4o", "Write a few sentences about gardens.", extra);
	cr_expect_str_eq(a, b);
	free(a);
	free(b);
}

static void
expect_error(struct response *r, long status, const char *code)
{
	cr_expect_eq(r->status, status, "%s", r->body);
	json_t *e = json_object_get(r->json, "error");
	cr_assert(json_is_object(e), "%s", r->body);
	cr_expect(json_is_string(json_object_get(e, "message")));
	cr_expect(json_is_string(json_object_get(e, "type")));
	cr_expect(json_object_get(e, "param") != NULL, "no param field");
	cr_expect(json_object_get(e, "code") != NULL, "no code field");
	if (code != NULL)
		cr_expect_str_eq(str(e, "code"), code);
}

Test(fixture, bad_requests_get_official_errors)
{
	struct response r;
	request(&r, "official", "/chat/completions", "{\"model\": \"gpt-4o\", \"messages\": [",
	        with_key);
	expect_error(&r, 400, NULL);
	response_release(&r);
	request(&r, "official", "/chat/completions", "{\"model\": \"gpt-4o\"}", with_key);
	expect_error(&r, 400, "missing_required_parameter");
	cr_expect_str_eq(str(json_object_get(r.json, "error"), "param"), "messages");
	response_release(&r);
	chat(&r, "official", "gpt-9000", "hello", NULL);
	expect_error(&r, 404, "model_not_found");
	response_release(&r);
	chat(&r, "official", "gpt-4o", "hello", "{\"temperature\": 7}");
	expect_error(&r, 400, "decimal_above_max_value");
	response_release(&r);
	request(&r, "official", "/nope", NULL, with_key);
	expect_error(&r, 404, NULL);
	response_release(&r);
}

Test(fixture, api_keys_are_enforced_where_the_world_asks)
{
	struct response r;
	char *body = chat_body("gpt-4o", "hello", NULL);
	request(&r, "official", "/chat/completions", body, NULL);
	expect_error(&r, 401, NULL);
	response_release(&r);
	static const char *const wrong[] = {"authorization: Bearer sk-wrong-key-123456", NULL};
	request(&r, "official", "/chat/completions", body, wrong);
	expect_error(&r, 401, "invalid_api_key");
	cr_expect(strstr(r.body, "sk-wrong-key-123456") == NULL, "the key was echoed in full");
	response_release(&r);
	request(&r, "official", "/chat/completions", body, with_key);
	cr_expect_eq(r.status, 200);
	response_release(&r);
	/* the relays of this world take any key, or none */
	request(&r, "honest", "/chat/completions", body, wrong);
	cr_expect_eq(r.status, 200);
	response_release(&r);
	free(body);
}

Test(fixture, models_endpoint_lists_the_catalog)
{
	struct response r;
	request(&r, "official", "/models", NULL, with_key);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "object"), "list");
	json_t *data = json_object_get(r.json, "data");
	int gpt = 0, qwen = 0;
	size_t i;
	json_t *m;
	json_array_foreach(data, i, m)
	{
		cr_expect_str_eq(str(m, "object"), "model");
		gpt += strcmp(str(m, "id"), "gpt-4o") == 0;
		qwen += strcmp(str(m, "id"), "qwen3-32b") == 0;
	}
	cr_expect(gpt == 1 && qwen == 1);
	response_release(&r);
}

Test(fixture, honest_relay_looks_like_the_official)
{
	const char *q = "Describe the water cycle. 水循环 💧 31415926";
	struct response a, b;
	chat(&a, "official", "gpt-4o", q, "{\"temperature\": 0}");
	chat(&b, "honest", "gpt-4o", q, "{\"temperature\": 0}");
	cr_assert_eq(b.status, 200, "%s", b.body);
	cr_expect_str_eq(str(b.json, "model"), "gpt-4o-2024-08-06");
	cr_expect_not_null(str(b.json, "system_fingerprint"));
	cr_expect(strncmp(str(b.json, "id"), "chatcmpl-", 9) == 0);
	cr_expect_eq(num(json_object_get(b.json, "usage"), "prompt_tokens"),
	             num(json_object_get(a.json, "usage"), "prompt_tokens"));
	/* same model, temperature 0: the same answer */
	json_t *ca =
	    json_object_get(json_array_get(json_object_get(a.json, "choices"), 0), "message");
	json_t *cb =
	    json_object_get(json_array_get(json_object_get(b.json, "choices"), 0), "message");
	cr_expect_str_eq(str(ca, "content"), str(cb, "content"));
	response_release(&a);
	response_release(&b);
}

Test(fixture, swap_relay_answers_with_the_cheap_model_under_the_premium_name)
{
	const char *q = "这是一个测试句子，包含中文和数字 2024 以及表情 🚀🚀。 1234567 ｶﾀｶﾅ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢";
	struct response r;
	chat_ok(&r, "swap", "gpt-4o", q, NULL);
	cr_expect_str_eq(str(r.json, "model"), "gpt-4o-2024-08-06");
	long got = num(json_object_get(r.json, "usage"), "prompt_tokens");
	long qwen = prompt_count("qwen3", "qwen3", q);
	long gpt = prompt_count("o200k_base", "openai", q);
	cr_assert_neq(qwen, gpt, "the test prompt does not tell the tokenizers apart");
	cr_expect_eq(got, qwen, "prompt_tokens %ld: qwen3 says %ld, o200k %ld", got, qwen, gpt);
	cr_expect_null(json_object_get(r.json, "system_fingerprint"));
	response_release(&r);

	/* other models pass through untouched */
	chat(&r, "swap", "qwen3-32b", "hello", NULL);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(str(r.json, "model"), "qwen3-32b");
	response_release(&r);
}

Test(fixture, fractional_substitution_swaps_some_requests)
{
	int swapped = 0;
	const char *q = "Count the vowels in this sentence, then explain your reasoning.";
	for (int i = 0; i < 40; i++) {
		struct response r;
		chat_ok(&r, "half-swap", "gpt-4o", q, NULL);
		cr_expect_str_eq(str(r.json, "model"), "gpt-4o-2024-08-06");
		const char *fp = str(r.json, "system_fingerprint");
		/* gpt-4o-mini wears its own fingerprints */
		swapped += fp != NULL &&
		           (strcmp(fp, "fp_0ba0d124f1") == 0 || strcmp(fp, "fp_01aeff40ea") == 0);
		response_release(&r);
	}
	cr_expect(swapped >= 8 && swapped <= 32, "%d of 40 swapped", swapped);
}

Test(fixture, survives_garbage_and_large_bodies)
{
	struct response r;
	request(&r, "official", "/chat/completions", "\xff\xfe\x00garbage", with_key);
	expect_error(&r, 400, NULL);
	response_release(&r);
	request(&r, "official", "/chat/completions", "{\"model\": 5, \"messages\": {\"role\": []}}",
	        with_key);
	expect_error(&r, 400, NULL);
	response_release(&r);
	chat(&r, "official", "gpt-4o", "x",
	     "{\"messages\": [{\"role\": \"user\", \"content\": 7}]}");
	expect_error(&r, 400, NULL);
	response_release(&r);
	/* still serving */
	chat(&r, "official", "gpt-4o", "hello", NULL);
	cr_expect_eq(r.status, 200);
	response_release(&r);
}

/* ---- bad worlds: no fixture running ---- */

static void
expect_bad_world(const char *path, const char *where, const char *what)
{
	char *argv[] = {(char *)test_binary("assay-fixture"), (char *)"-c", (char *)path, NULL};
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 10000, &out, &err);
	cr_expect_eq(rc, 2, "exit %d, stderr: %s", rc, err);
	cr_expect_str_empty(out, "it started: %s", out);
	char prefix[300];
	snprintf(prefix, sizeof prefix, "assay-fixture: %s:%s: ", path, where);
	cr_expect(strncmp(err, prefix, strlen(prefix)) == 0, "stderr: %s", err);
	cr_expect(strstr(err, what) != NULL, "stderr: %s", err);
	cr_expect(strchr(err, '\n') == err + strlen(err) - 1, "not one line: %s", err);
	free(out);
	free(err);
}

Test(bad_world, unknown_key_is_named_with_its_line)
{
	expect_bad_world("tests/data/fixture/bad-key.yaml", "6", "unknown key 'prot'");
}

Test(bad_world, unknown_behaviour_is_named_with_its_line)
{
	expect_bad_world("tests/data/fixture/bad-behaviour.yaml", "8", "teleport");
}

Test(bad_world, unknown_model_is_named_with_its_line)
{
	expect_bad_world("tests/data/fixture/bad-model.yaml", "8", "gpt-17");
}

Test(bad_world, missing_file_fails_with_exit_2)
{
	char *argv[] = {(char *)test_binary("assay-fixture"), (char *)"-c",
	                (char *)"tests/data/fixture/no-such-world.yaml", NULL};
	char *out = NULL, *err = NULL;
	cr_expect_eq(run_capture(argv, 10000, &out, &err), 2);
	cr_expect(strncmp(err, "assay-fixture: ", 15) == 0, "%s", err);
	free(out);
	free(err);
}

/* ---- the rest of the wire: parameters, tools, JSON mode, Anthropic ---- */

static json_t *
first_choice(const struct response *r)
{
	return json_array_get(json_object_get(r->json, "choices"), 0);
}

Test(fixture, logprobs_cover_every_token)
{
	struct response r;
	chat_ok(&r, "official", "gpt-4o", "Tell me about lighthouses.",
	        "{\"logprobs\": true, \"top_logprobs\": 2, \"max_tokens\": 12}");
	json_t *content = json_object_get(json_object_get(first_choice(&r), "logprobs"), "content");
	cr_assert(json_is_array(content), "%s", r.body);
	cr_expect_eq((long)json_array_size(content),
	             num(json_object_get(r.json, "usage"), "completion_tokens"));
	struct buf joined;
	buf_init(&joined, 0);
	size_t i;
	json_t *t;
	json_array_foreach(content, i, t)
	{
		buf_puts(&joined, str(t, "token"));
		cr_expect_leq(json_real_value(json_object_get(t, "logprob")), 0.0);
		cr_expect_eq(json_array_size(json_object_get(t, "top_logprobs")), 2);
		cr_expect_eq(json_array_size(json_object_get(t, "bytes")), strlen(str(t, "token")));
	}
	cr_expect_str_eq(joined.data, str(json_object_get(first_choice(&r), "message"), "content"));
	buf_release(&joined);
	response_release(&r);
}

Test(fixture, n_choices_whole_and_streamed)
{
	struct response r;
	chat_ok(&r, "official", "gpt-4o", "Tell me about lighthouses.",
	        "{\"n\": 3, \"max_tokens\": 4}");
	cr_expect_eq(json_array_size(json_object_get(r.json, "choices")), 3);
	cr_expect_eq(num(json_object_get(r.json, "usage"), "completion_tokens"), 12);
	response_release(&r);
	chat(&r, "official", "gpt-4o", "Tell me about lighthouses.",
	     "{\"n\": 2, \"max_tokens\": 4, \"stream\": true}");
	int seen[2] = {0, 0};
	for (const char *p = strstr(r.body, "\"index\":"); p != NULL;
	     p = strstr(p + 1, "\"index\":"))
		if (p[8] == '0' || p[8] == '1')
			seen[p[8] - '0']++;
	cr_expect(seen[0] >= 5 && seen[1] >= 5, "chunks per choice: %d, %d", seen[0], seen[1]);
	cr_expect(strstr(r.body, "data: [DONE]") != NULL);
	response_release(&r);
}

Test(fixture, stop_sequences_end_the_answer)
{
	struct response r;
	chat(&r, "official", "gpt-4o", "Tell me about rivers.",
	     "{\"stop\": [\".\", \"!\"], \"temperature\": 0}");
	const char *c = str(json_object_get(first_choice(&r), "message"), "content");
	cr_assert_not_null(c, "%s", r.body);
	cr_expect(strpbrk(c, ".!") == NULL, "%s", c);
	cr_expect_str_eq(str(first_choice(&r), "finish_reason"), "stop");
	response_release(&r);
}

#define WEATHER_TOOL                                                                               \
	"{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": "      \
	"{\"type\": \"object\", \"properties\": {\"location\": {\"type\": \"string\"}}, "          \
	"\"required\": [\"location\"]}}}"

Test(fixture, tools_are_called_with_arguments)
{
	struct response r;
	chat_ok(&r, "official", "gpt-4o", "What is the weather in Lisbon today?",
	        "{\"tools\": [" WEATHER_TOOL "]}");
	json_t *msg = json_object_get(first_choice(&r), "message");
	cr_expect_str_eq(str(first_choice(&r), "finish_reason"), "tool_calls");
	cr_expect(json_is_null(json_object_get(msg, "content")));
	json_t *call = json_array_get(json_object_get(msg, "tool_calls"), 0);
	cr_expect(strncmp(str(call, "id"), "call_", 5) == 0, "%s", str(call, "id"));
	json_t *fn = json_object_get(call, "function");
	cr_expect_str_eq(str(fn, "name"), "get_weather");
	json_t *args = json_loads(str(fn, "arguments"), 0, NULL);
	cr_expect_str_eq(str(args, "location"), "Lisbon");
	json_decref(args);
	response_release(&r);
	chat(&r, "official", "gpt-4o", "hello", "{\"tool_choice\": \"required\"}");
	expect_error(&r, 400, NULL);
	response_release(&r);
}

Test(fixture, json_mode_answers_json)
{
	struct response r;
	chat(&r, "official", "gpt-4o", "Name the capital of Australia in one word, as JSON.",
	     "{\"response_format\": {\"type\": \"json_object\"}, \"temperature\": 0}");
	json_t *v =
	    json_loads(str(json_object_get(first_choice(&r), "message"), "content"), 0, NULL);
	cr_assert(json_is_object(v), "%s", r.body);
	cr_expect_str_eq(str(v, "answer"), "Canberra");
	json_decref(v);
	response_release(&r);
	/* json_object without the word JSON in the messages: the official 400 */
	chat(&r, "official", "gpt-4o", "Name a city.",
	     "{\"response_format\": {\"type\": \"json_object\"}}");
	expect_error(&r, 400, NULL);
	response_release(&r);
}

static const char *const anthropic_ok[] = {"x-api-key: " KEY, "anthropic-version: 2023-06-01",
                                           NULL};

Test(fixture, anthropic_messages_whole_and_streamed)
{
	struct response r;
	const char *body =
	    "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 40, \"temperature\": 0, "
	    "\"messages\": [{\"role\": \"user\", \"content\": \"Name the capital of "
	    "Australia in one word.\"}]}";
	request(&r, "official", "/messages", body, anthropic_ok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strncmp(str(r.json, "id"), "msg_01", 6) == 0);
	cr_expect_str_eq(str(r.json, "type"), "message");
	cr_expect_str_eq(str(r.json, "model"), "claude-sonnet-4-20250514");
	cr_expect_str_eq(str(json_array_get(json_object_get(r.json, "content"), 0), "text"),
	                 "Canberra");
	cr_expect_str_eq(str(r.json, "stop_reason"), "end_turn");
	json_t *u = json_object_get(r.json, "usage");
	cr_expect_eq(num(u, "input_tokens"),
	             sim_prompt_count("Name the capital of Australia in one word."));
	cr_expect_eq(num(u, "output_tokens"), sim_text_count("Canberra"));
	/* and no public family's count: the honest Claude is not a cl100k model */
	cr_expect_neq(
	    num(u, "input_tokens"),
	    prompt_count("cl100k_base", "openai", "Name the capital of Australia in one word."));
	cr_expect(strstr(r.headers.data, "anthropic-ratelimit-requests-remaining:") != NULL);
	cr_expect(strstr(r.headers.data, "request-id: req_") != NULL);
	response_release(&r);

	const char *sbody =
	    "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 5, \"stream\": true, "
	    "\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story.\"}]}";
	request(&r, "official", "/messages", sbody, anthropic_ok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	static const char *const order[] = {"event: message_start",
	                                    "event: content_block_start",
	                                    "event: ping",
	                                    "event: content_block_delta",
	                                    "event: content_block_stop",
	                                    "event: message_delta",
	                                    "event: message_stop",
	                                    NULL};
	const char *at = r.body;
	for (size_t i = 0; order[i] != NULL; i++) {
		const char *next = strstr(at, order[i]);
		cr_expect_not_null(next, "no '%s' in order", order[i]);
		if (next != NULL)
			at = next;
	}
	cr_expect(strstr(r.body, "\"stop_reason\":\"max_tokens\"") != NULL);
	cr_expect(strstr(r.body, "\"output_tokens\":5") != NULL);
	response_release(&r);
}

Test(fixture, anthropic_headers_keys_and_count_tokens)
{
	struct response r;
	const char *body = "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 5, \"messages\": "
	                   "[{\"role\": \"user\", \"content\": \"hi\"}]}";
	static const char *const no_version[] = {"x-api-key: " KEY, NULL};
	request(&r, "official", "/messages", body, no_version);
	cr_expect_eq(r.status, 400, "%s", r.body);
	cr_expect_str_eq(str(json_object_get(r.json, "error"), "type"), "invalid_request_error");
	response_release(&r);
	static const char *const bad_key[] = {"x-api-key: sk-nope", "anthropic-version: 2023-06-01",
	                                      NULL};
	request(&r, "official", "/messages", body, bad_key);
	cr_expect_eq(r.status, 401, "%s", r.body);
	cr_expect_str_eq(str(r.json, "type"), "error");
	cr_expect_str_eq(str(json_object_get(r.json, "error"), "type"), "authentication_error");
	response_release(&r);
	request(&r, "official", "/messages/count_tokens",
	        "{\"model\": \"claude-sonnet-4\", \"messages\": [{\"role\": \"user\", \"content\": "
	        "\"hi\"}]}",
	        anthropic_ok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(num(r.json, "input_tokens"), sim_prompt_count("hi"));
	response_release(&r);
	/* a GPT model is not on the official Anthropic API */
	request(&r, "official", "/messages",
	        "{\"model\": \"gpt-4o\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", "
	        "\"content\": \"hi\"}]}",
	        anthropic_ok);
	cr_expect_eq(r.status, 404, "%s", r.body);
	response_release(&r);
}

Test(fixture, refuses_a_body_over_the_cap)
{
	size_t n = 9u << 20;
	char *big = xmalloc(n + 64);
	memset(big, 'a', n + 63);
	memcpy(big, "{\"model\": \"gpt-4o\", \"x\": \"", 26);
	memcpy(big + n + 60, "\"}", 3);
	struct response r;
	request(&r, "official", "/chat/completions", big, with_key);
	cr_expect_eq(r.status, 413);
	response_release(&r);
	free(big);
	chat(&r, "official", "gpt-4o", "hello", NULL);
	cr_expect_eq(r.status, 200);
	response_release(&r);
}

/* ---- strictness: what the official APIs refuse, in their words ---- */

/*
 * Bodies are written with single quotes for readability; quoted() turns
 * them into JSON. Expected texts are the real services' (see the sources in
 * fixtures/schema.c). OA(...) is a valid OpenAI body plus fields, AN(...) a
 * valid Anthropic one.
 */
#define OA(extra) "{'model': 'gpt-4o', 'messages': [{'role': 'user', 'content': 'hi'}]" extra "}"
#define OA_MSGS(msgs) "{'model': 'gpt-4o', 'messages': " msgs "}"
#define AN(extra)                                                                                  \
	"{'model': 'claude-sonnet-4', 'max_tokens': 2048, 'messages': [{'role': 'user', "          \
	"'content': 'hi'}]" extra "}"
#define AN_MSGS(msgs) "{'model': 'claude-sonnet-4', 'max_tokens': 2048, 'messages': " msgs "}"
#define USE                                                                                        \
	"{'type': 'tool_use', 'id': 'toolu_1', 'name': 'get_weather', 'input': {'city': 'Oslo'}}"
#define RESULT "{'type': 'tool_result', 'tool_use_id': 'toolu_1', 'content': '12 C'}"
#define AN_TOOL "{'name': 'get_weather', 'input_schema': {'type': 'object'}}"

/* The tool tags @anthropic-ai/sdk 1.12.0 knows, as the API lists them. */
#define AN_TOOL_TAGS                                                                               \
	"'bash_20250124', 'browser_toolset_20260801', 'code_execution_20250522', "                 \
	"'code_execution_20250825', 'code_execution_20260120', 'code_execution_20260521', "        \
	"'computer_toolset_20260801', 'custom', 'memory_20250818', 'text_editor_20250124', "       \
	"'text_editor_20250429', 'text_editor_20250728', 'tool_search_tool_bm25', "                \
	"'tool_search_tool_bm25_20251119', 'tool_search_tool_regex', "                             \
	"'tool_search_tool_regex_20251119', 'web_fetch_20250910', 'web_fetch_20260209', "          \
	"'web_fetch_20260309', 'web_fetch_20260318', 'web_search_20250305', "                      \
	"'web_search_20260209', 'web_search_20260318'"
#define AN_BLOCK_TAGS                                                                              \
	"'bash_code_execution_tool_result', 'code_execution_tool_result', 'container_upload', "    \
	"'document', 'image', 'redacted_thinking', 'search_result', 'server_tool_use', 'text', "   \
	"'text_editor_code_execution_tool_result', 'thinking', 'tool_result', "                    \
	"'tool_search_tool_result', 'tool_use', 'web_fetch_tool_result', 'web_search_tool_result'"
#define THINKING_DOCS "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"

struct refused {
	const char *body;
	const char *message;
	const char *param; /* OpenAI: NULL for null */
	const char *code;  /* OpenAI: NULL for null */
};

static const struct refused openai_refused[] = {
    /* unknown fields, at the top and nested */
    {OA(", 'foo': 1"), "Unrecognized request argument supplied: foo", NULL, NULL},
    {OA(", 'stop_sequences': ['x']"), "Unrecognized request argument supplied: stop_sequences",
     NULL, NULL},
    {OA(", 'thinking': {'type': 'enabled', 'budget_tokens': 2000}"),
     "Unrecognized request argument supplied: thinking", NULL, NULL},
    {OA(", 'reasoning_effort': 'low'"), "Unrecognized request argument supplied: reasoning_effort",
     NULL, NULL},
    {OA_MSGS("[{'role': 'user', 'content': 'hi', 'cache_control': {'type': 'ephemeral'}}]"),
     "Unknown parameter: 'messages[0].cache_control'.", "messages[0].cache_control",
     "unknown_parameter"},
    {OA_MSGS("[{'role': 'user', 'content': [{'type': 'text', 'text': 'hi', 'x': 1}]}]"),
     "Unknown parameter: 'messages[0].content[0].x'.", "messages[0].content[0].x",
     "unknown_parameter"},
    {OA(", 'stream': true, 'stream_options': {'bogus': 1}"),
     "Unknown parameter: 'stream_options.bogus'.", "stream_options.bogus", "unknown_parameter"},
    {OA(", 'tools': [{'type': 'function', 'function': {'name': 'f', 'input_schema': {}}}]"),
     "Unknown parameter: 'tools[0].function.input_schema'.", "tools[0].function.input_schema",
     "unknown_parameter"},
    /* required fields */
    {"{'messages': [{'role': 'user', 'content': 'hi'}]}", "you must provide a model parameter",
     NULL, NULL},
    {OA_MSGS("[{'content': 'hi'}]"), "Missing required parameter: 'messages[0].role'.",
     "messages[0].role", "missing_required_parameter"},
    {OA_MSGS("[{'role': 'user'}]"), "Missing required parameter: 'messages[0].content'.",
     "messages[0].content", "missing_required_parameter"},
    {OA_MSGS("[{'role': 'tool', 'content': 'x'}]"),
     "Missing required parameter: 'messages[0].tool_call_id'.", "messages[0].tool_call_id",
     "missing_required_parameter"},
    {OA_MSGS("[{'role': 'user', 'content': [{'type': 'text'}]}]"),
     "Missing required parameter: 'messages[0].content[0].text'.", "messages[0].content[0].text",
     "missing_required_parameter"},
    {OA(", 'tools': [{'type': 'function'}]"), "Missing required parameter: 'tools[0].function'.",
     "tools[0].function", "missing_required_parameter"},
    {OA(", 'tools': [{'type': 'function', 'function': {'parameters': {}}}]"),
     "Missing required parameter: 'tools[0].function.name'.", "tools[0].function.name",
     "missing_required_parameter"},
    {OA(", 'tools': [{'name': 'f', 'input_schema': {'type': 'object'}}]"),
     "Missing required parameter: 'tools[0].type'.", "tools[0].type", "missing_required_parameter"},
    {OA(", 'response_format': {}"), "Missing required parameter: 'response_format.type'.",
     "response_format.type", "missing_required_parameter"},
    {OA(", 'response_format': {'type': 'json_schema', 'json_schema': {'schema': {}}}"),
     "Missing required parameter: 'response_format.json_schema.name'.",
     "response_format.json_schema.name", "missing_required_parameter"},
    {OA(", 'tools': [{'type': 'function', 'function': {'name': 'f'}}], 'tool_choice': {'type': "
        "'function'}"),
     "Missing required parameter: 'tool_choice.function'.", "tool_choice.function",
     "missing_required_parameter"},
    {OA(", 'tools': [{'type': 'function', 'function': {'name': 'f'}}], 'tool_choice': {'type': "
        "'function', 'function': {}}"),
     "Missing required parameter: 'tool_choice.function.name'.", "tool_choice.function.name",
     "missing_required_parameter"},
    /* types */
    {OA_MSGS("'hi'"),
     "Invalid type for 'messages': expected an array of objects, but got a string "
     "instead.",
     "messages", "invalid_type"},
    {OA_MSGS("['hi']"),
     "Invalid type for 'messages[0]': expected an object, but got a string "
     "instead.",
     "messages[0]", "invalid_type"},
    {OA_MSGS("[{'role': 'user', 'content': 7}]"),
     "Invalid type for 'messages[0].content': expected one of a string or array of objects, but "
     "got an integer instead.",
     "messages[0].content", "invalid_type"},
    {OA(", 'temperature': 'hot'"),
     "Invalid type for 'temperature': expected a decimal, but got a string instead.", "temperature",
     "invalid_type"},
    {OA(", 'max_tokens': '5'"),
     "Invalid type for 'max_tokens': expected an integer, but got a string instead.", "max_tokens",
     "invalid_type"},
    {OA(", 'seed': 1.5"),
     "Invalid type for 'seed': expected an integer, but got a decimal number instead.", "seed",
     "invalid_type"},
    {OA(", 'stream': 'yes'"),
     "Invalid type for 'stream': expected a boolean, but got a string "
     "instead.",
     "stream", "invalid_type"},
    {OA(", 'tools': 'none'"),
     "Invalid type for 'tools': expected an array of objects, but got a "
     "string instead.",
     "tools", "invalid_type"},
    {OA(", 'tool_choice': 7"),
     "Invalid type for 'tool_choice': expected one of one of 'none', 'auto', or 'required' or "
     "object, but got an integer instead.",
     "tool_choice", "invalid_type"},
    {OA(", 'response_format': 'json'"),
     "Invalid type for 'response_format': expected an object, but got a string instead.",
     "response_format", "invalid_type"},
    {OA(", 'stop': [1]"),
     "Invalid type for 'stop[0]': expected a string, but got an integer "
     "instead.",
     "stop[0]", "invalid_type"},
    {OA(", 'metadata': {'k': 7}"),
     "Invalid type for 'metadata.k': expected a string, but got an integer instead.", "metadata.k",
     "invalid_type"},
    {OA(", 'metadata': 'x'"),
     "Invalid type for 'metadata': expected a metadata object, but got a string instead.",
     "metadata", "invalid_type"},
    /* values */
    {OA_MSGS("[{'role': 'bogus', 'content': 'hi'}]"),
     "Invalid value: 'bogus'. Supported values are: 'system', 'assistant', 'user', 'function', "
     "'tool', and 'developer'.",
     "messages[0].role", "invalid_value"},
    {OA_MSGS("[{'role': 'user', 'content': [{'type': 'thinking', 'thinking': 'x'}]}]"),
     "Invalid value: 'thinking'. Supported values are: 'text', 'image_url', 'input_audio', "
     "'refusal', 'audio', and 'file'.",
     "messages[0].content[0].type", "invalid_value"},
    {OA(", 'tools': [{'type': 'tool', 'function': {'name': 'f'}}]"),
     "Invalid value: 'tool'. Supported values are: 'function' and 'custom'.", "tools[0].type",
     "invalid_value"},
    {OA(", 'tools': [{'type': 'function', 'function': {'name': 'get weather'}}]"),
     "Invalid 'tools[0].function.name': string does not match pattern. Expected a string that "
     "matches the pattern '^[a-zA-Z0-9_-]+$'.",
     "tools[0].function.name", "invalid_value"},
    {OA(", 'tools': [{'type': 'function', 'function': {'name': ''}}]"),
     "Invalid 'tools[0].function.name': empty string. Expected a string with minimum length 1, "
     "but got an empty string instead.",
     "tools[0].function.name", "empty_string"},
    {OA(", 'tools': [{'type': 'function', 'function': {'name': 'f'}}], 'tool_choice': 'any'"),
     "Invalid value: 'any'. Supported values are: 'none', 'auto', and 'required'.", "tool_choice",
     "invalid_value"},
    {OA(", 'response_format': {'type': 'bogus'}"),
     "Invalid value: 'bogus'. Supported values are: 'json_object', 'json_schema', and 'text'.",
     "response_format.type", "invalid_value"},
    {OA(", 'service_tier': 'bogus'"),
     "Invalid value: 'bogus'. Supported values are: 'auto', 'default', 'flex', 'scale', and "
     "'priority'.",
     "service_tier", "invalid_value"},
    /* ranges */
    {OA(", 'temperature': 2.5"),
     "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 "
     "instead.",
     "temperature", "decimal_above_max_value"},
    {OA(", 'temperature': -1"),
     "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got -1 "
     "instead.",
     "temperature", "decimal_below_min_value"},
    {OA(", 'frequency_penalty': 3"),
     "Invalid 'frequency_penalty': decimal above maximum value. Expected a value <= 2, but got 3 "
     "instead.",
     "frequency_penalty", "decimal_above_max_value"},
    {OA(", 'n': 0"),
     "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 "
     "instead.",
     "n", "integer_below_min_value"},
    {OA(", 'max_tokens': -1"),
     "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got -1 "
     "instead.",
     "max_tokens", "integer_below_min_value"},
    {OA(", 'stop': ['a', 'b', 'c', 'd', 'e']"),
     "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array "
     "with length 5 instead.",
     "stop", "array_above_max_length"},
    {OA_MSGS("[]"),
     "Invalid 'messages': empty array. Expected an array with minimum length 1, "
     "but got an empty array instead.",
     "messages", "empty_array"},
    /* rules between fields and turns */
    {OA(", 'tool_choice': 'required'"),
     "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
     "tool_choice", NULL},
    {OA(", 'top_logprobs': 2"),
     "Invalid value for 'top_logprobs': You must set 'logprobs' to true if you are specifying "
     "'top_logprobs'.",
     "top_logprobs", NULL},
    {OA(", 'stream_options': {'include_usage': true}"),
     "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options",
     NULL},
    {OA_MSGS("[{'role': 'user', 'content': 'hi'}, {'role': 'tool', 'tool_call_id': 'call_1', "
             "'content': '12 C'}]"),
     "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
     "with 'tool_calls'.",
     "messages.[1].role", NULL},
    {OA_MSGS("[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'tool_calls': [{'id': "
             "'call_1', 'type': 'function', 'function': {'name': 'f', 'arguments': '{}'}}]}, "
             "{'role': 'user', 'content': 'and?'}]"),
     "An assistant message with 'tool_calls' must be followed by tool messages responding to "
     "each 'tool_call_id'. The following tool_call_ids did not have response messages: call_1",
     "messages.[1].role", NULL},
};

/* Anthropic's errors carry no param or code. */
struct an_refused {
	const char *body;
	const char *message;
};

static const struct an_refused anthropic_refused[] = {
    /* OpenAI's fields on the Anthropic wire: the bug this table exists for */
    {AN(", 'stop': ['x']"), "stop: Extra inputs are not permitted"},
    {AN(", 'n': 1"), "n: Extra inputs are not permitted"},
    {AN(", 'response_format': {'type': 'json_object'}"),
     "response_format: Extra inputs are not permitted"},
    {AN(", 'logprobs': true"), "logprobs: Extra inputs are not permitted"},
    {AN(", 'context_management': {'edits': []}"),
     "context_management: Extra inputs are not permitted"},
    {AN(", 'tools': [{'type': 'function', 'function': {'name': 'f', 'parameters': {}}}]"),
     "tools.0: Input tag 'function' found using 'type' does not match any of the expected tags: "
     "" AN_TOOL_TAGS},
    {AN(", 'tools': [" AN_TOOL "], 'tool_choice': 'required'"),
     "tool_choice: Input should be a valid dictionary or object to extract fields from"},
    {AN(", 'tools': [" AN_TOOL "], 'tool_choice': {'type': 'required'}"),
     "tool_choice: Input tag 'required' found using 'type' does not match any of the expected "
     "tags: 'any', 'auto', 'none', 'tool'"},
    {AN(", 'tools': [" AN_TOOL "], 'tool_choice': {'type': 'tool'}"),
     "tool_choice.tool.name: Field required"},
    {AN(", 'tools': [" AN_TOOL "], 'tool_choice': {}"),
     "tool_choice: Unable to extract tag using discriminator 'type'"},
    /* tools */
    {AN(", 'tools': [{'name': 'get_weather'}]"), "tools.0.custom.input_schema: Field required"},
    {AN(", 'tools': [{'name': 'get weather', 'input_schema': {'type': 'object'}}]"),
     "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'"},
    {AN(", 'tools': [{'name': 'f', 'input_schema': {'type': 'array'}}]"),
     "tools.0.custom.input_schema.type: Input should be 'object'"},
    {AN(", 'tools': [{'name': 'f', 'input_schema': {'type': 'object'}, 'parameters': {}}]"),
     "tools.0.custom.parameters: Extra inputs are not permitted"},
    {AN(", 'tools': 'get_weather'"), "tools: Input should be a valid list"},
    /* messages and content blocks */
    {"{'max_tokens': 5, 'messages': [{'role': 'user', 'content': 'hi'}]}", "model: Field required"},
    {"{'model': 'claude-sonnet-4', 'messages': [{'role': 'user', 'content': 'hi'}]}",
     "max_tokens: Field required"},
    {AN_MSGS("[{'role': 'system', 'content': 'hi'}]"),
     "messages.0.role: Input should be 'user' or 'assistant'"},
    {AN_MSGS("[{'role': 'user', 'content': 'hi', 'name': 'bob'}]"),
     "messages.0.name: Extra inputs are not permitted"},
    {AN_MSGS("[{'role': 'user'}]"), "messages.0.content: Field required"},
    {AN_MSGS("[{'role': 'user', 'content': 7}]"),
     "messages.0.content: Input should be a valid list"},
    {AN_MSGS("[{'role': 'user', 'content': ['hi']}]"),
     "messages.0.content.0: Input should be a valid dictionary or object to extract fields from"},
    {AN_MSGS("[{'role': 'user', 'content': [{'type': 'image_url', 'image_url': {'url': 'x'}}]}]"),
     "messages.0.content.0: Input tag 'image_url' found using 'type' does not match any of the "
     "expected tags: " AN_BLOCK_TAGS},
    {AN_MSGS("[{'role': 'user', 'content': [{'text': 'hi'}]}]"),
     "messages.0.content.0: Unable to extract tag using discriminator 'type'"},
    {AN_MSGS("[{'role': 'user', 'content': [{'type': 'text'}]}]"),
     "messages.0.content.0.text.text: Field required"},
    {AN_MSGS("[{'role': 'user', 'content': [{'type': 'text', 'text': 'hi', 'cache_control': "
             "{'type': 'ephemeral', 'ttl': '2h'}}]}]"),
     "messages.0.content.0.text.cache_control.ephemeral.ttl: Input should be '5m' or '1h'"},
    {AN_MSGS("[{'role': 'user', 'content': [{'type': 'image'}]}]"),
     "messages.0.content.0.image.source: Field required"},
    {AN_MSGS("[{'role': 'user', 'content': [{'type': 'image', 'source': {'type': 'base64', "
             "'media_type': 'image/bmp', 'data': 'AAAA'}}]}]"),
     "messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', "
     "'image/png', 'image/gif' or 'image/webp'"},
    {AN_MSGS("[{'role': 'user', 'content': [{'type': 'document', 'source': {'type': 'pdf'}}]}]"),
     "messages.0.content.0.document.source: Input tag 'pdf' found using 'type' does not match "
     "any of the expected tags: 'base64', 'content', 'file', 'text', 'url'"},
    {AN_MSGS("[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': [{'type': "
             "'thinking', 'thinking': 'hmm'}]}]"),
     "messages.1.content.0.thinking.signature: Field required"},
    {AN_MSGS("[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': [{'type': "
             "'tool_use', 'id': 'toolu_1', 'name': 'f', 'input': {}, 'text': 'x'}]}, {'role': "
             "'user', 'content': [" RESULT "]}]"),
     "messages.1.content.0.tool_use.text: Extra inputs are not permitted"},
    {AN_MSGS("[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': [{'type': "
             "'tool_use', 'name': 'f', 'input': {}}]}]"),
     "messages.1.content.0.tool_use.id: Field required"},
    {AN_MSGS("[{'role': 'user', 'content': [{'type': 'tool_result', 'content': 'x'}]}]"),
     "messages.0.content.0.tool_result.tool_use_id: Field required"},
    {AN_MSGS("[{'role': 'user', 'content': ''}]"),
     "messages.0: all messages must have non-empty content except for the optional final "
     "assistant message"},
    {AN_MSGS("[{'role': 'user', 'content': [{'type': 'text', 'text': ''}]}]"),
     "messages: text content blocks must be non-empty"},
    {AN_MSGS("[{'role': 'user', 'content': [" RESULT "]}]"),
     "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1. "
     "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
     "message."},
    {AN_MSGS("[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': [" USE "]}, "
             "{'role': 'user', 'content': 'and?'}]"),
     "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
     "toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next "
     "message."},
    /* system, stop_sequences, sampling, metadata */
    {AN(", 'system': 5"), "system: Input should be a valid list"},
    {AN(", 'system': [{'type': 'image', 'text': 'x'}]"), "system.0.type: Input should be 'text'"},
    {AN(", 'system': [{'type': 'text', 'text': 'x', 'cache_control': {'type': 'ephemeral', "
        "'scope': 'global'}}]"),
     "system.0.cache_control.ephemeral.scope: Extra inputs are not permitted"},
    {AN(", 'stop_sequences': 'x'"), "stop_sequences: Input should be a valid list"},
    {AN(", 'stop_sequences': [1]"), "stop_sequences.0: Input should be a valid string"},
    {AN(", 'temperature': 1.5"), "temperature: Input should be less than or equal to 1"},
    {AN(", 'temperature': 'hot'"), "temperature: Input should be a valid number"},
    {AN(", 'top_k': -1"), "top_k: Input should be greater than or equal to 0"},
    {AN(", 'top_k': 1.5"), "top_k: Input should be a valid integer, got a number with a "
                           "fractional part"},
    {AN(", 'top_p': 2"), "top_p: Input should be less than or equal to 1"},
    {"{'model': 'claude-sonnet-4', 'max_tokens': 0, 'messages': [{'role': 'user', 'content': "
     "'hi'}]}",
     "max_tokens: Input should be greater than or equal to 1"},
    {AN(", 'metadata': {'user_id': 5}"), "metadata.user_id: Input should be a valid string"},
    {AN(", 'metadata': {'session': 'x'}"), "metadata.session: Extra inputs are not permitted"},
    {AN(", 'service_tier': 'priority'"), "service_tier: Input should be 'auto' or 'standard_only'"},
    /* thinking */
    {AN(", 'thinking': {'type': 'enabled', 'budget_tokens': 100}"),
     "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"},
    {AN(", 'thinking': {'type': 'enabled'}"), "thinking.enabled.budget_tokens: Field required"},
    {AN(", 'thinking': {'type': 'bogus'}"),
     "thinking: Input tag 'bogus' found using 'type' does not match any of the expected tags: "
     "'adaptive', 'between_tools', 'disabled', 'enabled'"},
    {AN(", 'thinking': {'type': 'enabled', 'budget_tokens': 4096}"),
     "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
     "documentation at " THINKING_DOCS "#max-tokens-and-context-window-size"},
    {AN(", 'thinking': {'type': 'enabled', 'budget_tokens': 1024}, 'temperature': 0.5"),
     "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
     "documentation at " THINKING_DOCS "#important-considerations-when-using-extended-thinking"},
    {AN(", 'thinking': {'type': 'enabled', 'budget_tokens': 1024}, 'top_k': 5"),
     "`top_k` must be unset when thinking is enabled. Please consult our documentation at "
     "" THINKING_DOCS "#important-considerations-when-using-extended-thinking"},
    {AN(", 'thinking': {'type': 'enabled', 'budget_tokens': 1024}, 'tools': [" AN_TOOL "], "
        "'tool_choice': {'type': 'any'}"),
     "Thinking may not be enabled when tool_choice forces tool use."},
    {AN(", 'thinking': {'type': 'adaptive'}"), "adaptive thinking is not supported on this model"},
};

/* count_tokens takes a subset of the messages fields. */
static const struct an_refused count_refused[] = {
    {AN(""), "max_tokens: Extra inputs are not permitted"},
    {"{'model': 'claude-sonnet-4', 'messages': [{'role': 'user', 'content': 'hi'}], 'stream': "
     "true}",
     "stream: Extra inputs are not permitted"},
    {"{'model': 'claude-sonnet-4', 'messages': [{'role': 'user', 'content': 'hi'}], 'stop': "
     "['x']}",
     "stop: Extra inputs are not permitted"},
};

/* Accepted as the official APIs accept them, fields the simulation ignores
 * included. */
static const char *const openai_accepted[] = {
    OA(", 'user': 'u-1', 'store': false, 'metadata': {'k': 'v'}, 'service_tier': 'auto', "
       "'presence_penalty': 0.5, 'frequency_penalty': -0.5, 'logit_bias': {'1234': -5}, "
       "'top_p': 0.9, 'seed': 7, 'prompt_cache_key': 'k', 'safety_identifier': 's', "
       "'modalities': ['text'], 'n': 1, 'max_completion_tokens': 20, 'temperature': 2"),
    OA(", 'tools': [{'type': 'function', 'function': {'name': 'get_weather', 'description': "
       "'d', 'parameters': {'type': 'object'}, 'strict': false}}], 'tool_choice': {'type': "
       "'function', 'function': {'name': 'get_weather'}}, 'parallel_tool_calls': false"),
    OA(", 'stream': true, 'stream_options': {'include_usage': true}, 'stop': 'x', "
       "'logprobs': true, 'top_logprobs': 0"),
    OA(", 'response_format': {'type': 'json_schema', 'json_schema': {'name': 'n', 'strict': "
       "true, 'schema': {'type': 'object'}}}"),
    OA_MSGS("[{'role': 'developer', 'content': [{'type': 'text', 'text': 'be brief'}], 'name': "
            "'ops'}, {'role': 'user', 'content': [{'type': 'text', 'text': 'what is this?'}, "
            "{'type': 'image_url', 'image_url': {'url': 'https://example.com/a.png', 'detail': "
            "'low'}}]}]"),
    OA_MSGS("[{'role': 'user', 'content': 'weather?'}, {'role': 'assistant', 'content': null, "
            "'tool_calls': [{'id': 'call_1', 'type': 'function', 'function': {'name': "
            "'get_weather', 'arguments': '{}'}}]}, {'role': 'tool', 'tool_call_id': 'call_1', "
            "'content': '12 C'}, {'role': 'user', 'content': 'thanks'}]"),
};

static const char *const anthropic_accepted[] = {
    AN(", 'metadata': {'user_id': 'u-1'}, 'service_tier': 'auto', 'top_k': 5, 'top_p': 0.9, "
       "'temperature': 0, 'stop_sequences': ['x'], 'stream': false"),
    AN(", 'system': [{'type': 'text', 'text': 'be brief', 'cache_control': {'type': "
       "'ephemeral', 'ttl': '1h'}}]"),
    AN(", 'tools': [{'name': 'get_weather', 'description': 'd', 'input_schema': {'type': "
       "'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}, "
       "'cache_control': {'type': 'ephemeral'}}, {'type': 'web_search_20250305', 'name': "
       "'web_search'}], 'tool_choice': {'type': 'auto', 'disable_parallel_tool_use': true}"),
    AN(", 'thinking': {'type': 'enabled', 'budget_tokens': 1024}, 'temperature': 1"),
    AN(", 'thinking': {'type': 'disabled'}, 'tools': [" AN_TOOL "], 'tool_choice': {'type': "
       "'tool', 'name': 'get_weather'}"),
    AN_MSGS("[{'role': 'user', 'content': [{'type': 'text', 'text': 'weather in Oslo?'}]}, "
            "{'role': 'assistant', 'content': [{'type': 'text', 'text': 'Checking.'}, " USE "]}, "
            "{'role': 'user', 'content': [{'type': 'tool_result', 'tool_use_id': 'toolu_1', "
            "'content': [{'type': 'text', 'text': '12 C'}], 'is_error': false}]}], 'tools': "
            "[" AN_TOOL "]"),
    /* a whole PNG (1x1 grey): the API decodes the image it is sent */
    AN_MSGS("[{'role': 'user', 'content': [{'type': 'image', 'source': {'type': 'base64', "
            "'media_type': 'image/png', 'data': "
            "'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAsTj2FAAAAABJRU5Er"
            "kJggg=="
            "'}}, {'type': 'document', "
            "'source': {'type': 'text', 'media_type': 'text/plain', 'data': 'notes'}, 'title': "
            "'t'}, {'type': 'text', 'text': 'compare'}]}, {'role': 'assistant', 'content': ''}]"),
};

/* A single-quoted body as JSON (the bodies carry no apostrophes). */
static char *
quoted(const char *body)
{
	char *s = xstrdup(body);
	for (char *p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static const char *const both_keys[] = {"authorization: Bearer " KEY, "x-api-key: " KEY,
                                        "anthropic-version: 2023-06-01", NULL};

static void
send_quoted(struct response *r, const char *endpoint, const char *path, const char *body)
{
	char *json = quoted(body);
	json_t *check = json_loads(json, 0, NULL);
	cr_assert(json_is_object(check), "bad JSON in the test: %s", json);
	json_decref(check);
	request(r, endpoint, path, json, both_keys);
	free(json);
}

/* The value of response header name ("" if absent). */
static void
header_value(const struct response *r, const char *name, char *out, size_t n)
{
	out[0] = '\0';
	size_t len = strlen(name);
	for (const char *p = r->headers.data; p != NULL && *p != '\0';) {
		if (strncasecmp(p, name, len) == 0 && p[len] == ':') {
			const char *v = p + len + 1;
			while (*v == ' ')
				v++;
			size_t k = strcspn(v, "\r\n");
			snprintf(out, n, "%.*s", (int)k, v);
			return;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
}

static void
expect_openai_refusal_at(const char *endpoint, const char *path, const struct refused *c)
{
	struct response r;
	send_quoted(&r, endpoint, path, c->body);
	cr_expect_eq(r.status, 400, "%s: %s -> %ld %s", endpoint, c->body, r.status, r.body);
	json_t *e = json_object_get(r.json, "error");
	cr_expect_str_eq(str(e, "message") ? str(e, "message") : "", c->message, "%s: %s", endpoint,
	                 c->body);
	cr_expect_str_eq(str(e, "type") ? str(e, "type") : "", "invalid_request_error");
	const json_t *param = json_object_get(e, "param"), *code = json_object_get(e, "code");
	if (c->param == NULL)
		cr_expect(json_is_null(param), "%s: param %s, want null", c->body, r.body);
	else
		cr_expect_str_eq(json_string_value(param) ? json_string_value(param) : "(none)",
		                 c->param, "%s", c->body);
	if (c->code == NULL)
		cr_expect(json_is_null(code), "%s: code %s, want null", c->body, r.body);
	else
		cr_expect_str_eq(json_string_value(code) ? json_string_value(code) : "(none)",
		                 c->code, "%s", c->body);
	response_release(&r);
}

static void
expect_openai_refusal(const char *endpoint, const struct refused *c)
{
	expect_openai_refusal_at(endpoint, "/chat/completions", c);
}

static void
expect_anthropic_refusal(const char *endpoint, const char *path, const struct an_refused *c)
{
	struct response r;
	send_quoted(&r, endpoint, path, c->body);
	cr_expect_eq(r.status, 400, "%s: %s -> %ld %s", endpoint, c->body, r.status, r.body);
	cr_expect_str_eq(str(r.json, "type") ? str(r.json, "type") : "", "error", "%s", r.body);
	json_t *e = json_object_get(r.json, "error");
	cr_expect_str_eq(str(e, "type") ? str(e, "type") : "", "invalid_request_error", "%s",
	                 r.body);
	cr_expect_str_eq(str(e, "message") ? str(e, "message") : "", c->message, "%s: %s", endpoint,
	                 c->body);
	/* the body carries the request id the header does */
	char rid[128];
	header_value(&r, "request-id", rid, sizeof rid);
	cr_expect(strncmp(rid, "req_", 4) == 0, "request-id header '%s'", rid);
	cr_expect_str_eq(str(r.json, "request_id") ? str(r.json, "request_id") : "", rid);
	response_release(&r);
}

static void
expect_accepted(const char *endpoint, const char *path, const char *body)
{
	struct response r;
	send_quoted(&r, endpoint, path, body);
	cr_expect_eq(r.status, 200, "%s%s: %s -> %ld %s", endpoint, path, body, r.status, r.body);
	response_release(&r);
}

#define N(a) (sizeof(a) / sizeof(a)[0])

Test(fixture, openai_refuses_what_the_official_api_refuses)
{
	for (size_t i = 0; i < N(openai_refused); i++)
		expect_openai_refusal("official", &openai_refused[i]);
}

Test(fixture, anthropic_refuses_what_the_official_api_refuses)
{
	for (size_t i = 0; i < N(anthropic_refused); i++)
		expect_anthropic_refusal("official", "/messages", &anthropic_refused[i]);
	for (size_t i = 0; i < N(count_refused); i++)
		expect_anthropic_refusal("official", "/messages/count_tokens", &count_refused[i]);
}

Test(fixture, official_api_accepts_what_the_official_api_accepts)
{
	for (size_t i = 0; i < N(openai_accepted); i++)
		expect_accepted("official", "/chat/completions", openai_accepted[i]);
	for (size_t i = 0; i < N(anthropic_accepted); i++)
		expect_accepted("official", "/messages", anthropic_accepted[i]);
	expect_accepted("official", "/messages/count_tokens",
	                "{'model': 'claude-sonnet-4', 'system': 'be brief', 'tools': [" AN_TOOL
	                "], "
	                "'tool_choice': {'type': 'any'}, 'thinking': {'type': 'disabled'}, "
	                "'messages': [{'role': 'user', 'content': 'hi'}]}");
}

/* A relay of this world parses with the official rules: it passes on what
 * the official API takes and refuses the rest in the official words. */
Test(fixture, relays_accept_and_refuse_as_the_official_api)
{
	for (size_t i = 0; i < N(openai_accepted); i++)
		expect_accepted("honest", "/chat/completions", openai_accepted[i]);
	for (size_t i = 0; i < N(anthropic_accepted); i++)
		expect_accepted("honest", "/messages", anthropic_accepted[i]);
	for (size_t i = 0; i < N(openai_refused); i += 3)
		expect_openai_refusal("honest", &openai_refused[i]);
	for (size_t i = 0; i < N(anthropic_refused); i += 3)
		expect_anthropic_refusal("honest", "/messages", &anthropic_refused[i]);
}

/* ---- current models: parameter rules, reasoning usage, sold names ---- */

#define CURRENT "tests/data/fixture/current.yaml"

static const char *const need_current[] = {"official", "sold", NULL};

static void
start_current(void)
{
	fixture_start_scaled(&world, CURRENT, need_current, "0.001");
}

TestSuite(current, .init = start_current, .fini = stop, .timeout = 60);

#define G55(extra) "{'model': 'gpt-5.5', 'messages': [{'role': 'user', 'content': 'hi'}]" extra "}"
#define G5M(extra)                                                                                 \
	"{'model': 'gpt-5-mini', 'messages': [{'role': 'user', 'content': 'hi'}]" extra "}"
#define S45(extra)                                                                                 \
	"{'model': 'claude-sonnet-4-5', 'max_tokens': 2048, 'messages': [{'role': 'user', "        \
	"'content': 'hi'}]" extra "}"

/* What GPT-5.x refuses on Chat Completions, in the real words
 * (fixtures/rules.c names the sources). */
static const struct refused gpt5_refused[] = {
    {G55(", 'max_tokens': 50"),
     "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
     "'max_completion_tokens' instead.",
     "max_tokens", "unsupported_parameter"},
    {G55(", 'temperature': 0.5"),
     "Unsupported value: 'temperature' does not support 0.5 with this model. Only the "
     "default (1) value is supported.",
     "temperature", "unsupported_value"},
    {G55(", 'temperature': 0.5, 'reasoning_effort': 'high'"),
     "Unsupported value: 'temperature' does not support 0.5 with this model. Only the "
     "default (1) value is supported.",
     "temperature", "unsupported_value"},
    {G55(", 'top_p': 0"),
     "Unsupported value: 'top_p' does not support 0 with this model. Only the default (1) "
     "value is supported.",
     "top_p", "unsupported_value"},
    {G55(", 'logprobs': true"),
     "Unsupported parameter: 'logprobs' is not supported with this model.", "logprobs",
     "unsupported_parameter"},
    {G55(", 'reasoning_effort': 'minimal'"),
     "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model. "
     "Supported values are: 'none', 'low', 'medium', 'high', and 'xhigh'.",
     "reasoning_effort", "unsupported_value"},
    {G5M(", 'max_tokens': 50"),
     "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
     "'max_completion_tokens' instead.",
     "max_tokens", "unsupported_parameter"},
    {G5M(", 'temperature': 0"),
     "Unsupported value: 'temperature' does not support 0 with this model. Only the default "
     "(1) value is supported.",
     "temperature", "unsupported_value"},
    {G5M(", 'temperature': 0.5, 'reasoning_effort': 'minimal'"),
     "Unsupported value: 'temperature' does not support 0.5 with this model. Only the "
     "default (1) value is supported.",
     "temperature", "unsupported_value"},
    {G5M(", 'reasoning_effort': 'none'"),
     "Unsupported value: 'reasoning_effort' does not support 'none' with this model. "
     "Supported values are: 'minimal', 'low', 'medium', and 'high'.",
     "reasoning_effort", "unsupported_value"},
};

static const struct an_refused claude45_refused[] = {
    {S45(", 'temperature': 0.5, 'top_p': 0.9"),
     "`temperature` and `top_p` cannot both be specified for this model. Please use only "
     "one."},
    {S45(", 'thinking': {'type': 'enabled', 'budget_tokens': 500}"),
     "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"},
    {S45(", 'thinking': {'type': 'enabled', 'budget_tokens': 4096}"),
     "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
     "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
     "#max-tokens-and-context-window-size"},
    {S45(", 'temperature': 0.5, 'thinking': {'type': 'enabled', 'budget_tokens': 1024}"),
     "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
     "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
     "#important-considerations-when-using-extended-thinking"},
};

Test(current, gpt5_and_claude45_refuse_what_their_apis_refuse)
{
	for (size_t i = 0; i < N(gpt5_refused); i++)
		expect_openai_refusal("official", &gpt5_refused[i]);
	for (size_t i = 0; i < N(claude45_refused); i++)
		expect_anthropic_refusal("official", "/messages", &claude45_refused[i]);
	/* the older models take what the newer ones refuse */
	expect_accepted("official", "/chat/completions",
	                OA(", 'max_tokens': 5, 'temperature': 0.5"));
	expect_accepted("official", "/messages", AN(", 'temperature': 0.5, 'top_p': 0.9"));
}

Test(current, gpt5_and_claude45_accept_what_their_apis_accept)
{
	expect_accepted("official", "/chat/completions", G55(", 'max_completion_tokens': 500"));
	expect_accepted("official", "/chat/completions", G55(", 'temperature': 1, 'top_p': 1"));
	/* at effort none GPT-5.5 samples as a chat model */
	expect_accepted("official", "/chat/completions",
	                G55(", 'reasoning_effort': 'none', 'temperature': 0.2, 'logprobs': true"));
	expect_accepted("official", "/chat/completions", G5M(", 'reasoning_effort': 'minimal'"));
	expect_accepted("official", "/messages", S45(", 'temperature': 0.5"));
	expect_accepted("official", "/messages", S45(", 'top_p': 0.9"));
	expect_accepted("official", "/messages",
	                S45(", 'thinking': {'type': 'enabled', 'budget_tokens': 1024}"));
}

/* The hidden reasoning of one gpt-5.5 answer: reasoning_tokens reported,
 * completion_tokens the text's o200k_base count plus them. */
static long
gpt55_reasoning(const char *extra, long *text_tokens, const char **finish)
{
	struct response r;
	chat(&r, "official", "gpt-5.5", "[ref 1a2b3c4d] What is 17 multiplied by 23?", extra);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *u = json_object_get(r.json, "usage");
	json_t *ch = json_array_get(json_object_get(r.json, "choices"), 0);
	const char *text = str(json_object_get(ch, "message"), "content");
	cr_assert_not_null(text, "%s", r.body);
	long reasoning = num(json_object_get(u, "completion_tokens_details"), "reasoning_tokens");
	*text_tokens = text_count("o200k_base", text);
	cr_expect_eq(num(u, "completion_tokens"), *text_tokens + reasoning, "%s", r.body);
	static char fin[32];
	snprintf(fin, sizeof fin, "%s", str(ch, "finish_reason"));
	*finish = fin;
	response_release(&r);
	return reasoning;
}

Test(current, gpt55_bills_hidden_reasoning_by_effort)
{
	long text;
	const char *finish;
	long none = gpt55_reasoning("{\"reasoning_effort\": \"none\"}", &text, &finish);
	cr_expect_eq(none, 0);
	cr_expect_gt(text, 0);
	long medium = gpt55_reasoning("{\"max_completion_tokens\": 5000}", &text, &finish);
	cr_expect_gt(medium, 0, "the default effort (medium) reasons");
	cr_expect_str_eq(finish, "stop");
	long xhigh = gpt55_reasoning(
	    "{\"reasoning_effort\": \"xhigh\", \"max_completion_tokens\": 20000}", &text, &finish);
	cr_expect_gt(xhigh, medium, "xhigh (mean 1600) thinks more than medium (mean 192)");
	/* the reasoning spends max_completion_tokens first: a small cap leaves
	 * no answer, as GPT-5's does */
	long cut = gpt55_reasoning(
	    "{\"reasoning_effort\": \"high\", \"max_completion_tokens\": 40}", &text, &finish);
	cr_expect_eq(cut, 40);
	cr_expect_eq(text, 0);
	cr_expect_str_eq(finish, "length");
}

static const char *const anthropic_nokey[] = {"anthropic-version: 2023-06-01", NULL};

Test(current, claude45_thinking_blocks_whole_and_streamed)
{
	struct response r;
	const char *body = "{\"model\": \"claude-sonnet-4-5\", \"max_tokens\": 3000, \"thinking\": "
	                   "{\"type\": \"enabled\", \"budget_tokens\": 1024}, \"messages\": "
	                   "[{\"role\": \"user\", \"content\": \"What is 17 multiplied by 23?\"}]}";
	request(&r, "official", "/messages", body, anthropic_nokey);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *content = json_object_get(r.json, "content");
	json_t *think = json_array_get(content, 0), *text = json_array_get(content, 1);
	cr_assert_str_eq(str(think, "type"), "thinking", "%s", r.body);
	cr_expect_gt(strlen(str(think, "thinking")), 0);
	cr_expect_gt(strlen(str(think, "signature")), 100);
	cr_assert_str_eq(str(text, "type"), "text");
	long out = num(json_object_get(r.json, "usage"), "output_tokens");
	long answer = sim_text_count(str(text, "text"));
	/* the thinking is billed within its budget, besides the answer */
	cr_expect_gt(out, answer, "%s", r.body);
	cr_expect_leq(out - answer, 1024);
	response_release(&r);

	/* without thinking: no block, the answer alone billed */
	const char *plain =
	    "{\"model\": \"claude-sonnet-4-5\", \"max_tokens\": 300, \"messages\": "
	    "[{\"role\": \"user\", \"content\": \"What is 17 multiplied by 23?\"}]}";
	request(&r, "official", "/messages", plain, anthropic_nokey);
	cr_assert_eq(r.status, 200, "%s", r.body);
	content = json_object_get(r.json, "content");
	cr_expect_eq(json_array_size(content), 1);
	cr_expect_str_eq(str(json_array_get(content, 0), "type"), "text");
	cr_expect_eq(num(json_object_get(r.json, "usage"), "output_tokens"),
	             sim_text_count(str(json_array_get(content, 0), "text")));
	response_release(&r);

	const char *sbody =
	    "{\"model\": \"claude-haiku-4-5\", \"max_tokens\": 3000, \"stream\": true, "
	    "\"thinking\": "
	    "{\"type\": \"enabled\", \"budget_tokens\": 2000, \"display\": \"omitted\"}, "
	    "\"messages\": [{\"role\": \"user\", \"content\": \"What is 17 multiplied by 23?\"}]}";
	request(&r, "official", "/messages", sbody, anthropic_nokey);
	cr_assert_eq(r.status, 200, "%s", r.body);
	static const char *const order[] = {
	    "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}",
	    "\"type\":\"signature_delta\"",
	    "\"type\":\"content_block_stop\",\"index\":0",
	    "\"content_block\":{\"type\":\"text\"",
	    "\"type\":\"text_delta\"",
	    "event: message_stop",
	    NULL};
	const char *at = r.body;
	for (size_t i = 0; order[i] != NULL; i++) {
		const char *next = strstr(at, order[i]);
		cr_expect_not_null(next, "no '%s' in order: %s", order[i], r.body);
		if (next != NULL)
			at = next;
	}
	/* display omitted: the block shows no thinking text */
	cr_expect_null(strstr(r.body, "\"type\":\"thinking_delta\""), "%s", r.body);
	response_release(&r);
}

Test(current, a_relay_sells_names_no_model_has)
{
	struct response r;
	request(&r, "sold", "/models", NULL, NULL);
	cr_assert_eq(r.status, 200);
	json_t *data = json_object_get(r.json, "data");
	json_t *sol = json_find(data, "id", "gpt-5.6-sol");
	cr_assert_not_null(sol, "%s", r.body);
	cr_expect_str_eq(str(sol, "owned_by"), "system");
	cr_expect_not_null(json_find(data, "id", "claude-fable-9"));
	response_release(&r);
	/* the official API has neither */
	request(&r, "official", "/models", NULL, NULL);
	cr_expect_null(json_find(json_object_get(r.json, "data"), "id", "gpt-5.6-sol"));
	response_release(&r);
	chat(&r, "official", "gpt-5.6-sol", "hi", NULL);
	cr_expect_eq(r.status, 404, "%s", r.body);
	response_release(&r);

	/* the sold name answers, with deepseek-chat's tokenizer and dialect,
	 * its max_completion_tokens forwarded as the max_tokens DeepSeek takes */
	const char *q = "[ref 5e6f7a8b] Tell me something about databases.";
	chat_ok(&r, "sold", "gpt-5.6-sol", q, "{\"max_completion_tokens\": 64}");
	cr_expect_str_eq(str(r.json, "model"), "gpt-5.6-sol");
	json_t *u = json_object_get(r.json, "usage");
	cr_expect_eq(num(u, "prompt_tokens"), prompt_count("deepseek_v3", "deepseek_v3", q));
	cr_expect_leq(num(u, "completion_tokens"), 64);
	cr_expect_not_null(json_object_get(u, "prompt_cache_hit_tokens"), "%s", r.body);
	response_release(&r);

	const char *an = "{\"model\": \"claude-fable-9\", \"max_tokens\": 50, \"messages\": "
	                 "[{\"role\": \"user\", \"content\": \"hi\"}]}";
	request(&r, "sold", "/messages", an, anthropic_nokey);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "model"), "claude-fable-9");
	response_release(&r);
}

/* gpt-oss-120b behind vLLM: its reasoning handed back whole, so
 * completion_tokens is exactly the reasoning's count and the answer's;
 * the prompt counted in the harmony format (o200k_base text). */
Test(current, gpt_oss_returns_its_reasoning_and_bills_it_exactly)
{
	struct response r;
	const char *q = "What is 17 multiplied by 23?";
	chat_ok(&r, "official", "gpt-oss-120b", q, "{\"reasoning_effort\": \"high\"}");
	json_t *msg =
	    json_object_get(json_array_get(json_object_get(r.json, "choices"), 0), "message");
	const char *reasoning = str(msg, "reasoning_content"), *text = str(msg, "content");
	cr_assert_not_null(reasoning, "%s", r.body);
	cr_assert_not_null(text, "%s", r.body);
	json_t *u = json_object_get(r.json, "usage");
	cr_expect_eq(num(u, "completion_tokens"),
	             text_count("o200k_base", reasoning) + text_count("o200k_base", text), "%s",
	             r.body);
	cr_expect_eq(num(u, "prompt_tokens"), text_count("o200k_base", q) +
	                                          SIMTOK_HARMONY_REQUEST_OVERHEAD +
	                                          SIMTOK_HARMONY_MESSAGE_OVERHEAD);
	/* not the openai family's count of the same prompt */
	cr_expect_neq(num(u, "prompt_tokens"), prompt_count("o200k_base", "openai", q));
	response_release(&r);
	chat(&r, "official", "gpt-oss-120b", q, "{\"reasoning_effort\": \"xhigh\"}");
	cr_expect_eq(r.status, 400, "%s", r.body);
	response_release(&r);
}

/* ---- the Responses API ---- */

#define RS(extra) "{'model': 'gpt-4o', 'input': 'Say pong'" extra "}"

/* Texts as the real API answers them (fixtures/schema.c cites each). */
static const struct refused responses_refused[] = {
    {RS(", 'foo': 1"), "Unknown parameter: 'foo'.", "foo", "unknown_parameter"},
    {RS(", 'stop': ['x']"), "Unknown parameter: 'stop'. Did you mean 'store'?", "stop",
     "unknown_parameter"},
    {RS(", 'max_tokens': 20"), "Unknown parameter: 'max_tokens'.", "max_tokens",
     "unknown_parameter"},
    {RS(", 'messages': []"), "Unknown parameter: 'messages'.", "messages", "unknown_parameter"},
    {RS(", 'reasoning': {'effort': 'low', 'max_tokens': 10}"),
     "Unknown parameter: 'reasoning.max_tokens'.", "reasoning.max_tokens", "unknown_parameter"},
    {RS(", 'max_output_tokens': 10"),
     "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but "
     "got 10 instead.",
     "max_output_tokens", "integer_below_min_value"},
    {RS(", 'max_output_tokens': '20'"),
     "Invalid type for 'max_output_tokens': expected an integer, but got a string instead.",
     "max_output_tokens", "invalid_type"},
    {RS(", 'temperature': 3"),
     "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 "
     "instead.",
     "temperature", "decimal_above_max_value"},
    {RS(", 'text': {'format': {'type': 'json_object'}}"),
     "Response input messages must contain the word 'json' in some form to use 'text.format' "
     "of type 'json_object'.",
     "input", NULL},
    {RS(", 'tools': [{'type': 'function', 'function': {'name': 'f'}}]"),
     "Unknown parameter: 'tools[0].function'.", "tools[0].function", "unknown_parameter"},
    {"{'model': 'gpt-4o', 'input': [{'role': 'user', 'content': 'hi', 'name': 'x'}]}",
     "Unknown parameter: 'input[0].name'.", "input[0].name", "unknown_parameter"},
    {"{'input': 'hi'}", "Missing required parameter: 'model'.", "model",
     "missing_required_parameter"},
    /* gpt-4o does not reason */
    {RS(", 'reasoning': {'effort': 'low'}"),
     "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
     "reasoning.effort", "unsupported_parameter"},
};

static const char *const responses_accepted[] = {
    RS(""),
    RS(", 'max_output_tokens': 16, 'temperature': 0, 'store': false"),
    "{'model': 'gpt-4o', 'instructions': 'be brief', 'input': [{'role': 'user', 'content': "
    "[{'type': 'input_text', 'text': 'Return JSON'}]}], 'text': {'format': {'type': "
    "'json_object'}}}",
    RS(", 'tools': [{'type': 'function', 'name': 'get_time', 'description': 'now', "
       "'parameters': {'type': 'object', 'properties': {}}, 'strict': false}], "
       "'tool_choice': {'type': 'function', 'name': 'get_time'}"),
    RS(", 'include': ['message.output_text.logprobs'], 'top_logprobs': 2"),
};

Test(fixture, responses_refuses_what_the_official_api_refuses)
{
	for (size_t i = 0; i < N(responses_refused); i++)
		expect_openai_refusal_at("official", "/responses", &responses_refused[i]);
	for (size_t i = 0; i < N(responses_accepted); i++)
		expect_accepted("official", "/responses", responses_accepted[i]);
}

static int
hex_tail(const char *id, const char *prefix)
{
	size_t n = strlen(prefix);
	return id != NULL && strncmp(id, prefix, n) == 0 && strlen(id) > n + 16 &&
	       all_of(id + n, "0123456789abcdef");
}

Test(fixture, responses_whole_and_streamed)
{
	const char *q = "Explain how a hash table works.";
	struct response r;
	char *body = xasprintf("{\"model\": \"gpt-4o\", \"input\": \"%s\", "
	                       "\"max_output_tokens\": 40}",
	                       q);
	request(&r, "official", "/responses", body, with_key);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "object"), "response");
	cr_expect(hex_tail(str(r.json, "id"), "resp_"), "id %s", str(r.json, "id"));
	json_t *item = json_array_get(json_object_get(r.json, "output"), 0);
	cr_expect(hex_tail(str(item, "id"), "msg_"), "item id %s", str(item, "id"));
	cr_expect_str_eq(str(item, "type"), "message");
	json_t *part = json_array_get(json_object_get(item, "content"), 0);
	cr_expect_str_eq(str(part, "type"), "output_text");
	json_t *u = json_object_get(r.json, "usage");
	cr_expect_eq(num(u, "input_tokens"), prompt_count("o200k_base", "openai", q));
	cr_expect_eq(num(u, "output_tokens"), text_count("o200k_base", str(part, "text")));
	cr_expect_eq(num(u, "total_tokens"), num(u, "input_tokens") + num(u, "output_tokens"));
	cr_expect_eq(num(json_object_get(u, "output_tokens_details"), "reasoning_tokens"), 0);
	/* 40 tokens cut the essay: incomplete, as the real API says it */
	cr_expect_str_eq(str(r.json, "status"), "incomplete");
	cr_expect_str_eq(str(json_object_get(r.json, "incomplete_details"), "reason"),
	                 "max_output_tokens");
	response_release(&r);
	free(body);

	body = xasprintf("{\"model\": \"gpt-4o\", \"input\": \"%s\", \"stream\": true}", q);
	request(&r, "official", "/responses", body, with_key);
	free(body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body, "[DONE]") == NULL, "the official stream has no [DONE]");
	/* every event: its type named twice, numbered from 0 in order */
	long seq = 0;
	struct buf text;
	buf_init(&text, 0);
	const char *first = NULL, *last = NULL;
	json_t *done = NULL;
	for (const char *p = r.body; (p = strstr(p, "event: ")) != NULL;) {
		const char *eol = strchr(p, '\n');
		cr_assert_not_null(eol);
		char *name = xstrndup(p + 7, (size_t)(eol - p - 7));
		cr_assert(strncmp(eol + 1, "data: ", 6) == 0, "event %s without data", name);
		const char *dend = strchr(eol + 1, '\n');
		json_t *o = json_loadb(eol + 7, (size_t)(dend - eol - 7), 0, NULL);
		cr_assert_not_null(o, "bad event %s", name);
		cr_expect_str_eq(str(o, "type"), name);
		cr_expect_eq(num(o, "sequence_number"), seq, "%s numbered %ld, want %ld", name,
		             (long)num(o, "sequence_number"), seq);
		seq++;
		if (strcmp(name, "response.output_text.delta") == 0)
			buf_puts(&text, str(o, "delta"));
		if (first == NULL)
			first = strcmp(name, "response.created") == 0 ? "created" : "other";
		last = strcmp(name, "response.completed") == 0 ? "completed" : "other";
		if (strcmp(name, "response.completed") == 0) {
			json_decref(done);
			done = json_incref(json_object_get(o, "response"));
		}
		json_decref(o);
		free(name);
		p = dend;
	}
	cr_expect_str_eq(first, "created");
	cr_expect_str_eq(last, "completed");
	cr_assert_not_null(done);
	u = json_object_get(done, "usage");
	cr_expect_eq(num(u, "output_tokens"), text_count("o200k_base", text.data));
	buf_release(&text);
	json_decref(done);
	response_release(&r);
}

/* ---- a reasoning model ---- */

/*
 * The catalog of fixtures/models.yaml with one reasoning model added, o4-mini:
 * it takes max_completion_tokens (not max_tokens) and reasoning_effort, and
 * no temperature. Built per run from the shipped catalog, so it keeps its
 * knowledge and format.
 */
static const char thinker[] =
    "  - name: o4-mini\n"
    "    snapshot: o4-mini-2025-04-16\n"
    "    owned_by: system\n"
    "    created: 1744225308\n"
    "    wire: openai\n"
    "    style: openai\n"
    "    tokenizer: o200k_base\n"
    "    family: openai\n"
    "    fingerprints: [fp_0123456789]\n"
    "    tags: [premium, openai]\n"
    "    capability: 0.9\n"
    "    cutoff: June 2024\n"
    "    identity: [\"I am ChatGPT, a model by OpenAI.\"]\n"
    "    openers: [\"\"]\n"
    "    verbosity: {mean: 120, sd: 30}\n"
    "    ttft: {mean: 400ms, sd: 50ms}\n"
    "    tokens_per_second: {mean: 120, sd: 10}\n"
    "    context_window: 200000\n"
    "    max_output: 100000\n"
    "    params: [seed, tools, tool_choice, response_format, max_completion_tokens,\n"
    "             reasoning_effort, stream_options, parallel_tool_calls]\n"
    "    reasoning:\n"
    "      efforts:\n"
    "        low: {mean: 48, sd: 16}\n"
    "        medium: {mean: 160, sd: 50}\n"
    "        high: {mean: 480, sd: 120}\n"
    "      default: medium\n\n";

static struct test_world thinking;

static void
thinking_start(void)
{
	cr_assert_eq(test_tmpdir(thinking.dir, sizeof thinking.dir, "thinking"), 0);
	size_t len = 0;
	char *models = read_file("fixtures/models.yaml", 1 << 22, &len);
	cr_assert_not_null(models);
	char *at = strstr(models, "\nmodels:\n");
	cr_assert_not_null(at, "fixtures/models.yaml has no models: list");
	at += strlen("\nmodels:\n");
	char path[300], world_path[300];
	snprintf(path, sizeof path, "%s/models.yaml", thinking.dir);
	cr_assert_eq(test_write_file(path, "%.*s%s%s", (int)(at - models), models, thinker, at), 0);
	free(models);
	snprintf(world_path, sizeof world_path, "%s/world.yaml", thinking.dir);
	cr_assert_eq(
	    test_write_file(world_path, "models: models.yaml\nseed: 7\nprovider:\n  port: 0\n"), 0);
	static const char *const official[] = {"official", NULL};
	/* 0.05, as the other audited worlds: at 0.01 a 35-chunk stream lasts 3 ms
	 * of real time, within the loop's own jitter of "all at once" */
	fixture_start_scaled(&thinking.world, world_path, official, "0.05");
}

static void
thinking_stop(void)
{
	cr_expect_eq(test_world_stop(&thinking), 0);
}

static json_t *
thinking_post(const char *path, const char *body, long want)
{
	struct response r;
	fixture_send(&r, &thinking.world, "official", path, body, NULL, 20000);
	cr_assert_eq(r.rc, CURLE_OK);
	cr_assert_eq(r.status, want, "%s %s: %ld %s", path, body, r.status, r.body);
	json_t *j = json_incref(r.json);
	response_release(&r);
	return j;
}

TestSuite(reasoning, .init = thinking_start, .fini = thinking_stop, .timeout = 120);

/* A reasoning model bills its thinking as output: reasoning_tokens in both
 * OpenAI APIs' usage, on top of the answer's own tokens, more for a higher
 * effort; on Responses a reasoning item (rs_) comes before the message. */
Test(reasoning, reasoning_tokens_in_usage_on_both_apis)
{
	const char *q = "Explain how a hash table works.";
	long seen[2] = {0, 0};
	const char *const efforts[] = {"low", "high"};
	for (int e = 0; e < 2; e++) {
		char *body = xasprintf("{\"model\": \"o4-mini\", \"input\": \"%s\", \"reasoning\": "
		                       "{\"effort\": \"%s\"}, \"max_output_tokens\": 4000}",
		                       q, efforts[e]);
		json_t *j = thinking_post("/responses", body, 200);
		free(body);
		json_t *out = json_object_get(j, "output");
		cr_expect_str_eq(str(json_array_get(out, 0), "type"), "reasoning");
		cr_expect(strncmp(str(json_array_get(out, 0), "id"), "rs_", 3) == 0);
		json_t *msg = json_array_get(out, 1);
		const char *text = str(json_array_get(json_object_get(msg, "content"), 0), "text");
		cr_assert_not_null(text);
		json_t *u = json_object_get(j, "usage");
		long reasoning =
		    num(json_object_get(u, "output_tokens_details"), "reasoning_tokens");
		cr_expect_gt(reasoning, 0);
		cr_expect_eq(num(u, "output_tokens"), text_count("o200k_base", text) + reasoning);
		seen[e] = reasoning;
		json_decref(j);
	}
	cr_expect_lt(seen[0], seen[1], "low effort thought %ld, high %ld", seen[0], seen[1]);

	char *body = xasprintf("{\"model\": \"o4-mini\", \"messages\": [{\"role\": \"user\", "
	                       "\"content\": \"%s\"}], \"max_completion_tokens\": 4000}",
	                       q);
	json_t *j = thinking_post("/chat/completions", body, 200);
	free(body);
	json_t *u = json_object_get(j, "usage");
	long reasoning = num(json_object_get(u, "completion_tokens_details"), "reasoning_tokens");
	const char *text =
	    str(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"),
	        "content");
	cr_expect_gt(reasoning, 0);
	cr_expect_eq(num(u, "completion_tokens"), text_count("o200k_base", text) + reasoning);
	json_decref(j);
	/* a reasoning model refuses temperature, on Responses too */
	j = thinking_post("/responses",
	                  "{\"model\": \"o4-mini\", \"input\": \"hi\", \"temperature\": 0}", 400);
	cr_expect_str_eq(str(json_object_get(j, "error"), "param"), "temperature");
	json_decref(j);
}

/* An audit of the reasoning model over Responses accuses nobody and stays
 * cheap: reasoning at its least effort (low), with room for it. */
Test(reasoning, an_audit_over_responses_is_not_accused)
{
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"audit",
	                (char *)"--base-url",
	                (char *)fixture_url(&thinking.world, "official"),
	                (char *)"--model",
	                (char *)"o4-mini",
	                (char *)"--api",
	                (char *)"responses",
	                (char *)"--time-scale",
	                (char *)"0.05",
	                (char *)"--json",
	                NULL};
	char *out = NULL, *err = NULL;
	run_capture(argv, 90000, &out, &err);
	json_t *j = json_loads(out ? out : "", 0, NULL);
	cr_assert_not_null(j, "no JSON: %s %s", out, err);
	const char *verdict = str(j, "verdict");
	char *findings = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
	cr_expect(strcmp(verdict, "genuine") == 0 || strcmp(verdict, "inconclusive") == 0,
	          "%s: %s %s", verdict, str(j, "reason"), findings);
	/* all but the logprobs probe, which OpenAI's reasoning models refuse
	 * ("Unsupported parameter: 'top_logprobs'"): a stand-in cannot know it */
	cr_expect_geq(num(j, "ok_requests"), num(j, "requests") - 1, "%s", out);
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(j, "findings"), i, f)
	{
		cr_expect_str_eq(str(f, "class"), "unavailable", "%s", findings);
	}
	/* at its default effort (medium) the thinking alone would cost 27 x 160;
	 * what a default audit of a reasoning model costs is measured by make
	 * eval (README, Detection quality) */
	cr_expect_leq(num(j, "tokens_spent"), 4000, "reasoning made the audit cost %ld tokens",
	              num(j, "tokens_spent"));
	free(findings);
	json_decref(j);
	free(out);
	free(err);
}
