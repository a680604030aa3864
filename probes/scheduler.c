/*
 * scheduler: one persistent libevent timer per target.
 */
#include "probes/scheduler.h"

#include <event2/event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/observation.h"

struct sched_target {
	struct scheduler *sched;
	struct audit_target target;
	struct event *timer;
	int64_t interval_us;
	int64_t timeout_us;
	unsigned tiers;
	int running;
	/* passive requests done since the last scheduled run, pooled into the
	 * next one (owned; at most PASSIVE_HELD, the oldest dropped) */
	struct audit_item *held;
	size_t n_held;
	int removed; /* scheduler_remove()d while its run was in flight: freed
	              * when it ends */
};

/* Passive requests of one target that may be in flight at once. */
#define PASSIVE_IN_FLIGHT 4
/* Passive requests held for the next scheduled run of a target. */
#define PASSIVE_HELD 256
#define HOUR_US (3600 * 1000000LL)

struct passive_target {
	struct scheduler *sched;
	struct sched_target *pool; /* the scheduled target its requests join */
	struct audit_target target;
	struct event *timer;
	double per_hour;
	uint64_t rng;
	int64_t timeout_us;
	struct probe_def *probes; /* shallow copies of the eligible probes, one
	                           * sample each (the catalog owns their data) */
	size_t n_probes;
	int64_t started_us; /* monotonic */
	int64_t hour;       /* hours since started_us of the count below */
	long sent_this_hour, budget;
	int in_flight;
	int removed; /* as sched_target's: freed when the last request ends */
};

struct scheduler {
	struct event_base *base;
	struct engine *engine;
	const struct catalog *catalog;
	scheduler_run_cb cb;
	void *arg;
	struct sched_target **targets;
	size_t n;
	struct passive_target **passive;
	size_t n_passive;
	scheduler_canary_cb canary_cb;
	void *canary_arg;
	scheduler_gate_cb gate_cb;
	void *gate_arg;
};

struct scheduler *
scheduler_new(struct event_base *base, struct engine *engine, const struct catalog *catalog,
              scheduler_run_cb cb, void *arg)
{
	struct scheduler *s = xcalloc(1, sizeof *s);
	s->base = base;
	s->engine = engine;
	s->catalog = catalog;
	s->cb = cb;
	s->arg = arg;
	return s;
}

/* The held passive requests join the scheduled run, each as a further
 * sample of its probe (numbered after the run's own), so the assessment
 * weighs them with everything else and storage keeps them with the run. */
static void
pool_into(struct sched_target *t, struct audit_run *run)
{
	if (t->n_held == 0)
		return;
	run->items = xrealloc(run->items, (run->n_items + t->n_held) * sizeof *run->items);
	for (size_t i = 0; i < t->n_held; i++) {
		struct audit_item *it = &t->held[i];
		int sample = 0;
		for (size_t k = 0; k < run->n_items; k++)
			if (strcmp(run->items[k].probe->id, it->probe->id) == 0 &&
			    run->items[k].sample >= sample)
				sample = run->items[k].sample + 1;
		it->sample = sample;
		run->items[run->n_items++] = *it;
		run->n_done++;
	}
	t->n_held = 0;
}

static void
sched_target_free(struct sched_target *t)
{
	for (size_t k = 0; k < t->n_held; k++)
		audit_item_release(&t->held[k]);
	free(t->held);
	event_free(t->timer);
	audit_target_release(&t->target);
	free(t);
}

static void
passive_target_free(struct passive_target *t)
{
	event_free(t->timer);
	audit_target_release(&t->target);
	free(t->probes);
	free(t);
}

static void
run_done_cb(struct audit_run *run, void *arg)
{
	struct sched_target *t = arg;
	t->running = 0;
	pool_into(t, run);
	struct scheduler *s = t->sched;
	if (t->removed)
		sched_target_free(t); /* the run is an observation still: handed on */
	s->cb(run, s->arg);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct sched_target *t = arg;
	struct scheduler *s = t->sched;
	long most = t->target.budget_tokens > 0 ? t->target.budget_tokens : 0;
	if (!t->running && s->gate_cb != NULL && !s->gate_cb(&t->target, most, s->gate_arg)) {
		/* skipped: the gate said why, where it shows */
	} else if (!t->running) {
		t->running = 1;
		/* a fresh canary for this run only (the run borrows it) */
		t->target.canary = s->canary_cb ? s->canary_cb(&t->target, s->canary_arg) : NULL;
		audit_start(s->engine, s->catalog, &t->target, t->tiers, 3, t->timeout_us,
		            run_done_cb, t);
		t->target.canary = NULL;
	}
	struct timeval tv = {(time_t)(t->interval_us / 1000000),
	                     (suseconds_t)(t->interval_us % 1000000)};
	evtimer_add(t->timer, &tv);
}

void
scheduler_set_gate(struct scheduler *s, scheduler_gate_cb cb, void *arg)
{
	s->gate_cb = cb;
	s->gate_arg = arg;
}

/* A passive request costs at most this (its probe's answer, capped). */
#define PASSIVE_MAX_TOKENS 1500

void
scheduler_set_canary(struct scheduler *s, scheduler_canary_cb cb, void *arg)
{
	s->canary_cb = cb;
	s->canary_arg = arg;
}

void
scheduler_add(struct scheduler *s, const struct audit_target *target, int64_t interval_us,
              int64_t first_delay_us, unsigned tiers, int64_t request_timeout_us)
{
	struct sched_target *t = xcalloc(1, sizeof *t);
	t->sched = s;
	audit_target_copy(&t->target, target);
	t->interval_us = interval_us;
	t->timeout_us = request_timeout_us;
	t->tiers = tiers;
	t->timer = evtimer_new(s->base, tick_cb, t);
	struct timeval tv = {(time_t)(first_delay_us / 1000000),
	                     (suseconds_t)(first_delay_us % 1000000)};
	evtimer_add(t->timer, &tv);
	s->targets = xrealloc(s->targets, (s->n + 1) * sizeof *s->targets);
	s->targets[s->n++] = t;
}

long
passive_hour_budget(double per_hour)
{
	long b = (long)ceil(2 * per_hour);
	return b < 2 ? 2 : b;
}

int64_t
passive_next_delay_us(uint64_t *state, double per_hour)
{
	/* u in (0, 1]: -ln(u) is an exponential wait of mean 1 */
	double u = ((double)(splitmix64(state) >> 11) + 1.0) / 9007199254740992.0;
	double us = -log(u) / per_hour * (double)HOUR_US;
	if (us > 30.0 * 24 * HOUR_US) /* a wait longer than a month: a month */
		us = 30.0 * 24 * HOUR_US;
	return us < 1000 ? 1000 : (int64_t)us;
}

int
passive_eligible(const struct probe_def *p, enum traffic_profile traffic)
{
	/* repeat probes compare samples sent with one text: a passive one has
	 * its own, so it cannot join them */
	if (p->tier == TIER_DEEP || p->tier == TIER_THINKING || p->tier == TIER_LONG || p->cold ||
	    p->repeat)
		return 0;
	int tool = p->intent.tool_name != NULL;
	switch (traffic) {
	case TRAFFIC_CHAT:
		return !tool;
	case TRAFFIC_CODING_AGENT:
		return tool || p->intent.json_object || p->intent.n_stop > 0 ||
		       strncmp(p->id, "tokfp-", 6) == 0;
	case TRAFFIC_AUDIT:
		break;
	}
	return 0;
}

static void passive_arm(struct passive_target *t);

/* A passive request ended: held for the next scheduled run of its target
 * (one request is no assessment of its own: alone, it would flip the
 * verdict to inconclusive), or, with no scheduled target, handed on as a
 * run of its own. */
static void
passive_done_cb(struct audit_run *run, void *arg)
{
	struct passive_target *t = arg;
	struct sched_target *pool = t->pool;
	struct scheduler *s = t->sched;
	t->in_flight--;
	if (t->removed && t->in_flight == 0)
		passive_target_free(t);
	if (pool == NULL) {
		s->cb(run, s->arg);
		return;
	}
	for (size_t i = 0; i < run->n_items; i++) {
		if (pool->n_held == PASSIVE_HELD) {
			audit_item_release(&pool->held[0]);
			memmove(pool->held, pool->held + 1,
			        (PASSIVE_HELD - 1) * sizeof *pool->held);
			pool->n_held--;
		}
		if (pool->held == NULL)
			pool->held = xcalloc(PASSIVE_HELD, sizeof *pool->held);
		pool->held[pool->n_held++] = run->items[i];
	}
	run->n_items = 0; /* the items are the pool's now */
	audit_run_free(run);
}

static void
passive_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct passive_target *t = arg;
	int64_t hour = (now_us() - t->started_us) / HOUR_US;
	if (hour != t->hour) {
		t->hour = hour;
		t->sent_this_hour = 0;
	}
	/* the choice is drawn whether or not it goes, so the schedule after a
	 * skipped tick is the same */
	size_t pick = (size_t)(splitmix64(&t->rng) % t->n_probes);
	struct scheduler *s = t->sched;
	if (t->sent_this_hour < t->budget && t->in_flight < PASSIVE_IN_FLIGHT &&
	    (s->gate_cb == NULL || s->gate_cb(&t->target, PASSIVE_MAX_TOKENS, s->gate_arg))) {
		struct catalog one = {.probes = &t->probes[pick], .n = 1};
		t->sent_this_hour++;
		t->in_flight++;
		audit_start(t->sched->engine, &one, &t->target, t->probes[pick].tier, 1,
		            t->timeout_us, passive_done_cb, t);
	}
	passive_arm(t);
}

static void
passive_arm(struct passive_target *t)
{
	int64_t d = passive_next_delay_us(&t->rng, t->per_hour);
	struct timeval tv = {(time_t)(d / 1000000), (suseconds_t)(d % 1000000)};
	evtimer_add(t->timer, &tv);
}

void
scheduler_add_passive(struct scheduler *s, const struct audit_target *target,
                      const struct passive_options *po, int64_t request_timeout_us)
{
	struct passive_target *t = xcalloc(1, sizeof *t);
	t->sched = s;
	audit_target_copy(&t->target, target);
	t->target.list_models = 0; /* clients do not list models before they ask */
	t->per_hour = po->per_hour;
	t->rng = po->seed;
	t->timeout_us = request_timeout_us;
	t->budget = po->hour_budget > 0 ? po->hour_budget : passive_hour_budget(po->per_hour);
	t->started_us = now_us();
	t->probes = xcalloc(s->catalog->n ? s->catalog->n : 1, sizeof *t->probes);
	for (size_t i = 0; i < s->catalog->n; i++) {
		if (!passive_eligible(&s->catalog->probes[i], target->traffic))
			continue;
		t->probes[t->n_probes] = s->catalog->probes[i];
		t->probes[t->n_probes++].samples = 1;
	}
	s->passive = xrealloc(s->passive, (s->n_passive + 1) * sizeof *s->passive);
	s->passive[s->n_passive++] = t;
	/* the scheduled target of the same relay and model, if any */
	for (size_t i = s->n; i-- > 0 && t->pool == NULL;)
		if (strcmp(s->targets[i]->target.relay, t->target.relay) == 0 &&
		    strcmp(s->targets[i]->target.model, t->target.model) == 0 &&
		    strcmp(s->targets[i]->target.base_url, t->target.base_url) == 0)
			t->pool = s->targets[i];
	t->timer = evtimer_new(s->base, passive_tick_cb, t);
	if (t->n_probes > 0 && po->per_hour > 0)
		passive_arm(t);
}

size_t
scheduler_remove(struct scheduler *s, const char *relay, const char *model)
{
	size_t gone = 0, k = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct sched_target *t = s->targets[i];
		if (strcmp(t->target.relay, relay) != 0 || strcmp(t->target.model, model) != 0) {
			s->targets[k++] = t;
			continue;
		}
		gone++;
		/* passive requests pooled into it go as runs of their own now */
		for (size_t p = 0; p < s->n_passive; p++)
			if (s->passive[p]->pool == t)
				s->passive[p]->pool = NULL;
		evtimer_del(t->timer);
		if (t->running)
			t->removed = 1;
		else
			sched_target_free(t);
	}
	s->n = k;
	k = 0;
	for (size_t i = 0; i < s->n_passive; i++) {
		struct passive_target *t = s->passive[i];
		if (strcmp(t->target.relay, relay) != 0 || strcmp(t->target.model, model) != 0) {
			s->passive[k++] = t;
			continue;
		}
		gone++;
		evtimer_del(t->timer);
		if (t->in_flight > 0)
			t->removed = 1;
		else
			passive_target_free(t);
	}
	s->n_passive = k;
	return gone;
}

void
scheduler_free(struct scheduler *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_passive; i++)
		passive_target_free(s->passive[i]);
	free(s->passive);
	for (size_t i = 0; i < s->n; i++)
		sched_target_free(s->targets[i]);
	free(s->targets);
	free(s);
}
