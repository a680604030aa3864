/*
 * regions_view: the hub's agents' regions on a relay-model's page, in the
 * JSON API (web/regions.h holds the data; /metrics: web/metrics.c). Region names
 * come from the shared store: escaped on output like every string.
 */
#ifndef ASSAY_WEB_REGIONS_VIEW_H
#define ASSAY_WEB_REGIONS_VIEW_H

#include <jansson.h>

#include "base/util.h"
#include "web/model.h"

/* A table with one column per region: its latest state, the agent's
 * verdict of that run and how fresh it is, its success share and TTFT p50 / p95 over 24 h. Nothing
 * when no agent wrote about e. */
void render_regions(struct buf *b, const struct board_view *v, const struct board_entry *e);
/* [{"region", "state": "up"|"down"|"stale", "last_run_ms", "age_ms",
 *   "last_error", "last_verdict", "last_ttft_ms", "window": "24h", "runs",
 *   "requests", "ok_requests", "success_rate", "ttft_ms": {"p50", "p95",
 *   "runs"}}], sorted by region; [] when none. The caller owns it. */
json_t *regions_json(const struct board_entry *e, int64_t now_ms);
/* The hub's pooled ledger of e (scoring/region_ledger.h region_ledger_view's
 * document), or JSON null when it has none. The caller owns it. */
json_t *regions_ledger_json(const struct board_entry *e);
#endif
