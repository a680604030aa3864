/*
 * server: the HTTP front of `assay serve`, on libmicrohttpd.
 *
 * Read-only: GET and HEAD only. Documents come from site_get() (web/site.h),
 * which serves the board's cached blobs. Connection limits and timeouts bound what a client can
 * hold; every response carries the security headers (CSP: the site's own
 * stylesheet and script only, nosniff). GET /api/v1/events is a stream of
 * Server-Sent Events (web/events.h).
 */
#ifndef ASSAY_SERVER_H
#define ASSAY_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct board;
struct web_server;

/* Limits: connections in all, from one address, and seconds a connection
 * may sit idle. Requests are served by a pool of threads (one a CPU, 2 to
 * 8), each answering from the board's cache. */
#define WEB_MAX_CONNECTIONS 1024
#define WEB_MAX_CONNECTIONS_PER_IP 128
#define WEB_IDLE_TIMEOUT_S 30

/*
 * Start serving board on host:port (port 0: ephemeral). NULL with a message
 * in err on failure. The board must outlive the server.
 */
struct web_server *web_start(struct board *board, const char *host, int port, char *err,
                             size_t errlen);
/* The port actually bound. */
int web_port(const struct web_server *w);
/* Stop (waits for in-flight requests) and free. */
void web_stop(struct web_server *w);

/* Parse "HOST:PORT" (or "[v6]:PORT", or ":PORT"); host is written to a
 * buffer of hostlen bytes. 0, or -1 when malformed. */
int web_parse_listen(const char *spec, char *host, size_t hostlen, int *port);

#endif
