/*
 * regions: the agents' runs per region of an entry (see regions.h).
 *
 * Hour buckets are a ring indexed by hour number, as the entry's own; the
 * recent runs a ring in time order. Percentiles are nearest rank, as the
 * entry's (model.c).
 */
#include "web/regions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "web/model.h"

const char *const region_state_names[3] = {"up", "down", "stale"};

static struct board_region *
region_get(struct board_regions *rs, const char *name)
{
	char *clean = utf8_sanitize(name, strlen(name), REGION_NAME_MAX);
	size_t i;
	for (i = 0; i < rs->n; i++) {
		int c = strcmp(rs->r[i].name, clean);
		if (c == 0) {
			free(clean);
			return &rs->r[i];
		}
		if (c > 0)
			break;
	}
	if (rs->n == BOARD_REGIONS_MAX) {
		free(clean);
		return NULL;
	}
	rs->r = xrealloc(rs->r, (rs->n + 1) * sizeof *rs->r);
	memmove(&rs->r[i + 1], &rs->r[i], (rs->n - i) * sizeof *rs->r);
	rs->n++;
	struct board_region *r = &rs->r[i];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", clean);
	free(clean);
	for (size_t k = 0; k < REGION_HOURS; k++)
		r->hours[k].index = -1;
	r->last_ttft_ms = -1;
	return r;
}

static void
recent_add(struct board_region *r, int64_t at_ms, double ttft_ms)
{
	if (r->n_recent == REGION_RECENT) {
		if (at_ms < r->recent[r->recent_start].at_ms)
			return;
		r->recent_start = (r->recent_start + 1) % REGION_RECENT;
		r->n_recent--;
	}
	size_t i = r->n_recent++;
	while (i > 0 && r->recent[(r->recent_start + i - 1) % REGION_RECENT].at_ms > at_ms) {
		r->recent[(r->recent_start + i) % REGION_RECENT] =
		    r->recent[(r->recent_start + i - 1) % REGION_RECENT];
		i--;
	}
	r->recent[(r->recent_start + i) % REGION_RECENT] =
	    (struct region_recent){at_ms, (float)ttft_ms};
}

void
regions_add(struct board_regions **regions, const struct board_region_run *run)
{
	if (run->at_ms <= 0 || run->region == NULL || *run->region == '\0')
		return;
	if (*regions == NULL)
		*regions = xcalloc(1, sizeof **regions);
	struct board_region *r = region_get(*regions, run->region);
	if (r == NULL) {
		(*regions)->dropped++;
		return;
	}
	int64_t h = run->at_ms / HOUR_MS;
	struct region_hour *s = &r->hours[(size_t)(h % REGION_HOURS)];
	if (s->index < h)
		*s = (struct region_hour){.index = h};
	if (s->index == h) {
		s->runs++;
		s->requests += (uint32_t)(run->requests > 0 ? run->requests : 0);
		s->ok += (uint32_t)(run->ok_requests > 0 ? run->ok_requests : 0);
	}
	recent_add(r, run->at_ms, run->ttft_ms);
	if (run->at_ms < r->last_ms)
		return;
	r->last_ms = run->at_ms;
	r->last_requests = run->requests;
	r->last_ok = run->ok_requests;
	r->last_ttft_ms = run->ttft_ms;
	/* names from the store: kept only when they are plain words */
	snprintf(r->last_error, sizeof r->last_error, "%s",
	         run->error_class && utf8_valid(run->error_class, strlen(run->error_class))
	             ? run->error_class
	             : "");
	/* the agent's own verdict of the run: one of ours, or none */
	snprintf(r->last_verdict, sizeof r->last_verdict, "%s",
	         run->verdict && verdict_rank(run->verdict) > 0 ? run->verdict : "");
	/* a cut multibyte tail would not be UTF-8 any more */
	if (!utf8_valid(r->last_error, strlen(r->last_error)))
		r->last_error[0] = '\0';
}

void
regions_free(struct board_regions *regions)
{
	if (regions == NULL)
		return;
	json_decref(regions->ledger);
	json_decref(regions->ledger_findings);
	free(regions->own_verdict);
	free(regions->own_reason);
	json_decref(regions->own_findings);
	free(regions->r);
	free(regions);
}

/* Keep e's verdict, reason and findings as its own. */
static void
keep_own(struct board_regions *rs, const struct board_entry *e)
{
	free(rs->own_verdict);
	free(rs->own_reason);
	json_decref(rs->own_findings);
	rs->own_verdict = e->verdict ? xstrdup(e->verdict) : NULL;
	rs->own_reason = e->reason ? xstrdup(e->reason) : NULL;
	rs->own_findings = e->findings ? json_deep_copy(e->findings) : json_array();
	rs->own_kept = 1;
}

/* e's verdict: its own, or the ledger's when worse (suspect or
 * misbehaving). */
static void
overlay(struct board_entry *e)
{
	struct board_regions *rs = e->regions;
	free(e->verdict);
	free(e->reason);
	json_decref(e->findings);
	e->verdict = rs->own_verdict ? xstrdup(rs->own_verdict) : NULL;
	e->reason = rs->own_reason ? xstrdup(rs->own_reason) : NULL;
	e->findings = rs->own_findings ? json_deep_copy(rs->own_findings) : json_array();
	if (rs->ledger == NULL || rs->ledger_rank < verdict_rank("suspect") ||
	    rs->ledger_rank <= verdict_rank(e->verdict))
		return;
	free(e->verdict);
	e->verdict = xstrdup(verdict_of_rank(rs->ledger_rank));
	/* the ledger's findings replace the entry's own of their classes */
	json_t *kept = json_array(), *f;
	size_t i, k;
	json_array_foreach(e->findings, i, f)
	{
		const char *cls = json_string_value(json_object_get(f, "class"));
		int replaced = 0;
		json_t *g;
		json_array_foreach(rs->ledger_findings, k, g) replaced |=
		    cls != NULL && strcmp(cls, json_string_value(json_object_get(g, "class"))) == 0;
		if (!replaced)
			json_array_append(kept, f);
	}
	json_array_extend(kept, rs->ledger_findings);
	json_decref(e->findings);
	e->findings = kept;
	char *reason = xasprintf(
	    "the agents' evidence, every region pooled, finds it %s%s%s", e->verdict,
	    e->reason && *e->reason ? "; the hub's own runs: " : "", e->reason ? e->reason : "");
	free(e->reason);
	e->reason = reason;
}

void
regions_set_ledger(struct board_entry *e, const char *verdict, json_t *view, json_t *findings)
{
	if (e->regions == NULL)
		e->regions = xcalloc(1, sizeof *e->regions);
	struct board_regions *rs = e->regions;
	if (!rs->own_kept)
		keep_own(rs, e);
	json_decref(rs->ledger);
	json_decref(rs->ledger_findings);
	rs->ledger = view ? json_deep_copy(view) : NULL;
	rs->ledger_findings = findings ? json_deep_copy(findings) : json_array();
	rs->ledger_rank = verdict_rank(verdict);
	overlay(e);
}

void
regions_own_run(struct board_entry *e)
{
	if (e->regions == NULL || e->regions->ledger == NULL)
		return;
	keep_own(e->regions, e);
	overlay(e);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
nearest_rank(const double *sorted, long n, int pct)
{
	long k = (pct * n + 99) / 100; /* ceil(pct / 100 * n) */
	if (k < 1)
		k = 1;
	return sorted[k - 1];
}

void
region_summarize(const struct board_entry *e, const struct board_region *r, int64_t now_ms,
                 struct region_summary *out)
{
	memset(out, 0, sizeof *out);
	out->region = r;
	out->age_ms = now_ms - r->last_ms;
	int64_t fresh_ms = e->interval_ms > 0 ? 3 * e->interval_ms : 15 * 60000LL;
	if (out->age_ms > fresh_ms)
		out->state = REGION_STALE;
	else
		out->state = r->last_ok > 0 ? REGION_UP : REGION_DOWN;
	int64_t hour = now_ms / HOUR_MS;
	for (size_t k = 0; k < REGION_HOURS; k++) {
		const struct region_hour *s = &r->hours[k];
		if (s->index < 0 || s->index > hour || s->index <= hour - REGION_HOURS)
			continue;
		out->runs += s->runs;
		out->requests += s->requests;
		out->ok += s->ok;
	}
	out->share = out->requests > 0 ? (double)out->ok / (double)out->requests : -1;
	double vals[REGION_RECENT];
	long n = 0;
	for (size_t i = 0; i < r->n_recent; i++) {
		const struct region_recent *x = &r->recent[(r->recent_start + i) % REGION_RECENT];
		if (x->at_ms > now_ms - DAY_MS && x->at_ms <= now_ms && x->ttft_ms >= 0)
			vals[n++] = x->ttft_ms;
	}
	out->latency_runs = n;
	out->p50 = out->p95 = -1;
	if (n > 0) {
		qsort(vals, (size_t)n, sizeof vals[0], cmp_double);
		out->p50 = nearest_rank(vals, n, 50);
		out->p95 = nearest_rank(vals, n, 95);
	}
}
