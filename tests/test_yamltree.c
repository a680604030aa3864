/*
 * YAML tree: structure, line numbers, typed readers and refusals.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/yamltree.h"

static struct ynode *
load(const char *s, char *err)
{
	return ytree_load_string(s, strlen(s), "t.yaml", err, 256);
}

Test(yamltree, maps_sequences_and_lines)
{
	char err[256] = "";
	struct ynode *r = load("# c\na: 1\nb:\n  - x\n  - 'y'\nc: {d: 2s}\n", err);
	cr_assert_not_null(r, "%s", err);
	cr_expect_eq(r->kind, YNODE_MAP);
	cr_expect_eq(ytree_get(r, "a")->line, 2);
	struct ynode *b = ytree_get(r, "b");
	cr_expect_eq(b->kind, YNODE_SEQ);
	cr_expect_eq(b->n, 2);
	cr_expect_eq(b->items[1]->line, 5);
	cr_expect(b->items[1]->quoted);
	long long us;
	cr_expect_eq(ytree_as_duration(ytree_get(ytree_get(r, "c"), "d"), "t.yaml", &us, err, 256),
	             0);
	cr_expect_eq(us, 2000000);
	ytree_free(r);
}

Test(yamltree, typed_readers_refuse_wrong_types)
{
	char err[256];
	struct ynode *r = load("n: '12'\nm: 12x\nb: maybe\nd: 5 parsecs\nok: 250ms\n", err);
	cr_assert_not_null(r);
	long v;
	cr_expect_eq(ytree_as_long(ytree_get(r, "n"), "t.yaml", 0, 100, &v, err, 256), -1,
	             "a quoted number is a string");
	cr_expect_eq(ytree_as_long(ytree_get(r, "m"), "t.yaml", 0, 100, &v, err, 256), -1);
	cr_expect_not_null(strstr(err, "t.yaml:2:"), "%s", err);
	int bv;
	cr_expect_eq(ytree_as_bool(ytree_get(r, "b"), "t.yaml", &bv, err, 256), -1);
	long long us;
	cr_expect_eq(ytree_as_duration(ytree_get(r, "d"), "t.yaml", &us, err, 256), -1);
	cr_expect_eq(ytree_as_duration(ytree_get(r, "ok"), "t.yaml", &us, err, 256), 0);
	cr_expect_eq(us, 250000);
	ytree_free(r);
}

Test(yamltree, refusals_name_the_line)
{
	char err[256];
	cr_expect_null(load("a: 1\na: 2\n", err));
	cr_expect_not_null(strstr(err, "t.yaml:2: duplicate key 'a'"), "%s", err);
	cr_expect_null(load("a: &x 1\nb: *x\n", err));
	cr_expect_not_null(strstr(err, "alias"), "%s", err);
	cr_expect_null(load("a: [1, 2\n", err));
	cr_expect_not_null(strstr(err, "invalid YAML"), "%s", err);
	cr_expect_null(load("", err));
	cr_expect_null(load("a: 1\n---\nb: 2\n", err));
	struct ynode *r = load("x: 1\ny: 2\n", err);
	static const char *const allowed[] = {"x", NULL};
	cr_expect_eq(ytree_check_keys(r, "t.yaml", allowed, err, 256), -1);
	cr_expect_not_null(strstr(err, "t.yaml:2: unknown key 'y'"), "%s", err);
	ytree_free(r);
}

Test(yamltree, deep_nesting_is_refused)
{
	char doc[1000];
	size_t k = 0;
	for (int i = 0; i < 200; i++)
		doc[k++] = '[';
	doc[k] = '\0';
	char err[256];
	cr_expect_null(ytree_load_string(doc, k, "t.yaml", err, sizeof err));
}
