/*
 * cmd_baseline: `assay baseline list | export | import | record`.
 *
 * Baselines are JSON packs (scoring/baseline.h). `record` measures an
 * official endpoint: it runs the default probe set several times, checks
 * that the token accounting matches the model's tokenizer exactly, and
 * writes the model's known-answer pass rates into a pack that `import`
 * installs for every later audit.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/options.h"
#include "cli/endpoint_options.h"
#include "base/util.h"
#include "probes/audit.h"
#include "probes/catalog.h"
#include "probes/endpoint.h"
#include "probes/engine.h"
#include "scoring/baseline.h"
#include "scoring/detect.h"

static void
usage(FILE *f)
{
	fputs("usage: assay baseline list\n"
	      "       assay baseline export [FILE]\n"
	      "       assay baseline import FILE\n"
	      "       assay baseline record --base-url URL --model NAME [--key-env VAR]\n"
	      "                             [--samples N] [--time-scale X] [-o FILE]\n"
	      "                             [--api openai|anthropic|responses]\n"
	      "                             [--auth bearer|x-api-key]\n"
	      "                             [--header 'Name: value']...\n"
	      "                             [--header-env 'Name: VAR']...\n"
	      "\n"
	      "Baselines say what an official model does. export writes every known model\n"
	      "as a JSON pack; import checks a pack and installs it in your pack directory\n"
	      "("
	      "$ASSAY_BASELINE_DIR, else ~/.local/share/assay/baselines); record measures\n"
	      "an OFFICIAL endpoint and writes a pack for the model. --time-scale notes that\n"
	      "the endpoint's delays are X times real ones (a simulated world run faster),\n"
	      "so audits compare latency at the scale it was recorded at. --api records over\n"
	      "another API than the model's own (its protocol is kept per API: recording\n"
	      "--api responses keeps the pack's record for openai, and the reverse).\n"
	      "record also counts the one-word answers to the fingerprint questions (a\n"
	      "random number, a colour, a letter) over N runs and 5N more of those probes\n"
	      "alone: the distribution audits hold the relay's answers to.\n",
	      f);
}

static int
write_json(json_t *j, const char *path)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		if (json_dumpf(j, stdout, JSON_INDENT(2)) != 0)
			return -1;
		fputc('\n', stdout);
		return 0;
	}
	return json_dump_file(j, path, JSON_INDENT(2));
}

static int
mkdir_p(const char *dir)
{
	char *copy = xstrdup(dir);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
			free(copy);
			return -1;
		}
		*p = '/';
	}
	int rc = mkdir(copy, 0755) != 0 && errno != EEXIST ? -1 : 0;
	free(copy);
	return rc;
}

static int
cmd_import(const char *file)
{
	char err[512];
	struct baseline_pack *p = baseline_load(file, err, sizeof err);
	if (p == NULL) {
		fprintf(stderr, "assay baseline: %s\n", err);
		return 2;
	}
	char *dir = baseline_user_dir();
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	char *dest = xasprintf("%s/%s", dir, base);
	int rc = 0;
	json_t *j = baseline_pack_to_json(p);
	if (mkdir_p(dir) != 0 || json_dump_file(j, dest, JSON_INDENT(2)) != 0) {
		fprintf(stderr, "assay baseline: cannot write '%s': %s\n", dest, strerror(errno));
		rc = 2;
	} else {
		printf("imported %zu model%s into %s\n", p->n, p->n == 1 ? "" : "s", dest);
	}
	json_decref(j);
	free(dest);
	free(dir);
	baseline_free(p);
	return rc;
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

/* One audit of the official endpoint, run to its end. */
struct rec_run {
	struct event_base *base;
	struct engine *engine;
	struct audit_run *run;
};

static void
rec_run(struct rec_run *r, const struct catalog *cat, const struct audit_target *t, unsigned tiers)
{
	r->base = event_base_new();
	r->engine = engine_new(r->base, NULL);
	r->run = audit_run_to_end(r->base, r->engine, cat, t, tiers, 3, 60000000);
}

static void
rec_run_free(struct rec_run *r)
{
	audit_run_free(r->run);
	engine_free(r->engine);
	event_base_free(r->base);
}

/* Note an official response's system_fingerprint (a set) and id shape (the
 * first seen: an official API keeps one shape). */
static void
record_protocol(const struct observation *o, char ***fps, size_t *n, char **shape)
{
	if (o->system_fingerprint != NULL && *o->system_fingerprint) {
		size_t i = 0;
		while (i < *n && strcmp((*fps)[i], o->system_fingerprint) != 0)
			i++;
		if (i == *n) {
			*fps = xrealloc(*fps, (*n + 1) * sizeof **fps);
			(*fps)[(*n)++] = xstrdup(o->system_fingerprint);
		}
	}
	if (*shape == NULL && o->id != NULL && *o->id) {
		char buf[96];
		baseline_id_shape(o->id, buf, sizeof buf);
		*shape = xstrdup(buf);
	}
}

/*
 * Temperature 0's self-agreement: the temp-zero probe alone, `trials` times.
 * It is cheap (two short requests) and the audit's p-value for a
 * disagreement is only as small as this record is long. Adds to *agree and
 * *runs.
 */
static void
record_temp_zero(const struct catalog *cat, const struct audit_target *t, int trials, int *agree,
                 int *runs)
{
	const struct probe_def *p = catalog_find(cat, "temp-zero");
	if (p == NULL)
		return;
	struct catalog one = {.probes = (struct probe_def *)p, .n = 1};
	for (int i = 0; i < trials; i++) {
		struct rec_run r;
		rec_run(&r, &one, t, p->tier);
		int same = audit_answers_agree(r.run, "temp-zero");
		if (same >= 0) {
			(*runs)++;
			*agree += same;
		}
		rec_run_free(&r);
	}
}

/* Count one normalised answer to a fingerprint probe in *tally (grown as
 * needed; the caller releases it with the pack's model). */
static void
tally_answer(struct baseline_answer_counts **tally, size_t *n, const char *probe, const char *text)
{
	char value[FINGERPRINT_VALUE_MAX];
	fingerprint_normalise(text, value, sizeof value);
	size_t p;
	for (p = 0; p < *n; p++)
		if (strcmp((*tally)[p].probe, probe) == 0)
			break;
	if (p == *n) {
		*tally = xrealloc(*tally, (*n + 1) * sizeof **tally);
		memset(&(*tally)[p], 0, sizeof **tally);
		(*tally)[p].probe = xstrdup(probe);
		(*n)++;
	}
	struct baseline_answer_counts *c = &(*tally)[p];
	for (size_t v = 0; v < c->n; v++)
		if (strcmp(c->values[v], value) == 0) {
			c->counts[v]++;
			return;
		}
	c->values = xrealloc(c->values, (c->n + 1) * sizeof *c->values);
	c->counts = xrealloc(c->counts, (c->n + 1) * sizeof *c->counts);
	c->values[c->n] = xstrdup(value);
	c->counts[c->n++] = 1;
}

/* Every fingerprint answer of a run, counted. */
static void
tally_run(const struct audit_run *run, struct baseline_answer_counts **tally, size_t *n)
{
	for (size_t k = 0; k < run->n_items; k++) {
		const struct audit_item *it = &run->items[k];
		if (scorer_fingerprint_probe(it->probe->id) && observation_ok(it->obs) &&
		    it->obs->text != NULL)
			tally_answer(tally, n, it->probe->id, it->obs->text);
		/* the integrity probes' outcomes, counted the same way: how often
		 * the official model reproduces what the prompt quotes */
		const char *outcome = scorer_fidelity_outcome(it);
		if (outcome != NULL)
			tally_answer(tally, n, it->probe->id, outcome);
	}
}

/*
 * The fingerprint probes alone, trials more times: the test's reference is
 * a distribution over tens of answers, which the runs' two samples a probe
 * would estimate poorly. The integrity probes go with them: their record
 * is how often the official model reproduces what it is quoted.
 */
static void
record_fingerprints(const struct catalog *cat, const struct audit_target *t, int trials,
                    struct baseline_answer_counts **tally, size_t *n)
{
	struct probe_def *fp = xcalloc(cat->n + 1, sizeof *fp);
	size_t n_fp = 0;
	for (size_t i = 0; i < cat->n; i++)
		if (scorer_fingerprint_probe(cat->probes[i].id) ||
		    cat->probes[i].fidelity != FIDELITY_NONE)
			fp[n_fp++] = cat->probes[i]; /* shallow: the catalog owns it */
	struct catalog some = {.probes = fp, .n = n_fp};
	for (int i = 0; i < trials && n_fp > 0; i++) {
		struct rec_run r;
		rec_run(&r, &some, t, TIER_CHEAP | TIER_MEDIUM);
		tally_run(r.run, tally, n);
		rec_run_free(&r);
	}
	free(fp);
}

static int
cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {ENDPOINT_LONG_OPTIONS,
	                                     {"samples", required_argument, NULL, 's'},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {"time-scale", required_argument, NULL, 't'},
	                                     {"api", required_argument, NULL, 'a'},
	                                     {NULL, 0, NULL, 0}};
	struct endpoint_options ep;
	endpoint_options_init(&ep);
	const char *out = NULL, *api_opt = NULL;
	int samples = 5, c;
	char err[512];
	int rc = 2;
	double time_scale = 1;
	while ((c = endpoint_options_next(&ep, argc, argv, "o:", opts, "baseline record")) != -1) {
		switch (c) {
		case ENDPOINT_OPTION_REFUSED:
			goto usage_error;
		case 's': {
			double n;
			samples = cli_number(optarg, 0, 100, &n) == 0 && n == (int)n ? (int)n : 0;
			break;
		}
		case 'o':
			out = optarg;
			break;
		case 't':
			if (cli_number(optarg, 0, 1000, &time_scale) != 0)
				time_scale = 0; /* refused below */
			break;
		case 'a':
			api_opt = optarg;
			break;
		default:
			fprintf(stderr,
			        "assay baseline record: unknown option or missing value: '%s'\n",
			        argv[optind - 1]);
			goto usage_error;
		}
	}
	const char *url = ep.base_url, *model = ep.model, *key_env = ep.key_env;
	if (url == NULL || model == NULL || samples < 1 || samples > 100 || !(time_scale > 0)) {
		fputs("assay baseline record: --base-url and --model are required, --samples "
		      "1..100, --time-scale above 0\n",
		      stderr);
		goto usage_error;
	}
	if (config_check_url(url, err, sizeof err) != 0) {
		fprintf(stderr, "assay baseline record: %s\n", err);
		goto usage_error;
	}
	const char *key = key_env ? getenv(key_env) : NULL;
	if (key_env != NULL && key == NULL) {
		fprintf(stderr, "assay baseline record: environment variable '%s' is not set\n",
		        key_env);
		goto usage_error;
	}
	struct baseline_pack *pack = baseline_load_default(err, sizeof err);
	struct catalog *cat = pack ? scorer_catalog_default(err, sizeof err) : NULL;
	if (pack == NULL || cat == NULL) {
		fprintf(stderr, "assay baseline record: %s\n", err);
		baseline_free(pack);
		goto usage_error;
	}
	const struct baseline_model *known = baseline_find(pack, model);
	char why[320];
	if (known == NULL && baseline_resolve(pack, model, &known, why, sizeof why) < 0) {
		fprintf(stderr, "assay baseline record: %s\n", why);
		baseline_free(pack);
		catalog_free(cat);
		goto usage_error;
	}
	if (known == NULL) {
		fprintf(stderr,
		        "assay baseline record: unknown model '%s': its tokenizer and "
		        "limits must come from a pack first (assay baseline import)\n",
		        model);
		baseline_free(pack);
		catalog_free(cat);
		goto usage_error;
	}
	/* the Vertex options name Vertex's wire, as on audit */
	int api = api_opt == NULL && ep.vertex_url != NULL
	              ? (int)API_VERTEX
	              : api_from_name(api_opt ? api_opt : known->api);
	if (api < 0) {
		fprintf(stderr, "assay baseline record: --api is " API_NAMES_TEXT ", not '%s'\n",
		        api_opt);
		baseline_free(pack);
		catalog_free(cat);
		goto usage_error;
	}
	if (ep.bedrock && api != API_CONVERSE) {
		/* InvokeModel's shape would go in the anthropic API's record,
		 * which is Anthropic's own (probes/bedrock.h: another channel);
		 * Converse is Bedrock's alone, recorded as converse */
		fprintf(stderr, "assay baseline record: not on Amazon Bedrock's InvokeModel: the "
		                "pack records Anthropic's own API (--api converse records "
		                "Converse)\n");
		baseline_free(pack);
		catalog_free(cat);
		goto usage_error;
	}
	struct audit_target t;
	if (endpoint_options_target(&ep, "baseline record", "official", (enum api_kind)api, key,
	                            &t) != 0) {
		baseline_free(pack);
		catalog_free(cat);
		goto usage_error;
	}
	struct baseline_model m = *known; /* shallow: answers replaced below */
	struct scorer *scorer = scorer_new(pack);
	int exact = 0;
	double ttfts[100], rates[100];
	int n_lat = 0, n_rate = 0;
	/* per probe with an assertion: passes and tries */
	int pass[64] = {0}, tries[64] = {0};
	/* the protocol fingerprint and the style probe's answers */
	char **fps = NULL, **style = NULL, *shape = NULL;
	size_t n_fps = 0, n_style = 0;
	int temp_agree = 0, temp_runs = 0;
	struct baseline_answer_counts *tally = NULL;
	size_t n_tally = 0;
	struct baseline_protocol proto;
	memset(&proto, 0, sizeof proto);
	baseline_request_rules(known, &t.rules);
	t.max_requests = AUDIT_BUDGET_REQUESTS; /* the runs are default audits' */
	for (int i = 0; i < samples; i++) {
		struct rec_run ctx;
		rec_run(&ctx, cat, &t, TIER_CHEAP | TIER_MEDIUM);
		struct assessment a;
		assessment_init(&a);
		scorer_assess(scorer, ctx.run, known, &a);
		exact += a.strong_checks_passed;
		if (a.ttft_ms >= 0)
			ttfts[n_lat++] = a.ttft_ms;
		if (a.tokens_per_s >= 0)
			rates[n_rate++] = a.tokens_per_s;
		tally_run(ctx.run, &tally, &n_tally);
		const char *texts[64];
		size_t nt = audit_texts(ctx.run, STYLE_PROBE, texts, 64);
		style = xrealloc(style, (n_style + nt + 1) * sizeof *style);
		for (size_t k = 0; k < nt; k++)
			style[n_style++] = xstrdup(texts[k]);
		for (size_t k = 0; k < ctx.run->n_items; k++) {
			const struct audit_item *it = &ctx.run->items[k];
			if (observation_ok(it->obs)) {
				record_protocol(it->obs, &fps, &n_fps, &shape);
				baseline_protocol_observe(&proto, it->obs);
			}
			size_t pi = (size_t)(it->probe - cat->probes);
			if (pi >= 64 || it->probe->expect_code == NULL || !observation_ok(it->obs))
				continue;
			int hit = probe_expect_match(it->probe, it->obs->text, it->obs->text_len);
			if (hit >= 0) {
				tries[pi]++;
				pass[pi] += hit;
			}
		}
		fprintf(stderr,
		        "assay baseline record: run %d of %d: %d/%d requests ok, token "
		        "accounting %s\n",
		        i + 1, samples, a.ok_requests, a.requests,
		        known->tokenizer == NULL ? "not checkable (no public tokenizer)"
		        : a.strong_checks_passed ? "exact"
		                                 : "NOT exact");
		assessment_release(&a);
		rec_run_free(&ctx);
	}
	record_temp_zero(cat, &t, samples * 10, &temp_agree, &temp_runs);
	record_fingerprints(cat, &t, samples * 5, &tally, &n_tally);
	if (exact < samples && known->tokenizer != NULL)
		fprintf(stderr,
		        "assay baseline record: warning: token accounting was exact in only "
		        "%d of %d runs; is this really the official endpoint?\n",
		        exact, samples);
	struct baseline_answer answers[65];
	size_t n_answers = 0;
	if (temp_runs > 0) {
		answers[n_answers].probe = (char *)"temp-zero";
		answers[n_answers++].p_correct = (temp_agree + 0.5) / (temp_runs + 1.0);
	}
	for (size_t pi = 0; pi < cat->n && pi < 64; pi++) {
		if (tries[pi] == 0)
			continue;
		/* Laplace-smoothed so that a perfect record never claims certainty */
		answers[n_answers].probe = cat->probes[pi].id;
		answers[n_answers++].p_correct = (pass[pi] + 0.5) / (tries[pi] + 1.0);
	}
	m.answers = answers;
	m.n_answers = n_answers;
	/* the model's own id_shape and fingerprints are its own api's (the
	 * Responses API sends no system_fingerprint); another api's shape
	 * lives in that api's protocol record, learned with it */
	if (api == api_from_name(known->api)) {
		m.fingerprints = fps;
		m.n_fingerprints = n_fps;
		m.id_shape = shape;
	}
	/* the other APIs' records are the pack's, kept as they were */
	m.protocols[api] = proto;
	struct baseline_samples recorded = {
	    .probe = (char *)STYLE_PROBE, .texts = style, .n = n_style};
	m.samples = n_style > 0 ? &recorded : NULL;
	m.n_samples = n_style > 0 ? 1 : 0;
	m.answer_counts = tally;
	m.n_answer_counts = n_tally;
	if (n_lat > 0 && n_rate > 0) {
		qsort(ttfts, (size_t)n_lat, sizeof *ttfts, cmp_double);
		qsort(rates, (size_t)n_rate, sizeof *rates, cmp_double);
		m.ttft_ms = ttfts[n_lat / 2];
		m.tokens_per_s = rates[n_rate / 2];
		m.latency_time_scale = time_scale;
	}
	struct baseline_pack out_pack = {.name = (char *)"recorded"};
	baseline_put(&out_pack, &m);
	json_t *j = baseline_pack_to_json(&out_pack);
	json_object_set_new(j, "source", json_string("assay baseline record"));
	rc = write_json(j, out) == 0 ? 0 : 2;
	if (rc != 0)
		fprintf(stderr, "assay baseline record: cannot write '%s'\n", out);
	json_decref(j);
	/* out_pack holds baseline_put's deep copy: free it as a heap pack */
	struct baseline_pack *owned = xcalloc(1, sizeof *owned);
	*owned = out_pack;
	owned->name = NULL;
	baseline_free(owned);
	for (size_t i = 0; i < n_fps; i++)
		free(fps[i]);
	free(fps);
	for (size_t i = 0; i < n_style; i++)
		free(style[i]);
	free(style);
	for (size_t i = 0; i < n_tally; i++) {
		free(tally[i].probe);
		for (size_t v = 0; v < tally[i].n; v++)
			free(tally[i].values[v]);
		free(tally[i].values);
		free(tally[i].counts);
	}
	free(tally);
	free(shape);
	baseline_protocol_release(&proto);
	scorer_free(scorer);
	catalog_free(cat);
	baseline_free(pack);
usage_error:
	endpoint_options_release(&ep);
	return rc;
}

int
cmd_baseline(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	char err[512];
	if (strcmp(sub, "import") == 0) {
		if (argc != 3) {
			fputs("assay baseline import: give one pack file\n", stderr);
			return 2;
		}
		return cmd_import(argv[2]);
	}
	if (strcmp(sub, "record") == 0)
		return cmd_record(argc - 1, argv + 1);
	if (strcmp(sub, "list") != 0 && strcmp(sub, "export") != 0) {
		fprintf(stderr, "assay baseline: unknown subcommand '%s'\n", sub);
		return 2;
	}
	struct baseline_pack *p = baseline_load_default(err, sizeof err);
	if (p == NULL) {
		fprintf(stderr, "assay baseline: %s\n", err);
		return 2;
	}
	int rc = 0;
	if (strcmp(sub, "list") == 0) {
		for (size_t i = 0; i < p->n; i++)
			printf("%-20s %-10s %-12s %zu answer rates\n", p->models[i].name,
			       p->models[i].api,
			       p->models[i].tokenizer ? p->models[i].tokenizer : "-",
			       p->models[i].n_answers);
	} else {
		json_t *j = baseline_pack_to_json(p);
		if (write_json(j, argc > 2 ? argv[2] : NULL) != 0) {
			fprintf(stderr, "assay baseline: cannot write '%s'\n", argv[2]);
			rc = 2;
		}
		json_decref(j);
	}
	baseline_free(p);
	return rc;
}
