/*
 * listing: the relay's model list (GET /v1/models) against what it served.
 *
 * Facts, not findings: a list is the relay's advertisement, and a relay
 * that lists nothing or lists too much cheats no one by that alone. What
 * the audit saw is said as it happened: a model listed and refused, listed
 * and answered by another (the substitution finding says which), not
 * listed and answered anyway, or a list the relay would not give.
 */
#ifndef ASSAY_LISTING_H
#define ASSAY_LISTING_H

#include "probes/audit.h"

struct assessment;
struct baseline_pack;
struct baseline_model;

enum listing_state {
	LISTING_NOT_ASKED = 0, /* the run did not ask for the list */
	LISTING_UNAVAILABLE,   /* the list request failed or was not a list */
	LISTING_LISTED,        /* the claimed model is on the list */
	LISTING_UNLISTED,      /* the list does not name it */
};

/* "not asked", "unavailable", "listed", "not listed"; -1 for others. */
const char *listing_state_name(enum listing_state s);
int listing_state_from_name(const char *name);

/* Fill a's listing fields from run's list and what run's requests got
 * (call after assessment_decide(): it reads the substitution finding). The
 * claimed model is listed when a line names it, or names the same pack
 * entry (an alias, a snapshot). */
void listing_assess(const struct audit_run *run, const struct baseline_pack *pack,
                    const struct baseline_model *claimed, struct assessment *a);

#endif
