/*
 * Hints that still count over runs (finding.over_runs): one run's
 * fingerprint test is a hint (six answers; the calibrated test errs at its
 * budget), but each run asks afresh, so serve's ledger bets on its p-value
 * in the e-process that can make a relay suspect at most. A relay whose
 * fingerprints keep falling below the recorded distribution becomes
 * suspect with substitution and stays so while the runs keep showing it; a
 * hint without over_runs (the style test's, whose answers serve pools and
 * tests again) adds nothing; an honest relay's hints, at the rate a
 * calibrated test gives them, never decide anything.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "base/util.h"
#include "scoring/ledger_test.h"

#define MINUTES5 (300LL * 1000)

/* One run with a fingerprint-like hint at raw p-value p (none when p >=
 * 1), among tests tests; over_runs as given. */
static enum verdict
fold_hint(struct ledger *l, int64_t at, double p, int over_runs, int tests, int *n_sub)
{
	struct assessment a;
	assessment_init(&a);
	a.requests = a.ok_requests = 30;
	a.strong_checks_passed = 1;
	assessment_tested(&a, tests);
	if (p < 1) {
		assessment_add(&a, CLASS_SUBSTITUTION, 1 - p, "'42' 30% of the time",
		               "2 of 2 answers '58'", "fp-number", "gpt-4o-mini", "%s",
		               "fingerprint answers unlike the claimed model's");
		assessment_limit_last(&a);
		assessment_hint_last(&a);
		a.findings[a.n_findings - 1].over_runs = over_runs;
	}
	assessment_decide(&a);
	ledger_fold(l, "relay", "gpt-4o", at, &a, NULL);
	enum verdict v = a.verdict;
	*n_sub = 0;
	for (size_t i = 0; i < a.n_findings; i++)
		*n_sub += a.findings[i].cls == CLASS_SUBSTITUTION && !a.findings[i].hint;
	assessment_release(&a);
	return v;
}

Test(ledger_over_runs, repeated_fingerprint_hints_make_suspect_and_hold)
{
	struct ledger *l = ledger_new(24 * 3600LL * 1000);
	long first = -1, flips = 0;
	enum verdict last = VERDICT_GENUINE;
	/* a relay whose fingerprint test falls to p = 0.0005 in every third
	 * run (a share of requests from another model) */
	for (long t = 0; t < 288; t++) {
		int n_sub;
		enum verdict v = fold_hint(l, t * MINUTES5, t % 3 == 0 ? 0.0005 : 1, 1, 19, &n_sub);
		cr_expect_neq(v, VERDICT_MISBEHAVING, "run %ld: answers alone never convict", t);
		if (v == VERDICT_SUSPECT) {
			cr_expect_eq(n_sub, 1, "run %ld: the suspect verdict is substitution's", t);
			if (first < 0)
				first = t;
		}
		if (t > 0 && v != last)
			flips++;
		last = v;
	}
	cr_expect_geq(first, 0, "never suspect within a day");
	cr_expect_lt(first, 288, "suspect within a day");
	cr_expect_eq(flips, 1, "once suspect, it holds (%ld changes)", flips);
	int level;
	ledger_evalue(l, "relay", "gpt-4o", CLASS_SUBSTITUTION, &level);
	cr_expect_eq(level, VERDICT_SUSPECT);
	ledger_free(l);
}

Test(ledger_over_runs, a_hint_without_over_runs_adds_nothing)
{
	struct ledger *l = ledger_new(24 * 3600LL * 1000);
	for (long t = 0; t < 288; t++) {
		int n_sub;
		cr_expect_eq(fold_hint(l, t * MINUTES5, 0.0005, 0, 19, &n_sub), VERDICT_GENUINE,
		             "run %ld", t);
	}
	int level;
	double e = ledger_evalue(l, "relay", "gpt-4o", CLASS_SUBSTITUTION, &level);
	cr_expect_eq(level, VERDICT_GENUINE);
	cr_expect_lt(e, 1.01, "the style-like hint bet nothing: e = %g", e);
	ledger_free(l);
}

Test(ledger_over_runs, honest_fingerprint_hints_decide_nothing)
{
	/* 20 honest relays for 30 days of 5-minute runs: each run's raw
	 * fingerprint p-value uniform (the worst a calibrated test allows),
	 * reported as a hint where p <= 0.05, as the detector does */
	uint64_t state = 0x0e11;
	for (int r = 0; r < 20; r++) {
		struct ledger *l = ledger_new(24 * 3600LL * 1000);
		for (long t = 0; t < 30 * 288; t++) {
			double p = (double)(splitmix64(&state) >> 11) * 0x1.0p-53;
			int n_sub;
			enum verdict v =
			    fold_hint(l, t * MINUTES5, p <= 0.05 ? p : 1, 1, 19, &n_sub);
			cr_assert_eq(v, VERDICT_GENUINE, "relay %d, run %ld: p = %g", r, t, p);
		}
		ledger_free(l);
	}
}
