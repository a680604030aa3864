/*
 * Ledger: evidence across runs, as e-processes (scoring/evalue.h). One
 * violation makes a relay suspect for the window, a second one convicts;
 * repeated suspect-level findings add up; one stray sighting is a hint; an
 * honest relay's runs stay genuine; decisions hold while the window sees
 * the class, then clear.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "scoring/ledger_test.h"

#define HOUR (3600LL * 1000)

static struct assessment
run_with(const char *class, double conf)
{
	struct assessment a;
	assessment_init(&a);
	a.requests = a.ok_requests = 10;
	a.strong_checks_passed = 1;
	if (class != NULL)
		assessment_add(&a, (enum finding_class)class_from_name(class), conf, "e", "o", "p",
		               NULL, "%s", "seen");
	assessment_decide(&a);
	return a;
}

static enum verdict
fold(struct ledger *l, int64_t at, const char *class, double conf)
{
	struct assessment a = run_with(class, conf);
	ledger_fold(l, "r", "m", at, &a, NULL);
	enum verdict v = a.verdict;
	assessment_release(&a);
	return v;
}

Test(ledger, honest_runs_stay_genuine)
{
	struct ledger *l = ledger_new(24 * HOUR);
	for (int i = 0; i < 100; i++)
		cr_expect_eq(fold(l, i * 60000LL, NULL, 0), VERDICT_GENUINE);
	cr_expect_eq(ledger_runs(l, "r", "m"), 100);
	ledger_free(l);
}

Test(ledger, one_violation_is_a_hint_two_convict_until_the_window_clears)
{
	struct ledger *l = ledger_new(24 * HOUR);
	struct assessment a = run_with("substitution", CONFIDENCE_VIOLATION);
	ledger_fold(l, "r", "m", HOUR, &a, NULL);
	cr_expect_eq(a.verdict, VERDICT_GENUINE,
	             "p = 1e-5 once is not enough over many runs (m / 0.001 = 8000 needed)");
	cr_assert_eq(a.n_findings, 1);
	cr_expect(a.findings[0].hint);
	assessment_release(&a);
	cr_expect_eq(fold(l, 2 * HOUR, NULL, 0), VERDICT_GENUINE);
	cr_expect_eq(fold(l, 3 * HOUR, "substitution", CONFIDENCE_VIOLATION), VERDICT_MISBEHAVING);
	a = run_with(NULL, 0);
	ledger_fold(l, "r", "m", 4 * HOUR, &a, NULL);
	cr_expect_eq(a.verdict, VERDICT_MISBEHAVING, "a clean run right after does not clear it");
	cr_assert_eq(a.n_findings, 1);
	cr_expect_not_null(strstr(a.findings[0].summary, "seen in 2 of the last 4 runs"), "%s",
	                   a.findings[0].summary);
	cr_expect_not_null(strstr(a.findings[0].summary, "e-value"), "%s", a.findings[0].summary);
	assessment_release(&a);
	cr_expect_eq(fold(l, 28 * HOUR, NULL, 0), VERDICT_GENUINE,
	             "cleared once out of the window");
	int level = -1;
	double e = ledger_evalue(l, "r", "m", CLASS_SUBSTITUTION, &level);
	cr_expect_eq(level, VERDICT_GENUINE);
	cr_expect_lt(e, 1.01, "the test starts afresh: %g", e);
	ledger_free(l);
}

Test(ledger, a_violation_beyond_doubt_convicts_at_once)
{
	struct ledger *l = ledger_new(24 * HOUR);
	cr_expect_eq(fold(l, 0, "usage_inflation", 1 - 1e-7), VERDICT_MISBEHAVING);
	ledger_free(l);
}

Test(ledger, suspect_findings_add_up)
{
	struct ledger *l = ledger_new(24 * HOUR);
	enum verdict v = VERDICT_GENUINE, first = VERDICT_GENUINE;
	/* a suspect-level sighting (p = 0.01) in every other run (the
	 * e-Bonferroni threshold is over the ten cheat classes since the two
	 * tampering classes came: 7 in 14 no longer reach it, 8 in 16 do) */
	for (int i = 0; i < 24; i++) {
		v = fold(l, i * HOUR / 2, i % 2 ? "substitution" : NULL, 0.99);
		if (i == 15)
			first = v;
	}
	cr_expect_eq(first, VERDICT_SUSPECT, "8 suspect sightings in 16 runs are no chance");
	cr_expect_eq(v, VERDICT_MISBEHAVING, "12 in 24 convict");
	ledger_free(l);

	/* one suspect sighting among many clean runs is a hint: no flapping */
	l = ledger_new(24 * HOUR);
	for (int i = 0; i < 20; i++)
		v = fold(l, i * HOUR, i == 19 ? "substitution" : NULL, 0.99);
	cr_expect_eq(v, VERDICT_GENUINE);
	struct assessment a = run_with("substitution", 0.99);
	ledger_fold(l, "r", "m", 20 * HOUR, &a, NULL);
	cr_assert_eq(a.n_findings, 1);
	cr_expect(a.findings[0].hint, "shown as a hint");
	cr_expect_not_null(strstr(a.findings[0].summary, "across runs the e-value is"), "%s",
	                   a.findings[0].summary);
	assessment_release(&a);
	ledger_free(l);
}

Test(ledger, targets_are_separate)
{
	struct ledger *l = ledger_new(0);
	struct assessment a = run_with("prompt_injection", CONFIDENCE_VIOLATION);
	ledger_fold(l, "bad", "m", 0, &a, NULL);
	assessment_release(&a);
	a = run_with(NULL, 0);
	ledger_fold(l, "good", "m", 1000, &a, NULL);
	cr_expect_eq(a.verdict, VERDICT_GENUINE);
	assessment_release(&a);
	ledger_free(l);
}

Test(ledger, answers_pool_over_the_window)
{
	struct ledger *l = ledger_new(24 * HOUR);
	const char *run1[] = {"a1", "a2", "a3"}, *run2[] = {"b1", "b2"};
	const char *out[128];
	int runs = 0;
	ledger_add_answers(l, "r", "m", 0, run1, 3);
	ledger_add_answers(l, "r", "m", HOUR, run2, 2);
	cr_expect_eq(ledger_answers(l, "r", "m", out, 128, &runs), 5);
	cr_expect_eq(runs, 2);
	cr_expect_str_eq(out[0], "a1");
	cr_expect_eq(ledger_answers(l, "other", "m", out, 128, &runs), 0);
	/* a run past the window drops the old answers */
	ledger_add_answers(l, "r", "m", 26 * HOUR, run1, 1);
	cr_expect_eq(ledger_answers(l, "r", "m", out, 128, &runs), 1);
	cr_expect_eq(runs, 1);
	/* the pool is bounded: the oldest go first */
	const char *many[10] = {"x", "x", "x", "x", "x", "x", "x", "x", "x", "y"};
	for (int i = 0; i < 20; i++)
		ledger_add_answers(l, "r", "m", 27 * HOUR + i, many, 10);
	size_t n = ledger_answers(l, "r", "m", out, 128, &runs);
	cr_expect_eq(n, 64);
	cr_expect_str_eq(out[n - 1], "y");
	/* a tested batch is emptied: the next batch shares no answer with it */
	ledger_clear_answers(l, "r", "m");
	cr_expect_eq(ledger_answers(l, "r", "m", out, 128, &runs), 0);
	ledger_add_answers(l, "r", "m", 28 * HOUR, run2, 2);
	cr_expect_eq(ledger_answers(l, "r", "m", out, 128, &runs), 2);
	ledger_free(l);
}

Test(ledger, the_window_shows_the_finding_that_convicts)
{
	/* each run: an answer test (at most suspect, more confident) beside the
	 * token counts naming the family served: the window says the latter */
	struct ledger *l = ledger_new(24 * HOUR);
	for (int i = 0; i < 3; i++) {
		struct assessment a;
		assessment_init(&a);
		a.requests = a.ok_requests = 27;
		assessment_tested(&a, 10);
		assessment_add(&a, CLASS_SUBSTITUTION, 0.9999999, "right 99%", "0 of 3", "cap",
		               NULL, "%s", "known answers missed");
		assessment_limit_last(&a);
		assessment_add(&a, CLASS_SUBSTITUTION, CONFIDENCE_VIOLATION, "claimed counts",
		               "qwen3 counts", "all", "qwen3-32b", "%s", "counted as qwen3");
		assessment_decide(&a);
		ledger_fold(l, "r", "m", i * HOUR, &a, NULL);
		/* the answers (1e-6 after Holm) make suspect at once; the counts
		 * (1e-4 after Holm) convict with the second run */
		cr_expect_eq(a.verdict, i == 0 ? VERDICT_SUSPECT : VERDICT_MISBEHAVING);
		const struct finding *shown = NULL;
		for (size_t k = 0; k < a.n_findings; k++)
			if (a.findings[k].cls == CLASS_SUBSTITUTION && !a.findings[k].hint)
				shown = &a.findings[k];
		cr_assert_not_null(shown);
		if (i > 0) {
			cr_expect(strstr(shown->summary, "counted as qwen3") != NULL, "%s",
			          shown->summary);
			cr_expect_str_eq(shown->served ? shown->served : "", "qwen3-32b");
		}
		assessment_release(&a);
	}
	ledger_free(l);
}

/* Every cheating class is held by the ledger the same way: a violation
 * beyond doubt convicts, and the clean run right after stays misbehaving
 * while the window sees the class. The runs kept their classes in 16 bits,
 * so the 17th and 18th (channel_misrepresented, capability_stripped) were
 * dropped from every run and serve's verdict on them changed at each run
 * (make eval: 287 changes a day). */
Test(ledger, every_class_is_held_across_runs)
{
	for (int c = 0; c < CLASS__COUNT; c++) {
		if (!finding_class_is_cheat(class_name((enum finding_class)c)))
			continue;
		struct ledger *l = ledger_new(24 * HOUR);
		const char *name = class_name((enum finding_class)c);
		struct assessment a = run_with(name, 1 - 1e-7);
		struct ledger_entry entry;
		memset(&entry, 0, sizeof entry);
		ledger_fold(l, "r", "m", HOUR, &a, &entry);
		cr_expect_eq(a.verdict, VERDICT_MISBEHAVING, "%s", name);
		/* what the store keeps of the run (ledger_runs) has the class */
		cr_expect(entry.misbehaving & (1u << c), "%s: not in the run's record", name);
		assessment_release(&a);
		a = run_with(NULL, 0);
		ledger_fold(l, "r", "m", 2 * HOUR, &a, NULL);
		cr_expect_eq(a.verdict, VERDICT_MISBEHAVING, "%s: not held by the next run", name);
		assessment_release(&a);
		ledger_free(l);
	}
}
