/*
 * adapter_gemini: the Gemini API's own wire (generateContent and
 * streamGenerateContent?alt=sse), both directions.
 *
 * Facts, each checked outside this tree:
 *  - Request (ai.google.dev/api/generate-content; @google/genai 3.1.0
 *    dist/genai.d.ts GenerateContentParameters, GenerationConfig,
 *    ThinkingConfig, FunctionDeclaration, FunctionCallingConfig): the model
 *    is in the URL, not the body; `contents` [{role: user|model, parts
 *    [{text}]}], `systemInstruction` {parts [{text}]}, `generationConfig`
 *    {maxOutputTokens, temperature (0..2), stopSequences (at most 5), seed,
 *    responseMimeType "application/json" (JSON mode), responseLogprobs and
 *    logprobs (top candidates, 0..20), thinkingConfig {thinkingLevel (Gemini
 *    3) | thinkingBudget (Gemini 2.x, which refuses a level; never both)}}, `tools`
 * [{functionDeclarations [{name, description, parameters}]}], `toolConfig` {functionCallingConfig
 * {mode AUTO | ANY, allowedFunctionNames}}. The SDK writes enum values upper case
 *    (ThinkingLevel.LOW = "LOW", FunctionCallingConfigMode.ANY = "ANY"),
 *    a schema's types too (OBJECT, STRING), and a systemInstruction given
 *    as text with role "user": what this file sends is what the SDK sends
 *    for the same intent (tests/oracle/bodies.ts holds it to that).
 *  - Response (genai.d.ts GenerateContentResponse): `candidates`
 *    [{content {role: model, parts [{text} | {text, thought: true} |
 *    {functionCall {id?, name, args}}]}, finishReason (STOP, MAX_TOKENS,
 *    SAFETY, ...), logprobsResult}], `usageMetadata` {promptTokenCount,
 *    candidatesTokenCount, thoughtsTokenCount, cachedContentTokenCount,
 *    totalTokenCount}, `modelVersion`, `responseId`, and `promptFeedback`
 *    {blockReason} for a prompt refused outright. A stream (alt=sse) is
 *    one such object per `data:` line, no [DONE]: the last carries
 *    finishReason.
 *  - Errors are Google's {"error": {code (a number), message, status
 *    ("INVALID_ARGUMENT", "NOT_FOUND", ...), details}}: a bad key is 400
 *    "API key not valid. Please pass a valid API key." with reason
 *    API_KEY_INVALID (continuedev/continue issue 8516, google/timesketch
 *    pull 3703), an unknown model 404 "models/X is not found for API
 *    version v1beta, or is not supported for generateContent" (google/
 *    adk-python issue 200). adapter.c classifies them (status as type).
 *
 * Usage in Chat Completions' terms: prompt_tokens is promptTokenCount;
 * completion_tokens is candidatesTokenCount plus thoughtsTokenCount (Gemini
 * bills thoughts as output but counts them apart, where OpenAI counts
 * reasoning inside completion_tokens), reasoning_tokens is
 * thoughtsTokenCount. Thought parts (thought: true, only sent when
 * includeThoughts is asked, which probes never do) are not answer text.
 * The finish reason is written in Chat Completions' words as on the
 * Responses API: STOP is "stop" ("tool_calls" with a function call),
 * MAX_TOKENS "length", any other as Gemini says it.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "probes/adapter_wire.h"

#define GEMINI_MAX_STOP 5      /* stopSequences: "up to 5" */
#define GEMINI_MAX_LOGPROBS 20 /* logprobs: [0, 20] */

const char *
gemini_cannot(const struct request_intent *in)
{
	if (in->n_stop > GEMINI_MAX_STOP)
		return "the Gemini API takes at most 5 stop sequences";
	/* the field exists, but current models refuse it: 400 "Logprobs is not
	 * enabled for models/gemini-2.5-pro" (googleapis/python-genai issue
	 * 1921, mscraftsman/generative-ai issue 135; Gemini 3.5 Flash alike,
	 * GoogleCloudPlatform/generative-ai issue 2947) */
	if (in->top_logprobs > 0)
		return "the Gemini API refuses logprobs on its current models";
	return NULL;
}

/* ThinkingLevel as the SDK writes it, for the rules' effort; NULL for an
 * effort Gemini has no level for ("none" is a thinking budget of 0). */
static const char *
thinking_level(const char *effort)
{
	static const char *const map[][2] = {
	    {"minimal", "MINIMAL"}, {"low", "LOW"}, {"medium", "MEDIUM"}, {"high", "HIGH"}};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(effort, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

/*
 * A thinking budget for an effort on a model that takes budgets (Gemini
 * 2.x): none 0, and for the others budgets within the rules' reserve for
 * that effort (scoring/baseline.c effort_reserve: minimal 64, low 256, else
 * 1,024; 2.5 Pro's least is 128). -1 for an effort with none.
 */
static long
thinking_budget(const char *effort)
{
	static const struct {
		const char *effort;
		long budget;
	} map[] = {{"none", 0}, {"minimal", 128}, {"low", 256}, {"medium", 1024}, {"high", 1024}};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(effort, map[i].effort) == 0)
			return map[i].budget;
	return -1;
}

/* Is model a Gemini 2.x (thinking by budget, not by level)? */
static int
gemini_2(const char *model)
{
	if (strncmp(model, "models/", 7) == 0)
		model += 7;
	return strncmp(model, "gemini-2", 8) == 0;
}

static json_t *
text_parts(const char *text)
{
	return json_pack("[{s:s}]", "text", text);
}

/*
 * contents and systemInstruction: system messages joined by a blank line
 * (as the other wires that keep the system text apart), user turns as
 * "user", assistant turns as "model".
 */
static void
gemini_contents(json_t *root, const struct probe_call *call)
{
	struct buf system;
	buf_init(&system, 0);
	json_t *contents = json_array();
	for (size_t i = 0; i < call->n_messages; i++) {
		const struct probe_message *m = &call->messages[i];
		if (strcmp(m->role, "system") == 0) {
			if (system.len > 0)
				buf_puts(&system, "\n\n");
			buf_puts(&system, m->content);
			continue;
		}
		const char *role = strcmp(m->role, "assistant") == 0 ? "model" : "user";
		json_array_append_new(contents, json_pack("{s:s, s:o}", "role", role, "parts",
		                                          text_parts(m->content)));
	}
	json_object_set_new(root, "contents", contents);
	if (system.len > 0) /* as the SDK writes it, with role user */
		json_object_set_new(root, "systemInstruction",
		                    json_pack("{s:[{s:s%}],s:s}", "parts", "text", system.data,
		                              system.len, "role", "user"));
	buf_release(&system);
}

/*
 * A JSON Schema as Gemini's Schema, as @google/genai sends it: every "type"
 * name upper case (OBJECT, STRING: the Type enum), the rest as it is. A new
 * reference.
 */
static json_t *
gemini_schema(json_t *s)
{
	if (json_is_array(s)) {
		json_t *a = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(s, i, e) json_array_append_new(a, gemini_schema(e));
		return a;
	}
	if (!json_is_object(s))
		return json_deep_copy(s);
	json_t *o = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(s, k, v)
	{
		if (strcmp(k, "type") == 0 && json_is_string(v)) {
			char t[32];
			snprintf(t, sizeof t, "%s", json_string_value(v));
			for (char *c = t; *c; c++)
				if (*c >= 'a' && *c <= 'z')
					*c = (char)(*c - 'a' + 'A');
			json_object_set_new(o, k, json_string(t));
		} else if (strcmp(k, "properties") == 0 && json_is_object(v)) {
			json_t *props = json_object();
			const char *pk;
			json_t *pv;
			json_object_foreach(v, pk, pv)
			    json_object_set_new(props, pk, gemini_schema(pv));
			json_object_set_new(o, k, props);
		} else if (strcmp(k, "enum") == 0 || strcmp(k, "required") == 0) {
			json_object_set_new(o, k, json_deep_copy(v));
		} else {
			json_object_set_new(o, k, gemini_schema(v));
		}
	}
	return o;
}

void
gemini_fields(json_t *root, const struct probe_call *call, const struct request_rules *rules)
{
	const struct request_intent *in = &call->intent;
	gemini_contents(root, call);
	json_t *gc = json_object();
	if (call->max_tokens >= 0)
		json_object_set_new(
		    gc, "maxOutputTokens",
		    json_integer(adapter_max_tokens(API_GEMINI, call->max_tokens, rules)));
	if (call->temperature >= 0 && !rules->no_temperature)
		json_object_set_new(gc, "temperature", json_real(call->temperature));
	if (call->seed >= 0)
		json_object_set_new(gc, "seed", json_integer(call->seed));
	if (in->n_stop > 0)
		json_object_set_new(gc, "stopSequences", adapter_wire_stop_array(in));
	if (in->json_object)
		json_object_set_new(gc, "responseMimeType", json_string("application/json"));
	if (in->top_logprobs > 0) { /* refused today (gemini_cannot); the shape kept */
		json_object_set_new(gc, "responseLogprobs", json_true());
		json_object_set_new(gc, "logprobs",
		                    json_integer(in->top_logprobs > GEMINI_MAX_LOGPROBS
		                                     ? GEMINI_MAX_LOGPROBS
		                                     : in->top_logprobs));
	}
	/* the rules' effort: a thinking level on Gemini 3; Gemini 2.x takes a
	 * thinking budget instead (a level there is a 400), and "none" is a
	 * budget of 0 anywhere (2.5 Flash's off switch) */
	if (rules->effort[0] != '\0') {
		const char *level = thinking_level(rules->effort);
		long budget = thinking_budget(rules->effort);
		if (budget >= 0 && (level == NULL || gemini_2(call->model)))
			json_object_set_new(gc, "thinkingConfig",
			                    json_pack("{s:i}", "thinkingBudget", (int)budget));
		else if (level != NULL)
			json_object_set_new(gc, "thinkingConfig",
			                    json_pack("{s:s}", "thinkingLevel", level));
	}
	/* present even when empty, as the SDK sends it */
	json_object_set_new(root, "generationConfig", gc);
	if (in->tool_name != NULL) {
		json_t *fn = json_pack("{s:s}", "name", in->tool_name);
		if (in->tool_description != NULL)
			json_object_set_new(fn, "description", json_string(in->tool_description));
		json_t *schema = adapter_wire_tool_schema(in);
		json_object_set_new(fn, "parameters", gemini_schema(schema));
		json_decref(schema);
		json_object_set_new(root, "tools",
		                    json_pack("[{s:[o]}]", "functionDeclarations", fn));
		json_t *fcc = json_pack("{s:s}", "mode",
		                        in->tool_choice == TOOL_CHOICE_AUTO ? "AUTO" : "ANY");
		if (in->tool_choice == TOOL_CHOICE_NAMED)
			json_object_set_new(fcc, "allowedFunctionNames",
			                    json_pack("[s]", in->tool_name));
		json_object_set_new(root, "toolConfig",
		                    json_pack("{s:o}", "functionCallingConfig", fcc));
	}
}

/* usageMetadata, in Chat Completions' terms (see the top of the file).
 * Each streamed chunk carries the counts so far: the last one stands. */
static void
take_usage(struct observation *o, const struct chunk_json *u)
{
	if (!chunk_json_is_object(u))
		return;
	o->usage_present = 1;
	long in = adapter_wire_take_long(chunk_json_get(u, "promptTokenCount"));
	long out = adapter_wire_take_long(chunk_json_get(u, "candidatesTokenCount"));
	long thoughts = adapter_wire_take_long(chunk_json_get(u, "thoughtsTokenCount"));
	long total = adapter_wire_take_long(chunk_json_get(u, "totalTokenCount"));
	long cached = adapter_wire_take_long(chunk_json_get(u, "cachedContentTokenCount"));
	if (in >= 0)
		o->prompt_tokens = in;
	if (out >= 0 || thoughts >= 0)
		o->completion_tokens = (out > 0 ? out : 0) + (thoughts > 0 ? thoughts : 0);
	if (thoughts >= 0)
		o->reasoning_tokens = thoughts;
	if (total >= 0)
		o->total_tokens = total;
	if (cached >= 0)
		o->cached_tokens = cached;
	o->usage_fields |=
	    (in >= 0 ? OBS_USAGE_INPUT : 0u) | (out >= 0 || thoughts >= 0 ? OBS_USAGE_OUTPUT : 0u);
}

/* A Google error object {code, message, status}, classified. */
static void
gemini_error(struct adapter_parse *p, const struct chunk_json *err)
{
	const char *msg = chunk_json_string(chunk_json_get(err, "message"));
	const char *status = chunk_json_string(chunk_json_get(err, "status"));
	long long code = chunk_json_integer(chunk_json_get(err, "code"));
	enum error_class e =
	    adapter_wire_classify(code >= 400 ? (int)code : 200, NULL, status, msg);
	if (e == ERR_NONE || e == ERR_HTTP)
		e = status != NULL && strcmp(status, "RESOURCE_EXHAUSTED") == 0 ? ERR_RATE_LIMITED
		                                                                : ERR_UPSTREAM;
	char detail[OBS_DETAIL_CAP];
	snprintf(detail, sizeof detail, "%s%s%s", status ? status : "", status && msg ? ": " : "",
	         msg ? msg : (status ? "" : "error in stream"));
	adapter_wire_set_error(p, e, detail);
}

/*
 * One GenerateContentResponse (a body, or a stream's chunk): id, model,
 * usage, the first candidate's text and first function call, its finish
 * reason. Returns whether the candidate finished (or the prompt was
 * blocked: no candidate will come).
 */
static int
gemini_response(struct adapter_parse *p, const struct chunk_json *r, int64_t now, char *event)
{
	struct observation *o = p->obs;
	if (o->id == NULL)
		adapter_wire_take_string(&o->id, chunk_json_get(r, "responseId"));
	if (o->model == NULL)
		adapter_wire_take_string(&o->model, chunk_json_get(r, "modelVersion"));
	take_usage(o, chunk_json_get(r, "usageMetadata"));
	const struct chunk_json *cands = chunk_json_get(r, "candidates");
	const struct chunk_json *c0 = chunk_json_is_array(cands) ? chunk_json_at(cands, 0) : NULL;
	if (!chunk_json_is_object(c0)) {
		const struct chunk_json *block =
		    chunk_json_get(chunk_json_get(r, "promptFeedback"), "blockReason");
		if (chunk_json_is_string(block)) {
			adapter_wire_take_string(&o->finish_reason, block);
			*event = 'F';
			return 1;
		}
		*event = chunk_json_is_object(chunk_json_get(r, "usageMetadata")) ? 'U' : '?';
		return 0;
	}
	int calls = o->tool_calls;
	size_t i;
	const struct chunk_json *part;
	chunk_json_foreach(chunk_json_get(chunk_json_get(c0, "content"), "parts"), i, part)
	{
		if (chunk_json_is_true(chunk_json_get(part, "thought")))
			continue; /* a thought summary, not the answer */
		const struct chunk_json *text = chunk_json_get(part, "text");
		const struct chunk_json *fc = chunk_json_get(part, "functionCall");
		if (chunk_json_is_string(text) && chunk_json_string_length(text) > 0) {
			adapter_wire_add_text(p, chunk_json_string(text),
			                      chunk_json_string_length(text), now);
			*event = 'C';
		}
		if (chunk_json_is_object(fc)) {
			adapter_wire_take_tool(p, chunk_json_get(fc, "id"),
			                       chunk_json_get(fc, "name"),
			                       chunk_json_get(fc, "args"));
			calls = 1;
			*event = 'T';
		}
	}
	if (chunk_json_is_object(chunk_json_get(c0, "logprobsResult")))
		o->logprobs_present = 1;
	const struct chunk_json *fr = chunk_json_get(c0, "finishReason");
	const char *why = chunk_json_string(fr);
	if (why == NULL)
		return 0;
	const char *chat = strcmp(why, "STOP") == 0         ? (calls ? "tool_calls" : "stop")
	                   : strcmp(why, "MAX_TOKENS") == 0 ? "length"
	                                                    : NULL;
	if (chat != NULL)
		observation_set(&o->finish_reason, chat, strlen(chat), OBS_FIELD_CAP);
	else
		adapter_wire_take_string(&o->finish_reason, fr);
	*event = 'F';
	return 1;
}

int
gemini_chunk(struct adapter_parse *p, const struct chunk_json *chunk, int64_t now)
{
	if (!chunk_json_is_object(chunk))
		return -1;
	const struct chunk_json *err = chunk_json_get(chunk, "error");
	if (chunk_json_is_object(err)) {
		observation_event(p->obs, 'X');
		gemini_error(p, err);
		return 0;
	}
	char event = '?';
	if (gemini_response(p, chunk, now, &event))
		p->saw_done = 1;
	observation_event(p->obs, event);
	return 0;
}

void
gemini_finish_body(struct adapter_parse *p, const struct chunk_json *j)
{
	struct observation *o = p->obs;
	if (!chunk_json_is_array(chunk_json_get(j, "candidates")) &&
	    !chunk_json_is_object(chunk_json_get(j, "promptFeedback"))) {
		adapter_wire_set_error(p, ERR_MALFORMED, "response has no candidates array");
		return;
	}
	char event = '?';
	gemini_response(p, j, p->start_us + (o->ttfb_us > 0 ? o->ttfb_us : 0), &event);
}
