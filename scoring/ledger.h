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

#include "scoring/classes.h"
#include "scoring/verdict.h"

struct ledger;

/* A ledger over a window of window_ms (0: 24 h). */
struct ledger *ledger_new(int64_t window_ms);
void ledger_free(struct ledger *l);

/* A class's latest finding to show, as the ledger keeps it. */
struct ledger_shown {
	enum finding_class cls;
	int convicts; /* it reached misbehaving itself */
	double confidence, p_adjusted;
	int64_t at_ms;
	const char *expected, *observed, *summary, *probe, *served; /* served may be NULL */
};

/* What one fold recorded, for storage to keep so that a restart forgets
 * nothing: the run's record and the shown findings it replaced. Strings
 * belong to the ledger, valid until its next call. */
struct ledger_entry {
	int64_t at_ms;
	unsigned misbehaving, suspect; /* CLASS_BIT()s found at each level */
	struct ledger_shown shown[CLASS__COUNT];
	size_t n_shown;
};

/*
 * Record a run of relay/model that started at at_ms with assessment a, then
 * rewrite a as the window's verdict: findings of earlier runs still in the
 * window are added (their summary says in how many runs), and the verdict is
 * decided again. a keeps its own counters (requests, tokens, timings).
 * entry (may be NULL) gets what the fold recorded.
 */
void ledger_fold(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
                 struct assessment *a, struct ledger_entry *entry);

/* Restoring from storage at start-up, oldest first: a run's record, and a
 * class's latest shown finding (strings copied). Runs older than the window
 * are ignored. */
void ledger_restore_run(struct ledger *l, const char *relay, const char *model, int64_t at_ms,
                        unsigned misbehaving, unsigned suspect);
void ledger_restore_shown(struct ledger *l, const char *relay, const char *model,
                          const struct ledger_shown *shown);
/* The window's length. */
int64_t ledger_window_ms(const struct ledger *l);

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


#endif
