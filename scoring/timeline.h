/*
 * timeline: what a relay's history records, as policy. Runs of one verdict
 * and finding classes in a row are one segment; failing runs in a row open
 * an incident, good ones in a row resolve it (damping: one failure never
 * opens one). The timeline decides; storage keeps what it decided
 * (storage/store.h) and the pages show it.
 *
 * A timeline holds, per relay and model, the open segment and the two
 * incident dampers (outage: no request of a run succeeded; misbehaving: the
 * run's verdict). It starts empty: the caller restores each target's state
 * from storage (timeline_restore_*) before applying runs to it. One thread
 * uses a timeline.
 */
#ifndef ASSAY_TIMELINE_H
#define ASSAY_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "probes/audit.h"
#include "scoring/verdict.h"

/* Failing runs in a row that open an incident, and good runs in a row that
 * resolve it. */
#define TIMELINE_OPEN_AFTER 3
#define TIMELINE_RESOLVE_AFTER 2

/* A stretch of consecutive runs with the same verdict and finding classes.
 * reason and findings are those of the latest run. */
struct timeline_segment {
	int64_t id; /* 0: not stored yet (a new segment) */
	const char *relay, *model;
	int64_t first_ms, last_ms;
	long runs;
	const char *verdict, *classes, *reason;
	const char *findings_json; /* array */
};

/* An incident. kind is "outage" or "misbehaving". */
struct timeline_incident {
	int64_t id; /* 0: not stored yet (just opened) */
	const char *relay, *model, *kind;
	int64_t opened_ms;
	int64_t resolved_ms; /* 0 while open */
	const char *cause;   /* outage: the commonest error class; misbehaving: finding class */
	const char *detail;  /* relay-supplied text (escape it) */
	long failed_runs;
};

/* What one run changed: the segment it extended or opened, and the
 * incidents it opened, extended or resolved. Strings are the timeline's,
 * valid until its next call. */
struct timeline_change {
	struct timeline_segment segment;
	/* a new segment: the verdict of the one before it ("" when this is the
	 * target's first, as far as the timeline knows, restored ones
	 * included); "" when the run extended a segment */
	char prev_verdict[16];
	int new_segment;
	struct timeline_incident incidents[2];
	size_t n_incidents;
};

struct timeline;

struct timeline *timeline_new(void);
void timeline_free(struct timeline *t);

/* Restoring a target's state from storage (start-up, or after a failed
 * save): its latest segment, its open incidents. Strings are copied. */
void timeline_restore_segment(struct timeline *t, const struct timeline_segment *seg);
void timeline_restore_incident(struct timeline *t, const struct timeline_incident *inc);
/* Forget a target's state (its save failed: storage is behind). */
void timeline_forget(struct timeline *t, const char *relay, const char *model);

/*
 * Apply a finished run and its (window's) assessment: fills out with what
 * the history records. findings_json is the assessment's findings array
 * (copied).
 */
void timeline_apply(struct timeline *t, const struct audit_run *run, const struct assessment *a,
                    const char *findings_json, struct timeline_change *out);
/* Storage gave ids to what out created (segment_id for a new segment,
 * incident_ids[i] for a new incident i; 0 where nothing was created). */
void timeline_stored(struct timeline *t, const struct timeline_change *out, int64_t segment_id,
                     const int64_t *incident_ids);

#endif
