/*
 * Alerts (web/alerts.h, issue 18): every sink kind receives its message on
 * a loopback listener, in its service's shape; the webhook's signature is
 * the HMAC of RFC 4231's vectors; a failed delivery is retried and arrives
 * once; a 4xx is final; a flapping relay is damped; serve tells an outage
 * once, within the runs that open it, and a relay's text cannot break a
 * message's lines.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "base/yamltree.h"
#include "scoring/timeline.h"
#include "tests/helpers.h"
#include "web/alerts.h"

/* ---- a loopback HTTP receiver on a thread of its own ---- */

#define GOT_MAX 64
struct got {
	char path[200];
	char sig[100], ts[40], event[40], delivery[60], title[200];
	char *body;
};

struct receiver {
	struct event_base *base;
	struct evhttp *http;
	pthread_t thread;
	pthread_mutex_t mu;
	int port;
	struct got got[GOT_MAX];
	int n;
	int fail_first; /* answer this many requests 503 first */
	int status;     /* then this (0: 200) */
};

static void
copy_header(struct evkeyvalq *h, const char *name, char *out, size_t n)
{
	const char *v = evhttp_find_header(h, name);
	snprintf(out, n, "%s", v ? v : "");
}

static void
receive_cb(struct evhttp_request *req, void *arg)
{
	struct receiver *r = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	pthread_mutex_lock(&r->mu);
	int status = 200;
	if (r->n < GOT_MAX) {
		struct got *g = &r->got[r->n];
		snprintf(g->path, sizeof g->path, "%s", evhttp_request_get_uri(req));
		struct evkeyvalq *h = evhttp_request_get_input_headers(req);
		copy_header(h, "X-Assay-Signature", g->sig, sizeof g->sig);
		copy_header(h, "X-Assay-Timestamp", g->ts, sizeof g->ts);
		copy_header(h, "X-Assay-Event", g->event, sizeof g->event);
		copy_header(h, "X-Assay-Delivery", g->delivery, sizeof g->delivery);
		copy_header(h, "Title", g->title, sizeof g->title);
		g->body = xcalloc(1, len + 1);
		evbuffer_copyout(in, g->body, len);
		if (r->n < r->fail_first)
			status = 503;
		else if (r->status != 0)
			status = r->status;
		r->n++;
	}
	pthread_mutex_unlock(&r->mu);
	evhttp_send_reply(req, status, status == 200 ? "OK" : "No", NULL);
}

static void *
receiver_run(void *arg)
{
	struct receiver *r = arg;
	event_base_dispatch(r->base);
	return NULL;
}

static void
receiver_start(struct receiver *r, int fail_first, int status)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	r->fail_first = fail_first;
	r->status = status;
	/* loopbreak comes from the test's thread */
	evthread_use_pthreads();
	r->base = event_base_new();
	r->http = evhttp_new(r->base);
	evhttp_set_gencb(r->http, receive_cb, r);
	r->port = test_evhttp_listen(r->http);
	cr_assert_gt(r->port, 0);
	/* keeps the loop alive with nothing to do */
	struct event *keep = event_new(r->base, -1, EV_PERSIST, NULL, NULL);
	struct timeval day = {86400, 0};
	event_add(keep, &day);
	pthread_create(&r->thread, NULL, receiver_run, r);
}

static int
receiver_count(struct receiver *r)
{
	pthread_mutex_lock(&r->mu);
	int n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* Wait (at most ms) for n requests; how many came. */
static int
receiver_wait(struct receiver *r, int n, int ms)
{
	int64_t until = now_us() + ms * 1000LL;
	while (receiver_count(r) < n && now_us() < until)
		usleep(10000);
	return receiver_count(r);
}

static void
receiver_stop(struct receiver *r)
{
	event_base_loopbreak(r->base);
	pthread_join(r->thread, NULL);
	evhttp_free(r->http);
	event_base_free(r->base);
	for (int i = 0; i < r->n && i < GOT_MAX; i++)
		free(r->got[i].body);
}

/* ---- a loopback SMTP server that takes one message ---- */

struct smtp {
	int fd, port;
	pthread_t thread;
	char data[8192];
	char from[200], rcpt[400];
	int done;
};

static int
smtp_line(int fd, char *line, size_t n)
{
	size_t k = 0;
	char c;
	while (k + 1 < n && read(fd, &c, 1) == 1) {
		line[k++] = c;
		if (c == '\n')
			break;
	}
	line[k] = '\0';
	return (int)k;
}

static void
say(int fd, const char *s)
{
	ssize_t w = write(fd, s, strlen(s));
	(void)w;
}

static void *
smtp_run(void *arg)
{
	struct smtp *m = arg;
	int c = accept(m->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	say(c, "220 fake ESMTP\r\n");
	char line[1024];
	while (smtp_line(c, line, sizeof line) > 0) {
		if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "HELO", 4) == 0) {
			say(c, "250-fake\r\n250 8BITMIME\r\n");
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			snprintf(m->from, sizeof m->from, "%.150s", line + 10);
			say(c, "250 OK\r\n");
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			size_t have = strlen(m->rcpt);
			snprintf(m->rcpt + have, sizeof m->rcpt - have, "%.150s", line + 8);
			say(c, "250 OK\r\n");
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			say(c, "354 go on\r\n");
			size_t k = 0;
			while (smtp_line(c, line, sizeof line) > 0 && strcmp(line, ".\r\n") != 0) {
				size_t n = strlen(line);
				if (k + n < sizeof m->data) {
					memcpy(m->data + k, line, n);
					k += n;
				}
			}
			m->data[k] = '\0';
			m->done = 1;
			say(c, "250 queued\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			say(c, "221 bye\r\n");
			break;
		} else {
			say(c, "250 OK\r\n");
		}
	}
	close(c);
	return NULL;
}

static void
smtp_start(struct smtp *m)
{
	memset(m, 0, sizeof *m);
	m->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(m->fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(m->fd, 4), 0);
	socklen_t len = sizeof a;
	getsockname(m->fd, (struct sockaddr *)&a, &len);
	m->port = ntohs(a.sin_port);
	pthread_create(&m->thread, NULL, smtp_run, m);
}

/* ---- helpers ---- */

static struct ynode *
yaml(const char *text)
{
	char err[512];
	struct ynode *n = ytree_load_string(text, strlen(text), "alerts.yaml", err, sizeof err);
	cr_assert_not_null(n, "%s", err);
	return n;
}

static int
load(const char *text, struct alerts_config *c, char *err, size_t errlen)
{
	struct ynode *n = yaml(text);
	int rc = alerts_config_load(n, "alerts.yaml", c, err, errlen);
	ytree_free(n);
	return rc;
}

/* A change that opens an outage (as the timeline reports it). */
static struct timeline_change
outage_opened(const char *detail)
{
	struct timeline_change ch = {0};
	ch.n_incidents = 1;
	ch.incidents[0] = (struct timeline_incident){
	    .relay = "r",
	    .model = "gpt-4o",
	    .kind = "outage",
	    .opened_ms = 1764547200000LL,
	    .cause = "http_5xx",
	    .detail = detail,
	    .failed_runs = 3,
	};
	return ch;
}

/* ---- tests ---- */

/* RFC 4231, test cases 1 and 2 (HMAC-SHA-256). */
Test(alerts, hmac_matches_rfc4231)
{
	char out[65];
	alerts_hmac_hex("Jefe", "what do ya want for nothing?", 28, out);
	cr_expect_str_eq(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	char key[21];
	memset(key, 0x0b, 20);
	key[20] = '\0';
	alerts_hmac_hex(key, "Hi There", 8, out);
	cr_expect_str_eq(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

/* A password goes to SMTP without TLS only on this machine: the host as
 * curl parses it, not a name that starts like a loopback address. */
Test(alerts, loopback_is_the_host_not_a_prefix)
{
	cr_expect(alerts_url_is_loopback("smtp://127.0.0.1:25"));
	cr_expect(alerts_url_is_loopback("smtp://127.3.4.5"));
	cr_expect(alerts_url_is_loopback("smtp://localhost:2525"));
	cr_expect(alerts_url_is_loopback("smtp://[::1]:25"));
	cr_expect_not(alerts_url_is_loopback("smtp://127.mail.example.com:25"));
	cr_expect_not(alerts_url_is_loopback("smtp://localhost.example.com:25"));
	cr_expect_not(alerts_url_is_loopback("smtp://127.0.0.1@mail.example.com:25"));
	cr_expect_not(alerts_url_is_loopback("smtps://mail.example.com:465"));
}

Test(alerts, config_errors_name_file_and_line)
{
	struct alerts_config c;
	char err[512];
	cr_expect_eq(load("sinks:\n  - {kind: pager}\n", &c, err, sizeof err), -1);
	cr_expect(strstr(err, "alerts.yaml:2:") && strstr(err, "'pager'"), "%s", err);
	alerts_config_free(&c);
	/* a Slack URL is a credential: only from the environment */
	cr_expect_eq(load("sinks:\n  - {kind: slack, url: 'https://hooks.slack.com/x'}\n", &c, err,
	                  sizeof err),
	             -1);
	cr_expect(strstr(err, "url_env") != NULL, "%s", err);
	alerts_config_free(&c);
	unsetenv("ASSAY_TEST_UNSET");
	cr_expect_eq(load("sinks:\n  - kind: webhook\n    url: http://127.0.0.1:9/\n"
	                  "    secret_env: ASSAY_TEST_UNSET\n",
	                  &c, err, sizeof err),
	             -1);
	cr_expect(strstr(err, "alerts.yaml:4:") && strstr(err, "ASSAY_TEST_UNSET"), "%s", err);
	alerts_config_free(&c);
	cr_expect_eq(load("sinks:\n  - {kind: email, smtp_url: 'smtp://127.0.0.1:25', from: "
	                  "a@b.c}\n",
	                  &c, err, sizeof err),
	             -1);
	cr_expect(strstr(err, "to") != NULL, "%s", err);
	alerts_config_free(&c);
	cr_expect_eq(load("sinks:\n  - {kind: webhook, url: 'http://x/', events: [outage, "
	                  "weather]}\n",
	                  &c, err, sizeof err),
	             -1);
	cr_expect(strstr(err, "'weather'") != NULL, "%s", err);
	alerts_config_free(&c);
}

/* One outage to every kind of sink: each gets its service's shape. */
Test(alerts, every_sink_gets_its_shape, .timeout = 60)
{
	struct receiver r;
	receiver_start(&r, 0, 0);
	struct smtp m;
	smtp_start(&m);
	char cfg[2048], url[100];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", r.port);
	setenv("ASSAY_T_SECRET", "s3cret-hmac-key", 1);
	char hook[200];
	snprintf(hook, sizeof hook, "%s/slack/T000/B000/XXXX", url);
	setenv("ASSAY_T_SLACK", hook, 1);
	snprintf(hook, sizeof hook, "%s/discord/api/webhooks/1/abc", url);
	setenv("ASSAY_T_DISCORD", hook, 1);
	setenv("ASSAY_T_TG", "123:tok", 1);
	snprintf(cfg, sizeof cfg,
	         "page_url: https://status.example/\n"
	         "sinks:\n"
	         "  - {kind: webhook, url: '%s/hook', secret_env: ASSAY_T_SECRET}\n"
	         "  - {kind: slack, url_env: ASSAY_T_SLACK}\n"
	         "  - {kind: discord, url_env: ASSAY_T_DISCORD}\n"
	         "  - {kind: telegram, token_env: ASSAY_T_TG, chat_id: '-100042', api_base: '%s'}\n"
	         "  - {kind: ntfy, server: '%s', topic: relays}\n"
	         "  - {kind: email, smtp_url: 'smtp://127.0.0.1:%d', from: assay@example.org, "
	         "to: [ops@example.org, b@example.org]}\n",
	         url, url, url, m.port);
	struct alerts_config c;
	char err[512];
	cr_assert_eq(load(cfg, &c, err, sizeof err), 0, "%s", err);
	struct alerts *a = alerts_new(&c, "Board");
	cr_assert_not_null(a);
	/* relay text with a line break, markup and a mention */
	struct timeline_change ch = outage_opened("bad <gateway> & @everyone\r\nSubject: forged");
	alerts_run(a, "r", "gpt-4o", "unreachable", "", &ch, 1764547500000LL);
	cr_expect_eq(receiver_wait(&r, 5, 20000), 5);
	int64_t until = now_us() + 20000000;
	while (!m.done && now_us() < until)
		usleep(10000);
	alerts_free(a, 5000);
	alerts_config_free(&c);
	pthread_mutex_lock(&r.mu);
	int seen[5] = {0};
	for (int i = 0; i < r.n; i++) {
		struct got *g = &r.got[i];
		json_t *j = json_loads(g->body, 0, NULL);
		if (strcmp(g->path, "/hook") == 0) {
			seen[0] = 1;
			cr_expect_str_eq(g->event, "outage_started");
			cr_expect_str_eq(json_string_value(json_object_get(j, "event")),
			                 "outage_started");
			cr_expect_str_eq(json_string_value(json_object_get(j, "relay")), "r");
			cr_expect_str_eq(json_string_value(json_object_get(j, "page_url")),
			                 "https://status.example/");
			cr_expect(g->delivery[0] != '\0');
			/* the signature, recomputed here from the scheme */
			char *signed_text = xasprintf("%s.%s", g->ts, g->body);
			unsigned char mac[32];
			unsigned int n = 0;
			HMAC(EVP_sha256(), "s3cret-hmac-key", 15, (unsigned char *)signed_text,
			     strlen(signed_text), mac, &n);
			char hex[80] = "sha256=";
			for (unsigned k = 0; k < n; k++)
				snprintf(hex + 7 + 2 * k, 3, "%02x", mac[k]);
			cr_expect_str_eq(g->sig, hex);
			free(signed_text);
			const char *text = json_string_value(json_object_get(j, "text"));
			cr_expect(text && strchr(text, '\r') == NULL && strchr(text, '\n') == NULL,
			          "relay text broke a line: %s", text);
		} else if (strncmp(g->path, "/slack/", 7) == 0) {
			seen[1] = 1;
			const char *t = json_string_value(json_object_get(j, "text"));
			cr_expect(t && strstr(t, "&lt;gateway&gt; &amp;") && !strchr(t, '<'), "%s",
			          t);
		} else if (strncmp(g->path, "/discord/", 9) == 0) {
			seen[2] = 1;
			cr_expect(json_string_value(json_object_get(j, "content")) != NULL);
			json_t *parse =
			    json_object_get(json_object_get(j, "allowed_mentions"), "parse");
			cr_expect(json_is_array(parse) && json_array_size(parse) == 0,
			          "mentions are not turned off: %s", g->body);
		} else if (strcmp(g->path, "/bot123:tok/sendMessage") == 0) {
			seen[3] = 1;
			cr_expect_str_eq(json_string_value(json_object_get(j, "chat_id")),
			                 "-100042");
			cr_expect(strstr(json_string_value(json_object_get(j, "text")),
			                 "outage started") != NULL);
		} else if (strcmp(g->path, "/relays") == 0) {
			seen[4] = 1;
			cr_expect_str_eq(g->title, "r gpt-4o: outage started");
			cr_expect(strstr(g->body, "http_5xx") != NULL, "%s", g->body);
		}
		json_decref(j);
	}
	pthread_mutex_unlock(&r.mu);
	for (int k = 0; k < 5; k++)
		cr_expect(seen[k], "sink %d got nothing", k);
	cr_expect(m.done, "no mail came");
	cr_expect(strstr(m.from, "<assay@example.org>") != NULL, "%s", m.from);
	cr_expect(strstr(m.rcpt, "<ops@example.org>") && strstr(m.rcpt, "<b@example.org>"), "%s",
	          m.rcpt);
	cr_expect(strstr(m.data, "Subject: [Assay] r gpt-4o: outage started\r\n") != NULL, "%s",
	          m.data);
	/* the relay's "Subject: forged" stays inside the body's line */
	cr_expect(strstr(m.data, "\r\nSubject: forged") == NULL, "a header was forged:\n%s",
	          m.data);
	pthread_join(m.thread, NULL);
	close(m.fd);
	receiver_stop(&r);
}

/* A 503 is tried again (once more here) and arrives once; a 400 is final. */
Test(alerts, retried_once_delivered_and_4xx_final, .timeout = 60)
{
	struct receiver r;
	receiver_start(&r, 1, 0);
	char cfg[512];
	snprintf(cfg, sizeof cfg,
	         "retry: 50ms\nsinks:\n  - {kind: webhook, url: 'http://127.0.0.1:%d/h'}\n",
	         r.port);
	struct alerts_config c;
	char err[512];
	cr_assert_eq(load(cfg, &c, err, sizeof err), 0, "%s", err);
	struct alerts *a = alerts_new(&c, "B");
	struct timeline_change ch = outage_opened("");
	/* the account's credit at the last look goes with the outage */
	alerts_set_credit(a, "r", 12.5);
	alerts_run(a, "r", "gpt-4o", "unreachable", "", &ch, 1764547500000LL);
	cr_expect_eq(receiver_wait(&r, 2, 10000), 2);
	cr_expect(strstr(r.got[1].body, "$12.50 of credit left") != NULL, "%s", r.got[1].body);
	struct alerts_stats st;
	int64_t until = now_us() + 5000000;
	do {
		alerts_stats(a, &st);
	} while (st.delivered == 0 && now_us() < until && usleep(5000) == 0);
	cr_expect_eq(st.delivered, 1);
	usleep(300000); /* time for a duplicate, if there were one */
	cr_expect_eq(receiver_count(&r), 2, "one failure and one delivery, no more");
	alerts_free(a, 1000);
	cr_expect_str_eq(r.got[0].delivery, r.got[1].delivery, "a retry is the same delivery");
	receiver_stop(&r);

	receiver_start(&r, 0, 400);
	snprintf(cfg, sizeof cfg,
	         "retry: 50ms\nsinks:\n  - {kind: webhook, url: 'http://127.0.0.1:%d/h'}\n",
	         r.port);
	alerts_config_free(&c);
	cr_assert_eq(load(cfg, &c, err, sizeof err), 0, "%s", err);
	a = alerts_new(&c, "B");
	alerts_run(a, "r", "gpt-4o", "unreachable", "", &ch, 1764547500000LL);
	cr_expect_eq(receiver_wait(&r, 1, 10000), 1);
	until = now_us() + 5000000;
	do {
		alerts_stats(a, &st);
	} while (st.failed == 0 && now_us() < until && usleep(5000) == 0);
	cr_expect_eq(st.failed, 1);
	usleep(300000);
	cr_expect_eq(receiver_count(&r), 1, "a 400 was tried again");
	alerts_free(a, 1000);
	alerts_config_free(&c);
	receiver_stop(&r);
}

/* The hub's quorum: an outage declared and ended by the regions, told as
 * the outage kinds a sink already filters on, marked as the quorum's. */
Test(alerts, the_quorums_outage_is_told_as_an_outage, .timeout = 60)
{
	struct receiver r;
	receiver_start(&r, 0, 0);
	char cfg[512];
	snprintf(cfg, sizeof cfg,
	         "sinks:\n  - {kind: webhook, url: 'http://127.0.0.1:%d/h', events: [outage, "
	         "recovered]}\n",
	         r.port);
	struct alerts_config c;
	char err[512];
	cr_assert_eq(load(cfg, &c, err, sizeof err), 0, "%s", err);
	struct alerts *a = alerts_new(&c, "B");
	int64_t t = 1764547200000LL;
	alerts_quorum_outage(a, "r", "gpt-4o", 1, 2, 3, "eu down, us down, ap up 120 ms", t, t);
	alerts_quorum_outage(a, "r", "gpt-4o", 0, 0, 3, "eu up, us up, ap up", t, t + 30 * 60000);
	cr_expect_eq(receiver_wait(&r, 2, 5000), 2);
	alerts_free(a, 1000);
	alerts_config_free(&c);
	cr_expect_str_eq(r.got[0].event, "outage_started");
	cr_expect_str_eq(r.got[1].event, "outage_ended");
	json_t *one = json_loads(r.got[0].body, 0, NULL), *two = json_loads(r.got[1].body, 0, NULL);
	cr_assert_not_null(one);
	cr_assert_not_null(two);
	cr_expect(json_is_true(json_object_get(one, "quorum")), "%s", r.got[0].body);
	cr_expect_eq(json_integer_value(json_object_get(one, "regions_down")), 2);
	cr_expect(strstr(r.got[0].body, "latest runs of 2 of 3 regions: eu down, us down") != NULL,
	          "%s", r.got[0].body);
	cr_expect(strstr(r.got[1].body, "(30 min)") != NULL, "%s", r.got[1].body);
	json_decref(one);
	json_decref(two);
	receiver_stop(&r);
}

/* Alerts of verdict changes only, damped 30 minutes, to a webhook
 * receiver r started here; c is the config, for the caller to free. */
static struct alerts *
verdict_alerts(struct receiver *r, struct alerts_config *c)
{
	receiver_start(r, 0, 0);
	char cfg[512], err[512];
	snprintf(cfg, sizeof cfg,
	         "damping: 30m\nsinks:\n  - {kind: webhook, url: 'http://127.0.0.1:%d/h', events: "
	         "[verdict]}\n",
	         r->port);
	cr_assert_eq(load(cfg, c, err, sizeof err), 0, "%s", err);
	return alerts_new(c, "B");
}

/* Verdicts: a change is told; flapping within the damping period is
 * folded; a new target's first genuine verdict is no news. */
Test(alerts, verdict_changes_are_damped, .timeout = 60)
{
	struct receiver r;
	struct alerts_config c;
	struct alerts *a = verdict_alerts(&r, &c);
	int64_t t = 1764547200000LL, min = 60000;
	struct timeline_change first = {.new_segment = 1}; /* no earlier segment */
	struct timeline_change same = {0};
	struct timeline_change to_bad = {.new_segment = 1}, to_good = {.new_segment = 1};
	snprintf(to_bad.prev_verdict, sizeof to_bad.prev_verdict, "genuine");
	snprintf(to_good.prev_verdict, sizeof to_good.prev_verdict, "misbehaving");
	alerts_run(a, "r", "m", "genuine", "ok", &first, t);
	alerts_run(a, "r", "m", "genuine", "ok", &same, t + min);
	alerts_run(a, "r", "m", "misbehaving", "served qwen", &to_bad, t + 2 * min); /* told */
	alerts_run(a, "r", "m", "genuine", "ok", &to_good, t + 3 * min);             /* damped */
	alerts_run(a, "r", "m", "misbehaving", "again", &to_bad, t + 4 * min);       /* back */
	alerts_run(a, "r", "m", "genuine", "ok", &to_good, t + 5 * min);             /* damped */
	cr_expect_eq(receiver_wait(&r, 1, 5000), 1);
	/* 40 minutes on, still genuine: the change is due and told, folded */
	alerts_run(a, "r", "m", "genuine", "ok", &same, t + 40 * min);
	cr_expect_eq(receiver_wait(&r, 2, 5000), 2);
	usleep(200000);
	cr_expect_eq(receiver_count(&r), 2);
	alerts_free(a, 1000);
	alerts_config_free(&c);
	json_t *one = json_loads(r.got[0].body, 0, NULL), *two = json_loads(r.got[1].body, 0, NULL);
	cr_expect_str_eq(json_string_value(json_object_get(one, "from")), "genuine");
	cr_expect_str_eq(json_string_value(json_object_get(one, "to")), "misbehaving");
	cr_expect_str_eq(json_string_value(json_object_get(two, "from")), "misbehaving");
	cr_expect_str_eq(json_string_value(json_object_get(two, "to")), "genuine");
	cr_expect_eq(json_integer_value(json_object_get(two, "folded")), 3,
	             "three changes since the first alert: %s", r.got[1].body);
	json_decref(one);
	json_decref(two);
	receiver_stop(&r);
}

/* The hub's pooled ledger: its verdicts are told as verdict changes marked
 * "pooled", damped apart from serve's own runs' verdicts on the same
 * relay-model; what a restarted hub restored is the baseline (no news). */
Test(alerts, the_pooled_ledgers_verdicts_are_told_apart, .timeout = 60)
{
	struct receiver r;
	struct alerts_config c;
	struct alerts *a = verdict_alerts(&r, &c);
	int64_t t = 1764547200000LL, min = 60000;
	/* restored genuine: nothing to tell */
	alerts_pooled_verdict(a, "r", "m", "genuine", NULL, "genuine", t);
	/* serve's own runs: genuine, then misbehaving (told, serve's) */
	struct timeline_change first = {.new_segment = 1}, to_bad = {.new_segment = 1};
	snprintf(to_bad.prev_verdict, sizeof to_bad.prev_verdict, "genuine");
	alerts_run(a, "r", "m", "genuine", "ok", &first, t);
	alerts_run(a, "r", "m", "misbehaving", "served qwen", &to_bad, t + min);
	/* the pooled ledger turns suspect a minute later: its own damping, so
	 * told at once */
	alerts_pooled_verdict(a, "r", "m", "suspect", "substitution in 3 regions", "genuine",
	                      t + 2 * min);
	/* and back within the damping period: folded, not told */
	alerts_pooled_verdict(a, "r", "m", "genuine", NULL, "suspect", t + 3 * min);
	cr_expect_eq(receiver_wait(&r, 2, 5000), 2);
	usleep(200000);
	cr_expect_eq(receiver_count(&r), 2);
	alerts_free(a, 1000);
	alerts_config_free(&c);
	json_t *one = json_loads(r.got[0].body, 0, NULL), *two = json_loads(r.got[1].body, 0, NULL);
	cr_assert_not_null(one);
	cr_assert_not_null(two);
	cr_expect_null(json_object_get(one, "pooled"), "serve's own: %s", r.got[0].body);
	cr_expect_str_eq(json_string_value(json_object_get(one, "to")), "misbehaving");
	cr_expect(json_is_true(json_object_get(two, "pooled")), "%s", r.got[1].body);
	cr_expect_str_eq(json_string_value(json_object_get(two, "from")), "genuine");
	cr_expect_str_eq(json_string_value(json_object_get(two, "to")), "suspect");
	cr_expect(strstr(r.got[1].body, "the agents' evidence, pooled") != NULL, "%s",
	          r.got[1].body);
	cr_expect(strstr(r.got[1].body, "substitution in 3 regions") != NULL, "%s", r.got[1].body);
	json_decref(one);
	json_decref(two);
	receiver_stop(&r);
}

/* serve: a relay that is down opens an outage after three runs, told once
 * by the webhook while serve goes on probing it. */
static const char *const need[] = {"down", NULL};

Test(alerts, serve_tells_an_outage_once, .timeout = 120)
{
	struct test_world env;
	test_world_start(&env, "alerts", "tests/data/detect/world.yaml", need, "0.05");
	struct receiver r;
	receiver_start(&r, 0, 0);
	char cfg[300], db[300];
	snprintf(cfg, sizeof cfg, "%s/assay.yaml", env.dir);
	snprintf(db, sizeof db, "%s/assay.db", env.dir);
	cr_assert_eq(
	    test_write_file(cfg,
	                    "listen: 127.0.0.1:0\ndatabase: %s\ninterval: 1s\n"
	                    "timeout: 10s\ntime_scale: 0.05\n"
	                    "alerts:\n  sinks:\n    - {kind: webhook, url: "
	                    "'http://127.0.0.1:%d/h'}\n"
	                    "relays:\n  - {name: down, base_url: '%s', models: [gpt-4o]}\n",
	                    db, r.port, fixture_url(&env.world, "down")),
	    0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	char base[300];
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	cr_expect_eq(receiver_wait(&r, 1, 60000), 1, "no outage alert");
	/* three more failing runs: still one */
	long runs = test_board_runs(base, "down");
	cr_expect_geq(test_wait_board_runs(base, "down", runs + 3, 60000), runs + 3);
	cr_expect_eq(child_stop(&serve, 10000), 0);
	cr_expect_eq(receiver_count(&r), 1, "the outage was told more than once");
	if (r.n > 0) {
		cr_expect_str_eq(r.got[0].event, "outage_started");
		cr_expect(strstr(r.got[0].body, "\"relay\":\"down\"") != NULL, "%s", r.got[0].body);
	}
	receiver_stop(&r);
	cr_expect_eq(test_world_stop(&env), 0);
}
