/*
 * The availability detector on hand-made runs: each failure class in its
 * own words, every number counted from the requests it is said of, the
 * never-sent never called refused, and the speed medians kept.
 * (tests/test_errors.c checks the same sentences on real audits.)
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/audit.h"
#include "scoring/detectors/availability.h"
#include "tests/helpers.h"

/* A finished run of n requests, all ok until set otherwise. */
static struct audit_run *
run_new(size_t n)
{
	struct audit_run *run =
	    test_run_alloc(&(struct audit_target){.relay = (char *)"r",
	                                          .base_url = (char *)"http://127.0.0.1:1/v1",
	                                          .model = (char *)"gpt-4o"},
	                   n);
	run->parallel = 3;
	for (size_t i = 0; i < n; i++) {
		struct observation *o = test_run_add(run, NULL)->obs;
		o->total_us = 500000;
		o->last_byte_us = 400000;
	}
	return run;
}

/* Make request i fail: class, status, total_us, last_byte_us, detail. */
static void
fail(struct audit_run *run, size_t i, enum error_class e, int status, int64_t total_us,
     int64_t last_byte_us, const char *detail)
{
	struct observation *o = run->items[i].obs;
	o->error = e;
	o->http_status = status;
	o->total_us = total_us;
	o->last_byte_us = last_byte_us;
	observation_set(&o->error_detail, detail, detail ? strlen(detail) : 0, OBS_DETAIL_CAP);
}

#define find test_finding /* tests/helpers.h */

static void
assess(const struct audit_run *run, struct assessment *a)
{
	assessment_init(a);
	detect_availability(run, a);
}

/* a's finding of class says want. */
static void
expect_summary(const struct assessment *a, const char *class, const char *want)
{
	const char *got = test_must_find(a, class)->summary;
	cr_expect_str_eq(got, want, "%s: '%s', want '%s'", class, got, want);
}

Test(availability, each_class_in_its_own_words)
{
	struct audit_run *run = run_new(12);
	fail(run, 0, ERR_TIMEOUT, 0, 60000000, -1, "no response within 60 s");
	fail(run, 1, ERR_TIMEOUT, 200, 60000000, 59900000, "the response did not finish");
	fail(run, 2, ERR_IDLE, 200, 30500000, 500000, "stalled");
	fail(run, 3, ERR_AUTH, 401, 1000, 900, "HTTP 401: bad key");
	fail(run, 4, ERR_AUTH, 403, 1000, 900, "HTTP 403: forbidden");
	fail(run, 5, ERR_AUTH, 401, 1000, 900, "HTTP 401: bad key");
	fail(run, 6, ERR_UPSTREAM, 200, 1000, 900, "HTTP 200: upstream timed out");
	fail(run, 7, ERR_NOT_SENT, 0, 0, -1, "the audit's 60 s had run out");
	struct assessment a;
	assess(run, &a);
	cr_expect_eq(a.requests, 12);
	cr_expect_eq(a.ok_requests, 4);
	const struct finding *f = test_must_find(&a, "unavailable");
	cr_expect_str_eq(
	    f->summary, "1 of 12 requests got no response within 60 s; 1 had started to answer "
	                "but did not finish within 60 s; 1 started to answer and then stalled "
	                "(no byte for the last 30 s); 3 got HTTP 401 (2) and 403 (1): the relay "
	                "rejected the API key; 1 got an error inside an HTTP 200 answer; 1 was not "
	                "sent: the audit's 60 s had run out.");
	cr_expect_str_eq(f->observed,
	                 "8 failed: timeout 2, idle 1, auth 3, upstream 1, not_sent 1");
	cr_expect_str_eq(f->expected, "12 of 12 requests succeed");
	cr_expect_float_eq(f->confidence, 8.0 / 12, 1e-9);
	cr_expect_null(find(&a, "rate_limited"), "nobody answered 429");
	assessment_release(&a);
	audit_run_free(run);
}

Test(availability, not_sent_grouped_by_what_held_them_and_the_other)
{
	struct audit_run *run = run_new(9);
	for (size_t i = 0; i < 3; i++)
		fail(run, i, ERR_UPSTREAM, i == 2 ? 503 : 502, 2000, 1000, "HTTP 502");
	for (size_t i = 3; i < 7; i++)
		fail(run, i, ERR_NOT_SENT, 0, 0, -1,
		     "the relay had failed 5 requests in a row (upstream) and was given time to "
		     "recover");
	for (size_t i = 7; i < 9; i++)
		fail(run, i, ERR_NOT_SENT, 0, 0, -1, "the audit's 20 s had run out");
	struct assessment a;
	assess(run, &a);
	expect_summary(&a, "unavailable",
	               "3 of 9 requests got a server error (HTTP 502 (2) and 503 (1)); the other "
	               "6 were not sent: 4 because the relay had failed 5 requests in a row "
	               "(upstream) and was given time to recover, 2 because the audit's 20 s had "
	               "run out.");
	cr_expect_eq(a.ok_requests, 0);
	assessment_release(&a);
	audit_run_free(run);
}

/* Fails on the old detector: it said "refused 7 of 9 requests with 429". */
Test(availability, only_real_429s_are_refusals)
{
	struct audit_run *run = run_new(9);
	fail(run, 0, ERR_RATE_LIMITED, 429, 2000, 1000, "HTTP 429: slow down");
	run->items[0].obs->retry_after_s = 20;
	fail(run, 1, ERR_RATE_LIMITED, 429, 2000, 1000, "HTTP 429: slow down");
	run->items[1].obs->retry_after_s = 57;
	fail(run, 2, ERR_QUOTA, 429, 2000, 1000, "HTTP 429: You exceeded your current quota");
	for (size_t i = 3; i < 8; i++)
		fail(run, i, ERR_NOT_SENT, 0, 0, -1,
		     "the relay's Retry-After asked for a pause past the request's deadline");
	struct assessment a;
	assess(run, &a);
	expect_summary(&a, "rate_limited",
	               "The relay refused 2 of 9 requests with 429 (rate limited) under an "
	               "audit's light load (at most 3 at once), asking to wait up to 57 s "
	               "(Retry-After).");
	const struct finding *un = test_must_find(&a, "unavailable");
	/* not "the other 5": the 429s and the one success are not in this sentence */
	cr_expect_str_eq(un->summary,
	                 "1 of 9 requests got HTTP 429 saying the account's credit or quota is "
	                 "used up; 5 were not sent: the relay's Retry-After asked for a pause past "
	                 "the request's deadline.");
	cr_expect_float_eq(un->confidence, 6.0 / 9, 1e-9);
	assessment_release(&a);
	audit_run_free(run);
}

Test(availability, durations_that_differ_are_a_range)
{
	struct audit_run *run = run_new(3);
	fail(run, 0, ERR_TIMEOUT, 0, 2004000, -1, "no response within 2 s");
	fail(run, 1, ERR_TIMEOUT, 0, 30000000, -1, "no response within 30 s");
	fail(run, 2, ERR_NOT_SENT, 0, 0, -1, NULL);
	struct assessment a;
	assess(run, &a);
	expect_summary(&a, "unavailable",
	               "2 of 3 requests got no response within their 2 s to 30 s; the other 1 "
	               "was not sent: no reason was recorded.");
	assessment_release(&a);
	audit_run_free(run);
}

/* A loop that noticed the deadline late does not lengthen it: the relay had
 * the deadline it was given. */
Test(availability, waits_are_the_deadlines_given)
{
	struct audit_run *run = run_new(2);
	fail(run, 0, ERR_TIMEOUT, 0, 2300000, -1, "no response within 2 s");
	run->items[0].obs->timeout_us = 2000000;
	fail(run, 1, ERR_IDLE, 200, 2300000, 5000, "stalled");
	run->items[1].obs->timeout_us = 2000000;
	struct assessment a;
	assess(run, &a);
	expect_summary(&a, "unavailable",
	               "1 of 2 requests got no response within 2 s; the other 1 started to answer "
	               "and then stalled (no byte for the last 2 s).");
	assessment_release(&a);
	audit_run_free(run);
}

Test(availability, models_urls_and_sizes)
{
	struct audit_run *run = run_new(6);
	fail(run, 0, ERR_NO_MODEL, 404, 1000, 900, "HTTP 404: The model `gpt-4o` does not exist");
	fail(run, 1, ERR_NOT_FOUND, 404, 1000, 900, "HTTP 404: a web page, not an API error");
	fail(run, 2, ERR_TOO_LARGE, 200, 1000, 900, "response headers over Assay's 65536-byte cap");
	fail(run, 3, ERR_TOO_LARGE, 200, 1000, 900, "response body over its cap");
	fail(run, 4, ERR_NETWORK, 0, 1000, -1,
	     "the relay closed the connection without a response");
	fail(run, 5, ERR_HTTP, 400, 1000, 900, "HTTP 400: bad request");
	struct assessment a;
	assess(run, &a);
	expect_summary(&a, "unavailable",
	               "1 of 6 requests got HTTP 404: the relay does not offer gpt-4o; 1 got HTTP "
	               "404: there is no API at the relay's URL; 1 got HTTP 400: the relay "
	               "rejected the request; 2 got more than Assay accepts (1: response headers "
	               "over Assay's 65536-byte cap; 1: response body over its cap); the other 1 "
	               "lost the connection (the relay closed the connection without a "
	               "response).");
	assessment_release(&a);
	audit_run_free(run);
}

Test(availability, medians_and_counters_are_kept)
{
	struct audit_run *run = run_new(4);
	for (size_t i = 0; i < 3; i++) {
		struct observation *o = run->items[i].obs;
		o->streamed = 1;
		o->ttft_us = (int64_t)(i + 1) * 100000; /* 100, 200, 300 ms */
		o->completion_tokens = 11;
		o->chunk_us = xcalloc(2, sizeof *o->chunk_us);
		o->n_chunks = 2;
		o->chunk_us[0] = 0;
		o->chunk_us[1] = (int64_t)(i + 1) * 1000000; /* 10, 5, 3.3 tokens/s */
	}
	fail(run, 3, ERR_CONNECT, 0, 1000, -1, "Failed to connect");
	struct assessment a;
	assess(run, &a);
	cr_expect_eq(a.requests, 4);
	cr_expect_eq(a.ok_requests, 3);
	cr_expect_float_eq(a.ttft_ms, 200, 1e-9);
	cr_expect_float_eq(a.tokens_per_s, 5, 1e-9);
	expect_summary(&a, "unavailable", "1 of 4 requests could not connect to the relay.");
	assessment_release(&a);
	audit_run_free(run);
}

Test(availability, all_ok_says_nothing)
{
	struct audit_run *run = run_new(5);
	struct assessment a;
	assess(run, &a);
	cr_expect_eq(a.n_findings, 0);
	cr_expect_eq(a.ok_requests, 5);
	assessment_release(&a);
	audit_run_free(run);
}

Test(observation, class_names_both_ways_and_old_names_stay)
{
	for (int e = 0; e < ERR__COUNT; e++)
		cr_expect_eq(error_class_from_name(error_class_name(e)), e, "%s",
		             error_class_name(e));
	/* names already in databases keep their classes */
	static const char *const stored[] = {"none",         "dns",     "connect",  "tls",
	                                     "timeout",      "idle",    "auth",     "quota",
	                                     "rate_limited", "http",    "upstream", "malformed",
	                                     "too_large",    "aborted", "network"};
	for (int e = 0; e < (int)(sizeof stored / sizeof stored[0]); e++)
		cr_expect_eq(error_class_from_name(stored[e]), e, "%s", stored[e]);
	cr_expect_eq(error_class_from_name("not_sent"), ERR_NOT_SENT);
	cr_expect_eq(error_class_from_name("not_found"), ERR_NOT_FOUND);
	cr_expect_eq(error_class_from_name("model_not_found"), ERR_NO_MODEL);
	cr_expect_eq(error_class_from_name("bogus"), -1);
	cr_expect_eq(error_class_from_name(NULL), -1);
	cr_expect_str_eq(error_class_name(ERR__COUNT), "unknown");
}

Test(observation, durations_as_sentences_say_them)
{
	char s[32];
	static const struct {
		int64_t us;
		const char *text;
	} cases[] = {{-1, "?"},          {400, "under 1 ms"}, {45400, "45 ms"}, {187000, "190 ms"},
	             {250000, "250 ms"}, {994000, "990 ms"},  {999400, "1 s"},  {999600, "1 s"},
	             {1004000, "1 s"},   {1500000, "1.5 s"},  {2985000, "3 s"}, {9940000, "9.9 s"},
	             {9960000, "10 s"},  {60004000, "60 s"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		observation_duration_text(cases[i].us, s, sizeof s);
		cr_expect_str_eq(s, cases[i].text, "%lld us", (long long)cases[i].us);
	}
}
