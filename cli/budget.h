/*
 * budget: the daily caps on what probing spends (config `budget:`, the
 * board's and each relay's), for `assay serve` and `assay agent` alike.
 *
 * A run (or passive request) is let through only if what it may spend at
 * most fits under the relay's cap and the overall one, counting what was
 * spent today (UTC) and what runs already let through may still spend:
 * runs in flight together cannot pass a cap between them. What a run may
 * spend is reserved until the next run of its relay-model is scored; what
 * a run spent counts on the day it started.
 *
 * Where a day's count starts is the caller's: serve reads the day's spend
 * from its database (a restart keeps counting), an agent (which may not
 * read its region's rows) starts from what it spent since it started.
 *
 * Thread: one (the caller's event loop). Memory: one record per relay
 * spending and per relay-model with a reservation.
 */
#ifndef ASSAY_BUDGET_H
#define ASSAY_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "cli/config.h"

struct budget;

/* A day's spend of one relay (relay NULL: every relay). */
struct budget_day {
	const char *relay;
	int64_t day; /* UTC days since the epoch */
	long tokens;
	double usd;
};

/* What the caller is told. day_start: the spend of relay (NULL: all)
 * since since_ms, into *tokens and *usd, 0 or -1 (the count then starts at
 * 0, said by the caller); NULL: 0. shown: a day's figures changed (its
 * first look, a run scored); may be NULL. */
struct budget_hooks {
	int (*day_start)(const char *relay, int64_t since_ms, long *tokens, double *usd, void *arg);
	void (*shown)(const struct budget_day *d, void *arg);
	void *arg;
};

/* Set up and tear down. */
struct budget *budget_new(const struct budget_hooks *hooks);
void budget_free(struct budget *b);

/* Gate and account. */

/* What budget_gate says of a run it holds back. */
struct budget_held {
	char why[400];   /* the sentence: whose cap, what is spent, when it runs */
	int first_today; /* the relay's first run held back today: say it */
	int tell;        /* the cap's first hold today: alert once */
	int relays_own;  /* the relay's own cap held it (else the board's) */
};

/* May a run of relay/model that spends at most tokens (costing usd at
 * official prices, 0 if unknown) go, under mine (the relay's caps) and all
 * (the board's)? 1: it goes, reserved (*was_held set when an earlier run
 * of the relay was held back today, so the caller can say it runs again);
 * 0: held back, *held says why. Caps of 0 are no caps. */
int budget_gate(struct budget *b, const char *relay, const char *model,
                const struct config_budget *mine, const struct config_budget *all, long tokens,
                double usd, int *was_held, struct budget_held *held);

/* A run of relay/model that started at started_ms was scored: it spent
 * tokens (usd); its relay-model's reservation is released. */
void budget_scored(struct budget *b, const char *relay, const char *model, int64_t started_ms,
                   long tokens, double usd);

/* Today's spend of relay (NULL: all), looked up now (its first look of a
 * day starts the day's count). Borrowed until the next call. */
const struct budget_day *budget_today(struct budget *b, const char *relay);

#endif
