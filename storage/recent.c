/*
 * recent: the latest runs of each relay and model, one row each, for the
 * pages' percentiles and time up (web/model.h entry_percentiles,
 * entry_time_up) after a restart.
 *
 * Bounded twice: raw runs live a day (store_retention), and about `limit`
 * of each target are read (more only for runs started in the same
 * millisecond as its limit-th newest), through the runs_target index
 * (target, started_ms).
 */
#include "storage/internal.h"

#include <stdio.h>

int
store_each_recent_run(struct store *s, int64_t since_ms, int limit, store_run_point_cb cb,
                      void *arg)
{
	/* each target's runs from the start of its newest `limit` on: the
	 * bound is a scalar of t alone, so it is found once a target (an index
	 * range start on runs_target), not once a run ("r.id IN (its newest)"
	 * was: a day of runs a minute for 1,000 targets took 130 s to start) */
	const char *sql = "SELECT t.relay, t.model, r.verdict, r.started_ms, r.requests,"
	                  " r.ok_requests, r.ttft_ms, r.tokens_per_s"
	                  " FROM targets t JOIN runs r ON r.target = t.id"
	                  " AND r.started_ms >= (SELECT COALESCE(MIN(y.started_ms), $1)"
	                  "   FROM (SELECT x.started_ms FROM runs x WHERE x.target = t.id"
	                  "     AND x.started_ms >= $1 ORDER BY x.started_ms DESC LIMIT $2) y)"
	                  " ORDER BY t.id, r.started_ms";
	struct db_stmt *st;
	if ((st = db_prepare(store_reader(s), sql)) == NULL)
		return -1;
	db_bind_int64(st, 1, since_ms);
	db_bind_int64(st, 2, limit);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *relay = db_column_text(st, 0);
		const char *model = db_column_text(st, 1);
		const char *verdict = db_column_text(st, 2);
		struct store_run_point p = {
		    .relay = relay ? relay : "",
		    .model = model ? model : "",
		    .verdict = verdict ? verdict : "",
		    .started_ms = db_column_int64(st, 3),
		    .requests = (long)db_column_int64(st, 4),
		    .ok_requests = (long)db_column_int64(st, 5),
		    .ttft_ms = db_column_null(st, 6) ? -1 : db_column_double(st, 6),
		    .tokens_per_s = db_column_null(st, 7) ? -1 : db_column_double(st, 7),
		};
		cb(&p, arg);
	}
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}
