/*
 * agents: probe agents in several regions writing to one shared store,
 * and the hub reading what they wrote (issue 20; schema 11's agent_runs,
 * agent_observations and agent_regions).
 *
 * An agent's role may do three things (store_add_agent grants them): read
 * the schema version and the region mapping, insert runs and observations
 * of its own region, and read back the id and region of its own runs (an
 * INSERT ... RETURNING id needs it). Row-level security (schema 11's
 * policies own_region) checks the region of every row against the role's
 * entry in agent_regions; a role with no entry inserts nothing. Everything
 * else (targets, runs, observations, the ledger, canaries' key digests,
 * settings) is not granted, so an agent reads none of it. SQLite has no
 * roles: there the region mapping is kept and nothing is enforced (one
 * machine, one file).
 *
 * Names that become SQL identifiers (roles) are checked against a strict
 * pattern before use; every value goes as a parameter.
 */
#include "storage/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

/* A role: lowercase letters, digits and '_', starting with a letter or
 * '_', at most 63 bytes (PostgreSQL's identifier length). */
static int
role_name_ok(const char *role)
{
	size_t n = role ? strlen(role) : 0;
	if (n == 0 || n > 63 || !(islower((unsigned char)role[0]) || role[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)role[i]) || isdigit((unsigned char)role[i]) ||
		      role[i] == '_'))
			return 0;
	return 1;
}

int
store_region_name_ok(const char *region)
{
	size_t n = region ? strlen(region) : 0;
	if (n == 0 || n > STORE_REGION_MAX || !isalnum((unsigned char)region[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)region[i]) || isdigit((unsigned char)region[i]) ||
		      region[i] == '-'))
			return 0;
	return 1;
}

int
store_add_agent(struct store *s, const char *role, const char *region, char *err, size_t n)
{
	if (!role_name_ok(role)) {
		snprintf(err, n,
		         "malformed role name (lowercase letters, digits and '_', at most 63)");
		return -1;
	}
	if (!store_region_name_ok(region)) {
		snprintf(err, n,
		         "malformed region name (lowercase letters, digits and '-', at most %d)",
		         STORE_REGION_MAX);
		return -1;
	}
	if (store_begin(s, err, n) != 0)
		return -1;
	if (db_engine(s->db) == DB_POSTGRES) {
		/* role is checked above: safe as an identifier */
		char sql[1024];
		snprintf(sql, sizeof sql,
		         "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles"
		         " WHERE rolname = '%s') THEN CREATE ROLE %s LOGIN; END IF; END $$;"
		         " GRANT USAGE ON SCHEMA public TO %s;"
		         " GRANT SELECT ON assay_schema, agent_regions TO %s;"
		         " GRANT INSERT ON agent_runs, agent_observations, agent_findings TO %s;"
		         " GRANT SELECT (id, region) ON agent_runs TO %s",
		         role, role, role, role, role, role);
		if (store_exec(s, sql, err, n) != 0)
			goto fail;
	}
	struct db_stmt *st = db_prepare(s->db, "INSERT INTO agent_regions(role, region)"
	                                       " VALUES ($1, $2) ON CONFLICT(role)"
	                                       " DO UPDATE SET region = excluded.region");
	if (st == NULL) {
		snprintf(err, n, "%s", db_errmsg(s->db));
		goto fail;
	}
	db_bind_text(st, 1, role);
	db_bind_text(st, 2, region);
	int rc = db_step(st);
	if (rc != DB_DONE)
		snprintf(err, n, "%s", db_errmsg(s->db));
	db_finalize(st);
	if (rc != DB_DONE)
		goto fail;
	if (db_commit(s->db) != 0) {
		snprintf(err, n, "%s", db_errmsg(s->db));
		goto fail;
	}
	return 0;
fail:
	db_rollback(s->db);
	return -1;
}

/* The most frequent failure of run, "none" when every request succeeded. */
static const char *
main_failure(const struct audit_run *run)
{
	long counts[ERR__COUNT];
	store_count_errors(run, counts);
	int best = ERR_NONE;
	for (int e = 1; e < ERR__COUNT; e++)
		if (counts[e] > 0 && (best == ERR_NONE || counts[e] > counts[best]))
			best = e;
	return error_class_name((enum error_class)best);
}

/* The rows of agent_findings for the run's entry (schema 12): each
 * cheating class it bet on or saw. 0, or -1. */
static int
save_findings(struct db_stmt *st, int64_t id, const char *region, const struct ledger_entry *e)
{
	for (int c = 0; c < CLASS__COUNT; c++) {
		if (!class_info((enum finding_class)c)->cheat)
			continue;
		int sighting = (e->misbehaving >> c) & 1 ? 2 : (e->suspect >> c) & 1 ? 1 : 0;
		double conv = e->run_counts ? e->run_conv[c] : 0,
		       lim = e->run_counts ? e->run_lim[c] : 0;
		if (sighting == 0 && !(conv > 0) && !(lim > 0))
			continue; /* the hub reads no row as a bet of 0 */
		const struct ledger_shown *sh = NULL;
		for (size_t i = 0; i < e->n_shown && sh == NULL; i++)
			if (e->shown[i].cls == (enum finding_class)c)
				sh = &e->shown[i];
		db_reset(st);
		db_bind_int64(st, 1, id);
		db_bind_text(st, 2, region);
		db_bind_text(st, 3, class_info((enum finding_class)c)->name);
		db_bind_double(st, 4, conv > 0 ? conv : 0);
		db_bind_double(st, 5, lim > 0 ? lim : 0);
		db_bind_int64(st, 6, sighting);
		if (sh != NULL) {
			db_bind_double(st, 7, sh->confidence);
			db_bind_double(st, 8, sh->p_adjusted);
			db_bind_text(st, 9, sh->expected);
			db_bind_text(st, 10, sh->observed);
			db_bind_text(st, 11, sh->summary);
			db_bind_text(st, 12, sh->probe);
			db_bind_text(st, 13, sh->served);
		} else {
			for (int k = 7; k <= 13; k++)
				db_bind_null(st, k);
		}
		if (db_step(st) != DB_DONE)
			return -1;
	}
	db_reset(st);
	return 0;
}

int64_t
store_agent_save_run(struct store *s, const char *region, const struct audit_run *run,
                     const struct assessment *a)
{
	return store_agent_save_run_with(s, region, run, a, NULL);
}

int64_t
store_agent_save_run_with(struct store *s, const char *region, const struct audit_run *run,
                          const struct assessment *a, const struct ledger_entry *entry)
{
	char err[512];
	if (s->readonly) {
		snprintf(s->last_error, sizeof s->last_error, "the database was opened read-only");
		return -1;
	}
	if (store_begin(s, err, sizeof err) != 0) {
		snprintf(s->last_error, sizeof s->last_error, "%s", err);
		return -1;
	}
	int64_t id = -1;
	/* prepared once per connection: an agent far from the database pays a
	 * round trip per statement, not three */
	static const char *const sql[3] = {
	    "INSERT INTO agent_runs(region, relay, model, api, started_ms, finished_ms, verdict,"
	    " requests, ok_requests, error_class, ttft_ms, tokens_per_s, tokens_spent)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
	    "INSERT INTO agent_observations(agent_run, region, probe, sample, started_ms,"
	    " http_status, error_class, error_detail, ttft_us, total_us, prompt_tokens,"
	    " completion_tokens, model_reported, finish_reason)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
	    "INSERT INTO agent_findings(agent_run, region, class, conv, lim, sighting, confidence,"
	    " p_adjusted, expected, observed, summary, probe, served)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
	};
	for (int i = 0; i < 3; i++)
		if (s->agent[i] == NULL && (s->agent[i] = db_prepare(s->db, sql[i])) == NULL)
			goto fail;
	struct db_stmt *st = s->agent[0], *obs = s->agent[1];
	db_reset(st);
	db_bind_text(st, 1, region);
	db_bind_text(st, 2, run->target.relay);
	db_bind_text(st, 3, run->target.model);
	db_bind_text(st, 4, api_name(run->target.api));
	db_bind_int64(st, 5, run->started_ms);
	db_bind_int64(st, 6, run->finished_ms);
	db_bind_text(st, 7, verdict_name(a->verdict));
	db_bind_int64(st, 8, a->requests);
	db_bind_int64(st, 9, a->ok_requests);
	db_bind_text(st, 10, main_failure(run));
	if (a->ttft_ms >= 0)
		db_bind_double(st, 11, a->ttft_ms);
	else
		db_bind_null(st, 11);
	if (a->tokens_per_s >= 0)
		db_bind_double(st, 12, a->tokens_per_s);
	else
		db_bind_null(st, 12);
	db_bind_int64(st, 13, a->tokens_spent);
	if (db_step(st) != DB_ROW)
		goto fail;
	id = db_column_int64(st, 0);
	if (db_step(st) != DB_DONE)
		goto fail;
	db_reset(st);
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o == NULL)
			continue;
		db_reset(obs);
		db_bind_int64(obs, 1, id);
		db_bind_text(obs, 2, region);
		db_bind_text(obs, 3, run->items[i].probe->id);
		db_bind_int64(obs, 4, run->items[i].sample);
		db_bind_int64(obs, 5, o->started_ms);
		db_bind_int64(obs, 6, o->http_status);
		db_bind_text(obs, 7, error_class_name(o->error));
		db_bind_text(obs, 8, o->error_detail);
		db_bind_count(obs, 9, o->ttft_us);
		db_bind_count(obs, 10, o->total_us);
		db_bind_count(obs, 11, o->prompt_tokens);
		db_bind_count(obs, 12, o->completion_tokens);
		db_bind_text(obs, 13, o->model);
		db_bind_text(obs, 14, o->finish_reason);
		if (db_step(obs) != DB_DONE)
			goto fail;
	}
	db_reset(obs);
	if (entry != NULL && save_findings(s->agent[2], id, region, entry) != 0)
		goto fail;
	if (db_commit(s->db) != 0) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
		db_rollback(s->db);
		return -1;
	}
	return id;
fail:
	snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	for (int i = 0; i < 3; i++)
		if (s->agent[i] != NULL)
			db_reset(s->agent[i]);
	db_rollback(s->db);
	return -1;
}

static const char *
text(struct db_stmt *st, int i)
{
	const char *v = db_column_text(st, i);
	return v ? v : "";
}

int
store_agent_each_row(struct store *s, struct db *db, struct db_stmt *st, store_agent_run_cb cb,
                     void *arg)
{
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		struct store_agent_run r = {
		    .id = db_column_int64(st, 0),
		    .region = text(st, 1),
		    .relay = text(st, 2),
		    .model = text(st, 3),
		    .started_ms = db_column_int64(st, 4),
		    .finished_ms = db_column_int64(st, 5),
		    .verdict = text(st, 6),
		    .requests = (long)db_column_int64(st, 7),
		    .ok_requests = (long)db_column_int64(st, 8),
		    .error_class = text(st, 9),
		    .ttft_ms = db_column_null(st, 10) ? -1 : db_column_double(st, 10),
		    .tokens_per_s = db_column_null(st, 11) ? -1 : db_column_double(st, 11),
		};
		cb(&r, arg);
	}
	if (rc != DB_DONE)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(db));
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

/* The hub's reads of the agents' runs go to the replica when there is one
 * (storage/replica.c): the hub writes none of them. */
int
store_each_agent_run(struct store *s, int64_t after_id, int limit, store_agent_run_cb cb, void *arg)
{
	struct db *db = store_reader(s);
	struct db_stmt *st =
	    db_prepare(db, AGENT_RUN_COLUMNS " WHERE id > $1 ORDER BY id LIMIT $2");
	if (st == NULL) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(db));
		return -1;
	}
	db_bind_int64(st, 1, after_id);
	db_bind_int64(st, 2, limit);
	return store_agent_each_row(s, db, st, cb, arg);
}

int
store_each_agent_run_back(struct store *s, int64_t upto_id, int64_t since_ms, int limit,
                          store_agent_run_cb cb, void *arg)
{
	struct db *db = store_reader(s);
	struct db_stmt *st = db_prepare(db, AGENT_RUN_COLUMNS " WHERE id <= $1 AND started_ms >= $2"
	                                                      " ORDER BY id DESC LIMIT $3");
	if (st == NULL) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(db));
		return -1;
	}
	db_bind_int64(st, 1, upto_id);
	db_bind_int64(st, 2, since_ms);
	db_bind_int64(st, 3, limit);
	return store_agent_each_row(s, db, st, cb, arg);
}

int64_t
store_region_outage_open(struct store *s, const char *relay, const char *model, int64_t at_ms,
                         const char *regions_down, int regions_heard)
{
	struct db_stmt *st =
	    db_prepare(s->db, "INSERT INTO region_outages(relay, model, opened_ms, regions_down,"
	                      " regions_heard) VALUES ($1, $2, $3, $4, $5) RETURNING id");
	int64_t id = -1;
	if (st != NULL) {
		db_bind_text(st, 1, relay);
		db_bind_text(st, 2, model);
		db_bind_int64(st, 3, at_ms);
		db_bind_text(st, 4, regions_down);
		db_bind_int64(st, 5, regions_heard);
		if (db_step(st) == DB_ROW) {
			id = db_column_int64(st, 0);
			if (db_step(st) != DB_DONE)
				id = -1;
		}
	}
	if (id < 0)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	db_finalize(st);
	return id;
}

int
store_region_outage_resolve(struct store *s, const char *relay, const char *model, int64_t at_ms)
{
	struct db_stmt *st = db_prepare(s->db, "UPDATE region_outages SET resolved_ms = $1"
	                                       " WHERE relay = $2 AND model = $3"
	                                       " AND resolved_ms IS NULL");
	int rc = DB_ERROR;
	if (st != NULL) {
		db_bind_int64(st, 1, at_ms);
		db_bind_text(st, 2, relay);
		db_bind_text(st, 3, model);
		rc = db_step(st);
	}
	if (rc != DB_DONE)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

/* On the primary: a restarted hub must see the outage the one before it
 * opened a moment ago, or it would open it twice. */
int
store_each_open_region_outage(struct store *s, store_region_outage_cb cb, void *arg)
{
	struct db_stmt *st =
	    db_prepare(s->db, "SELECT id, relay, model, opened_ms FROM region_outages"
	                      " WHERE resolved_ms IS NULL ORDER BY id");
	if (st == NULL) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
		return -1;
	}
	int rc;
	while ((rc = db_step(st)) == DB_ROW)
		cb(db_column_int64(st, 0), text(st, 1), text(st, 2), db_column_int64(st, 3), arg);
	if (rc != DB_DONE)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

int
store_agent_runs_since(struct store *s, int64_t since_ms, int64_t *after_id)
{
	*after_id = 0;
	struct db *db = store_reader(s);
	struct db_stmt *st =
	    db_prepare(db, "SELECT min(id) FROM agent_runs WHERE started_ms >= $1");
	if (st == NULL) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(db));
		return -1;
	}
	db_bind_int64(st, 1, since_ms);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		if (db_column_null(st, 0)) {
			db_finalize(st);
			/* nothing that recent: start after the newest */
			st = db_prepare(db, "SELECT coalesce(max(id), 0) FROM agent_runs");
			rc = st ? db_step(st) : DB_ERROR;
			if (rc == DB_ROW)
				*after_id = db_column_int64(st, 0);
		} else {
			*after_id = db_column_int64(st, 0) - 1;
		}
	}
	if (rc != DB_ROW)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(db));
	db_finalize(st);
	return rc == DB_ROW ? 0 : -1;
}
