/*
 * monitor_sim: `serve`'s evidence over simulated runs, in process, with
 * deterministic seeds and no clock: what the anytime-valid ledger
 * (scoring/ledger.h, scoring/evalue.h) decides for an honest relay over a
 * long monitoring and how fast it catches a diluting one. Shared by
 * `assay-eval --power` and tests/test_evalue.c.
 *
 * The model of a run. An honest relay: each of the m cheating classes' tests
 * gives a uniform p-value (the worst case a calibrated test allows), a
 * finding where p <= 0.05, all corrected together (Holm) as one audit is. A
 * diluting relay serves a share `fraction` of requests from another model:
 * with another tokenizer, each of `token_checks` requests whose counts are
 * checked is, when swapped, a violation (substitution at 1e-5 before
 * correction), and the accounting detector's e-value bets on each counted
 * request (scoring/detectors/accounting.c); with the same tokenizer only
 * the answers tell (the counted requests' e-value only loses), each of
 * `answer_checks` answer probes, when swapped, misses the official answer
 * with probability `answer_power` (a substitution finding at p = 0.001 that
 * can make suspect at most).
 */
#ifndef ASSAY_BENCH_MONITOR_SIM_H
#define ASSAY_BENCH_MONITOR_SIM_H

#include <stddef.h>
#include <stdint.h>

struct sim_relay {
	double fraction;     /* share of requests from another model (0: honest) */
	int other_tokenizer; /* that model counts tokens differently */
	int token_checks;    /* requests per run whose counts are checked */
	int answer_checks;   /* answer probes per run that can tell the model */
	double answer_power; /* P(a swapped answer probe misses), same tokenizer */
};

/* When a monitoring first reached each level (run index from 0; -1: never)
 * and how often the verdict changed between runs. */
struct sim_outcome {
	long first_suspect, first_misbehaving;
	long flips;
};

/* A small deterministic generator (splitmix64), uniform in [0,1). */
double sim_uniform(uint64_t *state);

/* Through the ledger itself (ledger_fold on simulated assessments), runs
 * runs interval_ms apart. */
void sim_monitor_ledger(const struct sim_relay *r, uint64_t seed, long runs, int64_t interval_ms,
                        struct sim_outcome *out);
/* The same statistics without the ledger's bookkeeping (the e-processes
 * alone), fast enough for thousands of sequences; it stops at the first
 * misbehaving, or at the first suspect if until_suspect. flips is not
 * counted. */
void sim_monitor_fast(const struct sim_relay *r, uint64_t seed, long runs, int until_suspect,
                      struct sim_outcome *out);
/* The rule the e-processes replaced, for comparison: after every run, the
 * window's (window runs) suspect-level sightings of a class tested against
 * Binomial(n, 0.05), Bonferroni over the classes; the first run it says
 * misbehaving (p <= 0.001) and suspect (p <= 0.05). Honest relays only. */
void sim_monitor_fixed_sample(uint64_t seed, long runs, long window, struct sim_outcome *out);

/*
 * Serve over real audits, resampled: runs interval_ms apart for runs runs,
 * each a copy of one of the n assessments (scored audits of one relay, as
 * `make eval` made them) drawn at random, folded through the ledger as
 * serve folds each run (scoring/ledger.h). What one audit's evidence adds
 * over a day is then measured on the real detectors' findings, not on a
 * model of them. Not modelled: the style probe's pooled batches (serve
 * tests them beside; here they add nothing), and tricks that depend on the
 * key or the time of day (each copy is an audit of its own). out->first_*
 * is the first run whose verdict shows a finding of right_class at that
 * level, or with right_class NULL (an honest relay) the first accusation;
 * out->flips how often the verdict changed.
 */
struct assessment;
void sim_serve_resampled(const struct assessment *const *runs_from, size_t n,
                         const char *right_class, uint64_t seed, long runs, int64_t interval_ms,
                         struct sim_outcome *out);

#endif
