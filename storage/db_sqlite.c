/*
 * db_sqlite: storage/db.h on SQLite, the embedded default.
 *
 * Statements are prepared persistent. The shared SQL numbers its parameters
 * $1..$n; SQLite takes "$1" as a parameter's name and gives names indexes in
 * the order they first appear, so at prepare time each $n is looked up by
 * name (sqlite3_bind_parameter_index) into a small map: binding $n binds
 * the right slot whatever the order or repetition in the text.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "storage/db.h"

struct sqlite_db {
	struct db base;
	sqlite3 *handle;
	char error[512];
};

struct sqlite_stmt {
	struct db_stmt base;
	sqlite3_stmt *st;
	int slot[DB_MAX_PARAMS + 1]; /* $n -> SQLite's index, 0: unused */
	long changes;
};

static struct sqlite_db *
sdb(const struct db *db)
{
	return (struct sqlite_db *)db;
}

static struct sqlite_stmt *
sst(struct db_stmt *st)
{
	return (struct sqlite_stmt *)st;
}

static void
keep_error(struct sqlite_db *d, const char *msg)
{
	snprintf(d->error, sizeof d->error, "%s", msg ? msg : sqlite3_errmsg(d->handle));
}

static void sqlite_close(struct db *db);

static struct db *
sqlite_open(const char *address, const char *password, int readonly, char *err, size_t errlen)
{
	(void)password;
	struct sqlite_db *d = xcalloc(1, sizeof *d);
	d->base.ops = &db_sqlite_ops;
	d->base.engine = DB_SQLITE;
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(address, &d->handle, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database '%s': %s", address,
		         d->handle ? sqlite3_errmsg(d->handle) : "out of memory");
		sqlite_close(&d->base);
		return NULL;
	}
	return &d->base;
}

static void
sqlite_close(struct db *db)
{
	struct sqlite_db *d = sdb(db);
	sqlite3_close(d->handle);
	free(d);
}

static const char *
sqlite_errmsg(const struct db *db)
{
	return sdb(db)->error;
}

static void
sqlite_set_busy_ms(struct db *db, int ms)
{
	sqlite3_busy_timeout(sdb(db)->handle, ms);
}

static int
sqlite_exec(struct db *db, const char *sql)
{
	struct sqlite_db *d = sdb(db);
	char *msg = NULL;
	if (sqlite3_exec(d->handle, sql, NULL, NULL, &msg) != SQLITE_OK) {
		keep_error(d, msg);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
sqlite_begin(struct db *db)
{
	return sqlite_exec(db, "BEGIN IMMEDIATE");
}

static int
sqlite_commit(struct db *db)
{
	return sqlite_exec(db, "COMMIT");
}

static void
sqlite_rollback(struct db *db)
{
	char *msg = NULL;
	sqlite3_exec(sdb(db)->handle, "ROLLBACK", NULL, NULL, &msg); /* keeps the first error */
	sqlite3_free(msg);
}

static struct db_stmt *
sqlite_prepare(struct db *db, const char *sql)
{
	struct sqlite_db *d = sdb(db);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(d->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		keep_error(d, NULL);
		sqlite3_finalize(st);
		return NULL;
	}
	struct sqlite_stmt *s = xcalloc(1, sizeof *s);
	s->base.db = db;
	s->st = st;
	for (int n = 1; n <= DB_MAX_PARAMS; n++) {
		char name[16];
		snprintf(name, sizeof name, "$%d", n);
		s->slot[n] = sqlite3_bind_parameter_index(st, name);
	}
	return &s->base;
}

static void
sqlite_finalize(struct db_stmt *st)
{
	sqlite3_finalize(sst(st)->st);
	free(st);
}

static void
sqlite_reset(struct db_stmt *st)
{
	sqlite3_reset(sst(st)->st);
	sqlite3_clear_bindings(sst(st)->st);
}

/* SQLite's index of $i, 0 when the statement does not use it. */
static int
slot(struct db_stmt *st, int i)
{
	return i >= 1 && i <= DB_MAX_PARAMS ? sst(st)->slot[i] : 0;
}

static void
sqlite_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	if (slot(st, i))
		sqlite3_bind_int64(sst(st)->st, slot(st, i), v);
}

static void
sqlite_bind_double(struct db_stmt *st, int i, double v)
{
	if (slot(st, i))
		sqlite3_bind_double(sst(st)->st, slot(st, i), v);
}

static void
sqlite_bind_text(struct db_stmt *st, int i, const char *v)
{
	if (!slot(st, i))
		return;
	if (v != NULL)
		sqlite3_bind_text(sst(st)->st, slot(st, i), v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(sst(st)->st, slot(st, i));
}

static void
sqlite_bind_blob(struct db_stmt *st, int i, const void *v, size_t n)
{
	if (slot(st, i))
		sqlite3_bind_blob64(sst(st)->st, slot(st, i), v, n, SQLITE_TRANSIENT);
}

static void
sqlite_bind_null(struct db_stmt *st, int i)
{
	if (slot(st, i))
		sqlite3_bind_null(sst(st)->st, slot(st, i));
}

static enum db_step
sqlite_step(struct db_stmt *st)
{
	struct sqlite_db *d = sdb(st->db);
	int rc = sqlite3_step(sst(st)->st);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE) {
		sst(st)->changes = (long)sqlite3_changes(d->handle);
		return DB_DONE;
	}
	keep_error(d, NULL);
	return DB_ERROR;
}

static long
sqlite_changes(struct db_stmt *st)
{
	return sst(st)->changes;
}

static int
sqlite_column_null(struct db_stmt *st, int i)
{
	return sqlite3_column_type(sst(st)->st, i) == SQLITE_NULL;
}

static int64_t
sqlite_column_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(sst(st)->st, i);
}

static double
sqlite_column_double(struct db_stmt *st, int i)
{
	return sqlite3_column_double(sst(st)->st, i);
}

static const char *
sqlite_column_text(struct db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(sst(st)->st, i);
}

const struct db_ops db_sqlite_ops = {
    .open = sqlite_open,
    .close = sqlite_close,
    .errmsg = sqlite_errmsg,
    .set_busy_ms = sqlite_set_busy_ms,
    .exec = sqlite_exec,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .prepare = sqlite_prepare,
    .finalize = sqlite_finalize,
    .reset = sqlite_reset,
    .bind_int64 = sqlite_bind_int64,
    .bind_double = sqlite_bind_double,
    .bind_text = sqlite_bind_text,
    .bind_blob = sqlite_bind_blob,
    .bind_null = sqlite_bind_null,
    .step = sqlite_step,
    .changes = sqlite_changes,
    .column_null = sqlite_column_null,
    .column_int64 = sqlite_column_int64,
    .column_double = sqlite_column_double,
    .column_text = sqlite_column_text,
};
