/*
 * helpers: what the tests share: child processes with bounded waits, the
 * fixture world's endpoints, HTTP on loopback, `assay serve` and its JSON,
 * scratch folders and files, tokenizers, and one request through the
 * engine.
 *
 * No test sleeps for a fixed time: every wait polls a condition with a bound.
 * Helpers that assert (Criterion) say so, and their failure messages name
 * what they were given, so that a failure still says which case failed.
 */
#ifndef ASSAY_TEST_HELPERS_H
#define ASSAY_TEST_HELPERS_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/util.h"
#include "probes/adapter.h"
#include "probes/audit.h"
#include "probes/observation.h"

struct child {
	pid_t pid;
	int out_fd; /* the child's stdout, non-blocking */
	char pending[8192];
	size_t pending_len;
};

/* The build directory (ASSAY_BUILD, default "build") and a binary in it. */
const char *test_build_dir(void);
/* "<build>/<name>" in a static buffer. */
const char *test_binary(const char *name);

/* Start argv (argv[0] a path) with stdout piped to us; stderr is inherited.
 * 0, or -1. */
int child_start(struct child *c, char *const argv[]);
/* Read one stdout line (without the newline) within timeout_ms. 0, or -1 on
 * timeout or EOF. */
int child_read_line(struct child *c, char *line, size_t n, int timeout_ms);
/* SIGTERM, wait up to timeout_ms (then SIGKILL). The exit status, or -1 if
 * it had to be killed or died of a signal. */
int child_stop(struct child *c, int timeout_ms);
/* Wait for the child to exit by itself within timeout_ms; exit status or -1. */
int child_wait(struct child *c, int timeout_ms);

/* A running fixture world and its endpoints: fixture_start() reads the
 * "listening" lines until every name it needs is among them, so a test
 * names every endpoint it will look up. */
#define FIXTURE_ENDPOINTS_MAX 64
struct fixture {
	struct child child;
	size_t n;
	char names[FIXTURE_ENDPOINTS_MAX][64];
	char urls[FIXTURE_ENDPOINTS_MAX][256];
};
/* Start build/assay-fixture -c world (extra: a NULL-terminated list of more
 * arguments, or NULL), read its `listening` lines until every endpoint named
 * in need (NULL-terminated) has appeared. 0, or -1. */
int fixture_start(struct fixture *f, const char *world, const char *const need[],
                  char *const extra[]);
/* fixture_start(f, world, need) at --time-scale scale (NULL: real time),
 * asserting (Criterion) that it started; the failure names the world. */
void fixture_start_scaled(struct fixture *f, const char *world, const char *const need[],
                          const char *scale);
/* A fixture world and a scratch folder, as the suites that run `assay`
 * against a world set them up and tear them down together. */
struct test_world {
	struct fixture world;
	char dir[256];
};
/* test_tmpdir(w->dir, tag) and fixture_start_scaled(w->world, ...),
 * asserting (Criterion) both. */
void test_world_start(struct test_world *w, const char *tag, const char *world,
                      const char *const need[], const char *scale);
/* Stop the world and remove the folder (expecting, Criterion, that it
 * goes); the world's exit status, as fixture_stop(). */
int test_world_stop(struct test_world *w);
/* The base URL of endpoint name, or NULL. */
const char *fixture_url(const struct fixture *f, const char *name);
int fixture_stop(struct fixture *f);
/* Send body (NULL: a GET) to endpoint name of f + path, with headers (as
 * in struct http_request); fills r (release it) however the transfer
 * ended. Asserts that f has that endpoint. */
struct http_response;
void fixture_send(struct http_response *r, const struct fixture *f, const char *name,
                  const char *path, const char *body, const char *const *headers, long timeout_ms);

/* GET url; body (caller frees) and status. NULL on transport failure. */
char *http_get(const char *url, long *status, size_t *len);
/* GET url: its body parsed, when the status is 200 and it parses; else NULL
 * (the caller decrefs). */
json_t *http_get_json(const char *url);
/* Poll http_get_json(url) every 100 ms until ready(root, arg) holds, for at
 * most timeout_ms. That root (the caller decrefs), or NULL on timeout. */
json_t *http_wait_json(const char *url, int timeout_ms, int (*ready)(const json_t *root, void *arg),
                       void *arg);

/* Run argv to completion (bounded by timeout_ms), capturing stdout and
 * stderr (caller frees). Returns the exit status, or -1. */
int run_capture(char *const argv[], int timeout_ms, char **out, char **err);

/*
 * `assay audit --json` with fixed (a NULL-terminated list, or NULL) and
 * then the further arguments (NULL-terminated; 32 in all at most), and
 * with key, when not NULL, in an environment variable named by --key-env.
 * Bounded by timeout_ms. Its exit status; the report in *j, asserted to
 * parse (the caller decrefs).
 */
int test_audit_json(json_t **j, int timeout_ms, const char *key, const char *const *fixed, ...);

/* Start argv (an `assay serve`, perhaps behind a shell) as child_start does
 * and read its first line, "serving URL", within 10 s: URL into base (n
 * bytes). 0, or -1 (the child is stopped) when no such line came. */
int serve_start(struct child *c, char *const argv[], char *base, size_t n);

/* A loopback port nobody listens on right now (bound, read, closed), for
 * a server that cannot take port 0 and say which it got, or for a dead
 * endpoint; -1 on failure. */
int test_free_port(void);
/* Bind http to an ephemeral loopback port: the port, or -1. */
struct evhttp;
int test_evhttp_listen(struct evhttp *http);

/* A fresh folder "/tmp/assay-<tag>-XXXXXX" in dir (n bytes). 0, or -1. */
int test_tmpdir(char *dir, size_t n, const char *tag);
/* test_tmpdir(dir, tag) and the path dir/name in path (pn bytes),
 * asserting (Criterion) that the folder was made. */
void test_tmpdir_file(char *dir, size_t n, const char *tag, char *path, size_t pn,
                      const char *name);
/* Remove dir and all below it (rm -rf). 0 when it is gone. */
int test_rmtree(const char *dir);
/* Write the formatted text to path, created or emptied. 0, or -1. */
int test_write_file(const char *path, const char *fmt, ...) PRINTFLIKE(2, 3);
/* config_load() of text written to a fresh TAG/assay.yaml (removed after):
 * the config, or NULL with config_load's error (FILE:LINE: ...) in err, or
 * "cannot write" when the file could not be. */
struct config;
struct config *test_config_text(const char *tag, const char *text, char *err, size_t errlen);

/*
 * Save a run as serve does: the timeline (restored from s by the caller)
 * decides its history, the store keeps it, the ids come back to the
 * timeline. out (may be NULL) gets the change with its rows' ids (strings
 * are the timeline's). The run id, or -1.
 */
struct store;
struct timeline;
struct timeline_change;
struct audit_run;
struct assessment;
int64_t test_save_run(struct store *s, struct timeline *tl, const struct audit_run *run,
                      const struct assessment *a, struct timeline_change *out);
/* One timeline for the process (tests of one store), made on first use;
 * freed at exit. */
struct timeline *test_timeline(void);

/* A run of one request, of the probe "ping", for relay and model: the run
 * points at its item, the item at the observation (initialised, started at
 * at_ms; the caller fills in the rest). Release with test_run_release(). */
struct test_run {
	struct audit_run run;
	struct audit_item item;
	struct observation obs;
};
void test_run_init(struct test_run *t, const char *relay, const char *model, int64_t at_ms);
void test_run_release(struct test_run *t);

/* A finished run on the heap (audit_run_free() frees it) against a copy of
 * target, with room for n items and none in it yet. */
struct audit_run *test_run_alloc(const struct audit_target *target, size_t n);
/* The run's next item, of probe p (may be NULL), with a fresh observation
 * that got HTTP 200; n_items and n_done count it. */
struct audit_item *test_run_add(struct audit_run *run, const struct probe_def *p);

/* The scorer's catalog and the default baseline pack (the fixture's, see
 * helpers.c); asserts that both load. */
struct catalog;
struct baseline_pack;
void test_scoring_load(struct catalog **cat, struct baseline_pack **pack);

/* The absolute path of a program found in PATH (the caller frees), or NULL. */
char *test_which(const char *name);
/*
 * Node oracles (tests/sdk, tests/relays, ...): find node and npm and run
 * `npm ci` in dir (at most 5 minutes). 0 with *node set (the caller frees);
 * 1 when node or npm is not installed (the caller skips, saying so); -1 with
 * npm's output in *why (the caller frees) when npm ci failed.
 */
int test_npm_ready(const char *dir, char **node, char **why);
/* test_npm_ready(dir) for a test: node's path (the caller frees); skips the
 * test, saying what needs them, when node or npm is not installed; fails it
 * with npm's output when npm ci failed. */
char *test_node(const char *dir, const char *what);

/* A chat completion POSTed with libcurl's easy interface, with the arrival
 * time of each SSE data line (microseconds after the request went out). */
struct http_response {
	CURLcode rc;
	long status;
	char *body;
	size_t len;
	struct buf headers;
	json_t *json; /* the body parsed, or NULL */
	int64_t times[4096];
	size_t ntimes;
	int64_t t0;
};
/* One request with libcurl's easy interface. */
struct http_request {
	const char *url;
	const char *method; /* NULL: GET, or POST when there is a body */
	const char *body;   /* NULL: none */
	/* more request headers ("name: value"), NULL-terminated, or NULL; a
	 * request with a body is sent as content-type: application/json */
	const char *const *headers;
	const char *accept_encoding; /* NULL: ask for none */
	long timeout_ms;             /* 0: 10 s */
};
/* Send q; fills r (release it), whatever happened: r->rc says how the
 * transfer ended. The body is capped at 64 MiB, the headers at 1 MiB. */
void http_send(struct http_response *r, const struct http_request *q);
/* POST body to base_url + "/chat/completions"; fills r (release it). */
void http_post_chat(struct http_response *r, const char *base_url, const char *body,
                    long timeout_ms);
void http_response_release(struct http_response *r);
/* The value of header name (any case) in r's headers, copied into out (n
 * bytes); NULL when r has no such header. */
const char *http_header(const struct http_response *r, const char *name, char *out, size_t n);
/* {"model", "messages": [{"role": "user", ...}]} with the fields of the JSON
 * object extra merged in; NULL when extra is not a JSON object. */
char *chat_request_body(const char *model, const char *user, const char *extra);
/* chat_request_body(), asserting (Criterion) that extra is a JSON object:
 * anything else is the test's own mistake. The caller frees it. */
char *test_chat_body(const char *model, const char *user, const char *extra);
/* A string member of a JSON object, or NULL. */
const char *json_str(const json_t *o, const char *key);
/* An integer member of a JSON object, or 0. */
long json_int(const json_t *o, const char *key);
/* The first object of array whose string member key is value, or NULL
 * (borrowed). The relay "r" in /api/v1/relays: json_find(relays, "relay",
 * "r"). */
json_t *json_find(const json_t *array, const char *key, const char *value);

/* Monotonic milliseconds. */
long long test_now_ms(void);

/* A serve's /api/v1/relays entry of relay (base: the site's URL, ending
 * in '/'), a new reference (NULL: not there); its runs in the last 24 h
 * (-1: not there); and those runs once they reach n, waited for (at most
 * ms): what they were then. */
json_t *test_board_entry(const char *base, const char *relay);
long test_board_runs(const char *base, const char *relay);
long test_wait_board_runs(const char *base, const char *relay, long n, int ms);

/* The finding of class in a, or NULL. */
struct finding;
const struct finding *test_finding(const struct assessment *a, const char *class);
/* The finding of class in a, asserting (Criterion) that there is one. */
const struct finding *test_must_find(const struct assessment *a, const char *class);

/* Tokenizer name, opened; asserts (naming it) that it opens. */
struct tokenizer *test_tokenizer(const char *name);
/* 1 when name's vocabulary is one made at build time (gemma3: see
 * mk/tokenizer.mk) and was not made, as without node and npm: its tests skip. */
int test_vocab_missing(const char *name);
/* Tokens of text, and of a one-message user prompt as family's chat format
 * counts it, by the tokenizer name. Assert that it opens. */
long test_count_text(const char *tokenizer, const char *text);
long test_count_prompt(const char *tokenizer, const char *family, const char *user);

/* A call of model with the n messages m, at most max_tokens, at
 * temperature 0, no seed, not streamed: the tests' usual one, which each
 * changes where it means to. */
struct probe_message;
struct probe_call test_call(const char *model, const struct probe_message *m, size_t n,
                            long max_tokens);

/* Submit req to e and run base until it has ended, at most bound_s
 * seconds. Its observation (observation_release() then free()), or NULL
 * when it had not ended by then. */
struct event_base;
struct engine;
struct engine_request;
struct observation *test_engine_one(struct event_base *base, struct engine *e,
                                    const struct engine_request *req, int bound_s);

/* A loopback receiver of Assay's webhook alerts (web/alerts.h) on a
 * thread of its own: each POST's event, relay and times kept, up to
 * TEST_HOOK_MAX; a body that is not an alert (no event, relay or at_ms, or
 * an X-Assay-Event header that differs) counts as malformed. */
#define TEST_HOOK_MAX 256
struct test_hook_got {
	char event[40], relay[64];
	int quorum;         /* "quorum": true (the hub's outages) */
	int pooled;         /* "pooled": true (the hub's pooled ledger's verdicts) */
	char to[16];        /* a verdict change's "to" */
	char text[400];     /* its text, cut to fit */
	int64_t at_ms;      /* the event's time, as the webhook says */
	int64_t arrived_ms; /* when it came (the wall clock) */
};
struct test_hook {
	struct event_base *base;
	struct evhttp *http;
	struct event *keep;
	pthread_t thread;
	pthread_mutex_t mu;
	int port; /* http://127.0.0.1:PORT/anything */
	struct test_hook_got got[TEST_HOOK_MAX];
	int n, malformed;
};
/* Start and stop (asserts). */
void test_hook_start(struct test_hook *r);
void test_hook_stop(struct test_hook *r);
/* Alerts of event (NULL: any) for relay received so far. */
int test_hook_received(struct test_hook *r, const char *relay, const char *event);

#endif
