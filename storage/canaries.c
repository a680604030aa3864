/*
 * canaries: serve's credential canaries by digest (see storage/store.h).
 *
 * A canary's row is written when its run starts, so a use that comes while
 * the run is still going is already attributed; the run's id is filled in
 * when the run is saved, in the same transaction that marks the uses it
 * carried reported. Nothing here holds a key or a token: only their
 * SHA-256 digests, which find a canary again and can be used for nothing
 * else. Statements are prepared per call: a canary is planted once a run
 * and used rarely.
 */
#include "storage/internal.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "probes/canary.h"

/* A statement of sql on s's writer, or NULL with the reason kept. */
static sqlite3_stmt *
prepare(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(s->last_error, sizeof s->last_error, "%s", sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* Step st to its end and finalize it: 0, or -1 with the reason kept. */
static int
step_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(s->last_error, sizeof s->last_error, "%s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_canary_plant(struct store *s, const char *relay, const char *model, const char *api,
                   struct canary *c)
{
	if (s->readonly) {
		snprintf(s->last_error, sizeof s->last_error, "the database was opened read-only");
		return -1;
	}
	struct stored_target *t = store_target(s, relay, model, api);
	if (t == NULL) {
		snprintf(s->last_error, sizeof s->last_error, "%s", sqlite3_errmsg(s->db));
		store_forget_targets(s);
		return -1;
	}
	sqlite3_stmt *st = prepare(s, "INSERT INTO canaries(target, planted_ms, key_sha256,"
	                              " token_sha256) VALUES (?, ?, ?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, t->id);
	sqlite3_bind_int64(st, 2, wall_ms());
	sqlite3_bind_text(st, 3, c->key_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->token_sha256, -1, SQLITE_STATIC);
	if (step_done(s, st) != 0)
		return -1;
	c->stored_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_canary_find(struct store *s, const char *token_sha256, const char *key_sha256,
                  struct store_canary *out)
{
	static const char *const sql[] = {
	    "SELECT c.id, c.planted_ms, c.run_id, t.relay, t.model FROM canaries c"
	    " JOIN targets t ON t.id = c.target WHERE c.token_sha256 = ?",
	    "SELECT c.id, c.planted_ms, c.run_id, t.relay, t.model FROM canaries c"
	    " JOIN targets t ON t.id = c.target WHERE c.key_sha256 = ?",
	};
	const char *const digests[] = {token_sha256, key_sha256};
	memset(out, 0, sizeof *out);
	for (int i = 0; i < 2; i++) {
		if (digests[i] == NULL || strlen(digests[i]) != 64)
			continue;
		sqlite3_stmt *st = prepare(s, sql[i]);
		if (st == NULL)
			return -1;
		sqlite3_bind_text(st, 1, digests[i], -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			out->id = sqlite3_column_int64(st, 0);
			out->planted_ms = sqlite3_column_int64(st, 1);
			out->run_id = sqlite3_column_int64(st, 2);
			snprintf(out->relay, sizeof out->relay, "%s",
			         (const char *)sqlite3_column_text(st, 3));
			snprintf(out->model, sizeof out->model, "%s",
			         (const char *)sqlite3_column_text(st, 4));
		} else if (rc != SQLITE_DONE) {
			snprintf(s->last_error, sizeof s->last_error, "%s", sqlite3_errmsg(s->db));
		}
		sqlite3_finalize(st);
		if (rc == SQLITE_ROW)
			return 1;
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

int
store_canary_hit(struct store *s, int64_t canary, const struct canary_hit *h)
{
	if (s->readonly) {
		snprintf(s->last_error, sizeof s->last_error, "the database was opened read-only");
		return -1;
	}
	sqlite3_stmt *st = prepare(s, "INSERT INTO canary_hits(canary, at_ms, peer, user_agent,"
	                              " method, path, with_key) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, canary);
	sqlite3_bind_int64(st, 2, h->at_ms);
	sqlite3_bind_text(st, 3, h->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, h->user_agent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, h->method, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, h->path, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, h->with_key);
	return step_done(s, st);
}

static void
column_hit(sqlite3_stmt *st, int i, struct canary_hit *h)
{
	memset(h, 0, sizeof *h);
	h->at_ms = sqlite3_column_int64(st, i);
	snprintf(h->peer, sizeof h->peer, "%s", (const char *)sqlite3_column_text(st, i + 1));
	snprintf(h->user_agent, sizeof h->user_agent, "%s",
	         (const char *)sqlite3_column_text(st, i + 2));
	snprintf(h->method, sizeof h->method, "%s", (const char *)sqlite3_column_text(st, i + 3));
	snprintf(h->path, sizeof h->path, "%s", (const char *)sqlite3_column_text(st, i + 4));
	h->with_key = sqlite3_column_int(st, i + 5);
}

int
store_canary_pending(struct store *s, const char *relay, const char *model, struct canary *c)
{
	sqlite3_stmt *st =
	    prepare(s, "SELECT h.id, h.canary, c.planted_ms, c.run_id, c.key_sha256, h.at_ms,"
	               " h.peer, h.user_agent, h.method, h.path, h.with_key FROM canary_hits h"
	               " JOIN canaries c ON c.id = h.canary JOIN targets t ON t.id = c.target"
	               " WHERE t.relay = ? AND t.model = ? AND h.reported_run IS NULL"
	               " ORDER BY h.id");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, relay, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c->hits_upto = sqlite3_column_int64(st, 0);
		int64_t canary = sqlite3_column_int64(st, 1);
		if (canary == c->stored_id) {
			if (c->n_hits < CANARY_HITS_MAX)
				column_hit(st, 5, &c->hits[c->n_hits++]);
			else
				c->more_hits++;
			continue;
		}
		const char *key = (const char *)sqlite3_column_text(st, 4);
		struct canary_late *l = NULL;
		for (size_t i = 0; i < c->n_late && l == NULL; i++)
			if (strncmp(c->late[i].digest, key, 16) == 0)
				l = &c->late[i];
		if (l == NULL && c->n_late == CANARY_LATE_MAX) {
			c->more_late++;
			continue;
		}
		if (l == NULL) {
			l = &c->late[c->n_late++];
			memset(l, 0, sizeof *l);
			l->planted_ms = sqlite3_column_int64(st, 2);
			l->run_id = sqlite3_column_int64(st, 3);
			snprintf(l->digest, sizeof l->digest, "%.16s", key);
			column_hit(st, 5, &l->hit);
		}
		l->uses++;
	}
	if (rc != SQLITE_DONE)
		snprintf(s->last_error, sizeof s->last_error, "%s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_canary_saved(struct store *s, int64_t target, int64_t run_id, const struct canary *c)
{
	if (c->stored_id != 0) {
		sqlite3_stmt *st = prepare(s, "UPDATE canaries SET run_id = ? WHERE id = ?");
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_int64(st, 2, c->stored_id);
		if (step_done(s, st) != 0)
			return -1;
	}
	if (c->hits_upto == 0)
		return 0;
	sqlite3_stmt *st = prepare(s, "UPDATE canary_hits SET reported_run = ?"
	                              " WHERE reported_run IS NULL AND id <= ? AND canary IN"
	                              " (SELECT id FROM canaries WHERE target = ?)");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, c->hits_upto);
	sqlite3_bind_int64(st, 3, target);
	return step_done(s, st);
}

long
store_canaries_expire(struct store *s, int64_t before_ms)
{
	if (s->readonly)
		return 0;
	char err[256];
	if (store_exec(s, "BEGIN IMMEDIATE", err, sizeof err) != 0) {
		snprintf(s->last_error, sizeof s->last_error, "%s", err);
		return -1;
	}
	sqlite3_stmt *hits = prepare(s, "DELETE FROM canary_hits WHERE canary IN"
	                                " (SELECT id FROM canaries WHERE planted_ms < ?)");
	if (hits == NULL)
		goto fail;
	sqlite3_bind_int64(hits, 1, before_ms);
	if (step_done(s, hits) != 0)
		goto fail;
	sqlite3_stmt *rows = prepare(s, "DELETE FROM canaries WHERE planted_ms < ?");
	if (rows == NULL)
		goto fail;
	sqlite3_bind_int64(rows, 1, before_ms);
	if (step_done(s, rows) != 0)
		goto fail;
	long n = (long)sqlite3_changes(s->db);
	if (store_exec(s, "COMMIT", err, sizeof err) != 0)
		goto fail;
	return n;
fail:
	store_exec(s, "ROLLBACK", err, sizeof err);
	return -1;
}
