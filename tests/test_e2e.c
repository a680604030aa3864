/*
 * End to end: the fixture world, `assay serve` and `assay audit` together.
 *
 * The honest relay must come out genuine and the substituting one
 * misbehaving with a substitution finding, on the page, in the JSON and in
 * audit's exit status. Everything on ephemeral loopback ports; every wait is
 * a polled condition with a bound.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

static const char *const need[] = {"official", "honest-relay", "swap-relay", NULL};

static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "e2e", "fixtures/demo.yaml", need, "0.05");
}

static void
teardown(void)
{
	cr_expect_eq(test_world_stop(&env), 0, "the fixture did not stop cleanly on SIGTERM");
}

/* Both relays in /api/v1/relays, each with a verdict. */
static int
both_have_verdicts(const json_t *root, void *arg)
{
	(void)arg;
	json_t *relays = json_object_get(root, "relays");
	size_t i, done = 0;
	json_t *r;
	json_array_foreach(relays, i, r)
	{
		if (!json_is_null(json_object_get(r, "verdict")))
			done++;
	}
	return json_array_size(relays) == 2 && done == 2;
}

static json_t *
relay_entry(const json_t *root, const char *name)
{
	return json_find(json_object_get(root, "relays"), "relay", name);
}

static int
has_finding(const json_t *entry, const char *class)
{
	return json_find(json_object_get(entry, "findings"), "class", class) != NULL;
}

/* The scratch folder's assay.yaml for serve (its path into cfg, 300 bytes):
 * the database assay.db beside it (into db, 300 bytes), then the rest of
 * the file after "database:", formatted. */
static void write_serve_config(char *cfg, char *db, const char *fmt, ...) PRINTFLIKE(3, 4);

static void
write_serve_config(char *cfg, char *db, const char *fmt, ...)
{
	snprintf(cfg, 300, "%s/assay.yaml", env.dir);
	snprintf(db, 300, "%s/assay.db", env.dir);
	char rest[2000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rest, sizeof rest, fmt, ap);
	va_end(ap);
	cr_assert_eq(
	    test_write_file(cfg, "title: e2e\nlisten: 127.0.0.1:0\ndatabase: %s\n%s", db, rest), 0,
	    "cannot write %s", cfg);
}

/* assay serve -c cfg, its URL in base. */
static void
serve_at(struct child *serve, const char *cfg, char *base, size_t n)
{
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", (char *)cfg,
	                NULL};
	cr_assert_eq(serve_start(serve, argv, base, n), 0, "serve -c %s printed no URL", cfg);
}

Test(e2e, serve_shows_honest_genuine_and_swap_misbehaving, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char cfg[300], db[300];
	write_serve_config(cfg, db,
	                   "interval: 1h\ntimeout: 20s\nrelays:\n"
	                   "  - name: honest-relay\n    base_url: %s\n    models: [gpt-4o]\n"
	                   "  - name: swap-relay\n    base_url: %s\n    models: [gpt-4o]\n",
	                   fixture_url(&env.world, "honest-relay"),
	                   fixture_url(&env.world, "swap-relay"));

	struct child serve;
	char base[300];
	serve_at(&serve, cfg, base, sizeof base);

	char url[400];
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	json_t *root = http_wait_json(url, 60000, both_have_verdicts, NULL);
	cr_assert_not_null(root, "no verdicts within 60 s");
	json_t *honest = relay_entry(root, "honest-relay");
	json_t *swap = relay_entry(root, "swap-relay");
	cr_assert_not_null(honest);
	cr_assert_not_null(swap);
	cr_expect_str_eq(json_string_value(json_object_get(honest, "verdict")), "genuine",
	                 "honest relay: %s", json_string_value(json_object_get(honest, "reason")));
	cr_expect_str_eq(json_string_value(json_object_get(swap, "verdict")), "misbehaving");
	cr_expect(has_finding(swap, "substitution"), "no substitution finding for swap-relay");
	cr_expect(!has_finding(honest, "substitution"), "honest relay accused of substitution");
	cr_expect_gt(json_integer_value(json_object_get(honest, "ok_requests")), 0);
	json_decref(root);

	/* the page shows both, with their verdicts, escaped and complete */
	long status = 0;
	char *page = http_get(base, &status, NULL);
	cr_assert_not_null(page);
	cr_expect_eq(status, 200);
	cr_expect_not_null(strstr(page, "honest-relay"));
	cr_expect_not_null(strstr(page, "swap-relay"));
	cr_expect_not_null(strstr(page, "v-genuine\">genuine"));
	cr_expect_not_null(strstr(page, "v-misbehaving\">misbehaving"));
	cr_expect_not_null(strstr(page, "</html>"));
	free(page);

	cr_expect_eq(child_stop(&serve, 10000), 0, "serve did not exit 0 on SIGTERM");
	cr_expect_eq(access(db, F_OK), 0, "no database written");
}

static int
audit(const char *base_url, int json, char **out)
{
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"audit",
	                (char *)"--base-url",
	                (char *)base_url,
	                (char *)"--model",
	                (char *)"gpt-4o",
	                json ? (char *)"--json" : NULL,
	                NULL};
	char *err = NULL;
	int rc = run_capture(argv, 60000, out, &err);
	free(err);
	return rc;
}

Test(e2e, audit_exit_status_and_json, .init = setup, .fini = teardown, .timeout = 120)
{
	char *out = NULL;
	cr_expect_eq(audit(fixture_url(&env.world, "honest-relay"), 0, &out), 0,
	             "honest relay not genuine:\n%s", out);
	cr_expect_not_null(strstr(out, "verdict: genuine"));
	free(out);

	cr_expect_eq(audit(fixture_url(&env.world, "swap-relay"), 0, &out), 1,
	             "swap relay not misbehaving:\n%s", out);
	cr_expect_not_null(strstr(out, "substitution"));
	free(out);

	cr_expect_eq(audit(fixture_url(&env.world, "swap-relay"), 1, &out), 1);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "--json output does not parse:\n%s", out);
	free(out);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "misbehaving");
	json_t *findings = json_object_get(j, "findings");
	cr_assert(json_is_array(findings));
	int found = 0;
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f)
	{
		cr_expect(json_is_number(json_object_get(f, "confidence")));
		cr_expect(json_is_object(json_object_get(f, "evidence")));
		if (strcmp(json_string_value(json_object_get(f, "class")), "substitution") == 0 &&
		    json_number_value(json_object_get(f, "confidence")) >= 0.99)
			found = 1;
	}
	cr_expect(found, "no confident substitution finding in --json");
	cr_expect_gt(json_integer_value(json_object_get(j, "tokens_spent")), 0);
	json_decref(j);
}

Test(e2e, audit_of_dead_endpoint_is_unreachable, .timeout = 60)
{
	/* a loopback port nobody listens on */
	int port = test_free_port();
	cr_assert_gt(port, 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
	char *out = NULL;
	cr_expect_eq(audit(url, 1, &out), 3);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "unreachable");
	json_decref(j);
	free(out);
}

/* The swap relay's entry in /api/v1/relays once its last run is after
 * since_ms, wall clock (a run of this serve, not one read back from the
 * database). */
struct run_after {
	long long since_ms;
};

static int
swap_ran_after(const json_t *root, void *arg)
{
	const struct run_after *ra = arg;
	json_t *e = relay_entry(root, "swap-relay");
	return e != NULL && json_int(e, "last_run_ms") > ra->since_ms;
}

static json_t *
wait_for_run_after(const char *url, long long since_ms, int timeout_ms)
{
	struct run_after ra = {since_ms};
	json_t *root = http_wait_json(url, timeout_ms, swap_ran_after, &ra);
	if (root == NULL)
		return NULL;
	json_t *e = json_incref(relay_entry(root, "swap-relay"));
	json_decref(root);
	return e;
}

/* "seen in K of the last N runs": K, or 0 when the reason does not say. */
static long
seen_in(const json_t *entry)
{
	const char *reason = json_string_value(json_object_get(entry, "reason"));
	const char *p = reason ? strstr(reason, "seen in ") : NULL;
	return p ? strtol(p + 8, NULL, 10) : 0;
}

Test(e2e, kill_9_and_restart_keep_the_evidence_window, .init = setup, .fini = teardown,
     .timeout = 180)
{
	char cfg[300], db[300];
	write_serve_config(cfg, db,
	                   "interval: 1s\ntimeout: 20s\ntime_scale: 0.05\nrelays:\n"
	                   "  - name: swap-relay\n    base_url: %s\n    models: [gpt-4o]\n",
	                   fixture_url(&env.world, "swap-relay"));

	struct child serve;
	char base[300], url[400];
	serve_at(&serve, cfg, base, sizeof base);
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	/* two runs in the window: "seen in 2 of the last 2" */
	long before = 0;
	long long deadline = test_now_ms() + 90000;
	while (before < 2 && test_now_ms() < deadline) {
		json_t *e = wait_for_run_after(url, 0, 1000);
		before = e ? seen_in(e) : 0;
		json_decref(e);
	}
	cr_assert_geq(before, 2, "the window never held two runs");
	/* kill -9: nothing is flushed, nothing said */
	kill(serve.pid, SIGKILL);
	cr_expect_neq(child_wait(&serve, 10000), -2, "serve outlived SIGKILL");
	long long restarted = wall_ms(); /* runs are stamped with wall time */

	serve_at(&serve, cfg, base, sizeof base);
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	json_t *e = wait_for_run_after(url, restarted, 60000);
	cr_assert_not_null(e, "no run after the restart");
	/* the first run after the restart counts the ones before it */
	cr_expect_gt(seen_in(e), before, "after the restart: %s",
	             json_string_value(json_object_get(e, "reason")));
	cr_expect_str_eq(json_string_value(json_object_get(e, "verdict")), "misbehaving");
	json_decref(e);
	cr_expect_eq(child_stop(&serve, 10000), 0, "serve did not exit 0 on SIGTERM");
}

/* --budget: the audit stops sending before the tokens billed would pass
 * it, lists what it did not send, and says so in the verdict's reason;
 * --budget 0 sends everything. */
Test(e2e, audit_budget_caps_what_is_billed, .init = setup, .fini = teardown, .timeout = 120)
{
	const char *url = fixture_url(&env.world, "official");
	char *small[] = {(char *)test_binary("assay"),
	                 (char *)"audit",
	                 (char *)"--base-url",
	                 (char *)url,
	                 (char *)"--model",
	                 (char *)"gpt-4o",
	                 (char *)"--budget",
	                 (char *)"600",
	                 (char *)"--json",
	                 NULL};
	char *out = NULL, *err = NULL;
	run_capture(small, 60000, &out, &err);
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "--json output does not parse:\n%s\n%s", out, err);
	free(err);
	free(out);
	long spent = (long)json_integer_value(json_object_get(j, "tokens_spent"));
	long unsent = (long)json_integer_value(json_object_get(j, "unsent_for_budget"));
	long requests = (long)json_integer_value(json_object_get(j, "requests"));
	cr_expect_gt(spent, 0);
	cr_expect_leq(spent, 600, "billed %ld tokens past a budget of 600", spent);
	cr_expect_eq(json_integer_value(json_object_get(j, "budget_tokens")), 600);
	cr_expect_gt(unsent, 0, "a 600-token budget left nothing unsent");
	cr_expect_str_neq(json_string_value(json_object_get(j, "verdict")), "misbehaving");
	const char *reason = json_string_value(json_object_get(j, "reason"));
	cr_expect(strstr(reason, "budget") != NULL ||
	              strcmp(json_string_value(json_object_get(j, "verdict")), "genuine") != 0,
	          "a genuine verdict of a cut audit does not say so: %s", reason);
	json_t *sk = json_object_get(j, "skipped"), *e;
	size_t i, said = 0;
	json_array_foreach(sk, i, e) said +=
	    strstr(json_string_value(json_object_get(e, "reason")), "budget of 600 tokens") != NULL;
	cr_expect_eq((long)said, unsent);
	json_decref(j);

	small[7] = (char *)"0";
	run_capture(small, 60000, &out, &err);
	free(err);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "--json output does not parse:\n%s", out);
	free(out);
	cr_expect_eq(json_integer_value(json_object_get(j, "unsent_for_budget")), 0);
	cr_expect(json_is_null(json_object_get(j, "budget_tokens")));
	cr_expect_gt(json_integer_value(json_object_get(j, "requests")), requests);
	json_decref(j);
}
