/*
 * store_scale: the shared store at scale (issue 20): N relay-models probed
 * once a simulated minute from R regions, each region an agent with its
 * own role (row-level security on, as in production), written through the
 * agents' path (store_agent_save_run) to PostgreSQL in a private cluster
 * (tests/pg_helpers.c: initdb on a unix socket, fsync off); then the hub's
 * fold of them (store_each_agent_run into the quorum) and a retention
 * sweep. The same on SQLite for one region.
 *
 * A simulated year is not written (5 billion runs): M simulated minutes
 * are, and the year is extrapolated from them, labelled as such: raw runs
 * are kept a day (store_retention), so the steady state holds one day of
 * them. Prints one JSON object per engine on stdout.
 *
 * Then the steady state under the default retention, measured at K
 * relay-models (a day and two hours of runs, retention swept each
 * simulated hour) and scaled to N by arithmetic; and the ledger's fold
 * of D days of one relay-model's runs from R regions (scoring/ledger.h).
 *
 *   store_scale [--targets N] [--regions R] [--minutes M] [--engine pg|sqlite|both]
 *               [--steady K] [--ledger-days D]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "scoring/ledger.h"
#include "scoring/quorum.h"
#include "scoring/verdict.h"
#include "storage/store.h"
#include "tests/pg_helpers.h"

static const struct probe_def ping = {.id = (char *)"ping", .samples = 1};
static const struct probe_def tokfp = {.id = (char *)"tokfp", .samples = 1};

/* One run of relay-<t> from a region at at_ms: two requests, the second
 * failing one time in 20. */
static int64_t
save(struct store *s, const char *region, int t, int64_t at_ms)
{
	char relay[32];
	snprintf(relay, sizeof relay, "relay-%05d", t);
	struct audit_run run = {0};
	struct audit_item items[2] = {0};
	struct observation obs[2];
	run.target.relay = relay;
	run.target.model = (char *)"gpt-4o";
	run.started_ms = at_ms;
	run.finished_ms = at_ms + 900;
	int fail = (t + (int)(at_ms / 60000)) % 20 == 0;
	for (int i = 0; i < 2; i++) {
		observation_init(&obs[i]);
		obs[i].started_ms = at_ms;
		obs[i].http_status = i == 1 && fail ? 503 : 200;
		obs[i].error = i == 1 && fail ? ERR_UPSTREAM : ERR_NONE;
		obs[i].ttft_us = 250000 + t % 1000;
		obs[i].total_us = 800000;
		obs[i].prompt_tokens = 21;
		obs[i].completion_tokens = 5;
		items[i].probe = i ? &tokfp : &ping;
		items[i].obs = &obs[i];
	}
	run.items = items;
	run.n_items = 2;
	struct assessment a;
	assessment_init(&a);
	a.requests = 2;
	a.ok_requests = fail ? 1 : 2;
	a.ttft_ms = 250;
	a.tokens_spent = 52;
	assessment_decide(&a);
	int64_t id = store_agent_save_run(s, region, &run, &a);
	assessment_release(&a);
	for (int i = 0; i < 2; i++)
		observation_release(&obs[i]);
	return id;
}

static void
fold_cb(const struct store_agent_run *r, void *arg)
{
	void **ctx = arg;
	quorum_observe(ctx[0], r->region, r->relay, r->model, r->finished_ms, r->ok_requests == 0,
	               r->error_class, r->ttft_ms);
	*(int64_t *)ctx[1] = r->id;
}

static int
count_cb(const struct quorum_view *v, void *arg)
{
	(void)v;
	(*(long *)arg)++;
	return 0;
}

/* The bench on one engine: hub is the migrated store (owner), agents[r]
 * each region's connection (the same store on SQLite). */
static int
run_bench(const char *engine, struct store *hub, struct store **agents, int regions, int targets,
          int minutes)
{
	static const char *const names[] = {"eu", "us", "ap", "sa", "af", "me", "oc", "na"};
	const int64_t t0 = 1767225600000LL; /* 2026-01-01 */
	struct store_stats empty;
	if (store_stats(hub, &empty) != 0)
		return -1;
	int64_t start = now_us();
	long runs = 0;
	for (int m = 0; m < minutes; m++)
		for (int r = 0; r < regions; r++)
			for (int t = 0; t < targets; t++) {
				if (save(agents[r], names[r], t, t0 + m * 60000LL + t) < 0) {
					fprintf(stderr, "store_scale: %s: %s\n", engine,
					        store_last_error(agents[r]));
					return -1;
				}
				runs++;
			}
	double write_s = (double)(now_us() - start) / 1e6;
	struct store_stats st;
	if (store_stats(hub, &st) != 0)
		return -1;
	/* the hub's fold: every run read back and folded into the quorum */
	struct quorum *q = quorum_new(regions > 1 ? 2 : 1, regions, 3 * 60000);
	int64_t after = 0;
	void *ctx[2] = {q, &after};
	start = now_us();
	for (;;) {
		int64_t before = after;
		if (store_each_agent_run(hub, after, 5000, fold_cb, ctx) != 0)
			return -1;
		if (after == before)
			break;
	}
	long declared = 0;
	quorum_evaluate(q, t0 + minutes * 60000LL, count_cb, &declared);
	double fold_s = (double)(now_us() - start) / 1e6;
	quorum_free(q);
	/* retention: the day's raw rows are inside the window; a sweep a day
	 * later deletes them in bounded steps */
	struct store_retention ret;
	store_retention_default(&ret);
	start = now_us();
	long deleted = 0, n;
	int64_t later = t0 + minutes * 60000LL + 2 * 86400000LL;
	while ((n = store_retention_step(hub, &ret, later, 2000)) > 0)
		deleted += n;
	double retention_s = (double)(now_us() - start) / 1e6;
	/* what the runs added: an empty PostgreSQL database is some 7 MB of
	 * catalog */
	double bytes_per_run =
	    runs > 0 ? (double)(st.file_bytes - empty.file_bytes) / (double)runs : 0;
	double day_runs = 1440.0 * targets * regions;
	printf("{\"engine\": \"%s\", \"targets\": %d, \"regions\": %d, \"simulated_minutes\": %d,"
	       " \"runs\": %ld, \"write_runs_per_s\": %.0f, \"observations_per_run\": 2,"
	       " \"database_bytes\": %lld, \"bytes_per_run\": %.0f,"
	       " \"fold_runs_per_s\": %.0f, \"retention_rows_per_s\": %.0f,"
	       " \"extrapolated\": {\"runs_a_day\": %.0f, \"write_runs_per_s_needed\": %.1f,"
	       " \"raw_day_bytes\": %.0f, \"note\": \"raw runs are kept one day; a year adds only"
	       " the hub's rollups and outages\"}}\n",
	       engine, targets, regions, minutes, runs, runs / write_s, (long long)st.file_bytes,
	       bytes_per_run, runs / fold_s, deleted / (retention_s > 0 ? retention_s : 1e-9),
	       day_runs, day_runs / 86400.0, day_runs * bytes_per_run);
	fflush(stdout);
	return 0;
}

/* The steady state under the default retention (raw runs a day), written
 * at a reduced count: k relay-models from each region, one run a minute
 * for a day and two hours, a retention sweep every simulated hour (its
 * clock moved with the runs', as serve's timer would run it). What the
 * database holds then, over the empty one, per relay-model, times
 * `targets` is the steady state at full size: arithmetic, said so. */
static int
steady_bench(const char *engine, struct store *hub, struct store **agents, int regions, int k,
             int targets)
{
	static const char *const names[] = {"eu", "us", "ap", "sa", "af", "me", "oc", "na"};
	const int64_t t0 = 1767225600000LL + 30 * 86400000LL; /* 2026-01-31 */
	struct store_stats empty, st;
	if (store_stats(hub, &empty) != 0)
		return -1;
	struct store_retention ret;
	store_retention_default(&ret);
	int minutes = (int)(ret.raw_ms / 60000) + 120;
	int64_t start = now_us(), ret_us = 0;
	long runs = 0, deleted = 0;
	for (int m = 0; m < minutes; m++) {
		for (int r = 0; r < regions; r++)
			for (int t = 0; t < k; t++, runs++)
				if (save(agents[r], names[r], 20000 + t, t0 + m * 60000LL + t) <
				    0) {
					fprintf(stderr, "store_scale: %s: %s\n", engine,
					        store_last_error(agents[r]));
					return -1;
				}
		if (m % 60 == 59) {
			int64_t r0 = now_us();
			long n;
			while ((n = store_retention_step(hub, &ret, t0 + m * 60000LL, 2000)) > 0)
				deleted += n;
			if (n < 0)
				return -1;
			ret_us += now_us() - r0;
		}
	}
	double s_taken = (double)(now_us() - start) / 1e6;
	if (store_stats(hub, &st) != 0)
		return -1;
	/* SQLite's write-ahead log is bounded by its checkpoints, not by the
	 * relay-models: told apart */
	int64_t grown = st.file_bytes - empty.file_bytes;
	double per_target = (double)grown / k;
	printf("{\"engine\": \"%s\", \"steady_state\": {\"relay_models_written\": %d,"
	       " \"regions\": %d, \"simulated_minutes\": %d, \"runs\": %ld,"
	       " \"retention_deleted\": %ld, \"write_s\": %.1f, \"retention_s\": %.2f,"
	       " \"measured_bytes\": %lld, \"wal_bytes\": %lld,"
	       " \"measured_bytes_per_relay_model\": %.0f,"
	       " \"arithmetic\": {\"relay_models\": %d, \"steady_bytes\": %.0f,"
	       " \"note\": \"measured bytes per relay-model times relay_models\"}}}\n",
	       engine, k, regions, minutes, runs, deleted, s_taken, (double)ret_us / 1e6,
	       (long long)grown, (long long)st.wal_bytes, per_target, targets,
	       per_target * targets);
	fflush(stdout);
	return 0;
}

/* This thread's CPU time in microseconds: the machine is shared, and a
 * wall clock would time the other work on it too. */
static int64_t
thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The ledger's fold (scoring/ledger.h) of `days` of one relay-model's
 * runs, one a minute from each region: every run genuine but one in 97
 * that bills 23% more output tokens (a finding short of a verdict). The
 * fold alone is timed (CPU time), not the assessments' making; after the
 * first day the window is full and a fold costs what it will all year, so
 * a year's is that day's cost times 365 when fewer days are run. */
static void
ledger_bench(int regions, int days)
{
	struct ledger *l = ledger_new(0);
	const int64_t t0 = 1767225600000LL;
	int64_t fold_us = 0, steady_us = 0;
	long folds = 0, steady_folds = 0;
	for (long m = 0; m < (long)days * 1440; m++)
		for (int r = 0; r < regions; r++, folds++) {
			struct assessment a;
			assessment_init(&a);
			a.requests = 2;
			a.ok_requests = 2;
			a.ttft_ms = 250;
			if (folds % 97 == 0)
				assessment_add(&a, CLASS_USAGE_INFLATION, 0.9,
				               "completion_tokens 31", "completion_tokens 38",
				               "tokfp", NULL,
				               "the relay bills %d%% more output tokens", 23);
			assessment_decide(&a);
			struct ledger_entry entry;
			int64_t f0 = thread_cpu_us();
			ledger_fold(l, "relay-00000", "gpt-4o", t0 + m * 60000 + r * 1000, &a,
			            &entry);
			int64_t took = thread_cpu_us() - f0;
			fold_us += took;
			if (m >= 1440) {
				steady_us += took;
				steady_folds++;
			}
			assessment_release(&a);
		}
	ledger_free(l);
	double per = steady_folds ? (double)steady_us / steady_folds
	             : folds      ? (double)fold_us / folds
	                          : 0;
	printf("{\"ledger_fold\": {\"simulated_days\": %d, \"regions\": %d, \"folds\": %ld,"
	       " \"fold_cpu_s\": %.2f, \"cpu_us_per_fold_window_full\": %.2f,"
	       " \"year_cpu_s\": %.1f, \"year_is\": \"%s\"}}\n",
	       days, regions, folds, (double)fold_us / 1e6, per,
	       days >= 365 ? (double)fold_us / 1e6 : per * 525600.0 * regions / 1e6,
	       days >= 365 ? "measured"
	                   : "arithmetic: cpu_us_per_fold_window_full x 525,600 x regions");
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	int targets = 10000, regions = 5, minutes = 1, steady = 10, ledger_days = 3;
	const char *engine = "both";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--targets") == 0)
			targets = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--regions") == 0)
			regions = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--minutes") == 0)
			minutes = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--engine") == 0)
			engine = argv[i + 1];
		else if (strcmp(argv[i], "--steady") == 0)
			steady = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--ledger-days") == 0)
			ledger_days = atoi(argv[i + 1]);
	}
	if (targets < 1 || regions < 1 || regions > 8 || minutes < 1 || steady < 0 ||
	    ledger_days < 0) {
		fputs("usage: store_scale [--targets N] [--regions 1-8] [--minutes M]"
		      " [--engine pg|sqlite|both] [--steady K] [--ledger-days D]\n",
		      stderr);
		return 2;
	}
	if (ledger_days > 0)
		ledger_bench(regions, ledger_days);
	char err[512];
	int status = 0;
	if (strcmp(engine, "sqlite") == 0 || strcmp(engine, "both") == 0) {
		char dir[] = "/tmp/assay-store-scale-XXXXXX", path[128];
		if (mkdtemp(dir) == NULL)
			return 1;
		snprintf(path, sizeof path, "%s/assay.db", dir);
		struct store *s = store_open(path, 0, err, sizeof err);
		if (s == NULL) {
			fprintf(stderr, "store_scale: %s\n", err);
			return 1;
		}
		struct store *one[1] = {s};
		status |= run_bench("sqlite", s, one, 1, targets, minutes) != 0;
		if (steady > 0 && status == 0)
			status |= steady_bench("sqlite", s, one, 1, steady, targets) != 0;
		store_close(s);
		char cmd[200];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
	if (strcmp(engine, "pg") == 0 || strcmp(engine, "both") == 0) {
		if (test_pg_bindir() == NULL) {
			fprintf(stderr, "store_scale: %s\n", test_pg_skip_reason());
			return 1;
		}
		if (test_pg_start() != 0)
			return 1;
		char url[512];
		struct store *hub = NULL, *agents[8] = {0};
		if (test_pg_database("scale", url, sizeof url) != 0 ||
		    (hub = store_open(url, 0, err, sizeof err)) == NULL) {
			fprintf(stderr, "store_scale: %s\n", err);
			status = 1;
		}
		static const char *const names[] = {"eu", "us", "ap", "sa", "af", "me", "oc", "na"};
		for (int r = 0; hub != NULL && status == 0 && r < regions; r++) {
			char role[64], as[600];
			snprintf(role, sizeof role, "scale_%s", names[r]);
			struct store_options o = {.agent = 1};
			test_pg_url_as(url, role, as, sizeof as);
			if (store_add_agent(hub, role, names[r], err, sizeof err) != 0 ||
			    (agents[r] = store_open_with(as, &o, err, sizeof err)) == NULL) {
				fprintf(stderr, "store_scale: %s\n", err);
				status = 1;
			}
		}
		if (status == 0)
			status |=
			    run_bench("postgres", hub, agents, regions, targets, minutes) != 0;
		if (status == 0 && steady > 0)
			status |=
			    steady_bench("postgres", hub, agents, regions, steady, targets) != 0;
		for (int r = 0; r < regions; r++)
			store_close(agents[r]);
		store_close(hub);
		test_pg_drop();
		test_pg_stop();
	}
	return status;
}
