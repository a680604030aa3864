/*
 * `assay serve` reloads its config on SIGHUP (issue 18): a relay added
 * starts, one removed stops, one unchanged runs on untouched; a bad new
 * config is refused with its FILE:LINE and the old one keeps running;
 * serve then stops cleanly. Waits are polled conditions with bounds.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

static const char *const need[] = {"honest", "honest-slow", "swap-qwen", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "reload", "tests/data/detect/world.yaml", need, "0.05");
}

static void
teardown(void)
{
	cr_expect_eq(test_world_stop(&env), 0, "the fixture did not stop cleanly on SIGTERM");
}

static char cfg[300], db[300], logpath[300];

/* The config with these relays (each "NAME: ENDPOINT" of the world),
 * or a file that is no YAML when broken (a relay's own error would only
 * keep that relay from running). */
static void
write_config(const char *const *relays, int broken)
{
	char list[2048] = "";
	for (size_t i = 0; relays[i] != NULL; i++) {
		size_t n = strlen(list);
		snprintf(list + n, sizeof list - n,
		         "  - {name: %s, base_url: '%s', models: [gpt-4o]}\n", relays[i],
		         fixture_url(&env.world, relays[i]));
	}
	cr_assert_eq(test_write_file(cfg,
	                             "listen: 127.0.0.1:0\ndatabase: %s\ninterval: 1s\n"
	                             "timeout: 10s\ntime_scale: 0.05\nrelays:\n%s%s",
	                             db, list, broken ? "  - {name: x, base_url: [\n" : ""),
	             0);
}

static json_t *
entry_of(json_t *root, const char *relay)
{
	return json_find(json_object_get(root, "relays"), "relay", relay);
}

/* The relay's runs in the last 24 h (-1: not on the board). */
static long
runs_of(const char *base, const char *relay)
{
	char url[400];
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	json_t *root = http_get_json(url);
	json_t *e = root ? entry_of(root, relay) : NULL;
	long n = e ? (long)json_integer_value(json_object_get(e, "runs")) : -1;
	json_decref(root);
	return n;
}

/* Wait (at most ms) until relay has more than n runs; its runs then. */
static long
wait_runs(const char *base, const char *relay, long n, int ms)
{
	int64_t until = now_us() + ms * 1000LL;
	long got;
	while ((got = runs_of(base, relay)) <= n && now_us() < until)
		usleep(100000);
	return got;
}

/* Wait (at most ms) for text in serve's log. */
static int
log_has(const char *text, int ms)
{
	int64_t until = now_us() + ms * 1000LL;
	do {
		FILE *f = fopen(logpath, "r");
		if (f != NULL) {
			char line[2048];
			int found = 0;
			while (!found && fgets(line, sizeof line, f) != NULL)
				found = strstr(line, text) != NULL;
			fclose(f);
			if (found)
				return 1;
		}
		usleep(50000);
	} while (now_us() < until);
	return 0;
}

Test(reload, sighup_adds_removes_and_refuses_a_bad_config, .init = setup, .fini = teardown,
     .timeout = 180)
{
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	snprintf(logpath, sizeof logpath, "%s/serve.log", env.dir);
	const char *first[] = {"honest", "honest-slow", NULL};
	write_config(first, 0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	char base[300];
	FILE *saved = fdopen(dup(2), "w");
	cr_assert_not_null(freopen(logpath, "a", stderr));
	int started = serve_start(&serve, argv, base, sizeof base);
	dup2(fileno(saved), 2);
	fclose(saved);
	cr_assert_eq(started, 0);
	cr_assert_gt(wait_runs(base, "honest", 0, 60000), 0, "honest never ran");
	cr_assert_gt(wait_runs(base, "honest-slow", 0, 60000), 0, "honest-slow never ran");

	/* honest stays as it was, honest-slow goes, swap-qwen comes */
	const char *second[] = {"honest", "swap-qwen", NULL};
	write_config(second, 0);
	cr_assert_eq(kill(serve.pid, SIGHUP), 0);
	cr_expect(log_has("1 relay-models kept, 1 added, 0 changed, 1 removed", 20000),
	          "no reload line in the log");
	cr_expect_gt(wait_runs(base, "swap-qwen", 0, 60000), 0, "the added relay never ran");
	long slow = runs_of(base, "honest-slow"), honest = runs_of(base, "honest");
	/* a run of the removed relay in flight may still end: then no more */
	cr_expect_gt(wait_runs(base, "honest", honest + 2, 60000), honest + 2,
	             "the kept relay stopped");
	long slow_after = runs_of(base, "honest-slow");
	cr_expect_leq(slow_after, slow + 1, "the removed relay went on: %ld runs, then %ld", slow,
	              slow_after);

	/* a broken file changes nothing, and says where */
	write_config(second, 1);
	cr_assert_eq(kill(serve.pid, SIGHUP), 0);
	cr_expect(log_has("reload refused, the running config stays", 20000),
	          "no refusal in the log");
	cr_expect(log_has("assay.yaml:1", 1000), "the refusal names no FILE:LINE");
	long swap = runs_of(base, "swap-qwen");
	cr_expect_gt(wait_runs(base, "swap-qwen", swap + 1, 60000), swap + 1,
	             "serve stopped auditing after a refused reload");
	cr_expect_eq(kill(serve.pid, 0), 0, "serve died of the reload");
	cr_expect_eq(child_stop(&serve, 20000), 0, "serve did not stop cleanly");
}

/* A relay whose entry does not load (its key's variable unset) is shown as
 * not running, with its FILE:LINE; the others run. */
Test(reload, a_broken_relay_is_shown_not_running, .init = setup, .fini = teardown, .timeout = 120)
{
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	unsetenv("ASSAY_TEST_RELOAD_UNSET");
	cr_assert_eq(test_write_file(cfg,
	                             "listen: 127.0.0.1:0\ndatabase: %s\ninterval: 1s\n"
	                             "timeout: 10s\ntime_scale: 0.05\nrelays:\n"
	                             "  - {name: honest, base_url: '%s', models: [gpt-4o]}\n"
	                             "  - name: keyless\n    base_url: '%s'\n"
	                             "    key_env: ASSAY_TEST_RELOAD_UNSET\n"
	                             "    models: [gpt-4o]\n",
	                             db, fixture_url(&env.world, "honest"),
	                             fixture_url(&env.world, "honest-slow")),
	             0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	char base[300];
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	cr_expect_gt(wait_runs(base, "honest", 0, 60000), 0, "the good relay never ran");
	char url[400];
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	json_t *root = http_get_json(url);
	json_t *e = root ? entry_of(root, "keyless") : NULL;
	cr_assert_not_null(e, "the broken relay is not on the board");
	const char *why = json_string_value(json_object_get(e, "not_running"));
	cr_expect(why != NULL && strstr(why, "assay.yaml:10:") != NULL &&
	              strstr(why, "ASSAY_TEST_RELOAD_UNSET") != NULL,
	          "not_running: %s", why ? why : "(none)");
	cr_expect_eq(json_integer_value(json_object_get(e, "runs")), 0);
	json_decref(root);
	/* and the page says it */
	snprintf(url, sizeof url, "%s", base);
	long status = 0;
	char *page = http_get(url, &status, NULL);
	cr_expect(page != NULL && strstr(page, "not running") != NULL, "the page does not say it");
	free(page);
	cr_expect_eq(child_stop(&serve, 20000), 0);
}
