/*
 * endpoint: base URL rules, the key's header, extra headers' checks and the
 * wrong-path hint.
 *
 * URLs are taken apart and put together by curl's URL API (CURLU), so the
 * query, port, userinfo and IPv6 hosts come through as curl parses them;
 * only the path is ours to rewrite. The path rules follow the official
 * SDKs (openai-node and anthropic-sdk-typescript build the request URL as
 * baseURL + "/chat/completions", baseURL + "/responses" and baseURL +
 * "/v1/messages"), except that a bare host for OpenAI gets /v1, which is
 * what every OpenAI-compatible relay serves there.
 */
#include "probes/endpoint.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "probes/audit.h"

static int
ends_with(const char *s, size_t n, const char *tail)
{
	size_t t = strlen(tail);
	return n >= t && memcmp(s + n - t, tail, t) == 0;
}

/* Does the path segment before p + n (after a slash) look like an API
 * version, v1, v1beta, v1alpha, v2...? */
static int
ends_in_version(const char *p, size_t n)
{
	size_t k = n;
	while (k > 0 && p[k - 1] != '/')
		k--;
	if (k == 0 || n - k < 2 || p[k] != 'v' || p[k + 1] < '0' || p[k + 1] > '9')
		return 0;
	for (size_t i = k + 2; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z')))
			return 0;
	return 1;
}

/*
 * Gemini and Vertex: the models collection the request URL names a model
 * of. Gemini: a base already ending in /models (or a whole
 * /models/X:generateContent pasted) keeps its prefix; one ending in an API
 * version (/v1beta) gets /models; anything else /v1beta/models (the
 * @google/genai SDK's httpOptions.baseUrl is the host, and it adds
 * /{apiVersion}, v1beta by default). Vertex: the base is the publisher
 * (.../publishers/anthropic, endpoint_vertex_url()): /models is added,
 * and a pasted .../models/X:rawPredict keeps its prefix. The caller frees it.
 */
static char *
google_models_path(enum api_kind api, const char *p, size_t n)
{
	const char *m = NULL;
	for (const char *q = p; (q = strstr(q, "/models/")) != NULL && q < p + n; q++)
		m = q;
	if (m != NULL && memchr(m, ':', (size_t)(p + n - m)) != NULL)
		n = (size_t)(m - p); /* an endpoint pasted whole */
	else if (ends_with(p, n, "/models"))
		n -= strlen("/models");
	if (api == API_VERTEX || ends_in_version(p, n))
		return xasprintf("%.*s/models", (int)n, p);
	return xasprintf("%.*s/v1beta/models", (int)n, p);
}

/* The path to request for api, from the base URL's path (trailing slashes
 * already dropped: n bytes of p). The caller frees it. */
static char *
endpoint_path(enum api_kind api, const char *p, size_t n)
{
	if (api == API_GEMINI || api == API_VERTEX)
		return google_models_path(api, p, n);
	if (api == API_ANTHROPIC) {
		if (ends_with(p, n, "/messages"))
			return xstrndup(p, n);
		if (ends_with(p, n, "/v1"))
			return xasprintf("%.*s/messages", (int)n, p);
		return xasprintf("%.*s/v1/messages", (int)n, p);
	}
	const char *tail = api == API_RESPONSES ? "/responses" : "/chat/completions";
	if (ends_with(p, n, tail))
		return xstrndup(p, n);
	/* the other OpenAI endpoint pasted whole: the same base, this API's path */
	const char *other = api == API_RESPONSES ? "/chat/completions" : "/responses";
	if (ends_with(p, n, other))
		n -= strlen(other);
	if (n == 0)
		return xasprintf("/v1%s", tail);
	return xasprintf("%.*s%s", (int)n, p, tail);
}

/* What endpoint_path() appends for api, when it cannot take the path apart. */
static const char *
endpoint_tail(enum api_kind api)
{
	return api == API_ANTHROPIC                     ? "/messages"
	       : api == API_RESPONSES                   ? "/responses"
	       : api == API_GEMINI || api == API_VERTEX ? "/models"
	                                                : "/chat/completions";
}

char *
endpoint_url(enum api_kind api, const char *base_url)
{
	char *out = NULL, *path = NULL, *url = NULL;
	CURLU *u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, base_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto fallback;
	size_t n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	char *want = endpoint_path(api, path, n);
	CURLUcode rc = curl_url_set(u, CURLUPART_PATH, want, 0);
	free(want);
	if (rc != CURLUE_OK || curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto fallback;
	out = xstrdup(url);
	goto done;
fallback:;
	/* config_check_url() refuses such URLs before any request; keep the
	 * old behaviour for whoever calls without it */
	size_t len = strlen(base_url);
	while (len > 0 && base_url[len - 1] == '/')
		len--;
	out = xasprintf("%.*s%s", (int)len, base_url, endpoint_tail(api));
done:
	curl_free(path);
	curl_free(url);
	curl_url_cleanup(u);
	return out;
}

/* A model name as one path segment: unreserved characters and '@' (Vertex's
 * claude-sonnet-4-5@20250929, as its docs write it) as they are, the rest
 * percent-encoded. The caller frees it. */
static char *
model_escape(const char *model)
{
	struct buf b;
	buf_init(&b, 0);
	for (const unsigned char *p = (const unsigned char *)model; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
		    *p == '@')
			buf_putf(&b, "%c", *p);
		else
			buf_putf(&b, "%%%02X", *p);
	}
	char *s = xstrdup(b.data ? b.data : "");
	buf_release(&b);
	return s;
}

char *
endpoint_request_url(enum api_kind api, const char *base_url, const char *model, int stream)
{
	char *models = endpoint_url(api, base_url);
	if (api != API_GEMINI && api != API_VERTEX)
		return models;
	/* Gemini's names may come as the SDK's resource name, models/X */
	if (api == API_GEMINI && strncmp(model, "models/", 7) == 0)
		model += 7;
	const char *verb = api == API_GEMINI
	                       ? (stream ? "streamGenerateContent" : "generateContent")
	                       : (stream ? "streamRawPredict" : "rawPredict");
	char *escaped = model_escape(model);
	char *path = NULL, *url = NULL, *out = NULL;
	CURLU *u = curl_url();
	if (escaped == NULL || u == NULL ||
	    curl_url_set(u, CURLUPART_URL, models, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto fallback;
	char *want = xasprintf("%s/%s:%s", path, escaped, verb);
	CURLUcode rc = curl_url_set(u, CURLUPART_PATH, want, 0);
	free(want);
	/* streamGenerateContent streams SSE only when asked (alt=sse), as the
	 * SDK asks; Vertex's streamRawPredict always does */
	if (rc == CURLUE_OK && api == API_GEMINI && stream)
		rc = curl_url_set(u, CURLUPART_QUERY, "alt=sse", CURLU_APPENDQUERY);
	if (rc != CURLUE_OK || curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto fallback;
	out = xstrdup(url);
	goto done;
fallback:
	out = xasprintf("%s/%s:%s%s", models, escaped ? escaped : model, verb,
	                api == API_GEMINI && stream ? "?alt=sse" : "");
done:
	free(escaped);
	curl_free(path);
	curl_free(url);
	curl_url_cleanup(u);
	free(models);
	return out;
}

/* ---- Vertex AI ---- */

/* Project ids and regions as Google writes them: nothing to escape. */
static int
vertex_name_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 63)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

int
endpoint_vertex_url(const char *base_url, const char *project, const char *region, char **out,
                    char *err, size_t errlen)
{
	*out = NULL;
	if (!vertex_name_ok(project) || !vertex_name_ok(region)) {
		snprintf(err, errlen,
		         "Vertex AI needs a project and a region (--vertex-project, "
		         "--vertex-region; vertex: {project, region}): letters, digits, '-', '_' "
		         "and '.', e.g. my-project and us-east5");
		return -1;
	}
	char *def = NULL;
	if (base_url == NULL)
		/* the AnthropicVertex SDK's default: global has a host of its own */
		base_url = def = strcmp(region, "global") == 0
		                     ? xstrdup("https://aiplatform.googleapis.com")
		                     : xasprintf("https://%s-aiplatform.googleapis.com", region);
	char *path = NULL, *url = NULL;
	CURLU *u = curl_url();
	int rc = -1;
	if (u == NULL || curl_url_set(u, CURLUPART_URL, base_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		snprintf(err, errlen, "cannot parse the base URL");
		goto done;
	}
	size_t n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	if (strstr(path, "/projects/") != NULL) {
		snprintf(err, errlen,
		         "the base URL already names a project (/projects/...): give the host "
		         "(https://REGION-aiplatform.googleapis.com) with --vertex-project and "
		         "--vertex-region, or the publisher's URL alone");
		goto done;
	}
	/* the SDK's baseURL ends in /v1; the host alone gets it */
	char *want = xasprintf("%.*s%s/projects/%s/locations/%s/publishers/anthropic", (int)n, path,
	                       ends_with(path, n, "/v1") ? "" : "/v1", project, region);
	CURLUcode uc = curl_url_set(u, CURLUPART_PATH, want, 0);
	free(want);
	if (uc != CURLUE_OK || curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		snprintf(err, errlen, "cannot build the Vertex AI URL");
		goto done;
	}
	*out = xstrdup(url);
	rc = 0;
done:
	curl_free(path);
	curl_free(url);
	curl_url_cleanup(u);
	free(def);
	return rc;
}

/* ---- authentication ---- */

const char *
auth_name(enum auth_kind auth)
{
	switch (auth) {
	case AUTH_BEARER:
		return "bearer";
	case AUTH_X_API_KEY:
		return "x-api-key";
	case AUTH_API_KEY:
		return "api-key";
	case AUTH_SIGV4:
		return "sigv4";
	case AUTH_GOOG_API_KEY:
		return "x-goog-api-key";
	default:
		return "default";
	}
}

int
auth_from_name(const char *name)
{
	if (strcmp(name, "bearer") == 0)
		return AUTH_BEARER;
	if (strcmp(name, "x-api-key") == 0)
		return AUTH_X_API_KEY;
	if (strcmp(name, "api-key") == 0)
		return AUTH_API_KEY;
	if (strcmp(name, "sigv4") == 0)
		return AUTH_SIGV4;
	if (strcmp(name, "x-goog-api-key") == 0)
		return AUTH_GOOG_API_KEY;
	return -1;
}

enum auth_kind
auth_resolve(enum api_kind api, enum auth_kind auth)
{
	if (auth != AUTH_DEFAULT)
		return auth;
	return api == API_ANTHROPIC ? AUTH_X_API_KEY
	       : api == API_GEMINI  ? AUTH_GOOG_API_KEY
	                            : AUTH_BEARER;
}

const char *
auth_header(enum auth_kind resolved)
{
	return resolved == AUTH_X_API_KEY      ? "x-api-key"
	       : resolved == AUTH_API_KEY      ? "api-key"
	       : resolved == AUTH_GOOG_API_KEY ? "x-goog-api-key"
	                                       : "Authorization";
}

/* ---- Azure OpenAI ---- */

/* Deployment names and API versions as Azure writes them: nothing that
 * would need escaping in a path or a query. */
static int
azure_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 128)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

int
endpoint_is_azure_deployment(const char *base_url)
{
	char *path = NULL;
	CURLU *u = curl_url();
	int yes = 0;
	if (u != NULL && curl_url_set(u, CURLUPART_URL, base_url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK)
		yes = strstr(path, "/openai/deployments/") != NULL;
	curl_free(path);
	curl_url_cleanup(u);
	return yes;
}

int
endpoint_is_azure_v1(const char *base_url)
{
	char *path = NULL;
	CURLU *u = curl_url();
	int yes = 0;
	if (u != NULL && curl_url_set(u, CURLUPART_URL, base_url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
		size_t n = strlen(path);
		while (n > 0 && path[n - 1] == '/')
			n--;
		yes = ends_with(path, n, "/openai/v1");
	}
	curl_free(path);
	curl_url_cleanup(u);
	return yes;
}

int
endpoint_azure_url(const char *base_url, const char *deployment, const char *api_version,
                   char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (deployment != NULL && api_version == NULL) {
		snprintf(err, errlen,
		         "an Azure deployment needs its api-version (--azure-api-version, "
		         "azure: {api_version}), e.g. 2024-10-21");
		return -1;
	}
	if ((deployment != NULL && !azure_name_ok(deployment)) ||
	    (api_version != NULL && !azure_name_ok(api_version))) {
		snprintf(err, errlen,
		         "Azure deployment names and api-versions are letters, digits, '-', '_' "
		         "and '.'");
		return -1;
	}
	if (deployment != NULL && endpoint_is_azure_v1(base_url)) {
		snprintf(err, errlen,
		         "on Azure's v1 URL the deployment is the body's model, not a path "
		         "(audit_target.wire_model)");
		return -1;
	}
	if (deployment != NULL && endpoint_is_azure_deployment(base_url)) {
		snprintf(err, errlen,
		         "the base URL already names a deployment (/openai/deployments/...): give "
		         "the resource's URL with the deployment, or the deployment's URL alone");
		return -1;
	}
	char *path = NULL, *url = NULL;
	CURLU *u = curl_url();
	int rc = -1;
	if (u == NULL || curl_url_set(u, CURLUPART_URL, base_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		snprintf(err, errlen, "cannot parse the base URL");
		goto done;
	}
	if (deployment != NULL) {
		size_t n = strlen(path);
		while (n > 0 && path[n - 1] == '/')
			n--;
		int has_openai = ends_with(path, n, "/openai");
		char *want = xasprintf("%.*s%s/deployments/%s", (int)n, path,
		                       has_openai ? "" : "/openai", deployment);
		CURLUcode c = curl_url_set(u, CURLUPART_PATH, want, 0);
		free(want);
		if (c != CURLUE_OK)
			goto bad;
	}
	if (api_version != NULL) {
		char *q = xasprintf("api-version=%s", api_version);
		CURLUcode c = curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY);
		free(q);
		if (c != CURLUE_OK)
			goto bad;
	}
	if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto bad;
	*out = xstrdup(url);
	rc = 0;
	goto done;
bad:
	snprintf(err, errlen, "cannot build the Azure URL from the base URL");
done:
	curl_free(path);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

/* ---- extra headers ---- */

/* RFC 9110 token characters. */
static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
check_name(const char *name, size_t n, char *err, size_t errlen)
{
	if (n == 0) {
		snprintf(err, errlen, "a header needs a name ('Name: value')");
		return -1;
	}
	if (n > ENDPOINT_HEADER_NAME_CAP) {
		snprintf(err, errlen, "header name longer than %d characters",
		         ENDPOINT_HEADER_NAME_CAP);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)name[i])) {
			snprintf(err, errlen, "header name '%.*s' is not an HTTP token", (int)n,
			         name);
			return -1;
		}
	return 0;
}

int
endpoint_header_parse(const char *line, struct http_header *h, char *err, size_t errlen)
{
	const char *colon = strchr(line, ':');
	if (colon == NULL) {
		snprintf(err, errlen, "a header is 'Name: value' (no ':' in it)");
		return -1;
	}
	size_t n = (size_t)(colon - line);
	/* the name is printed in errors: never more of the line than it */
	if (check_name(line, n, err, errlen) != 0)
		return -1;
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vn = strlen(v);
	while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (vn > ENDPOINT_HEADER_VALUE_CAP) {
		snprintf(err, errlen, "value of header '%.*s' is longer than %d bytes", (int)n,
		         line, ENDPOINT_HEADER_VALUE_CAP);
		return -1;
	}
	for (size_t i = 0; i < vn; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(err, errlen, "value of header '%.*s' has a control character",
			         (int)n, line);
			return -1;
		}
	}
	h->name = xstrndup(line, n);
	h->value = xstrndup(v, vn);
	return 0;
}

int
endpoint_header_allowed(const char *name, enum api_kind api, enum auth_kind auth, int has_key,
                        char *err, size_t errlen)
{
	/* what curl and the engine set from the request itself */
	static const char *const owned[] = {
	    "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Expect", NULL};
	if (check_name(name, strlen(name), err, errlen) != 0)
		return -1;
	for (size_t i = 0; owned[i] != NULL; i++)
		if (strcasecmp(name, owned[i]) == 0) {
			snprintf(err, errlen, "header '%s' is set by Assay and cannot be given",
			         name);
			return -1;
		}
	/* SigV4's own headers (probes/sigv4.h), made as each request goes */
	static const char *const sigv4[] = {"Authorization", "X-Amz-Date", "X-Amz-Security-Token",
	                                    NULL};
	for (size_t i = 0; auth == AUTH_SIGV4 && sigv4[i] != NULL; i++)
		if (strcasecmp(name, sigv4[i]) == 0) {
			snprintf(
			    err, errlen,
			    "header '%s' is made by the SigV4 signature (--auth sigv4) and cannot "
			    "be given",
			    name);
			return -1;
		}
	const char *key_header = auth_header(auth_resolve(api, auth));
	if (has_key && strcasecmp(name, key_header) == 0) {
		snprintf(err, errlen,
		         "header '%s' carries the key from the key variable and cannot also be "
		         "given (--auth / auth: chooses which header carries the key)",
		         name);
		return -1;
	}
	return 0;
}

int
endpoint_headers_check(const struct http_header *h, size_t n, enum api_kind api,
                       enum auth_kind auth, int has_key, size_t *bad, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		*bad = i;
		if (i >= ENDPOINT_MAX_HEADERS) {
			snprintf(err, errlen, "at most %d extra headers", ENDPOINT_MAX_HEADERS);
			return -1;
		}
		if (endpoint_header_allowed(h[i].name, api, auth, has_key, err, errlen) != 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(h[k].name, h[i].name) == 0) {
				snprintf(err, errlen, "header '%s' is given twice", h[i].name);
				return -1;
			}
	}
	return 0;
}

struct http_header *
http_headers_copy(const struct http_header *h, size_t n)
{
	if (n == 0)
		return NULL;
	struct http_header *out = xcalloc(n, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		out[i].name = xstrdup(h[i].name);
		out[i].value = xstrdup(h[i].value);
	}
	return out;
}

void
http_headers_free(struct http_header *h, size_t n)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		if (h[i].value != NULL) {
			explicit_bzero(h[i].value, strlen(h[i].value));
			free(h[i].value);
		}
	}
	free(h);
}

/* ---- the wrong-path hint ---- */

/* Did this 404/405 come from the path rather than the model? The error
 * detail is "HTTP 404: " and the error's message, or the body's start. */
static int
path_not_found(const struct observation *o)
{
	if (o->http_status != 404 && o->http_status != 405)
		return 0;
	const char *d = o->error_detail ? o->error_detail : "";
	const char *colon = strstr(d, ": ");
	const char *msg = colon ? colon + 2 : d;
	if (*msg == '<')
		return 1; /* an HTML page: a web server's, not the API's */
	/* "The model `x` does not exist", "model: claude-x", "model not found":
	 * a wrong model name, which the URL hint would only mislead about */
	for (const char *p = msg; *p; p++)
		if (strncasecmp(p, "model", 5) == 0)
			return 0;
	return 1;
}

char *
endpoint_run_hint(const struct audit_run *run)
{
	size_t answered = 0, lost = 0, n405 = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o == NULL || o->error == ERR_ABORTED)
			continue;
		answered++;
		if (path_not_found(o)) {
			lost++;
			n405 += o->http_status == 405;
		}
	}
	if (lost == 0 || lost * 2 <= answered)
		return NULL;
	const char *status = n405 == 0 ? "404" : n405 == lost ? "405" : "404 or 405";
	char *url = endpoint_url(run->target.api, run->target.base_url);
	char *hint;
	if (run->target.api == API_GEMINI || run->target.api == API_VERTEX)
		hint = xasprintf(
		    "%zu of %zu requests got HTTP %s at %s: the path is likely wrong. %s", lost,
		    answered, status, url,
		    run->target.api == API_GEMINI
		        ? "A Gemini base URL is the host, as @google/genai's baseUrl "
		          "(https://generativelanguage.googleapis.com), or ends in its API version "
		          "(/v1beta); Assay adds /models/MODEL:generateContent"
		        : "A Vertex AI base URL is the host "
		          "(https://REGION-aiplatform.googleapis.com) "
		          "with --vertex-project and --vertex-region; Assay adds "
		          "/v1/projects/P/locations/R/publishers/anthropic/models/"
		          "MODEL:rawPredict");
	else if (run->target.api == API_ANTHROPIC)
		hint = xasprintf("%zu of %zu requests got HTTP %s at %s: the path is likely wrong. "
		                 "An Anthropic base URL is usually the host alone, as in "
		                 "ANTHROPIC_BASE_URL (https://relay.example or "
		                 "https://relay.example/anthropic); Assay adds /v1/messages",
		                 lost, answered, status, url);
	else
		hint = xasprintf("%zu of %zu requests got HTTP %s at %s: the path is likely wrong. "
		                 "An OpenAI-compatible base URL usually ends in /v1, as the OpenAI "
		                 "SDK's baseURL (https://relay.example/v1), or in the relay's own "
		                 "versioned path (/api/v3, /compatible-mode/v1); Assay adds %s%s",
		                 lost, answered, status, url, endpoint_tail(run->target.api),
		                 run->target.api == API_RESPONSES
		                     ? " (a relay that serves only Chat Completions has no "
		                       "Responses endpoint: try --api openai)"
		                     : "");
	free(url);
	return hint;
}
