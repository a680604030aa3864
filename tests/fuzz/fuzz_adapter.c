/*
 * libFuzzer target for the adapters' response parsing (probes/adapter.c,
 * and probes/bedrock.c for Bedrock's event-stream framing): whatever a
 * relay answers, on every wire, whole or streamed, in any pieces.
 *
 * Input: byte 0 picks the wire from the table below (a new wire is one
 * line there, appended so the committed seeds keep theirs); byte 1 the
 * rest of the set-up: bit 0 streamed, bits 1-3 the HTTP status, bit 4 a
 * model-list GET instead of an answer, bit 5 a small body cap, bit 6 stop
 * after two chunks (as a probe that needs only the first tokens does);
 * byte 2 the piece size (1-256); the rest is the body.
 *
 * Checked: no sanitizer report or leak, every string the observation holds
 * is NUL-terminated, its chunk stamps are readable and never decrease, its
 * error class is a known one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/adapter.h"
#include "probes/bedrock.h"
#include "probes/observation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct wire {
	enum api_kind api;
	int eventstream; /* streamed in AWS event-stream framing (Bedrock) */
} wires[] = {
    {API_OPENAI, 0},    /* Chat Completions: JSON, SSE */
    {API_ANTHROPIC, 0}, /* Messages: JSON, SSE with event names */
    {API_RESPONSES, 0}, /* Responses: JSON, SSE */
    {API_CONVERSE, 1},  /* Bedrock Converse: JSON, ConverseStream framing */
    {API_ANTHROPIC, 1}, /* Bedrock InvokeModel: Anthropic's JSON, chunk events */
};
#define N_WIRES (sizeof wires / sizeof wires[0])

static size_t
touch(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

static void
check(const struct observation *o)
{
	const char *fields[] = {o->error_detail,
	                        o->model,
	                        o->id,
	                        o->system_fingerprint,
	                        o->finish_reason,
	                        o->text,
	                        o->ratelimit_remaining,
	                        o->request_id,
	                        o->content_type,
	                        o->tool_id,
	                        o->tool_name,
	                        o->tool_args};
	size_t sum = 0;
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		sum += touch(fields[i]);
	for (size_t i = 0; i < o->n_chunks; i++)
		if (o->chunk_us[i] < 0 || (i > 0 && o->chunk_us[i] < o->chunk_us[i - 1]))
			abort();
	if (memchr(o->events, '\0', sizeof o->events) == NULL)
		abort();
	if ((int)o->error < 0 || (int)o->error >= ERR__COUNT)
		abort();
	if (sum == (size_t)-1)
		abort(); /* keeps the reads */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	static const int statuses[] = {200, 200, 201, 400, 401, 429, 500, 529};
	const struct wire *w = &wires[data[0] % N_WIRES];
	int stream = data[1] & 1;
	int status = statuses[(data[1] >> 1) & 7];
	size_t piece = (size_t)data[2] + 1;
	const char *body = (const char *)data + 3;
	size_t len = size - 3;

	struct observation o;
	observation_init(&o);
	struct adapter_parse p;
	adapter_parse_init(&p, w->api, &o, stream, 0, data[1] & 32 ? 512 : 1 << 20);
	p.listing = !stream && (data[1] & 16);
	p.stop_after_chunks = data[1] & 64 ? 2 : 0;
	if (stream && w->eventstream)
		bedrock_parse_eventstream(&p);
	for (size_t i = 0; i < len; i += piece) {
		size_t n = len - i < piece ? len - i : piece;
		if (adapter_parse_feed(&p, status, body + i, n, (int64_t)(10 * (i + 1))) != 0)
			break;
	}
	adapter_parse_finish(&p, status);
	check(&o);
	adapter_parse_release(&p);
	observation_release(&o);
	return 0;
}
