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

/* An e-value as the pages write it. */
static void
cell_e(struct buf *b, double e)
{
	buf_putf(b, "%.3g", e);
}

/*
 * The hub's pooled ledger (scoring/region_ledger.h): one row per class it
 * decided or saw in the window, its level and e-value against what decides,
 * and per region the runs that saw it and that region's own wealth. Every
 * string from the view is the store's (agents wrote it): escaped.
 */
static void
render_ledger(struct buf *b, const struct board_view *v, const json_t *view)
{
	const json_t *classes = json_object_get(view, "classes"),
	             *names = json_object_get(view, "regions");
	buf_puts(b, "<h3>Agents' evidence, every region pooled</h3>");
	const char *verdict = json_string_value(json_object_get(view, "verdict"));
	buf_putf(b, "<p>Ledger verdict: ");
	verdict_pill(b, verdict ? verdict : "genuine");
	buf_putf(b, " over %lld epochs of %llds.</p>",
	         (long long)json_integer_value(json_object_get(view, "epochs")),
	         (long long)json_integer_value(json_object_get(view, "epoch_s")));
	if (json_array_size(classes) == 0) {
		buf_puts(b, "<p class=\"sub\">No region's agent saw a cheating class in the "
		            "window.</p>");
		return;
	}
	buf_puts(b, "<div class=\"scroll\"><table class=\"regions ledger\"><thead><tr>"
	            "<th>Class</th><th>Level</th><th class=\"num\">e-value</th>"
	            "<th class=\"num\">Seen (epochs)</th>");
	size_t i, k;
	const json_t *n, *c;
	json_array_foreach(names, i, n)
	{
		buf_puts(b, "<th class=\"num region\">");
		html_escape(b, json_string_value(n) ? json_string_value(n) : "");
		buf_puts(b, "</th>");
	}
	buf_puts(b, "</tr></thead><tbody>");
	json_array_foreach(classes, i, c)
	{
		const char *cls = json_string_value(json_object_get(c, "class")),
		           *level = json_string_value(json_object_get(c, "level"));
		buf_puts(b, "<tr><td><span class=\"cls\">");
		html_escape(b, cls ? cls : "");
		buf_puts(b, "</span></td><td>");
		verdict_pill(b, level ? level : "genuine");
		buf_puts(b, "</td><td class=\"num\">");
		cell_e(b, json_number_value(json_object_get(c, "evalue")));
		buf_puts(b, " <span class=\"ci\">of ");
		cell_e(b, json_number_value(json_object_get(c, "decides")));
		buf_putf(b, "</span></td><td class=\"num\">%lld of %lld</td>",
		         (long long)json_integer_value(json_object_get(c, "seen")),
		         (long long)json_integer_value(json_object_get(c, "epochs")));
		const json_t *r;
		json_array_foreach(json_object_get(c, "regions"), k, r)
		{
			long long seen = json_integer_value(json_object_get(r, "seen")),
			          runs = json_integer_value(json_object_get(r, "runs"));
			buf_putf(b, "<td class=\"num%s\">saw it in %lld of %lld runs",
			         seen ? " seen" : "", seen, runs);
			if (seen) {
				char ago[64];
				view_ago(v, ago, sizeof ago,
				         json_integer_value(json_object_get(r, "last_seen_ms")));
				buf_putf(b, ", latest %s", ago);
			}
			buf_puts(b, " <span class=\"ci\">e ");
			cell_e(b, json_number_value(json_object_get(r, "evalue")));
			buf_puts(b, "</span></td>");
		}
		buf_puts(b, "</tr>");
		const json_t *f = json_object_get(c, "finding");
		if (json_is_object(f)) {
			buf_putf(b, "<tr><td></td><td colspan=\"%zu\" class=\"sub\">Latest, from ",
			         3 + json_array_size(names));
			const char *fr = json_string_value(json_object_get(f, "region"));
			html_escape(b, fr ? fr : "");
			buf_puts(b, ": ");
			const char *sum = json_string_value(json_object_get(f, "summary"));
			html_escape(b, sum ? sum : "");
			buf_puts(b, "</td></tr>");
		}
	}
	buf_puts(b, "</tbody></table></div><p class=\"sub\">Each epoch's runs from every region "
	            "are averaged, not multiplied (runs of the same time in several regions are "
	            "not independent evidence), and epochs multiply as serve's runs do: the "
	            "false-alarm budget holds however many regions there are. A region's own "
	            "e-value (one bet of 1/2 on its runs alone) is shown, not decided on.</p>");
}

void
render_regions(struct buf *b, const struct board_view *v, const struct board_entry *e)
{
	const struct board_regions *rs = e->regions;
	if (rs != NULL && rs->ledger != NULL)
		render_ledger(b, v, rs->ledger);
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
regions_ledger_json(const struct board_entry *e)
{
	const struct board_regions *rs = e->regions;
	return rs != NULL && rs->ledger != NULL ? json_deep_copy(rs->ledger) : json_null();
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
