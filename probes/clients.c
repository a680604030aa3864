/*
 * clients: the profiles, and how a probe sample becomes a client's messages.
 *
 * The facts and where they come from (versions are pinned: a client that
 * updates changes nothing a relay could key on, it only ages the profile):
 *  - openai-node: src/client.ts buildHeaders() sends Accept
 *    application/json, User-Agent "OpenAI/JS <version>" (getUserAgent),
 *    X-Stainless-Retry-Count and -Timeout, then the platform headers of
 *    src/internal/detect-platform.ts (Lang js, Package-Version, OS, Arch,
 *    Runtime node, Runtime-Version), then the key (read in openai 6.49.0).
 *  - anthropic-sdk-typescript: the same Stainless layout with
 *    "Anthropic/JS <version>" and anthropic-version (src/client.ts); the
 *    0.60.0 set is the one captured from Claude Code's requests in
 *    Wei-Shaw/claude-relay-service issue 490.
 *  - openai-python / anthropic-python: _base_client.py default_headers
 *    (Accept, Content-Type, User-Agent "OpenAI/Python <v>" or
 *    "Anthropic/Python <v>", the X-Stainless-* platform headers with Lang
 *    python and Runtime CPython, X-Stainless-Async false). "Anthropic/Python
 *    0.82.0" is quoted in plmbr/notebook-intelligence pull request 140.
 *  - claude-code: claude-relay-service issue 490's capture (x-app cli,
 *    anthropic-dangerous-direct-browser-access, anthropic-beta
 *    claude-code-20250219,...), User-Agent "claude-cli/<v> (external, cli)"
 *    (anthropics/claude-code issue 80191), and the system prompt's well-known
 *    first line.
 *  - codex-cli: originator codex_cli_rs and User-Agent
 *    "codex_cli_rs/<v> (<os>; <arch>) <terminal>" (Wei-Shaw/sub2api issue
 *    3646, openai/codex codex-rs default_client.rs).
 *  - open-webui: its backend forwards chat requests with aiohttp, which
 *    names itself "Python/3.x aiohttp/3.x" and accepts any media type.
 *  - google-genai-js: @google/genai 3.1.0 (dist/node/index.mjs) sends
 *    User-Agent and x-goog-api-client both "google-genai-sdk/<v>
 *    gl-node/<node version>", and the key in x-goog-api-key.
 *  - anthropic-vertex-node: @anthropic-ai/vertex-sdk 0.22.0 (client.js,
 *    the last of the vertex-2023-10-16 body version Assay sends) over
 *    @anthropic-ai/sdk 0.137.0: the Stainless headers with User-Agent
 *    "AnthropicVertex/JS <core SDK version>" and the OAuth Bearer token
 *    (tests/oracle captures it: the anthropic-version header stays there,
 *    1.x drops it).
 */
#include "probes/clients.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define OPENAI_APIS ((1u << API_OPENAI) | (1u << API_RESPONSES))
#define ANTHROPIC_APIS (1u << API_ANTHROPIC)
#define GEMINI_APIS (1u << API_GEMINI)
#define VERTEX_APIS (1u << API_VERTEX)

static const char *const openai_node_headers[] = {"Accept: application/json",
                                                  "User-Agent: OpenAI/JS 6.49.0",
                                                  "X-Stainless-Retry-Count: 0",
                                                  "X-Stainless-Timeout: 600",
                                                  "X-Stainless-Lang: js",
                                                  "X-Stainless-Package-Version: 6.49.0",
                                                  "X-Stainless-OS: Linux",
                                                  "X-Stainless-Arch: x64",
                                                  "X-Stainless-Runtime: node",
                                                  "X-Stainless-Runtime-Version: v22.14.0",
                                                  NULL};

static const char *const openai_python_headers[] = {
    "Accept: application/json",      "User-Agent: OpenAI/Python 1.109.1",
    "X-Stainless-Lang: python",      "X-Stainless-Package-Version: 1.109.1",
    "X-Stainless-OS: MacOS",         "X-Stainless-Arch: arm64",
    "X-Stainless-Runtime: CPython",  "X-Stainless-Runtime-Version: 3.12.8",
    "X-Stainless-Async: false",      "x-stainless-retry-count: 0",
    "x-stainless-read-timeout: 600", NULL};

static const char *const anthropic_node_headers[] = {"Accept: application/json",
                                                     "User-Agent: Anthropic/JS 0.60.0",
                                                     "X-Stainless-Retry-Count: 0",
                                                     "X-Stainless-Timeout: 600",
                                                     "X-Stainless-Lang: js",
                                                     "X-Stainless-Package-Version: 0.60.0",
                                                     "X-Stainless-OS: Linux",
                                                     "X-Stainless-Arch: x64",
                                                     "X-Stainless-Runtime: node",
                                                     "X-Stainless-Runtime-Version: v22.14.0",
                                                     NULL};

static const char *const anthropic_python_headers[] = {
    "Accept: application/json",      "User-Agent: Anthropic/Python 0.82.0",
    "X-Stainless-Lang: python",      "X-Stainless-Package-Version: 0.82.0",
    "X-Stainless-OS: Linux",         "X-Stainless-Arch: x64",
    "X-Stainless-Runtime: CPython",  "X-Stainless-Runtime-Version: 3.11.11",
    "X-Stainless-Async: false",      "x-stainless-retry-count: 0",
    "x-stainless-read-timeout: 600", NULL};

static const char *const claude_code_headers[] = {
    "Accept: application/json",
    "X-Stainless-Retry-Count: 0",
    "X-Stainless-Timeout: 600",
    "X-Stainless-Lang: js",
    "X-Stainless-Package-Version: 0.60.0",
    "X-Stainless-OS: MacOS",
    "X-Stainless-Arch: arm64",
    "X-Stainless-Runtime: node",
    "X-Stainless-Runtime-Version: v22.14.0",
    "anthropic-dangerous-direct-browser-access: true",
    "x-app: cli",
    "User-Agent: claude-cli/2.1.205 (external, cli)",
    "anthropic-beta: claude-code-20250219,interleaved-thinking-2025-05-14",
    NULL};

static const char *const codex_headers[] = {
    "Accept: text/event-stream", "originator: codex_cli_rs",
    "User-Agent: codex_cli_rs/0.132.0 (Ubuntu 22.4.0; x86_64) xterm-256color", NULL};

static const char *const open_webui_headers[] = {"Accept: */*",
                                                 "User-Agent: Python/3.11 aiohttp/3.11.11", NULL};

/* Bedrock's Converse API is spoken by AWS's SDKs: for JavaScript v3
 * (@aws-sdk/client-bedrock-runtime), Python (boto3) and Go v2, each user
 * agent as the SDK writes it (sdk, ua, os, lang, md, api / cfg). */
#define AWS_SDK_JS_UA                                                                              \
	"aws-sdk-js/3.1164.0 ua/2.1 os/linux#6.1.0 lang/js md/nodejs#20.20.2 "                     \
	"api/bedrock-runtime#3.1164.0 m/E"
static const char *const aws_sdk_js_headers[] = {"User-Agent: " AWS_SDK_JS_UA,
                                                 "x-amz-user-agent: aws-sdk-js/3.1164.0", NULL};
#define BOTO3_UA                                                                                   \
	"Boto3/1.40.45 md/Botocore#1.40.45 ua/2.1 os/linux#6.8.0 md/arch#x86_64 "                  \
	"lang/python#3.12.3 md/pyimpl#CPython m/Z,b cfg/retry-mode#legacy Botocore/1.40.45"
static const char *const boto3_headers[] = {"User-Agent: " BOTO3_UA, NULL};
#define AWS_SDK_GO_UA                                                                              \
	"aws-sdk-go-v2/1.39.2 ua/2.1 os/linux lang/go#1.24.7 md/GOOS#linux md/GOARCH#amd64 "       \
	"api/bedrockruntime#1.50.4 m/E"
static const char *const aws_sdk_go_headers[] = {"User-Agent: " AWS_SDK_GO_UA, NULL};
static const char *const google_genai_headers[] = {
    "Accept: application/json", "User-Agent: google-genai-sdk/3.1.0 gl-node/v22.14.0",
    "x-goog-api-client: google-genai-sdk/3.1.0 gl-node/v22.14.0", NULL};

/* google-genai for Python writes its User-Agent and x-goog-api-client as
 * the JS SDK does, with gl-python (python-genai's _api_client.py); Gemini
 * CLI sends "GeminiCLI/<version> (<platform>; <arch>)" over @google/genai
 * (as the gemini-cli compatible proxies copy it, e.g. geminicli2api). */
static const char *const google_genai_python_headers[] = {
    "Accept: application/json", "User-Agent: google-genai-sdk/1.47.0 gl-python/3.12.3",
    "x-goog-api-client: google-genai-sdk/1.47.0 gl-python/3.12.3", NULL};
static const char *const gemini_cli_headers[] = {
    "Accept: application/json", "User-Agent: GeminiCLI/0.24.0 (linux; x64)",
    "x-goog-api-client: google-genai-sdk/1.30.0 gl-node/v20.19.0", NULL};

/* AnthropicVertex for Python: the Anthropic SDK's headers, its class name
 * in the User-Agent ("<Client>/Python <version>"). */
static const char *const anthropic_vertex_python_headers[] = {
    "Accept: application/json",      "User-Agent: AnthropicVertex/Python 0.82.0",
    "X-Stainless-Lang: python",      "X-Stainless-Package-Version: 0.82.0",
    "X-Stainless-OS: Linux",         "X-Stainless-Arch: x64",
    "X-Stainless-Runtime: CPython",  "X-Stainless-Runtime-Version: 3.11.11",
    "X-Stainless-Async: false",      "x-stainless-retry-count: 0",
    "x-stainless-read-timeout: 600", NULL};

static const char *const anthropic_vertex_headers[] = {"Accept: application/json",
                                                       "User-Agent: AnthropicVertex/JS 0.137.0",
                                                       "X-Stainless-Retry-Count: 0",
                                                       "X-Stainless-Timeout: 600",
                                                       "X-Stainless-Lang: js",
                                                       "X-Stainless-Package-Version: 0.137.0",
                                                       "X-Stainless-OS: Linux",
                                                       "X-Stainless-Arch: x64",
                                                       "X-Stainless-Runtime: node",
                                                       "X-Stainless-Runtime-Version: v22.14.0",
                                                       NULL};

static const struct client_profile profiles[] = {
    {"openai-node", OPENAI_APIS, "OpenAI/JS 6.49.0", openai_node_headers, NULL},
    {"openai-python", OPENAI_APIS, "OpenAI/Python 1.109.1", openai_python_headers, NULL},
    {"codex-cli", OPENAI_APIS, "codex_cli_rs/0.132.0 (Ubuntu 22.4.0; x86_64) xterm-256color",
     codex_headers, NULL},
    {"open-webui", OPENAI_APIS, "Python/3.11 aiohttp/3.11.11", open_webui_headers, NULL},
    {"anthropic-node", ANTHROPIC_APIS, "Anthropic/JS 0.60.0", anthropic_node_headers, NULL},
    {"anthropic-python", ANTHROPIC_APIS, "Anthropic/Python 0.82.0", anthropic_python_headers, NULL},
    {"claude-code", ANTHROPIC_APIS, "claude-cli/2.1.205 (external, cli)", claude_code_headers,
     "You are Claude Code, Anthropic's official CLI for Claude."},
    {"aws-sdk-js", 1u << API_CONVERSE, AWS_SDK_JS_UA, aws_sdk_js_headers, NULL},
    {"boto3", 1u << API_CONVERSE, BOTO3_UA, boto3_headers, NULL},
    {"aws-sdk-go-v2", 1u << API_CONVERSE, AWS_SDK_GO_UA, aws_sdk_go_headers, NULL},
    {"google-genai-js", GEMINI_APIS, "google-genai-sdk/3.1.0 gl-node/v22.14.0",
     google_genai_headers, NULL},
    {"anthropic-vertex-node", VERTEX_APIS, "AnthropicVertex/JS 0.137.0", anthropic_vertex_headers,
     NULL},
    {"google-genai-python", GEMINI_APIS, "google-genai-sdk/1.47.0 gl-python/3.12.3",
     google_genai_python_headers, NULL},
    {"gemini-cli", GEMINI_APIS, "GeminiCLI/0.24.0 (linux; x64)", gemini_cli_headers, NULL},
    {"anthropic-vertex-python", VERTEX_APIS, "AnthropicVertex/Python 0.82.0",
     anthropic_vertex_python_headers, NULL},
    /* Claude Code on Vertex (CLAUDE_CODE_USE_VERTEX): its own headers over
     * AnthropicVertex */
    {"claude-code-vertex", VERTEX_APIS, "claude-cli/2.1.205 (external, cli)", claude_code_headers,
     "You are Claude Code, Anthropic's official CLI for Claude."},
};

#define N_PROFILES (sizeof profiles / sizeof profiles[0])

const struct client_profile *
client_profiles(size_t *n)
{
	*n = N_PROFILES;
	return profiles;
}

const struct client_profile *
client_find(const char *name)
{
	for (size_t i = 0; i < N_PROFILES; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

const struct client_profile *
client_pick(enum api_kind api, uint64_t seed)
{
	size_t fit = 0;
	for (size_t i = 0; i < N_PROFILES; i++)
		fit += (profiles[i].apis >> api) & 1u;
	if (fit == 0)
		fatal(70, "internal: no client profile speaks %s", api_name(api));
	/* mixed: nearby seeds pick unrelated profiles */
	size_t k = (size_t)(splitmix64(&seed) % fit);
	for (size_t i = 0; i < N_PROFILES; i++)
		if (((profiles[i].apis >> api) & 1u) && k-- == 0)
			return &profiles[i];
	return &profiles[0]; /* not reached */
}

size_t
client_render(const struct client_profile *cl, const struct probe_def *p, const char *nonce,
              struct probe_message *out)
{
	size_t n = 0;
	int has_system = p->n_messages > 0 && strcmp(p->roles[0], "system") == 0;
	if (cl != NULL && cl->system != NULL && !has_system) {
		out[n].role = "system";
		out[n++].content = xstrdup(cl->system);
	}
	for (size_t m = 0; m < p->n_messages; m++) {
		out[n].role = p->roles[m];
		out[n++].content = probe_render(p->texts[m], nonce);
	}
	return n;
}
