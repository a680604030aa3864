/*
 * models_list: what a relay says it serves (GET /v1/models, both APIs).
 *
 * OpenAI answers {"object": "list", "data": [{"id", "object": "model",
 * "created", "owned_by"}]}, all at once; Anthropic answers {"data": [{"type":
 * "model", "id", "display_name", "created_at"}], "has_more", "first_id",
 * "last_id"}, 20 a page unless asked for more (at most 1000), so the
 * request asks for 1000 and a longer list is marked truncated. The ids land
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

/* Whether obs's list names model (exactly, or as "models/NAME"). -1 when
 * obs holds no list. */
int models_list_has(const struct observation *obs, const char *model);
/* How many ids obs's list holds (its lines). */
size_t models_list_count(const struct observation *obs);

#endif
