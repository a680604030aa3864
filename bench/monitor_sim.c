/*
 * monitor_sim: simulated runs of `serve` against the ledger's statistics.
 */
#include "bench/monitor_sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/evalue.h"
#include "scoring/ledger.h"
#include "scoring/stats.h"
#include "scoring/verdict.h"

#define MAX_CLASSES CLASS__COUNT
#define VIOLATION_P 1e-5 /* a swapped request's counts: CONFIDENCE_VIOLATION */
#define ANSWER_P 0.001   /* a swapped answer probe's misses: CONFIDENCE_STRONG */

double
sim_uniform(uint64_t *state)
{
	return (double)(splitmix64(state) >> 11) * 0x1.0p-53;
}

/* The cheating classes, in table order; class 0 of the list is
 * substitution (the first row of scoring/classes.h). */
static int
cheat_classes(enum finding_class *out)
{
	int m = 0;
	for (int c = 0; c < CLASS__COUNT; c++)
		if (class_info((enum finding_class)c)->cheat)
			out[m++] = (enum finding_class)c;
	return m;
}

/*
 * One run's raw p-values: p[0..m-1] for the m classes' convicting tests
 * (p[0] substitution's token counts), p[m] for the answer test (at most
 * suspect). Honest parts uniform; the dilution as the header says.
 */
static double
sim_run(const struct sim_relay *r, uint64_t *st, int m, double *p)
{
	for (int i = 0; i <= m; i++)
		p[i] = sim_uniform(st);
	if (r->token_checks <= 0 && r->fraction <= 0)
		return -1;
	/* the accounting detector's e-value (scoring/detectors/accounting.c):
	 * a half-Kelly bet per counted request against a null rate of 1e-3 */
	double log_e = 0;
	if (r->other_tokenizer) {
		for (int k = 0; k < r->token_checks; k++) {
			int swapped = sim_uniform(st) < r->fraction;
			if (swapped && p[0] > VIOLATION_P)
				p[0] = VIOLATION_P;
			log_e += log1p(((swapped ? 1e3 : 0) - 1) / 2);
		}
	} else {
		for (int k = 0; k < r->token_checks; k++)
			log_e += log1p(-0.5);
		for (int k = 0; k < r->answer_checks; k++)
			if (sim_uniform(st) < r->fraction * r->answer_power && p[m] > ANSWER_P)
				p[m] = ANSWER_P;
	}
	return r->token_checks > 0 ? exp(log_e) : -1;
}

/* Holm over the n tests (stats_holm), only where it matters: a p-value
 * above 0.05 adjusts to above 0.05 and weighs nothing. adj[i] for p[i]
 * (1 else). */
static void
holm_small(const double *p, int n, double *adj)
{
	double small[MAX_CLASSES + 1], small_adj[MAX_CLASSES + 1];
	int at[MAX_CLASSES + 1], k = 0;
	for (int i = 0; i < n; i++) {
		adj[i] = 1;
		if (p[i] <= 0.05) {
			at[k] = i;
			small[k++] = p[i];
		}
	}
	if (k > 0)
		stats_holm(small, (size_t)k, (size_t)n, small_adj);
	for (int j = 0; j < k; j++)
		adj[at[j]] = small_adj[j];
}

void
sim_monitor_fast(const struct sim_relay *r, uint64_t seed, long runs, int until_suspect,
                 struct sim_outcome *out)
{
	enum finding_class classes[MAX_CLASSES];
	int m = cheat_classes(classes);
	const double need_mis = evalue_threshold(FP_BUDGET_MISBEHAVING, m),
	             need_sus = evalue_threshold(FP_BUDGET_SUSPECT, m);
	const double watch = log(need_sus); /* no bet's wealth below: nothing to decide */
	/* the e-processes: conv per class, lim for the answer test */
	struct eprocess conv[MAX_CLASSES], lim;
	for (int i = 0; i < m; i++)
		eprocess_init(&conv[i]);
	eprocess_init(&lim);
	uint64_t st = seed;
	*out = (struct sim_outcome){.first_suspect = -1, .first_misbehaving = -1};
	double p[MAX_CLASSES + 1], adj[MAX_CLASSES + 1];
	for (long t = 0;
	     t < runs && out->first_misbehaving < 0 && (!until_suspect || out->first_suspect < 0);
	     t++) {
		sim_run(r, &st, m, p);
		holm_small(p, m + 1, adj);
		for (int i = 0; i <= m; i++) {
			eprocess_update(i < m ? &conv[i] : &lim, evalue_from_p(adj[i]));
		}
		for (int i = 0; i < m; i++) {
			double top = conv[i].log_plugin > lim.log_plugin ? conv[i].log_plugin
			                                                 : lim.log_plugin;
			for (int b = 0; b < EVALUE_BETS; b++) {
				top = conv[i].log_wealth[b] > top ? conv[i].log_wealth[b] : top;
				if (i == 0)
					top = lim.log_wealth[b] > top ? lim.log_wealth[b] : top;
			}
			if (top < watch)
				continue;
			double ce = eprocess_value(&conv[i]);
			double se = (2 * ce + (i == 0 ? eprocess_value(&lim) : 0)) / 3;
			if (out->first_suspect < 0 && (se >= need_sus || ce >= need_mis))
				out->first_suspect = t;
			if (ce >= need_mis)
				out->first_misbehaving = t;
		}
	}
}

void
sim_monitor_ledger(const struct sim_relay *r, uint64_t seed, long runs, int64_t interval_ms,
                   struct sim_outcome *out)
{
	enum finding_class classes[MAX_CLASSES];
	int m = cheat_classes(classes);
	struct ledger *l = ledger_new(0);
	uint64_t st = seed;
	*out = (struct sim_outcome){.first_suspect = -1, .first_misbehaving = -1};
	enum verdict last = VERDICT_GENUINE;
	double p[MAX_CLASSES + 1];
	for (long t = 0; t < runs; t++) {
		double acc = sim_run(r, &st, m, p);
		struct assessment a;
		assessment_init(&a);
		a.requests = a.ok_requests = 20;
		a.strong_checks_passed = 1;
		a.baseline_origin = BASELINE_PACK;
		assessment_tested(&a, m + 1);
		for (int i = 0; i <= m; i++) {
			if (p[i] > 0.05)
				continue;
			assessment_add(&a, i < m ? classes[i] : CLASS_SUBSTITUTION, 1 - p[i],
			               "official", "simulated", "sim", NULL, "%s",
			               "simulated finding");
			if (i == m)
				assessment_limit_last(&a);
		}
		if (acc >= 0)
			assessment_evidence(&a, CLASS_SUBSTITUTION, acc);
		assessment_decide(&a);
		ledger_fold(l, "sim", "m", t * interval_ms, &a, NULL);
		enum verdict v = a.verdict;
		assessment_release(&a);
		if (t > 0 && v != last)
			out->flips++;
		last = v;
		if (out->first_suspect < 0 && (v == VERDICT_SUSPECT || v == VERDICT_MISBEHAVING))
			out->first_suspect = t;
		if (out->first_misbehaving < 0 && v == VERDICT_MISBEHAVING)
			out->first_misbehaving = t;
	}
	ledger_free(l);
}

void
sim_monitor_fixed_sample(uint64_t seed, long runs, long window, struct sim_outcome *out)
{
	enum finding_class classes[MAX_CLASSES];
	int m = cheat_classes(classes);
	struct sim_relay honest = {0};
	uint64_t st = seed;
	*out = (struct sim_outcome){.first_suspect = -1, .first_misbehaving = -1};
	/* per class, its suspect-level sightings in the window (a ring of bits) */
	unsigned char *seen = xcalloc((size_t)(m * window), 1);
	int counts[MAX_CLASSES] = {0};
	double p[MAX_CLASSES + 1], adj[MAX_CLASSES + 1];
	for (long t = 0; t < runs && out->first_misbehaving < 0; t++) {
		sim_run(&honest, &st, m, p);
		holm_small(p, m + 1, adj);
		long slot = t % window, n = t + 1 < window ? t + 1 : window;
		for (int i = 0; i < m; i++) {
			double own = i == 0 && adj[m] < adj[0] ? adj[m] : adj[i];
			counts[i] -= seen[i * window + slot];
			seen[i * window + slot] = own <= FP_BUDGET_SUSPECT;
			counts[i] += seen[i * window + slot];
			/* the run's own finding, then the window's binomial test */
			double wp = counts[i] >= 2 ? m * stats_binomial_sf(counts[i], (int)n,
			                                                   FP_BUDGET_SUSPECT)
			                           : 1;
			if (out->first_suspect < 0 &&
			    (own <= FP_BUDGET_SUSPECT || wp <= FP_BUDGET_SUSPECT))
				out->first_suspect = t;
			if (adj[i] <= FP_BUDGET_MISBEHAVING || wp <= FP_BUDGET_MISBEHAVING)
				out->first_misbehaving = t;
		}
	}
	free(seen);
}

static int
v_accuses(enum verdict v)
{
	return v == VERDICT_SUSPECT || v == VERDICT_MISBEHAVING;
}

/* A copy of src that ledger_fold may rewrite (findings, flags, counters;
 * the notes it does not read are left out). */
static void
assessment_copy(struct assessment *dst, const struct assessment *src)
{
	assessment_init(dst);
	dst->requests = src->requests;
	dst->ok_requests = src->ok_requests;
	dst->strong_checks_passed = src->strong_checks_passed;
	dst->tests_run = src->tests_run;
	dst->partial_substitution = src->partial_substitution;
	dst->private_tokenizer_unlike_public = src->private_tokenizer_unlike_public;
	dst->protocol_matched = src->protocol_matched;
	dst->baseline_origin = src->baseline_origin;
	dst->tokens_spent = src->tokens_spent;
	memcpy(dst->evidence_sum, src->evidence_sum, sizeof dst->evidence_sum);
	memcpy(dst->evidence_n, src->evidence_n, sizeof dst->evidence_n);
	for (size_t i = 0; i < src->n_findings; i++) {
		const struct finding *f = &src->findings[i];
		assessment_add(dst, f->cls, f->confidence, f->expected, f->observed, f->probe,
		               f->served, "%s", f->summary);
		struct finding *g = &dst->findings[dst->n_findings - 1];
		g->at_most_suspect = f->at_most_suspect;
		g->hint_only = f->hint_only;
		g->over_runs = f->over_runs;
		g->evalue = f->evalue;
	}
	assessment_decide(dst);
}

void
sim_serve_resampled(const struct assessment *const *runs_from, size_t n, const char *right_class,
                    uint64_t seed, long runs, int64_t interval_ms, struct sim_outcome *out)
{
	*out = (struct sim_outcome){.first_suspect = -1, .first_misbehaving = -1};
	if (n == 0)
		return;
	struct ledger *l = ledger_new(0);
	uint64_t st = seed;
	enum verdict last = VERDICT_GENUINE;
	for (long t = 0; t < runs; t++) {
		const struct assessment *src = runs_from[splitmix64(&st) % n];
		struct assessment a;
		assessment_copy(&a, src);
		ledger_fold(l, "sim", "m", t * interval_ms, &a, NULL);
		/* with no class to show (an honest relay), any accusation counts */
		int sus = right_class == NULL && v_accuses(a.verdict),
		    mis = right_class == NULL && a.verdict == VERDICT_MISBEHAVING;
		for (size_t i = 0; i < a.n_findings && right_class != NULL; i++) {
			const struct finding *f = &a.findings[i];
			if (strcmp(f->class, right_class) != 0)
				continue;
			sus |= finding_reaches(f, VERDICT_SUSPECT);
			mis |= finding_reaches(f, VERDICT_MISBEHAVING);
		}
		enum verdict v = a.verdict;
		assessment_release(&a);
		if (t > 0 && v != last)
			out->flips++;
		last = v;
		if (out->first_suspect < 0 && sus)
			out->first_suspect = t;
		if (out->first_misbehaving < 0 && mis)
			out->first_misbehaving = t;
	}
	ledger_free(l);
}
