/*
 * chunk_json: cJSON behind the hot path's JSON interface (chunk_json.h).
 *
 * A parse runs in three steps: the byte checks cJSON does not make (length,
 * control bytes, UTF-8, \u escapes with a bad digit or 0000, a byte-order
 * mark), cJSON's own
 * parse, then one walk of the tree for what it does not bound (depth past
 * CHUNK_JSON_MAX_DEPTH, numbers that are not finite). cJSON itself nests at
 * most CJSON_NESTING_LIMIT (1000) deep, so its recursion, and the walk's,
 * are bounded before the walk refuses anything past 64.
 *
 * Memory. cJSON's hooks are process-wide; this module is cJSON's only user
 * and installs them once. They read this thread's state: while a parse
 * fills the arena (state.filling) blocks are bumped from it, and freeing a
 * block inside it does nothing; everything else goes to malloc()/free(),
 * counted against CHUNK_JSON_MAX_MEMORY while a parse runs (a refusal to
 * allocate makes cJSON fail the parse cleanly). The arena is reset when
 * the document that filled it is freed; a document parsed while another
 * holds the arena lives on the heap alone.
 *
 * A cJSON node is handed out as a struct chunk_json pointer: the type is
 * only ever a cast of cJSON, never dereferenced as anything else.
 */
#include "probes/chunk_json.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define ARENA_ALIGN 16

struct chunk_state {
	_Alignas(ARENA_ALIGN) unsigned char mem[CHUNK_JSON_ARENA_BYTES];
	size_t used;
	size_t heap;        /* bytes malloc()ed by the parse running */
	int parsing;        /* a parse is running: count the heap */
	int filling;        /* ... and it may use the arena */
	int refused;        /* ... and a block was refused: over the cap */
	const cJSON *owner; /* the document whose blocks are in the arena */
	int owner_whole;    /* ... all of them: freeing it needs no walk */
};

static _Thread_local struct chunk_state state;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void *
chunk_malloc(size_t n)
{
	struct chunk_state *s = &state;
	if (s->filling) {
		size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
		if (need >= n && need <= sizeof s->mem - s->used) {
			void *p = s->mem + s->used;
			s->used += need;
			return p;
		}
	}
	if (s->parsing) {
		if (n > CHUNK_JSON_MAX_MEMORY - s->heap) {
			s->refused = 1;
			return NULL; /* cJSON fails the parse and frees what it made */
		}
		s->heap += n;
	}
	return malloc(n);
}

static int
in_arena(const void *p)
{
	uintptr_t u = (uintptr_t)p, m = (uintptr_t)state.mem;
	return u >= m && u - m < sizeof state.mem;
}

static void
chunk_free(void *p)
{
	if (!in_arena(p))
		free(p);
}

static void
install_hooks(void)
{
	cJSON_Hooks hooks = {chunk_malloc, chunk_free};
	cJSON_InitHooks(&hooks);
}

/* cJSON's type of c (cJSON.h: the low byte; the bits above are flags) */
#define TYPE_OF(c) ((c)->type & 0xFF)

static const cJSON *
node(const struct chunk_json *v)
{
	return (const cJSON *)(const void *)v;
}

static const struct chunk_json *
handle(const cJSON *c)
{
	return (const struct chunk_json *)(const void *)c;
}

/* The bytes cJSON lets through that jansson refused; the first refusal. */
static enum chunk_json_refusal
check_bytes(const char *data, size_t len)
{
	if (len > CHUNK_JSON_MAX_BYTES)
		return CHUNK_JSON_TOO_LONG;
	/* eight bytes at a time: a word with a byte under 0x20 is looked at
	 * byte by byte (tab, CR and LF are whitespace); the first byte with
	 * its high bit set starts the UTF-8 check */
	const unsigned char *u = (const unsigned char *)data;
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	size_t first_high = len, i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, u + i, 8);
		if (((w - 0x20 * ones) & ~w & highs) != 0)
			for (size_t k = i; k < i + 8; k++)
				if (u[k] < 0x20 && u[k] != '\t' && u[k] != '\n' && u[k] != '\r')
					return CHUNK_JSON_CONTROL;
		if ((w & highs) != 0 && first_high == len)
			for (size_t k = i; k < i + 8 && first_high == len; k++)
				if (u[k] >= 0x80)
					first_high = k;
	}
	for (; i < len; i++) {
		if (u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r')
			return CHUNK_JSON_CONTROL;
		if (u[i] >= 0x80 && first_high == len)
			first_high = i;
	}
	if (first_high < len && !utf8_valid(data + first_high, len - first_high))
		return CHUNK_JSON_BAD_UTF8;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		return CHUNK_JSON_SYNTAX; /* cJSON skips a byte-order mark */
	/* A \u escape (an odd run of backslashes, then u) must have four hex
	 * digits, and not 0000: cJSON reads a bad digit as a zero and writes a
	 * NUL, which would cut the string short (an even run is escaped
	 * backslashes, then a plain u) */
	const char *at = data, *end = data + len;
	while ((at = memchr(at, '\\', (size_t)(end - at))) != NULL) {
		const char *run = at;
		while (at < end && *at == '\\')
			at++;
		if ((at - run) % 2 == 0 || at == end || *at != 'u')
			continue;
		if (end - at < 5 || !isxdigit((unsigned char)at[1]) ||
		    !isxdigit((unsigned char)at[2]) || !isxdigit((unsigned char)at[3]) ||
		    !isxdigit((unsigned char)at[4]))
			return CHUNK_JSON_SYNTAX;
		if (memcmp(at + 1, "0000", 4) == 0)
			return CHUNK_JSON_CONTROL;
	}
	return CHUNK_JSON_OK;
}

/* What the tree holds that the module refuses: too deep, a number that is
 * not finite. depth is c's own (the root is 1). */
static enum chunk_json_refusal
check_tree(const cJSON *c, int depth)
{
	int type = TYPE_OF(c);
	if (type == cJSON_Number)
		return isfinite(c->valuedouble) ? CHUNK_JSON_OK : CHUNK_JSON_NUMBER;
	if (type != cJSON_Array && type != cJSON_Object)
		return CHUNK_JSON_OK;
	if (depth > CHUNK_JSON_MAX_DEPTH)
		return CHUNK_JSON_TOO_DEEP;
	for (const cJSON *k = c->child; k != NULL; k = k->next) {
		enum chunk_json_refusal r = check_tree(k, depth + 1);
		if (r != CHUNK_JSON_OK)
			return r;
	}
	return CHUNK_JSON_OK;
}

struct chunk_json *
chunk_json_parse(const char *data, size_t len, enum chunk_json_refusal *why)
{
	pthread_once(&hooks_once, install_hooks);
	enum chunk_json_refusal r = check_bytes(data, len);
	cJSON *root = NULL;
	if (r == CHUNK_JSON_OK) {
		struct chunk_state *s = &state;
		int fill = s->owner == NULL;
		if (fill)
			s->used = 0;
		s->parsing = 1;
		s->filling = fill;
		s->heap = 0;
		s->refused = 0;
		const char *end = NULL;
		root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
		s->parsing = 0;
		s->filling = 0;
		if (root != NULL && fill) {
			s->owner = root;
			s->owner_whole = s->heap == 0;
		}
		if (root == NULL) {
			r = s->refused ? CHUNK_JSON_TOO_LARGE : CHUNK_JSON_SYNTAX;
		} else {
			/* one value, then whitespace only */
			for (; end < data + len; end++)
				if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
					r = CHUNK_JSON_SYNTAX;
					break;
				}
			if (r == CHUNK_JSON_OK)
				r = check_tree(root, 1);
			if (r != CHUNK_JSON_OK) {
				chunk_json_free((struct chunk_json *)(void *)root);
				root = NULL;
			}
		}
	}
	if (why != NULL)
		*why = r;
	return (struct chunk_json *)(void *)root;
}

void
chunk_json_free(struct chunk_json *root)
{
	if (root == NULL)
		return;
	cJSON *c = (cJSON *)(void *)root;
	int owner = state.owner == c;
	if (!owner || !state.owner_whole)
		cJSON_Delete(c);
	if (owner) {
		state.owner = NULL;
		state.used = 0;
	}
}

const char *
chunk_json_refusal_text(enum chunk_json_refusal why)
{
	static const char *const texts[] = {
	    [CHUNK_JSON_OK] = "valid",
	    [CHUNK_JSON_SYNTAX] = "not one JSON value",
	    [CHUNK_JSON_TOO_LONG] = "too long",
	    [CHUNK_JSON_TOO_DEEP] = "nested too deep",
	    [CHUNK_JSON_BAD_UTF8] = "invalid UTF-8",
	    [CHUNK_JSON_CONTROL] = "a control character or \\u0000",
	    [CHUNK_JSON_NUMBER] = "a number out of range",
	    [CHUNK_JSON_TOO_LARGE] = "too large to hold",
	};
	return (unsigned)why < sizeof texts / sizeof texts[0] ? texts[why] : "refused";
}

int
chunk_json_is_object(const struct chunk_json *v)
{
	return v != NULL && TYPE_OF(node(v)) == cJSON_Object;
}

int
chunk_json_is_array(const struct chunk_json *v)
{
	return v != NULL && TYPE_OF(node(v)) == cJSON_Array;
}

int
chunk_json_is_string(const struct chunk_json *v)
{
	return v != NULL && TYPE_OF(node(v)) == cJSON_String;
}

int
chunk_json_is_number(const struct chunk_json *v)
{
	return v != NULL && TYPE_OF(node(v)) == cJSON_Number;
}

/* 2^63: the first double past int64 */
#define INT64_BOUND 9223372036854775808.0

int
chunk_json_is_integer(const struct chunk_json *v)
{
	if (!chunk_json_is_number(v))
		return 0;
	double d = node(v)->valuedouble;
	return d >= -INT64_BOUND && d < INT64_BOUND && d == floor(d);
}

int
chunk_json_is_true(const struct chunk_json *v)
{
	return v != NULL && TYPE_OF(node(v)) == cJSON_True;
}

int
chunk_json_is_null(const struct chunk_json *v)
{
	return v != NULL && TYPE_OF(node(v)) == cJSON_NULL;
}

const struct chunk_json *
chunk_json_get(const struct chunk_json *object, const char *key)
{
	if (!chunk_json_is_object(object))
		return NULL;
	const cJSON *found = NULL;
	for (const cJSON *k = node(object)->child; k != NULL; k = k->next)
		if (k->string != NULL && k->string[0] == key[0] && strcmp(k->string, key) == 0)
			found = k; /* the last of duplicates */
	return handle(found);
}

const char *
chunk_json_string(const struct chunk_json *v)
{
	return chunk_json_is_string(v) ? node(v)->valuestring : NULL;
}

size_t
chunk_json_string_length(const struct chunk_json *v)
{
	const char *s = chunk_json_string(v);
	return s != NULL ? strlen(s) : 0;
}

long long
chunk_json_integer(const struct chunk_json *v)
{
	return chunk_json_is_integer(v) ? (long long)node(v)->valuedouble : 0;
}

size_t
chunk_json_size(const struct chunk_json *v)
{
	size_t n = 0;
	for (const struct chunk_json *k = chunk_json_first(v); k != NULL; k = chunk_json_next(k))
		n++;
	return n;
}

const struct chunk_json *
chunk_json_at(const struct chunk_json *array, size_t i)
{
	if (!chunk_json_is_array(array))
		return NULL;
	const cJSON *k = node(array)->child;
	for (; k != NULL && i > 0; i--)
		k = k->next;
	return handle(k);
}

const struct chunk_json *
chunk_json_first(const struct chunk_json *v)
{
	if (!chunk_json_is_array(v) && !chunk_json_is_object(v))
		return NULL;
	return handle(node(v)->child);
}

const struct chunk_json *
chunk_json_next(const struct chunk_json *v)
{
	return v != NULL ? handle(node(v)->next) : NULL;
}

char *
chunk_json_dumps(const struct chunk_json *v)
{
	if (v == NULL)
		return NULL;
	pthread_once(&hooks_once, install_hooks);
	/* a value inside a document: cJSON writes it alone, without its key */
	char *s = cJSON_PrintUnformatted(node(v));
	if (s == NULL)
		return NULL;
	char *copy = xstrdup(s); /* cJSON's allocator is not the caller's */
	cJSON_free(s);
	return copy;
}
