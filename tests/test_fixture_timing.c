/*
 * Timing of the fixture's replies at --time-scale 1
 * (tests/data/fixture/timing.yaml, whose model has fixed latency, so every
 * chunk's arrival is predictable): the schedule itself, relay latency, fake
 * streaming, slowness and a rate limit. Its own binary, so no heavy test
 * runs beside it and measurements stay clean.
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
#include "tests/helpers.h"

#include "tests/fixture_calls.h"

/* ---- timing at --time-scale 1 ---- */

static const char *const timed[] = {"official", "honest", "fake-stream", "slow", "limited", NULL};

/* Sanitizer builds run slower: measurement noise grows, not the schedule. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLACK 10
#else
#define SLACK 1
#endif

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

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * The schedule is exact to microseconds; what a client measures also holds
 * its own scheduling noise, which a busy machine inflates now and then. So:
 * the median error must be well under a millisecond, the worst merely sane.
 */
Test(timing, chunks_arrive_on_schedule_at_scale_1)
{
	struct response r;
	stream10(&r, "official");
	double ttft = 200000.0;
	/* role chunk and first token together at ttft, then one every 20 ms */
	double errs[10], gaps[9];
	for (size_t i = 1; i < 11; i++) {
		double want = ttft + 20000.0 * (double)(i - 1);
		errs[i - 1] = (double)r.times[i] - want;
		cr_expect(errs[i - 1] > -1000, "token %zu at %lld us, before %.0f us", i,
		          (long long)r.times[i], want);
		cr_expect(errs[i - 1] < 20000 * SLACK, "token %zu at %lld us, want %.0f us", i,
		          (long long)r.times[i], want);
		if (i > 1)
			gaps[i - 2] = fabs((double)(r.times[i] - r.times[i - 1]) - 20000.0);
	}
	qsort(errs, 10, sizeof *errs, by_value);
	qsort(gaps, 9, sizeof *gaps, by_value);
	/* lateness also holds the client's connect, send and wake-up time, which
	 * a loaded machine stretches; a wrong schedule is off by far more */
	cr_expect_lt(errs[5], 20000 * SLACK, "median lateness %.0f us", errs[5]);
	cr_expect_lt(gaps[4], 1000 * SLACK, "median gap error %.0f us", gaps[4]);
	response_release(&r);
}

Test(timing, relay_latency_fake_streaming_and_slowness)
{
	struct response a, b, c;
	stream10(&a, "honest");
	double ttft = 200000.0;
	cr_expect((double)a.times[1] > ttft + 100000 - 1000 &&
	              (double)a.times[1] < ttft + 100000 + 20000 * SLACK,
	          "first token at %lld us", (long long)a.times[1]);
	stream10(&b, "fake-stream");
	/* everything at once, when the whole answer is done */
	cr_expect_lt(b.times[13] - b.times[0], 5000 * SLACK, "spread %lld us",
	             (long long)(b.times[13] - b.times[0]));
	cr_expect_gt((double)b.times[0], ttft + 9 * 20000.0 - 1000);
	stream10(&c, "slow");
	cr_expect_gt((double)c.times[1], 2 * ttft - 1000, "first token at %lld us",
	             (long long)c.times[1]);
	cr_expect_gt(c.times[10] - c.times[1], 9 * 40000 - 2000, "tokens 1..10 took %lld us",
	             (long long)(c.times[10] - c.times[1]));
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
