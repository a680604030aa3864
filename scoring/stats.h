/*
 * stats: the few statistics the verdicts rest on, written once: binomial
 * tails, Holm's step-down correction, the Wilson interval, medians and
 * quantiles. Pure functions; any thread may call them.
 */
#ifndef ASSAY_STATS_H
#define ASSAY_STATS_H

#include <stddef.h>

/* P(X <= k) and P(X >= k) for X ~ Binomial(n, p); 1 when k is out of range
 * on the covering side (P(X <= n) = P(X >= 0) = 1). */
double stats_binomial_cdf(int k, int n, double p);
double stats_binomial_sf(int k, int n, double p);

/*
 * Holm's step-down correction of k p-values out of m >= k tests (the m - k
 * tests that found nothing are the largest p-values and need no entry):
 * with p(1) <= ... <= p(k), p(i) adjusts to max over j <= i of
 * min(1, (m - j + 1) p(j)). adjusted[i] belongs to p[i] (input order).
 */
void stats_holm(const double *p, size_t k, size_t m, double *adjusted);

/* The 95% Wilson score interval of k successes in n (0..1 when n is 0). */
void stats_wilson(long k, long n, double *lo, double *hi);

/* The median and the q-quantile (0..1, nearest rank) of n values, which
 * are sorted in place; -1 when n is 0. */
double stats_median(double *v, size_t n);
double stats_quantile(double *v, size_t n, double q);

/* qsort comparison of doubles, ascending. */
int stats_cmp_double(const void *a, const void *b);

#endif
