/*
 * The probe engine's queue: a request waiting for a slot holds only what it
 * sends (probes/engine.c makes its observation when it starts or ends), and
 * still ends in exactly one callback with a whole observation, whether it
 * expires while queued or the engine is freed with it still queued.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/adapter.h"
#include "probes/engine.h"
#include "tests/helpers.h"

static const char *const need[] = {"silent", "honest", NULL};
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

TestSuite(engine_queue, .init = setup, .fini = teardown, .timeout = 60);

/* One request's callbacks. */
struct slot {
	int calls;
	struct observation *obs;
	struct event_base *base;
	int stop; /* break the loop when this one ends */
};

static void
done_cb(struct observation *obs, void *arg)
{
	struct slot *s = arg;
	s->calls++;
	if (s->obs != NULL) { /* a second callback: keep the first, count it */
		observation_release(obs);
		free(obs);
		return;
	}
	s->obs = obs;
	if (s->stop)
		event_base_loopbreak(s->base);
}

static void
slot_release(struct slot *s)
{
	if (s->obs != NULL) {
		observation_release(s->obs);
		free(s->obs);
	}
}

/* A streamed chat request to the fixture's relay name, with a key and a
 * secret extra header (copied by the engine at submit). */
struct sent {
	char *url, *body;
	struct http_header header;
	struct engine_request req;
};

static void
sent_init(struct sent *s, const char *relay, int64_t timeout_us)
{
	struct probe_message m[] = {{"user", "[ref 0badc0de] Reply with the single word: pong"}};
	struct probe_call call = test_call("gpt-4o", m, 1, 5);
	call.stream = 1;
	s->url = adapter_url(API_OPENAI, fixture_url(&world, relay));
	s->body = adapter_body(API_OPENAI, &call, NULL);
	s->header.name = xstrdup("X-Relay-Token");
	s->header.value = xstrdup("tok-queued-0123456789abcdef");
	s->req = (struct engine_request){.pool = relay,
	                                 .api = API_OPENAI,
	                                 .url = s->url,
	                                 .api_key = "sk-queued-0123456789abcdef",
	                                 .headers = &s->header,
	                                 .n_headers = 1,
	                                 .body = s->body,
	                                 .stream = 1,
	                                 .timeout_us = timeout_us};
}

/* The caller's copies go at once: the engine must hold its own. */
static void
sent_release(struct sent *s)
{
	memset(s->body, 'x', strlen(s->body));
	free(s->url);
	free(s->body);
	free(s->header.name);
	memset(s->header.value, 'x', strlen(s->header.value));
	free(s->header.value);
}

/* What every observation of a request that was never sent says. */
static void
expect_unsent(const struct observation *o, enum error_class cls)
{
	cr_expect_eq(o->error, cls, "want %s, got %s (%s)", error_class_name(cls),
	             error_class_name(o->error), o->error_detail ? o->error_detail : "");
	cr_expect_eq(o->http_status, 0);
	cr_expect_eq(o->timeout_us, -1, "never sent: no deadline given to curl");
	cr_expect_eq(o->streamed, 1, "the parse state was made for a stream");
	cr_expect_eq(o->n_chunks, 0);
	cr_expect(o->total_us >= 0 && o->total_us < 60000000, "total_us %lld",
	          (long long)o->total_us);
	cr_expect_eq(o->secrets_echoed, 0);
}

Test(engine_queue, a_request_expiring_while_queued_ends_once_unsent)
{
	struct event_base *base = event_base_new();
	struct engine_options eo = {.max_in_flight = 1};
	struct engine *e = engine_new(base, &eo);
	struct slot first = {.base = base}, queued = {.base = base, .stop = 1};
	struct sent a, b;
	sent_init(&a, "silent", 30000000); /* holds the only slot */
	sent_init(&b, "silent", 300000);   /* waits for it past its deadline */
	engine_submit(e, &a.req, done_cb, &first);
	engine_submit(e, &b.req, done_cb, &queued);
	sent_release(&a);
	sent_release(&b);
	cr_expect_eq(queued.calls, 0, "no callback from inside engine_submit");
	struct timeval bound = {10, 0};
	event_base_loopexit(base, &bound);
	event_base_dispatch(base);
	cr_assert_eq(queued.calls, 1, "the queued request ended %d times", queued.calls);
	expect_unsent(queued.obs, ERR_NOT_SENT);
	cr_expect(queued.obs->error_detail != NULL &&
	              strstr(queued.obs->error_detail, "free slot") != NULL,
	          "detail: %s", queued.obs->error_detail ? queued.obs->error_detail : "(none)");
	cr_expect_gt(queued.obs->started_ms, 0, "an unsent request still says when it ended");
	cr_expect_eq(first.calls, 0, "the request in flight is still waiting");
	engine_free(e);
	cr_expect_eq(first.calls, 1);
	cr_expect_eq(first.obs->error, ERR_ABORTED);
	cr_expect_gt(first.obs->timeout_us, 0, "it had been sent");
	cr_expect_eq(queued.calls, 1, "freeing the engine ends nothing twice");
	event_base_free(base);
	slot_release(&first);
	slot_release(&queued);
}

Test(engine_queue, engine_free_ends_every_queued_request_aborted_once)
{
	enum { N = 6 };
	struct event_base *base = event_base_new();
	struct engine_options eo = {.max_in_flight = 1};
	struct engine *e = engine_new(base, &eo);
	struct slot s[N];
	for (int i = 0; i < N; i++) {
		s[i] = (struct slot){.base = base};
		struct sent r;
		sent_init(&r, "silent", 30000000);
		engine_submit(e, &r.req, done_cb, &s[i]);
		sent_release(&r);
	}
	struct timeval t = {0, 300000};
	event_base_loopexit(base, &t);
	event_base_dispatch(base);
	for (int i = 0; i < N; i++)
		cr_expect_eq(s[i].calls, 0, "request %d ended before engine_free", i);
	engine_free(e);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(s[i].calls, 1, "request %d: %d callbacks", i, s[i].calls);
		cr_expect_eq(s[i].obs->error, ERR_ABORTED);
		cr_expect(s[i].obs->total_us >= 0 && s[i].obs->total_us < 60000000,
		          "request %d: total_us %lld", i, (long long)s[i].obs->total_us);
	}
	cr_expect_gt(s[0].obs->timeout_us, 0, "the first was in flight");
	for (int i = 1; i < N; i++)
		expect_unsent(s[i].obs, ERR_ABORTED);
	event_base_free(base);
	for (int i = 0; i < N; i++)
		slot_release(&s[i]);
}

Test(engine_queue, a_queued_request_sends_its_own_copies_when_it_starts)
{
	/* the caller's URL, body, key and header are overwritten and freed
	 * at once; the request that waited in the queue still gets its answer */
	struct event_base *base = event_base_new();
	struct engine_options eo = {.max_in_flight = 1};
	struct engine *e = engine_new(base, &eo);
	enum { N = 3 };
	struct slot s[N];
	for (int i = 0; i < N; i++) {
		s[i] = (struct slot){.base = base, .stop = i == N - 1};
		struct sent r;
		sent_init(&r, "honest", 10000000);
		engine_submit(e, &r.req, done_cb, &s[i]);
		sent_release(&r);
	}
	struct timeval bound = {20, 0};
	event_base_loopexit(base, &bound);
	event_base_dispatch(base);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(s[i].calls, 1, "request %d: %d callbacks", i, s[i].calls);
		cr_expect_eq(s[i].obs->error, ERR_NONE, "request %d: %s (%s)", i,
		             error_class_name(s[i].obs->error),
		             s[i].obs->error_detail ? s[i].obs->error_detail : "");
		cr_expect_eq(s[i].obs->http_status, 200);
		cr_expect_gt(s[i].obs->n_chunks, 0);
	}
	engine_free(e);
	event_base_free(base);
	for (int i = 0; i < N; i++)
		slot_release(&s[i]);
}

Test(engine_queue, engine_free_calls_back_what_ended_unsent_before_the_loop_ran)
{
	/* a request expires while queued: its callback waits for the loop's
	 * next turn; freeing the engine first must still run it, once */
	struct event_base *base = event_base_new();
	struct engine_options eo = {.max_in_flight = 1};
	struct engine *e = engine_new(base, &eo);
	struct slot first = {.base = base}, expired = {.base = base}, last = {.base = base};
	struct sent a, b, c;
	sent_init(&a, "silent", 30000000);
	sent_init(&b, "silent", 1); /* its deadline is a microsecond away */
	sent_init(&c, "silent", 30000000);
	engine_submit(e, &a.req, done_cb, &first);
	engine_submit(e, &b.req, done_cb, &expired);
	int64_t until = now_us() + 2000;
	while (now_us() < until)
		;                                 /* past b's deadline, without running the loop */
	engine_submit(e, &c.req, done_cb, &last); /* pacing ends b unsent */
	sent_release(&a);
	sent_release(&b);
	sent_release(&c);
	cr_expect_eq(expired.calls, 0, "no callback from inside engine_submit");
	engine_free(e);
	cr_assert_eq(expired.calls, 1, "the expired request ended %d times", expired.calls);
	expect_unsent(expired.obs, ERR_NOT_SENT);
	cr_expect_eq(first.calls, 1);
	cr_expect_eq(first.obs->error, ERR_ABORTED);
	cr_expect_eq(last.calls, 1);
	expect_unsent(last.obs, ERR_ABORTED);
	/* nothing is left for the loop: a turn now calls nothing back */
	event_base_loop(base, EVLOOP_NONBLOCK);
	cr_expect_eq(expired.calls + first.calls + last.calls, 3);
	event_base_free(base);
	slot_release(&first);
	slot_release(&expired);
	slot_release(&last);
}
