/*
 * hub_ledger: the hub's side of the agents' evidence (schema 12,
 * storage/schema_hub_ledger.c): reading each agent run with its findings
 * after an id, in bounded batches, and keeping the pooled ledger's state
 * of each relay-model with the cursor below which every run is folded,
 * in one transaction, so a restart neither folds a run twice nor skips
 * one.
 *
 * What agents wrote is untrusted text from another machine: strings are
 * copied valid UTF-8 and capped (HUB_TEXT_MAX bytes); numbers that are not
 * finite read as 0.
 */
#include "storage/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define HUB_TEXT_MAX 2048

/* Column i as an owned, sanitized string (NULL stays NULL). */
static char *
take_text(struct db_stmt *st, int i)
{
	const char *v = db_column_text(st, i);
	if (v == NULL)
		return NULL;
	return utf8_sanitize(v, strlen(v), HUB_TEXT_MAX);
}

static double
finite_or_0(struct db_stmt *st, int i)
{
	if (db_column_null(st, i))
		return 0;
	double x = db_column_double(st, i);
	return isfinite(x) ? x : 0;
}

static void
finding_release(struct store_agent_finding *f)
{
	free(f->cls);
	free(f->expected);
	free(f->observed);
	free(f->summary);
	free(f->probe);
	free(f->served);
}

static void
evidence_release(struct store_agent_evidence *e)
{
	free(e->region);
	free(e->relay);
	free(e->model);
	for (size_t i = 0; i < e->n_findings; i++)
		finding_release(&e->findings[i]);
	free(e->findings);
}

int
store_each_agent_evidence(struct store *s, int64_t after_id, int limit, store_agent_evidence_cb cb,
                          void *arg)
{
	struct store_agent_evidence *runs = NULL;
	size_t n = 0;
	int ok = -1;
	struct db_stmt *st =
	    db_prepare(s->db, "SELECT id, region, relay, model, started_ms, ok_requests"
	                      " FROM agent_runs WHERE id > $1 ORDER BY id LIMIT $2");
	if (st == NULL)
		goto out;
	db_bind_int64(st, 1, after_id);
	db_bind_int64(st, 2, limit);
	int rc;
	runs = xcalloc(limit > 0 ? (size_t)limit : 1, sizeof *runs);
	while (n < (size_t)limit && (rc = db_step(st)) == DB_ROW) {
		struct store_agent_evidence *e = &runs[n++];
		e->id = db_column_int64(st, 0);
		e->region = take_text(st, 1);
		e->relay = take_text(st, 2);
		e->model = take_text(st, 3);
		e->started_ms = db_column_int64(st, 4);
		e->ok_requests = (long)db_column_int64(st, 5);
	}
	if (n < (size_t)limit && rc != DB_DONE)
		goto out;
	db_finalize(st);
	st = NULL;
	if (n > 0) {
		st = db_prepare(
		    s->db, "SELECT agent_run, class, conv, lim, sighting, confidence, p_adjusted,"
		           " expected, observed, summary, probe, served FROM agent_findings"
		           " WHERE agent_run > $1 AND agent_run <= $2 ORDER BY agent_run, id");
		if (st == NULL)
			goto out;
		db_bind_int64(st, 1, after_id);
		db_bind_int64(st, 2, runs[n - 1].id);
		size_t at = 0;
		while ((rc = db_step(st)) == DB_ROW) {
			int64_t run = db_column_int64(st, 0);
			while (at < n && runs[at].id < run)
				at++;
			if (at == n)
				break;
			struct store_agent_evidence *e = &runs[at];
			if (e->id != run || e->n_findings >= STORE_AGENT_FINDINGS_MAX)
				continue;
			if (e->findings == NULL)
				e->findings =
				    xcalloc(STORE_AGENT_FINDINGS_MAX, sizeof *e->findings);
			struct store_agent_finding *f = &e->findings[e->n_findings++];
			f->cls = take_text(st, 1);
			f->conv = finite_or_0(st, 2);
			f->lim = finite_or_0(st, 3);
			f->sighting = (int)db_column_int64(st, 4);
			f->has_shown = !db_column_null(st, 5);
			f->confidence = finite_or_0(st, 5);
			f->p_adjusted = finite_or_0(st, 6);
			f->expected = take_text(st, 7);
			f->observed = take_text(st, 8);
			f->summary = take_text(st, 9);
			f->probe = take_text(st, 10);
			f->served = take_text(st, 11);
		}
		if (rc != DB_DONE && rc != DB_ROW)
			goto out;
	}
	for (size_t i = 0; i < n; i++)
		cb(&runs[i], arg);
	ok = 0;
out:
	if (ok != 0)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	db_finalize(st);
	for (size_t i = 0; i < n; i++)
		evidence_release(&runs[i]);
	free(runs);
	return ok;
}

int
store_hub_ledger_write(struct store *s, const struct store_hub_ledger_row *rows, size_t n,
                       int64_t after_id)
{
	char err[512];
	if (store_begin(s, err, sizeof err) != 0) {
		snprintf(s->last_error, sizeof s->last_error, "%s", err);
		return -1;
	}
	struct db_stmt *st =
	    db_prepare(s->db, "INSERT INTO hub_ledger(relay, model, verdict, state, updated_ms)"
	                      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT(relay, model) DO UPDATE"
	                      " SET verdict = excluded.verdict, state = excluded.state,"
	                      " updated_ms = excluded.updated_ms");
	if (st == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		db_reset(st);
		db_bind_text(st, 1, rows[i].relay);
		db_bind_text(st, 2, rows[i].model);
		db_bind_text(st, 3, rows[i].verdict);
		db_bind_text(st, 4, rows[i].state);
		db_bind_int64(st, 5, rows[i].updated_ms);
		if (db_step(st) != DB_DONE)
			goto fail;
	}
	db_finalize(st);
	st = db_prepare(s->db, "INSERT INTO settings(name, value) VALUES('hub_ledger_after_id', $1)"
	                       " ON CONFLICT(name) DO UPDATE SET value = excluded.value");
	if (st == NULL)
		goto fail;
	char cursor[32];
	snprintf(cursor, sizeof cursor, "%lld", (long long)after_id);
	db_bind_text(st, 1, cursor);
	if (db_step(st) != DB_DONE)
		goto fail;
	db_finalize(st);
	st = NULL;
	if (db_commit(s->db) != 0)
		goto fail;
	return 0;
fail:
	snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	db_finalize(st);
	db_rollback(s->db);
	return -1;
}

int
store_each_hub_ledger(struct store *s, int64_t *after_id, store_hub_ledger_cb cb, void *arg)
{
	*after_id = 0;
	struct db_stmt *st =
	    db_prepare(s->db, "SELECT value FROM settings WHERE name = 'hub_ledger_after_id'");
	int rc = DB_ERROR;
	if (st != NULL) {
		rc = db_step(st);
		if (rc == DB_ROW) {
			const char *v = db_column_text(st, 0);
			*after_id = v ? strtoll(v, NULL, 10) : 0;
			rc = db_step(st);
		}
	}
	db_finalize(st);
	if (rc != DB_DONE) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
		return -1;
	}
	st = db_prepare(s->db, "SELECT relay, model, verdict, state, updated_ms FROM hub_ledger"
	                       " ORDER BY relay, model");
	if (st == NULL) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
		return -1;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		const char *v[4];
		for (int i = 0; i < 4; i++) {
			v[i] = db_column_text(st, i);
			if (v[i] == NULL)
				v[i] = "";
		}
		struct store_hub_ledger_row row = {v[0], v[1], v[2], v[3], db_column_int64(st, 4)};
		cb(&row, arg);
	}
	if (rc != DB_DONE)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}
