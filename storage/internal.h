/*
 * internal: the store's private state, shared by the files of storage/ only.
 */
#ifndef ASSAY_STORE_INTERNAL_H
#define ASSAY_STORE_INTERNAL_H

#include "storage/db.h"
#include "storage/store.h"

#define STORE__RES 3

enum stmt {
	STMT_INSERT_RUN,
	STMT_INSERT_OBS,
	STMT_ROLLUP_MINUTE,
	STMT_ROLLUP_HOUR,
	STMT_ROLLUP_DAY,
	STMT_ROLLUP_ERROR,
	STMT_TARGET_FIND,
	STMT_TARGET_INSERT,
	STMT_TARGET_API,
	STMT_SEGMENT_INSERT,
	STMT_SEGMENT_UPDATE,
	STMT_INCIDENT_INSERT,
	STMT_INCIDENT_UPDATE,
	STMT_LEDGER_RUN,
	STMT_LEDGER_SHOWN,
	STMT_LEDGER_TRIM,
	STMT_TARGET_LISTING,
	STMT_LEDGER_EVIDENCE,
	STMT_ROLLUP_ORIGIN,
	STMT__COUNT
};

/* A relay and model's row id, known without a query after the first save. */
struct stored_target {
	int64_t id;
	char *relay, *model;
};

struct store {
	struct db *db; /* SQLite or PostgreSQL (storage/db.h) */
	char *path;
	int readonly;
	struct db_stmt *stmt[STMT__COUNT]; /* writer only */
	struct stored_target **targets;
	size_t n_targets;
	char *scratch_findings; /* the last outcome's findings JSON */
	char last_error[512];   /* why the last save failed (store_last_error) */
	/* retention's position: next target whose rollups are trimmed */
	int64_t retention_target;
	struct db_stmt *retention[24]; /* retention.c's statements, prepared once */
	struct db_stmt *agent[3];      /* agents.c's run, observation and finding inserts */
	struct store_replica *replica; /* database_read (storage/replica.c), or NULL */
};

/* The connection a read that tolerates a replica's lag goes to: the
 * replica while it is near enough the primary, else the primary (s->db).
 * Reads that must see the store's own writes use s->db (storage/replica.c
 * says which). */
struct db *store_reader(struct store *s);
/* Read from the replica at address as well (storage/replica.c); one that
 * does not answer is said, not an error; max_lag_ms: its lag bound (0:
 * STORE_REPLICA_MAX_LAG_MS). 0, or -1 (a malformed address, or
 * one that holds a password) with the reason in err. */
int store_replica_open(struct store *s, const char *address, const char *password,
                       int64_t max_lag_ms, char *err, size_t errlen);
void store_replica_close(struct store *s);
/* A read on db, store_reader's replica, failed: reads go to the primary
 * until the replica's retry (said once). */
void store_replica_failed(struct store *s, struct db *db);

/* Run sql; 0, or -1 with the engine's message in err. */
int store_exec(struct store *s, const char *sql, char *err, size_t errlen);
/* Begin a write transaction (db_begin); 0, or -1 with the message in err. */
int store_begin(struct store *s, char *err, size_t errlen);
void store_bind_text(struct db_stmt *st, int i, const char *v);
const char *store_rollup_table(enum store_resolution res);
/* In store_save_run's transaction: the run's canary belongs to run_id, and
 * the hits it carried are reported (storage/canaries.c). 0, or -1. */
struct canary;
int store_canary_saved(struct store *s, int64_t target, int64_t run_id, const struct canary *c);
/* The cached row of relay/model (store.c), created the first time. */
struct stored_target *store_target(struct store *s, const char *relay, const char *model,
                                   const char *api);
/* Drop the cached per-target state (after a failed transaction). */
void store_forget_targets(struct store *s);

/* The columns store_agent_each_row reads, in its order. */
#define AGENT_RUN_COLUMNS                                                                          \
	"SELECT id, region, relay, model, started_ms, finished_ms, verdict, requests,"             \
	" ok_requests, error_class, ttft_ms, tokens_per_s FROM agent_runs"
/* Each row of st (AGENT_RUN_COLUMNS, parameters bound, prepared on db) to
 * cb; st finalized (storage/agents.c). 0, or -1 with the reason in
 * last_error. */
int store_agent_each_row(struct store *s, struct db *db, struct db_stmt *st, store_agent_run_cb cb,
                         void *arg);

/* The PostgreSQL schema at version STORE_PG_BASELINE, in one step
 * (storage/schema_postgres.c). */
#define STORE_PG_BASELINE 10
extern const char store_pg_baseline[];
/* The agents' findings and the hub's ledger, one migration step in each
 * dialect (storage/schema_hub_ledger.c). */
extern const char store_hub_ledger_sqlite[], store_hub_ledger_postgres[];

#endif
