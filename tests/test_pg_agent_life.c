/*
 * A probe agent whose database hangs (cli/agent_writer.h): its server
 * process frozen with SIGSTOP, so the TCP connection stays up and libpq
 * waits without end, as behind a dropped route. The agent keeps auditing
 * and scoring, writes what waited once the database answers, and a stop
 * with the database still hung ends within its bound and says what it
 * could not write. Its own cluster: freezing a backend must not touch
 * another binary's tests. And an agent's own budget holds its runs back.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "base/util.h"
#include "storage/store.h"
#include "storage/store_test.h"
#include "tests/helpers.h"
#include "tests/pg_helpers.h"

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

static char url[512];
static struct store *hub;
static char role[64];
static pid_t frozen; /* a backend to wake at the teardown */

static void
setup(void)
{
	if (!test_pg_available()) {
		if (test_pg_bindir() == NULL)
			cr_skip_test("%s", test_pg_skip_reason());
		cr_assert_fail("%s", test_pg_skip_reason());
	}
	cr_assert_eq(test_pg_database("writer", url, sizeof url), 0);
	char err[512];
	hub = store_open(url, 0, err, sizeof err);
	cr_assert_not_null(hub, "%s", err);
	snprintf(role, sizeof role, "agent_w_%ld", (long)getpid());
	cr_assert_eq(store_add_agent(hub, role, "eu", err, sizeof err), 0, "%s", err);
}

static void
teardown(void)
{
	if (frozen > 0)
		kill(frozen, SIGCONT);
	store_close(hub);
	hub = NULL;
	char sql[256], err[512];
	snprintf(sql, sizeof sql, "DROP OWNED BY %s; DROP ROLE %s", role, role);
	test_pg_exec(url, sql, err, sizeof err);
	test_pg_drop();
}

static long
scalar(const char *sql)
{
	char got[64];
	if (store_test_scalar(hub, sql, got, sizeof got) != 1)
		return -1;
	return strtol(got, NULL, 10);
}

/* Stop pid and wait until the kernel says it is stopped: a process
 * signalled on another CPU runs on until it is interrupted. */
static int
freeze(pid_t pid)
{
	if (kill(pid, SIGSTOP) != 0)
		return -1;
	char path[64], stat[512];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	long long until = test_now_ms() + 10000;
	while (test_now_ms() < until) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
		if (f)
			fclose(f);
		stat[n] = '\0';
		const char *state = strrchr(stat, ')'); /* "pid (comm) STATE ..." */
		if (state != NULL && state[1] == ' ' && state[2] == 'T')
			return 0;
		usleep(10000);
	}
	return -1;
}

static long
runs_written(void)
{
	return scalar("SELECT count(*) FROM agent_runs WHERE region = 'eu'");
}

/* Lines of the agent's output until `want` more scored runs were said
 * (or timeout_ms): how many were. *lost is set when a line says LOST. */
static int
read_scored(struct child *c, int want, int timeout_ms, int *lost)
{
	int seen = 0;
	long long until = test_now_ms() + timeout_ms;
	char line[1024];
	while (seen < want && test_now_ms() < until) {
		if (child_read_line(c, line, sizeof line, (int)(until - test_now_ms())) != 0)
			break;
		if (strstr(line, "LOST") != NULL)
			*lost = 1;
		if (strncmp(line, "assay agent eu: honest-relay gpt-4o: ", 37) == 0)
			seen++;
	}
	return seen;
}

/* `assay agent --region eu` auditing w's honest relay every second as
 * the test's role, its relay entry ending with extra (YAML lines or ""),
 * its stderr (the verdicts, the writer's words) read as stdout. */
static void
write_config(struct test_world *w, const char *models, const char *extra)
{
	char as[512], cfg[300];
	test_pg_url_as(url, role, as, sizeof as);
	snprintf(cfg, sizeof cfg, "%s/eu.yaml", w->dir);
	cr_assert_eq(test_write_file(cfg,
	                             "database: '%s'\ninterval: 1s\ntimeout: 5s\n"
	                             "time_scale: 0.05\nrelays:\n"
	                             "  - name: honest-relay\n    base_url: %s\n"
	                             "    models: [%s]\n%s",
	                             as, fixture_url(&w->world, "honest-relay"), models, extra),
	             0);
}

static void
start_agent(struct test_world *w, struct child *agent, const char *extra)
{
	char cfg[300];
	write_config(w, "gpt-4o", extra);
	snprintf(cfg, sizeof cfg, "%s/eu.yaml", w->dir);
	char *argv[] = {(char *)"/bin/sh",
	                (char *)"-c",
	                (char *)"exec \"$0\" agent --region eu -c \"$1\" 2>&1",
	                (char *)test_binary("assay"),
	                cfg,
	                NULL};
	cr_assert_eq(child_start(agent, argv), 0);
}

Test(pg_agent, a_hung_database_holds_up_no_probe_and_loses_nothing_it_can_write, .init = setup,
     .fini = teardown, .timeout = 240)
{
	static const char *const need[] = {"honest-relay", NULL};
	struct test_world w;
	test_world_start(&w, "pg-writer", "fixtures/demo.yaml", need, "0.05");
	struct child agent;
	start_agent(&w, &agent, "");
	int lost = 0;
	cr_assert_geq(read_scored(&agent, 1, 60000, &lost), 1, "the agent scored no run");
	long long until = test_now_ms() + 30000;
	while (runs_written() < 1 && test_now_ms() < until)
		usleep(100000);
	cr_assert_geq(runs_written(), 1, "the agent wrote no run");

	/* the agent's one connection: its server process, frozen */
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT pid FROM pg_stat_activity WHERE usename = '%s' AND backend_type = "
	         "'client backend'",
	         role);
	long pid = scalar(sql);
	cr_assert_gt(pid, 0, "no backend of the agent's role");
	frozen = (pid_t)pid;
	cr_assert_eq(freeze(frozen), 0, "the backend did not stop");
	long before = runs_written();
	/* the probes go on: three more runs audited and scored while no write
	 * can end (the first of them blocks the writer) */
	cr_expect_eq(read_scored(&agent, 3, 90000, &lost), 3,
	             "the agent stopped auditing while its database hung");
	cr_expect_eq(runs_written(), before, "a write ended while the database was frozen");
	cr_assert_eq(kill(frozen, SIGCONT), 0);
	frozen = 0;
	/* what waited is written, in order, nothing dropped */
	until = test_now_ms() + 30000;
	while (runs_written() < before + 3 && test_now_ms() < until)
		usleep(100000);
	cr_expect_geq(runs_written(), before + 3, "the runs that waited were not written");
	cr_expect(!lost, "a run was lost with the queue far from full");

	/* hung again, with a run being written: the stop is bounded */
	frozen = (pid_t)pid;
	cr_assert_eq(freeze(frozen), 0, "the backend did not stop");
	cr_expect_geq(read_scored(&agent, 1, 60000, &lost), 1);
	long long t0 = test_now_ms();
	kill(agent.pid, SIGTERM);
	int said = 0;
	char line[1024];
	while (child_read_line(&agent, line, sizeof line, 30000) == 0)
		said |=
		    strstr(line, "LOST") != NULL && strstr(line, "did not answer within") != NULL;
	cr_expect_eq(child_wait(&agent, 5000), 0, "the agent did not exit by itself");
	long long took = test_now_ms() - t0;
	cr_expect(said, "the stop did not say what it could not write");
	cr_expect_lt(took, 25000, "the stop took %lld ms with the database hung", took);
	kill(frozen, SIGCONT);
	frozen = 0;
	test_world_stop(&w);
}

/* An agent's budget: what its probes may spend a day, counted by the agent
 * itself (it may not read its region's rows back). */
Test(pg_agent, an_agent_holds_its_runs_back_at_its_budget, .init = setup, .fini = teardown,
     .timeout = 180)
{
	static const char *const need[] = {"honest-relay", NULL};
	struct test_world w;
	test_world_start(&w, "pg-budget", "fixtures/demo.yaml", need, "0.05");
	/* a run may take 3,000 tokens: two go, the third waits for tomorrow */
	struct child agent;
	start_agent(&w, &agent, "    budget: {tokens_per_day: 6000}\n");
	int told_start = 0, held = 0;
	char line[1024];
	long long until = test_now_ms() + 90000;
	while (!held && test_now_ms() < until &&
	       child_read_line(&agent, line, sizeof line, (int)(until - test_now_ms())) == 0) {
		told_start |= strstr(line, "budgets count what this agent spends from now") != NULL;
		held = strstr(line, "honest-relay gpt-4o: held back: budget: relay honest-relay's "
		                    "6000 tokens a day are spent") != NULL;
	}
	cr_expect(told_start, "the agent did not say where its count starts");
	cr_expect(held, "the agent's budget held nothing back");
	cr_expect_eq(child_stop(&agent, 30000), 0);
	cr_expect_eq(runs_written(), 2, "runs past the budget were made");
	test_world_stop(&w);
}

/* Agent runs of model, per the hub. */
static long
runs_of(const char *model)
{
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM agent_runs WHERE model = '%s'", model);
	return scalar(sql);
}

/* Lines of the agent's output until one holds want (or timeout_ms): 0 when
 * one did. */
static int
read_until(struct child *c, const char *want, int timeout_ms, char *line, size_t n)
{
	long long until = test_now_ms() + timeout_ms;
	while (test_now_ms() < until)
		if (child_read_line(c, line, n, (int)(until - test_now_ms())) == 0 &&
		    strstr(line, want) != NULL)
			return 0;
	return -1;
}

/* SIGHUP reads the agent's file again, as serve's: a model added starts,
 * a file that does not load changes nothing and says where it is wrong.
 * (Its default was to end the agent, losing the runs that waited.) */
Test(pg_agent, sighup_reads_the_agents_file_again, .init = setup, .fini = teardown, .timeout = 180)
{
	static const char *const need[] = {"honest-relay", NULL};
	struct test_world w;
	test_world_start(&w, "pg-reload", "fixtures/demo.yaml", need, "0.05");
	struct child agent;
	start_agent(&w, &agent, "");
	char line[1024];
	cr_assert_eq(read_until(&agent, "honest-relay gpt-4o: ", 60000, line, sizeof line), 0,
	             "the agent scored no run");
	write_config(&w, "gpt-4o, gpt-4o-mini", "");
	kill(agent.pid, SIGHUP);
	cr_assert_eq(read_until(&agent, "reloaded", 30000, line, sizeof line), 0, "no reload said");
	/* the relay's entry changed: its gpt-4o starts again beside the new one */
	cr_expect(strstr(line, "0 relay-models kept, 1 added, 1 changed, 0 removed") != NULL, "%s",
	          line);
	cr_expect_eq(read_until(&agent, "honest-relay gpt-4o-mini: ", 60000, line, sizeof line), 0,
	             "the model added was not audited");
	long long until = test_now_ms() + 30000;
	while (runs_of("gpt-4o-mini") < 1 && test_now_ms() < until)
		usleep(100000);
	cr_expect_geq(runs_of("gpt-4o-mini"), 1, "the model added was not written");
	/* a broken file: refused where it is wrong, the agent audits on */
	char cfg[300];
	snprintf(cfg, sizeof cfg, "%s/eu.yaml", w.dir);
	cr_assert_eq(test_write_file(cfg, "interval: 1s\nrelays:\n  - name: [\n"), 0);
	kill(agent.pid, SIGHUP);
	cr_expect_eq(read_until(&agent, "reload refused, the running config stays", 30000, line,
	                        sizeof line),
	             0);
	cr_expect(strstr(line, "eu.yaml:") != NULL, "the refusal names no FILE:LINE: %s", line);
	cr_expect_eq(read_until(&agent, "honest-relay gpt-4o-mini: ", 60000, line, sizeof line), 0,
	             "the agent stopped auditing after a refused reload");
	cr_expect_eq(child_stop(&agent, 30000), 0);
	test_world_stop(&w);
}
