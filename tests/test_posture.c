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
	posture_assess(run, 0, &p);
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
	posture_assess(run, 0, &p);
	cr_expect_eq(p.https_url, 0);
	cr_expect_eq(p.leak_hosts + p.leak_keys + p.leak_private + p.echoed, 0);
	audit_run_free(run);
}
