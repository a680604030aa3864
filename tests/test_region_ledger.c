/*
 * The hub's pooled ledger (scoring/region_ledger.h): several regions' runs
 * of one epoch are averaged, not multiplied, so five regions repeating the
 * same thin evidence convict no faster than one; a decisive finding from
 * one region of three convicts within a few epochs and says which region
 * saw it; honest relays under the worst dependence between regions (every
 * region the same p-value each epoch) are never accused; late runs are not
 * counted; the state survives a restart; the cursor never passes a run
 * still waiting or folded into a state not saved; a close sliced over
 * many calls folds every relay-model once within a bounded number of
 * calls, and a restart between two sliced saves folds nothing twice and
 * loses nothing.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "scoring/evalue.h"
#include "scoring/region_ledger.h"
#include "scoring/verdict.h"

#define EPOCH 60000LL
#define SUB CLASS_SUBSTITUTION

static const char *const regions[5] = {"eu", "us", "ap", "sa", "af"};

/* A run of region at epoch k (its start mid-epoch) betting e on
 * substitution, seen at the suspect level when e is at least 10. */
static struct region_ledger_run
run_at(int64_t id, const char *region, const char *relay, int64_t k, double e)
{
	struct region_ledger_run r = {.id = id,
	                              .region = region,
	                              .relay = relay,
	                              .model = "gpt-4o",
	                              .started_ms = k * EPOCH + EPOCH / 2,
	                              .counts = 1};
	r.conv[SUB] = e;
	if (e >= 1000) {
		r.misbehaving = 1u << SUB;
		r.shown[r.n_shown++] = (struct ledger_shown){.cls = SUB,
		                                             .convicts = 1,
		                                             .confidence = 0.99999,
		                                             .p_adjusted = 1e-6,
		                                             .at_ms = r.started_ms,
		                                             .expected = "o200k_base counts",
		                                             .observed = "qwen counts",
		                                             .summary = "another tokenizer",
		                                             .probe = "chat"};
	} else if (e >= 10) {
		r.suspect = 1u << SUB;
	}
	return r;
}

static int
level(const struct region_ledger *rl, const char *relay)
{
	return region_ledger_level(rl, relay, "gpt-4o");
}

Test(region_ledger, five_regions_with_the_same_thin_evidence_convict_no_faster_than_one)
{
	struct region_ledger *pooled = region_ledger_new(EPOCH, 0, 0);
	struct region_ledger *one = region_ledger_new(EPOCH, 0, 0);
	/* what multiplying every region's run would do: each run its own epoch */
	struct ledger_evidence product = {.cls = SUB, .level = VERDICT_GENUINE};
	eprocess_init(&product.conv);
	eprocess_init(&product.lim);
	int64_t id = 1;
	for (int64_t k = 0; k < 4; k++) {
		for (int r = 0; r < 5; r++) {
			struct region_ledger_run run = run_at(id++, regions[r], "r", k, 15);
			cr_assert_eq(region_ledger_add(pooled, &run), 1);
			if (r == 0)
				cr_assert_eq(region_ledger_add(one, &run), 1);
			ledger_evidence_step(&product, 1, 1, 15, 0, run.started_ms, 1);
		}
		region_ledger_close(pooled, (k + 2) * EPOCH, NULL, NULL);
		region_ledger_close(one, (k + 2) * EPOCH, NULL, NULL);
	}
	cr_expect_eq(product.level, VERDICT_MISBEHAVING,
	             "the product of 20 thin runs convicts (the test could fail)");
	cr_expect_neq(level(pooled, "r"), VERDICT_MISBEHAVING,
	              "four epochs of thin evidence, however many regions, do not convict");
	json_t *vp = region_ledger_view(pooled, "r", "gpt-4o", 5 * EPOCH);
	json_t *vo = region_ledger_view(one, "r", "gpt-4o", 5 * EPOCH);
	cr_assert_not_null(vp);
	cr_assert_not_null(vo);
	double ep = json_number_value(
	    json_object_get(json_array_get(json_object_get(vp, "classes"), 0), "evalue"));
	double eo = json_number_value(
	    json_object_get(json_array_get(json_object_get(vo, "classes"), 0), "evalue"));
	cr_expect(ep > 1 && ep == eo, "pooled e %g, one region's %g: the same", ep, eo);
	cr_expect_eq(json_integer_value(json_object_get(vp, "epochs")), 4);
	cr_expect_eq(json_array_size(json_object_get(vp, "regions")), 5);
	json_decref(vp);
	json_decref(vo);
	region_ledger_free(pooled);
	region_ledger_free(one);
}

Test(region_ledger, a_relay_cheating_toward_one_region_is_caught_and_named)
{
	/* at a hub's share of the budgets (half: its own runs' ledger has the
	 * other) */
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0.5);
	int64_t id = 1;
	int64_t k;
	for (k = 0; k < 6 && level(rl, "r") != VERDICT_MISBEHAVING; k++) {
		for (int r = 0; r < 3; r++) {
			struct region_ledger_run run =
			    run_at(id++, regions[r], "r", k, r == 0 ? evalue_from_p(1e-7) : 0);
			cr_assert_eq(region_ledger_add(rl, &run), 1);
		}
		cr_expect_eq(region_ledger_close(rl, (k + 1) * EPOCH - 1, NULL, NULL), 0,
		             "an epoch stays open until its end");
		/* every region heard: the epoch closes at its end, not its deadline */
		cr_expect_eq(region_ledger_close(rl, (k + 1) * EPOCH, NULL, NULL), 1);
	}
	cr_expect_eq(level(rl, "r"), VERDICT_MISBEHAVING, "eu's decisive findings, pooled");
	cr_expect_leq(k, 3, "within three epochs (took %lld)", (long long)k);
	json_t *v = region_ledger_view(rl, "r", "gpt-4o", k * EPOCH);
	json_t *c = json_array_get(json_object_get(v, "classes"), 0);
	cr_assert_not_null(c);
	cr_expect_str_eq(json_string_value(json_object_get(c, "class")), "substitution");
	cr_expect_str_eq(json_string_value(json_object_get(c, "level")), "misbehaving");
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_object_get(c, "finding"), "region")), "eu");
	json_t *regs = json_object_get(c, "regions");
	cr_assert_eq(json_array_size(regs), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *r = json_array_get(regs, i);
		const char *name = json_string_value(json_object_get(r, "region"));
		long long seen = json_integer_value(json_object_get(r, "seen"));
		cr_expect(strcmp(name, "eu") == 0 ? seen == k : seen == 0, "%s saw it %lld times",
		          name, seen);
	}
	json_t *f = region_ledger_findings(rl, "r", "gpt-4o");
	cr_assert_eq(json_array_size(f), 1);
	const char *summary = json_string_value(
	    json_object_get(json_object_get(json_array_get(f, 0), "evidence"), "summary"));
	cr_expect(strstr(summary, "seen by eu ") != NULL, "%s", summary);
	cr_expect(json_number_value(json_object_get(json_array_get(f, 0), "p_adjusted")) <=
	          FP_BUDGET_MISBEHAVING);
	cr_expect_eq(json_number_value(json_object_get(c, "decides")),
	             2 * evalue_threshold(FP_BUDGET_MISBEHAVING, class_cheat_count()),
	             "half the budget: twice the evidence");
	json_decref(f);
	json_decref(v);
	region_ledger_free(rl);
}

/* A uniform p-value from a small LCG (reproducible). */
static double
uniform(unsigned long long *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
}

Test(region_ledger, honest_relays_under_the_worst_dependence_are_never_accused, .timeout = 120)
{
	/* every region the same p-value each epoch (one common cause): 100
	 * honest relays x 400 epochs x 3 regions */
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0);
	unsigned long long seed = 20261202;
	int64_t id = 1;
	char names[100][16];
	for (int k = 0; k < 400; k++) {
		for (int i = 0; i < 100; i++) {
			snprintf(names[i], sizeof names[i], "relay-%d", i);
			double p = uniform(&seed);
			for (int r = 0; r < 3; r++) {
				struct region_ledger_run run =
				    run_at(id++, regions[r], names[i], k, 0);
				run.conv[SUB] = evalue_from_p(p);
				run.lim[SUB] = evalue_from_p(p);
				if (p <= 0.05)
					run.suspect = 1u << SUB;
				region_ledger_add(rl, &run);
			}
		}
		region_ledger_close(rl, (k + 2) * EPOCH, NULL, NULL);
	}
	int misbehaving = 0, suspect = 0;
	for (int i = 0; i < 100; i++) {
		misbehaving += level(rl, names[i]) == VERDICT_MISBEHAVING;
		suspect += level(rl, names[i]) == VERDICT_SUSPECT;
	}
	cr_expect_eq(misbehaving, 0, "%d of 100 honest relays misbehaving", misbehaving);
	cr_expect_leq(suspect, 5, "%d of 100 honest relays suspect (budget 5%%)", suspect);
	region_ledger_free(rl);
}

Test(region_ledger, a_run_after_its_epoch_closed_is_not_counted)
{
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0);
	struct region_ledger_run a = run_at(1, "eu", "r", 0, 151015);
	cr_assert_eq(region_ledger_add(rl, &a), 1);
	cr_expect_eq(region_ledger_close(rl, EPOCH + 1, NULL, NULL), 1, "eu is every region heard");
	struct region_ledger_run late = run_at(2, "us", "r", 0, 151015);
	cr_expect_eq(region_ledger_add(rl, &late), 0);
	cr_expect_eq(region_ledger_late(rl), 1);
	/* the deadline: one epoch after the end, when a region heard is missing */
	struct region_ledger_run b = run_at(3, "eu", "r", 1, 0);
	cr_assert_eq(region_ledger_add(rl, &b), 1);
	struct region_ledger_run c = run_at(4, "us", "r", 2, 0);
	cr_assert_eq(region_ledger_add(rl, &c), 1);
	cr_expect_eq(region_ledger_close(rl, 2 * EPOCH + EPOCH / 2, NULL, NULL), 0,
	             "epoch 1 waits for us until its deadline");
	cr_expect_eq(region_ledger_safe_id(rl, 4, 1), 2, "the cursor stays below run 3");
	cr_expect_eq(region_ledger_safe_id(rl, 4, 0), 0,
	             "and below run 1 while epoch 0's state is not saved");
	cr_expect_eq(region_ledger_close(rl, 3 * EPOCH, NULL, NULL), 1);
	cr_expect_eq(region_ledger_unsaved(rl), 1, "one relay-model changed, listed once");
	cr_expect_eq(region_ledger_safe_id(rl, 4, 1), 3, "below run 4, still waiting");
	region_ledger_saved(rl, 1);
	cr_expect_eq(region_ledger_unsaved(rl), 0);
	cr_expect_eq(region_ledger_safe_id(rl, 4, 0), 3);
	region_ledger_free(rl);
}

Test(region_ledger, the_state_survives_a_restart)
{
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0);
	int64_t id = 1;
	for (int64_t k = 0; k < 2; k++)
		for (int r = 0; r < 2; r++) {
			struct region_ledger_run run =
			    run_at(id++, regions[r], "r", k, r == 0 ? 151015 : 15);
			region_ledger_add(rl, &run);
		}
	region_ledger_close(rl, 10 * EPOCH, NULL, NULL);
	char *state = region_ledger_state(rl, "r", "gpt-4o");
	cr_assert_not_null(state);
	struct region_ledger *back = region_ledger_new(EPOCH, 0, 0);
	cr_assert_eq(region_ledger_restore(back, "r", "gpt-4o", state), 0);
	cr_expect_eq(level(back, "r"), level(rl, "r"));
	cr_expect_eq(region_ledger_restore(back, "x", "gpt-4o", "{\"classes\": 3, \"regions\": ["),
	             -1);
	cr_expect_null(region_ledger_view(back, "x", "gpt-4o", 0),
	               "a state that does not read keeps nothing");
	/* a run of a closed epoch read again after the restart is skipped */
	struct region_ledger_run again = run_at(1, "eu", "r", 0, 151015);
	cr_expect_eq(region_ledger_add(back, &again), 0);
	/* the next epoch moves both alike */
	for (int r = 0; r < 2; r++) {
		struct region_ledger_run run = run_at(id++, regions[r], "r", 2, 10);
		region_ledger_add(rl, &run);
		region_ledger_add(back, &run);
	}
	region_ledger_close(rl, 10 * EPOCH, NULL, NULL);
	region_ledger_close(back, 10 * EPOCH, NULL, NULL);
	char *s1 = region_ledger_state(rl, "r", "gpt-4o"),
	     *s2 = region_ledger_state(back, "r", "gpt-4o");
	cr_expect_str_eq(s1, s2);
	free(s1);
	free(s2);
	free(state);
	region_ledger_free(rl);
	region_ledger_free(back);
}

Test(region_ledger, an_agents_infinite_evalue_is_clamped)
{
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0);
	struct region_ledger_run run = run_at(1, "eu", "r", 0, 0);
	run.conv[SUB] = 1.0 / 0.0;
	run.lim[SUB] = 0.0 / 0.0;
	region_ledger_add(rl, &run);
	region_ledger_close(rl, 10 * EPOCH, NULL, NULL);
	char *state = region_ledger_state(rl, "r", "gpt-4o");
	cr_assert_not_null(state, "the state stays JSON (finite)");
	free(state);
	region_ledger_free(rl);
}

/*
 * Sliced closing and saving, and a restart in the middle. N relay-models x
 * 3 regions in epoch 0, and epoch 1's runs of every third relay-model
 * from relay-`from` on interleaved (they wait past the close). With none
 * in the first half, only the unsaved states keep the cursor down there;
 * with relay-0's, that run keeps it below every saved state, whose runs
 * are then read again and must be skipped. A "store" keeps what a hub
 * writes: each relay-model's state and the cursor.
 */
#define N_SLICED 100
#define CLOSE_SLICE 7
#define SAVE_SLICE 5

struct kept {
	char *state[N_SLICED];
	int64_t cursor;
	int saves[N_SLICED]; /* how often each was saved */
};

static int
index_of(const char *relay)
{
	return atoi(relay + strlen("relay-"));
}

/* The runs, in id order: run i is (*ids)++. */
static size_t
sliced_runs(struct region_ledger_run *out, char names[][16], int from)
{
	size_t n = 0;
	int64_t id = 1;
	for (int i = 0; i < N_SLICED; i++)
		snprintf(names[i], 16, "relay-%d", i);
	for (int i = 0; i < N_SLICED; i++) {
		for (int r = 0; r < 3; r++)
			out[n++] =
			    run_at(id++, regions[r], names[i], 0, i % 10 == 3 ? 151015 : 0.5 + r);
		if (i >= from && i % 3 == 0)
			out[n++] = run_at(id++, regions[0], names[i], 1, 2);
	}
	return n;
}

/* Save the first at most max unsaved relay-models with their cursor, as
 * ledger_write does. How many. */
static size_t
save_some(struct region_ledger *rl, struct kept *k, int64_t read_upto, size_t max)
{
	size_t n = region_ledger_unsaved(rl);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		const char *relay, *model;
		region_ledger_unsaved_at(rl, i, &relay, &model);
		cr_assert_not_null(relay);
		int x = index_of(relay);
		free(k->state[x]);
		k->state[x] = region_ledger_state(rl, relay, model);
		k->saves[x]++;
	}
	int64_t cursor = region_ledger_safe_id(rl, read_upto, n);
	cr_assert_geq(cursor, k->cursor, "the cursor saved never goes back");
	k->cursor = cursor;
	region_ledger_saved(rl, n);
	return n;
}

static void
count_cb(const char *relay, const char *model, void *arg)
{
	(void)model;
	((int *)arg)[index_of(relay)]++;
}

Test(region_ledger, a_sliced_close_folds_each_relay_model_once_within_bounded_calls)
{
	static struct region_ledger_run runs[N_SLICED * 4];
	char names[N_SLICED][16];
	size_t n_runs = sliced_runs(runs, names, N_SLICED / 2);
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0);
	for (size_t i = 0; i < n_runs; i++)
		cr_assert_eq(region_ledger_add(rl, &runs[i]), 1);
	int changed[N_SLICED] = {0};
	struct kept k = {0};
	/* epoch 0 due (every region heard), epoch 1 not */
	int calls = 0;
	size_t got;
	do {
		got = region_ledger_close_some(rl, EPOCH, CLOSE_SLICE, count_cb, changed);
		cr_assert_leq(got, CLOSE_SLICE);
		calls++;
		cr_assert_leq(calls, N_SLICED / CLOSE_SLICE + 1, "more calls than the slices need");
	} while (got == CLOSE_SLICE);
	cr_expect_eq(region_ledger_close_some(rl, EPOCH, CLOSE_SLICE, count_cb, changed), 0,
	             "nothing left due");
	for (int i = 0; i < N_SLICED; i++)
		cr_expect_eq(changed[i], 1, "%s changed %d times", names[i], changed[i]);
	cr_expect_eq(region_ledger_unsaved(rl), N_SLICED);
	/* saved a slice at a time: each once, within ceil(N / slice) saves */
	int saves = 0;
	while (save_some(rl, &k, (int64_t)n_runs, SAVE_SLICE) > 0)
		saves++;
	cr_expect_eq(saves, (N_SLICED + SAVE_SLICE - 1) / SAVE_SLICE);
	for (int i = 0; i < N_SLICED; i++) {
		cr_expect_eq(k.saves[i], 1, "%s saved %d times", names[i], k.saves[i]);
		json_t *v = region_ledger_view(rl, names[i], "gpt-4o", EPOCH);
		cr_expect_eq(json_integer_value(json_object_get(v, "epochs")), 1);
		json_decref(v);
	}
	/* epoch 1's runs still wait: the cursor stays below the first */
	size_t first = 0;
	while (runs[first].started_ms < EPOCH)
		first++;
	cr_expect_eq(k.cursor, runs[first].id - 1, "below the first run of epoch 1");
	for (int i = 0; i < N_SLICED; i++)
		free(k.state[i]);
	region_ledger_free(rl);
}

/* The hub's looks with a restart after six, against a ledger that was
 * never restarted: the same state for every relay-model. */
static void
restart_between_saves(int from)
{
	static struct region_ledger_run runs[N_SLICED * 4];
	char names[N_SLICED][16];
	size_t n_runs = sliced_runs(runs, names, from);
	/* the reference: never restarted, closed at once */
	struct region_ledger *ref = region_ledger_new(EPOCH, 0, 0);
	for (size_t i = 0; i < n_runs; i++)
		region_ledger_add(ref, &runs[i]);
	region_ledger_close(ref, EPOCH, NULL, NULL);
	region_ledger_close(ref, 3 * EPOCH, NULL, NULL);

	/* the hub: every run read, closes faster than it saves, and stops
	 * after a few looks with states folded and not saved */
	struct kept k = {0};
	struct region_ledger *rl = region_ledger_new(EPOCH, 0, 0);
	for (size_t i = 0; i < n_runs; i++)
		region_ledger_add(rl, &runs[i]);
	for (int look = 0; look < 6; look++) {
		region_ledger_close_some(rl, EPOCH, CLOSE_SLICE, NULL, NULL);
		save_some(rl, &k, (int64_t)n_runs, SAVE_SLICE);
	}
	cr_assert_gt(region_ledger_unsaved(rl), 0, "the restart comes with states unsaved");
	region_ledger_free(rl);

	/* restarted: the states kept, the runs after the cursor read again,
	 * then the looks go on (epoch 1 due later) until all is saved */
	rl = region_ledger_new(EPOCH, 0, 0);
	for (int i = 0; i < N_SLICED; i++)
		if (k.state[i] != NULL)
			cr_assert_eq(region_ledger_restore(rl, names[i], "gpt-4o", k.state[i]), 0);
	long skipped = 0;
	for (size_t i = 0; i < n_runs; i++)
		if (runs[i].id > k.cursor)
			skipped += region_ledger_add(rl, &runs[i]) == 0;
	if (from == 0)
		cr_expect_gt(skipped, 0, "runs of epochs a saved state closed are skipped");
	int looks = 0;
	for (int64_t now = EPOCH; now <= 3 * EPOCH; now += EPOCH) {
		do {
			region_ledger_close_some(rl, now, CLOSE_SLICE, NULL, NULL);
			save_some(rl, &k, (int64_t)n_runs, SAVE_SLICE);
			cr_assert_lt(++looks, 200);
		} while (region_ledger_unsaved(rl) > 0 ||
		         region_ledger_close_some(rl, now, CLOSE_SLICE, NULL, NULL) > 0);
	}
	cr_expect_eq(k.cursor, (int64_t)n_runs, "every run folded and saved");
	for (int i = 0; i < N_SLICED; i++) {
		char *want = region_ledger_state(ref, names[i], "gpt-4o");
		cr_assert_not_null(k.state[i], "%s never saved", names[i]);
		cr_expect_str_eq(k.state[i], want, "%s: not the state of one fold per epoch",
		                 names[i]);
		free(want);
		free(k.state[i]);
	}
	region_ledger_free(rl);
	region_ledger_free(ref);
}

Test(region_ledger, a_restart_between_sliced_saves_folds_nothing_twice_and_loses_nothing)
{
	restart_between_saves(N_SLICED / 2); /* the unsaved states hold the cursor */
	restart_between_saves(0);            /* a waiting run holds it */
}
