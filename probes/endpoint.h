/*
 * endpoint: where a relay's requests go and what they carry besides the
 * body, from base URLs and headers as users write them.
 *
 * Users copy a base URL from the SDK they already use: the OpenAI SDK's
 * baseURL ends in /v1 (https://api.openai.com/v1) and the SDK appends
 * /chat/completions (or /responses); the Anthropic SDK's (ANTHROPIC_BASE_URL) is the host
 * alone and the SDK appends /v1/messages. endpoint_url() accepts both, with
 * or without /v1, a trailing slash, or the whole endpoint pasted by mistake,
 * and keeps the versioned paths other relays use as they are. Gemini's
 * and Vertex AI's paths name the model (endpoint_request_url()); Vertex's
 * project and region make its base URL (endpoint_vertex_url()).
 *
 * Extra headers are secrets to Assay: the engine sends them and redacts
 * them from what it keeps; nothing else logs, stores or shows them.
 */
#ifndef ASSAY_ENDPOINT_H
#define ASSAY_ENDPOINT_H

#include <stddef.h>

#include "probes/adapter.h"

struct audit_run;

/* ---- The endpoint URL ---- */

/*
 * The endpoint URL for base_url (an absolute http(s) URL) and api. The
 * caller frees it. Path rules, after trailing slashes are dropped:
 *
 *   openai     ends in /chat/completions   kept (an endpoint pasted whole)
 *              ends in /responses          that base + /chat/completions
 *              empty                       /v1/chat/completions
 *              anything else               PATH/chat/completions
 *   responses  the same, with /responses in place of /chat/completions
 *              (the openai SDK's baseURL + "/responses")
 *   anthropic  ends in /messages           kept
 *              ends in /v1                 PATH/messages
 *              anything else (or empty)    PATH/v1/messages (the SDK's rule)
 *
 * The query string is kept, after the new path; a fragment is dropped.
 * A base_url curl cannot parse gets the path appended as it is.
 */
char *endpoint_url(enum api_kind api, const char *base_url);
/*
 * The URL one request for model goes to. For gemini and vertex, whose
 * paths name the model and whether the answer streams, endpoint_url()
 * gives the models collection (gemini: PATH/models when the base ends in
 * an API version such as /v1beta, else PATH/v1beta/models, as
 * @google/genai's baseUrl + /{apiVersion}/models; vertex: the publisher's
 * PATH/models; a whole .../models/X:method pasted keeps its prefix), and
 * this adds /MODEL:generateContent or :streamGenerateContent with
 * alt=sse (gemini; a leading "models/" of the model dropped) or
 * /MODEL:rawPredict or :streamRawPredict (vertex), the model
 * percent-encoded. Every other API: endpoint_url(). The caller frees it.
 */
char *endpoint_request_url(enum api_kind api, const char *base_url, const char *model, int stream);

/* ---- Vertex AI ---- */

/*
 * Claude on Vertex AI is served at
 * https://REGION-aiplatform.googleapis.com/v1/projects/PROJECT/locations/
 * REGION/publishers/anthropic/models/MODEL:rawPredict (global:
 * https://aiplatform.googleapis.com). The base URL for it, into *out (the
 * caller frees it): base_url (NULL: that host, as the AnthropicVertex SDK
 * picks it from the region) + [/v1]/projects/PROJECT/locations/REGION/
 * publishers/anthropic. -1 with why in err when a name is missing or has a
 * character outside [A-Za-z0-9._-], or base_url already names a project.
 */
int endpoint_vertex_url(const char *base_url, const char *project, const char *region, char **out,
                        char *err, size_t errlen);

/* ---- Azure OpenAI ---- */

/*
 * Azure OpenAI serves Chat Completions at a deployment URL,
 * {endpoint}/openai/deployments/{deployment}/chat/completions
 * ?api-version=YYYY-MM-DD[-preview] (the deployment, not the body's model,
 * picks what answers), and at the v1 URL {endpoint}/openai/v1/chat/
 * completions, which takes no dated api-version. Both fit endpoint_url()'s
 * rules once the base URL names the deployment (or /openai/v1): this builds
 * that base URL.
 *
 * The base URL for base_url (the resource, https://NAME.openai.azure.com,
 * or already ending in /openai), deployment and api_version, into *out (the
 * caller frees it): deployment given, PATH[/openai]/deployments/DEPLOYMENT
 * with api-version=API_VERSION in the query (both required: Azure answers
 * 404 without the version); deployment NULL, base_url as it is with
 * api-version added (the v1 URL's api-version=preview). -1 with why in err
 * when a name has a character outside [A-Za-z0-9._-], the version is
 * missing, or base_url already names a deployment or is the v1 URL (where
 * the deployment rides in the body: endpoint_is_azure_v1).
 */
int endpoint_azure_url(const char *base_url, const char *deployment, const char *api_version,
                       char **out, char *err, size_t errlen);
/* Does base_url's path name an Azure deployment (/openai/deployments/X)?
 * Such a target sends its key as api-key by default and has no model list
 * to ask (Azure's lists sit at /openai/models and /openai/deployments, in
 * shapes of their own). */
int endpoint_is_azure_deployment(const char *base_url);
/* Does base_url's path end in /openai/v1 (Azure's v1 API)? There the
 * body's model names the deployment: a deployment given with such a base
 * URL is what the body's model says (audit_target.wire_model), and the URL
 * stays as it is. */
int endpoint_is_azure_v1(const char *base_url);

/* ---- Authentication ---- */

/* Which header carries the key. AUTH_DEFAULT: the API's own
 * (Authorization: Bearer for openai, responses and vertex (an OAuth access
 * token), x-api-key for anthropic, x-goog-api-key for gemini).
 * AUTH_API_KEY is Azure OpenAI's "api-key: KEY" header. Appended to. */
enum auth_kind {
	AUTH_DEFAULT,
	AUTH_BEARER,
	AUTH_X_API_KEY,
	AUTH_API_KEY,
	AUTH_SIGV4,
	AUTH_GOOG_API_KEY
};

/* "bearer" / "x-api-key" / "api-key" / "sigv4" / "x-goog-api-key";
 * auth_from_name returns -1 for anything else. AUTH_SIGV4 is AWS Signature
 * V4 (probes/sigv4.h), with the AWS credentials from the environment, not a
 * key header (its auth_header() is "Authorization", which it signs). */
const char *auth_name(enum auth_kind auth);
int auth_from_name(const char *name);
/* AUTH_DEFAULT resolved for api; other kinds are returned as they are. */
enum auth_kind auth_resolve(enum api_kind api, enum auth_kind auth);
/* The header name of a resolved kind: "Authorization", "x-api-key",
 * "api-key" or "x-goog-api-key". */
const char *auth_header(enum auth_kind resolved);

/* ---- Extra request headers ---- */

#define ENDPOINT_MAX_HEADERS 32
#define ENDPOINT_HEADER_NAME_CAP 128
#define ENDPOINT_HEADER_VALUE_CAP 4096

struct http_header {
	char *name;
	char *value; /* a secret: never logged, stored or shown */
};

/*
 * Parse "Name: value" (as curl -H takes it; blanks around the value are
 * dropped) into h, whose strings the caller then owns (http_headers_free).
 * -1 with why in err (which never quotes the value) when the name is not an
 * HTTP token, the value has a control character, or either is over its cap.
 */
int endpoint_header_parse(const char *line, struct http_header *h, char *err, size_t errlen);
/*
 * May name be sent as an extra header? -1 with why in err for the ones
 * Assay owns: Host, Content-Length, Content-Type, Transfer-Encoding, Expect,
 * and the key's header (auth resolved for api) when has_key. Also checks
 * name is a token within its cap.
 */
int endpoint_header_allowed(const char *name, enum api_kind api, enum auth_kind auth, int has_key,
                            char *err, size_t errlen);
/* The same for a whole list, plus: at most ENDPOINT_MAX_HEADERS, no name
 * twice (case-insensitively). On failure *bad is the offending index. */
int endpoint_headers_check(const struct http_header *h, size_t n, enum api_kind api,
                           enum auth_kind auth, int has_key, size_t *bad, char *err, size_t errlen);
/* A deep copy of n headers (NULL when n is 0). */
struct http_header *http_headers_copy(const struct http_header *h, size_t n);
/* Wipe the values (explicit_bzero) and free the array and its strings. */
void http_headers_free(struct http_header *h, size_t n);

/* ---- Diagnosis ---- */

/*
 * When most of a finished run's requests got HTTP 404 (or 405) for a reason
 * that is not the model (the error neither names a model nor comes from the
 * API's own model check), the path is likely wrong: a hint that names the
 * URL requested and what a base URL for the run's API usually looks like.
 * NULL otherwise. The caller frees it.
 */
char *endpoint_run_hint(const struct audit_run *run);

#endif
