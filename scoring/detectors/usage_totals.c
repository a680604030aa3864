/*
 * usage_totals: OpenAI's usage.total_tokens is prompt_tokens plus
 * completion_tokens, always (reasoning and cached tokens are inside them).
 * A relay whose totals run above the sum bills for tokens that neither side
 * of the request holds. Gemini's OpenAI-compatible endpoint is the exception
 * its pack states (reasoning.chat_total_only): its completion_tokens leave
 * the thinking out and its total_tokens hold it ("completion_tokens":2,
 * "prompt_tokens":17,"total_tokens":49 from gemini-2.5-flash, as users
 * quote its answers; router-for-me/CLIProxyAPI pull 5743 maps the same
 * thoughtsTokenCount), so there the gap is the thinking, not a bill.
 */
#include <stdio.h>

#include "scoring/detector.h"

static void
run_usage_totals(struct detect_ctx *c)
{
	const struct audit_run *run = c->run;
	if (c->claimed->reasoning.chat_total_only && run->target.api == API_OPENAI)
		return; /* the gap is the thinking, which nothing here can count */
	int with_total = 0, above = 0;
	long worst = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (!observation_ok(o) || o->total_tokens < 0 || o->prompt_tokens < 0 ||
		    o->completion_tokens < 0 || !(o->usage_fields & OBS_USAGE_INPUT))
			continue;
		with_total++;
		long extra = o->total_tokens - (o->prompt_tokens + o->completion_tokens);
		if (extra > 0) {
			above++;
			if (extra > worst)
				worst = extra;
		}
	}
	if (with_total < 3)
		return;
	assessment_tested(c->a, 1);
	if (above == 0)
		return;
	char observed[128];
	snprintf(observed, sizeof observed, "%d of %d totals above the sum, by up to %ld tokens",
	         above, with_total, worst);
	/* no official API reports it; one odd response could be a relay's
	 * rounding, every one is a rule */
	assessment_add(c->a, CLASS_USAGE_INFLATION,
	               above == with_total ? CONFIDENCE_VIOLATION : CONFIDENCE_HINT,
	               "total_tokens = prompt_tokens + completion_tokens", observed, "all", NULL,
	               "%d of %d responses report more total tokens than their prompt and "
	               "completion hold (up to %ld more): the relay bills tokens nobody sent or "
	               "received.",
	               above, with_total, worst);
}

const struct detector detector_usage_totals = {
    .name = "usage-totals",
    .probes = NULL, /* every response's usage */
    .classes = CLASS_BIT(CLASS_USAGE_INFLATION),
    .needs_claimed = 1,
    .run = run_usage_totals,
};
