/*
 * hub_close: how long the hub's event loop is held when an epoch of its
 * agents' pooled ledger closes at scale (issue 20; cli/hub.c,
 * scoring/region_ledger.h). The hub itself (hub_new, with a board that
 * knows every relay-model, as `assay serve` runs it) on a store filled
 * through the product's own API (store_agent_save_run_with, as `assay
 * agent` writes): N x M relay-models, one run with findings from each of
 * R regions, every run in one epoch.
 *
 *   hub_close [--relays N] [--models M] [--regions R] [--db PATH | --pg]
 *
 * (defaults 2,000 x 5 x 5: 10,000 relay-models, 50,000 runs; PATH a new
 * SQLite file, kept; --pg a private PostgreSQL cluster on loopback, as
 * the tests start one (tests/pg_helpers.c), removed at the end; neither:
 * a scratch SQLite file, removed at the end).
 *
 * The wall clock is simulated (wall_clock_simulate) and all but frozen,
 * so the epoch stays open while the hub reads the runs; then it is moved
 * past the epoch's end and every relay-model is due at once. The bench
 * has one thread, so moving the clock twice is safe here (the product
 * calls it once, before its threads start). What is measured is what the
 * loop would not do meanwhile: a 1 ms timer on the same event_base
 * (precise timers: timerfd) notes each time it fires; a gap between two
 * firings of more than 2 ms is a look holding the loop for the gap less
 * the period. The machine's other work shows as holds too (the process
 * not running): the most CPU time the process spent within one hold, and
 * its CPU time over the phase, are printed beside them. The close phase
 * lasts until the store holds every relay-model's state and the cursor
 * past the last run (checked between slices of the loop, on a connection
 * of its own, off the clock). Prints the reading phase's longest hold,
 * then the close's: longest hold, their total, holds over 5 ms, and how
 * long until all was written; then how long a restarted hub_new takes to
 * read the states back (at start, before its loop runs).
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/hub.h"
#include "scoring/ledger.h"
#include "scoring/verdict.h"
#include "storage/store.h"
#include "tests/pg_helpers.h"
#include "web/board.h"

#define EPOCH_MS 800 /* the hub's interval: a look every 100 ms */
#define FROZEN 1e-6  /* the simulated clock's pace: a real second is 1 us */

static const char *const model_names[] = {"gpt-4o",    "gpt-4o-mini",   "claude-sonnet-4",
                                          "qwen3-32b", "deepseek-v3",   "gpt-4.1",
                                          "o3-mini",   "gemini-2.5-pro"};
static const char *const region_names[] = {"eu", "us", "ap", "sa", "af", "me", "oc", "na"};

struct opts {
	int relays, models, regions;
	const char *db;
	int pg;
};

/* The loop's holds, as the 1 ms probe sees them. */
struct holds {
	struct event *ev;
	int64_t last_us, max_us, total_us;
	long over_5ms;
	int64_t last_cpu_us, max_cpu_us; /* the CPU time the process spent in a hold */
	int64_t cpu_us;                  /* the process's, over the phase */
};

static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct holds *h = arg;
	int64_t t = now_us(), cpu = cpu_us(), held = t - h->last_us - 1000;
	if (held > 1000) { /* beyond the timer's own jitter */
		h->total_us += held;
		if (held > h->max_us)
			h->max_us = held;
		if (cpu - h->last_cpu_us > h->max_cpu_us)
			h->max_cpu_us = cpu - h->last_cpu_us;
		h->over_5ms += held > 5000;
	}
	h->last_us = t;
	h->last_cpu_us = cpu;
}

/* Run base for ms of real time, the probe counting. */
static void
run_for(struct event_base *base, struct holds *h, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	int64_t cpu = cpu_us();
	h->last_us = now_us();
	h->last_cpu_us = cpu;
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	h->cpu_us += cpu_us() - cpu;
}

static void
relay_name(char *out, size_t n, int relay)
{
	snprintf(out, n, "relay-%04d.example", relay);
}

/* One agent run of region for relay/model started at at_ms, with its
 * findings: every run bets a little on substitution, one relay in ten is
 * seen at the suspect level with a shown finding. 0 or -1. */
static int
save(struct store *s, const char *region, int relay, int model, int64_t at_ms)
{
	char name[40];
	relay_name(name, sizeof name, relay);
	struct audit_run run = {0};
	run.target.relay = name;
	run.target.model = (char *)model_names[model];
	run.started_ms = at_ms;
	run.finished_ms = at_ms + 1;
	struct assessment a;
	assessment_init(&a);
	a.requests = 2;
	a.ok_requests = 2;
	a.ttft_ms = 200 + relay % 300;
	a.tokens_per_s = 50;
	a.tokens_spent = 52;
	assessment_decide(&a);
	struct ledger_entry e = {.at_ms = at_ms, .run_counts = 1};
	e.run_conv[CLASS_SUBSTITUTION] = 0.8;
	e.run_lim[CLASS_SUBSTITUTION] = 0.9;
	if (relay % 10 == 3) {
		e.run_conv[CLASS_SUBSTITUTION] = 20;
		e.suspect = 1u << CLASS_SUBSTITUTION;
		e.shown[e.n_shown++] =
		    (struct ledger_shown){.cls = CLASS_SUBSTITUTION,
		                          .confidence = 0.95,
		                          .p_adjusted = 0.05,
		                          .at_ms = at_ms,
		                          .expected = "prompt_tokens 1017 (o200k_base)",
		                          .observed = "prompt_tokens 1342 (qwen3)",
		                          .summary = "the tokenizer fingerprint is qwen3's",
		                          .probe = "tokfp",
		                          .served = "qwen3-32b"};
	}
	int64_t id = store_agent_save_run_with(s, region, &run, &a, &e);
	assessment_release(&a);
	if (id < 0) {
		fprintf(stderr, "hub_close: %s: %s\n", region, store_last_error(s));
		return -1;
	}
	return 0;
}

struct written {
	long rows;
};

static void
count_cb(const struct store_hub_ledger_row *row, void *arg)
{
	(void)row;
	((struct written *)arg)->rows++;
}

int
main(int argc, char **argv)
{
	struct opts o = {.relays = 2000, .models = 5, .regions = 5};
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--pg") == 0)
			o.pg = 1;
		else if (v != NULL && strcmp(argv[i], "--relays") == 0)
			o.relays = atoi(argv[++i]);
		else if (v != NULL && strcmp(argv[i], "--models") == 0)
			o.models = atoi(argv[++i]);
		else if (v != NULL && strcmp(argv[i], "--regions") == 0)
			o.regions = atoi(argv[++i]);
		else if (v != NULL && strcmp(argv[i], "--db") == 0)
			o.db = argv[++i];
		else
			goto usage;
	}
	if ((o.pg && o.db != NULL) || o.relays < 1 || o.models < 1 || o.models > 8 ||
	    o.regions < 1 || o.regions > 8)
		goto usage;
	char scratch[256], url[512];
	if (o.pg) {
		if (test_pg_bindir() == NULL) {
			fprintf(stderr, "hub_close: %s\n", test_pg_skip_reason());
			return 1;
		}
		if (test_pg_start() != 0 || test_pg_database("hubclose", url, sizeof url) != 0)
			return 1;
		o.db = url;
	} else if (o.db == NULL) {
		const char *tmp = getenv("TMPDIR");
		snprintf(scratch, sizeof scratch, "%s/hub-close-%ld.db", tmp ? tmp : "/tmp",
		         (long)getpid());
	}
	const char *db = o.db ? o.db : scratch;
	int scratch_file = o.db == NULL;
	if (scratch_file)
		unlink(scratch);
	long targets = (long)o.relays * o.models;

	/* the epoch the runs are in: the one of the real time now, the clock
	 * held near its end */
	int64_t real = wall_ms(), bucket = real / EPOCH_MS;
	wall_clock_simulate(bucket * EPOCH_MS + EPOCH_MS - 50, FROZEN);

	char err[512];
	struct store *s = store_open(db, 0, err, sizeof err);
	if (s == NULL) {
		fprintf(stderr, "hub_close: %s\n", err);
		return 1;
	}
	int status = 0;
	for (int g = 0; status == 0 && g < o.regions; g++) {
		char role[64];
		snprintf(role, sizeof role, "bench_%s", region_names[g]);
		if (store_add_agent(s, role, region_names[g], err, sizeof err) != 0) {
			fprintf(stderr, "hub_close: %s\n", err);
			status = 1;
		}
	}
	int64_t t0 = now_us();
	/* the agents write concurrently: regions interleaved */
	for (long rm = 0; status == 0 && rm < targets; rm++)
		for (int g = 0; status == 0 && g < o.regions; g++)
			status =
			    save(s, region_names[g], (int)(rm / o.models), (int)(rm % o.models),
			         bucket * EPOCH_MS + rm % (EPOCH_MS - 100)) != 0;
	if (status != 0)
		goto out;
	printf("fill: %ld relay-models x %d regions: %ld runs in %.1f s (%s)\n", targets, o.regions,
	       targets * o.regions, (double)(now_us() - t0) / 1e6,
	       o.pg ? "PostgreSQL on loopback" : db);

	struct event_config *cfg = event_config_new();
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	struct event_base *base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	struct board *board = board_new("hub_close");
	for (long rm = 0; rm < targets; rm++) {
		char name[40];
		relay_name(name, sizeof name, (int)(rm / o.models));
		board_declare(board, name, model_names[rm % o.models], "openai", EPOCH_MS);
	}
	struct hub *hub = hub_new(base, s, board, (o.regions + 1) / 2, o.regions, EPOCH_MS);
	if (hub == NULL) {
		status = 1;
		goto out_loop;
	}
	struct holds h = {0};
	h.ev = event_new(base, -1, EV_PERSIST, probe_cb, &h);
	struct timeval ms1 = {0, 1000};
	event_add(h.ev, &ms1);

	/* reading: every run waits in the open epoch */
	run_for(base, &h, 4000);
	printf("read (4 s): longest hold %.1f ms (most CPU in one %.1f ms), total %.1f ms, %ld "
	       "over 5 ms; CPU %.1f ms\n",
	       h.max_us / 1e3, h.max_cpu_us / 1e3, h.total_us / 1e3, h.over_5ms, h.cpu_us / 1e3);

	/* the epoch ends: every relay-model is due */
	wall_clock_simulate((bucket + 1) * EPOCH_MS + 1, FROZEN);
	h = (struct holds){.ev = h.ev};
	struct store *look = store_open(db, 1, err, sizeof err);
	if (look == NULL) {
		fprintf(stderr, "hub_close: %s\n", err);
		status = 1;
		goto out_hub;
	}
	int64_t start = now_us(), max_id = targets * o.regions, cursor = 0;
	struct written w = {0};
	int waited = 0;
	while (now_us() - start < 120 * 1000000LL) {
		run_for(base, &h, 100);
		waited += 100;
		w.rows = 0;
		if (store_each_hub_ledger(look, &cursor, count_cb, &w) != 0) {
			fprintf(stderr, "hub_close: %s\n", store_last_error(look));
			status = 1;
			break;
		}
		if (w.rows == targets && cursor >= max_id)
			break;
	}
	printf("close: longest hold %.1f ms (most CPU in one %.1f ms), total %.1f ms, %ld over 5 "
	       "ms; CPU %.1f ms; %ld of %ld states and the cursor (%lld of %lld) written within "
	       "%d ms of loop time\n",
	       h.max_us / 1e3, h.max_cpu_us / 1e3, h.total_us / 1e3, h.over_5ms, h.cpu_us / 1e3,
	       w.rows, targets, (long long)cursor, (long long)max_id, waited);
	if (w.rows != targets || cursor < max_id)
		status = 1;
	store_close(look);
	/* a restart: the states kept read back before the loop runs */
	hub_free(hub);
	t0 = now_us();
	hub = hub_new(base, s, board, (o.regions + 1) / 2, o.regions, EPOCH_MS);
	printf("restart: hub_new read %ld states back in %.0f ms (before the loop runs)\n", w.rows,
	       (double)(now_us() - t0) / 1e3);
	if (hub == NULL)
		status = 1;
out_hub:
	event_free(h.ev);
	hub_free(hub);
out_loop:
	board_free(board);
	event_base_free(base);
out:
	store_close(s);
	if (o.pg) {
		test_pg_drop();
		test_pg_stop();
	}
	if (scratch_file) {
		char side[300];
		unlink(scratch);
		snprintf(side, sizeof side, "%s-wal", scratch);
		unlink(side);
		snprintf(side, sizeof side, "%s-shm", scratch);
		unlink(side);
	}
	return status;
usage:
	fputs("usage: hub_close [--relays N] [--models M (<= 8)] [--regions R (<= 8)] [--db "
	      "PATH | --pg]\n",
	      stderr);
	return 2;
}
