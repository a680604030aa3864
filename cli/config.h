/*
 * config: the `assay serve` configuration file (YAML).
 *
 * Every error names file:line. API keys are never in the file: a relay names
 * the environment variable that holds its key (key_env), read at start-up;
 * a header's value is written in the file or named as {env: VAR} alike.
 */
#ifndef ASSAY_CONFIG_H
#define ASSAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "probes/adapter.h"
#include "probes/audit.h"
#include "probes/balance.h"
#include "probes/endpoint.h"
#include "probes/sigv4.h"

struct baseline_pack;

/*
 * passive: blended probes (probes/scheduler.h), globally or per relay (a
 * relay's keys override the global ones; `passive: off` turns them off):
 *   passive: {rate: 20/h, profile: chat, seed: 7}
 * rate: N/s, N/m, N/h or N/d (0: none); profile: chat | coding-agent (the
 * traffic the operator's clients send over this relay's key); seed: the
 * arrival times' (default: drawn at start-up, so no two runs share them),
 * mixed with the relay's and model's names so each target has its own.
 */
struct config_passive {
	double per_hour; /* 0: none */
	enum traffic_profile profile;
	int has_seed;
	uint64_t seed;
};

/* budget: {tokens_per_day: N, usd_per_day: X}: what serve's probes may
 * spend a UTC day (tokens billed; USD at the claimed models' official
 * prices); 0: no cap. */
struct config_budget {
	long tokens;
	double usd;
};

struct config_relay {
	char *name;
	char *base_url;
	enum api_kind api;
	char *key_env;               /* NULL: no key */
	enum auth_kind auth;         /* auth: which header carries the key */
	struct http_header *headers; /* headers: values resolved from the file or
	                              * the environment; secrets, wiped on free */
	size_t n_headers;
	char **models;
	size_t n_models;
	char *wire_model; /* azure: {deployment} on the v1 URL: the body's model */
	/* what the relay's entry says, with the file's defaults and the
	 * secrets it reads from the environment: a reload restarts a relay's
	 * targets when it changed (never shown: it folds secrets in) */
	uint64_t digest;
	/* this relay is not run: why, "FILE:LINE: ..." (owned); its name may be
	 * a stand-in ("relay at line N") and its models partly read. NULL: it
	 * loaded. A file some relays of which load runs those (serve shows the
	 * others as not running); one where none does is refused. */
	char *error;
	int64_t interval_us;
	struct config_passive passive;
	struct config_budget budget; /* this relay's, over all its models */
	/* balance: billing | {url, path, scale}: where the account's balance is
	 * read (probes/balance.h); price: {input_per_mtok, output_per_mtok} or
	 * {ratio}: what the relay sells at (USD per million tokens, or a share
	 * of the official price); -1: not said */
	struct balance_conf balance;
	double price_in, price_out, price_ratio;
	/* bedrock: {region: REGION} (or a bedrock-runtime base_url): Amazon
	 * Bedrock's runtime (probes/bedrock.h); auth sigv4 (its default) signs
	 * with aws, read from the environment at load (wiped on free) */
	int bedrock;
	struct aws_credentials aws;
	int channel; /* channel: the enum origin_channel it claims (scoring/origin.h) */
};

struct alerts_config;

struct config {
	char *path;
	char *title;
	char *listen; /* HOST:PORT */
	char *database;
	/* PostgreSQL: the environment variable holding the database's
	 * password (never the password itself), or NULL */
	char *database_password_env;
	/* PostgreSQL: a streaming replica of database to read from
	 * (database_read; storage/store.h store_options), and the variable
	 * with its password (NULL: database_password_env's); NULL: none */
	char *database_read, *database_read_password_env;
	/* the hub of probe agents (`quorum: 2 of 3 regions`): an outage needs
	 * quorum_need of quorum_of regions (cli/hub.h); 0: no agents */
	int quorum_need, quorum_of;
	char *ca_file;
	int64_t interval_us; /* default for relays */
	int64_t timeout_us;  /* per request */
	double time_scale;   /* the relays' delays as a multiple of real (simulated
	                      * worlds); 1 by default */
	struct config_relay *relays;
	size_t n_relays;
	struct config_passive passive; /* the relays' default */
	struct config_budget budget;   /* every relay together */
	/* credential canaries (probes/canary.h), off unless configured:
	 *   canary: {listen: HOST:PORT, url: PUBLIC_BASE_URL}   or
	 *   canary_url: PUBLIC_BASE_URL   (listen: CONFIG_CANARY_LISTEN)
	 * url: the address relays reach the listener at (NULL: its own,
	 * http://HOST:PORT as bound) */
	char *canary_listen; /* NULL: canaries off */
	char *canary_url;
	/* alerts: {damping, retry, page_url, sinks: [...]} (web/alerts.h);
	 * NULL: none */
	struct alerts_config *alerts;
};

/* Where the canary listener binds when only its url is configured. */
#define CONFIG_CANARY_LISTEN "127.0.0.1:8081"

/* "20/h" as per hour: 0 with *per_hour, or -1 with why in err. */
int config_parse_rate(const char *s, double *per_hour, char *err, size_t errlen);

/*
 * Load and validate path. Any model name is accepted: one no pack knows is
 * audited against a stand-in (scoring/identify.h). NULL with
 * "FILE:LINE: message" in err.
 */
struct config *config_load(const char *path, char *err, size_t errlen);
/* The same for a file's text (len bytes); name stands for its path in
 * messages and for the relative paths it holds. */
struct config *config_load_string(const char *text, size_t len, const char *name, char *err,
                                  size_t errlen);
void config_free(struct config *c);

/* Is url an absolute http(s) URL curl can use? 0 yes; -1 with why in err. */
int config_check_url(const char *url, char *err, size_t errlen);

/* Add one --header 'Name: value' to the list (*h, *n), which the caller
 * frees with http_headers_free(); with from_env, arg is 'Name: VAR'
 * (--header-env) and the value is VAR's. -1 with why in err (never the
 * value); the list is left as it was. Which names are allowed is checked
 * later, once the API and key are known (endpoint_headers_check). */
int config_cli_header(struct http_header **h, size_t *n, const char *arg, int from_env, char *err,
                      size_t errlen);

#endif
