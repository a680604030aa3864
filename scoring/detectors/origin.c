/*
 * origin: which backend served each Claude request (scoring/origin.h), held
 * to the channel the relay claims (config `channel:`), and the thinking
 * signatures of the requests that asked Claude to think.
 *
 * With no claim the mix of backends is a fact of the report
 * (a->origin_counts, a->origin_note), never a finding. With a claim, the
 * requests whose strong marks (a mark only that backend leaves) name a
 * backend the claim does not sell are counted: two or more convict
 * (channel_misrepresented at the violation level: an honest relay selling
 * Anthropic's API does not pass on Bedrock's msg_bdrk_ ids on two
 * requests), one is suggestive, and marks that are only hints (headers a
 * relay's own host adds, fields that are missing) stay hints. A claimed
 * official relay whose responses carry none of the fields Anthropic always
 * sends is told so, as a hint: relays rebuild bodies honestly too.
 *
 * Thinking signatures (veridrop's strongest Claude check): where a probe
 * asked for thinking (THINKING_PROBE) and the answer came, a thinking block
 * with a well-formed signature (base64, at least ORIGIN_SIGNATURE_MIN
 * characters; Anthropic's run to hundreds or thousands) is expected. A
 * missing or malformed one is a hint of its own under param_ignored (a
 * translator or a client channel strips it), never an accusation alone:
 * only the official API can tell a forged signature (cli's
 * --verify-key-env sends it back there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detector.h"
#include "scoring/origin.h"

_Static_assert(ORIGIN__COUNT <= ASSESSMENT_ORIGIN_SLOTS, "the assessment holds every backend");

#define THINKING_PROBE "thinking-sig"

static const char *const origin_probes[] = {THINKING_PROBE, NULL};

static const char *
backend_words(enum origin_backend b)
{
	switch (b) {
	case ORIGIN_ANTHROPIC:
		return "Anthropic's API";
	case ORIGIN_BEDROCK:
		return "AWS Bedrock";
	case ORIGIN_VERTEX:
		return "Google Vertex AI";
	case ORIGIN_REVERSE:
		return "a reverse-engineered client channel";
	case ORIGIN_TRANSLATOR:
		return "a translator in front of another model";
	case ORIGIN_OPENAI:
		return "OpenAI's API";
	case ORIGIN_AZURE:
		return "Azure OpenAI";
	default:
		return "an unknown backend";
	}
}

/* The mix as a sentence: "12 requests read: 9 anthropic, 3 bedrock (kiro)". */
static char *
mix_note(const int *counts, int read, const char *channel, int openai_wire)
{
	struct buf b;
	buf_init(&b, 0);
	buf_putf(&b, "%d %s request%s read:", read, openai_wire ? "OpenAI-wire" : "Claude",
	         read == 1 ? "" : "s");
	int first = 1;
	for (int k = 0; k < ORIGIN__COUNT; k++) {
		if (counts[k] == 0)
			continue;
		buf_putf(&b, "%s %d %s", first ? "" : ",", counts[k],
		         origin_backend_name((enum origin_backend)k));
		if (k == ORIGIN_REVERSE && channel != NULL)
			buf_putf(&b, " (%s)", channel);
		first = 0;
	}
	buf_puts(&b, ".");
	return buf_take(&b, NULL);
}

/* The thinking blocks of the requests that asked for them, judged by
 * their shape and by what the official API said of them sent back; a
 * sentence of the facts goes into note (owned by the caller, may grow). */
static void
judge_signatures(struct detect_ctx *ctx, int claim, struct buf *note)
{
	int asked = 0, missing = 0, malformed = 0, accepted = 0, rejected = 0;
	const char *probe = NULL, *refusal = NULL;
	for (size_t i = 0; i < ctx->run->n_items; i++) {
		const struct audit_item *it = &ctx->run->items[i];
		if (strcmp(it->probe->id, THINKING_PROBE) != 0 || !observation_ok(it->obs))
			continue;
		asked++;
		probe = it->probe->id;
		const struct observation *o = it->obs;
		if (!(o->anthropic_marks & (OBS_ANT_THINKING | OBS_ANT_REDACTED_THINKING)))
			missing++;
		else if ((o->anthropic_marks & OBS_ANT_THINKING) &&
		         !origin_signature_well_formed(o->signature, o->signature_len))
			malformed++;
		if (o->signature_check == OBS_SIG_ACCEPTED)
			accepted++;
		else if (o->signature_check == OBS_SIG_REJECTED) {
			rejected++;
			refusal = o->signature_check_detail;
		} else if (o->signature_check == OBS_SIG_FAILED)
			assessment_unjudged(ctx->a, "thinking signature",
			                    o->signature_check_detail ? o->signature_check_detail
			                                              : "the check failed");
	}
	if (asked == 0)
		return;
	buf_putf(note, " %d thinking request%s: %d with a thinking block", asked,
	         asked == 1 ? "" : "s", asked - missing);
	if (accepted > 0)
		buf_putf(note, ", %d whose signature the official API accepted back", accepted);
	if (rejected > 0)
		buf_putf(note, ", %d whose signature it refused", rejected);
	buf_puts(note, ".");
	if (missing > 0) {
		assessment_add(ctx->a, CLASS_PARAM_IGNORED, CONFIDENCE_HINT,
		               "a thinking block with a signature where thinking was asked",
		               "no thinking block", probe, NULL,
		               "%d of %d answers to a request for extended thinking had no thinking "
		               "block: the relay dropped the thinking parameter or the block.",
		               missing, asked);
		assessment_hint_last(ctx->a);
	}
	if (malformed > 0) {
		assessment_add(ctx->a, CLASS_CHANNEL_MISREPRESENTED, CONFIDENCE_HINT,
		               "a base64 signature of at least 100 characters",
		               "a signature that is empty, short or not base64", probe, NULL,
		               "%d of %d thinking blocks carried a signature Anthropic's servers "
		               "would not have made (empty, short or not base64).",
		               malformed, asked);
		assessment_hint_last(ctx->a);
	}
	if (rejected == 0 || claim <= CHANNEL_UNCLAIMED)
		return; /* unclaimed: the refusal is a fact of the note */
	assessment_tested(ctx->a, 1);
	/* only Anthropic's API is known to take back the blocks it signed: a
	 * cloud's may be refused there honestly */
	assessment_add(ctx->a, CLASS_CHANNEL_MISREPRESENTED,
	               claim == CHANNEL_OFFICIAL ? CONFIDENCE_VIOLATION : CONFIDENCE_HINT,
	               "a thinking block the official API takes back (it signed it)",
	               refusal ? refusal : "refused", probe, NULL,
	               "The official API refused %d of %d thinking blocks the relay returned, "
	               "sent back to it unchanged: Anthropic's servers did not sign them (%s).",
	               rejected, accepted + rejected, refusal ? refusal : "refused");
	if (claim != CHANNEL_OFFICIAL)
		assessment_hint_last(ctx->a);
}

static void
detect_origin(struct detect_ctx *ctx)
{
	const struct audit_run *run = ctx->run;
	struct assessment *a = ctx->a;
	/* Claude's backends on Anthropic's wire, OpenAI's or Azure's on
	 * OpenAI's */
	int openai_wire = run->target.api == API_OPENAI || run->target.api == API_RESPONSES;
	if (run->target.api != API_ANTHROPIC && !openai_wire)
		return;
	int counts[ORIGIN__COUNT] = {0}, strong[ORIGIN__COUNT] = {0}, read = 0, bare = 0, ok = 0;
	char first[ORIGIN__COUNT][ORIGIN_EVIDENCE_CAP];
	const char *channel = NULL;
	memset(first, 0, sizeof first);
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		struct origin_reading r;
		if (o == NULL || (openai_wire ? origin_read_openai(o, &r) : origin_read(o, &r)) != 0)
			continue;
		read++;
		counts[r.backend]++;
		if (r.strong)
			strong[r.backend]++;
		if (first[r.backend][0] == '\0')
			snprintf(first[r.backend], sizeof first[r.backend], "%s", r.evidence);
		if (r.channel != NULL)
			channel = r.channel;
		if (observation_ok(o) && !openai_wire) {
			ok++;
			bare += !(o->anthropic_marks & (OBS_ANT_INFERENCE_GEO | OBS_ANT_CACHE_CREATION)) &&
			        !(o->headers_seen & OBS_HDR_ANTHROPIC_RATELIMIT);
		}
	}
	if (read == 0)
		return;
	int claim = origin_channel_from_name(run->target.channel);
	memcpy(a->origin_counts, counts, sizeof counts);
	struct buf note;
	buf_init(&note, 0);
	char *mix = mix_note(counts, read, channel, openai_wire);
	buf_puts(&note, mix);
	free(mix);
	judge_signatures(ctx, claim, &note);
	free(a->origin_note);
	a->origin_note = buf_take(&note, NULL);

	if (claim <= CHANNEL_UNCLAIMED)
		return; /* a fact, never a finding */
	assessment_tested(a, 1);
	enum origin_backend worst = ORIGIN_UNKNOWN;
	int foreign = 0, hinted = 0;
	for (int k = ORIGIN_ANTHROPIC; k < ORIGIN__COUNT; k++) {
		if (origin_channel_allows((enum origin_channel)claim, (enum origin_backend)k))
			continue;
		foreign += strong[k];
		hinted += counts[k] - strong[k];
		if (strong[k] > 0 && (worst == ORIGIN_UNKNOWN || strong[k] > strong[worst]))
			worst = (enum origin_backend)k;
	}
	const char *claimed = origin_channel_name((enum origin_channel)claim);
	char expected[128], observed[160];
	snprintf(expected, sizeof expected, "every request served as the channel claimed: %s",
	         claimed);
	if (foreign > 0) {
		snprintf(observed, sizeof observed, "%s on %d of %d requests read%s%s%s",
		         origin_backend_name(worst), strong[worst], read,
		         worst == ORIGIN_REVERSE && channel ? " (" : "",
		         worst == ORIGIN_REVERSE && channel ? channel : "",
		         worst == ORIGIN_REVERSE && channel ? ")" : "");
		assessment_add(a, CLASS_CHANNEL_MISREPRESENTED,
		               foreign >= 2 ? CONFIDENCE_VIOLATION : CONFIDENCE_SUGGESTIVE, expected,
		               observed, "all", NULL,
		               "The relay claims the %s channel, but %d of %d requests read came "
		               "through %s%s%s%s: %s%s%s",
		               claimed, strong[worst], read, backend_words(worst),
		               worst == ORIGIN_REVERSE && channel ? " (" : "",
		               worst == ORIGIN_REVERSE && channel ? channel : "",
		               worst == ORIGIN_REVERSE && channel ? ")" : "", first[worst],
		               strong[worst] < read ? " A mix: " : "",
		               strong[worst] < read ? a->origin_note : "");
		return;
	}
	if (hinted > 0) {
		enum origin_backend h = ORIGIN_UNKNOWN;
		for (int k = ORIGIN_ANTHROPIC; k < ORIGIN__COUNT; k++)
			if (!origin_channel_allows((enum origin_channel)claim, (enum origin_backend)k) &&
			    counts[k] > 0)
				h = (enum origin_backend)k;
		snprintf(observed, sizeof observed, "hints of %s on %d of %d requests",
		         origin_backend_name(h), counts[h], read);
		assessment_add(a, CLASS_CHANNEL_MISREPRESENTED, CONFIDENCE_HINT, expected, observed,
		               "all", NULL,
		               "Hints of %s on %d of %d requests (weak: relays make them too): %s",
		               backend_words(h), counts[h], read, first[h]);
		assessment_hint_last(a);
		return;
	}
	if (claim == CHANNEL_OFFICIAL && ok >= 3 && bare == ok) {
		snprintf(observed, sizeof observed,
		         "none of inference_geo, cache_creation, rate-limit headers on %d requests",
		         ok);
		assessment_add(a, CLASS_CHANNEL_MISREPRESENTED, CONFIDENCE_HINT,
		               "the fields Anthropic's API sends on every answer", observed, "all",
		               NULL,
		               "None of %d answers carried inference_geo, the cache_creation object "
		               "or anthropic-ratelimit-* headers, which Anthropic's API sends (a "
		               "hint: relays that rebuild bodies drop them too).",
		               ok);
		assessment_hint_last(a);
	}
}

const struct detector detector_origin = {
    .name = "origin",
    .probes = origin_probes,
    .classes = CLASS_BIT(CLASS_CHANNEL_MISREPRESENTED) | CLASS_BIT(CLASS_PARAM_IGNORED),
    .needs_claimed = 0,
    .run = detect_origin,
};
