/*
 * targets: state kept per relay and model, for the modules that keep some
 * (scoring/ledger.c, scoring/timeline.c). A record is any struct whose
 * first member is a struct target_key; a list of them owns their keys'
 * strings and the records themselves. Lists are short (one record per
 * configured relay-model) and searched in order, newest first.
 */
#ifndef ASSAY_TARGETS_H
#define ASSAY_TARGETS_H

#include <stddef.h>

struct target_key {
	char *relay, *model;
	struct target_key *next;
};

/* The record of relay and model in *list: the one there, or a new one of
 * size bytes (zeroed but for its key, a copy) put first. */
void *targets_get(struct target_key **list, size_t size, const char *relay, const char *model);
/* The record of relay and model in list, or NULL. */
void *targets_find(const struct target_key *list, const char *relay, const char *model);
/* Take the record of relay and model out of *list and free it, release
 * (may be NULL) first freeing what it holds beyond its key; nothing when
 * there is none. */
void targets_remove(struct target_key **list, const char *relay, const char *model,
                    void (*release)(void *record));
/* The same for every record; *list is empty after. */
void targets_free(struct target_key **list, void (*release)(void *record));

#endif
