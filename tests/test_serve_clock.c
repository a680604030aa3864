/*
 * serve's simulated wall clock (base/util.h wall_clock_simulate, `assay
 * serve --clock-scale/--clock-start`, for bench/serve_sim.py): untouched,
 * wall_ms() is the system's clock; simulated, it starts where it is told
 * and runs as fast as it is told while now_us() does not; serve refuses a
 * bad scale or date, and a serve started on another date stores its runs
 * and counts its budgets' day there.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "tests/helpers.h"

/* Criterion runs each test in a process of its own: one test's clock is
 * not another's. */
Test(serve_clock, the_system_clock_unless_told)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t real = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	int64_t w = wall_ms();
	cr_expect(w - real >= 0 && w - real < 1000, "wall_ms %lld, the system %lld", (long long)w,
	          (long long)real);
}

Test(serve_clock, simulated_from_a_start_at_a_scale)
{
	const int64_t start = 1793491200000LL; /* 2026-11-01T00:00:00Z */
	wall_clock_simulate(start, 1000);
	int64_t a = wall_ms(), t0 = now_us();
	cr_expect(a - start >= 0 && a - start < 2000, "started at %lld", (long long)(a - start));
	while (now_us() - t0 < 50000) /* 50 ms of real time, by the monotonic clock */
		;
	int64_t b = wall_ms(), real_ms = (now_us() - t0) / 1000;
	/* 1,000 times the real time, give or take the millisecond steps */
	cr_expect(b - a >= 1000 * (real_ms - 2) && b - a <= 1000 * (real_ms + 2),
	          "%lld simulated ms in %lld real", (long long)(b - a), (long long)real_ms);
}

static int
serve_refuses(const char *const *extra, const char *says)
{
	char *argv[8] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c",
	                 (char *)"/nonexistent.yaml"};
	int n = 4;
	for (; *extra != NULL && n < 7; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 10000, &out, &err);
	int found = err != NULL && strstr(err, says) != NULL;
	cr_expect(found, "stderr: %s", err ? err : "(none)");
	free(out);
	free(err);
	return rc;
}

Test(serve_clock, bad_options_are_refused)
{
	const char *const scale[] = {"--clock-scale", "0", NULL};
	cr_expect_eq(serve_refuses(scale, "--clock-scale '0' is a number above 0"), 2);
	const char *const junk[] = {"--clock-scale", "fast", NULL};
	cr_expect_eq(serve_refuses(junk, "--clock-scale 'fast'"), 2);
	const char *const date[] = {"--clock-start", "2026-13-01", NULL};
	cr_expect_eq(serve_refuses(date, "--clock-start '2026-13-01' is a UTC date"), 2);
	const char *const half[] = {"--clock-start", "2026-11-01T12:00", NULL};
	cr_expect_eq(serve_refuses(half, "--clock-start '2026-11-01T12:00'"), 2);
	/* a day February lacks is not carried into March */
	const char *const feb[] = {"--clock-start", "2026-02-31", NULL};
	cr_expect_eq(serve_refuses(feb, "--clock-start '2026-02-31' is a UTC date"), 2);
}

static const char *const need[] = {"honest", NULL};

Test(serve_clock, a_serve_on_another_date_stores_its_runs_there, .timeout = 120)
{
	struct test_world env;
	test_world_start(&env, "serve-clock", "tests/data/serve_alerts/world.yaml", need, "0.05");
	char cfg[300], db[300], base[300];
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	cr_assert_eq(test_write_file(cfg,
	                             "listen: 127.0.0.1:0\ndatabase: %s\ninterval: 1s\n"
	                             "timeout: 10s\ntime_scale: 0.05\nrelays:\n"
	                             "  - {name: honest, base_url: '%s', models: [gpt-4o],"
	                             " budget: {tokens_per_day: 100000}}\n",
	                             db, fixture_url(&env.world, "honest")),
	             0);
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"serve",
	                (char *)"-c",
	                cfg,
	                (char *)"--clock-start",
	                (char *)"2026-11-01T12:00:00Z",
	                NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	cr_expect_geq(test_wait_board_runs(base, "honest", 1, 60000), 1);
	json_t *e = test_board_entry(base, "honest");
	int64_t last = (int64_t)json_integer_value(json_object_get(e, "last_run_ms"));
	const int64_t noon = 1793534400000LL; /* 2026-11-01T12:00:00Z */
	cr_expect(last >= noon && last < noon + 120000, "the run was at %lld ms", (long long)last);
	json_decref(e);
	char url[400];
	snprintf(url, sizeof url, "%sapi/v1/spend", base);
	json_t *s = http_get_json(url);
	cr_expect_str_eq(json_str(s, "day"), "2026-11-01");
	json_decref(s);
	cr_expect_eq(child_stop(&serve, 20000), 0);
	cr_expect_eq(test_world_stop(&env), 0);
}
