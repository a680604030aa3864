/*
 * redact: secrets out of observations.
 *
 * Invariant: every relay-given text field of an observation passes through
 * redact_secret() for the key and for every extra header value kept (see
 * redact_worth) before the engine hands the observation over. Numbers and
 * the engine's own fields (timings, chunk times) carry no relay text.
 */
#include "probes/redact.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/observation.h"

/* Every copy of the key starts with its first REDACT_PREFIX characters: one
 * search finds the whole key and the partial echoes relays print
 * ("sk-abcdefgh...") */
#define REDACT_PREFIX 10
/* A secret shorter than this is not looked for: it would match words. */
#define REDACT_MIN_SECRET 4
/* Extra header values of at least this length are secrets (redact_worth). */
#define REDACT_MIN_VALUE 8

char *
redact_secret(const char *s, const char *secret)
{
	if (s == NULL)
		return NULL;
	size_t klen = secret ? strlen(secret) : 0;
	if (klen < REDACT_MIN_SECRET)
		return xstrdup(s);
	char prefix[REDACT_PREFIX + 1];
	size_t plen = klen < REDACT_PREFIX ? klen : REDACT_PREFIX;
	memcpy(prefix, secret, plen);
	prefix[plen] = '\0';
	struct buf b;
	buf_init(&b, 0);
	const char *p = s, *hit;
	while ((hit = strstr(p, prefix)) != NULL) {
		if (buf_add(&b, p, (size_t)(hit - p)) != 0)
			break;
		buf_puts(&b, "[redacted]");
		p = hit + (strncmp(hit, secret, klen) == 0 ? klen : plen);
	}
	buf_puts(&b, p);
	return buf_take(&b, NULL);
}

int
redact_worth(const char *value)
{
	return strlen(value) >= REDACT_MIN_VALUE;
}

static void
redact_field(char **field, const char *secret)
{
	if (*field == NULL || secret == NULL)
		return;
	char *clean = redact_secret(*field, secret);
	free(*field);
	*field = clean;
}

/*
 * The fields of o a relay fills in, redacted of secret. Every one: a relay
 * that echoed the key in x-ratelimit-remaining-requests once put it in the
 * database through ratelimit_remaining.
 */
static void
redact_fields(struct observation *o, const char *secret)
{
	redact_field(&o->error_detail, secret);
	redact_field(&o->text, secret);
	if (o->text != NULL)
		o->text_len = strlen(o->text);
	redact_field(&o->model, secret);
	redact_field(&o->id, secret);
	redact_field(&o->finish_reason, secret);
	redact_field(&o->system_fingerprint, secret);
	redact_field(&o->request_id, secret);
	redact_field(&o->ratelimit_remaining, secret);
	redact_field(&o->content_type, secret);
	redact_field(&o->tool_id, secret);
}

void
redact_observation(struct observation *o, const char *key, char *const *values, size_t n_values)
{
	redact_fields(o, key);
	for (size_t i = 0; i < n_values; i++)
		redact_fields(o, values[i]);
}
