/*
 * sim_helpers: the fixture's simulated Claude tokenizer (fixtures/simtok.h)
 * for the tests that count as the fixture's Claude models do. Linked, with
 * fixtures/simtok.o, into those tests only (mk/fixture.mk: SIMTOK_TESTS).
 */
#ifndef ASSAY_TEST_SIM_HELPERS_H
#define ASSAY_TEST_SIM_HELPERS_H

struct simtok;

/* claude-sim, opened; asserts (Criterion) that it opens. */
struct simtok *test_simtok(void);
/* claude-sim's tokens of text, and of a one-message user prompt as the
 * simulated Anthropic API counts it. */
long test_sim_count_text(const char *text);
long test_sim_count_prompt(const char *user);

#endif
