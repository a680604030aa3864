/*
 * serve's credential canaries: each scheduled run plants a fresh one; a use
 * during the run, or long after it was scored, is a credential_harvesting
 * finding of that relay, naming the run; a request with a token that is
 * none of ours is ignored; what is stored of a canary is its digests, never
 * the key. Run against SQLite here and against PostgreSQL by
 * tests/test_serve_canary_pg.c (tests/store_engine.h).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#ifdef STORE_TEST_POSTGRES
#include <libpq-fe.h>
#else
#include <sqlite3.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/config.h"
#include "probes/canary.h"
#include "probes/observation.h"
#include "storage/store.h"
#include "storage/store_test.h"
#include "tests/helpers.h"
#include "tests/store_engine.h"

static struct test_world env;
static char pg_url[512]; /* the PostgreSQL twin's database */

static void
setup(void)
{
#ifdef STORE_TEST_POSTGRES
	if (!test_pg_available()) {
		if (test_pg_bindir() == NULL)
			cr_skip_test("%s", test_pg_skip_reason());
		cr_assert_fail("%s", test_pg_skip_reason());
	}
	cr_assert_eq(test_pg_database("canary", pg_url, sizeof pg_url), 0);
#endif
	static const char *const need[] = {"harvester", "late", "honest", NULL};
	test_world_start(&env, "canary", "tests/data/serve_canary/world.yaml", need, "0.05");
	setenv("ASSAY_BASELINE_DIR", "fixtures/baselines", 1);
}

static void
teardown(void)
{
	test_world_stop(&env);
#ifdef STORE_TEST_POSTGRES
	test_pg_drop();
#endif
}

struct served {
	struct child child;
	char base[300];   /* the status site */
	char canary[300]; /* the canary listener */
	char cfg[300], db[600], log[300];
};

/* serve env's relays with canaries on, its log into dir/serve.log. */
static void
serve_up(struct served *s)
{
	snprintf(s->cfg, sizeof s->cfg, "%s/assay.yaml", env.dir);
	if (store_test_postgres())
		snprintf(s->db, sizeof s->db, "%s", pg_url);
	else
		snprintf(s->db, sizeof s->db, "%s/assay.db", env.dir);
	snprintf(s->log, sizeof s->log, "%s/serve.log", env.dir);
	cr_assert_eq(test_write_file(s->cfg,
	                             "title: canaries\nlisten: 127.0.0.1:0\ndatabase: '%s'\n"
	                             "interval: 1s\ntimeout: 20s\ntime_scale: 0.05\n"
	                             "canary: {listen: '127.0.0.1:0'}\nrelays:\n"
	                             "  - {name: harvester, base_url: '%s', models: [gpt-4o]}\n"
	                             "  - {name: late, base_url: '%s', models: [gpt-4o]}\n"
	                             "  - {name: honest, base_url: '%s', models: [gpt-4o]}\n",
	                             s->db, fixture_url(&env.world, "harvester"),
	                             fixture_url(&env.world, "late"),
	                             fixture_url(&env.world, "honest")),
	             0);
	FILE *saved = fdopen(dup(2), "w");
	cr_assert_not_null(freopen(s->log, "a", stderr));
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", s->cfg, NULL};
	int started = serve_start(&s->child, argv, s->base, sizeof s->base);
	dup2(fileno(saved), 2);
	fclose(saved);
	cr_assert_eq(started, 0);
	char line[700];
	cr_assert_eq(child_read_line(&s->child, line, sizeof line, 10000), 0,
	             "no canary listener line");
	cr_assert_eq(strncmp(line, "canary listener http://", 23), 0, "%s", line);
	snprintf(s->canary, sizeof s->canary, "%.*s", (int)strcspn(line + 16, " "), line + 16);
}

/* The /api/v1/relays entry of relay (owned by root), or NULL. */
static json_t *
entry_of(json_t *root, const char *relay)
{
	return json_find(json_object_get(root, "relays"), "relay", relay);
}

static const json_t *
harvesting(const json_t *entry)
{
	return json_find(json_object_get(entry, "findings"), "class", "credential_harvesting");
}

static const char *
evidence(const json_t *f, const char *key)
{
	return json_string_value(json_object_get(json_object_get(f, "evidence"), key));
}

struct wanted {
	const char *relay;
	const char *observed; /* in the finding's observed text; NULL: any */
};

static int
found_cb(const json_t *root, void *arg)
{
	const struct wanted *w = arg;
	const json_t *f = harvesting(entry_of((json_t *)root, w->relay));
	const char *obs = f ? evidence(f, "observed") : NULL;
	return f != NULL && (w->observed == NULL || (obs && strstr(obs, w->observed)));
}

/* relay's harvesting finding, waited for (at most timeout_ms): the root of
 * /api/v1/relays (the caller decrefs). */
static json_t *
wait_finding(const struct served *s, const char *relay, const char *observed, int timeout_ms)
{
	char api[400];
	snprintf(api, sizeof api, "%sapi/v1/relays", s->base);
	struct wanted w = {relay, observed};
	json_t *root = http_wait_json(api, timeout_ms, found_cb, &w);
	cr_assert_not_null(root, "no credential_harvesting finding of %s within %d ms", relay,
	                   timeout_ms);
	return root;
}

/* One integer from sql on db (read-only, either engine), or -1. */
static long long
db_int(const char *db, const char *sql)
{
	char err[256], got[64];
	long long v = -1;
	struct store *st = store_open(db, 1, err, sizeof err);
	if (st != NULL && store_test_scalar(st, sql, got, sizeof got) == 1)
		v = strtoll(got, NULL, 10);
	store_close(st);
	return v;
}

/* Another writer holds the whole database (SQLite: an exclusive
 * transaction; PostgreSQL: a transaction holding the tables serve writes
 * a canary's use and a run to) until db_unlock. */
struct db_lock {
#ifdef STORE_TEST_POSTGRES
	PGconn *conn;
#else
	sqlite3 *conn;
#endif
};

static void
db_lock(struct db_lock *l, const char *db)
{
#ifdef STORE_TEST_POSTGRES
	l->conn = PQconnectdb(db);
	cr_assert_eq(PQstatus(l->conn), CONNECTION_OK, "%s", PQerrorMessage(l->conn));
	PGresult *r = PQexec(l->conn, "BEGIN; LOCK TABLE runs, canaries, canary_hits IN EXCLUSIVE"
	                              " MODE");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	PQclear(r);
#else
	cr_assert_eq(sqlite3_open(db, &l->conn), SQLITE_OK);
	sqlite3_busy_timeout(l->conn, 10000);
	cr_assert_eq(sqlite3_exec(l->conn, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
#endif
}

static void
db_unlock(struct db_lock *l)
{
#ifdef STORE_TEST_POSTGRES
	PQclear(PQexec(l->conn, "ROLLBACK"));
	PQfinish(l->conn);
#else
	sqlite3_exec(l->conn, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(l->conn);
#endif
}

/* Is a canary-shaped key ("sk-proj-" and 20 or more base62 characters) in
 * the file at path? Where, or NULL. */
static const char *
key_in(const char *p, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i++) {
		if (memcmp(p + i, "sk-proj-", 8) != 0)
			continue;
		size_t k = 0;
		while (i + 8 + k < n &&
		       strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		              p[i + 8 + k]) != NULL &&
		       p[i + 8 + k] != '\0')
			k++;
		if (k >= 20)
			return p + i;
	}
	return NULL;
}

static void
expect_no_key(const char *path)
{
	size_t n = 0;
	char *data = read_file(path, 1 << 28, &n);
	if (data == NULL)
		return; /* a WAL checkpointed away */
	const char *at = key_in(data, n);
	cr_expect_null(at, "a key is in %s: %.24s", path, at ? at : "");
	free(data);
}

/* No key in what the database holds: the SQLite file and its WAL, or all
 * PostgreSQL keeps of the database (pg_dump). */
static void
expect_no_key_stored(const char *db)
{
	char path[700];
#ifdef STORE_TEST_POSTGRES
	char cmd[1600];
	snprintf(path, sizeof path, "%s/dump.sql", env.dir);
	snprintf(cmd, sizeof cmd, "%s/pg_dump -d '%s' > '%s'", test_pg_bindir(), db, path);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	expect_no_key(path);
#else
	expect_no_key(db);
	snprintf(path, sizeof path, "%s-wal", db);
	expect_no_key(path);
#endif
}

static int
log_has(const char *path, const char *what)
{
	size_t n = 0;
	char *data = read_file(path, 1 << 24, &n);
	int yes = data != NULL && strstr(data, what) != NULL;
	free(data);
	return yes;
}

Test(serve_canary, a_harvesting_relay_is_named_and_the_honest_one_is_not, .init = setup,
     .fini = teardown, .timeout = 180)
{
	struct served s;
	serve_up(&s);
	json_t *root = wait_finding(&s, "harvester", "python-requests", 60000);
	const json_t *f = harvesting(entry_of(root, "harvester"));
	cr_expect_not_null(strstr(evidence(f, "observed"), "(the key itself sent)"), "%s",
	                   evidence(f, "observed"));
	cr_expect_not_null(strstr(evidence(f, "observed"), "/models"), "%s",
	                   evidence(f, "observed"));
	const char *summary = evidence(f, "summary");
	cr_expect(summary && strstr(summary, "harvester"), "%s", summary ? summary : "");
	cr_expect_str_eq(json_string_value(json_object_get(entry_of(root, "harvester"), "verdict")),
	                 "misbehaving");
	json_decref(root);

	/* a request with a token and key of nobody's: ignored, and said */
	char url[400];
	snprintf(url, sizeof url, "%s/c/0123456789abcdef0123456789abcdef/v1/models", s.canary);
	static const char *const headers[] = {
	    "Authorization: Bearer sk-proj-NotOneOfOursNotOneOfOursNotOneOfOurs12",
	    "User-Agent: unknown-token-test/1", NULL};
	struct http_request q = {.url = url, .headers = headers, .timeout_ms = 5000};
	struct http_response r;
	http_send(&r, &q);
	cr_expect_eq(r.status, 401, "the listener answered %ld", r.status);
	http_response_release(&r);
	long long deadline = test_now_ms() + 10000;
	while (!log_has(s.log, "no canary of ours") && test_now_ms() < deadline)
		usleep(100000);
	cr_expect(log_has(s.log, "no canary of ours"), "the unknown token was not said");

	/* the honest relay ran, and planted, and is not accused */
	char api[400];
	snprintf(api, sizeof api, "%sapi/v1/relays", s.base);
	root = http_get_json(api);
	json_t *honest = entry_of(root, "honest");
	cr_assert_not_null(honest);
	cr_expect_geq(json_integer_value(json_object_get(honest, "runs")), 1);
	cr_expect_null(harvesting(honest), "the honest relay is accused");
	json_decref(root);

	cr_expect_eq(child_stop(&s.child, 30000), 0);
	cr_expect_eq(db_int(s.db, "SELECT count(*) FROM canary_hits h JOIN canaries c ON"
	                          " c.id = h.canary JOIN targets t ON t.id = c.target"
	                          " WHERE t.relay = 'honest'"),
	             0);
	cr_expect_eq(db_int(s.db, "SELECT count(*) FROM canary_hits"
	                          " WHERE user_agent LIKE 'unknown-token-test%'"),
	             0);
	cr_expect_gt(db_int(s.db, "SELECT count(*) FROM canaries c JOIN targets t ON"
	                          " t.id = c.target WHERE t.relay = 'honest'"),
	             0, "no canary was planted in the honest relay");
	/* digests only: 64 hex digits each */
	cr_expect_eq(db_int(s.db, "SELECT count(*) FROM canaries WHERE length(key_sha256) != 64"
	                          " OR length(token_sha256) != 64"),
	             0);
	expect_no_key_stored(s.db);
	expect_no_key(s.log);
}

Test(serve_canary, a_use_long_after_the_run_names_that_run_and_survives_a_restart, .init = setup,
     .fini = teardown, .timeout = 240)
{
	struct served s;
	serve_up(&s);
	json_t *root = wait_finding(&s, "late", "after that run was scored", 120000);
	const json_t *f = harvesting(entry_of(root, "late"));
	char expected[400];
	snprintf(expected, sizeof expected, "%s", evidence(f, "expected"));
	json_decref(root);
	cr_expect_eq(child_stop(&s.child, 30000), 0);

	/* the run the finding names was saved before the use came, and the use
	 * was reported by a later run */
	const char *at = strstr(expected, "(run ");
	cr_assert_not_null(at, "%s", expected);
	long long run_id = atoll(at + 5);
	cr_assert_gt(run_id, 0, "%s", expected);
	char sql[600];
	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM canaries c JOIN targets t ON t.id = c.target"
	         " WHERE c.run_id = %lld AND t.relay = 'late'",
	         run_id);
	cr_expect_eq(db_int(s.db, sql), 1, "run %lld is not one of the late relay's", run_id);
	snprintf(sql, sizeof sql,
	         "SELECT h.at_ms - r.finished_ms FROM canary_hits h JOIN canaries c ON"
	         " c.id = h.canary JOIN runs r ON r.id = c.run_id WHERE c.run_id = %lld"
	         " ORDER BY h.id LIMIT 1",
	         run_id);
	cr_expect_gt(db_int(s.db, sql), 0, "the use came before its run ended");
	snprintf(sql, sizeof sql,
	         "SELECT min(h.reported_run) FROM canary_hits h JOIN canaries c ON"
	         " c.id = h.canary WHERE c.run_id = %lld",
	         run_id);
	cr_expect_gt(db_int(s.db, sql), run_id, "reported with its own run");
	/* the first run of the late relay that was used knew nothing of it */
	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM runs WHERE id = (SELECT min(c.run_id) FROM canaries c"
	         " JOIN canary_hits h ON h.canary = c.id JOIN targets t ON t.id = c.target"
	         " WHERE t.relay = 'late') AND findings LIKE '%%credential_harvesting%%'");
	cr_expect_eq(db_int(s.db, sql), 0, "the first run used already knew");

	/* a restart shows it before any new run */
	serve_up(&s);
	char api[400];
	snprintf(api, sizeof api, "%sapi/v1/relays", s.base);
	root = http_get_json(api);
	cr_expect_not_null(harvesting(entry_of(root, "late")), "forgotten at the restart");
	json_decref(root);
	long long stop_at = test_now_ms();
	int stopped = child_stop(&s.child, 30000);
	cr_expect_eq(stopped, 0, "serve's restart stopped with %d after %lld ms (log %s)", stopped,
	             test_now_ms() - stop_at, s.log);
	if (stopped != 0) {
		char cmd[400];
		snprintf(cmd, sizeof cmd, "tail -15 %s >&2", s.log);
		(void)!system(cmd);
	}
	expect_no_key_stored(s.db);
	expect_no_key(s.log);
}

/* What a relay echoes of the canary key or token is redacted from an
 * observation: whole, without its prefix, and the token. */
/* A use that comes while another writer holds the database waits with the
 * runs, is said, and is written and reported once the database is free:
 * nothing lost. */
Test(serve_canary, a_use_while_the_database_is_locked_waits_and_is_reported, .init = setup,
     .fini = teardown, .timeout = 240)
{
	struct served s;
	serve_up(&s);
	const char *planted = "SELECT count(*) FROM canaries c JOIN targets t ON t.id = c.target"
	                      " WHERE t.relay = 'late'";
	long long deadline = test_now_ms() + 60000;
	while (db_int(s.db, planted) < 1 && test_now_ms() < deadline)
		usleep(100000);
	cr_assert_geq(db_int(s.db, planted), 1, "no canary planted for the late relay");
	/* the late relay uses it 400 simulated seconds on (20 s): held from
	 * before then until serve says the use waits */
	struct db_lock lock;
	db_lock(&lock, s.db);
	deadline = test_now_ms() + 90000;
	while (!log_has(s.log, "use of canaries waiting") &&
	       !log_has(s.log, "uses of canaries waiting") && test_now_ms() < deadline)
		usleep(200000);
	int waited =
	    log_has(s.log, "use of canaries waiting") || log_has(s.log, "uses of canaries waiting");
	db_unlock(&lock);
	cr_assert(waited, "serve never said a use of a canary was waiting (log %s)", s.log);
	json_t *root = wait_finding(&s, "late", "after that run was scored", 90000);
	json_decref(root);
	cr_expect_eq(child_stop(&s.child, 20000), 0);
	/* runs past the bounded queue may go (said), a use of a canary not */
	cr_expect(!log_has(s.log, "LOST a use") && !log_has(s.log, "uses of canaries: the") &&
	              !log_has(s.log, "use of canaries: the"),
	          "serve lost a use of a canary (log %s)", s.log);
	cr_expect_geq(db_int(s.db, "SELECT count(*) FROM canary_hits"), 1);
}

/* `assay audit --canary-report URL` of relay against serve's listener: the
 * audit's JSON (the caller decrefs). */
static json_t *
report_audit(const char *relay, const char *listener)
{
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"audit",
	                (char *)"--base-url",
	                (char *)fixture_url(&env.world, relay),
	                (char *)"--model",
	                (char *)"gpt-4o",
	                (char *)"--time-scale",
	                (char *)"0.05",
	                (char *)"--canary-report",
	                (char *)listener,
	                (char *)"--canary-wait",
	                (char *)"3s",
	                (char *)"--json",
	                NULL};
	char *out = NULL, *err = NULL;
	run_capture(argv, 90000, &out, &err);
	json_t *j = json_loads(out ? out : "", 0, NULL);
	cr_assert_not_null(j, "%s: %s %s", relay, out, err);
	free(out);
	free(err);
	return j;
}

/* An audit that reports to serve's canary listener (one a relay can reach,
 * where the auditor's machine is not): the harvester's use of the audit's
 * own canary comes back to the audit, naming the audit's relay; the honest
 * relay is not accused; a listener that cannot be asked leaves the check
 * not judged, said. */
Test(serve_canary, an_audit_reporting_to_serve_catches_the_harvester, .init = setup,
     .fini = teardown, .timeout = 240)
{
	struct served s;
	serve_up(&s);
	json_t *j = report_audit("harvester", s.canary);
	const json_t *f = harvesting(j);
	cr_assert_not_null(f, "no credential_harvesting finding: %s",
	                   json_string_value(json_object_get(j, "reason")));
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "misbehaving");
	cr_expect_not_null(strstr(evidence(f, "observed"), "python-requests"), "%s",
	                   evidence(f, "observed"));
	json_decref(j);

	j = report_audit("honest", s.canary);
	cr_expect_null(harvesting(j));
	cr_expect_null(
	    json_find(json_object_get(j, "not_judged"), "check", "credential harvesting"),
	    "the listener was asked");
	json_decref(j);
	cr_expect_eq(child_stop(&s.child, 20000), 0);

	/* serve is gone: nobody to ask */
	j = report_audit("honest", s.canary);
	const json_t *u =
	    json_find(json_object_get(j, "not_judged"), "check", "credential harvesting");
	cr_assert_not_null(u, "a listener that cannot be asked was passed in silence");
	cr_expect_not_null(strstr(json_string_value(json_object_get(u, "reason")), "unknown"));
	json_decref(j);
}

Test(serve_canary, echoes_of_the_key_and_token_are_redacted)
{
	struct canary c;
	canary_make(&c, "http://127.0.0.1:9", "r");
	struct observation o;
	observation_init(&o);
	char *text = xasprintf("here: %s and %s and %s", c.key, c.key + 8, c.url);
	o.text = text;
	o.text_len = strlen(text);
	cr_expect_gt(canary_redact(&c, &o), 0);
	cr_expect_null(strstr(o.text, c.key + 8), "%s", o.text);
	cr_expect_null(strstr(o.text, c.token), "%s", o.text);
	cr_expect_null(key_in(o.text, strlen(o.text)), "%s", o.text);
	observation_release(&o);
	canary_wipe(&c);
	cr_expect_eq(c.key[0], '\0');
}

/* ---- the config's keys ---- */

static struct config *
load(const char *text, char *err, size_t errlen)
{
	return test_config_text("canarycfg", text, err, errlen);
}

#define RELAY "relays:\n  - name: r\n    base_url: http://127.0.0.1:9/v1\n    models: [gpt-4o]\n"

Test(serve_canary, config_keys)
{
	char err[512];
	struct config *c = load(RELAY, err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_expect_null(c->canary_listen, "canaries are off by default");
	config_free(c);
	c = load("canary: {listen: '0.0.0.0:4431', url: 'https://canary.example/'}\n" RELAY, err,
	         sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->canary_listen, "0.0.0.0:4431");
	cr_expect_str_eq(c->canary_url, "https://canary.example");
	config_free(c);
	c = load("canary_url: https://keys.example\n" RELAY, err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->canary_listen, CONFIG_CANARY_LISTEN);
	cr_expect_str_eq(c->canary_url, "https://keys.example");
	config_free(c);
	c = load("canary: off\n" RELAY, err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_expect_null(c->canary_listen);
	config_free(c);
}

static void
expect_error(const char *text, const char *want)
{
	char err[512];
	struct config *c = load(text, err, sizeof err);
	cr_expect_null(c, "accepted: %s", text);
	config_free(c);
	cr_expect(strstr(err, want) != NULL, "error '%s', want '%s'", err, want);
}

Test(serve_canary, config_errors_name_their_line)
{
	expect_error("title: t\ncanary: {listen: nowhere}\n" RELAY,
	             "assay.yaml:2: canary listen is HOST:PORT, not 'nowhere'");
	expect_error("canary: {url: 'ftp://x'}\n" RELAY, "assay.yaml:1: canary url: ");
	expect_error("canary_url: nothing\n" RELAY, "assay.yaml:1: canary url: ");
	expect_error("canary: {port: 4}\n" RELAY, "assay.yaml:1:");
	expect_error("canary: on\n" RELAY, "assay.yaml:1: canary is");
	expect_error("canary: {url: 'http://a'}\ncanary_url: http://b\n" RELAY,
	             "assay.yaml:2: canary_url and canary: {url} both given");
}
