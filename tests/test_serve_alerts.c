/*
 * Every alert kind, end to end through `assay serve` (web/alerts.h, issue
 * 18): fixture relays (tests/data/serve_alerts/world.yaml) cause each event
 * — a verdict that changes, an outage that opens and one that ends, a
 * canary key used (harvesting), an over-charging account (billing), upstream
 * credit running out (early warning, at risk) and a daily budget spent —
 * and a loopback webhook receives each one, once, with its kind, within one
 * probe interval of the event (the webhook's at_ms against the arrival),
 * and not again over the next runs (damping); the honest control relay
 * sends none. Every wait is for a condition, with a bound.
 */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

/* serve's probe interval in this test, ms: each alert must arrive within it */
#define INTERVAL_MS 3000

/* ---- the test ---- */

/* What each relay must tell, once. */
static const struct expect {
	const char *relay, *event;
} expected[] = {
    {"turns", "verdict_changed"},   {"outage", "outage_started"},
    {"outage", "outage_ended"},     {"harvester", "credential_harvesting"},
    {"bill-over", "billing"},       {"running-dry", "at_risk"},
    {"capped", "budget_exhausted"},
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

static int
all_received(struct test_hook *r)
{
	for (size_t i = 0; i < N_EXPECTED; i++)
		if (test_hook_received(r, expected[i].relay, expected[i].event) == 0)
			return 0;
	return 1;
}

static const char *const need[] = {"turns",       "outage", "harvester", "bill-over",
                                   "running-dry", "honest", NULL};

Test(serve_alerts, every_kind_is_told_once_within_an_interval, .timeout = 300)
{
	struct test_world env;
	test_world_start(&env, "serve-alerts", "tests/data/serve_alerts/world.yaml", need, "0.05");
	struct test_hook r;
	test_hook_start(&r);
	char cfg[300], db[300], base[300];
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	setenv("BILL_KEY", "sk-bill-test-0123456789", 1);
	/* a default audit of gpt-4o takes about 1,950 tokens and may take
	 * 3,000: the capped relay runs twice in 6,000, then is held back */
	cr_assert_eq(
	    test_write_file(
	        cfg,
	        "listen: 127.0.0.1:0\ndatabase: %s\ninterval: %ds\ntimeout: 10s\n"
	        "time_scale: 0.05\ncanary: {listen: '127.0.0.1:0'}\n"
	        "alerts:\n  damping: 30m\n  sinks:\n"
	        "    - {kind: webhook, url: 'http://127.0.0.1:%d/hook'}\n"
	        "relays:\n"
	        "  - {name: turns, base_url: '%s', models: [gpt-4o]}\n"
	        "  - {name: outage, base_url: '%s', models: [gpt-4o]}\n"
	        "  - {name: harvester, base_url: '%s', models: [gpt-4o]}\n"
	        "  - {name: bill-over, base_url: '%s', key_env: BILL_KEY, balance: billing,"
	        " price: {input_per_mtok: 50, output_per_mtok: 200}, models: [gpt-4o]}\n"
	        "  - {name: running-dry, base_url: '%s', models: [gpt-4o]}\n"
	        "  - {name: capped, base_url: '%s', budget: {tokens_per_day: 6000},"
	        " models: [gpt-4o]}\n"
	        "  - {name: control, base_url: '%s', models: [gpt-4o]}\n",
	        db, INTERVAL_MS / 1000, r.port, fixture_url(&env.world, "turns"),
	        fixture_url(&env.world, "outage"), fixture_url(&env.world, "harvester"),
	        fixture_url(&env.world, "bill-over"), fixture_url(&env.world, "running-dry"),
	        fixture_url(&env.world, "honest"), fixture_url(&env.world, "honest")),
	    0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);

	/* every event, each within the bound (the outage ends after 15 s) */
	long long until = test_now_ms() + 180000;
	while (!all_received(&r) && test_now_ms() < until)
		usleep(50000);
	for (size_t i = 0; i < N_EXPECTED; i++)
		cr_expect_geq(test_hook_received(&r, expected[i].relay, expected[i].event), 1,
		              "%s told no %s", expected[i].relay, expected[i].event);

	/* the next runs tell nothing again: three more runs of every relay
	 * that runs, while the capped one stays held */
	static const char *const running[] = {"turns",     "outage",      "harvester",
	                                      "bill-over", "running-dry", "control"};
	for (size_t i = 0; i < sizeof running / sizeof running[0]; i++) {
		long now = test_board_runs(base, running[i]);
		cr_expect_geq(test_wait_board_runs(base, running[i], now + 3, 90000), now + 3,
		              "%s did not run three more times", running[i]);
	}
	cr_expect_eq(test_board_runs(base, "capped"), 2, "the capped relay ran past its budget");
	/* the spend view: serve's own budget counts, beside the caps */
	char url[400];
	snprintf(url, sizeof url, "%sapi/v1/spend", base);
	json_t *spend = http_get_json(url);
	cr_assert_not_null(spend, "no %s", url);
	json_t *capped = json_find(json_object_get(spend, "relays"), "relay", "capped");
	long today = json_int(capped, "tokens_today");
	cr_expect(today > 3000 && today <= 6000, "capped spent %ld tokens today", today);
	cr_expect_eq(json_int(json_object_get(capped, "budget"), "tokens_per_day"), 6000);
	cr_expect_geq(json_int(spend, "tokens_today"), today);
	cr_expect_gt(json_real_value(json_object_get(spend, "usd_today")), 0);
	json_decref(spend);
	/* what was queued is delivered before serve exits */
	cr_expect_eq(child_stop(&serve, 20000), 0);

	for (size_t i = 0; i < N_EXPECTED; i++) {
		int n = test_hook_received(&r, expected[i].relay, expected[i].event);
		if (strcmp(expected[i].event, "budget_exhausted") == 0) {
			/* once a UTC day: a run across midnight may see two days */
			int64_t day = -1;
			int days = 0;
			for (int k = 0; k < r.n; k++)
				if (strcmp(r.got[k].event, "budget_exhausted") == 0 &&
				    r.got[k].at_ms / 86400000 != day) {
					day = r.got[k].at_ms / 86400000;
					days++;
				}
			cr_expect_eq(n, days, "capped: %d budget alerts over %d days", n, days);
			continue;
		}
		cr_expect_eq(n, 1, "%s told %s %d times", expected[i].relay, expected[i].event, n);
	}
	cr_expect_eq(test_hook_received(&r, "control", NULL), 0,
	             "the honest control relay was alerted on");
	cr_expect_eq(test_hook_received(&r, "turns", "outage_started"), 0);
	cr_expect_eq(r.malformed, 0, "%d webhook bodies without event, relay or at_ms",
	             r.malformed);
	/* within one probe interval of its event */
	int64_t latest = 0;
	for (int k = 0; k < r.n; k++) {
		int64_t late = r.got[k].arrived_ms - r.got[k].at_ms;
		cr_expect(late >= -5 && late <= INTERVAL_MS,
		          "%s %s arrived %lld ms after its event", r.got[k].relay, r.got[k].event,
		          (long long)late);
		latest = late > latest ? late : latest;
	}
	fprintf(stderr, "serve_alerts: %d alerts, the latest %lld ms after its event\n", r.n,
	        (long long)latest);
	test_hook_stop(&r);
	cr_expect_eq(test_world_stop(&env), 0);
}

/* A relay whose declared price changes (the config read again on SIGHUP)
 * is at risk, told once by an at_risk alert within an interval, while an
 * unchanged relay is not. */
static const char *const need_honest[] = {"honest", NULL};

static void
write_priced(const char *cfg, const char *db, int port, const char *url, const char *price)
{
	cr_assert_eq(test_write_file(cfg,
	                             "listen: 127.0.0.1:0\ndatabase: %s\ninterval: %ds\n"
	                             "timeout: 10s\ntime_scale: 0.05\n"
	                             "alerts:\n  sinks:\n"
	                             "    - {kind: webhook, url: 'http://127.0.0.1:%d/hook'}\n"
	                             "relays:\n"
	                             "  - {name: priced, base_url: '%s', models: [gpt-4o],"
	                             " price: {%s}}\n"
	                             "  - {name: steady, base_url: '%s', models: [gpt-4o],"
	                             " price: {ratio: 0.5}}\n",
	                             db, INTERVAL_MS / 1000, port, url, price, url),
	             0);
}

Test(serve_alerts, a_declared_price_change_is_an_early_warning, .timeout = 180)
{
	struct test_world env;
	test_world_start(&env, "serve-price", "tests/data/serve_alerts/world.yaml", need_honest,
	                 "0.05");
	struct test_hook r;
	test_hook_start(&r);
	char cfg[300], db[300], base[300];
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	const char *url = fixture_url(&env.world, "honest");
	write_priced(cfg, db, r.port, url, "input_per_mtok: 2.5, output_per_mtok: 10");
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	cr_expect_geq(test_wait_board_runs(base, "priced", 2, 60000), 2);
	cr_expect_eq(test_hook_received(&r, "priced", "at_risk"), 0, "at risk before any change");
	/* the relay doubles its price */
	write_priced(cfg, db, r.port, url, "input_per_mtok: 5, output_per_mtok: 20");
	cr_assert_eq(kill(serve.pid, SIGHUP), 0);
	long long until = test_now_ms() + 60000;
	while (test_hook_received(&r, "priced", "at_risk") == 0 && test_now_ms() < until)
		usleep(50000);
	cr_expect_eq(test_hook_received(&r, "priced", "at_risk"), 1,
	             "no at_risk alert for the price");
	/* the board's documents may be a moment (BOARD_MIN_REFRESH_MS) behind */
	json_t *e = NULL;
	const char *why = NULL;
	for (until = test_now_ms() + 5000; why == NULL && test_now_ms() < until;) {
		json_decref(e);
		e = test_board_entry(base, "priced");
		why = json_string_value(json_object_get(e, "at_risk"));
		if (why == NULL)
			usleep(100000);
	}
	cr_expect(why != NULL && strstr(why, "its declared price changed: $5/$20 per Mtok, "
	                                     "$2.5/$10 per Mtok before") != NULL,
	          "at_risk: %s", why ? why : "(none)");
	json_decref(e);
	/* three runs on: still once, and the steady relay never */
	long now = test_board_runs(base, "priced");
	cr_expect_geq(test_wait_board_runs(base, "priced", now + 3, 60000), now + 3);
	cr_expect_eq(child_stop(&serve, 20000), 0);
	cr_expect_eq(test_hook_received(&r, "priced", "at_risk"), 1);
	cr_expect_eq(test_hook_received(&r, "steady", NULL), 0, "the steady relay was alerted on");
	for (int k = 0; k < r.n; k++) {
		int64_t late = r.got[k].arrived_ms - r.got[k].at_ms;
		cr_expect(late >= -5 && late <= INTERVAL_MS,
		          "%s %s arrived %lld ms after its event", r.got[k].relay, r.got[k].event,
		          (long long)late);
	}
	test_hook_stop(&r);
	cr_expect_eq(test_world_stop(&env), 0);
}

/* The board's budget is one budget: spent, it holds every relay back and
 * is told once, not once a relay. */
Test(serve_alerts, the_boards_budget_is_told_once, .timeout = 180)
{
	struct test_world env;
	test_world_start(&env, "serve-board-budget", "tests/data/serve_alerts/world.yaml",
	                 need_honest, "0.05");
	struct test_hook r;
	test_hook_start(&r);
	char cfg[300], db[300], base[300];
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	const char *url = fixture_url(&env.world, "honest");
	/* 7,000 tokens for both (a run may take 3,000, and takes about 2,000) */
	cr_assert_eq(test_write_file(cfg,
	                             "listen: 127.0.0.1:0\ndatabase: %s\ninterval: %ds\n"
	                             "timeout: 10s\ntime_scale: 0.05\n"
	                             "budget: {tokens_per_day: 7000}\n"
	                             "alerts:\n  sinks:\n"
	                             "    - {kind: webhook, url: 'http://127.0.0.1:%d/hook',"
	                             " events: [budget]}\n"
	                             "relays:\n"
	                             "  - {name: one, base_url: '%s', models: [gpt-4o]}\n"
	                             "  - {name: two, base_url: '%s', models: [gpt-4o]}\n",
	                             db, INTERVAL_MS / 1000, r.port, url, url),
	             0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	/* both held back, the board's budget named */
	int held = 0;
	for (long long until = test_now_ms() + 90000; held < 2 && test_now_ms() < until;) {
		held = 0;
		static const char *const relays[] = {"one", "two"};
		for (int i = 0; i < 2; i++) {
			json_t *e = test_board_entry(base, relays[i]);
			const char *why = json_string_value(json_object_get(e, "not_running"));
			held += why != NULL && strstr(why, "the board's 7000 tokens") != NULL;
			json_decref(e);
		}
		if (held < 2)
			usleep(100000);
	}
	cr_expect_eq(held, 2, "both relays were not held back by the board's budget");
	char url_spend[400];
	snprintf(url_spend, sizeof url_spend, "%sapi/v1/spend", base);
	json_t *spend = http_get_json(url_spend);
	long tokens = json_int(spend, "tokens_today");
	cr_expect(tokens > 0 && tokens <= 7000, "the board spent %ld tokens of 7000", tokens);
	json_decref(spend);
	/* what either hold queued is delivered before serve exits */
	cr_expect_eq(child_stop(&serve, 20000), 0);
	cr_expect_eq(test_hook_received(&r, "one", "budget_exhausted") +
	                 test_hook_received(&r, "two", "budget_exhausted"),
	             1, "the board's budget told %d times",
	             test_hook_received(&r, "one", NULL) + test_hook_received(&r, "two", NULL));
	test_hook_stop(&r);
	cr_expect_eq(test_world_stop(&env), 0);
}
