/*
 * ratelimit: rate-limit headers into numbers (see ratelimit.h).
 */
#include "probes/ratelimit.h"

#include <stdlib.h>
#include <string.h>

long
ratelimit_number(const char *v)
{
	if (v == NULL)
		return -1;
	while (*v == ' ')
		v++;
	if (*v < '0' || *v > '9')
		return -1;
	char *end;
	long long n = strtoll(v, &end, 10);
	while (*end == ' ')
		end++;
	if (*end != '\0' || n < 0 || n > 1000000000000LL)
		return -1;
	return (long)n;
}

uint32_t
ratelimit_org_hash(const char *v)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *v; v++)
		h = (h ^ (unsigned char)*v) * 16777619u;
	return h ? h : 1;
}

/* The value of the first of names the last response carried, or NULL. */
static const char *
header(CURL *easy, const char *const *names)
{
	for (; *names != NULL; names++) {
		struct curl_header *h = NULL;
		if (curl_easy_header(easy, *names, 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
		    h != NULL)
			return h->value;
	}
	return NULL;
}

void
ratelimit_none(struct obs_ratelimit *rl)
{
	rl->req_limit = rl->req_remaining = rl->tok_limit = rl->tok_remaining = -1;
	rl->org_hash = 0;
}

void
ratelimit_read(CURL *easy, struct obs_ratelimit *rl)
{
	static const char *const req_limit[] = {"x-ratelimit-limit-requests",
	                                        "anthropic-ratelimit-requests-limit", NULL};
	static const char *const req_left[] = {"x-ratelimit-remaining-requests",
	                                       "anthropic-ratelimit-requests-remaining", NULL};
	static const char *const tok_limit[] = {"x-ratelimit-limit-tokens",
	                                        "anthropic-ratelimit-tokens-limit", NULL};
	static const char *const tok_left[] = {"x-ratelimit-remaining-tokens",
	                                       "anthropic-ratelimit-tokens-remaining", NULL};
	static const char *const org[] = {"openai-organization", "anthropic-organization-id", NULL};
	rl->req_limit = ratelimit_number(header(easy, req_limit));
	rl->req_remaining = ratelimit_number(header(easy, req_left));
	rl->tok_limit = ratelimit_number(header(easy, tok_limit));
	rl->tok_remaining = ratelimit_number(header(easy, tok_left));
	const char *o = header(easy, org);
	rl->org_hash = o != NULL && *o ? ratelimit_org_hash(o) : 0;
}
