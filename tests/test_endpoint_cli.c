/*
 * Base URLs, --header and --auth as users give them, end to end: `assay
 * audit`, `assay baseline record` and `assay serve` against fixture relays
 * that refuse a request without the header they route by, or with the key
 * in another header than they take (tests/data/endpoint/world.yaml). No
 * header value ever reaches the output, the log or the database.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"

#define TENANT "acme-tenant-7781"
#define BEARER_KEY "sk-bearer-relay-0123456789"
#define XKEY "sk-xkey-relay-0123456789"

static const char *const need[] = {"official",    "honest",     "tenant",
                                   "bearer-only", "x-key-only", NULL};
static struct test_world env;

static void
setup(void)
{
	test_world_start(&env, "endpoint", "tests/data/endpoint/world.yaml", need, "0.05");
	setenv("EP_BEARER_KEY", BEARER_KEY, 1);
	setenv("EP_XKEY", XKEY, 1);
	setenv("EP_TENANT", TENANT, 1);
}

static void
teardown(void)
{
	test_world_stop(&env);
}

TestSuite(endpoint_cli, .init = setup, .fini = teardown, .timeout = 180);

/* The relay's URL without its /v1: the host alone. In a static buffer. */
static const char *
host_of(const char *relay)
{
	static char buf[4][256];
	static int k;
	char *b = buf[k++ % 4];
	snprintf(b, 256, "%s", fixture_url(&env.world, relay));
	size_t n = strlen(b);
	if (n > 3 && strcmp(b + n - 3, "/v1") == 0)
		b[n - 3] = '\0';
	return b;
}

/* assay audit with args (NULL-terminated) after "audit"; out and err are
 * the caller's to free. */
static int
vaudit(char **out, char **err, const char *first, va_list ap)
{
	char *argv[32];
	size_t k = 0;
	argv[k++] = (char *)test_binary("assay");
	argv[k++] = (char *)"audit";
	for (const char *a = first; a != NULL && k < 31; a = va_arg(ap, const char *))
		argv[k++] = (char *)a;
	argv[k] = NULL;
	return run_capture(argv, 90000, out, err);
}

static int
audit(char **out, char **err, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int rc = vaudit(out, err, first, ap);
	va_end(ap);
	return rc;
}

static json_t *
parse(const char *out)
{
	json_t *j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "--json output does not parse:\n%s", out);
	return j;
}

/* audit's --json output: every request succeeded (all), or none did. */
static void
expect_requests_ok(const char *out, int all)
{
	json_t *j = parse(out);
	if (all) {
		cr_expect_gt(json_int(j, "requests"), 0, "%s", out);
		cr_expect_eq(json_int(j, "ok_requests"), json_int(j, "requests"), "%s", out);
	} else {
		cr_expect_eq(json_int(j, "ok_requests"), 0, "%s", out);
	}
	json_decref(j);
}

/* assay audit with args (NULL-terminated; --json among them): every
 * request succeeded (all), or none did. */
static void
audit_expecting(int all, const char *first, ...)
{
	char *out, *err;
	va_list ap;
	va_start(ap, first);
	vaudit(&out, &err, first, ap);
	va_end(ap);
	expect_requests_ok(out, all);
	free(out);
	free(err);
}

static int
count(const char *s, const char *what)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

Test(endpoint_cli, base_url_with_or_without_v1_or_the_whole_endpoint)
{
	char want[300];
	snprintf(want, sizeof want, "%s/v1/chat/completions", host_of("honest"));
	const char *forms[] = {host_of("honest"), "", "/v1/", "/v1/chat/completions"};
	for (size_t i = 0; i < 4; i++) {
		char base[300];
		if (i == 0)
			snprintf(base, sizeof base, "%s", forms[0]);
		else
			snprintf(base, sizeof base, "%s%s", host_of("honest"), forms[i]);
		if (i == 1)
			strcat(base, "/");
		char *out, *err;
		int rc = audit(&out, &err, "--base-url", base, "--model", "gpt-4o", "--json", NULL);
		json_t *j = parse(out);
		cr_expect_str_eq(json_string_value(json_object_get(j, "endpoint")), want, "base %s",
		                 base);
		cr_expect_str_eq(json_string_value(json_object_get(j, "base_url")), base);
		cr_expect_gt(json_int(j, "requests"), 0);
		cr_expect_eq(json_int(j, "ok_requests"), json_int(j, "requests"),
		             "base %s: rc %d\n%s", base, rc, err);
		cr_expect(json_is_null(json_object_get(j, "hint")), "base %s", base);
		json_decref(j);
		free(out);
		free(err);
	}
	/* Anthropic as ANTHROPIC_BASE_URL has it: the host alone */
	char *out, *err;
	audit(&out, &err, "--base-url", host_of("honest"), "--model", "claude-sonnet-4", NULL);
	snprintf(want, sizeof want, "endpoint: %s/v1/messages\n", host_of("honest"));
	cr_expect_not_null(strstr(out, want), "%s", out);
	cr_expect_null(strstr(out, "hint:"), "%s", out);
	cr_expect_null(strstr(out, "failed: http 27"), "%s", out);
	free(out);
	free(err);
}

Test(endpoint_cli, wrong_path_says_which_url_and_what_base_urls_look_like)
{
	char base[300], url[300];
	snprintf(base, sizeof base, "%s/v2", host_of("honest"));
	snprintf(url, sizeof url, "%s/v2/chat/completions", host_of("honest"));
	char *out, *err;
	cr_expect_eq(audit(&out, &err, "--base-url", base, "--model", "gpt-4o", NULL), 3);
	cr_expect_not_null(strstr(out, "\nhint: "), "%s", out);
	cr_expect_not_null(strstr(out, url), "%s", out);
	cr_expect_not_null(strstr(out, "/v1"), "%s", out);
	free(out);
	free(err);
	audit(&out, &err, "--base-url", base, "--model", "gpt-4o", "--json", NULL);
	json_t *j = parse(out);
	const char *hint = json_string_value(json_object_get(j, "hint"));
	cr_assert_not_null(hint, "no hint in:\n%s", out);
	cr_expect_not_null(strstr(hint, url), "%s", hint);
	cr_expect_str_eq(json_string_value(json_object_get(j, "endpoint")), url);
	json_decref(j);
	free(out);
	free(err);
	/* Anthropic: the hint speaks of ANTHROPIC_BASE_URL */
	snprintf(base, sizeof base, "%s/wrong", host_of("honest"));
	audit(&out, &err, "--base-url", base, "--model", "claude-sonnet-4", "--json", NULL);
	j = parse(out);
	hint = json_string_value(json_object_get(j, "hint"));
	cr_assert_not_null(hint, "no hint in:\n%s", out);
	cr_expect_not_null(strstr(hint, "/wrong/v1/messages"), "%s", hint);
	cr_expect_not_null(strstr(hint, "ANTHROPIC_BASE_URL"), "%s", hint);
	json_decref(j);
	free(out);
	free(err);
	/* Responses: the path it tried, and that a relay may serve Chat
	 * Completions alone */
	snprintf(base, sizeof base, "%s/v2", host_of("honest"));
	audit(&out, &err, "--base-url", base, "--model", "gpt-4o", "--api", "responses", "--json",
	      NULL);
	j = parse(out);
	hint = json_string_value(json_object_get(j, "hint"));
	cr_assert_not_null(hint, "no hint in:\n%s", out);
	cr_expect_not_null(strstr(hint, "/v2/responses"), "%s", hint);
	cr_expect_not_null(strstr(hint, "try --api openai"), "%s", hint);
	cr_expect_str_eq(json_string_value(json_object_get(j, "api")), "responses");
	json_decref(j);
	free(out);
	free(err);
	/* and the whole Responses endpoint pasted is used as it is */
	snprintf(base, sizeof base, "%s/v1/responses", host_of("honest"));
	audit_expecting(1, "--base-url", base, "--model", "gpt-4o", "--api", "responses", "--json",
	                NULL);
}

Test(endpoint_cli, header_reaches_the_relay_and_is_never_shown)
{
	char *out, *err;
	/* without the tenant header, the relay refuses every request */
	audit_expecting(0, "--base-url", fixture_url(&env.world, "tenant"), "--model", "gpt-4o",
	                "--json", NULL);
	for (int json = 0; json < 2; json++) {
		audit(&out, &err, "--base-url", fixture_url(&env.world, "tenant"), "--model",
		      "gpt-4o", "--header", "x-tenant: " TENANT, json ? "--json" : NULL, NULL);
		if (json) {
			expect_requests_ok(out, 1);
		} else {
			cr_expect_not_null(strstr(out, "succeeded"), "%s", out);
			cr_expect_null(strstr(out, "  failed "), "%s", out);
		}
		cr_expect_null(strstr(out, TENANT), "the header value was shown:\n%s", out);
		cr_expect_null(strstr(err, TENANT), "the header value was shown:\n%s", err);
		free(out);
		free(err);
	}
	/* the value from the environment, kept off the command line */
	audit_expecting(1, "--base-url", fixture_url(&env.world, "tenant"), "--model", "gpt-4o",
	                "--header-env", "x-tenant: EP_TENANT", "--json", NULL);
	cr_expect_eq(audit(&out, &err, "--base-url", fixture_url(&env.world, "tenant"), "--model",
	                   "gpt-4o", "--header-env", "x-tenant: EP_NOT_SET", NULL),
	             2);
	cr_expect_not_null(strstr(err, "'EP_NOT_SET'"), "%s", err);
	cr_expect_eq(count(err, "\n"), 1, "%s", err);
	free(out);
	free(err);
}

Test(endpoint_cli, auth_names_the_header_that_carries_the_key)
{
	char *out, *err;
	/* an Anthropic relay that wants a bearer token: x-api-key (the default)
	 * is refused, --auth bearer passes */
	audit(&out, &err, "--base-url", host_of("bearer-only"), "--model", "claude-sonnet-4",
	      "--key-env", "EP_BEARER_KEY", "--json", NULL);
	json_t *j = parse(out);
	cr_expect_eq(json_int(j, "ok_requests"), 0, "%s", out);
	cr_expect_str_eq(json_string_value(json_object_get(j, "auth")), "x-api-key");
	json_decref(j);
	free(out);
	free(err);
	audit(&out, &err, "--base-url", host_of("bearer-only"), "--model", "claude-sonnet-4",
	      "--key-env", "EP_BEARER_KEY", "--auth", "bearer", NULL);
	cr_expect_eq(count(out, ": auth ("), 0, "%s", out);
	cr_expect_null(strstr(out, ", 0 succeeded"), "%s", out);
	cr_expect_null(strstr(out, BEARER_KEY), "%s", out);
	free(out);
	free(err);
	/* an OpenAI relay that wants x-api-key */
	audit_expecting(0, "--base-url", fixture_url(&env.world, "x-key-only"), "--model", "gpt-4o",
	                "--key-env", "EP_XKEY", "--json", NULL);
	audit(&out, &err, "--base-url", fixture_url(&env.world, "x-key-only"), "--model", "gpt-4o",
	      "--key-env", "EP_XKEY", "--auth", "x-api-key", "--json", NULL);
	j = parse(out);
	cr_expect_eq(json_int(j, "ok_requests"), json_int(j, "requests"), "%s", out);
	cr_expect_str_eq(json_string_value(json_object_get(j, "auth")), "x-api-key");
	json_decref(j);
	cr_expect_null(strstr(out, XKEY), "%s", out);
	free(out);
	free(err);
}

Test(endpoint_cli, headers_assay_owns_are_refused)
{
	struct {
		const char *header, *auth, *why;
		int key;
	} cases[] = {
	    {"Content-Type: text/plain", NULL, "Content-Type", 0},
	    {"host: evil.example", NULL, "host", 0},
	    {"Transfer-Encoding: chunked", NULL, "Transfer-Encoding", 0},
	    {"Content-Length: 5", NULL, "Content-Length", 0},
	    {"Authorization: Bearer sk-other-secret", NULL, "Authorization", 1},
	    {"x-api-key: sk-other-secret", "x-api-key", "x-api-key", 1},
	    {"no-colon-sk-other-secret", NULL, "Name: value", 0},
	    {"x-bad\x01: sk-other-secret", NULL, "token", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out, *err;
		const char *args[12];
		size_t k = 0;
		args[k++] = "--header";
		args[k++] = cases[i].header;
		if (cases[i].auth) {
			args[k++] = "--auth";
			args[k++] = cases[i].auth;
		}
		if (cases[i].key) {
			args[k++] = "--key-env";
			args[k++] = "EP_XKEY";
		}
		while (k < 12)
			args[k++] = NULL;
		int rc =
		    audit(&out, &err, "--base-url", fixture_url(&env.world, "honest"), "--model",
		          "gpt-4o", args[0], args[1], args[2], args[3], args[4], args[5], NULL);
		cr_expect_eq(rc, 2, "'%s' accepted", cases[i].header);
		cr_expect_eq(count(err, "\n"), 1, "%s", err);
		cr_expect_not_null(strstr(err, cases[i].why), "'%s': %s", cases[i].header, err);
		cr_expect_null(strstr(err, "sk-other-secret"), "the value was printed: %s", err);
		cr_expect_eq(strlen(out), 0, "something ran: %s", out);
		free(out);
		free(err);
	}
	/* the key's header is free when no key is given, or auth moves the key */
	char *out, *err;
	cr_expect_neq(audit(&out, &err, "--base-url", fixture_url(&env.world, "x-key-only"),
	                    "--model", "gpt-4o", "--header", "x-api-key: " XKEY, "--json", NULL),
	              2);
	json_t *j = parse(out);
	cr_expect_eq(json_int(j, "ok_requests"), json_int(j, "requests"), "%s", out);
	json_decref(j);
	free(out);
	free(err);
	cr_expect_eq(audit(&out, &err, "--base-url", fixture_url(&env.world, "honest"), "--model",
	                   "gpt-4o", "--auth", "basic", NULL),
	             2);
	cr_expect_not_null(strstr(err, "bearer"), "%s", err);
	free(out);
	free(err);
}

Test(endpoint_cli, baseline_record_sends_the_header)
{
	char pack[300];
	snprintf(pack, sizeof pack, "%s/pack.json", env.dir);
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"baseline",
	                (char *)"record",
	                (char *)"--base-url",
	                (char *)fixture_url(&env.world, "tenant"),
	                (char *)"--model",
	                (char *)"gpt-4o",
	                (char *)"--samples",
	                (char *)"1",
	                (char *)"--header",
	                (char *)"x-tenant: " TENANT,
	                (char *)"-o",
	                pack,
	                NULL};
	char *out, *err;
	cr_expect_eq(run_capture(argv, 120000, &out, &err), 0, "%s", err);
	cr_expect_not_null(strstr(err, "run 1 of 1: 30/30 requests ok"), "%s", err);
	cr_expect_null(strstr(err, TENANT), "%s", err);
	free(out);
	free(err);
	size_t len = 0;
	char *written = read_file(pack, 16 << 20, &len);
	cr_assert_not_null(written);
	cr_expect_null(strstr(written, TENANT), "the header value is in the pack");
	free(written);
	/* the same checks as audit */
	argv[10] = (char *)"Content-Length: 3";
	cr_expect_eq(run_capture(argv, 20000, &out, &err), 2);
	cr_expect_not_null(strstr(err, "Content-Length"), "%s", err);
	free(out);
	free(err);
}

/* Write a config; returns its path (static). */
static const char *
write_config(const char *name, const char *relays)
{
	static char path[300];
	snprintf(path, sizeof path, "%s/%s", env.dir, name);
	cr_assert_eq(
	    test_write_file(path,
	                    "title: endpoints\nlisten: 127.0.0.1:0\ndatabase: %s/assay.db\n"
	                    "interval: 1h\ntimeout: 20s\nrelays:\n%s",
	                    env.dir, relays),
	    0, "cannot write %s", path);
	return path;
}

static void
expect_config_error(const char *relays, const char *want)
{
	const char *cfg = write_config("bad.yaml", relays);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", (char *)cfg,
	                NULL};
	char *out, *err;
	cr_expect_eq(run_capture(argv, 20000, &out, &err), 2, "accepted:\n%s", relays);
	cr_expect_not_null(strstr(err, want), "want '%s' in: %s", want, err);
	cr_expect_null(strstr(err, TENANT), "%s", err);
	free(out);
	free(err);
}

Test(endpoint_cli, serve_config_headers_errors_name_file_and_line)
{
	/* relays start at line 7 of the file */
	static const struct {
		int line;
		const char *words, *relays;
	} cases[] = {
	    {11, "environment variable 'EP_NOT_SET'",
	     "  - name: a\n    base_url: http://127.0.0.1:1/v1\n    models: [gpt-4o]\n"
	     "    headers:\n      x-token: {env: EP_NOT_SET}\n"},
	    {11, "header 'Host' is set by Assay",
	     "  - name: a\n    base_url: http://127.0.0.1:1/v1\n    models: [gpt-4o]\n"
	     "    headers:\n      Host: other.example\n"},
	    {13, "header 'x-api-key' carries the key",
	     "  - name: a\n    base_url: http://127.0.0.1:1\n    api: anthropic\n"
	     "    models: [claude-sonnet-4]\n    key_env: EP_XKEY\n"
	     "    headers:\n      x-api-key: {env: EP_TENANT}\n"},
	    {10, "auth is 'bearer', 'x-api-key', 'api-key', 'sigv4' or 'x-goog-api-key'",
	     "  - name: a\n    base_url: http://127.0.0.1:1/v1\n    models: [gpt-4o]\n"
	     "    auth: basic\n"},
	    {11, "unknown key 'default'",
	     "  - name: a\n    base_url: http://127.0.0.1:1/v1\n    models: [gpt-4o]\n"
	     "    headers:\n      x-token: {env: EP_TENANT, default: x}\n"},
	    {9,
	     "api is 'openai', 'anthropic', 'responses', 'converse', 'gemini' or 'vertex', not "
	     "'chat'",
	     "  - name: a\n    base_url: http://127.0.0.1:1/v1\n    api: chat\n"
	     "    models: [gpt-4o]\n"},
	    {10, "headers is a mapping",
	     "  - name: a\n    base_url: http://127.0.0.1:1/v1\n    models: [gpt-4o]\n"
	     "    headers: [x-token]\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char want[400];
		snprintf(want, sizeof want, "%s/bad.yaml:%d: %s", env.dir, cases[i].line,
		         cases[i].words);
		expect_config_error(cases[i].relays, want);
	}
}

/* Every one of the *n relays in /api/v1/relays has a verdict. */
static int
all_have_verdicts(const json_t *root, void *arg)
{
	const size_t *n = arg;
	size_t i, done = 0;
	json_t *r;
	json_array_foreach(json_object_get(root, "relays"), i, r)
	{
		if (!json_is_null(json_object_get(r, "verdict")))
			done++;
	}
	return done == *n;
}

static json_t *
entry(const json_t *root, const char *relay)
{
	return json_find(json_object_get(root, "relays"), "relay", relay);
}

Test(endpoint_cli, serve_sends_headers_and_auth_and_logs_the_path_hint)
{
	char relays[2000];
	snprintf(relays, sizeof relays,
	         "  - name: tenant\n    base_url: %s\n    models: [gpt-4o]\n"
	         "    headers:\n      x-tenant: {env: EP_TENANT}\n      x-plain: literal-value\n"
	         "  - name: x-key-only\n    base_url: %s\n    models: [gpt-4o]\n"
	         "    key_env: EP_XKEY\n    auth: x-api-key\n"
	         "  - name: wrong-path\n    base_url: %s/v2\n    models: [gpt-4o]\n"
	         "  - name: over-responses\n    base_url: %s\n    api: responses\n"
	         "    models: [gpt-4o]\n",
	         host_of("tenant"), fixture_url(&env.world, "x-key-only"), host_of("honest"),
	         fixture_url(&env.world, "honest"));
	const char *cfg = write_config("assay.yaml", relays);
	char log[300];
	snprintf(log, sizeof log, "%s/serve.log", env.dir);
	struct child serve;
	char *argv[] = {(char *)"/bin/sh",
	                (char *)"-c",
	                (char *)"exec \"$0\" serve -c \"$1\" 2>\"$2\"",
	                (char *)test_binary("assay"),
	                (char *)cfg,
	                log,
	                NULL};
	char base[300];
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0, "serve printed no URL");
	char url[400];
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	size_t four = 4;
	json_t *root = http_wait_json(url, 90000, all_have_verdicts, &four);
	cr_assert_not_null(root, "no verdicts within 90 s");
	json_t *t = entry(root, "tenant"), *x = entry(root, "x-key-only"),
	       *w = entry(root, "wrong-path"), *r = entry(root, "over-responses");
	cr_assert(t && x && w && r);
	/* api: responses audits the same relay over POST /v1/responses */
	cr_expect_gt(json_int(r, "requests"), 0);
	cr_expect_eq(json_int(r, "ok_requests"), json_int(r, "requests"));
	cr_expect_str_eq(json_string_value(json_object_get(r, "verdict")), "genuine");
	cr_expect_gt(json_int(t, "requests"), 0);
	cr_expect_eq(json_int(t, "ok_requests"), json_int(t, "requests"));
	cr_expect_eq(json_int(x, "ok_requests"), json_int(x, "requests"));
	cr_expect_eq(json_int(w, "ok_requests"), 0);
	char *dump = json_dumps(root, 0);
	cr_expect_null(strstr(dump, TENANT));
	cr_expect_null(strstr(dump, "literal-value"));
	free(dump);
	json_decref(root);
	cr_expect_eq(child_stop(&serve, 10000), 0);

	size_t len = 0;
	char *text = read_file(log, 1 << 20, &len);
	cr_assert_not_null(text);
	char want[400];
	snprintf(want, sizeof want, "wrong-path gpt-4o: hint: ");
	cr_expect_not_null(strstr(text, want), "%s", text);
	snprintf(want, sizeof want, "%s/v2/chat/completions", host_of("honest"));
	cr_expect_not_null(strstr(text, want), "%s", text);
	cr_expect_null(strstr(text, "tenant gpt-4o: hint"), "%s", text);
	cr_expect_null(strstr(text, TENANT), "%s", text);
	cr_expect_null(strstr(text, XKEY), "%s", text);
	free(text);
	/* nor in the database, its WAL or anything beside them */
	char cmd[600];
	snprintf(cmd, sizeof cmd,
	         "grep -rqa --exclude=assay.yaml -e '%s' -e 'literal-value' -e '%s' '%s'", TENANT,
	         XKEY, env.dir);
	cr_expect_neq(system(cmd), 0, "a header value or key is on disk in %s", env.dir);
}
