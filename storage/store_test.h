/*
 * store_test: hooks for the tests only; the product never includes this.
 *
 * The store's tests check what reached the database on either engine
 * through these, instead of opening the file with sqlite3 themselves.
 */
#ifndef ASSAY_STORE_TEST_H
#define ASSAY_STORE_TEST_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* Run sql (one statement, no parameters) and put its first row's first
 * column, as text ("NULL" for an SQL NULL), in out. 1 when there was a row,
 * 0 when none, -1 on an error (the engine's message in out). */
int store_test_scalar(struct store *s, const char *sql, char *out, size_t n);
/* Run sql (statements without rows). 0, or -1 with the message in err. */
int store_test_exec(struct store *s, const char *sql, char *err, size_t n);

/* 1 when s's next lag-tolerant read goes to its replica (database_read),
 * 0 when to the primary (or it has none). May check the replica first. */
int store_reads_from_replica(struct store *s);
/* The replica's timing (storage/replica.c) in ms, for tests that cannot
 * wait STORE_REPLICA_RETRY_MS. */
void store_replica_timing(struct store *s, int64_t check_ms, int64_t max_lag_ms, int64_t retry_ms);

#endif
