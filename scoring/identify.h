/*
 * identify: what a model's name says when no pack knows the model, and
 * which model line a served tokenizer belongs to.
 *
 * A relay may sell a model Assay has no baseline for (a new release, a
 * relay-invented name). Such a model is audited, not refused: every check
 * that needs no recorded facts runs against a stand-in model built here
 * from the name, and the token counts are matched against every public
 * tokenizer to say which known line answers. The name's line (openai,
 * anthropic, qwen, ...) is what makes a match an accusation: counts of
 * Qwen's tokenizer behind a name of OpenAI's are another model served;
 * counts of OpenAI's behind a relay-invented name only identify it.
 */
#ifndef ASSAY_SCORING_IDENTIFY_H
#define ASSAY_SCORING_IDENTIFY_H

#include "scoring/baseline.h"

/*
 * The model line a name belongs to ("openai", "gpt-oss", "anthropic",
 * "gemini", "qwen", "deepseek", ...), or NULL when the name names none, or
 * more than one (a distilled model's name often names two). Vendor
 * prefixes ("openai/", "models/") and case are ignored.
 */
const char *model_line(const char *name);

/*
 * Is line one whose models use tokenizer? Known from the pack: a line
 * uses a tokenizer when one of the pack's models of that line does; and
 * gpt-oss uses o200k_harmony, gemma gemma3 (and gemini may: Gemma 3 is said
 * to share Gemini 2.0's tokenizer), whatever the pack says.
 */
int line_uses_tokenizer(const struct baseline_pack *pack, const char *line, const char *tokenizer);

/*
 * A stand-in for a model no pack knows: its name, its API, no tokenizer
 * (judged against every public one, as a private tokenizer is), the
 * API's recorded protocol borrowed from a pack model of the same API, the
 * request parameters every model of the API honours when it accepts them,
 * and the request rules its line is known for (OpenAI's reasoning models
 * take max_completion_tokens and refuse temperature). out->origin says
 * whether the name named a line. Release with baseline_infer_release().
 */
void baseline_infer(const struct baseline_pack *pack, const char *name, enum api_kind api,
                    struct baseline_model *out);
void baseline_infer_release(struct baseline_model *m);

/* The API a name's line is sold over when nothing says otherwise. */
enum api_kind model_default_api(const char *name);

#endif
