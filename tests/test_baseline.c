/*
 * Baselines: export writes a pack that loads again, record measures an
 * official endpoint into a pack, import installs it over the bundled one,
 * and a bad pack is refused with a clear message.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scoring/baseline.h"
#include "tests/helpers.h"

#define ASSAY (char *)test_binary("assay")

static char dir[64];

static void
setup(void)
{
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "baseline"), 0);
	setenv("ASSAY_BASELINE_DIR", dir, 1);
}

static void
teardown(void)
{
	cr_expect_eq(test_rmtree(dir), 0);
}

/* assay baseline record of model at w's official endpoint, samples runs,
 * into the pack out: its exit status, stderr in *err (the caller frees). */
static int
record_api(const struct fixture *w, const char *model, const char *api, const char *samples,
           const char *out, int timeout_ms, char **err)
{
	char *a[] = {ASSAY,
	             (char *)"baseline",
	             (char *)"record",
	             (char *)"--base-url",
	             (char *)fixture_url(w, "official"),
	             (char *)"--model",
	             (char *)model,
	             (char *)"--samples",
	             (char *)samples,
	             (char *)"-o",
	             (char *)out,
	             api ? (char *)"--api" : NULL,
	             (char *)api,
	             NULL};
	char *stdout_text = NULL;
	int rc = run_capture(a, timeout_ms, &stdout_text, err);
	free(stdout_text);
	return rc;
}

static int
record(const struct fixture *w, const char *model, const char *samples, const char *out,
       int timeout_ms, char **err)
{
	return record_api(w, model, NULL, samples, out, timeout_ms, err);
}

Test(baseline, export_round_trips, .init = setup, .fini = teardown)
{
	char path[128];
	snprintf(path, sizeof path, "%s/../export-%s.json", dir, strrchr(dir, '-') + 1);
	char *a[] = {ASSAY, (char *)"baseline", (char *)"export", path, NULL};
	char *out, *err;
	cr_assert_eq(run_capture(a, 20000, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	char e[256];
	struct baseline_pack *p = baseline_load(path, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	const struct baseline_model *m = baseline_find(p, "gpt-4o");
	cr_assert_not_null(m);
	cr_expect_str_eq(m->tokenizer, "o200k_base");
	cr_expect(baseline_supports(m, "logprobs"));
	cr_expect_gt(m->price_in, 0);
	baseline_free(p);
	remove(path);
}

Test(baseline, record_then_import_overrides_bundled, .init = setup, .fini = teardown,
     .timeout = 120)
{
	static const char *const need[] = {"official", NULL};
	struct fixture w;
	fixture_start_scaled(&w, "fixtures/demo.yaml", need, "0.05");
	char rec[128];
	snprintf(rec, sizeof rec, "%s.recorded.json", dir);
	char *out, *err;
	int rc = record(&w, "qwen3-32b", "2", rec, 60000, &err);
	fixture_stop(&w);
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_not_null(strstr(err, "token accounting exact"), "%s", err);
	free(err);
	char e[256];
	struct baseline_pack *p = baseline_load(rec, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	cr_assert_eq(p->n, 1);
	double r = baseline_answer_rate(&p->models[0], "cap-arithmetic");
	cr_expect(r > 0 && r < 1, "rate %g", r);
	baseline_free(p);

	char *b[] = {ASSAY, (char *)"baseline", (char *)"import", rec, NULL};
	cr_assert_eq(run_capture(b, 20000, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	struct baseline_pack *merged = baseline_load_default(e, sizeof e);
	cr_assert_not_null(merged, "%s", e);
	const struct baseline_model *m = baseline_find(merged, "qwen3-32b");
	cr_assert_not_null(m);
	cr_expect_geq(baseline_answer_rate(m, "ping"), 0, "the imported rates replace the bundled");
	baseline_free(merged);
	remove(rec);
}

Test(baseline, bad_pack_is_refused, .init = setup, .fini = teardown)
{
	char path[128];
	snprintf(path, sizeof path, "%s/../bad-%s.json", dir, strrchr(dir, '-') + 1);
	cr_assert_eq(test_write_file(path, "{\"models\": [\n  {\"name\": 1}\n"), 0);
	char *a[] = {ASSAY, (char *)"baseline", (char *)"import", path, NULL};
	char *out, *err;
	cr_expect_eq(run_capture(a, 20000, &out, &err), 2);
	cr_expect_not_null(strstr(err, path), "%s", err);
	free(out);
	free(err);
	remove(path);
}

Test(baseline, recorded_latency_reveals_a_slow_relay, .init = setup, .fini = teardown,
     .timeout = 180)
{
	static const char *const need[] = {"official", "honest", "slow-relay", NULL};
	struct fixture w;
	fixture_start_scaled(&w, "tests/data/detect/world.yaml", need, "0.05");
	char rec[128];
	snprintf(rec, sizeof rec, "%s/gpt-4o.json", dir);
	/* the official endpoint's own speed, at the same time scale */
	char *out, *err;
	cr_assert_eq(record(&w, "gpt-4o", "3", rec, 90000, &err), 0, "%s", err);
	free(err);
	const char *relays[] = {"honest", "slow-relay"};
	for (int i = 0; i < 2; i++) {
		char *b[] = {ASSAY,
		             (char *)"audit",
		             (char *)"--base-url",
		             (char *)fixture_url(&w, relays[i]),
		             (char *)"--model",
		             (char *)"gpt-4o",
		             (char *)"--json",
		             NULL};
		int rc = run_capture(b, 90000, &out, &err);
		json_t *j = json_loads(out, 0, NULL);
		cr_assert_not_null(j, "exit %d: %s %s", rc, out, err);
		int slow =
		    json_find(json_object_get(j, "findings"), "class", "degraded_latency") != NULL;
		cr_expect_eq(slow, i == 1, "%s: degraded_latency %s", relays[i],
		             slow ? "reported" : "missing");
		cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "genuine",
		                 "slowness is not cheating (%s)", relays[i]);
		json_decref(j);
		free(out);
		free(err);
	}
	fixture_stop(&w);
}

Test(baseline, id_shapes)
{
	static const struct {
		const char *id, *shape;
	} cases[] = {
	    {"chatcmpl-2uXoMdHzjSestW7vVREvthDZfNY16", "chatcmpl-{29 alnum}"},
	    {"chatcmpl-0123456789abcdef0123456789abcdef", "chatcmpl-{32 hex}"},
	    {"3f2a9c1e-0b4d-4e6f-8a7b-1c2d3e4f5a6b", "{uuid}"},
	    /* DeepSeek's tool-call ids: a prefix and a UUID, whose dashes are its own */
	    {"call_0_ec1cb437-febc-4b2a-9f10-0a1b2c3d4e5f", "call_0_{uuid}"},
	    {"msg_01XFDUDYJgAACzvnptvVoYEL", "msg_{24 alnum}"},
	    {"12345", "{5 digits}"},
	    /* Gemini's responseId: URL-safe base64, '_' and '-' no separators */
	    {"UxQ6aM_sKbjFnvgPocrJaA", "{b64url}"},
	    {"abc_DEFghiJKLmnoPQRstu", "{b64url}"},
	    /* a relay's prefix is shown as printable ASCII only, and capped */
	    {"<b>\xc3\xa9vil</b>__________________________________x.y",
	     "<b>??vil</b>____________{3 mixed}"},
	};
	char s[96];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		baseline_id_shape(cases[i].id, s, sizeof s);
		cr_expect_str_eq(s, cases[i].shape, "%s: %s, want %s", cases[i].id, s,
		                 cases[i].shape);
	}
	baseline_id_shape("3f2a9c1e-0b4d-4e6f-8a7b-1c2d3e4f5a6", s, sizeof s);
	cr_expect_str_neq(s, "{uuid}", "one digit short is no uuid");
	/* Converse's toolUseId: a prefix and URL-safe base64, whose '_' and
	 * '-' are its own (AWS's tool-use guide: tooluse_hbTgdi0CSLq_hM4P8csZJA);
	 * one without either draws the alnum shape, and the two fit each other */
	static const struct {
		const char *id, *shape;
	} more[] = {
	    {"tooluse_hbTgdi0CSLq_hM4P8csZJA", "tooluse_{22 b64url}"},
	    {"tooluse_JX1wqyUvRjyTcVSg_6-JwA", "tooluse_{22 b64url}"},
	    {"tooluse_jR3LAfuASrGil31Ix9V7qQ", "tooluse_{22 alnum}"},
	    /* base64 that happens to begin with lowercase letters, or a '_' */
	    {"tooluse_abc_Gil31Ix9V7qQjR3LAf", "tooluse_{22 b64url}"},
	    {"tooluse_-bTgdi0CSLqAhM4P8csZJA", "tooluse_{22 b64url}"},
	    /* a second prefix stays a prefix */
	    {"msg_bdrk_01SK3CsA23VBbZig4HqemAoo", "msg_bdrk_{24 alnum}"},
	    {"toolu_vrtx_01Rufmyabrdr5rjAfGLjG8vN", "toolu_vrtx_{24 alnum}"},
	    {"req_vrtx_011CWwvKgCCu3fvjASX69zqX", "req_vrtx_{24 alnum}"},
	};
	for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
		baseline_id_shape(more[i].id, s, sizeof s);
		cr_expect_str_eq(s, more[i].shape, "%s: %s, want %s", more[i].id, s, more[i].shape);
	}
	cr_expect(baseline_id_shape_fits("tooluse_{22 alnum}", "tooluse_{22 b64url}"));
	cr_expect(baseline_id_shape_fits("tooluse_{22 b64url}", "tooluse_{22 alnum}"));
	cr_expect(baseline_id_shape_fits("x", NULL));
	cr_expect(!baseline_id_shape_fits("tooluse_{21 alnum}", "tooluse_{22 b64url}"));
	cr_expect(!baseline_id_shape_fits("toolu_{22 alnum}", "tooluse_{22 b64url}"));
	cr_expect(!baseline_id_shape_fits("toolu_bdrk_{24 alnum}", "tooluse_{22 b64url}"));
	cr_expect(!baseline_id_shape_fits("msg_{24 hex}", "msg_{24 alnum}"));
}

/* A pack from its JSON text, written into the test's directory. */
static struct baseline_pack *
pack_of(const char *json, char *e, size_t elen)
{
	char path[128];
	snprintf(path, sizeof path, "%s/pack.json", dir);
	cr_assert_eq(test_write_file(path, "%s", json), 0);
	struct baseline_pack *p = baseline_load(path, e, elen);
	remove(path);
	return p;
}

/* two lines that share a naming scheme, and two entries whose names are
 * one key ("x-1.5" and "x-1-5"): the ambiguous case */
static const char naming_pack[] =
    "{\"assay_baseline_pack\": 1, \"models\": ["
    "{\"name\": \"claude-opus-4-5\", \"aliases\": [\"claude-opus-4-5-20251101\"], \"api\": "
    "\"anthropic\"},"
    "{\"name\": \"claude-opus-4-1\", \"api\": \"anthropic\"},"
    "{\"name\": \"gpt-5.5\"}, {\"name\": \"gpt-5\"}, {\"name\": \"gpt-5-mini\"},"
    "{\"name\": \"kimi-k2\"}, {\"name\": \"kimi-k2-thinking\"},"
    "{\"name\": \"x-1.5\"}, {\"name\": \"x-1-5\"}]}";

Test(baseline, naming_variants_resolve_to_one_entry, .init = setup, .fini = teardown)
{
	char e[256];
	struct baseline_pack *p = pack_of(naming_pack, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	static const struct {
		const char *name, *want;
	} cases[] = {
	    {"claude-opus-4-5", "claude-opus-4-5"},
	    {"claude-opus-4.5", "claude-opus-4-5"},
	    {"claude-opus-4-5-20251101", "claude-opus-4-5"},
	    {"anthropic/claude-opus-4.5", "claude-opus-4-5"},
	    {"Claude-Opus-4.5-Thinking", "claude-opus-4-5"},
	    {"claude-opus-4-5-latest", "claude-opus-4-5"},
	    {"claude-opus-4-5[1m]", "claude-opus-4-5"},
	    {"claude-opus-4-1", "claude-opus-4-1"},
	    {"openai/gpt-5.5", "gpt-5.5"},
	    {"GPT-5.5", "gpt-5.5"},
	    {"gpt-5-5", "gpt-5.5"},
	    {"gpt-5.5-high", "gpt-5.5"},
	    {"gpt-5.5-2026-04-23", "gpt-5.5"},
	    {"gpt-5-2025-08-07", "gpt-5"},
	    {"gpt-5-mini-2025-08-07", "gpt-5-mini"},
	    {"gpt-5-mini-minimal", "gpt-5-mini"},
	    {"openrouter/openai/gpt-5:free", "gpt-5"},
	    /* a model whose name holds a suffix is itself before its line */
	    {"kimi-k2-thinking", "kimi-k2-thinking"},
	    {"moonshotai/Kimi-K2-Thinking", "kimi-k2-thinking"},
	    {"kimi-k2-latest", "kimi-k2"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct baseline_model *m = NULL;
		char why[320];
		int rc = baseline_resolve(p, cases[i].name, &m, why, sizeof why);
		cr_expect_eq(rc, 1, "%s: rc %d (%s)", cases[i].name, rc, why);
		if (rc == 1)
			cr_expect_str_eq(m->name, cases[i].want, "%s: %s, want %s", cases[i].name,
			                 m->name, cases[i].want);
		cr_expect_eq(baseline_find(p, cases[i].name), m, "%s: find and resolve differ",
		             cases[i].name);
	}
	baseline_free(p);
}

Test(baseline, names_of_other_models_do_not_resolve, .init = setup, .fini = teardown)
{
	char e[256];
	struct baseline_pack *p = pack_of(naming_pack, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	/* a size, a tier or a later version is another model, not a variant */
	static const char *const names[] = {
	    "gpt-5.5-mini",
	    "gpt-5.5-pro",
	    "gpt-5-nano",
	    "gpt-5.4",
	    "gpt-55",
	    "gpt-5.5x",
	    "claude-opus-4-8",
	    "claude-opus-4",
	    "claude-opus-4-6-20260101",
	    "claude-opus",
	    "gpt",
	    "kimi-k2.5",
	    "",
	    "claude-opus-4-51",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct baseline_model *m = NULL;
		int rc = baseline_resolve(p, names[i], &m, NULL, 0);
		cr_expect_eq(rc, 0, "'%s' resolved to %s", names[i], m ? m->name : "(ambiguous)");
		cr_expect_null(baseline_find(p, names[i]), "'%s' found", names[i]);
	}
	baseline_free(p);
}

Test(baseline, an_ambiguous_name_names_both_candidates, .init = setup, .fini = teardown)
{
	char e[256];
	struct baseline_pack *p = pack_of(naming_pack, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	const struct baseline_model *m = (const struct baseline_model *)p;
	char why[320];
	cr_expect_eq(baseline_resolve(p, "X-1.5", &m, why, sizeof why), -1);
	cr_expect_null(m);
	cr_expect_not_null(strstr(why, "'x-1.5'"), "%s", why);
	cr_expect_not_null(strstr(why, "'x-1-5'"), "%s", why);
	cr_expect_not_null(strstr(why, "ambiguous"), "%s", why);
	cr_expect_null(baseline_find(p, "X-1.5"), "an ambiguous name is never picked");
	/* the exact name is no ambiguity */
	cr_expect_eq(baseline_resolve(p, "x-1-5", &m, why, sizeof why), 1);
	cr_expect_str_eq(m->name, "x-1-5");
	baseline_free(p);
}

Test(baseline, reported_names_match_as_resolved, .init = setup, .fini = teardown)
{
	char e[256];
	struct baseline_pack *p = pack_of(naming_pack, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	const struct baseline_model *opus = baseline_find(p, "claude-opus-4-5");
	const struct baseline_model *gpt = baseline_find(p, "gpt-5");
	cr_assert(opus != NULL && gpt != NULL);
	cr_expect(baseline_name_matches(opus, "claude-opus-4-5-20251101"));
	cr_expect(baseline_name_matches(opus, "anthropic/claude-opus-4.5"));
	cr_expect(baseline_name_matches(gpt, "gpt-5-2025-08-07"));
	cr_expect(!baseline_name_matches(gpt, "gpt-5-mini-2025-08-07"));
	cr_expect(!baseline_name_matches(opus, "claude-opus-4-1"));
	baseline_free(p);
}

static const char rules_pack[] =
    "{\"assay_baseline_pack\": 1, \"models\": ["
    "{\"name\": \"reasoner\", \"token_limit_field\": \"max_completion_tokens\","
    " \"rejects\": [\"temperature\", \"stop\", \"logprobs\"],"
    " \"reasoning\": {\"mode\": \"always\", \"efforts\": [\"low\", \"high\"], \"default_effort\": "
    "\"high\", \"min_budget\": 1024},"
    " \"price_per_mtok\": {\"input\": 1.25, \"output\": 10, \"cached_input\": 0.125},"
    " \"source\": \"https://example.invalid/models/reasoner\", \"as_of\": \"2026-12-01\"},"
    /* an older pack: the rules come from params alone, as before */
    "{\"name\": \"chat\", \"params\": [\"temperature\", \"max_tokens\", \"stop\"]},"
    "{\"name\": \"rejects-in-params\", \"params\": [\"temperature\", \"max_tokens\"],"
    " \"rejects\": [\"temperature\"]}]}";

Test(baseline, documented_facts_become_request_rules, .init = setup, .fini = teardown)
{
	char e[256];
	struct baseline_pack *p = pack_of(rules_pack, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	struct request_rules r;
	const struct baseline_model *m = baseline_find(p, "reasoner");
	baseline_request_rules(m, &r);
	cr_expect(r.max_completion_tokens && r.no_temperature && r.no_stop && r.no_logprobs);
	cr_expect_str_eq(m->reasoning.mode, "always");
	cr_expect_eq(m->reasoning.min_budget, 1024);
	cr_expect_eq(m->reasoning.min_output, -1, "not documented: unknown");
	cr_expect_float_eq(m->price_cached_in, 0.125, 1e-9);
	cr_expect_str_eq(m->as_of, "2026-12-01");
	baseline_request_rules(baseline_find(p, "chat"), &r);
	cr_expect(!r.max_completion_tokens && !r.no_temperature && !r.no_stop && !r.no_logprobs);
	m = baseline_find(p, "rejects-in-params");
	baseline_request_rules(m, &r);
	cr_expect(r.no_temperature, "a rejected parameter is never sent, listed or not");
	cr_expect(!baseline_supports(m, "temperature"));

	/* the body the adapter builds carries neither temperature nor max_tokens */
	baseline_request_rules(baseline_find(p, "reasoner"), &r);
	struct probe_message msg = {"user", "hi"};
	struct probe_call call = {.model = "reasoner",
	                          .messages = &msg,
	                          .n_messages = 1,
	                          .max_tokens = 64,
	                          .temperature = 0.7,
	                          .seed = -1,
	                          .rules = &r};
	char *body = adapter_body(API_OPENAI, &call, NULL);
	cr_assert_not_null(body);
	cr_expect_null(strstr(body, "\"temperature\""), "%s", body);
	cr_expect_null(strstr(body, "\"max_tokens\""), "%s", body);
	/* 64 and room for thinking at its least effort, low */
	cr_expect_not_null(strstr(body, "\"max_completion_tokens\":320"), "%s", body);
	cr_expect_not_null(strstr(body, "\"reasoning_effort\":\"low\""), "%s", body);
	free(body);
	static const char *const stop[] = {"5"};
	struct request_intent with_stop = {.stop = stop, .n_stop = 1};
	struct request_intent with_logprobs = {.top_logprobs = 3};
	struct request_intent plain = {0};
	cr_expect_not_null(adapter_refused(&r, &with_stop));
	cr_expect_not_null(adapter_refused(&r, &with_logprobs));
	cr_expect_null(adapter_refused(&r, &plain));
	cr_expect_null(adapter_refused(NULL, &with_stop));

	/* and the facts survive export */
	json_t *j = baseline_pack_to_json(p);
	char *text = json_dumps(j, 0);
	json_decref(j);
	baseline_free(p);
	p = pack_of(text, e, sizeof e);
	free(text);
	cr_assert_not_null(p, "%s", e);
	m = baseline_find(p, "reasoner");
	cr_assert_not_null(m);
	cr_expect_eq(m->n_rejects, 3);
	cr_expect_str_eq(m->token_limit_field, "max_completion_tokens");
	cr_expect_eq(m->reasoning.n_efforts, 2);
	cr_expect_str_eq(m->reasoning.default_effort, "high");
	cr_expect_str_eq(m->source, "https://example.invalid/models/reasoner");
	cr_expect_float_eq(m->price_cached_in, 0.125, 1e-9);
	baseline_free(p);
}

Test(baseline, an_undocumented_word_is_refused, .init = setup, .fini = teardown)
{
	char e[256];
	cr_expect_null(pack_of("{\"assay_baseline_pack\": 1, \"models\": [{\"name\": \"m\", "
	                       "\"reasoning\": {\"mode\": \"sometimes\"}}]}",
	                       e, sizeof e));
	cr_expect_not_null(strstr(e, "sometimes"), "%s", e);
	cr_expect_null(pack_of("{\"assay_baseline_pack\": 1, \"models\": [{\"name\": \"m\", "
	                       "\"token_limit_field\": \"max_output_tokens\"}]}",
	                       e, sizeof e));
	cr_expect_not_null(strstr(e, "max_output_tokens"), "%s", e);
}

static struct baseline_pack *
bundled(void)
{
	char e[256];
	struct baseline_pack *p =
	    baseline_load(ASSAY_SRCDIR "/scoring/baselines/bundled.json", e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	return p;
}

Test(baseline, every_bundled_name_resolves_to_its_own_entry)
{
	struct baseline_pack *p = bundled();
	for (size_t i = 0; i < p->n; i++) {
		const struct baseline_model *m = &p->models[i];
		const struct baseline_model *got;
		char why[320];
		cr_expect_eq(baseline_resolve(p, m->name, &got, why, sizeof why), 1, "%s: %s",
		             m->name, why);
		cr_expect_eq(got, m, "%s resolves to %s", m->name, got ? got->name : "nothing");
		for (size_t k = 0; k < m->n_aliases; k++) {
			cr_expect_eq(baseline_resolve(p, m->aliases[k], &got, why, sizeof why), 1,
			             "%s: %s", m->aliases[k], why);
			cr_expect_eq(got, m, "alias %s of %s resolves to %s", m->aliases[k],
			             m->name, got ? got->name : "nothing");
		}
		/* documented facts name their source and date */
		if (m->source != NULL)
			cr_expect_not_null(m->as_of, "%s has a source and no as_of", m->name);
	}
	baseline_free(p);
}

Test(baseline, relays_names_for_todays_models)
{
	struct baseline_pack *p = bundled();
	static const struct {
		const char *name, *want;
	} cases[] = {
	    {"claude-opus-4.5", "claude-opus-4-5"},
	    {"claude-opus-4-5-20251101", "claude-opus-4-5"},
	    {"anthropic/claude-opus-4.5", "claude-opus-4-5"},
	    {"claude-opus-4-5-thinking", "claude-opus-4-5"},
	    {"claude-sonnet-4-5-20250929-thinking", "claude-sonnet-4-5"},
	    {"claude-opus-4-8-thinking", "claude-opus-4-8"},
	    {"claude-sonnet-4-6[1m]", "claude-sonnet-4-6"},
	    {"openai/gpt-5.5", "gpt-5.5"},
	    {"gpt-5.5-2026-04-23", "gpt-5.5"},
	    {"gpt-5-5-high", "gpt-5.5"},
	    {"GPT-5.2", "gpt-5.2"},
	    {"openai/gpt-5.6-high", "gpt-5.6-sol"},
	    {"gpt-5.6-luna-2026-07-09", "gpt-5.6-luna"},
	    {"gpt-5-2025-08-07", "gpt-5"},
	    {"gpt-5-mini-minimal", "gpt-5-mini"},
	    {"o4-mini-high", "o4-mini"},
	    {"models/gemini-2.5-pro", "gemini-2.5-pro"},
	    {"deepseek-ai/DeepSeek-V3.2", "deepseek-v3.2"},
	    {"Qwen/Qwen3.5-397B-A17B", "qwen3.5-397b-a17b"},
	    {"moonshotai/kimi-k2-thinking", "kimi-k2-thinking"},
	    {"zai-org/GLM-5.1", "glm-5.1"},
	    {"x-ai/grok-4", "grok-4"},
	    {"minimax/MiniMax-M2.5", "MiniMax-M2.5"},
	    /* the 2024-25 entries keep their names */
	    {"gpt-4o-2024-08-06", "gpt-4o"},
	    {"claude-sonnet-4-20250514", "claude-sonnet-4"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct baseline_model *m = NULL;
		char why[320];
		int rc = baseline_resolve(p, cases[i].name, &m, why, sizeof why);
		cr_expect_eq(rc, 1, "%s: rc %d %s", cases[i].name, rc, why);
		if (rc == 1)
			cr_expect_str_eq(m->name, cases[i].want, "%s: %s, want %s", cases[i].name,
			                 m->name, cases[i].want);
	}
	/* another size, tier or version is another model: no pack entry */
	static const char *const others[] = {
	    "gpt-5.5-mini",    "claude-opus-4-9",      "claude-code-opus-4.8",
	    "gpt-5.3",         "gpt-5-chat-latest",    "o3-mini",
	    "kimi-k2",         "grok-4-fast",          "gpt-6",
	    "claude-sonnet-6", "gemini-3-pro-preview", "qwen3.5-plus-max",
	};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		const struct baseline_model *m = NULL;
		cr_expect_eq(baseline_resolve(p, others[i], &m, NULL, 0), 0, "'%s' resolved to %s",
		             others[i], m ? m->name : "(ambiguous)");
	}
	baseline_free(p);
}

Test(baseline, todays_reasoning_models_are_sent_what_they_accept)
{
	struct baseline_pack *p = bundled();
	struct request_rules r;
	static const char *const openai_reasoners[] = {"gpt-5",   "gpt-5-mini", "gpt-5-nano",
	                                               "gpt-5.1", "gpt-5.2",    "gpt-5.5",
	                                               "gpt-5.6", "o4-mini"};
	for (size_t i = 0; i < sizeof openai_reasoners / sizeof openai_reasoners[0]; i++) {
		const struct baseline_model *m = baseline_find(p, openai_reasoners[i]);
		cr_assert_not_null(m, "%s", openai_reasoners[i]);
		baseline_request_rules(m, &r);
		cr_expect(r.max_completion_tokens, "%s takes max_completion_tokens", m->name);
		cr_expect(r.no_temperature, "%s is never sent a temperature", m->name);
		cr_expect_str_eq(m->tokenizer, "o200k_base");
	}
	baseline_request_rules(baseline_find(p, "gpt-5"), &r);
	cr_expect(r.no_stop && r.no_logprobs, "GPT-5 refuses stop and logprobs");
	const struct baseline_model *opus = baseline_find(p, "claude-opus-4-7");
	cr_assert_not_null(opus);
	baseline_request_rules(opus, &r);
	cr_expect(r.no_temperature, "Opus 4.7 refuses temperature");
	baseline_request_rules(baseline_find(p, "claude-sonnet-5"), &r);
	cr_expect(r.no_temperature, "Sonnet 5 refuses a non-default temperature");
	const struct baseline_model *haiku = baseline_find(p, "claude-haiku-4-5");
	cr_assert_not_null(haiku);
	baseline_request_rules(haiku, &r);
	cr_expect(!r.no_temperature && !r.max_completion_tokens);
	cr_expect_eq(haiku->reasoning.min_budget, 1024);
	cr_expect_str_eq(baseline_find(p, "gpt-oss-120b")->tokenizer, "o200k_harmony");
	/* the older chat models are unchanged */
	baseline_request_rules(baseline_find(p, "gpt-4o"), &r);
	cr_expect(!r.max_completion_tokens && !r.no_temperature && !r.no_stop);
	baseline_free(p);
}

/* A reasoning model is asked for its least effort, with room in every limit
 * for the thinking it does there; the body carries both, on each API. */
Test(baseline, reasoning_models_think_least_within_room)
{
	struct baseline_pack *p = bundled();
	static const struct {
		const char *model, *effort;
		long reserve;
	} cases[] = {
	    {"gpt-5.5", "none", 0},          /* optional: none, low, ... */
	    {"gpt-5-mini", "minimal", 64},   /* always: minimal, low, ... */
	    {"o4-mini", "low", 256},         /* always: low, medium, high */
	    {"gpt-oss-120b", "low", 256},    /* open weights, the same words */
	    {"deepseek-reasoner", "", 1024}, /* always, and no effort to ask for */
	    {"claude-sonnet-4-5", "", 0},    /* thinks only when asked to */
	    {"gpt-4o", "", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct baseline_model *m = baseline_find(p, cases[i].model);
		cr_assert_not_null(m, "%s", cases[i].model);
		struct request_rules r;
		baseline_request_rules(m, &r);
		cr_expect_str_eq(r.effort, cases[i].effort, "%s", m->name);
		cr_expect_eq(r.reserve, cases[i].reserve, "%s", m->name);
		cr_expect_eq(adapter_max_tokens(API_OPENAI, 10, &r), 10 + cases[i].reserve, "%s",
		             m->name);
	}
	struct request_rules r;
	baseline_request_rules(baseline_find(p, "gpt-5-mini"), &r);
	struct probe_message msg = {"user", "hi"};
	struct probe_call call = {.model = "gpt-5-mini",
	                          .messages = &msg,
	                          .n_messages = 1,
	                          .max_tokens = 10,
	                          .temperature = -1,
	                          .seed = -1,
	                          .rules = &r};
	char *body = adapter_body(API_OPENAI, &call, NULL);
	json_t *j = json_loads(body, 0, NULL);
	cr_expect_str_eq(json_string_value(json_object_get(j, "reasoning_effort")), "minimal");
	cr_expect_eq(json_integer_value(json_object_get(j, "max_completion_tokens")), 74);
	json_decref(j);
	free(body);
	body = adapter_body(API_RESPONSES, &call, NULL);
	j = json_loads(body, 0, NULL);
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(j, "reasoning"), "effort")),
	    "minimal");
	cr_expect_eq(json_integer_value(json_object_get(j, "max_output_tokens")), 74);
	cr_expect_null(json_object_get(j, "reasoning_effort"));
	json_decref(j);
	free(body);
	baseline_free(p);
}

Test(baseline, record_names_both_candidates_of_an_ambiguous_name, .init = setup, .fini = teardown)
{
	char path[128];
	snprintf(path, sizeof path, "%s/twins.json", dir);
	cr_assert_eq(test_write_file(path, "%s", naming_pack), 0);
	char *a[] = {ASSAY,
	             (char *)"baseline",
	             (char *)"record",
	             (char *)"--base-url",
	             (char *)"http://127.0.0.1:9/v1",
	             (char *)"--model",
	             (char *)"X-1.5",
	             NULL};
	char *out, *err;
	cr_expect_eq(run_capture(a, 20000, &out, &err), 2);
	cr_expect_not_null(strstr(err, "'x-1.5' or 'x-1-5'"), "%s", err);
	free(out);
	free(err);
	remove(path);
}

/* Recorded over the Responses API, a pack keeps that API's protocol apart
 * from the model's own (keyed by API), with the Responses id shape; a pack
 * of the older form (one unkeyed record) reads as the model's own API's. */
Test(baseline, protocol_is_recorded_per_api, .init = setup, .fini = teardown, .timeout = 120)
{
	static const char *const need[] = {"official", NULL};
	struct fixture w;
	fixture_start_scaled(&w, "fixtures/demo.yaml", need, "0.05");
	char rec[128];
	snprintf(rec, sizeof rec, "%s.responses.json", dir);
	char *err;
	int rc = record_api(&w, "gpt-4o", "responses", "1", rec, 60000, &err);
	fixture_stop(&w);
	cr_assert_eq(rc, 0, "%s", err);
	free(err);
	char e[256];
	struct baseline_pack *p = baseline_load(rec, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	const struct baseline_model *m = &p->models[0];
	const struct baseline_protocol *bp = baseline_protocol_for(m, API_RESPONSES);
	cr_assert_not_null(bp, "no Responses record");
	cr_expect_str_eq(baseline_id_shape_for(m, API_RESPONSES), "resp_{48 hex}");
	cr_expect(bp->usage & OBS_USAGE_OUTPUT_TOKENS_DETAILS);
	cr_expect_gt(bp->n_events, 0);
	cr_expect_eq(bp->events[0][0], 'S', "a stream opens with response.created: %s",
	             bp->events[0]);
	cr_expect_null(baseline_protocol_for(m, API_ANTHROPIC));
	baseline_free(p);
	remove(rec);

	char old[128];
	snprintf(old, sizeof old, "%s/../old-%s.json", dir, strrchr(dir, '-') + 1);
	cr_assert_eq(test_write_file(old, "{\"assay_baseline_pack\": 1, \"models\": [{\"name\": "
	                                  "\"m\", \"api\": \"anthropic\","
	                                  " \"protocol\": {\"events\": [\"MBDSLZ\"], \"usage\": "
	                                  "[\"input\"], \"ping\": true}}]}"),
	             0);
	p = baseline_load(old, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	bp = baseline_protocol_for(&p->models[0], API_ANTHROPIC);
	cr_assert_not_null(bp, "an unkeyed record is the model's own API's");
	cr_expect(bp->ping);
	cr_expect_null(baseline_protocol_for(&p->models[0], API_OPENAI));
	baseline_free(p);
	remove(old);
}
