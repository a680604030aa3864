/*
 * scheduler: one persistent libevent timer per target.
 */
#include "probes/scheduler.h"

#include <event2/event.h>
#include <stdlib.h>

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

struct scheduler {
	struct event_base *base;
	struct engine *engine;
	const struct catalog *catalog;
	scheduler_run_cb cb;
	void *arg;
	struct sched_target **targets;
	size_t n;
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

void
scheduler_free(struct scheduler *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		event_free(s->targets[i]->timer);
		audit_target_release(&s->targets[i]->target);
		free(s->targets[i]);
	}
	free(s->targets);
	free(s);
}
