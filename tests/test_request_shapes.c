/*
 * Assay's requests held to the official SDKs' (tests/oracle/).
 *
 * Every intent of tests/oracle/intents.json is built with adapter_url() (or,
 * for Gemini and Vertex, whose paths name the model, adapter_request_url())
 * and adapter_body() and sent by the engine to a loopback server that keeps what
 * arrived (method, path, headers, body: what engine.c and the adapter really
 * put on the wire). tests/oracle/bodies.ts builds the same intents with the
 * SDKs' typed parameters (type-checked by tsc --strict) and captures what the
 * SDKs send from their own fetch. For each intent the method, the URL, the
 * content-type, auth and version headers and the body (as JSON values,
 * numbers by value) must equal those of the one SDK that speaks the API
 * version Assay announces (its anthropic-version header, or on Vertex its
 * body's anthropic_version; OpenAI and Gemini have one SDK each).
 * An SDK of another API version may differ only at the places intents.json's
 * version_gap names; those differences are printed, never hidden. Intents an
 * API cannot carry must be exactly the ones adapter_cannot() refuses.
 *
 * tests/oracle/wrong.ts must fail tsc with exactly the errors it marks: the
 * oracle is shown to refuse the other API's fields.
 *
 * Skipped when node or npm is not installed; fails when npm ci, tsc or node
 * fails. npm ci runs once for a lockfile: its stamp in node_modules says
 * which lockfile the tree was installed from. Every wait is bounded.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "probes/adapter.h"
#include "probes/engine.h"
#include "tests/helpers.h"

#define ORACLE "tests/oracle"
#define MAX_MESSAGES 16
#define MAX_STOP 8

/* The headers compared: content type, auth and API version. */
static const char *const compared_headers[] = {"content-type",      "authorization",  "x-api-key",
                                               "anthropic-version", "x-goog-api-key", NULL};

/* The Vertex project and region both sides are given (bodies.ts). */
#define VERTEX_PROJECT "assay-oracle"
#define VERTEX_REGION "us-east5"

/* tsc (TypeScript from the lockfile) with args; its exit status, output in *out. */
static int
tsc(const char *node, const char *project, char **out)
{
	char *err = NULL;
	char *argv[] = {(char *)node,
	                (char *)ORACLE "/node_modules/typescript/bin/tsc",
	                (char *)"-p",
	                (char *)project,
	                (char *)"--pretty",
	                (char *)"false",
	                NULL};
	*out = NULL;
	int rc = run_capture(argv, 120000, out, &err);
	if (*out != NULL && err != NULL && *err != '\0') {
		char *both = xasprintf("%s%s", *out, err);
		free(*out);
		*out = both;
	}
	free(err);
	return rc;
}

/* ---------------------------------------------------------------------------
 * JSON values compared as values */

static char *
show(const json_t *v)
{
	if (v == NULL)
		return xstrdup("absent");
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS |
	                            JSON_REAL_PRECISION(15));
	if (s != NULL && strlen(s) > 200)
		strcpy(s + 196, "...");
	return s ? s : xstrdup("?");
}

static void
add_diff(json_t *diffs, const char *path, const json_t *ours, const json_t *sdk)
{
	char *o = show(ours), *s = show(sdk);
	json_array_append_new(diffs,
	                      json_pack("{s:s, s:s, s:s}", "path", path, "ours", o, "sdk", s));
	free(o);
	free(s);
}

/*
 * Append to diffs every place where ours and sdk differ as JSON values,
 * named by its path. Numbers compare by value (jansson's json_equal() tells
 * 0 from 0.0, which no JSON reader does), objects by key in any order,
 * arrays element by element. NULL is a missing value.
 */
static void
json_diff(const char *path, const json_t *ours, const json_t *sdk, json_t *diffs)
{
	if (ours == NULL && sdk == NULL)
		return;
	if (ours == NULL || sdk == NULL) {
		add_diff(diffs, path, ours, sdk);
		return;
	}
	if (json_is_number(ours) && json_is_number(sdk)) {
		if (json_number_value(ours) != json_number_value(sdk))
			add_diff(diffs, path, ours, sdk);
		return;
	}
	if (json_typeof(ours) != json_typeof(sdk)) {
		add_diff(diffs, path, ours, sdk);
		return;
	}
	if (json_is_object(ours)) {
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)ours, key, v)
		{
			char *p = xasprintf("%s.%s", path, key);
			json_diff(p, v, json_object_get(sdk, key), diffs);
			free(p);
		}
		json_object_foreach((json_t *)sdk, key, v)
		{
			if (json_object_get(ours, key) != NULL)
				continue;
			char *p = xasprintf("%s.%s", path, key);
			json_diff(p, NULL, v, diffs);
			free(p);
		}
		return;
	}
	if (json_is_array(ours)) {
		if (json_array_size(ours) != json_array_size(sdk)) {
			add_diff(diffs, path, ours, sdk);
			return;
		}
		for (size_t i = 0; i < json_array_size(ours); i++) {
			char *p = xasprintf("%s[%zu]", path, i);
			json_diff(p, json_array_get(ours, i), json_array_get(sdk, i), diffs);
			free(p);
		}
		return;
	}
	if (!json_equal(ours, sdk))
		add_diff(diffs, path, ours, sdk);
}

Test(request_shapes, json_values_compare_numbers_by_value)
{
	json_t *a = json_loads("{\"t\":0,\"x\":[1,2.5],\"s\":\"a\",\"o\":{\"k\":true}}", 0, NULL);
	json_t *same =
	    json_loads("{\"o\":{\"k\":true},\"s\":\"a\",\"x\":[1.0,2.5],\"t\":0.0}", 0, NULL);
	json_t *other =
	    json_loads("{\"t\":0.5,\"x\":[2.5,1],\"o\":{\"k\":false},\"u\":null}", 0, NULL);
	cr_assert(a && same && other);
	cr_assert(!json_equal(a, same), "jansson alone tells 0 from 0.0");
	json_t *d = json_array();
	json_diff("body", a, same, d);
	cr_expect_eq(json_array_size(d), 0, "equal values, other spelling and order");
	json_diff("body", a, other, d);
	const char *want[] = {"body.t", "body.x[0]", "body.x[1]", "body.s", "body.o.k", "body.u"};
	cr_assert_eq(json_array_size(d), 6);
	for (size_t i = 0; i < 6; i++)
		cr_expect_str_eq(json_str(json_array_get(d, i), "path"), want[i]);
	cr_expect_str_eq(json_str(json_array_get(d, 3), "sdk"), "absent");
	json_decref(d);
	d = json_array();
	json_t *arr = json_loads("[1]", 0, NULL);
	json_diff("stop", json_array_get(a, 0), arr, d);
	json_diff("stop", json_object_get(a, "x"), arr, d);
	cr_expect_eq(json_array_size(d), 2, "a missing value and a shorter array both differ");
	json_decref(arr);
	json_decref(d);
	json_decref(a);
	json_decref(same);
	json_decref(other);
}

/* ---------------------------------------------------------------------------
 * An intent as Assay's probe call */

struct built {
	const char *id;
	enum api_kind api;
	struct probe_message msgs[MAX_MESSAGES];
	const char *stop[MAX_STOP];
	char *schema;
	char *answer_schema; /* a structured answer's JSON Schema (issue 17) */
	struct request_rules rules;
	struct probe_call call;
};

static void
build(struct built *b, const json_t *it)
{
	memset(b, 0, sizeof *b);
	b->id = json_str(it, "id");
	cr_assert_not_null(b->id, "an intent without an id");
	int api = api_from_name(json_str(it, "api") ? json_str(it, "api") : "");
	cr_assert_geq(api, 0, "%s: unknown api", b->id);
	b->api = (enum api_kind)api;
	const json_t *msgs = json_object_get(it, "messages");
	size_t n = json_array_size(msgs);
	cr_assert(n > 0 && n <= MAX_MESSAGES, "%s: %zu messages", b->id, n);
	for (size_t i = 0; i < n; i++) {
		b->msgs[i].role = json_str(json_array_get(msgs, i), "role");
		b->msgs[i].content = json_str(json_array_get(msgs, i), "content");
		cr_assert(b->msgs[i].role && b->msgs[i].content, "%s: message %zu", b->id, i);
	}
	struct request_intent *in = &b->call.intent;
	const json_t *stop = json_object_get(it, "stop");
	cr_assert(json_array_size(stop) <= MAX_STOP);
	for (size_t i = 0; i < json_array_size(stop); i++)
		b->stop[i] = json_string_value(json_array_get(stop, i));
	in->stop = b->stop;
	in->n_stop = json_array_size(stop);
	in->top_logprobs = (int)json_integer_value(json_object_get(it, "top_logprobs"));
	in->json_object = json_is_true(json_object_get(it, "json_object"));
	in->thinking_budget = (long)json_integer_value(json_object_get(it, "thinking_budget"));
	const json_t *tool = json_object_get(it, "tool");
	if (tool != NULL) {
		in->tool_name = json_str(tool, "name");
		in->tool_description = json_str(tool, "description");
		b->schema = json_dumps(json_object_get(tool, "schema"), JSON_COMPACT);
		in->tool_schema = b->schema;
		const char *choice = json_str(tool, "choice");
		cr_assert_not_null(choice, "%s: a tool without a choice", b->id);
		in->tool_choice = strcmp(choice, "required") == 0 ? TOOL_CHOICE_REQUIRED
		                  : strcmp(choice, "named") == 0  ? TOOL_CHOICE_NAMED
		                                                  : TOOL_CHOICE_AUTO;
	}
	/* an attachment of the last user message, a structured answer */
	const json_t *attach = json_object_get(it, "attach");
	if (attach != NULL) {
		const char *kind = json_str(attach, "kind");
		cr_assert(kind != NULL && json_str(attach, "data") != NULL, "%s: attach", b->id);
		in->attach = strcmp(kind, "pdf") == 0 ? MEDIA_PDF : MEDIA_PNG;
		b->call.attach_base64 = json_str(attach, "data");
	}
	const json_t *answer = json_object_get(it, "answer_schema");
	if (answer != NULL) {
		in->answer_schema_name = json_str(answer, "name");
		b->answer_schema = json_dumps(json_object_get(answer, "schema"), JSON_COMPACT);
		in->answer_schema = b->answer_schema;
	}
	const json_t *rules = json_object_get(it, "rules");
	b->rules.max_completion_tokens =
	    json_is_true(json_object_get(rules, "max_completion_tokens"));
	b->rules.no_temperature = json_is_true(json_object_get(rules, "no_temperature"));
	const char *effort = json_string_value(json_object_get(rules, "effort"));
	if (effort != NULL)
		snprintf(b->rules.effort, sizeof b->rules.effort, "%s", effort);
	const json_t *max = json_object_get(it, "max_tokens");
	const json_t *temp = json_object_get(it, "temperature");
	b->call.model = json_str(it, "model");
	b->call.messages = b->msgs;
	b->call.n_messages = n;
	b->call.max_tokens = json_is_integer(max) ? (long)json_integer_value(max) : -1;
	b->call.temperature = json_is_number(temp) ? json_number_value(temp) : -1;
	b->call.seed = -1;
	b->call.stream = json_is_true(json_object_get(it, "stream"));
	b->call.rules = &b->rules;
}

/* ---------------------------------------------------------------------------
 * The wire: a loopback server keeping the request the engine sent */

struct wire {
	struct event_base *base;
	struct evhttp *http;
	char base_url[64];
	enum api_kind api; /* what to answer */
	int stream;
	int got; /* requests that arrived */
	char *method, *uri, *body;
	json_t *headers; /* lowercased name: value */
	struct observation *obs;
};

static const char openai_body[] =
    "{\"id\":\"chatcmpl-oracle\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,"
    "\"total_tokens\":2}}";
static const char openai_stream[] =
    "data: {\"id\":\"chatcmpl-oracle\",\"object\":\"chat.completion.chunk\",\"created\":0,"
    "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":"
    "\"ok\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
static const char responses_body[] =
    "{\"id\":\"resp_oracle\",\"object\":\"response\",\"created_at\":0,\"status\":"
    "\"completed\",\"error\":null,\"incomplete_details\":null,\"model\":\"m\",\"output\":"
    "[{\"id\":\"msg_oracle\",\"type\":\"message\",\"status\":\"completed\",\"role\":"
    "\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"ok\","
    "\"annotations\":[]}]}],\"usage\":{\"input_tokens\":1,\"output_tokens\":1,"
    "\"total_tokens\":2}}";
static const char responses_stream[] =
    "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,"
    "\"response\":{\"id\":\"resp_oracle\",\"status\":\"in_progress\",\"model\":\"m\","
    "\"output\":[]}}\n\n"
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
    "\"sequence_number\":1,\"item_id\":\"msg_oracle\",\"output_index\":0,"
    "\"content_index\":0,\"delta\":\"ok\"}\n\n"
    "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,"
    "\"response\":{\"id\":\"resp_oracle\",\"status\":\"completed\",\"model\":\"m\","
    "\"output\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":1,\"total_tokens\":2}}}"
    "\n\n";
static const char anthropic_body[] =
    "{\"id\":\"msg_oracle\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\","
    "\"content\":[{\"type\":\"text\",\"text\":\"ok\"}],\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}";
static const char gemini_body[] =
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ok\"}],\"role\":\"model\"},"
    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":1,"
    "\"candidatesTokenCount\":1,\"totalTokenCount\":2},\"modelVersion\":\"m\"}";
static const char gemini_stream[] =
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ok\"}],\"role\":\"model\"},"
    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":1,"
    "\"candidatesTokenCount\":1,\"totalTokenCount\":2},\"modelVersion\":\"m\"}\r\n\r\n";
static const char anthropic_stream[] =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_oracle\","
    "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],"
    "\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static void
wire_forget(struct wire *w)
{
	free(w->method);
	free(w->uri);
	free(w->body);
	json_decref(w->headers);
	w->method = w->uri = w->body = NULL;
	w->headers = NULL;
	if (w->obs != NULL) {
		observation_release(w->obs);
		free(w->obs);
		w->obs = NULL;
	}
	w->got = 0;
}

static void
wire_cb(struct evhttp_request *req, void *arg)
{
	struct wire *w = arg;
	free(w->method);
	free(w->uri);
	free(w->body);
	json_decref(w->headers);
	w->got++;
	w->method = xstrdup(evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "other");
	w->uri = xstrdup(evhttp_request_get_uri(req));
	w->headers = json_object();
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	for (struct evkeyval *kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
		char *name = xstrdup(kv->key);
		for (char *c = name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		json_object_set_new(w->headers, name, json_string(kv->value));
		free(name);
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	w->body = xmalloc(len + 1);
	evbuffer_copyout(in, w->body, len);
	w->body[len] = '\0';

	const char *answer = w->api == API_ANTHROPIC || w->api == API_VERTEX
	                         ? (w->stream ? anthropic_stream : anthropic_body)
	                     : w->api == API_RESPONSES
	                         ? (w->stream ? responses_stream : responses_body)
	                     : w->api == API_GEMINI ? (w->stream ? gemini_stream : gemini_body)
	                                            : (w->stream ? openai_stream : openai_body);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  w->stream ? "text/event-stream" : "application/json");
	struct evbuffer *out = evbuffer_new();
	evbuffer_add(out, answer, strlen(answer));
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
wire_start(struct wire *w)
{
	memset(w, 0, sizeof *w);
	w->base = event_base_new();
	w->http = evhttp_new(w->base);
	cr_assert(w->base && w->http);
	int port = test_evhttp_listen(w->http);
	cr_assert_gt(port, 0, "cannot listen on loopback");
	snprintf(w->base_url, sizeof w->base_url, "http://127.0.0.1:%d/v1", port);
	evhttp_set_gencb(w->http, wire_cb, w);
}

static void
wire_stop(struct wire *w)
{
	wire_forget(w);
	evhttp_free(w->http);
	event_base_free(w->base);
}

/*
 * The URL Assay sends b to, given the host an SDK is given: the OpenAI and
 * Anthropic base URL is the host + /v1 (Assay's convention); Gemini's is
 * the host (as @google/genai's baseUrl); Vertex's the publisher under the
 * host in the project and region bodies.ts names (endpoint_vertex_url, as
 * --vertex-project and --vertex-region build it). The caller frees it.
 */
static char *
request_url(const struct built *b, const char *host)
{
	if (b->api == API_GEMINI)
		return adapter_request_url(b->api, host, b->call.model, b->call.stream);
	if (b->api == API_VERTEX) {
		char *publisher = NULL, err[256];
		cr_assert_eq(endpoint_vertex_url(host, VERTEX_PROJECT, VERTEX_REGION, &publisher,
		                                 err, sizeof err),
		             0, "%s", err);
		char *u = adapter_request_url(b->api, publisher, b->call.model, b->call.stream);
		free(publisher);
		return u;
	}
	char *base = xasprintf("%s/v1", host);
	char *u = adapter_url(b->api, base);
	free(base);
	return u;
}

/* Send one request through the engine and wait (bounded) until it ended. */
static void
wire_send(struct wire *w, struct engine *e, const struct built *b, const char *key)
{
	wire_forget(w);
	w->api = b->api;
	w->stream = b->call.stream;
	char *host = xstrndup(w->base_url, strlen(w->base_url) - strlen("/v1"));
	char *url = request_url(b, host);
	free(host);
	char *body = adapter_body(b->api, &b->call, NULL);
	cr_assert_not_null(body, "%s: adapter_body() refused it", b->id);
	struct engine_request req = {.pool = "oracle",
	                             .api = b->api,
	                             .url = url,
	                             .api_key = key,
	                             .body = body,
	                             .stream = b->call.stream,
	                             .timeout_us = 10000000};
	w->obs = test_engine_one(w->base, e, &req, 30);
	free(url);
	free(body);
	cr_assert_not_null(w->obs, "%s: the engine did not finish in 30 s", b->id);
	cr_assert_eq(w->got, 1, "%s: %d requests arrived, not 1", b->id, w->got);
	cr_expect_eq(w->obs->error, ERR_NONE,
	             "%s: the engine read the canned answer as an error: %s", b->id,
	             w->obs->error_detail ? w->obs->error_detail : "");
	cr_expect_str_eq(w->obs->text ? w->obs->text : "", "ok", "%s: answer text", b->id);
}

/* ---------------------------------------------------------------------------
 * The comparison */

/* Where Assay's request differs from one SDK's capture. */
static json_t *
request_diffs(const struct wire *w, const char *our_url, const json_t *sdk)
{
	json_t *d = json_array();
	json_t *m = json_string(w->method);
	json_diff("method", m, json_object_get(sdk, "method"), d);
	json_decref(m);
	json_t *u = json_string(our_url);
	json_diff("url", u, json_object_get(sdk, "url"), d);
	json_decref(u);
	const json_t *sh = json_object_get(sdk, "headers");
	for (size_t i = 0; compared_headers[i] != NULL; i++) {
		char *p = xasprintf("header %s", compared_headers[i]);
		json_diff(p, json_object_get(w->headers, compared_headers[i]),
		          json_object_get(sh, compared_headers[i]), d);
		free(p);
	}
	json_error_t jerr;
	json_t *ours = json_loads(w->body, 0, &jerr);
	cr_assert_not_null(ours, "the body on the wire is not JSON: %s", jerr.text);
	json_diff("body", ours, json_object_get(sdk, "body"), d);
	json_decref(ours);
	return d;
}

static int
in_list(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	}
	return 0;
}

/* The API version a request announces: (Vertex) its body's
 * anthropic_version, which Vertex reads, else Anthropic's anthropic-version
 * header; NULL for none. */
static const char *
announced_version(const json_t *headers, const json_t *body)
{
	const char *v = json_str(body, "anthropic_version");
	return v != NULL ? v : json_str(headers, "anthropic-version");
}

static int
same_version(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* bodies.js's output for every intent (caller frees), after tsc checked it. */
static json_t *
oracle_captures(const char *node)
{
	char *out = NULL;
	int rc = tsc(node, ORACLE "/tsconfig.json", &out);
	cr_assert_eq(rc, 0, "bodies.ts does not type-check against the SDKs' types:\n%s",
	             out ? out : "");
	free(out);
	rc = tsc(node, ORACLE "/tsconfig.build.json", &out);
	cr_assert_eq(rc, 0, "bodies.ts does not compile:\n%s", out ? out : "");
	free(out);
	char *err = NULL;
	char *run[] = {(char *)node, (char *)ORACLE "/out/bodies.js", NULL};
	out = NULL;
	rc = run_capture(run, 120000, &out, &err);
	cr_assert_eq(rc, 0, "bodies.js failed (%d):\n%s", rc, err ? err : "");
	json_error_t jerr;
	json_t *captures = json_loads(out ? out : "", 0, &jerr);
	cr_assert(json_is_object(captures), "bodies.js printed no JSON object: %s", jerr.text);
	free(out);
	free(err);
	return captures;
}

/* The API cannot carry b (no SDK has a field for it): Assay must refuse it too. */
static void
expect_refused(const struct built *b)
{
	const char *why = NULL;
	char *body = adapter_body(b->api, &b->call, &why);
	cr_expect_not_null(adapter_cannot(b->api, &b->call.intent),
	                   "%s: the SDKs cannot send it, adapter_cannot() lets it through", b->id);
	cr_expect_null(body, "%s: adapter_body() built what the API cannot carry", b->id);
	cr_expect_not_null(why, "%s: no reason given", b->id);
	free(body);
}

/* Count a difference the API version explains, for the log. */
static void
note_gap(json_t *gaps, const char *agent, const char *version, const json_t *x)
{
	char *key = xasprintf("%s, %s", agent, json_str(x, "path"));
	json_t *g = json_object_get(gaps, key);
	if (g == NULL) {
		g = json_pack("{s:I, s:s, s:s, s:s}", "n", (json_int_t)0, "ours",
		              json_str(x, "ours"), "sdk", json_str(x, "sdk"), "version", version);
		json_object_set_new(gaps, key, g);
	}
	json_object_set_new(g, "n", json_integer(json_integer_value(json_object_get(g, "n")) + 1));
	free(key);
}

/*
 * Hold what Assay sent for b (w) to each SDK's capture of it: nothing may
 * differ from the SDK of Assay's own API version, and from an SDK of another
 * version nothing beyond the version gap.
 */
static void
compare_with_sdks(const struct built *b, const struct wire *w, const char *our_url,
                  const json_t *sdks, const json_t *gap, json_t *gaps)
{
	json_t *our_body = json_loads(w->body, 0, NULL);
	const char *ours = announced_version(w->headers, our_body);
	int exact = 0;
	const char *name;
	json_t *cap;
	json_object_foreach((json_t *)sdks, name, cap)
	{
		const json_t *h = json_object_get(cap, "headers");
		const char *agent = json_str(h, "user-agent") ? json_str(h, "user-agent") : name;
		const char *version = announced_version(h, json_object_get(cap, "body"));
		int same = same_version(ours, version);
		exact += same;
		json_t *d = request_diffs(w, our_url, cap);
		size_t k;
		json_t *x;
		json_array_foreach(d, k, x)
		{
			const char *p = json_str(x, "path");
			if (same)
				cr_expect_fail(
				    "%s: %s differs from %s (the SDK of Assay's API version): "
				    "ours %s, SDK %s",
				    b->id, p, agent, json_str(x, "ours"), json_str(x, "sdk"));
			else if (!in_list(gap, p))
				cr_expect_fail(
				    "%s: %s differs from %s (anthropic-version %s) beyond the "
				    "version gap: ours %s, SDK %s",
				    b->id, p, agent, version ? version : "none",
				    json_str(x, "ours"), json_str(x, "sdk"));
			else
				note_gap(gaps, agent, version ? version : "none", x);
		}
		json_decref(d);
	}
	cr_expect_eq(exact, 1,
	             "%s: %d of the SDKs speak the API version Assay announces (%s), not 1", b->id,
	             exact, ours ? ours : "none");
	json_decref(our_body);
}

Test(request_shapes, requests_equal_the_official_sdks, .timeout = 600)
{
	char *node = test_node(ORACLE, "for the request-shape oracle");
	json_t *captures = oracle_captures(node);
	json_error_t jerr;
	json_t *data = json_load_file(ORACLE "/intents.json", 0, &jerr);
	cr_assert_not_null(data, ORACLE "/intents.json: %s", jerr.text);
	const char *base = json_str(data, "base_url"), *key = json_str(data, "api_key");
	cr_assert(base && key);
	const json_t *gap = json_object_get(json_object_get(data, "version_gap"), "paths");
	const json_t *intents = json_object_get(data, "intents");
	cr_assert_eq(json_object_size(captures), json_array_size(intents),
	             "bodies.js answered %zu intents of %zu", json_object_size(captures),
	             json_array_size(intents));

	struct wire w;
	wire_start(&w);
	struct engine *e = engine_new(w.base, NULL);
	cr_assert_not_null(e);
	json_t *gaps = json_object(); /* "agent, path": {n, ours, sdk, version} */
	size_t sent = 0, refused = 0;
	size_t i;
	json_t *it;
	json_array_foreach(intents, i, it)
	{
		struct built b;
		build(&b, it);
		const json_t *sdks = json_object_get(captures, b.id);
		cr_assert(json_object_size(sdks) > 0, "%s: no SDK capture", b.id);
		size_t n_cannot = 0;
		const char *name;
		json_t *cap;
		json_object_foreach((json_t *)sdks, name, cap)
		{
			n_cannot += json_str(cap, "cannot") != NULL;
		}
		cr_assert(n_cannot == 0 || n_cannot == json_object_size(sdks),
		          "%s: the SDKs disagree on whether the API can carry it", b.id);
		const char *cannot = adapter_cannot(b.api, &b.call.intent);
		if (n_cannot > 0) {
			expect_refused(&b);
			refused++;
		} else if (cannot != NULL) {
			cr_expect_fail("%s: adapter_cannot() refuses what the SDKs send: %s", b.id,
			               cannot);
		} else {
			wire_send(&w, e, &b, key);
			/* the path on the wire is the one of the URL the engine was given */
			char *wire_host = xstrndup(w.base_url, strlen(w.base_url) - strlen("/v1"));
			char *wire_url = request_url(&b, wire_host);
			cr_expect_str_eq(w.uri, wire_url + strlen(wire_host),
			                 "%s: the engine sent to another path than %s", b.id,
			                 wire_url);
			free(wire_url);
			free(wire_host);
			char *our_url = request_url(&b, base);
			compare_with_sdks(&b, &w, our_url, sdks, gap, gaps);
			free(our_url);
			sent++;
		}
		free(b.schema);
		free(b.answer_schema);
	}
	cr_expect_gt(sent, 0);
	cr_expect_gt(refused, 0, "no intent an API cannot carry was tried");
	const char *gk;
	json_t *g;
	json_object_foreach(gaps, gk, g)
	{
		/* on stderr, not cr_log_warn(): Criterion fails a run that warned */
		fprintf(stderr,
		        "[NOTE] version gap: %s (anthropic-version %s), %lld requests: ours %s, "
		        "SDK %s\n",
		        gk, json_str(g, "version"),
		        (long long)json_integer_value(json_object_get(g, "n")), json_str(g, "ours"),
		        json_str(g, "sdk"));
	}
	json_decref(gaps);
	engine_free(e);
	wire_stop(&w);
	json_decref(data);
	json_decref(captures);
	free(node);
}

/* ---------------------------------------------------------------------------
 * The oracle can fail: wrong.ts */

static pcre2_code *
regex(const char *pattern)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re =
	    pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
	cr_assert_not_null(re, "bad pattern %s", pattern);
	return re;
}

/* Group g of a match as a new string. */
static char *
group(pcre2_match_data *md, const char *s, int g)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	return xstrndup(s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
}

Test(request_shapes, sdk_types_refuse_the_other_apis_fields, .timeout = 600)
{
	char *node = test_node(ORACLE, "for the request-shape oracle");
	char *out = NULL;
	int rc = tsc(node, ORACLE "/tsconfig.wrong.json", &out);
	cr_assert_neq(rc, 0, "wrong.ts type-checks: the SDKs' types refused nothing");
	cr_assert_gt(rc, 0, "tsc did not run on wrong.ts (%d)", rc);

	/* the marks: line number -> "TSnnnn", "what the message names" */
	size_t len = 0;
	char *src = read_file(ORACLE "/wrong.ts", 1u << 20, &len);
	cr_assert_not_null(src);
	pcre2_code *mark = regex("// expect: (TS[0-9]+) '(.*)'\\s*$");
	pcre2_code *diag =
	    regex("^(?:.*/)?wrong\\.ts\\(([0-9]+),[0-9]+\\): error (TS[0-9]+): (.*)$");
	pcre2_match_data *md = pcre2_match_data_create(8, NULL);
	json_t *marks = json_object();
	char *save = NULL;
	int line = 0;
	for (char *l = src; l != NULL; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		line++;
		char *end = strchr(l, '\n');
		size_t n = end ? (size_t)(end - l) : strlen(l);
		if (pcre2_match(mark, (PCRE2_SPTR)l, n, 0, 0, md, NULL) < 0)
			continue;
		char *code = group(md, l, 1), *what = group(md, l, 2), *at = xasprintf("%d", line);
		json_object_set_new(
		    marks, at, json_pack("{s:s, s:s, s:b}", "code", code, "what", what, "seen", 0));
		free(code);
		free(what);
		free(at);
	}
	cr_assert_geq(json_object_size(marks), 15, "wrong.ts marks only %zu errors",
	              json_object_size(marks));

	/* every error of tsc is a marked one, with its code and naming its field */
	size_t errors = 0;
	for (char *l = strtok_r(out, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		if (isspace((unsigned char)l[0]))
			continue; /* the elaboration of the error above */
		if (pcre2_match(diag, (PCRE2_SPTR)l, strlen(l), 0, 0, md, NULL) < 0) {
			cr_expect_fail("tsc said something else than an error in wrong.ts: %s", l);
			continue;
		}
		errors++;
		char *at = group(md, l, 1), *code = group(md, l, 2), *msg = group(md, l, 3);
		json_t *m = json_object_get(marks, at);
		if (m == NULL) {
			cr_expect_fail("wrong.ts line %s fails unmarked: %s %s", at, code, msg);
		} else {
			cr_expect_str_eq(code, json_str(m, "code"), "wrong.ts line %s: %s", at,
			                 msg);
			cr_expect_not_null(strstr(msg, json_str(m, "what")),
			                   "wrong.ts line %s: the error does not name %s: %s", at,
			                   json_str(m, "what"), msg);
			json_object_set_new(m, "seen", json_true());
		}
		free(at);
		free(code);
		free(msg);
	}
	const char *at;
	json_t *m;
	json_object_foreach(marks, at, m)
	{
		cr_expect(json_is_true(json_object_get(m, "seen")),
		          "wrong.ts line %s type-checks: the SDK's types took what it marks wrong "
		          "(%s %s)",
		          at, json_str(m, "code"), json_str(m, "what"));
	}
	cr_expect_eq(errors, json_object_size(marks));
	json_decref(marks);
	pcre2_match_data_free(md);
	pcre2_code_free(mark);
	pcre2_code_free(diag);
	free(src);
	free(out);
	free(node);
}
