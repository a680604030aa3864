/*
 * origin: the backend-origin marks of Anthropic-wire responses.
 *
 * The marks, each checked against a public source:
 *   Anthropic's API   message ids msg_01 + 22 base62 characters and tool
 *                     ids toolu_01 + 22 (anthropic-sdk-typescript tests,
 *                     docs.anthropic.com Messages examples:
 *                     msg_013Zva2CMHLNnXjNJJKqJ2EF,
 *                     toolu_01A09q90qw90lq917835lq9); a request-id header
 *                     req_011…; anthropic-ratelimit-* headers; usage with
 *                     service_tier, the cache_creation object
 *                     {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}
 *                     and inference_geo (anthropic-sdk-java's Usage
 *                     builder test; Claude Code's usage type); the
 *                     stop_sequence key, null when no sequence stopped it.
 *   AWS Bedrock       msg_bdrk_ message ids (litellm's Bedrock stream test
 *                     msg_bdrk_01WuFzkDbE9KWgiWakMRNKcA; async-aws's
 *                     InvokeModel test), toolu_bdrk_ tool ids (Copilot
 *                     transcripts), Converse's tooluse_ tool ids (strands
 *                     traces: tooluse_jR3LAfuASrGil31Ix9V7qQ), model ids
 *                     anthropic.claude-… (AWS's model ids), x-amzn-*
 *                     headers.
 *   Google Vertex     msg_vrtx_ message ids and toolu_vrtx_ tool ids
 *                     (Claude Code sessions on Vertex,
 *                     toolu_vrtx_01Rufmyabrdr5rjAfGLjG8vN; Vercel AI
 *                     Gateway: msg_vrtx_011CfBLy…),
 *                     model names with @ before the date
 *                     (claude-sonnet-4-5@20250929).
 *   client channels   cc-proxy-detector's fingerprint matrix
 *                     (zxc123aa/cc-proxy-detector,
 *                     references/fingerprint-matrix.md): kiro-* model
 *                     names (Kiro, over Bedrock), req_vrtx_ message ids,
 *                     tool_N tool ids and claude# signature prefixes
 *                     (Antigravity, over Vertex), msg_<UUID> ids (a hint
 *                     alone: relays mint ids so; with a tooluse_ tool id,
 *                     Kiro's pair); anthropic-ratelimit-unified-* headers
 *                     (a Claude subscription's 5-hour and 7-day limits, as
 *                     Claude Code's OAuth traffic gets them: tools that read
 *                     a subscription's usage from them, and bookapi.cc in
 *                     cc-proxy-detector's results); a missing
 *                     inference_geo, rate-limit headers or signature as
 *                     negative evidence only.
 *   translators       chatcmpl- ids and OpenAI usage names left from the
 *                     upstream, msg_<milliseconds> stream ids
 *                     (claude-code-router, as FIELD-NOTES.md records), a
 *                     system_fingerprint, no stop_sequence key.
 *
 * The rule: a mark that only one backend leaves is strong, and a strong
 * foreign mark outweighs Anthropic-shaped ids (relays rewrite toolu_ and
 * inject service_tier; cc-proxy-detector saw both). Anthropic is strong
 * only with a mark a relay would have to invent (inference_geo, the
 * cache_creation object, a req_ request id, rate-limit headers); ids alone
 * are a hint. Fields that are missing never make a backend strong: honest
 * relays rebuild bodies and drop headers.
 */
#include "scoring/origin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const char *const backend_names[ORIGIN__COUNT] = {
    "unknown", "anthropic", "bedrock", "vertex", "reverse", "translator", "openai", "azure",
};
static const char *const channel_names[CHANNEL__COUNT] = {
    "unclaimed", "official", "bedrock", "vertex", "cloud", "reverse", "azure",
};

const char *
origin_backend_name(enum origin_backend b)
{
	return (unsigned)b < ORIGIN__COUNT ? backend_names[b] : NULL;
}

const char *
origin_channel_name(enum origin_channel c)
{
	return (unsigned)c < CHANNEL__COUNT ? channel_names[c] : NULL;
}

int
origin_channel_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < CHANNEL__COUNT; i++)
		if (strcmp(channel_names[i], name) == 0)
			return i;
	return -1;
}

int
origin_channel_allows(enum origin_channel c, enum origin_backend b)
{
	if (b == ORIGIN_UNKNOWN)
		return 1;
	switch (c) {
	case CHANNEL_UNCLAIMED:
		return 1;
	case CHANNEL_OFFICIAL:
		return b == ORIGIN_ANTHROPIC || b == ORIGIN_OPENAI;
	case CHANNEL_BEDROCK:
		return b == ORIGIN_BEDROCK;
	case CHANNEL_VERTEX:
		return b == ORIGIN_VERTEX;
	case CHANNEL_CLOUD:
		return b == ORIGIN_BEDROCK || b == ORIGIN_VERTEX || b == ORIGIN_AZURE;
	case CHANNEL_AZURE:
		return b == ORIGIN_AZURE;
	case CHANNEL_REVERSE:
		return b != ORIGIN_TRANSLATOR;
	default:
		return 0;
	}
}

static int
is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Do the n characters at s all belong to [A-Za-z0-9]? */
static int
all_alnum(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]))
			return 0;
	return 1;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* 8-4-4-4-12 hex digits, and nothing after. */
static int
is_uuid(const char *s)
{
	static const int group[] = {8, 4, 4, 4, 12};
	for (size_t g = 0; g < 5; g++) {
		for (int i = 0; i < group[g]; i++, s++)
			if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
			      (*s >= 'A' && *s <= 'F')))
				return 0;
		if (g < 4 && *s++ != '-')
			return 0;
	}
	return *s == '\0';
}

static int
starts(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Anthropic's shape: prefix, "0", then base62, 20 to 40 characters in all
 * (24 in the ids seen; the docs' examples run shorter). */
static int
anthropic_id(const char *s, const char *prefix)
{
	if (!starts(s, prefix))
		return 0;
	const char *rest = s + strlen(prefix);
	size_t n = strlen(rest);
	return n >= 20 && n <= 40 && rest[0] == '0' && all_alnum(rest, n);
}

int
origin_signature_well_formed(const char *sig, size_t len)
{
	if (sig == NULL)
		return 0;
	if (len >= 7 && strncmp(sig, "claude#", 7) == 0) {
		sig += 7;
		len -= 7;
	}
	size_t pad = 0;
	for (size_t i = 0; i < len; i++) {
		char c = sig[i];
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || !(is_alnum(c) || c == '+' || c == '/' || c == '-' || c == '_'))
			return 0;
	}
	return pad <= 2 && len >= ORIGIN_SIGNATURE_MIN;
}

/* The evidence being written, and the strongest backend so far. */
struct reading_builder {
	struct origin_reading *r;
	size_t len;
	/* per backend: strong marks, hints */
	int strong[ORIGIN__COUNT], weak[ORIGIN__COUNT];
	const char *channel;
	int uuid_id; /* the message id was a UUID */
};

static void PRINTFLIKE(2, 3) say(struct reading_builder *b, const char *fmt, ...)
{
	if (b->len + 2 >= sizeof b->r->evidence)
		return;
	if (b->len > 0)
		b->r->evidence[b->len++] = ' ';
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->r->evidence + b->len, sizeof b->r->evidence - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < sizeof b->r->evidence - b->len
		              ? (size_t)n
		              : sizeof b->r->evidence - b->len - 1;
}

/* Relay text as quoted in evidence: its first 24 bytes, valid UTF-8,
 * control characters as '?', with "..." when cut. The caller frees it. */
static char *
quote(const char *s)
{
	size_t n = strlen(s);
	char *cut = utf8_sanitize(s, n, 24);
	for (char *c = cut; *c != '\0'; c++) /* no terminal control from a relay */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (n <= 24)
		return cut;
	char *q = xasprintf("%s...", cut);
	free(cut);
	return q;
}

static void
mark(struct reading_builder *b, enum origin_backend k, int strong, const char *what,
     const char *value)
{
	char *q = value != NULL ? quote(value) : NULL;
	if (q != NULL)
		say(b, "%s '%s'.", what, q);
	else
		say(b, "%s.", what);
	free(q);
	if (strong)
		b->strong[k]++;
	else
		b->weak[k]++;
}

static void
read_ids(struct reading_builder *b, const struct observation *o)
{
	const char *id = o->id;
	if (id != NULL) {
		if (starts(id, "msg_bdrk_"))
			mark(b, ORIGIN_BEDROCK, 1, "The message id has Bedrock's prefix msg_bdrk_",
			     id);
		else if (starts(id, "msg_vrtx_"))
			mark(b, ORIGIN_VERTEX, 1, "The message id has Vertex AI's prefix msg_vrtx_",
			     id);
		else if (starts(id, "req_vrtx_")) {
			mark(b, ORIGIN_REVERSE, 1,
			     "The message id is a Vertex request id (req_vrtx_), as Antigravity's "
			     "channel passes on",
			     id);
			b->channel = "antigravity";
		} else if (starts(id, "chatcmpl-"))
			mark(b, ORIGIN_TRANSLATOR, 1,
			     "The message id is an OpenAI Chat Completions id (chatcmpl-)", id);
		else if (starts(id, "msg_") && all_digits(id + 4) && strlen(id + 4) >= 10)
			mark(b, ORIGIN_TRANSLATOR, 1,
			     "The message id is msg_ and a timestamp, as a translator makes it",
			     id);
		else if ((starts(id, "msg_") && is_uuid(id + 4)) || is_uuid(id)) {
			/* a relay may make its own ids so: alone a hint, with a
			 * Converse tool id below Kiro's pair */
			mark(b, ORIGIN_REVERSE, 0,
			     "The message id is a UUID, which Anthropic's API never sends", id);
			b->uuid_id = 1;
		} else if (anthropic_id(id, "msg_"))
			mark(b, ORIGIN_ANTHROPIC, 0, "The message id has Anthropic's shape", id);
		else
			say(b, "The message id has no known backend's shape.");
	}
	const char *t = o->tool_id;
	if (t != NULL) {
		if (starts(t, "tooluse_") && b->uuid_id) {
			mark(b, ORIGIN_REVERSE, 1,
			     "The tool call id is Bedrock Converse's (tooluse_) under a UUID "
			     "message "
			     "id, as Kiro's channel writes them",
			     t);
			b->channel = "kiro";
		} else if (starts(t, "tooluse_"))
			mark(b, ORIGIN_BEDROCK, 1, "The tool call id has Bedrock's prefix tooluse_",
			     t);
		else if (starts(t, "toolu_bdrk_"))
			mark(b, ORIGIN_BEDROCK, 1,
			     "The tool call id has Bedrock's prefix toolu_bdrk_", t);
		else if (starts(t, "toolu_vrtx_"))
			mark(b, ORIGIN_VERTEX, 1,
			     "The tool call id has Vertex AI's prefix toolu_vrtx_", t);
		else if (starts(t, "tool_") && all_digits(t + 5)) {
			mark(b, ORIGIN_REVERSE, 1,
			     "The tool call id is tool_ and a number, as Antigravity's channel "
			     "numbers them",
			     t);
			b->channel = "antigravity";
		} else if (starts(t, "call_"))
			mark(b, ORIGIN_TRANSLATOR, 1, "The tool call id is an OpenAI one (call_)",
			     t);
		else if (anthropic_id(t, "toolu_"))
			mark(b, ORIGIN_ANTHROPIC, 0, "The tool call id has Anthropic's shape", t);
	}
	const char *m = o->model;
	if (m != NULL) {
		if (starts(m, "kiro-")) {
			mark(b, ORIGIN_REVERSE, 1, "The model is named as Kiro names it", m);
			b->channel = "kiro";
		} else if (starts(m, "anthropic.") || strstr(m, ".anthropic.") != NULL)
			mark(b, ORIGIN_BEDROCK, 1, "The model is named by a Bedrock model id", m);
		else if (starts(m, "claude") && strchr(m, '@') != NULL)
			mark(b, ORIGIN_VERTEX, 1, "The model is named as Vertex AI names it", m);
	}
}

static void
read_fields(struct reading_builder *b, const struct observation *o)
{
	unsigned am = o->anthropic_marks;
	if (am & OBS_ANT_OPENAI_USAGE)
		mark(b, ORIGIN_TRANSLATOR, 1,
		     "The usage object has OpenAI's prompt_tokens / completion_tokens", NULL);
	if (am & OBS_ANT_FINGERPRINT)
		mark(b, ORIGIN_TRANSLATOR, 1, "A system_fingerprint came, which Claude has none of",
		     NULL);
	if (am & OBS_ANT_CAMEL_USAGE)
		mark(b, ORIGIN_BEDROCK, 0,
		     "The usage object has camelCase names (inputTokens), as Bedrock's Converse "
		     "has",
		     NULL);
	if (o->signature != NULL && starts(o->signature, "claude#")) {
		mark(b, ORIGIN_REVERSE, 1,
		     "The thinking signature starts claude#, as Antigravity's channel sends it",
		     NULL);
		b->channel = "antigravity";
	}
	int body_marks = 0;
	if (am & OBS_ANT_INFERENCE_GEO) {
		mark(b, ORIGIN_ANTHROPIC, 1, "The usage carries inference_geo", NULL);
		body_marks++;
	}
	if (am & OBS_ANT_CACHE_CREATION) {
		mark(b, ORIGIN_ANTHROPIC, 1, "The usage carries the cache_creation object", NULL);
		body_marks++;
	}
	if (o->headers_seen & OBS_HDR_ANTHROPIC_RATELIMIT)
		mark(b, ORIGIN_ANTHROPIC, 1, "anthropic-ratelimit-* headers came", NULL);
	if (o->headers_seen & OBS_HDR_ANTHROPIC_UNIFIED) {
		mark(
		    b, ORIGIN_REVERSE, 1,
		    "anthropic-ratelimit-unified-* headers came, which Anthropic sends to a Claude "
		    "subscription's (Claude Code's) traffic, not to an API key's",
		    NULL);
		b->channel = "claude-subscription";
	}
	if ((o->headers_seen & OBS_HDR_REQUEST_ID) && o->request_id != NULL &&
	    anthropic_id(o->request_id, "req_"))
		mark(b, ORIGIN_ANTHROPIC, 1, "The request-id header has Anthropic's shape",
		     o->request_id);
	if (o->usage_fields & OBS_USAGE_SERVICE_TIER)
		mark(b, ORIGIN_ANTHROPIC, 0, "The usage carries service_tier", NULL);
	if (o->headers_seen & OBS_HDR_AMZN)
		mark(b, ORIGIN_BEDROCK, 0,
		     "x-amzn-* headers came (AWS; also any relay hosted there)", NULL);
	if (o->headers_seen & OBS_HDR_GOOG)
		mark(b, ORIGIN_VERTEX, 0,
		     "x-goog-* headers came (Google; also any relay hosted there)", NULL);
	/* missing fields: said, never a backend of their own */
	if (b->weak[ORIGIN_ANTHROPIC] > 0 && body_marks == 0 && o->usage_present &&
	    !(o->headers_seen & OBS_HDR_ANTHROPIC_RATELIMIT))
		say(b,
		    "Neither inference_geo, the cache_creation object nor rate-limit headers came, "
		    "which Anthropic's API sends (relays may drop them).");
	if (observation_ok(o) && o->usage_present && !(am & OBS_ANT_STOP_SEQUENCE_KEY) &&
	    !(o->usage_fields & (OBS_USAGE_CACHE_CREATION | OBS_USAGE_CACHE_READ)))
		mark(b, ORIGIN_TRANSLATOR, 0,
		     "The message has no stop_sequence key and its usage no cache fields, as "
		     "every backend of Claude sends them",
		     NULL);
}

/* An error body's words that name a backend (they pass through relays). */
static void
read_error(struct reading_builder *b, const struct observation *o)
{
	const char *d = o->error_detail;
	if (d == NULL)
		return;
	if (strstr(d, "ValidationException") != NULL || strstr(d, "ThrottlingException") != NULL ||
	    strstr(d, "bedrock") != NULL || strstr(d, "Bedrock") != NULL)
		mark(b, ORIGIN_BEDROCK, 0, "The error names AWS Bedrock's exceptions", NULL);
	else if (strstr(d, "aiplatform.googleapis.com") != NULL ||
	         strstr(d, "RESOURCE_EXHAUSTED") != NULL || strstr(d, "INVALID_ARGUMENT") != NULL ||
	         strstr(d, "req_vrtx_") != NULL)
		/* Vertex wraps Anthropic's error in Google's, its request id
		 * req_vrtx_ (Antigravity-Manager issue 498 quotes one) */
		mark(b, ORIGIN_VERTEX, 0, "The error is Vertex AI's", NULL);
	else if (strstr(d, "must have a corresponding tool_result") != NULL)
		mark(b, ORIGIN_REVERSE, 0,
		     "The error is a broken tool_use pairing, as rewritten client channels make",
		     NULL);
}

int
origin_read(const struct observation *o, struct origin_reading *r)
{
	memset(r, 0, sizeof *r);
	r->backend = ORIGIN_UNKNOWN;
	if (o == NULL || (!observation_ok(o) && o->error_detail == NULL))
		return -1;
	struct reading_builder b = {.r = r};
	if (observation_ok(o)) {
		read_ids(&b, o);
		read_fields(&b, o);
	} else {
		read_error(&b, o);
		if (b.len == 0)
			return -1; /* an error that names no backend tells nothing */
	}
	/* a foreign strong mark first, in this order (a client channel over a
	 * cloud leaves the cloud's marks too: Kiro's tooluse_) */
	static const enum origin_backend order[] = {ORIGIN_TRANSLATOR, ORIGIN_REVERSE,
	                                            ORIGIN_BEDROCK, ORIGIN_VERTEX};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (b.strong[order[i]] > 0) {
			r->backend = order[i];
			r->strong = 1;
			break;
		}
	if (r->backend == ORIGIN_UNKNOWN && b.strong[ORIGIN_ANTHROPIC] > 0 &&
	    b.weak[ORIGIN_ANTHROPIC] > 0) {
		r->backend = ORIGIN_ANTHROPIC;
		r->strong = 1;
	}
	if (r->backend == ORIGIN_UNKNOWN) {
		int best = 0;
		for (int k = ORIGIN_ANTHROPIC; k < ORIGIN__COUNT; k++)
			if (b.weak[k] + b.strong[k] > best) {
				best = b.weak[k] + b.strong[k];
				r->backend = (enum origin_backend)k;
			}
	}
	if (r->backend == ORIGIN_REVERSE ||
	    (r->backend == ORIGIN_BEDROCK && b.channel != NULL && strcmp(b.channel, "kiro") == 0))
		r->channel = b.channel;
	if (b.len == 0)
		say(&b, "Nothing in the response names a backend.");
	return 0;
}

/* req_ and 32 lowercase hex digits: OpenAI's request id. */
static int
openai_request_id(const char *id)
{
	if (id == NULL || strncmp(id, "req_", 4) != 0 || strlen(id) != 36)
		return 0;
	for (const char *c = id + 4; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return 0;
	return 1;
}

int
origin_read_openai(const struct observation *o, struct origin_reading *r)
{
	memset(r, 0, sizeof *r);
	if (o->openai_marks & (OBS_OAI_FILTER | OBS_OAI_APIM)) {
		r->backend = ORIGIN_AZURE;
		r->strong = 1;
		snprintf(
		    r->evidence, sizeof r->evidence, "%s%s%s.",
		    o->openai_marks & OBS_OAI_FILTER
		        ? "Azure OpenAI's content-filter annotations (prompt_filter_results, "
		          "content_filter_results)"
		        : "",
		    (o->openai_marks & OBS_OAI_FILTER) && (o->openai_marks & OBS_OAI_APIM) ? " and "
		                                                                           : "",
		    o->openai_marks & OBS_OAI_APIM ? "Azure API Management's apim-request-id header"
		                                   : "");
		return 0;
	}
	if (observation_ok(o) && openai_request_id(o->request_id) &&
	    (o->headers_seen & OBS_HDR_OPENAI_ORG)) {
		r->backend = ORIGIN_OPENAI;
		r->strong = 0;
		snprintf(r->evidence, sizeof r->evidence,
		         "OpenAI's request id (req_ and 32 hex digits) and openai-organization "
		         "header.");
		return 0;
	}
	return -1;
}
