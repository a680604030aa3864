/*
 * fixture_calls: the chat calls the fixture tests make against the world
 * they start. It declares that world (`world`, one per test file) and the
 * calls on it; included by test_fixture_relays.c and test_fixture_timing.c.
 */
#ifndef ASSAY_TESTS_FIXTURE_CALLS_H
#define ASSAY_TESTS_FIXTURE_CALLS_H

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdlib.h>

#include "tests/helpers.h"

static struct fixture world; /* started by the including file */

#define response http_response /* tests/helpers.h */

static void
request(struct response *r, const char *endpoint, const char *body, long timeout_ms)
{
	fixture_send(r, &world, endpoint, "/chat/completions", body, NULL, timeout_ms);
}

static void
response_release(struct response *r)
{
	http_response_release(r);
}

#define chat_body test_chat_body /* tests/helpers.h */

static void
chat(struct response *r, const char *endpoint, const char *model, const char *user,
     const char *extra)
{
	char *body = chat_body(model, user, extra);
	request(r, endpoint, body, 20000);
	free(body);
	cr_assert_eq(r->rc, CURLE_OK, "%s: %s", endpoint, curl_easy_strerror(r->rc));
}

/* chat(), and the answer must be a 200 (its body said otherwise). Inline:
 * not every including file calls it. */
static inline void
chat_ok(struct response *r, const char *endpoint, const char *model, const char *user,
        const char *extra)
{
	chat(r, endpoint, model, user, extra);
	cr_assert_eq(r->status, 200, "%s: HTTP %ld: %s", endpoint, r->status, r->body);
}

#define str json_str

#endif
