/*
 * The plain-HTTP check of an https relay: which URL it tries (no secret in
 * it), how an answer is classified, and the request itself against
 * loopback servers: a redirect to https, a port nobody listens on, and an
 * API answering in clear, none of which is sent a key.
 */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/engine.h"
#include "probes/plainhttp.h"
#include "tests/helpers.h"

static void
expect_url(enum api_kind api, const char *base, const char *want)
{
	char *got = plainhttp_url(api, base);
	if (want == NULL)
		cr_expect_null(got, "%s: %s", base, got);
	else
		cr_expect(got != NULL && strcmp(got, want) == 0, "%s: %s, not %s", base,
		          got ? got : "NULL", want);
	free(got);
}

Test(plainhttp, the_url_is_http_on_the_same_host_without_secrets)
{
	expect_url(API_OPENAI, "https://relay.example/v1", "http://relay.example/v1/models");
	/* https's own port named: plain HTTP's own, 80 */
	expect_url(API_OPENAI, "https://relay.example:443/v1", "http://relay.example/v1/models");
	/* another port named: the same one */
	expect_url(API_OPENAI, "https://relay.example:8443/openai/v1",
	           "http://relay.example:8443/openai/v1/models");
	/* a user, a password and a query (a key may ride there) stay home */
	expect_url(API_OPENAI, "https://me:s3cret@relay.example/v1?key=sk-abc",
	           "http://relay.example/v1/models");
	/* Anthropic's list, without its query */
	expect_url(API_ANTHROPIC, "https://relay.example", "http://relay.example/v1/models");
	/* an http base URL: nothing to check (the report already says it) */
	expect_url(API_OPENAI, "http://relay.example/v1", NULL);
}

/* An observation as the engine leaves an answer: status, error, detail,
 * content type, posture bits. */
static enum plainhttp_outcome
classify(int status, enum error_class e, const char *detail, const char *type, unsigned bits)
{
	struct observation o;
	observation_init(&o);
	o.http_status = status;
	o.error = e;
	o.posture = bits;
	if (detail != NULL)
		observation_set(&o.error_detail, detail, strlen(detail), OBS_DETAIL_CAP);
	if (type != NULL)
		observation_set(&o.content_type, type, strlen(type), 128);
	enum plainhttp_outcome out = plainhttp_classify(&o);
	observation_release(&o);
	return out;
}

Test(plainhttp, an_answer_is_classified_by_what_it_is)
{
	cr_expect_eq(classify(0, ERR_CONNECT, "Couldn't connect to server", NULL, 0),
	             PLAIN_NO_CONNECTION);
	cr_expect_eq(classify(0, ERR_DNS, "Could not resolve host", NULL, 0), PLAIN_NO_CONNECTION);
	cr_expect_eq(classify(0, ERR_TIMEOUT, "no response within 5.0 s", NULL, 0), PLAIN_TIMEOUT);
	cr_expect_eq(classify(0, ERR_NETWORK, "the relay closed the connection", NULL, 0),
	             PLAIN_NOT_HTTP);
	cr_expect_eq(classify(301, ERR_HTTP, "HTTP 301", "text/html", OBS_POSTURE_TO_HTTPS),
	             PLAIN_TO_HTTPS);
	cr_expect_eq(classify(302, ERR_HTTP, "HTTP 302", NULL, 0), PLAIN_NOT_API);
	/* nginx on its https port: a web page */
	cr_expect_eq(
	    classify(400, ERR_HTTP, "HTTP 400: a web page, not an API error", "text/html", 0),
	    PLAIN_NOT_API);
	/* Go's and Caddy's words */
	cr_expect_eq(classify(400, ERR_HTTP,
	                      "HTTP 400: Client sent an HTTP request to an HTTPS "
	                      "server.",
	                      "text/plain; charset=utf-8", 0),
	             PLAIN_SAYS_HTTPS);
	cr_expect_eq(classify(426, ERR_HTTP, "HTTP 426", NULL, 0), PLAIN_SAYS_HTTPS);
	/* the API's own 401, even one that links to an https page */
	cr_expect_eq(
	    classify(401, ERR_AUTH,
	             "HTTP 401: Incorrect API key; find yours at https://relay.example/keys",
	             "application/json", 0),
	    PLAIN_ANSWERS_API);
	cr_expect_eq(classify(200, ERR_NONE, NULL, "application/json", 0), PLAIN_ANSWERS_API);
	cr_expect_eq(classify(200, ERR_MALFORMED, "not a model list", "text/html", 0),
	             PLAIN_NOT_API);
	cr_expect(plainhttp_weak(PLAIN_ANSWERS_API));
	for (int o = 0; o < PLAIN__COUNT; o++)
		cr_expect(o == PLAIN_ANSWERS_API || !plainhttp_weak((enum plainhttp_outcome)o),
		          "%s", plainhttp_outcome_name((enum plainhttp_outcome)o));
}

/* A loopback server: answers with status (a redirect to https when
 * location is set) and remembers what it was sent. */
struct server {
	int status;
	const char *location;
	const char *body;
	int requests;
	int had_secret; /* an Authorization or x-api-key header, or a query */
	char path[256];
};

static void
server_cb(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	s->requests++;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	s->had_secret |= evhttp_find_header(in, "authorization") != NULL ||
	                 evhttp_find_header(in, "x-api-key") != NULL ||
	                 strchr(evhttp_request_get_uri(req), '?') != NULL;
	snprintf(s->path, sizeof s->path, "%s", evhttp_request_get_uri(req));
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	if (s->location != NULL)
		evhttp_add_header(out, "Location", s->location);
	evhttp_add_header(out, "Content-Type", "application/json");
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "%s", s->body ? s->body : "");
	evhttp_send_reply(req, s->status, "X", b);
	evbuffer_free(b);
}

/* The check of https://127.0.0.1:port/v1 (port: a plain server's). */
static enum plainhttp_outcome
check(struct event_base *base, int port, char *detail, size_t n)
{
	struct engine *e = engine_new(base, NULL);
	cr_assert_not_null(e);
	char url[64];
	snprintf(url, sizeof url, "https://127.0.0.1:%d/v1?key=sk-secret", port);
	struct plainhttp p;
	plainhttp_start(&p, e, API_OPENAI, url);
	cr_assert_not_null(p.url);
	long long t0 = test_now_ms();
	plainhttp_wait(&p, base);
	cr_expect_lt(test_now_ms() - t0, PLAINHTTP_TIMEOUT_US / 1000 + 2000);
	cr_assert_not_null(p.obs);
	snprintf(detail, n, "%s (HTTP %d)", p.obs->error_detail ? p.obs->error_detail : "",
	         p.obs->http_status);
	enum plainhttp_outcome out = p.outcome;
	plainhttp_release(&p);
	engine_free(e);
	return out;
}

Test(plainhttp, a_redirect_to_https_is_fine_and_no_key_is_sent)
{
	struct event_base *base = event_base_new();
	struct evhttp *http = evhttp_new(base);
	struct server s = {.status = 301, .location = "https://127.0.0.1/v1/models"};
	evhttp_set_gencb(http, server_cb, &s);
	int port = test_evhttp_listen(http);
	cr_assert_gt(port, 0);
	char detail[600];
	cr_expect_eq(check(base, port, detail, sizeof detail), PLAIN_TO_HTTPS, "%s", detail);
	cr_expect_eq(s.requests, 1);
	cr_expect_str_eq(s.path, "/v1/models");
	cr_expect_eq(s.had_secret, 0);
	evhttp_free(http);
	event_base_free(base);
}

Test(plainhttp, an_api_answering_in_clear_is_a_weakness)
{
	struct event_base *base = event_base_new();
	struct evhttp *http = evhttp_new(base);
	struct server s = {
	    .status = 401,
	    .body = "{\"error\": {\"message\": \"You didn't provide an API key.\", \"type\": "
	            "\"invalid_request_error\"}}"};
	evhttp_set_gencb(http, server_cb, &s);
	int port = test_evhttp_listen(http);
	cr_assert_gt(port, 0);
	char detail[600];
	cr_expect_eq(check(base, port, detail, sizeof detail), PLAIN_ANSWERS_API, "%s", detail);
	cr_expect_eq(s.had_secret, 0);
	evhttp_free(http);
	event_base_free(base);
}

Test(plainhttp, nobody_listening_is_fine)
{
	struct event_base *base = event_base_new();
	int port = test_free_port();
	cr_assert_gt(port, 0);
	char detail[600];
	cr_expect_eq(check(base, port, detail, sizeof detail), PLAIN_NO_CONNECTION, "%s", detail);
	event_base_free(base);
}
