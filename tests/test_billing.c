/*
 * serve's billing audit (issue 18): the billing endpoints' URLs and
 * answers (probes/balance.h), the rule (scoring/billing.h) on fixed
 * figures, and serve watching the fixture's one-api-like relays: one that
 * charges its price (no over-charge), one that charges 1.6 times it
 * (over-charges, said in the log and on the board), one whose balance
 * drains while it answers nothing, one with no billing endpoint (said, no
 * finding).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "probes/balance.h"
#include "scoring/billing.h"
#include "tests/helpers.h"

Test(billing, urls_and_answers)
{
	struct balance_conf c = {.kind = BALANCE_BILLING};
	char *u[2];
	cr_assert_eq(balance_urls(&c, "https://relay.example/v1/", 1764547200000LL, u), 2);
	cr_expect_str_eq(u[0], "https://relay.example/v1/dashboard/billing/subscription");
	cr_expect_str_eq(u[1], "https://relay.example/v1/dashboard/billing/usage?"
	                       "start_date=2025-08-24&end_date=2025-12-02");
	free(u[0]);
	free(u[1]);
	cr_assert_eq(balance_urls(&c, "https://relay.example", 1764547200000LL, u), 2);
	cr_expect_str_eq(u[0], "https://relay.example/v1/dashboard/billing/subscription");
	free(u[0]);
	free(u[1]);
	/* new-api's documented answers */
	const char *bodies[2] = {"{\"object\":\"billing_subscription\",\"has_payment_method\":true,"
	                         "\"soft_limit_usd\":100.0,\"hard_limit_usd\":100.0,"
	                         "\"system_hard_limit_usd\":100.0,\"access_until\":1640995200}",
	                         "{\"object\":\"list\",\"total_usage\":2500.0}"};
	size_t lens[2] = {strlen(bodies[0]), strlen(bodies[1])};
	struct balance_sample s;
	char why[200];
	cr_assert_eq(balance_read(&c, bodies, lens, &s, why, sizeof why), 0, "%s", why);
	cr_expect_float_eq(s.used_usd, 25.0, 1e-9);
	cr_expect_float_eq(s.balance_usd, 75.0, 1e-9);
	/* one missing, or not a number */
	const char *half[2] = {bodies[0], NULL};
	cr_expect_eq(balance_read(&c, half, lens, &s, why, sizeof why), -1);
	const char *bad[2] = {bodies[0], "{\"total_usage\":\"lots\"}"};
	size_t badl[2] = {lens[0], strlen(bad[1])};
	cr_expect_eq(balance_read(&c, bad, badl, &s, why, sizeof why), -1);
	cr_expect(strstr(why, "total_usage") != NULL, "%s", why);
	/* a configured endpoint and path, times a scale */
	struct balance_conf k = {.kind = BALANCE_CUSTOM,
	                         .url = (char *)"https://r/api/me",
	                         .path = (char *)"data.quota",
	                         .scale = 0.000002};
	cr_assert_eq(balance_urls(&k, "https://r/v1", 0, u), 1);
	cr_expect_str_eq(u[0], "https://r/api/me");
	free(u[0]);
	const char *mine[2] = {"{\"data\":{\"quota\":5000000}}", NULL};
	size_t ml[2] = {strlen(mine[0]), 0};
	cr_assert_eq(balance_read(&k, mine, ml, &s, why, sizeof why), 0, "%s", why);
	cr_expect_float_eq(s.balance_usd, 10.0, 1e-9);
}

static enum billing_event
look(struct billing_state *b, double used, int64_t at, char *text, size_t n)
{
	struct balance_sample s = {.balance_usd = 20 - used, .used_usd = used};
	return billing_look(b, &s, at, 1, text, n);
}

Test(billing, the_rule_on_fixed_figures)
{
	struct billing_state b;
	char text[600];
	billing_init(&b);
	/* the first look is the baseline, whatever came before */
	billing_add_run(&b, 0.10, 0.20, 2000);
	cr_expect_eq(look(&b, 0.10, 1000, text, sizeof text), BILLING_NONE);
	/* charged its price, to the cent: no over-charge */
	double used = 0.10;
	for (int i = 0; i < 5; i++) {
		billing_add_run(&b, 0.10, 0.20, 2000);
		used += 0.10;
		cr_expect_eq(look(&b, used, 2000 + i, text, sizeof text), BILLING_NONE, "%s", text);
	}
	cr_expect(strstr(text, "over-charges") == NULL, "%s", text);
	cr_expect(strstr(text, "charged $0.50") != NULL && strstr(text, "0.50x") != NULL, "%s",
	          text);
	/* then 1.6 times it: told once */
	int told = 0;
	for (int i = 0; i < 10; i++) {
		billing_add_run(&b, 0.10, 0.20, 2000);
		used += 0.16;
		told += look(&b, used, 3000 + i, text, sizeof text) == BILLING_OVERCHARGE;
	}
	cr_expect_eq(told, 1);
	cr_expect(strncmp(text, "over-charges", 12) == 0, "%s", text);
	/* a charge while no run spent a token: a drain */
	billing_add_run(&b, 0, 0, 0);
	used += 0.05;
	cr_expect_eq(look(&b, used, 4000, text, sizeof text), BILLING_DRAIN, "%s", text);
	cr_expect(strstr(text, "no run of ours spent a token") != NULL, "%s", text);
	/* no price known: no judgement of over-charge, only figures */
	billing_init(&b);
	billing_add_run(&b, -1, 0.2, 2000);
	look(&b, 0, 0, text, sizeof text);
	for (int i = 0; i < 5; i++) {
		billing_add_run(&b, -1, 0.2, 2000);
		cr_expect_neq(look(&b, 1.0 * (i + 1), 10 + i, text, sizeof text),
		              BILLING_OVERCHARGE);
	}
}

/* ---- serve ---- */

static const char *const need[] = {"bill-honest", "bill-over", "bill-drain", "bill-none", NULL};

Test(billing, serve_watches_the_accounts, .timeout = 180)
{
	struct test_world env;
	test_world_start(&env, "billing", "tests/data/billing/world.yaml", need, "0.05");
	char cfg[300], db[300], logpath[300], base[300];
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	snprintf(logpath, sizeof logpath, "%s/serve.log", env.dir);
	setenv("BILL_KEY", "sk-bill-test-0123456789", 1);
	cr_assert_eq(
	    test_write_file(
	        cfg,
	        "listen: 127.0.0.1:0\ndatabase: %s\ninterval: 1s\ntimeout: 10s\n"
	        "time_scale: 0.05\nrelays:\n"
	        "  - {name: bill-honest, base_url: '%s', key_env: BILL_KEY, balance: billing,"
	        " price: {input_per_mtok: 50, output_per_mtok: 200}, models: [gpt-4o]}\n"
	        "  - {name: bill-over, base_url: '%s', key_env: BILL_KEY, balance: billing,"
	        " price: {input_per_mtok: 50, output_per_mtok: 200}, models: [gpt-4o]}\n"
	        "  - {name: bill-drain, base_url: '%s', key_env: BILL_KEY, balance: billing,"
	        " models: [gpt-4o]}\n"
	        "  - {name: bill-none, base_url: '%s', key_env: BILL_KEY, balance: billing,"
	        " models: [gpt-4o]}\n",
	        db, fixture_url(&env.world, "bill-honest"), fixture_url(&env.world, "bill-over"),
	        fixture_url(&env.world, "bill-drain"), fixture_url(&env.world, "bill-none")),
	    0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	FILE *saved = fdopen(dup(2), "w");
	cr_assert_not_null(freopen(logpath, "a", stderr));
	int started = serve_start(&serve, argv, base, sizeof base);
	dup2(fileno(saved), 2);
	fclose(saved);
	cr_assert_eq(started, 0);
	/* a run is worth about $0.16 at that price: 5 runs each */
	cr_expect_geq(test_wait_board_runs(base, "bill-honest", 6, 90000), 6);
	cr_expect_geq(test_wait_board_runs(base, "bill-over", 6, 90000), 6);
	cr_expect_geq(test_wait_board_runs(base, "bill-drain", 3, 90000), 3);
	json_t *e = test_board_entry(base, "bill-honest");
	const char *t = json_string_value(json_object_get(e, "billing"));
	cr_expect(t != NULL && strstr(t, "charged $") != NULL && strstr(t, "over-charges") == NULL,
	          "bill-honest: %s", t ? t : "(none)");
	json_decref(e);
	e = test_board_entry(base, "bill-over");
	t = json_string_value(json_object_get(e, "billing"));
	cr_expect(t != NULL && strncmp(t, "over-charges", 12) == 0, "bill-over: %s",
	          t ? t : "(none)");
	/* a fact, not a verdict */
	cr_expect_str_eq(json_string_value(json_object_get(e, "verdict")), "genuine");
	json_decref(e);
	e = test_board_entry(base, "bill-drain");
	t = json_string_value(json_object_get(e, "billing"));
	cr_expect(t != NULL && strstr(t, "no run of ours spent a token") != NULL, "bill-drain: %s",
	          t ? t : "(none)");
	json_decref(e);
	e = test_board_entry(base, "bill-none");
	t = json_string_value(json_object_get(e, "billing"));
	cr_expect(t != NULL && strstr(t, "could not be read") != NULL, "bill-none: %s",
	          t ? t : "(none)");
	json_decref(e);
	cr_expect_eq(child_stop(&serve, 20000), 0);
	/* told once each, in the log; the key never */
	char *log = NULL;
	size_t n = 0;
	FILE *f = fopen(logpath, "r");
	cr_assert_not_null(f);
	struct buf b;
	buf_init(&b, 0);
	char chunk[4096];
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_puts(&b, (chunk[n < sizeof chunk ? n : sizeof chunk - 1] = '\0', chunk));
	fclose(f);
	log = buf_take(&b, NULL);
	cr_expect(strstr(log, "assay: bill-over: over-charges") != NULL, "no over-charge told");
	cr_expect(strstr(log, "assay: bill-honest: over-charges") == NULL,
	          "the honest relay was said to over-charge");
	cr_expect(strstr(log, "assay: bill-drain: balance drains without use") != NULL,
	          "no drain told");
	cr_expect(strstr(log, "sk-bill-test") == NULL, "the key reached the log");
	free(log);
	cr_expect_eq(test_world_stop(&env), 0);
}
