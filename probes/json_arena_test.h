/*
 * json_arena_test: the json arena's hook for tests/ and bench/ only; the
 * product never includes it (tests/test_hooks.c checks), but
 * probes/json_arena.c, which defines it.
 */
#ifndef ASSAY_JSON_ARENA_TEST_H
#define ASSAY_JSON_ARENA_TEST_H

#include "probes/json_arena.h"

/* Does p point into a's buffer? */
int json_arena_owns(const struct json_arena *a, const void *p);

#endif
