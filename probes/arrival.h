/*
 * arrival: when the bytes of a response arrived, and whether those times
 * say anything about the relay.
 *
 * A part of the probe engine, shared by its files only (probes/engine.c
 * calls it); the rest of the tree uses probes/engine.h and reads the
 * results in observations (chunk times, timing_disturbed).
 *
 * Owns: the stamp each read gets (best first: the kernel's receive time of
 * the socket being read, peeked before curl reads it; else the time the
 * loop's turn woke, on a precise base; else the time of the read), the
 * loop's turns as the engine's callbacks see them, the lag timer that
 * measures the loop's own lateness while transfers are in flight, and the
 * rules that mark a stream's timing as disturbed: chunks read at once that
 * may have waited long in the socket, or a first chunk read right as the
 * loop woke from a stall. Their bunching may be ours, not the relay's.
 *
 * Invariants: the lag timer runs while a transfer is in flight (between
 * arrival_transfer_start() and arrival_transfer_stop()) and stops at its
 * first tick after the last one; a read stamp is set only between
 * arrival_run_begin() and arrival_run_end(), around one curl run.
 *
 * Thread: the event loop's, like the engine (libevent and curl callbacks).
 */
#ifndef ASSAY_ARRIVAL_H
#define ASSAY_ARRIVAL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct arrival;

/*
 * One transfer's share of the tracking. The body is here so that the
 * engine can embed it in its transfer; only probes/arrival.c reads or
 * writes the fields.
 */
struct arrival_transfer {
	int sock;                      /* its connection's socket, as curl named it */
	int streamed;                  /* a stream: its chunk times matter */
	unsigned long read_seq;        /* the curl run chunks_in_read counts */
	size_t chunks_in_read;         /* content chunks that run gave */
	size_t events_in_read;         /* stream events of any kind it gave */
	unsigned long stalls_at_start; /* loop stalls seen before it started */
};

/* Set up and tear down. */

/* Arrival tracking on base (precise: it came from engine_base_new()). Its
 * events are base's: free it (after the transfers) before the base. */
struct arrival *arrival_new(struct event_base *base, int precise);
void arrival_free(struct arrival *a);

/* Sockets and curl's runs. */

/* A new connection's socket fd: ask the kernel to stamp what it receives
 * (where it cannot, arrivals are stamped when read). */
void arrival_socket_opened(int fd);
/* Curl is about to run from a loop callback (and may read read_fd; -1:
 * reads no socket of its own, a timer): opens the loop's turn if it is the
 * first, and takes read_fd's kernel stamp. */
void arrival_run_begin(struct arrival *a, int read_fd);
/* Curl's run is over: its read stamp is forgotten. */
void arrival_run_end(struct arrival *a);

/* One transfer's life. */

/* Before curl sees the transfer: no socket, nothing read. */
void arrival_transfer_init(struct arrival_transfer *t, int streamed);
/* Curl named fd as the transfer's socket (a transfer sharing an HTTP/2
 * connection may never be named: it is stamped by the loop instead). */
void arrival_transfer_socket(struct arrival_transfer *t, int fd);
/* The transfer is in flight, or no longer: the lag timer runs while any
 * is. Each start is followed by one stop. */
void arrival_transfer_start(struct arrival *a, struct arrival_transfer *t);
void arrival_transfer_stop(struct arrival *a, struct arrival_transfer *t);

/* Stamps and what they are worth. */

/* The arrival time of the bytes being given to t now (read at now, on the
 * now_us() clock), never before the transfer started at start_us. */
int64_t arrival_stamp(struct arrival *a, const struct arrival_transfer *t, int64_t start_us,
                      int64_t now);
/* The bytes read at read_at, stamped stamp, gave new_chunks content
 * chunks among new_events stream events of any kind: when the stream's
 * timing is disturbed by it (a content chunk read in one run with other
 * events, all under one stamp, when they may have come far apart), how far
 * at most a chunk's arrival is from its stamp in microseconds (> 0);
 * else 0. */
int64_t arrival_read_disturbed(const struct arrival *a, struct arrival_transfer *t,
                               size_t new_chunks, size_t new_events, int64_t read_at,
                               int64_t stamp);
/* At the end of t, whose first content chunk arrived at first_chunk_at:
 * when that was right as the loop woke from a stall since t started (the
 * chunk had waited in the socket), the stall's length in microseconds
 * (> 0); else 0. */
int64_t arrival_first_chunk_stalled(const struct arrival *a, const struct arrival_transfer *t,
                                    int64_t first_chunk_at);

#endif
