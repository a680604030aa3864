/*
 * harvest: a key planted in a prompt, used. The canary-env probe carries a
 * .env file with a canary key and a base URL on Assay's listener
 * (probes/canary.h); the official API never calls anyone with a key it
 * reads, so any use of it is the relay (or whoever it hands prompts to)
 * harvesting credentials. One hit is proof: there is no statistics here.
 *
 * In serve a use may come after its run was scored (a harvester that waits
 * hours): serve hands it to the relay and model's next run (canary.late,
 * probes/canary.h), whose finding names the run the key was planted in.
 */
#include <stdio.h>
#include <time.h>

#include "probes/canary.h"
#include "scoring/detector.h"

static void
utc_text(int64_t ms, char *out, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Uses of earlier canaries of this relay and model, told with this run:
 * one finding, naming the first canary's run. */
static void
report_late(struct detect_ctx *c, const struct canary *k)
{
	const struct canary_late *l = &k->late[0];
	const struct canary_hit *h = &l->hit;
	char when[32], planted[32], run[40] = "", after[32] = "some time";
	utc_text(h->at_ms, when, sizeof when);
	utc_text(l->planted_ms, planted, sizeof planted);
	if (l->run_id > 0)
		snprintf(run, sizeof run, " (run %lld)", (long long)l->run_id);
	if (h->at_ms >= l->planted_ms)
		observation_duration_text((h->at_ms - l->planted_ms) * 1000, after, sizeof after);
	long others = (long)k->n_late - 1 + k->more_late;
	char expected[200], observed[700];
	snprintf(expected, sizeof expected,
	         "the key planted in a prompt of the run of %s%s (sha256 %s...) is never used",
	         planted, run, l->digest);
	snprintf(observed, sizeof observed,
	         "used %ld time%s after that run was scored%s; first at %s from %s, %s %s, "
	         "User-Agent \"%s\"%s",
	         l->uses, l->uses == 1 ? "" : "s",
	         h->with_key ? " (the key itself sent)" : " (its base URL called)", when, h->peer,
	         h->method, h->path[0] ? h->path : "/", h->user_agent,
	         others > 0 ? "; canaries of other runs used too" : "");
	assessment_add(c->a, CLASS_CREDENTIAL_HARVESTING, CONFIDENCE_VIOLATION, expected, observed,
	               "canary-env", NULL,
	               "The %s planted in a prompt sent through the relay %s in its run of %s%s "
	               "was used %s after it was sent: the relay, or a party it passes prompts "
	               "to, harvests the credentials it relays.",
	               h->with_key ? "API key" : "base URL (not the key)", c->run->target.relay,
	               planted, run, after);
}

static void
run_harvest(struct detect_ctx *c)
{
	const struct canary *k = c->run->target.canary;
	if (k == NULL)
		return;
	const struct audit_item *planted = audit_find(c->run, "canary-env");
	int sent = planted != NULL && planted->obs != NULL && planted->obs->error != ERR_NOT_SENT;
	if (sent || k->n_late > 0)
		assessment_tested(c->a, 1);
	if (!sent || k->n_hits == 0) {
		if (k->n_late > 0)
			report_late(c, k);
		return;
	}
	const struct canary_hit *h = &k->hits[0];
	char when[32];
	utc_text(h->at_ms, when, sizeof when);
	char after[32] = "some time";
	if (planted->obs->started_ms > 0 && h->at_ms >= planted->obs->started_ms)
		observation_duration_text((h->at_ms - planted->obs->started_ms) * 1000, after,
		                          sizeof after);
	char expected[160], observed[700];
	snprintf(expected, sizeof expected,
	         "the key planted in a prompt (sha256 %s...) is never used", k->digest);
	snprintf(observed, sizeof observed,
	         "used %zu time%s%s; first at %s from %s, %s %s, User-Agent \"%s\"%s",
	         k->n_hits + (size_t)k->more_hits, k->n_hits + k->more_hits == 1 ? "" : "s",
	         h->with_key ? " (the key itself sent)" : " (its base URL called)", when, h->peer,
	         h->method, h->path[0] ? h->path : "/", h->user_agent,
	         k->n_late > 0 ? "; canaries of earlier runs used too" : "");
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
