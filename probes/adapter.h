/*
 * adapter: the wire formats of the APIs Assay probes, both directions.
 *
 * Requests are built with jansson from a probe call; responses are parsed
 * incrementally (JSON body or SSE stream) into an observation. Supported:
 * OpenAI Chat Completions and Anthropic Messages, streamed and not.
 */
#ifndef ASSAY_ADAPTER_H
#define ASSAY_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "probes/observation.h"
#include "probes/sse.h"

enum api_kind { API_OPENAI, API_ANTHROPIC };

/* "openai" / "anthropic"; api_from_name returns -1 for anything else. */
const char *api_name(enum api_kind api);
int api_from_name(const char *name);

struct probe_message {
	const char *role; /* system, user, assistant */
	const char *content;
};

/* One request to make, fully instantiated (nonce already in the text). */
struct probe_call {
	const char *model;
	const struct probe_message *messages;
	size_t n_messages;
	long max_tokens;    /* -1: leave out */
	double temperature; /* < 0: leave out */
	long seed;          /* < 0: leave out */
	int stream;
	const char *extra_json; /* more request fields (a JSON object), or NULL */
};

/* The endpoint URL for base_url, by endpoint_url()'s rules (probes/endpoint.h);
 * the caller frees it. */
char *adapter_url(enum api_kind api, const char *base_url);
/* The JSON request body; the caller frees it. */
char *adapter_body(enum api_kind api, const struct probe_call *call);

/* Incremental response parsing. */
struct adapter_parse {
	enum api_kind api;
	struct observation *obs;
	int stream;
	int64_t start_us;
	struct buf body;     /* non-stream body, or an error body on a stream */
	size_t stream_bytes; /* a stream's size so far, held to body.cap */
	struct sse_parser sse;
	struct buf text;          /* answer text gathered from deltas */
	int saw_done;             /* [DONE] or message_stop seen */
	int failed;               /* parse failed: obs->error is set */
	size_t stop_after_chunks; /* 0: read all; else stop the stream past this */
	int stopped;              /* we stopped it on purpose: not an error */
};

/* body_cap bounds the whole body kept for parsing. */
void adapter_parse_init(struct adapter_parse *p, enum api_kind api, struct observation *obs,
                        int stream, int64_t start_us, size_t body_cap);
void adapter_parse_release(struct adapter_parse *p);
/*
 * Feed response body bytes that arrived at time now (monotonic us).
 * status is the HTTP status (a non-2xx body is kept as an error body).
 * -1 when the body passed its cap (obs->error is ERR_TOO_LARGE) or a stream
 * turned out malformed: the caller should stop the transfer.
 */
int adapter_parse_feed(struct adapter_parse *p, int status, const char *data, size_t len,
                       int64_t now);
/* The body is complete (or the transfer ended): fill in the observation and
 * classify an HTTP or format error. */
void adapter_parse_finish(struct adapter_parse *p, int status);

/* Classify an HTTP error status (with its error body's code, if any). */
enum error_class adapter_classify_status(int status, const char *code);

#endif
