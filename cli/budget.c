/*
 * budget: today's spend per relay and in all, what runs let through may
 * still spend, and the gate that holds a run back at a cap.
 *
 * A spend record starts its day at its first look on that day (the hooks'
 * day_start), with no reservation and nothing held or told; a reservation
 * belongs to the day its run went, so one of a day that is over releases
 * nothing from today's.
 *
 * Invariants: each spend record is its own allocation (a pointer to one
 * stays good while others are added); reserved never counts a
 * reservation of another day.
 */
#include "cli/budget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define BUDGET_DAY_MS 86400000LL

struct spend {
	struct budget_day d; /* d.relay is owned */
	/* what runs let through today may still spend (not scored yet) */
	long reserved;
	double reserved_usd;
	int held; /* a run was held back today: said once */
	int told; /* this cap held a run back today: alerted once */
};

/* What a relay-model's runs let through may spend, on the day they went:
 * released when its next run is scored. */
struct reservation {
	char *relay, *model;
	int64_t day;
	long tokens;
	double usd;
};

struct budget {
	struct budget_hooks hooks;
	struct spend **spend;
	size_t n_spend;
	struct reservation *reservations;
	size_t n_reservations;
};

struct budget *
budget_new(const struct budget_hooks *hooks)
{
	struct budget *b = xcalloc(1, sizeof *b);
	if (hooks != NULL)
		b->hooks = *hooks;
	return b;
}

void
budget_free(struct budget *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n_spend; i++) {
		free((char *)b->spend[i]->d.relay);
		free(b->spend[i]);
	}
	free(b->spend);
	for (size_t i = 0; i < b->n_reservations; i++) {
		free(b->reservations[i].relay);
		free(b->reservations[i].model);
	}
	free(b->reservations);
	free(b);
}

static void
show(struct budget *b, const struct spend *p)
{
	if (b->hooks.shown != NULL)
		b->hooks.shown(&p->d, b->hooks.arg);
}

/* Today's record of relay (NULL: all relays), its day started if new. */
static struct spend *
spend_of(struct budget *b, const char *relay)
{
	int64_t day = wall_ms() / BUDGET_DAY_MS;
	struct spend *p = NULL;
	for (size_t i = 0; i < b->n_spend && p == NULL; i++)
		if ((relay == NULL) == (b->spend[i]->d.relay == NULL) &&
		    (relay == NULL || strcmp(relay, b->spend[i]->d.relay) == 0))
			p = b->spend[i];
	if (p == NULL) {
		b->spend = xrealloc(b->spend, (b->n_spend + 1) * sizeof *b->spend);
		p = b->spend[b->n_spend++] = xcalloc(1, sizeof *p);
		p->d.relay = relay ? xstrdup(relay) : NULL;
		p->d.day = -1;
	}
	if (p->d.day != day) {
		/* a new day, or the first look: where its count starts */
		p->d.day = day;
		p->held = 0;
		p->told = 0;
		p->reserved = 0; /* the day's reservations start again with it */
		p->reserved_usd = 0;
		p->d.tokens = 0;
		p->d.usd = 0;
		if (b->hooks.day_start != NULL &&
		    b->hooks.day_start(relay, day * BUDGET_DAY_MS, &p->d.tokens, &p->d.usd,
		                       b->hooks.arg) != 0) {
			p->d.tokens = 0;
			p->d.usd = 0;
		}
		show(b, p);
	}
	return p;
}

const struct budget_day *
budget_today(struct budget *b, const char *relay)
{
	return &spend_of(b, relay)->d;
}

/* Would spending tokens (costing usd) pass cap after p? The sentence in
 * why when it would. */
static int
over_cap(const struct spend *p, const struct config_budget *cap, long tokens, double usd,
         const char *whose, char *why, size_t whylen)
{
	if (cap->tokens > 0 && p->d.tokens + p->reserved + tokens > cap->tokens) {
		char flight[80] = "";
		if (p->reserved > 0)
			snprintf(flight, sizeof flight, ", %ld more in flight", p->reserved);
		snprintf(why, whylen,
		         "budget: %s %ld tokens a day are spent (%ld today%s; a run may take %ld); "
		         "runs again after 00:00 UTC",
		         whose, cap->tokens, p->d.tokens, flight, tokens);
		return 1;
	}
	if (cap->usd > 0 && p->d.usd + p->reserved_usd + usd > cap->usd) {
		char flight[80] = "";
		if (p->reserved_usd > 0)
			snprintf(flight, sizeof flight, ", $%.4f more in flight", p->reserved_usd);
		snprintf(why, whylen,
		         "budget: %s $%.2f a day is spent ($%.4f today at official prices%s; a "
		         "run may cost $%.4f); runs again after 00:00 UTC",
		         whose, cap->usd, p->d.usd, flight, usd);
		return 1;
	}
	return 0;
}

/* A run of relay/model let through may spend tokens (usd): held against
 * the day's caps until the relay-model's next run is scored. */
static void
reserve(struct budget *b, const char *relay, const char *model, struct spend *pr, struct spend *pa,
        long tokens, double usd)
{
	pr->reserved += tokens;
	pr->reserved_usd += usd;
	pa->reserved += tokens;
	pa->reserved_usd += usd;
	for (size_t i = 0; i < b->n_reservations; i++) {
		struct reservation *v = &b->reservations[i];
		if (strcmp(v->relay, relay) == 0 && strcmp(v->model, model) == 0) {
			if (v->day != pr->d.day)
				*v = (struct reservation){v->relay, v->model, pr->d.day, 0, 0};
			v->tokens += tokens;
			v->usd += usd;
			return;
		}
	}
	b->reservations =
	    xrealloc(b->reservations, (b->n_reservations + 1) * sizeof *b->reservations);
	b->reservations[b->n_reservations++] =
	    (struct reservation){xstrdup(relay), xstrdup(model), pr->d.day, tokens, usd};
}

int
budget_gate(struct budget *b, const char *relay, const char *model,
            const struct config_budget *mine, const struct config_budget *all, long tokens,
            double usd, int *was_held, struct budget_held *held)
{
	*was_held = 0;
	if (mine->tokens == 0 && mine->usd == 0 && all->tokens == 0 && all->usd == 0)
		return 1;
	struct spend *pr = spend_of(b, relay), *pa = spend_of(b, NULL);
	char whose[160];
	snprintf(whose, sizeof whose, "relay %s's", relay);
	memset(held, 0, sizeof *held);
	held->relays_own = over_cap(pr, mine, tokens, usd, whose, held->why, sizeof held->why);
	if (!held->relays_own &&
	    !over_cap(pa, all, tokens, usd, "the board's", held->why, sizeof held->why)) {
		*was_held = pr->held;
		reserve(b, relay, model, pr, pa, tokens, usd);
		return 1;
	}
	held->first_today = !pr->held;
	pr->held = 1;
	/* told once a day a cap: the relay's, or the board's (whichever relay
	 * it first holds back) */
	struct spend *which = held->relays_own ? pr : pa;
	held->tell = !which->told;
	which->told = 1;
	return 0;
}

void
budget_scored(struct budget *b, const char *relay, const char *model, int64_t started_ms,
              long tokens, double usd)
{
	struct spend *pr = spend_of(b, relay), *pa = spend_of(b, NULL);
	for (size_t i = 0; i < b->n_reservations; i++) {
		struct reservation *v = &b->reservations[i];
		if (strcmp(v->relay, relay) != 0 || strcmp(v->model, model) != 0)
			continue;
		if (v->day == pr->d.day) {
			pr->reserved -= v->tokens;
			pr->reserved_usd -= v->usd;
		}
		if (v->day == pa->d.day) {
			pa->reserved -= v->tokens;
			pa->reserved_usd -= v->usd;
		}
		free(v->relay);
		free(v->model);
		b->reservations[i] = b->reservations[--b->n_reservations];
		break;
	}
	/* a run of a day that is over is that day's (the database has it) */
	if (usd < 0)
		usd = 0;
	if (started_ms / BUDGET_DAY_MS == pr->d.day) {
		pr->d.tokens += tokens;
		pr->d.usd += usd;
	}
	if (started_ms / BUDGET_DAY_MS == pa->d.day) {
		pa->d.tokens += tokens;
		pa->d.usd += usd;
	}
	show(b, pr);
	show(b, pa);
}
