/*
 * protocol: what the responses look like around the answer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detect.h"
#include "scoring/detector.h"
#include "scoring/origin.h"
#include "scoring/stats.h"
#include "scoring/tokenizer.h"

/*
 * The protocol fingerprint: what the responses look like around the answer.
 * A system_fingerprint recorded from another model's official API (and never
 * from the claimed one's) marks that request as served by the other model;
 * it is judged per request, so a partial swap shows. The reported model
 * name, the shape of ids and a missing system_fingerprint are weak hints
 * only: honest relays rename models and rewrite ids.
 */
static void
detect_protocol(struct detect_ctx *ctx)
{
	struct scorer *s = ctx->scorer;
	const struct baseline_model *m = ctx->claimed;
	struct assessment *a = ctx->a;
	int named = 0, with_fp = 0, foreign_fp = 0, ok = 0;
	const struct baseline_model *other = NULL;
	const char *seen_fp = NULL;
	for (size_t i = 0; i < ctx->run->n_items; i++) {
		const struct observation *o = ctx->run->items[i].obs;
		if (!observation_ok(o))
			continue;
		ok++;
		if (!named && o->model != NULL && !baseline_name_matches(m, o->model)) {
			named = 1;
			assessment_add(a, CLASS_SUBSTITUTION, CONFIDENCE_HINT, m->name, o->model,
			               ctx->run->items[i].probe->id, NULL,
			               "The response names the model '%s', not %s (a weak hint: "
			               "some relays rename models honestly).",
			               o->model, m->name);
		}
		if (o->system_fingerprint != NULL && *o->system_fingerprint) {
			with_fp++;
			if (m->n_fingerprints > 0 &&
			    !baseline_has_fingerprint(m, o->system_fingerprint))
				for (size_t k = 0; k < scorer_pack(s)->n; k++) {
					const struct baseline_model *x = &scorer_pack(s)->models[k];
					if (x != m &&
					    baseline_has_fingerprint(x, o->system_fingerprint)) {
						foreign_fp++;
						other = x;
						seen_fp = o->system_fingerprint;
						break;
					}
				}
		}
	}
	if (with_fp > 0 && m->n_fingerprints > 0)
		assessment_tested(a, 1);
	if (foreign_fp > 0) {
		char expected[160], observed[160];
		snprintf(expected, sizeof expected, "system_fingerprint values of %s", m->name);
		snprintf(observed, sizeof observed, "%d of %d responses carry %s's (%s)",
		         foreign_fp, with_fp, other->name, seen_fp);
		/* one request could be a stale pack; two are a pattern */
		assessment_add(a, CLASS_SUBSTITUTION,
		               foreign_fp >= 2 ? CONFIDENCE_VIOLATION : CONFIDENCE_SUGGESTIVE,
		               expected, observed, "all", other->name,
		               "%d of %d responses carry a system_fingerprint recorded from %s's "
		               "official API, never from %s's: those requests were served by %s.",
		               foreign_fp, with_fp, other->name, m->name, other->name);
		if (foreign_fp < with_fp)
			a->partial_substitution = 1;
	}
	/* the flag was learned on the model's own api: Responses bodies, for
	 * one, carry no system_fingerprint */
	if (m->system_fingerprint && ok >= 5 && with_fp == 0 &&
	    api_from_name(m->api) == (int)ctx->run->target.api)
		assessment_add(a, CLASS_SUBSTITUTION, CONFIDENCE_HINT, "a system_fingerprint",
		               "none", "all", NULL,
		               "%s's official API sends a system_fingerprint; no response here did "
		               "(a weak hint: some relays drop it).",
		               m->name);
}

/* Does an id have the shape the pack recorded? (No record: say yes.) */
static int
shape_matches(const char *id, const char *want, char shape[96])
{
	baseline_id_shape(id, shape, 96);
	return baseline_id_shape_fits(shape, want);
}

/* An Anthropic id shape as Bedrock writes it: "msg_{24 alnum}" ->
 * "msg_bdrk_{24 alnum}", "toolu_..." -> "toolu_bdrk_..." (ids in replies
 * from Bedrock users quote: msg_bdrk_01QjKY4iZgTq69BYEKRD112G,
 * toolu_bdrk_01AbkxtHRBE6DZyuxjrqa8SJ). NULL stays NULL. */
static const char *
bedrock_shape(const char *shape, char *out, size_t n)
{
	if (shape == NULL)
		return NULL;
	const char *u = strchr(shape, '_');
	if (u == NULL || (size_t)(u - shape) > 8)
		return shape;
	snprintf(out, n, "%.*sbdrk_%s", (int)(u - shape + 1), shape, u + 1);
	return out;
}

/*
 * The protocol's shape against the official one the pack recorded, response
 * by response: the stream's events (pings aside), the usage fields, a
 * message_start that counts the input, the shapes of message and tool-call
 * ids. An honest pass-through relay keeps every one of them; a relay that
 * writes responses itself (a translator in front of another API) changes
 * them. Headers are left to a hint: many honest relays drop them.
 *
 * The record is per API: a response is held to the shape the official API
 * it was sent to writes (a model sold on Chat Completions and on Responses
 * has one for each), and an API the pack has no record for is not judged.
 *
 * For a model with a public tokenizer the token counts are the strong
 * signal and a different shape stays a hint (relays rewrite responses
 * honestly). For one without (Claude), the shape is half of what can be
 * checked: every response differing makes a relay suspect, never more; it
 * takes the counts to convict. Responses shaped as another backend of
 * Claude writes them (Bedrock, Vertex, a client channel: scoring/origin.h)
 * are Claude's through another channel: a hint here, and the origin
 * detector's to judge against the claimed channel.
 */
static void
detect_protocol_shape(struct detect_ctx *ctx)
{
	const struct audit_run *run = ctx->run;
	const struct baseline_model *m = ctx->claimed;
	struct assessment *a = ctx->a;
	enum api_kind api = run->target.api;
	const struct baseline_protocol *bp = baseline_protocol_for(m, api);
	if (bp == NULL)
		return;
	const char *id_shape = baseline_id_shape_for(m, api);
	/* Bedrock's runtime is another official channel of the same API: the
	 * same events and usage, its own ids (msg_bdrk_..., toolu_bdrk_...) and
	 * AWS's headers, not Anthropic's; pings are not held to it (no record
	 * of Bedrock's says they always come) */
	struct baseline_protocol on_bedrock;
	char bedrock_id[96], bedrock_tool[96];
	/* (Converse is Bedrock's alone: its record is Bedrock's own shape) */
	if (run->target.bedrock && api != API_CONVERSE) {
		on_bedrock = *bp;
		on_bedrock.headers = 0;
		on_bedrock.ping = 0;
		id_shape = bedrock_shape(id_shape, bedrock_id, sizeof bedrock_id);
		on_bedrock.tool_id_shape =
		    (char *)bedrock_shape(bp->tool_id_shape, bedrock_tool, sizeof bedrock_tool);
		bp = &on_bedrock;
	}
	int judged = 0, odd = 0, n_events = 0, n_usage = 0, n_start = 0, n_ping = 0, n_id = 0,
	    n_tool = 0, n_headers = 0, streams = 0, odd_claude = 0, odd_claimed = 0;
	int claim = origin_channel_from_name(run->target.channel);
	unsigned missing_usage = 0, missing_headers = 0;
	char seen_events[OBS_EVENTS_CAP] = "", seen_id[96] = "", seen_tool[96] = "";
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (!observation_ok(o))
			continue;
		judged++;
		int diff = 0;
		char shape[96];
		int whole_stream = o->streamed && !o->stopped_early;
		if (whole_stream) {
			streams++;
			if (bp->n_events > 0 && !baseline_protocol_knows_events(bp, o->events)) {
				n_events++;
				snprintf(seen_events, sizeof seen_events, "%s", o->events);
				diff = 1;
			}
			if (bp->start_usage && o->start_input_tokens <= 0) {
				n_start++;
				diff = 1;
			}
			if (bp->ping && strchr(o->events, 'P') == NULL) {
				n_ping++;
				diff = 1;
			}
		}
		/* a stream we hung up on never got to its usage */
		unsigned want = !o->streamed ? bp->usage : whole_stream ? bp->stream_usage : 0;
		if ((want & ~o->usage_fields) != 0) {
			n_usage++;
			missing_usage |= want & ~o->usage_fields;
			diff = 1;
		}
		if (o->id != NULL && !shape_matches(o->id, id_shape, shape)) {
			n_id++;
			snprintf(seen_id, sizeof seen_id, "%s", shape);
			diff = 1;
		}
		if (o->tool_id != NULL && !shape_matches(o->tool_id, bp->tool_id_shape, shape)) {
			n_tool++;
			snprintf(seen_tool, sizeof seen_tool, "%s", shape);
			diff = 1;
		}
		if ((bp->headers & ~o->headers_seen) != 0) {
			n_headers++;
			missing_headers |= bp->headers & ~o->headers_seen;
		}
		odd += diff;
		/* a shape another backend of Claude writes (Bedrock's, Vertex's,
		 * a client channel's: scoring/origin.h; a client channel's even
		 * from a hint, its UUID ids) is a channel, not a model: the
		 * origin detector judges it */
		struct origin_reading r;
		if (diff && api == API_ANTHROPIC && origin_read(o, &r) == 0 &&
		    (r.strong || r.backend == ORIGIN_REVERSE) &&
		    (r.backend == ORIGIN_BEDROCK || r.backend == ORIGIN_VERTEX ||
		     r.backend == ORIGIN_REVERSE)) {
			odd_claude++;
			/* ... and the very backend the relay says it sells */
			odd_claimed += claim > CHANNEL_UNCLAIMED &&
			               origin_channel_allows((enum origin_channel)claim, r.backend);
		}
	}
	if (judged < 3)
		return;
	assessment_tested(a, 1);
	if (odd == 0 || odd == odd_claimed) {
		/* the shape of the channel claimed (Vertex's for a relay that
		 * sells Vertex) is the shape to expect */
		a->protocol_matched = odd == 0 ? 1 : 2;
		if (odd > 0)
			return;
	}
	struct buf b;
	buf_init(&b, 0);
	if (n_events > 0)
		buf_putf(&b, "%s%d of %d streams sent events %s (official: %s)", b.len ? "; " : "",
		         n_events, streams, seen_events, bp->events[0]);
	if (n_ping > 0)
		buf_putf(&b, "%s%d of %d streams had no ping", b.len ? "; " : "", n_ping, streams);
	if (n_start > 0)
		buf_putf(&b, "%s%d of %d streams counted no input in message_start",
		         b.len ? "; " : "", n_start, streams);
	if (n_usage > 0) {
		buf_putf(&b, "%s%d of %d usage objects lacked", b.len ? "; " : "", n_usage, judged);
		for (unsigned bit = 1; bit != 0; bit <<= 1)
			if ((missing_usage & bit) && obs_usage_field_name(bit) != NULL)
				buf_putf(&b, " %s", obs_usage_field_name(bit));
	}
	if (n_id > 0)
		buf_putf(&b, "%s%d ids looked like %s (official: %s)", b.len ? "; " : "", n_id,
		         seen_id, id_shape);
	if (n_tool > 0)
		buf_putf(&b, "%s%d tool-call ids looked like %s (official: %s)", b.len ? "; " : "",
		         n_tool, seen_tool, bp->tool_id_shape);
	if (odd > 0) {
		char observed[256], expected[128];
		snprintf(expected, sizeof expected, "the official %s API's response shape",
		         api_name(api));
		snprintf(observed, sizeof observed, "%d of %d responses differ", odd, judged);
		int private_tok = m->tokenizer == NULL;
		if (odd_claude == odd) {
			assessment_add(a, CLASS_SUBSTITUTION, CONFIDENCE_HINT, expected, observed,
			               "all", NULL,
			               "%d of %d responses are not shaped as %s's official API "
			               "writes them (%s), but as another backend of Claude writes "
			               "them: the channel differs (see the backend origin), not the "
			               "model.",
			               odd, judged, m->name, b.data);
			assessment_hint_last(a);
		} else {
			assessment_add(a, CLASS_SUBSTITUTION,
			               private_tok && odd == judged ? CONFIDENCE_STRONG
			                                            : CONFIDENCE_HINT,
			               expected, observed, "all", NULL,
			               "%d of %d responses are not shaped as %s's official API "
			               "writes them (%s): the relay writes its own responses%s.",
			               odd, judged, m->name, b.data,
			               private_tok ? ", as a translator in front of another API does"
			                           : " (a weak hint: some relays re-encode honestly)");
			assessment_limit_last(a);
		}
	} else if (n_headers == judged) {
		struct buf h;
		buf_init(&h, 0);
		for (unsigned bit = 1; bit != 0; bit <<= 1)
			if ((missing_headers & bit) && obs_header_name(bit) != NULL)
				buf_putf(&h, "%s%s", h.len ? ", " : "", obs_header_name(bit));
		assessment_add(a, CLASS_SUBSTITUTION, CONFIDENCE_HINT,
		               "the official API's response headers", h.data, "all", NULL,
		               "No response carried %s, which %s's official API always sends (a "
		               "weak hint: many relays drop headers).",
		               h.data, m->name);
		buf_release(&h);
	}
	buf_release(&b);
}

const struct detector detector_protocol = {
    .name = "protocol",
    .probes = NULL,
    .classes = CLASS_BIT(CLASS_SUBSTITUTION),
    .needs_claimed = 1,
    .run = detect_protocol,
};

const struct detector detector_protocol_shape = {
    .name = "protocol-shape",
    .probes = NULL,
    .classes = CLASS_BIT(CLASS_SUBSTITUTION),
    .needs_claimed = 1,
    .run = detect_protocol_shape,
};
