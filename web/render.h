/*
 * render: the documents of the site, from a board view into a buffer.
 *
 * Every string that came from a relay or a config is escaped on output
 * (html_escape for HTML and SVG text, jansson for JSON, prom_escape for
 * metrics); nothing here trusts its input. Pages load no font and link only
 * to the site's own stylesheet, with relative links so a static copy works
 * under any path; the live front page alone has a script, the site's own
 * (assets/live.js, live.c), which a static copy leaves out.
 */
#ifndef ASSAY_RENDER_H
#define ASSAY_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "web/model.h"

/* Shared pieces (render.c). */

/* Append s to b with HTML special characters escaped. */
void html_escape(struct buf *b, const char *s);
/* "2025-01-02 03:04 UTC" ("never" for 0). */
void render_time(char *out, size_t n, int64_t ms);
/* "3 min ago", "2 h ago", "5 d ago". */
void format_ago(char *out, size_t n, int64_t ms, int64_t now_ms);
/* "3 min ago" live; in a static copy (v->static_copy), the absolute time,
 * which does not go stale. */
void view_ago(const struct board_view *v, char *out, size_t n, int64_t ms);
/* "99.95%" with as many decimals as the count deserves. */
void format_percent(char *out, size_t n, double ratio);
/*
 * The page head and navigation. root: the relative path to the site root
 * ("", "../", "../../"); nav: the active section ("status", "leaderboard",
 * "about", or "" for none).
 */
void page_begin(struct buf *b, const struct board_view *v, const char *root, const char *title,
                const char *nav);
void page_end(struct buf *b, const struct board_view *v, const char *root);
/* <span class="v v-VERDICT">VERDICT</span>; NULL is "pending". */
void verdict_pill(struct buf *b, const char *verdict);
/* A row's relay (linked to its page under root) and model cells, escaped;
 * the model shows under the relay on phones and in its own cell elsewhere. */
void name_cells(struct buf *b, const char *root, const struct board_entry *e);
/* A findings list with each finding's evidence. */
void render_findings(struct buf *b, json_t *findings, int open);
/* The latest run's security posture (scoring/posture.h posture_json; NULL:
 * nothing): facts, not findings, one line each as `assay audit` prints
 * them. */
void render_security(struct buf *b, const json_t *security);
/* Encode j (stolen) as compact ASCII JSON into b. */
void json_emit(struct buf *b, json_t *j);

/* {"of":"per-run medians","window":"24h","ttft_ms":{"p50","p95","p99","runs"},
 * "tokens_per_s":{...}}: percentiles of the runs' own medians over 24 h
 * (the latest BOARD_RECENT runs), nearest rank; null without a run. */
json_t *percentiles_json(const struct board_entry *e, int64_t now_ms);
/* {"window":"24h","share","up_ms","observed_ms"}: entry_time_up(). */
json_t *time_up_json(const struct board_entry *e, int64_t now_ms);

/* One element of /api/v1/relays (and an event's data). */
json_t *relay_entry_json(const struct board_view *v, const struct board_entry *e);

/* The status overview (/) and /api/v1/relays. */
void render_status_html(const struct board_view *v, struct buf *out);
void render_relays_json(const struct board_view *v, struct buf *out);
/* /api/v1/relays-{page}.json: RELAYS_PAGE_SIZE elements of /api/v1/relays
 * from page (from 1), in the same order, with "page", "pages",
 * "per_page" and "total": a board of thousands of relay-models is read a
 * page at a time (as Gatus's web app reads /api/v1/endpoints/statuses?page=N,
 * 20 a page: TwiN/gatus web/app/src/views/Home.vue) instead of as one
 * document of megabytes. relays_pages() is the number
 * of pages (1 for an empty board). */
#define RELAYS_PAGE_SIZE 100
int relays_pages(const struct board_view *v);
void render_relays_page_json(const struct board_view *v, int page, struct buf *out);

/* Leaderboard (pages.c). */
enum lb_sort { LB_SCORE, LB_UPTIME, LB_TTFT, LB_TPS, LB_RELAY, LB_MODEL, LB_VERDICT, LB__COUNT };
extern const char *const lb_sort_names[LB__COUNT];
#define LB_PAGE_ROWS 100
struct lb_query {
	enum lb_sort sort;
	int reverse;       /* against the sort's natural order */
	const char *model; /* a model key, or NULL for all */
	int page;          /* from 1 */
	const char *root;  /* relative path to the site root */
};
/* -1 when unknown. */
int lb_sort_from_name(const char *name);
/* The canonical path of a leaderboard variant (without leading '/'). */
void lb_path(struct buf *b, const struct lb_query *q);
/* Number of pages the query has. */
int lb_pages(const struct board_view *v, const struct lb_query *q);
void render_leaderboard_html(const struct board_view *v, const struct lb_query *q, struct buf *out);
void render_leaderboard_json(const struct board_view *v, struct buf *out);

/* A relay's page: every model of relay id (pages.c). */
void render_relay_html(const struct board_view *v, long relay_id, struct buf *out);
/* One relay and model, everything the relay page shows, as JSON. */
void render_endpoint_json(const struct board_view *v, const char *key, struct buf *out);
/* The list of endpoints with their page and badge URLs. */
void render_endpoints_json(const struct board_view *v, struct buf *out);
void render_about_html(const struct board_view *v, struct buf *out);
void render_about_json(const struct board_view *v, struct buf *out);

/* SVG (svg.c). */
/* 90 one-day bars of e, each coloured by its day's worst verdict (red
 * misbehaving, amber suspect) and else its uptime, grey without data, with
 * the day's figures in its <title> (date, verdict, uptime, runs). */
void svg_day_bars(struct buf *b, const struct board_entry *e, int64_t now_ms);
/* The dates under the bars: the first day's and today's. */
void svg_day_axis(struct buf *b, int64_t now_ms);
/* A line chart of e's TTFT (metric 0) or tokens/s (metric 1): hourly over
 * 7 days (daily CHART_HOURLY), daily over 90 days (CHART_DAILY) or by
 * 5-minute slice over 12 hours (CHART_RECENT: from the first run). */
enum { CHART_HOURLY = 0, CHART_DAILY = 1, CHART_RECENT = 2 };
void svg_chart(struct buf *b, const struct board_entry *e, int metric, int daily, int64_t now_ms);
enum badge_kind { BADGE_UPTIME, BADGE_TTFT, BADGE_VERDICT };
/* A badge for e (window ignored for BADGE_VERDICT), as SVG or as the
 * shields.io endpoint JSON. */
void badge_svg(struct buf *b, const struct board_entry *e, enum badge_kind kind, enum window_id w,
               int64_t now_ms);
void badge_json(struct buf *b, const struct board_entry *e, enum badge_kind kind, enum window_id w,
                int64_t now_ms);

/* Prometheus text format (metrics.c). */
void render_metrics(const struct board_view *v, struct buf *out);

/* The front page's live updates, served at /assets/live.js (live.c). */
extern const char render_live_script[];

/* The stylesheet served at /assets/style.css (static). */
extern const char render_stylesheet[];

#endif
