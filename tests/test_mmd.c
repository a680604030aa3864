/*
 * The two-sample test: kernel properties, its false-positive rate when both
 * samples come from one distribution, and its power when they do not.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "scoring/mmd.h"

/* A toy "model": an opener and a sentence, each drawn with weights. */
struct toy {
	const char *const *openers;
	const double *weights;
	size_t n;
};

static const char *const sentences[] = {
    "There are a few things worth considering here.",
    "The short answer depends on the context you have in mind.",
    "It helps to break the problem into smaller steps.",
    "First, make sure the basic assumptions hold.",
    "Here is a quick overview of the main points.",
    "A common mistake is to optimise too early.",
};

static uint64_t rng_state = 12345;

static double
uniform(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void
draw(const struct toy *t, char *out, size_t cap)
{
	double u = uniform(), acc = 0;
	size_t k = 0;
	for (; k + 1 < t->n; k++) {
		acc += t->weights[k];
		if (u < acc)
			break;
	}
	size_t s = (size_t)(uniform() * (sizeof sentences / sizeof sentences[0]));
	snprintf(out, cap, "%s%s", t->openers[k], sentences[s]);
}

static const char *const openers_a[] = {"", "Certainly! ", "Sure! ", "Great question. "};
static const double weights_a[] = {0.25, 0.25, 0.25, 0.25};
static const char *const openers_b[] = {"Okay, so ", "Well, ", "Hmm. "};
static const double weights_b[] = {0.4, 0.3, 0.3};

/* Run trials of the test with nx texts from x and ny from y; return how
 * many rejected at alpha. */
static int
rejections(const struct toy *x, const struct toy *y, size_t nx, size_t ny, int trials, double alpha)
{
	char bx[32][128], by[64][128];
	const char *px[32], *py[64];
	int rejected = 0;
	for (int t = 0; t < trials; t++) {
		for (size_t i = 0; i < nx; i++) {
			draw(x, bx[i], sizeof bx[i]);
			px[i] = bx[i];
		}
		for (size_t i = 0; i < ny; i++) {
			draw(y, by[i], sizeof by[i]);
			py[i] = by[i];
		}
		struct mmd_result r;
		cr_assert_eq(mmd_test(px, nx, py, ny, 199, (uint64_t)t, &r), 0);
		cr_assert(r.p_value > 0 && r.p_value <= 1);
		rejected += r.p_value <= alpha;
	}
	return rejected;
}

Test(mmd, kernel_properties)
{
	cr_expect_float_eq(mmd_kernel("hello world", "hello world"), 1.0, 1e-12);
	cr_expect_float_eq(mmd_kernel("", ""), 1.0, 1e-12);
	cr_expect_float_eq(mmd_kernel("abc", "xyz"), 45.0 / 48, 1e-12,
	                   "past both ends two texts agree");
	cr_expect(mmd_kernel("Sure! The answer is short.", "Hmm. The answer is short.") < 0.2,
	          "an opener of another length shifts every later position");
	double k1 = mmd_kernel("Sure! Paris is the capital.", "Sure! Paris is a city.");
	double k2 = mmd_kernel("Sure! Paris is a city.", "Sure! Paris is the capital.");
	cr_expect_float_eq(k1, k2, 1e-12, "the kernel is symmetric");
	cr_expect(k1 > 0.3 && k1 < 1, "a shared start is partly similar: %f", k1);
}

Test(mmd, refuses_tiny_samples)
{
	const char *one[] = {"a"};
	const char *two[] = {"a", "b"};
	struct mmd_result r;
	cr_expect_eq(mmd_test(one, 1, two, 2, 99, 1, &r), -1);
	cr_expect_eq(mmd_test(two, 2, one, 1, 99, 1, &r), -1);
}

Test(mmd, false_positive_rate_within_alpha)
{
	struct toy a = {openers_a, weights_a, 4};
	/* 400 audits of an honest relay: 5 answers against 60 recorded */
	int r = rejections(&a, &a, 5, 60, 400, 0.05);
	cr_expect(r <= 30, "one distribution rejected %d of 400 times at alpha 0.05", r);
	cr_expect(r >= 3, "a permutation test rejects about alpha of the time, not never: %d", r);
}

Test(mmd, detects_another_distribution)
{
	struct toy a = {openers_a, weights_a, 4};
	struct toy b = {openers_b, weights_b, 3};
	/* one audit's 5 answers: some power, no certainty */
	int r5 = rejections(&b, &a, 5, 60, 100, 0.05);
	cr_expect(r5 >= 30, "5 answers of another style were caught %d of 100 times", r5);
	/* answers pooled over a few runs, as serve's ledger does */
	int r30 = rejections(&b, &a, 15, 60, 100, 0.01);
	cr_expect(r30 >= 95, "15 answers of another style were caught %d of 100 times", r30);
}

Test(mmd, result_is_reproducible)
{
	const char *x[] = {"Sure! A.", "Well, B.", "C."};
	const char *y[] = {"A.", "B.", "Certainly! C.", "D."};
	struct mmd_result r1, r2;
	mmd_test(x, 3, y, 4, 99, 7, &r1);
	mmd_test(x, 3, y, 4, 99, 7, &r2);
	cr_expect_float_eq(r1.p_value, r2.p_value, 0);
	cr_expect_float_eq(r1.mmd2, r2.mmd2, 0);
}
