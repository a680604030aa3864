/*
 * billing: serve's billing audit of a relay account (issue 18), as policy.
 * What the account was charged, from its balance or usage counter
 * (probes/balance.h), against what serve's own runs are worth at the price
 * the relay sells at (config price:) and at the official price.
 *
 * Charges are summed from the first look on, since one run moves a
 * usage counter kept in cents by a cent or none. Another model's run of the
 * same relay may be billed before a look and counted after it, so a look
 * allows one such run per other model. Looks come after runs; their order
 * is the runs' (serve scores in submission order).
 *
 *   over-charge: what was charged passes what the runs are worth at the
 *     relay's price by 25% and that allowance, once they are worth 5 cents
 *   drain: the charge rose by 2 cents or more between two looks while no
 *     run of ours spent a token
 *
 * Both are told once (each state change) and shown as a sentence; neither
 * changes a verdict: serve cannot know that nothing else used the key.
 */
#ifndef ASSAY_BILLING_H
#define ASSAY_BILLING_H

#include <stddef.h>
#include <stdint.h>

#include "probes/balance.h"

struct billing_state {
	int have; /* a first look was taken */
	int64_t first_ms, last_ms;
	double first_used, last_used;       /* usage counter, USD (< 0: none) */
	double first_balance, last_balance; /* balance, USD (< 0: none) */
	double expected_usd; /* our runs since the first look, at the relay's price */
	int expected_known;  /* ... every one of them had a price */
	double official_usd; /* the same at official prices (those known) */
	long tokens, runs;
	double max_run_usd;  /* the dearest run so far, at the relay's price */
	double charged_last; /* the charge at the last look */
	long tokens_last;    /* tokens at the last look */
	int over, drained;   /* the states last told */
};

enum billing_event { BILLING_NONE, BILLING_OVERCHARGE, BILLING_DRAIN, BILLING_OK_AGAIN };

void billing_init(struct billing_state *b);
/* A run of the relay was scored: what it is worth at the relay's price
 * (< 0: no price to say) and at the official one (< 0: unknown), and its
 * tokens. */
void billing_add_run(struct billing_state *b, double relay_usd, double official_usd, long tokens);
/*
 * A look at the account, at at_ms, with models the relay's models audited:
 * the sentence of what it shows into text (n bytes), and the event it
 * newly makes (told once).
 */
enum billing_event billing_look(struct billing_state *b, const struct balance_sample *s,
                                int64_t at_ms, int models, char *text, size_t n);

#endif
