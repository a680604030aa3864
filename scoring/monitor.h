/*
 * monitor: `assay serve`'s pipeline for finished runs, as policy rather
 * than a command's glue: score the run (scorer), fold it into the evidence
 * window (ledger), pool its free answers and test the pool. What the run
 * means for the history (segments, incidents) is the timeline's
 * (scoring/timeline.h); what is kept, storage's.
 *
 * Threads: scoring runs on a worker thread the monitor owns, so no
 * detector's CPU ever delays the event loop (and the arrival stamps of the
 * streams it is reading). monitor_submit() is called on the loop and hands
 * the run over; the result comes back through an event the worker
 * activates, and the done callback runs on the loop, in submission order.
 * The base must be able to take events from other threads:
 * evthread_use_pthreads() before event_base_new().
 *
 * The scorer and the ledger are the worker's alone once the monitor runs;
 * restore the ledger (monitor_ledger()) before the first submit.
 */
#ifndef ASSAY_MONITOR_H
#define ASSAY_MONITOR_H

#include <stdint.h>

#include "probes/audit.h"
#include "scoring/baseline.h"
#include "scoring/ledger.h"
#include "scoring/verdict.h"

struct event_base;
struct monitor;

struct monitor_config {
	const struct baseline_pack *pack; /* borrowed: outlives the monitor */
	double time_scale;                /* the relays' delays (1: real) */
	int64_t window_ms;                /* the evidence window (0: 24 h) */
	double budget_share;              /* of the false-positive budgets its ledger
	                                   * spends (ledger_set_budget_share; 0: all) */
};

/* What a run became. Owned by the monitor's caller from the done callback
 * on: monitor_result_free(). */
struct monitor_result {
	struct audit_run *run;                /* the finished run */
	const struct baseline_model *claimed; /* NULL: a model the pack lacks */
	struct assessment a;                  /* the window's verdict */
	struct ledger_entry entry;            /* what the ledger recorded (owned copies) */
};

typedef void (*monitor_done_cb)(struct monitor_result *r, void *arg);

/* A monitor on base, its worker started. NULL if the thread cannot start. */
struct monitor *monitor_new(struct event_base *base, const struct monitor_config *c,
                            monitor_done_cb done, void *arg);
/* The ledger, for restoring it from storage before the first submit. */
struct ledger *monitor_ledger(struct monitor *m);
/* Hand a finished run over (the monitor owns it). Loop thread only. */
void monitor_submit(struct monitor *m, struct audit_run *run);
/* Runs handed over whose result has not been delivered yet. */
size_t monitor_pending(const struct monitor *m);
/*
 * Stop: the worker finishes the runs it was given, their results are
 * delivered to the done callback (from this call, on the caller's thread),
 * then everything is freed. Call before event_base_free().
 */
void monitor_free(struct monitor *m);

void monitor_result_free(struct monitor_result *r);

#endif
