/*
 * Terminal habits of `assay audit` (issue 18): on a terminal, progress on
 * stderr while the audit runs (requests done of planned, what is running)
 * and a coloured verdict; NO_COLOR and --no-color turn colour off; piped,
 * nothing but the report and no escape sequence at all.
 *
 * The terminal is a real pseudo-terminal (forkpty), so isatty() answers
 * as it does for a user; the audits run against the demo world's official
 * endpoint.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

static const char *const need[] = {"official", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "terminal", "fixtures/demo.yaml", need, "0.05");
}

static void
teardown(void)
{
	cr_expect_eq(test_world_stop(&env), 0, "the fixture did not stop cleanly on SIGTERM");
}

/* Run an audit of the official endpoint on a pseudo-terminal (stdout and
 * stderr both), with NO_COLOR set to no_color (NULL: unset) and extra as
 * one more argument (or NULL): everything it wrote, within 60 s. */
static char *
audit_on_tty(const char *no_color, const char *extra)
{
	char url[300];
	snprintf(url, sizeof url, "%s", fixture_url(&env.world, "official"));
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert_neq(pid, -1, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		if (no_color != NULL)
			setenv("NO_COLOR", no_color, 1);
		else
			unsetenv("NO_COLOR");
		setenv("TERM", "xterm", 1);
		char *argv[] = {(char *)test_binary("assay"),
		                (char *)"audit",
		                (char *)"--base-url",
		                url,
		                (char *)"--model",
		                (char *)"gpt-4o",
		                (char *)"--time-scale",
		                (char *)"0.05",
		                (char *)extra,
		                NULL};
		execv(argv[0], argv);
		_exit(127);
	}
	struct buf out;
	buf_init(&out, 1 << 20);
	int64_t deadline = now_us() + 60 * 1000000LL;
	for (;;) {
		int64_t left = (deadline - now_us()) / 1000;
		if (left <= 0)
			break;
		struct pollfd p = {master, POLLIN, 0};
		if (poll(&p, 1, (int)left) <= 0)
			break;
		char chunk[4096];
		ssize_t n = read(master, chunk, sizeof chunk);
		if (n <= 0) /* EIO once the child has closed the terminal */
			break;
		if (buf_add(&out, chunk, (size_t)n) != 0)
			break;
	}
	close(master);
	/* the terminal closes as the child exits: reap it, within the bound */
	int status = 0;
	pid_t got;
	while ((got = waitpid(pid, &status, WNOHANG)) == 0 && now_us() < deadline)
		usleep(10000);
	if (got == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		cr_assert_fail("the audit did not end within 60 s:\n%s", out.data ? out.data : "");
	}
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) != 2, "exit %d:\n%s", status,
	          out.data ? out.data : "");
	char *s = xstrndup(out.data ? out.data : "", out.len);
	buf_release(&out);
	return s;
}

Test(terminal, progress_and_colour_on_a_tty, .init = setup, .fini = teardown, .timeout = 120)
{
	char *s = audit_on_tty(NULL, NULL);
	/* progress: done of planned, rewritten in place, wiped before the report */
	cr_expect(strstr(s, "requests done") != NULL && strstr(s, " of ") != NULL,
	          "no progress line:\n%s", s);
	cr_expect(strstr(s, "\r\033[K") != NULL, "the progress line is not rewritten in place");
	const char *v = strstr(s, "verdict: \033[1;");
	cr_expect(v != NULL, "the verdict is not coloured:\n%s", s);
	if (v != NULL)
		cr_expect(strstr(v, "\033[0m") != NULL, "the colour is not reset");
	free(s);
}

Test(terminal, no_color_and_flag_turn_colour_off, .init = setup, .fini = teardown, .timeout = 180)
{
	const char *how[][2] = {{"1", NULL}, {NULL, "--no-color"}};
	for (size_t i = 0; i < 2; i++) {
		char *s = audit_on_tty(how[i][0], how[i][1]);
		const char *v = strstr(s, "verdict: ");
		cr_expect(v != NULL, "no verdict:\n%s", s);
		if (v != NULL)
			cr_expect(v[strlen("verdict: ")] != '\033', "%s: the verdict is coloured",
			          how[i][0] ? "NO_COLOR=1" : "--no-color");
		/* progress stays: it is not colour */
		cr_expect(strstr(s, "requests done") != NULL, "no progress line:\n%s", s);
		free(s);
	}
	/* NO_COLOR set but empty is not set (no-color.org) */
	char *s = audit_on_tty("", NULL);
	cr_expect(strstr(s, "verdict: \033[1;") != NULL, "NO_COLOR= (empty) turned colour off");
	free(s);
}

Test(terminal, piped_is_plain, .init = setup, .fini = teardown, .timeout = 120)
{
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"audit",
	                (char *)"--base-url",
	                (char *)fixture_url(&env.world, "official"),
	                (char *)"--model",
	                (char *)"gpt-4o",
	                (char *)"--time-scale",
	                (char *)"0.05",
	                NULL};
	unsetenv("NO_COLOR");
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 60000, &out, &err);
	cr_expect_neq(rc, 2, "%s", err);
	cr_expect(out != NULL && strstr(out, "verdict: ") != NULL, "%s", out);
	cr_expect(out != NULL && strchr(out, '\033') == NULL, "an escape in piped stdout:\n%s",
	          out);
	cr_expect(err != NULL && strchr(err, '\033') == NULL &&
	              strstr(err, "requests done") == NULL,
	          "progress or an escape in piped stderr:\n%s", err);
	free(out);
	free(err);
}
