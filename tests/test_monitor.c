/*
 * The monitor (scoring/monitor.h): scoring runs on its worker thread, so the
 * event loop keeps turning (and reading streams) while a heavy run is
 * scored; scoring the same run on the loop, as serve once did, stops it
 * for the whole time. Results come back on the loop, in submission order,
 * and monitor_free() delivers what it was given.
 *
 * The measure is deterministic: how many ticks of a 2 ms loop timer fire
 * while the scoring is under way (none can while the loop itself scores),
 * not how late any of them was.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/audit.h"
#include "probes/catalog.h"
#include "scoring/baseline.h"
#include "scoring/detect.h"
#include "scoring/monitor.h"
#include "tests/helpers.h"

static struct catalog *cat;
static struct baseline_pack *pack;

static void
setup(void)
{
	test_scoring_load(&cat, &pack);
}

static void
teardown(void)
{
	baseline_free(pack);
	catalog_free(cat);
}

/* A run whose accounting is slow to score: items of the tokenizer probe
 * with a long designed text each, counted with every public tokenizer. */
static struct audit_run *
heavy_run(const char *relay, int64_t at_ms, size_t n_items, long words)
{
	const struct probe_def *p = catalog_find(cat, "tokfp-long");
	cr_assert_not_null(p);
	struct audit_run *run =
	    test_run_alloc(&(struct audit_target){.relay = (char *)relay,
	                                          .base_url = (char *)"http://127.0.0.1:1/v1",
	                                          .model = (char *)"gpt-4o"},
	                   n_items);
	run->started_ms = at_ms;
	run->finished_ms = at_ms + 1;
	char *tmpl =
	    xasprintf("{nonce} {filler:%ld} 東京特許許可局 😀🧑‍🚀 12345678", words);
	for (size_t i = 0; i < n_items; i++) {
		struct audit_item *it = test_run_add(run, p);
		char nonce[16];
		probe_nonce(nonce);
		memcpy(it->nonce, nonce, sizeof it->nonce);
		it->n_messages = 1;
		it->messages = xcalloc(1, sizeof *it->messages);
		it->messages[0].role = "user";
		it->messages[0].content = probe_render(tmpl, nonce);
		struct observation *o = it->obs;
		o->prompt_tokens = words;
		o->completion_tokens = 1;
		o->text = xstrdup("pong");
		o->text_len = 4;
	}
	free(tmpl);
	return run;
}

struct ticks {
	struct event *ev;
	long n;      /* ticks so far */
	int running; /* keep ticking */
};

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct ticks *t = arg;
	t->n++;
	if (t->running) {
		struct timeval tv = {0, 2000};
		evtimer_add(t->ev, &tv);
	}
}

struct delivered {
	struct event_base *base;
	int64_t at[8];
	long ticks_at[8];
	size_t n, want;
	struct ticks *ticks;
};

static void
done_cb(struct monitor_result *r, void *arg)
{
	struct delivered *d = arg;
	if (d->n < 8) {
		d->at[d->n] = r->run->started_ms;
		d->ticks_at[d->n] = d->ticks->n;
	}
	d->n++;
	cr_expect_eq(r->a.ok_requests, (int)r->run->n_items);
	monitor_result_free(r);
	if (d->n == d->want)
		event_base_loopbreak(d->base);
}

Test(monitor, the_loop_keeps_turning_while_the_worker_scores, .init = setup, .fini = teardown,
     .timeout = 120)
{
	cr_assert_eq(evthread_use_pthreads(), 0);
	struct event_base *base = event_base_new();
	struct ticks ticks = {.running = 1};
	ticks.ev = evtimer_new(base, tick_cb, &ticks);
	struct delivered d = {.base = base, .want = 3, .ticks = &ticks};
	struct monitor_config mc = {.pack = pack, .time_scale = 1};
	struct monitor *m = monitor_new(base, &mc, done_cb, &d);
	cr_assert_not_null(m);
	/* how long one heavy run takes to score, on this machine, now */
	struct audit_run *probe_run = heavy_run("r", 1, 40, 1500);
	struct scorer *sc = scorer_new(pack);
	int64_t t0 = now_us();
	struct assessment a;
	assessment_init(&a);
	scorer_assess(sc, probe_run, baseline_find(pack, "gpt-4o"), &a);
	int64_t one_us = now_us() - t0;
	assessment_release(&a);
	audit_run_free(probe_run);
	scorer_free(sc);
	cr_assert_gt(one_us, 20000, "the heavy run must take a while to score (%lld us)",
	             (long long)one_us);

	for (int i = 0; i < 3; i++)
		monitor_submit(m, heavy_run("r", 100 + i, 80, 1500));
	cr_expect_eq(monitor_pending(m), 3);
	struct timeval tv = {0, 2000};
	evtimer_add(ticks.ev, &tv);
	struct timeval bound = {60, 0};
	event_base_loopexit(base, &bound);
	event_base_dispatch(base);
	cr_assert_eq(d.n, 3, "every result came back to the loop");
	cr_expect_eq(monitor_pending(m), 0);
	/* in order */
	for (size_t i = 0; i < 3; i++)
		cr_expect_eq(d.at[i], 100 + (int64_t)i);
	/* the loop ran its timer while the worker scored: dozens of 2 ms ticks
	 * in three runs' scoring time; on the loop it could run none */
	cr_expect_geq(d.ticks_at[2], 5, "only %ld ticks while %lld us of scoring went on",
	              d.ticks_at[2], (long long)(3 * one_us));

	/* what is submitted and not yet delivered is delivered by free */
	ticks.running = 0;
	d.want = 100; /* do not break the loop: there is none running */
	for (int i = 0; i < 2; i++)
		monitor_submit(m, heavy_run("r", 200 + i, 2, 10));
	monitor_free(m);
	cr_expect_eq(d.n, 5, "monitor_free delivered the last two");
	event_free(ticks.ev);
	event_base_free(base);
}

/* The control: the same scoring on the loop stops the loop meanwhile. */
struct on_loop {
	struct scorer *sc;
	struct ticks *ticks;
	long ticks_during;
	struct event_base *base;
};

static void
score_on_loop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct on_loop *ol = arg;
	struct audit_run *run = heavy_run("r", 1, 40, 1500);
	long before = ol->ticks->n;
	struct assessment a;
	assessment_init(&a);
	scorer_assess(ol->sc, run, baseline_find(pack, "gpt-4o"), &a);
	ol->ticks_during = ol->ticks->n - before;
	assessment_release(&a);
	audit_run_free(run);
	ol->ticks->running = 0;
	event_base_loopbreak(ol->base);
}

Test(monitor, scoring_on_the_loop_stops_it, .init = setup, .fini = teardown, .timeout = 60)
{
	struct event_base *base = event_base_new();
	struct ticks ticks = {.running = 1};
	ticks.ev = evtimer_new(base, tick_cb, &ticks);
	struct on_loop ol = {.sc = scorer_new(pack), .ticks = &ticks, .base = base};
	struct timeval tv = {0, 2000}, later = {0, 20000};
	evtimer_add(ticks.ev, &tv);
	struct event *score = evtimer_new(base, score_on_loop_cb, &ol);
	evtimer_add(score, &later);
	event_base_dispatch(base);
	cr_expect_eq(ol.ticks_during, 0, "no tick can fire while the loop itself scores");
	cr_expect_gt(ticks.n, 0);
	event_free(score);
	event_free(ticks.ev);
	scorer_free(ol.sc);
	event_base_free(base);
}
