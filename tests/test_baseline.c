/*
 * Baselines: export writes a pack that loads again, record measures an
 * official endpoint into a pack, import installs it over the bundled one,
 * and a bad pack is refused with a clear message.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scoring/baseline.h"
#include "tests/helpers.h"

#define ASSAY (char *)test_binary("assay")

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/assay-baseline-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	setenv("ASSAY_BASELINE_DIR", dir, 1);
}

static void
teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

Test(baseline, export_round_trips, .init = setup, .fini = teardown)
{
	char path[128];
	snprintf(path, sizeof path, "%s/../export-%s.json", dir, strrchr(dir, '-') + 1);
	char *a[] = {ASSAY, (char *)"baseline", (char *)"export", path, NULL};
	char *out, *err;
	cr_assert_eq(run_capture(a, 20000, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	char e[256];
	struct baseline_pack *p = baseline_load(path, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	const struct baseline_model *m = baseline_find(p, "gpt-4o");
	cr_assert_not_null(m);
	cr_expect_str_eq(m->tokenizer, "o200k_base");
	cr_expect(baseline_supports(m, "logprobs"));
	cr_expect_gt(m->price_in, 0);
	baseline_free(p);
	remove(path);
}

Test(baseline, record_then_import_overrides_bundled, .init = setup, .fini = teardown,
     .timeout = 120)
{
	static const char *const need[] = {"official", NULL};
	static char *const fast[] = {(char *)"--time-scale", (char *)"0.05", NULL};
	struct fixture w;
	cr_assert_eq(fixture_start(&w, "fixtures/demo.yaml", need, fast), 0);
	char rec[128];
	snprintf(rec, sizeof rec, "%s.recorded.json", dir);
	char *a[] = {ASSAY,      (char *)"baseline", (char *)"record",    (char *)"--base-url",
	             (char *)fixture_url(&w, "official"), (char *)"--model", (char *)"qwen3-32b",
	             (char *)"--samples", (char *)"2",   (char *)"-o",      rec, NULL};
	char *out, *err;
	int rc = run_capture(a, 60000, &out, &err);
	fixture_stop(&w);
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_not_null(strstr(err, "token accounting exact"), "%s", err);
	free(out);
	free(err);
	char e[256];
	struct baseline_pack *p = baseline_load(rec, e, sizeof e);
	cr_assert_not_null(p, "%s", e);
	cr_assert_eq(p->n, 1);
	double r = baseline_answer_rate(&p->models[0], "cap-arithmetic");
	cr_expect(r > 0 && r < 1, "rate %g", r);
	baseline_free(p);

	char *b[] = {ASSAY, (char *)"baseline", (char *)"import", rec, NULL};
	cr_assert_eq(run_capture(b, 20000, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	struct baseline_pack *merged = baseline_load_default(e, sizeof e);
	cr_assert_not_null(merged, "%s", e);
	const struct baseline_model *m = baseline_find(merged, "qwen3-32b");
	cr_assert_not_null(m);
	cr_expect_geq(baseline_answer_rate(m, "ping"), 0, "the imported rates replace the bundled");
	baseline_free(merged);
	remove(rec);
}

Test(baseline, bad_pack_is_refused, .init = setup, .fini = teardown)
{
	char path[128];
	snprintf(path, sizeof path, "%s/../bad-%s.json", dir, strrchr(dir, '-') + 1);
	FILE *f = fopen(path, "w");
	fputs("{\"models\": [\n  {\"name\": 1}\n", f);
	fclose(f);
	char *a[] = {ASSAY, (char *)"baseline", (char *)"import", path, NULL};
	char *out, *err;
	cr_expect_eq(run_capture(a, 20000, &out, &err), 2);
	cr_expect_not_null(strstr(err, path), "%s", err);
	free(out);
	free(err);
	remove(path);
}
