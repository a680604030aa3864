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
 * first of a pair that came is the field's. With their lengths, so that a
 * header line is compared with the names of its length only. */
#define NAME(s)                                                                                    \
	{                                                                                          \
		s, sizeof s - 1                                                                    \
	}
static const struct {
	const char *name;
	size_t len;
} names[RATELIMIT_NAMES] = {
    NAME("x-ratelimit-limit-requests"),
    NAME("anthropic-ratelimit-requests-limit"),
    NAME("x-ratelimit-remaining-requests"),
    NAME("anthropic-ratelimit-requests-remaining"),
    NAME("x-ratelimit-limit-tokens"),
    NAME("anthropic-ratelimit-tokens-limit"),
    NAME("x-ratelimit-remaining-tokens"),
    NAME("anthropic-ratelimit-tokens-remaining"),
    NAME("openai-organization"),
    NAME("anthropic-organization-id"),
};

/* An organisation id of blanks only (libcurl 7.88.1 gives an empty header's
 * value as "\r") is none. */
static int
blank(const char *v)
{
	for (; *v; v++)
		if (*v != ' ' && *v != '\t' && *v != '\r' && *v != '\n')
			return 0;
	return 1;
}

/* The five fields from the value of each pair (NULL: neither came). */
static void
fill(struct obs_ratelimit *rl, const char *const v[5])
{
	rl->req_limit = ratelimit_number(v[0]);
	rl->req_remaining = ratelimit_number(v[1]);
	rl->tok_limit = ratelimit_number(v[2]);
	rl->tok_remaining = ratelimit_number(v[3]);
	rl->org_hash = v[4] != NULL && !blank(v[4]) ? ratelimit_org_hash(v[4]) : 0;
}

/* The value of names[i] the last response carried, or NULL. */
static const char *
header(CURL *easy, size_t i)
{
	struct curl_header *h = NULL;
	if (curl_easy_header(easy, names[i].name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
	    h != NULL)
		return h->value;
	return NULL;
}

/* Each field's value, asking libcurl for the names seen (all: every name). */
static void
read_names(CURL *easy, unsigned seen, struct obs_ratelimit *rl)
{
	const char *v[5];
	for (size_t f = 0; f < 5; f++) {
		v[f] = NULL;
		for (size_t i = 2 * f; i < 2 * f + 2 && v[f] == NULL; i++)
			if (seen & (1u << i))
				v[f] = header(easy, i);
	}
	fill(rl, v);
}

void
ratelimit_read(CURL *easy, struct obs_ratelimit *rl)
{
	read_names(easy, (1u << RATELIMIT_NAMES) - 1, rl);
}

void
ratelimit_seen_reset(struct ratelimit_seen *s)
{
	s->present = 0;
}

void
ratelimit_seen_header(struct ratelimit_seen *s, const char *name, size_t name_len)
{
	/* every name asked for starts with x- , a or o */
	char c = name_len > 0 ? name[0] : '\0';
	if (c != 'x' && c != 'X' && c != 'a' && c != 'A' && c != 'o' && c != 'O')
		return;
	for (size_t i = 0; i < RATELIMIT_NAMES; i++)
		if (names[i].len == name_len && strncasecmp(name, names[i].name, name_len) == 0)
			s->present |= 1u << i;
}

void
ratelimit_read_seen(CURL *easy, const struct ratelimit_seen *s, struct obs_ratelimit *rl)
{
	read_names(easy, s->present, rl);
}
