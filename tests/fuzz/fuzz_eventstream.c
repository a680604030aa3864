/*
 * libFuzzer entry point for probes/eventstream.c: the input is split at a
 * point its first byte picks and fed in two parts, with a small cap so
 * declared lengths over it are exercised; every message's fields must be
 * readable, and a decoder that failed must stay failed. Build and run:
 * `make fuzz-eventstream` (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/eventstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
touch_cb(const struct eventstream_message *m, void *arg)
{
	size_t *sum = arg;
	const char *fields[] = {m->message_type, m->event_type, m->exception_type,
	                        m->content_type, m->error_code, m->error_message};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (fields[i] != NULL)
			*sum += strlen(fields[i]);
	for (size_t i = 0; i < m->payload_len; i++)
		*sum += m->payload[i];
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t split = data[0] % size;
	size_t sum = 0;
	struct eventstream es;
	eventstream_init(&es, 1 << 16, touch_cb, &sum);
	int rc = eventstream_feed(&es, data + 1, split > 0 ? split - 1 : 0);
	if (rc == 0)
		rc = eventstream_feed(&es, data + (split > 0 ? split : 1),
		                      size - (split > 0 ? split : 1));
	if (rc == 0)
		rc = eventstream_finish(&es);
	if (rc != 0 && (es.error == EVENTSTREAM_OK || eventstream_feed(&es, data, size) != -1))
		abort();
	if (es.pending.len > es.max_message)
		abort();
	eventstream_release(&es);
	return 0;
}
