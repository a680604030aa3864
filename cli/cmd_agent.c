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
 * The runs are written by a thread of their own (cli/agent_writer.h), so
 * a far or hung database never holds up the probes. A run the database
 * does not take waits in a queue, in order, and is retried with a doubling
 * delay (at most 30 s), said on stderr each time; when the queue is full
 * the oldest is dropped and that is said too ("LOST"). A stop (SIGINT,
 * SIGTERM) tries the queue a last time, for at most AGENT_STOP_WAIT_MS,
 * and says what it could not write.
 *
 * Budgets (FILE's `budget:`, the agent's and each relay's) cap what this
 * agent's probes spend a UTC day (cli/budget.h), counted from what it
 * spent since it started: it may not read its region's rows back, so a
 * restart counts the day from 0 again (said at the start). Canaries,
 * passive probes and alerts are the hub's business: an agent ignores them
 * in FILE.
 */
#include "cli/cmd_agent.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/agent_writer.h"
#include "cli/budget.h"
#include "cli/config.h"
#include "cli/options.h"
#include "cli/targets.h"
#include "probes/catalog.h"
#include "probes/engine.h"
#include "probes/scheduler.h"
#include "scoring/baseline.h"
#include "scoring/detect.h"
#include "scoring/monitor.h"
#include "storage/store.h"

#define AGENT_RETRY_MS 500
#define AGENT_RETRY_MAX_MS 30000
/* A stop waits this long for the runs still to write. */
#define AGENT_STOP_WAIT_MS 10000

struct agent {
	const char *region;
	struct config *config;
	struct baseline_pack *pack;
	struct store *store;
	struct monitor *monitor;
	struct agent_writer *writer;
	struct budget *budget;
	struct scheduler *sched;
	const char *config_path; /* read again on SIGHUP */
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
	      "SIGINT or SIGTERM stop, after the runs waiting are tried once more; SIGHUP\n"
	      "reads FILE again (relays added start, removed stop, changed start again).\n"
	      "\n"
	      "--add-role ROLE, run by the hub's administrator against the hub's database,\n"
	      "lets database role ROLE act as REGION's agent (PostgreSQL: creates the role if\n"
	      "missing, with no password: set one yourself) and exits.\n",
	      f);
}

/* A run was scored (event loop): the writer's now. */
static void
scored_cb(struct monitor_result *r, void *arg)
{
	struct agent *ag = arg;
	const struct audit_run *run = r->run;
	fprintf(stderr, "assay agent %s: %s %s: %s (%d/%d ok)\n", ag->region, run->target.relay,
	        run->target.model, verdict_name(r->a.verdict), r->a.ok_requests, r->a.requests);
	budget_scored(ag->budget, run->target.relay, run->target.model, run->started_ms,
	              r->a.tokens_spent, r->a.cost_usd);
	agent_writer_push(ag->writer, r);
}

/* The scheduler asks before a run of t that may spend max_tokens: within
 * the relay's and the agent's budget it goes, else it is held back, said
 * once a day. */
static int
budget_gate_cb(const struct audit_target *t, long max_tokens, void *arg)
{
	struct agent *ag = arg;
	const struct config_relay *r = targets_relay(ag->config, t->relay);
	const struct config_budget none = {0}, *mine = r ? &r->budget : &none;
	const struct baseline_model *m = baseline_find(ag->pack, t->model);
	double price = m == NULL ? 0 : m->price_in > m->price_out ? m->price_in : m->price_out;
	double usd = price > 0 ? (double)max_tokens * price / 1e6 : 0;
	int was_held;
	struct budget_held held;
	if (budget_gate(ag->budget, t->relay, t->model, mine, &ag->config->budget, max_tokens, usd,
	                &was_held, &held)) {
		if (was_held)
			fprintf(stderr, "assay agent %s: %s %s: runs again\n", ag->region, t->relay,
			        t->model);
		return 1;
	}
	if (held.first_today)
		fprintf(stderr, "assay agent %s: %s %s: held back: %s\n", ag->region, t->relay,
		        t->model, held.why);
	return 0;
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

/* Audit relay r's model m on its interval; the target as serve's
 * (cli/targets.h), without the board, canaries or passive probes. */
static void
agent_add(struct agent *ag, const struct config *c, const struct config_relay *r, size_t m,
          int64_t first_delay_us)
{
	struct audit_target t;
	char why[320];
	if (target_of_config(ag->pack, r, m, &t, why, sizeof why) != 0)
		fprintf(stderr,
		        "assay agent %s: relay %s: %s; auditing it as a model no pack knows\n",
		        ag->region, r->name, why);
	scheduler_add(ag->sched, &t, r->interval_us, first_delay_us, TIER_CHEAP | TIER_MEDIUM,
	              c->timeout_us);
}

/* A reload's walk (cli/targets.h), on the agent and the config n. */
struct reload_arg {
	struct agent *ag;
	const struct config *n;
};

static void
reload_stop_cb(const char *relay, const char *model, void *arg)
{
	struct reload_arg *ra = arg;
	scheduler_remove(ra->ag->sched, relay, model);
}

static void
reload_start_cb(const struct config_relay *nr, size_t m, size_t k, void *arg)
{
	struct reload_arg *ra = arg;
	agent_add(ra->ag, ra->n, nr, m, (int64_t)(k % 50) * 200000);
}

static void
reload_not_running_cb(const struct config_relay *nr, void *arg)
{
	struct reload_arg *ra = arg;
	fprintf(stderr, "assay agent %s: relay %s not audited: %s\n", ra->ag->region, nr->name,
	        nr->error);
}

/* SIGHUP: read FILE again, as serve does: relays and models added start,
 * removed stop, changed start again; a file that does not load changes
 * nothing. The database and ca_file change on restart only. */
static void
reload_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct agent *ag = arg;
	char err[1024];
	struct config *n = config_load(ag->config_path, err, sizeof err);
	if (n == NULL) {
		fprintf(stderr, "assay agent %s: reload refused, the running config stays: %s\n",
		        ag->region, err);
		return;
	}
	struct config *o = ag->config;
	if (strcmp(o->database, n->database) != 0)
		fprintf(stderr, "assay agent %s: reload: the database changes on restart only\n",
		        ag->region);
	if ((o->ca_file == NULL) != (n->ca_file == NULL) ||
	    (o->ca_file != NULL && strcmp(o->ca_file, n->ca_file) != 0))
		fprintf(stderr, "assay agent %s: reload: ca_file changes on restart only\n",
		        ag->region);
	struct reload_arg ra = {ag, n};
	struct targets_reload w = {.stop = reload_stop_cb,
	                           .start = reload_start_cb,
	                           .not_running = reload_not_running_cb,
	                           .arg = &ra};
	targets_reload(o, n, &w);
	ag->config = n;
	config_free(o);
	fprintf(stderr,
	        "assay agent %s: reloaded %s: %ld relay-models kept, %ld added, %ld changed, %ld "
	        "removed\n",
	        ag->region, ag->config_path, w.kept, w.added, w.changed, w.removed);
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
	struct event *sigint = NULL, *sigterm = NULL, *sighup = NULL;
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
	ag.writer = agent_writer_new(ag.store, region, AGENT_RETRY_MS, AGENT_RETRY_MAX_MS);
	if (ag.writer == NULL)
		fatal(70, "cannot start the database writer's thread");
	struct monitor_config mc = {.pack = ag.pack, .time_scale = ag.config->time_scale};
	ag.monitor = monitor_new(base, &mc, scored_cb, &ag);
	if (ag.monitor == NULL)
		fatal(70, "cannot start the scoring thread");
	struct engine_options eo = {.ca_file = ag.config->ca_file};
	engine = engine_new(base, &eo);
	if (engine == NULL)
		fatal(70, "cannot set up libcurl");
	sched = ag.sched = scheduler_new(base, engine, cat, run_cb, &ag);
	ag.budget = budget_new(NULL);
	scheduler_set_gate(sched, budget_gate_cb, &ag);
	size_t k = 0;
	for (size_t i = 0; i < ag.config->n_relays; i++) {
		const struct config_relay *r = &ag.config->relays[i];
		if (r->error != NULL) {
			fprintf(stderr, "assay agent: relay %s not audited: %s\n", r->name,
			        r->error);
			continue;
		}
		for (size_t m = 0; m < r->n_models; m++, k++)
			agent_add(&ag, ag.config, r, m, (int64_t)(k % 50) * 200000);
	}
	signal(SIGPIPE, SIG_IGN);
	sigint = evsignal_new(base, SIGINT, signal_cb, base);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	ag.config_path = config_path;
	sighup = evsignal_new(base, SIGHUP, reload_cb, &ag);
	evsignal_add(sighup, NULL);
	printf("agent %s: auditing %zu relay-model%s\n", region, k, k == 1 ? "" : "s");
	int capped = ag.config->budget.tokens > 0 || ag.config->budget.usd > 0;
	for (size_t i = 0; i < ag.config->n_relays; i++)
		capped |=
		    ag.config->relays[i].budget.tokens > 0 || ag.config->relays[i].budget.usd > 0;
	if (capped)
		fprintf(stderr,
		        "assay agent %s: budgets count what this agent spends from now: what it "
		        "spent earlier today, before this start, is not counted\n",
		        region);
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
	if (ag.writer != NULL && agent_writer_free(ag.writer, AGENT_STOP_WAIT_MS) != 0)
		return status; /* its thread is blocked in the store: the exit ends it */
	scheduler_free(sched);
	budget_free(ag.budget);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (sighup)
		event_free(sighup);
	if (base)
		event_base_free(base);
	store_close(ag.store);
	catalog_free(cat);
	config_free(ag.config);
	baseline_free(ag.pack);
	return status;
}
