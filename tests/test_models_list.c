/*
 * The model list (GET /v1/models): URLs beside each API's endpoint, both
 * APIs' list shapes read as untrusted text, and audits of relays whose list
 * says something else than what they serve (tests/data/models_list/).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/audit.h"
#include "probes/models_list.h"
#include "scoring/listing.h"
#include "scoring/verdict.h"
#include "tests/helpers.h"

Test(models_list, url_sits_beside_each_apis_endpoint)
{
	static const struct {
		enum api_kind api;
		const char *base, *want;
	} cases[] = {
	    {API_OPENAI, "https://r.example/v1", "https://r.example/v1/models"},
	    {API_OPENAI, "https://r.example/v1/", "https://r.example/v1/models"},
	    {API_OPENAI, "https://r.example", "https://r.example/v1/models"},
	    {API_OPENAI, "https://r.example/v1/chat/completions", "https://r.example/v1/models"},
	    {API_OPENAI, "https://r.example/openai/v1?api-version=2025-01-01",
	     "https://r.example/openai/v1/models?api-version=2025-01-01"},
	    {API_ANTHROPIC, "https://r.example", "https://r.example/v1/models?limit=1000"},
	    {API_ANTHROPIC, "https://r.example/v1", "https://r.example/v1/models?limit=1000"},
	    {API_ANTHROPIC, "https://r.example/claude/v1/messages",
	     "https://r.example/claude/v1/models?limit=1000"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *u = models_list_url(cases[i].api, cases[i].base);
		cr_expect_str_eq(u, cases[i].want, "%s", cases[i].base);
		free(u);
	}
}

/* Gemini's own API lists beside its models collection, one page of 1000;
 * Bedrock's runtime lists on its control plane's host; an audit asks for a
 * list everywhere but on an Azure deployment URL and Vertex. */
Test(models_list, gemini_and_bedrock_lists_where_their_apis_keep_them)
{
	static const struct {
		enum api_kind api;
		int bedrock;
		const char *base, *want;
	} cases[] = {
	    {API_GEMINI, 0, "https://generativelanguage.googleapis.com",
	     "https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000"},
	    {API_GEMINI, 0, "https://relay.example/gemini/v1beta/",
	     "https://relay.example/gemini/v1beta/models?pageSize=1000"},
	    {API_GEMINI, 0, "https://relay.example/g?tenant=a",
	     "https://relay.example/g/v1beta/models?tenant=a&pageSize=1000"},
	    {API_OPENAI, 0, "https://generativelanguage.googleapis.com/v1beta/openai/",
	     "https://generativelanguage.googleapis.com/v1beta/openai/models"},
	    {API_ANTHROPIC, 1, "https://bedrock-runtime.us-east-1.amazonaws.com",
	     "https://bedrock.us-east-1.amazonaws.com/foundation-models"},
	    {API_CONVERSE, 1, "https://bedrock-runtime.eu-west-3.amazonaws.com/",
	     "https://bedrock.eu-west-3.amazonaws.com/foundation-models"},
	    {API_ANTHROPIC, 1, "http://127.0.0.1:8080/x?y=1",
	     "http://127.0.0.1:8080/foundation-models"},
	    {API_OPENAI, 0, "https://r.example/v1", "https://r.example/v1/models"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *u = models_list_target_url(cases[i].api, cases[i].base, cases[i].bedrock);
		cr_expect_str_eq(u, cases[i].want, "%s", cases[i].base);
		free(u);
	}
	cr_expect(models_list_asked(API_GEMINI, "https://generativelanguage.googleapis.com", 0));
	cr_expect(
	    models_list_asked(API_ANTHROPIC, "https://bedrock-runtime.us-east-1.amazonaws.com", 1));
	cr_expect(
	    !models_list_asked(API_VERTEX, "https://us-east5-aiplatform.googleapis.com/v1", 0));
	cr_expect(!models_list_asked(
	    API_OPENAI, "https://x.openai.azure.com/openai/deployments/d?api-version=1", 0));
}

/* obs after reading body as a 2xx list. */
static void
read_list(struct observation *o, const char *body)
{
	observation_init(o);
	o->http_status = 200;
	models_list_finish(o, body, strlen(body));
}

Test(models_list, both_shapes_read_and_lines_cannot_be_forged)
{
	struct observation o;
	read_list(&o, "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\",\"object\":\"model\"},"
	              "{\"id\":\"models/gemini-3-pro\"}]}");
	cr_expect_eq(o.error, ERR_NONE);
	cr_expect_eq(models_list_count(&o), 2);
	cr_expect_eq(models_list_has(&o, "gpt-4o"), 1);
	cr_expect_eq(models_list_has(&o, "gemini-3-pro"), 1);
	cr_expect_eq(models_list_has(&o, "gpt-4"), 0, "a prefix is not a name");
	cr_expect_eq(o.text_truncated, 0);
	observation_release(&o);

	read_list(&o, "{\"data\":[{\"type\":\"model\",\"id\":\"claude-x\"},{\"id\":\"claude-y\"}],"
	              "\"has_more\":true}");
	cr_expect_eq(models_list_count(&o), 2, "a next page announced keeps this page's ids");
	cr_expect_eq(o.text_truncated, 1, "a next page announced: the list is not all");
	observation_release(&o);

	/* an id with a line break must not become two names */
	read_list(&o, "{\"data\":[{\"id\":\"evil\\ngpt-4o\"}]}");
	cr_expect_eq(models_list_count(&o), 1);
	cr_expect_eq(models_list_has(&o, "gpt-4o"), 0);
	observation_release(&o);

	static const char *const bad[] = {"[]", "{\"data\":{}}", "{\"data\":[{\"name\":\"x\"}]}",
	                                  "not json", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		read_list(&o, bad[i]);
		cr_expect_eq(o.error, ERR_MALFORMED, "%s", bad[i]);
		cr_expect_eq(models_list_has(&o, "x"), -1);
		observation_release(&o);
	}
}

/* Gemini's ListModels (ai.google.dev/api/rest/v1beta/models/list): names
 * "models/…", a next page token when more follow; Bedrock's
 * ListFoundationModels (boto3 list_foundation_models): modelSummaries with
 * modelId, all at once. */
Test(models_list, gemini_and_bedrock_shapes)
{
	struct observation o;
	read_list(&o, "{\"models\":[{\"name\":\"models/gemini-2.5-flash\",\"version\":\"001\","
	              "\"supportedGenerationMethods\":[\"generateContent\"]},{\"name\":"
	              "\"models/gemini-3-flash-preview\"}],\"nextPageToken\":\"Cg2x\"}");
	cr_expect_eq(o.error, ERR_NONE, "%s", o.error_detail ? o.error_detail : "");
	cr_expect_eq(models_list_count(&o), 2);
	cr_expect_eq(models_list_has(&o, "gemini-3-flash-preview"), 1);
	cr_expect_eq(models_list_has(&o, "models/gemini-2.5-flash"), 0,
	             "the name is matched without models/");
	cr_expect_eq(o.text_truncated, 1, "a next page follows: the list is not all");
	observation_release(&o);
	read_list(&o, "{\"models\":[{\"name\":\"models/gemini-2.5-pro\"}]}");
	cr_expect_eq(o.text_truncated, 0, "no token: the last page");
	observation_release(&o);
	read_list(&o,
	          "{\"modelSummaries\":[{\"modelArn\":\"arn:aws:bedrock:us-east-1::foundation-"
	          "model/anthropic.claude-sonnet-4-5-20250929-v1:0\",\"modelId\":"
	          "\"anthropic.claude-sonnet-4-5-20250929-v1:0\",\"providerName\":\"Anthropic\"},"
	          "{\"modelId\":\"amazon.titan-text-express-v1\"}]}");
	cr_expect_eq(o.error, ERR_NONE);
	cr_expect_eq(models_list_count(&o), 2);
	cr_expect_eq(models_list_has(&o, "anthropic.claude-sonnet-4-5-20250929-v1:0"), 1);
	observation_release(&o);
	/* a Gemini entry without its name is no list */
	read_list(&o, "{\"models\":[{\"displayName\":\"x\"}]}");
	cr_expect_eq(o.error, ERR_MALFORMED);
	observation_release(&o);
}

Test(models_list, a_huge_list_is_capped_and_marked)
{
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "{\"data\":[");
	for (int i = 0; i < 5000; i++)
		buf_putf(&b, "%s{\"id\":\"model-%05d-with-a-long-name\"}", i ? "," : "", i);
	buf_puts(&b, "]}");
	struct observation o;
	read_list(&o, b.data);
	cr_expect_eq(o.error, ERR_NONE);
	cr_expect_leq(strlen(o.text), OBS_TEXT_CAP);
	cr_expect_gt(models_list_count(&o), 100);
	cr_expect_lt(models_list_count(&o), 5000);
	cr_expect_eq(o.text_truncated, 1);
	observation_release(&o);
	buf_release(&b);
}

Test(models_list, a_failed_list_says_what_happened)
{
	struct audit_target t = {
	    .relay = (char *)"r", .base_url = (char *)"http://x/v1", .model = (char *)"gpt-4o"};
	struct audit_run *run = test_run_alloc(&t, 1);
	run->listing = xmalloc(sizeof *run->listing);
	observation_init(run->listing);
	run->listing->http_status = 404;
	run->listing->error = ERR_NOT_FOUND;
	struct assessment a;
	assessment_init(&a);
	listing_assess(run, NULL, NULL, &a);
	cr_expect_eq(a.listing, LISTING_UNAVAILABLE);
	cr_expect_str_eq(a.listing_note, "the model list request got HTTP 404 (not_found)");
	assessment_release(&a);

	/* no list asked for: nothing said */
	observation_release(run->listing);
	free(run->listing);
	run->listing = NULL;
	assessment_init(&a);
	listing_assess(run, NULL, NULL, &a);
	cr_expect_eq(a.listing, LISTING_NOT_ASKED);
	cr_expect_null(a.listing_note);
	assessment_release(&a);
	audit_run_free(run);
}

static const char *const need[] = {"official", "lister", "swapper", "quiet", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "models-list", "tests/data/models_list/world.yaml", need, "0.05");
	setenv("ASSAY_BASELINE_DIR", "fixtures/baselines", 1);
}

static void
teardown(void)
{
	test_world_stop(&env);
}

/* `assay audit --json` of model at relay; the model_list object (owned). */
static json_t *
audit_list(const char *relay, const char *model, const char *api)
{
	char url[300];
	snprintf(url, sizeof url, "%s", fixture_url(&env.world, relay));
	if (strcmp(api, "anthropic") == 0)
		url[strlen(url) - 3] = '\0'; /* the SDK's base: the host alone */
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"audit",
	                (char *)"--base-url",
	                url,
	                (char *)"--model",
	                (char *)model,
	                (char *)"--api",
	                (char *)api,
	                (char *)"--json",
	                (char *)"--time-scale",
	                (char *)"0.05",
	                NULL};
	char *out = NULL, *err = NULL;
	run_capture(argv, 90000, &out, &err);
	json_error_t je;
	json_t *j = json_loads(out ? out : "", 0, &je);
	cr_assert_not_null(j, "%s audit: %s", relay, err);
	json_t *l = json_incref(json_object_get(j, "model_list"));
	cr_assert_not_null(l, "%s: no model_list in %s", relay, out);
	json_decref(j);
	free(out);
	free(err);
	return l;
}

static void
expect_list(const char *relay, const char *model, const char *api, const char *status,
            const char *note_has)
{
	json_t *l = audit_list(relay, model, api);
	const char *s = json_string_value(json_object_get(l, "status"));
	const char *note = json_string_value(json_object_get(l, "note"));
	cr_expect_str_eq(s, status, "%s %s", relay, model);
	cr_expect(note != NULL && strstr(note, note_has) != NULL, "%s %s: note '%s' lacks '%s'",
	          relay, model, note ? note : "(none)", note_has);
	json_decref(l);
}

Test(models_list, what_the_list_says_against_what_is_served, .init = setup, .fini = teardown,
     .timeout = 240)
{
	expect_list("lister", "gpt-4o", "openai", "listed", "listed among 3 models; 30 of 30");
	expect_list("lister", "gpt-4.5-preview", "openai", "listed",
	            "were refused as an unknown model");
	expect_list("swapper", "gpt-4o", "openai", "listed",
	            "answered by another model (most likely qwen3-32b)");
	expect_list("quiet", "gpt-4o-mini", "openai", "not listed",
	            "not among the 0 models listed, yet");
	/* Anthropic lists snapshots; the alias claimed is the same model */
	expect_list("official", "claude-sonnet-4", "anthropic", "listed", "listed among");
	expect_list("official", "claude-sonnet-4-20250514", "anthropic", "listed", "listed among");
}
