/*
 * libFuzzer target for the Accept-Encoding parser (web/accept.c): any
 * header, up to its first NUL as a request header would be. Its contract
 * (web/accept.h) as properties: codings and parameter names compare
 * without case, so the header upper-cased decides alike; the answer is 0
 * or 1. Checked besides: no sanitizer
 * report.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/accept.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = malloc(size + 1), *up = malloc(size + 1);
	memcpy(h, data, size);
	h[size] = '\0';
	for (size_t i = 0; i <= size; i++)
		up[i] = (char)toupper((unsigned char)h[i]);
	static const char *const codings[] = {"gzip", "identity", "br", "deflate", "zstd"};
	for (size_t i = 0; i < sizeof codings / sizeof codings[0]; i++) {
		int a = accept_encoding_allows(h, codings[i]);
		if ((a != 0 && a != 1) || a != accept_encoding_allows(up, codings[i]))
			abort();
	}
	free(up);
	free(h);
	return 0;
}
