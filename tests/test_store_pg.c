/*
 * Store on PostgreSQL: the tests of tests/test_store.c, against a real
 * server (tests/store_engine.h).
 */
#define STORE_TEST_POSTGRES 1
#include "tests/test_store.c"

/*
 * What only PostgreSQL has: the two engines' schemas side by side, a
 * password kept out of the address and out of every message, a lost
 * connection and a held lock said loudly with nothing acknowledged lost.
 */
#include <libpq-fe.h>

#include "base/util.h"

/* Every table and its columns, in order, "table(col,col,...);" sorted by
 * table name, as each engine describes them. */
static void
describe(struct store *s, int postgres, char *out, size_t n)
{
	const char *sql =
	    postgres ? "SELECT string_agg(t, '' ORDER BY t) FROM (SELECT table_name || '(' ||"
	               " string_agg(column_name::text, ',' ORDER BY ordinal_position) || ');' AS t"
	               " FROM information_schema.columns WHERE table_schema = current_schema()"
	               " AND table_name <> 'assay_schema' GROUP BY table_name) AS d"
	             : "SELECT group_concat(t, '') FROM (SELECT m.name || '(' || (SELECT"
	               " group_concat(name, ',') FROM (SELECT name FROM pragma_table_info(m.name)"
	               " ORDER BY cid)) || ');' AS t FROM sqlite_master m WHERE m.type = 'table'"
	               " ORDER BY m.name)";
	cr_assert_eq(store_test_scalar(s, sql, out, n), 1, "%s", out);
}

Test(store_pg, has_the_same_tables_and_columns_as_sqlite, .init = setup, .fini = teardown)
{
	char err[256], file[300];
	snprintf(file, sizeof file, "%s/twin.db", dir);
	struct store *lite = store_open(file, 0, err, sizeof err);
	cr_assert_not_null(lite, "%s", err);
	struct store *pg = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(pg, "%s", err);
	cr_expect(store_engine_is_postgres(pg) && !store_engine_is_postgres(lite));
	static char a[8192], b[8192];
	describe(lite, 0, a, sizeof a);
	describe(pg, 1, b, sizeof b);
	cr_expect_str_eq(b, a, "the engines' schemas differ:\npostgres %s\nsqlite   %s", b, a);
	cr_expect_not_null(strstr(a, "observations(id,run_id,probe,"), "%s", a);
	struct store_stats sa, sb;
	cr_assert_eq(store_stats(lite, &sa), 0);
	cr_assert_eq(store_stats(pg, &sb), 0);
	cr_expect_eq(sa.schema_version, sb.schema_version);
	store_close(lite);
	store_close(pg);
}

/* One genuine run of r1 gpt-4o, saved: the run id, or -1 (the reason is
 * the store's). */
static int64_t
save_one(struct store *s)
{
	struct test_run t;
	struct assessment a;
	fake_run(&t, 1);
	assessment_init(&a);
	a.requests = a.ok_requests = 1;
	a.strong_checks_passed = 1;
	assessment_decide(&a);
	int64_t id = store_save_run(s, &t.run, &a, NULL, NULL, NULL);
	assessment_release(&a);
	test_run_release(&t);
	return id;
}

static long
count_runs(void)
{
	char got[64];
	scalar("SELECT count(*) FROM runs", got, sizeof got);
	return strtol(got, NULL, 10);
}

/* The server ends our session (a restart, a failover, an admin): the save
 * fails, saying why; the caller keeps the run (serve's queue), and the next
 * try reconnects, prepares its statements again and keeps it. */
Test(store_pg, a_lost_connection_fails_loudly_and_the_retry_keeps_the_run, .init = setup,
     .fini = teardown)
{
	char err[512];
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	cr_assert_gt(save_one(s), 0, "%s", store_last_error(s));
	char sql[300];
	snprintf(sql, sizeof sql,
	         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname ="
	         " current_database() AND application_name = 'assay'");
	cr_assert_eq(test_pg_exec(path, sql, err, sizeof err), 0, "%s", err);
	cr_expect_lt(save_one(s), 0, "a save on a dead connection said it was kept");
	cr_expect_neq(store_last_error(s)[0], '\0', "the failure has no reason");
	cr_expect_gt(save_one(s), 0, "the retry did not reconnect: %s", store_last_error(s));
	store_close(s);
	cr_expect_eq(count_runs(), 2, "the runs kept are not the runs acknowledged");
}

/* Another session holds the table: the save gives up after lock_timeout
 * (the event loop must not stall), says so, keeps nothing half-written; once
 * the lock goes, the same run is kept. */
Test(store_pg, a_held_lock_fails_the_save_loudly_and_nothing_is_half_written, .init = setup,
     .fini = teardown)
{
	char err[512];
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	cr_assert_gt(save_one(s), 0, "%s", store_last_error(s));
	PGconn *lock = PQconnectdb(path);
	cr_assert_eq(PQstatus(lock), CONNECTION_OK, "%s", PQerrorMessage(lock));
	PGresult *r = PQexec(lock, "BEGIN; LOCK TABLE observations IN EXCLUSIVE MODE");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	PQclear(r);
	int64_t t0 = test_now_ms();
	cr_expect_lt(save_one(s), 0, "a save under another session's lock said it was kept");
	cr_expect_lt(test_now_ms() - t0, 3000, "the save waited on the lock for long");
	cr_expect_not_null(strstr(store_last_error(s), "lock"), "%s", store_last_error(s));
	PQclear(PQexec(lock, "ROLLBACK"));
	PQfinish(lock);
	/* the run row of the failed save went with its transaction */
	cr_expect_eq(count_runs(), 1);
	cr_expect_gt(save_one(s), 0, "%s", store_last_error(s));
	store_close(s);
	cr_expect_eq(count_runs(), 2);
}

Test(store_pg, a_password_in_the_address_is_refused_and_never_repeated, .init = setup,
     .fini = teardown)
{
	char err[512];
	struct store *s =
	    store_open("postgres://assay:hunter2-secret@127.0.0.1:1/db", 0, err, sizeof err);
	cr_expect_null(s);
	cr_expect_not_null(strstr(err, "database_password_env"), "%s", err);
	cr_expect_null(strstr(err, "hunter2"), "the password was repeated: %s", err);
	store_close(s);
}

/* The password comes from the variable the config names, and reaches the
 * server's real check (SCRAM); a wrong one is refused without being said. */
Test(store_pg, the_password_comes_from_the_named_variable_and_is_never_said, .init = setup,
     .fini = teardown)
{
	char err[512], url[512];
	char sql[300];
	snprintf(sql, sizeof sql,
	         "DROP ROLE IF EXISTS " TEST_PG_PASSWORD_ROLE ";"
	         " CREATE ROLE " TEST_PG_PASSWORD_ROLE " LOGIN PASSWORD 'right-horse-battery';"
	         " GRANT ALL ON SCHEMA public TO " TEST_PG_PASSWORD_ROLE);
	cr_assert_eq(test_pg_exec(path, sql, err, sizeof err), 0, "%s", err);
	test_pg_url_as(path, TEST_PG_PASSWORD_ROLE, url, sizeof url);
	struct store_options o = {.password_env = "ASSAY_TEST_DB_PASSWORD"};
	unsetenv("ASSAY_TEST_DB_PASSWORD");
	cr_expect_null(store_open_with(url, &o, err, sizeof err));
	cr_expect_not_null(strstr(err, "ASSAY_TEST_DB_PASSWORD"), "%s", err);
	setenv("ASSAY_TEST_DB_PASSWORD", "wrong-staple-guess", 1);
	cr_expect_null(store_open_with(url, &o, err, sizeof err), "a wrong password opened it");
	cr_expect_not_null(strstr(err, "password authentication failed"), "%s", err);
	cr_expect_null(strstr(err, "wrong-staple"), "the password was said: %s", err);
	setenv("ASSAY_TEST_DB_PASSWORD", "right-horse-battery", 1);
	struct store *s = store_open_with(url, &o, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	cr_expect_gt(save_one(s), 0, "%s", store_last_error(s));
	store_close(s);
	test_pg_exec(path, "DROP OWNED BY " TEST_PG_PASSWORD_ROLE, err, sizeof err);
}
