/*
 * libFuzzer target for baseline pack import (scoring/baseline.c): `assay
 * baseline import FILE` loads a pack (baseline_load) and writes it back
 * into the user's pack directory (baseline_pack_to_json), where every
 * later start loads it again. So: any text through baseline_load_string;
 * a pack that loads must write out as JSON that loads again, with as many
 * models, in the same order, of the same names and aliases (an import
 * must never leave a pack the next start refuses, or one where a name
 * finds another model). Checked besides: no sanitizer report or leak.
 *
 * Names and aliases compared in order imply that baseline_find resolves
 * every name to the same entry in both packs; it is called once a pack
 * (the last model's name), not once a model, which made a pack of
 * thousands of one-line models quadratic here (3,500 of them: 340 ms an
 * input, 110 without) while checking nothing more.
 *
 * Seeds (tests/fuzz/corpus/pack): a recorded pack (protocol, samples,
 * latency), two small models, and bundled-sample: five models of
 * scoring/baselines/bundled.json that between them carry every field and
 * documented word the bundled pack uses. The whole bundled pack goes
 * through this target once before each run (tests/fuzz/run.sh), not as a
 * seed: as one (44 KB), each of its mutations took over ten times as long
 * as one of the recorded pack's.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scoring/baseline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Do a and b have the same name and the same aliases, in order? */
static int
same_names(const struct baseline_model *a, const struct baseline_model *b)
{
	if (strcmp(a->name, b->name) != 0 || a->n_aliases != b->n_aliases)
		return 0;
	for (size_t i = 0; i < a->n_aliases; i++)
		if (strcmp(a->aliases[i], b->aliases[i]) != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct baseline_pack *p =
	    baseline_load_string((const char *)data, size, "fuzz.json", err, sizeof err);
	if (p == NULL)
		return 0;
	json_t *j = baseline_pack_to_json(p);
	char *text = json_dumps(j, JSON_INDENT(2));
	if (text == NULL)
		abort();
	struct baseline_pack *again =
	    baseline_load_string(text, strlen(text), "again.json", err, sizeof err);
	if (again == NULL || again->n != p->n)
		abort();
	for (size_t i = 0; i < p->n; i++)
		if (!same_names(&again->models[i], &p->models[i]))
			abort();
	if (p->n > 0) {
		const char *last = p->models[p->n - 1].name;
		const struct baseline_model *was = baseline_find(p, last),
		                            *is = baseline_find(again, last);
		if (was == NULL || is == NULL || is - again->models != was - p->models)
			abort();
	}
	baseline_free(again);
	free(text);
	json_decref(j);
	baseline_free(p);
	return 0;
}
