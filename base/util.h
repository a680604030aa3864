/*
 * util: the few helpers every module shares.
 *
 * Out of memory is fatal here, in one place, so callers do not check every
 * allocation (as tmux's xmalloc.c). Buffers that hold network data carry a hard
 * cap: appending past it fails and leaves the buffer as it was.
 */
#ifndef ASSAY_UTIL_H
#define ASSAY_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define WARN_UNUSED __attribute__((warn_unused_result))
#define PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define WARN_UNUSED
#define PRINTFLIKE(f, a)
#endif

/* Allocation: abort the process with a message when memory runs out. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTFLIKE(1, 2);

/* Print "assay: message" on stderr and exit with status. Start-up only. */
void fatal(int status, const char *fmt, ...) PRINTFLIKE(2, 3);

/* Clocks: monotonic microseconds for durations, wall seconds for stamps. */
int64_t now_us(void);
int64_t wall_ms(void);
/*
 * A simulated wall clock (`assay serve --clock-scale/--clock-start`, for
 * time-scaled simulations such as bench/serve_sim.c): from this call on,
 * wall_ms() is start_ms (< 0: the real time now) plus the real time since
 * this call times scale. Call it at most once, before any thread starts:
 * it is read without a lock. Never called, wall_ms() is the system's
 * clock, as it always was. now_us() (durations, timers) is never moved.
 */
void wall_clock_simulate(int64_t start_ms, double scale);
/* CPU time this process has used, user and system, in microseconds. */
int64_t cpu_us(void);

/* A growable byte buffer with a hard cap; always NUL-terminated. */
struct buf {
	char *data;
	size_t len;
	size_t size;
	size_t cap; /* 0: no cap (only for data we produce ourselves) */
};
void buf_init(struct buf *b, size_t cap);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Append n bytes; -1 and nothing appended when that would pass the cap. */
int buf_add(struct buf *b, const void *p, size_t n) WARN_UNUSED;
/* Append for our own output (uncapped buffers): cannot fail. */
void buf_puts(struct buf *b, const char *s);
void buf_putf(struct buf *b, const char *fmt, ...) PRINTFLIKE(2, 3);
/* Hand the data over to the caller (who frees it); the buffer is emptied. */
char *buf_take(struct buf *b, size_t *len);

/*
 * Data files (catalog, baselines, vocabularies, worlds) by their path in the
 * source tree, e.g. "probes/catalog/basic.yaml". Looked for under
 * $ASSAY_DATA_DIR, then <exe>/../share/assay (installed), then the source tree.
 * Returns a newly allocated path to an existing file, or NULL.
 */
char *data_path(const char *relative);

/* Read a whole file (at most cap bytes); NULL with errno set on failure. */
char *read_file(const char *path, size_t cap, size_t *len);

/* Does hay contain needle, ignoring ASCII case? (strcasestr is not
 * POSIX.) */
int str_contains_nocase(const char *hay, const char *needle);

/* The index of name among the n names (a NULL entry matches nothing), or
 * -1; a NULL name is -1. For the *_from_name() of a table of names. */
int name_index(const char *const *names, size_t n, const char *name);
/* The same for a NULL-terminated list of names. */
int name_list_index(const char *const *list, const char *name);

/* splitmix64: advance *state and return its next 64 bits. Small, seedable
 * and fast: for simulations, permutations, waits and choices, never for
 * secrets (getrandom() gives those). */
uint64_t splitmix64(uint64_t *state);

/* Is s valid UTF-8? Relay text is stored and rendered only after this check. */
int utf8_valid(const char *s, size_t n);
/* Copy of at most max bytes of s, cut at a character boundary, invalid
 * sequences replaced by U+FFFD. The caller frees it. */
char *utf8_sanitize(const char *s, size_t n, size_t max);

#endif
