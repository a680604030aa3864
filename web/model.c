/*
 * model: windows over the bucket rings, intervals and the score.
 */
#include "web/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/verdict.h"

const char *const window_names[WIN__COUNT] = {"24h", "7d", "30d", "90d"};

int
window_from_name(const char *name)
{
	return name_index(window_names, WIN__COUNT, name);
}

const struct bucket *
bucket_at(const struct bucket *ring, size_t n, int64_t index)
{
	if (index < 0)
		return NULL;
	const struct bucket *b = &ring[(size_t)(index % (int64_t)n)];
	return b->index == index ? b : NULL;
}

static void
window_add(struct window *w, const struct bucket *b)
{
	w->runs += b->runs;
	w->requests += b->requests;
	w->ok += b->ok;
	w->tokens += b->tokens;
	w->ttft_n += b->ttft_n;
	w->ttft_sum += b->ttft_sum;
	w->ttft_sq += b->ttft_sq;
	w->tps_n += b->tps_n;
	w->tps_sum += b->tps_sum;
	w->tps_sq += b->tps_sq;
	for (int i = 0; i < ERR__COUNT; i++)
		w->errors[i] += b->errors[i];
	for (int i = 0; i < BOARD_ORIGINS; i++)
		w->origin[i] += b->origin[i];
}

void
entry_window(const struct board_entry *e, enum window_id w, int64_t now_ms, struct window *out)
{
	memset(out, 0, sizeof *out);
	const struct bucket *ring = e->hours;
	size_t n = BOARD_HOURS;
	int64_t last = now_ms / HOUR_MS, count;
	switch (w) {
	case WIN_24H:
		count = 24;
		break;
	case WIN_7D:
		count = 168;
		break;
	case WIN_30D:
	case WIN_90D:
	default:
		ring = e->days;
		n = BOARD_DAYS;
		last = now_ms / DAY_MS;
		count = w == WIN_30D ? 30 : 90;
		break;
	}
	for (int64_t i = last - count + 1; i <= last; i++) {
		const struct bucket *b = bucket_at(ring, n, i);
		if (b != NULL)
			window_add(out, b);
	}
}

void
mean_interval(long n, double sum, double sq, double *mean, double *lo, double *hi)
{
	if (n <= 0) {
		*mean = *lo = *hi = -1;
		return;
	}
	double m = sum / (double)n;
	double var = n > 1 ? (sq - sum * sum / (double)n) / (double)(n - 1) : m * m;
	if (var < 0)
		var = 0;
	/* one sample: no spread is known; claim the mean +-100 % rather than 0 */
	double half = 1.96 * sqrt(var / (double)n);
	*mean = m;
	*lo = m - half < 0 ? 0 : m - half;
	*hi = m + half;
}

static double
combine(double honesty, double uptime, double ttft, double tps)
{
	double tf = ttft >= 0 ? 1.0 / (1.0 + ttft / 1000.0) : 0;
	double sf = tps >= 0 ? tps / (tps + 50.0) : 0;
	return 100.0 * honesty * (0.7 * uptime + 0.15 * tf + 0.15 * sf);
}

void
entry_score(const struct board_entry *e, int64_t now_ms, struct score *out)
{
	memset(out, 0, sizeof *out);
	struct window w;
	entry_window(e, WIN_30D, now_ms, &w);
	out->requests = w.requests;
	out->ok = w.ok;
	out->runs = w.runs;
	out->ttft_n = w.ttft_n;
	out->tps_n = w.tps_n;
	/* the verdict's worth (scoring/verdict.h): hints are no findings, and a
	 * finding strong enough to count has made the verdict what it is */
	int v = e->verdict != NULL ? verdict_from_name(e->verdict) : -1;
	out->honesty = v >= 0 ? verdict_honesty((enum verdict)v) : 0;
	out->uptime = w.requests > 0 ? (double)w.ok / (double)w.requests : 0;
	stats_wilson(w.ok, w.requests, &out->uptime_lo, &out->uptime_hi);
	mean_interval(w.ttft_n, w.ttft_sum, w.ttft_sq, &out->ttft, &out->ttft_lo, &out->ttft_hi);
	mean_interval(w.tps_n, w.tps_sum, w.tps_sq, &out->tps, &out->tps_lo, &out->tps_hi);
	out->ranked = e->verdict != NULL && w.requests > 0;
	if (!out->ranked) {
		out->value = out->lo = out->hi = 0;
		return;
	}
	out->value = combine(out->honesty, out->uptime, out->ttft, out->tps);
	out->lo = combine(out->honesty, out->uptime_lo, out->ttft_hi, out->tps_lo);
	out->hi = combine(out->honesty, out->uptime_hi, out->ttft_lo, out->tps_hi);
}

char *
slugify(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n + 2);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			c = '-';
		/* no "." or ".." path segments, no leading dot */
		if (c == '.' && k == 0)
			c = '-';
		out[k++] = (char)c;
	}
	if (k == 0)
		out[k++] = '-';
	out[k] = '\0';
	return out;
}

static const char *const rank_names[] = {NULL,          "genuine", "inconclusive",
                                         "unreachable", "suspect", "misbehaving"};

int
verdict_rank(const char *verdict)
{
	if (verdict == NULL)
		return 0;
	for (int i = 1; i < 6; i++)
		if (strcmp(verdict, rank_names[i]) == 0)
			return i;
	return 0;
}

const char *
verdict_of_rank(int rank)
{
	return rank > 0 && rank < 6 ? rank_names[rank] : NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p % of the values at or
 * below it. */
static double
nearest_rank(const double *sorted, long n, double p)
{
	long k = (long)ceil(p / 100.0 * (double)n);
	if (k < 1)
		k = 1;
	return sorted[k - 1];
}

void
entry_percentiles(const struct board_entry *e, int metric, int64_t since_ms, int64_t now_ms,
                  double *p50, double *p95, double *p99, long *n)
{
	double vals[BOARD_RECENT];
	long k = 0;
	for (size_t i = 0; i < e->n_recent; i++) {
		const struct recent_run *r = &e->recent[(e->recent_start + i) % BOARD_RECENT];
		double x = metric == 0 ? r->ttft_ms : r->tokens_per_s;
		if (r->at_ms >= since_ms && r->at_ms <= now_ms && x >= 0)
			vals[k++] = x;
	}
	*n = k;
	if (k == 0) {
		*p50 = *p95 = *p99 = -1;
		return;
	}
	qsort(vals, (size_t)k, sizeof vals[0], cmp_double);
	*p50 = nearest_rank(vals, k, 50);
	*p95 = nearest_rank(vals, k, 95);
	*p99 = nearest_rank(vals, k, 99);
}

double
entry_time_up(const struct board_entry *e, int64_t since_ms, int64_t now_ms, int64_t *up_ms,
              int64_t *seen_ms)
{
	int64_t up = 0, seen = 0;
	int down = 0; /* the state since the last run counted */
	for (size_t i = 0; i < e->n_recent; i++) {
		const struct recent_run *r = &e->recent[(e->recent_start + i) % BOARD_RECENT];
		int64_t end;
		if (i + 1 < e->n_recent)
			end = e->recent[(e->recent_start + i + 1) % BOARD_RECENT].at_ms;
		else {
			int64_t hold = e->interval_ms > 0 ? 2 * e->interval_ms : 15 * 60000LL;
			end = now_ms < r->at_ms + hold ? now_ms : r->at_ms + hold;
		}
		if (r->requests > 0 && r->ok == 0)
			down = 1;
		else if (r->ok > 0)
			down = 0;
		/* a run with no request at all changes nothing */
		int64_t a = r->at_ms > since_ms ? r->at_ms : since_ms,
		        z = end < now_ms ? end : now_ms;
		if (z <= a)
			continue;
		seen += z - a;
		if (!down)
			up += z - a;
	}
	if (up_ms != NULL)
		*up_ms = up;
	if (seen_ms != NULL)
		*seen_ms = seen;
	return seen > 0 ? (double)up / (double)seen : -1;
}
