/*
 * store: SQLite schema, migrations and the statements the pipeline writes
 * with.
 *
 * Migrations: each entry of `migrations` moves user_version from its index to
 * index + 1, inside one transaction, so a database is always at a version
 * this build knows or is refused (never half-migrated).
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
#include "scoring/listing.h"
#include "scoring/origin.h"

_Static_assert(ORIGIN__COUNT <= STORE_ORIGINS, "a bucket counts every backend");

/* How long a busy database is waited for: at open (migrations, the write
 * check), then for each write. */
#define STORE_OPEN_BUSY_MS 5000
#define STORE_WRITE_BUSY_MS 250

static const char *const migrations[] = {
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
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

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
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
user_version(struct store *s)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
migrate(struct store *s, char *err, size_t errlen)
{
	int v = user_version(s);
	if (v < 0) {
		snprintf(err, errlen, "cannot read the schema version: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema %d is newer than this assay (%d)", v,
		         SCHEMA_VERSION);
		return -1;
	}
	for (; v < SCHEMA_VERSION; v++) {
		char sql[64];
		char e2[256];
		if (store_exec(s, "BEGIN IMMEDIATE", err, errlen) != 0)
			return -1;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (store_exec(s, migrations[v], e2, sizeof e2) != 0 ||
		    store_exec(s, sql, e2, sizeof e2) != 0) {
			snprintf(err, errlen, "migration to schema %d failed: %s", v + 1, e2);
			store_exec(s, "ROLLBACK", e2, sizeof e2);
			return -1;
		}
		if (store_exec(s, "COMMIT", err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* Statements the writer keeps prepared, in enum stmt order. */
static const char *const writer_sql[STMT__COUNT] = {
    [STMT_INSERT_RUN] = "INSERT INTO runs(target, started_ms, finished_ms, verdict, reason,"
                        " tokens_spent, requests, ok_requests, ttft_ms, tokens_per_s, findings,"
                        " cost_usd)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    [STMT_INSERT_OBS] =
        "INSERT INTO observations(run_id, probe, sample, started_ms,"
        " http_status, error_class, error_detail, dns_us, connect_us, tls_us, ttfb_us,"
        " ttft_us, total_us, chunks, chunk_us, prompt_tokens, completion_tokens,"
        " total_tokens, cached_tokens, model_reported, response_id, system_fingerprint,"
        " finish_reason, text, text_truncated, retry_after_s, ratelimit_remaining,"
        " request_id, reasoning_tokens)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
#define ROLLUP_UPSERT(table)                                                                       \
	"INSERT INTO " table "(target, bucket, runs, requests, ok, tokens, ttft_n, ttft_sum,"      \
	" ttft_sq, tps_n, tps_sum, tps_sq) VALUES (?,?,1,?,?,?,?,?,?,?,?,?)"                       \
	" ON CONFLICT(target, bucket) DO UPDATE SET runs = runs + 1,"                              \
	" requests = requests + excluded.requests, ok = ok + excluded.ok,"                         \
	" tokens = tokens + excluded.tokens, ttft_n = ttft_n + excluded.ttft_n,"                   \
	" ttft_sum = ttft_sum + excluded.ttft_sum, ttft_sq = ttft_sq + excluded.ttft_sq,"          \
	" tps_n = tps_n + excluded.tps_n, tps_sum = tps_sum + excluded.tps_sum,"                   \
	" tps_sq = tps_sq + excluded.tps_sq"
    [STMT_ROLLUP_MINUTE] = ROLLUP_UPSERT("rollup_minute"),
    [STMT_ROLLUP_HOUR] = ROLLUP_UPSERT("rollup_hour"),
    [STMT_ROLLUP_DAY] = ROLLUP_UPSERT("rollup_day"),
#undef ROLLUP_UPSERT
    [STMT_ROLLUP_ORIGIN] = "INSERT INTO rollup_origin(res, target, bucket, backend, n)"
                           " VALUES (?,?,?,?,?) ON CONFLICT(res, target, bucket, backend)"
                           " DO UPDATE SET n = n + excluded.n",
    [STMT_ROLLUP_ERROR] = "INSERT INTO rollup_errors(res, target, bucket, class, n)"
                          " VALUES (?,?,?,?,?) ON CONFLICT(res, target, bucket, class)"
                          " DO UPDATE SET n = n + excluded.n",
    [STMT_TARGET_FIND] = "SELECT id, api FROM targets WHERE relay = ? AND model = ?",
    [STMT_TARGET_INSERT] = "INSERT INTO targets(relay, model, api) VALUES (?,?,?)",
    [STMT_TARGET_API] = "UPDATE targets SET api = ? WHERE id = ?",
    [STMT_SEGMENT_INSERT] = "INSERT INTO verdicts(target, first_ms, last_ms, runs, verdict,"
                            " classes, reason, findings) VALUES (?,?,?,?,?,?,?,?)",
    [STMT_SEGMENT_UPDATE] = "UPDATE verdicts SET last_ms = ?, runs = ?, reason = ?, findings = ?"
                            " WHERE id = ?",
    [STMT_INCIDENT_INSERT] = "INSERT INTO incidents(target, kind, opened_ms, cause, detail,"
                             " failed_runs) VALUES (?,?,?,?,?,?)",
    [STMT_INCIDENT_UPDATE] = "UPDATE incidents SET failed_runs = ?, resolved_ms = ? WHERE id = ?",
    [STMT_LEDGER_RUN] = "INSERT INTO ledger_runs(target, at_ms, misbehaving, suspect)"
                        " VALUES (?,?,?,?)",
    [STMT_LEDGER_SHOWN] =
        "INSERT INTO ledger_shown(target, class, at_ms, convicts, confidence, p_adjusted,"
        " expected, observed, summary, probe, served) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT(target, class) DO UPDATE SET at_ms = excluded.at_ms,"
        " convicts = excluded.convicts, confidence = excluded.confidence,"
        " p_adjusted = excluded.p_adjusted, expected = excluded.expected,"
        " observed = excluded.observed, summary = excluded.summary, probe = excluded.probe,"
        " served = excluded.served",
    [STMT_LEDGER_TRIM] = "DELETE FROM ledger_runs WHERE target = ? AND at_ms < ?",
    [STMT_LEDGER_EVIDENCE] =
        "INSERT INTO ledger_evidence(target, class, level, since_ms, decided_ms, updates, conv,"
        " lim) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(target, class) DO UPDATE SET"
        " level = excluded.level, since_ms = excluded.since_ms,"
        " decided_ms = excluded.decided_ms, updates = excluded.updates, conv = excluded.conv,"
        " lim = excluded.lim",
    [STMT_TARGET_LISTING] = "UPDATE targets SET listed = ?, listed_models = ?, listed_note = ?,"
                            " listed_ms = ? WHERE id = ?",
};

struct store *
store_open(const char *path, int readonly, char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->readonly = readonly;
	s->path = xstrdup(path);
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database '%s': %s", path,
		         s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto err;
	}
	sqlite3_busy_timeout(s->db, STORE_OPEN_BUSY_MS);
	char e2[512];
	if (!readonly) {
		if (store_exec(s,
		               "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
		               "PRAGMA foreign_keys = ON;",
		               e2, sizeof e2) != 0) {
			snprintf(err, errlen, "cannot set up database '%s': %s", path, e2);
			goto err;
		}
		if (migrate(s, e2, sizeof e2) != 0) {
			snprintf(err, errlen, "database '%s': %s", path, e2);
			goto err;
		}
		/* a file or folder we may not write opens read-only without a
		 * word: every run would then be lost, one log line each */
		char version[96];
		snprintf(version, sizeof version,
		         "BEGIN IMMEDIATE; PRAGMA user_version = %d; COMMIT;", user_version(s));
		if (sqlite3_db_readonly(s->db, "main") == 1 ||
		    store_exec(s, version, e2, sizeof e2) != 0) {
			if (sqlite3_db_readonly(s->db, "main") == 1)
				snprintf(e2, sizeof e2, "it is read-only");
			snprintf(
			    err, errlen,
			    "cannot write database '%s': %s (check the permissions of the file "
			    "and its folder, and that no other process holds it)",
			    path, e2);
			goto err;
		}
		/* from now on a busy database is not waited for long: the event loop
		 * would stall; a run that cannot be written waits in serve's queue
		 * and is retried (cli/cmd_serve.c) */
		sqlite3_busy_timeout(s->db, STORE_WRITE_BUSY_MS);
		for (int i = 0; i < STMT__COUNT; i++) {
			if (sqlite3_prepare_v3(s->db, writer_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
			                       &s->stmt[i], NULL) != SQLITE_OK) {
				snprintf(err, errlen, "database '%s': %s", path,
				         sqlite3_errmsg(s->db));
				goto err;
			}
		}
	} else if (user_version(s) != SCHEMA_VERSION) {
		snprintf(err, errlen, "database '%s' has schema %d, expected %d", path,
		         user_version(s), SCHEMA_VERSION);
		goto err;
	}
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
	for (int i = 0; i < STMT__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	for (size_t i = 0; i < sizeof s->retention / sizeof s->retention[0]; i++)
		sqlite3_finalize(s->retention[i]);
	for (size_t i = 0; i < s->n_targets; i++) {
		struct stored_target *t = s->targets[i];
		free(t->relay);
		free(t->model);
		free(t);
	}
	free(s->targets);
	free(s->scratch_findings);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

void
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void
bind_opt_int(sqlite3_stmt *st, int i, int64_t v)
{
	if (v >= 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static void
bind_opt_real(sqlite3_stmt *st, int i, double v)
{
	if (v >= 0)
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* A prepared writer statement, reset and cleared. */
static sqlite3_stmt *
stmt(struct store *s, enum stmt which)
{
	sqlite3_stmt *st = s->stmt[which];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Run the INSERT st (bound): 0 with the new row's id in *id, or -1. */
static int
insert(struct store *s, sqlite3_stmt *st, int64_t *id)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
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
	sqlite3_stmt *st = stmt(s, STMT_TARGET_FIND);
	sqlite3_bind_text(st, 1, relay, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		const char *old = (const char *)sqlite3_column_text(st, 1);
		int same = old && api && strcmp(old, api) == 0;
		sqlite3_reset(st);
		if (api != NULL && !same) {
			st = stmt(s, STMT_TARGET_API);
			sqlite3_bind_text(st, 1, api, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, id);
			if (sqlite3_step(st) != SQLITE_DONE)
				return NULL;
		}
	} else if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		st = stmt(s, STMT_TARGET_INSERT);
		sqlite3_bind_text(st, 1, relay, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, api ? api : "openai", -1, SQLITE_STATIC);
		if (insert(s, st, &id) != 0)
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
	sqlite3_stmt *st = stmt(s, STMT_INSERT_OBS);
	int i = 1;
	sqlite3_bind_int64(st, i++, run_id);
	store_bind_text(st, i++, it->probe->id);
	sqlite3_bind_int(st, i++, it->sample);
	sqlite3_bind_int64(st, i++, o->started_ms);
	sqlite3_bind_int(st, i++, o->http_status);
	store_bind_text(st, i++, error_class_name(o->error));
	store_bind_text(st, i++, o->error_detail);
	bind_opt_int(st, i++, o->dns_us);
	bind_opt_int(st, i++, o->connect_us);
	bind_opt_int(st, i++, o->tls_us);
	bind_opt_int(st, i++, o->ttfb_us);
	bind_opt_int(st, i++, o->ttft_us);
	bind_opt_int(st, i++, o->total_us);
	sqlite3_bind_int64(st, i++, (int64_t)o->n_chunks);
	if (o->n_chunks > 0)
		sqlite3_bind_blob(st, i++, o->chunk_us, (int)(o->n_chunks * sizeof *o->chunk_us),
		                  SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i++);
	bind_opt_int(st, i++, o->prompt_tokens);
	bind_opt_int(st, i++, o->completion_tokens);
	bind_opt_int(st, i++, o->total_tokens);
	bind_opt_int(st, i++, o->cached_tokens);
	store_bind_text(st, i++, o->model);
	store_bind_text(st, i++, o->id);
	store_bind_text(st, i++, o->system_fingerprint);
	store_bind_text(st, i++, o->finish_reason);
	store_bind_text(st, i++, o->text);
	sqlite3_bind_int(st, i++, o->text_truncated);
	bind_opt_int(st, i++, o->retry_after_s);
	store_bind_text(st, i++, o->ratelimit_remaining);
	store_bind_text(st, i++, o->request_id);
	bind_opt_int(st, i++, o->reasoning_tokens);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
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
		sqlite3_stmt *st = stmt(s, upserts[res]);
		sqlite3_bind_int64(st, 1, target);
		sqlite3_bind_int64(st, 2, bucket);
		sqlite3_bind_int64(st, 3, a->requests);
		sqlite3_bind_int64(st, 4, a->ok_requests);
		sqlite3_bind_int64(st, 5, a->tokens_spent);
		sqlite3_bind_int(st, 6, ttft >= 0);
		sqlite3_bind_double(st, 7, ttft >= 0 ? ttft : 0);
		sqlite3_bind_double(st, 8, ttft >= 0 ? ttft * ttft : 0);
		sqlite3_bind_int(st, 9, tps >= 0);
		sqlite3_bind_double(st, 10, tps >= 0 ? tps : 0);
		sqlite3_bind_double(st, 11, tps >= 0 ? tps * tps : 0);
		if (sqlite3_step(st) != SQLITE_DONE)
			return -1;
		for (int e = 1; e < ERR__COUNT; e++) {
			if (errors[e] == 0)
				continue;
			st = stmt(s, STMT_ROLLUP_ERROR);
			sqlite3_bind_int(st, 1, res);
			sqlite3_bind_int64(st, 2, target);
			sqlite3_bind_int64(st, 3, bucket);
			sqlite3_bind_text(st, 4, error_class_name((enum error_class)e), -1,
			                  SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, errors[e]);
			if (sqlite3_step(st) != SQLITE_DONE)
				return -1;
		}
		for (int k = 0; a->origin_note != NULL && k < ORIGIN__COUNT; k++) {
			if (a->origin_counts[k] <= 0)
				continue;
			st = stmt(s, STMT_ROLLUP_ORIGIN);
			sqlite3_bind_int(st, 1, res);
			sqlite3_bind_int64(st, 2, target);
			sqlite3_bind_int64(st, 3, bucket);
			sqlite3_bind_text(st, 4, origin_backend_name((enum origin_backend)k), -1,
			                  SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, a->origin_counts[k]);
			if (sqlite3_step(st) != SQLITE_DONE)
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
	sqlite3_stmt *st;
	if (seg->id != 0) {
		st = stmt(s, STMT_SEGMENT_UPDATE);
		sqlite3_bind_int64(st, 1, seg->last_ms);
		sqlite3_bind_int64(st, 2, seg->runs);
		store_bind_text(st, 3, seg->reason);
		store_bind_text(st, 4, seg->findings_json);
		sqlite3_bind_int64(st, 5, seg->id);
		if (sqlite3_step(st) != SQLITE_DONE)
			return -1;
		if (sqlite3_changes(s->db) > 0) {
			*id = seg->id;
			return 0;
		}
	}
	st = stmt(s, STMT_SEGMENT_INSERT);
	sqlite3_bind_int64(st, 1, target);
	sqlite3_bind_int64(st, 2, seg->first_ms);
	sqlite3_bind_int64(st, 3, seg->last_ms);
	sqlite3_bind_int64(st, 4, seg->runs);
	store_bind_text(st, 5, seg->verdict);
	store_bind_text(st, 6, seg->classes);
	store_bind_text(st, 7, seg->reason);
	store_bind_text(st, 8, seg->findings_json);
	return insert(s, st, id);
}

/* An incident the timeline opened (a new row), extended or resolved. */
static int
save_incident(struct store *s, int64_t target, const struct timeline_incident *inc, int64_t *id)
{
	sqlite3_stmt *st;
	if (inc->id != 0) {
		st = stmt(s, STMT_INCIDENT_UPDATE);
		sqlite3_bind_int64(st, 1, inc->failed_runs);
		bind_opt_int(st, 2, inc->resolved_ms != 0 ? inc->resolved_ms : -1);
		sqlite3_bind_int64(st, 3, inc->id);
		*id = inc->id;
		return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	st = stmt(s, STMT_INCIDENT_INSERT);
	sqlite3_bind_int64(st, 1, target);
	store_bind_text(st, 2, inc->kind);
	sqlite3_bind_int64(st, 3, inc->opened_ms);
	store_bind_text(st, 4, inc->cause);
	store_bind_text(st, 5, inc->detail);
	sqlite3_bind_int64(st, 6, inc->failed_runs);
	return insert(s, st, id);
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
		sqlite3_stmt *st = stmt(s, STMT_LEDGER_EVIDENCE);
		sqlite3_bind_int64(st, 1, target);
		store_bind_text(st, 2, class_name(ev->cls));
		store_bind_text(st, 3, verdict_name((enum verdict)ev->level));
		sqlite3_bind_int64(st, 4, ev->since_ms);
		sqlite3_bind_int64(st, 5, ev->decided_ms);
		sqlite3_bind_int64(st, 6, ev->conv.updates);
		store_bind_text(st, 7, conv);
		store_bind_text(st, 8, lim);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
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
	sqlite3_stmt *st = stmt(s, STMT_LEDGER_RUN);
	sqlite3_bind_int64(st, 1, target);
	sqlite3_bind_int64(st, 2, e->at_ms);
	sqlite3_bind_int64(st, 3, e->misbehaving);
	sqlite3_bind_int64(st, 4, e->suspect);
	if (sqlite3_step(st) != SQLITE_DONE)
		return -1;
	for (size_t i = 0; i < e->n_shown; i++) {
		const struct ledger_shown *sh = &e->shown[i];
		st = stmt(s, STMT_LEDGER_SHOWN);
		sqlite3_bind_int64(st, 1, target);
		store_bind_text(st, 2, class_name(sh->cls));
		sqlite3_bind_int64(st, 3, sh->at_ms);
		sqlite3_bind_int(st, 4, sh->convicts);
		sqlite3_bind_double(st, 5, sh->confidence);
		sqlite3_bind_double(st, 6, sh->p_adjusted);
		store_bind_text(st, 7, sh->expected ? sh->expected : "");
		store_bind_text(st, 8, sh->observed ? sh->observed : "");
		store_bind_text(st, 9, sh->summary ? sh->summary : "");
		store_bind_text(st, 10, sh->probe ? sh->probe : "");
		store_bind_text(st, 11, sh->served);
		if (sqlite3_step(st) != SQLITE_DONE)
			return -1;
	}
	for (size_t i = 0; i < e->n_evidence; i++)
		if (save_evidence(s, target, &e->evidence[i]) != 0)
			return -1;
	st = stmt(s, STMT_LEDGER_TRIM);
	sqlite3_bind_int64(st, 1, target);
	sqlite3_bind_int64(st, 2, e->at_ms - STORE_LEDGER_KEEP_MS);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
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
	if (store_exec(s, "BEGIN IMMEDIATE", err, sizeof err) != 0) {
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
	sqlite3_stmt *st = stmt(s, STMT_INSERT_RUN);
	sqlite3_bind_int64(st, 1, t->id);
	sqlite3_bind_int64(st, 2, run->started_ms);
	sqlite3_bind_int64(st, 3, run->finished_ms);
	store_bind_text(st, 4, verdict_name(a->verdict));
	store_bind_text(st, 5, a->reason ? a->reason : "");
	sqlite3_bind_int64(st, 6, a->tokens_spent);
	sqlite3_bind_int(st, 7, a->requests);
	sqlite3_bind_int(st, 8, a->ok_requests);
	bind_opt_real(st, 9, a->ttft_ms);
	bind_opt_real(st, 10, a->tokens_per_s);
	store_bind_text(st, 11, findings);
	bind_opt_real(st, 12, a->cost_usd);
	if (insert(s, st, &ids->run_id) != 0)
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
		sqlite3_bind_int64(st, 2, a->listing_count);
		store_bind_text(st, 3, a->listing_note);
		sqlite3_bind_int64(st, 4, run->finished_ms);
		sqlite3_bind_int64(st, 5, t->id);
		if (sqlite3_step(st) != SQLITE_DONE)
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
	if (store_exec(s, "COMMIT", err, sizeof err) != 0)
		goto fail;
	return ids->run_id;
fail:
	snprintf(s->last_error, sizeof s->last_error, "%s", sqlite3_errmsg(s->db));
	store_exec(s, "ROLLBACK", err, sizeof err);
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

int
store_stats(struct store *s, struct store_stats *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st;
	const char *sql = "SELECT (SELECT page_count FROM pragma_page_count()),"
	                  " (SELECT page_size FROM pragma_page_size()),"
	                  " (SELECT freelist_count FROM pragma_freelist_count()),"
	                  " (SELECT user_version FROM pragma_user_version()),"
	                  " (SELECT count(*) FROM targets)";
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int64_t pages = sqlite3_column_int64(st, 0), size = sqlite3_column_int64(st, 1);
		out->file_bytes = pages * size;
		out->free_bytes = sqlite3_column_int64(st, 2) * size;
		out->schema_version = sqlite3_column_int(st, 3);
		out->targets = (long)sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	char *wal = xasprintf("%s-wal", s->path);
	struct stat sb;
	if (stat(wal, &sb) == 0)
		out->wal_bytes = (int64_t)sb.st_size;
	free(wal);
	return rc == SQLITE_ROW ? 0 : -1;
}
