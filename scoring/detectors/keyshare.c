/*
 * keyshare: what the upstream key's rate-limit headers say of who else
 * uses it (probes/ratelimit.h). Facts about the relay, never accusations:
 * a relay is a shared account by trade; key_shared and key_pool are not
 * cheats (scoring/classes.c) and no verdict follows from them.
 *
 * key_shared: the responses, in the order the run sent their requests,
 * carry the key's remaining requests. Between two responses our own use
 * takes one request each; a fall of more than that, beyond the reorder
 * slack of requests in flight together, was not ours (another user's, the relay's own retries). A
 * rise is a window that reset or refilled: the stretch ends there. Limits that refill continuously
 * (OpenAI's and Anthropic's buckets) only hide others' use, never invent it, so the excess is a
 * lower bound.
 *
 * key_pool: the responses carry more than one request limit, or more than
 * one organisation: they came from several keys or accounts.
 *
 * Another run against the same relay at the same time (serve auditing two
 * of its models at once) counts as someone else: the sentence says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scoring/detector.h"

/* Requests in flight together reorder the server's count by up to this. */
#define REORDER_SLACK 4
/* Fewer responses with the headers than this: no judgement. */
#define MIN_RESPONSES 6
/* Others' requests below this are not said (rounding, a retry). */
#define MIN_EXCESS 8

struct seen {
	int64_t sent_us; /* when the request left (monotonic) */
	long remaining, limit;
	uint32_t org;
};

static int
by_sent(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	return (x->sent_us > y->sent_us) - (x->sent_us < y->sent_us);
}

static void
keyshare_run(struct detect_ctx *c)
{
	const struct audit_run *run = c->run;
	struct seen *v = calloc(run->n_items ? run->n_items : 1, sizeof *v);
	if (v == NULL)
		return;
	size_t n = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o == NULL || !observation_ok(o) || o->rl.req_remaining < 0)
			continue;
		v[n++] = (struct seen){o->start_mono_us + (o->sent_us > 0 ? o->sent_us : 0),
		                       o->rl.req_remaining, o->rl.req_limit, o->rl.org_hash};
	}
	if (n < MIN_RESPONSES) {
		free(v);
		return;
	}
	/* facts: no test of the audit's multiplicity */
	qsort(v, n, sizeof *v, by_sent);

	/* pool: limits or organisations that differ */
	long limits[4];
	uint32_t orgs[4];
	size_t nl = 0, no = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < nl && limits[k] != v[i].limit; k++)
			;
		if (k == nl && v[i].limit >= 0 && nl < 4)
			limits[nl++] = v[i].limit;
		for (k = 0; k < no && orgs[k] != v[i].org; k++)
			;
		if (k == no && v[i].org != 0 && no < 4)
			orgs[no++] = v[i].org;
	}
	if (nl > 1 || no > 1) {
		char observed[200], what[160] = "";
		int w = 0;
		if (nl > 1) {
			w += snprintf(what + w, sizeof what - (size_t)w, "%zu%s request limits (",
			              nl, nl == 4 ? " or more" : "");
			for (size_t k = 0; k < nl && w < (int)sizeof what - 20; k++)
				w += snprintf(what + w, sizeof what - (size_t)w, "%s%ld",
				              k ? ", " : "", limits[k]);
			w += snprintf(what + w, sizeof what - (size_t)w, ")");
		}
		if (no > 1 && w < (int)sizeof what - 40)
			snprintf(what + w, sizeof what - (size_t)w, "%s%zu%s organisations",
			         w ? " and " : "", no, no == 4 ? " or more" : "");
		snprintf(observed, sizeof observed, "%s over %zu responses", what, n);
		assessment_add(c->a, CLASS_KEY_POOL, 1.0,
		               "one upstream key: one limit, one organisation", observed, "all",
		               NULL,
		               "The relay's responses carried %s: its requests go out on several "
		               "upstream keys or accounts.",
		               what);
	}

	/* shared: falls beyond our own use, stretch by stretch */
	long excess = 0, ours = 0;
	int64_t span_us = 0;
	size_t first = 0;
	for (size_t i = 1; i <= n; i++) {
		int ends = i == n || v[i].remaining > v[i - 1].remaining + REORDER_SLACK ||
		           (nl > 1 && v[i].limit != v[first].limit);
		if (!ends)
			continue;
		size_t last = i - 1;
		if (last > first) {
			long fell = v[first].remaining - v[last].remaining;
			long mine = (long)(last - first);
			long more = fell - mine - REORDER_SLACK;
			if (more > 0)
				excess += more;
			ours += mine;
			span_us += v[last].sent_us - v[first].sent_us;
		}
		first = i;
	}
	free(v);
	if (excess < MIN_EXCESS || nl > 1)
		return; /* a pool's counts are of several keys: not one key's falls */
	char observed[200];
	snprintf(observed, sizeof observed,
	         "remaining requests fell by at least %ld more than our %ld requests in %.1f s",
	         excess, ours, span_us / 1e6);
	assessment_add(c->a, CLASS_KEY_SHARED, 1.0,
	               "the key's remaining requests fall by our own requests, or less", observed,
	               "all", NULL,
	               "Between this audit's requests the upstream key's remaining requests "
	               "(its rate-limit headers) fell by at least %ld more than the %ld requests "
	               "it made, over %.1f s: requests this audit did not make used the same "
	               "key or its organisation's limits meanwhile (another user's, the relay's "
	               "own retries, or another audit of this relay at the same time).",
	               excess, ours, span_us / 1e6);
}

const struct detector detector_keyshare = {
    .name = "keyshare",
    .probes = NULL, /* every response's headers */
    .classes = CLASS_BIT(CLASS_KEY_SHARED) | CLASS_BIT(CLASS_KEY_POOL),
    .needs_claimed = 0,
    .run = keyshare_run,
};
