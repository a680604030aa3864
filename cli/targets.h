/*
 * targets: a configured relay's model as the audit target serve and
 * agents run on its interval, built by one rule for both (what a run may
 * spend, the request rules of the model's pack or a stand-in, whether the
 * relay's model list is asked, the channel).
 *
 * Thread: any; the target borrows r's strings and the key from the
 * environment.
 */
#ifndef ASSAY_TARGETS_H
#define ASSAY_TARGETS_H

#include <stddef.h>

#include "cli/config.h"
#include "probes/audit.h"

struct baseline_pack;

/* Fill *t for relay r's model m. 0, or -1 when no pack knows the model
 * (why says so; t is still whole: audited as a model no pack knows). */
int target_of_config(const struct baseline_pack *pack, const struct config_relay *r, size_t m,
                     struct audit_target *t, char *why, size_t whylen);

/* A reload: from the running config o to n. */

/* What the walk does, and counts. */
struct targets_reload {
	/* o's relay-model that n drops or changes: stop it */
	void (*stop)(const char *relay, const char *model, void *arg);
	/* n's relay-model m of nr that o lacks or had otherwise: start it,
	 * the k-th started by this reload (to stagger first runs) */
	void (*start)(const struct config_relay *nr, size_t m, size_t k, void *arg);
	/* n's relay that does not load (its error said by the caller); may
	 * be NULL */
	void (*not_running)(const struct config_relay *nr, void *arg);
	void *arg;
	long kept, added, changed, removed;
};

/* Walk o and n by relay name and entry digest (a changed default or
 * secret changes the digest): every stop before any start. */
void targets_reload(const struct config *o, const struct config *n, struct targets_reload *w);

/* The relay of that name in c that loaded, or NULL. */
const struct config_relay *targets_relay(const struct config *c, const char *name);

#endif
