/*
 * quorum: is a relay down, by the probe agents of several regions?
 *
 * One vantage point cannot tell "the relay is down" from "my network is
 * down". Each agent's latest run of a relay-model counts for its region
 * while it is fresh (finished within fresh_ms: three intervals, say); a
 * region is down for it when no request of that run succeeded. An outage
 * is declared when at least `need` fresh regions are down ("2 of 3
 * regions"), and is over when fewer than `need` fresh regions are down
 * while at least `need` are heard from: silence (agents that stopped
 * writing) neither declares nor ends one.
 *
 * Pure state, no I/O, one thread (the hub's event loop). Memory: at most
 * QUORUM_TARGETS_MAX relay-models of QUORUM_REGIONS_MAX regions; what is
 * beyond is counted in quorum_dropped() and otherwise ignored (agents are
 * trusted to write real relays, but not to exhaust the hub).
 */
#ifndef ASSAY_QUORUM_H
#define ASSAY_QUORUM_H

#include <stddef.h>
#include <stdint.h>

#define QUORUM_REGIONS_MAX 16
#define QUORUM_TARGETS_MAX 100000

struct quorum;

/* need of `of` regions declare an outage (1 <= need <= of); a region's
 * run counts for fresh_ms after it finished. NULL on bad arguments. */
struct quorum *quorum_new(int need, int of, int64_t fresh_ms);
void quorum_free(struct quorum *q);

/* An agent's run of relay/model from region, finished at at_ms: down when
 * none of its requests succeeded (error_class: the run's main failure),
 * ttft_ms its median time to first token (-1: none). Older runs than the
 * region's latest are ignored. */
void quorum_observe(struct quorum *q, const char *region, const char *relay, const char *model,
                    int64_t at_ms, int down, const char *error_class, double ttft_ms);

/* What a relay-model's regions say at a look. */
struct quorum_region {
	char name[33];
	int fresh, down;
	int64_t at_ms;
	double ttft_ms;
	char error_class[24];
};
struct quorum_view {
	const char *relay, *model;
	int heard, down; /* fresh regions, and of them down */
	int declared;    /* the outage state after this look */
	size_t n_regions;
	const struct quorum_region *regions;
};

/*
 * Look at every relay-model at now_ms; change(v, arg) is called for each
 * whose outage state changes (v->declared the new state). change returns 0
 * when the change is kept (stored); -1 leaves the state as it was, to be
 * tried again at the next look.
 */
typedef int (*quorum_change_cb)(const struct quorum_view *v, void *arg);
void quorum_evaluate(struct quorum *q, int64_t now_ms, quorum_change_cb change, void *arg);
/* Mark relay/model as declared down (a hub's restart: the outage stored
 * open). */
void quorum_restore_declared(struct quorum *q, const char *relay, const char *model);
/* The current view of relay/model at now_ms; 0 when unknown, 1 found. */
int quorum_view(struct quorum *q, const char *relay, const char *model, int64_t now_ms,
                struct quorum_view *out);
/* Observations ignored for the memory bound. */
long quorum_dropped(const struct quorum *q);

#endif
