/*
 * yamltree: a YAML document read with libyaml into a small tree whose every
 * node remembers its line, so that config readers can say "file:line: ...".
 *
 * Only what configuration needs: mappings, sequences and scalars; anchors and
 * aliases are refused. The tree owns all its strings; ytree_free() frees it.
 */
#ifndef ASSAY_YAMLTREE_H
#define ASSAY_YAMLTREE_H

#include <stddef.h>
#include <stdint.h>

enum ynode_kind { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

struct ynode {
	enum ynode_kind kind;
	int line;             /* 1-based line in the source */
	char *scalar;         /* YNODE_SCALAR: the text */
	int quoted;           /* scalar was quoted: never a null/bool/number */
	size_t n;             /* children (MAP: n pairs in keys/values) */
	char **keys;          /* MAP only */
	int *key_lines;       /* MAP only */
	struct ynode **items; /* MAP: values; SEQ: items */
};

/* Parse a file (cap: 4 MiB). NULL on failure, with "FILE:LINE: reason" in err. */
struct ynode *ytree_load_file(const char *path, char *err, size_t errlen);
/* Parse a string; name is used in messages. */
struct ynode *ytree_load_string(const char *text, size_t len, const char *name, char *err,
                                size_t errlen);
void ytree_free(struct ynode *n);

/* Lookup in a map: the value for key, or NULL. */
struct ynode *ytree_get(const struct ynode *map, const char *key);

/*
 * Typed readers. Each returns 0, or -1 with "FILE:LINE: message" in err.
 * name is the file name used in messages.
 */
int ytree_as_string(const struct ynode *n, const char *name, const char **out, char *err,
                    size_t errlen);
int ytree_as_long(const struct ynode *n, const char *name, long min, long max, long *out, char *err,
                  size_t errlen);
int ytree_as_double(const struct ynode *n, const char *name, double min, double max, double *out,
                    char *err, size_t errlen);
int ytree_as_bool(const struct ynode *n, const char *name, int *out, char *err, size_t errlen);
/* A duration: "250ms", "30s", "5m", "2h", "1d" or a bare number of seconds. Microseconds. */
int ytree_as_duration(const struct ynode *n, const char *name, long long *us, char *err,
                      size_t errlen);
/*
 * Check that every key of map is one of the NULL-terminated allowed list;
 * the first stranger is named with its line.
 */
int ytree_check_keys(const struct ynode *map, const char *name, const char *const *allowed,
                     char *err, size_t errlen);
/*
 * The string at key in map, one of the NULL-terminated names: 1 with its
 * index in *out; 0 when map has no key (*out untouched); -1 when it is
 * none of them, with "name:line: WHAT is a, b or c, not 'x'" in err.
 */
int ytree_get_choice(const struct ynode *map, const char *key, const char *what,
                     const char *const *names, const char *name, int *out, char *err,
                     size_t errlen);
/* The string at key in map, copied into *out (its old value freed); 0,
 * also when map has no key (*out untouched), or -1 with why in err. */
int ytree_take_string(const struct ynode *map, const char *key, const char *name, char **out,
                      char *err, size_t errlen);
/* A digest of n's content (kinds, keys, scalars; not line numbers),
 * folded into h: two trees that say the same have the same digest.
 * h: 14695981039346656037 (FNV-1a's basis) to start. */
uint64_t ytree_digest(const struct ynode *n, uint64_t h);
/* The same for a string (NULL folds in a marker of its own). */
uint64_t ytree_digest_str(const char *s, uint64_t h);
/* Format "name:line: message" into err; always returns -1. */
int ytree_error(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
