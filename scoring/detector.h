/*
 * detector: what every detector family implements, and the scorer's
 * services they share. Private to scoring/: the rest of the tree sees
 * scoring/detect.h only.
 *
 * A detector is data: the catalog probes it was written for, the finding
 * classes it may emit, and a function that reads a finished run. The scorer
 * walks the table (scoring/detect.c) in its order, which matters: the
 * accounting runs first and says whether the claimed tokenizer fits
 * (a->strong_checks_passed, a->partial_substitution), and later detectors
 * read that. At start-up scorer_check_catalog() holds the table and the
 * catalog to each other: a probe no detector was written for, or a probe a
 * detector names that the catalog lacks, is an error.
 *
 * Adding a family: one file in scoring/detectors/ defining a `struct
 * detector`, one line in the table in scoring/detect.c.
 */
#ifndef ASSAY_DETECTOR_H
#define ASSAY_DETECTOR_H

#include <stddef.h>

#include "probes/audit.h"
#include "scoring/baseline.h"
#include "scoring/classes.h"
#include "scoring/verdict.h"

struct scorer;
struct tokenizer;

/* What a detector reads and writes. */
struct detect_ctx {
	struct scorer *scorer;
	const struct audit_run *run;
	const struct baseline_model *claimed; /* NULL only for needs_claimed = 0 */
	struct assessment *a;
};

#define CLASS_BIT(c) (1u << (c))

struct detector {
	const char *name;
	/* the catalog probes it was written for, NULL-terminated; a detector
	 * that reads every response (accounting, protocol, availability) lists
	 * the probes designed for it, or none */
	const char *const *probes;
	unsigned classes;  /* CLASS_BIT()s of the findings it may add */
	int needs_claimed; /* runs only when the pack knows the claimed model */
	void (*run)(struct detect_ctx *ctx);
};

/* The families (scoring/detectors/). */
extern const struct detector detector_availability;
extern const struct detector detector_accounting;
extern const struct detector detector_completion_usage;
extern const struct detector detector_context;
extern const struct detector detector_capability;
extern const struct detector detector_protocol;
extern const struct detector detector_protocol_shape;
extern const struct detector detector_style;
extern const struct detector detector_fingerprint;
extern const struct detector detector_keyshare;
extern const struct detector detector_temperature;
extern const struct detector detector_output_cap;
extern const struct detector detector_latency;
extern const struct detector detector_params;
extern const struct detector detector_stream_buffered;
extern const struct detector detector_cached;
extern const struct detector detector_usage_totals;
extern const struct detector detector_harvest;
extern const struct detector detector_tamper;
extern const struct detector detector_origin;
extern const struct detector detector_capab;

/* Scorer services for detectors. */

/* The pack being scored against. */
const struct baseline_pack *scorer_pack(const struct scorer *s);
/* The audited endpoints' time scale (scorer_set_time_scale). */
double scorer_time_scale(const struct scorer *s);
/* A shipped tokenizer by name, opened once and kept; NULL if unknown. */
struct tokenizer *scorer_tokenizer(struct scorer *s, const char *name);

/* The public tokenizer families the accounting can name. */
struct token_family {
	const char *tokenizer;
	const char *template;
};
#define N_TOKEN_FAMILIES 6
extern const struct token_family token_families[N_TOKEN_FAMILIES];
/* The index of a tokenizer in token_families, or N_TOKEN_FAMILIES. */
size_t token_family_index(const char *tokenizer);
/* A model of the pack counted by a tokenizer, to name what is served. */
const char *model_for_tokenizer(const struct baseline_pack *pack, const char *tokenizer);

/* Relay text quoted as evidence: at most 60 bytes, cut at a character
 * boundary, "..." when cut. The caller frees it. */
char *evidence_snippet(const char *text);

#endif
