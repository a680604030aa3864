/*
 * Quorum (scoring/quorum.h): an outage needs `need` fresh regions down;
 * one region cut off is never an outage under 2 of 3; silence neither
 * declares nor ends one; a change the store refuses is not made.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "scoring/quorum.h"

#define MIN 60000LL

struct changes {
	int n, last;
	int refuse;
};

static int
change_cb(const struct quorum_view *v, void *arg)
{
	struct changes *c = arg;
	if (c->refuse)
		return -1;
	c->n++;
	c->last = v->declared;
	return 0;
}

static void
see(struct quorum *q, const char *region, int64_t at, int down)
{
	quorum_observe(q, region, "relay", "gpt-4o", at, down, down ? "network" : "none",
	               down ? -1 : 100);
}

Test(quorum, one_region_cut_off_is_never_an_outage_under_2_of_3)
{
	struct quorum *q = quorum_new(2, 3, 3 * MIN);
	struct changes c = {0};
	for (int i = 0; i < 100; i++) {
		int64_t t = i * MIN;
		see(q, "eu", t, 0);
		see(q, "us", t, 1);
		see(q, "ap", t, 0);
		quorum_evaluate(q, t + 1000, change_cb, &c);
	}
	cr_expect_eq(c.n, 0, "declared down with one region of three down");
	struct quorum_view v;
	cr_assert_eq(quorum_view(q, "relay", "gpt-4o", 100 * MIN, &v), 1);
	cr_expect_eq(v.heard, 3);
	cr_expect_eq(v.down, 1);
	quorum_free(q);
}

Test(quorum, two_regions_down_declare_it_and_two_up_end_it)
{
	struct quorum *q = quorum_new(2, 3, 3 * MIN);
	struct changes c = {0};
	see(q, "eu", 0, 0);
	see(q, "us", 0, 0);
	see(q, "ap", 0, 0);
	quorum_evaluate(q, 1000, change_cb, &c);
	cr_expect_eq(c.n, 0);
	see(q, "eu", MIN, 1);
	quorum_evaluate(q, MIN + 1000, change_cb, &c);
	cr_expect_eq(c.n, 0, "one region is not a quorum");
	see(q, "us", MIN, 1);
	quorum_evaluate(q, MIN + 2000, change_cb, &c);
	cr_expect_eq(c.n, 1);
	cr_expect_eq(c.last, 1, "two of three down is an outage");
	see(q, "eu", 2 * MIN, 0);
	quorum_evaluate(q, 2 * MIN + 1000, change_cb, &c);
	cr_expect_eq(c.n, 2);
	cr_expect_eq(c.last, 0, "two of three up again ends it");
	quorum_free(q);
}

Test(quorum, stale_regions_count_for_nothing)
{
	struct quorum *q = quorum_new(2, 3, 3 * MIN);
	struct changes c = {0};
	/* two regions saw it down long ago, then fell silent */
	see(q, "eu", 0, 1);
	see(q, "us", 0, 1);
	see(q, "ap", 10 * MIN, 0);
	quorum_evaluate(q, 10 * MIN + 1000, change_cb, &c);
	cr_expect_eq(c.n, 0, "stale failures declared an outage");
	/* declared, then the agents go silent: it stays declared */
	see(q, "eu", 11 * MIN, 1);
	see(q, "us", 11 * MIN, 1);
	quorum_evaluate(q, 11 * MIN + 1000, change_cb, &c);
	cr_expect_eq(c.last, 1);
	quorum_evaluate(q, 30 * MIN, change_cb, &c);
	cr_expect_eq(c.n, 1, "silence ended the outage");
	/* an older run than the region's latest changes nothing */
	see(q, "eu", 5 * MIN, 0);
	struct quorum_view v;
	cr_assert_eq(quorum_view(q, "relay", "gpt-4o", 11 * MIN + 2000, &v), 1);
	cr_expect_eq(v.down, 2);
	quorum_free(q);
}

Test(quorum, a_change_the_store_refuses_is_tried_again)
{
	struct quorum *q = quorum_new(1, 1, 3 * MIN);
	struct changes c = {.refuse = 1};
	see(q, "eu", 0, 1);
	quorum_evaluate(q, 1000, change_cb, &c);
	cr_expect_eq(c.n, 0);
	c.refuse = 0;
	quorum_evaluate(q, 2000, change_cb, &c);
	cr_expect_eq(c.n, 1, "the refused change was not tried again");
	cr_expect_eq(c.last, 1);
	quorum_free(q);
}

Test(quorum, refuses_a_rule_that_cannot_hold)
{
	cr_expect_null(quorum_new(0, 3, MIN));
	cr_expect_null(quorum_new(3, 2, MIN));
	cr_expect_null(quorum_new(1, QUORUM_REGIONS_MAX + 1, MIN));
	cr_expect_null(quorum_new(1, 1, 0));
}

static int
count_cb(const struct quorum_view *v, void *arg)
{
	(void)v;
	(*(int *)arg)++;
	return 0;
}

/* Many relay-models are told apart (the hub's table), and what is beyond
 * the bound is counted, not kept. */
Test(quorum, many_relay_models_are_told_apart)
{
	struct quorum *q = quorum_new(2, 3, 3 * MIN);
	static const char *const regions[] = {"eu", "us", "ap"};
	char relay[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(relay, sizeof relay, "relay-%d", i);
		for (int r = 0; r < 3; r++)
			quorum_observe(q, regions[r], relay, i % 2 ? "gpt-4o" : "claude", MIN,
			               i % 7 == 0 && r < 2, "none", 100);
	}
	int declared = 0;
	quorum_evaluate(q, MIN + 1000, count_cb, &declared);
	cr_expect_eq(declared, (20000 + 6) / 7);
	struct quorum_view v;
	cr_assert_eq(quorum_view(q, "relay-14", "claude", MIN + 1000, &v), 1);
	cr_expect_eq(v.down, 2);
	cr_expect_eq(quorum_view(q, "relay-14", "gpt-4o", MIN + 1000, &v), 0, "a pair never seen");
	cr_expect_eq(quorum_dropped(q), 0);
	quorum_free(q);
}
