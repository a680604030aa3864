/*
 * audit: a run's items go out at most `parallel` at a time so that one audit
 * does not look like a flood to the relay; results come back in any order.
 */
#include "probes/audit.h"
#include "probes/canary.h"
#include "probes/media.h"
#include "probes/models_list.h"
#include "probes/bedrock.h"

#include <event2/event.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void
audit_target_copy(struct audit_target *dst, const struct audit_target *src)
{
	/* every field as it is, then the owned ones deep: a field added later
	 * is copied without anyone remembering to */
	*dst = *src;
	dst->relay = xstrdup(src->relay ? src->relay : "");
	dst->base_url = xstrdup(src->base_url);
	dst->model = xstrdup(src->model);
	dst->wire_model = src->wire_model ? xstrdup(src->wire_model) : NULL;
	dst->api_key = src->api_key ? xstrdup(src->api_key) : NULL;
	dst->headers = http_headers_copy(src->headers, src->n_headers);
	sigv4_credentials_copy(&dst->aws, &src->aws);
	dst->channel = src->channel ? xstrdup(src->channel) : NULL;
}

long
audit_context_fill_words(long context_window)
{
	return context_window / 100 * AUDIT_LONG_CONTEXT_SHARE * 10 /
	       AUDIT_LONG_CONTEXT_TOKENS_PER_10_WORDS;
}

void
audit_target_release(struct audit_target *t)
{
	free(t->relay);
	free(t->base_url);
	free(t->model);
	free(t->wire_model);
	if (t->api_key != NULL) {
		explicit_bzero(t->api_key, strlen(t->api_key));
		free(t->api_key);
	}
	http_headers_free(t->headers, t->n_headers);
	sigv4_credentials_release(&t->aws);
	free(t->channel);
	memset(t, 0, sizeof *t);
}

struct item_ref {
	struct audit_run *run;
	size_t index;
};

/* A request left with less than this of the run's time is not sent: no
 * model answers that fast, and a "timeout" of a few milliseconds would blame
 * the relay for the audit's own clock. (Half the run's timeout when that is
 * shorter, so the first requests of a run always go out.) */
#define LAST_CALL_US 100000

static void submit_more(struct audit_run *run);

/* When every request (and the model list) has ended, the run is done:
 * done is called, run may be gone, and 1 is returned. */
static int
run_maybe_done(struct audit_run *run)
{
	if (run->n_done == run->n_items && !run->listing_pending) {
		run->finished_ms = wall_ms();
		run->done(run, run->arg);
		return 1;
	}
	return 0;
}

/* Item i is done with obs. Returns 1 when that ended the run. */
static int
item_finish(struct audit_run *run, size_t i, struct observation *obs)
{
	run->items[i].obs = obs;
	run->n_done++;
	if (run->target.progress != NULL)
		run->target.progress(run, run->target.progress_arg);
	return run_maybe_done(run);
}

/* The model list came back. */
static void
listing_done_cb(struct observation *obs, void *arg)
{
	struct audit_run *run = arg;
	run->listing = obs;
	run->listing_pending = 0;
	run_maybe_done(run);
}

static void
item_done_cb(struct observation *obs, void *arg)
{
	struct item_ref *ref = arg;
	struct audit_run *run = ref->run;
	size_t i = ref->index;
	free(ref);
	run->in_flight--;
	const struct audit_item *it = &run->items[i];
	if (it->estimate > 0 && obs->prompt_tokens > 0) {
		long cost =
		    obs->prompt_tokens + (obs->completion_tokens > 0 ? obs->completion_tokens : 0);
		if (cost - it->estimate > run->underestimate)
			run->underestimate = cost - it->estimate;
	}
	if (item_finish(run, i, obs))
		return;
	char why[256] = "";
	if (run->stop_reason == NULL && run->next < run->n_items && run->target.stop != NULL &&
	    run->target.stop(run, run->target.stop_arg, why, sizeof why))
		run->stop_reason = xstrdup(why[0] ? why : "the evidence was already decisive");
	submit_more(run);
}

/* The run's time ran out before item i went out, or the run stopped
 * early: it ends unsent. */
static int
item_not_sent(struct audit_run *run, size_t i)
{
	struct observation *o = xmalloc(sizeof *o);
	observation_init(o);
	char took[32], why[300];
	observation_duration_text(run->timeout_us, took, sizeof took);
	if (run->stop_reason != NULL) {
		snprintf(why, sizeof why, "%s: %s", run->budget_reached ? "not sent" : "not needed",
		         run->stop_reason);
		run->items[i].not_needed = 1;
	} else {
		snprintf(why, sizeof why, "the audit's %s had run out", took);
	}
	o->started_ms = wall_ms();
	o->total_us = 0;
	o->error = ERR_NOT_SENT;
	observation_set(&o->error_detail, why, strlen(why), OBS_DETAIL_CAP);
	return item_finish(run, i, o);
}

/* A request to run's target at url: pool, API, key and headers set, the
 * rest zero. */
static void
target_request(const struct audit_run *run, const char *url, struct engine_request *req)
{
	*req = (struct engine_request){
	    .pool = run->target.relay,
	    .api = run->target.api,
	    .url = url,
	    .api_key = run->target.api_key,
	    .auth = run->target.auth,
	    .headers = run->target.headers,
	    .n_headers = run->target.n_headers,
	    .client_headers = run->target.client ? run->target.client->headers : NULL,
	    .bedrock = run->target.bedrock,
	    .aws = run->target.aws.access_key_id != NULL ? &run->target.aws : NULL,
	};
}

/* The characters of the tool a request offers: its name, description and
 * schema are billed as prompt tokens too. */
static size_t
tool_chars(const struct audit_item *it)
{
	const struct request_intent *in = &it->probe->intent;
	if (in->tool_name == NULL)
		return 0;
	return strlen(in->tool_name) + (in->tool_description ? strlen(in->tool_description) : 0) +
	       (in->tool_schema ? strlen(in->tool_schema) : 0);
}

/* The characters a request's prompt is billed for: its messages and tool. */
static size_t
item_chars(const struct audit_item *it)
{
	size_t n = tool_chars(it);
	for (size_t m = 0; m < it->n_messages; m++)
		n += strlen(it->messages[m].content);
	return n;
}

/* A tool's schema is JSON, dense in tokens: this many characters a token
 * at most, as English and JSON split in the public tokenizers. */
#define TOOL_CHARS_PER_TOKEN 3

/* What an item's attachment costs in input tokens (probes/media.h), 0
 * without one. */
static long
media_tokens(const struct audit_run *run, const struct audit_item *it)
{
	switch (it->probe->intent.attach) {
	case MEDIA_PNG: {
		struct media m;
		if (media_make(MEDIA_PNG, it->nonce, &m) != 0)
			return 0;
		long t = media_image_tokens(run->target.api, run->target.model, m.width, m.height);
		media_release(&m);
		return t;
	}
	case MEDIA_PDF:
		return media_document_tokens(run->target.api, run->target.model);
	default:
		return 0;
	}
}

/* What item next may cost, from those that reported usage: its prompt
 * counted for the claimed model where the target can (its tool at
 * TOOL_CHARS_PER_TOKEN), else at the fewest tokens a character seen (no
 * fewer than the smallest prompt seen: the chat template's framing); its
 * answer the longest answer seen plus its own max_tokens, or where a probe
 * sets answer_tokens (a short answer under a generous limit) the most
 * reasoning seen plus those, within its token limit (reasoning included).
 * 0: no request reported usage yet. */
static long
item_estimate(const struct audit_run *run, const struct audit_item *next)
{
	long least_prompt = 0, most_completion = 0, most_reasoning = 0;
	double per_char = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o == NULL || o->prompt_tokens <= 0)
			continue;
		size_t chars = item_chars(&run->items[i]);
		double r = chars ? (double)o->prompt_tokens / (double)chars : 0;
		if (least_prompt == 0 || o->prompt_tokens < least_prompt)
			least_prompt = o->prompt_tokens;
		if (r > 0 && (per_char == 0 || r < per_char))
			per_char = r;
		if (o->completion_tokens > most_completion)
			most_completion = o->completion_tokens;
		if (o->reasoning_tokens > most_reasoning)
			most_reasoning = o->reasoning_tokens;
	}
	if (least_prompt == 0)
		return 0;
	long exact =
	    run->target.prompt_tokens ? run->target.prompt_tokens(next, run->target.stop_arg) : -1;
	double prompt = exact >= 0 ? (double)exact + (double)tool_chars(next) / TOOL_CHARS_PER_TOKEN
	                           : per_char * (double)item_chars(next);
	prompt += (double)media_tokens(run, next); /* said before it is spent */
	long limit =
	    adapter_max_tokens(run->target.api, next->probe->max_tokens, &run->target.rules);
	/* a generous client limit is not what the answer runs to */
	long asked =
	    next->probe->answer_tokens > 0 ? next->probe->answer_tokens : next->probe->max_tokens;
	/* reasoning varies from request to request: where this falls short,
	 * over_budget keeps the shortfall in reserve. A short answer under a
	 * client's generous limit (answer_tokens) runs to the most reasoning
	 * seen, not to the longest answer (a count to fifty) */
	long answer = (next->probe->answer_tokens > 0 ? most_reasoning : most_completion) + asked;
	return (prompt > (double)least_prompt ? (long)prompt + 1 : least_prompt) +
	       (answer < limit ? answer : limit);
}

/* Could sending item next pass the run's token budget? The tokens billed
 * so far, what each request in flight was estimated at when it went, and
 * next's estimate (item_estimate), with the most an estimate has fallen short
 * so far in reserve, must stay within it: else 2. In the budget's last
 * quarter requests go one at a time (1: only when none is in flight), so
 * the estimates of two in flight cannot fall short together. Until a
 * request has ended, one goes at a time; when none reported usage there is
 * no estimate, and they go. */
static int
over_budget(struct audit_run *run, struct audit_item *next)
{
	if (run->target.budget_tokens <= 0)
		return 0;
	long spent = 0, pending = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o == NULL) {
			pending += run->items[i].estimate;
			continue;
		}
		spent += (o->prompt_tokens > 0 ? o->prompt_tokens : 0) +
		         (o->completion_tokens > 0 ? o->completion_tokens : 0);
	}
	next->estimate = item_estimate(run, next);
	if (next->estimate == 0) /* the first request goes alone: it says what one costs */
		return run->in_flight > 0 && run->n_done == 0;
	/* the estimates have been this far short before: held in reserve */
	long after = spent + pending + next->estimate + run->underestimate;
	if (after > run->target.budget_tokens)
		return 2;
	return after > run->target.budget_tokens / 4 * 3;
}

static void
submit_more(struct audit_run *run)
{
	int64_t last_call = run->timeout_us / 2 < LAST_CALL_US ? run->timeout_us / 2 : LAST_CALL_US;
	while (run->next < run->n_items && run->in_flight < run->parallel) {
		/* the long-context tier goes alone, last: a prompt near the
		 * window takes the relay (and our tokenizer) long enough to
		 * bunch the streams beside it, which would read as buffering */
		if (run->items[run->next].probe->tier == TIER_LONG && run->in_flight > 0)
			return;
		/* near the budget, one request at a time: the next goes when those
		 * in flight have said what they cost */
		int budget =
		    run->stop_reason == NULL ? over_budget(run, &run->items[run->next]) : 0;
		if (budget > 0 && run->in_flight > 0)
			return;
		int over = budget == 2;
		size_t i = run->next++;
		struct audit_item *it = &run->items[i];
		/* the whole run shares one deadline: a relay that stalls or
		 * rate-limits hard ends the audit on time, as data */
		int64_t left = run->deadline_us - now_us();
		if (over) {
			char why[160];
			snprintf(
			    why, sizeof why,
			    "its estimated cost would have passed the audit's budget of %ld tokens",
			    run->target.budget_tokens);
			run->stop_reason = xstrdup(why);
			run->budget_reached = 1;
		}
		if (left < last_call || run->stop_reason != NULL) {
			if (item_not_sent(run, i))
				return;
			continue;
		}
		struct probe_call call = {
		    .model = run->target.wire_model ? run->target.wire_model : run->target.model,
		    .messages = it->messages,
		    .n_messages = it->n_messages,
		    .max_tokens = it->probe->max_tokens,
		    .temperature = it->probe->temperature,
		    .seed = -1,
		    .stream = it->probe->stream,
		    .intent = it->probe->intent,
		    .rules = &run->target.rules,
		    .attach_base64 = it->attach_base64,
		};
		char *url = run->target.bedrock
		                ? bedrock_call_url(run->target.base_url, run->target.api,
		                                   call.model, call.stream)
		                : adapter_request_url(run->target.api, run->target.base_url,
		                                      call.model, call.stream);
		/* audit_start() left out what the API cannot carry */
		char *body = run->target.bedrock
		                 ? bedrock_request_body(run->target.api, &call, NULL)
		                 : adapter_body(run->target.api, &call, NULL);
		if (body == NULL)
			fatal(70, "internal: probe '%s' cannot be sent", it->probe->id);
		struct engine_request req;
		target_request(run, url, &req);
		req.body = body;
		req.stream = call.stream;
		req.cold = it->probe->cold;
		/* a stream running far past max_tokens is hung up on */
		long limit =
		    adapter_max_tokens(run->target.api, it->probe->max_tokens, &run->target.rules);
		req.stop_after_chunks = it->probe->stream ? (size_t)limit * 2 + 16 : 0;
		req.timeout_us = left < run->timeout_us ? left : run->timeout_us;
		struct item_ref *ref = xmalloc(sizeof *ref);
		ref->run = run;
		ref->index = i;
		run->in_flight++;
		engine_submit(run->engine, &req, item_done_cb, ref);
		free(url);
		free(body);
	}
}

/* GET the relay's model list beside the probes: no tokens, one request,
 * sent first (it is quick) and outside the parallel budget. */
static void
submit_listing(struct audit_run *run)
{
	char *url =
	    models_list_target_url(run->target.api, run->target.base_url, run->target.bedrock);
	struct engine_request req;
	target_request(run, url, &req);
	req.listing = 1;
	req.body_cap = 1u << 20;
	req.timeout_us = run->timeout_us;
	run->listing_pending = 1;
	engine_submit(run->engine, &req, listing_done_cb, run);
	free(url);
}

/* Would p's attachment alone take more than a tenth of the run's budget
 * (gpt-4o-mini bills 2,833 tokens for an image)? Then it is not planned:
 * one request would crowd the cheap checks out. */
static int
attach_too_dear(const struct audit_target *target, const struct probe_def *p)
{
	if (target->budget_tokens <= 0 || p->intent.attach == MEDIA_NONE)
		return 0;
	long cost = 0;
	if (p->intent.attach == MEDIA_PDF) {
		cost = media_document_tokens(target->api, target->model);
	} else {
		struct media m; /* the size is the code's length's, not its digits' */
		if (media_make(MEDIA_PNG, "00000000", &m) != 0)
			return 0;
		cost = media_image_tokens(target->api, target->model, m.width, m.height);
		media_release(&m);
	}
	return cost * p->samples > target->budget_tokens / 10;
}

/* The probe's attachment, made from the item's nonce (the adapter puts it
 * on the last user message): the code it shows is in no text of the
 * request. */
static void
attach_media(struct audit_item *it)
{
	enum media_kind kind = it->probe->intent.attach;
	if (kind == MEDIA_NONE)
		return;
	struct media media;
	if (media_make(kind, it->nonce, &media) != 0)
		fatal(70, "internal: cannot make the attachment of '%s'", it->probe->id);
	it->attach_base64 = media.base64;
	media.base64 = NULL;
	media_release(&media);
}

/* Plan probe p's requests into run: its samples rendered, or the probe
 * skipped with the reason (what the API or the model refuses, a canary
 * with no listener). */
static void
plan_probe(struct audit_run *run, const struct probe_def *p, const struct audit_target *target)
{
	int wants_canary = 0;
	for (size_t m = 0; m < p->n_messages; m++)
		wants_canary |= canary_wanted(p->texts[m]);
	const char *cannot = adapter_cannot(target->api, &p->intent);
	/* Bedrock's InvokeModel takes Anthropic's bodies, but whether it takes
	 * structured output (output_config) is not documented: not sent */
	if (cannot == NULL && target->bedrock && p->intent.answer_schema != NULL)
		cannot = "Bedrock's InvokeModel is not documented to take structured output";
	if (cannot == NULL)
		cannot = adapter_refused(&target->rules, &p->intent);
	if (cannot == NULL && wants_canary && target->canary == NULL)
		cannot = "no canary listener runs (assay audit --canary-wait)";
	if (cannot == NULL && p->tier == TIER_LONG && target->context_fill_words <= 0)
		cannot = "the window the model is sold with is unknown (no pack entry)";
	if (cannot == NULL && attach_too_dear(target, p))
		cannot = "its attachment costs this model more than a tenth of the audit's token "
		         "budget (--budget or --deep sends it)";
	if (cannot != NULL) {
		run->skipped[run->n_skipped++] = (struct audit_skip){p, cannot};
		return;
	}
	for (int s = 0; s < p->samples; s++) {
		struct audit_item *it = &run->items[run->n_items++];
		char nonce[16];
		probe_nonce(nonce);
		it->probe = p;
		it->sample = s;
		it->messages = xcalloc(CLIENT_RENDER_MAX(p), sizeof *it->messages);
		if (p->repeat && s > 0) { /* sample 0's text and nonce */
			memcpy(it->nonce, it[-s].nonce, sizeof it->nonce);
			it->n_messages = it[-s].n_messages;
			for (size_t m = 0; m < it->n_messages; m++) {
				it->messages[m].role = it[-s].messages[m].role;
				it->messages[m].content = xstrdup(it[-s].messages[m].content);
			}
			if (it[-s].attach_base64 != NULL)
				it->attach_base64 = xstrdup(it[-s].attach_base64);
		} else {
			memcpy(it->nonce, nonce, sizeof it->nonce);
			it->n_messages = client_render(run->target.client, p, nonce, it->messages);
			for (size_t m = 0; wants_canary && m < it->n_messages; m++) {
				char *filled = canary_fill(it->messages[m].content, target->canary);
				free((char *)it->messages[m].content);
				it->messages[m].content = filled;
			}
			for (size_t m = 0; p->tier == TIER_LONG && m < it->n_messages; m++) {
				char *filled = probe_fill_context(it->messages[m].content,
				                                  target->context_fill_words);
				free((char *)it->messages[m].content);
				it->messages[m].content = filled;
			}
			attach_media(it);
		}
	}
}

struct audit_run *
audit_start(struct engine *e, const struct catalog *c, const struct audit_target *target,
            unsigned tiers, size_t parallel, int64_t timeout_us,
            void (*done)(struct audit_run *, void *), void *arg)
{
	struct audit_run *run = xcalloc(1, sizeof *run);
	audit_target_copy(&run->target, target);
	if (run->target.client == NULL) {
		uint64_t seed;
		if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
			fatal(70, "cannot get random bytes");
		run->target.client = client_pick(target->api, seed);
	}
	run->engine = e;
	run->done = done;
	run->arg = arg;
	run->parallel = parallel ? parallel : 3;
	run->timeout_us = timeout_us > 0 ? timeout_us : 60000000;
	run->started_ms = wall_ms();
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->probes[i].tier & tiers)
			n += (size_t)c->probes[i].samples;
	run->items = xcalloc(n ? n : 1, sizeof *run->items);
	run->skipped = xcalloc(c->n ? c->n : 1, sizeof *run->skipped);
	/* cheap probes first, then medium, then deep, then long (catalog order within a
	 * tier): a run cut short by its budget keeps the cheap checks */
	const unsigned order[] = {TIER_CHEAP, TIER_MEDIUM, TIER_THINKING, TIER_DEEP, TIER_LONG};
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
		for (size_t i = 0; i < c->n; i++)
			if (c->probes[i].tier & tiers & order[k] && !c->probes[i].spare)
				plan_probe(run, &c->probes[i], target);
	/* then the spare probes, while the requests stay within the budget */
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
		for (size_t i = 0; i < c->n; i++) {
			const struct probe_def *p = &c->probes[i];
			if (!(p->tier & tiers & order[k]) || !p->spare)
				continue;
			if (target->max_requests > 0 &&
			    run->n_items + (size_t)p->samples > target->max_requests)
				run->skipped[run->n_skipped++] = (struct audit_skip){
				    p, "the other probes fill the audit's request budget (--deep "
				       "sends it)"};
			else
				plan_probe(run, p, target);
		}
	if (run->n_items == 0) {
		run->finished_ms = wall_ms();
		done(run, arg);
		return NULL;
	}
	/* the clock starts with the first request, not before the rendering */
	run->deadline_us = now_us() + run->timeout_us;
	if (target->list_models)
		submit_listing(run);
	submit_more(run);
	return run;
}

void
audit_item_release(struct audit_item *it)
{
	for (size_t m = 0; m < it->n_messages; m++)
		free((char *)it->messages[m].content);
	free(it->messages);
	free(it->attach_base64);
	if (it->obs != NULL) {
		observation_release(it->obs);
		free(it->obs);
	}
}

void
audit_run_redact_canary(struct audit_run *run, const struct canary *c)
{
	for (size_t i = 0; i < run->n_items; i++)
		if (run->items[i].obs != NULL)
			run->items[i].obs->canary_echoed += canary_redact(c, run->items[i].obs);
	if (run->listing != NULL)
		run->listing->canary_echoed += canary_redact(c, run->listing);
}

void
audit_run_free(struct audit_run *run)
{
	if (run == NULL)
		return;
	for (size_t i = 0; i < run->n_items; i++)
		audit_item_release(&run->items[i]);
	if (run->listing != NULL) {
		observation_release(run->listing);
		free(run->listing);
	}
	free(run->items);
	free(run->skipped);
	free(run->stop_reason);
	audit_target_release(&run->target);
	free(run);
}

long
audit_tokens_spent(const struct audit_run *run)
{
	long total = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o == NULL)
			continue;
		if (o->prompt_tokens > 0)
			total += o->prompt_tokens;
		if (o->completion_tokens > 0)
			total += o->completion_tokens;
	}
	return total;
}

const struct audit_item *
audit_find(const struct audit_run *run, const char *probe_id)
{
	for (size_t i = 0; i < run->n_items; i++)
		if (strcmp(run->items[i].probe->id, probe_id) == 0)
			return &run->items[i];
	return NULL;
}

size_t
audit_texts(const struct audit_run *run, const char *probe_id, const char **out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < run->n_items && n < cap; i++) {
		const struct audit_item *it = &run->items[i];
		if (strcmp(it->probe->id, probe_id) == 0 && observation_ok(it->obs) &&
		    it->obs->text != NULL)
			out[n++] = it->obs->text;
	}
	return n;
}

int
audit_answers_agree(const struct audit_run *run, const char *probe_id)
{
	const char *texts[16];
	size_t n = audit_texts(run, probe_id, texts, 16);
	if (n < 2)
		return -1;
	for (size_t i = 1; i < n; i++)
		if (strcmp(texts[i], texts[0]) != 0)
			return 0;
	return 1;
}

struct to_end {
	struct event_base *base;
	struct audit_run *run;
};

static void
to_end_cb(struct audit_run *run, void *arg)
{
	struct to_end *te = arg;
	te->run = run;
	event_base_loopbreak(te->base);
}

struct audit_run *
audit_run_to_end(struct event_base *base, struct engine *e, const struct catalog *c,
                 const struct audit_target *target, unsigned tiers, size_t parallel,
                 int64_t timeout_us)
{
	struct to_end te = {.base = base};
	audit_start(e, c, target, tiers, parallel, timeout_us, to_end_cb, &te);
	if (te.run == NULL) /* it may end at once: nothing to send */
		event_base_dispatch(base);
	return te.run;
}
