/*
 * claude-sim, the fixture's simulated private tokenizer (fixtures/simtok.h):
 * its tokens are whole UTF-8 characters and cover the text, its rules do
 * what they say, and no public family reproduces its counts: on the
 * product's own probes (probes/catalog/core.yaml rendered as an audit
 * renders them, 30 times with fresh nonces and picks) the simulated count
 * of each request set is neither a public family's exact count plus a
 * constant, nor a multiple of it, nor any line through it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "fixtures/simtok.h"
#include "probes/catalog.h"
#include "scoring/tokenizer.h"
#include "tests/helpers.h"
#include "tests/sim_helpers.h"

#define sim_open test_simtok /* tests/sim_helpers.h */

static long
sim_count(const struct simtok *s, const char *text)
{
	return simtok_count(s, text, strlen(text));
}

static long
cl100k_count(const char *text)
{
	return test_count_text("cl100k_base", text);
}

Test(simtok, tokens_are_whole_characters_covering_the_text)
{
	struct simtok *s = sim_open();
	static const char *const texts[] = {
	    "Hello, world! Internationalization matters.",
	    "東京特許許可局 👨‍👩‍👧‍👦🏠 naïve Ω≈ç 12345678",
	    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
	    "Привет, мир!  \n\n\t ...---... ?!\"",
	    "",
	};
	for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
		const char *t = texts[k];
		size_t len = strlen(t), *ends, n;
		cr_assert_eq(simtok_encode(s, t, len, &ends, &n), 0, "%s", t);
		size_t prev = 0;
		for (size_t i = 0; i < n; i++) {
			cr_expect_gt(ends[i], prev, "empty or backward token in '%s'", t);
			cr_expect(ends[i] == len || ((unsigned char)t[ends[i]] & 0xc0) != 0x80,
			          "token %zu of '%s' ends inside a character", i, t);
			prev = ends[i];
		}
		cr_expect_eq(n > 0 ? ends[n - 1] : 0, len, "the tokens do not cover '%s'", t);
		cr_expect_eq(sim_count(s, t), (long)n);
		free(ends);
	}
	size_t *ends = (size_t *)1, n = 7;
	cr_expect_eq(simtok_encode(s, "\xff\xfe", 2, &ends, &n), -1, "invalid UTF-8 was encoded");
	cr_expect_null(ends);
	cr_expect_eq(n, 0);
	cr_expect_eq(sim_count(s, "bad \xc3"), -1);
	simtok_free(s);
}

Test(simtok, rules_split_and_merge)
{
	struct simtok *s = sim_open();
	/* rule 1: one token per CJK character, the space riding with the first */
	cr_expect_eq(sim_count(s, "北京烤鸭"), 4);
	cr_expect_eq(sim_count(s, "a 北京"), 2 + 1); /* "a", " 北", "京" */
	/* rule 2: a long word is cut into pieces of at most six letters */
	/* cl100k: " international" (13 letters: 3 pieces), "ization" (7: 2) */
	cr_expect_eq(cl100k_count(" internationalization"), 2);
	cr_expect_eq(sim_count(s, " internationalization"), 5);
	cr_expect_eq(sim_count(s, " hello"), 1);
	/* rule 3: punctuation pairs up */
	long base = cl100k_count("a ) . ) .");
	cr_expect_eq(sim_count(s, "a ) . ) ."), base); /* spaced: units are not punctuation-only */
	cr_expect_lt(sim_count(s, "Really?!\"),."), cl100k_count("Really?!\"),."));
	/* deterministic */
	const char *t = "The quick brown fox — 速い茶色の狐 — jumps!!";
	cr_expect_eq(sim_count(s, t), sim_count(s, t));
	simtok_free(s);
}

Test(simtok, chat_accounting_is_its_own)
{
	struct simtok *s = sim_open();
	struct chat_message one = {"user", "hi", NULL};
	cr_expect_eq(simtok_prompt_tokens(s, &one, 1),
	             SIMTOK_REQUEST_OVERHEAD + SIMTOK_MESSAGE_OVERHEAD + 1);
	struct chat_message two[] = {{"system", "You are terse.", NULL},
	                             {"user", "Name the capital of Australia.", NULL}};
	cr_expect_eq(simtok_prompt_tokens(s, two, 2),
	             SIMTOK_REQUEST_OVERHEAD + SIMTOK_SYSTEM_OVERHEAD +
	                 sim_count(s, "You are terse.") + SIMTOK_MESSAGE_OVERHEAD +
	                 sim_count(s, "Name the capital of Australia."));
	struct chat_message bad = {"user", NULL, NULL};
	cr_expect_eq(simtok_prompt_tokens(s, &bad, 1), -1);
	simtok_free(s);
}

/* ---- gemini-sim: o200k_base reshaped by rules of its own ---- */

static struct simtok *
gemini_open(void)
{
	char err[256];
	struct simtok *s = simtok_open("gemini-sim", err, sizeof err);
	cr_assert_not_null(s, "%s", err);
	return s;
}

Test(simtok, gemini_sim_has_rules_and_accounting_of_its_own)
{
	cr_expect(simtok_known("gemini-sim"));
	cr_expect_str_eq(simtok_family("gemini-sim"), "gemini");
	cr_expect_str_eq(simtok_family("claude-sim"), "anthropic");
	cr_expect_null(simtok_family("o200k_base"));
	struct simtok *g = gemini_open(), *c = sim_open();
	/* rule 2: every digit a token (o200k_base groups three) */
	cr_expect_eq(test_count_text("o200k_base", "12345678"), 3);
	cr_expect_eq(sim_count(g, "12345678"), 8);
	/* rule 3: a word of ten letters or more in pieces of at most eight */
	long base = test_count_text("o200k_base", " internationalization");
	cr_expect_gt(sim_count(g, " internationalization"), base);
	/* rule 4: punctuation never merges (claude-sim pairs it) */
	cr_expect_lt(sim_count(c, "Really?!\"),."), sim_count(g, "Really?!\"),."));
	/* rule 1: non-ASCII text at most two characters a token */
	cr_expect_leq(sim_count(g, "北京烤鸭"), 4);
	cr_expect_geq(sim_count(g, "北京烤鸭"), 2);
	struct chat_message two[] = {{"system", "You are terse.", NULL},
	                             {"user", "Name the capital of Australia.", NULL}};
	cr_expect_eq(simtok_prompt_tokens(g, two, 2),
	             SIMTOK_GEMINI_REQUEST_OVERHEAD + SIMTOK_GEMINI_SYSTEM_OVERHEAD +
	                 sim_count(g, "You are terse.") + SIMTOK_GEMINI_MESSAGE_OVERHEAD +
	                 sim_count(g, "Name the capital of Australia."));
	/* and it is not claude-sim */
	const char *t = "In 2026, 17 x 23 = 391; internationalization!";
	cr_expect_neq(sim_count(g, t), sim_count(c, t));
	simtok_free(g);
	simtok_free(c);
}

/* ---- no public family fits ---- */

#define SETS 30

struct family {
	const char *tokenizer, *family;
	struct tokenizer *t;
};

/* One request of a render set: its simulated count and each family's. */
struct counted {
	const char *probe;
	long sim;
	long fam[4];
};

/* Every probe of the catalog (every tier, every sample), rendered with a
 * fresh nonce and picks as an audit renders it; returns how many. */
static size_t
render_set(const struct catalog *cat, const struct simtok *s, struct family *f, size_t nf,
           struct counted **out)
{
	size_t n = 0;
	for (size_t i = 0; i < cat->n; i++)
		n += (size_t)cat->probes[i].samples;
	struct counted *v = xcalloc(n, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < cat->n; i++) {
		const struct probe_def *p = &cat->probes[i];
		for (int sample = 0; sample < p->samples; sample++, k++) {
			char nonce[16];
			probe_nonce(nonce);
			struct chat_message *m = xcalloc(p->n_messages, sizeof *m);
			for (size_t j = 0; j < p->n_messages; j++) {
				m[j].role = p->roles[j];
				m[j].content = probe_render(p->texts[j], nonce);
			}
			v[k].probe = p->id;
			v[k].sim = simtok_prompt_tokens(s, m, p->n_messages);
			cr_assert_gt(v[k].sim, 0, "probe %s", p->id);
			for (size_t q = 0; q < nf; q++) {
				v[k].fam[q] =
				    chat_prompt_tokens(f[q].t, f[q].family, m, p->n_messages);
				cr_assert_gt(v[k].fam[q], 0, "probe %s, %s", p->id, f[q].tokenizer);
			}
			for (size_t j = 0; j < p->n_messages; j++)
				free((char *)m[j].content);
			free(m);
		}
	}
	*out = v;
	return n;
}

/* Are the points (fam, sim) of the set all on one line (sim = a * fam + c
 * for some a and c)? A constant offset (a = 1) and a single factor (c = 0)
 * are such lines. Exact, in integers. */
static int
collinear(const struct counted *v, size_t n, size_t q)
{
	size_t j = 1;
	while (j < n && v[j].fam[q] == v[0].fam[q])
		j++;
	if (j == n) /* one family count for all: a line fits only if sim is constant */
		return 1;
	long long dx = v[j].fam[q] - v[0].fam[q], dy = v[j].sim - v[0].sim;
	for (size_t i = 0; i < n; i++)
		if ((long long)(v[i].sim - v[0].sim) * dx !=
		    (long long)(v[i].fam[q] - v[0].fam[q]) * dy)
			return 0;
	return 1;
}

Test(simtok, no_public_family_fits_the_product_probes, .timeout = 120)
{
	struct family f[] = {{"o200k_base", "openai", NULL},
	                     {"cl100k_base", "openai", NULL},
	                     {"qwen3", "qwen3", NULL},
	                     {"deepseek_v3", "deepseek_v3", NULL}};
	size_t nf = sizeof f / sizeof f[0];
	for (size_t q = 0; q < nf; q++)
		f[q].t = test_tokenizer(f[q].tokenizer);
	char err[256];
	struct catalog *cat = catalog_load_default(err, sizeof err);
	cr_assert_not_null(cat, "%s", err);
	struct simtok *s = sim_open();
	for (int set = 0; set < SETS; set++) {
		struct counted *v;
		size_t n = render_set(cat, s, f, nf, &v);
		cr_assert_geq(n, 3, "too few probes to tell");
		for (size_t q = 0; q < nf; q++) {
			int offset = 1, factor = 1;
			for (size_t i = 1; i < n; i++) {
				offset &= v[i].sim - v[i].fam[q] == v[0].sim - v[0].fam[q];
				factor &= (long long)v[i].sim * v[0].fam[q] ==
				          (long long)v[0].sim * v[i].fam[q];
			}
			cr_expect(!offset, "set %d: claude-sim = %s/%s + %ld on every probe", set,
			          f[q].tokenizer, f[q].family, v[0].sim - v[0].fam[q]);
			cr_expect(!factor, "set %d: claude-sim is a multiple of %s/%s", set,
			          f[q].tokenizer, f[q].family);
			cr_expect(!collinear(v, n, q), "set %d: claude-sim is linear in %s/%s", set,
			          f[q].tokenizer, f[q].family);
		}
		free(v);
	}
	simtok_free(s);
	catalog_free(cat);
	for (size_t q = 0; q < nf; q++)
		tokenizer_free(f[q].t);
}
