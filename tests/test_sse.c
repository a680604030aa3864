/*
 * SSE parser: line ends, splits at every byte, comments, multi-line data,
 * events without data, caps.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/sse.h"

struct got {
	char events[16][64];
	char data[16][256];
	int n;
};

static int
collect_cb(const char *event, const char *data, size_t len, void *arg)
{
	struct got *g = arg;
	cr_assert_lt(g->n, 16);
	snprintf(g->events[g->n], 64, "%s", event);
	snprintf(g->data[g->n], 256, "%.*s", (int)len, data);
	g->n++;
	return 0;
}

static void
parse_in_pieces(const char *stream, size_t piece, struct got *g)
{
	struct sse_parser p;
	memset(g, 0, sizeof *g);
	sse_init(&p, 1024, 4096, collect_cb, g);
	size_t len = strlen(stream);
	for (size_t i = 0; i < len; i += piece) {
		size_t n = len - i < piece ? len - i : piece;
		cr_assert_eq(sse_feed(&p, stream + i, n), 0);
	}
	sse_finish(&p);
	sse_release(&p);
}

/* stream, cut into pieces of every size from 1 byte to all of it, gives
 * three events with these data each time. */
static void
expect_three_at_any_split(const char *stream, const char *d0, const char *d1, const char *d2)
{
	const char *want[] = {d0, d1, d2};
	for (size_t piece = 1; piece <= strlen(stream); piece++) {
		struct got g;
		parse_in_pieces(stream, piece, &g);
		cr_assert_eq(g.n, 3, "piece %zu: %d events", piece, g.n);
		for (int i = 0; i < 3; i++)
			cr_expect_str_eq(g.data[i], want[i], "piece %zu, event %d: '%s', want '%s'",
			                 piece, i, g.data[i], want[i]);
	}
}

Test(sse, openai_stream_any_split)
{
	expect_three_at_any_split(
	    "data: {\"a\":1}\n\n: keep-alive\n\ndata: {\"a\":2}\r\n\r\ndata: [DONE]\r\r",
	    "{\"a\":1}", "{\"a\":2}", "[DONE]");
}

Test(sse, named_events_and_multiline_data)
{
	struct got g;
	parse_in_pieces("event: message_start\ndata: one\ndata: two\n\nevent: ping\n\n"
	                "event: x\ndata:nospace\n\n",
	                3, &g);
	cr_assert_eq(g.n, 2, "events without data are not dispatched");
	cr_expect_str_eq(g.events[0], "message_start");
	cr_expect_str_eq(g.data[0], "one\ntwo");
	cr_expect_str_eq(g.events[1], "x");
	cr_expect_str_eq(g.data[1], "nospace");
}

Test(sse, unfinished_event_is_dropped)
{
	struct sse_parser p;
	struct got g = {0};
	sse_init(&p, 1024, 4096, collect_cb, &g);
	cr_assert_eq(sse_feed(&p, "data: whole\n\ndata: half", 23), 0);
	cr_expect_eq(sse_finish(&p), 1);
	cr_expect_eq(g.n, 1);
	sse_release(&p);
}

Test(sse, line_and_event_caps)
{
	struct sse_parser p;
	struct got g = {0};
	char big[300];
	memset(big, 'x', sizeof big);
	sse_init(&p, 100, 4096, collect_cb, &g);
	cr_expect_eq(sse_feed(&p, big, sizeof big), -1, "a line over its cap must fail");
	sse_release(&p);

	sse_init(&p, 1024, 50, collect_cb, &g);
	int rc = 0;
	for (int i = 0; i < 10 && rc == 0; i++)
		rc = sse_feed(&p, "data: 0123456789\n", 17);
	cr_expect_eq(rc, -1, "an event's data over its cap must fail");
	sse_release(&p);
}

Test(sse, mixed_line_ends_in_one_piece)
{
	/* a CR ends a line even when an LF follows later in the same piece */
	expect_three_at_any_split("data: a\rdata: b\n\ndata: c\r\n\rdata: d\n\r\n", "a\nb", "c",
	                          "d");
}

/* The Responses API's typed events: dotted names, each its own event, the
 * name reset between events (an unnamed one after them is ""). */
Test(sse, responses_typed_events_at_any_split)
{
	const char *s = "event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
	                "event: response.output_text.delta\r\ndata: {\"delta\":\"po\"}\r\n\r\n"
	                "data: {\"no\":\"name\"}\n\n";
	expect_three_at_any_split(s, "{\"type\":\"response.created\"}", "{\"delta\":\"po\"}",
	                          "{\"no\":\"name\"}");
	struct got g;
	parse_in_pieces(s, 5, &g);
	cr_assert_eq(g.n, 3);
	cr_expect_str_eq(g.events[0], "response.created");
	cr_expect_str_eq(g.events[1], "response.output_text.delta");
	cr_expect_str_eq(g.events[2], "");
}

static int
count_cb(const char *event, const char *data, size_t len, void *arg)
{
	(void)event;
	if (len != 1 || data[0] != 'x')
		return -1;
	++*(size_t *)arg;
	return 0;
}

/*
 * Found by tests/fuzz/fuzz_sse.c: lines ended by CR alone made each line
 * rescan the rest of the piece for an LF, so one piece of them cost its
 * length squared (256 KiB: 330 ms; these 2 MiB: 5.3 s). Now the
 * LF is found once: 2 MiB parses in a few ms, and the bound is 2 s.
 */
Test(sse, cr_only_lines_are_linear)
{
	static const char unit[] = "data: x\r\r";
	size_t n = (2u << 20) / (sizeof unit - 1), len = n * (sizeof unit - 1);
	char *body = malloc(len + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(body + i * (sizeof unit - 1), unit, sizeof unit - 1);
	body[len] = '\n'; /* one LF at the very end, as far from the CRs as it gets */
	size_t events = 0;
	struct sse_parser p;
	sse_init(&p, 1 << 10, 1 << 10, count_cb, &events);
	int64_t t0 = now_us();
	cr_assert_eq(sse_feed(&p, body, len + 1), 0);
	int64_t took = now_us() - t0;
	cr_expect_eq(events, n, "%zu events of %zu", events, n);
	cr_expect_lt(took, 2000000, "2 MiB of CR-ended lines took %lld us", (long long)took);
	sse_release(&p);
	free(body);
}
