/*
 * sse: line splitting and field handling for text/event-stream.
 *
 * State between calls: the partial line in p->line, the partial event in
 * p->data/p->event, and whether the last byte seen was CR (so a CRLF split
 * across two feeds counts as one line end).
 */
#include "probes/sse.h"

#include <string.h>

void
sse_init(struct sse_parser *p, size_t line_cap, size_t data_cap, sse_event_cb cb, void *arg)
{
	buf_init(&p->line, line_cap);
	buf_init(&p->data, data_cap);
	buf_init(&p->event, 256);
	p->has_data = 0;
	p->last_cr = 0;
	p->cb = cb;
	p->arg = arg;
	p->events = 0;
}

void
sse_release(struct sse_parser *p)
{
	buf_release(&p->line);
	buf_release(&p->data);
	buf_release(&p->event);
}

static int
dispatch(struct sse_parser *p)
{
	int rc = 0;
	if (p->has_data) {
		p->events++;
		rc = p->cb(p->event.data ? p->event.data : "", p->data.data ? p->data.data : "",
		           p->data.len, p->arg);
	}
	buf_reset(&p->data);
	buf_reset(&p->event);
	p->has_data = 0;
	return rc;
}

/* One complete line, without its end. */
static int
process_line(struct sse_parser *p, const char *line, size_t len)
{
	if (len == 0)
		return dispatch(p);
	if (line[0] == ':')
		return 0; /* comment, e.g. keep-alive */
	const char *colon = memchr(line, ':', len);
	size_t flen = colon ? (size_t)(colon - line) : len;
	const char *value = colon ? colon + 1 : line + len;
	size_t vlen = colon ? len - flen - 1 : 0;
	if (vlen > 0 && value[0] == ' ') {
		value++;
		vlen--;
	}
	if (flen == 4 && memcmp(line, "data", 4) == 0) {
		if (p->has_data && buf_add(&p->data, "\n", 1) != 0)
			return -1;
		if (buf_add(&p->data, value, vlen) != 0)
			return -1;
		p->has_data = 1;
	} else if (flen == 5 && memcmp(line, "event", 5) == 0) {
		buf_reset(&p->event);
		if (buf_add(&p->event, value, vlen) != 0)
			return -1;
	}
	/* id, retry and unknown fields are ignored */
	return 0;
}

int
sse_feed(struct sse_parser *p, const char *bytes, size_t len)
{
	size_t i = 0;
	/* the first LF at or past i (len: none), found once per LF and not
	 * again for every CR-ended line before it: lines ended by CR alone
	 * would otherwise rescan the rest of the piece each, quadratic in it */
	size_t next_lf = 0;
	int lf_known = 0;
	while (i < len) {
		if (p->last_cr && bytes[i] == '\n') {
			p->last_cr = 0;
			i++;
			continue;
		}
		p->last_cr = 0;
		/* find the next line end: LF, else an earlier CR (rare) */
		if (!lf_known || next_lf < i) {
			const char *lf = memchr(bytes + i, '\n', len - i);
			next_lf = lf ? (size_t)(lf - bytes) : len;
			lf_known = 1;
		}
		size_t j = next_lf;
		const char *cr = memchr(bytes + i, '\r', j - i);
		if (cr != NULL)
			j = (size_t)(cr - bytes);
		if (j < len && p->line.len == 0) {
			/* a whole line in this piece: no copy */
			if (j - i > p->line.cap && p->line.cap != 0)
				return -1;
			p->last_cr = bytes[j] == '\r';
			if (process_line(p, bytes + i, j - i) != 0)
				return -1;
			i = j + 1;
			continue;
		}
		if (buf_add(&p->line, bytes + i, j - i) != 0)
			return -1;
		if (j == len)
			break; /* partial line kept for the next feed */
		p->last_cr = bytes[j] == '\r';
		int rc = process_line(p, p->line.data ? p->line.data : "", p->line.len);
		buf_reset(&p->line);
		if (rc != 0)
			return -1;
		i = j + 1;
	}
	return 0;
}

int
sse_finish(struct sse_parser *p)
{
	int pending = p->has_data || p->line.len > 0;
	buf_reset(&p->line);
	buf_reset(&p->data);
	p->has_data = 0;
	return pending;
}
