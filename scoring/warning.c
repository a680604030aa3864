/*
 * warning: the early-warning rules (see warning.h).
 */
#include "scoring/warning.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "base/util.h"

#define SHARE_FLOOR 0.90
#define SHARE_DROP 0.15
#define SLOWER 2.0
#define LIST_KEEP 0.70
#define CERT_DAYS 7
#define CERT_RENEW_DAYS 30

void
warn_init(struct warn_state *w)
{
	memset(w, 0, sizeof *w);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of the known TTFTs of runs [from, to); < 0 under 3 of them. */
static double
median_ttft(const struct warn_state *w, size_t from, size_t to)
{
	double v[WARN_RECENT + WARN_BASELINE];
	size_t n = 0;
	for (size_t i = from; i < to; i++)
		if (w->runs[i].ttft_ms >= 0)
			v[n++] = w->runs[i].ttft_ms;
	if (n < 3)
		return -1;
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void add(char *text, size_t n, const char *fmt, ...) PRINTFLIKE(3, 4);

/* Another reason, after "; " when there are some. */
static void
add(char *text, size_t n, const char *fmt, ...)
{
	size_t k = strlen(text);
	if (k + 3 >= n)
		return;
	if (k > 0) {
		snprintf(text + k, n - k, "; ");
		k += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text + k, n - k, fmt, ap);
	va_end(ap);
}

/* The field at offset of a run (a string: "" is unknown). */
static const char *
field_at(const struct warn_run *x, size_t offset)
{
	return (const char *)x + offset;
}

/*
 * When the window shows one switch of the field at offset, from another
 * value to the latest run's, and no run since has the other value: the
 * last run before the switch; else NULL. An edge pool serving two
 * certificates by turns, or a value that came back, is no switch (each run
 * would otherwise call it one).
 */
static const struct warn_run *
switched_from(const struct warn_state *w, size_t offset)
{
	const char *now = field_at(&w->runs[w->n - 1], offset);
	if (now[0] == '\0')
		return NULL;
	size_t first = w->n - 1; /* the first of the latest value's last stretch */
	while (first > 0) {
		const char *v = field_at(&w->runs[first - 1], offset);
		if (v[0] != '\0' && strcmp(v, now) != 0)
			break;
		first--;
	}
	if (first == 0)
		return NULL; /* never another value in the window */
	for (size_t i = 0; i + 1 < first; i++)
		if (strcmp(field_at(&w->runs[i], offset), now) == 0)
			return NULL; /* the latest value was seen before the other one */
	return &w->runs[first - 1];
}

int
warn_update(struct warn_state *w, const struct warn_run *r, char *text, size_t n)
{
	text[0] = '\0';
	if (r->requests == 0)
		return 0; /* nothing reached the relay: it says nothing */
	if (w->n == WARN_RECENT + WARN_BASELINE) {
		memmove(w->runs, w->runs + 1, (w->n - 1) * sizeof *w->runs);
		w->n--;
	}
	w->runs[w->n++] = *r;
	size_t recent_from = w->n > WARN_RECENT ? w->n - WARN_RECENT : 0;
	long req_r = 0, ok_r = 0, req_b = 0, ok_b = 0, dry_r = 0, dry_b = 0, key_r = 0;
	long list_max = -1;
	int lost_model = 0;
	for (size_t i = 0; i < w->n; i++) {
		const struct warn_run *x = &w->runs[i];
		if (i >= recent_from) {
			req_r += x->requests;
			ok_r += x->ok;
			dry_r += x->quota;
			key_r += x->auth;
		} else {
			req_b += x->requests;
			ok_b += x->ok;
			dry_b += x->quota + x->auth;
			if (x->listed > list_max)
				list_max = x->listed;
		}
	}
	if (recent_from >= WARN_RECENT && req_r > 0 && req_b > 0) {
		double sr = (double)ok_r / (double)req_r, sb = (double)ok_b / (double)req_b;
		if (sr < SHARE_FLOOR && sb - sr >= SHARE_DROP)
			add(text, n, "failing more: %.0f%% of requests succeed, %.0f%% before",
			    100 * sr, 100 * sb);
	}
	double mr = median_ttft(w, recent_from, w->n), mb = median_ttft(w, 0, recent_from);
	if (mr >= 0 && mb > 0 && mr > SLOWER * mb)
		add(text, n, "slowing: first tokens after %.0f ms (median), %.0f ms before", mr,
		    mb);
	(void)dry_b; /* refusals of these kinds are a sign whenever they come */
	if (dry_r + key_r > 0) {
		if (dry_r > 0)
			add(text, n,
			    "running dry: %.0f requests refused for quota or balance in the last "
			    "%.0f "
			    "runs (credit running out: the account's at the relay, or the relay's "
			    "upstream)",
			    (double)dry_r, (double)(w->n - recent_from));
		if (key_r > 0)
			add(text, n, "%ld requests refused for the key in the last %zu runs", key_r,
			    w->n - recent_from);
	}
	if (r->listed >= 0) {
		if (list_max > 0 && (double)r->listed < LIST_KEEP * (double)list_max)
			add(text, n, "model list shrinking: %ld models listed, %ld before",
			    r->listed, list_max);
		for (size_t i = 0; i + 1 < w->n && !lost_model; i++)
			lost_model = w->runs[i].listed >= 0 && w->runs[i].listed_has_model;
		if (lost_model && !r->listed_has_model)
			add(text, n, "the model is no longer on the relay's list");
	}
	if (r->cert_left_s < (int64_t)CERT_DAYS * 86400)
		add(text, n, "its TLS certificate expires in %.1f days",
		    (double)r->cert_left_s / 86400.0);
	/* the run before a switch to the latest certificate, names or price */
	const struct warn_run *cert_before =
	                          switched_from(w, offsetof(struct warn_run, cert_sha256)),
	                      *names_before =
	                          switched_from(w, offsetof(struct warn_run, cert_names)),
	                      *price_before = switched_from(w, offsetof(struct warn_run, price));
	if (cert_before != NULL && cert_before->cert_left_s > (int64_t)CERT_RENEW_DAYS * 86400)
		add(text, n,
		    "its TLS certificate was replaced while the one before had %.0f days left "
		    "(SHA-256 %s..., before %s...)",
		    (double)cert_before->cert_left_s / 86400.0, r->cert_sha256,
		    cert_before->cert_sha256);
	if (names_before != NULL)
		add(text, n, "its TLS certificate is for other names: %s, before %s", r->cert_names,
		    names_before->cert_names);
	if (price_before != NULL)
		add(text, n, "its declared price changed: %s, %s before", r->price,
		    price_before->price);
	int now = text[0] != '\0';
	int changed = now == w->at_risk ? 0 : now ? 1 : -1;
	w->at_risk = now;
	return changed;
}
