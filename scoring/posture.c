/*
 * posture: a relay's security posture (see the header).
 */
#include "scoring/posture.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

void
posture_assess(const struct audit_run *run, int insecure, struct posture *out)
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
	pcre2_match_data_free(md);
	pcre2_code_free(hosts);
	pcre2_code_free(keys);
	pcre2_code_free(priv);
}

void
posture_print(const struct posture *p, FILE *f)
{
	if (p->responses == 0)
		return;
	fputs("\nsecurity posture (facts, not findings):\n", f);
	if (!p->https_url)
		fputs("  - plain HTTP: the key and every prompt travel unencrypted\n", f);
	else if (p->insecure)
		fputs("  - https, but certificate verification was turned off for this audit\n", f);
	else
		fprintf(f, "  - https, certificate verified (%d of %d responses)\n", p->tls,
		        p->responses);
	if (p->https_url)
		fprintf(f, "  - HSTS: %s (%d of %d responses)\n", p->hsts ? "sent" : "not sent",
		        p->hsts, p->responses);
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

json_t *
posture_json(const struct posture *p)
{
	return json_pack("{s:i, s:b, s:b, s:i, s:i, s:i, s:i, s:{s:i, s:s?, s:i, s:i}}",
	                 "responses", p->responses, "https", p->https_url, "verification_off",
	                 p->insecure, "tls_verified", p->tls, "hsts", p->hsts, "cors_wildcard",
	                 p->cors_any, "secret_echoed", p->echoed, "error_leakage", "upstream_host",
	                 p->leak_hosts, "host", p->host[0] ? p->host : NULL, "key_shaped_token",
	                 p->leak_keys, "private_address", p->leak_private);
}
