/*
 * detect: from observations to findings.
 *
 * The tokenizer fingerprint is the strong signal. Two probes carry the same
 * designed text once and three times; the difference of their reported
 * prompt_tokens is the served tokenizer's count of the extra text, whatever
 * template or hidden prompt surrounds it. That difference is compared with
 * the exact count of every shipped tokenizer: matching the claimed one but
 * not the short probe's total means a hidden prompt; matching another one
 * means another model family is being served.
 */
#include "scoring/detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/util.h"
#include "scoring/tokenizer.h"

/* The tokenizer families the fingerprint can name. */
static const struct family {
	const char *tokenizer;
	const char *template;
} families[] = {
    {"o200k_base", "openai"},
    {"cl100k_base", "openai"},
    {"qwen3", "qwen3"},
    {"deepseek_v3", "deepseek_v3"},
};
#define N_FAMILIES (sizeof families / sizeof families[0])

/* Excess prompt tokens on a minimal request that we still call normal:
 * official counts can differ by a token or two between snapshots. */
#define INJECTION_TOLERANCE 2

struct scorer {
	const struct baseline_pack *pack;
	struct tokenizer *tok[N_FAMILIES];
	int tried[N_FAMILIES];
};

struct scorer *
scorer_new(const struct baseline_pack *pack)
{
	struct scorer *s = xcalloc(1, sizeof *s);
	s->pack = pack;
	return s;
}

void
scorer_free(struct scorer *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < N_FAMILIES; i++)
		tokenizer_free(s->tok[i]);
	free(s);
}

static struct tokenizer *
scorer_tokenizer(struct scorer *s, const char *name)
{
	for (size_t i = 0; i < N_FAMILIES; i++) {
		if (strcmp(families[i].tokenizer, name) != 0)
			continue;
		if (!s->tried[i]) {
			char err[256];
			s->tried[i] = 1;
			s->tok[i] = tokenizer_open(name, err, sizeof err);
			if (s->tok[i] == NULL)
				fprintf(stderr, "assay: %s\n", err);
		}
		return s->tok[i];
	}
	return NULL;
}

long
scorer_expected_prompt_tokens(struct scorer *s, const char *tokenizer, const char *family,
                              const struct audit_item *item)
{
	struct tokenizer *t = scorer_tokenizer(s, tokenizer);
	if (t == NULL)
		return -1;
	struct chat_message msgs[16];
	size_t n = item->n_messages < 16 ? item->n_messages : 16;
	for (size_t i = 0; i < n; i++) {
		msgs[i].role = item->messages[i].role;
		msgs[i].content = item->messages[i].content;
		msgs[i].name = NULL;
	}
	return chat_prompt_tokens(t, family, msgs, n);
}

/* A model of the pack that uses a tokenizer, to name what is served. */
static const char *
model_for_tokenizer(const struct baseline_pack *pack, const char *tokenizer)
{
	for (size_t i = 0; i < pack->n; i++)
		if (pack->models[i].tokenizer && strcmp(pack->models[i].tokenizer, tokenizer) == 0)
			return pack->models[i].name;
	return NULL;
}

static void
detect_tokenizer(struct scorer *s, const struct audit_run *run, const struct baseline_model *m,
                 struct assessment *a)
{
	const struct audit_item *ia = audit_find(run, "tokfp-short");
	const struct audit_item *ib = audit_find(run, "tokfp-long");
	if (ia == NULL || ib == NULL || m->tokenizer == NULL || m->template == NULL)
		return;
	if (!observation_ok(ia->obs) || !observation_ok(ib->obs))
		return;
	long pa = ia->obs->prompt_tokens, pb = ib->obs->prompt_tokens;
	if (pa < 0 || pb < 0) {
		assessment_add(a, "substitution", 0.5, "usage.prompt_tokens reported",
		               "no usage in the response", "tokfp", NULL,
		               "The relay did not report token usage, which the official API "
		               "always does; this hides which tokenizer serves the request.");
		return;
	}
	long ea = scorer_expected_prompt_tokens(s, m->tokenizer, m->template, ia);
	long eb = scorer_expected_prompt_tokens(s, m->tokenizer, m->template, ib);
	if (ea < 0 || eb < 0)
		return; /* cannot count: no evidence either way */
	long d_obs = pb - pa, d_claimed = eb - ea;
	char expected[256], observed[256];
	if (d_obs == d_claimed) {
		long excess = pa - ea;
		if (excess > INJECTION_TOLERANCE) {
			double conf = excess >= 8 ? 0.995 : 0.9;
			snprintf(expected, sizeof expected, "%ld prompt tokens", ea);
			snprintf(observed, sizeof observed, "%ld prompt tokens (+%ld)", pa, excess);
			assessment_add(a, "prompt_injection", conf, expected, observed, "tokfp-short",
			               NULL,
			               "Every request is billed %ld prompt tokens more than the text "
			               "holds: the relay adds a hidden prompt of about %ld tokens.",
			               excess, excess);
		} else {
			a->strong_checks_passed = 1;
		}
		return;
	}
	/* The served tokenizer differs from the claimed one: which one is it? */
	const char *matches[N_FAMILIES];
	size_t n_match = 0;
	for (size_t i = 0; i < N_FAMILIES; i++) {
		if (strcmp(families[i].tokenizer, m->tokenizer) == 0)
			continue;
		long fa = scorer_expected_prompt_tokens(s, families[i].tokenizer,
		                                        families[i].template, ia);
		long fb = scorer_expected_prompt_tokens(s, families[i].tokenizer,
		                                        families[i].template, ib);
		if (fa >= 0 && fb >= 0 && fb - fa == d_obs)
			matches[n_match++] = families[i].tokenizer;
	}
	snprintf(expected, sizeof expected, "%ld tokens for the repeated text (%s)", d_claimed,
	         m->tokenizer);
	long gap = labs(d_obs - d_claimed);
	if (n_match > 0) {
		/* exact counts: the claimed tokenizer cannot give this number */
		const char *served = model_for_tokenizer(s->pack, matches[0]);
		if (n_match == 1)
			snprintf(observed, sizeof observed, "%ld tokens, exactly the %s tokenizer's count",
			         d_obs, matches[0]);
		else
			snprintf(observed, sizeof observed,
			         "%ld tokens, exactly the count of %s (or %s)", d_obs, matches[0],
			         matches[1]);
		assessment_add(a, "substitution", 0.999, expected, observed, "tokfp",
		               n_match == 1 ? served : NULL,
		               "The relay counts tokens with the %s tokenizer%s, not %s's %s: "
		               "another model (most likely %s) is answering.",
		               matches[0], n_match > 1 ? " or a close relative" : "", m->name,
		               m->tokenizer, served ? served : matches[0]);
	} else if (gap >= 3 && (double)gap >= 0.05 * (double)d_claimed) {
		snprintf(observed, sizeof observed, "%ld tokens, matching no known tokenizer", d_obs);
		assessment_add(a, "substitution", 0.95, expected, observed, "tokfp", NULL,
		               "The relay's token counts fit neither %s's tokenizer nor any other "
		               "known one: an unknown model may be answering.",
		               m->name);
	} else {
		snprintf(observed, sizeof observed, "%ld tokens", d_obs);
		assessment_add(a, "substitution", 0.5, expected, observed, "tokfp", NULL,
		               "Token counts are off by %ld from %s's tokenizer; too little to "
		               "tell.",
		               gap, m->name);
	}
}

/* P(X <= k) for X ~ Binomial(n, p). */
static double
binomial_cdf(int k, int n, double p)
{
	double sum = 0;
	for (int i = 0; i <= k; i++) {
		double log_c = lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0);
		sum += exp(log_c + i * log(p) + (n - i) * log1p(-p));
	}
	return sum > 1 ? 1 : sum;
}

/* Known-answer probes: does the relay fall below the official pass rate? */
static void
detect_capability(const struct audit_run *run, const struct baseline_model *m,
                  struct assessment *a)
{
	/* probes with an assertion and a baseline rate, in catalog order */
	for (size_t i = 0; i < run->n_items; i++) {
		const struct probe_def *p = run->items[i].probe;
		if (run->items[i].sample != 0 || p->expect_code == NULL)
			continue;
		double rate = baseline_answer_rate(m, p->id);
		if (rate < 0)
			continue;
		int n = 0, k = 0;
		for (size_t j = i; j < run->n_items; j++) {
			const struct audit_item *it = &run->items[j];
			if (it->probe != p || !observation_ok(it->obs))
				continue;
			int hit = probe_expect_match(p, it->obs->text, it->obs->text_len);
			if (hit < 0)
				continue;
			n++;
			k += hit;
		}
		if (n == 0 || rate >= 0.999999)
			continue;
		double tail = binomial_cdf(k, n, rate);
		if (tail >= 0.01)
			continue; /* within what the official model itself does */
		char expected[128], observed[128];
		snprintf(expected, sizeof expected, "correct about %.0f%% of the time", rate * 100);
		snprintf(observed, sizeof observed, "%d of %d correct", k, n);
		/* an answer test alone says "different", never "which": suspect at most */
		double conf = 1 - tail;
		if (conf > 0.95)
			conf = 0.95;
		assessment_add(a, "substitution", conf, expected, observed, p->id, NULL,
		               "%s gets this known-answer question right about %.0f%% of the "
		               "time; the relay got %d of %d right.",
		               m->name, rate * 100, k, n);
	}
}

/* The model name and id shape the relay reports: weak hints only. */
static void
detect_protocol(const struct audit_run *run, const struct baseline_model *m, struct assessment *a)
{
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (!observation_ok(o))
			continue;
		if (o->model != NULL && !baseline_name_matches(m, o->model)) {
			assessment_add(a, "substitution", 0.6, m->name, o->model,
			               run->items[i].probe->id, NULL,
			               "The response names the model '%s', not %s (a weak hint: "
			               "some relays rename models honestly).",
			               o->model, m->name);
			return;
		}
	}
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static void
detect_availability(const struct audit_run *run, struct assessment *a)
{
	int counts[ERR__COUNT] = {0};
	double ttft[256], tps[256];
	size_t n_ttft = 0, n_tps = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		a->requests++;
		if (o == NULL)
			continue;
		if (observation_ok(o)) {
			a->ok_requests++;
			if (o->streamed && o->ttft_us >= 0 && n_ttft < 256)
				ttft[n_ttft++] = o->ttft_us / 1000.0;
			if (o->streamed && o->completion_tokens > 1 && o->n_chunks >= 2 && n_tps < 256) {
				double span = (o->chunk_us[o->n_chunks - 1] - o->chunk_us[0]) / 1e6;
				if (span > 0)
					tps[n_tps++] = (o->completion_tokens - 1) / span;
			}
		} else {
			counts[o->error]++;
		}
	}
	if (n_ttft > 0) {
		qsort(ttft, n_ttft, sizeof *ttft, cmp_double);
		a->ttft_ms = ttft[n_ttft / 2];
	}
	if (n_tps > 0) {
		qsort(tps, n_tps, sizeof *tps, cmp_double);
		a->tokens_per_s = tps[n_tps / 2];
	}
	int failed = a->requests - a->ok_requests;
	if (failed == 0)
		return;
	char expected[64], observed[256];
	snprintf(expected, sizeof expected, "%d of %d requests succeed", a->requests, a->requests);
	struct buf b;
	buf_init(&b, 0);
	buf_putf(&b, "%d failed:", failed);
	for (int e = 1; e < ERR__COUNT; e++)
		if (counts[e])
			buf_putf(&b, " %s %d", error_class_name(e), counts[e]);
	snprintf(observed, sizeof observed, "%s", b.data);
	buf_release(&b);
	if (counts[ERR_RATE_LIMITED] > 0)
		assessment_add(a, "rate_limited", 1.0, expected, observed, "", NULL,
		               "The relay refused %d of %d requests with 429 (rate limited) "
		               "under an audit's light load.",
		               counts[ERR_RATE_LIMITED], a->requests);
	if (failed > counts[ERR_RATE_LIMITED])
		assessment_add(a, "unavailable", (double)failed / a->requests, expected, observed, "",
		               NULL, "%d of %d requests failed (%s).", failed, a->requests,
		               observed);
}

void
scorer_assess(struct scorer *s, const struct audit_run *run, const struct baseline_model *claimed,
              struct assessment *a)
{
	detect_availability(run, a);
	a->tokens_spent = audit_tokens_spent(run);
	if (claimed != NULL && a->ok_requests > 0) {
		detect_tokenizer(s, run, claimed, a);
		detect_capability(run, claimed, a);
		detect_protocol(run, claimed, a);
	}
	assessment_decide(a);
}
