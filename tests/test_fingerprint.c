/*
 * One-token categorical fingerprints (scoring/detectors/fingerprint.c):
 * answers are normalised as `baseline record` counts them; the counts go
 * through a pack and back; the test stays quiet for the official model's
 * own answers at the false-positive budget over many simulated recordings
 * and audits (its calibration), finds another model's, and finds the
 * budget-relay's 30% of gpt-4o-mini in the fixture's recorded packs more
 * often than it accuses gpt-4o itself. Every simulation is seeded: the
 * figures are the same each run.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/catalog.h"
#include "scoring/baseline.h"
#include "scoring/detect.h"
#include "scoring/evalue.h"
#include "tests/helpers.h"

Test(fingerprint, answers_are_normalised_to_their_first_word)
{
	static const char *const cases[][2] = {
	    {"42", "42"},
	    {" 42.\n", "42"},
	    {"**Blue**", "blue"},
	    {"Blue. It is", "blue"},
	    {"\"K\"", "k"},
	    {"\xe3\x80\x8cK\xe3\x80\x8d", "k"},
	    {"", ""},
	    {"...", ""},
	    {"Türkis!", "türkis"},
	    {"\xe2\x80\x9cTeal\xe2\x80\x9d", "teal"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[FINGERPRINT_VALUE_MAX];
		fingerprint_normalise(cases[i][0], out, sizeof out);
		cr_expect_str_eq(out, cases[i][1], "'%s'", cases[i][0]);
	}
	/* a long word is cut whole characters at a time */
	char out[8];
	fingerprint_normalise("ééééééé", out, sizeof out);
	cr_expect_str_eq(out, "ééé");
	cr_expect(scorer_fingerprint_probe("fp-number") && !scorer_fingerprint_probe("style"));
}

/* A true answer distribution: values with weights. */
struct truth {
	const char *probe;
	const char *const *values;
	const double *weights;
	size_t n;
};

static const char *
draw_truth(const struct truth *t, uint64_t *state)
{
	double total = 0;
	for (size_t i = 0; i < t->n; i++)
		total += t->weights[i];
	double u = (double)(splitmix64(state) >> 11) / 9007199254740992.0 * total;
	for (size_t i = 0; i < t->n; i++) {
		if (u < t->weights[i])
			return t->values[i];
		u -= t->weights[i];
	}
	return t->values[t->n - 1];
}

/* The official model "alpha": three probes, a long tail of rare answers. */
static const char *const alpha_numbers[] = {"42", "37", "47", "73", "57", "27",
                                            "68", "84", "91", "13", "99", "3"};
static const double alpha_number_w[] = {30, 22, 12, 10, 8, 6, 4, 4, 2, 1, 0.5, 0.5};
static const char *const alpha_colours[] = {"blue", "green", "purple", "red", "teal", "orange"};
static const double alpha_colour_w[] = {55, 15, 10, 8, 6, 6};
static const char *const alpha_letters[] = {"k", "m", "q", "r", "j", "t", "g", "s", "b", "x"};
static const double alpha_letter_w[] = {18, 14, 12, 10, 10, 8, 8, 8, 6, 6};
/* "beta", another family */
static const char *const beta_numbers[] = {"47", "73", "42", "37", "57", "67", "23"};
static const double beta_number_w[] = {35, 20, 12, 10, 8, 8, 7};
static const char *const beta_colours[] = {"blue", "teal", "green", "purple", "crimson", "orange"};
static const double beta_colour_w[] = {35, 20, 15, 15, 8, 7};
static const char *const beta_letters[] = {"q", "k", "m", "r", "j", "t", "v", "x"};
static const double beta_letter_w[] = {18, 15, 15, 12, 10, 10, 10, 10};

static const struct truth alpha[] = {
    {"fp-number", alpha_numbers, alpha_number_w, 12},
    {"fp-colour", alpha_colours, alpha_colour_w, 6},
    {"fp-letter", alpha_letters, alpha_letter_w, 10},
};
static const struct truth beta[] = {
    {"fp-number", beta_numbers, beta_number_w, 7},
    {"fp-colour", beta_colours, beta_colour_w, 6},
    {"fp-letter", beta_letters, beta_letter_w, 8},
};

/* Record `per_probe` answers of a true model into m (as `baseline record`
 * counts them). */
static void
record_truth(struct baseline_model *m, const char *name, const struct truth *t, size_t n_probes,
             int per_probe, uint64_t *state)
{
	memset(m, 0, sizeof *m);
	m->name = (char *)name;
	m->api = (char *)"openai";
	m->answer_counts = xcalloc(n_probes, sizeof *m->answer_counts);
	m->n_answer_counts = n_probes;
	for (size_t p = 0; p < n_probes; p++) {
		struct baseline_answer_counts *c = &m->answer_counts[p];
		c->probe = (char *)t[p].probe;
		c->values = xcalloc(t[p].n, sizeof *c->values);
		c->counts = xcalloc(t[p].n, sizeof *c->counts);
		for (int i = 0; i < per_probe; i++) {
			const char *v = draw_truth(&t[p], state);
			size_t k;
			for (k = 0; k < c->n; k++)
				if (strcmp(c->values[k], v) == 0)
					break;
			if (k == c->n) {
				c->values[k] = (char *)v;
				c->n++;
			}
			c->counts[k]++;
		}
	}
}

static void
release_truth(struct baseline_model *m)
{
	for (size_t p = 0; p < m->n_answer_counts; p++) {
		free(m->answer_counts[p].values);
		free(m->answer_counts[p].counts);
	}
	free(m->answer_counts);
}

/* A pack with alpha and beta recorded (per_probe answers each). */
static struct baseline_pack *
recorded_pack(int per_probe, uint64_t *state)
{
	struct baseline_pack *pack = xcalloc(1, sizeof *pack);
	pack->name = xstrdup("sim");
	struct baseline_model m;
	record_truth(&m, "alpha", alpha, 3, per_probe, state);
	baseline_put(pack, &m);
	release_truth(&m);
	record_truth(&m, "beta", beta, 3, per_probe, state);
	baseline_put(pack, &m);
	release_truth(&m);
	return pack;
}

/* One audit's answers: per_probe from each probe of a, each answer from b
 * instead with probability mix; the p-value (and *named, the model named). */
static double
audit_p(struct scorer *s, const struct baseline_model *claimed, const struct truth *a,
        const struct truth *b, double mix, int per_probe, uint64_t *state, const char **named)
{
	struct fingerprint_answer ans[300];
	size_t n = 0;
	for (size_t p = 0; p < 3; p++)
		for (int i = 0; i < per_probe && n < 300; i++) {
			double u = (double)(splitmix64(state) >> 11) / 9007199254740992.0;
			ans[n].probe = a[p].probe;
			ans[n].value = draw_truth(u < mix ? &b[p] : &a[p], state);
			n++;
		}
	struct fingerprint_test t;
	cr_assert_eq(scorer_fingerprint_test(s, claimed, ans, n, &t), 0);
	if (named != NULL)
		*named = t.closest ? t.closest->name : NULL;
	return t.p_value;
}

Test(fingerprint, answer_counts_round_trip_and_old_packs_load)
{
	uint64_t state = 7;
	struct baseline_pack *pack = recorded_pack(50, &state);
	char dir[64], path[128];
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "fingerprint"), 0);
	snprintf(path, sizeof path, "%s/pack.json", dir);
	json_t *j = baseline_pack_to_json(pack);
	cr_assert_eq(json_dump_file(j, path, 0), 0);
	json_decref(j);
	char err[256];
	struct baseline_pack *back = baseline_load(path, err, sizeof err);
	cr_assert_not_null(back, "%s", err);
	const struct baseline_model *m0 = baseline_find(pack, "alpha");
	const struct baseline_model *m1 = baseline_find(back, "alpha");
	cr_assert_eq(m1->n_answer_counts, 3);
	for (size_t p = 0; p < 3; p++) {
		const struct baseline_answer_counts *c0 = &m0->answer_counts[p];
		const struct baseline_answer_counts *c1 = baseline_answer_counts_for(m1, c0->probe);
		cr_assert_not_null(c1);
		cr_assert_eq(c1->n, c0->n);
		long sum = 0;
		for (size_t v = 0; v < c0->n; v++) {
			cr_expect_str_eq(c1->values[v], c0->values[v]);
			cr_expect_eq(c1->counts[v], c0->counts[v]);
			sum += c1->counts[v];
		}
		cr_expect_eq(sum, 50);
	}
	baseline_free(back);
	/* a pack from before fingerprints: no counts, and the test has nothing
	 * to say */
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"assay_baseline_pack\": 1, \"models\": [{\"name\": \"old\"}]}", f);
	fclose(f);
	back = baseline_load(path, err, sizeof err);
	cr_assert_not_null(back, "%s", err);
	cr_expect_eq(back->models[0].n_answer_counts, 0);
	cr_expect_null(baseline_answer_counts_for(&back->models[0], "fp-number"));
	struct scorer *s = scorer_new(back);
	struct fingerprint_answer one = {"fp-number", "42"};
	struct fingerprint_test t;
	cr_expect_eq(scorer_fingerprint_test(s, &back->models[0], &one, 1, &t), -1);
	scorer_free(s);
	baseline_free(back);
	baseline_free(pack);
	cr_expect_eq(test_rmtree(dir), 0);
}

/*
 * Calibration: over many official recordings and, for each, many official
 * audits, the share of audits the test would make suspect stays within the
 * budget, for one audit's answers (2 a probe) and for a pool of runs (20 a
 * probe, as serve gathers). The bootstrap's own resampling of the reference
 * is what keeps a recording's chance features (a rare answer seen twice, a
 * common one seen less) from accusing the model that was recorded.
 */
Test(fingerprint, the_official_model_is_accused_at_most_at_the_budget, .timeout = 120)
{
	uint64_t state = 0x1234;
	int sizes[] = {2, 20};
	for (size_t k = 0; k < 2; k++) {
		int audits = 0, accused = 0;
		for (int rec = 0; rec < 12; rec++) {
			struct baseline_pack *pack = recorded_pack(240, &state);
			struct scorer *s = scorer_new(pack);
			const struct baseline_model *claimed = baseline_find(pack, "alpha");
			for (int i = 0; i < (k == 0 ? 40 : 15); i++) {
				audits++;
				accused += audit_p(s, claimed, alpha, alpha, 0, sizes[k], &state,
				                   NULL) <= FP_BUDGET_SUSPECT;
			}
			scorer_free(s);
			baseline_free(pack);
		}
		double rate = (double)accused / audits;
		printf("fingerprint calibration: %d answers a probe: %d of %d official audits "
		       "below %.2f (%.1f%%)\n",
		       sizes[k], accused, audits, FP_BUDGET_SUSPECT, rate * 100);
		cr_expect(rate <= FP_BUDGET_SUSPECT, "%d answers a probe: %d of %d accused",
		          sizes[k], accused, audits);
	}
}

/*
 * Serve's ledger bets on each run's fingerprint p-value (finding.over_runs,
 * through evalue_from_p): that is a test supermartingale only if, for the
 * official model, the calibrator's mean stays at most 1, which needs the
 * small p-values calibrated too, not only the 5% level. Over many
 * recordings and official audits of one run's size (2 answers a probe),
 * before the run's multiple-testing correction (which only shrinks it).
 */
Test(fingerprint, the_ledgers_bet_on_official_audits_loses_on_average, .timeout = 120)
{
	uint64_t state = 0xe5e5;
	int audits = 0, below_1pct = 0;
	double sum = 0;
	for (int rec = 0; rec < 20; rec++) {
		struct baseline_pack *pack = recorded_pack(240, &state);
		struct scorer *s = scorer_new(pack);
		const struct baseline_model *claimed = baseline_find(pack, "alpha");
		for (int i = 0; i < 60; i++) {
			double p = audit_p(s, claimed, alpha, alpha, 0, 2, &state, NULL);
			audits++;
			below_1pct += p <= 0.01;
			sum += evalue_from_p(p);
		}
		scorer_free(s);
		baseline_free(pack);
	}
	double mean = sum / audits;
	printf("fingerprint e-values: mean %.3f over %d official audits; %d at p <= 0.01\n", mean,
	       audits, below_1pct);
	cr_expect_leq(mean, 1.0, "the bet wins on the official model: mean e %.3f", mean);
	cr_expect_leq(below_1pct, audits / 50, "%d of %d official audits at p <= 0.01", below_1pct,
	              audits);
}

Test(fingerprint, another_models_answers_are_substitution, .timeout = 60)
{
	uint64_t state = 99;
	struct baseline_pack *pack = recorded_pack(240, &state);
	struct scorer *s = scorer_new(pack);
	const struct baseline_model *claimed = baseline_find(pack, "alpha");
	/* one audit's six answers from beta */
	int found = 0, named = 0;
	for (int i = 0; i < 100; i++) {
		const char *who = NULL;
		double p = audit_p(s, claimed, beta, beta, 0, 2, &state, &who);
		found += p <= FP_BUDGET_SUSPECT;
		named += who != NULL && strcmp(who, "beta") == 0;
	}
	printf("fingerprint power: beta for alpha, 6 answers: %d of 100 found, %d named\n", found,
	       named);
	cr_expect_geq(found, 30, "%d of 100", found);
	/* a pool of 60 answers: always, and named */
	const char *who = NULL;
	double p = audit_p(s, claimed, beta, beta, 0, 20, &state, &who);
	cr_expect_leq(p, 0.001);
	cr_expect_str_eq(who ? who : "", "beta");

	/* the finding: substitution, at most suspect, what was measured */
	struct fingerprint_answer ans[6] = {{"fp-number", "67"},      {"fp-number", "67"},
	                                    {"fp-colour", "crimson"}, {"fp-colour", "teal"},
	                                    {"fp-letter", "v"},       {"fp-letter", "q"}};
	struct fingerprint_test t;
	cr_assert_eq(scorer_fingerprint_test(s, claimed, ans, 6, &t), 0);
	cr_assert_leq(t.p_value, FP_BUDGET_SUSPECT);
	struct assessment a;
	assessment_init(&a);
	a.requests = a.ok_requests = 30;
	a.strong_checks_passed = 1;
	assessment_tested(&a, 1);
	scorer_add_fingerprint_finding(claimed, &t, 1, &a);
	assessment_decide(&a);
	cr_assert_eq(a.n_findings, 1);
	const struct finding *f = &a.findings[0];
	cr_expect_str_eq(f->class, "substitution");
	cr_expect(f->at_most_suspect);
	cr_expect_eq(a.verdict, VERDICT_SUSPECT, "%s", a.reason);
	cr_expect(strstr(f->summary, "2 of 2 answers") != NULL, "%s", f->summary);
	cr_expect(strstr(f->summary, "'67'") != NULL, "%s", f->summary);
	cr_expect(strstr(f->summary, "alpha answers '67' never") != NULL, "%s", f->summary);
	assessment_release(&a);

	/* the official model's own commonest answers: nothing */
	struct fingerprint_answer own[6] = {{"fp-number", "42"},   {"fp-number", "37"},
	                                    {"fp-colour", "blue"}, {"fp-colour", "blue"},
	                                    {"fp-letter", "k"},    {"fp-letter", "m"}};
	cr_assert_eq(scorer_fingerprint_test(s, claimed, own, 6, &t), 0);
	cr_expect_gt(t.p_value, FP_BUDGET_SUSPECT, "p = %g", t.p_value);
	scorer_free(s);
	baseline_free(pack);
}

/* The counts of one probe of a recorded pack, as a truth to draw from. */
static struct truth
truth_from_counts(const struct baseline_answer_counts *c, double *weights)
{
	for (size_t i = 0; i < c->n; i++)
		weights[i] = (double)c->counts[i];
	return (struct truth){c->probe, (const char *const *)c->values, weights, c->n};
}

/*
 * The demo's budget-relay: 30% of gpt-4o's answers from gpt-4o-mini, with
 * the distributions the fixture's recorded packs hold. One audit's six
 * answers find it more often than they accuse gpt-4o itself, and a pool of
 * ten runs finds it in most pools.
 */
Test(fingerprint, the_budget_relays_mix_is_found_more_often_than_the_official, .timeout = 120)
{
	struct catalog *cat;
	struct baseline_pack *pack;
	test_scoring_load(&cat, &pack);
	const struct baseline_model *full = baseline_find(pack, "gpt-4o");
	const struct baseline_model *mini = baseline_find(pack, "gpt-4o-mini");
	cr_assert(full && mini);
	struct truth tf[3], tm[3];
	double wf[3][256], wm[3][256];
	static const char *const probes[] = {"fp-number", "fp-colour", "fp-letter"};
	for (size_t p = 0; p < 3; p++) {
		const struct baseline_answer_counts *cf =
		    baseline_answer_counts_for(full, probes[p]);
		const struct baseline_answer_counts *cm =
		    baseline_answer_counts_for(mini, probes[p]);
		cr_assert(cf && cm && cf->n < 256 && cm->n < 256,
		          "the fixture packs record %s (fixtures/baselines/record.sh)", probes[p]);
		tf[p] = truth_from_counts(cf, wf[p]);
		tm[p] = truth_from_counts(cm, wm[p]);
	}
	struct scorer *s = scorer_new(pack);
	uint64_t state = 2026;
	int official = 0, relay = 0, pooled_official = 0, pooled_relay = 0;
	int relay_holm = 0, pooled_relay_holm = 0;
	/* in an audit the finding competes with the other tests (Holm): about
	 * the budget over the number of tests is what it must reach there */
	const double holm = FP_BUDGET_SUSPECT / 17;
	const int audits = 300, pools = 40;
	for (int i = 0; i < audits; i++) {
		official += audit_p(s, full, tf, tf, 0, 2, &state, NULL) <= FP_BUDGET_SUSPECT;
		double p = audit_p(s, full, tf, tm, 0.3, 2, &state, NULL);
		relay += p <= FP_BUDGET_SUSPECT;
		relay_holm += p <= holm;
	}
	for (int i = 0; i < pools; i++) {
		pooled_official +=
		    audit_p(s, full, tf, tf, 0, 20, &state, NULL) <= FP_BUDGET_SUSPECT;
		double p = audit_p(s, full, tf, tm, 0.3, 20, &state, NULL);
		pooled_relay += p <= FP_BUDGET_SUSPECT;
		pooled_relay_holm += p <= holm;
	}
	printf("fingerprint budget-relay (30%% gpt-4o-mini): one audit %d of %d found "
	       "(official %d of %d; %d at p <= %.4f); ten-run pools %d of %d (official %d of "
	       "%d; %d at p <= %.4f)\n",
	       relay, audits, official, audits, relay_holm, holm, pooled_relay, pools,
	       pooled_official, pools, pooled_relay_holm, holm);
	cr_expect_gt(relay, official, "relay %d, official %d", relay, official);
	cr_expect_leq(official, (int)(audits * FP_BUDGET_SUSPECT) + 5);
	cr_expect_gt(pooled_relay, pools / 2, "%d of %d pools", pooled_relay, pools);
	scorer_free(s);
	baseline_free(pack);
	catalog_free(cat);
}
