/*
 * conformance: the request's parameters honoured as the official API does.
 *
 * max_tokens (the answer's own length, recounted), stop sequences, JSON
 * mode, a required tool call and logprobs; temperature 0 giving one answer;
 * output not cut below what was asked for.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detect.h"
#include "scoring/detector.h"
#include "scoring/stats.h"
#include "scoring/tokenizer.h"

/* The size of the largest group of equal texts among n, and one of its
 * texts (*rep). */
static size_t
largest_group(const char *const *texts, size_t n, size_t *rep)
{
	size_t best = 0;
	for (size_t i = 0; i < n; i++) {
		size_t same = 0;
		for (size_t k = 0; k < n; k++)
			same += strcmp(texts[i], texts[k]) == 0;
		if (same > best) {
			best = same;
			*rep = i;
		}
	}
	return best;
}

/*
 * Temperature 0: the same request sent several times must give the same
 * answer. What differing answers measured decides the class: with three or
 * more, some equal and the rest not, the answers came from a few fixed
 * sources (part of the traffic served by another model, each deterministic
 * at temperature 0): substitution. All different is what sampling gives:
 * temperature dropped or overridden. Two that differ cannot tell the two
 * apart; that finding says so (scorer_attribute_disagreement).
 */
static void
detect_temperature(struct detect_ctx *ctx)
{
	const struct baseline_model *m = ctx->claimed;
	struct assessment *a = ctx->a;
	const char *texts[8];
	size_t n = audit_texts(ctx->run, "temp-zero", texts, 8);
	if (n < 2 || !baseline_supports(m, "temperature"))
		return;
	assessment_tested(a, 1);
	size_t rep = 0;
	size_t same = largest_group(texts, n, &rep);
	if (same == n)
		return;
	size_t other = 0; /* an answer outside the largest group */
	while (strcmp(texts[other], texts[rep]) == 0)
		other++;
	char *shown = evidence_snippet(texts[other]);
	/* official models are not perfectly deterministic: the pack's recorded
	 * agreement rate bounds how surprising this is */
	double rate = baseline_answer_rate(m, "temp-zero");
	if (rate < 0)
		rate = CONFIDENCE_SUGGESTIVE; /* no record: assume 90% self-agreement */
	if (n >= 3 && same >= 2) {
		assessment_add(a, CLASS_SUBSTITUTION, rate, "the same answer each time", shown,
		               "temp-zero", NULL,
		               "Of %zu answers to one temperature-0 request, %zu were the same and "
		               "the rest differed. That is the pattern of a few fixed sources, as "
		               "when part of the traffic goes to another model, more than of a "
		               "dropped temperature, whose samples rarely repeat (%s gave one answer "
		               "in %.0f%% of its recorded trials).",
		               n, same, m->name, rate * 100);
	} else {
		assessment_add(a, CLASS_PARAM_IGNORED, rate, "the same answer each time", shown,
		               "temp-zero", NULL,
		               "The same request at temperature 0 gave %zu different answers: the "
		               "relay drops or overrides temperature (%s agrees with itself %.0f%% "
		               "of the time).",
		               n, m->name, rate * 100);
	}
	assessment_limit_last(a);
	free(shown);
}

/* A model no pack knows may lack what every model of its API honours (a
 * relay-invented name over a small backend): what it drops makes a relay
 * suspect, never more. */
static void
limit_standin(struct assessment *a)
{
	if (a->baseline_origin != BASELINE_PACK)
		assessment_limit_last(a);
}

/* finish_reason "length" below the max_tokens asked for: output is capped. */
static void
detect_output_cap(struct detect_ctx *ctx)
{
	const struct audit_run *run = ctx->run;
	struct assessment *a = ctx->a;
	assessment_tested(a, 1);
	for (size_t i = 0; i < run->n_items; i++) {
		const struct audit_item *it = &run->items[i];
		const struct observation *o = it->obs;
		/* what the request carried (a reasoning model's reserve included) */
		long asked =
		    adapter_max_tokens(run->target.api, it->probe->max_tokens, &run->target.rules);
		if (!observation_ok(o) || it->probe->max_tokens < 32 || o->finish_reason == NULL ||
		    strcmp(o->finish_reason, "length") != 0 || o->completion_tokens < 0)
			continue;
		if (o->completion_tokens >= asked * 9 / 10)
			continue;
		char expected[128], observed[128];
		snprintf(expected, sizeof expected, "up to %ld tokens (max_tokens)", asked);
		snprintf(observed, sizeof observed, "stopped at %ld tokens, finish_reason length",
		         o->completion_tokens);
		assessment_add(a, CLASS_OUTPUT_CAP, CONFIDENCE_VIOLATION, expected, observed,
		               it->probe->id, NULL,
		               "Asked for up to %ld tokens, the answer was cut at %ld: the relay "
		               "caps output below what you pay for.",
		               asked, o->completion_tokens);
		return;
	}
}

/* Conformance: max_tokens and logprobs must be honoured. */
static void
detect_params(struct detect_ctx *ctx)
{
	const struct audit_run *run = ctx->run;
	const struct baseline_model *m = ctx->claimed;
	struct assessment *a = ctx->a;
	static const char *const tested[] = {"max-tokens", "stop-seq", "json-mode", "agent-shell",
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
		struct tokenizer *t =
		    m->tokenizer ? scorer_tokenizer(ctx->scorer, m->tokenizer) : NULL;
		got = it->obs->completion_tokens;
		if (t != NULL && it->obs->text != NULL &&
		    (!it->obs->text_truncated || it->obs->stopped_early)) {
			long c = tokenizer_count(t, it->obs->text, it->obs->text_len);
			if (c >= 0 && (got < 0 || c < got))
				got = c;
		}
	}
	/* the limit the request carried (Responses' floor is 16, above the probe's) */
	long limit = it != NULL ? adapter_max_tokens(run->target.api, it->probe->max_tokens,
	                                             &run->target.rules)
	                        : -1;
	if (it != NULL && got > limit + 1) {
		char expected[64], observed[64];
		snprintf(expected, sizeof expected, "at most %ld completion tokens", limit);
		snprintf(observed, sizeof observed, "%ld", got);
		assessment_add(
		    a, CLASS_PARAM_IGNORED, CONFIDENCE_VIOLATION, expected, observed, it->probe->id,
		    NULL, "The relay ignored max_tokens=%ld and returned %ld tokens.", limit, got);
	}
	it = audit_find(run, "stop-seq");
	if (it != NULL && observation_ok(it->obs) && it->obs->text != NULL &&
	    baseline_supports(m, "stop") && strchr(it->obs->text, '5') != NULL) {
		char *shown = evidence_snippet(it->obs->text);
		assessment_add(a, CLASS_PARAM_IGNORED, CONFIDENCE_VIOLATION,
		               "output ends before the stop sequence \"5\"", shown, it->probe->id,
		               NULL,
		               "The relay ignored the stop sequence: the answer runs past it.");
		limit_standin(a);
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
			assessment_add(a, CLASS_PARAM_IGNORED, CONFIDENCE_STRONG, "a JSON object",
			               shown, it->probe->id, NULL,
			               "JSON mode was asked for and the relay answered in prose: "
			               "response_format was dropped.");
			assessment_limit_last(a); /* a model may answer JSON mode in prose */
			free(shown);
		}
	}
	it = audit_find(run, "agent-shell");
	if (it != NULL && observation_ok(it->obs) && baseline_supports(m, "tools") &&
	    !it->obs->tool_calls) {
		assessment_add(a, CLASS_PARAM_IGNORED, CONFIDENCE_VIOLATION,
		               "a tool call (tool_choice: required)", "a plain answer",
		               it->probe->id, NULL,
		               "The request required a tool call and the relay answered in text: "
		               "tools were dropped or the model behind it cannot call them.");
		limit_standin(a);
	}
	it = audit_find(run, "logprobs");
	if (it != NULL && observation_ok(it->obs) && baseline_supports(m, "logprobs") &&
	    !it->obs->logprobs_present) {
		assessment_add(a, CLASS_PARAM_IGNORED, CONFIDENCE_STRONG, "choices[0].logprobs",
		               "null or missing", it->probe->id, NULL,
		               "%s returns logprobs when asked; the relay dropped them (a sign of "
		               "a different backend, or a stripped request).",
		               m->name);
		assessment_limit_last(a); /* some backends honestly lack logprobs */
	}
}

static const char *const temperature_probes[] = {"temp-zero", NULL};

const struct detector detector_temperature = {
    .name = "temperature",
    .probes = temperature_probes,
    .classes = CLASS_BIT(CLASS_PARAM_IGNORED) | CLASS_BIT(CLASS_SUBSTITUTION),
    .needs_claimed = 1,
    .run = detect_temperature,
};

static const char *const output_cap_probes[] = {"speed", "long-output", NULL};

const struct detector detector_output_cap = {
    .name = "output-cap",
    .probes = output_cap_probes,
    .classes = CLASS_BIT(CLASS_OUTPUT_CAP),
    .needs_claimed = 1,
    .run = detect_output_cap,
};

static const char *const params_probes[] = {"max-tokens", "stop-seq", "json-mode",
                                            "agent-shell",  "logprobs", NULL};

const struct detector detector_params = {
    .name = "params",
    .probes = params_probes,
    .classes = CLASS_BIT(CLASS_PARAM_IGNORED),
    .needs_claimed = 1,
    .run = detect_params,
};
