/*
 * bedrock: Anthropic Messages on Amazon Bedrock's runtime (InvokeModel and
 * InvokeModelWithResponseStream), as a dialect of the Anthropic API.
 *
 * The body is Anthropic's Messages body without `model` and `stream`, with
 * "anthropic_version": "bedrock-2023-05-31"; the model goes in the path,
 * percent-encoded (its ':' as %3A):
 *   POST {base}/model/{modelId}/invoke                        one JSON answer
 *   POST {base}/model/{modelId}/invoke-with-response-stream   AWS event stream
 * base is https://bedrock-runtime.{region}.amazonaws.com, or a relay's URL
 * that speaks Bedrock's wire. A non-streamed answer is an Anthropic
 * Messages body; a stream is application/vnd.amazon.eventstream whose
 * `chunk` events carry {"bytes": base64 of one Anthropic stream event},
 * and whose failures are `exception` messages (throttlingException, ...).
 * Requests to AWS are signed with SigV4 (probes/sigv4.h), service
 * "bedrock".
 *
 * Sources: docs.aws.amazon.com/bedrock/latest/APIReference/
 * API_runtime_InvokeModel.html, API_runtime_InvokeModelWithResponseStream
 * .html, API_runtime_ResponseStream.html, API_runtime_PayloadPart.html;
 * docs.aws.amazon.com/bedrock/latest/userguide/
 * model-parameters-anthropic-claude-messages.html.
 */
#ifndef ASSAY_BEDROCK_H
#define ASSAY_BEDROCK_H

#include <stddef.h>
#include <stdint.h>

#include "probes/adapter.h"

#define BEDROCK_ANTHROPIC_VERSION "bedrock-2023-05-31"
/* The SigV4 service name of the runtime endpoint. */
#define BEDROCK_SIGNING_SERVICE "bedrock"

/* ---- Where requests go ---- */

/* https://bedrock-runtime.REGION.amazonaws.com, or NULL when region is not
 * an AWS region name ([a-z0-9-], 1 to 32 characters). The caller frees it. */
char *bedrock_base_url(const char *region);
/* The region of an AWS Bedrock runtime URL (bedrock-runtime.REGION.
 * amazonaws.com[.cn]), into out (n bytes); 0, or -1 for another host. */
int bedrock_region_of(const char *base_url, char *out, size_t n);
/* The invoke URL for model on base_url (its path kept, trailing slashes
 * dropped; its query dropped): .../model/ID/invoke, or .../invoke-with-
 * response-stream when stream. The id is percent-encoded: every byte but
 * A-Z a-z 0-9 - _ . ~ as %XX (':' is %3A). The caller frees it. */
char *bedrock_invoke_url(const char *base_url, const char *model, int stream);

/* The URL for a request of api (API_ANTHROPIC: bedrock_invoke_url;
 * API_CONVERSE: .../model/ID/converse, or .../converse-stream). */
char *bedrock_call_url(const char *base_url, enum api_kind api, const char *model, int stream);

/* ---- The request body ---- */

/* The body for call: adapter_body(API_ANTHROPIC, ...) without model and
 * stream, with anthropic_version. NULL (why in *why_not) when the
 * Anthropic API cannot carry the intent. The caller frees it. */
char *bedrock_body(const struct probe_call *call, const char **why_not);
/* The body for api: bedrock_body for API_ANTHROPIC, adapter_body for
 * API_CONVERSE (whose body has no model either). */
char *bedrock_request_body(enum api_kind api, const struct probe_call *call, const char **why_not);

/*
 * Converse (POST /model/ID/converse, /converse-stream; API_CONVERSE):
 * {messages: [{role, content: [{text}]}], system: [{text}],
 * inferenceConfig: {maxTokens, temperature, stopSequences}, toolConfig:
 * {tools: [{toolSpec: {name, description, inputSchema: {json}}}],
 * toolChoice: {auto: {}} | {any: {}} | {tool: {name}}}}; the answer is
 * {output: {message: {role, content: [{text} | {toolUse: {toolUseId, name,
 * input}}]}}, stopReason, usage: {inputTokens, outputTokens, totalTokens},
 * metrics: {latencyMs}}, and a stream's events are named by :event-type
 * (messageStart, contentBlockStart, contentBlockDelta, contentBlockStop,
 * messageStop, metadata) with their JSON as the payload. Converse answers
 * carry no id. Sources: API_runtime_Converse.html, API_runtime_ConverseStream
 * .html, API_runtime_ConverseStreamOutput.html, API_runtime_TokenUsage.html.
 */
char *bedrock_converse_body(const struct probe_call *call, const struct request_rules *rules);
void bedrock_converse_finish(struct adapter_parse *p, struct json_t *body);

/* ---- The model id ---- */

/*
 * The Anthropic model name a Bedrock model id stands for, into out (n
 * bytes): a region prefix of a cross-region inference profile (us., eu.,
 * apac., jp., au., us-gov., global.) and the vendor prefix "anthropic."
 * dropped, and the version suffix -vN:M (or -vN) dropped:
 * "us.anthropic.claude-sonnet-4-5-20250929-v1:0" -> "claude-sonnet-4-5-
 * 20250929". 0, or -1 (out untouched) when id is not an Anthropic model id
 * on Bedrock. An ARN's last path part is read the same way.
 */
int bedrock_model_name(const char *id, char *out, size_t n);

/* ---- Errors ---- */

/* Bedrock's own words for what Anthropic's classes miss: a 400
 * ValidationException "The provided model identifier is invalid." is a
 * model the endpoint does not offer (ERR_NO_MODEL), as a 404 naming a
 * model is elsewhere. Call after adapter_parse_finish(). */
void bedrock_classify(struct observation *o);

/* ---- The response stream (called by probes/adapter.c) ---- */

/* Read p's stream as an AWS event stream from now on. */
void bedrock_parse_eventstream(struct adapter_parse *p);
/* The event-stream half of adapter_parse_feed and adapter_parse_finish. */
int bedrock_stream_feed(struct adapter_parse *p, const char *data, size_t len, int64_t now);
void bedrock_stream_finish(struct adapter_parse *p);
void bedrock_parse_release(struct adapter_parse *p);

#endif
