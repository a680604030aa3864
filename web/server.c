/*
 * server: libmicrohttpd with its own polling thread; handlers only take a
 * blob reference and queue it, so they never block on the event loop.
 */
#define _GNU_SOURCE /* sched_getaffinity(), CPU_COUNT() */
#include "web/server.h"

#include <arpa/inet.h>
#include <sched.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "web/accept.h"
#include "web/events.h"

#include "base/util.h"
#include "web/board.h"
#include "web/render.h"
#include "web/site.h"

struct web_server {
	struct MHD_Daemon *daemon;
	struct board *board;
	struct events *events; /* GET /api/v1/events */
	int port;
};

static void
add_security_headers(struct MHD_Response *r)
{
	/* script-src 'self': the front page's live updates (assets/live.js,
	 * no inline script); connect-src 'self': its event stream */
	MHD_add_response_header(r, "Content-Security-Policy",
	                        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
	                        "script-src 'self'; connect-src 'self'; "
	                        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
}

/* libmicrohttpd's messages, as its own logger writes them, but for a
 * reader of the event stream going away (a closed tab), which is how a
 * stream ends and no error. */
static void
log_cb(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[1024];
	vsnprintf(line, sizeof line, fmt, ap);
	if (strstr(line, "/api/v1/events") != NULL && strstr(line, "no longer available") != NULL)
		return;
	fputs(line, stderr);
}

static enum MHD_Result
respond_static(struct MHD_Connection *c, unsigned status, const char *type, const char *body)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", type);
	add_security_headers(r);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void
blob_free_cb(void *cls)
{
	board_put(cls);
}

/* Does the request accept gzip? (RFC 9110 negotiation: web/accept.h.) */
static int
accepts_gzip(struct MHD_Connection *c)
{
	return accept_encoding_allows(
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding"), "gzip");
}

static enum MHD_Result
respond_blob(struct MHD_Connection *c, struct blob *blob)
{
	int gz = blob->gz != NULL && accepts_gzip(c);
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
	    gz ? blob->gz_len : blob->len, gz ? blob->gz : blob->data, blob_free_cb, blob);
	if (r == NULL) {
		board_put(blob);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", blob->content_type);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	if (blob->gz != NULL)
		MHD_add_response_header(r, "Vary", "Accept-Encoding");
	if (gz)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	add_security_headers(r);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static const char *
arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result
handler_cb(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **req_cls)
{
	(void)version;
	(void)upload_data;
	static int seen_headers;
	struct web_server *w = cls;
	/* Answer on the second call, once the request is complete: a response
	 * queued on the first call makes libmicrohttpd close the connection
	 * (no keep-alive), which costs a TCP handshake per request. */
	if (*req_cls == NULL) {
		*req_cls = &seen_headers;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0; /* request bodies are ignored */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
		                      "method not allowed\n");
	if (strcmp(url, "/healthz") == 0)
		return respond_static(c, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n");
	if (strcmp(url, "/api/v1/events") == 0) {
		const char *since =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
		return events_respond(w->events, c, since ? since : arg(c, "since"));
	}
	struct site_query q = {arg(c, "sort"), arg(c, "order"), arg(c, "model"), arg(c, "page")};
	struct site_response r;
	site_get(w->board, url, &q, &r);
	if (r.status == SITE_OK)
		return respond_blob(c, r.blob);
	if (r.status == SITE_REDIRECT) {
		struct MHD_Response *resp =
		    MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Location", r.location);
		add_security_headers(resp);
		enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_FOUND, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	return respond_static(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found\n");
}

/* The board's refresher (board_set_refresher): a stale document's key is
 * its canonical path, routed again as a request would be. */
static void
refresh_cb(struct board *b, const char *key, void *arg)
{
	(void)arg;
	struct site_response r;
	site_get(b, key, NULL, &r);
	if (r.status == SITE_OK)
		board_put(r.blob);
}

int
web_parse_listen(const char *spec, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(spec, ':');
	if (colon == NULL)
		return -1;
	size_t hl = (size_t)(colon - spec);
	const char *h = spec;
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= hostlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (hl == 0)
		snprintf(host, hostlen, "127.0.0.1");
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

struct web_server *
web_start(struct board *board, const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	                         .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%d", port);
	int rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on '%s': need a numeric address (%s)", host,
		         gai_strerror(rc));
		return NULL;
	}
	struct web_server *w = xcalloc(1, sizeof *w);
	w->board = board;
	w->events = events_new(board);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
	                 MHD_ALLOW_SUSPEND_RESUME; /* the event streams (web/events.h) */
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* a thread for each CPU this process may run on (a container's or
	 * taskset's share, not the machine's), 2 to 8 */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		cpus = CPU_COUNT(&set);
	unsigned threads = cpus < 2 ? 2 : cpus > 8 ? 8 : (unsigned)cpus;
	w->daemon = MHD_start_daemon(
	    flags, (uint16_t)port, NULL, NULL, handler_cb, w, MHD_OPTION_EXTERNAL_LOGGER, log_cb,
	    NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)WEB_MAX_CONNECTIONS_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_IDLE_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE,
	    (unsigned)1024, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (w->daemon == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%d (address in use or not permitted)",
		         host, port);
		events_free(w->events);
		free(w);
		return NULL;
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
	w->port = info ? info->port : port;
	board_set_refresher(board, refresh_cb, NULL);
	return w;
}

int
web_port(const struct web_server *w)
{
	return w->port;
}

void
web_stop(struct web_server *w)
{
	if (w == NULL)
		return;
	board_set_refresher(w->board, NULL, NULL);
	events_stop(w->events);
	MHD_stop_daemon(w->daemon);
	events_free(w->events);
	free(w);
}
