/*
 * detect: the scorer. It owns the tokenizers the detectors share, walks the
 * detector table (scoring/detector.h; the families are in
 * scoring/detectors/) over a finished run, and turns what they found into a
 * verdict. The table's order matters: accounting first (it says whether the
 * claimed tokenizer fits), the strong checks of a model without a public
 * tokenizer last, from what the others found.
 */
#include "scoring/detect.h"
#include "scoring/listing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detector.h"
#include "scoring/identify.h"
#include "scoring/tokenizer.h"

const struct token_family token_families[N_TOKEN_FAMILIES] = {
    {"o200k_base", "openai"},       {"cl100k_base", "openai"},    {"qwen3", "qwen3"},
    {"deepseek_v3", "deepseek_v3"}, {"o200k_harmony", "harmony"}, {"gemma3", "gemma3"},
};

/* In the order they run (see the file's comment). */
static const struct detector *const detectors[] = {
    &detector_availability,    &detector_accounting,  &detector_completion_usage,
    &detector_capability,      &detector_protocol,    &detector_protocol_shape,
    &detector_style,           &detector_temperature, &detector_output_cap,
    &detector_context,         &detector_latency,     &detector_params,
    &detector_stream_buffered, &detector_cached,      &detector_usage_totals,
    &detector_harvest,         &detector_fingerprint, &detector_tamper,
    &detector_keyshare,        &detector_origin,      &detector_capab,
};
#define N_DETECTORS (sizeof detectors / sizeof detectors[0])

/* Relay text quoted as evidence: at most EVIDENCE_CAP bytes, cut at a
 * character boundary, "..." when cut. The caller frees it. */
#define EVIDENCE_CAP 60
char *
evidence_snippet(const char *text)
{
	size_t n = strlen(text);
	char *cut = utf8_sanitize(text, n, EVIDENCE_CAP);
	if (n <= EVIDENCE_CAP)
		return cut;
	char *s = xasprintf("%s...", cut);
	free(cut);
	return s;
}

struct scorer {
	const struct baseline_pack *pack;
	double time_scale; /* the audited endpoints' delays, as a multiple of real */
	struct tokenizer *tok[N_TOKEN_FAMILIES];
	int tried[N_TOKEN_FAMILIES];
	struct baseline_model **standins; /* for names the pack lacks */
	size_t n_standins;
};

struct scorer *
scorer_new(const struct baseline_pack *pack)
{
	struct scorer *s = xcalloc(1, sizeof *s);
	s->pack = pack;
	s->time_scale = 1;
	return s;
}

void
scorer_free(struct scorer *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < N_TOKEN_FAMILIES; i++)
		tokenizer_free(s->tok[i]);
	for (size_t i = 0; i < s->n_standins; i++) {
		baseline_infer_release(s->standins[i]);
		free(s->standins[i]);
	}
	free(s->standins);
	free(s);
}

const struct baseline_model *
scorer_claimed(struct scorer *s, const char *name, enum api_kind api)
{
	const struct baseline_model *m = baseline_find(s->pack, name);
	if (m != NULL)
		return m;
	for (size_t i = 0; i < s->n_standins; i++)
		if (strcmp(s->standins[i]->name, name) == 0 &&
		    strcmp(s->standins[i]->api, api_name(api)) == 0)
			return s->standins[i];
	struct baseline_model *n = xcalloc(1, sizeof *n);
	baseline_infer(s->pack, name, api, n);
	s->standins = xrealloc(s->standins, (s->n_standins + 1) * sizeof *s->standins);
	s->standins[s->n_standins++] = n;
	return n;
}

struct tokenizer *
scorer_tokenizer(struct scorer *s, const char *name)
{
	for (size_t i = 0; i < N_TOKEN_FAMILIES; i++) {
		if (strcmp(token_families[i].tokenizer, name) != 0)
			continue;
		if (!s->tried[i]) {
			char err[256];
			s->tried[i] = 1;
			s->tok[i] = tokenizer_open(name, err, sizeof err);
			/* a build-time vocabulary may be absent: its family then
			 * fits nothing, which needs no word on every audit */
			if (s->tok[i] == NULL && !tokenizer_optional(name))
				fprintf(stderr, "assay: %s\n", err);
		}
		return s->tok[i];
	}
	return NULL;
}

long
scorer_expected_prompt_tokens(struct scorer *s, const char *tokenizer, const char *family,
                              const struct audit_item *item)
{
	struct tokenizer *t = scorer_tokenizer(s, tokenizer);
	if (t == NULL)
		return -1;
	struct chat_message msgs[16];
	size_t n = item->n_messages < 16 ? item->n_messages : 16;
	for (size_t i = 0; i < n; i++) {
		msgs[i].role = item->messages[i].role;
		msgs[i].content = item->messages[i].content;
		msgs[i].name = NULL;
	}
	return chat_prompt_tokens(t, family, msgs, n);
}

const struct baseline_pack *
scorer_pack(const struct scorer *s)
{
	return s->pack;
}

double
scorer_time_scale(const struct scorer *s)
{
	return s->time_scale;
}

void
scorer_set_time_scale(struct scorer *s, double scale)
{
	s->time_scale = scale > 0 ? scale : 1;
}

size_t
token_family_index(const char *tokenizer)
{
	for (size_t i = 0; i < N_TOKEN_FAMILIES; i++)
		if (strcmp(token_families[i].tokenizer, tokenizer) == 0)
			return i;
	return N_TOKEN_FAMILIES;
}

/* A model of the pack that uses a tokenizer, to name what is served. */
const char *
model_for_tokenizer(const struct baseline_pack *pack, const char *tokenizer)
{
	for (size_t i = 0; i < pack->n; i++)
		if (pack->models[i].tokenizer && strcmp(pack->models[i].tokenizer, tokenizer) == 0)
			return pack->models[i].name;
	return NULL;
}

/* Did a detector add only the classes it declares? A broken invariant of
 * the table, said loudly. */
static void
check_classes(const struct detector *d, const struct assessment *a, size_t from)
{
	for (size_t i = from; i < a->n_findings; i++) {
		int c = class_from_name(a->findings[i].class);
		if (c < 0 || !(d->classes & CLASS_BIT(c)))
			fatal(70,
			      "internal: detector '%s' added a finding of class '%s' it does not "
			      "declare",
			      d->name, a->findings[i].class);
	}
}

_Static_assert(N_TOKEN_FAMILIES <= N_STOP_FAMILIES, "scorer_stop counts every family");

void
scorer_stop_init(struct scorer_stop *st, struct scorer *s, const struct baseline_model *claimed)
{
	memset(st, 0, sizeof *st);
	st->scorer = s;
	st->claimed = claimed;
	eprocess_init(&st->e);
	/* the claimed family's vocabulary is counted with from the first
	 * answer on: loaded now, before any request is in flight, its
	 * milliseconds do not stall the loop and bunch streams being read */
	if (claimed != NULL && claimed->origin == BASELINE_PACK && claimed->tokenizer != NULL)
		(void)scorer_tokenizer(s, claimed->tokenizer);
}

void
scorer_stop_release(struct scorer_stop *st)
{
	free(st->seen);
	st->seen = NULL;
}

/* Judge item i's count: 0 when it is the claimed family's, 1 when it is
 * other families' exactly (*family: their bits, 1 << index), 2 when it fits
 * none, -1 when it was not counted. */
static int
stop_judge(struct scorer_stop *st, const struct audit_item *it, size_t cf, size_t *family)
{
	const struct observation *o = it->obs;
	if (o == NULL || !observation_ok(o) || o->prompt_tokens <= 0 ||
	    strcmp(it->probe->id, "long-context") == 0 || it->probe->intent.tool_name != NULL ||
	    it->probe->tier == TIER_LONG || it->probe->intent.attach != MEDIA_NONE)
		return -1;
	long claimed = scorer_expected_prompt_tokens(st->scorer, token_families[cf].tokenizer,
	                                             token_families[cf].template, it);
	if (claimed < 0)
		return -1;
	if (claimed == o->prompt_tokens)
		return 0;
	/* every other family whose count it is (short texts can count alike
	 * in two: each is credited, and the stop needs one that explains all) */
	*family = 0;
	for (size_t f = 0; f < N_TOKEN_FAMILIES; f++) {
		if (f == cf)
			continue;
		long e = scorer_expected_prompt_tokens(st->scorer, token_families[f].tokenizer,
		                                       token_families[f].template, it);
		if (e == o->prompt_tokens && e != claimed)
			*family |= (size_t)1 << f;
	}
	return *family != 0 ? 1 : 2;
}

long
scorer_stop_prompt_tokens(const struct audit_item *it, void *arg)
{
	const struct scorer_stop *st = arg;
	const struct baseline_model *m = st->claimed;
	if (m == NULL || m->origin != BASELINE_PACK || m->tokenizer == NULL || m->template == NULL)
		return -1;
	return scorer_expected_prompt_tokens(st->scorer, m->tokenizer, m->template, it);
}

int
scorer_stop_early(const struct audit_run *run, void *arg, char *why, size_t whylen)
{
	struct scorer_stop *st = arg;
	const struct baseline_model *m = st->claimed;
	/* only a pack model with a public tokenizer we count has exact counts */
	if (m == NULL || m->origin != BASELINE_PACK || m->tokenizer == NULL || m->template == NULL)
		return 0;
	size_t cf = token_family_index(m->tokenizer);
	if (cf == N_TOKEN_FAMILIES)
		return 0;
	if (st->n_seen_cap < run->n_items) {
		st->seen = xrealloc(st->seen, run->n_items);
		memset(st->seen + st->n_seen_cap, 0, run->n_items - st->n_seen_cap);
		st->n_seen_cap = run->n_items;
	}
	for (size_t i = 0; i < run->n_items; i++) {
		if (st->seen[i] || run->items[i].obs == NULL)
			continue;
		st->seen[i] = 1;
		size_t f = 0;
		int judged = stop_judge(st, &run->items[i], cf, &f);
		if (judged < 0)
			continue;
		int fired = judged == 1;
		st->counted++;
		/* E[1{fired} / rate] <= 1 for an honest relay */
		eprocess_update(&st->e, fired ? 1 / STOP_NULL_RATE : 0);
		if (fired) {
			st->fired++;
			for (size_t k = 0; k < N_TOKEN_FAMILIES; k++)
				st->family_hits[k] += (f >> k) & 1;
		} else if (judged == 2) {
			st->unexplained++;
		}
	}
	size_t best = 0;
	for (size_t f = 1; f < N_TOKEN_FAMILIES; f++)
		if (st->family_hits[f] > st->family_hits[best])
			best = f;
	/* counts no family explains (inflation, a hidden prompt) or two other
	 * families: not the plain swap this rule knows; the whole audit tells */
	if (st->family_hits[best] < STOP_MIN_COUNTED || st->unexplained > 0 ||
	    st->family_hits[best] != st->fired ||
	    eprocess_value(&st->e) < evalue_threshold(FP_BUDGET_MISBEHAVING / 2, 1))
		return 0;
	snprintf(why, whylen,
	         "the input token counts of %zu of the first %zu requests counted were the %s "
	         "tokenizer's exactly, not %s's: the evidence was decisive",
	         st->fired, st->counted, token_families[best].tokenizer, m->name);
	return 1;
}

void
scorer_attribute_disagreement(struct assessment *a)
{
	int second_model = a->partial_substitution;
	for (size_t i = 0; i < a->n_findings && !second_model; i++) {
		const struct finding *f = &a->findings[i];
		/* a hint (one run's fingerprint test) is too little to name a
		 * second model: the disagreement keeps the class it measured */
		second_model = f->cls == CLASS_SUBSTITUTION && !f->hint_only &&
		               f->confidence >= CONFIDENCE_SUGGESTIVE;
	}
	/* a relay that replays old answers hands back fixed answers of other
	 * requests: temperature 0's disagreement is that, no more */
	int replays = 0;
	for (size_t i = 0; i < a->n_findings; i++)
		replays |= a->findings[i].cls == CLASS_CACHED_RESPONSE && !a->findings[i].hint_only;
	for (size_t i = 0; i < a->n_findings && replays; i++) {
		struct finding *f = &a->findings[i];
		/* ... and an answer or tool call replayed from another request
		 * holds that request's address or link: no tampering shown */
		int tampering =
		    f->cls == CLASS_TOOL_TAMPERING || f->cls == CLASS_RESPONSE_TAMPERING;
		int disagreement = f->probe != NULL && strcmp(f->probe, "temp-zero") == 0 &&
		                   (f->cls == CLASS_PARAM_IGNORED || f->cls == CLASS_SUBSTITUTION);
		/* ... and its usage: some requests billed another request's
		 * count, which may fit another tokenizer's count by chance */
		int mixture = a->partial_substitution && f->cls == CLASS_SUBSTITUTION &&
		              f->probe != NULL && strcmp(f->probe, "all") == 0;
		if (f->hint_only || (!tampering && !disagreement && !mixture))
			continue;
		char buf[1280];
		snprintf(buf, sizeof buf,
		         "%s The relay also replays old answers, other requests' text, which "
		         "explains it: a hint.",
		         f->summary);
		free(f->summary);
		f->summary = xstrdup(buf);
		f->hint_only = 1;
	}
	for (size_t i = 0; i < a->n_findings && !replays; i++) {
		struct finding *f = &a->findings[i];
		if (f->cls != CLASS_PARAM_IGNORED || strcmp(f->probe, "temp-zero") != 0)
			continue;
		char buf[1280];
		if (second_model) {
			snprintf(
			    buf, sizeof buf,
			    "Two answers to the same temperature-0 request differ, and the run's "
			    "other evidence points at a second model: some requests are likely "
			    "served by another model (%s)",
			    f->summary);
			f->cls = CLASS_SUBSTITUTION;
			free(f->class);
			f->class = xstrdup(class_name(CLASS_SUBSTITUTION));
		} else {
			snprintf(buf, sizeof buf,
			         "%s It can also mean some requests are served by another model; "
			         "nothing else in this run says so.",
			         f->summary);
		}
		free(f->summary);
		f->summary = xstrdup(buf);
		f->at_most_suspect = 1;
	}
}

void
scorer_assess(struct scorer *s, const struct audit_run *run, const struct baseline_model *claimed,
              struct assessment *a)
{
	for (size_t i = 0; i < run->n_skipped; i++)
		assessment_skip(a, run->skipped[i].probe->id, run->skipped[i].reason);
	/* probes the run stopped early before sending, once each */
	for (size_t i = 0; i < run->n_items; i++)
		if (run->items[i].not_needed && (i == 0 || !run->items[i - 1].not_needed ||
		                                 run->items[i - 1].probe != run->items[i].probe)) {
			if (run->budget_reached)
				a->budget_unsent++;
			assessment_skip(a, run->items[i].probe->id,
			                run->items[i].obs && run->items[i].obs->error_detail
			                    ? run->items[i].obs->error_detail
			                    : "not needed");
		}
	a->budget_tokens = run->target.budget_tokens;
	a->tokens_spent = audit_tokens_spent(run);
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o != NULL && o->prompt_tokens > 0)
			a->prompt_tokens += o->prompt_tokens;
		if (o != NULL && o->completion_tokens > 0)
			a->completion_tokens += o->completion_tokens;
	}
	if (claimed != NULL)
		a->baseline_origin = claimed->origin;
	if (claimed != NULL && claimed->price_in >= 0)
		a->cost_usd = (a->prompt_tokens * claimed->price_in +
		               a->completion_tokens * claimed->price_out) /
		              1e6;
	struct detect_ctx ctx = {.scorer = s, .run = run, .claimed = claimed, .a = a};
	for (size_t k = 0; k < N_DETECTORS; k++) {
		const struct detector *d = detectors[k];
		/* with nothing answered, only availability has anything to say */
		if (d->needs_claimed && (claimed == NULL || a->ok_requests == 0))
			continue;
		size_t before = a->n_findings;
		d->run(&ctx);
		check_classes(d, a, before);
	}
	/* no public tokenizer: the strong checks are the protocol's shape on
	 * every response and counts that no public tokenizer explains */
	if (claimed != NULL && claimed->origin == BASELINE_PACK && claimed->tokenizer == NULL &&
	    a->private_tokenizer_unlike_public && a->protocol_matched) {
		a->strong_checks_passed = 1;
		free(a->genuine_reason);
		a->genuine_reason = xasprintf(
		    "every response has the %s shape and the token counts match no public "
		    "tokenizer, as the claimed model's own would; no check failed",
		    a->protocol_matched == 2 ? "claimed channel's backend's" : "official API's");
	}
	scorer_attribute_disagreement(a);
	assessment_decide(a);
	listing_assess(run, s->pack, claimed, a);
}

/* Does the table name probe (directly)? */
static int
some_detector_reads(const char *probe)
{
	for (size_t k = 0; k < N_DETECTORS; k++)
		for (const char *const *p = detectors[k]->probes; p != NULL && *p != NULL; p++)
			if (strcmp(*p, probe) == 0)
				return 1;
	return 0;
}

int
scorer_check_catalog(const struct catalog *c, const char *path, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct probe_def *p = &c->probes[i];
		for (size_t k = 0; k < p->n_informs; k++)
			if (class_from_name(p->informs[k]) < 0) {
				snprintf(err, errlen,
				         "%s:%d: probe '%s' informs unknown finding class '%s'",
				         path, p->line, p->id, p->informs[k]);
				return -1;
			}
		if (!some_detector_reads(p->id)) {
			snprintf(err, errlen,
			         "%s:%d: probe '%s' is read by no detector (scoring/detectors/)",
			         path, p->line, p->id);
			return -1;
		}
	}
	for (size_t k = 0; k < N_DETECTORS; k++)
		for (const char *const *p = detectors[k]->probes; p != NULL && *p != NULL; p++)
			if (catalog_find(c, *p) == NULL) {
				snprintf(
				    err, errlen,
				    "%s: detector '%s' reads probe '%s', which the catalog lacks",
				    path, detectors[k]->name, *p);
				return -1;
			}
	return 0;
}

struct catalog *
scorer_catalog_default(char *err, size_t errlen)
{
	return catalog_load_default_checked(scorer_check_catalog, err, errlen);
}
