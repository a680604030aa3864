/*
 * internal: the store's private state, shared by the files of storage/ only.
 */
#ifndef ASSAY_STORE_INTERNAL_H
#define ASSAY_STORE_INTERNAL_H

#include <sqlite3.h>

#include "storage/store.h"

#define STORE__RES 3

enum stmt {
	STMT_INSERT_RUN,
	STMT_INSERT_OBS,
	STMT_ROLLUP_MINUTE,
	STMT_ROLLUP_HOUR,
	STMT_ROLLUP_DAY,
	STMT_ROLLUP_ERROR,
	STMT_TARGET_FIND,
	STMT_TARGET_INSERT,
	STMT_TARGET_API,
	STMT_SEGMENT_LAST,
	STMT_SEGMENT_INSERT,
	STMT_SEGMENT_EXTEND,
	STMT_INCIDENT_OPEN_FIND,
	STMT_INCIDENT_INSERT,
	STMT_INCIDENT_UPDATE,
	STMT__COUNT
};

/* An incident state machine (see damper_feed in store.c). */
struct damper {
	int bad, good; /* runs in a row */
	int64_t first_bad_ms, first_good_ms;
	int64_t open_id; /* 0: no open incident */
	int64_t opened_ms;
	long failed_runs;
	char *cause, *detail;
};

/* What saving needs to know about a relay and model without a query. */
struct stored_target {
	int64_t id;
	char *relay, *model;
	int64_t seg_id; /* 0: no segment yet */
	char *seg_verdict, *seg_classes;
	int64_t seg_first_ms, seg_last_ms;
	long seg_runs;
	struct damper outage, misbehaving;
};

struct store {
	sqlite3 *db;
	char *path;
	int readonly;
	sqlite3_stmt *stmt[STMT__COUNT]; /* writer only */
	struct stored_target **targets;
	size_t n_targets;
	char *scratch_findings; /* the last outcome's findings JSON */
	/* retention's position: next target whose rollups are trimmed */
	int64_t retention_target;
	sqlite3_stmt *retention[16]; /* retention.c's statements, prepared once */
};

int store_exec(struct store *s, const char *sql, char *err, size_t errlen);
void store_bind_text(sqlite3_stmt *st, int i, const char *v);
const char *store_rollup_table(enum store_resolution res);
/* Drop the cached per-target state (after a failed transaction). */
void store_forget_targets(struct store *s);

#endif
