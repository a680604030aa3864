/*
 * cmd_audit: `assay audit --base-url URL --model NAME`: one audit now, a
 * verdict with its evidence, and an exit status a script can branch on.
 */
#include <curl/curl.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/options.h"
#include "cli/endpoint_options.h"
#include "cli/verify_thinking.h"
#include "base/util.h"
#include "probes/audit.h"
#include "probes/bedrock.h"
#include "probes/catalog.h"
#include "probes/endpoint.h"
#include "probes/engine.h"
#include "probes/media.h"
#include "scoring/baseline.h"
#include "scoring/detect.h"
#include "scoring/identify.h"
#include "probes/canary.h"
#include "base/yamltree.h"
#include "scoring/listing.h"
#include "scoring/origin.h"
#include "scoring/posture.h"
#include "probes/models_list.h"
#include "probes/plainhttp.h"
#include "scoring/tokenizer.h"
#include "scoring/verdict.h"

static void
usage(FILE *f)
{
	fputs("usage: assay audit --base-url URL --model NAME [--key-env VAR] [--api "
	      "openai|anthropic|responses|converse|gemini|vertex]\n"
	      "                   [--json] [--timeout SECONDS] [--ca-file FILE]\n"
	      "                   [--insecure-skip-tls-verify] [--deep] [--long-context]\n"
	      "                   [--budget TOKENS] [--time-scale X] [--no-color]\n"
	      "                   [--channel CHANNEL] [--verify-key-env VAR]\n"
	      "                   [--header 'Name: value']... [--header-env 'Name: VAR']...\n"
	      "                   [--auth bearer|x-api-key|api-key|sigv4|x-goog-api-key]\n"
	      "                   [--azure-deployment NAME --azure-api-version VERSION]\n"
	      "                   [--bedrock-region REGION]\n"
	      "                   [--vertex-project PROJECT --vertex-region REGION]\n"
	      "                   [--canary-wait DURATION [--canary-listen HOST:PORT]\n"
	      "                    [--canary-url URL] | --canary-report URL]\n"
	      "\n"
	      "Audit one relay and model now. The API key is read from the environment\n"
	      "variable named by --key-env (never from the command line); without it no key\n"
	      "is sent. --auth names the header that carries it (default: Authorization:\n"
	      "Bearer for openai, x-api-key for anthropic). --header adds a request header\n"
	      "the relay needs (repeatable; never shown or stored); --header-env takes the\n"
	      "value from the environment variable VAR. The base URL is written\n"
	      "as the API's SDK takes it (https://relay.example/v1 for openai, the host\n"
	      "alone for anthropic); the endpoint used is printed. --api responses audits the\n"
	      "OpenAI Responses API (POST /v1/responses) on the same base URL as openai.\n"
	      "Azure OpenAI: --base-url https://NAME.openai.azure.com --azure-deployment\n"
	      "DEPLOYMENT --azure-api-version 2024-10-21 audits the deployment's URL\n"
	      "(/openai/deployments/DEPLOYMENT/chat/completions?api-version=...; pasting that\n"
	      "base URL whole does the same), with the key in api-key: by default and no\n"
	      "model list asked; the v1 API is --base-url https://NAME.openai.azure.com/openai/v1\n"
	      "--auth api-key, where --azure-deployment NAME is sent as the body's model.\n"
	      "--model stays the model the relay claims, not the deployment.\n"
	      "Amazon Bedrock: --bedrock-region us-east-1 --model\n"
	      "anthropic.claude-sonnet-4-5-20250929-v1:0 audits InvokeModel at\n"
	      "https://bedrock-runtime.REGION.amazonaws.com (or --base-url, a relay speaking\n"
	      "Bedrock's wire), signed with SigV4 from AWS_ACCESS_KEY_ID,\n"
	      "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (--auth sigv4, the default there;\n"
	      "--auth bearer --key-env VAR sends a Bedrock API key); no model list asked.\n"
	      "Gemini: --api gemini audits Gemini's own API (POST .../v1beta/models/MODEL:\n"
	      "generateContent, :streamGenerateContent?alt=sse) at the host, as @google/genai's\n"
	      "baseUrl (https://generativelanguage.googleapis.com), key in x-goog-api-key:;\n"
	      "its OpenAI-compatible endpoint is --api openai --base-url\n"
	      "https://generativelanguage.googleapis.com/v1beta/openai. Claude on Vertex AI:\n"
	      "--vertex-project P --vertex-region R [--base-url HOST] --model\n"
	      "claude-sonnet-4-5@20250929 audits .../publishers/anthropic/models/MODEL:rawPredict\n"
	      "(and :streamRawPredict) with --key-env naming an OAuth access token (Bearer).\n"
	      "--deep adds long-context and long-output probes (tens of thousands of tokens;\n"
	      "their cost is printed before they are sent). --long-context adds the\n"
	      "long-context tier: one needle in a prompt of about 70% of the window the\n"
	      "model is sold with (128k, 200k, 1M tokens: its cost, printed first, is that\n"
	      "prompt). --budget stops sending once the\n"
	      "tokens billed (prompt and completion, reasoning included) would pass TOKENS\n"
	      "(default 3000, none with --deep; 0: none); what was not sent is listed.\n"
	      "--time-scale says the\n"
	      "endpoint's delays are X times real ones (simulated worlds only; latency is\n"
	      "then compared at that scale). --canary-wait plants a canary key and base URL\n"
	      "in a prompt (a .env file), listens on --canary-listen (default 127.0.0.1:0;\n"
	      "--canary-url is the address the relay can reach it at) and waits DURATION\n"
	      "after the audit: any use of them is credential_harvesting. --canary-report URL\n"
	      "plants a canary on a serve's canary listener at URL instead (canary_url: in its\n"
	      "config: one the relay can reach) and asks it what it saw after the wait.\n"
	      "On a terminal, progress goes to stderr while the audit runs and the verdict is\n"
	      "coloured; --no-color or NO_COLOR (https://no-color.org) turn colour off, and\n"
	      "nothing but the report is written when the output is piped.\n"
	      "--channel says which channel the relay sells a Claude model through (official,\n"
	      "bedrock, vertex, cloud, reverse): serving it through another backend is\n"
	      "channel_misrepresented; without it the backends seen are only reported.\n"
	      "--verify-key-env VAR (an official Anthropic key's variable) asks the Claude\n"
	      "model to think once (up to 1280 output tokens on the relay) and sends the\n"
	      "thinking block back to the official API (--verify-base-url, default\n"
	      "https://api.anthropic.com; one more request there), which refuses a forged\n"
	      "signature; --deep sends the thinking request too, without the check.\n"
	      "Exit status: 0 genuine,\n"
	      "1 misbehaving, 2 usage or config error, 3 suspect, inconclusive or unreachable.\n",
	      f);
}

/* The findings that are (hints 0) or are not (hints 1) accusations. */
static void
print_findings(const struct assessment *a, int hints, FILE *f)
{
	for (size_t i = 0; i < a->n_findings; i++) {
		const struct finding *fd = &a->findings[i];
		if (fd->hint != hints)
			continue;
		fprintf(f, "  - %s, confidence %.3f", fd->class, fd->confidence);
		if (fd->p_adjusted >= 0)
			fprintf(f, " (p = %.2g after correction)", fd->p_adjusted);
		fprintf(f, "\n    %s\n    expected: %s\n    observed: %s\n", fd->summary,
		        fd->expected, fd->observed);
		if (fd->served)
			fprintf(f, "    most likely served: %s\n", fd->served);
	}
}

/* ---- terminal habits: colour and progress ---- */

/* Colour for f: a terminal, no NO_COLOR (https://no-color.org: any
 * non-empty value), no --no-color, and not TERM=dumb. */
static int
use_colour(FILE *f, int no_colour)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	return !no_colour && (nc == NULL || nc[0] == '\0') &&
	       (term == NULL || strcmp(term, "dumb") != 0) && isatty(fileno(f));
}

/* The SGR colour of a verdict: green, yellow, red; unreachable and
 * inconclusive are not judgements of honesty, so plain bold. */
static const char *
verdict_colour(enum verdict v)
{
	switch (v) {
	case VERDICT_GENUINE:
		return "\033[1;32m";
	case VERDICT_SUSPECT:
		return "\033[1;33m";
	case VERDICT_MISBEHAVING:
		return "\033[1;31m";
	default:
		return "\033[1m";
	}
}

/*
 * Progress on stderr while the audit runs, when stderr is a terminal:
 * one line, rewritten in place, with requests done of planned, the time
 * so far and the probes in flight; wiped before the report.
 */
struct progress {
	struct event *tick;
	const struct audit_run *run; /* known once a request has ended */
	int64_t started_us;
	int shown;
};

static void
progress_show(struct progress *p)
{
	char line[200];
	double secs = (double)(now_us() - p->started_us) / 1e6;
	int n = 0;
	if (p->run == NULL) {
		n = snprintf(line, sizeof line, "assay audit: sending requests (%.1f s)", secs);
	} else {
		const struct audit_run *run = p->run;
		n = snprintf(line, sizeof line, "assay audit: %zu of %zu requests done (%.1f s)",
		             run->n_done, run->n_items, secs);
		const char *sep = "; running ", *last = NULL;
		for (size_t i = 0;
		     i < run->next && i < run->n_items && n > 0 && (size_t)n < sizeof line - 40;
		     i++) {
			const char *id = run->items[i].probe->id;
			/* a probe's samples sit side by side: named once */
			if (run->items[i].obs != NULL || (last != NULL && strcmp(last, id) == 0))
				continue;
			n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", sep, id);
			sep = ", ";
			last = id;
		}
	}
	/* \r and erase-line: the next line overwrites this one */
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	p->shown = 1;
}

static void
progress_cb(const struct audit_run *run, void *arg)
{
	struct progress *p = arg;
	p->run = run;
}

static void
progress_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	progress_show(arg);
}

static void
progress_start(struct progress *p, struct event_base *base, struct audit_target *t)
{
	*p = (struct progress){.started_us = now_us()};
	p->tick = event_new(base, -1, EV_PERSIST, progress_tick, p);
	struct timeval tv = {0, 250000};
	if (p->tick != NULL)
		event_add(p->tick, &tv);
	t->progress = progress_cb;
	t->progress_arg = p;
}

static void
progress_stop(struct progress *p)
{
	if (p->tick != NULL)
		event_free(p->tick);
	p->tick = NULL;
	if (p->shown)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

static void
print_report(const struct audit_run *run, const struct assessment *a, const char *hint,
             const struct posture *posture, int colour, FILE *f)
{
	char *url =
	    run->target.bedrock
	        ? bedrock_call_url(run->target.base_url, run->target.api, run->target.model, 0)
	        : endpoint_request_url(run->target.api, run->target.base_url, run->target.model, 0);
	fprintf(f, "Assay audit of %s at %s (%s API%s)\nendpoint: %s\n", run->target.model,
	        run->target.base_url, api_name(run->target.api),
	        run->target.bedrock ? " on Amazon Bedrock" : "", url);
	if (run->target.wire_model != NULL)
		fprintf(f, "body's model: %s (the deployment)\n", run->target.wire_model);
	fputc('\n', f);
	free(url);
	fprintf(f, "verdict: %s%s%s\n  %s\n\n", colour ? verdict_colour(a->verdict) : "",
	        verdict_name(a->verdict), colour ? "\033[0m" : "", a->reason ? a->reason : "");
	if (hint != NULL)
		fprintf(f, "hint: %s\n\n", hint);
	size_t n_hints = 0;
	for (size_t i = 0; i < a->n_findings; i++)
		n_hints += a->findings[i].hint != 0;
	if (a->n_findings == n_hints) {
		fputs("findings: none\n", f);
	} else {
		fprintf(f, "findings (%zu):\n", a->n_findings - n_hints);
		print_findings(a, 0, f);
	}
	if (n_hints > 0) {
		fprintf(f,
		        "\nweak hints (%zu; no accusation: after correcting for the %d tests "
		        "run, none is within the false-positive budget):\n",
		        n_hints, a->tests_run);
		print_findings(a, 1, f);
	}
	for (size_t i = 0; i < a->n_skipped; i++)
		fprintf(f, "%s %s: %s\n", i == 0 ? "\nnot sent:" : "         ", a->skipped[i].probe,
		        a->skipped[i].reason);
	for (size_t i = 0; i < a->n_unjudged; i++)
		fprintf(f, "%s %s: %s\n", i == 0 ? "\nnot judged:" : "           ",
		        a->unjudged[i].probe, a->unjudged[i].reason);
	const char *const *nc = assessment_not_checked(a);
	if (nc != NULL && a->ok_requests > 0) {
		fprintf(f, "\nnot checked (no baseline for %s):\n", run->target.model);
		for (; *nc != NULL; nc++)
			fprintf(f, "  - %s\n", *nc);
		fprintf(f,
		        "  To check them, write a short pack for %s (README, \"Writing a pack\"),\n"
		        "  then record the official API's answers into it:\n"
		        "    assay baseline record --model %s --base-url <official URL> --key-env "
		        "<VAR>\n",
		        run->target.model, run->target.model);
	}
	if (a->listing != LISTING_NOT_ASKED) {
		char *lurl = models_list_target_url(run->target.api, run->target.base_url,
		                                    run->target.bedrock);
		fprintf(f, "\nmodel list (GET %s): %s\n  %s\n", lurl,
		        listing_state_name((enum listing_state)a->listing),
		        a->listing_note ? a->listing_note : "");
		free(lurl);
	}
	if (a->origin_note != NULL)
		fprintf(f, "\nbackend origin (channel claimed: %s): %s\n",
		        run->target.channel ? run->target.channel : "unclaimed", a->origin_note);
	posture_print(posture, f);
	fprintf(f, "\nrequests: %d planned, %d succeeded%s\n", a->requests, a->ok_requests,
	        a->requests > 0 && !assessment_reliable(a) ? " (unreliable: too few to judge)"
	                                                   : "");
	fprintf(f, "tokens spent: %ld (%ld prompt, %ld completion)", a->tokens_spent,
	        a->prompt_tokens, a->completion_tokens);
	if (a->cost_usd >= 0)
		fprintf(f, ", about $%.4f at %s's official price", a->cost_usd, run->target.model);
	fputc('\n', f);
	if (a->ttft_ms >= 0)
		fprintf(f, "time to first token: %.0f ms (median)\n", a->ttft_ms);
	if (a->tokens_per_s >= 0)
		fprintf(f, "output speed: %.0f tokens/s (median)\n", a->tokens_per_s);
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o != NULL && !observation_ok(o) && !run->items[i].not_needed)
			fprintf(f, "  %s %s: %s (%s)\n",
			        o->error == ERR_NOT_SENT ? "not sent" : "failed",
			        run->items[i].probe->id, error_class_name(o->error),
			        o->error_detail ? o->error_detail : "");
	}
}

/* The bytes of a response, capped (a listener elsewhere is untrusted). */
struct capped {
	char *data;
	size_t len;
};

#define REPORT_BODY_CAP (1 << 20)

static size_t
capped_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct capped *c = arg;
	size_t n = size * nmemb;
	if (c->len + n > REPORT_BODY_CAP)
		return 0; /* too long: the transfer fails */
	c->data = xrealloc(c->data, c->len + n + 1);
	memcpy(c->data + c->len, ptr, n);
	c->len += n;
	c->data[c->len] = '\0';
	return n;
}

/* Ask the serve's listener at base what it saw of canary c (GET
 * base/r/TOKEN_SHA256/KEY_SHA256, probes/canary.h) into c's hits. 0, or -1
 * with why it could not. */
static int
canary_ask_report(const char *base, struct canary *c, char *why, size_t whylen)
{
	char url[600];
	snprintf(url, sizeof url, "%s/r/%s/%s", base, c->token_sha256, c->key_sha256);
	CURL *h = curl_easy_init();
	if (h == NULL) {
		snprintf(why, whylen, "cannot start libcurl");
		return -1;
	}
	struct capped body = {NULL, 0};
	char err[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, capped_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	int ok = rc == CURLE_OK && status == 200 && body.data != NULL &&
	         canary_hits_from_json(c, body.data, body.len) == 0;
	if (!ok)
		snprintf(why, whylen,
		         "the canary listener at %s could not be asked what it saw (%s): whether "
		         "the planted key was used is unknown",
		         base,
		         rc != CURLE_OK  ? (err[0] ? err : curl_easy_strerror(rc))
		         : status != 200 ? "it did not answer 200"
		                         : "its answer was not the uses of a canary");
	free(body.data);
	return ok ? 0 : -1;
}

/* What the deep probes will cost, said before they are sent: prompt tokens
 * counted exactly when the model's tokenizer is known, output at its cap. */
static void
print_deep_cost(const struct catalog *cat, const struct baseline_model *m, enum api_kind api,
                const struct request_rules *rules)
{
	struct tokenizer *t = NULL;
	char err[256];
	if (m->tokenizer != NULL)
		t = tokenizer_open(m->tokenizer, err, sizeof err);
	long in = 0, out = 0;
	int n = 0;
	for (size_t i = 0; i < cat->n; i++) {
		const struct probe_def *p = &cat->probes[i];
		/* the deep probes, the thinking one where the API carries it
		 * (Anthropic's), and the spare ones a default audit may leave
		 * out (at most: some fit in it), that the model and API take */
		if ((p->tier != TIER_DEEP && p->tier != TIER_THINKING && !p->spare) ||
		    adapter_cannot(api, &p->intent) != NULL ||
		    adapter_refused(rules, &p->intent) != NULL)
			continue;
		char nonce[16];
		probe_nonce(nonce);
		for (size_t k = 0; k < p->n_messages; k++) {
			char *text = probe_render(p->texts[k], nonce);
			long c =
			    t ? tokenizer_count(t, text, strlen(text)) : (long)strlen(text) / 4;
			in += c > 0 ? c * p->samples : 0;
			free(text);
		}
		if (p->intent.attach == MEDIA_PDF) /* the PDF's text and page image */
			in += media_document_tokens(api, m->name) * p->samples;
		if (p->intent.attach == MEDIA_PNG) {
			struct media img; /* its size is the code's length's */
			if (media_make(MEDIA_PNG, nonce, &img) == 0) {
				in += media_image_tokens(api, m->name, img.width, img.height) *
				      p->samples;
				media_release(&img);
			}
		}
		out += p->max_tokens * p->samples;
		n += p->samples;
	}
	tokenizer_free(t);
	fprintf(stderr,
	        "assay audit: --deep adds up to %d requests, about %ld prompt and up to %ld "
	        "completion tokens",
	        n, in, out);
	if (m->price_in >= 0)
		fprintf(stderr, " (at most $%.3f at %s's official price)",
		        (in * m->price_in + out * m->price_out) / 1e6, m->name);
	fputc('\n', stderr);
}

/* Long options without a letter of their own. */
enum { OPT_CHANNEL = 1001, OPT_VERIFY_KEY_ENV, OPT_VERIFY_BASE_URL, OPT_LONG_CONTEXT };
/*
 * The long-context tier (TIER_LONG): sized to the claimed model's sold
 * window and its cost said before it is spent. With the flag: the size
 * goes into target and the cost is printed; without it (with --deep) the
 * audit says what the tier would have cost and that it was not sent.
 * -1 (said) when the flag is given for a model whose window is unknown.
 */
static int
long_context_plan(const struct catalog *cat, const struct baseline_model *m, int on, int deep,
                  struct audit_target *target)
{
	const struct probe_def *p = NULL;
	for (size_t i = 0; i < cat->n && p == NULL; i++)
		if (cat->probes[i].tier == TIER_LONG)
			p = &cat->probes[i];
	if (p == NULL || (!on && !deep))
		return 0;
	if (m == NULL || m->context_window <= 0) {
		if (!on)
			return 0;
		fprintf(stderr,
		        "assay audit: --long-context needs a model whose sold window the "
		        "pack knows; '%s' has none\n",
		        target->model);
		return -1;
	}
	long words = m->context_window / 100 * AUDIT_LONG_CONTEXT_SHARE * 10 /
	             AUDIT_LONG_CONTEXT_TOKENS_PER_10_WORDS;
	long tokens = 0;
	for (size_t k = 0; k < p->n_messages; k++)
		tokens += probe_context_words(p->texts[k], words);
	tokens = tokens * AUDIT_LONG_CONTEXT_TOKENS_PER_10_WORDS / 10;
	char price[96] = "";
	if (m->price_in >= 0)
		snprintf(price, sizeof price, ", at most $%.2f at %s's official price",
		         ((double)tokens * m->price_in + (double)p->max_tokens * m->price_out) /
		             1e6,
		         m->name);
	if (!on) {
		fprintf(stderr,
		        "assay audit: the long-context tier (%s) is not sent: it costs about %ld "
		        "prompt tokens%s; --long-context sends it\n",
		        p->id, tokens, price);
		return 0;
	}
	fprintf(stderr,
	        "assay audit: --long-context sends 1 request of about %ld prompt tokens (%d%% of "
	        "the %ld-token window %s is sold with)%s\n",
	        tokens, AUDIT_LONG_CONTEXT_SHARE, m->context_window, m->name, price);
	target->context_fill_words = words;
	return 0;
}

int
cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
	    ENDPOINT_LONG_OPTIONS,
	    {"api", required_argument, NULL, 'a'},
	    {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'},
	    {"ca-file", required_argument, NULL, 'c'},
	    {"insecure-skip-tls-verify", no_argument, NULL, 'I'},
	    {"deep", no_argument, NULL, 'D'},
	    {"long-context", no_argument, NULL, OPT_LONG_CONTEXT},
	    {"budget", required_argument, NULL, 'B'},
	    {"time-scale", required_argument, NULL, 'S'},
	    {"canary-wait", required_argument, NULL, 'W'},
	    {"canary-listen", required_argument, NULL, 'L'},
	    {"canary-url", required_argument, NULL, 'U'},
	    {"canary-report", required_argument, NULL, 'R'},
	    {"no-color", no_argument, NULL, 'O'},
	    {"channel", required_argument, NULL, OPT_CHANNEL},
	    {"verify-key-env", required_argument, NULL, OPT_VERIFY_KEY_ENV},
	    {"verify-base-url", required_argument, NULL, OPT_VERIFY_BASE_URL},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct endpoint_options ep;
	endpoint_options_init(&ep);
	const char *api_opt = NULL;
	const char *ca_file = NULL;
	const char *channel = NULL; /* --channel: the channel the relay claims */
	/* --verify-key-env: an official Anthropic key's variable, to send
	 * thinking blocks back with; --verify-base-url: that API's root */
	const char *verify_env = NULL, *verify_base = VERIFY_OFFICIAL_BASE;
	int json = 0, insecure = 0, deep = 0, no_colour = 0, long_context = 0;
	double budget = -1; /* -1: the default */
	char err[1024];
	double timeout_s = 60, time_scale = 1;
	long long canary_wait_us = -1;
	const char *canary_listen_at = "127.0.0.1:0", *canary_url = NULL;
	const char *canary_report = NULL; /* a serve's canary listener, elsewhere */
	int c;
	while ((c = endpoint_options_next(&ep, argc, argv, "", opts, "audit")) != -1) {
		switch (c) {
		case ENDPOINT_OPTION_REFUSED:
			goto usage_error;
		case 'a':
			api_opt = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			if (cli_number(optarg, 0, 3600, &timeout_s) != 0) {
				fprintf(
				    stderr,
				    "assay audit: --timeout takes seconds (0 to 3600), not '%s'\n",
				    optarg);
				goto usage_error;
			}
			break;
		case 'c':
			ca_file = optarg;
			break;
		case 'I':
			insecure = 1;
			break;
		case 'S':
			if (cli_number(optarg, 0, 1000, &time_scale) != 0) {
				fprintf(
				    stderr,
				    "assay audit: --time-scale takes a factor above 0, not '%s'\n",
				    optarg);
				goto usage_error;
			}
			break;
		case 'D':
			deep = 1;
			break;
		case OPT_LONG_CONTEXT:
			long_context = 1;
			break;
		case 'B':
			if (cli_number(optarg, -1, 1e9, &budget) != 0 || budget != (long)budget) {
				fprintf(stderr,
				        "assay audit: --budget takes a whole number of tokens (0: "
				        "none), not '%s'\n",
				        optarg);
				goto usage_error;
			}
			break;
		case 'W': {
			struct ynode n = {.kind = YNODE_SCALAR, .scalar = optarg};
			char why[256];
			if (ytree_as_duration(&n, "--canary-wait", &canary_wait_us, why,
			                      sizeof why) != 0 ||
			    canary_wait_us > 24LL * 3600 * 1000000) {
				fprintf(stderr,
				        "assay audit: --canary-wait takes a duration up to 24h "
				        "(30s, 10m), not '%s'\n",
				        optarg);
				goto usage_error;
			}
			break;
		}
		case 'L':
			canary_listen_at = optarg;
			break;
		case 'U':
			canary_url = optarg;
			break;
		case 'R':
			canary_report = optarg;
			break;
		case 'O':
			no_colour = 1;
			break;
		case OPT_CHANNEL:
			if (origin_channel_from_name(optarg) < 0) {
				fprintf(stderr,
				        "assay audit: --channel is unclaimed, official, bedrock, "
				        "vertex, "
				        "cloud, reverse or azure, not '%s'\n",
				        optarg);
				goto usage_error;
			}
			channel = optarg;
			break;
		case OPT_VERIFY_KEY_ENV:
			verify_env = optarg;
			break;
		case OPT_VERIFY_BASE_URL:
			verify_base = optarg;
			break;
		case 'h':
			endpoint_options_release(&ep);
			usage(stdout);
			return 0;
		default:
			if (optopt != 0)
				fprintf(stderr,
				        "assay audit: option '%s' needs a value or is unknown\n",
				        argv[optind - 1]);
			else
				fprintf(stderr, "assay audit: unknown option '%s'\n",
				        argv[optind - 1]);
			goto usage_error;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "assay audit: unexpected argument '%s'\n", argv[optind]);
		goto usage_error;
	}
	const char *base_url = ep.base_url, *model = ep.model, *key_env = ep.key_env;
	if (base_url == NULL || model == NULL) {
		fprintf(
		    stderr,
		    "assay audit: --base-url and --model are required (see assay audit --help)\n");
		goto usage_error;
	}
	if (config_check_url(base_url, err, sizeof err) != 0) {
		fprintf(stderr, "assay audit: %s\n", err);
		goto usage_error;
	}
	const char *verify_key = NULL;
	if (verify_env != NULL && (verify_key = getenv(verify_env)) == NULL) {
		fprintf(stderr,
		        "assay audit: environment variable '%s' (--verify-key-env) is not set\n",
		        verify_env);
		goto usage_error;
	}
	if (config_check_url(verify_base, err, sizeof err) != 0) {
		fprintf(stderr, "assay audit: --verify-base-url: %s\n", err);
		goto usage_error;
	}
	const char *key = NULL;
	if (key_env != NULL) {
		key = getenv(key_env);
		if (key == NULL) {
			fprintf(stderr,
			        "assay audit: environment variable '%s' (--key-env) is not set\n",
			        key_env);
			goto usage_error;
		}
	}
	struct baseline_pack *pack = baseline_load_default(err, sizeof err);
	if (pack == NULL) {
		fprintf(stderr, "assay audit: %s\n", err);
		goto usage_error;
	}
	const struct baseline_model *known = baseline_find(pack, model);
	const struct baseline_model *which;
	char why[320];
	if (known == NULL && baseline_resolve(pack, model, &which, why, sizeof why) < 0)
		fprintf(stderr, "assay audit: %s; auditing it as a model no pack knows\n", why);
	int api = api_opt                 ? api_from_name(api_opt)
	          : ep.bedrock            ? API_ANTHROPIC
	          : ep.vertex_url != NULL ? API_VERTEX /* the Vertex options name its wire */
	          : known != NULL         ? api_from_name(known->api)
	                                  : (int)model_default_api(model);
	if (api < 0) {
		fprintf(stderr, "assay audit: --api is " API_NAMES_TEXT ", not '%s'\n", api_opt);
		baseline_free(pack);
		goto usage_error;
	}
	struct scorer *scorer = scorer_new(pack);
	scorer_set_time_scale(scorer, time_scale);
	const struct baseline_model *claimed = scorer_claimed(scorer, model, (enum api_kind)api);
	if (claimed->origin != BASELINE_PACK)
		fprintf(stderr,
		        "assay audit: no baseline for '%s': auditing what needs none (protocol, "
		        "conformance, streaming, caching, availability, usage) and identifying the "
		        "model from its token counts; see the report for what is not checked\n",
		        model);
	struct audit_target target;
	if (endpoint_options_target(&ep, "audit", "audit", (enum api_kind)api, key, &target) != 0) {
		scorer_free(scorer);
		baseline_free(pack);
		goto usage_error;
	}
	struct catalog *cat = scorer_catalog_default(err, sizeof err);
	if (cat == NULL) {
		fprintf(stderr, "assay audit: %s\n", err);
		scorer_free(scorer);
		baseline_free(pack);
		goto usage_error;
	}
	if (insecure)
		fputs("assay audit: WARNING: TLS certificate verification is OFF "
		      "(--insecure-skip-tls-verify)\n",
		      stderr);

	struct event_base *base = event_base_new();
	struct engine_options eo = {.ca_file = ca_file, .insecure_skip_tls = insecure};
	struct engine *engine = engine_new(base, &eo);
	if (base == NULL || engine == NULL)
		fatal(70, "cannot set up the event loop or libcurl");
	baseline_request_rules(claimed, &target.rules);
	target.channel = (char *)channel; /* borrowed, as the rest: audit_start copies */
	target.list_models = models_list_asked(api, target.base_url, target.bedrock);
	/* a reasoning model's default audit stays cheap; --deep says its cost
	 * before it sends, and is not cut short by the default */
	target.budget_tokens = budget >= 0            ? (long)budget
	                       : deep || long_context ? 0
	                                              : AUDIT_BUDGET_TOKENS;
	/* the thinking request asked for by --verify-key-env gets room of its
	 * own in the default budget */
	if (verify_key != NULL && budget < 0 && !deep && !long_context) {
		target.budget_tokens += VERIFY_BUDGET_TOKENS;
		fprintf(
		    stderr,
		    "assay audit: --verify-key-env adds a thinking request (the budget grows by "
		    "%d tokens) and one request to the official API\n",
		    VERIFY_BUDGET_TOKENS);
	}
	/* the capability probes fill what room the default audit's requests
	 * leave; --deep sends them all */
	target.max_requests = deep || long_context ? 0 : AUDIT_BUDGET_REQUESTS;
	/* the rest of the audit is not sent once the counts already convict */
	struct scorer_stop stop;
	scorer_stop_init(&stop, scorer, claimed);
	target.stop = scorer_stop_early;
	target.stop_arg = &stop;
	target.prompt_tokens = scorer_stop_prompt_tokens;
	/* the credential canary: planted only when a listener runs, ours or a
	 * serve's elsewhere (--canary-report) */
	struct canary canary;
	struct canary_listener *listener = NULL;
	char report_base[300] = "";
	if (canary_report != NULL) {
		if (canary_url != NULL || strcmp(canary_listen_at, "127.0.0.1:0") != 0) {
			fputs("assay audit: --canary-report takes the place of --canary-listen and "
			      "--canary-url\n",
			      stderr);
			return 2;
		}
		if (strncmp(canary_report, "http://", 7) != 0 &&
		    strncmp(canary_report, "https://", 8) != 0) {
			fprintf(stderr,
			        "assay audit: --canary-report takes a serve's canary listener URL "
			        "(http:// or https://), not '%s'\n",
			        canary_report);
			return 2;
		}
		snprintf(report_base, sizeof report_base, "%s", canary_report);
		for (size_t n = strlen(report_base); n > 0 && report_base[n - 1] == '/'; n--)
			report_base[n - 1] = '\0';
		canary_make(&canary, report_base, base_url);
		target.canary = &canary;
		if (canary_wait_us < 0)
			canary_wait_us = 0;
	} else if (canary_wait_us >= 0) {
		char host[128], listen_url[200];
		const char *colon = strrchr(canary_listen_at, ':');
		double port = 0;
		if (colon == NULL || (size_t)(colon - canary_listen_at) >= sizeof host ||
		    cli_number(colon + 1, -1, 65535, &port) != 0 || port != (int)port) {
			fprintf(stderr, "assay audit: --canary-listen takes HOST:PORT, not '%s'\n",
			        canary_listen_at);
			return 2;
		}
		snprintf(host, sizeof host, "%.*s", (int)(colon - canary_listen_at),
		         canary_listen_at);
		listener = canary_listen(base, host, (int)port, listen_url, sizeof listen_url);
		if (listener == NULL) {
			fprintf(stderr, "assay audit: cannot listen on %s for the canary\n",
			        canary_listen_at);
			return 2;
		}
		canary_make(&canary, canary_url ? canary_url : listen_url, base_url);
		canary_watch(listener, &canary);
		target.canary = &canary;
	}
	if (deep)
		print_deep_cost(cat, claimed, (enum api_kind)api, &target.rules);
	if (long_context_plan(cat, claimed, long_context, deep, &target) != 0)
		return 2;
	/* does the relay answer over plain HTTP too? one keyless GET, run
	 * beside the audit (https base URLs only; probes/plainhttp.h) */
	struct plainhttp plain;
	plainhttp_start(&plain, engine, (enum api_kind)api, base_url);
	struct progress progress = {0};
	if (isatty(STDERR_FILENO))
		progress_start(&progress, base, &target);
	struct audit_run *run = audit_run_to_end(base, engine, cat, &target,
	                                         TIER_CHEAP | TIER_MEDIUM | (deep ? TIER_DEEP : 0) |
	                                             (deep || verify_key ? TIER_THINKING : 0) |
	                                             (long_context ? TIER_LONG : 0),
	                                         3, (int64_t)(timeout_s * 1e6));
	progress_stop(&progress);

	scorer_stop_release(&stop);
	plainhttp_wait(&plain, base);
	if (target.canary != NULL && canary_wait_us > 0) {
		/* the listener, not the planted URL: its token would let whoever
		 * reads this log fake a use */
		const char *path = strstr(canary.url, "/c/");
		int shown = path ? (int)(path - canary.url) : (int)strlen(canary.url);
		fprintf(
		    stderr,
		    "assay audit: waiting %.0f s for anyone to use the canary key planted in the "
		    "prompts (%s %.*s)\n",
		    canary_wait_us / 1e6, listener ? "listening at" : "reported to", shown,
		    canary.url);
		struct timeval tv = {(time_t)(canary_wait_us / 1000000),
		                     (suseconds_t)(canary_wait_us % 1000000)};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	/* a serve's listener elsewhere is asked what it saw of the canary */
	char report_why[400] = "";
	if (canary_report != NULL &&
	    canary_ask_report(report_base, &canary, report_why, sizeof report_why) != 0)
		canary.n_hits = 0;
	/* what the relay echoed of the canary stays out of the report: the
	 * token is for the listener alone */
	if (target.canary != NULL)
		audit_run_redact_canary(run, &canary);
	/* thinking blocks sent back to the official API, before the scoring
	 * that reads what it said */
	if (verify_key != NULL && run->target.api == API_ANTHROPIC &&
	    verify_thinking_signatures(run, verify_base, verify_key, ca_file) > 0)
		fprintf(stderr,
		        "assay audit: sent the thinking blocks back to the official API at %s\n",
		        verify_base);
	struct assessment a;
	assessment_init(&a);
	scorer_assess(scorer, run, claimed, &a);
	if (report_why[0] != '\0')
		assessment_unjudged(&a, "credential harvesting", report_why);
	char *hint = endpoint_run_hint(run);
	struct posture posture;
	posture_assess(run, insecure, &plain, &posture);
	plainhttp_release(&plain);
	if (json) {
		json_t *j = assessment_to_json(&a);
		char *url = target.bedrock
		                ? bedrock_call_url(base_url, target.api, model, 0)
		                : endpoint_request_url((enum api_kind)api, base_url, model, 0);
		json_object_set_new(j, "model", json_string(model));
		json_object_set_new(j, "base_url", json_string(base_url));
		json_object_set_new(j, "endpoint", json_string(url));
		if (target.wire_model != NULL)
			json_object_set_new(j, "body_model", json_string(target.wire_model));
		json_object_set_new(j, "api", json_string(api_name((enum api_kind)api)));
		json_object_set_new(
		    j, "auth",
		    json_string(auth_name(auth_resolve((enum api_kind)api, target.auth))));
		json_object_set_new(j, "hint", hint ? json_string(hint) : json_null());
		json_object_set_new(j, "security", posture_json(&posture));
		free(url);
		char *s = json_dumps(j, JSON_INDENT(2));
		puts(s);
		free(s);
		json_decref(j);
	} else {
		print_report(run, &a, hint, &posture, use_colour(stdout, no_colour), stdout);
	}
	free(hint);
	int status = verdict_exit_status(a.verdict);
	assessment_release(&a);
	scorer_free(scorer);
	audit_run_free(run);
	canary_listener_free(listener);
	engine_free(engine);
	event_base_free(base);
	catalog_free(cat);
	baseline_free(pack);
	endpoint_options_release(&ep);
	return status;
usage_error:
	endpoint_options_release(&ep);
	return 2;
}
