/*
 * hub: the agents' runs, read from the shared store, folded into the
 * quorum (scoring/quorum.h); outages declared and ended by it are written
 * (region_outages) and said.
 *
 * A poll reads at most HUB_BATCH runs past the last id read, and the
 * quorum is evaluated once a poll has read less than a full batch (the
 * read has caught up: a region's newer run not read yet never leaves its
 * older one standing); while polls read full batches the next comes
 * HUB_MORE_MS later, not a poll later, so a restart's catch-up is quick
 * and no poll holds the loop long. A store that cannot be read or written
 * is said and tried again at the next poll (a change the store did not
 * take is not made: quorum keeps the old state). At start the hub reads
 * from the first run of the freshness window (the ones before it could
 * not count), so a restart does not read a day of raw rows. The pages'
 * per-region columns want the day before it: read back, newest first,
 * HUB_BACK_BATCH a poll once the quorum has caught up, for the board only.
 *
 * The agents' evidence (schema 12's agent_findings) goes into the hub's
 * pooled ledger (scoring/region_ledger.h: one per relay-model, every
 * region's runs of an epoch averaged, epochs multiplied, serve's decision
 * rule) on a cursor of its own, in looks of its own (ledger_cb): after the
 * last run read, HUB_LEDGER_READ a look. A gap in the ids holds the cursor
 * for HUB_GAP_US (a run that took its id before a later one committed is
 * not skipped); while a look reads a full batch, nothing closes (the runs
 * committed are read first). An epoch's end at scale is spread over
 * looks: each closes the epochs of a slice of the relay-models due and
 * writes a slice of the states changed, oldest change first (each slice
 * bounded in time and count: HUB_LEDGER_*), with the cursor below the
 * first run still waiting or folded into a state not yet written
 * (region_ledger_safe_id; store_hub_ledger_write, one transaction), so a
 * restart reads those again and skips the runs of epochs a written state
 * has closed: nothing folded twice, nothing skipped. While work is left (a
 * full read, a full slice, states not written) the next look comes
 * HUB_MORE_MS later; a write that fails is tried again at the next poll
 * (the ledger keeps the states unwritten until it works). The board shows
 * what changed at once. Once a slice is written, each of its relay-models'
 * pooled verdict goes to the alerts (alerts_pooled_verdict: a change told,
 * damped), with what was given before (told: seeded with the states
 * restored, so a restart tells nothing twice).
 */
#include "cli/hub.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/quorum.h"
#include "scoring/region_ledger.h"
#include "scoring/timeline.h"
#include "storage/store.h"
#include "web/alerts.h"
#include "web/board.h"
#include "web/regions.h"

#define HUB_BATCH 1000
#define HUB_BACK_BATCH 5000 /* the pages' day before: one a poll */
/* The next look this soon while work is left (a full batch read, a slice
 * of the ledger's work done and more due). */
#define HUB_MORE_MS 10
/* A gap in the agents' run ids (an id taken by a transaction that has not
 * committed yet: PostgreSQL hands ids out at insert, commits come in any
 * order) holds the ledger's cursor this long before it moves past (a
 * rolled-back insert leaves a gap for good). */
#define HUB_GAP_US 2000000
/* The ledger's look: at most HUB_LEDGER_READ agent runs read, then
 * relay-models closed HUB_LEDGER_CHUNK at a time and their states made
 * one at a time, each for about HUB_LEDGER_BUDGET_US and at most
 * HUB_LEDGER_SLICE (the states then written in one transaction): an
 * epoch's end over 10,000 relay-models x 5 regions is some tens of looks,
 * none holding the loop more than a few tens of ms (bench/hub_close.c). */
#define HUB_LEDGER_READ 1000
#define HUB_LEDGER_SLICE 500
#define HUB_LEDGER_CHUNK 25
#define HUB_LEDGER_BUDGET_US 10000

/* An outage declared and not over: what the board shows of it. */
struct open_outage {
	char *relay, *model;
	int64_t id, opened_ms;
};

struct hub {
	struct store *store;
	struct board *board;
	struct alerts *alerts; /* NULL: none */
	struct open_outage *open;
	size_t n_open;
	struct quorum *quorum;
	struct event *poll_ev, *ledger_ev;
	int64_t poll_ms;
	int64_t after_id;
	int observed; /* runs the last poll read */
	/* the reads past after_id: runs committed out of id order are not
	 * skipped (storage/store.h, struct store_agent_cursor) */
	struct store_agent_cursor *cursor;
	int need, of;
	int failing; /* the last read failed: said once until it works */
	/* the pages' read back of the day before the start (read_back) */
	int64_t back_upto, back_since;
	long back_read;
	int back_failing;
	/* the agents' evidence: the pooled ledger (which keeps the relay-models
	 * whose state is not written yet) and its cursor */
	struct region_ledger *ledger;
	int64_t ledger_read;
	int ledger_got;               /* runs the store gave this look */
	int ledger_hold;              /* stopped at a gap this look */
	int64_t gap_id, gap_since_us; /* the gap waited for, since when */
	int ledger_failing, ledger_write_failing;
	/* "len(relay):relay model" -> the pooled verdict last given to the alerts
	 * (seeded with what was restored: a restarted hub tells no change
	 * twice) */
	json_t *told;
	int64_t row_us; /* what a state row took the store to write, lately (0: not known) */
	long late_said;
	int64_t late_said_ms;
};

/* The run on the board's per-region columns (web/regions.h). */
static void
show_run(struct hub *h, const struct store_agent_run *r)
{
	if (h->board != NULL) {
		struct board_region_run run = {
		    .region = r->region,
		    .relay = r->relay,
		    .model = r->model,
		    .verdict = r->verdict,
		    .error_class = r->error_class,
		    .at_ms = r->finished_ms,
		    .requests = r->requests,
		    .ok_requests = r->ok_requests,
		    .ttft_ms = r->ttft_ms,
		};
		board_region_run(h->board, &run);
	}
}

static void
observe_cb(const struct store_agent_run *r, void *arg)
{
	struct hub *h = arg;
	h->observed++;
	quorum_observe(h->quorum, r->region, r->relay, r->model, r->finished_ms,
	               r->ok_requests == 0, r->error_class, r->ttft_ms);
	show_run(h, r);
	if (r->id > h->after_id)
		h->after_id = r->id; /* a run of a gap comes after higher ones */
}

/* A run from before the quorum's window: for the pages only. */
static void
back_cb(const struct store_agent_run *r, void *arg)
{
	struct hub *h = arg;
	show_run(h, r);
	h->back_read++;
	if (r->id <= h->back_upto)
		h->back_upto = r->id - 1;
}

/* One batch of the day before the hub started, newest first, while any is
 * left: the pages' 24 h by region survive a restart, and the quorum, read
 * first, never waits for it (nor the loop: a batch a poll, at its pace). */
static void
read_back(struct hub *h)
{
	if (h->back_upto <= 0 || h->board == NULL)
		return;
	h->back_read = 0;
	if (store_each_agent_run_back(h->store, h->back_upto, h->back_since, HUB_BACK_BATCH,
	                              back_cb, h) != 0) {
		if (!h->back_failing)
			fprintf(stderr,
			        "assay hub: cannot read back the agents' last day for the pages "
			        "(%s): trying again\n",
			        store_last_error(h->store));
		h->back_failing = 1;
		return;
	}
	h->back_failing = 0;
	if (h->back_read < HUB_BACK_BATCH)
		h->back_upto = 0; /* all read */
}

/* "eu 120 ms, us down (network), ap stale" into out. */
static void
describe(const struct quorum_view *v, char *down, size_t dn, char *out, size_t n)
{
	size_t used = 0, dused = 0;
	out[0] = down[0] = '\0';
	for (size_t i = 0; i < v->n_regions; i++) {
		const struct quorum_region *r = &v->regions[i];
		char one[96];
		if (!r->fresh)
			snprintf(one, sizeof one, "%s stale", r->name);
		else if (r->down)
			snprintf(one, sizeof one, "%s down (%s)", r->name, r->error_class);
		else if (r->ttft_ms >= 0)
			snprintf(one, sizeof one, "%s up, %.0f ms", r->name, r->ttft_ms);
		else
			snprintf(one, sizeof one, "%s up", r->name);
		int k = snprintf(out + used, n - used, "%s%s", used ? ", " : "", one);
		if (k > 0 && (size_t)k < n - used)
			used += (size_t)k;
		if (r->fresh && r->down) {
			k = snprintf(down + dused, dn - dused, "%s%s", dused ? "," : "", r->name);
			if (k > 0 && (size_t)k < dn - dused)
				dused += (size_t)k;
		}
	}
}

/* The most frequent failure among v's fresh regions that are down. */
static const char *
main_cause(const struct quorum_view *v)
{
	const char *best = "";
	int best_n = 0;
	for (size_t i = 0; i < v->n_regions; i++) {
		const struct quorum_region *r = &v->regions[i];
		if (!r->fresh || !r->down)
			continue;
		int n = 0;
		for (size_t k = 0; k < v->n_regions; k++)
			n += v->regions[k].fresh && v->regions[k].down &&
			     strcmp(v->regions[k].error_class, r->error_class) == 0;
		if (n > best_n) {
			best = r->error_class;
			best_n = n;
		}
	}
	return best;
}

/* The board's incident of an outage: an id of its own (negative: not a
 * row of the incidents table), the regions' states as its detail. */
static void
show(struct hub *h, const struct quorum_view *v, const struct open_outage *o, int64_t resolved_ms,
     const char *regions)
{
	if (h->board == NULL)
		return;
	char detail[1200];
	snprintf(detail, sizeof detail, "quorum of regions: down in %d of %d heard (%s)", v->down,
	         v->heard, regions);
	struct timeline_incident inc = {
	    .id = -o->id,
	    .relay = v->relay,
	    .model = v->model,
	    .kind = "outage",
	    .opened_ms = o->opened_ms,
	    .resolved_ms = resolved_ms,
	    .cause = main_cause(v),
	    .detail = detail,
	    .failed_runs = v->down,
	};
	board_incident(h->board, &inc);
}

static struct open_outage *
find_open(struct hub *h, const char *relay, const char *model)
{
	for (size_t i = 0; i < h->n_open; i++)
		if (strcmp(h->open[i].relay, relay) == 0 && strcmp(h->open[i].model, model) == 0)
			return &h->open[i];
	return NULL;
}

static int
change_cb(const struct quorum_view *v, void *arg)
{
	struct hub *h = arg;
	char down[256], regions[1024];
	describe(v, down, sizeof down, regions, sizeof regions);
	int64_t now = wall_ms(), id = 0;
	int rc;
	if (v->declared) {
		id = store_region_outage_open(h->store, v->relay, v->model, now, down, v->heard);
		rc = id > 0 ? 0 : -1;
	} else {
		rc = store_region_outage_resolve(h->store, v->relay, v->model, now);
	}
	if (rc != 0) {
		fprintf(stderr,
		        "assay hub: %s %s: cannot write the outage's %s (%s): tried again at the "
		        "next look\n",
		        v->relay, v->model, v->declared ? "start" : "end",
		        store_last_error(h->store));
		return -1;
	}
	if (v->declared) {
		fprintf(stderr,
		        "assay hub: %s %s: outage declared: down in %d of %d regions (%s)\n",
		        v->relay, v->model, v->down, h->of, regions);
		h->open = xrealloc(h->open, (h->n_open + 1) * sizeof *h->open);
		struct open_outage *o = &h->open[h->n_open++];
		*o = (struct open_outage){xstrdup(v->relay), xstrdup(v->model), id, now};
		show(h, v, o, 0, regions);
		alerts_quorum_outage(h->alerts, v->relay, v->model, 1, v->down, h->of, regions, now,
		                     now);
	} else {
		fprintf(stderr,
		        "assay hub: %s %s: outage over: down in %d of %d regions heard (%s)\n",
		        v->relay, v->model, v->down, v->heard, regions);
		struct open_outage *o = find_open(h, v->relay, v->model);
		if (o != NULL) {
			show(h, v, o, now, regions);
			alerts_quorum_outage(h->alerts, v->relay, v->model, 0, v->down, h->of,
			                     regions, o->opened_ms, now);
			free(o->relay);
			free(o->model);
			*o = h->open[--h->n_open];
		}
	}
	return 0;
}

/* One agent run's evidence into the ledger. */
static void
evidence_cb(const struct store_agent_evidence *e, void *arg)
{
	struct hub *h = arg;
	h->ledger_got++;
	if (h->ledger_hold)
		return; /* read again at the next look */
	if (h->ledger_read > 0 && e->id != h->ledger_read + 1) {
		/* a run below it may still commit: wait for it a while */
		int64_t now = now_us();
		if (h->gap_id != h->ledger_read + 1) {
			h->gap_id = h->ledger_read + 1;
			h->gap_since_us = now;
		}
		if (now - h->gap_since_us < HUB_GAP_US) {
			h->ledger_hold = 1;
			return;
		}
	}
	struct region_ledger_run run = {.id = e->id,
	                                .region = e->region ? e->region : "",
	                                .relay = e->relay ? e->relay : "",
	                                .model = e->model ? e->model : "",
	                                .started_ms = e->started_ms,
	                                .counts = e->ok_requests > 0};
	for (size_t i = 0; i < e->n_findings; i++) {
		const struct store_agent_finding *f = &e->findings[i];
		int c = f->cls ? class_from_name(f->cls) : -1;
		if (c < 0 || !class_info((enum finding_class)c)->cheat)
			continue; /* a class this build does not know bets nothing */
		run.conv[c] = f->conv;
		run.lim[c] = f->lim;
		if (f->sighting >= 2)
			run.misbehaving |= 1u << c;
		else if (f->sighting == 1)
			run.suspect |= 1u << c;
		if (f->has_shown && f->sighting > 0 && run.n_shown < CLASS__COUNT)
			run.shown[run.n_shown++] = (struct ledger_shown){
			    .cls = (enum finding_class)c,
			    .convicts = f->sighting >= 2,
			    .confidence = f->confidence,
			    .p_adjusted = f->p_adjusted,
			    .at_ms = e->started_ms,
			    .expected = f->expected,
			    .observed = f->observed,
			    .summary = f->summary,
			    .probe = f->probe,
			    .served = f->served,
			};
	}
	if (e->relay != NULL && e->model != NULL)
		region_ledger_add(h->ledger, &run);
	h->ledger_read = e->id;
}

/* relay/model's ledger on the board. */
static void
ledger_show(struct hub *h, const char *relay, const char *model)
{
	if (h->board == NULL)
		return;
	json_t *view = region_ledger_view(h->ledger, relay, model, wall_ms());
	json_t *findings = region_ledger_findings(h->ledger, relay, model);
	board_agents_ledger(
	    h->board, relay, model,
	    verdict_name((enum verdict)region_ledger_level(h->ledger, relay, model)), view,
	    findings);
	json_decref(view);
	json_decref(findings);
}

/* An epoch of relay/model was folded: shown (the ledger keeps it to be
 * written). */
static void
changed_cb(const char *relay, const char *model, void *arg)
{
	ledger_show(arg, relay, model);
}

/* What the pooled ledger holds against relay/model, for an alert: its
 * decided classes and the regions that saw each (owned by the caller). */
static char *
pooled_reason(struct hub *h, const char *relay, const char *model)
{
	json_t *findings = region_ledger_findings(h->ledger, relay, model);
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "the agents' evidence, pooled over the regions that sent it:");
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f)
	{
		const char *cls = json_string_value(json_object_get(f, "class"));
		json_t *evj = json_object_get(f, "evidence"); /* {"summary", ...} */
		const char *ev = json_is_string(evj)
		                     ? json_string_value(evj)
		                     : json_string_value(json_object_get(evj, "summary"));
		buf_putf(&b, "%s %s%s%s", i ? ";" : "", cls ? cls : "?", ev ? ": " : "",
		         ev ? ev : "");
	}
	json_decref(findings);
	return buf_take(&b, NULL);
}

/* The states just written: each relay-model's pooled verdict to the alerts
 * (which tell a change, damped), once written. */
static void
ledger_tell(struct hub *h, const struct store_hub_ledger_row *rows, size_t n, int64_t now)
{
	if (h->alerts == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		char *key =
		    xasprintf("%zu:%s%s", strlen(rows[i].relay), rows[i].relay, rows[i].model);
		const char *before = json_string_value(json_object_get(h->told, key));
		char *reason = NULL;
		if (before == NULL || strcmp(before, rows[i].verdict) != 0)
			reason = pooled_reason(h, rows[i].relay, rows[i].model);
		alerts_pooled_verdict(h->alerts, rows[i].relay, rows[i].model, rows[i].verdict,
		                      reason, before, now);
		json_object_set_new_nocheck(h->told, key, json_string(rows[i].verdict));
		free(reason);
		free(key);
	}
}

/* The states of the relay-models changed, oldest change first, as many
 * as are made within budget_us and as the store writes within it at the
 * pace of the last writes (a store across a network takes a round trip a
 * row), at least one, at most HUB_LEDGER_SLICE (budget_us 0: every one),
 * and the cursor, in one transaction. 0 (written, or nothing to write),
 * or -1 (said once; the ledger keeps them unwritten). */
static int
ledger_write(struct hub *h, int64_t budget_us)
{
	size_t n = region_ledger_unsaved(h->ledger);
	if (n == 0)
		return 0;
	if (budget_us > 0) {
		size_t most = h->row_us > 0 ? (size_t)(budget_us / h->row_us) : HUB_LEDGER_SLICE;
		if (most > HUB_LEDGER_SLICE)
			most = HUB_LEDGER_SLICE;
		if (n > most)
			n = most > 0 ? most : 1;
	}
	struct store_hub_ledger_row *rows = xcalloc(n, sizeof *rows);
	char **states = xcalloc(n, sizeof *states);
	size_t n_rows = 0;
	int64_t now = wall_ms(), start_us = now_us();
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && budget_us > 0 && now_us() - start_us >= budget_us) {
			n = i; /* the rest at the next look */
			break;
		}
		const char *relay, *model;
		region_ledger_unsaved_at(h->ledger, i, &relay, &model);
		states[i] = region_ledger_state(h->ledger, relay, model);
		if (states[i] == NULL)
			continue;
		int level = region_ledger_level(h->ledger, relay, model);
		rows[n_rows++] = (struct store_hub_ledger_row){
		    relay, model, verdict_name((enum verdict)level), states[i], now};
	}
	int64_t cursor = region_ledger_safe_id(h->ledger, h->ledger_read, n);
	int64_t sql_us = now_us();
	int rc = store_hub_ledger_write(h->store, rows, n_rows, cursor);
	sql_us = now_us() - sql_us;
	if (rc != 0) {
		size_t waiting = region_ledger_unsaved(h->ledger);
		if (!h->ledger_write_failing)
			fprintf(
			    stderr,
			    "assay hub: cannot write the agents' ledger (%s): %zu relay-model%s "
			    "waiting, tried again at the next look\n",
			    store_last_error(h->store), waiting, waiting == 1 ? "" : "s");
		h->ledger_write_failing = 1;
	} else {
		if (h->ledger_write_failing)
			fprintf(stderr, "assay hub: the agents' ledger is written again\n");
		h->ledger_write_failing = 0;
		ledger_tell(h, rows, n_rows, now);
		region_ledger_saved(h->ledger, n);
		if (n_rows > 0) {
			int64_t us = sql_us / (int64_t)n_rows + 1;
			h->row_us = h->row_us > 0 ? (3 * h->row_us + us) / 4 : us;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(states[i]);
	free(states);
	free(rows);
	return rc;
}

/* A look at the agents' evidence: read a batch, close a slice of what is
 * due, write a slice of what changed. 1 when work is left for a look
 * soon (a full batch read, a full slice closed, states left to write). */
static int
ledger_poll(struct hub *h)
{
	int more = 0;
	h->ledger_hold = 0;
	h->ledger_got = 0;
	if (store_each_agent_evidence(h->store, h->ledger_read, HUB_LEDGER_READ, evidence_cb, h) !=
	    0) {
		if (!h->ledger_failing)
			fprintf(stderr,
			        "assay hub: cannot read the agents' findings (%s): trying again\n",
			        store_last_error(h->store));
		h->ledger_failing = 1;
	} else {
		h->ledger_failing = 0;
		/* a gap held: the batch is read again at the next poll, not soon */
		more = h->ledger_got == HUB_LEDGER_READ && !h->ledger_hold;
	}
	/* what is due, a chunk at a time within the budget; not while the
	 * read is behind (after a restart, or a burst): a run committed and
	 * not read yet would find its epoch closed on the regions read so far */
	int64_t now = wall_ms(), start_us = now_us();
	size_t changed = 0, closed = 0;
	while (!more) {
		changed = region_ledger_close_some(h->ledger, now, HUB_LEDGER_CHUNK, changed_cb, h);
		closed += changed;
		if (changed < HUB_LEDGER_CHUNK)
			break;
		if (closed >= HUB_LEDGER_SLICE || now_us() - start_us >= HUB_LEDGER_BUDGET_US) {
			more = 1;
			break;
		}
	}
	if (ledger_write(h, HUB_LEDGER_BUDGET_US) != 0)
		more = 0; /* a store that fails is tried again at the next poll, not soon */
	else if (region_ledger_unsaved(h->ledger) > 0)
		more = 1;
	/* late runs are said at most once a minute, with how many came */
	long late = region_ledger_late(h->ledger);
	now = wall_ms();
	if (late > h->late_said && now - h->late_said_ms >= 60000) {
		h->late_said_ms = now;
		fprintf(stderr,
		        "assay hub: %ld agent run%s came after %s epoch closed: not in the ledger "
		        "(%ld so far)\n",
		        late - h->late_said, late - h->late_said == 1 ? "" : "s",
		        late - h->late_said == 1 ? "its" : "their", late);
		h->late_said = late;
	}
	return more;
}

static void
ledger_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct hub *h = arg;
	int64_t ms = ledger_poll(h) ? HUB_MORE_MS : h->poll_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(h->ledger_ev, &tv);
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct hub *h = arg;
	int behind = 0;
	h->observed = 0;
	if (store_agent_cursor_read(h->store, h->cursor, HUB_BATCH, observe_cb, h) != 0) {
		if (!h->failing)
			fprintf(stderr,
			        "assay hub: cannot read the agents' runs (%s): trying again\n",
			        store_last_error(h->store));
		h->failing = 1;
	} else {
		if (h->failing)
			fprintf(stderr, "assay hub: reading the agents' runs again\n");
		h->failing = 0;
		behind = h->observed == HUB_BATCH;
	}
	if (!behind) {
		quorum_evaluate(h->quorum, wall_ms(), change_cb, h);
		read_back(h);
	}
	int64_t ms = behind ? HUB_MORE_MS : h->poll_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(h->poll_ev, &tv);
}

/* A relay-model's ledger as the store keeps it. */
static void
restore_ledger_cb(const struct store_hub_ledger_row *row, void *arg)
{
	struct hub *h = arg;
	if (region_ledger_restore(h->ledger, row->relay, row->model, row->state) != 0)
		fprintf(stderr,
		        "assay hub: %s %s: the agents' ledger kept does not read: it starts "
		        "afresh\n",
		        row->relay, row->model);
	else {
		ledger_show(h, row->relay, row->model);
		char *key = xasprintf("%zu:%s%s", strlen(row->relay), row->relay, row->model);
		json_object_set_new_nocheck(
		    h->told, key,
		    json_string(verdict_name(
		        (enum verdict)region_ledger_level(h->ledger, row->relay, row->model))));
		free(key);
	}
}

static void
restore_cb(int64_t id, const char *relay, const char *model, int64_t opened_ms, void *arg)
{
	struct hub *h = arg;
	quorum_restore_declared(h->quorum, relay, model);
	h->open = xrealloc(h->open, (h->n_open + 1) * sizeof *h->open);
	h->open[h->n_open++] = (struct open_outage){xstrdup(relay), xstrdup(model), id, opened_ms};
}

struct hub *
hub_new(struct event_base *base, struct store *store, struct board *board, int need, int of,
        int64_t interval_ms)
{
	struct quorum *q = quorum_new(need, of, 3 * interval_ms);
	if (q == NULL) {
		fprintf(stderr, "assay hub: unusable quorum %d of %d\n", need, of);
		return NULL;
	}
	struct hub *h = xcalloc(1, sizeof *h);
	h->store = store;
	h->board = board;
	h->quorum = q;
	h->need = need;
	h->of = of;
	if (store_each_open_region_outage(store, restore_cb, h) != 0 ||
	    store_agent_runs_since(store, wall_ms() - 3 * interval_ms, &h->after_id) != 0) {
		fprintf(stderr,
		        "assay hub: cannot read the agents' runs or open outages back (%s)\n",
		        store_last_error(store));
		hub_free(h);
		return NULL;
	}
	h->cursor = store_agent_cursor_new(h->after_id);
	/* the agents' ledger: what was kept, from its cursor; the first time,
	 * the window's runs */
	h->ledger = region_ledger_new(interval_ms, 0, HUB_BUDGET_SHARE);
	h->told = json_object();
	if (h->ledger == NULL ||
	    store_each_hub_ledger(store, &h->ledger_read, restore_ledger_cb, h) != 0 ||
	    (h->ledger_read == 0 &&
	     store_agent_runs_since(store, wall_ms() - 24 * 3600000LL, &h->ledger_read) != 0)) {
		fprintf(stderr, "assay hub: cannot read the agents' ledger back (%s)\n",
		        store_last_error(store));
		hub_free(h);
		return NULL;
	}
	h->back_upto = h->after_id;
	h->back_since = wall_ms() - REGION_HOURS * 3600000LL;
	/* the outages still open are the board's too, until they end */
	for (size_t i = 0; board != NULL && i < h->n_open; i++) {
		struct timeline_incident inc = {
		    .id = -h->open[i].id,
		    .relay = h->open[i].relay,
		    .model = h->open[i].model,
		    .kind = "outage",
		    .opened_ms = h->open[i].opened_ms,
		    .cause = "",
		    .detail = "quorum of regions: declared before this hub started",
		};
		board_incident(board, &inc);
	}
	/* a few looks an interval: an outage is declared soon after the runs
	 * that show it are written */
	h->poll_ms = interval_ms / 8;
	if (h->poll_ms < 100)
		h->poll_ms = 100;
	if (h->poll_ms > 2000)
		h->poll_ms = 2000;
	h->poll_ev = evtimer_new(base, poll_cb, h);
	h->ledger_ev = evtimer_new(base, ledger_cb, h);
	struct timeval now = {0, 0};
	evtimer_add(h->poll_ev, &now);
	evtimer_add(h->ledger_ev, &now);
	return h;
}

void
hub_free(struct hub *h)
{
	if (h == NULL)
		return;
	if (h->poll_ev)
		event_free(h->poll_ev);
	if (h->ledger_ev)
		event_free(h->ledger_ev);
	quorum_free(h->quorum);
	store_agent_cursor_free(h->cursor);
	/* a last try, every state left at once (the loop is over): what is not
	 * written is read again */
	if (h->ledger != NULL)
		ledger_write(h, 0);
	region_ledger_free(h->ledger);
	json_decref(h->told);
	for (size_t i = 0; i < h->n_open; i++) {
		free(h->open[i].relay);
		free(h->open[i].model);
	}
	free(h->open);
	free(h);
}

void
hub_set_alerts(struct hub *h, struct alerts *a)
{
	if (h != NULL)
		h->alerts = a;
}
