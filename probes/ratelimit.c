/*
 * ratelimit: rate-limit headers into numbers (see ratelimit.h).
 */
#include "probes/ratelimit.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* FNV-1a over n bytes, never 0 */
static uint32_t
org_hash(const char *v, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)v[i]) * 16777619u;
	return h ? h : 1;
}

uint32_t
ratelimit_org_hash(const char *v)
{
	return org_hash(v, strlen(v));
}

/* The names asked for, two a field (OpenAI's, then Anthropic's): the
 * first of a pair that came is the field's. */
static const char *const names[RATELIMIT_NAMES] = {
    "x-ratelimit-limit-requests",
    "anthropic-ratelimit-requests-limit",
    "x-ratelimit-remaining-requests",
    "anthropic-ratelimit-requests-remaining",
    "x-ratelimit-limit-tokens",
    "anthropic-ratelimit-tokens-limit",
    "x-ratelimit-remaining-tokens",
    "anthropic-ratelimit-tokens-remaining",
    "openai-organization",
    "anthropic-organization-id",
};

/* The five fields from the value of each pair (NULL: neither came). */
static void
fill(struct obs_ratelimit *rl, const char *const v[5])
{
	rl->req_limit = ratelimit_number(v[0]);
	rl->req_remaining = ratelimit_number(v[1]);
	rl->tok_limit = ratelimit_number(v[2]);
	rl->tok_remaining = ratelimit_number(v[3]);
	rl->org_hash = v[4] != NULL && *v[4] ? ratelimit_org_hash(v[4]) : 0;
}

/* The value of names[i] the last response carried, or NULL. */
static const char *
header(CURL *easy, size_t i)
{
	struct curl_header *h = NULL;
	if (curl_easy_header(easy, names[i], 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h != NULL)
		return h->value;
	return NULL;
}

void
ratelimit_read(CURL *easy, struct obs_ratelimit *rl)
{
	const char *v[5];
	for (size_t f = 0; f < 5; f++) {
		v[f] = header(easy, 2 * f);
		if (v[f] == NULL)
			v[f] = header(easy, 2 * f + 1);
	}
	fill(rl, v);
}

void
ratelimit_seen_reset(struct ratelimit_seen *s)
{
	s->present = 0;
	s->too_long = 0;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

void
ratelimit_seen_header(struct ratelimit_seen *s, const char *name, size_t name_len,
                      const char *value, size_t vlen)
{
	/* every name asked for starts with x- , a or o */
	char c = name_len > 0 ? name[0] : '\0';
	if (c != 'x' && c != 'X' && c != 'a' && c != 'A' && c != 'o' && c != 'O')
		return;
	for (size_t i = 0; i < RATELIMIT_NAMES; i++) {
		if (strlen(names[i]) != name_len || strncasecmp(name, names[i], name_len) != 0)
			continue;
		if (s->present & (1u << i))
			return; /* curl's index 0: the first of the name */
		s->present |= 1u << i;
		/* curl keeps the value as a C string, without its trailing
		 * space characters */
		const char *nul = memchr(value, '\0', vlen);
		if (nul != NULL)
			vlen = (size_t)(nul - value);
		while (vlen > 0 && is_space(value[vlen - 1]))
			vlen--;
		if (i >= 8) { /* an organisation id: its digest */
			s->org[i - 8] = vlen > 0 ? org_hash(value, vlen) : 0;
			return;
		}
		char copy[32];
		if (vlen >= sizeof copy) {
			s->too_long |= 1u << i;
			return;
		}
		memcpy(copy, value, vlen);
		copy[vlen] = '\0';
		s->number[i] = ratelimit_number(copy);
		return;
	}
}

int
ratelimit_seen_finish(const struct ratelimit_seen *s, struct obs_ratelimit *rl)
{
	if (s->too_long != 0)
		return -1;
	long *field[4] = {&rl->req_limit, &rl->req_remaining, &rl->tok_limit, &rl->tok_remaining};
	for (size_t f = 0; f < 4; f++) {
		size_t i = (s->present & (1u << (2 * f))) ? 2 * f : 2 * f + 1;
		*field[f] = (s->present & (1u << i)) ? s->number[i] : -1;
	}
	size_t o = (s->present & (1u << 8)) ? 8 : 9;
	rl->org_hash = (s->present & (1u << o)) ? s->org[o - 8] : 0;
	return 0;
}
