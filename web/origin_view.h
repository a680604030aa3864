/*
 * origin_view: the backend origin of a relay's Claude requests on its page
 * and in the JSON API: the channel it claims (config `channel:`) and the
 * requests each backend served (scoring/origin.h) in each window, from the
 * board's buckets. Relay-supplied text never reaches it (backend and
 * channel names are ours); what is printed is escaped all the same.
 */
#ifndef ASSAY_WEB_ORIGIN_VIEW_H
#define ASSAY_WEB_ORIGIN_VIEW_H

#include <jansson.h>

#include "base/util.h"
#include "web/model.h"

/* The section of a relay-model's page; nothing when no Claude request was
 * read in any window. w: the entry's windows (entry_window). */
void render_origin(struct buf *b, const struct board_entry *e, const struct window w[WIN__COUNT]);
/* {"channel": NAME|"unclaimed", "requests": {WINDOW: {BACKEND: n}}}; the
 * caller owns it. */
json_t *origin_json(const struct board_entry *e, int64_t now_ms);

#endif
