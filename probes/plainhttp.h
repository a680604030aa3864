/*
 * plainhttp: does a relay the user reaches over https answer its API over
 * plain HTTP too? Then a client configured with http:// (a typo, an old
 * example) works, and sends its key in clear.
 *
 * One GET of the API's model list at http:// on the base URL's host, with
 * nothing secret: no key, none of the user's headers, no user or password
 * from the URL, no query (a relay may take a key there). Which port: the
 * one the base URL names when it names one other than 443, else 80. A
 * named port is where that relay listens; http:// on it is answered only by
 * a server that speaks both on one port, a misconfiguration of its own
 * kind. A relay on 443 is checked where plain HTTP lives, on 80. (Port 80
 * of a host whose URL names another port is not tried: one request,
 * bounded, is the whole check.)
 *
 * What came back is one outcome: the API's own answer (a model list, or a
 * JSON error such as its 401 for the missing key) is a weakness; a
 * redirect to https, no connection, no answer in time, or no HTTP at all
 * (a TLS-only port) is fine; any other HTTP answer (a web page, nginx's
 * "plain HTTP request was sent to HTTPS port", an answer asking for
 * https) is not the API and is said as a fact.
 *
 * Thread: the event loop's, like the engine.
 */
#ifndef ASSAY_PLAINHTTP_H
#define ASSAY_PLAINHTTP_H

#include "probes/adapter.h"
#include "probes/observation.h"

struct engine;
struct event_base;

/* The check's bound: connecting and answering together. */
#define PLAINHTTP_TIMEOUT_US 5000000

/* What the plain-HTTP request found. Stable names (plainhttp_outcome_name)
 * go to the JSON report. */
enum plainhttp_outcome {
	PLAIN_NOT_TRIED = 0, /* the base URL is http, or no check ran */
	PLAIN_NO_CONNECTION, /* refused, unreachable, no such name, or no
	                      * connection within the bound */
	PLAIN_TIMEOUT,       /* connected, no answer within the bound */
	PLAIN_NOT_HTTP,      /* connected, but what came back was not HTTP (a
	                      * TLS-only port closes or sends an alert) */
	PLAIN_TO_HTTPS,      /* a redirect to an https URL */
	PLAIN_SAYS_HTTPS,    /* an answer asking for https: 426, or an error
	                      * naming https, TLS or SSL */
	PLAIN_NOT_API,       /* another HTTP answer, not the API's: a web page,
	                      * a redirect elsewhere */
	PLAIN_ANSWERS_API,   /* the API answered: a model list, or a JSON body */
	PLAIN__COUNT
};

/* One check: filled in by plainhttp_start() and its answer. */
struct plainhttp {
	char *url;               /* what was tried (owned); NULL: not tried */
	struct observation *obs; /* its answer (owned); NULL until it came */
	enum plainhttp_outcome outcome;
};

/* The URL the check tries for an audit of api at base_url (its model list,
 * see above), or NULL when base_url is not https. The caller frees it. */
char *plainhttp_url(enum api_kind api, const char *base_url);

/* Start the check on e: nothing (p not tried) when base_url is not https.
 * The request has a pacing pool of its own, so a refused connection is not
 * counted against the relay. p is initialised here and must stay put until
 * its answer has come (plainhttp_wait). */
void plainhttp_start(struct plainhttp *p, struct engine *e, enum api_kind api,
                     const char *base_url);
/* Run base, the engine's, until p's answer has come (at most the bound, as
 * the engine ends every request); then p->outcome is set. */
void plainhttp_wait(struct plainhttp *p, struct event_base *base);
void plainhttp_release(struct plainhttp *p);

/* The outcome of an answer to the plain-HTTP request. */
enum plainhttp_outcome plainhttp_classify(const struct observation *o);
/* Its stable name ("answers_api", ...), and whether it is a weakness. */
const char *plainhttp_outcome_name(enum plainhttp_outcome o);
int plainhttp_weak(enum plainhttp_outcome o);

#endif
