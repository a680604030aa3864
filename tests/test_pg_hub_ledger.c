/*
 * The hub's ledger over its agents' evidence end to end: `assay serve`
 * (the hub) and three `assay agent`s (eu, us, ap) on loopback, each with
 * its own key, against fixture relays: an honest relay, the official
 * endpoint, a relay that swaps gpt-4o for another model for everyone, and
 * one that swaps it only for eu's key (substitute with audit_keys: the
 * others' keys and the hub's own are spared, so only eu's agent can see
 * it). On PostgreSQL (each agent its own role) and on SQLite (hub and
 * agents on one machine, one file).
 *
 * The swap seen by all three becomes misbehaving in the hub's ledger; the
 * eu-only swap is misbehaving on the hub's page (the hub's own runs see
 * nothing) and the page says eu saw it and us and ap did not; the honest
 * relay and the official endpoint get no cheating finding at the hub; a
 * restarted hub shows the ledger it kept. The hub's alerts tell the
 * eu-only swap as the pooled ledger's verdict change (serve's own runs saw
 * nothing to tell), and nothing of the honest ones.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <jansson.h>
#include <pthread.h>
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

/* The agents' interval, and the hub's epoch. */
#define INTERVAL_S 2

static const char *const regions[3] = {"eu", "us", "ap"};
static const char *const relays[4] = {"honest-relay", "official", "swap-relay", "eu-only-relay"};
static const char *const need[] = {"honest-relay", "official", "swap-relay", "eu-only-relay", NULL};
static char db[512], dir[256], hub_base[300];
static struct fixture world;
static int world_up, pg;
static struct child hub, agents[3];
static int n_agents, hub_up;
static struct test_hook hook; /* the hub's alerts */
static int hook_up;

static const char world_yaml[] =
    "provider:\n  name: official\n  port: 0\n"
    "relays:\n"
    "  - name: honest-relay\n    behaviours:\n      - honest: {latency: 40ms, jitter: 20ms}\n"
    "  - name: swap-relay\n    behaviours:\n      - honest: {latency: 30ms, jitter: 10ms}\n"
    "      - substitute: {from: gpt-4o, to: qwen3-32b}\n"
    "  - name: eu-only-relay\n    behaviours:\n      - honest: {latency: 30ms, jitter: 10ms}\n"
    "      - substitute: {from: gpt-4o, to: qwen3-32b,"
    " audit_keys: [key-us, key-ap, key-hub]}\n";

static void
setup_common(void)
{
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "hub-ledger"), 0);
	char wpath[400];
	snprintf(wpath, sizeof wpath, "%s/world.yaml", dir);
	cr_assert_eq(test_write_file(wpath, "%s", world_yaml), 0);
	fixture_start_scaled(&world, wpath, need, "0.05");
	world_up = 1;
	setenv("HUB_LEDGER_KEY_HUB", "key-hub", 1);
	setenv("HUB_LEDGER_KEY_EU", "key-eu", 1);
	setenv("HUB_LEDGER_KEY_US", "key-us", 1);
	setenv("HUB_LEDGER_KEY_AP", "key-ap", 1);
}

static void
setup_pg(void)
{
	if (!test_pg_available()) {
		if (test_pg_bindir() == NULL)
			cr_skip_test("%s", test_pg_skip_reason());
		cr_assert_fail("%s", test_pg_skip_reason());
	}
	pg = 1;
	cr_assert_eq(test_pg_database("hubledger", db, sizeof db), 0);
	setup_common();
}

static void
setup_sqlite(void)
{
	pg = 0;
	setup_common();
	snprintf(db, sizeof db, "%s/hub.db", dir);
}

static void
stop_agents(void)
{
	for (int i = 0; i < n_agents; i++)
		child_stop(&agents[i], 20000);
	n_agents = 0;
}

static void
teardown(void)
{
	stop_agents();
	if (hub_up)
		child_stop(&hub, 20000);
	hub_up = 0;
	if (world_up)
		fixture_stop(&world);
	world_up = 0;
	if (hook_up)
		test_hook_stop(&hook);
	hook_up = 0;
	if (pg) {
		char sql[200], err[512];
		for (int i = 0; i < 3; i++) {
			snprintf(sql, sizeof sql, "DROP OWNED BY l_%s_%ld; DROP ROLE l_%s_%ld",
			         regions[i], (long)getpid(), regions[i], (long)getpid());
			test_pg_exec(db, sql, err, sizeof err);
		}
		test_pg_drop();
	}
	test_rmtree(dir);
}

/* A config's relays: every relay of the world for gpt-4o with key_env and
 * the interval given. */
static void
relay_lines(char *out, size_t n, const char *key_env, const char *interval)
{
	size_t used = 0;
	for (int i = 0; i < 4; i++) {
		int k = snprintf(out + used, n - used,
		                 "  - name: %s\n    base_url: %s\n    key_env: %s\n"
		                 "    interval: %s\n    models: [gpt-4o]\n",
		                 relays[i], fixture_url(&world, relays[i]), key_env, interval);
		cr_assert(k > 0 && (size_t)k < n - used);
		used += (size_t)k;
	}
}

/* The hub: its own runs once an hour (its key spared by every evader), its
 * epoch the agents' interval. */
static void
start_hub(void)
{
	char cfg[400], lines[4000];
	snprintf(cfg, sizeof cfg, "%s/hub.yaml", dir);
	relay_lines(lines, sizeof lines, "HUB_LEDGER_KEY_HUB", "1h");
	if (!hook_up) {
		test_hook_start(&hook);
		hook_up = 1;
	}
	cr_assert_eq(test_write_file(cfg,
	                             "title: hub\nlisten: 127.0.0.1:0\ndatabase: '%s'\n"
	                             "quorum: 2 of 3 regions\ninterval: %ds\ntimeout: 5s\n"
	                             "time_scale: 0.05\nalerts:\n  sinks:\n"
	                             "    - {kind: webhook, url: 'http://127.0.0.1:%d/hook', "
	                             "events: [verdict]}\n"
	                             "relays:\n%s",
	                             db, INTERVAL_S, hook.port, lines),
	             0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	cr_assert_eq(serve_start(&hub, argv, hub_base, sizeof hub_base), 0,
	             "the hub did not start");
	hub_up = 1;
}

static void
add_roles(void)
{
	char err[512];
	struct store *admin = store_open(db, 0, err, sizeof err);
	cr_assert_not_null(admin, "%s", err);
	for (int i = 0; i < 3; i++) {
		char role[64];
		snprintf(role, sizeof role, "l_%s_%ld", regions[i], (long)getpid());
		cr_assert_eq(store_add_agent(admin, role, regions[i], err, sizeof err), 0, "%s",
		             err);
	}
	store_close(admin);
}

static void
start_agent(int i)
{
	char role[64], as[512], cfg[400], line[256], lines[4000], env[64];
	snprintf(role, sizeof role, "l_%s_%ld", regions[i], (long)getpid());
	if (pg)
		test_pg_url_as(db, role, as, sizeof as);
	else
		snprintf(as, sizeof as, "%s", db);
	snprintf(env, sizeof env, "HUB_LEDGER_KEY_%c%c", regions[i][0] - 32, regions[i][1] - 32);
	snprintf(cfg, sizeof cfg, "%s/%s.yaml", dir, regions[i]);
	char interval[16];
	snprintf(interval, sizeof interval, "%ds", INTERVAL_S);
	relay_lines(lines, sizeof lines, env, interval);
	cr_assert_eq(test_write_file(cfg,
	                             "database: '%s'\ninterval: %ds\ntimeout: 5s\n"
	                             "time_scale: 0.05\nrelays:\n%s",
	                             as, INTERVAL_S, lines),
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

/* The /api/v1/relays element of relay (a new reference), or NULL. */
static json_t *
element(json_t *root, const char *relay)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(root, "relays"), i, e)
	{
		const char *r = json_string_value(json_object_get(e, "relay"));
		if (r != NULL && strcmp(r, relay) == 0)
			return json_incref(e);
	}
	return NULL;
}

/* Pooled verdict changes told of relay so far (to: NULL, any). */
static int
pooled_alerts(const char *relay, const char *to)
{
	int n = 0;
	pthread_mutex_lock(&hook.mu);
	for (int i = 0; i < hook.n; i++)
		n += hook.got[i].pooled && strcmp(hook.got[i].relay, relay) == 0 &&
		     strcmp(hook.got[i].event, "verdict_changed") == 0 &&
		     (to == NULL || strcmp(hook.got[i].to, to) == 0);
	pthread_mutex_unlock(&hook.mu);
	return n;
}

/* A pooled alert of relay whose text holds what. */
static int
pooled_text(const char *relay, const char *what)
{
	int found = 0;
	pthread_mutex_lock(&hook.mu);
	for (int i = 0; i < hook.n; i++)
		found |= hook.got[i].pooled && strcmp(hook.got[i].relay, relay) == 0 &&
		         strstr(hook.got[i].text, what) != NULL;
	pthread_mutex_unlock(&hook.mu);
	return found;
}

static const char *
ledger_verdict(json_t *e)
{
	return json_string_value(json_object_get(json_object_get(e, "agents_ledger"), "verdict"));
}

static long
ledger_epochs(json_t *e)
{
	return (long)json_integer_value(
	    json_object_get(json_object_get(e, "agents_ledger"), "epochs"));
}

/* Both cheaters decided, and the honest ones folded over a few epochs. */
static int
decided(const json_t *root, void *arg)
{
	(void)arg;
	int ok = 1;
	for (int i = 0; i < 4 && ok; i++) {
		json_t *e = element((json_t *)root, relays[i]);
		const char *v = e ? ledger_verdict(e) : NULL;
		if (i >= 2)
			ok = v != NULL && strcmp(v, "misbehaving") == 0;
		else
			ok = v != NULL && ledger_epochs(e) >= 4;
		json_decref(e);
	}
	return ok;
}

/* No class of the honest relay's element is a cheating one, in its
 * findings or its ledger. */
static void
expect_no_cheating(json_t *e, const char *relay)
{
	char *dump = json_dumps(e, JSON_COMPACT);
	const char *v = json_string_value(json_object_get(e, "verdict"));
	cr_expect(v == NULL || (strcmp(v, "misbehaving") != 0 && strcmp(v, "suspect") != 0),
	          "%s: %s", relay, dump);
	cr_expect_str_eq(ledger_verdict(e), "genuine", "%s: %s", relay, dump);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(e, "agents_ledger"), "classes"), i, c)
	    cr_expect_str_eq(json_string_value(json_object_get(c, "level")), "genuine",
	                     "%s: a decided class: %s", relay, dump);
	json_array_foreach(json_object_get(e, "findings"), i, c)
	{
		const char *cls = json_string_value(json_object_get(c, "class"));
		cr_expect(cls == NULL || strcmp(cls, "substitution") != 0, "%s: %s", relay, dump);
	}
	free(dump);
}

static void
hub_ledger_end_to_end(void)
{
	start_hub();
	add_roles();
	for (int i = 0; i < 3; i++)
		start_agent(i);
	char u[500];
	snprintf(u, sizeof u, "%sapi/v1/relays", hub_base);
	json_t *root = http_wait_json(u, 200000, decided, NULL);
	if (root == NULL)
		root = http_get_json(u);
	cr_assert_not_null(root);
	char *dump = json_dumps(root, JSON_COMPACT);
	cr_assert(decided(root, NULL), "not decided in time: %s", dump);
	free(dump);

	/* the swap seen by every region: misbehaving, each region saw it */
	json_t *swap = element(root, "swap-relay");
	cr_expect_str_eq(json_string_value(json_object_get(swap, "verdict")), "misbehaving");
	json_decref(swap);

	/* eu only: the hub's own run saw nothing, the page's verdict is the
	 * ledger's, and it names eu, not us or ap */
	json_t *eu = element(root, "eu-only-relay");
	dump = json_dumps(eu, JSON_COMPACT);
	cr_expect_str_eq(json_string_value(json_object_get(eu, "verdict")), "misbehaving", "%s",
	                 dump);
	cr_expect(strstr(json_string_value(json_object_get(eu, "reason")), "agents' evidence"),
	          "%s", dump);
	json_t *cls = NULL, *c;
	size_t i;
	json_array_foreach(json_object_get(json_object_get(eu, "agents_ledger"), "classes"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "class")), "substitution") == 0)
			cls = c;
	}
	cr_assert_not_null(cls, "no substitution in the ledger: %s", dump);
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(cls, "finding"), "region")), "eu",
	    "%s", dump);
	json_t *r;
	json_array_foreach(json_object_get(cls, "regions"), i, r)
	{
		const char *name = json_string_value(json_object_get(r, "region"));
		long long seen = json_integer_value(json_object_get(r, "seen"));
		if (strcmp(name, "eu") == 0)
			cr_expect_gt(seen, 0, "%s", dump);
		else
			cr_expect_eq(seen, 0, "%s saw a swap it was spared: %s", name, dump);
	}
	int finding = 0;
	json_array_foreach(json_object_get(eu, "findings"), i, c)
	{
		const char *s =
		    json_string_value(json_object_get(json_object_get(c, "evidence"), "summary"));
		finding |=
		    strcmp(json_string_value(json_object_get(c, "class")), "substitution") == 0 &&
		    s != NULL && strstr(s, "seen by eu ") != NULL;
	}
	cr_expect(finding, "the page's findings do not say eu saw it: %s", dump);
	free(dump);
	json_decref(eu);

	/* the alerts: the eu-only swap told as the pooled ledger's change to
	 * misbehaving (serve's own runs saw nothing); nothing pooled of the
	 * honest ones (the alert comes once the state is written: waited for) */
	long long until = test_now_ms() + 30000;
	while (pooled_alerts("eu-only-relay", "misbehaving") == 0 && test_now_ms() < until)
		usleep(100000);
	cr_expect_eq(pooled_alerts("eu-only-relay", "misbehaving"), 1,
	             "the eu-only swap's pooled verdict was not told once");
	cr_expect(pooled_text("eu-only-relay", "seen by eu "),
	          "the alert does not say what the agents saw");
	cr_expect_eq(pooled_alerts("eu-only-relay", NULL) -
	                 pooled_alerts("eu-only-relay", "misbehaving"),
	             0);
	cr_expect_eq(pooled_alerts("honest-relay", NULL), 0, "an honest relay told pooled");
	cr_expect_eq(pooled_alerts("official", NULL), 0, "the official endpoint told pooled");
	cr_expect_eq(hook.malformed, 0);

	/* honest and official: folded, never a cheating finding */
	for (int k = 0; k < 2; k++) {
		json_t *e = element(root, relays[k]);
		cr_assert_not_null(e);
		expect_no_cheating(e, relays[k]);
		json_decref(e);
	}
	long eu_epochs = 0;
	json_t *e = element(root, "eu-only-relay");
	eu_epochs = ledger_epochs(e);
	json_decref(e);
	json_decref(root);

	/* the relay page: the ledger's table, eu's column saying it saw it */
	snprintf(u, sizeof u, "%srelays/eu-only-relay.html", hub_base);
	long status = 0;
	size_t len = 0;
	char *html = http_get(u, &status, &len);
	cr_assert_eq(status, 200);
	const char *t = strstr(html, "Agents' evidence, every region pooled");
	cr_assert_not_null(t, "no ledger on the relay page");
	cr_expect(strstr(t, ">eu</th>") && strstr(t, ">us</th>") && strstr(t, ">ap</th>"));
	cr_expect(strstr(t, "class=\"num seen\">saw it in ") != NULL, "%s", t);
	free(html);

	/* the store keeps each relay-model's ledger */
	char err[512], got[64];
	struct store *look = store_open(db, 1, err, sizeof err);
	cr_assert_not_null(look, "%s", err);
	cr_expect_eq(
	    store_test_scalar(look, "SELECT verdict FROM hub_ledger WHERE relay = 'eu-only-relay'",
	                      got, sizeof got),
	    1);
	cr_expect_str_eq(got, "misbehaving");
	cr_expect_eq(
	    store_test_scalar(look, "SELECT verdict FROM hub_ledger WHERE relay = 'honest-relay'",
	                      got, sizeof got),
	    1);
	cr_expect_str_eq(got, "genuine");
	store_close(look);

	/* a restarted hub, the agents stopped: the ledger it kept, not a new
	 * one (no epoch comes in) */
	stop_agents();
	usleep(3 * INTERVAL_S * 1000000);
	child_stop(&hub, 20000);
	hub_up = 0;
	look = store_open(db, 1, err, sizeof err);
	cr_assert_not_null(look, "%s", err);
	cr_assert_eq(store_test_scalar(look, "SELECT count(*) FROM agent_runs", got, sizeof got),
	             1);
	store_close(look);
	start_hub();
	snprintf(u, sizeof u, "%sapi/v1/relays", hub_base);
	root = http_get_json(u);
	cr_assert_not_null(root);
	e = element(root, "eu-only-relay");
	dump = json_dumps(e, JSON_COMPACT);
	cr_expect_str_eq(ledger_verdict(e), "misbehaving", "after a restart: %s", dump);
	cr_expect_geq(ledger_epochs(e), eu_epochs, "after a restart: %s", dump);
	cr_expect_str_eq(json_string_value(json_object_get(e, "verdict")), "misbehaving", "%s",
	                 dump);
	free(dump);
	json_decref(e);
	json_decref(root);
}

Test(pg_hub_ledger, agents_evidence_reaches_the_hubs_ledger_on_postgresql, .init = setup_pg,
     .fini = teardown, .timeout = 400)
{
	hub_ledger_end_to_end();
}

Test(pg_hub_ledger, agents_evidence_reaches_the_hubs_ledger_on_sqlite, .init = setup_sqlite,
     .fini = teardown, .timeout = 400)
{
	hub_ledger_end_to_end();
}
