/*
 * ledger: per target, a ring of run records (time and which classes were
 * found, at which level) and the latest finding of each class to show.
 *
 * Suspect-level findings (0.80 to 0.99) are allowed a false-alarm rate of
 * SUSPECT_FALSE_RATE per run; k such sightings of one class in n runs become
 * a finding of confidence 1 - P(X >= k), X ~ Binomial(n, rate).
 */
#include "scoring/ledger.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/util.h"

#define MAX_RUNS 4096
#define N_CLASSES 11
#define SUSPECT_FALSE_RATE 0.05

static const char *const classes[N_CLASSES] = {
    "substitution",    "context_truncation", "output_cap",      "prompt_injection",
    "usage_inflation", "param_ignored",      "stream_buffered", "cached_response",
    "rate_limited",    "unavailable",        "degraded_latency"};

struct run_rec {
	int64_t at_ms;
	uint16_t misbehaving; /* classes found at MISBEHAVING_CONFIDENCE */
	uint16_t suspect;     /* classes found at SUSPECT_CONFIDENCE only */
};

struct shown {
	int present;
	double confidence;
	int64_t at_ms;
	char *expected, *observed, *summary, *probe, *served;
};

struct target {
	char *relay, *model;
	struct target *next;
	struct run_rec runs[MAX_RUNS];
	size_t head, n; /* ring */
	struct shown last[N_CLASSES];
};

struct ledger {
	int64_t window_ms;
	struct target *targets;
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

void
ledger_free(struct ledger *l)
{
	if (l == NULL)
		return;
	while (l->targets != NULL) {
		struct target *t = l->targets;
		l->targets = t->next;
		for (int c = 0; c < N_CLASSES; c++)
			shown_release(&t->last[c]);
		free(t->relay);
		free(t->model);
		free(t);
	}
	free(l);
}

static int
class_index(const char *name)
{
	for (int c = 0; c < N_CLASSES; c++)
		if (strcmp(classes[c], name) == 0)
			return c;
	return -1;
}

static struct target *
target_get(struct ledger *l, const char *relay, const char *model)
{
	for (struct target *t = l->targets; t != NULL; t = t->next)
		if (strcmp(t->relay, relay) == 0 && strcmp(t->model, model) == 0)
			return t;
	struct target *t = xcalloc(1, sizeof *t);
	t->relay = xstrdup(relay);
	t->model = xstrdup(model);
	t->next = l->targets;
	l->targets = t;
	return t;
}

long
ledger_runs(const struct ledger *l, const char *relay, const char *model)
{
	for (struct target *t = l->targets; t != NULL; t = t->next)
		if (strcmp(t->relay, relay) == 0 && strcmp(t->model, model) == 0)
			return (long)t->n;
	return 0;
}

/* P(X >= k) for X ~ Binomial(n, p). */
static double
binomial_tail(int k, int n, double p)
{
	double sum = 0;
	for (int i = k; i <= n; i++)
		sum += exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) + i * log(p) +
		           (n - i) * log1p(-p));
	return sum > 1 ? 1 : sum;
}

static void
format_time(char *out, size_t n, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

void
ledger_fold(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
            struct assessment *a)
{
	struct target *t = target_get(l, relay, model);
	/* drop runs that left the window */
	while (t->n > 0 && t->runs[t->head].at_ms < at_ms - l->window_ms) {
		t->head = (t->head + 1) % MAX_RUNS;
		t->n--;
	}
	struct run_rec rec = {.at_ms = at_ms};
	for (size_t i = 0; i < a->n_findings; i++) {
		const struct finding *f = &a->findings[i];
		int c = class_index(f->class);
		if (c < 0 || !finding_class_is_cheat(f->class))
			continue;
		if (f->confidence >= MISBEHAVING_CONFIDENCE)
			rec.misbehaving |= (uint16_t)(1u << c);
		else if (f->confidence >= SUSPECT_CONFIDENCE)
			rec.suspect |= (uint16_t)(1u << c);
		else
			continue;
		struct shown *s = &t->last[c];
		if (s->present && s->at_ms == at_ms && s->confidence >= f->confidence)
			continue;
		shown_release(s);
		*s = (struct shown){.present = 1,
		                    .confidence = f->confidence,
		                    .at_ms = at_ms,
		                    .expected = xstrdup(f->expected),
		                    .observed = xstrdup(f->observed),
		                    .summary = xstrdup(f->summary),
		                    .probe = xstrdup(f->probe),
		                    .served = f->served ? xstrdup(f->served) : NULL};
	}
	if (t->n == MAX_RUNS) {
		t->head = (t->head + 1) % MAX_RUNS;
		t->n--;
	}
	t->runs[(t->head + t->n) % MAX_RUNS] = rec;
	t->n++;

	/* fold the window into the assessment */
	int n = (int)t->n;
	for (int c = 0; c < N_CLASSES; c++) {
		int mis = 0, sus = 0;
		for (size_t i = 0; i < t->n; i++) {
			const struct run_rec *r = &t->runs[(t->head + i) % MAX_RUNS];
			mis += (r->misbehaving >> c) & 1;
			sus += ((r->suspect | r->misbehaving) >> c) & 1;
		}
		const struct shown *s = &t->last[c];
		if (!s->present || (mis == 0 && sus == 0))
			continue;
		double conf = 0;
		if (mis > 0)
			conf = s->confidence >= MISBEHAVING_CONFIDENCE ? s->confidence
			                                               : MISBEHAVING_CONFIDENCE;
		else if (sus >= 2)
			conf = 1 - binomial_tail(sus, n, SUSPECT_FALSE_RATE);
		int in_this_run = ((rec.misbehaving | rec.suspect) >> c) & 1;
		if (in_this_run && (n == 1 || (mis <= 1 && sus <= 1)))
			continue; /* the run's own finding says it all */
		if (conf < SUSPECT_CONFIDENCE)
			continue;
		char when[64], summary[1024];
		format_time(when, sizeof when, s->at_ms);
		snprintf(summary, sizeof summary, "Seen in %d of the last %d runs (latest %s): %s",
		         mis > 0 ? mis : sus, n, when, s->summary);
		/* the window's finding replaces the run's own of this class */
		assessment_remove_class(a, classes[c]);
		assessment_add(a, classes[c], conf, s->expected, s->observed, s->probe, s->served,
		               "%s", summary);
	}
	assessment_decide(a);
}
