/*
 * verdict: the rule from findings to a verdict, and the JSON shape.
 */
#include "scoring/verdict.h"
#include "scoring/listing.h"
#include "scoring/origin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/stats.h"

static const char *const names[] = {
    [VERDICT_GENUINE] = "genuine",         [VERDICT_SUSPECT] = "suspect",
    [VERDICT_MISBEHAVING] = "misbehaving", [VERDICT_INCONCLUSIVE] = "inconclusive",
    [VERDICT_UNREACHABLE] = "unreachable",
};

const char *
verdict_name(enum verdict v)
{
	return (unsigned)v <= VERDICT_UNREACHABLE ? names[v] : "inconclusive";
}

int
verdict_from_name(const char *name)
{
	return name_index(names, VERDICT_UNREACHABLE + 1, name);
}

double
verdict_honesty(enum verdict v)
{
	switch (v) {
	case VERDICT_GENUINE:
		return 1.0;
	case VERDICT_INCONCLUSIVE:
		return 0.7;
	case VERDICT_UNREACHABLE:
		return 0.5;
	case VERDICT_SUSPECT:
		return 0.4;
	default:
		return 0.0;
	}
}

int
verdict_exit_status(enum verdict v)
{
	switch (v) {
	case VERDICT_GENUINE:
		return 0;
	case VERDICT_MISBEHAVING:
		return 1;
	default:
		return 3;
	}
}

int
finding_class_is_cheat(const char *class)
{
	int c = class_from_name(class);
	return c >= 0 && class_info((enum finding_class)c)->cheat;
}

static void
finding_release(struct finding *f)
{
	free(f->class);
	free(f->expected);
	free(f->observed);
	free(f->summary);
	free(f->probe);
	free(f->served);
}

void
assessment_init(struct assessment *a)
{
	memset(a, 0, sizeof *a);
	a->verdict = VERDICT_INCONCLUSIVE;
	a->ttft_ms = -1;
	a->tokens_per_s = -1;
	a->cost_usd = -1;
}

static void
notes_free(struct skipped_probe *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].probe);
		free(list[i].reason);
	}
	free(list);
}

void
assessment_release(struct assessment *a)
{
	for (size_t i = 0; i < a->n_findings; i++)
		finding_release(&a->findings[i]);
	free(a->findings);
	notes_free(a->skipped, a->n_skipped);
	notes_free(a->unjudged, a->n_unjudged);
	free(a->reason);
	free(a->genuine_reason);
	free(a->identified);
	free(a->listing_note);
	free(a->origin_note);
	assessment_init(a);
}

void
assessment_add(struct assessment *a, enum finding_class cls, double confidence,
               const char *expected, const char *observed, const char *probe, const char *served,
               const char *summary_fmt, ...)
{
	a->findings = xrealloc(a->findings, (a->n_findings + 1) * sizeof *a->findings);
	struct finding *f = &a->findings[a->n_findings++];
	f->cls = cls;
	f->class = xstrdup(class_name(cls));
	f->confidence = confidence < 0 ? 0 : confidence > 1 ? 1 : confidence;
	f->expected = xstrdup(expected ? expected : "");
	f->observed = xstrdup(observed ? observed : "");
	f->probe = xstrdup(probe ? probe : "");
	f->served = served ? xstrdup(served) : NULL;
	f->at_most_suspect = 0;
	f->hint_only = 0;
	f->over_runs = 0;
	f->p_adjusted = -1;
	f->preadjusted = 0;
	f->evalue = 0;
	char summary[1024];
	va_list ap;
	va_start(ap, summary_fmt);
	vsnprintf(summary, sizeof summary, summary_fmt, ap);
	va_end(ap);
	f->summary = xstrdup(summary);
}

void
assessment_limit_last(struct assessment *a)
{
	if (a->n_findings > 0)
		a->findings[a->n_findings - 1].at_most_suspect = 1;
}

void
assessment_hint_last(struct assessment *a)
{
	if (a->n_findings > 0)
		a->findings[a->n_findings - 1].hint_only = 1;
}

void
assessment_evidence(struct assessment *a, enum finding_class c, double e)
{
	if ((unsigned)c >= CLASS__COUNT || !(e >= 0))
		return;
	a->evidence_sum[c] += e;
	a->evidence_n[c]++;
}

double
assessment_evidence_of(const struct assessment *a, enum finding_class c)
{
	if ((unsigned)c >= CLASS__COUNT || a->evidence_n[c] == 0)
		return -1;
	return a->evidence_sum[c] / a->evidence_n[c];
}

void
assessment_evalue_last(struct assessment *a, double e)
{
	if (a->n_findings == 0 || !(e > 0))
		return;
	struct finding *f = &a->findings[a->n_findings - 1];
	f->evalue = e;
	f->confidence = e > 1 ? 1 - 1 / e : 0;
}

/* One more (name, reason) pair on a list of them, strings copied. */
static void
note_append(struct skipped_probe **list, size_t *n, const char *name, const char *reason)
{
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[*n].probe = xstrdup(name);
	(*list)[*n].reason = xstrdup(reason ? reason : "");
	(*n)++;
}

void
assessment_skip(struct assessment *a, const char *probe, const char *reason)
{
	note_append(&a->skipped, &a->n_skipped, probe, reason);
}

void
assessment_unjudged(struct assessment *a, const char *check, const char *reason)
{
	note_append(&a->unjudged, &a->n_unjudged, check, reason);
}

int
assessment_reliable(const struct assessment *a)
{
	return a->requests > 0 && (double)a->ok_requests >= RELIABLE_SHARE * a->requests;
}

void
assessment_tested(struct assessment *a, int n)
{
	a->tests_run += n;
}

int
finding_reaches(const struct finding *f, enum verdict v)
{
	if (!class_info(f->cls)->cheat || f->p_adjusted < 0 || f->hint_only)
		return 0;
	if (v == VERDICT_MISBEHAVING)
		return !f->at_most_suspect && f->p_adjusted <= FP_BUDGET_MISBEHAVING;
	if (v == VERDICT_SUSPECT)
		return f->p_adjusted <= FP_BUDGET_SUSPECT;
	return 0;
}

/*
 * Holm's step-down (scoring/stats.h) over the cheat findings' p-values out
 * of every test run: tests that found nothing are the largest p-values and
 * need no entry. Findings the ledger already corrected keep theirs.
 */
static void
holm_adjust(struct assessment *a)
{
	struct finding **order = xcalloc(a->n_findings + 1, sizeof *order);
	double *p = xcalloc(a->n_findings + 1, sizeof *p),
	       *adj = xcalloc(a->n_findings + 1, sizeof *adj);
	size_t k = 0;
	for (size_t i = 0; i < a->n_findings; i++) {
		struct finding *f = &a->findings[i];
		if (f->preadjusted)
			continue;
		f->p_adjusted = -1;
		if (class_info(f->cls)->cheat) {
			p[k] = 1 - f->confidence;
			order[k++] = f;
		}
	}
	stats_holm(p, k, (size_t)a->tests_run > k ? (size_t)a->tests_run : k, adj);
	for (size_t i = 0; i < k; i++)
		order[i]->p_adjusted = adj[i];
	free(order);
	free(p);
	free(adj);
}

void
assessment_remove_class(struct assessment *a, enum finding_class cls)
{
	size_t k = 0;
	for (size_t i = 0; i < a->n_findings; i++) {
		if (a->findings[i].cls == cls)
			finding_release(&a->findings[i]);
		else
			a->findings[k++] = a->findings[i];
	}
	a->n_findings = k;
}

static void set_reason(struct assessment *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What only a model's recorded or documented facts let an audit check. */
static const char *const needs_baseline[] = {
    "the model's own tokenizer (prompt and completion recounts, hidden prompts, inflation)",
    "answers and answer style against recorded ones",
    "temperature, logprobs and JSON mode support",
    "the official latency profile",
    "system_fingerprint values and response id prefixes",
    "the context window and output limit",
    "the official price (cost)",
    NULL,
};

const char *const *
assessment_not_checked(const struct assessment *a)
{
	return a->baseline_origin == BASELINE_PACK ? NULL : needs_baseline;
}

static void
set_reason(struct assessment *a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(a->reason);
	a->reason = xstrdup(buf);
}

void
assessment_decide(struct assessment *a)
{
	holm_adjust(a);
	const struct finding *worst = NULL, *doubt = NULL;
	for (size_t i = 0; i < a->n_findings; i++) {
		struct finding *f = &a->findings[i];
		f->hint = class_info(f->cls)->cheat && !finding_reaches(f, VERDICT_SUSPECT);
		if (finding_reaches(f, VERDICT_MISBEHAVING) &&
		    (worst == NULL || f->p_adjusted < worst->p_adjusted))
			worst = f;
		if (finding_reaches(f, VERDICT_SUSPECT) &&
		    (doubt == NULL || f->p_adjusted < doubt->p_adjusted))
			doubt = f;
	}
	if (a->ok_requests == 0) {
		a->verdict = VERDICT_UNREACHABLE;
		set_reason(a, "no request of %d succeeded", a->requests);
	} else if (worst != NULL) {
		a->verdict = VERDICT_MISBEHAVING;
		set_reason(a, "%s: %s", worst->class, worst->summary);
	} else if (doubt != NULL) {
		worst = doubt;
		a->verdict = VERDICT_SUSPECT;
		set_reason(a, "possible %s, not yet certain: %s", worst->class, worst->summary);
	} else if (a->baseline_origin != BASELINE_PACK) {
		a->verdict = VERDICT_INCONCLUSIVE;
		set_reason(a,
		           "no baseline for this model: the checks that need none found nothing "
		           "wrong, and the model's identity is unconfirmed%s%s",
		           a->identified ? "; " : "", a->identified ? a->identified : "");
	} else if (a->strong_checks_passed && !assessment_reliable(a)) {
		a->verdict = VERDICT_INCONCLUSIVE;
		set_reason(a,
		           "the relay is unreliable: only %d of %d requests succeeded, too few to "
		           "call it genuine (what did answer showed no cheating)",
		           a->ok_requests, a->requests);
	} else if (a->strong_checks_passed) {
		a->verdict = VERDICT_GENUINE;
		char cut[160] = "";
		if (a->budget_unsent > 0)
			snprintf(cut, sizeof cut,
			         " (%d probe%s not sent within the budget of %ld tokens)",
			         a->budget_unsent, a->budget_unsent == 1 ? "" : "s",
			         a->budget_tokens);
		set_reason(a, "%s%s",
		           a->genuine_reason ? a->genuine_reason
		                             : "token counts match the official tokenizer "
		                               "and no check failed",
		           cut);
	} else {
		a->verdict = VERDICT_INCONCLUSIVE;
		set_reason(a, "not enough evidence either way");
	}
}

json_t *
assessment_to_json(const struct assessment *a)
{
	json_t *root = json_object();
	json_object_set_new(root, "verdict", json_string(verdict_name(a->verdict)));
	json_object_set_new(root, "reason", json_string(a->reason ? a->reason : ""));
	json_t *fs = json_array(), *hints = json_array();
	for (size_t i = 0; i < a->n_findings; i++) {
		const struct finding *f = &a->findings[i];
		json_t *jf = json_object();
		json_object_set_new(jf, "class", json_string(f->class));
		json_object_set_new(jf, "confidence", json_real(f->confidence));
		/* the p-value after correcting for every test the audit ran */
		if (f->p_adjusted >= 0)
			json_object_set_new(jf, "p_adjusted", json_real(f->p_adjusted));
		json_t *ev = json_object();
		json_object_set_new(ev, "expected", json_string(f->expected));
		json_object_set_new(ev, "observed", json_string(f->observed));
		json_object_set_new(ev, "summary", json_string(f->summary));
		json_object_set_new(ev, "probe", json_string(f->probe));
		json_object_set_new(jf, "evidence", ev);
		if (f->served != NULL)
			json_object_set_new(jf, "served_model", json_string(f->served));
		json_array_append_new(f->hint ? hints : fs, jf);
	}
	json_object_set_new(root, "findings", fs);
	json_object_set_new(root, "hints", hints);
	json_t *sk = json_array();
	for (size_t i = 0; i < a->n_skipped; i++)
		json_array_append_new(sk, json_pack("{s:s, s:s}", "probe", a->skipped[i].probe,
		                                    "reason", a->skipped[i].reason));
	json_object_set_new(root, "skipped", sk);
	json_t *uj = json_array();
	for (size_t i = 0; i < a->n_unjudged; i++)
		json_array_append_new(uj, json_pack("{s:s, s:s}", "check", a->unjudged[i].probe,
		                                    "reason", a->unjudged[i].reason));
	json_object_set_new(root, "not_judged", uj);
	json_object_set_new(root, "baseline",
	                    json_string(a->baseline_origin == BASELINE_PACK   ? "pack"
	                                : a->baseline_origin == BASELINE_NAME ? "name only"
	                                                                      : "none"));
	if (a->identified != NULL)
		json_object_set_new(root, "identification", json_string(a->identified));
	if (a->listing != LISTING_NOT_ASKED)
		json_object_set_new(root, "model_list",
		                    json_pack("{s:s, s:I, s:s?}", "status",
		                              listing_state_name((enum listing_state)a->listing),
		                              "models", (json_int_t)a->listing_count, "note",
		                              a->listing_note));
	if (a->origin_note != NULL) {
		json_t *counts = json_object();
		for (int k = 0; k < ORIGIN__COUNT; k++)
			if (a->origin_counts[k] > 0)
				json_object_set_new(counts,
				                    origin_backend_name((enum origin_backend)k),
				                    json_integer(a->origin_counts[k]));
		json_object_set_new(
		    root, "origin",
		    json_pack("{s:o, s:s}", "requests", counts, "note", a->origin_note));
	}
	const char *const *nc = assessment_not_checked(a);
	if (nc != NULL) {
		json_t *l = json_array();
		for (; *nc != NULL; nc++)
			json_array_append_new(l, json_string(*nc));
		json_object_set_new(root, "not_checked", l);
	}
	json_object_set_new(root, "reliability",
	                    json_pack("{s:b, s:f}", "reliable", assessment_reliable(a), "ok_share",
	                              a->requests ? (double)a->ok_requests / a->requests : 0.0));
	json_object_set_new(root, "tests_run", json_integer(a->tests_run));
	json_object_set_new(root, "tokens_spent", json_integer(a->tokens_spent));
	json_object_set_new(root, "budget_tokens",
	                    a->budget_tokens > 0 ? json_integer(a->budget_tokens) : json_null());
	json_object_set_new(root, "unsent_for_budget", json_integer(a->budget_unsent));
	json_object_set_new(root, "prompt_tokens", json_integer(a->prompt_tokens));
	json_object_set_new(root, "completion_tokens", json_integer(a->completion_tokens));
	json_object_set_new(root, "estimated_cost_usd",
	                    a->cost_usd >= 0 ? json_real(a->cost_usd) : json_null());
	json_object_set_new(root, "requests", json_integer(a->requests));
	json_object_set_new(root, "ok_requests", json_integer(a->ok_requests));
	json_object_set_new(root, "ttft_ms", a->ttft_ms >= 0 ? json_real(a->ttft_ms) : json_null());
	json_object_set_new(root, "tokens_per_s",
	                    a->tokens_per_s >= 0 ? json_real(a->tokens_per_s) : json_null());
	return root;
}
