/*
 * Probe spend on the pages and in the JSON (web/spend.h, issue 18): today's
 * figures per relay and for the board beside their caps, the tokens of 24 h
 * and 30 days from the buckets, yesterday's count not shown as today's, a
 * hostile relay name escaped; and serve's own counts reaching
 * /api/v1/spend (tests/test_serve_alerts.c checks them against its
 * budget).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "tests/helpers.h"
#include "web/board.h"
#include "web/site.h"

static void
record(struct board *b, const char *relay, const char *model, int64_t at_ms, long tokens)
{
	struct board_run run = {.relay = relay,
	                        .model = model,
	                        .verdict = "genuine",
	                        .reason = "",
	                        .at_ms = at_ms,
	                        .runs = 1,
	                        .requests = 30,
	                        .ok_requests = 30,
	                        .tokens_spent = tokens,
	                        .ttft_ms = 100,
	                        .tokens_per_s = 50};
	board_record(b, &run);
}

/* The document at path (a copy, the caller frees), asserting it is there. */
static char *
get(struct board *b, const char *path)
{
	struct site_response r;
	site_get(b, path, NULL, &r);
	cr_assert_eq(r.status, SITE_OK, "%s: %d", path, (int)r.status);
	char *s = xstrndup(r.blob->data, r.blob->len);
	board_put(r.blob);
	return s;
}

static const char hostile[] = "<script>alert(1)</script>";

Test(web_spend, today_and_the_windows_per_relay_and_overall)
{
	struct board *b = board_new("spend");
	int64_t now = wall_ms(), day = now / 86400000;
	/* relay a: two models, 2,000 tokens each an hour ago, 5,000 ten days
	 * ago; the hostile relay: 1,000 an hour ago */
	record(b, "a", "gpt-4o", now - 3600000, 2000);
	record(b, "a", "gpt-4o-mini", now - 3600000, 2000);
	record(b, "a", "gpt-4o", now - 10 * 86400000LL, 5000);
	record(b, hostile, "m", now - 3600000, 1000);
	struct board_spend sa = {
	    .day = day, .tokens = 3967, .usd = 0.0123, .cap_tokens = 6000, .cap_usd = 0};
	board_spend(b, "a", &sa);
	struct board_spend sh = {.day = day - 1, .tokens = 777, .usd = 1.5}; /* yesterday's */
	board_spend(b, hostile, &sh);
	struct board_spend all = {
	    .day = day, .tokens = 4967, .usd = 0.02, .cap_tokens = 150000, .cap_usd = 2};
	board_spend(b, NULL, &all);

	char *text = get(b, "/api/v1/spend");
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	cr_expect_eq(json_int(j, "tokens_today"), 4967);
	cr_expect_float_eq(json_real_value(json_object_get(j, "usd_today")), 0.02, 1e-9);
	json_t *cap = json_object_get(j, "budget");
	cr_expect_eq(json_int(cap, "tokens_per_day"), 150000);
	cr_expect_float_eq(json_real_value(json_object_get(cap, "usd_per_day")), 2, 1e-9);
	cr_expect_eq(json_int(j, "tokens_24h"), 5000);
	cr_expect_eq(json_int(j, "tokens_30d"), 10000);
	json_t *relays = json_object_get(j, "relays");
	json_t *a = json_find(relays, "relay", "a");
	cr_assert_not_null(a, "%s", text);
	cr_expect_eq(json_int(a, "tokens_today"), 3967);
	cr_expect_eq(json_int(a, "tokens_24h"), 4000);
	cr_expect_eq(json_int(a, "tokens_30d"), 9000);
	cr_expect_eq(json_int(json_object_get(a, "budget"), "tokens_per_day"), 6000);
	json_t *h = json_find(relays, "relay", hostile);
	cr_assert_not_null(h, "%s", text);
	cr_expect_eq(json_int(h, "tokens_today"), 0, "yesterday's count shown as today's");
	cr_expect(json_is_null(json_object_get(h, "budget")));
	json_decref(j);
	free(text);

	/* the relay page and /about say the same, escaped */
	text = get(b, "/relays/a.html");
	cr_expect(strstr(text,
	                 "Probe spend:</b> 3,967 tokens today ($0.0123 at official prices) "
	                 "of 6,000 tokens a day; 4,000 tokens in 24 h, 9,000 in 30 days") != NULL,
	          "%s", text);
	free(text);
	text = get(b, "/about");
	cr_expect(strstr(text, "Every relay: 4,967 tokens today ($0.0200 at official prices) of "
	                       "150,000 tokens and $2.00 a day; 5,000 tokens in 24 h, 10,000 in "
	                       "30 days") != NULL,
	          "%s", text);
	cr_expect(strstr(text, hostile) == NULL, "the relay's name was not escaped");
	cr_expect(strstr(text, "&lt;script&gt;") != NULL);
	free(text);
	board_free(b);
}

Test(web_spend, nothing_said_is_null_not_zero)
{
	struct board *b = board_new("spend");
	record(b, "r", "m", wall_ms() - 60000, 1200);
	char *text = get(b, "/api/v1/spend");
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j);
	cr_expect(json_is_null(json_object_get(j, "tokens_today")), "%s", text);
	cr_expect_eq(json_int(j, "tokens_24h"), 1200);
	json_t *r = json_find(json_object_get(j, "relays"), "relay", "r");
	cr_expect(json_is_null(json_object_get(r, "usd_today")), "%s", text);
	json_decref(j);
	free(text);
	board_free(b);
}
