/*
 * redact: secrets out of observations.
 *
 * Invariant: every relay-given text field of an observation passes through
 * redact_secret() for the key and for every extra header value kept (see
 * redact_worth) before the engine hands the observation over. Numbers and
 * the engine's own fields (timings, chunk times) carry no relay text.
 */
#include "probes/redact.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/observation.h"

/* A secret shorter than this is not looked for: it would match words. */
#define REDACT_MIN_SECRET 4
/* Extra header values of at least this length are secrets (redact_worth). */
#define REDACT_MIN_VALUE 8
/* A run of this many of the key's characters, in order, anywhere in a
 * relay's text, is an echo of the key: "sk-" dropped, the middle quoted, the
 * end cut off. A random key's 8-character run is no word. */
#define REDACT_MIN_RUN 8
/* The runs of the base64 spelling must be longer: its alphabet is letters. */
#define REDACT_MIN_RUN_B64 12

/* The key's vendor prefix ("sk-", "sk-proj-", "sk-ant-api03-"): up to its
 * last '-' or '_' among the first 16 characters. Not secret, and the same
 * in every key, so a run inside it alone is no echo. */
static size_t
vendor_prefix(const char *key, size_t n)
{
	size_t end = 0;
	for (size_t i = 0; i < n && i < 16; i++)
		if (key[i] == '-' || key[i] == '_')
			end = i + 1;
	return end;
}

/* Where each byte occurs in a secret: the first position of byte c is
 * head[c], the next after j is link[j] (-1 ends); so a scan looks only at
 * the positions where a run could start (about one per byte of text for a
 * random key, not every position of it). */
struct occurrences {
	int head[256];
	int *link;
};

static void
occurrences_init(struct occurrences *o, const char *v, size_t vn)
{
	for (int c = 0; c < 256; c++)
		o->head[c] = -1;
	o->link = xcalloc(vn ? vn : 1, sizeof *o->link);
	for (size_t j = vn; j-- > 0;) {
		unsigned char c = (unsigned char)v[j];
		o->link[j] = o->head[c];
		o->head[c] = (int)j;
	}
}

/* The longest run at s[0..] of v's characters v[j..], over every j, that
 * is at least min long and not inside v's first skip characters: its
 * length, or 0. */
static size_t
run_at(const char *s, size_t sn, const char *v, size_t vn, const struct occurrences *o, size_t skip,
       size_t min)
{
	size_t best = 0;
	for (int jj = o->head[(unsigned char)s[0]]; jj >= 0; jj = o->link[jj]) {
		size_t j = (size_t)jj, k = 0;
		while (k < sn && j + k < vn && s[k] == v[j + k])
			k++;
		if (k >= min && j + k > skip && k > best)
			best = k;
	}
	return best;
}

/* s with every run of v (see run_at) replaced by "[redacted]"; appended to
 * out (uncapped). */
static void
redact_runs(struct buf *out, const char *s, const char *v, size_t skip, size_t min)
{
	size_t sn = strlen(s), vn = strlen(v);
	struct occurrences o;
	occurrences_init(&o, v, vn);
	size_t i = 0, kept = 0; /* s[kept..i) is not yet appended */
	while (i < sn) {
		size_t k = vn >= min ? run_at(s + i, sn - i, v, vn, &o, skip, min) : 0;
		if (k == 0) {
			i++;
			continue;
		}
		if (buf_add(out, s + kept, i - kept) != 0)
			fatal(70, "internal: redaction buffer");
		buf_puts(out, "[redacted]");
		i += k;
		kept = i;
	}
	if (buf_add(out, s + kept, sn - kept) != 0)
		fatal(70, "internal: redaction buffer");
	free(o.link);
}

/* A spelling of the secret to look for, and the shortest run of it that
 * counts. */
struct variant {
	char *text;
	size_t min, skip; /* skip: its vendor prefix, as for the key */
};

/* The spellings of secret a relay may echo besides itself: URL-encoded
 * (curl's escaping), and base64 at each of the three alignments it can sit
 * at inside a longer encoded string (a Basic credential, a JWT), each cut
 * to the characters that do not depend on its neighbours. */
static size_t
variants(const char *secret, struct variant out[4])
{
	size_t n = 0;
	char *esc = curl_easy_escape(NULL, secret, 0);
	if (esc != NULL) {
		if (strcmp(esc, secret) != 0)
			out[n++] = (struct variant){xstrdup(esc), REDACT_MIN_RUN,
			                            vendor_prefix(esc, strlen(esc))};
		curl_free(esc);
	}
	size_t len = strlen(secret);
	for (size_t pad = 0; pad < 3; pad++) {
		size_t in = pad + len;
		unsigned char *raw = xmalloc(in);
		memset(raw, 'x', pad);
		memcpy(raw + pad, secret, len);
		unsigned char *b64 = xmalloc(4 * ((in + 2) / 3) + 1);
		int w = EVP_EncodeBlock(b64, raw, (int)in);
		free(raw);
		/* drop the quartets the padding or the end touch */
		size_t from = pad > 0 ? 4 : 0, to = w > 4 ? (size_t)w - 4 : 0;
		if (to > from + REDACT_MIN_RUN_B64)
			out[n++] = (struct variant){xstrndup((char *)b64 + from, to - from),
			                            REDACT_MIN_RUN_B64, 0};
		free(b64);
	}
	return n;
}

char *
redact_secret(const char *s, const char *secret)
{
	if (s == NULL)
		return NULL;
	size_t klen = secret ? strlen(secret) : 0;
	if (klen < REDACT_MIN_SECRET)
		return xstrdup(s);
	struct buf b;
	buf_init(&b, 0);
	/* a secret shorter than a run is looked for whole */
	size_t min = klen < REDACT_MIN_RUN ? klen : REDACT_MIN_RUN;
	redact_runs(&b, s, secret, vendor_prefix(secret, klen), min);
	struct variant v[4];
	size_t nv = variants(secret, v);
	for (size_t i = 0; i < nv; i++) {
		char *cur = buf_take(&b, NULL);
		buf_init(&b, 0);
		redact_runs(&b, cur ? cur : "", v[i].text, v[i].skip, v[i].min);
		free(cur);
		free(v[i].text);
	}
	char *out = buf_take(&b, NULL);
	return out ? out : xstrdup("");
}

int
redact_worth(const char *value)
{
	return strlen(value) >= REDACT_MIN_VALUE;
}

/* 1 when the field held the secret. */
static int
redact_field(char **field, const char *secret)
{
	if (*field == NULL || secret == NULL)
		return 0;
	char *clean = redact_secret(*field, secret);
	int changed = strcmp(clean, *field) != 0;
	free(*field);
	*field = clean;
	return changed;
}

/*
 * The fields of o a relay fills in, redacted of secret. Every one: a relay
 * that echoed the key in x-ratelimit-remaining-requests once put it in the
 * database through ratelimit_remaining.
 */
static int
redact_fields(struct observation *o, const char *secret)
{
	int n = redact_field(&o->error_detail, secret);
	n += redact_field(&o->text, secret);
	if (o->text != NULL)
		o->text_len = strlen(o->text);
	n += redact_field(&o->model, secret);
	n += redact_field(&o->id, secret);
	n += redact_field(&o->finish_reason, secret);
	n += redact_field(&o->system_fingerprint, secret);
	n += redact_field(&o->request_id, secret);
	n += redact_field(&o->ratelimit_remaining, secret);
	n += redact_field(&o->content_type, secret);
	n += redact_field(&o->tool_id, secret);
	n += redact_field(&o->tool_name, secret);
	n += redact_field(&o->tool_args, secret);
	return n;
}

int
redact_observation(struct observation *o, const char *key, char *const *values, size_t n_values)
{
	int n = redact_fields(o, key);
	for (size_t i = 0; i < n_values; i++)
		n += redact_fields(o, values[i]);
	return n;
}
