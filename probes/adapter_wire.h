/*
 * adapter_wire: what adapter.c shares with the wire formats kept in files
 * of their own (probes/adapter_gemini.c). Private to the adapter: nothing
 * outside probes/adapter*.c includes it.
 *
 * The helpers are adapter.c's own (the same caps, sanitizing and first-
 * reason-stands rules as the other wires); the wire functions are the
 * Gemini file's, dispatched to from adapter.c.
 */
#ifndef ASSAY_ADAPTER_WIRE_H
#define ASSAY_ADAPTER_WIRE_H

#include <jansson.h>
#include <stdint.h>

#include "probes/adapter.h"
#include "probes/chunk_json.h"

/* ---- adapter.c's helpers ---- */

/* Set the observation's error (the first reason stands); marks p failed. */
void adapter_wire_set_error(struct adapter_parse *p, enum error_class e, const char *detail);
/* Copy a JSON string into *field, capped and sanitized; anything else is
 * left alone. */
void adapter_wire_take_string(char **field, const struct chunk_json *v);
/* A non-negative JSON integer, else -1. */
long adapter_wire_take_long(const struct chunk_json *v);
/* Answer text that arrived at now (chunk timings, caps, stop_after_chunks). */
void adapter_wire_add_text(struct adapter_parse *p, const char *s, size_t n, int64_t now);
/* The first tool call: its id (may be absent), name and whole arguments. */
void adapter_wire_take_tool(struct adapter_parse *p, const struct chunk_json *id,
                            const struct chunk_json *name, const struct chunk_json *args);
/* The class of an error answer (adapter.c's rules). */
enum error_class adapter_wire_classify(int status, const char *code, const char *type,
                                       const char *msg);
/* The tool's argument schema (an empty object schema if unset) and the stop
 * sequences as JSON arrays: new references. */
json_t *adapter_wire_tool_schema(const struct request_intent *in);
json_t *adapter_wire_stop_array(const struct request_intent *in);

/* ---- Gemini (probes/adapter_gemini.c) ---- */

/* What the Gemini API cannot carry, or NULL. */
const char *gemini_cannot(const struct request_intent *in);
/* Fill root (an empty object: Gemini's body names no model) with the
 * request's generateContent fields. */
void gemini_fields(json_t *root, const struct probe_call *call, const struct request_rules *rules);
/* One streamed GenerateContentResponse (an SSE data line): 0, or -1 for a
 * shape that is not one. */
int gemini_chunk(struct adapter_parse *p, const struct chunk_json *chunk, int64_t now);
/* A whole generateContent response body. */
void gemini_finish_body(struct adapter_parse *p, const struct chunk_json *j);

#endif
