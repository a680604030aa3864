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

#include "base/util.h"
#include "base/yamltree.h"
#include "scoring/baseline.h"
#include "scoring/origin.h"
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
		free(r->key_env);
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
	free(c->ca_file);
	free(c->canary_listen);
	free(c->canary_url);
	free(c);
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
	const struct ynode *v = ytree_get(map, key);
	const char *s;
	if (v == NULL)
		return 0;
	if (ytree_as_string(v, file, &s, err, errlen) != 0)
		return -1;
	free(*out);
	*out = xstrdup(s);
	return 0;
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
 * api-version=preview).
 */
static int
load_azure(const char *file, struct config_relay *r, const struct ynode *v, char *err,
           size_t errlen)
{
	static const char *const keys[] = {"deployment", "api_version", NULL};
	if (v->kind != YNODE_MAP)
		return ytree_error(err, errlen, file, v->line,
		                   "azure is a mapping, e.g. {deployment: prod-4o, api_version: "
		                   "2024-10-21}");
	if (ytree_check_keys(v, file, keys, err, errlen) != 0)
		return -1;
	char *deployment = NULL, *version = NULL, *url = NULL, why[512];
	int rc = -1;
	if (get_string(v, "deployment", file, &deployment, err, errlen) != 0 ||
	    get_string(v, "api_version", file, &version, err, errlen) != 0)
		goto done;
	if (deployment == NULL && version == NULL) {
		ytree_error(err, errlen, file, v->line,
		            "azure needs a deployment or an api_version");
		goto done;
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

static int
load_relay(struct config *c, struct config_relay *r, const struct ynode *n, char *err,
           size_t errlen)
{
	static const char *const keys[] = {"name",    "base_url", "api",     "key_env",
	                                   "auth",    "headers",  "models",  "interval",
	                                   "passive", "azure",    "channel", NULL};
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
	r->api = API_OPENAI;
	int api = API_OPENAI, auth = AUTH_DEFAULT;
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
	if (load_name(n, "auth", auth_from_name, "'bearer', 'x-api-key' or 'api-key'", file, &auth,
	              err, errlen) != 0)
		return -1;
	r->auth = (enum auth_kind)auth;
	/* the channel it sells (scoring/origin.h): serving through another is
	 * channel_misrepresented; unclaimed, the origin is only reported */
	int channel = CHANNEL_UNCLAIMED;
	if (load_name(n, "channel", origin_channel_from_name,
	              "unclaimed, official, bedrock, vertex, cloud or reverse", file, &channel, err,
	              errlen) != 0)
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
	return 0;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct ynode *root = ytree_load_file(path, err, errlen);
	if (root == NULL)
		return NULL;
	struct config *c = xcalloc(1, sizeof *c);
	c->path = xstrdup(path);
	c->title = xstrdup("Assay relay status");
	c->listen = xstrdup("127.0.0.1:8080");
	c->database = xstrdup("assay.db");
	c->interval_us = 300 * 1000000LL;
	c->timeout_us = 60 * 1000000LL;
	c->time_scale = 1;
	static const char *const keys[] = {"title",    "listen",  "database",   "ca_file",
	                                   "interval", "timeout", "relays",     "time_scale",
	                                   "passive",  "canary",  "canary_url", NULL};
	if (ytree_check_keys(root, path, keys, err, errlen) != 0)
		goto err;
	if (get_string(root, "title", path, &c->title, err, errlen) != 0 ||
	    get_string(root, "listen", path, &c->listen, err, errlen) != 0 ||
	    get_string(root, "database", path, &c->database, err, errlen) != 0 ||
	    get_string(root, "ca_file", path, &c->ca_file, err, errlen) != 0)
		goto err;
	const struct ynode *v;
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
	v = ytree_get(root, "relays");
	if (v == NULL || v->kind != YNODE_SEQ || v->n == 0) {
		ytree_error(err, errlen, path, v ? v->line : root->line,
		            "expected a list of relays under 'relays'");
		goto err;
	}
	c->relays = xcalloc(v->n, sizeof *c->relays);
	for (size_t i = 0; i < v->n; i++) {
		c->n_relays++;
		if (load_relay(c, &c->relays[i], v->items[i], err, errlen) != 0)
			goto err;
	}
	ytree_free(root);
	return c;
err:
	ytree_free(root);
	config_free(c);
	return NULL;
}
