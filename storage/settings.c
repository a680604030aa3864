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
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "INSERT INTO settings(name, value) VALUES('title', ?1)"
	                       " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(s->last_error, sizeof s->last_error, "%s", sqlite3_errmsg(s->db));
		return -1;
	}
	store_bind_text(st, 1, title);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		snprintf(s->last_error, sizeof s->last_error, "%s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_title(struct store *s, char *out, size_t n)
{
	sqlite3_stmt *st;
	/* an older database, opened read-only, has no such table: none stored */
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM settings WHERE name = 'title'", -1, &st,
	                       NULL) != SQLITE_OK)
		return 0;
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		snprintf(out, n, "%s", v ? v : "");
		found = v != NULL && *v != '\0';
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}
