/*
 * store: every observation, every run's verdict and the history the pages
 * show, in SQLite.
 *
 * WAL mode; one writer connection (the event-loop thread) and read-only
 * connections for readers; schema migrations by PRAGMA user_version; a busy
 * timeout so a reader never sees "database is locked" as an error. Nothing
 * secret is ever written: targets carry no key here.
 *
 * What is kept, and for how long (struct store_retention):
 *   runs and observations (raw)        raw_ms      (default 1 day)
 *   minute rollups                     minute_ms   (default 2 days)
 *   hour rollups                       hour_ms     (default 90 days)
 *   day rollups, verdict history,
 *   incidents                          day_ms      (default 400 days)
 * Rollups are written in the same transaction as the run they count, so
 * they are never behind the raw data. Retention deletes in small batches
 * (store_retention_step) so a caller on an event loop never waits long.
 */
#ifndef ASSAY_STORE_H
#define ASSAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "probes/audit.h"
#include "probes/observation.h"
#include "scoring/verdict.h"

struct store;

/* Open and close. */

/* Open (and migrate, unless readonly) the database at path. NULL with a
 * message in err on failure. */
struct store *store_open(const char *path, int readonly, char *err, size_t errlen);
void store_close(struct store *s);
/* The schema version this build writes. */
int store_schema_version(void);

/* Writing runs. */

/* A stretch of consecutive runs with the same verdict and finding classes:
 * the verdict history. reason and findings are those of the latest run. */
struct store_segment {
	int64_t id;
	const char *relay, *model;
	int64_t first_ms, last_ms;
	long runs;
	const char *verdict, *reason;
	const char *findings_json; /* array */
};

/* An incident: opened after several failing runs in a row, resolved after
 * several good ones (damping: one failure never opens one). kind is
 * "outage" (no request of a run succeeded) or "misbehaving". */
struct store_incident {
	int64_t id;
	const char *relay, *model, *kind;
	int64_t opened_ms;
	int64_t resolved_ms; /* 0 while open */
	const char *cause;   /* outage: the commonest error class; misbehaving: finding class */
	const char *detail;  /* relay-supplied text (escape it) */
	long failed_runs;
};

/* Runs in a row that open an incident, and good runs in a row that resolve
 * it. */
#define STORE_INCIDENT_OPEN_AFTER 3
#define STORE_INCIDENT_RESOLVE_AFTER 2

/* What saving one run changed in the history; strings are valid until the
 * next call on the store. */
struct store_outcome {
	int64_t run_id;
	struct store_segment segment; /* the segment this run extended or opened */
	struct store_incident incidents[2];
	size_t n_incidents; /* incidents opened, extended or resolved by this run */
};

/* Save a finished run: its observations, rollups, verdict history and
 * incidents, in one transaction. Returns the run id, or -1 (with the reason
 * on stderr); out (may be NULL) is filled on success. */
int64_t store_save_run(struct store *s, const struct audit_run *run, const struct assessment *a);
int64_t store_save_run_outcome(struct store *s, const struct audit_run *run,
                               const struct assessment *a, struct store_outcome *out);

/* Requests of a run by error class (counts[ERR_NONE] are the successes). */
void store_count_errors(const struct audit_run *run, long counts[ERR__COUNT]);

/* Reading history back (start-up, export, tools). */

/* The latest run of each relay and model, with request counts over the
 * last window_ms. */
struct store_summary {
	const char *relay, *model, *api, *verdict, *reason, *findings_json;
	int64_t last_run_ms;
	long runs;
	long requests, ok_requests; /* within the window */
	double ttft_ms;             /* latest run's median, -1 if none */
	double tokens_per_s;
};
typedef void (*store_summary_cb)(const struct store_summary *sum, void *arg);
int store_each_summary(struct store *s, int64_t window_ms, store_summary_cb cb, void *arg);

enum store_resolution { STORE_MINUTE, STORE_HOUR, STORE_DAY };
/* Length of a bucket of res in milliseconds. */
int64_t store_resolution_ms(enum store_resolution res);

/* One rollup bucket: everything counted in [start_ms, start_ms + length). */
struct store_bucket {
	const char *relay, *model;
	int64_t start_ms;
	long runs, requests, ok_requests, tokens;
	long ttft_n;
	double ttft_sum, ttft_sq; /* ms, ms^2: mean and spread of run medians */
	long tps_n;
	double tps_sum, tps_sq;
	long errors[ERR__COUNT]; /* failed requests by class */
};
typedef void (*store_bucket_cb)(const struct store_bucket *b, void *arg);
/* Every bucket of res starting at or after since_ms, ordered by relay,
 * model and time. 0, or -1. */
int store_each_bucket(struct store *s, enum store_resolution res, int64_t since_ms,
                      store_bucket_cb cb, void *arg);

/* Requests and successes of one relay and model since since_ms (day
 * rollups, plus hour rollups for a partial first day). 0, or -1. */
int store_uptime(struct store *s, const char *relay, const char *model, int64_t since_ms,
                 long *requests, long *ok_requests);

/* The newest `limit` verdict segments and incidents of each relay and model,
 * oldest first. 0, or -1. */
typedef void (*store_segment_cb)(const struct store_segment *seg, void *arg);
int store_each_segment(struct store *s, int limit, store_segment_cb cb, void *arg);
typedef void (*store_incident_cb)(const struct store_incident *inc, void *arg);
int store_each_incident(struct store *s, int limit, store_incident_cb cb, void *arg);

/* Size and retention. */

struct store_retention {
	int64_t raw_ms, minute_ms, hour_ms, day_ms;
};
void store_retention_default(struct store_retention *r);

/*
 * One bounded step of retention: deletes at most about `budget` rows that
 * are older than their window, in one short transaction. Returns the rows
 * deleted (less than budget: nothing more is due now), or -1. Call it from
 * a timer; call again soon while it returns budget.
 */
long store_retention_step(struct store *s, const struct store_retention *r, int64_t now_ms,
                          long budget);

/* Delete raw observations older than cutoff_ms, all at once (tools and
 * tests; serve uses store_retention_step). Returns rows deleted or -1. */
long store_prune_observations(struct store *s, int64_t cutoff_ms);

struct store_stats {
	int64_t file_bytes; /* main file: pages in use and free */
	int64_t free_bytes; /* pages on the freelist */
	int64_t wal_bytes;
	int schema_version;
	long targets;
};
/* Cheap figures (no table scan): safe on the event loop. 0, or -1. */
int store_stats(struct store *s, struct store_stats *st);

#endif
