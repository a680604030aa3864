/*
 * targets: one rule for the target of a configured relay-model (see
 * cli/targets.h).
 */
#include "cli/targets.h"

#include <stdio.h>
#include <stdlib.h>

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
