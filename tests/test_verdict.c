/*
 * Verdict rule: the thresholds, prefer inconclusive, unreachable, JSON shape.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "scoring/verdict.h"

Test(verdict, genuine_needs_the_strong_check)
{
	struct assessment a;
	assessment_init(&a);
	a.requests = a.ok_requests = 5;
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
	assessment_init(&a);
	a.requests = a.ok_requests = 5;
	a.strong_checks_passed = 1;
	assessment_add(&a, "substitution", 0.6, "x", "y", "p", NULL, "weak hint");
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_GENUINE, "a weak hint does not accuse");
	assessment_add(&a, "substitution", 0.9, "x", "y", "p", NULL, "stronger");
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_SUSPECT);
	assessment_add(&a, "prompt_injection", 0.995, "x", "y", "p", NULL, "sure");
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_MISBEHAVING);
	cr_expect_eq(verdict_exit_status(a.verdict), 1);
	assessment_release(&a);
}

Test(verdict, availability_is_not_cheating)
{
	struct assessment a;
	assessment_init(&a);
	a.requests = 5;
	a.ok_requests = 4;
	a.strong_checks_passed = 1;
	assessment_add(&a, "unavailable", 1.0, "", "", "", NULL, "one failed");
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_GENUINE);
	a.ok_requests = 0;
	assessment_decide(&a);
	cr_expect_eq(a.verdict, VERDICT_UNREACHABLE);
	cr_expect_eq(verdict_exit_status(a.verdict), 3);
	assessment_release(&a);
}

Test(verdict, json_shape)
{
	struct assessment a;
	assessment_init(&a);
	a.requests = a.ok_requests = 2;
	a.tokens_spent = 40;
	assessment_add(&a, "substitution", 0.999, "31 tokens", "38 tokens", "tokfp", "qwen3-32b",
	               "served by %s", "qwen3");
	assessment_decide(&a);
	json_t *j = assessment_to_json(&a);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "misbehaving");
	json_t *f = json_array_get(json_object_get(j, "findings"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(f, "class")), "substitution");
	cr_expect_str_eq(json_string_value(json_object_get(f, "served_model")), "qwen3-32b");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(f, "evidence"), "expected")),
	                 "31 tokens");
	cr_expect_eq(json_integer_value(json_object_get(j, "tokens_spent")), 40);
	json_decref(j);
	assessment_release(&a);
	for (int v = VERDICT_GENUINE; v <= VERDICT_UNREACHABLE; v++)
		cr_expect_eq(verdict_from_name(verdict_name(v)), v);
}
