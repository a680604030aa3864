/*
 * scheduler: runs audits of each target on its interval, with libevent
 * timers on the engine's event_base.
 *
 * Targets start staggered over their first interval's first seconds so a
 * restart does not burst every relay at once. A target whose previous run is
 * still going skips a tick rather than piling up.
 *
 * Passive probes (scheduler_add_passive) blend into a relay's traffic: one
 * request at a time, at random moments (a Poisson process: exponential
 * waits of the configured mean rate, from a seeded generator, so a relay
 * cannot learn a period), each a probe of the profile the operator
 * declared (target.traffic), sent with the target's own key and headers.
 * The requests done are held and pooled into the next scheduled run of
 * the same relay and model (further samples of their probes), so they are
 * scored, stored and folded into the evidence window with it; with no
 * scheduled target, each is a run of its own. In any hour since they
 * started, no more than passive_hour_budget() go out: the budget the rate
 * implies.
 */
#ifndef ASSAY_SCHEDULER_H
#define ASSAY_SCHEDULER_H

#include <stdint.h>

#include "probes/audit.h"
#include "probes/catalog.h"

struct event_base;
struct scheduler;

/* Called for each finished run; the callee owns run (audit_run_free). */
typedef void (*scheduler_run_cb)(struct audit_run *run, void *arg);

struct scheduler *scheduler_new(struct event_base *base, struct engine *engine,
                                const struct catalog *catalog, scheduler_run_cb cb, void *arg);
/* Stop all timers and free. Free the engine first: its abort ends the runs
 * in flight through their callbacks, which still need the scheduler; and
 * whoever holds passive runs (their items point at the scheduler's copies
 * of the probes) must be done with them. */
void scheduler_free(struct scheduler *s);
/* Stop auditing relay's model (its scheduled and passive targets); a run
 * in flight still ends and is handed to the callback. How many targets
 * went. */
size_t scheduler_remove(struct scheduler *s, const char *relay, const char *model);

/* Called as each scheduled run starts (not passive ones): the credential
 * canary to plant in it (probes/canary.h), or NULL for none. The run
 * borrows it: the callee keeps it until the run is freed (serve: its
 * target.canary says which it was). */
typedef struct canary *(*scheduler_canary_cb)(const struct audit_target *target, void *arg);
void scheduler_set_canary(struct scheduler *s, scheduler_canary_cb cb, void *arg);

/* Audit target every interval_us, first after first_delay_us. */
void scheduler_add(struct scheduler *s, const struct audit_target *target, int64_t interval_us,
                   int64_t first_delay_us, unsigned tiers, int64_t request_timeout_us);

/* Passive probing of one target. */
struct passive_options {
	double per_hour;  /* mean requests per hour, > 0 */
	uint64_t seed;    /* the waits' and the probe choices' generator */
	long hour_budget; /* at most this many in an hour; 0: passive_hour_budget() */
};

/* Add passive probes of target (its traffic says which probes: see
 * passive_eligible); the first after a random wait. Add the scheduled
 * target first: the passive requests join its runs. */
void scheduler_add_passive(struct scheduler *s, const struct audit_target *target,
                           const struct passive_options *po, int64_t request_timeout_us);

/* The most passive requests in one hour at per_hour: twice the mean,
 * rounded up, and at least 2 (a Poisson count rarely reaches it). */
long passive_hour_budget(double per_hour);
/* The next wait in microseconds of a Poisson process of per_hour events
 * an hour, drawn from *state (advanced); at least 1 ms. */
int64_t passive_next_delay_us(uint64_t *state, double per_hour);
/* Does a target of this traffic send probe p passively? Never a deep,
 * cold or repeat probe; chat: those without a tool; coding agent: those with a
 * tool, JSON mode or stop sequences, and the tokenizer ones (tokfp-*),
 * which any text feeds. */
int passive_eligible(const struct probe_def *p, enum traffic_profile traffic);

#endif
