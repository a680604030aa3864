/*
 * verdict: findings and the verdict they add up to, for one relay and model.
 *
 * A finding is evidence, not an accusation: a class (stable names from
 * DESIGN.md), a confidence in [0,1], the expected and observed numbers and a
 * sentence a buyer understands. The verdict rule prefers `inconclusive` to a
 * guess: `misbehaving` needs a cheating finding whose p-value, corrected for
 * every test run (Holm), is within FP_BUDGET_MISBEHAVING; `suspect` one
 * within FP_BUDGET_SUSPECT. A cheating finding within neither is a hint: it
 * is shown apart, as no accusation, and counts for nothing. `genuine` needs
 * the strong checks to have run and passed on a relay that answered at least
 * RELIABLE_SHARE of the requests: honesty and reliability are two axes, and a
 * relay whose requests mostly failed has given too little evidence to be
 * called genuine, whatever the few answers showed.
 */
#ifndef ASSAY_VERDICT_H
#define ASSAY_VERDICT_H

#include <jansson.h>
#include <stddef.h>

#include "scoring/baseline.h"
#include "scoring/classes.h"

enum verdict {
	VERDICT_GENUINE,
	VERDICT_SUSPECT,
	VERDICT_MISBEHAVING,
	VERDICT_INCONCLUSIVE,
	VERDICT_UNREACHABLE,
};

#define FP_BUDGET_MISBEHAVING 0.001
#define FP_BUDGET_SUSPECT 0.05
/*
 * Named confidence levels (1 - p: how often an honest relay serving the
 * official model would show the evidence, at most). VIOLATION is what an
 * official API never does, allowing for endpoint bugs at p = 1e-5.
 */
#define CONFIDENCE_VIOLATION 0.99999
#define CONFIDENCE_STRONG 0.999  /* rare for an honest relay, but seen */
#define CONFIDENCE_LIKELY 0.99   /* e.g. a first token six times later */
#define CONFIDENCE_PROBABLE 0.95 /* over-billing by a small factor */
#define CONFIDENCE_SUGGESTIVE 0.9
#define CONFIDENCE_HINT 0.6 /* honest relays do this too: a hint, never evidence */
#define CONFIDENCE_ODD 0.5  /* unusual, not evidence of anything */
/* The share of requests that must succeed for evidence to say `genuine`. */
#define RELIABLE_SHARE 0.8

struct finding {
	enum finding_class cls;
	char *class; /* its stable name (scoring/classes.h) */
	double confidence;
	char *expected;      /* what the official model would give */
	char *observed;      /* what the relay gave */
	char *summary;       /* one sentence for a buyer */
	char *probe;         /* the probe(s) behind it */
	char *served;        /* substitution: the most likely model served, or NULL */
	int at_most_suspect; /* evidence of difference, not of cheating (answers) */
	int hint_only;       /* too little to accuse anyone: always a hint */
	double p_adjusted;   /* corrected for the tests run; < 0 until decided */
	int preadjusted;     /* p_adjusted was set by its author (the ledger) */
	double evalue;       /* > 0: the detector's e-value (scoring/evalue.h);
	                      * its p-value is min(1, 1/evalue) */
	int hint;            /* a cheat class within no budget: not an accusation
	                      * (set by assessment_decide) */
	int over_runs;       /* hint_only in one run, yet serve's ledger bets on
	                      * its p-value (at most suspect): each run's answers
	                      * are fresh, so the runs' tests are independent */
};

/* A probe not sent, and why (the API cannot carry what it asks for). */
struct skipped_probe {
	char *probe;
	char *reason;
};

#define ASSESSMENT_ORIGIN_SLOTS 8 /* at least ORIGIN__COUNT (scoring/origin.h) */
struct assessment {
	enum verdict verdict;
	char *reason; /* why this verdict, one sentence */
	struct finding *findings;
	size_t n_findings;
	int strong_checks_passed;            /* the strong checks ran and matched the claim */
	char *genuine_reason;                /* what they were, for the verdict's reason (owned;
	                                      * NULL: the token-count wording) */
	int tests_run;                       /* tests the detectors ran: the multiplicity */
	int partial_substitution;            /* some requests, not all, were another model */
	int private_tokenizer_unlike_public; /* a model without a public tokenizer:
	                                      * its counts fit no public one */
	int protocol_matched;                /* every response had the official protocol's shape
	                                      * (2: the claimed channel's backend's) */
	/* where the claimed model's facts came from: a pack, or a stand-in
	 * built from its name (scoring/identify.h); then the audit can
	 * identify and catch another line served, not vouch: the verdict is
	 * never genuine */
	enum baseline_origin baseline_origin;
	char *identified;   /* which known family the counts match, a sentence (owned) */
	int listing;        /* the relay's model list: enum listing_state (scoring/listing.h) */
	long listing_count; /* models the list named */
	char *listing_note; /* what the list and the requests showed, a sentence (owned) */
	long tokens_spent;
	long prompt_tokens, completion_tokens; /* the parts of tokens_spent */
	double cost_usd;                       /* at the official price; < 0 when unknown */
	int requests, ok_requests;
	struct skipped_probe *skipped;
	size_t n_skipped;
	struct skipped_probe *unjudged; /* checks whose evidence was not usable:
	                                 * probe names the check */
	size_t n_unjudged;
	int budget_unsent;  /* probes the run's token budget left unsent */
	long budget_tokens; /* that budget */
	/* per-run e-values a detector reported for a class (assessment_evidence),
	 * outside the findings: serve's ledger bets them (scoring/evalue.h) */
	double evidence_sum[CLASS__COUNT];
	int evidence_n[CLASS__COUNT];
	/* which backend served the Claude requests (scoring/origin.h): the
	 * requests read per enum origin_backend, and a sentence of the mix
	 * (owned; NULL: no Anthropic-wire request was read) */
	int origin_counts[ASSESSMENT_ORIGIN_SLOTS];
	char *origin_note;
	double ttft_ms;      /* median of successful streamed requests, -1 if none */
	double tokens_per_s; /* median, -1 if none */
};

const char *verdict_name(enum verdict v);
/* -1 when unknown. */
int verdict_from_name(const char *name);
/* What a verdict is worth on the leaderboard, 0..1: genuine 1,
 * inconclusive 0.7, unreachable 0.5, suspect 0.4, misbehaving 0. Hints are
 * no findings and cost nothing. */
double verdict_honesty(enum verdict v);
/* Exit status of `assay audit` for a verdict (DESIGN.md). */
int verdict_exit_status(enum verdict v);
/* Is this class (a stable name) one a relay uses to cheat (not availability
 * or speed)? 0 for an unknown name. */
int finding_class_is_cheat(const char *class);

void assessment_init(struct assessment *a);
void assessment_release(struct assessment *a);
/* Add a finding; strings are copied; served may be NULL. */
void assessment_add(struct assessment *a, enum finding_class cls, double confidence,
                    const char *expected, const char *observed, const char *probe,
                    const char *served, const char *summary_fmt, ...)
    __attribute__((format(printf, 8, 9)));
/* The last finding added can make a relay suspect, never misbehaving. */
void assessment_limit_last(struct assessment *a);
/* What the audit could not check for want of a baseline, NULL-terminated;
 * NULL when the claimed model's pack was there. */
const char *const *assessment_not_checked(const struct assessment *a);
/* The last finding added is a hint whatever its p-value: its test has too
 * little power to accuse at the budget (it runs outside the multiplicity). */
void assessment_hint_last(struct assessment *a);
/* The last finding added rests on an e-value or likelihood ratio e (>= 0,
 * E[e] <= 1 under the official model; scoring/evalue.h): its confidence
 * becomes 1 - min(1, 1/e), Markov's bound, and serve's ledger multiplies
 * e into the class's evidence. */
void assessment_evalue_last(struct assessment *a, double e);
/* A detector's e-value for class c this run, whatever it found (also
 * E < 1): E >= 0 with E[E] <= 1 for an honest relay given the past, and
 * reported on every run the detector could test, never depending on the
 * result. No finding, no verdict: serve's ledger multiplies it into c's
 * evidence (scoring/ledger.h). Several reports of a class are averaged
 * (a mean of e-values is one). */
void assessment_evidence(struct assessment *a, enum finding_class c, double e);
/* The run's reported e-value for c (their mean), or -1 when none. */
double assessment_evidence_of(const struct assessment *a, enum finding_class c);
/* Note a probe that was not sent and why (strings copied). */
void assessment_skip(struct assessment *a, const char *probe, const char *reason);
/* Note a check that ran but could not judge, and why (strings copied):
 * the audit says so instead of passing it in silence. */
void assessment_unjudged(struct assessment *a, const char *check, const char *reason);
/* Did the relay answer enough requests for its evidence to count (at least
 * RELIABLE_SHARE of them)? */
int assessment_reliable(const struct assessment *a);
/* Count n tests run (whether or not they found anything). */
void assessment_tested(struct assessment *a, int n);
/* Is f strong enough for this verdict (misbehaving or suspect)? Valid after
 * assessment_decide(). */
int finding_reaches(const struct finding *f, enum verdict v);
/* Remove every finding of this class. */
void assessment_remove_class(struct assessment *a, enum finding_class cls);
/* Decide the verdict from the findings and counters (sets verdict, reason). */
void assessment_decide(struct assessment *a);
/* The assessment as JSON: verdict, reason, findings[] (accusations and
 * availability), hints[] (cheat evidence within no budget), skipped[],
 * reliability, tokens_spent, ... */
json_t *assessment_to_json(const struct assessment *a);

#endif
