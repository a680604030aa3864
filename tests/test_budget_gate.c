/*
 * The budget gate (cli/budget.h) alone, as serve and agents use it: runs
 * in flight together cannot pass a cap between them, a run's reservation
 * is released when its relay-model's next run is scored, the relay's cap
 * and the board's each hold, a hold is said once a day, and the day's
 * count starts where the caller says.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/util.h"
#include "cli/budget.h"

static const struct config_budget none = {0};

static int
go(struct budget *b, const char *relay, const struct config_budget *mine,
   const struct config_budget *all, long tokens, struct budget_held *held)
{
	int was_held;
	return budget_gate(b, relay, "gpt-4o", mine, all, tokens, 0, &was_held, held);
}

Test(budget_gate, runs_in_flight_together_cannot_pass_a_cap)
{
	struct budget *b = budget_new(NULL);
	const struct config_budget cap = {.tokens = 6000};
	struct budget_held held;
	/* two runs that may take 3,000 each fit; a third, not scored yet, not */
	cr_expect(go(b, "r", &cap, &none, 3000, &held));
	cr_expect(go(b, "r", &cap, &none, 3000, &held));
	cr_expect_not(go(b, "r", &cap, &none, 3000, &held));
	cr_expect(held.relays_own && held.first_today && held.tell);
	cr_expect(strstr(held.why, "relay r's 6000 tokens a day are spent (0 today, 6000 more in "
	                           "flight; a run may take 3000)") != NULL,
	          "%s", held.why);
	/* said once a day */
	cr_expect_not(go(b, "r", &cap, &none, 3000, &held));
	cr_expect_not(held.first_today || held.tell);
	/* the run scored spent 2,000: its reservation is released (one
	 * relay-model's reservations are released together, by its next run
	 * scored), and 2,000 + 3,000 fits again */
	budget_scored(b, "r", "gpt-4o", wall_ms(), 2000, 0);
	cr_expect_eq(budget_today(b, "r")->tokens, 2000);
	cr_expect_eq(budget_today(b, NULL)->tokens, 2000, "the board's count");
	int was_held;
	cr_expect(budget_gate(b, "r", "gpt-4o", &cap, &none, 3000, 0, &was_held, &held));
	cr_expect(was_held, "the caller is told the relay runs again");
	budget_free(b);
}

Test(budget_gate, the_boards_cap_holds_every_relay)
{
	struct budget *b = budget_new(NULL);
	const struct config_budget all = {.tokens = 5000};
	struct budget_held held;
	cr_expect(go(b, "a", &none, &all, 3000, &held));
	cr_expect_not(go(b, "b", &none, &all, 3000, &held));
	cr_expect_not(held.relays_own);
	cr_expect(held.tell);
	cr_expect(strstr(held.why, "the board's 5000 tokens a day") != NULL, "%s", held.why);
	/* the board's cap is told once, whichever relay it holds next */
	cr_expect_not(go(b, "c", &none, &all, 3000, &held));
	cr_expect(held.first_today, "c's first hold is said");
	cr_expect_not(held.tell, "the board's cap was told already");
	/* no caps: always goes */
	cr_expect(go(b, "d", &none, &none, 1000000, &held));
	budget_free(b);
}

Test(budget_gate, dollars_count_like_tokens)
{
	struct budget *b = budget_new(NULL);
	const struct config_budget cap = {.usd = 0.04};
	struct budget_held held;
	int was_held;
	cr_expect(budget_gate(b, "r", "m", &cap, &none, 3000, 0.03, &was_held, &held));
	cr_expect_not(budget_gate(b, "r", "m", &cap, &none, 3000, 0.03, &was_held, &held));
	cr_expect(strstr(held.why, "$0.04 a day is spent") != NULL, "%s", held.why);
	budget_scored(b, "r", "m", wall_ms(), 100, 0.001);
	cr_expect_float_eq(budget_today(b, "r")->usd, 0.001, 1e-12);
	budget_free(b);
}

struct seen {
	int starts;
	int shown;
	long last_tokens;
};

static int
start_cb(const char *relay, int64_t since_ms, long *tokens, double *usd, void *arg)
{
	struct seen *s = arg;
	s->starts++;
	cr_expect_eq(since_ms % 86400000LL, 0, "a day starts at 00:00 UTC");
	*tokens = relay != NULL ? 5500 : 7000; /* what a database held of the day */
	*usd = 0;
	return 0;
}

static void
shown_cb(const struct budget_day *d, void *arg)
{
	struct seen *s = arg;
	s->shown++;
	s->last_tokens = d->tokens;
}

Test(budget_gate, a_day_starts_where_the_caller_says)
{
	struct seen seen = {0};
	struct budget_hooks h = {.day_start = start_cb, .shown = shown_cb, .arg = &seen};
	struct budget *b = budget_new(&h);
	const struct config_budget cap = {.tokens = 8000};
	struct budget_held held;
	/* 5,500 spent before a restart: a run that may take 3,000 is held */
	cr_expect_not(go(b, "r", &cap, &none, 3000, &held));
	cr_expect_eq(seen.starts, 2, "the relay's day and the board's");
	cr_expect_eq(seen.shown, 2);
	cr_expect(go(b, "r", &cap, &none, 2000, &held));
	/* a run of yesterday scored today counts on yesterday */
	budget_scored(b, "r", "gpt-4o", wall_ms() - 86400000LL, 1000, 0);
	cr_expect_eq(budget_today(b, "r")->tokens, 5500);
	budget_scored(b, "r", "gpt-4o", wall_ms(), 1000, 0);
	cr_expect_eq(budget_today(b, "r")->tokens, 6500);
	cr_expect_eq(seen.last_tokens, 8000, "the board's day, shown last: 7,000 + 1,000");
	cr_expect_eq(seen.starts, 2, "a day starts once");
	budget_free(b);
}
