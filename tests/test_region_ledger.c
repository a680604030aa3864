/*
 * The hub's pooled ledger (scoring/region_ledger.h): several regions' runs
 * of one epoch are averaged, not multiplied, so five regions repeating the
 * same thin evidence convict no faster than one; a decisive finding from
 * one region of three convicts within a few epochs and says which region
 * saw it; honest relays under the worst dependence between regions (every
 * region the same p-value each epoch) are never accused; late runs are not
 * counted; the state survives a restart; the cursor never passes a run
 * still waiting.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "scoring/evalue.h"
#include "scoring/region_ledger.h"
#include "scoring/verdict.h"

#define EPOCH 60000LL
#define SUB CLASS_SUBSTITUTION

static const char *const regions[5] = {"eu", "us", "ap", "sa", "af"};

/* A run of region at epoch k (its start mid-epoch) betting e on
 * substitution, seen at the suspect level when e is at least 10. */
static struct region_ledger_run
run_at(int64_t id, const char *region, const char *relay, int64_t k, double e)
{
	struct region_ledger_run r = {.id = id,
	                              .region = region,
	                              .relay = relay,
	                              .model = "gpt-4o",
	                              .started_ms = k * EPOCH + EPOCH / 2,
	                              .counts = 1};
	r.conv[SUB] = e;
	if (e >= 1000) {
		r.misbehaving = 1u << SUB;
		r.shown[r.n_shown++] = (struct ledger_shown){.cls = SUB,
		                                             .convicts = 1,
		                                             .confidence = 0.99999,
		                                             .p_adjusted = 1e-6,
		                                             .at_ms = r.started_ms,
		                                             .expected = "o200k_base counts",
		                                             .observed = "qwen counts",
		                                             .summary = "another tokenizer",
		                                             .probe = "chat"};
	} else if (e >= 10) {
		r.suspect = 1u << SUB;
	}
	return r;
}

static int
level(const struct region_ledger *rl, const char *relay)
{
	return region_ledger_level(rl, relay, "gpt-4o");
}

Test(region_ledger, five_regions_with_the_same_thin_evidence_convict_no_faster_than_one)
{
	struct region_ledger *pooled = region_ledger_new(EPOCH, 0, 0);
	struct region_ledger *one = region_ledger_new(EPOCH, 0, 0);
	/* what multiplying every region's run would do: each run its own epoch */
	struct ledger_evidence product = {.cls = SUB, .level = VERDICT_GENUINE};
	eprocess_init(&product.conv);
	eprocess_init(&product.lim);
	int64_t id = 1;
	for (int64_t k = 0; k < 4; k++) {
		for (int r = 0; r < 5; r++) {
			struct region_ledger_run run = run_at(id++, regions[r], "r", k, 15);
			cr_assert_eq(region_ledger_add(pooled, &run), 1);
			if (r == 0)
				cr_assert_eq(region_ledger_add(one, &run), 1);
			ledger_evidence_step(&product, 1, 1, 15, 0, run.started_ms, 1);
		}
		region_ledger_close(pooled, (k + 2) * EPOCH, NULL, NULL);
		region_ledger_close(one, (k + 2) * EPOCH, NULL, NULL);
	}
	cr_expect_eq(product.level, VERDICT_MISBEHAVING,
	             "the product of 20 thin runs convicts (the test could fail)");
	cr_expect_neq(level(pooled, "r"), VERDICT_MISBEHAVING,
	              "four epochs of thin evidence, however many regions, do not convict");
	json_t *vp = region_ledger_view(pooled, "r", "gpt-4o", 5 * EPOCH);
	json_t *vo = region_ledger_view(one, "r", "gpt-4o", 5 * EPOCH);
	cr_assert_not_null(vp);
	cr_assert_not_null(vo);
	double ep = json_number_value(
	    json_object_get(json_array_get(json_object_get(vp, "classes"), 0), "evalue"));
	double eo = json_number_value(
	    json_object_get(json_array_get(json_object_get(vo, "classes"), 0), "evalue"));
	cr_expect(ep > 1 && ep == eo, "pooled e %g, one region's %g: the same", ep, eo);
	cr_expect_eq(json_integer_value(json_object_get(vp, "epochs")), 4);
	cr_expect_eq(json_array_size(json_object_get(vp, "regions")), 5);
	json_decref(vp);
	json_decref(vo);
	region_ledger_free(pooled);
	region_ledger_free(one);
}

Test(region_ledger, a_relay_cheating_toward_one_region_is_caught_and_named)
{
	/* at a hub's share of the budgets (half: its own runs' ledger has the
	 * other) */
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0.5);
	int64_t id = 1;
	int64_t k;
	for (k = 0; k < 6 && level(rl, "r") != VERDICT_MISBEHAVING; k++) {
		for (int r = 0; r < 3; r++) {
			struct region_ledger_run run =
			    run_at(id++, regions[r], "r", k, r == 0 ? evalue_from_p(1e-7) : 0);
			cr_assert_eq(region_ledger_add(rl, &run), 1);
		}
		cr_expect_eq(region_ledger_close(rl, (k + 1) * EPOCH - 1, NULL, NULL), 0,
		             "an epoch stays open until its end");
		/* every region heard: the epoch closes at its end, not its deadline */
		cr_expect_eq(region_ledger_close(rl, (k + 1) * EPOCH, NULL, NULL), 1);
	}
	cr_expect_eq(level(rl, "r"), VERDICT_MISBEHAVING, "eu's decisive findings, pooled");
	cr_expect_leq(k, 3, "within three epochs (took %lld)", (long long)k);
	json_t *v = region_ledger_view(rl, "r", "gpt-4o", k * EPOCH);
	json_t *c = json_array_get(json_object_get(v, "classes"), 0);
	cr_assert_not_null(c);
	cr_expect_str_eq(json_string_value(json_object_get(c, "class")), "substitution");
	cr_expect_str_eq(json_string_value(json_object_get(c, "level")), "misbehaving");
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(c, "finding"), "region")), "eu");
	json_t *regs = json_object_get(c, "regions");
	cr_assert_eq(json_array_size(regs), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *r = json_array_get(regs, i);
		const char *name = json_string_value(json_object_get(r, "region"));
		long long seen = json_integer_value(json_object_get(r, "seen"));
		cr_expect(strcmp(name, "eu") == 0 ? seen == k : seen == 0, "%s saw it %lld times",
		          name, seen);
	}
	json_t *f = region_ledger_findings(rl, "r", "gpt-4o");
	cr_assert_eq(json_array_size(f), 1);
	const char *summary = json_string_value(
	    json_object_get(json_object_get(json_array_get(f, 0), "evidence"), "summary"));
	cr_expect(strstr(summary, "seen by eu ") != NULL, "%s", summary);
	cr_expect(json_number_value(json_object_get(json_array_get(f, 0), "p_adjusted")) <=
	          FP_BUDGET_MISBEHAVING);
	cr_expect_eq(json_number_value(json_object_get(c, "decides")),
	             2 * evalue_threshold(FP_BUDGET_MISBEHAVING, class_cheat_count()),
	             "half the budget: twice the evidence");
	json_decref(f);
	json_decref(v);
	region_ledger_free(rl);
}

/* A uniform p-value from a small LCG (reproducible). */
static double
uniform(unsigned long long *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
}

Test(region_ledger, honest_relays_under_the_worst_dependence_are_never_accused, .timeout = 120)
{
	/* every region the same p-value each epoch (one common cause): 100
	 * honest relays x 400 epochs x 3 regions */
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0);
	unsigned long long seed = 20261202;
	int64_t id = 1;
	char names[100][16];
	for (int k = 0; k < 400; k++) {
		for (int i = 0; i < 100; i++) {
			snprintf(names[i], sizeof names[i], "relay-%d", i);
			double p = uniform(&seed);
			for (int r = 0; r < 3; r++) {
				struct region_ledger_run run =
				    run_at(id++, regions[r], names[i], k, 0);
				run.conv[SUB] = evalue_from_p(p);
				run.lim[SUB] = evalue_from_p(p);
				if (p <= 0.05)
					run.suspect = 1u << SUB;
				region_ledger_add(rl, &run);
			}
		}
		region_ledger_close(rl, (k + 2) * EPOCH, NULL, NULL);
	}
	int misbehaving = 0, suspect = 0;
	for (int i = 0; i < 100; i++) {
		misbehaving += level(rl, names[i]) == VERDICT_MISBEHAVING;
		suspect += level(rl, names[i]) == VERDICT_SUSPECT;
	}
	cr_expect_eq(misbehaving, 0, "%d of 100 honest relays misbehaving", misbehaving);
	cr_expect_leq(suspect, 5, "%d of 100 honest relays suspect (budget 5%%)", suspect);
	region_ledger_free(rl);
}

Test(region_ledger, a_run_after_its_epoch_closed_is_not_counted)
{
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0);
	struct region_ledger_run a = run_at(1, "eu", "r", 0, 151015);
	cr_assert_eq(region_ledger_add(rl, &a), 1);
	cr_expect_eq(region_ledger_close(rl, EPOCH + 1, NULL, NULL), 1, "eu is every region heard");
	struct region_ledger_run late = run_at(2, "us", "r", 0, 151015);
	cr_expect_eq(region_ledger_add(rl, &late), 0);
	cr_expect_eq(region_ledger_late(rl), 1);
	/* the deadline: one epoch after the end, when a region heard is missing */
	struct region_ledger_run b = run_at(3, "eu", "r", 1, 0);
	cr_assert_eq(region_ledger_add(rl, &b), 1);
	struct region_ledger_run c = run_at(4, "us", "r", 2, 0);
	cr_assert_eq(region_ledger_add(rl, &c), 1);
	cr_expect_eq(region_ledger_close(rl, 2 * EPOCH + EPOCH / 2, NULL, NULL), 0,
	             "epoch 1 waits for us until its deadline");
	cr_expect_eq(region_ledger_safe_id(rl, 4), 2, "the cursor stays below run 3");
	cr_expect_eq(region_ledger_close(rl, 3 * EPOCH, NULL, NULL), 1);
	cr_expect_eq(region_ledger_safe_id(rl, 4), 3, "below run 4, still waiting");
	region_ledger_free(rl);
}

Test(region_ledger, the_state_survives_a_restart)
{
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0);
	int64_t id = 1;
	for (int64_t k = 0; k < 2; k++)
		for (int r = 0; r < 2; r++) {
			struct region_ledger_run run =
			    run_at(id++, regions[r], "r", k, r == 0 ? 151015 : 15);
			region_ledger_add(rl, &run);
		}
	region_ledger_close(rl, 10 * EPOCH, NULL, NULL);
	char *state = region_ledger_state(rl, "r", "gpt-4o");
	cr_assert_not_null(state);
	struct region_ledger *back = region_ledger_new(EPOCH, 0, 0);
	cr_assert_eq(region_ledger_restore(back, "r", "gpt-4o", state), 0);
	cr_expect_eq(level(back, "r"), level(rl, "r"));
	cr_expect_eq(region_ledger_restore(back, "x", "gpt-4o", "{\"classes\": 3, \"regions\": ["),
	             -1);
	cr_expect_null(region_ledger_view(back, "x", "gpt-4o", 0),
	               "a state that does not read keeps nothing");
	/* a run of a closed epoch read again after the restart is skipped */
	struct region_ledger_run again = run_at(1, "eu", "r", 0, 151015);
	cr_expect_eq(region_ledger_add(back, &again), 0);
	/* the next epoch moves both alike */
	for (int r = 0; r < 2; r++) {
		struct region_ledger_run run = run_at(id++, regions[r], "r", 2, 10);
		region_ledger_add(rl, &run);
		region_ledger_add(back, &run);
	}
	region_ledger_close(rl, 10 * EPOCH, NULL, NULL);
	region_ledger_close(back, 10 * EPOCH, NULL, NULL);
	char *s1 = region_ledger_state(rl, "r", "gpt-4o"),
	     *s2 = region_ledger_state(back, "r", "gpt-4o");
	cr_expect_str_eq(s1, s2);
	free(s1);
	free(s2);
	free(state);
	region_ledger_free(rl);
	region_ledger_free(back);
}

Test(region_ledger, an_agents_infinite_evalue_is_clamped)
{
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0);
	struct region_ledger_run run = run_at(1, "eu", "r", 0, 0);
	run.conv[SUB] = 1.0 / 0.0;
	run.lim[SUB] = 0.0 / 0.0;
	region_ledger_add(rl, &run);
	region_ledger_close(rl, 10 * EPOCH, NULL, NULL);
	char *state = region_ledger_state(rl, "r", "gpt-4o");
	cr_assert_not_null(state, "the state stays JSON (finite)");
	free(state);
	region_ledger_free(rl);
}
