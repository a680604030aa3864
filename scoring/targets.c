/*
 * targets: a list of per-target records keyed by relay and model
 * (scoring/targets.h).
 */
#include "scoring/targets.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static int
is(const struct target_key *k, const char *relay, const char *model)
{
	return strcmp(k->relay, relay) == 0 && strcmp(k->model, model) == 0;
}

void *
targets_find(const struct target_key *list, const char *relay, const char *model)
{
	for (const struct target_key *k = list; k != NULL; k = k->next)
		if (is(k, relay, model))
			return (void *)k;
	return NULL;
}

void *
targets_get(struct target_key **list, size_t size, const char *relay, const char *model)
{
	struct target_key *k = targets_find(*list, relay, model);
	if (k != NULL)
		return k;
	k = xcalloc(1, size);
	k->relay = xstrdup(relay);
	k->model = xstrdup(model);
	k->next = *list;
	*list = k;
	return k;
}

static void
record_free(struct target_key *k, void (*release)(void *record))
{
	if (release != NULL)
		release(k);
	free(k->relay);
	free(k->model);
	free(k);
}

void
targets_remove(struct target_key **list, const char *relay, const char *model,
               void (*release)(void *record))
{
	for (struct target_key **p = list; *p != NULL; p = &(*p)->next)
		if (is(*p, relay, model)) {
			struct target_key *k = *p;
			*p = k->next;
			record_free(k, release);
			return;
		}
}

void
targets_free(struct target_key **list, void (*release)(void *record))
{
	while (*list != NULL) {
		struct target_key *k = *list;
		*list = k->next;
		record_free(k, release);
	}
}
