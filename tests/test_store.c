/*
 * Store: migrations, saving a run, summaries, pruning, no secrets. Run
 * against SQLite here and against PostgreSQL by tests/test_store_pg.c
 * (tests/store_engine.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "scoring/listing.h"
#include "scoring/verdict.h"
#include "storage/store.h"
#include "storage/store_test.h"
#include "tests/helpers.h"
#include "tests/store_engine.h"

static char dir[64];
static char path[256];

static void
setup(void)
{
	store_test_setup(dir, sizeof dir, "store", path, sizeof path, "t.db");
}

static void
teardown(void)
{
	store_test_teardown(dir);
}

/* The first column of sql's first row, as text, from the store at path. */
static void
scalar(const char *sql, char *out, size_t n)
{
	char err[256];
	struct store *s = store_open(path, 1, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(store_test_scalar(s, sql, out, n), 1, "%s: %s", sql, out);
	store_close(s);
}

static void
fake_run(struct test_run *t, int ok)
{
	test_run_init(t, "r1", "gpt-4o", wall_ms());
	t->run.target.api_key = (char *)"sk-secret-never-stored";
	struct observation *o = &t->obs;
	o->http_status = ok ? 200 : 503;
	o->error = ok ? ERR_NONE : ERR_UPSTREAM;
	o->text = xstrdup("pong");
	o->text_len = 4;
	o->prompt_tokens = 10;
}

static int summaries;
static void
summary_cb(const struct store_summary *s, void *arg)
{
	(void)arg;
	summaries++;
	cr_expect_str_eq(s->relay, "r1");
	cr_expect_str_eq(s->verdict, "genuine");
	cr_expect_eq(s->runs, 2);
	cr_expect_eq(s->requests, 2);
	cr_expect_eq(s->ok_requests, 1);
}

Test(store, save_and_summarise, .init = setup, .fini = teardown)
{
	char err[256];
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	struct test_run t;
	struct assessment a;
	for (int i = 0; i < 2; i++) {
		fake_run(&t, i == 1);
		assessment_init(&a);
		a.requests = 1;
		a.ok_requests = i == 1;
		a.strong_checks_passed = 1;
		assessment_decide(&a);
		cr_expect_gt(test_save_run(s, test_timeline(), &t.run, &a, NULL), 0);
		assessment_release(&a);
		test_run_release(&t);
	}
	summaries = 0;
	cr_expect_eq(store_each_summary(s, 3600000, summary_cb, NULL), 0);
	cr_expect_eq(summaries, 1);
	cr_expect_eq(store_prune_observations(s, wall_ms() + 1000), 2);
	store_close(s);

	/* nothing secret in the database: the file, or all PostgreSQL holds
	 * of it (pg_dump); WAL mode on (SQLite), schema version set */
	char cmd[768];
#ifdef STORE_TEST_POSTGRES
	snprintf(cmd, sizeof cmd, "%s/pg_dump -d '%s' > '%s/dump.sql'", test_pg_bindir(), path,
	         dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(cmd, sizeof cmd, "grep -q 'gpt-4o' '%s/dump.sql'", dir);
	cr_assert_eq(system(cmd), 0, "the dump does not hold the answer: it proves nothing");
	snprintf(cmd, sizeof cmd, "grep -q sk-secret-never-stored '%s/dump.sql'", dir);
#else
	snprintf(cmd, sizeof cmd, "grep -q sk-secret-never-stored '%s'*", path);
#endif
	cr_expect_neq(system(cmd), 0, "the API key reached the database");
	char got[64];
	if (!store_test_postgres()) {
		scalar("PRAGMA journal_mode", got, sizeof got);
		cr_expect_str_eq(got, "wal");
	}
	s = store_open(path, 1, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	struct store_stats st;
	cr_assert_eq(store_stats(s, &st), 0);
	cr_expect_eq(st.schema_version, store_schema_version());
	cr_expect_eq(st.targets, 1);
	cr_expect_gt(st.file_bytes, 0);
	store_close(s);
}

static void
listing_cb(const struct store_summary *s, void *arg)
{
	char *out = arg;
	snprintf(out, 256, "%s|%ld|%s", s->listed ? s->listed : "NULL", s->listed_models,
	         s->listed_note ? s->listed_note : "NULL");
}

/* What the model list said is kept with the target for the relay page; a
 * run that did not ask leaves it as it was. */
Test(store, keeps_the_latest_model_list_state, .init = setup, .fini = teardown)
{
	char err[256], got[256] = "";
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	struct test_run t;
	struct assessment a;
	for (int i = 0; i < 3; i++) {
		fake_run(&t, 1);
		assessment_init(&a);
		a.requests = a.ok_requests = 1;
		a.strong_checks_passed = 1;
		assessment_decide(&a);
		if (i < 2) {
			a.listing = i == 0 ? LISTING_LISTED : LISTING_UNLISTED;
			a.listing_count = 7 + i;
			a.listing_note = xstrdup(i == 0 ? "first" : "second");
		}
		cr_expect_gt(test_save_run(s, test_timeline(), &t.run, &a, NULL), 0);
		assessment_release(&a);
		test_run_release(&t);
		cr_expect_eq(store_each_summary(s, 3600000, listing_cb, got), 0);
		cr_expect_str_eq(got, i == 0 ? "listed|7|first" : "not listed|8|second", "run %d",
		                 i);
	}
	store_close(s);
}

Test(store, refuses_a_newer_schema, .init = setup, .fini = teardown)
{
	char err[256];
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(store_test_exec(s,
	                             store_test_postgres() ? "UPDATE assay_schema SET version = 999"
	                                                   : "PRAGMA user_version = 999",
	                             err, sizeof err),
	             0, "%s", err);
	store_close(s);
	cr_expect_null(store_open(path, 0, err, sizeof err));
	cr_expect_not_null(strstr(err, "newer"), "%s", err);
}

Test(store, reopening_keeps_data, .init = setup, .fini = teardown)
{
	char err[256];
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s);
	store_close(s);
	s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "second open (no migration) failed: %s", err);
	store_close(s);
	s = store_open(path, 1, err, sizeof err);
	cr_assert_not_null(s, "read-only open failed: %s", err);
	store_close(s);
}

/* reasoning_tokens (schema 5) is kept with the observation; NULL where the
 * API reported none. */
Test(store, keeps_reasoning_tokens, .init = setup, .fini = teardown)
{
	char err[256];
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	struct test_run t;
	struct assessment a;
	for (int i = 0; i < 2; i++) {
		fake_run(&t, 1);
		t.obs.reasoning_tokens = i == 0 ? 64 : -1;
		assessment_init(&a);
		a.requests = 1;
		a.ok_requests = 1;
		assessment_decide(&a);
		cr_expect_gt(test_save_run(s, test_timeline(), &t.run, &a, NULL), 0);
		assessment_release(&a);
		test_run_release(&t);
	}
	store_close(s);
	char got[64];
	scalar("SELECT reasoning_tokens FROM observations ORDER BY id LIMIT 1", got, sizeof got);
	cr_expect_str_eq(got, "64");
	scalar("SELECT reasoning_tokens FROM observations ORDER BY id LIMIT 1 OFFSET 1", got,
	       sizeof got);
	cr_expect_str_eq(got, "NULL");
}

/* Serve's daily budgets read back what runs cost: one relay's, or every
 * relay's (relay NULL). */
Test(store, spend_since_counts_one_relay_or_all, .init = setup, .fini = teardown)
{
	char err[256];
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	const char *relays[] = {"r1", "r2", "r2"};
	for (int i = 0; i < 3; i++) {
		struct test_run t;
		struct assessment a;
		fake_run(&t, 1);
		t.run.target.relay = (char *)relays[i];
		assessment_init(&a);
		a.requests = a.ok_requests = 1;
		a.tokens_spent = 100 * (i + 1);
		a.cost_usd = 0.5;
		assessment_decide(&a);
		cr_assert_gt(store_save_run(s, &t.run, &a, NULL, NULL, NULL), 0, "%s",
		             store_last_error(s));
		assessment_release(&a);
		test_run_release(&t);
	}
	long tokens = -1;
	double usd = -1;
	cr_assert_eq(store_spend_since(s, NULL, 0, &tokens, &usd), 0, "%s", store_last_error(s));
	cr_expect_eq(tokens, 600);
	cr_expect_float_eq(usd, 1.5, 1e-9);
	cr_assert_eq(store_spend_since(s, "r2", 0, &tokens, &usd), 0, "%s", store_last_error(s));
	cr_expect_eq(tokens, 500);
	cr_assert_eq(store_spend_since(s, "nobody", 0, &tokens, &usd), 0);
	cr_expect_eq(tokens, 0);
	cr_assert_eq(store_spend_since(s, NULL, wall_ms() + 60000, &tokens, &usd), 0);
	cr_expect_eq(tokens, 0, "runs before since_ms were counted");
	store_close(s);
}
