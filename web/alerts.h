/*
 * alerts: what `assay serve` tells people when something happens to a
 * relay they watch, delivered to the sinks the config names.
 *
 * Events (enum alert_event_kind): a verdict that changed (serve's own
 * runs', or on a hub the pooled ledger's of every region's agents, each
 * damped apart: a flapping relay sends at most one a damping period, the
 * latest state, with how many changes it folded in), an outage that opened or resolved (the
 * timeline's incidents, already damped: scoring/timeline.h) and a use of a
 * canary key (credential harvesting, probes/canary.h; damped like verdicts:
 * a harvester uses every run's canary, so at most one alert a relay-model
 * a damping period, the next saying how many uses it folded in), a billing
 * finding, an early warning that starts or ends, and a daily budget spent
 * (runs held back; serve tells it once a UTC day). Derived from what serve
 * stored, so an event is sent once: after its run or hit was written. The
 * webhook's `at` is the event's time, `at_ms` the same in milliseconds.
 *
 * Sinks: a generic webhook (JSON, HMAC-SHA256 signed over "TIMESTAMP.BODY"
 * in X-Assay-Signature, with X-Assay-Timestamp and a delivery id a receiver
 * can deduplicate on), Slack and Discord incoming webhooks, Telegram's
 * sendMessage, ntfy, and email over SMTP (libcurl's SMTP). Secrets (webhook
 * secret, Slack and Discord URLs, bot tokens, SMTP passwords) live in
 * environment variables the config names; no message, log line or error
 * says them.
 *
 * Delivery runs on a thread of its own with libcurl's easy interface, so
 * the event loop never waits for a sink. Each delivery is tried up to
 * ALERT_TRIES times with doubling waits (from retry_base, 1 s by default);
 * a 4xx other than 408 and 429 is final. The queue holds ALERT_QUEUE_MAX
 * deliveries: past that the oldest goes, and the next message says how many
 * were lost. Relay-supplied text in a message (a verdict's reason) is
 * stripped of control characters and capped.
 */
#ifndef ASSAY_ALERTS_H
#define ASSAY_ALERTS_H

#include <stddef.h>
#include <stdint.h>

struct ynode;
struct timeline_change;

enum alert_event_kind {
	ALERT_VERDICT,    /* "verdict_changed" */
	ALERT_OUTAGE,     /* "outage_started" */
	ALERT_RECOVERED,  /* "outage_ended" */
	ALERT_HARVESTING, /* "credential_harvesting" */
	ALERT_BILLING,    /* "billing": an over-charge or a balance that drains */
	ALERT_WARNING,    /* "at_risk": early warning (scoring/warning.h) */
	ALERT_BUDGET,     /* "budget_exhausted": runs held back for a spent budget */
	ALERT__COUNT
};

/* The stable name of an event kind (JSON, headers, tests). */
const char *alert_event_name(enum alert_event_kind k);

enum alert_sink_kind {
	SINK_WEBHOOK,
	SINK_SLACK,
	SINK_DISCORD,
	SINK_TELEGRAM,
	SINK_NTFY,
	SINK_EMAIL,
};

struct alert_sink_conf {
	enum alert_sink_kind kind;
	char *name;       /* for logs: "webhook #1" unless named */
	unsigned events;  /* bits of enum alert_event_kind; all by default */
	char *url;        /* webhook (not a secret), or read from url_env */
	char *url_env;    /* webhook, slack, discord: the URL is a secret */
	char *secret_env; /* webhook: the HMAC key */
	char *token_env;  /* telegram: the bot token; ntfy: an access token */
	char *chat_id;    /* telegram */
	char *api_base;   /* telegram (https://api.telegram.org), ntfy server
	                   * (https://ntfy.sh) */
	char *topic;      /* ntfy */
	char *smtp_url;   /* email: smtp://host:587 or smtps://host:465 */
	char *from;       /* email */
	char **to;        /* email */
	size_t n_to;
	char *user_env, *password_env; /* email: SMTP AUTH, from the environment */
};

struct alerts_config {
	struct alert_sink_conf *sinks;
	size_t n_sinks;
	int64_t damping_ms;    /* verdict changes: one a target in this (30 min) */
	int64_t retry_base_ms; /* the first wait before a retry (1 s) */
	char *page_url;        /* the status page, linked from messages; NULL none */
};

#define ALERT_TRIES 5
#define ALERT_QUEUE_MAX 1024

/*
 * Read `alerts:` (n) of config file into c: {damping, retry, page_url,
 * sinks: [{kind: webhook|slack|discord|telegram|ntfy|email, ...}]}. Every
 * environment variable a sink names must be set. 0, or -1 with
 * "FILE:LINE: why" in err (never a secret's value).
 */
int alerts_config_load(const struct ynode *n, const char *file, struct alerts_config *c, char *err,
                       size_t errlen);
void alerts_config_free(struct alerts_config *c);

struct alerts;

/* Start delivering for c (copied) under title (the board's). NULL when the
 * thread cannot start. */
struct alerts *alerts_new(const struct alerts_config *c, const char *title);
/* Deliver what is queued for at most drain_ms, then stop and free. */
void alerts_free(struct alerts *a, int64_t drain_ms);

/*
 * A stored run's change (scoring/timeline.h) for relay and model, whose
 * verdict and reason are the run's: the events it makes, queued. now_ms
 * is the run's time (the damping clock). Loop thread.
 */
void alerts_run(struct alerts *a, const char *relay, const char *model, const char *verdict,
                const char *reason, const struct timeline_change *ch, int64_t now_ms);
/* A stored use of a canary planted for relay and model: from (the user's
 * address, as the listener saw it) at at_ms. Loop thread. */
void alerts_harvesting(struct alerts *a, const char *relay, const char *model, const char *from,
                       int64_t at_ms);

/* The hub's quorum of regions (scoring/quorum.h) declared relay's model
 * down (declared 1: no request succeeded in the latest runs of down of of
 * regions) or no longer (declared 0: the outage declared at opened_ms is
 * over); regions: each region's state, the hub's words. Sent as
 * outage_started / outage_ended with "quorum": true; the hub tells each
 * once, after it was written. Loop thread. */
void alerts_quorum_outage(struct alerts *a, const char *relay, const char *model, int declared,
                          int down, int of, const char *regions, int64_t opened_ms, int64_t at_ms);

/* The hub's pooled ledger (scoring/region_ledger.h: every region's agents'
 * evidence on relay's model) gives verdict, for reason (ours, or NULL),
 * at at_ms; before is what it gave until then, the baseline the first
 * time the alerts see it (a restarted hub passes what it restored, so it
 * tells nothing twice; NULL: nothing before, a new relay-model, whose
 * first genuine verdict is no news and a first accusation is). A
 * verdict_changed event with "pooled": true, damped as serve's own are,
 * apart from them (a hub that also audits from its own region has both).
 * Sent once: the hub calls it after the ledger's state was written. Loop
 * thread. */
void alerts_pooled_verdict(struct alerts *a, const char *relay, const char *model,
                           const char *verdict, const char *reason, const char *before,
                           int64_t at_ms);

/* What relay's balance showed (serve's billing audit), told once per
 * change of what it says: title and text are ours (relay text already
 * sanitized). */
void alerts_billing(struct alerts *a, const char *relay, const char *title, const char *text,
                    int64_t at_ms);
/* Early warning for relay's model: at risk for why, or (why NULL) no
 * longer. */
void alerts_at_risk(struct alerts *a, const char *relay, const char *model, const char *why,
                    int64_t at_ms);
/* Runs of relay's model are held back until the next UTC day: why (the
 * budget and its figures, ours). serve calls it once a day a relay. */
void alerts_budget(struct alerts *a, const char *relay, const char *model, const char *why,
                   int64_t at_ms);
/* The credit relay's account had at the last look (< 0: unknown): an
 * outage alert says it ("stopped answering with $X left"). */
void alerts_set_credit(struct alerts *a, const char *relay, double usd);

/* Deliveries made, and given up (tests and /metrics). */
struct alerts_stats {
	long queued, delivered, failed, dropped, damped;
};
void alerts_stats(struct alerts *a, struct alerts_stats *out);

/* Is url's host this machine (127.0.0.0/8, ::1, localhost)? Where an SMTP
 * password may go without TLS. */
int alerts_url_is_loopback(const char *url);

/* HMAC-SHA256 of data under key, as lowercase hex (65 bytes with the NUL):
 * the webhook's signature (OpenSSL's HMAC). */
void alerts_hmac_hex(const char *key, const char *data, size_t len, char out[65]);

#endif
