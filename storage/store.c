/*
 * store: the schema, its migrations and the statements the pipeline writes
 * with, on either engine (storage/db.h).
 *
 * Migrations: each step moves the schema version by one, inside one
 * transaction, so a database is always at a version this build knows or is
 * refused (never half-migrated). SQLite's first ten steps are
 * `sqlite_migrations`; PostgreSQL reaches the same version 10 in one step
 * (storage/schema_postgres.c); from 10 on every step is written in both
 * dialects side by side (`migrations`).
 *
 * Saving a run is one transaction: the run, its observations, three rollup
 * upserts (minute, hour, day) and their error-class rows, and what the
 * timeline and the ledger decided (a segment, incidents, the ledger's run
 * record and shown findings). The policy is theirs (scoring/timeline.c,
 * scoring/ledger.c): storage keeps what it is given. Targets' row ids are
 * cached in memory (struct stored_target) so a save never scans history.
 */
#include "storage/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "scoring/detect.h"
#include "scoring/listing.h"
#include "scoring/origin.h"

_Static_assert(ORIGIN__COUNT <= STORE_ORIGINS, "a bucket counts every backend");

/* How long a busy database is waited for: at open (migrations, the write
 * check), then for each write. */
#define STORE_OPEN_BUSY_MS 5000
#define STORE_WRITE_BUSY_MS 250

static const char *const sqlite_migrations[] = {
    /* 0 -> 1: runs and observations */
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY,"
    " relay TEXT NOT NULL, model TEXT NOT NULL,"
    " started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL,"
    " verdict TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',"
    " tokens_spent INTEGER NOT NULL DEFAULT 0,"
    " requests INTEGER NOT NULL DEFAULT 0, ok_requests INTEGER NOT NULL DEFAULT 0,"
    " ttft_ms REAL, tokens_per_s REAL,"
    " findings TEXT NOT NULL DEFAULT '[]');"
    "CREATE INDEX runs_target ON runs(relay, model, started_ms);"
    "CREATE TABLE observations ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " relay TEXT NOT NULL, model TEXT NOT NULL, probe TEXT NOT NULL,"
    " sample INTEGER NOT NULL DEFAULT 0, started_ms INTEGER NOT NULL,"
    " http_status INTEGER NOT NULL, error_class TEXT NOT NULL, error_detail TEXT,"
    " dns_us INTEGER, connect_us INTEGER, tls_us INTEGER, ttfb_us INTEGER,"
    " ttft_us INTEGER, total_us INTEGER, chunks INTEGER, chunk_us BLOB,"
    " prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER,"
    " cached_tokens INTEGER, model_reported TEXT, response_id TEXT,"
    " system_fingerprint TEXT, finish_reason TEXT, text TEXT,"
    " text_truncated INTEGER NOT NULL DEFAULT 0, retry_after_s INTEGER,"
    " ratelimit_remaining TEXT, request_id TEXT);"
    "CREATE INDEX observations_target ON observations(relay, model, started_ms);"
    "CREATE INDEX observations_run ON observations(run_id);",

    /*
     * 1 -> 2: targets by integer id (raw rows lose their relay and model
     * text, a third of their size); minute/hour/day rollups with error
     * classes; verdict history as segments; incidents. Existing runs are
     * rolled up and segmented so an upgraded database keeps its history.
     */
    "CREATE TABLE targets ("
    " id INTEGER PRIMARY KEY,"
    " relay TEXT NOT NULL, model TEXT NOT NULL, api TEXT NOT NULL DEFAULT 'openai',"
    " UNIQUE(relay, model));"
    "INSERT INTO targets(relay, model) SELECT DISTINCT relay, model FROM runs"
    " ORDER BY relay, model;"
    "CREATE TABLE runs2 ("
    " id INTEGER PRIMARY KEY,"
    " target INTEGER NOT NULL REFERENCES targets(id),"
    " started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL,"
    " verdict TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',"
    " tokens_spent INTEGER NOT NULL DEFAULT 0,"
    " requests INTEGER NOT NULL DEFAULT 0, ok_requests INTEGER NOT NULL DEFAULT 0,"
    " ttft_ms REAL, tokens_per_s REAL,"
    " findings TEXT NOT NULL DEFAULT '[]');"
    "INSERT INTO runs2 SELECT r.id, t.id, r.started_ms, r.finished_ms, r.verdict, r.reason,"
    " r.tokens_spent, r.requests, r.ok_requests, r.ttft_ms, r.tokens_per_s, r.findings"
    " FROM runs r JOIN targets t ON t.relay = r.relay AND t.model = r.model;"
    "CREATE TABLE observations2 ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES runs2(id) ON DELETE CASCADE,"
    " probe TEXT NOT NULL, sample INTEGER NOT NULL DEFAULT 0, started_ms INTEGER NOT NULL,"
    " http_status INTEGER NOT NULL, error_class TEXT NOT NULL, error_detail TEXT,"
    " dns_us INTEGER, connect_us INTEGER, tls_us INTEGER, ttfb_us INTEGER,"
    " ttft_us INTEGER, total_us INTEGER, chunks INTEGER, chunk_us BLOB,"
    " prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER,"
    " cached_tokens INTEGER, model_reported TEXT, response_id TEXT,"
    " system_fingerprint TEXT, finish_reason TEXT, text TEXT,"
    " text_truncated INTEGER NOT NULL DEFAULT 0, retry_after_s INTEGER,"
    " ratelimit_remaining TEXT, request_id TEXT);"
    "INSERT INTO observations2 SELECT id, run_id, probe, sample, started_ms, http_status,"
    " error_class, error_detail, dns_us, connect_us, tls_us, ttfb_us, ttft_us, total_us,"
    " chunks, chunk_us, prompt_tokens, completion_tokens, total_tokens, cached_tokens,"
    " model_reported, response_id, system_fingerprint, finish_reason, text, text_truncated,"
    " retry_after_s, ratelimit_remaining, request_id FROM observations;"
    "DROP TABLE observations;"
    "DROP TABLE runs;"
    "ALTER TABLE runs2 RENAME TO runs;"
    "ALTER TABLE observations2 RENAME TO observations;"
    "CREATE INDEX runs_target ON runs(target, started_ms);"
    "CREATE INDEX observations_run ON observations(run_id);"
    "CREATE TABLE rollup_minute (target INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    " runs INTEGER NOT NULL, requests INTEGER NOT NULL, ok INTEGER NOT NULL,"
    " tokens INTEGER NOT NULL, ttft_n INTEGER NOT NULL, ttft_sum REAL NOT NULL,"
    " ttft_sq REAL NOT NULL, tps_n INTEGER NOT NULL, tps_sum REAL NOT NULL,"
    " tps_sq REAL NOT NULL, PRIMARY KEY(target, bucket)) WITHOUT ROWID;"
    "CREATE TABLE rollup_hour (target INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    " runs INTEGER NOT NULL, requests INTEGER NOT NULL, ok INTEGER NOT NULL,"
    " tokens INTEGER NOT NULL, ttft_n INTEGER NOT NULL, ttft_sum REAL NOT NULL,"
    " ttft_sq REAL NOT NULL, tps_n INTEGER NOT NULL, tps_sum REAL NOT NULL,"
    " tps_sq REAL NOT NULL, PRIMARY KEY(target, bucket)) WITHOUT ROWID;"
    "CREATE TABLE rollup_day (target INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    " runs INTEGER NOT NULL, requests INTEGER NOT NULL, ok INTEGER NOT NULL,"
    " tokens INTEGER NOT NULL, ttft_n INTEGER NOT NULL, ttft_sum REAL NOT NULL,"
    " ttft_sq REAL NOT NULL, tps_n INTEGER NOT NULL, tps_sum REAL NOT NULL,"
    " tps_sq REAL NOT NULL, PRIMARY KEY(target, bucket)) WITHOUT ROWID;"
    /* res: 0 minute, 1 hour, 2 day (enum store_resolution) */
    "CREATE TABLE rollup_errors (res INTEGER NOT NULL, target INTEGER NOT NULL,"
    " bucket INTEGER NOT NULL, class TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(res, target, bucket, class)) WITHOUT ROWID;"
    "INSERT INTO rollup_minute SELECT target, started_ms / 60000, count(*), sum(requests),"
    " sum(ok_requests), sum(tokens_spent), count(ttft_ms), coalesce(sum(round(ttft_ms)), 0),"
    " coalesce(sum(round(ttft_ms) * round(ttft_ms)), 0), count(tokens_per_s),"
    " coalesce(sum(round(tokens_per_s)), 0),"
    " coalesce(sum(round(tokens_per_s) * round(tokens_per_s)), 0) FROM runs GROUP BY 1, 2;"
    "INSERT INTO rollup_hour SELECT target, started_ms / 3600000, count(*), sum(requests),"
    " sum(ok_requests), sum(tokens_spent), count(ttft_ms), coalesce(sum(round(ttft_ms)), 0),"
    " coalesce(sum(round(ttft_ms) * round(ttft_ms)), 0), count(tokens_per_s),"
    " coalesce(sum(round(tokens_per_s)), 0),"
    " coalesce(sum(round(tokens_per_s) * round(tokens_per_s)), 0) FROM runs GROUP BY 1, 2;"
    "INSERT INTO rollup_day SELECT target, started_ms / 86400000, count(*), sum(requests),"
    " sum(ok_requests), sum(tokens_spent), count(ttft_ms), coalesce(sum(round(ttft_ms)), 0),"
    " coalesce(sum(round(ttft_ms) * round(ttft_ms)), 0), count(tokens_per_s),"
    " coalesce(sum(round(tokens_per_s)), 0),"
    " coalesce(sum(round(tokens_per_s) * round(tokens_per_s)), 0) FROM runs GROUP BY 1, 2;"
    "INSERT INTO rollup_errors SELECT 0, r.target, r.started_ms / 60000, o.error_class,"
    " count(*) FROM observations o JOIN runs r ON r.id = o.run_id"
    " WHERE o.error_class != 'none' GROUP BY 2, 3, 4;"
    "INSERT INTO rollup_errors SELECT 1, r.target, r.started_ms / 3600000, o.error_class,"
    " count(*) FROM observations o JOIN runs r ON r.id = o.run_id"
    " WHERE o.error_class != 'none' GROUP BY 2, 3, 4;"
    "INSERT INTO rollup_errors SELECT 2, r.target, r.started_ms / 86400000, o.error_class,"
    " count(*) FROM observations o JOIN runs r ON r.id = o.run_id"
    " WHERE o.error_class != 'none' GROUP BY 2, 3, 4;"
    "CREATE TABLE verdicts ("
    " id INTEGER PRIMARY KEY, target INTEGER NOT NULL REFERENCES targets(id),"
    " first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, runs INTEGER NOT NULL,"
    " verdict TEXT NOT NULL, classes TEXT NOT NULL, reason TEXT NOT NULL,"
    " findings TEXT NOT NULL);"
    "CREATE INDEX verdicts_target ON verdicts(target, last_ms);"
    "CREATE INDEX verdicts_last ON verdicts(last_ms);"
    /* segments of the existing runs: islands of equal (verdict, classes) */
    "INSERT INTO verdicts(target, first_ms, last_ms, runs, verdict, classes, reason, findings)"
    " SELECT s.target, s.first_ms, s.last_ms, s.n, s.verdict, s.classes, r.reason, r.findings"
    " FROM (SELECT target, verdict, classes, min(started_ms) AS first_ms,"
    "   max(started_ms) AS last_ms, count(*) AS n, max(id) AS last_id"
    "   FROM (SELECT id, target, started_ms, verdict, classes,"
    "     row_number() OVER (PARTITION BY target ORDER BY started_ms, id)"
    "     - row_number() OVER (PARTITION BY target, verdict, classes"
    "       ORDER BY started_ms, id) AS grp"
    "     FROM (SELECT id, target, started_ms, verdict,"
    "       coalesce((SELECT group_concat(c, ',') FROM (SELECT DISTINCT"
    "         json_extract(value, '$.class') AS c FROM json_each(runs.findings)"
    "         ORDER BY c)), '') AS classes FROM runs))"
    "   GROUP BY target, verdict, classes, grp) s"
    " JOIN runs r ON r.id = s.last_id ORDER BY s.first_ms;"
    "CREATE TABLE incidents ("
    " id INTEGER PRIMARY KEY, target INTEGER NOT NULL REFERENCES targets(id),"
    " kind TEXT NOT NULL, opened_ms INTEGER NOT NULL, resolved_ms INTEGER,"
    " cause TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '',"
    " failed_runs INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX incidents_target ON incidents(target, opened_ms);"
    "CREATE INDEX incidents_opened ON incidents(opened_ms);",

    /*
     * 2 -> 3: the evidence ledger of `serve` (scoring/ledger.h), so that a
     * restart keeps the window's verdicts: each run's record (which
     * cheating classes it found, as bits of scoring/classes.h, at which
     * level) and each class's latest finding to show. Pooled answers are
     * read back from observations.
     */
    "CREATE TABLE ledger_runs (target INTEGER NOT NULL REFERENCES targets(id),"
    " at_ms INTEGER NOT NULL, misbehaving INTEGER NOT NULL, suspect INTEGER NOT NULL);"
    "CREATE INDEX ledger_runs_target ON ledger_runs(target, at_ms);"
    "CREATE TABLE ledger_shown (target INTEGER NOT NULL REFERENCES targets(id),"
    " class TEXT NOT NULL, at_ms INTEGER NOT NULL, convicts INTEGER NOT NULL,"
    " confidence REAL NOT NULL, p_adjusted REAL NOT NULL, expected TEXT NOT NULL,"
    " observed TEXT NOT NULL, summary TEXT NOT NULL, probe TEXT NOT NULL, served TEXT,"
    " PRIMARY KEY(target, class)) WITHOUT ROWID;",

    /*
     * 3 -> 4: what the relay's model list (GET /v1/models) said of the
     * target at its latest run: scoring/listing.h's state name, how many
     * models it listed and the sentence the audit wrote. Never the list
     * itself: it is the relay's text, unbounded.
     */
    "ALTER TABLE targets ADD COLUMN listed TEXT;"
    "ALTER TABLE targets ADD COLUMN listed_models INTEGER;"
    "ALTER TABLE targets ADD COLUMN listed_note TEXT;"
    "ALTER TABLE targets ADD COLUMN listed_ms INTEGER;",

    /*
     * 4 -> 5: the output tokens a reasoning model spent thinking
     * (completion_tokens_details / output_tokens_details.reasoning_tokens),
     * part of completion_tokens; NULL where the API reported none.
     */
    "ALTER TABLE observations ADD COLUMN reasoning_tokens INTEGER;",

    /*
     * 5 -> 6: the ledger's anytime-valid evidence (scoring/evalue.h), one
     * row per target and cheating class, rewritten at every run: the level
     * decided, since when the e-processes run, how many runs they hold and
     * their state (scoring/evalue.h: the bets' log wealth and the plug-in
     * bettor's record, a JSON array of numbers) for the convicting
     * findings (conv) and those that can make suspect at most (lim).
     */
    "CREATE TABLE ledger_evidence (target INTEGER NOT NULL REFERENCES targets(id),"
    " class TEXT NOT NULL, level TEXT NOT NULL, since_ms INTEGER NOT NULL,"
    " decided_ms INTEGER NOT NULL, updates INTEGER NOT NULL, conv TEXT NOT NULL,"
    " lim TEXT NOT NULL, PRIMARY KEY(target, class)) WITHOUT ROWID;",

    /*
     * 6 -> 7: serve's credential canaries (probes/canary.h), so that a use
     * that comes after its run was scored, or after a restart, is still
     * told to the relay and run it was planted in. Only SHA-256 digests of
     * the key and the token: nothing here can be used, or mistaken for a
     * key. A hit is the untrusted request's time, peer, User-Agent, method
     * and path (sanitized, capped); reported_run: the run whose assessment
     * carried it (NULL: not yet). Kept STORE_CANARY_KEEP_MS.
     */
    "CREATE TABLE canaries (id INTEGER PRIMARY KEY,"
    " target INTEGER NOT NULL REFERENCES targets(id), planted_ms INTEGER NOT NULL,"
    " run_id INTEGER, key_sha256 TEXT NOT NULL, token_sha256 TEXT NOT NULL);"
    "CREATE UNIQUE INDEX canaries_token ON canaries(token_sha256);"
    "CREATE INDEX canaries_key ON canaries(key_sha256);"
    "CREATE INDEX canaries_planted ON canaries(planted_ms);"
    "CREATE TABLE canary_hits (id INTEGER PRIMARY KEY,"
    " canary INTEGER NOT NULL REFERENCES canaries(id), at_ms INTEGER NOT NULL,"
    " peer TEXT NOT NULL, user_agent TEXT NOT NULL, method TEXT NOT NULL,"
    " path TEXT NOT NULL, with_key INTEGER NOT NULL, reported_run INTEGER);"
    "CREATE INDEX canary_hits_canary ON canary_hits(canary);",

    /*
     * 7 -> 8: what a run cost at the claimed model's official price
     * (NULL: no price known), for serve's daily budgets (issue 18).
     */
    "ALTER TABLE runs ADD COLUMN cost_usd REAL;"
    "CREATE INDEX IF NOT EXISTS runs_started ON runs(started_ms);",

    /*
     * 8 -> 9: the backend origin of Claude requests (scoring/origin.h), as
     * rollup_errors keeps error classes: per resolution, target and bucket,
     * the requests each backend served (its stable name), summed, pruned
     * with the buckets. New rows only: older runs were not read for it.
     */
    "CREATE TABLE rollup_origin (res INTEGER NOT NULL, target INTEGER NOT NULL,"
    " bucket INTEGER NOT NULL, backend TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(res, target, bucket, backend)) WITHOUT ROWID;",

    /*
     * 9 -> 10: the site's own settings by name (storage/settings.c): the
     * board's title, so `assay export --db` without the config keeps it.
     */
    "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
};
_Static_assert(sizeof sqlite_migrations / sizeof sqlite_migrations[0] == STORE_PG_BASELINE,
               "PostgreSQL's baseline is SQLite's schema 10");

/*
 * From schema 10 on, each migration in both dialects, side by side: entry
 * i moves a database from 10 + i to 11 + i. Write the two together; the
 * engines' tables and columns are compared by tests/test_store_pg.c.
 */
static const struct migration {
	const char *sqlite, *postgres;
} migrations[] = {
    /*
     * 10 -> 11: probe agents in several regions (issue 20). An agent
     * (`assay serve --agent REGION`) writes each run it made, and its
     * observations, under its region; a hub reads every region's rows.
     * agent_regions names the database role of each agent and its region;
     * on PostgreSQL row-level security lets a role insert (and read back)
     * only rows of its own region, and store_add_agent grants it nothing
     * else (no targets, runs, canaries or settings). error_class: the most
     * frequent failure of the run ('none' when every request succeeded).
     * region_outages: what the hub's quorum declared (scoring/quorum.h),
     * open while resolved_ms is NULL; written by the hub only.
     */
    {"CREATE TABLE agent_regions (role TEXT PRIMARY KEY, region TEXT NOT NULL) WITHOUT ROWID;"
     "CREATE TABLE agent_runs (id INTEGER PRIMARY KEY, region TEXT NOT NULL,"
     " relay TEXT NOT NULL, model TEXT NOT NULL, api TEXT NOT NULL,"
     " started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL, verdict TEXT NOT NULL,"
     " requests INTEGER NOT NULL, ok_requests INTEGER NOT NULL, error_class TEXT NOT NULL,"
     " ttft_ms REAL, tokens_per_s REAL, tokens_spent INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX agent_runs_target ON agent_runs(relay, model, started_ms);"
     "CREATE INDEX agent_runs_started ON agent_runs(started_ms);"
     "CREATE TABLE agent_observations (id INTEGER PRIMARY KEY,"
     " agent_run INTEGER NOT NULL REFERENCES agent_runs(id) ON DELETE CASCADE,"
     " region TEXT NOT NULL, probe TEXT NOT NULL, sample INTEGER NOT NULL,"
     " started_ms INTEGER NOT NULL, http_status INTEGER NOT NULL, error_class TEXT NOT NULL,"
     " error_detail TEXT, ttft_us INTEGER, total_us INTEGER, prompt_tokens INTEGER,"
     " completion_tokens INTEGER, model_reported TEXT, finish_reason TEXT);"
     "CREATE INDEX agent_observations_run ON agent_observations(agent_run);"
     "CREATE TABLE region_outages (id INTEGER PRIMARY KEY, relay TEXT NOT NULL,"
     " model TEXT NOT NULL, opened_ms INTEGER NOT NULL, resolved_ms INTEGER,"
     " regions_down TEXT NOT NULL, regions_heard INTEGER NOT NULL);"
     "CREATE INDEX region_outages_target ON region_outages(relay, model, opened_ms);",
     "CREATE TABLE agent_regions (role TEXT COLLATE \"C\" PRIMARY KEY, region TEXT NOT NULL);"
     "CREATE TABLE agent_runs (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " region TEXT NOT NULL, relay TEXT COLLATE \"C\" NOT NULL,"
     " model TEXT COLLATE \"C\" NOT NULL, api TEXT NOT NULL,"
     " started_ms BIGINT NOT NULL, finished_ms BIGINT NOT NULL, verdict TEXT NOT NULL,"
     " requests BIGINT NOT NULL, ok_requests BIGINT NOT NULL, error_class TEXT NOT NULL,"
     " ttft_ms DOUBLE PRECISION, tokens_per_s DOUBLE PRECISION,"
     " tokens_spent BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX agent_runs_target ON agent_runs(relay, model, started_ms);"
     "CREATE INDEX agent_runs_started ON agent_runs(started_ms);"
     "CREATE TABLE agent_observations (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " agent_run BIGINT NOT NULL REFERENCES agent_runs(id) ON DELETE CASCADE,"
     " region TEXT NOT NULL, probe TEXT NOT NULL, sample BIGINT NOT NULL,"
     " started_ms BIGINT NOT NULL, http_status BIGINT NOT NULL, error_class TEXT NOT NULL,"
     " error_detail TEXT, ttft_us BIGINT, total_us BIGINT, prompt_tokens BIGINT,"
     " completion_tokens BIGINT, model_reported TEXT, finish_reason TEXT);"
     "CREATE INDEX agent_observations_run ON agent_observations(agent_run);"
     "CREATE TABLE region_outages (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
     " relay TEXT COLLATE \"C\" NOT NULL, model TEXT COLLATE \"C\" NOT NULL,"
     " opened_ms BIGINT NOT NULL, resolved_ms BIGINT, regions_down TEXT NOT NULL,"
     " regions_heard BIGINT NOT NULL);"
     "CREATE INDEX region_outages_target ON region_outages(relay, model, opened_ms);"
     /* the table's owner (the hub, which migrates) is not subject to the
      * policies; every other role is */
     "ALTER TABLE agent_runs ENABLE ROW LEVEL SECURITY;"
     "ALTER TABLE agent_observations ENABLE ROW LEVEL SECURITY;"
     "CREATE POLICY own_region ON agent_runs"
     " USING (region = (SELECT a.region FROM agent_regions a WHERE a.role = current_user))"
     " WITH CHECK (region = (SELECT a.region FROM agent_regions a"
     "  WHERE a.role = current_user));"
     "CREATE POLICY own_region ON agent_observations"
     " USING (region = (SELECT a.region FROM agent_regions a WHERE a.role = current_user))"
     " WITH CHECK (region = (SELECT a.region FROM agent_regions a"
     "  WHERE a.role = current_user));"},
    /* 11 -> 12: the agents' findings and the hub's pooled ledger
     * (storage/schema_hub_ledger.c) */
    {store_hub_ledger_sqlite, store_hub_ledger_postgres},
    /* 12 -> 13: the free answers of the ledger's window, read at start
     * (store_restore), by time: without it the read walked every run of
     * the window and each run's observations (5 s of a 1,000-target
     * board's start, for none) */
    {"CREATE INDEX observations_style ON observations(started_ms)"
     " WHERE probe = '" STYLE_PROBE "';",
     "CREATE INDEX observations_style ON observations(started_ms)"
     " WHERE probe = '" STYLE_PROBE "';"},
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
#define SCHEMA_VERSION (STORE_PG_BASELINE + N_MIGRATIONS)

static const char *const rollup_tables[STORE__RES] = {"rollup_minute", "rollup_hour", "rollup_day"};

int
store_schema_version(void)
{
	return SCHEMA_VERSION;
}

int64_t
store_resolution_ms(enum store_resolution res)
{
	switch (res) {
	case STORE_MINUTE:
		return 60000;
	case STORE_HOUR:
		return 3600000;
	default:
		return 86400000;
	}
}

const char *
store_rollup_table(enum store_resolution res)
{
	return rollup_tables[res];
}

void
store_retention_default(struct store_retention *r)
{
	r->raw_ms = 1LL * 86400000;
	r->minute_ms = 2LL * 86400000;
	r->hour_ms = 90LL * 86400000;
	r->day_ms = 400LL * 86400000;
}

int
store_exec(struct store *s, const char *sql, char *err, size_t errlen)
{
	if (db_exec(s->db, sql) != 0) {
		snprintf(err, errlen, "%s", db_errmsg(s->db));
		return -1;
	}
	return 0;
}

int
store_begin(struct store *s, char *err, size_t errlen)
{
	if (db_begin(s->db) != 0) {
		snprintf(err, errlen, "%s", db_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* Where each engine keeps the schema version: SQLite's PRAGMA user_version,
 * PostgreSQL's one-row table assay_schema (none yet: version 0; PostgreSQL
 * plans a query on a missing table as an error, so its existence is asked
 * first). */
static const char *const version_sql[2] = {
    [DB_SQLITE] = "PRAGMA user_version",
    [DB_POSTGRES] = "SELECT max(version) FROM assay_schema",
};

/* The first column of sql's one row as an integer, or -1 on an error. */
static int
query_int(struct store *s, const char *sql)
{
	struct db_stmt *st = db_prepare(s->db, sql);
	int v = -1;
	if (st != NULL && db_step(st) == DB_ROW)
		v = (int)db_column_int64(st, 0);
	db_finalize(st);
	return v;
}

/* The schema version, or -1 on a database error. */
static int
user_version(struct store *s)
{
	if (db_engine(s->db) == DB_POSTGRES) {
		int exists = query_int(s, "SELECT count(*) FROM pg_catalog.pg_tables"
		                          " WHERE tablename = 'assay_schema'"
		                          " AND schemaname = current_schema()");
		if (exists <= 0)
			return exists;
	}
	return query_int(s, version_sql[db_engine(s->db)]);
}

/* Record version v inside the migration's transaction. */
static int
set_version(struct store *s, int v, char *err, size_t errlen)
{
	char sql[160];
	if (db_engine(s->db) == DB_SQLITE)
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
	else
		snprintf(sql, sizeof sql,
		         "CREATE TABLE IF NOT EXISTS assay_schema (version INTEGER NOT NULL);"
		         " DELETE FROM assay_schema; INSERT INTO assay_schema VALUES (%d)",
		         v);
	return store_exec(s, sql, err, errlen);
}

/* The step from version v to v + 1 in this engine's dialect. */
static const char *
migration_sql(struct store *s, int v)
{
	if (v >= STORE_PG_BASELINE)
		return db_engine(s->db) == DB_SQLITE ? migrations[v - STORE_PG_BASELINE].sqlite
		                                     : migrations[v - STORE_PG_BASELINE].postgres;
	return db_engine(s->db) == DB_SQLITE ? sqlite_migrations[v] : NULL;
}

/*
 * Bring the schema to SCHEMA_VERSION, one transaction a step. On
 * PostgreSQL, where several processes (a hub, agents) may start at once, a
 * transaction-scoped advisory lock makes them take turns, and each reads
 * the version again under it; a fresh database takes the baseline (version
 * 0 -> STORE_PG_BASELINE) in one step.
 */
static int
migrate(struct store *s, char *err, size_t errlen)
{
	for (;;) {
		char e2[256];
		if (store_begin(s, err, errlen) != 0)
			return -1;
		if (db_engine(s->db) == DB_POSTGRES &&
		    store_exec(s, "SELECT pg_advisory_xact_lock(1095980377)", err, errlen) != 0)
			goto fail;
		int v = user_version(s);
		if (v < 0) {
			snprintf(err, errlen, "cannot read the schema version: %s",
			         db_errmsg(s->db));
			goto fail;
		}
		if (v > SCHEMA_VERSION) {
			snprintf(err, errlen, "database schema %d is newer than this assay (%d)", v,
			         SCHEMA_VERSION);
			goto fail;
		}
		if (v == SCHEMA_VERSION) {
			db_rollback(s->db);
			return 0;
		}
		int next = v + 1;
		const char *sql = migration_sql(s, v);
		if (db_engine(s->db) == DB_POSTGRES && v == 0) {
			sql = store_pg_baseline;
			next = STORE_PG_BASELINE;
		}
		if (sql == NULL) {
			snprintf(err, errlen, "database schema %d cannot be upgraded by this assay",
			         v);
			goto fail;
		}
		if (store_exec(s, sql, e2, sizeof e2) != 0 ||
		    set_version(s, next, e2, sizeof e2) != 0) {
			snprintf(err, errlen, "migration to schema %d failed: %s", next, e2);
			goto fail;
		}
		if (db_commit(s->db) != 0) {
			snprintf(err, errlen, "migration to schema %d failed: %s", next,
			         db_errmsg(s->db));
			goto fail;
		}
	}
fail:
	db_rollback(s->db);
	return -1;
}

/*
 * Statements the writer keeps prepared, in enum stmt order, in the dialect
 * both engines speak (storage/db.h). An upsert names the existing row's
 * columns by table (rollup_minute.runs), as PostgreSQL requires and SQLite
 * allows; the proposed row is `excluded`.
 */
static const char *const writer_sql[STMT__COUNT] = {
    [STMT_INSERT_RUN] = "INSERT INTO runs(target, started_ms, finished_ms, verdict, reason,"
                        " tokens_spent, requests, ok_requests, ttft_ms, tokens_per_s, findings,"
                        " cost_usd)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    [STMT_INSERT_OBS] =
        "INSERT INTO observations(run_id, probe, sample, started_ms,"
        " http_status, error_class, error_detail, dns_us, connect_us, tls_us, ttfb_us,"
        " ttft_us, total_us, chunks, chunk_us, prompt_tokens, completion_tokens,"
        " total_tokens, cached_tokens, model_reported, response_id, system_fingerprint,"
        " finish_reason, text, text_truncated, retry_after_s, ratelimit_remaining,"
        " request_id, reasoning_tokens)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
        " $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)",
#define ROLLUP_UPSERT(t)                                                                           \
	"INSERT INTO " t "(target, bucket, runs, requests, ok, tokens, ttft_n, ttft_sum,"          \
	" ttft_sq, tps_n, tps_sum, tps_sq) VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9, $10, "   \
	"$11)"                                                                                     \
	" ON CONFLICT(target, bucket) DO UPDATE SET runs = " t ".runs + 1,"                        \
	" requests = " t ".requests + excluded.requests, ok = " t ".ok + excluded.ok,"             \
	" tokens = " t ".tokens + excluded.tokens, ttft_n = " t ".ttft_n + excluded.ttft_n,"       \
	" ttft_sum = " t ".ttft_sum + excluded.ttft_sum,"                                          \
	" ttft_sq = " t ".ttft_sq + excluded.ttft_sq, tps_n = " t ".tps_n + excluded.tps_n,"       \
	" tps_sum = " t ".tps_sum + excluded.tps_sum, tps_sq = " t ".tps_sq + excluded.tps_sq"
    [STMT_ROLLUP_MINUTE] = ROLLUP_UPSERT("rollup_minute"),
    [STMT_ROLLUP_HOUR] = ROLLUP_UPSERT("rollup_hour"),
    [STMT_ROLLUP_DAY] = ROLLUP_UPSERT("rollup_day"),
#undef ROLLUP_UPSERT
    [STMT_ROLLUP_ORIGIN] = "INSERT INTO rollup_origin(res, target, bucket, backend, n)"
                           " VALUES ($1, $2, $3, $4, $5) ON CONFLICT(res, target, bucket, backend)"
                           " DO UPDATE SET n = rollup_origin.n + excluded.n",
    [STMT_ROLLUP_ERROR] = "INSERT INTO rollup_errors(res, target, bucket, class, n)"
                          " VALUES ($1, $2, $3, $4, $5) ON CONFLICT(res, target, bucket, class)"
                          " DO UPDATE SET n = rollup_errors.n + excluded.n",
    [STMT_TARGET_FIND] = "SELECT id, api FROM targets WHERE relay = $1 AND model = $2",
    /* another writer (a second hub) may have added it since the look: keep
     * its row */
    [STMT_TARGET_INSERT] = "INSERT INTO targets(relay, model, api) VALUES ($1, $2, $3)"
                           " ON CONFLICT(relay, model) DO UPDATE SET api = excluded.api"
                           " RETURNING id",
    [STMT_TARGET_API] = "UPDATE targets SET api = $1 WHERE id = $2",
    [STMT_SEGMENT_INSERT] = "INSERT INTO verdicts(target, first_ms, last_ms, runs, verdict,"
                            " classes, reason, findings) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                            " RETURNING id",
    [STMT_SEGMENT_UPDATE] = "UPDATE verdicts SET last_ms = $1, runs = $2, reason = $3,"
                            " findings = $4 WHERE id = $5",
    [STMT_INCIDENT_INSERT] = "INSERT INTO incidents(target, kind, opened_ms, cause, detail,"
                             " failed_runs) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    [STMT_INCIDENT_UPDATE] = "UPDATE incidents SET failed_runs = $1, resolved_ms = $2"
                             " WHERE id = $3",
    [STMT_LEDGER_RUN] = "INSERT INTO ledger_runs(target, at_ms, misbehaving, suspect)"
                        " VALUES ($1, $2, $3, $4)",
    [STMT_LEDGER_SHOWN] =
        "INSERT INTO ledger_shown(target, class, at_ms, convicts, confidence, p_adjusted,"
        " expected, observed, summary, probe, served)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT(target, class) DO UPDATE SET at_ms = excluded.at_ms,"
        " convicts = excluded.convicts, confidence = excluded.confidence,"
        " p_adjusted = excluded.p_adjusted, expected = excluded.expected,"
        " observed = excluded.observed, summary = excluded.summary, probe = excluded.probe,"
        " served = excluded.served",
    [STMT_LEDGER_TRIM] = "DELETE FROM ledger_runs WHERE target = $1 AND at_ms < $2",
    [STMT_LEDGER_EVIDENCE] =
        "INSERT INTO ledger_evidence(target, class, level, since_ms, decided_ms, updates, conv,"
        " lim) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT(target, class) DO UPDATE SET"
        " level = excluded.level, since_ms = excluded.since_ms,"
        " decided_ms = excluded.decided_ms, updates = excluded.updates, conv = excluded.conv,"
        " lim = excluded.lim",
    [STMT_TARGET_LISTING] = "UPDATE targets SET listed = $1, listed_models = $2,"
                            " listed_note = $3, listed_ms = $4 WHERE id = $5",
};

/*
 * Can this connection write what it must? SQLite: a file or folder we may
 * not write opens read-only without a word (every run would then be lost,
 * one log line each), so a write is tried. PostgreSQL: a hot standby, a
 * read-only session or a role without the INSERT privilege on the table it
 * writes (runs; an agent's agent_runs) is refused now, not at the first run.
 * 0, or -1 with the reason in err.
 */
static int
check_writable(struct store *s, const char *table, char *err, size_t errlen)
{
	char e2[512] = "";
	if (db_engine(s->db) == DB_SQLITE) {
		char version[96];
		snprintf(version, sizeof version,
		         "BEGIN IMMEDIATE; PRAGMA user_version = %d; COMMIT;", user_version(s));
		if (store_exec(s, version, e2, sizeof e2) == 0)
			return 0;
		db_rollback(s->db);
		snprintf(err, errlen,
		         "%s (check the permissions of the file and its folder, and that no other "
		         "process holds it)",
		         e2);
		return -1;
	}
	struct db_stmt *st = db_prepare(s->db, "SELECT pg_is_in_recovery(),"
	                                       " current_setting('transaction_read_only') = 'on',"
	                                       " has_table_privilege($1, 'INSERT')");
	int rc = -1;
	if (st == NULL) {
		snprintf(err, errlen, "%s", db_errmsg(s->db));
		return -1;
	}
	db_bind_text(st, 1, table);
	if (db_step(st) != DB_ROW)
		snprintf(err, errlen, "%s", db_errmsg(s->db));
	else if (strcmp(db_column_text(st, 0), "t") == 0)
		snprintf(err, errlen, "it is a read-only replica (write to the primary)");
	else if (strcmp(db_column_text(st, 1), "t") == 0)
		snprintf(err, errlen, "the session is read-only (default_transaction_read_only)");
	else if (strcmp(db_column_text(st, 2), "t") != 0)
		snprintf(err, errlen, "the role may not insert into %s (see its GRANTs)", table);
	else
		rc = 0;
	db_finalize(st);
	return rc;
}

struct store *
store_open(const char *path, int readonly, char *err, size_t errlen)
{
	struct store_options o = {.readonly = readonly};
	return store_open_with(path, &o, err, errlen);
}

int
store_check_address(const char *address, char *err, size_t errlen)
{
	if (!db_is_postgres(address)) {
		snprintf(err, errlen, "expected a PostgreSQL address (postgres://USER@HOST/DB)");
		return -1;
	}
	return db_postgres_check_address(address, err, errlen);
}

/* The password in the variable env names (owned; wipe it), NULL when env
 * is NULL or "". -1 with the reason in err when the variable is unset. */
static int
password_from(const char *address, const char *env, const char *option, char **password, char *err,
              size_t errlen)
{
	*password = NULL;
	if (env == NULL || *env == '\0')
		return 0;
	const char *v = getenv(env);
	if (v == NULL || *v == '\0') {
		snprintf(err, errlen,
		         "database '%s': the environment variable '%s' (%s) is not set", address,
		         env, option);
		return -1;
	}
	*password = xstrdup(v);
	return 0;
}

static void
wipe(char *password)
{
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
}

/* o's read replica, when it names one (an agent reads nothing: none). 0,
 * or -1 with the reason in err: a malformed address or an unset password
 * variable is the config's error; a replica that does not answer is not. */
static int
open_replica(struct store *s, const struct store_options *o, char *err, size_t errlen)
{
	if (o->read_address == NULL || *o->read_address == '\0' || o->agent)
		return 0;
	char e2[512];
	if (db_engine(s->db) != DB_POSTGRES) {
		snprintf(err, errlen,
		         "database_read '%s': a read replica needs a PostgreSQL database, not a "
		         "SQLite file",
		         o->read_address);
		return -1;
	}
	const char *env = o->read_password_env ? o->read_password_env : o->password_env;
	char *password;
	if (password_from(o->read_address, env,
	                  o->read_password_env ? "database_read_password_env"
	                                       : "database_password_env",
	                  &password, err, errlen) != 0)
		return -1;
	int rc =
	    store_replica_open(s, o->read_address, password, o->read_max_lag_ms, e2, sizeof e2);
	wipe(password);
	if (rc != 0)
		snprintf(err, errlen, "database_read: %s", e2);
	return rc;
}

struct store *
store_open_with(const char *path, const struct store_options *o, char *err, size_t errlen)
{
	char *password = NULL;
	if (password_from(path, o->password_env, "database_password_env", &password, err, errlen) !=
	    0)
		return NULL;
	struct store *s = xcalloc(1, sizeof *s);
	s->readonly = o->readonly;
	s->path = xstrdup(path);
	s->db = db_open(path, password, o->readonly, err, errlen);
	wipe(password);
	if (s->db == NULL)
		goto err;
	db_set_busy_ms(s->db, STORE_OPEN_BUSY_MS);
	char e2[512];
	int sqlite = db_engine(s->db) == DB_SQLITE;
	if (o->readonly || o->agent) {
		/* a reader, or an agent, whose role may not change the schema:
		 * the schema must be this build's */
		int v = user_version(s);
		if (v != SCHEMA_VERSION) {
			snprintf(err, errlen, "database '%s' has schema %d, expected %d%s", path, v,
			         SCHEMA_VERSION,
			         o->agent && v < SCHEMA_VERSION
			             ? " (start the hub first: it migrates)"
			             : "");
			goto err;
		}
	}
	if (o->readonly) {
		if (open_replica(s, o, err, errlen) != 0)
			goto err;
		return s;
	}
	if (sqlite && store_exec(s,
	                         "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	                         "PRAGMA foreign_keys = ON;",
	                         e2, sizeof e2) != 0) {
		snprintf(err, errlen, "cannot set up database '%s': %s", path, e2);
		goto err;
	}
	if (!o->agent && migrate(s, e2, sizeof e2) != 0) {
		snprintf(err, errlen, "database '%s': %s", path, e2);
		goto err;
	}
	if (check_writable(s, o->agent ? "agent_runs" : "runs", e2, sizeof e2) != 0) {
		snprintf(err, errlen, "cannot write database '%s': %s", path, e2);
		goto err;
	}
	/* from now on a busy database is not waited for long: the event loop
	 * would stall; a run that cannot be written waits in serve's queue
	 * and is retried (cli/cmd_serve.c) */
	db_set_busy_ms(s->db, STORE_WRITE_BUSY_MS);
	for (int i = 0; i < STMT__COUNT && !o->agent; i++) {
		if ((s->stmt[i] = db_prepare(s->db, writer_sql[i])) == NULL) {
			snprintf(err, errlen, "database '%s': %s", path, db_errmsg(s->db));
			goto err;
		}
	}
	/* after the migrations: the replica is read once it replayed them */
	if (open_replica(s, o, err, errlen) != 0)
		goto err;
	return s;
err:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_replica_close(s);
	for (int i = 0; i < STMT__COUNT; i++)
		db_finalize(s->stmt[i]);
	for (size_t i = 0; i < sizeof s->retention / sizeof s->retention[0]; i++)
		db_finalize(s->retention[i]);
	for (size_t i = 0; i < sizeof s->agent / sizeof s->agent[0]; i++)
		db_finalize(s->agent[i]);
	for (size_t i = 0; i < s->n_targets; i++) {
		struct stored_target *t = s->targets[i];
		free(t->relay);
		free(t->model);
		free(t);
	}
	free(s->targets);
	free(s->scratch_findings);
	db_close(s->db);
	free(s->path);
	free(s);
}

int
store_engine_is_postgres(const struct store *s)
{
	return db_engine(s->db) == DB_POSTGRES;
}

void
store_bind_text(struct db_stmt *st, int i, const char *v)
{
	db_bind_text(st, i, v);
}

static void
bind_opt_real(struct db_stmt *st, int i, double v)
{
	if (v >= 0)
		db_bind_double(st, i, v);
	else
		db_bind_null(st, i);
}

/* A prepared writer statement, reset and cleared. */
static struct db_stmt *
stmt(struct store *s, enum stmt which)
{
	struct db_stmt *st = s->stmt[which];
	db_reset(st);
	return st;
}

/* Run the INSERT ... RETURNING id st (bound): 0 with the new row's id in
 * *id, or -1. */
static int
insert(struct db_stmt *st, int64_t *id)
{
	if (db_step(st) != DB_ROW)
		return -1;
	*id = db_column_int64(st, 0);
	return db_step(st) == DB_DONE ? 0 : -1;
}

/*
 * The cached row of relay/model, creating it (or updating its api) the first
 * time. NULL on a database error.
 */
static struct stored_target *
target_get(struct store *s, const char *relay, const char *model, const char *api)
{
	for (size_t i = 0; i < s->n_targets; i++) {
		struct stored_target *t = s->targets[i];
		if (strcmp(t->relay, relay) == 0 && strcmp(t->model, model) == 0)
			return t;
	}
	int64_t id = 0;
	struct db_stmt *st = stmt(s, STMT_TARGET_FIND);
	db_bind_text(st, 1, relay);
	db_bind_text(st, 2, model);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		id = db_column_int64(st, 0);
		const char *old = db_column_text(st, 1);
		int same = old && api && strcmp(old, api) == 0;
		db_reset(st);
		if (api != NULL && !same) {
			st = stmt(s, STMT_TARGET_API);
			db_bind_text(st, 1, api);
			db_bind_int64(st, 2, id);
			if (db_step(st) != DB_DONE)
				return NULL;
		}
	} else if (rc == DB_DONE) {
		db_reset(st);
		st = stmt(s, STMT_TARGET_INSERT);
		db_bind_text(st, 1, relay);
		db_bind_text(st, 2, model);
		db_bind_text(st, 3, api ? api : "openai");
		if (insert(st, &id) != 0)
			return NULL;
	} else {
		return NULL;
	}
	struct stored_target *t = xcalloc(1, sizeof *t);
	t->id = id;
	t->relay = xstrdup(relay);
	t->model = xstrdup(model);
	s->targets = xrealloc(s->targets, (s->n_targets + 1) * sizeof *s->targets);
	s->targets[s->n_targets++] = t;
	return t;
}

struct stored_target *
store_target(struct store *s, const char *relay, const char *model, const char *api)
{
	return target_get(s, relay, model, api);
}

void
store_count_errors(const struct audit_run *run, long counts[ERR__COUNT])
{
	memset(counts, 0, ERR__COUNT * sizeof counts[0]);
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o == NULL)
			continue;
		int e = (int)o->error;
		if (e < 0 || e >= ERR__COUNT)
			e = ERR_NETWORK;
		counts[e]++;
	}
}

static int
save_observation(struct store *s, int64_t run_id, const struct audit_item *it)
{
	const struct observation *o = it->obs;
	struct db_stmt *st = stmt(s, STMT_INSERT_OBS);
	int i = 1;
	db_bind_int64(st, i++, run_id);
	store_bind_text(st, i++, it->probe->id);
	db_bind_int64(st, i++, it->sample);
	db_bind_int64(st, i++, o->started_ms);
	db_bind_int64(st, i++, o->http_status);
	store_bind_text(st, i++, error_class_name(o->error));
	store_bind_text(st, i++, o->error_detail);
	db_bind_count(st, i++, o->dns_us);
	db_bind_count(st, i++, o->connect_us);
	db_bind_count(st, i++, o->tls_us);
	db_bind_count(st, i++, o->ttfb_us);
	db_bind_count(st, i++, o->ttft_us);
	db_bind_count(st, i++, o->total_us);
	db_bind_int64(st, i++, (int64_t)o->n_chunks);
	if (o->n_chunks > 0)
		db_bind_blob(st, i++, o->chunk_us, o->n_chunks * sizeof *o->chunk_us);
	else
		db_bind_null(st, i++);
	db_bind_count(st, i++, o->prompt_tokens);
	db_bind_count(st, i++, o->completion_tokens);
	db_bind_count(st, i++, o->total_tokens);
	db_bind_count(st, i++, o->cached_tokens);
	store_bind_text(st, i++, o->model);
	store_bind_text(st, i++, o->id);
	store_bind_text(st, i++, o->system_fingerprint);
	store_bind_text(st, i++, o->finish_reason);
	store_bind_text(st, i++, o->text);
	db_bind_int64(st, i++, o->text_truncated);
	db_bind_count(st, i++, o->retry_after_s);
	store_bind_text(st, i++, o->ratelimit_remaining);
	store_bind_text(st, i++, o->request_id);
	db_bind_count(st, i++, o->reasoning_tokens);
	return db_step(st) == DB_DONE ? 0 : -1;
}

static int
save_rollups(struct store *s, int64_t target, int64_t at_ms, const struct assessment *a,
             const long errors[ERR__COUNT])
{
	/* Whole ms and tokens/s: integral REALs are stored as small integers. */
	double ttft = a->ttft_ms >= 0 ? (double)(int64_t)(a->ttft_ms + 0.5) : -1;
	double tps = a->tokens_per_s >= 0 ? (double)(int64_t)(a->tokens_per_s + 0.5) : -1;
	static const enum stmt upserts[STORE__RES] = {STMT_ROLLUP_MINUTE, STMT_ROLLUP_HOUR,
	                                              STMT_ROLLUP_DAY};
	for (int res = 0; res < STORE__RES; res++) {
		int64_t bucket = at_ms / store_resolution_ms((enum store_resolution)res);
		struct db_stmt *st = stmt(s, upserts[res]);
		db_bind_int64(st, 1, target);
		db_bind_int64(st, 2, bucket);
		db_bind_int64(st, 3, a->requests);
		db_bind_int64(st, 4, a->ok_requests);
		db_bind_int64(st, 5, a->tokens_spent);
		db_bind_int64(st, 6, ttft >= 0);
		db_bind_double(st, 7, ttft >= 0 ? ttft : 0);
		db_bind_double(st, 8, ttft >= 0 ? ttft * ttft : 0);
		db_bind_int64(st, 9, tps >= 0);
		db_bind_double(st, 10, tps >= 0 ? tps : 0);
		db_bind_double(st, 11, tps >= 0 ? tps * tps : 0);
		if (db_step(st) != DB_DONE)
			return -1;
		for (int e = 1; e < ERR__COUNT; e++) {
			if (errors[e] == 0)
				continue;
			st = stmt(s, STMT_ROLLUP_ERROR);
			db_bind_int64(st, 1, res);
			db_bind_int64(st, 2, target);
			db_bind_int64(st, 3, bucket);
			db_bind_text(st, 4, error_class_name((enum error_class)e));
			db_bind_int64(st, 5, errors[e]);
			if (db_step(st) != DB_DONE)
				return -1;
		}
		for (int k = 0; a->origin_note != NULL && k < ORIGIN__COUNT; k++) {
			if (a->origin_counts[k] <= 0)
				continue;
			st = stmt(s, STMT_ROLLUP_ORIGIN);
			db_bind_int64(st, 1, res);
			db_bind_int64(st, 2, target);
			db_bind_int64(st, 3, bucket);
			db_bind_text(st, 4, origin_backend_name((enum origin_backend)k));
			db_bind_int64(st, 5, a->origin_counts[k]);
			if (db_step(st) != DB_DONE)
				return -1;
		}
	}
	return 0;
}

/* The segment the timeline decided: a new row, or the open one brought up
 * to date (a new row when retention removed it after a long silence). */
static int
save_segment(struct store *s, int64_t target, const struct timeline_segment *seg, int64_t *id)
{
	struct db_stmt *st;
	if (seg->id != 0) {
		st = stmt(s, STMT_SEGMENT_UPDATE);
		db_bind_int64(st, 1, seg->last_ms);
		db_bind_int64(st, 2, seg->runs);
		store_bind_text(st, 3, seg->reason);
		store_bind_text(st, 4, seg->findings_json);
		db_bind_int64(st, 5, seg->id);
		if (db_step(st) != DB_DONE)
			return -1;
		if (db_changes(st) > 0) {
			*id = seg->id;
			return 0;
		}
	}
	st = stmt(s, STMT_SEGMENT_INSERT);
	db_bind_int64(st, 1, target);
	db_bind_int64(st, 2, seg->first_ms);
	db_bind_int64(st, 3, seg->last_ms);
	db_bind_int64(st, 4, seg->runs);
	store_bind_text(st, 5, seg->verdict);
	store_bind_text(st, 6, seg->classes);
	store_bind_text(st, 7, seg->reason);
	store_bind_text(st, 8, seg->findings_json);
	return insert(st, id);
}

/* An incident the timeline opened (a new row), extended or resolved. */
static int
save_incident(struct store *s, int64_t target, const struct timeline_incident *inc, int64_t *id)
{
	struct db_stmt *st;
	if (inc->id != 0) {
		st = stmt(s, STMT_INCIDENT_UPDATE);
		db_bind_int64(st, 1, inc->failed_runs);
		db_bind_count(st, 2, inc->resolved_ms != 0 ? inc->resolved_ms : -1);
		db_bind_int64(st, 3, inc->id);
		*id = inc->id;
		return db_step(st) == DB_DONE ? 0 : -1;
	}
	st = stmt(s, STMT_INCIDENT_INSERT);
	db_bind_int64(st, 1, target);
	store_bind_text(st, 2, inc->kind);
	db_bind_int64(st, 3, inc->opened_ms);
	store_bind_text(st, 4, inc->cause);
	store_bind_text(st, 5, inc->detail);
	db_bind_int64(st, 6, inc->failed_runs);
	return insert(st, id);
}

/* An e-process's state as a JSON array (owned; NULL when out of memory). */
static char *
wealth_json(const struct eprocess *e)
{
	double state[EVALUE_STATE];
	eprocess_state(e, state);
	json_t *a = json_array();
	for (int i = 0; i < EVALUE_STATE; i++)
		json_array_append_new(a, json_real(state[i]));
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

static int
save_evidence(struct store *s, int64_t target, const struct ledger_evidence *ev)
{
	char *conv = wealth_json(&ev->conv), *lim = wealth_json(&ev->lim);
	int rc = -1;
	if (conv != NULL && lim != NULL) {
		struct db_stmt *st = stmt(s, STMT_LEDGER_EVIDENCE);
		db_bind_int64(st, 1, target);
		store_bind_text(st, 2, class_name(ev->cls));
		store_bind_text(st, 3, verdict_name((enum verdict)ev->level));
		db_bind_int64(st, 4, ev->since_ms);
		db_bind_int64(st, 5, ev->decided_ms);
		db_bind_int64(st, 6, ev->conv.updates);
		store_bind_text(st, 7, conv);
		store_bind_text(st, 8, lim);
		rc = db_step(st) == DB_DONE ? 0 : -1;
	}
	free(conv);
	free(lim);
	return rc;
}

/* The ledger's record of the run and the shown findings it replaced; run
 * records older than two windows are trimmed as we go. */
static int
save_ledger(struct store *s, int64_t target, const struct ledger_entry *e)
{
	struct db_stmt *st = stmt(s, STMT_LEDGER_RUN);
	db_bind_int64(st, 1, target);
	db_bind_int64(st, 2, e->at_ms);
	db_bind_int64(st, 3, e->misbehaving);
	db_bind_int64(st, 4, e->suspect);
	if (db_step(st) != DB_DONE)
		return -1;
	for (size_t i = 0; i < e->n_shown; i++) {
		const struct ledger_shown *sh = &e->shown[i];
		st = stmt(s, STMT_LEDGER_SHOWN);
		db_bind_int64(st, 1, target);
		store_bind_text(st, 2, class_name(sh->cls));
		db_bind_int64(st, 3, sh->at_ms);
		db_bind_int64(st, 4, sh->convicts);
		db_bind_double(st, 5, sh->confidence);
		db_bind_double(st, 6, sh->p_adjusted);
		store_bind_text(st, 7, sh->expected ? sh->expected : "");
		store_bind_text(st, 8, sh->observed ? sh->observed : "");
		store_bind_text(st, 9, sh->summary ? sh->summary : "");
		store_bind_text(st, 10, sh->probe ? sh->probe : "");
		store_bind_text(st, 11, sh->served);
		if (db_step(st) != DB_DONE)
			return -1;
	}
	for (size_t i = 0; i < e->n_evidence; i++)
		if (save_evidence(s, target, &e->evidence[i]) != 0)
			return -1;
	st = stmt(s, STMT_LEDGER_TRIM);
	db_bind_int64(st, 1, target);
	db_bind_int64(st, 2, e->at_ms - STORE_LEDGER_KEEP_MS);
	return db_step(st) == DB_DONE ? 0 : -1;
}

const char *
store_last_error(const struct store *s)
{
	return s->last_error;
}

int64_t
store_save_run(struct store *s, const struct audit_run *run, const struct assessment *a,
               const struct timeline_change *change, const struct ledger_entry *entry,
               struct store_ids *ids)
{
	char err[512];
	struct store_ids scratch;
	if (ids == NULL)
		ids = &scratch;
	memset(ids, 0, sizeof *ids);
	if (s->readonly) {
		snprintf(s->last_error, sizeof s->last_error, "the database was opened read-only");
		return -1;
	}
	if (store_begin(s, err, sizeof err) != 0) {
		snprintf(s->last_error, sizeof s->last_error, "%s", err);
		return -1;
	}
	json_t *j = assessment_to_json(a);
	free(s->scratch_findings);
	s->scratch_findings = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
	json_decref(j);
	if (s->scratch_findings == NULL)
		s->scratch_findings = xstrdup("[]");
	const char *findings = s->scratch_findings;
	long errors[ERR__COUNT];
	store_count_errors(run, errors);
	struct stored_target *t =
	    target_get(s, run->target.relay, run->target.model, api_name(run->target.api));
	if (t == NULL)
		goto fail;
	struct db_stmt *st = stmt(s, STMT_INSERT_RUN);
	db_bind_int64(st, 1, t->id);
	db_bind_int64(st, 2, run->started_ms);
	db_bind_int64(st, 3, run->finished_ms);
	store_bind_text(st, 4, verdict_name(a->verdict));
	store_bind_text(st, 5, a->reason ? a->reason : "");
	db_bind_int64(st, 6, a->tokens_spent);
	db_bind_int64(st, 7, a->requests);
	db_bind_int64(st, 8, a->ok_requests);
	bind_opt_real(st, 9, a->ttft_ms);
	bind_opt_real(st, 10, a->tokens_per_s);
	store_bind_text(st, 11, findings);
	bind_opt_real(st, 12, a->cost_usd);
	if (insert(st, &ids->run_id) != 0)
		goto fail;
	for (size_t i = 0; i < run->n_items; i++)
		if (run->items[i].obs != NULL &&
		    save_observation(s, ids->run_id, &run->items[i]) != 0)
			goto fail;
	if (save_rollups(s, t->id, run->started_ms, a, errors) != 0)
		goto fail;
	if (a->listing != LISTING_NOT_ASKED) {
		st = stmt(s, STMT_TARGET_LISTING);
		store_bind_text(st, 1, listing_state_name((enum listing_state)a->listing));
		db_bind_int64(st, 2, a->listing_count);
		store_bind_text(st, 3, a->listing_note);
		db_bind_int64(st, 4, run->finished_ms);
		db_bind_int64(st, 5, t->id);
		if (db_step(st) != DB_DONE)
			goto fail;
	}
	if (change != NULL) {
		if (save_segment(s, t->id, &change->segment, &ids->segment_id) != 0)
			goto fail;
		for (size_t i = 0; i < change->n_incidents && i < 2; i++)
			if (save_incident(s, t->id, &change->incidents[i], &ids->incident_ids[i]) !=
			    0)
				goto fail;
	}
	if (entry != NULL && save_ledger(s, t->id, entry) != 0)
		goto fail;
	if (run->target.canary != NULL &&
	    store_canary_saved(s, t->id, ids->run_id, run->target.canary) != 0)
		goto fail;
	if (db_commit(s->db) != 0)
		goto fail;
	return ids->run_id;
fail:
	snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	db_rollback(s->db);
	/* a target row created in the rolled-back transaction is gone too */
	store_forget_targets(s);
	memset(ids, 0, sizeof *ids);
	return -1;
}

void
store_forget_targets(struct store *s)
{
	for (size_t i = 0; i < s->n_targets; i++) {
		struct stored_target *t = s->targets[i];
		free(t->relay);
		free(t->model);
		free(t);
	}
	s->n_targets = 0;
}

/* The size figures, per engine: SQLite's pages, PostgreSQL's database size
 * (its WAL is the cluster's, not this database's: 0). */
static const char *const stats_sql[2] = {
    [DB_SQLITE] = "SELECT (SELECT page_count FROM pragma_page_count())"
                  " * (SELECT page_size FROM pragma_page_size()),"
                  " (SELECT freelist_count FROM pragma_freelist_count())"
                  " * (SELECT page_size FROM pragma_page_size()),"
                  " (SELECT user_version FROM pragma_user_version()),"
                  " (SELECT count(*) FROM targets)",
    [DB_POSTGRES] = "SELECT pg_database_size(current_database()), 0,"
                    " (SELECT max(version) FROM assay_schema), (SELECT count(*) FROM targets)",
};

int
store_stats(struct store *s, struct store_stats *out)
{
	memset(out, 0, sizeof *out);
	out->engine = db_engine(s->db) == DB_POSTGRES ? "postgresql" : "sqlite";
	struct db_stmt *st = db_prepare(s->db, stats_sql[db_engine(s->db)]);
	if (st == NULL)
		return -1;
	int rc = db_step(st);
	if (rc == DB_ROW) {
		out->file_bytes = db_column_int64(st, 0);
		out->free_bytes = db_column_int64(st, 1);
		out->schema_version = (int)db_column_int64(st, 2);
		out->targets = (long)db_column_int64(st, 3);
	}
	db_finalize(st);
	if (db_engine(s->db) == DB_SQLITE) {
		char *wal = xasprintf("%s-wal", s->path);
		struct stat sb;
		if (stat(wal, &sb) == 0)
			out->wal_bytes = (int64_t)sb.st_size;
		free(wal);
	}
	return rc == DB_ROW ? 0 : -1;
}
