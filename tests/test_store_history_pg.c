/*
 * Store history on PostgreSQL: the tests of tests/test_store_history.c,
 * against a real server (tests/store_engine.h).
 */
#define STORE_TEST_POSTGRES 1
#include "tests/test_store_history.c"
