/*
 * alerts: events from serve's stored runs, delivered to webhooks, chat
 * services and email (see alerts.h).
 *
 * Wire formats, from each service's documentation:
 *   Slack incoming webhooks: POST {"text": ...}; &, < and > escaped as
 *     &amp; &lt; &gt; (api.slack.com/messaging/webhooks, "Escaping text").
 *   Discord webhooks: POST {"content": ... (at most 2,000 characters),
 *     "allowed_mentions": {"parse": []}} so relay text cannot ping anyone
 *     (discord.com/developers/docs/resources/webhook#execute-webhook).
 *   Telegram Bot API: POST {api}/bot{TOKEN}/sendMessage {"chat_id", "text"}
 *     (core.telegram.org/bots/api#sendmessage).
 *   ntfy: POST {server}/{topic}, the message as the body, Title, Priority
 *     and Tags headers, Authorization: Bearer for a token (docs.ntfy.sh/publish).
 *   Email: libcurl's SMTP (MAIL FROM, RCPT TO, the RFC 5322 message as the
 *     upload; libcurl escapes a line that starts with a dot).
 */
#include "web/alerts.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/util.h"
#include "base/yamltree.h"
#include "scoring/timeline.h"

static const char *const event_names[ALERT__COUNT] = {
    "verdict_changed", "outage_started", "outage_ended",    "credential_harvesting",
    "billing",         "at_risk",        "budget_exhausted"};
/* what a config's events: list names them by */
static const char *const event_short[ALERT__COUNT] = {
    "verdict", "outage", "recovered", "harvesting", "billing", "warning", "budget"};
static const char *const sink_names[] = {"webhook",  "slack", "discord",
                                         "telegram", "ntfy",  "email"};
#define N_SINK_KINDS (sizeof sink_names / sizeof sink_names[0])

const char *
alert_event_name(enum alert_event_kind k)
{
	return (unsigned)k < ALERT__COUNT ? event_names[k] : "unknown";
}

/* Relay or config text for a message: valid UTF-8, at most max bytes, no
 * control character (a line break or an escape could forge a line of a
 * mail header or a terminal). The caller frees it. */
static char *
clean_text(const char *s, size_t n, size_t max)
{
	char *out = utf8_sanitize(s, n, max);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	return out;
}

/* ---- the config ---- */

/* An environment variable the sink names must be set (its value is never
 * said). */
static int
take_env(const struct ynode *m, const char *key, const char *file, char **out, char *err,
         size_t errlen)
{
	if (ytree_take_string(m, key, file, out, err, errlen) != 0)
		return -1;
	if (*out != NULL && getenv(*out) == NULL)
		return ytree_error(err, errlen, file, ytree_get(m, key)->line,
		                   "environment variable '%s' (%s) is not set", *out, key);
	return 0;
}

static int
require(const struct ynode *m, const char *file, int have, const char *what, char *err,
        size_t errlen)
{
	if (have)
		return 0;
	return ytree_error(err, errlen, file, m->line, "this %s sink needs %s",
	                   ytree_get(m, "kind") ? ytree_get(m, "kind")->scalar : "", what);
}

static int
sink_load(const struct ynode *m, const char *file, size_t index, struct alert_sink_conf *s,
          char *err, size_t errlen)
{
	static const char *const keys[] = {
	    "kind",      "name",    "events",   "url",          "url_env", "secret_env",
	    "token_env", "chat_id", "api_base", "server",       "topic",   "smtp_url",
	    "from",      "to",      "user_env", "password_env", NULL};
	if (m->kind != YNODE_MAP)
		return ytree_error(err, errlen, file, m->line,
		                   "a sink is a mapping, e.g. {kind: webhook, url: https://...}");
	if (ytree_check_keys(m, file, keys, err, errlen) != 0)
		return -1;
	const struct ynode *k = ytree_get(m, "kind");
	const char *kind;
	if (k == NULL)
		return ytree_error(
		    err, errlen, file, m->line,
		    "a sink needs a kind: webhook, slack, discord, telegram, ntfy or "
		    "email");
	if (ytree_as_string(k, file, &kind, err, errlen) != 0)
		return -1;
	size_t i = 0;
	while (i < N_SINK_KINDS && strcmp(kind, sink_names[i]) != 0)
		i++;
	if (i == N_SINK_KINDS)
		return ytree_error(err, errlen, file, k->line,
		                   "kind is webhook, slack, discord, telegram, ntfy or email, not "
		                   "'%s'",
		                   kind);
	s->kind = (enum alert_sink_kind)i;
	s->events = (1u << ALERT__COUNT) - 1;
	const struct ynode *ev = ytree_get(m, "events");
	if (ev != NULL) {
		if (ev->kind != YNODE_SEQ || ev->n == 0)
			return ytree_error(err, errlen, file, ev->line,
			                   "events is a list of verdict, outage, recovered, "
			                   "harvesting, billing, warning, budget");
		s->events = 0;
		for (size_t e = 0; e < ev->n; e++) {
			const char *name;
			if (ytree_as_string(ev->items[e], file, &name, err, errlen) != 0)
				return -1;
			size_t j = 0;
			while (j < ALERT__COUNT && strcmp(name, event_short[j]) != 0)
				j++;
			if (j == ALERT__COUNT)
				return ytree_error(err, errlen, file, ev->items[e]->line,
				                   "an event is verdict, outage, recovered, "
				                   "harvesting, billing, warning or budget, not "
				                   "'%s'",
				                   name);
			s->events |= 1u << j;
		}
	}
	if (ytree_take_string(m, "name", file, &s->name, err, errlen) != 0 ||
	    ytree_take_string(m, "url", file, &s->url, err, errlen) != 0 ||
	    take_env(m, "url_env", file, &s->url_env, err, errlen) != 0 ||
	    take_env(m, "secret_env", file, &s->secret_env, err, errlen) != 0 ||
	    take_env(m, "token_env", file, &s->token_env, err, errlen) != 0 ||
	    ytree_take_string(m, "chat_id", file, &s->chat_id, err, errlen) != 0 ||
	    ytree_take_string(m, "api_base", file, &s->api_base, err, errlen) != 0 ||
	    ytree_take_string(m, "server", file, &s->api_base, err, errlen) != 0 ||
	    ytree_take_string(m, "topic", file, &s->topic, err, errlen) != 0 ||
	    ytree_take_string(m, "smtp_url", file, &s->smtp_url, err, errlen) != 0 ||
	    ytree_take_string(m, "from", file, &s->from, err, errlen) != 0 ||
	    take_env(m, "user_env", file, &s->user_env, err, errlen) != 0 ||
	    take_env(m, "password_env", file, &s->password_env, err, errlen) != 0)
		return -1;
	const struct ynode *to = ytree_get(m, "to");
	if (to != NULL) {
		const struct ynode *one = to;
		size_t n = to->kind == YNODE_SEQ ? to->n : 1;
		s->to = xcalloc(n, sizeof *s->to);
		for (size_t t = 0; t < n; t++) {
			const char *addr;
			one = to->kind == YNODE_SEQ ? to->items[t] : to;
			if (ytree_as_string(one, file, &addr, err, errlen) != 0)
				return -1;
			if (strpbrk(addr, "\r\n<>") != NULL || strchr(addr, '@') == NULL)
				return ytree_error(err, errlen, file, one->line,
				                   "'%s' is not an email address", addr);
			s->to[s->n_to++] = xstrdup(addr);
		}
	}
	if (s->name == NULL) {
		char name[64];
		snprintf(name, sizeof name, "%s #%zu", sink_names[s->kind], index + 1);
		s->name = xstrdup(name);
	}
	switch (s->kind) {
	case SINK_WEBHOOK:
		return require(m, file, (s->url != NULL) != (s->url_env != NULL),
		               "one of url or url_env", err, errlen);
	case SINK_SLACK:
	case SINK_DISCORD:
		/* the webhook URL is the credential: from the environment */
		return require(m, file, s->url_env != NULL && s->url == NULL,
		               "url_env (its URL is a secret; url is not taken)", err, errlen);
	case SINK_TELEGRAM:
		return require(m, file, s->token_env != NULL && s->chat_id != NULL,
		               "token_env and chat_id", err, errlen);
	case SINK_NTFY:
		return require(m, file, s->topic != NULL, "a topic", err, errlen);
	case SINK_EMAIL:
		if (s->from != NULL && strpbrk(s->from, "\r\n<>") != NULL)
			return ytree_error(err, errlen, file, ytree_get(m, "from")->line,
			                   "from is an email address");
		return require(m, file, s->smtp_url != NULL && s->from != NULL && s->n_to > 0,
		               "smtp_url, from and to", err, errlen);
	}
	return 0;
}

int
alerts_config_load(const struct ynode *n, const char *file, struct alerts_config *c, char *err,
                   size_t errlen)
{
	static const char *const keys[] = {"damping", "retry", "page_url", "sinks", NULL};
	memset(c, 0, sizeof *c);
	c->damping_ms = 30 * 60 * 1000;
	c->retry_base_ms = 1000;
	if (n->kind != YNODE_MAP)
		return ytree_error(err, errlen, file, n->line,
		                   "alerts is a mapping: {damping: 30m, sinks: [...]}");
	if (ytree_check_keys(n, file, keys, err, errlen) != 0)
		return -1;
	const struct ynode *v;
	long long us;
	if ((v = ytree_get(n, "damping")) != NULL) {
		if (ytree_as_duration(v, file, &us, err, errlen) != 0)
			return -1;
		c->damping_ms = us / 1000;
	}
	if ((v = ytree_get(n, "retry")) != NULL) {
		if (ytree_as_duration(v, file, &us, err, errlen) != 0)
			return -1;
		if (us < 1000)
			return ytree_error(err, errlen, file, v->line, "retry is at least 1ms");
		c->retry_base_ms = us / 1000;
	}
	if (ytree_take_string(n, "page_url", file, &c->page_url, err, errlen) != 0)
		return -1;
	v = ytree_get(n, "sinks");
	if (v == NULL || v->kind != YNODE_SEQ || v->n == 0)
		return ytree_error(err, errlen, file, v ? v->line : n->line,
		                   "alerts needs a list of sinks");
	c->sinks = xcalloc(v->n, sizeof *c->sinks);
	for (size_t i = 0; i < v->n; i++) {
		c->n_sinks++;
		if (sink_load(v->items[i], file, i, &c->sinks[i], err, errlen) != 0)
			return -1;
	}
	return 0;
}

static void
sink_conf_free(struct alert_sink_conf *s)
{
	free(s->name);
	free(s->url);
	free(s->url_env);
	free(s->secret_env);
	free(s->token_env);
	free(s->chat_id);
	free(s->api_base);
	free(s->topic);
	free(s->smtp_url);
	free(s->from);
	for (size_t i = 0; i < s->n_to; i++)
		free(s->to[i]);
	free(s->to);
	free(s->user_env);
	free(s->password_env);
}

void
alerts_config_free(struct alerts_config *c)
{
	for (size_t i = 0; i < c->n_sinks; i++)
		sink_conf_free(&c->sinks[i]);
	free(c->sinks);
	free(c->page_url);
	memset(c, 0, sizeof *c);
}

/* ---- signing ---- */

void
alerts_hmac_hex(const char *key, const char *data, size_t len, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data, len, mac, &n);
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	out[64] = '\0';
}

/* ---- the delivery thread ---- */

/* A sink with its secrets read from the environment (wiped on free). */
struct sink {
	struct alert_sink_conf conf; /* copied strings */
	char *url;                   /* resolved: the URL requests go to */
	char *secret, *token, *user, *password;
};

struct job {
	struct job *next;
	size_t sink;
	enum alert_event_kind kind;
	char *title, *text, *json; /* json: the webhook's body */
	char delivery[40];
	int64_t at_ms;
	int tries;
	int64_t due_us; /* monotonic */
};

/* Per target, on the loop thread: the damping of verdict alerts. */
struct damp {
	char *relay, *model;
	int pooled;      /* the hub's pooled ledger's verdict, not serve's own runs' */
	char sent[16];   /* the verdict last told (or the baseline); "" none */
	char seen[16];   /* the latest verdict seen (unreachable left out) */
	int64_t sent_ms; /* when (0: never told) */
	int pending;     /* a change not told yet (damped) */
	long folded;     /* changes since the last told */
	char *reason;    /* the latest changed verdict's reason */
};

struct alerts {
	struct sink *sinks;
	size_t n_sinks;
	int64_t damping_ms, retry_base_ms;
	char *page_url, *title;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	size_t queued_now;
	int stop;
	int64_t stop_by_us;
	long lost_unsaid; /* dropped jobs not yet said in a message */
	struct alerts_stats stats;
	struct damp *damps;
	size_t n_damps;
	json_t *damp_index; /* "pooled:len(relay):relay model" -> its index in damps (a hub
	                     * has 10,000: found by hash, not by walking them) */
	/* per target, the damping of harvesting alerts */
	struct harvest_damp {
		char *relay, *model;
		int64_t sent_ms; /* the last told (0: never) */
		long folded;     /* uses since, not told */
	} * harvests;
	size_t n_harvests;
	struct credit {
		char *relay;
		double usd;
	} * credits;
	size_t n_credits;
	uint64_t seq;
};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static char *
env_dup(const char *name)
{
	const char *v = name ? getenv(name) : NULL;
	return v ? xstrdup(v) : NULL;
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
job_free(struct job *j)
{
	free(j->title);
	free(j->text);
	free(j->json);
	free(j);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

struct upload {
	const char *data;
	size_t len, off;
};

static size_t
upload_read(char *p, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t want = size * n, left = u->len - u->off;
	if (want > left)
		want = left;
	memcpy(p, u->data + u->off, want);
	u->off += want;
	return want;
}

int
alerts_url_is_loopback(const char *url)
{
	/* the host as curl parses the URL (userinfo, brackets, ports), then
	 * the address itself: a name that merely starts like one
	 * ("127.example.com", "localhost.example") is not this machine */
	CURLU *u = curl_url();
	char *host = NULL;
	int yes = 0;
	if (u != NULL &&
	    curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		size_t n = strlen(host);
		struct in_addr a4;
		struct in6_addr a6;
		char inner[64] = "";
		if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof inner)
			snprintf(inner, sizeof inner, "%.*s", (int)(n - 2), host + 1);
		yes =
		    strcasecmp(host, "localhost") == 0 ||
		    (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
		    (inner[0] && inet_pton(AF_INET6, inner, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6));
	}
	curl_free(host);
	curl_url_cleanup(u);
	return yes;
}

/* Slack's three escapes. */
static char *
slack_escape(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	for (; *s; s++) {
		if (*s == '&')
			buf_puts(&b, "&amp;");
		else if (*s == '<')
			buf_puts(&b, "&lt;");
		else if (*s == '>')
			buf_puts(&b, "&gt;");
		else
			buf_putf(&b, "%c", *s);
	}
	return buf_take(&b, NULL);
}

static void
iso_time(int64_t ms, char *out, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One attempt: 0 delivered, 1 to retry, -1 final failure; what happened in
 * why (never a secret: no URL, no token). */
static int
deliver(const struct sink *s, const struct job *j, const char *title, char *why, size_t whylen)
{
	CURL *h = curl_easy_init();
	if (h == NULL) {
		snprintf(why, whylen, "cannot start libcurl");
		return 1;
	}
	struct curl_slist *hdr = NULL;
	char *body = NULL, *url = NULL, *message = NULL;
	struct upload up = {0};
	struct curl_slist *rcpt = NULL;
	const char *text = j->text;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "assay-alerts/0.1");
	switch (s->conf.kind) {
	case SINK_WEBHOOK: {
		url = xstrdup(s->url);
		body = xstrdup(j->json);
		char ts[32], head[128];
		snprintf(ts, sizeof ts, "%lld", (long long)(j->at_ms / 1000));
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		snprintf(head, sizeof head, "X-Assay-Event: %s", alert_event_name(j->kind));
		hdr = curl_slist_append(hdr, head);
		snprintf(head, sizeof head, "X-Assay-Delivery: %s", j->delivery);
		hdr = curl_slist_append(hdr, head);
		snprintf(head, sizeof head, "X-Assay-Timestamp: %s", ts);
		hdr = curl_slist_append(hdr, head);
		if (s->secret != NULL) {
			char *signed_text = xasprintf("%s.%s", ts, body);
			char mac[65];
			alerts_hmac_hex(s->secret, signed_text, strlen(signed_text), mac);
			free(signed_text);
			snprintf(head, sizeof head, "X-Assay-Signature: sha256=%s", mac);
			hdr = curl_slist_append(hdr, head);
		}
		break;
	}
	case SINK_SLACK: {
		url = xstrdup(s->url);
		char *t = slack_escape(text);
		json_t *o = json_pack("{s:s}", "text", t);
		body = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		free(t);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		break;
	}
	case SINK_DISCORD: {
		url = xstrdup(s->url);
		/* at most 2,000 characters: 2,000 bytes is within it; line
		 * breaks kept */
		char *clean = utf8_sanitize(text, strlen(text), 2000);
		json_t *o =
		    json_pack("{s:s,s:{s:[]}}", "content", clean, "allowed_mentions", "parse");
		body = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		free(clean);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		break;
	}
	case SINK_TELEGRAM: {
		url = xasprintf("%s/bot%s/sendMessage",
		                s->conf.api_base ? s->conf.api_base : "https://api.telegram.org",
		                s->token);
		json_t *o = json_pack("{s:s,s:s,s:b}", "chat_id", s->conf.chat_id, "text", text,
		                      "disable_web_page_preview", 1);
		body = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		break;
	}
	case SINK_NTFY: {
		url = xasprintf("%s/%s", s->conf.api_base ? s->conf.api_base : "https://ntfy.sh",
		                s->conf.topic);
		body = xstrdup(text);
		/* a header is ASCII here: anything else becomes '?' */
		char head[300];
		int n = snprintf(head, sizeof head, "Title: ");
		for (const char *c = title; *c && n < (int)sizeof head - 1; c++)
			head[n++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
		head[n] = '\0';
		hdr = curl_slist_append(hdr, head);
		int bad = j->kind == ALERT_OUTAGE || j->kind == ALERT_HARVESTING ||
		          (j->kind == ALERT_VERDICT && strstr(title, "-> misbehaving") != NULL);
		hdr = curl_slist_append(hdr, bad ? "Priority: 4" : "Priority: 3");
		hdr = curl_slist_append(hdr, j->kind == ALERT_RECOVERED ? "Tags: white_check_mark"
		                                                        : "Tags: warning");
		hdr = curl_slist_append(hdr, "Content-Type: text/plain; charset=utf-8");
		if (s->token != NULL) {
			char *a = xasprintf("Authorization: Bearer %s", s->token);
			hdr = curl_slist_append(hdr, a);
			wipe_free(a);
		}
		break;
	}
	case SINK_EMAIL: {
		url = xstrdup(s->conf.smtp_url);
		char date[64], addr[300];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
		struct buf m;
		buf_init(&m, 0);
		buf_putf(&m, "Date: %s\r\nFrom: %s\r\nTo: ", date, s->conf.from);
		for (size_t i = 0; i < s->conf.n_to; i++) {
			buf_putf(&m, "%s%s", i ? ", " : "", s->conf.to[i]);
			snprintf(addr, sizeof addr, "<%s>", s->conf.to[i]);
			rcpt = curl_slist_append(rcpt, addr);
		}
		/* the subject is one line: the title has no line break
		 * (sanitized), UTF-8 as RFC 6532 allows */
		buf_putf(&m,
		         "\r\nSubject: [Assay] %s\r\nMessage-ID: <%s@assay>\r\n"
		         "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		         "Content-Transfer-Encoding: 8bit\r\n\r\n",
		         title, j->delivery);
		for (const char *c = text; *c; c++) {
			if (*c == '\n')
				buf_puts(&m, "\r\n");
			else
				buf_putf(&m, "%c", *c);
		}
		buf_puts(&m, "\r\n");
		message = buf_take(&m, &up.len);
		up.data = message;
		snprintf(addr, sizeof addr, "<%s>", s->conf.from);
		curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr);
		curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, upload_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
		/* a password goes over TLS only, except to this machine */
		curl_easy_setopt(h, CURLOPT_USE_SSL,
		                 alerts_url_is_loopback(url) ? (long)CURLUSESSL_TRY
		                                             : (long)CURLUSESSL_ALL);
		if (s->user != NULL)
			curl_easy_setopt(h, CURLOPT_USERNAME, s->user);
		if (s->password != NULL)
			curl_easy_setopt(h, CURLOPT_PASSWORD, s->password);
		break;
	}
	}
	if (s->conf.kind != SINK_EMAIL) {
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	curl_slist_free_all(rcpt);
	wipe_free(url); /* it may hold a token */
	free(body);
	free(message);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return 1;
	}
	if (s->conf.kind == SINK_EMAIL || (status >= 200 && status < 300))
		return 0;
	snprintf(why, whylen, "HTTP %ld", status);
	return (status >= 400 && status < 500 && status != 408 && status != 429) ? -1 : 1;
}

static void *
worker(void *arg)
{
	struct alerts *a = arg;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		if (a->stop && (a->head == NULL || now_us() >= a->stop_by_us))
			break;
		struct job *j = a->head;
		if (j == NULL) {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		/* the queue is in due order but for retries: pick the first due */
		struct job *due = NULL, *prev = NULL, *p = NULL;
		int64_t soonest = INT64_MAX, now = now_us();
		for (struct job *q = a->head; q != NULL; p = q, q = q->next) {
			if (q->due_us <= now) {
				due = q;
				prev = p;
				break;
			}
			if (q->due_us < soonest)
				soonest = q->due_us;
		}
		if (due == NULL) {
			int64_t until =
			    a->stop && a->stop_by_us < soonest ? a->stop_by_us : soonest;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t wait = until - now;
			ts.tv_sec += (time_t)(wait / 1000000);
			ts.tv_nsec += (long)(wait % 1000000) * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&a->cv, &a->mu, &ts);
			continue;
		}
		if (prev == NULL)
			a->head = due->next;
		else
			prev->next = due->next;
		if (a->tail == due)
			a->tail = prev;
		due->next = NULL;
		a->queued_now--;
		pthread_mutex_unlock(&a->mu);

		const struct sink *s = &a->sinks[due->sink];
		char why[200] = "";
		int r = deliver(s, due, due->title, why, sizeof why);
		due->tries++;

		pthread_mutex_lock(&a->mu);
		if (r == 0) {
			a->stats.delivered++;
			job_free(due);
		} else if (r < 0 || due->tries >= ALERT_TRIES || a->stop) {
			a->stats.failed++;
			fprintf(stderr, "assay: alert %s to %s not delivered after %d tries (%s)\n",
			        alert_event_name(due->kind), s->conf.name, due->tries, why);
			job_free(due);
		} else {
			int64_t wait_ms = a->retry_base_ms << (due->tries - 1);
			fprintf(stderr,
			        "assay: alert %s to %s failed (%s); trying again in %.1f s\n",
			        alert_event_name(due->kind), s->conf.name, why, wait_ms / 1e3);
			due->due_us = now_us() + wait_ms * 1000;
			if (a->tail == NULL)
				a->head = due;
			else
				a->tail->next = due;
			a->tail = due;
			a->queued_now++;
		}
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

struct alerts *
alerts_new(const struct alerts_config *c, const char *title)
{
	struct alerts *a = xcalloc(1, sizeof *a);
	a->n_sinks = c->n_sinks;
	a->sinks = xcalloc(c->n_sinks ? c->n_sinks : 1, sizeof *a->sinks);
	for (size_t i = 0; i < c->n_sinks; i++) {
		const struct alert_sink_conf *f = &c->sinks[i];
		struct sink *s = &a->sinks[i];
		s->conf = (struct alert_sink_conf){
		    .kind = f->kind,
		    .name = dup_or_null(f->name),
		    .events = f->events,
		    .chat_id = dup_or_null(f->chat_id),
		    .api_base = dup_or_null(f->api_base),
		    .topic = dup_or_null(f->topic),
		    .smtp_url = dup_or_null(f->smtp_url),
		    .from = dup_or_null(f->from),
		    .to = xcalloc(f->n_to ? f->n_to : 1, sizeof(char *)),
		    .n_to = f->n_to,
		};
		for (size_t t = 0; t < f->n_to; t++)
			s->conf.to[t] = xstrdup(f->to[t]);
		s->url = f->url_env ? env_dup(f->url_env) : dup_or_null(f->url);
		s->secret = env_dup(f->secret_env);
		s->token = env_dup(f->token_env);
		s->user = env_dup(f->user_env);
		s->password = env_dup(f->password_env);
	}
	a->damping_ms = c->damping_ms;
	a->retry_base_ms = c->retry_base_ms > 0 ? c->retry_base_ms : 1000;
	a->page_url = dup_or_null(c->page_url);
	a->title = xstrdup(title ? title : "Assay");
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (pthread_create(&a->thread, NULL, worker, a) != 0) {
		a->stop = 1;
		alerts_free(a, -1);
		return NULL;
	}
	return a;
}

void
alerts_free(struct alerts *a, int64_t drain_ms)
{
	if (a == NULL)
		return;
	if (drain_ms >= 0) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		a->stop_by_us = now_us() + drain_ms * 1000;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
	}
	for (struct job *j = a->head, *n; j != NULL; j = n) {
		n = j->next;
		job_free(j);
	}
	for (size_t i = 0; i < a->n_sinks; i++) {
		struct sink *s = &a->sinks[i];
		sink_conf_free(&s->conf);
		wipe_free(s->url);
		wipe_free(s->secret);
		wipe_free(s->token);
		wipe_free(s->user);
		wipe_free(s->password);
	}
	free(a->sinks);
	for (size_t i = 0; i < a->n_damps; i++) {
		free(a->damps[i].relay);
		free(a->damps[i].model);
		free(a->damps[i].reason);
	}
	free(a->damps);
	json_decref(a->damp_index);
	for (size_t i = 0; i < a->n_harvests; i++) {
		free(a->harvests[i].relay);
		free(a->harvests[i].model);
	}
	free(a->harvests);
	for (size_t i = 0; i < a->n_credits; i++)
		free(a->credits[i].relay);
	free(a->credits);
	free(a->page_url);
	free(a->title);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}

void
alerts_stats(struct alerts *a, struct alerts_stats *out)
{
	pthread_mutex_lock(&a->mu);
	*out = a->stats;
	pthread_mutex_unlock(&a->mu);
}

/* ---- events into messages ---- */

/* Queue event kind for every sink that takes it. title and text are ours
 * with relay text already sanitized; extra holds the webhook's fields. */
static void
post(struct alerts *a, enum alert_event_kind kind, const char *title, const char *text,
     json_t *extra, int64_t at_ms)
{
	char at[32];
	iso_time(at_ms, at, sizeof at);
	pthread_mutex_lock(&a->mu);
	long lost = a->lost_unsaid;
	a->lost_unsaid = 0;
	pthread_mutex_unlock(&a->mu);
	struct buf t;
	buf_init(&t, 0);
	buf_putf(&t, "%s\n%s\n(%s, %s)", title, text, a->title, at);
	if (a->page_url != NULL)
		buf_putf(&t, "\n%s", a->page_url);
	if (lost > 0)
		buf_putf(&t, "\n(%ld earlier alerts were lost: the queue was full)", lost);
	char *full = buf_take(&t, NULL);
	for (size_t i = 0; i < a->n_sinks; i++) {
		if (!(a->sinks[i].conf.events & (1u << kind)))
			continue;
		struct job *j = xcalloc(1, sizeof *j);
		j->sink = i;
		j->kind = kind;
		j->title = xstrdup(title);
		j->text = xstrdup(full);
		j->at_ms = at_ms;
		snprintf(j->delivery, sizeof j->delivery, "%llx-%llx-%zu",
		         (unsigned long long)at_ms, (unsigned long long)++a->seq, i);
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "event", alert_event_name(kind),
		                      "title", title, "text", text, "at", at, "delivery",
		                      j->delivery, "board", a->title);
		json_object_set_new(o, "at_ms", json_integer((json_int_t)at_ms));
		if (a->page_url != NULL)
			json_object_set_new(o, "page_url", json_string(a->page_url));
		if (extra != NULL)
			json_object_update(o, extra);
		j->json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(o);
		j->due_us = now_us();
		pthread_mutex_lock(&a->mu);
		if (a->queued_now >= ALERT_QUEUE_MAX && a->head != NULL) {
			struct job *old = a->head;
			a->head = old->next;
			if (a->tail == old)
				a->tail = NULL;
			job_free(old);
			a->queued_now--;
			a->stats.dropped++;
			a->lost_unsaid++;
		}
		if (a->tail == NULL)
			a->head = j;
		else
			a->tail->next = j;
		a->tail = j;
		a->queued_now++;
		a->stats.queued++;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
	}
	free(full);
}

static struct damp *
damp_get(struct alerts *a, const char *relay, const char *model, int pooled, int *fresh)
{
	*fresh = 0;
	if (a->damp_index == NULL)
		a->damp_index = json_object();
	char *key =
	    xasprintf("%d:%zu:%s%s", pooled, strlen(relay), relay, model); /* one way to read it */
	json_t *at = json_object_get(a->damp_index, key);
	if (at != NULL) {
		free(key);
		return &a->damps[json_integer_value(at)];
	}
	json_object_set_new_nocheck(a->damp_index, key, json_integer((json_int_t)a->n_damps));
	free(key);
	a->damps = xrealloc(a->damps, (a->n_damps + 1) * sizeof *a->damps);
	struct damp *d = &a->damps[a->n_damps++];
	*d = (struct damp){.relay = xstrdup(relay), .model = xstrdup(model), .pooled = pooled};
	*fresh = 1;
	return d;
}

static void
tell_verdict(struct alerts *a, struct damp *d, const char *verdict, int64_t now_ms)
{
	char title[300];
	char *relay = clean_text(d->relay, strlen(d->relay), 100);
	char *model = clean_text(d->model, strlen(d->model), 100);
	snprintf(title, sizeof title, "%s %s: %s -> %s%s", relay, model,
	         d->sent[0] ? d->sent : "new", verdict,
	         d->pooled ? " (the agents' evidence, pooled)" : "");
	struct buf t;
	buf_init(&t, 0);
	buf_puts(&t, d->reason ? d->reason : "");
	if (d->folded > 1)
		buf_putf(&t, "\n(%ld verdict changes since the last alert, folded into this one)",
		         d->folded);
	char *text = buf_take(&t, NULL);
	json_t *extra =
	    json_pack("{s:s,s:s,s:s,s:s,s:I}", "relay", d->relay, "model", d->model, "from",
	              d->sent[0] ? d->sent : "new", "to", verdict, "folded", (json_int_t)d->folded);
	if (d->pooled)
		json_object_set_new(extra, "pooled", json_true());
	post(a, ALERT_VERDICT, title, text, extra, now_ms);
	json_decref(extra);
	free(text);
	free(relay);
	free(model);
	snprintf(d->sent, sizeof d->sent, "%s", verdict);
	d->sent_ms = now_ms;
	d->pending = 0;
	d->folded = 0;
}

static void verdict_seen(struct alerts *a, const char *relay, const char *model, int pooled,
                         const char *verdict, const char *reason, const char *before,
                         int64_t now_ms);

void
alerts_run(struct alerts *a, const char *relay, const char *model, const char *verdict,
           const char *reason, const struct timeline_change *ch, int64_t now_ms)
{
	if (a == NULL)
		return;
	char *r = clean_text(relay, strlen(relay), 100);
	char *m = clean_text(model, strlen(model), 100);
	/* outages: the timeline's incidents, opened or resolved by this run */
	for (size_t i = 0; i < ch->n_incidents; i++) {
		const struct timeline_incident *inc = &ch->incidents[i];
		if (strcmp(inc->kind, "outage") != 0)
			continue;
		char title[300], at[32], since[32];
		iso_time(inc->opened_ms, since, sizeof since);
		char *detail = clean_text(inc->detail ? inc->detail : "",
		                          strlen(inc->detail ? inc->detail : ""), 300);
		char *text = NULL;
		enum alert_event_kind kind;
		if (inc->resolved_ms != 0) {
			kind = ALERT_RECOVERED;
			iso_time(inc->resolved_ms, at, sizeof at);
			snprintf(title, sizeof title, "%s %s: outage ended", r, m);
			text = xasprintf(
			    "requests succeed again since %s; down from %s (%.0f min, %ld "
			    "runs failed)",
			    at, since, (inc->resolved_ms - inc->opened_ms) / 60000.0,
			    inc->failed_runs);
		} else if (inc->id == 0) {
			kind = ALERT_OUTAGE;
			snprintf(title, sizeof title, "%s %s: outage started", r, m);
			double credit = -1;
			for (size_t c = 0; c < a->n_credits; c++)
				if (strcmp(a->credits[c].relay, relay) == 0)
					credit = a->credits[c].usd;
			char left[96] = "";
			if (credit > 0)
				snprintf(left, sizeof left,
				         "; the account had $%.2f of credit left at the last look",
				         credit);
			text = xasprintf(
			    "no request succeeded in %ld runs in a row, since %s; commonest "
			    "error: %s%s%s%s",
			    inc->failed_runs, since, inc->cause ? inc->cause : "",
			    detail[0] ? " - " : "", detail, left);
		} else {
			free(detail);
			continue; /* an open outage extended: said when it opened */
		}
		json_t *extra = json_pack("{s:s,s:s,s:s,s:s,s:I}", "relay", relay, "model", model,
		                          "opened", since, "cause", inc->cause ? inc->cause : "",
		                          "failed_runs", (json_int_t)inc->failed_runs);
		post(a, kind, title, text, extra, now_ms);
		json_decref(extra);
		free(text);
		free(detail);
	}
	free(r);
	free(m);

	/* verdicts, damped; unreachable is the outage's to say; the baseline:
	 * what the history said before this run */
	verdict_seen(a, relay, model, 0, verdict, reason,
	             ch->new_segment ? ch->prev_verdict : verdict, now_ms);
}

/* relay's model was judged verdict (for reason) at now_ms, by serve's own
 * runs or (pooled) by the hub's ledger of the agents' evidence: told when
 * it changed, damped. before: what was said of it before, the baseline
 * when it is new to the alerts. */
static void
verdict_seen(struct alerts *a, const char *relay, const char *model, int pooled,
             const char *verdict, const char *reason, const char *before, int64_t now_ms)
{
	int fresh;
	struct damp *d = damp_get(a, relay, model, pooled, &fresh);
	if (fresh && strcmp(before, "unreachable") != 0) {
		snprintf(d->sent, sizeof d->sent, "%s", before);
		snprintf(d->seen, sizeof d->seen, "%s", before);
	}
	if (strcmp(verdict, "unreachable") == 0)
		return;
	if (d->sent[0] == '\0' &&
	    (strcmp(verdict, "genuine") == 0 || strcmp(verdict, "inconclusive") == 0)) {
		/* a new target's first verdict is news only when it accuses */
		snprintf(d->sent, sizeof d->sent, "%s", verdict);
		snprintf(d->seen, sizeof d->seen, "%s", verdict);
		return;
	}
	int changed = strcmp(verdict, d->seen) != 0;
	if (changed) {
		d->folded++; /* changes since the last told */
		snprintf(d->seen, sizeof d->seen, "%s", verdict);
		free(d->reason);
		d->reason = clean_text(reason ? reason : "", strlen(reason ? reason : ""), 400);
	}
	int due = d->sent_ms == 0 || now_ms - d->sent_ms >= a->damping_ms;
	if (strcmp(verdict, d->sent) != 0 && due) {
		tell_verdict(a, d, verdict, now_ms);
		return;
	}
	/* not told: damped (it waits for the period's end), or flapped back to
	 * what was last told (nothing to tell; the count goes on) */
	d->pending = strcmp(verdict, d->sent) != 0;
	if (changed) {
		pthread_mutex_lock(&a->mu);
		a->stats.damped++;
		pthread_mutex_unlock(&a->mu);
	}
}

void
alerts_pooled_verdict(struct alerts *a, const char *relay, const char *model, const char *verdict,
                      const char *reason, const char *before, int64_t at_ms)
{
	if (a == NULL)
		return;
	verdict_seen(a, relay, model, 1, verdict, reason, before ? before : "", at_ms);
}

void
alerts_harvesting(struct alerts *a, const char *relay, const char *model, const char *from,
                  int64_t at_ms)
{
	if (a == NULL)
		return;
	struct harvest_damp *h = NULL;
	for (size_t i = 0; i < a->n_harvests && h == NULL; i++)
		if (strcmp(a->harvests[i].relay, relay) == 0 &&
		    strcmp(a->harvests[i].model, model) == 0)
			h = &a->harvests[i];
	if (h == NULL) {
		a->harvests = xrealloc(a->harvests, (a->n_harvests + 1) * sizeof *a->harvests);
		h = &a->harvests[a->n_harvests++];
		*h = (struct harvest_damp){.relay = xstrdup(relay), .model = xstrdup(model)};
	}
	if (h->sent_ms != 0 && at_ms - h->sent_ms < a->damping_ms) {
		/* a harvester uses every run's canary: folded into the next */
		h->folded++;
		pthread_mutex_lock(&a->mu);
		a->stats.damped++;
		pthread_mutex_unlock(&a->mu);
		return;
	}
	long folded = h->folded;
	h->sent_ms = at_ms;
	h->folded = 0;
	char *r = clean_text(relay, strlen(relay), 100);
	char *m = clean_text(model, strlen(model), 100);
	char *who = clean_text(from ? from : "", strlen(from ? from : ""), 100);
	char title[300], at[32], more[120] = "";
	iso_time(at_ms, at, sizeof at);
	snprintf(title, sizeof title, "%s %s: credential harvesting", r, m);
	if (folded > 0)
		snprintf(more, sizeof more, " (and %ld more use%s since the last alert)", folded,
		         folded == 1 ? "" : "s");
	char *text = xasprintf("the canary key planted in a prompt sent to this relay was used at "
	                       "%s%s%s: whoever saw that prompt uses keys they see%s",
	                       at, who[0] ? ", from " : "", who, more);
	json_t *extra = json_pack("{s:s,s:s,s:s,s:I}", "relay", relay, "model", model, "used_from",
	                          who, "folded", (json_int_t)folded);
	post(a, ALERT_HARVESTING, title, text, extra, at_ms);
	json_decref(extra);
	free(text);
	free(r);
	free(m);
	free(who);
}

void
alerts_budget(struct alerts *a, const char *relay, const char *model, const char *why,
              int64_t at_ms)
{
	if (a == NULL)
		return;
	char *r = clean_text(relay, strlen(relay), 100), *m = clean_text(model, strlen(model), 100);
	char title[300];
	snprintf(title, sizeof title, "%s %s: held back, a daily budget is spent", r, m);
	char *text = clean_text(why ? why : "", strlen(why ? why : ""), 600);
	json_t *extra = json_pack("{s:s,s:s}", "relay", relay, "model", model);
	post(a, ALERT_BUDGET, title, text, extra, at_ms);
	json_decref(extra);
	free(text);
	free(r);
	free(m);
}

void
alerts_quorum_outage(struct alerts *a, const char *relay, const char *model, int declared, int down,
                     int of, const char *regions, int64_t opened_ms, int64_t at_ms)
{
	if (a == NULL)
		return;
	char *r = clean_text(relay, strlen(relay), 100), *m = clean_text(model, strlen(model), 100);
	char *where = clean_text(regions ? regions : "", strlen(regions ? regions : ""), 600);
	char title[300], since[32], at[32];
	iso_time(opened_ms, since, sizeof since);
	iso_time(at_ms, at, sizeof at);
	char *text;
	if (declared) {
		snprintf(title, sizeof title, "%s %s: outage started (quorum of regions)", r, m);
		text = xasprintf("no request succeeded in the latest runs of %d of %d regions: %s",
		                 down, of, where);
	} else {
		snprintf(title, sizeof title, "%s %s: outage ended (quorum of regions)", r, m);
		text = xasprintf("no longer down in enough regions since %s; declared down from %s "
		                 "(%.0f min): %s",
		                 at, since, (at_ms - opened_ms) / 60000.0, where);
	}
	json_t *extra =
	    json_pack("{s:s,s:s,s:b,s:i,s:i,s:s}", "relay", relay, "model", model, "quorum", 1,
	              "regions_down", down, "regions", of, "opened", since);
	post(a, declared ? ALERT_OUTAGE : ALERT_RECOVERED, title, text, extra, at_ms);
	json_decref(extra);
	free(text);
	free(where);
	free(r);
	free(m);
}

void
alerts_billing(struct alerts *a, const char *relay, const char *title, const char *text,
               int64_t at_ms)
{
	if (a == NULL)
		return;
	json_t *extra = json_pack("{s:s}", "relay", relay);
	post(a, ALERT_BILLING, title, text, extra, at_ms);
	json_decref(extra);
}

void
alerts_set_credit(struct alerts *a, const char *relay, double usd)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n_credits; i++)
		if (strcmp(a->credits[i].relay, relay) == 0) {
			a->credits[i].usd = usd;
			return;
		}
	a->credits = xrealloc(a->credits, (a->n_credits + 1) * sizeof *a->credits);
	a->credits[a->n_credits++] = (struct credit){xstrdup(relay), usd};
}

void
alerts_at_risk(struct alerts *a, const char *relay, const char *model, const char *why,
               int64_t at_ms)
{
	if (a == NULL)
		return;
	char *r = clean_text(relay, strlen(relay), 100), *m = clean_text(model, strlen(model), 100);
	char title[300];
	snprintf(title, sizeof title, "%s %s: %s", r, m, why ? "at risk" : "no longer at risk");
	char *text = clean_text(why ? why : "the signs that made it at risk are gone",
	                        strlen(why ? why : "the signs that made it at risk are gone"), 600);
	json_t *extra =
	    json_pack("{s:s,s:s,s:b}", "relay", relay, "model", model, "at_risk", why != NULL);
	post(a, ALERT_WARNING, title, text, extra, at_ms);
	json_decref(extra);
	free(text);
	free(r);
	free(m);
}
