#define _GNU_SOURCE /* strcasestr */
/*
 * Web: escaping of hostile relay text, the board's pages, the server's
 * routes and headers.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "tests/helpers.h"
#include "web/board.h"
#include "web/board_test.h"
#include "web/render.h"
#include "web/server.h"

static const char hostile[] = "<script>alert('x')</script>\"&";

Test(web, html_escape_escapes_everything_special)
{
	struct buf b;
	buf_init(&b, 0);
	html_escape(&b, hostile);
	cr_expect_str_eq(b.data, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;");
	buf_release(&b);
}

static struct board *
hostile_board(void)
{
	struct board *b = board_new("t<itle>");
	json_t *findings = json_loads("[{\"class\":\"substitution\",\"confidence\":0.99,"
	                              "\"evidence\":{\"expected\":\"<img src=x onerror=1>\","
	                              "\"observed\":\"</td>\",\"summary\":\"<b>\"}}]",
	                              0, NULL);
	struct board_run run = {.relay = hostile,
	                        .model = "<i>m</i>",
	                        .verdict = "misbehaving",
	                        .reason = "<u>r</u>",
	                        .findings = findings,
	                        .at_ms = 1,
	                        .runs = 1,
	                        .requests = 3,
	                        .ok_requests = 2,
	                        .ttft_ms = 12,
	                        .tokens_per_s = -1};
	board_record(b, &run);
	json_decref(findings);
	return b;
}

Test(web, hostile_relay_text_never_reaches_the_page_raw)
{
	struct board *b = hostile_board();
	struct blob *page = board_get(b, PAGE_STATUS_HTML);
	cr_expect_null(strstr(page->data, "<script>"));
	cr_expect_null(strstr(page->data, "<img"));
	cr_expect_null(strstr(page->data, "<i>m"));
	cr_expect_null(strstr(page->data, "<u>"));
	cr_expect_not_null(strstr(page->data, "&lt;script&gt;"));
	board_put(page);
	struct blob *json = board_get(b, PAGE_RELAYS_JSON);
	json_t *j = json_loadb(json->data, json->len, 0, NULL);
	cr_assert_not_null(j);
	json_t *r = json_array_get(json_object_get(j, "relays"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(r, "relay")), hostile,
	                 "JSON carries the exact text, encoded");
	json_decref(j);
	board_put(json);
	board_free(b);
}

/* method url on the live server: its status, in r (released by the caller). */
static void
fetch(struct http_response *r, const char *url, const char *method)
{
	http_send(r, &(struct http_request){.url = url, .method = method});
	cr_assert_eq(r->rc, CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(r->rc));
}

Test(web, server_routes_and_security_headers)
{
	struct board *b = hostile_board();
	char err[256];
	struct web_server *w = web_start(b, "127.0.0.1", 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	char url[128];
	struct http_response r;
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", web_port(w));
	fetch(&r, url, "GET");
	cr_expect_eq(r.status, 200);
	cr_expect_not_null(strstr(r.body, "<!doctype html>"));
	cr_expect_not_null(
	    strcasestr(r.headers.data, "content-security-policy: default-src 'none'"));
	cr_expect_not_null(strcasestr(r.headers.data, "x-content-type-options: nosniff"));
	/* the site's own script (assets/live.js) only: no inline one, no eval */
	cr_expect_not_null(strcasestr(r.headers.data, "script-src 'self';"));
	cr_expect_null(strcasestr(r.headers.data, "unsafe-"), "no inline script is ever allowed");
	http_response_release(&r);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/relays", web_port(w));
	fetch(&r, url, "GET");
	cr_expect_eq(r.status, 200);
	cr_expect_not_null(strcasestr(r.headers.data, "content-type: application/json"));
	http_response_release(&r);
	fetch(&r, url, "POST");
	cr_expect_eq(r.status, 405, "the server is read-only");
	http_response_release(&r);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/nope", web_port(w));
	fetch(&r, url, "GET");
	cr_expect_eq(r.status, 404);
	http_response_release(&r);
	web_stop(w);
	board_free(b);
}

Test(web, listen_address_parsing)
{
	char host[64];
	int port;
	cr_expect_eq(web_parse_listen("127.0.0.1:8080", host, sizeof host, &port), 0);
	cr_expect_str_eq(host, "127.0.0.1");
	cr_expect_eq(port, 8080);
	cr_expect_eq(web_parse_listen("[::1]:0", host, sizeof host, &port), 0);
	cr_expect_str_eq(host, "::1");
	cr_expect_eq(web_parse_listen("localhost", host, sizeof host, &port), -1);
	cr_expect_eq(web_parse_listen("1.2.3.4:99999", host, sizeof host, &port), -1);
}
