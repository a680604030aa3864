/*
 * sse: an incremental parser for Server-Sent Events (the WHATWG
 * event-stream format) as LLM APIs stream them.
 *
 * Bytes arrive in arbitrary pieces; the parser splits lines on LF, CRLF or CR,
 * skips comments (": keep-alive"), joins multi-line data with LF, and calls
 * back once per dispatched event (at a blank line). Events without data are
 * not dispatched, as the spec says. Each line and each event's data is capped:
 * passing a cap makes sse_feed() fail and the stream is to be abandoned.
 */
#ifndef ASSAY_SSE_H
#define ASSAY_SSE_H

#include <stddef.h>

#include "base/util.h"

/* Called per event; event is "" when the stream named none. Return 0 to go
 * on, -1 to stop parsing (sse_feed then returns -1). */
typedef int (*sse_event_cb)(const char *event, const char *data, size_t len, void *arg);

struct sse_parser {
	struct buf line;  /* the line being read */
	struct buf data;  /* data of the event being built */
	struct buf event; /* event name */
	int has_data;
	int last_cr; /* the previous byte was CR: a following LF ends nothing */
	sse_event_cb cb;
	void *arg;
	size_t events; /* dispatched so far */
};

/* line_cap bounds one line, data_cap one event's data. */
void sse_init(struct sse_parser *p, size_t line_cap, size_t data_cap, sse_event_cb cb, void *arg);
void sse_release(struct sse_parser *p);
/* Feed bytes. -1 when a cap was passed or the callback asked to stop. */
int sse_feed(struct sse_parser *p, const char *bytes, size_t len) WARN_UNUSED;
/* End of stream: an event not ended by a blank line is dropped (per spec).
 * Returns 1 if such an unfinished event was pending, else 0. */
int sse_finish(struct sse_parser *p);

#endif
