/*
 * verify_thinking: a thinking block sent back to the official API (see the
 * header). One follow-up request per block: the probe's own turns, the
 * assistant turn as the relay returned it (the thinking block first, then
 * the answer's text), and a short user turn; thinking stays enabled with
 * the probe's budget, as the block's first request had it (the Messages
 * API wants the thinking block to lead the assistant turn then).
 */
#include "cli/verify_thinking.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/audit.h"
#include "probes/catalog.h"

#define VERIFY_BODY_CAP (256 * 1024)

struct body {
	char *data;
	size_t len;
};

static size_t
body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	if (b->len + n > VERIFY_BODY_CAP)
		return 0;
	b->data = xrealloc(b->data, b->len + n + 1);
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* The follow-up request's body; the caller frees it. */
static char *
followup_body(const struct audit_item *it, const char *model)
{
	const struct observation *o = it->obs;
	json_t *msgs = json_array(), *system = NULL;
	for (size_t i = 0; i < it->n_messages; i++) {
		const struct probe_message *m = &it->messages[i];
		if (strcmp(m->role, "system") == 0) {
			system = json_string(m->content);
			continue;
		}
		json_array_append_new(
		    msgs, json_pack("{s:s, s:s}", "role", m->role, "content", m->content));
	}
	json_t *content = json_pack("[{s:s, s:s, s:s}]", "type", "thinking", "thinking",
	                            o->thinking, "signature", o->signature);
	if (o->text != NULL && o->text[0] != '\0')
		json_array_append_new(content,
		                      json_pack("{s:s, s:s}", "type", "text", "text", o->text));
	json_array_append_new(msgs,
	                      json_pack("{s:s, s:o}", "role", "assistant", "content", content));
	json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content",
	                                      "Thanks. Is that your final answer? Yes or no."));
	json_t *root = json_pack("{s:s, s:I, s:{s:s, s:I}, s:o}", "model", model, "max_tokens",
	                         (json_int_t)it->probe->max_tokens, "thinking", "type", "enabled",
	                         "budget_tokens", (json_int_t)it->probe->intent.thinking_budget,
	                         "messages", msgs);
	if (system != NULL)
		json_object_set_new(root, "system", system);
	char *s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

static void
record(struct observation *o, int outcome, const char *detail)
{
	o->signature_check = outcome;
	observation_set(&o->signature_check_detail, detail, strlen(detail), OBS_DETAIL_CAP);
}

static void
verify_one(struct audit_item *it, const char *model, const char *base, const char *key,
           const char *ca_file)
{
	struct observation *o = it->obs;
	/* the model the audit claimed: a block of another is refused too */
	char *body = followup_body(it, model);
	char url[1024], keyh[512];
	snprintf(url, sizeof url, "%s/v1/messages", base);
	snprintf(keyh, sizeof keyh, "x-api-key: %s", key);
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "content-type: application/json");
	h = curl_slist_append(h, "anthropic-version: 2023-06-01");
	h = curl_slist_append(h, keyh);
	explicit_bzero(keyh, sizeof keyh);
	CURL *c = curl_easy_init();
	struct body resp = {NULL, 0};
	char err[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc = CURLE_FAILED_INIT;
	if (c != NULL) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		if (ca_file != NULL)
			curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
	}
	/* the header list held the key */
	for (struct curl_slist *l = h; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(h);
	free(body);
	json_t *r = resp.data ? json_loads(resp.data, 0, NULL) : NULL;
	const char *msg =
	    json_string_value(json_object_get(json_object_get(r, "error"), "message"));
	char detail[OBS_DETAIL_CAP];
	if (rc != CURLE_OK) {
		snprintf(detail, sizeof detail, "the official API could not be reached: %s",
		         err[0] ? err : curl_easy_strerror(rc));
		record(o, OBS_SIG_FAILED, detail);
	} else if (status == 200) {
		record(o, OBS_SIG_ACCEPTED,
		       "the official API took the thinking block back (HTTP 200)");
	} else if (status == 400 && msg != NULL && strstr(msg, "signature") != NULL) {
		snprintf(detail, sizeof detail, "the official API refused it: HTTP 400 \"%.300s\"",
		         msg);
		record(o, OBS_SIG_REJECTED, detail);
	} else {
		snprintf(detail, sizeof detail, "the official API answered HTTP %ld%s%.300s%s",
		         status, msg ? " \"" : "", msg ? msg : "", msg ? "\"" : "");
		record(o, OBS_SIG_FAILED, detail);
	}
	json_decref(r);
	free(resp.data);
}

int
verify_thinking_signatures(struct audit_run *run, const char *base, const char *key,
                           const char *ca_file)
{
	int sent = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		struct audit_item *it = &run->items[i];
		struct observation *o = it->obs;
		if (it->probe->intent.thinking_budget <= 0 || o == NULL || !observation_ok(o) ||
		    o->thinking == NULL || o->signature == NULL || o->signature[0] == '\0')
			continue;
		if (o->thinking_truncated || o->signature_len > OBS_SIGNATURE_CAP) {
			record(o, OBS_SIG_FAILED,
			       "the thinking block was longer than Assay keeps: not sent back");
			continue;
		}
		verify_one(it, run->target.model, base, key, ca_file);
		sent++;
	}
	return sent;
}
