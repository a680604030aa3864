/*
 * retention: deleting what is older than its window, a little at a time.
 *
 * A step is one short transaction that deletes at most about `budget` rows:
 * the oldest raw runs (and their observations) by id order, which is time
 * order, so finding them never scans; then the expired rollup buckets of
 * the next few targets (bucket numbers are consecutive, so a range of
 * `budget` buckets bounds the rows); then old verdict segments and resolved
 * incidents through their time indexes; the agents' oldest regional runs
 * and the hub's resolved outages alike. The event loop calls it on a timer
 * and never waits on a long DELETE.
 */
#include "storage/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* Targets whose rollups one step looks at. */
#define TARGETS_PER_STEP 16

/* The statements, by slot in s->retention (prepared on first use). */
enum {
	R_OLDEST_RUNS,
	R_DEL_OBS,
	R_DEL_RUNS,
	R_TARGETS,
	R_DEL_ROLLUP,                    /* + resolution: 3 slots */
	R_DEL_ERRORS = R_DEL_ROLLUP + 3, /* + resolution: 3 slots */
	R_DEL_VERDICTS = R_DEL_ERRORS + 3,
	R_DEL_INCIDENTS,
	R_DEL_ORIGIN, /* + resolution: 3 slots */
	R_DEL_AGENT_OBS = R_DEL_ORIGIN + 3,
	R_DEL_AGENT_RUNS,
	R_DEL_OUTAGES,
	R__COUNT
};

static const char *
retention_sql(int slot)
{
	static const char *const fixed[] = {
	    [R_OLDEST_RUNS] = "SELECT id, started_ms FROM runs ORDER BY id LIMIT $1",
	    [R_DEL_OBS] = "DELETE FROM observations WHERE run_id <= $1",
	    [R_DEL_RUNS] = "DELETE FROM runs WHERE id <= $1",
	    [R_TARGETS] = "SELECT id FROM targets WHERE id > $1 ORDER BY id LIMIT $2",
	    [R_DEL_ROLLUP] = "DELETE FROM rollup_minute WHERE target = $1 AND bucket < $2 AND"
	                     " bucket < (SELECT min(bucket) FROM rollup_minute WHERE target = $1)"
	                     " + $3",
	    [R_DEL_ROLLUP + 1] = "DELETE FROM rollup_hour WHERE target = $1 AND bucket < $2 AND"
	                         " bucket < (SELECT min(bucket) FROM rollup_hour WHERE target = $1)"
	                         " + $3",
	    [R_DEL_ROLLUP + 2] = "DELETE FROM rollup_day WHERE target = $1 AND bucket < $2 AND"
	                         " bucket < (SELECT min(bucket) FROM rollup_day WHERE target = $1)"
	                         " + $3",
	    [R_DEL_ERRORS] = "DELETE FROM rollup_errors WHERE res = 0 AND target = $1 AND"
	                     " bucket < $2 AND bucket < (SELECT min(bucket) FROM rollup_errors"
	                     " WHERE res = 0 AND target = $1) + $3",
	    [R_DEL_ERRORS + 1] = "DELETE FROM rollup_errors WHERE res = 1 AND target = $1 AND"
	                         " bucket < $2 AND bucket < (SELECT min(bucket) FROM rollup_errors"
	                         " WHERE res = 1 AND target = $1) + $3",
	    [R_DEL_ERRORS + 2] = "DELETE FROM rollup_errors WHERE res = 2 AND target = $1 AND"
	                         " bucket < $2 AND bucket < (SELECT min(bucket) FROM rollup_errors"
	                         " WHERE res = 2 AND target = $1) + $3",
	    [R_DEL_VERDICTS] = "DELETE FROM verdicts WHERE id IN (SELECT id FROM verdicts"
	                       " WHERE last_ms < $1 ORDER BY last_ms LIMIT $2)",
	    [R_DEL_INCIDENTS] = "DELETE FROM incidents WHERE id IN (SELECT id FROM incidents"
	                        " WHERE opened_ms < $1 AND resolved_ms IS NOT NULL"
	                        " ORDER BY opened_ms LIMIT $2)",
	    [R_DEL_ORIGIN] = "DELETE FROM rollup_origin WHERE res = 0 AND target = $1 AND"
	                     " bucket < $2 AND bucket < (SELECT min(bucket) FROM rollup_origin"
	                     " WHERE res = 0 AND target = $1) + $3",
	    [R_DEL_ORIGIN + 1] = "DELETE FROM rollup_origin WHERE res = 1 AND target = $1 AND"
	                         " bucket < $2 AND bucket < (SELECT min(bucket) FROM rollup_origin"
	                         " WHERE res = 1 AND target = $1) + $3",
	    /* the agents' regional runs live as long as raw runs; the oldest
	     * first, by id (time order), at most $2 a step */
	    [R_DEL_AGENT_OBS] = "DELETE FROM agent_observations WHERE agent_run IN (SELECT id FROM"
	                        " agent_runs WHERE started_ms < $1 ORDER BY id LIMIT $2)",
	    [R_DEL_AGENT_RUNS] = "DELETE FROM agent_runs WHERE id IN (SELECT id FROM agent_runs"
	                         " WHERE started_ms < $1 ORDER BY id LIMIT $2)",
	    [R_DEL_OUTAGES] = "DELETE FROM region_outages WHERE id IN (SELECT id FROM"
	                      " region_outages WHERE resolved_ms < $1 ORDER BY id LIMIT $2)",
	    [R_DEL_ORIGIN + 2] = "DELETE FROM rollup_origin WHERE res = 2 AND target = $1 AND"
	                         " bucket < $2 AND bucket < (SELECT min(bucket) FROM rollup_origin"
	                         " WHERE res = 2 AND target = $1) + $3",
	};
	return fixed[slot];
}

/* The prepared statement of slot, reset; NULL on error. */
static struct db_stmt *
retention_stmt(struct store *s, int slot)
{
	_Static_assert(R__COUNT <= sizeof s->retention / sizeof s->retention[0],
	               "struct store has too few retention slots");
	if (s->retention[slot] == NULL &&
	    (s->retention[slot] = db_prepare(s->db, retention_sql(slot))) == NULL)
		return NULL;
	db_reset(s->retention[slot]);
	return s->retention[slot];
}

/* Run a DELETE of slot with int64 arguments; rows deleted, or -1. */
static long
delete_bound(struct store *s, int slot, const int64_t *args, int n)
{
	struct db_stmt *st = retention_stmt(s, slot);
	if (st == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		db_bind_int64(st, i + 1, args[i]);
	int rc = db_step(st);
	long changed = db_changes(st);
	db_reset(st);
	return rc == DB_DONE ? changed : -1;
}

/* The oldest raw runs (and their observations) before cutoff_ms. */
static long
trim_raw(struct store *s, int64_t cutoff_ms, long budget)
{
	struct db_stmt *st = retention_stmt(s, R_OLDEST_RUNS);
	if (st == NULL)
		return -1;
	/* a run has a few observations: take a quarter of the budget in runs */
	db_bind_int64(st, 1, budget / 4 > 0 ? budget / 4 : 1);
	int64_t last = -1;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		if (db_column_int64(st, 1) >= cutoff_ms)
			break;
		last = db_column_int64(st, 0);
	}
	db_reset(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return -1;
	if (last < 0)
		return 0;
	long a = delete_bound(s, R_DEL_OBS, &last, 1);
	long b = delete_bound(s, R_DEL_RUNS, &last, 1);
	return a < 0 || b < 0 ? -1 : a + b;
}

/* Expired rollup buckets of one target at one resolution. */
static long
trim_rollup(struct store *s, int64_t target, enum store_resolution res, int64_t cutoff_bucket,
            long budget)
{
	int64_t args[3] = {target, cutoff_bucket, budget};
	long a = delete_bound(s, R_DEL_ROLLUP + (int)res, args, 3);
	long b = delete_bound(s, R_DEL_ERRORS + (int)res, args, 3);
	long c = delete_bound(s, R_DEL_ORIGIN + (int)res, args, 3);
	return a < 0 || b < 0 || c < 0 ? -1 : a + b + c;
}

long
store_retention_step(struct store *s, const struct store_retention *r, int64_t now_ms, long budget)
{
	char err[256];
	if (s->readonly)
		return -1;
	if (budget < 8)
		budget = 8;
	if (store_begin(s, err, sizeof err) != 0)
		return -1;
	long total = trim_raw(s, now_ms - r->raw_ms, budget);
	if (total < 0)
		goto fail;

	const int64_t keep[STORE__RES] = {r->minute_ms, r->hour_ms, r->day_ms};
	struct db_stmt *st = retention_stmt(s, R_TARGETS);
	if (st == NULL)
		goto fail;
	db_bind_int64(st, 1, s->retention_target);
	db_bind_int64(st, 2, TARGETS_PER_STEP);
	int64_t ids[TARGETS_PER_STEP];
	int n = 0, rc;
	while ((rc = db_step(st)) == DB_ROW && n < TARGETS_PER_STEP)
		ids[n++] = db_column_int64(st, 0);
	db_reset(st);
	if (rc != DB_DONE && rc != DB_ROW)
		goto fail;
	s->retention_target = n < TARGETS_PER_STEP ? 0 : ids[n - 1];
	for (int i = 0; i < n && total < budget; i++) {
		for (int res = 0; res < STORE__RES; res++) {
			int64_t len = store_resolution_ms((enum store_resolution)res);
			long d = trim_rollup(s, ids[i], (enum store_resolution)res,
			                     (now_ms - keep[res]) / len, budget - total);
			if (d < 0)
				goto fail;
			total += d;
		}
	}

	int64_t args[2] = {now_ms - r->day_ms, budget};
	long d = delete_bound(s, R_DEL_VERDICTS, args, 2);
	long e = delete_bound(s, R_DEL_INCIDENTS, args, 2);
	long o = delete_bound(s, R_DEL_OUTAGES, args, 2);
	if (d < 0 || e < 0 || o < 0)
		goto fail;
	total += d + e + o;
	/* a run has a few observations: a quarter of the budget in runs */
	int64_t agent_args[2] = {now_ms - r->raw_ms, budget / 4 > 0 ? budget / 4 : 1};
	long ao = delete_bound(s, R_DEL_AGENT_OBS, agent_args, 2);
	long ar = delete_bound(s, R_DEL_AGENT_RUNS, agent_args, 2);
	if (ao < 0 || ar < 0)
		goto fail;
	total += ao + ar;
	if (db_commit(s->db) != 0)
		goto fail;
	return total;
fail:
	fprintf(stderr, "assay: retention: %s\n", db_errmsg(s->db));
	db_rollback(s->db);
	return -1;
}

long
store_prune_observations(struct store *s, int64_t cutoff_ms)
{
	struct db_stmt *st;
	if ((st = db_prepare(s->db, "DELETE FROM observations WHERE started_ms < $1")) == NULL)
		return -1;
	db_bind_int64(st, 1, cutoff_ms);
	int rc = db_step(st);
	long n = db_changes(st);
	db_finalize(st);
	return rc == DB_DONE ? n : -1;
}
