/*
 * Web live: the front page's own script (web/live.c, /assets/live.js) run
 * by jsdom (tests/live, a standards DOM from npm; never in the product) on
 * the page the board rendered, fed the events the board wrote after that
 * page (board_events, the bytes GET /api/v1/events sends): the row of the
 * changed relay-model shows its new verdict, reason and figures as the
 * server writes them; the relay's hostile text arrives as text (no element
 * made of it); an entry the page lacks asks for a reload; without
 * EventSource the script polls /api/v1/relays every 30 s. Skipped without
 * node or npm.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "tests/helpers.h"
#include "web/board.h"
#include "web/render.h"
#include "web/site.h"

#define LIVE "tests/live"

static const char hostile[] = "<img src=x onerror=alert(1)><script>alert(2)</script>";

static void
record(struct board *b, const char *relay, const char *verdict, const char *reason, long requests,
       long ok, double ttft, double tps, int64_t ago_ms)
{
	struct board_run run = {.relay = relay,
	                        .model = "gpt-4o",
	                        .verdict = verdict,
	                        .reason = reason,
	                        .at_ms = wall_ms() - ago_ms,
	                        .runs = 1,
	                        .requests = requests,
	                        .ok_requests = ok,
	                        .ttft_ms = ttft,
	                        .tokens_per_s = tps};
	board_record(b, &run);
}

static void
write_blob(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* node run.mjs on the files; its JSON. */
static json_t *
run_live(const char *node, const char *dir, const char *mode)
{
	char page[256], script[256], events[256];
	snprintf(page, sizeof page, "%s/page.html", dir);
	snprintf(script, sizeof script, "%s/live.js", dir);
	snprintf(events, sizeof events, "%s/events.txt", dir);
	char *argv[] = {(char *)node, (char *)LIVE "/run.mjs", page, script, events, (char *)mode,
	                NULL};
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 60000, &out, &err);
	cr_assert_eq(rc, 0, "node failed: %s", err);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", out);
	free(out);
	free(err);
	return j;
}

static const char *
row_text(json_t *j, const char *row, const char *field)
{
	return json_string_value(
	    json_object_get(json_object_get(json_object_get(j, "rows"), row), field));
}

Test(web_live, the_script_rewrites_the_changed_row_as_text, .timeout = 400)
{
	char *node = test_node(LIVE, "the live script check (jsdom)");
	char dir[64], path[128];
	test_tmpdir_file(dir, sizeof dir, "weblive", path, sizeof path, "page.html");
	struct board *b = board_new("t");
	board_declare(b, "a", "gpt-4o", "openai", 600000);
	record(b, "calm", "genuine", "fine", 10, 10, 300, 50, 0);
	/* the page as served before the changes */
	struct site_response r;
	site_get(b, "/", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	write_blob(path, r.blob->data, r.blob->len);
	board_put(r.blob);
	uint64_t seq = board_seq(b);
	/* 5 s ago: the time it covers does not hang on the clock's next
	 * millisecond (a run "this instant" covered 0 ms or 1 ms by luck) */
	record(b, "a", "misbehaving", hostile, 10, 9, 432.6, 55.4, 5000);
	record(b, "fresh", "genuine", "new one", 5, 5, 200, 80, 0);
	struct buf ev;
	buf_init(&ev, 0);
	board_events(b, seq, 100, &ev);
	snprintf(path, sizeof path, "%s/events.txt", dir);
	write_blob(path, ev.data, ev.len);
	buf_release(&ev);
	snprintf(path, sizeof path, "%s/live.js", dir);
	write_blob(path, render_live_script, strlen(render_live_script));

	json_t *j = run_live(node, dir, "");
	char want[64];
	snprintf(want, sizeof want, "api/v1/events?since=%llu", (unsigned long long)seq);
	cr_expect_str_eq(json_string_value(json_object_get(j, "url")), want);
	cr_expect_str_eq(json_string_value(json_object_get(j, "live")), "events");
	cr_expect_eq(json_integer_value(json_object_get(j, "delivered")), 2);
	cr_expect_str_eq(row_text(j, "row-a_gpt-4o", "pill"), "misbehaving");
	cr_expect_str_eq(row_text(j, "row-a_gpt-4o", "pill_class"), "v v-misbehaving");
	cr_expect_str_eq(row_text(j, "row-a_gpt-4o", "reason"), hostile);
	cr_expect_eq(json_integer_value(json_object_get(j, "injected")), 0,
	             "the relay's text made elements");
	cr_expect_eq(json_integer_value(json_object_get(j, "scripts")), 1, "only our own tag");
	/* the figures as render.c writes them: 90.0% and 9/10 under it */
	cr_expect_str_eq(row_text(j, "row-a_gpt-4o", "up24"), "90.0%9/10");
	cr_expect_str_eq(row_text(j, "row-a_gpt-4o", "ttft"), "433 ms");
	cr_expect_str_eq(row_text(j, "row-a_gpt-4o", "tps"), "55");
	const char *last = row_text(j, "row-a_gpt-4o", "last");
	cr_expect(last != NULL && strstr(last, " s ago") != NULL, "last audit: %s", last);
	/* one run 5 s ago, answered: up for all the time it covers */
	cr_expect_str_eq(row_text(j, "row-a_gpt-4o", "timeup"), "100%");
	/* the unchanged row is left as it was */
	cr_expect_str_eq(row_text(j, "row-calm_gpt-4o", "pill"), "genuine");
	cr_expect(!json_is_true(json_object_get(
	    json_object_get(json_object_get(j, "rows"), "row-calm_gpt-4o"), "updated")));
	/* an entry the page does not have: a reload is asked for */
	const char *note = json_string_value(json_object_get(j, "note"));
	cr_expect(note != NULL && strstr(note, "reload") != NULL, "note: %s", note);
	json_decref(j);

	/* no EventSource: a fetch of /api/v1/relays every 30 s */
	j = run_live(node, dir, "noeventsource");
	cr_expect_str_eq(json_string_value(json_object_get(j, "live")), "poll");
	int has30 = 0;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(j, "timers"), i, t) has30 |=
	    json_integer_value(t) == 30000;
	cr_expect(has30, "no 30 s poll");
	json_decref(j);
	board_free(b);
	free(node);
	cr_expect_eq(test_rmtree(dir), 0);
}
