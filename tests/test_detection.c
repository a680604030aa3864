/*
 * Detection against the fixture world: every misbehaving relay of
 * tests/data/detect/world.yaml is reported with its class by a default
 * audit, and the honest ones come out genuine. The expected classes are data
 * (tests/data/detect/truth.yaml), shared with `make eval`; rows marked
 * eval_only are measured there only (see the truth file).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/yamltree.h"
#include "scoring/baseline.h"
#include "scoring/identify.h"
#include "scoring/verdict.h"
#include "tests/helpers.h"

/* the world's endpoints the truth file audits (filled in by setup) */
static const char *need[FIXTURE_ENDPOINTS_MAX + 1];

/* channel: the channel the relay claims (truth.yaml's `channel`), or NULL */
static json_t *
audit_json(const char *url, const char *model, const char *api, int deep, int long_context,
           const char *channel)
{
	char *argv[] = {
	    (char *)test_binary("assay"), (char *)"audit", (char *)"--base-url", (char *)url,
	    (char *)"--model", (char *)model, (char *)"--api", (char *)api, (char *)"--json",
	    /* the world runs at this scale: latency is judged at it */
	    (char *)"--time-scale", (char *)"0.05",
	    /* a rate-limited relay's Retry-After would hold the default 60 s */
	    (char *)"--timeout", (char *)"20", channel ? (char *)"--channel" : (char *)"--timeout",
	    channel ? (char *)channel : (char *)"20",
	    long_context ? (char *)"--long-context"
	    : deep       ? (char *)"--deep"
	                 : NULL,
	    long_context && deep ? (char *)"--deep" : NULL, NULL};
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 90000, &out, &err);
	json_t *j = json_loads(out ? out : "", 0, NULL);
	cr_assert_not_null(j, "audit of %s: exit %d, no JSON:\n%s\n%s", url, rc, out, err);
	free(out);
	free(err);
	return j;
}

static const json_t *
finding(const json_t *j, const char *class, double min_conf)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(j, "findings"), i, f)
	{
		if (strcmp(json_string_value(json_object_get(f, "class")), class) == 0 &&
		    json_number_value(json_object_get(f, "confidence")) >= min_conf)
			return f;
	}
	return NULL;
}

/* The audit's reason for not judging check, or NULL when it judged it. */
static const char *
not_judged(const json_t *j, const char *check)
{
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(j, "not_judged"), i, u)
	{
		if (strcmp(json_string_value(json_object_get(u, "check")), check) == 0)
			return json_string_value(json_object_get(u, "reason"));
	}
	return NULL;
}

static struct fixture world;
static struct ynode *truth;
static struct baseline_pack *pack;

/* One audit's JSON against the truth: honest relays genuine; the others
 * with their class, at the level one audit can reach, naming the served
 * model's tokenizer family where the truth names one. */
static void
expect_truth(json_t *j, const char *name, const char *model, const char *want,
             const struct ynode *served, int suspect_only)
{
	const char *verdict = json_string_value(json_object_get(j, "verdict"));
	const char *reason = json_string_value(json_object_get(j, "reason"));
	if (strcmp(want, "none") == 0) {
		cr_expect_str_eq(verdict, "genuine", "honest relay '%s' (%s): %s", name, model,
		                 reason);
		return;
	}
	if (suspect_only) {
		const json_t *f = finding(j, want, 0.95);
		cr_expect_not_null(f, "relay '%s' (%s): no %s finding (verdict %s: %s)", name,
		                   model, want, verdict, reason);
		/* at least suspect: the level is what one audit reaches for certain */
		cr_expect(strcmp(verdict, "suspect") == 0 || strcmp(verdict, "misbehaving") == 0,
		          "relay '%s' (%s): %s", name, model, verdict);
		return;
	}
	const json_t *f = finding(j, want, 0.99);
	if (f == NULL && strcmp(want, "stream_buffered") == 0 &&
	    not_judged(j, "stream buffering")) {
		/* this machine was too busy to time the streams, and the audit
		 * says so (tests/test_detect.c judges the rule on fixed times) */
		/* on stderr, not cr_log_warn(): Criterion fails a run that warned */
		fprintf(stderr, "[NOTE] relay '%s' (%s): stream buffering not judged: %s\n", name,
		        model, not_judged(j, "stream buffering"));
		return;
	}
	cr_expect_not_null(f, "relay '%s' (%s): no %s finding at 0.99 (verdict %s: %s)", name,
	                   model, want, verdict, reason);
	if (finding_class_is_cheat(want))
		cr_expect_str_eq(verdict, "misbehaving", "relay '%s' (%s)", name, model);
	else /* availability and the key's facts accuse nobody */
		cr_expect(strcmp(verdict, "misbehaving") != 0 && strcmp(verdict, "suspect") != 0,
		          "relay '%s' (%s): %s for a fact that is no cheat", name, model, verdict);
	if (f != NULL && served != NULL) {
		const char *got = json_string_value(json_object_get(f, "served_model"));
		const struct baseline_model *g = got ? baseline_find(pack, got) : NULL;
		const struct baseline_model *w = baseline_find(pack, served->scalar);
		cr_expect(g != NULL && w != NULL && g->tokenizer && w->tokenizer &&
		              strcmp(g->tokenizer, w->tokenizer) == 0,
		          "relay '%s' (%s): served model %s, want %s's family", name, model,
		          got ? got : "(none)", served->scalar);
	}
}

static void
setup(void)
{
	char err[256];
	truth = ytree_load_file("tests/data/detect/truth.yaml", err, sizeof err);
	cr_assert_not_null(truth, "%s", err);
	pack = baseline_load_default(err, sizeof err);
	cr_assert_not_null(pack, "%s", err);
	/* every endpoint a row audits: fixture_url() knows only what was read */
	const struct ynode *relays = ytree_get(truth, "relays");
	size_t n = 0;
	for (size_t i = 0; i < relays->n && n < FIXTURE_ENDPOINTS_MAX; i++) {
		const struct ynode *ep = ytree_get(relays->items[i], "endpoint");
		const char *name = ep ? ep->scalar : relays->keys[i];
		size_t k = 0;
		while (k < n && strcmp(need[k], name) != 0)
			k++;
		if (k == n)
			need[n++] = name;
	}
	cr_assert_lt(n, FIXTURE_ENDPOINTS_MAX, "more endpoints than the harness keeps");
	need[n] = NULL;
	fixture_start_scaled(&world, "tests/data/detect/world.yaml", need, "0.05");
}

static void
teardown(void)
{
	ytree_free(truth);
	baseline_free(pack);
	cr_expect_eq(fixture_stop(&world), 0);
}

Test(detection, every_relay_gets_its_class, .init = setup, .fini = teardown, .timeout = 300)
{
	/* read the remaining endpoints: every relay of the truth file */
	const struct ynode *relays = ytree_get(truth, "relays");
	for (size_t i = 0; i < relays->n; i++) {
		const char *name = relays->keys[i];
		const struct ynode *t = relays->items[i];
		const struct ynode *eval_only = ytree_get(t, "eval_only");
		if (eval_only != NULL && strcmp(eval_only->scalar, "true") == 0)
			continue; /* measured by make eval; one audit does not catch it yet */
		const char *want = ytree_get(t, "class")->scalar;
		const struct ynode *served = ytree_get(t, "served");
		const struct ynode *audits = ytree_get(t, "audits");
		const struct ynode *deep = ytree_get(t, "deep");
		const struct ynode *lc = ytree_get(t, "long_context");
		const struct ynode *level = ytree_get(t, "level");
		int suspect_only = level != NULL && strcmp(level->scalar, "suspect") == 0;
		int n = audits ? atoi(audits->scalar) : 1;
		/* a share-of-requests cheat may pass one audit by luck */
		const struct ynode *tn = ytree_get(t, "test_tries");
		int tries = tn ? atoi(tn->scalar) : 1;
		const struct ynode *ep = ytree_get(t, "endpoint");
		const char *url = fixture_url(&world, ep ? ep->scalar : name);
		cr_assert_not_null(url, "the world has no relay '%s'", ep ? ep->scalar : name);
		const struct ynode *models = ytree_get(t, "models");
		const struct ynode *apis = ytree_get(t, "apis");
		size_t nm = models != NULL && models->kind == YNODE_SEQ ? models->n : 1;
		size_t na = apis != NULL && apis->kind == YNODE_SEQ ? apis->n : 1;
		for (size_t mm = 0; mm < nm * na; mm++) {
			size_t mi = mm / na;
			const char *model =
			    nm > 1 || models != NULL ? models->items[mi]->scalar : "gpt-4o";
			/* a model no pack knows goes over its name's API, as audit
			 * picks it */
			const struct baseline_model *bm = baseline_find(pack, model);
			const char *api = apis != NULL ? apis->items[mm % na]->scalar
			                  : bm != NULL ? bm->api
			                               : api_name(model_default_api(model));
			json_t *j = NULL;
			for (int tr = 0; tr < tries; tr++) {
				for (int k = 0; k < n; k++) {
					json_decref(j);
					const struct ynode *ch = ytree_get(t, "channel");
					j = audit_json(
					    url, model, api,
					    deep != NULL && strcmp(deep->scalar, "true") == 0,
					    lc != NULL && strcmp(lc->scalar, "true") == 0,
					    ch ? ch->scalar : NULL);
				}
				if (finding(j, want, 0.99) != NULL)
					break;
				if (tr + 1 < tries)
					fprintf(stderr,
					        "[NOTE] relay '%s' (%s): no %s in audit %d of %d\n",
					        name, model, want, tr + 1, tries);
			}
			expect_truth(j, name, model, want, served, suspect_only);
			json_decref(j);
		}
	}
}

/* What the Responses API cannot be caught at: the official endpoint and an
 * honest relay, audited over it, show no cheating (genuine, or inconclusive
 * where a check has no Responses record), for every OpenAI model. */
Test(detection, honest_endpoints_over_responses_are_not_accused, .init = setup, .fini = teardown,
     .timeout = 300)
{
	static const char *const endpoints[] = {"official", "honest"};
	static const char *const models[] = {"gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo"};
	for (size_t e = 0; e < sizeof endpoints / sizeof endpoints[0]; e++)
		for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
			json_t *j = audit_json(fixture_url(&world, endpoints[e]), models[m],
			                       "responses", 0, 0, NULL);
			const char *verdict = json_string_value(json_object_get(j, "verdict"));
			char *dump = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
			cr_expect(verdict != NULL && (strcmp(verdict, "genuine") == 0 ||
			                              strcmp(verdict, "inconclusive") == 0),
			          "%s over responses, %s: %s (%s): %s", endpoints[e], models[m],
			          verdict, json_string_value(json_object_get(j, "reason")), dump);
			cr_expect_eq(json_integer_value(json_object_get(j, "ok_requests")),
			             json_integer_value(json_object_get(j, "requests")),
			             "%s over responses, %s: requests failed", endpoints[e],
			             models[m]);
			cr_expect_gt(json_integer_value(json_object_get(j, "tokens_spent")), 0);
			free(dump);
			json_decref(j);
		}
}

/* Over the Responses API the cheating relays are caught as over Chat
 * Completions: each with its class of truth.yaml, from one default audit. */
Test(detection, cheating_relays_over_responses_get_their_class, .init = setup, .fini = teardown,
     .timeout = 300)
{
	static const char *const names[] = {
	    "swap-qwen",      "swap-disguised", "inflate-completion",
	    "inflate-prompt", "injector",       "fake-streamer",
	    "capper",         "stripper"};
	const struct ynode *relays = ytree_get(truth, "relays");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct ynode *t = ytree_get(relays, names[i]);
		cr_assert_not_null(t, "truth.yaml has no relay '%s'", names[i]);
		json_t *j =
		    audit_json(fixture_url(&world, names[i]), "gpt-4o", "responses", 0, 0, NULL);
		expect_truth(j, names[i], "gpt-4o", ytree_get(t, "class")->scalar,
		             ytree_get(t, "served"), 0);
		json_decref(j);
	}
}
