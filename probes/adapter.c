/*
 * adapter: OpenAI Chat Completions, Anthropic Messages (also as Vertex AI
 * takes it) and the OpenAI Responses API on the wire; Gemini's own wire is
 * in probes/adapter_gemini.c, dispatched to from here.
 *
 * Parsing never trusts the relay: every string is capped and sanitized by
 * observation_set(), the body and each SSE event are capped, and what the
 * relay sends is parsed by probes/chunk_json.h (simdjson, with caps on size,
 * depth and memory); requests are built with jansson. A 2xx response that does not
 * have the promised shape is ERR_MALFORMED with a short reason.
 */
#include "probes/adapter.h"
#include "probes/media.h"
#include "probes/models_list.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probes/bedrock.h"
#include "probes/adapter_wire.h"
#include "probes/endpoint.h"
#include "probes/chunk_json.h"

#define SSE_LINE_CAP (1u << 20)
#define SSE_EVENT_CAP (1u << 20)
#define TEXT_CAP (1u << 20) /* gathered before the observation's own cap */
/* The Anthropic API version Vertex AI's Claude takes in the body
 * (docs.anthropic.com/en/api/claude-on-vertex-ai: "must be set to the value
 * vertex-2023-10-16") */
#define VERTEX_ANTHROPIC_VERSION "vertex-2023-10-16"

static const char *const api_names[] = {
    [API_OPENAI] = "openai",     [API_ANTHROPIC] = "anthropic", [API_RESPONSES] = "responses",
    [API_CONVERSE] = "converse", [API_GEMINI] = "gemini",       [API_VERTEX] = "vertex",
};

const char *
api_name(enum api_kind api)
{
	return (unsigned)api < sizeof api_names / sizeof api_names[0] ? api_names[api] : "openai";
}

int
api_from_name(const char *name)
{
	return name_index(api_names, sizeof api_names / sizeof api_names[0], name);
}

char *
adapter_url(enum api_kind api, const char *base_url)
{
	return endpoint_url(api, base_url); /* the URL rules live in endpoint.c */
}

char *
adapter_request_url(enum api_kind api, const char *base_url, const char *model, int stream)
{
	return endpoint_request_url(api, base_url, model, stream);
}

const char *
adapter_cannot(enum api_kind api, const struct request_intent *in)
{
	/* attachments and JSON Schema output are written for Chat
	 * Completions, Responses and Anthropic's Messages (and so Vertex's)
	 * only: a wire that would drop them must not send the probe, or the
	 * official API would look as if it stripped them */
	if ((api == API_GEMINI || api == API_CONVERSE) && in->attach != MEDIA_NONE)
		return api == API_GEMINI ? "Assay writes no attachments in Gemini's fields yet"
		                         : "Assay writes no attachments in Converse's fields yet";
	if ((api == API_GEMINI || api == API_CONVERSE) && in->answer_schema != NULL)
		return api == API_GEMINI
		           ? "Assay writes no JSON Schema output in Gemini's fields yet"
		           : "Bedrock's Converse API has no JSON Schema output";
	if (api == API_GEMINI)
		return gemini_cannot(in);
	if (api == API_ANTHROPIC || api == API_VERTEX) {
		if (in->top_logprobs > 0)
			return "the Anthropic Messages API returns no token logprobs";
		if (in->json_object)
			return "the Anthropic Messages API has no JSON mode";
	} else if (in->thinking_budget > 0) {
		return "signed thinking blocks are the Anthropic Messages API's";
	}
	if (api == API_CONVERSE) {
		if (in->top_logprobs > 0)
			return "Bedrock's Converse API returns no token logprobs";
		if (in->json_object)
			return "Bedrock's Converse API has no JSON mode";
	}
	if (api == API_RESPONSES && in->n_stop > 0)
		/* measured: "Unknown parameter: 'stop'. Did you mean 'store'?" */
		return "the OpenAI Responses API has no stop sequences";
	return NULL;
}

/* Responses refuses max_output_tokens below 16 ("Invalid 'max_output_tokens':
 * integer below minimum value. Expected a value >= 16, but got 1 instead."). */
#define RESPONSES_MIN_OUTPUT 16

long
adapter_max_tokens(enum api_kind api, long max_tokens, const struct request_rules *rules)
{
	if (max_tokens < 0)
		return max_tokens;
	if (rules != NULL) {
		max_tokens += rules->reserve > 0 ? rules->reserve : 0;
		if (max_tokens < rules->min_output)
			max_tokens = rules->min_output;
	}
	if (api == API_RESPONSES && max_tokens < RESPONSES_MIN_OUTPUT)
		return RESPONSES_MIN_OUTPUT;
	return max_tokens;
}

/* The tool's argument schema as JSON (an empty object schema if unset). */
static json_t *
tool_schema(const struct request_intent *in)
{
	json_t *schema = in->tool_schema ? json_loads(in->tool_schema, 0, NULL) : NULL;
	if (!json_is_object(schema)) {
		json_decref(schema);
		schema = json_pack("{s:s, s:{}}", "type", "object", "properties");
	}
	return schema;
}

static json_t *
stop_array(const struct request_intent *in)
{
	json_t *a = json_array();
	for (size_t i = 0; i < in->n_stop; i++)
		json_array_append_new(a, json_string(in->stop[i]));
	return a;
}

/* The message an attachment goes on: the last user message. */
static size_t
attach_index(const struct probe_call *call)
{
	for (size_t i = call->n_messages; i-- > 0;)
		if (strcmp(call->messages[i].role, "user") == 0)
			return i;
	return (size_t)-1;
}

/* The name a PDF attachment goes by: an ordinary one, never the code. */
#define ATTACH_FILENAME "scan.pdf"

/*
 * A message's content: its text, or with an attachment a list of parts in
 * the API's own shape. Chat Completions: a text part, then an image_url
 * part {url: data URL, detail: low} or a file part {filename, file_data:
 * data URL} (ChatCompletionContentPartImage / ContentPart.File of the
 * openai SDK); Responses: input_text, then input_image {image_url, detail}
 * or input_file {filename, file_data} (ResponseInputImage /
 * ResponseInputFile); Anthropic: the image or document block first, as
 * its vision guide advises, {type: image|document, source: {type: base64,
 * media_type, data}} (ImageBlockParam / DocumentBlockParam with
 * Base64PDFSource), then the text block.
 */
static json_t *
message_content(enum api_kind api, const struct probe_call *call, size_t i)
{
	const struct probe_message *m = &call->messages[i];
	enum media_kind kind = call->intent.attach;
	if (kind == MEDIA_NONE || call->attach_base64 == NULL || i != attach_index(call))
		return json_string(m->content);
	const char *data = call->attach_base64;
	const char *mime = media_mime(kind);
	json_t *parts = json_array();
	if (api == API_ANTHROPIC) {
		json_t *source = json_pack("{s:s, s:s, s:s}", "type", "base64", "media_type", mime,
		                           "data", data);
		json_array_append_new(parts, json_pack("{s:s, s:o}", "type",
		                                       kind == MEDIA_PNG ? "image" : "document",
		                                       "source", source));
		json_array_append_new(parts,
		                      json_pack("{s:s, s:s}", "type", "text", "text", m->content));
		return parts;
	}
	struct buf url;
	buf_init(&url, 0);
	buf_putf(&url, "data:%s;base64,%s", mime, data);
	char *data_url = buf_take(&url, NULL);
	if (api == API_RESPONSES) {
		json_array_append_new(
		    parts, json_pack("{s:s, s:s}", "type", "input_text", "text", m->content));
		json_array_append_new(
		    parts, kind == MEDIA_PNG
		               ? json_pack("{s:s, s:s, s:s}", "type", "input_image", "image_url",
		                           data_url, "detail", "low")
		               : json_pack("{s:s, s:s, s:s}", "type", "input_file", "filename",
		                           ATTACH_FILENAME, "file_data", data_url));
	} else {
		json_array_append_new(parts,
		                      json_pack("{s:s, s:s}", "type", "text", "text", m->content));
		json_array_append_new(
		    parts, kind == MEDIA_PNG
		               ? json_pack("{s:s, s:{s:s, s:s}}", "type", "image_url", "image_url",
		                           "url", data_url, "detail", "low")
		               : json_pack("{s:s, s:{s:s, s:s}}", "type", "file", "file",
		                           "filename", ATTACH_FILENAME, "file_data", data_url));
	}
	free(data_url);
	return parts;
}

/* The schema of a structured answer (an empty object schema if unset). */
static json_t *
answer_schema(const struct request_intent *in)
{
	json_t *schema = json_loads(in->answer_schema, 0, NULL);
	if (!json_is_object(schema)) {
		json_decref(schema);
		schema = json_pack("{s:s, s:{}}", "type", "object", "properties");
	}
	return schema;
}

/*
 * OpenAI Chat Completions: messages keep their roles; the token limit is
 * max_tokens or, for the models that require it, max_completion_tokens;
 * a streamed request asks for the usage chunk.
 */
static void
openai_fields(json_t *root, const struct probe_call *call, const struct request_rules *rules)
{
	const struct request_intent *in = &call->intent;
	json_t *msgs = json_array();
	for (size_t i = 0; i < call->n_messages; i++)
		json_array_append_new(msgs,
		                      json_pack("{s:s, s:o}", "role", call->messages[i].role,
		                                "content", message_content(API_OPENAI, call, i)));
	json_object_set_new(root, "messages", msgs);
	if (call->max_tokens >= 0)
		json_object_set_new(
		    root, rules->max_completion_tokens ? "max_completion_tokens" : "max_tokens",
		    json_integer(adapter_max_tokens(API_OPENAI, call->max_tokens, rules)));
	if (call->temperature >= 0 && !rules->no_temperature)
		json_object_set_new(root, "temperature", json_real(call->temperature));
	if (rules->effort[0] != '\0')
		json_object_set_new(root, "reasoning_effort",
		                    json_string(rules->effort_chat[0] != '\0' ? rules->effort_chat
		                                                              : rules->effort));
	if (call->seed >= 0)
		json_object_set_new(root, "seed", json_integer(call->seed));
	if (call->stream) {
		json_object_set_new(root, "stream", json_true());
		json_object_set_new(root, "stream_options", json_pack("{s:b}", "include_usage", 1));
	}
	if (in->n_stop > 0)
		json_object_set_new(root, "stop", stop_array(in));
	if (in->top_logprobs > 0) {
		json_object_set_new(root, "logprobs", json_true());
		json_object_set_new(root, "top_logprobs", json_integer(in->top_logprobs));
	}
	if (in->json_object)
		json_object_set_new(root, "response_format",
		                    json_pack("{s:s}", "type", "json_object"));
	else if (in->answer_schema != NULL)
		json_object_set_new(root, "response_format",
		                    json_pack("{s:s, s:{s:s, s:o, s:b}}", "type", "json_schema",
		                              "json_schema", "name", in->answer_schema_name,
		                              "schema", answer_schema(in), "strict", 1));
	if (in->tool_name != NULL) {
		json_t *fn = json_pack("{s:s}", "name", in->tool_name);
		if (in->tool_description != NULL)
			json_object_set_new(fn, "description", json_string(in->tool_description));
		json_object_set_new(fn, "parameters", tool_schema(in));
		json_object_set_new(root, "tools",
		                    json_pack("[{s:s, s:o}]", "type", "function", "function", fn));
		json_t *choice = in->tool_choice == TOOL_CHOICE_REQUIRED ? json_string("required")
		                 : in->tool_choice == TOOL_CHOICE_NAMED
		                     ? json_pack("{s:s, s:{s:s}}", "type", "function", "function",
		                                 "name", in->tool_name)
		                     : json_string("auto");
		json_object_set_new(root, "tool_choice", choice);
	}
}

/*
 * The system text of an API that takes it apart from the messages (Anthropic
 * `system`, Responses `instructions`): system messages joined by a blank
 * line, set as root[key] when there are any; every other message goes into
 * a new array of {role, content}, which is returned.
 */
static json_t *
messages_apart_from_system(json_t *root, const char *key, const struct probe_call *call,
                           enum api_kind api)
{
	struct buf system;
	buf_init(&system, 0);
	json_t *msgs = json_array();
	for (size_t i = 0; i < call->n_messages; i++) {
		const struct probe_message *m = &call->messages[i];
		if (strcmp(m->role, "system") == 0) {
			if (system.len > 0)
				buf_puts(&system, "\n\n");
			buf_puts(&system, m->content);
			continue;
		}
		json_array_append_new(msgs, json_pack("{s:s, s:o}", "role", m->role, "content",
		                                      message_content(api, call, i)));
	}
	if (system.len > 0)
		json_object_set_new(root, key, json_stringn(system.data, system.len));
	buf_release(&system);
	return msgs;
}

/*
 * Anthropic Messages: system text is a top-level field (system messages
 * joined), max_tokens is required, temperature runs 0..1, stop sequences
 * are stop_sequences, a tool is {name, description, input_schema} and a
 * forced call is tool_choice {type: any} or {type: tool, name}.
 */
static void
anthropic_fields(json_t *root, const struct probe_call *call, const struct request_rules *rules)
{
	const struct request_intent *in = &call->intent;
	json_object_set_new(
	    root, "max_tokens",
	    json_integer(call->max_tokens >= 0
	                     ? adapter_max_tokens(API_ANTHROPIC, call->max_tokens, rules)
	                     : 1024));
	json_t *msgs = messages_apart_from_system(root, "system", call, API_ANTHROPIC);
	json_object_set_new(root, "messages", msgs);
	if (in->thinking_budget > 0)
		/* extended thinking takes no temperature but 1: left out */
		json_object_set_new(root, "thinking",
		                    json_pack("{s:s, s:I}", "type", "enabled", "budget_tokens",
		                              (json_int_t)in->thinking_budget));
	else if (call->temperature >= 0 && !rules->no_temperature)
		/* Anthropic's range is 0..1: 1 is already its most varied */
		json_object_set_new(root, "temperature",
		                    json_real(call->temperature > 1 ? 1 : call->temperature));
	if (in->n_stop > 0)
		json_object_set_new(root, "stop_sequences", stop_array(in));
	if (call->stream)
		json_object_set_new(root, "stream", json_true());
	if (in->answer_schema != NULL)
		/* structured outputs (platform.claude.com build-with-claude/
		 * structured-outputs): output_config.format, no name, no strict
		 * (the schema is always enforced) */
		json_object_set_new(root, "output_config",
		                    json_pack("{s:{s:s, s:o}}", "format", "type", "json_schema",
		                              "schema", answer_schema(in)));
	if (in->tool_name != NULL) {
		json_t *tool = json_pack("{s:s}", "name", in->tool_name);
		if (in->tool_description != NULL)
			json_object_set_new(tool, "description", json_string(in->tool_description));
		json_object_set_new(tool, "input_schema", tool_schema(in));
		json_object_set_new(root, "tools", json_pack("[o]", tool));
		json_t *choice =
		    in->tool_choice == TOOL_CHOICE_REQUIRED ? json_pack("{s:s}", "type", "any")
		    : in->tool_choice == TOOL_CHOICE_NAMED
		        ? json_pack("{s:s, s:s}", "type", "tool", "name", in->tool_name)
		        : json_pack("{s:s}", "type", "auto");
		json_object_set_new(root, "tool_choice", choice);
	}
}

/*
 * The OpenAI Responses API (POST /v1/responses, ResponseCreateParams): the
 * system text is `instructions` (the SDK's "system (or developer) message
 * inserted into the model's context"; the JSON-mode check reads only the
 * input messages, which keep the word JSON where the probe put it), the
 * rest are `input` messages {role, content}; the limit is
 * max_output_tokens (at least 16), temperature as on Chat Completions, no
 * seed and no stop (the API has neither); JSON mode is text.format
 * {type: json_object}; logprobs are asked by include
 * ["message.output_text.logprobs"] with top_logprobs; a tool is flat
 * {type: function, name, description, parameters, strict: false} (strict
 * defaults to true there, which would demand a closed schema) and a forced
 * call is tool_choice "required" or {type: function, name}. A reasoning
 * model is asked for the rules' effort (reasoning {effort}), as on Chat
 * Completions (reasoning_effort): see baseline_request_rules().
 */
static void
responses_fields(json_t *root, const struct probe_call *call, const struct request_rules *rules)
{
	const struct request_intent *in = &call->intent;
	json_t *input = messages_apart_from_system(root, "instructions", call, API_RESPONSES);
	json_object_set_new(root, "input", input);
	if (call->max_tokens >= 0)
		json_object_set_new(
		    root, "max_output_tokens",
		    json_integer(adapter_max_tokens(API_RESPONSES, call->max_tokens, rules)));
	if (call->temperature >= 0 && !rules->no_temperature)
		json_object_set_new(root, "temperature", json_real(call->temperature));
	if (rules->effort[0] != '\0')
		json_object_set_new(root, "reasoning", json_pack("{s:s}", "effort", rules->effort));
	if (call->stream)
		json_object_set_new(root, "stream", json_true()); /* usage comes in the end event */
	if (in->top_logprobs > 0) {
		json_object_set_new(root, "include",
		                    json_pack("[s]", "message.output_text.logprobs"));
		json_object_set_new(root, "top_logprobs", json_integer(in->top_logprobs));
	}
	if (in->json_object)
		json_object_set_new(root, "text",
		                    json_pack("{s:{s:s}}", "format", "type", "json_object"));
	else if (in->answer_schema != NULL)
		json_object_set_new(root, "text",
		                    json_pack("{s:{s:s, s:s, s:o, s:b}}", "format", "type",
		                              "json_schema", "name", in->answer_schema_name,
		                              "schema", answer_schema(in), "strict", 1));
	if (in->tool_name != NULL) {
		json_t *tool = json_pack("{s:s, s:s}", "type", "function", "name", in->tool_name);
		if (in->tool_description != NULL)
			json_object_set_new(tool, "description", json_string(in->tool_description));
		json_object_set_new(tool, "parameters", tool_schema(in));
		json_object_set_new(tool, "strict", json_false());
		json_object_set_new(root, "tools", json_pack("[o]", tool));
		json_t *choice =
		    in->tool_choice == TOOL_CHOICE_REQUIRED ? json_string("required")
		    : in->tool_choice == TOOL_CHOICE_NAMED
		        ? json_pack("{s:s, s:s}", "type", "function", "name", in->tool_name)
		        : json_string("auto");
		json_object_set_new(root, "tool_choice", choice);
	}
}

char *
adapter_body(enum api_kind api, const struct probe_call *call, const char **why_not)
{
	static const struct request_rules defaults;
	const struct request_rules *rules = call->rules ? call->rules : &defaults;
	const char *cannot = adapter_cannot(api, &call->intent);
	if (why_not != NULL)
		*why_not = cannot;
	if (cannot != NULL)
		return NULL;
	if (api == API_CONVERSE)
		return bedrock_converse_body(call, rules);
	json_t *root = json_pack("{s:s}", "model", call->model);
	if (api == API_VERTEX) {
		/* Vertex's URL names the model; the version rides in the body */
		anthropic_fields(root, call, rules);
		json_object_del(root, "model");
		json_object_set_new(root, "anthropic_version",
		                    json_string(VERTEX_ANTHROPIC_VERSION));
	} else if (api == API_GEMINI) {
		json_object_del(root, "model");
		gemini_fields(root, call, rules);
	} else if (api == API_ANTHROPIC)
		anthropic_fields(root, call, rules);
	else if (api == API_RESPONSES)
		responses_fields(root, call, rules);
	else
		openai_fields(root, call, rules);
	char *s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (s == NULL)
		fatal(70, "cannot encode request body");
	return s;
}

/* Does s hold needle, ignoring ASCII case? */
static int
contains_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; s != NULL && *s != '\0'; s++)
		if (strncasecmp(s, needle, n) == 0)
			return 1;
	return 0;
}

static int
contains_any(const char *s, const char *const *needles)
{
	for (size_t i = 0; s != NULL && needles[i] != NULL; i++)
		if (contains_ci(s, needles[i]))
			return 1;
	return 0;
}

/*
 * The class of an error answer from its status and what its body says (code,
 * type and message may each be NULL; html: the body was a web page, not an
 * API error). Credit that is gone is quota whatever the status: OpenAI sends
 * insufficient_quota as a 429, one-api/new-api send 401 ("该令牌额度已用尽")
 * and 403 (insufficient_user_quota), Anthropic a 400 ("credit balance is too
 * low"), DeepSeek a 402 ("Insufficient Balance"). A model the relay does not
 * offer is said by code (model_not_found, OpenAI and new-api, even on 503),
 * by one-api's "no channel for model" (a 503), or by a 404 whose message
 * names a model (Anthropic's "model: ..."); any other 404 is nothing at the
 * URL. Only what is left of 429 is a rate limit.
 */
static enum error_class
classify_error(int status, const char *code, const char *type, const char *msg, int html)
{
	static const char *const quota_codes[] = {"quota",  "billing", "balance",
	                                          "credit", "payment", NULL};
	static const char *const quota_words[] = {"exceeded your current quota",
	                                          "quota is not enough",
	                                          "insufficient balance",
	                                          "insufficient credit",
	                                          "credit balance is too low",
	                                          "额度不足",
	                                          "余额不足",
	                                          "额度已用尽",
	                                          NULL};
	static const char *const no_channel[] = {"无可用渠道", "no available channel", NULL};
	static const char *const model_words[] = {"model", "模型", NULL};
	if (status == 402 || contains_any(code, quota_codes) || contains_any(type, quota_codes) ||
	    contains_any(msg, quota_words))
		return ERR_QUOTA;
	if (contains_ci(code ? code : "", "model_not_found") ||
	    contains_ci(type ? type : "", "model_not_found") || contains_any(msg, no_channel) ||
	    (status == 404 && !html && contains_any(msg, model_words)))
		return ERR_NO_MODEL;
	/* Google answers a bad key with 400 INVALID_ARGUMENT ("API key not
	 * valid. Please pass a valid API key.", reason API_KEY_INVALID) */
	static const char *const auth_types[] = {"UNAUTHENTICATED", "PERMISSION_DENIED", NULL};
	static const char *const auth_words[] = {"api key not valid", "api key not found", NULL};
	if (status == 401 || status == 403 || contains_any(type, auth_types) ||
	    contains_any(msg, auth_words))
		return ERR_AUTH;
	if (status == 404)
		return ERR_NOT_FOUND;
	if (status == 429)
		return ERR_RATE_LIMITED;
	if (status >= 500)
		return ERR_UPSTREAM;
	if (status >= 300)
		return ERR_HTTP;
	return ERR_NONE;
}

enum error_class
adapter_classify_status(int status, const char *code)
{
	return classify_error(status, code, NULL, NULL, 0);
}

static void
set_error(struct adapter_parse *p, enum error_class e, const char *detail)
{
	if (p->obs->error != ERR_NONE)
		return; /* the first reason stands */
	p->obs->error = e;
	observation_set(&p->obs->error_detail, detail, strlen(detail), OBS_DETAIL_CAP);
	p->failed = 1;
}

static void
take_string(char **field, const struct chunk_json *v)
{
	if (chunk_json_is_string(v))
		observation_set(field, chunk_json_string(v), chunk_json_string_length(v),
		                OBS_FIELD_CAP);
}

static long
take_long(const struct chunk_json *v)
{
	if (chunk_json_is_integer(v) && chunk_json_integer(v) >= 0)
		return (long)chunk_json_integer(v);
	return -1;
}

/* The names of one API's usage fields: Chat Completions' prompt_tokens /
 * completion_tokens with their *_details, or the Responses API's
 * input_tokens / output_tokens with theirs (cached input, reasoning
 * output), and the protocol bits their details set. */
struct usage_names {
	const char *in, *out, *in_details, *out_details;
	unsigned in_details_bit, out_details_bit;
};

static const struct usage_names chat_usage = {"prompt_tokens",          "completion_tokens",
                                              "prompt_tokens_details",  "completion_tokens_details",
                                              OBS_USAGE_PROMPT_DETAILS, OBS_USAGE_OUTPUT_DETAILS};
static const struct usage_names responses_usage = {
    "input_tokens",          "output_tokens",         "input_tokens_details",
    "output_tokens_details", OBS_USAGE_INPUT_DETAILS, OBS_USAGE_OUTPUT_TOKENS_DETAILS};

static void
take_usage(struct observation *o, const struct chunk_json *usage, const struct usage_names *f)
{
	if (!chunk_json_is_object(usage))
		return;
	o->usage_present = 1;
	o->prompt_tokens = take_long(chunk_json_get(usage, f->in));
	o->completion_tokens = take_long(chunk_json_get(usage, f->out));
	o->total_tokens = take_long(chunk_json_get(usage, "total_tokens"));
	const struct chunk_json *in = chunk_json_get(usage, f->in_details);
	const struct chunk_json *out = chunk_json_get(usage, f->out_details);
	if (chunk_json_is_object(in))
		o->cached_tokens = take_long(chunk_json_get(in, "cached_tokens"));
	if (chunk_json_is_object(out))
		o->reasoning_tokens = take_long(chunk_json_get(out, "reasoning_tokens"));
	o->usage_fields |= (o->prompt_tokens >= 0 ? OBS_USAGE_INPUT : 0u) |
	                   (o->completion_tokens >= 0 ? OBS_USAGE_OUTPUT : 0u) |
	                   (chunk_json_is_object(in) ? f->in_details_bit : 0u) |
	                   (chunk_json_is_object(out) ? f->out_details_bit : 0u);
}

static void
take_openai_usage(struct observation *o, const struct chunk_json *usage)
{
	take_usage(o, usage, &chat_usage);
}

static void
take_responses_usage(struct observation *o, const struct chunk_json *usage)
{
	take_usage(o, usage, &responses_usage);
}

static void
take_anthropic_usage(struct observation *o, const struct chunk_json *usage, int final)
{
	if (!chunk_json_is_object(usage))
		return;
	o->usage_present = 1;
	long in = take_long(chunk_json_get(usage, "input_tokens"));
	long out = take_long(chunk_json_get(usage, "output_tokens"));
	if (in >= 0)
		o->prompt_tokens = in;
	if (out >= 0 && (final || o->completion_tokens < 0))
		o->completion_tokens = out;
	if (o->prompt_tokens >= 0 && o->completion_tokens >= 0)
		o->total_tokens = o->prompt_tokens + o->completion_tokens;
	long cached = take_long(chunk_json_get(usage, "cache_read_input_tokens"));
	if (cached >= 0)
		o->cached_tokens = cached;
	o->usage_fields |=
	    (in >= 0 ? OBS_USAGE_INPUT : 0u) | (out >= 0 ? OBS_USAGE_OUTPUT : 0u) |
	    (cached >= 0 ? OBS_USAGE_CACHE_READ : 0u) |
	    (chunk_json_is_integer(chunk_json_get(usage, "cache_creation_input_tokens"))
	         ? OBS_USAGE_CACHE_CREATION
	         : 0u) |
	    (chunk_json_is_string(chunk_json_get(usage, "service_tier")) ? OBS_USAGE_SERVICE_TIER
	                                                                 : 0u);
	o->anthropic_marks |=
	    (chunk_json_is_object(chunk_json_get(usage, "cache_creation")) ? OBS_ANT_CACHE_CREATION
	                                                                   : 0u) |
	    (chunk_json_is_string(chunk_json_get(usage, "inference_geo")) ? OBS_ANT_INFERENCE_GEO
	                                                                  : 0u) |
	    (chunk_json_get(usage, "inputTokens") != NULL ||
	             chunk_json_get(usage, "outputTokens") != NULL
	         ? OBS_ANT_CAMEL_USAGE
	         : 0u) |
	    (chunk_json_get(usage, "prompt_tokens") != NULL ||
	             chunk_json_get(usage, "completion_tokens") != NULL
	         ? OBS_ANT_OPENAI_USAGE
	         : 0u);
}

/* The marks of an Anthropic message object (a body, or a stream's
 * message_start) that say who built it (scoring/origin.h). */
static void
take_anthropic_message_marks(struct observation *o, const struct chunk_json *msg)
{
	if (chunk_json_get(msg, "stop_sequence") != NULL)
		o->anthropic_marks |= OBS_ANT_STOP_SEQUENCE_KEY;
	const struct chunk_json *fp = chunk_json_get(msg, "system_fingerprint");
	if (chunk_json_is_string(fp) && chunk_json_string_length(fp) > 0) {
		o->anthropic_marks |= OBS_ANT_FINGERPRINT;
		take_string(&o->system_fingerprint, fp);
	}
}

/* A thinking block's text or signature, appended to its buffer; past the
 * buffer's cap the rest is counted, not kept. */
static void
add_thinking(struct adapter_parse *p, struct buf *b, const struct chunk_json *v, int signature)
{
	if (!chunk_json_is_string(v))
		return;
	size_t n = chunk_json_string_length(v);
	if (signature)
		p->obs->signature_len += n;
	if (buf_add(b, chunk_json_string(v), n) != 0 && !signature)
		p->obs->thinking_truncated = 1;
}

/* A content block of type thinking or redacted_thinking (whole in a body,
 * or a stream's content_block_start); index is its stream index. */
static void
take_thinking_block(struct adapter_parse *p, const struct chunk_json *block, const char *btype,
                    long index)
{
	struct observation *o = p->obs;
	if (strcmp(btype, "redacted_thinking") == 0) {
		o->anthropic_marks |= OBS_ANT_REDACTED_THINKING;
		return;
	}
	if (strcmp(btype, "thinking") != 0)
		return;
	o->anthropic_marks |= OBS_ANT_THINKING;
	if (p->thinking_block != -1)
		return; /* the first block is the one kept */
	p->thinking_block = index;
	add_thinking(p, &p->thinking, chunk_json_get(block, "thinking"), 0);
	add_thinking(p, &p->signature, chunk_json_get(block, "signature"), 1);
}

/* The first tool call's id, kept for the protocol fingerprint. */
static void
take_tool_id(struct observation *o, const struct chunk_json *id)
{
	o->tool_calls = 1;
	if (o->tool_id == NULL)
		take_string(&o->tool_id, id);
}

/* The first tool call's name, if none yet. */
static void
take_tool_name(struct adapter_parse *p, const struct chunk_json *name)
{
	if (p->obs->tool_name == NULL)
		take_string(&p->obs->tool_name, name);
}

/* More of the first tool call's arguments (a stream's delta), as text. */
static void
add_tool_args_text(struct adapter_parse *p, const char *s, size_t n)
{
	if (p->args_whole || s == NULL)
		return;
	if (buf_add(&p->args, s, n) != 0)
		p->obs->tool_args_truncated = 1;
}

static void
add_tool_args(struct adapter_parse *p, const struct chunk_json *delta)
{
	add_tool_args_text(p, chunk_json_string(delta), chunk_json_string_length(delta));
}

/* The first tool call's arguments whole, as text (s NULL: none). They
 * replace what deltas gathered: a finished call says what the client acts
 * on. */
static void
set_tool_args_text(struct adapter_parse *p, const char *s, size_t n)
{
	if (p->args_whole || s == NULL)
		return;
	p->args.len = 0;
	p->obs->tool_args_truncated = 0;
	if (buf_add(&p->args, s, n) != 0)
		p->obs->tool_args_truncated = 1;
	p->args_whole = 1;
}

/* ... from JSON: a string (OpenAI, Responses) or an object (Anthropic's
 * input, written compact). */
static void
set_tool_args(struct adapter_parse *p, const struct chunk_json *args)
{
	if (p->args_whole)
		return;
	if (chunk_json_is_string(args)) {
		set_tool_args_text(p, chunk_json_string(args), chunk_json_string_length(args));
	} else if (chunk_json_is_object(args)) {
		char *dumped = chunk_json_dumps(args);
		set_tool_args_text(p, dumped, dumped ? strlen(dumped) : 0);
		free(dumped);
	}
}

static void
add_text(struct adapter_parse *p, const char *s, size_t n, int64_t now)
{
	if (n == 0)
		return;
	struct observation *o = p->obs;
	if (o->ttft_us < 0)
		o->ttft_us = now - p->start_us;
	if (o->n_chunks < OBS_MAX_CHUNKS) {
		if ((o->n_chunks & (o->n_chunks - 1)) == 0) /* grow at powers of two */
			o->chunk_us = xrealloc(o->chunk_us, (o->n_chunks ? o->n_chunks * 2 : 16) *
			                                        sizeof *o->chunk_us);
		o->chunk_us[o->n_chunks++] = now - p->start_us;
	}
	if (buf_add(&p->text, s, n) != 0)
		o->text_truncated = 1;
	if (p->stop_after_chunks != 0 && o->n_chunks > p->stop_after_chunks)
		p->stopped = 1; /* enough seen: the caller ends the transfer */
}

/* A Gemini-style finishReason in Chat Completions' words, lower case
 * (MAX_TOKENS is "length"), into out. */
static void
compat_finish_reason(const char *v, char *out, size_t n)
{
	snprintf(out, n, "%s", v);
	for (char *c = out; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (strcmp(out, "max_tokens") == 0)
		snprintf(out, n, "length");
}

/* One streamed OpenAI chunk. */
static int
openai_chunk(struct adapter_parse *p, const struct chunk_json *chunk, int64_t now)
{
	struct observation *o = p->obs;
	if (!chunk_json_is_object(chunk))
		return -1;
	const struct chunk_json *err = chunk_json_get(chunk, "error");
	if (err != NULL) {
		const char *msg = chunk_json_string(chunk_json_get(err, "message"));
		enum error_class e =
		    classify_error(200, chunk_json_string(chunk_json_get(err, "code")),
		                   chunk_json_string(chunk_json_get(err, "type")), msg, 0);
		set_error(p, e != ERR_NONE ? e : ERR_UPSTREAM, msg ? msg : "error event in stream");
		return 0;
	}
	const struct chunk_json *choices = chunk_json_get(chunk, "choices");
	const struct chunk_json *usage = chunk_json_get(chunk, "usage");
	/* Azure OpenAI opens a stream with its prompt's content-filter verdict:
	 * no choices, "" for id and model, created 0. Its annotation, not a
	 * chunk of the OpenAI stream: no event, and no id or model from it. */
	if (chunk_json_get(chunk, "prompt_filter_results") != NULL)
		o->openai_marks |= OBS_OAI_FILTER;
	if (chunk_json_is_array(choices) && chunk_json_size(choices) == 0 && usage == NULL &&
	    chunk_json_get(chunk, "prompt_filter_results") != NULL)
		return 0;
	if (chunk_json_is_array(choices) && chunk_json_size(choices) > 0 &&
	    chunk_json_get(chunk_json_at(choices, 0), "content_filter_results") != NULL)
		o->openai_marks |= OBS_OAI_FILTER;
	if (o->id == NULL)
		take_string(&o->id, chunk_json_get(chunk, "id"));
	if (o->model == NULL)
		take_string(&o->model, chunk_json_get(chunk, "model"));
	if (o->system_fingerprint == NULL)
		take_string(&o->system_fingerprint, chunk_json_get(chunk, "system_fingerprint"));
	if (chunk_json_is_array(choices) && chunk_json_size(choices) > 0) {
		const struct chunk_json *c0 = chunk_json_at(choices, 0);
		const struct chunk_json *delta = chunk_json_get(c0, "delta");
		const struct chunk_json *content =
		    chunk_json_is_object(delta) ? chunk_json_get(delta, "content") : NULL;
		const struct chunk_json *calls =
		    chunk_json_is_object(delta) ? chunk_json_get(delta, "tool_calls") : NULL;
		const struct chunk_json *fr = chunk_json_get(c0, "finish_reason");
		/* Gemini's OpenAI-compatible endpoint has sent its reason as
		 * finishReason, finish_reason null (jakobdylanc/llmcord issue 84) */
		const struct chunk_json *gfr = chunk_json_get(c0, "finishReason");
		char compat[64];
		int use_compat = !chunk_json_is_string(fr) && chunk_json_is_string(gfr);
		if (use_compat)
			compat_finish_reason(chunk_json_string(gfr), compat, sizeof compat);
		int said = 0;
		if (chunk_json_is_string(content) && chunk_json_string_length(content) > 0) {
			add_text(p, chunk_json_string(content), chunk_json_string_length(content),
			         now);
			observation_event(o, 'C');
			said = 1;
		}
		if (chunk_json_is_array(calls)) {
			take_tool_id(o, chunk_json_get(chunk_json_at(calls, 0), "id"));
			size_t k;
			const struct chunk_json *call;
			chunk_json_foreach(calls, k, call)
			{
				/* the first call's fragments: index 0, or no index at all */
				const struct chunk_json *idx = chunk_json_get(call, "index");
				if (idx != NULL && chunk_json_integer(idx) != 0)
					continue;
				const struct chunk_json *fn = chunk_json_get(call, "function");
				take_tool_name(p, chunk_json_get(fn, "name"));
				add_tool_args(p, chunk_json_get(fn, "arguments"));
			}
			observation_event(o, 'T');
			said = 1;
		}
		if (use_compat) {
			observation_set(&o->finish_reason, compat, strlen(compat), OBS_FIELD_CAP);
			observation_event(o, 'F');
			said = 1;
		} else if (chunk_json_is_string(fr)) {
			take_string(&o->finish_reason, fr);
			observation_event(o, 'F');
			said = 1;
		}
		if (!said)
			observation_event(
			    o, chunk_json_is_object(delta) &&
			               chunk_json_is_string(chunk_json_get(delta, "role"))
			           ? 'R'
			           : '?');
		if (chunk_json_is_object(chunk_json_get(c0, "logprobs")))
			o->logprobs_present = 1;
	} else {
		observation_event(o, chunk_json_is_object(usage) ? 'U' : '?');
	}
	if (chunk_json_is_object(usage))
		take_openai_usage(o, usage);
	return 0;
}

/* One streamed Anthropic event. */
static int
anthropic_event(struct adapter_parse *p, const char *event, const struct chunk_json *ev,
                int64_t now)
{
	struct observation *o = p->obs;
	if (!chunk_json_is_object(ev))
		return -1;
	const char *type = chunk_json_string(chunk_json_get(ev, "type"));
	if (type == NULL)
		type = event;
	if (strcmp(type, "message_start") == 0) {
		observation_event(o, 'S');
		const struct chunk_json *msg = chunk_json_get(ev, "message");
		if (!chunk_json_is_object(msg))
			return -1;
		take_string(&o->id, chunk_json_get(msg, "id"));
		take_string(&o->model, chunk_json_get(msg, "model"));
		take_anthropic_message_marks(o, msg);
		const struct chunk_json *usage = chunk_json_get(msg, "usage");
		take_anthropic_usage(o, usage, 0);
		if (chunk_json_is_object(usage))
			o->start_input_tokens = take_long(chunk_json_get(usage, "input_tokens"));
	} else if (strcmp(type, "ping") == 0) {
		observation_event(o, 'P');
	} else if (strcmp(type, "content_block_start") == 0) {
		observation_event(o, 'B');
		const struct chunk_json *block = chunk_json_get(ev, "content_block");
		const char *btype = chunk_json_string(chunk_json_get(block, "type"));
		if (btype != NULL)
			take_thinking_block(p, block, btype,
			                    (long)chunk_json_integer(chunk_json_get(ev, "index")));
		if (btype != NULL && strcmp(btype, "tool_use") == 0) {
			take_tool_id(o, chunk_json_get(block, "id"));
			if (p->tool_block < 0) {
				p->tool_block = chunk_json_integer(chunk_json_get(ev, "index"));
				take_tool_name(p, chunk_json_get(block, "name"));
				/* the input streams as input_json_delta; a start that
				 * carries it whole (some relays) is taken whole */
				const struct chunk_json *input = chunk_json_get(block, "input");
				if (chunk_json_size(input) > 0)
					set_tool_args(p, input);
			}
		}
	} else if (strcmp(type, "content_block_stop") == 0) {
		observation_event(o, 'E');
	} else if (strcmp(type, "content_block_delta") == 0) {
		observation_event(o, 'D');
		const struct chunk_json *delta = chunk_json_get(ev, "delta");
		const struct chunk_json *text =
		    chunk_json_is_object(delta) ? chunk_json_get(delta, "text") : NULL;
		if (chunk_json_is_string(text))
			add_text(p, chunk_json_string(text), chunk_json_string_length(text), now);
		const char *dtype = chunk_json_string(chunk_json_get(delta, "type"));
		if (dtype != NULL && p->thinking_block >= 0 &&
		    chunk_json_integer(chunk_json_get(ev, "index")) == p->thinking_block) {
			if (strcmp(dtype, "thinking_delta") == 0)
				add_thinking(p, &p->thinking, chunk_json_get(delta, "thinking"), 0);
			else if (strcmp(dtype, "signature_delta") == 0) {
				o->anthropic_marks |= OBS_ANT_SIGNATURE_DELTA;
				add_thinking(p, &p->signature, chunk_json_get(delta, "signature"),
				             1);
			}
		}
		if (p->tool_block >= 0 &&
		    chunk_json_integer(chunk_json_get(ev, "index")) == p->tool_block)
			add_tool_args(p, chunk_json_get(delta, "partial_json"));
	} else if (strcmp(type, "message_delta") == 0) {
		observation_event(o, 'M');
		const struct chunk_json *delta = chunk_json_get(ev, "delta");
		if (chunk_json_is_object(delta))
			take_string(&o->finish_reason, chunk_json_get(delta, "stop_reason"));
		take_anthropic_usage(o, chunk_json_get(ev, "usage"), 1);
	} else if (strcmp(type, "message_stop") == 0) {
		observation_event(o, 'Z');
		p->saw_done = 1;
	} else if (strcmp(type, "error") == 0) {
		observation_event(o, 'X');
		const struct chunk_json *err = chunk_json_get(ev, "error");
		const char *msg = chunk_json_string(chunk_json_get(err, "message"));
		const char *etype = chunk_json_string(chunk_json_get(err, "type"));
		enum error_class e = classify_error(200, NULL, etype, msg, 0);
		if (e == ERR_NONE)
			e = etype != NULL && strcmp(etype, "rate_limit_error") == 0
			        ? ERR_RATE_LIMITED
			        : ERR_UPSTREAM;
		set_error(p, e, msg ? msg : "error event in stream");
	} else {
		observation_event(o, '?');
	}
	return 0;
}

/* Is v a non-empty array (a logprobs list that carries something)? */
static int
nonempty_array(const struct chunk_json *v)
{
	return chunk_json_is_array(v) && chunk_json_size(v) > 0;
}

/*
 * The items of a Responses output[]: function calls (their call_id is the
 * tool id, as a client answers with it), and, when take_text, the text of
 * message items' output_text parts (a stream's text came from its deltas).
 * Returns whether any function call was seen.
 */
static int
responses_output(struct adapter_parse *p, const struct chunk_json *output, int take_text)
{
	struct observation *o = p->obs;
	int calls = 0;
	size_t i, k;
	const struct chunk_json *item, *part;
	chunk_json_foreach(output, i, item)
	{
		const char *type = chunk_json_string(chunk_json_get(item, "type"));
		if (type != NULL && strcmp(type, "function_call") == 0) {
			take_tool_id(o, chunk_json_get(item, "call_id"));
			if (!calls) {
				take_tool_name(p, chunk_json_get(item, "name"));
				set_tool_args(p, chunk_json_get(item, "arguments"));
			}
			calls = 1;
			continue;
		}
		if (type == NULL || strcmp(type, "message") != 0)
			continue; /* reasoning items and server tools carry no answer text */
		chunk_json_foreach(chunk_json_get(item, "content"), k, part)
		{
			const char *ptype = chunk_json_string(chunk_json_get(part, "type"));
			if (ptype == NULL || strcmp(ptype, "output_text") != 0)
				continue;
			const struct chunk_json *text = chunk_json_get(part, "text");
			if (take_text && chunk_json_is_string(text))
				add_text(p, chunk_json_string(text), chunk_json_string_length(text),
				         p->start_us + (o->ttfb_us > 0 ? o->ttfb_us : 0));
			if (nonempty_array(chunk_json_get(part, "logprobs")))
				o->logprobs_present = 1;
		}
	}
	return calls;
}

/* An error object {code, message, type} of the Responses API (a failed
 * response's `error`, or an `error` event), classified. */
static void
responses_error(struct adapter_parse *p, const struct chunk_json *err, const char *fallback)
{
	const char *msg = chunk_json_string(chunk_json_get(err, "message"));
	const char *code = chunk_json_string(chunk_json_get(err, "code"));
	const char *type = chunk_json_string(chunk_json_get(err, "type"));
	enum error_class e = classify_error(200, code, type, msg, 0);
	if (e == ERR_NONE)
		e = (code != NULL && strstr(code, "rate_limit") != NULL) ||
		            (type != NULL && strstr(type, "rate_limit") != NULL)
		        ? ERR_RATE_LIMITED
		        : ERR_UPSTREAM;
	set_error(p, e, msg ? msg : fallback);
}

/*
 * A Responses response object (the whole body, or the `response` of a
 * stream's lifecycle events): id, model, usage, and at its end the finish
 * reason in Chat Completions' words, from status and incomplete_details:
 * completed is "stop" ("tool_calls" with a function call), incomplete for
 * max_output_tokens is "length" (other reasons as they are), failed is the
 * error it carries. final: the response has ended (a body, or
 * response.completed/incomplete/failed); take_text: read the text from
 * output[] (a body; a stream has it from its deltas).
 */
static void
responses_object(struct adapter_parse *p, const struct chunk_json *r, int final, int take_text)
{
	struct observation *o = p->obs;
	if (o->id == NULL)
		take_string(&o->id, chunk_json_get(r, "id"));
	if (o->model == NULL)
		take_string(&o->model, chunk_json_get(r, "model"));
	if (!final)
		return;
	if (!chunk_json_is_object(r)) {
		set_error(p, ERR_MALFORMED, "response is not an object");
		return;
	}
	take_responses_usage(o, chunk_json_get(r, "usage"));
	int calls = responses_output(p, chunk_json_get(r, "output"), take_text);
	const char *status = chunk_json_string(chunk_json_get(r, "status"));
	if (status == NULL) {
		set_error(p, ERR_MALFORMED, "response has no status");
	} else if (strcmp(status, "completed") == 0) {
		const char *fr = calls ? "tool_calls" : "stop";
		observation_set(&o->finish_reason, fr, strlen(fr), OBS_FIELD_CAP);
	} else if (strcmp(status, "incomplete") == 0) {
		const struct chunk_json *reason =
		    chunk_json_get(chunk_json_get(r, "incomplete_details"), "reason");
		const char *why = chunk_json_string(reason);
		if (why != NULL && strcmp(why, "max_output_tokens") == 0)
			observation_set(&o->finish_reason, "length", 6, OBS_FIELD_CAP);
		else
			take_string(&o->finish_reason, reason);
	} else if (strcmp(status, "failed") == 0) {
		responses_error(p, chunk_json_get(r, "error"), "the response failed");
	} else {
		char why[96];
		snprintf(why, sizeof why, "response not finished (status %.40s)", status);
		set_error(p, ERR_MALFORMED, why);
	}
}

/* One streamed Responses event (the type in the JSON, else the SSE name). */
static int
responses_event(struct adapter_parse *p, const char *event, const struct chunk_json *ev,
                int64_t now)
{
	static const struct {
		const char *type;
		char letter;
	} letters[] = {
	    {"response.created", 'S'},
	    {"response.in_progress", 'G'},
	    {"response.output_item.added", 'I'},
	    {"response.content_part.added", 'B'},
	    {"response.output_text.delta", 'D'},
	    {"response.output_text.done", 'Y'},
	    {"response.content_part.done", 'E'},
	    {"response.function_call_arguments.delta", 'T'},
	    {"response.function_call_arguments.done", 'A'},
	    {"response.output_item.done", 'O'},
	    {"response.completed", 'Z'},
	    {"response.incomplete", 'N'},
	    {"response.failed", 'F'},
	    {"error", 'X'},
	};
	struct observation *o = p->obs;
	if (!chunk_json_is_object(ev))
		return -1;
	const char *type = chunk_json_string(chunk_json_get(ev, "type"));
	if (type == NULL)
		type = event;
	char letter = '?';
	for (size_t i = 0; type != NULL && i < sizeof letters / sizeof letters[0]; i++)
		if (strcmp(type, letters[i].type) == 0)
			letter = letters[i].letter;
	observation_event(o, letter);
	const struct chunk_json *item = chunk_json_get(ev, "item");
	const char *itype = chunk_json_string(chunk_json_get(item, "type"));
	switch (letter) {
	case 'S':
	case 'G':
		if (!chunk_json_is_object(chunk_json_get(ev, "response")))
			return -1;
		responses_object(p, chunk_json_get(ev, "response"), 0, 0);
		break;
	case 'I':
	case 'O':
		if (itype != NULL && strcmp(itype, "function_call") == 0) {
			take_tool_id(o, chunk_json_get(item, "call_id"));
			take_tool_name(p, chunk_json_get(item, "name"));
			/* the first call's arguments: whole when it is done */
			if (letter == 'O' &&
			    chunk_json_integer(chunk_json_get(ev, "output_index")) == p->tool_block)
				set_tool_args(p, chunk_json_get(item, "arguments"));
			else if (p->tool_block < 0)
				p->tool_block =
				    chunk_json_integer(chunk_json_get(ev, "output_index"));
		}
		break;
	case 'T':
		if (p->tool_block < 0 ||
		    chunk_json_integer(chunk_json_get(ev, "output_index")) == p->tool_block)
			add_tool_args(p, chunk_json_get(ev, "delta"));
		break;
	case 'D': {
		const struct chunk_json *delta = chunk_json_get(ev, "delta");
		if (!chunk_json_is_string(delta))
			return -1;
		add_text(p, chunk_json_string(delta), chunk_json_string_length(delta), now);
		if (nonempty_array(chunk_json_get(ev, "logprobs")))
			o->logprobs_present = 1;
		break;
	}
	case 'Z':
	case 'N':
	case 'F':
		if (!chunk_json_is_object(chunk_json_get(ev, "response")))
			return -1;
		p->saw_done = 1;
		responses_object(p, chunk_json_get(ev, "response"), 1, 0);
		break;
	case 'X': {
		/* the SDK's ResponseErrorEvent has code and message at the top;
		 * some relays nest them under error */
		const struct chunk_json *err = chunk_json_get(ev, "error");
		responses_error(p, chunk_json_is_object(err) ? err : ev, "error event in stream");
		break;
	}
	default:
		break;
	}
	return 0;
}

struct sse_ctx {
	struct adapter_parse *p;
	int64_t now;
};

static int
adapter_sse_cb(const char *event, const char *data, size_t len, void *arg)
{
	struct sse_ctx *ctx = arg;
	struct adapter_parse *p = ctx->p;
	p->events++;
	if (p->api != API_ANTHROPIC && len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		/* Chat Completions' end; on Responses a relay's addition, which
		 * ends nothing (the end is response.completed) */
		p->saw_done |= p->api == API_OPENAI;
		observation_event(p->obs, p->api == API_OPENAI ? 'Z' : 'Q');
		return 0;
	}
	/* everything kept from j is copied (observation_set, add_text) before
	 * chunk_json_free(): nothing borrowed from it outlives it */
	struct chunk_json *j = chunk_json_parse(data, len, NULL);
	int rc = -2;
	if (j != NULL) {
		rc = p->api == API_OPENAI      ? openai_chunk(p, j, ctx->now)
		     : p->api == API_RESPONSES ? responses_event(p, event, j, ctx->now)
		     : p->api == API_GEMINI    ? gemini_chunk(p, j, ctx->now)
		                               : anthropic_event(p, event, j, ctx->now);
		chunk_json_free(j);
	}
	if (rc == -2) {
		set_error(p, ERR_MALFORMED, "stream event is not valid JSON");
		return -1;
	}
	if (rc != 0) {
		set_error(p, ERR_MALFORMED, "stream event has an unexpected shape");
		return -1;
	}
	return 0;
}

int
adapter_stream_event(struct adapter_parse *p, const char *event, const char *data, size_t len,
                     int64_t now)
{
	struct sse_ctx ctx = {p, now};
	return adapter_sse_cb(event, data, len, &ctx);
}

void
adapter_parse_fail(struct adapter_parse *p, enum error_class e, const char *detail)
{
	set_error(p, e, detail);
}

void
adapter_parse_text(struct adapter_parse *p, const char *s, size_t n, int64_t now)
{
	add_text(p, s, n, now);
}

void
adapter_parse_tool(struct adapter_parse *p, json_t *id, json_t *name, json_t *partial,
                   json_t *whole)
{
	/* jansson values (probes/bedrock.c parses its own events): the same
	 * rules as take_tool_id(), take_tool_name() and the tool args above */
	struct observation *o = p->obs;
	if (id != NULL)
		o->tool_calls = 1;
	if (json_is_string(id) && o->tool_id == NULL)
		observation_set(&o->tool_id, json_string_value(id), json_string_length(id),
		                OBS_FIELD_CAP);
	if (json_is_string(name) && o->tool_name == NULL)
		observation_set(&o->tool_name, json_string_value(name), json_string_length(name),
		                OBS_FIELD_CAP);
	if (json_is_string(partial))
		add_tool_args_text(p, json_string_value(partial), json_string_length(partial));
	if (p->args_whole) {
		return;
	} else if (json_is_string(whole)) {
		set_tool_args_text(p, json_string_value(whole), json_string_length(whole));
	} else if (json_is_object(whole)) {
		char *dumped = json_dumps(whole, JSON_COMPACT);
		set_tool_args_text(p, dumped, dumped ? strlen(dumped) : 0);
		free(dumped);
	}
}

void
adapter_parse_init(struct adapter_parse *p, enum api_kind api, struct observation *obs, int stream,
                   int64_t start_us, size_t body_cap)
{
	memset(p, 0, sizeof *p);
	p->api = api == API_VERTEX ? API_ANTHROPIC : api; /* Vertex answers as Anthropic */
	p->obs = obs;
	p->stream = stream;
	p->start_us = start_us;
	buf_init(&p->body, body_cap);
	buf_init(&p->text, TEXT_CAP);
	buf_init(&p->args, OBS_TOOL_ARGS_CAP + 1);
	buf_init(&p->thinking, OBS_TEXT_CAP + 1);
	buf_init(&p->signature, OBS_SIGNATURE_CAP);
	p->tool_block = -1;
	p->thinking_block = -1;
	sse_init(&p->sse, SSE_LINE_CAP, SSE_EVENT_CAP, adapter_sse_cb, NULL);
	obs->streamed = stream;
}

void
adapter_parse_release(struct adapter_parse *p)
{
	buf_release(&p->body);
	buf_release(&p->text);
	buf_release(&p->args);
	buf_release(&p->thinking);
	buf_release(&p->signature);
	sse_release(&p->sse);
	bedrock_parse_release(p);
}

int
adapter_parse_feed(struct adapter_parse *p, int status, const char *data, size_t len, int64_t now)
{
	if (p->failed)
		return -1;
	int success = status >= 200 && status < 300;
	if (p->stream && success) {
		/* the overall stream size is capped too */
		p->stream_bytes += len;
		if (p->body.cap != 0 && p->stream_bytes > p->body.cap) {
			set_error(p, ERR_TOO_LARGE, "streamed body over its cap");
			return -1;
		}
		if (p->eventstream != NULL)
			return bedrock_stream_feed(p, data, len, now);
		struct sse_ctx ctx = {p, now};
		p->sse.arg = &ctx;
		int rc = sse_feed(&p->sse, data, len);
		p->sse.arg = NULL;
		if (p->stopped)
			return -1;
		if (rc != 0) {
			set_error(p, ERR_TOO_LARGE, "stream line or event over its cap");
			return -1;
		}
		return 0;
	}
	if (buf_add(&p->body, data, len) != 0) {
		set_error(p, ERR_TOO_LARGE, "response body over its cap");
		return -1;
	}
	return 0;
}

static void
finish_text(struct adapter_parse *p)
{
	struct observation *o = p->obs;
	if (p->text.len > OBS_TEXT_CAP)
		o->text_truncated = 1;
	free(o->text);
	o->text = utf8_sanitize(p->text.data ? p->text.data : "", p->text.len, OBS_TEXT_CAP);
	o->text_len = strlen(o->text);
	if (o->tool_name != NULL || p->args.len > 0) {
		if (p->args.len > OBS_TOOL_ARGS_CAP)
			o->tool_args_truncated = 1;
		free(o->tool_args);
		o->tool_args =
		    utf8_sanitize(p->args.data ? p->args.data : "", p->args.len, OBS_TOOL_ARGS_CAP);
	}
	if (p->thinking_block >= 0) {
		if (p->thinking.len > OBS_TEXT_CAP)
			o->thinking_truncated = 1;
		free(o->thinking);
		o->thinking = utf8_sanitize(p->thinking.data ? p->thinking.data : "",
		                            p->thinking.len, OBS_TEXT_CAP);
		free(o->signature);
		o->signature = utf8_sanitize(p->signature.data ? p->signature.data : "",
		                             p->signature.len, OBS_SIGNATURE_CAP);
	}
}

static void
finish_openai_body(struct adapter_parse *p, const struct chunk_json *j)
{
	struct observation *o = p->obs;
	take_string(&o->id, chunk_json_get(j, "id"));
	take_string(&o->model, chunk_json_get(j, "model"));
	take_string(&o->system_fingerprint, chunk_json_get(j, "system_fingerprint"));
	take_openai_usage(o, chunk_json_get(j, "usage"));
	const struct chunk_json *choices = chunk_json_get(j, "choices");
	const struct chunk_json *c0 =
	    chunk_json_is_array(choices) ? chunk_json_at(choices, 0) : NULL;
	if (chunk_json_get(j, "prompt_filter_results") != NULL ||
	    chunk_json_get(c0, "content_filter_results") != NULL)
		o->openai_marks |= OBS_OAI_FILTER; /* Azure OpenAI's annotations */
	const struct chunk_json *msg =
	    chunk_json_is_object(c0) ? chunk_json_get(c0, "message") : NULL;
	if (!chunk_json_is_object(msg)) {
		set_error(p, ERR_MALFORMED, "response has no choices[0].message");
		return;
	}
	const struct chunk_json *calls = chunk_json_get(msg, "tool_calls");
	if (chunk_json_is_array(calls) && chunk_json_size(calls) > 0) {
		const struct chunk_json *c = chunk_json_at(calls, 0);
		take_tool_id(o, chunk_json_get(c, "id"));
		take_tool_name(p, chunk_json_get(chunk_json_get(c, "function"), "name"));
		set_tool_args(p, chunk_json_get(chunk_json_get(c, "function"), "arguments"));
	}
	const struct chunk_json *content = chunk_json_get(msg, "content");
	if (chunk_json_is_string(content))
		add_text(p, chunk_json_string(content), chunk_json_string_length(content),
		         p->start_us + (o->ttfb_us > 0 ? o->ttfb_us : 0));
	else if (content != NULL && !chunk_json_is_null(content)) {
		/* no content at all is a message with none (Gemini's
		 * OpenAI-compatible endpoint leaves it out beside a tool call) */
		set_error(p, ERR_MALFORMED, "message content is neither text nor null");
		return;
	}
	take_string(&o->finish_reason, chunk_json_get(c0, "finish_reason"));
	if (chunk_json_is_object(chunk_json_get(c0, "logprobs")))
		o->logprobs_present = 1;
}

static void
finish_anthropic_body(struct adapter_parse *p, const struct chunk_json *j)
{
	struct observation *o = p->obs;
	take_string(&o->id, chunk_json_get(j, "id"));
	take_string(&o->model, chunk_json_get(j, "model"));
	take_string(&o->finish_reason, chunk_json_get(j, "stop_reason"));
	take_anthropic_usage(o, chunk_json_get(j, "usage"), 1);
	take_anthropic_message_marks(o, j);
	const struct chunk_json *content = chunk_json_get(j, "content");
	if (!chunk_json_is_array(content)) {
		set_error(p, ERR_MALFORMED, "response has no content array");
		return;
	}
	size_t i;
	const struct chunk_json *block;
	chunk_json_foreach(content, i, block)
	{
		const char *btype = chunk_json_string(chunk_json_get(block, "type"));
		if (btype != NULL)
			take_thinking_block(p, block, btype, (long)i);
		if (btype != NULL && strcmp(btype, "tool_use") == 0) {
			take_tool_id(o, chunk_json_get(block, "id"));
			take_tool_name(p, chunk_json_get(block, "name"));
			set_tool_args(p, chunk_json_get(block, "input"));
		}
		const struct chunk_json *text = chunk_json_get(block, "text");
		if (chunk_json_is_string(text))
			add_text(p, chunk_json_string(text), chunk_json_string_length(text),
			         p->start_us + (o->ttfb_us > 0 ? o->ttfb_us : 0));
	}
}

/* Is this body a web page (a proxy's or web server's), not an API error? */
static int
body_is_html(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i < len && s[i] == '<';
}

/* The message, code and type of an error body in either API's shape (or the
 * top-level message/detail some relays send), and its class. */
static void
error_body(struct adapter_parse *p, int status)
{
	char detail[OBS_DETAIL_CAP];
	const char *code = NULL, *type = NULL, *msg = NULL;
	int html = p->body.len > 0 && body_is_html(p->body.data, p->body.len);
	struct chunk_json *j =
	    p->body.len && !html ? chunk_json_parse(p->body.data, p->body.len, NULL) : NULL;
	/* Gemini's OpenAI-compatible endpoint wraps Google's error in an array,
	 * [{"error": {...}}] (Alishahryar1/free-claude-code issue 542) */
	const struct chunk_json *top =
	    chunk_json_is_array(j) && chunk_json_size(j) == 1 ? chunk_json_at(j, 0) : j;
	const struct chunk_json *err =
	    chunk_json_is_object(top) ? chunk_json_get(top, "error") : NULL;
	if (chunk_json_is_object(err)) {
		msg = chunk_json_string(chunk_json_get(err, "message"));
		code = chunk_json_string(chunk_json_get(err, "code"));
		type = chunk_json_string(chunk_json_get(err, "type"));
		if (type == NULL) /* Google's: {code: 400, message, status} */
			type = chunk_json_string(chunk_json_get(err, "status"));
	} else if (chunk_json_is_string(err)) {
		msg = chunk_json_string(err);
	} else if (chunk_json_is_object(j)) {
		msg = chunk_json_string(chunk_json_get(j, "message"));
		if (msg == NULL)
			msg = chunk_json_string(chunk_json_get(j, "detail"));
		code = chunk_json_string(chunk_json_get(j, "code"));
	}
	if (msg != NULL)
		snprintf(detail, sizeof detail, "HTTP %d: %s", status, msg);
	else if (html)
		snprintf(detail, sizeof detail, "HTTP %d: a web page, not an API error", status);
	else if (p->body.len > 0)
		snprintf(detail, sizeof detail, "HTTP %d: %.200s", status, p->body.data);
	else
		snprintf(detail, sizeof detail, "HTTP %d", status);
	set_error(p, classify_error(status, code, type, msg, html), detail);
	chunk_json_free(j);
}

void
adapter_parse_finish(struct adapter_parse *p, int status)
{
	struct observation *o = p->obs;
	o->http_status = status;
	if (p->failed || o->error != ERR_NONE) {
		finish_text(p);
		return;
	}
	if (status < 200 || status >= 300) {
		error_body(p, status);
		finish_text(p);
		return;
	}
	if (p->listing == 2) { /* ENGINE_GET_RAW: the body as it came */
		observation_set(&o->text, p->body.data ? p->body.data : "", p->body.len,
		                p->body.cap ? p->body.cap : p->body.len + 1);
		o->text_len = o->text ? strlen(o->text) : 0;
		return;
	}
	if (p->listing) {
		models_list_finish(o, p->body.data, p->body.len);
		return;
	}
	if (p->stream && p->stopped) {
		o->stopped_early = 1; /* usage never came: the text is what we have */
		finish_text(p);
		return;
	}
	if (p->stream && p->eventstream != NULL) {
		bedrock_stream_finish(p);
		finish_text(p);
		return;
	}
	if (p->stream) {
		int pending = sse_finish(&p->sse);
		if (p->sse.events == 0 && p->stream_bytes > 0 && !pending)
			set_error(p, ERR_MALFORMED, "stream carried no events");
		else if (!p->saw_done)
			set_error(p, ERR_MALFORMED, "stream ended before its end marker");
		finish_text(p);
		return;
	}
	struct chunk_json *j =
	    chunk_json_parse(p->body.data ? p->body.data : "", p->body.len, NULL);
	if (!chunk_json_is_object(j)) {
		set_error(p, ERR_MALFORMED, "response body is not a JSON object");
	} else if (chunk_json_get(j, "error") != NULL && chunk_json_get(j, "choices") == NULL &&
	           chunk_json_get(j, "content") == NULL && chunk_json_get(j, "output") == NULL) {
		/* (a Responses body always has error, null unless it failed, and
		 * output: responses_object() reads a failed one) */
		/* some relays send errors with status 200: an upstream failure */
		chunk_json_free(j);
		error_body(p, status);
		if (p->obs->error == ERR_NONE)
			p->obs->error = ERR_UPSTREAM;
		finish_text(p);
		return;
	} else if (p->api == API_OPENAI) {
		finish_openai_body(p, j);
	} else if (p->api == API_CONVERSE) {
		/* probes/bedrock.c reads its bodies with jansson */
		json_t *jj = json_loadb(p->body.data, p->body.len, 0, NULL);
		if (jj == NULL)
			set_error(p, ERR_MALFORMED, "response body is not a JSON object");
		else
			bedrock_converse_finish(p, jj);
		json_decref(jj);
	} else if (p->api == API_GEMINI) {
		gemini_finish_body(p, j);
	} else if (p->api == API_RESPONSES) {
		if (!chunk_json_is_array(chunk_json_get(j, "output")))
			set_error(p, ERR_MALFORMED, "response has no output array");
		else
			responses_object(p, j, 1, 1);
	} else {
		finish_anthropic_body(p, j);
	}
	chunk_json_free(j);
	finish_text(p);
}

const char *
adapter_refused(const struct request_rules *rules, const struct request_intent *in)
{
	if (rules == NULL)
		return NULL;
	if (rules->no_stop && in->n_stop > 0)
		return "the model refuses stop sequences (its pack lists stop in rejects)";
	if (rules->no_logprobs && in->top_logprobs > 0)
		return "the model refuses logprobs (its pack lists logprobs in rejects)";
	if (in->attach == MEDIA_PNG && !rules->takes_images)
		return "the model takes no image input (its pack lists no image among its inputs)";
	if (in->attach == MEDIA_PDF && !rules->takes_documents)
		return "the model takes no PDF input (its pack lists no pdf among its inputs)";
	if (in->answer_schema != NULL && !rules->takes_json_schema)
		return "the model takes no structured output (its pack lists no json_schema in "
		       "params)";
	return NULL;
}

/* ---- for the wires in files of their own (probes/adapter_wire.h) ---- */

void
adapter_wire_set_error(struct adapter_parse *p, enum error_class e, const char *detail)
{
	set_error(p, e, detail);
}

void
adapter_wire_take_string(char **field, const struct chunk_json *v)
{
	take_string(field, v);
}

long
adapter_wire_take_long(const struct chunk_json *v)
{
	return take_long(v);
}

void
adapter_wire_add_text(struct adapter_parse *p, const char *s, size_t n, int64_t now)
{
	add_text(p, s, n, now);
}

void
adapter_wire_take_tool(struct adapter_parse *p, const struct chunk_json *id,
                       const struct chunk_json *name, const struct chunk_json *args)
{
	take_tool_id(p->obs, id);
	take_tool_name(p, name);
	set_tool_args(p, args);
}

enum error_class
adapter_wire_classify(int status, const char *code, const char *type, const char *msg)
{
	return classify_error(status, code, type, msg, 0);
}

json_t *
adapter_wire_tool_schema(const struct request_intent *in)
{
	return tool_schema(in);
}

json_t *
adapter_wire_stop_array(const struct request_intent *in)
{
	return stop_array(in);
}
