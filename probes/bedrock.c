/*
 * bedrock: the Bedrock runtime's InvokeModel dialect of Anthropic Messages
 * (see probes/bedrock.h for the wire and its sources).
 *
 * A stream's bytes go to an event-stream decoder (probes/eventstream.h);
 * each `chunk` event's payload is {"bytes": "<base64>"}, the base64 of one
 * Anthropic stream event's JSON, handed to the adapter's Anthropic event
 * parsing as if it had come in an SSE data line. An `exception` message
 * ends the stream with the error its type names; anything else that is not
 * a chunk event is counted (observation event '?') and skipped.
 */
#include "probes/bedrock.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <string.h>

#include "base/util.h"
#include "probes/eventstream.h"

/* ---- Where requests go ---- */

static int
region_ok(const char *r, size_t n)
{
	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return 0;
	return 1;
}

char *
bedrock_base_url(const char *region)
{
	if (region == NULL || !region_ok(region, strlen(region)))
		return NULL;
	return xasprintf("https://bedrock-runtime.%s.amazonaws.com", region);
}

int
bedrock_region_of(const char *base_url, char *out, size_t n)
{
	CURLU *u = curl_url();
	char *host = NULL;
	int rc = -1;
	if (curl_url_set(u, CURLUPART_URL, base_url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		const char *prefix = "bedrock-runtime.";
		const char *r =
		    strncmp(host, prefix, strlen(prefix)) == 0 ? host + strlen(prefix) : NULL;
		const char *end = r ? strstr(r, ".amazonaws.com") : NULL;
		if (end != NULL && (end[14] == 0 || strcmp(end + 14, ".cn") == 0) &&
		    region_ok(r, (size_t)(end - r)) && (size_t)(end - r) < n) {
			memcpy(out, r, (size_t)(end - r));
			out[end - r] = 0;
			rc = 0;
		}
	}
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

char *
bedrock_invoke_url(const char *base_url, const char *model, int stream)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t base_len = strcspn(base_url, "?#");
	while (base_len > 0 && base_url[base_len - 1] == '/')
		base_len--;
	struct buf b;
	buf_init(&b, 0);
	buf_putf(&b, "%.*s/model/", (int)base_len, base_url);
	for (const unsigned char *p = (const unsigned char *)model; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~')
			buf_putf(&b, "%c", *p);
		else
			buf_putf(&b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	buf_puts(&b, stream ? "/invoke-with-response-stream" : "/invoke");
	return buf_take(&b, NULL);
}

char *
bedrock_call_url(const char *base_url, enum api_kind api, const char *model, int stream)
{
	if (api != API_CONVERSE)
		return bedrock_invoke_url(base_url, model, stream);
	char *u = bedrock_invoke_url(base_url, model, 0);
	/* .../invoke -> .../converse[-stream] */
	u[strlen(u) - strlen("invoke")] = 0;
	char *c = xasprintf("%s%s", u, stream ? "converse-stream" : "converse");
	free(u);
	return c;
}

/* ---- The request body ---- */

char *
bedrock_body(const struct probe_call *call, const char **why_not)
{
	char *anthropic = adapter_body(API_ANTHROPIC, call, why_not);
	if (anthropic == NULL)
		return NULL;
	json_error_t err;
	json_t *root = json_loads(anthropic, 0, &err);
	free(anthropic);
	if (!json_is_object(root))
		fatal(70, "internal: the Anthropic body is not a JSON object");
	json_object_del(root, "model");
	json_object_del(root, "stream");
	json_object_set_new(root, "anthropic_version", json_string(BEDROCK_ANTHROPIC_VERSION));
	char *s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (s == NULL)
		fatal(70, "cannot encode request body");
	return s;
}

char *
bedrock_request_body(enum api_kind api, const struct probe_call *call, const char **why_not)
{
	return api == API_CONVERSE ? adapter_body(API_CONVERSE, call, why_not)
	                           : bedrock_body(call, why_not);
}

char *
bedrock_converse_body(const struct probe_call *call, const struct request_rules *rules)
{
	static const struct request_rules defaults;
	if (rules == NULL)
		rules = &defaults;
	const struct request_intent *in = &call->intent;
	json_t *root = json_object();
	json_t *msgs = json_array(), *system = json_array();
	for (size_t i = 0; i < call->n_messages; i++) {
		const struct probe_message *m = &call->messages[i];
		json_t *text = json_pack("{s:s}", "text", m->content);
		if (strcmp(m->role, "system") == 0)
			json_array_append_new(system, text);
		else
			json_array_append_new(
			    msgs, json_pack("{s:s, s:[o]}", "role", m->role, "content", text));
	}
	json_object_set_new(root, "messages", msgs);
	if (json_array_size(system) > 0)
		json_object_set_new(root, "system", system);
	else
		json_decref(system);
	json_t *conf = json_object();
	json_object_set_new(
	    conf, "maxTokens",
	    json_integer(call->max_tokens >= 0
	                     ? adapter_max_tokens(API_CONVERSE, call->max_tokens, rules)
	                     : 1024));
	if (call->temperature >= 0 && !rules->no_temperature)
		json_object_set_new(conf, "temperature",
		                    json_real(call->temperature > 1 ? 1 : call->temperature));
	if (in->n_stop > 0) {
		json_t *stop = json_array();
		for (size_t i = 0; i < in->n_stop; i++)
			json_array_append_new(stop, json_string(in->stop[i]));
		json_object_set_new(conf, "stopSequences", stop);
	}
	json_object_set_new(root, "inferenceConfig", conf);
	if (in->tool_name != NULL) {
		json_error_t err;
		json_t *schema = in->tool_schema ? json_loads(in->tool_schema, 0, &err) : NULL;
		if (schema == NULL)
			schema = json_pack("{s:s}", "type", "object");
		json_t *spec = json_pack("{s:s, s:{s:o}}", "name", in->tool_name, "inputSchema",
		                         "json", schema);
		if (in->tool_description != NULL)
			json_object_set_new(spec, "description", json_string(in->tool_description));
		json_t *choice = in->tool_choice == TOOL_CHOICE_REQUIRED
		                     ? json_pack("{s:{}}", "any")
		                 : in->tool_choice == TOOL_CHOICE_NAMED
		                     ? json_pack("{s:{s:s}}", "tool", "name", in->tool_name)
		                     : json_pack("{s:{}}", "auto");
		json_object_set_new(
		    root, "toolConfig",
		    json_pack("{s:[{s:o}], s:o}", "tools", "toolSpec", spec, "toolChoice", choice));
	}
	char *s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (s == NULL)
		fatal(70, "cannot encode request body");
	return s;
}

static long
json_long(json_t *v)
{
	return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

/* TokenUsage into the observation. */
static void
converse_usage(struct observation *o, json_t *usage)
{
	if (!json_is_object(usage))
		return;
	o->usage_present = 1;
	o->prompt_tokens = json_long(json_object_get(usage, "inputTokens"));
	o->completion_tokens = json_long(json_object_get(usage, "outputTokens"));
	o->total_tokens = json_long(json_object_get(usage, "totalTokens"));
	long cached = json_long(json_object_get(usage, "cacheReadInputTokens"));
	if (cached >= 0)
		o->cached_tokens = cached;
}

static void
take_finish(struct observation *o, json_t *reason)
{
	if (json_is_string(reason) && o->finish_reason == NULL)
		o->finish_reason =
		    xstrndup(json_string_value(reason), strnlen(json_string_value(reason), 64));
}

void
bedrock_converse_finish(struct adapter_parse *p, json_t *j)
{
	struct observation *o = p->obs;
	json_t *msg = json_object_get(json_object_get(j, "output"), "message");
	json_t *content = json_object_get(msg, "content");
	if (!json_is_array(content)) {
		adapter_parse_fail(p, ERR_MALFORMED, "response has no output.message.content");
		return;
	}
	take_finish(o, json_object_get(j, "stopReason"));
	converse_usage(o, json_object_get(j, "usage"));
	size_t i;
	json_t *block;
	json_array_foreach(content, i, block)
	{
		json_t *text = json_object_get(block, "text");
		if (json_is_string(text))
			adapter_parse_text(p, json_string_value(text), json_string_length(text),
			                   p->start_us + (o->ttfb_us > 0 ? o->ttfb_us : 0));
		json_t *tool = json_object_get(block, "toolUse");
		if (json_is_object(tool))
			adapter_parse_tool(p, json_object_get(tool, "toolUseId"),
			                   json_object_get(tool, "name"), NULL,
			                   json_object_get(tool, "input"));
	}
}

/* One ConverseStream event (ConverseStreamOutput's members). */
static int
converse_event(struct adapter_parse *p, const char *type, json_t *ev, int64_t now)
{
	struct observation *o = p->obs;
	if (!json_is_object(ev)) {
		adapter_parse_fail(p, ERR_MALFORMED, "stream event has an unexpected shape");
		return -1;
	}
	if (strcmp(type, "messageStart") == 0) {
		observation_event(o, 'S');
	} else if (strcmp(type, "contentBlockStart") == 0) {
		observation_event(o, 'B');
		json_t *tool = json_object_get(json_object_get(ev, "start"), "toolUse");
		if (json_is_object(tool))
			adapter_parse_tool(p, json_object_get(tool, "toolUseId"),
			                   json_object_get(tool, "name"), NULL, NULL);
	} else if (strcmp(type, "contentBlockDelta") == 0) {
		observation_event(o, 'D');
		json_t *delta = json_object_get(ev, "delta");
		json_t *text = json_object_get(delta, "text");
		if (json_is_string(text))
			adapter_parse_text(p, json_string_value(text), json_string_length(text),
			                   now);
		json_t *tool = json_object_get(delta, "toolUse");
		if (json_is_object(tool))
			adapter_parse_tool(p, NULL, NULL, json_object_get(tool, "input"), NULL);
	} else if (strcmp(type, "contentBlockStop") == 0) {
		observation_event(o, 'E');
	} else if (strcmp(type, "messageStop") == 0) {
		observation_event(o, 'Z');
		take_finish(o, json_object_get(ev, "stopReason"));
		p->saw_done = 1;
	} else if (strcmp(type, "metadata") == 0) {
		observation_event(o, 'M');
		converse_usage(o, json_object_get(ev, "usage"));
	} else {
		observation_event(o, '?');
	}
	return p->stopped ? -1 : 0;
}

/* ---- The model id ---- */

int
bedrock_model_name(const char *id, char *out, size_t n)
{
	static const char *const regions[] = {"us.",     "eu.",     "apac.", "jp.", "au.",
	                                      "us-gov.", "global.", "ca.",   NULL};
	const char *s = id;
	const char *slash = strrchr(s, '/'); /* an ARN: ...:inference-profile/ID */
	if (slash != NULL)
		s = slash + 1;
	for (const char *const *r = regions; *r != NULL; r++)
		if (strncmp(s, *r, strlen(*r)) == 0) {
			s += strlen(*r);
			break;
		}
	if (strncmp(s, "anthropic.", 10) != 0)
		return -1;
	s += 10;
	size_t len = strlen(s);
	/* -vN:M or -vN at the end */
	const char *v = NULL;
	for (const char *p = s; (p = strstr(p, "-v")) != NULL; p += 2)
		v = p;
	if (v != NULL) {
		const char *q = v + 2;
		size_t digits = strspn(q, "0123456789");
		if (digits > 0 && (q[digits] == 0 || (q[digits] == ':' && q[digits + 1] != 0 &&
		                                      strspn(q + digits + 1, "0123456789") ==
		                                          strlen(q + digits + 1))))
			len = (size_t)(v - s);
	}
	if (len == 0 || len >= n)
		return -1;
	memcpy(out, s, len);
	out[len] = 0;
	return 0;
}

/* ---- Errors ---- */

void
bedrock_classify(struct observation *o)
{
	if (o->error == ERR_HTTP && o->http_status == 400 && o->error_detail != NULL &&
	    strstr(o->error_detail, "model identifier is invalid") != NULL)
		o->error = ERR_NO_MODEL;
}

/* ---- The response stream ---- */

struct bedrock_stream {
	struct eventstream es;
	struct adapter_parse *p;
	int64_t now;
};

/* An exception message's error class, by its type (ResponseStream's
 * members and their HTTP statuses). */
static enum error_class
exception_class(const char *type)
{
	if (type == NULL)
		return ERR_UPSTREAM;
	if (strcmp(type, "throttlingException") == 0)
		return ERR_RATE_LIMITED;
	if (strcmp(type, "modelTimeoutException") == 0)
		return ERR_TIMEOUT;
	if (strcmp(type, "validationException") == 0)
		return ERR_HTTP;
	return ERR_UPSTREAM; /* internalServer, modelStreamError, serviceUnavailable */
}

static int
message_cb(const struct eventstream_message *m, void *arg)
{
	struct bedrock_stream *bs = arg;
	struct adapter_parse *p = bs->p;
	const char *mt = m->message_type ? m->message_type : "event";
	if (strcmp(mt, "exception") == 0 || strcmp(mt, "error") == 0) {
		observation_event(p->obs, 'X');
		char detail[256];
		json_error_t err;
		json_t *j = json_loadb((const char *)m->payload, m->payload_len, 0, &err);
		const char *msg = json_string_value(json_object_get(j, "message"));
		const char *type = m->exception_type ? m->exception_type : m->error_code;
		snprintf(detail, sizeof detail, "%s in stream: %.200s", type ? type : "exception",
		         msg ? msg : (m->error_message ? m->error_message : ""));
		json_decref(j);
		adapter_parse_fail(p, exception_class(type), detail);
		return -1;
	}
	if (p->api == API_CONVERSE && m->event_type != NULL) {
		json_error_t jerr;
		json_t *ev = json_loadb((const char *)m->payload, m->payload_len, 0, &jerr);
		int rc = converse_event(p, m->event_type, ev, bs->now);
		json_decref(ev);
		return rc;
	}
	if (m->event_type == NULL || strcmp(m->event_type, "chunk") != 0) {
		observation_event(p->obs, '?');
		return 0;
	}
	json_error_t err;
	json_t *j = json_loadb((const char *)m->payload, m->payload_len, 0, &err);
	const char *b64 = json_string_value(json_object_get(j, "bytes"));
	if (b64 == NULL) {
		json_decref(j);
		adapter_parse_fail(p, ERR_MALFORMED, "event-stream chunk has no bytes");
		return -1;
	}
	size_t n = strlen(b64);
	unsigned char *raw = xmalloc(n / 4 * 3 + 3);
	int len = n % 4 == 0 ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) : -1;
	if (len >= 0) /* EVP_DecodeBlock counts the padding's bytes too */
		len -= (n >= 1 && b64[n - 1] == '=') + (n >= 2 && b64[n - 2] == '=');
	json_decref(j);
	if (len < 0) {
		free(raw);
		adapter_parse_fail(p, ERR_MALFORMED, "event-stream chunk bytes are not base64");
		return -1;
	}
	int rc = adapter_stream_event(p, NULL, (const char *)raw, (size_t)len, bs->now);
	free(raw);
	return rc;
}

void
bedrock_parse_eventstream(struct adapter_parse *p)
{
	if (p->eventstream != NULL)
		return;
	struct bedrock_stream *bs = xcalloc(1, sizeof *bs);
	bs->p = p;
	eventstream_init(&bs->es, 0, message_cb, bs);
	p->eventstream = bs;
}

void
bedrock_parse_release(struct adapter_parse *p)
{
	if (p->eventstream == NULL)
		return;
	eventstream_release(&p->eventstream->es);
	free(p->eventstream);
	p->eventstream = NULL;
}

int
bedrock_stream_feed(struct adapter_parse *p, const char *data, size_t len, int64_t now)
{
	struct bedrock_stream *bs = p->eventstream;
	bs->now = now;
	if (eventstream_feed(&bs->es, data, len) == 0)
		return p->stopped ? -1 : 0;
	if (bs->es.error != EVENTSTREAM_STOPPED)
		adapter_parse_fail(
		    p, bs->es.error == EVENTSTREAM_TOO_LARGE ? ERR_TOO_LARGE : ERR_MALFORMED,
		    eventstream_error_text(bs->es.error));
	return -1;
}

void
bedrock_stream_finish(struct adapter_parse *p)
{
	struct bedrock_stream *bs = p->eventstream;
	if (eventstream_finish(&bs->es) != 0)
		adapter_parse_fail(p, ERR_MALFORMED, eventstream_error_text(bs->es.error));
	else if (bs->es.messages == 0)
		adapter_parse_fail(p, ERR_MALFORMED, "stream carried no events");
	else if (!p->saw_done)
		adapter_parse_fail(p, ERR_MALFORMED, "stream ended before its end marker");
}
