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

/*
 * Stream buffering. A relay that fakes streaming waits for the whole answer
 * and sends every chunk at once, for every stream. An honest sender that
 * runs late sends what fell due in one bunch too, and its first token is
 * then late by as much: one stream's shape cannot tell the two apart (the
 * fixture's schedule is absolute, fixtures/server.c; a real network bunches
 * chunks behind a lost segment, and Azure's and Bedrock's default content
 * filters release the answer in blocks of their buffer's size:
 * learn.microsoft.com/azure/foundry/openai/concepts/content-streaming,
 * docs.aws.amazon.com/bedrock/latest/userguide/guardrails-streaming.html).
 * So the judgement rests on three things a late sender does not give:
 *
 *   no stream of the audit (of STREAM_SPREAD_MIN_CHUNKS or more) is provably
 *     spread: chunks apart by more than a burst even after our own lateness
 *     (timing_slack_us) is taken off. One such stream shows the endpoint
 *     streams for real; a faker buffers them all.
 *   one burst at least is weighty: the official model would have spread
 *     it over STREAM_WEIGHT_S seconds of generation or more at the audited
 *     time scale (the pack's tokens_per_s), which a sender's short stall
 *     does not cover;
 *   at least two long streams read on time, every one a burst, and the
 *     first token of speed is not quick beside the short streams'.
 *
 * Thin evidence (too few weighty streams read on time) is not judged, and
 * the audit says so.
 */

/* faster than 10,000 tokens/s: no official model streams like that, and a
 * burst survives a loaded machine's scheduling gaps */
#define STREAM_BURST_US_PER_CHUNK 100.0
/* the long streams judged */
#define STREAM_LONG_CHUNKS 10
/* streams this long or longer can show the endpoint streams for real */
#define STREAM_SPREAD_MIN_CHUNKS 3
/* seconds of official generation at time scale 1 a judged burst must hide
 * (scaled by the audited time scale): at 0.05, 12.5 ms */
#define STREAM_WEIGHT_S 0.25

/* The shape of one stream: SHAPE_SPREAD (truly spread by the relay, even
 * if our loop read it late), SHAPE_BURST (a burst even allowing for how
 * late we read it), or SHAPE_UNKNOWN (our lateness could explain either). */
enum stream_shape { SHAPE_UNKNOWN, SHAPE_BURST, SHAPE_SPREAD };

static enum stream_shape
stream_shape(const struct observation *o)
{
	int64_t span = o->chunk_us[o->n_chunks - 1] - o->chunk_us[0];
	double burst_us = (double)(o->n_chunks - 1) * STREAM_BURST_US_PER_CHUNK;
	/* a chunk may have arrived up to the slack before its stamp: the
	 * relay's span was between span - slack and span + slack */
	int64_t slack = o->timing_disturbed ? o->timing_slack_us : 0;
	if (o->timing_disturbed && slack <= 0)
		return (SHAPE_UNKNOWN); /* late by an unknown amount */
	if ((double)(span - slack) >= burst_us)
		return (SHAPE_SPREAD);
	if ((double)(span + slack) < burst_us)
		return (SHAPE_BURST);
	return (SHAPE_UNKNOWN);
}

static void
detect_stream_buffered(struct detect_ctx *ctx)
{
	const struct audit_run *run = ctx->run;
	const struct baseline_model *m = ctx->claimed;
	struct assessment *a = ctx->a;
	/* the official speed at the audited time scale (tokens/s; < 0 unknown) */
	double k = m->latency_time_scale > 0 ? scorer_time_scale(ctx->scorer) / m->latency_time_scale
	                                     : 1.0;
	double tps = m->tokens_per_s > 0 ? m->tokens_per_s / k : -1;
	double weight_us = STREAM_WEIGHT_S * scorer_time_scale(ctx->scorer) * 1e6;
	int streams = 0, bursts = 0, weighty = 0, unusable = 0, spread = 0;
	size_t chunks = 0;
	int64_t span_us = 0, slack_us = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (!observation_ok(o) || !o->streamed || o->n_chunks < STREAM_SPREAD_MIN_CHUNKS)
			continue;
		enum stream_shape shape = stream_shape(o);
		if (shape == SHAPE_SPREAD)
			spread++;
		if (o->n_chunks < STREAM_LONG_CHUNKS)
			continue;
		if (shape == SHAPE_UNKNOWN) {
			unusable++;
			if (o->timing_slack_us > slack_us)
				slack_us = o->timing_slack_us;
			continue;
		}
		streams++;
		if (shape != SHAPE_BURST)
			continue;
		bursts++;
		/* a burst the official model would have made in a moment is
		 * made by a sender's short stall too: it supports, not decides */
		if (tps > 0 && (double)(o->n_chunks - 1) / tps * 1e6 >= weight_us) {
			weighty++;
			chunks = o->n_chunks;
			span_us = o->chunk_us[o->n_chunks - 1] - o->chunk_us[0];
		}
	}
	/* the endpoint streamed for real at least once: no faker does */
	if (spread > 0) {
		assessment_tested(a, 1);
		return;
	}
	/* at least two streams judged, every one of them burst, one of them
	 * long enough that no short stall explains it */
	char why[240];
	if (streams < 2) {
		if (streams + unusable >= 2) {
			snprintf(why, sizeof why,
			         "%d of %d long streams were read in bunches while this machine was "
			         "busy (up to %.1f ms late): their spacing is ours, not the relay's",
			         unusable, streams + unusable, slack_us / 1000.0);
			assessment_unjudged(a, "stream buffering", why);
		}
		return;
	}
	if (bursts < streams) {
		assessment_tested(a, 1);
		return;
	}
	if (weighty == 0) {
		if (tps <= 0)
			snprintf(why, sizeof why,
			         "%d long streams arrived in bunches, and the pack has no official "
			         "speed for this model to weigh them against",
			         bursts);
		else
			snprintf(why, sizeof why,
			         "%d long streams arrived in bunches, each too short to tell a faked "
			         "stream from a sender running late (under %.1f ms of generation)",
			         bursts, weight_us / 1000.0);
		assessment_unjudged(a, "stream buffering", why);
		return;
	}
	assessment_tested(a, 1);
	/* faked streams also start late: the whole answer is waited for. A
	 * stalled reader bunches chunks too, but does not delay the first. */
	const struct audit_item *speed = audit_find(run, "speed");
	const char *const short_ids[] = {"ping", "max-tokens"};
	int64_t quick = -1; /* the faster first token of the short streams */
	for (size_t j = 0; j < 2; j++) {
		const struct audit_item *sh = audit_find(run, short_ids[j]);
		if (sh != NULL && observation_ok(sh->obs) && sh->obs->ttft_us > 0 &&
		    (quick < 0 || sh->obs->ttft_us < quick))
			quick = sh->obs->ttft_us;
	}
	if (speed != NULL && observation_ok(speed->obs) && quick > 0 &&
	    speed->obs->ttft_us * 2 < quick * 3)
		return;
	char observed[128], late[128] = "";
	snprintf(observed, sizeof observed, "%zu chunks within %.2f ms", chunks, span_us / 1000.0);
	if (speed != NULL && observation_ok(speed->obs) && speed->obs->ttft_us > 0 && quick > 0)
		snprintf(late, sizeof late,
		         "; the long stream's first token came after %.0f ms, the short ones' "
		         "after %.0f ms",
		         speed->obs->ttft_us / 1000.0, quick / 1000.0);
	/* what was measured, then what it looks like: never more */
	assessment_add(a, CLASS_STREAM_BUFFERED, CONFIDENCE_VIOLATION,
	               "chunks spread over the generation time", observed, "speed", NULL,
	               "In all %d long streams the chunks arrived together (%zu chunks within "
	               "%.2f ms; at the official %.0f tokens/s, a token a chunk, they take at "
	               "least %.0f ms to generate)%s. That is how a stream looks when the relay "
	               "holds the whole answer and sends it at once.",
	               bursts, chunks, span_us / 1000.0, tps, (double)(chunks - 1) / tps * 1000.0,
	               late);
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
