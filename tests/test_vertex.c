/*
 * Claude on Vertex AI as a channel: the URL the Vertex options build, the
 * body (Anthropic Messages without model, anthropic_version in it), the
 * fixture's vertex-official (fixtures/vertex.h) as strict as Vertex, and
 * audits of it: genuine with no protocol hint (msg_vrtx_ ids, no
 * service_tier are Vertex's, not a deviation), and a wrong token is
 * Google's 401 on every request, stored as an auth failure; a translator
 * behind Vertex's URLs is caught; a thinking signature prefixed claude#
 * (Antigravity's) is read as that client channel, Vertex's own is not.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/config.h"
#include "probes/adapter.h"
#include "probes/endpoint.h"
#include "scoring/origin.h"
#include "tests/helpers.h"

Test(vertex, publisher_url_from_project_and_region)
{
	char *u = NULL, err[512];
	cr_assert_eq(endpoint_vertex_url(NULL, "my-proj", "us-east5", &u, err, sizeof err), 0, "%s",
	             err);
	cr_expect_str_eq(u, "https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/"
	                    "locations/us-east5/publishers/anthropic");
	char *ep = endpoint_request_url(API_VERTEX, u, "claude-sonnet-4-5@20250929", 0);
	cr_expect_str_eq(ep, "https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/"
	                     "locations/us-east5/publishers/anthropic/models/"
	                     "claude-sonnet-4-5@20250929:rawPredict");
	free(ep);
	ep = endpoint_request_url(API_VERTEX, u, "claude-sonnet-4-5@20250929", 1);
	cr_expect(strstr(ep, "/models/claude-sonnet-4-5@20250929:streamRawPredict") != NULL &&
	              strstr(ep, "alt=") == NULL,
	          "%s", ep);
	free(ep);
	free(u);
	/* global has a host of its own; a base ending in /v1 keeps it once */
	cr_assert_eq(endpoint_vertex_url(NULL, "p", "global", &u, err, sizeof err), 0);
	cr_expect_str_eq(u, "https://aiplatform.googleapis.com/v1/projects/p/locations/global/"
	                    "publishers/anthropic");
	free(u);
	cr_assert_eq(endpoint_vertex_url("http://127.0.0.1:9/v1/", "p", "r", &u, err, sizeof err),
	             0);
	cr_expect_str_eq(u, "http://127.0.0.1:9/v1/projects/p/locations/r/publishers/anthropic");
	/* a whole endpoint pasted keeps its prefix, the verb follows stream */
	ep = endpoint_request_url(
	    API_VERTEX,
	    "https://h/v1/projects/p/locations/r/publishers/anthropic/models/m:rawPredict", "m", 1);
	cr_expect_str_eq(
	    ep,
	    "https://h/v1/projects/p/locations/r/publishers/anthropic/models/m:streamRawPredict");
	free(ep);
	free(u);
	cr_expect_eq(endpoint_vertex_url(NULL, "p/x", "r", &u, err, sizeof err), -1);
	cr_expect_eq(endpoint_vertex_url(NULL, "p", NULL, &u, err, sizeof err), -1);
	cr_expect_eq(endpoint_vertex_url("https://h/v1/projects/q", "p", "r", &u, err, sizeof err),
	             -1);
	cr_expect_null(u);
}

/* serve's config: vertex: {project, region} makes base_url the publisher's
 * and the api vertex; a bad name is refused with the file and line. */
Test(vertex, config_vertex_block)
{
	char dir[256], path[300], err[512];
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "vertex-config"), 0);
	snprintf(path, sizeof path, "%s/assay.yaml", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("relays:\n"
	      "  - name: vx\n"
	      "    base_url: https://us-east5-aiplatform.googleapis.com\n"
	      "    vertex: {project: my-proj, region: us-east5}\n"
	      "    models: [claude-sonnet-4-5@20250929]\n",
	      f);
	fclose(f);
	struct config *c = config_load(path, err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->relays[0].base_url,
	                 "https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/locations/"
	                 "us-east5/publishers/anthropic");
	cr_expect_eq(c->relays[0].api, API_VERTEX);
	config_free(c);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("relays:\n"
	      "  - name: vx\n"
	      "    base_url: https://us-east5-aiplatform.googleapis.com\n"
	      "    vertex: {project: 'my/proj', region: us-east5}\n"
	      "    models: [claude-sonnet-4-5@20250929]\n",
	      f);
	fclose(f);
	c = config_load(path, err, sizeof err);
	cr_expect_null(c);
	cr_expect(strstr(err, "assay.yaml:4") != NULL && strstr(err, "Vertex AI") != NULL, "%s",
	          err);
	config_free(c);
	unlink(path);
	rmdir(dir);
}

Test(vertex, body_names_no_model_and_carries_the_version)
{
	static const struct probe_message msgs[] = {{"system", "Be brief."}, {"user", "Say pong"}};
	struct probe_call c = {.model = "claude-sonnet-4-5@20250929",
	                       .messages = msgs,
	                       .n_messages = 2,
	                       .max_tokens = 16,
	                       .temperature = 0,
	                       .seed = -1};
	const char *why = "unset";
	char *s = adapter_body(API_VERTEX, &c, &why);
	cr_assert_not_null(s, "%s", why);
	json_t *j = json_loads(s, 0, NULL);
	free(s);
	cr_expect_null(json_object_get(j, "model"));
	cr_expect_str_eq(json_string_value(json_object_get(j, "anthropic_version")),
	                 "vertex-2023-10-16");
	cr_expect_str_eq(json_string_value(json_object_get(j, "system")), "Be brief.");
	cr_expect_eq(json_integer_value(json_object_get(j, "max_tokens")), 16);
	json_decref(j);
	/* what the Messages API cannot carry, Vertex cannot either */
	struct request_intent in = {.top_logprobs = 2};
	cr_expect_not_null(adapter_cannot(API_VERTEX, &in));
	cr_expect_eq(auth_resolve(API_VERTEX, AUTH_DEFAULT), AUTH_BEARER);
	cr_expect_eq(api_from_name("vertex"), API_VERTEX);
}

Test(vertex, answers_parse_as_anthropic)
{
	const char *b =
	    "{\"id\":\"msg_vrtx_0154LUXjFVzQGUca3yK2RUeo\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":"
	    "\"text\",\"text\":\"pong\"}],\"stop_reason\":\"end_turn\",\"usage\":{"
	    "\"input_tokens\":10,\"output_tokens\":1}}";
	struct adapter_parse p;
	struct observation o;
	observation_init(&o);
	adapter_parse_init(&p, API_VERTEX, &o, 0, 0, 1 << 20);
	cr_assert_eq(adapter_parse_feed(&p, 200, b, strlen(b), 1000), 0);
	adapter_parse_finish(&p, 200);
	adapter_parse_release(&p);
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail);
	cr_expect_str_eq(o.text, "pong");
	cr_expect_str_eq(o.id, "msg_vrtx_0154LUXjFVzQGUca3yK2RUeo");
	cr_expect_eq(o.prompt_tokens, 10);
	cr_expect_str_eq(o.finish_reason, "end_turn");
	observation_release(&o);
	/* Google's 401 for a bad token is an auth failure */
	const char *e = "{\"error\":{\"code\":401,\"message\":\"Request had invalid authentication "
	                "credentials.\",\"status\":\"UNAUTHENTICATED\"}}";
	observation_init(&o);
	adapter_parse_init(&p, API_VERTEX, &o, 1, 0, 1 << 20);
	cr_assert_eq(adapter_parse_feed(&p, 401, e, strlen(e), 1000), 0);
	adapter_parse_finish(&p, 401);
	adapter_parse_release(&p);
	cr_expect_eq(o.error, ERR_AUTH);
	observation_release(&o);
}

/* ---- the fixture's Vertex ---- */

static const char *const need[] = {"vertex-official", "vertex-ccr", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "vertex", "tests/data/fixture/google.yaml", need, "0.05");
}

static void
teardown(void)
{
	cr_expect_eq(test_world_stop(&env), 0, "the fixture did not stop cleanly on SIGTERM");
}

#define MODEL_PATH "/v1/projects/assay-test/locations/us-east5/publishers/anthropic/models/"

static json_t *
post(const char *path, const char *body, const char *const *headers, long *status)
{
	struct http_response r;
	fixture_send(&r, &env.world, "vertex-official", path, body, headers, 20000);
	cr_assert_eq(r.rc, CURLE_OK);
	*status = r.status;
	json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", r.body);
	http_response_release(&r);
	return j;
}

static const char *
message(json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "error"), "message"));
}

Test(vertex, fixture_is_as_strict_as_vertex, .init = setup, .fini = teardown, .timeout = 60)
{
	static const char *const token[] = {"Authorization: Bearer vertex-token", NULL};
	static const char *const wrong[] = {"Authorization: Bearer nope", NULL};
	static const char ok_body[] =
	    "{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":20,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Say pong\"}]}";
	long status;
	json_t *j =
	    post(MODEL_PATH "claude-sonnet-4-5@20250929:rawPredict", ok_body, token, &status);
	cr_expect_eq(status, 200, "%s", json_dumps(j, 0));
	const char *id = json_string_value(json_object_get(j, "id"));
	cr_expect(id != NULL && strncmp(id, "msg_vrtx_01", 11) == 0 && strlen(id) == 33, "id %s",
	          id);
	cr_expect_str_eq(json_string_value(json_object_get(j, "model")),
	                 "claude-sonnet-4-5-20250929");
	cr_expect_null(json_object_get(json_object_get(j, "usage"), "service_tier"));
	json_decref(j);
	j = post(MODEL_PATH "claude-sonnet-4-5@20250929:rawPredict", ok_body, NULL, &status);
	cr_expect_eq(status, 401);
	cr_expect(strstr(message(j), "missing required authentication credential") != NULL);
	json_decref(j);
	j = post(MODEL_PATH "claude-sonnet-4-5@20250929:rawPredict", ok_body, wrong, &status);
	cr_expect_eq(status, 401);
	cr_expect(strstr(message(j), "invalid authentication credentials") != NULL);
	json_decref(j);
	j = post(MODEL_PATH "claude-opus-9@20990101:rawPredict", ok_body, token, &status);
	cr_expect_eq(status, 404);
	cr_expect_str_eq(message(j),
	                 "Publisher Model `projects/assay-test/locations/us-east5/"
	                 "publishers/anthropic/models/claude-opus-9@20990101` not found.");
	json_decref(j);
	j = post("/v1/projects/other/locations/us-east5/publishers/anthropic/models/"
	         "claude-sonnet-4-5@20250929:rawPredict",
	         ok_body, token, &status);
	cr_expect_eq(status, 403);
	json_decref(j);
	/* the body as the Messages API checks it, plus Vertex's own rules */
	j = post(MODEL_PATH "claude-sonnet-4-5@20250929:rawPredict",
	         "{\"model\":\"claude-sonnet-4-5\",\"anthropic_version\":\"vertex-2023-10-16\","
	         "\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
	         token, &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(message(j), "model: Extra inputs are not permitted");
	json_decref(j);
	j = post(MODEL_PATH "claude-sonnet-4-5@20250929:rawPredict",
	         "{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", token,
	         &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(message(j), "anthropic_version: Field required");
	json_decref(j);
	j = post(MODEL_PATH "claude-sonnet-4-5@20250929:rawPredict",
	         "{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":5,\"messages\":[{"
	         "\"role\":\"user\",\"content\":\"x\"}],\"top_q\":1}",
	         token, &status);
	cr_expect_eq(status, 400);
	cr_expect_str_eq(message(j), "top_q: Extra inputs are not permitted");
	json_decref(j);
}

static int
audit(json_t **j, const char *endpoint, const char *token)
{
	const char *const fixed[] = {"--model",
	                             "claude-sonnet-4-5@20250929",
	                             "--time-scale",
	                             "0.05",
	                             "--vertex-project",
	                             "assay-test",
	                             "--vertex-region",
	                             "us-east5",
	                             NULL};
	return test_audit_json(j, 90000, token, fixed, "--base-url",
	                       fixture_url(&env.world, endpoint), NULL);
}

Test(vertex, audit_of_vertex_is_genuine, .init = setup, .fini = teardown, .timeout = 120)
{
	json_t *j;
	int rc = audit(&j, "vertex-official", "vertex-token");
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
		          "a protocol hint on Vertex: %s", sum);
	}
	cr_expect_str_eq(json_string_value(json_object_get(j, "api")), "vertex");
	cr_expect_str_eq(json_string_value(json_object_get(j, "auth")), "bearer");
	const char *ep = json_string_value(json_object_get(j, "endpoint"));
	cr_expect(ep != NULL &&
	              strstr(ep, "/v1/projects/assay-test/locations/us-east5/publishers/"
	                         "anthropic/models/claude-sonnet-4-5@20250929:rawPredict"),
	          "endpoint %s", ep);
	json_decref(j);
}

Test(vertex, a_wrong_token_is_an_auth_failure, .init = setup, .fini = teardown, .timeout = 120)
{
	json_t *j;
	int rc = audit(&j, "vertex-official", "expired");
	cr_expect_eq(rc, 3);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "unreachable");
	json_t *f = json_array_get(json_object_get(j, "findings"), 0);
	const char *observed =
	    json_string_value(json_object_get(json_object_get(f, "evidence"), "observed"));
	cr_expect(observed != NULL && strstr(observed, "auth ") != NULL, "observed: %s", observed);
	const char *summary =
	    json_string_value(json_object_get(json_object_get(f, "evidence"), "summary"));
	cr_expect(summary != NULL && strstr(summary, "HTTP 401") != NULL, "summary: %s", summary);
	json_decref(j);
}

/* A relay selling Claude on Vertex that is claude-code-router in front of
 * qwen3-32b, behind Vertex's URLs and ids: the counts are qwen3's exactly,
 * and no response has Vertex's shape. */
Test(vertex, a_translator_behind_vertex_urls_is_caught, .init = setup, .fini = teardown,
     .timeout = 120)
{
	json_t *j;
	int rc = audit(&j, "vertex-ccr", "vertex-token");
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "misbehaving", "%s",
	                 json_string_value(json_object_get(j, "reason")));
	int counts = 0, shape = 0;
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(j, "findings"), i, f)
	{
		const char *sum =
		    json_string_value(json_object_get(json_object_get(f, "evidence"), "summary"));
		if (sum == NULL ||
		    strcmp(json_string_value(json_object_get(f, "class")), "substitution") != 0)
			continue;
		counts |= strstr(sum, "qwen3 tokenizer") != NULL;
		shape |= strstr(sum, "not shaped as") != NULL;
	}
	cr_expect(counts && shape, "findings: %s", json_dumps(json_object_get(j, "findings"), 0));
	json_decref(j);
}

/* The body the fixture's Vertex AI answers a thinking request with, read
 * on Vertex's wire, its thinking signature prefixed with prefix first ("":
 * as sent); the backend origin_read() makes of it. */
static struct origin_reading
vertex_thinking_origin(const char *body, const char *prefix, struct observation *o)
{
	json_t *j = json_loads(body, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", body);
	size_t i;
	json_t *block;
	int signed_ = 0;
	json_array_foreach(json_object_get(j, "content"), i, block)
	{
		const char *sig = json_string_value(json_object_get(block, "signature"));
		if (sig == NULL)
			continue;
		char *s = xasprintf("%s%s", prefix, sig);
		json_object_set_new(block, "signature", json_string(s));
		free(s);
		signed_ = 1;
	}
	cr_assert(signed_, "no signed thinking block: %s", body);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	struct adapter_parse p;
	observation_init(o);
	adapter_parse_init(&p, API_VERTEX, o, 0, 0, 1 << 20);
	size_t len = strlen(text);
	for (size_t k = 0; k < len; k += 11)
		if (adapter_parse_feed(&p, 200, text + k, len - k < 11 ? len - k : 11,
		                       (int64_t)(1000 * (k + 1))) != 0)
			break;
	adapter_parse_finish(&p, 200);
	adapter_parse_release(&p);
	free(text);
	cr_assert(observation_ok(o), "not parsed: %s", o->error_detail ? o->error_detail : "?");
	struct origin_reading r;
	cr_assert_eq(origin_read(o, &r), 0);
	return r;
}

/* Antigravity (a reverse-engineered client channel over Vertex) prefixes
 * the thinking signature with claude# (cc-proxy-detector's matrix); Vertex
 * itself does not. The fixture's Vertex answer is Vertex's, strong; the
 * same answer with the prefix is that client channel's, whatever else of
 * Vertex it carries: the prefix alone says it (scoring/origin.c). */
Test(vertex, a_claude_hash_signature_is_antigravitys_not_vertexs, .init = setup, .fini = teardown,
     .timeout = 60)
{
	static const char *const token[] = {"Authorization: Bearer vertex-token", NULL};
	struct http_response h;
	fixture_send(&h, &env.world, "vertex-official",
	             MODEL_PATH "claude-sonnet-4-5@20250929:rawPredict",
	             "{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":1280,"
	             "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},"
	             "\"messages\":[{\"role\":\"user\",\"content\":\"Say pong\"}]}",
	             token, 20000);
	cr_assert_eq(h.rc, CURLE_OK);
	cr_assert_eq(h.status, 200, "%s", h.body);
	struct observation o;
	struct origin_reading r = vertex_thinking_origin(h.body, "", &o);
	cr_expect_eq(r.backend, ORIGIN_VERTEX, "read as %s: %s", origin_backend_name(r.backend),
	             r.evidence);
	cr_expect(r.strong, "%s", r.evidence);
	cr_expect(r.channel == NULL || strcmp(r.channel, "antigravity") != 0, "%s", r.evidence);
	cr_expect(strncmp(o.signature, "claude#", 7) != 0, "Vertex's own signature: %s",
	          o.signature);
	observation_release(&o);
	r = vertex_thinking_origin(h.body, "claude#", &o);
	cr_expect_eq(r.backend, ORIGIN_REVERSE, "read as %s: %s", origin_backend_name(r.backend),
	             r.evidence);
	cr_expect(r.strong, "%s", r.evidence);
	cr_expect(r.channel != NULL && strcmp(r.channel, "antigravity") == 0, "channel %s: %s",
	          r.channel ? r.channel : "none", r.evidence);
	cr_expect(strstr(r.evidence, "claude#") != NULL, "%s", r.evidence);
	/* and the prefixed signature is still well formed: a hint needs more */
	cr_expect(origin_signature_well_formed(o.signature, o.signature_len));
	observation_release(&o);
	http_response_release(&h);
}
