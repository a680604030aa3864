/*
 * tamper: tool calls and answers that arrive changed (placeholder: the
 * comparison lands with the observation's tool arguments).
 */
#include "scoring/detector.h"

static void
run_tamper(struct detect_ctx *c)
{
	(void)c;
}

const struct detector detector_tamper = {
    .name = "tamper",
    .probes = (const char *const[]){"agent-shell", "agent-write", "echo-exact", NULL},
    .classes = CLASS_BIT(CLASS_TOOL_TAMPERING) | CLASS_BIT(CLASS_RESPONSE_TAMPERING),
    .needs_claimed = 0,
    .run = run_tamper,
};
