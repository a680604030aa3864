/*
 * detect: the scorer, which turns a finished audit run into findings and a
 * verdict.
 *
 * A scorer holds the baseline pack and the tokenizers it opened, and walks
 * the detector table (scoring/detector.h, one file per family under
 * scoring/detectors/: availability, accounting, answers, protocol,
 * conformance, timing, fingerprint). Each finding carries its numbers. A
 * scorer is used by one thread at a time.
 */
#ifndef ASSAY_DETECT_H
#define ASSAY_DETECT_H

#include "probes/audit.h"
#include "scoring/baseline.h"
#include "scoring/evalue.h"
#include "scoring/verdict.h"

struct scorer;

/* A scorer over pack (borrowed: it must outlive the scorer). */
struct scorer *scorer_new(const struct baseline_pack *pack);
void scorer_free(struct scorer *s);
/*
 * The audited endpoints run at this time scale (their delays are scale
 * times real ones; 1, the default, for every real relay). Latency profiles
 * recorded at another scale are rescaled before they are compared.
 */
void scorer_set_time_scale(struct scorer *s, double scale);

/*
 * Hold a probe catalog (loaded from path) and the detector table to each
 * other, at start-up: every probe's `informs` names a class of
 * scoring/classes.h, every probe is read by some detector, every probe a
 * detector reads is in the catalog. 0, or -1 with "FILE:LINE: reason".
 */
int scorer_check_catalog(const struct catalog *c, const char *path, char *err, size_t errlen);
/* The bundled catalog, loaded and checked as above; NULL with the reason in
 * err. */
struct catalog *scorer_catalog_default(char *err, size_t errlen);

/*
 * The model to judge name against: the pack's, or (for a name the pack does
 * not know) a stand-in built from the name for api (scoring/identify.h),
 * owned by the scorer and the same one each time it is asked for.
 */
const struct baseline_model *scorer_claimed(struct scorer *s, const char *name, enum api_kind api);

/* Assess a finished run against the claimed model's baseline (a pack's or a
 * stand-in, see scorer_claimed; NULL judges availability only). Fills a
 * (initialised by the caller) and decides its verdict. */
/*
 * A finding's class follows from what it measured: two answers to one
 * temperature-0 request that differ show the relay is not deterministic,
 * which a dropped temperature and a second model serving some requests
 * both explain. When the run's other evidence points at a second model (a
 * substitution finding at least suggestive, or counts of another tokenizer
 * on some requests), the disagreement is counted as substitution evidence
 * (still at most suspect); alone it stays param_ignored, at most suspect,
 * and says both readings. Beside a replay found (cached_response), that
 * disagreement, any tampering finding and a mixture of counts are hints: a
 * replayed answer is another request's text and usage, with its addresses
 * and links. scorer_assess
 * calls it after the detectors.
 */
void scorer_attribute_disagreement(struct assessment *a);

/*
 * Early stopping of `assay audit` (probes/audit.h: audit_target.stop): after
 * each request, the requests whose input tokens were counted feed an
 * e-process (scoring/evalue.h) of the event "the count is not the claimed
 * tokenizer's but exactly another family's", whose probability for an
 * honest relay is taken as at most STOP_NULL_RATE per request (the
 * accounting detector calls one such request a violation, p = 1e-5). Once
 * the e-process reaches 2 / FP_BUDGET_MISBEHAVING (Ville: an honest relay is
 * stopped so with probability at most half the budget, however many looks)
 * and at least STOP_MIN_COUNTED counts fit the same other family (and every
 * count so far fits the claimed tokenizer or that one: inflation and
 * hidden prompts never stop an audit), the rest of the audit is not
 * needed: the counts already convict. Set st with
 * scorer_stop_init, point the target's stop at scorer_stop_early with st as
 * its arg, and scorer_stop_release after the run.
 */
#define STOP_NULL_RATE 1e-3
#define STOP_MIN_COUNTED 4
#define N_STOP_FAMILIES 8 /* at least the token families the scorer counts */
struct scorer_stop {
	struct scorer *scorer;
	const struct baseline_model *claimed;
	struct eprocess e;
	unsigned char *seen; /* items already judged */
	size_t n_seen_cap;
	size_t counted, fired, unexplained, family_hits[N_STOP_FAMILIES];
};
void scorer_stop_init(struct scorer_stop *st, struct scorer *s,
                      const struct baseline_model *claimed);
int scorer_stop_early(const struct audit_run *run, void *arg, char *why, size_t whylen);
/* audit_target's prompt_tokens with a struct scorer_stop as arg: the
 * item's messages counted with the claimed model's tokenizer and template
 * (a pack model's public one), else -1. */
long scorer_stop_prompt_tokens(const struct audit_item *it, void *arg);
void scorer_stop_release(struct scorer_stop *st);
void scorer_assess(struct scorer *s, const struct audit_run *run,
                   const struct baseline_model *claimed, struct assessment *a);

/* The answer-style two-sample test (scoring/mmd.h) of free answers to the
 * "style" probe against the claimed model's recorded ones. */
#define STYLE_PROBE "style" /* the catalog probe whose answers are tested */
#define STYLE_ALPHA 0.05    /* a p-value above this is no finding */
struct style_test {
	size_t n;       /* the relay's answers tested */
	double p_value; /* permutation p-value against the claimed model */
	double mmd2;
	/* another model fitting better, or NULL; looked for only when
	 * p_value <= STYLE_ALPHA */
	const struct baseline_model *closest;
};
/* -1 when the pack has no recorded answers for claimed or n < 2. */
int scorer_style_test(const struct scorer *s, const struct baseline_model *claimed,
                      const char *const *texts, size_t n, struct style_test *out);
/* Add the substitution finding a test supports (none when p > STYLE_ALPHA);
 * runs is how many audit runs the answers came from. */
void scorer_add_style_finding(const struct baseline_model *claimed, const struct style_test *t,
                              int runs, struct assessment *a);

/*
 * One-token categorical fingerprints (scoring/detectors/fingerprint.c):
 * questions such as "a random number between 1 and 100" whose normalised
 * answers (fingerprint_normalise) the official model gives with a
 * distribution of its own, recorded by `baseline record` (answer_counts)
 * and compared by a test calibrated on the recorded answers themselves.
 */
#define FINGERPRINT_VALUE_MAX 32 /* bytes of a normalised answer, with its NUL */
/* Is probe one of the categorical fingerprint probes? */
int scorer_fingerprint_probe(const char *probe);
/* An integrity probe's answered request judged against what its prompt
 * quotes (scoring/detectors/tamper.c): "exact", "slip" (text dropped),
 * "added" (words the conversation never held), "payload" (an added link,
 * host, address or renamed package); NULL when it is no such request or
 * has nothing to compare. What `baseline record` counts per probe. */
struct audit_item;
const char *scorer_fidelity_outcome(const struct audit_item *it);
/* The answer as counted: its first word, lower-cased (ASCII), quotes and
 * punctuation around it dropped, cut at a character boundary to fit out
 * (FINGERPRINT_VALUE_MAX); "" when text has no word. */
void fingerprint_normalise(const char *text, char *out, size_t outlen);

/* One answer of the relay to a fingerprint probe (strings borrowed). */
struct fingerprint_answer {
	const char *probe;
	const char *value; /* normalised */
};
struct fingerprint_test {
	size_t n;       /* the relay's answers tested (those with a reference) */
	double p_value; /* calibrated against the recorded answers (see the .c) */
	/* the answer that tells most: `count` of the `of` answers to probe
	 * were value; the official model gives it `official_share` of the
	 * time (0: never among `recorded` answers) */
	const char *probe;
	char value[FINGERPRINT_VALUE_MAX];
	size_t count, of;
	double official_share;
	long recorded;
	/* a pack model these answers are at least FINGERPRINT_NAMED_RATIO
	 * times likelier from, or NULL */
	const struct baseline_model *closest;
	double closest_ratio;
};
#define FINGERPRINT_NAMED_RATIO 100.0
/* Test n answers against claimed's recorded distributions: -1 when claimed
 * has none for any answered probe. Deterministic for the same answers. */
int scorer_fingerprint_test(const struct scorer *s, const struct baseline_model *claimed,
                            const struct fingerprint_answer *answers, size_t n,
                            struct fingerprint_test *out);
/* Add the substitution finding a test supports (none when p > the suspect
 * budget); runs is how many audit runs the answers came from. */
void scorer_add_fingerprint_finding(const struct baseline_model *claimed,
                                    const struct fingerprint_test *t, int runs,
                                    struct assessment *a);

/* Exact prompt_tokens of a rendered probe request for a tokenizer and chat
 * family, or -1 when it cannot be counted. */
long scorer_expected_prompt_tokens(struct scorer *s, const char *tokenizer, const char *family,
                                   const struct audit_item *item);

#endif
