/*
 * regions_view: per-region figures of a relay-model (see the header).
 */
#include "web/regions_view.h"

#include <stdio.h>

#include "web/regions.h"
#include "web/render.h"

/* A whole number of ms, or a dash when unknown. */
static void
cell_ms(struct buf *b, double x)
{
	if (x < 0)
		buf_puts(b, "<td class=\"num\">&ndash;</td>");
	else
		buf_putf(b, "<td class=\"num\">%.0f</td>", x);
}

void
render_regions(struct buf *b, const struct board_view *v, const struct board_entry *e)
{
	const struct board_regions *rs = e->regions;
	if (rs == NULL || rs->n == 0)
		return;
	struct region_summary sum[BOARD_REGIONS_MAX];
	for (size_t i = 0; i < rs->n; i++)
		region_summarize(e, &rs->r[i], v->now_ms, &sum[i]);
	buf_puts(b, "<h3>By region</h3><div class=\"scroll\"><table class=\"regions\"><thead><tr>"
	            "<th>Region</th>");
	for (size_t i = 0; i < rs->n; i++) {
		buf_puts(b, "<th class=\"num region\">");
		html_escape(b, rs->r[i].name);
		buf_puts(b, "</th>");
	}
	buf_puts(b, "</tr></thead><tbody><tr><td>Latest run</td>");
	for (size_t i = 0; i < rs->n; i++) {
		const struct board_region *r = &rs->r[i];
		buf_putf(b, "<td class=\"num state-%s\"><b>%s</b>",
		         region_state_names[sum[i].state], region_state_names[sum[i].state]);
		if (sum[i].state != REGION_UP && r->last_error[0] != '\0' && r->last_ok == 0) {
			buf_puts(b, " <span class=\"cls\">");
			html_escape(b, r->last_error);
			buf_puts(b, "</span>");
		}
		buf_puts(b, "</td>");
	}
	buf_puts(b, "</tr><tr><td>Agent's verdict</td>");
	for (size_t i = 0; i < rs->n; i++) {
		buf_puts(b, "<td class=\"num\">");
		if (rs->r[i].last_verdict[0] != '\0')
			verdict_pill(b, rs->r[i].last_verdict);
		else
			buf_puts(b, "&ndash;");
		buf_puts(b, "</td>");
	}
	buf_puts(b, "</tr><tr><td>Last heard</td>");
	for (size_t i = 0; i < rs->n; i++) {
		char when[64], ago[64];
		render_time(when, sizeof when, rs->r[i].last_ms);
		view_ago(v, ago, sizeof ago, rs->r[i].last_ms);
		buf_putf(b, "<td class=\"num\" title=\"%s\">%s</td>", when, ago);
	}
	buf_puts(b, "</tr><tr><td>Success 24h</td>");
	for (size_t i = 0; i < rs->n; i++) {
		if (sum[i].share < 0) {
			buf_puts(b, "<td class=\"num\">&ndash;</td>");
			continue;
		}
		char pct[32];
		format_percent(pct, sizeof pct, sum[i].share);
		buf_putf(b, "<td class=\"num\">%s <span class=\"ci\">n=%ld</span></td>", pct,
		         sum[i].requests);
	}
	buf_puts(b, "</tr><tr><td>TTFT p50 (ms)</td>");
	for (size_t i = 0; i < rs->n; i++)
		cell_ms(b, sum[i].p50);
	buf_puts(b, "</tr><tr><td>TTFT p95 (ms)</td>");
	for (size_t i = 0; i < rs->n; i++)
		cell_ms(b, sum[i].p95);
	buf_puts(b, "</tr><tr><td>Runs 24h</td>");
	for (size_t i = 0; i < rs->n; i++)
		buf_putf(b, "<td class=\"num\">%ld</td>", sum[i].runs);
	buf_puts(
	    b, "</tr></tbody></table></div><p class=\"sub\">What each region's probe agent "
	       "saw: the state of its latest run (down: no request succeeded; stale: "
	       "nothing for three intervals) and the verdict the agent gave that run alone "
	       "(the hub's verdict above is its own), the share of its requests that succeeded and "
	       "percentiles of its runs' median time to first token (the latest ");
	buf_putf(b, "%d runs kept), nearest rank.</p>", REGION_RECENT);
}

static json_t *
real_or_null(double x)
{
	return x >= 0 ? json_real(x) : json_null();
}

json_t *
regions_json(const struct board_entry *e, int64_t now_ms)
{
	json_t *arr = json_array();
	const struct board_regions *rs = e->regions;
	for (size_t i = 0; rs != NULL && i < rs->n; i++) {
		const struct board_region *r = &rs->r[i];
		struct region_summary s;
		region_summarize(e, r, now_ms, &s);
		json_t *j = json_object();
		json_object_set_new(j, "region", json_string(r->name));
		json_object_set_new(j, "state", json_string(region_state_names[s.state]));
		json_object_set_new(j, "last_run_ms", json_integer(r->last_ms));
		json_object_set_new(j, "age_ms", json_integer(s.age_ms));
		json_object_set_new(j, "last_error", json_string(r->last_error));
		json_object_set_new(j, "last_verdict",
		                    r->last_verdict[0] ? json_string(r->last_verdict)
		                                       : json_null());
		json_object_set_new(j, "last_ttft_ms", real_or_null(r->last_ttft_ms));
		json_object_set_new(j, "window", json_string("24h"));
		json_object_set_new(j, "runs", json_integer(s.runs));
		json_object_set_new(j, "requests", json_integer(s.requests));
		json_object_set_new(j, "ok_requests", json_integer(s.ok));
		json_object_set_new(j, "success_rate", real_or_null(s.share));
		json_object_set_new(j, "ttft_ms",
		                    json_pack("{s:o, s:o, s:I, s:I}", "p50", real_or_null(s.p50),
		                              "p95", real_or_null(s.p95), "runs",
		                              (json_int_t)s.latency_runs, "max_runs",
		                              (json_int_t)REGION_RECENT));
		json_array_append_new(arr, j);
	}
	return arr;
}
