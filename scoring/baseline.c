/*
 * baseline: packs read with jansson; a bad pack is refused whole.
 */
#include "scoring/baseline.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/util.h"

static char *
opt_string(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static void
model_release(struct baseline_model *m)
{
	free(m->name);
	for (size_t i = 0; i < m->n_aliases; i++)
		free(m->aliases[i]);
	free(m->aliases);
	free(m->api);
	free(m->tokenizer);
	free(m->template);
	free(m->id_prefix);
	for (size_t i = 0; i < m->n_answers; i++)
		free(m->answers[i].probe);
	free(m->answers);
	for (size_t i = 0; i < m->n_params; i++)
		free(m->params[i]);
	free(m->params);
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

struct baseline_pack *
baseline_load(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		return NULL;
	}
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
		json_t *aliases = json_object_get(jm, "aliases");
		if (json_is_array(aliases)) {
			m->aliases = xcalloc(json_array_size(aliases) + 1, sizeof *m->aliases);
			size_t k;
			json_t *a;
			json_array_foreach(aliases, k, a)
			{
				if (json_is_string(a))
					m->aliases[m->n_aliases++] = xstrdup(json_string_value(a));
			}
		}
		m->api = opt_string(jm, "api");
		if (m->api == NULL)
			m->api = xstrdup("openai");
		m->tokenizer = opt_string(jm, "tokenizer");
		m->template = opt_string(jm, "template");
		m->id_prefix = opt_string(jm, "id_prefix");
		json_t *v = json_object_get(jm, "context_window");
		m->context_window = json_is_integer(v) ? (long)json_integer_value(v) : -1;
		v = json_object_get(jm, "max_output");
		m->max_output = json_is_integer(v) ? (long)json_integer_value(v) : -1;
		m->system_fingerprint = json_is_true(json_object_get(jm, "system_fingerprint"));
		json_t *price = json_object_get(jm, "price_per_mtok");
		m->price_in = m->price_out = -1;
		if (json_is_object(price)) {
			json_t *pi = json_object_get(price, "input"), *po = json_object_get(price, "output");
			if (json_is_number(pi) && json_is_number(po)) {
				m->price_in = json_number_value(pi);
				m->price_out = json_number_value(po);
			}
		}
		json_t *params = json_object_get(jm, "params");
		if (json_is_array(params)) {
			m->params = xcalloc(json_array_size(params) + 1, sizeof *m->params);
			size_t k;
			json_t *v2;
			json_array_foreach(params, k, v2)
			{
				if (json_is_string(v2))
					m->params[m->n_params++] = xstrdup(json_string_value(v2));
			}
		}
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
					snprintf(err, errlen, "%s: model '%s': rate for '%s' not in 0..1",
					         path, m->name, key);
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

struct baseline_pack *
baseline_load_default(char *err, size_t errlen)
{
	char *path = data_path("scoring/baselines/bundled.json");
	if (path == NULL) {
		snprintf(err, errlen, "cannot find the bundled baseline 'scoring/baselines/bundled.json'");
		return NULL;
	}
	struct baseline_pack *p = baseline_load(path, err, errlen);
	free(path);
	return p;
}

const struct baseline_model *
baseline_find(const struct baseline_pack *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct baseline_model *m = &p->models[i];
		if (strcmp(m->name, name) == 0)
			return m;
		for (size_t k = 0; k < m->n_aliases; k++)
			if (strcmp(m->aliases[k], name) == 0)
				return m;
	}
	return NULL;
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
baseline_supports(const struct baseline_model *m, const char *param)
{
	for (size_t i = 0; i < m->n_params; i++)
		if (strcmp(m->params[i], param) == 0)
			return 1;
	return 0;
}
