/*
 * targets: one rule for the target of a configured relay-model (see
 * cli/targets.h).
 */
#include "cli/targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/models_list.h"
#include "scoring/baseline.h"
#include "scoring/identify.h"
#include "scoring/origin.h"

int
target_of_config(const struct baseline_pack *pack, const struct config_relay *r, size_t m,
                 struct audit_target *t, char *why, size_t whylen)
{
	*t = (struct audit_target){
	    .relay = r->name,
	    .base_url = r->base_url,
	    .api = r->api,
	    .model = r->models[m],
	    .wire_model = r->wire_model,
	    .api_key = r->key_env ? getenv(r->key_env) : NULL,
	    .auth = r->auth,
	    .headers = r->headers,
	    .n_headers = r->n_headers,
	    .bedrock = r->bedrock,
	    .aws = r->aws,
	};
	int rc = 0;
	const struct baseline_model *known = baseline_find(pack, r->models[m]);
	const struct baseline_model *which;
	if (known == NULL && baseline_resolve(pack, r->models[m], &which, why, whylen) < 0)
		rc = -1;
	struct baseline_model standin;
	if (known == NULL)
		baseline_infer(pack, r->models[m], r->api, &standin);
	baseline_request_rules(known ? known : &standin, &t->rules);
	if (known == NULL)
		baseline_infer_release(&standin);
	/* one GET a run, no tokens, where the audit asks one too */
	t->list_models = models_list_asked(r->api, r->base_url, r->bedrock);
	t->budget_tokens = AUDIT_BUDGET_TOKENS;
	t->max_requests = AUDIT_BUDGET_REQUESTS; /* as assay audit's */
	t->channel = (char *)origin_channel_name((enum origin_channel)r->channel);
	return rc;
}

const struct config_relay *
targets_relay(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->n_relays; i++)
		if (c->relays[i].error == NULL && strcmp(c->relays[i].name, name) == 0)
			return &c->relays[i];
	return NULL;
}

static int
has_model(const struct config_relay *r, const char *model)
{
	for (size_t m = 0; r != NULL && m < r->n_models; m++)
		if (strcmp(r->models[m], model) == 0)
			return 1;
	return 0;
}

void
targets_reload(const struct config *o, const struct config *n, struct targets_reload *w)
{
	w->kept = w->added = w->changed = w->removed = 0;
	for (size_t i = 0; i < o->n_relays; i++) {
		const struct config_relay *r = &o->relays[i];
		if (r->error != NULL)
			continue; /* it never ran */
		const struct config_relay *nr = targets_relay(n, r->name);
		for (size_t m = 0; m < r->n_models; m++) {
			if (!has_model(nr, r->models[m])) {
				w->stop(r->name, r->models[m], w->arg);
				w->removed++;
			} else if (nr->digest != r->digest) {
				w->stop(r->name, r->models[m], w->arg);
			}
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < n->n_relays; i++) {
		const struct config_relay *nr = &n->relays[i];
		if (nr->error != NULL) {
			if (w->not_running != NULL)
				w->not_running(nr, w->arg);
			continue;
		}
		const struct config_relay *r = targets_relay(o, nr->name);
		for (size_t m = 0; m < nr->n_models; m++) {
			if (has_model(r, nr->models[m]) && r->digest == nr->digest) {
				w->kept++;
				continue;
			}
			if (has_model(r, nr->models[m]))
				w->changed++;
			else
				w->added++;
			w->start(nr, m, k++, w->arg);
		}
	}
}
