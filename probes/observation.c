/*
 * observation: the record of one request, and the stable error-class names.
 */
#include "probes/observation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static const char *const names[ERR__COUNT] = {
    [ERR_NONE] = "none",
    [ERR_DNS] = "dns",
    [ERR_CONNECT] = "connect",
    [ERR_TLS] = "tls",
    [ERR_TIMEOUT] = "timeout",
    [ERR_IDLE] = "idle",
    [ERR_AUTH] = "auth",
    [ERR_QUOTA] = "quota",
    [ERR_RATE_LIMITED] = "rate_limited",
    [ERR_HTTP] = "http",
    [ERR_UPSTREAM] = "upstream",
    [ERR_MALFORMED] = "malformed",
    [ERR_TOO_LARGE] = "too_large",
    [ERR_ABORTED] = "aborted",
    [ERR_NETWORK] = "network",
    [ERR_NOT_SENT] = "not_sent",
    [ERR_NOT_FOUND] = "not_found",
    [ERR_NO_MODEL] = "model_not_found",
};

const char *
error_class_name(enum error_class e)
{
	if ((int)e < 0 || e >= ERR__COUNT)
		return "unknown";
	return names[e];
}

int
error_class_from_name(const char *name)
{
	return name_index(names, ERR__COUNT, name);
}

void
observation_init(struct observation *o)
{
	memset(o, 0, sizeof *o);
	o->dns_us = o->connect_us = o->tls_us = o->sent_us = o->ttfb_us = o->ttft_us = o->total_us =
	    -1;
	o->prompt_tokens = o->completion_tokens = o->total_tokens = o->cached_tokens = -1;
	o->reasoning_tokens = -1;
	o->retry_after_s = -1;
	o->rl.req_limit = o->rl.req_remaining = o->rl.tok_limit = o->rl.tok_remaining = -1;
	o->start_input_tokens = -1;
	o->last_byte_us = -1;
	o->timeout_us = -1;
}

void
observation_release(struct observation *o)
{
	free(o->error_detail);
	free(o->chunk_us);
	free(o->model);
	free(o->id);
	free(o->system_fingerprint);
	free(o->finish_reason);
	free(o->text);
	free(o->ratelimit_remaining);
	free(o->request_id);
	free(o->content_type);
	free(o->tool_id);
	free(o->tool_name);
	free(o->tool_args);
	free(o->thinking);
	free(o->signature);
	free(o->signature_check_detail);
	observation_init(o);
}

int
observation_ok(const struct observation *o)
{
	return o->error == ERR_NONE && o->http_status >= 200 && o->http_status < 300;
}

static const struct bit_name {
	unsigned bit;
	const char *name;
} usage_names[] =
    {
        {OBS_USAGE_INPUT, "input"},
        {OBS_USAGE_OUTPUT, "output"},
        {OBS_USAGE_CACHE_CREATION, "cache_creation_input_tokens"},
        {OBS_USAGE_CACHE_READ, "cache_read_input_tokens"},
        {OBS_USAGE_SERVICE_TIER, "service_tier"},
        {OBS_USAGE_PROMPT_DETAILS, "prompt_tokens_details"},
        {OBS_USAGE_OUTPUT_DETAILS, "completion_tokens_details"},
        {OBS_USAGE_INPUT_DETAILS, "input_tokens_details"},
        {OBS_USAGE_OUTPUT_TOKENS_DETAILS, "output_tokens_details"},
        {0, NULL},
},
  header_names[] = {
      {OBS_HDR_REQUEST_ID, "request-id"},
      {OBS_HDR_X_REQUEST_ID, "x-request-id"},
      {OBS_HDR_ANTHROPIC_RATELIMIT, "anthropic-ratelimit-*"},
      {OBS_HDR_OPENAI_RATELIMIT, "x-ratelimit-*"},
      {OBS_HDR_ANTHROPIC_ORG, "anthropic-organization-id"},
      {OBS_HDR_OPENAI_ORG, "openai-organization"},
      {OBS_HDR_AMZN, "x-amzn-*"},
      {OBS_HDR_GOOG, "x-goog-*"},
      {OBS_HDR_ANTHROPIC_UNIFIED, "anthropic-ratelimit-unified-*"},
      {0, NULL},
};

static const char *
bit_name(const struct bit_name *t, unsigned bit)
{
	for (; t->name != NULL; t++)
		if (t->bit == bit)
			return t->name;
	return NULL;
}

static unsigned
bit_from_name(const struct bit_name *t, const char *name)
{
	for (; t->name != NULL; t++)
		if (strcmp(t->name, name) == 0)
			return t->bit;
	return 0;
}

const char *
obs_tls_version_name(enum obs_tls_version v)
{
	static const char *const tls_names[OBS_TLS__COUNT] = {
	    [OBS_TLS_SSL] = "SSLv3",   [OBS_TLS_1_0] = "TLSv1.0",
	    [OBS_TLS_1_1] = "TLSv1.1", [OBS_TLS_1_2] = "TLSv1.2",
	    [OBS_TLS_1_3] = "TLSv1.3", [OBS_TLS_NEWER] = "newer than TLSv1.3"};
	return v > OBS_TLS_NONE && v < OBS_TLS__COUNT ? tls_names[v] : NULL;
}

const char *
obs_usage_field_name(unsigned bit)
{
	return bit_name(usage_names, bit);
}

unsigned
obs_usage_field_from_name(const char *name)
{
	return bit_from_name(usage_names, name);
}

const char *
obs_header_name(unsigned bit)
{
	return bit_name(header_names, bit);
}

unsigned
obs_header_from_name(const char *name)
{
	return bit_from_name(header_names, name);
}

void
observation_event(struct observation *o, char letter)
{
	size_t n = strlen(o->events);
	if (n > 0 && (o->events[n - 1] == letter || o->events[n - 1] == '+'))
		return;
	if (n + 2 >= OBS_EVENTS_CAP) {
		o->events[n] = '+';
		o->events[n + 1] = '\0';
		return;
	}
	o->events[n] = letter;
	o->events[n + 1] = '\0';
}

void
observation_set(char **field, const char *s, size_t len, size_t cap)
{
	free(*field);
	*field = NULL;
	if (s == NULL)
		return;
	/* ASCII that fits is its own sanitized copy (utf8_sanitize() would
	 * copy it a character at a time): most ids, models and reasons */
	size_t i = 0;
	while (i < len && (unsigned char)s[i] < 0x80)
		i++;
	if (i == len && len <= cap) {
		*field = xmalloc(len + 1);
		memcpy(*field, s, len);
		(*field)[len] = '\0';
		return;
	}
	*field = utf8_sanitize(s, len, cap);
}

void
observation_duration_text(int64_t us, char *out, size_t n)
{
	if (us < 0)
		snprintf(out, n, "?");
	else if (us < 1000)
		snprintf(out, n, "under 1 ms");
	else if (us < 99500)
		snprintf(out, n, "%lld ms", (long long)((us + 500) / 1000));
	else if (us < 995000) /* two figures are all a sentence needs */
		snprintf(out, n, "%lld ms", (long long)((us + 5000) / 10000 * 10));
	else if (us < 9950000) {
		long tenths = (long)((us + 50000) / 100000);
		if (tenths % 10 == 0)
			snprintf(out, n, "%ld s", tenths / 10);
		else
			snprintf(out, n, "%ld.%ld s", tenths / 10, tenths % 10);
	} else
		snprintf(out, n, "%lld s", (long long)((us + 500000) / 1000000));
}
