/*
 * svg: uptime bars, line charts and badges, written as inline SVG.
 *
 * Geometry is in viewBox units; CSS classes (render_stylesheet) give the
 * colours, so the same SVG follows the light or dark theme. Hover text is an
 * SVG <title>, escaped like any other text. Badges are standalone documents
 * (served as image/svg+xml) and carry their own colours, as shields.io's do.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "web/render.h"

static void
day_label(char *out, size_t n, int64_t day)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

static void
errors_text(struct buf *b, const uint32_t errors[ERR__COUNT])
{
	int any = 0;
	for (int i = 1; i < ERR__COUNT; i++) {
		if (errors[i] == 0)
			continue;
		buf_putf(b, "%s%s %u", any ? ", " : "; ", error_class_name((enum error_class)i),
		         errors[i]);
		any = 1;
	}
}

/* A day's class: its worst verdict first (a misbehaving day is red and a
 * suspect one amber whatever the uptime), then its share of successful
 * requests; b0 for a day without runs. */
static const char *
day_class(const struct bucket *bk, double *up)
{
	*up = -1;
	if (bk == NULL || (bk->runs == 0 && bk->requests == 0))
		return "b0";
	if (bk->requests > 0)
		*up = (double)bk->ok / (double)bk->requests;
	if (bk->worst == 5)
		return "bm";
	if (bk->worst == 4)
		return "bs";
	if (*up < 0)
		return "b0";
	return *up >= 0.995 ? "b1" : *up >= 0.97 ? "b2" : *up >= 0.90 ? "b3" : "b4";
}

void
svg_day_bars(struct buf *b, const struct board_entry *e, int64_t now_ms)
{
	const int days = 90;
	int64_t last = now_ms / DAY_MS;
	buf_putf(b,
	         "<svg class=\"bars\" viewBox=\"0 0 %d 34\" preserveAspectRatio=\"none\" "
	         "width=\"100%%\" height=\"34\" role=\"group\" aria-label=\"90 days, one bar a "
	         "day: the day's worst verdict and its uptime\">",
	         days * 6 - 2);
	for (int i = 0; i < days; i++) {
		int64_t day = last - days + 1 + i;
		const struct bucket *bk = bucket_at(e->days, BOARD_DAYS, day);
		char date[16];
		day_label(date, sizeof date, day);
		double up;
		const char *cls = day_class(bk, &up);
		buf_putf(b,
		         "<rect class=\"%s\" x=\"%d\" width=\"4\" height=\"34\" "
		         "role=\"img\"><title>%s: ",
		         cls, i * 6, date);
		if (bk == NULL || (bk->runs == 0 && bk->requests == 0)) {
			buf_puts(b, "no data");
		} else {
			const char *worst = verdict_of_rank(bk->worst);
			buf_putf(b, "%s", worst ? worst : "no verdict");
			if (bk->worst > 1)
				buf_puts(b, " (the day's worst verdict)");
			if (up >= 0) {
				char pct[32];
				format_percent(pct, sizeof pct, up);
				buf_putf(b, "; %s of requests ok (%u/%u)", pct, bk->ok,
				         bk->requests);
			}
			buf_putf(b, "; %u run%s", bk->runs, bk->runs == 1 ? "" : "s");
			if (bk->ttft_n > 0)
				buf_putf(b, "; TTFT %.0f ms", bk->ttft_sum / bk->ttft_n);
			if (bk->tps_n > 0)
				buf_putf(b, "; %.0f tok/s", bk->tps_sum / bk->tps_n);
			errors_text(b, bk->errors);
		}
		buf_puts(b, "</title></rect>");
	}
	buf_puts(b, "</svg>");
}

void
svg_day_axis(struct buf *b, int64_t now_ms)
{
	char first[16], last[16];
	day_label(first, sizeof first, now_ms / DAY_MS - 89);
	day_label(last, sizeof last, now_ms / DAY_MS);
	buf_putf(b, "<div class=\"axis\"><span>%s</span><span>%s (UTC)</span></div>", first, last);
}

/* A round number at or above x for an axis maximum. */
static double
nice_ceiling(double x)
{
	if (x <= 0)
		return 1;
	double p = pow(10, floor(log10(x)));
	double m = x / p;
	double step = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
	return step * p;
}

void
svg_chart(struct buf *b, const struct board_entry *e, int metric, int daily, int64_t now_ms)
{
	const struct bucket *ring = daily == CHART_DAILY    ? e->days
	                            : daily == CHART_RECENT ? e->slices
	                                                    : e->hours;
	size_t ring_n = daily == CHART_DAILY    ? BOARD_DAYS
	                : daily == CHART_RECENT ? BOARD_SLICES
	                                        : BOARD_HOURS;
	int points = daily == CHART_DAILY ? 90 : daily == CHART_RECENT ? BOARD_SLICES : 168;
	int64_t len = daily == CHART_DAILY ? DAY_MS : daily == CHART_RECENT ? SLICE_MS : HOUR_MS;
	int64_t last = now_ms / len;
	double vals[BOARD_SLICES > 168 ? BOARD_SLICES : 168];
	double max = 0, min = -1, sum = 0;
	long total = 0;
	for (int i = 0; i < points; i++) {
		const struct bucket *bk = bucket_at(ring, ring_n, last - points + 1 + i);
		long n = bk == NULL ? 0 : metric == 0 ? (long)bk->ttft_n : (long)bk->tps_n;
		vals[i] = -1;
		if (n > 0) {
			vals[i] = (metric == 0 ? bk->ttft_sum : bk->tps_sum) / (double)n;
			max = vals[i] > max ? vals[i] : max;
			min = min < 0 || vals[i] < min ? vals[i] : min;
			sum += vals[i];
			total++;
		}
	}
	const char *unit = metric == 0 ? "ms" : "tokens/s";
	const char *what = metric == 0 ? "Time to first token" : "Output speed";
	const char *span = daily == CHART_DAILY    ? "90 days (daily)"
	                   : daily == CHART_RECENT ? "12 hours (5 minutes)"
	                                           : "7 days (hourly)";
	buf_putf(b, "<div class=\"chart\"><h3>%s, %s</h3>", what, span);
	const double W = 600, H = 150, x0 = 44, x1 = 596, y0 = 8, y1 = 128;
	double top = nice_ceiling(max * 1.05);
	buf_putf(b, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\"><title>%s: ", W,
	         H, what, what);
	if (total > 0)
		buf_putf(b, "mean %.0f %s, min %.0f, max %.0f over %ld %s with data", sum / total,
		         unit, min, max, total,
		         daily == CHART_DAILY    ? "days"
		         : daily == CHART_RECENT ? "5-minute slices"
		                                 : "hours");
	else
		buf_puts(b, "no data yet");
	buf_puts(b, "</title>");
	for (int g = 0; g <= 2; g++) {
		double y = y1 - (y1 - y0) * g / 2.0;
		buf_putf(b,
		         "<line class=\"grid\" x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\"/>"
		         "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>",
		         x0, x1, y, y, x0 - 6, y + 4, top * g / 2.0);
	}
	double dx = (x1 - x0) / (points - 1);
	/* the line, broken where data is missing for longer than the runs'
	 * own spacing (two intervals: 5-minute slices of a 10-minute relay are
	 * every other one), an area under it, and a dot for a lone point */
	int bridge = 0;
	if (daily == CHART_RECENT)
		bridge = e->interval_ms > 0
		             ? (int)((2 * e->interval_ms + SLICE_MS - 1) / SLICE_MS) - 1
		             : 2;
	struct buf area, dots;
	buf_init(&area, 0);
	buf_init(&dots, 0);
	buf_puts(b, "<path class=\"line\" d=\"");
	int seg_start = -1, prev = -1;
	for (int i = 0; i <= points; i++) {
		int have = i < points && vals[i] >= 0;
		int joins = have && prev >= 0 && i - prev - 1 <= bridge;
		if (prev >= 0 && (i == points || (have && !joins))) {
			/* the segment from seg_start to prev ends */
			buf_putf(&area, "L%.0f %.0fL%.0f %.0fZ", x0 + dx * prev, y1,
			         x0 + dx * seg_start, y1);
			if (seg_start == prev)
				buf_putf(
				    &dots,
				    "<circle class=\"dot\" cx=\"%.0f\" cy=\"%.0f\" r=\"2.5\"/>",
				    x0 + dx * prev, y1 - (y1 - y0) * vals[prev] / top);
		}
		if (!have)
			continue;
		double x = x0 + dx * i, y = y1 - (y1 - y0) * vals[i] / top;
		buf_putf(b, "%c%.0f %.0f", joins ? 'L' : 'M', x, y);
		buf_putf(&area, "%c%.0f %.0f", joins ? 'L' : 'M', x, y);
		if (!joins)
			seg_start = i;
		prev = i;
	}
	buf_puts(b, "\"/><path class=\"area\" d=\"");
	buf_puts(b, area.data ? area.data : "");
	buf_puts(b, "\"/>");
	buf_puts(b, dots.data ? dots.data : "");
	buf_release(&area);
	buf_release(&dots);
	char first[32];
	if (daily == CHART_RECENT) {
		time_t t = (time_t)((last - points + 1) * (SLICE_MS / 1000));
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(first, sizeof first, "%H:%M UTC", &tm);
	} else {
		day_label(first, sizeof first,
		          daily == CHART_DAILY ? last - points + 1 : (last - points + 1) / 24);
	}
	buf_putf(b,
	         "<text x=\"%.0f\" y=\"146\">%s</text><text x=\"%.0f\" y=\"146\" "
	         "text-anchor=\"end\">now</text><text x=\"%.0f\" y=\"146\" "
	         "text-anchor=\"middle\">%s</text></svg></div>",
	         x0, first, x1, (x0 + x1) / 2, unit);
}

/* Badges. */

struct badge {
	char label[48], message[48];
	const char *color_name, *color;
};

static int
text_width(const char *s)
{
	/* Verdana 11 px, close enough for a badge's box */
	int w = 0;
	for (; *s; s++) {
		char c = *s;
		if (strchr("ijlt.,:;!|' ", c))
			w += 4;
		else if (strchr("fr()[]-/1", c))
			w += 5;
		else if (strchr("mwMW%@", c))
			w += 11;
		else if (c >= 'A' && c <= 'Z')
			w += 8;
		else
			w += 7;
	}
	return w;
}

static const struct {
	const char *name, *hex;
} colors[] = {
    {"brightgreen", "#4c1"}, {"green", "#97ca00"},     {"yellowgreen", "#a4a61d"},
    {"yellow", "#dfb317"},   {"orange", "#fe7d37"},    {"red", "#e05d44"},
    {"blue", "#007ec6"},     {"lightgrey", "#9f9f9f"},
};

static void
badge_color(struct badge *bd, const char *name)
{
	bd->color_name = name;
	bd->color = "#9f9f9f";
	for (size_t i = 0; i < sizeof colors / sizeof colors[0]; i++)
		if (strcmp(colors[i].name, name) == 0)
			bd->color = colors[i].hex;
}

static void
badge_make(struct badge *bd, const struct board_entry *e, enum badge_kind kind, enum window_id w,
           int64_t now_ms)
{
	struct window x;
	entry_window(e, w, now_ms, &x);
	if (kind == BADGE_UPTIME || kind == BADGE_TTFT) {
		snprintf(bd->label, sizeof bd->label, "%s %s",
		         kind == BADGE_UPTIME ? "uptime" : "ttft", window_names[w]);
		if ((kind == BADGE_UPTIME ? x.requests : x.ttft_n) == 0) {
			snprintf(bd->message, sizeof bd->message, "no data");
			badge_color(bd, "lightgrey");
			return;
		}
	}
	switch (kind) {
	case BADGE_UPTIME: {
		double up = (double)x.ok / (double)x.requests;
		format_percent(bd->message, sizeof bd->message, up);
		badge_color(bd, up >= 0.995  ? "brightgreen"
		                : up >= 0.99 ? "green"
		                : up >= 0.97 ? "yellowgreen"
		                : up >= 0.95 ? "yellow"
		                : up >= 0.90 ? "orange"
		                             : "red");
		break;
	}
	case BADGE_TTFT: {
		double ms = x.ttft_sum / (double)x.ttft_n;
		snprintf(bd->message, sizeof bd->message, "%.0f ms", ms);
		badge_color(bd, ms < 300    ? "brightgreen"
		                : ms < 600  ? "green"
		                : ms < 1000 ? "yellow"
		                : ms < 2000 ? "orange"
		                            : "red");
		break;
	}
	case BADGE_VERDICT:
	default:
		snprintf(bd->label, sizeof bd->label, "verdict");
		snprintf(bd->message, sizeof bd->message, "%s",
		         e->verdict ? e->verdict : "pending");
		const char *v = bd->message;
		badge_color(bd, strcmp(v, "genuine") == 0        ? "brightgreen"
		                : strcmp(v, "suspect") == 0      ? "orange"
		                : strcmp(v, "misbehaving") == 0  ? "red"
		                : strcmp(v, "inconclusive") == 0 ? "blue"
		                                                 : "lightgrey");
		break;
	}
}

void
badge_svg(struct buf *b, const struct board_entry *e, enum badge_kind kind, enum window_id w,
          int64_t now_ms)
{
	struct badge bd;
	badge_make(&bd, e, kind, w, now_ms);
	int lw = text_width(bd.label) + 12, mw = text_width(bd.message) + 12, tw = lw + mw;
	buf_putf(b,
	         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"20\" "
	         "role=\"img\" aria-label=\"",
	         tw);
	html_escape(b, bd.label);
	buf_puts(b, ": ");
	html_escape(b, bd.message);
	buf_puts(b, "\"><title>");
	html_escape(b, bd.label);
	buf_puts(b, ": ");
	html_escape(b, bd.message);
	buf_putf(b,
	         "</title><linearGradient id=\"s\" x2=\"0\" y2=\"100%%\"><stop offset=\"0\" "
	         "stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" "
	         "stop-opacity=\".1\"/></linearGradient><clipPath id=\"r\"><rect width=\"%d\" "
	         "height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath><g clip-path=\"url(#r)\">"
	         "<rect width=\"%d\" height=\"20\" fill=\"#555\"/><rect x=\"%d\" width=\"%d\" "
	         "height=\"20\" fill=\"%s\"/><rect width=\"%d\" height=\"20\" fill=\"url(#s)\"/>"
	         "</g><g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,"
	         "DejaVu Sans,sans-serif\" font-size=\"11\">",
	         tw, lw, lw, mw, bd.color, tw);
	const char *texts[2] = {bd.label, bd.message};
	double xs[2] = {lw / 2.0, lw + mw / 2.0};
	for (int i = 0; i < 2; i++) {
		buf_putf(b, "<text x=\"%.1f\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">",
		         xs[i]);
		html_escape(b, texts[i]);
		buf_putf(b, "</text><text x=\"%.1f\" y=\"14\">", xs[i]);
		html_escape(b, texts[i]);
		buf_puts(b, "</text>");
	}
	buf_puts(b, "</g></svg>");
}

void
badge_json(struct buf *b, const struct board_entry *e, enum badge_kind kind, enum window_id w,
           int64_t now_ms)
{
	struct badge bd;
	badge_make(&bd, e, kind, w, now_ms);
	json_t *j = json_object();
	json_object_set_new(j, "schemaVersion", json_integer(1));
	json_object_set_new(j, "label", json_string(bd.label));
	json_object_set_new(j, "message", json_string(bd.message));
	json_object_set_new(j, "color", json_string(bd.color_name));
	json_emit(b, j);
}
