/*
 * Timing of the fixture's replies (tests/data/fixture/timing.yaml, whose
 * model has fixed latency, so every chunk's time is predictable): the
 * schedule itself, relay latency, fake streaming, slowness and a rate limit.
 *
 * The schedule is checked exactly where it is made: the reply the provider
 * and the relays plan, in-process (this test links the fixture's objects).
 * Over the network, at --time-scale 1, a loaded machine can only make
 * chunks late, never early: those checks hold the lower bounds exactly and
 * the upper ones loosely, so they cannot fail for a busy neighbour.
 *
 * Every wait is bounded; nothing sleeps for a fixed time.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "fixtures/chat.h"
#include "fixtures/models.h"
#include "fixtures/provider.h"
#include "fixtures/relay.h"
#include "fixtures/world.h"
#include "tests/helpers.h"

#include "tests/fixture_calls.h"

/* ---- timing at --time-scale 1 ---- */

static const char *const timed[] = {"official", "honest", "fake-stream", "slow", "limited", NULL};

/* How late a loaded machine may deliver a chunk over loopback: a wrong
 * schedule is caught by the exact plan below and the lower bounds here. */
#define LATE_US 2000000

static void
stop(void)
{
	cr_expect_eq(fixture_stop(&world), 0, "the fixture did not exit 0 on SIGTERM");
}

static void
start_timed(void)
{
	cr_assert_eq(fixture_start(&world, "tests/data/fixture/timing.yaml", timed, NULL), 0,
	             "the timing world did not start");
}

TestSuite(timing, .init = start_timed, .fini = stop, .timeout = 60);

/* A stream of 10 tokens; times[] holds each data line's arrival. */
static void
stream10(struct response *r, const char *endpoint)
{
	chat(r, endpoint, "steady", "Say something.",
	     "{\"stream\": true, \"max_tokens\": 10, \"stream_options\": {\"include_usage\": "
	     "true}}");
	cr_assert_eq(r->status, 200, "%s", r->body);
	/* role+first token, 9 more tokens, finish, usage, [DONE] */
	cr_assert_eq(r->ntimes, 14, "%zu data lines", r->ntimes);
}

/* ---- the plan, exactly ---- */

struct planned {
	struct world *world;
	struct model_catalog *cat;
	struct provider *prov;
};

static void
plan_open(struct planned *pl)
{
	char err[512];
	pl->world = world_load("tests/data/fixture/timing.yaml", err, sizeof err);
	cr_assert_not_null(pl->world, "%s", err);
	pl->cat = model_catalog_load("tests/data/fixture/timing-models.yaml", err, sizeof err);
	cr_assert_not_null(pl->cat, "%s", err);
	pl->prov = provider_new(pl->cat, 1);
}

static void
plan_close(struct planned *pl)
{
	provider_free(pl->prov);
	model_catalog_free(pl->cat);
	world_free(pl->world);
}

/* The reply endpoint (NULL: the provider) plans for a 10-token stream;
 * the times of its data events, in order. */
static size_t
plan10(struct planned *pl, const char *endpoint, int64_t at[32])
{
	const char *body = "{\"model\": \"steady\", \"stream\": true, \"max_tokens\": 10,"
	                   " \"stream_options\": {\"include_usage\": true}, \"messages\":"
	                   " [{\"role\": \"user\", \"content\": \"Say something.\"}]}";
	struct chat_request req;
	struct api_error e;
	cr_assert_eq(chat_parse_openai(body, strlen(body), &req, &e), 0, "%s", e.message);
	struct reply r;
	reply_init(&r);
	struct relay *relay = NULL;
	if (endpoint == NULL) {
		official_chat(pl->prov, &req, 0, &r);
	} else {
		const struct endpoint_conf *conf = NULL;
		for (size_t i = 0; i < pl->world->nendpoints; i++)
			if (strcmp(pl->world->endpoints[i].name, endpoint) == 0)
				conf = &pl->world->endpoints[i];
		cr_assert_not_null(conf, "no endpoint %s", endpoint);
		relay = relay_new(conf);
		relay_chat(relay, pl->prov, &req, 0, &r);
	}
	cr_assert_eq(r.status == 0 ? 200 : r.status, 200);
	size_t n = 0;
	for (size_t i = 0; i < r.nevents && n < 32; i++)
		at[n++] = r.events[i].at_us;
	reply_release(&r);
	relay_free(relay);
	chat_request_release(&req);
	return n;
}

Test(schedule, the_provider_plans_every_chunk_to_the_microsecond)
{
	struct planned pl;
	plan_open(&pl);
	int64_t at[32];
	/* role chunk, 10 tokens, finish, usage, [DONE] */
	cr_assert_eq(plan10(&pl, NULL, at), 14);
	/* first token at 200 ms, one every 20 ms */
	for (size_t i = 1; i <= 10; i++)
		cr_expect_eq(at[i], 200000 + 20000 * (int64_t)(i - 1), "token %zu at %lld us", i,
		             (long long)at[i]);
	cr_expect_leq(at[0], at[1], "the role chunk goes first");
	plan_close(&pl);
}

Test(schedule, relays_reshape_the_plan)
{
	struct planned pl;
	plan_open(&pl);
	int64_t at[32];
	/* an honest relay adds its 100 ms to everything */
	cr_assert_eq(plan10(&pl, "honest", at), 14);
	for (size_t i = 1; i <= 10; i++)
		cr_expect_eq(at[i], 300000 + 20000 * (int64_t)(i - 1), "token %zu", i);
	/* a fake streamer sends it all at once, when the answer is done */
	cr_assert_eq(plan10(&pl, "fake-stream", at), 14);
	for (size_t i = 1; i < 14; i++)
		cr_expect_eq(at[i], at[0], "event %zu at %lld, the first at %lld", i,
		             (long long)at[i], (long long)at[0]);
	cr_expect_geq(at[0], 200000 + 9 * 20000);
	/* slow: twice the first-token time and twice the gaps */
	cr_assert_eq(plan10(&pl, "slow", at), 14);
	for (size_t i = 1; i <= 10; i++)
		cr_expect_eq(at[i], 400000 + 40000 * (int64_t)(i - 1), "token %zu", i);
	plan_close(&pl);
}

/* ---- over the network: never early, not absurdly late ---- */

Test(timing, chunks_arrive_on_schedule_at_scale_1)
{
	struct response r;
	stream10(&r, "official");
	double ttft = 200000.0;
	for (size_t i = 1; i < 11; i++) {
		double want = ttft + 20000.0 * (double)(i - 1);
		cr_expect(r.times[i] > want - 1000, "token %zu at %lld us, before %.0f us", i,
		          (long long)r.times[i], want);
		cr_expect(r.times[i] < want + LATE_US, "token %zu at %lld us, want %.0f us", i,
		          (long long)r.times[i], want);
	}
	response_release(&r);
}

Test(timing, relay_latency_fake_streaming_and_slowness)
{
	struct response a, b, c;
	stream10(&a, "honest");
	double ttft = 200000.0;
	cr_expect((double)a.times[1] > ttft + 100000 - 1000 &&
	              (double)a.times[1] < ttft + 100000 + LATE_US,
	          "first token at %lld us", (long long)a.times[1]);
	stream10(&b, "fake-stream");
	/* everything at once, when the whole answer is done (the plan says all
	 * at once: here, nothing before the answer's end) */
	cr_expect_gt((double)b.times[0], ttft + 9 * 20000.0 - 1000);
	stream10(&c, "slow");
	for (size_t i = 1; i <= 10; i++)
		cr_expect_gt((double)c.times[i], 2 * ttft + 40000.0 * (double)(i - 1) - 1000,
		             "slow token %zu at %lld us", i, (long long)c.times[i]);
	response_release(&a);
	response_release(&b);
	response_release(&c);
}

Test(timing, rate_limit_answers_429_with_retry_after)
{
	struct response r;
	for (int i = 0; i < 3; i++) {
		chat(&r, "limited", "steady", "hi", "{\"max_tokens\": 1}");
		cr_expect_eq(r.status, 200, "request %d: %s", i, r.body);
		response_release(&r);
	}
	chat(&r, "limited", "steady", "hi", "{\"max_tokens\": 1}");
	cr_expect_eq(r.status, 429, "%s", r.body);
	cr_expect_str_eq(str(json_object_get(r.json, "error"), "code"), "rate_limit_exceeded");
	cr_expect(strstr(r.headers.data, "retry-after: ") != NULL ||
	              strstr(r.headers.data, "Retry-After: ") != NULL,
	          "%s", r.headers.data);
	response_release(&r);
}
