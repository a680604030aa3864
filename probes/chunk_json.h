/*
 * chunk_json: the JSON a relay answers with, parsed on the probe engine's
 * hot path (every streamed chunk, and the adapter's whole bodies).
 *
 * simdjson (Debian libsimdjson-dev) does the parsing, in the product's one
 * C++ file (chunk_json.cc); this header is all the rest of the code sees of
 * it. jansson stays the JSON library everywhere else (requests, config,
 * packs, the API, export, Bedrock's event payloads).
 *
 * Relay bytes are untrusted. A document is refused, as jansson refused it,
 * when it is not one JSON value (trailing bytes other than whitespace, a
 * byte-order mark), holds invalid UTF-8, a control byte (other than tab,
 * CR, LF between tokens) or the escape \u0000, a number outside JSON's
 * grammar or beyond a double, an integer literal beyond 64 bits; and
 * beyond jansson, when it is longer than CHUNK_JSON_MAX_BYTES, nests
 * deeper than CHUNK_JSON_MAX_DEPTH or its nodes would take more than
 * CHUNK_JSON_MAX_MEMORY. Where it reads differently from jansson
 * (tests/test_chunk_json.c checks each):
 *  - duplicate keys: the last one is the value (jansson's and JSON.parse's
 *    rule), and chunk_json_size() counts each key once per occurrence;
 *  - a number is an integer when its value is integral and within int64
 *    (jansson: when it was written without '.' or exponent): "5.0" reads
 *    as 5; an integer literal from 2^63 to 2^64 - 1 is a number, not an
 *    integer (jansson refused the document);
 *  - a malformed number is refused as CHUNK_JSON_NUMBER or
 *    CHUNK_JSON_SYNTAX, as simdjson tells it (jansson: a syntax error);
 *  - any value may be the document ("1", "\"s\""; jansson without
 *    JSON_DECODE_ANY took an object or array only): the adapter holds a
 *    chunk to be an object, so such a chunk is malformed all the same.
 * chunk_json_dumps() writes reals as simdjson does (-3e2 as -300.0, as
 * jansson did).
 *
 * Values are borrowed from their document and die with it. Every accessor
 * takes NULL (or a value of the wrong type) and answers "absent": NULL, 0,
 * false, as jansson's do, so a chain of gets needs no check between links.
 *
 * Memory: each thread keeps a parser for documents up to 64 KiB and an
 * arena (CHUNK_JSON_ARENA_BYTES) for an ordinary chunk's nodes; more nodes
 * spill to malloc() within the memory cap. A bigger document, or one
 * parsed while another lives on the same thread, gets a parser of its own
 * (about 14 bytes of address space a byte of input, touched as far as the
 * document fills it), freed with it. Measured on 8 MiB: one long string
 * takes 17 MiB of memory while parsed; the worst case, millions of empty
 * arrays, peaks at 147 MiB (simdjson's tape and index, then our nodes up
 * to the cap) before it is refused as too large. Any thread may parse; a
 * document is freed on the thread that parsed it.
 */
#ifndef ASSAY_CHUNK_JSON_H
#define ASSAY_CHUNK_JSON_H

#include <stddef.h>

#define CHUNK_JSON_MAX_BYTES (8u << 20)    /* a whole body at most this long */
#define CHUNK_JSON_MAX_DEPTH 64            /* arrays and objects nested */
#define CHUNK_JSON_MAX_MEMORY (64u << 20)  /* heap beyond the arena, per parse */
#define CHUNK_JSON_ARENA_BYTES (32u << 10) /* per thread */

/* One parsed value (a document's root, or a value inside it). */
struct chunk_json;

/* Why a document was refused (for tests and error details). */
enum chunk_json_refusal {
	CHUNK_JSON_OK = 0,
	CHUNK_JSON_SYNTAX,    /* not one JSON value */
	CHUNK_JSON_TOO_LONG,  /* over CHUNK_JSON_MAX_BYTES */
	CHUNK_JSON_TOO_DEEP,  /* over CHUNK_JSON_MAX_DEPTH */
	CHUNK_JSON_BAD_UTF8,  /* invalid UTF-8 */
	CHUNK_JSON_CONTROL,   /* a raw control byte, or \u0000 */
	CHUNK_JSON_NUMBER,    /* a number malformed, beyond a double or 64 bits */
	CHUNK_JSON_TOO_LARGE, /* over CHUNK_JSON_MAX_MEMORY to hold */
};

/* ---- Parse and free a document ---- */

/*
 * Parse len bytes at data (no terminating NUL needed) into a document the
 * caller frees with chunk_json_free() on this thread. NULL when refused, with the reason
 * in *why when why is not NULL; nothing is left allocated then.
 */
struct chunk_json *chunk_json_parse(const char *data, size_t len, enum chunk_json_refusal *why);
/* Free a document (its root); NULL does nothing. */
void chunk_json_free(struct chunk_json *root);
/* A refusal in a few words ("nested too deep"). */
const char *chunk_json_refusal_text(enum chunk_json_refusal why);

/* ---- Types ---- */

int chunk_json_is_object(const struct chunk_json *v);
int chunk_json_is_array(const struct chunk_json *v);
int chunk_json_is_string(const struct chunk_json *v);
int chunk_json_is_number(const struct chunk_json *v);
/* A number with an integral value within int64 (see the top). */
int chunk_json_is_integer(const struct chunk_json *v);
int chunk_json_is_true(const struct chunk_json *v);
int chunk_json_is_null(const struct chunk_json *v);

/* ---- Values ---- */

/* An object's member key (the last of duplicates), or NULL. */
const struct chunk_json *chunk_json_get(const struct chunk_json *object, const char *key);
/* A string's bytes (valid UTF-8, NUL-terminated, no NUL inside), or NULL. */
const char *chunk_json_string(const struct chunk_json *v);
/* A string's length in bytes; 0 for anything else. */
size_t chunk_json_string_length(const struct chunk_json *v);
/* An integer's value; 0 for anything else (jansson's json_integer_value). */
long long chunk_json_integer(const struct chunk_json *v);
/* Elements of an array, members of an object; 0 for anything else. */
size_t chunk_json_size(const struct chunk_json *v);
/* An array's element i, or NULL. */
const struct chunk_json *chunk_json_at(const struct chunk_json *array, size_t i);
/* An array's or object's first element or member, the one after v; NULL
 * past the end (or for anything else). */
const struct chunk_json *chunk_json_first(const struct chunk_json *v);
const struct chunk_json *chunk_json_next(const struct chunk_json *v);
/* Each element of an array (index i, value v), as json_array_foreach. */
#define chunk_json_foreach(array, i, v)                                                            \
	for ((i) = 0, (v) = chunk_json_is_array(array) ? chunk_json_first(array) : NULL;           \
	     (v) != NULL; (i)++, (v) = chunk_json_next(v))
/*
 * v written as compact JSON (no spaces), malloc()ed: the caller frees it
 * with free(). NULL when v is NULL. Duplicate keys are written as they
 * came; a real is written so it reads back as the same double.
 */
char *chunk_json_dumps(const struct chunk_json *v);

#endif
