/*
 * verify_thinking: assay audit --verify-key-env NAME. The thinking blocks
 * a relay returned for a request that asked Claude to think are sent back
 * to the official Anthropic API, with a key the user supplies, as the
 * assistant turn of a follow-up request. Anthropic accepts a block only
 * with the signature its servers made for that text, and refuses any other
 * with a 400 ("messages.1.content.0: Invalid `signature` in `thinking`
 * block": anthropics/claude-code issue 10627; anthropic-sdk-python issue
 * 1598 says any change to the block fails the check). The outcome lands on
 * the observation (signature_check), where the origin detector reads it.
 *
 * The key is read by the caller from the environment and used for these
 * requests only: never stored, logged or shown. Blocking: called by the
 * CLI after the audit's loop ended.
 */
#ifndef ASSAY_CLI_VERIFY_THINKING_H
#define ASSAY_CLI_VERIFY_THINKING_H

struct audit_run;

#define VERIFY_OFFICIAL_BASE "https://api.anthropic.com"
/* What the thinking request adds to the audit's default token budget: its
 * prompt and up to its max_tokens (1280) of thinking and answer. */
#define VERIFY_BUDGET_TOKENS 1500

/* Check every answered request of run that asked for thinking and holds a
 * whole thinking block with a signature, against base (the official API's
 * root, VERIFY_OFFICIAL_BASE unless a test says otherwise). How many were
 * sent back. ca_file as the audit's (NULL: the system's). */
int verify_thinking_signatures(struct audit_run *run, const char *base, const char *key,
                               const char *ca_file);

#endif
