/*
 * models_list: GET /v1/models, parsed into the observation (see the header).
 */
#include "probes/models_list.h"

#include <curl/curl.h>
#include <jansson.h>
#include <string.h>

#include "base/util.h"
#include "probes/endpoint.h"

static int
strip_tail(char *path, const char *tail)
{
	size_t n = strlen(path), t = strlen(tail);
	if (n < t || strcmp(path + n - t, tail) != 0)
		return 0;
	path[n - t] = '\0';
	return 1;
}

char *
models_list_url(enum api_kind api, const char *base_url)
{
	char *endpoint = endpoint_url(api, base_url);
	if (api == API_GEMINI) {
		/* Gemini's endpoint URL is its models collection already; one page
		 * of the most it sends (ai.google.dev/api/rest/v1beta/models/list:
		 * 50 unless asked, at most 1000) */
		CURLU *g = curl_url();
		char *url = NULL, *out = NULL;
		if (g != NULL && curl_url_set(g, CURLUPART_URL, endpoint, 0) == CURLUE_OK &&
		    curl_url_set(g, CURLUPART_QUERY, "pageSize=1000", CURLU_APPENDQUERY) ==
		        CURLUE_OK &&
		    curl_url_get(g, CURLUPART_URL, &url, 0) == CURLUE_OK)
			out = xstrdup(url);
		curl_free(url);
		curl_url_cleanup(g);
		if (out != NULL) {
			free(endpoint);
			return out;
		}
		return endpoint; /* a request that fails as data */
	}
	char *path = NULL, *url = NULL, *out = NULL;
	CURLU *u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto fallback;
	/* the endpoint ends in one of these by endpoint_url()'s rules; the list
	 * sits beside it */
	char *p = xstrdup(path);
	if (!strip_tail(p, "/chat/completions") && !strip_tail(p, "/responses"))
		strip_tail(p, "/messages");
	char *want = xasprintf("%s/models", p);
	free(p);
	CURLUcode rc = curl_url_set(u, CURLUPART_PATH, want, 0);
	free(want);
	if (rc == CURLUE_OK && api == API_ANTHROPIC)
		rc = curl_url_set(u, CURLUPART_QUERY, "limit=1000", CURLU_APPENDQUERY);
	if (rc != CURLUE_OK || curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto fallback;
	out = xstrdup(url);
	goto done;
fallback:
	out = xasprintf("%s", endpoint); /* a request that fails as data */
done:
	curl_free(path);
	curl_free(url);
	curl_url_cleanup(u);
	free(endpoint);
	return out;
}

static void
malformed(struct observation *obs, const char *why)
{
	obs->error = ERR_MALFORMED;
	observation_set(&obs->error_detail, why, strlen(why), OBS_DETAIL_CAP);
}

void
models_list_finish(struct observation *obs, const char *body, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb(body ? body : "", len, 0, &jerr);
	/* OpenAI's and Anthropic's data [{id}]; Gemini's models [{name}] with
	 * nextPageToken when more pages follow; Bedrock's ListFoundationModels
	 * modelSummaries [{modelId}], all at once */
	const char *key = "id";
	json_t *data = json_object_get(j, "data");
	if (data == NULL && json_is_array(json_object_get(j, "models"))) {
		data = json_object_get(j, "models");
		key = "name";
	} else if (data == NULL && json_is_array(json_object_get(j, "modelSummaries"))) {
		data = json_object_get(j, "modelSummaries");
		key = "modelId";
	}
	if (!json_is_object(j) || !json_is_array(data)) {
		malformed(obs, "model list is not an object with a data array");
		json_decref(j);
		return;
	}
	struct buf b;
	buf_init(&b, 0); /* held to OBS_TEXT_CAP below */
	size_t kept = 0, i;
	const char *next = json_string_value(json_object_get(j, "nextPageToken"));
	int truncated =
	    json_is_true(json_object_get(j, "has_more")) || (next != NULL && *next != '\0');
	json_t *item;
	json_array_foreach(data, i, item)
	{
		const char *id = json_string_value(json_object_get(item, key));
		if (id == NULL) {
			malformed(obs, "a model list entry has no string id");
			break;
		}
		char *clean = utf8_sanitize(id, strlen(id), 256);
		/* one id a line: a line break inside an id would forge another */
		for (char *c = clean; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
		size_t n = strlen(clean), need = n + (kept > 0);
		int full = kept >= MODELS_LIST_MAX || b.len + need + 1 > OBS_TEXT_CAP;
		if (full) {
			truncated = 1;
		} else {
			if (kept > 0)
				buf_puts(&b, "\n");
			buf_puts(&b, clean);
			kept++;
		}
		free(clean);
		if (full) /* (a next page announced keeps this one's ids) */
			break;
	}
	free(obs->text);
	obs->text = buf_take(&b, &obs->text_len);
	if (obs->text == NULL) {
		obs->text = xstrdup("");
		obs->text_len = 0;
	}
	obs->text_truncated = truncated;
	json_decref(j);
}

size_t
models_list_count(const struct observation *obs)
{
	if (obs == NULL || obs->text == NULL || obs->text[0] == '\0')
		return 0;
	size_t n = 1;
	for (const char *c = obs->text; *c; c++)
		n += *c == '\n';
	return n;
}

int
models_list_has(const struct observation *obs, const char *model)
{
	if (obs == NULL || obs->error != ERR_NONE || obs->text == NULL)
		return -1;
	size_t m = strlen(model);
	for (const char *line = obs->text; *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		/* Gemini's lists (its own, its OpenAI-compatible one) say
		 * "models/gemini-…" */
		const char *id = line;
		if (n > 7 && memcmp(id, "models/", 7) == 0) {
			id += 7;
			n -= 7;
		}
		if (n == m && memcmp(id, model, m) == 0)
			return 1;
		if (end == NULL)
			break;
		line = end + 1;
	}
	return 0;
}

int
models_list_asked(enum api_kind api, const char *base_url, int bedrock)
{
	/* Azure's lists (/openai/models, /openai/deployments) are not in the
	 * OpenAI shape, Vertex's publisher models have no list of their own:
	 * not asked, rather than a list that is not there; Bedrock's is its
	 * control plane's (models_list_target_url()) */
	return bedrock || (!endpoint_is_azure_deployment(base_url) && api != API_VERTEX);
}

char *
models_list_target_url(enum api_kind api, const char *base_url, int bedrock)
{
	if (!bedrock)
		return models_list_url(api, base_url);
	/* Bedrock's runtime (bedrock-runtime.REGION.amazonaws.com) lists
	 * nothing; ListFoundationModels is the control plane's, on
	 * bedrock.REGION.amazonaws.com: GET /foundation-models. A base URL on
	 * another host (a proxy, a VPC endpoint) keeps its host. */
	CURLU *u = curl_url();
	char *host = NULL, *url = NULL, *out = NULL;
	if (u != NULL && curl_url_set(u, CURLUPART_URL, base_url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		static const char runtime[] = "bedrock-runtime.";
		CURLUcode rc = CURLUE_OK;
		if (strncmp(host, runtime, sizeof runtime - 1) == 0) {
			char *h = xasprintf("bedrock.%s", host + sizeof runtime - 1);
			rc = curl_url_set(u, CURLUPART_HOST, h, 0);
			free(h);
		}
		if (rc == CURLUE_OK &&
		    curl_url_set(u, CURLUPART_PATH, "/foundation-models", 0) == CURLUE_OK &&
		    curl_url_set(u, CURLUPART_QUERY, NULL, 0) == CURLUE_OK &&
		    curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK)
			out = xstrdup(url);
	}
	curl_free(host);
	curl_free(url);
	curl_url_cleanup(u);
	return out != NULL ? out : xstrdup(base_url); /* a request that fails as data */
}
