/*
 * fingerprint: one-token categorical answers against the official model's
 * recorded distribution.
 *
 * Asked for "a random number between 1 and 100", a colour or a letter at
 * temperature 1, every model family answers with a distribution of its own
 * (gpt-4o says 42 and 37 and 73, others say 27 or 57), stable over
 * phrasings and languages and cheap to sample. `baseline record` counts the
 * official model's normalised answers per probe (answer_counts in the pack);
 * an audit's answers are held to those counts.
 *
 * The test. Two statistics over every answered fingerprint probe, with the
 * official probabilities smoothed (add one half, an unseen answer one half
 * of a count): the answers' surprisal (sum of -ln p: answers the official
 * model rarely gives) and the likelihood-ratio statistic G against the
 * answers' own frequencies (which also sees answers more alike than the
 * official model's, as from a model that ignores the temperature). The
 * smaller of their two tail probabilities is the finding's statistic.
 *
 * Its benign-drift tolerance is not set by hand: it is calibrated on the
 * recorded answers by a parametric bootstrap. Each of FP_BOOTSTRAP
 * replicates resamples the recorded counts (the reference the official
 * model might as well have been recorded with) and draws an audit of the
 * same size from the recorded frequencies (what the official model itself
 * answers); the p-value is the share of replicates at least as extreme as
 * the relay, (1 + k) / (1 + B), the min-of-two calibrated as a statistic of
 * its own. An honest relay is therefore suspect at most at the budget
 * whatever the distributions (tests/test_fingerprint.c checks this over
 * many simulated official audits). The seed is fixed per answer count, so
 * the same answers always give the same p-value.
 *
 * A distribution test says "different"; it can make a relay suspect,
 * never misbehaving. Where a pack model explains the answers
 * FINGERPRINT_NAMED_RATIO times better, it is named as what is served.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detect.h"
#include "scoring/detector.h"

#define FP_BOOTSTRAP 1999
#define FP_MAX_PROBES 8
#define FP_MAX_ANSWERS 4096 /* answers tested at once; serve pools stay below */

static const char *const fingerprint_probes[] = {"fp-number", "fp-colour", "fp-letter", NULL};

int
scorer_fingerprint_probe(const char *probe)
{
	for (const char *const *p = fingerprint_probes; *p != NULL; p++)
		if (strcmp(*p, probe) == 0)
			return 1;
	return 0;
}

/* Bytes around a word: ASCII space and punctuation, and the typographic
 * quotes a model may put around a one-word answer. */
static size_t
skip_around(const unsigned char *t)
{
	static const char *const quotes[] = {
	    "\xe2\x80\x9c", "\xe2\x80\x9d", "\xe2\x80\x98", "\xe2\x80\x99",
	    "\xe3\x80\x8c", "\xe3\x80\x8d", "\xe3\x80\x82", NULL};
	if (*t != '\0' && *t < 0x80 && (strchr(" \t\r\n.,;:!?\"'*`()[]{}<>_#-", *t) != NULL))
		return 1;
	for (const char *const *q = quotes; *q != NULL; q++)
		if (strncmp((const char *)t, *q, 3) == 0)
			return 3;
	return 0;
}

void
fingerprint_normalise(const char *text, char *out, size_t outlen)
{
	const unsigned char *t = (const unsigned char *)(text ? text : "");
	size_t k, n = 0;
	if (outlen == 0)
		return;
	while (*t != '\0' && (k = skip_around(t)) > 0)
		t += k;
	while (*t != '\0' && skip_around(t) == 0) {
		size_t len = 1;
		if (*t >= 0x80) /* a whole UTF-8 character, or nothing of it */
			while ((t[len] & 0xc0) == 0x80 && len < 4)
				len++;
		if (n + len >= outlen)
			break;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = t[i];
			out[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		t += len;
	}
	out[n] = '\0';
}

/* A category drawn from cumulative counts cum[0..k-1] (cum[k-1] = total). */
static size_t
draw(const long *cum, size_t k, uint64_t *state)
{
	long u = (long)(splitmix64(state) % (uint64_t)cum[k - 1]);
	size_t lo = 0, hi = k - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cum[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* One probe's part: the reference counts and the audit's answers as
 * categories (0..k-1 recorded values; k + j the j-th distinct unrecorded
 * one). */
struct probe_part {
	const struct baseline_answer_counts *ref;
	long *cum;   /* cumulative recorded counts */
	size_t *obs; /* the audit's answers, as categories */
	size_t n;
};

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static double
uniform(uint64_t *state)
{
	return (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* A Binomial(n, p) count: by inversion where the mean is small, else the
 * normal approximation (the reference's common values). */
static long
binomial(long n, double p, uint64_t *state)
{
	if (p <= 0)
		return 0;
	if (p >= 1)
		return n;
	if (p > 0.5)
		return n - binomial(n, 1 - p, state);
	if ((double)n * p > 30) {
		double u1 = uniform(state), u2 = uniform(state);
		double z = sqrt(-2 * log(u1 > 0 ? u1 : 1e-300)) * cos(6.283185307179586 * u2);
		long k = lround((double)n * p + z * sqrt((double)n * p * (1 - p)));
		return k < 0 ? 0 : k > n ? n : k;
	}
	double u = uniform(state), pk = pow(1 - p, (double)n), cdf = pk;
	long k = 0;
	while (u > cdf && k < n) {
		pk *= (double)(n - k) / (double)(k + 1) * p / (1 - p);
		k++;
		cdf += pk;
	}
	return k;
}

/* How often the official model gives an answer its recording lacks: the
 * Good-Turing estimate (the share of values recorded once), kept off zero
 * so that a recording without singletons still allows for them. */
static double
missing_mass(const struct baseline_answer_counts *r, long total)
{
	long once = 0;
	for (size_t v = 0; v < r->n; v++)
		once += r->counts[v] == 1;
	return ((double)once + 0.5) / ((double)total + 1);
}

/* Surprisal and G of answers obs[0..n-1] against reference counts ref[]
 * (k categories, total total, nonzero of them seen): add to *surprisal, *g.
 * scratch holds n entries. */
static void
statistics(const size_t *obs, size_t n, const long *ref, size_t k, long total, size_t seen,
           size_t *scratch, double *surprisal, double *g)
{
	double denom = (double)total + 0.5 * (double)(seen + 1);
	memcpy(scratch, obs, n * sizeof *scratch);
	qsort(scratch, n, sizeof *scratch, cmp_size);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && scratch[j] == scratch[i])
			j++;
		size_t c = scratch[i];
		double p = ((c < k ? (double)ref[c] : 0) + 0.5) / denom;
		double o = (double)(j - i);
		*surprisal += -o * log(p);
		*g += 2 * o * log(o / ((double)n * p));
		i = j;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The share of sorted[0..n-1] at least v (ties count: conservative). */
static double
tail_share(const double *sorted, size_t n, double v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (sorted[mid] >= v - 1e-9)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (double)(n - lo + 1) / (double)(n + 1);
}

/* The log-likelihood of the answers under a model's recorded counts. */
static double
log_likelihood(const struct baseline_model *m, const struct fingerprint_answer *answers, size_t n,
               int *usable)
{
	double ll = 0;
	*usable = 1;
	for (size_t i = 0; i < n; i++) {
		const struct baseline_answer_counts *c =
		    baseline_answer_counts_for(m, answers[i].probe);
		if (c == NULL) {
			*usable = 0;
			return 0;
		}
		long total = 0, hit = 0;
		for (size_t v = 0; v < c->n; v++) {
			total += c->counts[v];
			if (strcmp(c->values[v], answers[i].value) == 0)
				hit = c->counts[v];
		}
		ll += log((hit + 0.5) / (total + 0.5 * (double)(c->n + 1)));
	}
	return ll;
}

int
scorer_fingerprint_test(const struct scorer *s, const struct baseline_model *claimed,
                        const struct fingerprint_answer *answers, size_t n,
                        struct fingerprint_test *out)
{
	memset(out, 0, sizeof *out);
	struct probe_part parts[FP_MAX_PROBES];
	size_t n_parts = 0, tested = 0;
	if (n > FP_MAX_ANSWERS)
		n = FP_MAX_ANSWERS;
	/* the answers with a reference, grouped by probe */
	const struct fingerprint_answer **kept = xcalloc(n + 1, sizeof *kept);
	size_t n_kept = 0;
	for (size_t i = 0; i < n; i++) {
		const struct baseline_answer_counts *ref =
		    baseline_answer_counts_for(claimed, answers[i].probe);
		if (ref == NULL || ref->n == 0)
			continue;
		size_t p;
		for (p = 0; p < n_parts; p++)
			if (parts[p].ref == ref)
				break;
		if (p == n_parts) {
			if (n_parts == FP_MAX_PROBES)
				continue;
			parts[p].ref = ref;
			parts[p].cum = xcalloc(ref->n, sizeof *parts[p].cum);
			for (size_t v = 0; v < ref->n; v++)
				parts[p].cum[v] = (v ? parts[p].cum[v - 1] : 0) + ref->counts[v];
			parts[p].obs = xcalloc(n + 1, sizeof *parts[p].obs);
			parts[p].n = 0;
			n_parts++;
		}
		kept[n_kept++] = &answers[i];
		tested++;
		/* the answer's category: a recorded value, else one per distinct
		 * unrecorded value (ref->n + where this probe first had it) */
		size_t cat = ref->n;
		for (size_t v = 0; v < ref->n && cat == ref->n; v++)
			if (strcmp(ref->values[v], answers[i].value) == 0)
				cat = v;
		if (cat == ref->n) {
			size_t j = 0;
			for (size_t q = 0; q + 1 < n_kept; q++) {
				if (baseline_answer_counts_for(claimed, kept[q]->probe) != ref)
					continue;
				if (strcmp(kept[q]->value, answers[i].value) == 0)
					break;
				j++;
			}
			cat = ref->n + j;
		}
		parts[p].obs[parts[p].n++] = cat;
	}
	int rc = -1;
	if (tested == 0)
		goto done;
	size_t *scratch = xcalloc(n + 1, sizeof *scratch);
	double obs_s = 0, obs_g = 0;
	for (size_t p = 0; p < n_parts; p++) {
		const struct baseline_answer_counts *r = parts[p].ref;
		statistics(parts[p].obs, parts[p].n, r->counts, r->n, parts[p].cum[r->n - 1], r->n,
		           scratch, &obs_s, &obs_g);
	}
	/* the bootstrap: official audits of the same size against resampled
	 * references */
	double *rep_s = xcalloc(FP_BOOTSTRAP, sizeof *rep_s);
	double *rep_g = xcalloc(FP_BOOTSTRAP, sizeof *rep_g);
	size_t max_k = 0;
	for (size_t p = 0; p < n_parts; p++)
		if (parts[p].ref->n > max_k)
			max_k = parts[p].ref->n;
	long *resampled = xcalloc(max_k, sizeof *resampled);
	size_t *draws = xcalloc(n + 1, sizeof *draws);
	double missing[FP_MAX_PROBES];
	for (size_t p = 0; p < n_parts; p++)
		missing[p] = missing_mass(parts[p].ref, parts[p].cum[parts[p].ref->n - 1]);
	uint64_t state = 0xf1a9e4ULL + (uint64_t)tested * 0x9e37ULL;
	for (int b = 0; b < FP_BOOTSTRAP; b++) {
		double sb = 0, gb = 0;
		for (size_t p = 0; p < n_parts; p++) {
			const struct baseline_answer_counts *r = parts[p].ref;
			long total = parts[p].cum[r->n - 1];
			/* the official model's answers: recorded values as often
			 * as recorded, and as often as the recording suggests one
			 * it never gave (a new value each time) */
			for (size_t i = 0; i < parts[p].n; i++)
				draws[i] = uniform(&state) < missing[p]
				               ? r->n + i
				               : draw(parts[p].cum, r->n, &state);
			/* the reference it might as well have been recorded with:
			 * each value's count resampled (only those the audit
			 * drew matter) */
			for (size_t i = 0; i < parts[p].n; i++)
				if (draws[i] < r->n)
					resampled[draws[i]] = -1;
			for (size_t i = 0; i < parts[p].n; i++)
				if (draws[i] < r->n && resampled[draws[i]] < 0)
					resampled[draws[i]] = binomial(
					    total, (double)r->counts[draws[i]] / total, &state);
			statistics(draws, parts[p].n, resampled, r->n, total, r->n, scratch, &sb,
			           &gb);
		}
		rep_s[b] = sb;
		rep_g[b] = gb;
	}
	/* the smaller tail of the two, calibrated over the same replicates */
	double *sorted_s = xmalloc(FP_BOOTSTRAP * sizeof *sorted_s);
	double *sorted_g = xmalloc(FP_BOOTSTRAP * sizeof *sorted_g);
	memcpy(sorted_s, rep_s, FP_BOOTSTRAP * sizeof *sorted_s);
	memcpy(sorted_g, rep_g, FP_BOOTSTRAP * sizeof *sorted_g);
	qsort(sorted_s, FP_BOOTSTRAP, sizeof *sorted_s, cmp_double);
	qsort(sorted_g, FP_BOOTSTRAP, sizeof *sorted_g, cmp_double);
	double obs_min = fmin(tail_share(sorted_s, FP_BOOTSTRAP, obs_s),
	                      tail_share(sorted_g, FP_BOOTSTRAP, obs_g));
	int at_most = 0;
	for (int b = 0; b < FP_BOOTSTRAP; b++) {
		double mb = fmin(tail_share(sorted_s, FP_BOOTSTRAP, rep_s[b]),
		                 tail_share(sorted_g, FP_BOOTSTRAP, rep_g[b]));
		if (mb <= obs_min + 1e-12)
			at_most++;
	}
	out->n = tested;
	out->p_value = (1.0 + at_most) / (1.0 + FP_BOOTSTRAP);
	if (out->p_value > 1)
		out->p_value = 1;

	/* the most telling answer: the largest term of G */
	double best = -INFINITY;
	for (size_t p = 0; p < n_parts; p++) {
		const struct baseline_answer_counts *r = parts[p].ref;
		long total = parts[p].cum[r->n - 1];
		for (size_t i = 0; i < n_kept; i++) {
			if (baseline_answer_counts_for(claimed, kept[i]->probe) != r)
				continue;
			size_t o = 0;
			for (size_t j = 0; j < n_kept; j++)
				o += baseline_answer_counts_for(claimed, kept[j]->probe) == r &&
				     strcmp(kept[j]->value, kept[i]->value) == 0;
			long hit = 0;
			for (size_t v = 0; v < r->n; v++)
				if (strcmp(r->values[v], kept[i]->value) == 0)
					hit = r->counts[v];
			double pv = (hit + 0.5) / (total + 0.5 * (double)(r->n + 1));
			double term = (double)o * log((double)o / ((double)parts[p].n * pv));
			if (term > best) {
				best = term;
				out->probe = r->probe;
				snprintf(out->value, sizeof out->value, "%s", kept[i]->value);
				out->count = o;
				out->of = parts[p].n;
				out->official_share = (double)hit / (double)total;
				out->recorded = total;
			}
		}
	}

	/* which pack model explains the answers best, by far */
	struct fingerprint_answer *flat = xcalloc(n_kept + 1, sizeof *flat);
	for (size_t i = 0; i < n_kept; i++)
		flat[i] = *kept[i];
	int usable;
	double ll0 = log_likelihood(claimed, flat, n_kept, &usable);
	const struct baseline_pack *pack = scorer_pack(s);
	for (size_t k = 0; pack != NULL && k < pack->n; k++) {
		const struct baseline_model *x = &pack->models[k];
		if (x == claimed || strcmp(x->name, claimed->name) == 0)
			continue;
		double ll = log_likelihood(x, flat, n_kept, &usable);
		double ratio = exp(ll - ll0);
		if (usable && ratio >= FINGERPRINT_NAMED_RATIO && ratio > out->closest_ratio) {
			out->closest = x;
			out->closest_ratio = ratio;
		}
	}
	free(flat);
	free(sorted_s);
	free(sorted_g);
	free(rep_s);
	free(rep_g);
	free(resampled);
	free(draws);
	free(scratch);
	rc = 0;
done:
	for (size_t p = 0; p < n_parts; p++) {
		free(parts[p].cum);
		free(parts[p].obs);
	}
	free(kept);
	return rc;
}

void
scorer_add_fingerprint_finding(const struct baseline_model *claimed,
                               const struct fingerprint_test *t, int runs, struct assessment *a)
{
	if (t->n == 0 || t->p_value > FP_BUDGET_SUSPECT)
		return;
	char expected[160], observed[200], share[64];
	if (t->official_share > 0)
		snprintf(share, sizeof share, "%.0f%% of the time", t->official_share * 100);
	else
		snprintf(share, sizeof share, "never in %ld recorded answers", t->recorded);
	snprintf(expected, sizeof expected, "'%s' %s", t->value, share);
	snprintf(observed, sizeof observed,
	         "%zu of %zu answers '%s' (%zu fingerprint answers, p = %.4f)", t->count, t->of,
	         t->value, t->n, t->p_value);
	assessment_add(a, CLASS_SUBSTITUTION, 1 - t->p_value, expected, observed, t->probe,
	               t->closest ? t->closest->name : NULL,
	               "%zu of %zu answers to the one-word question '%s' were '%s'; %s answers "
	               "'%s' %s. Over all %zu one-word answers (%d run%s) the relay's answers do "
	               "not follow %s's recorded distribution (calibrated test, p = %.4f)%s%s.",
	               t->count, t->of, t->probe, t->value, claimed->name, t->value, share, t->n,
	               runs, runs == 1 ? "" : "s", claimed->name, t->p_value,
	               t->closest ? "; they are far likelier from " : "",
	               t->closest ? t->closest->name : "");
	/* a distribution test says "different", not for certain "which" */
	assessment_limit_last(a);
}

/* This run's fingerprint answers against the claimed model's recorded
 * distributions. */
static void
detect_fingerprint(struct detect_ctx *ctx)
{
	const struct audit_run *run = ctx->run;
	struct fingerprint_answer answers[64];
	char values[64][FINGERPRINT_VALUE_MAX];
	size_t n = 0;
	for (size_t i = 0; i < run->n_items && n < 64; i++) {
		const struct audit_item *it = &run->items[i];
		if (!scorer_fingerprint_probe(it->probe->id) || !observation_ok(it->obs) ||
		    it->obs->text == NULL)
			continue;
		fingerprint_normalise(it->obs->text, values[n], sizeof values[n]);
		answers[n].probe = it->probe->id;
		answers[n].value = values[n];
		n++;
	}
	struct fingerprint_test t;
	if (n == 0 || scorer_fingerprint_test(ctx->scorer, ctx->claimed, answers, n, &t) != 0)
		return;
	assessment_tested(ctx->a, 1);
	size_t before = ctx->a->n_findings;
	scorer_add_fingerprint_finding(ctx->claimed, &t, 1, ctx->a);
	/* one run's six answers: the calibrated test errs at its budget (4% at
	 * 5%), so on its own it would accuse one official audit in a few
	 * hundred (make eval saw it); a hint, as the style test's, and evidence
	 * for serve's e-process across runs (over_runs: the ledger bets on its
	 * p-value, at most suspect; each run asks afresh, so the runs' tests
	 * are independent, unlike the style test's pooled batches) */
	if (ctx->a->n_findings > before) {
		assessment_hint_last(ctx->a);
		ctx->a->findings[ctx->a->n_findings - 1].over_runs = 1;
	}
}

const struct detector detector_fingerprint = {
    .name = "fingerprint",
    .probes = fingerprint_probes,
    .classes = CLASS_BIT(CLASS_SUBSTITUTION),
    .needs_claimed = 1,
    .run = detect_fingerprint,
};
