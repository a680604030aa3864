/*
 * Browser page states (issue 18): the front page and a relay page for each
 * state a relay-model can be in, in headless Chromium (Debian's `chromium`),
 * at desktop and phone widths: new (declared, no run yet), healthy,
 * misbehaving (a day of full uptime that is red for its verdict), down (an
 * open outage), recovered (a resolved one), and not running (the config
 * keeps it from running, board_not_running). A board built in this process
 * and served by web_start on a loopback port, so each state is exact.
 *
 * Each load: no console message (the front page's script runs and opens
 * its event stream without an error or a CSP violation), the DOM has each
 * state's words and day-bar classes, and the screenshots land in
 * build/screenshots/states-*.png (looked at, not committed).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"
#include "web/board.h"
#include "web/server.h"

static char tmpdir[128];

static void
cleanup(void)
{
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	cr_expect_eq(system(cmd), 0);
}

static void
run(struct board *b, const char *relay, const char *verdict, int64_t at_ms, long requests, long ok,
    json_t *findings)
{
	long errors[ERR__COUNT] = {0};
	errors[ERR_UPSTREAM] = requests - ok;
	struct board_run r = {.relay = relay,
	                      .model = "gpt-4o",
	                      .api = "openai",
	                      .verdict = verdict,
	                      .reason = ok > 0 ? "the answers match the official model's"
	                                       : "no request succeeded (HTTP 503)",
	                      .findings = findings,
	                      .at_ms = at_ms,
	                      .runs = 1,
	                      .requests = requests,
	                      .ok_requests = ok,
	                      .tokens_spent = 900,
	                      .ttft_ms = ok > 0 ? 380 + (double)(at_ms / 60000 % 97) : -1,
	                      .tokens_per_s = ok > 0 ? 60 + (double)(at_ms / 60000 % 23) : -1,
	                      .errors = errors};
	board_record(b, &r);
}

/* Runs of relay every step_ms over [from_ms, to_ms). */
static void
runs(struct board *b, const char *relay, const char *verdict, int64_t from_ms, int64_t to_ms,
     int64_t step_ms, long requests, long ok, json_t *findings)
{
	for (int64_t t = from_ms; t < to_ms; t += step_ms)
		run(b, relay, verdict, t, requests, ok, findings);
}

static void
segment(struct board *b, int64_t id, const char *relay, const char *verdict, int64_t first_ms,
        int64_t last_ms, long n, const char *findings)
{
	struct timeline_segment s = {.id = id,
	                             .relay = relay,
	                             .model = "gpt-4o",
	                             .first_ms = first_ms,
	                             .last_ms = last_ms,
	                             .runs = n,
	                             .verdict = verdict,
	                             .reason = verdict,
	                             .findings_json = findings};
	board_segment(b, &s);
}

static struct board *
states_board(void)
{
	struct board *b = board_new("Relay status");
	int64_t now = wall_ms(), h = HOUR_MS, m = 60000;
	const char *relays[] = {"new-relay",  "healthy-relay",   "misbehaving-relay",
	                        "down-relay", "recovered-relay", "stopped-relay"};
	for (size_t i = 0; i < 6; i++)
		board_declare(b, relays[i], "gpt-4o", "openai", 10 * m);
	/* healthy: 60 days of hourly runs, the last two hours every 10 min */
	runs(b, "healthy-relay", "genuine", now - 60 * DAY_MS, now - 2 * h, h, 6, 6, NULL);
	runs(b, "healthy-relay", "genuine", now - 2 * h, now, 10 * m, 6, 6, NULL);
	segment(b, 1, "healthy-relay", "genuine", now - 60 * DAY_MS, now - 10 * m, 1500, "[]");
	/* misbehaving: genuine for 20 days, then caught serving another model
	 * today, every request answered */
	json_t *f =
	    json_pack("[{s:s, s:f, s:{s:s, s:s, s:s, s:s}, s:s}]", "class", "substitution",
	              "confidence", 0.9995, "evidence", "expected", "gpt-4o's answers", "observed",
	              "gpt-4o-mini's answers", "summary", "14 of 16 answers match gpt-4o-mini",
	              "probe", "identity", "served_model", "gpt-4o-mini");
	runs(b, "misbehaving-relay", "genuine", now - 20 * DAY_MS, now / DAY_MS * DAY_MS, h, 6, 6,
	     NULL);
	runs(b, "misbehaving-relay", "misbehaving", now / DAY_MS * DAY_MS, now, 10 * m, 6, 6, f);
	char *fj = json_dumps(f, 0);
	segment(b, 2, "misbehaving-relay", "genuine", now - 20 * DAY_MS, now / DAY_MS * DAY_MS, 480,
	        "[]");
	segment(b, 3, "misbehaving-relay", "misbehaving", now / DAY_MS * DAY_MS, now - 10 * m, 30,
	        fj);
	free(fj);
	/* down: fine for 10 days, nothing answered for the last 90 minutes */
	runs(b, "down-relay", "genuine", now - 10 * DAY_MS, now - 90 * m, h, 6, 6, NULL);
	runs(b, "down-relay", "unreachable", now - 90 * m, now, 10 * m, 6, 0, NULL);
	segment(b, 4, "down-relay", "unreachable", now - 90 * m, now - 10 * m, 9, "[]");
	struct timeline_incident down = {.id = 1,
	                                 .relay = "down-relay",
	                                 .model = "gpt-4o",
	                                 .kind = "outage",
	                                 .cause = "upstream",
	                                 .detail = "HTTP 503 from every request",
	                                 .opened_ms = now - 70 * m,
	                                 .failed_runs = 9};
	board_incident(b, &down);
	/* recovered: down from 5 to 3 hours ago, fine since */
	runs(b, "recovered-relay", "genuine", now - 30 * DAY_MS, now - 5 * h, h, 6, 6, NULL);
	runs(b, "recovered-relay", "unreachable", now - 5 * h, now - 3 * h, 10 * m, 6, 0, NULL);
	runs(b, "recovered-relay", "genuine", now - 3 * h, now, 10 * m, 6, 6, NULL);
	struct timeline_incident rec = {.id = 2,
	                                .relay = "recovered-relay",
	                                .model = "gpt-4o",
	                                .kind = "outage",
	                                .cause = "timeout",
	                                .detail = "every request timed out",
	                                .opened_ms = now - 5 * h + 20 * m,
	                                .resolved_ms = now - 3 * h + 20 * m,
	                                .failed_runs = 12};
	board_incident(b, &rec);
	/* not running: a week of history, then the config lost its key */
	runs(b, "stopped-relay", "genuine", now - 7 * DAY_MS, now - 6 * h, h, 6, 6, NULL);
	board_not_running(b, "stopped-relay", "gpt-4o",
	                  "assay.yaml:14: key_env STOPPED_RELAY_KEY is not set");
	json_decref(f);
	return b;
}

static int
chromium(const char *url, const char *mode, int width, char **out, char **err)
{
	char profile[200], size[64];
	snprintf(profile, sizeof profile, "--user-data-dir=%s/chromium-%d", tmpdir, width);
	snprintf(size, sizeof size, "--window-size=%d,%d", width, width > 600 ? 1900 : 2600);
	char *argv[] = {(char *)"/usr/bin/chromium",
	                (char *)"--headless",
	                (char *)"--no-sandbox",
	                (char *)"--disable-gpu",
	                (char *)"--disable-background-networking",
	                (char *)"--disable-component-update",
	                (char *)"--disable-sync",
	                (char *)"--no-first-run",
	                (char *)"--hide-scrollbars",
	                (char *)"--enable-logging=stderr",
	                (char *)"--v=0",
	                profile,
	                size,
	                (char *)mode,
	                (char *)url,
	                NULL};
	return run_capture(argv, 90000, out, err);
}

static char *
console_lines(const char *err)
{
	char *found = NULL;
	size_t len = 0;
	for (const char *p = err; p && (p = strstr(p, ":CONSOLE")) != NULL; p++) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		found = realloc(found, len + n + 2);
		memcpy(found + len, p, n);
		len += n;
		found[len++] = '\n';
		found[len] = '\0';
	}
	return found;
}

/* The class of the day bar cell of date in the section of the DOM that
 * starts at from ("" if none). */
static void
cell_class(const char *dom, const char *from, const char *date, char *out, size_t n)
{
	out[0] = '\0';
	const char *p = strstr(dom, from);
	char key[40];
	snprintf(key, sizeof key, "<title>%s: ", date);
	const char *t = p ? strstr(p, key) : NULL;
	if (t == NULL)
		return;
	while (t > p && strncmp(t, "<rect class=\"", 13) != 0)
		t--;
	t += 13;
	snprintf(out, n, "%.*s", (int)strcspn(t, "\""), t);
}

struct shot {
	const char *name, *path;
	const char *must[4];
};

Test(browser_states, every_page_state_renders_cleanly, .fini = cleanup, .timeout = 900)
{
	cr_assert_eq(access("/usr/bin/chromium", X_OK), 0,
	             "chromium is not installed: run `make deps` (Debian package 'chromium')");
	snprintf(tmpdir, sizeof tmpdir, "/tmp/assay-states-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	char shots[300];
	snprintf(shots, sizeof shots, "%s/screenshots", test_build_dir());
	mkdir(shots, 0755);
	struct board *b = states_board();
	char err[256];
	struct web_server *w = web_start(b, "127.0.0.1", 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	static const struct shot pages[] = {
	    {"states-front",
	     "",
	     {"waiting for the first audit", "key_env STOPPED_RELAY_KEY is not set",
	      "<div><b>1</b>not running</div>", "<div><b>2</b>genuine</div>"}},
	    {"states-new", "relays/new-relay.html", {"pending", "no data yet", NULL}},
	    {"states-healthy", "relays/healthy-relay.html", {"genuine", "p95", NULL}},
	    {"states-misbehaving",
	     "relays/misbehaving-relay.html",
	     {"misbehaving", "14 of 16 answers match gpt-4o-mini", NULL}},
	    {"states-down", "relays/down-relay.html", {"unreachable", "ongoing", NULL}},
	    {"states-recovered", "relays/recovered-relay.html", {"resolved", "genuine", NULL}},
	    {"states-not-running",
	     "relays/stopped-relay.html",
	     {"<td><span class=\"v v-pending\">not running</span></td>", "assay.yaml:14", NULL}},
	};
	static const int widths[] = {1280, 390};
	char base[64];
	snprintf(base, sizeof base, "http://127.0.0.1:%d/", web_port(w));
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		char url[512], *out = NULL, *cerr = NULL;
		snprintf(url, sizeof url, "%s%s", base, pages[i].path);
		for (size_t k = 0; k < 2; k++) {
			char mode[400];
			snprintf(mode, sizeof mode, "--screenshot=%s/%s-%s.png", shots,
			         pages[i].name, widths[k] > 600 ? "desktop" : "phone");
			int rc = chromium(url, mode, widths[k], &out, &cerr);
			cr_expect_eq(rc, 0, "chromium failed on %s: %s", url, cerr);
			char *console = console_lines(cerr);
			cr_expect_null(console, "%s at %d px: console messages:\n%s", url,
			               widths[k], console);
			free(console);
			struct stat sb;
			cr_expect(stat(mode + strlen("--screenshot="), &sb) == 0 &&
			              sb.st_size > 5000,
			          "no screenshot for %s", url);
			free(out);
			free(cerr);
		}
		int rc = chromium(url, "--dump-dom", 1280, &out, &cerr);
		cr_expect_eq(rc, 0, "chromium --dump-dom failed on %s", url);
		cr_assert_not_null(strstr(out, "</html>"), "%s: no DOM", url);
		for (size_t k = 0; k < 4 && pages[i].must[k]; k++)
			cr_expect_not_null(strstr(out, pages[i].must[k]), "%s: no '%s'", url,
			                   pages[i].must[k]);
		if (i == 0) {
			/* the day bars: today red for the misbehaving relay though every
			 * request succeeded, green for the healthy one; none for new */
			char today[16], cls[16];
			time_t t = (time_t)(wall_ms() / 1000);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(today, sizeof today, "%Y-%m-%d", &tm);
			cell_class(out, "id=\"row-misbehaving-relay_gpt-4o\"", today, cls,
			           sizeof cls);
			cr_expect_str_eq(cls, "bm");
			cell_class(out, "id=\"row-healthy-relay_gpt-4o\"", today, cls, sizeof cls);
			cr_expect_str_eq(cls, "b1");
			cell_class(out, "id=\"row-new-relay_gpt-4o\"", today, cls, sizeof cls);
			cr_expect_str_eq(cls, "b0");
			cell_class(out, "id=\"row-down-relay_gpt-4o\"", today, cls, sizeof cls);
			cr_expect(strcmp(cls, "b4") == 0 || strcmp(cls, "b3") == 0,
			          "down today: %s", cls);
			/* the script ran (it marks the page) */
			cr_expect_not_null(strstr(out, "data-live=\"events\""),
			                   "the live script did "
			                   "not run");
		}
		free(out);
		free(cerr);
	}
	web_stop(w);
	board_free(b);
}
