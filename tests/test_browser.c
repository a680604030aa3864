/*
 * Browser: the pages in headless Chromium (Debian's `chromium`, installed by
 * `make deps`; never a downloaded browser).
 *
 * A database with 120 days of synthetic history for a few relays (one with
 * hostile names and texts, from build/bench/web-gen --hostile) and the
 * fixture world's honest and swapping relays, audited live by `assay serve`.
 * Each page is loaded at desktop and phone widths: no console message at all
 * (any message is an error: a blocked resource, a CSP violation, the front
 * page's own script failing), the DOM Chromium parsed has no <script>
 * element but the site's own (assets/live.js) and shows the right verdicts, and screenshots land in
 * build/screenshots/ (with dark-theme ones of two pages: the theme follows the browser).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers.h"

static const char *const need[] = {"honest-relay", "swap-relay", NULL};

static char tmpdir[128];
static const char secret[] = "sk-browser-test-secret-4d1c";
static struct fixture world;
static struct child serve;
static int serving;

static void
teardown(void)
{
	if (serving)
		cr_expect_eq(child_stop(&serve, 10000), 0, "serve did not exit 0");
	fixture_stop(&world);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	cr_expect_eq(system(cmd), 0);
}

/* Both fixture relays have a verdict. */
static int
verdicts_ready(const char *base)
{
	char url[400];
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	long status = 0;
	char *body = http_get(url, &status, NULL);
	if (body == NULL || status != 200) {
		free(body);
		return 0;
	}
	json_t *root = json_loads(body, 0, NULL);
	free(body);
	int ready = 0;
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(root, "relays"), i, r)
	{
		const char *name = json_string_value(json_object_get(r, "relay"));
		if ((strcmp(name, "honest-relay") == 0 || strcmp(name, "swap-relay") == 0) &&
		    json_is_string(json_object_get(r, "verdict")))
			ready++;
	}
	json_decref(root);
	return ready == 2;
}

/* Run chromium on url; stdout/stderr captured. Its exit status. */
static int
chromium_theme(const char *url, const char *mode, int width, int dark, char **out, char **err)
{
	char profile[200], size[64];
	snprintf(profile, sizeof profile, "--user-data-dir=%s/chromium-%s-%d", tmpdir,
	         mode[2] == 's' ? "shot" : "dom", width);
	snprintf(size, sizeof size, "--window-size=%d,%d", width, width > 600 ? 2200 : 2600);
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
	                dark ? (char *)"--force-dark-mode" : (char *)"--no-first-run",
	                dark ? (char *)"--blink-settings=preferredColorScheme=0"
	                     : (char *)"--no-first-run",
	                profile,
	                size,
	                (char *)mode,
	                (char *)url,
	                NULL};
	return run_capture(argv, 90000, out, err);
}

static int
chromium(const char *url, const char *mode, int width, char **out, char **err)
{
	return chromium_theme(url, mode, width, 0, out, err);
}

/* Console messages Chromium logged, joined; NULL when there are none. */
static char *
console_lines(const char *err)
{
	char *found = NULL;
	size_t len = 0;
	for (const char *p = err; p && (p = strstr(p, ":CONSOLE")) != NULL; p++) {
		const char *start = p, *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - start) : strlen(start);
		found = realloc(found, len + n + 2);
		memcpy(found + len, start, n);
		len += n;
		found[len++] = '\n';
		found[len] = '\0';
	}
	return found;
}

struct page {
	const char *name, *path;
	const char *must[3]; /* text the parsed DOM must hold */
};

Test(browser, pages_render_cleanly_at_desktop_and_phone_widths, .fini = teardown, .timeout = 600)
{
	cr_assert_eq(access("/usr/bin/chromium", X_OK), 0,
	             "chromium is not installed: run `make deps` (Debian package 'chromium')");
	snprintf(tmpdir, sizeof tmpdir, "/tmp/assay-browser-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	char db[200], cfg[200], shots[300];
	snprintf(db, sizeof db, "%s/assay.db", tmpdir);
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", tmpdir);
	snprintf(shots, sizeof shots, "%s/screenshots", test_build_dir());
	mkdir(shots, 0755);

	char gen[300];
	snprintf(gen, sizeof gen, "%s", test_binary("bench/web-gen"));
	char *gargv[] = {
	    gen, db, (char *)"5", (char *)"3", (char *)"--days", (char *)"120", (char *)"--hostile",
	    NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(run_capture(gargv, 120000, &out, &err), 0, "web-gen failed: %s", err);
	free(out);
	free(err);

	fixture_start_scaled(&world, "fixtures/demo.yaml", need, "0.05");
	FILE *f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fprintf(f,
	        "title: Relay status\nlisten: 127.0.0.1:0\ndatabase: %s\ninterval: 1h\n"
	        "timeout: 20s\nrelays:\n"
	        "  - name: honest-relay\n    base_url: %s\n    models: [gpt-4o]\n"
	        "    key_env: ASSAY_BROWSER_TEST_KEY\n"
	        "  - name: swap-relay\n    base_url: %s\n    models: [gpt-4o]\n",
	        db, fixture_url(&world, "honest-relay"), fixture_url(&world, "swap-relay"));
	fclose(f);
	setenv("ASSAY_BROWSER_TEST_KEY", secret, 1);
	char *sargv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	cr_assert_eq(child_start(&serve, sargv), 0);
	serving = 1;
	char line[512], base[300];
	cr_assert_eq(child_read_line(&serve, line, sizeof line, 10000), 0, "serve printed no URL");
	cr_assert_eq(sscanf(line, "serving %299s", base), 1, "%s", line);
	long long deadline = test_now_ms() + 60000;
	while (!verdicts_ready(base) && test_now_ms() < deadline)
		usleep(100 * 1000); /* poll interval */
	cr_assert(verdicts_ready(base), "no verdicts for the fixture relays within 60 s");
	/* let the cached pages pass their refresh interval */
	usleep(600 * 1000);

	static const struct page pages[] = {
	    {"status", "", {"honest-relay", "swap-relay", "relay-001.example"}},
	    {"leaderboard", "leaderboard/", {"Leaderboard", "relay-002.example", "="}},
	    {"leaderboard-ttft", "leaderboard/all/ttft.html", {"TTFT", "honest-relay", NULL}},
	    {"relay-honest", "relays/honest-relay.html", {"genuine", "Verdict history", NULL}},
	    {"relay-swap", "relays/swap-relay.html", {"misbehaving", "substitution", NULL}},
	    {"relay-history",
	     "relays/relay-001.example.html",
	     {"Incidents", "Requests that did not succeed, by error class", "(UTC)"}},
	    {"relay-hostile",
	     "relays/-script-alert--relay----script-.html",
	     {"<script>alert('relay')</script>", "onerror=alert(1)", NULL}},
	    {"about", "about.html", {"Database", "Schema version", NULL}},
	};
	static const int widths[] = {1280, 390};
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		char url[512];
		snprintf(url, sizeof url, "%s%s", base, pages[i].path);
		for (size_t w = 0; w < 2; w++) {
			char mode[400];
			snprintf(mode, sizeof mode, "--screenshot=%s/%s-%s.png", shots,
			         pages[i].name, widths[w] > 600 ? "desktop" : "phone");
			int rc = chromium(url, mode, widths[w], &out, &err);
			cr_expect_eq(rc, 0, "chromium failed on %s: %s", url, err);
			char *console = console_lines(err);
			cr_expect_null(console, "%s at %d px: console messages:\n%s", url,
			               widths[w], console);
			free(console);
			struct stat sb;
			cr_expect(stat(mode + strlen("--screenshot="), &sb) == 0 &&
			              sb.st_size > 5000,
			          "no screenshot for %s", url);
			free(out);
			free(err);
		}
		int rc = chromium(url, "--dump-dom", 1280, &out, &err);
		cr_expect_eq(rc, 0, "chromium --dump-dom failed on %s", url);
		cr_expect_not_null(strstr(out, "</html>"), "%s: no DOM", url);
		for (const char *p = strstr(out, "<script"); p; p = strstr(p + 1, "<script"))
			cr_expect_eq(strncmp(p, "<script src=\"assets/live.js\"",
			                     strlen("<script src=\"assets/live.js\"")),
			             0, "%s: a <script> element was parsed: %.80s", url, p);
		cr_expect_null(strstr(out, "<img src=\"x\""), "%s: an injected <img> was parsed",
		               url);
		for (size_t k = 0; k < 3 && pages[i].must[k]; k++) {
			/* the DOM serializer escapes < > & in text: compare escaped */
			char want[256];
			size_t o = 0;
			for (const char *p = pages[i].must[k]; *p && o < sizeof want - 6; p++) {
				if (*p == '<')
					o += (size_t)snprintf(want + o, sizeof want - o, "&lt;");
				else if (*p == '>')
					o += (size_t)snprintf(want + o, sizeof want - o, "&gt;");
				else
					want[o++] = *p;
			}
			want[o] = '\0';
			cr_expect_not_null(strstr(out, want), "%s: '%s' not in the DOM", url, want);
		}
		if (strcmp(pages[i].name, "status") == 0 ||
		    strcmp(pages[i].name, "relay-history") == 0) {
			/* the dark theme (the browser prefers dark), desktop and phone */
			for (size_t w = 0; w < 2; w++) {
				char *o2 = NULL, *e2 = NULL, mode[400];
				snprintf(mode, sizeof mode, "--screenshot=%s/%s-%s-dark.png", shots,
				         pages[i].name, widths[w] > 600 ? "desktop" : "phone");
				cr_expect_eq(chromium_theme(url, mode, widths[w], 1, &o2, &e2), 0,
				             "%s", e2);
				char *console = console_lines(e2);
				cr_expect_null(console, "%s (dark): console messages:\n%s", url,
				               console);
				free(console);
				free(o2);
				free(e2);
			}
		}
		if (strcmp(pages[i].name, "status") == 0) {
			/* the right verdicts on the right rows */
			const char *h = strstr(out, ">honest-relay<"),
			           *s = strstr(out, ">swap-relay<");
			cr_assert(h && s);
			const char *hv = strstr(h, "class=\"v v-"), *sv = strstr(s, "class=\"v v-");
			cr_expect(hv && strncmp(hv, "class=\"v v-genuine\"", 19) == 0,
			          "honest-relay is not genuine");
			cr_expect(sv && strncmp(sv, "class=\"v v-misbehaving\"", 23) == 0,
			          "swap-relay is not misbehaving");
		}
		free(out);
		free(err);
	}

	/* the API key is nowhere: not in a document, not in the database */
	static const char *const docs[] = {"",
	                                   "api/v1/relays",
	                                   "api/v1/leaderboard",
	                                   "metrics",
	                                   "api/v1/endpoints/honest-relay_gpt-4o.json",
	                                   "relays/honest-relay.html",
	                                   "about.html"};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		char url[512];
		snprintf(url, sizeof url, "%s%s", base, docs[i]);
		long status = 0;
		char *body = http_get(url, &status, NULL);
		cr_assert_not_null(body, "%s", url);
		cr_expect_eq(status, 200, "%s", url);
		cr_expect_null(strstr(body, secret), "the API key is in %s", url);
		free(body);
	}
	char cmd[400];
	snprintf(cmd, sizeof cmd, "grep -q '%s' '%s'*", secret, db);
	cr_expect_neq(system(cmd), 0, "the API key reached the database");
}
