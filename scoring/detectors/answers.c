/*
 * answers: what the model says, against what the official one says.
 *
 * Known-answer questions against the official pass rate, and a two-sample
 * test of free answers against the official model's recorded ones: both
 * say "different", never for certain "which", so they make a relay
 * suspect at most. A known-answer finding names the pack model of the
 * claimed one's tokenizer that the run's answers (passes and one-token
 * fingerprints) fit far better, where one does.
 * The cache bait must echo this run's code: another code is a replay.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detector.h"
#include "scoring/stats.h"
#include "scoring/tokenizer.h"
#include "scoring/detect.h"
#include "scoring/mmd.h"

/* The run's known-answer passes of probe p: *k of *n judged. */
static void
capability_counts(const struct audit_run *run, const struct probe_def *p, int *k, int *n)
{
	*k = *n = 0;
	for (size_t j = 0; j < run->n_items; j++) {
		const struct audit_item *it = &run->items[j];
		if (it->probe != p || !observation_ok(it->obs))
			continue;
		int hit = probe_expect_match(p, it->obs->text, it->obs->text_len);
		if (hit < 0)
			continue;
		(*n)++;
		*k += hit;
	}
}

/* The log-likelihood of the run's answers under model x's records: each
 * known-answer probe's passes against x's rate (kept within [0.005, 0.995],
 * a recording's smallest resolution), each one-token answer against x's
 * counts (smoothed as scoring/detectors/fingerprint.c smooths them). 0
 * with *usable 0 where x lacks a record the run's answers need. */
static double
answers_log_likelihood(const struct audit_run *run, const struct baseline_model *x, int *usable)
{
	double ll = 0;
	*usable = 1;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct audit_item *it = &run->items[i];
		const struct probe_def *p = it->probe;
		if (p->expect_code != NULL && it->sample == 0) {
			int k, n;
			capability_counts(run, p, &k, &n);
			if (n == 0)
				continue;
			double r = baseline_answer_rate(x, p->id);
			if (r < 0) {
				*usable = 0;
				return 0;
			}
			r = r < 0.005 ? 0.005 : r > 0.995 ? 0.995 : r;
			ll += k * log(r) + (n - k) * log(1 - r);
		} else if (scorer_fingerprint_probe(p->id) && observation_ok(it->obs) &&
		           it->obs->text != NULL) {
			const struct baseline_answer_counts *c = baseline_answer_counts_for(x, p->id);
			if (c == NULL) {
				*usable = 0;
				return 0;
			}
			char value[FINGERPRINT_VALUE_MAX];
			fingerprint_normalise(it->obs->text, value, sizeof value);
			long total = 0, hit = 0;
			for (size_t v = 0; v < c->n; v++) {
				total += c->counts[v];
				if (strcmp(c->values[v], value) == 0)
					hit = c->counts[v];
			}
			ll += log((hit + 0.5) / (total + 0.5 * (double)(c->n + 1)));
		}
	}
	return ll;
}

/*
 * Which pack model the run's answers fit best, the known-answer passes and
 * the one-token fingerprints together, among the models that count tokens
 * as the claimed one does (another tokenizer shows in the counts, which
 * name it themselves): named when it explains the answers
 * FINGERPRINT_NAMED_RATIO times better than the claimed model and ten times
 * better than the next; else NULL. A name for the finding, never evidence:
 * its p-value is the test's own.
 */
static const struct baseline_model *
answers_closest(const struct detect_ctx *ctx)
{
	const struct baseline_model *claimed = ctx->claimed;
	const struct baseline_pack *pack = scorer_pack(ctx->scorer);
	/* counts that convict name what they saw themselves */
	for (size_t i = 0; i < ctx->a->n_findings; i++)
		if (ctx->a->findings[i].cls == CLASS_SUBSTITUTION &&
		    !ctx->a->findings[i].at_most_suspect)
			return NULL;
	int usable;
	double ll0 = answers_log_likelihood(ctx->run, claimed, &usable);
	if (!usable || pack == NULL || claimed->tokenizer == NULL)
		return NULL;
	const struct baseline_model *best = NULL;
	double best_ll = -INFINITY, second_ll = -INFINITY;
	for (size_t i = 0; i < pack->n; i++) {
		const struct baseline_model *x = &pack->models[i];
		if (x == claimed || strcmp(x->name, claimed->name) == 0 || x->tokenizer == NULL ||
		    strcmp(x->tokenizer, claimed->tokenizer) != 0)
			continue;
		double ll = answers_log_likelihood(ctx->run, x, &usable);
		if (!usable)
			continue;
		if (ll > best_ll) {
			second_ll = best_ll;
			best_ll = ll;
			best = x;
		} else if (ll > second_ll)
			second_ll = ll;
	}
	if (best == NULL || best_ll - ll0 < log(FINGERPRINT_NAMED_RATIO) ||
	    best_ll - second_ll < log(10.0))
		return NULL;
	return best;
}

/* The chance, under the official pass rate, below which one audit's
 * known-answer misses may decide it: as rare as the misbehaving budget. */
#define KNOWN_ANSWER_ALONE FP_BUDGET_MISBEHAVING

/* Known-answer probes: does the relay fall below the official pass rate? */
static void
detect_capability(struct detect_ctx *ctx)
{
	const struct audit_run *run = ctx->run;
	struct assessment *a = ctx->a;
	/* probes with an assertion and a baseline rate, in catalog order */
	for (size_t i = 0; i < run->n_items; i++) {
		const struct probe_def *p = run->items[i].probe;
		if (run->items[i].sample != 0 || p->expect_code == NULL)
			continue;
		double rate = baseline_answer_rate(ctx->claimed, p->id);
		if (rate < 0)
			continue;
		int n, k;
		capability_counts(run, p, &k, &n);
		if (n == 0 || rate >= 0.999999)
			continue;
		assessment_tested(a, 1);
		double tail = stats_binomial_cdf(k, n, rate);
		if (tail >= 0.01)
			continue; /* within what the official model itself does */
		char expected[128], observed[128];
		snprintf(expected, sizeof expected, "correct about %.0f%% of the time", rate * 100);
		snprintf(observed, sizeof observed, "%d of %d correct", k, n);
		const struct baseline_model *closest = answers_closest(ctx);
		assessment_add(a, CLASS_SUBSTITUTION, 1 - tail, expected, observed, p->id,
		               closest ? closest->name : NULL,
		               "%s gets this known-answer question right about %.0f%% of the "
		               "time; the relay got %d of %d right%s%s.",
		               ctx->claimed->name, rate * 100, k, n,
		               closest ? "; these and its one-word answers are far likelier from "
		                       : "",
		               closest ? closest->name : "");
		/* an answer test alone says "different", never "which" */
		assessment_limit_last(a);
		/* misses the official model itself makes once in a few hundred
		 * audits (gpt-5.5 misses cap-strawberry about 4% of the time, so
		 * both of two in 1 audit of 600) would accuse official endpoints
		 * within the suspect budget: one audit decides only on misses it
		 * makes less than once in KNOWN_ANSWER_ALONE; else a hint, and
		 * evidence for serve's e-process, which bets on each run's
		 * p-value (over_runs: each run asks afresh) */
		if (tail > KNOWN_ANSWER_ALONE) {
			assessment_hint_last(a);
			a->findings[a->n_findings - 1].over_runs = 1;
		}
	}
}

#define STYLE_PERMUTATIONS 999

int
scorer_style_test(const struct scorer *s, const struct baseline_model *claimed,
                  const char *const *texts, size_t n, struct style_test *out)
{
	const struct baseline_samples *ref = baseline_samples_for(claimed, STYLE_PROBE);
	struct mmd_result r;
	memset(out, 0, sizeof *out);
	if (ref == NULL || mmd_test(texts, n, (const char *const *)ref->texts, ref->n,
	                            STYLE_PERMUTATIONS, 0x5eedULL + n, &r) != 0)
		return -1;
	out->n = n;
	out->p_value = r.p_value;
	out->mmd2 = r.mmd2;
	if (r.p_value > STYLE_ALPHA)
		return 0; /* no finding: which model fits best does not matter */
	/* the model whose recorded answers these resemble most */
	double best = r.p_value;
	for (size_t k = 0; k < scorer_pack(s)->n; k++) {
		const struct baseline_model *x = &scorer_pack(s)->models[k];
		const struct baseline_samples *xs = baseline_samples_for(x, STYLE_PROBE);
		if (x == claimed || xs == NULL)
			continue;
		struct mmd_result rx;
		if (mmd_test(texts, n, (const char *const *)xs->texts, xs->n, 199, 0x5eedULL + n,
		             &rx) == 0 &&
		    rx.p_value > best) {
			best = rx.p_value;
			out->closest = x;
		}
	}
	return 0;
}

void
scorer_add_style_finding(const struct baseline_model *claimed, const struct style_test *t, int runs,
                         struct assessment *a)
{
	if (t->p_value > STYLE_ALPHA)
		return;
	char expected[128], observed[160];
	snprintf(expected, sizeof expected, "answers like %s's recorded ones", claimed->name);
	snprintf(observed, sizeof observed, "%zu answers%s%s, MMD^2 %.3f, p = %.3f", t->n,
	         t->closest ? " closest to " : "", t->closest ? t->closest->name : "", t->mmd2,
	         t->p_value);
	assessment_add(a, CLASS_SUBSTITUTION, 1 - t->p_value, expected, observed, STYLE_PROBE,
	               t->closest ? t->closest->name : NULL,
	               "The relay's free answers (%zu, over %d run%s) do not look like %s's "
	               "(two-sample test, p = %.3f)%s%s.",
	               t->n, runs, runs == 1 ? "" : "s", claimed->name, t->p_value,
	               t->closest ? "; they look most like " : "",
	               t->closest ? t->closest->name : "");
	/* a distribution test says "different", rarely "which" */
	assessment_limit_last(a);
}

/*
 * One run's free answers against the official model's recorded ones: five
 * answers are too few to accuse anyone at the budget (an honest relay would
 * be suspect in about 0.3% of audits for nothing, and the test rarely sees a
 * real swap), so one run's test is a hint only. `serve` pools the answers
 * of a day and tests the pool, which can make a relay suspect.
 */
static void
detect_style(struct detect_ctx *ctx)
{
	const struct baseline_model *m = ctx->claimed;
	struct assessment *a = ctx->a;
	const char *texts[64];
	size_t n = audit_texts(ctx->run, STYLE_PROBE, texts, 64);
	struct style_test t;
	size_t before = a->n_findings;
	if (n >= 2 && scorer_style_test(ctx->scorer, m, texts, n, &t) == 0) {
		scorer_add_style_finding(m, &t, 1, a);
		if (a->n_findings > before)
			assessment_hint_last(a);
	}
}

/* The echo probe must return this run's code: another code is a replay. */
static void
detect_cached(struct detect_ctx *ctx)
{
	const struct audit_run *run = ctx->run;
	struct assessment *a = ctx->a;
	const struct audit_item *it = audit_find(run, "echo-nonce");
	if (it == NULL || !observation_ok(it->obs) || it->obs->text == NULL)
		return;
	assessment_tested(a, 1);
	/* the code asked for is the item's nonce */
	char hex[9];
	snprintf(hex, sizeof hex, "%.8s", it->nonce);
	if (strlen(hex) != 8)
		return;
	if (strstr(it->obs->text, hex) != NULL)
		return;
	/* an answer with another 8-hex code is an earlier answer replayed */
	const char *t = it->obs->text;
	for (size_t i = 0; t[i]; i++) {
		size_t k = 0;
		while (k < 8 && t[i + k] && strchr("0123456789abcdef", t[i + k]))
			k++;
		if (k == 8) {
			char seen[9];
			snprintf(seen, sizeof seen, "%.8s", t + i);
			assessment_add(
			    a, CLASS_CACHED_RESPONSE, CONFIDENCE_VIOLATION, hex, seen,
			    it->probe->id, NULL,
			    "Asked to repeat a fresh code, the relay answered with another "
			    "one: it replays stored answers instead of asking the model.");
			return;
		}
		i += k;
		if (!t[i])
			break;
	}
}

static const char *const capability_probes[] = {"cap-strawberry", "cap-arithmetic", "ping", NULL};

const struct detector detector_capability = {
    .name = "capability",
    .probes = capability_probes,
    .classes = CLASS_BIT(CLASS_SUBSTITUTION),
    .needs_claimed = 1,
    .run = detect_capability,
};

static const char *const style_probes[] = {"style", NULL};

const struct detector detector_style = {
    .name = "style",
    .probes = style_probes,
    .classes = CLASS_BIT(CLASS_SUBSTITUTION),
    .needs_claimed = 1,
    .run = detect_style,
};

static const char *const cached_probes[] = {"echo-nonce", NULL};

const struct detector detector_cached = {
    .name = "cached",
    .probes = cached_probes,
    .classes = CLASS_BIT(CLASS_CACHED_RESPONSE),
    .needs_claimed = 1,
    .run = detect_cached,
};
