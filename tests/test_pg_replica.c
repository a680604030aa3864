/*
 * The store reading from a real PostgreSQL streaming replica (database_read,
 * storage/replica.c) and writing to the primary: each test takes a copy of
 * the binary's cluster with pg_basebackup -R and starts it as a hot standby
 * beside it (tests/pg_helpers.h), then pauses its replay, stops it or
 * points at one that does not exist, and checks where reads and writes go,
 * what is said on stderr (once, and never a password) and that nothing is
 * missed or counted twice.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/util.h"
#include "cli/config.h"
#include "storage/store.h"
#include "storage/store_test.h"
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

static char url[512], replica[512], dir[256], errfile[320];
static int saved_stderr = -1, replica_up;

static void
setup(void)
{
	if (!test_pg_available()) {
		if (test_pg_bindir() == NULL)
			cr_skip_test("%s", test_pg_skip_reason());
		cr_assert_fail("%s", test_pg_skip_reason());
	}
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "pg-replica"), 0);
	cr_assert_eq(test_pg_database("replica", url, sizeof url), 0);
	/* the schema first, so the copy has it too */
	char err[512];
	struct store *s = store_open(url, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	store_close(s);
	cr_assert_eq(test_pg_start_replica(), 0, "the replica did not start");
	replica_up = 1;
	test_pg_replica_url(url, "postgres", replica, sizeof replica);
}

static void
teardown(void)
{
	if (saved_stderr >= 0) {
		fflush(stderr);
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
	if (replica_up)
		test_pg_stop_replica();
	replica_up = 0;
	test_pg_drop();
	test_rmtree(dir);
}

/* From now on stderr goes to a file (captured() reads it). */
static void
capture_stderr(void)
{
	snprintf(errfile, sizeof errfile, "%s/stderr", dir);
	fflush(stderr);
	saved_stderr = dup(2);
	int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	dup2(fd, 2);
	close(fd);
}

/* What reached stderr so far (owned). */
static char *
captured(void)
{
	fflush(stderr);
	FILE *f = fopen(errfile, "r");
	cr_assert_not_null(f);
	char *text = xcalloc(1, 65536);
	size_t n = fread(text, 1, 65535, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static int
occurrences(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* An agent's run, written to the primary as the cluster's superuser (an
 * agent's role would do the same through row-level security). */
static void
insert_run(const char *region, int64_t finished_ms)
{
	char sql[512], err[512];
	snprintf(sql, sizeof sql,
	         "INSERT INTO agent_runs(region, relay, model, api, started_ms, finished_ms,"
	         " verdict, requests, ok_requests, error_class, ttft_ms)"
	         " VALUES ('%s', 'honest-relay', 'gpt-4o', 'openai', %lld, %lld, 'genuine', 4, 4,"
	         " 'none', 120)",
	         region, (long long)finished_ms - 1000, (long long)finished_ms);
	cr_assert_eq(test_pg_exec(url, sql, err, sizeof err), 0, "%s", err);
}

static void
count_cb(const struct store_agent_run *r, void *arg)
{
	(void)r;
	(*(long *)arg)++;
}

/* The agents' runs s reads (wherever it reads them from); -1 on an error. */
static long
runs_read(struct store *s)
{
	long n = 0;
	if (store_each_agent_run(s, 0, 1000, count_cb, &n) != 0)
		return -1;
	return n;
}

/* The agents' runs on the primary itself. */
static long
runs_on_primary(void)
{
	char err[512];
	struct store *p = store_open(url, 1, err, sizeof err);
	cr_assert_not_null(p, "%s", err);
	long n = runs_read(p);
	store_close(p);
	return n;
}

static void
pause_replay(int pause)
{
	char err[512];
	/* the resume's own statement may be cancelled by the replay it lets
	 * go on ("conflict with recovery"): then it did resume; ask again */
	for (int i = 0; i < 5; i++)
		if (test_pg_exec(replica,
		                 pause ? "SELECT pg_wal_replay_pause()"
		                       : "SELECT pg_wal_replay_resume()",
		                 err, sizeof err) == 0)
			return;
	cr_assert_fail("%s", err);
}

static void
sleep_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

static struct store *
open_with_replica(const char *read_address)
{
	char err[512];
	struct store_options o = {.read_address = read_address};
	struct store *s = store_open_with(url, &o, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	return s;
}

/* Wait (bounded) until s reads from its replica again. */
static int
wait_reads_from_replica(struct store *s, int ms)
{
	for (int waited = 0; waited < ms; waited += 50) {
		if (store_reads_from_replica(s))
			return 1;
		sleep_ms(50);
	}
	return 0;
}

static void
outage_cb(int64_t id, const char *relay, const char *model, int64_t opened_ms, void *arg)
{
	(void)id;
	(void)relay;
	(void)model;
	(void)opened_ms;
	(*(long *)arg)++;
}

/* Reads come from the replica: with its replay paused, a run written to the
 * primary is not read (the primary has it), then is once replayed. Writes go
 * to the primary (the replica refuses them) and the reads a write depends
 * on see it at once, replay paused or not. */
Test(pg_replica, reads_come_from_the_replica_and_writes_go_to_the_primary, .init = setup,
     .fini = teardown, .timeout = 120)
{
	capture_stderr();
	struct store *s = open_with_replica(replica);
	store_replica_timing(s, 0, 60000, 60000);
	insert_run("eu", wall_ms());
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0, "the replica did not replay");
	cr_assert(wait_reads_from_replica(s, 10000), "the store does not read from the replica");
	cr_expect_eq(runs_read(s), 1);

	pause_replay(1);
	insert_run("us", wall_ms());
	cr_expect_eq(runs_on_primary(), 2);
	cr_expect_eq(runs_read(s), 1, "a read went to the primary, not to the paused replica");
	cr_expect(store_reads_from_replica(s));

	/* the hub's writes: to the primary, read back there at once */
	cr_expect_gt(store_region_outage_open(s, "honest-relay", "gpt-4o", wall_ms(), "eu,us", 2),
	             0, "%s", store_last_error(s));
	long open = 0;
	cr_expect_eq(store_each_open_region_outage(s, outage_cb, &open), 0);
	cr_expect_eq(open, 1, "the outage just written was not read back (read from the replica?)");
	cr_expect_eq(store_set_title(s, "replica board"), 0, "%s", store_last_error(s));
	/* a write sent to the replica fails: it is a hot standby */
	char err[512];
	cr_expect_neq(test_pg_exec(replica, "INSERT INTO settings(name, value) VALUES ('x', 'y')",
	                           err, sizeof err),
	              0);
	cr_expect_not_null(strstr(err, "read-only"), "%s", err);

	pause_replay(0);
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0);
	cr_expect_eq(runs_read(s), 2, "the replayed run is not read");
	char title[64] = "";
	cr_expect_eq(store_title(s, title, sizeof title), 1);
	cr_expect_str_eq(title, "replica board");
	cr_expect(store_reads_from_replica(s));
	store_close(s);
	char *said = captured();
	cr_expect_eq(occurrences(said, "reads come from the replica"), 1, "%s", said);
	free(said);
}

/* A replica more than the lag bound behind is not read: the primary is,
 * said once; caught up, the replica is read again. */
Test(pg_replica, a_replica_behind_the_bound_is_not_read_until_it_catches_up, .init = setup,
     .fini = teardown, .timeout = 120)
{
	capture_stderr();
	struct store *s = open_with_replica(replica);
	store_replica_timing(s, 0, 500, 60000);
	cr_assert(wait_reads_from_replica(s, 10000));
	pause_replay(1);
	insert_run("eu", wall_ms());
	/* within the bound the replica is still read: nothing yet */
	cr_expect_eq(runs_read(s), 0);
	sleep_ms(700);
	for (int i = 0; i < 20; i++)
		cr_expect_eq(runs_read(s), 1, "the primary is not read while the replica lags");
	cr_expect_not(store_reads_from_replica(s));
	pause_replay(0);
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0);
	cr_expect(wait_reads_from_replica(s, 10000), "the caught-up replica is not read again");
	cr_expect_eq(runs_read(s), 1);
	store_close(s);
	char *said = captured();
	cr_expect_eq(occurrences(said, "behind the primary"), 1, "%s", said);
	cr_expect_eq(occurrences(said, "reads come from the replica again"), 1, "%s", said);
	free(said);
}

/* The replica going away (stopped as by a crash): every read still works,
 * from the primary, said once; back, it is read again, said once. */
Test(pg_replica, the_replica_going_away_falls_back_to_the_primary_said_once, .init = setup,
     .fini = teardown, .timeout = 180)
{
	capture_stderr();
	struct store *s = open_with_replica(replica);
	store_replica_timing(s, 0, 60000, 300);
	insert_run("eu", wall_ms());
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0);
	cr_assert(wait_reads_from_replica(s, 10000));
	cr_assert_eq(test_pg_replica_ctl("stop"), 0);
	insert_run("us", wall_ms());
	for (int i = 0; i < 30; i++) {
		cr_expect_eq(runs_read(s), 2, "read %d failed or missed the primary's run", i);
		sleep_ms(20);
	}
	cr_expect_not(store_reads_from_replica(s));
	cr_assert_eq(test_pg_replica_ctl("start"), 0);
	cr_assert_eq(test_pg_wait_replayed(url, 30000), 0);
	cr_expect(wait_reads_from_replica(s, 15000), "the replica back is not read again");
	cr_expect_eq(runs_read(s), 2);
	store_close(s);
	char *said = captured();
	cr_expect_eq(occurrences(said, "the replica cannot be read"), 1, "%s", said);
	cr_expect_eq(occurrences(said, "reads come from the replica again"), 1, "%s", said);
	free(said);
}

/* A replica that does not exist is no reason not to start: the primary
 * reads, said once. */
Test(pg_replica, a_replica_that_never_answers_leaves_the_primary_reading, .init = setup,
     .fini = teardown, .timeout = 60)
{
	capture_stderr();
	char nowhere[600];
	snprintf(nowhere, sizeof nowhere, "postgres:///x?host=%s/none&port=5999&user=postgres",
	         dir);
	struct store *s = open_with_replica(nowhere);
	store_replica_timing(s, 0, 60000, 100);
	insert_run("eu", wall_ms());
	for (int i = 0; i < 10; i++) {
		cr_expect_eq(runs_read(s), 1);
		sleep_ms(30);
	}
	store_close(s);
	char *said = captured();
	cr_expect_eq(occurrences(said, "the replica cannot be read"), 1, "%s", said);
	free(said);
}

/* The replica's password comes from a variable (the replica has the
 * primary's roles: a physical copy); a wrong one, or one in the address,
 * is never said: not on stderr, not in an error, not in a config error. */
Test(pg_replica, passwords_never_appear_in_logs_or_errors, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char err[1024], sql[300], as[600];
	snprintf(sql, sizeof sql,
	         "DROP ROLE IF EXISTS " TEST_PG_PASSWORD_ROLE ";"
	         " CREATE ROLE " TEST_PG_PASSWORD_ROLE " LOGIN BYPASSRLS"
	         " PASSWORD 'right-horse-battery';"
	         " GRANT SELECT ON ALL TABLES IN SCHEMA public TO " TEST_PG_PASSWORD_ROLE);
	/* BYPASSRLS: a reader as the hub (the tables' owner), not as an agent */
	cr_assert_eq(test_pg_exec(url, sql, err, sizeof err), 0, "%s", err);
	insert_run("eu", wall_ms());
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0);
	capture_stderr();
	test_pg_replica_url(url, TEST_PG_PASSWORD_ROLE, as, sizeof as);
	struct store_options o = {.read_address = as, .read_password_env = "ASSAY_TEST_READ_PW"};
	unsetenv("ASSAY_TEST_READ_PW");
	cr_expect_null(store_open_with(url, &o, err, sizeof err));
	cr_expect_not_null(strstr(err, "ASSAY_TEST_READ_PW"), "%s", err);

	setenv("ASSAY_TEST_READ_PW", "wrong-staple-guess", 1);
	struct store *s = store_open_with(url, &o, err, sizeof err);
	cr_assert_not_null(s, "a wrong replica password stopped the store: %s", err);
	cr_expect_eq(runs_read(s), 1, "the primary does not read for the refused replica: %s",
	             store_last_error(s));
	cr_expect_not(store_reads_from_replica(s));
	store_close(s);

	setenv("ASSAY_TEST_READ_PW", "right-horse-battery", 1);
	s = store_open_with(url, &o, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	cr_expect(wait_reads_from_replica(s, 10000), "the replica is not read with its password");
	cr_expect_eq(runs_read(s), 1);
	store_close(s);

	/* a password inside the address: refused, not repeated */
	o.read_address = "postgres://assay:hunter2@replica.example/assay";
	cr_expect_null(store_open_with(url, &o, err, sizeof err));
	cr_expect_null(strstr(err, "hunter2"), "%s", err);
	char *said = captured();
	cr_expect_not_null(strstr(said, "password authentication failed"), "%s", said);
	cr_expect_null(strstr(said, "wrong-staple"), "%s", said);
	cr_expect_null(strstr(said, "right-horse"), "%s", said);
	cr_expect_null(strstr(said, "hunter2"), "%s", said);
	free(said);

	/* the config says where, by FILE:LINE, without the password */
	struct config *c =
	    test_config_text("replica-pw",
	                     "database: postgres://assay@db.example/assay\n"
	                     "database_read: postgres://assay:hunter2@replica.example/assay\n"
	                     "relays:\n  - name: r\n    base_url: http://127.0.0.1:9/v1\n"
	                     "    models: [gpt-4o]\n",
	                     err, sizeof err);
	cr_expect_null(c);
	cr_expect_not_null(strstr(err, ":2: database_read"), "%s", err);
	cr_expect_null(strstr(err, "hunter2"), "%s", err);
	c = test_config_text("replica-sqlite",
	                     "database: assay.db\n"
	                     "database_read: postgres://assay@replica.example/assay\n"
	                     "relays:\n  - name: r\n    base_url: http://127.0.0.1:9/v1\n"
	                     "    models: [gpt-4o]\n",
	                     err, sizeof err);
	cr_expect_null(c);
	cr_expect_not_null(strstr(err, ":2: database_read is a replica of a PostgreSQL database"),
	                   "%s", err);
	c = test_config_text("replica-ok",
	                     "database: postgres://assay@db.example/assay\n"
	                     "database_password_env: DB_PW\n"
	                     "database_read: postgres://assay@replica.example/assay\n"
	                     "relays:\n  - name: r\n    base_url: http://127.0.0.1:9/v1\n"
	                     "    models: [gpt-4o]\n",
	                     err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->database_read, "postgres://assay@replica.example/assay");
	cr_expect_null(c->database_read_password_env);
	config_free(c);
	test_pg_exec(url, "DROP OWNED BY " TEST_PG_PASSWORD_ROLE, err, sizeof err);
}

struct given {
	int64_t ids[16];
	int n;
};

static void
given_cb(const struct store_agent_run *r, void *arg)
{
	struct given *g = arg;
	if (g->n < 16)
		g->ids[g->n++] = r->id;
}

/* An agent's save still in flight: its run's id is taken, not committed. */
static PGconn *
begin_run(int64_t *id)
{
	PGconn *c = PQconnectdb(url);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	PQclear(PQexec(c, "BEGIN"));
	PGresult *r =
	    PQexec(c, "INSERT INTO agent_runs(region, relay, model, api, started_ms,"
	              " finished_ms, verdict, requests, ok_requests, error_class)"
	              " VALUES ('ap', 'honest-relay', 'gpt-4o', 'openai', 1, 2, 'genuine',"
	              " 4, 4, 'none') RETURNING id");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return c;
}

/* Runs committed out of the order of their ids (a far agent's save takes
 * longer than a near one's): a read of "id above the last read" skips the
 * late one for good, on the primary as on the replica; the hub's cursor
 * gives it once it comes, and nothing twice. */
Test(pg_replica, a_run_committed_after_a_higher_id_is_read_once_it_comes, .init = setup,
     .fini = teardown, .timeout = 120)
{
	struct store *s = open_with_replica(replica);
	store_replica_timing(s, 0, 60000, 60000);
	int64_t late_id = 0;
	PGconn *far = begin_run(&late_id);
	insert_run("eu", wall_ms()); /* a higher id, committed first */
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0);
	cr_assert(wait_reads_from_replica(s, 10000));

	struct store_agent_cursor *c = store_agent_cursor_new(0);
	struct given first = {0}, old = {0};
	cr_assert_eq(store_agent_cursor_read(s, c, 100, given_cb, &first), 0, "%s",
	             store_last_error(s));
	cr_assert_eq(first.n, 1);
	cr_expect_gt(first.ids[0], late_id);
	cr_expect_eq(store_agent_cursor_gaps(c), 1, "the id in flight is not waited for");

	PGresult *r = PQexec(far, "COMMIT");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(far);
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0);
	cr_expect(store_reads_from_replica(s));
	/* the read by id alone: the late run is below the last id read */
	cr_assert_eq(store_each_agent_run(s, first.ids[0], 100, given_cb, &old), 0);
	cr_expect_eq(old.n, 0, "the plain read found the late run after all");

	struct given later = {0}, again = {0};
	cr_assert_eq(store_agent_cursor_read(s, c, 100, given_cb, &later), 0, "%s",
	             store_last_error(s));
	cr_expect_eq(later.n, 1, "the run committed late was not read");
	cr_expect_eq(later.ids[0], late_id);
	cr_expect_eq(store_agent_cursor_gaps(c), 0);
	insert_run("us", wall_ms());
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0);
	cr_assert_eq(store_agent_cursor_read(s, c, 100, given_cb, &again), 0);
	cr_expect_eq(again.n, 1, "a run was given twice or the new one missed");
	cr_expect_gt(again.ids[0], first.ids[0]);

	/* a save rolled back leaves its id a gap for good: waited for, never
	 * given */
	far = begin_run(&late_id);
	PQclear(PQexec(far, "ROLLBACK"));
	PQfinish(far);
	insert_run("eu", wall_ms());
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0);
	struct given last = {0};
	cr_assert_eq(store_agent_cursor_read(s, c, 100, given_cb, &last), 0);
	cr_expect_eq(last.n, 1);
	cr_expect_eq(store_agent_cursor_gaps(c), 1);
	store_agent_cursor_free(c);
	store_close(s);
}

/* The runs /api/v1/relays shows for region (0: none), -1 if unreadable. */
static long
region_runs(const char *base, const char *region)
{
	char u[400];
	snprintf(u, sizeof u, "%sapi/v1/relays", base);
	json_t *root = http_get_json(u);
	if (root == NULL)
		return -1;
	long runs = 0;
	json_t *relays = json_object_get(root, "relays");
	for (size_t i = 0; i < json_array_size(relays); i++) {
		json_t *regions = json_object_get(json_array_get(relays, i), "regions");
		for (size_t k = 0; k < json_array_size(regions); k++) {
			json_t *r = json_array_get(regions, k);
			if (strcmp(json_string_value(json_object_get(r, "region")), region) == 0)
				runs += (long)json_integer_value(json_object_get(r, "runs"));
		}
	}
	json_decref(root);
	return runs;
}

/* Wait (bounded) until the pages show n runs of region. */
static int
wait_region_runs(const char *base, const char *region, long n, int ms)
{
	for (int waited = 0; waited < ms; waited += 100) {
		if (region_runs(base, region) == n)
			return 1;
		sleep_ms(100);
	}
	return 0;
}

/* The hub (`assay serve` with a quorum) with database_read: its pages show
 * the agents' runs written to the primary once the replica replayed them,
 * read there (the replica's own sessions say so); a replica that stops
 * replaying is read until the lag bound, then the primary; one that goes
 * away leaves the primary reading and the pages serving. Each change said
 * once; each run shown once. */
Test(pg_replica, the_hub_reads_from_the_replica_and_falls_back, .init = setup, .fini = teardown,
     .timeout = 240)
{
	char cfg[400], base[300], err[512], got[64];
	snprintf(cfg, sizeof cfg, "%s/hub.yaml", dir);
	cr_assert_eq(test_write_file(cfg,
	                             "title: hub\nlisten: 127.0.0.1:0\ndatabase: '%s'\n"
	                             "database_read: '%s'\nquorum: 2 of 3 regions\ninterval: 30s\n"
	                             "timeout: 1s\nrelays:\n  - name: honest-relay\n"
	                             "    base_url: http://127.0.0.1:%d/v1\n    models: [gpt-4o]\n",
	                             url, replica, test_free_port()),
	             0);
	capture_stderr(); /* the hub inherits it */
	struct child hub;
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	cr_assert_eq(serve_start(&hub, argv, base, sizeof base), 0, "the hub did not start");

	insert_run("eu", wall_ms());
	if (!wait_region_runs(base, "eu", 1, 20000)) {
		char u[400];
		snprintf(u, sizeof u, "%sapi/v1/relays", base);
		char *body = http_get(u, NULL, NULL);
		cr_expect_fail("the pages do not show the run: %.3000s", body ? body : "(none)");
		free(body);
	}
	/* the hub's reads of the agents' runs run on the replica: its own
	 * statistics count scans of agent_runs (nothing else reads it there;
	 * a session's counts reach them within its idle flush, 10 s) */
	int seen = 0;
	for (int i = 0; i < 200 && !seen; i++) {
		if (test_pg_exec(replica,
		                 "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_stat_user_tables"
		                 " WHERE relname = 'agent_runs'"
		                 " AND coalesce(idx_scan, 0) + coalesce(seq_scan, 0) > 0)"
		                 " THEN RAISE EXCEPTION 'none'; END IF; END $$",
		                 err, sizeof err) == 0)
			seen = 1;
		else
			sleep_ms(100);
	}
	cr_expect(seen, "no session of the hub reads agent_runs on the replica");

	/* replay paused: read on the replica (nothing new) until the bound
	 * (10 s: a 30 s interval's half is longer) */
	pause_replay(1);
	insert_run("us", wall_ms());
	sleep_ms(3000);
	cr_expect_eq(region_runs(base, "us"), 0, "read from the primary within the lag bound");
	cr_expect(wait_region_runs(base, "us", 1, 30000),
	          "the primary is not read once the replica lags past the bound");
	pause_replay(0);
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0);

	/* the replica gone: the primary reads, the pages keep serving */
	/* a look or two (the hub looks every 2 s): the replica read again */
	int again = 0;
	for (int i = 0; i < 150 && !again; i++) {
		char *so_far = captured();
		again = strstr(so_far, "reads come from the replica again") != NULL;
		free(so_far);
		if (!again)
			sleep_ms(100);
	}
	cr_expect(again, "the caught-up replica is not read again");
	cr_assert_eq(test_pg_replica_ctl("stop"), 0);
	replica_up = 1;
	insert_run("ap", wall_ms());
	cr_expect(wait_region_runs(base, "ap", 1, 20000), "the run written after the replica went "
	                                                  "away is not shown");
	cr_expect_eq(region_runs(base, "eu"), 1, "a run shown twice");
	cr_expect_eq(region_runs(base, "us"), 1, "a run shown twice");
	cr_expect_eq(child_stop(&hub, 20000), 0);
	char *said = captured();
	cr_expect_eq(occurrences(said, "reads come from the replica\n"), 1, "%s", said);
	cr_expect_eq(occurrences(said, "behind the primary"), 1, "%s", said);
	cr_expect_eq(occurrences(said, "reads come from the replica again"), 1, "%s", said);
	cr_expect_eq(occurrences(said, "the replica cannot be read"), 1, "%s", said);
	/* the replica's failures are the store's to bear: no read of the hub
	 * failed for them */
	cr_expect_eq(occurrences(said, "cannot read the agents' runs"), 0, "%s", said);
	(void)got;
	free(said);
}

/* `assay export` (the CDN path) with database_read reads the history from
 * the replica: the replica's own statistics count its scans, the primary
 * only answers the position checks. */
Test(pg_replica, export_reads_from_the_replica, .init = setup, .fini = teardown, .timeout = 120)
{
	char cfg[400], out[400], err[512];
	snprintf(cfg, sizeof cfg, "%s/export.yaml", dir);
	snprintf(out, sizeof out, "%s/public", dir);
	cr_assert_eq(test_write_file(cfg,
	                             "title: exported\ndatabase: '%s'\ndatabase_read: '%s'\n"
	                             "relays:\n  - name: honest-relay\n"
	                             "    base_url: http://127.0.0.1:9/v1\n    models: [gpt-4o]\n",
	                             url, replica),
	             0);
	cr_assert_eq(test_pg_wait_replayed(url, 20000), 0);
	char *argv[] = {
	    (char *)test_binary("assay"), (char *)"export", out, (char *)"-c", cfg, NULL};
	char *so = NULL, *se = NULL;
	int rc = run_capture(argv, 60000, &so, &se);
	cr_expect_eq(rc, 0, "%s%s", so, se);
	cr_expect_not_null(strstr(se, "reads come from the replica"), "%s", se);
	free(so);
	free(se);
	int seen = 0;
	for (int i = 0; i < 200 && !seen; i++) {
		if (test_pg_exec(replica,
		                 "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_stat_user_tables"
		                 " WHERE relname = 'targets'"
		                 " AND coalesce(idx_scan, 0) + coalesce(seq_scan, 0) > 0)"
		                 " THEN RAISE EXCEPTION 'none'; END IF; END $$",
		                 err, sizeof err) == 0)
			seen = 1;
		else
			sleep_ms(100);
	}
	cr_expect(seen, "the export read no history on the replica");
}

/* SQLite takes and commits ids under its one write lock, in order: the
 * cursor keeps no gap there (a hole in ids is a deleted row), and gives
 * each run once. */
Test(pg_replica, the_cursor_on_sqlite_keeps_no_gap)
{
	char sdir[256], path[300], err[512];
	test_tmpdir_file(sdir, sizeof sdir, "replica-sqlite", path, sizeof path, "hub.db");
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	for (int id = 1; id <= 3; id += 2) {
		char sql[400];
		snprintf(sql, sizeof sql,
		         "INSERT INTO agent_runs(id, region, relay, model, api, started_ms,"
		         " finished_ms, verdict, requests, ok_requests, error_class) VALUES"
		         " (%d, 'eu', 'r', 'm', 'openai', 1, 2, 'genuine', 1, 1, 'none')",
		         id);
		cr_assert_eq(store_test_exec(s, sql, err, sizeof err), 0, "%s", err);
	}
	struct store_agent_cursor *c = store_agent_cursor_new(0);
	struct given g = {0}, again = {0};
	cr_assert_eq(store_agent_cursor_read(s, c, 100, given_cb, &g), 0, "%s",
	             store_last_error(s));
	cr_expect_eq(g.n, 2);
	cr_expect_eq(store_agent_cursor_gaps(c), 0);
	cr_assert_eq(store_agent_cursor_read(s, c, 100, given_cb, &again), 0);
	cr_expect_eq(again.n, 0, "a run given twice");
	store_agent_cursor_free(c);
	store_close(s);
	test_rmtree(sdir);
}

/* database_read naming a server that is no standby (libpq's prefer-standby
 * found none among its hosts and took a primary): not read as a replica;
 * the primary reads, said once. */
Test(pg_replica, a_read_address_that_reaches_no_standby_is_not_read, .init = setup,
     .fini = teardown, .timeout = 60)
{
	capture_stderr();
	struct store *s = open_with_replica(url);
	store_replica_timing(s, 0, 60000, 100);
	insert_run("eu", wall_ms());
	for (int i = 0; i < 10; i++) {
		cr_expect_eq(runs_read(s), 1);
		cr_expect_not(store_reads_from_replica(s));
		sleep_ms(30);
	}
	store_close(s);
	char *said = captured();
	cr_expect_eq(occurrences(said, "no standby answered"), 1, "%s", said);
	free(said);
}

static int64_t
mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A replica host that takes the connection and never answers (a hung
 * server, a black hole behind a proxy) never holds the caller: the
 * connection is made step by step at each look, the primary reads
 * meanwhile, and it is given up after 10 s, said once. */
Test(pg_replica, a_replica_that_hangs_never_holds_the_reads, .init = setup, .fini = teardown,
     .timeout = 90)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(lfd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(lfd, 16), 0); /* the kernel accepts; nobody reads */
	socklen_t len = sizeof a;
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	char hung[200];
	snprintf(hung, sizeof hung, "postgres://postgres@127.0.0.1:%d/x", ntohs(a.sin_port));
	capture_stderr();
	int64_t t0 = mono_ms();
	struct store *s = open_with_replica(hung);
	cr_expect_leq(mono_ms() - t0, STORE_REPLICA_OPEN_WAIT_MS + 1000, "the open waited %lld ms",
	              (long long)(mono_ms() - t0));
	store_replica_timing(s, 0, 60000, 60000);
	insert_run("eu", wall_ms());
	int64_t slowest = 0;
	char *said = NULL;
	for (int i = 0; i < 400; i++) {
		int64_t t = mono_ms();
		cr_expect_eq(runs_read(s), 1);
		if (mono_ms() - t > slowest)
			slowest = mono_ms() - t;
		sleep_ms(30);
		free(said);
		said = captured();
		if (strstr(said, "no answer within 10 s") != NULL)
			break;
	}
	cr_expect_lt(slowest, 500, "a read waited %lld ms for the hung replica",
	             (long long)slowest);
	cr_expect_eq(occurrences(said, "the replica cannot be read (no answer within 10 s)"), 1,
	             "%s", said);
	free(said);
	store_close(s);
	close(lfd);
}
