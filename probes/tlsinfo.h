/*
 * tlsinfo: what a transfer's TLS session says about the relay: the protocol
 * version it negotiated and when its certificate expires.
 *
 * A part of the probe engine, shared by its files only (probes/engine.c
 * calls it). libcurl hands out its TLS backend's own handle
 * (CURLINFO_TLS_SSL_PTR); with OpenSSL, the one Debian's libcurl4-openssl
 * is built on, that is the connection's SSL *, read here with OpenSSL's
 * own calls. Another backend leaves the observation's TLS fields unknown.
 *
 * The handle exists only while the transfer holds its connection: call
 * this from one of its callbacks (the engine does, on a response's status
 * line), not after curl has finished it.
 * Thread: the event loop's, like the engine.
 */
#ifndef ASSAY_TLSINFO_H
#define ASSAY_TLSINFO_H

#include <curl/curl.h>

#include "probes/observation.h"

/* Fill o's tls_version, cert_not_after, cert_sha256 and cert_names from
 * easy's TLS
 * session; leaves
 * them as they were when easy has none (plain HTTP, another backend). */
void tlsinfo_read(CURL *easy, struct observation *o);

#endif
