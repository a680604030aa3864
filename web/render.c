/*
 * render: the page chrome, shared formatting, the status overview and the
 * relays JSON.
 *
 * HTML is written by hand into a buffer (it is output, not parsing); every
 * dynamic string goes through html_escape(). JSON is built with jansson.
 */
#include "web/regions_view.h"
#include "web/render.h"

#include "scoring/classes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char render_stylesheet[] =
    ":root{--bg:#f6f7f9;--fg:#1b2230;--muted:#5d6678;--line:#e2e5ec;--card:#fff;"
    "--good:#1a7f37;--good2:#7ac77f;--bad:#cf222e;--warn:#bf6a02;--info:#3b5bdb;"
    "--gray:#8b93a1;--empty:#dfe3ea;--accent:#3b5bdb;--chart:#3b5bdb;--band:#3b5bdb22;"
    "--shadow:0 1px 2px #0000000d}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6e9ef;--muted:#97a0b3;"
    "--line:#252c38;--card:#151a23;--good:#3fb950;--good2:#2f7d3a;--bad:#f85149;"
    "--warn:#d29922;--info:#7c9cff;--gray:#6e7681;--empty:#262d39;--accent:#8ea6ff;"
    "--chart:#8ea6ff;--band:#8ea6ff26;--shadow:none}}"
    "*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}"
    "body{margin:0;background:var(--bg);color:var(--fg);"
    "font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
    "a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}"
    ".top{background:var(--card);border-bottom:1px solid var(--line)}"
    ".top .in{max-width:1120px;margin:0 auto;padding:10px 16px;display:flex;gap:18px;"
    "align-items:center;flex-wrap:wrap}"
    ".brand{font-weight:700;color:var(--fg);font-size:17px}"
    "nav{display:flex;gap:4px;flex-wrap:wrap}nav a{padding:4px 10px;border-radius:6px;"
    "color:var(--muted)}nav a.on{background:var(--bg);color:var(--fg);font-weight:600}"
    "main,footer{max-width:1120px;margin:0 auto;padding:12px 16px}"
    "h1{margin:14px 0 4px;font-size:24px;line-height:1.25;overflow-wrap:anywhere}"
    "h2{font-size:18px;margin:26px 0 10px}h3{font-size:15px;margin:18px 0 8px}"
    ".lead{margin:0 0 12px;color:var(--muted)}"
    ".summary{display:flex;gap:10px;flex-wrap:wrap;margin:14px 0}"
    ".summary div{background:var(--card);border:1px solid var(--line);border-radius:10px;"
    "padding:8px 14px;min-width:96px;box-shadow:var(--shadow);color:var(--muted);"
    "font-size:13px}.summary b{font-size:22px;display:block;color:var(--fg)}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:12px;"
    "padding:14px 16px;margin:14px 0;box-shadow:var(--shadow)}"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
    "table{width:100%;border-collapse:collapse;background:var(--card)}"
    ".tablecard{border:1px solid var(--line);border-radius:12px;overflow:hidden;"
    "box-shadow:var(--shadow);margin:12px 0}"
    "th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);"
    "vertical-align:top}tr:last-child td{border-bottom:0}"
    "th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;"
    "letter-spacing:.03em;white-space:nowrap}th a{color:var(--muted)}th a.on{color:var(--fg)}"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.name{overflow-wrap:anywhere;min-width:8em}"
    ".sub{color:var(--muted);font-size:12px}"
    ".v{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;"
    "font-weight:600;color:#fff;white-space:nowrap}.v-genuine{background:var(--good)}"
    ".v-misbehaving{background:var(--bad)}.v-suspect{background:var(--warn)}"
    ".v-inconclusive{background:var(--info)}.v-unreachable,.v-pending{background:var(--gray)}"
    ".reason{color:var(--muted);font-size:13px;overflow-wrap:anywhere}"
    "details{margin-top:4px}summary{cursor:pointer;font-size:13px;color:var(--muted)}"
    "ul.findings{margin:4px 0 0;padding-left:18px;font-size:13px}"
    "ul.findings li{margin:6px 0;overflow-wrap:anywhere}"
    ".cls{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;"
    "background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:0 4px}"
    ".ev{display:grid;grid-template-columns:auto 1fr;gap:0 8px;margin-top:2px}"
    ".ev span:nth-child(odd){color:var(--muted)}"
    ".mp{display:inline-block;margin:2px 10px 2px 0;font-size:12px;color:var(--muted);"
    "white-space:nowrap}"
    ".rank{font-weight:700}.tie{color:var(--muted);font-weight:400}"
    ".ci{color:var(--muted);font-size:12px;white-space:nowrap}"
    ".filters{display:flex;flex-wrap:wrap;gap:6px;margin:10px 0}"
    ".filters a{border:1px solid var(--line);background:var(--card);border-radius:999px;"
    "padding:2px 10px;font-size:13px;color:var(--fg)}"
    ".filters a.on{background:var(--accent);border-color:var(--accent);color:#fff}"
    ".pager{display:flex;gap:6px;margin:10px 0;flex-wrap:wrap}"
    ".pager a,.pager span{padding:2px 10px;border:1px solid var(--line);border-radius:6px;"
    "font-size:13px;background:var(--card)}"
    ".model{background:var(--card);border:1px solid var(--line);border-radius:12px;"
    "padding:14px 16px;margin:16px 0;box-shadow:var(--shadow)}"
    ".model h2{margin:0 0 6px;display:flex;gap:10px;align-items:center;flex-wrap:wrap;"
    "overflow-wrap:anywhere}"
    ".windows{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin:10px 0}"
    ".windows div{background:var(--bg);border-radius:8px;padding:6px 10px;font-size:12px;"
    "color:var(--muted);min-width:0}.windows .ci{display:block;white-space:normal}.windows "
    "b{display:block;font-size:17px;color:var(--fg);"
    "font-variant-numeric:tabular-nums}"
    "svg{display:block;max-width:100%;height:auto}"
    ".bars rect.b0{fill:var(--empty)}.bars rect.b1{fill:var(--good)}"
    ".bars rect.b2{fill:var(--good2)}.bars rect.b3{fill:var(--warn)}"
    ".bars rect.b4{fill:var(--bad)}.bars rect.bm{fill:var(--bad)}"
    ".bars rect.bs{fill:var(--warn)}.bars rect:hover{opacity:.7}"
    "tr.barrow td{border-top:0;padding-top:0}tr.barrow .bars{height:22px;display:block}"
    "tr.barrow .axis{margin-top:2px}"
    ".axis{display:flex;justify-content:space-between;color:var(--muted);font-size:12px;"
    "margin-top:2px}"
    ".charts{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin-top:8px}"
    ".chart{background:var(--bg);border-radius:8px;padding:8px}"
    ".chart h3{margin:0 0 4px;font-size:13px;color:var(--muted);font-weight:600}"
    ".chart .line{fill:none;stroke:var(--chart);stroke-width:1.6;"
    "vector-effect:non-scaling-stroke}"
    ".chart .dot{fill:var(--chart)}.chart .area{fill:var(--band)}.chart "
    ".grid{stroke:var(--line);stroke-width:1;"
    "vector-effect:non-scaling-stroke}.chart text{fill:var(--muted);font-size:11px}"
    ".chart .pt{fill:transparent}.chart .pt:hover{fill:var(--chart)}"
    ".cols{display:grid;grid-template-columns:1fr 1fr;gap:14px}"
    "ul.plain{list-style:none;padding:0;margin:0}ul.plain li{padding:8px 0;"
    "border-top:1px solid var(--line);font-size:13px;overflow-wrap:anywhere}"
    "ul.plain li:first-child{border-top:0}"
    ".open{color:var(--bad);font-weight:600}.resolved{color:var(--good);font-weight:600}"
    ".badges{display:flex;gap:6px;flex-wrap:wrap;margin:6px 0}"
    "code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;"
    "overflow-wrap:anywhere}"
    "dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}"
    "dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;font-variant-numeric:tabular-nums}"
    "footer{color:var(--muted);font-size:13px;padding-bottom:28px}"
    ".ph{display:none}"
    "@media (max-width:760px){th.opt,td.opt,.nph{display:none}.ph{display:block}"
    "td,th{padding:7px 6px}"
    ".charts,.cols{grid-template-columns:1fr}.windows{grid-template-columns:repeat(2,1fr)}"
    "h1{font-size:21px}body{font-size:14px}}";

void
html_escape(struct buf *b, const char *s)
{
	if (s == NULL)
		return;
	const char *start = s;
	for (; *s; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		if (s > start && buf_add(b, start, (size_t)(s - start)) != 0)
			fatal(70, "internal: output buffer over its cap");
		buf_puts(b, rep);
		start = s + 1;
	}
	buf_puts(b, start);
}

void
render_time(char *out, size_t n, int64_t ms)
{
	if (ms <= 0) {
		snprintf(out, n, "never");
		return;
	}
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

void
format_ago(char *out, size_t n, int64_t ms, int64_t now_ms)
{
	if (ms <= 0) {
		snprintf(out, n, "never");
		return;
	}
	int64_t s = (now_ms - ms) / 1000;
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, n, "%lld s ago", (long long)s);
	else if (s < 3600)
		snprintf(out, n, "%lld min ago", (long long)(s / 60));
	else if (s < 86400)
		snprintf(out, n, "%lld h ago", (long long)(s / 3600));
	else
		snprintf(out, n, "%lld d ago", (long long)(s / 86400));
}

static json_t *
real_or_null(double x)
{
	return x >= 0 ? json_real(x) : json_null();
}

void
view_ago(const struct board_view *v, char *out, size_t n, int64_t ms)
{
	if (v->static_copy)
		render_time(out, n, ms);
	else
		format_ago(out, n, ms, v->now_ms);
}

void
format_percent(char *out, size_t n, double ratio)
{
	double p = 100.0 * ratio;
	if (p >= 99.995 && p < 100)
		snprintf(out, n, "99.99%%"); /* never round a failure up to 100 % */
	else if (p >= 99 && p < 100)
		snprintf(out, n, "%.2f%%", floor(p * 100) / 100);
	else if (p >= 10 && p < 99)
		snprintf(out, n, "%.1f%%", floor(p * 10) / 10);
	else
		snprintf(out, n, "%.0f%%", p);
}

/* The share of requests that succeeded, or a dash when there were none. */
static void
put_ok_share(struct buf *b, long ok, long requests)
{
	char pct[32];
	if (requests <= 0) {
		buf_puts(b, "&ndash;");
		return;
	}
	format_percent(pct, sizeof pct, (double)ok / (double)requests);
	buf_puts(b, pct);
}

void
page_begin(struct buf *b, const struct board_view *v, const char *root, const char *title,
           const char *nav)
{
	buf_puts(b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	            "<meta name=\"color-scheme\" content=\"light dark\">"
	            "<meta name=\"referrer\" content=\"no-referrer\"><title>");
	html_escape(b, title);
	if (strcmp(title, v->title) != 0) {
		buf_puts(b, " · ");
		html_escape(b, v->title);
	}
	/* the live front page: without script, a reload a minute */
	int live = strcmp(nav, "status") == 0 && !v->static_copy;
	buf_putf(b,
	         "</title><link rel=\"stylesheet\" href=\"%sassets/style.css\">%s</head><body>"
	         "<div class=\"top\"><div class=\"in\"><a class=\"brand\" href=\"%sindex.html\">",
	         root,
	         live ? "<noscript><meta http-equiv=\"refresh\" content=\"60\"></noscript>" : "",
	         root);
	html_escape(b, v->title);
	static const char *const items[][2] = {{"status", "index.html"},
	                                       {"leaderboard", "leaderboard/index.html"},
	                                       {"about", "about.html"}};
	buf_puts(b, "</a><nav>");
	for (size_t i = 0; i < 3; i++)
		buf_putf(b, "<a href=\"%s%s\"%s>%c%s</a>", root, items[i][1],
		         strcmp(nav, items[i][0]) == 0 ? " class=\"on\"" : "",
		         items[i][0][0] - 'a' + 'A', items[i][0] + 1);
	buf_puts(b, "</nav></div></div><main>");
}

void
page_end(struct buf *b, const struct board_view *v, const char *root)
{
	char now[64];
	render_time(now, sizeof now, v->now_ms);
	buf_putf(b,
	         "</main><footer>Generated %s by Assay. Verdicts are evidence, not "
	         "accusations. Data: <a href=\"%sapi/v1/relays\">JSON</a> · "
	         "<a href=\"%sapi/v1/leaderboard\">leaderboard JSON</a></footer></body></html>\n",
	         now, root, root);
}

void
name_cells(struct buf *b, const char *root, const struct board_entry *e)
{
	buf_puts(b, "<td class=\"name\"><a href=\"");
	buf_puts(b, root);
	buf_puts(b, "relays/");
	html_escape(b, e->group->key);
	buf_puts(b, ".html\">");
	html_escape(b, e->relay);
	buf_puts(b, "</a><div class=\"sub ph\">");
	html_escape(b, e->model);
	buf_puts(b, "</div></td><td class=\"name opt\">");
	html_escape(b, e->model);
	buf_puts(b, "</td>");
}

void
verdict_pill(struct buf *b, const char *verdict)
{
	const char *v = verdict ? verdict : "pending";
	buf_puts(b, "<span class=\"v v-");
	/* "not running" is grey, as pending */
	html_escape(b, strcmp(v, "not running") == 0 ? "pending" : v);
	buf_puts(b, "\">");
	html_escape(b, v);
	buf_puts(b, "</span>");
}

void
render_findings(struct buf *b, json_t *findings, int open)
{
	size_t n = json_array_size(findings);
	if (n == 0)
		return;
	buf_putf(b, "<details%s><summary>%zu finding%s</summary><ul class=\"findings\">",
	         open ? " open" : "", n, n == 1 ? "" : "s");
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f)
	{
		json_t *ev = json_object_get(f, "evidence");
		const char *cls = json_string_value(json_object_get(f, "class"));
		int c = class_from_name(cls);
		buf_puts(b, "<li><span class=\"cls\"");
		if (c >= 0) { /* the class's words, from the one table (scoring/classes.h) */
			buf_puts(b, " title=\"");
			html_escape(b, class_info((enum finding_class)c)->what);
			buf_puts(b, "\"");
		}
		buf_puts(b, ">");
		const char *label = c >= 0 ? class_info((enum finding_class)c)->label : cls;
		html_escape(b, label);
		buf_puts(b, "</span> ");
		if (label != NULL && cls != NULL && strcmp(label, cls) != 0) {
			buf_puts(b, "<code>");
			html_escape(b, cls); /* the stable name, beside its words */
			buf_puts(b, "</code> ");
		}
		buf_putf(b,
		         "confidence %.3f: ", json_number_value(json_object_get(f, "confidence")));
		html_escape(b, json_string_value(json_object_get(ev, "summary")));
		buf_puts(b, "<div class=\"ev\"><span>expected</span><span>");
		html_escape(b, json_string_value(json_object_get(ev, "expected")));
		buf_puts(b, "</span><span>observed</span><span>");
		html_escape(b, json_string_value(json_object_get(ev, "observed")));
		buf_puts(b, "</span>");
		const char *probe = json_string_value(json_object_get(ev, "probe"));
		if (probe != NULL) {
			buf_puts(b, "<span>probe</span><span>");
			html_escape(b, probe);
			buf_puts(b, "</span>");
		}
		const char *served = json_string_value(json_object_get(f, "served_model"));
		if (served != NULL) {
			buf_puts(b, "<span>served</span><span>");
			html_escape(b, served);
			buf_puts(b, "</span>");
		}
		buf_puts(b, "</div></li>");
	}
	buf_puts(b, "</ul></details>");
}

void
render_security(struct buf *b, const json_t *security)
{
	const json_t *lines = json_object_get(security, "summary");
	if (json_array_size(lines) == 0)
		return;
	buf_puts(b, "<div class=\"security\"><h3>Security posture <small>(facts, not "
	            "findings)</small></h3><ul>");
	size_t i;
	const json_t *l;
	json_array_foreach(lines, i, l)
	{
		buf_puts(b, "<li>");
		html_escape(b, json_string_value(l) ? json_string_value(l) : "");
		buf_puts(b, "</li>");
	}
	buf_puts(b, "</ul></div>");
}

void
json_emit(struct buf *b, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH);
	json_decref(j);
	if (s == NULL)
		fatal(70, "cannot encode JSON");
	buf_puts(b, s);
	free(s);
}

/* Past this many relay-models the overview lists relays, not pairs (the
 * leaderboard and the relay pages have the rest): a page, not a dump. */
#define STATUS_ROWS_MAX 150

static void
status_by_relay(const struct board_view *v, struct buf *b)
{
	buf_puts(b, "<p class=\"lead\">One row a relay; its page has each model. The <a href=\""
	            "leaderboard/index.html\">leaderboard</a> ranks every pair.</p>"
	            "<div class=\"tablecard scroll\"><table><thead><tr><th>Relay</th>"
	            "<th>Verdicts</th><th class=\"num\">Uptime 24h</th>"
	            "<th class=\"num opt\">30 d</th><th class=\"num opt\">Last audit</th>"
	            "</tr></thead><tbody>");
	for (size_t i = 0; i < v->n_relays; i++) {
		const struct board_relay *r = v->relays[i];
		struct window d = {0}, m = {0}, x;
		int64_t last = 0;
		buf_puts(b, "<tr><td class=\"name\"><a href=\"relays/");
		html_escape(b, r->key);
		buf_puts(b, ".html\">");
		html_escape(b, r->name);
		buf_putf(b, "</a><div class=\"sub\">%zu model%s</div></td><td>", r->n,
		         r->n == 1 ? "" : "s");
		for (size_t k = 0; k < r->n; k++) {
			const struct board_entry *e = r->entries[k];
			entry_window(e, WIN_24H, v->now_ms, &x);
			d.requests += x.requests;
			d.ok += x.ok;
			entry_window(e, WIN_30D, v->now_ms, &x);
			m.requests += x.requests;
			m.ok += x.ok;
			last = e->last_run_ms > last ? e->last_run_ms : last;
			buf_puts(b, "<span class=\"mp\">");
			html_escape(b, e->model);
			buf_puts(b, " ");
			verdict_pill(b, e->not_running ? "not running" : e->verdict);
			buf_puts(b, "</span>");
		}
		char ago[64];
		buf_puts(b, "</td><td class=\"num\">");
		put_ok_share(b, d.ok, d.requests);
		buf_puts(b, "</td><td class=\"num opt\">");
		put_ok_share(b, m.ok, m.requests);
		view_ago(v, ago, sizeof ago, last);
		buf_putf(b, "</td><td class=\"num opt\">%s</td></tr>", ago);
	}
	buf_puts(b, "</tbody></table></div>");
}

void
render_status_html(const struct board_view *v, struct buf *b)
{
	int counts[7] = {0};
	static const char *const order[] = {"genuine",     "suspect", "misbehaving", "inconclusive",
	                                    "unreachable", "pending", "not running"};
	for (size_t i = 0; i < v->n; i++) {
		int k = v->entries[i]->not_running ? 6 : 5; /* as its pill says */
		for (int j = 0; j < 5 && k == 5; j++)
			if (v->entries[i]->verdict && strcmp(v->entries[i]->verdict, order[j]) == 0)
				k = j;
		counts[k]++;
	}
	page_begin(b, v, "", v->title, "status");
	buf_puts(b, "<h1>");
	html_escape(b, v->title);
	buf_putf(b,
	         "</h1><p class=\"lead\">%zu relay-model pair%s audited for honesty, "
	         "availability and speed. Each finding shows its confidence and numbers.</p>"
	         "<div class=\"summary\">",
	         v->n, v->n == 1 ? "" : "s");
	for (int j = 0; j < 7; j++)
		if (j < 6 || counts[j] > 0) /* "not running" only when some are */
			buf_putf(b, "<div><b>%d</b>%s</div>", counts[j], order[j]);
	if (v->n > STATUS_ROWS_MAX) {
		buf_puts(b, "</div>");
		status_by_relay(v, b);
		page_end(b, v, "");
		return;
	}
	buf_puts(b, "</div><p class=\"sub\">Uptime: the share of probe requests that succeeded; "
	            "time up: the share of time the relay answered (a run without one success "
	            "is down until the next good run). The bar under each row is 90 days, one "
	            "cell a day, coloured by the day's worst verdict and its uptime.</p>"
	            "<div class=\"tablecard scroll\"><table><thead><tr><th>Relay</th>"
	            "<th class=\"opt\">Model</th><th>Verdict</th><th class=\"num\">Uptime 24h"
	            "<div class=\"sub\">requests</div></th><th class=\"num opt\">Time up 24h</th>"
	            "<th class=\"num opt\">30 d</th><th class=\"num opt\">TTFT</th>"
	            "<th class=\"num opt\">Tokens/s</th><th class=\"num opt\">Last audit</th>"
	            "</tr></thead>");
	/* the rows the live script (assets/live.js) updates, from change seq */
	buf_putf(b, "<tbody id=\"live\" data-seq=\"%llu\">", (unsigned long long)v->seq);
	for (size_t i = 0; i < v->n; i++) {
		const struct board_entry *e = v->entries[i];
		struct window d, m;
		entry_window(e, WIN_24H, v->now_ms, &d);
		entry_window(e, WIN_30D, v->now_ms, &m);
		buf_puts(b, "<tr id=\"row-");
		html_escape(b, e->key);
		buf_puts(b, "\">");
		name_cells(b, "", e);
		buf_puts(b, "<td class=\"verdict\">");
		verdict_pill(b, e->not_running ? "not running" : e->verdict);
		buf_puts(b, "<div class=\"reason nph\">");
		html_escape(b, e->not_running ? e->not_running
		               : e->verdict   ? e->reason
		                              : "waiting for the first audit");
		if (e->at_risk != NULL) {
			buf_puts(b, "</div><div class=\"reason risk nph\"><b>At risk:</b> ");
			html_escape(b, e->at_risk);
		}
		buf_puts(b, "</div>");
		render_findings(b, e->findings, 0);
		buf_puts(b, "</td><td class=\"num up24\">");
		char pct[32];
		if (d.requests > 0) {
			format_percent(pct, sizeof pct, (double)d.ok / (double)d.requests);
			buf_putf(b, "%s<div class=\"sub\">%ld/%ld</div>", pct, d.ok, d.requests);
		} else {
			buf_puts(b, "&ndash;");
		}
		buf_puts(b, "</td><td class=\"num opt timeup\">");
		double tu = entry_time_up(e, v->now_ms - DAY_MS, v->now_ms, NULL, NULL);
		if (tu >= 0) {
			format_percent(pct, sizeof pct, tu);
			buf_puts(b, pct);
		} else {
			buf_puts(b, "&ndash;");
		}
		buf_puts(b, "</td><td class=\"num opt up30\">");
		put_ok_share(b, m.ok, m.requests);
		buf_puts(b, "</td><td class=\"num opt ttft\">");
		if (e->ttft_ms >= 0)
			buf_putf(b, "%.0f ms", e->ttft_ms);
		else
			buf_puts(b, "&ndash;");
		buf_puts(b, "</td><td class=\"num opt tps\">");
		if (e->tokens_per_s >= 0)
			buf_putf(b, "%.0f", e->tokens_per_s);
		else
			buf_puts(b, "&ndash;");
		char when[64], ago[64];
		render_time(when, sizeof when, e->last_run_ms);
		view_ago(v, ago, sizeof ago, e->last_run_ms);
		buf_putf(b, "</td><td class=\"num opt last\" title=\"%s\"", when);
		if (!v->static_copy)
			buf_putf(b, " data-ms=\"%lld\"", (long long)e->last_run_ms);
		buf_putf(b, ">%s</td></tr>", ago);
		buf_puts(b, "<tr class=\"barrow\"><td colspan=\"9\">");
		svg_day_bars(b, e, v->now_ms);
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</tbody></table></div><p class=\"sub\" id=\"live-note\" role=\"status\"></p>");
	if (!v->static_copy)
		buf_puts(b, "<script src=\"assets/live.js\" defer></script>");
	page_end(b, v, "");
}

json_t *
percentiles_json(const struct board_entry *e, int64_t now_ms)
{
	json_t *j = json_object();
	json_object_set_new(j, "of", json_string("per-run medians"));
	json_object_set_new(j, "window", json_string("24h"));
	json_object_set_new(j, "max_runs", json_integer(BOARD_RECENT)); /* the latest kept */
	static const char *const names[2] = {"ttft_ms", "tokens_per_s"};
	for (int m = 0; m < 2; m++) {
		double p50, p95, p99;
		long n;
		entry_percentiles(e, m, now_ms - DAY_MS, now_ms, &p50, &p95, &p99, &n);
		json_object_set_new(j, names[m],
		                    json_pack("{s:o, s:o, s:o, s:I}", "p50", real_or_null(p50),
		                              "p95", real_or_null(p95), "p99", real_or_null(p99),
		                              "runs", (json_int_t)n));
	}
	return j;
}

json_t *
time_up_json(const struct board_entry *e, int64_t now_ms)
{
	int64_t up, seen;
	double share = entry_time_up(e, now_ms - DAY_MS, now_ms, &up, &seen);
	return json_pack("{s:s, s:o, s:I, s:I}", "window", "24h", "share", real_or_null(share),
	                 "up_ms", (json_int_t)up, "observed_ms", (json_int_t)seen);
}

json_t *
relay_entry_json(const struct board_view *v, const struct board_entry *e)
{
	struct window d;
	entry_window(e, WIN_24H, v->now_ms, &d);
	struct score sc;
	entry_score(e, v->now_ms, &sc);
	json_t *j = json_object();
	json_object_set_new(j, "relay", json_string(e->relay));
	json_object_set_new(j, "model", json_string(e->model));
	json_object_set_new(j, "api", json_string(e->api ? e->api : "openai"));
	json_object_set_new(j, "verdict", e->verdict ? json_string(e->verdict) : json_null());
	json_object_set_new(j, "reason", json_string(e->reason ? e->reason : ""));
	json_object_set_new(j, "not_running",
	                    e->not_running ? json_string(e->not_running) : json_null());
	json_object_set_new(j, "at_risk", e->at_risk ? json_string(e->at_risk) : json_null());
	json_object_set_new(j, "findings", json_deep_copy(e->findings));
	json_object_set_new(j, "last_run_ms",
	                    e->last_run_ms ? json_integer(e->last_run_ms) : json_null());
	/* runs, requests, ok_requests, success_rate, tokens_spent: last 24 h */
	json_object_set_new(j, "runs", json_integer(d.runs));
	json_object_set_new(j, "requests", json_integer(d.requests));
	json_object_set_new(j, "ok_requests", json_integer(d.ok));
	json_object_set_new(j, "success_rate",
	                    d.requests ? json_real((double)d.ok / (double)d.requests)
	                               : json_null());
	json_object_set_new(j, "ttft_ms", real_or_null(e->ttft_ms));
	json_object_set_new(j, "tokens_per_s", real_or_null(e->tokens_per_s));
	json_object_set_new(j, "tokens_spent", json_integer((json_int_t)d.tokens));
	/* added in schema 2 of the pages */
	json_object_set_new(j, "key", json_string(e->key));
	json_object_set_new(j, "relay_key", json_string(e->group->key));
	json_object_set_new(j, "billing",
	                    e->group->billing ? json_string(e->group->billing) : json_null());
	json_object_set_new(j, "window", json_string("24h"));
	json_t *up = json_object();
	for (int w = 0; w < WIN__COUNT; w++) {
		struct window x;
		entry_window(e, (enum window_id)w, v->now_ms, &x);
		json_object_set_new(up, window_names[w],
		                    x.requests ? json_real((double)x.ok / (double)x.requests)
		                               : json_null());
	}
	json_object_set_new(j, "uptime", up);
	json_object_set_new(j, "score", sc.ranked ? json_real(sc.value) : json_null());
	json_object_set_new(j, "interval_ms", json_integer(e->interval_ms));
	/* schema 3: "uptime" is the share of requests; "time_up" the share
	 * of time up; percentiles of the runs' medians */
	json_object_set_new(j, "time_up", time_up_json(e, v->now_ms));
	json_object_set_new(j, "percentiles", percentiles_json(e, v->now_ms));
	/* the hub's agents' regions (web/regions_view.h); [] elsewhere */
	json_object_set_new(j, "regions", regions_json(e, v->now_ms));
	json_object_set_new(j, "agents_ledger", regions_ledger_json(e));
	return j;
}

void
render_relays_json(const struct board_view *v, struct buf *out)
{
	json_t *root = json_object();
	json_t *arr = json_array();
	/* every relay-model: changes are let in between parts (web/model.h);
	 * the tree is copies, so the dump needs the board no more */
	for (size_t i = 0; i < v->n;) {
		const struct board_entry *e = v->entries[i];
		json_array_append_new(arr, relay_entry_json(v, e));
		i++;
		if (i % BOARD_BREATHE_EVERY == 0) {
			board_view_breathe(v);
			i = board_view_after(v, e);
		}
	}
	json_object_set_new(root, "generated_ms", json_integer(v->now_ms));
	board_view_unlock(v);
	json_object_set_new(root, "relays", arr);
	json_emit(out, root);
}

int
relays_pages(const struct board_view *v)
{
	return v->n == 0 ? 1 : (int)((v->n + RELAYS_PAGE_SIZE - 1) / RELAYS_PAGE_SIZE);
}

void
render_relays_page_json(const struct board_view *v, int page, struct buf *out)
{
	json_t *root = json_object();
	json_t *arr = json_array();
	size_t first = (size_t)(page - 1) * RELAYS_PAGE_SIZE;
	for (size_t i = first; i < v->n && i < first + RELAYS_PAGE_SIZE; i++)
		json_array_append_new(arr, relay_entry_json(v, v->entries[i]));
	json_object_set_new(root, "generated_ms", json_integer(v->now_ms));
	json_object_set_new(root, "page", json_integer(page));
	json_object_set_new(root, "pages", json_integer(relays_pages(v)));
	json_object_set_new(root, "per_page", json_integer(RELAYS_PAGE_SIZE));
	json_object_set_new(root, "total", json_integer((json_int_t)v->n));
	json_object_set_new(root, "relays", arr);
	json_emit(out, root);
}
