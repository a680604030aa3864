/*
 * The pages of a big board (issue 20: a hub of 10,000 relay-models): the
 * status API a page at a time (/api/v1/relays-{N}.json, the query form
 * redirecting to it, pages past the last a 404, the pages together the
 * whole list in its order, each in a static copy), and the cache keeping
 * a document that costs much to render for longer than a cheap one,
 * refreshed all the same (web/board.h).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"
#include "web/board.h"
#include "web/board_test.h"
#include "web/render.h"
#include "web/site.h"

static struct board *
board_of(int relays, int models)
{
	struct board *b = board_new("t");
	int64_t now = wall_ms();
	char relay[32], model[32];
	for (int r = 0; r < relays; r++)
		for (int m = 0; m < models; m++) {
			snprintf(relay, sizeof relay, "relay-%03d", r);
			snprintf(model, sizeof model, "model-%d", m);
			struct board_run run = {.relay = relay,
			                        .model = model,
			                        .verdict = "genuine",
			                        .reason = "ok",
			                        .at_ms = now,
			                        .runs = 1,
			                        .requests = 10,
			                        .ok_requests = 10,
			                        .ttft_ms = 300,
			                        .tokens_per_s = 50};
			board_record(b, &run);
		}
	return b;
}

/* One run of relay's model with verdict, now, a request that succeeded. */
static void
record_one(struct board *b, const char *relay, const char *model, const char *verdict)
{
	struct board_run run = {.relay = relay,
	                        .model = model,
	                        .verdict = verdict,
	                        .at_ms = wall_ms(),
	                        .runs = 1,
	                        .requests = 1,
	                        .ok_requests = 1,
	                        .ttft_ms = -1,
	                        .tokens_per_s = -1};
	board_record(b, &run);
}

/* path's JSON document (NULL: not SITE_OK), for the caller to decref. */
static json_t *
get_json(struct board *b, const char *path, const struct site_query *q)
{
	struct site_response r;
	site_get(b, path, q, &r);
	if (r.status != SITE_OK)
		return NULL;
	json_error_t e;
	json_t *j = json_loadb(r.blob->data, r.blob->len, 0, &e);
	cr_assert_not_null(j, "%s: %s", path, e.text);
	board_put(r.blob);
	return j;
}

static void
path_cb(const char *path, void *arg)
{
	int *seen = arg;
	int n;
	char tail;
	if (sscanf(path, "/api/v1/relays-%d.jso%c", &n, &tail) == 2 && n >= 1 && n <= 8)
		seen[n]++;
}

Test(web_scale, the_status_api_comes_a_page_at_a_time)
{
	struct board *b = board_of(50, 5); /* 250 relay-models: pages of 100, 100, 50 */
	json_t *all = get_json(b, "/api/v1/relays", NULL);
	cr_assert_not_null(all);
	json_t *list = json_object_get(all, "relays");
	cr_assert_eq(json_array_size(list), 250);
	size_t at = 0;
	for (int page = 1; page <= 3; page++) {
		char path[64];
		snprintf(path, sizeof path, "/api/v1/relays-%d.json", page);
		json_t *j = get_json(b, path, NULL);
		cr_assert_not_null(j, "%s is missing", path);
		cr_expect_eq(json_integer_value(json_object_get(j, "page")), page);
		cr_expect_eq(json_integer_value(json_object_get(j, "pages")), 3);
		cr_expect_eq(json_integer_value(json_object_get(j, "per_page")), RELAYS_PAGE_SIZE);
		cr_expect_eq(json_integer_value(json_object_get(j, "total")), 250);
		json_t *part = json_object_get(j, "relays");
		cr_expect_eq(json_array_size(part), page < 3 ? 100 : 50, "%s", path);
		/* the whole list's elements, in its order */
		for (size_t i = 0; i < json_array_size(part); i++, at++)
			cr_expect_str_eq(
			    json_string_value(json_object_get(json_array_get(part, i), "key")),
			    json_string_value(json_object_get(json_array_get(list, at), "key")));
		json_decref(j);
	}
	cr_expect_eq(at, 250);
	json_decref(all);
	/* no page past the last, none before the first, no other spelling */
	cr_expect_null(get_json(b, "/api/v1/relays-4.json", NULL));
	cr_expect_null(get_json(b, "/api/v1/relays-0.json", NULL));
	cr_expect_null(get_json(b, "/api/v1/relays-01.json", NULL));
	cr_expect_null(get_json(b, "/api/v1/relays-2", NULL));
	cr_expect_null(get_json(b, "/api/v1/relays-2.json.gz", NULL));
	/* the query form redirects to the canonical document */
	struct site_query q = {.page = "2"};
	struct site_response r;
	site_get(b, "/api/v1/relays", &q, &r);
	cr_expect_eq(r.status, SITE_REDIRECT);
	cr_expect_str_eq(r.location, "/api/v1/relays-2.json");
	q.page = "x";
	site_get(b, "/api/v1/relays", &q, &r);
	cr_expect_eq(r.status, SITE_NOT_FOUND);
	/* a static copy has every page */
	int seen[9] = {0};
	site_each_path(b, path_cb, seen);
	cr_expect(seen[1] == 1 && seen[2] == 1 && seen[3] == 1 && seen[4] == 0,
	          "the static copy's pages: %d %d %d %d", seen[1], seen[2], seen[3], seen[4]);
	board_free(b);
}

Test(web_scale, an_empty_board_has_one_empty_page)
{
	struct board *b = board_new("t");
	json_t *j = get_json(b, "/api/v1/relays-1.json", NULL);
	cr_assert_not_null(j);
	cr_expect_eq(json_array_size(json_object_get(j, "relays")), 0);
	cr_expect_eq(json_integer_value(json_object_get(j, "pages")), 1);
	json_decref(j);
	cr_expect_null(get_json(b, "/api/v1/relays-2.json", NULL));
	board_free(b);
}

/* A document that takes 200 ms to render, numbered by its renders. */
static void
slow_fn(const struct board_view *v, void *arg, struct buf *out)
{
	(void)v;
	int *renders = arg;
	usleep(200 * 1000);
	buf_putf(out, "render %d", ++*renders);
}

static int
render_number(struct board *b, int *renders)
{
	struct blob *p = board_render(b, "/slow", -1, "text/plain", slow_fn, renders);
	int n = 0;
	cr_assert_eq(sscanf(p->data, "render %d", &n), 1);
	board_put(p);
	return n;
}

Test(web_scale, a_costly_document_is_kept_longer_and_still_refreshed)
{
	struct board *b = board_of(1, 1);
	int renders = 0;
	cr_assert_eq(render_number(b, &renders), 1);
	/* a change; a cheap document would be rendered again 500 ms after its
	 * render, this one (200 ms or more) not before 20 times that */
	record_one(b, "relay-000", "model-0", "suspect");
	long long changed = test_now_ms();
	usleep(BOARD_MIN_REFRESH_MS * 1000 + 200 * 1000);
	int n = render_number(b, &renders);
	if (test_now_ms() - changed < 20 * 200)
		cr_expect_eq(n, 1, "rendered again %lld ms after a change",
		             test_now_ms() - changed);
	/* and it is refreshed: within BOARD_MAX_AGE_MS at the latest */
	long long deadline = test_now_ms() + BOARD_MAX_AGE_MS + 5000;
	while ((n = render_number(b, &renders)) == 1 && test_now_ms() < deadline)
		usleep(100 * 1000);
	cr_expect_eq(n, 2, "never rendered again after the change");
	board_free(b);
}

/* The refresher's document: numbered by its renders, each noting
 * whether it ran on the thread that asked for the first. */
struct swr {
	int renders;
	pthread_t asker;
	int on_asker; /* the latest render ran on the asking thread */
};

static void
swr_fn(const struct board_view *v, void *arg, struct buf *out)
{
	(void)v;
	struct swr *w = arg;
	usleep(30 * 1000);
	w->on_asker = pthread_equal(pthread_self(), w->asker);
	buf_putf(out, "render %d", ++w->renders);
}

static struct swr the_swr;

static void
swr_refresh(struct board *b, const char *key, void *arg)
{
	cr_expect_str_eq(key, "/swr");
	board_put(board_render(b, key, -1, "text/plain", swr_fn, arg));
}

static int
swr_number(struct board *b)
{
	struct blob *p = board_render(b, "/swr", -1, "text/plain", swr_fn, &the_swr);
	int n = 0;
	cr_assert_eq(sscanf(p->data, "render %d", &n), 1);
	board_put(p);
	return n;
}

Test(web_scale, a_stale_document_is_served_while_the_refresher_renders_it)
{
	struct board *b = board_of(1, 1);
	the_swr = (struct swr){.asker = pthread_self()};
	board_set_refresher(b, swr_refresh, &the_swr);
	cr_assert_eq(swr_number(b), 1); /* never rendered: the asker renders it */
	cr_expect(the_swr.on_asker);
	record_one(b, "relay-000", "model-0", "suspect");
	/* stale after the hold; every request gets a document at once, the
	 * new one rendered by the refresher, never by the asker */
	long long deadline = test_now_ms() + BOARD_MAX_AGE_MS + 5000;
	int n;
	while ((n = swr_number(b)) == 1 && test_now_ms() < deadline)
		usleep(50 * 1000);
	cr_expect_eq(n, 2, "never refreshed after the change");
	cr_expect(!the_swr.on_asker, "the asking thread rendered the stale document");
	board_set_refresher(b, NULL, NULL);
	board_free(b);
}

static void
keys_cb(const struct board_view *v, void *arg)
{
	int *found = arg;
	for (size_t i = 0; i < v->n; i++)
		*found += board_view_entry(v, v->entries[i]->key) == v->entries[i];
	*found -= board_view_entry(v, "no-such-key") != NULL;
}

Test(web_scale, every_key_is_found_by_its_index_and_clashing_slugs_stay_apart)
{
	struct board *b = board_of(400, 5);
	/* two names with one slug: the second key gets a suffix */
	record_one(b, "x y", "m", "genuine");
	record_one(b, "x-y", "m", "misbehaving");
	int found = 0;
	board_with_view(b, keys_cb, &found);
	cr_expect_eq(found, 2002, "%d of 2002 entries found by their keys", found);
	long a = board_relay_by_key(b, "x-y"), c = board_relay_by_key(b, "x-y-2");
	cr_expect(a >= 0 && c >= 0 && a != c, "relay ids %ld and %ld", a, c);
	cr_expect_eq(board_relay_of_endpoint(b, "x-y_m"), a);
	cr_expect_eq(board_relay_of_endpoint(b, "x-y_m-2"), c);
	cr_expect_eq(board_relay_of_endpoint(b, "relay-399_model-4"),
	             board_relay_by_key(b, "relay-399"));
	cr_expect_eq(board_relay_by_key(b, "relay-400"), -1);
	/* a badge of each: its own verdict */
	struct site_response r;
	site_get(b, "/api/v1/endpoints/x-y_m-2/verdict/badge.json", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	cr_expect_not_null(strstr(r.blob->data, "misbehaving"), "%s", r.blob->data);
	board_put(r.blob);
	site_get(b, "/api/v1/endpoints/x-y_m/verdict/badge.json", NULL, &r);
	cr_assert_eq(r.status, SITE_OK);
	cr_expect_not_null(strstr(r.blob->data, "genuine"), "%s", r.blob->data);
	board_put(r.blob);
	board_free(b);
}

/*
 * A long render lets a change that waits come in (board_view_breathe):
 * the event loop's writes do not wait for the whole status API of a big
 * board. A writer, blocked on the render's lock, inserts an entry that
 * sorts before where the walk is; the walk goes on from where it was by
 * key: every entry of the board it started on once, in order, and the
 * change was made before the render ended.
 */
struct insert_arg {
	struct board *b;
	int done;
};

static void *
insert_before_main(void *arg)
{
	struct insert_arg *w = arg;
	record_one(w->b, "relay-000a", "model-0", "genuine");
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

struct breathe_arg {
	struct insert_arg w;
	pthread_t writer;
	int waited;      /* the writer was seen waiting before the walk */
	int done_before; /* ... and had written before the render ended */
};

static void
breathing_fn(const struct board_view *v, void *arg, struct buf *out)
{
	struct breathe_arg *a = arg;
	cr_assert_eq(pthread_create(&a->writer, NULL, insert_before_main, &a->w), 0);
	/* the render holds the lock: the writer comes to wait on it */
	long long deadline = test_now_ms() + 10000;
	while (board_test_writers_waiting(a->w.b) == 0 && test_now_ms() < deadline)
		usleep(1000);
	a->waited = board_test_writers_waiting(a->w.b) > 0;
	render_relays_json(v, out); /* breathes every BOARD_BREATHE_EVERY entries */
	a->done_before = __atomic_load_n(&a->w.done, __ATOMIC_SEQ_CST);
}

Test(web_scale, a_long_render_lets_a_waiting_change_in)
{
	struct board *b = board_of(400, 5); /* 2,000: four breaths */
	struct breathe_arg a = {.w = {.b = b}};
	struct blob *blob = board_render_uncached(b, "application/json", breathing_fn, &a);
	pthread_join(a.writer, NULL);
	cr_assert(a.waited, "the writer never waited on the render's lock");
	cr_expect(a.done_before, "the change waited for the whole render");
	json_error_t e;
	json_t *j = json_loadb(blob->data, blob->len, 0, &e);
	cr_assert_not_null(j, "%s", e.text);
	json_t *relays = json_object_get(j, "relays");
	cr_assert_eq(json_array_size(relays), 2000, "%zu relay-models listed, not 2,000 once each",
	             json_array_size(relays));
	char prev[80] = "";
	for (size_t i = 0; i < json_array_size(relays); i++) {
		json_t *r = json_array_get(relays, i);
		char key[80];
		snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(r, "relay")),
		         json_string_value(json_object_get(r, "model")));
		cr_expect_gt(strcmp(key, prev), 0, "entry %zu (%s) after %s: out of order or twice",
		             i, key, prev);
		snprintf(prev, sizeof prev, "%s", key);
	}
	json_decref(j);
	board_put(blob);
	/* and the change is on the board */
	json_t *after = get_json(b, "/api/v1/relays", NULL);
	cr_expect_eq(json_array_size(json_object_get(after, "relays")), 2001);
	json_decref(after);
	board_free(b);
}

/* How many "entry" events ev holds; the relays they name ("relay":"X"), in
 * order, joined by spaces into names. */
static size_t
event_relays(const struct buf *ev, char *names, size_t cap)
{
	size_t n = 0;
	names[0] = '\0';
	const char *p = ev->len ? ev->data : "";
	while ((p = strstr(p, "\"relay\":\"")) != NULL) {
		p += strlen("\"relay\":\"");
		const char *end = strchr(p, '"');
		cr_assert_not_null(end);
		size_t used = strlen(names);
		snprintf(names + used, cap - used, "%s%.*s", n ? " " : "", (int)(end - p), p);
		n++;
		p = end;
	}
	return n;
}

Test(web_scale, events_go_out_in_change_order_each_entry_once_at_its_latest)
{
	struct board *b = board_new("t");
	for (int i = 0; i < 2000; i++) { /* changed before: not sent again */
		char relay[32];
		snprintf(relay, sizeof relay, "quiet-%04d", i);
		board_declare(b, relay, "m", "openai", 60000);
	}
	uint64_t start = board_seq(b);
	record_one(b, "a", "m", "genuine");
	record_one(b, "b", "m", "genuine");
	uint64_t after_b = board_seq(b);
	record_one(b, "c", "m", "genuine");
	record_one(b, "a", "m", "suspect"); /* a again: now after c */
	record_one(b, "d", "m", "genuine");
	struct buf ev;
	char names[256];
	buf_init(&ev, 0);
	static char many[64 * 2004];
	uint64_t upto = board_events(b, start, 100, &ev);
	cr_expect_eq(event_relays(&ev, names, sizeof names), 4, "%s", ev.data);
	cr_expect_str_eq(names, "b c a d");
	cr_expect_eq(upto, board_seq(b));
	/* from after b, two at a time */
	buf_reset(&ev);
	upto = board_events(b, after_b, 2, &ev);
	cr_expect_eq(event_relays(&ev, names, sizeof names), 2, "%s", ev.data);
	cr_expect_str_eq(names, "c a");
	buf_reset(&ev);
	upto = board_events(b, upto, 2, &ev);
	cr_expect_eq(event_relays(&ev, names, sizeof names), 1, "%s", ev.data);
	cr_expect_str_eq(names, "d");
	/* nothing since the latest; an id from before a restart (past the
	 * board's count) gets every changed entry */
	buf_reset(&ev);
	cr_expect_eq(board_events(b, upto, 2, &ev), upto);
	cr_expect_eq(ev.len, 0);
	board_events(b, board_seq(b) + 1000, 5000, &ev);
	cr_expect_eq(event_relays(&ev, many, sizeof many), 2004);
	cr_expect(strncmp(many, "quiet-0000 quiet-0001 ", 22) == 0, "%.40s", many);
	cr_expect(strcmp(many + strlen(many) - 8, " b c a d") == 0, "%s", many + strlen(many) - 8);
	buf_release(&ev);
	board_free(b);
}

Test(web_scale, every_viewer_gets_a_change_rendered_once_and_the_next_change_afresh)
{
	struct board *b = board_new("t");
	uint64_t start = board_seq(b);
	record_one(b, "a", "m", "genuine");
	struct buf one, two;
	buf_init(&one, 0);
	buf_init(&two, 0);
	board_events(b, start, 10, &one); /* the first viewer renders it */
	board_events(b, start, 10, &two); /* the second gets that copy */
	cr_assert_gt(one.len, 0);
	cr_expect_eq(one.len, two.len);
	cr_expect(memcmp(one.data, two.data, one.len) == 0, "%s\n%s", one.data, two.data);
	cr_expect(strstr(one.data, "\"verdict\":\"genuine\"") != NULL, "%s", one.data);
	/* the entry changes: its event is rendered again, not the old copy */
	uint64_t after = board_seq(b);
	record_one(b, "a", "m", "misbehaving");
	buf_reset(&one);
	board_events(b, after, 10, &one);
	cr_expect(strstr(one.data, "\"verdict\":\"misbehaving\"") != NULL, "%s", one.data);
	cr_expect(strstr(one.data, "\"verdict\":\"genuine\"") == NULL, "%s", one.data);
	buf_release(&one);
	buf_release(&two);
	board_free(b);
}
