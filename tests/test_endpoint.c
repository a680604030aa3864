/*
 * endpoint: base URLs as each SDK takes them, extra headers and the key's
 * header, and the wrong-path hint; then the engine on the wire, against an
 * in-process server that echoes every request header back (so a header
 * sent, missing or leaked shows).
 */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/audit.h"
#include "probes/endpoint.h"
#include "probes/engine.h"
#include "tests/helpers.h"

/* ---- URL rules ---- */

struct url_case {
	enum api_kind api;
	const char *base, *want;
};

static const struct url_case url_cases[] = {
    /* OpenAI: the SDK's baseURL ends in /v1 */
    {API_OPENAI, "https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions"},
    {API_OPENAI, "https://api.openai.com/v1/", "https://api.openai.com/v1/chat/completions"},
    {API_OPENAI, "https://relay.example/v1//", "https://relay.example/v1/chat/completions"},
    /* a bare host gets /v1 */
    {API_OPENAI, "https://relay.example", "https://relay.example/v1/chat/completions"},
    {API_OPENAI, "https://relay.example/", "https://relay.example/v1/chat/completions"},
    {API_OPENAI, "http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/chat/completions"},
    {API_OPENAI, "http://[::1]:8080", "http://[::1]:8080/v1/chat/completions"},
    /* the endpoint pasted whole */
    {API_OPENAI, "https://relay.example/v1/chat/completions",
     "https://relay.example/v1/chat/completions"},
    {API_OPENAI, "https://relay.example/v1/chat/completions/",
     "https://relay.example/v1/chat/completions"},
    /* versioned paths relays use, kept */
    {API_OPENAI, "https://ark.cn-beijing.volces.com/api/v3",
     "https://ark.cn-beijing.volces.com/api/v3/chat/completions"},
    {API_OPENAI, "https://dashscope.aliyuncs.com/compatible-mode/v1",
     "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"},
    {API_OPENAI, "https://generativelanguage.googleapis.com/v1beta/openai/",
     "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"},
    {API_OPENAI, "https://api.groq.com/openai/v1",
     "https://api.groq.com/openai/v1/chat/completions"},
    {API_OPENAI, "https://open.bigmodel.cn/api/paas/v4",
     "https://open.bigmodel.cn/api/paas/v4/chat/completions"},
    {API_OPENAI, "https://relay.example/openai", "https://relay.example/openai/chat/completions"},
    /* the query string is kept after the path; a fragment goes */
    {API_OPENAI, "https://x.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21",
     "https://x.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"},
    {API_OPENAI, "https://relay.example/v1/?a=1&b=2",
     "https://relay.example/v1/chat/completions?a=1&b=2"},
    {API_OPENAI, "https://relay.example/v1#frag", "https://relay.example/v1/chat/completions"},
    /* Anthropic: the SDK's baseURL is the host; it adds /v1/messages */
    {API_ANTHROPIC, "https://api.anthropic.com", "https://api.anthropic.com/v1/messages"},
    {API_ANTHROPIC, "https://api.anthropic.com/", "https://api.anthropic.com/v1/messages"},
    {API_ANTHROPIC, "http://127.0.0.1:4000", "http://127.0.0.1:4000/v1/messages"},
    /* with /v1, as an OpenAI-minded user writes it */
    {API_ANTHROPIC, "https://relay.example/v1", "https://relay.example/v1/messages"},
    {API_ANTHROPIC, "https://relay.example/v1/", "https://relay.example/v1/messages"},
    /* the endpoint pasted whole, with Claude Code's query */
    {API_ANTHROPIC, "https://relay.example/v1/messages", "https://relay.example/v1/messages"},
    {API_ANTHROPIC, "https://relay.example/v1/messages?beta=true",
     "https://relay.example/v1/messages?beta=true"},
    /* relays' own prefixes, as their ANTHROPIC_BASE_URL docs give them */
    {API_ANTHROPIC, "https://api.deepseek.com/anthropic",
     "https://api.deepseek.com/anthropic/v1/messages"},
    {API_ANTHROPIC, "https://open.bigmodel.cn/api/anthropic",
     "https://open.bigmodel.cn/api/anthropic/v1/messages"},
    {API_ANTHROPIC, "https://relay.example/claude/?k=v",
     "https://relay.example/claude/v1/messages?k=v"},
    /* Responses: the openai SDK's baseURL + "/responses" */
    {API_RESPONSES, "https://api.openai.com/v1", "https://api.openai.com/v1/responses"},
    {API_RESPONSES, "https://api.openai.com/v1/", "https://api.openai.com/v1/responses"},
    {API_RESPONSES, "https://relay.example", "https://relay.example/v1/responses"},
    {API_RESPONSES, "http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/responses"},
    {API_RESPONSES, "https://relay.example/v1/responses", "https://relay.example/v1/responses"},
    {API_RESPONSES, "https://relay.example/v1/responses/", "https://relay.example/v1/responses"},
    /* the Chat Completions endpoint pasted: the same base's Responses */
    {API_RESPONSES, "https://relay.example/v1/chat/completions",
     "https://relay.example/v1/responses"},
    {API_OPENAI, "https://relay.example/v1/responses", "https://relay.example/v1/chat/completions"},
    {API_RESPONSES, "https://relay.example/openai/v1", "https://relay.example/openai/v1/responses"},
    {API_RESPONSES, "https://x.openai.azure.com/openai/v1?api-version=preview",
     "https://x.openai.azure.com/openai/v1/responses?api-version=preview"},
    {API_RESPONSES, "https://relay.example/api/v3#frag", "https://relay.example/api/v3/responses"},
};

Test(endpoint_url, each_sdk_convention)
{
	for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
		const struct url_case *c = &url_cases[i];
		char *got = endpoint_url(c->api, c->base);
		cr_expect_str_eq(got, c->want, "%s %s: got %s, want %s", api_name(c->api), c->base,
		                 got, c->want);
		/* adapter_url() is the same rule (the engine's callers use it) */
		char *via = adapter_url(c->api, c->base);
		cr_expect_str_eq(via, got);
		free(via);
		free(got);
	}
}

Test(endpoint_url, idempotent)
{
	/* a URL it made, given back as a base, comes out unchanged */
	for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
		char *once = endpoint_url(url_cases[i].api, url_cases[i].base);
		char *twice = endpoint_url(url_cases[i].api, once);
		cr_expect_str_eq(twice, once);
		free(once);
		free(twice);
	}
}

/* ---- the key's header ---- */

Test(auth, names_and_defaults)
{
	cr_expect_eq(auth_from_name("bearer"), AUTH_BEARER);
	cr_expect_eq(auth_from_name("x-api-key"), AUTH_X_API_KEY);
	cr_expect_eq(auth_from_name("Bearer"), -1);
	cr_expect_eq(auth_from_name("basic"), -1);
	cr_expect_eq(auth_resolve(API_OPENAI, AUTH_DEFAULT), AUTH_BEARER);
	cr_expect_eq(auth_resolve(API_ANTHROPIC, AUTH_DEFAULT), AUTH_X_API_KEY);
	cr_expect_eq(auth_resolve(API_RESPONSES, AUTH_DEFAULT), AUTH_BEARER);
	cr_expect_eq(auth_resolve(API_ANTHROPIC, AUTH_BEARER), AUTH_BEARER);
	cr_expect_eq(auth_resolve(API_OPENAI, AUTH_X_API_KEY), AUTH_X_API_KEY);
	cr_expect_str_eq(auth_header(AUTH_BEARER), "Authorization");
	cr_expect_str_eq(auth_header(AUTH_X_API_KEY), "x-api-key");
	cr_expect_str_eq(auth_name(AUTH_X_API_KEY), "x-api-key");
}

/* ---- extra headers ---- */

struct parse_case {
	const char *line;
	const char *name, *value; /* NULL name: refused, err containing value */
};

static const struct parse_case parse_cases[] = {
    {"x-portkey-provider: openai", "x-portkey-provider", "openai"},
    {"X-Tenant:acme", "X-Tenant", "acme"},
    {"x-a:   spaced value \t", "x-a", "spaced value"},
    {"x-url: http://127.0.0.1:9/v1", "x-url", "http://127.0.0.1:9/v1"},
    {"x-empty:", "x-empty", ""},
    {"no colon here", NULL, "no ':'"},
    {": value", NULL, "needs a name"},
    {"bad name: v", NULL, "not an HTTP token"},
    {"x-crlf: a\r\nHost: evil", NULL, "control character"},
};

Test(endpoint_header, parse_table)
{
	for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
		const struct parse_case *c = &parse_cases[i];
		struct http_header h = {0};
		char err[256] = "";
		int rc = endpoint_header_parse(c->line, &h, err, sizeof err);
		if (c->name != NULL) {
			cr_expect_eq(rc, 0, "'%s': %s", c->line, err);
			if (rc == 0) {
				cr_expect_str_eq(h.name, c->name);
				cr_expect_str_eq(h.value, c->value);
			}
			free(h.name);
			free(h.value);
		} else {
			cr_expect_eq(rc, -1, "'%s' was accepted", c->line);
			cr_expect_not_null(strstr(err, c->value), "'%s': %s", c->line, err);
		}
	}
}

Test(endpoint_header, error_never_quotes_the_value)
{
	struct http_header h;
	char err[256];
	cr_assert_eq(endpoint_header_parse("x-key: sk-secret-1\x01", &h, err, sizeof err), -1);
	cr_expect_null(strstr(err, "sk-secret"), "%s", err);
	char big[ENDPOINT_HEADER_VALUE_CAP + 20];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "x-big: ", 7);
	cr_assert_eq(endpoint_header_parse(big, &h, err, sizeof err), -1);
	cr_expect_not_null(strstr(err, "longer than"), "%s", err);
	cr_expect_lt(strlen(err), 200);
}

struct allow_case {
	const char *name;
	enum api_kind api;
	enum auth_kind auth;
	int has_key, ok;
};

static const struct allow_case allow_cases[] = {
    {"Host", API_OPENAI, AUTH_DEFAULT, 0, 0},
    {"content-length", API_OPENAI, AUTH_DEFAULT, 0, 0},
    {"Content-Type", API_ANTHROPIC, AUTH_DEFAULT, 0, 0},
    {"TRANSFER-ENCODING", API_OPENAI, AUTH_DEFAULT, 0, 0},
    {"Expect", API_OPENAI, AUTH_DEFAULT, 0, 0},
    /* the key's header: refused only when a key is given */
    {"Authorization", API_OPENAI, AUTH_DEFAULT, 1, 0},
    {"authorization", API_OPENAI, AUTH_DEFAULT, 0, 1},
    {"x-api-key", API_ANTHROPIC, AUTH_DEFAULT, 1, 0},
    {"Authorization", API_ANTHROPIC, AUTH_DEFAULT, 1, 1},
    {"Authorization", API_ANTHROPIC, AUTH_BEARER, 1, 0},
    {"x-api-key", API_ANTHROPIC, AUTH_BEARER, 1, 1},
    {"X-Api-Key", API_OPENAI, AUTH_X_API_KEY, 1, 0},
    {"Authorization", API_OPENAI, AUTH_X_API_KEY, 1, 1},
    /* what relays need */
    {"x-portkey-provider", API_OPENAI, AUTH_DEFAULT, 1, 1},
    {"anthropic-version", API_ANTHROPIC, AUTH_DEFAULT, 1, 1},
    {"anthropic-beta", API_ANTHROPIC, AUTH_DEFAULT, 1, 1},
};

Test(endpoint_header, owned_names_refused)
{
	for (size_t i = 0; i < sizeof allow_cases / sizeof allow_cases[0]; i++) {
		const struct allow_case *c = &allow_cases[i];
		char err[256] = "";
		int rc =
		    endpoint_header_allowed(c->name, c->api, c->auth, c->has_key, err, sizeof err);
		cr_expect_eq(rc, c->ok ? 0 : -1, "%s (%s, auth %s, key %d): %s", c->name,
		             api_name(c->api), auth_name(c->auth), c->has_key, err);
		if (!c->ok)
			cr_expect_not_null(strstr(err, c->name), "%s", err);
	}
}

Test(endpoint_header, list_twice_and_cap)
{
	struct http_header h[ENDPOINT_MAX_HEADERS + 1];
	char names[ENDPOINT_MAX_HEADERS + 1][16];
	for (size_t i = 0; i <= ENDPOINT_MAX_HEADERS; i++) {
		snprintf(names[i], sizeof names[i], "x-h%zu", i);
		h[i].name = names[i];
		h[i].value = (char *)"v";
	}
	char err[256];
	size_t bad = 99;
	cr_expect_eq(
	    endpoint_headers_check(h, 3, API_OPENAI, AUTH_DEFAULT, 1, &bad, err, sizeof err), 0);
	cr_expect_eq(endpoint_headers_check(h, ENDPOINT_MAX_HEADERS + 1, API_OPENAI, AUTH_DEFAULT,
	                                    1, &bad, err, sizeof err),
	             -1);
	cr_expect_eq(bad, ENDPOINT_MAX_HEADERS);
	h[2].name = (char *)"X-H0";
	cr_expect_eq(
	    endpoint_headers_check(h, 3, API_OPENAI, AUTH_DEFAULT, 1, &bad, err, sizeof err), -1);
	cr_expect_eq(bad, 2);
	cr_expect_not_null(strstr(err, "twice"), "%s", err);

	struct http_header *copy = http_headers_copy(h, 3);
	cr_expect_str_eq(copy[2].name, "X-H0");
	cr_expect_neq(copy[1].value, h[1].value);
	http_headers_free(copy, 3);
	cr_expect_null(http_headers_copy(h, 0));
}

/* ---- the wrong-path hint ---- */

static struct probe_def probe = {.id = (char *)"p"};

/* A finished run of n items: the first n_status got status with detail,
 * the rest succeeded. */
static struct audit_run *
fake_run(enum api_kind api, size_t n, size_t n_status, int status, const char *detail)
{
	struct audit_target t = {.relay = (char *)"r",
	                         .base_url = (char *)"http://relay.example/x",
	                         .api = api,
	                         .model = (char *)"m"};
	struct audit_run *run = test_run_alloc(&t, n);
	for (size_t i = 0; i < n; i++) {
		struct observation *o = test_run_add(run, &probe)->obs;
		if (i < n_status) {
			o->http_status = status;
			o->error = ERR_HTTP;
			o->error_detail = detail ? xstrdup(detail) : NULL;
		}
	}
	return run;
}

Test(endpoint_hint, wrong_path_named_not_wrong_model)
{
	struct audit_run *r;
	char *h;
	/* an HTML page, a proxy's text, an API-shaped "Invalid URL": the path */
	const char *path_details[] = {
	    "HTTP 404: <html><head><title>404 Not Found</title></head><body>nginx</body></html>",
	    "HTTP 404: 404 page not found",
	    "HTTP 404: Invalid URL (POST /x/chat/completions)",
	    "HTTP 404: Cannot POST /x/chat/completions",
	    "HTTP 404",
	    NULL,
	};
	for (size_t i = 0; i < sizeof path_details / sizeof path_details[0]; i++) {
		r = fake_run(API_OPENAI, 10, 10, 404, path_details[i]);
		h = endpoint_run_hint(r);
		cr_expect_not_null(h, "no hint for '%s'",
		                   path_details[i] ? path_details[i] : "(none)");
		if (h != NULL) {
			cr_expect_not_null(strstr(h, "http://relay.example/x/chat/completions"),
			                   "%s", h);
			cr_expect_not_null(strstr(h, "/v1"), "%s", h);
			cr_expect_not_null(strstr(h, "10 of 10"), "%s", h);
		}
		free(h);
		audit_run_free(r);
	}
	/* the model, not the path */
	const char *model_details[] = {
	    "HTTP 404: The model `gpt-5-turbo` does not exist or you do not have access to it.",
	    "HTTP 404: model: claude-9",
	    "HTTP 404: Model not found",
	};
	for (size_t i = 0; i < sizeof model_details / sizeof model_details[0]; i++) {
		r = fake_run(API_OPENAI, 10, 10, 404, model_details[i]);
		h = endpoint_run_hint(r);
		cr_expect_null(h, "a URL hint for '%s': %s", model_details[i], h);
		free(h);
		audit_run_free(r);
	}
	/* a minority of 404s is not the path (every request goes to one URL) */
	r = fake_run(API_OPENAI, 10, 5, 404, "HTTP 404: Not Found");
	h = endpoint_run_hint(r);
	cr_expect_null(h);
	free(h);
	audit_run_free(r);
	/* other statuses are not about the path */
	r = fake_run(API_OPENAI, 10, 10, 401, "HTTP 401: Not Found");
	h = endpoint_run_hint(r);
	cr_expect_null(h);
	free(h);
	audit_run_free(r);
	/* 405: POST to a static site */
	r = fake_run(API_ANTHROPIC, 4, 3, 405, "HTTP 405: <html>Method Not Allowed</html>");
	h = endpoint_run_hint(r);
	cr_expect_not_null(h);
	if (h != NULL) {
		cr_expect_not_null(strstr(h, "http://relay.example/x/v1/messages"), "%s", h);
		cr_expect_not_null(strstr(h, "ANTHROPIC_BASE_URL"), "%s", h);
		cr_expect_not_null(strstr(h, "405"), "%s", h);
	}
	free(h);
	audit_run_free(r);
}

/* ---- on the wire ---- */

/*
 * The echo server: every request is answered 200 in the API's shape (by
 * path) with the request's headers as the answer text ("name=value\n" each,
 * names lower-cased), or, on path /fail/..., 400 with them as the error's
 * message. The model field echoes x-model-echo.
 */
static void
echo_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct buf text;
	buf_init(&text, 0);
	for (struct evkeyval *kv = in->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
		char *name = xstrdup(kv->key);
		for (char *p = name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		buf_putf(&text, "%s=%s\n", name, kv->value);
		free(name);
	}
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	const char *model = evhttp_find_header(in, "x-model-echo");
	json_t *j;
	int status = 200;
	if (strncmp(path, "/fail/", 6) == 0) {
		status = 400;
		j = json_pack("{s:{s:s,s:s}}", "error", "message", text.data ? text.data : "",
		              "type", "invalid_request_error");
	} else if (strstr(path, "/messages") != NULL) {
		j = json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s}],s:s,s:{s:i,s:i}}", "id", "msg_1",
		              "type", "message", "role", "assistant", "model",
		              model ? model : "claude-sonnet-4", "content", "type", "text", "text",
		              text.data ? text.data : "", "stop_reason", "end_turn", "usage",
		              "input_tokens", 5, "output_tokens", 5);
	} else {
		j = json_pack("{s:s,s:s,s:i,s:s,s:[{s:i,s:{s:s,s:s},s:s}],s:{s:i,s:i,s:i}}", "id",
		              "chatcmpl-1", "object", "chat.completion", "created", 1, "model",
		              model ? model : "gpt-4o", "choices", "index", 0, "message", "role",
		              "assistant", "content", text.data ? text.data : "", "finish_reason",
		              "stop", "usage", "prompt_tokens", 5, "completion_tokens", 5,
		              "total_tokens", 10);
	}
	char *body = json_dumps(j, 0);
	struct evbuffer *out = evbuffer_new();
	evbuffer_add(out, body, strlen(body));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	evhttp_send_reply(req, status, status == 200 ? "OK" : "Bad Request", out);
	evbuffer_free(out);
	free(body);
	json_decref(j);
	buf_release(&text);
}

struct wire {
	struct event_base *base;
	struct evhttp *http;
	struct engine *engine;
	char url[128];
	struct observation *obs;
};

static void
wire_open(struct wire *w)
{
	w->base = event_base_new();
	w->http = evhttp_new(w->base);
	evhttp_set_gencb(w->http, echo_cb, NULL);
	int port = test_evhttp_listen(w->http);
	cr_assert_gt(port, 0);
	snprintf(w->url, sizeof w->url, "http://127.0.0.1:%d", port);
	w->engine = engine_new(w->base, NULL);
}

/* One request through the engine; the observation is left in w->obs. */
static void
wire_send(struct wire *w, enum api_kind api, const char *path, const char *key, enum auth_kind auth,
          const struct http_header *h, size_t n)
{
	struct probe_message m[] = {{"user", "hello"}};
	struct probe_call call =
	    test_call(api == API_ANTHROPIC ? "claude-sonnet-4" : "gpt-4o", m, 1, 16);
	call.temperature = -1;
	char base_url[256];
	snprintf(base_url, sizeof base_url, "%s%s", w->url, path);
	char *url = endpoint_url(api, base_url);
	char *body = adapter_body(api, &call, NULL);
	struct engine_request req = {.api = api,
	                             .url = url,
	                             .api_key = key,
	                             .auth = auth,
	                             .headers = h,
	                             .n_headers = n,
	                             .body = body,
	                             .timeout_us = 10000000};
	w->obs = test_engine_one(w->base, w->engine, &req, 20);
	free(url);
	free(body);
	cr_assert_not_null(w->obs, "the request never ended");
}

static void
wire_obs_free(struct wire *w)
{
	if (w->obs != NULL) {
		observation_release(w->obs);
		free(w->obs);
		w->obs = NULL;
	}
}

static void
wire_close(struct wire *w)
{
	wire_obs_free(w);
	engine_free(w->engine);
	evhttp_free(w->http);
	event_base_free(w->base);
}

static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p != NULL && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

Test(engine_headers, key_goes_in_the_header_auth_names)
{
	struct wire w = {0};
	wire_open(&w);
	const char *key = "sk-wire-key-0123456789abcdef";
	struct {
		enum api_kind api;
		enum auth_kind auth;
		const char *path;
		const char *want, *absent;
	} cases[] = {
	    {API_OPENAI, AUTH_DEFAULT, "/v1", "authorization=Bearer [redacted]", "x-api-key="},
	    {API_OPENAI, AUTH_X_API_KEY, "/v1", "x-api-key=[redacted]", "authorization="},
	    {API_ANTHROPIC, AUTH_DEFAULT, "", "x-api-key=[redacted]", "authorization="},
	    {API_ANTHROPIC, AUTH_BEARER, "", "authorization=Bearer [redacted]", "x-api-key="},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		wire_send(&w, cases[i].api, cases[i].path, key, cases[i].auth, NULL, 0);
		cr_assert_eq(w.obs->error, ERR_NONE, "%s", w.obs->error_detail);
		const char *t = w.obs->text;
		cr_assert_not_null(t);
		cr_expect(has_line(t, cases[i].want), "case %zu: no '%s' in:\n%s", i, cases[i].want,
		          t);
		cr_expect_null(strstr(t, cases[i].absent), "case %zu: '%s' sent:\n%s", i,
		               cases[i].absent, t);
		cr_expect_null(strstr(t, "sk-wire-key"), "the key reached the observation:\n%s", t);
		/* Assay's own headers are still there, once */
		cr_expect(has_line(t, "content-type=application/json"), "%s", t);
		if (cases[i].api == API_ANTHROPIC)
			cr_expect(has_line(t, "anthropic-version=2023-06-01"), "%s", t);
		wire_obs_free(&w);
	}
	/* no key, no auth header at all */
	wire_send(&w, API_ANTHROPIC, "", NULL, AUTH_BEARER, NULL, 0);
	cr_expect_null(strstr(w.obs->text, "authorization="), "%s", w.obs->text);
	cr_expect_null(strstr(w.obs->text, "x-api-key="), "%s", w.obs->text);
	wire_close(&w);
}

Test(engine_headers, extra_headers_sent_and_redacted_everywhere)
{
	struct wire w = {0};
	wire_open(&w);
	struct http_header h[] = {
	    {(char *)"x-portkey-provider", (char *)"openai"}, /* short: a routing word */
	    {(char *)"X-Tenant-Token", (char *)"tenant-secret-77"},
	    {(char *)"x-model-echo", (char *)"echoed-model-secret"},
	    {(char *)"x-empty", (char *)""},
	};
	wire_send(&w, API_OPENAI, "/v1", "sk-wire-key-0123456789abcdef", AUTH_DEFAULT, h, 4);
	cr_assert_eq(w.obs->error, ERR_NONE, "%s", w.obs->error_detail);
	const char *t = w.obs->text;
	/* each was sent: the short value as it is, the long ones redacted */
	cr_expect(has_line(t, "x-portkey-provider=openai"), "%s", t);
	cr_expect(has_line(t, "x-tenant-token=[redacted]"), "%s", t);
	cr_expect(has_line(t, "x-model-echo=[redacted]"), "%s", t);
	cr_expect(has_line(t, "x-empty="), "%s", t);
	cr_expect_null(strstr(t, "tenant-secret"), "%s", t);
	cr_expect_eq(w.obs->text_len, strlen(t));
	cr_expect_str_eq(w.obs->model, "[redacted]");
	/* said in the security posture: the text and the model held secrets */
	cr_expect_geq(w.obs->secrets_echoed, 2);
	wire_obs_free(&w);

	/* an error body echoing them: error_detail is redacted too */
	wire_send(&w, API_OPENAI, "/fail/v1", NULL, AUTH_DEFAULT, h, 4);
	cr_expect_eq(w.obs->http_status, 400);
	cr_assert_not_null(w.obs->error_detail);
	cr_expect_null(strstr(w.obs->error_detail, "tenant-secret"), "%s", w.obs->error_detail);
	cr_expect_not_null(strstr(w.obs->error_detail, "[redacted]"), "%s", w.obs->error_detail);

	/* a caller's anthropic-version replaces the engine's */
	wire_obs_free(&w);
	struct http_header v[] = {{(char *)"anthropic-version", (char *)"2099-01-01"}};
	wire_send(&w, API_ANTHROPIC, "", NULL, AUTH_DEFAULT, v, 1);
	cr_expect(has_line(w.obs->text, "anthropic-version=[redacted]"), "%s", w.obs->text);
	cr_expect_null(strstr(w.obs->text, "2023-06-01"), "%s", w.obs->text);
	wire_close(&w);
}
