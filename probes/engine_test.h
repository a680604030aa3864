/*
 * engine_test: the probe engine's hooks for tests/ and bench/, and only for
 * them (as SQLite fences its own behind SQLITE_TEST).
 *
 * The product never includes this header: tests/test_hooks.c fails when a
 * file outside tests/ and bench/ does, but for the engine's own files that
 * define what it declares (probes/engine.c, probes/arrival.c), which include
 * it so that the compiler checks their definitions against it.
 *
 * Two of the hooks are fields of struct engine_options (probes/engine.h)
 * rather than declarations here, because callers fill that struct by name;
 * the product leaves them 0 (tests/test_hooks.c checks that too):
 *
 *   precise_base          the base was made by engine_base_new(): chunks
 *                         without a kernel stamp that are read in one turn
 *                         of the loop are stamped with the time it woke
 *                         (probes/arrival.c). Costs a timerfd syscall per
 *                         timer change (~10% more CPU with 1,000 slow
 *                         streams), which is why the product does not.
 *   bench_discard_bodies  response bytes are read and dropped, never
 *                         parsed (no SSE, no JSON), to show what curl and
 *                         the kernel cost alone; observations keep status
 *                         and timings only.
 *
 * Everything here runs on the caller's thread; the engine's own rules
 * (probes/engine.h) still hold.
 */
#ifndef ASSAY_ENGINE_TEST_H
#define ASSAY_ENGINE_TEST_H

#include <stdint.h>
#include <sys/time.h>

#include "probes/engine.h"

struct event_base;

/* An event_base whose loop time is precise (EVENT_BASE_FLAG_PRECISE_TIMER),
 * for engine_options.precise_base; NULL on failure. The caller frees it
 * with event_base_free(), after engine_free(). */
struct event_base *engine_base_new(void);

/*
 * The arrival clock: one stamp per turn of the event loop. loop_time is
 * libevent's cached time for the turn; while it is unchanged, the stamp
 * taken at the turn's first call (now) is returned again. The engine keeps
 * one (probes/arrival.c); a test may keep its own, zeroed.
 */
struct arrival_clock {
	struct timeval loop_time;
	int64_t stamp_us;
};
int64_t arrival_clock_stamp(struct arrival_clock *c, const struct timeval *loop_time, int64_t now);

/*
 * When the kernel received the first unread segment on TCP socket fd (which
 * has SO_TIMESTAMPNS on; segments merged while unread carry the newest
 * one's time), on the now_us() clock; 0 when unknown. Nothing is consumed
 * (MSG_PEEK).
 */
int64_t kernel_arrival_us(int fd);

#endif
