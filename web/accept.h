/*
 * accept: content negotiation on a request's Accept-Encoding header
 * (RFC 9110 section 12.5.3), for the one choice the server makes: send the
 * gzip copy of a page, or the plain one.
 */
#ifndef ASSAY_ACCEPT_H
#define ASSAY_ACCEPT_H

/*
 * May a response be sent in coding ("gzip") to a client that sent header
 * (NULL: no Accept-Encoding)? A coding named with q > 0 may; named with
 * q=0 may not, whatever "*" says; unnamed, "*" decides; with neither, no
 * (a client without the header gets the identity coding). Tokens compare
 * without case; "x-gzip" counts as gzip. Malformed elements are skipped.
 */
int accept_encoding_allows(const char *header, const char *coding);

#endif
