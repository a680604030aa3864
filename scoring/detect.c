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

#include "base/util.h"
#include "scoring/detectors/availability.h"
#include "scoring/mmd.h"
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

/* Relay text quoted as evidence: at most EVIDENCE_CAP bytes, cut at a
 * character boundary, "..." when cut. The caller frees it. */
#define EVIDENCE_CAP 60
static char *
evidence_snippet(const char *text)
{
	size_t n = strlen(text);
	char *cut = utf8_sanitize(text, n, EVIDENCE_CAP);
	if (n <= EVIDENCE_CAP)
		return cut;
	char *s = xasprintf("%s...", cut);
	free(cut);
	return s;
}

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

/*
 * Token accounting over every request of the run. Each hypothesis must
 * explain the reported prompt_tokens of each request exactly:
 *   claimed:   P = E(claimed) + c      (c = 0 honest, c > 0 hidden prompt)
 *   family f:  P = E(f) + c            (another model answers)
 *   inflation: P = F * E(claimed)      (over-billing by a factor)
 * With a dozen requests of randomly composed text, a wrong hypothesis
 * cannot explain them all by chance; the one that explains the most wins.
 * Requests the winner leaves out are judged one by one: an exact count of
 * another family there is partial substitution.
 */
static int cmp_double(const void *x, const void *y);

#define MAX_REQ 256

struct accounting {
	size_t n;
	size_t idx[MAX_REQ];
	long p[MAX_REQ];
	long e[N_FAMILIES][MAX_REQ]; /* exact count per family, -1 unknown */
	long c[N_FAMILIES];          /* each family's most common offset */
	size_t fits[N_FAMILIES];     /* requests it explains with that offset */
};

static void
fit_offsets(struct accounting *acc)
{
	for (size_t f = 0; f < N_FAMILIES; f++) {
		acc->fits[f] = 0;
		acc->c[f] = 0;
		for (size_t i = 0; i < acc->n; i++) {
			if (acc->e[f][i] < 0)
				continue;
			long off = acc->p[i] - acc->e[f][i];
			size_t k = 0;
			for (size_t j = 0; j < acc->n; j++)
				k += acc->e[f][j] >= 0 && acc->p[j] - acc->e[f][j] == off;
			if (k > acc->fits[f] ||
			    (k == acc->fits[f] && labs(off) < labs(acc->c[f]))) {
				acc->fits[f] = k;
				acc->c[f] = off;
			}
		}
	}
}

static size_t
family_index(const char *tokenizer)
{
	for (size_t i = 0; i < N_FAMILIES; i++)
		if (strcmp(families[i].tokenizer, tokenizer) == 0)
			return i;
	return N_FAMILIES;
}

static void
detect_tokenizer(struct scorer *s, const struct audit_run *run, const struct baseline_model *m,
                 struct assessment *a)
{
	if (m->tokenizer == NULL || m->template == NULL)
		return;
	size_t cf = family_index(m->tokenizer);
	if (cf == N_FAMILIES)
		return;
	struct accounting *acc = xcalloc(1, sizeof *acc);
	int usage_missing = 0;
	for (size_t i = 0; i < run->n_items && acc->n < MAX_REQ; i++) {
		const struct observation *o = run->items[i].obs;
		/* a truncated long prompt is the context detector's; tool definitions
		 * are counted by a formula no provider publishes */
		if (!observation_ok(o) || strcmp(run->items[i].probe->id, "long-context") == 0 ||
		    (run->items[i].probe->params_json != NULL &&
		     strstr(run->items[i].probe->params_json, "\"tools\"") != NULL))
			continue;
		if (o->prompt_tokens < 0) {
			usage_missing++;
			continue;
		}
		long ec = scorer_expected_prompt_tokens(s, families[cf].tokenizer,
		                                        families[cf].template, &run->items[i]);
		if (ec < 0)
			continue;
		size_t k = acc->n++;
		acc->idx[k] = i;
		acc->p[k] = o->prompt_tokens;
		for (size_t f = 0; f < N_FAMILIES; f++)
			acc->e[f][k] = f == cf
			                   ? ec
			                   : scorer_expected_prompt_tokens(s, families[f].tokenizer,
			                                                   families[f].template,
			                                                   &run->items[i]);
	}
	if (acc->n == 0 && usage_missing > 0) {
		assessment_add(a, "substitution", 0.5, "usage.prompt_tokens reported",
		               "no usage in the response", "all", NULL,
		               "The relay did not report token usage, which the official API "
		               "always does; this hides which tokenizer serves the request.");
	}
	if (acc->n < 3) {
		free(acc);
		return; /* too little to judge either way */
	}
	fit_offsets(acc);
	assessment_tested(a, 1);

	/* inflation: one factor for all, rounding either way */
	double ratios[MAX_REQ];
	size_t nr = 0;
	for (size_t i = 0; i < acc->n; i++)
		if (acc->e[cf][i] > 0)
			ratios[nr++] = (double)acc->p[i] / (double)acc->e[cf][i];
	qsort(ratios, nr, sizeof *ratios, cmp_double);
	double factor = nr ? ratios[nr / 2] : 1;
	size_t infl_fits = 0;
	if (factor > 1.04)
		for (size_t i = 0; i < acc->n; i++)
			infl_fits += fabs((double)acc->p[i] - factor * (double)acc->e[cf][i]) <=
			             1.0 + 0.01 * (double)acc->e[cf][i];

	/* the best other family */
	size_t of = N_FAMILIES;
	for (size_t f = 0; f < N_FAMILIES; f++)
		if (f != cf && (of == N_FAMILIES || acc->fits[f] > acc->fits[of]))
			of = f;

	char expected[256], observed[256];
	size_t n = acc->n;
	if (acc->fits[cf] == n) {
		long excess = acc->c[cf];
		if (excess > INJECTION_TOLERANCE) {
			double conf = excess >= 8 ? CONFIDENCE_VIOLATION : 0.9;
			snprintf(expected, sizeof expected, "the exact count of each request");
			snprintf(observed, sizeof observed,
			         "%ld more prompt tokens on every request", excess);
			assessment_add(
			    a, "prompt_injection", conf, expected, observed, "all", NULL,
			    "Every request is billed %ld prompt tokens more than the text "
			    "holds: the relay adds a hidden prompt of about %ld tokens.",
			    excess, excess);
		} else if (excess < -INJECTION_TOLERANCE) {
			snprintf(observed, sizeof observed,
			         "%ld fewer prompt tokens on every request", -excess);
			assessment_add(
			    a, "substitution", 0.5, "the exact count of each request", observed,
			    "all", NULL,
			    "Every request is counted %ld tokens short of %s's template: an "
			    "unusual server, not necessarily another model.",
			    -excess, m->name);
		} else {
			a->strong_checks_passed = 1;
		}
	} else if (of < N_FAMILIES && acc->fits[of] == n) {
		const char *served = model_for_tokenizer(s->pack, families[of].tokenizer);
		snprintf(expected, sizeof expected, "counts of the %s tokenizer", m->tokenizer);
		snprintf(observed, sizeof observed, "%zu of %zu requests counted exactly as %s", n,
		         n, families[of].tokenizer);
		assessment_add(a, "substitution", CONFIDENCE_VIOLATION, expected, observed, "all",
		               served,
		               "The relay counts tokens with the %s tokenizer, not %s's %s: "
		               "another model (most likely %s) is answering.",
		               families[of].tokenizer, m->name, m->tokenizer,
		               served ? served : families[of].tokenizer);
	} else if (infl_fits == n) {
		snprintf(expected, sizeof expected, "the exact count of each request");
		snprintf(observed, sizeof observed, "every request billed x%.2f", factor);
		assessment_add(a, "usage_inflation", factor > 1.1 ? CONFIDENCE_VIOLATION : 0.95,
		               expected, observed, "all", NULL,
		               "The relay bills %.0f%% more prompt tokens than the text holds, in "
		               "proportion to its length: usage is inflated.",
		               (factor - 1) * 100);
	} else {
		/* a mixture: each request either the claimed model's count or
		 * exactly another family's (with its own offset or the claimed
		 * one's). Every request explained, some by another family, is a
		 * relay that substitutes part of its traffic. */
		size_t swapped = 0, unexplained = 0;
		const char *family = NULL;
		for (size_t i = 0; i < n; i++) {
			if (acc->p[i] - acc->e[cf][i] == acc->c[cf])
				continue;
			const char *hit = NULL;
			for (size_t f = 0; f < N_FAMILIES && hit == NULL; f++)
				if (f != cf && acc->e[f][i] >= 0 &&
				    (acc->p[i] - acc->c[cf] == acc->e[f][i] ||
				     (acc->fits[f] >= 2 && acc->p[i] - acc->c[f] == acc->e[f][i])))
					hit = families[f].tokenizer;
			if (hit != NULL) {
				swapped++;
				family = hit;
			} else {
				unexplained++;
			}
		}
		if (swapped > 0 && unexplained == 0) {
			const char *served = model_for_tokenizer(s->pack, family);
			snprintf(expected, sizeof expected, "every request counted with %s",
			         m->tokenizer);
			snprintf(observed, sizeof observed, "%zu of %zu requests counted with %s",
			         swapped, n, family);
			assessment_add(
			    a, "substitution", CONFIDENCE_VIOLATION, expected, observed, "all",
			    served,
			    "%zu of %zu requests were answered by another model (its "
			    "tokenizer is %s, most likely %s): the relay substitutes part "
			    "of its traffic.",
			    swapped, n, family, served ? served : family);
			a->partial_substitution = 1;
		} else if (acc->fits[cf] * 2 > n) {
			snprintf(observed, sizeof observed,
			         "%zu of %zu requests off the exact count", n - acc->fits[cf], n);
			assessment_add(a, "substitution", 0.5, "the exact count of each request",
			               observed, "all", NULL,
			               "Some requests are counted differently from %s's tokenizer, "
			               "matching no other: too little to tell.",
			               m->name);
		} else {
			snprintf(expected, sizeof expected, "counts of the %s tokenizer",
			         m->tokenizer);
			snprintf(observed, sizeof observed, "only %zu of %zu requests fit it",
			         acc->fits[cf], n);
			assessment_add(
			    a, "substitution", 0.999, expected, observed, "all", NULL,
			    "The relay's token counts fit neither %s's tokenizer nor any "
			    "other known one: an unknown model may be answering.",
			    m->name);
			assessment_limit_last(
			    a); /* an unknown server, not proof of another model */
		}
	}
	free(acc);
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
detect_capability(const struct audit_run *run, const struct baseline_model *m, struct assessment *a)
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
		assessment_tested(a, 1);
		double tail = binomial_cdf(k, n, rate);
		if (tail >= 0.01)
			continue; /* within what the official model itself does */
		char expected[128], observed[128];
		snprintf(expected, sizeof expected, "correct about %.0f%% of the time", rate * 100);
		snprintf(observed, sizeof observed, "%d of %d correct", k, n);
		assessment_add(a, "substitution", 1 - tail, expected, observed, p->id, NULL,
		               "%s gets this known-answer question right about %.0f%% of the "
		               "time; the relay got %d of %d right.",
		               m->name, rate * 100, k, n);
		/* an answer test alone says "different", never "which" */
		assessment_limit_last(a);
	}
}

/*
 * The protocol fingerprint: what the responses look like around the answer.
 * A system_fingerprint recorded from another model's official API (and never
 * from the claimed one's) marks that request as served by the other model;
 * it is judged per request, so a partial swap shows. The reported model
 * name, the shape of ids and a missing system_fingerprint are weak hints
 * only: honest relays rename models and rewrite ids.
 */
static void
detect_protocol(struct scorer *s, const struct audit_run *run, const struct baseline_model *m,
                struct assessment *a)
{
	int named = 0, with_fp = 0, foreign_fp = 0, with_id = 0, odd_id = 0, ok = 0;
	const struct baseline_model *other = NULL;
	const char *seen_fp = NULL, *seen_id = NULL;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (!observation_ok(o))
			continue;
		ok++;
		if (!named && o->model != NULL && !baseline_name_matches(m, o->model)) {
			named = 1;
			assessment_add(a, "substitution", 0.6, m->name, o->model,
			               run->items[i].probe->id, NULL,
			               "The response names the model '%s', not %s (a weak hint: "
			               "some relays rename models honestly).",
			               o->model, m->name);
		}
		if (o->system_fingerprint != NULL && *o->system_fingerprint) {
			with_fp++;
			if (m->n_fingerprints > 0 &&
			    !baseline_has_fingerprint(m, o->system_fingerprint))
				for (size_t k = 0; k < s->pack->n; k++) {
					const struct baseline_model *x = &s->pack->models[k];
					if (x != m &&
					    baseline_has_fingerprint(x, o->system_fingerprint)) {
						foreign_fp++;
						other = x;
						seen_fp = o->system_fingerprint;
						break;
					}
				}
		}
		if (m->id_shape != NULL && o->id != NULL) {
			char shape[96];
			baseline_id_shape(o->id, shape, sizeof shape);
			with_id++;
			if (strcmp(shape, m->id_shape) != 0) {
				odd_id++;
				seen_id = o->id;
			}
		}
	}
	if (with_fp > 0 && m->n_fingerprints > 0)
		assessment_tested(a, 1);
	if (foreign_fp > 0) {
		char expected[160], observed[160];
		snprintf(expected, sizeof expected, "system_fingerprint values of %s", m->name);
		snprintf(observed, sizeof observed, "%d of %d responses carry %s's (%s)",
		         foreign_fp, with_fp, other->name, seen_fp);
		/* one request could be a stale pack; two are a pattern */
		assessment_add(a, "substitution", foreign_fp >= 2 ? CONFIDENCE_VIOLATION : 0.9,
		               expected, observed, "all", other->name,
		               "%d of %d responses carry a system_fingerprint recorded from %s's "
		               "official API, never from %s's: those requests were served by %s.",
		               foreign_fp, with_fp, other->name, m->name, other->name);
		if (foreign_fp < with_fp)
			a->partial_substitution = 1;
	}
	if (with_id > 0 && odd_id == with_id) {
		char shape[96];
		baseline_id_shape(seen_id, shape, sizeof shape);
		assessment_add(a, "substitution", 0.6, m->id_shape, shape, "all", NULL,
		               "Response ids look like %s, not like %s's official ids (%s) (a weak "
		               "hint: many relays write their own ids).",
		               shape, m->name, m->id_shape);
	}
	if (m->system_fingerprint && ok >= 5 && with_fp == 0)
		assessment_add(a, "substitution", 0.6, "a system_fingerprint", "none", "all", NULL,
		               "%s's official API sends a system_fingerprint; no response here did "
		               "(a weak hint: some relays drop it).",
		               m->name);
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
	for (size_t k = 0; k < s->pack->n; k++) {
		const struct baseline_model *x = &s->pack->models[k];
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
	assessment_add(a, "substitution", 1 - t->p_value, expected, observed, STYLE_PROBE,
	               t->closest ? t->closest->name : NULL,
	               "The relay's free answers (%zu, over %d run%s) do not look like %s's "
	               "(two-sample test, p = %.3f)%s%s.",
	               t->n, runs, runs == 1 ? "" : "s", claimed->name, t->p_value,
	               t->closest ? "; they look most like " : "",
	               t->closest ? t->closest->name : "");
	/* a distribution test says "different", rarely "which" */
	assessment_limit_last(a);
}

/* One run's free answers against the official model's recorded ones. */
static void
detect_style(struct scorer *s, const struct audit_run *run, const struct baseline_model *m,
             struct assessment *a)
{
	const char *texts[64];
	size_t n = audit_texts(run, STYLE_PROBE, texts, 64);
	struct style_test t;
	if (n >= 2 && scorer_style_test(s, m, texts, n, &t) == 0) {
		assessment_tested(a, 1);
		scorer_add_style_finding(m, &t, 1, a);
	}
}

/* Temperature 0: the same request twice must give the same answer. */
static void
detect_temperature(const struct audit_run *run, const struct baseline_model *m,
                   struct assessment *a)
{
	int agree = audit_answers_agree(run, "temp-zero");
	if (agree < 0 || !baseline_supports(m, "temperature"))
		return;
	assessment_tested(a, 1);
	if (agree)
		return;
	const char *texts[2];
	audit_texts(run, "temp-zero", texts, 2);
	char *shown = evidence_snippet(texts[1]);
	/* official models are not perfectly deterministic: the pack's recorded
	 * agreement rate bounds how surprising this is */
	double rate = baseline_answer_rate(m, "temp-zero");
	if (rate < 0)
		rate = 0.9;
	assessment_add(a, "param_ignored", rate, "the same answer each time", shown, "temp-zero",
	               NULL,
	               "The same request at temperature 0 gave different answers: the relay drops "
	               "or overrides temperature (%s agrees with itself %.0f%% of the time).",
	               m->name, rate * 100);
	assessment_limit_last(a);
	free(shown);
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

/* The answer's tokens recounted with the claimed tokenizer against the
 * reported completion_tokens, summed over the run. */
static void
detect_completion_usage(struct scorer *s, const struct audit_run *run,
                        const struct baseline_model *m, struct assessment *a)
{
	if (m->tokenizer == NULL)
		return;
	struct tokenizer *t = scorer_tokenizer(s, m->tokenizer);
	if (t == NULL)
		return;
	long reported = 0, counted = 0;
	int n = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (!observation_ok(o) || o->text == NULL || o->text_truncated ||
		    o->completion_tokens < 0)
			continue;
		long c = tokenizer_count(t, o->text, o->text_len);
		/* a factor only shows on answers long enough to round it */
		if (c < 10)
			continue;
		reported += o->completion_tokens;
		counted += c;
		n++;
	}
	if (n == 0 || counted < 20)
		return;
	assessment_tested(a, 1);
	double ratio = (double)reported / (double)counted;
	/* a token per answer can be an end marker */
	if (reported - counted <= (long)n + 2 || ratio < 1.05)
		return;
	char expected[128], observed[128];
	snprintf(expected, sizeof expected, "%ld completion tokens (recounted with %s)", counted,
	         m->tokenizer);
	snprintf(observed, sizeof observed, "%ld reported (x%.2f)", reported, ratio);
	assessment_add(a, "usage_inflation", ratio >= 1.1 ? CONFIDENCE_VIOLATION : 0.9, expected,
	               observed, "all", NULL,
	               "The relay billed %ld completion tokens for answers that hold %ld: "
	               "%.0f%% more than used.",
	               reported, counted, (ratio - 1) * 100);
}

/*
 * The long-context probe: a canary at the start of a long prompt. A relay
 * that keeps less context than the model has bills (and sends upstream)
 * fewer prompt tokens than the text holds, and loses the canary.
 */
static void
detect_context(struct scorer *s, const struct audit_run *run, const struct baseline_model *m,
               struct assessment *a)
{
	const struct audit_item *it = audit_find(run, "long-context");
	if (it == NULL || !observation_ok(it->obs) || m->tokenizer == NULL || m->template == NULL)
		return;
	long e = scorer_expected_prompt_tokens(s, m->tokenizer, m->template, it);
	assessment_tested(a, 1);
	long p = it->obs->prompt_tokens;
	if (e <= 0 || p < 0)
		return;
	const char *sent = strstr(it->messages[0].content, "[ref ");
	char hex[9] = "";
	if (sent != NULL)
		snprintf(hex, sizeof hex, "%.8s", sent + 5);
	int canary = hex[0] && it->obs->text && strstr(it->obs->text, hex) != NULL;
	char expected[128], observed[160];
	snprintf(expected, sizeof expected, "%ld prompt tokens (the whole text)", e);
	if (p < e * 95 / 100 && e - p > 50) {
		snprintf(observed, sizeof observed, "%ld prompt tokens (%.0f%% of it)%s", p,
		         100.0 * (double)p / (double)e, canary ? "" : "; the canary was lost");
		assessment_add(a, "context_truncation", CONFIDENCE_VIOLATION, expected, observed,
		               it->probe->id, NULL,
		               "A %ld-token prompt reached the model as %ld tokens: the relay cuts "
		               "context well below what %s accepts (%ld).",
		               e, p, m->name, m->context_window);
	}
}

/*
 * Speed against the official latency profile (when the pack has one): a
 * first token more than three times later, or a stream three times slower,
 * is degraded latency. Not a cheat: it informs uptime and the leaderboard.
 */
static void
detect_latency(const struct baseline_model *m, struct assessment *a)
{
	if (m->ttft_ms <= 0 || m->tokens_per_s <= 0)
		return;
	char expected[128], observed[128];
	if (a->ttft_ms > 3 * m->ttft_ms) {
		snprintf(expected, sizeof expected, "first token after about %.0f ms", m->ttft_ms);
		snprintf(observed, sizeof observed, "%.0f ms (median)", a->ttft_ms);
		assessment_add(a, "degraded_latency", a->ttft_ms > 6 * m->ttft_ms ? 0.99 : 0.9,
		               expected, observed, "ping", NULL,
		               "The first token comes %.1f times later than from the official API.",
		               a->ttft_ms / m->ttft_ms);
	} else if (a->tokens_per_s >= 0 && a->tokens_per_s * 3 < m->tokens_per_s) {
		snprintf(expected, sizeof expected, "about %.0f tokens/s", m->tokens_per_s);
		snprintf(observed, sizeof observed, "%.0f tokens/s (median)", a->tokens_per_s);
		assessment_add(a, "degraded_latency", 0.9, expected, observed, "speed", NULL,
		               "Answers stream %.1f times slower than from the official API.",
		               m->tokens_per_s / (a->tokens_per_s > 0 ? a->tokens_per_s : 1));
	}
}

/* finish_reason "length" below the max_tokens asked for: output is capped. */
static void
detect_output_cap(const struct audit_run *run, struct assessment *a)
{
	assessment_tested(a, 1);
	for (size_t i = 0; i < run->n_items; i++) {
		const struct audit_item *it = &run->items[i];
		const struct observation *o = it->obs;
		long asked = it->probe->max_tokens;
		if (!observation_ok(o) || asked < 32 || o->finish_reason == NULL ||
		    strcmp(o->finish_reason, "length") != 0 || o->completion_tokens < 0)
			continue;
		if (o->completion_tokens >= asked * 9 / 10)
			continue;
		char expected[128], observed[128];
		snprintf(expected, sizeof expected, "up to %ld tokens (max_tokens)", asked);
		snprintf(observed, sizeof observed, "stopped at %ld tokens, finish_reason length",
		         o->completion_tokens);
		assessment_add(a, "output_cap", CONFIDENCE_VIOLATION, expected, observed,
		               it->probe->id, NULL,
		               "Asked for up to %ld tokens, the answer was cut at %ld: the relay "
		               "caps output below what you pay for.",
		               asked, o->completion_tokens);
		return;
	}
}

/* Conformance: max_tokens and logprobs must be honoured. */
static void
detect_params(struct scorer *s, const struct audit_run *run, const struct baseline_model *m,
              struct assessment *a)
{
	static const char *const tested[] = {"max-tokens", "stop-seq", "json-mode", "tool-call",
	                                     "logprobs"};
	for (size_t k = 0; k < sizeof tested / sizeof tested[0]; k++) {
		const struct audit_item *t = audit_find(run, tested[k]);
		if (t != NULL && observation_ok(t->obs))
			assessment_tested(a, 1);
	}
	const struct audit_item *it = audit_find(run, "max-tokens");
	long got = -1;
	if (it != NULL && observation_ok(it->obs)) {
		/* the answer's own length, not what the relay billed for it */
		struct tokenizer *t = m->tokenizer ? scorer_tokenizer(s, m->tokenizer) : NULL;
		got = it->obs->completion_tokens;
		if (t != NULL && it->obs->text != NULL &&
		    (!it->obs->text_truncated || it->obs->stopped_early)) {
			long c = tokenizer_count(t, it->obs->text, it->obs->text_len);
			if (c >= 0 && (got < 0 || c < got))
				got = c;
		}
	}
	if (it != NULL && got > it->probe->max_tokens + 1) {
		char expected[64], observed[64];
		snprintf(expected, sizeof expected, "at most %ld completion tokens",
		         it->probe->max_tokens);
		snprintf(observed, sizeof observed, "%ld", got);
		assessment_add(a, "param_ignored", CONFIDENCE_VIOLATION, expected, observed,
		               it->probe->id, NULL,
		               "The relay ignored max_tokens=%ld and returned %ld tokens.",
		               it->probe->max_tokens, got);
	}
	it = audit_find(run, "stop-seq");
	if (it != NULL && observation_ok(it->obs) && it->obs->text != NULL &&
	    baseline_supports(m, "stop") && strchr(it->obs->text, '5') != NULL) {
		char *shown = evidence_snippet(it->obs->text);
		assessment_add(a, "param_ignored", CONFIDENCE_VIOLATION,
		               "output ends before the stop sequence \"5\"", shown, it->probe->id,
		               NULL,
		               "The relay ignored the stop sequence: the answer runs past it.");
		free(shown);
	}
	it = audit_find(run, "json-mode");
	if (it != NULL && observation_ok(it->obs) && it->obs->text != NULL &&
	    baseline_supports(m, "response_format")) {
		const char *t = it->obs->text;
		while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r')
			t++;
		if (*t != '{' && *t != '\0') {
			char *shown = evidence_snippet(t);
			assessment_add(a, "param_ignored", 0.999, "a JSON object", shown,
			               it->probe->id, NULL,
			               "JSON mode was asked for and the relay answered in prose: "
			               "response_format was dropped.");
			assessment_limit_last(a); /* a model may answer JSON mode in prose */
			free(shown);
		}
	}
	it = audit_find(run, "tool-call");
	if (it != NULL && observation_ok(it->obs) && baseline_supports(m, "tools") &&
	    !it->obs->tool_calls)
		assessment_add(a, "param_ignored", CONFIDENCE_VIOLATION,
		               "a tool call (tool_choice: required)", "a plain answer",
		               it->probe->id, NULL,
		               "The request required a tool call and the relay answered in text: "
		               "tools were dropped or the model behind it cannot call them.");
	it = audit_find(run, "logprobs");
	if (it != NULL && observation_ok(it->obs) && baseline_supports(m, "logprobs") &&
	    !it->obs->logprobs_present) {
		assessment_add(a, "param_ignored", 0.999, "choices[0].logprobs", "null or missing",
		               it->probe->id, NULL,
		               "%s returns logprobs when asked; the relay dropped them (a sign of "
		               "a different backend, or a stripped request).",
		               m->name);
		assessment_limit_last(a); /* some backends honestly lack logprobs */
	}
}

/* A stream whose chunks all arrive at once was buffered and replayed. */
static void
detect_stream_buffered(const struct audit_run *run, struct assessment *a)
{
	int streams = 0, bursts = 0;
	size_t chunks = 0;
	int64_t span_us = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (!observation_ok(o) || !o->streamed || o->n_chunks < 10)
			continue;
		if (o->timing_disturbed)
			continue; /* our own loop stalled: no word on this stream */
		streams++;
		int64_t span = o->chunk_us[o->n_chunks - 1] - o->chunk_us[0];
		/* faster than 10,000 tokens/s: no official model streams like that,
		 * and a burst survives a loaded machine's scheduling gaps */
		if ((double)span < (double)(o->n_chunks - 1) * 100.0) {
			bursts++;
			chunks = o->n_chunks;
			span_us = span;
		}
	}
	/* at least two streams judged, and every one of them burst */
	if (streams < 2)
		return;
	assessment_tested(a, 1);
	if (bursts < streams)
		return;
	/* faked streams also start late: the whole answer is waited for. A
	 * stalled reader bunches chunks too, but does not delay the first. */
	const struct audit_item *speed = audit_find(run, "speed");
	const char *const short_ids[] = {"ping", "max-tokens"};
	int64_t quick = -1; /* the faster first token of the short streams */
	for (size_t k = 0; k < 2; k++) {
		const struct audit_item *sh = audit_find(run, short_ids[k]);
		if (sh != NULL && observation_ok(sh->obs) && sh->obs->ttft_us > 0 &&
		    (quick < 0 || sh->obs->ttft_us < quick))
			quick = sh->obs->ttft_us;
	}
	if (speed != NULL && observation_ok(speed->obs) && quick > 0 &&
	    speed->obs->ttft_us * 2 < quick * 3)
		return;
	char observed[128];
	snprintf(observed, sizeof observed, "%zu chunks within %.2f ms", chunks, span_us / 1000.0);
	assessment_add(a, "stream_buffered", CONFIDENCE_VIOLATION,
	               "chunks spread over the generation time", observed, "speed", NULL,
	               "The stream's chunks all arrived at once: the relay waits for the whole "
	               "answer and fakes streaming, so the first token comes late.");
}

/* The echo probe must return this run's code: another code is a replay. */
static void
detect_cached(const struct audit_run *run, struct assessment *a)
{
	const struct audit_item *it = audit_find(run, "echo-nonce");
	if (it == NULL || !observation_ok(it->obs) || it->obs->text == NULL)
		return;
	assessment_tested(a, 1);
	const char *sent = strstr(it->messages[0].content, "[ref ");
	if (sent == NULL)
		return;
	char hex[9];
	snprintf(hex, sizeof hex, "%.8s", sent + 5);
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
			    a, "cached_response", CONFIDENCE_VIOLATION, hex, seen, it->probe->id,
			    NULL,
			    "Asked to repeat a fresh code, the relay answered with another "
			    "one: it replays stored answers instead of asking the model.");
			return;
		}
		i += k;
		if (!t[i])
			break;
	}
}

void
scorer_assess(struct scorer *s, const struct audit_run *run, const struct baseline_model *claimed,
              struct assessment *a)
{
	detect_availability(run, a);
	a->tokens_spent = audit_tokens_spent(run);
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o != NULL && o->prompt_tokens > 0)
			a->prompt_tokens += o->prompt_tokens;
		if (o != NULL && o->completion_tokens > 0)
			a->completion_tokens += o->completion_tokens;
	}
	if (claimed != NULL && claimed->price_in >= 0)
		a->cost_usd = (a->prompt_tokens * claimed->price_in +
		               a->completion_tokens * claimed->price_out) /
		              1e6;
	if (claimed != NULL && a->ok_requests > 0) {
		detect_tokenizer(s, run, claimed, a);
		if (a->partial_substitution)
			a->strong_checks_passed = 0;
		/* recounting only means something with the claimed tokenizer */
		if (a->strong_checks_passed)
			detect_completion_usage(s, run, claimed, a);
		detect_capability(run, claimed, a);
		detect_protocol(s, run, claimed, a);
		detect_style(s, run, claimed, a);
		detect_temperature(run, claimed, a);
		detect_output_cap(run, a);
		detect_context(s, run, claimed, a);
		detect_latency(claimed, a);
		detect_params(s, run, claimed, a);
		detect_stream_buffered(run, a);
		detect_cached(run, a);
	}
	assessment_decide(a);
}
