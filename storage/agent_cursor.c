/*
 * agent_cursor: the hub's read of the agents' runs that misses none
 * committed out of id order (storage/store.h, struct store_agent_cursor).
 *
 * State: `top`, the highest id given; `gaps`, ids below top not given yet
 * (never seen), each with when it was first passed over. Invariant: every
 * id at or below top is given, or in gaps, or was let go (older than
 * STORE_AGENT_GAP_MS, or beyond STORE_AGENT_GAPS): so nothing is given
 * twice, and nothing committed within the bound is missed. A read asks for
 * the gaps by id (PostgreSQL: id = ANY($1), an index look-up each), then
 * for the rows above top in id order, opening a gap for every id it steps
 * over.
 *
 * Wherever the store reads from (storage/replica.c: the replica, or the
 * primary while the replica lags or is down), this holds: a row the
 * primary showed and a lagging replica does not yet is at or below top,
 * given already; a row neither showed yet is above top or in a gap.
 */
#include "storage/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct gap {
	int64_t id;
	int64_t since_us; /* first passed over (now_us) */
};

struct store_agent_cursor {
	int64_t top;
	struct gap *gaps; /* in id order */
	size_t n_gaps, cap_gaps;
};

struct store_agent_cursor *
store_agent_cursor_new(int64_t after_id)
{
	struct store_agent_cursor *c = xcalloc(1, sizeof *c);
	c->top = after_id;
	return c;
}

void
store_agent_cursor_free(struct store_agent_cursor *c)
{
	if (c == NULL)
		return;
	free(c->gaps);
	free(c);
}

size_t
store_agent_cursor_gaps(const struct store_agent_cursor *c)
{
	return c->n_gaps;
}

/* Let go of the gaps older than the bound, and the oldest beyond the cap. */
static void
expire(struct store_agent_cursor *c, int64_t now)
{
	size_t w = 0;
	size_t over = c->n_gaps > STORE_AGENT_GAPS ? c->n_gaps - STORE_AGENT_GAPS : 0;
	for (size_t i = 0; i < c->n_gaps; i++) {
		/* ids grow with time: the lowest are the oldest */
		if (i < over || now - c->gaps[i].since_us > STORE_AGENT_GAP_MS * 1000LL)
			continue;
		c->gaps[w++] = c->gaps[i];
	}
	c->n_gaps = w;
}

static void
add_gap(struct store_agent_cursor *c, int64_t id, int64_t now)
{
	if (c->n_gaps == c->cap_gaps) {
		c->cap_gaps = c->cap_gaps ? 2 * c->cap_gaps : 64;
		c->gaps = xrealloc(c->gaps, c->cap_gaps * sizeof *c->gaps);
	}
	c->gaps[c->n_gaps++] = (struct gap){id, now};
}

static void
remove_gap(struct store_agent_cursor *c, int64_t id)
{
	for (size_t i = 0; i < c->n_gaps; i++)
		if (c->gaps[i].id == id) {
			memmove(&c->gaps[i], &c->gaps[i + 1],
			        (c->n_gaps - i - 1) * sizeof *c->gaps);
			c->n_gaps--;
			return;
		}
}

struct pass {
	struct store_agent_cursor *c;
	store_agent_run_cb cb;
	void *arg;
	int new_rows;  /* rows above top (else rows of gaps) */
	int keep_gaps; /* open a gap for each id a new row steps over */
	int64_t now;
	long given;
};

static void
pass_cb(const struct store_agent_run *r, void *arg)
{
	struct pass *p = arg;
	struct store_agent_cursor *c = p->c;
	if (p->new_rows) {
		if (r->id <= c->top)
			return; /* cannot be: the query asked for ids above top */
		/* a span wider than the cap is a jumped sequence, not commits in
		 * flight: only its last STORE_AGENT_GAPS ids are waited for */
		int64_t from = c->top + 1;
		if (r->id - from > STORE_AGENT_GAPS)
			from = r->id - STORE_AGENT_GAPS;
		for (int64_t id = from; p->keep_gaps && id < r->id; id++)
			add_gap(c, id, p->now);
		c->top = r->id;
	} else {
		remove_gap(c, r->id);
	}
	p->given++;
	p->cb(r, p->arg);
}

/* The gaps as a PostgreSQL array literal "{1,2,3}" (owned). */
static char *
gap_array(const struct store_agent_cursor *c)
{
	struct buf b;
	buf_init(&b, 0); /* our own digits, at most STORE_AGENT_GAPS of them */
	buf_puts(&b, "{");
	for (size_t i = 0; i < c->n_gaps; i++)
		buf_putf(&b, "%s%lld", i ? "," : "", (long long)c->gaps[i].id);
	buf_puts(&b, "}");
	return buf_take(&b, NULL);
}

/* Both reads on db (one server's view), into p: 0, or -1. */
static int
read_on(struct store *s, struct db *db, struct pass *p, int limit)
{
	struct store_agent_cursor *c = p->c;
	p->new_rows = 0;
	if (c->n_gaps > 0 && db_engine(db) == DB_POSTGRES) {
		struct db_stmt *st = db_prepare(
		    db, AGENT_RUN_COLUMNS " WHERE id = ANY($1::bigint[]) ORDER BY id LIMIT $2");
		if (st == NULL) {
			snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(db));
			return -1;
		}
		char *ids = gap_array(c);
		db_bind_text(st, 1, ids);
		db_bind_int64(st, 2, limit - p->given);
		free(ids);
		if (store_agent_each_row(s, db, st, pass_cb, p) != 0)
			return -1;
	}
	if (p->given >= limit)
		return 0;
	struct db_stmt *st =
	    db_prepare(db, AGENT_RUN_COLUMNS " WHERE id > $1 ORDER BY id LIMIT $2");
	if (st == NULL) {
		snprintf(s->last_error, sizeof s->last_error, "%s", db_errmsg(db));
		return -1;
	}
	db_bind_int64(st, 1, c->top);
	db_bind_int64(st, 2, limit - p->given);
	p->new_rows = 1;
	/* SQLite: an id is taken and committed under the one write lock, in
	 * order; a gap there is a deleted row, not one in flight */
	p->keep_gaps = db_engine(db) == DB_POSTGRES;
	return store_agent_each_row(s, db, st, pass_cb, p);
}

int
store_agent_cursor_read(struct store *s, struct store_agent_cursor *c, int limit,
                        store_agent_run_cb cb, void *arg)
{
	struct pass p = {.c = c, .cb = cb, .arg = arg, .now = now_us()};
	expire(c, p.now);
	struct db *db = store_reader(s);
	int rc = read_on(s, db, &p, limit);
	if (rc != 0 && db != s->db) {
		/* the replica failed under the read (gone, or a read cancelled by
		 * its replay): the cursor holds exactly what was given, so the
		 * primary goes on from there, and the replica is looked at again
		 * at its retry */
		store_replica_failed(s, db);
		rc = read_on(s, s->db, &p, limit);
	}
	return rc;
}
