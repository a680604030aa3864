/*
 * billing: charges against our own runs (see billing.h).
 */
#include "scoring/billing.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define OVER_SHARE 1.25
#define OVER_FLOOR_USD 0.05
#define CENT 0.01
#define DRAIN_USD 0.02

void
billing_init(struct billing_state *b)
{
	memset(b, 0, sizeof *b);
	b->expected_known = 1;
	b->first_used = b->last_used = b->first_balance = b->last_balance = -1;
}

void
billing_add_run(struct billing_state *b, double relay_usd, double official_usd, long tokens)
{
	if (relay_usd >= 0) {
		b->expected_usd += relay_usd;
		if (relay_usd > b->max_run_usd)
			b->max_run_usd = relay_usd;
	} else {
		b->expected_known = 0;
	}
	if (official_usd > 0)
		b->official_usd += official_usd;
	b->tokens += tokens;
	b->runs++;
}

/* What was charged since the first look: the usage counter's rise, or the
 * balance's fall; < 0 when the looks show neither. */
static double
charged(const struct billing_state *b)
{
	if (b->first_used >= 0 && b->last_used >= 0)
		return b->last_used - b->first_used;
	if (b->first_balance >= 0 && b->last_balance >= 0)
		return b->first_balance - b->last_balance;
	return -1;
}

enum billing_event
billing_look(struct billing_state *b, const struct balance_sample *s, int64_t at_ms, int models,
             char *text, size_t n)
{
	if (!b->have) {
		/* the runs before the first look were billed before it */
		b->have = 1;
		b->first_ms = b->last_ms = at_ms;
		b->first_used = b->last_used = s->used_usd;
		b->first_balance = b->last_balance = s->balance_usd;
		b->expected_usd = b->official_usd = 0;
		b->expected_known = 1;
		b->tokens = b->runs = 0;
		if (s->balance_usd >= 0)
			snprintf(text, n,
			         "balance $%.2f at the first look; charges are summed from it",
			         s->balance_usd);
		else
			snprintf(text, n, "usage counter read; charges are summed from this look");
		return BILLING_NONE;
	}
	b->last_ms = at_ms;
	b->last_used = s->used_usd;
	b->last_balance = s->balance_usd;
	double c = charged(b);
	char since[32], left[64] = "", worth[160] = "";
	time_t t = (time_t)(b->first_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(since, sizeof since, "%Y-%m-%d %H:%M UTC", &tm);
	if (s->balance_usd >= 0)
		snprintf(left, sizeof left, "; $%.2f left", s->balance_usd);
	if (c < 0) {
		snprintf(text, n, "the looks show no charge to compare%s", left);
		return BILLING_NONE;
	}
	double slack = b->max_run_usd * (models > 1 ? models - 1 : 0) + CENT;
	int over = b->expected_known && b->expected_usd >= OVER_FLOOR_USD &&
	           c > b->expected_usd * OVER_SHARE + slack;
	int drained = b->tokens == b->tokens_last && c - b->charged_last >= DRAIN_USD;
	if (b->expected_known)
		snprintf(worth, sizeof worth, " worth $%.2f at its price", b->expected_usd);
	char official[96] = "";
	if (b->official_usd > 0)
		snprintf(official, sizeof official, " ($%.2f at official prices, %.2fx)",
		         b->official_usd, c / b->official_usd);
	if (drained)
		snprintf(text, n,
		         "charged $%.2f more since the last look while no run of ours spent a "
		         "token; $%.2f since %s for %ld runs (%ld tokens)%s%s%s",
		         c - b->charged_last, c, since, b->runs, b->tokens, worth, official, left);
	else
		snprintf(text, n, "%scharged $%.2f since %s for %ld runs (%ld tokens)%s%s%s",
		         over ? "over-charges: " : "", c, since, b->runs, b->tokens, worth,
		         official, left);
	b->charged_last = c;
	b->tokens_last = b->tokens;
	enum billing_event e = BILLING_NONE;
	if (drained && !b->drained)
		e = BILLING_DRAIN;
	else if (over && !b->over)
		e = BILLING_OVERCHARGE;
	else if (!over && b->over && !drained)
		e = BILLING_OK_AGAIN;
	b->over = over;
	b->drained = drained;
	return e;
}
