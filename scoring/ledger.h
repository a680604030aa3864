/*
 * ledger: evidence that accumulates across the runs of `assay serve`.
 *
 * One audit is a sample; a relay that cheats on a share of its traffic, or
 * only some of the time, shows up over many. The ledger keeps, for each
 * relay and model, the runs of a sliding window (24 h by default) and which
 * cheating classes each run found, and folds them into the current run's
 * assessment: a class seen at misbehaving confidence in any run of the window
 * stays a finding ("in k of n runs"), and suspect-level sightings that recur
 * more often than chance allows add up to a confident one. A relay that
 * stops cheating is cleared once its bad runs leave the window.
 */
#ifndef ASSAY_LEDGER_H
#define ASSAY_LEDGER_H

#include <stdint.h>

#include "scoring/verdict.h"

struct ledger;

/* A ledger over a window of window_ms (0: 24 h). */
struct ledger *ledger_new(int64_t window_ms);
void ledger_free(struct ledger *l);

/*
 * Record a run of relay/model that started at at_ms with assessment a, then
 * rewrite a as the window's verdict: findings of earlier runs still in the
 * window are added (their summary says in how many runs), and the verdict is
 * decided again. a keeps its own counters (requests, tokens, timings).
 */
void ledger_fold(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
                 struct assessment *a);

/*
 * Pool the style probe's answers of a run (at_ms) for the window: the
 * ledger keeps the latest ANSWERS_CAP (64) within it. ledger_answers()
 * points out[] at them (valid until the next add) and says from how many
 * runs they came.
 */
void ledger_add_answers(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
                        const char *const *texts, size_t n);
size_t ledger_answers(const struct ledger *l, const char *relay, const char *model,
                      const char **out, size_t cap, int *runs);

/* Runs held for relay/model (for tests and the about page). */
long ledger_runs(const struct ledger *l, const char *relay, const char *model);

#endif
