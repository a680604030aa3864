/*
 * sigv4: AWS Signature Version 4 for requests to AWS services (Bedrock
 * runtime), over OpenSSL's SHA-256 and HMAC.
 *
 * Our own signer, not libcurl's CURLOPT_AWS_SIGV4: libcurl 7.88.1 signs
 * the path as sent, while AWS canonicalises a non-S3 path by URI-encoding
 * each segment once more, so a Bedrock model id with ':' (sent as %3A,
 * canonical %253A) gets a signature AWS refuses (curl issues 11794 and
 * 16927; tests/test_sigv4.c shows it on the libcurl linked). Issue 17
 * allows this one hand-written signer; it passes AWS's published test
 * suite (tests/data/sigv4/) and agrees with @smithy/signature-v4.
 *
 * Secrets (the secret access key, the session token) are only read here;
 * nothing in this module logs, stores or returns them, and the header lines
 * it hands over carry the token only in X-Amz-Security-Token.
 */
#ifndef ASSAY_SIGV4_H
#define ASSAY_SIGV4_H

#include <stddef.h>
#include <time.h>

/* ---- Credentials ---- */

/* The standard AWS credentials, owned strings (sigv4_credentials_release
 * wipes and frees them). session_token NULL when none. */
struct aws_credentials {
	char *access_key_id;
	char *secret_access_key; /* a secret */
	char *session_token;     /* a secret; NULL: long-term credentials */
	char *region;            /* NULL when the environment names none */
};

/*
 * Read AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
 * AWS_REGION (else AWS_DEFAULT_REGION) into c. -1 with why in err (never
 * quoting a value) when the key id or the secret is missing or empty;
 * c is then left zeroed.
 */
int sigv4_credentials_from_env(struct aws_credentials *c, char *err, size_t errlen);
/* A deep copy of src into dst. */
void sigv4_credentials_copy(struct aws_credentials *dst, const struct aws_credentials *src);
/* Wipe (explicit_bzero) and free the strings; c is zeroed. */
void sigv4_credentials_release(struct aws_credentials *c);

/* ---- Signing one request ---- */

struct sigv4_header {
	const char *name;
	const char *value;
};

/*
 * A request as it goes on the wire: path and query exactly as sent
 * (percent-encoded as in the request line; query without '?', "" or NULL
 * for none), every header to sign (Host and X-Amz-Date among them).
 */
struct sigv4_request {
	const char *method;
	const char *path;
	const char *query;
	const struct sigv4_header *headers;
	size_t n_headers;
	const void *body;
	size_t body_len;
};

/*
 * Sign rq for service in region with the key id and secret, at amz_date
 * ("YYYYMMDDTHHMMSSZ", the request's X-Amz-Date): *authorization gets the
 * Authorization header's value (the caller frees it); *canonical, when not
 * NULL, the canonical request (for tests; it holds no secret). -1 when
 * amz_date is malformed or a header name is empty.
 */
int sigv4_sign(const struct sigv4_request *rq, const char *access_key_id, const char *secret,
               const char *region, const char *service, const char *amz_date, char **authorization,
               char **canonical);

/*
 * The header lines ("Name: value") that sign a POST of body to url for
 * service as the engine sends it: X-Amz-Date (at now), X-Amz-Security-
 * Token when c has one, and Authorization, signing Content-Type
 * (content_type), Host (from url, with a port that is not the scheme's
 * default, as curl sends it), X-Amz-Date and the token. The path and query
 * are taken from url as curl sends them. Three (or two) lines in out[]; the
 * caller frees each. -1 when url cannot be parsed or c has no region.
 */
int sigv4_request_headers(const char *url, const char *content_type, const char *body,
                          size_t body_len, const struct aws_credentials *c, const char *service,
                          time_t now, char *out[3], size_t *n_out);
/* The same for another method than POST ("GET": the model list). */
int sigv4_request_headers_for(const char *method, const char *url, const char *content_type,
                              const char *body, size_t body_len, const struct aws_credentials *c,
                              const char *service, time_t now, char *out[3], size_t *n_out);

#endif
