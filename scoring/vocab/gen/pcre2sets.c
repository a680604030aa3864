/*
 * pcre2sets: which code points PCRE2 puts in a class, for gen.mjs.
 *
 * Reads PCRE2 class expressions, one a line, on standard input; prints for
 * each a line of the ranges of code points it matches ("lo-hi ..." in hex),
 * then a last line with PCRE2's Unicode version. Built and run by gen.mjs
 * against the PCRE2 the tokenizer links with.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

static size_t
utf8_put(unsigned cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

int
main(void)
{
	static char line[1 << 20];
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		char pat[(1 << 20) + 16];
		snprintf(pat, sizeof(pat), "(?:%s)\\z", line);
		int code;
		PCRE2_SIZE at;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
		                               PCRE2_UTF | PCRE2_ANCHORED, &code, &at, NULL);
		if (re == NULL) {
			fprintf(stderr, "pcre2sets: cannot compile '%s' (error %d at %zu)\n", line,
			        code, (size_t)at);
			return 1;
		}
		pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
		pcre2_match_data *md = pcre2_match_data_create(1, NULL);
		long lo = -1;
		int first = 1;
		for (unsigned cp = 0; cp <= 0x110000; cp++) {
			if (cp >= 0xd800 && cp <= 0xdfff)
				continue;
			int in = 0;
			if (cp < 0x110000) {
				unsigned char s[4];
				size_t n = utf8_put(cp, s);
				in = pcre2_match(re, s, n, 0, 0, md, NULL) >= 0;
			}
			if (in && lo < 0)
				lo = cp;
			if (!in && lo >= 0) {
				unsigned hi = cp - 1;
				if (hi >= 0xd800 && hi <= 0xdfff)
					hi = 0xd7ff;
				printf("%s%lx-%x", first ? "" : " ", lo, hi);
				first = 0;
				lo = -1;
			}
		}
		printf("\n");
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
	char ver[64];
	pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, ver);
	printf("%s\n", ver);
	return 0;
}
