/*
 * The hub's quorum end to end: `assay serve` with `quorum: 2 of 3 regions`
 * on a PostgreSQL store and three `assay agent`s (eu, us, ap) on loopback,
 * each with its own role and its own faults (its relay address). A relay
 * cut off from one region only is never declared down; cut off from all
 * (the relay stops), it is, within two intervals.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
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

/* The agents' and the hub's interval. */
#define INTERVAL_MS 2000

static const char *const regions[3] = {"eu", "us", "ap"};
static const char *const need[] = {"honest-relay", NULL};
static char url[512], dir[256], hub_base[300];
static struct fixture world;
static int world_up;
static struct child hub, agents[3];
static int n_agents, hub_up;
static struct store *look;    /* the test's own connection, to read the store */
static struct test_hook hook; /* the hub's alerts */
static int hook_up;

/* The hub's quorum alerts of event (NULL: any) so far. */
static int
quorum_alerts(const char *event)
{
	int n = 0;
	pthread_mutex_lock(&hook.mu);
	for (int i = 0; i < hook.n; i++)
		n += hook.got[i].quorum && (event == NULL || strcmp(hook.got[i].event, event) == 0);
	pthread_mutex_unlock(&hook.mu);
	return n;
}

static void
setup(void)
{
	if (!test_pg_available()) {
		if (test_pg_bindir() == NULL)
			cr_skip_test("%s", test_pg_skip_reason());
		cr_assert_fail("%s", test_pg_skip_reason());
	}
	cr_assert_eq(test_pg_database("quorum", url, sizeof url), 0);
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "pg-quorum"), 0);
	fixture_start_scaled(&world, "fixtures/demo.yaml", need, "0.05");
	world_up = 1;
}

static void
teardown(void)
{
	for (int i = 0; i < n_agents; i++)
		child_stop(&agents[i], 20000);
	n_agents = 0;
	if (hub_up)
		child_stop(&hub, 20000);
	hub_up = 0;
	store_close(look);
	look = NULL;
	if (world_up)
		fixture_stop(&world);
	world_up = 0;
	if (hook_up)
		test_hook_stop(&hook);
	hook_up = 0;
	char sql[200], err[512];
	for (int i = 0; i < 3; i++) {
		snprintf(sql, sizeof sql, "DROP OWNED BY q_%s_%ld; DROP ROLE q_%s_%ld", regions[i],
		         (long)getpid(), regions[i], (long)getpid());
		test_pg_exec(url, sql, err, sizeof err);
	}
	test_pg_drop();
	test_rmtree(dir);
}

/* The hub: serve with the quorum rule, on the store (it migrates); then
 * the agents' roles, as the hub's administrator gives them. */
static void
start_hub(void)
{
	char cfg[400], err[512];
	snprintf(cfg, sizeof cfg, "%s/hub.yaml", dir);
	test_hook_start(&hook);
	hook_up = 1;
	cr_assert_eq(test_write_file(cfg,
	                             "title: hub\nlisten: 127.0.0.1:0\ndatabase: '%s'\n"
	                             "quorum: 2 of 3 regions\ninterval: %ds\ntimeout: 5s\n"
	                             "time_scale: 0.05\nalerts:\n  sinks:\n"
	                             "    - {kind: webhook, url: 'http://127.0.0.1:%d/hook'}\n"
	                             "relays:\n"
	                             "  - name: honest-relay\n    base_url: %s\n"
	                             "    models: [gpt-4o]\n",
	                             url, INTERVAL_MS / 1000, hook.port,
	                             fixture_url(&world, "honest-relay")),
	             0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	cr_assert_eq(serve_start(&hub, argv, hub_base, sizeof hub_base), 0,
	             "the hub did not start");
	hub_up = 1;
	look = store_open(url, 1, err, sizeof err);
	cr_assert_not_null(look, "%s", err);
	struct store *admin = store_open(url, 0, err, sizeof err);
	cr_assert_not_null(admin, "%s", err);
	for (int i = 0; i < 3; i++) {
		char role[64];
		snprintf(role, sizeof role, "q_%s_%ld", regions[i], (long)getpid());
		cr_assert_eq(store_add_agent(admin, role, regions[i], err, sizeof err), 0, "%s",
		             err);
	}
	store_close(admin);
}

/* Agent i, auditing the relay at relay_url (its own fault: a dead one). */
static void
start_agent(int i, const char *relay_url)
{
	char role[64], as[512], cfg[400], line[256];
	snprintf(role, sizeof role, "q_%s_%ld", regions[i], (long)getpid());
	test_pg_url_as(url, role, as, sizeof as);
	snprintf(cfg, sizeof cfg, "%s/%s.yaml", dir, regions[i]);
	cr_assert_eq(test_write_file(cfg,
	                             "database: '%s'\ninterval: %ds\ntimeout: 5s\n"
	                             "time_scale: 0.05\nrelays:\n"
	                             "  - name: honest-relay\n    base_url: %s\n"
	                             "    models: [gpt-4o]\n",
	                             as, INTERVAL_MS / 1000, relay_url),
	             0);
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"agent",
	                (char *)"--region",
	                (char *)regions[i],
	                (char *)"-c",
	                cfg,
	                NULL};
	cr_assert_eq(child_start(&agents[n_agents], argv), 0);
	n_agents++;
	cr_assert_eq(child_read_line(&agents[n_agents - 1], line, sizeof line, 30000), 0,
	             "agent %s did not start", regions[i]);
}

static long
scalar_long(const char *sql)
{
	char got[128];
	if (store_test_scalar(look, sql, got, sizeof got) != 1)
		return -1;
	return strtol(got, NULL, 10);
}

/* Runs region wrote with (ok 1) or without (ok 0) a success. */
static long
runs_of(const char *region, int ok)
{
	char sql[200];
	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM agent_runs WHERE region = '%s' AND ok_requests %s 0", region,
	         ok ? ">" : "=");
	return scalar_long(sql);
}

static char dead[64];

static const char *
dead_url(void)
{
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d/v1", test_free_port());
	return dead;
}

Test(pg_quorum, a_relay_cut_off_from_one_region_is_never_declared_down, .init = setup,
     .fini = teardown, .timeout = 240)
{
	start_hub();
	start_agent(0, fixture_url(&world, "honest-relay"));
	start_agent(1, dead_url()); /* us cannot reach it */
	start_agent(2, fixture_url(&world, "honest-relay"));
	/* five intervals' runs of every region, us failing every one */
	long long deadline = test_now_ms() + 120000;
	while ((runs_of("eu", 1) < 5 || runs_of("us", 0) < 5 || runs_of("ap", 1) < 5) &&
	       test_now_ms() < deadline)
		usleep(200000);
	cr_assert_geq(runs_of("us", 0), 5, "us's failing runs");
	cr_assert_geq(runs_of("eu", 1), 5);
	cr_assert_geq(runs_of("ap", 1), 5);
	cr_expect_eq(runs_of("us", 1), 0, "us reached a dead port");
	/* the hub has looked at each of them (it polls every INTERVAL_MS / 8) */
	usleep(2 * INTERVAL_MS * 1000);
	cr_expect_eq(scalar_long("SELECT count(*) FROM region_outages"), 0,
	             "one region of three cut off was declared an outage");
	cr_expect_eq(quorum_alerts(NULL), 0, "an outage alert for one region of three cut off");

	/* the hub's pages show the three regions: us down, eu and ap up */
	char u[500];
	snprintf(u, sizeof u, "%sapi/v1/relays", hub_base);
	json_t *root = http_get_json(u);
	json_t *regs =
	    json_object_get(json_array_get(json_object_get(root, "relays"), 0), "regions");
	char *dump = json_dumps(regs, JSON_COMPACT);
	cr_assert_eq(json_array_size(regs), 3, "the hub's regions: %s", dump);
	static const char *const want[3] = {"ap", "eu", "us"}; /* by name */
	for (size_t i = 0; i < 3; i++) {
		json_t *r = json_array_get(regs, i);
		cr_expect_str_eq(json_string_value(json_object_get(r, "region")), want[i], "%s",
		                 dump);
		int is_us = strcmp(want[i], "us") == 0;
		cr_expect_str_eq(json_string_value(json_object_get(r, "state")),
		                 is_us ? "down" : "up", "%s", dump);
		cr_expect_geq(json_integer_value(json_object_get(r, "runs")), 5, "%s", dump);
		if (is_us) {
			cr_expect_eq(json_integer_value(json_object_get(r, "ok_requests")), 0);
		} else {
			cr_expect_eq(json_real_value(json_object_get(r, "success_rate")), 1.0, "%s",
			             dump);
			cr_expect_gt(
			    json_real_value(json_object_get(json_object_get(r, "ttft_ms"), "p50")),
			    0, "%s", dump);
		}
	}
	free(dump);
	json_decref(root);
	snprintf(u, sizeof u, "%srelays/honest-relay.html", hub_base);
	long status = 0;
	size_t len = 0;
	char *html = http_get(u, &status, &len);
	cr_assert_eq(status, 200, "%s", u);
	const char *table = strstr(html, "<table class=\"regions\">");
	cr_assert_not_null(table, "no region table on the hub's relay page");
	cr_expect(strstr(table, ">ap</th>") && strstr(table, ">eu</th>") &&
	              strstr(table, ">us</th>"),
	          "a region's column is missing");
	cr_expect(strstr(table, "state-down\"><b>down</b>") != NULL, "us is not shown down");
	free(html);
	/* /metrics: a series per region, the database size said for PostgreSQL */
	snprintf(u, sizeof u, "%smetrics", hub_base);
	char *m = http_get(u, &status, &len);
	cr_assert_eq(status, 200);
	cr_expect(strstr(m, "region=\"us\",state=\"down\"} 1\n") != NULL, "%s", m);
	cr_expect(strstr(m, "assay_database_size_bytes{engine=\"postgresql\"}") != NULL);
	/* the hub's own exposition, checked by Prometheus's promtool */
	char mpath[400], cmd[600];
	snprintf(mpath, sizeof mpath, "%s/metrics.txt", dir);
	cr_assert_eq(test_write_file(mpath, "%s", m), 0);
	snprintf(cmd, sizeof cmd, "exec /usr/bin/promtool check metrics < '%s'", mpath);
	char *sh[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL}, *out = NULL, *err = NULL;
	int rc = run_capture(sh, 30000, &out, &err);
	cr_expect_eq(rc, 0, "promtool check metrics: %d\n%s%s", rc, out ? out : "", err ? err : "");
	free(out);
	free(err);
	free(m);
}

Test(pg_quorum, a_relay_cut_off_from_every_region_is_declared_down_within_two_intervals,
     .init = setup, .fini = teardown, .timeout = 240)
{
	start_hub();
	for (int i = 0; i < 3; i++)
		start_agent(i, fixture_url(&world, "honest-relay"));
	long long deadline = test_now_ms() + 120000;
	while ((runs_of("eu", 1) < 2 || runs_of("us", 1) < 2 || runs_of("ap", 1) < 2) &&
	       test_now_ms() < deadline)
		usleep(200000);
	for (int i = 0; i < 3; i++)
		cr_assert_geq(runs_of(regions[i], 1), 2, "%s's runs", regions[i]);
	cr_expect_eq(scalar_long("SELECT count(*) FROM region_outages"), 0,
	             "an outage while every region reaches it");
	/* the relay goes away for everyone */
	int64_t cut = wall_ms();
	fixture_stop(&world);
	world_up = 0;
	deadline = test_now_ms() + 4 * INTERVAL_MS + 10000;
	while (scalar_long("SELECT count(*) FROM region_outages WHERE resolved_ms IS NULL") < 1 &&
	       test_now_ms() < deadline)
		usleep(100000);
	long open = scalar_long("SELECT count(*) FROM region_outages WHERE resolved_ms IS NULL");
	cr_assert_eq(open, 1, "no outage declared with the relay gone from every region");
	long opened = scalar_long("SELECT opened_ms FROM region_outages");
	fprintf(stderr, "pg_quorum: declared %ld ms after the cut (interval %d ms)\n", opened - cut,
	        INTERVAL_MS);
	cr_expect_leq(opened - cut, 2 * INTERVAL_MS, "declared %ld ms after the cut (interval %d)",
	              opened - cut, INTERVAL_MS);
	char got[256];
	cr_assert_eq(
	    store_test_scalar(look, "SELECT regions_down FROM region_outages", got, sizeof got), 1);
	int named = 0;
	for (int i = 0; i < 3; i++)
		named += strstr(got, regions[i]) != NULL;
	cr_expect_geq(named, 2, "regions down: %s", got);
	/* told once, by the hub's alerts, as the quorum's outage */
	long long told_by = test_now_ms() + 10000;
	while (quorum_alerts("outage_started") < 1 && test_now_ms() < told_by)
		usleep(50000);
	cr_expect_eq(quorum_alerts("outage_started"), 1, "the quorum's outage was not alerted");

	/* the hub's pages show it: an outage of the relay-model naming the
	 * regions' states */
	char u[500];
	snprintf(u, sizeof u, "%sapi/v1/endpoints.json", hub_base);
	json_t *index = http_get_json(u);
	const char *data = json_string_value(
	    json_object_get(json_array_get(json_object_get(index, "endpoints"), 0), "json"));
	cr_assert_not_null(data, "no endpoint on the hub's board");
	snprintf(u, sizeof u, "%s%s", hub_base, data);
	json_decref(index);
	json_t *entry = http_get_json(u);
	json_t *incs = json_object_get(entry, "incidents");
	const json_t *quorum = NULL;
	for (size_t i = 0; i < json_array_size(incs); i++) {
		const char *detail =
		    json_string_value(json_object_get(json_array_get(incs, i), "detail"));
		if (detail && strstr(detail, "quorum of regions") != NULL)
			quorum = json_array_get(incs, i);
	}
	char *dump = json_dumps(incs, JSON_COMPACT);
	cr_assert_not_null(quorum, "the hub's page has no quorum outage: %s (%s)", dump, u);
	free(dump);
	cr_expect_str_eq(json_string_value(json_object_get(quorum, "kind")), "outage");
	const char *detail = json_string_value(json_object_get(quorum, "detail"));
	cr_expect(strstr(detail, "eu") && strstr(detail, "us") && strstr(detail, "ap"), "%s",
	          detail);
	cr_expect(json_is_null(json_object_get(quorum, "resolved_ms")), "not open");
	json_decref(entry);

	/* a hub restarted meanwhile keeps it: not declared twice, still shown */
	cr_expect_eq(child_stop(&hub, 20000), 0);
	hub_up = 0;
	char cfg[400],
	    *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	snprintf(cfg, sizeof cfg, "%s/hub.yaml", dir);
	cr_assert_eq(serve_start(&hub, argv, hub_base, sizeof hub_base), 0, "no second hub");
	hub_up = 1;
	usleep(2 * INTERVAL_MS * 1000);
	cr_expect_eq(scalar_long("SELECT count(*) FROM region_outages"), 1, "declared again");
	cr_expect_eq(quorum_alerts("outage_started"), 1, "a restarted hub alerted it again");
	snprintf(u, sizeof u, "%s%s", hub_base, "api/v1/endpoints/honest-relay_gpt-4o.json");
	entry = http_get_json(u);
	dump = json_dumps(json_object_get(entry, "incidents"), JSON_COMPACT);
	cr_expect(dump && strstr(dump, "quorum of regions"), "the restarted hub's page: %s", dump);
	free(dump);
	json_decref(entry);

	/* the pages' day by region survives a restart: with the agents
	 * stopped, a new hub shows every run they wrote, not only the
	 * quorum's last three intervals */
	for (int i = 0; i < n_agents; i++)
		child_stop(&agents[i], 20000);
	n_agents = 0;
	cr_expect_eq(child_stop(&hub, 20000), 0);
	hub_up = 0;
	long want = scalar_long("SELECT count(*) FROM agent_runs WHERE region = 'eu'");
	cr_assert_gt(want, 3, "eu's runs");
	cr_assert_eq(serve_start(&hub, argv, hub_base, sizeof hub_base), 0, "no third hub");
	hub_up = 1;
	snprintf(u, sizeof u, "%sapi/v1/relays", hub_base);
	long got_runs = -1;
	long long until = test_now_ms() + 10000;
	while (test_now_ms() < until) {
		json_t *root = http_get_json(u);
		json_t *regs =
		    json_object_get(json_array_get(json_object_get(root, "relays"), 0), "regions");
		for (size_t i = 0; i < json_array_size(regs); i++)
			if (strcmp(json_string_value(
			               json_object_get(json_array_get(regs, i), "region")),
			           "eu") == 0)
				got_runs = (long)json_integer_value(
				    json_object_get(json_array_get(regs, i), "runs"));
		json_decref(root);
		if (got_runs == want)
			break;
		usleep(200000);
	}
	cr_expect_eq(got_runs, want, "the restarted hub shows %ld of eu's %ld runs", got_runs,
	             want);
}
