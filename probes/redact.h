/*
 * redact: keeping a request's secrets out of what it observed.
 *
 * A part of the probe engine: probes/engine.c calls it when a transfer
 * ends (tests/test_adapter.c checks redact_secret() alone); the rest of the
 * tree uses probes/engine.h, whose observations already come redacted. A
 * relay may echo the API key, or the value of an extra header it was sent
 * (a tenant token, a second key), in an error message, a model name or any
 * other field it fills in: none of them leaves the engine.
 *
 * Pure functions on the caller's memory; any thread.
 */
#ifndef ASSAY_REDACT_H
#define ASSAY_REDACT_H

#include <stddef.h>

struct observation;

/* Replace every echo of secret in s by "[redacted]": any run of 8 or more
 * of its characters in order (the whole key, the key without its "sk-",
 * its middle or a cut-off start; a run inside the vendor prefix alone, such
 * as "sk-proj-", is no echo), its URL-encoded spelling, and its base64
 * spelling at any alignment (runs of 12 or more). Returns a new string the
 * caller frees, NULL when s is NULL. A secret shorter than 4 characters is
 * not looked for; one shorter than 8 is looked for whole. */
char *redact_secret(const char *s, const char *secret);

/* Is an extra header's value to be redacted? Those of 8 characters or
 * more: a shorter one ("openai", a tenant number) cannot be told from
 * ordinary words in an answer, and rewriting those would falsify the token
 * recount. */
int redact_worth(const char *value);

/*
 * Redact, in place, the fields of o a relay's words reach: of key (NULL:
 * none) and then of each of the n_values values. text_len follows text.
 * On return o holds no occurrence of any of them. Returns how many fields
 * held one (the relay echoed a secret back).
 */
int redact_observation(struct observation *o, const char *key, char *const *values,
                       size_t n_values);

#endif
