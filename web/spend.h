/*
 * spend: what serve's probes cost, per relay and for the whole board, on
 * the pages and in the JSON (issue 18).
 *
 * Today's figures are serve's budget counts (struct board_spend: tokens
 * billed and their cost at the claimed models' official prices, read back
 * from the database after a restart), beside the budget's caps; the
 * tokens of the last 24 hours and 30 days come from the hour and day
 * buckets (stored rollups, so they survive a restart too). The rollups keep
 * tokens, not money: older spend is in tokens only.
 *
 * Renderers only: they read a board view (web/model.h) under its lock.
 */
#ifndef ASSAY_SPEND_H
#define ASSAY_SPEND_H

#include <jansson.h>

#include "base/util.h"
#include "web/model.h"

/* GET /api/v1/spend: {"day", "tokens_today", "usd_today", "budget",
 * "tokens_24h", "tokens_30d", "relays": [{"relay", ...the same}]}; a
 * budget is {"tokens_per_day", "usd_per_day"} (0: no cap) or null. */
json_t *spend_json(const struct board_view *v);
void render_spend_json(const struct board_view *v, struct buf *out);

/* The relay page's line ("Probe spend: ...") and /about's card (the board
 * and each relay), escaped. */
void spend_relay_html(struct buf *b, const struct board_view *v, const struct board_relay *r);
void spend_board_html(struct buf *b, const struct board_view *v);

#endif
