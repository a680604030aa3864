/*
 * chunk_json: simdjson behind the hot path's JSON interface (chunk_json.h).
 *
 * The one C++ file of the product: simdjson (Debian libsimdjson-dev) has no
 * C interface, and it parses the engine's chunks about five times faster
 * than cJSON, the cheapest Debian C parser on them (README, issue 19). The
 * rest of the tree sees only chunk_json.h; nothing here throws past it
 * (simdjson's error codes, no exceptions; an allocation that fails inside
 * the C++ library ends the process as xmalloc() does).
 *
 * A parse: the bytes are copied into a padded buffer (simdjson reads up to
 * SIMDJSON_PADDING bytes past the end), simdjson validates and parses them
 * (UTF-8, grammar, depth, numbers), then one walk builds our nodes, which
 * the accessors read. The walk refuses what simdjson takes and the header
 * does not: a NUL in a string or key (the escape \u0000). A refused parse
 * is classified by the byte checks first (a raw control byte anywhere,
 * invalid UTF-8), so the reason reads as it did under jansson and cJSON.
 *
 * Memory. Each thread keeps one parser for documents up to HOT_CAPACITY,
 * with a padded buffer of that size and an arena for the nodes of an
 * ordinary chunk; a bigger document, or one parsed while another holds the
 * thread's parser, gets a parser and a buffer of its own, freed with it.
 * simdjson's buffers take about 14 bytes of address space a byte of input,
 * touched only as far as the document fills them; our nodes beyond the
 * arena are counted against CHUNK_JSON_MAX_MEMORY.
 */
#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

extern "C" {
#include "base/util.h"
#include "probes/chunk_json.h"
}

namespace
{

using simdjson::dom::element;
using simdjson::dom::element_type;

/* the thread's parser takes documents up to this long */
constexpr size_t HOT_CAPACITY = 64u << 10;
constexpr size_t ARENA_ALIGN = 16;
/* a heap block of nodes, at least (a bigger node run gets its own) */
constexpr size_t BLOCK_BYTES = 64u << 10;

enum kind : unsigned char { K_NULL, K_FALSE, K_TRUE, K_INT, K_REAL, K_STRING, K_ARRAY, K_OBJECT };

} // namespace

/* One value of a document: what simdjson parsed, read once. */
struct chunk_json {
	element el;      /* simdjson's, for dumps */
	const char *key; /* a member's key (NUL-terminated, simdjson's), else NULL */
	const chunk_json *child, *next;
	union {
		const char *s; /* a string (NUL-terminated, simdjson's) */
		long long i;   /* an integer (integral, within int64) */
	} v;
	size_t n; /* a string's bytes; an array's elements, an object's members */
	unsigned char kind;
};

namespace
{

/* A heap block of nodes (beyond the arena). */
struct block {
	block *next;
	size_t used, size;
	alignas(ARENA_ALIGN) unsigned char mem[];
};

/* A document: its root first, so the root is the document's handle. */
struct doc {
	chunk_json root;
	simdjson::dom::parser *own; /* a parser of its own, or NULL: the thread's */
	unsigned char *copy;        /* its padded input, with own */
	block *blocks;              /* its nodes beyond the arena */
	size_t heap;                /* bytes in blocks */
	bool hot;                   /* it holds the thread's parser and arena */
};
static_assert(std::is_standard_layout<doc>::value, "a doc's root is its address");

struct thread_state {
	alignas(ARENA_ALIGN) unsigned char mem[CHUNK_JSON_ARENA_BYTES];
	size_t used;
	bool busy; /* a document holds the parser, the buffer and the arena */
	unsigned char *pad;
	simdjson::dom::parser parser{CHUNK_JSON_MAX_BYTES}; /* allocated to HOT_CAPACITY */
	~thread_state()
	{
		free(pad);
	}
};

thread_local thread_state ts;

/* size bytes for d's nodes: from the arena while d is hot and it fits,
 * else from d's blocks; NULL past the memory cap */
void *
take(doc *d, size_t size)
{
	size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (d == nullptr || d->hot) {
		if (size <= sizeof ts.mem - ts.used) {
			void *p = ts.mem + ts.used;
			ts.used += size;
			return p;
		}
	}
	block *b = d != nullptr ? d->blocks : nullptr;
	if (b == nullptr || size > b->size - b->used) {
		size_t want = size > BLOCK_BYTES ? size : BLOCK_BYTES;
		if (d == nullptr || want > CHUNK_JSON_MAX_MEMORY - d->heap)
			return nullptr;
		b = static_cast<block *>(xmalloc(sizeof(block) + want));
		b->size = want;
		b->used = 0;
		b->next = d->blocks;
		d->blocks = b;
		d->heap += want;
	}
	void *p = b->mem + b->used;
	b->used += size;
	return p;
}

enum chunk_json_refusal
refusal_of(simdjson::error_code e)
{
	switch (e) {
	case simdjson::UTF8_ERROR:
		return CHUNK_JSON_BAD_UTF8;
	case simdjson::UNESCAPED_CHARS:
		return CHUNK_JSON_CONTROL;
	case simdjson::DEPTH_ERROR:
		return CHUNK_JSON_TOO_DEEP;
	case simdjson::NUMBER_ERROR:
	case simdjson::NUMBER_OUT_OF_RANGE:
		return CHUNK_JSON_NUMBER;
	case simdjson::MEMALLOC:
		return CHUNK_JSON_TOO_LARGE;
	case simdjson::CAPACITY:
		return CHUNK_JSON_TOO_LONG;
	default:
		return CHUNK_JSON_SYNTAX;
	}
}

/* Why bytes simdjson refused were refused, when it is in the bytes alone: a
 * raw control byte (other than tab, CR, LF) anywhere, invalid UTF-8. */
enum chunk_json_refusal
check_bytes(const char *data, size_t len)
{
	const unsigned char *u = reinterpret_cast<const unsigned char *>(data);
	for (size_t i = 0; i < len; i++)
		if (u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r')
			return CHUNK_JSON_CONTROL;
	if (!utf8_valid(data, len))
		return CHUNK_JSON_BAD_UTF8;
	return CHUNK_JSON_OK;
}

/* Our node for e (a member's when key is not NULL), its values below it;
 * NULL and *why set when refused. */
chunk_json *
build(doc *d, chunk_json *n, element e, const char *key, enum chunk_json_refusal *why)
{
	if (n == nullptr && (n = static_cast<chunk_json *>(take(d, sizeof *n))) == nullptr) {
		*why = CHUNK_JSON_TOO_LARGE;
		return nullptr;
	}
	n->el = e;
	n->key = key;
	n->child = n->next = nullptr;
	n->n = 0;
	n->v.i = 0;
	switch (e.type()) {
	case element_type::ARRAY: {
		n->kind = K_ARRAY;
		const chunk_json **tail = &n->child;
		simdjson::dom::array values = e.get_array().value_unsafe();
		for (element v : values) {
			chunk_json *c = build(d, nullptr, v, nullptr, why);
			if (c == nullptr)
				return nullptr;
			*tail = c;
			tail = &c->next;
			n->n++;
		}
		break;
	}
	case element_type::OBJECT: {
		n->kind = K_OBJECT;
		const chunk_json **tail = &n->child;
		simdjson::dom::object members = e.get_object().value_unsafe();
		for (simdjson::dom::key_value_pair kv : members) {
			if (memchr(kv.key.data(), 0, kv.key.size()) != nullptr) {
				*why = CHUNK_JSON_CONTROL;
				return nullptr;
			}
			chunk_json *c = build(d, nullptr, kv.value, kv.key.data(), why);
			if (c == nullptr)
				return nullptr;
			*tail = c;
			tail = &c->next;
			n->n++;
		}
		break;
	}
	case element_type::STRING: {
		std::string_view s = e.get_string().value_unsafe();
		if (memchr(s.data(), 0, s.size()) != nullptr) {
			*why = CHUNK_JSON_CONTROL;
			return nullptr;
		}
		n->kind = K_STRING;
		n->v.s = s.data();
		n->n = s.size();
		break;
	}
	case element_type::INT64:
		n->kind = K_INT;
		n->v.i = e.get_int64().value_unsafe();
		break;
	case element_type::UINT64: /* beyond int64: a number, not an integer */
		n->kind = K_REAL;
		break;
	case element_type::DOUBLE: {
		/* an integral real within int64 reads as an integer (the header) */
		double x = e.get_double().value_unsafe();
		const double bound = 9223372036854775808.0; /* 2^63 */
		if (x >= -bound && x < bound && x == std::floor(x)) {
			n->kind = K_INT;
			n->v.i = static_cast<long long>(x);
		} else {
			n->kind = K_REAL;
		}
		break;
	}
	case element_type::BOOL:
		n->kind = e.get_bool().value_unsafe() ? K_TRUE : K_FALSE;
		break;
	case element_type::NULL_VALUE:
	default:
		n->kind = K_NULL;
		break;
	}
	return n;
}

void
release(doc *d)
{
	for (block *b = d->blocks, *next; b != nullptr; b = next) {
		next = b->next;
		free(b);
	}
	if (d->hot) {
		ts.busy = false;
		ts.used = 0;
	} else {
		delete d->own;
		free(d->copy);
		free(d);
	}
}

} // namespace

extern "C" struct chunk_json *
chunk_json_parse(const char *data, size_t len, enum chunk_json_refusal *why)
{
	enum chunk_json_refusal r = CHUNK_JSON_OK;
	doc *d = nullptr;
	if (len > CHUNK_JSON_MAX_BYTES) {
		r = CHUNK_JSON_TOO_LONG;
		goto out;
	}
	if (!ts.busy && len <= HOT_CAPACITY) {
		if (ts.pad == nullptr) {
			ts.pad = static_cast<unsigned char *>(
			    xmalloc(HOT_CAPACITY + simdjson::SIMDJSON_PADDING));
			if (ts.parser.allocate(HOT_CAPACITY, CHUNK_JSON_MAX_DEPTH) !=
			    simdjson::SUCCESS)
				fatal(1, "chunk_json: cannot allocate the thread's parser");
		}
		ts.busy = true;
		ts.used = 0;
		d = static_cast<doc *>(take(nullptr, sizeof *d));
		d->own = nullptr;
		d->copy = ts.pad;
		d->hot = true;
	} else {
		d = static_cast<doc *>(xmalloc(sizeof *d));
		/* the most it may take is the module's cap: simdjson refuses a
		 * small document whose parser's most is its own length */
		d->own = new (std::nothrow) simdjson::dom::parser(CHUNK_JSON_MAX_BYTES);
		d->copy = static_cast<unsigned char *>(xmalloc(len + simdjson::SIMDJSON_PADDING));
		d->hot = false;
		if (d->own == nullptr ||
		    d->own->allocate(len > 0 ? len : 1, CHUNK_JSON_MAX_DEPTH) !=
		        simdjson::SUCCESS) {
			d->blocks = nullptr;
			release(d);
			d = nullptr;
			r = CHUNK_JSON_TOO_LARGE;
			goto out;
		}
	}
	d->blocks = nullptr;
	d->heap = 0;
	memcpy(d->copy, data, len);
	memset(d->copy + len, 0, simdjson::SIMDJSON_PADDING);
	{
		simdjson::dom::parser &p = d->own != nullptr ? *d->own : ts.parser;
		element root;
		simdjson::error_code e = p.parse(d->copy, len, false).get(root);
		if (e != simdjson::SUCCESS) {
			r = check_bytes(data, len);
			if (r == CHUNK_JSON_OK)
				r = refusal_of(e);
		} else if (build(d, &d->root, root, nullptr, &r) == nullptr) {
			/* r set by the walk */
		}
	}
	if (r != CHUNK_JSON_OK) {
		release(d);
		d = nullptr;
	}
out:
	if (why != nullptr)
		*why = r;
	return d != nullptr ? &d->root : nullptr;
}

extern "C" void
chunk_json_free(struct chunk_json *root)
{
	if (root != nullptr)
		release(reinterpret_cast<doc *>(root));
}

extern "C" const char *
chunk_json_refusal_text(enum chunk_json_refusal why)
{
	switch (why) {
	case CHUNK_JSON_OK:
		return "valid";
	case CHUNK_JSON_SYNTAX:
		return "not one JSON value";
	case CHUNK_JSON_TOO_LONG:
		return "too long";
	case CHUNK_JSON_TOO_DEEP:
		return "nested too deep";
	case CHUNK_JSON_BAD_UTF8:
		return "invalid UTF-8";
	case CHUNK_JSON_CONTROL:
		return "a control character or \\u0000";
	case CHUNK_JSON_NUMBER:
		return "a malformed or out-of-range number";
	case CHUNK_JSON_TOO_LARGE:
		return "too large to hold";
	}
	return "refused";
}

extern "C" int
chunk_json_is_object(const struct chunk_json *v)
{
	return v != nullptr && v->kind == K_OBJECT;
}

extern "C" int
chunk_json_is_array(const struct chunk_json *v)
{
	return v != nullptr && v->kind == K_ARRAY;
}

extern "C" int
chunk_json_is_string(const struct chunk_json *v)
{
	return v != nullptr && v->kind == K_STRING;
}

extern "C" int
chunk_json_is_number(const struct chunk_json *v)
{
	return v != nullptr && (v->kind == K_INT || v->kind == K_REAL);
}

extern "C" int
chunk_json_is_integer(const struct chunk_json *v)
{
	return v != nullptr && v->kind == K_INT;
}

extern "C" int
chunk_json_is_true(const struct chunk_json *v)
{
	return v != nullptr && v->kind == K_TRUE;
}

extern "C" int
chunk_json_is_null(const struct chunk_json *v)
{
	return v != nullptr && v->kind == K_NULL;
}

extern "C" const struct chunk_json *
chunk_json_get(const struct chunk_json *object, const char *key)
{
	if (!chunk_json_is_object(object))
		return nullptr;
	const chunk_json *found = nullptr;
	for (const chunk_json *k = object->child; k != nullptr; k = k->next)
		if (k->key[0] == key[0] && strcmp(k->key, key) == 0)
			found = k; /* the last of duplicates */
	return found;
}

extern "C" const char *
chunk_json_string(const struct chunk_json *v)
{
	return chunk_json_is_string(v) ? v->v.s : nullptr;
}

extern "C" size_t
chunk_json_string_length(const struct chunk_json *v)
{
	return chunk_json_is_string(v) ? v->n : 0;
}

extern "C" long long
chunk_json_integer(const struct chunk_json *v)
{
	return chunk_json_is_integer(v) ? v->v.i : 0;
}

extern "C" size_t
chunk_json_size(const struct chunk_json *v)
{
	return chunk_json_is_array(v) || chunk_json_is_object(v) ? v->n : 0;
}

extern "C" const struct chunk_json *
chunk_json_at(const struct chunk_json *array, size_t i)
{
	if (!chunk_json_is_array(array))
		return nullptr;
	const chunk_json *k = array->child;
	for (; k != nullptr && i > 0; i--)
		k = k->next;
	return k;
}

extern "C" const struct chunk_json *
chunk_json_first(const struct chunk_json *v)
{
	return chunk_json_is_array(v) || chunk_json_is_object(v) ? v->child : nullptr;
}

extern "C" const struct chunk_json *
chunk_json_next(const struct chunk_json *v)
{
	return v != nullptr ? v->next : nullptr;
}

extern "C" char *
chunk_json_dumps(const struct chunk_json *v)
{
	if (v == nullptr)
		return nullptr;
	/* a value inside a document: written alone, without its key */
	std::string s = simdjson::minify(v->el);
	return xstrdup(s.c_str());
}
