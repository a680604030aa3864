/*
 * history: reading the stored history back: summaries, rollup buckets,
 * uptime, verdict segments and incidents.
 *
 * These run at start-up, in `assay export` and in tools, never per page
 * request: the web serves from memory. Every query walks an index in key
 * order; none sorts a large table.
 */
#include "storage/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detect.h"
#include "scoring/origin.h"

static double
column_opt_real(struct db_stmt *st, int i)
{
	return db_column_null(st, i) ? -1 : db_column_double(st, i);
}

static const char *
column_text(struct db_stmt *st, int i)
{
	const char *v = db_column_text(st, i);
	return v ? v : "";
}

int
store_each_summary(struct store *s, int64_t window_ms, store_summary_cb cb, void *arg)
{
	const char *sql =
	    "SELECT t.relay, t.model, t.api, v.verdict, v.reason, v.findings, v.last_ms,"
	    " (SELECT count(*) FROM runs x WHERE x.target = t.id),"
	    " (SELECT coalesce(sum(requests), 0) FROM runs x WHERE x.target = t.id"
	    "   AND x.started_ms >= $1),"
	    " (SELECT coalesce(sum(ok_requests), 0) FROM runs x WHERE x.target = t.id"
	    "   AND x.started_ms >= $1),"
	    " (SELECT ttft_ms FROM runs x WHERE x.target = t.id ORDER BY started_ms DESC LIMIT 1),"
	    " (SELECT tokens_per_s FROM runs x WHERE x.target = t.id"
	    "   ORDER BY started_ms DESC LIMIT 1),"
	    " t.listed, t.listed_note, t.listed_models"
	    " FROM targets t JOIN verdicts v ON v.id = (SELECT id FROM verdicts y"
	    "   WHERE y.target = t.id ORDER BY last_ms DESC, id DESC LIMIT 1)"
	    " ORDER BY t.relay, t.model";
	struct db_stmt *st;
	if ((st = db_prepare(store_reader(s), sql)) == NULL)
		return -1;
	db_bind_int64(st, 1, wall_ms() - window_ms);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		struct store_summary sum = {
		    .relay = column_text(st, 0),
		    .model = column_text(st, 1),
		    .api = column_text(st, 2),
		    .verdict = column_text(st, 3),
		    .reason = column_text(st, 4),
		    .findings_json = column_text(st, 5),
		    .last_run_ms = db_column_int64(st, 6),
		    .runs = (long)db_column_int64(st, 7),
		    .requests = (long)db_column_int64(st, 8),
		    .ok_requests = (long)db_column_int64(st, 9),
		    .ttft_ms = column_opt_real(st, 10),
		    .tokens_per_s = column_opt_real(st, 11),
		    .listed = column_text(st, 12),
		    .listed_note = column_text(st, 13),
		    .listed_models = (long)db_column_int64(st, 14),
		};
		cb(&sum, arg);
	}
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

int
store_each_bucket(struct store *s, enum store_resolution res, int64_t since_ms, store_bucket_cb cb,
                  void *arg)
{
	int64_t len = store_resolution_ms(res);
	int64_t since = since_ms / len;
	char *sql =
	    xasprintf("SELECT t.relay, t.model, r.target, r.bucket, r.runs, r.requests, r.ok,"
	              " r.tokens, r.ttft_n, r.ttft_sum, r.ttft_sq, r.tps_n, r.tps_sum,"
	              " r.tps_sq FROM %s r JOIN targets t ON t.id = r.target"
	              " WHERE r.bucket >= $1 ORDER BY r.target, r.bucket",
	              store_rollup_table(res));
	struct db_stmt *st = NULL, *es = NULL, *os = NULL;
	int rc = -1;
	struct db *db = store_reader(s); /* the three on one connection */
	if ((st = db_prepare(db, sql)) == NULL ||
	    (es = db_prepare(db, "SELECT target, bucket, class, n FROM rollup_errors"
	                         " WHERE res = $1 AND bucket >= $2 ORDER BY target, bucket")) ==
	        NULL ||
	    (os = db_prepare(db, "SELECT target, bucket, backend, n FROM rollup_origin"
	                         " WHERE res = $1 AND bucket >= $2 ORDER BY target, bucket")) ==
	        NULL)
		goto out;
	db_bind_int64(st, 1, since);
	db_bind_int64(es, 1, (int)res);
	db_bind_int64(es, 2, since);
	db_bind_int64(os, 1, (int)res);
	db_bind_int64(os, 2, since);
	/* merge-join the error and origin rows, all in (target, bucket) order */
	int erc = db_step(es), orc = db_step(os);
	int step;
	while ((step = db_step(st)) == DB_ROW) {
		int64_t target = db_column_int64(st, 2), bucket = db_column_int64(st, 3);
		struct store_bucket b = {
		    .relay = column_text(st, 0),
		    .model = column_text(st, 1),
		    .start_ms = bucket * len,
		    .runs = (long)db_column_int64(st, 4),
		    .requests = (long)db_column_int64(st, 5),
		    .ok_requests = (long)db_column_int64(st, 6),
		    .tokens = (long)db_column_int64(st, 7),
		    .ttft_n = (long)db_column_int64(st, 8),
		    .ttft_sum = db_column_double(st, 9),
		    .ttft_sq = db_column_double(st, 10),
		    .tps_n = (long)db_column_int64(st, 11),
		    .tps_sum = db_column_double(st, 12),
		    .tps_sq = db_column_double(st, 13),
		};
		while (erc == DB_ROW) {
			int64_t et = db_column_int64(es, 0), eb = db_column_int64(es, 1);
			if (et > target || (et == target && eb > bucket))
				break;
			if (et == target && eb == bucket) {
				int e = error_class_from_name(column_text(es, 2));
				if (e > 0)
					b.errors[e] += (long)db_column_int64(es, 3);
			}
			erc = db_step(es);
		}
		while (orc == DB_ROW) {
			int64_t ot = db_column_int64(os, 0), ob = db_column_int64(os, 1);
			if (ot > target || (ot == target && ob > bucket))
				break;
			if (ot == target && ob == bucket)
				for (int k = 0; k < ORIGIN__COUNT; k++)
					if (strcmp(column_text(os, 2),
					           origin_backend_name((enum origin_backend)k)) ==
					    0)
						b.origin[k] += (long)db_column_int64(os, 3);
			orc = db_step(os);
		}
		cb(&b, arg);
	}
	if (step == DB_DONE && (erc == DB_ROW || erc == DB_DONE) &&
	    (orc == DB_ROW || orc == DB_DONE))
		rc = 0;
out:
	db_finalize(st);
	db_finalize(es);
	db_finalize(os);
	free(sql);
	return rc;
}

int
store_uptime(struct store *s, const char *relay, const char *model, int64_t since_ms,
             long *requests, long *ok_requests)
{
	const int64_t day = store_resolution_ms(STORE_DAY), hour = store_resolution_ms(STORE_HOUR);
	int64_t first_day = (since_ms + day - 1) / day;
	const char *sql =
	    "WITH t AS (SELECT id FROM targets WHERE relay = $1 AND model = $2)"
	    " SELECT coalesce(sum(requests), 0), coalesce(sum(ok), 0) FROM ("
	    "  SELECT requests, ok FROM rollup_hour WHERE target = (SELECT id FROM t)"
	    "   AND bucket >= $3 AND bucket < $4"
	    "  UNION ALL SELECT requests, ok FROM rollup_day WHERE target = (SELECT id FROM t)"
	    "   AND bucket >= $5) AS u";
	struct db_stmt *st;
	if ((st = db_prepare(store_reader(s), sql)) == NULL)
		return -1;
	db_bind_text(st, 1, relay);
	db_bind_text(st, 2, model);
	db_bind_int64(st, 3, since_ms / hour);
	db_bind_int64(st, 4, first_day * day / hour);
	db_bind_int64(st, 5, first_day);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*requests = (long)db_column_int64(st, 0);
		*ok_requests = (long)db_column_int64(st, 1);
	}
	db_finalize(st);
	return rc == DB_ROW ? 0 : -1;
}

/* On the primary: a lagging count would let a run pass a budget's cap. */
int
store_spend_since(struct store *s, const char *relay, int64_t since_ms, long *tokens, double *usd)
{
	const char *sql =
	    "SELECT coalesce(sum(r.tokens_spent), 0), coalesce(sum(r.cost_usd), 0)"
	    " FROM runs r JOIN targets t ON t.id = r.target"
	    " WHERE r.started_ms >= $1 AND (CAST($2 AS TEXT) IS NULL OR t.relay = $2)";
	struct db_stmt *st;
	*tokens = 0;
	*usd = 0;
	if ((st = db_prepare(s->db, sql)) == NULL) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
		return -1;
	}
	db_bind_int64(st, 1, since_ms);
	if (relay != NULL)
		db_bind_text(st, 2, relay);
	else
		db_bind_null(st, 2);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*tokens = (long)db_column_int64(st, 0);
		*usd = db_column_double(st, 1);
	} else {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	}
	db_finalize(st);
	return rc == DB_ROW ? 0 : -1;
}

/* Run sql on db (s's primary, or store_reader's replica) with $1, if it
 * has one, bound to bound, calling row(st, arg) per row. 0, or -1 on a
 * database error. */
static int
each_row(struct db *db, const char *sql, int64_t bound, void (*row)(struct db_stmt *st, void *arg),
         void *arg)
{
	struct db_stmt *st;
	if ((st = db_prepare(db, sql)) == NULL)
		return -1;
	db_bind_int64(st, 1, bound);
	int rc;
	while ((rc = db_step(st)) == DB_ROW)
		row(st, arg);
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

struct each_segment {
	store_segment_cb cb;
	void *arg;
};

static void
segment_row(struct db_stmt *st, void *arg)
{
	const struct each_segment *e = arg;
	struct timeline_segment seg = {
	    .relay = column_text(st, 0),
	    .model = column_text(st, 1),
	    .id = db_column_int64(st, 2),
	    .first_ms = db_column_int64(st, 3),
	    .last_ms = db_column_int64(st, 4),
	    .runs = (long)db_column_int64(st, 5),
	    .verdict = column_text(st, 6),
	    .reason = column_text(st, 7),
	    .findings_json = column_text(st, 8),
	    .classes = column_text(st, 9),
	};
	e->cb(&seg, e->arg);
}

static int
each_segment(struct db *db, int limit, store_segment_cb cb, void *arg)
{
	struct each_segment e = {cb, arg};
	return each_row(
	    db,
	    "SELECT t.relay, t.model, v.id, v.first_ms, v.last_ms, v.runs, v.verdict,"
	    " v.reason, v.findings, v.classes FROM targets t JOIN verdicts v ON v.target = t.id"
	    " AND v.id IN"
	    " (SELECT id FROM verdicts y WHERE y.target = t.id"
	    "  ORDER BY last_ms DESC, id DESC LIMIT $1)"
	    " ORDER BY t.id, v.last_ms, v.id",
	    limit, segment_row, &e);
}

int
store_each_segment(struct store *s, int limit, store_segment_cb cb, void *arg)
{
	return each_segment(store_reader(s), limit, cb, arg);
}

struct each_incident {
	store_incident_cb cb;
	void *arg;
};

/* Columns: relay, model, id, kind, opened_ms, resolved_ms (0 open), cause,
 * detail, failed_runs. */
static void
incident_row(struct db_stmt *st, void *arg)
{
	const struct each_incident *e = arg;
	struct timeline_incident inc = {
	    .relay = column_text(st, 0),
	    .model = column_text(st, 1),
	    .id = db_column_int64(st, 2),
	    .kind = column_text(st, 3),
	    .opened_ms = db_column_int64(st, 4),
	    .resolved_ms = db_column_int64(st, 5),
	    .cause = column_text(st, 6),
	    .detail = column_text(st, 7),
	    .failed_runs = (long)db_column_int64(st, 8),
	};
	e->cb(&inc, e->arg);
}

#define INCIDENT_COLUMNS                                                                           \
	"t.relay, t.model, i.id, i.kind, i.opened_ms, coalesce(i.resolved_ms, 0), i.cause,"        \
	" i.detail, i.failed_runs"

int
store_each_incident(struct store *s, int limit, store_incident_cb cb, void *arg)
{
	struct each_incident e = {cb, arg};
	return each_row(store_reader(s),
	                "SELECT " INCIDENT_COLUMNS
	                " FROM targets t JOIN incidents i ON i.target = t.id AND i.id IN"
	                " (SELECT id FROM incidents y WHERE y.target = t.id"
	                "  ORDER BY opened_ms DESC, id DESC LIMIT $1)"
	                " ORDER BY t.id, i.opened_ms, i.id",
	                limit, incident_row, &e);
}

static void
restore_segment_cb(const struct timeline_segment *seg, void *arg)
{
	timeline_restore_segment(arg, seg);
}

static void
restore_incident_cb(const struct timeline_incident *inc, void *arg)
{
	timeline_restore_incident(arg, inc);
}

static void
ledger_run_row(struct db_stmt *st, void *arg)
{
	ledger_restore_run(arg, column_text(st, 0), column_text(st, 1), db_column_int64(st, 2),
	                   (unsigned)db_column_int64(st, 3), (unsigned)db_column_int64(st, 4));
}

static void
ledger_shown_row(struct db_stmt *st, void *arg)
{
	int c = class_from_name(column_text(st, 2));
	if (c < 0)
		return; /* a class this build does not know */
	struct ledger_shown sh = {
	    .cls = (enum finding_class)c,
	    .at_ms = db_column_int64(st, 3),
	    .convicts = (int)db_column_int64(st, 4),
	    .confidence = db_column_double(st, 5),
	    .p_adjusted = db_column_double(st, 6),
	    .expected = column_text(st, 7),
	    .observed = column_text(st, 8),
	    .summary = column_text(st, 9),
	    .probe = column_text(st, 10),
	    .served = db_column_text(st, 11),
	};
	ledger_restore_shown(arg, column_text(st, 0), column_text(st, 1), &sh);
}

/* An e-process's state back: a JSON array of EVALUE_STATE numbers; 0 if
 * it is not one. */
static int
wealth_parse(const char *text, struct eprocess *e)
{
	double state[EVALUE_STATE];
	json_t *a = json_loads(text ? text : "", 0, NULL);
	int ok = json_is_array(a) && json_array_size(a) == EVALUE_STATE;
	for (size_t i = 0; ok && i < EVALUE_STATE; i++) {
		json_t *v = json_array_get(a, i);
		ok = json_is_number(v);
		if (ok)
			state[i] = json_number_value(v);
	}
	json_decref(a);
	return ok && eprocess_set_state(e, state) == 0;
}

static void
ledger_evidence_row(struct db_stmt *st, void *arg)
{
	int c = class_from_name(column_text(st, 2)), level = verdict_from_name(column_text(st, 3));
	if (c < 0 ||
	    (level != VERDICT_GENUINE && level != VERDICT_SUSPECT && level != VERDICT_MISBEHAVING))
		return; /* a class or level this build does not know */
	struct ledger_evidence ev = {.cls = (enum finding_class)c,
	                             .level = level,
	                             .since_ms = db_column_int64(st, 4),
	                             .decided_ms = db_column_int64(st, 5)};
	eprocess_init(&ev.conv);
	eprocess_init(&ev.lim);
	if (!wealth_parse(column_text(st, 7), &ev.conv) ||
	    !wealth_parse(column_text(st, 8), &ev.lim))
		return; /* unreadable: the class's test starts afresh */
	ev.conv.updates = ev.lim.updates = db_column_int64(st, 6);
	ledger_restore_evidence(arg, column_text(st, 0), column_text(st, 1), &ev);
}

/* Pooled answers: the rows of one run (relay, model, started_ms) go in
 * together, as ledger_add_answers wants them. */
struct answers {
	struct ledger *ledger;
	char *relay, *model;
	int64_t at_ms;
	char *texts[64];
	size_t n;
};

static void
answers_flush(struct answers *an)
{
	if (an->n > 0)
		ledger_add_answers(an->ledger, an->relay, an->model, an->at_ms,
		                   (const char *const *)an->texts, an->n);
	for (size_t i = 0; i < an->n; i++)
		free(an->texts[i]);
	an->n = 0;
	free(an->relay);
	free(an->model);
	an->relay = an->model = NULL;
}

static void
answer_row(struct db_stmt *st, void *arg)
{
	struct answers *an = arg;
	const char *relay = column_text(st, 0), *model = column_text(st, 1);
	int64_t at = db_column_int64(st, 2);
	if (an->relay == NULL || strcmp(an->relay, relay) != 0 || strcmp(an->model, model) != 0 ||
	    an->at_ms != at) {
		answers_flush(an);
		an->relay = xstrdup(relay);
		an->model = xstrdup(model);
		an->at_ms = at;
	}
	if (an->n < 64)
		an->texts[an->n++] = xstrdup(column_text(st, 3));
}

/* On the primary: the segment ids the next runs update and the ledger's
 * window must be the latest, not a replica's (storage/replica.c). */
int
store_restore(struct store *s, struct timeline *timeline, struct ledger *ledger, int64_t now_ms)
{
	struct each_incident open = {restore_incident_cb, timeline};
	if (timeline != NULL &&
	    (each_segment(s->db, 1, restore_segment_cb, timeline) != 0 ||
	     each_row(s->db,
	              "SELECT " INCIDENT_COLUMNS " FROM incidents i JOIN targets t"
	              " ON t.id = i.target WHERE i.resolved_ms IS NULL ORDER BY i.id",
	              0, incident_row, &open) != 0))
		return -1;
	if (ledger == NULL)
		return 0;
	int64_t since = now_ms - ledger_window_ms(ledger);
	if (each_row(s->db,
	             "SELECT t.relay, t.model, l.at_ms, l.misbehaving, l.suspect FROM ledger_runs l"
	             " JOIN targets t ON t.id = l.target WHERE l.at_ms >= $1 ORDER BY l.at_ms",
	             since, ledger_run_row, ledger) != 0 ||
	    each_row(s->db,
	             "SELECT t.relay, t.model, l.class, l.at_ms, l.convicts, l.confidence,"
	             " l.p_adjusted, l.expected, l.observed, l.summary, l.probe, l.served"
	             " FROM ledger_shown l JOIN targets t ON t.id = l.target",
	             0, ledger_shown_row, ledger) != 0 ||
	    each_row(s->db,
	             "SELECT t.relay, t.model, l.class, l.level, l.since_ms, l.decided_ms,"
	             " l.updates, l.conv, l.lim FROM ledger_evidence l"
	             " JOIN targets t ON t.id = l.target",
	             0, ledger_evidence_row, ledger) != 0)
		return -1;
	struct answers an = {.ledger = ledger};
	int rc = each_row(s->db,
	                  "SELECT t.relay, t.model, r.started_ms, o.text FROM observations o"
	                  " JOIN runs r ON r.id = o.run_id JOIN targets t ON t.id = r.target"
	                  " WHERE o.probe = '" STYLE_PROBE "' AND o.error_class = 'none'"
	                  /* a run's answers start after it: the window's are
	                   * read from observations_style (schema 13); the run's
	                   * own bound is unary-plussed so that no planner walks
	                   * the window's runs instead (SQLite did with ANALYZE's
	                   * statistics: 3.2 s against 4 ms on a 1,000-target day) */
	                  " AND o.text IS NOT NULL AND o.started_ms >= $1 AND +r.started_ms >= $1"
	                  " ORDER BY r.started_ms, r.id, o.id",
	                  since, answer_row, &an);
	answers_flush(&an);
	return rc;
}
