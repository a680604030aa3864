/*
 * The hub's per-region views, from a board fed agents' runs directly (as
 * cli/hub.c feeds it): the relay page's columns (state, freshness, success
 * share, TTFT p50 / p95 by region) escaped, the `regions` array of
 * /api/v1/relays and of the endpoint JSON, runs of relay-models the board
 * does not know ignored, and /metrics' per-region series checked by
 * Prometheus's own `promtool check metrics` (Debian's `prometheus`).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "scoring/region_ledger.h"
#include "tests/helpers.h"
#include "web/board.h"
#include "web/regions.h"
#include "web/site.h"

static const char hostile_region[] = "<script>x\"y\\z\nw</script>";

/* n runs of region, one a minute up to now, ok of them succeeding (the
 * latest last), TTFT 100 + 10 i ms. */
static void
feed(struct board *b, const char *region, int n, int ok_runs, int64_t now)
{
	for (int i = 0; i < n; i++) {
		int ok = i >= n - ok_runs;
		struct board_region_run run = {
		    .region = region,
		    .relay = "honest",
		    .model = "gpt-4o",
		    .verdict = "genuine",
		    .error_class = ok ? "none" : "network",
		    .at_ms = now - (int64_t)(n - 1 - i) * 60000,
		    .requests = 4,
		    .ok_requests = ok ? 4 : 0,
		    .ttft_ms = ok ? 100 + 10 * i : -1,
		};
		board_region_run(b, &run);
	}
}

static struct board *
region_board(int64_t now)
{
	struct board *b = board_new("hub");
	board_declare(b, "honest", "gpt-4o", "openai", 60000);
	struct board_run run = {.relay = "honest",
	                        .model = "gpt-4o",
	                        .verdict = "genuine",
	                        .reason = "ok",
	                        .at_ms = now,
	                        .runs = 1,
	                        .requests = 4,
	                        .ok_requests = 4,
	                        .ttft_ms = 120,
	                        .tokens_per_s = 50};
	board_record(b, &run);
	feed(b, "eu", 20, 20, now);         /* up: 20 runs, TTFT 100..290 */
	feed(b, "us", 10, 0, now);          /* down: nothing succeeded */
	feed(b, "ap", 5, 5, now - 3600000); /* stale: an hour ago */
	feed(b, hostile_region, 1, 1, now); /* a name no config should have */
	/* us's latest: a verdict that is none of ours is not kept */
	struct board_region_run odd = {.region = "us",
	                               .relay = "honest",
	                               .model = "gpt-4o",
	                               .verdict = "<b>great</b>",
	                               .error_class = "network",
	                               .at_ms = now + 1,
	                               .requests = 4,
	                               .ttft_ms = -1};
	board_region_run(b, &odd);
	/* a relay-model the hub does not audit: no entry for it */
	struct board_region_run stray = {.region = "eu",
	                                 .relay = "stray",
	                                 .model = "m",
	                                 .at_ms = now,
	                                 .requests = 1,
	                                 .ok_requests = 1,
	                                 .ttft_ms = 1};
	board_region_run(b, &stray);
	return b;
}

static char *
get(struct board *b, const char *path)
{
	struct site_response r;
	site_get(b, path, NULL, &r);
	cr_assert_eq(r.status, SITE_OK, "%s: %d", path, r.status);
	char *s = xmalloc(r.blob->len + 1);
	memcpy(s, r.blob->data, r.blob->len);
	s[r.blob->len] = '\0';
	board_put(r.blob);
	return s;
}

static const json_t *
region_of(const json_t *arr, const char *name)
{
	for (size_t i = 0; i < json_array_size(arr); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(arr, i), "region")),
		           name) == 0)
			return json_array_get(arr, i);
	return NULL;
}

Test(web_regions, the_relay_page_has_a_column_per_region_escaped)
{
	struct board *b = region_board(wall_ms());
	char *html = get(b, "/relays/honest.html");
	cr_expect(strstr(html, "<h3>By region</h3>") != NULL, "no region table");
	const char *table = strstr(html, "<table class=\"regions\">");
	cr_assert_not_null(table);
	/* columns sorted by name: the hostile one first ('<'), ap, eu, us */
	const char *ap = strstr(table, ">ap</th>"), *eu = strstr(table, ">eu</th>"),
	           *us = strstr(table, ">us</th>");
	cr_assert(ap && eu && us, "a region's column is missing");
	cr_expect(ap < eu && eu < us, "columns not in name order");
	cr_expect(strstr(html, "<script>x") == NULL, "a region name reached the page raw");
	cr_expect(strstr(html, "&lt;script&gt;x&quot;y\\z") != NULL ||
	              strstr(html, "&lt;script&gt;x\"y\\z") != NULL,
	          "the hostile region's escaped name is missing");
	cr_expect(strstr(table, "state-up\"><b>up</b>") != NULL);
	cr_expect(strstr(table, "state-down\"><b>down</b> <span class=\"cls\">network</span>") !=
	          NULL);
	cr_expect(strstr(table, "state-stale\"><b>stale</b>") != NULL);
	cr_expect(strstr(table, "<span class=\"v v-genuine\">genuine</span>") != NULL,
	          "the agents' verdicts");
	cr_expect(strstr(html, "great") == NULL, "a verdict none of ours was shown");
	/* eu: TTFT 100..290 ms over 20 runs, nearest rank: p50 190, p95 280 */
	cr_expect(strstr(table, "<td class=\"num\">190</td>") != NULL, "eu's p50");
	cr_expect(strstr(table, "<td class=\"num\">280</td>") != NULL, "eu's p95");
	free(html);
	/* the stray relay got no page */
	struct site_response r;
	site_get(b, "/relays/stray.html", NULL, &r);
	cr_expect_eq(r.status, SITE_NOT_FOUND, "an agent's row added a relay to the board");
	board_put(r.blob);
	board_free(b);
}

Test(web_regions, the_json_has_each_regions_figures)
{
	int64_t now = wall_ms();
	struct board *b = region_board(now);
	char *text = get(b, "/api/v1/relays");
	json_t *root = json_loads(text, 0, NULL);
	cr_assert_not_null(root, "not JSON");
	json_t *relays = json_object_get(root, "relays");
	cr_assert_eq(json_array_size(relays), 1, "only the declared relay-model");
	json_t *regions = json_object_get(json_array_get(relays, 0), "regions");
	cr_assert_eq(json_array_size(regions), 4);
	const json_t *eu = region_of(regions, "eu"), *us = region_of(regions, "us"),
	             *ap = region_of(regions, "ap"), *bad = region_of(regions, hostile_region);
	cr_assert(eu && us && ap && bad, "a region is missing");
	cr_expect_str_eq(json_string_value(json_object_get(eu, "state")), "up");
	cr_expect_str_eq(json_string_value(json_object_get(us, "state")), "down");
	cr_expect_str_eq(json_string_value(json_object_get(us, "last_error")), "network");
	cr_expect_str_eq(json_string_value(json_object_get(ap, "state")), "stale");
	cr_expect_geq(json_integer_value(json_object_get(ap, "age_ms")), 3600000);
	cr_expect_eq(json_integer_value(json_object_get(eu, "runs")), 20);
	cr_expect_eq(json_integer_value(json_object_get(eu, "requests")), 80);
	cr_expect_eq(json_integer_value(json_object_get(us, "ok_requests")), 0);
	cr_expect_eq(json_real_value(json_object_get(us, "success_rate")), 0.0);
	cr_expect_eq(json_real_value(json_object_get(eu, "success_rate")), 1.0);
	json_t *lat = json_object_get(eu, "ttft_ms");
	cr_expect_eq(json_real_value(json_object_get(lat, "p50")), 190.0);
	cr_expect_eq(json_real_value(json_object_get(lat, "p95")), 280.0);
	cr_expect_eq(json_integer_value(json_object_get(lat, "runs")), 20);
	cr_expect(json_is_null(json_object_get(json_object_get(us, "ttft_ms"), "p50")),
	          "us had no TTFT");
	cr_expect_eq(json_integer_value(json_object_get(eu, "last_run_ms")), now);
	cr_expect_str_eq(json_string_value(json_object_get(eu, "last_verdict")), "genuine");
	cr_expect(json_is_null(json_object_get(us, "last_verdict")), "a verdict none of ours");
	json_decref(root);
	free(text);

	text = get(b, "/api/v1/endpoints/honest_gpt-4o.json");
	root = json_loads(text, 0, NULL);
	cr_assert_not_null(root);
	cr_expect_eq(json_array_size(json_object_get(root, "regions")), 4);
	json_decref(root);
	free(text);
	board_free(b);
}

Test(web_regions, a_board_without_agents_has_no_region_anything)
{
	struct board *b = board_new("plain");
	struct board_run run = {.relay = "r",
	                        .model = "m",
	                        .verdict = "genuine",
	                        .at_ms = wall_ms(),
	                        .runs = 1,
	                        .requests = 1,
	                        .ok_requests = 1,
	                        .ttft_ms = 1,
	                        .tokens_per_s = 1};
	board_record(b, &run);
	char *html = get(b, "/relays/r.html");
	cr_expect(strstr(html, "By region") == NULL);
	free(html);
	char *text = get(b, "/api/v1/relays");
	json_t *root = json_loads(text, 0, NULL);
	cr_expect_eq(json_array_size(json_object_get(
	                 json_array_get(json_object_get(root, "relays"), 0), "regions")),
	             0);
	json_decref(root);
	free(text);
	char *m = get(b, "/metrics");
	cr_expect(strstr(m, "assay_region_") == NULL);
	free(m);
	board_free(b);
}

Test(web_regions, metrics_carry_a_region_label_and_pass_promtool, .timeout = 60)
{
	cr_assert_eq(access("/usr/bin/promtool", X_OK), 0,
	             "promtool is not installed: run `make deps` (Debian package 'prometheus')");
	struct board *b = region_board(wall_ms());
	/* /about's and /metrics' database figures, as serve sets them */
	struct store_stats st = {.engine = "postgresql", .file_bytes = 8 << 20};
	struct store_retention ret;
	store_retention_default(&ret);
	board_set_about(b, &st, &ret);
	char *m = get(b, "/metrics");
	cr_expect(strstr(m, "assay_region_state{relay=\"honest\",model=\"gpt-4o\",region=\"us\","
	                    "state=\"down\"} 1\n") != NULL,
	          "%s", m);
	cr_expect(strstr(m, "assay_region_requests{relay=\"honest\",model=\"gpt-4o\","
	                    "region=\"eu\",window=\"24h\"} 80\n") != NULL);
	cr_expect(strstr(m, "assay_region_ttft_p95_seconds{relay=\"honest\",model=\"gpt-4o\","
	                    "region=\"eu\"} 0.280000\n") != NULL);
	cr_expect(strstr(m, "region=\"<script>x\\\"y\\\\z\\nw</script>\"") != NULL,
	          "the hostile region's label is not escaped as the format says");
	cr_expect(strstr(m, "assay_database_size_bytes{engine=\"postgresql\"} 8388608\n") != NULL);
	cr_expect(strstr(m, "SQLite main file size") == NULL, "the old help on PostgreSQL");
	cr_expect(strstr(m, "assay_database_wal_bytes") == NULL,
	          "PostgreSQL's WAL is the cluster's: no figure of this database");

	char dir[64], path[128];
	test_tmpdir_file(dir, sizeof dir, "promtool", path, sizeof path, "metrics.txt");
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(m, f);
	fclose(f);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "exec /usr/bin/promtool check metrics < '%s'", path);
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL}, *out = NULL, *err = NULL;
	int rc = run_capture(argv, 30000, &out, &err);
	cr_expect_eq(rc, 0, "promtool check metrics: %d\n%s%s", rc, out ? out : "", err ? err : "");
	free(out);
	free(err);
	/* and it can fail: a label value with a raw newline is refused */
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("# HELP x y\n# TYPE x gauge\nx{region=\"a\nb\"} 1\n", f);
	fclose(f);
	rc = run_capture(argv, 30000, &out, &err);
	cr_expect_neq(rc, 0, "promtool took a broken exposition");
	free(out);
	free(err);
	free(m);
	cr_expect_eq(test_rmtree(dir), 0);
	board_free(b);
}

static json_t *
get_json_doc(struct board *b, const char *path)
{
	char *text = get(b, path);
	json_t *j = json_loads(text, 0, NULL);
	free(text);
	cr_assert_not_null(j, "%s is no JSON", path);
	return j;
}

/* The hub's pooled ledger on the board (cli/hub.c feeds it from
 * scoring/region_ledger.h): the page's verdict is the worse of the entry's
 * own and the ledger's, a later own run does not hide the ledger's, a
 * cleared ledger gives the entry its own back; what agents wrote is escaped. */
Test(web_regions, the_ledgers_verdict_is_laid_over_the_hubs_own_and_escaped)
{
	int64_t now = wall_ms();
	struct board *b = region_board(now);
	struct region_ledger *rl = region_ledger_new(60000, 0, 0.5);
	for (int k = 0; k < 3; k++) {
		struct region_ledger_run run = {.id = k + 1,
		                                .region = hostile_region,
		                                .relay = "honest",
		                                .model = "gpt-4o",
		                                .started_ms = now - (10 - k) * 60000LL,
		                                .counts = 1,
		                                .misbehaving = 1u << CLASS_SUBSTITUTION};
		run.conv[CLASS_SUBSTITUTION] = 151015;
		run.shown[run.n_shown++] =
		    (struct ledger_shown){.cls = CLASS_SUBSTITUTION,
		                          .convicts = 1,
		                          .confidence = 0.999999,
		                          .p_adjusted = 1e-6,
		                          .at_ms = run.started_ms,
		                          .expected = "<b>exp</b>",
		                          .observed = "<b>obs</b>",
		                          .summary = "<img src=x onerror=alert(1)>",
		                          .probe = "chat"};
		cr_assert_eq(region_ledger_add(rl, &run), 1);
	}
	region_ledger_close(rl, now, NULL, NULL);
	cr_assert_eq(region_ledger_level(rl, "honest", "gpt-4o"), VERDICT_MISBEHAVING);
	json_t *view = region_ledger_view(rl, "honest", "gpt-4o", now);
	json_t *findings = region_ledger_findings(rl, "honest", "gpt-4o");
	board_agents_ledger(b, "honest", "gpt-4o", "misbehaving", view, findings);
	board_agents_ledger(b, "stray", "m", "misbehaving", view, findings); /* ignored */
	char *html = get(b, "/relays/honest.html");
	cr_expect(strstr(html, "Agents' evidence, every region pooled") != NULL);
	cr_expect(strstr(html, "<img src=x") == NULL, "an agent's text reached the page raw");
	cr_expect(strstr(html, "&lt;img src=x onerror=alert(1)&gt;") != NULL);
	cr_expect(strstr(html, "<script>x") == NULL);
	free(html);
	json_t *j = get_json_doc(b, "/api/v1/relays");
	json_t *e = json_array_get(json_object_get(j, "relays"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(e, "verdict")), "misbehaving");
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(e, "agents_ledger"), "verdict")),
	    "misbehaving");
	cr_expect_eq(json_array_size(json_object_get(e, "findings")), 1);
	json_decref(j);
	/* the hub's own later run, genuine: the ledger's verdict stays */
	struct board_run own = {.relay = "honest",
	                        .model = "gpt-4o",
	                        .verdict = "genuine",
	                        .reason = "ok",
	                        .at_ms = now + 1000,
	                        .runs = 1,
	                        .requests = 4,
	                        .ok_requests = 4,
	                        .ttft_ms = 120,
	                        .tokens_per_s = 50};
	board_record(b, &own);
	j = get_json_doc(b, "/api/v1/relays");
	e = json_array_get(json_object_get(j, "relays"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(e, "verdict")), "misbehaving");
	cr_expect(strstr(json_string_value(json_object_get(e, "reason")), "agents' evidence") !=
	          NULL);
	json_decref(j);
	/* the ledger clears: the hub's own verdict again */
	json_t *none = json_array();
	board_agents_ledger(b, "honest", "gpt-4o", "genuine", view, none);
	usleep((BOARD_MIN_REFRESH_MS + 50) * 1000);
	j = get_json_doc(b, "/api/v1/relays");
	e = json_array_get(json_object_get(j, "relays"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(e, "verdict")), "genuine");
	cr_expect_str_eq(json_string_value(json_object_get(e, "reason")), "ok");
	cr_expect_eq(json_array_size(json_object_get(e, "findings")), 0);
	json_decref(j);
	json_decref(none);
	json_decref(view);
	json_decref(findings);
	region_ledger_free(rl);
	board_free(b);
}
