/*
 * baseline: what an official model does, as the detectors compare against.
 *
 * A pack (JSON) lists models: tokenizer and chat template (for exact token
 * counts), limits, protocol fingerprint (id prefix, system_fingerprint) and
 * the rate at which the official model passes each known-answer probe. The
 * bundled pack is scoring/baselines/bundled.json. The pack owns its models.
 */
#ifndef ASSAY_BASELINE_H
#define ASSAY_BASELINE_H

#include <jansson.h>
#include <stddef.h>

#include "probes/adapter.h"

struct baseline_answer {
	char *probe;
	double p_correct; /* rate the official model passes the assertion */
};

/* Answers the official model gave to one sampled probe: the reference
 * sample of the two-sample test (scoring/mmd.h). */
struct baseline_samples {
	char *probe;
	char **texts;
	size_t n;
};

/*
 * How often the official model gave each normalised answer to a one-token
 * categorical probe (scoring/detectors/fingerprint.c): the reference
 * distribution of the fingerprint test, as `baseline record` counted it.
 * values[i] was answered counts[i] times; values are distinct.
 */
struct baseline_answer_counts {
	char *probe;
	char **values;
	long *counts;
	size_t n;
};

/*
 * The official API's protocol around the answer, as `baseline record` saw
 * it on every response (see the OBS_USAGE_* and OBS_HDR_* bits and the
 * event letters of probes/observation.h). An honest pass-through keeps all
 * of it but the headers, which many relays drop. One per API the model was
 * recorded on: a model sold on Chat Completions and on Responses has a
 * shape for each, and a response is held to its own API's.
 */
struct baseline_protocol {
	int recorded;   /* the pack has this section */
	char *id_shape; /* response ids on this API (baseline_id_shape), or NULL:
	                 * the model's id_shape, for its own api */
	char **events;  /* every stream event sequence seen */
	size_t n_events;
	unsigned usage;        /* usage fields every whole response had */
	unsigned stream_usage; /* ... and every stream */
	unsigned headers;      /* headers every response had */
	int start_usage;       /* Anthropic: message_start counts the input */
	int ping;              /* Anthropic: every stream had a ping */
	char *tool_id_shape;   /* tool call ids, or NULL */
	/* while recording: how many responses of each kind were seen */
	int seen, seen_streams, seen_whole;
};

/*
 * How a model reasons, as its provider documents it. mode: "always" (every
 * answer spends reasoning tokens first, counted in the output), "optional"
 * (a request turns it on or off), "none"; NULL when no public source says.
 */
struct baseline_reasoning {
	char *mode;
	long min_output; /* smallest output budget the API accepts; -1 unknown */
	long min_budget; /* smallest thinking budget (Anthropic budget_tokens); -1 */
	char **efforts;  /* reasoning effort values the API takes */
	size_t n_efforts;
	char *default_effort; /* or NULL */
	/* Chat Completions' words where the model's OpenAI-compatible endpoint
	 * takes other efforts than its own API ("chat_efforts" in the pack:
	 * Gemini's takes none, low, medium, high, and none is Flash's minimal
	 * level); empty: efforts */
	char **chat_efforts;
	size_t n_chat_efforts;
	/* Chat Completions' usage leaves the reasoning out of completion_tokens
	 * and counts it in total_tokens alone ("chat_total_only": Gemini's
	 * OpenAI-compatible endpoint) */
	int chat_total_only;
};

/* Where a model's facts come from. */
enum baseline_origin {
	BASELINE_PACK = 0, /* a pack: recorded or documented facts */
	BASELINE_NAME,     /* a stand-in built from the name, which names a line */
	BASELINE_NONE,     /* a stand-in whose name names no known line */
};

struct baseline_model {
	char *name;
	char **aliases;
	size_t n_aliases;
	char *api;       /* "openai" or "anthropic" */
	char *tokenizer; /* NULL: no public tokenizer */
	char *template;  /* chat accounting family, see scoring/tokenizer.h */
	long context_window, max_output;
	char *id_prefix;
	int system_fingerprint;
	struct baseline_answer *answers;
	size_t n_answers;
	char **params; /* request parameters the official API honours */
	size_t n_params;
	/* Documented facts (bundled pack; optional in any pack): */
	char **rejects; /* parameters the official API refuses with a 400: never sent */
	size_t n_rejects;
	char *token_limit_field; /* "max_completion_tokens" or "max_tokens"; NULL: by params */
	char **exclusive;        /* parameters a request may carry at most one of */
	size_t n_exclusive;
	char **apis; /* every API the official endpoint serves it on; empty: api alone */
	size_t n_apis;
	char **inputs; /* what it takes as input: "text", "image", "pdf" ("inputs" in
	                * the pack; empty: unknown, probed for text alone) */
	size_t n_inputs;
	struct baseline_reasoning reasoning;
	double price_cached_in;       /* USD per million cached input tokens; < 0 unknown */
	char *source;                 /* where the documented facts come from (URL, document) */
	char *as_of;                  /* when they were read, YYYY-MM-DD */
	double price_in, price_out;   /* USD per million tokens; < 0 unknown */
	double ttft_ms, tokens_per_s; /* official latency profile; < 0 unknown */
	double latency_time_scale;    /* the endpoint's delays were this many times
	                               * real ones when recorded (simulated worlds
	                               * run faster); 1 for a real API */
	char **fingerprints;          /* system_fingerprint values seen from the official API */
	size_t n_fingerprints;
	char *id_shape; /* shape of official response ids, see baseline_id_shape() */
	struct baseline_samples *samples;
	size_t n_samples;
	/* "answer_counts": {probe: {answer: count}} in the pack; none in older
	 * packs */
	struct baseline_answer_counts *answer_counts;
	size_t n_answer_counts;
	/* per API (enum api_kind): "protocol": {"openai": {...}, "responses":
	 * {...}} in the pack; an unkeyed object (older packs) is the model's
	 * own api's */
	struct baseline_protocol protocols[API__COUNT];
	/* not from a pack: a stand-in (scoring/identify.h), whose protocol (its
	 * API's) and id shape are borrowed from a pack model that has one */
	enum baseline_origin origin;
	const char *line; /* the stand-in's model line, or NULL */
};

struct baseline_pack {
	char *name;
	struct baseline_model *models;
	size_t n;
};

/* Load a pack file; NULL with a message in err. */
struct baseline_pack *baseline_load(const char *path, char *err, size_t errlen);
/* The same for a pack's text (len bytes); name stands for its path in err. */
struct baseline_pack *baseline_load_string(const char *text, size_t len, const char *name,
                                           char *err, size_t errlen);
/*
 * The bundled pack, with every pack in the user's pack directory merged over
 * it (a model of the same name replaces the bundled one).
 */
struct baseline_pack *baseline_load_default(char *err, size_t errlen);
/* The user's pack directory: $ASSAY_BASELINE_DIR, else
 * $XDG_DATA_HOME/assay/baselines, else ~/.local/share/assay/baselines.
 * Newly allocated. */
char *baseline_user_dir(void);
/* A pack as JSON (the file format); the caller json_decref()s it. */
json_t *baseline_pack_to_json(const struct baseline_pack *p);
/* Add (or replace by name) a deep copy of m in p. */
void baseline_put(struct baseline_pack *p, const struct baseline_model *m);
void baseline_free(struct baseline_pack *p);

/*
 * A model by name or alias: exactly (case-sensitive) first, then as
 * baseline_resolve() finds it. NULL when no model, or more than one, fits.
 */
const struct baseline_model *baseline_find(const struct baseline_pack *p, const char *name);
/*
 * The model a name a relay or a buyer uses means. Tried in order, the
 * first step with any match deciding:
 *   1. the name or an alias, exactly;
 *   2. the same compared as keys: case folded, a vendor prefix
 *      ("openai/", "anthropic/", "models/") dropped, '.' and '_' read as
 *      '-' ("claude-opus-4.5" is "claude-opus-4-5");
 *   3. the key without a dated snapshot ("-2025-11-01", "-20251101",
 *      "-0125") or a relay's suffix ("-latest", "-thinking", "-high", ":free"),
 *      one at a time from the right, each shorter key tried in turn.
 * Nothing else is dropped: "gpt-5.5-mini" never becomes gpt-5.5.
 * Returns 1 with *out set, 0 when nothing fits, -1 when one step matches
 * two models (why then names both, as a sentence the CLI can print; *out
 * NULL). why may be NULL.
 */
int baseline_resolve(const struct baseline_pack *p, const char *name,
                     const struct baseline_model **out, char *why, size_t whylen);
/* Does a reported model name belong to m (its name, an alias, or a dated
 * snapshot "name-YYYY-MM-DD")? */
int baseline_name_matches(const struct baseline_model *m, const char *reported);
/*
 * Recording the protocol: fold one successful official response into p
 * (zeroed to start). Streams a client hung up on are left out.
 */
struct observation;
void baseline_protocol_observe(struct baseline_protocol *p, const struct observation *o);
/* Release what p owns. */
void baseline_protocol_release(struct baseline_protocol *p);
/* Is a stream's event sequence (observation letters) one the official API
 * was seen to send? Pings are left out: they may come anywhere. */
int baseline_protocol_knows_events(const struct baseline_protocol *p, const char *events);
/* The protocol recorded for m on api, or NULL when the pack has none for it
 * (nothing about the shape can be judged then). */
const struct baseline_protocol *baseline_protocol_for(const struct baseline_model *m,
                                                      enum api_kind api);
/* The response id shape official responses of m have on api: the protocol's
 * own, else the model's id_shape when api is the model's own; NULL: none
 * recorded. */
const char *baseline_id_shape_for(const struct baseline_model *m, enum api_kind api);

/* Does the official API honour this request parameter (listed in params,
 * not in rejects)? */
int baseline_supports(const struct baseline_model *m, const char *param);
/* Does the model take this kind of input ("image", "pdf"), as its pack's
 * inputs say? 0 when the pack says nothing. */
int baseline_takes(const struct baseline_model *m, const char *input);
/* Does the official API refuse this request parameter (listed in rejects)? */
int baseline_rejects(const struct baseline_model *m, const char *param);
/*
 * What requests to m may carry (probes/adapter.h): the token limit in
 * token_limit_field, else max_completion_tokens where the pack lists it and
 * not max_tokens; no temperature where the pack rejects it, or lists the
 * parameters and temperature is not among them; no stop sequences and no
 * logprobs where the pack rejects them. m NULL (a model the pack lacks):
 * the defaults.
 */
void baseline_request_rules(const struct baseline_model *m, struct request_rules *out);
/* Was this system_fingerprint recorded from m's official API? */
int baseline_has_fingerprint(const struct baseline_model *m, const char *fp);
/* The recorded answer samples for a probe, or NULL. */
const struct baseline_samples *baseline_samples_for(const struct baseline_model *m,
                                                    const char *probe);
/* The recorded answer distribution of a categorical probe, or NULL. */
const struct baseline_answer_counts *baseline_answer_counts_for(const struct baseline_model *m,
                                                                const char *probe);
/* The shape of a response id, e.g. "chatcmpl-{29 alnum}" or "{uuid}":
 * the literal prefix up to the last '-' or '_', then the length and
 * alphabet of the rest. Written into out (size outlen). */
void baseline_id_shape(const char *id, char *out, size_t outlen);
/* Does an id of shape seen fit the recorded shape want (NULL: anything)?
 * The same shape, or the same prefix and length of URL-safe base64 with or
 * without its '-' and '_' ("{22 alnum}" and "{22 b64url}"). */
int baseline_id_shape_fits(const char *seen, const char *want);
/* The official pass rate for a probe, or -1 when the pack has none. */
double baseline_answer_rate(const struct baseline_model *m, const char *probe);

#endif
