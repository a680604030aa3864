/*
 * board: the in-memory status of every relay and model that the pages show,
 * and the cache of rendered documents.
 *
 * The event-loop thread records runs, verdict segments and incidents; the
 * web threads read. Documents are rendered on demand from a consistent view
 * (a read lock) into immutable, reference-counted blobs and cached by URL
 * key; a change bumps the generation of what it touches (everything for
 * lists, one relay for its pages), and a cached blob is reused while its
 * generation holds, or for BOARD_MIN_REFRESH_MS after a change (or
 * BOARD_RENDER_SHARE times its last render's cost, when that is longer:
 * on a board of 10,000 relay-models that agents change hundreds of times
 * a second, a list of megabytes that takes seconds to render is rendered
 * with at most 1/BOARD_RENDER_SHARE of a core), and never longer than
 * BOARD_MAX_AGE_MS. A request that hits the cache costs one lock,
 * one reference and a write: no query, no render. A stale key is rendered by
 * one thread while the others keep serving the old blob.
 */
#ifndef ASSAY_BOARD_H
#define ASSAY_BOARD_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "storage/store.h"
#include "web/model.h"

#define BOARD_MIN_REFRESH_MS 500
#define BOARD_RENDER_SHARE 20
#define BOARD_MAX_AGE_MS 30000
#define BOARD_CACHE_MAX 4096 /* cached documents; past it, render uncached */

struct board;

/* An immutable rendered document, and its gzip encoding when it is worth
 * one (cached documents of BOARD_GZIP_MIN bytes or more). */
struct blob {
	char *data;
	size_t len;
	char *gz; /* NULL: none */
	size_t gz_len;
	const char *content_type;
	atomic_int refs;
	int64_t rendered_ms;
};
#define BOARD_GZIP_MIN 1024

/* Create and free. */

struct board *board_new(const char *title);
void board_free(struct board *b);

/* Changes (the event-loop thread, or a loader). */

/* Make a relay and model known before its first run ("pending"); it runs
 * (whatever board_not_running said of it before). */
void board_declare(struct board *b, const char *relay, const char *model, const char *api,
                   int64_t interval_ms);
/* Early warning for relay's model (scoring/warning.h): why it is at risk,
 * shown beside its verdict; NULL: it is not. */
void board_at_risk(struct board *b, const char *relay, const char *model, const char *why);
/* What relay's balance showed against our use (serve's billing audit), a
 * sentence; bad: an over-charge or a drain. NULL: nothing to say. */
void board_billing(struct board *b, const char *relay, const char *text, int bad);
/* What relay's probes (relay NULL: every relay's) spent today, serve's
 * budget counts (copied; known is set). */
struct board_spend;
void board_spend(struct board *b, const char *relay, const struct board_spend *spend);
/* The config (or a spent budget) keeps relay's model from running, for why
 * (FILE:LINE: ...): shown as "not running" with why, its history kept.
 * why NULL: it runs again. */
void board_not_running(struct board *b, const char *relay, const char *model, const char *why);
/*
 * Record a run's outcome. findings is borrowed (copied). The counts and the
 * verdict (each bucket keeps its worst) go into the 5-minute slice, hour
 * and day buckets of at_ms, and the run into the recent ring (percentiles,
 * time up); ttft_ms/tokens_per_s < 0 are unknown.
 * errors (may be NULL) counts the run's requests by error class.
 */
struct board_run {
	const char *relay, *model, *verdict, *reason;
	const char *api; /* may be NULL */
	json_t *findings;
	int64_t at_ms;
	long runs; /* usually 1 */
	long requests, ok_requests;
	long tokens_spent;
	double ttft_ms, tokens_per_s;
	const long *errors; /* [ERR__COUNT] or NULL */
	const char *listed; /* the model list's state (scoring/listing.h); NULL:
	                     * the run did not ask, the last one stands */
	const char *listed_note;
	long listed_models;
	json_t *security;    /* the run's security posture (scoring/posture.h
	                      * posture_json), borrowed; NULL: the last stands */
	const int *origin;   /* [BOARD_ORIGINS] Claude requests per backend
	                      * (scoring/origin.h), or NULL */
	const char *channel; /* the channel claimed; NULL: unclaimed */
};
void board_record(struct board *b, const struct board_run *run);
/* A probe agent's run of relay/model from its region (the hub, cli/hub.c):
 * the relay page's per-region columns (web/regions.h). Ignored for a
 * relay-model the board does not know (board_declare, board_record). */
struct board_region_run;
void board_region_run(struct board *b, const struct board_region_run *run);
/* The hub's pooled ledger of relay/model over its agents' evidence
 * (cli/hub.c; web/regions.h regions_set_ledger): verdict, the pages' view
 * and the decided classes as findings (borrowed, copied). Ignored for a
 * relay-model the board does not know. */
void board_agents_ledger(struct board *b, const char *relay, const char *model, const char *verdict,
                         json_t *view, json_t *findings);
/* Insert or update a verdict segment / an incident (by id). */
void board_segment(struct board *b, const struct timeline_segment *seg);
void board_incident(struct board *b, const struct timeline_incident *inc);
/* Add a stored rollup bucket (a minute one goes into its 5-minute slice). */
void board_bucket(struct board *b, enum store_resolution res, const struct store_bucket *bk);
/* The documents are for a static copy (`assay export`): absolute times
 * instead of "3 min ago", which a file would freeze. */
void board_set_static(struct board *b);
/* Database figures for /about. */
void board_set_about(struct board *b, const struct store_stats *st,
                     const struct store_retention *r);

/*
 * Load everything the pages show from s: latest verdicts, 12 hours of
 * minute buckets (into 5-minute slices), 8 days of hour buckets, 92 days of
 * day buckets (each marked with the worst verdict of the stored segments
 * it overlaps), the last day's runs one by one (at most BOARD_RECENT each),
 * recent segments and incidents, and the stored title when board_new had
 * none. 0, or -1 with a message in err.
 */
int board_load(struct board *b, struct store *s, char *err, size_t errlen);

/* Documents. */

/* Write a document for view v into out. */
typedef void (*board_render_fn)(const struct board_view *v, void *arg, struct buf *out);
/*
 * The document for key (a canonical URL), rendered by fn if not cached or
 * stale. scope: the relay id the document depends on, or -1 for all.
 * Release the result with board_put().
 */
struct blob *board_render(struct board *b, const char *key, long scope, const char *type,
                          board_render_fn fn, void *arg);
/*
 * Stale-while-revalidate: with a refresher set, a request for a cached
 * document that is stale gets the cached one at once, and the document's
 * key (its canonical URL) is handed to refresh(b, key, arg) on a thread of
 * the board's own, which renders it again (board_render with that key:
 * web/site.c routes it). A request renders itself only a document never
 * rendered, or one refresh did not render. refresh NULL: the thread is
 * stopped (joined) and requests render stale documents themselves, as
 * without one. Call from one thread at a time (web_start, web_stop).
 */
void board_set_refresher(struct board *b,
                         void (*refresh)(struct board *b, const char *key, void *arg), void *arg);
/* Render without caching (small or one-off documents). */
struct blob *board_render_uncached(struct board *b, const char *type, board_render_fn fn,
                                   void *arg);
/* A blob from a static string (not copied; never freed). */
struct blob *board_static(const char *data, const char *type);
void board_put(struct blob *blob);

/* The entry of an endpoint key in view v (a render function's), or NULL:
 * a hash lookup, not a walk of 10,000 entries. */
const struct board_entry *board_view_entry(const struct board_view *v, const char *key);
/* Relay lookups for routing, under the read lock: the relay id of a relay
 * key, the relay id of an endpoint key; -1 when unknown (hash lookups). */
long board_relay_by_key(struct board *b, const char *key);
long board_relay_of_endpoint(struct board *b, const char *key);
/* Is name a model key some entry has? */
int board_has_model_key(struct board *b, const char *key);

/*
 * Server-Sent Events (web/server.c, GET /api/v1/events): the board counts
 * its entries' changes; board_events appends an "entry" event (id: the
 * change's number, data: the entry as in /api/v1/relays) for each entry
 * changed after since, oldest change first, at most max of them, and
 * returns the number of the last one sent (since when none; 0 restarts
 * from the beginning when since is newer than the board, as after a
 * restart).
 */
uint64_t board_seq(struct board *b);
uint64_t board_events(struct board *b, uint64_t since, size_t max, struct buf *out);

/* Run fn with the read lock held over the current view (export, tests). */
void board_with_view(struct board *b, void (*fn)(const struct board_view *v, void *arg), void *arg);

#endif
