/*
 * Verdict rule: the thresholds, prefer inconclusive, unreachable, JSON shape.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "scoring/verdict.h"

/* a, initialised: requests made, ok of them answered, and whether the
 * strong check passed. */
static void
begin(struct assessment *a, long requests, long ok, int strong)
{
	assessment_init(a);
	a->requests = requests;
	a->ok_requests = ok;
	a->strong_checks_passed = strong;
}

/* a decided: verdict v, and audit's exit status for it. */
static void
expect_verdict(struct assessment *a, enum verdict v, int status)
{
	assessment_decide(a);
	cr_expect_eq(a->verdict, v, "%s, want %s: %s", verdict_name(a->verdict), verdict_name(v),
	             a->reason);
	cr_expect_eq(verdict_exit_status(a->verdict), status);
}

Test(verdict, genuine_needs_the_strong_check)
{
	struct assessment a;
	begin(&a, 5, 5, 0);
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_INCONCLUSIVE, "no evidence must not read as genuine");
	a.strong_checks_passed = 1;
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_GENUINE);
	assessment_release(&a);
}

Test(verdict, thresholds)
{
	struct assessment a;
	begin(&a, 5, 5, 1);
	assessment_tested(&a, 1);
	assessment_add(&a, CLASS_SUBSTITUTION, 0.6, "x", "y", "p", NULL, "weak hint");
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_GENUINE, "a weak hint does not accuse");
	assessment_add(&a, CLASS_SUBSTITUTION, 0.99, "x", "y", "p", NULL, "stronger");
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_SUSPECT, "p = 0.01 of 2 tests: %s", a.reason);
	assessment_add(&a, CLASS_PROMPT_INJECTION, CONFIDENCE_VIOLATION, "x", "y", "p", NULL,
	               "sure");
	expect_verdict(&a, VERDICT_MISBEHAVING, 1);
	assessment_release(&a);
}

/* The budget holds across many tests: a p-value that is striking alone is
 * not, once it is the best of twenty (Holm). */
Test(verdict, many_tests_need_stronger_evidence)
{
	struct assessment a;
	begin(&a, 30, 30, 1);
	assessment_add(&a, CLASS_SUBSTITUTION, 0.99, "x", "y", "p", NULL, "p = 0.01");
	assessment_tested(&a, 1);
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_SUSPECT, "one test at p = 0.01 is within the budget");
	assessment_tested(&a, 19);
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_GENUINE, "the best of 20 at p = 0.01 is chance: %s",
	             a.reason);
	cr_expect_float_eq(a.findings[0].p_adjusted, 0.2, 1e-9);
	/* a protocol violation survives any realistic number of tests */
	assessment_add(&a, CLASS_PARAM_IGNORED, CONFIDENCE_VIOLATION, "x", "y", "p", NULL, "bad");
	assessment_tested(&a, 80);
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_MISBEHAVING, "%s", a.reason);
	assessment_release(&a);
}

/* An answer test says "different", not "cheating": suspect at most. */
Test(verdict, answer_tests_reach_suspect_only)
{
	struct assessment a;
	begin(&a, 10, 10, 1);
	assessment_add(&a, CLASS_SUBSTITUTION, 0.999999, "x", "y", "style", NULL, "answers differ");
	assessment_limit_last(&a);
	assessment_tested(&a, 10);
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_SUSPECT);
	assessment_release(&a);
}

Test(verdict, availability_is_not_cheating)
{
	struct assessment a;
	begin(&a, 5, 4, 1);
	assessment_add(&a, CLASS_UNAVAILABLE, 1.0, "", "", "", NULL, "one failed");
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_GENUINE);
	a.ok_requests = 0;
	expect_verdict(&a, VERDICT_UNREACHABLE, 3);
	assessment_release(&a);
}

Test(verdict, json_shape)
{
	struct assessment a;
	begin(&a, 2, 2, 0);
	a.tokens_spent = 40;
	assessment_add(&a, CLASS_SUBSTITUTION, CONFIDENCE_VIOLATION, "31 tokens", "38 tokens",
	               "tokfp", "qwen3-32b", "served by %s", "qwen3");
	assessment_decide(&a);
	json_t *j = assessment_to_json(&a);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "misbehaving");
	json_t *f = json_array_get(json_object_get(j, "findings"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(f, "class")), "substitution");
	cr_expect_str_eq(json_string_value(json_object_get(f, "served_model")), "qwen3-32b");
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(f, "evidence"), "expected")),
	    "31 tokens");
	cr_expect_eq(json_integer_value(json_object_get(j, "tokens_spent")), 40);
	cr_expect(json_number_value(json_object_get(f, "p_adjusted")) <= FP_BUDGET_MISBEHAVING);
	json_decref(j);
	assessment_release(&a);
	for (int v = VERDICT_GENUINE; v <= VERDICT_UNREACHABLE; v++)
		cr_expect_eq(verdict_from_name(verdict_name(v)), v);
}
