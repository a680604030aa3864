/*
 * agent_writer: the agent's runs go to the store from this thread, in the
 * order they were scored.
 *
 * States of a run: WAITING (in the ring) -> WRITING (cur: the writer took
 * it, the lock is let go while the store works) -> written and freed; a
 * write that fails puts it back first in the ring, and the writer sleeps
 * for the retry delay (doubling, capped) or until it is told to stop. A
 * push that finds AGENT_WRITER_MAX runs waiting or being written drops the
 * oldest waiting one and says so. At the stop the writer tries what waits
 * once more, in order, until the deadline or the first failure.
 *
 * Invariants: n + (cur != NULL) <= AGENT_WRITER_MAX, so a run put back
 * always fits; only the writer touches the store and cur's run while it
 * writes; every run pushed is freed exactly once (written, dropped, or
 * left at the stop); everything else under mu.
 */
#include "cli/agent_writer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "probes/audit.h"
#include "scoring/monitor.h"
#include "storage/store.h"

struct agent_writer {
	struct store *store;
	char region[STORE_REGION_MAX + 1];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;  /* a run came, or the stop */
	pthread_cond_t ended; /* the writer is done */
	struct monitor_result *ring[AGENT_WRITER_MAX];
	size_t head, n;
	struct monitor_result *cur; /* being written, out of the ring */
	long lost;
	long retry_ms, retry_max_ms;
	int failing;        /* the last write failed: said once it works again */
	int stop;           /* agent_writer_free was called */
	int done;           /* the thread is past its last use of the store */
	int64_t stop_by_us; /* the stop's deadline (now_us) */
	char why[512];      /* the store's words for the last failure */
};

/* CLOCK_MONOTONIC, at + ms, for pthread_cond_timedwait. */
static struct timespec
deadline_in(int64_t us)
{
	int64_t at = now_us() + us;
	struct timespec ts = {(time_t)(at / 1000000), (long)(at % 1000000) * 1000};
	return ts;
}

static struct monitor_result *
ring_pop(struct agent_writer *w)
{
	struct monitor_result *r = w->ring[w->head];
	w->head = (w->head + 1) % AGENT_WRITER_MAX;
	w->n--;
	return r;
}

static void
ring_push_front(struct agent_writer *w, struct monitor_result *r)
{
	w->head = (w->head + AGENT_WRITER_MAX - 1) % AGENT_WRITER_MAX;
	w->ring[w->head] = r;
	w->n++;
}

static void *
writer_main(void *arg)
{
	struct agent_writer *w = arg;
	long delay = w->retry_ms;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->n == 0 && !w->stop)
			pthread_cond_wait(&w->wake, &w->mu);
		if (w->n == 0 || (w->stop && now_us() >= w->stop_by_us))
			break;
		w->cur = ring_pop(w);
		pthread_mutex_unlock(&w->mu);
		int64_t id = store_agent_save_run_with(w->store, w->region, w->cur->run, &w->cur->a,
		                                       &w->cur->entry);
		pthread_mutex_lock(&w->mu);
		if (id >= 0) {
			monitor_result_free(w->cur);
			w->cur = NULL;
			delay = w->retry_ms;
			if (w->failing && w->n == 0) {
				w->failing = 0;
				fprintf(
				    stderr,
				    "assay agent %s: database written again: every waiting run is "
				    "saved\n",
				    w->region);
			}
			continue;
		}
		snprintf(w->why, sizeof w->why, "%s", store_last_error(w->store));
		ring_push_front(w, w->cur);
		w->cur = NULL;
		w->failing = 1;
		if (w->stop)
			break; /* tried once more at the stop */
		fprintf(stderr,
		        "assay agent %s: cannot write the database (%s): %zu run%s waiting, "
		        "retrying in %ld ms\n",
		        w->region, w->why, w->n, w->n == 1 ? "" : "s", delay);
		struct timespec until = deadline_in((int64_t)delay * 1000);
		while (!w->stop && pthread_cond_timedwait(&w->wake, &w->mu, &until) == 0)
			;
		delay = delay * 2 > w->retry_max_ms ? w->retry_max_ms : delay * 2;
	}
	w->done = 1;
	pthread_cond_signal(&w->ended);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct agent_writer *
agent_writer_new(struct store *store, const char *region, long retry_ms, long retry_max_ms)
{
	struct agent_writer *w = xcalloc(1, sizeof *w);
	w->store = store;
	snprintf(w->region, sizeof w->region, "%s", region);
	w->retry_ms = retry_ms > 0 ? retry_ms : 1;
	w->retry_max_ms = retry_max_ms > w->retry_ms ? retry_max_ms : w->retry_ms;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->wake, &ca);
	pthread_cond_init(&w->ended, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_cond_destroy(&w->wake);
		pthread_cond_destroy(&w->ended);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

void
agent_writer_push(struct agent_writer *w, struct monitor_result *r)
{
	struct monitor_result *dropped = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->n > 0 && w->n + (w->cur != NULL) >= AGENT_WRITER_MAX) {
		dropped = ring_pop(w);
		w->lost++;
		fprintf(stderr,
		        "assay agent %s: LOST a run of %s %s: %d runs were waiting for the "
		        "database (%ld lost so far)\n",
		        w->region, dropped->run->target.relay, dropped->run->target.model,
		        AGENT_WRITER_MAX, w->lost);
	}
	w->ring[(w->head + w->n) % AGENT_WRITER_MAX] = r;
	w->n++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	monitor_result_free(dropped);
}

int
agent_writer_free(struct agent_writer *w, long wait_ms)
{
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	w->stop_by_us = now_us() + (int64_t)wait_ms * 1000;
	pthread_cond_signal(&w->wake);
	/* a little past the writer's own deadline: a write under way ends */
	struct timespec until = deadline_in((int64_t)wait_ms * 1000 + 100000);
	while (!w->done && pthread_cond_timedwait(&w->ended, &w->mu, &until) == 0)
		;
	if (!w->done) {
		size_t left = w->n + (w->cur != NULL);
		fprintf(stderr,
		        "assay agent %s: LOST %zu run%s: the database did not answer within %ld "
		        "ms\n",
		        w->region, left, left == 1 ? "" : "s", wait_ms);
		pthread_mutex_unlock(&w->mu);
		return -1; /* the writer is blocked in the store: left to the exit */
	}
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	if (w->n > 0)
		fprintf(stderr,
		        "assay agent %s: LOST %zu run%s: the database would not take them (%s)\n",
		        w->region, w->n, w->n == 1 ? "" : "s",
		        w->failing ? w->why : "the stop's deadline came first");
	while (w->n > 0)
		monitor_result_free(ring_pop(w));
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->ended);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return 0;
}
