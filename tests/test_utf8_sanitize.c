/*
 * utf8_sanitize (base/util.h): what every relay string goes through before
 * it is kept. Valid UTF-8 passes as it is, each invalid byte becomes
 * U+FFFD, and the cap cuts at a character boundary, never inside one (nor
 * inside a replacement).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define FFFD "\xef\xbf\xbd"

static void
expect_sanitized(const char *in, size_t n, size_t max, const char *want)
{
	char *got = utf8_sanitize(in, n, max);
	cr_assert_not_null(got);
	cr_expect_str_eq(got, want, "cap %zu: got '%s', want '%s'", max, got, want);
	cr_expect(utf8_valid(got, strlen(got)));
	cr_expect_leq(strlen(got), max);
	free(got);
}

Test(utf8_sanitize, valid_text_passes_whole)
{
	const char *s = "plain ASCII, caf\xc3\xa9, \xe2\x82\xac 5, \xf0\x9f\x98\x80";
	expect_sanitized(s, strlen(s), 1024, s);
	expect_sanitized("", 0, 16, "");
}

Test(utf8_sanitize, each_invalid_byte_becomes_one_replacement)
{
	/* a stray continuation byte, a lone lead byte, 0xff */
	expect_sanitized("a\x80"
	                 "b",
	                 3, 64, "a" FFFD "b");
	expect_sanitized("a\xc3"
	                 "b",
	                 3, 64, "a" FFFD "b");
	expect_sanitized("\xff\xff", 2, 64, FFFD FFFD);
	/* overlong, surrogate and truncated sequences: a replacement for
	 * each of their bytes that does not start a valid one */
	expect_sanitized("\xc0\xaf", 2, 64, FFFD FFFD);
	expect_sanitized("\xed\xa0\x80", 3, 64, FFFD FFFD FFFD);
	expect_sanitized("x\xe2\x82", 3, 64, "x" FFFD FFFD);
}

Test(utf8_sanitize, the_cap_cuts_between_characters)
{
	const char *s = "ab\xc3\xa9"
	                "cd"; /* a b é c d: 6 bytes */
	expect_sanitized(s, 6, 6, s);
	expect_sanitized(s, 6, 5,
	                 "ab\xc3\xa9"
	                 "c");
	expect_sanitized(s, 6, 3, "ab"); /* é does not fit whole */
	expect_sanitized(s, 6, 0, "");
	/* a replacement is 3 bytes: it goes whole or not at all */
	expect_sanitized("a\xff"
	                 "b",
	                 3, 3, "a");
	expect_sanitized("a\xff"
	                 "b",
	                 3, 4, "a" FFFD);
	expect_sanitized("a\xff"
	                 "b",
	                 3, 5, "a" FFFD "b");
}

Test(utf8_sanitize, only_n_bytes_are_read)
{
	/* no NUL needed: n bytes are read, no more */
	expect_sanitized("abcdef", 3, 64, "abc");
	expect_sanitized("\xe2\x82\xac", 2, 64, FFFD FFFD);
}
