/*
 * engine: the probe engine's curl and libevent glue, and its public API
 * (probes/engine.h).
 *
 * Owns curl's multi handle and the easy handles, the libevent events that
 * carry curl's sockets and timer, the transfers (a request's own copy of
 * what it needs, and its observation while it fills in), how a failed
 * transfer is classified, and the done callbacks. The engine's other parts
 * own the rest, each behind a header that only the engine's files (and
 * tests) include: probes/pacing.c the pools, queues and waits;
 * probes/arrival.c the chunk stamps and timing_disturbed; probes/redact.c
 * the secrets kept out of observations; probes/tlsinfo.c the TLS version
 * and certificate expiry read from curl's OpenSSL handle.
 *
 * States of a transfer:
 *
 *   engine_submit() -> QUEUED (pacing) -> start_cb -> IN FLIGHT (curl; active)
 *   QUEUED -> expire_cb (not_sent), or start_one() failing -> DEFERRED
 *   IN FLIGHT -> check_done(); DEFERRED -> deferred_fail_cb() on the
 *   loop's next turn, or engine_free()
 *   both -> finish_transfer(): timings, classification, redaction, pacing's
 *   note of the result, the done callback; the transfer is freed.
 *
 * engine_free() ends what is in flight and what is queued as aborted, and
 * runs the callbacks of what had ended unsent but not yet called back.
 * Teardown order follows curl's example: remove easies,
 * curl_multi_cleanup(), then the caller frees the event_base.
 *
 * Invariants: a transfer is in one state at a time, and reaches
 * finish_transfer() exactly once, which calls its callback exactly once;
 * the key and the extra header values are wiped before their memory is
 * freed. Everything runs on the event loop's thread, and no callback
 * blocks.
 */
#include "probes/engine.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "probes/arrival.h"
#include "probes/engine_test.h" /* defines engine_base_new */
#include "probes/pacing.h"
#include "probes/ratelimit.h"
#include "probes/redact.h"
#include "probes/sigv4.h"
#include "probes/bedrock.h"
#include "probes/tlsinfo.h"

/*
 * A request as submitted: what it sends and its place in the queue, which
 * is all a queued request costs. One allocation: this struct, then the
 * extra headers' array, the key and the headers' text (the secret part,
 * wiped before it is freed), then the URL and the body. The transfer that
 * carries it (curl's handle, the header list, the observation, the parse
 * state) is made when it starts, or when it ends unsent.
 */
struct request {
	struct engine *engine;
	struct pacing_entry pace; /* its pool, its place in the queue */
	engine_done_cb cb;
	void *arg;
	char *url;
	char *body;
	size_t body_len;
	char *api_key; /* NULL: none */
	/* the caller's extra headers, names and values copied (the values are
	 * secrets, like the key) */
	struct http_header *headers;
	size_t n_headers;
	const char *const *client_headers; /* static text (engine_request) */
	struct aws_credentials *aws;       /* SigV4 signing; NULL: none */
	char *secret;                      /* the key and the headers' text ... */
	size_t secret_len;                 /* ... so many bytes, wiped */
	int64_t timeout_us, idle_timeout_us;
	size_t header_cap, body_cap, stop_after_chunks;
	enum api_kind api;
	enum auth_kind auth;
	int listing; /* GET the model list, see engine_request */
	unsigned char stream, cold, bedrock;
};

/* A request started (or ended unsent): curl's side and the observation as
 * it fills in. */
struct transfer {
	struct request *rq;
	struct transfer *next; /* the in-flight list */
	struct transfer *prev;
	CURL *easy;
	struct curl_slist *headers;
	size_t header_bytes;
	int64_t start_us;
	struct arrival_transfer arrival;
	struct observation *obs;
	struct adapter_parse parse;
	int status;
	int64_t last_byte_at;          /* now_us() of the last response byte; 0: none yet */
	int body_started;              /* write_cb has run: past the headers */
	int easy_reusable;             /* curl is done with easy: it may serve another */
	struct ratelimit_seen rl_seen; /* the rate-limit headers, as they came */
	int apim_seen;                 /* ... and apim-request-id (Azure's gateway) */
	char errbuf[CURL_ERROR_SIZE];  /* curl's own words for a failure */
};

/* What a 0 in engine_options or engine_request means (probes/engine.h
 * says the same): requests at once, the overall deadline, the wait for the
 * next byte of a stream, and the caps on a response's body and headers. */
#define DEFAULT_MAX_IN_FLIGHT 256
#define DEFAULT_TIMEOUT_US 120000000
#define DEFAULT_IDLE_TIMEOUT_US 30000000
#define DEFAULT_BODY_CAP (8u << 20)
#define DEFAULT_HEADER_CAP (64 * 1024)

/* Connecting (TCP and TLS) may take at most this long, or the request's
 * deadline if that is shorter: a slower connection ends as a connect (or
 * TLS) failure without using up the deadline (see classify_failure). */
#define CONNECT_TIMEOUT_MAX_MS 15000

/* Per-transfer receive buffer (see setup_easy). 2 KiB: 4 KiB was a fifth
 * of an open stream's memory (about 19.5 KiB in all, most of it curl's
 * handle and connection); a streamed event is a few hundred bytes, and a
 * burst takes a few reads more (bench/engine.sh's 6 KiB answer: 4 reads
 * instead of 2, 0.5% more instructions a probe under callgrind). libcurl
 * takes 1024 at least (CURLOPT_BUFFERSIZE(3)), and from 8.7.0 keeps one
 * receive buffer per multi handle, not per transfer (the same page): with
 * it, this option costs an open stream nothing. */
#define RECV_BUFFER_SIZE 2048

/* At its deadline, a response that sent nothing for this long (or less, if
 * the idle timeout is shorter) had stalled: idle, not still coming. */
#define STALL_US 1000000

/* Caps on the header values an observation keeps: a remaining-requests
 * count is a number, a Content-Type a short token with parameters. */
#define RATELIMIT_FIELD_CAP 64
#define CONTENT_TYPE_CAP 128

/* Reset easy handles kept for reuse (see struct engine). */
#define IDLE_EASY_MAX 64

/* How Assay names itself to relays. */
#define USER_AGENT "assay/0.1"
/* Sent to Anthropic's API unless the caller's extra headers name one: the
 * version whose request and response shapes the adapter speaks. */
#define ANTHROPIC_VERSION_DEFAULT "2023-06-01"

struct engine {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct pacing *pacing;
	struct arrival *arrival;
	struct transfer *active; /* doubly linked */
	/* transfers that end without curl (not sent), from the loop's next
	 * turn: linked by next, in order */
	struct event *deferred;
	struct transfer *deferred_head, *deferred_tail;
	char *ca_file;
	int insecure;
	int discard_bodies; /* bench only, see engine_options */
	/* easy handles of finished transfers, reset, for the next ones:
	 * curl_easy_init() and curl_easy_cleanup() were a tenth of a probe's
	 * instructions outside parsing; curl_easy_reset() sets every option
	 * back to its default, so a reused handle starts as a new one */
	CURL *idle[IDLE_EASY_MAX];
	size_t n_idle;
};

struct sock_ctx {
	struct event *ev; /* points just past this struct */
	curl_socket_t fd;
} __attribute__((aligned(16)));

static void check_done(struct engine *e);
static void deferred_fail_cb(evutil_socket_t fd, short what, void *arg);
static int start_cb(struct pacing_entry *entry, void *arg);
static void expire_cb(struct pacing_entry *entry, enum error_class ec, const char *why, void *arg);

/* The request an entry of pacing's is part of. */
static struct request *
request_of(struct pacing_entry *entry)
{
	return (struct request *)((char *)entry - offsetof(struct request, pace));
}

static int
sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN)
		arrival_socket_opened(fd);
	return CURL_SOCKOPT_OK;
}

static void
event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	int flags = 0, running;
	arrival_run_begin(e->arrival, what & EV_READ ? fd : -1);
	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(e->multi, fd, flags, &running);
	arrival_run_end(e->arrival);
	check_done(e);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct engine *e = arg;
	int running;
	arrival_run_begin(e->arrival, -1);
	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	arrival_run_end(e->arrival);
	check_done(e);
}

static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	(void)multi;
	struct engine *e = arg;
	if (timeout_ms < 0) {
		evtimer_del(e->timer);
		return 0;
	}
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	evtimer_add(e->timer, &tv);
	return 0;
}

static int
multi_socket_cb(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct engine *e = arg;
	struct sock_ctx *sc = sockp;
	if (what == CURL_POLL_REMOVE) {
		if (sc != NULL) {
			event_del(sc->ev);
			free(sc);
			curl_multi_assign(e->multi, s, NULL);
		}
		return 0;
	}
	/* which transfer reads from s: its data may take s's kernel stamp (curl
	 * names one transfer per socket; others on an HTTP/2 connection keep
	 * none and are stamped by the loop instead) */
	struct transfer *owner = NULL;
	if (easy != NULL &&
	    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&owner) == CURLE_OK && owner != NULL)
		arrival_transfer_socket(&owner->arrival, s);
	short kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (sc == NULL) {
		/* the event lives inside the context: one allocation per socket */
		sc = xcalloc(1, sizeof *sc + event_get_struct_event_size());
		sc->ev = (struct event *)(sc + 1);
		sc->fd = s;
		curl_multi_assign(e->multi, s, sc);
	} else {
		event_del(sc->ev);
	}
	event_assign(sc->ev, e->base, s, kind, event_cb, e);
	event_add(sc->ev, NULL);
	return 0;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;
	int64_t read_at = now_us();
	struct engine *e = t->rq->engine;
	int64_t now = arrival_stamp(e->arrival, &t->arrival, t->start_us, read_at);
	t->last_byte_at = read_at;
	t->body_started = 1;
	if (t->obs->ttfb_us < 0)
		t->obs->ttfb_us = now - t->start_us;
	if (t->status == 0) {
		long code = 0;
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
		t->status = (int)code;
	}
	if (e->discard_bodies)
		return n;
	size_t chunks_before = t->obs->n_chunks, events_before = t->parse.events;
	int rc = adapter_parse_feed(&t->parse, t->status, ptr, n, now);
	int64_t waited =
	    arrival_read_disturbed(e->arrival, &t->arrival, t->obs->n_chunks - chunks_before,
	                           t->parse.events - events_before, read_at, now);
	if (waited > 0) {
		t->obs->timing_disturbed = 1;
		if (waited > t->obs->timing_slack_us)
			t->obs->timing_slack_us = waited;
	}
	if (rc != 0)
		return CURL_WRITEFUNC_ERROR; /* stop: the reason is in obs */
	return n;
}

/* The header values header_cb keeps or looks at. */
enum read_header {
	READ_RATELIMIT_REMAINING,
	READ_REQUEST_ID,
	READ_CONTENT_TYPE,
	READ_HSTS,
	READ_CORS,
};

/* Their names, with their lengths: a header line is compared with the
 * names of its own length only. */
#define NAME(s) s, sizeof s - 1
static const struct {
	const char *name;
	size_t len;
	enum read_header what;
} read_headers[] = {
    {NAME("x-ratelimit-remaining-requests"), READ_RATELIMIT_REMAINING},
    {NAME("anthropic-ratelimit-requests-remaining"), READ_RATELIMIT_REMAINING},
    {NAME("x-request-id"), READ_REQUEST_ID},
    {NAME("request-id"), READ_REQUEST_ID},
    {NAME("content-type"), READ_CONTENT_TYPE},
    {NAME("strict-transport-security"), READ_HSTS},
    {NAME("access-control-allow-origin"), READ_CORS},
};

/* Is line (name_len bytes of a name, then ':') the header name (nl bytes)?
 * Its value, trimmed, in value and vlen. */
static int
header_is(const char *line, size_t len, size_t name_len, const char *name, size_t nl,
          const char **value, size_t *vlen)
{
	if (nl != name_len || strncasecmp(line, name, nl) != 0)
		return 0;
	const char *v = line + nl + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	*value = v;
	*vlen = (size_t)(end - v);
	return 1;
}

/* Which protocol header (OBS_HDR_*) a header line is, if any: the names
 * only, for the fingerprint; values are not kept. */
static unsigned
protocol_header(const char *line, size_t len)
{
	static const struct {
		const char *prefix;
		size_t len;
		unsigned bit;
	} marks[] = {
	    {NAME("request-id:"), OBS_HDR_REQUEST_ID},
	    {NAME("x-request-id:"), OBS_HDR_X_REQUEST_ID},
	    /* before the API key's: the first prefix that fits is taken */
	    {NAME("anthropic-ratelimit-unified-"), OBS_HDR_ANTHROPIC_UNIFIED},
	    {NAME("anthropic-ratelimit-"), OBS_HDR_ANTHROPIC_RATELIMIT},
	    {NAME("x-ratelimit-"), OBS_HDR_OPENAI_RATELIMIT},
	    {NAME("anthropic-organization-id:"), OBS_HDR_ANTHROPIC_ORG},
	    {NAME("openai-organization:"), OBS_HDR_OPENAI_ORG},
	    {NAME("openai-version:"), OBS_HDR_OPENAI_ORG},
	    {NAME("x-amzn-"), OBS_HDR_AMZN},
	    {NAME("x-goog-"), OBS_HDR_GOOG},
	    {NAME("x-cloudaicompanion-"), OBS_HDR_GOOG},
	};
	int first = len > 0 && line[0] >= 'A' && line[0] <= 'Z' ? line[0] - 'A' + 'a' : line[0];
	for (size_t i = 0; len > 0 && i < sizeof marks / sizeof marks[0]; i++) {
		if (marks[i].prefix[0] != first)
			continue; /* every prefix is lower case */
		size_t k = marks[i].len;
		if (len > k && strncasecmp(line, marks[i].prefix, k) == 0)
			return marks[i].bit;
	}
	return 0;
}

static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;
	t->last_byte_at = now_us();
	t->header_bytes += n;
	if (t->header_bytes > t->rq->header_cap) {
		char why[96];
		snprintf(why, sizeof why, "response headers over Assay's %zu-byte cap",
		         t->rq->header_cap);
		t->obs->error = ERR_TOO_LARGE;
		observation_set(&t->obs->error_detail, why, strlen(why), OBS_DETAIL_CAP);
		return 0; /* curl stops the transfer (a write error) */
	}
	const char *v;
	size_t vlen;
	if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		t->status = 0; /* a new response (after 1xx) */
		/* the TLS session is curl's only while the connection is the
		 * transfer's: read now, not in finish_transfer */
		if (t->obs->tls_version == OBS_TLS_NONE)
			tlsinfo_read(t->easy, t->obs);
		ratelimit_seen_reset(&t->rl_seen);
		t->apim_seen = 0;
		return n;
	}
	/* the name's length, once: a name never holds ':' */
	const char *colon = memchr(ptr, ':', n);
	if (colon == NULL) {
		t->obs->headers_seen |= protocol_header(ptr, n);
		return n;
	}
	size_t nl = (size_t)(colon - ptr);
	if (!t->body_started) { /* after the body: a trailer, which curl's
		                 * CURLH_HEADER leaves out */
		ratelimit_seen_header(&t->rl_seen, ptr, nl);
		if (nl == 15 && strncasecmp(ptr, "apim-request-id", 15) == 0)
			t->apim_seen = 1;
	}
	/* Retry-After (seconds or an HTTP date) is read by curl itself, at the end;
	 * the names are all different: one of them at most is this line's */
	for (size_t i = 0; i < sizeof read_headers / sizeof read_headers[0]; i++) {
		if (!header_is(ptr, n, nl, read_headers[i].name, read_headers[i].len, &v, &vlen))
			continue;
		switch (read_headers[i].what) {
		case READ_RATELIMIT_REMAINING:
			observation_set(&t->obs->ratelimit_remaining, v, vlen, RATELIMIT_FIELD_CAP);
			break;
		case READ_REQUEST_ID:
			observation_set(&t->obs->request_id, v, vlen, OBS_FIELD_CAP);
			break;
		case READ_CONTENT_TYPE:
			observation_set(&t->obs->content_type, v, vlen, CONTENT_TYPE_CAP);
			break;
		case READ_HSTS:
			t->obs->posture |= OBS_POSTURE_HSTS;
			break;
		case READ_CORS:
			if (vlen == 1 && v[0] == '*')
				t->obs->posture |= OBS_POSTURE_CORS_ANY;
			break;
		}
		break;
	}
	t->obs->headers_seen |= protocol_header(ptr, n);
	return n;
}

struct event_base *
engine_base_new(void)
{
	struct event_config *cfg = event_config_new();
	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	struct event_base *base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

struct engine *
engine_new(struct event_base *base, const struct engine_options *opt)
{
	static int curl_ready;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_ready = 1;
	}
	struct engine *e = xcalloc(1, sizeof *e);
	e->base = base;
	e->multi = curl_multi_init();
	if (e->multi == NULL) {
		free(e);
		return NULL;
	}
	e->ca_file = opt && opt->ca_file ? xstrdup(opt->ca_file) : NULL;
	e->insecure = opt ? opt->insecure_skip_tls : 0;
	e->discard_bodies = opt ? opt->bench_discard_bodies : 0;
	e->timer = evtimer_new(base, timer_cb, e);
	e->deferred = evtimer_new(base, deferred_fail_cb, e);
	e->pacing =
	    pacing_new(base, opt && opt->max_in_flight ? opt->max_in_flight : DEFAULT_MAX_IN_FLIGHT,
	               start_cb, expire_cb, e);
	e->arrival = arrival_new(base, opt ? opt->precise_base : 0);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, multi_socket_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	return e;
}

/* Free rq, its secrets wiped first (explicit_bzero is not optimised away
 * as a store before free() may be). */
static void
request_free(struct request *rq)
{
	explicit_bzero(rq->secret, rq->secret_len);
	if (rq->aws != NULL) {
		sigv4_credentials_release(rq->aws);
		free(rq->aws);
	}
	free(rq);
}

/* Free t and its request. */
static void
transfer_free(struct transfer *t)
{
	if (t->easy != NULL)
		curl_easy_cleanup(t->easy);
	/* the key is in a header line too: wipe the lines */
	for (struct curl_slist *h = t->headers; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(t->headers);
	adapter_parse_release(&t->parse);
	request_free(t->rq);
	free(t);
}

/* A transfer for rq, with a fresh observation: when rq starts, or ends
 * unsent. */
static struct transfer *
transfer_new(struct request *rq)
{
	struct transfer *t = xcalloc(1, sizeof *t);
	t->rq = rq;
	t->obs = xmalloc(sizeof *t->obs);
	observation_init(t->obs);
	return t;
}

/*
 * The values redacted from t's observation besides the key: the extra
 * headers' values redact_worth() calls secrets, and the AWS secret and
 * token. Their count in *n; the array (NULL when none) is the caller's to
 * free, the values are rq's.
 */
static char **
request_secrets(const struct request *rq, size_t *n)
{
	*n = 0;
	if (rq->n_headers == 0 && rq->aws == NULL)
		return NULL;
	char **v = xcalloc(rq->n_headers + 2, sizeof *v);
	for (size_t i = 0; i < rq->n_headers; i++)
		if (redact_worth(rq->headers[i].value))
			v[(*n)++] = rq->headers[i].value;
	if (rq->aws != NULL) {
		if (rq->aws->secret_access_key != NULL)
			v[(*n)++] = rq->aws->secret_access_key;
		if (rq->aws->session_token != NULL)
			v[(*n)++] = rq->aws->session_token;
	}
	return v;
}

static void fail_as(struct observation *o, enum error_class ec, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set o's class, and its detail from fmt. */
static void
fail_as(struct observation *o, enum error_class ec, const char *fmt, ...)
{
	char detail[OBS_DETAIL_CAP];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	o->error = ec;
	observation_set(&o->error_detail, detail, strlen(detail), OBS_DETAIL_CAP);
}

/*
 * What a failed transfer was, in the relay's terms. The deadline and curl's
 * low-speed limit both end as CURLE_OPERATION_TIMEDOUT; what had arrived by
 * then decides: no connection is a connect (or TLS) failure, no response
 * byte a timeout, a response that had sent nothing for STALL_US (or the
 * idle window) is idle, and one still coming is a timeout too.
 */
static void
classify_failure(struct transfer *t, CURLcode rc, int64_t now)
{
	struct observation *o = t->obs;
	const char *curl_says = t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(rc);
	/* what was waited for: the deadline, not how late the loop noticed it */
	int64_t timeout_us = t->rq->timeout_us;
	int64_t waited = now - t->start_us < timeout_us ? now - t->start_us : timeout_us;
	int64_t end = t->start_us + waited;
	char took[32];
	observation_duration_text(waited, took, sizeof took);
	int sent = o->sent_us > 0; /* connected (and TLS done): the request went out */
	int64_t stall = t->rq->idle_timeout_us < STALL_US ? t->rq->idle_timeout_us : STALL_US;
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		fail_as(o, ERR_DNS, "%s", curl_says);
		break;
	case CURLE_COULDNT_CONNECT:
		fail_as(o, ERR_CONNECT, "%s", curl_says);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		fail_as(o, ERR_TLS, "%s", curl_says);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		if (!sent && o->connect_us <= 0 && t->last_byte_at == 0)
			fail_as(o, ERR_CONNECT, "could not connect within %s", took);
		else if (!sent && strncasecmp(t->rq->url, "https:", 6) == 0)
			fail_as(o, ERR_TLS, "the TLS handshake did not finish within %s", took);
		else if (t->last_byte_at == 0)
			fail_as(o, ERR_TIMEOUT, "no response within %s", took);
		else if (end - t->last_byte_at >= stall) {
			char quiet[32];
			observation_duration_text(end - t->last_byte_at, quiet, sizeof quiet);
			fail_as(o, ERR_IDLE, "the response stalled: no byte for its last %s",
			        quiet);
		} else
			fail_as(o, ERR_TIMEOUT, "the response did not finish within %s", took);
		break;
	case CURLE_FILESIZE_EXCEEDED:
		fail_as(o, ERR_TOO_LARGE, "%s", curl_says);
		break;
	case CURLE_OUT_OF_MEMORY:
		/* libcurl's own cap on one header line (CURL_MAX_HTTP_HEADER; curl
		 * 7.88 logs "Avoided giant realloc for header") ends as out of
		 * memory: before the body, that is what it was */
		if (!t->body_started)
			fail_as(o, ERR_TOO_LARGE, "a response header over libcurl's %d-byte limit",
			        (int)CURL_MAX_HTTP_HEADER);
		else
			fail_as(o, ERR_NETWORK, "%s", curl_says);
		break;
#if LIBCURL_VERSION_NUM >= 0x080600
	case CURLE_TOO_LARGE: /* curl 8.6 names its size limits */
		fail_as(o, ERR_TOO_LARGE, "a response over libcurl's limit: %s", curl_says);
		break;
#endif
	case CURLE_ABORTED_BY_CALLBACK:
		fail_as(o, ERR_ABORTED, "%s", curl_says);
		break;
	case CURLE_GOT_NOTHING:
		fail_as(o, ERR_NETWORK, "the relay closed the connection without a response");
		break;
	case CURLE_SEND_ERROR:
		fail_as(o, ERR_NETWORK, "the connection failed while the request was sent: %s",
		        curl_says);
		break;
	case CURLE_WEIRD_SERVER_REPLY:
		fail_as(o, ERR_MALFORMED, "the reply was not valid HTTP: %s", curl_says);
		break;
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		if (t->status >= 200)
			fail_as(o, ERR_MALFORMED, "the response broke off before its end: %s",
			        curl_says);
		else
			fail_as(o, ERR_NETWORK, "the connection failed before a response: %s",
			        curl_says);
		break;
	default:
		fail_as(o, ERR_NETWORK, "%s", curl_says);
		break;
	}
}

static void
finish_transfer(struct engine *e, struct transfer *t, CURLcode rc)
{
	struct observation *o = t->obs;
	if (t->easy != NULL) {
		curl_off_t us;
		if (curl_easy_getinfo(t->easy, CURLINFO_NAMELOOKUP_TIME_T, &us) == CURLE_OK)
			o->dns_us = us;
		if (curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &us) == CURLE_OK)
			o->connect_us = us;
		if (curl_easy_getinfo(t->easy, CURLINFO_APPCONNECT_TIME_T, &us) == CURLE_OK)
			o->tls_us = us;
		long code = 0;
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code != 0)
			t->status = (int)code;
		/* TTFT counts from the request leaving, not from waiting for a
		 * connection: connect and TLS are timed on their own */
		if (curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &us) == CURLE_OK &&
		    us > 0)
			o->sent_us = us;
		/* curl parses Retry-After in both its forms (seconds, HTTP date) */
		curl_off_t retry = 0;
		if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry) == CURLE_OK &&
		    retry > 0)
			o->retry_after_s = (long)retry;
		/* libcurl's values of the names header_cb saw (each name asked
		 * of curl is a walk of all its stored headers); every name when
		 * the headers passed their cap before all were seen */
		int headers_whole = t->header_bytes <= t->rq->header_cap;
		if (headers_whole)
			ratelimit_read_seen(t->easy, &t->rl_seen, &o->rl);
		else
			ratelimit_read(t->easy, &o->rl);
		struct curl_header *apim = NULL;
		if (headers_whole ? t->apim_seen
		                  : curl_easy_header(t->easy, "apim-request-id", 0, CURLH_HEADER,
		                                     -1, &apim) == CURLHE_OK)
			o->openai_marks |= OBS_OAI_APIM; /* Azure's API gateway */
	}
	int64_t now = now_us();
	o->total_us = now - t->start_us;
	o->last_byte_us = t->last_byte_at != 0 ? t->last_byte_at - t->start_us : -1;
	if (rc == CURLE_WRITE_ERROR && t->parse.stopped)
		rc = CURLE_OK; /* we hung up on purpose */
	if (rc != CURLE_OK && o->error == ERR_NONE)
		classify_failure(t, rc, now);
	adapter_parse_finish(&t->parse, t->status);
	if (t->rq->bedrock)
		bedrock_classify(t->obs);
	if (o->error == ERR_NONE && o->ttfb_us < 0)
		o->ttfb_us = o->total_us;
	if (o->sent_us > 0) {
		if (o->ttft_us >= o->sent_us)
			o->ttft_us -= o->sent_us;
		if (o->ttfb_us >= o->sent_us)
			o->ttfb_us -= o->sent_us;
	}
	/* a relay may echo the key back in an error: it never leaves here */
	size_t n_secrets;
	char **secrets = request_secrets(t->rq, &n_secrets);
	o->secrets_echoed = redact_observation(o, t->rq->api_key, secrets, n_secrets);
	free(secrets);
	/* https that got an answer: curl verified the certificate, unless the
	 * user turned verification off */
	if (t->status > 0 && strncasecmp(t->rq->url, "https://", 8) == 0 && !e->insecure)
		o->posture |= OBS_POSTURE_TLS;
	/* a redirect is not followed; where it pointed is a fact of posture
	 * (plain HTTP sent on to https) */
	char *location = NULL;
	if (t->easy != NULL && t->status >= 300 && t->status < 400 &&
	    curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
	    location != NULL && strncasecmp(location, "https://", 8) == 0)
		o->posture |= OBS_POSTURE_TO_HTTPS;
	pacing_note_result(e->pacing, &t->rq->pace, o, now);
	int64_t stalled =
	    o->n_chunks > 0
	        ? arrival_first_chunk_stalled(e->arrival, &t->arrival, t->start_us + o->chunk_us[0])
	        : 0;
	if (stalled > 0) {
		o->timing_disturbed = 1;
		if (stalled > o->timing_slack_us)
			o->timing_slack_us = stalled;
	}
	engine_done_cb cb = t->rq->cb;
	void *arg = t->rq->arg;
	t->obs = NULL;
	if (t->easy != NULL && t->easy_reusable && e->n_idle < IDLE_EASY_MAX) {
		curl_easy_reset(t->easy);
		e->idle[e->n_idle++] = t->easy;
		t->easy = NULL;
	}
	transfer_free(t);
	cb(o, arg);
}

static void
active_unlink(struct engine *e, struct transfer *t)
{
	pacing_done(e->pacing, &t->rq->pace);
	arrival_transfer_stop(e->arrival, &t->arrival);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		e->active = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	t->next = t->prev = NULL;
}

static void
check_done(struct engine *e)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct transfer *t;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		CURLcode rc = msg->data.result;
		curl_multi_remove_handle(e->multi, t->easy);
		t->easy_reusable = 1;
		active_unlink(e, t);
		finish_transfer(e, t, rc);
	}
	pacing_run(e->pacing);
}

static int
setup_easy(struct engine *e, struct transfer *t)
{
	CURL *c = e->n_idle > 0 ? e->idle[--e->n_idle] : curl_easy_init();
	if (c == NULL)
		return -1;
	t->easy = c;
	const struct request *rq = t->rq;
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PRIVATE, t);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	if (rq->listing) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)rq->body_len);
	}
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(rq->timeout_us / 1000));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(rq->timeout_us / 1000 < CONNECT_TIMEOUT_MAX_MS
	                            ? rq->timeout_us / 1000
	                            : CONNECT_TIMEOUT_MAX_MS));
	/* idle: less than one byte a second for the idle window (curl counts
	 * whole seconds: rounded up) */
	long idle_s = (long)((rq->idle_timeout_us + 999999) / 1000000);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle_s > 0 ? idle_s : 1L);
	/* curl's receive buffer is allocated per transfer for its whole life:
	 * at the default 16 KiB it was most of an open stream's memory (see
	 * RECV_BUFFER_SIZE) */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER_SIZE);
	curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (rq->cold) {
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	}
	if (e->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->ca_file);
	if (e->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
	return 0;
}

/* End the deferred transfers, in the order they were deferred; those
 * deferred meanwhile (by a callback) wait for the next turn. */
static void
finish_deferred(struct engine *e)
{
	struct transfer *t = e->deferred_head;
	e->deferred_head = e->deferred_tail = NULL;
	while (t != NULL) {
		struct transfer *next = t->next;
		t->next = NULL;
		finish_transfer(e, t, CURLE_OK);
		t = next;
	}
}

static void
deferred_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish_deferred(arg);
}

/* End t, which curl does not have, from the event loop (never from inside
 * engine_submit(), whose caller may not expect a callback yet), or from
 * engine_free() if the loop does not get to it; its class and detail are
 * set. */
static void
finish_later(struct engine *e, struct transfer *t)
{
	t->next = NULL;
	if (e->deferred_tail != NULL)
		e->deferred_tail->next = t;
	else
		e->deferred_head = t;
	e->deferred_tail = t;
	struct timeval now = {0, 0};
	if (!evtimer_pending(e->deferred, NULL))
		evtimer_add(e->deferred, &now);
}

/* End rq, which never started, as ec with detail why. */
static void
fail_later(struct engine *e, struct request *rq, enum error_class ec, const char *why)
{
	struct transfer *t = transfer_new(rq);
	t->obs->error = ec;
	observation_set(&t->obs->error_detail, why, strlen(why), OBS_DETAIL_CAP);
	t->start_us = now_us();
	t->obs->started_ms = wall_ms();
	adapter_parse_init(&t->parse, rq->api, t->obs, rq->stream, t->start_us, 0);
	t->parse.listing = rq->listing;
	finish_later(e, t);
}

void
engine_set_limits(struct engine *e, const char *pool, size_t max_in_flight, double rpm)
{
	pacing_set_limits(e->pacing, pool, max_in_flight, rpm);
}

static void append_header(struct transfer *t, char *line);

/* SigV4: sign t as it starts, so X-Amz-Date is the time it goes (AWS
 * refuses a date more than 5 minutes off). 0, or -1 when it cannot be
 * signed (no region). */
static int
sign_aws(struct transfer *t)
{
	const struct request *rq = t->rq;
	if (rq->aws == NULL || rq->aws->access_key_id == NULL)
		return 0;
	char *lines[3];
	size_t n = 0;
	if (sigv4_request_headers_for(rq->listing ? "GET" : "POST", rq->url, "application/json",
	                              rq->body, rq->body_len, rq->aws, BEDROCK_SIGNING_SERVICE,
	                              time(NULL), lines, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		append_header(t, lines[i]);
	return 0;
}

static void add_headers(struct transfer *t);

/* Hand rq to curl: 0 when it is in flight; -1 when it could not start (it
 * then ends, not sent, from the loop). */
static int
start_one(struct engine *e, struct request *rq)
{
	struct transfer *t = transfer_new(rq);
	t->start_us = now_us();
	arrival_transfer_init(&t->arrival, rq->stream);
	t->obs->started_ms = wall_ms();
	t->obs->start_mono_us = t->start_us;
	t->obs->timeout_us = rq->timeout_us;
	adapter_parse_init(&t->parse, rq->api, t->obs, rq->stream, t->start_us, rq->body_cap);
	t->parse.listing = rq->listing;
	t->parse.stop_after_chunks = rq->stop_after_chunks;
	if (rq->bedrock && rq->stream)
		bedrock_parse_eventstream(&t->parse);
	add_headers(t);
	int signed_ok = sign_aws(t) == 0;
	int ready = signed_ok && setup_easy(e, t) == 0;
	if (ready)
		curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
	if (!ready || curl_multi_add_handle(e->multi, t->easy) != CURLM_OK) {
		const char *why =
		    signed_ok ? "Assay could not start the request (out of resources)"
		              : "Assay could not sign the request with SigV4 (no region, or "
		                "a URL it cannot parse)";
		t->obs->error = ERR_NOT_SENT;
		observation_set(&t->obs->error_detail, why, strlen(why), OBS_DETAIL_CAP);
		finish_later(e, t);
		return -1;
	}
	t->next = e->active;
	if (e->active != NULL)
		e->active->prev = t;
	e->active = t;
	arrival_transfer_start(e->arrival, &t->arrival);
	return 0;
}

static int
start_cb(struct pacing_entry *entry, void *arg)
{
	return start_one(arg, request_of(entry));
}

static void
expire_cb(struct pacing_entry *entry, enum error_class ec, const char *why, void *arg)
{
	fail_later(arg, request_of(entry), ec, why);
}

/* Append line to t's headers; the line is wiped and freed (it may hold a
 * secret). */
static void
append_header(struct transfer *t, char *line)
{
	t->headers = curl_slist_append(t->headers, line);
	explicit_bzero(line, strlen(line));
	free(line);
}

/*
 * The request's header list, made as it starts: ours, the key in the
 * header rq->auth names, then the caller's extra headers (already checked:
 * none of them is one we set, except anthropic-version, which a caller's
 * replaces).
 */
static void
add_headers(struct transfer *t)
{
	const struct request *rq = t->rq;
	t->headers = NULL;
	/* a client's own headers come first, as its SDK sends them; its Accept
	 * stands for streams too */
	/* a Bedrock stream asks for AWS's event stream, whoever the client */
	int bedrock_stream = rq->bedrock && rq->stream;
	for (const char *const *line = rq->client_headers; line != NULL && *line != NULL; line++) {
		size_t len = strcspn(*line, ":");
		if (bedrock_stream && len == 6 && strncasecmp(*line, "Accept", 6) == 0)
			continue;
		int replaced = 0;
		for (size_t i = 0; i < rq->n_headers && !replaced; i++)
			replaced = strlen(rq->headers[i].name) == len &&
			           strncasecmp(rq->headers[i].name, *line, len) == 0;
		if (!replaced)
			t->headers = curl_slist_append(t->headers, *line);
	}
	if (bedrock_stream)
		t->headers =
		    curl_slist_append(t->headers, "Accept: application/vnd.amazon.eventstream");
	else if (rq->stream && rq->client_headers == NULL)
		t->headers = curl_slist_append(t->headers, "Accept: text/event-stream");
	if (rq->api_key != NULL) {
		enum auth_kind auth = auth_resolve(rq->api, rq->auth);
		append_header(t, auth == AUTH_BEARER
		                     ? xasprintf("Authorization: Bearer %s", rq->api_key)
		                     : xasprintf("%s: %s", auth_header(auth), rq->api_key));
	}
	t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
	t->headers = curl_slist_append(t->headers, "Expect:");
	int own_version = 0;
	for (size_t i = 0; i < rq->n_headers; i++) {
		const struct http_header *h = &rq->headers[i];
		own_version |= strcasecmp(h->name, "anthropic-version") == 0;
		/* "Name;" is curl's way to send a header with an empty value */
		append_header(t, h->value[0] ? xasprintf("%s: %s", h->name, h->value)
		                             : xasprintf("%s;", h->name));
	}
	/* Vertex reads the version from the body; the header is sent as the
	 * AnthropicVertex SDK of that version (0.x) sends it */
	if ((rq->api == API_ANTHROPIC || rq->api == API_VERTEX) && !own_version && !rq->bedrock)
		t->headers =
		    curl_slist_append(t->headers, "anthropic-version: " ANTHROPIC_VERSION_DEFAULT);
}

int
engine_redact(struct observation *o, const char *secret, char *const *values, size_t n)
{
	return redact_observation(o, secret, values, n);
}

/* Copy the n bytes at s to *at, NUL-terminated; the copy, *at moved on. */
static char *
put(char **at, const char *s, size_t n)
{
	char *copy = *at;
	memcpy(copy, s, n);
	copy[n] = '\0';
	*at += n + 1;
	return copy;
}

void
engine_submit(struct engine *e, const struct engine_request *req, engine_done_cb cb, void *arg)
{
	const char *body = req->listing || req->body == NULL ? "" : req->body;
	const char *key = req->api_key && *req->api_key ? req->api_key : NULL;
	size_t url_len = strlen(req->url), body_len = strlen(body);
	size_t key_len = key != NULL ? strlen(key) + 1 : 0;
	size_t text_len = key_len;
	for (size_t i = 0; i < req->n_headers; i++)
		text_len += strlen(req->headers[i].name) + strlen(req->headers[i].value) + 2;
	size_t array = req->n_headers * sizeof(struct http_header);
	struct request *rq = xmalloc(sizeof *rq + array + text_len + url_len + 1 + body_len + 1);
	memset(rq, 0, sizeof *rq);
	rq->engine = e;
	rq->cb = cb;
	rq->arg = arg;
	/* the array first (struct request's size keeps it aligned), the
	 * secrets next, in one run that is wiped, then URL and body */
	rq->headers = req->n_headers > 0 ? (struct http_header *)(void *)(rq + 1) : NULL;
	char *at = (char *)(rq + 1) + array;
	rq->secret = at;
	rq->secret_len = text_len;
	if (key != NULL)
		rq->api_key = put(&at, key, key_len - 1);
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		rq->headers[i].name = put(&at, h->name, strlen(h->name));
		rq->headers[i].value = put(&at, h->value, strlen(h->value));
	}
	rq->n_headers = req->n_headers;
	rq->url = put(&at, req->url, url_len);
	rq->body = put(&at, body, body_len);
	rq->body_len = body_len;
	rq->client_headers = req->client_headers;
	rq->api = req->api;
	rq->auth = req->auth;
	rq->listing = req->listing;
	rq->stream = req->stream != 0;
	rq->cold = req->cold != 0;
	rq->bedrock = req->bedrock != 0;
	rq->timeout_us = req->timeout_us > 0 ? req->timeout_us : DEFAULT_TIMEOUT_US;
	rq->idle_timeout_us =
	    req->idle_timeout_us > 0 ? req->idle_timeout_us : DEFAULT_IDLE_TIMEOUT_US;
	rq->header_cap = req->header_cap ? req->header_cap : DEFAULT_HEADER_CAP;
	rq->body_cap = req->body_cap ? req->body_cap : DEFAULT_BODY_CAP;
	rq->stop_after_chunks = req->stop_after_chunks;
	if (req->aws != NULL) {
		rq->aws = xcalloc(1, sizeof *rq->aws);
		sigv4_credentials_copy(rq->aws, req->aws);
	}
	pacing_enqueue(e->pacing, &rq->pace, req->pool, rq->timeout_us);
	pacing_run(e->pacing);
}

/* At teardown: a request still queued ends aborted. */
static void
abort_queued_cb(struct pacing_entry *entry, void *arg)
{
	struct transfer *t = transfer_new(request_of(entry));
	t->obs->error = ERR_ABORTED;
	t->start_us = now_us();
	adapter_parse_init(&t->parse, t->rq->api, t->obs, t->rq->stream, t->start_us, 0);
	finish_transfer(arg, t, CURLE_OK);
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	while (e->active != NULL) {
		struct transfer *t = e->active;
		curl_multi_remove_handle(e->multi, t->easy);
		active_unlink(e, t);
		t->obs->error = ERR_ABORTED;
		finish_transfer(e, t, CURLE_OK);
	}
	pacing_drain(e->pacing, abort_queued_cb, e);
	/* ended unsent, its callback not yet run: it runs now, as it was */
	finish_deferred(e);
	event_free(e->deferred);
	while (e->n_idle > 0)
		curl_easy_cleanup(e->idle[--e->n_idle]);
	curl_multi_cleanup(e->multi);
	event_free(e->timer);
	arrival_free(e->arrival);
	pacing_free(e->pacing);
	free(e->ca_file);
	free(e);
}
