/*
 * hub: `assay serve` as the hub of probe agents in several regions: it
 * reads what the agents write to the shared store and declares an outage
 * only when a quorum of regions sees it (cli/hub.c, scoring/quorum.h).
 */
#ifndef ASSAY_CLI_HUB_H
#define ASSAY_CLI_HUB_H

#include <stdint.h>

/* What each of a hub's two ledgers spends of the false-positive budgets:
 * its own runs' (serve's) and its agents' pooled one
 * (scoring/region_ledger.h), half each, so the two together keep them. */
#define HUB_BUDGET_SHARE 0.5

struct alerts;
struct board;
struct event_base;
struct store;
struct hub;

/*
 * Read the agents' runs in store every few hundred ms on base (the event
 * loop's thread; store is the loop's own connection); an outage of a
 * relay-model is declared when need of `of` regions' fresh runs saw no
 * request succeed (fresh: finished within three interval_ms), written to
 * store (region_outages), said on stderr and shown on board (when not
 * NULL) as an outage incident of the relay-model whose detail names each
 * region's state and latency. NULL (said) when the arguments are unusable
 * or the open outages cannot be read back.
 */
struct hub *hub_new(struct event_base *base, struct store *store, struct board *board, int need,
                    int of, int64_t interval_ms);
void hub_free(struct hub *h);
/* Tell outages declared and ended from now on to a (web/alerts.h; NULL:
 * none), after they are written. Serve calls it again when a reload
 * replaces its alerts. */
void hub_set_alerts(struct hub *h, struct alerts *a);

#endif
