/*
 * settings: the site's own settings by name (schema 9's settings table):
 * the board's title, written by serve at start-up and read by
 * `assay export --db` (web/board.c board_load) when no config is given.
 */
#include "storage/internal.h"

#include <stdio.h>
#include <string.h>

int
store_set_title(struct store *s, const char *title)
{
	if (title == NULL)
		return 0;
	struct db_stmt *st;
	if ((st = db_prepare(s->db, "INSERT INTO settings(name, value) VALUES('title', $1)"
	                            " ON CONFLICT(name) DO UPDATE SET value = excluded.value")) ==
	    NULL) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
		return -1;
	}
	db_bind_text(st, 1, title);
	int rc = db_step(st);
	if (rc != DB_DONE)
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(s->db));
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

int
store_title(struct store *s, char *out, size_t n)
{
	struct db_stmt *st;
	/* an older database, opened read-only, has no such table: none stored */
	if ((st = db_prepare(store_reader(s), "SELECT value FROM settings WHERE name = 'title'")) ==
	    NULL)
		return 0;
	int rc = db_step(st), found = 0;
	if (rc == DB_ROW) {
		const char *v = db_column_text(st, 0);
		snprintf(out, n, "%s", v ? v : "");
		found = v != NULL && *v != '\0';
	}
	db_finalize(st);
	return rc == DB_ROW || rc == DB_DONE ? found : -1;
}
