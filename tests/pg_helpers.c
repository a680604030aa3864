/*
 * pg_helpers: the tests' own PostgreSQL cluster (see tests/pg_helpers.h).
 *
 * Commands run with fork/exec and an argument vector (no shell); as root,
 * through `runuser -u USER --`. Their output goes to DIR/log, printed when
 * something fails.
 */
#include "tests/pg_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG_DIR_ENV "ASSAY_TEST_PG_DIR"

static char bindir[256];
static char created_db[64];

const char *
test_pg_bindir(void)
{
	if (bindir[0] != '\0')
		return bindir;
	glob_t g;
	/* the newest installed major version: glob sorts, and 15 < 16 */
	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0 && g.gl_pathc > 0) {
		snprintf(bindir, sizeof bindir, "%s", g.gl_pathv[g.gl_pathc - 1]);
		char *slash = strrchr(bindir, '/');
		*slash = '\0';
	}
	globfree(&g);
	return bindir[0] ? bindir : NULL;
}

/* The unprivileged user the server runs as when we are root. */
static const struct passwd *
server_user(void)
{
	if (geteuid() != 0)
		return NULL;
	const struct passwd *pw = getpwnam("postgres");
	return pw ? pw : getpwnam("nobody");
}

/* Run argv (as the server user when root), output appended to log; the
 * exit status, or -1. */
static int
run(char *const argv[], const char *log)
{
	const struct passwd *pw = server_user();
	char *full[24];
	int n = 0;
	if (pw != NULL) {
		full[n++] = (char *)"runuser";
		full[n++] = (char *)"-u";
		full[n++] = pw->pw_name;
		full[n++] = (char *)"--";
	}
	for (int i = 0; argv[i] != NULL && n < 23; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		execvp(full[0], full);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
print_log(const char *dir)
{
	char path[512], line[512];
	snprintf(path, sizeof path, "%s/log", dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		fprintf(stderr, "  postgres: %s", line);
	fclose(f);
}

static void
conninfo(const char *db, const char *user, char *out, size_t n)
{
	snprintf(out, n, "postgres:///%s?host=%s&user=%s", db, getenv(PG_DIR_ENV), user);
}

int
test_pg_start(void)
{
	const char *bin = test_pg_bindir();
	if (bin == NULL)
		return 0; /* the tests skip, and say why */
	char tmpl[] = "/tmp/assay-pg-XXXXXX";
	if (mkdtemp(tmpl) == NULL) {
		perror("assay tests: mkdtemp");
		return -1;
	}
	static char dir[64];
	snprintf(dir, sizeof dir, "%s", tmpl);
	const struct passwd *pw = server_user();
	if (pw != NULL && chown(dir, pw->pw_uid, pw->pw_gid) != 0) {
		perror("assay tests: chown the cluster's folder");
		return -1;
	}
	char data[128], log[128], initdb[320], pg_ctl[320], opts[256];
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(log, sizeof log, "%s/log", dir);
	snprintf(initdb, sizeof initdb, "%s/initdb", bin);
	snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", bin);
	/* the log is opened by us (root) before the exec: make it the
	 * server user's so pg_ctl's own -l can append too */
	int fd = open(log, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0) {
		if (pw != NULL && fchown(fd, pw->pw_uid, pw->pw_gid) != 0)
			perror("assay tests: chown the log");
		close(fd);
	}
	char *init_argv[] = {initdb,
	                     (char *)"-D",
	                     data,
	                     (char *)"-U",
	                     (char *)"postgres",
	                     (char *)"-A",
	                     (char *)"trust",
	                     (char *)"-E",
	                     (char *)"UTF8",
	                     (char *)"--no-locale",
	                     (char *)"--no-sync",
	                     NULL};
	if (run(init_argv, log) != 0) {
		fprintf(stderr, "assay tests: initdb failed\n");
		print_log(dir);
		return -1;
	}
	/* trust on the socket, but a password (SCRAM) for TEST_PG_PASSWORD_ROLE,
	 * so that the password path is tested against the real check */
	char hba[160];
	snprintf(hba, sizeof hba, "%s/pg_hba.conf", data);
	FILE *f = fopen(hba, "w");
	if (f == NULL ||
	    fprintf(f,
	            "local all %s scram-sha-256\nlocal all all trust\n"
	            "local replication all trust\n",
	            TEST_PG_PASSWORD_ROLE) < 0 ||
	    fclose(f) != 0) {
		perror("assay tests: write pg_hba.conf");
		return -1;
	}
	if (pw != NULL && chown(hba, pw->pw_uid, pw->pw_gid) != 0)
		perror("assay tests: chown pg_hba.conf");
	snprintf(opts, sizeof opts,
	         "-k %s -c listen_addresses= -p 5432 -F -c max_connections=40"
	         " -c shared_buffers=16MB",
	         dir);
	char *start_argv[] = {
	    pg_ctl,       (char *)"-D", data,         (char *)"-o",    opts, (char *)"-l", log,
	    (char *)"-w", (char *)"-t", (char *)"60", (char *)"start", NULL};
	if (run(start_argv, log) != 0) {
		fprintf(stderr, "assay tests: pg_ctl start failed\n");
		print_log(dir);
		return -1;
	}
	setenv(PG_DIR_ENV, dir, 1);
	/* pg_ctl -w said it accepts connections; check it does, bounded */
	char url[512];
	conninfo("postgres", "postgres", url, sizeof url);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (PQping(url) == PQPING_OK)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 30) {
			fprintf(stderr, "assay tests: the cluster in %s does not answer\n", dir);
			print_log(dir);
			return -1;
		}
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

void
test_pg_stop(void)
{
	const char *dir = getenv(PG_DIR_ENV);
	const char *bin = test_pg_bindir();
	if (dir == NULL || bin == NULL)
		return;
	char data[128], log[128], pg_ctl[320];
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(log, sizeof log, "%s/log", dir);
	snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", bin);
	char *stop_argv[] = {pg_ctl,         (char *)"-D", data,         (char *)"-m",
	                     (char *)"fast", (char *)"-w", (char *)"-t", (char *)"60",
	                     (char *)"stop", NULL};
	if (run(stop_argv, log) != 0) {
		fprintf(stderr, "assay tests: pg_ctl stop failed\n");
		print_log(dir);
	}
	char *rm_argv[] = {(char *)"rm", (char *)"-rf", (char *)dir, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execvp("rm", rm_argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	unsetenv(PG_DIR_ENV);
}

int
test_pg_available(void)
{
	return getenv(PG_DIR_ENV) != NULL;
}

const char *
test_pg_skip_reason(void)
{
	if (test_pg_bindir() == NULL)
		return "PostgreSQL's server binaries are not installed (no "
		       "/usr/lib/postgresql/*/bin/initdb; `make deps` installs postgresql)";
	return "the test cluster did not start (see its log above)";
}

static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int
test_pg_exec(const char *url, const char *sql, char *err, size_t errlen)
{
	char admin[512];
	if (url == NULL) {
		conninfo("postgres", "postgres", admin, sizeof admin);
		url = admin;
	}
	PGconn *c = PQconnectdb(url);
	int rc = -1;
	PQsetNoticeProcessor(c, quiet, NULL);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
	} else {
		PGresult *r = PQexec(c, sql);
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			rc = 0;
		else
			snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		PQclear(r);
	}
	PQfinish(c);
	return rc;
}

int
test_pg_database(const char *tag, char *url, size_t n)
{
	if (!test_pg_available())
		return -1;
	snprintf(created_db, sizeof created_db, "t_%s_%ld", tag, (long)getpid());
	char sql[160], err[512];
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", created_db);
	if (test_pg_exec(NULL, sql, err, sizeof err) != 0) {
		fprintf(stderr, "assay tests: %s: %s", sql, err);
		created_db[0] = '\0';
		return -1;
	}
	conninfo(created_db, "postgres", url, n);
	return 0;
}

void
test_pg_drop(void)
{
	if (created_db[0] == '\0')
		return;
	char sql[160], err[512];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", created_db);
	if (test_pg_exec(NULL, sql, err, sizeof err) != 0)
		fprintf(stderr, "assay tests: %s: %s", sql, err);
	created_db[0] = '\0';
}

void
test_pg_url_as(const char *url, const char *user, char *out, size_t n)
{
	/* url is conninfo()'s: postgres:///DB?host=DIR&user=postgres */
	const char *db = url + strlen("postgres:///");
	size_t len = strcspn(db, "?");
	char name[64];
	snprintf(name, sizeof name, "%.*s", (int)len, db);
	conninfo(name, user, out, n);
}

/* The replica of this process (test_pg_start_replica): DIR/replica-PID,
 * its socket there. */
static int
replica_paths(char *rdir, size_t rn, char *data, size_t dn, char *log, size_t ln)
{
	const char *dir = getenv(PG_DIR_ENV);
	if (dir == NULL)
		return -1;
	snprintf(rdir, rn, "%s/replica-%ld", dir, (long)getpid());
	snprintf(data, dn, "%s/data", rdir);
	snprintf(log, ln, "%s/log", rdir);
	return 0;
}

/* The replication slot of this process's replica. */
static void
replica_slot(char *out, size_t n)
{
	snprintf(out, n, "assay_replica_%ld", (long)getpid());
}

int
test_pg_replica_ctl(const char *action)
{
	char rdir[128], data[160], log[160], pg_ctl[320], opts[320];
	if (replica_paths(rdir, sizeof rdir, data, sizeof data, log, sizeof log) != 0)
		return -1;
	snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", test_pg_bindir());
	snprintf(opts, sizeof opts,
	         "-k %s -c listen_addresses= -p %d -F -c max_connections=40"
	         " -c shared_buffers=16MB -c hot_standby=on",
	         rdir, TEST_PG_REPLICA_PORT);
	int rc;
	if (strcmp(action, "start") == 0) {
		char *argv[] = {
		    pg_ctl,          (char *)"-D", data,         (char *)"-o", opts,
		    (char *)"-l",    log,          (char *)"-w", (char *)"-t", (char *)"60",
		    (char *)"start", NULL};
		rc = run(argv, log);
	} else {
		/* immediate: the replica goes away as a crash or a cut cable would */
		char *argv[] = {
		    pg_ctl,       (char *)"-D", data,         (char *)"-m",   (char *)"immediate",
		    (char *)"-w", (char *)"-t", (char *)"60", (char *)"stop", NULL};
		rc = run(argv, log);
	}
	if (rc != 0) {
		fprintf(stderr, "assay tests: pg_ctl %s of the replica failed\n", action);
		print_log(rdir);
		return -1;
	}
	if (strcmp(action, "start") != 0)
		return 0;
	/* pg_ctl -w waited for it to accept (read-only) connections; check
	 * with pg_isready too, bounded */
	char isready[320], port[16];
	snprintf(isready, sizeof isready, "%s/pg_isready", test_pg_bindir());
	snprintf(port, sizeof port, "%d", TEST_PG_REPLICA_PORT);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char *argv[] = {isready,      (char *)"-q", (char *)"-h", rdir,
		                (char *)"-p", port,         NULL};
		if (run(argv, log) == 0)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 30) {
			fprintf(stderr, "assay tests: the replica in %s does not answer\n", rdir);
			print_log(rdir);
			return -1;
		}
		struct timespec pause = {0, 50 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

int
test_pg_start_replica(void)
{
	char rdir[128], data[160], log[160], basebackup[320];
	if (!test_pg_available() ||
	    replica_paths(rdir, sizeof rdir, data, sizeof data, log, sizeof log) != 0)
		return -1;
	const struct passwd *pw = server_user();
	if (mkdir(rdir, 0700) != 0 || (pw != NULL && chown(rdir, pw->pw_uid, pw->pw_gid) != 0)) {
		perror("assay tests: the replica's folder");
		return -1;
	}
	int fd = open(log, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0) {
		if (pw != NULL && fchown(fd, pw->pw_uid, pw->pw_gid) != 0)
			perror("assay tests: chown the replica's log");
		close(fd);
	}
	/* a copy of the running primary that streams from it (-R writes
	 * primary_conninfo and standby.signal), the log streamed alongside,
	 * through a replication slot of its own (-S): the primary keeps the
	 * log until this replica has it, however long a test pauses it, while
	 * the other tests' databases come and go (each CREATE DATABASE writes
	 * megabytes of log and checkpoints) */
	char slot[64], sql[160], err[512];
	replica_slot(slot, sizeof slot);
	/* the slot first, reserving the log from now on: the backup starts
	 * after, so nothing it needs can be recycled by another test's
	 * checkpoint in between (with pg_basebackup -C it could) */
	snprintf(sql, sizeof sql, "SELECT pg_create_physical_replication_slot('%s', true)", slot);
	if (test_pg_exec(NULL, sql, err, sizeof err) != 0) {
		fprintf(stderr, "assay tests: %s: %s", sql, err);
		return -1;
	}
	snprintf(basebackup, sizeof basebackup, "%s/pg_basebackup", test_pg_bindir());
	char *argv[] = {basebackup,
	                (char *)"-D",
	                data,
	                (char *)"-h",
	                (char *)getenv(PG_DIR_ENV),
	                (char *)"-p",
	                (char *)"5432",
	                (char *)"-U",
	                (char *)"postgres",
	                (char *)"-R",
	                (char *)"-S",
	                slot,
	                (char *)"-X",
	                (char *)"stream",
	                (char *)"-c",
	                (char *)"fast",
	                (char *)"--no-sync",
	                NULL};
	if (run(argv, log) != 0) {
		fprintf(stderr, "assay tests: pg_basebackup failed\n");
		print_log(rdir);
		return -1;
	}
	return test_pg_replica_ctl("start");
}

void
test_pg_stop_replica(void)
{
	char rdir[128], data[160], log[160];
	struct stat sb;
	if (replica_paths(rdir, sizeof rdir, data, sizeof data, log, sizeof log) != 0 ||
	    stat(data, &sb) != 0)
		return;
	char pid[200];
	snprintf(pid, sizeof pid, "%s/postmaster.pid", data);
	if (stat(pid, &sb) == 0)
		test_pg_replica_ctl("stop");
	char *rm_argv[] = {(char *)"rm", (char *)"-rf", rdir, NULL};
	run(rm_argv, "/dev/null");
	char slot[64], sql[160], err[512];
	replica_slot(slot, sizeof slot);
	snprintf(sql, sizeof sql, "SELECT pg_drop_replication_slot('%s')", slot);
	/* its sender may take a moment to see the replica gone: bounded */
	for (int i = 0; test_pg_exec(NULL, sql, err, sizeof err) != 0; i++) {
		if (i == 100) {
			fprintf(stderr, "assay tests: %s: %s", sql, err);
			break;
		}
		struct timespec pause = {0, 50 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

void
test_pg_replica_url(const char *url, const char *user, char *out, size_t n)
{
	char rdir[128], data[160], log[160];
	replica_paths(rdir, sizeof rdir, data, sizeof data, log, sizeof log);
	const char *db = url + strlen("postgres:///");
	size_t len = strcspn(db, "?");
	snprintf(out, n, "postgres:///%.*s?host=%s&port=%d&user=%s", (int)len, db, rdir,
	         TEST_PG_REPLICA_PORT, user);
}

/* The text of sql's first column on url's server, or "" (the message in
 * out). */
static int
query_text(const char *url, const char *sql, char *out, size_t n)
{
	PGconn *c = PQconnectdb(url);
	int rc = -1;
	out[0] = '\0';
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
			snprintf(out, n, "%s", PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
			rc = 0;
		}
		PQclear(r);
	}
	PQfinish(c);
	return rc;
}

int
test_pg_wait_replayed(const char *url, int timeout_ms)
{
	char primary[512], replica[512], lsn[64], sql[160], yes[16];
	test_pg_url_as(url, "postgres", primary, sizeof primary);
	test_pg_replica_url(url, "postgres", replica, sizeof replica);
	if (query_text(primary, "SELECT pg_current_wal_lsn()", lsn, sizeof lsn) != 0)
		return -1;
	snprintf(sql, sizeof sql, "SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn", lsn);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (query_text(replica, sql, yes, sizeof yes) == 0 && strcmp(yes, "t") == 0)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >
		    timeout_ms)
			return -1;
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}
