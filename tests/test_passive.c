/*
 * Passive probes (probes/scheduler.h, serve's config passive:): Poisson
 * arrival times from a seed, the hour budget, which probes each traffic
 * profile sends, the config keys and their errors, and, on loopback
 * against the fixture, passive requests pooled into the next scheduled run
 * and held to their budget.
 *
 * The statistics are of seeded draws (deterministic); the loopback tests
 * wait for conditions, each wait bounded.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/config.h"
#include "probes/catalog.h"
#include "probes/engine.h"
#include "probes/scheduler.h"
#include "scoring/detect.h"
#include "tests/helpers.h"

/* ---- arrival times ---- */

Test(passive, waits_are_exponential_with_the_rate_as_mean)
{
	uint64_t st = 42;
	const int n = 20000;
	double per_hour = 20, mean_us = 3600e6 / per_hour, sum = 0;
	int over_mean = 0, over_3 = 0;
	for (int i = 0; i < n; i++) {
		int64_t d = passive_next_delay_us(&st, per_hour);
		cr_assert_geq(d, 1000);
		sum += (double)d;
		over_mean += (double)d > mean_us;
		over_3 += (double)d > 3 * mean_us;
	}
	/* mean 1/rate (sd of the mean: 0.7%); P(wait > mean) = e^-1,
	 * P(> 3 means) = e^-3 */
	cr_expect(fabs(sum / n / mean_us - 1) < 0.03, "mean wait %.0f us, want %.0f", sum / n,
	          mean_us);
	cr_expect(fabs((double)over_mean / n - exp(-1)) < 0.015, "%d over the mean", over_mean);
	cr_expect(fabs((double)over_3 / n - exp(-3)) < 0.006, "%d over three means", over_3);
}

Test(passive, the_seed_decides_the_schedule)
{
	uint64_t a = 7, b = 7, c = 8;
	int differ = 0;
	for (int i = 0; i < 100; i++) {
		int64_t x = passive_next_delay_us(&a, 60), y = passive_next_delay_us(&b, 60);
		cr_assert_eq(x, y, "draw %d: same seed, other wait", i);
		differ += passive_next_delay_us(&c, 60) != x;
	}
	cr_expect_gt(differ, 95, "another seed gave the same waits");
}

Test(passive, hour_budget_is_twice_the_rate)
{
	cr_expect_eq(passive_hour_budget(20), 40);
	cr_expect_eq(passive_hour_budget(2.3), 5);
	cr_expect_eq(passive_hour_budget(0.1), 2);
}

Test(passive, profiles_pick_their_probes)
{
	char err[512];
	struct catalog *cat = scorer_catalog_default(err, sizeof err);
	cr_assert_not_null(cat, "%s", err);
	int chat = 0, agent = 0, agent_tool = 0;
	for (size_t i = 0; i < cat->n; i++) {
		const struct probe_def *p = &cat->probes[i];
		int c = passive_eligible(p, TRAFFIC_CHAT),
		    a = passive_eligible(p, TRAFFIC_CODING_AGENT);
		cr_expect(!passive_eligible(p, TRAFFIC_AUDIT), "%s: an audit has no passive probes",
		          p->id);
		if (p->tier == TIER_DEEP || p->cold || p->repeat)
			cr_expect(!c && !a, "%s sent passively", p->id);
		if (c)
			cr_expect_null(p->intent.tool_name, "chat sends the tool probe %s", p->id);
		chat += c;
		agent += a;
		agent_tool += a && p->intent.tool_name != NULL;
	}
	cr_expect_gt(chat, 5);
	cr_expect_gt(agent, 3);
	cr_expect_gt(agent_tool, 0, "the coding agent sends no tool call");
	catalog_free(cat);
}

/* ---- config ---- */

static struct config *
load(const char *text, char *err, size_t errlen)
{
	return test_config_text("passive", text, err, errlen);
}

#define RELAY "  - name: r\n    base_url: http://127.0.0.1:9/v1\n    models: [gpt-4o]\n"

Test(passive, config_keys_globally_and_per_relay)
{
	char err[512];
	struct config *c = load("passive: {rate: 20/h, profile: coding-agent, seed: 9}\n"
	                        "relays:\n" RELAY "  - name: quiet\n    base_url: "
	                        "http://127.0.0.1:9/v1\n    models: [gpt-4o]\n    passive: off\n"
	                        "  - name: chatty\n    base_url: http://127.0.0.1:9/v1\n"
	                        "    models: [gpt-4o]\n    passive: {rate: 3/m, profile: chat}\n",
	                        err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_expect_float_eq(c->relays[0].passive.per_hour, 20, 1e-9);
	cr_expect_eq(c->relays[0].passive.profile, TRAFFIC_CODING_AGENT);
	cr_expect(c->relays[0].passive.has_seed && c->relays[0].passive.seed == 9);
	cr_expect_float_eq(c->relays[1].passive.per_hour, 0, 1e-9);
	cr_expect_float_eq(c->relays[2].passive.per_hour, 180, 1e-9);
	cr_expect_eq(c->relays[2].passive.profile, TRAFFIC_CHAT);
	cr_expect(c->relays[2].passive.has_seed, "the global seed is kept");
	config_free(c);
	/* none by default */
	c = load("relays:\n" RELAY, err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_expect_float_eq(c->relays[0].passive.per_hour, 0, 1e-9);
	config_free(c);
}

static void
expect_error(const char *text, const char *want)
{
	char err[512];
	struct config *c = load(text, err, sizeof err);
	cr_expect_null(c, "accepted: %s", text);
	config_free(c);
	cr_expect(strstr(err, want) != NULL, "error '%s', want '%s'", err, want);
}

Test(passive, config_errors_name_their_line)
{
	expect_error("passive: {rate: 20/w}\nrelays:\n" RELAY,
	             "assay.yaml:1: rate is a count per s, m, h or d");
	expect_error("passive: {rate: fast}\nrelays:\n" RELAY, "assay.yaml:1: rate is a count");
	expect_error("passive: {rate: -3/h}\nrelays:\n" RELAY, "assay.yaml:1: rate is a count");
	expect_error("relays:\n" RELAY "    passive: {rate: 2/h, profile: browser}\n",
	             "assay.yaml:5: profile is chat or coding-agent, not 'browser'");
	expect_error("relays:\n" RELAY "    passive: {rate: 2/h, when: night}\n", "assay.yaml:5:");
	expect_error("relays:\n" RELAY "    passive: on\n", "assay.yaml:5: passive is");
}

/* ---- on loopback ---- */

static const char *const need[] = {"honest-relay", NULL};
static struct fixture world;

static void
setup(void)
{
	fixture_start_scaled(&world, "fixtures/demo.yaml", need, "0.05");
}

static void
teardown(void)
{
	cr_expect_eq(fixture_stop(&world), 0);
}

struct seen {
	struct event_base *base;
	struct audit_run *runs[64];
	size_t n;
	size_t stop_at; /* break the loop at this many runs */
};

static void
collect_cb(struct audit_run *run, void *arg)
{
	struct seen *s = arg;
	if (s->n < 64)
		s->runs[s->n++] = run;
	else
		audit_run_free(run);
	if (s->n == s->stop_at)
		event_base_loopbreak(s->base);
}

static struct audit_target
target(void)
{
	struct audit_target t = {
	    .relay = (char *)"honest-relay",
	    .base_url = (char *)fixture_url(&world, "honest-relay"),
	    .api = API_OPENAI,
	    .model = (char *)"gpt-4o",
	    .traffic = TRAFFIC_CHAT,
	};
	return t;
}

/* Is p one of the catalog's own probes (not a passive copy)? */
static int
in_catalog(const struct catalog *c, const struct probe_def *p)
{
	return p >= c->probes && p < c->probes + c->n;
}

Test(passive, requests_join_the_next_scheduled_run, .init = setup, .fini = teardown, .timeout = 90)
{
	char err[512];
	struct catalog *cat = scorer_catalog_default(err, sizeof err);
	cr_assert_not_null(cat, "%s", err);
	struct seen seen = {.base = event_base_new(), .stop_at = 1};
	struct engine *e = engine_new(seen.base, NULL);
	struct scheduler *s = scheduler_new(seen.base, e, cat, collect_cb, &seen);
	struct audit_target t = target();
	/* the scheduled run 3 s in; passive requests every 100 ms on average */
	scheduler_add(s, &t, 3600 * 1000000LL, 3000000, TIER_CHEAP | TIER_MEDIUM, 20000000);
	struct passive_options po = {.per_hour = 36000, .seed = 11};
	scheduler_add_passive(s, &t, &po, 20000000);
	struct timeval bound = {60, 0};
	event_base_loopexit(seen.base, &bound);
	event_base_dispatch(seen.base);
	cr_assert_eq(seen.n, 1, "no scheduled run within 60 s");
	const struct audit_run *run = seen.runs[0];
	size_t passive = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct audit_item *it = &run->items[i];
		cr_assert_not_null(it->obs, "item %zu has no observation", i);
		for (size_t k = 0; k < i; k++)
			cr_expect(strcmp(run->items[k].probe->id, it->probe->id) != 0 ||
			              run->items[k].sample != it->sample,
			          "%s sample %d twice", it->probe->id, it->sample);
		if (in_catalog(cat, it->probe))
			continue;
		passive++;
		cr_expect(passive_eligible(it->probe, TRAFFIC_CHAT), "%s is no chat probe",
		          it->probe->id);
		cr_expect_gt(it->sample, 0, "a passive %s took sample 0", it->probe->id);
	}
	cr_expect_eq(run->n_done, run->n_items);
	/* ~30 expected in 3 s; a Poisson count under 5 has odds below 1e-8 */
	cr_expect_geq(passive, 5, "only %zu passive requests joined the run", passive);
	cr_expect_eq(run->target.traffic, TRAFFIC_CHAT);
	audit_run_free(seen.runs[0]);
	engine_free(e);
	scheduler_free(s);
	event_base_free(seen.base);
	catalog_free(cat);
}

static void
done_waiting(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

Test(passive, an_hour_holds_no_more_than_its_budget, .init = setup, .fini = teardown, .timeout = 90)
{
	char err[512];
	struct catalog *cat = scorer_catalog_default(err, sizeof err);
	cr_assert_not_null(cat, "%s", err);
	struct seen seen = {.base = event_base_new(), .stop_at = 3};
	struct engine *e = engine_new(seen.base, NULL);
	struct scheduler *s = scheduler_new(seen.base, e, cat, collect_cb, &seen);
	struct audit_target t = target();
	t.traffic = TRAFFIC_CODING_AGENT;
	/* no scheduled target: each passive request is a run of its own */
	struct passive_options po = {.per_hour = 36000, .seed = 5, .hour_budget = 3};
	scheduler_add_passive(s, &t, &po, 20000000);
	struct timeval bound = {60, 0};
	event_base_loopexit(seen.base, &bound);
	event_base_dispatch(seen.base);
	cr_assert_eq(seen.n, 3, "the budget's three requests did not come within 60 s");
	/* 2 s more: twenty more arrivals, none sent */
	seen.stop_at = 0;
	struct event *ev = evtimer_new(seen.base, done_waiting, seen.base);
	struct timeval two = {2, 0};
	evtimer_add(ev, &two);
	event_base_dispatch(seen.base);
	event_free(ev);
	cr_expect_eq(seen.n, 3, "%zu passive requests in the hour, over its budget of 3", seen.n);
	for (size_t i = 0; i < seen.n; i++) {
		cr_expect_eq(seen.runs[i]->n_items, 1);
		cr_expect_null(seen.runs[i]->listing, "a passive request listed the models");
		if (seen.runs[i]->n_items == 1)
			cr_expect(
			    passive_eligible(seen.runs[i]->items[0].probe, TRAFFIC_CODING_AGENT));
		audit_run_free(seen.runs[i]);
	}
	engine_free(e);
	scheduler_free(s);
	event_base_free(seen.base);
	catalog_free(cat);
}

/* ---- serve ---- */

/* Requests of each relay's latest run; ready once the blended one's has
 * more (its passive requests joined). */
struct pair {
	long plain, blended;
};

static int
both_ran(const json_t *root, void *arg)
{
	struct pair *p = arg;
	json_t *a = json_find(json_object_get(root, "relays"), "relay", "plain");
	json_t *b = json_find(json_object_get(root, "relays"), "relay", "blended");
	if (a == NULL || b == NULL || json_is_null(json_object_get(a, "verdict")) ||
	    json_is_null(json_object_get(b, "verdict")))
		return 0;
	p->plain = json_int(a, "requests");
	p->blended = json_int(b, "requests");
	return p->blended > p->plain;
}

Test(passive, serve_pools_passive_requests_into_its_runs, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char dir[256], cfg[300], db[300], base[300], url[400];
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "passive-serve"), 0);
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", dir);
	snprintf(db, sizeof db, "%s/assay.db", dir);
	const char *relay = fixture_url(&world, "honest-relay");
	cr_assert_eq(test_write_file(cfg,
	                             "listen: 127.0.0.1:0\ndatabase: %s\ninterval: 3s\n"
	                             "timeout: 20s\ntime_scale: 0.05\nrelays:\n"
	                             "  - name: plain\n    base_url: %s\n    models: [gpt-4o]\n"
	                             "  - name: blended\n    base_url: %s\n    models: [gpt-4o]\n"
	                             "    passive: {rate: 36000/h, seed: 3}\n",
	                             db, relay, relay),
	             0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	struct pair p = {0};
	json_t *root = http_wait_json(url, 60000, both_ran, &p);
	cr_assert_not_null(root, "no run with passive requests within 60 s (%ld, %ld requests)",
	                   p.blended, p.plain);
	json_t *b = json_find(json_object_get(root, "relays"), "relay", "blended");
	cr_expect_str_eq(json_string_value(json_object_get(b, "verdict")), "genuine", "%s",
	                 json_string_value(json_object_get(b, "reason")));
	/* the first run takes a second or more: about ten passive requests join it */
	cr_expect_gt(p.blended, p.plain, "no passive request joined the run (%ld, %ld)", p.blended,
	             p.plain);
	json_decref(root);
	cr_expect_eq(child_stop(&serve, 10000), 0, "serve did not exit 0 on SIGTERM");
	test_rmtree(dir);
}
