/*
 * Real relay software in front of the fixture, as an oracle for base URLs
 * and extra headers: the Portkey AI gateway (@portkey-ai/gateway from npm,
 * pinned by tests/relays/package-lock.json, installed with `npm ci`) on a
 * loopback port routes by its x-portkey-provider and x-portkey-custom-host
 * headers, so `assay audit --header` must reach the fixture's official
 * provider through it, key and all. The verdict is not asserted: only that
 * every request got through.
 *
 * tests/relays/loopback.cjs keeps the gateway on 127.0.0.1 and says its
 * port; tests/relays/mutable-fetch.cjs works around the gateway's failure
 * on every streamed request under Node (see that file). Skipped when node
 * or npm is not installed. Every wait is bounded.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

static const char *const need[] = {"official", NULL};

/* Start the gateway; its port, or -1. */
static int
portkey_start(struct child *c, char *node)
{
	setenv("NODE_ENV", "production", 1); /* no dev UI, no log stream */
	char *argv[] = {
	    node,
	    (char *)"-r",
	    (char *)"./tests/relays/loopback.cjs",
	    (char *)"-r",
	    (char *)"./tests/relays/mutable-fetch.cjs",
	    (char *)"tests/relays/node_modules/@portkey-ai/gateway/build/start-server.js",
	    (char *)"--headless",
	    NULL};
	if (child_start(c, argv) != 0)
		return -1;
	char line[8192];
	int port = -1;
	long long deadline = test_now_ms() + 30000;
	while (port < 0 && test_now_ms() < deadline) {
		if (child_read_line(c, line, sizeof line, 30000) != 0)
			break;
		const char *p = strstr(line, "assay-relay-listening 127.0.0.1:");
		if (p != NULL)
			port = atoi(p + strlen("assay-relay-listening 127.0.0.1:"));
	}
	return port;
}

static json_t *
audit_json(char *const argv[], char **err)
{
	char *out = NULL;
	run_capture(argv, 120000, &out, err);
	json_t *j = json_loads(out ? out : "", 0, NULL);
	cr_assert_not_null(j, "--json output does not parse:\n%s\n%s", out, *err);
	free(out);
	return j;
}

Test(portkey, gateway_routes_assay_by_its_headers, .timeout = 600)
{
	char *node = test_node("tests/relays", "to run the Portkey gateway");
	char *err = NULL;

	struct fixture world;
	fixture_start_scaled(&world, "tests/data/fixture/basic.yaml", need, "0.05");
	struct child gw;
	int port = portkey_start(&gw, node);
	cr_assert_gt(port, 0, "the gateway did not say its port");
	setenv("REAL_RELAY_KEY", "sk-test-official", 1); /* the fixture's official key */

	char base[64], bare[64], custom[300];
	snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", port);
	snprintf(bare, sizeof bare, "http://127.0.0.1:%d", port);
	snprintf(custom, sizeof custom, "x-portkey-custom-host: %s",
	         fixture_url(&world, "official"));
	/* the OpenAI SDK's form and a bare host: both reach the fixture */
	const char *bases[] = {base, bare};
	for (size_t i = 0; i < 2; i++) {
		char *argv[] = {(char *)test_binary("assay"),
		                (char *)"audit",
		                (char *)"--base-url",
		                (char *)bases[i],
		                (char *)"--model",
		                (char *)"gpt-4o",
		                (char *)"--key-env",
		                (char *)"REAL_RELAY_KEY",
		                (char *)"--header",
		                (char *)"x-portkey-provider: openai",
		                (char *)"--header",
		                custom,
		                (char *)"--json",
		                NULL};
		json_t *j = audit_json(argv, &err);
		long requests = (long)json_integer_value(json_object_get(j, "requests"));
		long ok = (long)json_integer_value(json_object_get(j, "ok_requests"));
		cr_expect_gt(requests, 0);
		cr_expect_eq(ok, requests, "through the gateway at %s: %ld of %ld ok\n%s", bases[i],
		             ok, requests, err);
		char want[100];
		snprintf(want, sizeof want, "%s/chat/completions", base);
		cr_expect_str_eq(json_string_value(json_object_get(j, "endpoint")), want);
		char *dump = json_dumps(j, 0);
		cr_expect_null(strstr(dump, fixture_url(&world, "official")),
		               "a header value is in the output");
		free(dump);
		json_decref(j);
		free(err);
	}
	/* without its routing header the gateway refuses: the headers matter */
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"audit",
	                (char *)"--base-url",
	                base,
	                (char *)"--model",
	                (char *)"gpt-4o",
	                (char *)"--key-env",
	                (char *)"REAL_RELAY_KEY",
	                (char *)"--json",
	                NULL};
	json_t *j = audit_json(argv, &err);
	cr_expect_eq(json_integer_value(json_object_get(j, "ok_requests")), 0);
	json_decref(j);
	free(err);

	cr_expect_eq(child_stop(&gw, 10000), 0, "the gateway did not exit on SIGTERM");
	cr_expect_eq(fixture_stop(&world), 0);
	free(node);
}
