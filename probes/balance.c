/*
 * balance: the billing endpoints' URLs and answers (see balance.h).
 */
#include "probes/balance.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"

void
balance_conf_free(struct balance_conf *c)
{
	free(c->url);
	free(c->path);
	memset(c, 0, sizeof *c);
}

/* base_url's path with trailing slashes dropped, and whether it ends in
 * /v1, by curl's URL parser; NULL when it does not parse. */
static char *
base_without_slash(const char *base_url, int *has_v1)
{
	CURLU *u = curl_url();
	char *path = NULL, *url = NULL, *out = NULL;
	if (u == NULL || curl_url_set(u, CURLUPART_URL, base_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto done;
	size_t n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	*has_v1 = n >= 3 && memcmp(path + n - 3, "/v1", 3) == 0;
	char *trimmed = xstrndup(path, n);
	CURLUcode rc = curl_url_set(u, CURLUPART_PATH, trimmed[0] ? trimmed : "/", 0);
	free(trimmed);
	if (rc == CURLUE_OK && curl_url_set(u, CURLUPART_QUERY, NULL, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK) {
		size_t k = strlen(url);
		while (k > 0 && url[k - 1] == '/')
			k--;
		out = xstrndup(url, k);
	}
done:
	curl_free(path);
	curl_free(url);
	curl_url_cleanup(u);
	return out;
}

size_t
balance_urls(const struct balance_conf *c, const char *base_url, long long today_ms, char *urls[2])
{
	urls[0] = urls[1] = NULL;
	if (c->kind == BALANCE_CUSTOM) {
		urls[0] = xstrdup(c->url);
		return 1;
	}
	if (c->kind != BALANCE_BILLING)
		return 0;
	int v1 = 0;
	char *base = base_without_slash(base_url, &v1);
	if (base == NULL)
		return 0;
	/* the 100 days OpenAI's legacy endpoint allowed, to tomorrow */
	char from[16], to[16];
	time_t t = (time_t)(today_ms / 1000) - 99 * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(from, sizeof from, "%Y-%m-%d", &tm);
	t = (time_t)(today_ms / 1000) + 86400;
	gmtime_r(&t, &tm);
	strftime(to, sizeof to, "%Y-%m-%d", &tm);
	const char *v = v1 ? "" : "/v1";
	urls[0] = xasprintf("%s%s/dashboard/billing/subscription", base, v);
	urls[1] =
	    xasprintf("%s%s/dashboard/billing/usage?start_date=%s&end_date=%s", base, v, from, to);
	free(base);
	return 2;
}

int
balance_json_path(const char *body, size_t len, const char *path, double *out, char *why,
                  size_t whylen)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	if (root == NULL) {
		snprintf(why, whylen, "the answer is not JSON");
		return -1;
	}
	json_t *v = root;
	char *keys = xstrdup(path), *save = NULL;
	for (char *k = strtok_r(keys, ".", &save); k != NULL && v != NULL;
	     k = strtok_r(NULL, ".", &save))
		v = json_is_object(v) ? json_object_get(v, k) : NULL;
	free(keys);
	int ok = json_is_number(v) && isfinite(json_number_value(v));
	if (ok)
		*out = json_number_value(v);
	else
		snprintf(why, whylen, "the answer has no number at %.100s", path);
	json_decref(root);
	return ok ? 0 : -1;
}

int
balance_read(const struct balance_conf *c, const char *const bodies[2], const size_t lens[2],
             struct balance_sample *out, char *why, size_t whylen)
{
	out->balance_usd = out->used_usd = -1;
	if (c->kind == BALANCE_CUSTOM) {
		double v;
		if (bodies[0] == NULL) {
			snprintf(why, whylen, "the balance endpoint did not answer 2xx");
			return -1;
		}
		if (balance_json_path(bodies[0], lens[0], c->path, &v, why, whylen) != 0)
			return -1;
		out->balance_usd = v * (c->scale > 0 ? c->scale : 1);
		return 0;
	}
	if (bodies[0] == NULL || bodies[1] == NULL) {
		snprintf(why, whylen,
		         "the billing endpoints (/dashboard/billing/subscription and "
		         "/usage) did not both answer 2xx");
		return -1;
	}
	double limit, used;
	if (balance_json_path(bodies[0], lens[0], "hard_limit_usd", &limit, why, whylen) != 0 ||
	    balance_json_path(bodies[1], lens[1], "total_usage", &used, why, whylen) != 0)
		return -1;
	if (limit < 0 || used < 0) {
		snprintf(why, whylen, "the billing endpoints gave negative amounts");
		return -1;
	}
	out->used_usd = used / 100; /* cents */
	out->balance_usd = limit - out->used_usd;
	return 0;
}
