/*
 * region_ledger: per relay-model, the pooled evidence of every cheating
 * class (struct ledger_evidence, moved by serve's own rule), the runs
 * waiting in open epochs, and per region the figures the pages show.
 *
 * A target's epochs close in order: the oldest open epoch first; a run
 * whose epoch is at or before the last closed one is late.
 *
 * A close may fold a bounded slice of the targets due (the hub's loop is
 * not held by ten thousand at once): it goes round the targets from where
 * the last one stopped, so each due target is reached within a turn. A
 * target whose evidence changed is put once (its flag) at the end of the
 * unsaved list with the lowest run id folded into it since it was last
 * saved; the caller saves from the front. The cursor to save
 * (region_ledger_safe_id) stays below every run waiting and every run
 * folded into a state not saved, so any prefix of the list can be saved
 * on its own and a restart between two saves reads again what is in no
 * saved state.
 */
#include "scoring/region_ledger.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "scoring/evalue.h"
#include "scoring/verdict.h"

#define NAME_MAX_BYTES 32 /* as STORE_REGION_MAX */

struct shown_copy {
	int present, convicts, region;
	double confidence, p_adjusted;
	int64_t at_ms;
	char *expected, *observed, *summary, *probe, *served;
};

/* A run waiting in an open epoch. */
struct waiting {
	int64_t id, bucket, started_ms;
	int region, counts;
	uint32_t misbehaving, suspect;
	double conv[CLASS__COUNT], lim[CLASS__COUNT];
	struct shown_copy shown[CLASS__COUNT];
};

/* A region's figures for one class: display only. */
struct region_class {
	double log_wealth; /* one bet of 1/2 on that region's runs alone */
	int had_e;         /* a run bet more than 0 (else log_wealth = runs log 1/2) */
	long runs, seen;
	int64_t last_seen_ms;
};

struct region_figures {
	char name[NAME_MAX_BYTES + 1];
	struct region_class cls[CLASS__COUNT];
};

struct rl_target {
	char *relay, *model;
	int ev_ready; /* ev[] initialised */
	int has_closed;
	int64_t closed; /* the last epoch folded */
	struct ledger_evidence ev[CLASS__COUNT];
	int64_t last_seen_ms[CLASS__COUNT]; /* the latest epoch that saw the class */
	long seen_epochs[CLASS__COUNT];     /* epochs that saw it since ev's since_ms */
	int had_e[CLASS__COUNT];            /* an epoch bet more than 0 on it since then
	                                     * (else its state is its length alone) */
	struct shown_copy shown[CLASS__COUNT];
	struct region_figures *regions;
	size_t n_regions;
	struct waiting *wait;
	size_t n_wait, cap_wait;
	int unsaved;          /* on rl->unsaved */
	int64_t unsaved_from; /* the lowest run id folded since it was saved */
};

struct region_ledger {
	int64_t epoch_ms, window_ms;
	double share; /* of the budgets (ledger_set_budget_share) */
	long late;
	/* every target, in the order first seen, and an open-addressing index
	 * of them by relay and model (a hub has thousands: no list search) */
	struct rl_target **all;
	size_t n, cap;
	struct rl_target **slots; /* n_slots a power of two, at most half full */
	size_t n_slots;
	size_t close_at; /* where the next close starts going round all[] */
	/* the targets changed since saved, in the order they changed */
	struct rl_target **unsaved;
	size_t n_unsaved, cap_unsaved;
};

/* FNV-1a over relay, a NUL, model. */
static uint64_t
key_hash(const char *relay, const char *model)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = relay; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *p = model; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static struct rl_target *
target_find(const struct region_ledger *rl, const char *relay, const char *model)
{
	if (rl->n_slots == 0)
		return NULL;
	size_t mask = rl->n_slots - 1;
	for (size_t i = (size_t)key_hash(relay, model) & mask;; i = (i + 1) & mask) {
		struct rl_target *t = rl->slots[i];
		if (t == NULL)
			return NULL;
		if (strcmp(t->relay, relay) == 0 && strcmp(t->model, model) == 0)
			return t;
	}
}

static void
slot_put(struct rl_target **slots, size_t n_slots, struct rl_target *t)
{
	size_t mask = n_slots - 1;
	size_t i = (size_t)key_hash(t->relay, t->model) & mask;
	while (slots[i] != NULL)
		i = (i + 1) & mask;
	slots[i] = t;
}

static void
shown_release(struct shown_copy *s)
{
	free(s->expected);
	free(s->observed);
	free(s->summary);
	free(s->probe);
	free(s->served);
	memset(s, 0, sizeof *s);
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void
shown_copy_from(struct shown_copy *to, const struct ledger_shown *from, int region, int64_t at_ms)
{
	shown_release(to);
	*to = (struct shown_copy){.present = 1,
	                          .convicts = from->convicts,
	                          .region = region,
	                          .confidence = from->confidence,
	                          .p_adjusted = from->p_adjusted,
	                          .at_ms = at_ms,
	                          .expected = xstrdup(from->expected ? from->expected : ""),
	                          .observed = xstrdup(from->observed ? from->observed : ""),
	                          .summary = xstrdup(from->summary ? from->summary : ""),
	                          .probe = xstrdup(from->probe ? from->probe : ""),
	                          .served = dup_or_null(from->served)};
}

static void
shown_move(struct shown_copy *to, struct shown_copy *from)
{
	shown_release(to);
	*to = *from;
	memset(from, 0, sizeof *from);
}

static void
waiting_release(struct waiting *w)
{
	for (int c = 0; c < CLASS__COUNT; c++)
		shown_release(&w->shown[c]);
}

static void
target_release(void *record)
{
	struct rl_target *t = record;
	for (int c = 0; c < CLASS__COUNT; c++)
		shown_release(&t->shown[c]);
	for (size_t i = 0; i < t->n_wait; i++)
		waiting_release(&t->wait[i]);
	free(t->wait);
	free(t->regions);
}

struct region_ledger *
region_ledger_new(int64_t epoch_ms, int64_t window_ms, double share)
{
	if (epoch_ms <= 0)
		return NULL;
	struct region_ledger *rl = xcalloc(1, sizeof *rl);
	rl->epoch_ms = epoch_ms;
	rl->share = share > 0 && share <= 1 ? share : 1;
	rl->window_ms = window_ms > 0 ? window_ms : 24LL * 3600 * 1000;
	return rl;
}

void
region_ledger_free(struct region_ledger *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < rl->n; i++) {
		target_release(rl->all[i]);
		free(rl->all[i]->relay);
		free(rl->all[i]->model);
		free(rl->all[i]);
	}
	free(rl->all);
	free(rl->slots);
	free(rl->unsaved);
	free(rl);
}

static void
evidence_init(struct ledger_evidence *ev, enum finding_class c, int64_t at_ms)
{
	*ev = (struct ledger_evidence){.cls = c, .level = VERDICT_GENUINE, .since_ms = at_ms};
	eprocess_init(&ev->conv);
	eprocess_init(&ev->lim);
}

static struct rl_target *
target_get(struct region_ledger *rl, const char *relay, const char *model, int64_t at_ms)
{
	struct rl_target *t = target_find(rl, relay, model);
	if (t == NULL) {
		if (2 * (rl->n + 1) > rl->n_slots) {
			size_t n_slots = rl->n_slots ? 2 * rl->n_slots : 64;
			struct rl_target **slots = xcalloc(n_slots, sizeof *slots);
			for (size_t i = 0; i < rl->n; i++)
				slot_put(slots, n_slots, rl->all[i]);
			free(rl->slots);
			rl->slots = slots;
			rl->n_slots = n_slots;
		}
		if (rl->n == rl->cap) {
			rl->cap = rl->cap ? 2 * rl->cap : 64;
			rl->all = xrealloc(rl->all, rl->cap * sizeof *rl->all);
		}
		t = xcalloc(1, sizeof *t);
		t->relay = xstrdup(relay);
		t->model = xstrdup(model);
		rl->all[rl->n++] = t;
		slot_put(rl->slots, rl->n_slots, t);
	}
	if (!t->ev_ready) {
		for (int c = 0; c < CLASS__COUNT; c++)
			evidence_init(&t->ev[c], (enum finding_class)c, at_ms);
		t->ev_ready = 1;
	}
	return t;
}

/* Region name's index in t, added if new; -1 past the cap. */
static int
region_index(struct rl_target *t, const char *name)
{
	char clean[NAME_MAX_BYTES + 1];
	char *s = utf8_sanitize(name ? name : "", strlen(name ? name : ""), NAME_MAX_BYTES);
	snprintf(clean, sizeof clean, "%s", s);
	free(s);
	for (size_t i = 0; i < t->n_regions; i++)
		if (strcmp(t->regions[i].name, clean) == 0)
			return (int)i;
	if (t->n_regions == REGION_LEDGER_REGIONS_MAX)
		return -1;
	t->regions = xrealloc(t->regions, (t->n_regions + 1) * sizeof *t->regions);
	struct region_figures *r = &t->regions[t->n_regions];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", clean);
	return (int)t->n_regions++;
}

static double
clamp_e(double e)
{
	if (!(e > 0))
		return 0; /* NaN and negatives: no evidence */
	return e > REGION_LEDGER_E_MAX ? REGION_LEDGER_E_MAX : e;
}

int
region_ledger_add(struct region_ledger *rl, const struct region_ledger_run *run)
{
	int64_t bucket = run->started_ms / rl->epoch_ms;
	struct rl_target *t = target_get(rl, run->relay, run->model, run->started_ms);
	if ((t->has_closed && bucket <= t->closed)) {
		rl->late++;
		return 0;
	}
	int region = region_index(t, run->region);
	if (region < 0)
		return -1;
	if (t->n_wait == t->cap_wait) {
		t->cap_wait = t->cap_wait ? 2 * t->cap_wait : 8;
		t->wait = xrealloc(t->wait, t->cap_wait * sizeof *t->wait);
	}
	struct waiting *w = &t->wait[t->n_wait++];
	memset(w, 0, sizeof *w);
	w->id = run->id;
	w->bucket = bucket;
	w->started_ms = run->started_ms;
	w->region = region;
	w->counts = run->counts;
	w->misbehaving = run->misbehaving;
	w->suspect = run->suspect;
	for (int c = 0; c < CLASS__COUNT; c++) {
		w->conv[c] = run->counts ? clamp_e(run->conv[c]) : 0;
		w->lim[c] = run->counts ? clamp_e(run->lim[c]) : 0;
	}
	for (size_t i = 0; i < run->n_shown; i++) {
		enum finding_class c = run->shown[i].cls;
		if ((unsigned)c < CLASS__COUNT && class_info(c)->cheat)
			shown_copy_from(&w->shown[c], &run->shown[i], region, run->started_ms);
	}
	return 1;
}

/* Fold t's epoch bucket (its waiting runs), removing them. */
static void
fold_epoch(struct region_ledger *rl, struct rl_target *t, int64_t bucket)
{
	int64_t at_ms = 0;
	for (size_t i = 0; i < t->n_wait; i++)
		if (t->wait[i].bucket == bucket && t->wait[i].started_ms > at_ms)
			at_ms = t->wait[i].started_ms;
	for (int c = 0; c < CLASS__COUNT; c++) {
		if (!class_info((enum finding_class)c)->cheat)
			continue;
		double conv = 0, lim = 0;
		long counted = 0;
		int sighted = 0;
		struct shown_copy *best = NULL;
		for (size_t i = 0; i < t->n_wait; i++) {
			struct waiting *w = &t->wait[i];
			if (w->bucket != bucket)
				continue;
			if (w->counts) {
				counted++;
				conv += w->conv[c];
				lim += w->lim[c];
			}
			int saw = ((w->misbehaving | w->suspect) >> c) & 1;
			sighted |= saw;
			struct shown_copy *s = &w->shown[c];
			if (saw && s->present &&
			    (best == NULL || s->convicts > best->convicts ||
			     (s->convicts == best->convicts && s->confidence > best->confidence)))
				best = s;
		}
		/* the epoch's e-value: the mean of its runs' (valid under any
		 * dependence between regions), not their product */
		if (counted > 0) {
			conv /= (double)counted;
			lim /= (double)counted;
		}
		if (sighted)
			t->last_seen_ms[c] = at_ms;
		int seen = t->last_seen_ms[c] > 0 && t->last_seen_ms[c] >= at_ms - rl->window_ms;
		int64_t since = t->ev[c].since_ms;
		long updates = t->ev[c].conv.updates;
		ledger_evidence_step(&t->ev[c], seen, counted > 0, conv, lim, at_ms, rl->share);
		if (t->ev[c].since_ms != since || t->ev[c].conv.updates < updates) {
			/* started afresh: so do the figures shown beside it */
			t->seen_epochs[c] = 0;
			t->had_e[c] = 0;
			for (size_t r = 0; r < t->n_regions; r++)
				t->regions[r].cls[c] = (struct region_class){0};
		}
		t->seen_epochs[c] += sighted;
		if (counted > 0 && (conv > 0 || lim > 0))
			t->had_e[c] = 1;
		if (best != NULL)
			shown_move(&t->shown[c], best);
		for (size_t i = 0; i < t->n_wait; i++) {
			struct waiting *w = &t->wait[i];
			if (w->bucket != bucket)
				continue;
			struct region_class *rc = &t->regions[w->region].cls[c];
			if (w->counts) {
				rc->runs++;
				rc->log_wealth += log1p(0.5 * (w->conv[c] - 1));
				rc->had_e |= w->conv[c] > 0;
			}
			if (((w->misbehaving | w->suspect) >> c) & 1) {
				rc->seen++;
				rc->last_seen_ms = w->started_ms;
			}
		}
	}
	size_t k = 0;
	int64_t first = INT64_MAX;
	for (size_t i = 0; i < t->n_wait; i++) {
		if (t->wait[i].bucket == bucket) {
			if (t->wait[i].id < first)
				first = t->wait[i].id;
			waiting_release(&t->wait[i]);
		} else {
			t->wait[k++] = t->wait[i];
		}
	}
	t->n_wait = k;
	t->has_closed = 1;
	t->closed = bucket;
	if (!t->unsaved) {
		if (rl->n_unsaved == rl->cap_unsaved) {
			rl->cap_unsaved = rl->cap_unsaved ? 2 * rl->cap_unsaved : 64;
			rl->unsaved = xrealloc(rl->unsaved, rl->cap_unsaved * sizeof *rl->unsaved);
		}
		rl->unsaved[rl->n_unsaved++] = t;
		t->unsaved = 1;
		t->unsaved_from = first;
	} else if (first < t->unsaved_from) {
		t->unsaved_from = first;
	}
}

/* The oldest open epoch of t (t has waiting runs). */
static int64_t
oldest_open(const struct rl_target *t)
{
	int64_t b = t->wait[0].bucket;
	for (size_t i = 1; i < t->n_wait; i++)
		if (t->wait[i].bucket < b)
			b = t->wait[i].bucket;
	return b;
}

/* Every region heard for t has a run in epoch bucket. */
static int
all_heard(const struct rl_target *t, int64_t bucket)
{
	for (size_t r = 0; r < t->n_regions; r++) {
		int found = 0;
		for (size_t i = 0; i < t->n_wait && !found; i++)
			found = t->wait[i].bucket == bucket && t->wait[i].region == (int)r;
		if (!found)
			return 0;
	}
	return 1;
}

/* Fold every epoch of t due at now_ms: how many. */
static size_t
target_close(struct region_ledger *rl, struct rl_target *t, int64_t now_ms)
{
	size_t folded = 0;
	while (t->n_wait > 0) {
		int64_t b = oldest_open(t);
		/* due one epoch after its end, or at its end when every region
		 * heard is in (a region's second run of the epoch may still come
		 * until then) */
		if (now_ms < (b + 1) * rl->epoch_ms ||
		    (now_ms < (b + 2) * rl->epoch_ms && !all_heard(t, b)))
			break;
		fold_epoch(rl, t, b);
		folded++;
	}
	return folded;
}

/* Going round from close_at, fold the due epochs of at most max targets;
 * *epochs gets how many epochs. How many targets changed. */
static size_t
close_round(struct region_ledger *rl, int64_t now_ms, size_t max, region_ledger_cb cb, void *arg,
            size_t *epochs)
{
	size_t changed = 0;
	*epochs = 0;
	for (size_t seen = 0; seen < rl->n && changed < max; seen++) {
		if (rl->close_at >= rl->n)
			rl->close_at = 0;
		struct rl_target *t = rl->all[rl->close_at++];
		size_t folded = target_close(rl, t, now_ms);
		if (folded == 0)
			continue;
		*epochs += folded;
		changed++;
		if (cb != NULL)
			cb(t->relay, t->model, arg);
	}
	return changed;
}

size_t
region_ledger_close(struct region_ledger *rl, int64_t now_ms, region_ledger_cb cb, void *arg)
{
	size_t epochs;
	close_round(rl, now_ms, SIZE_MAX, cb, arg, &epochs);
	return epochs;
}

size_t
region_ledger_close_some(struct region_ledger *rl, int64_t now_ms, size_t max, region_ledger_cb cb,
                         void *arg)
{
	size_t epochs;
	return close_round(rl, now_ms, max > 0 ? max : SIZE_MAX, cb, arg, &epochs);
}

size_t
region_ledger_unsaved(const struct region_ledger *rl)
{
	return rl->n_unsaved;
}

void
region_ledger_unsaved_at(const struct region_ledger *rl, size_t i, const char **relay,
                         const char **model)
{
	*relay = i < rl->n_unsaved ? rl->unsaved[i]->relay : NULL;
	*model = i < rl->n_unsaved ? rl->unsaved[i]->model : NULL;
}

int64_t
region_ledger_safe_id(const struct region_ledger *rl, int64_t read_upto, size_t n)
{
	int64_t safe = read_upto;
	for (size_t j = 0; j < rl->n; j++) {
		const struct rl_target *t = rl->all[j];
		for (size_t i = 0; i < t->n_wait; i++)
			if (t->wait[i].id - 1 < safe)
				safe = t->wait[i].id - 1;
	}
	for (size_t i = n; i < rl->n_unsaved; i++)
		if (rl->unsaved[i]->unsaved_from - 1 < safe)
			safe = rl->unsaved[i]->unsaved_from - 1;
	return safe;
}

void
region_ledger_saved(struct region_ledger *rl, size_t n)
{
	if (n > rl->n_unsaved)
		n = rl->n_unsaved;
	for (size_t i = 0; i < n; i++)
		rl->unsaved[i]->unsaved = 0;
	memmove(rl->unsaved, rl->unsaved + n, (rl->n_unsaved - n) * sizeof *rl->unsaved);
	rl->n_unsaved -= n;
}

long
region_ledger_late(const struct region_ledger *rl)
{
	return rl->late;
}

static int
target_level(const struct rl_target *t)
{
	int level = VERDICT_GENUINE;
	for (int c = 0; c < CLASS__COUNT; c++) {
		if (!class_info((enum finding_class)c)->cheat)
			continue;
		if (t->ev[c].level == VERDICT_MISBEHAVING)
			level = VERDICT_MISBEHAVING;
		else if (t->ev[c].level == VERDICT_SUSPECT && level != VERDICT_MISBEHAVING)
			level = VERDICT_SUSPECT;
	}
	return level;
}

int
region_ledger_level(const struct region_ledger *rl, const char *relay, const char *model)
{
	const struct rl_target *t = target_find(rl, relay, model);
	return t != NULL ? target_level(t) : VERDICT_GENUINE;
}

/* The e-value that decides ev's level now, and the threshold it meets. */
static double
evidence_e(const struct region_ledger *rl, const struct ledger_evidence *ev, double *decides)
{
	int m = class_cheat_count();
	double mis = eprocess_value(&ev->conv), sus = ledger_evidence_suspect_e(ev);
	if (ev->level == VERDICT_MISBEHAVING || mis >= sus) {
		*decides = evalue_threshold(rl->share * FP_BUDGET_MISBEHAVING, m);
		return mis;
	}
	*decides = evalue_threshold(rl->share * FP_BUDGET_SUSPECT, m);
	return sus;
}

static const char *
level_name(int level)
{
	return verdict_name((enum verdict)level);
}

/* A class worth showing: decided, or seen within the window. */
static int
class_shown(const struct region_ledger *rl, const struct rl_target *t, int c, int64_t now_ms)
{
	return t->ev[c].level != VERDICT_GENUINE ||
	       (t->last_seen_ms[c] > 0 && t->last_seen_ms[c] >= now_ms - rl->window_ms);
}

json_t *
region_ledger_view(const struct region_ledger *rl, const char *relay, const char *model,
                   int64_t now_ms)
{
	const struct rl_target *t = target_find(rl, relay, model);
	if (t == NULL)
		return NULL;
	json_t *names = json_array(), *classes = json_array();
	for (size_t r = 0; r < t->n_regions; r++)
		json_array_append_new(names, json_string(t->regions[r].name));
	long epochs = 0;
	for (int c = 0; c < CLASS__COUNT; c++) {
		if (!class_info((enum finding_class)c)->cheat)
			continue;
		if (t->ev[c].conv.updates > epochs)
			epochs = t->ev[c].conv.updates;
		if (!class_shown(rl, t, c, now_ms))
			continue;
		double decides, e = evidence_e(rl, &t->ev[c], &decides);
		json_t *regs = json_array();
		for (size_t r = 0; r < t->n_regions; r++) {
			const struct region_class *rc = &t->regions[r].cls[c];
			json_array_append_new(
			    regs,
			    json_pack("{s:s, s:f, s:I, s:I, s:I}", "region", t->regions[r].name,
			              "evalue", exp(rc->log_wealth > 690 ? 690 : rc->log_wealth),
			              "runs", (json_int_t)rc->runs, "seen", (json_int_t)rc->seen,
			              "last_seen_ms", (json_int_t)rc->last_seen_ms));
		}
		json_t *finding = json_null();
		const struct shown_copy *s = &t->shown[c];
		if (s->present)
			finding = json_pack(
			    "{s:s, s:I, s:s, s:s, s:s, s:s, s:s?}", "region",
			    (size_t)s->region < t->n_regions ? t->regions[s->region].name : "",
			    "at_ms", (json_int_t)s->at_ms, "summary", s->summary, "expected",
			    s->expected, "observed", s->observed, "probe", s->probe, "served_model",
			    s->served);
		json_array_append_new(
		    classes, json_pack("{s:s, s:s, s:f, s:f, s:I, s:I, s:I, s:I, s:o, s:o}",
		                       "class", class_name((enum finding_class)c), "level",
		                       level_name(t->ev[c].level), "evalue", e, "decides", decides,
		                       "since_ms", (json_int_t)t->ev[c].since_ms, "decided_ms",
		                       (json_int_t)t->ev[c].decided_ms, "seen",
		                       (json_int_t)t->seen_epochs[c], "epochs",
		                       (json_int_t)t->ev[c].conv.updates, "finding", finding,
		                       "regions", regs));
	}
	return json_pack("{s:s, s:I, s:I, s:o, s:o}", "verdict", level_name(target_level(t)),
	                 "epochs", (json_int_t)epochs, "epoch_s", (json_int_t)(rl->epoch_ms / 1000),
	                 "regions", names, "classes", classes);
}

static void
utc_minute(char *out, size_t n, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

json_t *
region_ledger_findings(const struct region_ledger *rl, const char *relay, const char *model)
{
	json_t *out = json_array();
	const struct rl_target *t = target_find(rl, relay, model);
	if (t == NULL)
		return out;
	const double m = class_cheat_count();
	for (int c = 0; c < CLASS__COUNT; c++) {
		const struct ledger_evidence *ev = &t->ev[c];
		if (!class_info((enum finding_class)c)->cheat || ev->level == VERDICT_GENUINE)
			continue;
		int convicts = ev->level == VERDICT_MISBEHAVING;
		double decides, e = evidence_e(rl, ev, &decides);
		double budget = convicts ? FP_BUDGET_MISBEHAVING : FP_BUDGET_SUSPECT;
		double p = e > 0 ? m / (rl->share * e) : 1;
		if (p > budget)
			p = budget;
		char who[400] = "";
		size_t used = 0;
		for (size_t r = 0; r < t->n_regions; r++) {
			const struct region_class *rc = &t->regions[r].cls[c];
			if (rc->seen == 0)
				continue;
			int k = snprintf(who + used, sizeof who - used, "%s%s %ld of %ld runs",
			                 used ? ", " : "", t->regions[r].name, rc->seen, rc->runs);
			if (k > 0 && (size_t)k < sizeof who - used)
				used += (size_t)k;
		}
		const struct shown_copy *s = &t->shown[c];
		char since[64], when[64], summary[1600];
		utc_minute(since, sizeof since, ev->since_ms);
		utc_minute(when, sizeof when, s->present ? s->at_ms : ev->decided_ms);
		snprintf(
		    summary, sizeof summary,
		    "Agents' evidence of %ld epochs since %s, every region pooled: e-value %.3g "
		    "(%s at %.3g); seen by %s (latest from %s, %s): %s",
		    ev->conv.updates, since, e, convicts ? "misbehaving" : "suspect", decides,
		    used ? who : "no region in the window",
		    s->present && (size_t)s->region < t->n_regions ? t->regions[s->region].name
		                                                   : "-",
		    when, s->present ? s->summary : "");
		json_t *evj =
		    json_pack("{s:s, s:s, s:s, s:s}", "expected", s->present ? s->expected : "",
		              "observed", s->present ? s->observed : "", "summary", summary,
		              "probe", s->present ? s->probe : "");
		json_t *f =
		    json_pack("{s:s, s:f, s:f, s:o}", "class", class_name((enum finding_class)c),
		              "confidence", 1 - p, "p_adjusted", p, "evidence", evj);
		if (s->present && s->served != NULL)
			json_object_set_new(f, "served_model", json_string(s->served));
		json_array_append_new(out, f);
	}
	return out;
}

/* State: {"closed": B | null, "classes": [{"class", "level", "since_ms",
 * "decided_ms", "updates", "conv": [...], "lim": [...] (both absent: every
 * e-value since since_ms was 0, eprocess_clean), "lim_updates",
 * "last_seen_ms", "seen", "shown": {...} | null}], "regions": [{"name",
 * "classes": {"CLASS": [log_wealth, runs, seen, last_seen_ms]}}]}, without
 * log_wealth when every run bet 0 (then runs log 1/2). */

static json_t *
state_array(const struct eprocess *e)
{
	double v[EVALUE_STATE];
	eprocess_state(e, v);
	json_t *a = json_array();
	for (int i = 0; i < EVALUE_STATE; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

static int
state_read(struct eprocess *e, const json_t *a, json_int_t updates)
{
	double v[EVALUE_STATE];
	if (!json_is_array(a) || json_array_size(a) != EVALUE_STATE)
		return -1;
	for (int i = 0; i < EVALUE_STATE; i++) {
		const json_t *x = json_array_get(a, (size_t)i);
		if (!json_is_number(x))
			return -1;
		v[i] = json_number_value(x);
	}
	eprocess_init(e);
	if (eprocess_set_state(e, v) != 0)
		return -1;
	e->updates = (long)updates;
	return 0;
}

char *
region_ledger_state(const struct region_ledger *rl, const char *relay, const char *model)
{
	const struct rl_target *t = target_find(rl, relay, model);
	if (t == NULL)
		return NULL;
	json_t *classes = json_array();
	for (int c = 0; c < CLASS__COUNT; c++) {
		if (!class_info((enum finding_class)c)->cheat)
			continue;
		const struct ledger_evidence *ev = &t->ev[c];
		const struct shown_copy *s = &t->shown[c];
		json_t *shown = json_null();
		if (s->present)
			shown = json_pack("{s:b, s:i, s:f, s:f, s:I, s:s, s:s, s:s, s:s, s:s?}",
			                  "convicts", s->convicts, "region", s->region,
			                  "confidence", s->confidence, "p_adjusted", s->p_adjusted,
			                  "at_ms", (json_int_t)s->at_ms, "expected", s->expected,
			                  "observed", s->observed, "summary", s->summary, "probe",
			                  s->probe, "served", s->served);
		json_t *o = json_pack(
		    "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "class",
		    class_name((enum finding_class)c), "level", level_name(ev->level), "since_ms",
		    (json_int_t)ev->since_ms, "decided_ms", (json_int_t)ev->decided_ms, "updates",
		    (json_int_t)ev->conv.updates, "lim_updates", (json_int_t)ev->lim.updates,
		    "last_seen_ms", (json_int_t)t->last_seen_ms[c], "seen",
		    (json_int_t)t->seen_epochs[c], "shown", shown);
		/* a history of nothing but 0s is its length (most classes of most
		 * relays: the state stays small) */
		if (t->had_e[c]) {
			json_object_set_new(o, "conv", state_array(&ev->conv));
			json_object_set_new(o, "lim", state_array(&ev->lim));
		}
		json_array_append_new(classes, o);
	}
	json_t *regions = json_array();
	for (size_t r = 0; r < t->n_regions; r++) {
		json_t *cls = json_object();
		for (int c = 0; c < CLASS__COUNT; c++) {
			const struct region_class *rc = &t->regions[r].cls[c];
			if (rc->runs == 0 && rc->seen == 0)
				continue;
			json_object_set_new(
			    cls, class_name((enum finding_class)c),
			    rc->had_e
			        ? json_pack("[f, I, I, I]", rc->log_wealth, (json_int_t)rc->runs,
			                    (json_int_t)rc->seen, (json_int_t)rc->last_seen_ms)
			        : json_pack("[I, I, I]", (json_int_t)rc->runs, (json_int_t)rc->seen,
			                    (json_int_t)rc->last_seen_ms));
		}
		json_array_append_new(
		    regions, json_pack("{s:s, s:o}", "name", t->regions[r].name, "classes", cls));
	}
	json_t *root = json_pack("{s:o, s:o, s:o}", "closed",
	                         t->has_closed ? json_integer(t->closed) : json_null(), "classes",
	                         classes, "regions", regions);
	char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(root);
	return text;
}

static int
level_of_name(const char *name)
{
	if (name != NULL && strcmp(name, verdict_name(VERDICT_MISBEHAVING)) == 0)
		return VERDICT_MISBEHAVING;
	if (name != NULL && strcmp(name, verdict_name(VERDICT_SUSPECT)) == 0)
		return VERDICT_SUSPECT;
	return VERDICT_GENUINE;
}

static const char *
str_or_empty(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

int
region_ledger_restore(struct region_ledger *rl, const char *relay, const char *model,
                      const char *state)
{
	json_error_t jerr;
	json_t *root = json_loads(state, 0, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	/* read into a scratch record first: a state that does not read keeps
	 * nothing */
	struct rl_target *t = xcalloc(1, sizeof *t);
	int ok = 0;
	for (int c = 0; c < CLASS__COUNT; c++)
		evidence_init(&t->ev[c], (enum finding_class)c, 0);
	t->ev_ready = 1;
	const json_t *closed = json_object_get(root, "closed");
	if (json_is_integer(closed)) {
		t->has_closed = 1;
		t->closed = json_integer_value(closed);
	}
	size_t i;
	const json_t *regions = json_object_get(root, "regions"), *r;
	json_array_foreach(regions, i, r)
	{
		int k = region_index(t, str_or_empty(r, "name"));
		if (k < 0)
			goto done;
		const char *name;
		const json_t *v;
		json_object_foreach((json_t *)json_object_get(r, "classes"), name, v)
		{
			int c = class_from_name(name);
			size_t nv = json_array_size(v), at = nv == 4;
			if (c < 0 || (nv != 3 && nv != 4))
				continue;
			struct region_class *rc = &t->regions[k].cls[c];
			*rc = (struct region_class){
			    .had_e = nv == 4,
			    .runs = (long)json_integer_value(json_array_get(v, at)),
			    .seen = (long)json_integer_value(json_array_get(v, at + 1)),
			    .last_seen_ms = json_integer_value(json_array_get(v, at + 2))};
			rc->log_wealth = rc->had_e ? json_number_value(json_array_get(v, 0))
			                           : (double)rc->runs * log1p(-0.5);
		}
	}
	const json_t *classes = json_object_get(root, "classes"), *o;
	json_array_foreach(classes, i, o)
	{
		int c = class_from_name(str_or_empty(o, "class"));
		if (c < 0 || !class_info((enum finding_class)c)->cheat)
			continue;
		struct ledger_evidence *ev = &t->ev[c];
		ev->level = level_of_name(str_or_empty(o, "level"));
		ev->since_ms = json_integer_value(json_object_get(o, "since_ms"));
		ev->decided_ms = json_integer_value(json_object_get(o, "decided_ms"));
		json_int_t updates = json_integer_value(json_object_get(o, "updates")),
		           lim_updates = json_integer_value(json_object_get(o, "lim_updates"));
		if (json_object_get(o, "conv") == NULL && json_object_get(o, "lim") == NULL) {
			eprocess_clean(&ev->conv, (long)updates);
			eprocess_clean(&ev->lim, (long)lim_updates);
		} else if (state_read(&ev->conv, json_object_get(o, "conv"), updates) != 0 ||
		           state_read(&ev->lim, json_object_get(o, "lim"), lim_updates) != 0) {
			goto done;
		} else {
			t->had_e[c] = 1;
		}
		t->last_seen_ms[c] = json_integer_value(json_object_get(o, "last_seen_ms"));
		t->seen_epochs[c] = (long)json_integer_value(json_object_get(o, "seen"));
		const json_t *s = json_object_get(o, "shown");
		if (json_is_object(s)) {
			struct ledger_shown from = {
			    .cls = (enum finding_class)c,
			    .convicts = json_is_true(json_object_get(s, "convicts")),
			    .confidence = json_number_value(json_object_get(s, "confidence")),
			    .p_adjusted = json_number_value(json_object_get(s, "p_adjusted")),
			    .expected = str_or_empty(s, "expected"),
			    .observed = str_or_empty(s, "observed"),
			    .summary = str_or_empty(s, "summary"),
			    .probe = str_or_empty(s, "probe"),
			    .served = json_string_value(json_object_get(s, "served"))};
			int region = (int)json_integer_value(json_object_get(s, "region"));
			if (region < 0 || (size_t)region >= t->n_regions)
				region = 0;
			shown_copy_from(&t->shown[c], &from, region,
			                json_integer_value(json_object_get(s, "at_ms")));
		}
	}
	ok = 1;
done:
	json_decref(root);
	if (!ok) {
		target_release(t);
		free(t);
		return -1;
	}
	struct rl_target *into = target_get(rl, relay, model, 0);
	char *own_relay = into->relay, *own_model = into->model;
	int unsaved = into->unsaved; /* its place on rl->unsaved stays */
	int64_t unsaved_from = into->unsaved_from;
	target_release(into);
	*into = *t;
	into->relay = own_relay;
	into->model = own_model;
	into->unsaved = unsaved;
	into->unsaved_from = unsaved_from;
	free(t);
	return 0;
}
