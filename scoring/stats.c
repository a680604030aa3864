/*
 * stats: binomial sums in log space (lgamma), so n in the thousands neither
 * overflows nor loses the tail.
 */
#include "scoring/stats.h"

#include <math.h>
#include <stdlib.h>

#include "base/util.h"

static double
binomial_term(int i, int n, double p)
{
	if (p <= 0)
		return i == 0 ? 1 : 0;
	if (p >= 1)
		return i == n ? 1 : 0;
	return exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) + i * log(p) +
	           (n - i) * log1p(-p));
}

double
stats_binomial_cdf(int k, int n, double p)
{
	if (k >= n)
		return 1;
	double sum = 0;
	for (int i = 0; i <= k; i++)
		sum += binomial_term(i, n, p);
	return sum > 1 ? 1 : sum;
}

double
stats_binomial_sf(int k, int n, double p)
{
	if (k <= 0)
		return 1;
	double sum = 0;
	for (int i = k; i <= n; i++)
		sum += binomial_term(i, n, p);
	return sum > 1 ? 1 : sum;
}

struct ranked {
	double p;
	size_t at;
};

static int
ranked_cmp(const void *a, const void *b)
{
	double x = ((const struct ranked *)a)->p, y = ((const struct ranked *)b)->p;
	return (x > y) - (x < y);
}

void
stats_holm(const double *p, size_t k, size_t m, double *adjusted)
{
	if (k == 0)
		return;
	if (m < k)
		m = k;
	/* the audit's and the simulations' few tests fit on the stack: no
	 * allocation in serve's ledger or make eval's inner loop */
	struct ranked small[32];
	struct ranked *r = k <= 32 ? small : xcalloc(k, sizeof *r);
	for (size_t i = 0; i < k; i++)
		r[i] = (struct ranked){p[i], i};
	qsort(r, k, sizeof *r, ranked_cmp);
	double run_max = 0;
	for (size_t i = 0; i < k; i++) {
		double adj = (double)(m - i) * r[i].p;
		if (adj > 1)
			adj = 1;
		if (adj > run_max)
			run_max = adj;
		adjusted[r[i].at] = run_max;
	}
	if (r != small)
		free(r);
}

void
stats_wilson(long k, long n, double *lo, double *hi)
{
	if (n <= 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	const double z = 1.959963984540054;
	double p = (double)k / (double)n, nn = (double)n;
	double denom = 1 + z * z / nn;
	double centre = (p + z * z / (2 * nn)) / denom;
	double half = z * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / denom;
	*lo = centre - half < 0 ? 0 : centre - half;
	*hi = centre + half > 1 ? 1 : centre + half;
	/* rounding must not leave the estimate outside its own interval */
	if (*lo > p)
		*lo = p;
	if (*hi < p)
		*hi = p;
}

int
stats_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double
stats_quantile(double *v, size_t n, double q)
{
	if (n == 0)
		return -1;
	qsort(v, n, sizeof *v, stats_cmp_double);
	if (q <= 0)
		return v[0];
	size_t rank = (size_t)ceil(q * (double)n);
	return v[rank == 0 ? 0 : rank > n ? n - 1 : rank - 1];
}

double
stats_median(double *v, size_t n)
{
	if (n == 0)
		return -1;
	qsort(v, n, sizeof *v, stats_cmp_double);
	return v[n / 2];
}
