/*
 * posture: a relay's security posture (see the header).
 */
#include "scoring/posture.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/util.h"

/* Hosts of the providers relays resell: named in a relay's error, they say
 * where the request went (and often with which account). */
static const char upstream_hosts[] =
    "(?i)\\b(api\\.openai\\.com|api\\.anthropic\\.com|[a-z0-9-]+\\.openai\\.azure\\.com|"
    "bedrock-runtime\\.[a-z0-9-]+\\.amazonaws\\.com|[a-z0-9-]*aiplatform\\.googleapis\\.com|"
    "generativelanguage\\.googleapis\\.com|api\\.deepseek\\.com|dashscope[a-z0-9.-]*"
    "\\.aliyuncs\\.com|openrouter\\.ai|api\\.moonshot\\.(cn|ai)|open\\.bigmodel\\.cn|"
    "api\\.x\\.ai)\\b";
/* Key shapes of the big providers (OpenAI and Anthropic sk-, AWS access
 * keys, Google API keys). Ours are redacted before this runs: one left is
 * somebody else's. */
static const char key_shapes[] =
    "\\b(sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35})\\b";
/* RFC 1918 addresses: the relay's own network. */
static const char private_addr[] =
    "\\b(10\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|192\\.168\\.\\d{1,3}\\.\\d{1,3}|"
    "172\\.(1[6-9]|2\\d|3[01])\\.\\d{1,3}\\.\\d{1,3})\\b";

static pcre2_code *
compile(const char *pat)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re =
	    pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
	if (re == NULL)
		fatal(70, "internal: posture pattern at %zu", (size_t)off);
	return re;
}

/* The match of re in s (its first capture into out when out is not NULL):
 * 1 or 0. */
static int
find(pcre2_code *re, pcre2_match_data *md, const char *s, char *out, size_t n)
{
	if (s == NULL || pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) < 0)
		return 0;
	if (out != NULL && out[0] == '\0') {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		size_t len = ov[3] - ov[2];
		snprintf(out, n, "%.*s", (int)(len < n - 1 ? len : n - 1), s + ov[2]);
	}
	return 1;
}

/* What the plain-HTTP check found, into out. */
static void
assess_plain(const struct plainhttp *plain, struct posture *out)
{
	if (plain == NULL || plain->url == NULL)
		return;
	snprintf(out->plain_url, sizeof out->plain_url, "%s", plain->url);
	const struct observation *o = plain->obs;
	if (o == NULL)
		return;
	out->plain = plain->outcome;
	out->plain_status = o->http_status > 0 ? o->http_status : 0;
	if (o->error_detail != NULL && (o->error != ERR_NONE || o->http_status <= 0))
		snprintf(out->plain_detail, sizeof out->plain_detail, "%s", o->error_detail);
	else if (o->http_status > 0)
		snprintf(out->plain_detail, sizeof out->plain_detail, "HTTP %d%s%s", o->http_status,
		         o->content_type ? ", " : "", o->content_type ? o->content_type : "");
}

void
posture_assess(const struct audit_run *run, int insecure, const struct plainhttp *plain,
               struct posture *out)
{
	memset(out, 0, sizeof *out);
	out->insecure = insecure;
	out->https_url = strncasecmp(run->target.base_url, "https://", 8) == 0;
	pcre2_code *hosts = compile(upstream_hosts), *keys = compile(key_shapes),
	           *priv = compile(private_addr);
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	for (size_t i = 0; i <= run->n_items; i++) {
		const struct observation *o = i < run->n_items ? run->items[i].obs : run->listing;
		if (o == NULL || o->http_status <= 0)
			continue;
		out->responses++;
		out->tls += (o->posture & OBS_POSTURE_TLS) != 0;
		out->hsts += (o->posture & OBS_POSTURE_HSTS) != 0;
		out->cors_any += (o->posture & OBS_POSTURE_CORS_ANY) != 0;
		out->echoed += o->secrets_echoed > 0;
		if (o->tls_version > OBS_TLS_NONE && o->tls_version < OBS_TLS__COUNT) {
			out->tls_versions[o->tls_version]++;
			out->tls_weak += OBS_TLS_WEAK(o->tls_version);
		}
		if (o->cert_not_after != 0 &&
		    (out->cert_not_after == 0 || o->cert_not_after < out->cert_not_after)) {
			out->cert_not_after = o->cert_not_after;
			snprintf(out->cert_sha256, sizeof out->cert_sha256, "%s", o->cert_sha256);
			snprintf(out->cert_names, sizeof out->cert_names, "%s", o->cert_names);
		}
		/* what an error says (the detail, and a failed answer's body) */
		if (o->error == ERR_NONE)
			continue;
		const char *texts[] = {o->error_detail, o->text};
		int host = 0, key = 0, pv = 0;
		for (size_t k = 0; k < 2; k++) {
			host |= find(hosts, md, texts[k], out->host, sizeof out->host);
			key |= find(keys, md, texts[k], NULL, 0);
			pv |= find(priv, md, texts[k], NULL, 0);
		}
		out->leak_hosts += host;
		out->leak_keys += key;
		out->leak_private += pv;
	}
	/* days left as of the audit (its end), not of whenever this runs */
	if (out->cert_not_after != 0) {
		int64_t now_s = (run->finished_ms > 0 ? run->finished_ms : wall_ms()) / 1000;
		out->cert_left_s = out->cert_not_after - now_s;
		out->cert_soon = out->cert_left_s < POSTURE_CERT_WARN_DAYS * 86400LL;
	}
	assess_plain(plain, out);
	pcre2_match_data_free(md);
	pcre2_code_free(hosts);
	pcre2_code_free(keys);
	pcre2_code_free(priv);
}

/* A span of seconds as the report says it: hours under two days, else
 * days, rounded. */
static void
span_text(int64_t s, char *out, size_t n)
{
	int64_t a = s < 0 ? -s : s;
	if (a < 2 * 86400) {
		long long h = (a + 1800) / 3600;
		snprintf(out, n, "%lld hour%s", h, h == 1 ? "" : "s");
	} else {
		snprintf(out, n, "%lld days", (long long)((a + 43200) / 86400));
	}
}

/* A Unix time as a UTC date: for people, or ISO 8601 (JSON). */
static void
utc_text(int64_t t, int iso, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || (iso ? strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm)
	                                       : strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm)) == 0)
		snprintf(out, n, "?");
}

static void
print_tls(const struct posture *p, FILE *f)
{
	for (int v = OBS_TLS__COUNT - 1; v > OBS_TLS_NONE; v--) {
		if (p->tls_versions[v] == 0)
			continue;
		fprintf(
		    f, "  - %s%s on %d of %d responses%s\n", OBS_TLS_WEAK(v) ? "weakness: " : "",
		    obs_tls_version_name((enum obs_tls_version)v), p->tls_versions[v], p->responses,
		    OBS_TLS_WEAK(v) ? " (below TLS 1.2: broken ciphers and "
		                      "downgrades; the API vendors refuse it)"
		                    : "");
	}
	if (p->cert_not_after == 0)
		return;
	char left[32], when[40];
	span_text(p->cert_left_s, left, sizeof left);
	utc_text(p->cert_not_after, 0, when, sizeof when);
	if (p->cert_left_s <= 0)
		fprintf(f, "  - weakness: the server certificate expired %s ago (%s)\n", left,
		        when);
	else if (p->cert_soon)
		fprintf(f,
		        "  - warning: the server certificate expires in %s (%s): under %d days, "
		        "its renewal is late or failing\n",
		        left, when, POSTURE_CERT_WARN_DAYS);
	else
		fprintf(f, "  - server certificate valid for %s more (until %s)\n", left, when);
}

static void
print_plain(const struct posture *p, FILE *f)
{
	if (p->plain_url[0] == '\0')
		return;
	const char *d = p->plain_detail;
	if (p->plain == PLAIN_ANSWERS_API) {
		fprintf(f,
		        "  - weakness: answers the API over plain HTTP (keys would travel in "
		        "clear): GET %s, sent without a key, got %s\n",
		        p->plain_url, d);
		return;
	}
	fprintf(f, "  - plain HTTP: GET %s (no key sent): ", p->plain_url);
	switch (p->plain) {
	case PLAIN_NO_CONNECTION:
		fprintf(f, "no connection (%s)\n", d);
		break;
	case PLAIN_TIMEOUT:
		fprintf(f, "no answer in time (%s)\n", d);
		break;
	case PLAIN_NOT_HTTP:
		fprintf(f, "no HTTP came back (%s): https only\n", d);
		break;
	case PLAIN_TO_HTTPS:
		fprintf(f, "redirected to https (%s)\n", d);
		break;
	case PLAIN_SAYS_HTTPS:
		fprintf(f, "refused, asking for https (%s)\n", d);
		break;
	case PLAIN_NOT_API:
		fprintf(f, "an HTTP answer that is not the API (%s)\n", d);
		break;
	default:
		fputs("not sent\n", f);
		break;
	}
}

void
posture_print(const struct posture *p, FILE *f)
{
	if (p->responses == 0 && p->plain_url[0] == '\0')
		return;
	fputs("\nsecurity posture (facts, not findings):\n", f);
	if (p->responses == 0) {
		/* nothing answered over https: what plain HTTP did is all there is */
		print_plain(p, f);
		return;
	}
	if (!p->https_url)
		fputs("  - plain HTTP: the key and every prompt travel unencrypted\n", f);
	else if (p->insecure)
		fputs("  - https, but certificate verification was turned off for this audit\n", f);
	else
		fprintf(f, "  - https, certificate verified (%d of %d responses)\n", p->tls,
		        p->responses);
	print_tls(p, f);
	if (p->https_url)
		fprintf(f, "  - HSTS: %s (%d of %d responses)\n", p->hsts ? "sent" : "not sent",
		        p->hsts, p->responses);
	print_plain(p, f);
	if (p->cors_any)
		fprintf(f,
		        "  - CORS: access-control-allow-origin: * on %d of %d responses (any web "
		        "page may call it with a key it holds)\n",
		        p->cors_any, p->responses);
	if (p->echoed)
		fprintf(f,
		        "  - %d response%s echoed your key or a secret header back (redacted here, "
		        "never stored)\n",
		        p->echoed, p->echoed == 1 ? "" : "s");
	if (p->leak_hosts)
		fprintf(f, "  - %d error%s named an upstream provider's host (%s)\n", p->leak_hosts,
		        p->leak_hosts == 1 ? "" : "s", p->host);
	if (p->leak_keys)
		fprintf(
		    f,
		    "  - %d error%s held a key-shaped token that is not yours (not shown: it may "
		    "be the relay's upstream key)\n",
		    p->leak_keys, p->leak_keys == 1 ? "" : "s");
	if (p->leak_private)
		fprintf(f, "  - %d error%s named a private network address\n", p->leak_private,
		        p->leak_private == 1 ? "" : "s");
}

static json_t *
tls_json(const struct posture *p)
{
	json_t *v = json_object();
	for (int i = OBS_TLS_NONE + 1; i < OBS_TLS__COUNT; i++)
		if (p->tls_versions[i] > 0)
			json_object_set_new(v, obs_tls_version_name((enum obs_tls_version)i),
			                    json_integer(p->tls_versions[i]));
	return v;
}

static json_t *
cert_json(const struct posture *p)
{
	if (p->cert_not_after == 0)
		return json_null();
	char when[32];
	utc_text(p->cert_not_after, 1, when, sizeof when);
	return json_pack("{s:s, s:f, s:b, s:b}", "not_after", when, "days_left",
	                 (double)(p->cert_left_s / 864) / 100.0, "expires_soon", p->cert_soon,
	                 "expired", p->cert_left_s <= 0);
}

static json_t *
plain_json(const struct posture *p)
{
	if (p->plain_url[0] == '\0')
		return json_null();
	return json_pack("{s:s, s:s, s:b, s:o, s:s?}", "url", p->plain_url, "outcome",
	                 plainhttp_outcome_name(p->plain), "weakness", plainhttp_weak(p->plain),
	                 "status",
	                 p->plain_status > 0 ? json_integer(p->plain_status) : json_null(),
	                 "detail", p->plain_detail[0] ? p->plain_detail : NULL);
}

/* posture_print's lines, without their "  - ": what a page shows. */
static json_t *
summary_json(const struct posture *p)
{
	json_t *lines = json_array();
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return lines;
	posture_print(p, f);
	fclose(f);
	for (char *line = text, *end; line != NULL && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (end != NULL)
			*end = '\0';
		if (strncmp(line, "  - ", 4) == 0)
			json_array_append_new(lines, json_string(line + 4));
	}
	free(text);
	return lines;
}

json_t *
posture_json(const struct posture *p)
{
	json_t *j = json_pack("{s:i, s:b, s:b, s:i, s:i, s:i, s:i, s:{s:i, s:s?, s:i, s:i}}",
	                      "responses", p->responses, "https", p->https_url, "verification_off",
	                      p->insecure, "tls_verified", p->tls, "hsts", p->hsts, "cors_wildcard",
	                      p->cors_any, "secret_echoed", p->echoed, "error_leakage",
	                      "upstream_host", p->leak_hosts, "host", p->host[0] ? p->host : NULL,
	                      "key_shaped_token", p->leak_keys, "private_address", p->leak_private);
	json_object_set_new(j, "tls_versions", tls_json(p));
	json_object_set_new(j, "tls_weak", json_integer(p->tls_weak));
	json_object_set_new(j, "certificate", cert_json(p));
	json_object_set_new(j, "plain_http", plain_json(p));
	json_object_set_new(j, "summary", summary_json(p));
	return j;
}
