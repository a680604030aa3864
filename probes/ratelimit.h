/*
 * ratelimit: an upstream key's rate limits as a response's headers tell
 * them: taken from the header lines as they arrive (ratelimit_seen_*),
 * or read with libcurl's header API (curl_easy_header) once the transfer
 * is done; both give the same fields.
 *
 * OpenAI sends x-ratelimit-limit-requests, x-ratelimit-remaining-requests,
 * x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens (and the resets)
 * with every answer (platform.openai.com/docs/guides/rate-limits); Anthropic
 * anthropic-ratelimit-requests-limit / -remaining and anthropic-ratelimit-
 * tokens-limit / -remaining (docs.anthropic.com/en/api/rate-limits). A relay
 * that forwards them shows its upstream key's: remaining counts that fall
 * faster than our own use mean others ride on the same key; limits or
 * organisation ids that change from request to request mean a pool of keys
 * (scoring/detectors/keyshare.c). The organisation id (openai-organization,
 * anthropic-organization-id) is kept only as a digest, to tell one from
 * another.
 */
#ifndef ASSAY_RATELIMIT_H
#define ASSAY_RATELIMIT_H

#include <curl/curl.h>

#include "probes/observation.h"

/* Fill rl from easy's last response; what is absent, or not a whole
 * number, stays -1 (0 for the organisation digest). */
void ratelimit_read(CURL *easy, struct obs_ratelimit *rl);

/* ---- The same from header lines as the header callback sees them ---- */

#define RATELIMIT_NAMES 10

/* What the first of each name ratelimit_read() asks for carried, in the
 * response being read, already read as ratelimit_read() reads it (a number,
 * or the organisation digest): some 100 bytes a transfer, queued ones too.
 * Zero it (or ratelimit_seen_reset) before the first line. */
struct ratelimit_seen {
	long number[RATELIMIT_NAMES]; /* ratelimit_number() of the value */
	uint32_t org[2];              /* the digest (0: empty) of the two org names */
	unsigned present;             /* bit i: names[i] came */
	unsigned too_long;            /* bit i: its value is too long to read here */
};

/* A new response begins (its status line): forget the last one's. */
void ratelimit_seen_reset(struct ratelimit_seen *s);
/* One header of the response (name name_len bytes; value without the
 * blanks around it, as curl keeps it), not a trailer. */
void ratelimit_seen_header(struct ratelimit_seen *s, const char *name, size_t name_len,
                           const char *value, size_t vlen);
/* Fill rl as ratelimit_read() would have from those headers: 0, or -1
 * when a number's value was too long to read here (then ratelimit_read()
 * it is). */
int ratelimit_seen_finish(const struct ratelimit_seen *s, struct obs_ratelimit *rl);
/* The same from a header value: a whole number 0..10^12, or -1. */
long ratelimit_number(const char *v);
/* The digest ratelimit_read keeps of an organisation id (never 0). */
uint32_t ratelimit_org_hash(const char *v);

#endif
