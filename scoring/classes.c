/*
 * classes: the table. Order follows the enum; class_table_check() in the
 * tests walks it both ways.
 */
#include "scoring/classes.h"

#include <string.h>

#include "scoring/verdict.h"

static const struct class_info table[CLASS__COUNT] = {
    [CLASS_SUBSTITUTION] = {"substitution", 1, FP_BUDGET_MISBEHAVING, "model substituted",
                            "Serves another model than the one named, for all or a share of "
                            "requests."},
    [CLASS_CONTEXT_TRUNCATION] = {"context_truncation", 1, FP_BUDGET_MISBEHAVING,
                                  "context truncated",
                                  "Keeps less of the conversation than the model accepts."},
    [CLASS_OUTPUT_CAP] = {"output_cap", 1, FP_BUDGET_MISBEHAVING, "output capped",
                          "Stops answers below the length asked for and paid for."},
    [CLASS_PROMPT_INJECTION] = {"prompt_injection", 1, FP_BUDGET_MISBEHAVING, "hidden prompt added",
                                "Adds a hidden system prompt to every request (and bills it)."},
    [CLASS_USAGE_INFLATION] = {"usage_inflation", 1, FP_BUDGET_MISBEHAVING, "usage inflated",
                               "Reports more tokens than were used."},
    [CLASS_PARAM_IGNORED] = {"param_ignored", 1, FP_BUDGET_MISBEHAVING, "parameters ignored",
                             "Drops or ignores request parameters: temperature, stop, "
                             "max_tokens, logprobs, tools, JSON mode."},
    [CLASS_STREAM_BUFFERED] = {"stream_buffered", 1, FP_BUDGET_MISBEHAVING, "fake streaming",
                               "Waits for the whole answer and sends it at once, as if "
                               "streamed."},
    [CLASS_CACHED_RESPONSE] = {"cached_response", 1, FP_BUDGET_MISBEHAVING, "cached answers",
                               "Replays stored answers instead of asking the model."},
    [CLASS_RATE_LIMITED] = {"rate_limited", 0, 0, "rate limited",
                            "Refuses requests with HTTP 429 under light load."},
    [CLASS_UNAVAILABLE] = {"unavailable", 0, 0, "unavailable",
                           "Requests fail: errors, timeouts, dead endpoints."},
    [CLASS_DEGRADED_LATENCY] = {"degraded_latency", 0, 0, "slow",
                                "Answers much later or slower than the official API."},
    [CLASS_CREDENTIAL_HARVESTING] = {"credential_harvesting", 1, FP_BUDGET_MISBEHAVING,
                                     "harvests keys",
                                     "Takes API keys out of the prompts it relays and uses "
                                     "them."},
    [CLASS_TOOL_TAMPERING] = {"tool_tampering", 1, FP_BUDGET_MISBEHAVING, "rewrites tool calls",
                              "Changes the arguments of the model's tool calls (commands, "
                              "packages, URLs, files) on their way to the client."},
    [CLASS_RESPONSE_TAMPERING] = {"response_tampering", 1, FP_BUDGET_MISBEHAVING,
                                  "rewrites answers",
                                  "Changes what the model wrote (wallet addresses, links, "
                                  "install commands, code) on its way to the client."},
    [CLASS_KEY_SHARED] = {"key_shared", 0, 0, "shared upstream key",
                          "Others use the same upstream key (or its organisation's limits) "
                          "at the same time: its remaining requests fall faster than our "
                          "own use."},
    [CLASS_KEY_POOL] = {"key_pool", 0, 0, "pool of keys",
                        "Requests go out on several upstream keys or accounts: their "
                        "limits or organisations differ from request to request."},
    [CLASS_CHANNEL_MISREPRESENTED] = {"channel_misrepresented", 1, FP_BUDGET_MISBEHAVING,
                                      "another channel",
                                      "Serves the model through another backend than the "
                                      "channel it sells (Bedrock, Vertex, a reverse-engineered "
                                      "client, a translator in front of another model)."},
    [CLASS_CAPABILITY_STRIPPED] = {"capability_stripped", 1, FP_BUDGET_MISBEHAVING,
                                   "inputs stripped",
                                   "Removes images or documents from requests: the model "
                                   "never sees what was attached, and the answer cannot "
                                   "use it."},
};

const struct class_info *
class_info(enum finding_class c)
{
	return &table[c];
}

int
class_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int c = 0; c < CLASS__COUNT; c++)
		if (table[c].name != NULL && strcmp(table[c].name, name) == 0)
			return c;
	return -1;
}

const char *
class_name(enum finding_class c)
{
	return (unsigned)c < CLASS__COUNT && table[c].name ? table[c].name : "unknown";
}

int
class_cheat_count(void)
{
	int n = 0;
	for (int c = 0; c < CLASS__COUNT; c++)
		n += table[c].cheat;
	return n;
}
