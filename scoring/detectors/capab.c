/*
 * capab: capabilities a relay strips (issue 17) — an image or a PDF the
 * model never saw, structured output dropped.
 *
 * image-read and pdf-read attach a PNG or a one-page PDF showing a code
 * made from the request's nonce (probes/media.h) that no text of the
 * request holds: an answer that repeats it saw the attachment. The
 * official models read such a clean code essentially always, so every
 * answer of a probe's samples missing it is what a relay that removes the
 * attachment (or sends the request to a model without vision) produces:
 * capability_stripped. One answer alone missing it is suspect at most; an
 * answer holding another code of the same shape is a replay, which the
 * cache detector judges, not this one. Only models whose pack lists the
 * input are probed (adapter_refused()).
 *
 * structured asks for strict JSON Schema output (OpenAI response_format
 * json_schema, Responses text.format, Anthropic output_config.format),
 * which the official APIs enforce while decoding (OpenAI's structured
 * outputs guide: the output always matches the schema, gpt-4o-2024-08-06
 * and gpt-4o-mini on; Anthropic's structured outputs, Claude 4.5 on;
 * listed as json_schema in the pack's params): an answer that is not a
 * JSON object holding the schema's required keys means the format was
 * dropped: param_ignored. One cut at its token limit is not judged.
 *
 * Evidence sentences say what was sent and what came back, no more.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detector.h"

/* Does the answer hold code (hex digits), ignoring case and any spaces,
 * dashes or other separators a model puts between its characters? */
static int
answer_holds(const char *text, const char *code)
{
	size_t n = strlen(code), k = 0;
	char *flat = xmalloc(strlen(text) + 1);
	for (const char *t = text; *t; t++)
		if (isalnum((unsigned char)*t))
			flat[k++] = (char)toupper((unsigned char)*t);
	flat[k] = '\0';
	char want[32];
	for (size_t i = 0; i < n && i < sizeof want - 1; i++)
		want[i] = (char)toupper((unsigned char)code[i]);
	want[n < sizeof want - 1 ? n : sizeof want - 1] = '\0';
	int hit = strstr(flat, want) != NULL;
	free(flat);
	return hit;
}

/* Does the answer hold some other run of eight hex digits (a code of the
 * same shape: an earlier answer replayed)? */
static int
answer_holds_other_code(const char *text)
{
	size_t run = 0;
	for (const char *t = text;; t++) {
		if (*t != '\0' && isxdigit((unsigned char)*t)) {
			run++;
			continue;
		}
		if (run == 8)
			return 1;
		if (*t == '\0')
			return 0;
		run = 0;
	}
}

static void
detect_read(struct detect_ctx *ctx, const char *probe, const char *input, const char *what)
{
	const struct audit_run *run = ctx->run;
	struct assessment *a = ctx->a;
	if (!baseline_takes(ctx->claimed, input))
		return;
	int answered = 0, read = 0, replayed = 0;
	const char *first = NULL;
	const struct audit_item *it0 = NULL;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct audit_item *it = &run->items[i];
		if (strcmp(it->probe->id, probe) != 0 || !observation_ok(it->obs) ||
		    it->obs->text == NULL)
			continue;
		char code[9];
		snprintf(code, sizeof code, "%.8s", it->nonce);
		answered++;
		if (answer_holds(it->obs->text, code)) {
			read++;
			continue;
		}
		replayed |= answer_holds_other_code(it->obs->text);
		if (first == NULL) {
			first = it->obs->text;
			it0 = it;
		}
	}
	if (answered == 0)
		return;
	assessment_tested(a, 1);
	if (read > 0 || replayed)
		return;
	char expected[96], observed[120];
	char *shown = evidence_snippet(first);
	snprintf(expected, sizeof expected, "the code the %s shows, in %d answer%s",
	         what + (what[1] == ' ' ? 2 : 3), answered, answered == 1 ? "" : "s");
	snprintf(observed, sizeof observed, "in none: \"%s\"", shown);
	assessment_add(a, CLASS_CAPABILITY_STRIPPED,
	               answered >= 2 ? CONFIDENCE_VIOLATION : CONFIDENCE_LIKELY, expected, observed,
	               it0->probe->id, NULL,
	               "%d request%s attached %s showing a code that no text of the request "
	               "held; %s the code (%s takes %s input).",
	               answered, answered == 1 ? "" : "s", what,
	               answered == 1 ? "the answer did not repeat" : "no answer repeated",
	               ctx->claimed->name, input);
	if (answered < 2)
		assessment_limit_last(a); /* one miss can be the model's */
	free(shown);
}

/* The schema's required keys, all present in an object answer? */
static int
structured_ok(const char *text, const char *schema_text)
{
	json_error_t jerr;
	const char *t = text;
	while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r')
		t++;
	json_t *answer = json_loads(t, JSON_DISABLE_EOF_CHECK, &jerr);
	json_t *schema = json_loads(schema_text, 0, &jerr);
	int ok = json_is_object(answer);
	json_t *req = json_object_get(schema, "required");
	size_t i;
	json_t *k;
	json_array_foreach(req, i, k)
	{
		if (ok && json_is_string(k) && json_object_get(answer, json_string_value(k)) == NULL)
			ok = 0;
	}
	json_decref(answer);
	json_decref(schema);
	return ok;
}

static void
detect_structured(struct detect_ctx *ctx)
{
	const struct audit_item *it = audit_find(ctx->run, "structured");
	if (it == NULL || !observation_ok(it->obs) || it->obs->text == NULL ||
	    it->probe->intent.answer_schema == NULL ||
	    !baseline_supports(ctx->claimed, "json_schema"))
		return;
	assessment_tested(ctx->a, 1);
	const char *t = it->obs->text;
	while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r')
		t++;
	/* strict output is an object from its first character; one cut at its
	 * token limit (finish_reason length) cannot be held to the schema */
	int cut = it->obs->text_truncated ||
	          (it->obs->finish_reason && strcmp(it->obs->finish_reason, "length") == 0);
	if (*t == '{' && (cut || structured_ok(t, it->probe->intent.answer_schema)))
		return;
	char *shown = evidence_snippet(it->obs->text);
	assessment_add(ctx->a, CLASS_PARAM_IGNORED, CONFIDENCE_VIOLATION,
	               "a JSON object with the schema's required keys", shown, it->probe->id, NULL,
	               "The request asked for strict JSON Schema output (schema '%s'); the "
	               "answer was not such an object.",
	               it->probe->intent.answer_schema_name);
	free(shown);
}

static void
run_capab(struct detect_ctx *ctx)
{
	detect_read(ctx, "image-read", "image", "an image");
	detect_read(ctx, "pdf-read", "pdf", "a PDF");
	detect_structured(ctx);
}

static const char *const capab_probes[] = {"image-read", "pdf-read", "structured", NULL};

const struct detector detector_capab = {
    .name = "capabilities",
    .probes = capab_probes,
    .classes = CLASS_BIT(CLASS_CAPABILITY_STRIPPED) | CLASS_BIT(CLASS_PARAM_IGNORED),
    .needs_claimed = 1,
    .run = run_capab,
};
