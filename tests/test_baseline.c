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
