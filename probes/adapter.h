/*
 * adapter: the wire formats of the APIs Assay probes, both directions.
 *
 * Requests are built with jansson from a probe call; responses are parsed
 * incrementally (JSON body or SSE stream) into an observation. Supported:
 * OpenAI Chat Completions, Anthropic Messages (also as Claude on Vertex AI
 * takes it), the OpenAI Responses API (POST /v1/responses, its typed
 * stream events) and Gemini's own generateContent (probes/adapter_gemini.c),
 * streamed and not.
 */
#ifndef ASSAY_ADAPTER_H
#define ASSAY_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "probes/observation.h"
#include "probes/sse.h"

/*
 * Appended to, never renumbered: API_RESPONSES came third, API_CONVERSE
 * (Amazon Bedrock's Converse API, probes/bedrock.h) fourth, then Google's:
 * API_GEMINI is Gemini's own generateContent / streamGenerateContent
 * (probes/adapter_gemini.c), API_VERTEX is Anthropic Messages as Vertex
 * AI's rawPredict / streamRawPredict takes it (no model in the body, which
 * the URL names; anthropic_version in the body, not a header), parsed as
 * Anthropic's.
 */
enum api_kind {
	API_OPENAI,
	API_ANTHROPIC,
	API_RESPONSES,
	API_CONVERSE,
	API_GEMINI,
	API_VERTEX,
	API__COUNT
};

/* The names api_name() gives, for usage and error texts. */
#define API_NAMES_TEXT "'openai', 'anthropic', 'responses', 'converse', 'gemini' or 'vertex'"

/* "openai" / "anthropic" / "responses" / "converse" / "gemini" / "vertex";
 * api_from_name returns -1 for anything else. */
const char *api_name(enum api_kind api);
int api_from_name(const char *name);

struct bedrock_stream;
/* An attachment a request may carry besides its text (probes/media.h). */
enum media_kind { MEDIA_NONE = 0, MEDIA_PNG, MEDIA_PDF };

struct probe_message {
	const char *role; /* system, user, assistant */
	const char *content;
};

enum tool_choice {
	TOOL_CHOICE_AUTO = 0, /* the model may call the tool */
	TOOL_CHOICE_REQUIRED, /* the model must call a tool */
	TOOL_CHOICE_NAMED,    /* the model must call this tool */
};

/*
 * What a request asks for beyond its messages, in no API's terms: the
 * adapter writes each API's own fields for it (OpenAI `stop`, Anthropic
 * `stop_sequences`; OpenAI `tools[].function.parameters`, Anthropic
 * `tools[].input_schema`; ...) or says it cannot be expressed.
 */
struct request_intent {
	const char *const *stop; /* stop sequences */
	size_t n_stop;
	int top_logprobs;      /* > 0: token logprobs with this many alternatives */
	int json_object;       /* the answer must be a JSON object (JSON mode) */
	const char *tool_name; /* one function tool, or NULL */
	const char *tool_description;
	const char *tool_schema; /* its arguments' JSON Schema, as JSON text */
	enum tool_choice tool_choice;
	long thinking_budget; /* > 0: Anthropic extended thinking with this
	                       * budget_tokens (max_tokens must exceed it) */
	/* the last user message carries this attachment (MEDIA_NONE: none) */
	enum media_kind attach;
	/* structured output: the answer must be JSON matching this schema
	 * (JSON text) under this name; NULL: none */
	const char *answer_schema;
	const char *answer_schema_name;
};

/*
 * What the model behind an endpoint accepts, from its baseline: which
 * token-limit field it takes and whether it takes temperature at all. The
 * zero value is what the chat models of both APIs take.
 */
struct request_rules {
	int max_completion_tokens; /* OpenAI: max_completion_tokens, not max_tokens */
	int no_temperature;        /* temperature is refused: leave it out */
	int no_stop;               /* stop sequences are refused (a 400) */
	int no_logprobs;           /* logprobs are refused (a 400) */
	/* Reasoning models think inside the token limit, before the answer: */
	char effort[16];      /* the reasoning effort to ask for ("" leaves it out):
	                       * OpenAI reasoning_effort, Responses reasoning.effort */
	char effort_chat[16]; /* Chat Completions' reasoning_effort where the
	                       * model's OpenAI-compatible endpoint words it
	                       * otherwise (Gemini's "none" for minimal); "": effort */
	long reserve;         /* tokens added to every limit for that thinking */
	long min_output;      /* the smallest limit the model accepts; 0 none */
	/* What the model takes besides text, from its pack (a model whose pack
	 * says nothing takes neither: it is not probed for them): */
	int takes_images;      /* image input (PNG) */
	int takes_documents;   /* PDF input */
	int takes_json_schema; /* structured output (response_format json_schema) */
};

/*
 * Why a model with these rules refuses what the intent asks for (a
 * sentence), or NULL when it accepts it. A probe the model refuses is
 * skipped like one its API cannot carry: sent, it would only earn a 400.
 * rules NULL: the defaults, which refuse nothing.
 */
const char *adapter_refused(const struct request_rules *rules, const struct request_intent *in);

/* One request to make, fully instantiated (nonce already in the text). */
struct probe_call {
	const char *model;
	const struct probe_message *messages;
	size_t n_messages;
	long max_tokens;    /* -1: leave out (Anthropic requires it: 1024 then);
	                     * see adapter_max_tokens() for what is sent */
	double temperature; /* < 0: leave out */
	long seed;          /* < 0: leave out (Chat Completions only) */
	int stream;
	struct request_intent intent;
	const struct request_rules *rules; /* NULL: the defaults */
	/* intent.attach's bytes in base64: the last user message carries them
	 * after its text as each API takes it (an image part, a file or
	 * document part); NULL: no attachment is written */
	const char *attach_base64;
};

/* The endpoint URL for base_url, by endpoint_url()'s rules (probes/endpoint.h);
 * the caller frees it. */
char *adapter_url(enum api_kind api, const char *base_url);
/* The URL one request for model goes to (endpoint_request_url(): Gemini and
 * Vertex name the model and whether it streams in the path); the caller
 * frees it. */
char *adapter_request_url(enum api_kind api, const char *base_url, const char *model, int stream);
/*
 * Why api cannot carry this intent (a sentence naming what the API lacks),
 * or NULL when it can. A probe whose intent an API cannot carry is skipped,
 * never sent half-built.
 */
const char *adapter_cannot(enum api_kind api, const struct request_intent *intent);
/*
 * The token limit a request asking for max_tokens carries on api under
 * rules (NULL: none): max_tokens plus the rules' reserve for a reasoning
 * model's thinking, at least the rules' min_output, and on the Responses
 * API at least 16 (it refuses less with a 400). -1 (no limit) stays -1.
 * Detectors that hold an answer to its limit hold it to this one.
 */
long adapter_max_tokens(enum api_kind api, long max_tokens, const struct request_rules *rules);
/*
 * The JSON request body, in api's own schema; the caller frees it. NULL
 * (with the reason in *why_not, when why_not is not NULL) when the intent
 * cannot be expressed in api.
 */
char *adapter_body(enum api_kind api, const struct probe_call *call, const char **why_not);

/* Incremental response parsing. */
struct adapter_parse {
	enum api_kind api;
	struct observation *obs;
	int stream;
	int64_t start_us;
	struct buf body;     /* non-stream body, or an error body on a stream */
	size_t stream_bytes; /* a stream's size so far, held to body.cap */
	struct sse_parser sse;
	size_t events;                      /* stream events parsed so far, of any kind */
	struct buf text;                    /* answer text gathered from deltas */
	struct buf args;                    /* the first tool call's arguments (JSON text) */
	int args_whole;                     /* args came whole: later deltas add nothing */
	long tool_block;                    /* Anthropic stream: the first tool_use block's
	                                     * index, -1 none yet */
	struct buf thinking;                /* Anthropic: the first thinking block's text */
	struct buf signature;               /* ... and its signature */
	long thinking_block;                /* Anthropic stream: that block's index, -1 none */
	int saw_done;                       /* [DONE], message_stop or a Responses end event */
	int failed;                         /* parse failed: obs->error is set */
	size_t stop_after_chunks;           /* 0: read all; else stop the stream past this */
	int stopped;                        /* we stopped it on purpose: not an error */
	int listing;                        /* a GET of the model list (probes/models_list.h),
	                                     * not an answer */
	struct bedrock_stream *eventstream; /* the stream is AWS event-stream
	                                     * framing (probes/bedrock.h:
	                                     * bedrock_parse_eventstream); NULL: SSE */
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

/* ---- For the other stream framings (probes/bedrock.c) ---- */

/* One stream event's JSON (data, len), as an SSE data line of p's API
 * with this event name (may be NULL) would carry it: 0, or -1 with the
 * observation's error set (or the stream stopped on purpose). */
int adapter_stream_event(struct adapter_parse *p, const char *event, const char *data, size_t len,
                         int64_t now);
/* Fail the parse with class e (the first reason stands). */
void adapter_parse_fail(struct adapter_parse *p, enum error_class e, const char *detail);
/* Answer text that arrived at now (a stream's delta, or a whole body's). */
void adapter_parse_text(struct adapter_parse *p, const char *s, size_t n, int64_t now);
/* The first tool call: its id and name (NULL: not in this event), more of
 * its arguments as text (partial), or its arguments whole (a JSON object
 * or string). Later calls add nothing to a call already taken whole. */
struct json_t;
void adapter_parse_tool(struct adapter_parse *p, struct json_t *id, struct json_t *name,
                        struct json_t *partial, struct json_t *whole);

/* Classify an HTTP error status (with its error body's code, if any). */
enum error_class adapter_classify_status(int status, const char *code);

#endif
