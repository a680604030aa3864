/*
 * db: the engine-neutral calls of storage/db.h, each one line through the
 * connection's table of operations.
 */
#include "storage/db.h"

#include <string.h>

int
db_is_postgres(const char *address)
{
	return address != NULL && (strncmp(address, "postgres://", 11) == 0 ||
	                           strncmp(address, "postgresql://", 13) == 0);
}

struct db *
db_open(const char *address, const char *password, int readonly, char *err, size_t errlen)
{
	const struct db_ops *ops = db_is_postgres(address) ? &db_postgres_ops : &db_sqlite_ops;
	return ops->open(address, password, readonly, err, errlen);
}

void
db_close(struct db *db)
{
	if (db != NULL)
		db->ops->close(db);
}

enum db_engine
db_engine(const struct db *db)
{
	return db->engine;
}

const char *
db_errmsg(const struct db *db)
{
	return db->ops->errmsg(db);
}

void
db_set_busy_ms(struct db *db, int ms)
{
	db->ops->set_busy_ms(db, ms);
}

int
db_exec(struct db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int
db_begin(struct db *db)
{
	return db->ops->begin(db);
}

int
db_commit(struct db *db)
{
	return db->ops->commit(db);
}

void
db_rollback(struct db *db)
{
	db->ops->rollback(db);
}

struct db_stmt *
db_prepare(struct db *db, const char *sql)
{
	return db->ops->prepare(db, sql);
}

void
db_finalize(struct db_stmt *st)
{
	if (st != NULL)
		st->db->ops->finalize(st);
}

void
db_reset(struct db_stmt *st)
{
	st->db->ops->reset(st);
}

void
db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	st->db->ops->bind_int64(st, i, v);
}

void
db_bind_double(struct db_stmt *st, int i, double v)
{
	st->db->ops->bind_double(st, i, v);
}

void
db_bind_text(struct db_stmt *st, int i, const char *v)
{
	st->db->ops->bind_text(st, i, v);
}

void
db_bind_blob(struct db_stmt *st, int i, const void *v, size_t n)
{
	st->db->ops->bind_blob(st, i, v, n);
}

void
db_bind_null(struct db_stmt *st, int i)
{
	st->db->ops->bind_null(st, i);
}

void
db_bind_count(struct db_stmt *st, int i, int64_t v)
{
	if (v >= 0)
		db_bind_int64(st, i, v);
	else
		db_bind_null(st, i);
}

enum db_step
db_step(struct db_stmt *st)
{
	return st->db->ops->step(st);
}

long
db_changes(struct db_stmt *st)
{
	return st->db->ops->changes(st);
}

int
db_column_null(struct db_stmt *st, int i)
{
	return st->db->ops->column_null(st, i);
}

int64_t
db_column_int64(struct db_stmt *st, int i)
{
	return st->db->ops->column_int64(st, i);
}

double
db_column_double(struct db_stmt *st, int i)
{
	return st->db->ops->column_double(st, i);
}

const char *
db_column_text(struct db_stmt *st, int i)
{
	return st->db->ops->column_text(st, i);
}
