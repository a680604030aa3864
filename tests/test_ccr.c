/*
 * The fixture's translating relay against the real software it imitates:
 * claude-code-router 1.0.73 from npm (pinned by tests/relays/package-lock.json,
 * installed with `npm ci`) runs offline on a loopback port in front of the
 * fixture's official OpenAI endpoint, serving qwen3-32b, next to the
 * fixture's own `translate` relay (tests/data/fixture/translate.yaml). The
 * same Anthropic requests go to both, and the answers must agree: status,
 * header names and content type, and the body or every event, in order,
 * with the same keys and values; ids must have the same shape (a timestamp
 * id, the upstream's hex ids) and error messages the same text before the
 * Node stack frames, whose paths differ.
 *
 * Skipped when node or npm is not installed; fails when `npm ci` fails.
 * Every wait is bounded and polls a condition.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "probes/sse.h"
#include "tests/helpers.h"

#define CCR_CLI "tests/relays/node_modules/@musistudio/claude-code-router/dist/cli.js"
#define RELAY_KEY "sk-relay-test"

static const char *const need[] = {"official", "ccr", NULL};

/* ---- HTTP ---- */

#define answer http_response /* tests/helpers.h */

/* POST an Anthropic request to the relay under test. */
static void
post(struct answer *a, const char *url, const char *body)
{
	static const char *const h[] = {"x-api-key: " RELAY_KEY, "anthropic-version: 2023-06-01",
	                                NULL};
	http_send(
	    a, &(struct http_request){.url = url, .body = body, .headers = h, .timeout_ms = 30000});
	cr_assert_eq(a->rc, CURLE_OK, "%s: %s", url, curl_easy_strerror(a->rc));
}

/* Header names (lower case, sorted, comma-joined) but the transport's own,
 * which node and libevent set each their way; and the content type. */
static char *
header_names(const struct answer *a, char *ctype, size_t n)
{
	static const char *const transport[] = {"date",           "connection",        "keep-alive",
	                                        "content-length", "transfer-encoding", NULL};
	json_t *names = json_array();
	ctype[0] = '\0';
	for (const char *p = a->headers.data; p != NULL && *p != '\0';) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *colon = memchr(p, ':', len);
		if (colon != NULL) {
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)(colon - p), p);
			for (char *q = name; *q; q++)
				*q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
			int skip = 0;
			for (size_t i = 0; transport[i] != NULL; i++)
				skip |= strcmp(name, transport[i]) == 0;
			if (strcmp(name, "content-type") == 0) {
				const char *v = colon + 1;
				while (*v == ' ')
					v++;
				snprintf(ctype, n, "%.*s", (int)(len - (size_t)(v - p)), v);
			}
			size_t at = 0;
			while (at < json_array_size(names) &&
			       strcmp(json_string_value(json_array_get(names, at)), name) < 0)
				at++;
			if (!skip)
				json_array_insert_new(names, at, json_string(name));
		}
		p = eol ? eol + 2 : NULL;
	}
	char *s = json_dumps(names, JSON_COMPACT);
	json_decref(names);
	return s;
}

/* ---- comparing bodies ---- */

static int
all_of(const char *s, size_t n, const char *set)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

/* An id by its shape: what may differ between two runs is its random or
 * clock part, not the shape. */
static json_t *
id_shape(const char *id)
{
	if (strncmp(id, "msg_", 4) == 0 && all_of(id + 4, 13, "0123456789"))
		return json_string("msg_<13 digits>");
	if (strncmp(id, "chatcmpl-tool-", 14) == 0 && all_of(id + 14, 32, "0123456789abcdef"))
		return json_string("chatcmpl-tool-<32 hex>");
	if (strncmp(id, "chatcmpl-", 9) == 0 && all_of(id + 9, 32, "0123456789abcdef"))
		return json_string("chatcmpl-<32 hex>");
	return json_string(id);
}

/* Ids replaced by their shapes, error messages cut before the stack frames
 * (their file paths are where each copy is installed); in place. */
static void
normalise(json_t *v)
{
	const char *key;
	json_t *sub;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach(v, key, sub)
		{
			if (strcmp(key, "id") == 0 && json_is_string(sub))
				json_object_set_new(v, key, id_shape(json_string_value(sub)));
			else if (strcmp(key, "message") == 0 && json_is_string(sub)) {
				const char *m = json_string_value(sub);
				const char *at = strstr(m, "\n    at ");
				if (at != NULL)
					json_object_set_new(v, key,
					                    json_stringn(m, (size_t)(at - m)));
			} else
				normalise(sub);
		}
	} else if (json_is_array(v))
		json_array_foreach(v, i, sub) normalise(sub);
}

static int
event_cb(const char *event, const char *data, size_t len, void *arg)
{
	json_t *data_json = json_loadb(data, len, 0, NULL);
	json_array_append_new(arg, json_pack("{s:s, s:o}", "event", event, "data",
	                                     data_json ? data_json : json_stringn(data, len)));
	return 0;
}

/* The body as JSON: the object, or the list of events of a stream. */
static json_t *
body_json(const struct answer *a, const char *ctype)
{
	json_t *v;
	if (strncmp(ctype, "text/event-stream", 17) == 0) {
		v = json_array();
		struct sse_parser p;
		sse_init(&p, 1u << 20, 1u << 20, event_cb, v);
		cr_assert_eq(sse_feed(&p, a->body, a->len), 0);
		sse_finish(&p);
		sse_release(&p);
	} else
		v = json_loads(a->body, 0, NULL);
	if (v == NULL)
		v = json_string(a->body);
	normalise(v);
	return v;
}

/* ---- the comparison ---- */

struct pair {
	char real[256];  /* the real claude-code-router's base URL */
	char fixed[256]; /* the fixture's translate relay's */
};

static void
same_answer(const struct pair *p, const char *what, const char *path, const char *body)
{
	char url[600];
	struct answer real, ours;
	snprintf(url, sizeof url, "%s%s", p->real, path);
	post(&real, url, body);
	snprintf(url, sizeof url, "%s%s", p->fixed, path);
	post(&ours, url, body);
	cr_expect_eq(ours.status, real.status, "%s: status %ld, the real one %ld: %s", what,
	             ours.status, real.status, real.body);
	char ct_real[128], ct_ours[128];
	char *h_real = header_names(&real, ct_real, sizeof ct_real);
	char *h_ours = header_names(&ours, ct_ours, sizeof ct_ours);
	cr_expect_str_eq(h_ours, h_real, "%s: headers", what);
	cr_expect_str_eq(ct_ours, ct_real, "%s: content type", what);
	json_t *j_real = body_json(&real, ct_real), *j_ours = body_json(&ours, ct_ours);
	if (!json_equal(j_real, j_ours)) {
		char *a = json_dumps(j_real, JSON_INDENT(1)),
		     *b = json_dumps(j_ours, JSON_INDENT(1));
		cr_expect_fail("%s: the bodies differ\n--- real claude-code-router:\n%s\n--- "
		               "fixture:\n%s",
		               what, a, b);
		free(a);
		free(b);
	}
	json_decref(j_real);
	json_decref(j_ours);
	free(h_real);
	free(h_ours);
	http_response_release(&real);
	http_response_release(&ours);
}

#define WEATHER_TOOL                                                                               \
	"\"tools\": [{\"name\": \"get_weather\", \"description\": \"Weather for a city\", "        \
	"\"input_schema\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": "          \
	"\"string\"}}, \"required\": [\"city\"]}}]"
#define WEATHER_ASK                                                                                \
	"\"messages\": [{\"role\": \"user\", \"content\": \"What is the weather in Paris? Use "    \
	"get_weather.\"}]"

static void
compare_all(const struct pair *p)
{
	same_answer(p, "a plain answer", "/messages",
	            "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 40, \"temperature\": 0, "
	            "\"system\": \"You are terse.\", \"messages\": [{\"role\": \"user\", "
	            "\"content\": \"Name the capital of Australia in one word.\"}]}");
	same_answer(p, "a stream cut by max_tokens", "/messages",
	            "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 5, \"temperature\": 0, "
	            "\"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"Tell me "
	            "a story.\"}]}");
	same_answer(p, "a stream with a stop sequence", "/messages",
	            "{\"model\": \"claude-3-5-haiku\", \"max_tokens\": 60, \"temperature\": 0, "
	            "\"stream\": true, \"stop_sequences\": [\"5\"], \"messages\": [{\"role\": "
	            "\"user\", \"content\": \"Count from 1 to 9.\"}]}");
	same_answer(p, "a tool call", "/messages",
	            "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 100, \"temperature\": "
	            "0, " WEATHER_TOOL ", " WEATHER_ASK "}");
	same_answer(p, "a streamed tool call", "/messages",
	            "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 100, \"temperature\": 0, "
	            "\"stream\": true, " WEATHER_TOOL ", " WEATHER_ASK "}");
	same_answer(p, "tool_choice any, refused upstream", "/messages",
	            "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 100, \"tool_choice\": "
	            "{\"type\": \"any\"}, " WEATHER_TOOL ", " WEATHER_ASK "}");
	same_answer(p, "max_tokens over the upstream's limit", "/messages",
	            "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 64000, \"stream\": true, "
	            "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
	same_answer(
	    p, "a conversation with tool results", "/messages",
	    "{\"model\": \"claude-sonnet-4\", \"max_tokens\": 50, \"temperature\": 0, "
	    "\"system\": [{\"type\": \"text\", \"text\": \"Be brief.\", \"cache_control\": "
	    "{\"type\": \"ephemeral\"}}], " WEATHER_TOOL ", \"messages\": [{\"role\": "
	    "\"user\", \"content\": \"Weather in Paris?\"}, {\"role\": \"assistant\", "
	    "\"content\": [{\"type\": \"text\", \"text\": \"Checking.\"}, {\"type\": "
	    "\"tool_use\", \"id\": \"toolu_01A\", \"name\": \"get_weather\", \"input\": "
	    "{\"city\": \"Paris\"}}]}, {\"role\": \"user\", \"content\": [{\"type\": "
	    "\"tool_result\", \"tool_use_id\": \"toolu_01A\", \"content\": \"18C, "
	    "sunny\"}, {\"type\": \"text\", \"text\": \"Thanks. Say it in one word.\"}]}]}");
	same_answer(p, "count_tokens", "/messages/count_tokens",
	            "{\"model\": \"claude-sonnet-4\", \"system\": \"You are terse.\", "
	            "\"messages\": [{\"role\": \"user\", \"content\": \"Name the capital of "
	            "Australia in one word.\"}]}");
}

Test(ccr, claude_code_router_and_the_fixture_answer_alike, .timeout = 600)
{
	char *node = test_node("tests/relays", "to run claude-code-router");

	struct fixture world;
	fixture_start_scaled(&world, "tests/data/fixture/translate.yaml", need, "0.01");
	/* ccr reads ~/.claude-code-router/config.json: a home of its own, with
	 * the official endpoint as its only provider and no logging */
	char home[] = "/tmp/assay-ccr.XXXXXX";
	cr_assert_not_null(mkdtemp(home));
	char *dir = xasprintf("%s/.claude-code-router", home);
	cr_assert_eq(mkdir(dir, 0700), 0);
	int port = test_free_port();
	cr_assert_gt(port, 0);
	char *upstream = xasprintf("%s/chat/completions", fixture_url(&world, "official"));
	json_t *conf = json_pack("{s:b, s:i, s:s, s:[{s:s, s:s, s:s, s:[s]}], s:{s:s}}", "LOG", 0,
	                         "PORT", port, "APIKEY", RELAY_KEY, "Providers", "name", "vllm",
	                         "api_base_url", upstream, "api_key", "sk-upstream", "models",
	                         "qwen3-32b", "Router", "default", "vllm,qwen3-32b");
	char *conf_path = xasprintf("%s/config.json", dir);
	cr_assert_eq(json_dump_file(conf, conf_path, JSON_INDENT(2)), 0);
	json_decref(conf);

	char *env_home = xasprintf("HOME=%s", home);
	char *argv[] = {(char *)"/usr/bin/env", env_home,        node,
	                (char *)CCR_CLI,        (char *)"start", NULL};
	struct child ccr;
	cr_assert_eq(child_start(&ccr, argv), 0, "claude-code-router did not start");
	struct pair p;
	snprintf(p.real, sizeof p.real, "http://127.0.0.1:%d/v1", port);
	snprintf(p.fixed, sizeof p.fixed, "%s", fixture_url(&world, "ccr"));
	/* up when its health endpoint answers (bounded) */
	char health[300];
	snprintf(health, sizeof health, "http://127.0.0.1:%d/health", port);
	long status = 0;
	for (long long end = test_now_ms() + 30000; test_now_ms() < end && status != 200;) {
		char *b = http_get(health, &status, NULL);
		free(b);
		if (status != 200)
			usleep(100000);
	}
	if (status == 200)
		compare_all(&p);
	else
		cr_expect_fail("claude-code-router did not come up on port %d", port);
	cr_expect_neq(child_stop(&ccr, 10000), -1, "claude-code-router had to be killed");
	cr_expect_eq(fixture_stop(&world), 0);

	test_rmtree(home);
	free(env_home);
	free(conf_path);
	free(upstream);
	free(dir);
	free(node);
}
