/*
 * Accept-Encoding negotiation (web/accept.c): q-values, "*", identity and
 * malformed elements, against the cases RFC 9110 section 12.5.3 spells out.
 */
#include <criterion/criterion.h>

#include "web/accept.h"

static void
expect(const char *header, int want)
{
	cr_expect_eq(accept_encoding_allows(header, "gzip"), want, "Accept-Encoding: %s",
	             header ? header : "(none)");
}

Test(accept, a_named_coding_with_a_positive_q_is_accepted)
{
	expect("gzip", 1);
	expect("GZip", 1);
	expect("deflate, gzip", 1);
	expect("gzip;q=1, br;q=0", 1);
	expect("gzip ; q=0.5", 1);
	expect("br, gzip;q=0.001", 1);
	expect("x-gzip", 1);
	expect("gzip, deflate, br, zstd", 1);
}

Test(accept, q_zero_refuses_in_every_spelling)
{
	expect("gzip;q=0", 0);
	expect("gzip;q=0.0", 0);
	expect("gzip;q=0.000", 0);
	expect("gzip; q=0, *", 0);
	expect("*, gzip;q=0", 0);
}

Test(accept, star_decides_for_codings_not_named)
{
	expect("*", 1);
	expect("br, *;q=0.1", 1);
	expect("*;q=0", 0);
	expect("identity", 0);
	expect("identity, *;q=0", 0);
	expect("br", 0);
}

Test(accept, no_header_or_garbage_means_identity)
{
	expect(NULL, 0);
	expect("", 0);
	expect(",,,", 0);
	expect("gzip;q=2", 0); /* a qvalue above 1 is malformed: ignored */
	expect("gzip;q=abc", 0);
	expect("gzip;q", 0);
	expect("gzipx", 0);
	expect("notgzip", 0);
	expect("gzip;q=0.5, gzip;q=0", 1); /* named twice: the best q wins */
}
