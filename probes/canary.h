/*
 * canary: credentials planted in an audit's prompts, and the listener that
 * catches their use.
 *
 * A relay sees every prompt in plaintext; one that harvests keys from them
 * (a .env file pasted into a question, a config snippet) reveals itself when
 * it uses one. Each canary is a key-shaped token (`sk-proj-` and 40 random
 * characters: what a harvester looks for) and a base URL that points at
 * Assay's own listener with the canary's token in the path, made for one
 * run of one relay. Any request to the listener that carries the key (as a
 * bearer or x-api-key) or the token is a hit: its time, the peer's address,
 * its User-Agent, method and path are kept (sanitized, capped). The key
 * itself is kept only in memory for the run; what is shown and stored is its
 * SHA-256 digest's first 16 hex digits.
 */
#ifndef ASSAY_CANARY_H
#define ASSAY_CANARY_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

#define CANARY_HITS_MAX 16

struct canary_hit {
	int64_t at_ms; /* wall time */
	char peer[64]; /* the address the request came from */
	char user_agent[128];
	char method[8];
	char path[128];
	int with_key; /* the key came in a header (not just the URL) */
};

struct canary {
	char key[64];       /* planted; never stored or printed */
	char token[33];     /* in the URL's path */
	char url[300];      /* the base URL planted: listener + /c/TOKEN/v1 */
	char digest[17];    /* the key's SHA-256, 16 hex digits: what is shown */
	char relay[128];    /* the relay it was planted in */
	int64_t planted_ms; /* when the first request carrying it was sent */
	struct canary_hit hits[CANARY_HITS_MAX];
	size_t n_hits;
	long more_hits; /* past CANARY_HITS_MAX: counted */
};

/* A fresh canary for relay, its URL on the listener's public base URL
 * (e.g. "http://127.0.0.1:4431"). */
void canary_make(struct canary *c, const char *listener_url, const char *relay);

/*
 * s with {canary_key} and {canary_url} filled in from c (a new string the
 * caller frees); NULL c leaves s as it is (copied).
 */
char *canary_fill(const char *s, const struct canary *c);
/* Does s hold a {canary_...} placeholder? */
int canary_wanted(const char *s);

/*
 * The listener: an HTTP server on base at host:port (port 0: any) that
 * answers every request with a 401 in OpenAI's shape and records hits on the
 * canaries it watches. url_out gets "http://host:port". NULL on failure.
 */
struct canary_listener;
struct canary_listener *canary_listen(struct event_base *base, const char *host, int port,
                                      char *url_out, size_t n);
/* Watch c (borrowed until the listener is freed). */
void canary_watch(struct canary_listener *l, struct canary *c);
void canary_listener_free(struct canary_listener *l);

#endif
