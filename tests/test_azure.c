/*
 * Azure OpenAI as a channel: the deployment URL Assay builds from the Azure
 * options, the api-key header, and audits of the fixture world's
 * azure-official endpoint (fixtures/azure.h) at its deployment and v1 URLs:
 * genuine with no finding and no hint (Azure's content-filter annotations
 * and its opening filter chunk are Azure's, not a deviation), and a
 * missing key is Azure's 401, stored as an auth failure.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "probes/endpoint.h"
#include "tests/helpers.h"

Test(azure, deployment_url_from_the_resource)
{
	char *u = NULL, err[512];
	cr_assert_eq(endpoint_azure_url("https://r.openai.azure.com", "prod-4o", "2024-10-21", &u,
	                                err, sizeof err),
	             0, "%s", err);
	cr_expect_str_eq(
	    u, "https://r.openai.azure.com/openai/deployments/prod-4o?api-version=2024-10-21");
	char *ep = endpoint_url(API_OPENAI, u);
	cr_expect_str_eq(ep, "https://r.openai.azure.com/openai/deployments/prod-4o/chat/"
	                     "completions?api-version=2024-10-21");
	cr_expect(endpoint_is_azure_deployment(u));
	free(ep);
	free(u);
	/* a base already ending in /openai (the AzureOpenAI SDK's baseURL) */
	cr_assert_eq(endpoint_azure_url("https://r.openai.azure.com/openai/", "d",
	                                "2025-01-01-preview", &u, err, sizeof err),
	             0);
	cr_expect_str_eq(
	    u, "https://r.openai.azure.com/openai/deployments/d?api-version=2025-01-01-preview");
	free(u);
	/* the v1 URL with api-version=preview: the query alone */
	cr_assert_eq(endpoint_azure_url("https://r.openai.azure.com/openai/v1", NULL, "preview", &u,
	                                err, sizeof err),
	             0);
	cr_expect_str_eq(u, "https://r.openai.azure.com/openai/v1?api-version=preview");
	cr_expect_not(endpoint_is_azure_deployment(u));
	free(u);
}

Test(azure, deployment_url_refusals)
{
	char *u = NULL, err[512];
	cr_expect_eq(endpoint_azure_url("https://r", "d", NULL, &u, err, sizeof err), -1);
	cr_expect(strstr(err, "api-version") != NULL, "%s", err);
	cr_expect_eq(endpoint_azure_url("https://r", "a/b", "2024-10-21", &u, err, sizeof err), -1);
	cr_expect_eq(endpoint_azure_url("https://r", "d", "2024-10-21&x=1", &u, err, sizeof err),
	             -1);
	cr_expect_eq(endpoint_azure_url("https://r/openai/deployments/x", "d", "2024-10-21", &u,
	                                err, sizeof err),
	             -1);
	cr_expect_null(u);
}

Test(azure, api_key_auth)
{
	cr_expect_eq(auth_from_name("api-key"), AUTH_API_KEY);
	cr_expect_str_eq(auth_name(AUTH_API_KEY), "api-key");
	cr_expect_str_eq(auth_header(auth_resolve(API_OPENAI, AUTH_API_KEY)), "api-key");
	char err[256];
	/* the key's own header cannot also be given by hand */
	cr_expect_eq(
	    endpoint_header_allowed("Api-Key", API_OPENAI, AUTH_API_KEY, 1, err, sizeof err), -1);
	cr_expect_eq(
	    endpoint_header_allowed("api-key", API_OPENAI, AUTH_BEARER, 1, err, sizeof err), 0);
}

/* A config's azure: {deployment} on the v1 URL is the body's model, and a
 * deployment (either URL) serves one model: two is FILE:LINE. */
static struct config *
load_config(const char *text, char *err, size_t errlen)
{
	return test_config_text("azure", text, err, errlen);
}

Test(azure, config_v1_deployment)
{
	char err[512];
	struct config *c = load_config("relays:\n"
	                               "  - name: az\n"
	                               "    base_url: https://r.openai.azure.com/openai/v1\n"
	                               "    azure: {deployment: prod-4o}\n"
	                               "    auth: api-key\n"
	                               "    models: [gpt-4o]\n",
	                               err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->relays[0].wire_model, "prod-4o");
	cr_expect_str_eq(c->relays[0].base_url, "https://r.openai.azure.com/openai/v1");
	config_free(c);
	c = load_config("relays:\n"
	                "  - name: az\n"
	                "    base_url: https://r.openai.azure.com\n"
	                "    azure: {deployment: prod-4o, api_version: 2024-10-21}\n"
	                "    models: [gpt-4o, gpt-4o-mini]\n",
	                err, sizeof err);
	cr_expect_null(c);
	cr_expect(strstr(err, "assay.yaml:5:") != NULL && strstr(err, "one model") != NULL, "%s",
	          err);
	config_free(c);
}

/* ---- audits of the fixture's Azure ---- */

static const char *const need[] = {"azure-official", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "azure", "fixtures/demo.yaml", need, "0.05");
}

static void
teardown(void)
{
	cr_expect_eq(test_world_stop(&env), 0, "the fixture did not stop cleanly on SIGTERM");
}

/* `assay audit --json` with extra arguments (NULL-terminated); its exit
 * status, the parsed report in *j. */
/* What every audit here is: gpt-4o at the fixture's time scale */
static const char *const audit_fixed[] = {"--model", "gpt-4o", "--time-scale", "0.05", NULL};

static void
expect_genuine(json_t *j, const char *endpoint_tail)
{
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "genuine", "%s",
	                 json_string_value(json_object_get(j, "reason")));
	cr_expect_eq(json_array_size(json_object_get(j, "findings")), 0, "findings: %s",
	             json_dumps(json_object_get(j, "findings"), 0));
	/* hints are allowed (a sampled answer can be unlikely on any official
	 * endpoint), but none about the protocol: Azure's fields and its
	 * opening filter chunk are not a relay writing its own responses */
	size_t n;
	json_t *h;
	json_array_foreach(json_object_get(j, "hints"), n, h)
	{
		const char *sum =
		    json_string_value(json_object_get(json_object_get(h, "evidence"), "summary"));
		cr_expect(sum != NULL && strstr(sum, "not shaped as") == NULL &&
		              strstr(sum, "names the model") == NULL,
		          "a protocol hint on Azure's official endpoint: %s", sum);
	}
	const char *ep = json_string_value(json_object_get(j, "endpoint"));
	cr_expect(ep != NULL && strstr(ep, endpoint_tail) != NULL, "endpoint %s", ep);
	cr_expect_str_eq(json_string_value(json_object_get(j, "auth")), "api-key");
}

Test(azure, deployment_url_audit_is_genuine, .init = setup, .fini = teardown, .timeout = 120)
{
	json_t *j;
	int rc = test_audit_json(&j, 60000, "azure-key", audit_fixed, "--base-url",
	                         fixture_url(&env.world, "azure-official"), "--azure-deployment",
	                         "prod-4o", "--azure-api-version", "2024-10-21", NULL);
	cr_expect_eq(rc, 0);
	expect_genuine(j, "/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21");
	json_decref(j);
}

Test(azure, v1_url_audit_is_genuine, .init = setup, .fini = teardown, .timeout = 120)
{
	char url[300];
	snprintf(url, sizeof url, "%s/openai/v1", fixture_url(&env.world, "azure-official"));
	json_t *j;
	int rc = test_audit_json(&j, 60000, "azure-key", audit_fixed, "--base-url", url, "--auth",
	                         "api-key", NULL);
	cr_expect_eq(rc, 0);
	expect_genuine(j, "/openai/v1/chat/completions");
	json_decref(j);
}

/* On the v1 URL a deployment not named after its model rides in the
 * body's model (the fixture's prod-4o serves gpt-4o): genuine, and the
 * report says what the body named. */
Test(azure, v1_deployment_is_the_body_model, .init = setup, .fini = teardown, .timeout = 120)
{
	char url[300];
	snprintf(url, sizeof url, "%s/openai/v1", fixture_url(&env.world, "azure-official"));
	json_t *j;
	int rc = test_audit_json(&j, 60000, "azure-key", audit_fixed, "--base-url", url, "--auth",
	                         "api-key", "--azure-deployment", "prod-4o", NULL);
	cr_expect_eq(rc, 0);
	expect_genuine(j, "/openai/v1/chat/completions");
	cr_expect_str_eq(json_string_value(json_object_get(j, "body_model")), "prod-4o");
	cr_expect_str_eq(json_string_value(json_object_get(j, "model")), "gpt-4o");
	json_decref(j);
}

/* No key: Azure's 401 on every request, stored as auth failures. */
Test(azure, missing_key_is_azures_401, .init = setup, .fini = teardown, .timeout = 120)
{
	char url[300];
	snprintf(url, sizeof url, "%s/openai/deployments/prod-4o?api-version=2024-10-21",
	         fixture_url(&env.world, "azure-official"));
	json_t *j;
	int rc = test_audit_json(&j, 60000, NULL, audit_fixed, "--base-url", url, NULL);
	cr_expect_eq(rc, 3);
	cr_expect_str_eq(json_string_value(json_object_get(j, "verdict")), "unreachable");
	/* every request failed as auth, the class a 401 is stored with */
	json_t *f = json_array_get(json_object_get(j, "findings"), 0);
	const char *observed =
	    json_string_value(json_object_get(json_object_get(f, "evidence"), "observed"));
	cr_expect(observed != NULL && strstr(observed, "auth 30") != NULL, "observed: %s",
	          observed);
	const char *summary =
	    json_string_value(json_object_get(json_object_get(f, "evidence"), "summary"));
	cr_expect(summary != NULL && strstr(summary, "HTTP 401") != NULL, "summary: %s", summary);
	json_decref(j);
}
