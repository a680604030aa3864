/*
 * ledger: per target, a ring of run records (time and which classes were
 * found, at which level), the latest finding of each class to show, and
 * each cheating class's e-processes (scoring/evalue.h).
 *
 * A run's e-value for class c is g(p_c), g the calibrator and p_c the
 * smallest Holm-corrected p-value of the run's findings of c (Holm controls
 * the family-wise error, so p_c is a valid p-value for "c is not
 * happening"; 1 when none fired), counting the hints that say over_runs
 * (one run's fingerprint test: too little for the run, fresh evidence for
 * the e-process that can make suspect at most; within the suspect budget,
 * such a run also holds a decision as a sighting); runs are fresh audits,
 * independent given the past under the null, so the product is a test
 * supermartingale. A detector's own e-value for the class
 * (assessment_evidence) is averaged in. The window no longer feeds a test
 * of its own: re-testing a sliding window after every run is the
 * fixed-sample repetition whose false positives add up. The ledger also pools the style probe's
 * answers over the window (ledger_answers).
 */
#include "scoring/ledger.h"
#include "scoring/ledger_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "scoring/stats.h"
#include "scoring/targets.h"

#define MAX_RUNS 4096
#define ANSWERS_CAP 64 /* pooled answers kept per target */

/* classes as bits: 16 bits held only the first 16 (channel_misrepresented
 * and capability_stripped, the 17th and 18th, were dropped from every run,
 * so serve's verdict on them changed at each run) */
struct run_rec {
	int64_t at_ms;
	uint32_t misbehaving; /* classes found at the misbehaving level */
	uint32_t suspect;     /* classes found at the suspect level only */
};
_Static_assert(CLASS__COUNT <= 32, "a run's classes are bits of a uint32_t");

struct shown {
	int present;
	int convicts; /* it reached misbehaving itself (not at most suspect) */
	double confidence, p_adjusted;
	int64_t at_ms;
	char *expected, *observed, *summary, *probe, *served;
};

struct ledger_target {
	struct target_key key; /* first: scoring/targets.h */
	struct run_rec runs[MAX_RUNS];
	size_t head, n; /* ring */
	struct shown last[CLASS__COUNT];
	struct ledger_evidence ev[CLASS__COUNT];
	int ev_ready; /* ev[] initialised */
	struct {
		int64_t at_ms;
		char *text;
	} answers[ANSWERS_CAP]; /* ring, oldest at answers_head */
	size_t answers_head, n_answers;
};

struct ledger {
	int64_t window_ms;
	double share; /* of the budgets this ledger may spend (ledger_set_budget_share) */
	struct target_key *targets; /* of struct ledger_target */
};

struct ledger *
ledger_new(int64_t window_ms)
{
	struct ledger *l = xcalloc(1, sizeof *l);
	l->window_ms = window_ms > 0 ? window_ms : 24LL * 3600 * 1000;
	l->share = 1;
	return l;
}

static void
shown_release(struct shown *s)
{
	free(s->expected);
	free(s->observed);
	free(s->summary);
	free(s->probe);
	free(s->served);
	memset(s, 0, sizeof *s);
}

/* What a target's record holds beyond its key (a targets_free release). */
static void
target_release(void *record)
{
	struct ledger_target *t = record;
	for (int c = 0; c < CLASS__COUNT; c++)
		shown_release(&t->last[c]);
	for (size_t i = 0; i < t->n_answers; i++)
		free(t->answers[(t->answers_head + i) % ANSWERS_CAP].text);
}

void
ledger_free(struct ledger *l)
{
	if (l == NULL)
		return;
	targets_free(&l->targets, target_release);
	free(l);
}

long
ledger_runs(const struct ledger *l, const char *relay, const char *model)
{
	const struct ledger_target *t = targets_find(l->targets, relay, model);
	return t != NULL ? (long)t->n : 0;
}

static void
ledger_time(char *out, size_t n, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

/* Drop runs that left the window ending at at_ms. */
static void
drop_old(const struct ledger *l, struct ledger_target *t, int64_t at_ms)
{
	while (t->n > 0 && t->runs[t->head].at_ms < at_ms - l->window_ms) {
		t->head = (t->head + 1) % MAX_RUNS;
		t->n--;
	}
}

static int
n_window(const struct ledger_target *t)
{
	return (int)t->n;
}

static void
push_run(struct ledger_target *t, const struct run_rec *rec)
{
	if (t->n == MAX_RUNS) {
		t->head = (t->head + 1) % MAX_RUNS;
		t->n--;
	}
	t->runs[(t->head + t->n) % MAX_RUNS] = *rec;
	t->n++;
}

static void
shown_set(struct shown *s, const struct ledger_shown *from)
{
	shown_release(s);
	*s = (struct shown){.present = 1,
	                    .convicts = from->convicts,
	                    .confidence = from->confidence,
	                    .p_adjusted = from->p_adjusted,
	                    .at_ms = from->at_ms,
	                    .expected = xstrdup(from->expected ? from->expected : ""),
	                    .observed = xstrdup(from->observed ? from->observed : ""),
	                    .summary = xstrdup(from->summary ? from->summary : ""),
	                    .probe = xstrdup(from->probe ? from->probe : ""),
	                    .served = from->served ? xstrdup(from->served) : NULL};
}

static struct ledger_shown
shown_view(const struct shown *s, enum finding_class c)
{
	return (struct ledger_shown){.cls = c,
	                             .convicts = s->convicts,
	                             .confidence = s->confidence,
	                             .p_adjusted = s->p_adjusted,
	                             .at_ms = s->at_ms,
	                             .expected = s->expected,
	                             .observed = s->observed,
	                             .summary = s->summary,
	                             .probe = s->probe,
	                             .served = s->served};
}

/* The target's record, its evidence started at at_ms if new. */
static struct ledger_target *
target_at(struct ledger *l, const char *relay, const char *model, int64_t at_ms)
{
	struct ledger_target *t = targets_get(&l->targets, sizeof *t, relay, model);
	if (!t->ev_ready) {
		for (int c = 0; c < CLASS__COUNT; c++) {
			t->ev[c] = (struct ledger_evidence){.cls = (enum finding_class)c,
			                                    .level = VERDICT_GENUINE,
			                                    .since_ms = at_ms};
			eprocess_init(&t->ev[c].conv);
			eprocess_init(&t->ev[c].lim);
		}
		t->ev_ready = 1;
	}
	return t;
}

int64_t
ledger_window_ms(const struct ledger *l)
{
	return l->window_ms;
}

void
ledger_set_budget_share(struct ledger *l, double share)
{
	l->share = share > 0 && share <= 1 ? share : 1;
}

void
ledger_restore_run(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
                   unsigned misbehaving, unsigned suspect)
{
	struct ledger_target *t = target_at(l, relay, model, at_ms);
	drop_old(l, t, at_ms);
	struct run_rec rec = {
	    .at_ms = at_ms, .misbehaving = (uint32_t)misbehaving, .suspect = (uint32_t)suspect};
	push_run(t, &rec);
}

void
ledger_restore_shown(struct ledger *l, const char *relay, const char *model,
                     const struct ledger_shown *shown)
{
	if ((unsigned)shown->cls >= CLASS__COUNT)
		return;
	struct ledger_target *t = target_at(l, relay, model, shown->at_ms);
	shown_set(&t->last[shown->cls], shown);
}

void
ledger_restore_evidence(struct ledger *l, const char *relay, const char *model,
                        const struct ledger_evidence *ev)
{
	if ((unsigned)ev->cls >= CLASS__COUNT || !class_info(ev->cls)->cheat)
		return;
	struct ledger_target *t = target_at(l, relay, model, ev->since_ms);
	t->ev[ev->cls] = *ev;
}

/* What decides suspect: a weighted mean of the two e-processes (itself an
 * e-process), two thirds on the convicting findings so that one violation
 * is suspect at once. */
static double
evidence_suspect_e(const struct ledger_evidence *ev)
{
	return (2 * eprocess_value(&ev->conv) + eprocess_value(&ev->lim)) / 3;
}

double
ledger_evalue(const struct ledger *l, const char *relay, const char *model, enum finding_class cls,
              int *level)
{
	const struct ledger_target *t = targets_find(l->targets, relay, model);
	*level = VERDICT_GENUINE;
	if (t == NULL || !t->ev_ready || (unsigned)cls >= CLASS__COUNT)
		return 0;
	*level = t->ev[cls].level;
	double conv = eprocess_value(&t->ev[cls].conv), sus = evidence_suspect_e(&t->ev[cls]);
	return conv > sus ? conv : sus;
}

/*
 * The run's e-values for class c: conv from the findings that may convict,
 * lim from those that can make suspect at most. A class with findings that
 * carry their own e-value (scoring/evalue.h's contract) takes the mean of
 * the calibrated p and their e-Bonferroni share over the run's tests.
 */
static void
run_evalues(const struct assessment *a, enum finding_class c, double *conv, double *lim)
{
	double p[2] = {1, 1}, esum[2] = {0, 0};
	int has_e[2] = {0, 0};
	for (size_t i = 0; i < a->n_findings; i++) {
		const struct finding *f = &a->findings[i];
		if (f->cls != c || f->p_adjusted < 0)
			continue;
		/* a hint decides nothing in its run; one whose answers are the
		 * run's own (over_runs: the fingerprints) is still evidence */
		if (f->hint_only && !(f->over_runs && f->at_most_suspect))
			continue;
		int k = f->at_most_suspect ? 1 : 0;
		if (f->evalue > 0) {
			has_e[k] = 1;
			esum[k] += f->evalue;
		} else if (f->p_adjusted < p[k]) {
			p[k] = f->p_adjusted;
		}
	}
	double tests = a->tests_run > 1 ? a->tests_run : 1;
	double e[2];
	for (int k = 0; k < 2; k++)
		e[k] = has_e[k] ? (evalue_from_p(p[k]) + esum[k] / tests) / 2 : evalue_from_p(p[k]);
	/* a detector's own e-value for the class (assessment_evidence): the mean
	 * of two e-values is one */
	double reported = assessment_evidence_of(a, c);
	if (reported >= 0)
		e[0] = (e[0] + reported) / 2;
	*conv = e[0];
	*lim = e[1];
}

/* A finding of the run that decides nothing by itself: a hint, with the
 * evidence so far in its summary. */
static void
make_hint(struct finding *f, double e, double needed)
{
	char buf[1280];
	snprintf(buf, sizeof buf,
	         "%s (one run's evidence; across runs the e-value is %.3g, %.3g decides)",
	         f->summary, e, needed);
	free(f->summary);
	f->summary = xstrdup(buf);
	f->hint_only = 1;
}

/* A hint its run cannot act on whose p-value the e-process still bets on
 * (over_runs: the fingerprints), within the suspect budget after the run's
 * correction: the run saw the class, as far as holding a decision goes. */
static int
over_runs_sighting(const struct finding *f)
{
	return f->hint_only && f->over_runs && f->at_most_suspect && f->p_adjusted >= 0 &&
	       f->p_adjusted <= FP_BUDGET_SUSPECT;
}

void
ledger_evidence_step(struct ledger_evidence *ev, int seen, int counts, double conv, double lim,
                     int64_t at_ms, double share)
{
	const double m = class_cheat_count();
	if (!(share > 0 && share <= 1))
		share = 1;
	if (ev->level != VERDICT_GENUINE && seen == 0) {
		/* decided, and no run of the window saw it since: start afresh */
		enum finding_class c = ev->cls;
		*ev =
		    (struct ledger_evidence){.cls = c, .level = VERDICT_GENUINE, .since_ms = at_ms};
		eprocess_init(&ev->conv);
		eprocess_init(&ev->lim);
	}
	if (counts) {
		eprocess_update(&ev->conv, conv);
		eprocess_update(&ev->lim, lim);
	}
	double e_mis = eprocess_value(&ev->conv), e_sus = evidence_suspect_e(ev);
	if (ev->level != VERDICT_MISBEHAVING &&
	    e_mis >= evalue_threshold(share * FP_BUDGET_MISBEHAVING, (int)m)) {
		ev->level = VERDICT_MISBEHAVING;
		ev->decided_ms = at_ms;
	} else if (ev->level == VERDICT_GENUINE &&
	           e_sus >= evalue_threshold(share * FP_BUDGET_SUSPECT, (int)m)) {
		ev->level = VERDICT_SUSPECT;
		ev->decided_ms = at_ms;
	}
}

double
ledger_evidence_suspect_e(const struct ledger_evidence *ev)
{
	return evidence_suspect_e(ev);
}

void
ledger_fold(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
            struct assessment *a, struct ledger_entry *entry)
{
	struct ledger_target *t = target_at(l, relay, model, at_ms);
	drop_old(l, t, at_ms);
	if (entry != NULL)
		memset(entry, 0, sizeof *entry);
	unsigned replaced = 0;
	struct run_rec rec = {.at_ms = at_ms};
	for (size_t i = 0; i < a->n_findings; i++) {
		const struct finding *f = &a->findings[i];
		int c = (int)f->cls;
		if (!class_info(f->cls)->cheat)
			continue;
		if (finding_reaches(f, VERDICT_MISBEHAVING))
			rec.misbehaving |= (uint32_t)1u << c;
		else if (finding_reaches(f, VERDICT_SUSPECT) || over_runs_sighting(f))
			rec.suspect |= (uint32_t)1u << c;
		else
			continue;
		/* the run's finding that convicts is shown before one that can only
		 * make suspect (an answer test beside the token counts), then the
		 * more confident */
		struct shown *s = &t->last[c];
		int convicts = finding_reaches(f, VERDICT_MISBEHAVING);
		if (s->present && s->at_ms == at_ms &&
		    (s->convicts > convicts ||
		     (s->convicts == convicts && s->confidence >= f->confidence)))
			continue;
		struct ledger_shown from = {.cls = f->cls,
		                            .convicts = convicts,
		                            .confidence = f->confidence,
		                            .p_adjusted = f->p_adjusted,
		                            .at_ms = at_ms,
		                            .expected = f->expected,
		                            .observed = f->observed,
		                            .summary = f->summary,
		                            .probe = f->probe,
		                            .served = f->served};
		shown_set(s, &from);
		replaced |= 1u << c;
	}
	push_run(t, &rec);
	if (entry != NULL) {
		entry->at_ms = at_ms;
		entry->misbehaving = rec.misbehaving;
		entry->suspect = rec.suspect;
		for (int c = 0; c < CLASS__COUNT; c++)
			if (replaced & (1u << c))
				entry->shown[entry->n_shown++] =
				    shown_view(&t->last[c], (enum finding_class)c);
	}

	/* the run's evidence into each class's e-process, then the decisions */
	const double m = class_cheat_count();
	const double need_mis = evalue_threshold(l->share * FP_BUDGET_MISBEHAVING, (int)m),
	             need_sus = evalue_threshold(l->share * FP_BUDGET_SUSPECT, (int)m);
	int counts = a->ok_requests > 0; /* a run nothing answered bets nothing */
	if (entry != NULL)
		entry->run_counts = counts;
	for (int c = 0; c < CLASS__COUNT; c++) {
		if (!class_info((enum finding_class)c)->cheat)
			continue;
		struct ledger_evidence *ev = &t->ev[c];
		int sus = 0;
		for (size_t i = 0; i < t->n; i++) {
			const struct run_rec *r = &t->runs[(t->head + i) % MAX_RUNS];
			sus += ((r->suspect | r->misbehaving) >> c) & 1;
		}
		double ce = 0, le = 0;
		if (counts)
			run_evalues(a, (enum finding_class)c, &ce, &le);
		if (entry != NULL) {
			entry->run_conv[c] = ce;
			entry->run_lim[c] = le;
		}
		ledger_evidence_step(ev, sus, counts, ce, le, at_ms, l->share);
		double e_mis = eprocess_value(&ev->conv), e_sus = evidence_suspect_e(ev);
		const struct shown *s = &t->last[c];
		if (ev->level == VERDICT_GENUINE || !s->present) {
			/* undecided: the run's own findings of c are hints */
			for (size_t i = 0; i < a->n_findings; i++)
				if (a->findings[i].cls == (enum finding_class)c &&
				    !a->findings[i].hint_only && a->findings[i].p_adjusted >= 0 &&
				    a->findings[i].p_adjusted <= FP_BUDGET_SUSPECT)
					make_hint(&a->findings[i], e_mis > e_sus ? e_mis : e_sus,
					          need_sus);
			continue;
		}
		int convicts = ev->level == VERDICT_MISBEHAVING;
		double e = convicts ? e_mis : e_sus,
		       budget = convicts ? FP_BUDGET_MISBEHAVING : FP_BUDGET_SUSPECT;
		/* p = m / E (Markov and Bonferroni), no larger than the level's budget
		 * once decided: a decision holds while the window still sees c */
		double p_adj = e > 0 ? m / (l->share * e) : 1;
		if (p_adj > budget)
			p_adj = budget;
		char when[64], since[64], summary[1024];
		ledger_time(when, sizeof when, s->at_ms);
		ledger_time(since, sizeof since, ev->since_ms);
		snprintf(summary, sizeof summary,
		         "Evidence of %ld runs since %s: e-value %.3g (%s at %.3g); seen in %d of "
		         "the last %d runs (latest %s): %s",
		         ev->conv.updates, since, e, convicts ? "misbehaving" : "suspect",
		         convicts ? need_mis : need_sus, sus, n_window(t), when, s->summary);
		/* the ledger's finding replaces the run's own of this class */
		assessment_remove_class(a, (enum finding_class)c);
		assessment_add(a, (enum finding_class)c, 1 - p_adj, s->expected, s->observed,
		               s->probe, s->served, "%s", summary);
		struct finding *f = &a->findings[a->n_findings - 1];
		f->p_adjusted = p_adj;
		f->preadjusted = 1; /* the ledger's own test, not one of this run's */
		f->at_most_suspect = !convicts;
	}
	if (entry != NULL)
		for (int c = 0; c < CLASS__COUNT; c++)
			if (class_info((enum finding_class)c)->cheat)
				entry->evidence[entry->n_evidence++] = t->ev[c];
	assessment_decide(a);
}

void
ledger_add_answers(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
                   const char *const *texts, size_t n)
{
	struct ledger_target *t = target_at(l, relay, model, at_ms);
	while (t->n_answers > 0 && (t->answers[t->answers_head].at_ms < at_ms - l->window_ms ||
	                            t->n_answers + n > ANSWERS_CAP)) {
		free(t->answers[t->answers_head].text);
		t->answers_head = (t->answers_head + 1) % ANSWERS_CAP;
		t->n_answers--;
	}
	for (size_t i = 0; i < n && t->n_answers < ANSWERS_CAP; i++) {
		size_t k = (t->answers_head + t->n_answers++) % ANSWERS_CAP;
		t->answers[k].at_ms = at_ms;
		t->answers[k].text = xstrdup(texts[i]);
	}
}

size_t
ledger_answers(const struct ledger *l, const char *relay, const char *model, const char **out,
               size_t cap, int *runs)
{
	*runs = 0;
	const struct ledger_target *t = targets_find(l->targets, relay, model);
	if (t == NULL)
		return 0;
	size_t n = 0;
	int64_t last = -1;
	for (size_t i = 0; i < t->n_answers && n < cap; i++) {
		size_t k = (t->answers_head + i) % ANSWERS_CAP;
		out[n++] = t->answers[k].text;
		if (t->answers[k].at_ms != last)
			(*runs)++;
		last = t->answers[k].at_ms;
	}
	return n;
}

void
ledger_clear_answers(struct ledger *l, const char *relay, const char *model)
{
	struct ledger_target *t = (struct ledger_target *)targets_find(l->targets, relay, model);
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n_answers; i++)
		free(t->answers[(t->answers_head + i) % ANSWERS_CAP].text);
	t->answers_head = t->n_answers = 0;
}
