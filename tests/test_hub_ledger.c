/*
 * The hub's looks at its agents' ledger (cli/hub.c) on a SQLite store: an
 * epoch's end over more relay-models than a look closes or writes is
 * spread over looks, and a hub stopped dead after its first write (no
 * last try: a crash) and started again folds every relay-model's epoch
 * exactly once, each region's run in it, and writes every state and the
 * cursor past the last run within a bounded number of looks.
 *
 * The wall clock is simulated and all but frozen (wall_clock_simulate):
 * held before the epoch's end while the runs are read, then moved past
 * it. The test has one thread, and each test runs in a process of its
 * own: moving it twice is safe here.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/hub.h"
#include "scoring/ledger.h"
#include "scoring/verdict.h"
#include "storage/store.h"
#include "tests/helpers.h"

#define EPOCH_MS 800 /* a look every 100 ms, and 10 ms apart while work is left */
#define FROZEN 1e-6
#define N_TARGETS 1500 /* three times what one look writes at most */
#define N_REGIONS 2

static const char *const region_names[N_REGIONS] = {"eu", "us"};

static void
names(int i, char *relay, size_t n, const char **model)
{
	snprintf(relay, n, "relay-%04d", i / 2);
	*model = i % 2 ? "gpt-4o-mini" : "gpt-4o";
}

/* Every relay-model's run from each region, regions interleaved, in epoch
 * bucket; every run bets on substitution. */
static void
fill(const char *db, int64_t bucket)
{
	char err[512];
	struct store *s = store_open(db, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	for (int g = 0; g < N_REGIONS; g++) {
		char role[32];
		snprintf(role, sizeof role, "t_%s", region_names[g]);
		cr_assert_eq(store_add_agent(s, role, region_names[g], err, sizeof err), 0, "%s",
		             err);
	}
	for (int i = 0; i < N_TARGETS; i++)
		for (int g = 0; g < N_REGIONS; g++) {
			char relay[32];
			const char *model;
			names(i, relay, sizeof relay, &model);
			struct audit_run run = {0};
			run.target.relay = relay;
			run.target.model = (char *)model;
			run.started_ms = bucket * EPOCH_MS + i % (EPOCH_MS - 100);
			run.finished_ms = run.started_ms + 1;
			struct assessment a;
			assessment_init(&a);
			a.requests = 1;
			a.ok_requests = 1;
			assessment_decide(&a);
			struct ledger_entry e = {.at_ms = run.started_ms, .run_counts = 1};
			e.run_conv[CLASS_SUBSTITUTION] = 0.5 + g;
			cr_assert_gt(store_agent_save_run_with(s, region_names[g], &run, &a, &e), 0,
			             "%s", store_last_error(s));
			assessment_release(&a);
		}
	store_close(s);
}

struct kept {
	long rows;
	int bad; /* a state that does not read or not one fold of both runs */
	char why[300];
	int64_t bucket;
};

/* A state folded once with each region's one run: closed at the epoch,
 * substitution's e-process updated once, each region's runs 1. */
static void
check_cb(const struct store_hub_ledger_row *row, void *arg)
{
	struct kept *k = arg;
	k->rows++;
	json_t *st = json_loads(row->state, 0, NULL);
	int ok = st != NULL && json_integer_value(json_object_get(st, "closed")) == k->bucket &&
	         json_array_size(json_object_get(st, "regions")) == N_REGIONS;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "classes"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "class")), "substitution") == 0)
			ok = ok && json_integer_value(json_object_get(c, "updates")) == 1;
	}
	json_array_foreach(json_object_get(st, "regions"), i, c)
	{
		json_t *v = json_object_get(json_object_get(c, "classes"), "substitution");
		ok = ok && json_array_size(v) == 4 &&
		     json_integer_value(json_array_get(v, 1)) == 1; /* [wealth, runs, ...] */
	}
	if (!ok && !k->bad)
		snprintf(k->why, sizeof k->why, "%s %s: %.200s", row->relay, row->model,
		         row->state);
	k->bad |= !ok;
	json_decref(st);
}

/* What the store keeps: rows (each checked) and the cursor. */
static void
look_store(const char *db, struct kept *k, int64_t *cursor)
{
	char err[512];
	struct store *s = store_open(db, 1, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	k->rows = 0;
	k->bad = 0;
	cr_assert_eq(store_each_hub_ledger(s, cursor, check_cb, k), 0, "%s", store_last_error(s));
	store_close(s);
}

/* A hub on db, its loop run one iteration at a time (a look each, or a
 * poll) until stop says so or max iterations: how many. */
static int
run_hub(const char *db, int max, int (*stop)(const char *db, void *arg), void *arg,
        struct hub **out_hub, struct event_base **out_base, struct store **out_store)
{
	char err[512];
	struct store *s = store_open(db, 0, err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	struct event_base *base = event_base_new();
	struct hub *h = hub_new(base, s, NULL, 1, N_REGIONS, EPOCH_MS);
	cr_assert_not_null(h);
	int n = 0;
	while (n < max && !stop(db, arg)) {
		event_base_loop(base, EVLOOP_ONCE);
		n++;
	}
	*out_hub = h;
	*out_base = base;
	*out_store = s;
	return n;
}

static int
all_read_cb(const char *db, void *arg)
{
	(void)db;
	return --*(int *)arg < 0;
}

/* Some states written, not all. */
static int
partly_cb(const char *db, void *arg)
{
	struct kept *k = arg;
	int64_t cursor;
	look_store(db, k, &cursor);
	return k->rows > 0;
}

/* Every state written and the cursor past the last run. */
static int
done_cb(const char *db, void *arg)
{
	struct kept *k = arg;
	int64_t cursor;
	look_store(db, k, &cursor);
	return k->rows == N_TARGETS && cursor == (int64_t)N_TARGETS * N_REGIONS;
}

Test(hub_ledger, a_sliced_epoch_end_survives_a_crash_after_the_first_write, .timeout = 120)
{
	char dir[256], db[300];
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "hub-slices"), 0);
	snprintf(db, sizeof db, "%s/hub.db", dir);
	int64_t bucket = wall_ms() / EPOCH_MS;
	wall_clock_simulate(bucket * EPOCH_MS + EPOCH_MS - 50, FROZEN);
	fill(db, bucket);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* the first hub: reads every run (3,000: a few looks of 1,000 and
		 * the polls between), the epoch ends, and it dies after the look
		 * that wrote first */
		struct hub *h;
		struct event_base *base;
		struct store *s;
		int iterations = 40;
		run_hub(db, 40, all_read_cb, &iterations, &h, &base, &s);
		struct kept k = {.bucket = bucket};
		int64_t cursor;
		look_store(db, &k, &cursor);
		if (k.rows != 0)
			_exit(2); /* nothing is due yet */
		wall_clock_simulate((bucket + 1) * EPOCH_MS + 1, FROZEN);
		int left = 1000;
		while (left-- > 0 && !partly_cb(db, &k))
			event_base_loop(base, EVLOOP_ONCE);
		look_store(db, &k, &cursor);
		/* stopped dead: no hub_free, no last try */
		_exit(k.rows > 0 && k.rows < N_TARGETS && !k.bad ? 0 : 3);
	}
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	          "the first hub did not stop with some states written, not all (status %d)",
	          status);
	struct kept k = {.bucket = bucket};
	int64_t cursor;
	look_store(db, &k, &cursor);
	cr_assert(k.rows > 0 && k.rows < N_TARGETS, "%ld states after the crash", k.rows);
	long before = k.rows;

	/* started again, the epoch over: it reads from the cursor kept, skips
	 * what the states written closed, folds the rest once */
	wall_clock_simulate((bucket + 1) * EPOCH_MS + 1, FROZEN);
	struct hub *h;
	struct event_base *base;
	struct store *s;
	int looks = run_hub(db, 600, done_cb, &k, &h, &base, &s);
	look_store(db, &k, &cursor);
	cr_expect_eq(k.rows, N_TARGETS, "%ld states of %d after %d iterations (%ld before)", k.rows,
	             N_TARGETS, looks, before);
	cr_expect_eq(cursor, (int64_t)N_TARGETS * N_REGIONS);
	cr_expect(!k.bad, "a state not folded exactly once: %s", k.why);
	/* each look writes at least one state; the slices make it far fewer */
	cr_expect_lt(looks, 600, "not written within the bound");
	hub_free(h);
	event_base_free(base);
	store_close(s);
	test_rmtree(dir);
}
