/*
 * events: Server-Sent Events for `assay serve` (GET /api/v1/events), on
 * libmicrohttpd's suspend and resume, so that no thread of the daemon ever
 * waits on a quiet stream.
 *
 * A stream is a response whose content reader writes what the board says
 * changed (board_events: an "entry" event each, its id the change's number)
 * and, when nothing did, suspends its connection and returns 0, the pattern
 * microhttpd.h gives for a reader with no data yet (returning 0 without it
 * would spin the polling thread). One ticker thread resumes a suspended
 * stream when the board changed past what it sent, when a keep-alive
 * comment is due (EVENTS_KEEPALIVE_MS; suspended connections do not time
 * out, so the comment also finds dead peers), or when the stream has lived
 * EVENTS_MAX_STREAM_MS (it ends; EventSource reconnects with Last-Event-ID
 * after the retry: it was given). At most EVENTS_MAX_CLIENTS streams at
 * once; past them, 503 with Retry-After.
 *
 * Event format: the WHATWG HTML standard, "Server-sent events" (9.2): lines
 * "event:", "id:", "data:", a blank line ends an event, a line starting
 * with ':' is a comment, "retry:" sets the reconnection time.
 */
#ifndef ASSAY_EVENTS_H
#define ASSAY_EVENTS_H

#include <microhttpd.h>
#include <stdint.h>

#define EVENTS_MAX_CLIENTS 64
#define EVENTS_KEEPALIVE_MS 15000
#define EVENTS_MAX_STREAM_MS (10 * 60 * 1000)
#define EVENTS_TICK_MS 250
#define EVENTS_BATCH 32 /* entries per write */
#define EVENTS_RETRY_MS 5000

struct board;
struct events;

struct events *events_new(struct board *board);
/* Before MHD_stop_daemon: the ticker stops, every stream is resumed and
 * ends at its next write. */
void events_stop(struct events *ev);
/* After MHD_stop_daemon (no stream is left). */
void events_free(struct events *ev);
/* Answer GET /api/v1/events on c: since is the client's Last-Event-ID (or
 * the since= parameter), NULL for none. */
enum MHD_Result events_respond(struct events *ev, struct MHD_Connection *c, const char *since);
/* Streams open now (tests, /about). */
unsigned events_clients(struct events *ev);

#endif
