/*
 * `make install` (issue 18): the binaries, data, the man pages assay(1) and
 * assay.yaml(5) and the systemd unit land under DESTDIR; the pages render
 * without a groff warning and name every option the commands' --help
 * names; the unit passes systemd-analyze verify (its sandboxing options
 * included) with the built binary in its ExecStart.
 */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

static char dest[256];

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s is not there", path);
	struct buf b;
	buf_init(&b, 0);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
		chunk[n] = '\0';
		buf_puts(&b, chunk);
	}
	fclose(f);
	return buf_take(&b, NULL);
}

static void
setup(void)
{
	cr_assert_eq(test_tmpdir(dest, sizeof dest, "install"), 0);
	char destdir[300], build[300];
	snprintf(destdir, sizeof destdir, "DESTDIR=%s", dest);
	snprintf(build, sizeof build, "BUILD=%s", test_build_dir());
	char *argv[] = {(char *)"/usr/bin/make",
	                (char *)"-s",
	                (char *)"install",
	                destdir,
	                (char *)"PREFIX=/usr/local",
	                build,
	                NULL};
	/* a make of its own, not a job of the make that runs the tests */
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 300000, &out, &err);
	cr_assert_eq(rc, 0, "make install failed:\n%s\n%s", out, err);
	free(out);
	free(err);
}

static void
teardown(void)
{
	test_rmtree(dest);
}

static const char *const installed[] = {"usr/local/bin/assay",
                                        "usr/local/bin/assay-fixture",
                                        "usr/local/share/man/man1/assay.1",
                                        "usr/local/share/man/man5/assay.yaml.5",
                                        "usr/local/lib/systemd/system/assay.service",
                                        "usr/local/share/assay/fixtures/demo.yaml",
                                        NULL};

Test(install, files_land_under_destdir, .init = setup, .fini = teardown, .timeout = 320)
{
	for (size_t i = 0; installed[i] != NULL; i++) {
		char p[600];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", dest, installed[i]);
		cr_expect_eq(stat(p, &st), 0, "%s was not installed", installed[i]);
	}
	char p[600];
	snprintf(p, sizeof p, "%s/usr/local/lib/systemd/system/assay.service", dest);
	char *unit = slurp(p);
	cr_expect(strstr(unit, "ExecStart=/usr/local/bin/assay serve -c /etc/assay/assay.yaml") !=
	              NULL,
	          "%s", unit);
	cr_expect(strstr(unit, "@BINDIR@") == NULL);
	free(unit);
}

/* Every --option in text appears in page as roff writes it (\-\-option). */
static void
every_option_documented(const char *cmd, const char *text, const char *page)
{
	regex_t re;
	cr_assert_eq(regcomp(&re, "--[a-z][a-z-]*", REG_EXTENDED), 0);
	regmatch_t m;
	for (const char *s = text; regexec(&re, s, 1, &m, 0) == 0; s += m.rm_eo) {
		char opt[64], roff[160];
		int n = (int)(m.rm_eo - m.rm_so);
		snprintf(opt, sizeof opt, "%.*s", n, s + m.rm_so);
		/* roff: each '-' as \- */
		size_t k = 0;
		for (const char *c = opt; *c && k + 3 < sizeof roff; c++) {
			if (*c == '-')
				roff[k++] = '\\';
			roff[k++] = *c;
		}
		roff[k] = '\0';
		cr_expect(strstr(page, roff) != NULL, "assay %s --help names %s, assay(1) does not",
		          cmd, opt);
	}
	regfree(&re);
}

Test(install, man_pages_render_and_name_every_option, .init = setup, .fini = teardown,
     .timeout = 320)
{
	char p1[600], p5[600];
	snprintf(p1, sizeof p1, "%s/usr/local/share/man/man1/assay.1", dest);
	snprintf(p5, sizeof p5, "%s/usr/local/share/man/man5/assay.yaml.5", dest);
	cr_assert_eq(access("/usr/bin/groff", X_OK), 0,
	             "groff is not installed (the deps step installs groff-base)");
	const char *pages[] = {p1, p5};
	for (int i = 0; i < 2; i++) {
		char *argv[] = {(char *)"/usr/bin/groff",
		                (char *)"-man",
		                (char *)"-ww",
		                (char *)"-z",
		                (char *)pages[i],
		                NULL};
		char *out = NULL, *err = NULL;
		cr_expect_eq(run_capture(argv, 30000, &out, &err), 0);
		cr_expect(err == NULL || err[0] == '\0', "groff warns about %s:\n%s", pages[i],
		          err);
		free(out);
		free(err);
	}
	char *page = slurp(p1);
	const char *cmds[] = {"audit", "serve", "export", "baseline", "tokens"};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char *argv[] = {(char *)test_binary("assay"), (char *)cmds[i], (char *)"--help",
		                NULL};
		char *out = NULL, *err = NULL;
		run_capture(argv, 30000, &out, &err);
		cr_assert_not_null(out);
		every_option_documented(cmds[i], out, page);
		free(out);
		free(err);
	}
	free(page);
}

Test(install, the_unit_passes_systemd_analyze, .init = setup, .fini = teardown, .timeout = 320)
{
	cr_assert_eq(access("/usr/bin/systemd-analyze", X_OK), 0,
	             "systemd-analyze is not installed (the deps step installs systemd)");
	/* verify runs man for the unit's Documentation= pages */
	cr_assert_eq(access("/usr/bin/man", X_OK), 0,
	             "man is not installed (the deps step installs man-db)");
	char in[600], out_path[600], manpath[600], bin[600];
	snprintf(in, sizeof in, "%s/usr/local/lib/systemd/system/assay.service", dest);
	snprintf(out_path, sizeof out_path, "%s/assay.service", dest);
	snprintf(manpath, sizeof manpath, "%s/usr/local/share/man", dest);
	/* the unit as installed, run from the built binary */
	char *unit = slurp(in);
	char *at = strstr(unit, "/usr/local/bin/assay");
	cr_assert_not_null(at);
	snprintf(bin, sizeof bin, "%s/%s", ASSAY_SRCDIR, test_binary("assay"));
	if (test_binary("assay")[0] == '/')
		snprintf(bin, sizeof bin, "%s", test_binary("assay"));
	cr_assert_eq(test_write_file(out_path, "%.*s%s%s", (int)(at - unit), unit, bin,
	                             at + strlen("/usr/local/bin/assay")),
	             0);
	free(unit);
	setenv("MANPATH", manpath, 1);
	char *argv[] = {(char *)"/usr/bin/systemd-analyze", (char *)"verify", out_path, NULL};
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 60000, &out, &err);
	cr_expect_eq(rc, 0, "systemd-analyze verify: %s%s", out ? out : "", err ? err : "");
	cr_expect(err == NULL || err[0] == '\0', "systemd-analyze verify says:\n%s", err);
	free(out);
	free(err);
}
