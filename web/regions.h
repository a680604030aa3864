/*
 * regions: what the probe agents of each region saw of a relay-model, as
 * the hub's pages show it (issue 20): each region's latest state, its
 * success share and latency percentiles over 24 hours, and how fresh it is.
 *
 * The hub (cli/hub.c) feeds the agents' runs (agent_runs) to the board
 * (board_region_run); the board keeps them here, per entry, under its
 * write lock; renderers read them under the read lock. Nothing is kept for
 * an entry no agent wrote about (a board without a hub pays one pointer).
 *
 * Region names come from the shared store, written by agents: they are
 * copied sanitized (valid UTF-8, at most REGION_NAME_MAX bytes) and escaped
 * on output like every other string. Memory: at most BOARD_REGIONS_MAX
 * regions an entry (more are counted in dropped, never kept), each a fixed
 * REGION_HOURS hour buckets and REGION_RECENT runs.
 */
#ifndef ASSAY_REGIONS_H
#define ASSAY_REGIONS_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#define BOARD_REGIONS_MAX 16 /* as the quorum's QUORUM_REGIONS_MAX */
#define REGION_NAME_MAX 32
#define REGION_HOURS 24   /* the window: 24 hour buckets, the current one included */
#define REGION_RECENT 128 /* the latest runs kept one by one (latency percentiles) */

struct board_entry;

struct region_hour {
	int64_t index; /* hour number since the epoch; -1 unused */
	uint32_t runs, requests, ok;
};

struct region_recent {
	int64_t at_ms;
	float ttft_ms; /* the run's median; < 0 unknown */
};

struct board_region {
	char name[REGION_NAME_MAX + 1];
	/* the latest run */
	int64_t last_ms;
	long last_requests, last_ok;
	double last_ttft_ms; /* < 0 unknown */
	char last_error[24]; /* its main failure ("none" when all succeeded) */
	char last_verdict[16];
	struct region_hour hours[REGION_HOURS];
	struct region_recent recent[REGION_RECENT]; /* a ring from recent_start */
	size_t recent_start, n_recent;
};

struct board_regions {
	struct board_region *r; /* sorted by name */
	size_t n;
	long dropped; /* runs of regions past BOARD_REGIONS_MAX */
	/* the hub's pooled ledger over every region's evidence
	 * (scoring/region_ledger.h): its view for the pages (NULL: none yet),
	 * its decided classes as findings, and its verdict's verdict_rank() */
	json_t *ledger, *ledger_findings;
	int ledger_rank;
	/* the entry's own latest verdict, reason and findings (the hub's own
	 * runs), kept once a ledger is laid over them */
	int own_kept;
	char *own_verdict, *own_reason;
	json_t *own_findings;
};

/* One agent's run, as the hub read it (strings borrowed). */
struct board_region_run {
	const char *region, *relay, *model;
	const char *verdict;     /* may be NULL */
	const char *error_class; /* its main failure; may be NULL */
	int64_t at_ms;           /* when it finished */
	long requests, ok_requests;
	double ttft_ms; /* its median time to first token; < 0 unknown */
};

/* Add run to *regions (allocated on first use). A run older than its
 * region's latest still counts in the window but does not change the
 * latest state. */
void regions_add(struct board_regions **regions, const struct board_region_run *run);
void regions_free(struct board_regions *regions);
/*
 * The hub's ledger of e (region_ledger_view, region_ledger_findings;
 * borrowed, copied) and its verdict. The entry's verdict shown is the worse
 * of its own latest and the ledger's, when the ledger's is suspect or
 * misbehaving: then the reason says so and the ledger's findings replace
 * the entry's own of their classes. Under the board's write lock.
 */
void regions_set_ledger(struct board_entry *e, const char *verdict, json_t *view, json_t *findings);
/* The entry's own run just set its verdict (board_record): keep it, and lay
 * the ledger's over it again. Nothing without a ledger. */
void regions_own_run(struct board_entry *e);

/* A region's figures at now_ms, for the pages, the JSON and /metrics. */
enum region_state { REGION_UP, REGION_DOWN, REGION_STALE };
extern const char *const region_state_names[3]; /* "up", "down", "stale" */
struct region_summary {
	const struct board_region *region;
	enum region_state state; /* of the latest run; stale past 3 intervals */
	int64_t age_ms;          /* since the latest run finished */
	long runs, requests, ok; /* over the window */
	double share;            /* ok / requests; -1 without a request */
	double p50, p95;         /* of the runs' median TTFT (ms); -1 none */
	long latency_runs;
};
/* Summarize region r of entry e (its interval sets freshness: three of
 * them, as the hub's quorum; 15 minutes when it has none). */
void region_summarize(const struct board_entry *e, const struct board_region *r, int64_t now_ms,
                      struct region_summary *out);

#endif
