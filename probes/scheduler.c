/*
 * scheduler: one persistent libevent timer per target.
 */
#include "probes/scheduler.h"

#include <event2/event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct sched_target {
	struct scheduler *sched;
	struct audit_target target;
	struct event *timer;
	int64_t interval_us;
	int64_t timeout_us;
	unsigned tiers;
	int running;
};

/* Passive requests of one target that may be in flight at once. */
#define PASSIVE_IN_FLIGHT 4
#define HOUR_US (3600 * 1000000LL)

struct passive_target {
	struct scheduler *sched;
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

static void
run_done_cb(struct audit_run *run, void *arg)
{
	struct sched_target *t = arg;
	t->running = 0;
	t->sched->cb(run, t->sched->arg);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct sched_target *t = arg;
	struct scheduler *s = t->sched;
	if (!t->running) {
		t->running = 1;
		audit_start(s->engine, s->catalog, &t->target, t->tiers, 3, t->timeout_us,
		            run_done_cb, t);
	}
	struct timeval tv = {(time_t)(t->interval_us / 1000000),
	                     (suseconds_t)(t->interval_us % 1000000)};
	evtimer_add(t->timer, &tv);
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

/* splitmix64: small, seedable, good enough for waits and choices */
static uint64_t
next_u64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
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
	double u = ((double)(next_u64(state) >> 11) + 1.0) / 9007199254740992.0;
	double us = -log(u) / per_hour * (double)HOUR_US;
	if (us > 30.0 * 24 * HOUR_US) /* a wait longer than a month: a month */
		us = 30.0 * 24 * HOUR_US;
	return us < 1000 ? 1000 : (int64_t)us;
}

int
passive_eligible(const struct probe_def *p, enum traffic_profile traffic)
{
	if (p->tier == TIER_DEEP || p->cold)
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

static void
passive_done_cb(struct audit_run *run, void *arg)
{
	struct passive_target *t = arg;
	t->in_flight--;
	t->sched->cb(run, t->sched->arg);
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
	size_t pick = (size_t)(next_u64(&t->rng) % t->n_probes);
	if (t->sent_this_hour < t->budget && t->in_flight < PASSIVE_IN_FLIGHT) {
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
	t->budget = passive_hour_budget(po->per_hour);
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
	t->timer = evtimer_new(s->base, passive_tick_cb, t);
	if (t->n_probes > 0 && po->per_hour > 0)
		passive_arm(t);
}

void
scheduler_free(struct scheduler *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_passive; i++) {
		event_free(s->passive[i]->timer);
		audit_target_release(&s->passive[i]->target);
		free(s->passive[i]->probes);
		free(s->passive[i]);
	}
	free(s->passive);
	for (size_t i = 0; i < s->n; i++) {
		event_free(s->targets[i]->timer);
		audit_target_release(&s->targets[i]->target);
		free(s->targets[i]);
	}
	free(s->targets);
	free(s);
}
