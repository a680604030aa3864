/*
 * ledger: evidence that accumulates across the runs of `assay serve`.
 *
 * One audit is a sample; a relay that cheats on a share of its traffic, or
 * only some of the time, shows up over many. The ledger keeps, per relay,
 * model and cheating class, an anytime-valid e-process (scoring/evalue.h):
 * each run multiplies in the e-value of what it found of the class (its
 * corrected p-value, calibrated), and the class is decided `misbehaving`
 * once the e-process reaches m / FP_BUDGET_MISBEHAVING, `suspect` at
 * m / FP_BUDGET_SUSPECT (m: the cheating classes, e-Bonferroni). By
 * Ville's inequality an honest relay is ever called misbehaving, over any
 * number of runs, with probability at most FP_BUDGET_MISBEHAVING; a
 * run's own finding short of that is shown as a hint with the evidence so
 * far. A decision holds (no flapping) while a run of the sliding window
 * (24 h by default) still saw the class; then the class's test starts
 * afresh, so a relay that stops cheating is cleared.
 */
#ifndef ASSAY_LEDGER_H
#define ASSAY_LEDGER_H

#include <stdint.h>

#include "scoring/classes.h"
#include "scoring/evalue.h"
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

/* A class's evidence as the ledger keeps it: the e-process of its
 * convicting findings, the one of findings that can make suspect at most
 * (answers against recorded ones), the level decided (VERDICT_GENUINE
 * for none, VERDICT_SUSPECT, VERDICT_MISBEHAVING), since when. */
struct ledger_evidence {
	enum finding_class cls;
	struct eprocess conv, lim;
	int level;
	int64_t since_ms, decided_ms;
};

/* What one fold recorded, for storage to keep so that a restart forgets
 * nothing: the run's record and the shown findings it replaced. Strings
 * belong to the ledger, valid until its next call. */
struct ledger_entry {
	int64_t at_ms;
	unsigned misbehaving, suspect; /* CLASS_BIT()s found at each level */
	struct ledger_shown shown[CLASS__COUNT];
	size_t n_shown;
	struct ledger_evidence evidence[CLASS__COUNT]; /* every cheating class's */
	size_t n_evidence;
	/* the run's own evidence, before the window: each cheating class's
	 * e-values as the run bet them (conv: what may convict, lim: what can
	 * make suspect at most; 0 for a class the run saw nothing of), and
	 * whether the run bet at all (a run nothing answered does not). A hub
	 * folds agents' runs from these (scoring/region_ledger.h). */
	double run_conv[CLASS__COUNT], run_lim[CLASS__COUNT];
	int run_counts;
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
/* A class's evidence, as a fold's entry gave it (the latest). */
void ledger_restore_evidence(struct ledger *l, const char *relay, const char *model,
                             const struct ledger_evidence *ev);
/* The class's e-value now (the larger of what decides misbehaving, conv,
 * and what decides suspect, (2 conv + lim) / 3), and the level decided; 0 and
 * VERDICT_GENUINE for a target never seen. */
double ledger_evalue(const struct ledger *l, const char *relay, const char *model,
                     enum finding_class cls, int *level);
/* The window's length. */
int64_t ledger_window_ms(const struct ledger *l);
/* Let l spend only share (0 < share <= 1; else 1) of the false-positive
 * budgets: it decides at m / (share * FP_BUDGET_*). For a caller that
 * judges the same relay with two ledgers (a hub: its own runs', and its
 * agents' pooled, scoring/region_ledger.h, each at 1/2), so that the two
 * together keep the budget (Bonferroni). */
void ledger_set_budget_share(struct ledger *l, double share);

/*
 * The ledger's rule for one step of a class's evidence, for a caller that
 * keeps evidence of its own (a hub pooling regions: scoring/region_ledger.h):
 * a decided class that no run of the window saw (seen 0) starts afresh at
 * at_ms; the step's e-values (conv, lim) are multiplied in when counts;
 * then misbehaving at the conv e-process >= m / (share FP_BUDGET_MISBEHAVING),
 * suspect at the mixed one >= m / (share FP_BUDGET_SUSPECT) (m: the cheating
 * classes; share as ledger_set_budget_share's). The step's e-values must be
 * e-values given every step before.
 */
void ledger_evidence_step(struct ledger_evidence *ev, int seen, int counts, double conv, double lim,
                          int64_t at_ms, double share);
/* What decides suspect for ev: (2 conv + lim) / 3. */
double ledger_evidence_suspect_e(const struct ledger_evidence *ev);

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
/* Empty relay/model's pool (a batch was tested: scoring/monitor.c). */
void ledger_clear_answers(struct ledger *l, const char *relay, const char *model);

#endif
