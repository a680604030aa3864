/*
 * Test and bench hooks stay out of the product (STYLE.md: a separate
 * *_test.h the product never includes). Over every .c and .h of the tree
 * but tests/ and bench/:
 *
 *   - no file includes a *_test.h, except the one that defines what the
 *     header declares (listed in definers[]), which includes it so that the
 *     compiler checks the definition against the declaration;
 *   - the headers of the engine's parts (probes/pacing.h, arrival.h,
 *     redact.h) are included by the engine's files only: the rest of the
 *     tree uses probes/engine.h;
 *   - no file names the two test hooks of struct engine_options
 *     (precise_base, bench_discard_bodies) but the engine's own.
 *
 * The scan is checked first on a small tree made to break each rule.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/* Product files that define a hook, and the *_test.h declaring it. */
static const struct {
	const char *file, *header;
} definers[] = {
    {"probes/engine.c", "probes/engine_test.h"},
    {"probes/arrival.c", "probes/engine_test.h"},
    {"probes/json_arena.c", "probes/json_arena_test.h"},
    {"web/site.c", "web/board_test.h"},
    {"web/board.c", "web/board_test.h"},
    {"scoring/ledger.c", "scoring/ledger_test.h"},
    {"storage/store_test.c", "storage/store_test.h"},
    {"storage/replica.c", "storage/store_test.h"},
};

/* The engine's parts: only they include one another's headers. */
static const char *const engine_files[] = {"probes/engine.c", "probes/pacing.c", "probes/arrival.c",
                                           "probes/redact.c"};
static const char *const part_headers[] = {"probes/pacing.h", "probes/arrival.h",
                                           "probes/redact.h"};

/* Where the engine_options hooks may be named: their declaration, their
 * description, the one reader. */
static const char *const option_hook_files[] = {"probes/engine.h", "probes/engine_test.h",
                                                "probes/engine.c"};
static const char *const option_hooks[] = {"precise_base", "bench_discard_bodies"};

#define N(a) (sizeof(a) / sizeof(a)[0])
#define FILE_CAP (4u << 20)

static int
listed(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static int
defines(const char *file, const char *header)
{
	for (size_t i = 0; i < N(definers); i++)
		if (strcmp(definers[i].file, file) == 0 && strcmp(definers[i].header, header) == 0)
			return 1;
	return 0;
}

/* The quoted header line includes ("dir/name.h" without quotes, in out),
 * or 0 when line is no #include "...". */
static int
quoted_include(const char *line, char *out, size_t n)
{
	const char *p = line + strspn(line, " \t");
	if (*p++ != '#')
		return 0;
	p += strspn(p, " \t");
	if (strncmp(p, "include", 7) != 0)
		return 0;
	p += 7;
	p += strspn(p, " \t");
	if (*p++ != '"')
		return 0;
	size_t len = strcspn(p, "\"\n");
	if (p[len] != '"' || len + 1 > n)
		return 0;
	memcpy(out, p, len);
	out[len] = '\0';
	return 1;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && strcmp(s + a - b, tail) == 0;
}

/* Check one file (rel: its path from the top of the tree); each breach is
 * a line "rel:line: why" in report. */
static void
check_file(const char *root, const char *rel, struct buf *report)
{
	char *path = xasprintf("%s/%s", root, rel);
	size_t len;
	char *text = read_file(path, FILE_CAP, &len);
	free(path);
	cr_assert_not_null(text, "cannot read %s", rel);
	int lineno = 1;
	for (char *line = text; *line != '\0'; lineno++) {
		char *end = strchr(line, '\n');
		if (end != NULL)
			*end = '\0';
		char header[256];
		if (quoted_include(line, header, sizeof header)) {
			if (ends_with(header, "_test.h") && !defines(rel, header))
				buf_putf(report, "%s:%d: includes the hooks header %s\n", rel,
				         lineno, header);
			if (listed(header, part_headers, N(part_headers)) &&
			    !listed(rel, engine_files, N(engine_files)))
				buf_putf(report, "%s:%d: includes the engine's own %s\n", rel,
				         lineno, header);
		}
		for (size_t i = 0; i < N(option_hooks); i++)
			if (strstr(line, option_hooks[i]) != NULL &&
			    !listed(rel, option_hook_files, N(option_hook_files)))
				buf_putf(report, "%s:%d: names the engine's test hook %s\n", rel,
				         lineno, option_hooks[i]);
		if (end == NULL)
			break;
		line = end + 1;
	}
	free(text);
}

/* Every .c and .h below root/rel (rel "" for the top), but tests/, bench/,
 * build trees, hidden folders and node_modules. */
static void
scan(const char *root, const char *rel, struct buf *report)
{
	char *dir = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "cannot list %s", dir);
	struct dirent *ent;
	while ((ent = readdir(d)) != NULL) {
		const char *name = ent->d_name;
		if (name[0] == '.' || strcmp(name, "node_modules") == 0)
			continue;
		if (rel[0] == '\0' && (strcmp(name, "tests") == 0 || strcmp(name, "bench") == 0 ||
		                       strncmp(name, "build", 5) == 0))
			continue;
		char *sub = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
		char *full = xasprintf("%s/%s", dir, name);
		struct stat st;
		if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode))
			scan(root, sub, report);
		else if (S_ISREG(st.st_mode) && (ends_with(name, ".c") || ends_with(name, ".h")))
			check_file(root, sub, report);
		free(full);
		free(sub);
	}
	closedir(d);
	free(dir);
}

static void
put(const char *root, const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", root, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0700);
	*slash = '/';
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
	free(path);
}

Test(hooks, the_scan_finds_each_breach)
{
	char root[] = "/tmp/assay-hooks-XXXXXX";
	cr_assert_not_null(mkdtemp(root));
	/* breaches */
	put(root, "cli/a.c", "#include \"probes/engine_test.h\"\n");
	put(root, "web/b.h", "#  include \"web/board_test.h\" /* no */\n");
	put(root, "scoring/c.c", "#include \"probes/pacing.h\"\n");
	put(root, "cli/d.c", "struct engine_options eo = {.precise_base = 1};\n");
	/* allowed */
	put(root, "probes/arrival.c", "#include \"probes/engine_test.h\"\n");
	put(root, "probes/engine.c", "#include \"probes/redact.h\"\n");
	put(root, "tests/test_x.c", "#include \"probes/engine_test.h\"\n");
	put(root, "bench/x.c", "#include \"probes/json_arena_test.h\"\n.precise_base = 1\n");
	put(root, "cli/e.c", "#include \"probes/engine.h\"\n#include <engine_test.h>\n");
	struct buf report;
	buf_init(&report, 0);
	buf_puts(&report, "");
	scan(root, "", &report);
	static const char *const allowed[] = {"probes/arrival.c", "probes/engine.c", "tests/",
	                                      "bench/", "cli/e.c"};
	for (size_t i = 0; i < N(allowed); i++)
		cr_expect_null(strstr(report.data, allowed[i]), "%s: %s", allowed[i], report.data);
	cr_expect_not_null(strstr(report.data, "cli/a.c:1: includes the hooks header"));
	cr_expect_not_null(strstr(report.data, "web/b.h:1: includes the hooks header"));
	cr_expect_not_null(strstr(report.data, "scoring/c.c:1: includes the engine's own"));
	cr_expect_not_null(strstr(report.data, "cli/d.c:1: names the engine's test hook"));
	buf_release(&report);
	char *rm = xasprintf("rm -rf '%s'", root);
	cr_expect_eq(system(rm), 0);
	free(rm);
}

Test(hooks, the_product_includes_no_hooks)
{
	struct buf report;
	buf_init(&report, 0);
	buf_puts(&report, "");
	scan(ASSAY_SRCDIR, "", &report);
	cr_expect_eq(report.len, 0, "hooks reach the product:\n%s", report.data);
	buf_release(&report);
}
