/*
 * The backend origin of Claude requests (scoring/origin.h) and the claimed
 * channel (channel_misrepresented).
 *
 * Unit tests read bodies shaped as public captures show them (the sources
 * are in scoring/origin.c: async-aws's Bedrock InvokeModel body, Claude
 * Code's Vertex and Bedrock ids, cc-proxy-detector's matrix, the Messages
 * API's usage) through the Anthropic adapter, as an audit would, and hold
 * the classifier to what each shows. Audits of the detection world's
 * official endpoint, an honest relay and the relays that forward from
 * another backend (tests/data/detect/world.yaml) then hold the whole chain:
 * no finding on the official API and the honest relay claimed official,
 * nor on a Vertex relay claimed vertex; each misrepresentation caught with
 * its class; with --verify-key-env, the official API accepting the
 * official signature and refusing a client channel's.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/config.h"
#include "probes/adapter.h"
#include "scoring/origin.h"
#include "scoring/verdict.h"
#include "storage/store.h"
#include "tests/helpers.h"
#include "web/board.h"
#include "web/site.h"

static void
parse(int stream, int status, const char *body, struct observation *o)
{
	struct adapter_parse p;
	observation_init(o);
	adapter_parse_init(&p, API_ANTHROPIC, o, stream, 0, 1 << 20);
	size_t len = strlen(body);
	for (size_t i = 0; i < len; i += 7) /* in small pieces, as a network hands them */
		if (adapter_parse_feed(&p, status, body + i, len - i < 7 ? len - i : 7,
		                       (int64_t)(1000 * (i + 1))) != 0)
			break;
	adapter_parse_finish(&p, status);
	adapter_parse_release(&p);
}

/* body read as a whole 200 answer: its backend and strength */
static void
expect_origin(const char *what, const char *body, unsigned headers, const char *request_id,
              enum origin_backend want, int strong, const char *channel)
{
	struct observation o;
	parse(0, 200, body, &o);
	cr_assert(observation_ok(&o), "%s: not parsed: %s", what,
	          o.error_detail ? o.error_detail : "?");
	o.headers_seen = headers;
	if (request_id != NULL)
		o.request_id = xstrdup(request_id);
	struct origin_reading r;
	cr_assert_eq(origin_read(&o, &r), 0, "%s", what);
	cr_expect_eq(r.backend, want, "%s: read as %s, not %s: %s", what,
	             origin_backend_name(r.backend), origin_backend_name(want), r.evidence);
	cr_expect_eq(r.strong, strong, "%s: strong %d, not %d: %s", what, r.strong, strong,
	             r.evidence);
	if (channel != NULL)
		cr_expect(r.channel != NULL && strcmp(r.channel, channel) == 0,
		          "%s: channel %s, not %s", what, r.channel ? r.channel : "none", channel);
	cr_expect_gt(strlen(r.evidence), 0, "%s: no evidence", what);
	observation_release(&o);
}

#define SIG400                                                                                     \
	"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds7XySlRN6pr7R7dEhsLG8eXq5OXmEzWCpyZb" \
	"n"                                                                                        \
	"gP6yi/"                                                                                   \
	"J3ZF6WWdeQ5mpS7FbG3ucHKoIOhsDSKVxo4eqJXoK5TgW8yLF3m9DAVHI4NDq2HbLGOEZpwDl3Yg8p6bQxWb"     \
	"Hn9kSmuvpqoB2EpH3vq3JCeKXWp+BJfGmBZEfUVKgG8+rqF2bNPRAsvg0R4u3kYCgN6ypTJQeAoBAI7A/"        \
	"UZ1rjBDpr"                                                                                \
	"ZfD7TlBmI6yPHcQ0MgBJ3kF2fkRm9tL3o8gS8OPkfjEGdBqDmS4c2GXTSNnq9fBY1XJu4L0IcdfGQ4K5zlA4dCvY" \
	"8="

/* The Messages API's answer: msg_01 and toolu_01 ids, stop_sequence null,
 * usage with service_tier, the cache_creation object and inference_geo. */
static const char anthropic_body[] =
    "{\"id\":\"msg_013Zva2CMHLNnXjNJJKqJ2EF\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":\"thinking\",\"thinking\":"
    "\"Let me check.\",\"signature\":\"" SIG400 "\"},{\"type\":\"tool_use\",\"id\":"
    "\"toolu_01A09q90qw90lq917835lq9\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}],"
    "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,"
    "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"cache_creation\":"
    "{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":89,"
    "\"service_tier\":\"standard\",\"inference_geo\":\"global\"}}";

Test(origin, anthropic_direct_is_strong_with_a_field_only_it_sends)
{
	expect_origin("anthropic", anthropic_body, OBS_HDR_REQUEST_ID | OBS_HDR_ANTHROPIC_RATELIMIT,
	              "req_011CUdL49e3Fu9bCKbWF6cXD", ORIGIN_ANTHROPIC, 1, NULL);
	/* the thinking block and its signature were kept */
	struct observation o;
	parse(0, 200, anthropic_body, &o);
	cr_expect(o.anthropic_marks & OBS_ANT_THINKING);
	cr_expect(o.anthropic_marks & OBS_ANT_INFERENCE_GEO);
	cr_expect(o.anthropic_marks & OBS_ANT_CACHE_CREATION);
	cr_expect(o.anthropic_marks & OBS_ANT_STOP_SEQUENCE_KEY);
	cr_expect_str_eq(o.thinking, "Let me check.");
	cr_expect_str_eq(o.signature, SIG400);
	cr_expect_eq(o.signature_len, strlen(SIG400));
	cr_expect(origin_signature_well_formed(o.signature, o.signature_len));
	observation_release(&o);
}

Test(origin, anthropic_shaped_ids_alone_are_a_hint)
{
	/* a relay that rebuilt the body: the ids are Anthropic's shape, the
	 * fields only Anthropic sends are gone, no headers came */
	expect_origin(
	    "rebuilt",
	    "{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":"
	    "{\"input_tokens\":8,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":"
	    "0,\"output_tokens\":3,\"service_tier\":\"standard\"}}",
	    0, NULL, ORIGIN_ANTHROPIC, 0, NULL);
}

Test(origin, bedrock_invoke_model)
{
	/* async-aws's InvokeModel test body, as AWS returns it */
	expect_origin(
	    "bedrock",
	    "{\"id\":\"msg_bdrk_01SK3CsA23VBbZig4HqemAoo\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"model\":\"claude-3-7-sonnet-20250219\",\"content\":[{\"type\":"
	    "\"text\",\"text\":\"# Whispers of the Heart\"}],\"stop_reason\":\"end_turn\","
	    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":13,"
	    "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
	    "\"output_tokens\":153}}",
	    OBS_HDR_AMZN, NULL, ORIGIN_BEDROCK, 1, NULL);
	/* ids rewritten to Anthropic's, but a Bedrock tool id left */
	expect_origin(
	    "bedrock tool id",
	    "{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[{\"type\":"
	    "\"tool_use\",\"id\":\"toolu_bdrk_01Q65v4JpoidAyyppmS47DZh\",\"name\":\"f\","
	    "\"input\":{}}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":"
	    "{\"input_tokens\":13,\"output_tokens\":15,\"service_tier\":\"standard\"}}",
	    0, NULL, ORIGIN_BEDROCK, 1, NULL);
}

Test(origin, vertex_raw_predict)
{
	expect_origin(
	    "vertex",
	    "{\"id\":\"msg_vrtx_011CfBLyuqQKtoph9kWhiUt5\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"model\":\"claude-sonnet-4-5@20250929\",\"content\":[{\"type\":"
	    "\"tool_use\",\"id\":\"toolu_vrtx_01Rufmyabrdr5rjAfGLjG8vN\",\"name\":\"Skill\","
	    "\"input\":{}}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":"
	    "{\"input_tokens\":100,\"cache_creation_input_tokens\":0,"
	    "\"cache_read_input_tokens\":0,\"output_tokens\":12}}",
	    0, NULL, ORIGIN_VERTEX, 1, NULL);
}

Test(origin, client_channels_say_which)
{
	expect_origin(
	    "kiro",
	    "{\"id\":\"msg_2f1c9a3e-7b4d-4e8a-9c1f-0a6b5d4e3c2b\",\"type\":\"message\","
	    "\"role\":\"assistant\",\"model\":\"kiro-claude-sonnet-4-5-agentic\",\"content\":"
	    "[{\"type\":\"tool_use\",\"id\":\"tooluse_jR3LAfuASrGil31Ix9V7qQ\",\"name\":\"f\","
	    "\"input\":{}}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":"
	    "{\"input_tokens\":10,\"output_tokens\":5}}",
	    0, NULL, ORIGIN_REVERSE, 1, "kiro");
	expect_origin("antigravity",
	              "{\"id\":\"req_vrtx_011CWwvKgCCu3fvjASX69zqX\",\"type\":\"message\",\"role\":"
	              "\"assistant\",\"model\":\"claude-opus-4-5\",\"content\":[{\"type\":"
	              "\"thinking\",\"thinking\":\"Hm.\",\"signature\":\"claude#" SIG400 "\"},"
	              "{\"type\":\"tool_use\",\"id\":\"tool_1\",\"name\":\"f\",\"input\":{}}],"
	              "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":"
	              "{\"input_tokens\":10,\"output_tokens\":5}}",
	              0, NULL, ORIGIN_REVERSE, 1, "antigravity");
}

Test(origin, a_subscription_resold_shows_its_limits)
{
	/* Anthropic's own answer, with a Claude subscription's unified limits */
	expect_origin("subscription", anthropic_body,
	              OBS_HDR_REQUEST_ID | OBS_HDR_ANTHROPIC_UNIFIED,
	              "req_011CUdL49e3Fu9bCKbWF6cXD", ORIGIN_REVERSE, 1, "claude-subscription");
}

Test(origin, translators_leave_the_upstream_showing)
{
	/* claude-code-router in front of an OpenAI-compatible model (as
	 * tests/test_ccr.c measures it): the upstream's chatcmpl- id */
	expect_origin(
	    "ccr",
	    "{\"id\":\"chatcmpl-3bb0dfe95360bf4a9b1f3e2d\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"model\":\"qwen3-32b\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"Hi\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":"
	    "{\"input_tokens\":9,\"output_tokens\":2,\"cache_read_input_tokens\":0}}",
	    0, NULL, ORIGIN_TRANSLATOR, 1, NULL);
	/* OpenAI's usage names under Anthropic's ids */
	expect_origin(
	    "openai usage",
	    "{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":"
	    "{\"input_tokens\":9,\"output_tokens\":2,\"prompt_tokens\":9,"
	    "\"completion_tokens\":2}}",
	    0, NULL, ORIGIN_TRANSLATOR, 1, NULL);
	/* no stop_sequence key, usage without cache fields: only a hint */
	expect_origin(
	    "bare",
	    "{\"id\":\"msg_abc\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
	    "\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],"
	    "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":9,\"output_tokens\":2}}",
	    0, NULL, ORIGIN_TRANSLATOR, 0, NULL);
}

Test(origin, a_streamed_translator_id_and_streamed_thinking)
{
	/* ccr's stream id is msg_ and milliseconds; the thinking block comes
	 * as thinking_delta and signature_delta events */
	static const char stream[] =
	    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"
	    "\"msg_1764590000123\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"
	    "\"model\":\"qwen3-32b\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":"
	    "{\"input_tokens\":0,\"output_tokens\":0}}}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
	    "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
	    "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Think \"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
	    "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"twice.\"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
	    "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"" SIG400 "\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
	    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
	    "\"delta\":{\"type\":\"text_delta\",\"text\":\"Yes.\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
	    "\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":0}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	struct observation o;
	parse(1, 200, stream, &o);
	cr_assert(observation_ok(&o), "%s", o.error_detail ? o.error_detail : "?");
	cr_expect_str_eq(o.text, "Yes.");
	cr_expect_str_eq(o.thinking, "Think twice.");
	cr_expect_str_eq(o.signature, SIG400);
	cr_expect(o.anthropic_marks & OBS_ANT_SIGNATURE_DELTA);
	struct origin_reading r;
	cr_assert_eq(origin_read(&o, &r), 0);
	cr_expect_eq(r.backend, ORIGIN_TRANSLATOR, "%s: %s", origin_backend_name(r.backend),
	             r.evidence);
	cr_expect(r.strong);
	observation_release(&o);
}

Test(origin, error_bodies_and_silence)
{
	struct observation o;
	parse(0, 400,
	      "{\"message\":\"ValidationException: messages.1.content.0: Invalid `signature` in "
	      "`thinking` block\"}",
	      &o);
	struct origin_reading r;
	cr_assert_eq(origin_read(&o, &r), 0, "%s", o.error_detail ? o.error_detail : "?");
	cr_expect_eq(r.backend, ORIGIN_BEDROCK, "%s", r.evidence);
	cr_expect_not(r.strong, "an error's words are a hint");
	observation_release(&o);
	/* Vertex's wrapping of Anthropic's error, as a relay passed it on */
	parse(0, 400,
	      "{\"error\":{\"code\":400,\"message\":\"{\\\"type\\\":\\\"error\\\",\\\"error\\\":"
	      "{\\\"type\\\":\\\"invalid_request_error\\\",\\\"message\\\":\\\"bad\\\"},"
	      "\\\"request_id\\\":\\\"req_vrtx_011CWwvKgCCu3fvjASX69zqX\\\"}\",\"status\":"
	      "\"INVALID_ARGUMENT\"}}",
	      &o);
	cr_assert_eq(origin_read(&o, &r), 0, "%s", o.error_detail ? o.error_detail : "?");
	cr_expect_eq(r.backend, ORIGIN_VERTEX, "%s: %s", o.error_detail, r.evidence);
	observation_release(&o);
	/* an error that names nothing, or a request never sent, is not read */
	parse(0, 500, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"x\"}}",
	      &o);
	cr_expect_eq(origin_read(&o, &r), -1, "%s", r.evidence);
	observation_release(&o);
}

Test(origin, signatures_and_names)
{
	cr_expect(origin_signature_well_formed(SIG400, strlen(SIG400)));
	cr_expect(origin_signature_well_formed("claude#" SIG400, strlen(SIG400) + 7));
	cr_expect_not(origin_signature_well_formed("", 0));
	cr_expect_not(origin_signature_well_formed("abc", 3), "too short");
	cr_expect_not(
	    origin_signature_well_formed("not base64 at all! " SIG400, strlen(SIG400) + 19));
	cr_expect_not(origin_signature_well_formed(SIG400 "=A", strlen(SIG400) + 2),
	              "padding inside");
	for (int c = 0; c < CHANNEL__COUNT; c++)
		cr_expect_eq(origin_channel_from_name(origin_channel_name((enum origin_channel)c)),
		             c);
	cr_expect_eq(origin_channel_from_name("moon"), -1);
	/* OpenAI's wire: official is OpenAI's API; Azure is a cloud's */
	cr_expect(origin_channel_allows(CHANNEL_OFFICIAL, ORIGIN_OPENAI));
	cr_expect_not(origin_channel_allows(CHANNEL_OFFICIAL, ORIGIN_AZURE));
	cr_expect(origin_channel_allows(CHANNEL_AZURE, ORIGIN_AZURE));
	cr_expect(origin_channel_allows(CHANNEL_CLOUD, ORIGIN_AZURE));
	cr_expect_not(origin_channel_allows(CHANNEL_AZURE, ORIGIN_OPENAI));
	cr_expect(origin_channel_allows(CHANNEL_UNCLAIMED, ORIGIN_TRANSLATOR));
	cr_expect(origin_channel_allows(CHANNEL_OFFICIAL, ORIGIN_ANTHROPIC));
	cr_expect_not(origin_channel_allows(CHANNEL_OFFICIAL, ORIGIN_BEDROCK));
	cr_expect(origin_channel_allows(CHANNEL_CLOUD, ORIGIN_VERTEX));
	cr_expect_not(origin_channel_allows(CHANNEL_CLOUD, ORIGIN_ANTHROPIC));
	cr_expect_not(origin_channel_allows(CHANNEL_REVERSE, ORIGIN_TRANSLATOR));
	cr_expect(origin_channel_allows(CHANNEL_OFFICIAL, ORIGIN_UNKNOWN),
	          "unknown accuses no one");
}

/* ---- audits of the detection world ---- */

static const char *const need[] = {
    "official",        "honest",          "via-bedrock", "via-vertex",       "via-kiro",
    "via-antigravity", "via-bedrock-mix", "translator",  "via-subscription", NULL};
static struct fixture world;

static void
setup(void)
{
	fixture_start_scaled(&world, "tests/data/detect/world.yaml", need, "0.05");
}

static void
teardown(void)
{
	cr_expect_eq(fixture_stop(&world), 0);
}

/* assay audit --json of endpoint for model, claiming channel (NULL: none),
 * with the official endpoint's key check when verify */
static json_t *
audit(const char *endpoint, const char *model, const char *channel, int verify)
{
	char root[256], off[256];
	snprintf(root, sizeof root, "%s", fixture_url(&world, endpoint));
	snprintf(off, sizeof off, "%s", fixture_url(&world, "official"));
	/* the Anthropic SDK's base URL is the host alone */
	char *v1 = strstr(root, "/v1");
	if (v1 != NULL)
		*v1 = '\0';
	if ((v1 = strstr(off, "/v1")) != NULL)
		*v1 = '\0';
	setenv("ASSAY_TEST_OFFICIAL_KEY", "sk-ant-test", 1);
	char *argv[20];
	int n = 0;
	argv[n++] = (char *)test_binary("assay");
	argv[n++] = (char *)"audit";
	argv[n++] = (char *)"--base-url";
	argv[n++] = root;
	argv[n++] = (char *)"--model";
	argv[n++] = (char *)model;
	argv[n++] = (char *)"--api";
	argv[n++] = (char *)"anthropic";
	argv[n++] = (char *)"--json";
	argv[n++] = (char *)"--time-scale";
	argv[n++] = (char *)"0.05";
	if (channel != NULL) {
		argv[n++] = (char *)"--channel";
		argv[n++] = (char *)channel;
	}
	if (verify) {
		argv[n++] = (char *)"--verify-key-env";
		argv[n++] = (char *)"ASSAY_TEST_OFFICIAL_KEY";
		argv[n++] = (char *)"--verify-base-url";
		argv[n++] = off;
	}
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 90000, &out, &err);
	json_t *j = json_loads(out ? out : "", 0, NULL);
	cr_assert_not_null(j, "audit of %s: exit %d, no JSON:\n%s\n%s", endpoint, rc, out, err);
	cr_expect(err == NULL || strstr(err, "sk-ant-test") == NULL, "the key was printed");
	cr_expect(out == NULL || strstr(out, "sk-ant-test") == NULL, "the key was printed");
	free(out);
	free(err);
	return j;
}

/* The findings of class at or over the suspect level (not hints). */
static int
accusations(const json_t *j, const char *class)
{
	int n = 0;
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(j, "findings"), i, f)
	{
		const char *c = json_string_value(json_object_get(f, "class"));
		n += class == NULL ? finding_class_is_cheat(c) : strcmp(c, class) == 0;
	}
	return n;
}

static long
origin_count(const json_t *j, const char *backend)
{
	return (long)json_integer_value(
	    json_object_get(json_object_get(json_object_get(j, "origin"), "requests"), backend));
}

Test(origin, official_and_honest_claims_get_no_finding, .init = setup, .fini = teardown,
     .timeout = 240)
{
	static const struct {
		const char *endpoint, *channel;
	} cases[] = {{"official", "official"},
	             {"honest", "official"},
	             {"official", NULL},
	             {"via-vertex", "vertex"},
	             {"via-bedrock", "cloud"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *j = audit(cases[i].endpoint, "claude-sonnet-4-5", cases[i].channel, 0);
		char *dump = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
		cr_expect_eq(accusations(j, NULL), 0, "%s claimed %s: %s", cases[i].endpoint,
		             cases[i].channel ? cases[i].channel : "nothing", dump);
		/* the shape of the backend claimed is the shape to expect */
		cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "genuine",
		                 "%s claimed %s: %s", cases[i].endpoint,
		                 cases[i].channel ? cases[i].channel : "nothing",
		                 json_string_value(json_object_get(j, "reason")));
		cr_expect_not_null(json_object_get(j, "origin"), "%s: no origin reported",
		                   cases[i].endpoint);
		free(dump);
		json_decref(j);
	}
	/* the official API is read as Anthropic's on every answered request */
	json_t *j = audit("official", "claude-opus-4-5", "official", 0);
	cr_expect_eq(origin_count(j, "anthropic"),
	             json_integer_value(json_object_get(j, "ok_requests")), "%s",
	             json_string_value(json_object_get(json_object_get(j, "origin"), "note")));
	json_decref(j);
}

Test(origin, each_misrepresentation_is_caught_with_its_class, .init = setup, .fini = teardown,
     .timeout = 240)
{
	static const struct {
		const char *endpoint, *backend;
	} cases[] = {{"via-bedrock", "bedrock"},     {"via-vertex", "vertex"},
	             {"via-kiro", "reverse"},        {"via-antigravity", "reverse"},
	             {"via-bedrock-mix", "bedrock"}, {"via-subscription", "reverse"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *j = audit(cases[i].endpoint, "claude-sonnet-4-5", "official", 0);
		char *dump = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
		cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "misbehaving",
		                 "%s: %s", cases[i].endpoint, dump);
		cr_expect_eq(accusations(j, "channel_misrepresented"), 1, "%s: %s",
		             cases[i].endpoint, dump);
		cr_expect_eq(accusations(j, NULL), 1, "%s: another cheat found: %s",
		             cases[i].endpoint, dump);
		cr_expect_gt(origin_count(j, cases[i].backend), 0, "%s", cases[i].endpoint);
		free(dump);
		/* unclaimed, the same relay's origin is a fact, never a finding */
		json_decref(j);
		j = audit(cases[i].endpoint, "claude-sonnet-4-5", NULL, 0);
		dump = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
		cr_expect_eq(accusations(j, NULL), 0, "%s unclaimed: %s", cases[i].endpoint, dump);
		cr_expect_gt(origin_count(j, cases[i].backend), 0, "%s unclaimed",
		             cases[i].endpoint);
		free(dump);
		json_decref(j);
	}
	/* the mix is said as one */
	json_t *j = audit("via-bedrock-mix", "claude-sonnet-4-5", NULL, 0);
	cr_expect_gt(origin_count(j, "anthropic"), 0);
	cr_expect_gt(origin_count(j, "bedrock"), 0);
	json_decref(j);
	/* a translator in front of qwen3-32b, sold as official */
	j = audit("translator", "claude-sonnet-4", "official", 0);
	cr_expect_eq(accusations(j, "channel_misrepresented"), 1);
	cr_expect_gt(origin_count(j, "translator"), 0);
	json_decref(j);
}

Test(origin, signatures_sent_back_to_the_official_api, .init = setup, .fini = teardown,
     .timeout = 240)
{
	json_t *j = audit("official", "claude-sonnet-4-5", "official", 1);
	const char *note = json_string_value(json_object_get(json_object_get(j, "origin"), "note"));
	cr_expect(note != NULL && strstr(note, "accepted") != NULL, "%s", note ? note : "no note");
	cr_expect_eq(accusations(j, NULL), 0);
	json_decref(j);
	/* an honest relay passes the official signature on unchanged */
	j = audit("honest", "claude-sonnet-4-5", "official", 1);
	note = json_string_value(json_object_get(json_object_get(j, "origin"), "note"));
	cr_expect(note != NULL && strstr(note, "accepted") != NULL, "%s", note ? note : "no note");
	cr_expect_eq(accusations(j, NULL), 0);
	json_decref(j);
	/* Antigravity's claude# prefix is no signature the official API made */
	j = audit("via-antigravity", "claude-sonnet-4-5", "official", 1);
	int refused = 0;
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(j, "findings"), i, f)
	{
		const char *s =
		    json_string_value(json_object_get(json_object_get(f, "evidence"), "observed"));
		refused |=
		    s != NULL && strstr(s, "Invalid `signature` in `thinking` block") != NULL;
	}
	cr_expect(refused, "no refusal reported");
	json_decref(j);
}

/* ---- the relay page and the JSON API ---- */

Test(origin, the_relay_page_shows_the_mix_and_the_claim)
{
	struct board *b = board_new("origin");
	int64_t now = wall_ms();
	int mix[BOARD_ORIGINS] = {0};
	mix[ORIGIN_ANTHROPIC] = 20;
	mix[ORIGIN_BEDROCK] = 8;
	for (int i = 0; i < 3; i++) {
		struct board_run run = {.relay = "<b>relay</b>",
		                        .model = "claude-sonnet-4-5",
		                        .api = "anthropic",
		                        .verdict = "misbehaving",
		                        .reason = "r",
		                        .at_ms = now - i * 3600000LL,
		                        .runs = 1,
		                        .requests = 28,
		                        .ok_requests = 28,
		                        .ttft_ms = -1,
		                        .tokens_per_s = -1,
		                        .origin = mix,
		                        .channel = "official"};
		board_record(b, &run);
	}
	struct site_response r;
	site_get(b, "/relays/-b-relay--b-.html", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	cr_expect_not_null(strstr(r.blob->data, "Backend origin"), "no origin section");
	cr_expect_not_null(strstr(r.blob->data, "channel claimed: official"));
	cr_expect_not_null(strstr(r.blob->data, "<td>AWS Bedrock</td><td class=\"num\">24</td>"),
	                   "the 24 h window's Bedrock requests");
	cr_expect_null(strstr(r.blob->data, "<b>relay</b>"), "relay text unescaped");
	board_put(r.blob);
	site_get(b, "/api/v1/endpoints/-b-relay--b-_claude-sonnet-4-5.json", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	json_t *j = json_loadb(r.blob->data, r.blob->len, 0, NULL);
	board_put(r.blob);
	cr_assert_not_null(j);
	const json_t *o = json_object_get(j, "origin");
	cr_expect_str_eq(json_string_value(json_object_get(o, "channel")), "official");
	const json_t *day = json_object_get(json_object_get(o, "requests"), "24h");
	cr_expect_eq(json_integer_value(json_object_get(day, "anthropic")), 60);
	cr_expect_eq(json_integer_value(json_object_get(day, "bedrock")), 24);
	json_decref(j);
	board_free(b);
}

/* ---- the claim in the config ---- */

Test(origin, the_config_says_the_channel_claimed)
{
	char dir[256], path[512];
	test_tmpdir_file(dir, sizeof dir, "origin", path, sizeof path, "assay.yaml");
	cr_assert_eq(test_write_file(path, "relays:\n"
	                                   "  - name: a\n"
	                                   "    base_url: https://claude.example\n"
	                                   "    api: anthropic\n"
	                                   "    channel: bedrock\n"
	                                   "    models: [claude-sonnet-4-5]\n"
	                                   "  - name: b\n"
	                                   "    base_url: https://claude.example\n"
	                                   "    api: anthropic\n"
	                                   "    models: [claude-sonnet-4-5]\n"),
	             0);
	char err[512];
	struct config *c = config_load(path, err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(c->relays[0].channel, CHANNEL_BEDROCK);
	cr_expect_eq(c->relays[1].channel, CHANNEL_UNCLAIMED, "the default");
	config_free(c);
	cr_assert_eq(test_write_file(path, "relays:\n"
	                                   "  - name: a\n"
	                                   "    base_url: https://claude.example\n"
	                                   "    api: anthropic\n"
	                                   "    channel: moon\n"
	                                   "    models: [claude-sonnet-4-5]\n"),
	             0);
	c = config_load(path, err, sizeof err);
	cr_expect_null(c);
	cr_expect(strstr(err, ":5:") != NULL && strstr(err, "'moon'") != NULL, "%s", err);
	config_free(c);
	unlink(path);
	rmdir(dir);
}

/* ---- the mix kept in the store ---- */

static int origin_bucket_cb_hits;
static void
origin_bucket_cb(const struct store_bucket *b, void *arg)
{
	(void)arg;
	cr_expect_eq(b->origin[ORIGIN_ANTHROPIC], 40, "two runs of 20");
	cr_expect_eq(b->origin[ORIGIN_BEDROCK], 12);
	cr_expect_eq(b->origin[ORIGIN_VERTEX], 0);
	origin_bucket_cb_hits++;
}

Test(origin, the_store_keeps_the_mix_per_bucket)
{
	char dir[256], path[512], err[256];
	test_tmpdir_file(dir, sizeof dir, "origin-store", path, sizeof path, "t.db");
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	int64_t at = wall_ms() / 3600000 * 3600000 + 60000; /* both in one hour */
	for (int i = 0; i < 2; i++) {
		struct test_run t;
		test_run_init(&t, "r1", "claude-sonnet-4-5", at + i * 1000);
		t.obs.http_status = 200;
		struct assessment a;
		assessment_init(&a);
		a.requests = a.ok_requests = 1;
		a.origin_counts[ORIGIN_ANTHROPIC] = 20;
		a.origin_counts[ORIGIN_BEDROCK] = 6;
		a.origin_note = xstrdup("26 Claude requests read: 20 anthropic, 6 bedrock.");
		assessment_decide(&a);
		cr_expect_gt(test_save_run(s, test_timeline(), &t.run, &a, NULL), 0);
		assessment_release(&a);
		test_run_release(&t);
	}
	for (int res = STORE_MINUTE; res <= STORE_DAY; res++) {
		origin_bucket_cb_hits = 0;
		cr_expect_eq(store_each_bucket(s, (enum store_resolution)res, at - 86400000LL,
		                               origin_bucket_cb, NULL),
		             0);
		cr_expect_eq(origin_bucket_cb_hits, 1, "resolution %d", res);
	}
	store_close(s);
	cr_expect_eq(test_rmtree(dir), 0);
}

Test(origin, relay_text_in_evidence_is_tamed)
{
	struct observation o;
	parse(0, 200,
	      "{\"id\":\"msg_bdrk_\\u001b[31mred\\u0007\",\"type\":\"message\",\"role\":"
	      "\"assistant\","
	      "\"model\":\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}],"
	      "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,"
	      "\"output_tokens\":1}}",
	      &o);
	struct origin_reading r;
	cr_assert_eq(origin_read(&o, &r), 0);
	cr_expect_eq(r.backend, ORIGIN_BEDROCK);
	cr_expect_null(strchr(r.evidence, '\x1b'), "%s", r.evidence);
	cr_expect_null(strchr(r.evidence, '\a'), "%s", r.evidence);
	cr_expect_not_null(strstr(r.evidence, "msg_bdrk_?[31mred?"), "%s", r.evidence);
	observation_release(&o);
}

/* OpenAI's wire: Azure OpenAI's annotations or gateway header are Azure's
 * (strong); OpenAI's request id with its organisation header a hint of
 * OpenAI's API; neither, nothing to read. */
Test(origin, openai_wire_reads_azure_and_openai)
{
	struct observation o;
	struct origin_reading r;
	observation_init(&o);
	o.http_status = 200;
	o.openai_marks = OBS_OAI_FILTER;
	cr_assert_eq(origin_read_openai(&o, &r), 0);
	cr_expect_eq(r.backend, ORIGIN_AZURE);
	cr_expect(r.strong);
	cr_expect(strstr(r.evidence, "content-filter") != NULL, "%s", r.evidence);
	o.openai_marks = OBS_OAI_APIM;
	cr_assert_eq(origin_read_openai(&o, &r), 0);
	cr_expect(strstr(r.evidence, "apim-request-id") != NULL, "%s", r.evidence);
	o.openai_marks = 0;
	o.request_id = xstrdup("req_0123456789abcdef0123456789abcdef");
	o.headers_seen = OBS_HDR_OPENAI_ORG;
	cr_assert_eq(origin_read_openai(&o, &r), 0);
	cr_expect_eq(r.backend, ORIGIN_OPENAI);
	cr_expect_not(r.strong, "relays copy OpenAI's headers: a hint");
	o.headers_seen = 0;
	cr_expect_eq(origin_read_openai(&o, &r), -1, "nothing to read");
	observation_release(&o);
}
