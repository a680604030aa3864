/*
 * pg_helpers: a PostgreSQL cluster of the tests' own, so that the store's
 * tests run against a real server as they run against SQLite.
 *
 * One cluster per test binary: initdb in a fresh temporary folder, the
 * server listening on a unix socket in that folder only (no TCP port: no
 * collision with anything on the machine), trust authentication on that
 * socket (but SCRAM passwords for TEST_PG_PASSWORD_ROLE), fsync off. Started before the first test
 * (test_pg_start from a Criterion ReportHook(PRE_ALL), which runs in the runner process), stopped
 * and removed after the last (test_pg_stop from ReportHook(POST_ALL)); see
 * tests/store_engine.h. Its folder reaches the tests' processes through the
 * environment (ASSAY_TEST_PG_DIR). Each test takes a fresh database
 * (test_pg_database) and drops it at the end.
 *
 * initdb and the server refuse to run as root. As root (CI containers),
 * the folder is given to the unprivileged `postgres` user (the Debian
 * package's), else `nobody`, and initdb and pg_ctl run as that user
 * (runuser); root still connects through the socket, as the cluster's
 * superuser `postgres`.
 *
 * Every wait is bounded: pg_ctl -w -t 60 until the server accepts
 * connections, then PQping polled for at most 30 s. Only when the server
 * binaries are absent (no /usr/lib/postgresql/N/bin/initdb) do the tests
 * skip, saying so; `make deps` installs them (postgresql in DEB_PKGS).
 */
#ifndef ASSAY_TEST_PG_HELPERS_H
#define ASSAY_TEST_PG_HELPERS_H

#include <stddef.h>

/* The one role that must give a password (SCRAM) on the cluster's socket;
 * every other role is trusted. */
#define TEST_PG_PASSWORD_ROLE "assay_pw"

/* The server binaries' folder, or NULL when PostgreSQL is not installed. */
const char *test_pg_bindir(void);
/* Start the cluster (the runner process, once). 0, or -1 with the reason
 * on stderr (the tests then fail, saying the cluster did not start). */
int test_pg_start(void);
/* Stop the server (fast) and remove its folder. */
void test_pg_stop(void);
/* 1 when this binary's cluster runs; 0 when there is none (skip: say why
 * with test_pg_skip_reason()). */
int test_pg_available(void);
const char *test_pg_skip_reason(void);
/* A fresh empty database for one test, named after tag and the process:
 * its address (postgres:///NAME?host=DIR&user=postgres) in url. 0, or -1. */
int test_pg_database(const char *tag, char *url, size_t n);
/* Drop the database test_pg_database made in this process. */
void test_pg_drop(void);
/* Run sql as the cluster's superuser on the database of url (or on
 * `postgres` when url is NULL). 0, or -1 with the server's message in err. */
int test_pg_exec(const char *url, const char *sql, char *err, size_t errlen);
/* The address of url's database as role `user` (trust on the socket). */
void test_pg_url_as(const char *url, const char *user, char *out, size_t n);

/*
 * A streaming replica of the cluster, one per test process
 * (tests/test_pg_replica.c: tests that stop or pause it run side by side):
 * a copy taken with pg_basebackup -R from the running server, started as
 * a hot standby in DIR/replica-PID with its own socket there (port
 * TEST_PG_REPLICA_PORT), waited for with pg_ctl -w and pg_isready
 * (bounded, 60 s and 30 s). Its roles and passwords are the primary's (a
 * physical copy). test_pg_stop_replica stops it and removes its folder.
 * 0, or -1 with the reason and its log on stderr.
 */
#define TEST_PG_REPLICA_PORT 5433
int test_pg_start_replica(void);
void test_pg_stop_replica(void);
/* "stop" (immediate: as a crash) or "start" the replica again. 0, or -1. */
int test_pg_replica_ctl(const char *action);
/* The address of url's database on the replica, as role user. */
void test_pg_replica_url(const char *url, const char *user, char *out, size_t n);
/* Wait (at most timeout_ms) until the replica has replayed the primary's
 * log as it is now. 0, or -1 on the timeout or an error. */
int test_pg_wait_replayed(const char *url, int timeout_ms);

#endif
