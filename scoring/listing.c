/*
 * listing: the model list against what was served (see the header).
 */
#include "scoring/listing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "probes/models_list.h"
#include "scoring/baseline.h"
#include "scoring/verdict.h"

static const char *const state_names[] = {"not asked", "unavailable", "listed", "not listed"};

const char *
listing_state_name(enum listing_state s)
{
	return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "?";
}

int
listing_state_from_name(const char *name)
{
	return name_index(state_names, sizeof state_names / sizeof state_names[0], name);
}

/* The substitution finding that counts (not a hint), or NULL. */
static const struct finding *
substitution(const struct assessment *a)
{
	for (size_t i = 0; i < a->n_findings; i++)
		if (strcmp(a->findings[i].class, "substitution") == 0 && !a->findings[i].hint)
			return &a->findings[i];
	return NULL;
}

/* Does a line of o's list name the claimed pack model, by its name or an
 * alias (Anthropic lists snapshots, "claude-sonnet-4-20250514", and takes
 * the alias "claude-sonnet-4" as well)? */
static int
names_claimed(const struct observation *o, const struct baseline_pack *pack,
              const struct baseline_model *claimed)
{
	if (pack == NULL || claimed == NULL || claimed->origin != BASELINE_PACK)
		return 0;
	for (const char *line = o->text; line != NULL && *line;) {
		const char *end = strchr(line, '\n');
		char *id = end ? xstrndup(line, (size_t)(end - line)) : xstrdup(line);
		int same = baseline_find(pack, id) == claimed;
		free(id);
		if (same)
			return 1;
		line = end ? end + 1 : NULL;
	}
	return 0;
}

void
listing_assess(const struct audit_run *run, const struct baseline_pack *pack,
               const struct baseline_model *claimed, struct assessment *a)
{
	const struct observation *o = run->listing;
	free(a->listing_note);
	a->listing_note = NULL;
	a->listing_count = 0;
	if (o == NULL) {
		a->listing = LISTING_NOT_ASKED;
		return;
	}
	if (o->error != ERR_NONE) {
		a->listing = LISTING_UNAVAILABLE;
		if (o->http_status > 0)
			a->listing_note = xasprintf("the model list request got HTTP %d (%s)",
			                            o->http_status, error_class_name(o->error));
		else
			a->listing_note = xasprintf("the model list request failed (%s)",
			                            error_class_name(o->error));
		return;
	}
	a->listing_count = (long)models_list_count(o);
	int listed = models_list_has(o, run->target.model) == 1 || names_claimed(o, pack, claimed);
	a->listing = listed ? LISTING_LISTED : LISTING_UNLISTED;
	/* what the model's own requests got */
	int sent = 0, ok = 0, no_model = 0;
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *r = run->items[i].obs;
		if (r == NULL || r->error == ERR_NOT_SENT)
			continue;
		sent++;
		ok += observation_ok(r);
		no_model += r->error == ERR_NO_MODEL;
	}
	const char *of = o->text_truncated ? "at least " : "";
	const struct finding *sub = substitution(a);
	if (listed && sent > 0 && no_model == sent)
		a->listing_note =
		    xasprintf("listed among %s%ld models, yet all %d requests for it were "
		              "refused as an unknown model",
		              of, a->listing_count, sent);
	else if (listed && sub != NULL && ok > 0)
		a->listing_note =
		    xasprintf("listed among %s%ld models, and answered by another model (%s%s)", of,
		              a->listing_count, sub->served ? "most likely " : "",
		              sub->served ? sub->served : "see the substitution finding");
	else if (listed)
		a->listing_note = xasprintf("listed among %s%ld models; %d of %d requests answered",
		                            of, a->listing_count, ok, sent);
	else if (ok > 0)
		a->listing_note =
		    xasprintf("not among the %s%ld models listed, yet %d of %d requests "
		              "were answered",
		              of, a->listing_count, ok, sent);
	else
		a->listing_note =
		    xasprintf("not among the %s%ld models listed; no request was answered", of,
		              a->listing_count);
}
