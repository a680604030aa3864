/*
 * libFuzzer target for the config loader (cli/config.c over
 * base/yamltree.c and libyaml): any assay.yaml text, through
 * config_load_string, the file loader's own path without the file. A
 * config that loads must name its relays; none may be both loaded and in
 * error without saying why. Checked besides: no sanitizer report or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	err[0] = '\0';
	struct config *c =
	    config_load_string((const char *)data, size, "fuzz.yaml", err, sizeof err);
	if (c == NULL) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
			abort(); /* a refusal says why */
		return 0;
	}
	if (c->n_relays == 0)
		abort();
	for (size_t i = 0; i < c->n_relays; i++)
		if (c->relays[i].name == NULL ||
		    (c->relays[i].error != NULL && !c->relays[i].error[0]))
			abort();
	config_free(c);
	return 0;
}
