/*
 * hub_fill: the hub's database for the page-latency bench (bench/hub.sh),
 * written through the product's own store API, never by hand-written SQL:
 * serve's runs with store_save_run() (its observations and rollups, as
 * `assay serve` writes them) and the agents' runs with
 * store_agent_save_run(), each region on PostgreSQL as its own role with
 * row-level security on (store_add_agent), as `assay agent` writes them.
 *
 *   hub_fill pg-start              start a private PostgreSQL cluster
 *                                  (tests/pg_helpers.c) with one database;
 *                                  prints "URL DIR"; the server keeps
 *                                  running after this exits
 *   hub_fill pg-stop DIR           stop that cluster and remove DIR
 *   hub_fill fill DB [--relays N] [--models M] [--regions R] [--days D]
 *                                  D days of serve's history for N x M
 *                                  relay-models (one run a day, and one
 *                                  every 3 hours over the last 12), and one
 *                                  run a region a relay-model in the last
 *                                  two minutes; prints what it wrote
 *   hub_fill live DB [--relays N] [--models M] [--regions R] [--seconds S]
 *                                  the agents at full rate for S seconds:
 *                                  each region's run of each relay-model
 *                                  once a minute (N x M x R a minute,
 *                                  spread evenly), or until SIGTERM; prints
 *                                  the rate kept
 *   hub_fill names [--relays N] [--models M]
 *                                  the config's relays section (YAML list)
 *                                  for those names, against base URL $1
 *
 * DB is a SQLite path or a postgres:// address. The relays are
 * relay-NNNN.example, the models the first M of a fixed list. A run has
 * two requests (a health probe and a token fingerprint), the second
 * failing one time in 20, as bench/store_scale.c's.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "scoring/timeline.h"
#include "scoring/verdict.h"
#include "storage/store.h"
#include "tests/pg_helpers.h"

static const char *const model_names[] = {"gpt-4o",    "gpt-4o-mini",   "claude-sonnet-4",
                                          "qwen3-32b", "deepseek-v3",   "gpt-4.1",
                                          "o3-mini",   "gemini-2.5-pro"};
#define N_MODEL_NAMES (sizeof model_names / sizeof model_names[0])
static const char *const region_names[] = {"eu", "us", "ap", "sa", "af", "me", "oc", "na"};

static const struct probe_def ping = {.id = (char *)"ping", .samples = 1};
static const struct probe_def tokfp = {.id = (char *)"tokfp", .samples = 1};

struct opts {
	int relays, models, regions, days, seconds;
};

static void
relay_name(char *out, size_t n, int relay)
{
	snprintf(out, n, "relay-%04d.example", relay);
}

/* One run of relay/model at at_ms, as serve (region NULL: its timeline
 * decides the verdict history, as serve's save_run) or an agent of region
 * writes it. k varies the failures and latencies; one relay in ten is
 * caught substituting, one in ten billing more tokens. 0 or -1. */
static int
save(struct store *s, struct timeline *tl, const char *region, int relay, int model, int64_t at_ms,
     long k)
{
	char name[40];
	relay_name(name, sizeof name, relay);
	struct audit_run run = {0};
	struct audit_item items[2] = {0};
	struct observation obs[2];
	run.target.relay = name;
	run.target.model = (char *)model_names[model];
	run.started_ms = at_ms;
	run.finished_ms = at_ms + 900;
	int fail = (relay * 7 + model + k) % 20 == 0;
	double ttft = 180 + (relay * 37 + model * 11 + k * 3) % 900;
	for (int i = 0; i < 2; i++) {
		observation_init(&obs[i]);
		obs[i].started_ms = at_ms;
		obs[i].http_status = i == 1 && fail ? 503 : 200;
		obs[i].error = i == 1 && fail ? ERR_UPSTREAM : ERR_NONE;
		obs[i].ttft_us = (int64_t)(ttft * 1000);
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
	a.ttft_ms = ttft;
	a.tokens_per_s = 40 + (relay + model) % 80;
	a.tokens_spent = 52;
	if (relay % 10 == 3)
		assessment_add(&a, CLASS_SUBSTITUTION, 0.999, "prompt_tokens 1017 (o200k_base)",
		               "prompt_tokens 1342 (qwen3)", "tokfp", "qwen3-32b",
		               "the tokenizer fingerprint is %s's", "qwen3");
	else if (relay % 10 == 7)
		assessment_add(&a, CLASS_USAGE_INFLATION, 0.87, "completion_tokens 31",
		               "completion_tokens 38", "tokfp", NULL,
		               "the relay bills %d%% more output tokens than were produced", 23);
	assessment_decide(&a);
	int64_t id;
	if (region != NULL) {
		id = store_agent_save_run(s, region, &run, &a);
	} else {
		json_t *j = assessment_to_json(&a);
		char *findings = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
		struct timeline_change ch;
		timeline_apply(tl, &run, &a, findings ? findings : "[]", &ch);
		struct store_ids ids;
		id = store_save_run(s, &run, &a, &ch, NULL, &ids);
		if (id >= 0)
			timeline_stored(tl, &ch, ids.segment_id, ids.incident_ids);
		free(findings);
		json_decref(j);
	}
	assessment_release(&a);
	for (int i = 0; i < 2; i++)
		observation_release(&obs[i]);
	if (id < 0) {
		fprintf(stderr, "hub_fill: %s: %s\n", region ? region : "serve",
		        store_last_error(s));
		return -1;
	}
	return 0;
}

/* The stores the agents write through: on PostgreSQL one connection per
 * region as its own role (created here by the owner, hub); on SQLite the
 * hub's own connection, the region only mapped. 0 or -1. */
static int
open_agents(const char *db, struct store *hub, int regions, struct store **agents)
{
	char err[512];
	for (int r = 0; r < regions; r++) {
		char role[64];
		snprintf(role, sizeof role, "bench_%s", region_names[r]);
		if (store_add_agent(hub, role, region_names[r], err, sizeof err) != 0) {
			fprintf(stderr, "hub_fill: %s\n", err);
			return -1;
		}
		if (!store_engine_is_postgres(hub)) {
			agents[r] = hub;
			continue;
		}
		char as[600];
		struct store_options o = {.agent = 1};
		test_pg_url_as(db, role, as, sizeof as);
		if ((agents[r] = store_open_with(as, &o, err, sizeof err)) == NULL) {
			fprintf(stderr, "hub_fill: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static void
close_agents(struct store *hub, int regions, struct store **agents)
{
	for (int r = 0; r < regions; r++)
		if (agents[r] != NULL && agents[r] != hub)
			store_close(agents[r]);
}

static int
fill(const char *db, const struct opts *o)
{
	char err[512];
	struct store *s = store_open(db, 0, err, sizeof err);
	if (s == NULL) {
		fprintf(stderr, "hub_fill: %s\n", err);
		return 1;
	}
	struct store *agents[8] = {0};
	int status = open_agents(db, s, o->regions, agents) != 0;
	struct timeline *tl = timeline_new();
	int64_t now = wall_ms(), t0 = now_us();
	long runs = 0;
	/* a day's run at noon for each past day, then one every 3 hours over
	 * the last 12: day and hour rollups, the charts' slices and the pages'
	 * recent runs */
	for (int d = o->days; status == 0 && d >= 1; d--) {
		int64_t at = (now / 86400000LL - d) * 86400000LL + 12 * 3600000LL;
		for (int r = 0; status == 0 && r < o->relays; r++)
			for (int m = 0; status == 0 && m < o->models; m++, runs++)
				status = save(s, tl, NULL, r, m, at + (r * o->models + m) % 3600000,
				              d) != 0;
	}
	for (int h = 12; status == 0 && h >= 1; h -= 3)
		for (int r = 0; status == 0 && r < o->relays; r++)
			for (int m = 0; status == 0 && m < o->models; m++, runs++)
				status = save(s, tl, NULL, r, m, now - h * 3600000LL, h) != 0;
	double serve_s = (double)(now_us() - t0) / 1e6;
	/* the agents' last minute, inside the hub's freshness window */
	t0 = now_us();
	long agent_runs = 0;
	for (int g = 0; status == 0 && g < o->regions; g++)
		for (int r = 0; status == 0 && r < o->relays; r++)
			for (int m = 0; status == 0 && m < o->models; m++, agent_runs++)
				status = save(agents[g], NULL, region_names[g], r, m,
				              now - 100000 + (r * o->models + m) % 60000, g) != 0;
	double agent_s = (double)(now_us() - t0) / 1e6;
	struct store_stats st;
	if (status == 0 && store_stats(s, &st) == 0)
		printf(
		    "fill: %ld serve runs in %.1f s (%.0f/s), %ld agent runs in %.1f s (%.0f/s); "
		    "database %lld bytes (+ WAL %lld)\n",
		    runs, serve_s, runs / (serve_s > 0 ? serve_s : 1e-9), agent_runs, agent_s,
		    agent_runs / (agent_s > 0 ? agent_s : 1e-9), (long long)st.file_bytes,
		    (long long)st.wal_bytes);
	timeline_free(tl);
	close_agents(s, o->regions, agents);
	store_close(s);
	return status;
}

static volatile sig_atomic_t stop_asked;

static void
stop_cb(int sig)
{
	(void)sig;
	stop_asked = 1;
}

/* The agents at full rate: every relay-model from every region once a
 * minute, the writes spread evenly over the minute, for o->seconds. */
static int
live(const char *db, const struct opts *o)
{
	char err[512];
	struct store *s = store_open(db, 0, err, sizeof err);
	if (s == NULL) {
		fprintf(stderr, "hub_fill: %s\n", err);
		return 1;
	}
	struct store *agents[8] = {0};
	int status = open_agents(db, s, o->regions, agents) != 0;
	long per_minute = (long)o->relays * o->models * o->regions;
	double per_s = per_minute / 60.0;
	int64_t t0 = now_us(), end = t0 + (int64_t)o->seconds * 1000000;
	long done = 0, behind_max = 0;
	signal(SIGTERM, stop_cb); /* bench/hub.sh stops it when its pages are measured */
	while (status == 0 && !stop_asked && now_us() < end) {
		/* the runs due by now, in the order of a minute's schedule */
		long due = (long)((double)(now_us() - t0) / 1e6 * per_s);
		if (due - done > behind_max)
			behind_max = due - done;
		for (; status == 0 && done < due; done++) {
			long i = done % per_minute;
			int g = (int)(i % o->regions);
			long rm = i / o->regions;
			status = save(agents[g], NULL, region_names[g], (int)(rm / o->models),
			              (int)(rm % o->models), wall_ms(), done / per_minute) != 0;
		}
		struct timespec pause = {0, 5 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	double s_taken = (double)(now_us() - t0) / 1e6;
	printf("live: %ld agent runs in %.1f s: %.0f/s (the full rate: %.0f/s); at most %ld "
	       "behind\n",
	       done, s_taken, done / s_taken, per_s, behind_max);
	close_agents(s, o->regions, agents);
	store_close(s);
	return status;
}

static void
names(const struct opts *o, const char *base_url)
{
	for (int r = 0; r < o->relays; r++) {
		char name[40];
		relay_name(name, sizeof name, r);
		printf("  - name: %s\n    base_url: %s\n    interval: 24h\n    models: [", name,
		       base_url);
		for (int m = 0; m < o->models; m++)
			printf("%s%s", m ? ", " : "", model_names[m]);
		printf("]\n");
	}
}

int
main(int argc, char **argv)
{
	struct opts o = {.relays = 2000, .models = 5, .regions = 5, .days = 90, .seconds = 10};
	if (argc < 2)
		goto usage;
	const char *cmd = argv[1];
	if (strcmp(cmd, "pg-start") == 0) {
		char url[512];
		if (test_pg_bindir() == NULL) {
			fprintf(stderr, "hub_fill: %s\n", test_pg_skip_reason());
			return 1;
		}
		if (test_pg_start() != 0 || test_pg_database("hub", url, sizeof url) != 0)
			return 1;
		printf("%s %s\n", url, getenv("ASSAY_TEST_PG_DIR"));
		return 0;
	}
	if (strcmp(cmd, "pg-stop") == 0 && argc == 3) {
		setenv("ASSAY_TEST_PG_DIR", argv[2], 1);
		test_pg_stop();
		return 0;
	}
	int first = strcmp(cmd, "names") == 0 ? 2 : 3;
	if (argc < first)
		goto usage;
	for (int i = first; i + 1 < argc; i += 2) {
		int v = atoi(argv[i + 1]);
		if (strcmp(argv[i], "--relays") == 0)
			o.relays = v;
		else if (strcmp(argv[i], "--models") == 0)
			o.models = v;
		else if (strcmp(argv[i], "--regions") == 0)
			o.regions = v;
		else if (strcmp(argv[i], "--days") == 0)
			o.days = v;
		else if (strcmp(argv[i], "--seconds") == 0)
			o.seconds = v;
		else if (strcmp(argv[i], "--base-url") != 0)
			goto usage;
	}
	if (o.relays < 1 || o.models < 1 || o.models > (int)N_MODEL_NAMES || o.regions < 1 ||
	    o.regions > 8 || o.days < 0 || o.seconds < 1)
		goto usage;
	if (strcmp(cmd, "fill") == 0)
		return fill(argv[2], &o);
	if (strcmp(cmd, "live") == 0)
		return live(argv[2], &o);
	if (strcmp(cmd, "names") == 0) {
		const char *base = "http://127.0.0.1:9/v1";
		for (int i = 2; i + 1 < argc; i += 2)
			if (strcmp(argv[i], "--base-url") == 0)
				base = argv[i + 1];
		names(&o, base);
		return 0;
	}
usage:
	fputs("usage: hub_fill pg-start | pg-stop DIR | fill DB [options] | live DB [options] |"
	      " names [options]\n"
	      "  options: --relays N --models M (<= 8) --regions R (<= 8) --days D --seconds S"
	      " --base-url URL\n",
	      stderr);
	return 2;
}
