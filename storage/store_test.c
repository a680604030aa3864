/*
 * store_test: the tests' hooks (storage/store_test.h), on either engine.
 */
#include "storage/store_test.h"

#include <stdio.h>

#include "storage/internal.h"

int
store_test_scalar(struct store *s, const char *sql, char *out, size_t n)
{
	struct db_stmt *st = db_prepare(s->db, sql);
	if (st == NULL) {
		snprintf(out, n, "%s", db_errmsg(s->db));
		return -1;
	}
	int rc = db_step(st);
	if (rc == DB_ROW) {
		const char *v = db_column_text(st, 0);
		snprintf(out, n, "%s", v ? v : "NULL");
	} else if (rc == DB_ERROR) {
		snprintf(out, n, "%s", db_errmsg(s->db));
	}
	db_finalize(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int
store_test_exec(struct store *s, const char *sql, char *err, size_t n)
{
	return store_exec(s, sql, err, n);
}
