/*
 * config: YAML tree -> struct config, with every check a user would want
 * before anything starts (unknown keys, bad URLs, unknown models, missing
 * key variables, duplicate names).
 */
#include "cli/config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "base/yamltree.h"
#include "probes/bedrock.h"
#include "scoring/baseline.h"
#include "web/alerts.h"
#include "scoring/origin.h"
#include "storage/store.h"
#include "web/server.h"

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_relays; i++) {
		struct config_relay *r = &c->relays[i];
		free(r->name);
		free(r->base_url);
		free(r->wire_model);
		free(r->error);
		balance_conf_free(&r->balance);
		free(r->key_env);
		sigv4_credentials_release(&r->aws);
		http_headers_free(r->headers, r->n_headers);
		for (size_t k = 0; k < r->n_models; k++)
			free(r->models[k]);
		free(r->models);
	}
	free(c->relays);
	free(c->path);
	free(c->title);
	free(c->listen);
	free(c->database);
	free(c->database_password_env);
	free(c->database_read);
	free(c->database_read_password_env);
	free(c->ca_file);
	free(c->canary_listen);
	free(c->canary_url);
	if (c->alerts != NULL)
		alerts_config_free(c->alerts);
	free(c->alerts);
	free(c);
}

/* Does a query string name a key parameter (key, api_key, apikey, api-key,
 * access_token), whatever the case? */
static int
query_has_key(const char *q)
{
	static const char *const names[] = {"key",     "api_key",      "apikey",
	                                    "api-key", "access_token", NULL};
	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "=&");
		for (size_t i = 0; names[i] != NULL; i++)
			if (strlen(names[i]) == n && strncasecmp(q, names[i], n) == 0)
				return 1;
		q += strcspn(q, "&");
		if (*q == '&')
			q++;
	}
	return 0;
}

int
config_check_url(const char *url, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = -1;
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc != CURLUE_OK) {
		snprintf(err, errlen, "malformed URL '%s': %s", url, curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(err, errlen, "URL '%s' must start with http:// or https://", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
		snprintf(err, errlen, "URL '%s' has no host", url);
		goto out;
	}
	/* Gemini takes its key as ?key= too: a base URL is stored and shown,
	 * a key never is (the message does not quote the URL) */
	char *query = NULL;
	int keyed =
	    curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query_has_key(query);
	curl_free(query);
	if (keyed) {
		snprintf(
		    err, errlen,
		    "the URL carries a key in its query (key=...): give the key with --key-env "
		    "(key_env: in the config) instead; Assay never stores or shows keys");
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static int
get_string(const struct ynode *map, const char *key, const char *file, char **out, char *err,
           size_t errlen)
{
	return ytree_take_string(map, key, file, out, err, errlen);
}

int
config_cli_header(struct http_header **h, size_t *n, const char *arg, int from_env, char *err,
                  size_t errlen)
{
	struct http_header one;
	if (*n >= ENDPOINT_MAX_HEADERS) {
		snprintf(err, errlen, "at most %d extra headers", ENDPOINT_MAX_HEADERS);
		return -1;
	}
	if (endpoint_header_parse(arg, &one, err, errlen) != 0)
		return -1;
	if (from_env) {
		const char *v = one.value[0] ? getenv(one.value) : NULL;
		if (v == NULL) {
			snprintf(err, errlen, "environment variable '%s' (header '%s') is not set",
			         one.value, one.name);
			free(one.name);
			free(one.value);
			return -1;
		}
		/* "Name: value" again, for the value's own checks */
		char *line = xasprintf("%s: %s", one.name, v);
		free(one.name);
		free(one.value);
		int rc = endpoint_header_parse(line, &one, err, errlen);
		explicit_bzero(line, strlen(line));
		free(line);
		if (rc != 0)
			return -1;
	}
	*h = xrealloc(*h, (*n + 1) * sizeof **h);
	(*h)[(*n)++] = one;
	return 0;
}

/*
 * headers: {Name: value, Other: {env: VAR}}. A variable that is not set is
 * an error, as for key_env; so is a name Assay owns (checked once api, auth
 * and key_env are known).
 */
static int
load_headers(const char *file, struct config_relay *r, const struct ynode *v, char *err,
             size_t errlen)
{
	static const char *const env_keys[] = {"env", NULL};
	if (v->kind != YNODE_MAP)
		return ytree_error(err, errlen, file, v->line,
		                   "headers is a mapping of header names to values, e.g. "
		                   "'x-tenant: acme' or 'x-token: {env: VAR}'");
	r->headers = xcalloc(v->n ? v->n : 1, sizeof *r->headers);
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *val = v->items[i];
		const char *s, *name = v->keys[i];
		int line = v->key_lines[i];
		char why[512];
		if (val->kind == YNODE_MAP) {
			const struct ynode *env = ytree_get(val, "env");
			if (ytree_check_keys(val, file, env_keys, err, errlen) != 0)
				return -1;
			if (env == NULL)
				return ytree_error(err, errlen, file, val->line,
				                   "header '%s' needs a value or {env: VAR}", name);
			if (ytree_as_string(env, file, &s, err, errlen) != 0)
				return -1;
			const char *from_env = getenv(s);
			if (from_env == NULL)
				return ytree_error(
				    err, errlen, file, env->line,
				    "environment variable '%s' (header '%s') is not set", s, name);
			s = from_env;
		} else if (ytree_as_string(val, file, &s, err, errlen) != 0) {
			return -1;
		}
		/* the parser's checks, on "Name: value" put back together */
		char *line_text = xasprintf("%s: %s", name, s);
		struct http_header *h = &r->headers[r->n_headers];
		int rc = endpoint_header_parse(line_text, h, why, sizeof why);
		explicit_bzero(line_text, strlen(line_text));
		free(line_text);
		if (rc != 0)
			return ytree_error(err, errlen, file, line, "%s", why);
		r->n_headers++;
		if (strcmp(h->name, name) != 0) /* a ':' in the name split it */
			return ytree_error(err, errlen, file, line,
			                   "header name '%s' is not an HTTP token", name);
	}
	return 0;
}

/* The duration at key in n, at least min_us (said as at_least), into *out;
 * *out is left as it was when n has no key. 0, or -1. */
static int
load_duration(const struct ynode *n, const char *key, long long min_us, const char *at_least,
              const char *file, int64_t *out, char *err, size_t errlen)
{
	const struct ynode *v = ytree_get(n, key);
	long long us;
	if (v == NULL)
		return 0;
	if (ytree_as_duration(v, file, &us, err, errlen) != 0)
		return -1;
	if (us < min_us)
		return ytree_error(err, errlen, file, v->line, "%s must be at least %s", key,
		                   at_least);
	*out = us;
	return 0;
}

/* The value of key in n, a name that from_name knows (allowed says which),
 * into *out; *out is left as it was when n has no key. 0, or -1. */
static int
load_name(const struct ynode *n, const char *key, int (*from_name)(const char *),
          const char *allowed, const char *file, int *out, char *err, size_t errlen)
{
	const struct ynode *v = ytree_get(n, key);
	const char *s;
	if (v == NULL)
		return 0;
	if (ytree_as_string(v, file, &s, err, errlen) != 0)
		return -1;
	int x = from_name(s);
	if (x < 0)
		return ytree_error(err, errlen, file, v->line, "%s is %s, not '%s'", key, allowed,
		                   s);
	*out = x;
	return 0;
}

int
config_parse_rate(const char *s, double *per_hour, char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		double per_hour;
	} units[] = {{"s", 3600}, {"m", 60}, {"min", 60}, {"h", 1}, {"d", 1.0 / 24}};
	char *end;
	double n = strtod(s, &end);
	if (end == s || !(n >= 0) || n > 1e6) {
		snprintf(err, errlen, "rate is a count per time such as 20/h, not '%s'", s);
		return -1;
	}
	if (*end == '\0' && n == 0) {
		*per_hour = 0;
		return 0;
	}
	if (*end == '/')
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strcmp(end + 1, units[i].unit) == 0) {
				*per_hour = n * units[i].per_hour;
				return 0;
			}
	snprintf(err, errlen, "rate is a count per s, m, h or d such as 20/h, not '%s'", s);
	return -1;
}

/* passive: {rate, profile, seed} over *p (keys absent leave it as it was),
 * or `off`. 0, or -1. */
/* balance: billing | {url: URL, path: a.b, scale: X}. 0, or -1. */
static int
load_balance(const struct ynode *n, const char *file, struct balance_conf *b, char *err,
             size_t errlen)
{
	static const char *const keys[] = {"url", "path", "scale", NULL};
	if (n->kind == YNODE_SCALAR) {
		if (strcmp(n->scalar, "billing") != 0)
			return ytree_error(err, errlen, file, n->line,
			                   "balance is 'billing' (one-api / new-api's "
			                   "/dashboard/billing endpoints) or {url, path, scale}");
		b->kind = BALANCE_BILLING;
		return 0;
	}
	if (n->kind != YNODE_MAP)
		return ytree_error(err, errlen, file, n->line,
		                   "balance is 'billing' or {url: URL, path: data.balance}");
	if (ytree_check_keys(n, file, keys, err, errlen) != 0 ||
	    ytree_take_string(n, "url", file, &b->url, err, errlen) != 0 ||
	    ytree_take_string(n, "path", file, &b->path, err, errlen) != 0)
		return -1;
	char why[512];
	if (b->url == NULL || b->path == NULL)
		return ytree_error(err, errlen, file, n->line, "balance needs a url and a path");
	if (config_check_url(b->url, why, sizeof why) != 0)
		return ytree_error(err, errlen, file, ytree_get(n, "url")->line, "%s", why);
	b->scale = 1;
	const struct ynode *v = ytree_get(n, "scale");
	if (v != NULL && ytree_as_double(v, file, 1e-12, 1e12, &b->scale, err, errlen) != 0)
		return -1;
	b->kind = BALANCE_CUSTOM;
	return 0;
}

/* price: {input_per_mtok, output_per_mtok} or {ratio}. 0, or -1. */
static int
load_price(const struct ynode *n, const char *file, struct config_relay *r, char *err,
           size_t errlen)
{
	static const char *const keys[] = {"input_per_mtok", "output_per_mtok", "ratio", NULL};
	if (n->kind != YNODE_MAP)
		return ytree_error(err, errlen, file, n->line,
		                   "price is {input_per_mtok: 2.5, output_per_mtok: 10} (USD) or "
		                   "{ratio: 0.3} (of the official price)");
	if (ytree_check_keys(n, file, keys, err, errlen) != 0)
		return -1;
	const struct ynode *in = ytree_get(n, "input_per_mtok"),
	                   *out = ytree_get(n, "output_per_mtok"), *ratio = ytree_get(n, "ratio");
	if ((in != NULL && ytree_as_double(in, file, 0, 1e6, &r->price_in, err, errlen) != 0) ||
	    (out != NULL && ytree_as_double(out, file, 0, 1e6, &r->price_out, err, errlen) != 0) ||
	    (ratio != NULL &&
	     ytree_as_double(ratio, file, 1e-6, 1e3, &r->price_ratio, err, errlen) != 0))
		return -1;
	if ((ratio != NULL) == (in != NULL || out != NULL) || (in != NULL) != (out != NULL))
		return ytree_error(err, errlen, file, n->line,
		                   "price takes both input_per_mtok and output_per_mtok, or ratio");
	return 0;
}

/* budget: {tokens_per_day, usd_per_day}. 0, or -1. */
static int
load_budget(const struct ynode *n, const char *file, struct config_budget *b, char *err,
            size_t errlen)
{
	static const char *const keys[] = {"tokens_per_day", "usd_per_day", NULL};
	if (n->kind != YNODE_MAP)
		return ytree_error(err, errlen, file, n->line,
		                   "budget is a mapping: {tokens_per_day: 200000, usd_per_day: 2}");
	if (ytree_check_keys(n, file, keys, err, errlen) != 0)
		return -1;
	const struct ynode *v;
	if ((v = ytree_get(n, "tokens_per_day")) != NULL &&
	    ytree_as_long(v, file, 1, 1000000000000L, &b->tokens, err, errlen) != 0)
		return -1;
	if ((v = ytree_get(n, "usd_per_day")) != NULL &&
	    ytree_as_double(v, file, 1e-6, 1e9, &b->usd, err, errlen) != 0)
		return -1;
	if (b->tokens == 0 && b->usd == 0)
		return ytree_error(err, errlen, file, n->line,
		                   "budget needs tokens_per_day or usd_per_day");
	return 0;
}

static int
load_passive(const struct ynode *n, const char *file, struct config_passive *p, char *err,
             size_t errlen)
{
	static const char *const keys[] = {"rate", "profile", "seed", NULL};
	static const char *const profiles[] = {"chat", "coding-agent", NULL};
	const char *s;
	if (n->kind == YNODE_SCALAR && strcmp(n->scalar, "off") == 0) {
		p->per_hour = 0;
		return 0;
	}
	if (n->kind != YNODE_MAP)
		return ytree_error(err, errlen, file, n->line,
		                   "passive is {rate: 20/h, profile: chat} or off");
	if (ytree_check_keys(n, file, keys, err, errlen) != 0)
		return -1;
	const struct ynode *v = ytree_get(n, "rate");
	char why[256];
	if (v != NULL) {
		if (ytree_as_string(v, file, &s, err, errlen) != 0)
			return -1;
		if (config_parse_rate(s, &p->per_hour, why, sizeof why) != 0)
			return ytree_error(err, errlen, file, v->line, "%s", why);
	}
	if ((v = ytree_get(n, "profile")) != NULL) {
		if (ytree_as_string(v, file, &s, err, errlen) != 0)
			return -1;
		int k = name_list_index(profiles, s);
		if (k < 0)
			return ytree_error(err, errlen, file, v->line,
			                   "profile is chat or coding-agent, not '%s'", s);
		p->profile = k == 0 ? TRAFFIC_CHAT : TRAFFIC_CODING_AGENT;
	}
	if ((v = ytree_get(n, "seed")) != NULL) {
		long seed;
		if (ytree_as_long(v, file, 0, 0x7fffffffffffffffL, &seed, err, errlen) != 0)
			return -1;
		p->seed = (uint64_t)seed;
		p->has_seed = 1;
	}
	return 0;
}

/* A canary url (the listener's public base URL, without a trailing /). */
static int
canary_url_at(const struct ynode *v, const char *file, char **out, char *err, size_t errlen)
{
	const char *s;
	char why[512];
	if (ytree_as_string(v, file, &s, err, errlen) != 0)
		return -1;
	if (config_check_url(s, why, sizeof why) != 0)
		return ytree_error(err, errlen, file, v->line, "canary url: %s", why);
	/* a path is planted after it: /c/TOKEN/v1 */
	if (strlen(s) > 200)
		return ytree_error(err, errlen, file, v->line,
		                   "canary url is at most 200 characters");
	free(*out);
	*out = xstrdup(s);
	size_t n = strlen(*out);
	while (n > 0 && (*out)[n - 1] == '/')
		(*out)[--n] = '\0';
	return 0;
}

/* canary: {listen, url} or off; canary_url: URL. Off when neither. */
static int
load_canary(struct config *c, const struct ynode *root, char *err, size_t errlen)
{
	static const char *const keys[] = {"listen", "url", NULL};
	const char *file = c->path, *s;
	const struct ynode *n = ytree_get(root, "canary"), *top = ytree_get(root, "canary_url");
	if (n != NULL && n->kind == YNODE_SCALAR && strcmp(n->scalar, "off") == 0) {
		if (top != NULL)
			return ytree_error(err, errlen, file, top->line,
			                   "canary_url given with canary: off");
		return 0;
	}
	if (n != NULL) {
		if (n->kind != YNODE_MAP)
			return ytree_error(err, errlen, file, n->line,
			                   "canary is {listen: HOST:PORT, url: PUBLIC_BASE_URL} "
			                   "or off");
		if (ytree_check_keys(n, file, keys, err, errlen) != 0)
			return -1;
		const struct ynode *v = ytree_get(n, "listen");
		if (v != NULL) {
			char host[256];
			int port;
			if (ytree_as_string(v, file, &s, err, errlen) != 0)
				return -1;
			if (web_parse_listen(s, host, sizeof host, &port) != 0)
				return ytree_error(err, errlen, file, v->line,
				                   "canary listen is HOST:PORT, not '%s'", s);
			c->canary_listen = xstrdup(s);
		}
		if ((v = ytree_get(n, "url")) != NULL) {
			if (top != NULL)
				return ytree_error(err, errlen, file, top->line,
				                   "canary_url and canary: {url} both given");
			if (canary_url_at(v, file, &c->canary_url, err, errlen) != 0)
				return -1;
		}
	}
	if (top != NULL && canary_url_at(top, file, &c->canary_url, err, errlen) != 0)
		return -1;
	if ((n != NULL || top != NULL) && c->canary_listen == NULL)
		c->canary_listen = xstrdup(CONFIG_CANARY_LISTEN);
	return 0;
}

/*
 * azure: {deployment: NAME, api_version: YYYY-MM-DD}: base_url is then the
 * Azure resource and becomes the deployment's URL (probes/endpoint.h
 * endpoint_azure_url); api_version alone adds it to base_url (the v1 URL's
 * api-version=preview). On the v1 URL (base_url ending in /openai/v1) the
 * deployment is the body's model instead (wire_model), and models names
 * the model it serves.
 */
/*
 * A cloud block of two strings, keys[0] and keys[1] (each optional here),
 * into *a and *b (the caller frees them, also on failure). what and example
 * word the error for a block that is no mapping. 0, or -1 with err set.
 */
static int
load_two_strings(const char *file, const struct ynode *v, const char *what, const char *example,
                 const char *const keys[3], char **a, char **b, char *err, size_t errlen)
{
	*a = *b = NULL;
	if (v->kind != YNODE_MAP)
		return ytree_error(err, errlen, file, v->line, "%s is a mapping, e.g. %s", what,
		                   example);
	if (ytree_check_keys(v, file, keys, err, errlen) != 0 ||
	    get_string(v, keys[0], file, a, err, errlen) != 0 ||
	    get_string(v, keys[1], file, b, err, errlen) != 0)
		return -1;
	return 0;
}

static int
load_azure(const char *file, struct config_relay *r, const struct ynode *v, char *err,
           size_t errlen)
{
	static const char *const keys[] = {"deployment", "api_version", NULL};
	char *deployment, *version, *url = NULL, why[512];
	int rc = -1;
	if (load_two_strings(file, v, "azure", "{deployment: prod-4o, api_version: 2024-10-21}",
	                     keys, &deployment, &version, err, errlen) != 0)
		goto done;
	if (deployment == NULL && version == NULL) {
		ytree_error(err, errlen, file, v->line,
		            "azure needs a deployment or an api_version");
		goto done;
	}
	/* on the v1 URL the deployment is the body's model */
	if (deployment != NULL && endpoint_is_azure_v1(r->base_url)) {
		r->wire_model = deployment;
		deployment = NULL;
		if (version == NULL) {
			rc = 0;
			goto done;
		}
	}
	if (endpoint_azure_url(r->base_url, deployment, version, &url, why, sizeof why) != 0) {
		ytree_error(err, errlen, file, v->line, "%s", why);
		goto done;
	}
	free(r->base_url);
	r->base_url = url;
	rc = 0;
done:
	free(deployment);
	free(version);
	return rc;
}

/*
 * bedrock: {region: REGION}: the relay is Amazon Bedrock's runtime (base_url
 * https://bedrock-runtime.REGION.amazonaws.com, or a relay speaking its
 * wire); a bedrock-runtime base_url says so alone. Its api is anthropic;
 * auth sigv4, its default, takes the AWS credentials from the environment
 * now (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
 */
static int
load_bedrock(const char *file, struct config_relay *r, const struct ynode *n, char *err,
             size_t errlen)
{
	static const char *const keys[] = {"region", NULL};
	const struct ynode *v = ytree_get(n, "bedrock");
	char region[64] = "", why[256];
	if (v != NULL) {
		const char *s;
		const struct ynode *rn = v->kind == YNODE_MAP ? ytree_get(v, "region") : NULL;
		if (v->kind != YNODE_MAP || ytree_check_keys(v, file, keys, err, errlen) != 0 ||
		    rn == NULL || ytree_as_string(rn, file, &s, err, errlen) != 0) {
			if (err[0] == 0 || v->kind != YNODE_MAP || rn == NULL)
				ytree_error(err, errlen, file, v->line,
				            "bedrock is a mapping, e.g. {region: us-east-1}");
			return -1;
		}
		char *url = bedrock_base_url(s);
		if (url == NULL)
			return ytree_error(err, errlen, file, rn->line,
			                   "bedrock region '%s' is not an AWS region name", s);
		free(url);
		snprintf(region, sizeof region, "%s", s);
	} else if (bedrock_region_of(r->base_url, region, sizeof region) != 0) {
		if (r->auth == AUTH_SIGV4)
			return ytree_error(
			    err, errlen, file, n->line,
			    "auth sigv4 is for Amazon Bedrock: add bedrock: {region: "
			    "...}");
		return 0;
	}
	r->bedrock = 1;
	r->api = API_ANTHROPIC;
	if (r->auth == AUTH_DEFAULT)
		r->auth = AUTH_SIGV4;
	if (r->auth != AUTH_SIGV4)
		return 0;
	if (r->key_env != NULL)
		return ytree_error(err, errlen, file, n->line,
		                   "auth sigv4 signs with the AWS credentials in the environment; "
		                   "key_env is for a Bedrock API key (auth: bearer)");
	if (sigv4_credentials_from_env(&r->aws, why, sizeof why) != 0)
		return ytree_error(err, errlen, file, n->line, "relay '%s': %s", r->name, why);
	free(r->aws.region);
	r->aws.region = xstrdup(region);
	return 0;
}

/*
 * vertex: {project: P, region: R}: Claude on Vertex AI; base_url (the
 * region's host, https://REGION-aiplatform.googleapis.com) becomes the
 * Anthropic publisher's URL in that project (probes/endpoint.h
 * endpoint_vertex_url), and the api vertex unless api says otherwise.
 */
static int
load_vertex(const char *file, struct config_relay *r, const struct ynode *v, char *err,
            size_t errlen)
{
	static const char *const keys[] = {"project", "region", NULL};
	char *project, *region, *url = NULL, why[512];
	int rc = -1;
	if (load_two_strings(file, v, "vertex", "{project: my-project, region: us-east5}", keys,
	                     &project, &region, err, errlen) != 0)
		goto done;
	if (endpoint_vertex_url(r->base_url, project, region, &url, why, sizeof why) != 0) {
		ytree_error(err, errlen, file, v->line, "%s", why);
		goto done;
	}
	free(r->base_url);
	r->base_url = url;
	rc = 0;
done:
	free(project);
	free(region);
	return rc;
}

static int
load_relay(struct config *c, struct config_relay *r, const struct ynode *n, char *err,
           size_t errlen)
{
	static const char *const keys[] = {"name",    "base_url", "api",      "key_env", "auth",
	                                   "headers", "models",   "interval", "passive", "azure",
	                                   "budget",  "balance",  "price",    "bedrock", "vertex",
	                                   "channel", NULL};
	const char *file = c->path;
	const char *s;
	if (ytree_check_keys(n, file, keys, err, errlen) != 0)
		return -1;
	const struct ynode *v = ytree_get(n, "name");
	if (v == NULL)
		return ytree_error(err, errlen, file, n->line, "a relay needs a 'name'");
	if (ytree_as_string(v, file, &s, err, errlen) != 0)
		return -1;
	if (s[0] == '\0' || strlen(s) > 100)
		return ytree_error(err, errlen, file, v->line,
		                   "relay name must be 1 to 100 characters");
	r->name = xstrdup(s);
	for (size_t i = 0; i < c->n_relays; i++)
		if (&c->relays[i] != r && c->relays[i].name && strcmp(c->relays[i].name, s) == 0)
			return ytree_error(err, errlen, file, v->line, "duplicate relay name '%s'",
			                   s);
	v = ytree_get(n, "base_url");
	if (v == NULL)
		return ytree_error(err, errlen, file, n->line, "relay '%s' needs a 'base_url'",
		                   r->name);
	if (ytree_as_string(v, file, &s, err, errlen) != 0)
		return -1;
	char why[512];
	if (config_check_url(s, why, sizeof why) != 0)
		return ytree_error(err, errlen, file, v->line, "%s", why);
	r->base_url = xstrdup(s);
	if ((v = ytree_get(n, "azure")) != NULL && load_azure(file, r, v, err, errlen) != 0)
		return -1;
	int vertex = (v = ytree_get(n, "vertex")) != NULL;
	if (vertex && load_vertex(file, r, v, err, errlen) != 0)
		return -1;
	r->api = API_OPENAI;
	int api = vertex ? API_VERTEX : API_OPENAI, auth = AUTH_DEFAULT;
	if (load_name(n, "api", api_from_name, API_NAMES_TEXT, file, &api, err, errlen) != 0)
		return -1;
	r->api = (enum api_kind)api;
	if ((v = ytree_get(n, "key_env")) != NULL) {
		if (ytree_as_string(v, file, &s, err, errlen) != 0)
			return -1;
		if (getenv(s) == NULL)
			return ytree_error(err, errlen, file, v->line,
			                   "environment variable '%s' (key_env) is not set", s);
		r->key_env = xstrdup(s);
	}
	if (load_name(n, "auth", auth_from_name,
	              "'bearer', 'x-api-key', 'api-key', 'sigv4' or 'x-goog-api-key'", file, &auth,
	              err, errlen) != 0)
		return -1;
	r->auth = (enum auth_kind)auth;
	if (load_bedrock(file, r, n, err, errlen) != 0)
		return -1;
	/* the channel it sells (scoring/origin.h): serving through another is
	 * channel_misrepresented; unclaimed, the origin is only reported */
	int channel = CHANNEL_UNCLAIMED;
	if (load_name(n, "channel", origin_channel_from_name,
	              "unclaimed, official, bedrock, vertex, cloud, reverse or azure", file,
	              &channel, err, errlen) != 0)
		return -1;
	r->channel = channel;
	/* Azure's SDK sends the key as api-key on deployment URLs */
	if (r->auth == AUTH_DEFAULT && r->api != API_ANTHROPIC &&
	    endpoint_is_azure_deployment(r->base_url))
		r->auth = AUTH_API_KEY;
	if ((v = ytree_get(n, "headers")) != NULL) {
		size_t bad;
		if (load_headers(file, r, v, err, errlen) != 0)
			return -1;
		if (endpoint_headers_check(r->headers, r->n_headers, r->api, r->auth,
		                           r->key_env != NULL, &bad, why, sizeof why) != 0)
			return ytree_error(err, errlen, file,
			                   bad < v->n ? v->key_lines[bad] : v->line, "%s", why);
	}
	if ((v = ytree_get(n, "budget")) != NULL &&
	    load_budget(v, file, &r->budget, err, errlen) != 0)
		return -1;
	r->price_in = r->price_out = r->price_ratio = -1;
	if ((v = ytree_get(n, "balance")) != NULL &&
	    load_balance(v, file, &r->balance, err, errlen) != 0)
		return -1;
	if ((v = ytree_get(n, "price")) != NULL && load_price(v, file, r, err, errlen) != 0)
		return -1;
	r->interval_us = c->interval_us;
	if (load_duration(n, "interval", 1000000, "1s", file, &r->interval_us, err, errlen) != 0)
		return -1;
	r->passive = c->passive;
	if ((v = ytree_get(n, "passive")) != NULL &&
	    load_passive(v, file, &r->passive, err, errlen) != 0)
		return -1;
	v = ytree_get(n, "models");
	if (v == NULL || v->kind != YNODE_SEQ || v->n == 0)
		return ytree_error(err, errlen, file, v ? v->line : n->line,
		                   "relay '%s' needs a list of models", r->name);
	r->models = xcalloc(v->n, sizeof *r->models);
	for (size_t i = 0; i < v->n; i++) {
		if (ytree_as_string(v->items[i], file, &s, err, errlen) != 0)
			return -1;
		r->models[r->n_models++] = xstrdup(s);
	}
	/* an Azure deployment is one model: more would all be its answers */
	if (v->n > 1 && (r->wire_model != NULL || endpoint_is_azure_deployment(r->base_url)))
		return ytree_error(err, errlen, file, v->items[1]->line,
		                   "relay '%s' names one Azure deployment, which serves one "
		                   "model: list that one (a relay per deployment)",
		                   r->name);
	return 0;
}

/* The relay's entry, the file's defaults it takes (interval, timeout,
 * passive, time_scale, ca_file) and the secrets it reads (its key and
 * header values, the AWS credentials of a SigV4 relay), folded into one
 * digest. */
static uint64_t
relay_digest(const struct ynode *root, const struct ynode *entry, const struct config_relay *r)
{
	static const char *const defaults[] = {"interval",   "timeout", "passive",
	                                       "time_scale", "ca_file", NULL};
	uint64_t h = ytree_digest(entry, 14695981039346656037ULL);
	for (size_t i = 0; defaults[i] != NULL; i++)
		h = ytree_digest(ytree_get(root, defaults[i]), ytree_digest_str(defaults[i], h));
	h = ytree_digest_str(r->key_env ? getenv(r->key_env) : NULL, h);
	for (size_t i = 0; i < r->n_headers; i++)
		h = ytree_digest_str(r->headers[i].value, ytree_digest_str(r->headers[i].name, h));
	/* SigV4's credentials, read from the environment like a key */
	h = ytree_digest_str(r->aws.access_key_id, h);
	h = ytree_digest_str(r->aws.secret_access_key, h);
	h = ytree_digest_str(r->aws.session_token, h);
	return h;
}

static struct config *config_from_tree(struct ynode *root, const char *path, char *err,
                                       size_t errlen);

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct ynode *root = ytree_load_file(path, err, errlen);
	return root == NULL ? NULL : config_from_tree(root, path, err, errlen);
}

struct config *
config_load_string(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	struct ynode *root = ytree_load_string(text, len, name, err, errlen);
	return root == NULL ? NULL : config_from_tree(root, name, err, errlen);
}

/* Validate a parsed file named path into a config; root is freed. */
/* `quorum: N of M regions` (the hub's rule, cli/hub.h): 1 <= N <= M <= 16. */
static int
load_quorum(const struct ynode *v, const char *path, struct config *c, char *err, size_t errlen)
{
	int need = 0, of = 0, end = 0;
	if (v->kind != YNODE_SCALAR ||
	    sscanf(v->scalar, "%d of %d regions%n", &need, &of, &end) != 2 || end == 0 ||
	    v->scalar[end] != '\0' || need < 1 || of < need || of > 16) {
		ytree_error(err, errlen, path, v->line,
		            "expected 'quorum: N of M regions' (1 <= N <= M <= 16)");
		return -1;
	}
	c->quorum_need = need;
	c->quorum_of = of;
	return 0;
}

/* database_read: a PostgreSQL address without a password, beside a
 * PostgreSQL database (the replica is that database's). */
static int
load_database_read(const struct ynode *root, const char *path, struct config *c, char *err,
                   size_t errlen)
{
	const struct ynode *v = ytree_get(root, "database_read");
	if (v == NULL)
		return 0;
	if (get_string(root, "database_read", path, &c->database_read, err, errlen) != 0)
		return -1;
	char why[256];
	if (store_check_address(c->database_read, why, sizeof why) != 0) {
		ytree_error(err, errlen, path, v->line, "database_read: %s", why);
		return -1;
	}
	if (store_check_address(c->database, why, sizeof why) != 0) {
		ytree_error(err, errlen, path, v->line,
		            "database_read is a replica of a PostgreSQL database: 'database' must "
		            "be one (postgres://USER@HOST/DB)");
		return -1;
	}
	return 0;
}

static struct config *
config_from_tree(struct ynode *root, const char *path, char *err, size_t errlen)
{
	struct config *c = xcalloc(1, sizeof *c);
	c->path = xstrdup(path);
	c->title = xstrdup("Assay relay status");
	c->listen = xstrdup("127.0.0.1:8080");
	c->database = xstrdup("assay.db");
	c->interval_us = 300 * 1000000LL;
	c->timeout_us = 60 * 1000000LL;
	c->time_scale = 1;
	/* the keys added since keep the lines before them as they were */
	/* clang-format off */
	static const char *const keys[] = {"title",      "listen",
	                                   "database",   "ca_file",
	                                   "interval",   "timeout",
	                                   "relays",     "time_scale",
	                                   "passive",    "canary",
	                                   "canary_url", "alerts",
	                                   "budget",     "database_password_env",
	                                   "quorum",
	                                   "database_read", "database_read_password_env",
	                                   NULL};
	/* clang-format on */
	if (ytree_check_keys(root, path, keys, err, errlen) != 0)
		goto err;
	if (get_string(root, "title", path, &c->title, err, errlen) != 0 ||
	    get_string(root, "listen", path, &c->listen, err, errlen) != 0 ||
	    get_string(root, "database", path, &c->database, err, errlen) != 0 ||
	    get_string(root, "database_password_env", path, &c->database_password_env, err,
	               errlen) != 0 ||
	    get_string(root, "database_read_password_env", path, &c->database_read_password_env,
	               err, errlen) != 0 ||
	    get_string(root, "ca_file", path, &c->ca_file, err, errlen) != 0 ||
	    load_database_read(root, path, c, err, errlen) != 0)
		goto err;
	const struct ynode *v;
	if ((v = ytree_get(root, "quorum")) != NULL && load_quorum(v, path, c, err, errlen) != 0)
		goto err;
	if (load_duration(root, "interval", 1000000, "1s", path, &c->interval_us, err, errlen) !=
	        0 ||
	    load_duration(root, "timeout", 100000, "100ms", path, &c->timeout_us, err, errlen) != 0)
		goto err;
	/* simulated worlds: the relays' delays are this multiple of real ones */
	if ((v = ytree_get(root, "time_scale")) != NULL &&
	    ytree_as_double(v, path, 1e-4, 1000, &c->time_scale, err, errlen) != 0)
		goto err;
	c->passive.profile = TRAFFIC_CHAT;
	if ((v = ytree_get(root, "passive")) != NULL &&
	    load_passive(v, path, &c->passive, err, errlen) != 0)
		goto err;
	if (load_canary(c, root, err, errlen) != 0)
		goto err;
	if ((v = ytree_get(root, "budget")) != NULL &&
	    load_budget(v, path, &c->budget, err, errlen) != 0)
		goto err;
	if ((v = ytree_get(root, "alerts")) != NULL) {
		c->alerts = xcalloc(1, sizeof *c->alerts);
		if (alerts_config_load(v, path, c->alerts, err, errlen) != 0)
			goto err;
	}
	v = ytree_get(root, "relays");
	if (v == NULL || v->kind != YNODE_SEQ || v->n == 0) {
		ytree_error(err, errlen, path, v ? v->line : root->line,
		            "expected a list of relays under 'relays'");
		goto err;
	}
	c->relays = xcalloc(v->n, sizeof *c->relays);
	size_t loaded = 0;
	for (size_t i = 0; i < v->n; i++) {
		c->n_relays++;
		struct config_relay *r = &c->relays[i];
		if (load_relay(c, r, v->items[i], err, errlen) != 0) {
			/* a relay the file cannot name, or one named twice, is the
			 * file's error; any other is the relay's own */
			if (r->name == NULL || strstr(err, "duplicate relay name") != NULL)
				goto err;
			r->error = xstrdup(err);
			err[0] = '\0';
			continue;
		}
		r->digest = relay_digest(root, v->items[i], r);
		loaded++;
	}
	if (loaded == 0) {
		/* nothing would run: the first relay's error is the file's */
		snprintf(err, errlen, "%s", c->relays[0].error);
		goto err;
	}
	ytree_free(root);
	return c;
err:
	ytree_free(root);
	config_free(c);
	return NULL;
}
