/*
 * site: routing from a path to a renderer and a cache key.
 *
 * Cached: pages and JSON (keyed by canonical path, scoped to their relay or
 * to everything). Rendered per request: badges (tiny), and nothing else.
 * Unknown keys, models and sorts are 404s before anything is rendered, so a
 * client cannot fill the cache with made-up URLs.
 */
#include "web/site.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "web/board.h"
#include "web/board_test.h" /* defines board_get */
#include "web/render.h"
#include "web/spend.h"

static const char *const HTML = "text/html; charset=utf-8";
static const char *const JSON = "application/json";
static const char *const SVG = "image/svg+xml";
static const char *const CSS = "text/css; charset=utf-8";
static const char *const PROM = "text/plain; version=0.0.4; charset=utf-8";

static int
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Renderers that take no argument, as board_render_fn wants them. */
#define NO_ARG_RENDERER(name, render)                                                              \
	static void name(const struct board_view *v, void *arg, struct buf *out)                   \
	{                                                                                          \
		(void)arg;                                                                         \
		render(v, out);                                                                    \
	}
NO_ARG_RENDERER(status_fn, render_status_html)
NO_ARG_RENDERER(relays_fn, render_relays_json)
NO_ARG_RENDERER(lb_json_fn, render_leaderboard_json)
NO_ARG_RENDERER(endpoints_fn, render_endpoints_json)
NO_ARG_RENDERER(about_html_fn, render_about_html)
NO_ARG_RENDERER(about_json_fn, render_about_json)
NO_ARG_RENDERER(metrics_fn, render_metrics)
NO_ARG_RENDERER(spend_fn, render_spend_json)

static void
lb_html_fn(const struct board_view *v, void *arg, struct buf *out)
{
	render_leaderboard_html(v, arg, out);
}

static void
relay_fn(const struct board_view *v, void *arg, struct buf *out)
{
	render_relay_html(v, *(long *)arg, out);
}

static void
ok(struct site_response *out, struct blob *blob)
{
	out->status = SITE_OK;
	out->blob = blob;
}

static void
relays_page_fn(const struct board_view *v, void *arg, struct buf *out)
{
	render_relays_page_json(v, *(int *)arg, out);
}

static void
relays_pages_cb(const struct board_view *v, void *arg)
{
	*(int *)arg = relays_pages(v);
}

/* "/api/v1/relays-{N}.json", N a page that exists (1 .. pages); the query
 * form /api/v1/relays?page=N redirects to it. */
static void
relays_page(struct board *b, const char *path, const char *query_page, struct site_response *out)
{
	char *end;
	long page;
	if (query_page != NULL) {
		page = strtol(query_page, &end, 10);
		if (end == query_page || *end != '\0' || page < 1 || page > 1000000)
			return;
		out->status = SITE_REDIRECT;
		snprintf(out->location, sizeof out->location, "/api/v1/relays-%ld.json", page);
		return;
	}
	const char *num = path + strlen("/api/v1/relays-");
	if (!(*num >= '1' && *num <= '9'))
		return;
	page = strtol(num, &end, 10);
	if (strcmp(end, ".json") != 0 || page > 1000000)
		return;
	int pages = 1;
	board_with_view(b, relays_pages_cb, &pages);
	if (page > pages)
		return;
	int p = (int)page;
	ok(out, board_render(b, path, -1, JSON, relays_page_fn, &p));
}

static void
endpoint_fn(const struct board_view *v, void *arg, struct buf *out)
{
	render_endpoint_json(v, arg, out);
}

struct badge_req {
	char key[256];
	enum badge_kind kind;
	enum window_id window;
	int json;
};

static void
badge_fn(const struct board_view *v, void *arg, struct buf *out)
{
	const struct badge_req *r = arg;
	const struct board_entry *e = board_view_entry(v, r->key);
	if (e == NULL)
		return;
	if (r->json)
		badge_json(out, e, r->kind, r->window, v->now_ms);
	else
		badge_svg(out, e, r->kind, r->window, v->now_ms);
}

/* "/leaderboard/{model|all}/{sort}[-rev][-N].html" into q; 0 or -1. */
static int
parse_lb_path(struct board *b, const char *rest, struct lb_query *q, char *model, size_t mlen)
{
	const char *slash = strchr(rest, '/');
	if (slash == NULL || (size_t)(slash - rest) >= mlen)
		return -1;
	memcpy(model, rest, (size_t)(slash - rest));
	model[slash - rest] = '\0';
	q->model = strcmp(model, "all") == 0 ? NULL : model;
	if (q->model != NULL && !board_has_model_key(b, q->model))
		return -1;
	char file[64];
	const char *name = slash + 1;
	size_t n = strlen(name);
	if (n < 6 || n >= sizeof file || strcmp(name + n - 5, ".html") != 0)
		return -1;
	memcpy(file, name, n - 5);
	file[n - 5] = '\0';
	char *dash = strchr(file, '-');
	if (dash != NULL)
		*dash = '\0';
	int sort = lb_sort_from_name(file);
	if (sort < 0)
		return -1;
	q->sort = (enum lb_sort)sort;
	q->reverse = 0;
	q->page = 1;
	char *p = dash ? dash + 1 : NULL;
	if (p != NULL && has_prefix(p, "rev")) {
		q->reverse = 1;
		p = p[3] == '-' ? p + 4 : p[3] == '\0' ? NULL : p;
		if (p != NULL && !(*p >= '0' && *p <= '9'))
			return -1;
	}
	if (p != NULL) {
		char *end;
		long page = strtol(p, &end, 10);
		if (*end != '\0' || page < 2 || page > 100000)
			return -1;
		q->page = (int)page;
	}
	return 0;
}

struct lb_check {
	const struct lb_query *q;
	int pages;
};

static void
lb_pages_cb(const struct board_view *v, void *arg)
{
	struct lb_check *c = arg;
	c->pages = lb_pages(v, c->q);
}

static void
leaderboard(struct board *b, const char *path, const struct site_query *sq,
            struct site_response *out)
{
	struct lb_query q = {.sort = LB_SCORE, .page = 1, .root = "../"};
	char model[256];
	const char *rest = path + strlen("/leaderboard/");
	int canonical_default = *rest == '\0' || strcmp(rest, "index.html") == 0;
	if (canonical_default && sq != NULL && (sq->sort || sq->order || sq->model || sq->page)) {
		/* the query form: redirect to the canonical document */
		if (sq->sort) {
			int s = lb_sort_from_name(sq->sort);
			if (s < 0)
				return;
			q.sort = (enum lb_sort)s;
		}
		if (sq->order) {
			if (strcmp(sq->order, "rev") == 0 || strcmp(sq->order, "reverse") == 0)
				q.reverse = 1;
			else if (strcmp(sq->order, "asc") == 0 || strcmp(sq->order, "desc") == 0)
				/* asc/desc: the natural order of ttft, relay, model is ascending */
				q.reverse =
				    (strcmp(sq->order, "asc") == 0) !=
				    (q.sort == LB_TTFT || q.sort == LB_RELAY || q.sort == LB_MODEL);
			else if (strcmp(sq->order, "natural") != 0)
				return;
		}
		if (sq->model && *sq->model && strcmp(sq->model, "all") != 0) {
			char *slug = slugify(sq->model);
			int known = board_has_model_key(b, slug);
			snprintf(model, sizeof model, "%s", slug);
			free(slug);
			if (!known)
				return;
			q.model = model;
		}
		if (sq->page) {
			long p = strtol(sq->page, NULL, 10);
			q.page = p < 1 ? 1 : p > 100000 ? 100000 : (int)p;
		}
		struct buf loc;
		buf_init(&loc, 0);
		buf_puts(&loc, "/");
		lb_path(&loc, &q);
		snprintf(out->location, sizeof out->location, "%s", loc.data);
		buf_release(&loc);
		out->status = SITE_REDIRECT;
		return;
	}
	if (canonical_default) {
		ok(out, board_render(b, "/leaderboard/", -1, HTML, lb_html_fn, &q));
		return;
	}
	if (parse_lb_path(b, rest, &q, model, sizeof model) != 0)
		return;
	q.root = "../../";
	struct lb_check c = {&q, 1};
	board_with_view(b, lb_pages_cb, &c);
	if (q.page > c.pages)
		return;
	ok(out, board_render(b, path, -1, HTML, lb_html_fn, &q));
}

/* "/api/v1/endpoints/{key}/{what}/..." */
static void
endpoint(struct board *b, const char *rest, struct site_response *out)
{
	struct badge_req r = {0};
	const char *slash = strchr(rest, '/');
	size_t klen = slash ? (size_t)(slash - rest) : strlen(rest);
	if (slash == NULL) {
		/* {key}.json */
		if (klen < 6 || strcmp(rest + klen - 5, ".json") != 0 || klen - 5 >= sizeof r.key)
			return;
		memcpy(r.key, rest, klen - 5);
		r.key[klen - 5] = '\0';
		long scope = board_relay_of_endpoint(b, r.key);
		if (scope < 0)
			return;
		char *key = xasprintf("/api/v1/endpoints/%s", rest);
		ok(out, board_render(b, key, scope, JSON, endpoint_fn, r.key));
		free(key);
		return;
	}
	if (klen >= sizeof r.key)
		return;
	memcpy(r.key, rest, klen);
	r.key[klen] = '\0';
	if (board_relay_of_endpoint(b, r.key) < 0)
		return;
	const char *what = slash + 1, *file;
	char win[8];
	if (has_prefix(what, "uptimes/") || has_prefix(what, "response-times/")) {
		r.kind = has_prefix(what, "uptimes/") ? BADGE_UPTIME : BADGE_TTFT;
		const char *w = strchr(what, '/') + 1;
		const char *ws = strchr(w, '/');
		if (ws == NULL || (size_t)(ws - w) >= sizeof win)
			return;
		memcpy(win, w, (size_t)(ws - w));
		win[ws - w] = '\0';
		int wi = window_from_name(win);
		if (wi < 0)
			return;
		r.window = (enum window_id)wi;
		file = ws + 1;
	} else if (has_prefix(what, "verdict/")) {
		r.kind = BADGE_VERDICT;
		file = what + strlen("verdict/");
	} else {
		return;
	}
	if (strcmp(file, "badge.svg") == 0)
		r.json = 0;
	else if (strcmp(file, "badge.json") == 0)
		r.json = 1;
	else
		return;
	ok(out, board_render_uncached(b, r.json ? JSON : SVG, badge_fn, &r));
}

void
site_get(struct board *b, const char *path, const struct site_query *q, struct site_response *out)
{
	memset(out, 0, sizeof *out);
	out->status = SITE_NOT_FOUND;
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
		ok(out, board_render(b, "/", -1, HTML, status_fn, NULL));
	} else if (strcmp(path, "/leaderboard") == 0) {
		out->status = SITE_REDIRECT;
		snprintf(out->location, sizeof out->location, "/leaderboard/");
	} else if (has_prefix(path, "/leaderboard/")) {
		leaderboard(b, path, q, out);
	} else if (has_prefix(path, "/relays/")) {
		char key[256];
		const char *rest = path + strlen("/relays/");
		size_t n = strlen(rest);
		if (n > 5 && strcmp(rest + n - 5, ".html") == 0)
			n -= 5;
		if (n == 0 || n >= sizeof key)
			return;
		memcpy(key, rest, n);
		key[n] = '\0';
		long id = board_relay_by_key(b, key);
		if (id < 0)
			return;
		char *ck = xasprintf("/relays/%s.html", key);
		ok(out, board_render(b, ck, id, HTML, relay_fn, &id));
		free(ck);
	} else if (strcmp(path, "/about") == 0 || strcmp(path, "/about.html") == 0) {
		ok(out, board_render(b, "/about.html", -1, HTML, about_html_fn, NULL));
	} else if (strcmp(path, "/api/v1/relays") == 0 && q != NULL && q->page != NULL) {
		relays_page(b, path, q->page, out);
	} else if (strcmp(path, "/api/v1/relays") == 0 ||
	           strcmp(path, "/api/v1/relays.json") == 0) {
		ok(out, board_render(b, "/api/v1/relays", -1, JSON, relays_fn, NULL));
	} else if (has_prefix(path, "/api/v1/relays-")) {
		relays_page(b, path, NULL, out);
	} else if (strcmp(path, "/api/v1/leaderboard") == 0 ||
	           strcmp(path, "/api/v1/leaderboard.json") == 0) {
		ok(out, board_render(b, "/api/v1/leaderboard", -1, JSON, lb_json_fn, NULL));
	} else if (strcmp(path, "/api/v1/endpoints") == 0 ||
	           strcmp(path, "/api/v1/endpoints.json") == 0) {
		ok(out, board_render(b, "/api/v1/endpoints", -1, JSON, endpoints_fn, NULL));
	} else if (strcmp(path, "/api/v1/about") == 0 || strcmp(path, "/api/v1/about.json") == 0) {
		ok(out, board_render(b, "/api/v1/about", -1, JSON, about_json_fn, NULL));
	} else if (strcmp(path, "/api/v1/spend") == 0 || strcmp(path, "/api/v1/spend.json") == 0) {
		ok(out, board_render(b, "/api/v1/spend", -1, JSON, spend_fn, NULL));
	} else if (has_prefix(path, "/api/v1/endpoints/")) {
		endpoint(b, path + strlen("/api/v1/endpoints/"), out);
	} else if (strcmp(path, "/metrics") == 0) {
		ok(out, board_render(b, "/metrics", -1, PROM, metrics_fn, NULL));
	} else if (strcmp(path, "/assets/style.css") == 0) {
		ok(out, board_static(render_stylesheet, CSS));
	} else if (strcmp(path, "/assets/live.js") == 0) {
		ok(out, board_static(render_live_script, "text/javascript; charset=utf-8"));
	}
}

struct blob *
board_get(struct board *b, enum board_page page)
{
	struct site_response r;
	site_get(b, page == PAGE_RELAYS_JSON ? "/api/v1/relays" : "/", NULL, &r);
	return r.blob;
}

struct paths {
	char **v;
	size_t n;
};

static void
add(struct paths *p, char *path)
{
	p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
	p->v[p->n++] = path;
}

static void
collect_cb(const struct board_view *v, void *arg)
{
	struct paths *p = arg;
	static const char *const fixed[] = {"/index.html",
	                                    "/leaderboard/index.html",
	                                    "/about.html",
	                                    "/api/v1/relays",
	                                    "/api/v1/relays.json",
	                                    "/api/v1/leaderboard",
	                                    "/api/v1/leaderboard.json",
	                                    "/api/v1/endpoints.json",
	                                    "/api/v1/about.json",
	                                    "/api/v1/spend",
	                                    "/api/v1/spend.json",
	                                    "/metrics",
	                                    "/assets/style.css"};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		add(p, xstrdup(fixed[i]));
	for (size_t i = 0; i < v->n_relays; i++)
		add(p, xasprintf("/relays/%s.html", v->relays[i]->key));
	for (int pg = 1, pages = relays_pages(v); pg <= pages; pg++)
		add(p, xasprintf("/api/v1/relays-%d.json", pg));
	/* leaderboard variants: all, then each distinct model key */
	const char **models = xcalloc(v->n + 2, sizeof *models);
	size_t nm = 0;
	models[nm++] = NULL;
	for (size_t i = 0; i < v->n; i++) {
		size_t j;
		for (j = 1; j < nm && strcmp(models[j], v->entries[i]->model_key) != 0; j++)
			;
		if (j == nm)
			models[nm++] = v->entries[i]->model_key;
	}
	for (size_t m = 0; m < nm; m++) {
		struct lb_query q = {.model = models[m], .root = "../../"};
		int pages = lb_pages(v, &q);
		for (int s = 0; s < LB__COUNT; s++)
			for (int r = 0; r < 2; r++)
				for (int pg = 1; pg <= pages; pg++) {
					struct buf b;
					buf_init(&b, 0);
					q.sort = (enum lb_sort)s;
					q.reverse = r;
					q.page = pg;
					buf_puts(&b, "/");
					lb_path(&b, &q);
					add(p, buf_take(&b, NULL));
				}
	}
	free(models);
	for (size_t i = 0; i < v->n; i++) {
		const char *k = v->entries[i]->key;
		add(p, xasprintf("/api/v1/endpoints/%s.json", k));
		for (int f = 0; f < 2; f++) {
			const char *file = f ? "badge.json" : "badge.svg";
			for (int w = 0; w < WIN__COUNT; w++) {
				add(p, xasprintf("/api/v1/endpoints/%s/uptimes/%s/%s", k,
				                 window_names[w], file));
				add(p, xasprintf("/api/v1/endpoints/%s/response-times/%s/%s", k,
				                 window_names[w], file));
			}
			add(p, xasprintf("/api/v1/endpoints/%s/verdict/%s", k, file));
		}
	}
}

void
site_each_path(struct board *b, void (*cb)(const char *path, void *arg), void *arg)
{
	struct paths p = {0};
	board_with_view(b, collect_cb, &p);
	for (size_t i = 0; i < p.n; i++) {
		cb(p.v[i], arg);
		free(p.v[i]);
	}
	free(p.v);
}
