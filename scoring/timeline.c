/*
 * timeline: per target, the open segment and two dampers.
 *
 * A damper moves between three states: quiet (no incident, good runs),
 * counting (bad runs in a row, fewer than TIMELINE_OPEN_AFTER), open (an
 * incident, dated from its first bad run; good runs in a row count toward
 * TIMELINE_RESOLVE_AFTER, a bad one starts that count again). A resolved
 * incident is dated from the first of the good runs that resolved it.
 */
#include "scoring/timeline.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "scoring/targets.h"

struct damper {
	int bad, good; /* runs in a row */
	int64_t first_bad_ms, first_good_ms;
	int open;   /* an incident is open */
	int64_t id; /* its storage id (0 until stored) */
	int64_t opened_ms;
	long failed_runs;
	char *cause, *detail;
};

struct target {
	struct target_key key; /* first: scoring/targets.h */
	int has_segment;
	int64_t seg_id;
	char *seg_verdict, *seg_classes, *seg_reason, *seg_findings;
	int64_t seg_first_ms, seg_last_ms;
	long seg_runs;
	struct damper outage, misbehaving;
};

struct timeline {
	struct target_key *targets; /* of struct target */
};

struct timeline *
timeline_new(void)
{
	return xcalloc(1, sizeof(struct timeline));
}

static void
damper_release(struct damper *d)
{
	free(d->cause);
	free(d->detail);
	memset(d, 0, sizeof *d);
}

/* What a target's record holds beyond its key (a targets_free release). */
static void
target_release(void *record)
{
	struct target *t = record;
	free(t->seg_verdict);
	free(t->seg_classes);
	free(t->seg_reason);
	free(t->seg_findings);
	damper_release(&t->outage);
	damper_release(&t->misbehaving);
}

void
timeline_free(struct timeline *t)
{
	if (t == NULL)
		return;
	targets_free(&t->targets, target_release);
	free(t);
}

static void
set_str(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v ? v : "");
}

void
timeline_restore_segment(struct timeline *tl, const struct timeline_segment *seg)
{
	struct target *t = targets_get(&tl->targets, sizeof *t, seg->relay, seg->model);
	t->has_segment = 1;
	t->seg_id = seg->id;
	set_str(&t->seg_verdict, seg->verdict);
	set_str(&t->seg_classes, seg->classes);
	set_str(&t->seg_reason, seg->reason);
	set_str(&t->seg_findings, seg->findings_json ? seg->findings_json : "[]");
	t->seg_first_ms = seg->first_ms;
	t->seg_last_ms = seg->last_ms;
	t->seg_runs = seg->runs;
}

void
timeline_restore_incident(struct timeline *tl, const struct timeline_incident *inc)
{
	if (inc->resolved_ms != 0)
		return;
	struct target *t = targets_get(&tl->targets, sizeof *t, inc->relay, inc->model);
	struct damper *d = strcmp(inc->kind, "outage") == 0 ? &t->outage : &t->misbehaving;
	damper_release(d);
	d->open = 1;
	d->id = inc->id;
	d->opened_ms = inc->opened_ms;
	d->failed_runs = inc->failed_runs;
	d->cause = xstrdup(inc->cause ? inc->cause : "");
	d->detail = xstrdup(inc->detail ? inc->detail : "");
}

void
timeline_forget(struct timeline *tl, const char *relay, const char *model)
{
	targets_remove(&tl->targets, relay, model, target_release);
}

static int
class_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted, distinct finding classes of a, comma-separated (caller frees);
 * hints are no findings. */
static char *
finding_classes(const struct assessment *a)
{
	const char **v = xcalloc(a->n_findings + 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < a->n_findings; i++)
		if (!a->findings[i].hint)
			v[n++] = a->findings[i].class ? a->findings[i].class : "";
	qsort(v, n, sizeof *v, class_cmp);
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (b.len > 0)
			buf_puts(&b, ",");
		buf_puts(&b, v[i]);
	}
	free(v);
	return buf_take(&b, NULL);
}

/* The run extends the open segment when its verdict and classes are the
 * same; otherwise it opens a new one. */
static void
apply_segment(struct target *t, int64_t at_ms, const struct assessment *a, const char *findings,
              struct timeline_change *ch)
{
	struct timeline_segment *out = &ch->segment;
	const char *verdict = verdict_name(a->verdict);
	char *classes = finding_classes(a);
	if (t->has_segment && strcmp(t->seg_verdict, verdict) == 0 &&
	    strcmp(t->seg_classes, classes) == 0) {
		t->seg_runs++;
		free(classes);
	} else {
		ch->new_segment = 1;
		if (t->has_segment)
			snprintf(ch->prev_verdict, sizeof ch->prev_verdict, "%s", t->seg_verdict);
		t->has_segment = 1;
		t->seg_id = 0;
		set_str(&t->seg_verdict, verdict);
		free(t->seg_classes);
		t->seg_classes = classes;
		t->seg_first_ms = at_ms;
		t->seg_last_ms = at_ms;
		t->seg_runs = 1;
	}
	set_str(&t->seg_reason, a->reason);
	set_str(&t->seg_findings, findings);
	if (at_ms > t->seg_last_ms)
		t->seg_last_ms = at_ms;
	*out = (struct timeline_segment){
	    .id = t->seg_id,
	    .relay = t->key.relay,
	    .model = t->key.model,
	    .first_ms = t->seg_first_ms,
	    .last_ms = t->seg_last_ms,
	    .runs = t->seg_runs,
	    .verdict = t->seg_verdict,
	    .classes = t->seg_classes,
	    .reason = t->seg_reason,
	    .findings_json = t->seg_findings,
	};
}

static void
report(const struct target *t, const struct damper *d, const char *kind, int64_t resolved_ms,
       struct timeline_change *out)
{
	if (out->n_incidents >= sizeof out->incidents / sizeof out->incidents[0])
		return;
	out->incidents[out->n_incidents++] = (struct timeline_incident){
	    .id = d->id,
	    .relay = t->key.relay,
	    .model = t->key.model,
	    .kind = kind,
	    .opened_ms = d->opened_ms,
	    .resolved_ms = resolved_ms,
	    .cause = d->cause ? d->cause : "",
	    .detail = d->detail ? d->detail : "",
	    .failed_runs = d->failed_runs,
	};
}

/* Feed one run to a damper: bad or good (see the file's comment). cause and
 * detail describe a bad run. */
static void
damper_feed(struct target *t, struct damper *d, const char *kind, int bad, int64_t at_ms,
            const char *cause, const char *detail, struct timeline_change *out)
{
	if (bad) {
		d->good = 0;
		if (d->bad++ == 0)
			d->first_bad_ms = at_ms;
		if (d->open) {
			d->failed_runs++;
			report(t, d, kind, 0, out);
		} else if (d->bad >= TIMELINE_OPEN_AFTER) {
			free(d->cause);
			free(d->detail);
			d->cause = xstrdup(cause ? cause : "");
			d->detail =
			    utf8_sanitize(detail ? detail : "", strlen(detail ? detail : ""), 300);
			d->open = 1;
			d->id = 0;
			d->opened_ms = d->first_bad_ms;
			d->failed_runs = d->bad;
			report(t, d, kind, 0, out);
		}
		return;
	}
	d->bad = 0;
	if (!d->open)
		return;
	if (d->good++ == 0)
		d->first_good_ms = at_ms;
	if (d->good < TIMELINE_RESOLVE_AFTER)
		return;
	report(t, d, kind, d->first_good_ms, out);
	d->open = 0;
	d->good = 0;
}

void
timeline_apply(struct timeline *tl, const struct audit_run *run, const struct assessment *a,
               const char *findings_json, struct timeline_change *out)
{
	memset(out, 0, sizeof *out);
	struct target *t =
	    targets_get(&tl->targets, sizeof *t, run->target.relay, run->target.model);
	apply_segment(t, run->started_ms, a, findings_json ? findings_json : "[]", out);

	/* outage: no request of the run succeeded. The cause is what the relay
	 * did: requests never sent only follow from it, and are the cause only
	 * when nothing was sent at all */
	long errors[ERR__COUNT] = {0};
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o != NULL && !observation_ok(o))
			errors[(unsigned)o->error < ERR__COUNT ? o->error : ERR_NETWORK]++;
	}
	int down = a->requests > 0 && a->ok_requests == 0;
	int common = ERR_NETWORK;
	for (int e = 1; e < ERR__COUNT; e++)
		if (e != ERR_NOT_SENT && errors[e] > errors[common])
			common = e;
	if (errors[common] == 0 && errors[ERR_NOT_SENT] > 0)
		common = ERR_NOT_SENT;
	const char *detail = NULL;
	for (size_t i = 0; i < run->n_items && detail == NULL; i++) {
		const struct observation *o = run->items[i].obs;
		if (o != NULL && o->error == (enum error_class)common && o->error_detail != NULL)
			detail = o->error_detail;
	}
	damper_feed(t, &t->outage, "outage", down, run->started_ms,
	            error_class_name((enum error_class)common), detail, out);

	/* misbehaving: bad on a misbehaving verdict, good on a run that was
	 * answered and found nothing to convict; unreachable runs say nothing */
	if (a->verdict == VERDICT_UNREACHABLE)
		return;
	const struct finding *worst = NULL;
	for (size_t i = 0; i < a->n_findings; i++)
		if (class_info(a->findings[i].cls)->cheat && !a->findings[i].hint &&
		    (worst == NULL || a->findings[i].confidence > worst->confidence))
			worst = &a->findings[i];
	damper_feed(t, &t->misbehaving, "misbehaving", a->verdict == VERDICT_MISBEHAVING,
	            run->started_ms, worst ? worst->class : "", a->reason, out);
}

void
timeline_stored(struct timeline *tl, const struct timeline_change *out, int64_t segment_id,
                const int64_t *incident_ids)
{
	struct target *t =
	    targets_get(&tl->targets, sizeof *t, out->segment.relay, out->segment.model);
	if (segment_id != 0 && t->seg_id == 0)
		t->seg_id = segment_id;
	for (size_t i = 0; i < out->n_incidents; i++) {
		if (incident_ids == NULL || incident_ids[i] == 0 || out->incidents[i].id != 0)
			continue;
		struct damper *d =
		    strcmp(out->incidents[i].kind, "outage") == 0 ? &t->outage : &t->misbehaving;
		if (d->id == 0)
			d->id = incident_ids[i];
	}
}
