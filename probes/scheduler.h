/*
 * scheduler: runs audits of each target on its interval, with libevent
 * timers on the engine's event_base.
 *
 * Targets start staggered over their first interval's first seconds so a
 * restart does not burst every relay at once. A target whose previous run is
 * still going skips a tick rather than piling up.
 */
#ifndef ASSAY_SCHEDULER_H
#define ASSAY_SCHEDULER_H

#include <stdint.h>

#include "probes/audit.h"

struct event_base;
struct scheduler;

/* Called for each finished run; the callee owns run (audit_run_free). */
typedef void (*scheduler_run_cb)(struct audit_run *run, void *arg);

struct scheduler *scheduler_new(struct event_base *base, struct engine *engine,
                                const struct catalog *catalog, scheduler_run_cb cb, void *arg);
/* Stop all timers and free. Free the engine first: its abort ends the runs
 * in flight through their callbacks, which still need the scheduler. */
void scheduler_free(struct scheduler *s);

/* Audit target every interval_us, first after first_delay_us. */
void scheduler_add(struct scheduler *s, const struct audit_target *target, int64_t interval_us,
                   int64_t first_delay_us, unsigned tiers, int64_t request_timeout_us);

#endif
