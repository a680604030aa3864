/*
 * libFuzzer target for baseline pack import (scoring/baseline.c): `assay
 * baseline import FILE` loads a pack (baseline_load) and writes it back
 * into the user's pack directory (baseline_pack_to_json), where every
 * later start loads it again. So: any text through baseline_load_string;
 * a pack that loads must write out as JSON that loads again, with as many
 * models of the same names (an import must never leave a pack the next
 * start refuses). Checked besides: no sanitizer report or leak.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scoring/baseline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		if (strcmp(again->models[i].name, p->models[i].name) != 0 ||
		    baseline_find(again, p->models[i].name) == NULL)
			abort();
	baseline_free(again);
	free(text);
	json_decref(j);
	baseline_free(p);
	return 0;
}
