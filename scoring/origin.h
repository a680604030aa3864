/*
 * origin: which backend served a Claude request, read off what the relay
 * forwarded on Anthropic's wire, and the channel a relay claims to sell.
 *
 * A Claude answer reaches a relay from Anthropic's own API, from AWS
 * Bedrock, from Google Vertex AI, from a reverse-engineered client channel
 * (an IDE's or a subscription's traffic turned into an API: Kiro over
 * Bedrock, Antigravity over Vertex, a resold Claude Code subscription), or
 * from a translator that wraps another model's answer in Anthropic's
 * shape. Each leaves marks in the ids, fields, headers and thinking
 * signatures a relay passes on (scoring/origin.c lists them with their
 * sources). Relays rewrite some of them, so a mark that points at a backend
 * is strong only where no honest relay would make it up; fields that are
 * merely missing are hints, never evidence against anyone.
 *
 * Pure functions over observations: any thread.
 */
#ifndef ASSAY_ORIGIN_H
#define ASSAY_ORIGIN_H

#include <stddef.h>

#include "probes/observation.h"

/* Stable names (origin_backend_name) go to JSON, pages and tests; new ones
 * are appended. */
enum origin_backend {
	ORIGIN_UNKNOWN,    /* nothing read says which */
	ORIGIN_ANTHROPIC,  /* Anthropic's own API */
	ORIGIN_BEDROCK,    /* AWS Bedrock */
	ORIGIN_VERTEX,     /* Google Vertex AI */
	ORIGIN_REVERSE,    /* a reverse-engineered client channel */
	ORIGIN_TRANSLATOR, /* another model's answer re-wrapped as Anthropic's */
	/* on OpenAI's wire (origin_read_openai): */
	ORIGIN_OPENAI, /* OpenAI's own API */
	ORIGIN_AZURE,  /* Azure OpenAI */
	ORIGIN__COUNT
};

/* The channel a relay's config claims (cli/config.c: `channel:`). Stable
 * names (origin_channel_name). */
enum origin_channel {
	CHANNEL_UNCLAIMED, /* the default: the origin is reported, never judged */
	CHANNEL_OFFICIAL,  /* Anthropic's API */
	CHANNEL_BEDROCK,
	CHANNEL_VERTEX,
	CHANNEL_CLOUD,   /* Bedrock or Vertex */
	CHANNEL_REVERSE, /* a client channel; any Claude backend, no translator */
	CHANNEL_AZURE,   /* Azure OpenAI (cloud allows it too) */
	CHANNEL__COUNT
};

#define ORIGIN_EVIDENCE_CAP 480

/* What one request showed. */
struct origin_reading {
	enum origin_backend backend;
	int strong;                         /* a mark only that backend leaves (else a hint) */
	const char *channel;                /* the client channel when identifiable ("kiro",
	                                     * "antigravity", "claude-subscription";
	                                     * static), else NULL */
	char evidence[ORIGIN_EVIDENCE_CAP]; /* what was seen, sentences */
};

/* Read one observation of an Anthropic-wire request. 0, or -1 when it has
 * nothing to read (no answer, and no error naming a backend). Relay text quoted in the
 * evidence is cut short and made valid UTF-8; callers escape it. */
int origin_read(const struct observation *o, struct origin_reading *r);

/*
 * The same for an answer on OpenAI's wire (Chat Completions, Responses):
 * Azure OpenAI's content-filter annotations or its gateway's
 * apim-request-id are Azure's alone (strong); OpenAI's x-request-id
 * (req_ and 32 hex digits) with its openai-organization header point at
 * OpenAI's API (a hint: relays copy them). -1 when it shows neither.
 */
int origin_read_openai(const struct observation *o, struct origin_reading *r);

/* Is a thinking signature well formed: base64 (standard or URL alphabet,
 * padding allowed) of at least ORIGIN_SIGNATURE_MIN characters? A Vertex
 * channel's "claude#" prefix is allowed before it. */
#define ORIGIN_SIGNATURE_MIN 100
int origin_signature_well_formed(const char *sig, size_t len);

/* Does a claimed channel sell what backend b is? (UNCLAIMED: everything.) */
int origin_channel_allows(enum origin_channel c, enum origin_backend b);

/* Stable names; NULL / -1 when out of range or unknown. */
const char *origin_backend_name(enum origin_backend b);
const char *origin_channel_name(enum origin_channel c);
int origin_channel_from_name(const char *name);

#endif
