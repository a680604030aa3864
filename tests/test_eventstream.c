/*
 * probes/eventstream.c: AWS event-stream framing decoded from any split of
 * its bytes, its CRCs and lengths held to, and messages written by AWS's
 * own encoder (@smithy/core's EventStreamCodec, tests/aws/eventstream.mjs)
 * decoded with every header value type.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/util.h"
#include "probes/eventstream.h"
#include "tests/helpers.h"

struct seen {
	size_t n;
	char event_type[8][64];
	char message_type[8][64];
	char exception_type[8][64];
	char payload[8][256];
	int stop_at; /* stop (return -1) at this message; -1 never */
};

static int
seen_cb(const struct eventstream_message *m, void *arg)
{
	struct seen *s = arg;
	if ((int)s->n == s->stop_at)
		return -1;
	cr_assert_lt(s->n, 8);
	snprintf(s->event_type[s->n], 64, "%s", m->event_type ? m->event_type : "-");
	snprintf(s->message_type[s->n], 64, "%s", m->message_type ? m->message_type : "-");
	snprintf(s->exception_type[s->n], 64, "%s", m->exception_type ? m->exception_type : "-");
	snprintf(s->payload[s->n], 256, "%.*s", (int)m->payload_len, (const char *)m->payload);
	s->n++;
	return 0;
}

/* Three messages: a chunk, an exception, one with no headers nor payload. */
static void
three(struct buf *b)
{
	buf_init(b, 0);
	struct eventstream_header h1[] = {{":message-type", "event"},
	                                  {":event-type", "chunk"},
	                                  {":content-type", "application/json"}};
	eventstream_encode(b, h1, 3, "{\"bytes\":\"eyJ9\"}", 16);
	struct eventstream_header h2[] = {{":message-type", "exception"},
	                                  {":exception-type", "throttlingException"}};
	eventstream_encode(b, h2, 2, "{\"message\":\"slow down\"}", 23);
	eventstream_encode(b, NULL, 0, NULL, 0);
}

static void
expect_three(const struct seen *s)
{
	cr_assert_eq(s->n, 3);
	cr_expect_str_eq(s->event_type[0], "chunk");
	cr_expect_str_eq(s->message_type[0], "event");
	cr_expect_str_eq(s->payload[0], "{\"bytes\":\"eyJ9\"}");
	cr_expect_str_eq(s->message_type[1], "exception");
	cr_expect_str_eq(s->exception_type[1], "throttlingException");
	cr_expect_str_eq(s->payload[1], "{\"message\":\"slow down\"}");
	cr_expect_str_eq(s->message_type[2], "-");
	cr_expect_str_eq(s->payload[2], "");
}

Test(eventstream, whole_and_byte_by_byte)
{
	struct buf b;
	three(&b);
	struct seen s = {.stop_at = -1};
	struct eventstream es;
	eventstream_init(&es, 0, seen_cb, &s);
	cr_assert_eq(eventstream_feed(&es, b.data, b.len), 0);
	cr_assert_eq(eventstream_finish(&es), 0);
	expect_three(&s);
	eventstream_release(&es);

	memset(&s, 0, sizeof s);
	s.stop_at = -1;
	eventstream_init(&es, 0, seen_cb, &s);
	for (size_t i = 0; i < b.len; i++)
		cr_assert_eq(eventstream_feed(&es, b.data + i, 1), 0, "byte %zu", i);
	cr_assert_eq(eventstream_finish(&es), 0);
	expect_three(&s);
	eventstream_release(&es);
	buf_release(&b);
}

Test(eventstream, every_split_in_three_parts)
{
	struct buf b;
	three(&b);
	for (size_t i = 0; i <= b.len; i++) {
		for (size_t j = i; j <= b.len; j += 3) {
			struct seen s = {.stop_at = -1};
			struct eventstream es;
			eventstream_init(&es, 0, seen_cb, &s);
			cr_assert_eq(eventstream_feed(&es, b.data, i), 0);
			cr_assert_eq(eventstream_feed(&es, b.data + i, j - i), 0);
			cr_assert_eq(eventstream_feed(&es, b.data + j, b.len - j), 0);
			cr_assert_eq(eventstream_finish(&es), 0, "split %zu %zu", i, j);
			cr_assert_eq(s.n, 3, "split %zu %zu", i, j);
			eventstream_release(&es);
		}
	}
	buf_release(&b);
}

/* Feed all of data (in two parts at split) and return the error. */
static enum eventstream_error
error_of(const void *data, size_t len, size_t split, size_t *decoded)
{
	struct seen s = {.stop_at = -1};
	struct eventstream es;
	eventstream_init(&es, 4096, seen_cb, &s);
	int rc = eventstream_feed(&es, data, split);
	if (rc == 0)
		rc = eventstream_feed(&es, (const char *)data + split, len - split);
	if (rc == 0)
		rc = eventstream_finish(&es);
	enum eventstream_error e = es.error;
	cr_expect_eq(rc == 0, e == EVENTSTREAM_OK);
	/* nothing more than one message's bytes is ever held */
	cr_expect_leq(es.pending.size, 4096);
	/* and a failed stream stays failed */
	if (e != EVENTSTREAM_OK)
		cr_expect_eq(eventstream_feed(&es, "x", 1), -1);
	if (decoded != NULL)
		*decoded = s.n;
	eventstream_release(&es);
	return e;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* a prelude with these lengths and its right CRC */
static void
prelude(unsigned char p[12], uint32_t total, uint32_t headers)
{
	put32(p, total);
	put32(p + 4, headers);
	put32(p + 8, (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, 8));
}

Test(eventstream, corrupt_crcs)
{
	struct buf b;
	three(&b);
	for (size_t split = 0; split < 20; split += 5) {
		char *copy = xmalloc(b.len);
		memcpy(copy, b.data, b.len);
		copy[1] ^= 1; /* a length bit: the prelude CRC catches it */
		cr_expect_eq(error_of(copy, b.len, split, NULL), EVENTSTREAM_PRELUDE_CRC);
		memcpy(copy, b.data, b.len);
		copy[9] ^= 0x40; /* the prelude CRC itself */
		cr_expect_eq(error_of(copy, b.len, split, NULL), EVENTSTREAM_PRELUDE_CRC);
		memcpy(copy, b.data, b.len);
		copy[30] ^= 0x20; /* a header byte of the first message */
		size_t decoded = 9;
		cr_expect_eq(error_of(copy, b.len, split, &decoded), EVENTSTREAM_MESSAGE_CRC);
		cr_expect_eq(decoded, 0);
		memcpy(copy, b.data, b.len);
		copy[b.len - 1] ^= 1; /* the last message's CRC: two decoded first */
		cr_expect_eq(error_of(copy, b.len, split, &decoded), EVENTSTREAM_MESSAGE_CRC);
		cr_expect_eq(decoded, 2);
		free(copy);
	}
	buf_release(&b);
}

Test(eventstream, a_huge_declared_length_is_an_error_not_an_allocation)
{
	unsigned char p[12];
	prelude(p, 0xfffffff0u, 0);
	cr_expect_eq(error_of(p, 12, 3, NULL), EVENTSTREAM_TOO_LARGE);
	prelude(p, 4097, 0); /* just over this decoder's 4096 */
	cr_expect_eq(error_of(p, 12, 0, NULL), EVENTSTREAM_TOO_LARGE);
	prelude(p, 64, EVENTSTREAM_MAX_HEADERS + 1);
	cr_expect_eq(error_of(p, 12, 0, NULL), EVENTSTREAM_TOO_LARGE);
}

Test(eventstream, impossible_lengths)
{
	unsigned char p[12];
	prelude(p, 15, 0);
	cr_expect_eq(error_of(p, 12, 0, NULL), EVENTSTREAM_BAD_LENGTHS);
	prelude(p, 40, 25); /* 16 + 25 > 40 */
	cr_expect_eq(error_of(p, 12, 6, NULL), EVENTSTREAM_BAD_LENGTHS);
}

/* A message around these header bytes, with right CRCs. */
static size_t
message_with_headers(unsigned char *out, const unsigned char *h, size_t hl)
{
	size_t total = 16 + hl;
	prelude(out, (uint32_t)total, (uint32_t)hl);
	memcpy(out + 12, h, hl);
	put32(out + total - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), out, (uInt)(total - 4)));
	return total;
}

Test(eventstream, malformed_headers)
{
	unsigned char m[64];
	/* value type 10 does not exist */
	const unsigned char bad_type[] = {1, 'x', 10};
	cr_expect_eq(error_of(m, message_with_headers(m, bad_type, 3), 0, NULL),
	             EVENTSTREAM_BAD_HEADER);
	/* a string whose length runs past the headers */
	const unsigned char long_string[] = {1, 'x', 7, 0, 9, 'a', 'b'};
	cr_expect_eq(error_of(m, message_with_headers(m, long_string, 7), 0, NULL),
	             EVENTSTREAM_BAD_HEADER);
	/* a name longer than what is left */
	const unsigned char long_name[] = {9, 'x', 'y'};
	cr_expect_eq(error_of(m, message_with_headers(m, long_name, 3), 0, NULL),
	             EVENTSTREAM_BAD_HEADER);
	/* an empty name */
	const unsigned char no_name[] = {0, 0};
	cr_expect_eq(error_of(m, message_with_headers(m, no_name, 2), 0, NULL),
	             EVENTSTREAM_BAD_HEADER);
}

Test(eventstream, truncated_and_stopped)
{
	struct buf b;
	three(&b);
	size_t decoded;
	cr_expect_eq(error_of(b.data, b.len - 1, 0, &decoded), EVENTSTREAM_TRUNCATED);
	cr_expect_eq(decoded, 2);
	cr_expect_eq(error_of(b.data, 5, 0, NULL), EVENTSTREAM_TRUNCATED);

	struct seen s = {.stop_at = 1};
	struct eventstream es;
	eventstream_init(&es, 0, seen_cb, &s);
	cr_expect_eq(eventstream_feed(&es, b.data, b.len), -1);
	cr_expect_eq(es.error, EVENTSTREAM_STOPPED);
	cr_expect_eq(s.n, 1);
	eventstream_release(&es);
	buf_release(&b);
}

/* ---- AWS's own encoder ---- */

Test(eventstream, decodes_what_smithy_encodes, .timeout = 300)
{
	if (test_which("node") == NULL)
		fprintf(stderr, "[NOTE] node is not installed: the EventStreamCodec oracle is "
		                "skipped\n");
	char *node = test_node("tests/aws", "for the EventStreamCodec oracle");
	char *argv[] = {node, (char *)"tests/aws/eventstream.mjs", NULL};
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 60000, &out, &err);
	cr_assert_eq(rc, 0, "eventstream.mjs failed (%d): %s", rc, err ? err : "");
	json_error_t jerr;
	json_t *j = json_loads(out, 0, &jerr);
	cr_assert_not_null(j, "%s", out);
	const char *hex = json_string_value(json_object_get(j, "hex"));
	size_t n = strlen(hex) / 2;
	unsigned char *bytes = xmalloc(n);
	for (size_t i = 0; i < n; i++) {
		unsigned int v;
		sscanf(hex + 2 * i, "%2x", &v);
		bytes[i] = (unsigned char)v;
	}
	json_t *want = json_object_get(j, "messages");
	for (size_t split = 0; split <= n; split += 7) {
		struct seen s = {.stop_at = -1};
		struct eventstream es;
		eventstream_init(&es, 0, seen_cb, &s);
		cr_assert_eq(eventstream_feed(&es, bytes, split), 0, "%s",
		             eventstream_error_text(es.error));
		cr_assert_eq(eventstream_feed(&es, bytes + split, n - split), 0, "%s",
		             eventstream_error_text(es.error));
		cr_assert_eq(eventstream_finish(&es), 0);
		cr_assert_eq(s.n, json_array_size(want));
		for (size_t i = 0; i < s.n; i++) {
			json_t *w = json_array_get(want, i);
			const char *et = json_string_value(json_object_get(w, "event_type"));
			const char *mt = json_string_value(json_object_get(w, "message_type"));
			const char *xt = json_string_value(json_object_get(w, "exception_type"));
			cr_expect_str_eq(s.event_type[i], et ? et : "-");
			cr_expect_str_eq(s.message_type[i], mt ? mt : "-");
			cr_expect_str_eq(s.exception_type[i], xt ? xt : "-");
			cr_expect_str_eq(s.payload[i],
			                 json_string_value(json_object_get(w, "payload")));
		}
		eventstream_release(&es);
	}
	/* and what we write, AWS's decoder reads: the fixture's streams are
	 * checked by @aws-sdk/client-bedrock-runtime in test_bedrock */
	free(bytes);
	json_decref(j);
	free(out);
	free(err);
	free(node);
}
