/*
 * serve and a database it cannot always write: locked by another writer
 * past its busy timeout, runs wait and are all written once it lets go;
 * one it cannot write at start stops it with the reason. Nothing
 * acknowledged (shown on the board) is lost.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

static const char *const need[] = {"honest-relay", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "serve-store", "fixtures/demo.yaml", need, "0.05");
}

static void
teardown(void)
{
	test_world_stop(&env);
}

static void
write_config(char *cfg, char *db)
{
	snprintf(cfg, 300, "%s/assay.yaml", env.dir);
	snprintf(db, 300, "%s/assay.db", env.dir);
	cr_assert_eq(test_write_file(cfg,
	                             "title: store\nlisten: 127.0.0.1:0\ndatabase: %s\n"
	                             "interval: 1s\ntimeout: 20s\ntime_scale: 0.05\nrelays:\n"
	                             "  - name: honest-relay\n    base_url: %s\n"
	                             "    models: [gpt-4o]\n",
	                             db, fixture_url(&env.world, "honest-relay")),
	             0);
}

/* Runs stored, or -1 when the database cannot be read now. */
static long
stored_runs(const char *db)
{
	sqlite3 *h;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return -1;
	}
	sqlite3_busy_timeout(h, 2000);
	sqlite3_stmt *st;
	long n = -1;
	if (sqlite3_prepare_v2(h, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* Runs the board has shown (every run scored), or -1. */
static long
shown_runs(const char *base)
{
	char url[400];
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	json_t *root = http_get_json(url);
	json_t *e = json_array_get(json_object_get(root, "relays"), 0);
	long n = e ? (long)json_integer_value(json_object_get(e, "runs")) : -1;
	json_decref(root);
	return n;
}

Test(serve_store, a_locked_database_delays_runs_and_loses_none, .init = setup, .fini = teardown,
     .timeout = 180)
{
	char cfg[300], db[300], base[300];
	write_config(cfg, db);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	long long deadline = test_now_ms() + 60000;
	while (stored_runs(db) < 1 && test_now_ms() < deadline)
		usleep(100000);
	cr_assert_geq(stored_runs(db), 1, "no run stored");

	/* another writer holds the database past serve's 5 s busy timeout, while
	 * runs go on being scored and shown */
	sqlite3 *lock;
	cr_assert_eq(sqlite3_open(db, &lock), SQLITE_OK);
	sqlite3_busy_timeout(lock, 10000);
	cr_assert_eq(sqlite3_exec(lock, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	long at_lock = shown_runs(base);
	deadline = test_now_ms() + 60000;
	/* wait until the board has shown runs the lock kept from the disk */
	while (shown_runs(base) < at_lock + 3 && test_now_ms() < deadline)
		usleep(200000);
	cr_assert_geq(shown_runs(base), at_lock + 3, "serve stopped scoring under the lock");
	sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(lock);

	/* every run shown is written, in the end */
	deadline = test_now_ms() + 60000;
	long shown = -1, stored = -2;
	while (test_now_ms() < deadline) {
		shown = shown_runs(base);
		stored = stored_runs(db);
		if (shown > at_lock + 3 && stored >= shown)
			break;
		usleep(200000);
	}
	cr_expect_geq(stored, shown, "runs shown %ld, stored %ld: runs were lost", shown, stored);
	cr_expect_eq(child_stop(&serve, 10000), 0);
	/* and after the stop: each run shown is in the database */
	cr_expect_geq(stored_runs(db), shown);
}

Test(serve_store, a_database_it_cannot_write_stops_it_at_start, .init = setup, .fini = teardown,
     .timeout = 60)
{
	char cfg[300], db[300];
	write_config(cfg, db);
	/* made, then held by another writer: serve cannot write it */
	sqlite3 *lock;
	cr_assert_eq(sqlite3_open(db, &lock), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(lock, "CREATE TABLE x(y); BEGIN EXCLUSIVE", NULL, NULL, NULL),
	             SQLITE_OK);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 30000, &out, &err);
	cr_expect_eq(rc, 2, "serve started on a database it cannot write: %s", err);
	/* the reason, whichever write found the lock first */
	cr_expect_not_null(strstr(err ? err : "", "database is locked"), "%s", err);
	free(out);
	free(err);
	sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(lock);
}
