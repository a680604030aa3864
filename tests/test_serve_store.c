#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
/*
 * serve and a database it cannot always write: locked by another writer
 * past its busy timeout, or on a full disk, runs wait and are all written
 * once it lets go or there is room again; one it cannot write at start
 * stops it with the reason; killed (SIGKILL) just after the board showed
 * a run, the database holds every run shown, is sound, and the next serve
 * goes on from it. Nothing acknowledged (shown on the board) is lost.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

static const char *const need[] = {"honest-relay", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "serve-store", "fixtures/demo.yaml", need, "0.05");
}

static void
teardown(void)
{
	test_world_stop(&env);
}

/* The config in the test's folder; its database in db_dir. */
static void
write_config(char *cfg, char *db, const char *db_dir)
{
	snprintf(cfg, 300, "%s/assay.yaml", env.dir);
	snprintf(db, 300, "%s/assay.db", db_dir);
	cr_assert_eq(test_write_file(cfg,
	                             "title: store\nlisten: 127.0.0.1:0\ndatabase: %s\n"
	                             "interval: 1s\ntimeout: 20s\ntime_scale: 0.05\nrelays:\n"
	                             "  - name: honest-relay\n    base_url: %s\n"
	                             "    models: [gpt-4o]\n",
	                             db, fixture_url(&env.world, "honest-relay")),
	             0);
}

/* Runs stored, or -1 when the database cannot be read now. */
static long
stored_runs(const char *db)
{
	sqlite3 *h;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return -1;
	}
	sqlite3_busy_timeout(h, 2000);
	sqlite3_stmt *st;
	long n = -1;
	if (sqlite3_prepare_v2(h, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* 1 when the database passes PRAGMA integrity_check (read-only, so that
 * what a killed serve left is looked at as it is), else 0. */
static int
database_sound(const char *db, char *why, size_t n)
{
	sqlite3 *h;
	snprintf(why, n, "cannot open it");
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return 0;
	}
	sqlite3_busy_timeout(h, 2000);
	sqlite3_stmt *st;
	int ok = 0;
	if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		snprintf(why, n, "%s", r ? r : "(null)");
		ok = r != NULL && strcmp(r, "ok") == 0;
	} else {
		snprintf(why, n, "%s", sqlite3_errmsg(h));
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	return ok;
}

/* Runs the board has shown (every run scored), or -1. */
static long
shown_runs(const char *base)
{
	char url[400];
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	json_t *root = http_get_json(url);
	json_t *e = json_array_get(json_object_get(root, "relays"), 0);
	long n = e ? (long)json_integer_value(json_object_get(e, "runs")) : -1;
	json_decref(root);
	return n;
}

Test(serve_store, a_locked_database_delays_runs_and_loses_none, .init = setup, .fini = teardown,
     .timeout = 180)
{
	char cfg[300], db[300], base[300];
	write_config(cfg, db, env.dir);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	long long deadline = test_now_ms() + 60000;
	while (stored_runs(db) < 1 && test_now_ms() < deadline)
		usleep(100000);
	cr_assert_geq(stored_runs(db), 1, "no run stored");

	/* another writer holds the database past serve's 5 s busy timeout, while
	 * runs go on being scored and shown */
	sqlite3 *lock;
	cr_assert_eq(sqlite3_open(db, &lock), SQLITE_OK);
	sqlite3_busy_timeout(lock, 10000);
	cr_assert_eq(sqlite3_exec(lock, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	long at_lock = shown_runs(base);
	deadline = test_now_ms() + 60000;
	/* wait until the board has shown runs the lock kept from the disk */
	while (shown_runs(base) < at_lock + 3 && test_now_ms() < deadline)
		usleep(200000);
	cr_assert_geq(shown_runs(base), at_lock + 3, "serve stopped scoring under the lock");
	sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(lock);

	/* every run shown is written, in the end */
	deadline = test_now_ms() + 60000;
	long shown = -1, stored = -2;
	while (test_now_ms() < deadline) {
		shown = shown_runs(base);
		stored = stored_runs(db);
		if (shown > at_lock + 3 && stored >= shown)
			break;
		usleep(200000);
	}
	cr_expect_geq(stored, shown, "runs shown %ld, stored %ld: runs were lost", shown, stored);
	cr_expect_eq(child_stop(&serve, 10000), 0);
	/* and after the stop: each run shown is in the database */
	cr_expect_geq(stored_runs(db), shown);
}

Test(serve_store, a_database_it_cannot_write_stops_it_at_start, .init = setup, .fini = teardown,
     .timeout = 60)
{
	char cfg[300], db[300];
	write_config(cfg, db, env.dir);
	/* made, then held by another writer: serve cannot write it */
	sqlite3 *lock;
	cr_assert_eq(sqlite3_open(db, &lock), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(lock, "CREATE TABLE x(y); BEGIN EXCLUSIVE", NULL, NULL, NULL),
	             SQLITE_OK);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 30000, &out, &err);
	cr_expect_eq(rc, 2, "serve started on a database it cannot write: %s", err);
	/* the reason, whichever write found the lock first */
	cr_expect_not_null(strstr(err ? err : "", "database is locked"), "%s", err);
	free(out);
	free(err);
	sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(lock);
}

/* Poll until the board of base has shown at least want runs, at most
 * timeout_ms; the last count seen. */
static long
wait_shown(const char *base, long want, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	long n = shown_runs(base);
	while (n < want && test_now_ms() < deadline) {
		usleep(100000);
		n = shown_runs(base);
	}
	return n;
}

Test(serve_store, a_kill_9_loses_no_run_the_board_showed, .init = setup, .fini = teardown,
     .timeout = 240)
{
	char cfg[300], db[300], base[300];
	write_config(cfg, db, env.dir);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	long before = 0; /* runs stored when the last serve was killed */
	for (int round = 0; round < 3; round++) {
		struct child serve;
		cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0, "round %d", round);
		/* the restarted serve shows the runs the killed one stored */
		cr_expect_geq(shown_runs(base), before, "round %d: runs of the killed serve gone",
		              round);
		long shown = wait_shown(base, before + 2, 60000);
		cr_assert_geq(shown, before + 2, "round %d: no new runs shown", round);
		/* killed the moment a run is shown: a serve that showed before it
		 * wrote would lose that run now */
		long long deadline = test_now_ms() + 30000;
		long now = shown;
		while (now == shown && test_now_ms() < deadline) {
			usleep(10000);
			now = shown_runs(base);
		}
		cr_assert_gt(now, shown, "round %d: no run shown within 30 s", round);
		cr_assert_eq(kill(serve.pid, SIGKILL), 0);
		cr_assert_eq(child_wait(&serve, 10000), -1, "round %d: serve outlived SIGKILL",
		             round);
		long stored = stored_runs(db);
		cr_expect_geq(stored, now, "round %d: runs shown %ld, stored %ld after SIGKILL",
		              round, now, stored);
		char why[300];
		cr_expect(database_sound(db, why, sizeof why),
		          "round %d: integrity_check after SIGKILL: %s", round, why);
		before = stored;
	}
	/* and a serve stopped in order after all that adds runs as ever */
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	cr_expect_geq(wait_shown(base, before + 1, 60000), before + 1);
	cr_expect_eq(child_stop(&serve, 10000), 0);
	cr_expect_gt(stored_runs(db), before);
}

/*
 * A full disk, made of a small tmpfs mounted for this test alone (its own
 * mount namespace, private: nothing reaches the system's mounts, and the
 * mount is gone with the test's process). That takes CAP_SYS_ADMIN: without
 * it (not root, or a container that drops it) the test skips, saying so.
 */
static char full_dir[300];
static int full_mounted, full_torn_down;

static void
teardown_full(void)
{
	if (full_torn_down)
		return;
	full_torn_down = 1;
	if (full_mounted)
		umount2(full_dir, MNT_DETACH);
	full_mounted = 0;
	teardown();
}

/* Mount a tmpfs of size bytes at dir, seen only by this process and what
 * it starts from now on. 0, or -1 with the reason in why. */
static int
mount_small_fs(const char *dir, long size, char *why, size_t n)
{
	char opts[64];
	snprintf(opts, sizeof opts, "size=%ld,mode=0700", size);
	if (unshare(CLONE_NEWNS) != 0) {
		snprintf(why, n, "unshare(CLONE_NEWNS): %s", strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		snprintf(why, n, "making / private in the new namespace: %s", strerror(errno));
		return -1;
	}
	if (mount("assay-full", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
		snprintf(why, n, "mount -t tmpfs -o %s: %s", opts, strerror(errno));
		return -1;
	}
	return 0;
}

/* Fill the filesystem of path with a file path: 0 once a write says ENOSPC;
 * -1 (errno) on any other error. */
static int
fill_disk(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	static char block[65536];
	ssize_t w;
	while ((w = write(fd, block, sizeof block)) > 0)
		;
	int e = errno;
	close(fd);
	errno = e;
	return w < 0 && e == ENOSPC ? 0 : -1;
}

/* 1 when the file path holds text. */
static int
file_says(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	char line[1024];
	int found = 0;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

Test(serve_store, a_full_disk_delays_runs_says_why_and_loses_none, .init = setup,
     .fini = teardown_full, .timeout = 240)
{
	snprintf(full_dir, sizeof full_dir, "%s/full", env.dir);
	cr_assert_eq(mkdir(full_dir, 0700), 0);
	char why[300];
	if (mount_small_fs(full_dir, 16L << 20, why, sizeof why) != 0) {
		/* a skipped test's .fini is not run */
		teardown_full();
		cr_skip_test("a full disk is made of a small tmpfs, which needs CAP_SYS_ADMIN "
		             "(root): %s",
		             why);
	}
	full_mounted = 1;
	char cfg[300], db[300], base[300], log[300], filler[320];
	write_config(cfg, db, full_dir);
	/* the log is on the test's own disk, which has room */
	snprintf(log, sizeof log, "%s/serve.log", env.dir);
	snprintf(filler, sizeof filler, "%s/filler", full_dir);
	char *argv[] = {(char *)"/bin/sh",
	                (char *)"-c",
	                (char *)"exec \"$0\" serve -c \"$1\" 2>\"$2\"",
	                (char *)test_binary("assay"),
	                cfg,
	                log,
	                NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	long long deadline = test_now_ms() + 60000;
	while (stored_runs(db) < 1 && test_now_ms() < deadline)
		usleep(100000);
	cr_assert_geq(stored_runs(db), 1, "no run stored");

	cr_assert_eq(fill_disk(filler), 0, "cannot fill %s: %s", full_dir, strerror(errno));
	/* SQLite may still write into room its files already have: the disk
	 * is full for serve once it says so */
	deadline = test_now_ms() + 60000;
	while (!file_says(log, "database or disk is full") && test_now_ms() < deadline)
		usleep(100000);
	cr_assert(file_says(log, "database or disk is full"),
	          "serve did not say the disk is full within 60 s");
	/* runs go on being scored and shown, and wait */
	long at_full = shown_runs(base);
	long shown = wait_shown(base, at_full + 3, 60000);
	cr_assert_geq(shown, at_full + 3, "serve stopped scoring on a full disk");
	long stored = stored_runs(db);
	cr_expect_lt(stored, shown, "shown %ld, stored %ld: the disk was not full", shown, stored);

	/* room again: every run shown is written */
	cr_assert_eq(unlink(filler), 0);
	deadline = test_now_ms() + 90000;
	while (test_now_ms() < deadline) {
		shown = shown_runs(base);
		stored = stored_runs(db);
		if (stored >= shown && file_says(log, "database written again"))
			break;
		usleep(200000);
	}
	cr_expect_geq(stored, shown, "runs shown %ld, stored %ld: runs were lost", shown, stored);
	cr_expect(file_says(log, "database written again"), "serve never wrote the waiting runs");
	cr_expect_eq(child_stop(&serve, 10000), 0);
	cr_expect_geq(stored_runs(db), shown);
	cr_expect(!file_says(log, "LOST"), "serve lost runs on a full disk");
	cr_expect(database_sound(db, why, sizeof why), "integrity_check: %s", why);
}
