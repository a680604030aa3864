/*
 * board: entries in a sorted array under one mutex; pages rendered on change.
 */
#include "web/board.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cli/util.h"
#include "web/render.h"

struct board {
	pthread_mutex_t lock;
	char *title;
	struct board_entry *entries;
	size_t n;
	struct blob *pages[PAGE__COUNT];
};

static struct blob *
blob_new(struct board *b, char *data, size_t len, const char *type)
{
	struct blob *blob = xcalloc(1, sizeof *blob);
	blob->data = data;
	blob->len = len;
	blob->content_type = type;
	blob->refs = 1;
	blob->board = b;
	return blob;
}

static void
blob_unref_locked(struct blob *blob)
{
	if (blob != NULL && --blob->refs == 0) {
		free(blob->data);
		free(blob);
	}
}

/* Render all pages from the entries; called with the lock held. */
static void
rerender_locked(struct board *b)
{
	int64_t now = wall_ms();
	size_t len;
	char *html = render_status_html(b->title, b->entries, b->n, now, &len);
	struct blob *page = blob_new(b, html, len, "text/html; charset=utf-8");
	blob_unref_locked(b->pages[PAGE_STATUS_HTML]);
	b->pages[PAGE_STATUS_HTML] = page;
	char *json = render_relays_json(b->entries, b->n, now, &len);
	page = blob_new(b, json, len, "application/json");
	blob_unref_locked(b->pages[PAGE_RELAYS_JSON]);
	b->pages[PAGE_RELAYS_JSON] = page;
}

struct board *
board_new(const char *title)
{
	struct board *b = xcalloc(1, sizeof *b);
	pthread_mutex_init(&b->lock, NULL);
	b->title = xstrdup(title ? title : "Assay relay status");
	pthread_mutex_lock(&b->lock);
	rerender_locked(b);
	pthread_mutex_unlock(&b->lock);
	return b;
}

static void
entry_release(struct board_entry *e)
{
	free(e->relay);
	free(e->model);
	free(e->api);
	free(e->verdict);
	free(e->reason);
	json_decref(e->findings);
}

void
board_free(struct board *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		entry_release(&b->entries[i]);
	free(b->entries);
	for (int i = 0; i < PAGE__COUNT; i++)
		blob_unref_locked(b->pages[i]);
	free(b->title);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* The entry for relay/model, created in sorted position if new. */
static struct board_entry *
entry_get_locked(struct board *b, const char *relay, const char *model)
{
	size_t i;
	for (i = 0; i < b->n; i++) {
		int c = strcmp(b->entries[i].relay, relay);
		if (c == 0)
			c = strcmp(b->entries[i].model, model);
		if (c == 0)
			return &b->entries[i];
		if (c > 0)
			break;
	}
	b->entries = xrealloc(b->entries, (b->n + 1) * sizeof *b->entries);
	memmove(&b->entries[i + 1], &b->entries[i], (b->n - i) * sizeof *b->entries);
	b->n++;
	struct board_entry *e = &b->entries[i];
	memset(e, 0, sizeof *e);
	e->relay = xstrdup(relay);
	e->model = xstrdup(model);
	e->findings = json_array();
	e->ttft_ms = -1;
	e->tokens_per_s = -1;
	return e;
}

void
board_declare(struct board *b, const char *relay, const char *model, const char *api,
              int64_t interval_ms)
{
	pthread_mutex_lock(&b->lock);
	struct board_entry *e = entry_get_locked(b, relay, model);
	free(e->api);
	e->api = xstrdup(api ? api : "openai");
	e->interval_ms = interval_ms;
	rerender_locked(b);
	pthread_mutex_unlock(&b->lock);
}

void
board_record(struct board *b, const struct board_run *run)
{
	pthread_mutex_lock(&b->lock);
	struct board_entry *e = entry_get_locked(b, run->relay, run->model);
	if (run->at_ms >= e->last_run_ms) {
		free(e->verdict);
		e->verdict = xstrdup(run->verdict);
		free(e->reason);
		e->reason = xstrdup(run->reason ? run->reason : "");
		json_decref(e->findings);
		e->findings = run->findings ? json_deep_copy(run->findings) : json_array();
		e->last_run_ms = run->at_ms;
		if (run->ttft_ms >= 0)
			e->ttft_ms = run->ttft_ms;
		if (run->tokens_per_s >= 0)
			e->tokens_per_s = run->tokens_per_s;
	}
	e->runs += run->runs;
	e->requests += run->requests;
	e->ok_requests += run->ok_requests;
	e->tokens_spent += run->tokens_spent;
	rerender_locked(b);
	pthread_mutex_unlock(&b->lock);
}

struct blob *
board_get(struct board *b, enum board_page page)
{
	pthread_mutex_lock(&b->lock);
	struct blob *blob = b->pages[page];
	blob->refs++;
	pthread_mutex_unlock(&b->lock);
	return blob;
}

void
board_put(struct blob *blob)
{
	if (blob == NULL)
		return;
	struct board *b = blob->board;
	pthread_mutex_lock(&b->lock);
	blob_unref_locked(blob);
	pthread_mutex_unlock(&b->lock);
}
