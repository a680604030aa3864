/*
 * sim_helpers: claude-sim for the tests (tests/sim_helpers.h).
 */
#include "tests/sim_helpers.h"

#include <criterion/criterion.h>
#include <string.h>

#include "fixtures/simtok.h"
#include "scoring/tokenizer.h"

struct simtok *
test_simtok(void)
{
	char err[256];
	struct simtok *s = simtok_open("claude-sim", err, sizeof err);
	cr_assert_not_null(s, "simtok_open(claude-sim): %s", err);
	return s;
}

long
test_sim_count_text(const char *text)
{
	struct simtok *s = test_simtok();
	long n = simtok_count(s, text, strlen(text));
	simtok_free(s);
	return n;
}

long
test_sim_count_prompt(const char *user)
{
	struct simtok *s = test_simtok();
	struct chat_message m = {"user", user, NULL};
	long n = simtok_prompt_tokens(s, &m, 1);
	simtok_free(s);
	return n;
}
