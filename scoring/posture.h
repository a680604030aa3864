/*
 * posture: the relay's security posture, as one audit saw it.
 *
 * A report section, not a cheat class: whether the requests went over
 * verified TLS, whether the relay sends HSTS and a wildcard CORS header,
 * whether it echoed the key (or a secret header) back, and whether its
 * error messages leak what lies behind it (an upstream provider's host, a
 * key-shaped token that is not ours, a private address). Each fact is
 * counted over the responses that showed it; nothing secret is quoted.
 */
#ifndef ASSAY_POSTURE_H
#define ASSAY_POSTURE_H

#include <jansson.h>
#include <stdio.h>

#include "probes/audit.h"

struct posture {
	int responses;    /* requests that got an HTTP response */
	int tls;          /* ... over https, the certificate verified */
	int hsts;         /* ... with strict-transport-security */
	int cors_any;     /* ... with access-control-allow-origin: * */
	int echoed;       /* ... that echoed a secret of the request (redacted) */
	int leak_hosts;   /* error messages naming an upstream provider's host */
	int leak_keys;    /* ... holding a key-shaped token that is not ours */
	int leak_private; /* ... holding a private network address */
	char host[96];    /* the first upstream host named, or "" */
	int https_url;    /* the base URL is https */
	int insecure;     /* verification was turned off by the user */
};

/* What run's responses showed. insecure: --insecure-skip-tls-verify. */
void posture_assess(const struct audit_run *run, int insecure, struct posture *out);
/* The report section (plain text) and the JSON object ("security"). */
void posture_print(const struct posture *p, FILE *f);
json_t *posture_json(const struct posture *p);

#endif
