/*
 * tlsinfo: the TLS version and certificate expiry of a transfer (see the
 * header).
 */
#include "probes/tlsinfo.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
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

/* Append name (len bytes, the certificate's: untrusted) to out, after a
 * comma, keeping only what a host name or address holds. */
static void
add_name(char *out, size_t n, const unsigned char *name, size_t len)
{
	size_t k = strlen(out);
	if (k > 0 && k + 1 < n)
		out[k++] = ',';
	for (size_t i = 0; i < len && k + 1 < n; i++) {
		unsigned char c = name[i];
		out[k++] =
		    isalnum(c) || c == '.' || c == '*' || c == ':' || c == '-' ? (char)c : '?';
	}
	out[k] = '\0';
}

/* The names cert is for, into out (n bytes): DNS and IP alternative names
 * in order, else the subject's common name. */
static void
names_of(X509 *cert, char *out, size_t n)
{
	out[0] = '\0';
	GENERAL_NAMES *alt = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; alt != NULL && i < sk_GENERAL_NAME_num(alt); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(alt, i);
		if (g->type == GEN_DNS) {
			add_name(out, n, ASN1_STRING_get0_data(g->d.dNSName),
			         (size_t)ASN1_STRING_length(g->d.dNSName));
		} else if (g->type == GEN_IPADD) {
			int len = ASN1_STRING_length(g->d.iPAddress);
			char text[INET6_ADDRSTRLEN] = "";
			if (len == 4 || len == 16)
				inet_ntop(len == 4 ? AF_INET : AF_INET6,
				          ASN1_STRING_get0_data(g->d.iPAddress), text, sizeof text);
			add_name(out, n, (const unsigned char *)text, strlen(text));
		}
	}
	GENERAL_NAMES_free(alt);
	if (out[0] != '\0')
		return;
	X509_NAME *subject = X509_get_subject_name(cert);
	int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	const ASN1_STRING *cn =
	    at >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)) : NULL;
	if (cn != NULL)
		add_name(out, n, ASN1_STRING_get0_data(cn), (size_t)ASN1_STRING_length(cn));
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
	if (cert != NULL)
		names_of(cert, o->cert_names, sizeof o->cert_names);
}
