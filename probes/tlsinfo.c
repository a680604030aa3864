/*
 * tlsinfo: the TLS version and certificate expiry of a transfer (see the
 * header).
 */
#include "probes/tlsinfo.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <time.h>

static enum obs_tls_version
version_of(int v)
{
	switch (v) {
	case SSL3_VERSION:
		return OBS_TLS_SSL;
	case TLS1_VERSION:
		return OBS_TLS_1_0;
	case TLS1_1_VERSION:
		return OBS_TLS_1_1;
	case TLS1_2_VERSION:
		return OBS_TLS_1_2;
	case TLS1_3_VERSION:
		return OBS_TLS_1_3;
	default:
		/* DTLS never carries HTTP here; SSLv2 is gone from OpenSSL */
		return v > TLS1_3_VERSION ? OBS_TLS_NEWER : OBS_TLS_SSL;
	}
}

void
tlsinfo_read(CURL *easy, struct observation *o)
{
	struct curl_tlssessioninfo *info = NULL;
	if (curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || info == NULL ||
	    info->backend != CURLSSLBACKEND_OPENSSL || info->internals == NULL)
		return;
	SSL *ssl = info->internals;
	o->tls_version = version_of(SSL_version(ssl));
	/* the leaf only: the chain's other certificates are the CA's to renew */
	X509 *cert = SSL_get0_peer_certificate(ssl);
	struct tm tm;
	if (cert != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		o->cert_not_after = (int64_t)timegm(&tm);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (cert != NULL && X509_digest(cert, EVP_sha256(), md, &n) == 1 && n >= 8)
		for (int i = 0; i < 8; i++)
			snprintf(o->cert_sha256 + 2 * i, 3, "%02x", md[i]);
}
