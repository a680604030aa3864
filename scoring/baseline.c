/*
 * baseline: packs read with jansson; a bad pack is refused whole.
 */
#include "scoring/baseline.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include "base/util.h"
#include "probes/bedrock.h"
#include "probes/observation.h"

static char *
opt_string(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

/* Lists of strings: aliases, params, fingerprints, sample texts. */
static void
strings_load(json_t *arr, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return;
	*out = xcalloc(json_array_size(arr) + 1, sizeof **out);
	size_t k;
	json_t *v;
	json_array_foreach(arr, k, v)
	{
		if (json_is_string(v))
			(*out)[(*n)++] = xstrdup(json_string_value(v));
	}
}

static json_t *
strings_json(char *const *v, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	return arr;
}

static char **
strings_copy(char *const *v, size_t n)
{
	char **out = xcalloc(n + 1, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void
strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static unsigned
bits_load(json_t *names, unsigned (*from_name)(const char *))
{
	unsigned bits = 0;
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v)
	{
		if (json_is_string(v))
			bits |= from_name(json_string_value(v));
	}
	return bits;
}

static json_t *
bits_json(unsigned bits, const char *(*name)(unsigned))
{
	json_t *a = json_array();
	for (unsigned b = 1; b != 0; b <<= 1)
		if ((bits & b) && name(b) != NULL)
			json_array_append_new(a, json_string(name(b)));
	return a;
}

static void
protocol_load(struct baseline_protocol *p, json_t *j)
{
	memset(p, 0, sizeof *p);
	if (!json_is_object(j))
		return;
	p->recorded = 1;
	strings_load(json_object_get(j, "events"), &p->events, &p->n_events);
	p->usage = bits_load(json_object_get(j, "usage"), obs_usage_field_from_name);
	p->stream_usage = bits_load(json_object_get(j, "stream_usage"), obs_usage_field_from_name);
	p->headers = bits_load(json_object_get(j, "headers"), obs_header_from_name);
	p->start_usage = json_is_true(json_object_get(j, "start_usage"));
	p->ping = json_is_true(json_object_get(j, "ping"));
	p->tool_id_shape = opt_string(j, "tool_id_shape");
	p->id_shape = opt_string(j, "id_shape");
}

/*
 * "protocol": either keyed by API ({"openai": {...}, "responses": {...}})
 * or, as packs had it before, one unkeyed record: the model's own api's.
 * An object is keyed when every key is an API name.
 */
static void
protocols_load(struct baseline_model *m, json_t *j)
{
	for (int a = 0; a < API__COUNT; a++)
		memset(&m->protocols[a], 0, sizeof m->protocols[a]);
	if (!json_is_object(j))
		return;
	int keyed = json_object_size(j) > 0;
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v)
	{
		if (api_from_name(key) < 0)
			keyed = 0;
	}
	if (!keyed) {
		int own = api_from_name(m->api);
		protocol_load(&m->protocols[own >= 0 ? own : API_OPENAI], j);
		return;
	}
	json_object_foreach(j, key, v)
	{
		protocol_load(&m->protocols[api_from_name(key)], v);
	}
}

static json_t *
protocol_json(const struct baseline_protocol *p)
{
	json_t *j = json_object();
	json_object_set_new(j, "events", strings_json(p->events, p->n_events));
	json_object_set_new(j, "usage", bits_json(p->usage, obs_usage_field_name));
	json_object_set_new(j, "stream_usage", bits_json(p->stream_usage, obs_usage_field_name));
	json_object_set_new(j, "headers", bits_json(p->headers, obs_header_name));
	json_object_set_new(j, "start_usage", json_boolean(p->start_usage));
	json_object_set_new(j, "ping", json_boolean(p->ping));
	if (p->tool_id_shape != NULL)
		json_object_set_new(j, "tool_id_shape", json_string(p->tool_id_shape));
	if (p->id_shape != NULL)
		json_object_set_new(j, "id_shape", json_string(p->id_shape));
	return j;
}

/* Every recorded protocol, keyed by API; NULL when none is recorded. A
 * model with a record for its own API alone keeps the unkeyed form packs
 * had before, so they read back (and export) as they were. */
static json_t *
protocols_json(const struct baseline_model *m)
{
	int own = m->api != NULL ? api_from_name(m->api) : -1, others = 0;
	for (int a = 0; a < API__COUNT; a++)
		others += a != own && m->protocols[a].recorded;
	if (own >= 0 && others == 0)
		return m->protocols[own].recorded ? protocol_json(&m->protocols[own]) : NULL;
	json_t *j = NULL;
	for (int a = 0; a < API__COUNT; a++) {
		if (!m->protocols[a].recorded)
			continue;
		if (j == NULL)
			j = json_object();
		json_object_set_new(j, api_name((enum api_kind)a), protocol_json(&m->protocols[a]));
	}
	return j;
}

static void
protocol_copy(struct baseline_protocol *dst, const struct baseline_protocol *p)
{
	*dst = *p;
	dst->events = strings_copy(p->events, p->n_events);
	dst->tool_id_shape = p->tool_id_shape ? xstrdup(p->tool_id_shape) : NULL;
	dst->id_shape = p->id_shape ? xstrdup(p->id_shape) : NULL;
}

const struct baseline_protocol *
baseline_protocol_for(const struct baseline_model *m, enum api_kind api)
{
	if ((unsigned)api >= API__COUNT || !m->protocols[api].recorded)
		return NULL;
	return &m->protocols[api];
}

const char *
baseline_id_shape_for(const struct baseline_model *m, enum api_kind api)
{
	const struct baseline_protocol *p = baseline_protocol_for(m, api);
	if (p != NULL && p->id_shape != NULL)
		return p->id_shape;
	return m->api != NULL && api_from_name(m->api) == (int)api ? m->id_shape : NULL;
}

void
baseline_protocol_release(struct baseline_protocol *p)
{
	for (size_t i = 0; i < p->n_events; i++)
		free(p->events[i]);
	free(p->events);
	free(p->tool_id_shape);
	free(p->id_shape);
	memset(p, 0, sizeof *p);
}

/* An event sequence without its pings, runs collapsed again. */
static void
events_core(const char *events, char out[OBS_EVENTS_CAP])
{
	size_t n = 0;
	for (const char *c = events; *c != '\0' && n + 1 < OBS_EVENTS_CAP; c++)
		if (*c != 'P' && (n == 0 || out[n - 1] != *c))
			out[n++] = *c;
	out[n] = '\0';
}

int
baseline_protocol_knows_events(const struct baseline_protocol *p, const char *events)
{
	char core[OBS_EVENTS_CAP];
	events_core(events, core);
	return name_index((const char *const *)p->events, p->n_events, core) >= 0;
}

void
baseline_protocol_observe(struct baseline_protocol *p, const struct observation *o)
{
	if (!observation_ok(o) || (o->streamed && o->stopped_early))
		return;
	p->recorded = 1;
	p->headers = p->seen++ == 0 ? o->headers_seen : p->headers & o->headers_seen;
	if (o->streamed) {
		p->stream_usage =
		    p->seen_streams == 0 ? o->usage_fields : p->stream_usage & o->usage_fields;
		p->start_usage =
		    (p->seen_streams == 0 || p->start_usage) && o->start_input_tokens > 0;
		p->ping = (p->seen_streams == 0 || p->ping) && strchr(o->events, 'P') != NULL;
		p->seen_streams++;
		char core[OBS_EVENTS_CAP];
		events_core(o->events, core);
		if (!baseline_protocol_knows_events(p, o->events) && core[0] != '\0' &&
		    p->n_events < 64) {
			p->events = xrealloc(p->events, (p->n_events + 2) * sizeof *p->events);
			p->events[p->n_events++] = xstrdup(core);
			p->events[p->n_events] = NULL;
		}
	} else {
		p->usage = p->seen_whole++ == 0 ? o->usage_fields : p->usage & o->usage_fields;
	}
	if (o->tool_id != NULL && p->tool_id_shape == NULL) {
		char shape[96];
		baseline_id_shape(o->tool_id, shape, sizeof shape);
		p->tool_id_shape = xstrdup(shape);
	}
	if (o->id != NULL && *o->id && p->id_shape == NULL) {
		char shape[96]; /* the first seen: an official API keeps one shape */
		baseline_id_shape(o->id, shape, sizeof shape);
		p->id_shape = xstrdup(shape);
	}
}

/*
 * The documented facts of a model: what its provider's documentation says
 * the official API refuses, which token-limit field it takes, how it
 * reasons, and where that was read and when. All optional; what a pack
 * names must be one of the documented words, so a typo is refused rather
 * than read as "unknown".
 */
static const char *const reasoning_modes[] = {"always", "optional", "none"};
static const char *const token_limit_fields[] = {"max_tokens", "max_completion_tokens"};

static long
opt_long(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (long)json_integer_value(v) : -1;
}

static int
facts_load(struct baseline_model *m, json_t *jm, const char *path, char *err, size_t errlen)
{
	strings_load(json_object_get(jm, "rejects"), &m->rejects, &m->n_rejects);
	strings_load(json_object_get(jm, "exclusive"), &m->exclusive, &m->n_exclusive);
	strings_load(json_object_get(jm, "apis"), &m->apis, &m->n_apis);
	m->token_limit_field = opt_string(jm, "token_limit_field");
	m->source = opt_string(jm, "source");
	m->as_of = opt_string(jm, "as_of");
	m->price_cached_in = -1;
	json_t *cached = json_object_get(json_object_get(jm, "price_per_mtok"), "cached_input");
	if (json_is_number(cached))
		m->price_cached_in = json_number_value(cached);
	struct baseline_reasoning *r = &m->reasoning;
	json_t *jr = json_object_get(jm, "reasoning");
	r->min_output = opt_long(jr, "min_output");
	r->min_budget = opt_long(jr, "min_budget");
	r->mode = opt_string(jr, "mode");
	r->default_effort = opt_string(jr, "default_effort");
	strings_load(json_object_get(jr, "efforts"), &r->efforts, &r->n_efforts);
	strings_load(json_object_get(jr, "chat_efforts"), &r->chat_efforts, &r->n_chat_efforts);
	r->chat_total_only = json_is_true(json_object_get(jr, "chat_total_only"));
	if (m->token_limit_field != NULL &&
	    name_index(token_limit_fields, 2, m->token_limit_field) < 0) {
		snprintf(err, errlen,
		         "%s: model '%s': token_limit_field is max_tokens or "
		         "max_completion_tokens, not '%s'",
		         path, m->name, m->token_limit_field);
		return -1;
	}
	if (r->mode != NULL && name_index(reasoning_modes, 3, r->mode) < 0) {
		snprintf(err, errlen,
		         "%s: model '%s': reasoning mode is always, optional or none, not '%s'",
		         path, m->name, r->mode);
		return -1;
	}
	return 0;
}

static void
facts_release(struct baseline_model *m)
{
	strings_free(m->rejects, m->n_rejects);
	strings_free(m->exclusive, m->n_exclusive);
	strings_free(m->apis, m->n_apis);
	free(m->token_limit_field);
	free(m->source);
	free(m->as_of);
	free(m->reasoning.mode);
	free(m->reasoning.default_effort);
	strings_free(m->reasoning.efforts, m->reasoning.n_efforts);
	strings_free(m->reasoning.chat_efforts, m->reasoning.n_chat_efforts);
}

static char *dup_or_null(const char *s);

static void
facts_copy(struct baseline_model *dst, const struct baseline_model *m)
{
	dst->rejects = strings_copy(m->rejects, m->n_rejects);
	dst->n_rejects = m->n_rejects;
	dst->exclusive = strings_copy(m->exclusive, m->n_exclusive);
	dst->n_exclusive = m->n_exclusive;
	dst->apis = strings_copy(m->apis, m->n_apis);
	dst->n_apis = m->n_apis;
	dst->token_limit_field = dup_or_null(m->token_limit_field);
	dst->source = dup_or_null(m->source);
	dst->as_of = dup_or_null(m->as_of);
	dst->price_cached_in = m->price_cached_in;
	dst->reasoning = m->reasoning;
	dst->reasoning.mode = dup_or_null(m->reasoning.mode);
	dst->reasoning.default_effort = dup_or_null(m->reasoning.default_effort);
	dst->reasoning.efforts = strings_copy(m->reasoning.efforts, m->reasoning.n_efforts);
	dst->reasoning.chat_efforts =
	    strings_copy(m->reasoning.chat_efforts, m->reasoning.n_chat_efforts);
}

/* The facts into the model's JSON object j: only what is known. */
static void
facts_json(const struct baseline_model *m, json_t *j)
{
	if (m->n_apis > 0)
		json_object_set_new(j, "apis", strings_json(m->apis, m->n_apis));
	if (m->n_rejects > 0)
		json_object_set_new(j, "rejects", strings_json(m->rejects, m->n_rejects));
	if (m->n_exclusive > 0)
		json_object_set_new(j, "exclusive", strings_json(m->exclusive, m->n_exclusive));
	if (m->token_limit_field != NULL)
		json_object_set_new(j, "token_limit_field", json_string(m->token_limit_field));
	const struct baseline_reasoning *r = &m->reasoning;
	if (r->mode != NULL || r->min_output >= 0 || r->min_budget >= 0 || r->n_efforts > 0 ||
	    r->n_chat_efforts > 0 || r->chat_total_only) {
		json_t *jr = json_object();
		if (r->mode != NULL)
			json_object_set_new(jr, "mode", json_string(r->mode));
		if (r->min_output >= 0)
			json_object_set_new(jr, "min_output", json_integer(r->min_output));
		if (r->min_budget >= 0)
			json_object_set_new(jr, "min_budget", json_integer(r->min_budget));
		if (r->n_efforts > 0)
			json_object_set_new(jr, "efforts", strings_json(r->efforts, r->n_efforts));
		if (r->default_effort != NULL)
			json_object_set_new(jr, "default_effort", json_string(r->default_effort));
		if (r->n_chat_efforts > 0)
			json_object_set_new(jr, "chat_efforts",
			                    strings_json(r->chat_efforts, r->n_chat_efforts));
		if (r->chat_total_only)
			json_object_set_new(jr, "chat_total_only", json_true());
		json_object_set_new(j, "reasoning", jr);
	}
	if (m->source != NULL)
		json_object_set_new(j, "source", json_string(m->source));
	if (m->as_of != NULL)
		json_object_set_new(j, "as_of", json_string(m->as_of));
}

static void
model_release(struct baseline_model *m)
{
	free(m->name);
	strings_free(m->aliases, m->n_aliases);
	free(m->api);
	free(m->tokenizer);
	free(m->template);
	free(m->id_prefix);
	facts_release(m);
	for (size_t i = 0; i < m->n_answers; i++)
		free(m->answers[i].probe);
	free(m->answers);
	strings_free(m->params, m->n_params);
	strings_free(m->inputs, m->n_inputs);
	strings_free(m->fingerprints, m->n_fingerprints);
	free(m->id_shape);
	for (int a = 0; a < API__COUNT; a++)
		baseline_protocol_release(&m->protocols[a]);
	for (size_t i = 0; i < m->n_samples; i++) {
		free(m->samples[i].probe);
		strings_free(m->samples[i].texts, m->samples[i].n);
	}
	free(m->samples);
	for (size_t i = 0; i < m->n_answer_counts; i++) {
		free(m->answer_counts[i].probe);
		strings_free(m->answer_counts[i].values, m->answer_counts[i].n);
		free(m->answer_counts[i].counts);
	}
	free(m->answer_counts);
}

void
baseline_free(struct baseline_pack *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		model_release(&p->models[i]);
	free(p->models);
	free(p->name);
	free(p);
}

/* Members a and b of the object o, when both are numbers: 1 with them in
 * *x and *y; else 0, nothing set. */
static int
number_pair(const json_t *o, const char *a, const char *b, double *x, double *y)
{
	const json_t *va = json_object_get(o, a), *vb = json_object_get(o, b);
	if (!json_is_number(va) || !json_is_number(vb))
		return 0;
	*x = json_number_value(va);
	*y = json_number_value(vb);
	return 1;
}

/* "answer_counts": {probe: {answer: count}}; a count that is not a
 * positive integer is left out, as is anything not an object. */
static void
answer_counts_load(struct baseline_model *m, json_t *ac)
{
	if (!json_is_object(ac))
		return;
	m->answer_counts = xcalloc(json_object_size(ac) + 1, sizeof *m->answer_counts);
	const char *probe;
	json_t *one;
	json_object_foreach(ac, probe, one)
	{
		if (!json_is_object(one))
			continue;
		struct baseline_answer_counts *c = &m->answer_counts[m->n_answer_counts++];
		c->probe = xstrdup(probe);
		c->values = xcalloc(json_object_size(one) + 1, sizeof *c->values);
		c->counts = xcalloc(json_object_size(one) + 1, sizeof *c->counts);
		const char *value;
		json_t *count;
		json_object_foreach(one, value, count)
		{
			if (!json_is_integer(count) || json_integer_value(count) <= 0)
				continue;
			c->values[c->n] = xstrdup(value);
			c->counts[c->n++] = (long)json_integer_value(count);
		}
	}
}

static struct baseline_pack *pack_from_json(json_t *root, const char *path, char *err,
                                            size_t errlen);

struct baseline_pack *
baseline_load(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		return NULL;
	}
	return pack_from_json(root, path, err, errlen);
}

struct baseline_pack *
baseline_load_string(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "%s:%d: %s", name, jerr.line, jerr.text);
		return NULL;
	}
	return pack_from_json(root, name, err, errlen);
}

/* A pack from its parsed JSON (root's reference is taken). */
static struct baseline_pack *
pack_from_json(json_t *root, const char *path, char *err, size_t errlen)
{
	struct baseline_pack *p = xcalloc(1, sizeof *p);
	json_t *models = json_object_get(root, "models");
	if (!json_is_integer(json_object_get(root, "assay_baseline_pack")) ||
	    !json_is_array(models)) {
		snprintf(err, errlen, "%s: not an Assay baseline pack", path);
		goto err;
	}
	p->name = opt_string(root, "name");
	p->models = xcalloc(json_array_size(models) + 1, sizeof *p->models);
	size_t i;
	json_t *jm;
	json_array_foreach(models, i, jm)
	{
		struct baseline_model *m = &p->models[p->n];
		m->name = opt_string(jm, "name");
		if (m->name == NULL) {
			snprintf(err, errlen, "%s: model %zu has no name", path, i);
			goto err;
		}
		p->n++;
		strings_load(json_object_get(jm, "aliases"), &m->aliases, &m->n_aliases);
		m->api = opt_string(jm, "api");
		if (m->api == NULL)
			m->api = xstrdup("openai");
		m->tokenizer = opt_string(jm, "tokenizer");
		m->template = opt_string(jm, "template");
		m->id_prefix = opt_string(jm, "id_prefix");
		if (facts_load(m, jm, path, err, errlen) != 0)
			goto err;
		json_t *v = json_object_get(jm, "context_window");
		m->context_window = json_is_integer(v) ? (long)json_integer_value(v) : -1;
		v = json_object_get(jm, "max_output");
		m->max_output = json_is_integer(v) ? (long)json_integer_value(v) : -1;
		m->system_fingerprint = json_is_true(json_object_get(jm, "system_fingerprint"));
		m->price_in = m->price_out = -1;
		number_pair(json_object_get(jm, "price_per_mtok"), "input", "output", &m->price_in,
		            &m->price_out);
		json_t *lat = json_object_get(jm, "latency");
		m->ttft_ms = m->tokens_per_s = -1;
		m->latency_time_scale = 1;
		if (number_pair(lat, "ttft_ms", "tokens_per_s", &m->ttft_ms, &m->tokens_per_s)) {
			json_t *ts = json_object_get(lat, "time_scale");
			if (json_is_number(ts) && json_number_value(ts) > 0)
				m->latency_time_scale = json_number_value(ts);
		}
		strings_load(json_object_get(jm, "params"), &m->params, &m->n_params);
		strings_load(json_object_get(jm, "inputs"), &m->inputs, &m->n_inputs);
		strings_load(json_object_get(jm, "fingerprints"), &m->fingerprints,
		             &m->n_fingerprints);
		m->id_shape = opt_string(jm, "id_shape");
		protocols_load(m, json_object_get(jm, "protocol"));
		json_t *samples = json_object_get(jm, "samples");
		if (json_is_object(samples)) {
			m->samples = xcalloc(json_object_size(samples) + 1, sizeof *m->samples);
			const char *probe;
			json_t *texts;
			json_object_foreach(samples, probe, texts)
			{
				struct baseline_samples *bs = &m->samples[m->n_samples++];
				bs->probe = xstrdup(probe);
				strings_load(texts, &bs->texts, &bs->n);
			}
		}
		answer_counts_load(m, json_object_get(jm, "answer_counts"));
		json_t *answers = json_object_get(jm, "answers");
		if (json_is_object(answers)) {
			m->answers = xcalloc(json_object_size(answers) + 1, sizeof *m->answers);
			const char *key;
			json_t *rate;
			json_object_foreach(answers, key, rate)
			{
				if (!json_is_number(rate))
					continue;
				double r = json_number_value(rate);
				if (r < 0 || r > 1) {
					snprintf(err, errlen,
					         "%s: model '%s': rate for '%s' not in 0..1", path,
					         m->name, key);
					goto err;
				}
				m->answers[m->n_answers].probe = xstrdup(key);
				m->answers[m->n_answers++].p_correct = r;
			}
		}
	}
	json_decref(root);
	return p;
err:
	json_decref(root);
	baseline_free(p);
	return NULL;
}

char *
baseline_user_dir(void)
{
	const char *d = getenv("ASSAY_BASELINE_DIR");
	if (d != NULL && *d)
		return xstrdup(d);
	d = getenv("XDG_DATA_HOME");
	if (d != NULL && *d)
		return xasprintf("%s/assay/baselines", d);
	d = getenv("HOME");
	return xasprintf("%s/.local/share/assay/baselines", d && *d ? d : ".");
}

static json_t *
model_to_json(const struct baseline_model *m)
{
	json_t *j = json_object();
	json_object_set_new(j, "name", json_string(m->name));
	json_object_set_new(j, "aliases", strings_json(m->aliases, m->n_aliases));
	json_object_set_new(j, "api", json_string(m->api));
	json_object_set_new(j, "tokenizer", m->tokenizer ? json_string(m->tokenizer) : json_null());
	json_object_set_new(j, "template", m->template ? json_string(m->template) : json_null());
	json_object_set_new(j, "context_window", json_integer(m->context_window));
	json_object_set_new(j, "max_output", json_integer(m->max_output));
	json_object_set_new(j, "id_prefix", json_string(m->id_prefix ? m->id_prefix : ""));
	json_object_set_new(j, "system_fingerprint", json_boolean(m->system_fingerprint));
	facts_json(m, j);
	json_t *ans = json_object();
	for (size_t i = 0; i < m->n_answers; i++)
		json_object_set_new(ans, m->answers[i].probe, json_real(m->answers[i].p_correct));
	json_object_set_new(j, "answers", ans);
	json_object_set_new(j, "params", strings_json(m->params, m->n_params));
	if (m->n_inputs > 0)
		json_object_set_new(j, "inputs", strings_json(m->inputs, m->n_inputs));
	if (m->n_fingerprints > 0)
		json_object_set_new(j, "fingerprints",
		                    strings_json(m->fingerprints, m->n_fingerprints));
	if (m->id_shape != NULL)
		json_object_set_new(j, "id_shape", json_string(m->id_shape));
	json_t *protocols = protocols_json(m);
	if (protocols != NULL)
		json_object_set_new(j, "protocol", protocols);
	if (m->n_samples > 0) {
		json_t *samples = json_object();
		for (size_t i = 0; i < m->n_samples; i++)
			json_object_set_new(samples, m->samples[i].probe,
			                    strings_json(m->samples[i].texts, m->samples[i].n));
		json_object_set_new(j, "samples", samples);
	}
	if (m->n_answer_counts > 0) {
		json_t *ac = json_object();
		for (size_t i = 0; i < m->n_answer_counts; i++) {
			const struct baseline_answer_counts *c = &m->answer_counts[i];
			json_t *one = json_object();
			for (size_t k = 0; k < c->n; k++)
				json_object_set_new(one, c->values[k], json_integer(c->counts[k]));
			json_object_set_new(ac, c->probe, one);
		}
		json_object_set_new(j, "answer_counts", ac);
	}
	if (m->ttft_ms >= 0) {
		json_t *lat = json_object();
		json_object_set_new(lat, "ttft_ms", json_real(m->ttft_ms));
		json_object_set_new(lat, "tokens_per_s", json_real(m->tokens_per_s));
		if (m->latency_time_scale != 1)
			json_object_set_new(lat, "time_scale", json_real(m->latency_time_scale));
		json_object_set_new(j, "latency", lat);
	}
	if (m->price_in >= 0) {
		json_t *pr = json_object();
		json_object_set_new(pr, "input", json_real(m->price_in));
		json_object_set_new(pr, "output", json_real(m->price_out));
		if (m->price_cached_in >= 0)
			json_object_set_new(pr, "cached_input", json_real(m->price_cached_in));
		json_object_set_new(j, "price_per_mtok", pr);
	}
	return j;
}

json_t *
baseline_pack_to_json(const struct baseline_pack *p)
{
	json_t *root = json_object();
	json_object_set_new(root, "assay_baseline_pack", json_integer(1));
	json_object_set_new(root, "name", json_string(p->name ? p->name : "exported"));
	json_t *models = json_array();
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(models, model_to_json(&p->models[i]));
	json_object_set_new(root, "models", models);
	return root;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void
model_copy(struct baseline_model *dst, const struct baseline_model *m)
{
	memset(dst, 0, sizeof *dst);
	dst->name = xstrdup(m->name);
	dst->aliases = strings_copy(m->aliases, m->n_aliases);
	dst->n_aliases = m->n_aliases;
	dst->api = dup_or_null(m->api);
	dst->tokenizer = dup_or_null(m->tokenizer);
	dst->template = dup_or_null(m->template);
	dst->context_window = m->context_window;
	dst->max_output = m->max_output;
	dst->id_prefix = dup_or_null(m->id_prefix);
	dst->system_fingerprint = m->system_fingerprint;
	facts_copy(dst, m);
	dst->answers = xcalloc(m->n_answers + 1, sizeof *dst->answers);
	for (size_t i = 0; i < m->n_answers; i++) {
		dst->answers[i].probe = xstrdup(m->answers[i].probe);
		dst->answers[i].p_correct = m->answers[i].p_correct;
	}
	dst->n_answers = m->n_answers;
	dst->params = strings_copy(m->params, m->n_params);
	dst->n_params = m->n_params;
	dst->inputs = strings_copy(m->inputs, m->n_inputs);
	dst->n_inputs = m->n_inputs;
	dst->fingerprints = strings_copy(m->fingerprints, m->n_fingerprints);
	dst->n_fingerprints = m->n_fingerprints;
	dst->id_shape = dup_or_null(m->id_shape);
	dst->samples = xcalloc(m->n_samples + 1, sizeof *dst->samples);
	for (size_t i = 0; i < m->n_samples; i++) {
		dst->samples[i].probe = xstrdup(m->samples[i].probe);
		dst->samples[i].texts = strings_copy(m->samples[i].texts, m->samples[i].n);
		dst->samples[i].n = m->samples[i].n;
	}
	dst->n_samples = m->n_samples;
	dst->answer_counts = xcalloc(m->n_answer_counts + 1, sizeof *dst->answer_counts);
	for (size_t i = 0; i < m->n_answer_counts; i++) {
		const struct baseline_answer_counts *c = &m->answer_counts[i];
		struct baseline_answer_counts *d = &dst->answer_counts[i];
		d->probe = xstrdup(c->probe);
		d->values = strings_copy(c->values, c->n);
		d->counts = xcalloc(c->n + 1, sizeof *d->counts);
		memcpy(d->counts, c->counts, c->n * sizeof *d->counts);
		d->n = c->n;
	}
	dst->n_answer_counts = m->n_answer_counts;
	dst->price_in = m->price_in;
	dst->price_out = m->price_out;
	dst->ttft_ms = m->ttft_ms;
	dst->tokens_per_s = m->tokens_per_s;
	dst->latency_time_scale = m->latency_time_scale;
	for (int a = 0; a < API__COUNT; a++)
		protocol_copy(&dst->protocols[a], &m->protocols[a]);
}

void
baseline_put(struct baseline_pack *p, const struct baseline_model *m)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->models[i].name, m->name) == 0) {
			model_release(&p->models[i]);
			model_copy(&p->models[i], m);
			return;
		}
	p->models = xrealloc(p->models, (p->n + 1) * sizeof *p->models);
	model_copy(&p->models[p->n++], m);
}

static int
json_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

struct baseline_pack *
baseline_load_default(char *err, size_t errlen)
{
	char *path = data_path("scoring/baselines/bundled.json");
	if (path == NULL) {
		snprintf(err, errlen,
		         "cannot find the bundled baseline 'scoring/baselines/bundled.json'");
		return NULL;
	}
	struct baseline_pack *p = baseline_load(path, err, errlen);
	free(path);
	if (p == NULL)
		return NULL;
	char *dir = baseline_user_dir();
	struct dirent **names;
	int n = scandir(dir, &names, json_file, alphasort);
	for (int i = 0; i < n; i++) {
		char *file = xasprintf("%s/%s", dir, names[i]->d_name);
		struct baseline_pack *user = baseline_load(file, err, errlen);
		if (user == NULL) {
			fprintf(stderr, "assay: ignoring baseline pack: %s\n", err);
		} else {
			for (size_t k = 0; k < user->n; k++)
				baseline_put(p, &user->models[k]);
			baseline_free(user);
		}
		free(file);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	free(dir);
	return p;
}

/* Keys are compared, never kept: a name longer than this is no model's. */
#define NAME_KEY_CAP 160

/*
 * name as a key (see baseline_resolve): without a vendor prefix (up to the
 * last '/'), ASCII case folded, '.', '_', ' ' and '@' read as '-' (Vertex
 * AI names snapshots claude-sonnet-4-5@20250929). 0, or -1
 * when the name does not fit (it matches nothing then).
 */
static int
name_key(const char *name, char out[NAME_KEY_CAP])
{
	const char *slash = strrchr(name, '/');
	const char *s = slash ? slash + 1 : name;
	size_t n = 0;
	for (; *s != '\0'; s++) {
		if (n + 1 >= NAME_KEY_CAP)
			return -1;
		char c = *s;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (c == '.' || c == '_' || c == ' ' || c == '@')
			c = '-';
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

static int
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

/* Does key end in "-" followed by digit groups of these lengths, '-'
 * between them ({4,2,2}: "-2025-11-01")? The length of that tail, or 0. */
static size_t
digits_tail(const char *key, const size_t *groups, size_t n_groups)
{
	size_t len = strlen(key), want = 0;
	for (size_t g = 0; g < n_groups; g++)
		want += groups[g] + 1;
	if (len <= want)
		return 0;
	const char *t = key + len - want;
	for (size_t g = 0; g < n_groups; g++) {
		if (*t != '-' || !all_digits(t + 1, groups[g]))
			return 0;
		t += groups[g] + 1;
	}
	return want;
}

/*
 * What relays and providers put after a model's name to say which
 * snapshot or which setting: dropped one at a time from the right. Only
 * whole tails; a segment that names another model ("-mini", "-pro",
 * "-codex", "-max", "-fast") is never among them.
 */
static const char *const name_suffixes[] = {
    "-latest", "-thinking", "-nothinking", "-high", "-medium", "-low",    "-minimal",
    "-xhigh",  ":free",     ":thinking",   ":beta", ":nitro",  ":exacto", "[1m]",
};

/* Drop one snapshot date or suffix from the end of key: 1 when one was. */
static int
strip_tail(char *key)
{
	static const size_t ymd[] = {4, 2, 2}, md[] = {2, 2}, my[] = {2, 4}, eight[] = {8},
	                    four[] = {4};
	static const struct {
		const size_t *groups;
		size_t n;
	} dates[] = {{ymd, 3}, {my, 2}, {md, 2}, {eight, 1}, {four, 1}};
	size_t len = strlen(key);
	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		size_t t = digits_tail(key, dates[i].groups, dates[i].n);
		if (t > 0) {
			key[len - t] = '\0';
			return 1;
		}
	}
	for (size_t i = 0; i < sizeof name_suffixes / sizeof name_suffixes[0]; i++) {
		size_t n = strlen(name_suffixes[i]);
		if (len > n && strcmp(key + len - n, name_suffixes[i]) == 0) {
			key[len - n] = '\0';
			return 1;
		}
	}
	return 0;
}

/* Does m's name or an alias have this key? */
static int
model_has_key(const struct baseline_model *m, const char *key)
{
	char k[NAME_KEY_CAP];
	if (name_key(m->name, k) == 0 && strcmp(k, key) == 0)
		return 1;
	for (size_t i = 0; i < m->n_aliases; i++)
		if (name_key(m->aliases[i], k) == 0 && strcmp(k, key) == 0)
			return 1;
	return 0;
}

static int
model_has_name(const struct baseline_model *m, const char *name)
{
	return strcmp(m->name, name) == 0 ||
	       name_index((const char *const *)m->aliases, m->n_aliases, name) >= 0;
}

/*
 * One step of baseline_resolve: every model that has the name (key NULL)
 * or the key. 1 with *out set, 0 none, -1 two (why says which).
 */
static int
resolve_step(const struct baseline_pack *p, const char *name, const char *key,
             const struct baseline_model **out, char *why, size_t whylen)
{
	const struct baseline_model *found = NULL;
	for (size_t i = 0; i < p->n; i++) {
		const struct baseline_model *m = &p->models[i];
		if (!(key ? model_has_key(m, key) : model_has_name(m, name)))
			continue;
		if (found != NULL) {
			if (why != NULL)
				snprintf(why, whylen,
				         "model name '%s' is ambiguous: it could be '%s' or '%s' "
				         "(name one of them exactly)",
				         name, found->name, m->name);
			*out = NULL;
			return -1;
		}
		found = m;
	}
	*out = found;
	return found != NULL;
}

int
baseline_resolve(const struct baseline_pack *p, const char *name, const struct baseline_model **out,
                 char *why, size_t whylen)
{
	*out = NULL;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (name == NULL || *name == '\0')
		return 0;
	/* a Bedrock model id (us.anthropic.claude-sonnet-4-5-20250929-v1:0)
	 * names the Anthropic model it serves */
	char bedrock_name[NAME_KEY_CAP];
	if (bedrock_model_name(name, bedrock_name, sizeof bedrock_name) == 0)
		name = bedrock_name;
	int rc = resolve_step(p, name, NULL, out, why, whylen);
	if (rc != 0)
		return rc;
	char key[NAME_KEY_CAP];
	if (name_key(name, key) != 0)
		return 0;
	do {
		rc = resolve_step(p, name, key, out, why, whylen);
		if (rc != 0)
			return rc;
	} while (strip_tail(key));
	return 0;
}

const struct baseline_model *
baseline_find(const struct baseline_pack *p, const char *name)
{
	/* exactly first, the first model that has it: what packs always did */
	for (size_t i = 0; i < p->n; i++)
		if (model_has_name(&p->models[i], name))
			return &p->models[i];
	const struct baseline_model *m;
	return baseline_resolve(p, name, &m, NULL, 0) == 1 ? m : NULL;
}

/* name followed by "-YYYY-MM-DD" or "-NNNN" (a dated snapshot) */
static int
is_snapshot_of(const char *base, const char *reported)
{
	size_t n = strlen(base);
	if (strncmp(base, reported, n) != 0 || reported[n] != '-')
		return 0;
	const char *s = reported + n + 1;
	size_t digits = 0;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s != '-')
			return 0;
	}
	return digits == 4 || digits == 8;
}

int
baseline_name_matches(const struct baseline_model *m, const char *reported)
{
	if (strcmp(m->name, reported) == 0 || is_snapshot_of(m->name, reported))
		return 1;
	for (size_t k = 0; k < m->n_aliases; k++)
		if (strcmp(m->aliases[k], reported) == 0 || is_snapshot_of(m->aliases[k], reported))
			return 1;
	/* the same name as baseline_resolve reads it ("anthropic/claude-opus-4.5",
	 * "claude-opus-4-5-20251101" for claude-opus-4-5) */
	char key[NAME_KEY_CAP];
	if (name_key(reported, key) != 0)
		return 0;
	do {
		if (model_has_key(m, key))
			return 1;
	} while (strip_tail(key));
	return 0;
}

double
baseline_answer_rate(const struct baseline_model *m, const char *probe)
{
	for (size_t i = 0; i < m->n_answers; i++)
		if (strcmp(m->answers[i].probe, probe) == 0)
			return m->answers[i].p_correct;
	return -1;
}

int
baseline_rejects(const struct baseline_model *m, const char *param)
{
	return name_index((const char *const *)m->rejects, m->n_rejects, param) >= 0;
}

int
baseline_supports(const struct baseline_model *m, const char *param)
{
	return name_index((const char *const *)m->params, m->n_params, param) >= 0 &&
	       !baseline_rejects(m, param);
}

static void reasoning_rules(const struct baseline_model *m, struct request_rules *out);

int
baseline_takes(const struct baseline_model *m, const char *input)
{
	return m != NULL && name_index((const char *const *)m->inputs, m->n_inputs, input) >= 0;
}

void
baseline_request_rules(const struct baseline_model *m, struct request_rules *out)
{
	memset(out, 0, sizeof *out);
	if (m == NULL)
		return;
	reasoning_rules(m, out);
	/* what the documentation says the API refuses is never sent */
	out->no_temperature = baseline_rejects(m, "temperature");
	out->no_stop = baseline_rejects(m, "stop");
	out->no_logprobs = baseline_rejects(m, "logprobs") || baseline_rejects(m, "top_logprobs");
	out->takes_images = baseline_takes(m, "image");
	out->takes_documents = baseline_takes(m, "pdf");
	out->takes_json_schema = baseline_supports(m, "json_schema");
	if (m->token_limit_field != NULL)
		out->max_completion_tokens =
		    strcmp(m->token_limit_field, "max_completion_tokens") == 0;
	if (m->n_params == 0)
		return;
	if (m->token_limit_field == NULL)
		out->max_completion_tokens = !baseline_supports(m, "max_tokens") &&
		                             baseline_supports(m, "max_completion_tokens");
	out->no_temperature = out->no_temperature || !baseline_supports(m, "temperature");
}

/* Reasoning efforts, least first (OpenAI's words; others use a subset). */
static const char *const effort_rank[] = {"none", "minimal", "low", "medium",
                                          "high", "xhigh",   "max"};
#define N_EFFORTS (sizeof effort_rank / sizeof effort_rank[0])

/*
 * Tokens a reasoning model may think at an effort, kept free in every
 * limit so that thinking does not eat a few-token answer (the API bills
 * what is used, not the limit). Generous for its effort: a probe whose
 * answer the thinking ate still says nothing about the relay.
 */
static long
effort_reserve(const char *effort)
{
	if (effort == NULL)
		return 1024; /* thinking nobody can turn down */
	if (strcmp(effort, "none") == 0)
		return 0;
	if (strcmp(effort, "minimal") == 0)
		return 64;
	if (strcmp(effort, "low") == 0)
		return 256;
	return 1024;
}

static void
reasoning_rules(const struct baseline_model *m, struct request_rules *out)
{
	const struct baseline_reasoning *r = &m->reasoning;
	out->min_output = r->min_output > 0 ? r->min_output : 0;
	const char *least = NULL;
	for (size_t k = 0; k < N_EFFORTS && least == NULL; k++)
		for (size_t i = 0; i < r->n_efforts; i++)
			if (strcmp(r->efforts[i], effort_rank[k]) == 0)
				least = effort_rank[k];
	/* an effort only the OpenAI APIs take; Anthropic thinks only when
	 * asked (thinking), which probes never do */
	int openai = m->api != NULL && strcmp(m->api, "anthropic") != 0;
	if (least != NULL && openai)
		snprintf(out->effort, sizeof out->effort, "%s", least);
	/* the least effort Chat Completions takes, where its words differ
	 * (the reserve stays the model's own least effort's: Gemini's "none"
	 * is Flash's minimal level, which still thinks) */
	const char *chat = NULL;
	for (size_t k = 0; k < N_EFFORTS && chat == NULL && out->effort[0] != '\0'; k++)
		for (size_t i = 0; i < r->n_chat_efforts; i++)
			if (strcmp(r->chat_efforts[i], effort_rank[k]) == 0)
				chat = effort_rank[k];
	if (chat != NULL && strcmp(chat, out->effort) != 0)
		snprintf(out->effort_chat, sizeof out->effort_chat, "%s", chat);
	int always = r->mode != NULL && strcmp(r->mode, "always") == 0;
	if (out->effort[0] != '\0')
		out->reserve = effort_reserve(out->effort);
	else if (always)
		out->reserve = effort_reserve(NULL);
}

int
baseline_has_fingerprint(const struct baseline_model *m, const char *fp)
{
	return name_index((const char *const *)m->fingerprints, m->n_fingerprints, fp) >= 0;
}

const struct baseline_answer_counts *
baseline_answer_counts_for(const struct baseline_model *m, const char *probe)
{
	for (size_t i = 0; m != NULL && i < m->n_answer_counts; i++)
		if (strcmp(m->answer_counts[i].probe, probe) == 0)
			return &m->answer_counts[i];
	return NULL;
}

const struct baseline_samples *
baseline_samples_for(const struct baseline_model *m, const char *probe)
{
	for (size_t i = 0; i < m->n_samples; i++)
		if (strcmp(m->samples[i].probe, probe) == 0)
			return &m->samples[i];
	return NULL;
}

static int
is_uuid(const char *s)
{
	static const size_t groups[] = {8, 4, 4, 4, 12};
	for (size_t g = 0; g < 5; g++) {
		if (strspn(s, "0123456789abcdefABCDEF") != groups[g])
			return 0;
		s += groups[g];
		if (*s != (g < 4 ? '-' : '\0'))
			return 0;
		s++;
	}
	return 1;
}

void
baseline_id_shape(const char *id, char *out, size_t outlen)
{
	if (is_uuid(id)) {
		snprintf(out, outlen, "{uuid}");
		return;
	}
	/* a prefix and a UUID ("call_0_<uuid>"): the UUID's own dashes are no
	 * separator */
	size_t len = strlen(id);
	if (len > 36 && is_uuid(id + len - 36)) {
		char prefix[25];
		size_t k = 0;
		for (size_t i = 0; i < len - 36 && k < sizeof prefix - 1; i++) {
			unsigned char c = (unsigned char)id[i];
			prefix[k++] = c > 0x20 && c < 0x7f ? (char)c : '?';
		}
		prefix[k] = '\0';
		snprintf(out, outlen, "%s{uuid}", prefix);
		return;
	}
	/* Google's opaque ids: 22-odd characters of URL-safe base64
	 * ("UxQ6aM_sKbjFnvgPocrJaA", a Gemini responseId), where '-' and '_'
	 * are characters, not a prefix's end; no prefixed id is this short */
	static const char b64url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	if (len >= 16 && len <= 24 && strspn(id, b64url) == len &&
	    strpbrk(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") &&
	    strpbrk(id, "abcdefghijklmnopqrstuvwxyz")) {
		snprintf(out, outlen, "{b64url}");
		return;
	}
	/* a short lowercase prefix and '_' before URL-safe base64 that holds
	 * '-' or '_' itself (Converse's toolUseId "tooluse_hbTgdi0CSLq_hM4P8csZJA",
	 * AWS's tool-use guide): one shape, not one per id. A second prefix,
	 * lowercase letters and '_' before a digit ("msg_bdrk_01…",
	 * "toolu_vrtx_01…"), is a prefix, not base64. */
	const char *sep = strchr(id, '_');
	size_t pl = sep != NULL ? (size_t)(sep - id) : 0;
	if (pl > 0 && pl <= 12 && strspn(id, "abcdefghijklmnopqrstuvwxyz") == pl) {
		const char *r = sep + 1;
		size_t rn = strlen(r), head = strcspn(r, "-_");
		int second_prefix = head > 0 && head < rn && r[head] == '_' &&
		                    strspn(r, "abcdefghijklmnopqrstuvwxyz") == head &&
		                    r[head + 1] >= '0' && r[head + 1] <= '9';
		if (rn >= 16 && rn <= 32 && strspn(r, b64url) == rn && head < rn &&
		    !second_prefix) {
			snprintf(out, outlen, "%.*s{%zu b64url}", (int)(pl + 1), id, rn);
			return;
		}
	}
	const char *rest = id;
	for (const char *c = id; *c; c++)
		if (*c == '-' || *c == '_')
			rest = c + 1;
	size_t n = strlen(rest);
	const char *kind = strspn(rest, "0123456789") == n         ? "digits"
	                   : strspn(rest, "0123456789abcdef") == n ? "hex"
	                   : strspn(rest, "0123456789abcdefghijklmnopqrstuvwxyz"
	                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n
	                       ? "alnum"
	                       : "mixed";
	/* the literal prefix is the relay's: printable ASCII only, capped */
	char prefix[25];
	size_t k = 0;
	for (const unsigned char *c = (const unsigned char *)id;
	     c < (const unsigned char *)rest && k < sizeof prefix - 1; c++)
		prefix[k++] = *c > 0x20 && *c < 0x7f ? (char)*c : '?';
	prefix[k] = '\0';
	snprintf(out, outlen, "%s{%zu %s}", prefix, n, kind);
}

int
baseline_id_shape_fits(const char *seen, const char *want)
{
	if (want == NULL)
		return 1;
	if (seen == NULL)
		return 0;
	if (strcmp(seen, want) == 0)
		return 1;
	/* "{N alnum}" and "{N b64url}" after one prefix: URL-safe base64 that
	 * happened to draw no '-' or '_' (or did) is the same id */
	const char *a = strrchr(seen, ' '), *b = strrchr(want, ' ');
	if (a == NULL || b == NULL || a - seen != b - want ||
	    strncmp(seen, want, (size_t)(a - seen)))
		return 0;
	return (strcmp(a, " alnum}") == 0 && strcmp(b, " b64url}") == 0) ||
	       (strcmp(a, " b64url}") == 0 && strcmp(b, " alnum}") == 0);
}
