/*
 * board: entries and relays in sorted arrays under a read-write lock; the
 * document cache, a hash of canonical URL keys, under its own mutex.
 *
 * Lock order: data (rwlock) before cache (mutex), never the other way. A
 * writer changes data under the write lock, then bumps generations under the
 * cache mutex; a renderer reads the generation first, then renders under the
 * read lock, so a blob is never labelled newer than what it shows. Endpoint
 * and relay keys are also in hash indexes (under the data lock).
 *
 * Writers wait counted (writers_waiting). A render of every relay-model
 * (seconds at 10,000) would hold the event loop's changes that long: it
 * calls board_view_breathe between parts, which lets the lock go while a
 * writer waits and takes it again; a blob so rendered may show changes
 * newer than its generation (labelled older: refreshed the sooner, never
 * the later).
 *
 * A cache item's states: absent; no blob yet (each request that finds it so
 * renders it itself); fresh; stale and queued for the refresher thread
 * (rendering and queued set: requests get the old blob); being rendered by
 * the refresher (rendering set, queued clear); fresh again. Without a
 * refresher, or for an item marked inline_only, the request that finds it
 * stale renders it while the others get the old blob. The refresher holds
 * the cache mutex only between renders, never while it renders.
 */
#include "web/board.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "web/board_test.h" /* defines board_test_writers_waiting */
#include "web/regions.h"
#include "web/render.h"

#define CACHE_SLOTS 1024
/* Segments read back per relay-model to colour the day bars by verdict (a
 * segment spans many days; 90 days rarely hold this many changes). */
#define BOARD_WORST_SEGMENTS 400

struct cache_item {
	char *key;
	long scope;
	uint64_t gen;
	struct blob *blob;
	int64_t cost_ms; /* the last render's, gzip included */
	int rendering;
	int inline_only; /* the refresher could not render it: requests do */
	int queued;      /* its key waits in the refresher's queue */
	struct cache_item *next;
};

/* Keys (endpoint or relay) to their entry or relay: open addressing, the
 * capacity a power of two at least twice the count. Keys are never
 * removed (nor are entries and relays); a key belongs to its item. */
struct board_index {
	const char **keys;
	void **items;
	size_t cap, n;
};

static uint32_t hash_key(const char *s);

/* A longest render lets writers that wait in this often (board_view_breathe)
 * and waits this long at most for them to take the lock. */
#define BREATHE_WAIT_US 20000

/* The data lock for a change: counted while it waits, so that a long
 * render (board_view_breathe) can step aside. */
struct board;
static void write_lock(struct board *b);

static void *
index_get(const struct board_index *ix, const char *key)
{
	if (ix->cap == 0)
		return NULL;
	for (size_t i = hash_key(key) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
		if (ix->keys[i] == NULL)
			return NULL;
		if (strcmp(ix->keys[i], key) == 0)
			return ix->items[i];
	}
}

static void
index_put(struct board_index *ix, const char *key, void *item)
{
	if (2 * (ix->n + 1) > ix->cap) {
		struct board_index grown = {.cap = ix->cap ? 2 * ix->cap : 64};
		grown.keys = xcalloc(grown.cap, sizeof *grown.keys);
		grown.items = xcalloc(grown.cap, sizeof *grown.items);
		for (size_t i = 0; i < ix->cap; i++)
			if (ix->keys[i] != NULL)
				index_put(&grown, ix->keys[i], ix->items[i]);
		free(ix->keys);
		free(ix->items);
		*ix = grown;
	}
	size_t i = hash_key(key) & (ix->cap - 1);
	while (ix->keys[i] != NULL && strcmp(ix->keys[i], key) != 0)
		i = (i + 1) & (ix->cap - 1);
	if (ix->keys[i] == NULL)
		ix->n++;
	ix->keys[i] = key;
	ix->items[i] = item;
}

static void
index_release(struct board_index *ix)
{
	free(ix->keys);
	free(ix->items);
	memset(ix, 0, sizeof *ix);
}

struct board {
	pthread_rwlock_t data;
	atomic_int writers_waiting; /* for the data lock (board_view_breathe lets them in) */
	char *title;
	int title_given;              /* board_new had one: the stored title does not replace it */
	struct board_entry **entries; /* sorted by relay, model */
	size_t n;
	struct board_relay **relays; /* sorted by name */
	size_t n_relays;
	size_t next_relay_id;
	struct board_index entry_keys, relay_keys;
	struct board_about about;
	int static_copy;
	uint64_t seq; /* entries' changes, counted (under the write lock) */
	/* the entries that changed, oldest change first: each once, at its
	 * latest (entry_changed), so that board_events walks only the changes
	 * it sends, not every entry for each */
	struct board_entry *changed_first, *changed_last;
	struct board_spend spend; /* every relay's probes today (serve) */

	pthread_mutex_t cache;
	uint64_t gen;        /* bumped by every change */
	uint64_t *relay_gen; /* by relay id */
	size_t n_relay_gen;
	struct cache_item *slots[CACHE_SLOTS];
	size_t n_items;

	/* stale-while-revalidate (board_set_refresher), under the cache
	 * mutex: keys of stale documents waiting for the refresher thread,
	 * each at most once (its item is marked rendering) */
	void (*refresh)(struct board *b, const char *key, void *arg);
	void *refresh_arg;
	pthread_t refresher;
	int refresher_on, refresher_stop;
	pthread_cond_t wake;
	char **queue;
	size_t n_queue, queue_cap;
};

/* Set on the refresher thread: its board_render() renders a stale
 * document itself instead of queueing it. */
static _Thread_local int on_refresher;

static struct blob *
blob_new(char *data, size_t len, const char *type)
{
	struct blob *blob = xcalloc(1, sizeof *blob);
	blob->data = data;
	blob->len = len;
	blob->content_type = type;
	atomic_init(&blob->refs, 1);
	blob->rendered_ms = wall_ms();
	return blob;
}

static void
blob_ref(struct blob *blob)
{
	atomic_fetch_add(&blob->refs, 1);
}

void
board_put(struct blob *blob)
{
	if (blob == NULL)
		return;
	if (atomic_fetch_sub(&blob->refs, 1) == 1) {
		free(blob->data);
		free(blob->gz);
		free(blob);
	}
}

struct blob *
board_static(const char *data, const char *type)
{
	/* a copy: callers release every blob the same way */
	size_t len = strlen(data);
	char *copy = xmalloc(len + 1);
	memcpy(copy, data, len + 1);
	return blob_new(copy, len, type);
}

struct board *
board_new(const char *title)
{
	struct board *b = xcalloc(1, sizeof *b);
	pthread_rwlock_init(&b->data, NULL);
	pthread_mutex_init(&b->cache, NULL);
	pthread_cond_init(&b->wake, NULL);
	b->title = xstrdup(title ? title : "Assay relay status");
	b->title_given = title != NULL;
	b->about.started_ms = wall_ms();
	return b;
}

/* (void *: a ring_slot() release) */
static void
segment_release(void *p)
{
	struct segment *s = p;
	free(s->verdict);
	free(s->reason);
	json_decref(s->findings);
	memset(s, 0, sizeof *s);
}

static void
incident_release(void *p)
{
	struct incident *i = p;
	free(i->kind);
	free(i->cause);
	free(i->detail);
	memset(i, 0, sizeof *i);
}

/*
 * One change's event text, rendered once for every viewer: the first
 * stream to send it makes it under the read lock and installs it if none
 * is (a compare-and-swap: the loser frees its own); the next change frees
 * it under the write lock, when no stream can be reading it. A copy older
 * than EVENT_FRESH_MS (a viewer catching up on old changes: the windows in
 * it have moved on) is not sent: that viewer renders its own.
 */
struct entry_event {
	int64_t at_ms; /* the board's clock when it was rendered */
	size_t len;
	char text[]; /* the event's JSON, one line */
};
#define EVENT_FRESH_MS 1000

static void
event_drop(struct board_entry *e)
{
	free(atomic_exchange(&e->event, NULL));
}

static void
entry_free(struct board_entry *e)
{
	event_drop(e);
	free(e->relay);
	free(e->model);
	free(e->api);
	free(e->key);
	free(e->model_key);
	free(e->verdict);
	free(e->reason);
	free(e->not_running);
	free(e->at_risk);
	free(e->listed);
	free(e->listed_note);
	free(e->channel);
	json_decref(e->findings);
	json_decref(e->security);
	for (size_t i = 0; i < e->n_segments; i++)
		segment_release(&e->segments[i]);
	for (size_t i = 0; i < e->n_incidents; i++)
		incident_release(&e->incidents[i]);
	regions_free(e->regions);
	free(e);
}

void
board_free(struct board *b)
{
	if (b == NULL)
		return;
	board_set_refresher(b, NULL, NULL);
	pthread_cond_destroy(&b->wake);
	for (size_t i = 0; i < b->n; i++)
		entry_free(b->entries[i]);
	free(b->entries);
	for (size_t i = 0; i < b->n_relays; i++) {
		free(b->relays[i]->name);
		free(b->relays[i]->key);
		free(b->relays[i]->billing);
		free(b->relays[i]->entries);
		free(b->relays[i]);
	}
	free(b->relays);
	index_release(&b->entry_keys);
	index_release(&b->relay_keys);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cache_item *c = b->slots[i], *next;
		for (; c != NULL; c = next) {
			next = c->next;
			board_put(c->blob);
			free(c->key);
			free(c);
		}
	}
	free(b->relay_gen);
	free(b->title);
	pthread_rwlock_destroy(&b->data);
	pthread_mutex_destroy(&b->cache);
	free(b);
}

/* Note a change to relay id (all lists change with it). */
static void
bump(struct board *b, size_t relay_id)
{
	pthread_mutex_lock(&b->cache);
	b->gen++;
	if (relay_id >= b->n_relay_gen) {
		size_t n = relay_id + 64;
		b->relay_gen = xrealloc(b->relay_gen, n * sizeof *b->relay_gen);
		memset(b->relay_gen + b->n_relay_gen, 0,
		       (n - b->n_relay_gen) * sizeof *b->relay_gen);
		b->n_relay_gen = n;
	}
	b->relay_gen[relay_id]++;
	pthread_mutex_unlock(&b->cache);
}

static int
key_taken_entry(struct board *b, const char *key)
{
	return index_get(&b->entry_keys, key) != NULL;
}

static int
key_taken_relay(struct board *b, const char *key)
{
	return index_get(&b->relay_keys, key) != NULL;
}

/* A key from base that taken() does not know yet ("base", "base-2", ...). */
static char *
unique_key(struct board *b, char *base, int (*taken)(struct board *, const char *))
{
	if (!taken(b, base))
		return base;
	for (int i = 2;; i++) {
		char *k = xasprintf("%s-%d", base, i);
		if (!taken(b, k)) {
			free(base);
			return k;
		}
		free(k);
	}
}

static struct board_relay *
relay_get_locked(struct board *b, const char *name)
{
	size_t i;
	for (i = 0; i < b->n_relays; i++) {
		int c = strcmp(b->relays[i]->name, name);
		if (c == 0)
			return b->relays[i];
		if (c > 0)
			break;
	}
	struct board_relay *r = xcalloc(1, sizeof *r);
	r->name = xstrdup(name);
	r->key = unique_key(b, slugify(name), key_taken_relay);
	index_put(&b->relay_keys, r->key, r);
	r->id = b->next_relay_id++;
	b->relays = xrealloc(b->relays, (b->n_relays + 1) * sizeof *b->relays);
	memmove(&b->relays[i + 1], &b->relays[i], (b->n_relays - i) * sizeof *b->relays);
	b->relays[i] = r;
	b->n_relays++;
	return r;
}

/* The entry for relay/model, created in sorted position if new. */
static struct board_entry *
entry_get_locked(struct board *b, const char *relay, const char *model)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(b->entries[mid]->relay, relay);
		if (c == 0)
			c = strcmp(b->entries[mid]->model, model);
		if (c == 0)
			return b->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct board_entry *e = xcalloc(1, sizeof *e);
	e->relay = xstrdup(relay);
	e->model = xstrdup(model);
	e->api = xstrdup("openai");
	e->findings = json_array();
	e->ttft_ms = -1;
	e->tokens_per_s = -1;
	for (size_t i = 0; i < BOARD_HOURS; i++)
		e->hours[i].index = -1;
	for (size_t i = 0; i < BOARD_DAYS; i++)
		e->days[i].index = -1;
	for (size_t i = 0; i < BOARD_SLICES; i++)
		e->slices[i].index = -1;
	char *rs = slugify(relay), *ms = slugify(model);
	e->key = unique_key(b, xasprintf("%s_%s", rs, ms), key_taken_entry);
	index_put(&b->entry_keys, e->key, e);
	e->model_key = ms;
	free(rs);
	b->entries = xrealloc(b->entries, (b->n + 1) * sizeof *b->entries);
	memmove(&b->entries[lo + 1], &b->entries[lo], (b->n - lo) * sizeof *b->entries);
	b->entries[lo] = e;
	b->n++;
	struct board_relay *r = relay_get_locked(b, relay);
	e->group = r;
	size_t i;
	for (i = 0; i < r->n; i++)
		if (strcmp(r->entries[i]->model, model) > 0)
			break;
	r->entries = xrealloc(r->entries, (r->n + 1) * sizeof *r->entries);
	memmove(&r->entries[i + 1], &r->entries[i], (r->n - i) * sizeof *r->entries);
	r->entries[i] = e;
	r->n++;
	return e;
}

/* e changed (under the write lock): its number is the board's next, and
 * it moves to the end of the changed entries. */
static void
entry_changed(struct board *b, struct board_entry *e)
{
	event_drop(e);
	e->seq = ++b->seq;
	if (b->changed_last == e)
		return;
	if (e->changed_prev != NULL || b->changed_first == e) { /* linked: out */
		if (e->changed_prev != NULL)
			e->changed_prev->changed_next = e->changed_next;
		else
			b->changed_first = e->changed_next;
		e->changed_next->changed_prev = e->changed_prev; /* not the last */
	}
	e->changed_prev = b->changed_last;
	e->changed_next = NULL;
	if (b->changed_last != NULL)
		b->changed_last->changed_next = e;
	else
		b->changed_first = e;
	b->changed_last = e;
}

void
board_declare(struct board *b, const char *relay, const char *model, const char *api,
              int64_t interval_ms)
{
	write_lock(b);
	struct board_entry *e = entry_get_locked(b, relay, model);
	free(e->api);
	e->api = xstrdup(api ? api : "openai");
	e->interval_ms = interval_ms;
	free(e->not_running); /* declared: it runs */
	e->not_running = NULL;
	entry_changed(b, e);
	size_t id = e->group->id;
	pthread_rwlock_unlock(&b->data);
	bump(b, id);
}

void
board_billing(struct board *b, const char *relay, const char *text, int bad)
{
	write_lock(b);
	struct board_relay *r = relay_get_locked(b, relay);
	free(r->billing);
	r->billing = text ? utf8_sanitize(text, strlen(text), 600) : NULL;
	r->billing_bad = bad;
	size_t id = r->id;
	pthread_rwlock_unlock(&b->data);
	bump(b, id);
}

void
board_spend(struct board *b, const char *relay, const struct board_spend *spend)
{
	write_lock(b);
	struct board_spend *to = relay ? &relay_get_locked(b, relay)->spend : &b->spend;
	*to = *spend;
	to->known = 1;
	size_t id = relay ? relay_get_locked(b, relay)->id : 0;
	pthread_rwlock_unlock(&b->data);
	bump(b, id); /* every list document too (the board's generation) */
}

enum entry_note { NOTE_AT_RISK, NOTE_NOT_RUNNING };

/* One of an entry's sentences set (sanitized, capped) or cleared (NULL). */
static void
entry_note(struct board *b, const char *relay, const char *model, enum entry_note which,
           const char *text)
{
	write_lock(b);
	struct board_entry *e = entry_get_locked(b, relay, model);
	char **field = which == NOTE_AT_RISK ? &e->at_risk : &e->not_running;
	free(*field);
	*field = text ? utf8_sanitize(text, strlen(text), 600) : NULL;
	entry_changed(b, e);
	size_t id = e->group->id;
	pthread_rwlock_unlock(&b->data);
	bump(b, id);
}

void
board_at_risk(struct board *b, const char *relay, const char *model, const char *why)
{
	entry_note(b, relay, model, NOTE_AT_RISK, why);
}

void
board_not_running(struct board *b, const char *relay, const char *model, const char *why)
{
	entry_note(b, relay, model, NOTE_NOT_RUNNING, why);
}

/* The slot for index in a ring, reset if it held an older bucket; NULL if
 * it holds a newer one (index is too old to keep). */
static struct bucket *
bucket_slot(struct bucket *ring, size_t n, int64_t index)
{
	struct bucket *s = &ring[(size_t)(index % (int64_t)n)];
	if (s->index == index)
		return s;
	if (s->index > index)
		return NULL;
	memset(s, 0, sizeof *s);
	s->index = index;
	return s;
}

static void
bucket_add_run(struct bucket *s, const struct board_run *run)
{
	if (s == NULL)
		return;
	s->runs += (uint32_t)run->runs;
	s->requests += (uint32_t)run->requests;
	s->ok += (uint32_t)run->ok_requests;
	s->tokens += (uint64_t)(run->tokens_spent > 0 ? run->tokens_spent : 0);
	if (run->ttft_ms >= 0) {
		double t = (double)(int64_t)(run->ttft_ms + 0.5);
		s->ttft_n++;
		s->ttft_sum += t;
		s->ttft_sq += t * t;
	}
	if (run->tokens_per_s >= 0) {
		double t = (double)(int64_t)(run->tokens_per_s + 0.5);
		s->tps_n++;
		s->tps_sum += t;
		s->tps_sq += t * t;
	}
	if (run->errors != NULL)
		for (int i = 1; i < ERR__COUNT; i++)
			s->errors[i] += (uint32_t)run->errors[i];
	if (run->origin != NULL)
		for (int i = 0; i < BOARD_ORIGINS; i++)
			s->origin[i] += (uint32_t)(run->origin[i] > 0 ? run->origin[i] : 0);
	int rank = verdict_rank(run->verdict);
	if (rank > s->worst)
		s->worst = (uint8_t)rank;
}

static uint16_t
clamp16(long x)
{
	return x < 0 ? 0 : x > 65535 ? 65535 : (uint16_t)x;
}

/* Keep one run in e's ring of recent runs, in time order (the oldest goes
 * when it is full; a run older than all of a full ring is not kept). */
static void
recent_add(struct board_entry *e, int64_t at_ms, long requests, long ok, double ttft_ms,
           double tokens_per_s)
{
	if (at_ms <= 0)
		return;
	struct recent_run r = {.at_ms = at_ms,
	                       .ttft_ms = (float)ttft_ms,
	                       .tokens_per_s = (float)tokens_per_s,
	                       .requests = clamp16(requests),
	                       .ok = clamp16(ok)};
	if (e->n_recent == BOARD_RECENT) {
		if (at_ms < e->recent[e->recent_start].at_ms)
			return;
		e->recent_start = (e->recent_start + 1) % BOARD_RECENT;
		e->n_recent--;
	}
	size_t i = e->n_recent++;
	/* insertion from the end: runs arrive in order, nearly always */
	while (i > 0 && e->recent[(e->recent_start + i - 1) % BOARD_RECENT].at_ms > at_ms) {
		e->recent[(e->recent_start + i) % BOARD_RECENT] =
		    e->recent[(e->recent_start + i - 1) % BOARD_RECENT];
		i--;
	}
	e->recent[(e->recent_start + i) % BOARD_RECENT] = r;
}

/* Mark the buckets of ring (of n, each len_ms long) that exist and overlap
 * [first_ms, last_ms] with a verdict of rank. */
static void
ring_mark(struct bucket *ring, size_t n, int64_t len_ms, int64_t first_ms, int64_t last_ms,
          int rank)
{
	int64_t a = first_ms / len_ms, z = last_ms / len_ms;
	if (z - a >= (int64_t)n)
		a = z - (int64_t)n + 1;
	for (int64_t i = a; i <= z; i++) {
		struct bucket *s = &ring[(size_t)(i % (int64_t)n)];
		if (i >= 0 && s->index == i && rank > s->worst)
			s->worst = (uint8_t)rank;
	}
}

static void
entry_set_latest(struct board_entry *e, const char *verdict, const char *reason, json_t *findings,
                 int64_t at_ms, double ttft_ms, double tokens_per_s)
{
	if (at_ms < e->last_run_ms)
		return;
	free(e->verdict);
	e->verdict = xstrdup(verdict ? verdict : "inconclusive");
	free(e->reason);
	e->reason = xstrdup(reason ? reason : "");
	json_decref(e->findings);
	e->findings = findings ? json_deep_copy(findings) : json_array();
	e->last_run_ms = at_ms;
	if (ttft_ms >= 0)
		e->ttft_ms = ttft_ms;
	if (tokens_per_s >= 0)
		e->tokens_per_s = tokens_per_s;
}

/* What the model list said (NULL listed: nothing new, the last stands). */
static void
entry_set_listing(struct board_entry *e, const char *listed, const char *note, long models)
{
	if (listed == NULL)
		return;
	free(e->listed);
	free(e->listed_note);
	e->listed = xstrdup(listed);
	e->listed_note = note ? xstrdup(note) : NULL;
	e->listed_models = models;
}

void
board_record(struct board *b, const struct board_run *run)
{
	write_lock(b);
	struct board_entry *e = entry_get_locked(b, run->relay, run->model);
	if (run->api != NULL) {
		free(e->api);
		e->api = xstrdup(run->api);
	}
	int newest = run->at_ms >= e->last_run_ms;
	entry_set_latest(e, run->verdict, run->reason, run->findings, run->at_ms, run->ttft_ms,
	                 run->tokens_per_s);
	if (newest)
		regions_own_run(e); /* the hub's agents' ledger laid over it, if any */
	entry_set_listing(e, run->listed, run->listed_note, run->listed_models);
	if (run->at_ms >= e->last_run_ms) {
		free(e->channel);
		e->channel = run->channel ? xstrdup(run->channel) : NULL;
	}
	if (run->security != NULL && run->at_ms >= e->last_run_ms) {
		json_decref(e->security);
		e->security = json_deep_copy(run->security);
	}
	if (run->at_ms > 0) {
		bucket_add_run(bucket_slot(e->hours, BOARD_HOURS, run->at_ms / HOUR_MS), run);
		bucket_add_run(bucket_slot(e->days, BOARD_DAYS, run->at_ms / DAY_MS), run);
		bucket_add_run(bucket_slot(e->slices, BOARD_SLICES, run->at_ms / SLICE_MS), run);
		if (run->runs > 0)
			recent_add(e, run->at_ms, run->requests, run->ok_requests, run->ttft_ms,
			           run->tokens_per_s);
	}
	entry_changed(b, e);
	size_t id = e->group->id;
	pthread_rwlock_unlock(&b->data);
	bump(b, id);
}

/* The entry of relay/model, or NULL when the board does not know it
 * (under the write lock). */
static struct board_entry *
entry_known_locked(struct board *b, const char *relay, const char *model)
{
	struct board_entry *e = NULL;
	size_t lo = 0, hi = b->n;
	while (lo < hi && e == NULL) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(b->entries[mid]->relay, relay);
		if (c == 0)
			c = strcmp(b->entries[mid]->model, model);
		if (c == 0)
			e = b->entries[mid];
		else if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return e;
}

void
board_agents_ledger(struct board *b, const char *relay, const char *model, const char *verdict,
                    json_t *view, json_t *findings)
{
	write_lock(b);
	struct board_entry *e = entry_known_locked(b, relay, model);
	if (e == NULL) {
		pthread_rwlock_unlock(&b->data);
		return;
	}
	regions_set_ledger(e, verdict, view, findings);
	entry_changed(b, e);
	size_t id = e->group->id;
	pthread_rwlock_unlock(&b->data);
	bump(b, id);
}

void
board_region_run(struct board *b, const struct board_region_run *run)
{
	write_lock(b);
	/* only relay-models the hub's own config declared: an agent's rows
	 * add no entry to the public board */
	struct board_entry *e = NULL;
	size_t lo = 0, hi = b->n;
	while (lo < hi && e == NULL) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(b->entries[mid]->relay, run->relay);
		if (c == 0)
			c = strcmp(b->entries[mid]->model, run->model);
		if (c == 0)
			e = b->entries[mid];
		else if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (e == NULL) {
		pthread_rwlock_unlock(&b->data);
		return;
	}
	regions_add(&e->regions, run);
	entry_changed(b, e);
	size_t id = e->group->id;
	pthread_rwlock_unlock(&b->data);
	bump(b, id);
}

void
board_bucket(struct board *b, enum store_resolution res, const struct store_bucket *bk)
{
	write_lock(b);
	struct board_entry *e = entry_get_locked(b, bk->relay, bk->model);
	struct bucket *s =
	    res == STORE_MINUTE ? bucket_slot(e->slices, BOARD_SLICES, bk->start_ms / SLICE_MS)
	    : res == STORE_HOUR ? bucket_slot(e->hours, BOARD_HOURS, bk->start_ms / HOUR_MS)
	                        : bucket_slot(e->days, BOARD_DAYS, bk->start_ms / DAY_MS);
	if (s != NULL) {
		s->runs += (uint32_t)bk->runs;
		s->requests += (uint32_t)bk->requests;
		s->ok += (uint32_t)bk->ok_requests;
		s->tokens += (uint64_t)bk->tokens;
		s->ttft_n += (uint32_t)bk->ttft_n;
		s->ttft_sum += bk->ttft_sum;
		s->ttft_sq += bk->ttft_sq;
		s->tps_n += (uint32_t)bk->tps_n;
		s->tps_sum += bk->tps_sum;
		s->tps_sq += bk->tps_sq;
		for (int i = 1; i < ERR__COUNT; i++)
			s->errors[i] += (uint32_t)bk->errors[i];
		for (int i = 0; i < BOARD_ORIGINS && i < STORE_ORIGINS; i++)
			s->origin[i] += (uint32_t)bk->origin[i];
	}
	entry_changed(b, e);
	size_t id = e->group->id;
	pthread_rwlock_unlock(&b->data);
	bump(b, id);
}

/*
 * The element with id in a ring kept oldest first (*n of cap elements of
 * size bytes, each with an int64_t id as its first member): the one
 * already there (the last, were there two), else a new one at the end,
 * zeroed but for its id, the oldest released and dropped when the ring is
 * full.
 */
_Static_assert(offsetof(struct segment, id) == 0, "a segment's id comes first");
_Static_assert(offsetof(struct incident, id) == 0, "an incident's id comes first");

static void *
ring_slot(void *ring, size_t *n, size_t cap, size_t size, int64_t id, void (*release)(void *))
{
	char *r = ring, *found = NULL;
	for (size_t i = 0; i < *n; i++) {
		int64_t have;
		memcpy(&have, r + i * size, sizeof have);
		if (have == id)
			found = r + i * size;
	}
	if (found != NULL)
		return found;
	if (*n == cap) {
		release(r);
		memmove(r, r + size, (cap - 1) * size);
		(*n)--;
	}
	found = r + (*n)++ * size;
	memset(found, 0, size);
	memcpy(found, &id, sizeof id);
	return found;
}

void
board_segment(struct board *b, const struct timeline_segment *seg)
{
	write_lock(b);
	struct board_entry *e = entry_get_locked(b, seg->relay, seg->model);
	struct segment *s = ring_slot(e->segments, &e->n_segments, BOARD_SEGMENTS,
	                              sizeof e->segments[0], seg->id, segment_release);
	segment_release(s);
	s->id = seg->id;
	s->verdict = xstrdup(seg->verdict);
	s->reason = xstrdup(seg->reason ? seg->reason : "");
	s->findings = json_loads(seg->findings_json ? seg->findings_json : "[]", 0, NULL);
	if (!json_is_array(s->findings)) {
		json_decref(s->findings);
		s->findings = json_array();
	}
	s->first_ms = seg->first_ms;
	s->last_ms = seg->last_ms;
	s->runs = seg->runs;
	entry_changed(b, e);
	size_t id = e->group->id;
	pthread_rwlock_unlock(&b->data);
	bump(b, id);
}

void
board_incident(struct board *b, const struct timeline_incident *inc)
{
	write_lock(b);
	struct board_entry *e = entry_get_locked(b, inc->relay, inc->model);
	struct incident *s = ring_slot(e->incidents, &e->n_incidents, BOARD_INCIDENTS,
	                               sizeof e->incidents[0], inc->id, incident_release);
	incident_release(s);
	s->id = inc->id;
	s->kind = xstrdup(inc->kind ? inc->kind : "outage");
	s->cause = xstrdup(inc->cause ? inc->cause : "");
	s->detail = xstrdup(inc->detail ? inc->detail : "");
	s->opened_ms = inc->opened_ms;
	s->resolved_ms = inc->resolved_ms;
	s->failed_runs = inc->failed_runs;
	entry_changed(b, e);
	size_t id = e->group->id;
	pthread_rwlock_unlock(&b->data);
	bump(b, id);
}

void
board_set_about(struct board *b, const struct store_stats *st, const struct store_retention *r)
{
	write_lock(b);
	b->about.has_store = 1;
	b->about.stats = *st;
	b->about.retention = *r;
	b->about.stats_ms = wall_ms();
	pthread_rwlock_unlock(&b->data);
	/* /about is global-scope: bumping relay 0 bumps the global generation */
	bump(b, 0);
}

static void
load_summary_cb(const struct store_summary *sum, void *arg)
{
	struct board *b = arg;
	json_t *findings = json_loads(sum->findings_json ? sum->findings_json : "[]", 0, NULL);
	write_lock(b);
	struct board_entry *e = entry_get_locked(b, sum->relay, sum->model);
	if (sum->api && *sum->api) {
		free(e->api);
		e->api = xstrdup(sum->api);
	}
	entry_set_latest(e, sum->verdict, sum->reason, findings, sum->last_run_ms, sum->ttft_ms,
	                 sum->tokens_per_s);
	entry_set_listing(e, sum->listed, sum->listed_note, sum->listed_models);
	entry_changed(b, e);
	pthread_rwlock_unlock(&b->data);
	json_decref(findings);
}

struct load_ctx {
	struct board *b;
	enum store_resolution res;
};

static void
load_bucket_cb(const struct store_bucket *bk, void *arg)
{
	struct load_ctx *c = arg;
	board_bucket(c->b, c->res, bk);
}

static void
load_segment_cb(const struct timeline_segment *seg, void *arg)
{
	board_segment(arg, seg);
}

/* A stored segment's verdict marks the buckets it spans (their worst). */
static void
load_worst_cb(const struct timeline_segment *seg, void *arg)
{
	struct board *b = arg;
	int rank = verdict_rank(seg->verdict);
	if (rank == 0)
		return;
	write_lock(b);
	struct board_entry *e = entry_get_locked(b, seg->relay, seg->model);
	ring_mark(e->days, BOARD_DAYS, DAY_MS, seg->first_ms, seg->last_ms, rank);
	ring_mark(e->hours, BOARD_HOURS, HOUR_MS, seg->first_ms, seg->last_ms, rank);
	ring_mark(e->slices, BOARD_SLICES, SLICE_MS, seg->first_ms, seg->last_ms, rank);
	pthread_rwlock_unlock(&b->data);
}

static void
load_recent_cb(const struct store_run_point *r, void *arg)
{
	struct board *b = arg;
	write_lock(b);
	struct board_entry *e = entry_get_locked(b, r->relay, r->model);
	recent_add(e, r->started_ms, r->requests, r->ok_requests, r->ttft_ms, r->tokens_per_s);
	pthread_rwlock_unlock(&b->data);
}

static void
load_incident_cb(const struct timeline_incident *inc, void *arg)
{
	board_incident(arg, inc);
}

int
board_load(struct board *b, struct store *s, char *err, size_t errlen)
{
	int64_t now = wall_ms();
	struct load_ctx hours = {b, STORE_HOUR}, days = {b, STORE_DAY}, minutes = {b, STORE_MINUTE};
	if (store_each_summary(s, DAY_MS, load_summary_cb, b) != 0 ||
	    store_each_bucket(s, STORE_MINUTE, (now / SLICE_MS - BOARD_SLICES + 1) * SLICE_MS,
	                      load_bucket_cb, &minutes) != 0 ||
	    store_each_bucket(s, STORE_HOUR, (now / HOUR_MS - BOARD_HOURS + 1) * HOUR_MS,
	                      load_bucket_cb, &hours) != 0 ||
	    store_each_bucket(s, STORE_DAY, (now / DAY_MS - BOARD_DAYS + 1) * DAY_MS,
	                      load_bucket_cb, &days) != 0 ||
	    store_each_segment(s, BOARD_SEGMENTS, load_segment_cb, b) != 0 ||
	    store_each_segment(s, BOARD_WORST_SEGMENTS, load_worst_cb, b) != 0 ||
	    store_each_recent_run(s, now - DAY_MS, BOARD_RECENT, load_recent_cb, b) != 0 ||
	    store_each_incident(s, BOARD_INCIDENTS, load_incident_cb, b) != 0) {
		snprintf(err, errlen, "cannot read the stored history");
		return -1;
	}
	char title[512];
	if (!b->title_given && store_title(s, title, sizeof title) == 1) {
		write_lock(b);
		free(b->title);
		b->title = utf8_sanitize(title, strlen(title), 200);
		pthread_rwlock_unlock(&b->data);
		bump(b, 0);
	}
	struct store_stats st;
	struct store_retention r;
	store_retention_default(&r);
	if (store_stats(s, &st) == 0)
		board_set_about(b, &st, &r);
	return 0;
}

static void
write_lock(struct board *b)
{
	atomic_fetch_add(&b->writers_waiting, 1);
	pthread_rwlock_wrlock(&b->data);
	atomic_fetch_sub(&b->writers_waiting, 1);
}

static void
view_locked(struct board *b, struct board_view *v)
{
	v->board = b;
	v->locked = 1;
	v->title = b->title;
	v->entries = b->entries;
	v->n = b->n;
	v->relays = b->relays;
	v->n_relays = b->n_relays;
	v->about = &b->about;
	v->now_ms = wall_ms();
	v->static_copy = b->static_copy;
	v->seq = b->seq;
	v->spend = &b->spend;
	v->by_key = &b->entry_keys;
}

void
board_view_breathe(const struct board_view *cv)
{
	struct board_view *v = (struct board_view *)cv; /* the render's own (render_now) */
	struct board *b = v->board;
	if (b == NULL || !v->locked || atomic_load(&b->writers_waiting) == 0)
		return;
	int64_t now_ms = v->now_ms;
	pthread_rwlock_unlock(&b->data);
	/* the writers take it once no reader holds it; a reader still in
	 * (another render) may keep them out: not waited for past the bound */
	int64_t until = now_us() + BREATHE_WAIT_US;
	struct timespec pause = {0, 50000};
	while (atomic_load(&b->writers_waiting) > 0 && now_us() < until)
		nanosleep(&pause, NULL);
	pthread_rwlock_rdlock(&b->data);
	view_locked(b, v);
	v->now_ms = now_ms; /* the document's time stays its start's */
}

int
board_test_writers_waiting(struct board *b)
{
	return atomic_load(&b->writers_waiting);
}

size_t
board_view_after(const struct board_view *v, const struct board_entry *e)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v->entries[mid]->relay, e->relay);
		if (c == 0)
			c = strcmp(v->entries[mid]->model, e->model);
		if (c <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
board_view_unlock(const struct board_view *cv)
{
	struct board_view *v = (struct board_view *)cv;
	if (v->board == NULL || !v->locked)
		return;
	v->locked = 0;
	pthread_rwlock_unlock(&v->board->data);
}

const struct board_entry *
board_view_entry(const struct board_view *v, const char *key)
{
	return v->by_key ? index_get(v->by_key, key) : NULL;
}

uint64_t
board_seq(struct board *b)
{
	pthread_rwlock_rdlock(&b->data);
	uint64_t seq = b->seq;
	pthread_rwlock_unlock(&b->data);
	return seq;
}

/* e's event JSON onto out (under the read lock): the shared copy when it
 * is fresh, else rendered (and shared, when none is). */
static void
event_put(const struct board_view *v, struct board_entry *e, struct buf *out)
{
	struct entry_event *ev = atomic_load(&e->event);
	if (ev != NULL && v->now_ms - ev->at_ms <= EVENT_FRESH_MS && ev->at_ms <= v->now_ms) {
		if (buf_add(out, ev->text, ev->len) != 0)
			fatal(70, "internal: output buffer over its cap");
		return;
	}
	size_t start = out->len;
	json_emit(out, relay_entry_json(v, e)); /* compact: one line */
	if (ev != NULL)
		return; /* a stale copy stays until the next change frees it */
	size_t len = out->len - start;
	struct entry_event *mine = xmalloc(sizeof *mine + len);
	mine->at_ms = v->now_ms;
	mine->len = len;
	memcpy(mine->text, out->data + start, len);
	struct entry_event *none = NULL;
	if (!atomic_compare_exchange_strong(&e->event, &none, mine))
		free(mine); /* another stream's came first */
}

uint64_t
board_events(struct board *b, uint64_t since, size_t max, struct buf *out)
{
	pthread_rwlock_rdlock(&b->data);
	struct board_view v;
	view_locked(b, &v);
	uint64_t upto = since > b->seq ? 0 : since; /* an id from before a restart: all */
	/* the first entry changed after upto, back from the latest change: the
	 * walk is as long as the changes the client has yet to see */
	struct board_entry *next = b->changed_last;
	while (next != NULL && next->changed_prev != NULL && next->changed_prev->seq > upto)
		next = next->changed_prev;
	if (next != NULL && next->seq <= upto)
		next = NULL; /* none since */
	/* events go out in change order */
	for (size_t sent = 0; next != NULL && sent < max; next = next->changed_next, sent++) {
		buf_putf(out, "event: entry\nid: %llu\ndata: ", (unsigned long long)next->seq);
		event_put(&v, next, out);
		buf_puts(out, "\n\n");
		upto = next->seq;
	}
	pthread_rwlock_unlock(&b->data);
	return upto;
}

void
board_set_static(struct board *b)
{
	write_lock(b);
	b->static_copy = 1;
	pthread_rwlock_unlock(&b->data);
	bump(b, 0);
}

void
board_with_view(struct board *b, void (*fn)(const struct board_view *v, void *arg), void *arg)
{
	struct board_view v;
	pthread_rwlock_rdlock(&b->data);
	view_locked(b, &v);
	fn(&v, arg);
	board_view_unlock(&v);
}

static struct blob *
render_now(struct board *b, const char *type, board_render_fn fn, void *arg)
{
	struct buf out;
	buf_init(&out, 0);
	struct board_view v;
	pthread_rwlock_rdlock(&b->data);
	view_locked(b, &v);
	fn(&v, arg, &out);
	board_view_unlock(&v);
	size_t len;
	char *data = buf_take(&out, &len);
	return blob_new(data, len, type);
}

struct blob *
board_render_uncached(struct board *b, const char *type, board_render_fn fn, void *arg)
{
	return render_now(b, type, fn, arg);
}

/* Attach a gzip encoding of blob (level 6, as nginx's default), if it
 * compresses; a failure leaves the blob without one. */
static void
blob_compress(struct blob *blob)
{
	if (blob->len < BOARD_GZIP_MIN)
		return;
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return;
	size_t cap = deflateBound(&z, (uLong)blob->len);
	char *out = xmalloc(cap);
	z.next_in = (Bytef *)blob->data;
	z.avail_in = (uInt)blob->len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	size_t n = cap - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END || n >= blob->len) {
		free(out);
		return;
	}
	blob->gz = out;
	blob->gz_len = n;
}

static uint32_t
hash_key(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static uint64_t
gen_locked(struct board *b, long scope)
{
	if (scope < 0)
		return b->gen;
	return (size_t)scope < b->n_relay_gen ? b->relay_gen[scope] : 0;
}

struct blob *
board_render(struct board *b, const char *key, long scope, const char *type, board_render_fn fn,
             void *arg)
{
	uint32_t slot = hash_key(key) % CACHE_SLOTS;
	int64_t now = wall_ms();
	pthread_mutex_lock(&b->cache);
	struct cache_item *c = b->slots[slot];
	while (c != NULL && strcmp(c->key, key) != 0)
		c = c->next;
	uint64_t gen = gen_locked(b, scope);
	if (c != NULL && c->blob != NULL) {
		int64_t age = now - c->blob->rendered_ms;
		/* a document that costs much is kept the longer: its renders
		 * take at most 1 / BOARD_RENDER_SHARE of a core */
		int64_t hold = c->cost_ms * BOARD_RENDER_SHARE;
		if (hold < BOARD_MIN_REFRESH_MS)
			hold = BOARD_MIN_REFRESH_MS;
		int fresh = (c->gen == gen || age < hold) && age < BOARD_MAX_AGE_MS;
		int queue =
		    !fresh && !c->rendering && b->refresher_on && !on_refresher && !c->inline_only;
		if (queue) {
			/* stale: served while the refresher renders it, so no
			 * request (nor the connections of its server thread)
			 * waits for a render */
			c->rendering = 1;
			c->queued = 1;
			if (b->n_queue == b->queue_cap) {
				b->queue_cap = b->queue_cap ? 2 * b->queue_cap : 16;
				b->queue = xrealloc(b->queue, b->queue_cap * sizeof *b->queue);
			}
			b->queue[b->n_queue++] = xstrdup(key);
			pthread_cond_signal(&b->wake);
		}
		if (fresh || queue || (c->rendering && !on_refresher)) {
			struct blob *blob = c->blob;
			blob_ref(blob);
			pthread_mutex_unlock(&b->cache);
			return blob;
		}
	}
	if (c == NULL) {
		if (b->n_items >= BOARD_CACHE_MAX) {
			pthread_mutex_unlock(&b->cache);
			return render_now(b, type, fn, arg);
		}
		c = xcalloc(1, sizeof *c);
		c->key = xstrdup(key);
		c->scope = scope;
		c->next = b->slots[slot];
		b->slots[slot] = c;
		b->n_items++;
	}
	c->rendering = 1;
	pthread_mutex_unlock(&b->cache);

	int64_t t0 = now_us();
	struct blob *blob = render_now(b, type, fn, arg);
	blob_compress(blob);
	int64_t cost_ms = (now_us() - t0) / 1000;

	pthread_mutex_lock(&b->cache);
	struct blob *old = c->blob;
	c->blob = blob;
	c->gen = gen;
	c->cost_ms = cost_ms;
	c->rendering = 0;
	blob_ref(blob);
	pthread_mutex_unlock(&b->cache);
	board_put(old);
	return blob;
}

static struct cache_item *
cache_find_locked(struct board *b, const char *key)
{
	struct cache_item *c = b->slots[hash_key(key) % CACHE_SLOTS];
	while (c != NULL && strcmp(c->key, key) != 0)
		c = c->next;
	return c;
}

static void *
refresher_main(void *arg)
{
	struct board *b = arg;
	on_refresher = 1;
	pthread_mutex_lock(&b->cache);
	for (;;) {
		while (b->n_queue == 0 && !b->refresher_stop)
			pthread_cond_wait(&b->wake, &b->cache);
		if (b->refresher_stop)
			break;
		char *key = b->queue[0];
		memmove(b->queue, b->queue + 1, --b->n_queue * sizeof *b->queue);
		struct cache_item *q = cache_find_locked(b, key);
		if (q != NULL)
			q->queued = 0;
		pthread_mutex_unlock(&b->cache);
		int64_t refreshed_ms = wall_ms();
		b->refresh(b, key, b->refresh_arg);
		pthread_mutex_lock(&b->cache);
		/* a key the callback did not render (it routes elsewhere now):
		 * its requests render it again themselves; one queued again
		 * since, or being rendered by a request, is left alone */
		struct cache_item *c = cache_find_locked(b, key);
		if (c != NULL && c->rendering && !c->queued && c->blob != NULL &&
		    c->blob->rendered_ms < refreshed_ms) {
			c->rendering = 0;
			c->inline_only = 1;
		}
		free(key);
	}
	pthread_mutex_unlock(&b->cache);
	return NULL;
}

void
board_set_refresher(struct board *b, void (*refresh)(struct board *b, const char *key, void *arg),
                    void *arg)
{
	pthread_mutex_lock(&b->cache);
	int on = b->refresher_on;
	b->refresher_stop = 1;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->cache);
	if (on)
		pthread_join(b->refresher, NULL);
	pthread_mutex_lock(&b->cache);
	/* what was queued and not rendered: requests render it themselves */
	for (size_t i = 0; i < b->n_queue; i++) {
		struct cache_item *c = cache_find_locked(b, b->queue[i]);
		if (c != NULL)
			c->rendering = c->queued = 0;
		free(b->queue[i]);
	}
	b->n_queue = 0;
	b->refresher_on = 0;
	b->refresher_stop = 0;
	b->refresh = refresh;
	b->refresh_arg = arg;
	if (refresh != NULL && pthread_create(&b->refresher, NULL, refresher_main, b) == 0)
		b->refresher_on = 1;
	if (refresh == NULL) {
		free(b->queue);
		b->queue = NULL;
		b->queue_cap = 0;
	}
	pthread_mutex_unlock(&b->cache);
}

long
board_relay_by_key(struct board *b, const char *key)
{
	pthread_rwlock_rdlock(&b->data);
	const struct board_relay *r = index_get(&b->relay_keys, key);
	long id = r ? (long)r->id : -1;
	pthread_rwlock_unlock(&b->data);
	return id;
}

long
board_relay_of_endpoint(struct board *b, const char *key)
{
	pthread_rwlock_rdlock(&b->data);
	const struct board_entry *e = index_get(&b->entry_keys, key);
	long id = e ? (long)e->group->id : -1;
	pthread_rwlock_unlock(&b->data);
	return id;
}

int
board_has_model_key(struct board *b, const char *key)
{
	int found = 0;
	pthread_rwlock_rdlock(&b->data);
	for (size_t i = 0; i < b->n && !found; i++)
		found = strcmp(b->entries[i]->model_key, key) == 0;
	pthread_rwlock_unlock(&b->data);
	return found;
}
