/*
 * replica: a store's reads from a PostgreSQL streaming replica
 * (`database_read`), its writes to the primary (`database`).
 *
 * store_reader() picks the connection a read that tolerates lag goes to;
 * everything else (writes, and the reads that must see what was just
 * written: see "Which reads" below) uses the primary, s->db, directly.
 *
 * Lag: a replica replays the primary's write-ahead log some time behind it.
 * The replica is read only while it has replayed a position the primary
 * was at at most STORE_REPLICA_MAX_LAG_MS ago: each check (at most every
 * STORE_REPLICA_CHECK_MS, on the caller's thread) asks the replica whether
 * its pg_last_wal_replay_lsn() has reached the primary's
 * pg_current_wal_lsn() sampled at the check before; reached, the primary is
 * sampled again. The first sample is taken at open, so nothing a read sees
 * on the replica is older than what the primary held when the store opened
 * (a restarted serve's pages miss no run of the serve before it). A
 * position is bytes of log, not time: an idle primary's does not move, so
 * an idle replica is never "behind".
 *
 * States of the replica:
 *   starting -> ok            it replayed the sample taken at open
 *   ok -> behind              a sample not reached within the lag bound
 *   behind -> ok              caught up to a sample younger than the bound
 *   any -> down               it cannot be reached or a query failed
 *   any -> not_standby        libpq found no standby among its hosts
 *                             (prefer-standby chose a primary): read the
 *                             primary itself rather than another server
 *   down, not_standby -> (tried again every STORE_REPLICA_RETRY_MS)
 * Reads go to the replica in `ok` only, else to the primary. Each change
 * of state is said once on stderr (loudly: the primary then carries the
 * reads), never per read. A try of a replica that does not answer
 * never holds the caller: its connection is made step by step, one step at
 * each look that finds the socket ready (libpq's PQconnectPoll), and given
 * up after STORE_REPLICA_CONNECT_MS.
 *
 * Which reads (the store's callers, storage/): to the replica go those
 * behind the pages and the export, which a few seconds of lag only delay:
 * store_each_summary, store_each_bucket, store_uptime, store_each_segment,
 * store_each_incident, store_each_recent_run, store_title, and the hub's
 * reads of the agents' runs (store_each_agent_run*, store_agent_runs_since,
 * store_agent_cursor_read: the agents write to the primary, the hub only
 * reads them). On the primary stay the reads whose result decides a write
 * and would be wrong a run late: migrations' schema version (it decides
 * whether to migrate), the writable check, target_get (the row id it may
 * have just inserted), store_restore (the segment ids the next run
 * updates, the ledger's window), store_spend_since (budgets: a lagging
 * count lets a run pass a cap), the canaries (a use of a canary planted a
 * moment ago), the open region outages (a restarted hub would declare an
 * outage twice), store_stats and retention.
 */
#include "storage/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "storage/store_test.h"

enum replica_state {
	REPLICA_STARTING,
	REPLICA_OK,
	REPLICA_BEHIND,
	REPLICA_DOWN,
	REPLICA_NOT_STANDBY
};

struct store_replica {
	char *address;               /* holds no password (refused at open) */
	char *password;              /* kept for reconnects; wiped at close */
	struct db *db;               /* NULL while it could not be opened */
	int connecting;              /* db's connection not made yet */
	int64_t connect_us;          /* when it was started (now_us) */
	struct db_stmt *at;          /* on the replica: in recovery, replayed $1 */
	struct db_stmt *primary_lsn; /* on the primary */
	enum replica_state state;
	int said;             /* state last said (-1: none) */
	int64_t checked_us;   /* the last check (now_us) */
	char pending_lsn[32]; /* the primary's position the replica must reach */
	int64_t pending_us;   /* when it was sampled */
	int64_t check_us, max_lag_us, retry_us;
	char why[256]; /* why down, for the one message */
};

static const char *const replica_sql =
    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery()"
    " THEN coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) END";

/* Sample the primary's position into pending. 0, or -1. */
static int
sample_primary(struct store *s, struct store_replica *r)
{
	if (r->primary_lsn == NULL &&
	    (r->primary_lsn = db_prepare(s->db, "SELECT pg_current_wal_lsn()::text")) == NULL)
		return -1;
	db_reset(r->primary_lsn);
	int rc = db_step(r->primary_lsn);
	if (rc == DB_ROW && db_column_text(r->primary_lsn, 0) != NULL) {
		snprintf(r->pending_lsn, sizeof r->pending_lsn, "%s",
		         db_column_text(r->primary_lsn, 0));
		r->pending_us = now_us();
	}
	db_reset(r->primary_lsn);
	return rc == DB_ROW ? 0 : -1;
}

static void
say(struct store_replica *r)
{
	if (r->said == (int)r->state)
		return;
	int was = r->said;
	r->said = (int)r->state;
	switch (r->state) {
	case REPLICA_OK:
		fprintf(stderr, "assay: database_read '%s': reads come from the replica%s\n",
		        r->address, was > REPLICA_OK ? " again" : "");
		break;
	case REPLICA_BEHIND:
		fprintf(stderr,
		        "assay: database_read '%s': the replica is more than %g s behind the "
		        "primary: reads go to the primary until it catches up\n",
		        r->address, (double)r->max_lag_us / 1e6);
		break;
	case REPLICA_DOWN:
		fprintf(stderr,
		        "assay: database_read '%s': the replica cannot be read (%s): reads go to "
		        "the primary, the replica is tried again every %g s\n",
		        r->address, r->why, (double)r->retry_us / 1e6);
		break;
	case REPLICA_NOT_STANDBY:
		fprintf(stderr,
		        "assay: database_read '%s': no standby answered (the server reached is "
		        "not in recovery): reads go to the primary, tried again every %g s\n",
		        r->address, (double)r->retry_us / 1e6);
		break;
	case REPLICA_STARTING:
		break;
	}
}

static void
went_down(struct store_replica *r, const char *why)
{
	snprintf(r->why, sizeof r->why, "%s", why && *why ? why : "unknown error");
	r->state = REPLICA_DOWN;
	say(r);
}

/*
 * The replica's connection, made without waiting: started, then stepped at
 * each look (db_postgres_connect_step) until made, so that a replica whose
 * host does not answer never holds the caller's loop. 1 when usable, 0
 * while not yet (reads go to the primary), -1 when it failed or took over
 * STORE_REPLICA_CONNECT_MS (down, said).
 */
#define STORE_REPLICA_CONNECT_MS 10000
static int
connect_replica(struct store_replica *r)
{
	char err[512];
	if (r->db == NULL) {
		r->db = db_postgres_start_reader(r->address, r->password, err, sizeof err);
		if (r->db == NULL) {
			went_down(r, err);
			return -1;
		}
		r->connecting = 1;
		r->connect_us = now_us();
	}
	if (!r->connecting)
		return 1;
	int rc = db_postgres_connect_step(r->db);
	if (rc == 0 && now_us() - r->connect_us <= STORE_REPLICA_CONNECT_MS * 1000LL)
		return 0;
	if (rc == 1) {
		r->connecting = 0;
		/* a read that would wait for a lock (replay holds one for the
		 * primary's DDL or a vacuum's truncation) gives up soon: the
		 * caller is an event loop, and the primary can answer */
		db_set_busy_ms(r->db, 250);
		return 1;
	}
	snprintf(err, sizeof err, "%s", rc == 0 ? "no answer within 10 s" : db_errmsg(r->db));
	db_close(r->db);
	r->db = NULL;
	r->connecting = 0;
	went_down(r, err);
	return -1;
}

/* One look at the replica: its state brought up to date (said). */
static void
check(struct store *s, struct store_replica *r)
{
	r->checked_us = now_us();
	if (connect_replica(r) != 1)
		return;
	if (r->pending_lsn[0] == '\0' && sample_primary(s, r) != 0)
		return; /* the primary's own trouble: its callers say it */
	if (r->at == NULL && (r->at = db_prepare(r->db, replica_sql)) == NULL) {
		went_down(r, db_errmsg(r->db));
		return;
	}
	db_reset(r->at);
	db_bind_text(r->at, 1, r->pending_lsn);
	if (db_step(r->at) != DB_ROW) {
		went_down(r, db_errmsg(r->db));
		db_reset(r->at);
		return;
	}
	const char *recovery = db_column_text(r->at, 0);
	const char *reached = db_column_text(r->at, 1);
	int standby = recovery != NULL && strcmp(recovery, "t") == 0;
	int caught_up = reached != NULL && strcmp(reached, "t") == 0;
	db_reset(r->at);
	if (!standby) {
		r->state = REPLICA_NOT_STANDBY;
		say(r);
		return;
	}
	int64_t age = r->checked_us - r->pending_us;
	if (caught_up) {
		/* it replayed where the primary was `age` ago: read it if that is
		 * within the bound; the next check needs a newer position */
		if (age <= r->max_lag_us)
			r->state = REPLICA_OK;
		sample_primary(s, r);
	} else if (age > r->max_lag_us) {
		r->state = REPLICA_BEHIND;
	}
	if (r->state != REPLICA_STARTING)
		say(r);
}

struct db *
store_reader(struct store *s)
{
	struct store_replica *r = s->replica;
	if (r == NULL)
		return s->db;
	int64_t since = now_us() - r->checked_us;
	int resting = r->state == REPLICA_DOWN || r->state == REPLICA_NOT_STANDBY;
	if (since >= (resting ? r->retry_us : r->check_us)) {
		if (resting) {
			/* a fresh session: libpq walks the hosts again */
			db_finalize(r->at);
			r->at = NULL;
			db_close(r->db);
			r->db = NULL;
			r->connecting = 0;
			r->state = REPLICA_STARTING;
			r->pending_lsn[0] = '\0';
		}
		check(s, r);
	}
	return r->state == REPLICA_OK ? r->db : s->db;
}

void
store_replica_failed(struct store *s, struct db *db)
{
	struct store_replica *r = s->replica;
	if (r == NULL || r->db != db || r->state != REPLICA_OK)
		return;
	r->checked_us = now_us();
	went_down(r, db_errmsg(db));
}

int
store_replica_open(struct store *s, const char *address, const char *password, int64_t max_lag_ms,
                   char *err, size_t errlen)
{
	if (store_check_address(address, err, errlen) != 0)
		return -1;
	struct store_replica *r = xcalloc(1, sizeof *r);
	r->address = xstrdup(address);
	r->password = password ? xstrdup(password) : NULL;
	r->said = -1;
	r->check_us = STORE_REPLICA_CHECK_MS * 1000;
	r->max_lag_us = (max_lag_ms > 0 ? max_lag_ms : STORE_REPLICA_MAX_LAG_MS) * 1000;
	r->retry_us = STORE_REPLICA_RETRY_MS * 1000;
	s->replica = r;
	/* the position every read on the replica must have: the primary's
	 * now, after the migrations */
	sample_primary(s, r);
	/* a replica that does not answer is no reason not to start: said,
	 * and the primary reads until it does. One that answers is given a
	 * moment to replay the sample (what was just migrated or written by
	 * the process before): a one-shot export would otherwise read the
	 * primary whole while a busy replica is a few hundred ms behind */
	int64_t until = now_us() + STORE_REPLICA_OPEN_WAIT_MS * 1000LL;
	for (;;) {
		check(s, r);
		if (r->state != REPLICA_STARTING || now_us() >= until)
			break;
		struct timespec pause = {0, 50 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	return 0;
}

void
store_replica_close(struct store *s)
{
	struct store_replica *r = s->replica;
	if (r == NULL)
		return;
	db_finalize(r->at);
	db_finalize(r->primary_lsn);
	db_close(r->db);
	if (r->password != NULL) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r->address);
	free(r);
	s->replica = NULL;
}

int
store_reads_from_replica(struct store *s)
{
	return s->replica != NULL && store_reader(s) != s->db;
}

void
store_replica_timing(struct store *s, int64_t check_ms, int64_t max_lag_ms, int64_t retry_ms)
{
	struct store_replica *r = s->replica;
	if (r == NULL)
		return;
	r->check_us = check_ms * 1000;
	r->max_lag_us = max_lag_ms * 1000;
	r->retry_us = retry_ms * 1000;
}
