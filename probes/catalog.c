/*
 * catalog: probe definitions from YAML, assertions compiled with PCRE2 JIT.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "probes/catalog.h"

#include <sys/random.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/yamltree.h"

#define MATCH_LIMIT 100000
#define MATCH_DEPTH 1000

static void
probe_release(struct probe_def *p)
{
	free(p->id);
	for (size_t i = 0; i < p->n_informs; i++)
		free(p->informs[i]);
	free(p->informs);
	for (size_t i = 0; i < p->n_messages; i++) {
		free(p->roles[i]);
		free(p->texts[i]);
	}
	free(p->roles);
	free(p->texts);
	free(p->expect);
	for (size_t i = 0; i < p->intent.n_stop; i++)
		free((char *)p->intent.stop[i]);
	free((char **)p->intent.stop);
	free((char *)p->intent.tool_name);
	free((char *)p->intent.tool_description);
	free((char *)p->intent.tool_schema);
	free((char *)p->intent.answer_schema);
	free((char *)p->intent.answer_schema_name);
	pcre2_code_free(p->expect_code);
}

void
catalog_free(struct catalog *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		probe_release(&c->probes[i]);
	free(c->probes);
	free(c);
}

/* A YAML value as JSON: plain scalars that read as numbers, booleans or
 * null become those; quoted ones stay strings. */
static json_t *
ynode_to_json(const struct ynode *n)
{
	if (n->kind == YNODE_MAP) {
		json_t *o = json_object();
		for (size_t i = 0; i < n->n; i++)
			json_object_set_new(o, n->keys[i], ynode_to_json(n->items[i]));
		return o;
	}
	if (n->kind == YNODE_SEQ) {
		json_t *a = json_array();
		for (size_t i = 0; i < n->n; i++)
			json_array_append_new(a, ynode_to_json(n->items[i]));
		return a;
	}
	if (!n->quoted) {
		if (strcmp(n->scalar, "true") == 0)
			return json_true();
		if (strcmp(n->scalar, "false") == 0)
			return json_false();
		if (strcmp(n->scalar, "null") == 0)
			return json_null();
		char *end;
		long long l = strtoll(n->scalar, &end, 10);
		if (*n->scalar && *end == '\0')
			return json_integer(l);
		double d = strtod(n->scalar, &end);
		if (*n->scalar && *end == '\0')
			return json_real(d);
	}
	return json_string(n->scalar);
}

/*
 * The request's intent: `stop: [..]` (stop sequences), `logprobs: N`
 * (token logprobs with N alternatives), `answer: json` (JSON mode), and
 * `tool: {name, description, parameters, choice: auto|required|named}`
 * (one function tool; parameters is its JSON Schema).
 */
static int
load_intent(struct probe_def *p, const struct ynode *n, const char *file, char *err, size_t errlen)
{
	struct request_intent *in = &p->intent;
	const struct ynode *v;
	const char *s;
	if ((v = ytree_get(n, "stop")) != NULL) {
		if (v->kind != YNODE_SEQ || v->n == 0 || v->n > 4)
			return ytree_error(err, errlen, file, v->line,
			                   "'stop' is a list of one to four strings");
		char **stop = xcalloc(v->n, sizeof *stop);
		in->stop = (const char *const *)stop;
		for (size_t i = 0; i < v->n; i++) {
			if (ytree_as_string(v->items[i], file, &s, err, errlen) != 0)
				return -1;
			if (*s == '\0')
				return ytree_error(err, errlen, file, v->items[i]->line,
				                   "a stop sequence cannot be empty");
			stop[in->n_stop++] = xstrdup(s);
		}
	}
	long l;
	if ((v = ytree_get(n, "logprobs")) != NULL) {
		if (ytree_as_long(v, file, 1, 20, &l, err, errlen) != 0)
			return -1;
		in->top_logprobs = (int)l;
	}
	if ((v = ytree_get(n, "thinking")) != NULL) {
		/* Anthropic's smallest budget_tokens is 1024 */
		if (ytree_as_long(v, file, 1024, 32000, &l, err, errlen) != 0)
			return -1;
		in->thinking_budget = l;
	}
	if ((v = ytree_get(n, "answer")) != NULL) {
		if (ytree_as_string(v, file, &s, err, errlen) != 0)
			return -1;
		if (strcmp(s, "json") == 0) {
			in->json_object = 1;
		} else if (strcmp(s, "json_schema") == 0) {
			/* structured output: `schema: {name, schema}` says which */
			const struct ynode *sc = ytree_get(n, "schema");
			static const char *const schema_keys[] = {"name", "schema", NULL};
			if (sc == NULL || sc->kind != YNODE_MAP)
				return ytree_error(err, errlen, file, v->line,
				                   "answer json_schema needs a 'schema' mapping "
				                   "{name, schema}");
			if (ytree_check_keys(sc, file, schema_keys, err, errlen) != 0)
				return -1;
			const struct ynode *t = ytree_get(sc, "name");
			if (t == NULL || ytree_as_string(t, file, &s, err, errlen) != 0)
				return t == NULL ? ytree_error(err, errlen, file, sc->line,
				                               "a schema needs a 'name'")
				                 : -1;
			in->answer_schema_name = xstrdup(s);
			t = ytree_get(sc, "schema");
			if (t == NULL || t->kind != YNODE_MAP)
				return ytree_error(err, errlen, file, sc->line,
				                   "a schema's 'schema' is a JSON Schema mapping");
			json_t *schema = ynode_to_json(t);
			in->answer_schema = json_dumps(schema, JSON_COMPACT);
			json_decref(schema);
		} else {
			return ytree_error(
			    err, errlen, file, v->line,
			    "answer is 'json' (a JSON object) or 'json_schema', not '%s'", s);
		}
	}
	if ((v = ytree_get(n, "attach")) != NULL) {
		/* the last user message carries an image or a PDF of the nonce */
		static const char *const kinds[] = {"image", "pdf", NULL};
		int kind;
		if (ytree_get_choice(n, "attach", "attach", kinds, file, &kind, err, errlen) < 0)
			return -1;
		in->attach = kind == 0 ? MEDIA_PNG : MEDIA_PDF;
	}
	if ((v = ytree_get(n, "tool")) != NULL) {
		static const char *const tool_keys[] = {"name", "description", "parameters",
		                                        "choice", NULL};
		if (v->kind != YNODE_MAP)
			return ytree_error(err, errlen, file, v->line, "'tool' is a mapping");
		if (ytree_check_keys(v, file, tool_keys, err, errlen) != 0)
			return -1;
		const struct ynode *t = ytree_get(v, "name");
		if (t == NULL)
			return ytree_error(err, errlen, file, v->line, "a tool needs a 'name'");
		if (ytree_as_string(t, file, &s, err, errlen) != 0)
			return -1;
		in->tool_name = xstrdup(s);
		if ((t = ytree_get(v, "description")) != NULL) {
			if (ytree_as_string(t, file, &s, err, errlen) != 0)
				return -1;
			in->tool_description = xstrdup(s);
		}
		if ((t = ytree_get(v, "parameters")) != NULL) {
			if (t->kind != YNODE_MAP)
				return ytree_error(err, errlen, file, t->line,
				                   "a tool's parameters are a JSON Schema mapping");
			json_t *schema = ynode_to_json(t);
			in->tool_schema = json_dumps(schema, JSON_COMPACT);
			json_decref(schema);
		}
		/* in the order of enum tool_choice */
		static const char *const choices[] = {"auto", "required", "named", NULL};
		int choice = TOOL_CHOICE_AUTO;
		if (ytree_get_choice(v, "choice", "a tool's choice", choices, file, &choice, err,
		                     errlen) < 0)
			return -1;
		in->tool_choice = (enum tool_choice)choice;
	}
	return 0;
}

static int
load_probe(struct probe_def *p, const struct ynode *n, const char *file, char *err, size_t errlen)
{
	static const char *const keys[] = {
	    "id",       "informs",  "tier",     "samples",    "max_tokens",    "temperature",
	    "stream",   "messages", "expect",   "connection", "repeat",        "stop",
	    "logprobs", "answer",   "tool",     "fidelity",   "answer_tokens", "attach",
	    "schema",   "spare",    "thinking", NULL};
	const char *s;
	if (ytree_check_keys(n, file, keys, err, errlen) != 0)
		return -1;
	struct ynode *v = ytree_get(n, "id");
	if (v == NULL)
		return ytree_error(err, errlen, file, n->line, "probe needs an 'id'");
	if (ytree_as_string(v, file, &s, err, errlen) != 0)
		return -1;
	p->id = xstrdup(s);
	p->line = n->line;
	p->tier = TIER_CHEAP;
	p->samples = 1;
	p->max_tokens = 16;
	p->temperature = -1;
	if ((v = ytree_get(n, "informs")) != NULL) {
		if (v->kind != YNODE_SEQ)
			return ytree_error(err, errlen, file, v->line, "'informs' is a list");
		p->informs = xcalloc(v->n, sizeof *p->informs);
		for (size_t i = 0; i < v->n; i++) {
			if (ytree_as_string(v->items[i], file, &s, err, errlen) != 0)
				return -1;
			p->informs[p->n_informs++] = xstrdup(s);
		}
	}
	static const char *const tiers[] = {"cheap", "medium", "deep", "thinking", "long", NULL};
	static const enum probe_tier tier_of[] = {TIER_CHEAP, TIER_MEDIUM, TIER_DEEP, TIER_THINKING,
	                                          TIER_LONG};
	int tier;
	switch (ytree_get_choice(n, "tier", "tier", tiers, file, &tier, err, errlen)) {
	case -1:
		return -1;
	case 1:
		p->tier = tier_of[tier];
		break;
	}
	long l;
	if ((v = ytree_get(n, "samples")) != NULL) {
		if (ytree_as_long(v, file, 1, 100, &l, err, errlen) != 0)
			return -1;
		p->samples = (int)l;
	}
	if ((v = ytree_get(n, "max_tokens")) != NULL &&
	    ytree_as_long(v, file, 1, 1000000, &p->max_tokens, err, errlen) != 0)
		return -1;
	if ((v = ytree_get(n, "answer_tokens")) != NULL &&
	    ytree_as_long(v, file, 1, p->max_tokens, &p->answer_tokens, err, errlen) != 0)
		return -1;
	if ((v = ytree_get(n, "temperature")) != NULL &&
	    ytree_as_double(v, file, 0, 2, &p->temperature, err, errlen) != 0)
		return -1;
	if ((v = ytree_get(n, "stream")) != NULL && ytree_as_bool(v, file, &p->stream, err, errlen))
		return -1;
	if ((v = ytree_get(n, "repeat")) != NULL && ytree_as_bool(v, file, &p->repeat, err, errlen))
		return -1;
	if ((v = ytree_get(n, "spare")) != NULL && ytree_as_bool(v, file, &p->spare, err, errlen))
		return -1;
	static const char *const connections[] = {"cold", "warm", NULL};
	int connection = 1;
	if (ytree_get_choice(n, "connection", "connection", connections, file, &connection, err,
	                     errlen) < 0)
		return -1;
	p->cold = connection == 0;
	static const char *const fidelities[] = {"tool_args", "answer_contains", NULL};
	int fidelity;
	switch (
	    ytree_get_choice(n, "fidelity", "fidelity", fidelities, file, &fidelity, err, errlen)) {
	case -1:
		return -1;
	case 1:
		p->fidelity = fidelity == 0 ? FIDELITY_TOOL_ARGS : FIDELITY_ANSWER_CONTAINS;
		break;
	}
	if (load_intent(p, n, file, err, errlen) != 0)
		return -1;
	if (p->intent.thinking_budget > 0 && p->max_tokens <= p->intent.thinking_budget)
		return ytree_error(err, errlen, file, n->line,
		                   "max_tokens must be greater than thinking (its budget_tokens)");
	if (p->fidelity == FIDELITY_TOOL_ARGS && p->intent.tool_name == NULL)
		return ytree_error(err, errlen, file, n->line,
		                   "probe '%s': fidelity tool_args needs a tool", p->id);
	v = ytree_get(n, "messages");
	if (v == NULL || v->kind != YNODE_SEQ || v->n == 0)
		return ytree_error(err, errlen, file, v ? v->line : n->line,
		                   "probe '%s' needs a list of messages", p->id);
	p->roles = xcalloc(v->n, sizeof *p->roles);
	p->texts = xcalloc(v->n, sizeof *p->texts);
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *m = v->items[i];
		if (m->kind != YNODE_MAP || m->n != 1)
			return ytree_error(err, errlen, file, m->line,
			                   "a message is one 'role: text' pair");
		const char *role = m->keys[0];
		if (strcmp(role, "system") != 0 && strcmp(role, "user") != 0 &&
		    strcmp(role, "assistant") != 0)
			return ytree_error(err, errlen, file, m->line, "unknown role '%s'", role);
		if (ytree_as_string(m->items[0], file, &s, err, errlen) != 0)
			return -1;
		p->roles[i] = xstrdup(role);
		p->texts[i] = xstrdup(s);
		p->n_messages++;
	}
	if ((v = ytree_get(n, "expect")) != NULL) {
		if (ytree_as_string(v, file, &s, err, errlen) != 0)
			return -1;
		int ec;
		PCRE2_SIZE off;
		pcre2_code *code =
		    pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &off, NULL);
		if (code == NULL) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(ec, msg, sizeof msg);
			return ytree_error(err, errlen, file, v->line,
			                   "bad expect pattern at offset %zu: %s", (size_t)off,
			                   (char *)msg);
		}
		pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
		p->expect = xstrdup(s);
		p->expect_code = code;
	}
	return 0;
}

struct catalog *
catalog_load(const char *path, char *err, size_t errlen)
{
	struct ynode *root = ytree_load_file(path, err, errlen);
	if (root == NULL)
		return NULL;
	struct catalog *c = xcalloc(1, sizeof *c);
	static const char *const top[] = {"probes", NULL};
	if (ytree_check_keys(root, path, top, err, errlen) != 0)
		goto err;
	struct ynode *list = ytree_get(root, "probes");
	if (list == NULL || list->kind != YNODE_SEQ) {
		ytree_error(err, errlen, path, root->line, "expected a list under 'probes'");
		goto err;
	}
	c->probes = xcalloc(list->n, sizeof *c->probes);
	for (size_t i = 0; i < list->n; i++) {
		c->n++;
		if (load_probe(&c->probes[i], list->items[i], path, err, errlen) != 0)
			goto err;
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->probes[j].id, c->probes[i].id) == 0) {
				ytree_error(err, errlen, path, list->items[i]->line,
				            "duplicate probe id '%s'", c->probes[i].id);
				goto err;
			}
	}
	ytree_free(root);
	return c;
err:
	ytree_free(root);
	catalog_free(c);
	return NULL;
}

struct catalog *
catalog_load_default_checked(int (*check)(const struct catalog *c, const char *path, char *err,
                                          size_t errlen),
                             char *err, size_t errlen)
{
	char *path = data_path("probes/catalog/core.yaml");
	if (path == NULL) {
		snprintf(err, errlen, "cannot find the probe catalog 'probes/catalog/core.yaml'");
		return NULL;
	}
	struct catalog *c = catalog_load(path, err, errlen);
	if (c != NULL && check != NULL && check(c, path, err, errlen) != 0) {
		catalog_free(c);
		c = NULL;
	}
	free(path);
	return c;
}

struct catalog *
catalog_load_default(char *err, size_t errlen)
{
	return catalog_load_default_checked(NULL, err, errlen);
}

const struct probe_def *
catalog_find(const struct catalog *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->probes[i].id, id) == 0)
			return &c->probes[i];
	return NULL;
}

int
probe_expect_match(const struct probe_def *p, const char *text, size_t len)
{
	if (p->expect_code == NULL)
		return -1;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->expect_code, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(mc, MATCH_LIMIT);
	pcre2_set_depth_limit(mc, MATCH_DEPTH);
	int rc = pcre2_match(p->expect_code, (PCRE2_SPTR)text, len, 0, 0, md, mc);
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return -1;
}

/* Random bytes from the kernel (getrandom: no file to open per call). */
static uint32_t
random_u32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
		fatal(70, "cannot get random bytes");
	return v;
}

void
probe_nonce(char out[16])
{
	snprintf(out, 16, "%08x", (unsigned)random_u32());
}

/* A random index below n (the modulo bias is immaterial for picking words). */
static size_t
random_below(size_t n)
{
	return n ? random_u32() % n : 0;
}

/* The '}' closing the brace at open, past nested ones; NULL if none. */
static const char *
brace_close(const char *open)
{
	int depth = 0;
	for (const char *q = open; *q != '\0'; q++) {
		if (*q == '{')
			depth++;
		else if (*q == '}' && --depth == 0)
			return q;
	}
	return NULL;
}

char *probe_render(const char *template_text, const char *nonce);

/* Append one of the '|'-separated choices in [s, end) (a '|' inside a
 * nested {..} belongs to it), itself rendered: a choice may hold a nonce. */
static void
render_pick(struct buf *b, const char *s, const char *end, const char *nonce)
{
	size_t n = 1;
	int depth = 0;
	for (const char *q = s; q < end; q++) {
		depth += *q == '{' ? 1 : *q == '}' ? -1 : 0;
		n += *q == '|' && depth == 0;
	}
	size_t k = random_below(n);
	const char *start = s, *stop = end;
	depth = 0;
	for (const char *q = s; q < end; q++) {
		depth += *q == '{' ? 1 : *q == '}' ? -1 : 0;
		if (*q != '|' || depth != 0)
			continue;
		if (k == 0) {
			stop = q;
			break;
		}
		k--;
		start = q + 1;
	}
	char *choice = xstrndup(start, (size_t)(stop - start));
	char *text = probe_render(choice, nonce);
	buf_puts(b, text);
	free(text);
	free(choice);
}

/* Common words, one token each in every shipped tokenizer's vocabulary
 * (roughly): {filler:N} draws N of them at random, for long-context probes. */
static const char *const filler_words[] = {
    "the",   "river",  "market",  "green",   "window", "people",   "table",  "music",  "paper",
    "light", "summer", "stone",   "garden",  "letter", "mountain", "school", "winter", "bridge",
    "city",  "water",  "morning", "friend",  "story",  "field",    "animal", "travel", "number",
    "house", "voice",  "season",  "history", "simple", "forest",   "ocean",  "quiet",  "bright"};

static void
render_filler(struct buf *b, long words)
{
	size_t n = sizeof filler_words / sizeof filler_words[0];
	for (long i = 0; i < words; i++) {
		if (i > 0)
			buf_puts(b, (i % 12) == 0 ? ".\n" : " ");
		buf_puts(b, filler_words[random_below(n)]);
	}
	buf_puts(b, ".");
}

size_t
probe_spans(const char *text, const char **span, size_t *len, size_t max)
{
	size_t n = 0;
	const char *p = text;
	while (n < max && (p = strchr(p, '`')) != NULL) {
		const char *end = strchr(p + 1, '`');
		if (end == NULL)
			break;
		span[n] = p + 1;
		len[n] = (size_t)(end - p - 1);
		n++;
		p = end + 1;
	}
	return n;
}

/* An address drawn from the nonce, the same for the same nonce: what a
 * wallet-swapping relay looks for. {nonce_tron}: T and 33 base58 digits (a
 * TRC20 address's shape); {nonce_eth}: 0x and 40 hex digits. */
static void
render_address(struct buf *b, const char *nonce, int tron)
{
	static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
	uint64_t x = strtoull(nonce, NULL, 16) ^ (tron ? 0x5452u : 0x455448u);
	char out[48];
	size_t n = 0;
	if (tron)
		out[n++] = 'T';
	else {
		out[n++] = '0';
		out[n++] = 'x';
	}
	for (int i = 0; i < (tron ? 33 : 40); i++) {
		/* a fixed function of the nonce, not a secret */
		uint64_t z = splitmix64(&x);
		out[n++] = tron ? b58[z % 58] : "0123456789abcdef"[z % 16];
	}
	out[n] = '\0';
	buf_puts(b, out);
}

char *
probe_render(const char *template_text, const char *nonce)
{
	/* {nonce_num}: the same nonce as a six-digit number (an order or
	 * ticket number reads like one) */
	char num[8];
	snprintf(num, sizeof num, "%06lu", 100000 + strtoul(nonce, NULL, 16) % 900000);
	struct buf b;
	buf_init(&b, 0);
	const char *p = template_text;
	for (;;) {
		const char *hit = strchr(p, '{');
		if (hit == NULL)
			break;
		if (buf_add(&b, p, (size_t)(hit - p)) != 0)
			break;
		const char *close = strchr(hit, '}');
		if (strncmp(hit, "{nonce}", 7) == 0) {
			buf_puts(&b, nonce);
			p = hit + 7;
		} else if (strncmp(hit, "{nonce_hex}", 11) == 0) {
			buf_puts(&b, nonce);
			p = hit + 11;
		} else if (strncmp(hit, "{nonce_num}", 11) == 0) {
			buf_puts(&b, num);
			p = hit + 11;
		} else if (strncmp(hit, "{nonce_tron}", 12) == 0) {
			render_address(&b, nonce, 1);
			p = hit + 12;
		} else if (strncmp(hit, "{nonce_eth}", 11) == 0) {
			render_address(&b, nonce, 0);
			p = hit + 11;
		} else if (strncmp(hit, "{filler:", 8) == 0 && close != NULL) {
			long words = strtol(hit + 8, NULL, 10);
			render_filler(&b, words > 0 && words <= 200000 ? words : 0);
			p = close + 1;
		} else if (strncmp(hit, "{pick:", 6) == 0 && (close = brace_close(hit)) != NULL) {
			render_pick(&b, hit + 6, close, nonce);
			p = close + 1;
		} else {
			buf_puts(&b, "{");
			p = hit + 1;
		}
	}
	buf_puts(&b, p);
	return buf_take(&b, NULL);
}

/* The percentage of the {context_fill:P} at hit, 0 when malformed. */
static long
context_fill_percent(const char *hit, const char **end)
{
	char *stop;
	long pct = strtol(hit + 14, &stop, 10);
	if (*stop != '}' || pct <= 0 || pct > 100)
		return 0;
	*end = stop + 1;
	return pct;
}

long
probe_context_words(const char *text, long words)
{
	long total = 0;
	for (const char *hit = strstr(text, "{context_fill:"); hit != NULL;
	     hit = strstr(hit + 1, "{context_fill:")) {
		const char *end;
		total += words / 100 * context_fill_percent(hit, &end);
	}
	return total;
}

char *
probe_fill_context(const char *text, long words)
{
	struct buf b;
	buf_init(&b, 0);
	const char *p = text;
	for (const char *hit; (hit = strstr(p, "{context_fill:")) != NULL;) {
		const char *end = hit + 14;
		long pct = context_fill_percent(hit, &end);
		if (buf_add(&b, p, (size_t)(hit - p)) != 0)
			break; /* no cap: not reached */
		if (pct > 0)
			render_filler(&b, words / 100 * pct);
		else if (buf_add(&b, hit, (size_t)(end - hit)) != 0)
			break;
		p = end;
	}
	buf_puts(&b, p);
	return buf_take(&b, NULL);
}
