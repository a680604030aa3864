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
