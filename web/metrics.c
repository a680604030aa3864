/*
 * metrics: the board in the Prometheus text exposition format (0.0.4).
 *
 * Label values come from the config and from relays: escaped as the format
 * says (backslash, double quote, newline). Windowed counts are gauges; the
 * latest-run figures are gauges with a timestamp metric beside them.
 */
#include <stdio.h>
#include <string.h>

#include "web/regions.h"
#include "web/render.h"

static void
prom_escape(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			buf_puts(b, "\\\\");
		else if (*s == '"')
			buf_puts(b, "\\\"");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_add(b, s, 1) == 0 ? (void)0 : fatal(70, "internal: metrics buffer");
	}
}

static void
labels(struct buf *b, const char *name, const struct board_entry *e)
{
	buf_puts(b, name);
	buf_puts(b, "{relay=\"");
	prom_escape(b, e->relay);
	buf_puts(b, "\",model=\"");
	prom_escape(b, e->model);
	buf_puts(b, "\"");
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_putf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The gauge name, per relay-model and window: its requests, or (ok) the
 * ones that succeeded. */
static void
window_gauge(struct buf *b, const struct board_view *v, const char *name, const char *help, int ok)
{
	family(b, name, "gauge", help);
	for (size_t i = 0; i < v->n; i++)
		for (int w = 0; w < WIN__COUNT; w++) {
			struct window x;
			entry_window(v->entries[i], (enum window_id)w, v->now_ms, &x);
			labels(b, name, v->entries[i]);
			buf_putf(b, ",window=\"%s\"} %ld\n", window_names[w],
			         ok ? x.ok : x.requests);
		}
	board_view_breathe(v); /* between families: a change waiting comes in */
}

/* An entry's region's labels: relay, model and region. */
static void
region_labels(struct buf *b, const char *name, const struct board_entry *e,
              const struct board_region *r)
{
	labels(b, name, e);
	buf_puts(b, ",region=\"");
	prom_escape(b, r->name);
	buf_puts(b, "\"");
}

/* What each region's agent saw (the hub's board; nothing elsewhere). */
static void
region_families(struct buf *b, const struct board_view *v)
{
	int any = 0;
	for (size_t i = 0; i < v->n && !any; i++)
		any = v->entries[i]->regions != NULL && v->entries[i]->regions->n > 0;
	if (!any)
		return;
	static const struct {
		const char *name, *help;
	} fams[] = {
	    {"assay_region_state",
	     "State of the region agent's latest run: 1 for the current one (down: no request "
	     "succeeded; stale: no run for three intervals)."},
	    {"assay_region_requests", "Probe requests the region's agent sent in the window."},
	    {"assay_region_ok_requests",
	     "Probe requests of the region's agent that succeeded in the window."},
	    {"assay_region_ttft_p50_seconds",
	     "Median of the region agent's runs' median time to first token over 24 h."},
	    {"assay_region_ttft_p95_seconds",
	     "95th percentile of the region agent's runs' median time to first token over 24 "
	     "h."},
	    {"assay_region_last_run_timestamp_seconds",
	     "When the region agent's latest run finished."},
	};
	for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
		family(b, fams[f].name, "gauge", fams[f].help);
		for (size_t i = 0; i < v->n; i++) {
			const struct board_entry *e = v->entries[i];
			const struct board_regions *rs = e->regions;
			for (size_t k = 0; rs != NULL && k < rs->n; k++) {
				const struct board_region *r = &rs->r[k];
				struct region_summary s;
				region_summarize(e, r, v->now_ms, &s);
				switch (f) {
				case 0:
					for (int st = 0; st < 3; st++) {
						region_labels(b, fams[f].name, e, r);
						buf_putf(b, ",state=\"%s\"} %d\n",
						         region_state_names[st],
						         (int)s.state == st);
					}
					break;
				case 1:
				case 2:
					region_labels(b, fams[f].name, e, r);
					buf_putf(b, ",window=\"24h\"} %ld\n",
					         f == 1 ? s.requests : s.ok);
					break;
				case 3:
				case 4:
					/* a gauge may not carry Prometheus's "quantile" label */
					if (s.p50 < 0)
						break;
					region_labels(b, fams[f].name, e, r);
					buf_putf(b, "} %.6f\n", (f == 3 ? s.p50 : s.p95) / 1000.0);
					break;
				default:
					region_labels(b, fams[f].name, e, r);
					buf_putf(b, "} %.3f\n", r->last_ms / 1000.0);
					break;
				}
			}
		}
		board_view_breathe(v);
	}
}

void
render_metrics(const struct board_view *v, struct buf *b)
{
	static const char *const verdicts[] = {"genuine",      "suspect",     "misbehaving",
	                                       "inconclusive", "unreachable", "pending"};
	family(b, "assay_relays", "gauge", "Relay-models on this board.");
	buf_putf(b, "assay_relays %zu\n", v->n);
	if (v->about->has_store) {
		const struct store_stats *st = &v->about->stats;
		const char *engine = st->engine ? st->engine : "sqlite";
		family(b, "assay_database_size_bytes", "gauge",
		       "Database size: on sqlite the main file (pages in use and free, "
		       "without the write-ahead log); on postgresql pg_database_size() of this "
		       "database (tables, indexes, TOAST, free space; not the cluster's WAL).");
		buf_putf(b, "assay_database_size_bytes{engine=\"%s\"} %lld\n", engine,
		         (long long)st->file_bytes);
		/* PostgreSQL's WAL is the cluster's, shared with other databases */
		if (strcmp(engine, "sqlite") == 0) {
			family(b, "assay_database_wal_bytes", "gauge",
			       "SQLite write-ahead log file size.");
			buf_putf(b, "assay_database_wal_bytes{engine=\"%s\"} %lld\n", engine,
			         (long long)st->wal_bytes);
		}
	}
	family(b, "assay_relay_verdict", "gauge", "Latest verdict: 1 for the current state.");
	for (size_t i = 0; i < v->n; i++) {
		const struct board_entry *e = v->entries[i];
		const char *cur = e->verdict ? e->verdict : "pending";
		for (size_t k = 0; k < sizeof verdicts / sizeof verdicts[0]; k++) {
			labels(b, "assay_relay_verdict", e);
			buf_putf(b, ",verdict=\"%s\"} %d\n", verdicts[k],
			         strcmp(cur, verdicts[k]) == 0);
		}
	}
	board_view_breathe(v); /* a family at a time: changes come in between */
	window_gauge(b, v, "assay_relay_requests", "Probe requests sent in the window.", 0);
	window_gauge(b, v, "assay_relay_ok_requests",
	             "Probe requests that succeeded in the window.", 1);
	family(b, "assay_relay_failed_requests", "gauge",
	       "Probe requests in the last 24 h that did not succeed, by error class "
	       "(not_sent: held back, never sent to the relay).");
	for (size_t i = 0; i < v->n; i++) {
		struct window x;
		entry_window(v->entries[i], WIN_24H, v->now_ms, &x);
		for (int c = 1; c < ERR__COUNT; c++) {
			if (c == ERR_ABORTED)
				continue;
			labels(b, "assay_relay_failed_requests", v->entries[i]);
			buf_putf(b, ",class=\"%s\"} %ld\n", error_class_name((enum error_class)c),
			         x.errors[c]);
		}
	}
	board_view_breathe(v);
	family(b, "assay_relay_ttft_seconds", "gauge", "Median time to first token, latest run.");
	for (size_t i = 0; i < v->n; i++)
		if (v->entries[i]->ttft_ms >= 0) {
			labels(b, "assay_relay_ttft_seconds", v->entries[i]);
			buf_putf(b, "} %.6f\n", v->entries[i]->ttft_ms / 1000.0);
		}
	board_view_breathe(v);
	family(b, "assay_relay_tokens_per_second", "gauge", "Median output speed, latest run.");
	for (size_t i = 0; i < v->n; i++)
		if (v->entries[i]->tokens_per_s >= 0) {
			labels(b, "assay_relay_tokens_per_second", v->entries[i]);
			buf_putf(b, "} %.3f\n", v->entries[i]->tokens_per_s);
		}
	board_view_breathe(v);
	family(b, "assay_relay_last_run_timestamp_seconds", "gauge",
	       "When the latest run started.");
	for (size_t i = 0; i < v->n; i++)
		if (v->entries[i]->last_run_ms > 0) {
			labels(b, "assay_relay_last_run_timestamp_seconds", v->entries[i]);
			buf_putf(b, "} %.3f\n", v->entries[i]->last_run_ms / 1000.0);
		}
	board_view_breathe(v);
	family(b, "assay_relay_finding_confidence", "gauge",
	       "Confidence of each finding of the latest run.");
	for (size_t i = 0; i < v->n; i++) {
		size_t k;
		json_t *f;
		json_array_foreach(v->entries[i]->findings, k, f)
		{
			const char *cls = json_string_value(json_object_get(f, "class"));
			labels(b, "assay_relay_finding_confidence", v->entries[i]);
			buf_puts(b, ",class=\"");
			prom_escape(b, cls ? cls : "");
			buf_putf(b, "\",index=\"%zu\"} %.4f\n", k,
			         json_number_value(json_object_get(f, "confidence")));
		}
	}
	board_view_breathe(v);
	family(b, "assay_relay_score", "gauge", "Leaderboard score (0-100) over 30 days.");
	for (size_t i = 0; i < v->n; i++) {
		struct score sc;
		entry_score(v->entries[i], v->now_ms, &sc);
		if (!sc.ranked)
			continue;
		labels(b, "assay_relay_score", v->entries[i]);
		buf_putf(b, "} %.3f\n", sc.value);
	}
	board_view_breathe(v);
	family(b, "assay_relay_open_incidents", "gauge", "Incidents open now.");
	for (size_t i = 0; i < v->n; i++) {
		int open = 0;
		for (size_t k = 0; k < v->entries[i]->n_incidents; k++)
			open += v->entries[i]->incidents[k].resolved_ms == 0;
		labels(b, "assay_relay_open_incidents", v->entries[i]);
		buf_putf(b, "} %d\n", open);
	}
	board_view_breathe(v);
	region_families(b, v);
}
