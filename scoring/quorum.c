/*
 * quorum: outages declared by several regions' agents (see quorum.h).
 *
 * States of a relay-model:  up --(>= need fresh regions down)--> declared
 *                           declared --(< need down, >= need heard)--> up
 * A change is kept only when the caller's callback stores it.
 */
#include "scoring/quorum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct qtarget {
	char *relay, *model;
	int declared;
	size_t n_regions;
	struct quorum_region regions[QUORUM_REGIONS_MAX];
};

struct quorum {
	int need, of;
	int64_t fresh_ms;
	struct qtarget **targets;
	size_t n_targets, cap;
	/* open addressing over targets by relay and model: indexes + 1, 0
	 * empty; twice the bound, so it never fills */
	uint32_t *slots;
	size_t n_slots;
	long dropped;
};

static uint64_t
hash(const char *relay, const char *model)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const char *p = relay; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL; /* between the two names */
	for (const char *p = model; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

struct quorum *
quorum_new(int need, int of, int64_t fresh_ms)
{
	if (need < 1 || of < need || of > QUORUM_REGIONS_MAX || fresh_ms <= 0)
		return NULL;
	struct quorum *q = xcalloc(1, sizeof *q);
	q->n_slots = 2 * QUORUM_TARGETS_MAX;
	q->slots = xcalloc(q->n_slots, sizeof *q->slots);
	q->need = need;
	q->of = of;
	q->fresh_ms = fresh_ms;
	return q;
}

void
quorum_free(struct quorum *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->n_targets; i++) {
		free(q->targets[i]->relay);
		free(q->targets[i]->model);
		free(q->targets[i]);
	}
	free(q->targets);
	free(q->slots);
	free(q);
}

/* relay/model's state, created when create and within the bound. */
static struct qtarget *
target(struct quorum *q, const char *relay, const char *model, int create)
{
	size_t at = (size_t)(hash(relay, model) % q->n_slots);
	for (; q->slots[at] != 0; at = (at + 1) % q->n_slots) {
		struct qtarget *t = q->targets[q->slots[at] - 1];
		if (strcmp(t->relay, relay) == 0 && strcmp(t->model, model) == 0)
			return t;
	}
	if (!create || q->n_targets == QUORUM_TARGETS_MAX)
		return NULL;
	if (q->n_targets == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->targets = xrealloc(q->targets, q->cap * sizeof *q->targets);
	}
	struct qtarget *t = xcalloc(1, sizeof *t);
	t->relay = xstrdup(relay);
	t->model = xstrdup(model);
	q->targets[q->n_targets++] = t;
	q->slots[at] = (uint32_t)q->n_targets;
	return t;
}

void
quorum_observe(struct quorum *q, const char *region, const char *relay, const char *model,
               int64_t at_ms, int down, const char *error_class, double ttft_ms)
{
	struct qtarget *t = target(q, relay, model, 1);
	if (t == NULL) {
		q->dropped++;
		return;
	}
	struct quorum_region *r = NULL;
	for (size_t i = 0; i < t->n_regions && r == NULL; i++)
		if (strcmp(t->regions[i].name, region) == 0)
			r = &t->regions[i];
	if (r == NULL) {
		if (t->n_regions == QUORUM_REGIONS_MAX) {
			q->dropped++;
			return;
		}
		r = &t->regions[t->n_regions++];
		memset(r, 0, sizeof *r);
		snprintf(r->name, sizeof r->name, "%s", region);
	} else if (at_ms < r->at_ms) {
		return; /* older than what the region said last */
	}
	r->at_ms = at_ms;
	r->down = down != 0;
	r->ttft_ms = ttft_ms;
	snprintf(r->error_class, sizeof r->error_class, "%s", error_class ? error_class : "");
}

/* Count t's fresh and down regions at now_ms into v (fresh flags set). */
static void
look(const struct quorum *q, struct qtarget *t, int64_t now_ms, struct quorum_view *v)
{
	memset(v, 0, sizeof *v);
	v->relay = t->relay;
	v->model = t->model;
	for (size_t i = 0; i < t->n_regions; i++) {
		struct quorum_region *r = &t->regions[i];
		r->fresh = now_ms - r->at_ms <= q->fresh_ms;
		if (!r->fresh)
			continue;
		v->heard++;
		v->down += r->down;
	}
	v->declared = t->declared;
	v->n_regions = t->n_regions;
	v->regions = t->regions;
}

void
quorum_evaluate(struct quorum *q, int64_t now_ms, quorum_change_cb change, void *arg)
{
	for (size_t i = 0; i < q->n_targets; i++) {
		struct qtarget *t = q->targets[i];
		struct quorum_view v;
		look(q, t, now_ms, &v);
		int next = t->declared;
		if (!t->declared && v.down >= q->need)
			next = 1;
		else if (t->declared && v.down < q->need && v.heard >= q->need)
			next = 0;
		if (next == t->declared)
			continue;
		v.declared = next;
		if (change == NULL || change(&v, arg) == 0)
			t->declared = next;
	}
}

void
quorum_restore_declared(struct quorum *q, const char *relay, const char *model)
{
	struct qtarget *t = target(q, relay, model, 1);
	if (t != NULL)
		t->declared = 1;
	else
		q->dropped++;
}

int
quorum_view(struct quorum *q, const char *relay, const char *model, int64_t now_ms,
            struct quorum_view *out)
{
	struct qtarget *t = target(q, relay, model, 0);
	if (t == NULL)
		return 0;
	look(q, t, now_ms, out);
	return 1;
}

long
quorum_dropped(const struct quorum *q)
{
	return q->dropped;
}
