/*
 * serve's daily budgets (issue 18): a relay's runs go while the day's
 * tokens and the most a run may take fit its cap, then are held back,
 * visibly (the board's not_running says why); a restart reads the day's
 * spend back from the database and keeps holding; a relay without a cap
 * runs on.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

static const char *const need[] = {"honest", "honest-slow", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "budget", "tests/data/detect/world.yaml", need, "0.05");
}

static void
teardown(void)
{
	cr_expect_eq(test_world_stop(&env), 0, "the fixture did not stop cleanly on SIGTERM");
}

static void
start(struct child *serve, const char *cfg, char *base, size_t n)
{
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", (char *)cfg,
	                NULL};
	cr_assert_eq(serve_start(serve, argv, base, n), 0);
}

Test(budget, a_relay_is_held_back_once_its_day_is_spent, .init = setup, .fini = teardown,
     .timeout = 180)
{
	char cfg[300], db[300], base[300];
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	/* a default audit of gpt-4o takes about 1,950 tokens and may take
	 * 3,000: two runs fit 6,000, a third could pass it */
	cr_assert_eq(test_write_file(cfg,
	                             "listen: 127.0.0.1:0\ndatabase: %s\ninterval: 1s\n"
	                             "timeout: 10s\ntime_scale: 0.05\nrelays:\n"
	                             "  - name: capped\n    base_url: '%s'\n"
	                             "    budget: {tokens_per_day: 6000}\n    models: [gpt-4o]\n"
	                             "  - {name: free, base_url: '%s', models: [gpt-4o]}\n",
	                             db, fixture_url(&env.world, "honest"),
	                             fixture_url(&env.world, "honest-slow")),
	             0);
	struct child serve;
	start(&serve, cfg, base, sizeof base);
	cr_assert_geq(test_wait_board_runs(base, "capped", 2, 60000), 2,
	              "the capped relay did not run twice");
	/* several intervals on: the free relay goes on, the capped one does not */
	long free_runs = test_board_runs(base, "free");
	cr_expect_geq(test_wait_board_runs(base, "free", free_runs + 3, 60000), free_runs + 3);
	cr_expect_eq(test_board_runs(base, "capped"), 2, "the capped relay ran past its budget");
	json_t *e = test_board_entry(base, "capped");
	const char *why = json_string_value(json_object_get(e, "not_running"));
	cr_expect(why != NULL && strstr(why, "budget") != NULL && strstr(why, "6000") != NULL,
	          "not_running: %s", why ? why : "(none)");
	long spent = (long)json_integer_value(json_object_get(e, "tokens_spent"));
	cr_expect(spent > 0 && spent <= 6000, "spent %ld tokens of a 6000 budget", spent);
	json_decref(e);
	cr_expect_eq(child_stop(&serve, 20000), 0);

	/* a restart reads the day's spend back: still held */
	start(&serve, cfg, base, sizeof base);
	free_runs = test_board_runs(base, "free");
	cr_expect_geq(test_wait_board_runs(base, "free", free_runs + 3, 60000), free_runs + 3);
	cr_expect_eq(test_board_runs(base, "capped"), 2, "a restart forgot the day's spend");
	cr_expect_eq(child_stop(&serve, 20000), 0);
}
