/*
 * balance: a relay account's balance and usage, where the relay shows them
 * (issue 18), for serve's billing audit.
 *
 * Relays built on one-api / new-api answer the OpenAI-style billing
 * endpoints with the relay key (new-api's docs, "account billing panel":
 * github.com/QuantumNous/new-api-docs, docs/ja/api/fei-account-billing-
 * panel.md):
 *   GET {base}/dashboard/billing/subscription  (also under /v1)
 *       {"object":"billing_subscription","hard_limit_usd":100.0,...}
 *   GET {base}/dashboard/billing/usage         (also under /v1)
 *       {"object":"list","total_usage":2500.0}  in units of 0.01 USD
 * The balance is hard_limit_usd - total_usage / 100, as the chat clients
 * that show it compute it; what an account was charged between two looks
 * is the rise of total_usage (cents: a default audit of a few thousand
 * tokens moves it by a cent or none, so charges are judged summed over
 * many runs). Any other relay: an endpoint and a JSON path to a balance in
 * USD (times a scale) set in the config; charges are then its falls.
 */
#ifndef ASSAY_BALANCE_H
#define ASSAY_BALANCE_H

#include <stddef.h>

enum balance_kind { BALANCE_NONE, BALANCE_BILLING, BALANCE_CUSTOM };

struct balance_conf {
	enum balance_kind kind;
	char *url;    /* custom: the endpoint (GET with the relay's key) */
	char *path;   /* custom: dot-separated keys to the number ("data.balance") */
	double scale; /* custom: the number times this is USD (default 1) */
};

void balance_conf_free(struct balance_conf *c);

/* The URLs to GET for c at base_url (the relay's base URL), into urls (the
 * caller frees each): 2 for the billing endpoints (subscription, usage), 1
 * for a custom endpoint, 0 for none. today_ms dates the usage query as
 * OpenAI's legacy endpoint wanted it (start_date, end_date). */
size_t balance_urls(const struct balance_conf *c, const char *base_url, long long today_ms,
                    char *urls[2]);

/* One look at the account. */
struct balance_sample {
	double balance_usd; /* what is left; < 0: not shown */
	double used_usd;    /* the usage counter (billing); < 0: not shown */
};

/*
 * Read a sample from the bodies of the GETs (balance_urls' order; NULL or
 * status outside 2xx: that one failed). 0, or -1 with why in whylen bytes
 * (what was wrong, never the body).
 */
int balance_read(const struct balance_conf *c, const char *const bodies[2], const size_t lens[2],
                 struct balance_sample *out, char *why, size_t whylen);

/* The number at path (dot-separated keys) in the JSON body, or -1 with why. */
int balance_json_path(const char *body, size_t len, const char *path, double *out, char *why,
                      size_t whylen);

#endif
