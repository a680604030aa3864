/*
 * Probe engine against the fixture's misbehaving relays: every failure
 * becomes an observation with the right error class, every cap holds, and
 * per-relay pacing never starts requests early.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "probes/adapter.h"
#include "probes/engine.h"
#include "probes/engine_test.h"
#include "tests/helpers.h"

static const char *const need[] = {"honest",     "locked", "flaky",  "limited", "broken-json",
                                   "broken-sse", "huge",   "stalls", "silent",  NULL};
static struct fixture world;

static void
setup(void)
{
	fixture_start_scaled(&world, "tests/data/engine/world.yaml", need, "0.05");
}

static void
teardown(void)
{
	fixture_stop(&world);
}

struct result {
	struct observation *obs[8];
	int n, want;
	struct event_base *base;
};

static void
done_cb(struct observation *obs, void *arg)
{
	struct result *r = arg;
	r->obs[r->n++] = obs;
	if (r->n == r->want)
		event_base_loopbreak(r->base);
}

struct req_opts {
	const char *key;
	int stream;
	int64_t timeout_us, idle_us;
	size_t body_cap, header_cap;
	int count;
	double rpm;
	int precise; /* a precise base, arrivals stamped per loop turn */
	int discard; /* engine_options.bench_discard_bodies */
};

/* Send count requests to endpoint and run the loop until all have ended. */
static struct result
send_to(const char *endpoint, struct req_opts o)
{
	struct result r = {.want = o.count ? o.count : 1};
	r.base = o.precise ? engine_base_new() : event_base_new();
	struct engine_options eo = {.precise_base = o.precise, .bench_discard_bodies = o.discard};
	struct engine *e = engine_new(r.base, &eo);
	if (o.rpm > 0)
		engine_set_limits(e, endpoint, 0, o.rpm);
	struct probe_message m[] = {{"user", "[ref 0badc0de] Reply with the single word: pong"}};
	struct probe_call call = test_call("gpt-4o", m, 1, 20);
	call.stream = o.stream;
	char *url = adapter_url(API_OPENAI, fixture_url(&world, endpoint));
	char *body = adapter_body(API_OPENAI, &call, NULL);
	struct engine_request req = {.pool = endpoint,
	                             .api = API_OPENAI,
	                             .url = url,
	                             .api_key = o.key,
	                             .body = body,
	                             .stream = o.stream,
	                             .timeout_us = o.timeout_us ? o.timeout_us : 10000000,
	                             .idle_timeout_us = o.idle_us,
	                             .body_cap = o.body_cap,
	                             .header_cap = o.header_cap};
	for (int i = 0; i < r.want; i++)
		engine_submit(e, &req, done_cb, &r);
	free(url);
	free(body);
	/* a bound on the whole wait: the loop must end by itself long before */
	struct timeval bound = {60, 0};
	event_base_loopexit(r.base, &bound);
	event_base_dispatch(r.base);
	cr_assert_eq(r.n, r.want, "only %d of %d requests ended", r.n, r.want);
	engine_free(e);
	event_base_free(r.base);
	return r;
}

static void
release(struct result *r)
{
	for (int i = 0; i < r->n; i++) {
		observation_release(r->obs[i]);
		free(r->obs[i]);
	}
}

#define EXPECT_CLASS(o, cls)                                                                       \
	cr_expect_eq((o)->error, cls, "want %s, got %s (%s)", error_class_name(cls),               \
	             error_class_name((o)->error), (o)->error_detail ? (o)->error_detail : "")

TestSuite(engine, .init = setup, .fini = teardown, .timeout = 90);

/* One request to endpoint with o ends in cls, and with HTTP status when it
 * is not -1. */
static void
expect_one(const char *endpoint, struct req_opts o, enum error_class cls, long status)
{
	struct result r = send_to(endpoint, o);
	cr_expect_eq(r.obs[0]->error, cls, "%s: want %s, got %s (%s)", endpoint,
	             error_class_name(cls), error_class_name(r.obs[0]->error),
	             r.obs[0]->error_detail ? r.obs[0]->error_detail : "");
	if (status != -1)
		cr_expect_eq(r.obs[0]->http_status, status, "%s: HTTP %ld, want %ld", endpoint,
		             (long)r.obs[0]->http_status, status);
	release(&r);
}

Test(engine, honest_whole_and_streamed)
{
	struct result r = send_to("honest", (struct req_opts){0});
	EXPECT_CLASS(r.obs[0], ERR_NONE);
	cr_expect_eq(r.obs[0]->http_status, 200);
	cr_expect_gt(r.obs[0]->prompt_tokens, 0);
	cr_expect_gt(r.obs[0]->text_len, 0);
	cr_expect_geq(r.obs[0]->total_us, r.obs[0]->ttfb_us);
	release(&r);
	r = send_to("honest", (struct req_opts){.stream = 1});
	EXPECT_CLASS(r.obs[0], ERR_NONE);
	cr_expect_geq(r.obs[0]->n_chunks, 1);
	cr_expect_geq(r.obs[0]->ttft_us, r.obs[0]->ttfb_us);
	cr_expect_gt(r.obs[0]->completion_tokens, 0);
	release(&r);
}

Test(engine, auth_errors_and_key_never_echoed)
{
	expect_one("locked", (struct req_opts){0}, ERR_AUTH, 401);
	struct result r =
	    send_to("locked", (struct req_opts){.key = "sk-test-wrong-key-9876543210"});
	EXPECT_CLASS(r.obs[0], ERR_AUTH);
	cr_expect(r.obs[0]->error_detail == NULL ||
	              strstr(r.obs[0]->error_detail, "sk-test-wrong-key") == NULL,
	          "the key reached the observation: %s", r.obs[0]->error_detail);
	release(&r);
	expect_one("locked", (struct req_opts){.key = "sk-test-right-key-0123456789"}, ERR_NONE,
	           -1);
}

Test(engine, upstream_and_rate_limited)
{
	expect_one("flaky", (struct req_opts){0}, ERR_UPSTREAM, 503);
	struct result r = send_to("limited", (struct req_opts){.count = 3});
	int limited = 0;
	for (int i = 0; i < r.n; i++) {
		if (r.obs[i]->error != ERR_RATE_LIMITED)
			continue;
		limited++;
		/* a 429 that was answered (not one we held back) carries Retry-After */
		if (r.obs[i]->http_status == 429)
			cr_expect_gt(r.obs[i]->retry_after_s, 0, "Retry-After not read");
	}
	cr_expect_geq(limited, 1, "rpm 1 gave no 429 in 3 requests");
	release(&r);
}

Test(engine, malformed_json_and_sse)
{
	expect_one("broken-json", (struct req_opts){0}, ERR_MALFORMED, -1);
	expect_one("broken-sse", (struct req_opts){.stream = 1}, ERR_MALFORMED, -1);
}

Test(engine, body_and_header_caps)
{
	expect_one("huge", (struct req_opts){.body_cap = 1 << 20}, ERR_TOO_LARGE, -1);
	expect_one("honest", (struct req_opts){.header_cap = 16}, ERR_TOO_LARGE, -1);
}

Test(engine, stalled_stream_is_idle_and_silence_is_timeout)
{
	struct result r = send_to(
	    "stalls", (struct req_opts){.stream = 1, .idle_us = 1000000, .timeout_us = 20000000});
	EXPECT_CLASS(r.obs[0], ERR_IDLE);
	cr_expect_lt(r.obs[0]->total_us, 15000000, "the idle timeout did not cut the stream");
	release(&r);
	r = send_to("silent", (struct req_opts){.timeout_us = 1500000, .idle_us = 30000000});
	EXPECT_CLASS(r.obs[0], ERR_TIMEOUT);
	cr_expect_lt(r.obs[0]->total_us, 5000000, "the deadline did not hold");
	release(&r);
}

Test(engine, refused_connection)
{
	struct result r;
	r.base = event_base_new();
	struct engine *e = engine_new(r.base, NULL);
	r.n = 0;
	r.want = 1;
	struct engine_request req = {.api = API_OPENAI,
	                             .url = "http://127.0.0.1:1/v1/chat/completions",
	                             .body = "{}",
	                             .timeout_us = 5000000};
	engine_submit(e, &req, done_cb, &r);
	event_base_dispatch(r.base);
	cr_assert_eq(r.n, 1);
	EXPECT_CLASS(r.obs[0], ERR_CONNECT);
	engine_free(e);
	event_base_free(r.base);
	release(&r);
}

Test(engine, rpm_budget_spaces_requests)
{
	/* 60 a minute with a burst of two: the third starts no sooner than ~1 s */
	struct result r = send_to("honest", (struct req_opts){.count = 3, .rpm = 60});
	int64_t first = r.obs[0]->started_ms, last = r.obs[0]->started_ms;
	for (int i = 0; i < r.n; i++) {
		EXPECT_CLASS(r.obs[i], ERR_NONE);
		if (r.obs[i]->started_ms < first)
			first = r.obs[i]->started_ms;
		if (r.obs[i]->started_ms > last)
			last = r.obs[i]->started_ms;
	}
	cr_expect_geq(last - first, 900, "3 requests at 60 rpm started within %lld ms",
	              (long long)(last - first));
	release(&r);
}

Test(engine, abort_on_free_calls_back_once)
{
	struct result r = {.want = 1};
	r.base = event_base_new();
	struct engine *e = engine_new(r.base, NULL);
	char *url = adapter_url(API_OPENAI, fixture_url(&world, "silent"));
	struct probe_message m[] = {{"user", "hello"}};
	struct probe_call call = test_call("gpt-4o", m, 1, 5);
	call.temperature = -1;
	char *body = adapter_body(API_OPENAI, &call, NULL);
	struct engine_request req = {
	    .api = API_OPENAI, .url = url, .body = body, .timeout_us = 60000000};
	engine_submit(e, &req, done_cb, &r);
	engine_submit(e, &req, done_cb, &r);
	free(url);
	free(body);
	r.want = 3; /* never reached by the loop: freeing must end both */
	struct timeval t = {0, 200000};
	event_base_loopexit(r.base, &t);
	event_base_dispatch(r.base);
	cr_expect_eq(r.n, 0);
	engine_free(e);
	cr_expect_eq(r.n, 2, "each request ends in exactly one callback");
	EXPECT_CLASS(r.obs[0], ERR_ABORTED);
	event_base_free(r.base);
	release(&r);
}

Test(engine, precise_base_stamps_stream_chunks_in_order)
{
	int64_t before = now_us();
	struct result r =
	    send_to("honest", (struct req_opts){.stream = 1, .count = 4, .precise = 1});
	for (int i = 0; i < r.n; i++) {
		struct observation *o = r.obs[i];
		EXPECT_CLASS(o, ERR_NONE);
		cr_expect_geq(o->start_mono_us, before, "start_mono_us is the monotonic start");
		cr_assert_geq(o->n_chunks, 1);
		cr_expect_geq(o->chunk_us[0], o->sent_us, "no chunk before the request left");
		for (size_t k = 1; k < o->n_chunks; k++)
			cr_expect_geq(o->chunk_us[k], o->chunk_us[k - 1], "chunk %zu out of order",
			              k);
		cr_expect_geq(o->ttft_us, 0);
		cr_expect_leq(o->start_mono_us + o->chunk_us[o->n_chunks - 1], now_us());
	}
	release(&r);
}

Test(engine, bench_discard_reads_and_drops_bodies)
{
	struct result r = send_to("honest", (struct req_opts){.stream = 1, .discard = 1});
	cr_expect_eq(r.obs[0]->http_status, 200);
	cr_expect_eq(r.obs[0]->n_chunks, 0, "nothing parsed");
	cr_expect_eq(r.obs[0]->text_len, 0);
	release(&r);
}

/* The arrival clock alone: no fixture needed. */
Test(arrival_clock, one_stamp_per_loop_turn)
{
	struct arrival_clock c = {{0, 0}, 0};
	struct timeval turn1 = {100, 5}, turn2 = {100, 6};
	cr_expect_eq(arrival_clock_stamp(&c, &turn1, 1000), 1000, "first read of a turn: now");
	cr_expect_eq(arrival_clock_stamp(&c, &turn1, 1800), 1000, "later reads share it");
	cr_expect_eq(arrival_clock_stamp(&c, &turn2, 2500), 2500, "a new turn: a new stamp");
	cr_expect_eq(arrival_clock_stamp(&c, &turn2, 2600), 2500);
	struct timeval turn3 = {101, 6}; /* same microseconds, next second */
	cr_expect_eq(arrival_clock_stamp(&c, &turn3, 3000), 3000);
}

/* Bytes that waited in the socket keep the time they arrived. */
Test(arrival_clock, kernel_stamp_is_the_arrival_not_the_read)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(l, 1), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	int c = socket(AF_INET, SOCK_STREAM, 0), on = 1;
	cr_assert_eq(setsockopt(c, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on), 0);
	usleep(50000); /* the kernel turns receive stamps on a moment later */
	cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof a), 0);
	int s = accept(l, NULL, NULL);
	cr_assert_eq(kernel_arrival_us(c), 0, "nothing to read: no stamp");
	int64_t sent = now_us();
	cr_assert_eq(write(s, "data: x\n\n", 9), 9);
	usleep(80000); /* the loop is late by 80 ms */
	int64_t at = kernel_arrival_us(c);
	cr_expect_geq(at, sent - 1000, "arrival %lld, sent %lld", (long long)at, (long long)sent);
	cr_expect_lt(at, sent + 20000, "stamped at arrival, not 80 ms later when read");
	char buf[16];
	cr_expect_eq(read(c, buf, sizeof buf), 9, "the peek consumed nothing");
	close(s);
	close(c);
	close(l);
}

/*
 * One stream from a server on the engine's own base (so the server can stall
 * the engine's loop): serve answers it on base. Returns the result, with
 * everything but the base and the observation freed.
 */
static struct result
stream_from_own_base(struct event_base *base, const struct engine_options *eo,
                     void (*serve)(struct evhttp_request *, void *))
{
	struct result r = {.want = 1, .base = base};
	struct evhttp *http = evhttp_new(base);
	int port = test_evhttp_listen(http);
	cr_assert_gt(port, 0);
	evhttp_set_gencb(http, serve, base);
	struct engine *e = engine_new(base, eo);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions", port);
	struct engine_request req = {
	    .api = API_OPENAI, .url = url, .body = "{}", .stream = 1, .timeout_us = 10000000};
	usleep(50000); /* receive stamps are turned on a moment after the first asks */
	engine_submit(e, &req, done_cb, &r);
	struct timeval bound_tv = {20, 0};
	event_base_loopexit(base, &bound_tv);
	event_base_dispatch(base);
	engine_free(e);
	evhttp_free(http);
	cr_assert_eq(r.n, 1);
	EXPECT_CLASS(r.obs[0], ERR_NONE);
	return r;
}

/*
 * A stalled loop: a server on the engine's own base sends two chunks, then
 * blocks the loop for 60 ms before the rest. The first chunk keeps its
 * arrival time (the kernel's), and the observation says its timing was
 * disturbed: the two waited together and were read at once.
 */
static void
write_now(struct evhttp_request *req)
{
	struct bufferevent *bev =
	    evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
	struct evbuffer *out = bufferevent_get_output(bev);
	/* the bufferevent keeps its output's front frozen: only it writes */
	evbuffer_unfreeze(out, 1);
	while (evbuffer_get_length(out) > 0 && evbuffer_write(out, bufferevent_getfd(bev)) > 0)
		;
	evbuffer_freeze(out, 1);
	cr_assert_eq(evbuffer_get_length(out), 0, "the first chunk is on its way before the stall");
}

static int64_t stall_started_us;

/* The rest of a stream: ten more chunks and its end. */
static void
send_rest_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct evhttp_request *req = arg;
	struct evbuffer *b = evbuffer_new();
	for (int i = 0; i < 10; i++)
		evbuffer_add_printf(b, "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n");
	evbuffer_add_printf(b, "data: [DONE]\n\n");
	evhttp_send_reply_chunk(req, b);
	evhttp_send_reply_end(req);
	evbuffer_free(b);
}

static void
stalling_cb(struct evhttp_request *req, void *arg)
{
	struct event_base *base = arg;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/event-stream");
	evhttp_send_reply_start(req, 200, "OK");
	struct evbuffer *b = evbuffer_new();
	for (int i = 0; i < 2; i++)
		evbuffer_add_printf(b, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n");
	evhttp_send_reply_chunk(req, b);
	evbuffer_free(b);
	write_now(req);
	stall_started_us = now_us();
	while (now_us() < stall_started_us + 60000) /* the loop, and so the engine, */
		usleep(1000);                       /* is stuck here */
	/* the rest comes once the engine has read the first chunk (more bytes
	 * arriving while it waited would be merged with it by the kernel, and
	 * the stamp would be theirs) */
	struct timeval later = {0, 10000};
	event_base_once(base, -1, EV_TIMEOUT, send_rest_cb, req, &later);
}

Test(arrival_clock, stalled_loop_keeps_arrival_and_says_disturbed)
{
	struct engine_options eo = {.precise_base = 1};
	struct result r = stream_from_own_base(engine_base_new(), &eo, stalling_cb);
	struct observation *o = r.obs[0];
	cr_assert_eq(o->n_chunks, 12);
	int64_t first = o->start_mono_us + o->chunk_us[0];
	cr_expect_lt(first, stall_started_us + 5000,
	             "the first chunk is stamped %lld us after the stall began, not when read",
	             (long long)(first - stall_started_us));
	cr_expect(o->timing_disturbed, "two chunks waited 60 ms in the socket");
	event_base_free(r.base);
	release(&r);
}

/*
 * Two chunks sent 30 ms apart while the reader's loop was busy pile up in
 * the socket; the kernel merges them and keeps the newer one's stamp, so the
 * older one's arrival is lost, though the newer one had hardly waited when
 * read. The engine sees its own busy loop and calls the timing disturbed.
 */
static void
send_one(struct evhttp_request *req, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "data: {\"choices\":[{\"delta\":{\"content\":\"%s\"}}]}\n\n", text);
	evhttp_send_reply_chunk(req, b);
	evbuffer_free(b);
	write_now(req);
}

static int64_t newer_sent_us;

/* A stream's headers and a first chunk, then next 20 ms later: the engine
 * reads those before next takes the loop (the first chunk of a stream
 * after a stall is judged apart). */
static void
first_chunk_then(struct evhttp_request *req, struct event_base *base, event_callback_fn next)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/event-stream");
	evhttp_send_reply_start(req, 200, "OK");
	send_one(req, "0");
	struct timeval soon = {0, 20000};
	event_base_once(base, -1, EV_TIMEOUT, next, req, &soon);
}

/* cb on req's loop 10 ms from now (after the loop is free again). */
static void
soon_after(struct evhttp_request *req, event_callback_fn cb)
{
	struct timeval later = {0, 10000};
	event_base_once(evhttp_connection_get_base(evhttp_request_get_connection(req)), -1,
	                EV_TIMEOUT, cb, req, &later);
}

static void
busy_sender_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct evhttp_request *req = arg;
	send_one(req, "a");
	int64_t t0 = now_us();
	while (now_us() < t0 + 30000) /* the loop, and so the engine, is stuck */
		usleep(1000);
	send_one(req, "b");
	newer_sent_us = now_us();
	soon_after(req, send_rest_cb);
}

static void
merging_cb(struct evhttp_request *req, void *arg)
{
	first_chunk_then(req, arg, busy_sender_cb);
}

Test(arrival_clock, merged_chunks_after_a_busy_loop_say_disturbed)
{
	struct result r = stream_from_own_base(event_base_new(), NULL, merging_cb);
	struct observation *o = r.obs[0];
	cr_assert_eq(o->n_chunks, 13);
	/* both took the newer one's stamp: read at once, merged by the kernel */
	cr_expect_eq(o->chunk_us[1], o->chunk_us[2], "the two waiting chunks were read together");
	cr_expect_geq(o->start_mono_us + o->chunk_us[1], newer_sent_us - 1000,
	              "the merged stamp is the newer chunk's");
	cr_expect(o->timing_disturbed, "a chunk waited 30 ms behind a busy loop");
	event_base_free(r.base);
	release(&r);
}

/*
 * The last text of a stream, then a busy loop, then the stream's end: the
 * text and the end pile up in the socket and are read at once under one
 * stamp (the kernel merges them and keeps the end's), so the text's stamp
 * may be 30 ms late though it is the only content chunk of its read. The
 * engine calls that timing disturbed too.
 */
static int64_t last_text_sent_us;

static void
end_only_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct evhttp_request *req = arg;
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "data: [DONE]\n\n");
	evhttp_send_reply_chunk(req, b);
	evhttp_send_reply_end(req);
	evbuffer_free(b);
}

static void
busy_last_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct evhttp_request *req = arg;
	send_one(req, "z");
	last_text_sent_us = now_us();
	while (now_us() < last_text_sent_us + 30000) /* the loop, and so the engine, is stuck */
		usleep(1000);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b,
	                    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
	evhttp_send_reply_chunk(req, b);
	evbuffer_free(b);
	write_now(req);
	soon_after(req, end_only_cb);
}

static void
last_text_cb(struct evhttp_request *req, void *arg)
{
	first_chunk_then(req, arg, busy_last_cb);
}

Test(arrival_clock, last_text_read_with_the_end_after_a_busy_loop_says_disturbed)
{
	struct result r = stream_from_own_base(event_base_new(), NULL, last_text_cb);
	struct observation *o = r.obs[0];
	cr_assert_eq(o->n_chunks, 2);
	cr_expect(o->timing_disturbed,
	          "the last text waited 30 ms behind a busy loop, read with the finish event "
	          "(stamped %lld us after it was sent)",
	          (long long)(o->start_mono_us + o->chunk_us[1] - last_text_sent_us));
	cr_expect_geq(o->timing_slack_us, 25000, "its stamp may be off by the 30 ms it waited");
	event_base_free(r.base);
	release(&r);
}

/* The fixture's send log (bench only) names every text event of a stream,
 * in order, with the time its bytes left, which the engine's arrival
 * stamps do not follow by more than a moment. */
Test(send_log, fixture_logs_each_text_event_once, .timeout = 60)
{
	char path[] = "/tmp/assay-send-log-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	char *const args[] = {(char *)"--send-log", path, NULL};
	struct fixture f;
	const char *const honest[] = {"honest", NULL};
	cr_assert_eq(fixture_start(&f, "tests/data/engine/world.yaml", honest, args), 0);
	struct event_base *base = event_base_new();
	struct engine *e = engine_new(base, NULL);
	struct probe_message m[] = {{"user", "Count from one to twenty."}};
	struct probe_call call = test_call("gpt-4o", m, 1, 40);
	call.stream = 1;
	char *url = adapter_url(API_OPENAI, fixture_url(&f, "honest"));
	char *body = adapter_body(API_OPENAI, &call, NULL);
	struct engine_request req = {
	    .api = API_OPENAI, .url = url, .body = body, .stream = 1, .timeout_us = 20000000};
	struct observation *o = test_engine_one(base, e, &req, 30);
	cr_assert_not_null(o, "the request never ended");
	EXPECT_CLASS(o, ERR_NONE);
	cr_assert_not_null(o->request_id);
	cr_assert_gt(o->n_chunks, 1);
	fixture_stop(&f); /* flushes the log */
	FILE *log = fopen(path, "r");
	cr_assert_not_null(log);
	char id[128];
	long long idx, us, prev = 0;
	size_t n = 0;
	while (fscanf(log, "%127s %lld %lld", id, &idx, &us) == 3) {
		if (strcmp(id, o->request_id) != 0)
			continue;
		cr_expect_eq(idx, (long long)n, "indices count the text events");
		cr_expect_geq(us, prev, "send times in order");
		cr_expect_geq(us, o->start_mono_us, "sent after the request started");
		/* the kernel stamps arrival during the send's write(); the log
		 * stamps just after it returns, so no arrival is later (1 ms for
		 * a chunk curl read outside its socket's event, stamped when read;
		 * test_fixture_send checks that the log names the write itself) */
		cr_expect_gt(us, 0, "event %zu was written at once", n);
		/* the engine's contract: stamps are exact unless it says its own
		 * loop was late (a loaded machine merges the waiting segments) */
		if (n < o->n_chunks && !o->timing_disturbed)
			cr_expect_leq(o->start_mono_us + o->chunk_us[n], us + 1000,
			              "chunk %zu arrived %lld us after it was logged as sent", n,
			              (long long)(o->start_mono_us + o->chunk_us[n] - us));
		prev = us;
		n++;
	}
	fclose(log);
	unlink(path);
	cr_expect_eq(n, o->n_chunks, "one line per text chunk the engine saw");
	engine_free(e);
	event_base_free(base);
	free(url);
	free(body);
	observation_release(o);
	free(o);
}
