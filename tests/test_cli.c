/*
 * CLI bad input: each mistake gets one clear line, exit 2, nothing started.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers.h"

static int
run(char *const argv[], char **out, char **err)
{
	return run_capture(argv, 20000, out, err);
}

#define ASSAY (char *)test_binary("assay")

static int
count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(cli, no_arguments_and_unknown_command)
{
	char *out, *err;
	char *a1[] = {ASSAY, NULL};
	cr_expect_eq(run(a1, &out, &err), 2);
	free(out);
	free(err);
	char *a2[] = {ASSAY, (char *)"frobnicate", NULL};
	cr_expect_eq(run(a2, &out, &err), 2);
	cr_expect_not_null(strstr(err, "unknown command 'frobnicate'"), "%s", err);
	free(out);
	free(err);
}

/* argv (after "assay") is refused: exit 2, words on stderr, in one line
 * when one_line. */
static void
expect_refused(char *const argv[], const char *words, int one_line)
{
	char cmd[256] = "assay";
	for (size_t i = 1; argv[i] != NULL; i++)
		snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", argv[i]);
	char *out, *err;
	cr_expect_eq(run(argv, &out, &err), 2, "%s: accepted", cmd);
	if (one_line)
		cr_expect_eq(count_lines(err), 1, "%s: %s", cmd, err);
	if (words != NULL)
		cr_expect_not_null(strstr(err, words), "%s: want '%s' in: %s", cmd, words, err);
	free(out);
	free(err);
}

Test(cli, audit_bad_arguments)
{
	static const struct {
		const char *flag, *url, *model, *words;
		int one_line;
	} cases[] = {
	    {"--bogus", NULL, NULL, "--bogus", 1},
	    {"--base-url", "ftp://x/v1", "gpt-4o", "http://", 1},
	    {"--base-url", "not a url", "gpt-4o", "URL", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *a[] = {ASSAY,
		             (char *)"audit",
		             (char *)cases[i].flag,
		             (char *)cases[i].url,
		             (char *)"--model",
		             (char *)cases[i].model,
		             NULL};
		if (cases[i].url == NULL)
			a[3] = NULL;
		expect_refused(a, cases[i].words, cases[i].one_line);
	}
}

Test(cli, audit_numbers_are_whole_and_finite)
{
	/* NaN passed a "<= 0 || > 3600" check once and ran with no deadline */
	static const char *const bad[][2] = {
	    {"--timeout", "nan"},    {"--timeout", "3x"},    {"--timeout", "0"},
	    {"--timeout", "-5"},     {"--timeout", "99999"}, {"--time-scale", "inf"},
	    {"--time-scale", "nan"}, {"--time-scale", "0"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *a[] = {ASSAY,
		             (char *)"audit",
		             (char *)"--base-url",
		             (char *)"http://127.0.0.1:1/v1",
		             (char *)"--model",
		             (char *)"gpt-4o",
		             (char *)bad[i][0],
		             (char *)bad[i][1],
		             NULL};
		expect_refused(a, bad[i][0], 1);
	}
	char *rec[] = {ASSAY,
	               (char *)"baseline",
	               (char *)"record",
	               (char *)"--base-url",
	               (char *)"http://127.0.0.1:1/v1",
	               (char *)"--model",
	               (char *)"gpt-4o",
	               (char *)"--samples",
	               (char *)"3x",
	               NULL};
	expect_refused(rec, "--samples", 0);
}

Test(cli, audit_missing_key_variable)
{
	char *a[] = {ASSAY,
	             (char *)"audit",
	             (char *)"--base-url",
	             (char *)"http://127.0.0.1:1/v1",
	             (char *)"--model",
	             (char *)"gpt-4o",
	             (char *)"--key-env",
	             (char *)"ASSAY_TEST_SURELY_UNSET_VAR",
	             NULL};
	unsetenv("ASSAY_TEST_SURELY_UNSET_VAR");
	expect_refused(a, "ASSAY_TEST_SURELY_UNSET_VAR", 0);
}

/* Write text to a fresh config file in a fresh directory; returns its dir. */
static void
write_config(char *dir, size_t n, const char *text)
{
	char path[300];
	test_tmpdir_file(dir, n, "cli", path, sizeof path, "c.yaml");
	cr_assert_eq(test_write_file(path, "%s", text), 0, "cannot write %s", path);
}

/* serve with a bad config: exit 2, "c.yaml:LINE:" in one line, no database. */
static void
expect_config_error(const char *text, int line, const char *words)
{
	char dir[64], cfg[300], db[300], want[64];
	write_config(dir, sizeof dir, text);
	snprintf(cfg, sizeof cfg, "%s/c.yaml", dir);
	snprintf(db, sizeof db, "%s/never.db", dir);
	char *out, *err;
	char *a[] = {ASSAY, (char *)"serve", (char *)"-c", cfg, (char *)"--db", db, NULL};
	cr_expect_eq(run(a, &out, &err), 2, "config:\n%s", text);
	cr_expect_eq(count_lines(err), 1, "%s", err);
	snprintf(want, sizeof want, "c.yaml:%d: ", line);
	cr_expect_not_null(strstr(err, want), "want '%s' in: %s", want, err);
	cr_expect_not_null(strstr(err, words), "want '%s' in: %s", words, err);
	cr_expect_neq(access(db, F_OK), 0, "a database was created for a bad config");
	free(out);
	free(err);
	cr_expect_eq(test_rmtree(dir), 0);
}

Test(cli, serve_config_errors_name_file_and_line)
{
	expect_config_error("relays:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n"
	                    "    intervall: 5m\n    models: [gpt-4o]\n",
	                    4, "unknown key 'intervall'");
	expect_config_error("relays:\n  - name: a\n    base_url: htp:/oops\n    models: [gpt-4o]\n",
	                    3, "URL");
	expect_config_error("relays:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n"
	                    "    models:\n      - gpt-4o\n      - [gpt-17-ultra]\n",
	                    6, "string");
	expect_config_error("interval: soon\nrelays:\n  - name: a\n", 1, "duration");
	expect_config_error("relays: [\n", 2, "invalid YAML");
	expect_config_error(
	    "relays:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n"
	    "    models: [gpt-4o]\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n"
	    "    models: [gpt-4o]\n",
	    5, "duplicate relay name 'a'");
	expect_config_error("relays:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n"
	                    "    key_env: ASSAY_TEST_SURELY_UNSET_VAR\n    models: [gpt-4o]\n",
	                    4, "ASSAY_TEST_SURELY_UNSET_VAR");
}

Test(cli, serve_unreadable_config_and_unknown_flag)
{
	char *a[] = {ASSAY, (char *)"serve", (char *)"-c", (char *)"/nonexistent/assay.yaml", NULL};
	expect_refused(a, "/nonexistent/assay.yaml", 1);
	char *b[] = {ASSAY, (char *)"serve", (char *)"--frob", NULL};
	expect_refused(b, NULL, 1);
}
