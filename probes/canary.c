/*
 * canary: planted credentials and their listener (see the header).
 */
#include "probes/canary.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "base/util.h"
#include "probes/engine.h"

static void
random_chars(char *out, size_t n, const char *alphabet)
{
	unsigned char raw[64];
	size_t k = strlen(alphabet);
	while (n > 0) {
		size_t take = n < sizeof raw ? n : sizeof raw;
		if (getrandom(raw, take, 0) != (ssize_t)take)
			fatal(70, "cannot read random bytes");
		for (size_t i = 0; i < take; i++)
			*out++ = alphabet[raw[i] % k];
		n -= take;
	}
	*out = '\0';
}

void
canary_make(struct canary *c, const char *listener_url, const char *relay)
{
	memset(c, 0, sizeof *c);
	static const char base62[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	memcpy(c->key, "sk-proj-", 8);
	random_chars(c->key + 8, 40, base62);
	random_chars(c->token, 32, "0123456789abcdef");
	snprintf(c->url, sizeof c->url, "%s/c/%s/v1", listener_url, c->token);
	snprintf(c->relay, sizeof c->relay, "%s", relay ? relay : "");
	canary_sha256_hex(c->key, c->key_sha256);
	canary_sha256_hex(c->token, c->token_sha256);
	memcpy(c->digest, c->key_sha256, 16);
	c->digest[16] = '\0';
}

void
canary_sha256_hex(const char *s, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		fatal(70, "cannot hash a canary");
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void
canary_wipe(struct canary *c)
{
	explicit_bzero(c->key, sizeof c->key);
	explicit_bzero(c->token, sizeof c->token);
	explicit_bzero(c->url, sizeof c->url);
}

int
canary_redact(const struct canary *c, struct observation *o)
{
	char token[sizeof c->token];
	memcpy(token, c->token, sizeof token);
	char *const values[] = {token};
	int n = engine_redact(o, c->key, values, 1);
	explicit_bzero(token, sizeof token);
	return n;
}

int
canary_wanted(const char *s)
{
	return s != NULL && strstr(s, "{canary_") != NULL;
}

char *
canary_fill(const char *s, const struct canary *c)
{
	struct buf b;
	buf_init(&b, 0);
	const char *p = s;
	for (const char *hit; c != NULL && (hit = strstr(p, "{canary_")) != NULL;) {
		if (buf_add(&b, p, (size_t)(hit - p)) != 0)
			fatal(70, "internal: canary buffer");
		if (strncmp(hit, "{canary_key}", 12) == 0) {
			buf_puts(&b, c->key);
			p = hit + 12;
		} else if (strncmp(hit, "{canary_url}", 12) == 0) {
			buf_puts(&b, c->url);
			p = hit + 12;
		} else {
			buf_puts(&b, "{");
			p = hit + 1;
		}
	}
	buf_puts(&b, p);
	return buf_take(&b, NULL);
}

struct canary_listener {
	struct evhttp *http;
	struct canary **watched;
	size_t n;
	canary_request_cb cb;
	void *cb_arg;
	canary_query_cb query_cb;
	void *query_arg;
};

/* Printable ASCII of s, at most n - 1 bytes: a harvester's words are
 * untrusted. */
static void
keep_clean(char *out, size_t n, const char *s)
{
	size_t k = 0;
	for (; s != NULL && *s && k + 1 < n; s++)
		out[k++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[k] = '\0';
}

/*
 * Cut key-shaped runs (24 or more letters, digits, '-' and '_') out of s, in
 * place: a harvester may put the key it took in a path or query string, and
 * once the run is over serve no longer has the key to redact it by. Paths
 * and User-Agents of real clients hold no such runs.
 */
static void
scrub_keys(char *s)
{
	static const char word[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                           "0123456789-_";
	char *out = s;
	while (*s) {
		size_t k = strspn(s, word);
		if (k >= 24) {
			memcpy(out, "[key]", 5);
			out += 5;
		} else {
			memmove(out, s, k);
			out += k;
		}
		s += k;
		if (*s)
			*out++ = *s++;
	}
	*out = '\0';
}

/* What req was, as a hit: time, peer, User-Agent, method and its path
 * after token (the token is ours, the rest is the harvester's). */
static void
fill_hit(struct canary_hit *h, struct evhttp_request *req, const char *token, int with_key)
{
	memset(h, 0, sizeof *h);
	h->at_ms = wall_ms();
	h->with_key = with_key;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port = 0;
	if (conn != NULL)
		evhttp_connection_get_peer(conn, &addr, &port);
	char peer[80];
	snprintf(peer, sizeof peer, "%s:%u", addr ? addr : "?", (unsigned)port);
	keep_clean(h->peer, sizeof h->peer, peer);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	keep_clean(h->user_agent, sizeof h->user_agent, evhttp_find_header(in, "user-agent"));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	keep_clean(h->method, sizeof h->method,
	           cmd == EVHTTP_REQ_GET    ? "GET"
	           : cmd == EVHTTP_REQ_POST ? "POST"
	                                    : "OTHER");
	const char *uri = evhttp_request_get_uri(req);
	const char *rest = uri && token && *token ? strstr(uri, token) : NULL;
	keep_clean(h->path, sizeof h->path, rest ? rest + strlen(token) : uri);
	scrub_keys(h->path);
	scrub_keys(h->user_agent);
}

static void
record(struct canary *c, struct evhttp_request *req, int with_key)
{
	if (c->n_hits == CANARY_HITS_MAX) {
		c->more_hits++;
		return;
	}
	fill_hit(&c->hits[c->n_hits++], req, c->token, with_key);
}

/* The token of a path /c/TOKEN[/...] into out (n bytes; "" for none). */
static void
path_token(const char *uri, char *out, size_t n)
{
	out[0] = '\0';
	if (uri == NULL || strncmp(uri, "/c/", 3) != 0)
		return;
	size_t k = strcspn(uri + 3, "/?#");
	if (k == 0 || k >= n)
		return;
	memcpy(out, uri + 3, k);
	out[k] = '\0';
}

/* The key a request presents: a bearer token or an x-api-key value, into
 * out (n bytes; "" for none). */
static void
presented_key(const char *auth, const char *xkey, char *out, size_t n)
{
	out[0] = '\0';
	const char *k = NULL;
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		k = auth + 7;
	else if (xkey != NULL)
		k = xkey;
	while (k != NULL && *k == ' ')
		k++;
	if (k == NULL || *k == '\0' || strlen(k) >= n)
		return;
	snprintf(out, n, "%s", k);
	out[strcspn(out, " \t\r\n")] = '\0';
}

static void
notify(struct canary_listener *l, struct evhttp_request *req, const char *auth, const char *xkey)
{
	struct canary_request r;
	char token[80], key[256];
	memset(&r, 0, sizeof r);
	path_token(evhttp_request_get_uri(req), token, sizeof token);
	presented_key(auth, xkey, key, sizeof key);
	if (token[0])
		canary_sha256_hex(token, r.token_sha256);
	if (key[0])
		canary_sha256_hex(key, r.key_sha256);
	fill_hit(&r.hit, req, token, key[0] != '\0');
	explicit_bzero(key, sizeof key);
	l->cb(&r, l->cb_arg);
}

/* Is s 64 lower-case hex digits? */
static int
is_sha256_hex(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* GET /r/TOKEN_SHA256/KEY_SHA256: the uses of that canary, as JSON. 1 when
 * uri was such a query (answered), else 0. */
static int
answer_query(struct canary_listener *l, struct evhttp_request *req, const char *uri)
{
	if (l->query_cb == NULL || uri == NULL || strncmp(uri, "/r/", 3) != 0)
		return 0;
	struct canary_query q;
	memset(&q, 0, sizeof q);
	const char *t = uri + 3, *slash = strchr(t, '/');
	size_t tn = slash ? (size_t)(slash - t) : strcspn(t, "?#");
	const char *k = slash ? slash + 1 : "";
	size_t kn = strcspn(k, "/?#");
	int status = 400;
	char *body = NULL;
	if (is_sha256_hex(t, tn) && (kn == 0 || is_sha256_hex(k, kn))) {
		memcpy(q.token_sha256, t, tn);
		memcpy(q.key_sha256, k, kn);
		struct canary_hit hits[CANARY_HITS_MAX];
		long n = l->query_cb(&q, hits, CANARY_HITS_MAX, l->query_arg);
		body = canary_hits_json(hits, n > 0 ? (size_t)n : 0);
		status = 200;
	} else {
		body = xstrdup("{\"error\":\"GET /r/<token sha256>/<key sha256>\"}");
	}
	struct evbuffer *out = evbuffer_new();
	evbuffer_add(out, body, strlen(body));
	evhttp_add_header(evhttp_request_get_output_headers(req), "content-type",
	                  "application/json");
	evhttp_send_reply(req, status, status == 200 ? "OK" : "Bad Request", out);
	evbuffer_free(out);
	free(body);
	return 1;
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct canary_listener *l = arg;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET &&
	    answer_query(l, req, evhttp_request_get_uri(req)))
		return;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *auth = evhttp_find_header(in, "authorization");
	const char *xkey = evhttp_find_header(in, "x-api-key");
	const char *uri = evhttp_request_get_uri(req);
	for (size_t i = 0; i < l->n; i++) {
		struct canary *c = l->watched[i];
		int with_key = (auth && strstr(auth, c->key)) || (xkey && strstr(xkey, c->key));
		int with_token = uri && strstr(uri, c->token) != NULL;
		if (with_key || with_token)
			record(c, req, with_key);
	}
	if (l->cb != NULL)
		notify(l, req, auth, xkey);
	struct evbuffer *body = evbuffer_new();
	evbuffer_add_printf(body, "{\"error\":{\"message\":\"Incorrect API key provided.\","
	                          "\"type\":\"invalid_request_error\",\"param\":null,"
	                          "\"code\":\"invalid_api_key\"}}");
	evhttp_add_header(evhttp_request_get_output_headers(req), "content-type",
	                  "application/json");
	evhttp_send_reply(req, 401, "Unauthorized", body);
	evbuffer_free(body);
}

struct canary_listener *
canary_listen(struct event_base *base, const char *host, int port, char *url_out, size_t n)
{
	struct canary_listener *l = xcalloc(1, sizeof *l);
	l->http = evhttp_new(base);
	if (l->http == NULL)
		goto fail;
	evhttp_set_max_body_size(l->http, 1 << 16);
	evhttp_set_max_headers_size(l->http, 1 << 14);
	evhttp_set_gencb(l->http, request_cb, l);
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	struct evhttp_bound_socket *s =
	    evhttp_bind_socket_with_handle(l->http, host, (ev_uint16_t)port);
	if (s == NULL)
		goto fail;
	struct sockaddr_storage ss;
	ev_socklen_t sl = sizeof ss;
	int bound = port;
	if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &sl) == 0)
		bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	snprintf(url_out, n, "http://%s:%d", host, bound);
	return l;
fail:
	canary_listener_free(l);
	return NULL;
}

void
canary_watch(struct canary_listener *l, struct canary *c)
{
	l->watched = xrealloc(l->watched, (l->n + 1) * sizeof *l->watched);
	l->watched[l->n++] = c;
}

void
canary_listener_on_request(struct canary_listener *l, canary_request_cb cb, void *arg)
{
	l->cb = cb;
	l->cb_arg = arg;
}

void
canary_listener_free(struct canary_listener *l)
{
	if (l == NULL)
		return;
	if (l->http != NULL)
		evhttp_free(l->http);
	free(l->watched);
	free(l);
}

void
canary_listener_on_query(struct canary_listener *l, canary_query_cb cb, void *arg)
{
	l->query_cb = cb;
	l->query_arg = arg;
}

char *
canary_hits_json(const struct canary_hit *hits, size_t n)
{
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    list,
		    json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "at_ms", (json_int_t)hits[i].at_ms,
		              "peer", hits[i].peer, "user_agent", hits[i].user_agent, "method",
		              hits[i].method, "path", hits[i].path, "with_key", hits[i].with_key));
	json_t *root = json_pack("{s:o}", "hits", list);
	char *s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

/* A string member of o into out (sanitized, capped), "" when absent. */
static void
member(const json_t *o, const char *name, char *out, size_t n)
{
	keep_clean(out, n, json_string_value(json_object_get(o, name)));
}

int
canary_hits_from_json(struct canary *c, const char *json, size_t len)
{
	json_t *root = json_loadb(json, len, 0, NULL);
	json_t *list = json_object_get(root, "hits");
	if (!json_is_array(list)) {
		json_decref(root);
		return -1;
	}
	size_t i;
	json_t *h;
	json_array_foreach(list, i, h)
	{
		if (c->n_hits == CANARY_HITS_MAX) {
			c->more_hits++;
			continue;
		}
		struct canary_hit *out = &c->hits[c->n_hits];
		memset(out, 0, sizeof *out);
		json_t *at = json_object_get(h, "at_ms");
		if (!json_is_integer(at))
			continue;
		out->at_ms = (int64_t)json_integer_value(at);
		member(h, "peer", out->peer, sizeof out->peer);
		member(h, "user_agent", out->user_agent, sizeof out->user_agent);
		member(h, "method", out->method, sizeof out->method);
		member(h, "path", out->path, sizeof out->path);
		scrub_keys(out->path);
		scrub_keys(out->user_agent);
		out->with_key = json_is_true(json_object_get(h, "with_key"));
		c->n_hits++;
	}
	json_decref(root);
	return 0;
}
