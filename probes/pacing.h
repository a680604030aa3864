/*
 * pacing: how many requests the engine may have at each relay, how fast it
 * may send them, and when it must wait.
 *
 * A part of the probe engine, shared by its files only (probes/engine.c
 * calls it); the rest of the tree sets a pool's limits with
 * engine_set_limits() (probes/engine.h), whose comment is the contract seen
 * from outside.
 *
 * Owns: the pools (one per relay name, created on first use, freed with the
 * pacing), their FIFO queues, the engine-wide and per-pool limits on
 * requests at once, the rpm token bucket, the backoff after failures (with
 * jitter, and the relay's own Retry-After), the circuit breaker, and the
 * end, as not_sent with a detail saying what held it, of every queued
 * request that would wait past its deadline.
 *
 * Invariants: a request is queued (pacing_enqueue) until pacing hands it to
 * start or to expire, exactly once, or it is taken back by pacing_drain();
 * one that start put in flight counts against its pool's and the engine's
 * limits until pacing_done(). Requests never sent do not count as the
 * relay's failures.
 *
 * Thread: the event loop's. start and expire are called from
 * pacing_run(), which the engine calls from its own callbacks and after a
 * submit, and from pacing's wake timer.
 */
#ifndef ASSAY_PACING_H
#define ASSAY_PACING_H

#include <stddef.h>
#include <stdint.h>

#include "probes/observation.h"

struct event_base;
struct pacing;
struct pool;

/*
 * A request's place in pacing, embedded in the engine's transfer. The body
 * is here so that the engine can embed it; only probes/pacing.c reads or
 * writes the fields.
 */
struct pacing_entry {
	struct pool *pool;
	struct pacing_entry *next; /* the pool's queue */
	int64_t deadline_us;       /* when queued (now_us()) plus its timeout */
};

/*
 * What pacing asks of the engine, with the arg given to pacing_new().
 * start: hand entry's request to curl; 0 when it is in flight (pacing_done()
 * follows when it ends), -1 when it could not start (the engine ends it
 * itself; it counts against no limit). expire: end entry's request unsent,
 * later, from the loop, with class ec and detail why (valid only during the
 * call: copy it).
 */
typedef int (*pacing_start_fn)(struct pacing_entry *entry, void *arg);
typedef void (*pacing_expire_fn)(struct pacing_entry *entry, enum error_class ec, const char *why,
                                 void *arg);

/* Set up and tear down. */

/* Pacing on base for at most max_in_flight requests at once in all. */
struct pacing *pacing_new(struct event_base *base, size_t max_in_flight, pacing_start_fn start,
                          pacing_expire_fn expire, void *arg);
/* Free the pools and the wake timer; the queues must be empty (see
 * pacing_drain) and nothing in flight. */
void pacing_free(struct pacing *p);
/* Take every queued request out, pool by pool, each in its queue's order,
 * and hand it to end (at teardown: the engine aborts them). */
void pacing_drain(struct pacing *p, void (*end)(struct pacing_entry *entry, void *arg), void *arg);

/* Limits and requests. */

/* As engine_set_limits(): pool (created on first use; NULL: the default)
 * takes at most max_in_flight at once (0: only the engine's limit) and rpm
 * a minute (0: unlimited). */
void pacing_set_limits(struct pacing *p, const char *pool, size_t max_in_flight, double rpm);
/* Queue entry in pool (NULL: the default) with a deadline timeout_us from
 * now; pacing_run() starts it when the limits allow. */
void pacing_enqueue(struct pacing *p, struct pacing_entry *entry, const char *pool,
                    int64_t timeout_us);
/*
 * Start what the limits allow, taking pools in turn so one busy relay does
 * not starve the others, and expire what would wait past its deadline.
 * Arms the wake timer for the next request that may start, or for the next
 * deadline check.
 */
void pacing_run(struct pacing *p);
/* entry's request, in flight, has ended: it no longer counts. */
void pacing_done(struct pacing *p, struct pacing_entry *entry);
/* What entry's request came to, at now: after a 429, a 5xx or a timeout
 * its pool backs off (a request never sent, or aborted, is no news of the
 * relay: it changes nothing). */
void pacing_note_result(struct pacing *p, struct pacing_entry *entry, const struct observation *o,
                        int64_t now);

#endif
