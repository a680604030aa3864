/*
 * The key never leaks, whatever a relay echoes: a relay sends it back whole,
 * without its prefix, cut to its middle, URL-encoded and in base64 (headers,
 * the model field, the response id); none of these spellings is found in the
 * audit's output (report and --json), serve's log, its pages, JSON and
 * badges, the static export, or the database and its WAL.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

#define KEY "sk-proj-Zq81xWv4Lm0Tn7Yb2Kc9RdHs"

/* The spellings looked for: the key, its tail after "sk-proj-", its middle,
 * URL-encoded (the same here: no reserved characters) and base64. */
static const char *const spellings[] = {
    KEY, "Zq81xWv4Lm0Tn7Yb2Kc9RdHs", "xWv4Lm0Tn7Yb",
    "c2stcHJvai1acTgxeFd2NExtMFRuN1liMktjOVJkSHM", /* base64, its stable part */
};

static struct test_world env;

static void
setup(void)
{
	static const char *const need[] = {"echo", "harvester", "canary-echo", "honest", NULL};
	test_world_start(&env, "secrets", "tests/data/secrets/world.yaml", need, "0.05");
	setenv("ECHO_KEY", KEY, 1);
	setenv("ASSAY_BASELINE_DIR", "fixtures/baselines", 1);
}

static void
teardown(void)
{
	test_world_stop(&env);
}

/* Is a spelling of the key in n bytes at p? Which, or NULL. */
static const char *
leak_in(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
		size_t k = strlen(spellings[i]);
		for (size_t j = 0; j + k <= n; j++)
			if (memcmp(p + j, spellings[i], k) == 0)
				return spellings[i];
	}
	return NULL;
}

static void
expect_clean(const char *what, const char *p, size_t n)
{
	const char *hit = p ? leak_in(p, n) : NULL;
	cr_expect_null(hit, "the key (as '%s') is in %s", hit ? hit : "", what);
}

static void
expect_file_clean(const char *path)
{
	size_t n = 0;
	char *data = read_file(path, 1 << 28, &n);
	if (data == NULL)
		return; /* a WAL checkpointed away */
	expect_clean(path, data, n);
	free(data);
}

/* Every regular file under dir. */
static int
expect_tree_clean(const char *dir)
{
	int files = 0;
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			files += expect_tree_clean(path);
		} else {
			expect_file_clean(path);
			files++;
		}
	}
	closedir(d);
	return files;
}

Test(secrets, no_spelling_of_the_key_leaks_anywhere, .init = setup, .fini = teardown,
     .timeout = 180)
{
	const char *url = fixture_url(&env.world, "echo");
	/* the relay does echo it: a raw request shows the key in its headers */
	char *out = NULL, *err = NULL;
	char *json_argv[] = {(char *)test_binary("assay"),
	                     (char *)"audit",
	                     (char *)"--base-url",
	                     (char *)url,
	                     (char *)"--model",
	                     (char *)"gpt-4o",
	                     (char *)"--key-env",
	                     (char *)"ECHO_KEY",
	                     (char *)"--time-scale",
	                     (char *)"0.05",
	                     (char *)"--json",
	                     NULL};
	run_capture(json_argv, 90000, &out, &err);
	cr_assert_not_null(out);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s %s", out, err);
	/* the relay did echo: the posture says so */
	cr_expect_gt(
	    json_integer_value(json_object_get(json_object_get(j, "security"), "secret_echoed")), 0,
	    "%s", out);
	json_decref(j);
	expect_clean("audit --json", out, strlen(out));
	expect_clean("audit --json's stderr", err, err ? strlen(err) : 0);
	free(out);
	free(err);
	json_argv[10] = NULL; /* the report */
	run_capture(json_argv, 90000, &out, &err);
	expect_clean("the audit report", out, out ? strlen(out) : 0);
	expect_clean("the audit's stderr", err, err ? strlen(err) : 0);
	free(out);
	free(err);

	/* serve: two runs, its pages, then the export and the database */
	char cfg[300], db[300], base[300], log[300];
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	snprintf(log, sizeof log, "%s/serve.log", env.dir);
	cr_assert_eq(test_write_file(cfg,
	                             "title: secrets\nlisten: 127.0.0.1:0\ndatabase: %s\n"
	                             "interval: 1s\ntimeout: 20s\ntime_scale: 0.05\nrelays:\n"
	                             "  - name: echo\n    base_url: %s\n    key_env: ECHO_KEY\n"
	                             "    models: [gpt-4o]\n",
	                             db, url),
	             0);
	/* serve's log goes to a file: stderr reopened for the child */
	FILE *saved = fdopen(dup(2), "w");
	cr_assert_not_null(freopen(log, "w", stderr));
	char *serve_argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg,
	                      NULL};
	struct child serve;
	int started = serve_start(&serve, serve_argv, base, sizeof base);
	dup2(fileno(saved), 2);
	fclose(saved);
	cr_assert_eq(started, 0);
	char api[400];
	snprintf(api, sizeof api, "%sapi/v1/relays", base);
	long long deadline = test_now_ms() + 60000;
	long runs = 0;
	while (runs < 2 && test_now_ms() < deadline) {
		json_t *root = http_get_json(api);
		json_t *e = json_array_get(json_object_get(root, "relays"), 0);
		runs = e ? (long)json_integer_value(json_object_get(e, "runs")) : 0;
		json_decref(root);
		usleep(200000);
	}
	cr_assert_geq(runs, 2, "serve did not run twice");
	static const char *const docs[] = {"",
	                                   "api/v1/relays",
	                                   "api/v1/leaderboard",
	                                   "metrics",
	                                   "api/v1/endpoints/echo_gpt-4o.json",
	                                   "api/v1/endpoints/echo_gpt-4o/verdict/badge.svg",
	                                   "relays/echo.html",
	                                   "leaderboard/",
	                                   "about.html"};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		char u[512];
		snprintf(u, sizeof u, "%s%s", base, docs[i]);
		long status = 0;
		size_t len = 0;
		char *body = http_get(u, &status, &len);
		expect_clean(u, body, body ? len : 0);
		free(body);
	}
	/* the database and its WAL while serve holds them, then after */
	char wal[320];
	snprintf(wal, sizeof wal, "%s-wal", db);
	expect_file_clean(db);
	expect_file_clean(wal);
	cr_expect_eq(child_stop(&serve, 10000), 0);
	expect_file_clean(db);
	expect_file_clean(log);

	char dir[320];
	snprintf(dir, sizeof dir, "%s/export", env.dir);
	char *export_argv[] = {
	    (char *)test_binary("assay"), (char *)"export", dir, (char *)"--db", db, NULL};
	cr_expect_eq(run_capture(export_argv, 60000, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	cr_expect_gt(expect_tree_clean(dir), 3, "the export wrote nothing");
}

/* `audit --canary-wait` of relay; its JSON (owned). */
/* What `assay audit --canary-wait WAIT` of relay printed (JSON when json
 * is set); the caller frees it. */
static char *
canary_audit_out(const char *relay, const char *wait, int json)
{
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"audit",
	                (char *)"--base-url",
	                (char *)fixture_url(&env.world, relay),
	                (char *)"--model",
	                (char *)"gpt-4o",
	                (char *)"--key-env",
	                (char *)"ECHO_KEY",
	                (char *)"--time-scale",
	                (char *)"0.05",
	                (char *)"--canary-wait",
	                (char *)wait,
	                json ? (char *)"--json" : NULL,
	                NULL};
	char *out = NULL, *err = NULL;
	run_capture(argv, 90000, &out, &err);
	cr_assert_not_null(out, "%s: no output: %s", relay, err);
	free(err);
	return out;
}

static json_t *
canary_audit(const char *relay, const char *wait)
{
	char *out = canary_audit_out(relay, wait, 1);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s: %s", relay, out);
	free(out);
	return j;
}

static const json_t *
harvesting(const json_t *j)
{
	return json_find(json_object_get(j, "findings"), "class", "credential_harvesting");
}

/* The harvester uses the planted key 1 s (simulated) after it relayed the
 * prompt: caught, naming when, from where and how; an honest relay is not,
 * and without a listener the canary probe is not sent at all. */
Test(secrets, a_relay_that_uses_a_planted_key_is_caught, .init = setup, .fini = teardown,
     .timeout = 120)
{
	json_t *j = canary_audit("harvester", "3s");
	const json_t *f = harvesting(j);
	cr_assert_not_null(f, "no credential_harvesting finding: %s",
	                   json_string_value(json_object_get(j, "reason")));
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "misbehaving");
	const char *observed =
	    json_string_value(json_object_get(json_object_get(f, "evidence"), "observed"));
	cr_expect_not_null(strstr(observed, "(the key itself sent)"), "%s", observed);
	cr_expect_not_null(strstr(observed, "python-requests"), "%s", observed);
	cr_expect_not_null(strstr(observed, "/models"), "%s", observed);
	json_decref(j);

	j = canary_audit("honest", "1s");
	cr_expect_null(harvesting(j));
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "genuine");
	json_decref(j);
}

/* The canary's key has no place in the report either: a relay that echoes
 * the key a prompt pasted (model field, ids, headers) has it redacted out
 * of the audit's JSON and text, as the caller's own key is. The key is
 * "sk-proj-" and 40 base62 characters (probes/canary.c): no run of 8 of
 * them after that prefix may be printed. */
Test(secrets, an_echoed_canary_key_is_not_printed, .init = setup, .fini = teardown, .timeout = 120)
{
	for (int text = 0; text < 2; text++) {
		char *out = canary_audit_out("canary-echo", "0s", !text);
		cr_expect_gt(strlen(out), 100, "no report");
		int runs = 0;
		for (const char *p = strstr(out, "sk-proj-"); p != NULL;
		     p = strstr(p + 1, "sk-proj-")) {
			size_t k = 0;
			while (isalnum((unsigned char)p[8 + k]))
				k++;
			runs += k >= 8;
		}
		cr_expect_eq(runs, 0, "the canary key is in the %s report:\n%s",
		             text ? "text" : "JSON", out);
		/* the tail alone (the echo drops the prefix): shown redacted */
		const char *echo = strstr(out, "(key ");
		cr_expect(echo == NULL || strncmp(echo + 5, "[redacted]", 10) == 0,
		          "an unredacted echo: %s", out);
		free(out);
	}
}
