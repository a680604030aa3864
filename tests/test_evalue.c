/*
 * evalue: the anytime-valid statistics of serve's ledger. The calibrator is
 * a valid one; honest relays monitored for 10,000 simulated runs are ever
 * called misbehaving (or suspect) no more often than the budget allows,
 * where the fixed-sample rule it replaced almost always is; a dilution is
 * caught, and the verdict does not flap; audits resampled through the
 * ledger (assay-eval --serve-days) decide as their findings say. Pure
 * simulation (bench/monitor_sim.h), deterministic seeds, no clock.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "bench/monitor_sim.h"
#include "scoring/evalue.h"
#include "scoring/verdict.h"

#define HONEST_SEQUENCES 300
#define RUNS 10000

Test(evalue, the_calibrator_integrates_to_at_most_one)
{
	/* g decreases and its integral over [0,1] is at most 1: E[g(p)] <= 1 for
	 * any super-uniform p (a step function: exact on a fine grid of steps) */
	double integral = 0, prev = INFINITY;
	const int n = 2000000;
	for (int i = 0; i < n; i++) {
		double p = (i + 1.0) / n, g = evalue_from_p(p);
		cr_assert_leq(g, prev, "decreasing at %g", p);
		prev = g;
		integral += g / n;
	}
	/* the grid puts the 1e-6 step's mass on [0, 1e-6]: add what it misses */
	cr_expect_leq(integral, 1.0 + 1e-9, "%g", integral);
	cr_expect_gt(integral, 0.8, "%g", integral);
	cr_expect_eq(evalue_from_p(0.2), 0);
	cr_expect_gt(evalue_from_p(1e-7), 1e5);
}

Test(evalue, a_clean_history_costs_little_and_evidence_grows)
{
	struct eprocess e;
	eprocess_init(&e);
	cr_expect_float_eq(eprocess_value(&e), 1.0, 1e-12);
	for (int i = 0; i < RUNS; i++)
		eprocess_update(&e, 0);
	double after = eprocess_value(&e);
	cr_expect_gt(after, 1e-3, "10,000 clean runs leave %g", after);
	for (int i = 0; i < 40; i++)
		eprocess_update(&e, evalue_from_p(0.01));
	cr_expect_gt(eprocess_value(&e), 1e6, "%g", eprocess_value(&e));
	/* a product of likelihood ratios: a fired run at q = 0.3 against 0.05 */
	cr_expect_float_eq(evalue_bernoulli(1, 0.05, 0.3), 6.0, 1e-12);
	cr_expect_float_eq(evalue_bernoulli(0, 0.05, 0.3), 0.7 / 0.95, 1e-12);
	cr_expect_float_eq(evalue_threshold(0.001, 8), 8000, 1e-9);
}

Test(evalue, ebh_decides_the_strong_ones)
{
	double e[] = {5000, 30, 1, 0.2, 2500};
	int d[5];
	/* k = 5, alpha = 0.01: e_(j) >= 500 / j: 5000 (j=1), 2500 (j=2) */
	cr_expect_eq(evalue_ebh(e, 5, 0.01, d), 2);
	cr_expect(d[0] && d[4] && !d[1] && !d[2] && !d[3]);
}

/* The largest count c with P(Binomial(n, p) >= c) above 0.001: more than
 * that many false decisions would refute the budget p. */
static long
binomial_ceiling(long n, double p)
{
	double mean = n * p, sd = sqrt(n * p * (1 - p));
	return (long)ceil(mean + 3.1 * sd + 1);
}

Test(evalue, honest_relays_are_ever_accused_within_the_budget)
{
	struct sim_relay honest = {.token_checks = 8};
	long mis = 0, sus = 0;
	for (int s = 0; s < HONEST_SEQUENCES; s++) {
		struct sim_outcome o;
		sim_monitor_fast(&honest, 1000 + (uint64_t)s, RUNS, 0, &o);
		mis += o.first_misbehaving >= 0;
		sus += o.first_suspect >= 0;
	}
	cr_log_info("honest, %d runs: ever misbehaving %ld of %d, ever suspect %ld of %d", RUNS,
	            mis, HONEST_SEQUENCES, sus, HONEST_SEQUENCES);
	cr_expect_leq(mis, binomial_ceiling(HONEST_SEQUENCES, FP_BUDGET_MISBEHAVING),
	              "ever misbehaving %ld of %d", mis, HONEST_SEQUENCES);
	cr_expect_leq(sus, binomial_ceiling(HONEST_SEQUENCES, FP_BUDGET_SUSPECT),
	              "ever suspect %ld of %d", sus, HONEST_SEQUENCES);
}

Test(evalue, the_fixed_sample_rule_it_replaced_fails_the_budget)
{
	/* the same honest runs, tested again after every run (24 h windows of
	 * 5-minute runs): the check above can fail, and this is what it catches */
	long mis = 0;
	const int n = 100;
	for (int s = 0; s < n; s++) {
		struct sim_outcome o;
		sim_monitor_fixed_sample(1000 + (uint64_t)s, RUNS, 288, &o);
		mis += o.first_misbehaving >= 0;
	}
	cr_expect_gt(mis, binomial_ceiling(n, FP_BUDGET_MISBEHAVING), "%ld of %d", mis, n);
}

Test(evalue, the_ledger_itself_keeps_honest_relays_genuine_for_thirty_days)
{
	/* 30 days of 5-minute runs through ledger_fold, ten relays */
	struct sim_relay honest = {.token_checks = 8};
	for (int s = 0; s < 10; s++) {
		struct sim_outcome o;
		sim_monitor_ledger(&honest, 77 + (uint64_t)s, 30 * 288, 300000, &o);
		cr_expect_eq(o.first_misbehaving, -1, "seed %d misbehaving at run %ld", s,
		             o.first_misbehaving);
		cr_expect_eq(o.first_suspect, -1, "seed %d suspect at run %ld", s, o.first_suspect);
		cr_expect_eq(o.flips, 0, "seed %d: %ld flips", s, o.flips);
	}
}

Test(evalue, dilution_is_caught_and_the_verdict_does_not_flap)
{
	/* 20% of requests from a model with another tokenizer, 8 counted
	 * requests a run: misbehaving within a few runs, then it stays */
	struct sim_relay other = {.fraction = 0.2, .other_tokenizer = 1, .token_checks = 8};
	struct sim_relay same = {
	    .fraction = 0.3, .token_checks = 8, .answer_checks = 4, .answer_power = 0.5};
	for (int s = 0; s < 10; s++) {
		struct sim_outcome o;
		sim_monitor_ledger(&other, 500 + (uint64_t)s, 288, 300000, &o);
		cr_expect(o.first_misbehaving >= 0 && o.first_misbehaving < 5, "seed %d: %ld", s,
		          o.first_misbehaving);
		cr_expect_leq(o.flips, 2, "seed %d: %ld flips", s, o.flips);
		/* the same tokenizer: answers alone, at most suspect, and stably */
		sim_monitor_ledger(&same, 900 + (uint64_t)s, 288, 300000, &o);
		cr_expect(o.first_suspect >= 0 && o.first_suspect < 288, "seed %d: %ld", s,
		          o.first_suspect);
		cr_expect_eq(o.first_misbehaving, -1);
		cr_expect_leq(o.flips, 1, "seed %d: %ld flips", s, o.flips);
	}
}

/* assay-eval --serve-days: real audits resampled through the ledger. Clean
 * audits never accuse; audits whose fingerprint hint (over_runs) falls low
 * in one run of three make it suspect with substitution within a day, and
 * the verdict changes once; a run's convicting counts decide at once. */
Test(evalue, resampled_audits_through_the_ledger)
{
	struct assessment clean, hinted, counts;
	assessment_init(&clean);
	clean.requests = clean.ok_requests = 30;
	clean.strong_checks_passed = 1;
	assessment_tested(&clean, 19);
	assessment_decide(&clean);
	assessment_init(&hinted);
	hinted.requests = hinted.ok_requests = 30;
	hinted.strong_checks_passed = 1;
	assessment_tested(&hinted, 19);
	assessment_add(&hinted, CLASS_SUBSTITUTION, 1 - 0.0005, "e", "o", "fp-number", NULL, "%s",
	               "one-word answers unlike the claimed model's");
	assessment_limit_last(&hinted);
	assessment_hint_last(&hinted);
	hinted.findings[0].over_runs = 1;
	assessment_decide(&hinted);
	assessment_init(&counts);
	counts.requests = counts.ok_requests = 30;
	assessment_tested(&counts, 19);
	assessment_add(&counts, CLASS_SUBSTITUTION, 1 - 1e-9, "e", "o", "tokfp-short", NULL, "%s",
	               "another tokenizer's counts");
	assessment_decide(&counts);

	const struct assessment *only_clean[] = {&clean};
	const struct assessment *mix[] = {&hinted, &clean, &clean};
	const struct assessment *swapped[] = {&counts};
	struct sim_outcome o;
	for (uint64_t s = 0; s < 10; s++) {
		sim_serve_resampled(only_clean, 1, NULL, s, 2 * 288, 300 * 1000, &o);
		cr_expect_eq(o.first_suspect, -1, "a clean relay accused at run %ld",
		             o.first_suspect);
		sim_serve_resampled(mix, 3, "substitution", s, 288, 300 * 1000, &o);
		cr_expect_geq(o.first_suspect, 0, "seed %lu: never suspect in a day",
		              (unsigned long)s);
		cr_expect_eq(o.first_misbehaving, -1, "answers alone never convict");
		cr_expect_leq(o.flips, 1, "seed %lu: %ld verdict changes", (unsigned long)s,
		              o.flips);
		sim_serve_resampled(swapped, 1, "substitution", s, 10, 300 * 1000, &o);
		cr_expect_eq(o.first_misbehaving, 0, "convicting counts decide at once");
	}
	assessment_release(&clean);
	assessment_release(&hinted);
	assessment_release(&counts);
}

/* A clean history kept as its length (eprocess_clean) is the e-process
 * the updates made, and bets the same next. */
Test(evalue, a_clean_history_is_its_length)
{
	struct eprocess a, b;
	eprocess_init(&a);
	for (int i = 0; i < 1000; i++)
		eprocess_update(&a, 0);
	eprocess_clean(&b, 1000);
	cr_expect_eq(b.updates, 1000);
	double va = eprocess_value(&a), vb = eprocess_value(&b);
	cr_expect(fabs(va - vb) <= 1e-9 * va, "%.17g %.17g", va, vb);
	cr_expect_eq(eprocess_next_bet(&a), eprocess_next_bet(&b));
	eprocess_update(&a, 1015);
	eprocess_update(&b, 1015);
	cr_expect(fabs(eprocess_value(&a) - eprocess_value(&b)) <= 1e-9 * eprocess_value(&a));
}
