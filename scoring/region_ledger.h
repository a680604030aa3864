/*
 * region_ledger: a hub's ledger over the runs its probe agents made from
 * several regions (issue 20), one per relay-model, pooling every region.
 *
 * Why one pooled ledger and not a product over regions. serve's ledger
 * (scoring/ledger.h) multiplies one e-value per run: valid because each run
 * is a fresh audit, an e-value given every run before it. Runs of the same
 * relay at about the same time from several regions are not that: whatever
 * makes one region's run look odd at 12:00 (the official model's own drift
 * that hour, a baseline slightly off, the relay's upstream having a bad
 * minute) makes the others' look odd too, so multiplying them would count
 * the same thin evidence once per region, and five regions would accuse an
 * honest relay five times as fast. So time is cut into epochs (the hub's
 * interval: bucket floor(started_ms / epoch_ms) of each run) and the runs
 * of one epoch are AVERAGED, not multiplied: a mean of e-values is an
 * e-value under any dependence between them (Vovk and Wang 2021), so each
 * epoch's mean is an e-value given the epochs before, and the product over
 * epochs is a test supermartingale exactly as serve's product over runs.
 * The decision rule is serve's own (ledger_evidence_step: the same
 * thresholds, the same hold while the window sees the class), so the hub
 * bets no more often than one serve probing once an interval, and an honest
 * relay is ever called misbehaving by it with probability at most its share
 * of FP_BUDGET_MISBEHAVING, however many regions there are. A hub that also
 * probes itself judges each relay twice (its own serve ledger, this one):
 * each spends half of the budgets, so the two together keep them
 * (Bonferroni; cli/cmd_serve.c, cli/hub.c).
 *
 * What it costs: a relay that cheats toward one region of K only has that
 * region's e-value divided by K in each epoch; a decisive finding (an exact
 * token count of another model, e about 1.5e5) still decides within two or
 * three epochs. A relay cheating a little toward every region is pooled as
 * one serve over time would be.
 *
 * Per region the ledger also keeps what the pages show of the evidence:
 * each class's runs, sightings and a one-bet wealth (bet 1/2, that
 * region's runs alone): display only, never a verdict (a verdict per
 * region would be K more tests).
 *
 * An epoch closes at its end when every region heard so far for the
 * relay-model has a run in it, else one epoch after its end; a run whose
 * epoch is closed is
 * late and not counted (said by the count region_ledger_late()), never
 * folded on its own, which would be multiplying it. A run nothing answered
 * bets nothing. Agents' e-values are clamped to [0, REGION_LEDGER_E_MAX]
 * (a broken or hostile agent cannot write infinity).
 *
 * State: the pooled evidence, the latest shown finding of each class and
 * the per-region figures, as a JSON document per relay-model
 * (region_ledger_state / _restore); runs waiting in open epochs are not in
 * it. The ledger lists the relay-models whose state changed since the
 * caller last saved it (region_ledger_unsaved), in the order they changed;
 * the caller saves any number from the front of that list together with
 * a cursor (region_ledger_safe_id) below the first run still waiting and
 * the first run folded into a state not saved, reads from that cursor
 * again after a restart, and the runs of epochs a saved state has closed
 * are skipped: nothing folded twice, nothing skipped, however the saves
 * are sliced.
 *
 * Closing can be sliced too (region_ledger_close_some: at most so many
 * relay-models a call, going round from where the last call stopped), so
 * an epoch's end over ten thousand relay-models holds the caller's loop
 * a slice at a time.
 *
 * One thread (the hub's event loop); memory: a fixed record per
 * relay-model and region, plus the runs waiting in open epochs.
 */
#ifndef ASSAY_REGION_LEDGER_H
#define ASSAY_REGION_LEDGER_H

#include <jansson.h>
#include <stdint.h>

#include "scoring/classes.h"
#include "scoring/ledger.h"

#define REGION_LEDGER_REGIONS_MAX 16
#define REGION_LEDGER_E_MAX 1e9

struct region_ledger;

/* A ledger whose epochs are epoch_ms long (> 0), whose decisions hold
 * while a sighting is within window_ms (0: 24 h), and which spends share
 * of the false-positive budgets (ledger_set_budget_share; 0: all). NULL
 * for an epoch <= 0. */
struct region_ledger *region_ledger_new(int64_t epoch_ms, int64_t window_ms, double share);
void region_ledger_free(struct region_ledger *rl);

/* One agent run's evidence (strings borrowed for the call). */
struct region_ledger_run {
	int64_t id; /* the store's, increasing */
	const char *region, *relay, *model;
	int64_t started_ms;
	int counts; /* it had a success: it bets */
	double conv[CLASS__COUNT], lim[CLASS__COUNT];
	uint32_t misbehaving, suspect; /* CLASS_BIT()s it saw at each level */
	struct ledger_shown shown[CLASS__COUNT];
	size_t n_shown;
};

/* Add run to its epoch: 1 waiting, 0 late (its epoch is closed: not
 * counted), -1 refused (a region past REGION_LEDGER_REGIONS_MAX). */
int region_ledger_add(struct region_ledger *rl, const struct region_ledger_run *run);
/* Close every epoch due at now_ms and fold it; cb (may be NULL) for each
 * relay-model whose evidence changed. How many epochs were folded. */
typedef void (*region_ledger_cb)(const char *relay, const char *model, void *arg);
size_t region_ledger_close(struct region_ledger *rl, int64_t now_ms, region_ledger_cb cb,
                           void *arg);
/* The same for at most max relay-models (0: every one), going round from
 * where the last close stopped: how many relay-models changed. Fewer than
 * max: every epoch due at now_ms is folded; max: call again for the rest. */
size_t region_ledger_close_some(struct region_ledger *rl, int64_t now_ms, size_t max,
                                region_ledger_cb cb, void *arg);

/* Saving. The relay-models whose evidence changed since they were last
 * saved, in the order they changed, each once: how many, and the i-th's
 * names (borrowed until the next close, save or free; NULL past the end). */
size_t region_ledger_unsaved(const struct region_ledger *rl);
void region_ledger_unsaved_at(const struct region_ledger *rl, size_t i, const char **relay,
                              const char **model);
/* The cursor to save with the states of the first n unsaved relay-models
 * (0: none): the highest id every run at or below which is judged (late,
 * refused) or folded into a state saved or among those n. One below the
 * first run waiting or folded into another unsaved state; read_upto (the
 * last id read) when there is none. */
int64_t region_ledger_safe_id(const struct region_ledger *rl, int64_t read_upto, size_t n);
/* The first n unsaved relay-models' states are saved with that cursor:
 * off the list (until they change again). */
void region_ledger_saved(struct region_ledger *rl, size_t n);
/* Runs refused as late so far. */
long region_ledger_late(const struct region_ledger *rl);

/* The level decided for relay/model: VERDICT_MISBEHAVING, VERDICT_SUSPECT,
 * VERDICT_GENUINE (nothing decided, or never seen). */
int region_ledger_level(const struct region_ledger *rl, const char *relay, const char *model);
/*
 * For the pages: {"verdict", "epochs", "epoch_s", "regions": [names],
 * "classes": [{"class", "level", "evalue", "decides", "since_ms",
 * "decided_ms", "seen", "epochs", "finding": {...} | null, "regions":
 * [{"region", "evalue", "runs", "seen", "last_seen_ms"}]}]}, classes decided
 * or seen within the window; NULL for a relay-model never seen. New
 * reference.
 */
json_t *region_ledger_view(const struct region_ledger *rl, const char *relay, const char *model,
                           int64_t now_ms);
/* The decided classes as findings in assessment_to_json()'s shape (class,
 * confidence, p_adjusted, evidence, served_model), each saying the regions
 * that saw it: an array, new reference. */
json_t *region_ledger_findings(const struct region_ledger *rl, const char *relay,
                               const char *model);

/* relay/model's state as a JSON text (owned by the caller), NULL when never
 * seen; and back (at start, before any add): 0, or -1 for a state that
 * does not read (nothing kept of it). */
char *region_ledger_state(const struct region_ledger *rl, const char *relay, const char *model);
int region_ledger_restore(struct region_ledger *rl, const char *relay, const char *model,
                          const char *state);

#endif
