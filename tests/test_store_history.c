/*
 * Store history: rollups with error classes, verdict segments, incidents
 * with damping, bounded retention, the upgrade from schema 1, uptime. Run
 * against SQLite here and against PostgreSQL by
 * tests/test_store_history_pg.c (tests/store_engine.h).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#ifndef STORE_TEST_POSTGRES
#include <sqlite3.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "scoring/ledger_test.h"
#include "scoring/timeline.h"
#include "storage/store.h"
#include "storage/store_test.h"
#include "tests/helpers.h"
#include "tests/store_engine.h"

static char dir[64];
static char path[256];

static void
setup(void)
{
	store_test_setup(dir, sizeof dir, "hist", path, sizeof path, "t.db");
}

static struct timeline *tl;

static void
teardown(void)
{
	timeline_free(tl);
	tl = NULL;
	store_test_teardown(dir);
}

static struct probe_def probe = {.id = (char *)"ping", .samples = 1};

/* One run of two requests at at_ms: ok_count of them succeed, the others
 * fail with error class err. verdict: 0 genuine, 1 misbehaving. */
struct fake {
	struct audit_run run;
	struct audit_item items[2];
	struct observation obs[2];
	struct assessment a;
};

static void
fake_init(struct fake *f, const char *relay, int64_t at_ms, int ok_count, enum error_class err,
          int misbehaving)
{
	memset(f, 0, sizeof *f);
	f->run.target.relay = (char *)relay;
	f->run.target.model = (char *)"gpt-4o";
	f->run.target.api_key = (char *)"sk-never";
	f->run.started_ms = at_ms;
	f->run.finished_ms = at_ms + 100;
	for (int i = 0; i < 2; i++) {
		struct observation *o = &f->obs[i];
		observation_init(o);
		o->started_ms = at_ms;
		int ok = i < ok_count;
		o->http_status = ok ? 200 : 503;
		o->error = ok ? ERR_NONE : err;
		if (!ok)
			o->error_detail = xstrdup("HTTP 503: <b>upstream</b> down");
		f->items[i].probe = &probe;
		f->items[i].sample = i;
		f->items[i].obs = o;
	}
	f->run.items = f->items;
	f->run.n_items = 2;
	assessment_init(&f->a);
	f->a.requests = 2;
	f->a.ok_requests = ok_count;
	f->a.strong_checks_passed = 1;
	f->a.ttft_ms = ok_count ? 300 : -1;
	f->a.tokens_per_s = ok_count ? 50 : -1;
	f->a.tokens_spent = 10;
	if (misbehaving)
		assessment_add(&f->a, CLASS_SUBSTITUTION, CONFIDENCE_VIOLATION, "o200k", "qwen3",
		               "tokfp", "qwen3-32b", "the tokenizer is not gpt-4o's");
	assessment_decide(&f->a);
}

static void
fake_release(struct fake *f)
{
	assessment_release(&f->a);
	for (int i = 0; i < 2; i++)
		observation_release(&f->obs[i]);
}

/*
 * What serve does with a run: the timeline decides its history, storage
 * keeps it, the ids come back to the timeline. out (may be NULL) gets the
 * change with its rows' ids; its strings are the timeline's. The timeline
 * is the one of the store opened last (open_store()), restored from it.
 */
static struct store *
open_store(int readonly)
{
	char err[256];
	struct store *s = store_open(path, readonly, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	timeline_free(tl);
	tl = timeline_new();
	cr_assert_eq(store_restore(s, tl, NULL, 0), 0);
	return s;
}

static int64_t
save(struct store *s, const char *relay, int64_t at_ms, int ok_count, enum error_class err,
     int misbehaving, struct timeline_change *out)
{
	struct fake f;
	fake_init(&f, relay, at_ms, ok_count, err, misbehaving);
	int64_t id = test_save_run(s, tl, &f.run, &f.a, out);
	fake_release(&f);
	return id;
}

struct collected {
	int n;
	struct store_bucket last;
	long requests, ok, errors[ERR__COUNT];
};

static void
bucket_cb(const struct store_bucket *b, void *arg)
{
	struct collected *c = arg;
	c->n++;
	c->last = *b;
	c->requests += b->requests;
	c->ok += b->ok_requests;
	for (int i = 0; i < ERR__COUNT; i++)
		c->errors[i] += b->errors[i];
}

/* A fixed midnight so minute, hour and day buckets are predictable. */
#define T0 (1767225600000LL) /* 2026-01-01 00:00 UTC */

Test(store_history, rollups_count_requests_and_error_classes, .init = setup, .fini = teardown)
{
	struct store *s = open_store(0);
	cr_assert_gt(save(s, "r", T0 + 1000, 2, ERR_NONE, 0, NULL), 0);
	cr_assert_gt(save(s, "r", T0 + 2000, 1, ERR_TIMEOUT, 0, NULL), 0);       /* same minute */
	cr_assert_gt(save(s, "r", T0 + 61000, 0, ERR_RATE_LIMITED, 0, NULL), 0); /* next minute */
	cr_assert_gt(save(s, "r", T0 + 3600000, 1, ERR_AUTH, 0, NULL), 0);       /* next hour */

	struct collected m = {0}, h = {0}, d = {0};
	cr_assert_eq(store_each_bucket(s, STORE_MINUTE, T0, bucket_cb, &m), 0);
	cr_expect_eq(m.n, 3, "minute buckets");
	cr_assert_eq(store_each_bucket(s, STORE_HOUR, T0, bucket_cb, &h), 0);
	cr_expect_eq(h.n, 2, "hour buckets");
	cr_assert_eq(store_each_bucket(s, STORE_DAY, T0, bucket_cb, &d), 0);
	cr_expect_eq(d.n, 1, "day buckets");
	cr_expect_eq(d.last.runs, 4);
	cr_expect_eq(d.last.requests, 8);
	cr_expect_eq(d.last.ok_requests, 4);
	cr_expect_eq(d.last.errors[ERR_TIMEOUT], 1);
	cr_expect_eq(d.last.errors[ERR_RATE_LIMITED], 2);
	cr_expect_eq(d.last.errors[ERR_AUTH], 1);
	cr_expect_eq(d.last.ttft_n, 3, "runs with a TTFT");
	cr_expect_float_eq(d.last.ttft_sum, 900, 1e-9);
	cr_expect_eq(d.last.tokens, 40);
	cr_expect_eq(h.errors[ERR_RATE_LIMITED], 2);
	cr_expect_eq(m.errors[ERR_TIMEOUT], 1);

	/* buckets before since_ms are not returned */
	struct collected later = {0};
	cr_assert_eq(store_each_bucket(s, STORE_HOUR, T0 + 3600000, bucket_cb, &later), 0);
	cr_expect_eq(later.n, 1);

	long req = 0, ok = 0;
	cr_assert_eq(store_uptime(s, "r", "gpt-4o", T0 - 86400000LL * 90, &req, &ok), 0);
	cr_expect_eq(req, 8);
	cr_expect_eq(ok, 4);
	cr_assert_eq(store_uptime(s, "r", "gpt-4o", T0 + 3600000, &req, &ok), 0);
	cr_expect_eq(req, 2, "a partial first day is counted from hour rollups");
	cr_assert_eq(store_uptime(s, "nobody", "gpt-4o", T0, &req, &ok), 0);
	cr_expect_eq(req, 0);
	store_close(s);
}

Test(store_history, incidents_open_after_three_failures_and_resolve_after_two_good, .init = setup,
     .fini = teardown)
{
	struct store *s = open_store(0);
	struct timeline_change out;
	int64_t t = T0;
	/* one failure, then good: no incident (damping) */
	save(s, "r", t += 60000, 0, ERR_UPSTREAM, 0, &out);
	cr_expect_eq(out.n_incidents, 0);
	save(s, "r", t += 60000, 2, ERR_NONE, 0, &out);
	cr_expect_eq(out.n_incidents, 0);
	/* two failures in a row: still nothing */
	save(s, "r", t += 60000, 0, ERR_UPSTREAM, 0, &out);
	int64_t first_fail = t;
	save(s, "r", t += 60000, 0, ERR_TIMEOUT, 0, &out);
	cr_expect_eq(out.n_incidents, 0);
	/* the third opens it, dated from the first */
	save(s, "r", t += 60000, 0, ERR_UPSTREAM, 0, &out);
	cr_assert_eq(out.n_incidents, 1);
	cr_expect_str_eq(out.incidents[0].kind, "outage");
	cr_expect_eq(out.incidents[0].opened_ms, first_fail);
	cr_expect_eq(out.incidents[0].resolved_ms, 0);
	cr_expect_str_eq(out.incidents[0].cause, "upstream");
	cr_expect_eq(out.incidents[0].failed_runs, 3);
	int64_t id = out.incidents[0].id;
	/* one good run does not resolve it */
	save(s, "r", t += 60000, 2, ERR_NONE, 0, &out);
	int64_t first_good = t;
	cr_expect_eq(out.n_incidents, 0);
	save(s, "r", t += 60000, 2, ERR_NONE, 0, &out);
	cr_assert_eq(out.n_incidents, 1);
	cr_expect_eq(out.incidents[0].id, id);
	cr_expect_eq(out.incidents[0].resolved_ms, first_good);
	store_close(s);

	/* an open incident survives a restart and resolves later */
	s = open_store(0);
	for (int i = 0; i < 3; i++)
		save(s, "r", t += 60000, 0, ERR_QUOTA, 0, &out);
	cr_assert_eq(out.n_incidents, 1);
	cr_expect_str_eq(out.incidents[0].cause, "quota");
	id = out.incidents[0].id;
	store_close(s);
	s = open_store(0);
	save(s, "r", t += 60000, 2, ERR_NONE, 0, &out);
	save(s, "r", t += 60000, 2, ERR_NONE, 0, &out);
	cr_assert_eq(out.n_incidents, 1);
	cr_expect_eq(out.incidents[0].id, id);
	cr_expect_gt(out.incidents[0].resolved_ms, 0);
	store_close(s);
}

static int n_incidents_seen;

static void
incident_cb(const struct timeline_incident *inc, void *arg)
{
	(void)arg;
	n_incidents_seen++;
	cr_expect_str_eq(inc->kind, "misbehaving");
}

Test(store_history, misbehaving_incident_and_segments, .init = setup, .fini = teardown)
{
	struct store *s = open_store(0);
	struct timeline_change out;
	int64_t t = T0;
	save(s, "r", t += 60000, 2, ERR_NONE, 0, &out);
	cr_expect_str_eq(out.segment.verdict, "genuine");
	int64_t seg = out.segment.id;
	save(s, "r", t += 60000, 2, ERR_NONE, 0, &out);
	cr_expect_eq(out.segment.id, seg, "same verdict extends the segment");
	cr_expect_eq(out.segment.runs, 2);
	for (int i = 0; i < 3; i++)
		save(s, "r", t += 60000, 2, ERR_NONE, 1, &out);
	cr_expect_str_eq(out.segment.verdict, "misbehaving");
	cr_expect_neq(out.segment.id, seg);
	cr_expect_eq(out.segment.runs, 3);
	cr_expect_not_null(strstr(out.segment.findings_json, "substitution"));
	cr_assert_eq(out.n_incidents, 1, "three misbehaving runs open an incident");
	cr_expect_str_eq(out.incidents[0].kind, "misbehaving");
	cr_expect_str_eq(out.incidents[0].cause, "substitution");
	/* an unreachable run neither resolves nor extends it */
	save(s, "r", t += 60000, 0, ERR_TIMEOUT, 0, &out);
	cr_expect_str_eq(out.segment.verdict, "unreachable");
	store_close(s);

	s = open_store(1);
	n_incidents_seen = 0;
	cr_expect_eq(store_each_incident(s, 10, incident_cb, NULL), 0);
	cr_expect_eq(n_incidents_seen, 1);
	store_close(s);
}

static int segs;
static void
segment_cb(const struct timeline_segment *seg, void *arg)
{
	(void)arg;
	/* oldest first: genuine for two runs, then misbehaving */
	cr_expect_str_eq(seg->relay, "a");
	if (segs == 0) {
		cr_expect_str_eq(seg->verdict, "genuine");
		cr_expect_eq(seg->runs, 2);
	} else {
		cr_expect_str_eq(seg->verdict, "misbehaving");
		cr_expect_eq(seg->runs, 1);
		cr_expect_not_null(strstr(seg->findings_json, "substitution"));
	}
	segs++;
}

Test(store_history, retention_deletes_in_bounded_steps, .init = setup, .fini = teardown)
{
	struct store *s = open_store(0);
	int64_t now = T0 + 500LL * 86400000;
	/* 300 old runs (a year ago, one a minute) and 5 fresh ones */
	for (int i = 0; i < 300; i++)
		cr_assert_gt(
		    save(s, "old", now - 365LL * 86400000 + i * 60000LL, 1, ERR_TIMEOUT, 0, NULL),
		    0);
	for (int i = 0; i < 5; i++)
		cr_assert_gt(save(s, "new", now - 60000LL * (5 - i), 2, ERR_NONE, 0, NULL), 0);
	struct store_retention r;
	store_retention_default(&r);
	long budget = 100, total = 0, steps = 0, n;
	while ((n = store_retention_step(s, &r, now, budget)) > 0) {
		cr_assert_leq(n, 2 * budget, "a step deleted %ld rows, budget %ld", n, budget);
		total += n;
		cr_assert_lt(++steps, 1000, "retention does not converge");
	}
	cr_expect_eq(n, 0);
	cr_expect_gt(steps, 2, "the backlog was cleared in one step: not bounded");
	store_close(s);

	s = open_store(1);
	const char *checks[][2] = {
	    {"SELECT count(*) FROM runs", "5"},
	    {"SELECT count(*) FROM observations", "10"},
	    {"SELECT count(*) FROM rollup_minute", "5"},
	    {"SELECT count(*) FROM rollup_hour", "1"},
	    /* day rollups of a year ago are within 400 days: kept */
	    {"SELECT count(*) FROM rollup_day WHERE target = (SELECT id FROM targets"
	     " WHERE relay = 'old')",
	     "1"},
	};
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		char got[256];
		cr_assert_eq(store_test_scalar(s, checks[i][0], got, sizeof got), 1, "%s: %s",
		             checks[i][0], got);
		cr_expect_str_eq(got, checks[i][1], "%s", checks[i][0]);
	}
	store_close(s);
	cr_expect_gt(total, 300);
}

Test(store_history, upgrade_from_schema_1_keeps_history, .init = setup, .fini = teardown)
{
#ifdef STORE_TEST_POSTGRES
	(void)segment_cb;
	cr_skip_test("SQLite only: a PostgreSQL store begins at schema 10 (there is no schema 1 "
	             "to upgrade; storage/schema_postgres.c)");
#else
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	const char *v1 =
	    "CREATE TABLE runs (id INTEGER PRIMARY KEY, relay TEXT NOT NULL, model TEXT NOT NULL,"
	    " started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL, verdict TEXT NOT NULL,"
	    " reason TEXT NOT NULL DEFAULT '', tokens_spent INTEGER NOT NULL DEFAULT 0,"
	    " requests INTEGER NOT NULL DEFAULT 0, ok_requests INTEGER NOT NULL DEFAULT 0,"
	    " ttft_ms REAL, tokens_per_s REAL, findings TEXT NOT NULL DEFAULT '[]');"
	    "CREATE INDEX runs_target ON runs(relay, model, started_ms);"
	    "CREATE TABLE observations (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL"
	    " REFERENCES runs(id) ON DELETE CASCADE, relay TEXT NOT NULL, model TEXT NOT NULL,"
	    " probe TEXT NOT NULL, sample INTEGER NOT NULL DEFAULT 0, started_ms INTEGER NOT NULL,"
	    " http_status INTEGER NOT NULL, error_class TEXT NOT NULL, error_detail TEXT,"
	    " dns_us INTEGER, connect_us INTEGER, tls_us INTEGER, ttfb_us INTEGER,"
	    " ttft_us INTEGER, total_us INTEGER, chunks INTEGER, chunk_us BLOB,"
	    " prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER,"
	    " cached_tokens INTEGER, model_reported TEXT, response_id TEXT,"
	    " system_fingerprint TEXT, finish_reason TEXT, text TEXT,"
	    " text_truncated INTEGER NOT NULL DEFAULT 0, retry_after_s INTEGER,"
	    " ratelimit_remaining TEXT, request_id TEXT);"
	    "CREATE INDEX observations_target ON observations(relay, model, started_ms);"
	    "CREATE INDEX observations_run ON observations(run_id);"
	    "INSERT INTO runs VALUES (1, 'a', 'gpt-4o', 1767225600000, 1767225600100, 'genuine',"
	    " 'ok', 10, 2, 2, 300, 50, '[]');"
	    "INSERT INTO runs VALUES (2, 'a', 'gpt-4o', 1767225660000, 1767225660100, 'genuine',"
	    " 'ok', 10, 2, 1, 310, 52, '[]');"
	    "INSERT INTO runs VALUES (3, 'a', 'gpt-4o', 1767225720000, 1767225720100,"
	    " 'misbehaving', 'sub', 10, 2, 2, 300, 50,"
	    " '[{\"class\":\"substitution\",\"confidence\":0.999}]');"
	    "INSERT INTO observations(run_id, relay, model, probe, started_ms, http_status,"
	    " error_class) VALUES (2, 'a', 'gpt-4o', 'ping', 1767225660000, 200, 'none'),"
	    " (2, 'a', 'gpt-4o', 'ping', 1767225660000, 429, 'rate_limited');"
	    "PRAGMA user_version = 1;";
	cr_assert_eq(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);

	char err[256];
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "upgrade failed: %s", err);
	struct collected d = {0};
	cr_assert_eq(store_each_bucket(s, STORE_DAY, T0, bucket_cb, &d), 0);
	cr_expect_eq(d.n, 1);
	cr_expect_eq(d.last.runs, 3);
	cr_expect_eq(d.last.requests, 6);
	cr_expect_eq(d.last.ok_requests, 5);
	cr_expect_eq(d.last.errors[ERR_RATE_LIMITED], 1);
	segs = 0;
	cr_expect_eq(store_each_segment(s, 10, segment_cb, NULL), 0);
	cr_expect_eq(segs, 2);
	store_close(s);
#endif
}

static struct probe_def style_probe = {.id = (char *)"style", .samples = 1};

Test(store_history, the_ledger_survives_a_restart, .init = setup, .fini = teardown)
{
	/* three misbehaving runs, each with one free answer to the style probe,
	 * after one older than the ledger's window (25 hours ago) */
	struct store *s = open_store(0);
	struct ledger *l = ledger_new(24 * 3600 * 1000LL);
	int64_t now = wall_ms();
	for (int i = -1; i < 3; i++) {
		struct fake f;
		fake_init(&f, "r", now - 3600000LL * (i < 0 ? 25 : 3 - i), 2, ERR_NONE, 1);
		f.items[1].probe = &style_probe;
		f.obs[1].text = i < 0 ? xstrdup("out of the window") : xasprintf("answer %d", i);
		f.obs[1].text_len = strlen(f.obs[1].text);
		struct ledger_entry entry;
		ledger_fold(l, "r", "gpt-4o", f.run.started_ms, &f.a, &entry);
		cr_assert_gt(store_save_run(s, &f.run, &f.a, NULL, &entry, NULL), 0);
		fake_release(&f);
	}
	ledger_free(l);
	store_close(s);

	/* a new process: the window and the answers come back from the database */
	s = open_store(0);
	l = ledger_new(24 * 3600 * 1000LL);
	cr_assert_eq(store_restore(s, NULL, l, now), 0);
	cr_expect_eq(ledger_runs(l, "r", "gpt-4o"), 3);
	const char *pool[64];
	int runs = 0;
	cr_expect_eq(ledger_answers(l, "r", "gpt-4o", pool, 64, &runs), 3);
	cr_expect_eq(runs, 3);
	cr_expect_str_eq(pool[0], "answer 0");
	/* the e-processes come back: the class stays decided */
	int level = -1;
	cr_expect_gt(ledger_evalue(l, "r", "gpt-4o", CLASS_SUBSTITUTION, &level), 8000);
	cr_expect_eq(level, VERDICT_MISBEHAVING);
	/* an honest run now: the window still convicts, and says how often */
	struct fake f;
	fake_init(&f, "r", now, 2, ERR_NONE, 0);
	ledger_fold(l, "r", "gpt-4o", now, &f.a, NULL);
	cr_expect_eq(f.a.verdict, VERDICT_MISBEHAVING, "%s", f.a.reason);
	cr_expect(f.a.reason != NULL && strstr(f.a.reason, "seen in 3 of the last 4 runs") != NULL,
	          "%s", f.a.reason);
	fake_release(&f);
	/* runs older than the window are not read back */
	ledger_free(l);
	l = ledger_new(24 * 3600 * 1000LL);
	cr_assert_eq(store_restore(s, NULL, l, now + 48 * 3600 * 1000LL), 0);
	cr_expect_eq(ledger_runs(l, "r", "gpt-4o"), 0);
	ledger_free(l);
	store_close(s);
}

/* The agents' regional runs are raw data (kept raw_ms), the hub's resolved
 * outages history (day_ms); an open outage stays. */
Test(store_history, retention_trims_agents_runs_and_resolved_outages, .init = setup,
     .fini = teardown)
{
	struct store *s = open_store(0);
	int64_t now = T0 + 10LL * 86400000;
	for (int i = 0; i < 40; i++) {
		struct fake f;
		/* 30 two days old, 10 fresh */
		fake_init(&f, "r", i < 30 ? now - 2 * 86400000LL + i : now - 1000 + i, 1,
		          ERR_TIMEOUT, 0);
		cr_assert_gt(store_agent_save_run(s, "eu", &f.run, &f.a), 0, "%s",
		             store_last_error(s));
		fake_release(&f);
	}
	cr_assert_gt(store_region_outage_open(s, "r", "gpt-4o", now - 500LL * 86400000, "eu,us", 3),
	             0);
	cr_assert_eq(store_region_outage_resolve(s, "r", "gpt-4o", now - 499LL * 86400000), 0);
	cr_assert_gt(store_region_outage_open(s, "r", "gpt-4o", now - 450LL * 86400000, "eu,us", 3),
	             0, "an open outage");
	struct store_retention r;
	store_retention_default(&r);
	long n, steps = 0;
	while ((n = store_retention_step(s, &r, now, 16)) > 0)
		cr_assert_lt(++steps, 1000, "retention does not converge");
	cr_expect_eq(n, 0);
	const char *checks[][2] = {
	    {"SELECT count(*) FROM agent_runs", "10"},
	    {"SELECT count(*) FROM agent_observations", "20"},
	    {"SELECT count(*) FROM region_outages", "1"},
	    {"SELECT count(*) FROM region_outages WHERE resolved_ms IS NULL", "1"},
	};
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		char got[256];
		cr_assert_eq(store_test_scalar(s, checks[i][0], got, sizeof got), 1, "%s: %s",
		             checks[i][0], got);
		cr_expect_str_eq(got, checks[i][1], "%s", checks[i][0]);
	}
	store_close(s);
}

static void
count_bucket_cb(const struct store_bucket *b, void *arg)
{
	struct collected *c = arg;
	/* each bucket's error classes are its own: every other minute failed */
	long minute = (long)((b->start_ms - T0) / 60000);
	cr_expect_eq(b->errors[ERR_TIMEOUT], minute % 2 ? 1 : 0, "minute %ld", minute);
	c->n++;
	c->errors[ERR_TIMEOUT] += b->errors[ERR_TIMEOUT];
}

/* Hundreds of buckets, their error rows merged in order (on PostgreSQL the
 * three queries share one connection: the rows of one are read ahead while
 * another streams). */
Test(store_history, many_buckets_merge_their_error_classes, .init = setup, .fini = teardown)
{
	struct store *s = open_store(0);
	for (int i = 0; i < 600; i++)
		cr_assert_gt(
		    save(s, "r", T0 + i * 60000LL + 5, i % 2 ? 1 : 2, ERR_TIMEOUT, 0, NULL), 0);
	struct collected c = {0};
	cr_assert_eq(store_each_bucket(s, STORE_MINUTE, T0, count_bucket_cb, &c), 0);
	cr_expect_eq(c.n, 600);
	cr_expect_eq(c.errors[ERR_TIMEOUT], 300);
	store_close(s);
}

/* The pages' recent runs after a restart (store_each_recent_run): each
 * target's newest `limit` within the window, oldest first, targets in
 * order; a target with fewer gives them all, runs before the window none. */
struct recent_seen {
	char relay[32][16];
	int64_t at[32];
	int n;
};

static void
recent_cb(const struct store_run_point *p, void *arg)
{
	struct recent_seen *r = arg;
	if (r->n < 32) {
		snprintf(r->relay[r->n], sizeof r->relay[r->n], "%s", p->relay);
		r->at[r->n++] = p->started_ms;
	}
}

Test(store_history, recent_runs_are_each_targets_newest, .init = setup, .fini = teardown)
{
	struct store *s = open_store(0);
	for (int i = 0; i < 9; i++) /* many: minute 0 .. 8 */
		cr_assert_gt(save(s, "many", T0 + i * 60000LL, 2, ERR_NONE, 0, NULL), 0);
	for (int i = 0; i < 2; i++) /* few: minute 5, 6 */
		cr_assert_gt(save(s, "few", T0 + (5 + i) * 60000LL, 2, ERR_NONE, 0, NULL), 0);
	cr_assert_gt(save(s, "old", T0 - 3600000LL, 2, ERR_NONE, 0, NULL), 0);
	struct recent_seen r = {.n = 0};
	cr_assert_eq(store_each_recent_run(s, T0, 4, recent_cb, &r), 0);
	/* targets in the order they were made: many (its newest 4: minutes 5
	 * to 8, oldest first), then few (both); old: before the window */
	cr_assert_eq(r.n, 6, "%d runs", r.n);
	for (int i = 0; i < 4; i++) {
		cr_expect_str_eq(r.relay[i], "many");
		cr_expect_eq(r.at[i], T0 + (5 + i) * 60000LL, "run %d at minute %lld", i,
		             (long long)((r.at[i] - T0) / 60000));
	}
	cr_expect_str_eq(r.relay[4], "few");
	cr_expect_eq(r.at[4], T0 + 5 * 60000LL);
	cr_expect_str_eq(r.relay[5], "few");
	cr_expect_eq(r.at[5], T0 + 6 * 60000LL);
	store_close(s);
}
