/*
 * pacing: per-relay pools, their queues and the waits between requests.
 *
 * A pool paces the requests to one relay: at most max_in_flight at once, at
 * most rpm a minute (a token bucket holding at most a second's worth), and
 * none while the relay asked us to wait (Retry-After) or while backing off
 * after failures (exponential, with jitter). Requests wait in the pool's
 * FIFO, but never past their deadline.
 *
 * A queued request, at each pacing_run():
 *
 *   queued --(deadline passed, or the pause outlasts it)--> expired (not_sent:
 *      |                                                    what held it)
 *      +--(circuit open: CIRCUIT_FAILURES in a row, --> expired (not_sent:
 *      |   still backing off)                           the failures)
 *      +--(room in pool and engine, a token, no pause)--> start --> in flight
 *      +--(otherwise)--> stays; the wake timer is set for when it may start,
 *                        or QUEUE_CHECK_US on to check deadlines again
 *
 * In flight, until pacing_done(); its result (pacing_note_result) sets the
 * pool's failure count and pause. The detail strings are data: the
 * requests one cause held share one detail, and findings group them by it.
 */
#include "probes/pacing.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* Consecutive failures after which a pool stops queueing while it backs off
 * (the circuit breaker). */
#define CIRCUIT_FAILURES 5

/* Backoff after the n-th failure in a row: BACKOFF_MIN_US doubled n - 1
 * times (at most BACKOFF_MAX_DOUBLINGS, which keeps the shift small), at
 * most BACKOFF_MAX_US, then a random point of its upper half. */
#define BACKOFF_MIN_US 1000000
#define BACKOFF_MAX_US 30000000
#define BACKOFF_MAX_DOUBLINGS 9

/* A relay's Retry-After is honoured up to this many seconds: a longer one
 * would park the pool, and the requests' own deadlines end them anyway. */
#define RETRY_AFTER_MAX_S 600

/* While requests wait with nothing to wake for, their deadlines are checked
 * this often. */
#define QUEUE_CHECK_US 1000000

#define US_PER_MINUTE 60e6

/* The jitter's generator: the C standard's example rand(), an LCG; taken
 * from bits 8 and up, its low bits being the weakest. Not for secrets. */
#define JITTER_LCG_MUL 1103515245u
#define JITTER_LCG_ADD 12345u
#define JITTER_LCG_SHIFT 8

struct pool {
	char *name;
	struct pool *next;
	size_t max_in_flight; /* 0: only the engine's limit */
	double rpm;           /* 0: unlimited */
	double tokens;        /* the bucket */
	int64_t refill_us;
	int64_t paused_until_us;
	int failures; /* consecutive 429 / 5xx / timeout failures */
	enum error_class last_error;
	/* what set the pause, said to the requests it keeps from being sent */
	int pause_by_relay; /* the relay's Retry-After, not our own backoff */
	enum error_class pause_class;
	size_t in_flight;
	struct pacing_entry *queue_head, *queue_tail;
};

struct pacing {
	struct event_base *base;
	struct event *wake; /* a paced pool may start again */
	int64_t wake_at_us; /* when wake is due; 0: not pending */
	size_t max_in_flight;
	size_t in_flight;
	size_t queued;
	struct pool *pools;
	struct pool *rr; /* where the next round-robin pass starts */
	unsigned rand_state;
	pacing_start_fn start;
	pacing_expire_fn expire;
	void *arg;
};

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pacing *p = arg;
	p->wake_at_us = 0;
	pacing_run(p);
}

struct pacing *
pacing_new(struct event_base *base, size_t max_in_flight, pacing_start_fn start,
           pacing_expire_fn expire, void *arg)
{
	struct pacing *p = xcalloc(1, sizeof *p);
	p->base = base;
	p->max_in_flight = max_in_flight;
	p->start = start;
	p->expire = expire;
	p->arg = arg;
	p->wake = evtimer_new(base, wake_cb, p);
	p->rand_state = (unsigned)now_us();
	return p;
}

void
pacing_free(struct pacing *p)
{
	if (p == NULL)
		return;
	event_free(p->wake);
	while (p->pools != NULL) {
		struct pool *pool = p->pools;
		p->pools = pool->next;
		free(pool->name);
		free(pool);
	}
	free(p);
}

static struct pool *
pool_get(struct pacing *p, const char *name)
{
	if (name == NULL)
		name = "";
	for (struct pool *pool = p->pools; pool != NULL; pool = pool->next)
		if (strcmp(pool->name, name) == 0)
			return pool;
	struct pool *pool = xcalloc(1, sizeof *pool);
	pool->name = xstrdup(name);
	pool->next = p->pools;
	pool->refill_us = now_us();
	p->pools = pool;
	return pool;
}

static struct pacing_entry *
pool_pop(struct pacing *p, struct pool *pool)
{
	struct pacing_entry *entry = pool->queue_head;
	pool->queue_head = entry->next;
	if (pool->queue_head == NULL)
		pool->queue_tail = NULL;
	entry->next = NULL;
	p->queued--;
	return entry;
}

void
pacing_drain(struct pacing *p, void (*end)(struct pacing_entry *entry, void *arg), void *arg)
{
	for (struct pool *pool = p->pools; pool != NULL; pool = pool->next)
		while (pool->queue_head != NULL)
			end(pool_pop(p, pool), arg);
}

/* The most tokens pool's bucket holds: a second's worth, plus one. */
static double
pool_burst(const struct pool *pool)
{
	return pool->rpm / 60.0 + 1;
}

void
pacing_set_limits(struct pacing *p, const char *name, size_t max_in_flight, double rpm)
{
	struct pool *pool = pool_get(p, name);
	pool->max_in_flight = max_in_flight;
	pool->rpm = rpm > 0 ? rpm : 0;
	pool->tokens = pool->rpm > 0 ? (pool->rpm < 1 ? 1 : pool_burst(pool)) : 0;
	pool->refill_us = now_us();
}

void
pacing_enqueue(struct pacing *p, struct pacing_entry *entry, const char *name, int64_t timeout_us)
{
	struct pool *pool = pool_get(p, name);
	entry->pool = pool;
	entry->next = NULL;
	entry->deadline_us = now_us() + timeout_us;
	if (pool->queue_tail != NULL)
		pool->queue_tail->next = entry;
	else
		pool->queue_head = entry;
	pool->queue_tail = entry;
	p->queued++;
}

static void
pool_refill(struct pool *pool, int64_t now)
{
	if (pool->rpm <= 0)
		return;
	double burst = pool_burst(pool);
	pool->tokens += (double)(now - pool->refill_us) * pool->rpm / US_PER_MINUTE;
	if (pool->tokens > burst)
		pool->tokens = burst;
	pool->refill_us = now;
}

/* When may pool start its next request? now if it can; else a later time. */
static int64_t
pool_ready_at(const struct pool *pool, int64_t now)
{
	if (pool->paused_until_us > now)
		return pool->paused_until_us;
	if (pool->rpm > 0 && pool->tokens < 1)
		return now + (int64_t)((1 - pool->tokens) * US_PER_MINUTE / pool->rpm) + 1;
	return now;
}

void
pacing_done(struct pacing *p, struct pacing_entry *entry)
{
	entry->pool->in_flight--;
	p->in_flight--;
}

/* Backoff after a failure, honouring Retry-After: exponential from
 * BACKOFF_MIN_US to BACKOFF_MAX_US, with jitter on the upper half so relays
 * are not hit in step. */
void
pacing_note_result(struct pacing *p, struct pacing_entry *entry, const struct observation *o,
                   int64_t now)
{
	/* what was never sent says nothing about the relay */
	if (o->error == ERR_ABORTED || o->error == ERR_NOT_SENT)
		return;
	struct pool *pool = entry->pool;
	/* a refused connection has nobody to spare: no backoff for it */
	int failed =
	    o->error == ERR_RATE_LIMITED || o->error == ERR_UPSTREAM || o->error == ERR_TIMEOUT;
	if (!failed) {
		pool->failures = 0;
		return;
	}
	pool->failures++;
	pool->last_error = o->error;
	int shift =
	    pool->failures - 1 < BACKOFF_MAX_DOUBLINGS ? pool->failures - 1 : BACKOFF_MAX_DOUBLINGS;
	int64_t backoff = (int64_t)BACKOFF_MIN_US << shift;
	if (backoff > BACKOFF_MAX_US)
		backoff = BACKOFF_MAX_US;
	p->rand_state = p->rand_state * JITTER_LCG_MUL + JITTER_LCG_ADD;
	backoff = backoff / 2 +
	          (int64_t)((p->rand_state >> JITTER_LCG_SHIFT) % (uint64_t)(backoff / 2 + 1));
	int64_t until = now + backoff;
	int by_relay = 0;
	if (o->retry_after_s >= 0) {
		int64_t ra =
		    (o->retry_after_s < RETRY_AFTER_MAX_S ? o->retry_after_s : RETRY_AFTER_MAX_S) *
		    1000000LL;
		if (now + ra > until) {
			until = now + ra;
			by_relay = 1;
		}
	}
	if (until > pool->paused_until_us) {
		pool->paused_until_us = until;
		pool->pause_by_relay = by_relay;
		pool->pause_class = o->error;
	}
}

static void
arm_wake(struct pacing *p, int64_t at, int64_t now)
{
	if (p->wake_at_us != 0 && p->wake_at_us <= at)
		return;
	p->wake_at_us = at;
	int64_t d = at > now ? at - now : 0;
	struct timeval tv = {(time_t)(d / 1000000), (suseconds_t)(d % 1000000)};
	evtimer_add(p->wake, &tv);
}

/*
 * Why a request waiting in pool ends unsent at its deadline (why: its
 * detail). Each reason is what held it: the relay's own Retry-After, our
 * backoff after the relay's failures, the pace set for the relay, or the
 * limit on requests at once. No counts that change from one request to the
 * next: the requests one cause held share one detail, and findings group
 * them by it.
 */
static void
not_sent_reason(const struct pacing *p, const struct pool *pool, int64_t now, char *why, size_t n)
{
	if (pool->paused_until_us > now && pool->pause_by_relay)
		snprintf(why, n,
		         "the relay's Retry-After asked for a pause past the request's deadline");
	else if (pool->paused_until_us > now)
		snprintf(why, n,
		         "Assay was giving the relay time to recover from failed requests (%s) "
		         "past the request's deadline",
		         error_class_name(pool->pause_class));
	else if (pool->rpm > 0 && pool->tokens < 1)
		snprintf(
		    why, n,
		    "it waited for the pace set for this relay (%g requests a minute) past its "
		    "deadline",
		    pool->rpm);
	else
		snprintf(why, n,
		         "it waited for a free slot (at most %zu at once) past its deadline",
		         pool->max_in_flight != 0 && pool->max_in_flight < p->max_in_flight
		             ? pool->max_in_flight
		             : p->max_in_flight);
}

/* Expire what waits in pool and cannot be sent in time: what waited past
 * its deadline, or that the relay's pause would hold past it, and, while
 * the circuit is open, everything. Each ends as not_sent with its reason: a
 * paced relay never makes a probe hang, and is never said to have refused
 * what it was never asked. */
static void
pool_expire(struct pacing *p, struct pool *pool, int64_t now)
{
	char why[OBS_DETAIL_CAP];
	while (pool->queue_head != NULL &&
	       (now > pool->queue_head->deadline_us ||
	        pool->paused_until_us > pool->queue_head->deadline_us)) {
		struct pacing_entry *entry = pool_pop(p, pool);
		not_sent_reason(p, pool, now, why, sizeof why);
		p->expire(entry, ERR_NOT_SENT, why, p->arg);
	}
	/* circuit open: the relay failed CIRCUIT_FAILURES in a row and is
	 * still backing off; what waits ends at once, unsent */
	while (pool->queue_head != NULL && pool->failures >= CIRCUIT_FAILURES &&
	       pool->paused_until_us > now) {
		struct pacing_entry *entry = pool_pop(p, pool);
		snprintf(why, sizeof why,
		         "the relay had failed %d requests in a row (%s) and "
		         "was given time to recover",
		         pool->failures, error_class_name(pool->last_error));
		p->expire(entry, ERR_NOT_SENT, why, p->arg);
	}
}

/* Hand entry to the engine; what started counts against the limits. */
static void
pool_start(struct pacing *p, struct pool *pool, struct pacing_entry *entry)
{
	if (p->start(entry, p->arg) != 0)
		return;
	p->in_flight++;
	pool->in_flight++;
	if (pool->rpm > 0)
		pool->tokens -= 1;
}

void
pacing_run(struct pacing *p)
{
	int64_t now = now_us();
	int64_t next_wake = 0;
	int progress = 1;
	/* deadlines first, in every pool: a request behind a full engine
	 * (the loop below does not run then) must still end at its own */
	for (struct pool *pool = p->pools; pool != NULL && p->queued > 0; pool = pool->next)
		if (pool->queue_head != NULL)
			pool_expire(p, pool, now);
	while (progress && p->in_flight < p->max_in_flight && p->queued > 0) {
		progress = 0;
		struct pool *first = p->rr ? p->rr : p->pools;
		struct pool *pool = first;
		do {
			if (pool == NULL)
				pool = p->pools;
			if (pool->queue_head != NULL) {
				pool_expire(p, pool, now);
				pool_refill(pool, now);
				int64_t ready = pool_ready_at(pool, now);
				int room = pool->max_in_flight == 0 ||
				           pool->in_flight < pool->max_in_flight;
				if (pool->queue_head != NULL && room && ready <= now &&
				    p->in_flight < p->max_in_flight) {
					pool_start(p, pool, pool_pop(p, pool));
					progress = 1;
				} else if (pool->queue_head != NULL && room && ready > now &&
				           (next_wake == 0 || ready < next_wake)) {
					next_wake = ready;
				}
			}
			pool = pool->next ? pool->next : p->pools;
		} while (pool != first);
		p->rr = first->next; /* the next pass starts one pool later */
	}
	if (next_wake != 0)
		arm_wake(p, next_wake, now);
	/* queued requests also need their deadlines checked while blocked */
	if (p->queued > 0 && next_wake == 0)
		arm_wake(p, now + QUEUE_CHECK_US, now);
}
