/*
 * agent_writer: a probe agent's runs, written to the shared store by a
 * thread of their own, so that the agent's event loop never waits on the
 * database.
 *
 * The store is an agent's in another region, often across an ocean: a
 * run's transaction is dozens of round trips, and a database that hangs
 * (a frozen server, a dropped route with the TCP connection still up)
 * makes libpq wait without end. On the loop that stopped every probe and
 * stamped every stream in flight late.
 *
 * Thread: agent_writer_new, agent_writer_push and agent_writer_free from
 * one thread (the agent's loop); the store is the writer's alone between
 * agent_writer_new and agent_writer_free.
 */
#ifndef ASSAY_AGENT_WRITER_H
#define ASSAY_AGENT_WRITER_H

#include <stddef.h>

struct agent_writer;
struct monitor_result;
struct store;

/* Runs waiting to be written, at most: past it the oldest is dropped and
 * said ("LOST"). */
#define AGENT_WRITER_MAX 256

/* Start the writer of region's runs into store (which it uses alone until
 * agent_writer_free). A run the store does not take stays first in line
 * and is tried again after a doubling delay from retry_ms to retry_max_ms,
 * said on stderr each time; when the store takes the waiting runs again,
 * that is said too. NULL if the thread cannot start. */
struct agent_writer *agent_writer_new(struct store *store, const char *region, long retry_ms,
                                      long retry_max_ms);

/* Hand a scored run over (the writer frees it once written or dropped). */
void agent_writer_push(struct agent_writer *w, struct monitor_result *r);

/* Stop: every waiting run is tried once more, in order, for at most
 * wait_ms in all; what is left is said ("LOST") and freed. 0 when the
 * writer ended (the store is the caller's again), -1 when the store did
 * not answer in time: the writer is left blocked in it, and the caller
 * must neither use nor close the store (it exits instead). */
int agent_writer_free(struct agent_writer *w, long wait_ms);

#endif
