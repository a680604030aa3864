/*
 * eventstream: an incremental decoder of AWS's event-stream framing
 * (application/vnd.amazon.eventstream), the body of Bedrock's
 * InvokeModelWithResponseStream and ConverseStream.
 *
 * A message is: total length (4 bytes, big-endian, the whole message),
 * headers length (4), prelude CRC32 (4, over the first 8 bytes), headers,
 * payload, message CRC32 (4, over everything before it). No Debian package
 * decodes it; zlib's crc32() checks both CRCs.
 *
 * Bytes may arrive split anywhere. What is held is bounded by max_message:
 * a prelude declaring more is an error before anything is allocated for it.
 * A framing error is final: later feeds return -1 at once.
 */
#ifndef ASSAY_EVENTSTREAM_H
#define ASSAY_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* AWS's own limits (aws-c-event-stream): 16 MiB a message, 128 KiB of
 * headers. */
#define EVENTSTREAM_MAX_MESSAGE (16u << 20)
#define EVENTSTREAM_MAX_HEADERS (128u << 10)

/* Why decoding stopped. */
enum eventstream_error {
	EVENTSTREAM_OK = 0,
	EVENTSTREAM_TOO_LARGE,   /* a declared length over the cap */
	EVENTSTREAM_BAD_LENGTHS, /* total < 16, or headers do not fit in it */
	EVENTSTREAM_PRELUDE_CRC, /* the prelude's CRC does not match */
	EVENTSTREAM_MESSAGE_CRC, /* the message's CRC does not match */
	EVENTSTREAM_BAD_HEADER,  /* a header runs past its section or has an
	                          * unknown value type */
	EVENTSTREAM_TRUNCATED,   /* the stream ended inside a message */
	EVENTSTREAM_STOPPED,     /* the message callback asked to stop */
};

/* What the caller sees of one message: its string headers that say what it
 * is (NULL when absent; at most 255 bytes each, longer ones cut), and its
 * payload. Valid only during the callback. */
struct eventstream_message {
	const char *message_type;   /* ":message-type": event, exception, error */
	const char *event_type;     /* ":event-type", e.g. "chunk" */
	const char *exception_type; /* ":exception-type" */
	const char *content_type;   /* ":content-type" */
	const char *error_code;     /* ":error-code" (message type error) */
	const char *error_message;  /* ":error-message" */
	const unsigned char *payload;
	size_t payload_len;
};

/* 0 to go on, -1 to stop (the feed then returns -1, EVENTSTREAM_STOPPED). */
typedef int (*eventstream_message_cb)(const struct eventstream_message *m, void *arg);

struct eventstream {
	struct buf pending; /* bytes of the message being received */
	size_t max_message;
	size_t messages; /* whole messages decoded so far */
	enum eventstream_error error;
	eventstream_message_cb cb;
	void *arg;
};

/* max_message 0: EVENTSTREAM_MAX_MESSAGE. */
void eventstream_init(struct eventstream *es, size_t max_message, eventstream_message_cb cb,
                      void *arg);
void eventstream_release(struct eventstream *es);
/*
 * Decode len more bytes, calling cb for each whole message. 0, or -1 with
 * es->error set (and nothing decoded after the fault).
 */
int eventstream_feed(struct eventstream *es, const void *data, size_t len);
/* The stream ended: -1 (EVENTSTREAM_TRUNCATED) when a message was left
 * half received, else 0 (or -1 if an earlier error stands). */
int eventstream_finish(struct eventstream *es);
/* A short lowercase sentence for e. */
const char *eventstream_error_text(enum eventstream_error e);

/* ---- Writing (the fixture, tests) ---- */

struct eventstream_header {
	const char *name;
	const char *value; /* a string header (type 7) */
};

/* Append one whole message with these string headers and payload to out
 * (an uncapped buf). */
void eventstream_encode(struct buf *out, const struct eventstream_header *h, size_t n,
                        const void *payload, size_t payload_len);

#endif
