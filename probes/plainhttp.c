/*
 * plainhttp: the plain-HTTP check of an https relay (see the header).
 *
 * The URL is rewritten with libcurl's URL API, never by hand; the request
 * goes through the engine like any other (its caps, its deadline), with no
 * key and no extra header, in a pool of its own.
 */
#include "probes/plainhttp.h"

#include <curl/curl.h>
#include <event2/event.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/engine.h"
#include "probes/models_list.h"

/* The check's pacing pool: not the relay's, whose circuit breaker must not
 * count a refused port 80. */
#define PLAINHTTP_POOL "assay:plain-http"
/* A model list is all the check reads; a longer body still classifies
 * (the status and Content-Type came first). */
#define PLAINHTTP_BODY_CAP (1u << 20)

char *
plainhttp_url(enum api_kind api, const char *base_url)
{
	char *list = models_list_url(api, base_url);
	char *scheme = NULL, *port = NULL, *url = NULL, *out = NULL;
	CURLU *u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, list, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    strcmp(scheme, "https") != 0)
		goto done;
	/* nothing that may be a secret goes out in clear */
	curl_url_set(u, CURLUPART_USER, NULL, 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
	curl_url_set(u, CURLUPART_QUERY, NULL, 0);
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	/* a port named other than https's own is kept; else http's own, 80 */
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && strcmp(port, "443") == 0)
		curl_url_set(u, CURLUPART_PORT, NULL, 0);
	if (curl_url_set(u, CURLUPART_SCHEME, "http", 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK)
		out = xstrdup(url);
done:
	curl_free(scheme);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	free(list);
	return out;
}

static void
done_cb(struct observation *obs, void *arg)
{
	struct plainhttp *p = arg;
	p->obs = obs;
	p->outcome = plainhttp_classify(obs);
}

void
plainhttp_start(struct plainhttp *p, struct engine *e, enum api_kind api, const char *base_url)
{
	memset(p, 0, sizeof *p);
	p->url = plainhttp_url(api, base_url);
	if (p->url == NULL)
		return;
	struct engine_request req = {
	    .pool = PLAINHTTP_POOL,
	    .api = api,
	    .url = p->url,
	    .listing = 1,
	    .cold = 1, /* its own connection, never one of the audit's */
	    .timeout_us = PLAINHTTP_TIMEOUT_US,
	    .body_cap = PLAINHTTP_BODY_CAP,
	};
	engine_submit(e, &req, done_cb, p);
}

void
plainhttp_wait(struct plainhttp *p, struct event_base *base)
{
	/* the engine ends every request, by its deadline at the latest; a
	 * loop with nothing left to wait for would mean it had not */
	while (p->url != NULL && p->obs == NULL)
		if (event_base_loop(base, EVLOOP_ONCE) != 0)
			fatal(70, "internal: the plain-HTTP check never ended");
}

void
plainhttp_release(struct plainhttp *p)
{
	if (p->obs != NULL) {
		observation_release(p->obs);
		free(p->obs);
	}
	free(p->url);
	memset(p, 0, sizeof *p);
}

/* Does s match pat (case-insensitive)? 0 for NULL. */
static int
matches(const char *pat, const char *s)
{
	if (s == NULL)
		return 0;
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	                               PCRE2_CASELESS | PCRE2_UTF, &code, &off, NULL);
	if (re == NULL)
		fatal(70, "internal: plain-HTTP pattern at %zu", (size_t)off);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0;
}

enum plainhttp_outcome
plainhttp_classify(const struct observation *o)
{
	if (o->http_status <= 0) {
		switch (o->error) {
		case ERR_DNS:
		case ERR_CONNECT:
			return PLAIN_NO_CONNECTION;
		case ERR_TIMEOUT:
		case ERR_IDLE:
			return PLAIN_TIMEOUT;
		case ERR_NOT_SENT:
		case ERR_ABORTED:
			return PLAIN_NOT_TRIED;
		default:
			return PLAIN_NOT_HTTP; /* closed, reset, not valid HTTP */
		}
	}
	if (o->http_status >= 300 && o->http_status < 400)
		return o->posture & OBS_POSTURE_TO_HTTPS ? PLAIN_TO_HTTPS : PLAIN_NOT_API;
	/* "use https": the word, not a link that happens to be one (an error
	 * pointing at https://relay.example/keys is still the API talking) */
	static const char says_https[] = "\\b(https|tls|ssl)\\b(?!://)";
	if (o->http_status == 426 ||
	    (o->http_status >= 400 &&
	     (matches(says_https, o->error_detail) || matches(says_https, o->text))))
		return PLAIN_SAYS_HTTPS;
	if (observation_ok(o) || matches("\\bjson\\b", o->content_type))
		return PLAIN_ANSWERS_API;
	return PLAIN_NOT_API;
}

const char *
plainhttp_outcome_name(enum plainhttp_outcome o)
{
	static const char *const names[PLAIN__COUNT] = {
	    [PLAIN_NOT_TRIED] = "not_tried",     [PLAIN_NO_CONNECTION] = "no_connection",
	    [PLAIN_TIMEOUT] = "timeout",         [PLAIN_NOT_HTTP] = "not_http",
	    [PLAIN_TO_HTTPS] = "redirect_https", [PLAIN_SAYS_HTTPS] = "asks_for_https",
	    [PLAIN_NOT_API] = "not_the_api",     [PLAIN_ANSWERS_API] = "answers_api",
	};
	return o >= 0 && o < PLAIN__COUNT ? names[o] : "not_tried";
}

int
plainhttp_weak(enum plainhttp_outcome o)
{
	return o == PLAIN_ANSWERS_API;
}
