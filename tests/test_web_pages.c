#define _GNU_SOURCE /* strcasestr */
/*
 * Web pages: every document of the site with hostile relay text, the
 * leaderboard's ranks, ties, sorting and filters, windows and intervals,
 * badges and shields JSON, redirects and 404s, the board loaded from a
 * store, and the live server's headers.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"
#include "web/board.h"
#include "web/board_test.h"
#include "web/render.h"
#include "web/server.h"
#include "web/site.h"

static const char hostile_relay[] = "<script>alert('relay')</script>";
static const char hostile_model[] = "<img src=x onerror=alert(1)>";
static const char hostile_text[] = "</td></tr><script>alert(\"x\")</script><svg onload=alert(2)>";

static void
record(struct board *b, const char *relay, const char *model, const char *verdict, int64_t at_ms,
       long requests, long ok, double ttft, double tps, json_t *findings)
{
	long errors[ERR__COUNT] = {0};
	errors[ERR_TIMEOUT] = requests - ok;
	struct board_run run = {.relay = relay,
	                        .model = model,
	                        .verdict = verdict,
	                        .reason = hostile_text,
	                        .findings = findings,
	                        .at_ms = at_ms,
	                        .runs = 1,
	                        .requests = requests,
	                        .ok_requests = ok,
	                        .tokens_spent = 10,
	                        .ttft_ms = ttft,
	                        .tokens_per_s = tps,
	                        .errors = errors};
	board_record(b, &run);
}

static struct board *
hostile_board(void)
{
	struct board *b = board_new("<b>title</b>");
	json_t *findings = json_pack(
	    "[{s:s, s:f, s:{s:s, s:s, s:s, s:s}, s:s}]", "class", "substitution", "confidence",
	    0.999, "evidence", "expected", hostile_text, "observed", hostile_text, "summary",
	    hostile_text, "probe", hostile_text, "served_model", hostile_text);
	int64_t now = wall_ms();
	for (int i = 0; i < 30; i++) {
		record(b, hostile_relay, hostile_model, "misbehaving", now - i * 3600000LL, 10, 9,
		       300, 40, findings);
		record(b, "honest", "gpt-4o", "genuine", now - i * 3600000LL, 10, 10, 250, 80,
		       NULL);
	}
	struct timeline_segment seg = {.id = 1,
	                               .relay = hostile_relay,
	                               .model = hostile_model,
	                               .first_ms = now - 86400000,
	                               .last_ms = now,
	                               .runs = 30,
	                               .verdict = "misbehaving",
	                               .reason = hostile_text,
	                               .findings_json = json_dumps(findings, 0)};
	board_segment(b, &seg);
	free((char *)seg.findings_json);
	struct timeline_incident inc = {.id = 7,
	                                .relay = hostile_relay,
	                                .model = hostile_model,
	                                .kind = "outage",
	                                .opened_ms = now - 7200000,
	                                .resolved_ms = 0,
	                                .cause = "upstream",
	                                .detail = hostile_text,
	                                .failed_runs = 4};
	board_incident(b, &inc);
	/* the latest run's security posture: its lines are the relay's too */
	json_t *security =
	    json_pack("{s:[s, s]}", "summary", "HSTS: not sent (0 of 30 responses)", hostile_text);
	struct board_run latest = {.relay = hostile_relay,
	                           .model = hostile_model,
	                           .verdict = "misbehaving",
	                           .reason = hostile_text,
	                           .findings = findings,
	                           .at_ms = now + 1,
	                           .runs = 1,
	                           .ttft_ms = -1,
	                           .tokens_per_s = -1,
	                           .security = security};
	board_record(b, &latest);
	json_decref(security);
	board_declare(b, "pending-relay", "qwen3-32b", "openai", 60000);
	json_decref(findings);
	return b;
}

/* Is every <script in d the site's own live script (the front page's)? */
static int
only_own_script(const char *d)
{
	static const char own[] = "<script src=\"assets/live.js\" defer></script>";
	for (const char *p = strstr(d, "<script"); p != NULL; p = strstr(p + 1, "<script"))
		if (strncmp(p, own, strlen(own)) != 0)
			return 0;
	return 1;
}

struct walk {
	struct board *b;
	int documents, html, json, svg;
};

static int
is_json_type(const char *t)
{
	return strncmp(t, "application/json", 16) == 0;
}

static void
walk_cb(const char *path, void *arg)
{
	struct walk *w = arg;
	struct site_response r;
	site_get(w->b, path, NULL, &r);
	cr_assert_eq(r.status, SITE_OK, "no document at %s", path);
	const char *d = r.blob->data;
	w->documents++;
	if (strncmp(r.blob->content_type, "text/html", 9) == 0 ||
	    strncmp(r.blob->content_type, "image/svg", 9) == 0) {
		w->html += r.blob->content_type[0] == 't';
		w->svg += r.blob->content_type[0] == 'i';
		cr_expect(only_own_script(d), "%s: raw <script>", path);
		cr_expect_null(strstr(d, "<img src=x"), "%s: raw <img>", path);
		cr_expect_null(strstr(d, "<svg onload"), "%s: raw <svg onload>", path);
		cr_expect_null(strstr(d, "<b>title"), "%s: raw title", path);
		cr_expect_null(strcasestr(d, "javascript:"), "%s", path);
		if (r.blob->content_type[0] == 't')
			cr_expect_not_null(strstr(d, "</html>"), "%s: truncated", path);
	} else if (is_json_type(r.blob->content_type)) {
		w->json++;
		json_error_t e;
		json_t *j = json_loadb(d, r.blob->len, 0, &e);
		cr_expect_not_null(j, "%s: %s", path, e.text);
		json_decref(j);
		cr_expect_null(strstr(d, "</script"), "%s: unescaped slash", path);
	}
	board_put(r.blob);
}

Test(web_pages, every_document_escapes_hostile_relay_text)
{
	struct board *b = hostile_board();
	struct walk w = {.b = b};
	site_each_path(b, walk_cb, &w);
	cr_expect_gt(w.documents, 60);
	cr_expect_gt(w.html, 10);
	cr_expect_gt(w.json, 8);
	cr_expect_gt(w.svg, 10);
	/* the escaped forms are there: the text was shown, not dropped */
	struct site_response r;
	site_get(b, "/relays/-script-alert--relay----script-.html", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	cr_expect_not_null(strstr(r.blob->data, "&lt;script&gt;alert(&#39;relay&#39;)"));
	cr_expect_not_null(strstr(r.blob->data, "&lt;img src=x onerror=alert(1)&gt;"));
	cr_expect_not_null(strstr(r.blob->data, "ongoing"), "the open incident is shown");
	cr_expect_not_null(strstr(r.blob->data, "<svg class=\"bars\""));
	cr_expect_not_null(strstr(r.blob->data, "Verdict history"));
	cr_expect_not_null(strstr(r.blob->data, "Security posture"), "no security section");
	cr_expect_not_null(strstr(r.blob->data, "HSTS: not sent (0 of 30 responses)"));
	board_put(r.blob);
	board_free(b);
}

static json_t *
get_json(struct board *b, const char *path)
{
	struct site_response r;
	site_get(b, path, NULL, &r);
	cr_assert_eq(r.status, SITE_OK, "%s", path);
	json_t *j = json_loadb(r.blob->data, r.blob->len, 0, NULL);
	board_put(r.blob);
	cr_assert_not_null(j, "%s", path);
	return j;
}

Test(web_pages, relays_json_keeps_its_shape)
{
	struct board *b = hostile_board();
	json_t *j = get_json(b, "/api/v1/relays");
	json_t *arr = json_object_get(j, "relays");
	cr_assert_eq(json_array_size(arr), 3);
	static const char *const fields[] = {
	    "relay",        "model",       "api",          "verdict",     "reason",
	    "findings",     "last_run_ms", "runs",         "requests",    "ok_requests",
	    "success_rate", "ttft_ms",     "tokens_per_s", "tokens_spent"};
	size_t i;
	json_t *r;
	json_array_foreach(arr, i, r)
	{
		for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
			cr_expect(json_object_get(r, fields[k]) != NULL, "field %s missing",
			          fields[k]);
	}
	json_t *h = json_array_get(arr, 0); /* sorted: the hostile name sorts first */
	cr_expect_str_eq(json_string_value(json_object_get(h, "relay")), hostile_relay);
	cr_expect_str_eq(json_string_value(json_object_get(h, "model")), hostile_model);
	cr_expect_eq(json_integer_value(json_object_get(h, "requests")), 240, "24 h of 10/hour");
	cr_expect_eq(json_integer_value(json_object_get(h, "ok_requests")), 216);
	json_t *p = json_array_get(arr, 2);
	cr_expect_str_eq(json_string_value(json_object_get(p, "relay")), "pending-relay");
	cr_expect(json_is_null(json_object_get(p, "verdict")));
	json_decref(j);
	board_free(b);
}

Test(web_pages, wilson_and_windows)
{
	double lo, hi;
	stats_wilson(10, 10, &lo, &hi);
	cr_expect_float_eq(lo, 0.7225, 1e-3);
	cr_expect_float_eq(hi, 1.0, 1e-9);
	stats_wilson(0, 10, &lo, &hi);
	cr_expect_float_eq(lo, 0.0, 1e-9);
	cr_expect_float_eq(hi, 0.2775, 1e-3);
	stats_wilson(950, 1000, &lo, &hi);
	cr_expect(lo > 0.93 && lo < 0.95 && hi > 0.95 && hi < 0.97, "%f %f", lo, hi);

	struct board *b = board_new("t");
	int64_t now = wall_ms();
	record(b, "r", "m", "genuine", now - 2 * 86400000LL, 100, 50, 100, 10, NULL);
	record(b, "r", "m", "genuine", now, 100, 100, 100, 10, NULL);
	json_t *j = get_json(b, "/api/v1/endpoints/r_m.json");
	json_t *w = json_object_get(j, "windows");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(w, "24h"), "requests")),
	             100);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(w, "7d"), "requests")),
	             200);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(w, "90d"), "ok_requests")),
	             150);
	cr_expect_eq(json_array_size(json_object_get(j, "days")), 90);
	cr_expect_eq(json_array_size(json_object_get(j, "hours")), 168);
	cr_expect_eq(json_integer_value(json_object_get(
	                 json_object_get(json_object_get(w, "90d"), "errors"), "timeout")),
	             50);
	json_decref(j);
	board_free(b);
}

static json_t *
lb_entry(const json_t *lb, const char *relay)
{
	return json_find(json_object_get(lb, "entries"), "relay", relay);
}

Test(web_pages, leaderboard_ranks_ties_and_honesty)
{
	struct board *b = board_new("t");
	int64_t now = wall_ms();
	/* a: many requests, all ok; b: same, 90 %; c: 3 requests, 2 ok (wide
	 * interval overlapping b); cheat: perfect uptime but misbehaving */
	for (int i = 0; i < 20; i++) {
		record(b, "a", "gpt-4o", "genuine", now - i * 3600000LL, 100, 100, 300, 60, NULL);
		record(b, "b", "gpt-4o", "genuine", now - i * 3600000LL, 100, 90, 300, 60, NULL);
		record(b, "cheat", "gpt-4o", "misbehaving", now - i * 3600000LL, 100, 100, 100, 200,
		       NULL);
	}
	record(b, "c", "qwen3-32b", "genuine", now, 3, 2, 300, 60, NULL);
	json_t *weak = json_pack("[{s:s, s:f}]", "class", "usage_inflation", "confidence", 0.5);
	record(b, "weak", "gpt-4o", "genuine", now, 100, 100, 300, 60, weak);
	json_decref(weak);
	json_t *lb = get_json(b, "/api/v1/leaderboard");
	json_t *a = lb_entry(lb, "a"), *bb = lb_entry(lb, "b"), *c = lb_entry(lb, "c"),
	       *cheat = lb_entry(lb, "cheat");
	cr_assert(a && bb && c && cheat);
	/* rank = 1 + rows surely better (interval wholly above) */
	cr_expect_eq(json_integer_value(json_object_get(a, "rank")), 1);
	cr_expect_eq(json_integer_value(json_object_get(bb, "rank")), 2,
	             "a is surely better than b");
	cr_expect(!json_is_true(json_object_get(bb, "tie")) ||
	              json_integer_value(json_object_get(c, "rank")) == 1,
	          "b ties only with c");
	cr_expect_eq(json_integer_value(json_object_get(c, "rank")), 1,
	             "c's wide interval reaches a's: nothing is surely better than c");
	cr_expect(json_is_true(json_object_get(c, "tie")));
	cr_expect(json_is_true(json_object_get(a, "tie")), "a ties with c");
	cr_expect_eq(json_integer_value(json_object_get(cheat, "rank")), 5,
	             "a misbehaving relay ranks last whatever its uptime");
	cr_expect_float_eq(
	    json_real_value(json_object_get(json_object_get(cheat, "score"), "value")), 0.0, 1e-9);
	/* evidence too weak to accuse costs no honesty (issue 12: a finding that
	 * does not survive the correction costs no leaderboard score) */
	json_t *w = lb_entry(lb, "weak");
	cr_assert_not_null(w);
	cr_expect_float_eq(json_real_value(json_object_get(json_object_get(w, "score"), "honesty")),
	                   1.0, 1e-9);
	cr_expect_float_eq(json_real_value(json_object_get(json_object_get(a, "score"), "honesty")),
	                   1.0, 1e-9);
	json_t *sa = json_object_get(a, "score");
	cr_expect_leq(json_real_value(json_object_get(sa, "lo")),
	              json_real_value(json_object_get(sa, "value")));
	cr_expect_geq(json_real_value(json_object_get(sa, "hi")),
	              json_real_value(json_object_get(sa, "value")));
	json_decref(lb);

	/* HTML: sorting by TTFT puts cheat (100 ms) first; the model filter keeps one */
	struct site_response r;
	site_get(b, "/leaderboard/all/ttft.html", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	const char *p_cheat = strstr(r.blob->data, ">cheat<"), *p_a = strstr(r.blob->data, ">a<");
	cr_assert(p_cheat && p_a);
	cr_expect_lt(p_cheat, p_a, "ttft ascending");
	cr_expect_not_null(strstr(r.blob->data, "href=\"../../leaderboard/all/ttft-rev.html\""),
	                   "the active column links to its reverse");
	board_put(r.blob);
	site_get(b, "/leaderboard/all/ttft-rev.html", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	cr_expect_gt(strstr(r.blob->data, ">cheat<"), strstr(r.blob->data, ">a<"));
	board_put(r.blob);
	site_get(b, "/leaderboard/qwen3-32b/score.html", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	cr_expect_not_null(strstr(r.blob->data, ">c<"));
	cr_expect_null(strstr(r.blob->data, ">a<"));
	board_put(r.blob);
	site_get(b, "/leaderboard/", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	cr_expect_not_null(strstr(r.blob->data, "=</span>1"), "ties are marked");
	board_put(r.blob);
	board_free(b);
}

Test(web_pages, query_parameters_redirect_and_unknowns_are_404)
{
	struct board *b = hostile_board();
	struct site_response r;
	struct site_query q = {.sort = "ttft", .order = "desc", .model = "gpt-4o", .page = NULL};
	site_get(b, "/leaderboard/", &q, &r);
	cr_expect_eq(r.status, SITE_REDIRECT);
	cr_expect_str_eq(r.location, "/leaderboard/gpt-4o/ttft-rev.html");
	struct site_query q2 = {.sort = "nope"};
	site_get(b, "/leaderboard/", &q2, &r);
	cr_expect_eq(r.status, SITE_NOT_FOUND);
	struct site_query q3 = {.model = "gpt-17-ultra"};
	site_get(b, "/leaderboard/", &q3, &r);
	cr_expect_eq(r.status, SITE_NOT_FOUND);
	static const char *const missing[] = {
	    "/leaderboard/all/nope.html",
	    "/leaderboard/nomodel/score.html",
	    "/leaderboard/all/score-99.html",
	    "/leaderboard/all/score-rev-x.html",
	    "/relays/nobody.html",
	    "/api/v1/endpoints/nobody.json",
	    "/api/v1/endpoints/honest_gpt-4o/uptimes/1y/badge.svg",
	    "/api/v1/endpoints/honest_gpt-4o/uptimes/24h/badge.png",
	    "/api/v1/endpoints/honest_gpt-4o/frob/badge.svg",
	    "/../etc/passwd",
	    "/relays/../about.html"};
	for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
		site_get(b, missing[i], NULL, &r);
		cr_expect_eq(r.status, SITE_NOT_FOUND, "%s", missing[i]);
		if (r.status == SITE_OK)
			board_put(r.blob);
	}
	site_get(b, "/leaderboard", NULL, &r);
	cr_expect_eq(r.status, SITE_REDIRECT);
	cr_expect_str_eq(r.location, "/leaderboard/");
	board_free(b);
}

Test(web_pages, badges_svg_and_shields_json)
{
	struct board *b = hostile_board();
	json_t *j = get_json(b, "/api/v1/endpoints/honest_gpt-4o/uptimes/7d/badge.json");
	cr_expect_eq(json_integer_value(json_object_get(j, "schemaVersion")), 1);
	cr_expect_str_eq(json_string_value(json_object_get(j, "label")), "uptime 7d");
	cr_expect_str_eq(json_string_value(json_object_get(j, "message")), "100%");
	cr_expect_str_eq(json_string_value(json_object_get(j, "color")), "brightgreen");
	json_decref(j);
	j = get_json(b, "/api/v1/endpoints/honest_gpt-4o/verdict/badge.json");
	cr_expect_str_eq(json_string_value(json_object_get(j, "message")), "genuine");
	json_decref(j);
	j = get_json(b, "/api/v1/endpoints/honest_gpt-4o/response-times/24h/badge.json");
	cr_expect_str_eq(json_string_value(json_object_get(j, "message")), "250 ms");
	json_decref(j);
	j = get_json(b, "/api/v1/endpoints/pending-relay_qwen3-32b/uptimes/24h/badge.json");
	cr_expect_str_eq(json_string_value(json_object_get(j, "message")), "no data");
	cr_expect_str_eq(json_string_value(json_object_get(j, "color")), "lightgrey");
	json_decref(j);
	struct site_response r;
	site_get(b, "/api/v1/endpoints/honest_gpt-4o/uptimes/24h/badge.svg", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	cr_expect_str_eq(r.blob->content_type, "image/svg+xml");
	cr_expect_eq(strncmp(r.blob->data, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39), 0);
	cr_expect_not_null(strstr(r.blob->data, "uptime 24h: 100%"));
	cr_expect_not_null(strstr(r.blob->data, "</svg>"));
	board_put(r.blob);
	board_free(b);
}

Test(web_pages, metrics_text_format)
{
	struct board *b = hostile_board();
	struct site_response r;
	site_get(b, "/metrics", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	cr_expect_eq(strncmp(r.blob->content_type, "text/plain; version=0.0.4", 25), 0);
	const char *d = r.blob->data;
	cr_expect_not_null(strstr(d, "assay_relay_verdict{relay=\"honest\",model=\"gpt-4o\","
	                             "verdict=\"genuine\"} 1\n"));
	cr_expect_not_null(strstr(d, "relay=\"<script>alert('relay')</script>\""),
	                   "label values keep the exact text");
	/* every sample line: name{labels} value, and no raw newline inside labels */
	char *copy = xstrdup(d), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		cr_expect(strncmp(line, "assay_", 6) == 0, "bad line: %s", line);
		char *sp = strrchr(line, ' ');
		cr_assert_not_null(sp, "%s", line);
		char *end;
		strtod(sp + 1, &end);
		cr_expect_eq(*end, '\0', "value of: %s", line);
	}
	free(copy);
	board_put(r.blob);
	board_free(b);
}

Test(web_pages, changes_show_up_after_the_refresh_interval)
{
	struct board *b = board_new("t");
	record(b, "r", "m", "genuine", wall_ms(), 1, 1, 100, 10, NULL);
	struct blob *p = board_get(b, PAGE_RELAYS_JSON);
	cr_expect_not_null(strstr(p->data, "\"genuine\""));
	board_put(p);
	record(b, "r", "m", "misbehaving", wall_ms() + 1, 1, 1, 100, 10, NULL);
	long long deadline = test_now_ms() + 3000;
	int seen = 0;
	while (!seen && test_now_ms() < deadline) {
		p = board_get(b, PAGE_RELAYS_JSON);
		seen = strstr(p->data, "\"misbehaving\"") != NULL;
		board_put(p);
		if (!seen)
			usleep(20 * 1000); /* poll interval */
	}
	cr_expect(seen, "the change never reached the cached page");
	board_free(b);
}

/* GET url from the live server (gzip when asked for) into r, which the
 * caller releases. */
static void
fetch(struct http_response *r, const char *url, const char *encoding)
{
	http_send(r, &(struct http_request){.url = url, .accept_encoding = encoding});
	cr_assert_eq(r->rc, CURLE_OK, "%s: %s", url, curl_easy_strerror(r->rc));
}

Test(web_pages, live_server_routes_types_and_headers)
{
	struct board *b = hostile_board();
	char err[256];
	struct web_server *w = web_start(b, "127.0.0.1", 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	static const struct {
		const char *path;
		long status;
		const char *type;
	} cases[] = {
	    {"/leaderboard/", 200, "text/html"},
	    {"/leaderboard/all/uptime.html", 200, "text/html"},
	    {"/leaderboard/?sort=uptime", 302, NULL},
	    {"/relays/honest.html", 200, "text/html"},
	    {"/relays/honest", 200, "text/html"},
	    {"/about", 200, "text/html"},
	    {"/api/v1/leaderboard", 200, "application/json"},
	    {"/api/v1/about.json", 200, "application/json"},
	    {"/api/v1/endpoints/honest_gpt-4o.json", 200, "application/json"},
	    {"/api/v1/endpoints/honest_gpt-4o/uptimes/30d/badge.svg", 200, "image/svg+xml"},
	    {"/metrics", 200, "text/plain; version=0.0.4"},
	    {"/assets/style.css", 200, "text/css"},
	    {"/relays/nobody.html", 404, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char url[256];
		snprintf(url, sizeof url, "http://127.0.0.1:%d%s", web_port(w), cases[i].path);
		struct http_response r;
		fetch(&r, url, NULL);
		const char *headers = r.headers.data;
		cr_expect_eq(r.status, cases[i].status, "%s: %ld", cases[i].path, r.status);
		cr_expect_not_null(
		    strcasestr(headers, "content-security-policy: default-src 'none'"), "%s",
		    cases[i].path);
		cr_expect_not_null(strcasestr(headers, "x-content-type-options: nosniff"));
		/* the site's own script only: no inline script, no eval */
		cr_expect_not_null(strcasestr(headers, "script-src 'self';"));
		cr_expect_null(strcasestr(headers, "unsafe-"));
		if (cases[i].type) {
			char want[128];
			snprintf(want, sizeof want, "content-type: %s", cases[i].type);
			cr_expect_not_null(strcasestr(headers, want), "%s: %s", cases[i].path,
			                   headers);
		}
		if (r.status == 302)
			cr_expect_not_null(
			    strcasestr(headers, "location: /leaderboard/all/uptime.html"));
		http_response_release(&r);
	}

	/* gzip when asked for, the same document once decoded */
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/leaderboard/", web_port(w));
	struct http_response plain, gz;
	fetch(&plain, url, NULL);
	cr_expect_null(strcasestr(plain.headers.data, "content-encoding"), "gzip sent unasked");
	fetch(&gz, url, "gzip");
	cr_expect_not_null(strcasestr(gz.headers.data, "content-encoding: gzip"), "%s",
	                   gz.headers.data);
	cr_expect_not_null(strcasestr(gz.headers.data, "vary: accept-encoding"));
	cr_expect_str_eq(gz.body, plain.body, "the gzip encoding decodes to another document");
	http_response_release(&gz);
	http_response_release(&plain);

	web_stop(w);
	board_free(b);
}

/* The board as `assay serve` and `assay export` load it from a store. */
Test(web_pages, board_loads_history_from_the_store)
{
	char dir[64], path[128];
	test_tmpdir_file(dir, sizeof dir, "webload", path, sizeof path, "t.db");
	char err[256];
	struct store *s = store_open(path, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	int64_t now = wall_ms();
	for (int i = 0; i < 4; i++) {
		struct test_run t;
		test_run_init(&t, "down", "gpt-4o", now - (4 - i) * 60000LL);
		t.obs.http_status = 503;
		t.obs.error = ERR_UPSTREAM;
		t.obs.error_detail = xstrdup(hostile_text);
		struct assessment a;
		assessment_init(&a);
		a.requests = 1;
		assessment_decide(&a);
		cr_assert_gt(test_save_run(s, test_timeline(), &t.run, &a, NULL), 0);
		assessment_release(&a);
		test_run_release(&t);
	}
	store_close(s);
	s = store_open(path, 1, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	struct board *b = board_new("t");
	cr_assert_eq(board_load(b, s, err, sizeof err), 0, "%s", err);
	store_close(s);
	json_t *j = get_json(b, "/api/v1/endpoints/down_gpt-4o.json");
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "unreachable");
	json_t *inc = json_array_get(json_object_get(j, "incidents"), 0);
	cr_assert_not_null(inc, "no incident after 4 failing runs");
	cr_expect_str_eq(json_string_value(json_object_get(inc, "kind")), "outage");
	cr_expect_str_eq(json_string_value(json_object_get(inc, "cause")), "upstream");
	cr_expect_str_eq(json_string_value(json_object_get(inc, "detail")), hostile_text);
	cr_expect(json_is_null(json_object_get(inc, "resolved_ms")));
	json_t *d = json_object_get(json_object_get(j, "windows"), "24h");
	cr_expect_eq(json_integer_value(json_object_get(d, "requests")), 4);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(d, "errors"), "upstream")),
	             4);
	cr_expect_eq(json_array_size(json_object_get(j, "history")), 1);
	json_decref(j);
	j = get_json(b, "/api/v1/about.json");
	cr_expect_gt(
	    json_integer_value(json_object_get(json_object_get(j, "database"), "size_bytes")), 0);
	json_decref(j);
	board_free(b);
	cr_expect_eq(test_rmtree(dir), 0);
}

Test(web_pages, a_big_board_lists_relays_on_the_overview)
{
	struct board *b = board_new("t");
	int64_t now = wall_ms();
	char relay[32], model[32];
	for (int r = 0; r < 40; r++)
		for (int m = 0; m < 5; m++) {
			snprintf(relay, sizeof relay, "relay-%02d", r);
			snprintf(model, sizeof model, "model-%d", m);
			record(b, relay, model, "genuine", now, 10, 10, 300, 50, NULL);
		}
	struct blob *p = board_get(b, PAGE_STATUS_HTML);
	cr_expect_not_null(strstr(p->data, "One row a relay"));
	cr_expect_not_null(strstr(p->data, "href=\"relays/relay-39.html\""));
	cr_expect_lt(p->len, 200 * 600, "the overview is %zu bytes for 200 pairs", p->len);
	board_put(p);
	board_free(b);
}
