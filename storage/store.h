/*
 * store: every observation, every run's verdict and the history the pages
 * show, in SQLite (a file: the embedded default) or PostgreSQL (an address
 * postgres://USER@HOST[:PORT]/DB: a store that a hub and probe agents in
 * several regions share). The engine is chosen by the address; everything
 * below holds for both (storage/db.h is the seam, private to storage/).
 *
 * SQLite: WAL mode; one writer connection (the event-loop thread) and
 * read-only connections for readers; schema migrations by PRAGMA
 * user_version; a busy timeout so a reader never sees "database is locked"
 * as an error. PostgreSQL: the same schema and migrations (the version in
 * table assay_schema), lock_timeout for the same bound, a lost connection
 * re-established at the next transaction. Nothing secret is ever written:
 * targets carry no key here, and a database password is never stored,
 * logged or put in a message.
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
#include "scoring/ledger.h"
#include "scoring/timeline.h"
#include "scoring/verdict.h"

struct store;

/* Open and close. */

/* Open (and migrate, unless readonly) the database at path (a file, or a
 * PostgreSQL address). NULL with a message in err on failure. */
struct store *store_open(const char *path, int readonly, char *err, size_t errlen);
struct store_options {
	int readonly;
	/* PostgreSQL: the environment variable holding the password (NULL:
	 * none given; libpq's PGPASSFILE or peer authentication may still
	 * apply). A password inside the address is refused. */
	const char *password_env;
	/* A probe agent's connection (struct store_agent): it migrates
	 * nothing (its role may not) and checks that it may insert agent_runs
	 * instead of runs; only the store_agent_* calls are for it. */
	int agent;
	/* PostgreSQL: a streaming replica of the database to read from
	 * (database_read; NULL: none): the reads behind the pages, the export
	 * and the hub's reads of the agents' runs go to it while it is within
	 * STORE_REPLICA_MAX_LAG_MS of the primary, and to the primary while it
	 * is not, or does not answer (said once on stderr, not per read;
	 * storage/replica.c). Every write, and every read a write depends on,
	 * goes to the primary. read_password_env: the variable with its
	 * password (NULL: password_env's). */
	const char *read_address;
	const char *read_password_env;
	/* The lag bound in ms (0: STORE_REPLICA_MAX_LAG_MS): a hub whose
	 * quorum counts runs of the last three intervals asks for less when
	 * its interval is short. */
	int64_t read_max_lag_ms;
};
/* A replica is read while it has replayed what the primary held this long
 * ago; it is looked at at most every STORE_REPLICA_CHECK_MS (two short
 * queries), and one that is down or no standby is tried again every
 * STORE_REPLICA_RETRY_MS. */
#define STORE_REPLICA_MAX_LAG_MS 10000
#define STORE_REPLICA_CHECK_MS 1000
#define STORE_REPLICA_RETRY_MS 30000
/* At open, a replica that answers is waited for this long to replay the
 * primary's position (then the primary reads until it has). */
#define STORE_REPLICA_OPEN_WAIT_MS 2000
/* 0 when address is a PostgreSQL address libpq can parse and that holds no
 * password, else -1 with the reason in err (which never quotes it). */
int store_check_address(const char *address, char *err, size_t errlen);
struct store *store_open_with(const char *path, const struct store_options *o, char *err,
                              size_t errlen);
void store_close(struct store *s);
/* 1 when s is a PostgreSQL store. */
int store_engine_is_postgres(const struct store *s);
/* The schema version this build writes. */
int store_schema_version(void);

/* Writing runs. */

/*
 * What a run leaves, besides its observations and rollups: the history the
 * timeline decided for it (scoring/timeline.h: the segment it extended or
 * opened, incidents opened, extended or resolved) and the ledger's record
 * (scoring/ledger.h), so a restart forgets nothing. Storage keeps what it is
 * given; the policy is the timeline's and the ledger's.
 */
/* The ledger's run records are kept this long (two 24 h windows), then
 * trimmed as runs are saved. */
#define STORE_LEDGER_KEEP_MS (48LL * 3600 * 1000)

struct store_ids {
	int64_t run_id;
	int64_t segment_id;      /* the segment's row (new or existing) */
	int64_t incident_ids[2]; /* per change->incidents[i] */
};

/*
 * Save a finished run in one transaction: the run, its observations, its
 * rollups and, when given, the timeline's change and the ledger's entry.
 * Returns the run id (ids, when not NULL, gets the rows' ids), or -1 with
 * the reason in store_last_error(): then nothing of the run was kept, and
 * the caller keeps the run to try again (a busy or locked database, a full
 * disk) and says so.
 */
const char *store_last_error(const struct store *s);
int64_t store_save_run(struct store *s, const struct audit_run *run, const struct assessment *a,
                       const struct timeline_change *change, const struct ledger_entry *entry,
                       struct store_ids *ids);

/*
 * Credential canaries of serve (probes/canary.h), kept by digest only
 * (storage/canaries.c). All on the writer's thread (the event loop), each
 * call its own transaction; a busy database fails the call (-1 with the
 * reason in store_last_error()), which the caller says. At most
 * STORE_CANARY_KEEP_MS of canaries are remembered: a use of one planted
 * earlier is an unknown token (store_canaries_expire).
 */
#define STORE_CANARY_KEEP_MS (30LL * 86400 * 1000)
struct canary;
struct canary_hit;
/* c was planted in a run of relay/model now: its row id into c->stored_id.
 * 0, or -1. */
int store_canary_plant(struct store *s, const char *relay, const char *model, const char *api,
                       struct canary *c);
/* The canary whose token digest (else key digest: "" for none) this is. */
struct store_canary {
	int64_t id, planted_ms, run_id; /* run_id 0: its run not saved (yet) */
	char relay[128], model[128];
};
/* 1 found (into out), 0 unknown, -1 on a database error. */
int store_canary_find(struct store *s, const char *token_sha256, const char *key_sha256,
                      struct store_canary *out);
/* Keep a use of canary id. 0, or -1. */
int store_canary_hit(struct store *s, int64_t canary, const struct canary_hit *h);
/*
 * Before c's run is scored: the uses not yet reported of relay/model's
 * canaries, c's own into c->hits, earlier ones' into c->late (the first
 * unreported use of each, with their count), and the last hit row read into
 * c->hits_upto; saving the run (store_save_run) marks them reported. 0, or
 * -1.
 */
int store_canary_pending(struct store *s, const char *relay, const char *model, struct canary *c);
/* Forget canaries planted before before_ms and their hits; how many went,
 * or -1. */
long store_canaries_expire(struct store *s, int64_t before_ms);
/* Start-up: give the timeline each target's latest segment and its open
 * incidents, and the ledger the window's run records, shown findings and
 * pooled answers (the style probe's successful answers, from the
 * observations kept). 0, or -1 on a database error. */
int store_restore(struct store *s, struct timeline *timeline, struct ledger *ledger,
                  int64_t now_ms);

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
	const char *listed, *listed_note; /* the model list at the latest run that
	                                   * asked (scoring/listing.h), or NULL */
	long listed_models;
};
typedef void (*store_summary_cb)(const struct store_summary *sum, void *arg);
int store_each_summary(struct store *s, int64_t window_ms, store_summary_cb cb, void *arg);

enum store_resolution { STORE_MINUTE, STORE_HOUR, STORE_DAY };
/* Length of a bucket of res in milliseconds. */
int64_t store_resolution_ms(enum store_resolution res);

/* Backends counted per bucket: at least scoring/origin.h's ORIGIN__COUNT. */
#define STORE_ORIGINS 8
/* One rollup bucket: everything counted in [start_ms, start_ms + length). */
struct store_bucket {
	const char *relay, *model;
	int64_t start_ms;
	long runs, requests, ok_requests, tokens;
	long ttft_n;
	double ttft_sum, ttft_sq; /* ms, ms^2: mean and spread of run medians */
	long tps_n;
	double tps_sum, tps_sq;
	long errors[ERR__COUNT];    /* failed requests by class */
	long origin[STORE_ORIGINS]; /* Claude requests by backend (scoring/origin.h
	                             * enum origin_backend); 0 before schema 8 */
};
typedef void (*store_bucket_cb)(const struct store_bucket *b, void *arg);
/* Every bucket of res starting at or after since_ms, ordered by relay,
 * model and time. 0, or -1. */
int store_each_bucket(struct store *s, enum store_resolution res, int64_t since_ms,
                      store_bucket_cb cb, void *arg);

/* The tokens and the official-price cost of the runs started since
 * since_ms, of relay (NULL: every relay): serve's daily budgets. 0, or -1. */
int store_spend_since(struct store *s, const char *relay, int64_t since_ms, long *tokens,
                      double *usd);

/* Requests and successes of one relay and model since since_ms (day
 * rollups, plus hour rollups for a partial first day). 0, or -1. */
int store_uptime(struct store *s, const char *relay, const char *model, int64_t since_ms,
                 long *requests, long *ok_requests);

/* The runs of each relay and model started since since_ms, at most the
 * newest `limit` of each, oldest first (storage/recent.c: the pages'
 * percentiles and time up after a restart; raw runs are kept a day). */
struct store_run_point {
	const char *relay, *model, *verdict;
	int64_t started_ms;
	long requests, ok_requests;
	double ttft_ms, tokens_per_s; /* the run's medians, -1 if none */
};
typedef void (*store_run_point_cb)(const struct store_run_point *r, void *arg);
int store_each_recent_run(struct store *s, int64_t since_ms, int limit, store_run_point_cb cb,
                          void *arg);

/* The newest `limit` verdict segments and incidents of each relay and model,
 * oldest first. 0, or -1. */
typedef void (*store_segment_cb)(const struct timeline_segment *seg, void *arg);
int store_each_segment(struct store *s, int limit, store_segment_cb cb, void *arg);
typedef void (*store_incident_cb)(const struct timeline_incident *inc, void *arg);
int store_each_incident(struct store *s, int limit, store_incident_cb cb, void *arg);

/* The board's title, kept by serve so that an export from the database
 * alone keeps it (storage/settings.c). Set: 0, or -1. Read: 1 with the
 * title in out, 0 when none is stored (or the database predates schema 9),
 * -1 on a database error. */
int store_set_title(struct store *s, const char *title);
int store_title(struct store *s, char *out, size_t n);

/* Probe agents in several regions (storage/agents.c; schema 11). */

/* Regions: lowercase letters, digits and '-', at most this long. */
#define STORE_REGION_MAX 32
/* 1 when region is a well-formed region name. */
int store_region_name_ok(const char *region);
/*
 * The hub (or an administrator) lets database role `role` act as the agent
 * of `region`: on PostgreSQL the role is created if missing (LOGIN, no
 * password: give it one, or a certificate, yourself) and granted only what
 * an agent needs (storage/agents.c); it may then insert rows of its own
 * region only (row-level security). On SQLite only the mapping is kept. 0,
 * or -1 with the reason in err. Needs the right to create roles and grant.
 */
int store_add_agent(struct store *s, const char *role, const char *region, char *err, size_t n);
/* An agent's run and its observations, in one transaction, under region:
 * the row's id, or -1 with the reason in store_last_error() (nothing kept;
 * the caller keeps the run to try again, and says so). */
int64_t store_agent_save_run(struct store *s, const char *region, const struct audit_run *run,
                             const struct assessment *a);
/* The same with what the ledger needs of the run's findings (schema 12's
 * agent_findings, for the hub's ledger: scoring/region_ledger.h): entry is
 * the agent's own fold of the run (monitor_result's entry, whose run_*
 * fields are the run's own e-values); NULL writes none. */
int64_t store_agent_save_run_with(struct store *s, const char *region, const struct audit_run *run,
                                  const struct assessment *a, const struct ledger_entry *entry);
/* What an agent saw of one relay-model in one run. */
struct store_agent_run {
	int64_t id;
	const char *region, *relay, *model, *verdict;
	const char *error_class; /* the run's most frequent failure, "none" */
	int64_t started_ms, finished_ms;
	long requests, ok_requests;
	double ttft_ms, tokens_per_s; /* the run's medians, -1 if none */
};
typedef void (*store_agent_run_cb)(const struct store_agent_run *r, void *arg);
/* Agents' runs with an id above after_id, oldest first, at most limit. A
 * run committed after a higher id was read is below after_id by then:
 * the hub reads through store_agent_cursor_read instead. 0, or -1 with
 * the reason in store_last_error(). */
int store_each_agent_run(struct store *s, int64_t after_id, int limit, store_agent_run_cb cb,
                         void *arg);
/* The hub's pages after a restart: runs with an id at or below upto_id
 * that started at since_ms or later, newest first, at most limit. 0, or
 * -1 with the reason in store_last_error(). */
int store_each_agent_run_back(struct store *s, int64_t upto_id, int64_t since_ms, int limit,
                              store_agent_run_cb cb, void *arg);
/* Where a hub starting at now begins reading: *after_id is the id before
 * the first run started at or after since_ms (or the newest, when none
 * is that recent). 0, or -1. */
int store_agent_runs_since(struct store *s, int64_t since_ms, int64_t *after_id);

/*
 * The hub's incremental read of the agents' runs, missing none and giving
 * none twice. A run's id is taken when its agent inserts the row, and the
 * agent commits later (its observations go in the same transaction, a
 * round trip each): agents commit out of the order of their ids all the
 * time (one far from the database takes longer), and a read of "id above
 * the last id read" skips for good a run committed after a higher one was
 * read. That holds on the primary as on a replica (a replica replays the
 * commits in the primary's order, only later). The cursor keeps the ids it
 * passed over (gaps) and asks for them again at each read until they come
 * or STORE_AGENT_GAP_MS passes (an insert rolled back, or a sequence that
 * jumped after a crash, leaves a gap for good); at most STORE_AGENT_GAPS
 * are kept, the oldest let go first. SQLite takes an id and commits under
 * its one write lock, in order: there are no such gaps, none is kept.
 */
#define STORE_AGENT_GAP_MS (120 * 1000)
#define STORE_AGENT_GAPS 4096
struct store_agent_cursor;
/* A cursor that starts after after_id (store_agent_runs_since). */
struct store_agent_cursor *store_agent_cursor_new(int64_t after_id);
void store_agent_cursor_free(struct store_agent_cursor *c);
/* The runs c has not given yet: those that came in a gap first (older ids,
 * committed late), then those above the highest given, oldest first; at
 * most limit in all. 0, or -1 with the reason in store_last_error() (c is
 * as before the call for what was not given). */
int store_agent_cursor_read(struct store *s, struct store_agent_cursor *c, int limit,
                            store_agent_run_cb cb, void *arg);
/* How many gaps c is waiting for (tests, and the hub's log). */
size_t store_agent_cursor_gaps(const struct store_agent_cursor *c);

/*
 * The hub's ledger over the agents' evidence (storage/hub_ledger.c; schema
 * 12). An agent run with its findings, as read back: strings owned by the
 * reader, valid during the callback, sanitized UTF-8, capped; a class
 * without a row bet 0 in a run that had a success.
 */
#define STORE_AGENT_FINDINGS_MAX 32
struct store_agent_finding {
	char *cls;        /* a class name (unknown names are the caller's to drop) */
	double conv, lim; /* the run's e-values for the class (finite, may be 0) */
	int sighting;     /* 0 none, 1 suspect level, 2 misbehaving level */
	int has_shown;    /* the finding below was written */
	double confidence, p_adjusted;
	char *expected, *observed, *summary, *probe, *served; /* may be NULL */
};
struct store_agent_evidence {
	int64_t id;
	char *region, *relay, *model;
	int64_t started_ms;
	long ok_requests;
	struct store_agent_finding *findings;
	size_t n_findings;
};
typedef void (*store_agent_evidence_cb)(const struct store_agent_evidence *e, void *arg);
/* Agents' runs with an id above after_id, oldest first, at most limit,
 * each with its findings. 0, or -1 (reason in store_last_error()). */
int store_each_agent_evidence(struct store *s, int64_t after_id, int limit,
                              store_agent_evidence_cb cb, void *arg);
/* One relay-model's pooled ledger as kept: its verdict and state (JSON). */
struct store_hub_ledger_row {
	const char *relay, *model, *verdict, *state;
	int64_t updated_ms;
};
/* Write rows and the cursor (every agent run with an id at or below
 * after_id is folded) in one transaction. 0, or -1 with nothing changed. */
int store_hub_ledger_write(struct store *s, const struct store_hub_ledger_row *rows, size_t n,
                           int64_t after_id);
/* The cursor into *after_id (0 when none is kept), then each row to cb.
 * 0, or -1. */
typedef void (*store_hub_ledger_cb)(const struct store_hub_ledger_row *row, void *arg);
int store_each_hub_ledger(struct store *s, int64_t *after_id, store_hub_ledger_cb cb, void *arg);

/* The hub's quorum outages (scoring/quorum.h): one row per outage of a
 * relay-model, open until resolved. regions_down: the regions that saw it
 * down, comma-separated. The row's id, or -1 / 0, or -1 (reason in
 * store_last_error()). */
int64_t store_region_outage_open(struct store *s, const char *relay, const char *model,
                                 int64_t at_ms, const char *regions_down, int regions_heard);
int store_region_outage_resolve(struct store *s, const char *relay, const char *model,
                                int64_t at_ms);
typedef void (*store_region_outage_cb)(int64_t id, const char *relay, const char *model,
                                       int64_t opened_ms, void *arg);
/* The outages still open (a hub's restart). 0, or -1. */
int store_each_open_region_outage(struct store *s, store_region_outage_cb cb, void *arg);

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
	const char *engine; /* "sqlite" or "postgresql" (static) */
	int64_t file_bytes; /* SQLite: the main file, pages in use and free;
	                     * PostgreSQL: pg_database_size() of the database */
	int64_t free_bytes; /* SQLite: pages on the freelist; PostgreSQL: 0 */
	int64_t wal_bytes;  /* SQLite: the -wal file; PostgreSQL: 0 (the WAL is
	                     * the cluster's) */
	int schema_version;
	long targets;
};
/* Cheap figures (no table scan): safe on the event loop. 0, or -1. */
int store_stats(struct store *s, struct store_stats *st);

#endif
