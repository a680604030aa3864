/*
 * The detector table and the class table held to the catalog: the bundled
 * catalog passes; a probe no detector reads, a detector's probe the catalog
 * lacks and an unknown class each stop start-up with a FILE:LINE message.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "probes/catalog.h"
#include "scoring/classes.h"
#include "scoring/detect.h"

/* The bundled catalog's text with an edit: `drop` (a probe id whose block
 * is left out) and `append` (YAML added at the end). Written to a
 * temporary file whose path is returned (the caller unlinks and frees). */
static char *
edited_catalog(const char *drop, const char *append)
{
	char *src = data_path("probes/catalog/core.yaml");
	cr_assert_not_null(src);
	size_t len;
	char *text = read_file(src, 1 << 20, &len);
	cr_assert_not_null(text);
	free(src);
	if (drop != NULL) {
		char *key = xasprintf("  - id: %s\n", drop);
		char *at = strstr(text, key);
		cr_assert_not_null(at, "no probe %s", drop);
		char *next = strstr(at + strlen(key), "\n  - id: ");
		char *comment = strstr(at + strlen(key), "\n  #");
		if (comment != NULL && (next == NULL || comment < next))
			next = comment;
		if (next == NULL)
			*at = '\0';
		else
			memmove(at, next + 1, strlen(next + 1) + 1);
		free(key);
	}
	char *path = xstrdup("/tmp/assay-catalog-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	if (append != NULL)
		fputs(append, f);
	fclose(f);
	free(text);
	return path;
}

static int
check(const char *path, char *err, size_t errlen)
{
	struct catalog *c = catalog_load(path, err, errlen);
	cr_assert_not_null(c, "%s", err);
	int rc = scorer_check_catalog(c, path, err, errlen);
	catalog_free(c);
	return rc;
}

Test(detector_table, the_bundled_catalog_and_the_table_agree)
{
	char err[512];
	struct catalog *c = scorer_catalog_default(err, sizeof err);
	cr_assert_not_null(c, "%s", err);
	catalog_free(c);
}

/* The catalog with the probe added refused: why in the error, which
 * starts FILE:LINE: (the probe's line). */
static void
expect_refused_at_its_line(const char *added, const char *why)
{
	char err[512];
	char *path = edited_catalog(NULL, added);
	cr_expect_eq(check(path, err, sizeof err), -1, "accepted:\n%s", added);
	cr_expect(strstr(err, why) != NULL, "want '%s' in: %s", why, err);
	size_t n = strlen(path);
	cr_expect(strncmp(err, path, n) == 0 && err[n] == ':' && err[n + 1] >= '1' &&
	              err[n + 1] <= '9',
	          "FILE:LINE: %s", err);
	unlink(path);
	free(path);
}

Test(detector_table, a_probe_no_detector_reads_is_an_error)
{
	expect_refused_at_its_line("  - id: mystery\n"
	                           "    informs: [substitution]\n"
	                           "    messages:\n"
	                           "      - user: \"{nonce} hello\"\n",
	                           "probe 'mystery' is read by no detector");
}

Test(detector_table, a_probe_a_detector_needs_missing_from_the_catalog_is_an_error)
{
	char err[512];
	char *path = edited_catalog("stop-seq", NULL);
	cr_expect_eq(check(path, err, sizeof err), -1);
	cr_expect(strstr(err, "reads probe 'stop-seq', which the catalog lacks") != NULL, "%s",
	          err);
	unlink(path);
	free(path);
}

Test(detector_table, an_unknown_class_names_its_line)
{
	expect_refused_at_its_line("  - id: stop-seq-2\n"
	                           "    informs: [subsitution]\n"
	                           "    messages:\n"
	                           "      - user: \"{nonce} hello\"\n",
	                           "unknown finding class 'subsitution'");
}

Test(detector_table, every_class_has_its_row)
{
	int cheats = 0;
	for (int c = 0; c < CLASS__COUNT; c++) {
		const struct class_info *ci = class_info((enum finding_class)c);
		cr_assert_not_null(ci->name, "class %d has no row", c);
		cr_expect_eq(class_from_name(ci->name), c);
		cr_expect(ci->label != NULL && ci->what != NULL, "%s", ci->name);
		cr_expect(ci->cheat ? ci->budget > 0 : ci->budget == 0, "%s", ci->name);
		cheats += ci->cheat;
	}
	cr_expect_eq(class_cheat_count(), cheats);
	cr_expect_eq(class_from_name("no_such_class"), -1);
	cr_expect_str_eq(class_name(CLASS__COUNT), "unknown");
}
