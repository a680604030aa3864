/*
 * mmd: a two-sample test on answer texts.
 *
 * Are the relay's answers and the official model's recorded answers drawn
 * from the same distribution? The statistic is the unbiased squared maximum
 * mean discrepancy (Gretton et al., "A Kernel Two-Sample Test", 2012) under
 * a Hamming kernel on the answers' first bytes, after the token Hamming
 * kernel of "Model Equality Testing" (Gao, Liang, Guestrin, 2024). Its p-value comes from a
 * permutation test: how often does a random relabelling of the pooled
 * answers give a statistic at least as large? That needs no assumption on
 * the kernel's distribution, and holds at any sample size.
 */
#ifndef ASSAY_MMD_H
#define ASSAY_MMD_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of each answer the kernel compares (answers are short by design). */
#define MMD_PREFIX 48

struct mmd_result {
	double mmd2;    /* unbiased MMD^2; near 0 (even below) for one distribution */
	double p_value; /* permutation p-value, in (0, 1] */
};

/*
 * Test xs (nx texts) against ys (ny texts), both at least 2, with
 * `permutations` relabellings drawn from a generator seeded with seed
 * (so a verdict can be reproduced). Returns -1 when a sample is too small.
 */
int mmd_test(const char *const *xs, size_t nx, const char *const *ys, size_t ny, int permutations,
             uint64_t seed, struct mmd_result *out);

/* The kernel itself, in [0, 1]: the share of the first MMD_PREFIX positions
 * where a and b agree (1 for texts equal that far). */
double mmd_kernel(const char *a, const char *b);

#endif
