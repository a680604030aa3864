/*
 * evalue: anytime-valid evidence (e-values and test martingales) for the
 * decisions `serve` takes run after run and `audit` takes request after
 * request.
 *
 * An e-value is a nonnegative statistic E with E[E] <= 1 when the relay is
 * honest (the null). A product of e-values, each with conditional
 * expectation <= 1 given the past, is a test supermartingale, and Ville's
 * inequality bounds it at every look at once:
 *
 *     P(sup_t E_t >= 1/alpha) <= alpha.
 *
 * So a class may be decided the moment its e-process reaches 1/alpha, after
 * any number of runs, and the false-positive rate stays within alpha over
 * the whole monitoring; re-running a fixed-sample test (a binomial tail)
 * after every run has no such bound: its false positives add up with the
 * number of looks. (Ville 1939; Shafer and Vovk, "Game-Theoretic
 * Foundations for Probability and Finance", 2019; Ramdas, Grunwald, Vovk
 * and Shafer, "Game-theoretic statistics and safe anytime-valid inference",
 * Statistical Science 2023.)
 *
 * Building blocks:
 *  - evalue_from_p: a p-to-e calibrator (Vovk and Wang, "E-values:
 *    calibration, combination and applications", Ann. Statist. 2021): a
 *    decreasing g with integral over [0,1] at most 1, so E[g(p)] <= 1 for
 *    any valid (super-uniform) p-value. Ours is a step function on the
 *    verdict levels, so a run's finding weighs by how strong it was.
 *  - evalue_bernoulli: the likelihood ratio of one Bernoulli outcome, rate q
 *    against the official rate p0 (q > p0: one-sided, and a supermartingale
 *    factor under any rate <= p0).
 *  - struct eprocess: a betting test martingale, the mean of two (Waudby-Smith
 *    and Ramdas, "Estimating means of bounded random variables by betting",
 *    JRSS B 2023): for any bet lambda_t in [0, 1/2] fixed before run t,
 *    prod_t (1 + lambda_t (e_t - 1)) is a test martingale when
 *    E[e_t | past] <= 1, and a mean of test martingales is one too.
 *    Half the weight is a mixture over a grid of fixed bets (bold ones
 *    count a decisive run at once on a fresh relay); half is a predictable
 *    plug-in bettor: lambda_t is the Kelly bet against an exponentially
 *    weighted record of the past runs' e-values (the growth-rate optimal
 *    "GRO" choice, Grunwald, de Heide and Koolen, "Safe testing", JRSS B
 *    2024), 0 while the past shows nothing, so a long clean history costs
 *    it nothing and a relay that starts cheating after months is bet on as
 *    soon as its first findings come. Fixed bets alone decay over a clean
 *    history (each clean run multiplies by 1 - lambda).
 *  - Combining: e-values of independent evidence multiply; across the m
 *    cheating classes the e-Bonferroni rule (class c decided when
 *    E_c >= m/alpha; P(any false class) <= sum_c alpha/m = alpha) keeps the
 *    bound per relay whatever the classes' dependence. evalue_ebh is the
 *    e-BH procedure (Wang and Ramdas, JRSS B 2022), for callers deciding
 *    many classes at once at a false discovery rate.
 *
 * Interface for detectors: a detector whose evidence is a likelihood ratio
 * or an e-value (e.g. a categorical fingerprint's answers against the
 * official distribution, prod_i P_alt(x_i)/P_official(x_i) with P_alt fixed
 * before seeing x) reports it with assessment_evalue_last()
 * (scoring/verdict.h). The contract: E >= 0 and E[E] <= 1 under the
 * official model given everything before the run, and a finding on every
 * run the detector tested, whatever E came out (also E < 1: which runs
 * report must not depend on the result). The audit's verdict uses
 * p = min(1, 1/E) (Markov) in its Holm correction; serve's ledger takes, for
 * such a class, e_run = (g(p) + sum_i E_i / T) / 2, the mean of two
 * e-values: the calibrated p of the class's other findings and the
 * e-Bonferroni share of the detector's own over the T tests of the run.
 *
 * Pure functions and plain structs; any thread may call them.
 */
#ifndef ASSAY_EVALUE_H
#define ASSAY_EVALUE_H

#include <stddef.h>

/* The fixed bets: lambda_i = 2^-(i+1), i < EVALUE_BETS; weight 1/2 on
 * lambda = 1/2, the rest shared equally. */
#define EVALUE_BETS 12
/* The plug-in bettor's record: how often each of the calibrator's values
 * (0, 10, 15, 1015, 151015; an e-value rounds down to one) came, weighted
 * EVALUE_MEMORY for the latest run. */
#define EVALUE_BINS 5
#define EVALUE_MEMORY 0.1
/* An e-process's state as numbers (storage keeps it as a JSON array). */
#define EVALUE_STATE (EVALUE_BETS + 1 + EVALUE_BINS)

/* One e-process (a test martingale from its start). */
struct eprocess {
	double log_wealth[EVALUE_BETS]; /* log of each fixed bet's wealth */
	double log_plugin;              /* log of the plug-in bettor's */
	double seen[EVALUE_BINS];       /* its record of past e-values */
	long updates;                   /* e-values multiplied in */
};

/* Start at wealth 1 (log 0). */
void eprocess_init(struct eprocess *e);
/* The e-process after n e-values of 0 from its start (a clean history:
 * each fixed bet's wealth times (1 - bet)^n, the plug-in never bets), for
 * storage that keeps such a history as its length alone. */
void eprocess_clean(struct eprocess *e, long n);
/* Multiply in one e-value (>= 0; E[e | past] <= 1 under the null). */
void eprocess_update(struct eprocess *e, double evalue);
/* The e-process now: the mean of the fixed bets' mixture and the plug-in
 * bettor's wealth. */
double eprocess_value(const struct eprocess *e);
/* The plug-in bettor's next bet (for tests and the curious). */
double eprocess_next_bet(const struct eprocess *e);
/* The state as EVALUE_STATE numbers, and back (updates kept apart);
 * eprocess_set_state returns -1 if a number is not finite where it must be. */
void eprocess_state(const struct eprocess *e, double *out);
int eprocess_set_state(struct eprocess *e, const double *in);

/* The p-to-e calibrator: 0 for p above 0.05, then steps at the verdict
 * levels (0.05, 0.01, 3e-4, 1e-6); its integral over [0,1] is exactly 1. */
double evalue_from_p(double p);
/* The likelihood ratio of one outcome (fired 1 or 0) at rate q against rate
 * p0 (0 < p0 < q < 1). */
double evalue_bernoulli(int fired, double p0, double q);
/* The e-Bonferroni threshold: m e-processes, one of them decided at
 * E >= m/alpha. */
double evalue_threshold(double alpha, int m);
/* e-BH at level alpha over k e-values: decided[i] set to 1 or 0; returns
 * how many were decided (the largest j with e_(j) >= k/(alpha j)). */
size_t evalue_ebh(const double *e, size_t k, double alpha, int *decided);

#endif
