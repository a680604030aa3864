/*
 * json_arena: jansson's allocator hooks with a per-thread bump arena.
 *
 * The hooks read one thread-local pointer: with no active arena they are
 * malloc() and free(). An arena block is never passed to free(): free() of
 * a pointer inside the calling thread's active arena does nothing. A block
 * that does not fit goes to malloc() and later to free() as usual, so a
 * chunk bigger than the arena still parses, only without the saving.
 */
#include "probes/json_arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/util.h"
#include "probes/json_arena_test.h" /* defines json_arena_owns */

#define ARENA_ALIGN 16

static _Thread_local struct json_arena *active;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void *
arena_malloc(size_t n)
{
	struct json_arena *a = active;
	if (a != NULL) {
		size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
		if (need >= n && need <= a->size - a->used) {
			void *p = a->mem + a->used;
			a->used += need;
			if (a->used > a->peak)
				a->peak = a->used;
			return p;
		}
		a->fallbacks++;
	}
	return malloc(n);
}

static int
arena_holds(const struct json_arena *a, const void *p)
{
	uintptr_t u = (uintptr_t)p, m = (uintptr_t)a->mem;
	return u >= m && u - m < a->size;
}

static void
arena_free(void *p)
{
	struct json_arena *a = active;
	if (a != NULL && arena_holds(a, p))
		return; /* dies with the arena */
	free(p);
}

/* The hooks may replace malloc/free while other threads use jansson: a
 * block from either pair is freed correctly by the other (see above). */
static void
install_hooks(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

void
json_arena_init(struct json_arena *a, void *mem, size_t size)
{
	if (((uintptr_t)mem & (ARENA_ALIGN - 1)) != 0)
		fatal(70, "json arena buffer is not aligned");
	a->mem = mem;
	a->size = size;
	a->used = 0;
	a->fallbacks = 0;
	a->peak = 0;
}

void
json_arena_begin(struct json_arena *a)
{
	pthread_once(&hooks_once, install_hooks);
	if (active != NULL)
		fatal(70, "json arenas do not nest");
	a->used = 0;
	active = a;
}

void
json_arena_end(struct json_arena *a)
{
	if (active == a)
		active = NULL;
	a->used = 0;
}

int
json_arena_owns(const struct json_arena *a, const void *p)
{
	return arena_holds(a, p);
}
