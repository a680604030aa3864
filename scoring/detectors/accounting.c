/*
 * accounting: what the relay bills against what was sent and produced,
 * counted exactly with the real tokenizers.
 *
 * The prompt side fits one hypothesis to every request (the claimed
 * tokenizer plus a constant: honest, or a hidden prompt; another family:
 * substitution, whole or partial; one factor: over-billing). The completion
 * side recounts the answers. The long-context probe's count shows a relay
 * that cuts context. A model without a public tokenizer (Claude) is judged
 * against every public family: counts that one of them explains exactly
 * name it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detect.h"
#include "scoring/detector.h"
#include "scoring/identify.h"
#include "scoring/stats.h"
#include "scoring/tokenizer.h"

/* Excess prompt tokens on a minimal request that we still call normal:
 * official counts can differ by a token or two between snapshots. */
#define INJECTION_TOLERANCE 2

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
#define MAX_REQ 256

struct accounting {
	size_t n;
	size_t idx[MAX_REQ];
	long p[MAX_REQ];
	long e[N_TOKEN_FAMILIES][MAX_REQ]; /* exact count per family, -1 unknown */
	long c[N_TOKEN_FAMILIES];          /* each family's most common offset */
	size_t fits[N_TOKEN_FAMILIES];     /* requests it explains with that offset */
};

static void
fit_offsets(struct accounting *acc)
{
	for (size_t f = 0; f < N_TOKEN_FAMILIES; f++) {
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

/*
 * The claimed model has no public tokenizer (Claude): the counts can still
 * name another family. Every request counted exactly by one public
 * tokenizer (up to one constant: its template, a prompt around ours) is that
 * family answering; counts that no public tokenizer explains are what the
 * claimed model's own private one would give. Returns 1 when at least three
 * requests were counted and no public family explains them.
 */
static int
detect_private_tokenizer(struct scorer *s, struct accounting *acc, const struct baseline_model *m,
                         struct assessment *a)
{
	if (acc->n < 3)
		return 0;
	fit_offsets(acc);
	assessment_tested(a, 1);
	size_t of = N_TOKEN_FAMILIES;
	for (size_t f = 0; f < N_TOKEN_FAMILIES; f++)
		if (acc->fits[f] == acc->n &&
		    (of == N_TOKEN_FAMILIES || labs(acc->c[f]) < labs(acc->c[of])))
			of = f;
	if (of == N_TOKEN_FAMILIES) {
		if (m->origin != BASELINE_PACK)
			a->identified =
			    xasprintf("the input token counts of %zu requests match none of "
			              "the known public tokenizers",
			              acc->n);
		return 1;
	}
	const char *tok = token_families[of].tokenizer;
	const char *served = model_for_tokenizer(scorer_pack(s), tok);
	/* a stand-in: the match accuses only against the name's own line; a
	 * pack model's private tokenizer may be a public one's (Gemini's is said
	 * to be Gemma 3's): then the match identifies, it accuses no one */
	const char *own_line = m->origin == BASELINE_PACK ? model_line(m->name) : NULL;
	if ((m->origin != BASELINE_PACK &&
	     (m->line == NULL || line_uses_tokenizer(scorer_pack(s), m->line, tok))) ||
	    (own_line != NULL && line_uses_tokenizer(scorer_pack(s), own_line, tok))) {
		a->identified = xasprintf(
		    "the input token counts of all %zu requests are the %s tokenizer's exactly%s "
		    "(the tokenizer of %s)%s",
		    acc->n, tok, acc->c[of] ? " plus a constant" : "", served ? served : tok,
		    own_line  ? ", which the name's line may use: its own tokenizer is not public"
		    : m->line ? ", as the name's line uses"
		              : "; the name names no known line, so "
		                "this identifies the model, it accuses no one");
		return 0;
	}
	char expected[256], observed[256];
	if (m->origin != BASELINE_PACK)
		snprintf(expected, sizeof expected, "counts of a %s model's tokenizer", m->line);
	else
		snprintf(expected, sizeof expected, "counts of %s's own tokenizer (not public)",
		         m->name);
	if (acc->c[of] == 0)
		snprintf(observed, sizeof observed, "%zu of %zu requests counted exactly as %s",
		         acc->n, acc->n, tok);
	else
		snprintf(observed, sizeof observed,
		         "%zu of %zu requests counted exactly as %s, %+ld tokens each", acc->n,
		         acc->n, tok, acc->c[of]);
	if (m->origin != BASELINE_PACK)
		assessment_add(
		    a, CLASS_SUBSTITUTION, CONFIDENCE_VIOLATION, expected, observed, "all", served,
		    "Every request's input tokens equal the %s tokenizer's exact count%s: "
		    "%s names a %s model, and no %s model known to Assay counts with %s, "
		    "so another model (most likely %s) is answering.",
		    tok, acc->c[of] ? " plus a constant" : "", m->name, m->line, m->line, tok,
		    served ? served : tok);
	else
		assessment_add(
		    a, CLASS_SUBSTITUTION, CONFIDENCE_VIOLATION, expected, observed, "all", served,
		    "Every request's input tokens equal the %s tokenizer's exact count%s: "
		    "%s's own tokenizer counts differently, so another model (most likely "
		    "%s) is answering.",
		    tok, acc->c[of] ? " plus a constant" : "", m->name, served ? served : tok);
	return 0;
}

/*
 * The counts as an e-value for serve's ledger (assessment_evidence,
 * scoring/evalue.h), on every run with counts to judge: request i "fires"
 * when its count is not the claimed tokenizer's (with the claimed family's
 * usual offset) but exactly another family's. An honest relay's request
 * does so with probability at most ACCOUNTING_NULL_RATE (the detector calls
 * one a violation, p = 1e-5; we allow a hundredfold more), so
 * prod_i (1 + (1{fired_i} / rate - 1) / 2) has expectation at most 1: a
 * half-Kelly bet per request. A whole swap is decisive in one run, a 20%
 * one in a run or two; clean runs cost a factor 2 per request, which only
 * the e-value, not the ledger's other evidence, pays.
 */
#define ACCOUNTING_NULL_RATE 1e-3

static void
report_evidence(const struct accounting *acc, size_t cf, struct assessment *a)
{
	double log_e = 0;
	for (size_t i = 0; i < acc->n; i++) {
		int fired = 0;
		if (acc->p[i] - acc->e[cf][i] != acc->c[cf])
			for (size_t f = 0; f < N_TOKEN_FAMILIES && !fired; f++)
				fired =
				    f != cf && acc->e[f][i] >= 0 &&
				    (acc->p[i] == acc->e[f][i] ||
				     (acc->fits[f] >= 2 && acc->p[i] - acc->c[f] == acc->e[f][i]));
		log_e += log1p(((fired ? 1 / ACCOUNTING_NULL_RATE : 0) - 1) / 2);
	}
	assessment_evidence(a, CLASS_SUBSTITUTION, exp(log_e > 700 ? 700 : log_e));
}

static void
detect_tokenizer(struct scorer *s, const struct audit_run *run, const struct baseline_model *m,
                 struct assessment *a)
{
	/* a claimed model without a public tokenizer is judged against all */
	size_t cf =
	    m->tokenizer && m->template ? token_family_index(m->tokenizer) : N_TOKEN_FAMILIES;
	if (m->tokenizer != NULL && cf == N_TOKEN_FAMILIES)
		return; /* a public tokenizer we do not ship */
	struct accounting *acc = xcalloc(1, sizeof *acc);
	int usage_missing = 0;
	for (size_t i = 0; i < run->n_items && acc->n < MAX_REQ; i++) {
		const struct observation *o = run->items[i].obs;
		/* a truncated long prompt is the context detector's; tool definitions
		 * are counted by a formula no provider publishes, attachments by
		 * one that differs per model (probes/media.h) */
		if (!observation_ok(o) || strcmp(run->items[i].probe->id, "long-context") == 0 ||
		    run->items[i].probe->intent.tool_name != NULL ||
		    run->items[i].probe->tier == TIER_LONG ||
		    run->items[i].probe->intent.attach != MEDIA_NONE)
			continue;
		/* zero input tokens is no count (some translators report none) */
		if (o->prompt_tokens < 0 || (cf == N_TOKEN_FAMILIES && o->prompt_tokens == 0)) {
			usage_missing++;
			continue;
		}
		long e[N_TOKEN_FAMILIES];
		int any = 0;
		for (size_t f = 0; f < N_TOKEN_FAMILIES; f++) {
			e[f] = scorer_expected_prompt_tokens(s, token_families[f].tokenizer,
			                                     token_families[f].template,
			                                     &run->items[i]);
			any |= e[f] >= 0;
		}
		if ((cf < N_TOKEN_FAMILIES && e[cf] < 0) || !any)
			continue;
		size_t k = acc->n++;
		acc->idx[k] = i;
		acc->p[k] = o->prompt_tokens;
		for (size_t f = 0; f < N_TOKEN_FAMILIES; f++)
			acc->e[f][k] = e[f];
	}
	if (cf == N_TOKEN_FAMILIES) {
		if (acc->n == 0 && usage_missing > 0)
			assessment_add(
			    a, CLASS_SUBSTITUTION, CONFIDENCE_ODD, "usage.input_tokens reported",
			    "no input token count in the response", "all", NULL,
			    "The relay did not report input tokens, which the official API "
			    "always does; this hides which tokenizer serves the request.");
		a->private_tokenizer_unlike_public = detect_private_tokenizer(s, acc, m, a);
		free(acc);
		return;
	}
	if (acc->n == 0 && usage_missing > 0) {
		assessment_add(a, CLASS_SUBSTITUTION, CONFIDENCE_ODD,
		               "usage.prompt_tokens reported", "no usage in the response", "all",
		               NULL,
		               "The relay did not report token usage, which the official API "
		               "always does; this hides which tokenizer serves the request.");
	}
	if (acc->n < 3) {
		free(acc);
		return; /* too little to judge either way */
	}
	fit_offsets(acc);
	assessment_tested(a, 1);
	report_evidence(acc, cf, a);

	/* inflation: one factor for all, rounding either way */
	double ratios[MAX_REQ];
	size_t nr = 0;
	for (size_t i = 0; i < acc->n; i++)
		if (acc->e[cf][i] > 0)
			ratios[nr++] = (double)acc->p[i] / (double)acc->e[cf][i];
	qsort(ratios, nr, sizeof *ratios, stats_cmp_double);
	double factor = nr ? ratios[nr / 2] : 1;
	size_t infl_fits = 0;
	if (factor > 1.04)
		for (size_t i = 0; i < acc->n; i++)
			infl_fits += fabs((double)acc->p[i] - factor * (double)acc->e[cf][i]) <=
			             1.0 + 0.01 * (double)acc->e[cf][i];

	/* the best other family */
	size_t of = N_TOKEN_FAMILIES;
	for (size_t f = 0; f < N_TOKEN_FAMILIES; f++)
		if (f != cf && (of == N_TOKEN_FAMILIES || acc->fits[f] > acc->fits[of]))
			of = f;

	char expected[256], observed[256];
	size_t n = acc->n;
	if (acc->fits[cf] == n) {
		long excess = acc->c[cf];
		if (excess > INJECTION_TOLERANCE) {
			double conf = excess >= 8 ? CONFIDENCE_VIOLATION : CONFIDENCE_SUGGESTIVE;
			snprintf(expected, sizeof expected, "the exact count of each request");
			snprintf(observed, sizeof observed,
			         "%ld more prompt tokens on every request", excess);
			assessment_add(
			    a, CLASS_PROMPT_INJECTION, conf, expected, observed, "all", NULL,
			    "Every request is billed %ld prompt tokens more than the text "
			    "holds: the relay adds a hidden prompt of about %ld tokens.",
			    excess, excess);
		} else if (excess < -INJECTION_TOLERANCE) {
			snprintf(observed, sizeof observed,
			         "%ld fewer prompt tokens on every request", -excess);
			assessment_add(
			    a, CLASS_SUBSTITUTION, CONFIDENCE_ODD,
			    "the exact count of each request", observed, "all", NULL,
			    "Every request is counted %ld tokens short of %s's template: an "
			    "unusual server, not necessarily another model.",
			    -excess, m->name);
		} else {
			a->strong_checks_passed = 1;
		}
	} else if (of < N_TOKEN_FAMILIES && acc->fits[of] == n) {
		const char *served =
		    model_for_tokenizer(scorer_pack(s), token_families[of].tokenizer);
		snprintf(expected, sizeof expected, "counts of the %s tokenizer", m->tokenizer);
		snprintf(observed, sizeof observed, "%zu of %zu requests counted exactly as %s", n,
		         n, token_families[of].tokenizer);
		assessment_add(a, CLASS_SUBSTITUTION, CONFIDENCE_VIOLATION, expected, observed,
		               "all", served,
		               "The relay counts tokens with the %s tokenizer, not %s's %s: "
		               "another model (most likely %s) is answering.",
		               token_families[of].tokenizer, m->name, m->tokenizer,
		               served ? served : token_families[of].tokenizer);
	} else if (infl_fits == n) {
		snprintf(expected, sizeof expected, "the exact count of each request");
		snprintf(observed, sizeof observed, "every request billed x%.2f", factor);
		assessment_add(a, CLASS_USAGE_INFLATION,
		               factor > 1.1 ? CONFIDENCE_VIOLATION : CONFIDENCE_PROBABLE, expected,
		               observed, "all", NULL,
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
			for (size_t f = 0; f < N_TOKEN_FAMILIES && hit == NULL; f++)
				if (f != cf && acc->e[f][i] >= 0 &&
				    (acc->p[i] - acc->c[cf] == acc->e[f][i] ||
				     (acc->fits[f] >= 2 && acc->p[i] - acc->c[f] == acc->e[f][i])))
					hit = token_families[f].tokenizer;
			if (hit != NULL) {
				swapped++;
				family = hit;
			} else {
				unexplained++;
			}
		}
		if (swapped > 0 && unexplained == 0) {
			const char *served = model_for_tokenizer(scorer_pack(s), family);
			snprintf(expected, sizeof expected, "every request counted with %s",
			         m->tokenizer);
			snprintf(observed, sizeof observed, "%zu of %zu requests counted with %s",
			         swapped, n, family);
			assessment_add(
			    a, CLASS_SUBSTITUTION, CONFIDENCE_VIOLATION, expected, observed, "all",
			    served,
			    "%zu of %zu requests were answered by another model (its "
			    "tokenizer is %s, most likely %s): the relay substitutes part "
			    "of its traffic.",
			    swapped, n, family, served ? served : family);
			a->partial_substitution = 1;
		} else if (acc->fits[cf] * 2 > n) {
			snprintf(observed, sizeof observed,
			         "%zu of %zu requests off the exact count", n - acc->fits[cf], n);
			assessment_add(a, CLASS_SUBSTITUTION, CONFIDENCE_ODD,
			               "the exact count of each request", observed, "all", NULL,
			               "Some requests are counted differently from %s's tokenizer, "
			               "matching no other: too little to tell.",
			               m->name);
		} else {
			snprintf(expected, sizeof expected, "counts of the %s tokenizer",
			         m->tokenizer);
			snprintf(observed, sizeof observed, "only %zu of %zu requests fit it",
			         acc->fits[cf], n);
			assessment_add(
			    a, CLASS_SUBSTITUTION, CONFIDENCE_STRONG, expected, observed, "all",
			    NULL,
			    "The relay's token counts fit neither %s's tokenizer nor any "
			    "other known one: an unknown model may be answering.",
			    m->name);
			assessment_limit_last(
			    a); /* an unknown server, not proof of another model */
		}
	}
	free(acc);
}

/* The answer's tokens recounted with the claimed tokenizer against the
 * reported completion_tokens, summed over the run. A reasoning model's
 * completion_tokens include the reasoning_tokens it reports, which no text
 * shows: they are left out of what the text is held to (and cannot be
 * recounted; a relay inflating them is not caught here). */
static void
detect_completion_usage(struct detect_ctx *ctx)
{
	const struct baseline_model *m = ctx->claimed;
	struct assessment *a = ctx->a;
	if (m->tokenizer == NULL)
		return;
	struct tokenizer *t = scorer_tokenizer(ctx->scorer, m->tokenizer);
	if (t == NULL)
		return;
	const struct request_rules *rules = &ctx->run->target.rules;
	int thinks =
	    rules->reserve > 0 || (rules->effort[0] != '\0' && strcmp(rules->effort, "none") != 0);
	long reported = 0, counted = 0;
	int n = 0;
	for (size_t i = 0; i < ctx->run->n_items; i++) {
		const struct observation *o = ctx->run->items[i].obs;
		if (!observation_ok(o) || o->text == NULL || o->text_truncated ||
		    o->completion_tokens < 0)
			continue;
		/* a key or canary redacted out of the text: it no longer holds
		 * what the relay billed for */
		if (o->secrets_echoed > 0 || o->canary_echoed > 0)
			continue;
		/* a model that thinks, with no count of its thinking (vLLM hands
		 * gpt-oss's back as text, outside usage): what its answer holds
		 * says nothing of what it billed */
		if (thinks && o->reasoning_tokens < 0)
			continue;
		long c = tokenizer_count(t, o->text, o->text_len);
		/* a factor only shows on answers long enough to round it */
		if (c < 10)
			continue;
		reported += o->completion_tokens -
		            (o->reasoning_tokens > 0 && o->reasoning_tokens <= o->completion_tokens
		                 ? o->reasoning_tokens
		                 : 0);
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
	assessment_add(a, CLASS_USAGE_INFLATION,
	               ratio >= 1.1 ? CONFIDENCE_VIOLATION : CONFIDENCE_SUGGESTIVE, expected,
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
/* The words (runs of non-space) of an item's messages. */
static long
prompt_words(const struct audit_item *it)
{
	long n = 0;
	for (size_t m = 0; m < it->n_messages; m++) {
		int in = 0;
		for (const char *c = it->messages[m].content; *c; c++) {
			int space = *c == ' ' || *c == '\n' || *c == '\t' || *c == '\r';
			n += !space && !in;
			in = !space;
		}
	}
	return n;
}

static void
detect_context_probe(struct detect_ctx *ctx, const char *probe)
{
	struct scorer *s = ctx->scorer;
	const struct baseline_model *m = ctx->claimed;
	const struct audit_item *it = audit_find(ctx->run, probe);
	if (it == NULL || !observation_ok(it->obs))
		return;
	long e = m->tokenizer != NULL && m->template != NULL
	             ? scorer_expected_prompt_tokens(s, m->tokenizer, m->template, it)
	             : -1;
	int bound = 0;
	if (m->tokenizer == NULL && it->probe->tier == TIER_LONG) {
		/* no public tokenizer (Claude): the prompt's words are a floor,
		 * each at least a token in every BPE that splits at spaces (the
		 * filler's words are common ones), with a tenth off for safety */
		e = prompt_words(it) * 9 / 10;
		bound = 1;
	}
	if (e < 0)
		return;
	assessment_tested(ctx->a, 1);
	long p = it->obs->prompt_tokens;
	if (e <= 0 || p < 0)
		return;
	/* the canary is the item's nonce, hidden in the text as a code */
	char hex[9] = "";
	snprintf(hex, sizeof hex, "%.8s", it->nonce);
	int canary = hex[0] && it->obs->text && strstr(it->obs->text, hex) != NULL;
	char expected[128], observed[160];
	snprintf(expected, sizeof expected, "%s%ld prompt tokens (the whole text)",
	         bound ? "at least " : "", e);
	/* without the exact count, the lost canary must confirm the cut */
	if (p < e * 95 / 100 && e - p > 50 && (!bound || !canary)) {
		snprintf(observed, sizeof observed, "%ld prompt tokens (%.0f%% of it)%s", p,
		         100.0 * (double)p / (double)e, canary ? "" : "; the canary was lost");
		assessment_add(ctx->a, CLASS_CONTEXT_TRUNCATION, CONFIDENCE_VIOLATION, expected,
		               observed, it->probe->id, NULL,
		               "A %ld-token prompt reached the model as %ld tokens: the relay cuts "
		               "context well below what %s accepts (%ld).",
		               e, p, m->name, m->context_window);
	}
}

static const char *const accounting_probes[] = {"tokfp-short", "tokfp-long",  "tokfp-digits",
                                                "tokfp-cjk",   "tokfp-emoji",
                                                "tokfp-mixed", NULL};

static void
run_accounting(struct detect_ctx *c)
{
	detect_tokenizer(c->scorer, c->run, c->claimed, c->a);
	/* a partial swap leaves the claimed tokenizer unproven */
	if (c->a->partial_substitution)
		c->a->strong_checks_passed = 0;
}

const struct detector detector_accounting = {
    .name = "accounting",
    .probes = accounting_probes,
    .classes = CLASS_BIT(CLASS_SUBSTITUTION) | CLASS_BIT(CLASS_PROMPT_INJECTION) |
               CLASS_BIT(CLASS_USAGE_INFLATION),
    .needs_claimed = 1,
    .run = run_accounting,
};

static void
run_completion_usage(struct detect_ctx *c)
{
	/* recounting only means something with the claimed tokenizer */
	if (c->a->strong_checks_passed)
		detect_completion_usage(c);
}

const struct detector detector_completion_usage = {
    .name = "completion-usage",
    .probes = NULL,
    .classes = CLASS_BIT(CLASS_USAGE_INFLATION),
    .needs_claimed = 1,
    .run = run_completion_usage,
};

/* The deep tier's long-context probe, and the long-context tier's needle
 * at half depth in a prompt near the sold window (assay audit
 * --long-context): both held to the exact count. */
static void
detect_context(struct detect_ctx *ctx)
{
	detect_context_probe(ctx, "long-context");
	detect_context_probe(ctx, "long-context-tier");
}

static const char *const context_probes[] = {"long-context", "long-context-tier", NULL};

const struct detector detector_context = {
    .name = "context",
    .probes = context_probes,
    .classes = CLASS_BIT(CLASS_CONTEXT_TRUNCATION),
    .needs_claimed = 1,
    .run = detect_context,
};
