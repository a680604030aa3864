/*
 * pages: the leaderboard, the relay pages, the endpoint JSON and /about.
 *
 * The leaderboard ranks by score (model.h) and shares a rank between
 * neighbours whose score intervals overlap: a tie is said, not hidden.
 * Sorting, filtering and paging are links to other static documents, so the
 * pages need no script and a static copy works the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/origin_view.h"
#include "web/regions_view.h"
#include "web/render.h"
#include "web/spend.h"
#include "scoring/classes.h"

const char *const lb_sort_names[LB__COUNT] = {"score", "uptime", "ttft",   "tps",
                                              "relay", "model",  "verdict"};

int
lb_sort_from_name(const char *name)
{
	return name_index(lb_sort_names, LB__COUNT, name);
}

void
lb_path(struct buf *b, const struct lb_query *q)
{
	buf_putf(b, "leaderboard/%s/%s%s", q->model ? q->model : "all", lb_sort_names[q->sort],
	         q->reverse ? "-rev" : "");
	if (q->page > 1)
		buf_putf(b, "-%d", q->page);
	buf_puts(b, ".html");
}

struct lb_row {
	const struct board_entry *e;
	struct score s;
	int rank; /* 0: unranked */
	int tie;
};

static int
by_score_cb(const void *a, const void *b)
{
	const struct lb_row *x = a, *y = b;
	if (x->s.ranked != y->s.ranked)
		return y->s.ranked - x->s.ranked;
	if (x->s.value != y->s.value)
		return x->s.value < y->s.value ? 1 : -1;
	int c = strcmp(x->e->relay, y->e->relay);
	return c ? c : strcmp(x->e->model, y->e->model);
}

/* Natural order of each sort key; unknown values always go last. */
struct sort_ctx {
	enum lb_sort sort;
	int reverse;
};

static int
cmp_num(double x, double y, int known_x, int known_y, int descending, int reverse)
{
	if (known_x != known_y)
		return known_y - known_x;
	if (!known_x || x == y)
		return 0;
	int c = x < y ? -1 : 1;
	if (descending)
		c = -c;
	return reverse ? -c : c;
}

static int
row_cmp(const struct lb_row *x, const struct lb_row *y, const struct sort_ctx *ctx)
{
	int c = 0, r = ctx->reverse;
	switch (ctx->sort) {
	case LB_SCORE:
		c = cmp_num(x->s.value, y->s.value, x->s.ranked, y->s.ranked, 1, r);
		break;
	case LB_UPTIME:
		c = cmp_num(x->s.uptime, y->s.uptime, x->s.requests > 0, y->s.requests > 0, 1, r);
		break;
	case LB_TTFT:
		c = cmp_num(x->s.ttft, y->s.ttft, x->s.ttft_n > 0, y->s.ttft_n > 0, 0, r);
		break;
	case LB_TPS:
		c = cmp_num(x->s.tps, y->s.tps, x->s.tps_n > 0, y->s.tps_n > 0, 1, r);
		break;
	case LB_VERDICT:
		c = cmp_num(x->s.honesty, y->s.honesty, x->e->verdict != NULL,
		            y->e->verdict != NULL, 1, r);
		break;
	case LB_MODEL:
		c = strcmp(x->e->model, y->e->model);
		c = r ? -c : c;
		break;
	case LB_RELAY:
	default:
		c = strcmp(x->e->relay, y->e->relay);
		c = r ? -c : c;
		break;
	}
	if (c == 0)
		c = by_score_cb(x, y);
	return c;
}

/* qsort has no context argument in C11: a small insertion-merge sort. */
static void
rows_sort(struct lb_row *rows, size_t n, const struct sort_ctx *ctx)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	rows_sort(rows, h, ctx);
	rows_sort(rows + h, n - h, ctx);
	struct lb_row *tmp = xmalloc(n * sizeof *tmp);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = row_cmp(&rows[j], &rows[i], ctx) < 0 ? rows[j++] : rows[i++];
	while (i < h)
		tmp[k++] = rows[i++];
	while (j < n)
		tmp[k++] = rows[j++];
	memcpy(rows, tmp, n * sizeof *tmp);
	free(tmp);
}

static int
double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* In ascending v[0..n): how many are <= x, and how many are < x. */
static size_t
count_at_most(const double *v, size_t n, double x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t
count_below(const double *v, size_t n, double x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The rows of the view (model key filter, or all), in score order, ranked
 * with uncertainty: a row's rank is 1 + the number of rows whose score
 * interval lies wholly above its own (those are surely better); a row ties
 * when another row's interval overlaps its own. Caller frees.
 */
static struct lb_row *
lb_rows(const struct board_view *v, const char *model, size_t *n)
{
	struct lb_row *rows = xcalloc(v->n + 1, sizeof *rows);
	size_t k = 0;
	for (size_t i = 0; i < v->n; i++) {
		if (model != NULL && strcmp(v->entries[i]->model_key, model) != 0)
			continue;
		rows[k].e = v->entries[i];
		entry_score(v->entries[i], v->now_ms, &rows[k].s);
		k++;
	}
	qsort(rows, k, sizeof *rows, by_score_cb);
	size_t ranked = 0;
	while (ranked < k && rows[ranked].s.ranked)
		ranked++;
	/* sorted bounds: rows surely above i are those with lo > hi_i, rows
	 * surely below are those with hi < lo_i; all others overlap i */
	double *los = xmalloc((ranked + 1) * sizeof *los),
	       *his = xmalloc((ranked + 1) * sizeof *his);
	for (size_t i = 0; i < ranked; i++) {
		los[i] = rows[i].s.lo;
		his[i] = rows[i].s.hi;
	}
	qsort(los, ranked, sizeof *los, double_cmp);
	qsort(his, ranked, sizeof *his, double_cmp);
	for (size_t i = 0; i < ranked; i++) {
		size_t above = ranked - count_at_most(los, ranked, rows[i].s.hi);
		size_t below = count_below(his, ranked, rows[i].s.lo);
		rows[i].rank = (int)above + 1;
		rows[i].tie = above + below + 1 < ranked;
	}
	free(los);
	free(his);
	*n = k;
	return rows;
}

int
lb_pages(const struct board_view *v, const struct lb_query *q)
{
	size_t n = 0;
	for (size_t i = 0; i < v->n; i++)
		if (q->model == NULL || strcmp(v->entries[i]->model_key, q->model) == 0)
			n++;
	return n == 0 ? 1 : (int)((n + LB_PAGE_ROWS - 1) / LB_PAGE_ROWS);
}

static void
lb_link(struct buf *b, const struct lb_query *q)
{
	buf_puts(b, q->root);
	lb_path(b, q);
}

static void
sort_header(struct buf *b, const struct lb_query *q, enum lb_sort sort, const char *label,
            const char *cls)
{
	struct lb_query to = *q;
	to.sort = sort;
	to.page = 1;
	to.reverse = q->sort == sort ? !q->reverse : 0;
	buf_putf(b, "<th%s%s%s><a href=\"", cls ? " class=\"" : "", cls ? cls : "",
	         cls ? "\"" : "");
	lb_link(b, &to);
	buf_putf(b, "\"%s>%s%s</a></th>", q->sort == sort ? " class=\"on\"" : "", label,
	         q->sort == sort ? (q->reverse ? " ↑" : " ↓") : "");
}

void
render_leaderboard_html(const struct board_view *v, const struct lb_query *q, struct buf *b)
{
	size_t n;
	struct lb_row *rows = lb_rows(v, q->model, &n);
	struct sort_ctx ctx = {q->sort, q->reverse};
	if (q->sort != LB_SCORE || q->reverse)
		rows_sort(rows, n, &ctx);
	page_begin(b, v, q->root, "Leaderboard", "leaderboard");
	buf_puts(b, "<h1>Leaderboard</h1><p class=\"lead\">Every relay and model over the last 30 "
	            "days, ranked by a score that weighs honesty first, then uptime, time to first "
	            "token and output speed. Brackets are 95 % intervals; rows whose score "
	            "intervals overlap share a rank (=).</p>");
	/* model filter: every distinct model key, in order of first appearance sorted */
	buf_puts(b, "<div class=\"filters\">");
	struct lb_query f = *q;
	f.page = 1;
	f.model = NULL;
	buf_puts(b, "<a href=\"");
	lb_link(b, &f);
	buf_putf(b, "\"%s>All models</a>", q->model == NULL ? " class=\"on\"" : "");
	const struct board_entry **seen = xcalloc(v->n + 1, sizeof *seen);
	size_t n_seen = 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct board_entry *e = v->entries[i];
		size_t j;
		for (j = 0; j < n_seen && strcmp(seen[j]->model_key, e->model_key) != 0; j++)
			;
		if (j == n_seen)
			seen[n_seen++] = e;
	}
	for (size_t i = 1; i < n_seen; i++) /* insertion sort: few models */
		for (size_t j = i; j > 0 && strcmp(seen[j - 1]->model, seen[j]->model) > 0; j--) {
			const struct board_entry *t = seen[j];
			seen[j] = seen[j - 1];
			seen[j - 1] = t;
		}
	for (size_t i = 0; i < n_seen; i++) {
		f.model = seen[i]->model_key;
		buf_puts(b, "<a href=\"");
		lb_link(b, &f);
		buf_putf(b, "\"%s>",
		         q->model && strcmp(q->model, f.model) == 0 ? " class=\"on\"" : "");
		html_escape(b, seen[i]->model);
		buf_puts(b, "</a>");
	}
	free(seen);
	buf_puts(
	    b, "</div><div class=\"tablecard scroll\"><table><thead><tr><th class=\"num\">#</th>");
	sort_header(b, q, LB_RELAY, "Relay", NULL);
	sort_header(b, q, LB_MODEL, "Model", "opt");
	sort_header(b, q, LB_VERDICT, "Verdict", NULL);
	sort_header(b, q, LB_SCORE, "Score", "num");
	sort_header(b, q, LB_UPTIME, "Uptime 30d", "num opt");
	sort_header(b, q, LB_TTFT, "TTFT", "num opt");
	sort_header(b, q, LB_TPS, "Tokens/s", "num opt");
	buf_puts(b, "</tr></thead><tbody>");
	int pages = n == 0 ? 1 : (int)((n + LB_PAGE_ROWS - 1) / LB_PAGE_ROWS);
	int page = q->page < 1 ? 1 : q->page > pages ? pages : q->page;
	size_t from = (size_t)(page - 1) * LB_PAGE_ROWS;
	size_t to = from + LB_PAGE_ROWS < n ? from + LB_PAGE_ROWS : n;
	char pct[32], lo[32], hi[32];
	for (size_t i = from; i < to; i++) {
		const struct lb_row *r = &rows[i];
		const struct board_entry *e = r->e;
		buf_puts(b, "<tr><td class=\"num rank\">");
		if (r->rank > 0)
			buf_putf(b, "%s%d",
			         r->tie ? "<span class=\"tie\" title=\"tied: intervals "
			                  "overlap\">=</span>"
			                : "",
			         r->rank);
		else
			buf_puts(b, "&ndash;");
		buf_puts(b, "</td>");
		name_cells(b, q->root, e);
		buf_puts(b, "<td>");
		verdict_pill(b, e->verdict);
		size_t nf = json_array_size(e->findings);
		if (nf > 0)
			buf_putf(b, "<div class=\"sub\">%zu finding%s</div>", nf,
			         nf == 1 ? "" : "s");
		buf_puts(b, "</td><td class=\"num\">");
		if (r->s.ranked)
			buf_putf(b, "<b>%.1f</b><div class=\"ci\">[%.1f–%.1f]</div>", r->s.value,
			         r->s.lo, r->s.hi);
		else
			buf_puts(b, "&ndash;");
		buf_puts(b, "</td><td class=\"num opt\">");
		if (r->s.requests > 0) {
			format_percent(pct, sizeof pct, r->s.uptime);
			format_percent(lo, sizeof lo, r->s.uptime_lo);
			format_percent(hi, sizeof hi, r->s.uptime_hi);
			buf_putf(b, "%s<div class=\"ci\">[%s–%s] n=%ld</div>", pct, lo, hi,
			         r->s.requests);
		} else {
			buf_puts(b, "&ndash;");
		}
		buf_puts(b, "</td><td class=\"num opt\">");
		if (r->s.ttft_n > 0)
			buf_putf(b, "%.0f ms<div class=\"ci\">[%.0f–%.0f] n=%ld</div>", r->s.ttft,
			         r->s.ttft_lo, r->s.ttft_hi, r->s.ttft_n);
		else
			buf_puts(b, "&ndash;");
		buf_puts(b, "</td><td class=\"num opt\">");
		if (r->s.tps_n > 0)
			buf_putf(b, "%.0f<div class=\"ci\">[%.0f–%.0f]</div>", r->s.tps,
			         r->s.tps_lo, r->s.tps_hi);
		else
			buf_puts(b, "&ndash;");
		buf_puts(b, "</td></tr>");
	}
	if (n == 0)
		buf_puts(b, "<tr><td colspan=\"8\">No relay audited yet.</td></tr>");
	buf_puts(b, "</tbody></table></div>");
	if (pages > 1) {
		buf_puts(b, "<div class=\"pager\">");
		for (int p = 1; p <= pages; p++) {
			struct lb_query pq = *q;
			pq.page = p;
			if (p == page) {
				buf_putf(b, "<span>%d</span>", p);
				continue;
			}
			buf_puts(b, "<a href=\"");
			lb_link(b, &pq);
			buf_putf(b, "\">%d</a>", p);
		}
		buf_puts(b, "</div>");
	}
	buf_puts(b,
	         "<div class=\"card\"><h3>How the score works</h3><p class=\"sub\">score = 100 × "
	         "honesty × (0.7 × uptime + 0.15 × 1/(1 + TTFT/1 s) + 0.15 × tps/(tps + 50)). "
	         "Honesty: genuine 1, inconclusive 0.7, unreachable 0.5, suspect 0.4, "
	         "misbehaving 0; evidence too weak to accuse (a hint, within no false-positive "
	         "budget after correcting for every test run) costs nothing. Uptime is the share "
	         "of probe requests that "
	         "succeeded, with a "
	         "Wilson interval; TTFT and tokens/s are means of each run's median with a "
	         "normal interval. The score interval takes every input at its worst and best "
	         "end.</p></div>");
	page_end(b, v, q->root);
	free(rows);
}

static json_t *
opt_real(double x)
{
	return x >= 0 ? json_real(x) : json_null();
}

static json_t *
score_json(const struct score *s)
{
	json_t *j = json_object();
	json_object_set_new(j, "value", s->ranked ? json_real(s->value) : json_null());
	json_object_set_new(j, "lo", s->ranked ? json_real(s->lo) : json_null());
	json_object_set_new(j, "hi", s->ranked ? json_real(s->hi) : json_null());
	json_object_set_new(j, "honesty", json_real(s->honesty));
	json_object_set_new(j, "window", json_string("30d"));
	json_object_set_new(j, "requests", json_integer(s->requests));
	json_object_set_new(j, "ok_requests", json_integer(s->ok));
	json_object_set_new(j, "runs", json_integer(s->runs));
	json_object_set_new(j, "uptime", s->requests ? json_real(s->uptime) : json_null());
	json_object_set_new(j, "uptime_lo", json_real(s->uptime_lo));
	json_object_set_new(j, "uptime_hi", json_real(s->uptime_hi));
	json_object_set_new(j, "ttft_ms", opt_real(s->ttft));
	json_object_set_new(j, "ttft_ms_lo", opt_real(s->ttft_lo));
	json_object_set_new(j, "ttft_ms_hi", opt_real(s->ttft_hi));
	json_object_set_new(j, "ttft_samples", json_integer(s->ttft_n));
	json_object_set_new(j, "tokens_per_s", opt_real(s->tps));
	json_object_set_new(j, "tokens_per_s_lo", opt_real(s->tps_lo));
	json_object_set_new(j, "tokens_per_s_hi", opt_real(s->tps_hi));
	json_object_set_new(j, "tokens_per_s_samples", json_integer(s->tps_n));
	return j;
}

void
render_leaderboard_json(const struct board_view *v, struct buf *out)
{
	size_t n;
	struct lb_row *rows = lb_rows(v, NULL, &n);
	json_t *root = json_object(), *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *j = json_object();
		json_object_set_new(j, "rank",
		                    rows[i].rank ? json_integer(rows[i].rank) : json_null());
		json_object_set_new(j, "tie", json_boolean(rows[i].tie));
		json_object_set_new(j, "relay", json_string(rows[i].e->relay));
		json_object_set_new(j, "model", json_string(rows[i].e->model));
		json_object_set_new(j, "key", json_string(rows[i].e->key));
		json_object_set_new(j, "verdict",
		                    rows[i].e->verdict ? json_string(rows[i].e->verdict)
		                                       : json_null());
		json_object_set_new(j, "findings",
		                    json_integer((json_int_t)json_array_size(rows[i].e->findings)));
		json_object_set_new(j, "score", score_json(&rows[i].s));
		json_array_append_new(arr, j);
	}
	free(rows);
	json_object_set_new(root, "generated_ms", json_integer(v->now_ms));
	json_object_set_new(root, "window", json_string("30d"));
	json_object_set_new(root, "entries", arr);
	json_emit(out, root);
}

/* Relay page. */

static void
duration_text(char *out, size_t n, int64_t ms)
{
	int64_t m = ms / 60000;
	if (m < 60)
		snprintf(out, n, "%lld min", (long long)m);
	else if (m < 48 * 60)
		snprintf(out, n, "%lld h %lld min", (long long)(m / 60), (long long)(m % 60));
	else
		snprintf(out, n, "%lld d %lld h", (long long)(m / 1440), (long long)(m / 60 % 24));
}

/* p50 / p95 / p99 of the runs' TTFT and tokens/s medians over 24 h. */
static void
relay_percentiles(struct buf *b, const struct board_entry *e, int64_t now_ms)
{
	buf_puts(b, "<div class=\"scroll\"><table class=\"pct\"><thead><tr><th>Last 24 h</th>"
	            "<th class=\"num\">p50</th><th class=\"num\">p95</th>"
	            "<th class=\"num\">p99</th><th class=\"num\">runs</th></tr></thead><tbody>");
	static const char *const what[2] = {"TTFT (ms)", "Tokens/s"};
	for (int m = 0; m < 2; m++) {
		double p[3];
		long n;
		entry_percentiles(e, m, now_ms - DAY_MS, now_ms, &p[0], &p[1], &p[2], &n);
		buf_putf(b, "<tr><td>%s</td>", what[m]);
		for (int k = 0; k < 3; k++) {
			if (p[k] >= 0)
				buf_putf(b, "<td class=\"num\">%.0f</td>", p[k]);
			else
				buf_puts(b, "<td class=\"num\">&ndash;</td>");
		}
		buf_putf(b, "<td class=\"num\">%ld</td></tr>", n);
	}
	buf_puts(b, "</tbody></table></div><p class=\"sub\">Percentiles of each run's median "
	            "(a run sends several requests), nearest rank.</p>");
}

static void
relay_model_section(struct buf *b, const struct board_view *v, const struct board_entry *e)
{
	const char *root = "../";
	buf_puts(b, "<section class=\"model\" id=\"");
	html_escape(b, e->key);
	buf_puts(b, "\"><h2>");
	html_escape(b, e->model);
	buf_puts(b, " ");
	verdict_pill(b, e->not_running ? "not running" : e->verdict);
	buf_puts(b, "</h2><div class=\"reason\">");
	html_escape(b, e->not_running ? e->not_running
	               : e->verdict   ? e->reason
	                              : "waiting for the first audit");
	if (e->at_risk != NULL) {
		buf_puts(b, "</div><div class=\"reason risk\"><b>At risk:</b> ");
		html_escape(b, e->at_risk);
	}
	char when[64], ago[64];
	render_time(when, sizeof when, e->last_run_ms);
	view_ago(v, ago, sizeof ago, e->last_run_ms);
	buf_putf(b, " · last audit <span title=\"%s\">%s</span> · API ", when, ago);
	html_escape(b, e->api);
	buf_puts(b, "</div>");
	render_findings(b, e->findings, 1);
	render_security(b, e->security);
	struct window w[WIN__COUNT];
	for (int i = 0; i < WIN__COUNT; i++)
		entry_window(e, (enum window_id)i, v->now_ms, &w[i]);
	render_origin(b, e, w);
	buf_puts(b, "<div class=\"windows\">");
	for (int i = 0; i < WIN__COUNT; i++) {
		char pct[32];
		if (w[i].requests > 0) {
			double lo, hi;
			stats_wilson(w[i].ok, w[i].requests, &lo, &hi);
			format_percent(pct, sizeof pct, (double)w[i].ok / (double)w[i].requests);
			char l[32], h[32];
			format_percent(l, sizeof l, lo);
			format_percent(h, sizeof h, hi);
			buf_putf(
			    b,
			    "<div><b>%s</b>uptime %s <span class=\"ci\">[%s–%s] n=%ld</span></div>",
			    pct, window_names[i], l, h, w[i].requests);
		} else {
			buf_putf(b, "<div><b>&ndash;</b>uptime %s</div>", window_names[i]);
		}
	}
	int64_t up_ms, seen_ms;
	double tu = entry_time_up(e, v->now_ms - DAY_MS, v->now_ms, &up_ms, &seen_ms);
	if (tu >= 0) {
		char pct[32], d[48], o[48];
		format_percent(pct, sizeof pct, tu);
		duration_text(d, sizeof d, seen_ms - up_ms);
		duration_text(o, sizeof o, seen_ms);
		buf_putf(b,
		         "<div><b>%s</b>time up 24h <span class=\"ci\">down %s of %s "
		         "observed</span></div>",
		         pct, d, o);
	} else {
		buf_puts(b, "<div><b>&ndash;</b>time up 24h</div>");
	}
	buf_puts(b, "</div>");
	relay_percentiles(b, e, v->now_ms);
	render_regions(b, v, e);
	svg_day_bars(b, e, v->now_ms);
	svg_day_axis(b, v->now_ms);
	buf_puts(b, "<div class=\"charts\">");
	svg_chart(b, e, 0, CHART_RECENT, v->now_ms);
	svg_chart(b, e, 1, CHART_RECENT, v->now_ms);
	svg_chart(b, e, 0, 0, v->now_ms);
	svg_chart(b, e, 1, 0, v->now_ms);
	svg_chart(b, e, 0, 1, v->now_ms);
	svg_chart(b, e, 1, 1, v->now_ms);
	buf_puts(b, "</div><div class=\"cols\"><div><h3>Verdict history</h3><ul class=\"plain\">");
	if (e->n_segments == 0)
		buf_puts(b, "<li>No verdict yet.</li>");
	for (size_t i = e->n_segments; i-- > 0;) {
		const struct segment *s = &e->segments[i];
		char a[64], z[64];
		render_time(a, sizeof a, s->first_ms);
		render_time(z, sizeof z, s->last_ms);
		buf_puts(b, "<li>");
		verdict_pill(b, s->verdict);
		buf_putf(b, " <span class=\"sub\">%s → %s, %ld run%s</span><div class=\"reason\">",
		         a, z, s->runs, s->runs == 1 ? "" : "s");
		html_escape(b, s->reason);
		buf_puts(b, "</div>");
		render_findings(b, s->findings, 0);
		buf_puts(b, "</li>");
	}
	buf_puts(b, "</ul></div><div><h3>Incidents</h3><ul class=\"plain\">");
	if (e->n_incidents == 0)
		buf_putf(b,
		         "<li>None. An incident opens after %d failing runs in a row and closes "
		         "after %d good ones.</li>",
		         TIMELINE_OPEN_AFTER, TIMELINE_RESOLVE_AFTER);
	for (size_t i = e->n_incidents; i-- > 0;) {
		const struct incident *in = &e->incidents[i];
		char a[64], d[48];
		render_time(a, sizeof a, in->opened_ms);
		buf_puts(b, "<li>");
		if (in->resolved_ms > 0) {
			duration_text(d, sizeof d, in->resolved_ms - in->opened_ms);
			buf_putf(b, "<span class=\"resolved\">resolved</span> after %s: ", d);
		} else {
			duration_text(d, sizeof d, v->now_ms - in->opened_ms);
			buf_putf(b, "<span class=\"open\">ongoing</span> for %s: ", d);
		}
		html_escape(b, in->kind);
		buf_puts(b, " (<span class=\"cls\">");
		html_escape(b, in->cause);
		buf_putf(b, "</span>) <span class=\"sub\">since %s, %ld failing run%s</span>", a,
		         in->failed_runs, in->failed_runs == 1 ? "" : "s");
		if (in->detail && *in->detail) {
			buf_puts(b, "<div class=\"reason\">");
			html_escape(b, in->detail);
			buf_puts(b, "</div>");
		}
		buf_puts(b, "</li>");
	}
	buf_puts(b, "</ul></div></div><h3>Requests that did not succeed, by error class</h3>");
	int any = 0;
	for (int c = 1; c < ERR__COUNT; c++)
		any |=
		    w[WIN_90D].errors[c] > 0 || w[WIN_24H].errors[c] > 0 || w[WIN_7D].errors[c] > 0;
	if (!any) {
		buf_puts(b, "<p class=\"sub\">No failed request in 90 days.</p>");
	} else {
		buf_puts(b, "<div class=\"scroll\"><table><thead><tr><th>Class</th>");
		for (int i = 0; i < WIN__COUNT; i++)
			buf_putf(b, "<th class=\"num\">%s</th>", window_names[i]);
		buf_puts(b, "</tr></thead><tbody>");
		for (int c = 1; c < ERR__COUNT; c++) {
			if (w[WIN_90D].errors[c] == 0 && w[WIN_24H].errors[c] == 0 &&
			    w[WIN_7D].errors[c] == 0)
				continue;
			buf_putf(b, "<tr><td><span class=\"cls\">%s</span></td>",
			         error_class_name((enum error_class)c));
			for (int i = 0; i < WIN__COUNT; i++)
				buf_putf(b, "<td class=\"num\">%ld</td>", w[i].errors[c]);
			buf_puts(b, "</tr>");
		}
		buf_puts(b, "</tbody></table></div>");
		if (w[WIN_90D].errors[ERR_NOT_SENT] > 0)
			buf_puts(b,
			         "<p class=\"sub\">not_sent: held back by Assay (the relay's "
			         "Retry-After, a pause after its failures, the audit's deadline), "
			         "never sent to the relay.</p>");
	}
	buf_puts(b, "<h3>Badges</h3><div class=\"badges\">");
	static const char *const badges[] = {"uptimes/24h", "uptimes/7d", "uptimes/30d",
	                                     "response-times/24h", "verdict"};
	for (size_t i = 0; i < sizeof badges / sizeof badges[0]; i++) {
		buf_putf(b, "<img alt=\"%s badge\" height=\"20\" src=\"%sapi/v1/endpoints/",
		         badges[i], root);
		html_escape(b, e->key);
		buf_putf(b, "/%s/badge.svg\">", badges[i]);
	}
	buf_puts(b,
	         "</div><p class=\"sub\">Shields.io endpoint JSON: replace <code>badge.svg</code> "
	         "with <code>badge.json</code>. Data: <a href=\"");
	buf_puts(b, root);
	buf_puts(b, "api/v1/endpoints/");
	html_escape(b, e->key);
	buf_puts(b, ".json\">JSON</a></p></section>");
}

void
render_relay_html(const struct board_view *v, long relay_id, struct buf *b)
{
	const struct board_relay *r = NULL;
	for (size_t i = 0; i < v->n_relays; i++)
		if ((long)v->relays[i]->id == relay_id)
			r = v->relays[i];
	if (r == NULL)
		return;
	page_begin(b, v, "../", r->name, "");
	buf_puts(b, "<h1>");
	html_escape(b, r->name);
	buf_putf(b,
	         "</h1><p class=\"lead\">%zu model%s audited. Uptime is the share of probe "
	         "requests that succeeded; time up the share of time the relay answered (a run "
	         "without one success is down until the next good run); bars show one day "
	         "each, coloured by the day's worst verdict and its uptime (hover for the "
	         "figures).</p>",
	         r->n, r->n == 1 ? "" : "s");
	/* one row a model: its verdict and what the relay's own model list
	 * (GET /v1/models) said of it at the latest audit */
	buf_puts(b, "<div class=\"tablecard scroll\"><table class=\"models\"><thead><tr>"
	            "<th>Model</th><th>Verdict</th><th>On the relay's model list</th></tr></thead>"
	            "<tbody>");
	for (size_t i = 0; i < r->n; i++) {
		const struct board_entry *e = r->entries[i];
		buf_puts(b, "<tr><td><a href=\"#");
		html_escape(b, e->key);
		buf_puts(b, "\">");
		html_escape(b, e->model);
		buf_puts(b, "</a></td><td>");
		verdict_pill(b, e->not_running ? "not running" : e->verdict);
		buf_puts(b, "</td><td class=\"listed\"");
		if (e->listed_note != NULL) {
			buf_puts(b, " title=\"");
			html_escape(b, e->listed_note);
			buf_puts(b, "\"");
		}
		buf_puts(b, ">");
		buf_puts(b, "<b>");
		html_escape(b, e->listed ? e->listed : "not asked yet");
		buf_puts(b, "</b>");
		if (e->listed_note != NULL) {
			buf_puts(b, " <span class=\"sub\">");
			html_escape(b, e->listed_note);
			buf_puts(b, "</span>");
		}
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</tbody></table></div>");
	if (r->billing != NULL) {
		buf_putf(b, "<p class=\"billing%s\"><b>Billing:</b> ",
		         r->billing_bad ? " bad" : "");
		html_escape(b, r->billing);
		buf_puts(b, "</p>");
	}
	spend_relay_html(b, v, r);
	for (size_t i = 0; i < r->n; i++)
		relay_model_section(b, v, r->entries[i]);
	page_end(b, v, "../");
}

static json_t *
bucket_json(const struct bucket *bk, int64_t start_ms)
{
	json_t *j = json_object();
	json_object_set_new(j, "start_ms", json_integer(start_ms));
	if (bk == NULL) {
		json_object_set_new(j, "requests", json_integer(0));
		return j;
	}
	json_object_set_new(j, "runs", json_integer(bk->runs));
	json_object_set_new(j, "worst_verdict",
	                    verdict_of_rank(bk->worst) ? json_string(verdict_of_rank(bk->worst))
	                                               : json_null());
	json_object_set_new(j, "requests", json_integer(bk->requests));
	json_object_set_new(j, "ok_requests", json_integer(bk->ok));
	json_object_set_new(j, "uptime",
	                    bk->requests ? json_real((double)bk->ok / bk->requests) : json_null());
	json_object_set_new(j, "ttft_ms",
	                    bk->ttft_n ? json_real(bk->ttft_sum / bk->ttft_n) : json_null());
	json_object_set_new(j, "tokens_per_s",
	                    bk->tps_n ? json_real(bk->tps_sum / bk->tps_n) : json_null());
	json_t *errs = json_object();
	for (int c = 1; c < ERR__COUNT; c++)
		if (bk->errors[c])
			json_object_set_new(errs, error_class_name((enum error_class)c),
			                    json_integer(bk->errors[c]));
	json_object_set_new(j, "errors", errs);
	return j;
}

static json_t *
entry_json(const struct board_view *v, const struct board_entry *e)
{
	json_t *j = json_object();
	json_object_set_new(j, "relay", json_string(e->relay));
	json_object_set_new(j, "model", json_string(e->model));
	json_object_set_new(j, "key", json_string(e->key));
	json_object_set_new(j, "relay_key", json_string(e->group->key));
	json_object_set_new(j, "api", json_string(e->api));
	json_object_set_new(j, "verdict", e->verdict ? json_string(e->verdict) : json_null());
	json_object_set_new(j, "reason", json_string(e->reason ? e->reason : ""));
	json_object_set_new(j, "not_running",
	                    e->not_running ? json_string(e->not_running) : json_null());
	json_object_set_new(j, "at_risk", e->at_risk ? json_string(e->at_risk) : json_null());
	json_object_set_new(j, "findings", json_deep_copy(e->findings));
	json_object_set_new(j, "last_run_ms",
	                    e->last_run_ms ? json_integer(e->last_run_ms) : json_null());
	json_object_set_new(j, "ttft_ms", opt_real(e->ttft_ms));
	json_object_set_new(j, "tokens_per_s", opt_real(e->tokens_per_s));
	json_object_set_new(j, "model_list",
	                    e->listed == NULL
	                        ? json_null()
	                        : json_pack("{s:s, s:I, s:s?}", "status", e->listed, "models",
	                                    (json_int_t)e->listed_models, "note", e->listed_note));
	json_object_set_new(j, "security", e->security ? json_deep_copy(e->security) : json_null());
	json_object_set_new(j, "origin", origin_json(e, v->now_ms));
	struct score sc;
	entry_score(e, v->now_ms, &sc);
	json_object_set_new(j, "score", score_json(&sc));
	json_t *wins = json_object();
	for (int i = 0; i < WIN__COUNT; i++) {
		struct window w;
		entry_window(e, (enum window_id)i, v->now_ms, &w);
		double lo, hi, m, mlo, mhi;
		stats_wilson(w.ok, w.requests, &lo, &hi);
		json_t *x = json_object();
		json_object_set_new(x, "runs", json_integer(w.runs));
		json_object_set_new(x, "requests", json_integer(w.requests));
		json_object_set_new(x, "ok_requests", json_integer(w.ok));
		json_object_set_new(
		    x, "uptime", w.requests ? json_real((double)w.ok / w.requests) : json_null());
		json_object_set_new(x, "uptime_lo", json_real(lo));
		json_object_set_new(x, "uptime_hi", json_real(hi));
		mean_interval(w.ttft_n, w.ttft_sum, w.ttft_sq, &m, &mlo, &mhi);
		json_object_set_new(x, "ttft_ms", opt_real(m));
		mean_interval(w.tps_n, w.tps_sum, w.tps_sq, &m, &mlo, &mhi);
		json_object_set_new(x, "tokens_per_s", opt_real(m));
		json_object_set_new(x, "tokens_spent", json_integer((json_int_t)w.tokens));
		json_t *errs = json_object();
		for (int c = 1; c < ERR__COUNT; c++)
			json_object_set_new(errs, error_class_name((enum error_class)c),
			                    json_integer(w.errors[c]));
		json_object_set_new(x, "errors", errs);
		json_object_set_new(wins, window_names[i], x);
	}
	json_object_set_new(j, "windows", wins);
	json_object_set_new(j, "time_up", time_up_json(e, v->now_ms));
	json_object_set_new(j, "percentiles", percentiles_json(e, v->now_ms));
	json_object_set_new(j, "regions", regions_json(e, v->now_ms));
	json_object_set_new(j, "agents_ledger", regions_ledger_json(e));
	json_t *days = json_array();
	int64_t today = v->now_ms / DAY_MS;
	for (int64_t d = today - 89; d <= today; d++)
		json_array_append_new(days,
		                      bucket_json(bucket_at(e->days, BOARD_DAYS, d), d * DAY_MS));
	json_object_set_new(j, "days", days);
	json_t *hours = json_array();
	int64_t hour = v->now_ms / HOUR_MS;
	for (int64_t h = hour - 167; h <= hour; h++)
		json_array_append_new(
		    hours, bucket_json(bucket_at(e->hours, BOARD_HOURS, h), h * HOUR_MS));
	json_object_set_new(j, "hours", hours);
	json_t *slices = json_array();
	int64_t slice = v->now_ms / SLICE_MS;
	for (int64_t k = slice - BOARD_SLICES + 1; k <= slice; k++)
		json_array_append_new(
		    slices, bucket_json(bucket_at(e->slices, BOARD_SLICES, k), k * SLICE_MS));
	json_object_set_new(j, "slices_5min", slices);
	/* newest first, in the stored rows' own words */
	json_t *hist = json_array();
	for (size_t i = e->n_segments; i-- > 0;) {
		const struct segment *s = &e->segments[i];
		json_array_append_new(
		    hist, json_pack("{s:I, s:I, s:I, s:s, s:s, s:o}", "first_ms",
		                    (json_int_t)s->first_ms, "last_ms", (json_int_t)s->last_ms,
		                    "runs", (json_int_t)s->runs, "verdict", s->verdict, "reason",
		                    s->reason, "findings", json_deep_copy(s->findings)));
	}
	json_object_set_new(j, "history", hist);
	json_t *incs = json_array();
	for (size_t i = e->n_incidents; i-- > 0;) {
		const struct incident *in = &e->incidents[i];
		json_array_append_new(
		    incs, json_pack("{s:s, s:I, s:o, s:s, s:s, s:I}", "kind", in->kind, "opened_ms",
		                    (json_int_t)in->opened_ms, "resolved_ms",
		                    in->resolved_ms ? json_integer(in->resolved_ms) : json_null(),
		                    "cause", in->cause, "detail", in->detail, "failed_runs",
		                    (json_int_t)in->failed_runs));
	}
	json_object_set_new(j, "incidents", incs);
	return j;
}

void
render_endpoint_json(const struct board_view *v, const char *key, struct buf *out)
{
	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->entries[i]->key, key) == 0) {
			json_t *j = entry_json(v, v->entries[i]);
			json_object_set_new(j, "generated_ms", json_integer(v->now_ms));
			json_emit(out, j);
			return;
		}
	}
}

void
render_endpoints_json(const struct board_view *v, struct buf *out)
{
	json_t *root = json_object(), *arr = json_array();
	for (size_t i = 0; i < v->n; i++) {
		const struct board_entry *e = v->entries[i];
		json_t *j = json_object();
		json_object_set_new(j, "key", json_string(e->key));
		json_object_set_new(j, "relay", json_string(e->relay));
		json_object_set_new(j, "model", json_string(e->model));
		char *page = xasprintf("relays/%s.html#%s", e->group->key, e->key);
		json_object_set_new(j, "page", json_string(page));
		free(page);
		char *data = xasprintf("api/v1/endpoints/%s.json", e->key);
		json_object_set_new(j, "json", json_string(data));
		free(data);
		json_t *badges = json_object();
		for (int w = 0; w < 3; w++) {
			char *u = xasprintf("api/v1/endpoints/%s/uptimes/%s/badge.svg", e->key,
			                    window_names[w]);
			char *name = xasprintf("uptime_%s", window_names[w]);
			json_object_set_new(badges, name, json_string(u));
			free(u);
			free(name);
		}
		char *u = xasprintf("api/v1/endpoints/%s/response-times/24h/badge.svg", e->key);
		json_object_set_new(badges, "ttft_24h", json_string(u));
		free(u);
		u = xasprintf("api/v1/endpoints/%s/verdict/badge.svg", e->key);
		json_object_set_new(badges, "verdict", json_string(u));
		free(u);
		json_object_set_new(j, "badges", badges);
		json_array_append_new(arr, j);
	}
	json_object_set_new(root, "endpoints", arr);
	json_emit(out, root);
}

static void
size_text(char *out, size_t n, int64_t bytes)
{
	if (bytes >= (1LL << 30))
		snprintf(out, n, "%.2f GiB", (double)bytes / (1 << 30));
	else if (bytes >= (1LL << 20))
		snprintf(out, n, "%.1f MiB", (double)bytes / (1 << 20));
	else
		snprintf(out, n, "%.0f KiB", (double)bytes / 1024);
}

void
render_about_html(const struct board_view *v, struct buf *b)
{
	page_begin(b, v, "", "About", "about");
	buf_puts(b,
	         "<h1>About this site</h1><p class=\"lead\">Assay sends fingerprinting probes to "
	         "each relay on a schedule, compares answers, latency and token counts with the "
	         "official models, and publishes what it found.</p><div class=\"card\"><h3>"
	         "Database</h3><dl class=\"kv\">");
	const struct board_about *a = v->about;
	char s[64];
	if (a->has_store) {
		buf_putf(b, "<dt>Engine</dt><dd>%s</dd>",
		         a->stats.engine ? a->stats.engine : "sqlite");
		size_text(s, sizeof s, a->stats.file_bytes);
		buf_putf(b, "<dt>Size</dt><dd>%s (%lld bytes)</dd>", s,
		         (long long)a->stats.file_bytes);
		size_text(s, sizeof s, a->stats.free_bytes);
		buf_putf(b, "<dt>Free pages</dt><dd>%s</dd>", s);
		size_text(s, sizeof s, a->stats.wal_bytes);
		buf_putf(b, "<dt>Write-ahead log</dt><dd>%s</dd>", s);
		buf_putf(b, "<dt>Schema version</dt><dd>%d</dd>", a->stats.schema_version);
		buf_putf(b, "<dt>Relay-models stored</dt><dd>%ld</dd>", a->stats.targets);
		const struct store_retention *r = &a->retention;
		buf_putf(b,
		         "<dt>Raw observations kept</dt><dd>%lld h</dd>"
		         "<dt>Minute rollups kept</dt><dd>%lld h</dd>"
		         "<dt>Hour rollups kept</dt><dd>%lld days</dd>"
		         "<dt>Day rollups, history, incidents</dt><dd>%lld days</dd>",
		         (long long)(r->raw_ms / HOUR_MS), (long long)(r->minute_ms / HOUR_MS),
		         (long long)(r->hour_ms / DAY_MS), (long long)(r->day_ms / DAY_MS));
		render_time(s, sizeof s, a->stats_ms);
		buf_putf(b, "<dt>Measured</dt><dd>%s</dd>", s);
	} else {
		buf_puts(b, "<dt>Storage</dt><dd>none</dd>");
	}
	buf_puts(b, "</dl></div>");
	spend_board_html(b, v);
	buf_puts(b, "<div class=\"card\"><h3>What Assay looks for</h3><dl class=\"kv\">");
	for (int c = 0; c < CLASS__COUNT; c++) {
		const struct class_info *ci = class_info((enum finding_class)c);
		buf_puts(b, "<dt>");
		html_escape(b, ci->label);
		buf_puts(b, " <code>");
		html_escape(b, ci->name);
		buf_puts(b, "</code></dt><dd>");
		html_escape(b, ci->what);
		if (!ci->cheat)
			buf_puts(b, " (not a cheat: it informs uptime and the ranking)");
		buf_puts(b, "</dd>");
	}
	buf_putf(b,
	         "</dl></div><div class=\"card\"><h3>This page</h3><dl class=\"kv\">"
	         "<dt>Relays</dt><dd>%zu</dd><dt>Relay-models</dt><dd>%zu</dd>",
	         v->n_relays, v->n);
	render_time(s, sizeof s, a->started_ms);
	buf_putf(b,
	         "<dt>Up since</dt><dd>%s</dd></dl></div><div class=\"card\"><h3>Machine-readable"
	         "</h3><ul class=\"plain\"><li><a href=\"api/v1/relays\">api/v1/relays</a>: every "
	         "relay and model, latest verdict</li><li><a href=\"api/v1/leaderboard\">"
	         "api/v1/leaderboard</a>: ranks, scores and intervals</li><li><a href=\""
	         "api/v1/endpoints.json\">api/v1/endpoints.json</a>: each relay-model's key, "
	         "page, JSON and badges</li><li><code>api/v1/endpoints/{key}/uptimes/{24h|7d|30d|"
	         "90d}/badge.svg</code>, <code>…/response-times/{window}/badge.svg</code>, "
	         "<code>…/verdict/badge.svg</code> (and <code>badge.json</code> for shields.io)"
	         "</li><li><code>/metrics</code>: Prometheus text format (live server)</li>"
	         "<li><code>/api/v1/events</code>: Server-Sent Events, an <code>entry</code> "
	         "event (the relay's <code>api/v1/relays</code> element) at each change (live "
	         "server)</li></ul>"
	         "</div>",
	         s);
	page_end(b, v, "");
}

void
render_about_json(const struct board_view *v, struct buf *out)
{
	const struct board_about *a = v->about;
	json_t *j = json_object();
	json_object_set_new(j, "relays", json_integer((json_int_t)v->n_relays));
	json_object_set_new(j, "relay_models", json_integer((json_int_t)v->n));
	json_object_set_new(j, "started_ms", json_integer(a->started_ms));
	if (a->has_store) {
		json_t *db = json_object();
		json_object_set_new(db, "engine",
		                    json_string(a->stats.engine ? a->stats.engine : "sqlite"));
		json_object_set_new(db, "size_bytes", json_integer(a->stats.file_bytes));
		json_object_set_new(db, "free_bytes", json_integer(a->stats.free_bytes));
		json_object_set_new(db, "wal_bytes", json_integer(a->stats.wal_bytes));
		json_object_set_new(db, "schema_version", json_integer(a->stats.schema_version));
		json_object_set_new(db, "targets", json_integer(a->stats.targets));
		json_object_set_new(db, "measured_ms", json_integer(a->stats_ms));
		json_t *r = json_object();
		json_object_set_new(r, "raw_ms", json_integer(a->retention.raw_ms));
		json_object_set_new(r, "minute_ms", json_integer(a->retention.minute_ms));
		json_object_set_new(r, "hour_ms", json_integer(a->retention.hour_ms));
		json_object_set_new(r, "day_ms", json_integer(a->retention.day_ms));
		json_object_set_new(db, "retention", r);
		json_object_set_new(j, "database", db);
	} else {
		json_object_set_new(j, "database", json_null());
	}
	json_emit(out, j);
}
