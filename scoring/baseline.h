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

/* A model by name or alias (case-sensitive), or NULL. */
const struct baseline_model *baseline_find(const struct baseline_pack *p, const char *name);
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

/* Does the official API honour this request parameter? */
int baseline_supports(const struct baseline_model *m, const char *param);
/*
 * What requests to m may carry (probes/adapter.h): max_completion_tokens
 * where the pack lists it and not max_tokens, no temperature where the pack
 * lists the parameters and temperature is not among them. m NULL (a model
 * the pack lacks): the defaults.
 */
void baseline_request_rules(const struct baseline_model *m, struct request_rules *out);
/* Was this system_fingerprint recorded from m's official API? */
int baseline_has_fingerprint(const struct baseline_model *m, const char *fp);
/* The recorded answer samples for a probe, or NULL. */
const struct baseline_samples *baseline_samples_for(const struct baseline_model *m,
                                                    const char *probe);
/* The shape of a response id, e.g. "chatcmpl-{29 alnum}" or "{uuid}":
 * the literal prefix up to the last '-' or '_', then the length and
 * alphabet of the rest. Written into out (size outlen). */
void baseline_id_shape(const char *id, char *out, size_t outlen);
/* The official pass rate for a probe, or -1 when the pack has none. */
double baseline_answer_rate(const struct baseline_model *m, const char *probe);

#endif
