/*
 * recent: the latest runs of each relay and model, one row each, for the
 * pages' percentiles and time up (web/model.h entry_percentiles,
 * entry_time_up) after a restart.
 *
 * Bounded twice: raw runs live a day (store_retention), and at most `limit`
 * of each target are read, through the runs_target index (target,
 * started_ms), newest first inside the subquery.
 */
#include "storage/internal.h"

#include <stdio.h>

int
store_each_recent_run(struct store *s, int64_t since_ms, int limit, store_run_point_cb cb,
                      void *arg)
{
	const char *sql = "SELECT t.relay, t.model, r.verdict, r.started_ms, r.requests,"
	                  " r.ok_requests, r.ttft_ms, r.tokens_per_s"
	                  " FROM targets t JOIN runs r ON r.target = t.id"
	                  " WHERE r.id IN (SELECT x.id FROM runs x WHERE x.target = t.id"
	                  "   AND x.started_ms >= ?1 ORDER BY x.started_ms DESC LIMIT ?2)"
	                  " ORDER BY t.id, r.started_ms";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, since_ms);
	sqlite3_bind_int(st, 2, limit);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *relay = (const char *)sqlite3_column_text(st, 0);
		const char *model = (const char *)sqlite3_column_text(st, 1);
		const char *verdict = (const char *)sqlite3_column_text(st, 2);
		struct store_run_point p = {
		    .relay = relay ? relay : "",
		    .model = model ? model : "",
		    .verdict = verdict ? verdict : "",
		    .started_ms = sqlite3_column_int64(st, 3),
		    .requests = (long)sqlite3_column_int64(st, 4),
		    .ok_requests = (long)sqlite3_column_int64(st, 5),
		    .ttft_ms = sqlite3_column_type(st, 6) == SQLITE_NULL
		                   ? -1
		                   : sqlite3_column_double(st, 6),
		    .tokens_per_s = sqlite3_column_type(st, 7) == SQLITE_NULL
		                        ? -1
		                        : sqlite3_column_double(st, 7),
		};
		cb(&p, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
