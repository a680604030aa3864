/*
 * models_list: what a relay says it serves (GET /v1/models, both APIs).
 *
 * OpenAI answers {"object": "list", "data": [{"id", "object": "model",
 * "created", "owned_by"}]}, all at once; Anthropic answers {"data": [{"type":
 * "model", "id", "display_name", "created_at"}], "has_more", "first_id",
 * "last_id"}, 20 a page unless asked for more (at most 1000), so the
 * request asks for 1000 and a longer list is marked truncated. Gemini's own
 * API (GET /v1beta/models) answers {"models": [{"name": "models/…", ...}],
 * "nextPageToken"}, 50 a page unless asked (pageSize, at most 1000): asked
 * for 1000, a next page marks it truncated. Bedrock's ListFoundationModels
 * answers {"modelSummaries": [{"modelId", ...}]}, all at once. The ids land
 * in the observation's text, one a line, sanitized and capped like any
 * answer: a relay's list is untrusted text.
 */
#ifndef ASSAY_MODELS_LIST_H
#define ASSAY_MODELS_LIST_H

#include <stddef.h>

#include "probes/adapter.h"
#include "probes/observation.h"

/* The list's URL for api beside the endpoint base_url names (the same path
 * rules as endpoint_url(), ending in /models); the caller frees it. */
char *models_list_url(enum api_kind api, const char *base_url);

/* Most ids kept from one list; more are counted, not kept. */
#define MODELS_LIST_MAX 2000

/*
 * Read a 2xx list body into obs: text holds the ids one a line (the first
 * MODELS_LIST_MAX that fit OBS_TEXT_CAP; text_truncated when more were
 * listed or a next page was announced). A body that is not a list is
 * ERR_MALFORMED with a detail saying what was wrong.
 */
void models_list_finish(struct observation *obs, const char *body, size_t len);

/* Whether an audit of api at base_url asks for a model list at all (an
 * Azure deployment URL and Vertex have none in a shape read here; Bedrock
 * (bedrock set) is asked on its control plane). */
int models_list_asked(enum api_kind api, const char *base_url, int bedrock);
/* The list's URL for an audit target: models_list_url(), or for Bedrock
 * (bedrock set) ListFoundationModels, GET /foundation-models on the
 * control plane's host (bedrock.REGION.amazonaws.com for the runtime's
 * bedrock-runtime.REGION.amazonaws.com; another host is kept). The caller
 * frees it. */
char *models_list_target_url(enum api_kind api, const char *base_url, int bedrock);

/* Whether obs's list names model (exactly, or as "models/NAME"). -1 when
 * obs holds no list. */
int models_list_has(const struct observation *obs, const char *model);
/* How many ids obs's list holds (its lines). */
size_t models_list_count(const struct observation *obs);

#endif
