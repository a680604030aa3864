/*
 * detect: the detectors that turn a finished audit run into findings.
 *
 * A scorer holds the baseline pack and the tokenizers it opened. Detectors
 * so far: tokenizer fingerprint (substitution, prompt_injection), known-answer
 * capability floor (substitution), protocol fingerprint (weak hints),
 * availability (unavailable, rate_limited). Each finding carries its numbers.
 */
#ifndef ASSAY_DETECT_H
#define ASSAY_DETECT_H

#include "probes/audit.h"
#include "scoring/baseline.h"
#include "scoring/verdict.h"

struct scorer;

/* A scorer over pack (borrowed: it must outlive the scorer). */
struct scorer *scorer_new(const struct baseline_pack *pack);
void scorer_free(struct scorer *s);

/* Assess a finished run against the claimed model's baseline (may be NULL
 * for a model the pack lacks: then only availability is judged). Fills a
 * (initialised by the caller) and decides its verdict. */
void scorer_assess(struct scorer *s, const struct audit_run *run,
                   const struct baseline_model *claimed, struct assessment *a);

/* Exact prompt_tokens of a rendered probe request for a tokenizer and chat
 * family, or -1 when it cannot be counted. */
long scorer_expected_prompt_tokens(struct scorer *s, const char *tokenizer, const char *family,
                                   const struct audit_item *item);

#endif
