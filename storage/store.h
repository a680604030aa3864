/*
 * store: every observation and every run's verdict, in SQLite.
 *
 * WAL mode; one writer connection (the event-loop thread) and read-only
 * connections for readers; schema migrations by PRAGMA user_version; a busy
 * timeout so a reader never sees "database is locked" as an error. Nothing
 * secret is ever written: targets carry no key here.
 */
#ifndef ASSAY_STORE_H
#define ASSAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "probes/audit.h"
#include "scoring/verdict.h"

struct store;

/* Open (and migrate, unless readonly) the database at path. NULL with a
 * message in err on failure. */
struct store *store_open(const char *path, int readonly, char *err, size_t errlen);
void store_close(struct store *s);
/* The schema version this build writes. */
int store_schema_version(void);

/* Save a finished run: its observations and assessment, in one
 * transaction. Returns the run id, or -1 (with the reason on stderr). */
int64_t store_save_run(struct store *s, const struct audit_run *run, const struct assessment *a);

/* The latest run of each relay and model, with request counts over the
 * last window_ms, for building the status board at start-up. */
struct store_summary {
	const char *relay, *model, *verdict, *reason, *findings_json;
	int64_t last_run_ms;
	long runs;
	long requests, ok_requests; /* within the window */
	double ttft_ms;             /* latest run's median, -1 if none */
	double tokens_per_s;
};
typedef void (*store_summary_cb)(const struct store_summary *sum, void *arg);
int store_each_summary(struct store *s, int64_t window_ms, store_summary_cb cb, void *arg);

/* Delete raw observations older than cutoff_ms. Returns rows deleted or -1. */
long store_prune_observations(struct store *s, int64_t cutoff_ms);

#endif
