/*
 * Chat accounting: chat_prompt_tokens against tests/data/tokenizer/chat.jsonl
 * (written by scoring/vocab/gen/chat.mjs: Qwen3 and DeepSeek V3 templates
 * rendered by a Jinja engine and counted by the reference tokenizers; OpenAI
 * by the Cookbook formula over js-tiktoken), against the prompt_tokens the
 * OpenAI API itself reported for the Cookbook's example, and on bad input.
 */
#include <criterion/criterion.h>

#include "base/util.h"
#include "scoring/tokenizer.h"
#include "tests/helpers.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CHAT_CASES ASSAY_SRCDIR "/tests/data/tokenizer/chat.jsonl"

#define open_or_fail test_tokenizer /* tests/helpers.h */

Test(chat_tokens, matches_reference_templates)
{
	size_t len;
	char *data = read_file(CHAT_CASES, 16u << 20, &len);
	cr_assert_not_null(data, "cannot read '%s'", CHAT_CASES);
	static const char *const family_names[] = {"openai", "qwen3", "deepseek_v3", "harmony",
	                                           "gemma3"};
	size_t cases = 0, families[5] = {0, 0, 0, 0, 0};
	for (char *line = strtok(data, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		json_error_t jerr;
		json_t *c = json_loads(line, 0, &jerr);
		cr_assert_not_null(c, "case %zu: %s", cases + 1, jerr.text);
		const char *family = json_string_value(json_object_get(c, "family"));
		const char *name = json_string_value(json_object_get(c, "tokenizer"));
		json_t *jm = json_object_get(c, "messages");
		size_t n = json_array_size(jm);
		struct chat_message *msgs = xcalloc(n ? n : 1, sizeof(*msgs));
		for (size_t i = 0; i < n; i++) {
			json_t *m = json_array_get(jm, i);
			msgs[i].role = json_string_value(json_object_get(m, "role"));
			msgs[i].content = json_string_value(json_object_get(m, "content"));
			msgs[i].name = json_string_value(json_object_get(m, "name"));
		}
		if (test_vocab_missing(name)) {
			families[4]++; /* gemma3's cases, skipped */
			free(msgs);
			json_decref(c);
			cases++;
			continue;
		}
		struct tokenizer *t = open_or_fail(name);
		long got = chat_prompt_tokens(t, family, msgs, n);
		long want = (long)json_integer_value(json_object_get(c, "prompt_tokens"));
		cr_expect_eq(got, want, "case %zu (%s, %s, %zu messages): %ld, want %ld", cases + 1,
		             family, name, n, got, want);
		for (size_t f = 0; f < 5; f++)
			families[f] += strcmp(family, family_names[f]) == 0;
		tokenizer_free(t);
		free(msgs);
		json_decref(c);
		cases++;
	}
	free(data);
	cr_assert_geq(cases, 60);
	for (size_t f = 0; f < 5; f++)
		cr_assert_gt(families[f], 0, "no case of %s", family_names[f]);
}

/* The OpenAI Cookbook ("How to count tokens with tiktoken") shows this
 * conversation billed by the API at 129 prompt tokens on gpt-4-0613 and
 * gpt-3.5-turbo-0613, and 124 on gpt-4o and gpt-4o-mini. */
Test(chat_tokens, openai_cookbook_example)
{
	static const struct chat_message msgs[] = {
	    {"system",
	     "You are a helpful, pattern-following assistant that translates corporate "
	     "jargon into plain English.",
	     NULL},
	    {"system", "New synergies will help drive top-line growth.", "example_user"},
	    {"system", "Things working well together will increase revenue.", "example_assistant"},
	    {"system",
	     "Let's circle back when we have more bandwidth to touch base on "
	     "opportunities for increased leverage.",
	     "example_user"},
	    {"system", "Let's talk later when we're less busy about how to do better.",
	     "example_assistant"},
	    {"user",
	     "This late pivot means we don't have time to boil the ocean for the client "
	     "deliverable.",
	     NULL},
	};
	struct tokenizer *o200k = open_or_fail("o200k_base");
	struct tokenizer *cl100k = open_or_fail("cl100k_base");
	cr_assert_eq(chat_prompt_tokens(o200k, "openai", msgs, 6), 124);
	cr_assert_eq(chat_prompt_tokens(cl100k, "openai", msgs, 6), 129);
	/* Empty conversation: only the reply priming. */
	cr_assert_eq(chat_prompt_tokens(o200k, "openai", NULL, 0), 3);
	tokenizer_free(o200k);
	tokenizer_free(cl100k);
}

Test(chat_tokens, template_overhead)
{
	static const struct chat_message one[] = {{"user", "Hello", NULL}};
	struct tokenizer *q = open_or_fail("qwen3");
	struct tokenizer *d = open_or_fail("deepseek_v3");
	long hello_q = tokenizer_count(q, "Hello", 5);
	long hello_d = tokenizer_count(d, "Hello", 5);
	/* <|im_start|> user \n Hello <|im_end|> \n <|im_start|> assistant \n */
	cr_assert_eq(chat_prompt_tokens(q, "qwen3", one, 1), hello_q + 8);
	/* <｜begin▁of▁sentence｜> <｜User｜> Hello <｜Assistant｜> */
	cr_assert_eq(chat_prompt_tokens(d, "deepseek_v3", one, 1), hello_d + 3);
	tokenizer_free(q);
	tokenizer_free(d);

	struct tokenizer *h = open_or_fail("o200k_harmony");
	struct tokenizer *g = test_vocab_missing("gemma3") ? NULL : open_or_fail("gemma3");
	/* the system header, then <|start|> user <|message|> Hello <|end|> and
	 * <|start|> assistant: 6 */
	static const char header[] =
	    "<|start|>system<|message|>You are ChatGPT, a large language model trained by "
	    "OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: 2026-01-01\n\nReasoning: "
	    "medium\n\n# Valid channels: analysis, commentary, final. Channel must be included "
	    "for every message.<|end|>";
	long head = tokenizer_count(h, header, strlen(header));
	cr_assert_eq(chat_prompt_tokens(h, "harmony", one, 1),
	             head + tokenizer_count(h, "Hello", 5) + 6);
	/* <bos> <start_of_turn> user \n Hello <end_of_turn> \n <start_of_turn> model \n */
	if (g != NULL) {
		cr_assert_eq(chat_prompt_tokens(g, "gemma3", one, 1),
		             tokenizer_count(g, "Hello", 5) + 9);
		/* trim strips Python's whitespace, Unicode spaces included */
		static const struct chat_message padded[] = {
		    {"user", "\xe3\x80\x80 \tHello\xc2\xa0\n\xe2\x80\xa8", NULL}};
		cr_assert_eq(chat_prompt_tokens(g, "gemma3", padded, 1),
		             chat_prompt_tokens(g, "gemma3", one, 1));
		/* turns must alternate */
		static const struct chat_message twice[] = {{"user", "a", NULL},
		                                            {"user", "b", NULL}};
		cr_assert_eq(chat_prompt_tokens(g, "gemma3", twice, 2), -1);
	}
	/* the harmony markers are tokens, not text */
	cr_assert_eq(tokenizer_count(h, "<|start|>", 9), 1);
	static const char *const dates[] = {"2026-01-01", "1999-12-31", "2030-07-15"};
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(tokenizer_count(h, dates[i], 10), tokenizer_count(h, dates[0], 10));
	tokenizer_free(h);
	tokenizer_free(g);
}

Test(chat_tokens, bad_input_is_rejected)
{
	struct tokenizer *o = open_or_fail("o200k_base");
	struct tokenizer *q = open_or_fail("qwen3");
	static const struct chat_message ok[] = {{"user", "hi", NULL}};
	static const struct chat_message no_content[] = {{"user", NULL, NULL}};
	static const struct chat_message no_role[] = {{NULL, "hi", NULL}};
	static const struct chat_message bad_utf8[] = {{"user", "caf\xc3", NULL}};
	cr_assert_eq(chat_prompt_tokens(o, "anthropic", ok, 1), -1);
	cr_assert_eq(chat_prompt_tokens(o, NULL, ok, 1), -1);
	cr_assert_eq(chat_prompt_tokens(q, "openai", ok, 1), -1, "openai with a qwen tokenizer");
	cr_assert_eq(chat_prompt_tokens(o, "qwen3", ok, 1), -1, "qwen3 with o200k_base");
	cr_assert_eq(chat_prompt_tokens(o, "harmony", ok, 1), -1, "harmony with o200k_base");
	cr_assert_eq(chat_prompt_tokens(o, "openai", no_content, 1), -1);
	cr_assert_eq(chat_prompt_tokens(q, "qwen3", no_role, 1), -1);
	cr_assert_eq(chat_prompt_tokens(o, "openai", bad_utf8, 1), -1);
	cr_assert_eq(chat_prompt_tokens(q, "qwen3", bad_utf8, 1), -1);
	cr_assert_eq(chat_prompt_tokens(o, "openai", NULL, 1), -1);
	tokenizer_free(o);
	tokenizer_free(q);
}

Test(chat_tokens, model_names_map_to_tokenizers)
{
	static const struct {
		const char *model, *tokenizer, *family;
	} cases[] = {
	    {"gpt-4o", "o200k_base", "openai"},
	    {"gpt-4o-mini-2024-07-18", "o200k_base", "openai"},
	    {"GPT-4.1-nano", "o200k_base", "openai"},
	    {"gpt-5", "o200k_base", "openai"},
	    {"openai/o3-mini", "o200k_base", "openai"},
	    {"gpt-4", "cl100k_base", "openai"},
	    {"gpt-4-turbo", "cl100k_base", "openai"},
	    {"gpt-3.5-turbo-0125", "cl100k_base", "openai"},
	    {"Qwen/Qwen3-8B", "qwen3", "qwen3"},
	    {"qwen3-235b-a22b", "qwen3", "qwen3"},
	    {"deepseek-chat", "deepseek_v3", "deepseek_v3"},
	    {"deepseek-ai/DeepSeek-V3-0324", "deepseek_v3", "deepseek_v3"},
	    {"gpt-oss-120b", "o200k_harmony", "harmony"},
	    {"openai/gpt-oss-20b", "o200k_harmony", "harmony"},
	    {"google/gemma-3-27b-it", "gemma3", "gemma3"},
	    {"gemma3:12b", "gemma3", "gemma3"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *tok = NULL, *fam = NULL;
		cr_assert_eq(tokenizer_for_model(cases[i].model, &tok, &fam), 0, "%s",
		             cases[i].model);
		cr_assert_str_eq(tok, cases[i].tokenizer, "%s", cases[i].model);
		cr_assert_str_eq(fam, cases[i].family, "%s", cases[i].model);
	}
	const char *tok, *fam;
	cr_assert_eq(tokenizer_for_model("claude-3-5-sonnet", &tok, &fam), -1);
	cr_assert_eq(tokenizer_for_model("deepseek-reasoner", &tok, &fam), -1);
	cr_assert_eq(tokenizer_for_model("llama-3-70b", &tok, &fam), -1);
	cr_assert_eq(tokenizer_for_model(NULL, &tok, &fam), -1);
	cr_assert_eq(tokenizer_for_model("gemma-3n-e4b-it", &tok, &fam), -1);
	cr_assert_eq(tokenizer_for_model("gemini-2.5-pro", &tok, &fam), -1);
}
