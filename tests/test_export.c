/*
 * Export: `assay export DIR` writes the site as static files whose every
 * relative link resolves inside DIR, from --db or from -c's database.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "scoring/region_ledger.h"
#include "storage/store.h"
#include "storage/store_test.h"
#include "tests/helpers.h"

static char dir[64], db[128];

static void
save_run(struct store *s, const char *relay, const char *model, int ok)
{
	struct test_run t;
	test_run_init(&t, relay, model, wall_ms() - 60000);
	t.obs.http_status = ok ? 200 : 429;
	t.obs.error = ok ? ERR_NONE : ERR_RATE_LIMITED;
	struct assessment a;
	assessment_init(&a);
	a.requests = 1;
	a.ok_requests = ok;
	a.strong_checks_passed = 1;
	a.ttft_ms = ok ? 420 : -1;
	assessment_decide(&a);
	cr_assert_gt(test_save_run(s, test_timeline(), &t.run, &a, NULL), 0);
	assessment_release(&a);
	test_run_release(&t);
}

static void
setup(void)
{
	test_tmpdir_file(dir, sizeof dir, "export", db, sizeof db, "a.db");
	char err[256];
	struct store *s = store_open(db, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(store_set_title(s, "Watched <relays>"), 0); /* as serve stores it */
	for (int i = 0; i < 3; i++) {
		save_run(s, "alpha", "gpt-4o", 1);
		save_run(s, "alpha", "qwen3-32b", i != 1);
		save_run(s, "beta <b>", "gpt-4o", 0);
	}
	/* a hub's store: two regions' agents' runs of alpha gpt-4o (as
	 * store_agent_save_run writes them), and one of a relay the board
	 * does not know */
	char sql[1024];
	int64_t now = wall_ms();
	snprintf(sql, sizeof sql,
	         "INSERT INTO agent_runs(region, relay, model, api, started_ms, finished_ms,"
	         " verdict, requests, ok_requests, error_class, ttft_ms, tokens_per_s)"
	         " VALUES ('eu', 'alpha', 'gpt-4o', 'openai', %lld, %lld, 'genuine', 4, 4, 'none',"
	         " 310, 50), ('eu', 'alpha', 'gpt-4o', 'openai', %lld, %lld, 'genuine', 4, 4,"
	         " 'none', 330, 50), ('us', 'alpha', 'gpt-4o', 'openai', %lld, %lld,"
	         " 'unreachable', 4, 0, 'timeout', NULL, NULL), ('us', 'nobody', 'm', 'openai',"
	         " %lld, %lld, 'genuine', 1, 1, 'none', 1, 1)",
	         (long long)(now - 130000), (long long)(now - 120000), (long long)(now - 70000),
	         (long long)(now - 60000), (long long)(now - 70000), (long long)(now - 60000),
	         (long long)(now - 70000), (long long)(now - 60000));
	cr_assert_eq(store_test_exec(s, sql, err, sizeof err), 0, "%s", err);
	store_close(s);
}

static void
teardown(void)
{
	cr_expect_eq(test_rmtree(dir), 0);
}

static int
run_export(const char *out_dir, const char *flag, const char *value, char **out, char **err)
{
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"export",
	                (char *)out_dir,
	                (char *)flag,
	                (char *)value,
	                NULL};
	return run_capture(argv, 60000, out, err);
}

static char *
slurp(const char *path)
{
	size_t len;
	return read_file(path, 64u << 20, &len);
}

/* Check every href/src of the HTML file at path resolves to a file. */
static int
check_links(const char *root, const char *path)
{
	char *html = slurp(path);
	cr_assert_not_null(html, "%s", path);
	char base[PATH_MAX];
	snprintf(base, sizeof base, "%s", path);
	*strrchr(base, '/') = '\0';
	int links = 0;
	for (const char *p = html; (p = strpbrk(p, "hs")) != NULL; p++) {
		const char *v = NULL;
		if (strncmp(p, "href=\"", 6) == 0)
			v = p + 6;
		else if (strncmp(p, "src=\"", 5) == 0)
			v = p + 5;
		if (v == NULL)
			continue;
		const char *end = strpbrk(v, "\"#");
		cr_assert_not_null(end);
		if (end == v)
			continue; /* a fragment in the same page */
		char rel[PATH_MAX], full[PATH_MAX * 2], real[PATH_MAX], real_root[PATH_MAX];
		snprintf(rel, sizeof rel, "%.*s", (int)(end - v), v);
		cr_expect(strstr(rel, "://") == NULL && rel[0] != '/',
		          "%s: link '%s' is not relative", path, rel);
		snprintf(full, sizeof full, "%s/%s", base, rel);
		cr_expect_not_null(realpath(full, real), "%s: link '%s' does not resolve", path,
		                   rel);
		cr_assert_not_null(realpath(root, real_root));
		cr_expect_eq(strncmp(real, real_root, strlen(real_root)), 0,
		             "%s: link '%s' leaves the export", path, rel);
		links++;
	}
	free(html);
	return links;
}

Test(export, writes_the_site_with_working_relative_links, .init = setup, .fini = teardown,
     .timeout = 60)
{
	char out_dir[128], *out = NULL, *err = NULL;
	snprintf(out_dir, sizeof out_dir, "%s/site", dir);
	cr_assert_eq(run_export(out_dir, "--db", db, &out, &err), 0, "%s", err);
	cr_expect_not_null(strstr(out, "exported "), "%s", out);
	free(out);
	free(err);
	static const char *const files[] = {
	    "index.html",
	    "leaderboard/index.html",
	    "leaderboard/all/score.html",
	    "leaderboard/qwen3-32b/uptime-rev.html",
	    "relays/alpha.html",
	    "relays/beta--b-.html",
	    "about.html",
	    "assets/style.css",
	    "api/v1/relays",
	    "api/v1/relays.json",
	    "api/v1/leaderboard.json",
	    "api/v1/endpoints.json",
	    "api/v1/endpoints/alpha_gpt-4o.json",
	    "api/v1/endpoints/alpha_gpt-4o/uptimes/7d/badge.svg",
	    "api/v1/endpoints/alpha_gpt-4o/uptimes/30d/badge.json",
	    "api/v1/endpoints/alpha_gpt-4o/response-times/24h/badge.svg",
	    "api/v1/endpoints/beta--b-_gpt-4o/verdict/badge.json",
	};
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", out_dir, files[i]);
		cr_expect_eq(access(path, R_OK), 0, "missing %s", files[i]);
	}
	snprintf(path, sizeof path, "%s/api/v1/relays", out_dir);
	char *text = slurp(path);
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j);
	cr_expect_eq(json_array_size(json_object_get(j, "relays")), 3);
	json_decref(j);
	free(text);
	snprintf(path, sizeof path, "%s/api/v1/endpoints/beta--b-_gpt-4o/verdict/badge.json",
	         out_dir);
	text = slurp(path);
	cr_expect_not_null(strstr(text, "\"unreachable\""), "%s", text);
	free(text);
	/* --db alone keeps the stored title; a file says when, not "ago", and
	 * carries no script (no event stream behind it) */
	static const char *const statics[] = {"index.html", "relays/alpha.html"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", out_dir, statics[i]);
		text = slurp(path);
		cr_expect_not_null(strstr(text, "Watched &lt;relays&gt;"), "%s: no title",
		                   statics[i]);
		cr_expect_null(strstr(text, " ago<"), "%s: a relative time", statics[i]);
		cr_expect_null(strstr(text, " ago\""), "%s: a relative time", statics[i]);
		cr_expect_not_null(strstr(text, " UTC</td>") ? strstr(text, " UTC</td>")
		                                             : strstr(text, " UTC</span>"),
		                   "%s: no absolute time", statics[i]);
		cr_expect_null(strstr(text, "<script"), "%s: a script in a static copy",
		               statics[i]);
		free(text);
	}
	snprintf(path, sizeof path, "%s/relays/beta--b-.html", out_dir);
	text = slurp(path);
	cr_expect_null(strstr(text, "beta <b>"), "relay name not escaped");
	cr_expect_not_null(strstr(text, "beta &lt;b&gt;"));
	free(text);

	static const char *const pages[] = {"index.html", "leaderboard/index.html",
	                                    "leaderboard/all/ttft-rev.html", "relays/alpha.html",
	                                    "about.html"};
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", out_dir, pages[i]);
		cr_expect_gt(check_links(out_dir, path), 3, "%s has too few links", pages[i]);
	}

	/* exporting again over the same directory works (atomic replacements);
	 * --gzip adds precompressed copies of the larger documents */
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"export",
	                out_dir,
	                (char *)"--db",
	                db,
	                (char *)"--gzip",
	                NULL};
	cr_expect_eq(run_capture(argv, 60000, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	snprintf(path, sizeof path, "%s/leaderboard/index.html.gz", out_dir);
	cr_expect_eq(access(path, R_OK), 0, "no gzip copy with --gzip");
	char cmd[2 * PATH_MAX + 256];
	snprintf(cmd, sizeof cmd, "gzip -dc '%s' | cmp -s - '%s/leaderboard/index.html'", path,
	         out_dir);
	cr_expect_eq(system(cmd), 0, "the gzip copy is not the same document");
}

Test(export, a_hubs_store_shows_its_agents_regions, .init = setup, .fini = teardown, .timeout = 60)
{
	char out_dir[128], *out = NULL, *err = NULL;
	snprintf(out_dir, sizeof out_dir, "%s/site", dir);
	cr_assert_eq(run_export(out_dir, "--db", db, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/api/v1/relays", out_dir);
	char *text = slurp(path);
	if (text == NULL) {
		snprintf(path, sizeof path, "%s/api/v1/relays.json", out_dir);
		text = slurp(path);
	}
	cr_assert_not_null(text, "no relays JSON in the export");
	json_t *root = json_loads(text, 0, NULL);
	free(text);
	json_t *relays = json_object_get(root, "relays"), *regions = NULL;
	for (size_t i = 0; i < json_array_size(relays); i++) {
		json_t *e = json_array_get(relays, i);
		if (strcmp(json_string_value(json_object_get(e, "relay")), "alpha") == 0 &&
		    strcmp(json_string_value(json_object_get(e, "model")), "gpt-4o") == 0)
			regions = json_object_get(e, "regions");
		cr_expect_str_neq(json_string_value(json_object_get(e, "relay")), "nobody",
		                  "an agent's row added a relay");
	}
	cr_assert_eq(json_array_size(regions), 2);
	json_t *eu = json_array_get(regions, 0), *us = json_array_get(regions, 1);
	cr_expect_str_eq(json_string_value(json_object_get(eu, "region")), "eu");
	cr_expect_eq(json_integer_value(json_object_get(eu, "runs")), 2);
	cr_expect_eq(json_real_value(json_object_get(json_object_get(eu, "ttft_ms"), "p95")),
	             330.0);
	cr_expect_str_eq(json_string_value(json_object_get(us, "region")), "us");
	cr_expect_str_eq(json_string_value(json_object_get(us, "last_error")), "timeout");
	json_decref(root);
	snprintf(path, sizeof path, "%s/relays/alpha.html", out_dir);
	text = slurp(path);
	cr_assert_not_null(text);
	cr_expect_not_null(strstr(text, "<table class=\"regions\">"), "no region table");
	free(text);
}

Test(export, a_hubs_store_shows_its_agents_ledger, .init = setup, .fini = teardown, .timeout = 60)
{
	/* the hub's ledger as it keeps it: eu's decisive findings on alpha */
	struct region_ledger *rl = region_ledger_new(60000, 0, 0.5);
	int64_t now = wall_ms();
	for (int k = 0; k < 3; k++) {
		struct region_ledger_run run = {.id = k + 1,
		                                .region = "eu",
		                                .relay = "alpha",
		                                .model = "gpt-4o",
		                                .started_ms = now - (10 - k) * 60000LL,
		                                .counts = 1,
		                                .misbehaving = 1u << CLASS_SUBSTITUTION};
		run.conv[CLASS_SUBSTITUTION] = 151015;
		region_ledger_add(rl, &run);
	}
	region_ledger_close(rl, now, NULL, NULL);
	cr_assert_eq(region_ledger_level(rl, "alpha", "gpt-4o"), VERDICT_MISBEHAVING);
	char *state = region_ledger_state(rl, "alpha", "gpt-4o"), err[256];
	struct store *s = store_open(db, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	struct store_hub_ledger_row row = {"alpha", "gpt-4o", "misbehaving", state, now};
	cr_assert_eq(store_hub_ledger_write(s, &row, 1, 3), 0, "%s", store_last_error(s));
	store_close(s);
	free(state);
	region_ledger_free(rl);
	char out_dir[128], *out = NULL, *errs = NULL;
	snprintf(out_dir, sizeof out_dir, "%s/site", dir);
	cr_assert_eq(run_export(out_dir, "--db", db, &out, &errs), 0, "%s", errs);
	free(out);
	free(errs);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/api/v1/relays", out_dir);
	char *text = slurp(path);
	if (text == NULL) {
		snprintf(path, sizeof path, "%s/api/v1/relays.json", out_dir);
		text = slurp(path);
	}
	cr_assert_not_null(text);
	json_t *root = json_loads(text, 0, NULL);
	free(text);
	json_t *relays = json_object_get(root, "relays"), *alpha = NULL;
	for (size_t i = 0; i < json_array_size(relays); i++) {
		json_t *e = json_array_get(relays, i);
		if (strcmp(json_string_value(json_object_get(e, "relay")), "alpha") == 0 &&
		    strcmp(json_string_value(json_object_get(e, "model")), "gpt-4o") == 0)
			alpha = e;
	}
	cr_assert_not_null(alpha);
	cr_expect_str_eq(json_string_value(json_object_get(alpha, "verdict")), "misbehaving");
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(alpha, "agents_ledger"), "verdict")),
	    "misbehaving");
	json_decref(root);
	snprintf(path, sizeof path, "%s/relays/alpha.html", out_dir);
	text = slurp(path);
	cr_assert_not_null(text);
	cr_expect_not_null(strstr(text, "Agents' evidence, every region pooled"));
	free(text);
}

Test(export, from_config_shows_declared_relays, .init = setup, .fini = teardown, .timeout = 60)
{
	char cfg[128], out_dir[128], *out = NULL, *err = NULL;
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", dir);
	snprintf(out_dir, sizeof out_dir, "%s/site", dir);
	FILE *f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fprintf(f,
	        "title: Community board\ndatabase: %s\nrelays:\n"
	        "  - name: alpha\n    base_url: http://127.0.0.1:1/v1\n    models: [gpt-4o]\n"
	        "  - name: gamma\n    base_url: http://127.0.0.1:1/v1\n    models: [gpt-4o]\n",
	        db);
	fclose(f);
	cr_assert_eq(run_export(out_dir, "-c", cfg, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/index.html", out_dir);
	char *text = slurp(path);
	cr_expect_not_null(strstr(text, "Community board"));
	cr_expect_not_null(strstr(text, "gamma"), "a declared relay is listed as pending");
	cr_expect_not_null(strstr(text, "v-pending"));
	free(text);
}

Test(export, usage_and_missing_database, .init = setup, .fini = teardown, .timeout = 60)
{
	char *out = NULL, *err = NULL;
	char *a[] = {(char *)test_binary("assay"), (char *)"export", NULL};
	cr_expect_eq(run_capture(a, 10000, &out, &err), 2);
	free(out);
	free(err);
	char missing[160], out_dir[128];
	snprintf(missing, sizeof missing, "%s/none.db", dir);
	snprintf(out_dir, sizeof out_dir, "%s/site", dir);
	cr_expect_eq(run_export(out_dir, "--db", missing, &out, &err), 2);
	cr_expect_not_null(strstr(err, "none.db"), "%s", err);
	cr_expect_neq(access(missing, F_OK), 0, "export created a database");
	free(out);
	free(err);
}
