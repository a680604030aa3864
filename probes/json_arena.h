/*
 * json_arena: a bump allocator for jansson, one thread at a time.
 *
 * Parsing one SSE chunk with jansson makes dozens of small allocations that
 * all die at json_decref(). Between json_arena_begin() and json_arena_end()
 * the calling thread's jansson allocations come from the arena's buffer
 * (falling back to malloc() when a block does not fit); freeing an arena
 * block is a no-op, and json_arena_end() forgets them all at once.
 *
 * jansson's allocator hooks are process-wide: json_arena_begin() installs
 * them once. They behave exactly as malloc()/free() on any thread without an
 * active arena, so other threads using jansson (web, scoring) are unaffected,
 * and memory allocated before the hooks were installed is freed correctly.
 *
 * Contract: every jansson value made while an arena is active must be freed
 * (json_decref) before json_arena_end(); strings wanted longer are copied.
 */
#ifndef ASSAY_JSON_ARENA_H
#define ASSAY_JSON_ARENA_H

#include <stddef.h>

struct json_arena {
	unsigned char *mem; /* borrowed: the caller owns it, 16-byte aligned */
	size_t size;
	size_t used;
	size_t fallbacks; /* allocations that did not fit and went to malloc */
	size_t peak;      /* most bytes used at once */
};

/* An arena over mem (size bytes, 16-byte aligned), which the caller keeps. */
void json_arena_init(struct json_arena *a, void *mem, size_t size);
/* From now until json_arena_end(), this thread's jansson allocations come
 * from a. Arenas do not nest: begin while one is active is a bug (fatal). */
void json_arena_begin(struct json_arena *a);
/* Stop using a on this thread and reset it (its blocks are all dead). */
void json_arena_end(struct json_arena *a);

#endif
