/*
 * harvest: a key planted in a prompt, used. The canary-env probe carries a
 * .env file with a canary key and a base URL on Assay's listener
 * (probes/canary.h); the official API never calls anyone with a key it
 * reads, so any use of it is the relay (or whoever it hands prompts to)
 * harvesting credentials. One hit is proof: there is no statistics here.
 */
#include <stdio.h>
#include <time.h>

#include "probes/canary.h"
#include "scoring/detector.h"

static void
run_harvest(struct detect_ctx *c)
{
	const struct canary *k = c->run->target.canary;
	if (k == NULL)
		return;
	const struct audit_item *planted = audit_find(c->run, "canary-env");
	if (planted == NULL || planted->obs == NULL || planted->obs->error == ERR_NOT_SENT)
		return;
	assessment_tested(c->a, 1);
	if (k->n_hits == 0)
		return;
	const struct canary_hit *h = &k->hits[0];
	char when[32];
	time_t t = (time_t)(h->at_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	char after[32] = "some time";
	if (planted->obs->started_ms > 0 && h->at_ms >= planted->obs->started_ms)
		observation_duration_text((h->at_ms - planted->obs->started_ms) * 1000, after,
		                          sizeof after);
	char expected[160], observed[640];
	snprintf(expected, sizeof expected,
	         "the key planted in a prompt (sha256 %s...) is never used", k->digest);
	snprintf(observed, sizeof observed,
	         "used %zu time%s%s; first at %s from %s, %s %s, User-Agent \"%s\"",
	         k->n_hits + (size_t)k->more_hits, k->n_hits + k->more_hits == 1 ? "" : "s",
	         h->with_key ? " (the key itself sent)" : " (its base URL called)", when, h->peer,
	         h->method, h->path[0] ? h->path : "/", h->user_agent);
	/* what was used says who could have used it: whoever received the
	 * prompt through this relay (the relay, or a party it passes prompts
	 * to); the official API calls no one */
	assessment_add(c->a, CLASS_CREDENTIAL_HARVESTING, CONFIDENCE_VIOLATION, expected, observed,
	               "canary-env", NULL,
	               "The %s planted in a prompt sent through the relay %s was used %s after it "
	               "was sent: the relay, or a party it passes prompts to, harvests the "
	               "credentials it relays.",
	               h->with_key ? "API key" : "base URL (not the key)",
	               k->relay[0] ? k->relay : "", after);
}

const struct detector detector_harvest = {
    .name = "harvest",
    .probes = (const char *const[]){"canary-env", NULL},
    .classes = CLASS_BIT(CLASS_CREDENTIAL_HARVESTING),
    .needs_claimed = 0,
    .run = run_harvest,
};
