/*
 * Audits carry no fixed marker (issue 15): across 50 rendered audits per
 * API, no run of 20 or more characters appears in more than 5% of the
 * requests, apart from what the clients themselves share. The client
 * profiles: what they claim, what the engine sends for them.
 *
 * What real clients share and this test therefore leaves out: the system
 * prompt a client adds to every conversation (Claude Code's first line),
 * the JSON keys and the model name of every body, and the header set of a
 * profile (the same on every request of every user of that client). The
 * requests are rendered as audit_start() renders them (catalog + profile),
 * without the network.
 */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "probes/catalog.h"
#include "probes/clients.h"
#include "probes/engine.h"
#include "tests/helpers.h"

#define WINDOW 20 /* characters (code points) */
#define AUDITS 50
#define TABLE_BITS 22

struct counter {
	uint64_t *hash;
	uint32_t *count;
	uint32_t *last; /* the request that last counted it, + 1 */
	size_t max_at;  /* slot of the most shared window */
	uint32_t requests;
	char worst[WINDOW * 4 + 1];
};

static void
counter_init(struct counter *c)
{
	memset(c, 0, sizeof *c);
	c->hash = xcalloc((size_t)1 << TABLE_BITS, sizeof *c->hash);
	c->count = xcalloc((size_t)1 << TABLE_BITS, sizeof *c->count);
	c->last = xcalloc((size_t)1 << TABLE_BITS, sizeof *c->last);
}

static void
counter_free(struct counter *c)
{
	free(c->hash);
	free(c->count);
	free(c->last);
}

/* Count every WINDOW-character run of text once for the current request. */
static void
count_text(struct counter *c, const char *text)
{
	size_t len = strlen(text), n = 0;
	size_t *starts = xcalloc(len + 1, sizeof *starts);
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)text[i] & 0xC0) != 0x80)
			starts[n++] = i;
	starts[n] = len;
	for (size_t i = 0; i + WINDOW <= n; i++) {
		const char *w = text + starts[i];
		size_t wl = starts[i + WINDOW] - starts[i];
		uint64_t h = 1469598103934665603ull;
		for (size_t k = 0; k < wl; k++)
			h = (h ^ (unsigned char)w[k]) * 1099511628211ull;
		h |= 1; /* 0 marks a free slot */
		size_t mask = ((size_t)1 << TABLE_BITS) - 1, s = (size_t)h & mask;
		while (c->hash[s] != 0 && c->hash[s] != h)
			s = (s + 1) & mask;
		c->hash[s] = h;
		if (c->last[s] == c->requests + 1)
			continue;
		c->last[s] = c->requests + 1;
		if (++c->count[s] > c->count[c->max_at]) {
			c->max_at = s;
			snprintf(c->worst, sizeof c->worst, "%.*s", (int)wl, w);
		}
	}
	free(starts);
}

/* Render `audits` audits of c's cheap and medium probes on api, each as the
 * client client_pick() gives for its seed, into counter k. */
static void
render_audits(struct counter *k, const struct catalog *c, enum api_kind api, int audits)
{
	for (int a = 0; a < audits; a++) {
		const struct client_profile *cl = client_pick(api, (uint64_t)a);
		for (size_t i = 0; i < c->n; i++) {
			const struct probe_def *p = &c->probes[i];
			if (!(p->tier & (TIER_CHEAP | TIER_MEDIUM)) ||
			    adapter_cannot(api, &p->intent) != NULL)
				continue;
			struct probe_message *msgs = xcalloc(CLIENT_RENDER_MAX(p), sizeof *msgs);
			char nonce[16];
			probe_nonce(nonce);
			size_t n = client_render(cl, p, nonce, msgs);
			for (int s = 0; s < p->samples; s++) {
				if (s > 0 && !p->repeat) {
					for (size_t m = 0; m < n; m++)
						free((char *)msgs[m].content);
					probe_nonce(nonce);
					n = client_render(cl, p, nonce, msgs);
				}
				for (size_t m = 0; m < n; m++)
					/* a client's own system prompt is shared by
					 * all its traffic: not a marker of ours */
					if (cl->system == NULL ||
					    strcmp(msgs[m].content, cl->system) != 0)
						count_text(k, msgs[m].content);
				k->requests++;
			}
			for (size_t m = 0; m < n; m++)
				free((char *)msgs[m].content);
			free(msgs);
		}
	}
}

Test(marker, no_run_of_20_characters_in_over_5_percent_of_requests)
{
	char err[256];
	struct catalog *c = catalog_load_default(err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	enum api_kind apis[] = {API_OPENAI, API_ANTHROPIC, API_RESPONSES};
	for (size_t a = 0; a < sizeof apis / sizeof apis[0]; a++) {
		struct counter k;
		counter_init(&k);
		render_audits(&k, c, apis[a], AUDITS);
		cr_assert_gt(k.requests, (uint32_t)AUDITS * 15);
		double share = (double)k.count[k.max_at] / k.requests;
		cr_expect_leq(
		    share, 0.05,
		    "%s: \"%s\" is in %u of %u requests (%.1f%%): a marker a relay can key "
		    "on",
		    api_name(apis[a]), k.worst, k.count[k.max_at], k.requests, 100 * share);
		counter_free(&k);
	}
	catalog_free(c);
}

/* The check can fail: a catalog worded as the old one was (a fixed
 * one-word-reply suffix on the fingerprint probes) is caught. */
Test(marker, the_old_wording_is_caught)
{
	char dir[256], path[512];
	test_tmpdir_file(dir, sizeof dir, "marker", path, sizeof path, "old.yaml");
	cr_assert_eq(
	    test_write_file(path, "probes:\n"
	                          "  - id: a\n"
	                          "    messages:\n"
	                          "      - user: \"{nonce} {pick:one|two|three} (Reply with the "
	                          "single word: pong)\"\n"
	                          "  - id: b\n"
	                          "    messages:\n"
	                          "      - user: \"{nonce} {pick:four|five} (Reply with the "
	                          "single word: pong)\"\n"
	                          "  - id: c\n"
	                          "    messages:\n"
	                          "      - user: \"{nonce} {pick:Hello|Hi} how are you {pick:"
	                          "today|now}\"\n"
	                          "  - id: d\n"
	                          "    messages:\n"
	                          "      - user: \"{nonce} {pick:Good day|Hey} what is new {pick:"
	                          "here|there}\"\n"),
	    0);
	char err[256];
	struct catalog *c = catalog_load(path, err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	struct counter k;
	counter_init(&k);
	render_audits(&k, c, API_OPENAI, AUDITS);
	cr_expect_gt((double)k.count[k.max_at] / k.requests, 0.05);
	cr_expect(strstr(" (Reply with the single word: pong)", k.worst) != NULL, "worst: %s",
	          k.worst);
	counter_free(&k);
	catalog_free(c);
	test_rmtree(dir);
}

/* Nested nonces render inside a pick, and no "[ref" marker is left. */
Test(marker, nonce_forms)
{
	char nonce[16];
	probe_nonce(nonce);
	cr_assert_eq(strlen(nonce), 8);
	char *t = probe_render("{pick:file_{nonce_hex}.md|order {nonce_num}}", nonce);
	cr_expect(strstr(t, nonce) != NULL || strncmp(t, "order 1", 7) >= 0, "%s", t);
	cr_expect(strstr(t, "[ref") == NULL && strchr(t, '{') == NULL, "%s", t);
	free(t);
}

Test(clients, profiles_are_sound)
{
	static const char *const owned[] = {
	    "authorization",     "x-api-key", "host",   "content-type",        "content-length",
	    "transfer-encoding", "expect",    "cookie", "proxy-authorization", NULL};
	size_t n;
	const struct client_profile *ps = client_profiles(&n);
	cr_assert_geq(n, 6);
	for (size_t i = 0; i < n; i++) {
		const struct client_profile *p = &ps[i];
		int ua = 0;
		size_t k = 0;
		for (const char *const *h = p->headers; *h != NULL; h++, k++) {
			const char *colon = strchr(*h, ':');
			cr_assert_not_null(colon, "%s: '%s'", p->name, *h);
			size_t len = (size_t)(colon - *h);
			for (size_t o = 0; owned[o]; o++)
				cr_expect(!(strlen(owned[o]) == len &&
				            strncasecmp(*h, owned[o], len) == 0),
				          "%s sends '%s', a header Assay owns", p->name, *h);
			if (strncasecmp(*h, "User-Agent: ", 12) == 0)
				ua = strcmp(*h + 12, p->user_agent) == 0;
		}
		cr_expect(ua, "%s: its User-Agent line is not '%s'", p->name, p->user_agent);
		cr_expect_leq(k, CLIENT_HEADERS_MAX);
		cr_expect_eq(client_find(p->name), p);
	}
	/* the same seed, the same profile; every API has several */
	for (int api = 0; api < API__COUNT; api++) {
		const struct client_profile *seen[16] = {0};
		size_t distinct = 0;
		for (uint64_t s = 0; s < 200; s++) {
			const struct client_profile *p = client_pick((enum api_kind)api, s);
			cr_assert_eq(p, client_pick((enum api_kind)api, s));
			cr_assert((p->apis >> api) & 1u, "%s does not speak %s", p->name,
			          api_name((enum api_kind)api));
			size_t j = 0;
			while (j < distinct && seen[j] != p)
				j++;
			if (j == distinct && distinct < 16)
				seen[distinct++] = p;
		}
		cr_expect_geq(distinct, 3, "%s: only %zu profiles picked",
		              api_name((enum api_kind)api), distinct);
	}
}

/* What the engine puts on the wire for a profile: its lines in its order,
 * its User-Agent and not Assay's, the key once, and a caller's header
 * replacing the profile's of the same name. */
struct capture {
	struct event_base *base;
	char headers[4096];
	int done;
};

static void
capture_cb(struct evhttp_request *req, void *arg)
{
	struct capture *c = arg;
	size_t off = 0;
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	for (struct evkeyval *kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next)
		off += (size_t)snprintf(c->headers + off, sizeof c->headers - off, "%s: %s\n",
		                        kv->key, kv->value);
	struct evbuffer *out = evbuffer_new();
	evbuffer_add_printf(out, "{}");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
engine_done(struct observation *obs, void *arg)
{
	struct capture *c = arg;
	observation_release(obs);
	free(obs);
	c->done = 1;
	event_base_loopbreak(c->base);
}

Test(clients, engine_sends_the_profile)
{
	struct capture c = {.base = event_base_new()};
	struct evhttp *http = evhttp_new(c.base);
	int port = test_evhttp_listen(http);
	cr_assert_gt(port, 0);
	evhttp_set_gencb(http, capture_cb, &c);
	struct engine *e = engine_new(c.base, &(struct engine_options){0});
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/messages", port);
	const struct client_profile *p = client_find("claude-code");
	cr_assert_not_null(p);
	char name[] = "x-app", value[] = "desktop";
	struct http_header extra = {name, value};
	struct engine_request req = {.api = API_ANTHROPIC,
	                             .url = url,
	                             .api_key = "sk-test-key-0123456789",
	                             .headers = &extra,
	                             .n_headers = 1,
	                             .client_headers = p->headers,
	                             .body = "{}",
	                             .timeout_us = 10000000};
	engine_submit(e, &req, engine_done, &c);
	struct timeval bound = {20, 0};
	event_base_loopexit(c.base, &bound);
	event_base_dispatch(c.base);
	cr_assert(c.done, "the request never ended");
	const char *h = c.headers;
	cr_expect(strstr(h, "User-Agent: claude-cli/") != NULL, "%s", h);
	cr_expect(strstr(h, "assay") == NULL, "%s", h);
	cr_expect(strstr(h, "x-app: desktop") != NULL && strstr(h, "x-app: cli") == NULL, "%s", h);
	cr_expect(strstr(h, "anthropic-beta: claude-code-20250219") != NULL, "%s", h);
	cr_expect(strstr(h, "anthropic-version: 2023-06-01") != NULL, "%s", h);
	const char *key = strstr(h, "sk-test-key-0123456789");
	cr_expect(key != NULL && strstr(key + 1, "sk-test-key-0123456789") == NULL, "%s", h);
	/* the profile's order: the Stainless headers before the User-Agent */
	const char *lang = strstr(h, "X-Stainless-Lang"), *ua = strstr(h, "User-Agent");
	cr_expect(lang != NULL && ua != NULL && lang < ua, "%s", h);
	engine_free(e);
	evhttp_free(http);
	event_base_free(c.base);
}
