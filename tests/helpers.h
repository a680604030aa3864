/*
 * helpers: what the tests share: child processes with bounded waits, the
 * fixture world's endpoints, and small HTTP GETs on loopback.
 *
 * No test sleeps for a fixed time: every wait polls a condition with a bound.
 */
#ifndef ASSAY_TEST_HELPERS_H
#define ASSAY_TEST_HELPERS_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/util.h"

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

/* A running fixture world and its endpoints. */
struct fixture {
	struct child child;
	size_t n;
	char names[32][64];
	char urls[32][256];
};
/* Start build/assay-fixture -c world (extra: a NULL-terminated list of more
 * arguments, or NULL), read its `listening` lines until every endpoint named
 * in need (NULL-terminated) has appeared. 0, or -1. */
int fixture_start(struct fixture *f, const char *world, const char *const need[],
                  char *const extra[]);
/* The base URL of endpoint name, or NULL. */
const char *fixture_url(const struct fixture *f, const char *name);
int fixture_stop(struct fixture *f);

/* GET url; body (caller frees) and status. NULL on transport failure. */
char *http_get(const char *url, long *status, size_t *len);

/* Run argv to completion (bounded by timeout_ms), capturing stdout and
 * stderr (caller frees). Returns the exit status, or -1. */
int run_capture(char *const argv[], int timeout_ms, char **out, char **err);

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

/* The absolute path of a program found in PATH (the caller frees), or NULL. */
char *test_which(const char *name);
/*
 * Node oracles (tests/sdk, tests/relays, ...): find node and npm and run
 * `npm ci` in dir (at most 5 minutes). 0 with *node set (the caller frees);
 * 1 when node or npm is not installed (the caller skips, saying so); -1 with
 * npm's output in *why (the caller frees) when npm ci failed.
 */
int test_npm_ready(const char *dir, char **node, char **why);

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
/* POST body to base_url + "/chat/completions"; fills r (release it). */
void http_post_chat(struct http_response *r, const char *base_url, const char *body,
                    long timeout_ms);
void http_response_release(struct http_response *r);
/* {"model", "messages": [{"role": "user", ...}]} with the fields of the JSON
 * object extra merged in; NULL when extra is not a JSON object. */
char *chat_request_body(const char *model, const char *user, const char *extra);
/* A string member of a JSON object, or NULL. */
const char *json_str(const json_t *o, const char *key);

/* Monotonic milliseconds. */
long long test_now_ms(void);

#endif
