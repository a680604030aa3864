/*
 * store_engine: which engine a store test runs against.
 *
 * tests/test_store.c and its friends are written once; each has a twin,
 * tests/test_*_pg.c, that defines STORE_TEST_POSTGRES and includes it, so
 * the very same tests run against SQLite (a file in a scratch folder) and
 * against PostgreSQL (a fresh database in the binary's own cluster,
 * tests/pg_helpers.h). Included by the test file only.
 */
#ifndef ASSAY_TEST_STORE_ENGINE_H
#define ASSAY_TEST_STORE_ENGINE_H

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include "tests/helpers.h"

#ifdef STORE_TEST_POSTGRES
#include "tests/pg_helpers.h"
/* the binary's cluster: before the first test, after the last (in the
 * runner process; the tests find it through the environment) */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	test_pg_start();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	test_pg_stop();
}
#define STORE_TEST_ENGINE "postgres"
#else
#define STORE_TEST_ENGINE "sqlite"
#endif

/* 1 on the PostgreSQL twin. */
static inline int
store_test_postgres(void)
{
#ifdef STORE_TEST_POSTGRES
	return 1;
#else
	return 0;
#endif
}

/* The database of one test: dir (a scratch folder either way: some tests
 * put more files there) and in path the SQLite file dir/name, or the
 * address of a fresh PostgreSQL database. Asserts (Criterion); skips, with
 * the reason, only when PostgreSQL is not installed. */
static inline void
store_test_setup(char *dir, size_t dn, const char *tag, char *path, size_t pn, const char *name)
{
	test_tmpdir_file(dir, dn, tag, path, pn, name);
#ifdef STORE_TEST_POSTGRES
	if (!test_pg_available()) {
		if (test_pg_bindir() == NULL)
			cr_skip_test("%s", test_pg_skip_reason());
		cr_assert_fail("%s", test_pg_skip_reason());
	}
	cr_assert_eq(test_pg_database(tag, path, pn), 0, "cannot create a test database");
#endif
}

static inline void
store_test_teardown(const char *dir)
{
#ifdef STORE_TEST_POSTGRES
	test_pg_drop();
#endif
	cr_expect_eq(test_rmtree(dir), 0);
}

#endif
