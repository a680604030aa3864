/*
 * ratelimit: an upstream key's rate limits as a response's headers tell
 * them, read with libcurl's header API (curl_easy_header) once the
 * transfer is done.
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
/* What ratelimit_read() fills in when the response carried none of its
 * headers, without asking curl. */
void ratelimit_none(struct obs_ratelimit *rl);
/* The same from a header value: a whole number 0..10^12, or -1. */
long ratelimit_number(const char *v);
/* The digest ratelimit_read keeps of an organisation id (never 0). */
uint32_t ratelimit_org_hash(const char *v);

#endif
