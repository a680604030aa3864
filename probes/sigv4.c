/*
 * sigv4: AWS Signature Version 4, written from AWS's documentation
 * ("Create a signed AWS API request", docs.aws.amazon.com/IAM/latest/
 * UserGuide/reference_sigv-create-signed-request.html, and the Signature
 * Version 4 test suite, docs.aws.amazon.com/general/latest/gr/
 * signature-v4-test-suite.html):
 *
 *   canonical request = method \n canonical URI \n canonical query \n
 *                       canonical headers \n signed headers \n hex(SHA256(body))
 *   canonical URI     the path normalised (empty, "." and ".." segments
 *                     removed; a trailing slash kept), each segment
 *                     URI-encoded once more (every service but S3): the
 *                     path as sent, %3A and all, so ':' ends as %253A
 *   canonical query   pairs split at '&' and the first '=', each part
 *                     decoded then URI-encoded, sorted by name then value
 *   canonical headers lowercase names, values trimmed with inner runs of
 *                     spaces made one, repeated names joined by ',', sorted
 *   string to sign    "AWS4-HMAC-SHA256" \n amz_date \n scope \n hex(SHA256(creq))
 *   signing key       HMAC chain "AWS4"+secret -> date -> region -> service
 *                     -> "aws4_request"
 *
 * URI-encoding keeps A-Z a-z 0-9 - _ . ~ and writes every other byte as
 * %XX in upper-case hex.
 */
#include "probes/sigv4.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

/* ---- Credentials ---- */

static char *
env_value(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && *v ? xstrdup(v) : NULL;
}

int
sigv4_credentials_from_env(struct aws_credentials *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->access_key_id = env_value("AWS_ACCESS_KEY_ID");
	c->secret_access_key = env_value("AWS_SECRET_ACCESS_KEY");
	if (c->access_key_id == NULL || c->secret_access_key == NULL) {
		snprintf(err, errlen,
		         "sigv4 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in "
		         "the environment");
		sigv4_credentials_release(c);
		return -1;
	}
	c->session_token = env_value("AWS_SESSION_TOKEN");
	c->region = env_value("AWS_REGION");
	if (c->region == NULL)
		c->region = env_value("AWS_DEFAULT_REGION");
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
sigv4_credentials_copy(struct aws_credentials *dst, const struct aws_credentials *src)
{
	dst->access_key_id = dup_or_null(src->access_key_id);
	dst->secret_access_key = dup_or_null(src->secret_access_key);
	dst->session_token = dup_or_null(src->session_token);
	dst->region = dup_or_null(src->region);
}

static void
wipe(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void
sigv4_credentials_release(struct aws_credentials *c)
{
	wipe(&c->access_key_id);
	wipe(&c->secret_access_key);
	wipe(&c->session_token);
	wipe(&c->region);
}

/* ---- Encoding ---- */

static int
unreserved(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

static void
uri_encode(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (unreserved(ch)) {
			buf_putf(out, "%c", ch);
		} else {
			char e[4] = {'%', hex[ch >> 4], hex[ch & 15], 0};
			buf_puts(out, e);
		}
	}
}

static int
hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* s[0..n) with %XX decoded (a '%' not followed by two hex digits stays). */
static char *
uri_decode(const char *s, size_t n, size_t *len)
{
	char *d = xmalloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 &&
		    hex_value(s[i + 2]) >= 0) {
			d[k++] = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
			i += 2;
		} else {
			d[k++] = s[i];
		}
	}
	d[k] = 0;
	*len = k;
	return d;
}

static void
canonical_uri(struct buf *out, const char *path)
{
	if (path == NULL || *path == 0) {
		buf_puts(out, "/");
		return;
	}
	/* the segments kept, as [start, len) pairs into path */
	size_t n_max = strlen(path) + 1, n = 0;
	size_t *start = xcalloc(n_max, sizeof *start);
	size_t *len = xcalloc(n_max, sizeof *len);
	for (const char *p = path; *p;) {
		if (*p == '/') {
			p++;
			continue;
		}
		size_t l = strcspn(p, "/");
		if (l == 1 && p[0] == '.') {
			/* nothing */
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (n > 0)
				n--;
		} else {
			start[n] = (size_t)(p - path);
			len[n++] = l;
		}
		p += l;
	}
	for (size_t i = 0; i < n; i++) {
		buf_puts(out, "/");
		uri_encode(out, path + start[i], len[i]);
	}
	if (n == 0 || path[strlen(path) - 1] == '/')
		buf_puts(out, "/");
	free(start);
	free(len);
}

struct query_pair {
	char *key; /* encoded */
	char *value;
};

static int
pair_cmp(const void *a, const void *b)
{
	const struct query_pair *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c != 0 ? c : strcmp(x->value, y->value);
}

static char *
encoded_part(const char *s, size_t n)
{
	size_t dl;
	char *d = uri_decode(s, n, &dl);
	struct buf b;
	buf_init(&b, 0);
	uri_encode(&b, d, dl);
	free(d);
	if (b.data == NULL)
		return xstrdup("");
	return buf_take(&b, NULL);
}

static void
canonical_query(struct buf *out, const char *query)
{
	if (query == NULL || *query == 0)
		return;
	size_t n_max = 1, n = 0;
	for (const char *p = query; *p; p++)
		n_max += *p == '&';
	struct query_pair *pairs = xcalloc(n_max, sizeof *pairs);
	for (const char *p = query;;) {
		size_t l = strcspn(p, "&");
		if (l > 0) {
			const char *eq = memchr(p, '=', l);
			size_t kl = eq != NULL ? (size_t)(eq - p) : l;
			pairs[n].key = encoded_part(p, kl);
			pairs[n].value =
			    eq != NULL ? encoded_part(eq + 1, l - kl - 1) : xstrdup("");
			n++;
		}
		if (p[l] == 0)
			break;
		p += l + 1;
	}
	qsort(pairs, n, sizeof *pairs, pair_cmp);
	for (size_t i = 0; i < n; i++) {
		buf_putf(out, "%s%s=%s", i ? "&" : "", pairs[i].key, pairs[i].value);
		free(pairs[i].key);
		free(pairs[i].value);
	}
	free(pairs);
}

struct canon_header {
	char *name; /* lowercase */
	struct buf value;
	size_t order; /* first appearance, for a stable sort */
};

static int
header_cmp(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c != 0 ? c : (x->order < y->order ? -1 : x->order > y->order);
}

/* value trimmed, runs of blanks made one space */
static void
trimmed_value(struct buf *out, const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	size_t l = strlen(v);
	while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t'))
		l--;
	int blank = 0;
	for (size_t i = 0; i < l; i++) {
		if (v[i] == ' ' || v[i] == '\t') {
			blank = 1;
			continue;
		}
		if (blank)
			buf_puts(out, " ");
		blank = 0;
		buf_putf(out, "%c", v[i]);
	}
}

/* canonical headers (each line ending in \n) into out, the signed
 * header list into signed_list; -1 for an empty name */
static int
canonical_headers(struct buf *out, struct buf *signed_list, const struct sigv4_header *h, size_t n)
{
	struct canon_header *c = xcalloc(n ? n : 1, sizeof *c);
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (h[i].name == NULL || h[i].name[0] == 0) {
			rc = -1;
			break;
		}
		char *lower = xstrdup(h[i].name);
		for (char *p = lower; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		size_t j = 0;
		while (j < k && strcmp(c[j].name, lower) != 0)
			j++;
		if (j == k) {
			c[k].name = lower;
			c[k].order = k;
			buf_init(&c[k].value, 0);
			k++;
		} else {
			free(lower);
			buf_puts(&c[j].value, ",");
		}
		trimmed_value(&c[j].value, h[i].value != NULL ? h[i].value : "");
	}
	if (rc == 0) {
		qsort(c, k, sizeof *c, header_cmp);
		for (size_t i = 0; i < k; i++) {
			buf_putf(out, "%s:%.*s\n", c[i].name, (int)c[i].value.len,
			         c[i].value.data ? c[i].value.data : "");
			buf_putf(signed_list, "%s%s", i ? ";" : "", c[i].name);
		}
	}
	for (size_t i = 0; i < k; i++) {
		free(c[i].name);
		buf_release(&c[i].value);
	}
	free(c);
	return rc;
}

static void
hex_of(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = 0;
}

static void
sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256(data, n, d);
	hex_of(d, sizeof d, out);
}

static void
hmac(const unsigned char *key, size_t key_len, const char *msg, unsigned char out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &len);
}

static int
amz_date_ok(const char *d)
{
	if (d == NULL || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return 0;
	return 1;
}

int
sigv4_sign(const struct sigv4_request *rq, const char *access_key_id, const char *secret,
           const char *region, const char *service, const char *amz_date, char **authorization,
           char **canonical)
{
	if (!amz_date_ok(amz_date) || secret == NULL || access_key_id == NULL || region == NULL ||
	    service == NULL)
		return -1;
	struct buf creq, signed_list;
	buf_init(&creq, 0);
	buf_init(&signed_list, 0);
	buf_putf(&creq, "%s\n", rq->method);
	canonical_uri(&creq, rq->path);
	buf_puts(&creq, "\n");
	canonical_query(&creq, rq->query);
	buf_puts(&creq, "\n");
	if (canonical_headers(&creq, &signed_list, rq->headers, rq->n_headers) < 0) {
		buf_release(&creq);
		buf_release(&signed_list);
		return -1;
	}
	char body_hash[65];
	sha256_hex(rq->body != NULL ? rq->body : "", rq->body != NULL ? rq->body_len : 0,
	           body_hash);
	buf_putf(&creq, "\n%.*s\n%s", (int)signed_list.len,
	         signed_list.data ? signed_list.data : "", body_hash);

	char date[9];
	memcpy(date, amz_date, 8);
	date[8] = 0;
	char creq_hash[65];
	sha256_hex(creq.data, creq.len, creq_hash);
	char *scope = xasprintf("%s/%s/%s/aws4_request", date, region, service);
	char *to_sign = xasprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, creq_hash);

	char *k0 = xasprintf("AWS4%s", secret);
	unsigned char k_date[32], k_region[32], k_service[32], k_signing[32], sig[32];
	hmac((const unsigned char *)k0, strlen(k0), date, k_date);
	explicit_bzero(k0, strlen(k0));
	free(k0);
	hmac(k_date, 32, region, k_region);
	hmac(k_region, 32, service, k_service);
	hmac(k_service, 32, "aws4_request", k_signing);
	hmac(k_signing, 32, to_sign, sig);
	char sig_hex[65];
	hex_of(sig, 32, sig_hex);
	explicit_bzero(k_date, sizeof k_date);
	explicit_bzero(k_region, sizeof k_region);
	explicit_bzero(k_service, sizeof k_service);
	explicit_bzero(k_signing, sizeof k_signing);

	*authorization =
	    xasprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%.*s, Signature=%s",
	              access_key_id, scope, (int)signed_list.len, signed_list.data, sig_hex);
	if (canonical != NULL)
		*canonical = buf_take(&creq, NULL);
	buf_release(&creq);
	buf_release(&signed_list);
	free(scope);
	free(to_sign);
	return 0;
}

/* ---- The engine's request ---- */

int
sigv4_request_headers(const char *url, const char *content_type, const char *body, size_t body_len,
                      const struct aws_credentials *c, const char *service, time_t now,
                      char *out[3], size_t *n_out)
{
	return sigv4_request_headers_for("POST", url, content_type, body, body_len, c, service, now,
	                                 out, n_out);
}

int
sigv4_request_headers_for(const char *method, const char *url, const char *content_type,
                          const char *body, size_t body_len, const struct aws_credentials *c,
                          const char *service, time_t now, char *out[3], size_t *n_out)
{
	*n_out = 0;
	if (c->region == NULL || c->access_key_id == NULL || c->secret_access_key == NULL)
		return -1;
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
	int rc = -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	/* no port part unless the URL names one other than the scheme's
	 * default: curl's Host header leaves a default port out */
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT) != CURLUE_OK)
		port = NULL;
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
		query = NULL;

	struct tm tm;
	gmtime_r(&now, &tm);
	char amz_date[17];
	strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
	char *host_value = port != NULL ? xasprintf("%s:%s", host, port) : xstrdup(host);
	struct sigv4_header h[4] = {
	    {"Content-Type", content_type},
	    {"Host", host_value},
	    {"X-Amz-Date", amz_date},
	    {"X-Amz-Security-Token", c->session_token},
	};
	struct sigv4_request rq = {
	    .method = method,
	    .path = path,
	    .query = query,
	    .headers = h,
	    .n_headers = c->session_token != NULL ? 4 : 3,
	    .body = body,
	    .body_len = body_len,
	};
	char *auth = NULL;
	if (sigv4_sign(&rq, c->access_key_id, c->secret_access_key, c->region, service, amz_date,
	               &auth, NULL) == 0) {
		out[(*n_out)++] = xasprintf("X-Amz-Date: %s", amz_date);
		if (c->session_token != NULL)
			out[(*n_out)++] = xasprintf("X-Amz-Security-Token: %s", c->session_token);
		out[(*n_out)++] = xasprintf("Authorization: %s", auth);
		free(auth);
		rc = 0;
	}
	free(host_value);
out:
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}
