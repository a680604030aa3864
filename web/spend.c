/*
 * spend: probe spend on the pages and in the JSON (see spend.h).
 */
#include "web/spend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web/render.h"

/* Tokens over window w of every model of r. */
static long long
relay_tokens(const struct board_relay *r, enum window_id w, int64_t now_ms)
{
	long long n = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct window win;
		entry_window(r->entries[i], w, now_ms, &win);
		n += (long long)win.tokens;
	}
	return n;
}

/* Today's figures of s as seen now: a count of an earlier day is 0 today. */
static void
today(const struct board_spend *s, int64_t now_ms, long *tokens, double *usd)
{
	int cur = s->known && s->day == now_ms / DAY_MS;
	*tokens = cur ? s->tokens : 0;
	*usd = cur ? s->usd : 0;
}

static void
put_figures(json_t *o, const struct board_spend *s, long long t24, long long t30, int64_t now_ms)
{
	long tokens;
	double usd;
	today(s, now_ms, &tokens, &usd);
	json_object_set_new(o, "tokens_today", s->known ? json_integer(tokens) : json_null());
	json_object_set_new(o, "usd_today", s->known ? json_real(usd) : json_null());
	if (s->known && (s->cap_tokens > 0 || s->cap_usd > 0))
		json_object_set_new(o, "budget",
		                    json_pack("{s:I,s:f}", "tokens_per_day",
		                              (json_int_t)s->cap_tokens, "usd_per_day",
		                              s->cap_usd));
	else
		json_object_set_new(o, "budget", json_null());
	json_object_set_new(o, "tokens_24h", json_integer(t24));
	json_object_set_new(o, "tokens_30d", json_integer(t30));
}

json_t *
spend_json(const struct board_view *v)
{
	json_t *j = json_object();
	char day[16];
	time_t t = (time_t)(v->now_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	json_object_set_new(j, "day", json_string(day));
	json_t *relays = json_array();
	long long all24 = 0, all30 = 0;
	for (size_t i = 0; i < v->n_relays; i++) {
		const struct board_relay *r = v->relays[i];
		long long t24 = relay_tokens(r, WIN_24H, v->now_ms);
		long long t30 = relay_tokens(r, WIN_30D, v->now_ms);
		all24 += t24;
		all30 += t30;
		json_t *o = json_pack("{s:s}", "relay", r->name);
		put_figures(o, &r->spend, t24, t30, v->now_ms);
		json_array_append_new(relays, o);
	}
	static const struct board_spend none;
	put_figures(j, v->spend ? v->spend : &none, all24, all30, v->now_ms);
	json_object_set_new(j, "relays", relays);
	return j;
}

void
render_spend_json(const struct board_view *v, struct buf *out)
{
	json_emit(out, spend_json(v)); /* as every document: "</" escaped */
}

/* "1,234" */
static void
grouped(char *out, size_t n, long long v)
{
	char raw[32];
	snprintf(raw, sizeof raw, "%lld", v < 0 ? -v : v);
	size_t len = strlen(raw), k = 0;
	if (v < 0 && k + 1 < n)
		out[k++] = '-';
	for (size_t i = 0; i < len && k + 2 < n; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			out[k++] = ',';
		out[k++] = raw[i];
	}
	out[k] = '\0';
}

/* "3,967 tokens today ($0.0123 at official prices) of 6,000 a day; 41,200
 * tokens in 24 h, 812,000 in 30 days" */
static void
spend_sentence(struct buf *b, const struct board_spend *s, long long t24, long long t30,
               int64_t now_ms)
{
	char a[32], c[32];
	long tokens;
	double usd;
	today(s, now_ms, &tokens, &usd);
	if (s->known) {
		grouped(a, sizeof a, tokens);
		buf_putf(b, "%s tokens today ($%.4f at official prices)", a, usd);
		if (s->cap_tokens > 0) {
			grouped(c, sizeof c, s->cap_tokens);
			buf_putf(b, " of %s tokens", c);
		}
		if (s->cap_usd > 0)
			buf_putf(b, "%s $%.2f", s->cap_tokens > 0 ? " and" : " of", s->cap_usd);
		if (s->cap_tokens > 0 || s->cap_usd > 0)
			buf_puts(b, " a day");
		buf_puts(b, "; ");
	}
	grouped(a, sizeof a, t24);
	grouped(c, sizeof c, t30);
	buf_putf(b, "%s tokens in 24 h, %s in 30 days", a, c);
}

void
spend_relay_html(struct buf *b, const struct board_view *v, const struct board_relay *r)
{
	buf_puts(b, "<p class=\"spend\"><b>Probe spend:</b> ");
	spend_sentence(b, &r->spend, relay_tokens(r, WIN_24H, v->now_ms),
	               relay_tokens(r, WIN_30D, v->now_ms), v->now_ms);
	buf_puts(b, " (<a href=\"../api/v1/spend\">JSON</a>)</p>");
}

void
spend_board_html(struct buf *b, const struct board_view *v)
{
	static const struct board_spend none;
	long long all24 = 0, all30 = 0;
	for (size_t i = 0; i < v->n_relays; i++) {
		all24 += relay_tokens(v->relays[i], WIN_24H, v->now_ms);
		all30 += relay_tokens(v->relays[i], WIN_30D, v->now_ms);
	}
	buf_puts(b, "<div class=\"card\" id=\"spend\"><h3>Probe spend</h3><p>Every relay: ");
	spend_sentence(b, v->spend ? v->spend : &none, all24, all30, v->now_ms);
	buf_puts(b, " (<a href=\"api/v1/spend\">api/v1/spend</a>)</p><table><thead><tr><th>Relay"
	            "</th><th>Spend</th></tr></thead><tbody>");
	for (size_t i = 0; i < v->n_relays; i++) {
		const struct board_relay *r = v->relays[i];
		buf_puts(b, "<tr><td>");
		html_escape(b, r->name);
		buf_puts(b, "</td><td>");
		spend_sentence(b, &r->spend, relay_tokens(r, WIN_24H, v->now_ms),
		               relay_tokens(r, WIN_30D, v->now_ms), v->now_ms);
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</tbody></table></div>");
}
