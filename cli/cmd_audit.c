/*
 * cmd_audit: `assay audit --base-url URL --model NAME`: one audit now, a
 * verdict with its evidence, and an exit status a script can branch on.
 */
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "base/util.h"
#include "probes/audit.h"
#include "probes/catalog.h"
#include "probes/engine.h"
#include "scoring/baseline.h"
#include "scoring/detect.h"
#include "scoring/tokenizer.h"
#include "scoring/verdict.h"

static void
usage(FILE *f)
{
	fputs("usage: assay audit --base-url URL --model NAME [--key-env VAR] [--api "
	      "openai|anthropic]\n"
	      "                   [--json] [--timeout SECONDS] [--ca-file FILE]\n"
	      "                   [--insecure-skip-tls-verify] [--deep]\n"
	      "\n"
	      "Audit one relay and model now. The API key is read from the environment\n"
	      "variable named by --key-env (never from the command line); without it no key\n"
	      "is sent. --deep adds long-context and long-output probes (tens of thousands\n"
	      "of tokens; their cost is printed before they are sent). Exit status: 0 genuine, 1 "
	      "misbehaving, 2 usage or config error,\n"
	      "3 suspect, inconclusive or unreachable.\n",
	      f);
}

static void
print_report(const struct audit_run *run, const struct assessment *a, FILE *f)
{
	fprintf(f, "Assay audit of %s at %s (%s API)\n\n", run->target.model, run->target.base_url,
	        api_name(run->target.api));
	fprintf(f, "verdict: %s\n  %s\n\n", verdict_name(a->verdict), a->reason ? a->reason : "");
	if (a->n_findings == 0) {
		fputs("findings: none\n", f);
	} else {
		fprintf(f, "findings (%zu):\n", a->n_findings);
		for (size_t i = 0; i < a->n_findings; i++) {
			const struct finding *fd = &a->findings[i];
			fprintf(
			    f,
			    "  - %s, confidence %.3f\n    %s\n    expected: %s\n    observed: %s\n",
			    fd->class, fd->confidence, fd->summary, fd->expected, fd->observed);
			if (fd->served)
				fprintf(f, "    most likely served: %s\n", fd->served);
		}
	}
	fprintf(f, "\nrequests: %d planned, %d succeeded\n", a->requests, a->ok_requests);
	fprintf(f, "tokens spent: %ld (%ld prompt, %ld completion)", a->tokens_spent,
	        a->prompt_tokens, a->completion_tokens);
	if (a->cost_usd >= 0)
		fprintf(f, ", about $%.4f at %s's official price", a->cost_usd, run->target.model);
	fputc('\n', f);
	if (a->ttft_ms >= 0)
		fprintf(f, "time to first token: %.0f ms (median)\n", a->ttft_ms);
	if (a->tokens_per_s >= 0)
		fprintf(f, "output speed: %.0f tokens/s (median)\n", a->tokens_per_s);
	for (size_t i = 0; i < run->n_items; i++) {
		const struct observation *o = run->items[i].obs;
		if (o != NULL && !observation_ok(o))
			fprintf(f, "  %s %s: %s (%s)\n", o->error == ERR_NOT_SENT ? "not sent" : "failed",
			        run->items[i].probe->id, error_class_name(o->error),
			        o->error_detail ? o->error_detail : "");
	}
}

/* What the deep probes will cost, said before they are sent: prompt tokens
 * counted exactly when the model's tokenizer is known, output at its cap. */
static void
print_deep_cost(const struct catalog *cat, const struct baseline_model *m)
{
	struct tokenizer *t = NULL;
	char err[256];
	if (m->tokenizer != NULL)
		t = tokenizer_open(m->tokenizer, err, sizeof err);
	long in = 0, out = 0;
	int n = 0;
	for (size_t i = 0; i < cat->n; i++) {
		const struct probe_def *p = &cat->probes[i];
		if (p->tier != TIER_DEEP)
			continue;
		char nonce[16];
		probe_nonce(nonce);
		for (size_t k = 0; k < p->n_messages; k++) {
			char *text = probe_render(p->texts[k], nonce);
			long c =
			    t ? tokenizer_count(t, text, strlen(text)) : (long)strlen(text) / 4;
			in += c > 0 ? c : 0;
			free(text);
		}
		out += p->max_tokens * p->samples;
		n += p->samples;
	}
	tokenizer_free(t);
	fprintf(stderr,
	        "assay audit: --deep adds %d requests, about %ld prompt and up to %ld "
	        "completion tokens",
	        n, in, out);
	if (m->price_in >= 0)
		fprintf(stderr, " (at most $%.3f at %s's official price)",
		        (in * m->price_in + out * m->price_out) / 1e6, m->name);
	fputc('\n', stderr);
}

int
cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"base-url", required_argument, NULL, 'u'},
	    {"model", required_argument, NULL, 'm'},
	    {"key-env", required_argument, NULL, 'k'},
	    {"api", required_argument, NULL, 'a'},
	    {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'},
	    {"ca-file", required_argument, NULL, 'c'},
	    {"insecure-skip-tls-verify", no_argument, NULL, 'I'},
	    {"deep", no_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *base_url = NULL, *model = NULL, *key_env = NULL, *api_opt = NULL;
	const char *ca_file = NULL;
	int json = 0, insecure = 0, deep = 0;
	double timeout_s = 60;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			base_url = optarg;
			break;
		case 'm':
			model = optarg;
			break;
		case 'k':
			key_env = optarg;
			break;
		case 'a':
			api_opt = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't': {
			char *end;
			timeout_s = strtod(optarg, &end);
			if (*end != '\0' || timeout_s <= 0 || timeout_s > 3600) {
				fprintf(
				    stderr,
				    "assay audit: --timeout takes seconds (0 to 3600), not '%s'\n",
				    optarg);
				return 2;
			}
			break;
		}
		case 'c':
			ca_file = optarg;
			break;
		case 'I':
			insecure = 1;
			break;
		case 'D':
			deep = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (optopt != 0)
				fprintf(stderr,
				        "assay audit: option '%s' needs a value or is unknown\n",
				        argv[optind - 1]);
			else
				fprintf(stderr, "assay audit: unknown option '%s'\n",
				        argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "assay audit: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (base_url == NULL || model == NULL) {
		fprintf(
		    stderr,
		    "assay audit: --base-url and --model are required (see assay audit --help)\n");
		return 2;
	}
	char err[1024];
	if (config_check_url(base_url, err, sizeof err) != 0) {
		fprintf(stderr, "assay audit: %s\n", err);
		return 2;
	}
	const char *key = NULL;
	if (key_env != NULL) {
		key = getenv(key_env);
		if (key == NULL) {
			fprintf(stderr,
			        "assay audit: environment variable '%s' (--key-env) is not set\n",
			        key_env);
			return 2;
		}
	}
	struct baseline_pack *pack = baseline_load_default(err, sizeof err);
	if (pack == NULL) {
		fprintf(stderr, "assay audit: %s\n", err);
		return 2;
	}
	const struct baseline_model *claimed = baseline_find(pack, model);
	if (claimed == NULL) {
		fprintf(
		    stderr,
		    "assay audit: unknown model '%s' (no baseline to compare with; known: ", model);
		for (size_t i = 0; i < pack->n; i++)
			fprintf(stderr, "%s%s", i ? ", " : "", pack->models[i].name);
		fputs(")\n", stderr);
		baseline_free(pack);
		return 2;
	}
	int api = api_opt ? api_from_name(api_opt) : api_from_name(claimed->api);
	if (api < 0) {
		fprintf(stderr, "assay audit: --api is 'openai' or 'anthropic', not '%s'\n",
		        api_opt);
		baseline_free(pack);
		return 2;
	}
	struct catalog *cat = catalog_load_default(err, sizeof err);
	if (cat == NULL) {
		fprintf(stderr, "assay audit: %s\n", err);
		baseline_free(pack);
		return 2;
	}
	if (insecure)
		fputs("assay audit: WARNING: TLS certificate verification is OFF "
		      "(--insecure-skip-tls-verify)\n",
		      stderr);

	struct event_base *base = event_base_new();
	struct engine_options eo = {.ca_file = ca_file, .insecure_skip_tls = insecure};
	struct engine *engine = engine_new(base, &eo);
	if (base == NULL || engine == NULL)
		fatal(70, "cannot set up the event loop or libcurl");
	struct audit_target target = {
	    .relay = (char *)"audit",
	    .base_url = (char *)base_url,
	    .api = (enum api_kind)api,
	    .model = (char *)model,
	    .api_key = (char *)key,
	};
	if (deep)
		print_deep_cost(cat, claimed);
	struct audit_run *run = audit_run_to_end(base, engine, cat, &target,
	                                         TIER_CHEAP | TIER_MEDIUM | (deep ? TIER_DEEP : 0),
	                                         3, (int64_t)(timeout_s * 1e6));

	struct scorer *scorer = scorer_new(pack);
	struct assessment a;
	assessment_init(&a);
	scorer_assess(scorer, run, claimed, &a);
	if (json) {
		json_t *j = assessment_to_json(&a);
		json_object_set_new(j, "model", json_string(model));
		json_object_set_new(j, "base_url", json_string(base_url));
		json_object_set_new(j, "api", json_string(api_name((enum api_kind)api)));
		char *s = json_dumps(j, JSON_INDENT(2));
		puts(s);
		free(s);
		json_decref(j);
	} else {
		print_report(run, &a, stdout);
	}
	int status = verdict_exit_status(a.verdict);
	assessment_release(&a);
	scorer_free(scorer);
	audit_run_free(run);
	engine_free(engine);
	event_base_free(base);
	catalog_free(cat);
	baseline_free(pack);
	return status;
}
