/*
 * audit: one run of the probe set against one relay and model.
 *
 * A run instantiates each selected probe (a fresh nonce per request), sends
 * them through the engine a few at a time, keeps each request's text and
 * observation, and calls back once when all are done. Scoring reads the
 * finished run; storage keeps its observations. Nothing here exits.
 */
#ifndef ASSAY_AUDIT_H
#define ASSAY_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "probes/adapter.h"
#include "probes/catalog.h"
#include "probes/clients.h"
#include "probes/engine.h"
#include "probes/sigv4.h"

/* Whose traffic a request is shaped like: an audit's own, or (passive
 * probes of serve) the client traffic the operator declares. Client
 * profiles (probes/clients.c) map each to their headers and request
 * shapes. */
enum traffic_profile {
	TRAFFIC_AUDIT = 0,
	TRAFFIC_CHAT,         /* a chat app's: conversational text */
	TRAFFIC_CODING_AGENT, /* a coding agent's: tools, JSON, code, stops */
};

struct canary;

struct audit_item;

struct audit_target {
	char *relay; /* display name */
	char *base_url;
	enum api_kind api;
	char *model;                 /* the claimed model: its baseline judges the answers */
	char *wire_model;            /* the body's model when it is not model (an Azure v1
	                              * deployment's name); NULL: model */
	char *api_key;               /* from the environment; never stored */
	enum auth_kind auth;         /* which header carries the key */
	struct http_header *headers; /* extra request headers (values are secrets) */
	size_t n_headers;
	struct request_rules rules;   /* what the claimed model accepts (its baseline) */
	int list_models;              /* also GET the relay's model list */
	struct canary *canary;        /* planted in the probes that want one
	                               * (borrowed; probes/canary.h); NULL: those
	                               * are not sent */
	enum traffic_profile traffic; /* the traffic a passive probe blends into
	                               * (probes/scheduler.h); TRAFFIC_AUDIT for
	                               * a scheduled audit */
	/* Asked after each request that ends (NULL: never): nonzero stops the
	 * run early, when the evidence so far is decisive. The requests not yet
	 * sent then end unsent (ERR_NOT_SENT, not_needed set) with the sentence
	 * stop wrote into why; those in flight finish. The scorer supplies it
	 * (scoring/detect.h: scorer_stop_early). */
	int (*stop)(const struct audit_run *run, void *arg, char *why, size_t whylen);
	void *stop_arg;
	/* The prompt tokens an item's messages come to for the claimed model
	 * (its tokenizer and chat template; tools not counted), or -1 when
	 * unknown (NULL: never known). The token budget's estimate uses it
	 * before the fewest tokens a character seen. The scorer supplies it
	 * with stop's arg (scoring/detect.h: scorer_stop_prompt_tokens). */
	long (*prompt_tokens)(const struct audit_item *it, void *arg);
	/* the client every request of the run presents itself as (static);
	 * NULL: audit_start() picks one at random for the target's API */
	const struct client_profile *client;
	/* Told after each request that ends, before the run may end (NULL:
	 * never): progress for a terminal (cli/cmd_audit.c). Items
	 * [0, run->next) were submitted; those with no obs yet are in flight. */
	void (*progress)(const struct audit_run *run, void *arg);
	void *progress_arg;
	/* Tokens the run may have billed (prompt + completion, as the relay
	 * reports them): a request that would pass it, at the run's mean
	 * per request so far, is not sent, nor any after it (ERR_NOT_SENT,
	 * not_needed, "not sent: ... budget"). 0: no budget. */
	long budget_tokens;
	/* Amazon Bedrock's runtime (probes/bedrock.h): api is API_ANTHROPIC,
	 * requests go to base_url/model/MODEL/invoke[-with-response-stream]
	 * with Bedrock's body, and streams are AWS event streams */
	int bedrock;
	/* SigV4 credentials (auth AUTH_SIGV4; owned, never stored or shown);
	 * access_key_id NULL: none */
	struct aws_credentials aws;
	/* the channel the relay claims to sell (config `channel:`; a name of
	 * scoring/origin.h's enum origin_channel), owned; NULL: unclaimed */
	char *channel;
	/* The long-context tier's size (TIER_LONG): filler words its
	 * {context_fill:P} share out (probes/catalog.h), from the window the
	 * claimed model is sold with; 0: that tier is not sent. */
	long context_fill_words;
	/* At most this many requests are planned for the run's spare probes to
	 * fit in (probe_def.spare: planned last, only while the run's requests
	 * stay within it; the others are planned whatever it says); 0: every
	 * spare probe is planned. */
	size_t max_requests;
};

/* The long-context tier's size for a model sold with a window of
 * context_window tokens: filler words (probes/catalog.h {context_fill})
 * for a prompt of about AUDIT_LONG_CONTEXT_SHARE % of it, counting 1.3
 * tokens a word (common words, a full stop and line break every twelve:
 * at most that in any shipped family). */
#define AUDIT_LONG_CONTEXT_SHARE 70
#define AUDIT_LONG_CONTEXT_TOKENS_PER_10_WORDS 13
long audit_context_fill_words(long context_window);

/* The requests of a default audit: spare probes (the capability probes)
 * go only where the others leave room within it (--deep lifts it). */
#define AUDIT_BUDGET_REQUESTS 30

/* The default budget of `assay audit` and serve's runs: a reasoning
 * model's default audit stays under it (issue 14). --deep lifts it. */
#define AUDIT_BUDGET_TOKENS 3000

/* A probe the run did not send: the API cannot carry what it asks for. */
struct audit_skip {
	const struct probe_def *probe;
	const char *reason; /* static: what the API lacks */
};

/* One request of a run: what was sent and what came back. */
struct audit_item {
	const struct probe_def *probe;
	int sample;
	struct probe_message *messages; /* rendered, owned */
	size_t n_messages;
	char nonce[16];          /* probe_nonce(): what {nonce_hex} and the
	                          * other nonce forms were rendered from */
	struct observation *obs; /* NULL until done */
	long estimate;           /* tokens it was expected to cost when sent
	                          * (0: no estimate; the run's budget) */
	int not_needed;          /* unsent by the run's choice: it stopped early
	                          * (target.stop) or its budget was reached */
	char *attach_base64;     /* the probe's attachment (intent.attach),
	                          * made from nonce; NULL none (owned) */
};

struct audit_run {
	struct audit_target target;
	int64_t started_ms;
	int64_t finished_ms;
	struct audit_item *items;
	size_t n_items;
	struct audit_skip *skipped; /* probes left out, in catalog order */
	size_t n_skipped;
	size_t n_done;
	struct observation *listing; /* the model list (GET /v1/models), when
	                              * target.list_models; NULL until done */
	int listing_pending;
	size_t next;        /* next item to submit */
	char *stop_reason;  /* the run stopped early: why (owned), else NULL */
	int budget_reached; /* ... because of target.budget_tokens */
	long underestimate; /* the most a finished request cost over its
	                     * estimate: kept in reserve under the budget */
	size_t in_flight;
	size_t parallel;
	int64_t timeout_us;  /* per request, and for the whole run */
	int64_t deadline_us; /* monotonic: no request of the run outlives it */
	struct engine *engine;
	void (*done)(struct audit_run *run, void *arg);
	void *arg;
};

/* A deep copy; release wipes the key and the header values. */
void audit_target_copy(struct audit_target *dst, const struct audit_target *src);
void audit_target_release(struct audit_target *t);

/*
 * Start a run of the catalog's probes in the tiers mask against target.
 * Probes whose intent target's API cannot carry are not sent; the run lists
 * them in skipped with the reason.
 * timeout_us bounds each request and the run as a whole (0: 60 s): requests
 * the run has no time left for end unsent (ERR_NOT_SENT, "the audit's 60 s
 * had run out"), never sent with a deadline too short to answer in.
 * done is called once, from the event loop, when every request has ended;
 * the callee then owns the run (audit_run_free()).
 */
struct audit_run *audit_start(struct engine *e, const struct catalog *c,
                              const struct audit_target *target, unsigned tiers, size_t parallel,
                              int64_t timeout_us, void (*done)(struct audit_run *, void *),
                              void *arg);
/*
 * The same, run to its end: dispatches base (the engine's) until the run is
 * done, for the commands that audit once and exit. The caller owns the run.
 */
struct event_base;
struct audit_run *audit_run_to_end(struct event_base *base, struct engine *e,
                                   const struct catalog *c, const struct audit_target *target,
                                   unsigned tiers, size_t parallel, int64_t timeout_us);
void audit_run_free(struct audit_run *run);
/* Whatever the relay echoed of canary c's key or token, out of every
 * observation of run (and its model list): before anything scores, stores
 * or prints them. */
void audit_run_redact_canary(struct audit_run *run, const struct canary *c);
/* An item's rendered messages and observation freed (the item itself is
 * its owner's). */
void audit_item_release(struct audit_item *it);

/* Tokens the run spent, as the relay reported them (prompt + completion). */
long audit_tokens_spent(const struct audit_run *run);
/* The first item for a probe id (sample 0), or NULL. */
const struct audit_item *audit_find(const struct audit_run *run, const char *probe_id);
/* The answers of a probe's successful samples, in order: at most cap
 * pointers into the run. Returns how many. */
size_t audit_texts(const struct audit_run *run, const char *probe_id, const char **out, size_t cap);
/* Did a repeated probe's successful samples all answer alike? 1 yes, 0 no,
 * -1 fewer than two answered. */
int audit_answers_agree(const struct audit_run *run, const char *probe_id);

#endif
