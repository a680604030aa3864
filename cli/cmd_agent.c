/*
 * cmd_agent: `assay agent --region REGION -c FILE`, a probe agent.
 *
 * It audits the relays of FILE on their intervals, as serve does, scores
 * each run (its own window, in memory) and writes the run, its
 * observations and what the hub's ledger needs of its findings (the run's
 * own e-values per class, before the agent's window: the monitor's
 * ledger_entry) to the shared store under REGION (storage/agents.c). It
 * serves no pages, keeps no ledger or history of its own and reads nothing
 * back: the hub (`assay serve` on the same database) does that for every
 * region. Its database role may only insert rows of its own region.
 *
 * A run the database does not take waits in a queue, in order, and is
 * retried with a doubling delay (at most 30 s), said on stderr each time;
 * when the queue is full the oldest is dropped and that is said too
 * ("LOST"). A stop (SIGINT, SIGTERM) tries the queue a last time and says
 * what it could not write.
 *
 * Canaries, passive probes, budgets and alerts are the hub's business: an
 * agent ignores them in FILE.
 */
#include "cli/cmd_agent.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/config.h"
#include "cli/options.h"
#include "probes/catalog.h"
#include "probes/endpoint.h"
#include "probes/engine.h"
#include "probes/scheduler.h"
#include "scoring/baseline.h"
#include "scoring/detect.h"
#include "scoring/identify.h"
#include "scoring/monitor.h"
#include "scoring/origin.h"
#include "storage/store.h"

#define AGENT_UNSAVED_MAX 256
#define AGENT_RETRY_MS 500
#define AGENT_RETRY_MAX_MS 30000

struct agent {
	const char *region;
	struct config *config;
	struct baseline_pack *pack;
	struct store *store;
	struct monitor *monitor;
	struct event *retry_ev;
	int64_t retry_ms;
	struct monitor_result *unsaved[AGENT_UNSAVED_MAX];
	size_t n_unsaved;
	long lost;
	int stopping;
};

static void
usage(FILE *f)
{
	fputs("usage: assay agent --region REGION -c FILE [--db ADDRESS]\n"
	      "       assay agent --region REGION --add-role ROLE -c HUB_FILE [--db ADDRESS]\n"
	      "\n"
	      "Audit every relay and model in FILE on its interval from this machine and\n"
	      "write each run and its observations to the shared database (FILE's\n"
	      "database: postgres://ROLE@HOST/DB, the password from database_password_env)\n"
	      "under REGION. Serves no pages: `assay serve` on the same database is the hub.\n"
	      "The database role may insert only REGION's rows (the hub grants it).\n"
	      "SIGINT or SIGTERM stop, after the runs waiting are tried once more.\n"
	      "\n"
	      "--add-role ROLE, run by the hub's administrator against the hub's database,\n"
	      "lets database role ROLE act as REGION's agent (PostgreSQL: creates the role if\n"
	      "missing, with no password: set one yourself) and exits.\n",
	      f);
}

/* 0 when the waiting runs are all written (in order), else -1. */
static int
flush_unsaved(struct agent *ag)
{
	size_t done = 0;
	while (done < ag->n_unsaved &&
	       store_agent_save_run_with(ag->store, ag->region, ag->unsaved[done]->run,
	                                 &ag->unsaved[done]->a, &ag->unsaved[done]->entry) >= 0) {
		monitor_result_free(ag->unsaved[done]);
		done++;
	}
	memmove(ag->unsaved, ag->unsaved + done, (ag->n_unsaved - done) * sizeof *ag->unsaved);
	ag->n_unsaved -= done;
	if (done > 0 && ag->n_unsaved == 0)
		fprintf(stderr,
		        "assay agent %s: database written again: every waiting run is saved\n",
		        ag->region);
	return ag->n_unsaved == 0 ? 0 : -1;
}

static void
schedule_retry(struct agent *ag, int64_t ms)
{
	ag->retry_ms = ms;
	fprintf(stderr,
	        "assay agent %s: cannot write the database (%s): %zu run%s waiting, retrying in "
	        "%lld ms\n",
	        ag->region, store_last_error(ag->store), ag->n_unsaved,
	        ag->n_unsaved == 1 ? "" : "s", (long long)ms);
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(ag->retry_ev, &tv);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct agent *ag = arg;
	if (flush_unsaved(ag) == 0) {
		ag->retry_ms = 0;
		return;
	}
	schedule_retry(ag, ag->retry_ms * 2 > AGENT_RETRY_MAX_MS ? AGENT_RETRY_MAX_MS
	                                                         : ag->retry_ms * 2);
}

/* A run was scored (event loop): written now, or queued behind the runs
 * that wait. */
static void
scored_cb(struct monitor_result *r, void *arg)
{
	struct agent *ag = arg;
	const struct audit_run *run = r->run;
	fprintf(stderr, "assay agent %s: %s %s: %s (%d/%d ok)\n", ag->region, run->target.relay,
	        run->target.model, verdict_name(r->a.verdict), r->a.ok_requests, r->a.requests);
	if (ag->n_unsaved == 0 &&
	    store_agent_save_run_with(ag->store, ag->region, run, &r->a, &r->entry) >= 0) {
		monitor_result_free(r);
		return;
	}
	if (ag->n_unsaved == AGENT_UNSAVED_MAX) {
		struct monitor_result *old = ag->unsaved[0];
		ag->lost++;
		fprintf(
		    stderr,
		    "assay agent %s: LOST a run of %s %s: the database has not been writable for "
		    "%d runs (%ld lost so far)\n",
		    ag->region, old->run->target.relay, old->run->target.model, AGENT_UNSAVED_MAX,
		    ag->lost);
		monitor_result_free(old);
		memmove(ag->unsaved, ag->unsaved + 1,
		        (AGENT_UNSAVED_MAX - 1) * sizeof *ag->unsaved);
		ag->n_unsaved--;
	}
	ag->unsaved[ag->n_unsaved++] = r;
	if (ag->retry_ms == 0)
		schedule_retry(ag, AGENT_RETRY_MS);
}

/* A run ended (event loop): the monitor's worker scores it. */
static void
run_cb(struct audit_run *run, void *arg)
{
	struct agent *ag = arg;
	if (ag->stopping) {
		audit_run_free(run); /* aborted by the stop: not an observation */
		return;
	}
	monitor_submit(ag->monitor, run);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	fprintf(stderr, "assay agent: signal %d, stopping\n", (int)sig);
	event_base_loopbreak(arg);
}

/* Audit relay r's model m on its interval; the target as serve builds it
 * (cli/cmd_serve.c target_start), without the board, canaries or passive
 * probes. */
static void
agent_add(struct agent *ag, struct scheduler *sched, const struct config_relay *r, size_t m,
          int64_t first_delay_us)
{
	struct audit_target t = {
	    .relay = r->name,
	    .base_url = r->base_url,
	    .api = r->api,
	    .model = r->models[m],
	    .wire_model = r->wire_model,
	    .api_key = r->key_env ? getenv(r->key_env) : NULL,
	    .auth = r->auth,
	    .headers = r->headers,
	    .n_headers = r->n_headers,
	    .bedrock = r->bedrock,
	    .aws = r->aws,
	};
	const struct baseline_model *known = baseline_find(ag->pack, r->models[m]);
	struct baseline_model standin;
	if (known == NULL)
		baseline_infer(ag->pack, r->models[m], r->api, &standin);
	baseline_request_rules(known ? known : &standin, &t.rules);
	t.list_models = !endpoint_is_azure_deployment(r->base_url) && !r->bedrock &&
	                r->api != API_GEMINI && r->api != API_VERTEX;
	t.budget_tokens = AUDIT_BUDGET_TOKENS;
	t.max_requests = AUDIT_BUDGET_REQUESTS;
	t.channel = (char *)origin_channel_name((enum origin_channel)r->channel);
	if (known == NULL)
		baseline_infer_release(&standin);
	scheduler_add(sched, &t, r->interval_us, first_delay_us, TIER_CHEAP | TIER_MEDIUM,
	              ag->config->timeout_us);
}

/* --add-role: the hub's store (migrated) lets role act as region's agent.
 * The exit status. */
static int
add_agent_role(const char *address, const char *password_env, const char *role, const char *region)
{
	char err[1024];
	struct store_options so = {.password_env = password_env};
	struct store *s = store_open_with(address, &so, err, sizeof err);
	if (s == NULL) {
		fprintf(stderr, "assay agent: %s\n", err);
		return 2;
	}
	int rc = store_add_agent(s, role, region, err, sizeof err);
	store_close(s);
	if (rc != 0) {
		fprintf(stderr, "assay agent: cannot add role '%s' for region '%s': %s\n", role,
		        region, err);
		return 2;
	}
	printf("role %s may now write the runs of region %s\n", role, region);
	return 0;
}

int
cmd_agent(int argc, char **argv)
{
	const char *config_path = NULL, *region = NULL, *db = NULL, *add_role = NULL;
	int first;
	const struct cli_option opts[] = {
	    {"config", 'c', &config_path, NULL}, {"region", 0, &region, NULL}, {"db", 0, &db, NULL},
	    {"add-role", 0, &add_role, NULL},    {NULL, 0, NULL, NULL},
	};
	int status = cli_parse_options("agent", argc, argv, opts, usage, &first);
	if (status >= 0)
		return status;
	if (first < argc) {
		fprintf(stderr, "assay agent: unexpected argument '%s'\n", argv[first]);
		return 2;
	}
	if (config_path == NULL || region == NULL) {
		fputs("assay agent: -c FILE and --region REGION are required (see assay agent "
		      "--help)\n",
		      stderr);
		return 2;
	}
	if (!store_region_name_ok(region)) {
		fprintf(stderr,
		        "assay agent: malformed region '%s' (lowercase letters, digits and '-', at "
		        "most %d)\n",
		        region, STORE_REGION_MAX);
		return 2;
	}
	char err[1024];
	struct agent ag = {.region = region};
	struct catalog *cat = NULL;
	struct event_base *base = NULL;
	struct engine *engine = NULL;
	struct scheduler *sched = NULL;
	struct event *sigint = NULL, *sigterm = NULL;
	status = 2;
	ag.pack = baseline_load_default(err, sizeof err);
	if (ag.pack == NULL)
		goto fail;
	ag.config = config_load(config_path, err, sizeof err);
	if (ag.config == NULL)
		goto fail;
	cat = scorer_catalog_default(err, sizeof err);
	if (cat == NULL)
		goto fail;
	const char *address = db ? db : ag.config->database;
	if (add_role != NULL) {
		status =
		    add_agent_role(address, ag.config->database_password_env, add_role, region);
		goto out;
	}
	struct store_options so = {.password_env = ag.config->database_password_env, .agent = 1};
	ag.store = store_open_with(address, &so, err, sizeof err);
	if (ag.store == NULL)
		goto fail;
	if (evthread_use_pthreads() != 0)
		fatal(70, "cannot make libevent thread-safe");
	base = event_base_new();
	if (base == NULL)
		fatal(70, "cannot set up the event loop");
	struct monitor_config mc = {.pack = ag.pack, .time_scale = ag.config->time_scale};
	ag.monitor = monitor_new(base, &mc, scored_cb, &ag);
	if (ag.monitor == NULL)
		fatal(70, "cannot start the scoring thread");
	struct engine_options eo = {.ca_file = ag.config->ca_file};
	engine = engine_new(base, &eo);
	if (engine == NULL)
		fatal(70, "cannot set up libcurl");
	sched = scheduler_new(base, engine, cat, run_cb, &ag);
	ag.retry_ev = evtimer_new(base, retry_cb, &ag);
	size_t k = 0;
	for (size_t i = 0; i < ag.config->n_relays; i++) {
		const struct config_relay *r = &ag.config->relays[i];
		if (r->error != NULL) {
			fprintf(stderr, "assay agent: relay %s not audited: %s\n", r->name,
			        r->error);
			continue;
		}
		for (size_t m = 0; m < r->n_models; m++, k++)
			agent_add(&ag, sched, r, m, (int64_t)(k % 50) * 200000);
	}
	signal(SIGPIPE, SIG_IGN);
	sigint = evsignal_new(base, SIGINT, signal_cb, base);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	printf("agent %s: auditing %zu relay-model%s\n", region, k, k == 1 ? "" : "s");
	fflush(stdout);
	event_base_dispatch(base);
	status = 0;
	goto out;
fail:
	fprintf(stderr, "assay agent: %s\n", err);
out:
	ag.stopping = 1;
	engine_free(engine);
	monitor_free(ag.monitor); /* what it was given is scored and queued */
	if (ag.n_unsaved > 0 && flush_unsaved(&ag) != 0) {
		fprintf(stderr,
		        "assay agent %s: LOST %zu run%s: the database would not take them (%s)\n",
		        region, ag.n_unsaved, ag.n_unsaved == 1 ? "" : "s",
		        store_last_error(ag.store));
		for (size_t i = 0; i < ag.n_unsaved; i++)
			monitor_result_free(ag.unsaved[i]);
	}
	if (ag.retry_ev)
		event_free(ag.retry_ev);
	scheduler_free(sched);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (base)
		event_base_free(base);
	store_close(ag.store);
	catalog_free(cat);
	config_free(ag.config);
	baseline_free(ag.pack);
	return status;
}
