/*
 * eventstream: AWS event-stream framing, decoded incrementally.
 *
 * Written from AWS's description of the encoding ("Event stream encoding",
 * docs.aws.amazon.com/lexv2/latest/dg/event-stream-encoding.html and
 * docs.aws.amazon.com/transcribe/latest/dg/event-stream.html): a 12-byte
 * prelude (total length, headers length, CRC32 of those 8 bytes, all
 * big-endian), headers, payload, CRC32 of the whole message before it;
 * the CRC is the GZIP CRC32 (zlib's crc32()). A header is a name length
 * (1 byte), the name, a value type (1 byte) and the value: 0 true and 1
 * false (no bytes), 2 byte (1), 3 short (2), 4 integer (4), 5 long (8),
 * 6 byte array and 7 string (2-byte length, then the bytes), 8 timestamp
 * (8), 9 UUID (16).
 *
 * States: waiting for a prelude (pending < 12 bytes); prelude checked,
 * waiting for the rest of its message (pending < total); failed (error
 * set: every feed returns -1). pending never holds more than one message,
 * and never more than max_message bytes.
 */
#include "probes/eventstream.h"

#include <string.h>
#include <zlib.h>

#define PRELUDE_LEN 12
#define OVERHEAD 16
#define HEADER_VALUE_KEEP 255

void
eventstream_init(struct eventstream *es, size_t max_message, eventstream_message_cb cb, void *arg)
{
	memset(es, 0, sizeof *es);
	es->max_message = max_message ? max_message : EVENTSTREAM_MAX_MESSAGE;
	buf_init(&es->pending, es->max_message);
	es->cb = cb;
	es->arg = arg;
}

void
eventstream_release(struct eventstream *es)
{
	buf_release(&es->pending);
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint32_t
crc_of(const unsigned char *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* Check a prelude: 0, or -1 with es->error. */
static int
check_prelude(struct eventstream *es, const unsigned char *p)
{
	uint32_t total = be32(p), headers = be32(p + 4);
	if (crc_of(p, 8) != be32(p + 8))
		es->error = EVENTSTREAM_PRELUDE_CRC;
	else if (total > es->max_message || headers > EVENTSTREAM_MAX_HEADERS)
		es->error = EVENTSTREAM_TOO_LARGE;
	else if (total < OVERHEAD || headers > total - OVERHEAD)
		es->error = EVENTSTREAM_BAD_LENGTHS;
	return es->error ? -1 : 0;
}

/* The headers of one message into m's fields (copies in keep[]). */
static int
parse_headers(const unsigned char *h, size_t n, struct eventstream_message *m,
              char keep[6][HEADER_VALUE_KEEP + 1])
{
	static const char *const names[6] = {":message-type", ":event-type", ":exception-type",
	                                     ":content-type", ":error-code", ":error-message"};
	const char **slots[6] = {&m->message_type, &m->event_type, &m->exception_type,
	                         &m->content_type, &m->error_code, &m->error_message};
	size_t i = 0;
	while (i < n) {
		size_t name_len = h[i++];
		if (name_len == 0 || name_len > n - i)
			return -1;
		const unsigned char *name = h + i;
		i += name_len;
		if (i >= n)
			return -1;
		int type = h[i++];
		size_t value_len;
		switch (type) {
		case 0:
		case 1:
			value_len = 0;
			break;
		case 2:
			value_len = 1;
			break;
		case 3:
			value_len = 2;
			break;
		case 4:
			value_len = 4;
			break;
		case 5:
		case 8:
			value_len = 8;
			break;
		case 9:
			value_len = 16;
			break;
		case 6:
		case 7:
			if (n - i < 2)
				return -1;
			value_len = (size_t)h[i] << 8 | h[i + 1];
			i += 2;
			break;
		default:
			return -1;
		}
		if (value_len > n - i)
			return -1;
		if (type == 7) {
			for (int k = 0; k < 6; k++) {
				if (strlen(names[k]) == name_len &&
				    memcmp(names[k], name, name_len) == 0) {
					size_t l = value_len < HEADER_VALUE_KEEP
					               ? value_len
					               : HEADER_VALUE_KEEP;
					memcpy(keep[k], h + i, l);
					keep[k][l] = 0;
					*slots[k] = keep[k];
				}
			}
		}
		i += value_len;
	}
	return 0;
}

/* One whole message in p (total bytes, prelude already checked). */
static int
decode_message(struct eventstream *es, const unsigned char *p, size_t total)
{
	if (crc_of(p, total - 4) != be32(p + total - 4)) {
		es->error = EVENTSTREAM_MESSAGE_CRC;
		return -1;
	}
	size_t headers = be32(p + 4);
	struct eventstream_message m = {0};
	char keep[6][HEADER_VALUE_KEEP + 1];
	if (parse_headers(p + PRELUDE_LEN, headers, &m, keep) != 0) {
		es->error = EVENTSTREAM_BAD_HEADER;
		return -1;
	}
	m.payload = p + PRELUDE_LEN + headers;
	m.payload_len = total - OVERHEAD - headers;
	es->messages++;
	if (es->cb != NULL && es->cb(&m, es->arg) != 0) {
		es->error = EVENTSTREAM_STOPPED;
		return -1;
	}
	return 0;
}

/* Move up to want - pending.len bytes from *data into pending. */
static void
take(struct eventstream *es, const unsigned char **data, size_t *len, size_t want)
{
	size_t need = want - es->pending.len;
	size_t n = need < *len ? need : *len;
	/* within the cap: want <= max_message, checked before */
	if (buf_add(&es->pending, *data, n) != 0)
		es->error = EVENTSTREAM_TOO_LARGE;
	*data += n;
	*len -= n;
}

int
eventstream_feed(struct eventstream *es, const void *data, size_t len)
{
	const unsigned char *d = data;
	while (es->error == EVENTSTREAM_OK && len > 0) {
		/* a whole message in this feed, none pending: decoded in place */
		if (es->pending.len == 0 && len >= PRELUDE_LEN) {
			if (check_prelude(es, d) != 0)
				break;
			size_t total = be32(d);
			if (len >= total) {
				if (decode_message(es, d, total) != 0)
					break;
				d += total;
				len -= total;
				continue;
			}
		}
		if (es->pending.len < PRELUDE_LEN) {
			take(es, &d, &len, PRELUDE_LEN);
			if (es->pending.len < PRELUDE_LEN)
				break;
			if (check_prelude(es, (const unsigned char *)es->pending.data) != 0)
				break;
		}
		size_t total = be32((const unsigned char *)es->pending.data);
		take(es, &d, &len, total);
		if (es->error || es->pending.len < total)
			break;
		int rc = decode_message(es, (const unsigned char *)es->pending.data, total);
		buf_reset(&es->pending);
		if (rc != 0)
			break;
	}
	return es->error == EVENTSTREAM_OK ? 0 : -1;
}

int
eventstream_finish(struct eventstream *es)
{
	if (es->error == EVENTSTREAM_OK && es->pending.len > 0)
		es->error = EVENTSTREAM_TRUNCATED;
	return es->error == EVENTSTREAM_OK ? 0 : -1;
}

const char *
eventstream_error_text(enum eventstream_error e)
{
	switch (e) {
	case EVENTSTREAM_OK:
		return "no error";
	case EVENTSTREAM_TOO_LARGE:
		return "event-stream message declares a length over its cap";
	case EVENTSTREAM_BAD_LENGTHS:
		return "event-stream prelude has impossible lengths";
	case EVENTSTREAM_PRELUDE_CRC:
		return "event-stream prelude CRC does not match";
	case EVENTSTREAM_MESSAGE_CRC:
		return "event-stream message CRC does not match";
	case EVENTSTREAM_BAD_HEADER:
		return "event-stream message has a malformed header";
	case EVENTSTREAM_TRUNCATED:
		return "event stream ended inside a message";
	case EVENTSTREAM_STOPPED:
		return "event stream stopped by its reader";
	}
	return "event-stream error";
}

static void
put32(struct buf *out, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
	                      (unsigned char)(v >> 8), (unsigned char)v};
	if (buf_add(out, b, 4) != 0)
		fatal(70, "internal: event-stream output over its cap");
}

void
eventstream_encode(struct buf *out, const struct eventstream_header *h, size_t n,
                   const void *payload, size_t payload_len)
{
	size_t start = out->len, headers = 0;
	for (size_t i = 0; i < n; i++)
		headers += 1 + strlen(h[i].name) + 1 + 2 + strlen(h[i].value);
	uint32_t total = (uint32_t)(OVERHEAD + headers + payload_len);
	put32(out, total);
	put32(out, (uint32_t)headers);
	put32(out, crc_of((const unsigned char *)out->data + start, 8));
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(h[i].name), vl = strlen(h[i].value);
		unsigned char b[2] = {(unsigned char)nl, 7};
		unsigned char l[2] = {(unsigned char)(vl >> 8), (unsigned char)vl};
		if (buf_add(out, b, 1) != 0 || buf_add(out, h[i].name, nl) != 0 ||
		    buf_add(out, b + 1, 1) != 0 || buf_add(out, l, 2) != 0 ||
		    buf_add(out, h[i].value, vl) != 0)
			fatal(70, "internal: event-stream output over its cap");
	}
	if (payload_len > 0 && buf_add(out, payload, payload_len) != 0)
		fatal(70, "internal: event-stream output over its cap");
	put32(out, crc_of((const unsigned char *)out->data + start, out->len - start));
}
