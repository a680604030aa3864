/*
 * posture: the relay's security posture, as one audit saw it.
 *
 * A report section, not a cheat class: whether the requests went over
 * verified TLS, which TLS versions answered (below 1.2 is weak), how soon
 * the server certificate expires (under POSTURE_CERT_WARN_DAYS is a
 * warning), whether the API also answers over plain HTTP
 * (probes/plainhttp.h), whether the relay sends HSTS and a wildcard CORS
 * header,
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
#include "probes/plainhttp.h"

/* A certificate expiring sooner than this is a warning: renewal has
 * failed, or is left to the last days. */
#define POSTURE_CERT_WARN_DAYS 14

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

	/* the TLS sessions: responses by version, and the certificate */
	int tls_versions[OBS_TLS__COUNT];
	int tls_weak;           /* responses below TLS 1.2 */
	int64_t cert_not_after; /* the soonest notAfter seen (Unix s); 0: none */
	int64_t cert_left_s;    /* from the audit's end to it (<= 0: expired) */
	int cert_soon;          /* under POSTURE_CERT_WARN_DAYS */
	char cert_sha256[17];   /* that certificate's fingerprint (observation.h) */
	char cert_names[96];    /* ... and the names it is for */

	/* the plain-HTTP check */
	enum plainhttp_outcome plain;
	char plain_url[256];    /* what it tried; "": not tried */
	int plain_status;       /* its HTTP status; 0: none */
	char plain_detail[160]; /* what failed or answered, or "" */
};

/* What run's responses showed. insecure: --insecure-skip-tls-verify.
 * plain: the plain-HTTP check, done (NULL: not run). */
void posture_assess(const struct audit_run *run, int insecure, const struct plainhttp *plain,
                    struct posture *out);
/* The report section (plain text) and the JSON object ("security"). */
void posture_print(const struct posture *p, FILE *f);
json_t *posture_json(const struct posture *p);

#endif
