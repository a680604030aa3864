/*
 * Metrics: a real Prometheus (Debian's `prometheus`, installed by `make
 * deps`) scrapes /metrics from a live server whose board holds hostile relay
 * names, finds the target up with no scrape error, and answers queries with
 * the exact label values.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "tests/helpers.h"
#include "web/board.h"
#include "web/server.h"

static const char hostile[] = "evil\"relay\\ with\nnewline <script>";

static json_t *
prom_get(int port, const char *path_and_query)
{
	char url[1100];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path_and_query);
	return http_get_json(url);
}

static json_t *
query(int port, const char *promql)
{
	CURL *c = curl_easy_init();
	char *q = curl_easy_escape(c, promql, 0);
	char path[1024];
	snprintf(path, sizeof path, "/api/v1/query?query=%s", q);
	curl_free(q);
	curl_easy_cleanup(c);
	return prom_get(port, path);
}

Test(metrics, prometheus_scrapes_and_queries, .timeout = 120)
{
	cr_assert_eq(access("/usr/bin/prometheus", X_OK), 0,
	             "prometheus is not installed: run `make deps` (Debian package 'prometheus')");
	struct board *b = board_new("metrics");
	int64_t now = wall_ms();
	long errors[ERR__COUNT] = {0};
	errors[ERR_RATE_LIMITED] = 1;
	struct board_run runs[] = {
	    {.relay = "honest",
	     .model = "gpt-4o",
	     .verdict = "genuine",
	     .reason = "ok",
	     .at_ms = now,
	     .runs = 1,
	     .requests = 4,
	     .ok_requests = 4,
	     .ttft_ms = 250,
	     .tokens_per_s = 80},
	    {.relay = hostile,
	     .model = "m\"x",
	     .verdict = "misbehaving",
	     .reason = "r",
	     .at_ms = now,
	     .runs = 1,
	     .requests = 4,
	     .ok_requests = 3,
	     .ttft_ms = 900,
	     .tokens_per_s = 20,
	     .errors = errors},
	};
	for (size_t i = 0; i < 2; i++)
		board_record(b, &runs[i]);
	char err[256];
	struct web_server *w = web_start(b, "127.0.0.1", 0, err, sizeof err);
	cr_assert_not_null(w, "%s", err);

	char dir[64], cfg[128], data[128], listen[64];
	test_tmpdir_file(dir, sizeof dir, "prom", cfg, sizeof cfg, "prometheus.yml");
	snprintf(data, sizeof data, "--storage.tsdb.path=%s/data", dir);
	/* Prometheus cannot take port 0 and tell us which it got */
	int pport = test_free_port();
	cr_assert_gt(pport, 0);
	snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", pport);
	cr_assert_eq(test_write_file(cfg,
	                             "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
	                             "scrape_configs:\n  - job_name: assay\n    static_configs:\n"
	                             "      - targets: ['127.0.0.1:%d']\n",
	                             web_port(w)),
	             0, "cannot write %s", cfg);
	char config_flag[160];
	snprintf(config_flag, sizeof config_flag, "--config.file=%s", cfg);
	char *argv[] = {(char *)"/usr/bin/prometheus", config_flag, data, listen,
	                (char *)"--log.level=error",   NULL};
	struct child prom;
	cr_assert_eq(child_start(&prom, argv), 0);

	/* wait (bounded) until Prometheus has scraped us once */
	long long deadline = test_now_ms() + 60000;
	const char *health = NULL;
	char last_error[512] = "";
	while (test_now_ms() < deadline) {
		json_t *t = prom_get(pport, "/api/v1/targets");
		json_t *active = json_object_get(json_object_get(t, "data"), "activeTargets");
		json_t *t0 = json_array_get(active, 0);
		const char *h = json_string_value(json_object_get(t0, "health"));
		if (h != NULL && strcmp(h, "unknown") != 0) {
			health = strcmp(h, "up") == 0 ? "up" : "down";
			snprintf(last_error, sizeof last_error, "%s",
			         json_string_value(json_object_get(t0, "lastError")));
		}
		json_decref(t);
		if (health != NULL)
			break;
		usleep(200 * 1000); /* poll interval */
	}
	cr_expect_not_null(health, "Prometheus never scraped the target");
	if (health != NULL) {
		cr_expect_str_eq(health, "up", "scrape failed: %s", last_error);
		cr_expect_str_eq(last_error, "", "scrape error: %s", last_error);
	}

	json_t *r = query(pport, "assay_relay_verdict{verdict=\"genuine\"} == 1");
	json_t *res = json_object_get(json_object_get(r, "data"), "result");
	cr_expect_eq(json_array_size(res), 1, "one genuine relay");
	json_t *metric = json_object_get(json_array_get(res, 0), "metric");
	cr_expect_str_eq(json_string_value(json_object_get(metric, "relay")), "honest");
	json_decref(r);

	r = query(pport, "assay_relay_failed_requests{class=\"rate_limited\"} > 0");
	res = json_object_get(json_object_get(r, "data"), "result");
	cr_assert_eq(json_array_size(res), 1);
	metric = json_object_get(json_array_get(res, 0), "metric");
	cr_expect_str_eq(json_string_value(json_object_get(metric, "relay")), hostile,
	                 "label value did not survive the exposition format");
	cr_expect_str_eq(json_string_value(json_object_get(metric, "model")), "m\"x");
	json_decref(r);

	r = query(pport, "assay_relay_requests{window=\"24h\",relay=\"honest\"}");
	res = json_object_get(json_object_get(r, "data"), "result");
	json_t *value = json_object_get(json_array_get(res, 0), "value");
	cr_expect_str_eq(json_string_value(json_array_get(value, 1)), "4");
	json_decref(r);

	cr_expect_eq(child_stop(&prom, 20000), 0, "prometheus did not stop cleanly");
	web_stop(w);
	board_free(b);
	cr_expect_eq(test_rmtree(dir), 0);
}
