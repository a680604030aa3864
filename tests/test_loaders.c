/*
 * The loaders' string entry points (config_load_string,
 * baseline_load_string), which the fuzz targets drive (tests/fuzz/): they
 * read a text as config_load and baseline_load read the same text from a
 * file, and name the text they were given in their errors.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/config.h"
#include "scoring/baseline.h"

static const char config_text[] = "title: Loaders\n"
                                  "interval: 90s\n"
                                  "relays:\n"
                                  "  - name: one\n"
                                  "    base_url: http://127.0.0.1:9/v1\n"
                                  "    models: [gpt-4o, gpt-4o-mini]\n"
                                  "  - name: two\n"
                                  "    base_url: http://127.0.0.1:9\n"
                                  "    api: anthropic\n"
                                  "    models: [claude-sonnet-4]\n";

static char *
write_temp(const char *text, size_t len)
{
	char *path = xstrdup("/tmp/assay-loaders-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *f = fdopen(fd, "w");
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	return path;
}

Test(loaders, config_string_reads_as_the_file)
{
	char err[512];
	char *path = write_temp(config_text, strlen(config_text));
	struct config *a = config_load(path, err, sizeof err);
	cr_assert_not_null(a, "%s", err);
	struct config *b =
	    config_load_string(config_text, strlen(config_text), path, err, sizeof err);
	cr_assert_not_null(b, "%s", err);
	cr_expect_str_eq(b->title, a->title);
	cr_expect_eq(b->interval_us, a->interval_us);
	cr_assert_eq(b->n_relays, a->n_relays);
	for (size_t i = 0; i < a->n_relays; i++)
		cr_expect_str_eq(b->relays[i].name, a->relays[i].name);
	config_free(a);
	config_free(b);
	unlink(path);
	free(path);
}

Test(loaders, config_string_errors_name_the_text)
{
	char err[512];
	static const char bad[] = "relays:\n  - name: one\n    intervall: 5m\n";
	struct config *c = config_load_string(bad, strlen(bad), "given.yaml", err, sizeof err);
	cr_assert_null(c);
	cr_expect(strstr(err, "given.yaml") != NULL, "%s", err);
	/* not NUL-terminated: only len bytes are read */
	c = config_load_string(config_text, 12, "cut.yaml", err, sizeof err);
	cr_assert_null(c);
	cr_expect(strstr(err, "cut.yaml") != NULL, "%s", err);
}

Test(loaders, pack_string_reads_as_the_file)
{
	char err[512];
	char *path = xasprintf("%s/scoring/baselines/bundled.json", ASSAY_SRCDIR);
	struct baseline_pack *a = baseline_load(path, err, sizeof err);
	cr_assert_not_null(a, "%s", err);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	static char text[1 << 20];
	size_t len = fread(text, 1, sizeof text, f);
	fclose(f);
	struct baseline_pack *b = baseline_load_string(text, len, path, err, sizeof err);
	cr_assert_not_null(b, "%s", err);
	cr_assert_eq(b->n, a->n);
	for (size_t i = 0; i < a->n; i++) {
		cr_expect_str_eq(b->models[i].name, a->models[i].name);
		cr_expect_eq(b->models[i].n_answers, a->models[i].n_answers);
	}
	baseline_free(a);
	baseline_free(b);
	free(path);
}

Test(loaders, pack_string_errors_name_the_text)
{
	char err[512];
	cr_assert_null(baseline_load_string("{\"models\": [", 12, "given.json", err, sizeof err));
	cr_expect(strncmp(err, "given.json:1:", 13) == 0, "%s", err);
	cr_assert_null(baseline_load_string("{\"models\": []}", 14, "given.json", err, sizeof err));
	cr_expect_str_eq(err, "given.json: not an Assay baseline pack");
}
