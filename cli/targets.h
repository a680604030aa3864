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

#endif
