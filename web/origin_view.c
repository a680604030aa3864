/*
 * origin_view: the origin mix, per window and backend (see the header).
 */
#include "web/origin_view.h"

#include "scoring/origin.h"
#include "web/render.h"

_Static_assert(ORIGIN__COUNT <= BOARD_ORIGINS, "the board counts every backend");

static const char *const backend_labels[ORIGIN__COUNT] = {
    "unknown",          "Anthropic's API",  "AWS Bedrock",
    "Google Vertex AI", "a client channel", "a translator",
};

static long
window_origin_total(const struct window *w)
{
	long n = 0;
	for (int k = 0; k < ORIGIN__COUNT; k++)
		n += w->origin[k];
	return n;
}

void
render_origin(struct buf *b, const struct board_entry *e, const struct window w[WIN__COUNT])
{
	long any = 0;
	for (int i = 0; i < WIN__COUNT; i++)
		any += window_origin_total(&w[i]);
	if (any == 0)
		return;
	buf_puts(b, "<div class=\"origin\"><h3>Backend origin <small>(Claude requests by the "
	            "backend that served them; channel claimed: ");
	html_escape(b, e->channel ? e->channel : "unclaimed");
	buf_puts(b, ")</small></h3><table><thead><tr><th>backend</th>");
	for (int i = 0; i < WIN__COUNT; i++) {
		buf_puts(b, "<th class=\"num\">");
		html_escape(b, window_names[i]);
		buf_puts(b, "</th>");
	}
	buf_puts(b, "</tr></thead><tbody>");
	for (int k = 0; k < ORIGIN__COUNT; k++) {
		long seen = 0;
		for (int i = 0; i < WIN__COUNT; i++)
			seen += w[i].origin[k];
		if (seen == 0)
			continue;
		buf_puts(b, "<tr><td>");
		html_escape(b, backend_labels[k]);
		buf_puts(b, "</td>");
		for (int i = 0; i < WIN__COUNT; i++)
			buf_putf(b, "<td class=\"num\">%ld</td>", w[i].origin[k]);
		buf_puts(b, "</tr>");
	}
	buf_puts(b, "</tbody></table></div>");
}

json_t *
origin_json(const struct board_entry *e, int64_t now_ms)
{
	json_t *wins = json_object();
	for (int i = 0; i < WIN__COUNT; i++) {
		struct window w;
		entry_window(e, (enum window_id)i, now_ms, &w);
		json_t *x = json_object();
		for (int k = 0; k < ORIGIN__COUNT; k++)
			if (w.origin[k] > 0)
				json_object_set_new(x, origin_backend_name((enum origin_backend)k),
				                    json_integer(w.origin[k]));
		json_object_set_new(wins, window_names[i], x);
	}
	return json_pack("{s:s, s:o}", "channel", e->channel ? e->channel : "unclaimed", "requests",
	                 wins);
}
