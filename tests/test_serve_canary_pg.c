/*
 * serve's credential canaries on PostgreSQL: the tests of
 * tests/test_serve_canary.c, against a real server (tests/store_engine.h).
 */
#define STORE_TEST_POSTGRES 1
#include "tests/test_serve_canary.c"
