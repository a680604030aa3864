/*
 * store: SQLite schema, migrations and the statements the pipeline uses.
 *
 * Migrations: each entry of `migrations` moves user_version from its index to
 * index + 1, inside one transaction, so a database is always at a version
 * this build knows or is refused (never half-migrated).
 */
#include "storage/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/util.h"

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
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

struct store {
	sqlite3 *db;
	int readonly;
	sqlite3_stmt *insert_run;
	sqlite3_stmt *insert_obs;
};

int
store_schema_version(void)
{
	return SCHEMA_VERSION;
}

static int
exec(struct store *s, const char *sql, char *err, size_t errlen)
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
		if (exec(s, "BEGIN IMMEDIATE", err, errlen) != 0)
			return -1;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (exec(s, migrations[v], e2, sizeof e2) != 0 || exec(s, sql, e2, sizeof e2) != 0) {
			snprintf(err, errlen, "migration to schema %d failed: %s", v + 1, e2);
			exec(s, "ROLLBACK", e2, sizeof e2);
			return -1;
		}
		if (exec(s, "COMMIT", err, errlen) != 0)
			return -1;
	}
	return 0;
}

struct store *
store_open(const char *path, int readonly, char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->readonly = readonly;
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database '%s': %s", path,
		         s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto err;
	}
	sqlite3_busy_timeout(s->db, 5000);
	char e2[512];
	if (!readonly) {
		if (exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
		            "PRAGMA foreign_keys = ON;",
		         e2, sizeof e2) != 0) {
			snprintf(err, errlen, "cannot set up database '%s': %s", path, e2);
			goto err;
		}
		if (migrate(s, e2, sizeof e2) != 0) {
			snprintf(err, errlen, "database '%s': %s", path, e2);
			goto err;
		}
		const char *ins_run =
		    "INSERT INTO runs(relay, model, started_ms, finished_ms, verdict, reason,"
		    " tokens_spent, requests, ok_requests, ttft_ms, tokens_per_s, findings)"
		    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
		const char *ins_obs =
		    "INSERT INTO observations(run_id, relay, model, probe, sample, started_ms,"
		    " http_status, error_class, error_detail, dns_us, connect_us, tls_us, ttfb_us,"
		    " ttft_us, total_us, chunks, chunk_us, prompt_tokens, completion_tokens,"
		    " total_tokens, cached_tokens, model_reported, response_id, system_fingerprint,"
		    " finish_reason, text, text_truncated, retry_after_s, ratelimit_remaining,"
		    " request_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
		if (sqlite3_prepare_v2(s->db, ins_run, -1, &s->insert_run, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(s->db, ins_obs, -1, &s->insert_obs, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "database '%s': %s", path, sqlite3_errmsg(s->db));
			goto err;
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
	sqlite3_finalize(s->insert_run);
	sqlite3_finalize(s->insert_obs);
	sqlite3_close(s->db);
	free(s);
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
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

static int
save_observation(struct store *s, int64_t run_id, const struct audit_run *run,
                 const struct audit_item *it)
{
	const struct observation *o = it->obs;
	sqlite3_stmt *st = s->insert_obs;
	int i = 1;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_int64(st, i++, run_id);
	bind_text(st, i++, run->target.relay);
	bind_text(st, i++, run->target.model);
	bind_text(st, i++, it->probe->id);
	sqlite3_bind_int(st, i++, it->sample);
	sqlite3_bind_int64(st, i++, o->started_ms);
	sqlite3_bind_int(st, i++, o->http_status);
	bind_text(st, i++, error_class_name(o->error));
	bind_text(st, i++, o->error_detail);
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
	bind_text(st, i++, o->model);
	bind_text(st, i++, o->id);
	bind_text(st, i++, o->system_fingerprint);
	bind_text(st, i++, o->finish_reason);
	bind_text(st, i++, o->text);
	sqlite3_bind_int(st, i++, o->text_truncated);
	bind_opt_int(st, i++, o->retry_after_s);
	bind_text(st, i++, o->ratelimit_remaining);
	bind_text(st, i++, o->request_id);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int64_t
store_save_run(struct store *s, const struct audit_run *run, const struct assessment *a)
{
	char err[512];
	if (s->readonly || exec(s, "BEGIN IMMEDIATE", err, sizeof err) != 0)
		return -1;
	json_t *j = assessment_to_json(a);
	char *findings = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
	json_decref(j);
	sqlite3_stmt *st = s->insert_run;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	bind_text(st, 1, run->target.relay);
	bind_text(st, 2, run->target.model);
	sqlite3_bind_int64(st, 3, run->started_ms);
	sqlite3_bind_int64(st, 4, run->finished_ms);
	bind_text(st, 5, verdict_name(a->verdict));
	bind_text(st, 6, a->reason ? a->reason : "");
	sqlite3_bind_int64(st, 7, a->tokens_spent);
	sqlite3_bind_int(st, 8, a->requests);
	sqlite3_bind_int(st, 9, a->ok_requests);
	bind_opt_real(st, 10, a->ttft_ms);
	bind_opt_real(st, 11, a->tokens_per_s);
	bind_text(st, 12, findings ? findings : "[]");
	free(findings);
	int64_t run_id = -1;
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	run_id = sqlite3_last_insert_rowid(s->db);
	for (size_t i = 0; i < run->n_items; i++)
		if (run->items[i].obs != NULL && save_observation(s, run_id, run, &run->items[i]) != 0)
			goto fail;
	if (exec(s, "COMMIT", err, sizeof err) != 0)
		goto fail;
	return run_id;
fail:
	fprintf(stderr, "assay: cannot save run: %s\n", sqlite3_errmsg(s->db));
	exec(s, "ROLLBACK", err, sizeof err);
	return -1;
}

int
store_each_summary(struct store *s, int64_t window_ms, store_summary_cb cb, void *arg)
{
	const char *sql =
	    "SELECT r.relay, r.model, r.verdict, r.reason, r.findings, r.started_ms,"
	    " (SELECT count(*) FROM runs x WHERE x.relay = r.relay AND x.model = r.model),"
	    " (SELECT coalesce(sum(requests), 0) FROM runs x WHERE x.relay = r.relay"
	    "   AND x.model = r.model AND x.started_ms >= ?1),"
	    " (SELECT coalesce(sum(ok_requests), 0) FROM runs x WHERE x.relay = r.relay"
	    "   AND x.model = r.model AND x.started_ms >= ?1),"
	    " r.ttft_ms, r.tokens_per_s"
	    " FROM runs r WHERE r.id = (SELECT max(id) FROM runs y"
	    "   WHERE y.relay = r.relay AND y.model = r.model)"
	    " ORDER BY r.relay, r.model";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, wall_ms() - window_ms);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_summary sum = {
		    .relay = (const char *)sqlite3_column_text(st, 0),
		    .model = (const char *)sqlite3_column_text(st, 1),
		    .verdict = (const char *)sqlite3_column_text(st, 2),
		    .reason = (const char *)sqlite3_column_text(st, 3),
		    .findings_json = (const char *)sqlite3_column_text(st, 4),
		    .last_run_ms = sqlite3_column_int64(st, 5),
		    .runs = (long)sqlite3_column_int64(st, 6),
		    .requests = (long)sqlite3_column_int64(st, 7),
		    .ok_requests = (long)sqlite3_column_int64(st, 8),
		    .ttft_ms = sqlite3_column_type(st, 9) == SQLITE_NULL ? -1
		                                                        : sqlite3_column_double(st, 9),
		    .tokens_per_s = sqlite3_column_type(st, 10) == SQLITE_NULL
		                        ? -1
		                        : sqlite3_column_double(st, 10),
		};
		cb(&sum, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

long
store_prune_observations(struct store *s, int64_t cutoff_ms)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM observations WHERE started_ms < ?", -1, &st,
	                       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, cutoff_ms);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? (long)sqlite3_changes(s->db) : -1;
}
