/*
 * db_postgres: storage/db.h on PostgreSQL, through libpq, for a store that
 * agents in several regions and a hub share.
 *
 * Address: a libpq connection URI (postgres://user@host:port/db?...). A
 * password in it is refused: it would be read back in `ps`, configs and
 * messages; the password comes apart (store_open_env: from the environment
 * variable the config names) and goes to libpq as its own keyword, never
 * into a message. libpq's own sources (PGPASSFILE, a unix socket's peer
 * authentication) still work.
 *
 * Statements are server-side prepared (PQprepare, once per connection; the
 * number of parameters from PQdescribePrepared); parameters go as text,
 * blobs as binary; rows come back as text, one at a time (single-row mode:
 * see struct pg_stmt). The connection
 * is blocking: every call waits for the server, bounded by connect_timeout
 * (10 s) and tcp_user_timeout (10 s) below, and by lock_timeout for locks
 * (db_set_busy_ms): a database that stops answering stalls the caller (the
 * event loop) up to 10 s a try, said, and the run waits in its queue.
 *
 * States of a connection: ok -> lost (the server went away: a call failed
 * with CONNECTION_BAD) -> ok again when db_begin, db_exec or a step outside
 * a transaction re-establishes it (PQreset); `generation` counts the
 * sessions, and a statement prepared in an earlier one is prepared again
 * before it runs. Inside a transaction a lost connection is an error: what
 * the transaction did is gone, and running on would commit half of it.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "storage/db.h"

struct pg_stmt;

struct pg_db {
	struct db base;
	PGconn *conn;
	int readonly;
	int busy_ms;
	int in_transaction;
	/* db_postgres_start_reader's connection not yet made: what
	 * PQconnectPoll waits for (PGRES_POLLING_READING or _WRITING) */
	int connecting;
	PostgresPollingStatusType want;
	unsigned generation; /* sessions so far: a reconnect starts a new one */
	unsigned next_name;
	struct pg_stmt *streaming; /* whose rows are coming over the wire now */
	char error[512];
};

/*
 * A statement's rows. Rows are streamed one at a time (libpq's single-row
 * mode), so a query of millions of rows (a hub's start-up) never sits in
 * memory whole. A connection carries one streaming query at a time: when
 * another statement needs it (an interleaved read, like store_each_bucket's
 * merge of three queries, or any write), the rest of the streaming one is
 * read ahead into its buffer first (quiesce), and it goes on from there.
 *   idle -> streaming -> done; streaming -> buffered (read ahead) -> done
 */
enum pg_state { PG_IDLE, PG_STREAMING, PG_BUFFERED, PG_DONE };

struct pg_stmt {
	struct db_stmt base;
	char *sql;
	char name[24];
	unsigned generation; /* the session it is prepared in, 0: none */
	int nparams;
	char *values[DB_MAX_PARAMS];
	int lengths[DB_MAX_PARAMS];
	int formats[DB_MAX_PARAMS];
	enum pg_state state;
	int failed;    /* the statement ended in an error (done) */
	PGresult *row; /* the current row (a one-row result), or NULL */
	PGresult **ahead;
	size_t n_ahead, at_ahead, cap_ahead;
	long changes;
};

static void quiesce(struct pg_db *d);

static struct pg_db *
pdb(const struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *
pst(struct db_stmt *st)
{
	return (struct pg_stmt *)st;
}

/* Keep msg (libpq's, ending in a newline) as the last error, on one line. */
static void
keep_error(struct pg_db *d, const char *msg)
{
	snprintf(d->error, sizeof d->error, "%s", msg && *msg ? msg : "unknown PostgreSQL error");
	/* one line: libpq's newlines and tab indents become single spaces */
	char *w = d->error;
	for (const char *p = d->error; *p; p++) {
		char c = *p == '\n' || *p == '\t' ? ' ' : *p;
		if (c == ' ' && (w == d->error || w[-1] == ' '))
			continue;
		*w++ = c;
	}
	while (w > d->error && w[-1] == ' ')
		w--;
	*w = '\0';
}

static void
ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs (IF NOT EXISTS and the like) are not ours to print */
}

/* The session's settings, after connecting and after each reconnect. */
static int
session_setup(struct pg_db *d)
{
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SET client_min_messages = warning; SET lock_timeout = %d;"
	         " SET default_transaction_read_only = %s",
	         d->busy_ms, d->readonly ? "on" : "off");
	PGresult *r = PQexec(d->conn, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		keep_error(d, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

/* 0 when the connection is usable, re-establishing a lost one outside a
 * transaction; -1 with the reason kept. */
static int
connection_ok(struct pg_db *d)
{
	if (PQstatus(d->conn) == CONNECTION_OK)
		return 0;
	if (d->in_transaction) {
		keep_error(d, "the connection to the database was lost in a transaction");
		return -1;
	}
	PQreset(d->conn);
	if (PQstatus(d->conn) != CONNECTION_OK) {
		keep_error(d, PQerrorMessage(d->conn));
		return -1;
	}
	d->generation++;
	return session_setup(d);
}

static void pg_close(struct db *db);

int
db_postgres_check_address(const char *address, char *err, size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(address, &perr);
	if (opts == NULL) {
		/* libpq's message may quote the address: it holds no password here
		 * only if parsed, so say it without the message */
		snprintf(err, errlen,
		         "malformed PostgreSQL address (expected postgres://USER@HOST/DB)");
		PQfreemem(perr);
		return -1;
	}
	int has_password = 0;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0')
			has_password = 1;
	PQconninfoFree(opts);
	if (has_password) {
		snprintf(err, errlen,
		         "the PostgreSQL address holds a password: give it in the environment "
		         "variable named by database_password_env instead");
		return -1;
	}
	return 0;
}

/*
 * Open address; reader: the connection a store reads from a replica with
 * (database_read, db_postgres_start_reader); nonblocking: only started
 * (PQconnectStartParams), made by db_postgres_connect_step. A reader
 * prefers a hot standby among the address's hosts (libpq's
 * target_session_attrs=prefer-standby, PostgreSQL 14 and later: a standby
 * if one answers, else any server; the address may ask for another, e.g.
 * standby), and its established connection gives up sooner on a peer
 * that stops acknowledging (tcp_user_timeout 3 s): the store reads the
 * primary meanwhile, so waiting long for a replica buys nothing and stalls
 * the caller's loop. (connect_timeout is the blocking connect's; the
 * store bounds a stepped one itself, storage/replica.c.)
 */
static struct db *
open_conn(const char *address, const char *password, int readonly, int reader, int nonblocking,
          char *err, size_t errlen)
{
	if (db_postgres_check_address(address, err, errlen) != 0)
		return NULL;
	struct pg_db *d = xcalloc(1, sizeof *d);
	d->base.ops = &db_postgres_ops;
	d->base.engine = DB_POSTGRES;
	d->readonly = readonly;
	d->busy_ms = 5000;
	d->generation = 1;
	/* expand_dbname: the address is a URI whose parts libpq reads; the
	 * keywords after it fill what it does not say */
	const char *keys[10], *values[10];
	int n = 0;
	/* libpq keeps the last value of a key word repeated: those before
	 * dbname are defaults the address may change, those after are ours */
	if (reader)
		keys[n] = "target_session_attrs", values[n++] = "prefer-standby";
	keys[n] = "dbname", values[n++] = address;
	keys[n] = "connect_timeout", values[n++] = reader ? "2" : "10";
	keys[n] = "tcp_user_timeout", values[n++] = reader ? "3000" : "10000";
	keys[n] = "keepalives_idle", values[n++] = "30";
	keys[n] = "application_name", values[n++] = "assay";
	if (password != NULL && *password != '\0')
		keys[n] = "password", values[n++] = password;
	keys[n] = NULL, values[n] = NULL;
	if (nonblocking) {
		/* libpq's own state machine, stepped by db_postgres_connect_step
		 * (its first step is as after PGRES_POLLING_WRITING) */
		d->conn = PQconnectStartParams(keys, values, 1);
		if (d->conn == NULL || PQstatus(d->conn) == CONNECTION_BAD) {
			keep_error(d, d->conn ? PQerrorMessage(d->conn) : "out of memory");
			snprintf(err, errlen, "cannot connect to database '%s': %s", address,
			         d->error);
			pg_close(&d->base);
			return NULL;
		}
		d->connecting = 1;
		d->want = PGRES_POLLING_WRITING;
		return &d->base;
	}
	d->conn = PQconnectdbParams(keys, values, 1);
	if (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK) {
		keep_error(d, d->conn ? PQerrorMessage(d->conn) : "out of memory");
		snprintf(err, errlen, "cannot connect to database '%s': %s", address, d->error);
		pg_close(&d->base);
		return NULL;
	}
	PQsetNoticeProcessor(d->conn, ignore_notice, NULL);
	if (session_setup(d) != 0) {
		snprintf(err, errlen, "cannot set up database '%s': %s", address, d->error);
		pg_close(&d->base);
		return NULL;
	}
	return &d->base;
}

static struct db *
pg_open(const char *address, const char *password, int readonly, char *err, size_t errlen)
{
	return open_conn(address, password, readonly, 0, 0, err, errlen);
}

struct db *
db_postgres_start_reader(const char *address, const char *password, char *err, size_t errlen)
{
	if (!db_is_postgres(address)) {
		snprintf(err, errlen, "a read replica is a PostgreSQL address (postgres://...)");
		return NULL;
	}
	return open_conn(address, password, 1, 1, 1, err, errlen);
}

int
db_postgres_connect_step(struct db *db)
{
	struct pg_db *d = pdb(db);
	while (d->connecting) {
		struct pollfd p = {.fd = PQsocket(d->conn),
		                   .events = d->want == PGRES_POLLING_READING ? POLLIN : POLLOUT};
		if (p.fd < 0) {
			keep_error(d, PQerrorMessage(d->conn));
			return -1;
		}
		int n = poll(&p, 1, 0);
		if (n == 0 || (n < 0 && errno == EINTR))
			return 0; /* not ready: the next step goes on */
		if (n < 0) {
			keep_error(d, strerror(errno));
			return -1;
		}
		PostgresPollingStatusType st = PQconnectPoll(d->conn);
		if (st == PGRES_POLLING_FAILED) {
			keep_error(d, PQerrorMessage(d->conn));
			return -1;
		}
		if (st == PGRES_POLLING_OK) {
			d->connecting = 0;
			PQsetNoticeProcessor(d->conn, ignore_notice, NULL);
			return session_setup(d) == 0 ? 1 : -1;
		}
		d->want = st == PGRES_POLLING_READING ? st : PGRES_POLLING_WRITING;
	}
	return 1;
}

static void
pg_close(struct db *db)
{
	struct pg_db *d = pdb(db);
	PQfinish(d->conn);
	free(d);
}

static const char *
pg_errmsg(const struct db *db)
{
	return pdb(db)->error;
}

static void
pg_set_busy_ms(struct db *db, int ms)
{
	struct pg_db *d = pdb(db);
	quiesce(d);
	d->busy_ms = ms;
	char sql[64];
	snprintf(sql, sizeof sql, "SET lock_timeout = %d", ms);
	PQclear(PQexec(d->conn, sql));
}

static int
pg_exec(struct db *db, const char *sql)
{
	struct pg_db *d = pdb(db);
	quiesce(d);
	if (connection_ok(d) != 0)
		return -1;
	PGresult *r = PQexec(d->conn, sql);
	ExecStatusType rc = PQresultStatus(r);
	int ok = rc == PGRES_COMMAND_OK || rc == PGRES_TUPLES_OK;
	if (!ok)
		keep_error(d, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

static int
pg_begin(struct db *db)
{
	struct pg_db *d = pdb(db);
	d->in_transaction = 0;
	if (pg_exec(db, "BEGIN") != 0)
		return -1;
	d->in_transaction = 1;
	return 0;
}

static int
pg_commit(struct db *db)
{
	struct pg_db *d = pdb(db);
	int rc = pg_exec(db, "COMMIT");
	d->in_transaction = 0;
	return rc;
}

static void
pg_rollback(struct db *db)
{
	struct pg_db *d = pdb(db);
	quiesce(d);
	if (PQstatus(d->conn) == CONNECTION_OK)
		PQclear(PQexec(d->conn, "ROLLBACK")); /* keeps the first error */
	d->in_transaction = 0;
}

/* Drain the results of the query on the wire (an error kept), to NULL. */
static void
drain(struct pg_db *d)
{
	PGresult *r;
	while ((r = PQgetResult(d->conn)) != NULL)
		PQclear(r);
}

/* The next result of s's streaming query: a row (returned, owned by the
 * caller), or NULL at its end, with s done (failed on an error). */
static PGresult *
next_row(struct pg_stmt *s)
{
	struct pg_db *d = (struct pg_db *)s->base.db;
	PGresult *r = PQgetResult(d->conn);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (r != NULL && st == PGRES_SINGLE_TUPLE)
		return r;
	if (r != NULL && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)) {
		const char *n = PQcmdTuples(r);
		s->changes = n && *n ? strtol(n, NULL, 10) : 0;
	} else {
		s->failed = 1;
		keep_error(d, r ? PQresultErrorMessage(r) : PQerrorMessage(d->conn));
		if (PQstatus(d->conn) != CONNECTION_OK)
			keep_error(d, PQerrorMessage(d->conn));
	}
	PQclear(r);
	drain(d);
	s->state = PG_DONE;
	d->streaming = NULL;
	return NULL;
}

/* Another statement needs the connection: the rows still coming to the
 * streaming one are read ahead into its buffer. */
static void
quiesce(struct pg_db *d)
{
	struct pg_stmt *s = d->streaming;
	if (s == NULL)
		return;
	PGresult *r;
	while ((r = next_row(s)) != NULL) {
		if (s->n_ahead == s->cap_ahead) {
			s->cap_ahead = s->cap_ahead ? 2 * s->cap_ahead : 64;
			s->ahead = xrealloc(s->ahead, s->cap_ahead * sizeof *s->ahead);
		}
		s->ahead[s->n_ahead++] = r;
	}
	s->state = PG_BUFFERED; /* next_row made it done: its rows are ahead */
}

/* Prepare st in the current session: 0, or -1 with the reason kept. */
static int
prepare_now(struct pg_stmt *s)
{
	struct pg_db *d = pdb(s->base.db);
	quiesce(d);
	snprintf(s->name, sizeof s->name, "assay_%u", ++d->next_name);
	PGresult *r = PQprepare(d->conn, s->name, s->sql, 0, NULL);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		keep_error(d, PQresultErrorMessage(r));
	PQclear(r);
	if (!ok)
		return -1;
	r = PQdescribePrepared(d->conn, s->name);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (ok)
		s->nparams = PQnparams(r);
	else
		keep_error(d, PQresultErrorMessage(r));
	PQclear(r);
	if (!ok)
		return -1;
	if (s->nparams > DB_MAX_PARAMS) {
		keep_error(d, "a statement has too many parameters");
		return -1;
	}
	s->generation = d->generation;
	return 0;
}

static struct db_stmt *
pg_prepare(struct db *db, const char *sql)
{
	struct pg_db *d = pdb(db);
	if (connection_ok(d) != 0)
		return NULL;
	struct pg_stmt *s = xcalloc(1, sizeof *s);
	s->base.db = db;
	s->sql = xstrdup(sql);
	if (prepare_now(s) != 0) {
		free(s->sql);
		free(s);
		return NULL;
	}
	return &s->base;
}

static void
clear_values(struct pg_stmt *s)
{
	for (int i = 0; i < DB_MAX_PARAMS; i++) {
		free(s->values[i]);
		s->values[i] = NULL;
		s->lengths[i] = 0;
		s->formats[i] = 0;
	}
}

/* Forget s's rows: an unfinished query on the wire is read to its end. */
static void
forget_rows(struct pg_stmt *s)
{
	struct pg_db *d = pdb(s->base.db);
	if (d->streaming == s) {
		PGresult *r;
		while ((r = next_row(s)) != NULL)
			PQclear(r);
	}
	PQclear(s->row);
	s->row = NULL;
	for (size_t i = s->at_ahead; i < s->n_ahead; i++)
		PQclear(s->ahead[i]);
	s->n_ahead = s->at_ahead = 0;
	s->state = PG_IDLE;
	s->failed = 0;
	s->changes = 0;
}

static void
pg_reset(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	forget_rows(s);
	clear_values(s);
}

static void
pg_finalize(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	struct pg_db *d = pdb(st->db);
	pg_reset(st);
	free(s->ahead);
	quiesce(d);
	/* inside a failed transaction DEALLOCATE would fail too: the statement
	 * then goes with the session (rare: a failed save, then retried) */
	if (s->generation == d->generation && PQstatus(d->conn) == CONNECTION_OK &&
	    PQtransactionStatus(d->conn) != PQTRANS_INERROR) {
		char sql[48];
		snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
		PQclear(PQexec(d->conn, sql));
	}
	free(s->sql);
	free(s);
}

static void
set_value(struct db_stmt *st, int i, char *v, int length, int format)
{
	struct pg_stmt *s = pst(st);
	if (i < 1 || i > DB_MAX_PARAMS) {
		free(v);
		return;
	}
	free(s->values[i - 1]);
	s->values[i - 1] = v;
	s->lengths[i - 1] = length;
	s->formats[i - 1] = format;
}

static void
pg_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	set_value(st, i, xasprintf("%lld", (long long)v), 0, 0);
}

static void
pg_bind_double(struct db_stmt *st, int i, double v)
{
	set_value(st, i, xasprintf("%.17g", v), 0, 0);
}

static void
pg_bind_text(struct db_stmt *st, int i, const char *v)
{
	set_value(st, i, v ? xstrdup(v) : NULL, 0, 0);
}

static void
pg_bind_blob(struct db_stmt *st, int i, const void *v, size_t n)
{
	char *copy = xmalloc(n > 0 ? n : 1);
	memcpy(copy, v, n);
	set_value(st, i, copy, (int)n, 1);
}

static void
pg_bind_null(struct db_stmt *st, int i)
{
	set_value(st, i, NULL, 0, 0);
}

static enum db_step
pg_step(struct db_stmt *st)
{
	struct pg_stmt *s = pst(st);
	struct pg_db *d = pdb(st->db);
	PQclear(s->row);
	s->row = NULL;
	if (s->state == PG_IDLE) {
		quiesce(d);
		if (connection_ok(d) != 0)
			return DB_ERROR;
		if (s->generation != d->generation && prepare_now(s) != 0)
			return DB_ERROR;
		if (!PQsendQueryPrepared(d->conn, s->name, s->nparams,
		                         (const char *const *)s->values, s->lengths, s->formats,
		                         0)) {
			keep_error(d, PQerrorMessage(d->conn));
			s->state = PG_DONE;
			s->failed = 1;
			return DB_ERROR;
		}
		PQsetSingleRowMode(d->conn);
		s->state = PG_STREAMING;
		d->streaming = s;
	}
	if (s->state == PG_STREAMING) {
		s->row = next_row(s);
		if (s->row != NULL)
			return DB_ROW;
	} else if (s->state == PG_BUFFERED) {
		if (s->at_ahead < s->n_ahead) {
			s->row = s->ahead[s->at_ahead++];
			return DB_ROW;
		}
		s->state = PG_DONE;
	}
	return s->failed ? DB_ERROR : DB_DONE;
}

static long
pg_changes(struct db_stmt *st)
{
	return pst(st)->changes;
}

/* The current row's column i, NULL for an SQL NULL or no row. */
static const char *
value(struct db_stmt *st, int i)
{
	struct pg_stmt *s = pst(st);
	if (s->row == NULL || PQntuples(s->row) < 1 || i >= PQnfields(s->row) ||
	    PQgetisnull(s->row, 0, i))
		return NULL;
	return PQgetvalue(s->row, 0, i);
}

static int
pg_column_null(struct db_stmt *st, int i)
{
	return value(st, i) == NULL;
}

static int64_t
pg_column_int64(struct db_stmt *st, int i)
{
	const char *v = value(st, i);
	if (v == NULL)
		return 0;
	/* a sum of integers is numeric, an average a float: read them alike */
	if (strpbrk(v, ".eE") != NULL)
		return (int64_t)strtod(v, NULL);
	return strtoll(v, NULL, 10);
}

static double
pg_column_double(struct db_stmt *st, int i)
{
	const char *v = value(st, i);
	return v ? strtod(v, NULL) : 0;
}

static const char *
pg_column_text(struct db_stmt *st, int i)
{
	return value(st, i);
}

const struct db_ops db_postgres_ops = {
    .open = pg_open,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .set_busy_ms = pg_set_busy_ms,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .changes = pg_changes,
    .column_null = pg_column_null,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
};
