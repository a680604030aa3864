/*
 * availability: every request's outcome, and the run's medians of speed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detect.h"
#include "scoring/detector.h"
#include "scoring/stats.h"
#include "scoring/tokenizer.h"

static void
detect_availability(const struct audit_run *run, struct assessment *a)
{
	int counts[ERR__COUNT] = {0};
	double ttft[256], tps[256];
	size_t n_ttft = 0, n_tps = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		a->requests++;
		if (o == NULL)
			continue;
		if (observation_ok(o)) {
			a->ok_requests++;
			if (o->streamed && o->ttft_us >= 0 && n_ttft < 256)
				ttft[n_ttft++] = o->ttft_us / 1000.0;
			if (o->streamed && o->completion_tokens > 1 && o->n_chunks >= 2 &&
			    n_tps < 256) {
				double span = (o->chunk_us[o->n_chunks - 1] - o->chunk_us[0]) / 1e6;
				double rate = span > 0 ? (o->completion_tokens - 1) / span : 0;
				/* a burst (faked stream) has no speed worth showing */
				if (span > 0 && rate < 10000)
					tps[n_tps++] = rate;
			}
		} else {
			counts[o->error]++;
		}
	}
	if (n_ttft > 0) {
		qsort(ttft, n_ttft, sizeof *ttft, stats_cmp_double);
		a->ttft_ms = ttft[n_ttft / 2];
	}
	if (n_tps > 0) {
		qsort(tps, n_tps, sizeof *tps, stats_cmp_double);
		a->tokens_per_s = tps[n_tps / 2];
	}
	int failed = a->requests - a->ok_requests;
	if (failed == 0)
		return;
	char expected[64], observed[256];
	snprintf(expected, sizeof expected, "%d of %d requests succeed", a->requests, a->requests);
	struct buf b;
	buf_init(&b, 0);
	buf_putf(&b, "%d failed:", failed);
	for (int e = 1; e < ERR__COUNT; e++)
		if (counts[e])
			buf_putf(&b, " %s %d", error_class_name(e), counts[e]);
	snprintf(observed, sizeof observed, "%s", b.data);
	buf_release(&b);
	if (counts[ERR_RATE_LIMITED] > 0)
		assessment_add(a, CLASS_RATE_LIMITED, 1.0, expected, observed, "", NULL,
		               "The relay refused %d of %d requests with 429 (rate limited) "
		               "under an audit's light load.",
		               counts[ERR_RATE_LIMITED], a->requests);
	if (failed > counts[ERR_RATE_LIMITED])
		assessment_add(a, CLASS_UNAVAILABLE, (double)failed / a->requests, expected,
		               observed, "", NULL, "%d of %d requests failed (%s).", failed,
		               a->requests, observed);
}

static void
run_availability(struct detect_ctx *c)
{
	detect_availability(c->run, c->a);
}

const struct detector detector_availability = {
    .name = "availability",
    .probes = NULL,
    .classes = CLASS_BIT(CLASS_RATE_LIMITED) | CLASS_BIT(CLASS_UNAVAILABLE),
    .needs_claimed = 0,
    .run = run_availability,
};
