/*
 * The security posture section: counted from what responses showed, error
 * leakage found in error texts, nothing secret quoted.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/audit.h"
#include "probes/plainhttp.h"
#include "scoring/posture.h"
#include "tests/helpers.h"

static struct audit_run *
run_of(const char *base_url, size_t n)
{
	struct audit_target t = {
	    .relay = (char *)"r", .base_url = (char *)base_url, .model = (char *)"gpt-4o"};
	return test_run_alloc(&t, n);
}

Test(posture, counts_what_responses_showed)
{
	struct audit_run *run = run_of("https://relay.example/v1", 4);
	for (int i = 0; i < 3; i++) {
		struct audit_item *it = test_run_add(run, NULL);
		it->obs->posture = OBS_POSTURE_TLS | (i == 0 ? OBS_POSTURE_HSTS : 0) |
		                   (i < 2 ? OBS_POSTURE_CORS_ANY : 0);
	}
	struct audit_item *bad = test_run_add(run, NULL);
	bad->obs->http_status = 401;
	bad->obs->error = ERR_AUTH;
	bad->obs->posture = OBS_POSTURE_TLS;
	bad->obs->secrets_echoed = 1;
	const char *leak = "upstream api.openai.com said: Incorrect API key provided: "
	                   "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234 (from 10.0.3.7)";
	observation_set(&bad->obs->error_detail, leak, strlen(leak), 512);
	struct posture p;
	posture_assess(run, 0, NULL, &p);
	cr_expect_eq(p.responses, 4);
	cr_expect_eq(p.tls, 4);
	cr_expect_eq(p.hsts, 1);
	cr_expect_eq(p.cors_any, 2);
	cr_expect_eq(p.echoed, 1);
	cr_expect_eq(p.leak_hosts, 1);
	cr_expect_str_eq(p.host, "api.openai.com");
	cr_expect_eq(p.leak_keys, 1);
	cr_expect_eq(p.leak_private, 1);
	/* the foreign key is counted, never shown */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	posture_print(&p, f);
	fclose(f);
	cr_expect_null(strstr(text, "AbCdEfGh"), "%s", text);
	cr_expect_not_null(strstr(text, "HSTS: sent (1 of 4"), "%s", text);
	json_t *j = posture_json(&p);
	char *js = json_dumps(j, 0);
	cr_expect_null(strstr(js, "AbCdEfGh"), "%s", js);
	free(js);
	json_decref(j);
	free(text);
	audit_run_free(run);
}

Test(posture, an_honest_error_leaks_nothing)
{
	struct audit_run *run = run_of("http://127.0.0.1:9/v1", 1);
	struct audit_item *it = test_run_add(run, NULL);
	it->obs->http_status = 429;
	it->obs->error = ERR_RATE_LIMITED;
	const char *msg = "Rate limit reached for gpt-4o in organization org-xyz on requests per "
	                  "min (RPM): Limit 500, Used 500. Please try again in 120ms.";
	observation_set(&it->obs->error_detail, msg, strlen(msg), 512);
	struct posture p;
	posture_assess(run, 0, NULL, &p);
	cr_expect_eq(p.https_url, 0);
	cr_expect_eq(p.leak_hosts + p.leak_keys + p.leak_private + p.echoed, 0);
	audit_run_free(run);
}

/* The posture's text report and its JSON, for what a test looks for. */
static void
report_of(const struct posture *p, char **text, json_t **json)
{
	size_t len = 0;
	FILE *f = open_memstream(text, &len);
	posture_print(p, f);
	fclose(f);
	*json = posture_json(p);
}

Test(posture, tls_versions_are_counted_and_old_ones_are_weak)
{
	struct audit_run *run = run_of("https://relay.example/v1", 4);
	enum obs_tls_version seen[] = {OBS_TLS_1_3, OBS_TLS_1_3, OBS_TLS_1_2, OBS_TLS_1_0};
	for (size_t i = 0; i < 4; i++)
		test_run_add(run, NULL)->obs->tls_version = seen[i];
	struct posture p;
	posture_assess(run, 0, NULL, &p);
	cr_expect_eq(p.tls_versions[OBS_TLS_1_3], 2);
	cr_expect_eq(p.tls_weak, 1);
	char *text;
	json_t *j;
	report_of(&p, &text, &j);
	cr_expect_not_null(strstr(text, "  - TLSv1.3 on 2 of 4 responses\n"), "%s", text);
	cr_expect_not_null(strstr(text, "  - weakness: TLSv1.0 on 1 of 4 responses (below TLS 1.2"),
	                   "%s", text);
	json_t *v = json_object_get(j, "tls_versions");
	cr_expect_eq(json_integer_value(json_object_get(v, "TLSv1.2")), 1);
	cr_expect_eq(json_integer_value(json_object_get(j, "tls_weak")), 1);
	/* no certificate seen, no plain-HTTP check run */
	cr_expect(json_is_null(json_object_get(j, "certificate")));
	cr_expect(json_is_null(json_object_get(j, "plain_http")));
	json_decref(j);
	free(text);
	audit_run_free(run);
}

/* The certificate line for one that expires left_s after the audit. */
static void
cert_report(int64_t left_s, char **text, json_t **json)
{
	struct audit_run *run = run_of("https://relay.example/v1", 1);
	run->finished_ms = 1760000000000LL;
	struct audit_item *it = test_run_add(run, NULL);
	it->obs->tls_version = OBS_TLS_1_3;
	it->obs->cert_not_after = run->finished_ms / 1000 + left_s;
	struct posture p;
	posture_assess(run, 0, NULL, &p);
	report_of(&p, text, json);
	audit_run_free(run);
}

Test(posture, a_certificate_expiring_soon_is_a_warning)
{
	char *text;
	json_t *j;
	cert_report(5 * 86400 - 30, &text, &j); /* issued for 5 days, just now */
	cr_expect_not_null(strstr(text, "warning: the server certificate expires in 5 days "
	                                "(2025-10-14 08:52 UTC)"),
	                   "%s", text);
	json_t *c = json_object_get(j, "certificate");
	cr_expect(json_is_true(json_object_get(c, "expires_soon")));
	cr_expect_str_eq(json_string_value(json_object_get(c, "not_after")),
	                 "2025-10-14T08:52:50Z");
	cr_expect_float_eq(json_real_value(json_object_get(c, "days_left")), 4.99, 0.001);
	json_decref(j);
	free(text);

	cert_report(90 * 86400, &text, &j);
	cr_expect_null(strstr(text, "warning"), "%s", text);
	cr_expect_not_null(strstr(text, "certificate valid for 90 days more"), "%s", text);
	cr_expect(
	    json_is_false(json_object_get(json_object_get(j, "certificate"), "expires_soon")));
	json_decref(j);
	free(text);

	/* seen only with verification off: curl refuses it otherwise */
	cert_report(-3 * 3600, &text, &j);
	cr_expect_not_null(strstr(text, "weakness: the server certificate expired 3 hours ago"),
	                   "%s", text);
	json_decref(j);
	free(text);
}

/* A plain-HTTP check that got o (which it takes). */
static void
plain_report(const struct observation *o, const char *base, char **text, json_t **json)
{
	struct audit_run *run = run_of(base, 1);
	test_run_add(run, NULL)->obs->tls_version = OBS_TLS_1_3;
	struct plainhttp plain = {.url = plainhttp_url(API_OPENAI, base)};
	plain.obs = xmalloc(sizeof *plain.obs);
	*plain.obs = *o;
	plain.outcome = plainhttp_classify(o);
	struct posture p;
	posture_assess(run, 0, &plain, &p);
	report_of(&p, text, json);
	plainhttp_release(&plain);
	audit_run_free(run);
}

Test(posture, the_plain_http_check_is_said_with_what_was_tried)
{
	struct observation o;
	observation_init(&o);
	o.http_status = 401;
	o.error = ERR_AUTH;
	observation_set(&o.content_type, "application/json", 16, 128);
	observation_set(&o.error_detail, "HTTP 401: missing key", 21, 512);
	char *text;
	json_t *j;
	plain_report(&o, "https://relay.example/v1", &text, &j);
	cr_expect_not_null(strstr(text, "  - weakness: answers the API over plain HTTP (keys would "
	                                "travel in clear): GET http://relay.example/v1/models"),
	                   "%s", text);
	json_t *ph = json_object_get(j, "plain_http");
	cr_expect_str_eq(json_string_value(json_object_get(ph, "outcome")), "answers_api");
	cr_expect(json_is_true(json_object_get(ph, "weakness")));
	cr_expect_eq(json_integer_value(json_object_get(ph, "status")), 401);
	json_decref(j);
	free(text);

	observation_init(&o);
	o.error = ERR_CONNECT;
	observation_set(&o.error_detail, "Couldn't connect to server", 26, 512);
	plain_report(&o, "https://relay.example/v1", &text, &j);
	cr_expect_not_null(strstr(text, "  - plain HTTP: GET http://relay.example/v1/models (no "
	                                "key sent): no connection (Couldn't connect to server)"),
	                   "%s", text);
	cr_expect_null(strstr(text, "weakness"), "%s", text);
	json_decref(j);
	free(text);
}
