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
 * itself is kept only in memory for the run; what is shown is its SHA-256
 * digest's first 16 hex digits, what is stored (serve) the whole digests of
 * the key and of the token, never either of them.
 *
 * Two ways to catch a use. `assay audit` watches its canary in memory
 * (canary_watch: the listener records hits on it). `assay serve` remembers
 * its canaries by digest, across runs and restarts: the listener hands
 * every request, its token's and key's digests computed, to a callback
 * (canary_listener_on_request), which looks them up. Either way the
 * listener runs on the caller's event loop and its callbacks too.
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

/* serve: the use of an earlier canary of the same relay and model that came
 * after its own run was scored, reported with a later run (scoring reads
 * runs: a verdict changes at a run). */
#define CANARY_LATE_MAX 8
struct canary_late {
	int64_t run_id;        /* the run it was planted in (0: that run was not saved) */
	int64_t planted_ms;    /* when */
	char digest[17];       /* its key's digest, as canary.digest */
	struct canary_hit hit; /* the first use not reported yet */
	long uses;             /* how many not reported yet */
};

struct canary {
	char key[64];          /* planted; never stored or printed */
	char token[33];        /* in the URL's path */
	char url[300];         /* the base URL planted: listener + /c/TOKEN/v1 */
	char digest[17];       /* the key's SHA-256, 16 hex digits: what is shown */
	char key_sha256[65];   /* the key's SHA-256, hex: what serve stores */
	char token_sha256[65]; /* the token's SHA-256, hex: what serve stores */
	char relay[128];       /* the relay it was planted in */
	int64_t planted_ms;    /* when the first request carrying it was sent */
	struct canary_hit hits[CANARY_HITS_MAX];
	size_t n_hits;
	long more_hits; /* past CANARY_HITS_MAX: counted */
	/* serve only (storage/store.h), filled on the loop before the run is
	 * scored: the canary's row, earlier canaries' late uses, and the last
	 * hit row these include (saving the run marks them reported) */
	int64_t stored_id;
	struct canary_late late[CANARY_LATE_MAX];
	size_t n_late;
	long more_late; /* late uses of canaries past CANARY_LATE_MAX */
	int64_t hits_upto;
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
/* The SHA-256 of s as 64 hex digits and a NUL. */
void canary_sha256_hex(const char *s, char out[65]);
/* Wipe the key (and the token) of c: its run is over. */
void canary_wipe(struct canary *c);

/*
 * Redact, in place, every echo of c's key and token (probes/redact.h: the
 * key whole or in part, URL-encoded, base64) in the observations of a run
 * that planted it, so that what a relay sends back of them never reaches
 * storage, logs or pages: the key is a secret, and the token would let
 * anyone who reads it fake a use. Returns how many fields held one.
 */
struct observation;
int canary_redact(const struct canary *c, struct observation *o);

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

/* A request to the listener, as canary_listener_on_request hands it over:
 * the digests of what it carried (the token of a path /c/TOKEN/..., the
 * key of an Authorization: Bearer or x-api-key header; "" for none) and the
 * hit it would be (its path without /c/TOKEN). */
struct canary_request {
	char token_sha256[65];
	char key_sha256[65];
	struct canary_hit hit;
};
typedef void (*canary_request_cb)(const struct canary_request *r, void *arg);
/* Call cb for every request (after the watched canaries are matched). */
void canary_listener_on_request(struct canary_listener *l, canary_request_cb cb, void *arg);

/*
 * Reporting to a listener elsewhere (`assay audit --canary-report URL`, a
 * serve's listener): GET URL/r/TOKEN_SHA256/KEY_SHA256 answers the uses
 * seen of that canary as JSON, {"hits": [{"at_ms", "peer", "user_agent",
 * "method", "path", "with_key"}]}. The digests are unguessable and only
 * the auditor and the relay know the token, so the query needs no other
 * secret; such a request is no use of a canary. The listener asks cb for
 * the uses (at most max into out; it returns how many, or -1 for none
 * kept) and answers them.
 */
struct canary_query {
	char token_sha256[65];
	char key_sha256[65];
};
typedef long (*canary_query_cb)(const struct canary_query *q, struct canary_hit *out, size_t max,
                                void *arg);
void canary_listener_on_query(struct canary_listener *l, canary_query_cb cb, void *arg);
/* The hits as that JSON (a new string the caller frees). */
char *canary_hits_json(const struct canary_hit *hits, size_t n);
/* Parse that JSON into c's hits (sanitized, capped; more_hits counts the
 * rest). 0, or -1 when it is not that shape. */
int canary_hits_from_json(struct canary *c, const char *json, size_t len);
void canary_listener_free(struct canary_listener *l);

#endif
