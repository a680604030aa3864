/*
 * engine: HTTP requests to relays with libcurl's multi interface, driven by
 * libevent on the caller's event_base (as curl's multi-event example).
 *
 * The engine never blocks and never exits on a relay's behaviour: every
 * request ends in exactly one done callback with an observation, whatever
 * happened (refused, hung, oversized, malformed). Requests beyond
 * max_in_flight wait in a FIFO queue.
 *
 * This is the only header of the engine the product includes: its parts'
 * headers (probes/pacing.h, probes/arrival.h, probes/redact.h,
 * probes/tlsinfo.h) are the engine's own, and its test and bench hooks are
 * in probes/engine_test.h.
 * Thread: the one running base's loop, for every call and callback.
 */
#ifndef ASSAY_ENGINE_H
#define ASSAY_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "probes/adapter.h"
#include "probes/endpoint.h"
#include "probes/observation.h"

struct event_base;
struct engine;
struct aws_credentials;

struct engine_options {
	size_t max_in_flight;  /* 0: 256 */
	const char *ca_file;   /* NULL: the system's CA store */
	int insecure_skip_tls; /* the loudly named --insecure-skip-tls-verify */
	/* hooks for tests/ and bench/ only, described in probes/engine_test.h;
	 * the product leaves them 0 */
	int precise_base;
	int bench_discard_bodies;
};

#define ENGINE_GET_MODELS 1
#define ENGINE_GET_RAW 2

struct engine_request {
	const char *pool; /* pacing group, usually the relay's name; NULL: default */
	enum api_kind api;
	const char *url;     /* full endpoint URL */
	const char *api_key; /* may be NULL; never stored or logged */
	enum auth_kind auth; /* which header carries api_key (AUTH_DEFAULT: the API's) */
	const struct http_header *headers; /* extra headers, checked by the caller
	                                    * (endpoint_headers_check); their values
	                                    * are secrets, like the key */
	size_t n_headers;
	/* a client profile's "Name: value" lines (probes/clients.h), NULL-
	 * terminated, sent first and in order, User-Agent and Accept among
	 * them; static text, never a secret (the engine keeps the pointer, not
	 * a copy, until the request starts). A caller's extra header of the
	 * same name replaces one. NULL: Assay's own User-Agent. */
	const char *const *client_headers;
	const char *body; /* JSON, copied by the engine; NULL with listing */
	int listing;      /* GET instead of POSTing body: ENGINE_GET_MODELS the model
	                   * list at url (probes/models_list.h); ENGINE_GET_RAW
	                   * any GET, its body kept as the observation's text
	                   * (capped by body_cap, UTF-8 sanitized) */
	int stream;
	int cold;                /* fresh connection: measure connect and TLS */
	int64_t timeout_us;      /* overall deadline; 0: 120 s */
	int64_t idle_timeout_us; /* no byte for this long on a stream; 0: 30 s */
	size_t body_cap;         /* 0: 8 MiB */
	size_t header_cap;       /* 0: 64 KiB */
	/* Amazon Bedrock (probes/bedrock.h): the stream is AWS event-stream
	 * framing and no anthropic-version header goes; aws non-NULL signs the
	 * request with SigV4 (service bedrock) when it starts, its secret key
	 * and session token redacted like the key */
	int bedrock;
	const struct aws_credentials *aws;
	size_t stop_after_chunks; /* streams: hang up past this many content
	                           * chunks (a relay ignoring max_tokens must not
	                           * run up the bill); 0: never */
};

/*
 * Called once per request. The callee owns obs (observation_release() then
 * free()). Called from the event loop; must not block.
 */
typedef void (*engine_done_cb)(struct observation *obs, void *arg);

/* A new engine on base; NULL if curl cannot be set up. */
struct engine *engine_new(struct event_base *base, const struct engine_options *opt);
/* Abort everything in flight or queued (each done callback runs with
 * ERR_ABORTED), then free. Call before event_base_free(). */
void engine_free(struct engine *e);

/* Queue a request; the copy of everything it needs is the engine's. While
 * it waits it holds only that copy (URL, body, key, extra headers) and its
 * place in the queue, a few hundred bytes; its observation and curl's side
 * are made when it starts, or when it ends unsent. */
void engine_submit(struct engine *e, const struct engine_request *req, engine_done_cb cb,
                   void *arg);
/*
 * Pace a pool (created on first use): at most max_in_flight requests at once
 * (0: only the engine's limit) and rpm a minute (0: unlimited). Every pool
 * also honours Retry-After and backs off exponentially, with jitter, after
 * 429s, 5xx and timeouts. A request that would wait past its own deadline
 * ends unsent (ERR_NOT_SENT, the detail says what held it); after five
 * failures in a row, requests that would wait for the backoff end at once,
 * unsent (a circuit breaker), so a dead relay costs no time. Requests never
 * sent do not count as the relay's failures.
 */
void engine_set_limits(struct engine *e, const char *pool, size_t max_in_flight, double rpm);

/* Redact from o, after the fact, a secret a request carried in its prompt
 * rather than its headers (a credential canary, probes/canary.h): secret
 * and the n values, as the engine redacts the key (probes/redact.h). How
 * many fields held one. Any thread, on the caller's observation. */
int engine_redact(struct observation *o, const char *secret, char *const *values, size_t n);

#endif
