/*
 * Early warning (scoring/warning.h, issue 18): each sign on fixed run
 * sequences, told once when it starts and once when it ends, nothing for a
 * steady relay; and serve showing a relay whose upstream credit runs out
 * (quota refusals among its answers) as at risk before any outage.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "scoring/warning.h"
#include "tests/helpers.h"

static struct warn_run
healthy(void)
{
	return (struct warn_run){.requests = 30,
	                         .ok = 30,
	                         .ttft_ms = 100,
	                         .listed = 20,
	                         .listed_has_model = 1,
	                         .cert_left_s = INT64_MAX};
}

/* Feed n runs like r; how many times it started (+1) and ended (-1). */
static void
feed(struct warn_state *w, struct warn_run r, int n, int *started, int *ended, char *why,
     size_t len)
{
	for (int i = 0; i < n; i++) {
		int c = warn_update(w, &r, why, len);
		*started += c > 0;
		*ended += c < 0;
	}
}

Test(warning, a_steady_relay_is_never_at_risk)
{
	struct warn_state w;
	warn_init(&w);
	char why[700];
	int s = 0, e = 0;
	struct warn_run r = healthy();
	for (int i = 0; i < 100; i++) {
		r.ttft_ms = 80 + (i * 37) % 60; /* jitter */
		r.ok = 29 + i % 2;
		feed(&w, r, 1, &s, &e, why, sizeof why);
	}
	cr_expect_eq(s, 0, "%s", why);
	/* nothing sent: nothing said, whatever came before */
	struct warn_run none = {0};
	none.cert_left_s = INT64_MAX;
	feed(&w, none, 10, &s, &e, why, sizeof why);
	cr_expect_eq(s, 0);
}

Test(warning, failing_more_then_recovering)
{
	struct warn_state w;
	warn_init(&w);
	char why[700];
	int s = 0, e = 0;
	feed(&w, healthy(), 24, &s, &e, why, sizeof why);
	struct warn_run r = healthy();
	r.ok = 21; /* 70% */
	feed(&w, r, 6, &s, &e, why, sizeof why);
	cr_expect_eq(s, 1);
	cr_expect(strstr(why, "failing more: 70% of requests succeed, 100% before") != NULL, "%s",
	          why);
	feed(&w, healthy(), 6, &s, &e, why, sizeof why);
	cr_expect_eq(e, 1, "%s", why);
	cr_expect_eq(s, 1);
}

Test(warning, slowing_running_dry_shrinking_and_the_certificate)
{
	char why[700];
	struct warn_state w;
	int s = 0, e = 0;
	/* slowing: three times the first-token time */
	warn_init(&w);
	feed(&w, healthy(), 24, &s, &e, why, sizeof why);
	struct warn_run r = healthy();
	r.ttft_ms = 300;
	feed(&w, r, 4, &s, &e, why, sizeof why);
	cr_expect_eq(s, 1);
	cr_expect(strstr(why, "slowing") != NULL, "%s", why);
	/* quota refusals: at once, no baseline needed */
	warn_init(&w);
	s = e = 0;
	r = healthy();
	r.ok = 28;
	r.quota = 2;
	feed(&w, r, 1, &s, &e, why, sizeof why);
	cr_expect_eq(s, 1);
	cr_expect(strstr(why, "running dry: 2 requests refused for quota") != NULL, "%s", why);
	/* the model list: half of it gone, then the model itself */
	warn_init(&w);
	s = e = 0;
	feed(&w, healthy(), 10, &s, &e, why, sizeof why);
	r = healthy();
	r.listed = 10;
	feed(&w, r, 1, &s, &e, why, sizeof why);
	cr_expect(strstr(why, "model list shrinking: 10 models listed, 20 before") != NULL, "%s",
	          why);
	r.listed = 19;
	r.listed_has_model = 0;
	feed(&w, r, 1, &s, &e, why, sizeof why);
	cr_expect(strstr(why, "no longer on the relay's list") != NULL, "%s", why);
	cr_expect_eq(s, 1, "told once while at risk");
	/* a certificate three days from expiry */
	warn_init(&w);
	s = e = 0;
	r = healthy();
	r.cert_left_s = 3 * 86400;
	feed(&w, r, 1, &s, &e, why, sizeof why);
	cr_expect(strstr(why, "certificate expires in 3.0 days") != NULL, "%s", why);
}

/* serve: a relay whose upstream credit runs out (a fifth of its answers
 * are quota refusals) is at risk while it still answers most requests. */
static const char *const need[] = {"running-dry", "honest", NULL};

Test(warning, serve_shows_a_relay_running_dry, .timeout = 120)
{
	struct test_world env;
	test_world_start(&env, "warning", "tests/data/billing/world.yaml", need, "0.05");
	char cfg[300], db[300], base[300];
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	cr_assert_eq(test_write_file(cfg,
	                             "listen: 127.0.0.1:0\ndatabase: %s\ninterval: 1s\n"
	                             "timeout: 10s\ntime_scale: 0.05\nrelays:\n"
	                             "  - {name: running-dry, base_url: '%s', models: [gpt-4o]}\n"
	                             "  - {name: honest, base_url: '%s', models: [gpt-4o]}\n",
	                             db, fixture_url(&env.world, "running-dry"),
	                             fixture_url(&env.world, "honest")),
	             0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	cr_expect_geq(test_wait_board_runs(base, "running-dry", 2, 60000), 2);
	cr_expect_geq(test_wait_board_runs(base, "honest", 2, 60000), 2);
	json_t *e = test_board_entry(base, "running-dry");
	const char *why = json_string_value(json_object_get(e, "at_risk"));
	cr_expect(why != NULL && strstr(why, "running dry") != NULL, "at_risk: %s",
	          why ? why : "(none)");
	cr_expect_str_neq(json_string_value(json_object_get(e, "verdict")), "unreachable");
	json_decref(e);
	e = test_board_entry(base, "honest");
	cr_expect(json_is_null(json_object_get(e, "at_risk")), "the honest relay is at risk: %s",
	          json_string_value(json_object_get(e, "at_risk")));
	json_decref(e);
	cr_expect_eq(child_stop(&serve, 20000), 0);
	cr_expect_eq(test_world_stop(&env), 0);
}

/* A certificate replaced long before its expiry is a sign (a new server or
 * operator behind the name); a renewal near the end is not; either way the
 * warning clears once the old certificate's runs leave the window. */
Test(warning, a_certificate_replaced_early_but_not_a_renewal)
{
	char why[700];
	struct warn_state w;
	int s = 0, e = 0;
	warn_init(&w);
	struct warn_run r = healthy();
	r.cert_left_s = 60 * 86400LL;
	snprintf(r.cert_sha256, sizeof r.cert_sha256, "00112233aabbccdd");
	feed(&w, r, 10, &s, &e, why, sizeof why);
	cr_expect_eq(s, 0, "%s", why);
	r.cert_left_s = 89 * 86400LL;
	snprintf(r.cert_sha256, sizeof r.cert_sha256, "ffeeddcc99887766");
	feed(&w, r, 1, &s, &e, why, sizeof why);
	cr_expect_eq(s, 1);
	cr_expect(strstr(why, "certificate was replaced while the one before had 60 days left "
	                      "(SHA-256 ffeeddcc99887766..., before 00112233aabbccdd...)") != NULL,
	          "%s", why);
	/* held while the old certificate's runs are in the window, then gone */
	feed(&w, r, WARN_RECENT + WARN_BASELINE - 2, &s, &e, why, sizeof why);
	cr_expect_eq(e, 0, "cleared too soon");
	feed(&w, r, 1, &s, &e, why, sizeof why);
	cr_expect_eq(e, 1, "still at risk: %s", why);

	/* renewed with 20 days left: routine */
	warn_init(&w);
	s = e = 0;
	r = healthy();
	r.cert_left_s = 20 * 86400LL;
	snprintf(r.cert_sha256, sizeof r.cert_sha256, "00112233aabbccdd");
	feed(&w, r, 10, &s, &e, why, sizeof why);
	r.cert_left_s = 90 * 86400LL;
	snprintf(r.cert_sha256, sizeof r.cert_sha256, "ffeeddcc99887766");
	feed(&w, r, 10, &s, &e, why, sizeof why);
	cr_expect_eq(s, 0, "a renewal was a warning: %s", why);
	/* no certificate (plain http) says nothing */
	warn_init(&w);
	s = e = 0;
	feed(&w, healthy(), 40, &s, &e, why, sizeof why);
	cr_expect_eq(s, 0);
}

/* The relay's declared price changing is a sign, told once; steady is
 * none. */
Test(warning, the_declared_price_changes)
{
	char why[700];
	struct warn_state w;
	int s = 0, e = 0;
	warn_init(&w);
	struct warn_run r = healthy();
	snprintf(r.price, sizeof r.price, "$2.5/$10 per Mtok");
	feed(&w, r, 20, &s, &e, why, sizeof why);
	cr_expect_eq(s, 0, "%s", why);
	snprintf(r.price, sizeof r.price, "$5/$20 per Mtok");
	feed(&w, r, 3, &s, &e, why, sizeof why);
	cr_expect_eq(s, 1);
	cr_expect(strstr(why, "its declared price changed: $5/$20 per Mtok, $2.5/$10 per Mtok "
	                      "before") != NULL,
	          "%s", why);
	feed(&w, r, WARN_RECENT + WARN_BASELINE, &s, &e, why, sizeof why);
	cr_expect_eq(e, 1, "%s", why);
	cr_expect_eq(s, 1);
}

/* A certificate for other names (another domain) is a sign even when it is
 * a renewal; the same names renewed are not. */
/* A relay behind an edge pool that serves two valid certificates by turns
 * (or names, or a price flipping back) has switched nothing: no warning
 * once the first comes back, however many runs alternate. */
Test(warning, certificates_served_by_turns_are_no_switch)
{
	char why[700];
	struct warn_state w;
	int s = 0, e = 0;
	warn_init(&w);
	struct warn_run a = healthy(), b = healthy();
	a.cert_left_s = b.cert_left_s = 60 * 86400LL;
	snprintf(a.cert_sha256, sizeof a.cert_sha256, "00112233aabbccdd");
	snprintf(b.cert_sha256, sizeof b.cert_sha256, "ffeeddcc99887766");
	snprintf(a.cert_names, sizeof a.cert_names, "relay.example.com");
	snprintf(b.cert_names, sizeof b.cert_names, "relay.example.com,*.cdn.example.net");
	feed(&w, a, 10, &s, &e, why, sizeof why);
	feed(&w, b, 1, &s, &e, why, sizeof why);
	cr_expect_eq(s, 1, "the first switch warns: %s", why);
	warn_init(&w);
	s = e = 0;
	/* the second run is a switch for all it knows; once the first comes
	 * back, nothing switched, and the warning it raised does not return */
	for (int i = 0; i < 3 * (WARN_RECENT + WARN_BASELINE); i++) {
		feed(&w, i % 2 ? b : a, 1, &s, &e, why, sizeof why);
		if (i >= 2)
			cr_expect_null(strstr(why, "certificate"), "run %d: %s", i, why);
	}
	cr_expect_leq(s, 1, "at risk %d times", s);
}

Test(warning, a_certificate_for_another_domain)
{
	char why[700];
	struct warn_state w;
	int s = 0, e = 0;
	warn_init(&w);
	struct warn_run r = healthy();
	r.cert_left_s = 10 * 86400LL; /* renewed near its end: routine by itself */
	snprintf(r.cert_sha256, sizeof r.cert_sha256, "00112233aabbccdd");
	snprintf(r.cert_names, sizeof r.cert_names, "relay.example,api.relay.example");
	feed(&w, r, 10, &s, &e, why, sizeof why);
	r.cert_left_s = 90 * 86400LL;
	snprintf(r.cert_sha256, sizeof r.cert_sha256, "ffeeddcc99887766");
	feed(&w, r, 2, &s, &e, why, sizeof why);
	cr_expect_eq(s, 0, "the same names renewed: %s", why);
	snprintf(r.cert_sha256, sizeof r.cert_sha256, "5555666677778888");
	snprintf(r.cert_names, sizeof r.cert_names, "*.cheap-host.example");
	feed(&w, r, 1, &s, &e, why, sizeof why);
	cr_expect_eq(s, 1);
	cr_expect(strstr(why, "its TLS certificate is for other names: *.cheap-host.example, "
	                      "before relay.example,api.relay.example") != NULL,
	          "%s", why);
	/* ... and, the one it replaced having 90 days left, replaced early */
	cr_expect(strstr(why, "replaced while the one before had 90 days left") != NULL, "%s", why);
}
