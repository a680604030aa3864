/*
 * cmd_serve: `assay serve -c FILE`: audit every configured relay and model on
 * its interval, store every observation, and serve the status page.
 *
 * The pipeline of a run: the scheduler starts it, the engine runs it, the
 * monitor (scoring/monitor.h) scores it on its worker thread and folds it
 * into the evidence window, the timeline (scoring/timeline.h) decides what
 * the history records, storage keeps all of it in one transaction and the
 * board shows it. This file only wires them.
 *
 * Threads: the event loop (scheduler, engine, timeline, the one SQLite
 * writer, retention in small timed steps), the monitor's worker (scoring,
 * the ledger) and libmicrohttpd's thread pool, which reads only the board
 * (web/board.h). Shutdown on SIGINT/SIGTERM: stop the web server, abort
 * probes (the engine), let the monitor finish what it was given and keep
 * it, free the scheduler (passive runs point into it), close the store.
 *
 * Passive probes (config passive:, probes/scheduler.h) are runs of one
 * request at random times: they take the same path as scheduled runs, so
 * their observations are stored and folded into the ledger's evidence
 * window like any run's.
 *
 * Credential canaries (config canary:, off unless configured): each
 * scheduled run gets a fresh one (probes/canary.h), its digests stored as
 * the run starts (storage/store.h). The listener is its own HTTP server on
 * the event loop, not a route of the status site: a hit is a write to the
 * database, which only the loop's connection does (the web threads only
 * read the board), and a harvester who follows the planted URL must find
 * what looks like an API at a host of the operator's choosing
 * (canary_url:), not Assay's status page. Every request is looked up by
 * its token's or key's digest; a use is stored at once and reported with
 * the relay and model's next run (its own run, when it came in time), so it
 * reaches the ledger, the history and the board as any finding, and
 * survives a restart. The key is redacted from the run's observations and
 * wiped before the run is scored.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cli/budget.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/hub.h"
#include "cli/options.h"
#include "cli/targets.h"
#include "base/util.h"
#include "probes/canary.h"
#include "probes/catalog.h"
#include "probes/endpoint.h"
#include "probes/engine.h"
#include "probes/models_list.h"
#include "probes/scheduler.h"
#include "scoring/posture.h"
#include "scoring/baseline.h"
#include "scoring/detect.h"
#include "scoring/identify.h"
#include "scoring/listing.h"
#include "scoring/ledger.h"
#include "scoring/monitor.h"
#include "scoring/billing.h"
#include "scoring/origin.h"
#include "scoring/warning.h"
#include "scoring/timeline.h"
#include "storage/store.h"
#include "web/alerts.h"
#include "web/board.h"
#include "web/server.h"

_Static_assert(ASSESSMENT_ORIGIN_SLOTS == BOARD_ORIGINS, "a run's origin counts are the board's");

/* Retention: a step every RETENTION_IDLE_MS, or RETENTION_BUSY_MS while a
 * backlog remains; each step deletes at most RETENTION_BUDGET rows. */
#define RETENTION_IDLE_MS 10000
#define RETENTION_BUSY_MS 100
#define RETENTION_BUDGET 500
/* How often /about's database figures are refreshed. */
#define STATS_MS 60000

/* Runs scored but not yet written (the database busy, locked by another
 * writer, or the disk full) wait, in order, at most UNSAVED_MAX of them,
 * retried after UNSAVED_RETRY_MS, doubling up to UNSAVED_RETRY_MAX_MS. */
#define UNSAVED_MAX 64
/* Uses of canaries that came while the database could not be written wait
 * with the runs, at most this many (a flood beyond it is said, and lost). */
#define HITS_WAITING_MAX 256
/* Requests to the listener with no canary of ours are kept in memory, the
 * last UNCLAIMED_MAX for at most UNCLAIMED_KEEP_MS: an `assay audit
 * --canary-report` that planted its own canary here asks for them by
 * digest (probes/canary.h). */
#define UNCLAIMED_MAX 1024
#define UNCLAIMED_KEEP_MS (24LL * 3600 * 1000)
#define UNSAVED_RETRY_MS 500
#define UNSAVED_RETRY_MAX_MS 30000

struct serve {
	struct config *config;
	struct baseline_pack *pack;
	struct monitor *monitor;
	struct timeline *timeline;
	struct store *store;
	struct hub *hub; /* agents' quorum (cli/hub.h), when `quorum:` is set */
	struct board *board;
	struct store_retention retention;
	struct event *retention_ev, *stats_ev;
	int stopping;
	struct monitor_result *unsaved[UNSAVED_MAX]; /* oldest first */
	size_t n_unsaved;
	long lost; /* runs dropped, the queue full: said each time */
	int64_t retry_ms;
	struct event *retry_ev;
	struct canary_listener *canary;      /* NULL: canaries off */
	char canary_base[300];               /* what planted URLs start with */
	long canary_unknown;                 /* requests with no canary of ours */
	struct canary_request *hits_waiting; /* uses not written yet, oldest first */
	size_t n_hits_waiting;
	struct canary_request *unclaimed; /* a ring of UNCLAIMED_MAX */
	size_t n_unclaimed;               /* kept so far (the ring's next slot mod MAX) */
	struct alerts *alerts;            /* NULL: none configured */
	struct scheduler *sched;
	const char *config_path; /* read again on SIGHUP */
	double clock_scale;      /* 1, or the simulated clock's (--clock-scale) */
	/* the budgets' counts (cli/budget.h), each day's started from the
	 * database */
	struct budget *budget;
	struct engine *engine;
	/* the billing audit (scoring/billing.h): per relay with a balance: */
	struct relay_billing {
		char *relay;
		struct billing_state st;
	} * *billing;
	size_t n_billing;
	/* runs whose look at the account is done, until they are scored */
	/* early warning (scoring/warning.h), per relay and model */
	struct target_warning {
		char *relay, *model;
		struct warn_state st;
	} * *warnings;
	size_t n_warnings;
	struct looked {
		const struct audit_run *run;
		int ok;
		struct balance_sample sample;
		char why[200];
	} * looked;
	size_t n_looked;
};

/* A run's canary goes with the run (the run only borrowed it). */
static void
canary_free(struct canary *c)
{
	if (c == NULL)
		return;
	canary_wipe(c);
	free(c);
}

static void
result_free(struct monitor_result *r)
{
	struct canary *c = r->run->target.canary;
	monitor_result_free(r);
	canary_free(c);
}

/* A scheduled run starts (event loop): its canary, stored by digest first
 * so that a use during the run is known; NULL (the canary probe is not
 * sent) when canaries are off or the database would not take it. */
static struct canary *
plant_cb(const struct audit_target *t, void *arg)
{
	struct serve *s = arg;
	if (s->canary == NULL)
		return NULL;
	struct canary *c = xmalloc(sizeof *c);
	canary_make(c, s->canary_base, t->relay);
	if (store_canary_plant(s->store, t->relay, t->model, api_name(t->api), c) != 0) {
		fprintf(stderr, "assay: %s %s: no canary this run: cannot store it (%s)\n",
		        t->relay, t->model, store_last_error(s->store));
		canary_free(c);
		return NULL;
	}
	return c;
}

/* Record a use of a canary: 1 written, 0 none of ours (ignored, said
 * sparingly), -1 the database would not take it. */
static int
save_hit(struct serve *s, const struct canary_request *r)
{
	struct store_canary found;
	int rc = store_canary_find(s->store, r->token_sha256, r->key_sha256, &found);
	if (rc == 0) {
		/* a scanner, a guess, a canary forgotten (STORE_CANARY_KEEP_MS) or
		 * an audit's that reports here: no finding of ours, kept a day for
		 * that audit to ask; said at the 1st, 2nd, 4th, ... so a flood
		 * cannot fill the log */
		if (s->unclaimed == NULL)
			s->unclaimed = xcalloc(UNCLAIMED_MAX, sizeof *s->unclaimed);
		s->unclaimed[s->n_unclaimed++ % UNCLAIMED_MAX] = *r;
		long n = ++s->canary_unknown;
		if ((n & (n - 1)) == 0)
			fprintf(stderr,
			        "assay: canary listener: %ld request%s with no canary of ours "
			        "(kept a day for audits reporting here), the latest from %s\n",
			        n, n == 1 ? "" : "s", r->hit.peer);
		return 0;
	}
	if (rc < 0 || store_canary_hit(s->store, found.id, &r->hit) != 0)
		return -1;
	fprintf(stderr,
	        "assay: %s %s: a canary planted in the run of %lld ms (run %lld) was used from "
	        "%s (%s %s, User-Agent \"%s\"): reported with its next run\n",
	        found.relay, found.model, (long long)found.planted_ms, (long long)found.run_id,
	        r->hit.peer, r->hit.method, r->hit.path, r->hit.user_agent);
	/* stored: told once, now */
	alerts_harvesting(s->alerts, found.relay, found.model, r->hit.peer, r->hit.at_ms);
	return 1;
}

static void schedule_retry(struct serve *s, int64_t ms);

/* An audit asks for the uses of its canary (probes/canary.h): those kept
 * in the ring whose token or key digest is its, oldest first. */
static long
answer_canary_query(const struct canary_query *q, struct canary_hit *out, size_t max, void *arg)
{
	struct serve *s = arg;
	size_t kept = s->n_unclaimed < UNCLAIMED_MAX ? s->n_unclaimed : UNCLAIMED_MAX;
	size_t first = s->n_unclaimed - kept, n = 0;
	int64_t since = wall_ms() - UNCLAIMED_KEEP_MS;
	for (size_t i = first; i < s->n_unclaimed && n < max; i++) {
		const struct canary_request *r = &s->unclaimed[i % UNCLAIMED_MAX];
		int ours = strcmp(r->token_sha256, q->token_sha256) == 0 ||
		           (q->key_sha256[0] && strcmp(r->key_sha256, q->key_sha256) == 0);
		if (ours && r->hit.at_ms >= since)
			out[n++] = r->hit;
	}
	return (long)n;
}

/* A request reached the canary listener (event loop): recorded now, or
 * kept (in order, behind the uses already waiting) until the database
 * takes it. */
static void
canary_use_cb(const struct canary_request *r, void *arg)
{
	struct serve *s = arg;
	if (s->n_hits_waiting == 0 && save_hit(s, r) >= 0)
		return;
	if (s->n_hits_waiting == HITS_WAITING_MAX) {
		fprintf(stderr,
		        "assay: LOST a use of a canary (from %s): the database has not been "
		        "writable for %d uses waiting\n",
		        r->hit.peer, HITS_WAITING_MAX);
		return;
	}
	if (s->hits_waiting == NULL)
		s->hits_waiting = xcalloc(HITS_WAITING_MAX, sizeof *s->hits_waiting);
	s->hits_waiting[s->n_hits_waiting++] = *r;
	if (s->retry_ms == 0)
		schedule_retry(s, UNSAVED_RETRY_MS);
}

static void
usage(FILE *f)
{
	fputs("usage: assay serve -c FILE [--listen HOST:PORT] [--db PATH]\n"
	      "                   [--clock-scale X] [--clock-start YYYY-MM-DD[THH:MM:SSZ]]\n"
	      "\n"
	      "Audit every relay and model in FILE on its interval, store every observation\n"
	      "in SQLite and serve the status page (/), the leaderboard (/leaderboard/),\n"
	      "a page per relay (/relays/NAME.html), JSON (/api/v1/), badges and /metrics.\n"
	      "SIGHUP reads FILE again: relays added start, removed stop, changed start\n"
	      "again, the rest run on; a FILE that does not load changes nothing (its\n"
	      "FILE:LINE is said). SIGINT or SIGTERM stop, after the runs in flight are kept.\n"
	      "\n"
	      "For simulations: --clock-scale X runs serve's wall clock (stored times, UTC\n"
	      "days of the budgets, retention, the pages) X times as fast as the real one,\n"
	      "from --clock-start (default: now); intervals and timeouts stay real time.\n",
	      f);
}

/* ---- early warning ---- */

static struct warn_state *
warning_of(struct serve *s, const char *relay, const char *model)
{
	for (size_t i = 0; i < s->n_warnings; i++)
		if (strcmp(s->warnings[i]->relay, relay) == 0 &&
		    strcmp(s->warnings[i]->model, model) == 0)
			return &s->warnings[i]->st;
	s->warnings = xrealloc(s->warnings, (s->n_warnings + 1) * sizeof *s->warnings);
	struct target_warning *w = xcalloc(1, sizeof *w);
	w->relay = xstrdup(relay);
	w->model = xstrdup(model);
	warn_init(&w->st);
	s->warnings[s->n_warnings++] = w;
	return &w->st;
}

/* A scored run's signs folded into its target's early warning: shown on
 * the board while it holds, told when it starts and when it ends. */
static void
warn_scored(struct serve *s, const struct audit_run *run, const struct assessment *a,
            const long errors[ERR__COUNT], const struct posture *posture)
{
	struct warn_run wr = {
	    .requests = a->requests - (int)errors[ERR_NOT_SENT],
	    .ok = a->ok_requests,
	    .quota = (int)errors[ERR_QUOTA],
	    .auth = (int)errors[ERR_AUTH],
	    .ttft_ms = a->ttft_ms,
	    .listed = a->listing == LISTING_LISTED || a->listing == LISTING_UNLISTED
	                  ? a->listing_count
	                  : -1,
	    .listed_has_model = a->listing == LISTING_LISTED,
	    .cert_left_s = posture->cert_not_after != 0 ? posture->cert_left_s : INT64_MAX,
	};
	if (wr.requests < 0)
		wr.requests = 0;
	snprintf(wr.cert_sha256, sizeof wr.cert_sha256, "%s", posture->cert_sha256);
	snprintf(wr.cert_names, sizeof wr.cert_names, "%s", posture->cert_names);
	const struct config_relay *r = targets_relay(s->config, run->target.relay);
	if (r != NULL && r->price_in >= 0)
		snprintf(wr.price, sizeof wr.price, "$%g/$%g per Mtok", r->price_in, r->price_out);
	else if (r != NULL && r->price_ratio > 0)
		snprintf(wr.price, sizeof wr.price, "%g of the official price", r->price_ratio);
	char why[700];
	int change =
	    warn_update(warning_of(s, run->target.relay, run->target.model), &wr, why, sizeof why);
	board_at_risk(s->board, run->target.relay, run->target.model, why[0] ? why : NULL);
	if (change == 0)
		return;
	fprintf(stderr, "assay: %s %s: %s%s\n", run->target.relay, run->target.model,
	        change > 0 ? "at risk: " : "no longer at risk", change > 0 ? why : "");
	alerts_at_risk(s->alerts, run->target.relay, run->target.model, change > 0 ? why : NULL,
	               run->finished_ms);
}

/* ---- the billing audit's looks at the account ---- */

#define LOOK_BODY_CAP (256 * 1024)

struct look {
	struct serve *s;
	struct audit_run *run;
	struct balance_conf copy; /* the config's (a reload may free it meanwhile) */
	char *bodies[2];
	size_t lens[2];
	size_t n, done;
};

static void
look_end(struct look *l)
{
	struct serve *s = l->s;
	struct looked got = {.run = l->run};
	const char *bodies[2] = {l->bodies[0], l->bodies[1]};
	got.ok = balance_read(&l->copy, bodies, l->lens, &got.sample, got.why, sizeof got.why) == 0;
	s->looked = xrealloc(s->looked, (s->n_looked + 1) * sizeof *s->looked);
	s->looked[s->n_looked++] = got;
	for (size_t i = 0; i < 2; i++)
		free(l->bodies[i]);
	balance_conf_free(&l->copy);
	struct audit_run *run = l->run;
	free(l);
	if (s->stopping) {
		s->n_looked--; /* never scored */
		canary_free(run->target.canary);
		audit_run_free(run);
		return;
	}
	monitor_submit(s->monitor, run);
}

struct look_req {
	struct look *look;
	size_t i;
};

static void
look_done_cb(struct observation *obs, void *arg)
{
	struct look_req *q = arg;
	struct look *l = q->look;
	if (observation_ok(obs) && obs->text != NULL) {
		l->bodies[q->i] = xstrdup(obs->text);
		l->lens[q->i] = strlen(obs->text);
	}
	observation_release(obs);
	free(obs);
	free(q);
	if (++l->done == l->n)
		look_end(l);
}

/* After run, a look at its relay's account (r's balance:), with the run's
 * key and headers: 1 when started (the run is submitted when it ends). */
static int
look_start(struct serve *s, struct audit_run *run, const struct config_relay *r)
{
	char *urls[2];
	size_t n = balance_urls(&r->balance, run->target.base_url, wall_ms(), urls);
	if (n == 0)
		return 0;
	struct look *l = xcalloc(1, sizeof *l);
	l->s = s;
	l->run = run;
	l->n = n;
	l->copy = (struct balance_conf){.kind = r->balance.kind,
	                                .url = r->balance.url ? xstrdup(r->balance.url) : NULL,
	                                .path = r->balance.path ? xstrdup(r->balance.path) : NULL,
	                                .scale = r->balance.scale};
	/* a pool of its own: the relay's failures (and their circuit breaker)
	 * must not keep the account from being looked at, a dead relay with
	 * credit left least of all */
	char pool[160];
	snprintf(pool, sizeof pool, "billing:%s", run->target.relay);
	for (size_t i = 0; i < n; i++) {
		struct engine_request req = {
		    .pool = pool,
		    .api = run->target.api,
		    .url = urls[i],
		    .api_key = run->target.api_key,
		    .auth = run->target.auth,
		    .headers = run->target.headers,
		    .n_headers = run->target.n_headers,
		    .listing = ENGINE_GET_RAW,
		    .timeout_us = 20 * 1000000LL,
		    .body_cap = LOOK_BODY_CAP,
		};
		struct look_req *q = xcalloc(1, sizeof *q);
		q->look = l;
		q->i = i;
		engine_submit(s->engine, &req, look_done_cb, q);
		free(urls[i]);
	}
	return 1;
}

/* The billing state of relay. */
static struct billing_state *
billing_of(struct serve *s, const char *relay)
{
	for (size_t i = 0; i < s->n_billing; i++)
		if (strcmp(s->billing[i]->relay, relay) == 0)
			return &s->billing[i]->st;
	s->billing = xrealloc(s->billing, (s->n_billing + 1) * sizeof *s->billing);
	struct relay_billing *b = xcalloc(1, sizeof *b);
	b->relay = xstrdup(relay);
	billing_init(&b->st);
	s->billing[s->n_billing++] = b;
	return &b->st;
}

/* A scored run of a relay with a balance: its worth added, and its look
 * judged, shown and, when it says something new, told. */
static void
billing_scored(struct serve *s, const struct audit_run *run, const struct assessment *a)
{
	size_t i = 0;
	while (i < s->n_looked && s->looked[i].run != run)
		i++;
	if (i == s->n_looked)
		return;
	struct looked got = s->looked[i];
	s->looked[i] = s->looked[--s->n_looked];
	const struct config_relay *r = targets_relay(s->config, run->target.relay);
	struct billing_state *b = billing_of(s, run->target.relay);
	double mine = -1;
	if (r != NULL && r->price_in >= 0 && a->prompt_tokens >= 0 && a->completion_tokens >= 0)
		mine = ((double)a->prompt_tokens * r->price_in +
		        (double)a->completion_tokens * r->price_out) /
		       1e6;
	else if (r != NULL && r->price_ratio > 0 && a->cost_usd >= 0)
		mine = a->cost_usd * r->price_ratio;
	billing_add_run(b, mine, a->cost_usd, a->tokens_spent);
	char text[600];
	if (!got.ok) {
		snprintf(text, sizeof text, "the balance could not be read: %s", got.why);
		board_billing(s->board, run->target.relay, text, 0);
		return;
	}
	enum billing_event e = billing_look(b, &got.sample, run->finished_ms,
	                                    r ? (int)r->n_models : 1, text, sizeof text);
	board_billing(s->board, run->target.relay, text, b->over || b->drained);
	if (got.sample.balance_usd >= 0)
		alerts_set_credit(s->alerts, run->target.relay, got.sample.balance_usd);
	if (e == BILLING_NONE)
		return;
	char title[300];
	char *relay = utf8_sanitize(run->target.relay, strlen(run->target.relay), 100);
	snprintf(title, sizeof title, "%s: %s", relay,
	         e == BILLING_DRAIN        ? "balance drains without use"
	         : e == BILLING_OVERCHARGE ? "over-charges"
	                                   : "charges match its price again");
	fprintf(stderr, "assay: %s: %s\n", title, text);
	alerts_billing(s->alerts, run->target.relay, title, text, run->finished_ms);
	free(relay);
}

/* A run ended (event loop): the monitor's worker scores it. */
static void
run_cb(struct audit_run *run, void *arg)
{
	struct serve *s = arg;
	struct canary *c = run->target.canary;
	if (s->stopping) {
		audit_run_free(run); /* aborted by shutdown: not an observation of the relay */
		canary_free(c);
		return;
	}
	if (c != NULL) {
		/* whatever the relay echoed of the key or token stays out of the
		 * assessment, the database and the log; the key's work is done */
		audit_run_redact_canary(run, c);
		canary_wipe(c);
		/* the uses not reported yet: this run's, and earlier runs' */
		if (store_canary_pending(s->store, run->target.relay, run->target.model, c) != 0)
			fprintf(stderr,
			        "assay: %s %s: cannot read canary uses (%s): they go with a later "
			        "run\n",
			        run->target.relay, run->target.model, store_last_error(s->store));
	}
	const struct config_relay *r = targets_relay(s->config, run->target.relay);
	if (r != NULL && r->balance.kind != BALANCE_NONE && look_start(s, run, r))
		return; /* submitted when the look ends */
	monitor_submit(s->monitor, run);
}

/* Write r: the timeline decides its history, storage keeps it, the board
 * shows its segment and incidents. 0, or -1 with nothing kept (the timeline
 * starts again from what storage holds). */
static int
save_run(struct serve *s, struct monitor_result *r)
{
	const struct audit_run *run = r->run;
	const struct assessment *a = &r->a;
	json_t *j = assessment_to_json(a);
	char *findings = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
	struct timeline_change ch;
	timeline_apply(s->timeline, run, a, findings ? findings : "[]", &ch);
	struct store_ids ids;
	int saved = store_save_run(s->store, run, a, &ch, &r->entry, &ids) >= 0;
	if (saved) {
		timeline_stored(s->timeline, &ch, ids.segment_id, ids.incident_ids);
		struct timeline_segment seg = ch.segment;
		seg.id = ids.segment_id;
		board_segment(s->board, &seg);
		for (size_t i = 0; i < ch.n_incidents; i++) {
			struct timeline_incident inc = ch.incidents[i];
			inc.id = ids.incident_ids[i];
			board_incident(s->board, &inc);
		}
		/* stored: its events are told once, now (web/alerts.h) */
		alerts_run(s->alerts, run->target.relay, run->target.model,
		           verdict_name(a->verdict), a->reason, &ch, run->finished_ms);
	} else {
		/* storage is behind what the timeline decided: start again from
		 * what it holds */
		timeline_free(s->timeline);
		s->timeline = timeline_new();
		store_restore(s->store, s->timeline, NULL, wall_ms());
	}
	free(findings);
	json_decref(j);
	return saved ? 0 : -1;
}

/* The next try at writing the waiting runs, in ms, said on stderr. */
static void
schedule_retry(struct serve *s, int64_t ms)
{
	s->retry_ms = ms;
	char hits[64] = "";
	if (s->n_hits_waiting > 0)
		snprintf(hits, sizeof hits, " and %zu use%s of canaries", s->n_hits_waiting,
		         s->n_hits_waiting == 1 ? "" : "s");
	fprintf(stderr,
	        "assay: cannot write the database (%s): %zu run%s%s waiting, retrying in %lld "
	        "ms\n",
	        store_last_error(s->store), s->n_unsaved, s->n_unsaved == 1 ? "" : "s", hits,
	        (long long)s->retry_ms);
	struct timeval tv = {(time_t)(s->retry_ms / 1000),
	                     (suseconds_t)(s->retry_ms % 1000) * 1000};
	evtimer_add(s->retry_ev, &tv);
}

/* Write the waiting runs in order, as far as the database lets; 0 when
 * none is left. */
static int
flush_unsaved(struct serve *s)
{
	/* the uses first: a run written after them reports them */
	size_t hits = 0;
	while (hits < s->n_hits_waiting && save_hit(s, &s->hits_waiting[hits]) >= 0)
		hits++;
	memmove(s->hits_waiting, s->hits_waiting + hits,
	        (s->n_hits_waiting - hits) * sizeof *s->hits_waiting);
	s->n_hits_waiting -= hits;
	if (s->n_hits_waiting > 0)
		return -1;
	size_t done = 0;
	while (done < s->n_unsaved && save_run(s, s->unsaved[done]) == 0) {
		result_free(s->unsaved[done]);
		done++;
	}
	memmove(s->unsaved, s->unsaved + done, (s->n_unsaved - done) * sizeof *s->unsaved);
	s->n_unsaved -= done;
	if ((done > 0 || hits > 0) && s->n_unsaved == 0)
		fprintf(stderr, "assay: database written again: every waiting run%s is saved\n",
		        hits > 0 ? " and use of a canary" : "");
	return s->n_unsaved == 0 ? 0 : -1;
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct serve *s = arg;
	if (flush_unsaved(s) == 0) {
		s->retry_ms = 0;
		return;
	}
	schedule_retry(s, s->retry_ms * 2 > UNSAVED_RETRY_MAX_MS ? UNSAVED_RETRY_MAX_MS
	                                                         : s->retry_ms * 2);
}

/* Keep r to write later (the queue full: the oldest goes, loudly). */
static void
keep_unsaved(struct serve *s, struct monitor_result *r)
{
	if (s->n_unsaved == UNSAVED_MAX) {
		struct monitor_result *old = s->unsaved[0];
		s->lost++;
		fprintf(
		    stderr,
		    "assay: LOST a run of %s %s: the database has not been writable for %d runs "
		    "(%ld lost so far)\n",
		    old->run->target.relay, old->run->target.model, UNSAVED_MAX, s->lost);
		result_free(old);
		memmove(s->unsaved, s->unsaved + 1, (UNSAVED_MAX - 1) * sizeof *s->unsaved);
		s->n_unsaved--;
	}
	s->unsaved[s->n_unsaved++] = r;
	if (s->retry_ms == 0)
		schedule_retry(s, UNSAVED_RETRY_MS);
}

/* A day's spend (a relay's, or the board's) on the pages, beside its caps. */
static void
spend_shown_cb(const struct budget_day *d, void *arg)
{
	struct serve *s = arg;
	const struct config_budget none = {0}, *cap = &s->config->budget;
	if (d->relay != NULL) {
		const struct config_relay *r = targets_relay(s->config, d->relay);
		cap = r ? &r->budget : &none;
	}
	struct board_spend b = {.day = d->day,
	                        .tokens = d->tokens,
	                        .usd = d->usd,
	                        .cap_tokens = cap->tokens,
	                        .cap_usd = cap->usd};
	board_spend(s->board, d->relay, &b);
}

/* Where a day's count starts: what the database holds of it. */
static int
spend_day_start(const char *relay, int64_t since_ms, long *tokens, double *usd, void *arg)
{
	struct serve *s = arg;
	if (store_spend_since(s->store, relay, since_ms, tokens, usd) == 0)
		return 0;
	fprintf(stderr, "assay: cannot read today's spend (%s): counting from 0\n",
	        store_last_error(s->store));
	return -1;
}

/* The scheduler asks before a run or passive request of t that may spend
 * max_tokens: within the relay's and the overall budget, it goes; else it
 * is held back, shown on the board with why, and said once a day. */
static int
budget_gate_cb(const struct audit_target *t, long max_tokens, void *arg)
{
	struct serve *s = arg;
	const struct config_relay *r = targets_relay(s->config, t->relay);
	const struct config_budget none = {0};
	const struct config_budget *mine = r ? &r->budget : &none;
	const struct baseline_model *m = baseline_find(s->pack, t->model);
	double price = 0;
	if (m != NULL)
		price = m->price_in > m->price_out ? m->price_in : m->price_out;
	double usd = price > 0 ? (double)max_tokens * price / 1e6 : 0;
	int was_held;
	struct budget_held held;
	if (budget_gate(s->budget, t->relay, t->model, mine, &s->config->budget, max_tokens, usd,
	                &was_held, &held)) {
		if (was_held) /* it runs again: the board stops saying it is held */
			board_not_running(s->board, t->relay, t->model, NULL);
		return 1;
	}
	board_not_running(s->board, t->relay, t->model, held.why);
	if (held.first_today)
		fprintf(stderr, "assay: %s %s: held back: %s\n", t->relay, t->model, held.why);
	if (held.tell)
		alerts_budget(s->alerts, t->relay, t->model, held.why, wall_ms());
	return 0;
}

/* A run was scored (event loop): storage keeps it now, or as soon as the
 * database lets (runs kept in order); the board shows it at once. */
static void
scored_cb(struct monitor_result *r, void *arg)
{
	struct serve *s = arg;
	const struct audit_run *run = r->run;
	const struct assessment *a = &r->a;
	billing_scored(s, run, a);
	/* the budgets count what was billed, kept or not, on the day the run
	 * started */
	budget_scored(s->budget, run->target.relay, run->target.model, run->started_ms,
	              a->tokens_spent, a->cost_usd);
	/* written before it is shown (after the runs that wait, in order): what
	 * the board shows survives a kill -9, unless the database refused it,
	 * which is said */
	/* behind runs or canary uses waiting, it waits too: written in order */
	int keep = s->n_unsaved > 0 || s->n_hits_waiting > 0 || save_run(s, r) != 0;
	json_t *j = assessment_to_json(a);
	long errors[ERR__COUNT];
	store_count_errors(run, errors);
	/* the relay's security posture, from this run's responses (no plain
	 * HTTP probe in serve: the audit's alone) */
	struct posture posture;
	posture_assess(run, 0, NULL, &posture);
	json_t *security = posture_json(&posture);
	struct board_run br = {
	    .relay = run->target.relay,
	    .model = run->target.model,
	    .api = api_name(run->target.api),
	    .verdict = verdict_name(a->verdict),
	    .reason = a->reason,
	    .findings = json_object_get(j, "findings"),
	    .at_ms = run->started_ms,
	    .runs = 1,
	    .requests = a->requests,
	    .ok_requests = a->ok_requests,
	    .tokens_spent = a->tokens_spent,
	    .ttft_ms = a->ttft_ms,
	    .tokens_per_s = a->tokens_per_s,
	    .errors = errors,
	    .listed = a->listing != LISTING_NOT_ASKED
	                  ? listing_state_name((enum listing_state)a->listing)
	                  : NULL,
	    .listed_note = a->listing_note,
	    .listed_models = a->listing_count,
	    .security = security,
	    .origin = a->origin_note != NULL ? a->origin_counts : NULL,
	    .channel = run->target.channel && strcmp(run->target.channel, "unclaimed") != 0
	                   ? run->target.channel
	                   : NULL,
	};
	board_record(s->board, &br);
	warn_scored(s, run, a, errors, &posture);
	json_decref(security);
	json_decref(j);
	fprintf(stderr, "assay: %s %s: %s (%d/%d ok, %ld tokens)\n", run->target.relay,
	        run->target.model, verdict_name(a->verdict), a->ok_requests, a->requests,
	        a->tokens_spent);
	char *hint = endpoint_run_hint(run);
	if (hint != NULL)
		fprintf(stderr, "assay: %s %s: hint: %s\n", run->target.relay, run->target.model,
		        hint);
	free(hint);
	if (keep)
		keep_unsaved(s, r);
	else
		result_free(r);
}

static void
retention_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct serve *s = arg;
	long n = store_retention_step(s->store, &s->retention, wall_ms(), RETENTION_BUDGET);
	/* every RETENTION_IDLE_MS of serve's clock, which a simulation speeds
	 * up (but not beyond a step every RETENTION_BUSY_MS) */
	int64_t idle = (int64_t)(RETENTION_IDLE_MS / s->clock_scale);
	int64_t next = n > 0 || idle < RETENTION_BUSY_MS ? RETENTION_BUSY_MS : idle;
	struct timeval tv = {(time_t)(next / 1000), (suseconds_t)(next % 1000) * 1000};
	evtimer_add(s->retention_ev, &tv);
}

static void
stats_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct serve *s = arg;
	struct store_stats st;
	if (store_stats(s->store, &st) == 0)
		board_set_about(s->board, &st, &s->retention);
	/* canaries are remembered for a bounded time: older ones are unknown */
	if (s->canary != NULL &&
	    store_canaries_expire(s->store, wall_ms() - STORE_CANARY_KEEP_MS) < 0)
		fprintf(stderr, "assay: cannot forget old canaries (%s): tried again later\n",
		        store_last_error(s->store));
	struct timeval tv = {STATS_MS / 1000, 0};
	evtimer_add(s->stats_ev, &tv);
}

/* A passive target's seed: the configured one (or one drawn now) mixed
 * with the relay's and model's names (FNV-1a), so each target has its own
 * arrival times. */
static uint64_t
passive_seed(const struct config_passive *p, const char *relay, const char *model)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	if (p->has_seed)
		h ^= p->seed;
	else if (getrandom(&h, sizeof h, 0) != (ssize_t)sizeof h)
		h ^= (uint64_t)now_us();
	for (const char *c = relay; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (const char *c = model; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
	return h;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct event_base *base = arg;
	fprintf(stderr, "assay: signal %d, stopping\n", (int)sig);
	event_base_loopbreak(base);
}

/* Start auditing relay r's model m (of config c) on its interval, the
 * first run after first_delay_us; its passive probes too, if any. */
static void
target_start(struct serve *s, const struct config *c, const struct config_relay *r, size_t m,
             int64_t first_delay_us)
{
	struct audit_target t;
	char why[320];
	if (target_of_config(s->pack, r, m, &t, why, sizeof why) != 0)
		fprintf(stderr, "assay serve: relay %s: %s; auditing it as a model no pack knows\n",
		        r->name, why);
	board_declare(s->board, r->name, r->models[m], api_name(r->api), r->interval_us / 1000);
	scheduler_add(s->sched, &t, r->interval_us, first_delay_us, TIER_CHEAP | TIER_MEDIUM,
	              c->timeout_us);
	if (r->passive.per_hour > 0) {
		struct passive_options po = {
		    .per_hour = r->passive.per_hour,
		    .seed = passive_seed(&r->passive, r->name, r->models[m]),
		};
		t.traffic = r->passive.profile;
		scheduler_add_passive(s->sched, &t, &po, c->timeout_us);
	}
}

/* A relay the config keeps from running: said, and shown (each model it
 * names, or none). */
static void
say_not_running(struct serve *s, const struct config_relay *r)
{
	fprintf(stderr, "assay serve: relay %s is not running: %s\n", r->name, r->error);
	for (size_t m = 0; m < r->n_models; m++)
		board_not_running(s->board, r->name, r->models[m], r->error);
	if (r->n_models == 0)
		board_not_running(s->board, r->name, "(no model read)", r->error);
}

/* What the running serve keeps until a restart, said when a reload asks
 * for another. */
static void
say_kept(const char *what, const char *running, const char *asked)
{
	if ((running == NULL) != (asked == NULL) ||
	    (running != NULL && strcmp(running, asked) != 0))
		fprintf(stderr, "assay serve: reload: %s changes on restart only (kept: %s)\n",
		        what, running ? running : "none");
}

/* A reload's walk (cli/targets.h), on serve and the config n it loads. */
struct reload_arg {
	struct serve *s;
	const struct config *n;
};

static void
reload_stop_cb(const char *relay, const char *model, void *arg)
{
	struct reload_arg *ra = arg;
	scheduler_remove(ra->s->sched, relay, model);
}

static void
reload_start_cb(const struct config_relay *nr, size_t m, size_t k, void *arg)
{
	struct reload_arg *ra = arg;
	target_start(ra->s, ra->n, nr, m, (int64_t)(k % 50) * 200000);
}

static void
reload_not_running_cb(const struct config_relay *nr, void *arg)
{
	struct reload_arg *ra = arg;
	say_not_running(ra->s, nr);
}

/*
 * SIGHUP: read the config file again. A file that does not load changes
 * nothing (its FILE:LINE said); otherwise relays and models added start,
 * those removed stop, those whose entry (or a default or secret it takes)
 * changed start again, the rest run on untouched; history is the
 * database's and stays. Listening addresses, the database and the title
 * change on restart only; the alerts take the new sinks.
 */
static void
reload_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct serve *s = arg;
	char err[1024];
	struct config *n = config_load(s->config_path, err, sizeof err);
	if (n == NULL) {
		fprintf(stderr, "assay serve: reload refused, the running config stays: %s\n", err);
		return;
	}
	struct config *o = s->config;
	say_kept("listen", o->listen, n->listen);
	say_kept("database", o->database, n->database);
	say_kept("database_read", o->database_read, n->database_read);
	say_kept("title", o->title, n->title);
	say_kept("the canary listener", o->canary_listen, n->canary_listen);
	say_kept("ca_file", o->ca_file, n->ca_file);
	struct reload_arg ra = {s, n};
	struct targets_reload w = {.stop = reload_stop_cb,
	                           .start = reload_start_cb,
	                           .not_running = reload_not_running_cb,
	                           .arg = &ra};
	targets_reload(o, n, &w);
	if (n->alerts != NULL || o->alerts != NULL) {
		/* what was queued goes out first, for up to 2 s */
		alerts_free(s->alerts, 2000);
		s->alerts = n->alerts ? alerts_new(n->alerts, o->title) : NULL;
		hub_set_alerts(s->hub, s->alerts);
		if (n->alerts != NULL && s->alerts == NULL)
			fprintf(stderr, "assay serve: reload: cannot start the alerts' thread: no "
			                "alerts until a restart\n");
	}
	s->config = n;
	config_free(o);
	fprintf(stderr,
	        "assay serve: reloaded %s: %ld relay-models kept, %ld added, %ld changed, %ld "
	        "removed\n",
	        s->config_path, w.kept, w.added, w.changed, w.removed);
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC) in Unix milliseconds, or -1:
 * libc's strptime() and timegm(); a day the month lacks (02-31), which
 * strptime() takes and timegm() would carry into March, is refused by
 * reading the date back. */
static int64_t
serve_clock_start(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == 'T')
		end = strptime(end, "T%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0' || tm.tm_year < 70)
		return -1;
	struct tm want = tm;
	time_t t = timegm(&tm);
	struct tm back;
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_mday != want.tm_mday ||
	    back.tm_mon != want.tm_mon || back.tm_year != want.tm_year ||
	    back.tm_hour != want.tm_hour || back.tm_min != want.tm_min)
		return -1;
	return (int64_t)t * 1000;
}

int
cmd_serve(int argc, char **argv)
{
	const char *config_path = NULL, *listen = NULL, *db = NULL;
	const char *clock_scale = NULL, *clock_start = NULL;
	int first;
	const struct cli_option opts[] = {
	    {"config", 'c', &config_path, NULL},
	    {"listen", 0, &listen, NULL},
	    {"db", 0, &db, NULL},
	    {"clock-scale", 0, &clock_scale, NULL},
	    {"clock-start", 0, &clock_start, NULL},
	    {NULL, 0, NULL, NULL},
	};
	int status = cli_parse_options("serve", argc, argv, opts, usage, &first);
	if (status >= 0)
		return status;
	if (first < argc) {
		fprintf(stderr, "assay serve: unexpected argument '%s'\n", argv[first]);
		return 2;
	}
	if (config_path == NULL) {
		fputs("assay serve: -c FILE is required (see assay serve --help)\n", stderr);
		return 2;
	}
	double scale = 1;
	int64_t start_ms = -1;
	if (clock_scale != NULL && cli_number(clock_scale, 0, 1e7, &scale) != 0) {
		fprintf(stderr, "assay serve: --clock-scale '%s' is a number above 0\n",
		        clock_scale);
		return 2;
	}
	if (clock_start != NULL && (start_ms = serve_clock_start(clock_start)) < 0) {
		fprintf(stderr,
		        "assay serve: --clock-start '%s' is a UTC date, YYYY-MM-DD or "
		        "YYYY-MM-DDTHH:MM:SSZ\n",
		        clock_start);
		return 2;
	}
	if (clock_scale != NULL || clock_start != NULL) {
		/* before any thread: every stamp serve makes reads this clock */
		wall_clock_simulate(start_ms, scale);
		fprintf(stderr, "assay serve: simulated clock: %g times real time from %lld ms\n",
		        scale, (long long)wall_ms());
	}
	char err[1024];
	struct serve s = {.clock_scale = scale};
	status = 2;
	struct catalog *cat = NULL;
	struct event_base *base = NULL;
	struct engine *engine = NULL;
	struct scheduler *sched = NULL;
	struct web_server *web = NULL;
	struct event *sigint = NULL, *sigterm = NULL, *sighup = NULL;
	char canary_line[700] = "";

	s.pack = baseline_load_default(err, sizeof err);
	if (s.pack == NULL)
		goto fail;
	s.config = config_load(config_path, err, sizeof err);
	if (s.config == NULL)
		goto fail;
	char host[256];
	int port;
	const char *listen_spec = listen ? listen : s.config->listen;
	if (web_parse_listen(listen_spec, host, sizeof host, &port) != 0) {
		snprintf(err, sizeof err, "malformed listen address '%s' (expected HOST:PORT)",
		         listen_spec);
		goto fail;
	}
	cat = scorer_catalog_default(err, sizeof err);
	if (cat == NULL)
		goto fail;
	/* database_read is a replica of the config's database, not of --db's */
	struct store_options so = {.password_env = s.config->database_password_env,
	                           .read_address = db == NULL || strcmp(db, s.config->database) == 0
	                                               ? s.config->database_read
	                                               : NULL,
	                           .read_password_env = s.config->database_read_password_env};
	/* the hub's quorum counts runs of the last three intervals: a replica
	 * read must be well inside one */
	if (s.config->quorum_of > 0 && s.config->interval_us / 2000 < STORE_REPLICA_MAX_LAG_MS)
		so.read_max_lag_ms = s.config->interval_us / 2000;
	s.store = store_open_with(db ? db : s.config->database, &so, err, sizeof err);
	if (s.store == NULL)
		goto fail;
	s.board = board_new(s.config->title);
	if (store_set_title(s.store, s.config->title) != 0) /* for `assay export --db` */
		fprintf(stderr, "assay serve: cannot store the title: %s\n",
		        store_last_error(s.store));
	store_retention_default(&s.retention);
	if (board_load(s.board, s.store, err, sizeof err) != 0)
		goto fail;

	/* the monitor's worker hands results back to the loop */
	if (evthread_use_pthreads() != 0)
		fatal(70, "cannot make libevent thread-safe");
	base = event_base_new();
	if (base == NULL)
		fatal(70, "cannot set up the event loop");
	/* a hub judges each relay with two ledgers, its own runs' and its
	 * agents' (cli/hub.c): each spends half of the budgets */
	struct monitor_config mc = {.pack = s.pack,
	                            .time_scale = s.config->time_scale,
	                            .budget_share =
	                                s.config->quorum_need > 0 ? HUB_BUDGET_SHARE : 1};
	s.monitor = monitor_new(base, &mc, scored_cb, &s);
	if (s.monitor == NULL)
		fatal(70, "cannot start the scoring thread");
	s.timeline = timeline_new();
	/* the window and the history pick up where the last run left them */
	if (store_restore(s.store, s.timeline, monitor_ledger(s.monitor), wall_ms()) != 0) {
		snprintf(err, sizeof err, "cannot read the evidence window back from the database");
		goto fail;
	}
	struct engine_options eo = {.ca_file = s.config->ca_file};
	engine = engine_new(base, &eo);
	s.engine = engine;
	if (base == NULL || engine == NULL)
		fatal(70, "cannot set up the event loop or libcurl");
	if (s.config->canary_listen != NULL) {
		char chost[256], bound[300];
		int cport;
		if (web_parse_listen(s.config->canary_listen, chost, sizeof chost, &cport) != 0 ||
		    (s.canary = canary_listen(base, chost, cport, bound, sizeof bound)) == NULL) {
			snprintf(err, sizeof err, "cannot listen on %s for canaries",
			         s.config->canary_listen);
			goto fail;
		}
		snprintf(s.canary_base, sizeof s.canary_base, "%s",
		         s.config->canary_url ? s.config->canary_url : bound);
		canary_listener_on_request(s.canary, canary_use_cb, &s);
		canary_listener_on_query(s.canary, answer_canary_query, &s);
		snprintf(canary_line, sizeof canary_line, "canary listener %s (planted as %s)\n",
		         bound, s.canary_base);
	}
	sched = scheduler_new(base, engine, cat, run_cb, &s);
	scheduler_set_canary(sched, plant_cb, &s);
	struct budget_hooks bh = {.day_start = spend_day_start, .shown = spend_shown_cb, .arg = &s};
	s.budget = budget_new(&bh);
	scheduler_set_gate(sched, budget_gate_cb, &s);
	s.sched = sched;
	s.config_path = config_path;
	size_t k = 0;
	for (size_t i = 0; i < s.config->n_relays; i++) {
		const struct config_relay *r = &s.config->relays[i];
		if (r->error != NULL) {
			say_not_running(&s, r);
			continue;
		}
		for (size_t m = 0; m < r->n_models; m++, k++)
			/* stagger first runs by 200 ms each */
			target_start(&s, s.config, r, m, (int64_t)(k % 50) * 200000);
	}
	/* today's spend on the pages from the start (the database's) */
	for (size_t i = 0; i < s.config->n_relays; i++)
		if (s.config->relays[i].error == NULL)
			(void)budget_today(s.budget, s.config->relays[i].name);
	(void)budget_today(s.budget, NULL);
	if (s.config->alerts != NULL &&
	    (s.alerts = alerts_new(s.config->alerts, s.config->title)) == NULL) {
		snprintf(err, sizeof err, "cannot start the alerts' thread");
		goto fail;
	}
	if (s.config->quorum_need > 0 &&
	    (s.hub = hub_new(base, s.store, s.board, s.config->quorum_need, s.config->quorum_of,
	                     s.config->interval_us / 1000)) == NULL) {
		snprintf(err, sizeof err, "cannot start the hub of the agents");
		goto fail;
	}
	hub_set_alerts(s.hub, s.alerts);
	web = web_start(s.board, host, port, err, sizeof err);
	if (web == NULL)
		goto fail;
	/* a stop asked for as soon as serve says it serves is a clean stop:
	 * the handlers are in before the line (the first retention sweep
	 * below can take a while on a big database) */
	signal(SIGPIPE, SIG_IGN);
	sigint = evsignal_new(base, SIGINT, signal_cb, base);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	sighup = evsignal_new(base, SIGHUP, reload_cb, &s);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sighup, NULL);
	printf("serving http://%s%s%s:%d/\n", strchr(host, ':') ? "[" : "", host,
	       strchr(host, ':') ? "]" : "", web_port(web));
	fputs(canary_line, stdout);
	fflush(stdout);

	s.retry_ev = evtimer_new(base, retry_cb, &s);
	s.retention_ev = evtimer_new(base, retention_cb, &s);
	s.stats_ev = evtimer_new(base, stats_cb, &s);
	retention_cb(-1, 0, &s);
	stats_cb(-1, 0, &s);
	event_base_dispatch(base);
	status = 0;
	goto out;
fail:
	fprintf(stderr, "assay serve: %s\n", err);
out:
	s.stopping = 1;
	hub_free(s.hub);
	web_stop(web);
	engine_free(engine);
	/* what the worker was given is scored and kept before the store closes;
	 * passive runs point into the scheduler's probes, so it goes after */
	monitor_free(s.monitor);
	/* a last try for the runs the database would not take, then said */
	if ((s.n_unsaved > 0 || s.n_hits_waiting > 0) && flush_unsaved(&s) != 0) {
		if (s.n_hits_waiting > 0)
			fprintf(stderr,
			        "assay: LOST %zu use%s of canaries: the database would not take "
			        "them (%s)\n",
			        s.n_hits_waiting, s.n_hits_waiting == 1 ? "" : "s",
			        store_last_error(s.store));
		if (s.n_unsaved > 0)
			fprintf(stderr,
			        "assay: LOST %zu run%s: the database would not take them (%s)\n",
			        s.n_unsaved, s.n_unsaved == 1 ? "" : "s",
			        store_last_error(s.store));
		s.n_hits_waiting = 0;
		for (size_t i = 0; i < s.n_unsaved; i++)
			result_free(s.unsaved[i]);
		s.n_unsaved = 0;
	}
	/* what is queued for the sinks gets 10 s more */
	alerts_free(s.alerts, 10000);
	if (s.retry_ev)
		event_free(s.retry_ev);
	free(s.hits_waiting);
	free(s.unclaimed);
	budget_free(s.budget);
	for (size_t i = 0; i < s.n_billing; i++) {
		free(s.billing[i]->relay);
		free(s.billing[i]);
	}
	free(s.billing);
	free(s.looked);
	for (size_t i = 0; i < s.n_warnings; i++) {
		free(s.warnings[i]->relay);
		free(s.warnings[i]->model);
		free(s.warnings[i]);
	}
	free(s.warnings);
	scheduler_free(sched);
	canary_listener_free(s.canary);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (sighup)
		event_free(sighup);
	if (s.retention_ev)
		event_free(s.retention_ev);
	if (s.stats_ev)
		event_free(s.stats_ev);
	if (base)
		event_base_free(base);
	timeline_free(s.timeline);
	board_free(s.board);
	store_close(s.store);
	catalog_free(cat);
	config_free(s.config);
	baseline_free(s.pack);
	return status;
}
