/*
 * ratelimit_seen: the engine notes which rate-limit and organisation names
 * its header callback sees, and asks libcurl's header API for those only,
 * instead of for ten names after every transfer. libcurl's API asked for
 * every name is the oracle: for each
 * header set a loopback server sends, the engine's observation must hold
 * what ratelimit_read() gets from curl_easy_header() on the same response
 * (first of a name, OpenAI's name before Anthropic's, blanks trimmed,
 * names in any case, a long value, numbers that are not, an empty
 * organisation id, which curl 7.88.1 gives as "\r" and both read as none).
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "probes/adapter.h"
#include "probes/engine.h"
#include "probes/ratelimit.h"
#include "tests/helpers.h"

#define LONG_ORG                                                                                   \
	"org-0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789"   \
	"abcdef"

/* The header sets, by request path /N/v1/chat/completions. */
static const char *const sets[][12] = {
    {"x-ratelimit-limit-requests", "500", "x-ratelimit-remaining-requests", "499",
     "x-ratelimit-limit-tokens", "30000", "x-ratelimit-remaining-tokens", "29000",
     "openai-organization", "org-abc", NULL},
    /* Anthropic's names first on the wire: OpenAI's still win */
    {"anthropic-ratelimit-requests-limit", "50", "x-ratelimit-limit-requests", "60",
     "anthropic-organization-id", "aaaa-bbbb", "openai-organization", "org-x", NULL},
    /* a name twice: the first */
    {"x-ratelimit-remaining-requests", "10", "x-ratelimit-remaining-requests", "20", NULL},
    /* blanks around the value, a name in capitals, a value that is no number */
    {"X-RateLimit-Limit-Tokens", "  42\t", "x-ratelimit-remaining-tokens", "abc",
     "anthropic-ratelimit-tokens-remaining", "7 ", NULL},
    /* a long organisation id */
    {"openai-organization", LONG_ORG, "x-ratelimit-limit-requests", "1", NULL},
    /* Anthropic's alone, and empty values */
    {"anthropic-ratelimit-requests-remaining", "3", "anthropic-ratelimit-tokens-limit", "",
     "anthropic-organization-id", "", NULL},
    /* none */
    {NULL},
};
#define N_SETS (sizeof sets / sizeof sets[0])

static const char *const answer =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\",\"choices\":[{"
    "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":"
    "\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}";

static void
answer_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	const char *uri = evhttp_request_get_uri(req);
	size_t set = uri[0] == '/' ? (size_t)atoi(uri + 1) : 0;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	for (size_t i = 0; set < N_SETS && sets[set][i] != NULL; i += 2)
		evhttp_add_header(h, sets[set][i], sets[set][i + 1]);
	evhttp_add_header(h, "Content-Type", "application/json");
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, answer, strlen(answer));
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* The server runs on a thread of its own, so that a blocking curl request
 * (the oracle) and the engine's loop can both talk to it. */
struct server {
	struct event_base *base;
	struct evhttp *http;
	struct event *tick;
	atomic_int stop;
	int port;
	pthread_t thread;
};

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct server *s = arg;
	if (atomic_load(&s->stop))
		event_base_loopbreak(s->base);
}

static void *
serve_cb(void *arg)
{
	struct server *s = arg;
	event_base_dispatch(s->base);
	return NULL;
}

static void
server_start(struct server *s)
{
	s->base = event_base_new();
	s->http = evhttp_new(s->base);
	evhttp_set_gencb(s->http, answer_cb, NULL);
	s->port = test_evhttp_listen(s->http);
	cr_assert_gt(s->port, 0);
	atomic_init(&s->stop, 0);
	s->tick = event_new(s->base, -1, EV_PERSIST, tick_cb, s);
	struct timeval ten_ms = {0, 10000};
	event_add(s->tick, &ten_ms);
	pthread_create(&s->thread, NULL, serve_cb, s);
}

static void
server_stop(struct server *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	event_free(s->tick);
	evhttp_free(s->http);
	event_base_free(s->base);
}

static size_t
drop_cb(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* What libcurl's header API gives for set: the oracle. */
static void
curl_oracle(const struct server *s, size_t set, struct obs_ratelimit *rl)
{
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/%zu/v1/chat/completions", s->port, set);
	CURL *easy = curl_easy_init();
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "{}");
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, drop_cb);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
	cr_assert_eq(curl_easy_perform(easy), CURLE_OK);
	ratelimit_read(easy, rl);
	curl_easy_cleanup(easy);
}

Test(ratelimit_seen, the_engine_reads_what_curls_header_api_reads)
{
	struct server s;
	server_start(&s);
	struct event_base *base = event_base_new();
	struct engine *e = engine_new(base, NULL);
	for (size_t set = 0; set < N_SETS; set++) {
		struct obs_ratelimit want;
		curl_oracle(&s, set, &want);
		char url[128];
		snprintf(url, sizeof url, "http://127.0.0.1:%d/%zu/v1/chat/completions", s.port,
		         set);
		struct engine_request req = {
		    .api = API_OPENAI, .url = url, .body = "{}", .timeout_us = 10000000};
		struct observation *o = test_engine_one(base, e, &req, 20);
		cr_assert_not_null(o, "set %zu never ended", set);
		cr_expect_eq(o->error, ERR_NONE, "set %zu: %s", set, o->error_detail);
		cr_expect_eq(o->rl.req_limit, want.req_limit, "set %zu", set);
		cr_expect_eq(o->rl.req_remaining, want.req_remaining, "set %zu", set);
		cr_expect_eq(o->rl.tok_limit, want.tok_limit, "set %zu", set);
		cr_expect_eq(o->rl.tok_remaining, want.tok_remaining, "set %zu", set);
		/* libcurl 7.88.1 gives an empty header's value as "\r" (its
		 * trailing-blank trim stops on the line end): an empty
		 * organisation id reads as none, by either path */
		if (set == 5)
			cr_expect(want.org_hash == 0 && o->rl.org_hash == 0, "set 5: %u, curl %u",
			          o->rl.org_hash, want.org_hash);
		else
			cr_expect_eq(o->rl.org_hash, want.org_hash, "set %zu: %u, curl %u", set,
			             o->rl.org_hash, want.org_hash);
		observation_release(o);
		free(o);
	}
	/* the oracle saw the values the sets hold (the test can fail) */
	struct obs_ratelimit first;
	curl_oracle(&s, 0, &first);
	cr_expect_eq(first.req_limit, 500);
	cr_expect_eq(first.tok_remaining, 29000);
	cr_expect_eq(first.org_hash, ratelimit_org_hash("org-abc"));
	curl_oracle(&s, 2, &first);
	cr_expect_eq(first.req_remaining, 10, "the first of a name");
	engine_free(e);
	event_base_free(base);
	server_stop(&s);
}

Test(ratelimit_seen, names_in_any_case_and_a_new_response_forgets_the_last)
{
	struct ratelimit_seen s = {0};
	const char *n = "X-RateLimit-Limit-Requests", *o = "openai-organization",
	           *longer = "x-ratelimit-limit-requestsx", *shorter = "x-ratelimit-limit";
	ratelimit_seen_header(&s, longer, strlen(longer));
	ratelimit_seen_header(&s, shorter, strlen(shorter));
	cr_expect_eq(s.present, 0u, "only the names themselves");
	ratelimit_seen_header(&s, n, strlen(n));
	ratelimit_seen_header(&s, o, strlen(o));
	cr_expect_eq(s.present, (1u << 0) | (1u << 8));
	ratelimit_seen_reset(&s); /* a 1xx, then the answer */
	cr_expect_eq(s.present, 0u);
}
