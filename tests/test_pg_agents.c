/*
 * Probe agents on PostgreSQL: each agent's database role may insert rows
 * of its own region only (GRANTs and row-level security, schemas 11 and 12:
 * runs, observations and the findings the hub's ledger reads), and
 * read nothing it is not granted: not the targets, runs, observations,
 * ledger or settings, not the canaries' key digests, not other regions'
 * rows. `assay agent` writes its runs under its region; the hub reads every
 * region's.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "scoring/verdict.h"
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

static char url[512];
static struct store *hub;

/* A fresh database, migrated by the hub, with agents eu and us. */
static void
setup(void)
{
	if (!test_pg_available()) {
		if (test_pg_bindir() == NULL)
			cr_skip_test("%s", test_pg_skip_reason());
		cr_assert_fail("%s", test_pg_skip_reason());
	}
	cr_assert_eq(test_pg_database("agents", url, sizeof url), 0);
	char err[512];
	hub = store_open(url, 0, err, sizeof err);
	cr_assert_not_null(hub, "%s", err);
	/* roles are the cluster's, not the database's: one name per process */
	char eu[64], us[64];
	snprintf(eu, sizeof eu, "agent_eu_%ld", (long)getpid());
	snprintf(us, sizeof us, "agent_us_%ld", (long)getpid());
	cr_assert_eq(store_add_agent(hub, eu, "eu", err, sizeof err), 0, "%s", err);
	cr_assert_eq(store_add_agent(hub, us, "us", err, sizeof err), 0, "%s", err);
}

static void
teardown(void)
{
	store_close(hub);
	hub = NULL;
	char sql[256], err[512];
	for (int i = 0; i < 2; i++) {
		snprintf(sql, sizeof sql, "DROP OWNED BY agent_%s_%ld; DROP ROLE agent_%s_%ld",
		         i ? "us" : "eu", (long)getpid(), i ? "us" : "eu", (long)getpid());
		test_pg_exec(url, sql, err, sizeof err);
	}
	snprintf(sql, sizeof sql, "DROP OWNED BY agent_ap_%ld; DROP ROLE agent_ap_%ld",
	         (long)getpid(), (long)getpid());
	test_pg_exec(url, sql, err, sizeof err);
	test_pg_drop();
}

/* The agent of region ("eu" or "us") connected as its own role. */
static struct store *
open_agent(const char *region)
{
	char role[64], as[512], err[512];
	snprintf(role, sizeof role, "agent_%s_%ld", region, (long)getpid());
	test_pg_url_as(url, role, as, sizeof as);
	struct store_options o = {.agent = 1};
	struct store *s = store_open_with(as, &o, err, sizeof err);
	cr_assert_not_null(s, "agent %s: %s", region, err);
	return s;
}

/* One run of relay/model with ok_count of 2 requests ok, saved by agent a
 * under region: the row id or -1. */
static int64_t
agent_save(struct store *a, const char *region, const char *relay, int ok_count)
{
	static const struct probe_def ping = {.id = (char *)"ping", .samples = 1};
	struct audit_run run = {0};
	struct audit_item items[2] = {0};
	struct observation obs[2];
	run.target.relay = (char *)relay;
	run.target.model = (char *)"gpt-4o";
	run.started_ms = wall_ms();
	run.finished_ms = run.started_ms + 50;
	for (int i = 0; i < 2; i++) {
		observation_init(&obs[i]);
		obs[i].started_ms = run.started_ms;
		obs[i].http_status = i < ok_count ? 200 : 0;
		obs[i].error = i < ok_count ? ERR_NONE : ERR_NETWORK;
		obs[i].ttft_us = 120000;
		items[i].probe = &ping;
		items[i].sample = i;
		items[i].obs = &obs[i];
	}
	run.items = items;
	run.n_items = 2;
	struct assessment as;
	assessment_init(&as);
	as.requests = 2;
	as.ok_requests = ok_count;
	as.ttft_ms = ok_count ? 120 : -1;
	assessment_decide(&as);
	int64_t id = store_agent_save_run(a, region, &run, &as);
	assessment_release(&as);
	for (int i = 0; i < 2; i++)
		observation_release(&obs[i]);
	return id;
}

struct seen {
	int n;
	char regions[16][STORE_REGION_MAX + 1];
	char errors[16][32];
};

static void
seen_cb(const struct store_agent_run *r, void *arg)
{
	struct seen *s = arg;
	if (s->n < 16) {
		snprintf(s->regions[s->n], sizeof s->regions[0], "%s", r->region);
		snprintf(s->errors[s->n], sizeof s->errors[0], "%s", r->error_class);
	}
	s->n++;
}

Test(pg_agents, an_agent_writes_its_regions_runs_and_the_hub_reads_every_region, .init = setup,
     .fini = teardown)
{
	struct store *eu = open_agent("eu"), *us = open_agent("us");
	cr_expect_gt(agent_save(eu, "eu", "relay-a", 2), 0, "%s", store_last_error(eu));
	cr_expect_gt(agent_save(us, "us", "relay-a", 0), 0, "%s", store_last_error(us));
	struct seen seen = {0};
	cr_assert_eq(store_each_agent_run(hub, 0, 100, seen_cb, &seen), 0, "%s",
	             store_last_error(hub));
	cr_assert_eq(seen.n, 2);
	cr_expect_str_eq(seen.regions[0], "eu");
	cr_expect_str_eq(seen.errors[0], "none");
	cr_expect_str_eq(seen.regions[1], "us");
	cr_expect_str_eq(seen.errors[1], "network");
	char got[64];
	cr_assert_eq(
	    store_test_scalar(hub, "SELECT count(*) FROM agent_observations WHERE region = 'us'",
	                      got, sizeof got),
	    1, "%s", got);
	cr_expect_str_eq(got, "2");
	store_close(eu);
	store_close(us);
}

Test(pg_agents, an_agent_cannot_write_as_another_region, .init = setup, .fini = teardown)
{
	struct store *eu = open_agent("eu");
	cr_expect_lt(agent_save(eu, "us", "relay-a", 2), 0, "agent eu wrote a run as us");
	cr_expect_not_null(strstr(store_last_error(eu), "row-level security"), "%s",
	                   store_last_error(eu));
	char err[512];
	/* nor by hand: another region's observation, a region changed, a row
	 * deleted */
	cr_expect_neq(
	    store_test_exec(eu,
	                    "INSERT INTO agent_runs(region, relay, model, api, started_ms,"
	                    " finished_ms, verdict, requests, ok_requests, error_class)"
	                    " VALUES ('us', 'x', 'y', 'openai', 1, 2, 'genuine', 1, 1,"
	                    " 'none')",
	                    err, sizeof err),
	    0, "agent eu inserted a us row");
	cr_expect_not_null(strstr(err, "row-level security"), "%s", err);
	int64_t own = agent_save(eu, "eu", "relay-a", 2);
	cr_assert_gt(own, 0, "%s", store_last_error(eu));
	char sql[300];
	snprintf(sql, sizeof sql,
	         "INSERT INTO agent_observations(agent_run, region, probe, sample, started_ms,"
	         " http_status, error_class) VALUES (%lld, 'us', 'ping', 0, 1, 200, 'none')",
	         (long long)own);
	cr_expect_neq(store_test_exec(eu, sql, err, sizeof err), 0, "a us observation went in");
	cr_expect_neq(store_test_exec(eu, "UPDATE agent_runs SET region = 'us'", err, sizeof err),
	              0, "agent eu moved its rows to us");
	cr_expect_neq(store_test_exec(eu, "DELETE FROM agent_runs", err, sizeof err), 0,
	              "agent eu deleted rows");
	/* the hub sees eu's one run, nothing as us */
	char got[64];
	cr_assert_eq(store_test_scalar(hub, "SELECT count(*) FROM agent_runs WHERE region = 'us'",
	                               got, sizeof got),
	             1);
	cr_expect_str_eq(got, "0");
	cr_assert_eq(store_test_scalar(hub, "SELECT count(*) FROM agent_runs", got, sizeof got), 1);
	cr_expect_str_eq(got, "1");
	store_close(eu);
}

Test(pg_agents, an_agent_reads_no_keys_no_history_and_no_other_region, .init = setup,
     .fini = teardown)
{
	/* the hub's own tables hold something to read */
	char err[512];
	cr_assert_eq(
	    store_test_exec(hub,
	                    "INSERT INTO targets(relay, model) VALUES ('relay-a', 'gpt-4o');"
	                    " INSERT INTO canaries(target, planted_ms, key_sha256,"
	                    " token_sha256) SELECT id, 1, repeat('a', 64), repeat('b', 64)"
	                    " FROM targets;"
	                    " INSERT INTO settings VALUES ('title', 'hub')",
	                    err, sizeof err),
	    0, "%s", err);
	struct store *us = open_agent("us"), *eu = open_agent("eu");
	cr_assert_gt(agent_save(us, "us", "relay-a", 2), 0, "%s", store_last_error(us));
	cr_assert_gt(agent_save(eu, "eu", "relay-a", 2), 0, "%s", store_last_error(eu));
	static const char *const denied[] = {
	    "SELECT count(*) FROM canaries",     "SELECT key_sha256 FROM canaries",
	    "SELECT count(*) FROM canary_hits",  "SELECT count(*) FROM targets",
	    "SELECT count(*) FROM runs",         "SELECT count(*) FROM observations",
	    "SELECT count(*) FROM ledger_shown", "SELECT count(*) FROM ledger_evidence",
	    "SELECT value FROM settings",        "SELECT count(*) FROM agent_observations",
	    "SELECT relay FROM agent_runs",
	};
	for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
		char got[512];
		cr_expect_eq(store_test_scalar(eu, denied[i], got, sizeof got), -1,
		             "agent eu read '%s': %s", denied[i], got);
		cr_expect_not_null(strstr(got, "permission denied"), "%s: %s", denied[i], got);
	}
	/* of agent_runs, its own rows only (row-level security) */
	char got[64];
	cr_assert_eq(store_test_scalar(eu, "SELECT count(*) FROM agent_runs", got, sizeof got), 1,
	             "%s", got);
	cr_expect_str_eq(got, "1", "agent eu sees other regions' runs");
	cr_assert_eq(store_test_scalar(eu, "SELECT count(*) FROM agent_runs WHERE region = 'us'",
	                               got, sizeof got),
	             1, "%s", got);
	cr_expect_str_eq(got, "0");
	/* and it may not open the store as a hub: its role may not write runs */
	char role[64], as[512];
	snprintf(role, sizeof role, "agent_eu_%ld", (long)getpid());
	test_pg_url_as(url, role, as, sizeof as);
	cr_expect_null(store_open(as, 0, err, sizeof err),
	               "an agent's role opened the hub's store");
	store_close(us);
	store_close(eu);
}

/* A role with no region of its own inserts nothing. */
Test(pg_agents, a_role_without_a_region_inserts_nothing, .init = setup, .fini = teardown)
{
	char err[512], sql[512], role[64], as[512];
	snprintf(role, sizeof role, "agent_eu_%ld", (long)getpid());
	snprintf(sql, sizeof sql, "DELETE FROM agent_regions WHERE role = '%s'", role);
	cr_assert_eq(store_test_exec(hub, sql, err, sizeof err), 0, "%s", err);
	test_pg_url_as(url, role, as, sizeof as);
	struct store_options o = {.agent = 1};
	struct store *eu = store_open_with(as, &o, err, sizeof err);
	cr_assert_not_null(eu, "%s", err);
	cr_expect_lt(agent_save(eu, "eu", "relay-a", 2), 0, "a role with no region wrote");
	store_close(eu);
}

Test(pg_agents, names_that_would_be_sql_are_refused, .init = setup, .fini = teardown)
{
	char err[512];
	cr_expect_neq(store_add_agent(hub, "x; DROP TABLE runs", "eu", err, sizeof err), 0);
	cr_expect_neq(store_add_agent(hub, "agent_x", "eu'); --", err, sizeof err), 0);
	cr_expect_neq(store_add_agent(hub, "Agent", "eu", err, sizeof err), 0);
	char got[64];
	cr_expect_eq(store_test_scalar(hub, "SELECT count(*) FROM runs", got, sizeof got), 1);
}

/* Agent runs of region with ok_requests > 0 (ok 1) or = 0 (ok 0), per the
 * hub, or -1. */
static long
hub_count(const char *region, int ok)
{
	char sql[256], got[64];
	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM agent_runs WHERE region = '%s' AND ok_requests %s 0", region,
	         ok ? ">" : "=");
	if (store_test_scalar(hub, sql, got, sizeof got) != 1)
		return -1;
	return strtol(got, NULL, 10);
}

/* `assay agent` end to end: two agents, one cut off from the relay (its
 * own fault: a closed port), each writing under its region through its own
 * role; the hub reads both. */
Test(pg_agents, assay_agent_writes_each_regions_runs_end_to_end, .init = setup, .fini = teardown,
     .timeout = 180)
{
	static const char *const need[] = {"honest-relay", NULL};
	struct test_world w;
	test_world_start(&w, "pg-agent", "fixtures/demo.yaml", need, "0.05");
	struct child agents[2];
	const char *regions[2] = {"eu", "us"};
	/* a third region's role, added the way an administrator does */
	char hubcfg[300], ap_role[64];
	snprintf(hubcfg, sizeof hubcfg, "%s/hub.yaml", w.dir);
	snprintf(ap_role, sizeof ap_role, "agent_ap_%ld", (long)getpid());
	cr_assert_eq(test_write_file(hubcfg,
	                             "database: '%s'\nrelays:\n  - name: honest-relay\n"
	                             "    base_url: %s\n    models: [gpt-4o]\n",
	                             url, fixture_url(&w.world, "honest-relay")),
	             0);
	char *add[] = {(char *)test_binary("assay"),
	               (char *)"agent",
	               (char *)"--region",
	               (char *)"ap",
	               (char *)"--add-role",
	               ap_role,
	               (char *)"-c",
	               hubcfg,
	               NULL};
	char *out = NULL, *errs = NULL;
	cr_expect_eq(run_capture(add, 30000, &out, &errs), 0, "--add-role: %s", errs);
	cr_expect(out && strstr(out, "may now write the runs of region ap"), "%s", out);
	free(out);
	free(errs);
	char got[64], sql[200];
	snprintf(sql, sizeof sql, "SELECT region FROM agent_regions WHERE role = '%s'", ap_role);
	cr_expect_eq(store_test_scalar(hub, sql, got, sizeof got), 1);
	cr_expect_str_eq(got, "ap");
	char *bad[] = {(char *)test_binary("assay"),
	               (char *)"agent",
	               (char *)"--region",
	               (char *)"ap",
	               (char *)"--add-role",
	               (char *)"x; DROP TABLE runs",
	               (char *)"-c",
	               hubcfg,
	               NULL};
	cr_expect_eq(run_capture(bad, 30000, &out, &errs), 2, "a role name that is SQL");
	free(out);
	free(errs);
	for (int i = 0; i < 2; i++) {
		char role[64], as[512], cfg[300];
		snprintf(role, sizeof role, "agent_%s_%ld", regions[i], (long)getpid());
		test_pg_url_as(url, role, as, sizeof as);
		snprintf(cfg, sizeof cfg, "%s/%s.yaml", w.dir, regions[i]);
		/* us is cut off: its relay address answers nothing */
		cr_assert_eq(test_write_file(cfg,
		                             "database: '%s'\ninterval: 1s\ntimeout: 5s\n"
		                             "time_scale: 0.05\nrelays:\n"
		                             "  - name: honest-relay\n    base_url: %s\n"
		                             "    models: [gpt-4o]\n",
		                             as,
		                             i == 0 ? fixture_url(&w.world, "honest-relay")
		                                    : "http://127.0.0.1:1/v1"),
		             0);
		char *argv[] = {(char *)test_binary("assay"),
		                (char *)"agent",
		                (char *)"--region",
		                (char *)regions[i],
		                (char *)"-c",
		                cfg,
		                NULL};
		cr_assert_eq(child_start(&agents[i], argv), 0);
		char line[256];
		cr_assert_eq(child_read_line(&agents[i], line, sizeof line, 30000), 0,
		             "agent %s did not start", regions[i]);
		cr_expect_not_null(strstr(line, "auditing 1 relay-model"), "%s", line);
	}
	long long deadline = test_now_ms() + 90000;
	while ((hub_count("eu", 1) < 2 || hub_count("us", 0) < 2) && test_now_ms() < deadline)
		usleep(200000);
	cr_expect_geq(hub_count("eu", 1), 2, "eu's runs of a reachable relay");
	cr_expect_geq(hub_count("us", 0), 2, "us's runs of a relay it cannot reach");
	cr_expect_eq(hub_count("eu", 0), 0, "eu saw failures it should not");
	cr_expect_eq(hub_count("us", 1), 0, "us reached a closed port");
	for (int i = 0; i < 2; i++)
		cr_expect_eq(child_stop(&agents[i], 20000), 0, "agent %s", regions[i]);
	test_world_stop(&w);
}

/* What the hub's ledger reads of a run (schema 12's agent_findings). */
struct evidence_seen {
	int runs, findings;
	char region[STORE_REGION_MAX + 1], cls[32];
	double conv;
	int sighting;
};

static void
evidence_cb(const struct store_agent_evidence *e, void *arg)
{
	struct evidence_seen *s = arg;
	s->runs++;
	for (size_t i = 0; i < e->n_findings; i++) {
		s->findings++;
		snprintf(s->region, sizeof s->region, "%s", e->region);
		snprintf(s->cls, sizeof s->cls, "%s", e->findings[i].cls);
		s->conv = e->findings[i].conv;
		s->sighting = e->findings[i].sighting;
	}
}

/* An agent writes the findings of its own region's runs, with the run, and
 * none of another region's: not through the store, not by hand; it reads
 * none back, and it may not touch the hub's ledger. */
Test(pg_agents, an_agent_cannot_write_another_regions_findings, .init = setup, .fini = teardown)
{
	static const struct probe_def ping = {.id = (char *)"ping", .samples = 1};
	struct audit_run run = {0};
	struct audit_item item = {0};
	struct observation obs;
	observation_init(&obs);
	obs.http_status = 200;
	run.target.relay = (char *)"relay-a";
	run.target.model = (char *)"gpt-4o";
	run.started_ms = wall_ms();
	run.finished_ms = run.started_ms + 50;
	obs.started_ms = run.started_ms;
	item.probe = &ping;
	item.obs = &obs;
	run.items = &item;
	run.n_items = 1;
	struct assessment as;
	assessment_init(&as);
	as.requests = as.ok_requests = 1;
	assessment_decide(&as);
	struct ledger_entry entry = {.at_ms = run.started_ms, .run_counts = 1};
	entry.run_conv[CLASS_SUBSTITUTION] = 151015;
	entry.misbehaving = 1u << CLASS_SUBSTITUTION;
	entry.shown[entry.n_shown++] = (struct ledger_shown){.cls = CLASS_SUBSTITUTION,
	                                                     .convicts = 1,
	                                                     .confidence = 0.999999,
	                                                     .p_adjusted = 1e-6,
	                                                     .at_ms = run.started_ms,
	                                                     .expected = "o200k_base",
	                                                     .observed = "qwen",
	                                                     .summary = "another tokenizer",
	                                                     .probe = "chat"};
	struct store *eu = open_agent("eu");
	cr_expect_lt(store_agent_save_run_with(eu, "us", &run, &as, &entry), 0,
	             "agent eu wrote a run and findings as us");
	int64_t own = store_agent_save_run_with(eu, "eu", &run, &as, &entry);
	cr_assert_gt(own, 0, "%s", store_last_error(eu));
	char err[512], sql[400];
	/* by hand: a finding of us on eu's own run, a finding moved to us */
	snprintf(sql, sizeof sql,
	         "INSERT INTO agent_findings(agent_run, region, class, conv, lim, sighting)"
	         " VALUES (%lld, 'us', 'substitution', 1e9, 0, 2)",
	         (long long)own);
	cr_expect_neq(store_test_exec(eu, sql, err, sizeof err), 0, "a us finding went in");
	cr_expect_not_null(strstr(err, "row-level security"), "%s", err);
	cr_expect_neq(
	    store_test_exec(eu, "UPDATE agent_findings SET region = 'us'", err, sizeof err), 0,
	    "agent eu moved its findings to us");
	char got[512];
	cr_expect_eq(store_test_scalar(eu, "SELECT count(*) FROM agent_findings", got, sizeof got),
	             -1, "agent eu read the findings: %s", got);
	cr_expect_not_null(strstr(got, "permission denied"), "%s", got);
	/* nor the hub's ledger or its cursor */
	cr_expect_neq(store_test_exec(eu,
	                              "INSERT INTO hub_ledger VALUES ('relay-a', 'gpt-4o',"
	                              " 'misbehaving', '{}', 1)",
	                              err, sizeof err),
	              0, "agent eu wrote the hub's ledger");
	cr_expect_not_null(strstr(err, "permission denied"), "%s", err);
	cr_expect_eq(store_test_scalar(eu, "SELECT count(*) FROM hub_ledger", got, sizeof got), -1,
	             "agent eu read the hub's ledger: %s", got);
	/* the hub reads eu's one run with its one finding, nothing as us */
	struct evidence_seen seen = {0};
	cr_assert_eq(store_each_agent_evidence(hub, 0, 100, evidence_cb, &seen), 0, "%s",
	             store_last_error(hub));
	cr_expect_eq(seen.runs, 1);
	cr_expect_eq(seen.findings, 1);
	cr_expect_str_eq(seen.region, "eu");
	cr_expect_str_eq(seen.cls, "substitution");
	cr_expect_eq(seen.conv, 151015);
	cr_expect_eq(seen.sighting, 2);
	cr_assert_eq(store_test_scalar(hub,
	                               "SELECT count(*) FROM agent_findings WHERE region = 'us'",
	                               got, sizeof got),
	             1);
	cr_expect_str_eq(got, "0");
	assessment_release(&as);
	observation_release(&obs);
	store_close(eu);
}

/* A store at schema 11 whose agents were made then: the migration to 12
 * lets them write their findings without store_add_agent again. */
Test(pg_agents, agents_made_before_schema_12_may_write_their_findings, .init = setup,
     .fini = teardown)
{
	char err[512];
	cr_assert_eq(
	    store_test_exec(hub,
	                    "DROP TABLE agent_findings; DROP TABLE hub_ledger;"
	                    " DROP INDEX observations_style;" /* schema 13's */
	                    " DELETE FROM assay_schema; INSERT INTO assay_schema VALUES (11)",
	                    err, sizeof err),
	    0, "%s", err);
	store_close(hub);
	hub = store_open(url, 0, err, sizeof err); /* migrates 11 -> 13 */
	cr_assert_not_null(hub, "%s", err);
	struct store *eu = open_agent("eu");
	int64_t own = agent_save(eu, "eu", "relay-a", 2);
	cr_assert_gt(own, 0, "%s", store_last_error(eu));
	char sql[300];
	snprintf(sql, sizeof sql,
	         "INSERT INTO agent_findings(agent_run, region, class, conv, lim, sighting)"
	         " VALUES (%lld, 'eu', 'substitution', 10, 0, 1)",
	         (long long)own);
	cr_expect_eq(store_test_exec(eu, sql, err, sizeof err), 0, "%s", err);
	snprintf(sql, sizeof sql,
	         "INSERT INTO agent_findings(agent_run, region, class, conv, lim, sighting)"
	         " VALUES (%lld, 'us', 'substitution', 10, 0, 1)",
	         (long long)own);
	cr_expect_neq(store_test_exec(eu, sql, err, sizeof err), 0, "a us finding after migrating");
	store_close(eu);
}
