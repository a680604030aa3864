/*
 * evalue: the calibrator's steps, the bets' mixture in log space (a long
 * history neither overflows nor underflows), e-BH.
 */
#include "scoring/evalue.h"

#include <math.h>
#include <stdlib.h>

#include "base/util.h"

/*
 * The calibrator g(p) = sum_j w_j [p <= a_j] / a_j. Its integral over [0,1]
 * is sum_j w_j = 1, and it decreases, so E[g(p)] <= 1 for a super-uniform
 * p (Vovk and Wang 2021). The steps sit where findings land: 0.05 (a
 * suspect-level sighting, the weight most of the evidence of dilution
 * comes in), 0.01 (a likely one), 3e-4 (a violation after Holm's
 * correction over a few tests: suspect in one run, misbehaving in two),
 * 1e-6 (a violation beyond doubt, decisive in one run). g at each: 10, 15,
 * 1015, 151015.
 */
static const double tier_p[] = {0.05, 0.01, 3e-4, 1e-6};
static const double tier_w[] = {0.5, 0.05, 0.3, 0.15};

/* The bets' weights: half on the boldest (1/2), so that one decisive run
 * counts at once; the rest shared by the smaller, which hold an honest
 * relay's wealth up over a long clean history. */
static double
bet_weight(int i)
{
	return i == 0 ? 0.5 : 0.5 / (EVALUE_BETS - 1);
}

double
evalue_from_p(double p)
{
	if (!(p >= 0))
		return 0; /* NaN: no evidence */
	double g = 0;
	for (size_t j = 0; j < sizeof tier_p / sizeof tier_p[0]; j++)
		if (p <= tier_p[j])
			g += tier_w[j] / tier_p[j];
	return g;
}

double
evalue_bernoulli(int fired, double p0, double q)
{
	return fired ? q / p0 : (1 - q) / (1 - p0);
}

double
evalue_threshold(double alpha, int m)
{
	return (m > 1 ? m : 1) / alpha;
}

/* The i-th fixed bet, 1/2 down to 1/4096, and log(1 - bet): a clean run's
 * factor, the common case, without a log per bet. */
static double
bet(int i)
{
	return ldexp(1.0, -(i + 1));
}

static const double clean_log[EVALUE_BETS] = {
    -0.69314718055994529,    -0.2876820724517809,     -0.13353139262452263,
    -0.064538521137571178,   -0.031748698314580298,   -0.015748356968139168,
    -0.0078431774610258926,  -0.0039138993211363287,  -0.0019550348358033506,
    -0.00097703964782661274, -0.00048840049810887451, -0.00024417043217391448};

/* The plug-in bettor's bins: the calibrator's values. */
static const double bin_value[EVALUE_BINS] = {0, 10, 15, 1015, 151015};

static int
bin_of(double e)
{
	int b = 0;
	for (int k = 1; k < EVALUE_BINS; k++)
		if (e >= bin_value[k])
			b = k;
	return b;
}

void
eprocess_init(struct eprocess *e)
{
	for (int i = 0; i < EVALUE_BETS; i++)
		e->log_wealth[i] = 0;
	e->log_plugin = 0;
	for (int k = 0; k < EVALUE_BINS; k++)
		e->seen[k] = 0;
	e->seen[0] = 1; /* no past: nothing seen, no bet */
	e->updates = 0;
}

void
eprocess_clean(struct eprocess *e, long n)
{
	eprocess_init(e);
	if (n <= 0)
		return;
	for (int i = 0; i < EVALUE_BETS; i++)
		e->log_wealth[i] = (double)n * clean_log[i];
	/* the record stays all zeros (seen[0] = 1): the plug-in bets 0 */
	e->updates = n;
}

/*
 * The Kelly bet against the record: lambda in [0, 1/2] maximising
 * sum_k seen_k log(1 + lambda (v_k - 1)), concave in lambda; 0 when the
 * record's mean e-value is at most 1 (no bet pays), else the root of the
 * derivative by bisection.
 */
double
eprocess_next_bet(const struct eprocess *e)
{
	double total = 0, slope0 = 0;
	for (int k = 0; k < EVALUE_BINS; k++) {
		total += e->seen[k];
		slope0 += e->seen[k] * (bin_value[k] - 1);
	}
	if (total <= 0 || slope0 <= 0)
		return 0;
	double lo = 0, hi = 0.5;
	for (int it = 0; it < 40; it++) {
		double mid = (lo + hi) / 2, d = 0;
		for (int k = 0; k < EVALUE_BINS; k++)
			d += e->seen[k] * (bin_value[k] - 1) / (1 + mid * (bin_value[k] - 1));
		if (d > 0)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

void
eprocess_update(struct eprocess *e, double evalue)
{
	if (!(evalue >= 0))
		evalue = 1; /* NaN: no bet */
	/* each factor 1 + lambda (e - 1) >= 1 - lambda >= 1/2: never 0 */
	for (int i = 0; i < EVALUE_BETS; i++)
		e->log_wealth[i] += evalue == 0 ? clean_log[i] : log1p(bet(i) * (evalue - 1));
	/* the plug-in bet was fixed by the past alone: predictable */
	double lambda = eprocess_next_bet(e);
	if (lambda > 0)
		e->log_plugin += log1p(lambda * (evalue - 1));
	int b = bin_of(evalue);
	for (int k = 0; k < EVALUE_BINS; k++)
		e->seen[k] = (1 - EVALUE_MEMORY) * e->seen[k] + (k == b ? EVALUE_MEMORY : 0);
	e->updates++;
}

double
eprocess_value(const struct eprocess *e)
{
	double top = e->log_wealth[0];
	for (int i = 1; i < EVALUE_BETS; i++)
		if (e->log_wealth[i] > top)
			top = e->log_wealth[i];
	if (e->log_plugin > top)
		top = e->log_plugin;
	double sum = 0;
	for (int i = 0; i < EVALUE_BETS; i++)
		sum += bet_weight(i) * exp(e->log_wealth[i] - top);
	sum = sum / 2 + exp(e->log_plugin - top) / 2;
	double log_mean = top + log(sum);
	return log_mean > 690 ? exp(690) : exp(log_mean);
}

void
eprocess_state(const struct eprocess *e, double *out)
{
	for (int i = 0; i < EVALUE_BETS; i++)
		out[i] = e->log_wealth[i];
	out[EVALUE_BETS] = e->log_plugin;
	for (int k = 0; k < EVALUE_BINS; k++)
		out[EVALUE_BETS + 1 + k] = e->seen[k];
}

int
eprocess_set_state(struct eprocess *e, const double *in)
{
	for (int i = 0; i < EVALUE_STATE; i++)
		if (!isfinite(in[i]))
			return -1;
	for (int i = 0; i < EVALUE_BETS; i++)
		e->log_wealth[i] = in[i];
	e->log_plugin = in[EVALUE_BETS];
	for (int k = 0; k < EVALUE_BINS; k++)
		e->seen[k] = in[EVALUE_BETS + 1 + k] < 0 ? 0 : in[EVALUE_BETS + 1 + k];
	return 0;
}

struct ranked_e {
	double e;
	size_t at;
};

static int
ranked_desc(const void *a, const void *b)
{
	double x = ((const struct ranked_e *)a)->e, y = ((const struct ranked_e *)b)->e;
	return (x < y) - (x > y);
}

size_t
evalue_ebh(const double *e, size_t k, double alpha, int *decided)
{
	if (k == 0)
		return 0;
	struct ranked_e *r = xcalloc(k, sizeof *r);
	for (size_t i = 0; i < k; i++) {
		r[i] = (struct ranked_e){e[i], i};
		decided[i] = 0;
	}
	qsort(r, k, sizeof *r, ranked_desc);
	size_t n = 0;
	for (size_t j = 1; j <= k; j++)
		if (r[j - 1].e >= (double)k / (alpha * (double)j))
			n = j;
	for (size_t j = 0; j < n; j++)
		decided[r[j].at] = 1;
	free(r);
	return n;
}
