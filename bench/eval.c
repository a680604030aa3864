/*
 * eval: how well Assay's default audit detects each relay behaviour.
 *
 * For each seed, starts assay-fixture on the detection world, audits every
 * relay (honest ones many times) with the real engine, detectors and
 * verdict rule, and tallies the outcome against the truth file. Prints a
 * confusion matrix, the detection rate per class, the false-positive rate on
 * honest relays and the cost per audit.
 *
 * With --power, instead (in process, no fixture, a few seconds): the
 * power of serve's anytime-valid ledger (bench/monitor_sim.h) against
 * random dilution by fraction and runs, and how often honest relays are
 * ever accused over 10,000 runs, beside the fixed-sample rule it replaced.
 *
 * usage: assay-eval [--seeds N] [--honest N] [--world FILE] [--truth FILE]
 *                   [--time-scale X] [--concurrency N]
 *        assay-eval --power
 * --no-early-stop: audits send every request (the cost before early
 * stopping, scoring/detect.h: scorer_stop_early). --serve-days N: also
 * serve over each relay's audits, resampled (serve_report).
 */
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "base/yamltree.h"
#include "bench/monitor_sim.h"
#include "probes/audit.h"
#include "probes/catalog.h"
#include "probes/endpoint.h"
#include "probes/engine.h"
#include "scoring/baseline.h"
#include "scoring/detect.h"
#include "scoring/identify.h"
#include "scoring/stats.h"
#include "scoring/verdict.h"

#define MAX_RELAYS 128

/* One relay audited for one claimed model (a relay of the truth file with
 * several `models` makes one row each). */
struct relay_truth {
	char *name;
	char *endpoint;    /* the fixture endpoint audited (the name, unless the
	                    * truth says `endpoint`) */
	char *model;       /* the claimed model */
	enum api_kind api; /* its API (from the pack) */
	char *served;      /* substitution: the model truly served, or NULL */
	char *class;       /* "none" for honest */
	char *also;        /* other true classes, comma-separated, or NULL */
	char *channel;     /* the channel the relay claims (truth's `channel`), or NULL */
	/* a cloud channel's own endpoint (truth's azure: {deployment,
	 * api_version}, vertex: {project, region}, bedrock: true): its URL,
	 * its key header, a key (any will do in the fixture, none will not) */
	char *azure_dep, *azure_ver, *vertex_project, *vertex_region;
	int bedrock;
	char *path;         /* truth's `path`: appended to the endpoint's URL (Gemini's
	                     * OpenAI-compatible /v1beta/openai/), its own channel */
	int audits;         /* sequential audits per chain; the last one counts */
	int samples;        /* chains per seed (honest relays: --honest) */
	int deep;           /* audit with the deep tier */
	int long_context;   /* ... and the long-context tier (assay audit --long-context) */
	enum verdict level; /* the level one audit's evidence can reach */
	char *url;          /* this seed's */
	/* tallies */
	long n, verdicts[VERDICT_UNREACHABLE + 1], right, wrong_cheat, tokens, requests;
	long accused;              /* audits with any cheating finding (suspect or misbehaving) */
	long *req_each, *tok_each; /* per audit, for the quantiles */
	long stopped;              /* audits that stopped early */
	long hinted;               /* audits with a cheat-class hint (within no budget) */
	char wrong_names[160];     /* which other classes were reported */
	struct assessment **kept;  /* --serve-days: every scored audit, for serve_report */
	size_t n_kept;
};

struct eval {
	struct event_base *base;
	struct engine *engine;
	struct catalog *catalog;
	struct baseline_pack *pack;
	struct scorer *scorer;
	struct relay_truth relays[MAX_RELAYS];
	size_t n_relays;
	int honest_per_seed;
	size_t concurrency, running;
	int running_alone; /* a long-context audit runs: no other beside it */
	/* the job queue: chains of sequential audits */
	struct job {
		struct relay_truth *relay;
		int left; /* audits still to run in this chain */
	} * jobs;
	size_t n_jobs, next_job;
	double time_scale;
	int early_stop; /* audits stop when the evidence is decisive (default) */
	int serve_days; /* --serve-days: serve over resampled audits (serve_report) */
	/* the audits of relays that do not cheat: how near they came to an
	 * accusation (the smallest adjusted p-value of a cheat-class hint) and
	 * how many hints were within the suspect budget yet held back by a
	 * one-audit rule (hint_only: too few answers to accuse on) */
	double closest_p;
	char closest[320];
	long held_back;
};

static void start_jobs(struct eval *ev);

struct chain {
	struct eval *ev;
	struct job *job;
	struct scorer_stop stop; /* the early-stopping state of its current audit */
};

static void audit_done_cb(struct audit_run *run, void *arg);

static void
start_audit(struct eval *ev, const struct relay_truth *r, struct chain *ch)
{
	/* the relay's name is its pool: one relay paced as one, whatever model */
	struct audit_target t = {.relay = r->name,
	                         .base_url = r->url,
	                         .api = r->api,
	                         .model = r->model,
	                         .channel = r->channel};
	/* the fixture's cloud endpoints take any key, but want one: AWS's
	 * test-suite example credentials for Bedrock's SigV4 */
	char *aws[] = {(char *)"AKIDEXAMPLE", (char *)"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	               (char *)"us-east-1"};
	if (r->azure_dep != NULL) {
		t.auth = AUTH_API_KEY;
		t.api_key = (char *)"eval-azure-key";
	} else if (r->bedrock) {
		t.bedrock = 1;
		t.auth = AUTH_SIGV4;
		t.aws = (struct aws_credentials){aws[0], aws[1], NULL, aws[2]};
	} else if (r->vertex_project != NULL || r->api == API_GEMINI || r->path != NULL) {
		t.api_key = (char *)"eval-google-token";
	}
	/* a model no pack knows is audited on a stand-in, as `assay audit` does */
	const struct baseline_model *claimed = scorer_claimed(ev->scorer, r->model, r->api);
	baseline_request_rules(claimed, &t.rules);
	t.budget_tokens =
	    r->deep || r->long_context ? 0 : AUDIT_BUDGET_TOKENS; /* as assay audit's */
	t.max_requests = r->deep || r->long_context ? 0 : AUDIT_BUDGET_REQUESTS;
	if (r->long_context && claimed != NULL && claimed->context_window > 0)
		t.context_fill_words = audit_context_fill_words(claimed->context_window);
	scorer_stop_release(&ch->stop);
	scorer_stop_init(&ch->stop, ev->scorer, claimed);
	if (ev->early_stop) {
		t.stop = scorer_stop_early;
		t.stop_arg = &ch->stop;
		t.prompt_tokens = scorer_stop_prompt_tokens;
	}
	audit_start(ev->engine, ev->catalog, &t,
	            TIER_CHEAP | TIER_MEDIUM | (r->deep ? TIER_DEEP : 0) |
	                (r->long_context ? TIER_LONG : 0),
	            3, 20000000, audit_done_cb, ch);
}

/* Does f name the served model's tokenizer family (when the truth says
 * which model is served)? */
static int
served_matches(const struct eval *ev, const struct relay_truth *r, const struct finding *f)
{
	if (r->served == NULL)
		return 1;
	const struct baseline_model *want = baseline_find(ev->pack, r->served);
	const struct baseline_model *got = f->served ? baseline_find(ev->pack, f->served) : NULL;
	if (got == NULL && f->served != NULL && want != NULL && want->tokenizer != NULL)
		/* a stand-in's finding names the tokenizer's family */
		return strstr(f->served, want->tokenizer) != NULL ||
		       strstr(f->summary, want->tokenizer) != NULL;
	return want != NULL && got != NULL && want->tokenizer != NULL && got->tokenizer != NULL &&
	       strcmp(want->tokenizer, got->tokenizer) == 0;
}
static void
audit_done_cb(struct audit_run *run, void *arg)
{
	struct chain *ch = arg;
	struct eval *ev = ch->ev;
	struct relay_truth *r = ch->job->relay;
	ch->job->left--;
	if (ch->job->left == 0) {
		struct assessment a;
		assessment_init(&a);
		scorer_assess(ev->scorer, run, scorer_claimed(ev->scorer, r->model, r->api), &a);
		r->n++;
		r->verdicts[a.verdict]++;
		r->tokens += a.tokens_spent;
		r->requests += a.requests;
		r->req_each = xrealloc(r->req_each, (size_t)r->n * sizeof *r->req_each);
		r->tok_each = xrealloc(r->tok_each, (size_t)r->n * sizeof *r->tok_each);
		r->req_each[r->n - 1] = a.requests;
		r->tok_each[r->n - 1] = a.tokens_spent;
		r->stopped += run->stop_reason != NULL;
		int right = 0, wrong = 0;
		for (size_t i = 0; i < a.n_findings; i++) {
			const struct finding *f = &a.findings[i];
			/* availability is no accusation: its finding is the evidence */
			if (!finding_class_is_cheat(r->class) && strcmp(f->class, r->class) == 0)
				right = 1;
			if (!finding_reaches(f, r->level))
				continue;
			if (strcmp(f->class, r->class) == 0 && served_matches(ev, r, f))
				right = 1;
			else if (finding_class_is_cheat(f->class) &&
			         strcmp(f->class, r->class) != 0 &&
			         !(r->also != NULL && strstr(r->also, f->class) != NULL)) {
				wrong = 1;
				if (strstr(r->wrong_names, f->class) == NULL &&
				    strlen(r->wrong_names) + strlen(f->class) + 2 <
				        sizeof r->wrong_names) {
					if (r->wrong_names[0])
						strcat(r->wrong_names, ",");
					strcat(r->wrong_names, f->class);
				}
			}
		}
		r->right += right;
		r->wrong_cheat += wrong;
		int accused = 0, hinted = 0;
		for (size_t i = 0; i < a.n_findings; i++) {
			if (!finding_class_is_cheat(a.findings[i].class))
				continue;
			if (a.findings[i].hint)
				hinted = 1;
			else
				accused = 1;
		}
		r->accused += accused;
		r->hinted += hinted;
		if (strcmp(r->class, "none") == 0)
			for (size_t i = 0; i < a.n_findings; i++) {
				const struct finding *f = &a.findings[i];
				if (!finding_class_is_cheat(f->class) || !f->hint ||
				    f->p_adjusted < 0)
					continue;
				if (f->hint_only && f->p_adjusted <= FP_BUDGET_SUSPECT)
					ev->held_back++;
				if (f->p_adjusted < ev->closest_p) {
					ev->closest_p = f->p_adjusted;
					snprintf(ev->closest, sizeof ev->closest,
					         "%s (%s), %s on %s%s", r->name, r->model, f->class,
					         f->probe ? f->probe : "?",
					         f->hint_only ? ", a one-audit hint" : "");
				}
			}
		/* a false accusation is the worst error: say what it was */
		if (accused && strcmp(r->class, "none") == 0)
			for (size_t i = 0; i < a.n_findings; i++)
				if (finding_class_is_cheat(a.findings[i].class) &&
				    !a.findings[i].hint)
					fprintf(
					    stderr,
					    "eval: false accusation of %s (%s): %s, p = %.3g: %s\n",
					    r->name, r->model, a.findings[i].class,
					    a.findings[i].p_adjusted, a.findings[i].summary);
		if (ev->serve_days > 0) {
			r->kept = xrealloc(r->kept, (r->n_kept + 1) * sizeof *r->kept);
			r->kept[r->n_kept] = xmalloc(sizeof **r->kept);
			*r->kept[r->n_kept++] = a; /* handed over */
		} else
			assessment_release(&a);
		audit_run_free(run);
		scorer_stop_release(&ch->stop);
		free(ch);
		ev->running--;
		if (r->long_context)
			ev->running_alone = 0;
		start_jobs(ev);
		return;
	}
	audit_run_free(run);
	start_audit(ev, r, ch);
}

static void
start_jobs(struct eval *ev)
{
	while (ev->running < ev->concurrency && ev->next_job < ev->n_jobs && !ev->running_alone) {
		/* a long-context audit runs alone: its prompt near the window holds
		 * the one fixture's loop (and ours) long enough to bunch the
		 * streams of audits beside it, which would read as buffering */
		if (ev->jobs[ev->next_job].relay->long_context && ev->running > 0)
			break;
		struct job *j = &ev->jobs[ev->next_job++];
		ev->running_alone = j->relay->long_context;
		struct chain *ch = xcalloc(1, sizeof *ch);
		ch->ev = ev;
		ch->job = j;
		ev->running++;
		start_audit(ev, j->relay, ch);
	}
	if (ev->running == 0 && ev->next_job == ev->n_jobs)
		event_base_loopbreak(ev->base);
}

/* Start the fixture for one seed; fills each relay's url. Returns its pid. */
static pid_t
start_fixture(struct eval *ev, const char *fixture, const char *world, unsigned seed)
{
	int fds[2];
	if (pipe(fds) != 0)
		fatal(1, "pipe");
	char seedstr[32], scale[32];
	snprintf(seedstr, sizeof seedstr, "%u", seed);
	snprintf(scale, sizeof scale, "%g", ev->time_scale);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(fixture, fixture, "-c", world, "--seed", seedstr, "--time-scale", scale,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[512];
	size_t found = 0;
	while (found < ev->n_relays && fgets(line, sizeof line, f) != NULL) {
		char name[128], url[256];
		if (sscanf(line, "listening %127s %255s", name, url) != 2)
			continue;
		for (size_t i = 0; i < ev->n_relays; i++)
			if (strcmp(ev->relays[i].endpoint, name) == 0 &&
			    ev->relays[i].url == NULL) {
				struct relay_truth *r = &ev->relays[i];
				char *u = NULL, why[512];
				if (r->azure_dep != NULL &&
				    endpoint_azure_url(url, r->azure_dep, r->azure_ver, &u, why,
				                       sizeof why) != 0)
					fatal(2, "relay '%s': %s", r->name, why);
				if (r->vertex_project != NULL &&
				    endpoint_vertex_url(url, r->vertex_project, r->vertex_region,
				                        &u, why, sizeof why) != 0)
					fatal(2, "relay '%s': %s", r->name, why);
				r->url = u                 ? u
				         : r->path != NULL ? xasprintf("%s%s", url, r->path)
				                           : xstrdup(url);
				found++;
			}
	}
	if (found < ev->n_relays)
		fatal(1, "the fixture did not list every relay of the truth file");
	/* keep the pipe open but unread: the fixture prints nothing more */
	return pid;
}

static void
load_truth(struct eval *ev, const char *path)
{
	char err[512];
	struct ynode *root = ytree_load_file(path, err, sizeof err);
	if (root == NULL)
		fatal(2, "%s", err);
	const struct ynode *relays = ytree_get(root, "relays");
	if (relays == NULL || relays->kind != YNODE_MAP)
		fatal(2, "%s: expected a 'relays' mapping", path);
	for (size_t i = 0; i < relays->n; i++) {
		const struct ynode *t = relays->items[i];
		const struct ynode *models = ytree_get(t, "models");
		const struct ynode *apis = ytree_get(t, "apis");
		size_t nm = models && models->kind == YNODE_SEQ ? models->n : 1;
		size_t na = apis && apis->kind == YNODE_SEQ ? apis->n : 1;
		for (size_t mm = 0; mm < nm * na; mm++) {
			size_t m = mm / na, ax = mm % na;
			if (ev->n_relays == MAX_RELAYS)
				fatal(2, "%s: more than %d relay and model pairs", path,
				      MAX_RELAYS);
			struct relay_truth *r = &ev->relays[ev->n_relays++];
			r->name = xstrdup(relays->keys[i]);
			const struct ynode *ep = ytree_get(t, "endpoint");
			r->endpoint = xstrdup(ep ? ep->scalar : r->name);
			r->model =
			    xstrdup(models && models->kind == YNODE_SEQ ? models->items[m]->scalar
			                                                : "gpt-4o");
			/* the API: the truth's (apis: [...], each a row), else the
			 * pack's, else the name's (scoring/identify.h) */
			const struct baseline_model *bm = baseline_find(ev->pack, r->model);
			int api = apis && apis->kind == YNODE_SEQ
			              ? api_from_name(apis->items[ax]->scalar)
			          : bm != NULL ? api_from_name(bm->api)
			                       : (int)model_default_api(r->model);
			if (api < 0)
				fatal(2, "%s: relay '%s': unknown api", path, r->name);
			r->api = (enum api_kind)api;
			const struct ynode *c = ytree_get(t, "class");
			const struct ynode *n = ytree_get(t, "audits");
			const struct ynode *k = ytree_get(t, "samples");
			const struct ynode *sv = ytree_get(t, "served");
			const struct ynode *al = ytree_get(t, "also");
			if (al != NULL && al->kind == YNODE_SEQ) {
				struct buf b;
				buf_init(&b, 0);
				for (size_t x = 0; x < al->n; x++)
					buf_putf(&b, "%s%s", x ? "," : "", al->items[x]->scalar);
				r->also = buf_take(&b, NULL);
			}
			r->class = xstrdup(c ? c->scalar : "none");
			const struct ynode *ch = ytree_get(t, "channel");
			r->channel = ch ? xstrdup(ch->scalar) : NULL;
			const struct ynode *az = ytree_get(t, "azure"),
			                   *vx = ytree_get(t, "vertex"),
			                   *br = ytree_get(t, "bedrock");
			if (az != NULL) {
				const struct ynode *d = ytree_get(az, "deployment"),
				                   *v = ytree_get(az, "api_version");
				if (d == NULL || v == NULL)
					fatal(2,
					      "%s: relay '%s': azure needs deployment and "
					      "api_version",
					      path, r->name);
				r->azure_dep = xstrdup(d->scalar);
				r->azure_ver = xstrdup(v->scalar);
			}
			if (vx != NULL) {
				const struct ynode *pj = ytree_get(vx, "project"),
				                   *rg = ytree_get(vx, "region");
				if (pj == NULL || rg == NULL)
					fatal(2, "%s: relay '%s': vertex needs project and region",
					      path, r->name);
				r->vertex_project = xstrdup(pj->scalar);
				r->vertex_region = xstrdup(rg->scalar);
			}
			r->bedrock = br != NULL && strcmp(br->scalar, "true") == 0;
			const struct ynode *pa = ytree_get(t, "path");
			r->path = pa != NULL ? xstrdup(pa->scalar) : NULL;
			r->served = sv ? xstrdup(sv->scalar) : NULL;
			r->audits = n ? atoi(n->scalar) : 1;
			r->samples = k ? atoi(k->scalar) : 0;
			const struct ynode *d = ytree_get(t, "deep");
			r->deep = d != NULL && strcmp(d->scalar, "true") == 0;
			const struct ynode *lc = ytree_get(t, "long_context");
			r->long_context = lc != NULL && strcmp(lc->scalar, "true") == 0;
			const struct ynode *l = ytree_get(t, "level");
			r->level = l != NULL && strcmp(l->scalar, "suspect") == 0
			               ? VERDICT_SUSPECT
			               : VERDICT_MISBEHAVING;
		}
	}
	ytree_free(root);
}

/* The q-quantile of n counts. */
static double
count_quantile(const long *v, long n, double q)
{
	if (n <= 0)
		return 0;
	double *d = xcalloc((size_t)n, sizeof *d);
	for (long i = 0; i < n; i++)
		d[i] = (double)v[i];
	double x = stats_quantile(d, (size_t)n, q);
	free(d);
	return x;
}

/* Requests and tokens per audit, mean and p95, per relay row, and how many
 * audits stopped early (the evidence decisive before the last request). */
static void
cost_report(struct eval *ev)
{
	printf("\nCost per audit (%s)\n",
	       ev->early_stop ? "early stopping on" : "early stopping off: --no-early-stop");
	printf("%-18s %-20s %-18s %6s %9s %8s %9s %8s %8s\n", "relay", "model", "truth", "audits",
	       "req mean", "req p95", "tok mean", "tok p95", "stopped");
	for (size_t i = 0; i < ev->n_relays; i++) {
		struct relay_truth *r = &ev->relays[i];
		double n = (double)(r->n ? r->n : 1);
		printf("%-18s %-20s %-18s %6ld %9.1f %8.0f %9.0f %8.0f %8ld\n", r->name, r->model,
		       r->class, r->n, r->requests / n, count_quantile(r->req_each, r->n, 0.95),
		       r->tokens / n, count_quantile(r->tok_each, r->n, 0.95), r->stopped);
		free(r->req_each);
		free(r->tok_each);
		r->req_each = r->tok_each = NULL;
	}
}

/* The q-quantile of the first decisions (-1: never, counted as past runs). */
static double
first_quantile(const long *first, int n, long runs, double q)
{
	double *v = xcalloc((size_t)n, sizeof *v);
	for (int i = 0; i < n; i++)
		v[i] = first[i] < 0 ? (double)runs : (double)first[i] + 1;
	double x = stats_quantile(v, (size_t)n, q);
	free(v);
	return x;
}

static int
caught_within(const long *first, int n, long runs)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += first[i] >= 0 && first[i] < runs;
	return k;
}

/*
 * assay-eval --serve-days N: each relay's scored audits of this evaluation,
 * resampled into SERVE_SEQ monitorings of N days of runs 5 minutes apart,
 * folded through serve's ledger (bench/monitor_sim.h: sim_serve_resampled).
 * How long serve takes to show the true class, how often an honest relay is
 * ever accused, how often the verdict changes.
 */
static long
serve_report(struct eval *ev)
{
	long honest_accused = 0; /* honest rows some monitoring accused */
	enum { SERVE_SEQ = 40 };
	const long day = 288, runs = ev->serve_days * day;
	printf("\nServe over this evaluation's audits, resampled (runs 5 min apart, %d days, %d "
	       "monitorings a row; bench/monitor_sim.h)\n\n",
	       ev->serve_days, SERVE_SEQ);
	printf("%-18s %-16s %-14s %6s %20s %20s %8s %8s %10s\n", "relay", "model", "truth",
	       "audits", "suspect: median/p95", "misbeh.: median/p95", "1 day", "all days",
	       "changes/d");
	for (size_t i = 0; i < ev->n_relays; i++) {
		struct relay_truth *r = &ev->relays[i];
		if (r->n_kept == 0)
			continue;
		int honest = strcmp(r->class, "none") == 0;
		long sus[SERVE_SEQ], mis[SERVE_SEQ], flips = 0;
		for (int s = 0; s < SERVE_SEQ; s++) {
			struct sim_outcome o;
			sim_serve_resampled((const struct assessment *const *)r->kept, r->n_kept,
			                    honest ? NULL : r->class, 0x5e7e + (uint64_t)s * 7919,
			                    runs, 300 * 1000, &o);
			sus[s] = o.first_suspect;
			mis[s] = o.first_misbehaving;
			flips += o.flips;
		}
		/* the level the truth says the class reaches: suspect for answers */
		const long *dec = r->level == VERDICT_SUSPECT || honest ? sus : mis;
		char a[32], b[32];
		snprintf(a, sizeof a, "%.0f / %.0f", first_quantile(sus, SERVE_SEQ, runs, 0.5),
		         first_quantile(sus, SERVE_SEQ, runs, 0.95));
		snprintf(b, sizeof b, "%.0f / %.0f", first_quantile(mis, SERVE_SEQ, runs, 0.5),
		         first_quantile(mis, SERVE_SEQ, runs, 0.95));
		if (honest && caught_within(sus, SERVE_SEQ, runs) > 0)
			honest_accused++;
		printf("%-18s %-16s %-14s %6zu %20s %20s %7.1f%% %7.1f%% %10.1f\n", r->name,
		       r->model, r->class, r->n_kept, a, b,
		       100.0 * caught_within(dec, SERVE_SEQ, day) / SERVE_SEQ,
		       100.0 * caught_within(dec, SERVE_SEQ, runs) / SERVE_SEQ,
		       (double)flips / SERVE_SEQ / ev->serve_days);
		for (size_t k = 0; k < r->n_kept; k++) {
			assessment_release(r->kept[k]);
			free(r->kept[k]);
		}
		free(r->kept);
		r->kept = NULL;
		r->n_kept = 0;
	}
	printf("(runs to the first run showing the true class at that level, or for honest relays "
	       "any accusation; %ld = never; 1 day / all days: caught (honest: accused) at the "
	       "level the truth says one audit reaches (suspect) or else misbehaving)\n",
	       runs);
	return honest_accused;
}

/* assay-eval --power: dilution by fraction and runs, honest relays' false
 * decisions. Runs are serve's default 5 minutes apart (288 a day). */
static void
power_report(void)
{
	enum { SEQ = 400, HONEST = 1000, OLD = 50 };
	const long day = 288, horizon = 30 * 288, fp_runs = 10000;
	printf("\nServe's anytime-valid ledger (in-process simulation, bench/monitor_sim.h; "
	       "runs 5 min apart, %d seeds a row)\n\n",
	       SEQ);
	printf("%-34s %5s %20s %20s %9s %9s %9s\n", "dilution", "frac", "suspect: median/p95",
	       "misbeh.: median/p95", "1 day", "7 days", "30 days");
	const double fractions[] = {0.1, 0.2, 0.3};
	for (int kind = 0; kind < 2; kind++)
		for (size_t fi = 0; fi < sizeof fractions / sizeof fractions[0]; fi++) {
			struct sim_relay r = kind == 0
			                         ? (struct sim_relay){.fraction = fractions[fi],
			                                              .other_tokenizer = 1,
			                                              .token_checks = 8}
			                         : (struct sim_relay){.fraction = fractions[fi],
			                                              .token_checks = 8,
			                                              .answer_checks = 4,
			                                              .answer_power = 0.5};
			long sus[SEQ], mis[SEQ];
			for (int s = 0; s < SEQ; s++) {
				struct sim_outcome o;
				sim_monitor_fast(&r, 7000 + (uint64_t)s, horizon, kind == 1, &o);
				sus[s] = o.first_suspect;
				mis[s] = o.first_misbehaving;
			}
			/* the same tokenizer is found by answers alone: suspect at most */
			const long *dec = kind == 0 ? mis : sus;
			char a[32], b[32];
			snprintf(a, sizeof a, "%.0f / %.0f", first_quantile(sus, SEQ, horizon, 0.5),
			         first_quantile(sus, SEQ, horizon, 0.95));
			snprintf(b, sizeof b, "%.0f / %.0f", first_quantile(mis, SEQ, horizon, 0.5),
			         first_quantile(mis, SEQ, horizon, 0.95));
			printf("%-34s %4.0f%% %20s %20s %8.1f%% %8.1f%% %8.1f%%\n",
			       kind == 0 ? "other tokenizer (8 counted)"
			                 : "same tokenizer (4 answers, 50% miss)",
			       fractions[fi] * 100, a, kind == 0 ? b : "(suspect at most)",
			       100.0 * caught_within(dec, SEQ, day) / SEQ,
			       100.0 * caught_within(dec, SEQ, 7 * day) / SEQ,
			       100.0 * caught_within(dec, SEQ, horizon) / SEQ);
		}
	printf("(runs to the first decision; caught: misbehaving for another tokenizer, "
	       "suspect for the same; %ld runs = past the horizon)\n",
	       horizon);
	printf("(a model of a run's evidence, not the detectors: assay-eval --serve-days N folds "
	       "real audits of the detection world through the same ledger)\n");
	struct sim_relay honest = {.token_checks = 8};
	long mis = 0, sus = 0, old_mis = 0, old_sus = 0;
	for (int s = 0; s < HONEST; s++) {
		struct sim_outcome o;
		sim_monitor_fast(&honest, 1000 + (uint64_t)s, fp_runs, 0, &o);
		mis += o.first_misbehaving >= 0;
		sus += o.first_suspect >= 0;
		if (s < OLD) {
			sim_monitor_fixed_sample(1000 + (uint64_t)s, fp_runs, day, &o);
			old_mis += o.first_misbehaving >= 0;
			old_sus += o.first_suspect >= 0;
		}
	}
	printf("\nHonest relays, %ld runs each: ever misbehaving %ld of %d (budget %g), ever "
	       "suspect %ld of %d (budget %g)\n",
	       fp_runs, mis, HONEST, FP_BUDGET_MISBEHAVING, sus, HONEST, FP_BUDGET_SUSPECT);
	printf("The fixed-sample rule it replaced (binomial test of a 24 h window after every "
	       "run): ever misbehaving %ld of %d, ever suspect %ld of %d\n",
	       old_mis, OLD, old_sus, OLD);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"seeds", required_argument, NULL, 's'},
	                                     {"honest", required_argument, NULL, 'h'},
	                                     {"world", required_argument, NULL, 'w'},
	                                     {"truth", required_argument, NULL, 't'},
	                                     {"time-scale", required_argument, NULL, 'x'},
	                                     {"concurrency", required_argument, NULL, 'c'},
	                                     {"power", no_argument, NULL, 'p'},
	                                     {"no-early-stop", no_argument, NULL, 'n'},
	                                     {"serve-days", required_argument, NULL, 'd'},
	                                     {NULL, 0, NULL, 0}};
	/* the fixture world's recorded baselines (fixtures/baselines/record.sh) */
	setenv("ASSAY_BASELINE_DIR", "fixtures/baselines", 0);
	int seeds = 20;
	struct eval ev = {.honest_per_seed = 9,
	                  .concurrency = 6,
	                  .time_scale = 0.05,
	                  .early_stop = 1,
	                  .closest_p = 2};
	const char *world = "tests/data/detect/world.yaml", *truth = "tests/data/detect/truth.yaml";
	const char *build = getenv("ASSAY_BUILD") ? getenv("ASSAY_BUILD") : "build";
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seeds = atoi(optarg);
			break;
		case 'h':
			ev.honest_per_seed = atoi(optarg);
			break;
		case 'w':
			world = optarg;
			break;
		case 't':
			truth = optarg;
			break;
		case 'x':
			ev.time_scale = atof(optarg);
			break;
		case 'c':
			ev.concurrency = (size_t)atoi(optarg);
			break;
		case 'p':
			power_report();
			return 0;
		case 'n':
			ev.early_stop = 0;
			break;
		case 'd':
			ev.serve_days = atoi(optarg);
			break;
		default:
			fatal(2,
			      "usage: assay-eval [--seeds N] [--honest N] [--world F] [--truth F]");
		}
	}
	char err[512];
	ev.catalog = scorer_catalog_default(err, sizeof err);
	ev.pack = baseline_load_default(err, sizeof err);
	if (ev.catalog == NULL || ev.pack == NULL)
		fatal(2, "%s", err);
	load_truth(&ev, truth);
	ev.scorer = scorer_new(ev.pack);
	scorer_set_time_scale(ev.scorer, ev.time_scale);
	char *fixture = xasprintf("%s/assay-fixture", build);
	signal(SIGPIPE, SIG_IGN);
	int64_t t0 = now_us();
	for (int seed = 1; seed <= seeds; seed++) {
		for (size_t i = 0; i < ev.n_relays; i++) {
			free(ev.relays[i].url);
			ev.relays[i].url = NULL;
		}
		pid_t pid = start_fixture(&ev, fixture, world, (unsigned)seed);
		ev.base = event_base_new();
		ev.engine = engine_new(ev.base, NULL);
		free(ev.jobs);
		int rounds = ev.honest_per_seed;
		for (size_t i = 0; i < ev.n_relays; i++)
			if (ev.relays[i].samples > rounds)
				rounds = ev.relays[i].samples;

		ev.jobs = xcalloc(ev.n_relays * (size_t)rounds, sizeof *ev.jobs);
		ev.n_jobs = ev.next_job = 0;
		/* honest relays many times, interleaved with the others */
		for (int round = 0; round < rounds; round++)
			for (size_t i = 0; i < ev.n_relays; i++) {
				struct relay_truth *r = &ev.relays[i];
				int want = r->samples > 0                  ? r->samples
				           : strcmp(r->class, "none") == 0 ? ev.honest_per_seed
				                                           : 1;
				if (round >= want)
					continue;
				ev.jobs[ev.n_jobs].relay = r;
				ev.jobs[ev.n_jobs++].left = r->audits;
			}
		start_jobs(&ev);
		event_base_dispatch(ev.base);
		engine_free(ev.engine);
		event_base_free(ev.base);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		fprintf(stderr, "eval: seed %d done\n", seed);
	}
	double wall = (now_us() - t0) / 1e6;

	printf("\nAssay detection evaluation: %d seeds of %s, default audits, time scale %g\n\n",
	       seeds, world, ev.time_scale);
	printf("%-16s %-16s %-18s %6s %7s %7s %7s %7s %7s %9s %9s %7s %7s %6s\n", "relay", "model",
	       "truth", "audits", "genuine", "suspect", "misbeh.", "inconc.", "unreach.",
	       "right cls", "wrong cls", "accused", "hinted", "tokens");
	long honest_n = 0, honest_mis = 0, honest_sus = 0, tok = 0, req = 0, audits = 0;
	long official_n = 0, official_accused = 0, official_hinted = 0;
	struct channel_tally {
		const char *name;
		long n, accused, hinted;
	} channels[8];
	size_t n_channels = 0;
	for (size_t i = 0; i < ev.n_relays; i++) {
		struct relay_truth *r = &ev.relays[i];
		int honest = strcmp(r->class, "none") == 0;
		double n = (double)(r->n ? r->n : 1);
		/* the API beside a model audited on another than its usual one */
		char model[64];
		const struct baseline_model *bm = baseline_find(ev.pack, r->model);
		int usual = bm ? api_from_name(bm->api) : (int)model_default_api(r->model);
		snprintf(model, sizeof model, "%s%s%s", r->model, (int)r->api != usual ? "@" : "",
		         (int)r->api != usual ? api_name(r->api) : "");
		printf("%-16s %-16s %-18s %6ld %7ld %7ld %7ld %7ld %7ld %8.1f%% %8.1f%% %7ld %7ld "
		       "%6.0f %s\n",
		       r->name, model, r->class, r->n, r->verdicts[VERDICT_GENUINE],
		       r->verdicts[VERDICT_SUSPECT], r->verdicts[VERDICT_MISBEHAVING],
		       r->verdicts[VERDICT_INCONCLUSIVE], r->verdicts[VERDICT_UNREACHABLE],
		       honest ? 100.0 * r->verdicts[VERDICT_GENUINE] / n : 100.0 * r->right / n,
		       100.0 * r->wrong_cheat / n, r->accused, r->hinted,
		       r->n ? (double)r->tokens / r->n : 0, r->wrong_names);
		if (honest) {
			honest_n += r->n;
			honest_mis += r->verdicts[VERDICT_MISBEHAVING];
			honest_sus += r->verdicts[VERDICT_SUSPECT];
		}
		/* the official service: the direct one, or a cloud channel's own
		 * (azure-official, bedrock-official, ...), each also on its own */
		size_t el = strlen(r->endpoint);
		int cloud = el > 9 && strcmp(r->endpoint + el - 9, "-official") == 0;
		if (strcmp(r->endpoint, "official") == 0 || cloud) {
			official_n += r->n;
			official_accused += r->accused;
			official_hinted += r->hinted;
		}
		if (cloud) {
			size_t k = 0;
			const char *chan = r->name; /* a row of its own on a shared endpoint */
			while (k < n_channels && strcmp(channels[k].name, chan) != 0)
				k++;
			if (k == n_channels && k < sizeof channels / sizeof channels[0])
				channels[n_channels++] = (struct channel_tally){chan, 0, 0, 0};
			if (k < sizeof channels / sizeof channels[0]) {
				channels[k].n += r->n;
				channels[k].accused += r->accused;
				channels[k].hinted += r->hinted;
			}
		}
		tok += r->tokens;
		req += r->requests;
		audits += r->n;
	}
	printf("\n(right cls: for honest relays, audits that came out genuine; otherwise audits "
	       "that reported the true class at the misbehaving level (Holm-adjusted p <= %g), or\n"
	       " the suspect level (p <= %g) for relays whose truth says so, naming the served "
	       "model's tokenizer family where the truth names one. wrong cls: audits\n"
	       " with a cheating finding of another class at that level. accused: audits with any "
	       "cheating finding; hinted: audits with a cheat-class hint, no accusation.)\n",
	       FP_BUDGET_MISBEHAVING, FP_BUDGET_SUSPECT);
	printf("\nofficial endpoints: %ld audits; with a cheating finding: %ld; with a hint: %ld\n",
	       official_n, official_accused, official_hinted);
	for (size_t k = 0; k < n_channels; k++)
		printf(
		    "  of which %s: %ld audits; with a cheating finding: %ld; with a hint: %ld\n",
		    channels[k].name, channels[k].n, channels[k].accused, channels[k].hinted);
	printf("honest audits: %ld; false misbehaving: %ld (%.2f%%); false suspect: %ld (%.2f%%)\n",
	       honest_n, honest_mis, 100.0 * honest_mis / (double)(honest_n ? honest_n : 1),
	       honest_sus, 100.0 * honest_sus / (double)(honest_n ? honest_n : 1));
	if (ev.closest_p <= 1)
		printf("closest call on a relay that does not cheat: adjusted p = %.3g (suspect "
		       "at %g): %s; hints within the suspect budget held back by a one-audit "
		       "rule: %ld\n",
		       ev.closest_p, FP_BUDGET_SUSPECT, ev.closest, ev.held_back);
	printf("per audit: %.0f tokens, %.1f requests; %ld audits in %.0f s\n",
	       (double)tok / (double)(audits ? audits : 1),
	       (double)req / (double)(audits ? audits : 1), audits, wall);
	cost_report(&ev);
	/* serve accusing an honest relay is as false as an audit doing so */
	long serve_accused = ev.serve_days > 0 ? serve_report(&ev) : 0;
	scorer_free(ev.scorer);
	baseline_free(ev.pack);
	catalog_free(ev.catalog);
	free(ev.jobs);
	free(fixture);
	return honest_mis == 0 && official_accused == 0 && serve_accused == 0 ? 0 : 1;
}
