/*
 * catalog: the probe catalog, read from YAML data files.
 *
 * A probe is data: the findings it informs, its request template, what the
 * request asks for (stop sequences, logprobs, JSON mode, a tool call: its
 * intent, written into each API's own fields by the adapter), sample count,
 * tier and an optional PCRE2 assertion compiled once with JIT and a match
 * limit. The catalog owns everything; catalog_free() releases it.
 */
#ifndef ASSAY_CATALOG_H
#define ASSAY_CATALOG_H

#include <stddef.h>

#include "probes/adapter.h"

/* thinking: Anthropic extended-thinking probes, sent with --deep or
 * --verify-key-env (their thinking would not fit the default budget).
 * TIER_LONG: the long-context tier, a prompt near the model's sold window,
 * sent only when asked for (assay audit --long-context). */
enum probe_tier {
	TIER_CHEAP = 1,
	TIER_MEDIUM = 2,
	TIER_DEEP = 4,
	TIER_THINKING = 8,
	TIER_LONG = 16
};

/* What a correct answer reproduces exactly, from the spans the last user
 * message quotes in backticks (probe_spans()): */
enum probe_fidelity {
	FIDELITY_NONE = 0,
	/* the first tool call's arguments equal, as JSON values, the object of
	 * the tool's required parameters (schema order) set to the spans */
	FIDELITY_TOOL_ARGS,
	/* the answer text holds the first span byte for byte */
	FIDELITY_ANSWER_CONTAINS,
};

struct probe_def {
	char *id;
	int line;       /* where it is defined in its catalog file */
	char **informs; /* finding class names (checked by scorer_check_catalog) */
	size_t n_informs;
	enum probe_tier tier;
	int samples;
	long max_tokens;
	long answer_tokens; /* how long the answer it asks for runs, for the
	                     * budget's estimate where max_tokens is a client's
	                     * generous limit; 0: max_tokens */
	double temperature; /* < 0: not sent */
	int stream;
	char **roles; /* message templates */
	char **texts;
	size_t n_messages;
	/* what the request asks for beyond its text, in no API's terms (the
	 * adapter maps it to each API's fields); the strings are owned here */
	struct request_intent intent;
	int cold;                     /* a fresh connection (measures connect and TLS) */
	int repeat;                   /* every sample sends sample 0's text (one nonce) */
	int spare;                    /* sent only where the run's request budget has
	                               * room once the others are planned
	                               * (audit_target.max_requests) */
	enum probe_fidelity fidelity; /* what the answer must reproduce */
	char *expect;                 /* the assertion's source, or NULL */
	void *expect_code;            /* pcre2_code_8 * */
};

struct catalog {
	struct probe_def *probes;
	size_t n;
};

/* Load a catalog file; NULL with "FILE:LINE: reason" in err. */
struct catalog *catalog_load(const char *path, char *err, size_t errlen);
/* The bundled catalog (probes/catalog/core.yaml, found with data_path). Not
 * yet held to the detectors: scorer_catalog_default() does both. */
struct catalog *catalog_load_default(char *err, size_t errlen);
/* The same, held to check(c, path, err, errlen) too, which says why it
 * refuses the catalog (0 accepts it): NULL with why in err. */
struct catalog *catalog_load_default_checked(int (*check)(const struct catalog *c, const char *path,
                                                          char *err, size_t errlen),
                                             char *err, size_t errlen);
void catalog_free(struct catalog *c);
const struct probe_def *catalog_find(const struct catalog *c, const char *id);

/*
 * Does text satisfy the probe's assertion? 1 yes, 0 no, -1 no assertion or
 * the match could not finish (match limit): never a guess.
 */
int probe_expect_match(const struct probe_def *p, const char *text, size_t len);

/* Write a fresh nonce: eight hex digits (16 bytes with NUL). Templates
 * hide it as natural content: {nonce} and {nonce_hex} are the digits (a
 * file name's or a commit's), {nonce_num} six decimal digits drawn from them
 * (an order number). No fixed marker goes with it. */
void probe_nonce(char out[16]);
/*
 * The spans text quotes in single backticks (`like this`), in order: at
 * most max, each a pointer into text and its length. Returns how many.
 */
size_t probe_spans(const char *text, const char **span, size_t *len, size_t max);

/* The template text with the nonce forms, {pick:a|b}, {filler:N} replaced;
 * the caller frees it. {context_fill:P} stays for probe_fill_context(). */
char *probe_render(const char *template_text, const char *nonce);
/*
 * Each {context_fill:P} of text replaced with P% of words filler words
 * (common words, about a token each): the long-context tier's prompt,
 * sized to the claimed model's window. A new string the caller frees.
 */
char *probe_fill_context(const char *text, long words);
/* The filler words {context_fill:...} of text come to for words (its
 * percentages summed): what the prompt costs, before it is rendered. */
long probe_context_words(const char *text, long words);

#endif
