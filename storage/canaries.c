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
static struct db_stmt *
prepare(struct store *s, const char *sql)
{
	struct db_stmt *st = db_prepare(s->db, sql);
	if (st == NULL)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	return st;
}

/* Step st to its end and finalize it: the rows it changed, or -1 with the
 * reason kept. An INSERT ... RETURNING id puts the new row's id in *id. */
static long
step_done_id(struct store *s, struct db_stmt *st, int64_t *id)
{
	int rc = db_step(st);
	if (rc == DB_ROW && id != NULL) {
		*id = db_column_int64(st, 0);
		rc = db_step(st);
	}
	long n = db_changes(st);
	if (rc != DB_DONE)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	db_finalize(st);
	return rc == DB_DONE ? n : -1;
}

static int
step_done(struct store *s, struct db_stmt *st)
{
	return step_done_id(s, st, NULL) < 0 ? -1 : 0;
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
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
		store_forget_targets(s);
		return -1;
	}
	struct db_stmt *st = prepare(s, "INSERT INTO canaries(target, planted_ms, key_sha256,"
	                                " token_sha256) VALUES ($1, $2, $3, $4) RETURNING id");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, t->id);
	db_bind_int64(st, 2, wall_ms());
	db_bind_text(st, 3, c->key_sha256);
	db_bind_text(st, 4, c->token_sha256);
	return step_done_id(s, st, &c->stored_id) < 0 ? -1 : 0;
}

int
store_canary_find(struct store *s, const char *token_sha256, const char *key_sha256,
                  struct store_canary *out)
{
	static const char *const sql[] = {
	    "SELECT c.id, c.planted_ms, c.run_id, t.relay, t.model FROM canaries c"
	    " JOIN targets t ON t.id = c.target WHERE c.token_sha256 = $1",
	    "SELECT c.id, c.planted_ms, c.run_id, t.relay, t.model FROM canaries c"
	    " JOIN targets t ON t.id = c.target WHERE c.key_sha256 = $1",
	};
	const char *const digests[] = {token_sha256, key_sha256};
	memset(out, 0, sizeof *out);
	for (int i = 0; i < 2; i++) {
		if (digests[i] == NULL || strlen(digests[i]) != 64)
			continue;
		struct db_stmt *st = prepare(s, sql[i]);
		if (st == NULL)
			return -1;
		db_bind_text(st, 1, digests[i]);
		int rc = db_step(st);
		if (rc == DB_ROW) {
			out->id = db_column_int64(st, 0);
			out->planted_ms = db_column_int64(st, 1);
			out->run_id = db_column_int64(st, 2);
			snprintf(out->relay, sizeof out->relay, "%s", db_column_text(st, 3));
			snprintf(out->model, sizeof out->model, "%s", db_column_text(st, 4));
		} else if (rc != DB_DONE) {
			snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
		}
		db_finalize(st);
		if (rc == DB_ROW)
			return 1;
		if (rc != DB_DONE)
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
	struct db_stmt *st =
	    prepare(s, "INSERT INTO canary_hits(canary, at_ms, peer, user_agent,"
	               " method, path, with_key) VALUES ($1, $2, $3, $4, $5, $6, $7)");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, canary);
	db_bind_int64(st, 2, h->at_ms);
	db_bind_text(st, 3, h->peer);
	db_bind_text(st, 4, h->user_agent);
	db_bind_text(st, 5, h->method);
	db_bind_text(st, 6, h->path);
	db_bind_int64(st, 7, h->with_key);
	return step_done(s, st);
}

static void
column_hit(struct db_stmt *st, int i, struct canary_hit *h)
{
	memset(h, 0, sizeof *h);
	h->at_ms = db_column_int64(st, i);
	snprintf(h->peer, sizeof h->peer, "%s", db_column_text(st, i + 1));
	snprintf(h->user_agent, sizeof h->user_agent, "%s", db_column_text(st, i + 2));
	snprintf(h->method, sizeof h->method, "%s", db_column_text(st, i + 3));
	snprintf(h->path, sizeof h->path, "%s", db_column_text(st, i + 4));
	h->with_key = (int)db_column_int64(st, i + 5);
}

int
store_canary_pending(struct store *s, const char *relay, const char *model, struct canary *c)
{
	struct db_stmt *st =
	    prepare(s, "SELECT h.id, h.canary, c.planted_ms, c.run_id, c.key_sha256, h.at_ms,"
	               " h.peer, h.user_agent, h.method, h.path, h.with_key FROM canary_hits h"
	               " JOIN canaries c ON c.id = h.canary JOIN targets t ON t.id = c.target"
	               " WHERE t.relay = $1 AND t.model = $2 AND h.reported_run IS NULL"
	               " ORDER BY h.id");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, relay);
	db_bind_text(st, 2, model);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		c->hits_upto = db_column_int64(st, 0);
		int64_t canary = db_column_int64(st, 1);
		if (canary == c->stored_id) {
			if (c->n_hits < CANARY_HITS_MAX)
				column_hit(st, 5, &c->hits[c->n_hits++]);
			else
				c->more_hits++;
			continue;
		}
		const char *key = db_column_text(st, 4);
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
			l->planted_ms = db_column_int64(st, 2);
			l->run_id = db_column_int64(st, 3);
			snprintf(l->digest, sizeof l->digest, "%.16s", key);
			column_hit(st, 5, &l->hit);
		}
		l->uses++;
	}
	if (rc != DB_DONE)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

int
store_canary_saved(struct store *s, int64_t target, int64_t run_id, const struct canary *c)
{
	if (c->stored_id != 0) {
		struct db_stmt *st = prepare(s, "UPDATE canaries SET run_id = $1 WHERE id = $2");
		if (st == NULL)
			return -1;
		db_bind_int64(st, 1, run_id);
		db_bind_int64(st, 2, c->stored_id);
		if (step_done(s, st) != 0)
			return -1;
	}
	if (c->hits_upto == 0)
		return 0;
	struct db_stmt *st = prepare(s, "UPDATE canary_hits SET reported_run = $1"
	                                " WHERE reported_run IS NULL AND id <= $2 AND canary IN"
	                                " (SELECT id FROM canaries WHERE target = $3)");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, run_id);
	db_bind_int64(st, 2, c->hits_upto);
	db_bind_int64(st, 3, target);
	return step_done(s, st);
}

long
store_canaries_expire(struct store *s, int64_t before_ms)
{
	if (s->readonly)
		return 0;
	char err[256];
	if (store_begin(s, err, sizeof err) != 0) {
		snprintf(s->last_error, sizeof s->last_error, "%s", err);
		return -1;
	}
	struct db_stmt *hits = prepare(s, "DELETE FROM canary_hits WHERE canary IN"
	                                  " (SELECT id FROM canaries WHERE planted_ms < $1)");
	if (hits == NULL)
		goto fail;
	db_bind_int64(hits, 1, before_ms);
	if (step_done(s, hits) != 0)
		goto fail;
	struct db_stmt *rows = prepare(s, "DELETE FROM canaries WHERE planted_ms < $1");
	if (rows == NULL)
		goto fail;
	db_bind_int64(rows, 1, before_ms);
	long n = step_done_id(s, rows, NULL);
	if (n < 0)
		goto fail;
	if (db_commit(s->db) != 0) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
		goto fail;
	}
	return n;
fail:
	db_rollback(s->db);
	return -1;
}
