/*
 * render: the status page and the relays JSON.
 *
 * HTML is written by hand into a buffer (it is output, not parsing); every
 * dynamic string goes through html_escape(). JSON is built with jansson.
 */
#include "web/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char render_stylesheet[] =
    ":root{--bg:#fff;--fg:#1d2330;--muted:#5d6678;--line:#e3e6ee;--card:#f7f8fb;"
    "--good:#1a7f37;--bad:#c62828;--warn:#b26a00;--info:#3b5bdb;--gray:#6b7280}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0f1218;--fg:#e6e9ef;--muted:#9aa3b5;"
    "--line:#262c38;--card:#161b24;--good:#3fb950;--bad:#f85149;--warn:#d29922;"
    "--info:#7c9cff;--gray:#8b949e}}"
    "*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);"
    "font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
    "header,main,footer{max-width:1100px;margin:0 auto;padding:16px}"
    "header h1{margin:8px 0 4px;font-size:24px}header p{margin:0;color:var(--muted)}"
    ".summary{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}"
    ".summary div{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:8px 14px}.summary b{font-size:20px;display:block}"
    "table{width:100%;border-collapse:collapse}"
    "th,td{text-align:left;padding:8px 6px;border-bottom:1px solid var(--line);"
    "vertical-align:top}th{color:var(--muted);font-weight:600;font-size:13px}"
    "td.num{font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".v{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;"
    "font-weight:600;color:#fff}.v-genuine{background:var(--good)}"
    ".v-misbehaving{background:var(--bad)}.v-suspect{background:var(--warn)}"
    ".v-inconclusive{background:var(--info)}.v-unreachable,.v-pending{background:var(--gray)}"
    ".reason{color:var(--muted);font-size:13px}"
    "details{margin-top:4px}summary{cursor:pointer;font-size:13px;color:var(--muted)}"
    "ul.findings{margin:4px 0 0;padding-left:18px;font-size:13px}"
    "ul.findings li{margin:4px 0}.cls{font-family:ui-monospace,monospace}"
    "footer{color:var(--muted);font-size:13px}"
    "@media (max-width:700px){th.opt,td.opt{display:none}td,th{padding:6px 4px}}";

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

static void
format_time(char *out, size_t n, int64_t ms)
{
	if (ms <= 0) {
		snprintf(out, n, "never");
		return;
	}
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void
render_findings(struct buf *b, json_t *findings)
{
	size_t n = json_array_size(findings);
	if (n == 0)
		return;
	buf_putf(b, "<details><summary>%zu finding%s</summary><ul class=\"findings\">", n,
	         n == 1 ? "" : "s");
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f)
	{
		json_t *ev = json_object_get(f, "evidence");
		buf_puts(b, "<li><span class=\"cls\">");
		html_escape(b, json_string_value(json_object_get(f, "class")));
		buf_putf(b, "</span> (confidence %.3f): ",
		         json_number_value(json_object_get(f, "confidence")));
		html_escape(b, json_string_value(json_object_get(ev, "summary")));
		buf_puts(b, "<br>expected: ");
		html_escape(b, json_string_value(json_object_get(ev, "expected")));
		buf_puts(b, "; observed: ");
		html_escape(b, json_string_value(json_object_get(ev, "observed")));
		buf_puts(b, "</li>");
	}
	buf_puts(b, "</ul></details>");
}

char *
render_status_html(const char *title, const struct board_entry *entries, size_t n, int64_t now_ms,
                   size_t *len)
{
	struct buf b;
	buf_init(&b, 0);
	int counts[6] = {0};
	static const char *const order[] = {"genuine",      "suspect",     "misbehaving",
	                                    "inconclusive", "unreachable", NULL};
	for (size_t i = 0; i < n; i++) {
		int k = 5;
		for (int j = 0; order[j]; j++)
			if (entries[i].verdict && strcmp(entries[i].verdict, order[j]) == 0)
				k = j;
		counts[k]++;
	}
	buf_puts(&b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	             "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	             "<meta name=\"color-scheme\" content=\"light dark\"><title>");
	html_escape(&b, title);
	buf_puts(&b, "</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head><body>"
	             "<header><h1>");
	html_escape(&b, title);
	buf_putf(&b, "</h1><p>%zu relay-model pair%s audited for honesty, availability and "
	             "speed. Verdicts are evidence, not accusations: each finding shows its "
	             "confidence and numbers.</p></header><main><div class=\"summary\">",
	         n, n == 1 ? "" : "s");
	static const char *const labels[] = {"genuine", "suspect", "misbehaving",
	                                     "inconclusive", "unreachable", "pending"};
	for (int j = 0; j < 6; j++)
		buf_putf(&b, "<div><b>%d</b>%s</div>", counts[j], labels[j]);
	buf_puts(&b, "</div><table><thead><tr><th>Relay</th><th>Model</th><th>Verdict</th>"
	             "<th>Success</th><th>TTFT</th><th class=\"opt\">Tokens/s</th>"
	             "<th class=\"opt\">Last audit</th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		const struct board_entry *e = &entries[i];
		const char *v = e->verdict ? e->verdict : "pending";
		buf_puts(&b, "<tr><td>");
		html_escape(&b, e->relay);
		buf_puts(&b, "</td><td>");
		html_escape(&b, e->model);
		buf_puts(&b, "</td><td><span class=\"v v-");
		html_escape(&b, v);
		buf_puts(&b, "\">");
		html_escape(&b, v);
		buf_puts(&b, "</span><div class=\"reason\">");
		html_escape(&b, e->verdict ? e->reason : "waiting for the first audit");
		buf_puts(&b, "</div>");
		render_findings(&b, e->findings);
		buf_puts(&b, "</td><td class=\"num\">");
		if (e->requests > 0)
			buf_putf(&b, "%.1f%%<div class=\"reason\">%ld/%ld</div>",
			         100.0 * (double)e->ok_requests / (double)e->requests, e->ok_requests,
			         e->requests);
		else
			buf_puts(&b, "&ndash;");
		buf_puts(&b, "</td><td class=\"num\">");
		if (e->ttft_ms >= 0)
			buf_putf(&b, "%.0f ms", e->ttft_ms);
		else
			buf_puts(&b, "&ndash;");
		buf_puts(&b, "</td><td class=\"num opt\">");
		if (e->tokens_per_s >= 0)
			buf_putf(&b, "%.0f", e->tokens_per_s);
		else
			buf_puts(&b, "&ndash;");
		char when[64];
		format_time(when, sizeof when, e->last_run_ms);
		buf_putf(&b, "</td><td class=\"num opt\">%s</td></tr>", when);
	}
	char now[64];
	format_time(now, sizeof now, now_ms);
	buf_putf(&b, "</tbody></table></main><footer>Generated %s by Assay. JSON: "
	             "<a href=\"/api/v1/relays\">/api/v1/relays</a></footer></body></html>\n",
	         now);
	return buf_take(&b, len);
}

char *
render_relays_json(const struct board_entry *entries, size_t n, int64_t now_ms, size_t *len)
{
	json_t *root = json_object();
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct board_entry *e = &entries[i];
		json_t *j = json_object();
		json_object_set_new(j, "relay", json_string(e->relay));
		json_object_set_new(j, "model", json_string(e->model));
		json_object_set_new(j, "api", json_string(e->api ? e->api : "openai"));
		json_object_set_new(j, "verdict", e->verdict ? json_string(e->verdict) : json_null());
		json_object_set_new(j, "reason", json_string(e->reason ? e->reason : ""));
		json_object_set_new(j, "findings", json_deep_copy(e->findings));
		json_object_set_new(j, "last_run_ms",
		                    e->last_run_ms ? json_integer(e->last_run_ms) : json_null());
		json_object_set_new(j, "runs", json_integer(e->runs));
		json_object_set_new(j, "requests", json_integer(e->requests));
		json_object_set_new(j, "ok_requests", json_integer(e->ok_requests));
		json_object_set_new(j, "success_rate",
		                    e->requests ? json_real((double)e->ok_requests / e->requests)
		                                : json_null());
		json_object_set_new(j, "ttft_ms", e->ttft_ms >= 0 ? json_real(e->ttft_ms) : json_null());
		json_object_set_new(j, "tokens_per_s",
		                    e->tokens_per_s >= 0 ? json_real(e->tokens_per_s) : json_null());
		json_object_set_new(j, "tokens_spent", json_integer(e->tokens_spent));
		json_array_append_new(arr, j);
	}
	json_object_set_new(root, "generated_ms", json_integer(now_ms));
	json_object_set_new(root, "relays", arr);
	char *s = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	if (s == NULL)
		fatal(70, "cannot encode JSON");
	if (len != NULL)
		*len = strlen(s);
	return s;
}
