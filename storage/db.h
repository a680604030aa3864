/*
 * db: the seam between storage/ and its two engines, private to storage/.
 *
 * SQLite (embedded, the default: a file name) and PostgreSQL through libpq
 * (an address "postgres://user@host:port/db" or "postgresql://..."). The
 * files of storage/ write their SQL once, in the dialect both engines speak:
 * parameters numbered $1..$n (SQLite reads "$1" as a named parameter, which
 * the SQLite backend looks up by name, so a number may repeat and come in any
 * order), INSERT ... RETURNING id for a new row's id, ON CONFLICT ... DO
 * UPDATE for upserts, standard functions only. What the engines cannot say
 * alike (the schema's DDL, size figures, transaction modes) is written twice,
 * side by side, and picked with db_engine(); no SQL text is ever rewritten.
 *
 * A connection is used by one thread at a time. A statement belongs to its
 * connection and is prepared once; after a lost PostgreSQL connection is
 * re-established (db_begin and db_exec try it) statements are prepared again
 * on their next step, transparently. Errors: db_errmsg() holds the engine's
 * message of the last failure; it never holds a password (none is ever part
 * of an address: db_open refuses one).
 */
#ifndef ASSAY_STORAGE_DB_H
#define ASSAY_STORAGE_DB_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct db_stmt;

enum db_engine { DB_SQLITE, DB_POSTGRES };
enum db_step { DB_ERROR = -1, DB_DONE = 0, DB_ROW = 1 };

/* The most parameters one statement takes. */
#define DB_MAX_PARAMS 32

/* Open and close. */

/* 1 when address names a PostgreSQL database (postgres:// or
 * postgresql://), else 0 (a SQLite file). */
int db_is_postgres(const char *address);
/*
 * Open address (readonly: no writes are possible through it). password
 * (PostgreSQL only, may be NULL) is handed to libpq apart from the address,
 * never copied into a message. NULL with a message in err on failure; the
 * message names the address (which holds no password) and the reason.
 */
struct db *db_open(const char *address, const char *password, int readonly, char *err,
                   size_t errlen);
/* PostgreSQL only: 0 when libpq parses address and it holds no password,
 * else -1 with the reason in err (never quoting the address). */
int db_postgres_check_address(const char *address, char *err, size_t errlen);
/*
 * PostgreSQL only: open address as a store's replica reader (read-only; a
 * hot standby preferred among its hosts, libpq's
 * target_session_attrs=prefer-standby unless the address says otherwise),
 * without waiting: the connection is started (libpq's PQconnectStartParams; only a host name's
 * look-up may block) and made by db_postgres_connect_step, called until it returns 1 (made and set
 * up: usable), or -1 (failed: the reason in db_errmsg; close it); 0: not yet, nothing waited for.
 * Nothing else may be called on it before it is made, but db_close. NULL with a message in err.
 */
struct db *db_postgres_start_reader(const char *address, const char *password, char *err,
                                    size_t errlen);
int db_postgres_connect_step(struct db *db);
void db_close(struct db *db);
enum db_engine db_engine(const struct db *db);
/* The engine's message of the last failure ("" if none). */
const char *db_errmsg(const struct db *db);
/* How long a statement waits for a lock held by another connection. */
void db_set_busy_ms(struct db *db, int ms);

/* Statements and transactions. */

/* Run sql (one or more statements, no parameters, no rows wanted). 0, or -1
 * with the reason in db_errmsg(). */
int db_exec(struct db *db, const char *sql);
/* A write transaction: SQLite's BEGIN IMMEDIATE (the write lock at once),
 * PostgreSQL's BEGIN. 0, or -1. */
int db_begin(struct db *db);
int db_commit(struct db *db);
/* Never fails loudly: after an error there may be nothing to roll back. */
void db_rollback(struct db *db);

/* Prepare sql: NULL with the reason in db_errmsg(). The statement is freed
 * with db_finalize (before its connection is closed). */
struct db_stmt *db_prepare(struct db *db, const char *sql);
void db_finalize(struct db_stmt *st);
/* Forget the bindings and the rows of the last step: ready to bind again. */
void db_reset(struct db_stmt *st);

/* Bind parameter $i (1-based) of st; a parameter the SQL does not use is
 * ignored. Text and blobs are copied. */
void db_bind_int64(struct db_stmt *st, int i, int64_t v);
void db_bind_double(struct db_stmt *st, int i, double v);
/* v NULL binds NULL. */
void db_bind_text(struct db_stmt *st, int i, const char *v);
void db_bind_blob(struct db_stmt *st, int i, const void *v, size_t n);
void db_bind_null(struct db_stmt *st, int i);
/* v when v >= 0, else NULL (a figure that was not measured). */
void db_bind_count(struct db_stmt *st, int i, int64_t v);

/* Run st (the first call after binding) and move to its next row: DB_ROW,
 * DB_DONE, or DB_ERROR with the reason in db_errmsg(). */
enum db_step db_step(struct db_stmt *st);
/* Rows the last step of an INSERT, UPDATE or DELETE changed. */
long db_changes(struct db_stmt *st);

/* Columns of the current row, from 0. */
int db_column_null(struct db_stmt *st, int i);
int64_t db_column_int64(struct db_stmt *st, int i);
double db_column_double(struct db_stmt *st, int i);
/* NULL for an SQL NULL; valid until the next step or reset. */
const char *db_column_text(struct db_stmt *st, int i);

/* What each engine implements (storage/db_sqlite.c, storage/db_postgres.c). */
struct db_ops {
	struct db *(*open)(const char *address, const char *password, int readonly, char *err,
	                   size_t errlen);
	void (*close)(struct db *db);
	const char *(*errmsg)(const struct db *db);
	void (*set_busy_ms)(struct db *db, int ms);
	int (*exec)(struct db *db, const char *sql);
	int (*begin)(struct db *db);
	int (*commit)(struct db *db);
	void (*rollback)(struct db *db);
	struct db_stmt *(*prepare)(struct db *db, const char *sql);
	void (*finalize)(struct db_stmt *st);
	void (*reset)(struct db_stmt *st);
	void (*bind_int64)(struct db_stmt *st, int i, int64_t v);
	void (*bind_double)(struct db_stmt *st, int i, double v);
	void (*bind_text)(struct db_stmt *st, int i, const char *v);
	void (*bind_blob)(struct db_stmt *st, int i, const void *v, size_t n);
	void (*bind_null)(struct db_stmt *st, int i);
	enum db_step (*step)(struct db_stmt *st);
	long (*changes)(struct db_stmt *st);
	int (*column_null)(struct db_stmt *st, int i);
	int64_t (*column_int64)(struct db_stmt *st, int i);
	double (*column_double)(struct db_stmt *st, int i);
	const char *(*column_text)(struct db_stmt *st, int i);
};

/* The first member of each engine's connection and statement. */
struct db {
	const struct db_ops *ops;
	enum db_engine engine;
};
struct db_stmt {
	struct db *db;
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_postgres_ops;

#endif
