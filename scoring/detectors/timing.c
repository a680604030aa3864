/*
 * timing: how fast and how truly the answers stream.
 *
 * Speed against the official latency profile (rescaled to the audited
 * time scale; not a cheat, it informs the board), and streams whose chunks
 * all arrive at once (judged only on streams our own loop read on time).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detect.h"
#include "scoring/detector.h"
#include "scoring/stats.h"
#include "scoring/tokenizer.h"

/*
 * Speed against the official latency profile (when the pack has one): a
 * first token more than three times later, or a stream three times slower,
 * is degraded latency. Not a cheat: it informs uptime and the leaderboard.
 */
static void
detect_latency(struct detect_ctx *ctx)
{
	const struct scorer *s = ctx->scorer;
	const struct baseline_model *m = ctx->claimed;
	struct assessment *a = ctx->a;
	if (m->ttft_ms <= 0 || m->tokens_per_s <= 0)
		return;
	/* the profile as it would be at the audited endpoint's time scale */
	double k = scorer_time_scale(s) / m->latency_time_scale;
	double ttft = m->ttft_ms * k, tps = m->tokens_per_s / k;
	char expected[128], observed[128];
	if (a->ttft_ms > 3 * ttft) {
		snprintf(expected, sizeof expected, "first token after about %.0f ms", ttft);
		snprintf(observed, sizeof observed, "%.0f ms (median)", a->ttft_ms);
		assessment_add(a, CLASS_DEGRADED_LATENCY,
		               a->ttft_ms > 6 * ttft ? CONFIDENCE_LIKELY : CONFIDENCE_SUGGESTIVE,
		               expected, observed, "ping", NULL,
		               "The first token comes %.1f times later than from the official API.",
		               a->ttft_ms / ttft);
	} else if (a->tokens_per_s >= 0 && a->tokens_per_s * 3 < tps) {
		snprintf(expected, sizeof expected, "about %.0f tokens/s", tps);
		snprintf(observed, sizeof observed, "%.0f tokens/s (median)", a->tokens_per_s);
		assessment_add(a, CLASS_DEGRADED_LATENCY, CONFIDENCE_SUGGESTIVE, expected, observed,
		               "speed", NULL,
		               "Answers stream %.1f times slower than from the official API.",
		               tps / (a->tokens_per_s > 0 ? a->tokens_per_s : 1));
	}
}

/* A stream whose chunks all arrive at once was buffered and replayed. */
static void
detect_stream_buffered(struct detect_ctx *ctx)
{
	const struct audit_run *run = ctx->run;
	struct assessment *a = ctx->a;
	int streams = 0, bursts = 0, unusable = 0;
	size_t chunks = 0;
	int64_t span_us = 0, slack_us = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (!observation_ok(o) || !o->streamed || o->n_chunks < 10)
			continue;
		int64_t span = o->chunk_us[o->n_chunks - 1] - o->chunk_us[0];
		/* faster than 10,000 tokens/s: no official model streams like that,
		 * and a burst survives a loaded machine's scheduling gaps */
		double burst_us = (double)(o->n_chunks - 1) * 100.0;
		/* our own loop stalled: a chunk may have arrived up to the slack
		 * before its stamp, so the relay's span was at most span + slack.
		 * Still a burst then, it counts; else there is no word on it. */
		if (o->timing_disturbed && (o->timing_slack_us <= 0 ||
		                            (double)(span + o->timing_slack_us) >= burst_us)) {
			unusable++;
			if (o->timing_slack_us > slack_us)
				slack_us = o->timing_slack_us;
			continue;
		}
		streams++;
		if ((double)span < burst_us) {
			bursts++;
			chunks = o->n_chunks;
			span_us = span;
		}
	}
	/* at least two streams judged, and every one of them burst */
	if (streams < 2) {
		if (streams + unusable >= 2) {
			char why[200];
			snprintf(why, sizeof why,
			         "%d of %d long streams were read in bunches while this machine was "
			         "busy (up to %.1f ms late): their spacing is ours, not the relay's",
			         unusable, streams + unusable, slack_us / 1000.0);
			assessment_unjudged(a, "stream buffering", why);
		}
		return;
	}
	assessment_tested(a, 1);
	if (bursts < streams)
		return;
	/* faked streams also start late: the whole answer is waited for. A
	 * stalled reader bunches chunks too, but does not delay the first. */
	const struct audit_item *speed = audit_find(run, "speed");
	const char *const short_ids[] = {"ping", "max-tokens"};
	int64_t quick = -1; /* the faster first token of the short streams */
	for (size_t k = 0; k < 2; k++) {
		const struct audit_item *sh = audit_find(run, short_ids[k]);
		if (sh != NULL && observation_ok(sh->obs) && sh->obs->ttft_us > 0 &&
		    (quick < 0 || sh->obs->ttft_us < quick))
			quick = sh->obs->ttft_us;
	}
	if (speed != NULL && observation_ok(speed->obs) && quick > 0 &&
	    speed->obs->ttft_us * 2 < quick * 3)
		return;
	char observed[128];
	snprintf(observed, sizeof observed, "%zu chunks within %.2f ms", chunks, span_us / 1000.0);
	assessment_add(a, CLASS_STREAM_BUFFERED, CONFIDENCE_VIOLATION,
	               "chunks spread over the generation time", observed, "speed", NULL,
	               "The stream's chunks all arrived at once: the relay waits for the whole "
	               "answer and fakes streaming, so the first token comes late.");
}

static const char *const latency_probes[] = {"ping", "speed", NULL};

const struct detector detector_latency = {
    .name = "latency",
    .probes = latency_probes,
    .classes = CLASS_BIT(CLASS_DEGRADED_LATENCY),
    .needs_claimed = 1,
    .run = detect_latency,
};

static const char *const stream_buffered_probes[] = {"speed", "speed-2", "ping", "max-tokens",
                                                     NULL};

const struct detector detector_stream_buffered = {
    .name = "stream-buffered",
    .probes = stream_buffered_probes,
    .classes = CLASS_BIT(CLASS_STREAM_BUFFERED),
    .needs_claimed = 1,
    .run = detect_stream_buffered,
};
