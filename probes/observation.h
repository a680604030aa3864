/*
 * observation: what one probe request to a relay produced, success or not.
 *
 * Every field read from the relay is untrusted and already capped and made
 * valid UTF-8 when it lands here. Strings are owned by the observation and
 * freed by observation_release(). Unknown numbers are -1.
 */
#ifndef ASSAY_OBSERVATION_H
#define ASSAY_OBSERVATION_H

#include <stddef.h>
#include <stdint.h>

/*
 * Why a request failed. Stable names (see error_class_name) go to the
 * database, JSON and pages: new classes are appended, never renumbered or
 * renamed, so stored names stay valid.
 */
enum error_class {
	ERR_NONE = 0,
	ERR_DNS,          /* name did not resolve */
	ERR_CONNECT,      /* TCP connect failed, refused or timed out */
	ERR_TLS,          /* handshake or certificate */
	ERR_TIMEOUT,      /* no response before the deadline, or one still coming
	                   * at it (last_byte_us tells which) */
	ERR_IDLE,         /* a response that started, then stalled */
	ERR_AUTH,         /* 401, 403: the key is rejected */
	ERR_QUOTA,        /* 402 or a quota/balance error (any status, 429 too):
	                   * credit is gone */
	ERR_RATE_LIMITED, /* a real 429 response (not quota) */
	ERR_HTTP,         /* another 3xx/4xx: http_status says which */
	ERR_UPSTREAM,     /* 5xx, or an error inside a 200 */
	ERR_MALFORMED,    /* the body is not what the API promises */
	ERR_TOO_LARGE,    /* body or header over its cap (ours or libcurl's) */
	ERR_ABORTED,      /* we stopped it (shutdown) */
	ERR_NETWORK,      /* other transport failure */
	ERR_NOT_SENT,     /* never sent: error_detail says why (paused for the
	                   * relay, circuit open, the run's deadline passed) */
	ERR_NOT_FOUND,    /* 404 with nothing at the URL (HTML, generic) */
	ERR_NO_MODEL,     /* the relay does not offer the model (404 naming it,
	                   * model_not_found, "no channel for model") */
	ERR__COUNT
};

const char *error_class_name(enum error_class e);
/* -1 when name is unknown. */
int error_class_from_name(const char *name);

/* Caps on what is kept of a response. */
#define OBS_TEXT_CAP (16u * 1024) /* answer text kept */
#define OBS_FIELD_CAP 256         /* model, id, fingerprint, reasons */
#define OBS_DETAIL_CAP 512        /* error detail */
#define OBS_TOOL_ARGS_CAP 8192    /* the first tool call's arguments */
#define OBS_MAX_CHUNKS 4096       /* chunk arrival times kept */
#define OBS_EVENTS_CAP 48         /* letters of a stream's event sequence kept */

/*
 * The protocol around the answer, for the fingerprint: which headers came
 * (OBS_HDR_*), which usage fields (OBS_USAGE_*), and a stream's event
 * sequence as letters, a run of one kind written once:
 *   Anthropic  S message_start  P ping  B content_block_start
 *              D content_block_delta  E content_block_stop  M message_delta
 *              Z message_stop  X error  ? any other event
 *   OpenAI     R role-only chunk  C content  T tool-call delta  F finish
 *              reason  U usage-only chunk  Z [DONE]  ? any other chunk
 *   Responses  S response.created  G response.in_progress
 *              I response.output_item.added  B response.content_part.added
 *              D response.output_text.delta  Y response.output_text.done
 *              E response.content_part.done
 *              T response.function_call_arguments.delta
 *              A response.function_call_arguments.done
 *              O response.output_item.done  Z response.completed
 *              N response.incomplete  F response.failed  X error
 *              Q a [DONE] line (the official API sends none)  ? any other
 */
enum {
	OBS_HDR_REQUEST_ID = 1 << 0,          /* request-id (Anthropic) */
	OBS_HDR_X_REQUEST_ID = 1 << 1,        /* x-request-id (OpenAI) */
	OBS_HDR_ANTHROPIC_RATELIMIT = 1 << 2, /* anthropic-ratelimit-* */
	OBS_HDR_OPENAI_RATELIMIT = 1 << 3,    /* x-ratelimit-* */
	OBS_HDR_ANTHROPIC_ORG = 1 << 4,       /* anthropic-organization-id */
	OBS_HDR_OPENAI_ORG = 1 << 5,          /* openai-organization, openai-version */
	OBS_HDR_AMZN = 1 << 6,                /* x-amzn-* (AWS: requestid, bedrock-*) */
	OBS_HDR_GOOG = 1 << 7,                /* x-goog-*, x-cloudaicompanion-* (Google) */
	OBS_HDR_ANTHROPIC_UNIFIED = 1 << 8,   /* anthropic-ratelimit-unified-* (a Claude
	                                       * subscription's limits, not an API key's) */
};
/* Marks of the Anthropic Messages body a relay forwards or rebuilds, for the
 * backend origin (scoring/origin.h). */
enum {
	OBS_ANT_STOP_SEQUENCE_KEY = 1 << 0, /* the message has a stop_sequence key (null too) */
	OBS_ANT_CACHE_CREATION = 1 << 1,    /* usage.cache_creation is an object */
	OBS_ANT_INFERENCE_GEO = 1 << 2,     /* usage.inference_geo is a string */
	OBS_ANT_CAMEL_USAGE = 1 << 3,       /* usage has inputTokens / outputTokens */
	OBS_ANT_OPENAI_USAGE = 1 << 4,      /* usage has prompt_tokens / completion_tokens */
	OBS_ANT_THINKING = 1 << 5,          /* a thinking block came */
	OBS_ANT_REDACTED_THINKING = 1 << 6, /* a redacted_thinking block came */
	OBS_ANT_SIGNATURE_DELTA = 1 << 7,   /* streamed: its signature came as signature_delta */
	OBS_ANT_FINGERPRINT = 1 << 8,       /* a system_fingerprint on Anthropic's wire */
};

/* Azure OpenAI's marks on OpenAI's wire (openai_marks): its content-filter
 * annotations (prompt_filter_results, choices[].content_filter_results)
 * and its API gateway's apim-request-id header. */
enum {
	OBS_OAI_FILTER = 1 << 0,
	OBS_OAI_APIM = 1 << 1,
};
#define OBS_SIGNATURE_CAP (16u * 1024) /* a thinking signature kept whole up to this */
enum {
	OBS_POSTURE_TLS = 1 << 0,      /* the request went over https and verified */
	OBS_POSTURE_HSTS = 1 << 1,     /* strict-transport-security came back */
	OBS_POSTURE_CORS_ANY = 1 << 2, /* access-control-allow-origin: * */
	OBS_POSTURE_TO_HTTPS = 1 << 3, /* a 3xx whose Location is an https URL */
};
/* The TLS version a response came over (probes/tlsinfo.h reads it). Stable
 * names (obs_tls_version_name: OpenSSL's own spelling, "TLSv1.3") go to the
 * JSON report; below TLS 1.2 is weak (OBS_TLS_WEAK). */
enum obs_tls_version {
	OBS_TLS_NONE = 0, /* not https, no handshake, or unknown */
	OBS_TLS_SSL,      /* SSLv3 or older */
	OBS_TLS_1_0,
	OBS_TLS_1_1,
	OBS_TLS_1_2,
	OBS_TLS_1_3,
	OBS_TLS_NEWER, /* a version newer than this build knows */
	OBS_TLS__COUNT
};
#define OBS_TLS_WEAK(v) ((v) > OBS_TLS_NONE && (v) < OBS_TLS_1_2)
enum {
	OBS_USAGE_INPUT = 1 << 0,                 /* input_tokens / prompt_tokens */
	OBS_USAGE_OUTPUT = 1 << 1,                /* output_tokens / completion_tokens */
	OBS_USAGE_CACHE_CREATION = 1 << 2,        /* cache_creation_input_tokens */
	OBS_USAGE_CACHE_READ = 1 << 3,            /* cache_read_input_tokens */
	OBS_USAGE_SERVICE_TIER = 1 << 4,          /* usage.service_tier */
	OBS_USAGE_PROMPT_DETAILS = 1 << 5,        /* prompt_tokens_details */
	OBS_USAGE_OUTPUT_DETAILS = 1 << 6,        /* completion_tokens_details */
	OBS_USAGE_INPUT_DETAILS = 1 << 7,         /* input_tokens_details (Responses) */
	OBS_USAGE_OUTPUT_TOKENS_DETAILS = 1 << 8, /* output_tokens_details (Responses) */
};

struct observation {
	int64_t started_ms; /* wall clock, for storage */
	int http_status;    /* 0 when no response */
	enum error_class error;
	char *error_detail; /* short, sanitized; never holds a key */

	/* microseconds: dns, connect, tls and sent from the start of the
	 * transfer; ttfb and ttft from the request being sent (sent_us), so
	 * they time the model, not the connection; total from the start */
	int64_t dns_us, connect_us, tls_us, sent_us, ttfb_us, ttft_us, total_us;
	int64_t *chunk_us; /* arrival of each content chunk */
	size_t n_chunks;
	int streamed;

	long prompt_tokens, completion_tokens, total_tokens;
	long cached_tokens;    /* prompt_tokens_details.cached_tokens (Responses:
	                        * input_tokens_details; Anthropic: cache reads) */
	long reasoning_tokens; /* completion_tokens_details.reasoning_tokens
	                        * (Responses: output_tokens_details); Anthropic
	                        * reports none: -1 */
	char *model;           /* the model field the relay reported */
	char *id;
	char *system_fingerprint;
	char *finish_reason;
	char *text; /* the answer, capped */
	size_t text_len;
	int text_truncated;
	char *ratelimit_remaining; /* x-ratelimit-remaining-requests, if any */
	/* the upstream key's limits as the response's headers say them
	 * (probes/ratelimit.h): numbers, -1 absent; org_hash a digest of the
	 * organisation id header (0 none), never the id itself */
	struct obs_ratelimit {
		long req_limit, req_remaining, tok_limit, tok_remaining;
		uint32_t org_hash;
	} rl;
	char *request_id;        /* x-request-id / request-id */
	long retry_after_s;      /* Retry-After in seconds, -1 if absent */
	int usage_present;       /* the response carried a usage object */
	int logprobs_present;    /* choices[0].logprobs was not null */
	int tool_calls;          /* the answer called a tool (tool_calls, tool_use) */
	int stopped_early;       /* we ended the stream: it ran past its limit */
	int timing_disturbed;    /* our own loop stalled during it: timings unreliable */
	int64_t timing_slack_us; /* by at most this much: a chunk may have arrived
	                          * that long before its stamp (0: undisturbed) */
	int64_t start_mono_us;   /* now_us() when the transfer started: chunk_us and
	                          * sent_us count from it (set by the engine) */

	/* the protocol fingerprint (see OBS_HDR_*, OBS_USAGE_*) */
	char events[OBS_EVENTS_CAP]; /* a stream's event letters, NUL-terminated */
	unsigned headers_seen;       /* OBS_HDR_* bits */
	unsigned usage_fields;       /* OBS_USAGE_* bits, over every usage object */
	long start_input_tokens;     /* Anthropic message_start usage.input_tokens; -1 */
	char *content_type;          /* the response's Content-Type */
	char *tool_id;               /* the first tool call's id */
	char *tool_name;             /* the first tool call's function name */
	char *tool_args;             /* its arguments as JSON text, as they came
	                              * (Anthropic's input object written compact);
	                              * NULL: no call; capped at OBS_TOOL_ARGS_CAP */
	int tool_args_truncated;
	/* the relay's security posture (scoring/posture.h): OBS_POSTURE_* bits,
	 * and how many fields had a secret of the request redacted out */
	unsigned posture;
	int secrets_echoed;
	int canary_echoed;    /* fields that held a planted canary, redacted (its text
	                       * then says less than the relay sent) */
	int64_t last_byte_us; /* the last response byte (headers or body) from
	                       * the start of the transfer; -1: none came */
	int64_t timeout_us;   /* the deadline it was given; -1: never sent */

	/* the TLS session of the connection that answered (probes/tlsinfo.h),
	 * read while curl still held it */
	enum obs_tls_version tls_version;
	int64_t cert_not_after; /* the server certificate's notAfter (Unix
	                         * seconds); 0: unknown, or not https */
	char cert_sha256[17];   /* the leaf's SHA-256 fingerprint, its first 8
	                         * bytes in hex; "": unknown (early warning:
	                         * a certificate replaced long before expiry) */
	char cert_names[96];    /* the names it is for: its DNS and IP alternative
	                         * names (else its subject's CN), comma-separated,
	                         * only [A-Za-z0-9.*:-] kept (others '?'), capped;
	                         * "": unknown (early warning: another domain) */

	/* Anthropic's wire, for the backend origin (scoring/origin.h) */
	unsigned anthropic_marks; /* OBS_ANT_* bits */
	unsigned openai_marks;    /* OBS_OAI_* bits: Azure OpenAI's marks on
	                           * OpenAI's wire (scoring/origin.h) */
	char *thinking;           /* the first thinking block's text, capped at
	                           * OBS_TEXT_CAP (thinking_truncated: cut) */
	int thinking_truncated;
	char *signature;      /* its signature, capped at OBS_SIGNATURE_CAP */
	size_t signature_len; /* the signature's length as it came (0: none) */
	/* the block sent back to the official API (assay audit
	 * --verify-key-env): OBS_SIG_*, and what came back (owned; NULL) */
	int signature_check;
	char *signature_check_detail;
};
enum {
	OBS_SIG_NOT_SENT = 0,
	OBS_SIG_ACCEPTED, /* the official API took the block back */
	OBS_SIG_REJECTED, /* it answered 400 naming the signature */
	OBS_SIG_FAILED,   /* the check could not be made (error, other status) */
};

void observation_init(struct observation *o);
void observation_release(struct observation *o);
/* Did the request produce an answer we can score? */
int observation_ok(const struct observation *o);
/* Stable names of the OBS_USAGE_* and OBS_HDR_* bits (packs, JSON, pages);
 * NULL / 0 for what is not one. */
const char *obs_usage_field_name(unsigned bit);
unsigned obs_usage_field_from_name(const char *name);
const char *obs_header_name(unsigned bit);
unsigned obs_header_from_name(const char *name);
/* "TLSv1.3" and the like; NULL for OBS_TLS_NONE or a value out of range. */
const char *obs_tls_version_name(enum obs_tls_version v);

/* Append an event letter to o->events (a run of one letter is kept once;
 * past the cap the sequence ends in '+'). */
void observation_event(struct observation *o, char letter);
/* Set a string field to a sanitized copy (capped, valid UTF-8). */
void observation_set(char **field, const char *s, size_t len, size_t cap);
/* A duration as error details and findings say it, to two figures: "45 ms",
 * "250 ms", "1.5 s", "60 s" (one decimal under 10 s, none above); "?" when
 * negative. */
void observation_duration_text(int64_t us, char *out, size_t n);

#endif
