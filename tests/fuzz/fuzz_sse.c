/*
 * libFuzzer target for probes/sse.c, the Server-Sent Events parser every
 * streamed answer but Bedrock's goes through. The first byte picks the caps
 * (small ones, so passing them is exercised) and where the rest is split,
 * the second after how many events the callback stops the parse; the rest is
 * the stream, fed in two pieces and then byte by byte. Both feedings must
 * dispatch the same events and fail alike (piece boundaries change nothing), and every event's data
 * must be as long as it says and within its cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t events, bytes, cap;
	uint64_t hash; /* of every event's name and data, in order */
	size_t stop_at;
};

static uint64_t
mix(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h * 31 + n;
}

static int
event_cb(const char *event, const char *data, size_t len, void *arg)
{
	struct seen *s = arg;
	if (len > s->cap || strlen(data) > len || event == NULL)
		abort();
	s->hash = mix(mix(s->hash, event, strlen(event)), data, len);
	s->bytes += len;
	return ++s->events == s->stop_at ? -1 : 0;
}

/* Feed the stream in pieces of at most piece bytes (0: two pieces at split). */
static int
run(const char *body, size_t len, size_t split, size_t piece, size_t line_cap, size_t data_cap,
    struct seen *s)
{
	struct sse_parser p;
	sse_init(&p, line_cap, data_cap, event_cb, s);
	int rc = 0;
	if (piece == 0) {
		rc = sse_feed(&p, body, split);
		if (rc == 0)
			rc = sse_feed(&p, body + split, len - split);
	} else {
		for (size_t i = 0; i < len && rc == 0; i += piece)
			rc = sse_feed(&p, body + i, len - i < piece ? len - i : piece);
	}
	if (rc == 0)
		(void)sse_finish(&p);
	sse_release(&p);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	static const size_t caps[] = {16, 64, 4096, 1 << 20};
	size_t line_cap = caps[data[0] & 3], data_cap = caps[(data[0] >> 2) & 3];
	size_t stop_at = data[1] & 7; /* 0: never stop */
	const char *body = (const char *)data + 2;
	size_t len = size - 2;
	size_t split = len ? (size_t)(data[0] >> 4) * len / 16 : 0;
	struct seen a = {.cap = data_cap, .hash = 14695981039346656037u, .stop_at = stop_at};
	struct seen b = a;
	int ra = run(body, len, split, 0, line_cap, data_cap, &a);
	int rb = run(body, len, 0, 1, line_cap, data_cap, &b);
	if (ra != rb || a.events != b.events || a.hash != b.hash)
		abort();
	return 0;
}
