/*
 * serve on PostgreSQL: `assay serve` with `database: postgres://...` (the
 * hub's store) keeps every run it shows, through a lock another session
 * holds on its tables, and refuses at start a database its role may not
 * write, or a password written into the address.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "base/util.h"
#include "storage/store.h"
#include "tests/helpers.h"
#include "tests/pg_helpers.h"

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	test_pg_start();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	test_pg_stop();
}

static const char *const need[] = {"honest-relay", NULL};
static struct test_world env;
static char url[512];

static void
setup(void)
{
	if (!test_pg_available()) {
		if (test_pg_bindir() == NULL)
			cr_skip_test("%s", test_pg_skip_reason());
		cr_assert_fail("%s", test_pg_skip_reason());
	}
	cr_assert_eq(test_pg_database("serve", url, sizeof url), 0);
	test_world_start(&env, "serve-pg", "fixtures/demo.yaml", need, "0.05");
}

static void
teardown(void)
{
	test_world_stop(&env);
	test_pg_drop();
}

static void
write_config(char *cfg, const char *database)
{
	snprintf(cfg, 300, "%s/assay.yaml", env.dir);
	cr_assert_eq(test_write_file(cfg,
	                             "title: store\nlisten: 127.0.0.1:0\ndatabase: '%s'\n"
	                             "interval: 1s\ntimeout: 20s\ntime_scale: 0.05\nrelays:\n"
	                             "  - name: honest-relay\n    base_url: %s\n"
	                             "    models: [gpt-4o]\n",
	                             database, fixture_url(&env.world, "honest-relay")),
	             0);
}

/* Runs stored, or -1 when the database cannot be read now. */
static long
stored_runs(void)
{
	PGconn *c = PQconnectdb(url);
	long n = -1;
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, "SELECT count(*) FROM runs");
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	PQfinish(c);
	return n;
}

/* Runs the board has shown (every run scored), or -1. */
static long
shown_runs(const char *base)
{
	char u[400];
	snprintf(u, sizeof u, "%sapi/v1/relays", base);
	json_t *root = http_get_json(u);
	json_t *e = json_array_get(json_object_get(root, "relays"), 0);
	long n = e ? (long)json_integer_value(json_object_get(e, "runs")) : -1;
	json_decref(root);
	return n;
}

Test(serve_pg, a_held_lock_delays_runs_and_loses_none, .init = setup, .fini = teardown,
     .timeout = 180)
{
	char cfg[300], base[300];
	write_config(cfg, url);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	long long deadline = test_now_ms() + 60000;
	while (stored_runs() < 1 && test_now_ms() < deadline)
		usleep(100000);
	cr_assert_geq(stored_runs(), 1, "no run stored");

	/* another session holds the runs table, while runs go on being scored
	 * and shown */
	PGconn *lock = PQconnectdb(url);
	cr_assert_eq(PQstatus(lock), CONNECTION_OK, "%s", PQerrorMessage(lock));
	PGresult *r = PQexec(lock, "BEGIN; LOCK TABLE runs IN EXCLUSIVE MODE");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	PQclear(r);
	long at_lock = shown_runs(base);
	long stored_at_lock = stored_runs();
	deadline = test_now_ms() + 60000;
	while (shown_runs(base) < at_lock + 3 && test_now_ms() < deadline)
		usleep(200000);
	cr_assert_geq(shown_runs(base), at_lock + 3, "serve stopped scoring under the lock");
	cr_expect_eq(stored_runs(), stored_at_lock, "runs were written through the lock?");
	PQclear(PQexec(lock, "ROLLBACK"));
	PQfinish(lock);

	/* every run shown is written, in the end */
	deadline = test_now_ms() + 60000;
	long shown = -1, stored = -2;
	while (test_now_ms() < deadline) {
		shown = shown_runs(base);
		stored = stored_runs();
		if (shown > at_lock + 3 && stored >= shown)
			break;
		usleep(200000);
	}
	cr_expect_geq(stored, shown, "runs shown %ld, stored %ld: runs were lost", shown, stored);
	cr_expect_eq(child_stop(&serve, 10000), 0);
	cr_expect_geq(stored_runs(), shown);

	/* the static copy, from the PostgreSQL database alone (read-only) */
	char out_dir[400], page[500];
	snprintf(out_dir, sizeof out_dir, "%s/public", env.dir);
	char *exp[] = {
	    (char *)test_binary("assay"), (char *)"export", out_dir, (char *)"--db", url, NULL};
	char *out = NULL, *errs = NULL;
	cr_expect_eq(run_capture(exp, 60000, &out, &errs), 0, "export from PostgreSQL: %s", errs);
	snprintf(page, sizeof page, "%s/index.html", out_dir);
	size_t n = 0;
	char *html = read_file(page, 1 << 24, &n);
	cr_expect_not_null(html, "no %s", page);
	cr_expect(html != NULL && strstr(html, "honest-relay") != NULL,
	          "the relay is not on the page");
	cr_expect(html != NULL && strstr(html, "store") != NULL, "the stored title is not kept");
	free(html);
	free(out);
	free(errs);
}

/* A role that may read but not insert: serve says so at start, not at the
 * first run; a password in the address is refused and not repeated. */
Test(serve_pg, a_database_it_cannot_write_stops_it_at_start, .init = setup, .fini = teardown,
     .timeout = 60)
{
	char cfg[300], err[512], reader[512];
	/* the schema made (as the hub would), then a role that may read it */
	struct store *s = store_open(url, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	store_close(s);
	cr_assert_eq(test_pg_exec(url,
	                          "DROP ROLE IF EXISTS assay_reader;"
	                          " CREATE ROLE assay_reader LOGIN;"
	                          " GRANT SELECT ON ALL TABLES IN SCHEMA public TO assay_reader",
	                          err, sizeof err),
	             0, "%s", err);
	test_pg_url_as(url, "assay_reader", reader, sizeof reader);
	write_config(cfg, reader);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	char *out = NULL, *errs = NULL;
	int rc = run_capture(argv, 30000, &out, &errs);
	cr_expect_eq(rc, 2, "serve started on a database it cannot write: %s", errs);
	cr_expect_not_null(strstr(errs ? errs : "", "may not insert into runs"), "%s", errs);
	free(out);
	free(errs);

	write_config(cfg, "postgres://assay:hunter2-secret@127.0.0.1:1/db");
	rc = run_capture(argv, 30000, &out, &errs);
	cr_expect_eq(rc, 2);
	cr_expect_not_null(strstr(errs ? errs : "", "database_password_env"), "%s", errs);
	cr_expect_null(strstr(errs ? errs : "", "hunter2"), "the password was repeated: %s", errs);
	free(out);
	free(errs);
	test_pg_exec(url, "DROP OWNED BY assay_reader", err, sizeof err);
}

/* Poll until the board of base has shown at least want runs, at most
 * timeout_ms; the last count seen. */
static long
wait_shown(const char *base, long want, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	long n = shown_runs(base);
	while (n < want && test_now_ms() < deadline) {
		usleep(100000);
		n = shown_runs(base);
	}
	return n;
}

/* What the board showed was written first: a kill -9 loses none of it, and
 * the next serve shows it again. */
Test(serve_pg, a_kill_9_loses_no_run_the_board_showed, .init = setup, .fini = teardown,
     .timeout = 240)
{
	char cfg[300], base[300];
	write_config(cfg, url);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	long before = 0;
	for (int round = 0; round < 2; round++) {
		struct child serve;
		cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0, "round %d", round);
		cr_expect_geq(shown_runs(base), before, "round %d: runs of the killed serve gone",
		              round);
		long shown = wait_shown(base, before + 2, 60000);
		cr_assert_geq(shown, before + 2, "round %d: no new runs shown", round);
		long long deadline = test_now_ms() + 30000;
		long now = shown;
		while (now == shown && test_now_ms() < deadline) {
			usleep(10000);
			now = shown_runs(base);
		}
		cr_assert_gt(now, shown, "round %d: no run shown within 30 s", round);
		cr_assert_eq(kill(serve.pid, SIGKILL), 0);
		cr_assert_eq(child_wait(&serve, 10000), -1, "round %d: serve outlived SIGKILL",
		             round);
		long stored = stored_runs();
		cr_expect_geq(stored, now, "round %d: runs shown %ld, stored %ld after SIGKILL",
		              round, now, stored);
		before = stored;
	}
}

/* The server ends serve's session again and again (a restart, a failover):
 * each write that fails is said and retried on a new connection; no run
 * shown is lost. */
Test(serve_pg, its_connection_ended_by_the_server_loses_no_run, .init = setup, .fini = teardown,
     .timeout = 240)
{
	char cfg[300], base[300], err[512];
	write_config(cfg, url);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	long shown = wait_shown(base, 2, 60000);
	cr_assert_geq(shown, 2);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(test_pg_exec(url,
		                          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
		                          " WHERE datname = current_database()"
		                          " AND application_name = 'assay'",
		                          err, sizeof err),
		             0, "%s", err);
		shown = wait_shown(base, shown + 1, 60000);
	}
	long long deadline = test_now_ms() + 60000;
	long stored = -1;
	while (test_now_ms() < deadline) {
		shown = shown_runs(base);
		stored = stored_runs();
		if (stored >= shown)
			break;
		usleep(200000);
	}
	cr_expect_geq(stored, shown, "runs shown %ld, stored %ld: runs were lost", shown, stored);
	cr_expect_eq(child_stop(&serve, 10000), 0);
	cr_expect_geq(stored_runs(), shown);
}
