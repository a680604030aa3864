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
#include <strings.h>
#include <unistd.h>

#include "base/util.h"
#include "fixtures/world.h"
#include "probes/sse.h"
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

#define count_text test_count_text /* tests/helpers.h */

static long
count_prompt(const char *user)
{
	return test_count_prompt("o200k_base", "openai", user);
}

/* ---- one misbehaviour per relay ---- */

static const char *const relays[] = {"official",
                                     "truncate",
                                     "cap",
                                     "inject",
                                     "inflate",
                                     "strip",
                                     "fake-stream",
                                     "cache",
                                     "flaky",
                                     "outage",
                                     "hang",
                                     "hang-mid",
                                     "malformed",
                                     "broken-sse",
                                     "oversized",
                                     "dies",
                                     "audit-aware",
                                     "later",
                                     "combo",
                                     "evade-tests",
                                     "evade-keys",
                                     "evade-day",
                                     "evade-night",
                                     "translate",
                                     "translate-careful",
                                     "translate-claude",
                                     NULL};

static void
start(void)
{
	fixture_start_scaled(&world, "tests/data/fixture/behaviours.yaml", relays, "0.001");
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
	chat_ok(&r, "truncate", "gpt-4o", LONG_PROMPT, NULL);
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
	chat_ok(&r, "strip", "gpt-4o", "Tell me about rivers.",
	        "{\"stop\": [\".\"], \"logprobs\": true, \"max_tokens\": 3}");
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
	chat_ok(&r, "combo", "gpt-4o", q, NULL);
	cr_expect_str_eq(str(r.json, "model"), "gpt-4o-2024-08-06");
	cr_expect(gpt4o_fingerprint(&r), "not disguised");
	cr_expect_gt(usage(&r, "prompt_tokens"), count_prompt(q));
	response_release(&r);
}

/* ---- evaders: the real model for what looks like a test ---- */

/* A request as an app sends it: its system prompt, a history, its SDK's
 * User-Agent, no token limit, a warm temperature. */
#define APP_EXTRA                                                                                  \
	"{\"temperature\": 0.7, \"messages\": ["                                                   \
	"{\"role\": \"system\", \"content\": \"You are a helpful travel assistant.\"},"            \
	"{\"role\": \"user\", \"content\": \"We land in Lisbon on Friday.\"},"                     \
	"{\"role\": \"assistant\", \"content\": \"Lovely! How long will you stay?\"},"             \
	"{\"role\": \"user\", \"content\": \"Three days. What should we not miss?\"}]}"

static const char *const sdk_headers[] = {"User-Agent: OpenAI/Python 1.54.0", NULL};

static void
send_as(struct response *r, const char *relay, const char *extra, const char *const *headers)
{
	char *body = chat_body("gpt-4o", "Tell me about the sea.", extra);
	fixture_send(r, &world, relay, "/chat/completions", body, headers, 20000);
	free(body);
	cr_assert_eq(r->status, 200, "%s: HTTP %ld: %s", relay, r->status, r->body);
}

Test(relay, evader_spares_test_shaped_requests)
{
	struct response r;
	/* an audit probe: six signals */
	send_as(&r, "evade-tests",
	        "{\"max_tokens\": 16, \"temperature\": 0, \"messages\": "
	        "[{\"role\": \"user\", \"content\": \"[ref 1a2b3c4d] Reply with the single word: "
	        "pong\"}]}",
	        NULL);
	cr_expect(gpt4o_fingerprint(&r), "a test-shaped request was swapped");
	response_release(&r);
	/* three: no system prompt, one turn, no SDK; nothing designed */
	send_as(&r, "evade-tests", NULL, NULL);
	cr_expect(gpt4o_fingerprint(&r), "three signals were not enough");
	response_release(&r);
	/* two: the SDK's User-Agent takes one away */
	send_as(&r, "evade-tests", NULL, sdk_headers);
	cr_expect(!gpt4o_fingerprint(&r), "a plain SDK request was spared");
	response_release(&r);
	/* an app's request: none */
	send_as(&r, "evade-tests", APP_EXTRA, sdk_headers);
	cr_expect(!gpt4o_fingerprint(&r), "an app's request was spared");
	response_release(&r);
	/* an app's request with the test's telltales on top: short limit,
	 * temperature 0 and a designed prompt make three */
	send_as(&r, "evade-tests",
	        "{\"temperature\": 0, \"max_tokens\": 20, \"messages\": ["
	        "{\"role\": \"system\", \"content\": \"You are terse.\"},"
	        "{\"role\": \"user\", \"content\": \"Reply with the single word: pong\"}]}",
	        sdk_headers);
	cr_expect(gpt4o_fingerprint(&r), "designed, short and cold was swapped");
	response_release(&r);
}

Test(relay, evader_spares_new_keys_and_audit_keys)
{
	struct response r;
	const char *const fresh[] = {"Authorization: Bearer sk-fresh", sdk_headers[0], NULL};
	const char *const auditor[] = {"Authorization: Bearer sk-auditor", sdk_headers[0], NULL};
	for (int i = 0; i < 4; i++) {
		send_as(&r, "evade-keys", APP_EXTRA, fresh);
		cr_expect(gpt4o_fingerprint(&r) == (i < 2), "request %d of a new key", i + 1);
		response_release(&r);
		send_as(&r, "evade-keys", APP_EXTRA, auditor);
		cr_expect(gpt4o_fingerprint(&r), "the audit key's request %d was swapped", i + 1);
		response_release(&r);
	}
	/* no key at all is one more key, with its own first two */
	send_as(&r, "evade-keys", APP_EXTRA, sdk_headers);
	cr_expect(gpt4o_fingerprint(&r), "the keyless first request was swapped");
	response_release(&r);
}

/* The simulated day: 10:00 lies in 09:00-17:00, 12:00 outside 22:00-06:00
 * (a window over midnight), for hours of simulated time at this scale. */
Test(relay, evader_keeps_honest_hours)
{
	struct response r;
	for (int i = 0; i < 3; i++) {
		send_as(&r, "evade-day", APP_EXTRA, sdk_headers);
		cr_expect(gpt4o_fingerprint(&r), "swapped inside the honest hours");
		response_release(&r);
		send_as(&r, "evade-night", APP_EXTRA, sdk_headers);
		cr_expect(!gpt4o_fingerprint(&r), "honest outside its hours");
		response_release(&r);
	}
}

/* A world file with one relay of behaviours `line`: its load error ("" if
 * it loads). */
static void
world_error(const char *line, char *err, size_t errlen)
{
	char path[] = "/tmp/assay-world-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "provider: {}\nrelays:\n  - name: r\n    behaviours:\n      - %s\n", line);
	fclose(f);
	err[0] = '\0';
	struct world *w = world_load(path, err, errlen);
	world_free(w);
	unlink(path);
}

Test(evader_options, bad_values_name_their_line)
{
	char err[512];
	world_error("substitute: {to: gpt-4o-mini, spare_tests: 3, honest_hours: \"09:00-17:00\", "
	            "clock: \"10:30\", spare_new_keys: 5, audit_keys: [sk-a], signals: "
	            "[no_system, single_turn, sdkless_agent]}",
	            err, sizeof err);
	cr_expect_str_empty(err);
	world_error("substitute: {to: gpt-4o-mini, signals: [no_sytem]}", err, sizeof err);
	cr_expect(strstr(err, ":5: unknown test signal 'no_sytem'") != NULL, "%s", err);
	world_error("substitute: {to: gpt-4o-mini, spare_tests: 2, signals: [no_system]}", err,
	            sizeof err);
	cr_expect(strstr(err, ":5: spare_tests 2 needs") != NULL, "%s", err);
	world_error("substitute: {to: gpt-4o-mini, honest_hours: \"9-17\"}", err, sizeof err);
	cr_expect(strstr(err, ":5: honest_hours is") != NULL, "%s", err);
	world_error("substitute: {to: gpt-4o-mini, honest_hours: \"09:00-25:00\"}", err,
	            sizeof err);
	cr_expect(strstr(err, ":5: honest_hours is") != NULL, "%s", err);
	world_error("substitute: {to: gpt-4o-mini, clock: \"10:00\"}", err, sizeof err);
	cr_expect(strstr(err, ":5: clock needs honest_hours") != NULL, "%s", err);
	world_error("substitute: {to: gpt-4o-mini, spare_tests: 7}", err, sizeof err);
	cr_expect(strstr(err, ":5:") != NULL, "%s", err);
}

/* ---- translate: Anthropic in front, qwen3-32b behind ---- */

/* POST an Anthropic Messages body to endpoint + path. */
static void
messages_post(struct response *r, const char *endpoint, const char *path, const char *body)
{
	static const char *const h[] = {"x-api-key: sk-any", "anthropic-version: 2023-06-01", NULL};
	fixture_send(r, &world, endpoint, path, body, h, 20000);
	cr_assert_eq(r->rc, CURLE_OK, "%s%s: %s", endpoint, path, curl_easy_strerror(r->rc));
}

#define header http_header /* tests/helpers.h */

struct sse_list {
	char names[256][32];
	json_t *data[256];
	size_t n;
};

static int
sse_list_cb(const char *event, const char *data, size_t len, void *arg)
{
	struct sse_list *l = arg;
	if (l->n == 256)
		return -1;
	snprintf(l->names[l->n], sizeof l->names[l->n], "%s", event);
	l->data[l->n++] = json_loadb(data, len, 0, NULL);
	return 0;
}

static void
sse_list_parse(struct sse_list *l, const struct response *r)
{
	struct sse_parser p;
	l->n = 0;
	sse_init(&p, 1u << 20, 1u << 20, sse_list_cb, l);
	cr_assert_eq(sse_feed(&p, r->body, r->len), 0, "the stream did not parse");
	cr_expect_eq(sse_finish(&p), 0, "an unfinished event at the end");
	sse_release(&p);
}

static void
sse_list_release(struct sse_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->data[i]);
}

/* qwen3's exact count of a chat: what the upstream's usage must say. */
static long
qwen3_prompt(const struct chat_message *m, size_t n)
{
	struct tokenizer *t = test_tokenizer("qwen3");
	long k = chat_prompt_tokens(t, "qwen3", m, n);
	tokenizer_free(t);
	return k;
}

static int
digits_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return strlen(s) == n;
}

static int
hex_only(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

#define CAPITAL_Q "Name the capital of Australia in one word."
#define CAPITAL_BODY                                                                               \
	"{\"model\": \"claude-sonnet-4\", \"max_tokens\": 40, \"temperature\": 0, \"system\": "    \
	"\"You are terse.\", \"messages\": [{\"role\": \"user\", \"content\": \"" CAPITAL_Q        \
	"\"}]}"

Test(relay, translate_answers_in_ccr_shape_with_qwen3_usage)
{
	struct response r;
	messages_post(&r, "translate", "/messages", CAPITAL_BODY);
	cr_assert_eq(r.status, 200, "%s", r.body);
	/* the upstream's id and model name, not a msg_ id nor the Claude asked for */
	const char *id = str(r.json, "id");
	cr_assert_not_null(id, "%s", r.body);
	cr_expect(strncmp(id, "chatcmpl-", 9) == 0 && strlen(id) == 41 && hex_only(id + 9), "%s",
	          id);
	cr_expect_str_eq(str(r.json, "model"), "qwen3-32b");
	cr_expect_str_eq(str(r.json, "type"), "message");
	cr_expect_str_eq(str(json_array_get(json_object_get(r.json, "content"), 0), "text"),
	                 "Canberra");
	cr_expect_str_eq(str(r.json, "stop_reason"), "end_turn");
	cr_expect(json_is_null(json_object_get(r.json, "stop_sequence")));
	json_t *u = json_object_get(r.json, "usage");
	cr_expect_eq(json_object_size(u), 3, "%s", r.body);
	cr_expect_null(json_object_get(u, "cache_creation_input_tokens"));
	cr_expect_null(json_object_get(u, "service_tier"));
	cr_expect_eq(json_integer_value(json_object_get(u, "cache_read_input_tokens")), 0);
	/* usage is the upstream's: qwen3's exact count of the translated chat */
	struct chat_message m[] = {{"system", "You are terse.", NULL}, {"user", CAPITAL_Q, NULL}};
	cr_expect_eq(json_integer_value(json_object_get(u, "input_tokens")), qwen3_prompt(m, 2));
	cr_expect_eq(json_integer_value(json_object_get(u, "output_tokens")),
	             count_text("qwen3", "Canberra"));
	char v[256];
	cr_expect_null(header(&r, "request-id", v, sizeof v), "%s", r.headers.data);
	cr_expect_null(header(&r, "anthropic-ratelimit-requests-remaining", v, sizeof v));
	cr_expect_null(header(&r, "x-ratelimit-remaining-requests", v, sizeof v));
	cr_expect_str_eq(header(&r, "content-type", v, sizeof v),
	                 "application/json; charset=utf-8");
	cr_expect_str_eq(header(&r, "access-control-allow-origin", v, sizeof v), "*");
	long qwen = json_integer_value(json_object_get(u, "input_tokens"));
	response_release(&r);
	/* the official Claude counts the same request its own way */
	messages_post(&r, "official", "/messages", CAPITAL_BODY);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_neq(
	    json_integer_value(json_object_get(json_object_get(r.json, "usage"), "input_tokens")),
	    qwen);
	response_release(&r);
}

Test(relay, translate_streams_in_ccr_shape)
{
	struct response r;
	messages_post(&r, "translate", "/messages",
	              "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 5, \"stream\": true, "
	              "\"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story.\"}]}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	char v[256];
	cr_expect_str_eq(header(&r, "content-type", v, sizeof v), "text/event-stream");
	cr_expect_null(header(&r, "request-id", v, sizeof v));
	cr_expect(strstr(r.body, "event: ping") == NULL, "a ping: %s", r.body);
	struct sse_list l;
	sse_list_parse(&l, &r);
	cr_assert_geq(l.n, 6, "%s", r.body);
	cr_expect_str_eq(l.names[0], "message_start");
	cr_expect_str_eq(l.names[1], "content_block_start");
	size_t k = 2;
	while (k < l.n && strcmp(l.names[k], "content_block_delta") == 0)
		k++;
	cr_expect_eq(k, 2 + 5, "five deltas for five tokens: %s", r.body);
	cr_assert_eq(l.n, k + 3, "%s", r.body);
	cr_expect_str_eq(l.names[k], "content_block_stop");
	cr_expect_str_eq(l.names[k + 1], "message_delta");
	cr_expect_str_eq(l.names[k + 2], "message_stop");
	/* msg_ and the 13 digits of a millisecond timestamp, zero usage */
	json_t *msg = json_object_get(l.data[0], "message");
	const char *id = str(msg, "id");
	cr_assert_not_null(id);
	cr_expect(strncmp(id, "msg_", 4) == 0 && digits_only(id + 4, 13), "%s", id);
	cr_expect_str_eq(str(msg, "model"), "qwen3-32b");
	json_t *want = json_pack("{s:i, s:i}", "input_tokens", 0, "output_tokens", 0);
	cr_expect(json_equal(json_object_get(msg, "usage"), want), "%s", r.body);
	json_decref(want);
	json_t *delta = l.data[k + 1];
	want = json_pack("{s:i, s:i, s:i}", "input_tokens", 0, "output_tokens", 0,
	                 "cache_read_input_tokens", 0);
	cr_expect(json_equal(json_object_get(delta, "usage"), want), "%s", r.body);
	json_decref(want);
	cr_expect_str_eq(str(json_object_get(delta, "delta"), "stop_reason"), "max_tokens");
	sse_list_release(&l);
	response_release(&r);
}

#define WEATHER_TOOL                                                                               \
	"\"tools\": [{\"name\": \"get_weather\", \"description\": \"Weather for a city\", "        \
	"\"input_schema\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": "          \
	"\"string\"}}, \"required\": [\"city\"]}}]"

Test(relay, translate_tool_use_and_what_ccr_drops)
{
	struct response r;
	const char *ask =
	    "\"messages\": [{\"role\": \"user\", \"content\": \"What is the weather in "
	    "Paris? Use get_weather.\"}]";
	char *body = xasprintf("{\"model\": \"claude-sonnet-4\", \"max_tokens\": 100, %s, %s}",
	                       WEATHER_TOOL, ask);
	messages_post(&r, "translate", "/messages", body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	json_t *block = json_array_get(json_object_get(r.json, "content"), 0);
	cr_expect_str_eq(str(block, "type"), "tool_use");
	cr_expect(strncmp(str(block, "id"), "chatcmpl-tool-", 14) == 0, "%s", r.body);
	cr_expect_str_eq(str(json_object_get(block, "input"), "city"), "Paris");
	cr_expect_str_eq(str(r.json, "stop_reason"), "tool_use");
	response_release(&r);
	free(body);
	/* streamed: a tool_use block and its input in fragments */
	body = xasprintf(
	    "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 100, \"stream\": true, %s, %s}",
	    WEATHER_TOOL, ask);
	messages_post(&r, "translate", "/messages", body);
	cr_expect(
	    strstr(r.body, "\"content_block\":{\"type\":\"tool_use\",\"id\":\"chatcmpl-tool-") !=
	        NULL,
	    "%s", r.body);
	cr_expect(strstr(r.body, "\"type\":\"input_json_delta\"") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "\"stop_reason\":\"tool_use\"") != NULL, "%s", r.body);
	response_release(&r);
	free(body);
	/* tool_choice any goes up as "any": the upstream refuses, ccr wraps it */
	body = xasprintf("{\"model\": \"claude-sonnet-4\", \"max_tokens\": 100, \"tool_choice\": "
	                 "{\"type\": \"any\"}, %s, %s}",
	                 WEATHER_TOOL, ask);
	messages_post(&r, "translate", "/messages", body);
	cr_expect_eq(r.status, 400, "%s", r.body);
	json_t *err = json_object_get(r.json, "error");
	cr_expect_str_eq(str(err, "type"), "api_error");
	cr_expect_str_eq(str(err, "code"), "provider_response_error");
	cr_expect(strncmp(str(err, "message"), "Error from provider(vllm,qwen3-32b: 400): {", 43) ==
	              0,
	          "%s", r.body);
	response_release(&r);
	free(body);
	/* stop sequences are dropped: the count runs past them */
	messages_post(
	    &r, "translate", "/messages",
	    "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 60, \"temperature\": 0, "
	    "\"stop_sequences\": [\"5\"], \"messages\": [{\"role\": \"user\", \"content\": "
	    "\"Count from 1 to 9.\"}]}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(str(json_array_get(json_object_get(r.json, "content"), 0), "text"), "7") !=
	              NULL,
	          "%s", r.body);
	cr_expect_str_eq(str(r.json, "stop_reason"), "end_turn");
	response_release(&r);
}

Test(relay, translate_counts_tokens_as_ccr_does)
{
	struct response r;
	messages_post(&r, "translate", "/messages/count_tokens",
	              "{\"model\": \"claude-sonnet-4\", \"system\": \"You are terse.\", "
	              "\"messages\": [{\"role\": \"user\", \"content\": \"" CAPITAL_Q "\"}]}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "input_tokens")),
	             count_text("cl100k_base", "You are terse.") +
	                 count_text("cl100k_base", CAPITAL_Q));
	response_release(&r);
}

Test(relay, careful_translator_wears_the_official_shape)
{
	struct response r;
	messages_post(&r, "translate-careful", "/messages", CAPITAL_BODY);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strncmp(str(r.json, "id"), "msg_01", 6) == 0, "%s", r.body);
	cr_expect_str_eq(str(r.json, "model"), "claude-sonnet-4-20250514");
	json_t *u = json_object_get(r.json, "usage");
	cr_expect_str_eq(str(u, "service_tier"), "standard");
	struct chat_message m[] = {{"system", "You are terse.", NULL}, {"user", CAPITAL_Q, NULL}};
	cr_expect_eq(json_integer_value(json_object_get(u, "input_tokens")), qwen3_prompt(m, 2),
	             "only the count gives it away");
	char v[256];
	cr_expect_not_null(header(&r, "request-id", v, sizeof v));
	cr_expect_not_null(header(&r, "anthropic-ratelimit-requests-remaining", v, sizeof v));
	response_release(&r);
	messages_post(&r, "translate-careful", "/messages",
	              "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 60, \"temperature\": 0, "
	              "\"stream\": true, \"stop_sequences\": [\"5\"], \"messages\": [{\"role\": "
	              "\"user\", \"content\": \"Count from 1 to 9.\"}]}");
	cr_expect(strstr(r.body, "event: ping") != NULL, "%s", r.body);
	cr_expect(strstr(r.body, "\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"5\"") !=
	              NULL,
	          "%s", r.body);
	response_release(&r);
}

Test(relay, translator_takes_only_what_from_names)
{
	struct response r;
	/* an OpenAI-wire request passes through (with the injected prompt) */
	const char *q = "Reply with the single word: pong";
	struct chat_message m[] = {{"system", "Answer briefly.", NULL}, {"user", q, NULL}};
	chat_ok(&r, "translate-claude", "gpt-4o", q, NULL);
	cr_expect_str_eq(str(r.json, "model"), "gpt-4o-2024-08-06");
	struct tokenizer *t = test_tokenizer("o200k_base");
	cr_expect_eq(usage(&r, "prompt_tokens"), chat_prompt_tokens(t, "openai", m, 2));
	tokenizer_free(t);
	response_release(&r);
	/* a Claude on the Anthropic wire is translated, the injected system
	 * prompt riding in the upstream request */
	messages_post(&r, "translate-claude", "/messages",
	              "{\"model\": \"claude-3-5-haiku\", \"max_tokens\": 10, \"temperature\": 0, "
	              "\"messages\": [{\"role\": \"user\", \"content\": \"Reply with the single "
	              "word: pong\"}]}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(str(r.json, "model"), "qwen3-32b");
	cr_expect_eq(
	    json_integer_value(json_object_get(json_object_get(r.json, "usage"), "input_tokens")),
	    qwen3_prompt(m, 2), "%s", r.body);
	response_release(&r);
}
