/*
 * Web history (issue 18's pages): day bars coloured by the day's worst
 * verdict as well as its uptime, with a title per cell; 5-minute slices that
 * chart a relay from its first run; p50/p95/p99 of the runs' medians; time
 * up beside the request share; a static copy's absolute times; and all of
 * it as `assay serve` and `assay export --db` load it back from a store
 * (day verdicts from the stored segments, slices from minute rollups, runs
 * one by one, the stored title).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/verdict.h"
#include "storage/store.h"
#include "tests/helpers.h"
#include "web/board.h"
#include "web/board_test.h"
#include "web/render.h"
#include "web/site.h"

static void
record(struct board *b, const char *relay, const char *verdict, int64_t at_ms, long requests,
       long ok, double ttft, double tps)
{
	struct board_run run = {.relay = relay,
	                        .model = "gpt-4o",
	                        .verdict = verdict,
	                        .reason = "r",
	                        .at_ms = at_ms,
	                        .runs = 1,
	                        .requests = requests,
	                        .ok_requests = ok,
	                        .ttft_ms = ttft,
	                        .tokens_per_s = tps};
	board_record(b, &run);
}

static char *
get_text(struct board *b, const char *path)
{
	struct site_response r;
	site_get(b, path, NULL, &r);
	cr_assert_eq(r.status, SITE_OK, "%s", path);
	char *s = xstrndup(r.blob->data, r.blob->len);
	board_put(r.blob);
	return s;
}

static json_t *
get_json(struct board *b, const char *path)
{
	char *s = get_text(b, path);
	json_t *j = json_loads(s, 0, NULL);
	free(s);
	cr_assert_not_null(j, "%s", path);
	return j;
}

/* The <rect> of the day bar cell whose title starts with date, in html
 * after from (the class and the title's text), or 0. */
static int
day_cell(const char *html, const char *from, const char *date, char *cls, size_t ncls, char *title,
         size_t ntitle)
{
	const char *p = strstr(html, from);
	if (p == NULL)
		return 0;
	char key[64];
	snprintf(key, sizeof key, "<title>%s: ", date);
	const char *t = strstr(p, key);
	if (t == NULL)
		return 0;
	const char *r = t;
	while (r > p && strncmp(r, "<rect class=\"", 13) != 0)
		r--;
	r += 13;
	size_t n = strcspn(r, "\"");
	snprintf(cls, ncls, "%.*s", (int)n, r);
	t += strlen(key);
	n = (size_t)(strstr(t, "</title>") - t);
	snprintf(title, ntitle, "%.*s", (int)n, t);
	return 1;
}

static void
date_of(char *out, size_t n, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

/* A misbehaving day is red whatever its uptime; a genuine day at full
 * uptime green; a day with a few failures by its uptime; none grey. */
Test(web_history, day_bars_show_the_worst_verdict_and_the_uptime)
{
	struct board *b = board_new("t");
	int64_t now = wall_ms(), today = now / DAY_MS * DAY_MS;
	/* today: genuine runs, then one misbehaving, every request ok */
	record(b, "r", "genuine", today + 1000, 10, 10, 300, 50);
	record(b, "r", "misbehaving", today + 2000, 10, 10, 300, 50);
	record(b, "r", "genuine", today + 3000, 10, 10, 300, 50);
	/* yesterday: genuine, all ok; two days ago: genuine, 8 of 10 */
	record(b, "r", "genuine", today - DAY_MS + 1000, 10, 10, 300, 50);
	record(b, "r", "genuine", today - 2 * DAY_MS + 1000, 10, 8, 300, 50);
	/* three days ago: suspect, all ok */
	record(b, "r", "suspect", today - 3 * DAY_MS + 1000, 10, 10, 300, 50);
	char *html = get_text(b, "/");
	char d[16], cls[16], title[512];
	const char *row = "id=\"row-r_gpt-4o\"";
	cr_assert_not_null(strstr(html, row));
	date_of(d, sizeof d, today);
	cr_assert(day_cell(html, row, d, cls, sizeof cls, title, sizeof title), "no cell for %s",
	          d);
	cr_expect_str_eq(cls, "bm", "a misbehaving day at 100%% is %s", cls);
	cr_expect_not_null(strstr(title, "misbehaving"), "%s", title);
	cr_expect_not_null(strstr(title, "100% of requests ok (30/30)"), "%s", title);
	cr_expect_not_null(strstr(title, "3 runs"), "%s", title);
	date_of(d, sizeof d, today - DAY_MS);
	cr_assert(day_cell(html, row, d, cls, sizeof cls, title, sizeof title));
	cr_expect_str_eq(cls, "b1");
	cr_expect_not_null(strstr(title, "genuine"), "%s", title);
	date_of(d, sizeof d, today - 2 * DAY_MS);
	cr_assert(day_cell(html, row, d, cls, sizeof cls, title, sizeof title));
	cr_expect_str_eq(cls, "b4", "80%% uptime is %s", cls);
	date_of(d, sizeof d, today - 3 * DAY_MS);
	cr_assert(day_cell(html, row, d, cls, sizeof cls, title, sizeof title));
	cr_expect_str_eq(cls, "bs");
	date_of(d, sizeof d, today - 4 * DAY_MS);
	cr_assert(day_cell(html, row, d, cls, sizeof cls, title, sizeof title));
	cr_expect_str_eq(cls, "b0");
	cr_expect_str_eq(title, "no data");
	free(html);
	/* the relay page's bars are the same, and the JSON says the worst */
	html = get_text(b, "/relays/r.html");
	date_of(d, sizeof d, today);
	cr_assert(day_cell(html, "class=\"bars\"", d, cls, sizeof cls, title, sizeof title));
	cr_expect_str_eq(cls, "bm");
	free(html);
	json_t *j = get_json(b, "/api/v1/endpoints/r_gpt-4o.json");
	json_t *days = json_object_get(j, "days");
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_array_get(days, 89), "worst_verdict")),
	    "misbehaving");
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_array_get(days, 88), "worst_verdict")),
	    "genuine");
	json_decref(j);
	board_free(b);
}

/* One run is enough for the 12-hour charts: they draw from 5-minute
 * slices, where the hourly and daily ones have a single point. */
Test(web_history, a_new_relay_charts_from_its_first_runs)
{
	struct board *b = board_new("t");
	int64_t now = wall_ms();
	record(b, "new", "genuine", now - 20 * 60000, 5, 5, 420, 60);
	record(b, "new", "genuine", now - 10 * 60000, 5, 5, 380, 70);
	record(b, "new", "genuine", now, 5, 5, 400, 65);
	char *html = get_text(b, "/relays/new.html");
	const char *c = strstr(html, "Time to first token, 12 hours (5 minutes)");
	cr_assert_not_null(c, "no recent chart");
	const char *title = strstr(c, "<title>");
	cr_assert_not_null(title);
	cr_expect_eq(strncmp(title,
	                     "<title>Time to first token: mean 400 ms, min 380, max 420 over "
	                     "3 5-minute slices with data",
	                     80),
	             0, "%.120s", title);
	/* the line has points: an M and two L's */
	const char *path = strstr(c, "<path class=\"line\" d=\"M");
	cr_assert_not_null(path);
	cr_expect_lt((size_t)(path - c), 2000);
	const char *d = path + strlen("<path class=\"line\" d=\"");
	size_t len = strcspn(d, "\""), lines = 0;
	for (size_t k = 0; k < len; k++)
		lines += d[k] == 'L';
	cr_expect_eq(lines, 2, "the line: %.*s", (int)len, d);
	free(html);
	/* a single run is a dot, not an invisible one-point path */
	record(b, "one", "genuine", now, 5, 5, 400, 65);
	html = get_text(b, "/relays/one.html");
	c = strstr(html, "Time to first token, 12 hours (5 minutes)");
	cr_assert_not_null(c);
	const char *dot = strstr(c, "<circle class=\"dot\"");
	cr_expect(dot != NULL && dot < strstr(c, "</svg>"), "no dot for a lone run");
	free(html);
	json_t *j = get_json(b, "/api/v1/endpoints/new_gpt-4o.json");
	json_t *sl = json_object_get(j, "slices_5min");
	cr_assert_eq(json_array_size(sl), BOARD_SLICES);
	long runs = 0;
	size_t i;
	json_t *x;
	json_array_foreach(sl, i, x) runs += (long)json_integer_value(json_object_get(x, "runs"));
	cr_expect_eq(runs, 3);
	json_t *last = json_array_get(sl, BOARD_SLICES - 1);
	cr_expect_eq(json_integer_value(json_object_get(last, "start_ms")),
	             now / SLICE_MS * SLICE_MS);
	json_decref(j);
	board_free(b);
}

/* Nearest-rank percentiles of the runs' medians: 1..100 ms gives 50, 95,
 * 99; runs without a TTFT are not counted; runs older than 24 h neither. */
Test(web_history, percentiles_of_the_runs_medians)
{
	struct board *b = board_new("t");
	int64_t now = wall_ms();
	for (int i = 1; i <= 100; i++)
		record(b, "p", "genuine", now - (101 - i) * 60000LL, 5, 5, i, 1000 - i);
	record(b, "p", "genuine", now - 2 * DAY_MS, 5, 5, 99999, 99999); /* too old */
	record(b, "p", "unreachable", now, 5, 0, -1, -1);                /* no TTFT */
	json_t *j = get_json(b, "/api/v1/relays");
	json_t *e = json_array_get(json_object_get(j, "relays"), 0);
	json_t *p = json_object_get(e, "percentiles");
	cr_expect_str_eq(json_string_value(json_object_get(p, "of")), "per-run medians");
	json_t *t = json_object_get(p, "ttft_ms");
	cr_expect_eq(json_integer_value(json_object_get(t, "runs")), 100);
	cr_expect_eq(json_real_value(json_object_get(t, "p50")), 50);
	cr_expect_eq(json_real_value(json_object_get(t, "p95")), 95);
	cr_expect_eq(json_real_value(json_object_get(t, "p99")), 99);
	t = json_object_get(p, "tokens_per_s");
	/* 900..999: the 50th is 949, the 99th 998 */
	cr_expect_eq(json_real_value(json_object_get(t, "p50")), 949);
	cr_expect_eq(json_real_value(json_object_get(t, "p99")), 998);
	json_decref(j);
	j = get_json(b, "/api/v1/endpoints/p_gpt-4o.json");
	t = json_object_get(json_object_get(j, "percentiles"), "ttft_ms");
	cr_expect_eq(json_real_value(json_object_get(t, "p95")), 95);
	json_decref(j);
	char *html = get_text(b, "/relays/p.html");
	cr_expect_not_null(strstr(html, "<tr><td>TTFT (ms)</td><td class=\"num\">50</td><td "
	                                "class=\"num\">95</td><td class=\"num\">99</td><td "
	                                "class=\"num\">100</td></tr>"),
	                   "no percentile row");
	free(html);
	board_free(b);
}

/* A run without a success is down from its start until the next good run:
 * good, down, good 10 minutes apart is 2/3 up over the 30 minutes, though
 * two down runs in a row are one stretch down; the request share (19 of
 * 40) is another figure. */
Test(web_history, time_up_counts_from_a_failed_run_to_the_next_good_one)
{
	struct board *b = board_new("t");
	board_declare(b, "t", "gpt-4o", "openai", 10 * 60000);
	int64_t now = wall_ms();
	record(b, "t", "genuine", now - 30 * 60000, 10, 10, 300, 50);
	record(b, "t", "unreachable", now - 20 * 60000, 10, 0, -1, -1);
	record(b, "t", "unreachable", now - 15 * 60000, 10, 0, -1, -1);
	record(b, "t", "genuine", now - 10 * 60000, 10, 9, 300, 50);
	json_t *j = get_json(b, "/api/v1/relays");
	json_t *e = json_array_get(json_object_get(j, "relays"), 0);
	json_t *tu = json_object_get(e, "time_up");
	int64_t up = json_integer_value(json_object_get(tu, "up_ms"));
	int64_t seen = json_integer_value(json_object_get(tu, "observed_ms"));
	/* 10 min up, 10 down, 10 up to now (the last run holds two intervals) */
	cr_expect(seen >= 30 * 60000 && seen < 30 * 60000 + 5000, "observed %lld", (long long)seen);
	cr_expect_eq(seen - up, 10 * 60000, "down %lld ms", (long long)(seen - up));
	double share = json_real_value(json_object_get(tu, "share"));
	cr_expect(share > 0.66 && share < 0.67, "time up %f", share);
	/* the request share is its own figure: 19 of 40 */
	cr_expect_eq(json_integer_value(json_object_get(e, "ok_requests")), 19);
	json_decref(j);
	char *html = get_text(b, "/");
	cr_expect_not_null(strstr(html, "<td class=\"num opt timeup\">66.6%</td>"), "no time up");
	cr_expect_not_null(strstr(html, "Time up 24h"));
	free(html);
	html = get_text(b, "/relays/t.html");
	cr_expect_not_null(
	    strstr(html,
	           "<b>66.6%</b>time up 24h <span class=\"ci\">down 10 min of 30 min observed"),
	    "no time up on the relay page");
	free(html);
	board_free(b);
}

/* A static copy says when, not how long ago (which a file would freeze). */
Test(web_history, a_static_copy_has_absolute_times)
{
	struct board *b = board_new("t");
	int64_t now = wall_ms();
	record(b, "s", "genuine", now - 34000, 5, 5, 300, 50);
	char *live = get_text(b, "/");
	cr_expect_not_null(strstr(live, "34 s ago"));
	free(live);
	board_free(b);
	b = board_new("t");
	board_set_static(b);
	record(b, "s", "genuine", now - 34000, 5, 5, 300, 50);
	char when[64];
	render_time(when, sizeof when, now - 34000);
	const char *paths[] = {"/", "/relays/s.html"};
	for (size_t i = 0; i < 2; i++) {
		char *html = get_text(b, paths[i]);
		cr_expect_null(strstr(html, " ago"), "%s says ago", paths[i]);
		cr_expect_not_null(strstr(html, when), "%s lacks %s", paths[i], when);
		free(html);
	}
	board_free(b);
}

/* Saved runs, loaded back as serve and export do. */
static void
save(struct store *s, const char *relay, int64_t at_ms, int ok, enum verdict verdict, double ttft)
{
	struct test_run t;
	test_run_init(&t, relay, "gpt-4o", at_ms);
	if (!ok) {
		t.obs.http_status = 503;
		t.obs.error = ERR_UPSTREAM;
	} else {
		t.obs.http_status = 200;
	}
	struct assessment a;
	assessment_init(&a);
	a.requests = 1;
	a.ok_requests = ok;
	a.ttft_ms = ttft;
	a.tokens_per_s = ok ? 50 : -1;
	assessment_decide(&a);
	a.verdict = verdict;
	cr_assert_gt(test_save_run(s, test_timeline(), &t.run, &a, NULL), 0);
	assessment_release(&a);
	test_run_release(&t);
}

Test(web_history, the_store_gives_back_day_verdicts_slices_runs_and_title)
{
	char dir[64], path[128];
	test_tmpdir_file(dir, sizeof dir, "webhist", path, sizeof path, "t.db");
	char err[256];
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(store_set_title(s, "Relays we <watch>"), 0);
	int64_t now = wall_ms(), today = now / DAY_MS * DAY_MS;
	/* a day ago: a misbehaving stretch of successful runs */
	save(s, "m", today - DAY_MS + 1000, 1, VERDICT_MISBEHAVING, 300);
	save(s, "m", today - DAY_MS + 2000, 1, VERDICT_MISBEHAVING, 300);
	/* the last minutes: genuine, with TTFT 100, 200, 300 */
	for (int i = 0; i < 3; i++)
		save(s, "m", now - (3 - i) * 60000LL, 1, VERDICT_GENUINE, 100.0 * (i + 1));
	store_close(s);
	s = store_open(path, 1, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	struct board *b = board_new(NULL); /* as `assay export --db` */
	board_set_static(b);
	cr_assert_eq(board_load(b, s, err, sizeof err), 0, "%s", err);
	store_close(s);
	json_t *j = get_json(b, "/api/v1/endpoints/m_gpt-4o.json");
	json_t *days = json_object_get(j, "days");
	json_t *yday = json_array_get(days, 88);
	cr_expect_str_eq(json_string_value(json_object_get(yday, "worst_verdict")), "misbehaving");
	cr_expect_eq(json_integer_value(json_object_get(yday, "ok_requests")), 2);
	long runs = 0;
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(j, "slices_5min"), i, x) runs +=
	    (long)json_integer_value(json_object_get(x, "runs"));
	cr_expect_eq(runs, 3, "slices hold %ld runs", runs);
	json_t *t = json_object_get(json_object_get(j, "percentiles"), "ttft_ms");
	cr_expect_eq(json_integer_value(json_object_get(t, "runs")), 3);
	cr_expect_eq(json_real_value(json_object_get(t, "p50")), 200);
	cr_expect_eq(json_real_value(json_object_get(t, "p99")), 300);
	json_decref(j);
	char *html = get_text(b, "/");
	cr_expect_not_null(strstr(html, "<h1>Relays we &lt;watch&gt;</h1>"), "the title is lost");
	char d[16], cls[16], title[512];
	date_of(d, sizeof d, today - DAY_MS);
	cr_assert(day_cell(html, "id=\"row-m_gpt-4o\"", d, cls, sizeof cls, title, sizeof title));
	cr_expect_str_eq(cls, "bm");
	cr_expect_null(strstr(html, " ago"));
	free(html);
	board_free(b);
	/* a title given (the config's) wins over the stored one */
	s = store_open(path, 1, err, sizeof err);
	b = board_new("From the config");
	cr_assert_eq(board_load(b, s, err, sizeof err), 0, "%s", err);
	store_close(s);
	html = get_text(b, "/");
	cr_expect_not_null(strstr(html, "<h1>From the config</h1>"));
	free(html);
	board_free(b);
	cr_expect_eq(test_rmtree(dir), 0);
}
