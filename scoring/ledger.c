/*
 * ledger: per target, a ring of run records (time and which classes were
 * found, at which level) and the latest finding of each class to show.
 *
 * A run's finding counts at the level its verdict rule gave it (see
 * finding_reaches). Suspect-level sightings are allowed the suspect
 * false-positive budget per run; k of them for one class in n runs have
 * p = P(X >= k), X ~ Binomial(n, FP_BUDGET_SUSPECT), corrected (Bonferroni)
 * for the cheating classes watched (scoring/classes.h). The ledger also pools the style probe's
 * answers over the window for the two-sample test (ledger_answers).
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

struct run_rec {
	int64_t at_ms;
	uint16_t misbehaving; /* classes found at the misbehaving level */
	uint16_t suspect;     /* classes found at the suspect level only */
};

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
	struct {
		int64_t at_ms;
		char *text;
	} answers[ANSWERS_CAP]; /* ring, oldest at answers_head */
	size_t answers_head, n_answers;
};

struct ledger {
	int64_t window_ms;
	struct target_key *targets; /* of struct ledger_target */
};

struct ledger *
ledger_new(int64_t window_ms)
{
	struct ledger *l = xcalloc(1, sizeof *l);
	l->window_ms = window_ms > 0 ? window_ms : 24LL * 3600 * 1000;
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

int64_t
ledger_window_ms(const struct ledger *l)
{
	return l->window_ms;
}

void
ledger_restore_run(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
                   unsigned misbehaving, unsigned suspect)
{
	struct ledger_target *t = targets_get(&l->targets, sizeof *t, relay, model);
	drop_old(l, t, at_ms);
	struct run_rec rec = {
	    .at_ms = at_ms, .misbehaving = (uint16_t)misbehaving, .suspect = (uint16_t)suspect};
	push_run(t, &rec);
}

void
ledger_restore_shown(struct ledger *l, const char *relay, const char *model,
                     const struct ledger_shown *shown)
{
	if ((unsigned)shown->cls >= CLASS__COUNT)
		return;
	struct ledger_target *t = targets_get(&l->targets, sizeof *t, relay, model);
	shown_set(&t->last[shown->cls], shown);
}

void
ledger_fold(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
            struct assessment *a, struct ledger_entry *entry)
{
	struct ledger_target *t = targets_get(&l->targets, sizeof *t, relay, model);
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
			rec.misbehaving |= (uint16_t)(1u << c);
		else if (finding_reaches(f, VERDICT_SUSPECT))
			rec.suspect |= (uint16_t)(1u << c);
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

	/* fold the window into the assessment */
	int n = (int)t->n;
	for (int c = 0; c < CLASS__COUNT; c++) {
		int mis = 0, sus = 0;
		for (size_t i = 0; i < t->n; i++) {
			const struct run_rec *r = &t->runs[(t->head + i) % MAX_RUNS];
			mis += (r->misbehaving >> c) & 1;
			sus += ((r->suspect | r->misbehaving) >> c) & 1;
		}
		const struct shown *s = &t->last[c];
		if (!s->present || (mis == 0 && sus == 0))
			continue;
		double conf = 0, p_adj = 1;
		if (mis > 0) {
			conf = s->confidence;
			p_adj = s->p_adjusted;
		} else if (sus >= 2) {
			double p = stats_binomial_sf(sus, n, FP_BUDGET_SUSPECT);
			double cheats = class_cheat_count();
			conf = 1 - p;
			p_adj = p * cheats < 1 ? p * cheats : 1;
		}
		int in_this_run = ((rec.misbehaving | rec.suspect) >> c) & 1;
		if (in_this_run && (n == 1 || (mis <= 1 && sus <= 1)))
			continue; /* the run's own finding says it all */
		if (p_adj > FP_BUDGET_SUSPECT)
			continue;
		char when[64], summary[1024];
		ledger_time(when, sizeof when, s->at_ms);
		snprintf(summary, sizeof summary, "Seen in %d of the last %d runs (latest %s): %s",
		         mis > 0 ? mis : sus, n, when, s->summary);
		/* the window's finding replaces the run's own of this class */
		assessment_remove_class(a, (enum finding_class)c);
		assessment_add(a, (enum finding_class)c, conf, s->expected, s->observed, s->probe,
		               s->served, "%s", summary);
		/* already corrected: the window's own test, not one of this run's */
		a->findings[a->n_findings - 1].p_adjusted = p_adj;
		a->findings[a->n_findings - 1].preadjusted = 1;
	}
	assessment_decide(a);
}

void
ledger_add_answers(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
                   const char *const *texts, size_t n)
{
	struct ledger_target *t = targets_get(&l->targets, sizeof *t, relay, model);
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
