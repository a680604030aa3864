/*
 * Hostile relays, audited end to end (tests/data/errors/world.yaml): a real
 * audit through the engine with a short deadline, then the availability
 * detector. Each relay's requests must all end in the class they earned,
 * and its finding must say exactly what happened, every number counted
 * from those requests: a relay that never answers timed out and the rest
 * of the audit was never sent, it refused nothing; a 429 saying the credit
 * is gone is quota, not a rate limit; a 404 naming the model is not a 404
 * page.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/audit.h"
#include "probes/catalog.h"
#include "probes/engine.h"
#include "scoring/detectors/availability.h"
#include "tests/helpers.h"

static const char *const need[] = {"silent",
                                   "close",
                                   "hang-headers",
                                   "huge-header",
                                   "big-headers",
                                   "key-rejected",
                                   "token-exhausted",
                                   "payment",
                                   "user-quota",
                                   "quota-429",
                                   "limited-429",
                                   "no-model",
                                   "no-channel",
                                   "no-url",
                                   "wrong-url",
                                   "server-error",
                                   "bad-gateway-page",
                                   "malformed",
                                   NULL};
/* fast enough that a reply's own simulated latency is a few ms (the idle
 * relay's silence rounds to its deadline), slow enough that a hang outlasts
 * every deadline here (the fixture gives up after 600 simulated s) */
#define FAST "0.01"
static struct fixture world;
static struct catalog *cat;

static void
setup(void)
{
	char err[256];
	cat = catalog_load_default(err, sizeof err);
	cr_assert_not_null(cat, "%s", err);
	fixture_start_scaled(&world, "tests/data/errors/world.yaml", need, FAST);
}

static void
teardown(void)
{
	catalog_free(cat);
	cr_expect_eq(fixture_stop(&world), 0);
}

TestSuite(errors, .init = setup, .fini = teardown, .timeout = 60);

/* A default audit of relay (the cheap and medium probes, three at a time,
 * as `assay audit` runs them) with a timeout_s deadline; scored into a. */
static struct audit_run *
audit(const char *relay, double timeout_s, struct assessment *a)
{
	struct event_base *base = event_base_new();
	struct engine *e = engine_new(base, NULL);
	cr_assert_not_null(e);
	struct audit_target target = {.relay = (char *)relay,
	                              .base_url = (char *)fixture_url(&world, relay),
	                              .api = API_OPENAI,
	                              .model = (char *)"gpt-4o"};
	cr_assert_not_null(target.base_url, "no relay '%s'", relay);
	long long t0 = test_now_ms();
	struct audit_run *run = audit_run_to_end(base, e, cat, &target, TIER_CHEAP | TIER_MEDIUM, 3,
	                                         (int64_t)(timeout_s * 1e6));
	cr_assert_not_null(run);
	/* the run's deadline holds, whatever the relay does */
	cr_expect_lt(test_now_ms() - t0, (long long)(timeout_s * 1000) + 3000,
	             "the audit of %s took %lld ms", relay, test_now_ms() - t0);
	engine_free(e);
	event_base_free(base);
	assessment_init(a);
	detect_availability(run, a);
	cr_expect_eq(a->requests, (int)run->n_items);
	return run;
}

struct want {
	enum error_class cls;
	int n; /* -1: the rest of the run */
};

/* Every request of run ends in one of want's classes, as many as it says. */
static void
expect_classes(const struct audit_run *run, const struct want *want, size_t nwant)
{
	int got[ERR__COUNT] = {0};
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		cr_assert_not_null(o);
		got[o->error]++;
	}
	int rest = (int)run->n_items;
	for (size_t k = 0; k < nwant; k++)
		if (want[k].n >= 0)
			rest -= want[k].n;
	for (size_t k = 0; k < nwant; k++) {
		int n = want[k].n >= 0 ? want[k].n : rest;
		cr_expect_eq(got[want[k].cls], n, "%s: %s: %d requests, want %d", run->target.relay,
		             error_class_name(want[k].cls), got[want[k].cls], n);
		got[want[k].cls] = 0;
	}
	for (int c = 0; c < ERR__COUNT; c++)
		cr_expect_eq(got[c], 0, "%s: %d unexpected %s", run->target.relay, got[c],
		             error_class_name(c));
}

/* The summary of a's finding of class, which must exist. */
static const char *
summary(const struct assessment *a, const char *class)
{
	return test_must_find(a, class)->summary;
}

static int
has(const struct assessment *a, const char *class)
{
	return test_finding(a, class) != NULL;
}

/* The sentence a relay failing every request one way gets. */
static void
expect_all(const char *relay, double timeout_s, enum error_class cls, const char *words)
{
	struct assessment a;
	struct audit_run *run = audit(relay, timeout_s, &a);
	struct want w[] = {{cls, -1}};
	expect_classes(run, w, 1);
	char want[512];
	snprintf(want, sizeof want, "%zu of %zu requests %s.", run->n_items, run->n_items, words);
	const char *got = summary(&a, "unavailable");
	cr_expect_str_eq(got, want, "%s: '%s', want '%s'", relay, got, want);
	cr_expect_not(has(&a, "rate_limited"), "%s: a rate limit nobody imposed", relay);
	assessment_release(&a);
	audit_run_free(run);
}

/* relay answers three requests of its audit (timeout_s) with cls and the
 * rest is never sent: the finding says "3 of N requests <words>; the other
 * N-3 were not sent: <why>." Scored into a; the caller frees the run. */
static struct audit_run *
expect_three_then_unsent(const char *relay, double timeout_s, enum error_class cls,
                         const char *words, const char *why, struct assessment *a)
{
	struct audit_run *run = audit(relay, timeout_s, a);
	struct want w[] = {{cls, 3}, {ERR_NOT_SENT, -1}};
	expect_classes(run, w, 2);
	char want[512];
	snprintf(want, sizeof want, "3 of %zu requests %s; the other %zu were not sent: %s.",
	         run->n_items, words, run->n_items - 3, why);
	const char *got = summary(a, "unavailable");
	cr_expect_str_eq(got, want, "%s: '%s', want '%s'", relay, got, want);
	return run;
}

/* Fails on the old engine: the queued rest expired as rate_limited and the
 * finding said "The relay refused 24 of 27 requests with 429". */
Test(errors, silent_relay_times_out_and_the_rest_is_not_sent)
{
	struct assessment a;
	struct audit_run *run =
	    expect_three_then_unsent("silent", 1.0, ERR_TIMEOUT, "got no response within 1 s",
	                             "the audit's 1 s had run out", &a);
	for (size_t i = 0; i < run->n_items; i++)
		cr_expect_eq(run->items[i].obs->last_byte_us, -1, "no byte ever came");
	cr_expect_not(has(&a, "rate_limited"), "a silent relay refused nothing");
	assessment_release(&a);
	audit_run_free(run);
}

Test(errors, headers_then_nothing_is_idle)
{
	struct assessment a;
	audit_run_free(expect_three_then_unsent(
	    "hang-headers", 2.0, ERR_IDLE,
	    "started to answer and then stalled (no byte for the last 2 s)",
	    "the audit's 2 s had run out", &a));
	assessment_release(&a);
}

/* Relays that fail every request one way, and the words each gets. Arrays,
 * not pointers: Criterion copies a parameter into the test's own process,
 * where a pointer into ours may not hold. */
struct one_way {
	char relay[32];
	enum error_class cls;
	char words[128];
};

static const struct one_way one_ways[] = {
    {"close", ERR_NETWORK,
     "lost the connection (the relay closed the connection without a response)"},
    {"big-headers", ERR_TOO_LARGE,
     "got more than Assay accepts (response headers over Assay's 65536-byte cap)"},
    {"key-rejected", ERR_AUTH, "got HTTP 401: the relay rejected the API key"},
    /* one-api's exhausted token, a 402, new-api's user quota */
    {"token-exhausted", ERR_QUOTA, "got HTTP 401 saying the account's credit or quota is used up"},
    {"payment", ERR_QUOTA, "got HTTP 402 saying the account's credit or quota is used up"},
    {"user-quota", ERR_QUOTA, "got HTTP 403 saying the account's credit or quota is used up"},
    /* fails on a classifier that trusts the status: OpenAI sends
     * insufficient_quota as a 429 */
    {"quota-429", ERR_QUOTA, "got HTTP 429 saying the account's credit or quota is used up"},
    {"no-model", ERR_NO_MODEL, "got HTTP 404: the relay does not offer gpt-4o"},
    /* one-api's "no channel" 503 is the model, not an outage */
    {"no-channel", ERR_NO_MODEL, "got HTTP 503: the relay does not offer gpt-4o"},
    /* an HTML 404 and an "Invalid URL" 404: nothing at the URL */
    {"no-url", ERR_NOT_FOUND, "got HTTP 404: there is no API at the relay's URL"},
    {"wrong-url", ERR_NOT_FOUND, "got HTTP 404: there is no API at the relay's URL"},
};

ParameterizedTestParameters(errors, each_way_of_failing_every_request_has_its_words)
{
	return cr_make_param_array(struct one_way, one_ways, sizeof one_ways / sizeof one_ways[0]);
}

ParameterizedTest(const struct one_way *w, errors, each_way_of_failing_every_request_has_its_words)
{
	expect_all(w->relay, 2.0, w->cls, w->words);
}

/* Fails on the old engine: libcurl's own header limit came out as network. */
Test(errors, header_over_libcurls_limit_is_too_large)
{
	char words[160];
	snprintf(words, sizeof words,
	         "got more than Assay accepts (a response header over libcurl's %d-byte limit)",
	         (int)CURL_MAX_HTTP_HEADER);
	expect_all("huge-header", 2.0, ERR_TOO_LARGE, words);
}

Test(errors, real_429_is_rate_limited_and_the_wait_keeps_the_rest_unsent)
{
	struct assessment a;
	struct audit_run *run = audit("limited-429", 2.0, &a);
	struct want w[] = {{ERR_RATE_LIMITED, 3}, {ERR_NOT_SENT, -1}};
	expect_classes(run, w, 2);
	char want[512];
	snprintf(want, sizeof want,
	         "The relay refused 3 of %zu requests with 429 (rate limited) under an audit's "
	         "light load (at most 3 at once), asking to wait up to 20 s (Retry-After).",
	         run->n_items);
	cr_expect_str_eq(summary(&a, "rate_limited"), want);
	snprintf(want, sizeof want,
	         "%zu of %zu requests were not sent: the relay's Retry-After asked for a pause "
	         "past the request's deadline.",
	         run->n_items - 3, run->n_items);
	cr_expect_str_eq(summary(&a, "unavailable"), want);
	assessment_release(&a);
	audit_run_free(run);
}

/* A 1 s deadline: the second 500's backoff (1 s to 2 s) outlasts every
 * queued request's deadline, so exactly the first three are sent. */
static void
expect_upstream(const char *relay, int status)
{
	struct assessment a;
	char words[64];
	snprintf(words, sizeof words, "got a server error (HTTP %d)", status);
	audit_run_free(expect_three_then_unsent(
	    relay, 1.0, ERR_UPSTREAM, words,
	    "Assay was giving the relay time to recover from failed requests (upstream) past "
	    "the request's deadline",
	    &a));
	assessment_release(&a);
}

Test(errors, server_error_is_upstream)
{
	expect_upstream("server-error", 500);
}

Test(errors, bad_gateway_page_is_upstream)
{
	expect_upstream("bad-gateway-page", 502);
}

Test(errors, broken_json_is_malformed_with_each_reason_counted)
{
	struct assessment a;
	struct audit_run *run = audit("malformed", 2.0, &a);
	struct want w[] = {{ERR_MALFORMED, -1}};
	expect_classes(run, w, 1);
	/* the body answers break as a body, the streams as a stream event */
	size_t streams = 0;
	for (size_t i = 0; i < run->n_items; i++)
		streams += run->items[i].probe->stream != 0;
	cr_assert_gt(streams, 0);
	cr_assert_lt(streams, run->n_items);
	char want[512];
	snprintf(want, sizeof want,
	         "%zu of %zu requests got an answer that breaks the API's format (%zu: %s; %zu: "
	         "%s).",
	         run->n_items, run->n_items,
	         run->items[0].probe->stream ? streams : run->n_items - streams,
	         run->items[0].obs->error_detail,
	         run->items[0].probe->stream ? run->n_items - streams : streams,
	         run->items[0].probe->stream ? "response body is not a JSON object"
	                                     : "stream event is not valid JSON");
	cr_expect_str_eq(summary(&a, "unavailable"), want);
	assessment_release(&a);
	audit_run_free(run);
}

/* ---- the behaviours themselves, as a client sees them ---- */

static struct http_response
post(const char *relay)
{
	struct http_response r;
	char *body = chat_request_body("gpt-4o", "Reply with the single word: pong", NULL);
	http_post_chat(&r, fixture_url(&world, relay), body, 5000);
	free(body);
	return r;
}

static const char *
error_field(const struct http_response *r, const char *key)
{
	return json_str(json_object_get(r->json, "error"), key);
}

Test(errors, fixture_bodies_are_the_real_shapes)
{
	struct http_response r = post("user-quota"); /* new-api */
	cr_expect_eq(r.status, 403);
	cr_expect_str_eq(error_field(&r, "code"), "insufficient_user_quota");
	cr_expect_str_eq(error_field(&r, "type"), "new_api_error");
	http_response_release(&r);
	r = post("token-exhausted"); /* one-api: no code, the words say it */
	cr_expect_eq(r.status, 401);
	cr_expect_null(json_object_get(json_object_get(r.json, "error"), "code"));
	cr_expect(strstr(error_field(&r, "message"), "额度已用尽") != NULL, "%s", r.body);
	http_response_release(&r);
	r = post("quota-429"); /* OpenAI's own */
	cr_expect_eq(r.status, 429);
	cr_expect_str_eq(error_field(&r, "code"), "insufficient_quota");
	http_response_release(&r);
	r = post("limited-429");
	cr_expect_eq(r.status, 429);
	cr_expect_str_eq(error_field(&r, "code"), "rate_limit_exceeded");
	cr_expect(strstr(r.headers.data, "retry-after: 20") != NULL, "%s", r.headers.data);
	http_response_release(&r);
	r = post("no-channel"); /* one-api */
	cr_expect_eq(r.status, 503);
	cr_expect(strstr(error_field(&r, "message"), "无可用渠道") != NULL, "%s", r.body);
	http_response_release(&r);
	r = post("no-url");
	cr_expect_eq(r.status, 404);
	cr_expect_null(r.json, "a web page, not JSON");
	cr_expect(strstr(r.body, "<title>404 Not Found</title>") != NULL, "%s", r.body);
	http_response_release(&r);
}

Test(errors, huge_header_is_one_header_that_long)
{
	struct http_response r = post("big-headers");
	cr_expect_eq(r.status, 200);
	const char *h = strstr(r.headers.data, "x-padding: ");
	cr_assert_not_null(h);
	size_t n = strspn(h + 11, "a");
	cr_expect_eq(n, 81920);
	http_response_release(&r);
}

Test(errors, silent_writes_nothing_and_close_closes)
{
	long long t0 = test_now_ms();
	struct http_response r = post("silent");
	cr_expect_eq(r.rc, CURLE_OPERATION_TIMEDOUT, "%s", curl_easy_strerror(r.rc));
	cr_expect_eq(r.headers.len, 0, "not a byte");
	cr_expect_geq(test_now_ms() - t0, 4900);
	http_response_release(&r);
	r = post("close");
	cr_expect_eq(r.rc, CURLE_GOT_NOTHING, "%s", curl_easy_strerror(r.rc));
	http_response_release(&r);
}

Test(bad_error_world, unknown_body_is_named_with_its_line, .timeout = 20)
{
	char *argv[] = {(char *)test_binary("assay-fixture"), (char *)"-c",
	                (char *)"tests/data/errors/bad-body.yaml", NULL};
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 10000, &out, &err);
	cr_expect_eq(rc, 2, "exit %d: %s", rc, err);
	cr_expect(strstr(err, "bad-body.yaml:8: 'body' must be one of official, quota, "
	                      "model_not_found, html, not 'teapot'") != NULL,
	          "%s", err);
	free(out);
	free(err);
}

/* ---- the engine alone: curl's two timeouts told apart ---- */

/* curl's low-speed limit averages the last five seconds (the request's own
 * upload counts), so it fires some seconds after the idle window: hangs
 * here must outlast that (600 simulated s at 0.05 are 30 s). */
#define SLOWER "0.05"

static void
setup_slower(void)
{
	fixture_start_scaled(&world, "tests/data/errors/world.yaml", need, SLOWER);
}

static void
teardown_slower(void)
{
	cr_expect_eq(fixture_stop(&world), 0);
}

TestSuite(low_speed, .init = setup_slower, .fini = teardown_slower, .timeout = 60);

/* One request to relay with these deadlines; the caller frees the result. */
static struct observation *
request(const char *relay, int stream, int64_t timeout_us, int64_t idle_us)
{
	struct event_base *base = event_base_new();
	struct engine *e = engine_new(base, NULL);
	struct probe_message m[] = {{"user", "Reply with the single word: pong"}};
	struct probe_call call = test_call("gpt-4o", m, 1, 5);
	call.temperature = -1;
	call.stream = stream;
	char *url = adapter_url(API_OPENAI, fixture_url(&world, relay));
	char *body = adapter_body(API_OPENAI, &call, NULL);
	struct engine_request req = {.api = API_OPENAI,
	                             .url = url,
	                             .body = body,
	                             .stream = stream,
	                             .timeout_us = timeout_us,
	                             .idle_timeout_us = idle_us};
	struct observation *o = test_engine_one(base, e, &req, 30);
	free(url);
	free(body);
	engine_free(e);
	event_base_free(base);
	cr_assert_not_null(o, "the request never ended");
	return o;
}

/* curl's low-speed limit fires before any byte came: that is no response,
 * a timeout, not a stalled stream (the old engine called it idle because
 * it ended before the deadline). */
Test(low_speed, without_a_byte_is_a_timeout)
{
	struct observation *o = request("silent", 1, 20000000, 1000000);
	cr_expect_eq(o->error, ERR_TIMEOUT, "%s (%s)", error_class_name(o->error), o->error_detail);
	cr_expect_eq(o->last_byte_us, -1);
	cr_expect_lt(o->total_us, 15000000, "the idle window, not the deadline, ended it");
	cr_expect(strncmp(o->error_detail, "no response within ", 19) == 0, "%s", o->error_detail);
	observation_release(o);
	free(o);
}

/* ... and after the headers, the same limit is a stall. */
Test(low_speed, after_the_headers_is_idle)
{
	struct observation *o = request("hang-headers", 1, 20000000, 1000000);
	cr_expect_eq(o->error, ERR_IDLE, "%s (%s)", error_class_name(o->error), o->error_detail);
	cr_expect_eq(o->http_status, 200);
	cr_expect_geq(o->last_byte_us, 0);
	cr_expect(strncmp(o->error_detail, "the response stalled: no byte for its last ", 43) == 0,
	          "%s", o->error_detail);
	observation_release(o);
	free(o);
}
