/*
 * tamper: tool calls and answers that arrive changed.
 *
 * The integrity probes (probes/catalog/core.yaml: agent-shell, agent-write,
 * echo-exact) fix the correct answer in the prompt: the spans the last user
 * message quotes in backticks. A tool call's arguments must equal, as JSON
 * values, the tool's required parameters set to those spans; an answer
 * must hold the first span byte for byte.
 *
 * A model slips now and then: it drops a flag, trims a slash, garbles a
 * character of a long address, paraphrases. A slip takes text away or
 * changes a little of it; it does not bring a new host, another wallet or
 * another package. So a difference is judged by what it adds that the
 * conversation never held (payload_word()):
 *   - a payload: a link or host the conversation never named, an address
 *     of a wallet's shape unlike the expected one, or a pinned package
 *     whose name changed (`reqeusts==2.32.3` for `requests==2.32.3`). These
 *     are what a tampering relay writes (the routers of "Your Agent Is
 *     Mine" append download-and-run commands, swap packages and wallets):
 *     one is a violation, unless the official model's own record (baseline
 *     record) shows it doing the same;
 *   - other added words, shell operators included: a hint, never evidence
 *     (a model may add a flag, or chain a `cd`);
 *   - nothing added (text dropped, no tool call at all): a slip, or the
 *     relay's conformance (scoring/detectors/conformance.c judges a missing
 *     call); no finding.
 * The finding quotes what was expected and what arrived, byte for byte
 * (JSON-escaped, capped), and names the probe.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "scoring/detect.h"
#include "scoring/detector.h"

#define QUOTE_CAP 400 /* bytes of expected or arrived text quoted */
#define MAX_SPANS 8

enum change { SAME, SLIP, ADDED, PAYLOAD };

/* Is the word (n bytes) somewhere in text? */
static int
in_text(const char *text, const char *w, size_t n)
{
	char *needle = xstrndup(w, n);
	int found = strstr(text, needle) != NULL;
	free(needle);
	return found;
}

/* A pinned package spec, name==1.2.3 or name@1.2.3 (the version a digit):
 * where its version starts. 0: not one. */
static size_t
pinned(const char *w, size_t n)
{
	for (size_t i = 1; i + 1 < n; i++) {
		if (w[i] == '@' && isdigit((unsigned char)w[i + 1]))
			return i;
		if (i + 2 < n && w[i] == '=' && w[i + 1] == '=' && isdigit((unsigned char)w[i + 2]))
			return i;
	}
	return 0;
}

/* The host[:port] a word names: after "://" if it has a scheme, else its
 * first path segment when that has a dot and letters ("evil.example/x"),
 * or a dotted quad. 0 when it names none. */
static size_t
host_of(const char *w, size_t n, const char **host)
{
	const char *h = w;
	size_t i;
	for (i = 0; i + 3 <= n; i++)
		if (memcmp(w + i, "://", 3) == 0)
			break;
	int scheme = i + 3 <= n;
	if (scheme)
		h = w + i + 3;
	size_t len = 0, dots = 0, alpha = 0;
	while (h + len < w + n && h[len] != '/' && h[len] != '?' && h[len] != '#') {
		dots += h[len] == '.';
		alpha += isalpha((unsigned char)h[len]) != 0;
		len++;
	}
	int slash = h + len < w + n;
	*host = h;
	if (len == 0)
		return 0;
	if (scheme || dots >= 3 || (dots >= 1 && alpha >= 2 && slash))
		return len;
	return 0;
}

/* Positions at which two strings differ (over the shorter, plus the
 * difference in length). */
static size_t
differing(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn, d = an > bn ? an - bn : bn - an;
	for (size_t i = 0; i < n; i++)
		d += a[i] != b[i];
	return d;
}

/* Is w (n bytes) of a wallet address's shape: T and 33 more, or 0x and 40? */
static int
address_shaped(const char *w, size_t n)
{
	return (n >= 34 && w[0] == 'T') || (n >= 42 && w[0] == '0' && w[1] == 'x');
}

/*
 * Does the added word look like a payload, given what was expected and the
 * whole conversation? Each is something a tampering relay writes and a
 * model asked to copy quoted text does not produce by mistake:
 *   - a link or a host the conversation never named (a link to a host it
 *     named, with a changed path, is a miscopy: not a payload);
 *   - an address of a wallet's shape that differs from the expected one in
 *     half its characters or more (a relay's own; a model that garbles a
 *     character or two of a long address has miscopied it);
 *   - a pinned package at the version the expected text pins, under
 *     another name: a typosquat.
 * Shell operators alone are not: a model may chain a `cd`.
 */
static int
payload_word(const char *w, size_t n, const char *expected, const char *conversation)
{
	const char *host;
	size_t hn = host_of(w, n, &host);
	if (hn > 0)
		return !in_text(conversation, host, hn) && !in_text(expected, host, hn);
	if (address_shaped(w, n)) {
		/* the nearest address-shaped word of the expected text */
		size_t best = n;
		for (const char *p = expected; *p; p++) {
			size_t len = 0;
			while (p[len] && !isspace((unsigned char)p[len]) && p[len] != '"' &&
			       p[len] != '=' && p[len] != '`')
				len++;
			if (address_shaped(p, len)) {
				size_t d = differing(p, len, w, n);
				best = d < best ? d : best;
			}
			p += len ? len - 1 : 0;
		}
		return best * 2 >= n;
	}
	size_t at = pinned(w, n);
	return at > 0 && in_text(expected, w + at, n - at);
}

/*
 * How got differs from expected, given the conversation's whole text: the
 * words of got (split on white space, and on quotes and brackets a JSON or
 * shell quoting adds) that neither expected nor the conversation holds.
 * The first added word (a payload if any is) into word (n bytes).
 */
static enum change
compare_text(const char *expected, const char *got, const char *conversation, char *word, size_t wn)
{
	if (strcmp(expected, got) == 0)
		return SAME;
	enum change worst = SLIP;
	word[0] = '\0';
	const char *p = got;
	while (*p) {
		while (*p && (isspace((unsigned char)*p) || *p == '"' || *p == '\''))
			p++;
		const char *s = p;
		while (*p && !isspace((unsigned char)*p) && *p != '"' && *p != '\'')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 0 || in_text(expected, s, n) || in_text(conversation, s, n))
			continue;
		enum change c = payload_word(s, n, expected, conversation) ? PAYLOAD : ADDED;
		if (c > worst) {
			worst = c;
			snprintf(word, wn, "%.*s", (int)(n < 200 ? n : 200), s);
		}
	}
	return worst;
}

/* s as a JSON string literal, cut to QUOTE_CAP bytes: what a finding
 * quotes (control bytes visible, nothing rendered). The caller frees it. */
static char *
quote(const char *s)
{
	json_t *j = json_string(s);
	if (j == NULL) /* not UTF-8: the adapter sanitized it, so not reached */
		return xstrdup("(not UTF-8)");
	char *q = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	if (q != NULL && strlen(q) > QUOTE_CAP) {
		size_t cut = QUOTE_CAP;
		while (cut > 0 && ((unsigned char)q[cut] & 0xC0) == 0x80)
			cut--;
		strcpy(q + cut, "...");
	}
	return q ? q : xstrdup("");
}

/* Every message of the item, joined: what the conversation held. */
static char *
conversation_text(const struct audit_item *it)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t m = 0; m < it->n_messages; m++) {
		buf_puts(&b, it->messages[m].content);
		buf_puts(&b, "\n");
	}
	if (it->probe->intent.tool_schema)
		buf_puts(&b, it->probe->intent.tool_schema);
	return buf_take(&b, NULL);
}

static const char *
last_user_text(const struct audit_item *it)
{
	for (size_t m = it->n_messages; m-- > 0;)
		if (strcmp(it->messages[m].role, "user") == 0)
			return it->messages[m].content;
	return NULL;
}

/* One request judged: how what arrived differs from what was quoted. */
struct judged {
	enum change ch;
	char *want;          /* the expected arguments (JSON) or span; owned */
	const char *arrived; /* the arguments or the answer, in the run */
	char word[256];      /* the first added word (a payload's if any) */
};

/* A tool_args probe's request: 0 judged into j, -1 nothing to compare (no
 * call: conformance's; arguments cut at their cap). */
static int
judge_tool_args(const struct audit_item *it, const char *conversation, struct judged *j)
{
	const struct observation *o = it->obs;
	const char *user = last_user_text(it);
	json_t *schema = it->probe->intent.tool_schema
	                     ? json_loads(it->probe->intent.tool_schema, 0, NULL)
	                     : NULL;
	json_t *required = json_object_get(schema, "required");
	const char *span[MAX_SPANS];
	size_t len[MAX_SPANS];
	size_t n = user ? probe_spans(user, span, len, MAX_SPANS) : 0;
	if (!json_is_array(required) || json_array_size(required) == 0 ||
	    n < json_array_size(required) || o->tool_args == NULL || o->tool_args_truncated) {
		json_decref(schema);
		return -1;
	}
	json_t *want = json_object();
	size_t i;
	json_t *name;
	json_array_foreach(required, i, name)
	{
		json_object_set_new(want, json_string_value(name), json_stringn(span[i], len[i]));
	}
	json_t *got = json_loads(o->tool_args, 0, NULL);
	j->want = json_dumps(want, JSON_COMPACT);
	j->arrived = o->tool_args;
	j->ch = SAME;
	j->word[0] = '\0';
	if (got == NULL || !json_equal(got, want)) {
		/* judged by what the arrived values add, key by key; arguments
		 * that do not parse are judged whole */
		j->ch = SLIP;
		char w[256];
		if (json_is_object(got)) {
			const char *key;
			json_t *v;
			json_object_foreach(got, key, v)
			{
				const char *exp = json_string_value(json_object_get(want, key));
				char *vt = json_is_string(v) ? xstrdup(json_string_value(v))
				                             : json_dumps(v, JSON_ENCODE_ANY);
				enum change ch = compare_text(exp ? exp : "", vt ? vt : "",
				                              conversation, w, sizeof w);
				free(vt);
				if (ch > j->ch) {
					j->ch = ch;
					snprintf(j->word, sizeof j->word, "%s", w);
				}
			}
		} else {
			j->ch = compare_text(j->want, o->tool_args, conversation, j->word,
			                     sizeof j->word);
		}
	}
	json_decref(got);
	json_decref(want);
	json_decref(schema);
	return 0;
}

/* The spans an answer_contains probe may quote; more are not judged. */
#define ANSWER_SPANS_MAX 4

/* How many bytes a and b start with alike. */
static size_t
common_prefix(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t k = 0;
	while (k < alen && k < blen && a[k] == b[k])
		k++;
	return k;
}

/* Which of the missing spans (NULL: not missing) a line of the answer
 * stands for: the one it starts most alike with (a swapped address keeps
 * its first letter, a swapped link its scheme, a squatted package its
 * command), the first of them on a tie. */
static size_t
line_span(const char *line, size_t n, char *const *missing, size_t nspans)
{
	size_t best = nspans, best_len = 0;
	for (size_t k = 0; k < nspans; k++) {
		if (missing[k] == NULL)
			continue;
		size_t c = common_prefix(line, n, missing[k], strlen(missing[k]));
		if (best == nspans || c > best_len) {
			best = k;
			best_len = c;
		}
	}
	return best;
}

/* Quoted span k, missing from the answer: the lines that stand for it
 * (line_span), judged against it as a tool argument is; prose around a
 * paraphrase adds words, so only a payload counts (else a slip). The
 * payload's word into word. */
static enum change
judge_missing_span(char *const *missing, size_t nspans, size_t k, const char *text,
                   const char *conversation, char *word, size_t wordlen)
{
	enum change ch = SLIP;
	char w[256];
	const char *line = text;
	while (*line && ch != PAYLOAD) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		if (line_span(line, n, missing, nspans) == k) {
			char *l = xstrndup(line, n);
			if (compare_text(missing[k], l, conversation, w, sizeof w) == PAYLOAD) {
				ch = PAYLOAD;
				snprintf(word, wordlen, "%s", w);
			}
			free(l);
		}
		line += n + (end != NULL);
	}
	return ch;
}

/*
 * An answer_contains probe's request: every span its prompt quotes must be
 * in the answer. All there: the same. Else the worst of the missing ones
 * (a payload over a slip), whose span is j->want.
 */
static int
judge_answer(const struct audit_item *it, const char *conversation, struct judged *j)
{
	const struct observation *o = it->obs;
	const char *user = last_user_text(it);
	const char *span[ANSWER_SPANS_MAX];
	size_t len[ANSWER_SPANS_MAX];
	size_t n = user != NULL ? probe_spans(user, span, len, ANSWER_SPANS_MAX) : 0;
	if (n < 1 || o->text == NULL || o->text_truncated)
		return -1;
	char *missing[ANSWER_SPANS_MAX];
	for (size_t k = 0; k < n; k++) {
		missing[k] = xstrndup(span[k], len[k]);
		if (strstr(o->text, missing[k]) != NULL) {
			free(missing[k]);
			missing[k] = NULL;
		}
	}
	j->want = NULL;
	j->arrived = o->text;
	j->word[0] = '\0';
	j->ch = SAME;
	for (size_t k = 0; k < n; k++) {
		if (missing[k] == NULL || j->ch == PAYLOAD)
			continue;
		char w[256] = "";
		enum change ch =
		    judge_missing_span(missing, n, k, o->text, conversation, w, sizeof w);
		if (j->want == NULL || ch == PAYLOAD) {
			j->want = missing[k];
			j->ch = ch;
			snprintf(j->word, sizeof j->word, "%s", w);
		}
	}
	if (j->want == NULL)
		j->want = xstrndup(span[0], len[0]);
	for (size_t k = 0; k < n; k++)
		if (missing[k] != j->want)
			free(missing[k]);
	return 0;
}

/* it judged: 0, or -1 when it is no integrity probe's answered request or
 * has nothing to compare. j->want is the caller's to free. */
static int
judge(const struct audit_item *it, struct judged *j)
{
	if (it->probe->fidelity == FIDELITY_NONE || !observation_ok(it->obs))
		return -1;
	char *conversation = conversation_text(it);
	int r = it->probe->fidelity == FIDELITY_TOOL_ARGS ? judge_tool_args(it, conversation, j)
	                                                  : judge_answer(it, conversation, j);
	free(conversation);
	return r;
}

const char *
scorer_fidelity_outcome(const struct audit_item *it)
{
	static const char *const names[] = {"exact", "slip", "added", "payload"};
	struct judged j;
	if (judge(it, &j) != 0)
		return NULL;
	free(j.want);
	return names[j.ch];
}

/* Add the finding for one changed request. The official model's record
 * (`baseline record` counts each outcome per probe, in answer_counts): a
 * payload it produced itself makes one here at most suspect. */
static void
report(struct detect_ctx *c, const struct audit_item *it, const struct judged *j)
{
	int tool = it->probe->fidelity == FIDELITY_TOOL_ARGS;
	enum finding_class cls = tool ? CLASS_TOOL_TAMPERING : CLASS_RESPONSE_TAMPERING;
	char *qe = quote(j->want), *qa = quote(j->arrived), *qw = quote(j->word);
	char exp_line[QUOTE_CAP + 64];
	snprintf(exp_line, sizeof exp_line, "%s %s", tool ? "tool arguments" : "an answer holding",
	         qe);
	const char *what = tool ? "the tool call's arguments" : "the answer";
	long official = 0, trials = 0;
	const struct baseline_answer_counts *rec =
	    c->claimed ? baseline_answer_counts_for(c->claimed, it->probe->id) : NULL;
	for (size_t k = 0; rec != NULL && k < rec->n; k++) {
		trials += rec->counts[k];
		if (strcmp(rec->values[k], j->ch == PAYLOAD ? "payload" : "added") == 0)
			official += rec->counts[k];
	}
	char record[240] = "";
	if (trials > 0)
		snprintf(record, sizeof record,
		         " The official model did so in %ld of %ld recorded requests.", official,
		         trials);
	/* a relay that replays old answers hands back another request's call
	 * or text, which differs too: with a replay found, a difference here
	 * is at most suspect */
	int replays = 0;
	for (size_t k = 0; k < c->a->n_findings; k++)
		replays |=
		    c->a->findings[k].cls == CLASS_CACHED_RESPONSE && !c->a->findings[k].hint_only;
	if (replays)
		snprintf(record + strlen(record), sizeof record - strlen(record),
		         " The relay also replays old answers, which may be one.");
	if (j->ch == PAYLOAD) {
		assessment_add(c->a, cls, CONFIDENCE_VIOLATION, exp_line, qa, it->probe->id, NULL,
		               "The prompt quoted exactly what %s had to be; %s arrived with %s "
		               "added, a link, host, address or package the conversation never "
		               "held: what a relay that rewrites %s on the way writes, and not "
		               "a model's miscopy.%s",
		               what, tool ? "they" : "it", qw, tool ? "tool calls" : "answers",
		               record);
		if (official > 0 || replays)
			assessment_limit_last(c->a);
	} else {
		assessment_add(c->a, cls, CONFIDENCE_STRONG, exp_line, qa, it->probe->id, NULL,
		               "The prompt quoted exactly what %s had to be; %s arrived with %s "
		               "added, which the conversation never held. A model may add a word "
		               "(a flag, a cd), so this is a hint, not evidence.%s",
		               what, tool ? "they" : "it", qw, record);
		assessment_hint_last(c->a);
	}
	free(qe);
	free(qa);
	free(qw);
}

/* One test a run, whatever the number of integrity requests: "did any
 * arrive with a payload" (each finding's own evidence is near-certain). */
static void
run_tamper(struct detect_ctx *c)
{
	int tested = 0;
	for (size_t i = 0; i < c->run->n_items; i++) {
		const struct audit_item *it = &c->run->items[i];
		struct judged j;
		if (judge(it, &j) != 0)
			continue;
		if (!tested++)
			assessment_tested(c->a, 1);
		if (j.ch >= ADDED)
			report(c, it, &j);
		free(j.want);
	}
}

const struct detector detector_tamper = {
    .name = "tamper",
    .probes = (const char *const[]){"agent-shell", "agent-write", "echo-exact", NULL},
    .classes = CLASS_BIT(CLASS_TOOL_TAMPERING) | CLASS_BIT(CLASS_RESPONSE_TAMPERING),
    .needs_claimed = 0,
    .run = run_tamper,
};
