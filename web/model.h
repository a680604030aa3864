/*
 * model: what the pages are rendered from: each relay and model's latest
 * verdict, hour and day buckets, verdict history and incidents, all in
 * memory; and the statistics the pages derive from them (uptime windows,
 * Wilson intervals, the leaderboard score).
 *
 * Buckets are rings indexed by hour or day number since the epoch: a slot
 * holds the bucket whose index it carries, or nothing. Renderers get a
 * read-only view (struct board_view) and must not keep pointers into it.
 */
#ifndef ASSAY_MODEL_H
#define ASSAY_MODEL_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "scoring/stats.h" /* stats_wilson() for uptime intervals */
#include "probes/observation.h"
#include "storage/store.h"

#define BOARD_HOURS 170   /* a week of hours, and the current one */
#define BOARD_DAYS 92     /* 90 days, and the current one */
#define BOARD_SEGMENTS 12 /* verdict history kept per relay and model */
#define BOARD_INCIDENTS 12
#define BOARD_SLICES 144 /* 12 hours of 5-minute slices: charts from the first run */
#define BOARD_RECENT 512 /* the latest runs kept one by one (percentiles, time up) */

#define SLICE_MS 300000LL

#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

/* Claude requests per backend (scoring/origin.h enum origin_backend
 * order), at least ORIGIN__COUNT */
#define BOARD_ORIGINS 8

struct bucket {
	int64_t index; /* hour or day number; -1 unused */
	uint32_t runs, requests, ok, ttft_n, tps_n;
	uint64_t tokens;
	double ttft_sum, ttft_sq, tps_sum, tps_sq;
	uint32_t errors[ERR__COUNT];
	uint32_t origin[BOARD_ORIGINS]; /* rollup_origin's counts */
	uint8_t worst;                  /* the worst verdict seen (verdict_rank()); 0: none */
};

/*
 * Verdicts by how bad a day they make: 0 none, 1 genuine, 2 inconclusive,
 * 3 unreachable, 4 suspect, 5 misbehaving. A day bar shows its worst.
 */
int verdict_rank(const char *verdict);
const char *verdict_of_rank(int rank); /* NULL for 0 */

/* One run as the pages remember it (the latest BOARD_RECENT of them). */
struct recent_run {
	int64_t at_ms;
	float ttft_ms, tokens_per_s; /* the run's medians; < 0 unknown */
	uint16_t requests, ok;
};

struct segment {
	int64_t id, first_ms, last_ms;
	long runs;
	char *verdict, *reason;
	json_t *findings;
};

struct incident {
	int64_t id;
	char *kind, *cause, *detail;
	int64_t opened_ms, resolved_ms; /* resolved_ms 0: open */
	long failed_runs;
};

struct board_relay;
struct board_regions; /* web/regions.h */
struct board_index;   /* web/board.c */
struct board;         /* web/board.h */

/* What serve's probes spent on one UTC day, per relay or for the whole
 * board (serve's budget counts, web/spend.h): tokens billed and their cost
 * at the claimed models' official prices, with the budget's caps. */
struct board_spend {
	int known;   /* 0: serve has said nothing (an export, no budget run yet) */
	int64_t day; /* UTC day number (ms / DAY_MS) */
	long tokens;
	double usd;
	long cap_tokens; /* a day; 0: no cap */
	double cap_usd;
};

struct board_entry {
	char *relay, *model, *api;
	char *key;       /* endpoint key for URLs: "relay_model", slugged, unique */
	char *model_key; /* the model's slug, for leaderboard filters */
	struct board_relay *group;
	uint64_t seq; /* the board's change count at its latest change (events) */
	/* the board's changed entries, in change order (board_events) */
	struct board_entry *changed_prev, *changed_next;
	/* its latest change's event as the first viewer's stream rendered it
	 * (web/board.c: made under the read lock, freed under the write lock) */
	struct entry_event *_Atomic event;
	char *verdict; /* NULL while pending */
	char *reason;
	char *not_running; /* the config keeps it from running: why (NULL: runs) */
	char *at_risk;     /* early warning (scoring/warning.h): why; NULL: none */
	json_t *findings;  /* array, owned */
	int64_t interval_ms;
	int64_t last_run_ms;
	double ttft_ms, tokens_per_s; /* latest run; -1 unknown */
	char *listed, *listed_note;   /* what the relay's model list said at the
	                               * latest run that asked; NULL: never asked */
	long listed_models;
	char *channel;    /* the channel the relay claims (config channel:), owned;
	                   * NULL: unclaimed */
	json_t *security; /* the latest run's posture (posture_json), owned; NULL:
	                   * none yet (pages from memory: a restart shows it
	                   * after the first run) */
	struct bucket hours[BOARD_HOURS];
	struct bucket days[BOARD_DAYS];
	struct bucket slices[BOARD_SLICES];     /* by 5-minute slice (minute rollups) */
	struct recent_run recent[BOARD_RECENT]; /* a ring in time order from
	                                         * recent_start; n_recent used */
	size_t recent_start, n_recent;
	struct segment segments[BOARD_SEGMENTS]; /* oldest first */
	size_t n_segments;
	struct incident incidents[BOARD_INCIDENTS]; /* oldest first */
	size_t n_incidents;
	struct board_regions *regions; /* the hub's agents' runs by region
	                                * (web/regions.h); NULL: none */
};

struct board_relay {
	char *name, *key;
	char *billing;                /* what its balance showed against our use, a sentence
	                               * (serve's billing audit); NULL: not looked at */
	int billing_bad;              /* ... and it is an over-charge or a drain */
	struct board_spend spend;     /* today's probe spend (serve) */
	size_t id;                    /* stable: its cache scope */
	struct board_entry **entries; /* sorted by model */
	size_t n;
};

struct board_about {
	int has_store;
	struct store_stats stats;
	struct store_retention retention;
	int64_t started_ms;
	int64_t stats_ms; /* when stats were taken */
};

struct board_view {
	const char *title;
	struct board_entry *const *entries; /* sorted by relay, model */
	size_t n;
	struct board_relay *const *relays; /* sorted by name */
	size_t n_relays;
	const struct board_about *about;
	int64_t now_ms;
	int static_copy;                  /* rendered for `assay export`: absolute times only */
	uint64_t seq;                     /* the board's change count (the events' ids) */
	const struct board_spend *spend;  /* the whole board's today */
	const struct board_index *by_key; /* entries by endpoint key (web/board.h
	                                   * board_view_entry) */
	/* the board's own (board_view_breathe, _unlock below) */
	struct board *board;
	int locked; /* the board's data lock is held for this view */
};

/* ---- Long renders (web/board.c keeps the lock) ---- */

/*
 * A long render (every relay-model of a board of 10,000: /metrics, the
 * whole status API) holds the board's data lock for long, and a change
 * (the event loop's) waits for it. Called from inside a render function on
 * its view v, between parts: when a change waits, the lock is let go for
 * it (up to 20 ms) and taken again, and v is the board's as it is then
 * (more entries may have come; entries are never removed, and stay
 * sorted; v->now_ms stays the render's start). Nothing read from the
 * entries may be held across it but copies, and an index into v->entries
 * is no longer one (find the place again by key). The document is then
 * the board's over the render, not at one instant. Does nothing when no
 * change waits.
 */
void board_view_breathe(const struct board_view *v);
/* Where a walk of v->entries goes on after entry e (one of the board's:
 * entries are never freed), found again by its relay and model: the index
 * of the first entry after it. */
size_t board_view_after(const struct board_view *v, const struct board_entry *e);
/* A walk of every entry lets changes in (board_view_breathe) this often. */
#define BOARD_BREATHE_EVERY 500
/* The render reads the board no more (what is left is its own output,
 * e.g. a JSON tree to dump): the lock is let go now. v is not to be read
 * after. */
void board_view_unlock(const struct board_view *v);

/* Windows the pages show. */
enum window_id { WIN_24H, WIN_7D, WIN_30D, WIN_90D, WIN__COUNT };
extern const char *const window_names[WIN__COUNT]; /* "24h", "7d", "30d", "90d" */
/* -1 when name is none of them. */
int window_from_name(const char *name);

struct window {
	long runs, requests, ok;
	uint64_t tokens;
	long ttft_n, tps_n;
	double ttft_sum, ttft_sq, tps_sum, tps_sq;
	long errors[ERR__COUNT];
	long origin[BOARD_ORIGINS];
};
/* Sum of e's buckets over window w ending now (24h and 7d from hours,
 * 30d and 90d from days). */
void entry_window(const struct board_entry *e, enum window_id w, int64_t now_ms,
                  struct window *out);
/* The bucket of index in a ring, or NULL. */
const struct bucket *bucket_at(const struct bucket *ring, size_t n, int64_t index);

/* Mean and its 95 % interval from a count, sum and sum of squares; -1s when
 * n is 0. */
void mean_interval(long n, double sum, double sq, double *mean, double *lo, double *hi);

/*
 * The leaderboard score, 0-100, over the last 30 days:
 *   100 * honesty * (0.7 uptime + 0.15 ttft_factor + 0.15 speed_factor)
 * honesty: the verdict's, verdict_honesty() (scoring/verdict.h): weak
 * evidence is a hint and costs nothing. ttft_factor = 1 / (1 + ttft/1000
 * ms); speed_factor = tps / (tps + 50). lo and hi take each input at the pessimistic and optimistic
 * end of its interval. Unranked (ranked 0) until a verdict and some requests exist.
 */
struct score {
	int ranked;
	double honesty;
	long requests, ok, runs;
	double uptime, uptime_lo, uptime_hi;
	long ttft_n, tps_n;
	double ttft, ttft_lo, ttft_hi;
	double tps, tps_lo, tps_hi;
	double value, lo, hi;
};
void entry_score(const struct board_entry *e, int64_t now_ms, struct score *out);

/*
 * Percentiles (0-100) of the per-run medians of TTFT (metric 0) or tokens/s
 * (metric 1) of e's runs since since_ms, from the runs kept one by one
 * (nearest rank). *n gets how many runs had one; the values are -1 when
 * none.
 */
void entry_percentiles(const struct board_entry *e, int metric, int64_t since_ms, int64_t now_ms,
                       double *p50, double *p95, double *p99, long *n);

/*
 * Time up since since_ms, from the runs kept one by one: a run with
 * requests but no success is down from its start until the next run with
 * a success; any other run is up until the next run; the last run's state
 * holds until now (for at most two intervals, or 15 minutes without one).
 * *up_ms and *seen_ms get the time up and the time covered; -1 for the
 * share when nothing is covered.
 */
double entry_time_up(const struct board_entry *e, int64_t since_ms, int64_t now_ms, int64_t *up_ms,
                     int64_t *seen_ms);

/* A URL-safe slug of s: [a-z0-9._-], other bytes as '-'; caller frees. */
char *slugify(const char *s);

#endif
